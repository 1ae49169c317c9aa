//! Chip Authentication Mapping, PACE-CAM (Doc 9303 Part 11 §4.4.3.3.3 and §4.4.3.5;
//! BSI TR-03110-2 §3.4; ECDH only, AES only): the Generic Mapping, and after the tokens
//! the chip proves its static key with `A_IC = E(KSenc, CA_IC)`, `CA_IC = SK_IC⁻¹ ·
//! SK_Map,IC mod n` (tag 8A), which the terminal checks against EF.CardSecurity once it
//! has read it: `CA_IC · PK_IC == PK_Map,IC` ([`CamData::verify`]).
//!
//! Worked example: Doc 9303 Part 11 Appendix I, here and in
//! `tests/pace_mapping_vectors.rs` and `tests/pace_worked_examples.rs`.

use openssl::bn::{BigNum, BigNumContext};
use zeroize::Zeroizing;

use super::gm::Generic;
use super::{ChipEnd, ChipMapped, ChipStep, Mapping, Run, Started, TerminalEnd};
use crate::access::AccessError;
use crate::access::pace::apdus::{self, tag};
use crate::access::pace::error::PaceError;
use crate::access::pace::params::{DomainParams, Element, ec_mul};
use crate::apdu::StatusWord;
use crate::crypto::{Cipher, aes_ecb_encrypt_block, cbc_decrypt, cbc_encrypt, pad, unpad};
use crate::lds::security_infos::{ChipAuthenticationPublicKeyInfo, SecurityInfos};
use crate::rng::RandomSource;

/// The Chip Authentication Mapping.
#[derive(Debug, Clone, Copy)]
pub struct ChipAuthentication;

impl Mapping for ChipAuthentication {
    fn name(&self) -> &'static str {
        "Chip Authentication Mapping"
    }

    /// Authenticates the chip inside the PACE run: no separate Chip Authentication round
    /// trips, and `ca` evidence for the report.
    fn rank(&self) -> u8 {
        3
    }

    fn authenticates_chip(&self) -> bool {
        true
    }

    fn terminal_start(&self, run: Run<'_>, rng: &mut dyn RandomSource) -> Started {
        Generic.terminal_start(run, rng)
    }

    fn chip_map(&self, run: Run<'_>, data: &[u8], rng: &mut dyn RandomSource) -> ChipStep<ChipMapped> {
        Generic.chip_map(run, data, rng)
    }

    fn terminal_confirm(&self, end: TerminalEnd<'_>) -> Result<Option<CamData>, AccessError> {
        let a_ic = apdus::find(end.answer, tag::CAM_DATA).ok_or(PaceError::CamDataMissing)?;
        let ca_ic = decrypt_cam_data(end.cipher, end.keys.ks_enc(), a_ic)?;
        Ok(Some(CamData {
            params: end.params,
            parameter_id: end.parameter_id,
            ca_ic,
            pk_map_ic: end.chip_data,
        }))
    }

    /// `A_IC = E(KSenc, CA_IC)` with `CA_IC = SK_IC⁻¹ · SK_Map,IC mod n`.
    fn chip_confirm(&self, end: ChipEnd<'_>) -> ChipStep<Option<(u32, Vec<u8>)>> {
        let unknown = |_| StatusWord::UNKNOWN;
        let ec = end.params.ec().ok_or(StatusWord::UNKNOWN)?;
        let sk_ic = end.chip_key.ok_or(StatusWord::UNKNOWN)?;
        let sk_map = end.secret.ok_or(StatusWord::UNKNOWN)?;
        let mut ctx = BigNumContext::new().map_err(unknown)?;
        let mut inv = BigNum::new().map_err(unknown)?;
        inv.mod_inverse(sk_ic.as_bn(), ec.order(), &mut ctx)
            .map_err(unknown)?;
        let mut ca = BigNum::new().map_err(unknown)?;
        ca.mod_mul(&inv, sk_map.as_bn(), ec.order(), &mut ctx)
            .map_err(unknown)?;
        let len = ec.order().num_bytes();
        let ca_bytes = Zeroizing::new(ca.to_vec_padded(len).map_err(unknown)?);
        inv.clear();
        ca.clear();
        let a_ic =
            encrypt_cam_data(end.cipher, end.keys.ks_enc(), &ca_bytes).map_err(|_| StatusWord::UNKNOWN)?;
        Ok(Some((tag::CAM_DATA, a_ic)))
    }
}

/// What the chip sent for PACE-CAM, to be checked against EF.CardSecurity.
pub struct CamData {
    params: DomainParams,
    /// The parameterId of the PACEInfo used: for PACE-CAM it also names the keyId of
    /// the chip authentication key (BSI TR-03110-3 A.1.1.1).
    parameter_id: Option<u32>,
    ca_ic: Zeroizing<Vec<u8>>,
    pk_map_ic: Vec<u8>,
}

impl std::fmt::Debug for CamData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CamData").finish_non_exhaustive()
    }
}

/// Evidence of a verified PACE-CAM chip authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CamEvidence {
    /// keyId of the ChipAuthenticationPublicKeyInfo that verified.
    pub key_id: Option<u64>,
    /// The chip's static public key PK_IC (encoded point).
    pub chip_public_key: Vec<u8>,
    /// The ChipAuthenticationPublicKeyInfo as read from EF.CardSecurity.
    pub public_key_info: Vec<u8>,
    /// The chip's mapping public key PK_Map,IC that CA_IC · PK_IC reproduced.
    pub mapping_public_key: Vec<u8>,
}

impl CamData {
    /// PACE-CAM (Doc 9303 Part 11 §4.4.3.5.2): check `CA_IC · PK_IC == PK_Map,IC` for the
    /// ChipAuthenticationPublicKeyInfo (id-PK-ECDH) of EF.CardSecurity that the chip
    /// must have used, and only that one ([`CamData::cam_key`]): the key on the PACE
    /// curve whose keyId equals the PACEInfo's parameterId (BSI TR-03110-3 A.1.1.1),
    /// else the only key on the PACE curve. A proof made with any other key, even one
    /// the issuer also signed, is not accepted.
    pub fn verify(&self, card_security: &SecurityInfos) -> Result<CamEvidence, AccessError> {
        let ec = self.params.ec().ok_or(PaceError::CamNoPublicKey)?;
        let ca = openssl::bn::BigNum::from_slice(&self.ca_ic).map_err(PaceError::from)?;
        if ca.num_bits() == 0 || ca.ucmp(ec.order()) != std::cmp::Ordering::Less {
            return Err(PaceError::CamDataMalformed.into());
        }
        let pk_map = self
            .params
            .decode_public(&self.pk_map_ic, "chip mapping public key")?;
        let (info, pk) = self.cam_key(card_security)?;
        let product = ec_mul(ec, &pk, &ca)?;
        if !self.params.same(&Element::Ec(product), &pk_map)? {
            return Err(PaceError::CamMismatch.into());
        }
        Ok(CamEvidence {
            key_id: info.key_id,
            chip_public_key: info.public_key.subject_public_key.clone(),
            public_key_info: info.raw.clone(),
            mapping_public_key: self.pk_map_ic.clone(),
        })
    }

    /// The chip authentication key PACE-CAM must have used: among the id-PK-ECDH keys on
    /// the PACE curve, the one whose keyId is the PACE parameterId, else the only one.
    /// Several keys on the curve and none named by the parameterId is an error
    /// ([`PaceError::CamKeyAmbiguous`]): trying each until one fits would let a chip
    /// prove the key meant for another protocol (gmrtd PR #447 shows a document with two
    /// keys on one curve, where taking the first key failed).
    pub fn cam_key<'a>(
        &self,
        card_security: &'a SecurityInfos,
    ) -> Result<(&'a ChipAuthenticationPublicKeyInfo, openssl::ec::EcPoint), AccessError> {
        let mut on_curve = Vec::new();
        for info in card_security.chip_authentication_public_keys() {
            if let Some(pk) = self.key_on_curve(info) {
                on_curve.push((info, pk));
            }
        }
        let count = on_curve.len();
        if count == 0 {
            return Err(PaceError::CamNoPublicKey.into());
        }
        if let Some(id) = self.parameter_id {
            let mut named: Vec<_> = on_curve
                .iter()
                .enumerate()
                .filter(|(_, (info, _))| info.key_id == Some(u64::from(id)))
                .map(|(i, _)| i)
                .collect();
            if named.len() == 1
                && let Some(i) = named.pop()
            {
                return Ok(on_curve.swap_remove(i));
            }
            if named.len() > 1 {
                return Err(PaceError::CamKeyAmbiguous {
                    count,
                    parameter_id: self.parameter_id,
                }
                .into());
            }
        }
        if count == 1
            && let Some(only) = on_curve.pop()
        {
            return Ok(only);
        }
        Err(PaceError::CamKeyAmbiguous {
            count,
            parameter_id: self.parameter_id,
        }
        .into())
    }

    fn key_on_curve(&self, info: &ChipAuthenticationPublicKeyInfo) -> Option<openssl::ec::EcPoint> {
        if !info.is_ecdh() {
            return None;
        }
        let spec = info.public_key.algorithm.domain_parameters().ok()?;
        let key_params = DomainParams::from_spec(&spec).ok()?;
        let (a, b) = (key_params.ec()?, self.params.ec()?);
        if a.p() != b.p() || a.order() != b.order() {
            return None;
        }
        match self
            .params
            .decode_public(&info.public_key.subject_public_key, "PK_IC")
            .ok()?
        {
            Element::Ec(p) => Some(p),
            Element::Dh(_) => None,
        }
    }
}

/// IV of the PACE-CAM data: `E(KSenc, FF..FF)` (the SSC set to -1).
pub fn cam_iv(ks_enc: &[u8]) -> Result<[u8; 16], AccessError> {
    Ok(aes_ecb_encrypt_block(ks_enc, &[0xFF; 16])?)
}

/// `A_IC = E(KSenc, pad(CA_IC))` (chip side).
pub fn encrypt_cam_data(cipher: Cipher, ks_enc: &[u8], ca_ic: &[u8]) -> Result<Vec<u8>, AccessError> {
    let iv = cam_iv(ks_enc)?;
    Ok(cbc_encrypt(
        cipher,
        ks_enc,
        &iv,
        &pad(ca_ic, cipher.block_size()),
    )?)
}

/// `CA_IC = unpad(D(KSenc, A_IC))` (terminal side).
pub fn decrypt_cam_data(
    cipher: Cipher,
    ks_enc: &[u8],
    a_ic: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AccessError> {
    let iv = cam_iv(ks_enc)?;
    let plain =
        Zeroizing::new(cbc_decrypt(cipher, ks_enc, &iv, a_ic).map_err(|_| PaceError::CamDataMalformed)?);
    let ca = unpad(&plain, cipher.block_size()).map_err(|_| PaceError::CamDataMalformed)?;
    Ok(Zeroizing::new(ca.to_vec()))
}

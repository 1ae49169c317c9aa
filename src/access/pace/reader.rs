//! PACE, terminal side (Doc 9303 Part 11 §4.4.1–4.4.5; Appendix G, H, I):
//!
//! 1. MSE:Set AT selects the protocol, the password and (tag 84) the domain parameters;
//! 2. GA 1: the chip sends `z = E(K_π, s)`; the terminal decrypts the nonce s;
//! 3. GA 2: mapping, through the [`Mapping`](super::mapping::Mapping) of the protocol:
//!    generic: exchange mapping keys, `G~ = s·G + H`; integrated: send a nonce t,
//!    `G~ = f_G(R_p(s, t))`;
//! 4. GA 3: ephemeral key agreement on G~ (the chip's key must differ from ours), shared
//!    secret K, `KSenc = KDF(K, 1)`, `KSmac = KDF(K, 2)`;
//! 5. GA 4: tokens `T_PCD = MAC(KSmac, PK_PICC)`, `T_PICC = MAC(KSmac, PK_PCD)` over the
//!    public key data objects, T_PICC checked in constant time; then the mapping's own
//!    last step ([`Mapping::terminal_confirm`](super::mapping::Mapping::terminal_confirm)):
//!    for PACE-CAM the chip also sends `A_IC`, checked against EF.CardSecurity with
//!    [`PaceOutcome::verify_cam`].
//!
//! Secure messaging then starts with SSC 0. All terminal randomness (mapping and
//! ephemeral private keys, the IM nonce t) comes from the caller's [`RandomSource`], in
//! that order.
//!
//! A chip that refuses a step with 63xx (or 6982 on the token) gives
//! [`AccessError::Refused`] (the password is probably wrong); a chip whose T_PICC does not
//! verify gives [`AccessError::BadChipCryptogram`] (the chip failed to authenticate).

use super::apdus::{self, INS_GENERAL_AUTHENTICATE, INS_MSE, tag};
use super::crypto::{self as pace_crypto, cipher_of};
use super::error::PaceError;
use super::mapping::cam::{CamData, CamEvidence};
use super::mapping::{self, TerminalEnd, bad};
use super::select::{self, PaceSelection};
use crate::access::{AccessError, Password};
use crate::apdu::{CardChannel, Response, StatusWord};
use crate::crypto::{Cipher, ct_eq};
use crate::lds::security_infos::{Oid, PaceMapping, PaceProtocol, SecurityInfos};
use crate::rng::RandomSource;
use crate::sm::{SessionKeys, Ssc};

/// Whether MSE:Set AT carries the domain parameter ID (tag 84).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParameterIdInMse {
    /// Only when EF.CardAccess offers more than one set of PACE domain parameters
    /// (Doc 9303 Part 11 §4.4.4.1: "REQUIRED ... if the domain parameters are ambiguous").
    #[default]
    Auto,
    /// Always (as gmrtd and several other readers do).
    Always,
    /// Never.
    Never,
}

/// Choices the caller can make.
#[derive(Debug, Clone, Default)]
pub struct PaceConfig {
    /// Use the PACEInfo with this protocol OID.
    pub prefer_oid: Option<Oid>,
    /// Use the PACEInfo with this parameter ID.
    pub prefer_param: Option<u32>,
    /// Tag 84 in MSE:Set AT.
    pub parameter_id_in_mse: ParameterIdInMse,
    /// A Certificate Holder Authorization Template (`7F4C …`, the whole object) to put
    /// in MSE:Set AT after tag 84: the terminal's role and the rights it asks for, when
    /// Terminal Authentication version 2 follows (BSI TR-03110-3, MSE:Set AT for PACE).
    pub chat: Option<Vec<u8>>,
}

/// A completed PACE run.
#[derive(Debug)]
pub struct PaceOutcome {
    /// Session keys (SSC 0) for the secure channel.
    pub keys: SessionKeys,
    /// The protocol OID used.
    pub protocol_oid: Oid,
    /// Mapping.
    pub mapping: PaceMapping,
    /// Cipher of the session.
    pub cipher: Cipher,
    /// Domain parameter ID (standardized ID or PACEDomainParameterInfo ID).
    pub parameter_id: Option<u32>,
    /// True when the domain parameters came from a PACEDomainParameterInfo.
    pub explicit_parameters: bool,
    /// "MRZ", "CAN", "PIN" or "PUK".
    pub password: &'static str,
    /// Whether MSE:Set AT carried tag 84.
    pub sent_parameter_id: bool,
    /// The chip's ephemeral public key (its ID_PICC for Terminal Authentication).
    pub chip_ephemeral_public_key: Vec<u8>,
    /// The terminal's ephemeral public key of the key agreement (after PACE-CAM, the
    /// key whose Comp() Terminal Authentication signs, as CA v1's would be).
    pub terminal_ephemeral_public_key: Vec<u8>,
    /// PACE-CAM data, to be verified with [`PaceOutcome::verify_cam`] once EF.CardSecurity
    /// has been read.
    pub cam: Option<CamData>,
}

fn status(ins: u8, sw: StatusWord) -> AccessError {
    AccessError::Status { ins, sw }
}

/// 63xx anywhere in GENERAL AUTHENTICATE, or 6982 on the token: the chip did not accept
/// the terminal's password-derived values.
fn refused_or_status(sw: StatusWord, token_step: bool) -> AccessError {
    if sw.sw1() == 0x63 || (token_step && sw == StatusWord::SECURITY_NOT_SATISFIED) {
        AccessError::Refused { sw }
    } else {
        status(INS_GENERAL_AUTHENTICATE, sw)
    }
}

fn ga<C: CardChannel + ?Sized>(
    ch: &mut C,
    objects: &[(u32, &[u8])],
    last: bool,
    password_step: bool,
) -> Result<Response, AccessError> {
    let resp = ch.send(&apdus::general_authenticate(objects, last))?;
    if !resp.is_ok() {
        return Err(if password_step {
            refused_or_status(resp.sw, last)
        } else {
            status(INS_GENERAL_AUTHENTICATE, resp.sw)
        });
    }
    Ok(resp)
}

fn objects(resp: &Response) -> Result<Vec<(u32, &[u8])>, AccessError> {
    mapping::objects(&resp.data)
}

/// Run PACE as the terminal over a plain channel `ch`, with the PACEInfos of
/// `card_access`, the given password and the caller's choices; randomness from `rng`.
pub fn authenticate<C: CardChannel + ?Sized>(
    ch: &mut C,
    card_access: &SecurityInfos,
    password: &Password,
    config: &PaceConfig,
    rng: &mut dyn RandomSource,
) -> Result<PaceOutcome, AccessError> {
    let sel = select::choose_pace_info(card_access, config.prefer_oid.as_ref(), config.prefer_param)?;
    run(
        ch,
        sel,
        password,
        config.parameter_id_in_mse,
        config.chat.as_deref(),
        rng,
    )
}

/// Run PACE with an already chosen PACEInfo.
pub fn run<C: CardChannel + ?Sized>(
    ch: &mut C,
    sel: PaceSelection<'_>,
    password: &Password,
    parameter_id_in_mse: ParameterIdInMse,
    chat: Option<&[u8]>,
    rng: &mut dyn RandomSource,
) -> Result<PaceOutcome, AccessError> {
    let PaceProtocol { mapping, cipher } = sel.protocol;
    let cipher = cipher_of(cipher);
    let oid = sel.info.protocol;
    let explicit_parameters = matches!(sel.source, select::DomainSource::Explicit(_));
    let parameter_id = sel.parameter_id();
    let mse_id = match parameter_id_in_mse {
        ParameterIdInMse::Always => parameter_id,
        ParameterIdInMse::Never => None,
        ParameterIdInMse::Auto => parameter_id.filter(|_| sel.ambiguous),
    };
    let params = sel.params;

    // MSE:Set AT
    let mut mse = apdus::mse_set_at(&oid, password.key_reference(), mse_id);
    if let Some(c) = chat {
        mse.data.extend_from_slice(c);
    }
    let resp = ch.send(&mse)?;
    if !resp.is_ok() {
        return Err(status(INS_MSE, resp.sw));
    }

    // GA 1: encrypted nonce
    let resp = ga(ch, &[], false, false)?;
    let objs = objects(&resp)?;
    let z = apdus::find(&objs, tag::ENCRYPTED_NONCE).ok_or(bad("no encrypted nonce (80)"))?;
    if z.is_empty() || z.len() % cipher.block_size() != 0 || z.len() > 64 {
        return Err(bad("encrypted nonce is not a whole number of blocks"));
    }
    let k_pi = pace_crypto::k_pi(&password.pace_secret(), cipher);
    let s = pace_crypto::decrypt_nonce(cipher, &k_pi, z)?;

    // GA 2: mapping
    let imp = mapping::of(mapping);
    let run = mapping::Run {
        params: &params,
        cipher,
        s: &s,
    };
    let started = imp.terminal_start(run, rng)?;
    let resp = ga(ch, &[(tag::MAPPING_PCD, started.data())], false, true)?;
    let mapped = started.complete(run, &resp.data)?;
    let generator = mapped.generator;
    let pk_map_ic = mapped.chip_data;

    // GA 3: ephemeral key agreement
    let sk = params.random_private_key(rng)?;
    let pk_pcd = params.multiply(&generator, sk.as_bn())?;
    let pk_pcd_bytes = params.encode(&pk_pcd)?;
    let resp = ga(ch, &[(tag::EPHEMERAL_PCD, &pk_pcd_bytes)], false, true)?;
    let objs = objects(&resp)?;
    let pk_ic_bytes = apdus::find(&objs, tag::EPHEMERAL_PICC)
        .ok_or(bad("no ephemeral public key (84)"))?
        .to_vec();
    let pk_ic = params.decode_public(&pk_ic_bytes, "chip ephemeral public key")?;
    if params.same(&pk_ic, &pk_pcd)? {
        return Err(PaceError::EphemeralKeyReused.into());
    }
    let k = params.shared_secret(&params.agree(&sk, &pk_ic)?)?;
    let keys = SessionKeys::derive(cipher, &k, Ssc::zero(cipher))?;

    // GA 4: tokens
    let key_tag = params.public_key_tag();
    let t_pcd = pace_crypto::token(
        cipher,
        keys.ks_mac(),
        &apdus::public_key_data_object(&oid, key_tag, &pk_ic_bytes),
    )?;
    let resp = ga(ch, &[(tag::TOKEN_PCD, &t_pcd)], true, true)?;
    let objs = objects(&resp)?;
    let t_picc = apdus::find(&objs, tag::TOKEN_PICC).ok_or(bad("no authentication token (86)"))?;
    let expected = pace_crypto::token(
        cipher,
        keys.ks_mac(),
        &apdus::public_key_data_object(&oid, key_tag, &pk_pcd_bytes),
    )?;
    if !ct_eq(t_picc, &expected) {
        return Err(AccessError::BadChipCryptogram {
            what: "PACE authentication token T_PICC",
        });
    }

    let cam = imp.terminal_confirm(TerminalEnd {
        params,
        cipher,
        keys: &keys,
        parameter_id,
        chip_data: pk_map_ic,
        answer: &objs,
    })?;

    Ok(PaceOutcome {
        keys,
        protocol_oid: oid,
        mapping,
        cipher,
        parameter_id,
        explicit_parameters,
        password: password.kind(),
        sent_parameter_id: mse_id.is_some(),
        chip_ephemeral_public_key: pk_ic_bytes,
        terminal_ephemeral_public_key: pk_pcd_bytes,
        cam,
    })
}

impl PaceOutcome {
    /// Verify PACE-CAM against EF.CardSecurity's SecurityInfos (see [`CamData::verify`]).
    pub fn verify_cam(&self, card_security: &SecurityInfos) -> Result<CamEvidence, AccessError> {
        self.cam
            .as_ref()
            .ok_or(PaceError::State {
                what: "PACE-CAM verification requested after a PACE run without CAM",
            })?
            .verify(card_security)
    }
}

//! Chip Authentication version 1, chip side, for the emulator (Doc 9303 Part 11 §6.2):
//! MSE:Set KAT, or MSE:Set AT followed by GENERAL AUTHENTICATE, with the chip's static
//! private key. The reply carries the new session keys; the caller protects the reply
//! with the OLD keys and only then switches (the terminal reads the answer to the CA
//! command under the keys it sent it with).
//!
//! The domain parameters come from the ChipAuthenticationPublicKeyInfo the terminal
//! addressed (keyId) in the chip's own DG14 / EF.CardSecurity; the private key is used
//! as personalised, so a chip whose key does not match its DG14 derives other keys than
//! the terminal and fails at the first command under them.

use super::apdus::{self, SetAt};
use super::select::{self, CaCandidate};
use crate::access::pace::PrivateKey;
use crate::access::pace::apdus::{INS_GENERAL_AUTHENTICATE, INS_MSE, dynamic_auth_data};
use crate::access::pace::crypto::cipher_of;
use crate::apdu::{Command, Response, StatusWord};
use crate::crypto::Cipher;
use crate::lds::security_infos::{CaProtocol, CipherSuite, Oid, SecurityInfos};
use crate::sm::{SessionKeys, Ssc};

/// What the chip answers to one command.
#[derive(Debug)]
pub struct CaChipReply {
    /// The response (to be protected with the current keys).
    pub response: Response,
    /// The session keys to switch to once the response is out (SSC 0).
    pub new_keys: Option<SessionKeys>,
    /// With the new keys: the terminal's ephemeral public key and whether it is an EC
    /// point (Terminal Authentication v1 checks its Comp()).
    pub terminal_key: Option<(Vec<u8>, bool)>,
}

impl CaChipReply {
    fn sw(sw: StatusWord) -> Self {
        CaChipReply {
            response: Response::status(sw),
            new_keys: None,
            terminal_key: None,
        }
    }
}

/// The chip's Chip Authentication state.
pub struct ChipCa {
    infos: SecurityInfos,
    key: PrivateKey,
    /// MSE:Set AT received, waiting for GENERAL AUTHENTICATE.
    selected: Option<SetAt>,
}

impl std::fmt::Debug for ChipCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipCa")
            .field("selected", &self.selected)
            .finish_non_exhaustive()
    }
}

impl ChipCa {
    /// A chip with the SecurityInfos it publishes (DG14 or EF.CardSecurity) and its
    /// static private key.
    pub fn new(infos: SecurityInfos, key: PrivateKey) -> Self {
        ChipCa {
            infos,
            key,
            selected: None,
        }
    }

    /// Forget a pending MSE:Set AT.
    pub fn reset(&mut self) {
        self.selected = None;
    }

    /// True after MSE:Set AT for CA, until GENERAL AUTHENTICATE.
    pub fn pending(&self) -> bool {
        self.selected.is_some()
    }

    /// True for the commands this state machine answers now.
    pub fn claims(&self, cmd: &Command) -> bool {
        apdus::is_ca_mse(cmd) || (cmd.ins == INS_GENERAL_AUTHENTICATE && self.pending())
    }

    /// The pairing a keyId (or its absence) and the protocol OID of MSE:Set AT address
    /// (version 1, or version 2 when the chip publishes that); for MSE:Set KAT (no OID,
    /// version 1 only) a 3DES pairing is preferred.
    fn candidate(&self, key_id: Option<u64>, protocol: Option<&Oid>) -> Option<CaCandidate<'_>> {
        let all: Vec<CaCandidate<'_>> = select::candidates(&self.infos)
            .ok()?
            .into_iter()
            .filter(|c| {
                (c.is_version1() || (protocol.is_some() && c.version == Some(2)))
                    && key_id.is_none_or(|k| c.key_id == Some(k))
            })
            .filter(|c| protocol.is_none_or(|p| c.protocol.oid() == *p))
            .collect();
        let tdes = all.iter().position(|c| c.protocol.cipher == CipherSuite::Tdes);
        let pick = if protocol.is_none() { tdes.unwrap_or(0) } else { 0 };
        all.into_iter().nth(pick)
    }

    /// Process MSE:Set KAT, MSE:Set AT or GENERAL AUTHENTICATE, with the OS random
    /// generator for a version-2 nonce.
    /// Version 2 is refused here (it needs Terminal Authentication v2 first, see
    /// [`ChipCa::process_with`]).
    pub fn process(&mut self, cmd: &Command) -> CaChipReply {
        self.process_with(cmd, &mut crate::rng::OsRandom, None)
    }

    /// [`ChipCa::process`] for a chip that also did Terminal Authentication: `ta_v2_comp`
    /// is Comp(PK_PCD) announced by a successful TA v2 — version 2 runs only with it and
    /// only for the key it announced (6985 / 6A80 otherwise; TR-03110-1 §3.4.1) — and
    /// the version-2 nonce comes from `rng`.
    pub fn process_with(
        &mut self,
        cmd: &Command,
        rng: &mut dyn crate::rng::RandomSource,
        ta_v2_comp: Option<&[u8]>,
    ) -> CaChipReply {
        match (cmd.ins, cmd.p2) {
            (INS_MSE, apdus::P2_KAT) if cmd.p1 == apdus::P1_CA => {
                self.selected = None;
                let Ok(kat) = apdus::parse_set_kat(&cmd.data) else {
                    return CaChipReply::sw(StatusWord::WRONG_DATA);
                };
                let Some(c) = self.candidate(kat.key_id, None) else {
                    return CaChipReply::sw(StatusWord::REF_DATA_NOT_FOUND);
                };
                let protocol = c.protocol;
                let public_key = c.public_key.clone();
                self.agree(
                    protocol,
                    &public_key,
                    &kat.ephemeral_public_key,
                    Response::status(StatusWord::OK),
                )
            }
            (INS_MSE, apdus::P2_AT) if cmd.p1 == apdus::P1_CA => {
                self.selected = None;
                let Ok(at) = apdus::parse_set_at(&cmd.data) else {
                    return CaChipReply::sw(StatusWord::WRONG_DATA);
                };
                if CaProtocol::from_oid(&at.protocol).is_none() {
                    return CaChipReply::sw(StatusWord::WRONG_DATA);
                }
                match self.candidate(at.key_id, Some(&at.protocol)) {
                    Some(_) => {
                        self.selected = Some(at);
                        CaChipReply::sw(StatusWord::OK)
                    }
                    None => CaChipReply::sw(StatusWord::REF_DATA_NOT_FOUND),
                }
            }
            (INS_GENERAL_AUTHENTICATE, _) => {
                let Some(at) = self.selected.take() else {
                    return CaChipReply::sw(StatusWord::CONDITIONS_NOT_SATISFIED);
                };
                if cmd.cla & 0x10 != 0 {
                    return CaChipReply::sw(StatusWord::CLA_NOT_SUPPORTED);
                }
                let Ok(pk) = apdus::parse_general_authenticate(&cmd.data) else {
                    return CaChipReply::sw(StatusWord::WRONG_DATA);
                };
                let Some(c) = self.candidate(at.key_id, Some(&at.protocol)) else {
                    return CaChipReply::sw(StatusWord::REF_DATA_NOT_FOUND);
                };
                let protocol = c.protocol;
                let public_key = c.public_key.clone();
                if c.version == Some(2) {
                    let Some(announced) = ta_v2_comp else {
                        return CaChipReply::sw(StatusWord::CONDITIONS_NOT_SATISFIED);
                    };
                    let kind = if protocol.ecdh {
                        crate::access::ta::KeyKind::Ec
                    } else {
                        crate::access::ta::KeyKind::Dh
                    };
                    if crate::access::ta::comp(kind, &pk).ok().as_deref() != Some(announced) {
                        return CaChipReply::sw(StatusWord::WRONG_DATA);
                    }
                    return self.agree_v2(protocol, &public_key, &pk, rng);
                }
                let answer = Response::new(dynamic_auth_data(&[]), StatusWord::OK);
                self.agree(protocol, &public_key, &pk, answer)
            }
            _ => CaChipReply::sw(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    /// Version 2: a nonce, keys from `K ‖ r_PICC`, and the token over the terminal's
    /// key (TR-03110-3 B.11.2; [`super::v2`]).
    fn agree_v2(
        &self,
        protocol: CaProtocol,
        public_key: &crate::lds::security_infos::ChipAuthenticationPublicKeyInfo,
        terminal_key: &[u8],
        rng: &mut dyn crate::rng::RandomSource,
    ) -> CaChipReply {
        let (key, pk_pcd, cipher) = match peer_key(protocol, public_key, terminal_key) {
            Ok(k) => k,
            Err(sw) => return CaChipReply::sw(sw),
        };
        let params = &key.params;
        let r_picc = rng.bytes(8);
        let Some(keys) = params
            .agree(&self.key, &pk_pcd)
            .and_then(|k| params.shared_secret(&k))
            .ok()
            .and_then(|k| super::v2::session_keys(cipher, &k, &r_picc).ok())
        else {
            return CaChipReply::sw(StatusWord::WRONG_DATA);
        };
        let oid = protocol.oid();
        let Ok(t_picc) = super::v2::token_picc(cipher, &keys, &oid, params.public_key_tag(), terminal_key)
        else {
            return CaChipReply::sw(StatusWord::UNKNOWN);
        };
        let answer = Response::new(
            dynamic_auth_data(&[(super::v2::TAG_NONCE, &r_picc), (super::v2::TAG_TOKEN, &t_picc)]),
            StatusWord::OK,
        );
        CaChipReply {
            response: answer,
            new_keys: Some(keys),
            terminal_key: Some((terminal_key.to_vec(), params.ec().is_some())),
        }
    }

    fn agree(
        &self,
        protocol: CaProtocol,
        public_key: &crate::lds::security_infos::ChipAuthenticationPublicKeyInfo,
        terminal_key: &[u8],
        answer: Response,
    ) -> CaChipReply {
        let (key, pk_pcd, cipher) = match peer_key(protocol, public_key, terminal_key) {
            Ok(k) => k,
            Err(sw) => return CaChipReply::sw(sw),
        };
        let params = &key.params;
        let keys = params
            .agree(&self.key, &pk_pcd)
            .and_then(|k| params.shared_secret(&k))
            .ok()
            .and_then(|k| SessionKeys::derive(cipher, &k, Ssc::zero(cipher)).ok());
        match keys {
            Some(keys) => CaChipReply {
                response: answer,
                new_keys: Some(keys),
                terminal_key: Some((terminal_key.to_vec(), params.ec().is_some())),
            },
            None => CaChipReply::sw(StatusWord::WRONG_DATA),
        }
    }
}

/// The chip's key of `public_key`, the terminal's ephemeral key decoded on its domain
/// parameters and the protocol's cipher, or the status word refusing them.
fn peer_key(
    protocol: CaProtocol,
    public_key: &crate::lds::security_infos::ChipAuthenticationPublicKeyInfo,
    terminal_key: &[u8],
) -> Result<(select::ChipKey, crate::access::pace::Element, Cipher), StatusWord> {
    let key = select::chip_key(public_key).map_err(|_| StatusWord::REF_DATA_NOT_USABLE)?;
    let pk_pcd = key
        .params
        .decode_public(terminal_key, "terminal ephemeral public key")
        .map_err(|_| StatusWord::WRONG_DATA)?;
    Ok((key, pk_pcd, cipher_of(protocol.cipher)))
}

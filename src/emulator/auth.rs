//! The chip's genuineness protocols: Active Authentication (INTERNAL AUTHENTICATE,
//! Doc 9303 Part 11 §6.1) with the profile's AA key, and Chip Authentication version 1
//! (MSE:Set KAT, or MSE:Set AT + GENERAL AUTHENTICATE, §6.2) with its CA key. Both run
//! only inside secure messaging (after BAC or PACE), as on deployed chips.
//!
//! Chip Authentication answers under the old session keys; the new keys are handed to
//! the command processor through [`ChipAuth::take_rekey`] after it has protected that
//! answer.

use crate::access::aa::AaSigner;
use crate::access::ca::{self, ChipCa};
use crate::access::pace::PrivateKey;
use crate::apdu::{Command, Response, StatusWord};
use crate::asn1::signature::HashAlgorithm;
use crate::lds::LdsFile;
use crate::lds::dg14::Dg14;
use crate::lds::security_infos::{CardSecurity, SecurityInfos};
use crate::rng::RandomSource;
use crate::sm::SessionKeys;

use super::link::ChipWork;
use super::profile::Profile;

/// Active and Chip Authentication state of the emulated chip.
pub(super) struct ChipAuth {
    aa: Option<AaSigner>,
    /// The hash DG14's ActiveAuthenticationInfo names (ECDSA).
    aa_info_hash: Option<HashAlgorithm>,
    ca: Option<ChipCa>,
    rekey: Option<SessionKeys>,
    /// The terminal's ephemeral key of the CA run that produced `rekey`.
    terminal_key: Option<(Vec<u8>, bool)>,
}

/// The SecurityInfos the chip publishes its CA keys in: DG14, else EF.CardSecurity.
fn published_infos(profile: &Profile) -> Option<SecurityInfos> {
    let dg14 = profile
        .files
        .get(&LdsFile::Dg(14))
        .and_then(|b| Dg14::decode(b).map(SecurityInfos::from).ok())
        .filter(|i| i.chip_authentication_public_keys().next().is_some());
    dg14.or_else(|| {
        profile
            .files
            .get(&LdsFile::CardSecurity)
            .and_then(|b| CardSecurity::decode(b).ok())
            .map(|cs| cs.security_infos)
    })
}

impl ChipAuth {
    pub(super) fn new(profile: &Profile) -> Self {
        let aa_info_hash = profile
            .files
            .get(&LdsFile::Dg(14))
            .and_then(|b| Dg14::decode(b).map(SecurityInfos::from).ok())
            .and_then(|i| {
                i.active_authentication_info()
                    .and_then(|a| HashAlgorithm::from_ecdsa_oid(&a.signature_algorithm))
            })
            .map(|(h, _)| h);
        let ca = profile
            .ca_private_key
            .as_deref()
            .and_then(|k| PrivateKey::from_bytes(k).ok())
            .and_then(|key| published_infos(profile).map(|infos| ChipCa::new(infos, key)));
        ChipAuth {
            aa: profile.aa.clone(),
            aa_info_hash,
            ca,
            rekey: None,
            terminal_key: None,
        }
    }

    /// Power-cycle.
    pub(super) fn reset(&mut self) {
        self.rekey = None;
        if let Some(ca) = &mut self.ca {
            ca.reset();
        }
    }

    /// True for the commands answered here: INTERNAL AUTHENTICATE, the Chip
    /// Authentication forms of MSE, and GENERAL AUTHENTICATE after MSE:Set AT for CA.
    /// Any other MSE (PACE's) cancels a pending CA MSE:Set AT.
    pub(super) fn claims(&mut self, cmd: &Command) -> bool {
        if cmd.ins == crate::access::aa::INS_INTERNAL_AUTHENTICATE {
            return true;
        }
        let Some(ca) = &mut self.ca else {
            return false;
        };
        if cmd.ins == crate::access::pace::apdus::INS_MSE && !ca::apdus::is_ca_mse(cmd) {
            ca.reset();
            return false;
        }
        ca.claims(cmd)
    }

    /// Answer a claimed command; `secure` tells whether secure messaging is up;
    /// `ta_v2_comp` is Comp(PK_PCD) of a successful Terminal Authentication v2 (Chip
    /// Authentication v2 needs it).
    pub(super) fn process(
        &mut self,
        cmd: &Command,
        secure: bool,
        rng: &mut dyn RandomSource,
        ta_v2_comp: Option<&[u8]>,
    ) -> (Response, ChipWork) {
        let none = ChipWork::default();
        self.rekey = None;
        if cmd.ins == crate::access::aa::INS_INTERNAL_AUTHENTICATE {
            return self.internal_authenticate(cmd, secure, rng);
        }
        let Some(ca) = &mut self.ca else {
            return (Response::status(StatusWord::INS_NOT_SUPPORTED), none);
        };
        if !secure {
            ca.reset();
            return (Response::status(StatusWord::SECURITY_NOT_SATISFIED), none);
        }
        let reply = ca.process_with(cmd, rng, ta_v2_comp);
        let work = ChipWork {
            scalar_ops: u32::from(reply.new_keys.is_some()),
            rsa_signs: 0,
        };
        self.rekey = reply.new_keys;
        self.terminal_key = reply.terminal_key;
        (reply.response, work)
    }

    fn internal_authenticate(
        &mut self,
        cmd: &Command,
        secure: bool,
        rng: &mut dyn RandomSource,
    ) -> (Response, ChipWork) {
        let none = ChipWork::default();
        let Some(aa) = &self.aa else {
            return (Response::status(StatusWord::INS_NOT_SUPPORTED), none);
        };
        if !secure {
            return (Response::status(StatusWord::SECURITY_NOT_SATISFIED), none);
        }
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return (Response::status(StatusWord::WRONG_P1P2), none);
        }
        if cmd.data.len() != crate::access::aa::CHALLENGE_LEN || cmd.le.is_none() {
            return (Response::status(StatusWord::WRONG_LENGTH), none);
        }
        match aa.sign(&cmd.data, self.aa_info_hash, rng) {
            Ok(sig) if cmd.le.is_some_and(|le| le >= sig.len()) => {
                let work = if aa.is_rsa() {
                    ChipWork {
                        scalar_ops: 0,
                        rsa_signs: 1,
                    }
                } else {
                    ChipWork {
                        scalar_ops: 1,
                        rsa_signs: 0,
                    }
                };
                (Response::new(sig, StatusWord::OK), work)
            }
            Ok(_) => (Response::status(StatusWord::WRONG_LENGTH), none),
            Err(_) => (Response::status(StatusWord::UNKNOWN), none),
        }
    }

    /// The keys to switch to after the answer to the current command has been
    /// protected with the old ones (Chip Authentication succeeded).
    pub(super) fn take_rekey(&mut self) -> Option<SessionKeys> {
        self.rekey.take()
    }

    /// The terminal's ephemeral key (and whether it is an EC point) of the Chip
    /// Authentication that succeeded last.
    pub(super) fn take_terminal_key(&mut self) -> Option<(Vec<u8>, bool)> {
        self.terminal_key.take()
    }
}

//! Chip Authentication version 1 (Doc 9303 Part 11 §6.2; BSI TR-03110-1 §3.4,
//! TR-03110-3 B.1/B.11): an ephemeral-static (EC)DH key agreement between a fresh
//! terminal key and the chip's static key published in DG14 (or EF.CardSecurity), run
//! inside the secure channel of BAC/PACE, after which both sides restart secure
//! messaging with `KSenc = KDF(K, 1)`, `KSmac = KDF(K, 2)` (the cipher of the CA
//! protocol OID) and SSC 0. Only a chip holding the static private key derives the same
//! K, so a clone fails at the first command under the new keys.
//!
//! Terminal side:
//! 1. [`select::choose`] pairs a ChipAuthenticationInfo (version 1) with its
//!    ChipAuthenticationPublicKeyInfo (keyId), or infers the 3DES default for DG14s
//!    without an info;
//! 2. an ephemeral key pair on the chip key's domain parameters (named, standardized
//!    or explicit curves; DH groups with a subgroup order) from the caller's
//!    [`RandomSource`];
//! 3. under the old keys, either MSE:Set KAT (`00 22 41 A6`, the legacy form, used for
//!    3DES by default) or MSE:Set AT (`00 22 41 A4`) + GENERAL AUTHENTICATE (used for
//!    AES) — see [`CaCommandForm`];
//! 4. the channel is re-keyed ([`SecureChannel::rekey`]);
//! 5. [`prove`] sends one command under the new keys: success needs the chip's MAC to
//!    verify under them.
//!
//! The chip side is [`chip::ChipCa`].

pub mod apdus;
pub mod chip;
pub mod error;
pub mod select;
pub mod v2;

pub use chip::{CaChipReply, ChipCa};
pub use error::CaError;
pub use select::{CaCandidate, ChipKey, candidates, chip_key, choose};

use crate::access::pace::apdus::parse_dynamic_auth_data;
use crate::access::pace::crypto::cipher_of;
use crate::apdu::{ApduError, CardChannel, Command, Response, StatusWord};
use crate::crypto::Cipher;
use crate::lds::LdsFile;
use crate::lds::quirk::serialize_hex;
use crate::lds::security_infos::{Oid, SecurityInfos};
use crate::rng::RandomSource;
use crate::sm::{SecureChannel, SessionKeys, SmError, Ssc};
use zeroize::Zeroizing;

/// Which commands carry the key agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaCommandForm {
    /// MSE:Set KAT for 3DES protocols (Doc 9303 Part 11 §6.2.4: the form EAC 1.x chips
    /// know), MSE:Set AT + GENERAL AUTHENTICATE for AES.
    #[default]
    Auto,
    /// MSE:Set KAT whatever the cipher.
    SetKat,
    /// MSE:Set AT + GENERAL AUTHENTICATE whatever the cipher (gmrtd does this for 3DES
    /// too, and chips accept it).
    SetAtGeneralAuthenticate,
}

impl CaCommandForm {
    /// The concrete form for a protocol's cipher.
    pub fn resolve(self, cipher: Cipher) -> CaCommandForm {
        match self {
            CaCommandForm::Auto if cipher == Cipher::Tdes => CaCommandForm::SetKat,
            CaCommandForm::Auto => CaCommandForm::SetAtGeneralAuthenticate,
            other => other,
        }
    }
}

/// When the keyId goes into the MSE command (tag 84).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyIdInMse {
    /// Whenever the chosen key has a keyId (as gmrtd does; the German passport of its
    /// sessions expects it).
    #[default]
    WhenKnown,
    /// Only when the chip publishes more than one key (TR-03110-3: "REQUIRED if the
    /// private key is ambiguous").
    WhenAmbiguous,
}

/// Choices the caller can make.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaConfig {
    /// Use the key with this keyId (default: the first version-1 pairing).
    pub key_id: Option<u64>,
    /// Command form.
    pub form: CaCommandForm,
    /// Tag 84 in the MSE command.
    pub key_id_in_mse: KeyIdInMse,
}

fn serialize_oid<S: serde::Serializer>(oid: &Oid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&oid.to_string())
}

fn serialize_cipher<S: serde::Serializer>(c: &Cipher, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.name())
}

/// What a Chip Authentication run showed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaEvidence {
    /// The CA protocol OID used.
    #[serde(serialize_with = "serialize_oid")]
    pub protocol_oid: Oid,
    /// Its name ("id-CA-ECDH-AES-CBC-CMAC-128").
    pub protocol: String,
    /// True when DG14 had no ChipAuthenticationInfo and the 3DES default was assumed.
    pub protocol_inferred: bool,
    /// "ECDH" or "DH".
    pub key_agreement: &'static str,
    /// keyId of the chip's key, when it has one.
    pub key_id: Option<u64>,
    /// Whether the keyId was sent in the MSE command.
    pub sent_key_id: bool,
    /// The chip's static public key (encoded point / DH value).
    #[serde(serialize_with = "serialize_hex")]
    pub chip_public_key: Vec<u8>,
    /// The ChipAuthenticationPublicKeyInfo as read.
    #[serde(serialize_with = "serialize_hex")]
    pub public_key_info: Vec<u8>,
    /// Cipher of the new session.
    #[serde(serialize_with = "serialize_cipher")]
    pub cipher: Cipher,
    /// The commands used (never `Auto`).
    pub command_form: CaCommandForm,
    /// The terminal's ephemeral public key.
    #[serde(serialize_with = "serialize_hex")]
    pub terminal_ephemeral_public_key: Vec<u8>,
    /// True once a command under the new keys verified ([`prove`]).
    pub proven: bool,
}

impl CaEvidence {
    /// The evidence of a run with `candidate`'s key before any command under the new
    /// keys verified (`proven` false; `protocol_inferred` false, a caller that inferred
    /// the protocol says so).
    fn unproven(
        candidate: &select::CaCandidate<'_>,
        key: &select::ChipKey,
        command_form: CaCommandForm,
        sent_key_id: bool,
        terminal_ephemeral_public_key: Vec<u8>,
    ) -> Self {
        let oid = candidate.protocol.oid();
        CaEvidence {
            protocol: crate::lds::security_infos::oid::oid_name(&oid).unwrap_or_else(|| oid.to_string()),
            protocol_oid: oid,
            protocol_inferred: false,
            key_agreement: if candidate.protocol.ecdh { "ECDH" } else { "DH" },
            key_id: candidate.key_id,
            sent_key_id,
            chip_public_key: key.encoded.clone(),
            public_key_info: candidate.public_key.raw.clone(),
            cipher: cipher_of(candidate.protocol.cipher),
            command_form,
            terminal_ephemeral_public_key,
            proven: false,
        }
    }
}

impl CaConfig {
    /// The keyId MSE names for `candidate` under this configuration.
    fn key_id_to_send(&self, candidate: &select::CaCandidate<'_>) -> Option<u64> {
        match self.key_id_in_mse {
            KeyIdInMse::WhenKnown => candidate.key_id,
            KeyIdInMse::WhenAmbiguous => candidate.key_id.filter(|_| candidate.ambiguous),
        }
    }
}

fn check(step: &'static str, resp: &Response) -> Result<(), CaError> {
    if resp.sw == StatusWord::OK {
        Ok(())
    } else {
        Err(CaError::Status { step, sw: resp.sw })
    }
}

/// Chip Authentication with the default choices ([`CaConfig::default`]); the channel
/// is re-keyed on success, not yet proven (see [`prove`], [`authenticate_and_prove`]).
pub fn authenticate<C: CardChannel>(
    ch: &mut SecureChannel<C>,
    infos: &SecurityInfos,
    rng: &mut dyn RandomSource,
) -> Result<CaEvidence, CaError> {
    authenticate_with(ch, infos, &CaConfig::default(), rng)
}

/// Chip Authentication with the caller's choices.
pub fn authenticate_with<C: CardChannel>(
    ch: &mut SecureChannel<C>,
    infos: &SecurityInfos,
    config: &CaConfig,
    rng: &mut dyn RandomSource,
) -> Result<CaEvidence, CaError> {
    let candidate = select::choose(infos, config.key_id)?;
    run(ch, &candidate, config, rng)
}

/// [`authenticate_with`], then [`prove`]: `proven` is true in the evidence.
pub fn authenticate_and_prove<C: CardChannel>(
    ch: &mut SecureChannel<C>,
    infos: &SecurityInfos,
    config: &CaConfig,
    rng: &mut dyn RandomSource,
) -> Result<CaEvidence, CaError> {
    let mut ev = authenticate_with(ch, infos, config, rng)?;
    prove(ch)?;
    ev.proven = true;
    Ok(ev)
}

/// Run Chip Authentication version 1 with a chosen pairing. The terminal's ephemeral
/// private key is the only randomness drawn from `rng`. On success the channel holds
/// the new keys (SSC 0); on an error before re-keying it still holds the old ones.
pub fn run<C: CardChannel>(
    ch: &mut SecureChannel<C>,
    candidate: &CaCandidate<'_>,
    config: &CaConfig,
    rng: &mut dyn RandomSource,
) -> Result<CaEvidence, CaError> {
    let key = candidate.key()?;
    let cipher = cipher_of(candidate.protocol.cipher);
    let form = config.form.resolve(cipher);
    let (pk_pcd_bytes, k) = agree(&key, rng)?;
    let keys = SessionKeys::derive(cipher, &k, Ssc::zero(cipher)).map_err(CaError::Keys)?;
    drop(k);
    let send_key_id = config.key_id_to_send(candidate);
    let oid = candidate.protocol.oid();
    match form {
        CaCommandForm::SetKat | CaCommandForm::Auto => {
            let resp = ch.send(&apdus::mse_set_kat(&pk_pcd_bytes, send_key_id))?;
            check("MSE:Set KAT", &resp)?;
        }
        CaCommandForm::SetAtGeneralAuthenticate => {
            let resp = ch.send(&apdus::mse_set_at(&oid, send_key_id))?;
            check("MSE:Set AT", &resp)?;
            let resp = ch.send(&apdus::general_authenticate(&pk_pcd_bytes))?;
            check("GENERAL AUTHENTICATE", &resp)?;
            // version 1 answers an empty 7C (or nothing)
            parse_dynamic_auth_data(&resp.data).map_err(|what| CaError::BadResponse {
                step: "GENERAL AUTHENTICATE",
                what,
            })?;
        }
    }
    ch.rekey(keys);
    Ok(CaEvidence {
        protocol_inferred: candidate.protocol_inferred,
        ..CaEvidence::unproven(candidate, &key, form, send_key_id.is_some(), pk_pcd_bytes)
    })
}

/// The terminal's half of the key agreement: an ephemeral key pair on the chip key's
/// domain parameters (private key from `rng`) and the shared secret K (the
/// x-coordinate for ECDH, the value padded to the length of p for DH; BSI TR-03111
/// §4.3.1, Doc 9303 Part 11 §9.6). Returns the encoded ephemeral public key and K.
pub fn agree(key: &ChipKey, rng: &mut dyn RandomSource) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), CaError> {
    let params = &key.params;
    let sk = params.random_private_key(rng)?;
    let pk_pcd = params.multiply(&params.generator()?, sk.as_bn())?;
    let pk_pcd_bytes = params.encode(&pk_pcd)?;
    let k = params.shared_secret(&params.agree(&sk, &key.public)?)?;
    Ok((pk_pcd_bytes, k))
}

/// The command [`prove`] sends: READ BINARY of EF.COM's first 4 bytes by short file
/// identifier.
pub fn proof_command() -> Command {
    Command::read_binary_sfi(LdsFile::Com.sfi().unwrap_or(0x1E), 0, 4)
}

/// Prove Chip Authentication: send [`proof_command`] under the new keys. Any answer
/// whose MAC verifies under them proves the chip derived the same keys (whatever its
/// status word, which is returned); a MAC failure or the chip dropping secure
/// messaging is [`CaError::NotProven`].
pub fn prove<C: CardChannel>(ch: &mut SecureChannel<C>) -> Result<StatusWord, CaError> {
    prove_with(ch, &proof_command())
}

/// [`prove`] with another command (a real session's SELECT, a file re-read).
pub fn prove_with<C: CardChannel>(ch: &mut SecureChannel<C>, cmd: &Command) -> Result<StatusWord, CaError> {
    match ch.send(cmd) {
        Ok(resp) => Ok(resp.sw),
        Err(ApduError::SecureMessaging(inner)) => match inner.downcast::<SmError>() {
            Ok(sm) => Err(CaError::NotProven(*sm)),
            Err(other) => Err(CaError::Apdu(ApduError::SecureMessaging(other))),
        },
        Err(e) => Err(CaError::Apdu(e)),
    }
}

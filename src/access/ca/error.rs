//! Errors of Chip Authentication (terminal and chip side).

use thiserror::Error;

use crate::access::pace::PaceError;
use crate::apdu::{ApduError, StatusWord};
use crate::lds::security_infos::Oid;
use crate::sm::SmError;

/// Why Chip Authentication failed. [`CaError::NotProven`] is the verdict "the chip did
/// not derive the same session keys": it does not hold the private key of the DG14 /
/// EF.CardSecurity public key (a clone, or a substituted DG14).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CaError {
    /// No ChipAuthenticationPublicKeyInfo in the SecurityInfos.
    #[error("no chip authentication public key (id-PK-DH / id-PK-ECDH) in the security infos")]
    NoPublicKey,
    /// ChipAuthenticationInfos are present but none is version 1 (CA version 2 and 3
    /// need Terminal Authentication first).
    #[error(
        "the chip offers Chip Authentication version(s) {versions:?} only; version 1 runs on its own, \
         version 2 only after Terminal Authentication v2 (terminal credentials), version 3 \
         (BSI TR-03110-2, eIDAS tokens, with Pseudonymous Signature Authentication) is not implemented"
    )]
    NoVersion1 {
        /// The versions offered.
        versions: Vec<u32>,
    },
    /// No ChipAuthenticationInfo pairs with a public key (keyIds or key types differ).
    #[error("no ChipAuthenticationInfo matches a chip authentication public key{}", key_id_text(.key_id))]
    NoMatchingKey {
        /// The keyId asked for, if any.
        key_id: Option<u64>,
    },
    /// The protocol OID of the ChipAuthenticationInfo is not a Chip Authentication protocol.
    #[error("unknown chip authentication protocol {oid}")]
    UnknownProtocol {
        /// The OID.
        oid: Oid,
    },
    /// The chip's public key or its domain parameters cannot be used.
    #[error("chip authentication public key unusable: {what}")]
    BadPublicKey {
        /// What is wrong.
        what: String,
    },
    /// The domain parameters or a group element failed validation.
    #[error("chip authentication key agreement")]
    KeyAgreement(#[source] PaceError),
    /// The chip answered an error status.
    #[error("the chip answered {sw} to {step}")]
    Status {
        /// "MSE:Set KAT", "MSE:Set AT" or "GENERAL AUTHENTICATE".
        step: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// A response of the wrong shape.
    #[error("unexpected response to {step}: {what}")]
    BadResponse {
        /// The step.
        step: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// After re-keying, the chip's answer did not verify under the new session keys:
    /// the chip does not hold the chip authentication private key.
    #[error("the chip did not prove chip authentication: its answer under the new session keys failed")]
    NotProven(#[source] SmError),
    /// Chip Authentication v2: the chip's authentication token does not verify over the
    /// terminal's key: the chip does not hold the chip authentication private key.
    #[error("the chip's Chip Authentication v2 token does not verify: it does not hold its key")]
    BadToken,
    /// Session keys could not be built.
    #[error("chip authentication session keys")]
    Keys(#[source] SmError),
    /// The link or secure messaging under the old keys failed.
    #[error(transparent)]
    Apdu(ApduError),
    /// OpenSSL failed.
    #[error("cryptographic library failure")]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

fn key_id_text(k: &Option<u64>) -> String {
    k.map(|k| format!(" with keyId {k}")).unwrap_or_default()
}

impl From<ApduError> for CaError {
    fn from(e: ApduError) -> Self {
        CaError::Apdu(e)
    }
}

impl From<PaceError> for CaError {
    fn from(e: PaceError) -> Self {
        CaError::KeyAgreement(e)
    }
}

impl CaError {
    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CaError::NotProven(_) | CaError::BadToken => Some(
                "the chip could not prove it holds the chip authentication private key: treat the \
                 document as suspect (a cloned chip cannot answer Chip Authentication)",
            ),
            CaError::Status { .. } => Some("the chip refused Chip Authentication"),
            _ => None,
        }
    }
}

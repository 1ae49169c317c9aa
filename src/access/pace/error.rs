//! Errors of PACE (reader and chip side).

use thiserror::Error;

use crate::apdu::{ApduError, StatusWord};
use crate::lds::security_infos::{Oid, PaceMapping};

/// The PACE step a failure happened in (Doc 9303 Part 11 §4.4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaceStep {
    /// MSE:Set AT.
    MseSetAt,
    /// GENERAL AUTHENTICATE 1: encrypted nonce.
    EncryptedNonce,
    /// GENERAL AUTHENTICATE 2: mapping.
    MapNonce,
    /// GENERAL AUTHENTICATE 3: ephemeral key agreement.
    KeyAgreement,
    /// GENERAL AUTHENTICATE 4: mutual authentication (tokens).
    MutualAuthentication,
}

impl std::fmt::Display for PaceStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PaceStep::MseSetAt => "MSE:Set AT",
            PaceStep::EncryptedNonce => "GENERAL AUTHENTICATE (encrypted nonce)",
            PaceStep::MapNonce => "GENERAL AUTHENTICATE (map nonce)",
            PaceStep::KeyAgreement => "GENERAL AUTHENTICATE (key agreement)",
            PaceStep::MutualAuthentication => "GENERAL AUTHENTICATE (mutual authentication)",
        })
    }
}

/// What went wrong in PACE.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PaceError {
    /// EF.CardAccess has no PACEInfo.
    #[error("EF.CardAccess offers no PACE protocol")]
    NoPaceInfo,
    /// None of the PACEInfos is supported (or none matches the caller's choice).
    #[error("no supported PACE protocol in EF.CardAccess (offered: {})", list(.offered))]
    NoSupportedPaceInfo {
        /// The protocols (and parameter IDs) offered.
        offered: Vec<(Oid, Option<u32>)>,
    },
    /// A protocol OID this implementation does not know.
    #[error("unsupported PACE protocol {oid}")]
    UnsupportedProtocol {
        /// The OID.
        oid: Oid,
    },
    /// A standardized domain parameter ID outside 0–2, 8–18.
    #[error("unsupported standardized PACE domain parameter id {id}")]
    UnsupportedParameterId {
        /// The ID.
        id: u32,
    },
    /// A PACEInfo whose domain parameters cannot be found.
    #[error("domain parameters of PACE parameter id {parameter_id:?} not found in EF.CardAccess")]
    MissingDomainParameters {
        /// The parameterId of the PACEInfo.
        parameter_id: Option<u32>,
    },
    /// Domain parameters that are malformed or unsafe.
    #[error("invalid PACE domain parameters: {reason}")]
    BadDomainParameters {
        /// What is wrong.
        reason: &'static str,
    },
    /// A mapping that does not work with these domain parameters.
    #[error("{} mapping cannot be used with these domain parameters: {reason}", .mapping.name())]
    MappingUnsupported {
        /// The mapping.
        mapping: PaceMapping,
        /// Why.
        reason: &'static str,
    },
    /// A public key or mapping value from the other side that is not a valid group element.
    #[error("invalid {what} received: {reason}")]
    InvalidPublicKey {
        /// Which value.
        what: &'static str,
        /// What is wrong (not on the curve, identity, out of range).
        reason: &'static str,
    },
    /// The other side's ephemeral public key equals ours (Doc 9303 Part 11 §4.4.3.4).
    #[error("the chip's ephemeral public key equals the terminal's")]
    EphemeralKeyReused,
    /// A response that does not have the expected data objects.
    #[error("malformed response to {step}: {reason}")]
    MalformedResponse {
        /// The step.
        step: PaceStep,
        /// What is wrong.
        reason: &'static str,
    },
    /// The chip answered a step with an error status (not a token rejection).
    #[error("{step} failed: {sw}")]
    Status {
        /// The step.
        step: PaceStep,
        /// The status word.
        sw: StatusWord,
    },
    /// The chip rejected the terminal's authentication token (or the mapping): the
    /// password the terminal used differs from the chip's.
    #[error("the chip refused PACE authentication at {step} ({sw})")]
    WrongPassword {
        /// The step.
        step: PaceStep,
        /// The status word (6300, 63Cx, ...).
        sw: StatusWord,
    },
    /// The chip's authentication token T_PICC does not verify: the chip did not derive
    /// the same keys (chip authentication failure, not a wrong password).
    #[error("the chip's authentication token T_PICC does not verify")]
    ChipTokenMismatch,
    /// PACE-CAM: the chip sent no encrypted chip authentication data (tag 8A).
    #[error("PACE-CAM: the chip sent no chip authentication data")]
    CamDataMissing,
    /// PACE-CAM: A_IC does not decrypt to a scalar.
    #[error("PACE-CAM: the encrypted chip authentication data is malformed")]
    CamDataMalformed,
    /// PACE-CAM: no usable ChipAuthenticationPublicKeyInfo in EF.CardSecurity.
    #[error("PACE-CAM: EF.CardSecurity has no chip authentication public key on the PACE curve")]
    CamNoPublicKey,
    /// PACE-CAM: CA_IC · PK_IC differs from the chip's mapping key for every key offered.
    #[error("PACE-CAM: chip authentication failed (CA_IC · PK_IC differs from the chip's mapping key)")]
    CamMismatch,
    /// The terminal side was asked for something the protocol state does not allow.
    #[error("PACE protocol state error: {what}")]
    State {
        /// What.
        what: &'static str,
    },
    /// The channel failed.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// OpenSSL failed.
    #[error("cryptographic library failure")]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

fn list(offered: &[(Oid, Option<u32>)]) -> String {
    if offered.is_empty() {
        return "none".into();
    }
    offered
        .iter()
        .map(|(o, id)| {
            let name = crate::lds::security_infos::oid::oid_name(o).unwrap_or_else(|| o.to_string());
            match id {
                Some(id) => format!("{name} (parameter id {id})"),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl PaceError {
    /// A hint a user can act on, when there is one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            PaceError::WrongPassword { .. } => {
                Some("the MRZ or CAN is probably wrong: the chip refused mutual authentication")
            }
            PaceError::ChipTokenMismatch | PaceError::CamMismatch => {
                Some("the chip failed to authenticate itself: it may not be genuine")
            }
            _ => None,
        }
    }

    /// True when the failure points at a wrong password rather than at the chip.
    pub fn is_wrong_password(&self) -> bool {
        matches!(self, PaceError::WrongPassword { .. })
    }
}

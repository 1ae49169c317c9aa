//! Errors of PACE (reader and chip side).

use thiserror::Error;

use crate::lds::security_infos::{Oid, PaceMapping};

/// What went wrong in PACE beyond what [`AccessError`](crate::access::AccessError) says
/// for every access protocol (a refused token is `AccessError::Refused`, a chip token
/// that does not verify `AccessError::BadChipCryptogram`).
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
    /// PACE-CAM: several chip authentication keys on the PACE curve and none whose keyId
    /// is the PACE parameterId (BSI TR-03110-3 A.1.1.1), so the proof cannot be tied to
    /// one key.
    #[error(
        "PACE-CAM: EF.CardSecurity has {count} chip authentication keys on the PACE curve and none \
         with keyId = parameterId {parameter_id:?}; the chip's proof cannot be tied to one key"
    )]
    CamKeyAmbiguous {
        /// Keys on the PACE curve.
        count: usize,
        /// The PACEInfo's parameterId.
        parameter_id: Option<u32>,
    },
    /// The terminal side was asked for something the protocol state does not allow.
    #[error("PACE protocol state error: {what}")]
    State {
        /// What.
        what: &'static str,
    },
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
            PaceError::CamMismatch => Some("the chip failed to authenticate itself: it may not be genuine"),
            _ => None,
        }
    }
}

//! Choosing the chip authentication key (Doc 9303 Part 11 §6.2.1, §9.2.5–§9.2.6; BSI
//! TR-03110-3 A.1.1.2): pair each ChipAuthenticationInfo with the
//! ChipAuthenticationPublicKeyInfo of the same key agreement (DH/ECDH) and keyId.
//!
//! A DG14 without any ChipAuthenticationInfo (early EAC documents, e.g. the French
//! passport of the gmrtd sessions) implies `id-CA-{DH,ECDH}-3DES-CBC-CBC`: BSI
//! TR-03110 v1.x made the info optional for that default. Such a pairing is marked
//! `protocol_inferred`.

use super::error::CaError;
use crate::access::pace::{DomainParams, Element};
use crate::lds::security_infos::{
    CaProtocol, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo, CipherSuite, SecurityInfos,
};

/// One ChipAuthenticationInfo (or the inferred default) paired with a public key.
#[derive(Debug, Clone)]
pub struct CaCandidate<'a> {
    /// The ChipAuthenticationInfo, absent when the protocol is inferred.
    pub info: Option<&'a ChipAuthenticationInfo>,
    /// Key agreement and cipher.
    pub protocol: CaProtocol,
    /// True when no ChipAuthenticationInfo exists and the 3DES default was assumed.
    pub protocol_inferred: bool,
    /// The CA version of the info (1, 2, 3), `None` when inferred (version 1).
    pub version: Option<u32>,
    /// The chip's public key.
    pub public_key: &'a ChipAuthenticationPublicKeyInfo,
    /// The keyId of the pair.
    pub key_id: Option<u64>,
    /// More than one chip authentication public key exists (the keyId is then needed
    /// to address the private key).
    pub ambiguous: bool,
}

impl CaCandidate<'_> {
    /// True for CA version 1 (explicit or inferred).
    pub fn is_version1(&self) -> bool {
        self.version.is_none_or(|v| v == 1)
    }

    /// The domain parameters and the chip's validated public key.
    pub fn key(&self) -> Result<ChipKey, CaError> {
        chip_key(self.public_key)
    }
}

/// The chip's static public key with its domain parameters.
pub struct ChipKey {
    /// Domain parameters.
    pub params: DomainParams,
    /// The public key, validated (on the curve / in the subgroup).
    pub public: Element,
    /// Its encoding (uncompressed point / DH value padded to p) for the evidence.
    pub encoded: Vec<u8>,
}

impl std::fmt::Debug for ChipKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipKey")
            .field("params", &self.params)
            .field("encoded", &hex::encode_upper(&self.encoded))
            .finish()
    }
}

/// Build the domain parameters of a ChipAuthenticationPublicKeyInfo and validate its key.
pub fn chip_key(info: &ChipAuthenticationPublicKeyInfo) -> Result<ChipKey, CaError> {
    let spec = info
        .public_key
        .algorithm
        .domain_parameters()
        .map_err(|reason| CaError::BadPublicKey {
            what: reason.to_string(),
        })?;
    let params = DomainParams::from_spec(&spec)?;
    let raw = if info.is_ecdh() {
        if !params.is_ec() {
            return Err(CaError::BadPublicKey {
                what: "id-PK-ECDH key with Diffie-Hellman parameters".into(),
            });
        }
        info.public_key.subject_public_key.clone()
    } else {
        if params.is_ec() {
            return Err(CaError::BadPublicKey {
                what: "id-PK-DH key with elliptic curve parameters".into(),
            });
        }
        info.public_key
            .dh_public_value()
            .map_err(|reason| CaError::BadPublicKey {
                what: reason.to_string(),
            })?
    };
    let public = params.decode_public(&raw, "chip authentication public key")?;
    let encoded = params.encode(&public)?;
    Ok(ChipKey {
        params,
        public,
        encoded,
    })
}

/// Every pairing of a ChipAuthenticationInfo with a public key, in the order of the
/// infos (for a DG14 without infos: one inferred 3DES pairing per public key).
pub fn candidates(infos: &SecurityInfos) -> Result<Vec<CaCandidate<'_>>, CaError> {
    let keys: Vec<&ChipAuthenticationPublicKeyInfo> = infos.chip_authentication_public_keys().collect();
    if keys.is_empty() {
        return Err(CaError::NoPublicKey);
    }
    let ambiguous = keys.len() > 1;
    let cas: Vec<&ChipAuthenticationInfo> = infos.chip_authentication_infos().collect();
    let mut out = Vec::new();
    if cas.is_empty() {
        for pk in &keys {
            out.push(CaCandidate {
                info: None,
                protocol: CaProtocol {
                    ecdh: pk.is_ecdh(),
                    cipher: CipherSuite::Tdes,
                },
                protocol_inferred: true,
                version: None,
                public_key: pk,
                key_id: pk.key_id,
                ambiguous,
            });
        }
        return Ok(out);
    }
    for ca in &cas {
        let Some(protocol) = ca.protocol() else {
            continue;
        };
        for pk in keys.iter().filter(|pk| pk.is_ecdh() == protocol.ecdh) {
            let same_key = match (ca.key_id, pk.key_id) {
                (Some(a), Some(b)) => a == b,
                // one side without keyId: a single key of this type is meant
                _ => true,
            };
            if same_key {
                out.push(CaCandidate {
                    info: Some(ca),
                    protocol,
                    protocol_inferred: false,
                    version: Some(ca.version),
                    public_key: pk,
                    key_id: ca.key_id.or(pk.key_id),
                    ambiguous,
                });
            }
        }
    }
    Ok(out)
}

/// The version-1 pairing to use: the first one, or the one with `key_id`.
pub fn choose(infos: &SecurityInfos, key_id: Option<u64>) -> Result<CaCandidate<'_>, CaError> {
    let all = candidates(infos)?;
    if !all.is_empty() && !all.iter().any(CaCandidate::is_version1) {
        let mut versions: Vec<u32> = all.iter().filter_map(|c| c.version).collect();
        versions.sort_unstable();
        versions.dedup();
        return Err(CaError::NoVersion1 { versions });
    }
    all.into_iter()
        .filter(CaCandidate::is_version1)
        .find(|c| key_id.is_none_or(|k| c.key_id == Some(k)))
        .ok_or(CaError::NoMatchingKey { key_id })
}

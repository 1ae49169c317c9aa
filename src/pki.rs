//! The trust side of Passive Authentication (Doc 9303 Part 12: PKI for MRTDs).
//!
//! - [`keys`]: SubjectPublicKeyInfo → openssl keys, explicit EC domain parameters
//!   included (matched to named curves field by field, unknown curves used as given);
//! - [`signature`]: RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA (DER and BSI plain `r‖s`);
//! - [`cert`], [`crl`]: X.509 certificates and CRLs keeping their DER, names with a
//!   normalised comparison form;
//! - [`masterlist`]: CSCA master lists and deviation lists (CMS, via [`crate::cms`]);
//! - [`ldif`]: a streaming reader/writer for ICAO PKD LDIF;
//! - [`store`]: the SQLite trust store (provenance, roles, trust anchors, indexed lookups);
//! - [`cvc`], [`cvc_store`]: EAC card-verifiable certificates and their table in the store;
//! - [`import`]: `emrtd pkd import`, content detection, atomic per-file import;
//! - [`path`]: ICAO path validation DSC ← (link ←) CSCA, validity, country, key usage,
//!   revocation, with named findings;
//! - [`country`]: ICAO alpha-3 issuing states ↔ ISO alpha-2 `C=`;
//! - [`alerts`]: the local alert list of lost, stolen and revoked documents;
//! - [`fixtures`]: the project's test PKI, a big-LDIF generator for benchmarks and
//!   the writer of a PKD tree for slapadd (test and demo tools);
//! - [`pkd_tree`]: the ICAO PKD download tree as a directory holds it (layout, DNs);
//! - [`sync`]: `emrtd pkd sync`, the LDAP client for a PKD mirror.
//!
//! openssl does the math only: OpenSSL 3's X509 verifier refuses certificates with
//! explicit EC parameters (most EC CSCAs use them), so the ICAO path rules are ours.
//! [`crate::cms::verify_signer`] builds on [`keys`] and [`signature`]; CMS parsing
//! itself needs only [`crate::tlv`] (and [`cert`] to match a signer to its certificate).

pub mod alerts;
pub mod cert;
pub mod country;
pub mod crl;
pub mod cvc;
pub mod cvc_store;
pub mod directory;
pub mod eac_credentials;
#[cfg(feature = "emulator")]
pub mod fixtures;
pub mod import;
pub mod keys;
pub mod ldif;
pub mod masterlist;
pub mod path;
pub mod pkd_tree;
pub mod role;
pub mod signature;
pub mod store;
pub mod sync;
pub mod terminal_key;
pub mod terminal_pkcs11;

/// RFC 3339 text of a time (`2024-08-07T07:38:24Z`).
pub fn format_time(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub(crate) fn ser_time<S: serde::Serializer>(t: &time::OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*t))
}

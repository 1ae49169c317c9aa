//! The trust side of Passive Authentication (Doc 9303 Part 12: PKI for MRTDs).
//!
//! - [`keys`]: SubjectPublicKeyInfo → openssl keys, explicit EC domain parameters included;
//! - [`signature`]: RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA (DER and plain) verification;
//! - [`cert`]: X.509 certificates keeping their DER, names with a normalised comparison;
//!
//! openssl does the math only: OpenSSL 3's X509 verifier refuses certificates with
//! explicit EC parameters (most EC CSCAs use them), so the ICAO path rules are ours.

pub mod cert;
pub mod country;
pub mod crl;
pub mod fixtures;
pub mod import;
pub mod keys;
pub mod ldif;
pub mod masterlist;
pub mod path;
pub mod signature;
pub mod store;

/// RFC 3339 text of a time (`2024-08-07T07:38:24Z`).
pub fn format_time(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub(crate) fn ser_time<S: serde::Serializer>(t: &time::OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*t))
}

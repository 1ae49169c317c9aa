//! The trust side of Passive Authentication (Doc 9303 Part 12: PKI for MRTDs).
//!
//! - [`keys`]: SubjectPublicKeyInfo → openssl keys, explicit EC domain parameters included;
//! - [`signature`]: RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA (DER and plain) verification;
//! - [`cert`]: X.509 certificates keeping their DER, names with a normalised comparison;
//!
//! openssl does the math only: OpenSSL 3's X509 verifier refuses certificates with
//! explicit EC parameters (most EC CSCAs use them), so the ICAO path rules are ours.

pub mod cert;
pub mod keys;
pub mod signature;

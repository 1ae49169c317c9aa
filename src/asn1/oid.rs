//! Object identifiers the ASN.1 layers and the PKI name, in one module: key, hash and
//! signature algorithms, X.509 names and extensions, CMS content types, ICAO and BSI
//! arcs. (The protocol OIDs of SecurityInfos, which map to enums, live with them in
//! `lds::security_infos::oid`.)

use crate::asn1::Oid;

// Key algorithms (RFC 3279, RFC 4055, X9.62)

/// rsaEncryption
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// id-RSASSA-PSS (as a key algorithm: an RSA key restricted to PSS)
pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
/// id-ecPublicKey
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// prime-field (X9.62 fieldType)
pub const PRIME_FIELD: Oid = Oid::new_unwrap("1.2.840.10045.1.1");
/// characteristic-two-field (X9.62 fieldType)
pub const CHARACTERISTIC_TWO_FIELD: Oid = Oid::new_unwrap("1.2.840.10045.1.2");

// Hash and signature algorithms (RFC 3279, RFC 4055, RFC 5758, BSI TR-03111)

/// id-sha1
pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// id-sha224
pub const SHA224: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.4");
/// id-sha256
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha384
pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
/// id-sha512
pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
/// ripemd160 (TeleTrusT, ISO/IEC 10118-3): encoded when asked, never accepted as a
/// digest algorithm
pub const RIPEMD160: Oid = Oid::new_unwrap("1.3.36.3.2.1");
/// id-mgf1
pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
/// sha1WithRSAEncryption
pub const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
/// sha224WithRSAEncryption
pub const SHA224_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.14");
/// sha256WithRSAEncryption
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption
pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption
pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
/// rsaSignatureWithripemd160 (TeleTrusT): encoded when asked, never accepted
pub const RIPEMD160_WITH_RSA: Oid = Oid::new_unwrap("1.3.36.3.3.1.2");
/// ecdsa-with-SHA1
pub const ECDSA_WITH_SHA1: Oid = Oid::new_unwrap("1.2.840.10045.4.1");
/// ecdsa-with-SHA224
pub const ECDSA_WITH_SHA224: Oid = Oid::new_unwrap("1.2.840.10045.4.3.1");
/// ecdsa-with-SHA256
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384
pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512
pub const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
/// ecSignWithRipemd160 (TeleTrusT): encoded when asked, never accepted
pub const ECDSA_WITH_RIPEMD160: Oid = Oid::new_unwrap("1.3.36.3.3.2.2");
/// ecdsa-plain-SHA1 (BSI TR-03111)
pub const ECDSA_PLAIN_SHA1: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.1");
/// ecdsa-plain-SHA224
pub const ECDSA_PLAIN_SHA224: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.2");
/// ecdsa-plain-SHA256
pub const ECDSA_PLAIN_SHA256: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
/// ecdsa-plain-SHA384
pub const ECDSA_PLAIN_SHA384: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.4");
/// ecdsa-plain-SHA512
pub const ECDSA_PLAIN_SHA512: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.5");
/// ecdsa-plain-RIPEMD160 (BSI TR-03111): Active Authentication may name it; a
/// certificate or SignerInfo may not
pub const ECDSA_PLAIN_RIPEMD160: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.6");

// X.500 attributes and X.509 extensions (RFC 5280, Doc 9303 Part 12)

/// id-at-commonName
pub const CN: Oid = Oid::new_unwrap("2.5.4.3");
/// id-at-serialNumber
pub const SERIAL_NUMBER: Oid = Oid::new_unwrap("2.5.4.5");
/// id-at-countryName
pub const C: Oid = Oid::new_unwrap("2.5.4.6");
/// id-at-localityName
pub const L: Oid = Oid::new_unwrap("2.5.4.7");
/// id-at-stateOrProvinceName
pub const ST: Oid = Oid::new_unwrap("2.5.4.8");
/// id-at-organizationName
pub const O: Oid = Oid::new_unwrap("2.5.4.10");
/// id-at-organizationalUnitName
pub const OU: Oid = Oid::new_unwrap("2.5.4.11");
/// emailAddress (PKCS#9)
pub const EMAIL: Oid = Oid::new_unwrap("1.2.840.113549.1.9.1");
/// id-ce-subjectKeyIdentifier
pub const SKI: Oid = Oid::new_unwrap("2.5.29.14");
/// id-ce-keyUsage
pub const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
/// id-ce-privateKeyUsagePeriod
pub const PRIVATE_KEY_USAGE_PERIOD: Oid = Oid::new_unwrap("2.5.29.16");
/// id-ce-subjectAltName
pub const SAN: Oid = Oid::new_unwrap("2.5.29.17");
/// id-ce-issuerAltName
pub const IAN: Oid = Oid::new_unwrap("2.5.29.18");
/// id-ce-basicConstraints
pub const BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
/// id-ce-cRLNumber
pub const CRL_NUMBER: Oid = Oid::new_unwrap("2.5.29.20");
/// id-ce-cRLReasons
pub const CRL_REASON: Oid = Oid::new_unwrap("2.5.29.21");
/// id-ce-cRLDistributionPoints
pub const CRL_DISTRIBUTION_POINTS: Oid = Oid::new_unwrap("2.5.29.31");
/// id-ce-certificatePolicies
pub const CERTIFICATE_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
/// id-ce-authorityKeyIdentifier
pub const AKI: Oid = Oid::new_unwrap("2.5.29.35");
/// id-ce-extKeyUsage
pub const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
/// id-icao-mrtd-security-extensions-nameChange (Doc 9303 Part 12 §7.1.1.3)
pub const ICAO_NAME_CHANGE: Oid = Oid::new_unwrap("2.23.136.1.1.6.1");
/// id-icao-mrtd-security-extensions-documentTypeList (Doc 9303 Part 12 §7.1.1.3)
pub const ICAO_DOCUMENT_TYPE_LIST: Oid = Oid::new_unwrap("2.23.136.1.1.6.2");

// CMS content types and attributes (RFC 5652, Doc 9303 Parts 10 and 12, BSI TR-03110)

/// id-signedData (RFC 5652)
pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// id-data
pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
/// id-contentType attribute
pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest attribute
pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime attribute
pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
/// id-icao-mrtd-security-ldsSecurityObject (Doc 9303 Part 10 §4.6.2)
pub const ICAO_LDS_SECURITY_OBJECT: Oid = Oid::new_unwrap("2.23.136.1.1.1");
/// id-icao-cscaMasterList (Doc 9303 Part 12 §8.1)
pub const ICAO_CSCA_MASTER_LIST: Oid = Oid::new_unwrap("2.23.136.1.1.2");
/// id-icao-cscaMasterListSigningKey (extended key usage of ML signers)
pub const ICAO_CSCA_MASTER_LIST_SIGNING_KEY: Oid = Oid::new_unwrap("2.23.136.1.1.3");
/// id-icao-DeviationList (Doc 9303 Part 12 §8.2)
pub const ICAO_DEVIATION_LIST: Oid = Oid::new_unwrap("2.23.136.1.1.7");
/// id-icao-DeviationListSigningKey (extended key usage of DL signers)
pub const ICAO_DEVIATION_LIST_SIGNING_KEY: Oid = Oid::new_unwrap("2.23.136.1.1.8");
/// id-SecurityObject (BSI TR-03110: EF.CardSecurity / EF.ChipSecurity content)
pub const BSI_SECURITY_OBJECT: Oid = Oid::new_unwrap("0.4.0.127.0.7.3.2.1");

// Terminal Authentication, terminal roles and CV certificate extensions (BSI TR-03110-3 Appendix A)

/// id-TA-RSA-v1-5-SHA-1
pub const TA_RSA_V1_5_SHA1: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.1.1");
/// id-TA-RSA-v1-5-SHA-256
pub const TA_RSA_V1_5_SHA256: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.1.2");
/// id-TA-RSA-PSS-SHA-1
pub const TA_RSA_PSS_SHA1: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.1.3");
/// id-TA-RSA-PSS-SHA-256
pub const TA_RSA_PSS_SHA256: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.1.4");
/// id-TA-RSA-v1-5-SHA-512
pub const TA_RSA_V1_5_SHA512: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.1.5");
/// id-TA-RSA-PSS-SHA-512
pub const TA_RSA_PSS_SHA512: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.1.6");
/// id-TA-ECDSA-SHA-1
pub const TA_ECDSA_SHA1: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.2.1");
/// id-TA-ECDSA-SHA-224
pub const TA_ECDSA_SHA224: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.2.2");
/// id-TA-ECDSA-SHA-256
pub const TA_ECDSA_SHA256: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.2.3");
/// id-TA-ECDSA-SHA-384
pub const TA_ECDSA_SHA384: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.2.4");
/// id-TA-ECDSA-SHA-512
pub const TA_ECDSA_SHA512: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2.2.5");
/// id-IS: inspection systems (eMRTD)
pub const ROLE_IS: Oid = Oid::new_unwrap("0.4.0.127.0.7.3.1.2.1");
/// id-AT: authentication terminals (eID)
pub const ROLE_AT: Oid = Oid::new_unwrap("0.4.0.127.0.7.3.1.2.2");
/// id-ST: signature terminals
pub const ROLE_ST: Oid = Oid::new_unwrap("0.4.0.127.0.7.3.1.2.3");
/// id-description (certificate extension)
pub const EXT_DESCRIPTION: Oid = Oid::new_unwrap("0.4.0.127.0.7.3.1.3.1");
/// id-sector (certificate extension)
pub const EXT_SECTOR: Oid = Oid::new_unwrap("0.4.0.127.0.7.3.1.3.2");

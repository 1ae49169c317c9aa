//! The one reading layer for ASN.1 below `lds`: the base types every decoder above
//! shares, so that each structure has exactly one decoder.
//!
//! - [`der`]: DER/BER building blocks over [`crate::tlv`] (X.690 §8: INTEGER, BIT
//!   STRING, OCTET STRING incl. BER segments, OBJECT IDENTIFIER, UTCTime and
//!   GeneralizedTime, directory strings), and the BER length quirks.
//! - [`Oid`] and [`AlgorithmIdentifier`] (RFC 5280 §4.1.1.2), parameters kept as read.
//! - [`keys`]: SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, RFC 3279) to openssl keys,
//!   explicit EC domain parameters (X9.62 `ECParameters`) included.
//! - [`signature`]: the hash enum and the signature algorithms of Doc 9303 Part 12,
//!   verified with openssl.
//!
//! `cms` (RFC 5652 SignedData) sits on top of this, `lds` and `pki` on top of `cms`:
//! the dependency runs one way.

pub mod der;
pub mod keys;
pub mod oid;
pub mod signature;

use der::{Asn1Error, tag};

use crate::tlv::{self, Tlv};

/// An OBJECT IDENTIFIER.
pub use ::der::asn1::ObjectIdentifier as Oid;

pub use signature::HashAlgorithm;

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY
/// DEFINED BY algorithm OPTIONAL }` (RFC 5280 §4.1.1.2), the parameters kept as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmIdentifier {
    /// The algorithm.
    pub oid: Oid,
    /// The parameters' encoding (tag, length, value) when present; `05 00` for NULL.
    pub parameters: Option<Vec<u8>>,
}

impl AlgorithmIdentifier {
    /// Parse from a TLV (`SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`).
    pub fn from_tlv(t: &Tlv<'_>) -> Result<Self, Asn1Error> {
        der::expect_tag(t, tag::SEQUENCE, "AlgorithmIdentifier")?;
        let mut r = t.children_ber();
        let oid = der::oid(&der::next(&mut r, tag::OID, "algorithm")?, "algorithm")?;
        let parameters = if r.is_empty() {
            None
        } else {
            Some(r.read()?.raw.to_vec())
        };
        if !r.is_empty() {
            return Err(Asn1Error::Trailing {
                field: "AlgorithmIdentifier",
            });
        }
        Ok(AlgorithmIdentifier { oid, parameters })
    }

    /// Parse from DER bytes.
    pub fn from_der(der: &[u8]) -> Result<Self, Asn1Error> {
        Self::from_tlv(&tlv::parse_ber(der)?)
    }

    /// DER encoding.
    pub fn to_der(&self) -> Vec<u8> {
        let mut v = der::encode_oid(&self.oid);
        if let Some(p) = &self.parameters {
            v.extend_from_slice(p);
        }
        tlv::encode(tag::SEQUENCE, &v)
    }

    /// True when the parameters are absent or NULL.
    pub fn parameters_absent_or_null(&self) -> bool {
        matches!(self.parameters.as_deref(), None | Some([0x05, 0x00]))
    }

    /// The hash algorithm, when this identifies one.
    pub fn hash_algorithm(&self) -> Option<HashAlgorithm> {
        HashAlgorithm::from_oid(&self.oid)
    }

    /// Short name of well-known algorithms (as OpenSSL prints them).
    pub fn name(&self) -> Option<&'static str> {
        algorithm_name(&self.oid)
    }
}

/// Serialised as `{"oid": "2.16.840.1.101.3.4.2.1", "parameters": "0500"}` (hex, or null).
impl serde::Serialize for AlgorithmIdentifier {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("AlgorithmIdentifier", 2)?;
        s.serialize_field("oid", &self.oid.to_string())?;
        s.serialize_field("parameters", &self.parameters.as_deref().map(hex::encode_upper))?;
        s.end()
    }
}

/// How a CMS SignerInfo (RFC 5652 §5.3) or a deviation list names a certificate:
/// `SignerIdentifier ::= CHOICE { issuerAndSerialNumber, subjectKeyIdentifier [0] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerIdentifier {
    /// `issuerAndSerialNumber`.
    IssuerAndSerialNumber {
        /// The issuer Name exactly as encoded (DER of the SEQUENCE).
        issuer: Vec<u8>,
        /// The serial number's INTEGER content octets.
        serial: Vec<u8>,
    },
    /// `subjectKeyIdentifier` (`[0]`).
    SubjectKeyIdentifier(Vec<u8>),
}

/// Short name of a well-known hash, signature or key algorithm (as OpenSSL prints them).
pub fn algorithm_name(oid: &Oid) -> Option<&'static str> {
    use crate::asn1::oid as s;
    Some(match *oid {
        s::SHA1 => "sha1",
        s::SHA224 => "sha224",
        s::SHA256 => "sha256",
        s::SHA384 => "sha384",
        s::SHA512 => "sha512",
        s::RSA_ENCRYPTION => "rsaEncryption",
        s::SHA1_WITH_RSA => "sha1WithRSA",
        s::SHA224_WITH_RSA => "sha224WithRSA",
        s::SHA256_WITH_RSA => "sha256WithRSA",
        s::SHA384_WITH_RSA => "sha384WithRSA",
        s::SHA512_WITH_RSA => "sha512WithRSA",
        s::RSASSA_PSS => "RSASSA-PSS",
        s::ECDSA_WITH_SHA1 => "ecdsa-with-SHA1",
        s::ECDSA_WITH_SHA224 => "ecdsa-with-SHA224",
        s::ECDSA_WITH_SHA256 => "ecdsa-with-SHA256",
        s::ECDSA_WITH_SHA384 => "ecdsa-with-SHA384",
        s::ECDSA_WITH_SHA512 => "ecdsa-with-SHA512",
        s::EC_PUBLIC_KEY => "id-ecPublicKey",
        _ => return None,
    })
}

/// Dotted form of an OBJECT IDENTIFIER's content octets (`None` when malformed).
pub fn oid_to_string(content: &[u8]) -> Option<String> {
    Oid::from_bytes(content).ok().map(|o| o.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids() {
        assert_eq!(
            oid_to_string(&[0x67, 0x81, 0x08, 0x01, 0x01, 0x01]).unwrap(),
            "2.23.136.1.1.1"
        );
        assert_eq!(
            oid_to_string(&[0x2B, 0x0E, 0x03, 0x02, 0x1A]).unwrap(),
            "1.3.14.3.2.26"
        );
        assert_eq!(oid_to_string(&[0x2B, 0x81]), None);
        assert_eq!(oid_to_string(&[]), None);
    }

    #[test]
    fn algorithm_identifier_roundtrip_and_names() {
        let a = AlgorithmIdentifier {
            oid: crate::asn1::oid::SHA256,
            parameters: Some(vec![0x05, 0x00]),
        };
        let back = AlgorithmIdentifier::from_der(&a.to_der()).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.name(), Some("sha256"));
        assert_eq!(back.hash_algorithm(), Some(HashAlgorithm::Sha256));
        assert!(back.parameters_absent_or_null());
        // three elements is not an AlgorithmIdentifier
        let bad = tlv::encode(
            tag::SEQUENCE,
            &[der::encode_oid(&crate::asn1::oid::SHA256), vec![5, 0], vec![5, 0]].concat(),
        );
        assert!(AlgorithmIdentifier::from_der(&bad).is_err());
    }
}

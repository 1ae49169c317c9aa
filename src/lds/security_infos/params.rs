//! Domain parameters and public keys inside SecurityInfos: `AlgorithmIdentifier` with
//! standardized domain parameters (BSI TR-03110-3 A.2.1.1), explicit `ECParameters`
//! (X9.62 / RFC 3279 §2.3.5, BSI TR-03111), X9.42 / PKCS #3 Diffie-Hellman parameters,
//! and `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
//!
//! Everything is kept as bytes (big-endian magnitudes, encoded points); building an
//! OpenSSL group from them is the job of `access::pace::params`.

use crate::tlv::{self, Reader, Tlv};

use super::asn1::{self, Reason};
use super::oid::{self, Oid};

/// The one `AlgorithmIdentifier` ([`crate::asn1::AlgorithmIdentifier`]) and the one
/// explicit EC parameters decoder ([`crate::asn1::keys::EcExplicitParameters`]); what
/// SecurityInfos need on top of them is here.
pub use crate::asn1::AlgorithmIdentifier;
pub use crate::asn1::keys::EcExplicitParameters;

/// Name of a standardized domain parameter ID (Doc 9303 Part 11 §9.5.1, BSI TR-03110-3
/// A.2.1.1).
pub fn standardized_name(id: u32) -> Option<&'static str> {
    Some(match id {
        0 => "1024-bit MODP group with 160-bit prime order subgroup (RFC 5114)",
        1 => "2048-bit MODP group with 224-bit prime order subgroup (RFC 5114)",
        2 => "2048-bit MODP group with 256-bit prime order subgroup (RFC 5114)",
        8 => "NIST P-192",
        9 => "brainpoolP192r1",
        10 => "NIST P-224",
        11 => "brainpoolP224r1",
        12 => "NIST P-256",
        13 => "brainpoolP256r1",
        14 => "brainpoolP320r1",
        15 => "NIST P-384",
        16 => "brainpoolP384r1",
        17 => "brainpoolP512r1",
        18 => "NIST P-521",
        _ => return None,
    })
}

/// The reason (for a SecurityInfos warning) why explicit EC parameters did not decode.
fn ec_reason(e: crate::asn1::keys::KeyError) -> Reason {
    match e {
        crate::asn1::keys::KeyError::UnsupportedParameters { what } => what,
        _ => "malformed ECParameters",
    }
}

impl AlgorithmIdentifier {
    /// Decode from a SEQUENCE element, with a SecurityInfos warning reason on failure.
    pub fn decode(t: &Tlv<'_>) -> Result<Self, Reason> {
        if t.tag != asn1::SEQUENCE {
            return Err("AlgorithmIdentifier is not a SEQUENCE");
        }
        AlgorithmIdentifier::from_tlv(t).map_err(|_| "malformed AlgorithmIdentifier")
    }

    /// `standardizedDomainParameters` with the given parameter ID.
    pub fn standardized(id: u32) -> Self {
        AlgorithmIdentifier {
            oid: oid::STANDARDIZED_DOMAIN_PARAMETERS,
            parameters: Some(asn1::encode_uint(u64::from(id))),
        }
    }

    /// Interpret the parameters as domain parameters.
    pub fn domain_parameters(&self) -> Result<DomainParameterSpec, Reason> {
        let params = self.parameters.as_deref();
        let param_tlv = match params {
            Some(p) => Some(tlv::parse(p).map_err(|_| "malformed algorithm parameters")?),
            None => None,
        };
        if self.oid == oid::STANDARDIZED_DOMAIN_PARAMETERS {
            let t = asn1::want(
                param_tlv.as_ref(),
                asn1::INTEGER,
                "standardized domain parameters without an INTEGER identifier",
            )?;
            return Ok(DomainParameterSpec::Standardized(asn1::uint32(t.value)?));
        }
        if self.oid == oid::DH_PUBLIC_NUMBER || self.oid == oid::DH_KEY_AGREEMENT {
            let t = asn1::want(
                param_tlv.as_ref(),
                asn1::SEQUENCE,
                "Diffie-Hellman parameters are not a SEQUENCE",
            )?;
            return DhParameters::decode(&t, self.oid == oid::DH_PUBLIC_NUMBER).map(DomainParameterSpec::Dh);
        }
        if self.oid == oid::ID_EC_PUBLIC_KEY || self.oid.starts_with(oid::ID_ECC) {
            return match param_tlv {
                Some(t) if t.tag == asn1::OID => Ok(DomainParameterSpec::EcNamed(asn1::oid(&t)?)),
                Some(t) if t.tag == asn1::SEQUENCE => EcExplicitParameters::decode(&t)
                    .map(DomainParameterSpec::EcExplicit)
                    .map_err(ec_reason),
                Some(t) if t.tag == asn1::NULL => Err("implicitlyCA EC parameters"),
                _ => Err("EC parameters missing or not understood"),
            };
        }
        Err("unknown domain parameter algorithm")
    }
}

/// What a domain-parameter `AlgorithmIdentifier` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainParameterSpec {
    /// `standardizedDomainParameters` with an ID 0..=31 (Doc 9303 Part 11 §9.5.1).
    Standardized(u32),
    /// A named curve (`ECParameters` holding an OID).
    EcNamed(Oid),
    /// Explicit prime-field curve parameters.
    EcExplicit(EcExplicitParameters),
    /// Diffie-Hellman group.
    Dh(DhParameters),
}

/// Diffie-Hellman domain parameters (big-endian magnitudes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhParameters {
    /// Prime modulus p.
    pub p: Vec<u8>,
    /// Generator g.
    pub g: Vec<u8>,
    /// Order q of the subgroup generated by g (X9.42 only; PACE needs it).
    pub q: Option<Vec<u8>>,
}

impl DhParameters {
    /// X9.42 `DomainParameters ::= SEQUENCE { p, g, q, j OPTIONAL, validationParms OPTIONAL }`
    /// (`x942 == true`) or PKCS #3 `DHParameter ::= SEQUENCE { prime, base, privateValueLength OPTIONAL }`.
    pub fn decode(t: &Tlv<'_>, x942: bool) -> Result<Self, Reason> {
        let kids = t
            .children()
            .read_all()
            .map_err(|_| "malformed Diffie-Hellman parameters")?;
        let p = asn1::want(kids.first(), asn1::INTEGER, "DH parameters without p")?;
        let g = asn1::want(kids.get(1), asn1::INTEGER, "DH parameters without g")?;
        let q = if x942 {
            let q = asn1::want(kids.get(2), asn1::INTEGER, "X9.42 DH parameters without q")?;
            Some(asn1::unsigned_magnitude(q.value)?.to_vec())
        } else {
            None
        };
        Ok(DhParameters {
            p: asn1::unsigned_magnitude(p.value)?.to_vec(),
            g: asn1::unsigned_magnitude(g.value)?.to_vec(),
            q,
        })
    }
}

/// `SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectPublicKeyInfo {
    /// Key algorithm and domain parameters.
    pub algorithm: AlgorithmIdentifier,
    /// The BIT STRING content (without the unused-bits octet): an encoded EC point, or
    /// a DER INTEGER for Diffie-Hellman.
    pub subject_public_key: Vec<u8>,
    /// The SubjectPublicKeyInfo exactly as read.
    pub raw: Vec<u8>,
}

impl SubjectPublicKeyInfo {
    /// Decode from a SEQUENCE element.
    pub fn decode(t: &Tlv<'_>) -> Result<Self, Reason> {
        if t.tag != asn1::SEQUENCE {
            return Err("SubjectPublicKeyInfo is not a SEQUENCE");
        }
        let mut r = Reader::new(t.value);
        let alg = r.read().map_err(|_| "malformed SubjectPublicKeyInfo")?;
        let algorithm = AlgorithmIdentifier::decode(&alg)?;
        let key = r.read().map_err(|_| "SubjectPublicKeyInfo without key")?;
        let subject_public_key = asn1::bit_string(&key)?;
        if !r.is_empty() {
            return Err("SubjectPublicKeyInfo with extra elements");
        }
        Ok(SubjectPublicKeyInfo {
            algorithm,
            subject_public_key,
            raw: t.raw.to_vec(),
        })
    }

    /// Build one (the emulator's chip authentication key).
    pub fn new(algorithm: AlgorithmIdentifier, subject_public_key: Vec<u8>) -> Self {
        let raw =
            asn1::encode_sequence(&[&algorithm.to_der(), &asn1::encode_bit_string(&subject_public_key)]);
        SubjectPublicKeyInfo {
            algorithm,
            subject_public_key,
            raw,
        }
    }

    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        asn1::encode_sequence(&[
            &self.algorithm.to_der(),
            &asn1::encode_bit_string(&self.subject_public_key),
        ])
    }

    /// For a Diffie-Hellman key: the public value y (the BIT STRING holds a DER INTEGER).
    pub fn dh_public_value(&self) -> Result<Vec<u8>, Reason> {
        let t = tlv::parse(&self.subject_public_key).map_err(|_| "malformed DH public key")?;
        if t.tag != asn1::INTEGER {
            return Err("DH public key is not an INTEGER");
        }
        Ok(asn1::unsigned_magnitude(t.value)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::h;

    #[test]
    fn standardized_13() {
        let alg = h("300C060704007F00070102" /* OID */);
        // 300C 0607 04007F00070102 02010D: the App. I ChipAuthenticationPublicKeyInfo algorithm
        let full = [&alg[..2], &alg[2..], &[0x02, 0x01, 0x0D][..]].concat();
        let t = tlv::parse(&full).unwrap();
        let a = AlgorithmIdentifier::decode(&t).unwrap();
        assert_eq!(a.domain_parameters(), Ok(DomainParameterSpec::Standardized(13)));
        assert_eq!(a.to_der(), full);
        assert_eq!(AlgorithmIdentifier::standardized(13), a);
    }

    #[test]
    fn app_i_public_key_info() {
        let spki = h(
            "3052300C060704007F0007010202010D034200041872709494399E7470A6431BE25E83EEE24FEA568C2ED28DB48E05DB3A610DC884D256A40E35EFCB59BF6753D3A489D28C7A4D973C2DA138A6E7A4A08F68E16F",
        );
        let t = tlv::parse(&spki).unwrap();
        let k = SubjectPublicKeyInfo::decode(&t).unwrap();
        assert_eq!(k.subject_public_key.len(), 65);
        assert_eq!(k.subject_public_key[0], 0x04);
        assert_eq!(k.encode(), spki);
        assert_eq!(k.raw, spki);
    }

    #[test]
    fn dh_x942_and_pkcs3() {
        // SEQUENCE { p=23, g=5, q=11 }
        let x942 = h("300902011702010502010B");
        let t = tlv::parse(&x942).unwrap();
        let d = DhParameters::decode(&t, true).unwrap();
        assert_eq!((d.p, d.g, d.q), (vec![23], vec![5], Some(vec![11])));
        let d = DhParameters::decode(&t, false).unwrap();
        assert_eq!(d.q, None);
        let short_bytes = h("3006020117020105");
        let short = tlv::parse(&short_bytes).unwrap();
        assert!(DhParameters::decode(&short, true).is_err());
    }
}

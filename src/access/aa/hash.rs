//! The hash functions of Active Authentication: named by the ISO/IEC 9796-2 trailer
//! (hash identifiers of ISO/IEC 10118-3) for RSA, by the ActiveAuthenticationInfo
//! signature algorithm OID for ECDSA (BSI TR-03111 §5.2.1 `ecdsa-plain-*`, X9.62 /
//! RFC 5758 `ecdsa-with-*`). The hash itself is [`HashAlgorithm`], the one enum of the
//! crate; the AA evidence names it `SHA-256` ([`serialize_spec_name`]).

use crate::asn1::signature::HashAlgorithm;
pub use crate::asn1::signature::serialize_spec_name;
use crate::lds::security_infos::Oid;
use crate::lds::security_infos::oid::ECDSA_PLAIN_SIGNATURES;

/// `ecdsa-with-SHA1` 1.2.840.10045.4.1.
pub const ECDSA_WITH_SHA1: Oid = Oid::new_unwrap("1.2.840.10045.4.1");
/// `ecdsa-with-SHA2` 1.2.840.10045.4.3 (arcs .1 SHA-224 … .4 SHA-512).
pub const ECDSA_WITH_SHA2: Oid = Oid::new_unwrap("1.2.840.10045.4.3");

/// How an ECDSA signature is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EcdsaEncoding {
    /// `r || s`, each padded to the length of the order (BSI TR-03111 §5.2.1).
    Plain,
    /// DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (X9.62).
    Der,
}

/// Active Authentication's names for a hash.
impl HashAlgorithm {
    /// The hash identifier of ISO/IEC 10118-3 used in an ISO/IEC 9796-2 two-byte
    /// trailer `id || CC`.
    pub fn iso_10118_id(self) -> u8 {
        match self {
            HashAlgorithm::Ripemd160 => 0x31,
            HashAlgorithm::Sha1 => 0x33,
            HashAlgorithm::Sha256 => 0x34,
            HashAlgorithm::Sha512 => 0x35,
            HashAlgorithm::Sha384 => 0x36,
            HashAlgorithm::Sha224 => 0x38,
        }
    }

    /// The hash of an ISO/IEC 10118-3 identifier (`None` for RIPEMD-128, Whirlpool, the
    /// SHA-512/t variants and anything unknown).
    pub fn from_iso_10118_id(id: u8) -> Option<Self> {
        HashAlgorithm::ALL.into_iter().find(|h| h.iso_10118_id() == id)
    }

    /// The hash and encoding an ActiveAuthenticationInfo signature algorithm names:
    /// `ecdsa-plain-SHA*` / `ecdsa-plain-RIPEMD160` (0.4.0.127.0.7.1.1.4.1.{1..6}) or
    /// `ecdsa-with-SHA1` / `ecdsa-with-SHA{224,256,384,512}`.
    pub fn from_ecdsa_oid(oid: &Oid) -> Option<(HashAlgorithm, EcdsaEncoding)> {
        if *oid == ECDSA_WITH_SHA1 {
            return Some((HashAlgorithm::Sha1, EcdsaEncoding::Der));
        }
        let (parent, arc) = crate::lds::security_infos::oid::split_last(oid)?;
        let (arc_of, encoding): (fn(HashAlgorithm) -> Option<u32>, _) = if parent == ECDSA_PLAIN_SIGNATURES {
            (|h| Some(h.ecdsa_plain_arc()), EcdsaEncoding::Plain)
        } else if parent == ECDSA_WITH_SHA2 {
            (HashAlgorithm::ecdsa_with_sha2_arc, EcdsaEncoding::Der)
        } else {
            return None;
        };
        let hash = HashAlgorithm::ALL.into_iter().find(|h| arc_of(*h) == Some(arc))?;
        Some((hash, encoding))
    }

    /// The last arc of its `ecdsa-plain-*` OID (BSI TR-03111 §5.2.1).
    fn ecdsa_plain_arc(self) -> u32 {
        match self {
            HashAlgorithm::Sha1 => 1,
            HashAlgorithm::Sha224 => 2,
            HashAlgorithm::Sha256 => 3,
            HashAlgorithm::Sha384 => 4,
            HashAlgorithm::Sha512 => 5,
            HashAlgorithm::Ripemd160 => 6,
        }
    }

    /// The last arc of its `ecdsa-with-SHA2` OID (RFC 5758), for the SHA-2 hashes.
    fn ecdsa_with_sha2_arc(self) -> Option<u32> {
        match self {
            HashAlgorithm::Sha224 => Some(1),
            HashAlgorithm::Sha256 => Some(2),
            HashAlgorithm::Sha384 => Some(3),
            HashAlgorithm::Sha512 => Some(4),
            HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160 => None,
        }
    }

    /// The `ecdsa-plain-*` OID of this hash (what the emulator writes in DG14).
    pub fn ecdsa_plain_oid(self) -> Oid {
        crate::lds::security_infos::oid::child(ECDSA_PLAIN_SIGNATURES, self.ecdsa_plain_arc())
    }

    /// The hash conventionally paired with an EC key of `order_bits` (BSI TR-03111
    /// §4.2.1.2: a hash at least as long as the order), used only when DG14 names none.
    pub fn for_order_bits(order_bits: usize) -> HashAlgorithm {
        match order_bits {
            0..=160 => HashAlgorithm::Sha1,
            161..=224 => HashAlgorithm::Sha224,
            225..=256 => HashAlgorithm::Sha256,
            257..=384 => HashAlgorithm::Sha384,
            _ => HashAlgorithm::Sha512,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_10118_3_identifiers() {
        // ISO/IEC 10118-3 numbering as used in ISO/IEC 9796-2 trailers (the gmrtd
        // session's trailer 34CC is SHA-256)
        use HashAlgorithm::*;
        let table = [
            (0x31, Some(Ripemd160)),
            (0x32, None),
            (0x33, Some(Sha1)),
            (0x34, Some(Sha256)),
            (0x35, Some(Sha512)),
            (0x36, Some(Sha384)),
            (0x37, None),
            (0x38, Some(Sha224)),
        ];
        for (id, hash) in table {
            assert_eq!(HashAlgorithm::from_iso_10118_id(id), hash, "{id:02X}");
        }
    }

    #[test]
    fn ecdsa_oids() {
        let plain256 = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
        assert_eq!(
            HashAlgorithm::from_ecdsa_oid(&plain256),
            Some((HashAlgorithm::Sha256, EcdsaEncoding::Plain))
        );
        assert_eq!(HashAlgorithm::Sha256.ecdsa_plain_oid(), plain256);
        let plain_ripemd = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.6");
        assert_eq!(
            HashAlgorithm::from_ecdsa_oid(&plain_ripemd),
            Some((HashAlgorithm::Ripemd160, EcdsaEncoding::Plain))
        );
        assert_eq!(HashAlgorithm::Ripemd160.ecdsa_plain_oid(), plain_ripemd);
        assert_eq!(
            HashAlgorithm::from_ecdsa_oid(&Oid::new_unwrap("1.2.840.10045.4.3.3")),
            Some((HashAlgorithm::Sha384, EcdsaEncoding::Der))
        );
        assert_eq!(
            HashAlgorithm::from_ecdsa_oid(&Oid::new_unwrap("1.2.840.10045.4.1")),
            Some((HashAlgorithm::Sha1, EcdsaEncoding::Der))
        );
        assert_eq!(
            HashAlgorithm::from_ecdsa_oid(&Oid::new_unwrap("1.2.840.113549.1.1.11")),
            None
        );
        for h in HashAlgorithm::ALL {
            assert_eq!(
                HashAlgorithm::from_ecdsa_oid(&h.ecdsa_plain_oid()),
                Some((h, EcdsaEncoding::Plain))
            );
        }
        for bad in [
            "0.4.0.127.0.7.1.1.4.1.7",
            "1.2.840.10045.4.3.5",
            "1.2.840.10045.4.3",
        ] {
            assert_eq!(
                HashAlgorithm::from_ecdsa_oid(&Oid::new_unwrap(bad)),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn evidence_names_are_the_standards_names() {
        #[derive(serde::Serialize)]
        struct E {
            #[serde(serialize_with = "serialize_spec_name")]
            hash: HashAlgorithm,
        }
        for (h, json) in [
            (HashAlgorithm::Sha256, r#"{"hash":"SHA-256"}"#),
            (HashAlgorithm::Ripemd160, r#"{"hash":"RIPEMD-160"}"#),
        ] {
            assert_eq!(serde_json::to_string(&E { hash: h }).unwrap(), json);
        }
    }
}

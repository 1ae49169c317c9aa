//! The hash functions of Active Authentication: named by the ISO/IEC 9796-2 trailer
//! (hash identifiers of ISO/IEC 10118-3) for RSA, by the ActiveAuthenticationInfo
//! signature algorithm OID for ECDSA (BSI TR-03111 §5.2.1 `ecdsa-plain-*`, X9.62 /
//! RFC 5758 `ecdsa-with-*`).

use openssl::hash::{MessageDigest, hash};

use crate::lds::security_infos::Oid;
use crate::lds::security_infos::oid::ECDSA_PLAIN_SIGNATURES;

/// A hash function Active Authentication can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum AaHash {
    /// SHA-1.
    #[serde(rename = "SHA-1")]
    Sha1,
    /// SHA-224.
    #[serde(rename = "SHA-224")]
    Sha224,
    /// SHA-256.
    #[serde(rename = "SHA-256")]
    Sha256,
    /// SHA-384.
    #[serde(rename = "SHA-384")]
    Sha384,
    /// SHA-512.
    #[serde(rename = "SHA-512")]
    Sha512,
    /// RIPEMD-160.
    #[serde(rename = "RIPEMD-160")]
    Ripemd160,
}

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

impl AaHash {
    /// Every supported hash.
    pub const ALL: [AaHash; 6] = [
        AaHash::Sha1,
        AaHash::Sha224,
        AaHash::Sha256,
        AaHash::Sha384,
        AaHash::Sha512,
        AaHash::Ripemd160,
    ];

    /// Name ("SHA-256").
    pub fn name(self) -> &'static str {
        match self {
            AaHash::Sha1 => "SHA-1",
            AaHash::Sha224 => "SHA-224",
            AaHash::Sha256 => "SHA-256",
            AaHash::Sha384 => "SHA-384",
            AaHash::Sha512 => "SHA-512",
            AaHash::Ripemd160 => "RIPEMD-160",
        }
    }

    /// Parse a name as written in profiles ("SHA-256", "sha256", "SHA256").
    pub fn from_name(name: &str) -> Option<Self> {
        let n: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_uppercase();
        AaHash::ALL.into_iter().find(|h| h.name().replace('-', "") == n)
    }

    /// Digest length in bytes.
    pub fn len(self) -> usize {
        match self {
            AaHash::Sha1 | AaHash::Ripemd160 => 20,
            AaHash::Sha224 => 28,
            AaHash::Sha256 => 32,
            AaHash::Sha384 => 48,
            AaHash::Sha512 => 64,
        }
    }

    /// Never true (every digest has bytes); present for clippy's `len_without_is_empty`.
    pub fn is_empty(self) -> bool {
        false
    }

    fn message_digest(self) -> MessageDigest {
        match self {
            AaHash::Sha1 => MessageDigest::sha1(),
            AaHash::Sha224 => MessageDigest::sha224(),
            AaHash::Sha256 => MessageDigest::sha256(),
            AaHash::Sha384 => MessageDigest::sha384(),
            AaHash::Sha512 => MessageDigest::sha512(),
            AaHash::Ripemd160 => MessageDigest::ripemd160(),
        }
    }

    /// The digest of the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut h = openssl::hash::Hasher::new(self.message_digest())?;
        for p in parts {
            h.update(p)?;
        }
        Ok(h.finish()?.to_vec())
    }

    /// One-shot digest.
    pub fn digest_of(self, data: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        Ok(hash(self.message_digest(), data)?.to_vec())
    }

    /// The hash identifier of ISO/IEC 10118-3 used in an ISO/IEC 9796-2 two-byte
    /// trailer `id || CC`.
    pub fn iso_10118_id(self) -> u8 {
        match self {
            AaHash::Ripemd160 => 0x31,
            AaHash::Sha1 => 0x33,
            AaHash::Sha256 => 0x34,
            AaHash::Sha512 => 0x35,
            AaHash::Sha384 => 0x36,
            AaHash::Sha224 => 0x38,
        }
    }

    /// The hash of an ISO/IEC 10118-3 identifier (`None` for RIPEMD-128, Whirlpool, the
    /// SHA-512/t variants and anything unknown).
    pub fn from_iso_10118_id(id: u8) -> Option<Self> {
        AaHash::ALL.into_iter().find(|h| h.iso_10118_id() == id)
    }

    /// The hash and encoding an ActiveAuthenticationInfo signature algorithm names:
    /// `ecdsa-plain-SHA*` / `ecdsa-plain-RIPEMD160` (0.4.0.127.0.7.1.1.4.1.{1..6}) or
    /// `ecdsa-with-SHA1` / `ecdsa-with-SHA{224,256,384,512}`.
    pub fn from_ecdsa_oid(oid: &Oid) -> Option<(AaHash, EcdsaEncoding)> {
        let (parent, arc) = crate::lds::security_infos::oid::split_last(oid)?;
        if parent == ECDSA_PLAIN_SIGNATURES {
            let h = match arc {
                1 => AaHash::Sha1,
                2 => AaHash::Sha224,
                3 => AaHash::Sha256,
                4 => AaHash::Sha384,
                5 => AaHash::Sha512,
                6 => AaHash::Ripemd160,
                _ => return None,
            };
            return Some((h, EcdsaEncoding::Plain));
        }
        if *oid == ECDSA_WITH_SHA1 {
            return Some((AaHash::Sha1, EcdsaEncoding::Der));
        }
        if parent == ECDSA_WITH_SHA2 {
            let h = match arc {
                1 => AaHash::Sha224,
                2 => AaHash::Sha256,
                3 => AaHash::Sha384,
                4 => AaHash::Sha512,
                _ => return None,
            };
            return Some((h, EcdsaEncoding::Der));
        }
        None
    }

    /// The `ecdsa-plain-*` OID of this hash (what the emulator writes in DG14).
    pub fn ecdsa_plain_oid(self) -> Oid {
        let arc = match self {
            AaHash::Sha1 => 1,
            AaHash::Sha224 => 2,
            AaHash::Sha256 => 3,
            AaHash::Sha384 => 4,
            AaHash::Sha512 => 5,
            AaHash::Ripemd160 => 6,
        };
        crate::lds::security_infos::oid::child(ECDSA_PLAIN_SIGNATURES, arc)
    }

    /// The hash conventionally paired with an EC key of `order_bits` (BSI TR-03111
    /// §4.2.1.2: a hash at least as long as the order), used only when DG14 names none.
    pub fn for_order_bits(order_bits: usize) -> AaHash {
        match order_bits {
            0..=160 => AaHash::Sha1,
            161..=224 => AaHash::Sha224,
            225..=256 => AaHash::Sha256,
            257..=384 => AaHash::Sha384,
            _ => AaHash::Sha512,
        }
    }
}

impl std::fmt::Display for AaHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_10118_3_identifiers() {
        // ISO/IEC 10118-3 numbering as used in ISO/IEC 9796-2 trailers (the gmrtd
        // session's trailer 34CC is SHA-256)
        assert_eq!(AaHash::from_iso_10118_id(0x33), Some(AaHash::Sha1));
        assert_eq!(AaHash::from_iso_10118_id(0x34), Some(AaHash::Sha256));
        assert_eq!(AaHash::from_iso_10118_id(0x35), Some(AaHash::Sha512));
        assert_eq!(AaHash::from_iso_10118_id(0x36), Some(AaHash::Sha384));
        assert_eq!(AaHash::from_iso_10118_id(0x38), Some(AaHash::Sha224));
        assert_eq!(AaHash::from_iso_10118_id(0x31), Some(AaHash::Ripemd160));
        assert_eq!(AaHash::from_iso_10118_id(0x32), None);
        assert_eq!(AaHash::from_iso_10118_id(0x37), None);
    }

    #[test]
    fn digests_have_their_lengths() {
        for h in AaHash::ALL {
            assert_eq!(h.digest_of(b"abc").unwrap().len(), h.len(), "{h}");
            assert_eq!(h.digest(&[b"a", b"bc"]).unwrap(), h.digest_of(b"abc").unwrap());
        }
        // FIPS 180 "abc"
        assert_eq!(
            hex::encode_upper(AaHash::Sha1.digest_of(b"abc").unwrap()),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
    }

    #[test]
    fn ecdsa_oids() {
        let plain256 = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
        assert_eq!(
            AaHash::from_ecdsa_oid(&plain256),
            Some((AaHash::Sha256, EcdsaEncoding::Plain))
        );
        assert_eq!(AaHash::Sha256.ecdsa_plain_oid(), plain256);
        assert_eq!(
            AaHash::from_ecdsa_oid(&Oid::new_unwrap("1.2.840.10045.4.3.3")),
            Some((AaHash::Sha384, EcdsaEncoding::Der))
        );
        assert_eq!(
            AaHash::from_ecdsa_oid(&Oid::new_unwrap("1.2.840.10045.4.1")),
            Some((AaHash::Sha1, EcdsaEncoding::Der))
        );
        assert_eq!(
            AaHash::from_ecdsa_oid(&Oid::new_unwrap("1.2.840.113549.1.1.11")),
            None
        );
        assert_eq!(AaHash::from_name("sha256"), Some(AaHash::Sha256));
        assert_eq!(AaHash::from_name("SHA-1"), Some(AaHash::Sha1));
        assert_eq!(AaHash::from_name("md5"), None);
    }
}

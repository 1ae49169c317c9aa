//! ISO/IEC 9796-2 digital signature scheme 1 message representatives, as Active
//! Authentication uses them (Doc 9303 Part 11 §6.1.2, worked example in Appendix F).
//!
//! ```text
//! F = header || [padding] || M1 || H || trailer        (normally as long as the modulus)
//!     header   '6A' (bits 01: start, 1: partial recovery, then nibble A: no padding)
//!              or '6B' followed by 'BB'… 'BA' when M1 is shorter than the capacity
//!     H        hash(M1 || M2), M2 = RND.IFD (the non-recoverable part)
//!     trailer  'BC' (SHA-1, implicit) or hash-id || 'CC' (ISO/IEC 10118-3 id)
//! ```
//!
//! Only partial message recovery is accepted: the chip signs `M1 || RND.IFD` and
//! RND.IFD is never inside F, so a representative claiming total recovery (header
//! `4x`) cannot be an Active Authentication answer.

use super::error::AaError;
use crate::asn1::signature::HashAlgorithm;

/// The implicit trailer: SHA-1.
pub const TRAILER_IMPLICIT: u8 = 0xBC;
/// The second byte of a two-byte trailer.
pub const TRAILER_EXPLICIT: u8 = 0xCC;

/// The trailer field of a representative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trailer {
    /// `BC`: the hash function is implicit, SHA-1 for Active Authentication.
    Implicit,
    /// `id || CC` with an ISO/IEC 10118-3 hash identifier.
    Explicit(HashAlgorithm),
}

impl Trailer {
    /// The trailer for `hash`: `BC` for SHA-1 (what Doc 9303 chips use), the two-byte
    /// form for any other hash.
    pub fn for_hash(hash: HashAlgorithm) -> Self {
        if hash == HashAlgorithm::Sha1 {
            Trailer::Implicit
        } else {
            Trailer::Explicit(hash)
        }
    }

    /// The hash function.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Trailer::Implicit => HashAlgorithm::Sha1,
            Trailer::Explicit(h) => h,
        }
    }

    /// The trailer bytes.
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Trailer::Implicit => vec![TRAILER_IMPLICIT],
            Trailer::Explicit(h) => vec![h.iso_10118_id(), TRAILER_EXPLICIT],
        }
    }

    /// Trailer as hex ("BC", "34CC").
    pub fn hex(self) -> String {
        hex::encode_upper(self.bytes())
    }
}

/// A parsed representative; slices point into the opened signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representative<'a> {
    /// The recoverable part of the message.
    pub m1: &'a [u8],
    /// `hash(M1 || M2)` as carried in F.
    pub digest: &'a [u8],
    /// The trailer.
    pub trailer: Trailer,
    /// Bytes of `BB…BA` padding before M1 (0 for header `6A`).
    pub padding: usize,
}

fn bad(what: &'static str) -> AaError {
    AaError::BadRepresentative { what }
}

/// Parse `f` (the opened signature, as many bytes as the modulus).
pub fn parse(f: &[u8]) -> Result<Representative<'_>, AaError> {
    let (&last, body) = f.split_last().ok_or(bad("empty"))?;
    let (trailer, body) = match last {
        TRAILER_IMPLICIT => (Trailer::Implicit, body),
        TRAILER_EXPLICIT => {
            let (&id, rest) = body
                .split_last()
                .ok_or(bad("no hash identifier before trailer CC"))?;
            let hash = HashAlgorithm::from_iso_10118_id(id).ok_or(AaError::UnknownHashId { id })?;
            (Trailer::Explicit(hash), rest)
        }
        _ => return Err(bad("trailer is neither BC nor xxCC")),
    };
    let (&header, rest) = body.split_first().ok_or(bad("too short"))?;
    if header & 0xC0 != 0x40 {
        return Err(bad("header does not start with bits 01"));
    }
    if header & 0x20 == 0 {
        return Err(bad("header announces total message recovery"));
    }
    let (start, padding) = match header & 0x1F {
        0x0A => (rest, 0),
        0x0B => {
            let n = rest.iter().take_while(|b| **b == 0xBB).count();
            match rest.get(n..) {
                Some([0xBA, tail @ ..]) => (tail, n + 1),
                _ => return Err(bad("padding BB… is not closed by BA")),
            }
        }
        _ => return Err(bad("header is neither 6A nor 6B")),
    };
    let hash_len = trailer.hash().output_len();
    let split = start
        .len()
        .checked_sub(hash_len)
        .ok_or(bad("too short for the digest"))?;
    let (m1, digest) = start.split_at(split);
    Ok(Representative {
        m1,
        digest,
        trailer,
        padding,
    })
}

/// The capacity for M1 in a representative of `k` bytes with `trailer`: what is left
/// after the header byte, the digest and the trailer.
pub fn m1_capacity(k: usize, trailer: Trailer) -> Option<usize> {
    k.checked_sub(1 + trailer.hash().output_len() + trailer.bytes().len())
        .filter(|c| *c > 0)
}

/// Build `F = 6A || M1 || hash(M1 || m2) || trailer`, with `m1` filling the capacity of a
/// `k`-byte representative exactly (the chip side).
pub fn encode(k: usize, m1: &[u8], m2: &[u8], trailer: Trailer) -> Result<Vec<u8>, AaError> {
    let capacity = m1_capacity(k, trailer).ok_or(AaError::Signer {
        what: "modulus too short for the hash",
    })?;
    if m1.len() != capacity {
        return Err(AaError::Signer {
            what: "M1 does not fill the representative",
        });
    }
    let digest = trailer.hash().digest_parts(&[m1, m2]);
    let mut f = Vec::with_capacity(k);
    f.push(0x6A);
    f.extend_from_slice(m1);
    f.extend_from_slice(&digest);
    f.extend_from_slice(&trailer.bytes());
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> serde_json::Value {
        crate::test_vectors::vectors("active_authentication_rsa.json")
    }

    use crate::test_vectors::s as h;

    #[test]
    fn appendix_f_representative() {
        // Doc 9303 Part 11 Appendix F: F = 6A || M1 || SHA1(M1 || M2) || BC, k = 1024
        let v = vectors();
        let f_ex = &v["doc9303_worked_example"];
        let f = h(&f_ex["f_message_representative"]);
        let m1 = h(&f_ex["m1"]);
        let m2 = h(&f_ex["rnd_ifd_m2"]);
        let rep = parse(&f).unwrap();
        assert_eq!(rep.m1, m1.as_slice());
        assert_eq!(rep.m1.len() * 8, f_ex["m1_bits"].as_u64().unwrap() as usize);
        assert_eq!(rep.digest, h(&f_ex["h_sha1_m1_m2"]).as_slice());
        assert_eq!(rep.trailer, Trailer::Implicit);
        assert_eq!(rep.trailer.hex(), f_ex["trailer"].as_str().unwrap());
        assert_eq!(rep.padding, 0);
        // the digest is SHA-1(M1 || M2)
        assert_eq!(HashAlgorithm::Sha1.digest_parts(&[&m1, &m2]), rep.digest);
        // building F from M1 and M2 gives the printed F; capacity c = 852 bits incl. the
        // header nibble A, i.e. 106 bytes of M1
        assert_eq!(encode(128, &m1, &m2, Trailer::Implicit).unwrap(), f);
        assert_eq!(m1_capacity(128, Trailer::Implicit), Some(106));
        assert_eq!(
            f_ex["c_bits"].as_u64().unwrap() as usize,
            (m1_capacity(128, Trailer::Implicit).unwrap()) * 8 + 4
        );
    }

    #[test]
    fn two_byte_trailer_and_padding() {
        let m1 = [0x11u8; 40];
        let m2 = [0x22u8; 8];
        let k = 1 + 40 + 32 + 2;
        let f = encode(k, &m1, &m2, Trailer::Explicit(HashAlgorithm::Sha256)).unwrap();
        assert_eq!(&f[f.len() - 2..], &[0x34, 0xCC]);
        let rep = parse(&f).unwrap();
        assert_eq!(rep.trailer.hash(), HashAlgorithm::Sha256);
        assert_eq!(rep.m1, &m1);
        // padded form 6B BB BB BA M1 H BC
        let digest = HashAlgorithm::Sha1.digest_parts(&[&m1[..10], &m2]);
        let padded = [&[0x6B, 0xBB, 0xBB, 0xBA][..], &m1[..10], &digest, &[0xBC]].concat();
        let rep = parse(&padded).unwrap();
        assert_eq!((rep.m1, rep.padding), (&m1[..10], 3));
        let unclosed = [&[0x6B, 0xBB, 0xBB, 0xBB][..], &m1[..10], &digest, &[0xBC]].concat();
        assert!(matches!(parse(&unclosed), Err(AaError::BadRepresentative { .. })));
    }

    #[test]
    fn malformed_representatives() {
        let good = encode(64, &[7u8; 42], b"12345678", Trailer::Implicit).unwrap();
        for (i, (byte, value)) in [(0usize, 0x4Au8), (0, 0x2A), (0, 0x6C), (63, 0xBD)]
            .into_iter()
            .enumerate()
        {
            let mut f = good.clone();
            f[byte] = value;
            assert!(
                matches!(parse(&f), Err(AaError::BadRepresentative { .. })),
                "case {i}"
            );
        }
        let mut f = good.clone();
        f[63] = 0xCC;
        f[62] = 0x37; // Whirlpool: unknown here
        assert!(matches!(parse(&f), Err(AaError::UnknownHashId { id: 0x37 })));
        assert!(parse(&[]).is_err());
        assert!(parse(&[0xBC]).is_err());
        assert!(parse(&[0x6A, 0xBC]).is_err());
        assert!(parse(&[0xCC]).is_err());
        assert!(encode(22, &[], b"", Trailer::Implicit).is_err());
        assert!(encode(64, &[1; 41], b"", Trailer::Implicit).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes);
        }
    }
}

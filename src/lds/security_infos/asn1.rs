//! The few DER building blocks SecurityInfos need (X.690 §8.3 INTEGER, §8.19 OBJECT
//! IDENTIFIER, §8.6 BIT STRING), on top of [`crate::tlv`].

use crate::tlv::{self, Tlv};

use super::oid::Oid;

/// The universal tags used here (the crate's one list of them).
pub use crate::asn1::der::tag::{BIT_STRING, IA5_STRING, INTEGER, NULL, OCTET_STRING, OID, SEQUENCE, SET};

/// Why a known SecurityInfo could not be decoded (kept in warnings).
pub type Reason = &'static str;

/// Require `tag` on an element.
pub fn want<'a>(t: Option<&Tlv<'a>>, tag: u32, what: Reason) -> Result<Tlv<'a>, Reason> {
    match t {
        Some(t) if t.tag == tag => Ok(*t),
        _ => Err(what),
    }
}

/// A non-negative INTEGER that fits in a `u64`.
pub fn uint(value: &[u8]) -> Result<u64, Reason> {
    let first = *value.first().ok_or("empty INTEGER")?;
    if first & 0x80 != 0 {
        return Err("negative INTEGER");
    }
    let digits: &[u8] = {
        let skip = value.iter().take_while(|b| **b == 0).count();
        value.get(skip..).unwrap_or_default()
    };
    if digits.len() > 8 {
        return Err("INTEGER too large");
    }
    Ok(digits.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// A non-negative INTEGER that fits in a `u32`.
pub fn uint32(value: &[u8]) -> Result<u32, Reason> {
    u32::try_from(uint(value)?).map_err(|_| "INTEGER too large")
}

/// The magnitude of a non-negative INTEGER of any size, without leading zero octets
/// (an empty slice for zero).
pub fn unsigned_magnitude(value: &[u8]) -> Result<&[u8], Reason> {
    let first = *value.first().ok_or("empty INTEGER")?;
    if first & 0x80 != 0 {
        return Err("negative INTEGER");
    }
    let skip = value.iter().take_while(|b| **b == 0).count();
    Ok(value.get(skip..).unwrap_or_default())
}

/// An OBJECT IDENTIFIER value.
pub fn oid(t: &Tlv<'_>) -> Result<Oid, Reason> {
    if t.tag != OID {
        return Err("expected an OBJECT IDENTIFIER");
    }
    Oid::from_bytes(t.value).map_err(|_| "invalid or overlong OBJECT IDENTIFIER")
}

/// The content of a BIT STRING without its unused-bits octet (which must be zero).
pub fn bit_string(t: &Tlv<'_>) -> Result<Vec<u8>, Reason> {
    if t.tag != BIT_STRING {
        return Err("expected a BIT STRING");
    }
    match t.value.split_first() {
        Some((0, rest)) => Ok(rest.to_vec()),
        Some(_) => Err("BIT STRING with unused bits"),
        None => Err("empty BIT STRING"),
    }
}

/// Encode an unsigned integer as a DER INTEGER.
pub fn encode_uint(v: u64) -> Vec<u8> {
    encode_unsigned(&v.to_be_bytes())
}

/// Encode big-endian unsigned magnitude bytes as a DER INTEGER (minimal, with a
/// leading zero octet when the top bit is set).
pub fn encode_unsigned(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let digits = magnitude.get(skip..).unwrap_or_default();
    let mut value = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|b| b & 0x80 != 0) {
        value.push(0);
    }
    value.extend_from_slice(digits);
    tlv::encode(INTEGER, &value)
}

/// Encode an OBJECT IDENTIFIER.
pub fn encode_oid(oid: &Oid) -> Vec<u8> {
    tlv::encode(OID, oid.as_bytes())
}

/// Encode a BIT STRING with no unused bits.
pub fn encode_bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.push(0);
    v.extend_from_slice(bytes);
    tlv::encode(BIT_STRING, &v)
}

/// Encode a SEQUENCE of already encoded elements.
pub fn encode_sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv::encode(SEQUENCE, &parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(uint(&[0x0D]), Ok(13));
        assert_eq!(uint(&[0x00, 0x80]), Ok(128));
        assert_eq!(uint(&[0x80]), Err("negative INTEGER"));
        assert_eq!(uint(&[]), Err("empty INTEGER"));
        assert_eq!(uint(&[1; 9]), Err("INTEGER too large"));
        assert_eq!(encode_uint(0), vec![2, 1, 0]);
        assert_eq!(encode_uint(0x0D), vec![2, 1, 0x0D]);
        assert_eq!(encode_uint(0x80), vec![2, 2, 0, 0x80]);
        assert_eq!(encode_unsigned(&[0, 0, 0xA9, 1]), vec![2, 3, 0, 0xA9, 1]);
        assert_eq!(unsigned_magnitude(&[0, 0xA9]), Ok(&[0xA9u8][..]));
    }
}

//! Small DER/BER helpers over [`crate::tlv`] shared by the CMS and PKI parsers
//! (ITU-T X.690 §8: INTEGER, BIT STRING, OCTET STRING, OBJECT IDENTIFIER, times).
//!
//! Everything borrows from the input; nothing allocates in proportion to a length
//! field (only to the bytes actually present).

use std::borrow::Cow;

use thiserror::Error;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::Oid;
use crate::tlv::{self, LengthForm, Tlv, TlvError};

/// Universal tags used here.
pub mod tag {
    /// BOOLEAN
    pub const BOOLEAN: u32 = 0x01;
    /// INTEGER
    pub const INTEGER: u32 = 0x02;
    /// BIT STRING
    pub const BIT_STRING: u32 = 0x03;
    /// OCTET STRING (primitive)
    pub const OCTET_STRING: u32 = 0x04;
    /// OCTET STRING (constructed, BER only)
    pub const OCTET_STRING_CONSTRUCTED: u32 = 0x24;
    /// NULL
    pub const NULL: u32 = 0x05;
    /// OBJECT IDENTIFIER
    pub const OID: u32 = 0x06;
    /// UTF8String
    pub const UTF8_STRING: u32 = 0x0C;
    /// PrintableString
    pub const PRINTABLE_STRING: u32 = 0x13;
    /// TeletexString (T61String)
    pub const TELETEX_STRING: u32 = 0x14;
    /// IA5String
    pub const IA5_STRING: u32 = 0x16;
    /// UTCTime
    pub const UTC_TIME: u32 = 0x17;
    /// GeneralizedTime
    pub const GENERALIZED_TIME: u32 = 0x18;
    /// UniversalString
    pub const UNIVERSAL_STRING: u32 = 0x1C;
    /// BMPString
    pub const BMP_STRING: u32 = 0x1E;
    /// SEQUENCE / SEQUENCE OF
    pub const SEQUENCE: u32 = 0x30;
    /// SET / SET OF
    pub const SET: u32 = 0x31;
}

/// A structural problem in DER/BER data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Asn1Error {
    /// The TLV layer failed (truncated, bad length, ...).
    #[error("malformed encoding")]
    Tlv(#[from] TlvError),
    /// A field had another tag than the structure requires.
    #[error("{field}: expected tag {expected:#04x}, found {found:#04x}")]
    UnexpectedTag {
        /// Which field.
        field: &'static str,
        /// Tag required.
        expected: u32,
        /// Tag present.
        found: u32,
    },
    /// A mandatory field is absent.
    #[error("{field}: missing")]
    Missing {
        /// Which field.
        field: &'static str,
    },
    /// An OBJECT IDENTIFIER that is empty, too long or badly encoded.
    #[error("{field}: invalid object identifier")]
    BadOid {
        /// Which field.
        field: &'static str,
    },
    /// An INTEGER that is empty, negative where it must not be, or too large.
    #[error("{field}: invalid integer")]
    BadInteger {
        /// Which field.
        field: &'static str,
    },
    /// A BIT STRING with unused bits where whole octets are required, or empty.
    #[error("{field}: invalid bit string")]
    BadBitString {
        /// Which field.
        field: &'static str,
    },
    /// A UTCTime or GeneralizedTime that does not parse.
    #[error("{field}: invalid time")]
    BadTime {
        /// Which field.
        field: &'static str,
    },
    /// Bytes after the last field of a structure.
    #[error("{field}: unexpected trailing data")]
    Trailing {
        /// Which structure.
        field: &'static str,
    },
}

/// Require `t` to have `expected` as tag.
pub fn expect_tag(t: &Tlv<'_>, expected: u32, field: &'static str) -> Result<(), Asn1Error> {
    if t.tag == expected {
        Ok(())
    } else {
        Err(Asn1Error::UnexpectedTag {
            field,
            expected,
            found: t.tag,
        })
    }
}

/// Read the next element of `r` and require its tag.
pub fn next<'a>(r: &mut tlv::Reader<'a>, expected: u32, field: &'static str) -> Result<Tlv<'a>, Asn1Error> {
    if r.is_empty() {
        return Err(Asn1Error::Missing { field });
    }
    let t = r.read()?;
    expect_tag(&t, expected, field)?;
    Ok(t)
}

/// Read the next element of `r` (any tag).
pub fn next_any<'a>(r: &mut tlv::Reader<'a>, field: &'static str) -> Result<Tlv<'a>, Asn1Error> {
    if r.is_empty() {
        return Err(Asn1Error::Missing { field });
    }
    Ok(r.read()?)
}

/// Peek at the tag of the next element without consuming it.
pub fn peek_tag(r: &tlv::Reader<'_>) -> Option<u32> {
    if r.is_empty() {
        return None;
    }
    tlv::parse_header(r.remaining()).ok().map(|h| h.tag)
}

/// Read the next element only when it has `tag`.
pub fn optional<'a>(r: &mut tlv::Reader<'a>, tag: u32) -> Result<Option<Tlv<'a>>, Asn1Error> {
    if peek_tag(r) == Some(tag) {
        Ok(Some(r.read()?))
    } else {
        Ok(None)
    }
}

/// An OBJECT IDENTIFIER value.
pub fn oid(t: &Tlv<'_>, field: &'static str) -> Result<Oid, Asn1Error> {
    expect_tag(t, tag::OID, field)?;
    Oid::from_bytes(t.value).map_err(|_| Asn1Error::BadOid { field })
}

/// A non-negative INTEGER that fits a `u64` (versions, salt lengths, counts).
pub fn small_uint(t: &Tlv<'_>, field: &'static str) -> Result<u64, Asn1Error> {
    expect_tag(t, tag::INTEGER, field)?;
    let v = t.value;
    match v.first() {
        None => return Err(Asn1Error::BadInteger { field }),
        Some(b) if b & 0x80 != 0 => return Err(Asn1Error::BadInteger { field }),
        _ => {}
    }
    let mag = unsigned_magnitude(v);
    if mag.len() > 8 {
        return Err(Asn1Error::BadInteger { field });
    }
    Ok(mag.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// The content octets of an INTEGER (two's complement, as encoded).
pub fn integer_bytes<'a>(t: &Tlv<'a>, field: &'static str) -> Result<&'a [u8], Asn1Error> {
    expect_tag(t, tag::INTEGER, field)?;
    if t.value.is_empty() {
        return Err(Asn1Error::BadInteger { field });
    }
    Ok(t.value)
}

/// Magnitude of a non-negative big-endian integer without leading zero octets.
pub fn unsigned_magnitude(v: &[u8]) -> &[u8] {
    let skip = v.iter().take_while(|b| **b == 0).count();
    v.get(skip..).unwrap_or_default()
}

/// The content of a BIT STRING that must consist of whole octets (keys, signatures).
pub fn bit_string_octets<'a>(t: &Tlv<'a>, field: &'static str) -> Result<&'a [u8], Asn1Error> {
    expect_tag(t, tag::BIT_STRING, field)?;
    match t.value.split_first() {
        Some((0, rest)) => Ok(rest),
        _ => Err(Asn1Error::BadBitString { field }),
    }
}

/// A BIT STRING as (unused bits, octets), for named-bit lists such as KeyUsage.
pub fn bit_string_bits<'a>(t: &Tlv<'a>, field: &'static str) -> Result<(u8, &'a [u8]), Asn1Error> {
    expect_tag(t, tag::BIT_STRING, field)?;
    match t.value.split_first() {
        Some((unused, rest)) if *unused < 8 && !(rest.is_empty() && *unused != 0) => Ok((*unused, rest)),
        _ => Err(Asn1Error::BadBitString { field }),
    }
}

/// The octets of an OCTET STRING, primitive or (BER) constructed from segments.
pub fn octet_string<'a>(t: &Tlv<'a>, field: &'static str) -> Result<Cow<'a, [u8]>, Asn1Error> {
    match t.tag {
        tag::OCTET_STRING => Ok(Cow::Borrowed(t.value)),
        tag::OCTET_STRING_CONSTRUCTED => {
            let mut out = Vec::with_capacity(t.value.len());
            collect_segments(t, &mut out, field, 0)?;
            Ok(Cow::Owned(out))
        }
        found => Err(Asn1Error::UnexpectedTag {
            field,
            expected: tag::OCTET_STRING,
            found,
        }),
    }
}

fn collect_segments(
    t: &Tlv<'_>,
    out: &mut Vec<u8>,
    field: &'static str,
    depth: usize,
) -> Result<(), Asn1Error> {
    if depth > tlv::MAX_DEPTH {
        return Err(TlvError::TooDeep.into());
    }
    for child in t.children_ber() {
        let child = child?;
        match child.tag {
            tag::OCTET_STRING => out.extend_from_slice(child.value),
            tag::OCTET_STRING_CONSTRUCTED => collect_segments(&child, out, field, depth + 1)?,
            found => {
                return Err(Asn1Error::UnexpectedTag {
                    field,
                    expected: tag::OCTET_STRING,
                    found,
                });
            }
        }
    }
    Ok(())
}

/// True when `t` or anything inside it uses a BER-only length form
/// (indefinite, or a long form with more octets than needed).
pub fn has_ber_lengths(t: &Tlv<'_>) -> (bool, bool) {
    // the header walk is several times faster; it gives up on what does not parse
    if let Some(forms) = tlv::length_forms(t.raw) {
        return forms;
    }
    let mut indefinite = false;
    let mut non_minimal = false;
    scan_forms(t, &mut indefinite, &mut non_minimal, 0);
    (indefinite, non_minimal)
}

fn scan_forms(t: &Tlv<'_>, indefinite: &mut bool, non_minimal: &mut bool, depth: usize) {
    match t.form {
        LengthForm::Indefinite => *indefinite = true,
        LengthForm::NonMinimal => *non_minimal = true,
        _ => {}
    }
    if depth > tlv::MAX_DEPTH || !t.is_constructed() {
        return;
    }
    for child in t.children_ber().flatten() {
        scan_forms(&child, indefinite, non_minimal, depth + 1);
    }
}

/// A UTCTime or GeneralizedTime (X.690 §11.7/§11.8; the RFC 5280 forms, plus
/// UTCTime without seconds and an explicit `+hhmm`/`-hhmm` offset seen in old data).
pub fn time(t: &Tlv<'_>, field: &'static str) -> Result<OffsetDateTime, Asn1Error> {
    let s = std::str::from_utf8(t.value).map_err(|_| Asn1Error::BadTime { field })?;
    let parsed = match t.tag {
        tag::UTC_TIME => parse_utc_time(s),
        tag::GENERALIZED_TIME => parse_generalized_time(s),
        found => {
            return Err(Asn1Error::UnexpectedTag {
                field,
                expected: tag::UTC_TIME,
                found,
            });
        }
    };
    parsed.ok_or(Asn1Error::BadTime { field })
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn split_zone(s: &str) -> Option<(&str, i64)> {
    if let Some(body) = s.strip_suffix('Z') {
        return Some((body, 0));
    }
    let pos = s.rfind(['+', '-'])?;
    let (body, zone) = s.split_at(pos);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let hh = i64::from(digits(zone.get(1..3)?)?);
    let mm = i64::from(digits(zone.get(3..5)?)?);
    if zone.len() != 5 {
        return None;
    }
    Some((body, sign * (hh * 3600 + mm * 60)))
}

fn assemble(year: i32, rest: &str, offset_s: i64) -> Option<OffsetDateTime> {
    let month = digits(rest.get(0..2)?)?;
    let day = digits(rest.get(2..4)?)?;
    let hour = digits(rest.get(4..6)?)?;
    let minute = digits(rest.get(6..8)?)?;
    let second = match rest.len() {
        8 => 0,
        10 => digits(rest.get(8..10)?)?,
        _ => return None,
    };
    let date = Date::from_calendar_date(
        year,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let tod = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    let utc = PrimitiveDateTime::new(date, tod).assume_utc();
    utc.checked_sub(time::Duration::seconds(offset_s))
}

fn parse_utc_time(s: &str) -> Option<OffsetDateTime> {
    let (body, offset) = split_zone(s)?;
    let yy = digits(body.get(0..2)?)?;
    let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    assemble(i32::try_from(year).ok()?, body.get(2..)?, offset)
}

fn parse_generalized_time(s: &str) -> Option<OffsetDateTime> {
    let (body, offset) = split_zone(s)?;
    // drop a fractional part of the seconds
    let body = match body.find(['.', ',']) {
        Some(p) => {
            let frac = body.get(p + 1..)?;
            digits(frac)?;
            body.get(..p)?
        }
        None => body,
    };
    let year = digits(body.get(0..4)?)?;
    assemble(i32::try_from(year).ok()?, body.get(4..)?, offset)
}

/// Encode a time the way RFC 5280 §4.1.2.5 wants it: UTCTime through 2049, then GeneralizedTime.
pub fn encode_time(t: OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year();
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if (1950..2050).contains(&year) {
        tlv::encode(tag::UTC_TIME, format!("{:02}{rest}", year % 100).as_bytes())
    } else {
        tlv::encode(tag::GENERALIZED_TIME, format!("{year:04}{rest}").as_bytes())
    }
}

/// Decode a directory string (PrintableString, UTF8String, IA5String, TeletexString
/// read as Latin-1, BMPString, UniversalString) to text. Unknown types give `None`.
pub fn directory_string(t: &Tlv<'_>) -> Option<String> {
    match t.tag {
        tag::PRINTABLE_STRING | tag::IA5_STRING | tag::UTF8_STRING | 0x12 | 0x1A => {
            match std::str::from_utf8(t.value) {
                Ok(s) => Some(s.to_owned()),
                // some issuers put Latin-1 into PrintableString
                Err(_) => Some(t.value.iter().map(|b| char::from(*b)).collect()),
            }
        }
        tag::TELETEX_STRING => Some(t.value.iter().map(|b| char::from(*b)).collect()),
        tag::BMP_STRING => {
            let units: Vec<u16> = t
                .value
                .chunks(2)
                .map(|c| match c {
                    [a, b] => u16::from_be_bytes([*a, *b]),
                    _ => 0xFFFD,
                })
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        tag::UNIVERSAL_STRING => Some(
            t.value
                .chunks(4)
                .map(|c| match c {
                    [a, b, c2, d] => {
                        char::from_u32(u32::from_be_bytes([*a, *b, *c2, *d])).unwrap_or('\u{FFFD}')
                    }
                    _ => '\u{FFFD}',
                })
                .collect(),
        ),
        _ => None,
    }
}

/// DER encoding of an OBJECT IDENTIFIER.
pub fn encode_oid(oid: &Oid) -> Vec<u8> {
    tlv::encode(tag::OID, oid.as_bytes())
}

/// DER encoding of a non-negative INTEGER from its big-endian magnitude.
pub fn encode_uint(magnitude: &[u8]) -> Vec<u8> {
    let m = unsigned_magnitude(magnitude);
    let mut v = Vec::with_capacity(m.len() + 1);
    if m.first().is_none_or(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(m);
    tlv::encode(tag::INTEGER, &v)
}

/// DER encoding of a small non-negative INTEGER.
pub fn encode_small_uint(v: u64) -> Vec<u8> {
    encode_uint(&v.to_be_bytes())
}

/// DER SEQUENCE of the concatenated encodings.
pub fn encode_seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv::encode(tag::SEQUENCE, &parts.concat())
}

/// DER BIT STRING of whole octets (no unused bits).
pub fn encode_bit_string(octets: &[u8]) -> Vec<u8> {
    tlv::encode(tag::BIT_STRING, &[&[0u8][..], octets].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recursive_forms(raw: &[u8]) -> (bool, bool) {
        let t = tlv::parse_ber(raw).unwrap();
        let (mut indefinite, mut non_minimal) = (false, false);
        scan_forms(&t, &mut indefinite, &mut non_minimal, 0);
        (indefinite, non_minimal)
    }

    #[test]
    fn header_walk_agrees_with_the_recursive_scan() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut inputs: Vec<Vec<u8>> = [
            "10-ut-csca-1.cer",
            "10-xa-csca-explicit.cer",
            "00-masterlist-ut.ml",
            "20-ut-csca-1-current.crl",
        ]
        .iter()
        .map(|f| std::fs::read(root.join("pkd-fixtures/pki").join(f)).unwrap())
        .collect();
        // indefinite outer SEQUENCE with an indefinite [0] inside and EOCs
        inputs.push(vec![
            0x30, 0x80, 0xA0, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
        ]);
        // a non-minimal long form (0x81 for a length below 128) inside a definite SEQUENCE
        inputs.push(vec![0x30, 0x07, 0x04, 0x81, 0x02, 0xAA, 0xBB, 0x05, 0x00]);
        // a non-minimal two-octet form with a leading zero
        inputs.push(vec![0x30, 0x82, 0x00, 0x03, 0x02, 0x01, 0x07]);
        let mut seen = [false; 2];
        for raw in &inputs {
            let Ok(_) = tlv::parse_ber(raw) else { continue };
            let walked =
                tlv::length_forms(raw).unwrap_or_else(|| panic!("header walk fails on {}", hex::encode(raw)));
            assert_eq!(walked, recursive_forms(raw), "{}", hex::encode(raw));
            seen[0] |= walked.0;
            seen[1] |= walked.1;
        }
        assert_eq!(seen, [true, true], "both BER forms were exercised");
        // garbage: the walk gives up (has_ber_lengths then scans recursively)
        assert_eq!(tlv::length_forms(&[0x04, 0x05, 0x01]), None);
        let truncated_child = [0x30, 0x06, 0x04, 0x81, 0x02, 0xAA, 0xBB, 0x05];
        assert_eq!(tlv::length_forms(&truncated_child), None);
        let t = tlv::parse_ber(&truncated_child).unwrap();
        assert_eq!(has_ber_lengths(&t), (false, true));
    }

    fn t(tag: u32, s: &str) -> Vec<u8> {
        tlv::encode(tag, s.as_bytes())
    }

    #[test]
    fn utc_and_generalized_times() {
        let v = t(tag::UTC_TIME, "211217120000Z");
        let x = time(&tlv::parse(&v).unwrap(), "x").unwrap();
        assert_eq!(x.unix_timestamp(), 1639742400);
        let v = t(tag::UTC_TIME, "4912311200Z");
        assert_eq!(time(&tlv::parse(&v).unwrap(), "x").unwrap().year(), 2049);
        let v = t(tag::UTC_TIME, "500101000000Z");
        assert_eq!(time(&tlv::parse(&v).unwrap(), "x").unwrap().year(), 1950);
        let v = t(tag::GENERALIZED_TIME, "20501231235959.123Z");
        assert_eq!(time(&tlv::parse(&v).unwrap(), "x").unwrap().year(), 2050);
        let v = t(tag::UTC_TIME, "211217120000+0100");
        assert_eq!(
            time(&tlv::parse(&v).unwrap(), "x").unwrap().unix_timestamp(),
            1639742400 - 3600
        );
        for bad in ["2112171200", "21121712000Z", "211317120000Z", "21x217120000Z", ""] {
            let v = t(tag::UTC_TIME, bad);
            assert!(time(&tlv::parse(&v).unwrap(), "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn time_encoding_roundtrip() {
        for ts in [0i64, 1639742400, 2_600_000_000, 4_200_000_000] {
            let when = OffsetDateTime::from_unix_timestamp(ts).unwrap();
            let enc = encode_time(when);
            assert_eq!(time(&tlv::parse(&enc).unwrap(), "x").unwrap(), when);
        }
    }

    #[test]
    fn integers() {
        let v = encode_small_uint(0x80);
        assert_eq!(v, [2, 2, 0, 0x80]);
        assert_eq!(small_uint(&tlv::parse(&v).unwrap(), "x").unwrap(), 0x80);
        assert!(small_uint(&tlv::parse(&[2, 1, 0xFF]).unwrap(), "x").is_err());
        assert!(small_uint(&tlv::parse(&[2, 0]).unwrap(), "x").is_err());
        assert_eq!(encode_uint(&[0, 0, 1]), [2, 1, 1]);
        assert_eq!(encode_uint(&[]), [2, 1, 0]);
    }

    #[test]
    fn constructed_octet_string_is_joined() {
        // 24 80 04 02 AA BB 24 80 04 01 CC 00 00 00 00
        let v = hex::decode("24800402AABB24800401CC00000000").unwrap();
        let t = tlv::parse_ber(&v).unwrap();
        assert_eq!(octet_string(&t, "x").unwrap().as_ref(), &[0xAA, 0xBB, 0xCC]);
        assert_eq!(has_ber_lengths(&t), (true, false));
    }

    #[test]
    fn strings() {
        let bmp = tlv::encode(tag::BMP_STRING, &[0, b'D', 0, 0xE4]);
        assert_eq!(directory_string(&tlv::parse(&bmp).unwrap()).unwrap(), "Dä");
        let t61 = tlv::encode(tag::TELETEX_STRING, &[b'M', 0xFC]);
        assert_eq!(directory_string(&tlv::parse(&t61).unwrap()).unwrap(), "Mü");
    }
}

//! BER-TLV as used throughout Doc 9303 (Part 10 §4, ISO/IEC 7816-4 §5.2, X.690 §8.1).
//!
//! A pure, allocation-light reader over borrowed bytes plus an encoder. Every
//! element keeps the exact bytes it was read from ([`Tlv::raw`]), so anything that
//! is hashed or signed later is hashed over what the chip sent, never over a
//! re-encoding.
//!
//! Tags are kept as their encoded bytes packed big-endian into a `u32` (`0x5F1F`,
//! `0x7F61`, `0x61`), the way Doc 9303 writes them. Lengths may use the short
//! form, the long form with up to four length octets, or — only where a caller
//! allows it — the BER indefinite form (`0x80`, closed by `00 00`), which some
//! issuers use for EF.SOD.

use thiserror::Error;

/// What went wrong while reading a TLV.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TlvError {
    /// The input ended inside a tag, a length or a value.
    #[error("truncated TLV at offset {offset}: needed {needed} more byte(s)")]
    Truncated {
        /// Offset (in the buffer being parsed) where the element started.
        offset: usize,
        /// How many bytes were missing.
        needed: usize,
    },
    /// A tag longer than four bytes.
    #[error("TLV tag too long at offset {offset}")]
    TagTooLong {
        /// Offset of the tag.
        offset: usize,
    },
    /// A length field that cannot be represented (more than four length octets, or reserved 0xFF).
    #[error("invalid TLV length encoding 0x{first:02X} at offset {offset}")]
    BadLength {
        /// Offset of the length field.
        offset: usize,
        /// Its first octet.
        first: u8,
    },
    /// Indefinite length (0x80) where only definite lengths are allowed.
    #[error("indefinite-length TLV at offset {offset} where a definite length is required")]
    Indefinite {
        /// Offset of the element.
        offset: usize,
    },
    /// An indefinite-length element whose end-of-contents marker was not found.
    #[error("indefinite-length TLV at offset {offset} has no end-of-contents marker")]
    MissingEndOfContents {
        /// Offset of the element.
        offset: usize,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("TLV nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// A specific tag was expected.
    #[error("expected TLV tag {expected:X}, found {found:X}")]
    UnexpectedTag {
        /// Tag wanted.
        expected: u32,
        /// Tag present.
        found: u32,
    },
    /// A required child was missing.
    #[error("missing TLV tag {tag:X}")]
    Missing {
        /// Tag looked for.
        tag: u32,
    },
}

/// Nesting limit for indefinite-length scanning (guards recursion on hostile input).
pub const MAX_DEPTH: usize = 64;

/// Length form found while parsing a single element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthForm {
    /// One octet, 0..=127.
    Short,
    /// `0x81..=0x84` followed by the length.
    Long,
    /// Long form with more octets than needed (e.g. `82 00 10`): allowed by BER, not by DER.
    NonMinimal,
    /// `0x80` … `00 00`.
    Indefinite,
}

/// One parsed element, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Tag bytes packed big-endian.
    pub tag: u32,
    /// Value bytes (for indefinite length: the contents without the end-of-contents marker).
    pub value: &'a [u8],
    /// Tag, length and value exactly as they appeared in the input.
    pub raw: &'a [u8],
    /// How the length was written.
    pub form: LengthForm,
}

impl<'a> Tlv<'a> {
    /// True when bit 6 of the first tag octet is set (a constructed encoding).
    pub fn is_constructed(&self) -> bool {
        first_tag_byte(self.tag) & 0x20 != 0
    }

    /// Children of a constructed element (definite lengths only).
    pub fn children(&self) -> Reader<'a> {
        Reader::new(self.value)
    }

    /// Children, allowing indefinite lengths inside.
    pub fn children_ber(&self) -> Reader<'a> {
        Reader::new_ber(self.value)
    }

    /// Length of the header (tag + length octets).
    pub fn header_len(&self) -> usize {
        let trailer = if self.form == LengthForm::Indefinite { 2 } else { 0 };
        self.raw.len() - self.value.len() - trailer
    }
}

fn first_tag_byte(tag: u32) -> u8 {
    let bytes = tag.to_be_bytes();
    bytes.iter().copied().find(|b| *b != 0).unwrap_or(0)
}

/// Tag and length of an element, without its value: used to learn a file's size from
/// its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Tag bytes packed big-endian.
    pub tag: u32,
    /// Octets of tag and length.
    pub header_len: usize,
    /// Value length; `None` for the indefinite form.
    pub value_len: Option<usize>,
}

impl Header {
    /// Total encoded size of the element when its length is definite.
    pub fn total_len(&self) -> Option<usize> {
        self.value_len.and_then(|v| v.checked_add(self.header_len))
    }
}

/// Parse only the tag and length at the start of `input`.
pub fn parse_header(input: &[u8]) -> Result<Header, TlvError> {
    let (tag, tag_len) = parse_tag(input, 0)?;
    let rest = input.get(tag_len..).unwrap_or_default();
    let (len, len_len, _) = parse_length(rest, tag_len)?;
    Ok(Header {
        tag,
        header_len: tag_len + len_len,
        value_len: len,
    })
}

/// Whether any element of `input` (complete TLVs, constructed ones descended into)
/// uses an indefinite length or a long length form with more octets than needed:
/// `(indefinite, non_minimal)`. One linear walk over the headers, building no
/// nodes (the contents of a constructed element are exactly its children, so the
/// next header always follows the current header or the current value). `None` when
/// a header does not parse or a length runs past the end.
pub fn length_forms(input: &[u8]) -> Option<(bool, bool)> {
    let (mut indefinite, mut non_minimal) = (false, false);
    let mut pos = 0usize;
    while pos < input.len() {
        let rest = input.get(pos..)?;
        let (tag, tag_len) = parse_tag(rest, pos).ok()?;
        let (len, len_len, form) = parse_length(rest.get(tag_len..)?, pos + tag_len).ok()?;
        match form {
            LengthForm::Indefinite => indefinite = true,
            LengthForm::NonMinimal => non_minimal = true,
            LengthForm::Short | LengthForm::Long => {}
        }
        let header = tag_len + len_len;
        pos = match len {
            // constructed (or indefinite, which is always constructed): the children follow
            _ if first_tag_byte(tag) & 0x20 != 0 => pos + header,
            None => pos + header,
            Some(n) => {
                let end = pos.checked_add(header)?.checked_add(n)?;
                if end > input.len() {
                    return None;
                }
                end
            }
        };
    }
    Some((indefinite, non_minimal))
}

fn parse_tag(input: &[u8], offset: usize) -> Result<(u32, usize), TlvError> {
    let first = *input.first().ok_or(TlvError::Truncated { offset, needed: 1 })?;
    let mut tag = u32::from(first);
    if first & 0x1F != 0x1F {
        return Ok((tag, 1));
    }
    let mut i = 1;
    loop {
        let b = *input.get(i).ok_or(TlvError::Truncated { offset, needed: 1 })?;
        if i >= 4 {
            return Err(TlvError::TagTooLong { offset });
        }
        tag = (tag << 8) | u32::from(b);
        i += 1;
        if b & 0x80 == 0 {
            return Ok((tag, i));
        }
    }
}

/// Returns (length or None for indefinite, octets used, form).
fn parse_length(input: &[u8], offset: usize) -> Result<(Option<usize>, usize, LengthForm), TlvError> {
    let first = *input.first().ok_or(TlvError::Truncated { offset, needed: 1 })?;
    match first {
        0x00..=0x7F => Ok((Some(usize::from(first)), 1, LengthForm::Short)),
        0x80 => Ok((None, 1, LengthForm::Indefinite)),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7F);
            let octets = input.get(1..=n).ok_or(TlvError::Truncated {
                offset,
                needed: (n + 1).saturating_sub(input.len()),
            })?;
            let len = octets.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            let minimal = match n {
                1 => len >= 0x80,
                _ => octets.first().is_some_and(|b| *b != 0),
            };
            let form = if minimal {
                LengthForm::Long
            } else {
                LengthForm::NonMinimal
            };
            Ok((Some(len), n + 1, form))
        }
        _ => Err(TlvError::BadLength { offset, first }),
    }
}

/// Sequential reader over concatenated TLVs.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    ber: bool,
}

impl<'a> Reader<'a> {
    /// A reader that accepts definite lengths only.
    pub fn new(input: &'a [u8]) -> Self {
        Reader {
            input,
            pos: 0,
            ber: false,
        }
    }

    /// A reader that also accepts the indefinite form.
    pub fn new_ber(input: &'a [u8]) -> Self {
        Reader {
            input,
            pos: 0,
            ber: true,
        }
    }

    /// Bytes not consumed yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    /// True when everything was consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// True when only zero bytes remain (padding some chips leave after the last TLV).
    pub fn only_zero_padding_left(&self) -> bool {
        !self.is_empty() && self.remaining().iter().all(|b| *b == 0)
    }

    /// Read the next element.
    pub fn read(&mut self) -> Result<Tlv<'a>, TlvError> {
        let start = self.pos;
        let tlv = parse_one(self.remaining(), start, self.ber, 0)?;
        self.pos += tlv.raw.len();
        Ok(tlv)
    }

    /// Read the next element and require its tag.
    pub fn expect(&mut self, tag: u32) -> Result<Tlv<'a>, TlvError> {
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(TlvError::UnexpectedTag {
                expected: tag,
                found: tlv.tag,
            });
        }
        Ok(tlv)
    }

    /// Read every remaining element.
    pub fn read_all(&mut self) -> Result<Vec<Tlv<'a>>, TlvError> {
        let mut out = Vec::new();
        while !self.is_empty() {
            out.push(self.read()?);
        }
        Ok(out)
    }

    /// First remaining element with `tag` (consumes up to and including it).
    pub fn find(&mut self, tag: u32) -> Result<Option<Tlv<'a>>, TlvError> {
        while !self.is_empty() {
            let t = self.read()?;
            if t.tag == tag {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.is_empty() {
            return None;
        }
        let r = self.read();
        if r.is_err() {
            // stop after the first error
            self.pos = self.input.len();
        }
        Some(r)
    }
}

/// Parse exactly one element at the start of `input` (definite lengths only).
pub fn parse(input: &[u8]) -> Result<Tlv<'_>, TlvError> {
    parse_one(input, 0, false, 0)
}

/// Parse exactly one element at the start of `input`, allowing indefinite lengths.
pub fn parse_ber(input: &[u8]) -> Result<Tlv<'_>, TlvError> {
    parse_one(input, 0, true, 0)
}

fn parse_one(input: &[u8], offset: usize, ber: bool, depth: usize) -> Result<Tlv<'_>, TlvError> {
    if depth > MAX_DEPTH {
        return Err(TlvError::TooDeep);
    }
    let (tag, tag_len) = parse_tag(input, offset)?;
    let after_tag = input.get(tag_len..).unwrap_or_default();
    let (len, len_len, form) = parse_length(after_tag, offset + tag_len)?;
    let header = tag_len + len_len;
    match len {
        Some(len) => {
            let end = header
                .checked_add(len)
                .ok_or(TlvError::BadLength { offset, first: 0xFF })?;
            if end > input.len() {
                return Err(TlvError::Truncated {
                    offset,
                    needed: end - input.len(),
                });
            }
            Ok(Tlv {
                tag,
                value: input.get(header..end).unwrap_or_default(),
                raw: input.get(..end).unwrap_or_default(),
                form,
            })
        }
        None => {
            if !ber {
                return Err(TlvError::Indefinite { offset });
            }
            if first_tag_byte(tag) & 0x20 == 0 {
                // primitive encodings never use the indefinite form
                return Err(TlvError::Indefinite { offset });
            }
            // scan children until 00 00
            let mut pos = header;
            loop {
                let rest = input.get(pos..).unwrap_or_default();
                if rest.len() < 2 {
                    return Err(TlvError::MissingEndOfContents { offset });
                }
                if rest.first() == Some(&0) && rest.get(1) == Some(&0) {
                    let value = input.get(header..pos).unwrap_or_default();
                    let raw = input.get(..pos + 2).unwrap_or_default();
                    return Ok(Tlv {
                        tag,
                        value,
                        raw,
                        form: LengthForm::Indefinite,
                    });
                }
                let child = parse_one(rest, offset + pos, true, depth + 1)?;
                pos += child.raw.len();
            }
        }
    }
}

/// Encode a tag (packed big-endian as in [`Tlv::tag`]).
pub fn encode_tag(tag: u32, out: &mut Vec<u8>) {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    out.extend_from_slice(bytes.get(skip..).unwrap_or(&[0]));
}

/// Encode a definite length in its minimal (DER) form.
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// Encode one element.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    encode_tag(tag, &mut out);
    encode_length(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

/// Append one element to `out`.
pub fn encode_into(tag: u32, value: &[u8], out: &mut Vec<u8>) {
    encode_tag(tag, out);
    encode_length(value.len(), out);
    out.extend_from_slice(value);
}

/// The minimal big-endian bytes of an unsigned number, at least one byte (a keyId or a
/// parameter ID in a data object).
pub fn minimal_uint(v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|x| **x == 0).count().min(b.len() - 1);
    b.get(skip..).unwrap_or(&[0]).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ef_com_from_doc9303_appendix_d() {
        // EF.COM of the Doc 9303 Part 11 Appendix D.4 example
        let com = hex::decode("60145F0104303130365F36063034303030305C026175").unwrap();
        let tlv = parse(&com).unwrap();
        assert_eq!(tlv.tag, 0x60);
        assert_eq!(tlv.value.len(), 0x14);
        let kids = tlv.children().read_all().unwrap();
        assert_eq!(
            kids.iter().map(|k| k.tag).collect::<Vec<_>>(),
            vec![0x5F01, 0x5F36, 0x5C]
        );
        assert_eq!(kids[2].value, &[0x61, 0x75]);
        let h = parse_header(&com[..4]).unwrap();
        assert_eq!(h.total_len(), Some(22));
    }

    #[test]
    fn long_form_and_multibyte_tags() {
        let mut v = vec![0x7F, 0x61, 0x82, 0x01, 0x00];
        v.extend(std::iter::repeat_n(0xAB, 256));
        let t = parse(&v).unwrap();
        assert_eq!(t.tag, 0x7F61);
        assert_eq!(t.value.len(), 256);
        assert_eq!(t.form, LengthForm::Long);
        assert!(t.is_constructed());
        assert_eq!(encode(0x7F61, t.value), v);
    }

    #[test]
    fn non_minimal_length_is_reported() {
        let v = [0x04, 0x82, 0x00, 0x01, 0xAA];
        let t = parse(&v).unwrap();
        assert_eq!(t.form, LengthForm::NonMinimal);
        assert_eq!(t.value, &[0xAA]);
    }

    #[test]
    fn ber_indefinite_sod_style() {
        // 30 80 (04 01 AA) (30 80 04 00 00 00) 00 00
        let v = hex::decode("308004 01AA3080040000000000".replace(' ', "")).unwrap();
        assert!(matches!(parse(&v), Err(TlvError::Indefinite { .. })));
        let t = parse_ber(&v).unwrap();
        assert_eq!(t.form, LengthForm::Indefinite);
        assert_eq!(t.raw.len(), v.len());
        let kids = t.children_ber().read_all().unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(t.header_len(), 2);
    }

    #[test]
    fn truncation_and_garbage() {
        assert!(matches!(parse(&[]), Err(TlvError::Truncated { .. })));
        assert!(matches!(
            parse(&[0x60, 0x05, 0x01]),
            Err(TlvError::Truncated { .. })
        ));
        assert!(matches!(
            parse(&[0x60, 0x85, 0, 0, 0, 0, 1]),
            Err(TlvError::BadLength { .. })
        ));
        assert!(matches!(
            parse(&[0x5F, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            Err(TlvError::TagTooLong { .. })
        ));
        assert!(matches!(
            parse_ber(&[0x30, 0x80, 0x04, 0x00]),
            Err(TlvError::MissingEndOfContents { .. })
        ));
    }

    #[test]
    fn zero_padding_detected() {
        let v = [0x04, 0x01, 0xAA, 0x00, 0x00];
        let mut r = Reader::new(&v);
        r.read().unwrap();
        assert!(r.only_zero_padding_left());
    }

    proptest! {
        #[test]
        fn length_roundtrip(len in 0usize..0x0100_0000) {
            let mut out = Vec::new();
            encode_length(len, &mut out);
            let (parsed, used, form) = parse_length(&out, 0).unwrap();
            prop_assert_eq!(parsed, Some(len));
            prop_assert_eq!(used, out.len());
            prop_assert!(form == LengthForm::Short || form == LengthForm::Long);
        }

        #[test]
        fn tlv_roundtrip(tag in prop_oneof![Just(0x04u32), Just(0x5F1Fu32), Just(0x7F61u32), Just(0x61u32)],
                         value in proptest::collection::vec(any::<u8>(), 0..600)) {
            let enc = encode(tag, &value);
            let t = parse(&enc).unwrap();
            prop_assert_eq!(t.tag, tag);
            prop_assert_eq!(t.value, &value[..]);
            prop_assert_eq!(t.raw, &enc[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_ber(&bytes);
            let _ = Reader::new_ber(&bytes).read_all();
            let _ = parse_header(&bytes);
        }
    }
}

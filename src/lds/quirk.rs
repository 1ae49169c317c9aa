//! Tolerated deviations from Doc 9303 Part 10 (LDS) and X.690 DER, reported as named
//! warnings.
//!
//! STYLE.md: "strict parse first; a tolerated quirk becomes a named warning in the
//! report, never a silent retry". Every LDS decoder returns its quirks in a
//! `quirks: Vec<Quirk>` field of the decoded value. Each quirk has a stable snake_case
//! [`Quirk::name`] (used in JSON output, reports and regression-test names) and a
//! lowercase human message ([`std::fmt::Display`]).
//!
//! Quirks never carry personal data (MRZ characters, names, image bytes): only tags,
//! offsets and counts, so they are safe to log.

use std::fmt;

/// A tolerated deviation found while decoding an LDS file.
///
/// Tags are packed big-endian as in [`crate::tlv::Tlv::tag`] (`0x5F1F`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Quirk {
    /// Zero bytes after the file's outer TLV (chips that return the whole allocated EF).
    TrailingZeroPadding {
        /// How many zero bytes followed the TLV.
        bytes: usize,
    },
    /// Non-zero bytes after the file's outer TLV, ignored.
    TrailingBytes {
        /// How many bytes followed the TLV.
        bytes: usize,
    },
    /// A BER long-form length with more octets than needed (`82 00 10`): not DER.
    NonMinimalLength {
        /// Tag of the element.
        tag: u32,
    },
    /// A BER indefinite length (`80` … `00 00`): not DER.
    IndefiniteLength {
        /// Tag of the element.
        tag: u32,
    },
    /// A data object whose tag the specification does not define here; kept raw.
    UnknownTag {
        /// The tag.
        tag: u32,
    },
    /// A data object present with an empty value.
    EmptyField {
        /// The tag.
        tag: u32,
    },
    /// A data object that should appear once appeared again; the first one is used.
    DuplicateTag {
        /// The tag.
        tag: u32,
    },
    /// The tag list (`5C`) that the specification makes mandatory is absent.
    MissingTagList,
    /// A data object the specification makes mandatory is absent; decoded without it.
    MissingField {
        /// The tag.
        tag: u32,
    },
    /// The tag list (`5C`) does not match the data objects present.
    TagListMismatch {
        /// Tags listed in `5C` but absent.
        listed_absent: Vec<u32>,
        /// Tags present but not listed in `5C`.
        present_unlisted: Vec<u32>,
    },
    /// A date written as packed BCD instead of ASCII digits.
    BcdDate {
        /// Tag of the date.
        tag: u32,
    },
    /// A date or time that is not of the expected form; kept as found.
    MalformedDate {
        /// Tag of the date.
        tag: u32,
    },
    /// A character outside the set the field allows (e.g. not `0-9A-Z<` in an MRZ).
    InvalidCharacter {
        /// Tag of the field.
        tag: u32,
    },
    /// Text that is not valid UTF-8; decoded with replacement characters.
    InvalidUtf8 {
        /// Tag of the text.
        tag: u32,
    },
    /// A count data object (`02`) that disagrees with the number of items found.
    CountMismatch {
        /// Tag of the template holding the count.
        tag: u32,
        /// Count written in the file.
        declared: usize,
        /// Items actually present.
        found: usize,
    },
    /// A data object found outside the template the specification puts it in
    /// (e.g. DG11 `5F0F` other name without its `A0` template).
    MissingTemplate {
        /// The data object.
        tag: u32,
        /// The template it belongs in.
        template: u32,
    },
    /// A template's mandatory count data object (`02`) is absent.
    MissingCount {
        /// Tag of the template.
        tag: u32,
    },
    /// EC domain parameters given explicitly instead of by a named-curve OID.
    ExplicitEcParameters,
    /// An element encoded in BER where DER is required (other than length forms).
    NonDer {
        /// Tag of the element.
        tag: u32,
    },
    /// A quirk defined by a decoder outside this module: a stable snake_case name and
    /// a lowercase message without personal data.
    Other {
        /// Stable snake_case identifier.
        name: &'static str,
        /// Human-readable detail.
        detail: String,
    },
}

impl Quirk {
    /// Stable snake_case identifier of the quirk (JSON, reports, test names).
    pub fn name(&self) -> &'static str {
        match self {
            Quirk::TrailingZeroPadding { .. } => "trailing_zero_padding",
            Quirk::TrailingBytes { .. } => "trailing_bytes",
            Quirk::NonMinimalLength { .. } => "ber_non_minimal_length",
            Quirk::IndefiniteLength { .. } => "ber_indefinite_length",
            Quirk::UnknownTag { .. } => "unknown_tag",
            Quirk::EmptyField { .. } => "empty_field",
            Quirk::DuplicateTag { .. } => "duplicate_tag",
            Quirk::MissingTagList => "missing_tag_list",
            Quirk::MissingField { .. } => "missing_field",
            Quirk::TagListMismatch { .. } => "tag_list_mismatch",
            Quirk::BcdDate { .. } => "bcd_date",
            Quirk::MalformedDate { .. } => "malformed_date",
            Quirk::InvalidCharacter { .. } => "invalid_character",
            Quirk::InvalidUtf8 { .. } => "invalid_utf8",
            Quirk::CountMismatch { .. } => "count_mismatch",
            Quirk::MissingTemplate { .. } => "missing_template",
            Quirk::MissingCount { .. } => "missing_count",
            Quirk::ExplicitEcParameters => "explicit_ec_parameters",
            Quirk::NonDer { .. } => "non_der",
            Quirk::Other { name, .. } => name,
        }
    }
}

fn tags(list: &[u32]) -> String {
    list.iter()
        .map(|t| format!("{t:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quirk::TrailingZeroPadding { bytes } => {
                write!(f, "{bytes} zero byte(s) of padding after the data")
            }
            Quirk::TrailingBytes { bytes } => write!(f, "{bytes} unexpected byte(s) after the data, ignored"),
            Quirk::NonMinimalLength { tag } => {
                write!(f, "tag {tag:02X} uses a non-minimal BER length (not DER)")
            }
            Quirk::IndefiniteLength { tag } => {
                write!(f, "tag {tag:02X} uses a BER indefinite length (not DER)")
            }
            Quirk::UnknownTag { tag } => write!(f, "unknown tag {tag:02X}, kept raw"),
            Quirk::EmptyField { tag } => write!(f, "tag {tag:02X} is present but empty"),
            Quirk::DuplicateTag { tag } => {
                write!(f, "tag {tag:02X} appears more than once; the first is used")
            }
            Quirk::MissingTagList => f.write_str("the mandatory tag list (5C) is absent"),
            Quirk::MissingField { tag } => write!(f, "mandatory tag {tag:02X} is absent"),
            Quirk::TagListMismatch {
                listed_absent,
                present_unlisted,
            } => {
                f.write_str("the tag list (5C) does not match the content")?;
                if !listed_absent.is_empty() {
                    write!(f, "; listed but absent: {}", tags(listed_absent))?;
                }
                if !present_unlisted.is_empty() {
                    write!(f, "; present but not listed: {}", tags(present_unlisted))?;
                }
                Ok(())
            }
            Quirk::BcdDate { tag } => write!(f, "date {tag:02X} is packed BCD instead of ASCII digits"),
            Quirk::MalformedDate { tag } => write!(f, "date {tag:02X} is not of the expected form"),
            Quirk::InvalidCharacter { tag } => {
                write!(f, "field {tag:02X} holds characters outside its character set")
            }
            Quirk::InvalidUtf8 { tag } => {
                write!(
                    f,
                    "text {tag:02X} is not valid UTF-8 (shown with replacement characters)"
                )
            }
            Quirk::CountMismatch { tag, declared, found } => write!(
                f,
                "template {tag:02X} declares {declared} item(s) but holds {found}"
            ),
            Quirk::MissingTemplate { tag, template } => {
                write!(f, "tag {tag:02X} found outside its template {template:02X}")
            }
            Quirk::MissingCount { tag } => write!(f, "template {tag:02X} has no count (02)"),
            Quirk::ExplicitEcParameters => {
                f.write_str("EC domain parameters are explicit instead of a named curve")
            }
            Quirk::NonDer { tag } => write!(f, "tag {tag:02X} is BER-encoded where DER is required"),
            Quirk::Other { detail, .. } => f.write_str(detail),
        }
    }
}

/// Serialised as `{"name": "trailing_zero_padding", "message": "…"}`.
impl serde::Serialize for Quirk {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Quirk", 2)?;
        s.serialize_field("name", self.name())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// Quirks of the length form of one element (non-minimal or indefinite length).
pub fn length_quirk(tlv: &crate::tlv::Tlv<'_>) -> Option<Quirk> {
    use crate::tlv::LengthForm;
    match tlv.form {
        LengthForm::NonMinimal => Some(Quirk::NonMinimalLength { tag: tlv.tag }),
        LengthForm::Indefinite => Some(Quirk::IndefiniteLength { tag: tlv.tag }),
        LengthForm::Short | LengthForm::Long => None,
    }
}

/// The quirk for what follows a file's outer TLV: nothing, zero padding, or other bytes.
pub fn trailing_quirk(rest: &[u8]) -> Option<Quirk> {
    if rest.is_empty() {
        None
    } else if rest.iter().all(|b| *b == 0) {
        Some(Quirk::TrailingZeroPadding { bytes: rest.len() })
    } else {
        Some(Quirk::TrailingBytes { bytes: rest.len() })
    }
}

/// The top-level data objects of a file that is a sequence of them (EF.DIR,
/// EF.ATR/INFO), up to unused space at the end (all 00, reported as padding, or all
/// FF, reported as trailing bytes); their length-form quirks are pushed.
pub fn data_objects<'a>(
    input: &'a [u8],
    file: &'static str,
    quirks: &mut Vec<Quirk>,
) -> Result<Vec<crate::tlv::Tlv<'a>>, super::error::LdsError> {
    let mut out = Vec::new();
    let mut reader = crate::tlv::Reader::new_ber(input);
    while !reader.is_empty() {
        let rest = reader.remaining();
        // unused space of a record or transparent file: all 00 or all FF
        if rest.iter().all(|b| *b == 0) || rest.iter().all(|b| *b == 0xFF) {
            quirks.push(if rest.first() == Some(&0) {
                Quirk::TrailingZeroPadding { bytes: rest.len() }
            } else {
                Quirk::TrailingBytes { bytes: rest.len() }
            });
            break;
        }
        let t = reader.read().map_err(super::error::LdsError::tlv_in(file))?;
        quirks.extend(length_quirk(&t));
        out.push(t);
    }
    Ok(out)
}

/// The element a decoder expects next: present and of this tag.
pub fn expect<'a>(
    t: Option<&crate::tlv::Tlv<'a>>,
    file: &'static str,
    tag: u32,
    what: &'static str,
) -> Result<crate::tlv::Tlv<'a>, super::error::LdsError> {
    use super::error::LdsError;
    let t = t.ok_or(LdsError::Missing { file, what })?;
    LdsError::want_tag(t, tag, file)?;
    Ok(*t)
}

/// The count of a template (`02`, number of instances or images): an unsigned integer
/// of one to eight octets.
pub fn declared_count(
    value: &[u8],
    file: &'static str,
    what: &'static str,
) -> Result<u64, super::error::LdsError> {
    if value.is_empty() || value.len() > 8 {
        return Err(super::error::LdsError::Length {
            file,
            what,
            found: value.len(),
        });
    }
    Ok(value.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
}

/// Open a file's outer TLV: require `tag`, accept BER length forms and trailing bytes,
/// and push the matching quirks. Returns the outer element (its `raw` excludes any
/// trailing bytes).
pub fn open_outer<'a>(
    input: &'a [u8],
    file: &'static str,
    tag: u32,
    quirks: &mut Vec<Quirk>,
) -> Result<crate::tlv::Tlv<'a>, super::error::LdsError> {
    use super::error::LdsError;
    if input.is_empty() {
        return Err(LdsError::Empty { file });
    }
    let outer = crate::tlv::parse_ber(input).map_err(LdsError::tlv_in(file))?;
    LdsError::want_tag(&outer, tag, file)?;
    quirks.extend(length_quirk(&outer));
    quirks.extend(trailing_quirk(input.get(outer.raw.len()..).unwrap_or_default()));
    Ok(outer)
}

/// Serde helper: serialise bytes as an uppercase hex string
/// (`#[serde(serialize_with = "crate::lds::quirk::serialize_hex")]`).
pub fn serialize_hex<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode_upper(bytes))
}

/// Serde helper: serialise a tag list as hex strings (`["5F0E", "5F11"]`).
pub fn serialize_tags<S: serde::Serializer>(tags: &[u32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(tags.iter().map(|t| format!("{t:02X}")))
}

/// Read every child of a constructed element (BER lengths allowed), pushing a quirk
/// for each non-DER length form.
pub fn children<'a>(
    parent: &crate::tlv::Tlv<'a>,
    file: &'static str,
    quirks: &mut Vec<Quirk>,
) -> Result<Vec<crate::tlv::Tlv<'a>>, super::error::LdsError> {
    let kids = parent
        .children_ber()
        .read_all()
        .map_err(super::error::LdsError::tlv_in(file))?;
    quirks.extend(kids.iter().filter_map(length_quirk));
    Ok(kids)
}

/// Split a tag list (the value of `5C`: concatenated BER tags) into tags.
/// `None` when a multi-byte tag is cut off or longer than four bytes.
pub fn parse_tag_list(value: &[u8]) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    let mut it = value.iter().copied();
    while let Some(first) = it.next() {
        let mut tag = u32::from(first);
        if first & 0x1F == 0x1F {
            let mut len = 1;
            loop {
                let b = it.next()?;
                len += 1;
                if len > 4 {
                    return None;
                }
                tag = (tag << 8) | u32::from(b);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        out.push(tag);
    }
    Some(out)
}

/// Encode a tag list (the value of `5C`).
pub fn encode_tag_list(tags: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tags.len() * 2);
    for t in tags {
        crate::tlv::encode_tag(*t, &mut out);
    }
    out
}

/// Compare a tag list with the tags present; a [`Quirk::TagListMismatch`] when they differ.
pub fn tag_list_quirk(listed: &[u32], present: &[u32]) -> Option<Quirk> {
    let listed_absent: Vec<u32> = listed.iter().copied().filter(|t| !present.contains(t)).collect();
    let present_unlisted: Vec<u32> = present.iter().copied().filter(|t| !listed.contains(t)).collect();
    if listed_absent.is_empty() && present_unlisted.is_empty() {
        None
    } else {
        Some(Quirk::TagListMismatch {
            listed_absent,
            present_unlisted,
        })
    }
}

/// A data object kept as found (unknown tags, opaque content).
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct RawDo {
    /// Tag, packed big-endian.
    #[serde(serialize_with = "serialize_tag")]
    pub tag: u32,
    /// Value bytes.
    #[serde(serialize_with = "serialize_hex")]
    pub value: Vec<u8>,
}

/// `Debug` for a type that holds personal data: only the summaries listed are shown
/// (`name: expression` over the value bound to `$v`), then `..`.
macro_rules! summary_debug {
    ($ty:ident, |$v:ident| { $($name:ident: $value:expr),* $(,)? }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let $v = self;
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($name), &$value))*
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use summary_debug;

impl fmt::Debug for RawDo {
    // the value may be personal data: only its size is shown
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawDo {{ tag: {:02X}, len: {} }}", self.tag, self.value.len())
    }
}

impl RawDo {
    /// A data object from a parsed element.
    pub fn from_tlv(tlv: &crate::tlv::Tlv<'_>) -> Self {
        RawDo {
            tag: tlv.tag,
            value: tlv.value.to_vec(),
        }
    }

    /// Append its encoding (minimal length) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        crate::tlv::encode_into(self.tag, &self.value, out);
    }
}

/// Decode a text field (Doc 9303 Part 10: ASCII or UTF-8): invalid UTF-8 is replaced
/// and reported, an empty value is reported.
pub fn decode_text(tag: u32, value: &[u8], quirks: &mut Vec<Quirk>) -> String {
    if value.is_empty() {
        quirks.push(Quirk::EmptyField { tag });
    }
    match std::str::from_utf8(value) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            quirks.push(Quirk::InvalidUtf8 { tag });
            String::from_utf8_lossy(value).into_owned()
        }
    }
}

/// How a date data object was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateEncoding {
    /// ASCII digits (`"20240101"`), as Doc 9303 Part 10 specifies.
    Ascii,
    /// Packed BCD (`20 24 01 01`), seen in some chips.
    Bcd,
    /// Neither; the text shows the bytes as found.
    Unknown,
}

/// A date (`YYYYMMDD`) or date-time (`YYYYMMDDhhmmss`) data object, in either encoding.
/// Its [`fmt::Debug`] output is redacted (a date of birth is personal data).
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct DateField {
    /// The digits (`"19700101"`); for [`DateEncoding::Unknown`] the bytes shown as text.
    pub text: String,
    /// How it was written.
    pub encoding: DateEncoding,
    /// The value bytes exactly as found (re-encoded as is).
    #[serde(skip)]
    pub raw: Vec<u8>,
}

impl fmt::Debug for DateField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DateField {{ encoding: {:?}, len: {} }}",
            self.encoding,
            self.raw.len()
        )
    }
}

impl DateField {
    /// A date written as ASCII digits (what the emulator writes).
    pub fn ascii(digits: &str) -> Self {
        DateField {
            text: digits.to_owned(),
            encoding: DateEncoding::Ascii,
            raw: digits.as_bytes().to_vec(),
        }
    }

    /// Decode a date data object with `tag`; `digits` is the expected number of digits
    /// (8 for dates, 14 for date-times). BCD becomes [`Quirk::BcdDate`], anything else
    /// not of the expected form [`Quirk::MalformedDate`].
    pub fn decode(tag: u32, value: &[u8], digits: usize, quirks: &mut Vec<Quirk>) -> Self {
        let raw = value.to_vec();
        if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
            if value.len() != digits {
                quirks.push(Quirk::MalformedDate { tag });
            }
            let text = value.iter().map(|b| char::from(*b)).collect();
            return DateField {
                text,
                encoding: DateEncoding::Ascii,
                raw,
            };
        }
        let bcd = !value.is_empty() && value.iter().all(|b| b >> 4 <= 9 && b & 0x0F <= 9);
        if bcd {
            quirks.push(Quirk::BcdDate { tag });
            if value.len() * 2 != digits {
                quirks.push(Quirk::MalformedDate { tag });
            }
            let text = value
                .iter()
                .flat_map(|b| [b >> 4, b & 0x0F])
                .map(|d| char::from(b'0' + d))
                .collect();
            return DateField {
                text,
                encoding: DateEncoding::Bcd,
                raw,
            };
        }
        quirks.push(if value.is_empty() {
            Quirk::EmptyField { tag }
        } else {
            Quirk::MalformedDate { tag }
        });
        DateField {
            text: String::from_utf8_lossy(value).into_owned(),
            encoding: DateEncoding::Unknown,
            raw,
        }
    }

    /// `YYYY-MM-DD` (plus ` hh:mm:ss` for date-times) when the digits allow it.
    pub fn iso(&self) -> Option<String> {
        let t = &self.text;
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match t.len() {
            8 => Some(format!("{}-{}-{}", t.get(0..4)?, t.get(4..6)?, t.get(6..8)?)),
            14 => Some(format!(
                "{}-{}-{} {}:{}:{}",
                t.get(0..4)?,
                t.get(4..6)?,
                t.get(6..8)?,
                t.get(8..10)?,
                t.get(10..12)?,
                t.get(12..14)?
            )),
            _ => None,
        }
    }
}

/// Serde helper: serialise one tag as hex (`"5F1F"`).
pub fn serialize_tag<S: serde::Serializer>(tag: &u32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{tag:02X}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable() {
        assert_eq!(
            Quirk::TrailingZeroPadding { bytes: 3 }.name(),
            "trailing_zero_padding"
        );
        assert_eq!(
            Quirk::NonMinimalLength { tag: 0x61 }.name(),
            "ber_non_minimal_length"
        );
        assert_eq!(
            Quirk::Other {
                name: "sod_something",
                detail: "x".into()
            }
            .name(),
            "sod_something"
        );
    }

    #[test]
    fn serialises_name_and_message() {
        let q = Quirk::TagListMismatch {
            listed_absent: vec![0x5F0F],
            present_unlisted: vec![],
        };
        let v = serde_json::to_value(&q).unwrap();
        assert_eq!(v["name"], "tag_list_mismatch");
        assert_eq!(
            v["message"],
            "the tag list (5C) does not match the content; listed but absent: 5F0F"
        );
    }

    #[test]
    fn dates_in_both_encodings() {
        let mut q = Vec::new();
        let d = DateField::decode(0x5F26, b"20240101", 8, &mut q);
        assert_eq!((d.text.as_str(), d.encoding), ("20240101", DateEncoding::Ascii));
        assert!(q.is_empty());
        let d = DateField::decode(0x5F26, &[0x20, 0x24, 0x01, 0x01], 8, &mut q);
        assert_eq!((d.text.as_str(), d.encoding), ("20240101", DateEncoding::Bcd));
        assert_eq!(q, vec![Quirk::BcdDate { tag: 0x5F26 }]);
        assert_eq!(d.iso().as_deref(), Some("2024-01-01"));
        q.clear();
        let d = DateField::decode(0x5F26, b"2024-1", 8, &mut q);
        assert_eq!(d.encoding, DateEncoding::Unknown);
        assert_eq!(q, vec![Quirk::MalformedDate { tag: 0x5F26 }]);
    }

    #[test]
    fn trailing() {
        assert_eq!(trailing_quirk(&[]), None);
        assert_eq!(
            trailing_quirk(&[0, 0]),
            Some(Quirk::TrailingZeroPadding { bytes: 2 })
        );
        assert_eq!(trailing_quirk(&[0, 1]), Some(Quirk::TrailingBytes { bytes: 2 }));
    }
}

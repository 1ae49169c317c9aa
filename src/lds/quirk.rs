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
            Quirk::TagListMismatch { .. } => "tag_list_mismatch",
            Quirk::BcdDate { .. } => "bcd_date",
            Quirk::MalformedDate { .. } => "malformed_date",
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
    if outer.tag != tag {
        return Err(LdsError::UnexpectedTag {
            file,
            expected: tag,
            found: outer.tag,
        });
    }
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
    fn trailing() {
        assert_eq!(trailing_quirk(&[]), None);
        assert_eq!(
            trailing_quirk(&[0, 0]),
            Some(Quirk::TrailingZeroPadding { bytes: 2 })
        );
        assert_eq!(trailing_quirk(&[0, 1]), Some(Quirk::TrailingBytes { bytes: 2 }));
    }
}

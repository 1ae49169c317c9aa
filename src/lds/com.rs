//! EF.COM (Doc 9303 Part 10 §4.6.1): LDS version, Unicode version and the list of data
//! groups present.
//!
//! ```text
//! 60 L
//!    5F01 04  "aabb"      LDS version aa, update level bb ("0107" = LDS 1.7)
//!    5F36 06  "aabbcc"    Unicode version aa.bb.cc ("040000" = 4.0.0)
//!    5C   L   tag list    one byte per data group tag (61 = DG1, 75 = DG2, …)
//! ```

use std::fmt;

use super::LdsFile;
use super::error::LdsError;
use super::quirk::{self, Quirk, RawDo};
use super::view::Node;

const FILE: &str = "EF.COM";
const TAG: u32 = 0x60;
const TAG_LDS_VERSION: u32 = 0x5F01;
const TAG_UNICODE_VERSION: u32 = 0x5F36;
const TAG_LIST: u32 = 0x5C;

/// A version written as pairs of ASCII digits (`"0107"`, `"040000"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The digits as found.
    pub raw: String,
}

impl Version {
    /// From the digits (`"0107"`).
    pub fn new(raw: &str) -> Self {
        Version { raw: raw.to_owned() }
    }

    /// The numbers of each digit pair (`"0107"` → `[1, 7]`), if all are digits.
    pub fn numbers(&self) -> Option<Vec<u8>> {
        let b = self.raw.as_bytes();
        if b.is_empty() || !b.len().is_multiple_of(2) || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            b.chunks_exact(2)
                .map(|c| c.iter().fold(0u8, |acc, d| acc * 10 + (d - b'0')))
                .collect(),
        )
    }
}

impl fmt::Display for Version {
    /// `1.7`, `4.0.0`; the raw text when it is not digit pairs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.numbers() {
            Some(n) => {
                let parts: Vec<String> = n.iter().map(u8::to_string).collect();
                f.write_str(&parts.join("."))
            }
            None => f.write_str(&self.raw),
        }
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Version", 2)?;
        st.serialize_field("raw", &self.raw)?;
        st.serialize_field("version", &self.to_string())?;
        st.end()
    }
}

/// The data groups EF.COM's tag list names, in its order (empty when EF.COM does not
/// decode): which files to read, and what `pa.com_consistency` compares with EF.SOD.
pub fn data_groups(raw: &[u8]) -> Vec<LdsFile> {
    Com::decode(raw).map(|c| c.files()).unwrap_or_default()
}

/// Decoded EF.COM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Com {
    /// LDS version (`5F01`), e.g. 1.7.
    pub lds_version: Option<Version>,
    /// Unicode version (`5F36`), e.g. 4.0.0.
    pub unicode_version: Option<Version>,
    /// The tag list (`5C`) as found: one byte per data group.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub tag_list: Vec<u8>,
    /// Data objects of unknown tags, kept raw.
    pub unknown: Vec<RawDo>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
    /// The file's bytes as decoded (including any trailing padding).
    #[serde(skip)]
    pub raw: Vec<u8>,
}

impl Com {
    /// An EF.COM for LDS 1.7 / Unicode 4.0.0 listing `files` (data groups only).
    pub fn new(files: &[LdsFile]) -> Self {
        Com {
            lds_version: Some(Version::new("0107")),
            unicode_version: Some(Version::new("040000")),
            tag_list: files
                .iter()
                .filter_map(|f| f.tag())
                .filter_map(|t| u8::try_from(t).ok())
                .filter(|t| LdsFile::from_com_tag(*t).is_some())
                .collect(),
            unknown: Vec::new(),
            quirks: Vec::new(),
            raw: Vec::new(),
        }
    }

    /// Decode EF.COM. The tag list is mandatory; missing or malformed versions, unknown
    /// tags and unknown entries in the tag list are reported as quirks.
    pub fn decode(input: &[u8]) -> Result<Com, LdsError> {
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, FILE, TAG, &mut quirks)?;
        let mut com = Com {
            lds_version: None,
            unicode_version: None,
            tag_list: Vec::new(),
            unknown: Vec::new(),
            quirks: Vec::new(),
            raw: input.to_vec(),
        };
        let mut seen_list = false;
        for kid in quirk::children(&outer, FILE, &mut quirks)? {
            match kid.tag {
                TAG_LDS_VERSION | TAG_UNICODE_VERSION => {
                    let text = quirk::decode_text(kid.tag, kid.value, &mut quirks);
                    let slot = if kid.tag == TAG_LDS_VERSION {
                        &mut com.lds_version
                    } else {
                        &mut com.unicode_version
                    };
                    if slot.is_some() {
                        quirks.push(Quirk::DuplicateTag { tag: kid.tag });
                        continue;
                    }
                    let v = Version { raw: text };
                    let want = if kid.tag == TAG_LDS_VERSION { 4 } else { 6 };
                    if v.numbers().is_none() || v.raw.len() != want {
                        quirks.push(Quirk::Other {
                            name: "malformed_version",
                            detail: format!(
                                "version {:02X} is not {want} ASCII digits; kept as found",
                                kid.tag
                            ),
                        });
                    }
                    *slot = Some(v);
                }
                TAG_LIST => {
                    if seen_list {
                        quirks.push(Quirk::DuplicateTag { tag: kid.tag });
                        continue;
                    }
                    seen_list = true;
                    com.tag_list = kid.value.to_vec();
                }
                _ => {
                    quirks.push(Quirk::UnknownTag { tag: kid.tag });
                    com.unknown.push(RawDo::from_tlv(&kid));
                }
            }
        }
        if !seen_list {
            return Err(LdsError::Missing {
                file: FILE,
                what: "tag list (5C)",
            });
        }
        if com.tag_list.is_empty() {
            quirks.push(Quirk::EmptyField { tag: TAG_LIST });
        }
        if com.lds_version.is_none() {
            quirks.push(Quirk::MissingField { tag: TAG_LDS_VERSION });
        }
        if com.unicode_version.is_none() {
            quirks.push(Quirk::MissingField {
                tag: TAG_UNICODE_VERSION,
            });
        }
        for t in &com.tag_list {
            if LdsFile::from_com_tag(*t).is_none() {
                quirks.push(Quirk::UnknownTag { tag: u32::from(*t) });
            }
        }
        com.quirks = quirks;
        Ok(com)
    }

    /// The data groups the tag list names, in its order (unknown tags skipped).
    pub fn files(&self) -> Vec<LdsFile> {
        self.tag_list
            .iter()
            .filter_map(|t| LdsFile::from_com_tag(*t))
            .collect()
    }

    /// Encode (DER lengths; the fields present, then unknown data objects).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        if let Some(v) = &self.lds_version {
            crate::tlv::encode_into(TAG_LDS_VERSION, v.raw.as_bytes(), &mut body);
        }
        if let Some(v) = &self.unicode_version {
            crate::tlv::encode_into(TAG_UNICODE_VERSION, v.raw.as_bytes(), &mut body);
        }
        crate::tlv::encode_into(TAG_LIST, &self.tag_list, &mut body);
        for u in &self.unknown {
            u.encode_into(&mut body);
        }
        crate::tlv::encode(TAG, &body)
    }
}

impl Com {
    /// The lines `inspect` shows.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = Vec::new();
        if let Some(v) = &self.lds_version {
            n.push(Node::field("LDS version", format!("{v} ({})", v.raw)));
        }
        if let Some(v) = &self.unicode_version {
            n.push(Node::field("Unicode version", format!("{v} ({})", v.raw)));
        }
        n.push(Node::field("tag list", hex::encode_upper(&self.tag_list)));
        let files: Vec<String> = self.files().iter().map(|f| f.name()).collect();
        n.push(Node::field("data groups", files.join(", ")));
        n
    }
}

super::group::data_group!(Com);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc9303_part10_sample() {
        let b = hex::decode("60145F0104303130365F36063034303030305C026175").unwrap();
        let c = Com::decode(&b).unwrap();
        assert_eq!(c.lds_version.as_ref().unwrap().to_string(), "1.6");
        assert_eq!(c.unicode_version.as_ref().unwrap().to_string(), "4.0.0");
        assert_eq!(c.files(), vec![LdsFile::Dg(1), LdsFile::Dg(2)]);
        assert!(c.quirks.is_empty());
        assert_eq!(c.encode(), b);
    }

    #[test]
    fn trailing_zero_padding() {
        let b = hex::decode("60145F0104303130365F36063034303030305C0261750000").unwrap();
        let c = Com::decode(&b).unwrap();
        assert_eq!(c.quirks, vec![Quirk::TrailingZeroPadding { bytes: 2 }]);
        assert_eq!(c.raw, b);
    }

    #[test]
    fn ber_non_minimal_length() {
        let b = hex::decode("6081145F0104303130365F36063034303030305C026175").unwrap();
        let c = Com::decode(&b).unwrap();
        assert_eq!(c.quirks, vec![Quirk::NonMinimalLength { tag: 0x60 }]);
    }

    #[test]
    fn malformed_version_is_kept_and_reported() {
        let b = hex::decode("600A5F0103312E375C026175").unwrap();
        let c = Com::decode(&b).unwrap();
        assert_eq!(c.lds_version.as_ref().unwrap().to_string(), "1.7");
        let names: Vec<&str> = c.quirks.iter().map(Quirk::name).collect();
        assert_eq!(names, vec!["malformed_version", "missing_field"]);
        assert_eq!(c.encode(), b);
    }

    #[test]
    fn missing_tag_list_is_an_error() {
        let b = hex::decode("60075F010430313037").unwrap();
        assert!(matches!(
            Com::decode(&b),
            Err(LdsError::Missing { file: "EF.COM", .. })
        ));
        assert!(matches!(
            Com::decode(&hex::decode("6103010203").unwrap()),
            Err(LdsError::UnexpectedTag { found: 0x61, .. })
        ));
    }

    #[test]
    fn new_lists_data_groups_only() {
        let c = Com::new(&[LdsFile::Sod, LdsFile::Dg(1), LdsFile::Dg(2), LdsFile::Dg(15)]);
        assert_eq!(c.tag_list, vec![0x61, 0x75, 0x6F]);
        assert_eq!(Com::decode(&c.encode()).unwrap().files(), c.files());
    }
}

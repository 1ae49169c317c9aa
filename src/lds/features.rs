//! EF.DG8, EF.DG9 and EF.DG10, the encoded security features of the document: data
//! feature(s) (tag 68), structure feature(s) (69) and substance feature(s) (6A),
//! Doc 9303 Part 10 §4.7.8–4.7.10.
//!
//! ```text
//! 68|69|6A L  <content the issuing state defines>
//! ```
//!
//! Doc 9303 names these data groups and gives their tags; it defines no data objects
//! inside them. So nothing inside is interpreted here: the decoder checks the outer
//! template and lists the data objects an issuer put in it (tag, size, SHA-256), or
//! keeps the bytes as they are when they are not BER-TLV. A forensic lab sees what is
//! there and can compare it between documents without a guess at its meaning.
use super::group::DataGroup;
use super::quirk::{self, Quirk};
use super::view::{self, Node};
use super::{LdsError, LdsFile};

/// Which security feature group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// DG8, data feature(s), tag 68.
    Data,
    /// DG9, structure feature(s), tag 69.
    Structure,
    /// DG10, substance feature(s), tag 6A.
    Substance,
}

impl Feature {
    /// The feature group a data group holds (DG8, DG9, DG10).
    pub fn of(file: LdsFile) -> Option<Feature> {
        Some(match file {
            LdsFile::Dg(8) => Feature::Data,
            LdsFile::Dg(9) => Feature::Structure,
            LdsFile::Dg(10) => Feature::Substance,
            _ => return None,
        })
    }

    /// Its data group number.
    pub fn data_group(self) -> u8 {
        match self {
            Feature::Data => 8,
            Feature::Structure => 9,
            Feature::Substance => 10,
        }
    }

    fn file(self) -> &'static str {
        match self {
            Feature::Data => "DG8",
            Feature::Structure => "DG9",
            Feature::Substance => "DG10",
        }
    }

    /// The Doc 9303 name: `data feature(s)`, `structure feature(s)`, `substance feature(s)`.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Data => "data feature(s)",
            Feature::Structure => "structure feature(s)",
            Feature::Substance => "substance feature(s)",
        }
    }
}

/// A data object found inside the template, described without its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeatureObject {
    /// Tag, hex (`5F40`).
    pub tag: String,
    /// Offset of the value in the file.
    pub offset: usize,
    /// Number of value bytes.
    pub length: usize,
    /// SHA-256 of the value, hex.
    pub sha256: String,
}

/// A decoded DG8, DG9 or DG10.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecurityFeatures {
    /// Which group.
    pub feature: Feature,
    /// The value of the outer template, as stored.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub content: Vec<u8>,
    /// The top-level data objects of the content; `None` when the content is not a
    /// sequence of BER-TLV data objects.
    pub objects: Option<Vec<FeatureObject>>,
    /// Tolerated deviations (length forms, bytes after the template).
    pub quirks: Vec<Quirk>,
    /// The file's bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

// the content may be personal data: only its size is shown
quirk::summary_debug!(SecurityFeatures, |d| {
    feature: d.feature,
    content_len: d.content.len(),
    objects: d.objects.as_ref().map(Vec::len),
    quirks: d.quirks,
});

impl SecurityFeatures {
    /// Decode a DG8, DG9 or DG10: the outer template is checked, its content kept.
    pub fn decode(input: &[u8], feature: Feature) -> Result<SecurityFeatures, LdsError> {
        let file = feature.file();
        let mut quirks = Vec::new();
        let tag = LdsFile::Dg(feature.data_group()).tag().unwrap_or_default();
        let outer = quirk::open_outer(input, file, tag, &mut quirks)?;
        let objects = match outer.children_ber().read_all() {
            Ok(kids) if !outer.value.is_empty() => {
                quirks.extend(kids.iter().filter_map(quirk::length_quirk));
                Some(
                    kids.iter()
                        .map(|k| FeatureObject {
                            tag: format!("{:02X}", k.tag),
                            offset: super::biometric::offset_in(input, k.value),
                            length: k.value.len(),
                            sha256: crate::crypto::sha256_hex(k.value),
                        })
                        .collect(),
                )
            }
            _ => None,
        };
        Ok(SecurityFeatures {
            feature,
            content: outer.value.to_vec(),
            objects,
            quirks,
            raw: input.to_vec(),
        })
    }
}

impl SecurityFeatures {
    /// The content as read in the group's outer template (DER length).
    pub fn encode(&self) -> Vec<u8> {
        let tag = LdsFile::Dg(self.feature.data_group()).tag().unwrap_or_default();
        crate::tlv::encode(tag, &self.content)
    }
}

impl DataGroup for SecurityFeatures {
    fn decode_file(file: LdsFile, bytes: &[u8]) -> Result<Self, LdsError> {
        SecurityFeatures::decode(bytes, Feature::of(file).unwrap_or(Feature::Data))
    }
    fn encode(&self) -> Result<Vec<u8>, LdsError> {
        Ok(SecurityFeatures::encode(self))
    }
    fn quirks(&self) -> std::borrow::Cow<'_, [Quirk]> {
        std::borrow::Cow::Borrowed(&self.quirks)
    }
    fn view(&self) -> Vec<Node> {
        let mut n = vec![
            Node::field("feature", self.feature.name()),
            Node::field("content", view::bytes_summary(&self.content)),
        ];
        match &self.objects {
            Some(objects) => n.push(
                Node::field("data objects", objects.len()).with(
                    objects
                        .iter()
                        .map(|o| {
                            Node::field(
                                &o.tag,
                                format!("{} bytes at offset {}, sha256 {}", o.length, o.offset, o.sha256),
                            )
                        })
                        .collect(),
                ),
            ),
            None if self.content.is_empty() => {}
            None => n.push(Node::field("data objects", "none (the content is not BER-TLV)")),
        }
        n
    }
    fn json(&self) -> impl serde::Serialize + '_ {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::group::Decoded;

    #[test]
    fn the_template_is_checked_and_its_objects_listed() {
        let dg9 = [0x69, 0x07, 0x04, 0x01, 0x41, 0x5F, 0x40, 0x01, 0x42];
        let d = SecurityFeatures::decode(&dg9, Feature::Structure).unwrap();
        assert_eq!(d.content, dg9[2..]);
        let objects = d.objects.as_ref().unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].tag, "04");
        assert_eq!((objects[0].offset, objects[0].length), (4, 1));
        assert_eq!(objects[1].tag, "5F40");
        assert_eq!(objects[1].offset, 8);
        assert!(d.quirks.is_empty());
        let lines: Vec<String> = d.view().iter().map(|n| n.text.clone()).collect();
        assert_eq!(lines[0], "feature: structure feature(s)");
        assert_eq!(lines[2], "data objects: 2");
        // never the values in Debug
        assert!(!format!("{d:?}").contains("41"));
    }

    #[test]
    fn content_that_is_not_tlv_is_kept_as_bytes() {
        let dg8 = [0x68, 0x03, 0xFF, 0xFF, 0xFF];
        let d = SecurityFeatures::decode(&dg8, Feature::Data).unwrap();
        assert_eq!(d.objects, None);
        assert_eq!(d.content, [0xFF; 3]);
        assert!(d.view().iter().any(|n| n.text.contains("not BER-TLV")));
    }

    #[test]
    fn a_wrong_tag_or_broken_length_is_an_error_and_padding_a_quirk() {
        assert!(SecurityFeatures::decode(&[0x69, 0x00], Feature::Data).is_err());
        assert!(SecurityFeatures::decode(&[0x6A, 0x05, 0x01], Feature::Substance).is_err());
        assert!(SecurityFeatures::decode(&[], Feature::Substance).is_err());
        let padded = SecurityFeatures::decode(&[0x6A, 0x00, 0x00, 0x00], Feature::Substance).unwrap();
        assert_eq!(padded.quirks.len(), 1);
        assert_eq!(padded.encode(), [0x6A, 0x00]);
    }

    #[test]
    fn the_registry_decodes_dg8_to_dg10() {
        for (n, feature) in [
            (8, Feature::Data),
            (9, Feature::Structure),
            (10, Feature::Substance),
        ] {
            let file = LdsFile::Dg(n);
            let bytes = crate::tlv::encode(file.tag().unwrap_or_default(), &[0x80, 0x01, 0x00]);
            let Some(Ok(Decoded::SecurityFeatures(d))) = Decoded::decode(file, &bytes) else {
                panic!("{file} does not decode through the registry");
            };
            assert_eq!(d.feature, feature);
            assert_eq!(Feature::of(file), Some(feature));
            assert_eq!(feature.data_group(), n);
            assert_eq!(d.encode(), bytes);
        }
    }
}

//! EF.DIR (Doc 9303 Part 10 §3.11.1 and Table 31; ISO/IEC 7816-4 §8.2.1.1): the list of
//! applications on the chip, one application template `61` per application, each with
//! its AID in `4F`.
//!
//! ```text
//! 61 09 4F 07 A0 00 00 02 47 10 01     eMRTD LDS1 application
//! 61 09 4F 07 A0 00 00 02 47 20 01     travel records (LDS2)
//! …
//! ```

use super::error::LdsError;
use super::quirk::{self, Quirk, RawDo};
use super::view::{self, Node};

const FILE: &str = "EF.DIR";
const TAG_APPLICATION: u32 = 0x61;
const TAG_AID: u32 = 0x4F;
const TAG_LABEL: u32 = 0x50;

/// One application template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DirApplication {
    /// Application identifier (`4F`).
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub aid: Vec<u8>,
    /// Application label (`50`), when present.
    pub label: Option<String>,
    /// Other data objects of the template, kept raw.
    pub other: Vec<RawDo>,
}

impl DirApplication {
    /// The Doc 9303 name of the application, for the AIDs Part 10 assigns.
    pub fn name(&self) -> Option<&'static str> {
        aid_name(&self.aid)
    }
}

/// Names of the AIDs Doc 9303 Part 10 assigns (LDS1 and the LDS2 applications).
pub fn aid_name(aid: &[u8]) -> Option<&'static str> {
    Some(match aid {
        [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01] => "eMRTD (LDS1)",
        [0xA0, 0x00, 0x00, 0x02, 0x47, 0x20, 0x01] => "travel records (LDS2)",
        [0xA0, 0x00, 0x00, 0x02, 0x47, 0x20, 0x02] => "visa records (LDS2)",
        [0xA0, 0x00, 0x00, 0x02, 0x47, 0x20, 0x03] => "additional biometrics (LDS2)",
        _ => return None,
    })
}

/// Decoded EF.DIR.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dir {
    /// The application templates in file order.
    pub applications: Vec<DirApplication>,
    /// Top-level data objects other than `61`, kept raw.
    pub unknown: Vec<RawDo>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
    /// The file's bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

impl Dir {
    /// Decode EF.DIR: concatenated application templates; trailing `00`/`FF` padding is
    /// reported.
    pub fn decode(input: &[u8]) -> Result<Dir, LdsError> {
        if input.is_empty() {
            return Err(LdsError::Empty { file: FILE });
        }
        let mut quirks = Vec::new();
        let mut applications = Vec::new();
        let mut unknown = Vec::new();
        for t in quirk::data_objects(input, FILE, &mut quirks)? {
            if t.tag != TAG_APPLICATION {
                quirks.push(Quirk::UnknownTag { tag: t.tag });
                unknown.push(RawDo::from_tlv(&t));
                continue;
            }
            let mut aid = None;
            let mut label = None;
            let mut other = Vec::new();
            for kid in quirk::children(&t, FILE, &mut quirks)? {
                match kid.tag {
                    TAG_AID if aid.is_none() => aid = Some(kid.value.to_vec()),
                    TAG_LABEL if label.is_none() => {
                        label = Some(quirk::decode_text(kid.tag, kid.value, &mut quirks))
                    }
                    TAG_AID | TAG_LABEL => quirks.push(Quirk::DuplicateTag { tag: kid.tag }),
                    _ => other.push(RawDo::from_tlv(&kid)),
                }
            }
            let aid = aid.ok_or(LdsError::Missing {
                file: FILE,
                what: "application identifier (4F)",
            })?;
            if !(5..=16).contains(&aid.len()) {
                return Err(LdsError::Length {
                    file: FILE,
                    what: "application identifier (4F)",
                    found: aid.len(),
                });
            }
            applications.push(DirApplication { aid, label, other });
        }
        if applications.is_empty() {
            return Err(LdsError::Missing {
                file: FILE,
                what: "application template (61)",
            });
        }
        Ok(Dir {
            applications,
            unknown,
            quirks,
            raw: input.to_vec(),
        })
    }

    /// Encode: the application templates (`4F`, `50`, then the template's other data
    /// objects), then the unknown data objects; DER lengths, no padding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for a in &self.applications {
            let mut t = Vec::new();
            crate::tlv::encode_into(TAG_AID, &a.aid, &mut t);
            if let Some(l) = &a.label {
                crate::tlv::encode_into(TAG_LABEL, l.as_bytes(), &mut t);
            }
            for o in &a.other {
                o.encode_into(&mut t);
            }
            crate::tlv::encode_into(TAG_APPLICATION, &t, &mut out);
        }
        for o in &self.unknown {
            o.encode_into(&mut out);
        }
        out
    }

    /// The AIDs in file order.
    pub fn aids(&self) -> Vec<&[u8]> {
        self.applications.iter().map(|a| a.aid.as_slice()).collect()
    }
}

impl Dir {
    /// The lines `inspect` shows.
    pub fn nodes(&self) -> Vec<Node> {
        self.applications
            .iter()
            .map(|a| {
                let mut kids = Vec::new();
                if let Some(name) = a.name() {
                    kids.push(Node::field("application", name));
                }
                if let Some(l) = &a.label {
                    kids.push(Node::field("label", l));
                }
                kids.extend(a.other.iter().map(|o| view::unknown(o.tag, &o.value)));
                Node::field("AID", hex::encode_upper(&a.aid)).with(kids)
            })
            .collect()
    }
}

super::group::data_group!(Dir);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aid_names_and_padding() {
        let b = hex::decode("61094F07A00000024710010000").unwrap();
        let d = Dir::decode(&b).unwrap();
        assert_eq!(d.applications.len(), 1);
        assert_eq!(d.applications[0].name(), Some("eMRTD (LDS1)"));
        assert_eq!(d.quirks, vec![Quirk::TrailingZeroPadding { bytes: 2 }]);
        assert_eq!(d.encode(), b[..b.len() - 2]);
    }

    #[test]
    fn label_other_objects_and_unknown_templates_encode_back() {
        let b = hex::decode("61114F07A0000002471001500341424351010073020102").unwrap();
        let d = Dir::decode(&b).unwrap();
        assert_eq!(d.applications[0].label.as_deref(), Some("ABC"));
        assert_eq!((d.applications[0].other.len(), d.unknown.len()), (1, 1));
        assert_eq!(d.encode(), b);
    }

    #[test]
    fn template_without_aid_is_an_error() {
        let b = hex::decode("6103500141").unwrap();
        assert!(matches!(Dir::decode(&b), Err(LdsError::Missing { .. })));
        assert!(matches!(Dir::decode(&[0xFF; 4]), Err(LdsError::Missing { .. })));
    }
}

//! EF.DG12 additional document details (Doc 9303 Part 10 §4.7.12).
//!
//! ```text
//! 6C L
//!    5C   tag list of the data objects present
//!    5F19 issuing authority             5F26 date of issue YYYYMMDD
//!    A0   { 02 number of other persons, 5F1A name of other person … }
//!    5F1B endorsements / observations   5F1C tax / exit requirements
//!    5F1D image of front of document    5F1E image of rear of document
//!    5F55 date and time of personalisation YYYYMMDDhhmmss
//!    5F56 serial number of the personalisation system
//! ```
//!
//! Dates are ASCII digits per Doc 9303; some chips write packed BCD (4 or 7 bytes):
//! both are read, the encoding is kept in [`DateField::encoding`] and BCD is reported
//! as [`Quirk::BcdDate`].

use std::fmt;

use super::dg11::{
    check_tag_list, encode_counted_template, read_counted_template, read_tag_list, serialize_opt_hex,
    serialize_opt_tags,
};
use super::error::LdsError;
use super::quirk::{self, DateField, Quirk, RawDo};

const FILE: &str = "DG12";
const TAG: u32 = 0x6C;
const TAG_LIST: u32 = 0x5C;
const TAG_ISSUING_AUTHORITY: u32 = 0x5F19;
const TAG_DATE_OF_ISSUE: u32 = 0x5F26;
const TAG_OTHER_PERSONS: u32 = 0xA0;
const TAG_OTHER_PERSON: u32 = 0x5F1A;
const TAG_ENDORSEMENTS: u32 = 0x5F1B;
const TAG_TAX_EXIT: u32 = 0x5F1C;
const TAG_FRONT_IMAGE: u32 = 0x5F1D;
const TAG_REAR_IMAGE: u32 = 0x5F1E;
const TAG_PERSONALISATION_TIME: u32 = 0x5F55;
const TAG_PERSONALISATION_SERIAL: u32 = 0x5F56;

/// Decoded EF.DG12.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dg12 {
    /// The tag list (`5C`) as found; `None` when absent.
    #[serde(serialize_with = "serialize_opt_tags")]
    pub tag_list: Option<Vec<u32>>,
    /// Issuing authority (`5F19`).
    pub issuing_authority: Option<String>,
    /// Date of issue (`5F26`), ASCII or BCD.
    pub date_of_issue: Option<DateField>,
    /// Names of other persons (`5F1A` in `A0`).
    pub other_persons: Vec<String>,
    /// Endorsements and observations (`5F1B`).
    pub endorsements: Option<String>,
    /// Tax / exit requirements (`5F1C`).
    pub tax_exit_requirements: Option<String>,
    /// Image of the front of the document (`5F1D`).
    #[serde(serialize_with = "serialize_opt_hex")]
    pub front_image: Option<Vec<u8>>,
    /// Image of the rear of the document (`5F1E`).
    #[serde(serialize_with = "serialize_opt_hex")]
    pub rear_image: Option<Vec<u8>>,
    /// Date and time of personalisation (`5F55`), ASCII or BCD.
    pub personalisation_time: Option<DateField>,
    /// Serial number of the personalisation system (`5F56`).
    pub personalisation_device_serial: Option<String>,
    /// Data objects of unknown tags, kept raw.
    pub unknown: Vec<RawDo>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
    /// The file's bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

impl fmt::Debug for Dg12 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present: Vec<String> = self.present_tags().iter().map(|t| format!("{t:02X}")).collect();
        f.debug_struct("Dg12")
            .field("present", &present)
            .field("quirks", &self.quirks)
            .finish_non_exhaustive()
    }
}

fn set_text(slot: &mut Option<String>, tag: u32, value: &[u8], quirks: &mut Vec<Quirk>) {
    if slot.is_some() {
        quirks.push(Quirk::DuplicateTag { tag });
    } else {
        *slot = Some(quirk::decode_text(tag, value, quirks));
    }
}

fn set_bytes(slot: &mut Option<Vec<u8>>, tag: u32, value: &[u8], quirks: &mut Vec<Quirk>) {
    if slot.is_some() {
        quirks.push(Quirk::DuplicateTag { tag });
    } else {
        if value.is_empty() {
            quirks.push(Quirk::EmptyField { tag });
        }
        *slot = Some(value.to_vec());
    }
}

fn set_date(slot: &mut Option<DateField>, tag: u32, value: &[u8], digits: usize, quirks: &mut Vec<Quirk>) {
    if slot.is_some() {
        quirks.push(Quirk::DuplicateTag { tag });
    } else {
        *slot = Some(DateField::decode(tag, value, digits, quirks));
    }
}

impl Dg12 {
    /// Decode EF.DG12.
    pub fn decode(input: &[u8]) -> Result<Dg12, LdsError> {
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, FILE, TAG, &mut quirks)?;
        let mut d = Dg12 {
            raw: input.to_vec(),
            ..Dg12::default()
        };
        let mut seen_other_persons = false;
        for kid in quirk::children(&outer, FILE, &mut quirks)? {
            let (tag, v) = (kid.tag, kid.value);
            match tag {
                TAG_LIST => read_tag_list(&mut d.tag_list, v, FILE, &mut quirks)?,
                TAG_ISSUING_AUTHORITY => set_text(&mut d.issuing_authority, tag, v, &mut quirks),
                TAG_DATE_OF_ISSUE => set_date(&mut d.date_of_issue, tag, v, 8, &mut quirks),
                TAG_OTHER_PERSONS => {
                    seen_other_persons = true;
                    read_counted_template(&kid, TAG_OTHER_PERSON, FILE, &mut d.other_persons, &mut quirks)?;
                }
                TAG_OTHER_PERSON => {
                    quirks.push(Quirk::MissingTemplate {
                        tag,
                        template: TAG_OTHER_PERSONS,
                    });
                    seen_other_persons = true;
                    d.other_persons.push(quirk::decode_text(tag, v, &mut quirks));
                }
                TAG_ENDORSEMENTS => set_text(&mut d.endorsements, tag, v, &mut quirks),
                TAG_TAX_EXIT => set_text(&mut d.tax_exit_requirements, tag, v, &mut quirks),
                TAG_FRONT_IMAGE => set_bytes(&mut d.front_image, tag, v, &mut quirks),
                TAG_REAR_IMAGE => set_bytes(&mut d.rear_image, tag, v, &mut quirks),
                TAG_PERSONALISATION_TIME => set_date(&mut d.personalisation_time, tag, v, 14, &mut quirks),
                TAG_PERSONALISATION_SERIAL => {
                    set_text(&mut d.personalisation_device_serial, tag, v, &mut quirks)
                }
                _ => {
                    quirks.push(Quirk::UnknownTag { tag });
                    d.unknown.push(RawDo::from_tlv(&kid));
                }
            }
        }
        let mut present = d.present_tags();
        if seen_other_persons && !present.contains(&TAG_OTHER_PERSON) {
            present.push(TAG_OTHER_PERSON);
        }
        check_tag_list(
            d.tag_list.as_ref(),
            &present,
            TAG_OTHER_PERSONS,
            TAG_OTHER_PERSON,
            &mut quirks,
        );
        d.quirks = quirks;
        Ok(d)
    }

    /// The tags of the fields present, in Doc 9303 order (other persons as `5F1A`).
    pub fn present_tags(&self) -> Vec<u32> {
        let mut t = Vec::new();
        let mut add = |present: bool, tag: u32| {
            if present {
                t.push(tag);
            }
        };
        add(self.issuing_authority.is_some(), TAG_ISSUING_AUTHORITY);
        add(self.date_of_issue.is_some(), TAG_DATE_OF_ISSUE);
        add(!self.other_persons.is_empty(), TAG_OTHER_PERSON);
        add(self.endorsements.is_some(), TAG_ENDORSEMENTS);
        add(self.tax_exit_requirements.is_some(), TAG_TAX_EXIT);
        add(self.front_image.is_some(), TAG_FRONT_IMAGE);
        add(self.rear_image.is_some(), TAG_REAR_IMAGE);
        add(self.personalisation_time.is_some(), TAG_PERSONALISATION_TIME);
        add(
            self.personalisation_device_serial.is_some(),
            TAG_PERSONALISATION_SERIAL,
        );
        t
    }

    /// Set the tag list to the fields present.
    pub fn update_tag_list(&mut self) {
        self.tag_list = Some(self.present_tags());
    }

    /// Encode: the tag list as stored (if any), the fields in Doc 9303 order, then
    /// unknown data objects. Dates are written in the encoding they were read in.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        let text = |tag: u32, v: &Option<String>, b: &mut Vec<u8>| {
            if let Some(s) = v {
                crate::tlv::encode_into(tag, s.as_bytes(), b);
            }
        };
        let bytes = |tag: u32, v: &Option<Vec<u8>>, b: &mut Vec<u8>| {
            if let Some(s) = v {
                crate::tlv::encode_into(tag, s, b);
            }
        };
        if let Some(list) = &self.tag_list {
            crate::tlv::encode_into(TAG_LIST, &quirk::encode_tag_list(list), &mut b);
        }
        text(TAG_ISSUING_AUTHORITY, &self.issuing_authority, &mut b);
        if let Some(d) = &self.date_of_issue {
            crate::tlv::encode_into(TAG_DATE_OF_ISSUE, &d.raw, &mut b);
        }
        if !self.other_persons.is_empty() {
            encode_counted_template(TAG_OTHER_PERSONS, TAG_OTHER_PERSON, &self.other_persons, &mut b);
        }
        text(TAG_ENDORSEMENTS, &self.endorsements, &mut b);
        text(TAG_TAX_EXIT, &self.tax_exit_requirements, &mut b);
        bytes(TAG_FRONT_IMAGE, &self.front_image, &mut b);
        bytes(TAG_REAR_IMAGE, &self.rear_image, &mut b);
        if let Some(d) = &self.personalisation_time {
            crate::tlv::encode_into(TAG_PERSONALISATION_TIME, &d.raw, &mut b);
        }
        text(
            TAG_PERSONALISATION_SERIAL,
            &self.personalisation_device_serial,
            &mut b,
        );
        for u in &self.unknown {
            u.encode_into(&mut b);
        }
        crate::tlv::encode(TAG, &b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::quirk::DateEncoding;

    #[test]
    fn bcd_date_of_issue() {
        let b = hex::decode("6C0D5C045F195F265F26042024010100").unwrap();
        // the trailing 00 is padding after the TLV
        let d = Dg12::decode(&b).unwrap();
        let doi = d.date_of_issue.as_ref().unwrap();
        assert_eq!((doi.text.as_str(), doi.encoding), ("20240101", DateEncoding::Bcd));
        assert!(d.quirks.contains(&Quirk::BcdDate { tag: 0x5F26 }));
        assert!(d.quirks.contains(&Quirk::TagListMismatch {
            listed_absent: vec![0x5F19],
            present_unlisted: vec![]
        }));
        assert!(d.quirks.contains(&Quirk::TrailingZeroPadding { bytes: 1 }));
    }

    #[test]
    fn built_value_roundtrips() {
        let mut d = Dg12 {
            issuing_authority: Some("UTOPIA".into()),
            date_of_issue: Some(DateField::ascii("20240101")),
            other_persons: vec!["DOE<<JANE".into()],
            personalisation_time: Some(DateField::ascii("20240101123059")),
            front_image: Some(vec![0xFF, 0xD8]),
            ..Dg12::default()
        };
        d.update_tag_list();
        let back = Dg12::decode(&d.encode()).unwrap();
        assert!(back.quirks.is_empty(), "{:?}", back.quirks);
        assert_eq!(
            Dg12 {
                raw: Vec::new(),
                ..back
            },
            d
        );
    }
}

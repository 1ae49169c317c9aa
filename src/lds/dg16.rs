//! EF.DG16 persons to notify (Doc 9303 Part 10 §4.7.16, sample in Appendix A.6).
//!
//! ```text
//! 70 L
//!    02 number of templates
//!    A1 L  5F50 date data recorded YYYYMMDD
//!          5F51 name of person
//!          5F52 telephone
//!          5F53 address
//!    A2 L  …                       one template per person: A1, A2, A3, …
//! ```

use std::fmt;

use super::details::{encode_count, read_count};
use super::error::LdsError;
use super::quirk::{self, DateField, Quirk, RawDo};
use super::view::{self, Node};

const FILE: &str = "DG16";
const TAG: u32 = 0x70;
const TAG_COUNT: u32 = 0x02;
const TAG_DATE: u32 = 0x5F50;
const TAG_NAME: u32 = 0x5F51;
const TAG_TELEPHONE: u32 = 0x5F52;
const TAG_ADDRESS: u32 = 0x5F53;
/// Templates A1..=BE (single-byte context-specific constructed tags after A0).
const FIRST_TEMPLATE: u32 = 0xA1;
const LAST_TEMPLATE: u32 = 0xBE;
/// The most persons a single-byte template tag can number.
pub const MAX_PERSONS: usize = (LAST_TEMPLATE - FIRST_TEMPLATE + 1) as usize;

/// One person to notify.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PersonToNotify {
    /// Date the data was recorded (`5F50`).
    pub date_recorded: Option<DateField>,
    /// Name (`5F51`).
    pub name: Option<String>,
    /// Telephone (`5F52`).
    pub telephone: Option<String>,
    /// Address (`5F53`).
    pub address: Option<String>,
    /// Data objects of unknown tags in the template, kept raw.
    pub unknown: Vec<RawDo>,
}

impl fmt::Debug for PersonToNotify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonToNotify { <redacted> }")
    }
}

/// Decoded EF.DG16.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dg16 {
    /// The persons in file order.
    pub persons: Vec<PersonToNotify>,
    /// The count (`02`) written in the file.
    pub declared_count: Option<usize>,
    /// Top-level data objects of unknown tags, kept raw.
    pub unknown: Vec<RawDo>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
    /// The file's bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

quirk::summary_debug!(Dg16, |d| {
    persons: d.persons.len(),
    quirks: d.quirks,
});

fn set_text(slot: &mut Option<String>, tag: u32, value: &[u8], quirks: &mut Vec<Quirk>) {
    if slot.is_some() {
        quirks.push(Quirk::DuplicateTag { tag });
    } else {
        *slot = Some(quirk::decode_text(tag, value, quirks));
    }
}

impl Dg16 {
    /// Build a DG16 listing `persons` (count set).
    pub fn new(persons: Vec<PersonToNotify>) -> Self {
        Dg16 {
            declared_count: Some(persons.len()),
            persons,
            ..Dg16::default()
        }
    }

    /// Decode EF.DG16.
    pub fn decode(input: &[u8]) -> Result<Dg16, LdsError> {
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, FILE, TAG, &mut quirks)?;
        let mut d = Dg16 {
            raw: input.to_vec(),
            ..Dg16::default()
        };
        for kid in quirk::children(&outer, FILE, &mut quirks)? {
            match kid.tag {
                TAG_COUNT if d.declared_count.is_none() => {
                    d.declared_count = Some(read_count(kid.value).ok_or(LdsError::Invalid {
                        file: FILE,
                        what: "number of persons (02)",
                    })?);
                }
                TAG_COUNT => quirks.push(Quirk::DuplicateTag { tag: kid.tag }),
                t if (FIRST_TEMPLATE..=LAST_TEMPLATE).contains(&t) => {
                    let expected = FIRST_TEMPLATE + d.persons.len() as u32;
                    if t != expected {
                        quirks.push(Quirk::Other {
                            name: "template_out_of_sequence",
                            detail: format!("person template {t:02X} where {expected:02X} was expected"),
                        });
                    }
                    let mut p = PersonToNotify::default();
                    for f in quirk::children(&kid, FILE, &mut quirks)? {
                        let (tag, v) = (f.tag, f.value);
                        match tag {
                            TAG_DATE => {
                                if p.date_recorded.is_some() {
                                    quirks.push(Quirk::DuplicateTag { tag });
                                } else {
                                    p.date_recorded = Some(DateField::decode(tag, v, 8, &mut quirks));
                                }
                            }
                            TAG_NAME => set_text(&mut p.name, tag, v, &mut quirks),
                            TAG_TELEPHONE => set_text(&mut p.telephone, tag, v, &mut quirks),
                            TAG_ADDRESS => set_text(&mut p.address, tag, v, &mut quirks),
                            _ => {
                                quirks.push(Quirk::UnknownTag { tag });
                                p.unknown.push(RawDo::from_tlv(&f));
                            }
                        }
                    }
                    d.persons.push(p);
                }
                t => {
                    quirks.push(Quirk::UnknownTag { tag: t });
                    d.unknown.push(RawDo::from_tlv(&kid));
                }
            }
        }
        match d.declared_count {
            None => quirks.push(Quirk::MissingCount { tag: TAG }),
            Some(n) if n != d.persons.len() => quirks.push(Quirk::CountMismatch {
                tag: TAG,
                declared: n,
                found: d.persons.len(),
            }),
            Some(_) => {}
        }
        d.quirks = quirks;
        Ok(d)
    }

    /// Encode: the count as stored (if any), one template per person (A1, A2, …),
    /// then unknown data objects. Fails beyond [`MAX_PERSONS`] persons.
    pub fn encode(&self) -> Result<Vec<u8>, LdsError> {
        if self.persons.len() > MAX_PERSONS {
            return Err(LdsError::TooLarge {
                file: FILE,
                what: "number of persons",
                size: self.persons.len(),
                max: MAX_PERSONS,
            });
        }
        let mut b = Vec::new();
        if let Some(n) = self.declared_count {
            crate::tlv::encode_into(TAG_COUNT, &encode_count(n), &mut b);
        }
        for (i, p) in self.persons.iter().enumerate() {
            let mut t = Vec::new();
            if let Some(d) = &p.date_recorded {
                crate::tlv::encode_into(TAG_DATE, &d.raw, &mut t);
            }
            for (tag, v) in [
                (TAG_NAME, &p.name),
                (TAG_TELEPHONE, &p.telephone),
                (TAG_ADDRESS, &p.address),
            ] {
                if let Some(s) = v {
                    crate::tlv::encode_into(tag, s.as_bytes(), &mut t);
                }
            }
            for u in &p.unknown {
                u.encode_into(&mut t);
            }
            crate::tlv::encode_into(FIRST_TEMPLATE + i as u32, &t, &mut b);
        }
        for u in &self.unknown {
            u.encode_into(&mut b);
        }
        Ok(crate::tlv::encode(TAG, &b))
    }
}

impl Dg16 {
    /// The lines `inspect` shows.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = Vec::new();
        if let Some(c) = self.declared_count {
            n.push(Node::field("number of persons", c));
        }
        for (i, p) in self.persons.iter().enumerate() {
            let mut kids = Vec::new();
            view::opt_date(&mut kids, "date recorded", &p.date_recorded);
            view::opt(&mut kids, "name", &p.name);
            view::opt(&mut kids, "telephone", &p.telephone);
            view::opt_parts(&mut kids, "address", &p.address);
            n.push(Node::new(format!("person {}", i + 1)).with(kids));
        }
        n
    }
}

super::group::data_group!(Dg16);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_mismatch_and_sequence() {
        // 70 { 02 01 02, A2 { 5F51 01 'A' } }
        let b = hex::decode("700902010 2A2045F510141".replace(' ', "")).unwrap();
        let d = Dg16::decode(&b).unwrap();
        assert_eq!(d.persons.len(), 1);
        let names: Vec<&str> = d.quirks.iter().map(Quirk::name).collect();
        assert_eq!(names, vec!["template_out_of_sequence", "count_mismatch"]);
    }

    #[test]
    fn too_many_persons() {
        let d = Dg16::new(vec![PersonToNotify::default(); MAX_PERSONS + 1]);
        assert!(d.encode().is_err());
        let d = Dg16::new(vec![PersonToNotify::default(); MAX_PERSONS]);
        assert_eq!(
            Dg16::decode(&d.encode().unwrap()).unwrap().persons.len(),
            MAX_PERSONS
        );
    }
}

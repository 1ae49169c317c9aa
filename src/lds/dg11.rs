//! EF.DG11 additional personal details (Doc 9303 Part 10 §4.7.11).
//!
//! ```text
//! 6B L
//!    5C   tag list of the data objects present
//!    5F0E full name of holder (primary<<secondary, `<` separating name parts)
//!    A0   { 02 number of other names, 5F0F other name … }
//!    5F10 personal number              5F2B full date of birth YYYYMMDD
//!    5F11 place of birth               5F42 permanent address
//!    5F12 telephone                    5F13 profession
//!    5F14 title                        5F15 personal summary
//!    5F16 proof of citizenship (image) 5F17 other valid TD numbers
//!    5F18 custody information
//! ```
//!
//! Text is UTF-8 (national scripts allowed); fields may be empty; `<` separates the
//! parts of a field (place, address, names). Personal data: [`std::fmt::Debug`] of
//! [`Dg11`] shows only which tags are present.

use std::fmt;

use super::error::LdsError;
use super::quirk::{self, DateField, Quirk, RawDo};

const FILE: &str = "DG11";
const TAG: u32 = 0x6B;
const TAG_LIST: u32 = 0x5C;
const TAG_FULL_NAME: u32 = 0x5F0E;
const TAG_OTHER_NAMES: u32 = 0xA0;
const TAG_COUNT: u32 = 0x02;
const TAG_OTHER_NAME: u32 = 0x5F0F;
const TAG_PERSONAL_NUMBER: u32 = 0x5F10;
const TAG_FULL_DATE_OF_BIRTH: u32 = 0x5F2B;
const TAG_PLACE_OF_BIRTH: u32 = 0x5F11;
const TAG_ADDRESS: u32 = 0x5F42;
const TAG_TELEPHONE: u32 = 0x5F12;
const TAG_PROFESSION: u32 = 0x5F13;
const TAG_TITLE: u32 = 0x5F14;
const TAG_PERSONAL_SUMMARY: u32 = 0x5F15;
const TAG_PROOF_OF_CITIZENSHIP: u32 = 0x5F16;
const TAG_OTHER_TD_NUMBERS: u32 = 0x5F17;
const TAG_CUSTODY: u32 = 0x5F18;

/// Split a name written `PRIMARY<<SECONDARY<PARTS` into (primary, secondary), fillers
/// as spaces. A name without `<<` is all primary identifier.
pub fn name_parts(name: &str) -> (String, String) {
    let clean = |s: &str| {
        s.split('<')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match name.split_once("<<") {
        Some((primary, secondary)) => (clean(primary), clean(secondary)),
        None => (clean(name), String::new()),
    }
}

/// Split a field whose parts are separated by `<` (place of birth, address, numbers).
pub fn field_parts(value: &str) -> Vec<String> {
    value
        .split('<')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Decoded EF.DG11.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dg11 {
    /// The tag list (`5C`) as found; `None` when absent.
    #[serde(serialize_with = "serialize_opt_tags")]
    pub tag_list: Option<Vec<u32>>,
    /// Full name of holder (`5F0E`).
    pub full_name: Option<String>,
    /// Other names (`5F0F` in `A0`).
    pub other_names: Vec<String>,
    /// Personal number (`5F10`).
    pub personal_number: Option<String>,
    /// Full date of birth (`5F2B`).
    pub full_date_of_birth: Option<DateField>,
    /// Place of birth (`5F11`).
    pub place_of_birth: Option<String>,
    /// Permanent address (`5F42`).
    pub address: Option<String>,
    /// Telephone (`5F12`).
    pub telephone: Option<String>,
    /// Profession (`5F13`).
    pub profession: Option<String>,
    /// Title (`5F14`).
    pub title: Option<String>,
    /// Personal summary (`5F15`).
    pub personal_summary: Option<String>,
    /// Proof of citizenship, an image (`5F16`).
    #[serde(serialize_with = "serialize_opt_hex")]
    pub proof_of_citizenship: Option<Vec<u8>>,
    /// Other valid TD numbers (`5F17`).
    pub other_td_numbers: Option<String>,
    /// Custody information (`5F18`).
    pub custody_information: Option<String>,
    /// Data objects of unknown tags, kept raw.
    pub unknown: Vec<RawDo>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
    /// The file's bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

pub(crate) fn serialize_opt_tags<S: serde::Serializer>(
    v: &Option<Vec<u32>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => quirk::serialize_tags(t, s),
        None => s.serialize_none(),
    }
}

pub(crate) fn serialize_opt_hex<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => quirk::serialize_hex(b, s),
        None => s.serialize_none(),
    }
}

impl fmt::Debug for Dg11 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present: Vec<String> = self.present_tags().iter().map(|t| format!("{t:02X}")).collect();
        f.debug_struct("Dg11")
            .field("present", &present)
            .field("quirks", &self.quirks)
            .finish_non_exhaustive()
    }
}

/// Read the count (`02`) of a template: an unsigned integer of at most two octets.
pub(crate) fn read_count(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 2 {
        return None;
    }
    Some(value.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)))
}

/// Encode a count as a DER INTEGER value.
pub(crate) fn encode_count(n: usize) -> Vec<u8> {
    let bytes = (n as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let mut v = bytes.get(skip..).unwrap_or_default().to_vec();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    v
}

/// Store a text field, reporting duplicates.
fn set_text(slot: &mut Option<String>, tag: u32, value: &[u8], quirks: &mut Vec<Quirk>) {
    if slot.is_some() {
        quirks.push(Quirk::DuplicateTag { tag });
        return;
    }
    *slot = Some(quirk::decode_text(tag, value, quirks));
}

/// Read a template of other names/persons: `02` count then `item_tag` repeated.
/// Returns the items; pushes count quirks.
pub(crate) fn read_counted_template(
    template: &crate::tlv::Tlv<'_>,
    item_tag: u32,
    file: &'static str,
    items: &mut Vec<String>,
    quirks: &mut Vec<Quirk>,
) -> Result<(), LdsError> {
    let mut declared = None;
    let before = items.len();
    for kid in quirk::children(template, file, quirks)? {
        match kid.tag {
            TAG_COUNT if declared.is_none() => {
                declared = Some(read_count(kid.value).ok_or(LdsError::Invalid {
                    file,
                    what: "count (02) of a template",
                })?);
            }
            t if t == item_tag => items.push(quirk::decode_text(t, kid.value, quirks)),
            t => {
                quirks.push(Quirk::UnknownTag { tag: t });
            }
        }
    }
    let found = items.len() - before;
    match declared {
        None => quirks.push(Quirk::MissingCount { tag: template.tag }),
        Some(d) if d != found => quirks.push(Quirk::CountMismatch {
            tag: template.tag,
            declared: d,
            found,
        }),
        Some(_) => {}
    }
    Ok(())
}

/// Encode `template { 02 count, item_tag item … }`.
pub(crate) fn encode_counted_template(template: u32, item_tag: u32, items: &[String], out: &mut Vec<u8>) {
    let mut body = Vec::new();
    crate::tlv::encode_into(TAG_COUNT, &encode_count(items.len()), &mut body);
    for i in items {
        crate::tlv::encode_into(item_tag, i.as_bytes(), &mut body);
    }
    crate::tlv::encode_into(template, &body, out);
}

/// Check a tag list against the tags present, reading `template` in the list as
/// `item_tag` (some issuers list the template, others the item).
pub(crate) fn check_tag_list(
    tag_list: Option<&Vec<u32>>,
    present: &[u32],
    template: u32,
    item_tag: u32,
    quirks: &mut Vec<Quirk>,
) {
    match tag_list {
        None => quirks.push(Quirk::MissingTagList),
        Some(list) => {
            let listed: Vec<u32> = list
                .iter()
                .map(|t| if *t == template { item_tag } else { *t })
                .collect();
            quirks.extend(quirk::tag_list_quirk(&listed, present));
        }
    }
}

/// Read the tag list `5C`.
pub(crate) fn read_tag_list(
    slot: &mut Option<Vec<u32>>,
    value: &[u8],
    file: &'static str,
    quirks: &mut Vec<Quirk>,
) -> Result<(), LdsError> {
    if slot.is_some() {
        quirks.push(Quirk::DuplicateTag { tag: TAG_LIST });
        return Ok(());
    }
    *slot = Some(quirk::parse_tag_list(value).ok_or(LdsError::Invalid {
        file,
        what: "tag list (5C)",
    })?);
    Ok(())
}

impl Dg11 {
    /// Decode EF.DG11.
    pub fn decode(input: &[u8]) -> Result<Dg11, LdsError> {
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, FILE, TAG, &mut quirks)?;
        let mut d = Dg11 {
            raw: input.to_vec(),
            ..Dg11::default()
        };
        let mut seen_other_names = false;
        for kid in quirk::children(&outer, FILE, &mut quirks)? {
            let (tag, v) = (kid.tag, kid.value);
            match tag {
                TAG_LIST => read_tag_list(&mut d.tag_list, v, FILE, &mut quirks)?,
                TAG_FULL_NAME => set_text(&mut d.full_name, tag, v, &mut quirks),
                TAG_OTHER_NAMES => {
                    seen_other_names = true;
                    read_counted_template(&kid, TAG_OTHER_NAME, FILE, &mut d.other_names, &mut quirks)?;
                }
                TAG_OTHER_NAME => {
                    quirks.push(Quirk::MissingTemplate {
                        tag,
                        template: TAG_OTHER_NAMES,
                    });
                    seen_other_names = true;
                    d.other_names.push(quirk::decode_text(tag, v, &mut quirks));
                }
                TAG_PERSONAL_NUMBER => set_text(&mut d.personal_number, tag, v, &mut quirks),
                TAG_FULL_DATE_OF_BIRTH => {
                    if d.full_date_of_birth.is_some() {
                        quirks.push(Quirk::DuplicateTag { tag });
                    } else {
                        d.full_date_of_birth = Some(DateField::decode(tag, v, 8, &mut quirks));
                    }
                }
                TAG_PLACE_OF_BIRTH => set_text(&mut d.place_of_birth, tag, v, &mut quirks),
                TAG_ADDRESS => set_text(&mut d.address, tag, v, &mut quirks),
                TAG_TELEPHONE => set_text(&mut d.telephone, tag, v, &mut quirks),
                TAG_PROFESSION => set_text(&mut d.profession, tag, v, &mut quirks),
                TAG_TITLE => set_text(&mut d.title, tag, v, &mut quirks),
                TAG_PERSONAL_SUMMARY => set_text(&mut d.personal_summary, tag, v, &mut quirks),
                TAG_PROOF_OF_CITIZENSHIP => {
                    if d.proof_of_citizenship.is_some() {
                        quirks.push(Quirk::DuplicateTag { tag });
                    } else {
                        if v.is_empty() {
                            quirks.push(Quirk::EmptyField { tag });
                        }
                        d.proof_of_citizenship = Some(v.to_vec());
                    }
                }
                TAG_OTHER_TD_NUMBERS => set_text(&mut d.other_td_numbers, tag, v, &mut quirks),
                TAG_CUSTODY => set_text(&mut d.custody_information, tag, v, &mut quirks),
                _ => {
                    quirks.push(Quirk::UnknownTag { tag });
                    d.unknown.push(RawDo::from_tlv(&kid));
                }
            }
        }
        let mut present = d.present_tags();
        if seen_other_names && !present.contains(&TAG_OTHER_NAME) {
            // an A0 template with no names still counts as present
            present.push(TAG_OTHER_NAME);
        }
        check_tag_list(
            d.tag_list.as_ref(),
            &present,
            TAG_OTHER_NAMES,
            TAG_OTHER_NAME,
            &mut quirks,
        );
        d.quirks = quirks;
        Ok(d)
    }

    /// The tags of the fields present, in Doc 9303 order (other names as `5F0F`).
    pub fn present_tags(&self) -> Vec<u32> {
        let mut t = Vec::new();
        let mut add = |present: bool, tag: u32| {
            if present {
                t.push(tag);
            }
        };
        add(self.full_name.is_some(), TAG_FULL_NAME);
        add(!self.other_names.is_empty(), TAG_OTHER_NAME);
        add(self.personal_number.is_some(), TAG_PERSONAL_NUMBER);
        add(self.full_date_of_birth.is_some(), TAG_FULL_DATE_OF_BIRTH);
        add(self.place_of_birth.is_some(), TAG_PLACE_OF_BIRTH);
        add(self.address.is_some(), TAG_ADDRESS);
        add(self.telephone.is_some(), TAG_TELEPHONE);
        add(self.profession.is_some(), TAG_PROFESSION);
        add(self.title.is_some(), TAG_TITLE);
        add(self.personal_summary.is_some(), TAG_PERSONAL_SUMMARY);
        add(self.proof_of_citizenship.is_some(), TAG_PROOF_OF_CITIZENSHIP);
        add(self.other_td_numbers.is_some(), TAG_OTHER_TD_NUMBERS);
        add(self.custody_information.is_some(), TAG_CUSTODY);
        t
    }

    /// Set the tag list to the fields present (call before [`Dg11::encode`] on a value
    /// built field by field).
    pub fn update_tag_list(&mut self) {
        self.tag_list = Some(self.present_tags());
    }

    /// Encode: the tag list as stored (if any), the fields in Doc 9303 order, then
    /// unknown data objects. Dates are written as they were read (or as built).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        let text = |tag: u32, v: &Option<String>, b: &mut Vec<u8>| {
            if let Some(s) = v {
                crate::tlv::encode_into(tag, s.as_bytes(), b);
            }
        };
        if let Some(list) = &self.tag_list {
            crate::tlv::encode_into(TAG_LIST, &quirk::encode_tag_list(list), &mut b);
        }
        text(TAG_FULL_NAME, &self.full_name, &mut b);
        if !self.other_names.is_empty() {
            encode_counted_template(TAG_OTHER_NAMES, TAG_OTHER_NAME, &self.other_names, &mut b);
        }
        text(TAG_PERSONAL_NUMBER, &self.personal_number, &mut b);
        if let Some(d) = &self.full_date_of_birth {
            crate::tlv::encode_into(TAG_FULL_DATE_OF_BIRTH, &d.raw, &mut b);
        }
        text(TAG_PLACE_OF_BIRTH, &self.place_of_birth, &mut b);
        text(TAG_ADDRESS, &self.address, &mut b);
        text(TAG_TELEPHONE, &self.telephone, &mut b);
        text(TAG_PROFESSION, &self.profession, &mut b);
        text(TAG_TITLE, &self.title, &mut b);
        text(TAG_PERSONAL_SUMMARY, &self.personal_summary, &mut b);
        if let Some(img) = &self.proof_of_citizenship {
            crate::tlv::encode_into(TAG_PROOF_OF_CITIZENSHIP, img, &mut b);
        }
        text(TAG_OTHER_TD_NUMBERS, &self.other_td_numbers, &mut b);
        text(TAG_CUSTODY, &self.custody_information, &mut b);
        for u in &self.unknown {
            u.encode_into(&mut b);
        }
        crate::tlv::encode(TAG, &b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_field_parts() {
        assert_eq!(name_parts("SMITH<<JOHN<J"), ("SMITH".into(), "JOHN J".into()));
        assert_eq!(name_parts("Doe John"), ("Doe John".into(), String::new()));
        assert_eq!(
            field_parts("123 MAPLE RD<ANYTOWN<MN"),
            vec!["123 MAPLE RD", "ANYTOWN", "MN"]
        );
    }

    #[test]
    fn count_encoding() {
        assert_eq!(encode_count(1), vec![1]);
        assert_eq!(encode_count(0), vec![0]);
        assert_eq!(encode_count(200), vec![0, 200]);
        assert_eq!(read_count(&[0, 200]), Some(200));
    }

    #[test]
    fn built_value_roundtrips_without_quirks() {
        let mut d = Dg11 {
            full_name: Some("SMITH<<JOHN<J".into()),
            other_names: vec!["SMYTH<<JOHN".into(), "SMITHE<<J".into()],
            full_date_of_birth: Some(DateField::ascii("19700101")),
            proof_of_citizenship: Some(vec![1, 2, 3]),
            ..Dg11::default()
        };
        d.update_tag_list();
        let bytes = d.encode();
        let back = Dg11::decode(&bytes).unwrap();
        assert!(back.quirks.is_empty(), "{:?}", back.quirks);
        assert_eq!(back.encode(), bytes);
        assert_eq!(
            Dg11 {
                raw: Vec::new(),
                ..back
            },
            d
        );
    }

    #[test]
    fn empty_field_and_unknown_tag() {
        // 6B { 5C 5F0E 5F12, 5F0E 00, 5F12 01 '1', 5F77 01 FF }
        let b = hex::decode("6B115C045F0E5F125F0E005F1201315F7701FF").unwrap();
        let d = Dg11::decode(&b).unwrap();
        assert_eq!(d.full_name.as_deref(), Some(""));
        assert_eq!(
            d.quirks,
            vec![
                Quirk::EmptyField { tag: 0x5F0E },
                Quirk::UnknownTag { tag: 0x5F77 }
            ]
        );
        assert_eq!(d.encode(), b);
    }
}

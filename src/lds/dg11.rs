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

use super::details::{Field, details_group, field, serialize_opt_hex};
use super::quirk::DateField;

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

details_group! {
    /// Decoded EF.DG11.
    Dg11, "DG11", 0x6B {
        /// Full name of holder (`5F0E`).
        full_name: Option<String>,
        /// Other names (`5F0F` in `A0`).
        other_names: Vec<String>,
        /// Personal number (`5F10`).
        personal_number: Option<String>,
        /// Full date of birth (`5F2B`).
        full_date_of_birth: Option<DateField>,
        /// Place of birth (`5F11`).
        place_of_birth: Option<String>,
        /// Permanent address (`5F42`).
        address: Option<String>,
        /// Telephone (`5F12`).
        telephone: Option<String>,
        /// Profession (`5F13`).
        profession: Option<String>,
        /// Title (`5F14`).
        title: Option<String>,
        /// Personal summary (`5F15`).
        personal_summary: Option<String>,
        /// Proof of citizenship, an image (`5F16`).
        #[serde(serialize_with = "serialize_opt_hex")]
        proof_of_citizenship: Option<Vec<u8>>,
        /// Other valid TD numbers (`5F17`).
        other_td_numbers: Option<String>,
        /// Custody information (`5F18`).
        custody_information: Option<String>,
    }
}

/// The fields of EF.DG11 in Doc 9303 order.
const FIELDS: &[Field<Dg11>] = &[
    field!(0x5F0E, Text, full_name, "full name", Name),
    field!(0x5F0F, Items(0xA0), other_names, "other name"),
    field!(0x5F10, Text, personal_number, "personal number"),
    field!(0x5F2B, Date(8), full_date_of_birth, "full date of birth"),
    field!(0x5F11, Text, place_of_birth, "place of birth", Parts),
    field!(0x5F42, Text, address, "address", Parts),
    field!(0x5F12, Text, telephone, "telephone"),
    field!(0x5F13, Text, profession, "profession", Parts),
    field!(0x5F14, Text, title, "title"),
    field!(0x5F15, Text, personal_summary, "personal summary"),
    field!(
        0x5F16,
        Bytes,
        proof_of_citizenship,
        "proof of citizenship (image)"
    ),
    field!(0x5F17, Text, other_td_numbers, "other valid TD numbers", Parts),
    field!(0x5F18, Text, custody_information, "custody information"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::quirk::Quirk;

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

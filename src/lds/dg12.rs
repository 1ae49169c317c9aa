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
//! as [`Quirk::BcdDate`](super::quirk::Quirk::BcdDate).

use super::details::{Field, details_group, field, serialize_opt_hex};
use super::quirk::DateField;

details_group! {
    /// Decoded EF.DG12.
    Dg12, "DG12", 0x6C {
        /// Issuing authority (`5F19`).
        issuing_authority: Option<String>,
        /// Date of issue (`5F26`), ASCII or BCD.
        date_of_issue: Option<DateField>,
        /// Names of other persons (`5F1A` in `A0`).
        other_persons: Vec<String>,
        /// Endorsements and observations (`5F1B`).
        endorsements: Option<String>,
        /// Tax / exit requirements (`5F1C`).
        tax_exit_requirements: Option<String>,
        /// Image of the front of the document (`5F1D`).
        #[serde(serialize_with = "serialize_opt_hex")]
        front_image: Option<Vec<u8>>,
        /// Image of the rear of the document (`5F1E`).
        #[serde(serialize_with = "serialize_opt_hex")]
        rear_image: Option<Vec<u8>>,
        /// Date and time of personalisation (`5F55`), ASCII or BCD.
        personalisation_time: Option<DateField>,
        /// Serial number of the personalisation system (`5F56`).
        personalisation_device_serial: Option<String>,
    }
}

/// The fields of EF.DG12 in Doc 9303 order.
const FIELDS: &[Field<Dg12>] = &[
    field!(0x5F19, Text, issuing_authority, "issuing authority"),
    field!(0x5F26, Date(8), date_of_issue, "date of issue"),
    field!(0x5F1A, Items(0xA0), other_persons, "other person"),
    field!(0x5F1B, Text, endorsements, "endorsements / observations"),
    field!(0x5F1C, Text, tax_exit_requirements, "tax / exit requirements"),
    field!(0x5F1D, Bytes, front_image, "image of front"),
    field!(0x5F1E, Bytes, rear_image, "image of rear"),
    field!(0x5F55, Date(14), personalisation_time, "personalisation time"),
    field!(
        0x5F56,
        Text,
        personalisation_device_serial,
        "personalisation device serial"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::quirk::DateEncoding;
    use crate::lds::quirk::Quirk;

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

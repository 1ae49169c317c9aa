//! EF.DG13 optional details (Doc 9303 Part 10 §4.7.13): content defined by the issuing
//! state, kept as bytes.
//!
//! ```text
//! 6D L  <issuer-defined content>
//! ```

use super::error::LdsError;
use super::quirk::{self, Quirk};

const FILE: &str = "DG13";
const TAG: u32 = 0x6D;

/// Decoded EF.DG13: the value of `6D`, uninterpreted.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dg13 {
    /// The value of the outer `6D` element.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub content: Vec<u8>,
    /// Tolerated deviations (length form, trailing bytes).
    pub quirks: Vec<Quirk>,
    /// The file's bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

quirk::summary_debug!(Dg13, |d| {
    content_len: d.content.len(),
    quirks: d.quirks,
});

impl Dg13 {
    /// Decode EF.DG13 (only the outer TLV is checked).
    pub fn decode(input: &[u8]) -> Result<Dg13, LdsError> {
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, FILE, TAG, &mut quirks)?;
        Ok(Dg13 {
            content: outer.value.to_vec(),
            quirks,
            raw: input.to_vec(),
        })
    }

    /// Encode `6D { content }`.
    pub fn encode(&self) -> Vec<u8> {
        crate::tlv::encode(TAG, &self.content)
    }
}

impl Dg13 {
    /// The lines `inspect` shows.
    pub fn nodes(&self) -> Vec<super::view::Node> {
        vec![super::view::Node::field(
            "content",
            super::view::short_hex(&self.content),
        )]
    }
}

super::group::data_group!(Dg13);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_raw() {
        let b = hex::decode("6D03010203").unwrap();
        let d = Dg13::decode(&b).unwrap();
        assert_eq!(d.content, vec![1, 2, 3]);
        assert_eq!(d.encode(), b);
        assert!(Dg13::decode(&[0x6D, 0x05, 1]).is_err());
    }
}

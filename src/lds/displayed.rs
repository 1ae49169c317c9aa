//! Displayed images: DG5 (displayed portrait, tag 65), DG6 (reserved for future use,
//! tag 66) and DG7 (displayed signature or usual mark, tag 67) — Doc 9303 Part 10
//! §4.7.5–4.7.7.
//!
//! ```text
//! 65|66|67
//!   02      number of images that follow
//!   5F40    displayed portrait (DG5)         \
//!   5F43    displayed signature/mark (DG7)    } repeated; JPEG or JPEG 2000 bytes
//! ```
//!
//! The image type is recognised by magic bytes ([`crate::lds::image::detect`]).

use crate::lds::error::LdsError;
use crate::lds::image::EmbeddedImage;
use crate::lds::quirk::{self, Quirk};
use crate::tlv::{self, Reader};

use super::biometric::offset_in;

/// Displayed portrait data object (DG5).
pub const PORTRAIT_TAG: u32 = 0x5F40;
/// Displayed signature or usual mark data object (DG7).
pub const SIGNATURE_TAG: u32 = 0x5F43;

/// Which displayed-image group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisplayedKind {
    /// DG5, displayed portrait.
    Portrait,
    /// DG6, reserved for future use (decoded like DG5).
    Reserved,
    /// DG7, displayed signature or usual mark.
    Signature,
}

impl DisplayedKind {
    /// Data group number.
    pub fn data_group(self) -> u8 {
        match self {
            DisplayedKind::Portrait => 5,
            DisplayedKind::Reserved => 6,
            DisplayedKind::Signature => 7,
        }
    }
    fn tag(self) -> u32 {
        match self {
            DisplayedKind::Portrait => 0x65,
            DisplayedKind::Reserved => 0x66,
            DisplayedKind::Signature => 0x67,
        }
    }
    fn file(self) -> &'static str {
        match self {
            DisplayedKind::Portrait => "DG5",
            DisplayedKind::Reserved => "DG6",
            DisplayedKind::Signature => "DG7",
        }
    }
    /// The image data object the group is expected to use.
    pub fn image_tag(self) -> u32 {
        match self {
            DisplayedKind::Portrait | DisplayedKind::Reserved => PORTRAIT_TAG,
            DisplayedKind::Signature => SIGNATURE_TAG,
        }
    }
}

/// A decoded DG5, DG6 or DG7.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DisplayedImages {
    /// Which group.
    pub kind: DisplayedKind,
    /// The count written in `02`.
    pub declared_count: Option<u64>,
    /// The images, in file order, with the tag each was found under.
    pub images: Vec<DisplayedImage>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
}

/// One displayed image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DisplayedImage {
    /// `5F40` or `5F43` (another `5F4x` is kept with a quirk).
    #[serde(serialize_with = "super::biometric::serialize_tag")]
    pub tag: u32,
    /// The image bytes and their offset in the file.
    pub image: EmbeddedImage,
}

impl DisplayedImages {
    /// Decode a displayed-image group (DG5 portrait, DG6, DG7 signature or usual mark).
    pub fn decode(input: &[u8], kind: DisplayedKind) -> Result<DisplayedImages, LdsError> {
        let file = kind.file();
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, file, kind.tag(), &mut quirks)?;
        let mut declared_count = None;
        let mut images = Vec::new();
        for k in Reader::new_ber(outer.value) {
            let k = k.map_err(LdsError::tlv_in(file))?;
            quirks.extend(quirk::length_quirk(&k));
            match k.tag {
                0x02 if declared_count.is_none() && images.is_empty() => {
                    declared_count = Some(quirk::declared_count(k.value, file, "number of images (02)")?);
                }
                0x5F40..=0x5F4F if !k.is_constructed() => {
                    if k.tag != kind.image_tag() {
                        quirks.push(Quirk::UnknownTag { tag: k.tag });
                    }
                    if k.value.is_empty() {
                        quirks.push(Quirk::EmptyField { tag: k.tag });
                    } else if crate::lds::image::detect(k.value).is_none() {
                        quirks.push(Quirk::Other {
                            name: "displayed_image_unrecognised",
                            detail: format!("displayed image {:02X} has no known image signature", k.tag),
                        });
                    }
                    images.push(DisplayedImage {
                        tag: k.tag,
                        image: EmbeddedImage::new(offset_in(input, k.value), k.value),
                    });
                }
                other => quirks.push(Quirk::UnknownTag { tag: other }),
            }
        }
        match declared_count {
            None => quirks.push(Quirk::MissingCount { tag: kind.tag() }),
            Some(n) if n != images.len() as u64 => quirks.push(Quirk::CountMismatch {
                tag: kind.tag(),
                declared: usize::try_from(n).unwrap_or(usize::MAX),
                found: images.len(),
            }),
            Some(_) => {}
        }
        Ok(DisplayedImages {
            kind,
            declared_count,
            images,
            quirks,
        })
    }
}

impl DisplayedImages {
    /// Encode: the count of images, then each image under the group's image tag
    /// ([`encode`]).
    pub fn encode(&self) -> Result<Vec<u8>, LdsError> {
        let images: Vec<&[u8]> = self.images.iter().map(|i| i.image.bytes.as_slice()).collect();
        encode(self.kind, &images)
    }
}

/// Encode a displayed-image group holding `images` under the group's image tag.
pub fn encode(kind: DisplayedKind, images: &[&[u8]]) -> Result<Vec<u8>, LdsError> {
    let count = u8::try_from(images.len()).map_err(|_| LdsError::TooLarge {
        file: kind.file(),
        what: "number of images",
        size: images.len(),
        max: 255,
    })?;
    let mut value = Vec::new();
    tlv::encode_into(0x02, &[count], &mut value);
    for i in images {
        tlv::encode_into(kind.image_tag(), i, &mut value);
    }
    Ok(tlv::encode(kind.tag(), &value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_count_mismatch() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02];
        let dg7 = encode(DisplayedKind::Signature, &[&jpeg]).unwrap();
        let d = DisplayedImages::decode(&dg7, DisplayedKind::Signature).unwrap();
        assert_eq!(d.images.len(), 1);
        assert_eq!(d.images[0].image.bytes, jpeg);
        assert_eq!(&dg7[d.images[0].image.range()], &jpeg);
        assert!(d.quirks.is_empty());
        // count says 2, one image present
        let mut bad = dg7.clone();
        bad[4] = 2;
        let d = DisplayedImages::decode(&bad, DisplayedKind::Signature).unwrap();
        assert_eq!(d.quirks[0].name(), "count_mismatch");
        // DG7 given to the DG5 decoder: wrong outer tag
        assert!(DisplayedImages::decode(&dg7, DisplayedKind::Portrait).is_err());
    }
}

//! ISO/IEC 39794 extensible biometric data blocks (DER, context-tagged, IMPLICIT TAGS):
//! the image data block and the helpers shared by Parts 4 (finger image), 5 (face
//! image, its representation in [`crate::lds::face`]) and 6 (iris image), and the finger
//! and iris representations.
//!
//! Doc 9303 Part 10 §4.7.2 (8th edition) carries these blocks in the constructed
//! biometric data block `7F2E`. For fingers and irises only the structure and the
//! image types are decoded (they need EAC terminal authentication on a real chip).

use crate::lds::error::LdsError;
use crate::lds::image::EmbeddedImage;
use crate::lds::quirk::Quirk;
use crate::tlv::{Reader, Tlv};

use super::{offset_in, standalone};

/// `FingerImageDataBlock ::= [APPLICATION 4] SEQUENCE`.
pub const FINGER_BLOCK_TAG: u32 = 0x64;
/// `FaceImageDataBlock ::= [APPLICATION 5] SEQUENCE`.
pub const FACE_BLOCK_TAG: u32 = 0x65;
/// `IrisImageDataBlock ::= [APPLICATION 6] SEQUENCE`.
pub const IRIS_BLOCK_TAG: u32 = 0x66;

/// Children of a constructed element (definite lengths, as DER requires).
pub(crate) fn kids<'a>(t: &Tlv<'a>, file: &'static str) -> Result<Vec<Tlv<'a>>, LdsError> {
    Reader::new(t.value).read_all().map_err(LdsError::tlv_in(file))
}

/// The context-specific field `[n]` (primitive `80|n` or constructed `A0|n`), n < 31.
pub(crate) fn field<'a>(kids: &[Tlv<'a>], n: u8) -> Option<Tlv<'a>> {
    let n = u32::from(n);
    kids.iter()
        .copied()
        .find(|k| k.tag == 0x80 | n || k.tag == 0xA0 | n)
}

/// A DER INTEGER value (two's complement, 1 to 8 octets).
pub(crate) fn int(t: &Tlv<'_>) -> Option<i64> {
    let v = t.value;
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    let negative = v.first().is_some_and(|b| b & 0x80 != 0);
    let init: i64 = if negative { -1 } else { 0 };
    Some(v.iter().fold(init, |acc, b| (acc << 8) | i64::from(*b)))
}

/// The integer in field `[n]`.
pub(crate) fn int_field(kids: &[Tlv<'_>], n: u8) -> Option<i64> {
    field(kids, n).as_ref().and_then(int)
}

/// An enumerated code written as the 39794 CHOICE
/// `{ code [0] Code, extensionBlock [1] { fallback [0] Code, ... } }`, or directly as an
/// INTEGER where a field is not a CHOICE.
pub(crate) fn code(t: &Tlv<'_>, file: &'static str) -> Option<i64> {
    if !t.is_constructed() {
        return int(t);
    }
    let inner = kids(t, file).ok()?;
    if let Some(c) = inner.iter().find(|k| k.tag == 0x80) {
        return int(c);
    }
    let ext = inner.iter().find(|k| k.tag == 0xA1)?;
    let ext_kids = kids(ext, file).ok()?;
    int_field(&ext_kids, 0)
}

/// The code in field `[n]`.
pub(crate) fn code_field(kids: &[Tlv<'_>], n: u8, file: &'static str) -> Option<i64> {
    field(kids, n).and_then(|t| code(&t, file))
}

/// The number of elements of a `SEQUENCE OF` field `[n]`.
pub(crate) fn count_field(kids_of: &[Tlv<'_>], n: u8, file: &'static str) -> usize {
    field(kids_of, n)
        .and_then(|t| kids(&t, file).ok())
        .map_or(0, |k| k.len())
}

/// `VersionBlock ::= SEQUENCE { generation [0] INTEGER, year [1] INTEGER, ... }` (39794-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VersionBlock {
    /// Generation of the standard (3 for the 2019 first editions).
    pub generation: i64,
    /// Year of the edition (2019).
    pub year: i64,
}

impl VersionBlock {
    pub(crate) fn decode(t: &Tlv<'_>, file: &'static str) -> Result<Self, LdsError> {
        let k = kids(t, file)?;
        Ok(VersionBlock {
            generation: int_field(&k, 0).ok_or(LdsError::Missing {
                file,
                what: "39794 version generation",
            })?,
            year: int_field(&k, 1).ok_or(LdsError::Missing {
                file,
                what: "39794 version year",
            })?,
        })
    }
}

/// `DateTimeBlock` (39794-1): year and the optional finer fields, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct DateTime39794 {
    /// Year.
    pub year: Option<i64>,
    /// Month 1..12.
    pub month: Option<i64>,
    /// Day 1..31.
    pub day: Option<i64>,
    /// Hour 0..23.
    pub hour: Option<i64>,
    /// Minute.
    pub minute: Option<i64>,
    /// Second.
    pub second: Option<i64>,
    /// Millisecond.
    pub millisecond: Option<i64>,
}

impl DateTime39794 {
    pub(crate) fn decode(t: &Tlv<'_>, file: &'static str) -> Option<Self> {
        let k = kids(t, file).ok()?;
        Some(DateTime39794 {
            year: int_field(&k, 0),
            month: int_field(&k, 1),
            day: int_field(&k, 2),
            hour: int_field(&k, 3),
            minute: int_field(&k, 4),
            second: int_field(&k, 5),
            millisecond: int_field(&k, 6),
        })
    }
}

/// The representation blocks of a data block: `SEQUENCE OF RepresentationBlock`; a lone
/// block without the `SEQUENCE OF` (written by some encoders) is accepted with a quirk.
pub(crate) fn representations<'a>(
    field: &Tlv<'a>,
    file: &'static str,
    quirks: &mut Vec<Quirk>,
) -> Result<Vec<Tlv<'a>>, LdsError> {
    let k = kids(field, file)?;
    if !k.is_empty() && k.iter().all(|t| t.tag == 0x30) {
        Ok(k)
    } else {
        quirks.push(Quirk::Other {
            name: "iso39794_representation_not_in_sequence",
            detail: "the 39794 representation block is not wrapped in a sequence".into(),
        });
        let mut single = *field;
        single.tag = 0x30;
        Ok(vec![single])
    }
}

/// An ISO/IEC 39794 image data block (structure and image types): a version block
/// and one representation per image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageDataBlock<R> {
    /// Version block.
    pub version: VersionBlock,
    /// One entry per image.
    pub representations: Vec<R>,
}

/// An ISO/IEC 39794-4 finger image data block.
pub type Finger39794 = ImageDataBlock<FingerRepresentation39794>;
/// An ISO/IEC 39794-6 iris image data block.
pub type Iris39794 = ImageDataBlock<IrisRepresentation39794>;

/// A representation of a 39794 image data block, read from its fields.
pub trait Representation39794: Sized {
    /// The block's application tag (`64` finger, `65` face, `66` iris).
    const BLOCK_TAG: u32;
    /// The standard, as a stand-alone block's name in messages.
    const STANDARD: &'static str;
    /// How errors name the version block when it is missing.
    const VERSION_BLOCK: &'static str = "39794 version block";
    /// How errors name the representation blocks when they are missing.
    const REPRESENTATION_BLOCKS: &'static str = "39794 representation blocks";
    /// Read one representation from its fields; `base` is the file (image offsets).
    fn from_fields(
        k: &[Tlv<'_>],
        base: &[u8],
        file: &'static str,
        quirks: &mut Vec<Quirk>,
    ) -> Result<Self, LdsError>;
    /// Note what a profile says of the block's representations as a whole (none by
    /// default).
    fn check_representations(_representations: &[Self], _quirks: &mut Vec<Quirk>) {}
}

/// One finger image of a 39794-4 block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FingerRepresentation39794 {
    /// Finger position code (`[0]`, 39794-4 Table: 1 right thumb … 10 left little).
    pub position: Option<i64>,
    /// Impression code (`[1]`: 0 plain contact, 1 rolled contact, …).
    pub impression: Option<i64>,
    /// Image data format code (`[2]`: 0 PGM, 1 WSQ, 2 JPEG 2000 lossy, 3 lossless, 4 PNG).
    pub image_data_format: Option<i64>,
    /// The image (`[3]`).
    pub image: EmbeddedImage,
    /// Capture date and time (`[4]`).
    pub capture_date_time: Option<DateTime39794>,
    /// Number of quality blocks (`[6]`).
    pub quality_blocks: usize,
}

/// One iris image of a 39794-6 block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IrisRepresentation39794 {
    /// Eye label (`[0]`: 0 unknown, 1 right eye, 2 left eye).
    pub eye_label: Option<i64>,
    /// Iris image kind (`[1]`: 1 uncropped, 2 VGA, 3 cropped, 7 cropped and masked).
    pub iris_image_kind: Option<i64>,
    /// Bit depth (`[2]`).
    pub bit_depth: Option<i64>,
    /// Image data format (`[3]`: 0 PGM, 1 PPM, 2 PNG, 3 JPEG 2000 lossless, 4 lossy).
    pub image_data_format: Option<i64>,
    /// Capture date and time (`[7]`).
    pub capture_date_time: Option<DateTime39794>,
    /// The image (`[8]`).
    pub image: EmbeddedImage,
    /// Number of quality blocks (`[11]`).
    pub quality_blocks: usize,
}

/// Open an image data block of `R`: its version block and its representation blocks
/// (bytes after the block are a quirk).
fn open_block<'a, R: Representation39794>(
    input: &'a [u8],
    file: &'static str,
    quirks: &mut Vec<Quirk>,
) -> Result<(VersionBlock, Vec<Tlv<'a>>), LdsError> {
    let t = crate::tlv::parse(input).map_err(LdsError::tlv_in(file))?;
    LdsError::want_tag(&t, R::BLOCK_TAG, file)?;
    quirks.extend(crate::lds::quirk::trailing_quirk(
        input.get(t.raw.len()..).unwrap_or_default(),
    ));
    let k = kids(&t, file)?;
    let version = VersionBlock::decode(
        &field(&k, 0).ok_or(LdsError::Missing {
            file,
            what: R::VERSION_BLOCK,
        })?,
        file,
    )?;
    let reps = field(&k, 1).ok_or(LdsError::Missing {
        file,
        what: R::REPRESENTATION_BLOCKS,
    })?;
    Ok((version, representations(&reps, file, quirks)?))
}

fn image_field(
    kids: &[Tlv<'_>],
    n: u8,
    base: &[u8],
    file: &'static str,
    what: &'static str,
) -> Result<EmbeddedImage, LdsError> {
    let t = field(kids, n).ok_or(LdsError::Missing { file, what })?;
    if t.is_constructed() {
        return Err(LdsError::Invalid { file, what });
    }
    Ok(EmbeddedImage::new(offset_in(base, t.value), t.value))
}

impl<R: Representation39794> ImageDataBlock<R> {
    /// Decode an image data block (`64 …` finger, `65 …` face, `66 …` iris); `base` is
    /// the file the block sits in (for image offsets).
    pub fn decode_in(
        input: &[u8],
        base: &[u8],
        file: &'static str,
        quirks: &mut Vec<Quirk>,
    ) -> Result<Self, LdsError> {
        let (version, reps) = open_block::<R>(input, file, quirks)?;
        let mut representations = Vec::new();
        for r in reps {
            representations.push(R::from_fields(&kids(&r, file)?, base, file, quirks)?);
        }
        R::check_representations(&representations, quirks);
        Ok(ImageDataBlock {
            version,
            representations,
        })
    }

    /// Decode a stand-alone block (offsets relative to `input`).
    pub fn decode(input: &[u8]) -> Result<(Self, Vec<Quirk>), LdsError> {
        standalone(input, R::STANDARD, Self::decode_in)
    }
}

impl Representation39794 for FingerRepresentation39794 {
    const BLOCK_TAG: u32 = FINGER_BLOCK_TAG;
    const STANDARD: &'static str = "ISO 39794-4";
    fn from_fields(
        k: &[Tlv<'_>],
        base: &[u8],
        file: &'static str,
        _quirks: &mut Vec<Quirk>,
    ) -> Result<Self, LdsError> {
        Ok(FingerRepresentation39794 {
            position: code_field(k, 0, file),
            impression: code_field(k, 1, file),
            image_data_format: code_field(k, 2, file),
            image: image_field(k, 3, base, file, "39794-4 image data")?,
            capture_date_time: field(k, 4).and_then(|t| DateTime39794::decode(&t, file)),
            quality_blocks: count_field(k, 6, file),
        })
    }
}

impl Representation39794 for IrisRepresentation39794 {
    const BLOCK_TAG: u32 = IRIS_BLOCK_TAG;
    const STANDARD: &'static str = "ISO 39794-6";
    fn from_fields(
        k: &[Tlv<'_>],
        base: &[u8],
        file: &'static str,
        _quirks: &mut Vec<Quirk>,
    ) -> Result<Self, LdsError> {
        Ok(IrisRepresentation39794 {
            eye_label: code_field(k, 0, file),
            iris_image_kind: code_field(k, 1, file),
            bit_depth: int_field(k, 2),
            image_data_format: code_field(k, 3, file),
            capture_date_time: field(k, 7).and_then(|t| DateTime39794::decode(&t, file)),
            image: image_field(k, 8, base, file, "39794-6 image data")?,
            quality_blocks: count_field(k, 11, file),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_codes() {
        let t = crate::tlv::parse(&[0x80, 0x02, 0x07, 0xE3]).unwrap();
        assert_eq!(int(&t), Some(2019));
        let t = crate::tlv::parse(&[0x80, 0x01, 0xFF]).unwrap();
        assert_eq!(int(&t), Some(-1));
        // CHOICE { extensionBlock [1] { fallback [0] 3 } }
        let t = crate::tlv::parse(&[0xA0, 0x05, 0xA1, 0x03, 0x80, 0x01, 0x03]).unwrap();
        assert_eq!(code(&t, "t"), Some(3));
        // CHOICE { code [0] 2 }
        let t = crate::tlv::parse(&[0xA0, 0x03, 0x80, 0x01, 0x02]).unwrap();
        assert_eq!(code(&t, "t"), Some(2));
        let t = crate::tlv::parse(&[0x80, 0x00]).unwrap();
        assert_eq!(int(&t), None);
    }
}

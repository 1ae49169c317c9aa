//! ISO/IEC 19794-6:2005 iris image records (`IIR\0`, rectilinear) as carried in DG4
//! (Doc 9303 Part 10 §4.7.4): record header, eye subtypes and their images.
//!
//! Record header (45 bytes): format identifier `IIR\0`, version `010\0`, record length
//! (4), capture device id (2), number of biometric subtypes (1), record header length
//! (2), image property bits (2), iris diameter (2), image format (2), raw width and
//! height (2+2), intensity depth (1), image transformation (1), device unique id (16).
//! Per subtype: subtype (1), number of images (2); per image: sequence number (2),
//! quality (1), rotation angle (2), rotation uncertainty (2), image length (4), image.

use crate::lds::error::LdsError;
use crate::lds::image::EmbeddedImage;
use crate::lds::quirk::Quirk;

use super::{Part19794, VERSION, offset_in};

/// Format identifier of a 19794-6 record.
pub const FORMAT_ID: [u8; 4] = *b"IIR\0";

const FILE: &str = "DG4";
const PART: Part19794 = Part19794 {
    format_id: FORMAT_ID,
    name: "iso 19794-6",
    bad_format: "iso 19794-6 format identifier",
    bad_header: "iso 19794-6 record header",
    bad_version: "iso 19794-6 version",
    length_mismatch: "iris_record_length_mismatch",
};

/// A 19794-6 iris image record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IrisRecord19794 {
    /// Version, e.g. `"010"`.
    pub version: String,
    /// Record length as written.
    pub record_length: u32,
    /// Image property bit field.
    pub image_properties: u16,
    /// Expected iris diameter in pixels.
    pub iris_diameter: u16,
    /// Image format code ([`image_format_name`]).
    pub image_format: u16,
    /// Raw image width and height.
    pub raw_size: (u16, u16),
    /// Bits per pixel.
    pub intensity_depth: u8,
    /// The eyes (biometric subtypes).
    pub subtypes: Vec<IrisSubtype19794>,
}

/// One eye of a 19794-6 record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IrisSubtype19794 {
    /// Biometric subtype (1 right eye, 2 left eye).
    pub subtype: u8,
    /// The images of this eye.
    pub images: Vec<IrisImage19794>,
}

/// One iris image of a 19794-6 record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IrisImage19794 {
    /// Image sequence number.
    pub sequence: u16,
    /// Quality (0..100, 254 not computed, 255 failed).
    pub quality: u8,
    /// Rotation angle (0xFFFF undefined).
    pub rotation_angle: u16,
    /// Rotation uncertainty (0xFFFF undefined).
    pub rotation_uncertainty: u16,
    /// The image.
    pub image: EmbeddedImage,
}

/// Name of a 19794-6 image format code.
pub fn image_format_name(code: u16) -> &'static str {
    match code {
        0x0002 => "mono-raw",
        0x0004 => "rgb-raw",
        0x0006 => "mono-jpeg",
        0x0008 => "rgb-jpeg",
        0x000A => "mono-jpeg-ls",
        0x000C => "rgb-jpeg-ls",
        0x000E => "mono-jpeg2000",
        0x0010 => "rgb-jpeg2000",
        _ => "unknown",
    }
}

/// Name of a 19794-6 biometric subtype (the eye).
pub fn eye_name(subtype: u8) -> &'static str {
    match subtype {
        0 => "eye undefined",
        1 => "right eye",
        2 => "left eye",
        _ => "unknown eye code",
    }
}

impl IrisRecord19794 {
    /// Decode a record; `base` is the file it sits in (for image offsets).
    pub fn decode_in(record: &[u8], base: &[u8], quirks: &mut Vec<Quirk>) -> Result<Self, LdsError> {
        let bad = |what| LdsError::Invalid { file: FILE, what };
        let mut r = PART.open(record, FILE)?;
        let (subtype_count, header_length, mut out) = (|| {
            let record_length = r.u32()?;
            let _device = r.u16()?;
            let subtype_count = r.u8()?;
            let header_length = r.u16()?;
            let image_properties = r.u16()?;
            let iris_diameter = r.u16()?;
            let image_format = r.u16()?;
            let raw_size = (r.u16()?, r.u16()?);
            let intensity_depth = r.u8()?;
            let _transformation = r.u8()?;
            let _device_unique_id = r.take(16)?;
            let record = IrisRecord19794 {
                version: VERSION.into(),
                record_length,
                image_properties,
                iris_diameter,
                image_format,
                raw_size,
                intensity_depth,
                subtypes: Vec::new(),
            };
            Some((subtype_count, header_length, record))
        })()
        .ok_or(bad(PART.bad_header))?;
        if usize::from(header_length) != r.pos() {
            return Err(bad("iso 19794-6 record header length"));
        }
        quirks.extend(PART.length_quirk(u64::from(out.record_length), record));
        let subtypes = &mut out.subtypes;
        for _ in 0..subtype_count {
            let subtype = r.u8().ok_or(bad("iso 19794-6 subtype header"))?;
            let count = r.u16().ok_or(bad("iso 19794-6 subtype header"))?;
            let mut images = Vec::new();
            for _ in 0..count {
                let image = (|| {
                    let sequence = r.u16()?;
                    let quality = r.u8()?;
                    let rotation_angle = r.u16()?;
                    let rotation_uncertainty = r.u16()?;
                    let len = usize::try_from(r.u32()?).ok()?;
                    let bytes = r.take(len)?;
                    Some(IrisImage19794 {
                        sequence,
                        quality,
                        rotation_angle,
                        rotation_uncertainty,
                        image: EmbeddedImage::new(offset_in(base, bytes), bytes),
                    })
                })()
                .ok_or(bad("iso 19794-6 iris image"))?;
                images.push(image);
            }
            subtypes.push(IrisSubtype19794 { subtype, images });
        }
        quirks.extend(crate::lds::quirk::trailing_quirk(r.remaining()));
        Ok(out)
    }
}

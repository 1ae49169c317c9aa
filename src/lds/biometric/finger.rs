//! ISO/IEC 19794-4:2005 finger image records (`FIR\0`) as carried in DG3
//! (Doc 9303 Part 10 §4.7.3): record header, finger views and their images.
//!
//! General record header (32 bytes): format identifier `FIR\0`, version `010\0`,
//! record length (6), capture device id (2), image acquisition level (2), number of
//! fingers/palms (1), scale units (1), scan resolution h/v (2+2), image resolution h/v
//! (2+2), pixel depth (1), image compression algorithm (1), reserved (2).
//! Finger image header (14 bytes): data block length (4), position (1), count of views
//! (1), view number (1), quality (1), impression type (1), horizontal and vertical line
//! length (2+2), reserved (1); then the image.

use crate::lds::error::LdsError;
use crate::lds::image::EmbeddedImage;
use crate::lds::quirk::Quirk;

use super::{Part19794, VERSION, offset_in};

/// Format identifier of a 19794-4 record.
pub const FORMAT_ID: [u8; 4] = *b"FIR\0";

const FILE: &str = "DG3";
const PART: Part19794 = Part19794 {
    format_id: FORMAT_ID,
    name: "iso 19794-4",
    bad_format: "iso 19794-4 format identifier",
    bad_header: "iso 19794-4 record header",
    bad_version: "iso 19794-4 version",
    length_mismatch: "finger_record_length_mismatch",
};
const RECORD_HEADER_LEN: usize = 32;
const VIEW_HEADER_LEN: usize = 14;

/// A 19794-4 finger image record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FingerRecord19794 {
    /// Version, e.g. `"010"`.
    pub version: String,
    /// Record length as written.
    pub record_length: u64,
    /// Image acquisition level (ISO/IEC 19794-4 Table 1: 10, 20, 30, 31, 40, 41).
    pub acquisition_level: u16,
    /// Number of fingers or palms declared.
    pub finger_count: u8,
    /// Scale units (1 pixels per inch, 2 pixels per centimetre).
    pub scale_units: u8,
    /// Horizontal and vertical image resolution.
    pub image_resolution: (u16, u16),
    /// Bits per pixel.
    pub pixel_depth: u8,
    /// Image compression algorithm code ([`compression_name`]).
    pub compression: u8,
    /// The finger views, in record order.
    pub views: Vec<FingerView19794>,
}

/// One finger view of a 19794-4 record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FingerView19794 {
    /// Finger position (0 unknown, 1 right thumb … 10 left little, 11+ multi-finger/palm).
    pub position: u8,
    /// Count of views of this finger.
    pub view_count: u8,
    /// This view's number.
    pub view_number: u8,
    /// Quality 0..100.
    pub quality: u8,
    /// Impression type (0 live-scan plain, 1 live-scan rolled, …).
    pub impression: u8,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// The image (WSQ, JPEG, JPEG 2000, PNG or raw samples per `compression`).
    pub image: EmbeddedImage,
}

/// Name of a 19794-4 image compression algorithm code.
pub fn compression_name(code: u8) -> &'static str {
    match code {
        0 => "uncompressed",
        1 => "uncompressed-bit-packed",
        2 => "wsq",
        3 => "jpeg",
        4 => "jpeg2000",
        5 => "png",
        _ => "unknown",
    }
}

/// Name of a finger position code (ISO/IEC 19794-4 Table 2, as ANSI/NIST-ITL).
pub fn position_name(code: u8) -> &'static str {
    match code {
        0 => "unknown finger",
        1 => "right thumb",
        2 => "right index finger",
        3 => "right middle finger",
        4 => "right ring finger",
        5 => "right little finger",
        6 => "left thumb",
        7 => "left index finger",
        8 => "left middle finger",
        9 => "left ring finger",
        10 => "left little finger",
        11 => "plain right thumb",
        12 => "plain left thumb",
        13 => "plain right four fingers",
        14 => "plain left four fingers",
        15 => "plain thumbs (2)",
        20..=36 => "palm",
        _ => "unknown position code",
    }
}

/// Name of an impression type code (ISO/IEC 19794-4 Table 3).
pub fn impression_name(code: u8) -> &'static str {
    match code {
        0 => "live-scan plain",
        1 => "live-scan rolled",
        2 => "non-live-scan plain",
        3 => "non-live-scan rolled",
        8 => "swipe",
        9 => "live-scan contactless",
        _ => "other impression",
    }
}

impl FingerRecord19794 {
    /// Decode a record; `base` is the file it sits in (for image offsets).
    pub fn decode_in(record: &[u8], base: &[u8], quirks: &mut Vec<Quirk>) -> Result<Self, LdsError> {
        let bad = |what| LdsError::Invalid { file: FILE, what };
        let mut r = PART.open(record, FILE)?;
        let mut out = (|| {
            let record_length = r.u48()?;
            let _device = r.u16()?;
            let acquisition_level = r.u16()?;
            let finger_count = r.u8()?;
            let scale_units = r.u8()?;
            let _scan_h = r.u16()?;
            let _scan_v = r.u16()?;
            let image_resolution = (r.u16()?, r.u16()?);
            let pixel_depth = r.u8()?;
            let compression = r.u8()?;
            let _reserved = r.u16()?;
            Some(FingerRecord19794 {
                version: VERSION.into(),
                record_length,
                acquisition_level,
                finger_count,
                scale_units,
                image_resolution,
                pixel_depth,
                compression,
                views: Vec::new(),
            })
        })()
        .ok_or(bad(PART.bad_header))?;
        debug_assert_eq!(r.pos(), RECORD_HEADER_LEN);
        quirks.extend(PART.length_quirk(out.record_length, record));
        let finger_count = out.finger_count;
        let views = &mut out.views;
        while !r.remaining().is_empty() {
            if r.remaining().iter().all(|b| *b == 0) {
                quirks.push(Quirk::TrailingZeroPadding {
                    bytes: r.remaining().len(),
                });
                break;
            }
            let start = r.pos();
            let view = (|| {
                let len = usize::try_from(r.u32()?).ok()?;
                let position = r.u8()?;
                let view_count = r.u8()?;
                let view_number = r.u8()?;
                let quality = r.u8()?;
                let impression = r.u8()?;
                let width = r.u16()?;
                let height = r.u16()?;
                let _reserved = r.u8()?;
                let image = r.take(len.checked_sub(VIEW_HEADER_LEN)?)?;
                Some(FingerView19794 {
                    position,
                    view_count,
                    view_number,
                    quality,
                    impression,
                    width,
                    height,
                    image: EmbeddedImage::new(offset_in(base, image), image),
                })
            })()
            .ok_or(bad("iso 19794-4 finger view"))?;
            debug_assert!(r.pos() > start);
            views.push(view);
        }
        if views.len() != usize::from(finger_count) {
            quirks.push(Quirk::Other {
                name: "finger_view_count_mismatch",
                detail: format!(
                    "iso 19794-4 record declares {finger_count} finger(s) but holds {} view(s)",
                    views.len()
                ),
            });
        }
        Ok(out)
    }
}

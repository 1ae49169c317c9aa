//! Images carried by the LDS: facial images (DG2, DG5), displayed signatures (DG7),
//! finger and iris images (DG3, DG4).
//!
//! Doc 9303 Part 10 §4.7.2 allows JPEG (ISO/IEC 10918-1) and JPEG 2000 (ISO/IEC
//! 15444-1, as a JP2 file or a raw codestream) for faces; ISO/IEC 19794-4 adds WSQ
//! (FBI IAFIS-IC-0110) and PNG (ISO/IEC 15948) for fingers, 19794-6 PNG and JPEG 2000
//! for irises. This module recognises each by its magic bytes, reads the dimensions
//! from the headers without decoding, decodes JPEG, JPEG 2000 and PNG to 8-bit pixels
//! and encodes PNG; WSQ is decoded by [`crate::lds::wsq`], written here.
//!
//! Decoders: `zune-jpeg` (JPEG), `hayro-jpeg2000` (JPEG 2000, pure Rust, no `unsafe`),
//! `png`. The pixel count is bounded *before* a decoder allocates anything
//! ([`MAX_DIMENSION`], [`MAX_PIXELS`]), and so is what the headers make a decoder
//! build (tiles, components, layers, levels, code-blocks) and the JPEG 2000 decoding
//! work against the bytes present ([`bounds`]). Any panic inside
//! a third-party decoder is contained and turned into [`ImageError::DecoderFailed`];
//! an allocation failure is an abort that no panic handler sees, so the `emrtd` binary
//! decodes in a child process with an address-space limit and a timeout
//! ([`sandbox`]): a decoder that dies costs one picture. Image bytes are personal
//! data: errors carry formats and sizes only.

pub mod bounds;
pub mod sandbox;

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use thiserror::Error;

/// Largest width or height accepted (a 1000 ppi fingerprint slap is about 3200 pixels).
pub const MAX_DIMENSION: u32 = 16_384;
/// Largest number of pixels accepted (a 5 cm 1000 ppi four-finger slap is below 16 Mpx).
pub const MAX_PIXELS: u64 = 40_000_000;

/// An image encoding recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// JPEG (ISO/IEC 10918-1): `FF D8 FF`.
    Jpeg,
    /// JPEG 2000 JP2 file format (ISO/IEC 15444-1 Annex I): `00 00 00 0C 6A 50 20 20 0D 0A 87 0A`.
    Jp2,
    /// JPEG 2000 raw codestream (ISO/IEC 15444-1 Annex A): `FF 4F FF 51`.
    J2k,
    /// Wavelet scalar quantisation (FBI IAFIS-IC-0110): `FF A0 FF`.
    Wsq,
    /// PNG (ISO/IEC 15948): `89 50 4E 47 0D 0A 1A 0A`.
    Png,
}

impl ImageFormat {
    /// Usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Jp2 => "jp2",
            ImageFormat::J2k => "j2k",
            ImageFormat::Wsq => "wsq",
            ImageFormat::Png => "png",
        }
    }

    /// MIME type.
    pub fn mime_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Jp2 => "image/jp2",
            ImageFormat::J2k => "image/j2c",
            ImageFormat::Wsq => "image/x-wsq",
            ImageFormat::Png => "image/png",
        }
    }

    /// True for both JPEG 2000 forms.
    pub fn is_jpeg2000(self) -> bool {
        matches!(self, ImageFormat::Jp2 | ImageFormat::J2k)
    }
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Jp2 => "jpeg 2000 (jp2)",
            ImageFormat::J2k => "jpeg 2000 codestream",
            ImageFormat::Wsq => "wsq",
            ImageFormat::Png => "png",
        })
    }
}

/// Why an image could not be measured, decoded or encoded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The bytes start with no known image signature.
    #[error("unknown image format")]
    UnknownFormat,
    /// The header that carries the dimensions is truncated or malformed.
    #[error("malformed {format} header")]
    Header {
        /// Format recognised from the magic bytes.
        format: ImageFormat,
    },
    /// Zero width or height.
    #[error("{format} image has zero width or height")]
    Empty {
        /// Format.
        format: ImageFormat,
    },
    /// Dimensions beyond [`MAX_DIMENSION`] or [`MAX_PIXELS`]: rejected before allocating.
    #[error("{format} image of {width}x{height} pixels exceeds the size limit")]
    TooLarge {
        /// Format.
        format: ImageFormat,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The decoder rejected the data.
    #[error("cannot decode {format} image")]
    Decode {
        /// Format.
        format: ImageFormat,
        /// The decoder's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The headers ask the decoder for more than [`bounds`] allows: refused before
    /// decoding.
    #[error("{format} image needs {count} {what}, more than the {limit} allowed")]
    OverBudget {
        /// Format.
        format: ImageFormat,
        /// What was counted (`tiles`, `code-blocks`, …).
        what: &'static str,
        /// How many the headers ask for (an upper bound).
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// The decoding work the JPEG 2000 headers declare ([`bounds`]) is out
    /// of proportion to the bytes present: refused before decoding.
    #[error(
        "{format} image declares {width}x{height} pixels, {components} component(s), \
         {levels} decomposition level(s) and {layers} quality layer(s): {work} units of \
         decoding work for {bytes} bytes, more than the {limit} allowed \
         ({free} + {per_byte} per byte)",
        free = bounds::FREE_DECODE_WORK,
        per_byte = bounds::DECODE_WORK_PER_BYTE
    )]
    DecodeCost {
        /// Format.
        format: ImageFormat,
        /// Image width (SIZ).
        width: u64,
        /// Image height (SIZ).
        height: u64,
        /// Components (SIZ).
        components: u64,
        /// Most decomposition levels of any COD/COC.
        levels: u64,
        /// Most quality layers of any COD.
        layers: u64,
        /// Size of the image in bytes.
        bytes: u64,
        /// Estimated decoding work (units of [`bounds`]).
        work: u64,
        /// [`bounds::FREE_DECODE_WORK`] + [`bounds::DECODE_WORK_PER_BYTE`] × `bytes`.
        limit: u64,
    },
    /// The decoder process ([`sandbox`]) failed: it was killed, ran out of time or
    /// memory, or reported an error. Only this picture is lost.
    #[error("{0}")]
    DecoderProcess(String),
    /// The decoder panicked on this input (contained; a bug in the decoder).
    #[error("{format} decoder failed on this input")]
    DecoderFailed {
        /// Format.
        format: ImageFormat,
    },
    /// The decoder produced a sample layout this module cannot turn into pixels.
    #[error("{format} image has an unsupported layout of {channels} channel(s)")]
    Layout {
        /// Format.
        format: ImageFormat,
        /// Number of channels decoded.
        channels: usize,
    },
    /// Pixels for this format cannot be produced (no WSQ decoder is built in).
    #[error("decoding {format} images to pixels is not available")]
    NoDecoder {
        /// Format.
        format: ImageFormat,
    },
    /// PNG encoding failed.
    #[error("cannot encode png")]
    PngEncode(#[source] png::EncodingError),
}

/// Width and height in pixels, read from an image's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Dimensions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// How the samples of [`Pixels`] are interleaved (8 bits each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// One grey sample per pixel.
    Gray,
    /// Grey and alpha.
    GrayAlpha,
    /// Red, green, blue.
    Rgb,
    /// Red, green, blue, alpha.
    Rgba,
}

impl PixelLayout {
    /// Samples per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelLayout::Gray => 1,
            PixelLayout::GrayAlpha => 2,
            PixelLayout::Rgb => 3,
            PixelLayout::Rgba => 4,
        }
    }
}

/// A decoded image: 8-bit samples, rows top to bottom, interleaved per [`PixelLayout`].
#[derive(Clone, PartialEq, Eq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Sample layout.
    pub layout: PixelLayout,
    /// `width * height * layout.channels()` samples.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Pixels {
    // never print the samples (a face is personal data)
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pixels")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("layout", &self.layout)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl Pixels {
    /// Mean value of each channel (0..=255), e.g. to compare two decodes of one picture.
    pub fn channel_means(&self) -> Vec<f64> {
        let n = self.layout.channels();
        let mut sums = vec![0u64; n];
        for px in self.data.chunks_exact(n) {
            for (s, v) in sums.iter_mut().zip(px) {
                *s += u64::from(*v);
            }
        }
        let count = (self.data.len() / n).max(1) as f64;
        sums.into_iter().map(|s| s as f64 / count).collect()
    }
}

/// An image embedded in an LDS file: its bytes exactly as stored and where they start.
///
/// `Debug` and `Serialize` show the offset, length and format only: image bytes are
/// personal data and never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EmbeddedImage {
    /// Offset of the first image byte in the decoded file (DG2, DG5, …).
    pub offset: usize,
    /// The image bytes as stored.
    pub bytes: Vec<u8>,
}

impl EmbeddedImage {
    /// An image starting at `offset`.
    pub fn new(offset: usize, bytes: &[u8]) -> Self {
        EmbeddedImage {
            offset,
            bytes: bytes.to_vec(),
        }
    }

    /// Encoding recognised by magic bytes.
    pub fn format(&self) -> Option<ImageFormat> {
        detect(&self.bytes)
    }

    /// Number of image bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when no bytes are stored.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Byte range in the decoded file.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset.saturating_add(self.bytes.len())
    }

    /// Dimensions from the image's own headers.
    pub fn dimensions(&self) -> Result<Dimensions, ImageError> {
        dimensions(&self.bytes)
    }

    /// The image as PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, ImageError> {
        to_png(&self.bytes)
    }
}

impl std::fmt::Debug for EmbeddedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedImage")
            .field("offset", &self.offset)
            .field("len", &self.bytes.len())
            .field("format", &self.format())
            .finish()
    }
}

impl serde::Serialize for EmbeddedImage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("EmbeddedImage", 4)?;
        s.serialize_field("offset", &self.offset)?;
        s.serialize_field("length", &self.bytes.len())?;
        s.serialize_field("format", &self.format())?;
        s.serialize_field("dimensions", &self.dimensions().ok())?;
        s.end()
    }
}

/// Recognise an image encoding by its first bytes.
pub fn detect(bytes: &[u8]) -> Option<ImageFormat> {
    const JP2: [u8; 12] = [
        0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A,
    ];
    const PNG: [u8; 8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(&JP2) {
        Some(ImageFormat::Jp2)
    } else if bytes.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        Some(ImageFormat::J2k)
    } else if bytes.starts_with(&[0xFF, 0xA0, 0xFF]) {
        Some(ImageFormat::Wsq)
    } else if bytes.starts_with(&PNG) {
        Some(ImageFormat::Png)
    } else {
        None
    }
}

/// Width and height from the headers, without decoding the image.
pub fn dimensions(bytes: &[u8]) -> Result<Dimensions, ImageError> {
    let format = detect(bytes).ok_or(ImageError::UnknownFormat)?;
    let dims = match format {
        ImageFormat::Jpeg => jpeg_dimensions(bytes),
        ImageFormat::Jp2 => jp2_dimensions(bytes),
        ImageFormat::J2k => j2k_dimensions(bytes),
        ImageFormat::Wsq => wsq_dimensions(bytes),
        ImageFormat::Png => png_dimensions(bytes),
    };
    dims.ok_or(ImageError::Header { format })
}

/// Dimensions, checked against the limits.
fn bounded_dimensions(bytes: &[u8], format: ImageFormat) -> Result<Dimensions, ImageError> {
    let d = dimensions(bytes)?;
    check_bounds(format, d.width, d.height)?;
    Ok(d)
}

fn check_bounds(format: ImageFormat, width: u32, height: u32) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Empty { format });
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooLarge {
            format,
            width,
            height,
        });
    }
    Ok(())
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *s.first()?,
        *s.get(1)?,
        *s.get(2)?,
        *s.get(3)?,
    ]))
}

/// JPEG: where the first SOFn marker stands, found by walking the marker segments
/// (ISO/IEC 10918-1 B.2.2).
fn jpeg_frame_at(b: &[u8]) -> Option<usize> {
    let mut pos = 2usize; // after SOI
    loop {
        // skip fill bytes
        while *b.get(pos)? == 0xFF && *b.get(pos.checked_add(1)?)? == 0xFF {
            pos += 1;
        }
        if *b.get(pos)? != 0xFF {
            return None;
        }
        let marker = *b.get(pos + 1)?;
        match marker {
            // standalone markers
            0x01 | 0xD0..=0xD7 => pos += 2,
            0xD9 | 0xDA => return None, // EOI or SOS before any frame header
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Some(pos),
            _ => {
                let len = usize::from(be16(b, pos + 2)?);
                if len < 2 {
                    return None;
                }
                pos = pos.checked_add(2 + len)?;
            }
        }
    }
}

/// JPEG: the dimensions in the first frame header (FF Cn, Lf, P, Y, X).
fn jpeg_dimensions(b: &[u8]) -> Option<Dimensions> {
    let pos = jpeg_frame_at(b)?;
    let height = be16(b, pos + 5)?;
    let width = be16(b, pos + 7)?;
    Some(Dimensions {
        width: u32::from(width),
        height: u32::from(height),
    })
}

/// JP2: the image header box inside the JP2 header box (ISO/IEC 15444-1 I.5.3.1).
fn jp2_dimensions(b: &[u8]) -> Option<Dimensions> {
    let jp2h = find_box(b, *b"jp2h")?;
    let ihdr = find_box(jp2h, *b"ihdr")?;
    Some(Dimensions {
        height: be32(ihdr, 0)?,
        width: be32(ihdr, 4)?,
    })
}

/// Contents of the first box of `kind` among the boxes in `b`.
fn find_box(b: &[u8], kind: [u8; 4]) -> Option<&[u8]> {
    let mut pos = 0usize;
    while pos < b.len() {
        let lbox = be32(b, pos)?;
        let tbox = b.get(pos + 4..pos + 8)?;
        let (header, total) = match lbox {
            0 => (8usize, b.len() - pos),
            1 => {
                let hi = u64::from(be32(b, pos + 8)?);
                let lo = u64::from(be32(b, pos + 12)?);
                (16, usize::try_from((hi << 32) | lo).ok()?)
            }
            2..=7 => return None,
            n => (8, usize::try_from(n).ok()?),
        };
        if total < header {
            return None;
        }
        let end = pos.checked_add(total)?;
        if tbox == kind {
            return b.get(pos + header..end);
        }
        pos = end;
    }
    None
}

/// JPEG 2000 codestream: the SIZ marker segment (ISO/IEC 15444-1 A.5.1).
fn j2k_dimensions(b: &[u8]) -> Option<Dimensions> {
    // FF4F FF51 Lsiz(2) Rsiz(2) Xsiz(4) Ysiz(4) XOsiz(4) YOsiz(4)
    let xsiz = be32(b, 8)?;
    let ysiz = be32(b, 12)?;
    let xosiz = be32(b, 16)?;
    let yosiz = be32(b, 20)?;
    Some(Dimensions {
        width: xsiz.checked_sub(xosiz)?,
        height: ysiz.checked_sub(yosiz)?,
    })
}

/// PNG: the IHDR chunk that must come first (ISO/IEC 15948 11.2.2).
fn png_dimensions(b: &[u8]) -> Option<Dimensions> {
    if b.get(12..16)? != b"IHDR" {
        return None;
    }
    Some(Dimensions {
        width: be32(b, 16)?,
        height: be32(b, 20)?,
    })
}

/// WSQ: the frame header (SOF, `FF A2`): Lf, A, B, Y (lines), X (samples per line).
fn wsq_dimensions(b: &[u8]) -> Option<Dimensions> {
    let mut pos = 2; // after SOI FFA0
    loop {
        if *b.get(pos)? != 0xFF {
            return None;
        }
        let marker = *b.get(pos + 1)?;
        match marker {
            0xA2 => {
                let height = be16(b, pos + 6)?;
                let width = be16(b, pos + 8)?;
                return Some(Dimensions {
                    width: u32::from(width),
                    height: u32::from(height),
                });
            }
            0xA1 | 0xA3 => return None, // EOI, or a block before the frame header
            _ => {
                let len = usize::from(be16(b, pos + 2)?);
                if len < 2 {
                    return None;
                }
                pos = pos.checked_add(2 + len)?;
            }
        }
    }
}

/// Run a third-party decoder, turning a panic into [`ImageError::DecoderFailed`].
fn contained<T>(format: ImageFormat, f: impl FnOnce() -> Result<T, ImageError>) -> Result<T, ImageError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(ImageError::DecoderFailed { format }))
}

/// Decode an image to 8-bit pixels (JPEG, JPEG 2000, PNG or WSQ).
pub fn decode(bytes: &[u8]) -> Result<Pixels, ImageError> {
    let format = detect(bytes).ok_or(ImageError::UnknownFormat)?;
    let dims = bounded_dimensions(bytes, format)?;
    bounds::check(bytes, format)?;
    let pixels = match format {
        ImageFormat::Jpeg => contained(format, || decode_jpeg(bytes)),
        ImageFormat::Jp2 | ImageFormat::J2k => contained(format, || decode_jpeg2000(bytes, format)),
        ImageFormat::Png => contained(format, || decode_png(bytes)),
        ImageFormat::Wsq => decode_wsq(bytes),
    }?;
    // the decoders read the dimensions again; they must agree with the header we bounded
    if pixels.width != dims.width || pixels.height != dims.height {
        return Err(ImageError::Header { format });
    }
    Ok(pixels)
}

/// WSQ: the decoder written here ([`crate::lds::wsq`]), bounded by the same limits.
fn decode_wsq(bytes: &[u8]) -> Result<Pixels, ImageError> {
    let format = ImageFormat::Wsq;
    let image = crate::lds::wsq::decode(bytes, MAX_DIMENSION, MAX_PIXELS).map_err(|e| match e {
        crate::lds::wsq::WsqError::TooLarge { width, height } => ImageError::TooLarge {
            format,
            width,
            height,
        },
        e => ImageError::Decode {
            format,
            source: Box::new(e),
        },
    })?;
    Ok(Pixels {
        width: image.width,
        height: image.height,
        layout: PixelLayout::Gray,
        data: image.pixels,
    })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Pixels, ImageError> {
    use zune_jpeg::JpegDecoder;
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;

    let format = ImageFormat::Jpeg;
    let err = |e: zune_jpeg::errors::DecodeErrors| ImageError::Decode {
        format,
        source: e.to_string().into(),
    };
    let max = MAX_DIMENSION as usize;
    let options = DecoderOptions::new_safe().set_max_width(max).set_max_height(max);
    let mut probe = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    probe.decode_headers().map_err(err)?;
    let (out, layout) = match probe.input_colorspace() {
        Some(ColorSpace::Luma) => (ColorSpace::Luma, PixelLayout::Gray),
        _ => (ColorSpace::RGB, PixelLayout::Rgb),
    };
    let options = options.jpeg_set_out_colorspace(out);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(err)?;
    let info = decoder.info().ok_or(ImageError::Header { format })?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_bounds(format, width, height)?;
    let size = decoder
        .output_buffer_size()
        .ok_or(ImageError::Header { format })?;
    if size != width as usize * height as usize * layout.channels() {
        return Err(ImageError::Layout {
            format,
            channels: size / (width as usize * height as usize).max(1),
        });
    }
    let mut data = vec![0u8; size];
    decoder.decode_into(&mut data).map_err(err)?;
    Ok(Pixels {
        width,
        height,
        layout,
        data,
    })
}

fn decode_jpeg2000(bytes: &[u8], format: ImageFormat) -> Result<Pixels, ImageError> {
    use hayro_jpeg2000::{ColorSpace, DecodeSettings, DecoderContext, Image};

    let err = |e: hayro_jpeg2000::DecodeError| ImageError::Decode {
        format,
        source: e.to_string().into(),
    };
    let image = Image::new(bytes, &DecodeSettings::default()).map_err(err)?;
    let (width, height) = (image.width(), image.height());
    check_bounds(format, width, height)?;
    let has_alpha = image.has_alpha();
    let colour_channels = image.color_space().num_channels();
    let cmyk = matches!(image.color_space(), ColorSpace::CMYK);
    // at most 4 output channels: refuse before the decoder allocates per component
    let wanted = usize::from(colour_channels) + usize::from(has_alpha);
    if wanted > 4 {
        return Err(ImageError::Layout {
            format,
            channels: wanted,
        });
    }
    let mut ctx = DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(err)?;
    let samples = decoded.data_u8();
    let pixel_count = width as usize * height as usize;
    let channels = samples.len() / pixel_count.max(1);
    if samples.len() != pixel_count * channels
        || channels != usize::from(colour_channels) + usize::from(has_alpha)
    {
        return Err(ImageError::Layout { format, channels });
    }
    let (layout, data) = match (channels, has_alpha, cmyk) {
        (1, false, _) => (PixelLayout::Gray, samples),
        (2, true, _) => (PixelLayout::GrayAlpha, samples),
        (3, false, _) => (PixelLayout::Rgb, samples),
        (4, true, false) => (PixelLayout::Rgba, samples),
        (4, false, true) => (PixelLayout::Rgb, cmyk_to_rgb(&samples)),
        _ => return Err(ImageError::Layout { format, channels }),
    };
    Ok(Pixels {
        width,
        height,
        layout,
        data,
    })
}

/// Naive CMYK to RGB (no colour management): `255 - min(255, c + k)` per channel.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        if let [c, m, y, k] = *px {
            for v in [c, m, y] {
                out.push(255u8.saturating_sub(v.saturating_add(k)));
            }
        }
    }
    out
}

fn decode_png(bytes: &[u8]) -> Result<Pixels, ImageError> {
    let format = ImageFormat::Png;
    let err = |e: png::DecodingError| ImageError::Decode {
        format,
        source: Box::new(e),
    };
    let limits = png::Limits {
        bytes: (MAX_PIXELS as usize).saturating_mul(8),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(err)?;
    let (width, height) = {
        let info = reader.info();
        (info.width, info.height)
    };
    check_bounds(format, width, height)?;
    let (colour, depth) = reader.output_color_type();
    let layout = match (colour, depth) {
        (png::ColorType::Grayscale, png::BitDepth::Eight) => PixelLayout::Gray,
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight) => PixelLayout::GrayAlpha,
        (png::ColorType::Rgb, png::BitDepth::Eight) => PixelLayout::Rgb,
        (png::ColorType::Rgba, png::BitDepth::Eight) => PixelLayout::Rgba,
        _ => {
            return Err(ImageError::Layout {
                format,
                channels: colour.samples(),
            });
        }
    };
    let size = reader.output_buffer_size().ok_or(ImageError::Header { format })?;
    let mut data = vec![0u8; size];
    let frame = reader.next_frame(&mut data).map_err(err)?;
    data.truncate(frame.buffer_size());
    let expected = width as usize * height as usize * layout.channels();
    if data.len() != expected {
        return Err(ImageError::Layout {
            format,
            channels: layout.channels(),
        });
    }
    Ok(Pixels {
        width,
        height,
        layout,
        data,
    })
}

/// Encode pixels as PNG (8-bit, no interlace).
pub fn encode_png(pixels: &Pixels) -> Result<Vec<u8>, ImageError> {
    let colour = match pixels.layout {
        PixelLayout::Gray => png::ColorType::Grayscale,
        PixelLayout::GrayAlpha => png::ColorType::GrayscaleAlpha,
        PixelLayout::Rgb => png::ColorType::Rgb,
        PixelLayout::Rgba => png::ColorType::Rgba,
    };
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, pixels.width, pixels.height);
        encoder.set_color(colour);
        encoder.set_depth(png::BitDepth::Eight);
        // fdeflate: several times faster than the default deflate on photographs, for
        // files a little larger (a face in a report, an extracted image)
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(ImageError::PngEncode)?;
        writer
            .write_image_data(&pixels.data)
            .map_err(ImageError::PngEncode)?;
        writer.finish().map_err(ImageError::PngEncode)?;
    }
    Ok(out)
}

/// Decode an image (JPEG, JPEG 2000, PNG or WSQ) and encode it as PNG, e.g. to show a face
/// in a browser or report: in the decoder process when one is set up
/// ([`sandbox::enable`], as the `emrtd` binary does), else in this process.
pub fn to_png(image_bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    match sandbox::active() {
        Some(s) => s.to_png(image_bytes),
        None => to_png_in_process(image_bytes),
    }
}

/// [`to_png`] in this process, whatever [`sandbox::active`] says (the decoder
/// process itself runs this).
pub fn to_png_in_process(image_bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    encode_png(&decode(image_bytes)?)
}

/// A file of the repository's `test-vectors/` folder.
#[cfg(test)]
pub(crate) fn vector(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/test-vectors/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn detects_by_magic() {
        assert_eq!(detect(&vector("generated/face_rgb.jpg")), Some(ImageFormat::Jpeg));
        assert_eq!(detect(&vector("generated/face_gray.jp2")), Some(ImageFormat::Jp2));
        assert_eq!(detect(&vector("generated/face_rgb.j2k")), Some(ImageFormat::J2k));
        assert_eq!(detect(&[0xFF, 0xA0, 0xFF, 0xA8]), Some(ImageFormat::Wsq));
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n...."), Some(ImageFormat::Png));
        assert_eq!(detect(b"FAC\0"), None);
        assert_eq!(detect(&[]), None);
    }

    #[test]
    fn dimensions_from_headers() {
        for f in [
            "generated/face_rgb.jpg",
            "generated/face_gray.jpg",
            "generated/face_rgb.j2k",
            "generated/face_gray.jp2",
            "lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg",
        ] {
            assert_eq!(
                dimensions(&vector(f)).unwrap(),
                Dimensions {
                    width: 413,
                    height: 531
                },
                "{f}"
            );
        }
    }

    #[test]
    fn png_roundtrip() {
        let px = Pixels {
            width: 3,
            height: 2,
            layout: PixelLayout::Rgb,
            data: (0..18).collect(),
        };
        let png = encode_png(&px).unwrap();
        assert_eq!(detect(&png), Some(ImageFormat::Png));
        assert_eq!(dimensions(&png).unwrap(), Dimensions { width: 3, height: 2 });
        assert_eq!(decode(&png).unwrap(), px);
    }

    #[test]
    fn absurd_dimensions_rejected_before_decoding() {
        // a PNG header claiming 100000 x 100000 pixels
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(decode(&png), Err(ImageError::TooLarge { .. })));
        // a JPEG 2000 codestream SIZ claiming 60000 x 60000
        let mut j2k = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00];
        j2k.extend_from_slice(&60_000u32.to_be_bytes());
        j2k.extend_from_slice(&60_000u32.to_be_bytes());
        j2k.extend_from_slice(&[0; 8]);
        assert!(matches!(decode(&j2k), Err(ImageError::TooLarge { .. })));
        // a JPEG SOF0 of 0 x 10
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x00, 0x00, 0x0A, 0x01, 0x01, 0x11, 0x00,
        ];
        assert!(matches!(decode(&jpeg), Err(ImageError::Empty { .. })));
    }

    #[test]
    fn wsq_dimensions_from_the_frame_header() {
        // SOI, SOF: Lf=17, A, B, Y=0x0200 (lines), X=0x0180 (samples per line), ...
        let wsq = [
            0xFF, 0xA0, 0xFF, 0xA2, 0x00, 0x11, 0x00, 0xFF, 0x02, 0x00, 0x01, 0x80, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0,
        ];
        assert_eq!(
            dimensions(&wsq).unwrap(),
            Dimensions {
                width: 0x180,
                height: 0x200
            }
        );
        // the header alone has no tables: the decoder says so instead of guessing
        assert!(matches!(to_png(&wsq), Err(ImageError::Decode { .. })));
    }

    proptest! {
        #[test]
        fn never_panics(tail in proptest::collection::vec(any::<u8>(), 0..300),
                        magic in prop_oneof![
                            Just(vec![0xFFu8, 0xD8, 0xFF]),
                            Just(vec![0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A]),
                            Just(vec![0xFF, 0x4F, 0xFF, 0x51]),
                            Just(vec![0xFF, 0xA0, 0xFF]),
                            Just(b"\x89PNG\r\n\x1a\n".to_vec()),
                            Just(vec![]),
                        ]) {
            let mut bytes = magic;
            bytes.extend_from_slice(&tail);
            let _ = dimensions(&bytes);
            let _ = to_png(&bytes);
        }
    }
}

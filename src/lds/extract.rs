//! The images of a document, extracted for a forensic record: faces of DG2 (Doc 9303
//! Part 10 §4.7.2), fingers of DG3 and irises of DG4 (§4.7.3–4.7.4), the displayed
//! portrait of DG5, the DG6 image and the displayed signature or usual mark of DG7
//! (§4.7.5–4.7.7).
//!
//! Pure: file bytes in, named images out. Each image is taken byte for byte as stored
//! in the data group (`face-1.jpg`, `face-1.jp2`, … named by the format its magic
//! bytes show) and, where it can be decoded, also converted to PNG (`face-1.png`)
//! with [`crate::lds::image::to_png`]; a conversion that fails leaves no PNG and says
//! why in the record. Writing them to disk is the dump's job
//! (`crate::reader::dump`).
//!
//! Images are personal data: `Debug` of [`ExtractedImage`] shows the record only, and
//! records and errors carry formats, sizes, dimensions and hashes, never pixels.

use crate::crypto::sha256_hex;

use super::group::Decoded;
use super::image::{EmbeddedImage, ImageFormat};
use super::{LdsError, LdsFile};

/// What an extracted image shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageRole {
    /// A face of DG2.
    Face,
    /// A finger of DG3.
    Finger,
    /// An iris of DG4.
    Iris,
    /// A displayed portrait of DG5.
    Portrait,
    /// An image of DG6 (reserved for future use by Doc 9303).
    Dg6Image,
    /// A displayed signature or usual mark of DG7.
    Signature,
}

impl ImageRole {
    /// The prefix of the file names (`face`, `portrait`, `signature`, …).
    pub fn prefix(self) -> &'static str {
        match self {
            ImageRole::Face => "face",
            ImageRole::Finger => "finger",
            ImageRole::Iris => "iris",
            ImageRole::Portrait => "portrait",
            ImageRole::Dg6Image => "dg6-image",
            ImageRole::Signature => "signature",
        }
    }

    /// The data group that holds images of this role.
    pub fn source(self) -> LdsFile {
        LdsFile::Dg(match self {
            ImageRole::Face => 2,
            ImageRole::Finger => 3,
            ImageRole::Iris => 4,
            ImageRole::Portrait => 5,
            ImageRole::Dg6Image => 6,
            ImageRole::Signature => 7,
        })
    }

    /// The role of the images a data group holds, if it holds images.
    pub fn of(file: LdsFile) -> Option<ImageRole> {
        Some(match file {
            LdsFile::Dg(2) => ImageRole::Face,
            LdsFile::Dg(3) => ImageRole::Finger,
            LdsFile::Dg(4) => ImageRole::Iris,
            LdsFile::Dg(5) => ImageRole::Portrait,
            LdsFile::Dg(6) => ImageRole::Dg6Image,
            LdsFile::Dg(7) => ImageRole::Signature,
            _ => return None,
        })
    }
}

/// Stable identifier of an image format (`jpeg`, `jp2`, `j2k`, `wsq`, `png`), as
/// [`ImageFormat`] serialises.
pub fn format_id(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Jp2 => "jp2",
        ImageFormat::J2k => "j2k",
        ImageFormat::Wsq => "wsq",
        ImageFormat::Png => "png",
    }
}

/// The PNG written next to an image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PngRecord {
    /// File name (`face-1.png`).
    pub name: String,
    /// Size in bytes.
    pub size: usize,
    /// SHA-256 of the PNG, hex.
    pub sha256: String,
}

/// One extracted image, as listed in a dump's `manifest.json` (`images`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageRecord {
    /// File name of the image bytes as stored (`face-1.jpg`, `face-1.jp2`, `finger-2.wsq`;
    /// `.bin` when the format is not recognised).
    pub name: String,
    /// The data group it was taken from (`DG2`).
    pub source: String,
    /// What it shows.
    pub role: ImageRole,
    /// 1-based number among the images of its data group.
    pub index: usize,
    /// Offset of the first image byte in the data group file.
    pub offset: usize,
    /// Number of image bytes.
    pub size: usize,
    /// Format by magic bytes (`jpeg`, `jp2`, `j2k`, `wsq`, `png`); `None` if unknown.
    pub format: Option<String>,
    /// Width from the image's own headers.
    pub width: Option<u32>,
    /// Height from the image's own headers.
    pub height: Option<u32>,
    /// Width the biometric record declares (faces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_width: Option<u32>,
    /// Height the biometric record declares (faces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_height: Option<u32>,
    /// SHA-256 of the image bytes, hex.
    pub sha256: String,
    /// The PNG conversion, when it succeeded (for an image stored as PNG: the image
    /// itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub png: Option<PngRecord>,
    /// Why no PNG was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub png_error: Option<String>,
}

/// A data group whose images could not be extracted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtractionError {
    /// The data group (`DG2`).
    pub source: String,
    /// Why (decoder error, without personal data).
    pub error: String,
}

/// An image and its PNG, ready to be written.
#[derive(Clone, PartialEq, Eq)]
pub struct ExtractedImage {
    /// What it is and the names to write it under.
    pub record: ImageRecord,
    /// The image bytes exactly as stored in the data group.
    pub bytes: Vec<u8>,
    /// The PNG conversion, when one was made (not for images stored as PNG).
    pub png: Option<Vec<u8>>,
}

impl std::fmt::Debug for ExtractedImage {
    // never the pixels or image bytes: a face is personal data
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtractedImage")
            .field("record", &self.record)
            .field("bytes", &self.bytes.len())
            .field("png", &self.png.as_ref().map(Vec::len))
            .finish()
    }
}

impl ExtractedImage {
    /// The files to write: `(name, bytes)` of the image and, if made, of its PNG.
    pub fn files(&self) -> Vec<(&str, &[u8])> {
        let mut out = vec![(self.record.name.as_str(), self.bytes.as_slice())];
        if let (Some(png), Some(rec)) = (&self.png, &self.record.png) {
            out.push((rec.name.as_str(), png.as_slice()));
        }
        out
    }
}

/// Every image of a set of files, and the data groups that failed to decode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extraction {
    /// The images, in data group order, then file order.
    pub images: Vec<ExtractedImage>,
    /// Data groups that hold images but could not be decoded.
    pub errors: Vec<ExtractionError>,
}

impl Extraction {
    /// The records of the images (for the manifest).
    pub fn records(&self) -> Vec<ImageRecord> {
        self.images.iter().map(|i| i.record.clone()).collect()
    }
}

/// One image: name it, hash it, convert it.
fn extract_one(
    role: ImageRole,
    index: usize,
    image: &EmbeddedImage,
    declared: (Option<u32>, Option<u32>),
) -> ExtractedImage {
    let format = image.format();
    let stem = format!("{}-{index}", role.prefix());
    let name = format!("{stem}.{}", format.map_or("bin", ImageFormat::extension));
    let dims = image.dimensions().ok();
    let (png, png_record, png_error) = match format {
        Some(ImageFormat::Png) => (
            None,
            Some(PngRecord {
                name: name.clone(),
                size: image.len(),
                sha256: sha256_hex(&image.bytes),
            }),
            None,
        ),
        _ => match image.to_png() {
            Ok(png) => {
                let rec = PngRecord {
                    name: format!("{stem}.png"),
                    size: png.len(),
                    sha256: sha256_hex(&png),
                };
                (Some(png), Some(rec), None)
            }
            Err(e) => (
                None,
                None,
                Some(format!(
                    "{} image could not be decoded: {}",
                    role.prefix(),
                    crate::error::text(&e)
                )),
            ),
        },
    };
    ExtractedImage {
        record: ImageRecord {
            name,
            source: role.source().name(),
            role,
            index,
            offset: image.offset,
            size: image.len(),
            format: format.map(|f| format_id(f).to_owned()),
            width: dims.map(|d| d.width),
            height: dims.map(|d| d.height),
            declared_width: declared.0,
            declared_height: declared.1,
            sha256: sha256_hex(&image.bytes),
            png: png_record,
            png_error,
        },
        bytes: image.bytes.clone(),
        png,
    }
}

/// The images of one file. Files that hold no images give an empty list; a data group
/// that holds images but does not decode is an error.
pub fn extract_file(file: LdsFile, bytes: &[u8]) -> Result<Vec<ExtractedImage>, LdsError> {
    if ImageRole::of(file).is_none() {
        return Ok(Vec::new());
    }
    let Some(decoded) = Decoded::decode(file, bytes) else {
        return Ok(Vec::new());
    };
    Ok(decoded?
        .images()
        .iter()
        .enumerate()
        .map(|(i, r)| extract_one(r.role, i + 1, r.image, r.declared))
        .collect())
}

/// The images of every file given (a dump's files). A data group that does not decode
/// is listed in [`Extraction::errors`] and the others are still extracted.
pub fn extract_all<'a, I>(files: I) -> Extraction
where
    I: IntoIterator<Item = (LdsFile, &'a [u8])>,
{
    let mut files: Vec<(LdsFile, &[u8])> = files
        .into_iter()
        .filter(|(f, _)| ImageRole::of(*f).is_some())
        .collect();
    files.sort_by_key(|(f, _)| *f);
    let mut out = Extraction::default();
    for (file, bytes) in files {
        match extract_file(file, bytes) {
            Ok(images) => out.images.extend(images),
            Err(e) => out.errors.push(ExtractionError {
                source: file.name(),
                error: crate::error::text(&e),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::image::vector;

    #[test]
    fn names_follow_role_index_and_format() {
        let dg2 = vector("lds/jmrtd_bsi2008/Datagroup2.bin");
        let imgs = extract_file(LdsFile::Dg(2), &dg2).unwrap();
        assert_eq!(imgs.len(), 1);
        let r = &imgs[0].record;
        assert_eq!(r.source, "DG2");
        assert_eq!(r.role, ImageRole::Face);
        assert_eq!(r.index, 1);
        let ext = r.name.rsplit_once('.').unwrap().1;
        assert_eq!(
            Some(ext),
            r.format.as_deref().map(|f| if f == "jpeg" { "jpg" } else { f })
        );
        assert_eq!(&dg2[r.offset..r.offset + r.size], imgs[0].bytes.as_slice());
        assert_eq!(r.png.as_ref().unwrap().name, "face-1.png");
        assert!(r.png_error.is_none());
        let files = imgs[0].files();
        assert_eq!(files.len(), 2);
        // Debug never shows bytes
        let dbg = format!("{:?}", imgs[0]);
        assert!(dbg.len() < 1000, "{dbg}");
    }

    #[test]
    fn files_without_images_give_nothing() {
        assert!(extract_file(LdsFile::Dg(1), b"anything").unwrap().is_empty());
        assert!(extract_file(LdsFile::Sod, b"").unwrap().is_empty());
        assert!(extract_file(LdsFile::Dg(2), &[0x75, 0x01]).is_err());
    }

    #[test]
    fn a_broken_group_is_an_error_and_the_others_still_extract() {
        let dg5 = vector("lds/tsemrtd_synthetic_dg11_dg12/EF_DG5.bin");
        let bad = [0x75u8, 0x03, 0x7F, 0x61, 0x00];
        let x = extract_all([(LdsFile::Dg(2), &bad[..]), (LdsFile::Dg(5), &dg5[..])]);
        assert_eq!(x.errors.len(), 1);
        assert_eq!(x.errors[0].source, "DG2");
        assert_eq!(x.images.len(), 1);
        assert_eq!(x.images[0].record.name, "portrait-1.jp2");
    }

    #[test]
    fn undecodable_image_records_why_and_makes_no_png() {
        // a JPEG start of image followed by garbage
        let img = EmbeddedImage::new(7, &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0x01]);
        let x = extract_one(ImageRole::Signature, 2, &img, (None, None));
        assert_eq!(x.record.name, "signature-2.jpg");
        assert!(x.png.is_none());
        assert!(x.record.png.is_none());
        assert!(x.record.png_error.is_some());
        assert_eq!(x.files().len(), 1);
        assert_eq!(x.record.offset, 7);
        let unknown = extract_one(ImageRole::Face, 1, &EmbeddedImage::new(0, b"xyz"), (None, None));
        assert_eq!(unknown.record.name, "face-1.bin");
        assert_eq!(unknown.record.format, None);
    }
}

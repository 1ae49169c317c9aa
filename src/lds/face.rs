//! Facial images of DG2 (Doc 9303 Part 10 §4.7.2): the ISO/IEC 19794-5:2005 facial
//! record (`FAC\0`) and the ISO/IEC 39794-5:2019 face image data block, plus the
//! encoder of a one-face 19794-5 DG2 for the emulator.
//!
//! 19794-5:2005 layout (big-endian):
//! ```text
//! facial record header (14)  'FAC\0' '010\0' record length (4) number of faces (2)
//! per face:
//!   facial information (20)  block length (4) feature points (2) gender (1)
//!                            eye colour (1) hair colour (1) property mask (3)
//!                            expression (2) pose angle (3) pose uncertainty (3)
//!   feature points (8 each)  type (1) code (1) x (2) y (2) reserved (2)
//!   image information (12)   face image type (1) image data type (1: 0 JPEG,
//!                            1 JPEG 2000) width (2) height (2) colour space (1)
//!                            source type (1) device type (2) quality (2)
//!   image data               block length - 32 - 8 * feature points bytes
//! ```

use crate::lds::biometric::iso39794::{
    self, DateTime39794, ImageDataBlock, Representation39794, code_field, field, int_field, kids,
};
use crate::lds::biometric::{
    BiometricData, BiometricGroup, BiometricHeader, BiometricTemplate, FORMAT_OWNER_JTC1_SC37,
    FORMAT_TYPE_FACE_19794, Modality, Part19794, offset_in, standalone,
};
use crate::lds::error::LdsError;
use crate::lds::image::{self, EmbeddedImage, ImageFormat};
use crate::lds::quirk::Quirk;
use crate::tlv::Tlv;

/// Format identifier of a 19794-5 record.
pub const FORMAT_ID: [u8; 4] = *b"FAC\0";
/// Version of the 2005 edition that Doc 9303 uses.
pub const VERSION_2005: [u8; 4] = *b"010\0";

const PART: Part19794 = Part19794 {
    format_id: FORMAT_ID,
    name: "iso 19794-5",
    bad_format: "iso 19794-5 format identifier",
    bad_header: "iso 19794-5 record header",
    bad_version: "iso 19794-5 version (only 010 of 2005 is used by doc 9303)",
    length_mismatch: "face_record_length_mismatch",
};

const RECORD_HEADER_LEN: usize = 14;
const FACE_HEADER_LEN: usize = 32; // facial information (20) + image information (12)
const FEATURE_POINT_LEN: usize = 8;

/// The image type a face record declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceImageDataType {
    /// JPEG (19794-5 code 0, 39794-5 code 2).
    Jpeg,
    /// JPEG 2000 (19794-5 code 1).
    Jpeg2000,
    /// JPEG 2000 lossy (39794-5 code 3).
    Jpeg2000Lossy,
    /// JPEG 2000 lossless (39794-5 code 4).
    Jpeg2000Lossless,
    /// Another code.
    Other(i64),
}

impl FaceImageDataType {
    /// From the 19794-5 image data type byte.
    pub fn from_19794(code: u8) -> Self {
        match code {
            0 => FaceImageDataType::Jpeg,
            1 => FaceImageDataType::Jpeg2000,
            c => FaceImageDataType::Other(i64::from(c)),
        }
    }

    /// From the 39794-5 `ImageDataFormatCode`.
    pub fn from_39794(code: i64) -> Self {
        match code {
            2 => FaceImageDataType::Jpeg,
            3 => FaceImageDataType::Jpeg2000Lossy,
            4 => FaceImageDataType::Jpeg2000Lossless,
            c => FaceImageDataType::Other(c),
        }
    }

    /// The 19794-5 code, if this type has one.
    pub fn to_19794(self) -> Option<u8> {
        match self {
            FaceImageDataType::Jpeg => Some(0),
            FaceImageDataType::Jpeg2000
            | FaceImageDataType::Jpeg2000Lossy
            | FaceImageDataType::Jpeg2000Lossless => Some(1),
            FaceImageDataType::Other(c) => u8::try_from(c).ok(),
        }
    }

    /// Whether bytes of `format` agree with this declared type.
    pub fn matches(self, format: ImageFormat) -> bool {
        match self {
            FaceImageDataType::Jpeg => format == ImageFormat::Jpeg,
            FaceImageDataType::Jpeg2000
            | FaceImageDataType::Jpeg2000Lossy
            | FaceImageDataType::Jpeg2000Lossless => format.is_jpeg2000(),
            FaceImageDataType::Other(_) => false,
        }
    }
}

/// An ISO/IEC 19794-5:2005 facial record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FaceRecord19794 {
    /// Record length as written (checked against the bytes present; see quirks).
    pub record_length: u32,
    /// The faces.
    pub images: Vec<FacialImage19794>,
}

/// One face of a 19794-5 record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FacialImage19794 {
    /// Gender (0 unspecified, 1 male, 2 female, 0xFF unknown).
    pub gender: u8,
    /// Eye colour.
    pub eye_colour: u8,
    /// Hair colour.
    pub hair_colour: u8,
    /// Property mask (24 bits).
    pub property_mask: u32,
    /// Expression.
    pub expression: u16,
    /// Pose angle yaw, pitch, roll (encoded as in 19794-5).
    pub pose_angle: [u8; 3],
    /// Pose angle uncertainty.
    pub pose_angle_uncertainty: [u8; 3],
    /// Feature points.
    pub feature_points: Vec<FeaturePoint>,
    /// Face image type (0 basic, 1 full frontal, 2 token frontal).
    pub face_image_type: u8,
    /// Image data type byte (0 JPEG, 1 JPEG 2000).
    pub image_data_type: u8,
    /// Width declared by the record.
    pub width: u16,
    /// Height declared by the record.
    pub height: u16,
    /// Colour space (0 unspecified, 1 RGB24, 2 YUV422, 3 grey 8, 4 other).
    pub colour_space: u8,
    /// Source type (0 unspecified … 6 static photo from scanner).
    pub source_type: u8,
    /// Device type.
    pub device_type: u16,
    /// Quality.
    pub quality: u16,
    /// The image.
    pub image: EmbeddedImage,
}

/// A 19794-5 feature point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FeaturePoint {
    /// Feature point type (1 = 2D MPEG-4 feature point).
    pub kind: u8,
    /// Feature point code (major in the high nibble, minor in the low nibble).
    pub code: u8,
    /// Horizontal position.
    pub x: u16,
    /// Vertical position.
    pub y: u16,
    /// Reserved.
    pub reserved: u16,
}

impl FacialImage19794 {
    /// The declared image data type.
    pub fn declared_type(&self) -> FaceImageDataType {
        FaceImageDataType::from_19794(self.image_data_type)
    }

    /// A face with neutral metadata (full frontal, everything else unspecified).
    pub fn new(image_bytes: &[u8], image_type: FaceImageDataType, width: u16, height: u16) -> Self {
        FacialImage19794 {
            gender: 0,
            eye_colour: 0,
            hair_colour: 0,
            property_mask: 0,
            expression: 0,
            pose_angle: [0; 3],
            pose_angle_uncertainty: [0; 3],
            feature_points: Vec::new(),
            face_image_type: 1,
            image_data_type: image_type.to_19794().unwrap_or(0),
            width,
            height,
            colour_space: 0,
            source_type: 0,
            device_type: 0,
            quality: 0,
            image: EmbeddedImage::new(0, image_bytes),
        }
    }
}

/// Check a face's image against what the record declares; push quirks.
fn check_image(
    image: &EmbeddedImage,
    declared: FaceImageDataType,
    width: Option<u32>,
    height: Option<u32>,
    quirks: &mut Vec<Quirk>,
) {
    let Some(format) = image.format() else {
        quirks.push(Quirk::Other {
            name: "face_image_unrecognised",
            detail: format!(
                "a face image of {} bytes has no known image signature",
                image.len()
            ),
        });
        return;
    };
    if !declared.matches(format) {
        quirks.push(Quirk::Other {
            name: "face_image_type_mismatch",
            detail: format!("face record declares {declared:?} but the image is {format}"),
        });
    }
    if let (Some(w), Some(h), Ok(d)) = (width, height, image::dimensions(&image.bytes))
        && (w, h) != (d.width, d.height)
    {
        quirks.push(Quirk::Other {
            name: "face_image_size_mismatch",
            detail: format!(
                "face record declares {w}x{h} pixels but the image is {}x{}",
                d.width, d.height
            ),
        });
    }
}

impl FaceRecord19794 {
    /// Decode a stand-alone record (image offsets relative to `record`).
    pub fn decode(record: &[u8]) -> Result<(Self, Vec<Quirk>), LdsError> {
        standalone(record, "ISO 19794-5", Self::decode_in)
    }

    /// Decode a record; `base` is the file it sits in (for image offsets).
    pub fn decode_in(
        record: &[u8],
        base: &[u8],
        file: &'static str,
        quirks: &mut Vec<Quirk>,
    ) -> Result<Self, LdsError> {
        let bad = |what| LdsError::Invalid { file, what };
        let mut r = PART.open(record, file)?;
        let record_length = r.u32().ok_or(bad(PART.bad_header))?;
        let count = r.u16().ok_or(bad(PART.bad_header))?;
        debug_assert_eq!(r.pos(), RECORD_HEADER_LEN);
        quirks.extend(PART.length_quirk(u64::from(record_length), record));
        if count == 0 {
            return Err(LdsError::Missing {
                file,
                what: "facial image in the iso 19794-5 record",
            });
        }
        let mut images = Vec::new();
        for _ in 0..count {
            let face = (|| {
                let block_len = usize::try_from(r.u32()?).ok()?;
                let points = r.u16()?;
                let gender = r.u8()?;
                let eye_colour = r.u8()?;
                let hair_colour = r.u8()?;
                let property_mask = r.u24()?;
                let expression = r.u16()?;
                let pose_angle = <[u8; 3]>::try_from(r.take(3)?).ok()?;
                let pose_angle_uncertainty = <[u8; 3]>::try_from(r.take(3)?).ok()?;
                let fixed =
                    FACE_HEADER_LEN.checked_add(usize::from(points).checked_mul(FEATURE_POINT_LEN)?)?;
                let image_len = block_len.checked_sub(fixed)?;
                let mut feature_points = Vec::new();
                for _ in 0..points {
                    feature_points.push(FeaturePoint {
                        kind: r.u8()?,
                        code: r.u8()?,
                        x: r.u16()?,
                        y: r.u16()?,
                        reserved: r.u16()?,
                    });
                }
                let face_image_type = r.u8()?;
                let image_data_type = r.u8()?;
                let width = r.u16()?;
                let height = r.u16()?;
                let colour_space = r.u8()?;
                let source_type = r.u8()?;
                let device_type = r.u16()?;
                let quality = r.u16()?;
                let bytes = r.take(image_len)?;
                Some(FacialImage19794 {
                    gender,
                    eye_colour,
                    hair_colour,
                    property_mask,
                    expression,
                    pose_angle,
                    pose_angle_uncertainty,
                    feature_points,
                    face_image_type,
                    image_data_type,
                    width,
                    height,
                    colour_space,
                    source_type,
                    device_type,
                    quality,
                    image: EmbeddedImage::new(offset_in(base, bytes), bytes),
                })
            })()
            .ok_or(bad("iso 19794-5 facial record data"))?;
            check_image(
                &face.image,
                face.declared_type(),
                Some(u32::from(face.width)),
                Some(u32::from(face.height)),
                quirks,
            );
            images.push(face);
        }
        quirks.extend(crate::lds::quirk::trailing_quirk(r.remaining()));
        Ok(FaceRecord19794 {
            record_length,
            images,
        })
    }

    /// Encode the record; lengths are computed from the content.
    pub fn encode(&self) -> Result<Vec<u8>, LdsError> {
        let too_large = |what, size| LdsError::TooLarge {
            file: "DG2",
            what,
            size,
            max: u32::MAX as usize,
        };
        let mut faces = Vec::new();
        for f in &self.images {
            let points = u16::try_from(f.feature_points.len())
                .map_err(|_| too_large("number of feature points", f.feature_points.len()))?;
            let block_len = FACE_HEADER_LEN + f.feature_points.len() * FEATURE_POINT_LEN + f.image.len();
            let block_len =
                u32::try_from(block_len).map_err(|_| too_large("facial record data", block_len))?;
            faces.extend_from_slice(&block_len.to_be_bytes());
            faces.extend_from_slice(&points.to_be_bytes());
            faces.extend_from_slice(&[f.gender, f.eye_colour, f.hair_colour]);
            faces.extend_from_slice(f.property_mask.to_be_bytes().get(1..).unwrap_or_default());
            faces.extend_from_slice(&f.expression.to_be_bytes());
            faces.extend_from_slice(&f.pose_angle);
            faces.extend_from_slice(&f.pose_angle_uncertainty);
            for p in &f.feature_points {
                faces.extend_from_slice(&[p.kind, p.code]);
                faces.extend_from_slice(&p.x.to_be_bytes());
                faces.extend_from_slice(&p.y.to_be_bytes());
                faces.extend_from_slice(&p.reserved.to_be_bytes());
            }
            faces.extend_from_slice(&[f.face_image_type, f.image_data_type]);
            faces.extend_from_slice(&f.width.to_be_bytes());
            faces.extend_from_slice(&f.height.to_be_bytes());
            faces.extend_from_slice(&[f.colour_space, f.source_type]);
            faces.extend_from_slice(&f.device_type.to_be_bytes());
            faces.extend_from_slice(&f.quality.to_be_bytes());
            faces.extend_from_slice(&f.image.bytes);
        }
        let count =
            u16::try_from(self.images.len()).map_err(|_| too_large("number of faces", self.images.len()))?;
        let total = RECORD_HEADER_LEN + faces.len();
        let total_u32 = u32::try_from(total).map_err(|_| too_large("facial record", total))?;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&FORMAT_ID);
        out.extend_from_slice(&VERSION_2005);
        out.extend_from_slice(&total_u32.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&faces);
        Ok(out)
    }
}

/// Encode a DG2 holding one ISO/IEC 19794-5 face (what the emulator personalises):
/// `75 { 7F61 { 02 01, 7F60 { A1 { 81 02, 82 00, 87 0101, 88 0008 }, 5F2E record } } }`,
/// the layout of the BSI and Dutch specimen DG2s.
pub fn encode_dg2_19794(
    face_image: &[u8],
    image_type: FaceImageDataType,
    width: u16,
    height: u16,
) -> Result<Vec<u8>, LdsError> {
    let group = BiometricGroup {
        modality: Modality::Face,
        declared_count: Some(1),
        templates: vec![BiometricTemplate {
            header: BiometricHeader {
                biometric_type: Some(0x02),
                biometric_subtype: Some(0x00),
                format_owner: FORMAT_OWNER_JTC1_SC37,
                format_type: FORMAT_TYPE_FACE_19794,
                ..BiometricHeader::default()
            },
            data_tag: crate::lds::biometric::BDB_TAG,
            data: BiometricData::Face19794(FaceRecord19794 {
                record_length: 0,
                images: vec![FacialImage19794::new(face_image, image_type, width, height)],
            }),
        }],
        quirks: Vec::new(),
    };
    group.encode()
}

/// An ISO/IEC 39794-5 `FaceImageDataBlock` (`[APPLICATION 5]`): one representation per
/// face (ICAO profile: exactly one).
pub type Face39794 = ImageDataBlock<FaceRepresentation39794>;

/// One `RepresentationBlock` of a 39794-5 block (2D image representations).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FaceRepresentation39794 {
    /// `[0]` representation id.
    pub representation_id: i64,
    /// `[1]/[0]/[0]/[0]` representation data 2D: the image.
    pub image: EmbeddedImage,
    /// Image data format code (2 JPEG, 3 JPEG 2000 lossy, 4 JPEG 2000 lossless).
    pub image_data_format: Option<i64>,
    /// Face image kind code (0 MRTD).
    pub face_image_kind: Option<i64>,
    /// Lossy transformation attempts code (0 unknown, 1 zero, 2 one, 3 more).
    pub lossy_transformation_attempts: Option<i64>,
    /// Camera to subject distance (mm).
    pub camera_to_subject_distance: Option<i64>,
    /// Sensor diagonal (mm).
    pub sensor_diagonal: Option<i64>,
    /// Lens focal length (mm).
    pub lens_focal_length: Option<i64>,
    /// Width from the image size block.
    pub width: Option<u32>,
    /// Height from the image size block.
    pub height: Option<u32>,
    /// Image colour space code (2 RGB 24 bit, 5 greyscale 8 bit, …).
    pub colour_space: Option<i64>,
    /// Capture device technology id (2D capture device block).
    pub capture_device_technology: Option<i64>,
    /// `[2]` capture date and time.
    pub capture_date_time: Option<DateTime39794>,
    /// `[3]` number of quality blocks.
    pub quality_blocks: usize,
    /// `[4]` presence of a PAD data block.
    pub pad_data: bool,
    /// `[5]` session id.
    pub session_id: Option<i64>,
    /// `[6]` derived from.
    pub derived_from: Option<i64>,
    /// `[7]` capture device model id (organisation, id).
    pub capture_device_model: Option<(i64, i64)>,
    /// `[8]/[0]` gender code (1 other, 2 male, 3 female).
    pub gender: Option<i64>,
    /// `[8]/[1]` eye colour code.
    pub eye_colour: Option<i64>,
    /// `[8]/[2]` hair colour code.
    pub hair_colour: Option<i64>,
    /// `[8]/[3]` subject height (mm).
    pub subject_height: Option<i64>,
    /// `[8]/[6]` pose angles yaw, pitch, roll: (value, uncertainty).
    pub pose_angles: [Option<(i64, Option<i64>)>; 3],
    /// `[9]` number of landmarks.
    pub landmarks: usize,
}

impl Representation39794 for FaceRepresentation39794 {
    const BLOCK_TAG: u32 = iso39794::FACE_BLOCK_TAG;
    const STANDARD: &'static str = "ISO 39794-5";
    const VERSION_BLOCK: &'static str = "39794-5 version block";
    const REPRESENTATION_BLOCKS: &'static str = "39794-5 representation blocks";
    fn from_fields(
        k: &[Tlv<'_>],
        base: &[u8],
        file: &'static str,
        quirks: &mut Vec<Quirk>,
    ) -> Result<Self, LdsError> {
        decode_representation(k, base, file, quirks)
    }
    fn check_representations(representations: &[Self], quirks: &mut Vec<Quirk>) {
        if representations.len() != 1 {
            quirks.push(Quirk::Other {
                name: "iso39794_5_representation_count",
                detail: format!(
                    "39794-5 block holds {} representations; the icao profile allows one",
                    representations.len()
                ),
            });
        }
    }
}

/// Follow `path` of context tags from the fields `k` of a block (each step after the
/// first into a constructed field).
fn descend<'a>(k: &[Tlv<'a>], path: &[u8], file: &'static str) -> Option<Tlv<'a>> {
    let (first, rest) = path.split_first()?;
    let mut cur = field(k, *first)?;
    for n in rest {
        let kids_of = kids(&cur, file).ok()?;
        cur = field(&kids_of, *n)?;
    }
    Some(cur)
}

/// One representation block, from its fields `k`.
fn decode_representation(
    k: &[Tlv<'_>],
    base: &[u8],
    file: &'static str,
    quirks: &mut Vec<Quirk>,
) -> Result<FaceRepresentation39794, LdsError> {
    let representation_id = int_field(k, 0).ok_or(LdsError::Missing {
        file,
        what: "39794-5 representation id",
    })?;
    // imageRepresentation [1] -> base [0] -> imageRepresentation2DBlock [0]
    let block_2d = descend(k, &[1, 0, 0], file).ok_or(LdsError::Missing {
        file,
        what: "39794-5 2d image representation",
    })?;
    let k2 = kids(&block_2d, file)?;
    let data = field(&k2, 0)
        .filter(|t| !t.is_constructed())
        .ok_or(LdsError::Missing {
            file,
            what: "39794-5 representation data 2d (image)",
        })?;
    let image = EmbeddedImage::new(offset_in(base, data.value), data.value);
    let info = field(&k2, 1)
        .and_then(|t| kids(&t, file).ok())
        .unwrap_or_default();
    let size = field(&info, 7)
        .and_then(|t| kids(&t, file).ok())
        .unwrap_or_default();
    let dim = |n| int_field(&size, n).and_then(|v| u32::try_from(v).ok());
    let device_2d = field(&k2, 2)
        .and_then(|t| kids(&t, file).ok())
        .unwrap_or_default();
    let identity = field(k, 8).and_then(|t| kids(&t, file).ok()).unwrap_or_default();
    let pose = field(&identity, 6)
        .and_then(|t| kids(&t, file).ok())
        .unwrap_or_default();
    let angle = |n| {
        let a = field(&pose, n).and_then(|t| kids(&t, file).ok())?;
        Some((int_field(&a, 0)?, int_field(&a, 1)))
    };
    let model = descend(k, &[7, 0], file).and_then(|t| {
        let m = kids(&t, file).ok()?;
        Some((int_field(&m, 0)?, int_field(&m, 1)?))
    });
    let rep = FaceRepresentation39794 {
        representation_id,
        image_data_format: code_field(&info, 0, file),
        face_image_kind: code_field(&info, 1, file),
        lossy_transformation_attempts: code_field(&info, 3, file),
        camera_to_subject_distance: int_field(&info, 4),
        sensor_diagonal: int_field(&info, 5),
        lens_focal_length: int_field(&info, 6),
        width: dim(0),
        height: dim(1),
        colour_space: code_field(&info, 9, file),
        capture_device_technology: code_field(&device_2d, 1, file),
        capture_date_time: field(k, 2).and_then(|t| DateTime39794::decode(&t, file)),
        quality_blocks: iso39794::count_field(k, 3, file),
        pad_data: field(k, 4).is_some(),
        session_id: int_field(k, 5),
        derived_from: int_field(k, 6),
        capture_device_model: model,
        gender: code_field(&identity, 0, file),
        eye_colour: code_field(&identity, 1, file),
        hair_colour: code_field(&identity, 2, file),
        subject_height: int_field(&identity, 3),
        pose_angles: [angle(0), angle(1), angle(2)],
        landmarks: iso39794::count_field(k, 9, file),
        image,
    };
    match rep.image_data_format {
        Some(code) => check_image(
            &rep.image,
            FaceImageDataType::from_39794(code),
            rep.width,
            rep.height,
            quirks,
        ),
        None => quirks.push(Quirk::Other {
            name: "iso39794_5_missing_image_data_format",
            detail: "39794-5 image information has no image data format".into(),
        }),
    }
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_39794_5_block_of_two_faces_is_noted_and_one_without_version_refused() {
        use crate::tlv::encode;
        // representation: id [0], then [1]/[0]/[0] holding the image [0]; no image info
        let image_2d = encode(0xA0, &encode(0xA0, &encode(0x80, &[0xFF, 0xD8])));
        let rep = encode(0x30, &[encode(0x80, &[0]), encode(0xA1, &image_2d)].concat());
        let version = encode(0xA0, &[encode(0x80, &[3]), encode(0x81, &[0x07, 0xE3])].concat());
        let reps = encode(0xA1, &[rep.clone(), rep].concat());
        let block = encode(0x65, &[version, reps.clone()].concat());
        let (b, quirks) = Face39794::decode(&block).unwrap();
        assert_eq!((b.version.generation, b.version.year), (3, 2019));
        assert_eq!(b.representations.len(), 2);
        assert_eq!(b.representations[1].image.bytes, [0xFF, 0xD8]);
        let names: Vec<&str> = quirks.iter().map(Quirk::name).collect();
        assert_eq!(
            names,
            [
                "iso39794_5_missing_image_data_format",
                "iso39794_5_missing_image_data_format",
                "iso39794_5_representation_count"
            ]
        );
        let e = Face39794::decode(&encode(0x65, &reps)).unwrap_err();
        assert!(
            matches!(
                e,
                LdsError::Missing {
                    what: "39794-5 version block",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn encode_decode_one_face() {
        let jpeg = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/test-vectors/generated/face_rgb.jpg"
        ))
        .unwrap();
        let dg2 = encode_dg2_19794(&jpeg, FaceImageDataType::Jpeg, 413, 531).unwrap();
        let g = crate::lds::biometric::BiometricGroup::decode(&dg2, crate::lds::biometric::Modality::Face)
            .unwrap();
        assert!(g.quirks.is_empty(), "{:?}", g.quirks);
        let faces = g.faces();
        assert_eq!(faces.len(), 1);
        assert_eq!(faces[0].image.bytes, jpeg);
        assert_eq!(&dg2[faces[0].image.range()], &jpeg[..]);
        assert_eq!(faces[0].declared_type, Some(FaceImageDataType::Jpeg));
        assert_eq!((faces[0].width, faces[0].height), (Some(413), Some(531)));
        assert_eq!(g.encode().unwrap(), dg2);
    }

    #[test]
    fn declared_type_mismatch_is_reported() {
        let jpeg = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/test-vectors/generated/face_gray.jpg"
        ))
        .unwrap();
        let dg2 = encode_dg2_19794(&jpeg, FaceImageDataType::Jpeg2000, 400, 531).unwrap();
        let g = crate::lds::biometric::BiometricGroup::decode(&dg2, crate::lds::biometric::Modality::Face)
            .unwrap();
        let names: Vec<_> = g.quirks.iter().map(|q| q.name()).collect();
        assert_eq!(names, ["face_image_type_mismatch", "face_image_size_mismatch"]);
    }
}

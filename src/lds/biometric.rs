//! Biometric data groups: DG2 (encoded face), DG3 (encoded fingers), DG4 (encoded
//! irises) — Doc 9303 Part 10 §4.7.2–4.7.4, with the CBEFF biometric information group
//! template of ISO/IEC 7816-11.
//!
//! ```text
//! 75|63|76                      DG2 | DG3 | DG4
//!   7F61                        biometric information group template
//!     02                        number of instances
//!     7F60 (repeated)           biometric information template (BIT)
//!       A1                      biometric header template (BHT)
//!         80 ICAO header version   81 biometric type   82 biometric subtype
//!         83 creation date/time    85 validity period  86 creator (PID)
//!         87 format owner (M)      88 format type (M)
//!       5F2E | 7F2E             biometric data block: ISO/IEC 19794 record (5F2E) or
//!                               ISO/IEC 39794 block inside [1] (7F2E)
//! ```
//!
//! The data block is recognised by its content (`FAC\0`, `FIR\0`, `IIR\0`, or the
//! 39794 application tags 65/64/66), not only by the header's format type, and a
//! disagreement is reported as a quirk. Faces are decoded in [`crate::lds::face`].

pub mod finger;
pub mod iris;
pub mod iso39794;
pub mod view;

use crate::lds::error::LdsError;
use crate::lds::face::{self, Face39794, FaceImageDataType, FaceRecord19794};
use crate::lds::image::EmbeddedImage;
use crate::lds::quirk::{self, Quirk};
use crate::tlv::{self, Reader, Tlv};

pub use finger::FingerRecord19794;
pub use iris::IrisRecord19794;
pub use iso39794::{Finger39794, Iris39794};

/// Biometric information group template.
pub const BIGT_TAG: u32 = 0x7F61;
/// Biometric information template.
pub const BIT_TAG: u32 = 0x7F60;
/// Biometric header template.
pub const BHT_TAG: u32 = 0xA1;
/// Biometric data block (primitive: ISO/IEC 19794 records).
pub const BDB_TAG: u32 = 0x5F2E;
/// Biometric data block (constructed: ISO/IEC 39794 blocks).
pub const BDB_CONSTRUCTED_TAG: u32 = 0x7F2E;
/// Secure messaging template standing in for a protected BIT (ISO/IEC 7816-11).
pub const SMT_TAG: u32 = 0x7D;

/// Format owner ISO/IEC JTC 1 SC 37.
pub const FORMAT_OWNER_JTC1_SC37: u16 = 0x0101;
/// Format type of an ISO/IEC 19794-4 finger image record.
pub const FORMAT_TYPE_FINGER_19794: u16 = 0x0007;
/// Format type of an ISO/IEC 19794-5 face image record.
pub const FORMAT_TYPE_FACE_19794: u16 = 0x0008;
/// Format type of an ISO/IEC 19794-6 iris image record.
pub const FORMAT_TYPE_IRIS_19794: u16 = 0x0009;

/// Offset of `sub` inside `base` (0 when `sub` is not a sub-slice of `base`).
pub(crate) fn offset_in(base: &[u8], sub: &[u8]) -> usize {
    let b = base.as_ptr() as usize;
    let s = sub.as_ptr() as usize;
    if s >= b && s.saturating_add(sub.len()) <= b.saturating_add(base.len()) {
        s - b
    } else {
        0
    }
}

/// Big-endian reader over a binary (non-TLV) record; every read is checked.
#[derive(Debug, Clone)]
pub(crate) struct ByteReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        ByteReader { data, pos: 0 }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn uint(&mut self, n: usize) -> Option<u64> {
        Some(self.take(n)?.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        u16::try_from(self.uint(2)?).ok()
    }
    pub(crate) fn u24(&mut self) -> Option<u32> {
        u32::try_from(self.uint(3)?).ok()
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint(4)?).ok()
    }
    pub(crate) fn u48(&mut self) -> Option<u64> {
        self.uint(6)
    }
}

/// Decode a stand-alone record or block with `decode_in` (offsets relative to `input`,
/// errors naming `file`); the quirks are returned with it.
pub(crate) fn standalone<T>(
    input: &[u8],
    file: &'static str,
    decode_in: impl FnOnce(&[u8], &[u8], &'static str, &mut Vec<Quirk>) -> Result<T, LdsError>,
) -> Result<(T, Vec<Quirk>), LdsError> {
    let mut quirks = Vec::new();
    let decoded = decode_in(input, input, file, &mut quirks)?;
    Ok((decoded, quirks))
}

/// The version of the 19794 records Doc 9303 uses, as decoded records report it.
pub(crate) const VERSION: &str = "010";

/// One part of ISO/IEC 19794 (2005 edition): its record format identifier and the
/// names its errors and quirks use.
pub(crate) struct Part19794 {
    /// `FAC\0`, `FIR\0` or `IIR\0`.
    pub(crate) format_id: [u8; 4],
    /// How messages name it (`iso 19794-5`).
    pub(crate) name: &'static str,
    /// The error for another format identifier.
    pub(crate) bad_format: &'static str,
    /// The error for a record too short for its header.
    pub(crate) bad_header: &'static str,
    /// The error for a version other than `010`.
    pub(crate) bad_version: &'static str,
    /// The quirk name for a record length that differs from the bytes present.
    pub(crate) length_mismatch: &'static str,
}

impl Part19794 {
    /// Check a record's format identifier and version (`010`, the only one Doc 9303
    /// uses); the reader is left after them.
    pub(crate) fn open<'a>(&self, record: &'a [u8], file: &'static str) -> Result<ByteReader<'a>, LdsError> {
        let bad = |what| LdsError::Invalid { file, what };
        let mut r = ByteReader::new(record);
        if r.take(4) != Some(&self.format_id[..]) {
            return Err(bad(self.bad_format));
        }
        if r.take(4).ok_or(bad(self.bad_header))? != face::VERSION_2005 {
            return Err(LdsError::Unsupported {
                file,
                what: self.bad_version,
            });
        }
        Ok(r)
    }

    /// The quirk for a record whose length field says `written` bytes.
    pub(crate) fn length_quirk(&self, written: u64, record: &[u8]) -> Option<Quirk> {
        (written != record.len() as u64).then(|| Quirk::Other {
            name: self.length_mismatch,
            detail: format!(
                "{} record length {written} differs from the {} bytes present",
                self.name,
                record.len()
            ),
        })
    }
}

/// Which modality a biometric data group holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// DG2, tag 75.
    Face,
    /// DG3, tag 63.
    Finger,
    /// DG4, tag 76.
    Iris,
}

impl Modality {
    /// Data group number.
    pub fn data_group(self) -> u8 {
        match self {
            Modality::Face => 2,
            Modality::Finger => 3,
            Modality::Iris => 4,
        }
    }
    /// Tag opening the file.
    pub fn tag(self) -> u32 {
        match self {
            Modality::Face => 0x75,
            Modality::Finger => 0x63,
            Modality::Iris => 0x76,
        }
    }
    fn file(self) -> &'static str {
        match self {
            Modality::Face => "DG2",
            Modality::Finger => "DG3",
            Modality::Iris => "DG4",
        }
    }
}

/// A decoded DG2, DG3 or DG4.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BiometricGroup {
    /// Face, finger or iris.
    pub modality: Modality,
    /// The number of instances written in `7F61/02`, if present.
    pub declared_count: Option<u64>,
    /// The biometric information templates, in file order.
    pub templates: Vec<BiometricTemplate>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
}

/// One biometric information template (`7F60`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BiometricTemplate {
    /// The biometric header template (`A1`).
    pub header: BiometricHeader,
    /// `5F2E` or `7F2E`.
    #[serde(serialize_with = "serialize_tag")]
    pub data_tag: u32,
    /// The decoded biometric data block.
    pub data: BiometricData,
}

/// Biometric header template (`A1`), values as written.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct BiometricHeader {
    /// `80` ICAO header version (`0101`).
    #[serde(serialize_with = "opt_hex")]
    pub icao_header_version: Option<Vec<u8>>,
    /// `81` biometric type (2 face, 8 finger, 16 iris).
    pub biometric_type: Option<u32>,
    /// `82` biometric subtype.
    pub biometric_subtype: Option<u8>,
    /// `83` creation date and time (CBEFF, 7 octets).
    #[serde(serialize_with = "opt_hex")]
    pub creation_date_time: Option<Vec<u8>>,
    /// `85` validity period (two CBEFF dates).
    #[serde(serialize_with = "opt_hex")]
    pub validity_period: Option<Vec<u8>>,
    /// `86` creator of the biometric reference data (PID).
    #[serde(serialize_with = "opt_hex")]
    pub creator: Option<Vec<u8>>,
    /// `87` format owner (mandatory; 0101 = JTC 1 SC 37).
    pub format_owner: u16,
    /// `88` format type (mandatory; 0008 face, 0007 finger, 0009 iris in 19794).
    pub format_type: u16,
}

pub(crate) fn serialize_tag<S: serde::Serializer>(tag: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{tag:02X}"))
}

fn opt_hex<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => quirk::serialize_hex(b, s),
        None => s.serialize_none(),
    }
}

/// A biometric data block, decoded according to what it contains.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "encoding", rename_all = "snake_case")]
pub enum BiometricData {
    /// ISO/IEC 19794-5 facial record.
    #[serde(rename = "iso19794_5")]
    Face19794(FaceRecord19794),
    /// ISO/IEC 39794-5 face image data block.
    #[serde(rename = "iso39794_5")]
    Face39794(Face39794),
    /// ISO/IEC 19794-4 finger image record.
    #[serde(rename = "iso19794_4")]
    Finger19794(FingerRecord19794),
    /// ISO/IEC 39794-4 finger image data block.
    #[serde(rename = "iso39794_4")]
    Finger39794(Finger39794),
    /// ISO/IEC 19794-6 iris image record.
    #[serde(rename = "iso19794_6")]
    Iris19794(IrisRecord19794),
    /// ISO/IEC 39794-6 iris image data block.
    #[serde(rename = "iso39794_6")]
    Iris39794(Iris39794),
    /// A format this decoder does not know; bytes kept as found.
    Unrecognised {
        /// The block's value, with its offset in the file.
        raw: EmbeddedImage,
    },
}

/// How a face is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FaceEncoding {
    /// ISO/IEC 19794-5:2005 facial record.
    #[serde(rename = "iso19794_5")]
    Iso19794_5,
    /// ISO/IEC 39794-5:2019 face image data block.
    #[serde(rename = "iso39794_5")]
    Iso39794_5,
}

/// One face of a DG2, whatever its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Face<'a> {
    /// Index of the biometric information template holding it.
    pub template: usize,
    /// Record encoding.
    pub encoding: FaceEncoding,
    /// Image data type declared by the record.
    pub declared_type: Option<FaceImageDataType>,
    /// Width declared by the record (19794-5 image information, 39794-5 image size block).
    pub width: Option<u32>,
    /// Height declared by the record.
    pub height: Option<u32>,
    /// The image bytes with their range in the file.
    pub image: &'a EmbeddedImage,
}

impl BiometricGroup {
    /// Every face in file order (several templates, several faces per 19794-5 record).
    pub fn faces(&self) -> Vec<Face<'_>> {
        let mut out = Vec::new();
        for (i, t) in self.templates.iter().enumerate() {
            match &t.data {
                BiometricData::Face19794(r) => out.extend(r.images.iter().map(|f| Face {
                    template: i,
                    encoding: FaceEncoding::Iso19794_5,
                    declared_type: Some(f.declared_type()),
                    width: Some(u32::from(f.width)),
                    height: Some(u32::from(f.height)),
                    image: &f.image,
                })),
                BiometricData::Face39794(b) => out.extend(b.representations.iter().map(|r| Face {
                    template: i,
                    encoding: FaceEncoding::Iso39794_5,
                    declared_type: r.image_data_format.map(FaceImageDataType::from_39794),
                    width: r.width,
                    height: r.height,
                    image: &r.image,
                })),
                _ => {}
            }
        }
        out
    }

    /// Every embedded image (faces, fingers, irises) in file order.
    pub fn images(&self) -> Vec<&EmbeddedImage> {
        let mut out = Vec::new();
        for t in &self.templates {
            match &t.data {
                BiometricData::Face19794(r) => out.extend(r.images.iter().map(|f| &f.image)),
                BiometricData::Face39794(b) => out.extend(b.representations.iter().map(|r| &r.image)),
                BiometricData::Finger19794(r) => out.extend(r.views.iter().map(|v| &v.image)),
                BiometricData::Finger39794(b) => out.extend(b.representations.iter().map(|r| &r.image)),
                BiometricData::Iris19794(r) => {
                    out.extend(r.subtypes.iter().flat_map(|s| s.images.iter().map(|i| &i.image)))
                }
                BiometricData::Iris39794(b) => out.extend(b.representations.iter().map(|r| &r.image)),
                BiometricData::Unrecognised { .. } => {}
            }
        }
        out
    }

    /// Encode the group again (DER lengths). 19794-5 facial records are re-encoded from
    /// their fields; every other data block is written back as it was read. Used by the
    /// emulator; decoding the result gives the same value.
    pub fn encode(&self) -> Result<Vec<u8>, LdsError> {
        let file = self.modality.file();
        let mut bigt = Vec::new();
        let count = self.templates.len();
        let count = u8::try_from(count).map_err(|_| LdsError::TooLarge {
            file,
            what: "number of biometric templates",
            size: count,
            max: 255,
        })?;
        tlv::encode_into(0x02, &[count], &mut bigt);
        for t in &self.templates {
            let mut bit = Vec::new();
            tlv::encode_into(BHT_TAG, &t.header.encode(), &mut bit);
            let block = match &t.data {
                BiometricData::Face19794(r) => r.encode()?,
                other => other.raw_value().ok_or(LdsError::Unsupported {
                    file,
                    what: "re-encoding of this biometric data block",
                })?,
            };
            tlv::encode_into(t.data_tag, &block, &mut bit);
            tlv::encode_into(BIT_TAG, &bit, &mut bigt);
        }
        Ok(tlv::encode(self.modality.tag(), &tlv::encode(BIGT_TAG, &bigt)))
    }
}

impl BiometricHeader {
    /// The header's value (without `A1`), elements in tag order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(v) = &self.icao_header_version {
            tlv::encode_into(0x80, v, &mut out);
        }
        if let Some(t) = self.biometric_type {
            let b = t.to_be_bytes();
            let skip = b.iter().take_while(|x| **x == 0).count().min(3);
            tlv::encode_into(0x81, b.get(skip..).unwrap_or_default(), &mut out);
        }
        if let Some(s) = self.biometric_subtype {
            tlv::encode_into(0x82, &[s], &mut out);
        }
        if let Some(v) = &self.creation_date_time {
            tlv::encode_into(0x83, v, &mut out);
        }
        if let Some(v) = &self.validity_period {
            tlv::encode_into(0x85, v, &mut out);
        }
        if let Some(v) = &self.creator {
            tlv::encode_into(0x86, v, &mut out);
        }
        tlv::encode_into(0x87, &self.format_owner.to_be_bytes(), &mut out);
        tlv::encode_into(0x88, &self.format_type.to_be_bytes(), &mut out);
        out
    }

    fn decode(t: &Tlv<'_>, file: &'static str, quirks: &mut Vec<Quirk>) -> Result<Self, LdsError> {
        let mut h = BiometricHeader::default();
        let (mut owner, mut ftype) = (None, None);
        for k in Reader::new(t.value) {
            let k = k.map_err(LdsError::tlv_in(file))?;
            let two = |what| -> Result<u16, LdsError> {
                match k.value {
                    [a, b] => Ok(u16::from_be_bytes([*a, *b])),
                    v => Err(LdsError::Length {
                        file,
                        what,
                        found: v.len(),
                    }),
                }
            };
            match k.tag {
                0x80 => h.icao_header_version = Some(k.value.to_vec()),
                0x81 => {
                    if k.value.is_empty() || k.value.len() > 3 {
                        return Err(LdsError::Length {
                            file,
                            what: "biometric type (81)",
                            found: k.value.len(),
                        });
                    }
                    h.biometric_type = Some(k.value.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)));
                }
                0x82 => match k.value {
                    [s] => h.biometric_subtype = Some(*s),
                    v => {
                        return Err(LdsError::Length {
                            file,
                            what: "biometric subtype (82)",
                            found: v.len(),
                        });
                    }
                },
                0x83 => h.creation_date_time = Some(k.value.to_vec()),
                0x85 => h.validity_period = Some(k.value.to_vec()),
                0x86 => h.creator = Some(k.value.to_vec()),
                0x87 => owner = Some(two("format owner (87)")?),
                0x88 => ftype = Some(two("format type (88)")?),
                other => quirks.push(Quirk::UnknownTag { tag: other }),
            }
        }
        h.format_owner = owner.ok_or(LdsError::Missing {
            file,
            what: "format owner (87)",
        })?;
        h.format_type = ftype.ok_or(LdsError::Missing {
            file,
            what: "format type (88)",
        })?;
        Ok(h)
    }
}

impl BiometricData {
    /// The raw block value for blocks kept as read (none for re-encodable 19794-5 records).
    fn raw_value(&self) -> Option<Vec<u8>> {
        match self {
            BiometricData::Unrecognised { raw } => Some(raw.bytes.clone()),
            _ => None,
        }
    }
}

impl BiometricGroup {
    /// Decode a biometric data group of the given modality (DG2 face, DG3 finger, DG4 iris).
    pub fn decode(input: &[u8], modality: Modality) -> Result<BiometricGroup, LdsError> {
        let file = modality.file();
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, file, modality.tag(), &mut quirks)?;
        let mut bigt = None;
        for k in Reader::new_ber(outer.value) {
            let k = k.map_err(LdsError::tlv_in(file))?;
            quirks.extend(quirk::length_quirk(&k));
            if k.tag == BIGT_TAG && bigt.is_none() {
                bigt = Some(k);
            } else if k.tag == BIGT_TAG {
                quirks.push(Quirk::DuplicateTag { tag: k.tag });
            } else {
                quirks.push(Quirk::UnknownTag { tag: k.tag });
            }
        }
        let bigt = bigt.ok_or(LdsError::Missing {
            file,
            what: "biometric information group template (7F61)",
        })?;
        let mut declared_count = None;
        let mut templates = Vec::new();
        let mut protected = 0usize;
        for k in Reader::new_ber(bigt.value) {
            let k = k.map_err(LdsError::tlv_in(file))?;
            quirks.extend(quirk::length_quirk(&k));
            match k.tag {
                0x02 if declared_count.is_none() && templates.is_empty() => {
                    declared_count = Some(quirk::declared_count(k.value, file, "number of instances (02)")?);
                }
                BIT_TAG => templates.push(decode_bit(&k, input, modality, &mut quirks)?),
                SMT_TAG => protected += 1,
                other => quirks.push(Quirk::UnknownTag { tag: other }),
            }
        }
        if protected > 0 {
            quirks.push(Quirk::Other {
                name: "protected_biometric_template",
                detail: format!(
                    "{protected} biometric template(s) protected by secure messaging (7D) not decoded"
                ),
            });
        }
        match declared_count {
            None => quirks.push(Quirk::MissingCount { tag: BIGT_TAG }),
            Some(n) if n != (templates.len() + protected) as u64 => quirks.push(Quirk::CountMismatch {
                tag: BIGT_TAG,
                declared: usize::try_from(n).unwrap_or(usize::MAX),
                found: templates.len() + protected,
            }),
            Some(_) => {}
        }
        if templates.is_empty() {
            return Err(LdsError::Missing {
                file,
                what: "biometric information template (7F60)",
            });
        }
        Ok(BiometricGroup {
            modality,
            declared_count,
            templates,
            quirks,
        })
    }
}

fn decode_bit(
    bit: &Tlv<'_>,
    base: &[u8],
    modality: Modality,
    quirks: &mut Vec<Quirk>,
) -> Result<BiometricTemplate, LdsError> {
    let file = modality.file();
    let mut header = None;
    let mut block: Option<Tlv<'_>> = None;
    for k in Reader::new_ber(bit.value) {
        let k = k.map_err(LdsError::tlv_in(file))?;
        quirks.extend(quirk::length_quirk(&k));
        match k.tag {
            BHT_TAG if header.is_none() => header = Some(BiometricHeader::decode(&k, file, quirks)?),
            BDB_TAG | BDB_CONSTRUCTED_TAG if block.is_none() => block = Some(k),
            other => quirks.push(Quirk::UnknownTag { tag: other }),
        }
    }
    let header = header.ok_or(LdsError::Missing {
        file,
        what: "biometric header template (A1)",
    })?;
    let block = block.ok_or(LdsError::Missing {
        file,
        what: "biometric data block (5F2E or 7F2E)",
    })?;
    let data = decode_block(&block, base, modality, &header, quirks)?;
    Ok(BiometricTemplate {
        header,
        data_tag: block.tag,
        data,
    })
}

fn decode_block(
    block: &Tlv<'_>,
    base: &[u8],
    modality: Modality,
    header: &BiometricHeader,
    quirks: &mut Vec<Quirk>,
) -> Result<BiometricData, LdsError> {
    let file = modality.file();
    let value = block.value;
    // a 39794 block sits inside [1] (A1) in 7F2E; accept it bare too
    let inner_39794 = |quirks: &mut Vec<Quirk>| -> Result<Option<&[u8]>, LdsError> {
        let first = tlv::parse(value).map_err(LdsError::tlv_in(file))?;
        if first.tag == 0xA1 {
            Ok(Some(first.value))
        } else if matches!(first.tag, 0x64..=0x66) {
            quirks.push(Quirk::MissingTemplate {
                tag: first.tag,
                template: 0xA1,
            });
            Ok(Some(value))
        } else {
            Ok(None)
        }
    };
    let expected_type = match modality {
        Modality::Face => FORMAT_TYPE_FACE_19794,
        Modality::Finger => FORMAT_TYPE_FINGER_19794,
        Modality::Iris => FORMAT_TYPE_IRIS_19794,
    };
    let data = if value.starts_with(&face::FORMAT_ID) {
        BiometricData::Face19794(FaceRecord19794::decode_in(value, base, file, quirks)?)
    } else if value.starts_with(&finger::FORMAT_ID) {
        BiometricData::Finger19794(FingerRecord19794::decode_in(value, base, quirks)?)
    } else if value.starts_with(&iris::FORMAT_ID) {
        BiometricData::Iris19794(IrisRecord19794::decode_in(value, base, quirks)?)
    } else if let Some(inner) = inner_39794(quirks).ok().flatten() {
        match inner.first() {
            Some(0x65) => BiometricData::Face39794(Face39794::decode_in(inner, base, file, quirks)?),
            Some(0x64) => BiometricData::Finger39794(Finger39794::decode_in(inner, base, file, quirks)?),
            Some(0x66) => BiometricData::Iris39794(Iris39794::decode_in(inner, base, file, quirks)?),
            _ => unrecognised(value, base, quirks),
        }
    } else {
        unrecognised(value, base, quirks)
    };
    let is_19794 = matches!(
        data,
        BiometricData::Face19794(_) | BiometricData::Finger19794(_) | BiometricData::Iris19794(_)
    );
    if block.tag == BDB_CONSTRUCTED_TAG && is_19794 {
        quirks.push(Quirk::Other {
            name: "iso19794_record_in_constructed_block",
            detail: "an iso 19794 record is stored in the constructed data block 7F2E".into(),
        });
    }
    let modality_matches = matches!(
        (&data, modality),
        (
            BiometricData::Face19794(_) | BiometricData::Face39794(_),
            Modality::Face
        ) | (
            BiometricData::Finger19794(_) | BiometricData::Finger39794(_),
            Modality::Finger
        ) | (
            BiometricData::Iris19794(_) | BiometricData::Iris39794(_),
            Modality::Iris
        ) | (BiometricData::Unrecognised { .. }, _)
    );
    if !modality_matches {
        quirks.push(Quirk::Other {
            name: "biometric_modality_mismatch",
            detail: format!("{file} holds a biometric data block of another modality"),
        });
    }
    if is_19794 && (header.format_owner != FORMAT_OWNER_JTC1_SC37 || header.format_type != expected_type) {
        quirks.push(Quirk::Other {
            name: "biometric_format_type_mismatch",
            detail: format!(
                "header declares format owner {:04X} type {:04X} but the block is an iso 19794 record",
                header.format_owner, header.format_type
            ),
        });
    }
    Ok(data)
}

fn unrecognised(value: &[u8], base: &[u8], quirks: &mut Vec<Quirk>) -> BiometricData {
    quirks.push(Quirk::Other {
        name: "biometric_data_block_unrecognised",
        detail: format!(
            "a biometric data block of {} bytes has an unknown format",
            value.len()
        ),
    });
    BiometricData::Unrecognised {
        raw: EmbeddedImage::new(offset_in(base, value), value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_of_sub_slices() {
        let base = [1u8, 2, 3, 4, 5];
        assert_eq!(offset_in(&base, &base[2..4]), 2);
        assert_eq!(offset_in(&base, &[9u8, 9]), 0);
    }

    #[test]
    fn byte_reader_is_checked() {
        let mut r = ByteReader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Some(0x0102));
        assert_eq!(r.u16(), None);
        assert_eq!(r.u8(), Some(3));
        assert_eq!(r.u24(), None);
        assert_eq!(r.take(usize::MAX), None);
    }

    #[test]
    fn missing_format_type_is_an_error() {
        // 75 { 7F61 { 02 01 01, 7F60 { A1 { 87 0101 }, 5F2E "FAC\0" } } }
        let dg2 =
            hex::decode("7516 7F6113 020101 7F600D A104 87020101 5F2E04 46414300".replace(' ', "")).unwrap();
        assert!(matches!(
            BiometricGroup::decode(&dg2, Modality::Face),
            Err(LdsError::Missing {
                what: "format type (88)",
                ..
            })
        ));
    }
}

//! Typed views of the biometric groups DG2–DG4 (CBEFF templates, ISO/IEC 19794 and
//! 39794 records) and of the displayed images DG5–DG7 (Doc 9303 Part 10 §4.7.2–4.7.7).
//!
//! Every embedded image is described by its format, declared and actual dimensions,
//! byte range and SHA-256: never by its bytes (personal data).

use crate::lds::biometric::{
    BiometricData, BiometricGroup, BiometricHeader, FORMAT_OWNER_JTC1_SC37, FORMAT_TYPE_FACE_19794,
    FORMAT_TYPE_FINGER_19794, FORMAT_TYPE_IRIS_19794, Modality, finger, iris,
};
use crate::lds::displayed::{DisplayedImages, DisplayedKind};
use crate::lds::extract::{ImageRole, format_id};
use crate::lds::face::{FaceImageDataType, FacialImage19794};
use crate::lds::group::{DataGroup, ImageRef};
use crate::lds::image::EmbeddedImage;
use crate::lds::quirk::Quirk;
use crate::lds::view::{Node, count, short_hex};
use crate::lds::{LdsError, LdsFile};

/// One embedded image, described without its bytes.
#[derive(Debug, serde::Serialize)]
pub struct ImageView {
    /// 1-based number of the biometric information template holding it (DG2–DG4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<usize>,
    /// Tag of the displayed image data object (`5F40`, `5F43`; DG5–DG7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// What it shows.
    pub role: ImageRole,
    /// Record encoding (`iso19794_5`, `iso39794_5`, … ; displayed images: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// Image type the record declares (faces).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_type: Option<FaceImageDataType>,
    /// Width the record declares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_width: Option<u32>,
    /// Height the record declares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_height: Option<u32>,
    /// Format by magic bytes (`jpeg`, `jp2`, `j2k`, `wsq`, `png`).
    pub format: Option<&'static str>,
    /// Width from the image's own headers.
    pub width: Option<u32>,
    /// Height from the image's own headers.
    pub height: Option<u32>,
    /// Why the dimensions could not be read from the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions_error: Option<String>,
    /// Offset of the first image byte in the file.
    pub offset: usize,
    /// Offset after the last image byte.
    pub end: usize,
    /// Number of image bytes.
    pub length: usize,
    /// SHA-256 of the image bytes, hex.
    pub sha256: String,
}

impl ImageView {
    fn new(role: ImageRole, image: &EmbeddedImage) -> Self {
        let (width, height, dimensions_error) = match image.dimensions() {
            Ok(d) => (Some(d.width), Some(d.height), None),
            Err(e) => (None, None, Some(e.to_string())),
        };
        let range = image.range();
        ImageView {
            template: None,
            tag: None,
            role,
            encoding: None,
            declared_type: None,
            declared_width: None,
            declared_height: None,
            format: image.format().map(format_id),
            width,
            height,
            dimensions_error,
            offset: range.start,
            end: range.end,
            length: image.len(),
            sha256: crate::crypto::sha256_hex(&image.bytes),
        }
    }

    fn in_template(mut self, t: usize, encoding: &'static str) -> Self {
        self.template = Some(t);
        self.encoding = Some(encoding);
        self
    }

    fn declared(mut self, ty: Option<FaceImageDataType>, w: Option<u32>, h: Option<u32>) -> Self {
        self.declared_type = ty;
        self.declared_width = w;
        self.declared_height = h;
        self
    }

    /// The one-line description used in the text output.
    fn line(&self) -> String {
        let mut s = self.format.unwrap_or("unrecognised format").to_owned();
        match (self.width, self.height) {
            (Some(w), Some(h)) => s.push_str(&format!(" {w}x{h}")),
            _ => {
                if let Some(e) = &self.dimensions_error {
                    s.push_str(&format!(" (dimensions unreadable: {e})"));
                }
            }
        }
        s.push_str(&format!(
            ", bytes {}..{} ({} bytes), sha256 {}",
            self.offset, self.end, self.length, self.sha256
        ));
        s
    }
}

/// A decoded DG2, DG3 or DG4 with a summary of its images.
#[derive(Debug, serde::Serialize)]
pub struct BiometricView<'a> {
    /// The decoded group.
    #[serde(flatten)]
    pub group: &'a BiometricGroup,
    /// Every image in file order (faces, fingers or irises).
    pub images: Vec<ImageView>,
}

fn role_of(m: Modality) -> ImageRole {
    match m {
        Modality::Face => ImageRole::Face,
        Modality::Finger => ImageRole::Finger,
        Modality::Iris => ImageRole::Iris,
    }
}

fn encoding_id(d: &BiometricData) -> &'static str {
    match d {
        BiometricData::Face19794(_) => "iso19794_5",
        BiometricData::Face39794(_) => "iso39794_5",
        BiometricData::Finger19794(_) => "iso19794_4",
        BiometricData::Finger39794(_) => "iso39794_4",
        BiometricData::Iris19794(_) => "iso19794_6",
        BiometricData::Iris39794(_) => "iso39794_6",
        BiometricData::Unrecognised { .. } => "unrecognised",
    }
}

fn encoding_name(d: &BiometricData) -> &'static str {
    match d {
        BiometricData::Face19794(_) => "ISO/IEC 19794-5 facial record",
        BiometricData::Face39794(_) => "ISO/IEC 39794-5 face image data block",
        BiometricData::Finger19794(_) => "ISO/IEC 19794-4 finger image record",
        BiometricData::Finger39794(_) => "ISO/IEC 39794-4 finger image data block",
        BiometricData::Iris19794(_) => "ISO/IEC 19794-6 iris image record",
        BiometricData::Iris39794(_) => "ISO/IEC 39794-6 iris image data block",
        BiometricData::Unrecognised { .. } => "unrecognised data block",
    }
}

impl<'a> BiometricView<'a> {
    /// Describe a decoded group.
    pub fn new(group: &'a BiometricGroup) -> Self {
        let role = role_of(group.modality);
        let faces = group.faces();
        let mut images = Vec::new();
        if group.modality == Modality::Face {
            for f in &faces {
                let enc = match f.encoding {
                    crate::lds::biometric::FaceEncoding::Iso19794_5 => "iso19794_5",
                    crate::lds::biometric::FaceEncoding::Iso39794_5 => "iso39794_5",
                };
                images.push(
                    ImageView::new(role, f.image)
                        .in_template(f.template + 1, enc)
                        .declared(f.declared_type, f.width, f.height),
                );
            }
        } else {
            for (i, t) in group.templates.iter().enumerate() {
                let enc = encoding_id(&t.data);
                let mut push = |img: &EmbeddedImage, w: Option<u32>, h: Option<u32>| {
                    images.push(
                        ImageView::new(role, img)
                            .in_template(i + 1, enc)
                            .declared(None, w, h),
                    );
                };
                match &t.data {
                    BiometricData::Finger19794(r) => {
                        for v in &r.views {
                            push(&v.image, Some(u32::from(v.width)), Some(u32::from(v.height)));
                        }
                    }
                    BiometricData::Finger39794(b) => {
                        for r in &b.representations {
                            push(&r.image, None, None);
                        }
                    }
                    BiometricData::Iris19794(r) => {
                        for s in &r.subtypes {
                            for img in &s.images {
                                push(&img.image, None, None);
                            }
                        }
                    }
                    BiometricData::Iris39794(b) => {
                        for r in &b.representations {
                            push(&r.image, None, None);
                        }
                    }
                    _ => {}
                }
            }
        }
        BiometricView { group, images }
    }

    /// The text tree.
    pub fn nodes(&self) -> Vec<Node> {
        let g = &self.group;
        let mut n = Vec::new();
        n.push(Node::field(
            "number of instances",
            count(g.declared_count, g.templates.len()),
        ));
        for (i, t) in g.templates.iter().enumerate() {
            let mut kids = vec![header_node(&t.header)];
            kids.push(Node::field(
                &format!("data block ({:02X})", t.data_tag),
                encoding_name(&t.data),
            ));
            kids.extend(data_nodes(&t.data));
            for (k, img) in self
                .images
                .iter()
                .filter(|v| v.template == Some(i + 1))
                .enumerate()
            {
                kids.push(image_node(&format!("{} {}", role_word(img.role), k + 1), img));
            }
            n.push(Node::new(format!("template {}", i + 1)).with(kids));
        }
        n
    }
}

fn role_word(r: ImageRole) -> &'static str {
    match r {
        ImageRole::Face => "face",
        ImageRole::Finger => "finger image",
        ImageRole::Iris => "iris image",
        ImageRole::Portrait => "portrait",
        ImageRole::Dg6Image => "image",
        ImageRole::Signature => "signature / usual mark",
    }
}

fn declared_type_name(t: FaceImageDataType) -> String {
    match t {
        FaceImageDataType::Jpeg => "JPEG".into(),
        FaceImageDataType::Jpeg2000 => "JPEG 2000".into(),
        FaceImageDataType::Jpeg2000Lossy => "JPEG 2000 lossy".into(),
        FaceImageDataType::Jpeg2000Lossless => "JPEG 2000 lossless".into(),
        FaceImageDataType::Other(c) => format!("code {c}"),
    }
}

fn image_node(label: &str, v: &ImageView) -> Node {
    let mut kids = Vec::new();
    if let Some(t) = v.declared_type {
        kids.push(Node::field("declared image type", declared_type_name(t)));
    }
    if let (Some(w), Some(h)) = (v.declared_width, v.declared_height) {
        kids.push(Node::field("declared dimensions", format!("{w}x{h}")));
    }
    kids.push(Node::field("image", v.line()));
    Node::new(label).with(kids)
}

/// A CBEFF date as ISO/IEC 7816-11 writes it: packed BCD `YYYYMMDD[hhmmss]`.
fn cbeff_date(b: &[u8]) -> Option<String> {
    let mut digits = String::new();
    for byte in b {
        for nibble in [byte >> 4, byte & 0x0F] {
            digits.push(char::from_digit(u32::from(nibble), 10)?);
        }
    }
    let d = |r: std::ops::Range<usize>| digits.get(r).unwrap_or_default().to_owned();
    match b.len() {
        4 => Some(format!("{}-{}-{}", d(0..4), d(4..6), d(6..8))),
        7 => Some(format!(
            "{}-{}-{} {}:{}:{}",
            d(0..4),
            d(4..6),
            d(6..8),
            d(8..10),
            d(10..12),
            d(12..14)
        )),
        _ => None,
    }
}

fn header_node(h: &BiometricHeader) -> Node {
    let mut kids = Vec::new();
    if let Some(v) = &h.icao_header_version {
        kids.push(Node::field("ICAO header version (80)", hex::encode_upper(v)));
    }
    if let Some(t) = h.biometric_type {
        let name = match t {
            2 => " (facial features)",
            8 => " (finger)",
            0x10 => " (iris)",
            _ => "",
        };
        kids.push(Node::field("biometric type (81)", format!("{t}{name}")));
    }
    if let Some(s) = h.biometric_subtype {
        kids.push(Node::field("biometric subtype (82)", format!("{s:02X}")));
    }
    if let Some(d) = &h.creation_date_time {
        kids.push(Node::field(
            "creation date and time (83)",
            cbeff_date(d).unwrap_or_else(|| hex::encode_upper(d)),
        ));
    }
    if let Some(v) = &h.validity_period {
        let shown = match (v.get(..4).and_then(cbeff_date), v.get(4..).and_then(cbeff_date)) {
            (Some(a), Some(b)) if v.len() == 8 => format!("{a} to {b}"),
            _ => hex::encode_upper(v),
        };
        kids.push(Node::field("validity period (85)", shown));
    }
    if let Some(c) = &h.creator {
        kids.push(Node::field("creator (86)", short_hex(c)));
    }
    let owner = if h.format_owner == FORMAT_OWNER_JTC1_SC37 {
        " (ISO/IEC JTC 1 SC 37)"
    } else {
        ""
    };
    kids.push(Node::field(
        "format owner (87)",
        format!("{:04X}{owner}", h.format_owner),
    ));
    let ty = match h.format_type {
        FORMAT_TYPE_FACE_19794 => " (ISO/IEC 19794-5 face)",
        FORMAT_TYPE_FINGER_19794 => " (ISO/IEC 19794-4 finger)",
        FORMAT_TYPE_IRIS_19794 => " (ISO/IEC 19794-6 iris)",
        _ => "",
    };
    kids.push(Node::field(
        "format type (88)",
        format!("{:04X}{ty}", h.format_type),
    ));
    Node::new("CBEFF biometric header template (A1)").with(kids)
}

fn face19794_fields(f: &FacialImage19794) -> Vec<Node> {
    let gender = match f.gender {
        0 => "unspecified".to_owned(),
        1 => "male".to_owned(),
        2 => "female".to_owned(),
        0xFF => "unknown".to_owned(),
        c => format!("code {c}"),
    };
    let face_type = match f.face_image_type {
        0 => "basic".to_owned(),
        1 => "full frontal".to_owned(),
        2 => "token frontal".to_owned(),
        c => format!("code {c}"),
    };
    let colour = match f.colour_space {
        0 => "unspecified".to_owned(),
        1 => "RGB 24 bit".to_owned(),
        2 => "YUV422".to_owned(),
        3 => "greyscale 8 bit".to_owned(),
        4 => "other".to_owned(),
        c => format!("code {c}"),
    };
    vec![
        Node::field("face image type", face_type),
        Node::field("gender", gender),
        Node::field(
            "eye colour / hair colour",
            format!("{} / {}", f.eye_colour, f.hair_colour),
        ),
        Node::field("property mask", format!("{:06X}", f.property_mask)),
        Node::field("expression", f.expression),
        Node::field(
            "pose angle (yaw, pitch, roll)",
            format!(
                "{} {} {} (uncertainty {} {} {})",
                f.pose_angle[0],
                f.pose_angle[1],
                f.pose_angle[2],
                f.pose_angle_uncertainty[0],
                f.pose_angle_uncertainty[1],
                f.pose_angle_uncertainty[2]
            ),
        ),
        Node::field("feature points", f.feature_points.len()),
        Node::field("colour space", colour),
        Node::field("source type", f.source_type),
        Node::field("device type", format!("{:04X}", f.device_type)),
        Node::field("quality", f.quality),
    ]
}

fn data_nodes(d: &BiometricData) -> Vec<Node> {
    let mut n = Vec::new();
    match d {
        BiometricData::Face19794(r) => {
            n.push(Node::field("record length", r.record_length));
            n.push(Node::field("faces in record", r.images.len()));
            for (i, f) in r.images.iter().enumerate() {
                n.push(Node::new(format!("facial information {}", i + 1)).with(face19794_fields(f)));
            }
        }
        BiometricData::Face39794(b) => {
            n.push(Node::field(
                "version",
                format!("generation {}, {}", b.version.generation, b.version.year),
            ));
            n.push(Node::field("representations", b.representations.len()));
        }
        BiometricData::Finger19794(r) => {
            n.push(Node::field("version", &r.version));
            n.push(Node::field("record length", r.record_length));
            n.push(Node::field("finger views", r.views.len()));
            n.push(Node::field(
                "image resolution",
                format!("{}x{}", r.image_resolution.0, r.image_resolution.1),
            ));
            n.push(Node::field(
                "compression",
                format!("{} ({})", r.compression, finger::compression_name(r.compression)),
            ));
            n.push(Node::field("pixel depth", r.pixel_depth));
            for (i, v) in r.views.iter().enumerate() {
                n.push(Node::field(
                    &format!("view {}", i + 1),
                    format!(
                        "finger position {} ({}), impression {} ({}), quality {}, {}x{} pixels, view {} of {}",
                        v.position,
                        finger::position_name(v.position),
                        v.impression,
                        finger::impression_name(v.impression),
                        v.quality,
                        v.width,
                        v.height,
                        v.view_number,
                        v.view_count
                    ),
                ));
            }
        }
        BiometricData::Finger39794(b) => {
            n.push(Node::field(
                "version",
                format!("generation {}, {}", b.version.generation, b.version.year),
            ));
            n.push(Node::field("representations", b.representations.len()));
        }
        BiometricData::Iris19794(r) => {
            n.push(Node::field("version", &r.version));
            n.push(Node::field("record length", r.record_length));
            n.push(Node::field(
                "image format",
                format!(
                    "{:04X} ({})",
                    r.image_format,
                    iris::image_format_name(r.image_format)
                ),
            ));
            n.push(Node::field(
                "raw size",
                format!("{}x{}", r.raw_size.0, r.raw_size.1),
            ));
            n.push(Node::field("intensity depth", r.intensity_depth));
            n.push(Node::field("eyes (subtypes)", r.subtypes.len()));
            for s in &r.subtypes {
                for img in &s.images {
                    n.push(Node::field(
                        &format!("{} image {}", iris::eye_name(s.subtype), img.sequence),
                        format!("quality {}, {} bytes", img.quality, img.image.len()),
                    ));
                }
            }
        }
        BiometricData::Iris39794(b) => {
            n.push(Node::field(
                "version",
                format!("generation {}, {}", b.version.generation, b.version.year),
            ));
            n.push(Node::field("representations", b.representations.len()));
        }
        BiometricData::Unrecognised { raw } => {
            n.push(Node::field(
                "content",
                format!("{} bytes at offset {} (not decoded)", raw.len(), raw.offset),
            ));
        }
    }
    n
}

/// A decoded DG5, DG6 or DG7 with a summary of its images.
#[derive(Debug, serde::Serialize)]
pub struct DisplayedView<'a> {
    /// The decoded group (shown through the fields below).
    #[serde(skip)]
    pub group: &'a DisplayedImages,
    /// Portrait, reserved (DG6) or signature.
    pub kind: DisplayedKind,
    /// The count written in the file.
    pub declared_count: Option<u64>,
    /// Every image in file order.
    pub images: Vec<ImageView>,
    /// Tolerated deviations.
    pub quirks: &'a [crate::lds::quirk::Quirk],
}

impl<'a> DisplayedView<'a> {
    /// Describe a decoded group.
    pub fn new(group: &'a DisplayedImages) -> Self {
        let role = displayed_role(group.kind);
        let images = group
            .images
            .iter()
            .map(|i| {
                let mut v = ImageView::new(role, &i.image);
                v.tag = Some(format!("{:02X}", i.tag));
                v
            })
            .collect();
        DisplayedView {
            kind: group.kind,
            declared_count: group.declared_count,
            quirks: &group.quirks,
            images,
            group,
        }
    }

    /// The text tree.
    pub fn nodes(&self) -> Vec<Node> {
        let g = &self.group;
        let mut n = vec![Node::field(
            "number of images",
            count(g.declared_count, g.images.len()),
        )];
        for (i, (img, v)) in g.images.iter().zip(&self.images).enumerate() {
            n.push(image_node(
                &format!("{} {} ({:02X})", role_word(v.role), i + 1, img.tag),
                v,
            ));
        }
        n
    }
}

fn displayed_role(k: DisplayedKind) -> ImageRole {
    match k {
        DisplayedKind::Portrait => ImageRole::Portrait,
        DisplayedKind::Reserved => ImageRole::Dg6Image,
        DisplayedKind::Signature => ImageRole::Signature,
    }
}

impl DataGroup for BiometricGroup {
    fn decode_file(file: LdsFile, bytes: &[u8]) -> Result<Self, LdsError> {
        let modality = match file {
            LdsFile::Dg(3) => Modality::Finger,
            LdsFile::Dg(4) => Modality::Iris,
            _ => Modality::Face,
        };
        BiometricGroup::decode(bytes, modality)
    }
    fn encode(&self) -> Result<Vec<u8>, LdsError> {
        BiometricGroup::encode(self)
    }
    fn quirks(&self) -> std::borrow::Cow<'_, [Quirk]> {
        std::borrow::Cow::Borrowed(&self.quirks)
    }
    fn view(&self) -> Vec<Node> {
        BiometricView::new(self).nodes()
    }
    fn json(&self) -> impl serde::Serialize + '_ {
        BiometricView::new(self)
    }
    /// Faces with the dimensions their records declare; fingers and irises without.
    fn images(&self) -> Vec<ImageRef<'_>> {
        let role = role_of(self.modality);
        if self.modality == Modality::Face {
            self.faces()
                .into_iter()
                .map(|f| ImageRef {
                    role,
                    image: f.image,
                    declared: (f.width, f.height),
                })
                .collect()
        } else {
            BiometricGroup::images(self)
                .into_iter()
                .map(|image| ImageRef {
                    role,
                    image,
                    declared: (None, None),
                })
                .collect()
        }
    }
}

impl DataGroup for DisplayedImages {
    fn decode_file(file: LdsFile, bytes: &[u8]) -> Result<Self, LdsError> {
        let kind = match file {
            LdsFile::Dg(6) => DisplayedKind::Reserved,
            LdsFile::Dg(7) => DisplayedKind::Signature,
            _ => DisplayedKind::Portrait,
        };
        DisplayedImages::decode(bytes, kind)
    }
    fn encode(&self) -> Result<Vec<u8>, LdsError> {
        DisplayedImages::encode(self)
    }
    fn quirks(&self) -> std::borrow::Cow<'_, [Quirk]> {
        std::borrow::Cow::Borrowed(&self.quirks)
    }
    fn view(&self) -> Vec<Node> {
        DisplayedView::new(self).nodes()
    }
    fn json(&self) -> impl serde::Serialize + '_ {
        DisplayedView::new(self)
    }
    fn images(&self) -> Vec<ImageRef<'_>> {
        let role = displayed_role(self.kind);
        self.images
            .iter()
            .map(|i| ImageRef {
                role,
                image: &i.image,
                declared: (None, None),
            })
            .collect()
    }
}

//! LDS decoders part B against the external vectors of test-vectors/lds/ (see
//! test-vectors/MANIFEST.md) and the generated images of test-vectors/generated/:
//! DG2/DG3/DG4 biometric groups, faces, DG5/DG7 displayed images, image conversion,
//! EF.SOD.

use emrtd::lds::biometric::{self, BiometricData, FaceEncoding, Modality};
use emrtd::lds::displayed;
use emrtd::lds::face::{Face39794, FaceImageDataType};
use emrtd::lds::image::{self, Dimensions, ImageFormat, PixelLayout};
use sha2::Digest;

fn read(path: &str) -> Vec<u8> {
    let full = format!("{}/test-vectors/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn expected(folder: &str) -> serde_json::Value {
    serde_json::from_slice(&read(&format!("lds/{folder}/expected.json"))).unwrap()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

fn quirk_names(q: &[emrtd::lds::Quirk]) -> Vec<&'static str> {
    q.iter().map(|q| q.name()).collect()
}

/// Where decoded pictures are written so that a person can look at them.
fn out_dir() -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lds_vectors_b");
    std::fs::create_dir_all(&d).unwrap();
    d
}

const FACE_413X531: Dimensions = Dimensions {
    width: 413,
    height: 531,
};

// ---------------------------------------------------------------- DG2

#[test]
fn dg2_bsi2008_19794_face() {
    let bytes = read("lds/jmrtd_bsi2008/Datagroup2.bin");
    let g = biometric::decode_dg2(&bytes).unwrap();
    assert_eq!(g.modality, Modality::Face);
    assert_eq!(g.declared_count, Some(1));
    assert_eq!(g.templates.len(), 1);
    let t = &g.templates[0];
    assert_eq!(t.data_tag, 0x5F2E);
    assert_eq!(t.header.biometric_type, Some(2));
    assert_eq!(t.header.biometric_subtype, Some(0));
    assert_eq!((t.header.format_owner, t.header.format_type), (0x0101, 0x0008));
    let faces = g.faces();
    assert_eq!(faces.len(), 1);
    let f = faces[0];
    assert_eq!(f.encoding, FaceEncoding::Iso19794_5);
    assert_eq!(f.declared_type, Some(FaceImageDataType::Jpeg2000));
    assert_eq!(f.image.format(), Some(ImageFormat::Jp2));
    // the record declares 337x449 but the JP2 inside is 413x531: a named quirk
    assert_eq!((f.width, f.height), (Some(337), Some(449)));
    assert_eq!(f.image.dimensions().unwrap(), FACE_413X531);
    assert_eq!(quirk_names(&g.quirks), ["face_image_size_mismatch"]);
    // tsemrtd: DG2 first image sha256 45f7dcc6..., the same JP2 as DG5's portrait
    let dg5 = expected("tsemrtd_synthetic_dg11_dg12");
    assert_eq!(
        sha256_hex(&f.image.bytes),
        dg5["files"]["EF_DG5.bin"]["first_displayed_portrait_sha256"]
            .as_str()
            .unwrap()
    );
    assert_eq!(&bytes[f.image.range()], &f.image.bytes[..]);
    // decode(encode) == bytes
    assert_eq!(g.encode().unwrap(), bytes);
}

#[test]
fn dg2_loes2006_19794_face() {
    let bytes = read("lds/jmrtd_loes2006/DG2_ef0102.bin");
    let g = biometric::decode_dg2(&bytes).unwrap();
    assert!(g.quirks.is_empty(), "{:?}", g.quirks);
    let faces = g.faces();
    assert_eq!(faces.len(), 1);
    let f = faces[0];
    assert_eq!(f.encoding, FaceEncoding::Iso19794_5);
    assert_eq!(f.image.format(), Some(ImageFormat::Jp2));
    assert_eq!((f.width, f.height), (Some(449), Some(598)));
    assert_eq!(
        f.image.dimensions().unwrap(),
        Dimensions {
            width: 449,
            height: 598
        }
    );
    let BiometricData::Face19794(r) = &g.templates[0].data else {
        panic!("not a 19794-5 record")
    };
    assert_eq!(r.images[0].colour_space, 1);
    assert_eq!(r.images[0].face_image_type, 1);
    assert_eq!(g.encode().unwrap(), bytes);
}

#[test]
fn dg2_39794_all_fields() {
    let bytes = read("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_AllFields.dat");
    let face_jp2 = read("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg");
    // expected.json: extracted face == ICAO_39794_5_AP_DG2_Face.jpg, by its sha256
    let exp = expected("iso39794_dg2_samples");
    let exp_text = exp["expected"]["ICAO_39794_5_AP_DG2_AllFields.dat"]
        .as_str()
        .unwrap();
    assert!(exp_text.contains(&sha256_hex(&face_jp2)));

    let g = biometric::decode_dg2(&bytes).unwrap();
    assert_eq!(g.templates.len(), 1);
    let t = &g.templates[0];
    assert_eq!(t.data_tag, 0x7F2E);
    let h = &t.header;
    assert_eq!(h.icao_header_version.as_deref(), Some(&[0x01, 0x01][..]));
    assert_eq!(h.biometric_type, Some(2));
    assert_eq!(h.biometric_subtype, Some(0));
    assert_eq!(
        hex::encode(h.creation_date_time.as_ref().unwrap()),
        "21240105112345"
    );
    assert_eq!(
        hex::encode(h.validity_period.as_ref().unwrap()),
        "2124010521290105"
    );
    assert_eq!(hex::encode(h.creator.as_ref().unwrap()), "01030001");
    assert_eq!((h.format_owner, h.format_type), (0x0101, 0x002A));

    let faces = g.faces();
    assert_eq!(faces.len(), 1);
    assert_eq!(faces[0].encoding, FaceEncoding::Iso39794_5);
    assert_eq!(faces[0].image.bytes, face_jp2);
    assert_eq!(&bytes[faces[0].image.range()], &face_jp2[..]);
    assert_eq!(faces[0].declared_type, Some(FaceImageDataType::Jpeg2000Lossy));

    let BiometricData::Face39794(b) = &t.data else {
        panic!("not a 39794-5 block")
    };
    assert_eq!((b.version.generation, b.version.year), (3, 2019));
    let r = &b.representations[0];
    assert_eq!(r.representation_id, 0);
    assert_eq!(r.image_data_format, Some(3));
    assert_eq!(r.face_image_kind, Some(0));
    assert_eq!(r.lossy_transformation_attempts, Some(1));
    assert_eq!(r.camera_to_subject_distance, Some(3000));
    assert_eq!(r.sensor_diagonal, Some(43));
    assert_eq!(r.lens_focal_length, Some(55));
    // the sample's image size block says 572x731; the JP2 is 413x531
    assert_eq!((r.width, r.height), (Some(572), Some(731)));
    assert_eq!(r.colour_space, Some(2));
    assert_eq!(r.capture_device_technology, Some(2));
    let dt = r.capture_date_time.unwrap();
    assert_eq!(
        (
            dt.year,
            dt.month,
            dt.day,
            dt.hour,
            dt.minute,
            dt.second,
            dt.millisecond
        ),
        (
            Some(2024),
            Some(1),
            Some(20),
            Some(13),
            Some(23),
            Some(9),
            Some(908)
        )
    );
    assert_eq!(r.quality_blocks, 1);
    assert!(r.pad_data);
    assert_eq!((r.session_id, r.derived_from), (Some(9), Some(0)));
    assert_eq!(r.capture_device_model, Some((1, 1)));
    assert_eq!(
        (r.gender, r.eye_colour, r.hair_colour),
        (Some(3), Some(3), Some(5))
    );
    assert_eq!(r.subject_height, Some(1786));
    assert_eq!(
        r.pose_angles,
        [Some((2, Some(1))), Some((3, Some(1))), Some((1, Some(2)))]
    );
    assert_eq!(r.landmarks, 1);
    assert_eq!(quirk_names(&g.quirks), ["face_image_size_mismatch"]);
    // the JSON view never contains image bytes
    let json = serde_json::to_string(&g).unwrap();
    assert!(json.contains("\"encoding\":\"iso39794_5\""));
    assert!(!json.contains("0000000C6A502020") && !json.contains("0000000c6a502020"));
}

#[test]
fn dg2_39794_mandatory_fields() {
    let bytes = read("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_MandFields.dat");
    let g = biometric::decode_dg2(&bytes).unwrap();
    assert!(g.quirks.is_empty(), "{:?}", g.quirks);
    let faces = g.faces();
    assert_eq!(faces.len(), 1);
    assert_eq!(
        faces[0].image.bytes,
        read("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg")
    );
    let BiometricData::Face39794(b) = &g.templates[0].data else {
        panic!("not a 39794-5 block")
    };
    let r = &b.representations[0];
    assert_eq!(r.image_data_format, Some(3));
    assert_eq!((r.width, r.gender, r.capture_date_time), (None, None, None));
    assert_eq!(g.templates[0].header.icao_header_version, None);
}

// ---------------------------------------------------------------- DG3 / DG4

#[test]
fn dg3_bsi2008_19794_fingers() {
    let bytes = read("lds/jmrtd_bsi2008/Datagroup3.bin");
    let g = biometric::decode_dg3(&bytes).unwrap();
    assert!(g.quirks.is_empty(), "{:?}", g.quirks);
    assert_eq!(g.modality, Modality::Finger);
    assert_eq!(g.declared_count, Some(2));
    assert_eq!(g.templates.len(), 2);
    let subtypes: Vec<_> = g.templates.iter().map(|t| t.header.biometric_subtype).collect();
    assert_eq!(subtypes, [Some(9), Some(10)]);
    for t in &g.templates {
        assert_eq!(t.header.biometric_type, Some(8));
        let BiometricData::Finger19794(r) = &t.data else {
            panic!("not a 19794-4 record")
        };
        assert_eq!(r.version, "010");
        assert_eq!(r.compression, 2);
        assert_eq!(biometric::finger::compression_name(r.compression), "wsq");
        assert_eq!(r.acquisition_level, 31);
        assert_eq!(r.image_resolution, (500, 500));
        assert_eq!(r.views.len(), 1);
        assert_eq!(r.views[0].image.format(), Some(ImageFormat::Wsq));
        // the WSQ frame header agrees with the record
        let v = &r.views[0];
        assert_eq!(
            v.image.dimensions().unwrap(),
            Dimensions {
                width: u32::from(v.width),
                height: u32::from(v.height)
            }
        );
    }
    let BiometricData::Finger19794(r) = &g.templates[0].data else {
        unreachable!()
    };
    assert_eq!(
        (r.views[0].position, r.views[0].quality, r.views[0].width),
        (2, 100, 620)
    );
    assert_eq!(g.images().len(), 2);
}

#[test]
fn dg4_bsi2008_19794_irises() {
    let bytes = read("lds/jmrtd_bsi2008/Datagroup4.bin");
    let g = biometric::decode_dg4(&bytes).unwrap();
    assert!(g.quirks.is_empty(), "{:?}", g.quirks);
    assert_eq!(g.templates.len(), 2);
    for (i, t) in g.templates.iter().enumerate() {
        assert_eq!(t.header.biometric_type, Some(0x10));
        let BiometricData::Iris19794(r) = &t.data else {
            panic!("not a 19794-6 record")
        };
        assert_eq!(biometric::iris::image_format_name(r.image_format), "rgb-jpeg2000");
        assert_eq!(r.subtypes.len(), 1);
        assert_eq!(usize::from(r.subtypes[0].subtype), i + 1);
        assert_eq!(r.subtypes[0].images.len(), 1);
        let img = &r.subtypes[0].images[0].image;
        assert_eq!(img.format(), Some(ImageFormat::Jp2));
        let d = img.dimensions().unwrap();
        assert_eq!(
            (d.width, d.height),
            (u32::from(r.raw_size.0), u32::from(r.raw_size.1))
        );
    }
}

#[test]
fn iso39794_4_finger_sample() {
    let bytes = read("lds/iso39794_dg2_samples/sample-39794-4-ed-1-v1.der");
    let (b, quirks) = biometric::Finger39794::decode(&bytes).unwrap();
    assert!(quirks.is_empty(), "{quirks:?}");
    assert_eq!((b.version.generation, b.version.year), (3, 2019));
    assert_eq!(b.representations.len(), 1);
    let r = &b.representations[0];
    assert_eq!(
        (r.position, r.impression, r.image_data_format),
        (Some(2), Some(1), Some(4))
    );
    assert_eq!(r.image.format(), Some(ImageFormat::Png));
    assert_eq!(
        r.image.dimensions().unwrap(),
        Dimensions {
            width: 24,
            height: 24
        }
    );
    assert_eq!(r.quality_blocks, 2);
    let px = image::decode(&r.image.bytes).unwrap();
    assert_eq!(px.layout, PixelLayout::Gray);
}

#[test]
fn iso39794_6_iris_sample() {
    let bytes = read("lds/iso39794_dg2_samples/sample-39794-6-ed-1-v1.der");
    let (b, quirks) = biometric::Iris39794::decode(&bytes).unwrap();
    assert!(quirks.is_empty(), "{quirks:?}");
    assert_eq!(b.representations.len(), 1);
    let r = &b.representations[0];
    assert_eq!(
        (r.eye_label, r.iris_image_kind, r.bit_depth, r.image_data_format),
        (Some(1), Some(2), Some(8), Some(2))
    );
    assert_eq!(r.image.format(), Some(ImageFormat::Png));
    assert_eq!(
        r.image.dimensions().unwrap(),
        Dimensions {
            width: 640,
            height: 480
        }
    );
}

// ---------------------------------------------------------------- DG5 / DG7

#[test]
fn dg5_and_dg7_displayed_images() {
    let exp = expected("tsemrtd_synthetic_dg11_dg12");
    let dg5 = displayed::decode_dg5(&read("lds/tsemrtd_synthetic_dg11_dg12/EF_DG5.bin")).unwrap();
    assert!(dg5.quirks.is_empty(), "{:?}", dg5.quirks);
    assert_eq!(dg5.declared_count, Some(1));
    assert_eq!(dg5.images.len(), 1);
    assert_eq!(dg5.images[0].tag, 0x5F40);
    assert_eq!(dg5.images[0].image.format(), Some(ImageFormat::Jp2));
    assert_eq!(
        sha256_hex(&dg5.images[0].image.bytes),
        exp["files"]["EF_DG5.bin"]["first_displayed_portrait_sha256"]
            .as_str()
            .unwrap()
    );
    let dg7 = displayed::decode_dg7(&read("lds/tsemrtd_synthetic_dg11_dg12/EF_DG7.bin")).unwrap();
    assert!(dg7.quirks.is_empty(), "{:?}", dg7.quirks);
    assert_eq!(dg7.images.len(), 1);
    assert_eq!(dg7.images[0].tag, 0x5F43);
    assert_eq!(dg7.images[0].image.format(), Some(ImageFormat::Jp2));
    assert_eq!(
        sha256_hex(&dg7.images[0].image.bytes),
        exp["files"]["EF_DG7.bin"]["first_displayed_signature_sha256"]
            .as_str()
            .unwrap()
    );
    // the signature converts to a PNG of the JP2's size
    let png = image::to_png(&dg7.images[0].image.bytes).unwrap();
    assert_eq!(
        image::dimensions(&png).unwrap(),
        dg7.images[0].image.dimensions().unwrap()
    );
    std::fs::write(out_dir().join("dg7_signature.png"), &png).unwrap();
    // the synthetic signature is one flat colour; OpenJPEG decodes it to (255, 160, 122)
    let px = image::decode(&png).unwrap();
    assert_means("dg7", &px.channel_means(), &[255.0, 160.0, 122.0], 0.5);
}

// ---------------------------------------------------------------- images

/// Mean sample values of the ICAO sample face decoded by OpenJPEG (test-vectors/generated/README.md).
const OPENJPEG_FACE_MEANS: [f64; 3] = [172.196, 141.014, 122.340];

fn assert_means(what: &str, got: &[f64], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "{what}: channels");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tolerance, "{what}: mean {g:.3} vs {w:.3}");
    }
}

/// Convert to PNG, decode the PNG back and return its pixels.
fn png_roundtrip(name: &str, bytes: &[u8]) -> image::Pixels {
    let png = image::to_png(bytes).unwrap();
    std::fs::write(out_dir().join(format!("{name}.png")), &png).unwrap();
    assert_eq!(image::detect(&png), Some(ImageFormat::Png));
    image::decode(&png).unwrap()
}

#[test]
fn jpeg2000_face_to_png_is_the_face() {
    // JP2 file (the ICAO sample face) decoded by hayro-jpeg2000, compared with OpenJPEG
    let jp2 = read("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg");
    let px = png_roundtrip("icao_face_jp2", &jp2);
    assert_eq!((px.width, px.height, px.layout), (413, 531, PixelLayout::Rgb));
    assert_means("jp2 face", &px.channel_means(), &OPENJPEG_FACE_MEANS, 2.0);
    // and with the JPEG made from the same face (test-vectors/generated)
    let jpeg = png_roundtrip("face_rgb_jpeg", &read("generated/face_rgb.jpg"));
    assert_eq!(
        (jpeg.width, jpeg.height, jpeg.layout),
        (413, 531, PixelLayout::Rgb)
    );
    assert_means("jpeg vs jp2", &jpeg.channel_means(), &px.channel_means(), 2.0);
    // raw codestream
    let j2k = png_roundtrip("face_rgb_j2k", &read("generated/face_rgb.j2k"));
    assert_eq!((j2k.width, j2k.height, j2k.layout), (413, 531, PixelLayout::Rgb));
    assert_means("j2k", &j2k.channel_means(), &[172.206, 141.026, 122.349], 2.0);
    // the decoded pictures agree pixel by pixel, not only on average
    let mad = px
        .data
        .iter()
        .zip(&j2k.data)
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / px.data.len() as f64;
    assert!(mad < 6.0, "mean absolute difference jp2 vs j2k {mad}");
}

#[test]
fn greyscale_faces_to_png() {
    let jp2 = png_roundtrip("face_gray_jp2", &read("generated/face_gray.jp2"));
    assert_eq!((jp2.width, jp2.height, jp2.layout), (413, 531, PixelLayout::Gray));
    assert_means("grey jp2", &jp2.channel_means(), &[146.206], 2.0);
    let jpeg = png_roundtrip("face_gray_jpeg", &read("generated/face_gray.jpg"));
    assert_eq!(
        (jpeg.width, jpeg.height, jpeg.layout),
        (413, 531, PixelLayout::Gray)
    );
    assert_means("grey jpeg", &jpeg.channel_means(), &[146.301], 2.0);
}

#[test]
fn dg2_faces_convert_to_png() {
    for (name, path, dims) in [
        ("bsi2008_dg2_face", "lds/jmrtd_bsi2008/Datagroup2.bin", (413, 531)),
        (
            "loes2006_dg2_face",
            "lds/jmrtd_loes2006/DG2_ef0102.bin",
            (449, 598),
        ),
    ] {
        let g = biometric::decode_dg2(&read(path)).unwrap();
        let px = png_roundtrip(name, &g.faces()[0].image.bytes);
        assert_eq!((px.width, px.height), dims, "{name}");
        let means = px.channel_means();
        // a photograph, not a flat or empty picture
        assert!(means.iter().all(|m| *m > 20.0 && *m < 235.0), "{name}: {means:?}");
    }
}

#[test]
fn standalone_39794_5_block() {
    // the face image data block alone (inside 7F2E/A1 of the AllFields DG2)
    let bytes = read("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_AllFields.dat");
    let (b, _) = Face39794::decode(&bytes[71..]).unwrap();
    assert_eq!(b.representations[0].image.offset, 107 + 4 - 71);
}

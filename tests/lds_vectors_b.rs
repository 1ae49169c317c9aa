//! LDS decoders part B against the external vectors of test-vectors/lds/ (see
//! test-vectors/MANIFEST.md) and the generated images of test-vectors/generated/:
//! DG2/DG3/DG4 biometric groups, faces, DG5/DG7 displayed images, image conversion,
//! EF.SOD.

// test code: helpers outside #[test] functions may unwrap and index
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

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
    let g = biometric::BiometricGroup::decode(&bytes, biometric::Modality::Face).unwrap();
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
    let g = biometric::BiometricGroup::decode(&bytes, biometric::Modality::Face).unwrap();
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

    let g = biometric::BiometricGroup::decode(&bytes, biometric::Modality::Face).unwrap();
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
    let g = biometric::BiometricGroup::decode(&bytes, biometric::Modality::Face).unwrap();
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
    let g = biometric::BiometricGroup::decode(&bytes, biometric::Modality::Finger).unwrap();
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
    let g = biometric::BiometricGroup::decode(&bytes, biometric::Modality::Iris).unwrap();
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
    let dg5 = displayed::DisplayedImages::decode(
        &read("lds/tsemrtd_synthetic_dg11_dg12/EF_DG5.bin"),
        displayed::DisplayedKind::Portrait,
    )
    .unwrap();
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
    let dg7 = displayed::DisplayedImages::decode(
        &read("lds/tsemrtd_synthetic_dg11_dg12/EF_DG7.bin"),
        displayed::DisplayedKind::Signature,
    )
    .unwrap();
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
        let g = biometric::BiometricGroup::decode(&read(path), biometric::Modality::Face).unwrap();
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

// ---------------------------------------------------------------- EF.SOD

use emrtd::lds::sod::{self, HashAlgorithm, SignerIdentifier};
use emrtd::tlv;

/// (folder, SOD file) for every SOD in test-vectors/lds/.
const SODS: [(&str, &str); 4] = [
    ("jmrtd_bsi2008", "EF_SOD.bin"),
    ("bsi_tr03105_5_refdata_zienit", "EF_SOD.bin"),
    ("etsi_tr103200_prototype_via_pymrtd", "EF_SOD.bin"),
    ("jmrtd_loes2006", "EF_SOD_ef011D.bin"),
];

fn hash_name(h: HashAlgorithm) -> &'static str {
    match h {
        HashAlgorithm::Sha1 => "sha1",
        HashAlgorithm::Sha224 => "sha224",
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Sha384 => "sha384",
        HashAlgorithm::Sha512 => "sha512",
        HashAlgorithm::Ripemd160 => "ripemd160",
    }
}

#[test]
fn sod_vectors_match_expected_json() {
    for (folder, file) in SODS {
        let exp = expected(folder);
        let e = &exp["sod"];
        let bytes = read(&format!("lds/{folder}/{file}"));
        assert_eq!(sha256_hex(&bytes), e["file_sha256"].as_str().unwrap(), "{folder}");
        let s = sod::Sod::decode(&bytes).unwrap();
        assert!(s.quirks.is_empty(), "{folder}: {:?}", s.quirks);
        assert_eq!(
            s.signed_data_version(),
            e["signeddata_version"].as_u64().unwrap(),
            "{folder}"
        );
        assert_eq!(
            s.econtent_type().to_string(),
            e["econtent_type"].as_str().unwrap(),
            "{folder}"
        );
        assert_eq!(
            s.lds_security_object.version,
            e["lds_security_object_version"].as_i64().unwrap(),
            "{folder}"
        );
        let h = s.hash_algorithm().unwrap();
        assert_eq!(hash_name(h), e["dg_hash_alg"].as_str().unwrap(), "{folder}");
        assert!(s.lds_security_object.hash_algorithm.parameters_absent_or_null());
        assert!(
            e["lds_version_info"].is_null() && s.lds_version_info().is_none(),
            "{folder}"
        );
        // DG numbers and hashes
        let want = e["dg_hashes"].as_object().unwrap();
        let mut numbers: Vec<u8> = want.keys().map(|k| k.parse().unwrap()).collect();
        numbers.sort();
        let mut got = s.dg_numbers();
        got.sort();
        assert_eq!(got, numbers, "{folder}");
        for (n, hash) in want {
            let n: u8 = n.parse().unwrap();
            assert_eq!(
                hex::encode_upper(s.dg_hash(n).unwrap()),
                hash.as_str().unwrap(),
                "{folder} DG{n}"
            );
        }
        // signer infos
        let signers = e["signer_infos"].as_array().unwrap();
        assert_eq!(s.signer_infos().len(), signers.len(), "{folder}");
        for (si, want) in s.signer_infos().iter().zip(signers) {
            assert_eq!(si.version, want["version"].as_u64().unwrap());
            let sid_type = match si.sid {
                SignerIdentifier::IssuerAndSerialNumber { .. } => "issuerAndSerialNumber",
                SignerIdentifier::SubjectKeyIdentifier(_) => "subjectKeyIdentifier",
            };
            assert_eq!(sid_type, want["sid_type"].as_str().unwrap());
            assert_eq!(si.digest_algorithm.name(), want["digest_alg"].as_str());
            assert_eq!(
                si.signature_algorithm.name(),
                want["signature_alg"].as_str(),
                "{folder}"
            );
            assert_eq!(si.signed_attrs.is_some(), want["signed_attrs"].as_bool().unwrap());
            // the messageDigest attribute covers the eContent octets as kept
            let attrs = si.signed_attrs.as_ref().unwrap();
            let digest = si.digest_algorithm.hash_algorithm().unwrap().digest(s.econtent());
            assert_eq!(
                Some(digest.as_slice()) == attrs.message_digest.as_deref(),
                e["independent_signerinfo_check"]["message_digest_matches_econtent"]
                    .as_bool()
                    .unwrap(),
                "{folder}"
            );
            assert_eq!(
                attrs.content_type.map(|o| o.to_string()).as_deref(),
                Some(sod::OID_LDS_SECURITY_OBJECT)
            );
            // signed bytes: the attributes as read, re-tagged SET
            let sb = attrs.to_be_signed();
            assert_eq!(sb[0], 0x31);
            assert_eq!(&sb[1..], &attrs.raw[1..]);
            assert!(bytes.windows(attrs.raw.len()).any(|w| w == attrs.raw.as_slice()));
            assert!(!si.signature.is_empty());
        }
        // embedded DSC, byte for byte
        assert_eq!(!s.certificates().is_empty(), e["dsc_embedded"].as_bool().unwrap());
        let certs = e["certs"].as_array().unwrap();
        assert_eq!(s.certificates().len(), certs.len());
        for (c, want) in s.certificates().iter().zip(certs) {
            assert_eq!(sha256_hex(c), want["sha256"].as_str().unwrap(), "{folder}");
        }
        assert!(s.crls().is_empty());
    }
}

#[test]
fn sod_rsassa_pss_parameters() {
    // pymrtd: BSI TR-03105 reference SOD is RSASSA-PSS(SHA-256, MGF1-SHA-256, salt 32)
    let s = sod::Sod::decode(&read("lds/bsi_tr03105_5_refdata_zienit/EF_SOD.bin")).unwrap();
    let pss = s.signer_infos()[0].pss().unwrap();
    assert_eq!(pss.hash, HashAlgorithm::Sha256);
    assert_eq!(pss.mgf1_hash, HashAlgorithm::Sha256);
    assert_eq!((pss.salt_len, pss.trailer_field), (32, 1));
    // the display form (inspect) comes from the same decoder
    let shown = sod::PssParameters::from(pss);
    assert_eq!(shown.mask_gen, sod::OID_MGF1);
    assert_eq!(shown.hash, HashAlgorithm::Sha256.oid().to_string());
    // pymrtd: the signed digest B46A… is the messageDigest attribute, SHA-256 of the eContent
    let attrs = s.signer_infos()[0].signed_attrs.as_ref().unwrap();
    let md = "B46A0D05E280F398EFEEEBFF67E78C736ADD15E75670B1AD4C6C534E8187B9D6";
    assert_eq!(hex::encode_upper(attrs.message_digest.as_ref().unwrap()), md);
    assert_eq!(hex::encode_upper(HashAlgorithm::Sha256.digest(s.econtent())), md);
    // ECDSA and PKCS#1 signers have no PSS parameters
    let s = sod::Sod::decode(&read("lds/jmrtd_bsi2008/EF_SOD.bin")).unwrap();
    assert!(s.signer_infos()[0].pss().is_none());
}

/// Path of a DG file named in expected.json: in the folder, else in jmrtd_bsi2008 (the
/// MANIFEST: the BSI-ref and ETSI SODs cover jmrtd_bsi2008/Datagroup2/3/4.bin).
fn dg_file(folder: &str, name: &str) -> Vec<u8> {
    let here = format!("{}/test-vectors/lds/{folder}/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::path::Path::new(&here).exists() {
        std::fs::read(here).unwrap()
    } else {
        read(&format!("lds/jmrtd_bsi2008/{name}"))
    }
}

#[test]
fn sod_hashes_match_the_dg_files_as_the_manifest_says() {
    let mut checked = 0;
    for (folder, file) in SODS {
        let exp = expected(folder);
        let s = sod::Sod::decode(&read(&format!("lds/{folder}/{file}"))).unwrap();
        let h = s.hash_algorithm().unwrap();
        for (n, check) in exp["sod"]["dg_file_hash_check"].as_object().unwrap() {
            let n: u8 = n.parse().unwrap();
            let dg = dg_file(folder, check["file"].as_str().unwrap());
            match check["matches"].as_bool() {
                Some(true) => assert_eq!(s.dg_hash(n), Some(h.digest(&dg).as_slice()), "{folder} DG{n}"),
                Some(false) => assert_ne!(s.dg_hash(n), Some(h.digest(&dg).as_slice()), "{folder} DG{n}"),
                None => assert_eq!(s.dg_hash(n), None, "{folder} DG{n} is not listed"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 6 + 6 + 6 + 3);
    // and a DG of another booklet does not match: the BSI reference DG1 (other expiry)
    // against the BSI 2008 SOD, the ETSI DG14 against the BSI 2008 SOD
    let s = sod::Sod::decode(&read("lds/jmrtd_bsi2008/EF_SOD.bin")).unwrap();
    let h = s.hash_algorithm().unwrap();
    for (dg, n) in [
        ("lds/bsi_tr03105_5_refdata_zienit/Datagroup1.bin", 1),
        ("lds/etsi_tr103200_prototype_via_pymrtd/DG14.bin", 14),
    ] {
        assert_ne!(s.dg_hash(n), Some(h.digest(&read(dg)).as_slice()), "{dg}");
    }
}

/// Re-encode every constructed element with the BER indefinite length (what some
/// issuers' SODs look like), leaving primitive elements as they are.
fn to_indefinite(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tlv::Reader::new(input) {
        let t = t.unwrap();
        if t.is_constructed() {
            tlv::encode_tag(t.tag, &mut out);
            out.push(0x80);
            out.extend(to_indefinite(t.value));
            out.extend([0, 0]);
        } else {
            out.extend_from_slice(t.raw);
        }
    }
    out
}

#[test]
fn ber_indefinite_length_sod() {
    for (folder, file) in SODS {
        let der = read(&format!("lds/{folder}/{file}"));
        let ber = to_indefinite(&der);
        assert_ne!(ber, der);
        let a = sod::Sod::decode(&der).unwrap();
        let b = sod::Sod::decode(&ber).unwrap();
        assert_eq!(quirk_names(&b.quirks), ["ber_indefinite_length"], "{folder}");
        assert_eq!(b.econtent(), a.econtent());
        assert_eq!(b.lds_security_object, a.lds_security_object);
        assert_eq!(b.signer_infos()[0].signature, a.signer_infos()[0].signature);
        assert_eq!(b.certificates().len(), a.certificates().len());
        // the signed attributes are kept as read (here: indefinite), never re-encoded
        let raw = &b.signer_infos()[0].signed_attrs.as_ref().unwrap().raw;
        assert_eq!(raw[1], 0x80);
    }
}

#[test]
fn ber_indefinite_length_biometric_groups() {
    for (path, modality) in [
        ("lds/jmrtd_bsi2008/Datagroup2.bin", Modality::Face),
        ("lds/jmrtd_bsi2008/Datagroup3.bin", Modality::Finger),
        (
            "lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_MandFields.dat",
            Modality::Face,
        ),
    ] {
        let der = read(path);
        let a = biometric::BiometricGroup::decode(&der, modality).unwrap();
        // the 39794 block inside 7F2E is DER by definition: only convert the CBEFF levels
        let ber = if modality == Modality::Face && path.contains("39794") {
            let t = tlv::parse(&der).unwrap();
            let bigt = tlv::parse(t.value).unwrap();
            let mut v = vec![0x75, 0x80, 0x7F, 0x61, 0x80];
            v.extend_from_slice(bigt.value);
            v.extend([0, 0, 0, 0]);
            v
        } else {
            to_indefinite(&der)
        };
        let b = biometric::BiometricGroup::decode(&ber, modality).unwrap();
        assert!(
            quirk_names(&b.quirks).contains(&"ber_indefinite_length"),
            "{path}"
        );
        let imgs_a: Vec<_> = a.images().iter().map(|i| i.bytes.clone()).collect();
        let imgs_b: Vec<_> = b.images().iter().map(|i| i.bytes.clone()).collect();
        assert_eq!(imgs_a, imgs_b, "{path}");
        for i in b.images() {
            assert_eq!(&ber[i.range()], &i.bytes[..], "{path}");
        }
    }
}

#[test]
fn sod_trailing_zero_padding() {
    let mut bytes = read("lds/jmrtd_loes2006/EF_SOD_ef011D.bin");
    bytes.extend([0u8; 5]);
    let s = sod::Sod::decode(&bytes).unwrap();
    assert_eq!(quirk_names(&s.quirks), ["trailing_zero_padding"]);
    assert_eq!(s.dg_numbers(), [1, 2, 15]);
}

fn der(tag: u32, parts: &[&[u8]]) -> Vec<u8> {
    tlv::encode(tag, &parts.concat())
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
    let mut v = Vec::new();
    let mut push = |mut x: u64| {
        let mut tmp = vec![(x & 0x7F) as u8];
        x >>= 7;
        while x > 0 {
            tmp.push(0x80 | (x & 0x7F) as u8);
            x >>= 7;
        }
        tmp.reverse();
        v.extend(tmp);
    };
    push(arcs[0] * 40 + arcs[1]);
    for a in &arcs[2..] {
        push(*a);
    }
    tlv::encode(0x06, &v)
}

/// A synthetic SOD: LDSSecurityObject v1 (SHA-512, with LDSVersionInfo), a signer
/// identified by subjectKeyIdentifier with RSASSA-PSS parameters, and `econtent_type`.
fn synthetic_sod(econtent_type: &str) -> Vec<u8> {
    let sha512 = der(0x30, &[&oid(&HashAlgorithm::Sha512.oid().to_string())]);
    let dg = |n: u8| der(0x30, &[&[0x02, 0x01, n], &der(0x04, &[&[n; 64]])]);
    let lso = der(
        0x30,
        &[
            &[0x02, 0x01, 0x01],
            &sha512,
            &der(0x30, &[&dg(1), &dg(2), &dg(14)]),
            &der(0x30, &[&der(0x13, &[b"0108"]), &der(0x13, &[b"040000"])]),
        ],
    );
    let digest = HashAlgorithm::Sha512.digest(&lso);
    let attrs = der(
        0xA0,
        &[
            &der(
                0x30,
                &[
                    &oid(sod::OID_ATTR_CONTENT_TYPE),
                    &der(0x31, &[&oid(econtent_type)]),
                ],
            ),
            &der(
                0x30,
                &[
                    &oid(sod::OID_ATTR_SIGNING_TIME),
                    &der(0x31, &[&der(0x17, &[b"260101120000Z"])]),
                ],
            ),
            &der(
                0x30,
                &[
                    &oid(sod::OID_ATTR_MESSAGE_DIGEST),
                    &der(0x31, &[&der(0x04, &[&digest])]),
                ],
            ),
        ],
    );
    let pss_params = der(
        0x30,
        &[
            &der(0xA0, &[&sha512]),
            &der(0xA1, &[&der(0x30, &[&oid(sod::OID_MGF1), &sha512])]),
            &der(0xA2, &[&[0x02, 0x01, 0x40]]),
        ],
    );
    let signer = der(
        0x30,
        &[
            &[0x02, 0x01, 0x03],
            &der(0x80, &[&[0xAB; 20]]),
            &sha512,
            &attrs,
            &der(0x30, &[&oid(sod::OID_RSASSA_PSS), &pss_params]),
            &der(0x04, &[&[0x5A; 256]]),
        ],
    );
    let signed_data = der(
        0x30,
        &[
            &[0x02, 0x01, 0x03],
            &der(0x31, &[&sha512]),
            &der(0x30, &[&oid(econtent_type), &der(0xA0, &[&der(0x04, &[&lso])])]),
            &der(0xA1, &[&der(0x30, &[b"crl"])]),
            &der(0x31, &[&signer]),
        ],
    );
    der(
        0x77,
        &[&der(
            0x30,
            &[&oid(sod::OID_SIGNED_DATA), &der(0xA0, &[&signed_data])],
        )],
    )
}

#[test]
fn sod_v1_with_lds_version_info_and_ski_signer() {
    let s = sod::Sod::decode(&synthetic_sod(sod::OID_LDS_SECURITY_OBJECT)).unwrap();
    assert!(s.quirks.is_empty(), "{:?}", s.quirks);
    assert_eq!(s.lds_security_object.version, 1);
    let v = s.lds_version_info().unwrap();
    assert_eq!(
        (v.lds_version.as_str(), v.unicode_version.as_str()),
        ("0108", "040000")
    );
    assert_eq!(s.hash_algorithm().unwrap(), HashAlgorithm::Sha512);
    assert_eq!(s.dg_numbers(), [1, 2, 14]);
    assert_eq!(s.dg_hash(14), Some(&[14u8; 64][..]));
    assert_eq!(s.dg_hash(3), None);
    assert!(s.certificates().is_empty());
    assert_eq!(s.crls().len(), 1);
    let si = &s.signer_infos()[0];
    assert_eq!(si.sid, SignerIdentifier::SubjectKeyIdentifier(vec![0xAB; 20]));
    let attrs = si.signed_attrs.as_ref().unwrap();
    assert_eq!(
        attrs.signing_time.map(|t| t.unix_timestamp()),
        Some(1_767_268_800) // 2026-01-01T12:00:00Z
    );
    assert_eq!(
        attrs.message_digest.as_deref(),
        Some(HashAlgorithm::Sha512.digest(s.econtent()).as_slice())
    );
    let pss = si.pss().unwrap();
    assert_eq!(
        (pss.hash, pss.salt_len, pss.trailer_field),
        (HashAlgorithm::Sha512, 64, 1)
    );
    assert_eq!(pss.mgf1_hash, HashAlgorithm::Sha512);
}

#[test]
fn nonstandard_lds_security_object_oid() {
    for alt in [sod::OID_LDS_SECURITY_OBJECT_ALT, sod::OID_LDS_SECURITY_OBJECT_SDU] {
        let s = sod::Sod::decode(&synthetic_sod(alt)).unwrap();
        assert_eq!(quirk_names(&s.quirks), ["nonstandard_lds_security_object_oid"]);
        assert_eq!(s.econtent_type().to_string(), alt);
    }
    // Chinese passports type their LDSSecurityObject as id-data: a named quirk
    let s = sod::Sod::decode(&synthetic_sod(sod::OID_DATA)).unwrap();
    assert_eq!(quirk_names(&s.quirks), ["sod_econtent_type_id_data"]);
    // anything else is not an LDS security object
    assert!(sod::Sod::decode(&synthetic_sod("1.2.840.113549.1.7.3")).is_err());
}

// ---------------------------------------------------------------- never panic

use proptest::prelude::*;

/// Run every part-B decoder on `bytes` (results ignored: only panics matter).
fn decode_everything(bytes: &[u8]) {
    for m in [Modality::Face, Modality::Finger, Modality::Iris] {
        if let Ok(g) = biometric::BiometricGroup::decode(bytes, m) {
            let _ = g.faces();
            let _ = g.encode();
            let _ = serde_json::to_string(&g);
            for i in g.images() {
                let _ = i.dimensions();
            }
        }
    }
    for k in [
        displayed::DisplayedKind::Portrait,
        displayed::DisplayedKind::Reserved,
        displayed::DisplayedKind::Signature,
    ] {
        let _ = displayed::DisplayedImages::decode(bytes, k);
    }
    if let Ok(s) = sod::Sod::decode(bytes) {
        let _ = s.hash_algorithm();
        let _ = serde_json::to_string(&s.lds_security_object);
        let _ = serde_json::to_string(&s.quirks);
    }
    let _ = Face39794::decode(bytes);
    let _ = biometric::Finger39794::decode(bytes);
    let _ = biometric::Iris39794::decode(bytes);
    let _ = emrtd::lds::face::FaceRecord19794::decode(bytes);
    let _ = image::dimensions(bytes);
}

/// Wrap `inner` in the given tags, outermost first (valid TLV around arbitrary content).
fn wrap(tags: &[u32], inner: &[u8]) -> Vec<u8> {
    tags.iter()
        .rev()
        .fold(inner.to_vec(), |acc, t| tlv::encode(*t, &acc))
}

fn vector_files() -> Vec<Vec<u8>> {
    [
        "lds/jmrtd_bsi2008/Datagroup2.bin",
        "lds/jmrtd_bsi2008/Datagroup3.bin",
        "lds/jmrtd_bsi2008/Datagroup4.bin",
        "lds/jmrtd_bsi2008/EF_SOD.bin",
        "lds/bsi_tr03105_5_refdata_zienit/EF_SOD.bin",
        "lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_AllFields.dat",
        "lds/iso39794_dg2_samples/sample-39794-4-ed-1-v1.der",
        "lds/tsemrtd_synthetic_dg11_dg12/EF_DG7.bin",
    ]
    .iter()
    .map(|p| read(p))
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        decode_everything(&bytes);
    }

    #[test]
    fn no_panic_behind_valid_outer_tags(
        path in prop_oneof![
            Just(vec![0x75u32, 0x7F61]),
            Just(vec![0x63, 0x7F61, 0x7F60]),
            Just(vec![0x76, 0x7F61, 0x7F60, 0x5F2E]),
            Just(vec![0x75, 0x7F61, 0x7F60, 0x7F2E, 0xA1]),
            Just(vec![0x75, 0x7F61, 0x7F60, 0x7F2E, 0xA1, 0x65]),
            Just(vec![0x65]),
            Just(vec![0x67]),
            Just(vec![0x77, 0x30]),
            Just(vec![0x77, 0x30, 0xA0, 0x30]),
            Just(vec![0x64, 0xA1, 0x30]),
            Just(vec![0x66, 0xA1, 0x30]),
        ],
        prefix in prop_oneof![
            Just(Vec::new()),
            Just(b"FAC\x00010\x00".to_vec()),
            Just(b"FIR\x00010\x00".to_vec()),
            Just(b"IIR\x00010\x00".to_vec()),
            Just(hex::decode("02010187020101880200085F2E").unwrap()),
            Just(hex::decode("06092A864886F70D010702").unwrap()),
        ],
        tail in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut inner = prefix;
        inner.extend_from_slice(&tail);
        decode_everything(&wrap(&path, &inner));
    }

    #[test]
    fn no_panic_on_mutated_vectors(
        which in 0usize..8,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let files = vector_files();
        let mut bytes = files[which].clone();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        decode_everything(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Corrupted images go through the real decoders (JPEG, JPEG 2000) without a panic
    /// escaping and without unbounded allocation.
    #[test]
    fn no_panic_converting_corrupted_faces(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = read(["generated/face_gray.jp2", "generated/face_gray.jpg", "generated/face_rgb.j2k"][which]);
        for (at, v) in edits {
            // keep the magic so that the decoder is reached
            let i = 12 + at.index(bytes.len() - 12);
            bytes[i] = v;
        }
        let _ = image::to_png(&bytes);
    }
}

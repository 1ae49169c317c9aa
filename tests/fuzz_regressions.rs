//! Fuzzer findings (`fuzz/regressions/`, listed in its README) run through the code that
//! found them, one named test each.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

fn finding(target: &str, name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target)
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// What the `lds_image` target does with an input, checked: the header dimensions and
/// the decoded image agree, and the PNG made of it decodes to the same pixels.
fn image_converts(bytes: &[u8], width: u32, height: u32) {
    let dims = emrtd::lds::image::dimensions(bytes).unwrap();
    assert_eq!((dims.width, dims.height), (width, height));
    let pixels = emrtd::lds::image::decode(bytes).unwrap();
    assert_eq!((pixels.width, pixels.height), (width, height));
    let png = emrtd::lds::image::to_png(bytes).unwrap();
    let back = emrtd::lds::image::decode(&png).unwrap();
    assert_eq!(
        (back.width, back.height, back.layout),
        (width, height, pixels.layout)
    );
    assert_eq!(back.data, pixels.data, "PNG round trip changed pixels");
}

#[test]
fn lds_image_timeout_jpeg_413x531_converts_to_png() {
    image_converts(&finding("lds_image", "timeout-jpeg-413x531.jpg"), 413, 531);
}

#[test]
fn lds_image_slow_jpeg_413x531_converts_to_png() {
    image_converts(&finding("lds_image", "slow-jpeg-413x531.jpg"), 413, 531);
}

/// `pki_ldif` (LeakSanitizer): 32 bytes from `__cxa_thread_atexit_impl` reported as
/// leaked: the importer's reader thread was still running its thread-local destructors
/// when the import returned. A file this small (7 KB) is now read on the importing
/// thread (`PIPELINE_MIN_BYTES`); the mutated file itself imports what is intact and
/// names every broken value by line.
#[test]
fn pki_ldif_leak_thread_teardown_imports_what_is_intact() {
    let bytes = finding("pki_ldif", "leak-thread-teardown.ldif");
    for _ in 0..2 {
        let mut store = emrtd::pki::store::TrustStore::open_in_memory().unwrap();
        let r = emrtd::pki::import::import_bytes(&mut store, "leak.ldif", &bytes, &Default::default());
        assert_eq!(
            r.outcome,
            emrtd::pki::import::FileOutcome::Imported,
            "{:?}",
            r.errors
        );
        assert_eq!((r.added, r.duplicate, r.rejected), (1, 0, 4), "{:?}", r.errors);
        let lines: Vec<&str> = r
            .errors
            .iter()
            .map(|e| e.split_whitespace().nth(1).unwrap())
            .collect();
        assert_eq!(lines, ["13", "45", "105", "121"]);
        assert!(
            r.errors.iter().all(|e| e.contains("invalid base64")),
            "{:?}",
            r.errors
        );
        assert_eq!(store.counts().unwrap().0, 1);
    }
}

/// `lds_image_bounds` (libFuzzer timeout): 96 bytes declaring one 4096×4096 component
/// with 5 decomposition levels, 8×8 code-blocks in 15 quality layers and no coded data.
/// It passed every header bound, and the decoder transformed all 16.8 M samples. The
/// decoding work the headers declare is now bounded by the bytes present
/// (`lds::image::bounds`): refused by the header check, before any decoder runs, with
/// the declared values and the bound in the message.
#[test]
fn lds_image_bounds_timeout_j2k_4096x4096_is_refused_before_decoding() {
    use emrtd::lds::image::{self, ImageError, ImageFormat, bounds};
    let bytes = finding("lds_image_bounds", "timeout-j2k-4096x4096-15-layers-no-data.j2k");
    assert_eq!(bytes.len(), 96);
    let format = image::detect(&bytes).unwrap();
    assert_eq!(format, ImageFormat::J2k);
    // the pixel bounds pass it: only the decoding work refuses it
    let dims = image::dimensions(&bytes).unwrap();
    assert_eq!((dims.width, dims.height), (4_096, 4_096));
    let e = bounds::check(&bytes, format).unwrap_err();
    let limit = bounds::FREE_DECODE_WORK + 96 * bounds::DECODE_WORK_PER_BYTE;
    match &e {
        ImageError::DecodeCost {
            width: 4_096,
            height: 4_096,
            components: 1,
            levels: 5,
            layers: 15,
            bytes: 96,
            work,
            limit: l,
            ..
        } if *l == limit && *work > 3 * limit => {}
        other => panic!("{other}"),
    }
    let text = e.to_string();
    assert!(
        text.starts_with(
            "jpeg 2000 codestream image declares 4096x4096 pixels, 1 component(s), \
             5 decomposition level(s) and 15 quality layer(s): "
        ) && text.ends_with(&format!(
            "units of decoding work for 96 bytes, more than the {limit} allowed (8388608 + 256 per byte)"
        )),
        "{text}"
    );
    // the fuzz target's path and the decoder process's path refuse it the same way
    for r in [
        image::decode(&bytes).map(|_| ()),
        image::to_png_in_process(&bytes).map(|_| ()),
    ] {
        assert!(matches!(r, Err(ImageError::DecodeCost { .. })), "{r:?}");
    }
}

/// Every real JPEG 2000 image at hand passes the header bounds, decoding work included,
/// and decodes: the faces of DG2 samples (ICAO 39794-5, BSI, LOES), the iris images of
/// a DG4, the signature of a DG7 (204 bytes for 550×142 RGB: far more work per byte
/// than any face, inside the free allowance), the generated faces and the face of the
/// generated booklets.
#[test]
fn real_jpeg2000_images_pass_the_decode_cost_bound() {
    use emrtd::lds::LdsFile;
    use emrtd::lds::extract::extract_file;
    use emrtd::lds::image::{self, bounds};

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let mut images: Vec<(String, Vec<u8>)> = [
        "test-vectors/generated/face_gray.jp2",
        "test-vectors/generated/face_rgb.j2k",
        "test-vectors/lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg",
        "pkd-fixtures/booklets/data/icao-39794-5-face.jp2",
    ]
    .iter()
    .map(|p| (p.to_string(), read(p)))
    .collect();
    for (p, dg) in [
        (
            "test-vectors/lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_AllFields.dat",
            2,
        ),
        (
            "test-vectors/lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_MandFields.dat",
            2,
        ),
        ("test-vectors/lds/jmrtd_bsi2008/Datagroup2.bin", 2),
        ("test-vectors/lds/jmrtd_loes2006/DG2_ef0102.bin", 2),
        ("test-vectors/lds/jmrtd_bsi2008/Datagroup4.bin", 4),
        ("test-vectors/lds/tsemrtd_synthetic_dg11_dg12/EF_DG7.bin", 7),
    ] {
        let extracted = extract_file(LdsFile::Dg(dg), &read(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        for (i, x) in extracted.into_iter().enumerate() {
            images.push((format!("{p} image {}", i + 1), x.bytes));
        }
    }
    let mut jpeg2000 = 0;
    for (name, bytes) in &images {
        let Some(format) = image::detect(bytes).filter(|f| f.is_jpeg2000()) else {
            continue;
        };
        jpeg2000 += 1;
        bounds::check(bytes, format).unwrap_or_else(|e| panic!("{name}: {e}"));
        let pixels = image::decode(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let dims = image::dimensions(bytes).unwrap();
        assert_eq!((pixels.width, pixels.height), (dims.width, dims.height), "{name}");
    }
    // 4 files, 4 DG2 faces, 2 irises, 1 signature
    assert_eq!(
        jpeg2000,
        11,
        "{images:?}",
        images = images.iter().map(|i| &i.0).collect::<Vec<_>>()
    );
}

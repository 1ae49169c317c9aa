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

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

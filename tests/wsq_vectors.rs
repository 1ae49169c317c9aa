//! The WSQ decoder (src/lds/wsq.rs) against NBIS, an independent decoder: the files and
//! NBIS's pixels in test-vectors/wsq/ (made by test-vectors/wsq/generate.py, see
//! test-vectors/MANIFEST.md). Tolerance: each sample within ±1 of NBIS, and at most
//! 0.1 % of the samples differing. The ±1 is floating-point rounding: both decoders
//! compute in `f32`, in different orders, and round `I'·R + M` to the nearest integer,
//! so a value within an ulp or so of a half lands on either side.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use emrtd::lds::image::{self, PixelLayout};
use emrtd::lds::wsq;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-vectors/wsq")
}

/// (max |difference|, samples differing, samples) of our decode against NBIS's.
fn compare(stem: &str) -> (u8, usize, usize) {
    let data = std::fs::read(dir().join(format!("{stem}.wsq"))).unwrap();
    let ours = wsq::decode(&data, image::MAX_DIMENSION, image::MAX_PIXELS).unwrap();
    let reference = image::decode(&std::fs::read(dir().join(format!("{stem}.png"))).unwrap()).unwrap();
    assert_eq!(reference.layout, PixelLayout::Gray, "{stem}");
    assert_eq!(
        (ours.width, ours.height),
        (reference.width, reference.height),
        "{stem}"
    );
    let mut max = 0u8;
    let mut differing = 0;
    for (a, b) in ours.pixels.iter().zip(&reference.data) {
        let d = a.abs_diff(*b);
        max = max.max(d);
        differing += usize::from(d != 0);
    }
    eprintln!(
        "{stem}: {}x{}, max |diff| {max}, {differing} of {} samples differ ({:.4} %)",
        ours.width,
        ours.height,
        ours.pixels.len(),
        differing as f64 * 100.0 / ours.pixels.len() as f64
    );
    (max, differing, ours.pixels.len())
}

fn within_tolerance(stem: &str) {
    let (max, differing, total) = compare(stem);
    assert!(max <= 1, "{stem}: a sample differs from NBIS by {max}");
    assert!(
        differing * 1000 <= total,
        "{stem}: {differing} of {total} samples differ from NBIS"
    );
}

#[test]
fn bsi2008_specimen_fingers_match_nbis() {
    within_tolerance("bsi2008_finger1");
    within_tolerance("bsi2008_finger2");
}

#[test]
fn nbis_encoded_ridges_377x411_match_at_both_bit_rates() {
    within_tolerance("synth_ridges_075");
    within_tolerance("synth_ridges_225");
}

#[test]
fn nbis_encoded_gradient_noise_and_checker_match_exactly() {
    for stem in [
        "synth_gradient_075",
        "synth_gradient_225",
        "synth_noise_075",
        "synth_noise_225",
        "synth_checker_075",
    ] {
        assert_eq!(compare(stem).0, 0, "{stem}");
    }
    within_tolerance("synth_checker_225");
}

#[test]
fn bsi2008_dg3_fingers_become_pngs_through_the_image_module() {
    let dg3 = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-vectors/lds/jmrtd_bsi2008/Datagroup3.bin"),
    )
    .unwrap();
    let group =
        emrtd::lds::biometric::BiometricGroup::decode(&dg3, emrtd::lds::biometric::Modality::Finger).unwrap();
    let images = group.images();
    assert_eq!(images.len(), 2);
    for (i, img) in images.iter().enumerate() {
        assert_eq!(img.format(), Some(image::ImageFormat::Wsq));
        let png = img.to_png().unwrap();
        let back = image::decode(&png).unwrap();
        assert_eq!((back.width, back.height), (620, 620));
        let cut = std::fs::read(dir().join(format!("bsi2008_finger{}.wsq", i + 1))).unwrap();
        assert_eq!(img.bytes, cut, "the generator cut out the same bytes");
    }
}

#[test]
fn html_report_shows_the_fingers_and_irises() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("d");
    std::fs::create_dir(&d).unwrap();
    let bsi = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-vectors/lds/jmrtd_bsi2008");
    for f in [
        "EF_COM",
        "EF_SOD",
        "Datagroup1",
        "Datagroup2",
        "Datagroup3",
        "Datagroup4",
    ] {
        std::fs::copy(bsi.join(format!("{f}.bin")), d.join(format!("{f}.bin"))).unwrap();
    }
    let html = t.path().join("r.html");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(["verify", "--dump"])
        .arg(&d)
        .arg("--store")
        .arg(t.path().join("none.db"))
        .arg("--html")
        .arg(&html)
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .output()
        .unwrap();
    let html = std::fs::read_to_string(&html)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert!(html.contains("alt=\"face from DG2\""));
    for (alt, size) in [
        ("finger 1 from DG3", (620, 620)),
        ("finger 2 from DG3", (620, 620)),
        ("iris 1 from DG4", (163, 149)),
        ("iris 2 from DG4", (160, 152)),
    ] {
        let key = format!("<img alt=\"{alt}\" src=\"data:image/png;base64,");
        let at = html.find(&key).unwrap_or_else(|| panic!("{alt} missing"));
        let rest = &html[at + key.len()..];
        let b64 = &rest[..rest.find('"').unwrap()];
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let px = image::decode(&png).unwrap();
        assert_eq!((px.width, px.height), size, "{alt}");
    }
}

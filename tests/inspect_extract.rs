//! Image extraction: `emrtd inspect FILE --extract DIR`, `emrtd inspect --dump DIR
//! --extract`, and `emrtd read --out DIR` writing the faces of an emulated booklet.
//! Extracted bytes are compared with the vectors' own images (test-vectors/MANIFEST.md),
//! PNGs are decoded back with the `png` crate.

// test code: helpers outside #[test] functions may unwrap and index
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::Digest;

fn vector(rel: &str) -> PathBuf {
    PathBuf::from(format!("{}/test-vectors/{rel}", env!("CARGO_MANIFEST_DIR")))
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(vector(rel)).unwrap()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

fn emrtd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(args)
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .output()
        .unwrap()
}

fn ok_json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[cfg(unix)]
fn assert_private(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", p.display());
}

#[cfg(not(unix))]
fn assert_private(_: &Path) {}

/// Decode a PNG with the `png` crate: (width, height).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height)
}

/// Keep a copy of a produced PNG where a person can look at it.
fn keep(name: &str, png: &[u8]) {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("inspect_extract");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), png).unwrap();
}

/// Check one extracted image on disk against its record and the expected image bytes.
fn check_image(dir: &Path, rec: &Value, want_sha256: &str, want_size: (u32, u32)) {
    let name = rec["name"].as_str().unwrap();
    let raw = std::fs::read(dir.join(name)).unwrap();
    assert_eq!(sha256_hex(&raw), want_sha256, "{name}");
    assert_eq!(rec["sha256"], want_sha256);
    assert_eq!(rec["size"], raw.len());
    assert_private(&dir.join(name));
    // PNG decodes to the dimensions the image's own header states
    let png_name = rec["png"]["name"].as_str().unwrap();
    let png = std::fs::read(dir.join(png_name)).unwrap();
    assert_eq!(rec["png"]["sha256"], sha256_hex(&png));
    assert_private(&dir.join(png_name));
    let header = emrtd::lds::image::dimensions(&raw).unwrap();
    assert_eq!(png_size(&png), (header.width, header.height), "{name}");
    assert_eq!(png_size(&png), want_size, "{name}");
    assert_eq!(
        (rec["width"].as_u64(), rec["height"].as_u64()),
        (Some(u64::from(want_size.0)), Some(u64::from(want_size.1)))
    );
    keep(
        &format!(
            "{}-{}-{png_name}",
            rec["source"].as_str().unwrap(),
            &want_sha256[..8]
        ),
        &png,
    );
}

#[test]
fn extract_from_single_data_group_files() {
    let tsemrtd: Value =
        serde_json::from_slice(&read("lds/tsemrtd_synthetic_dg11_dg12/expected.json")).unwrap();
    let bsi_face = tsemrtd["files"]["EF_DG5.bin"]["first_displayed_portrait_sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let face_39794 = sha256_hex(&read("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg"));
    let loes = read("lds/jmrtd_loes2006/DG2_ef0102.bin");
    // the JPEG 2000 file runs from its signature box to the end of the DG2
    let loes_start = loes
        .windows(8)
        .position(|w| w == [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20])
        .unwrap();
    let loes_face = sha256_hex(&loes[loes_start..]);
    let cases = [
        (
            "lds/jmrtd_bsi2008/Datagroup2.bin",
            "face-1.jp2",
            bsi_face.clone(),
            (413, 531),
        ),
        (
            "lds/jmrtd_loes2006/DG2_ef0102.bin",
            "face-1.jp2",
            loes_face,
            (449, 598),
        ),
        (
            "lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_AllFields.dat",
            "face-1.jp2",
            face_39794,
            (413, 531),
        ),
        (
            "lds/tsemrtd_synthetic_dg11_dg12/EF_DG5.bin",
            "portrait-1.jp2",
            bsi_face,
            (413, 531),
        ),
        (
            "lds/tsemrtd_synthetic_dg11_dg12/EF_DG7.bin",
            "signature-1.jp2",
            tsemrtd["files"]["EF_DG7.bin"]["first_displayed_signature_sha256"]
                .as_str()
                .unwrap()
                .to_owned(),
            (550, 142),
        ),
    ];
    for (rel, name, sha, size) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let o = emrtd(&[
            "inspect",
            "--json",
            vector(rel).to_str().unwrap(),
            "--extract",
            out.to_str().unwrap(),
        ]);
        let j = ok_json(&o);
        let images = j["images"].as_array().unwrap();
        assert_eq!(images.len(), 1, "{rel}");
        assert_eq!(images[0]["name"], name, "{rel}");
        check_image(&out, &images[0], &sha, size);
        // the text output names files, never prints image bytes
        let o = emrtd(&[
            "inspect",
            vector(rel).to_str().unwrap(),
            "--extract",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "repeatable: {rel}");
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.contains(name), "{text}");
        assert!(text.len() < 1000);
    }
}

#[test]
fn extract_refuses_to_overwrite_other_files_and_non_image_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    std::fs::write(out.join("face-1.jp2"), b"someone else's file").unwrap();
    let dg2 = vector("lds/jmrtd_bsi2008/Datagroup2.bin");
    let o = emrtd(&[
        "inspect",
        dg2.to_str().unwrap(),
        "--extract",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not overwritten"));
    assert_eq!(
        std::fs::read(out.join("face-1.jp2")).unwrap(),
        b"someone else's file"
    );
    // a file without images
    let dg1 = vector("lds/jmrtd_bsi2008/Datagroup1.bin");
    let o = emrtd(&[
        "inspect",
        dg1.to_str().unwrap(),
        "--extract",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    // no directory given for a single file
    let o = emrtd(&["inspect", dg2.to_str().unwrap(), "--extract"]);
    assert_eq!(o.status.code(), Some(2));
    // a DG2 that does not decode
    let bad = out.join("bad.bin");
    std::fs::write(&bad, [0x75, 0x04, 0x7F, 0x61, 0x01, 0x00]).unwrap();
    let o = emrtd(&[
        "inspect",
        bad.to_str().unwrap(),
        "--as",
        "dg2",
        "--extract",
        out.join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[cfg(feature = "emulator")]
fn bac_profile() -> String {
    format!("{}/pkd-fixtures/booklets/bac.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
#[cfg(feature = "emulator")]
fn read_of_an_emulated_booklet_writes_the_face_privately() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dump");
    let o = emrtd(&[
        "read",
        "--emulator",
        &bac_profile(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let manifest = ok_json(&o);
    // the booklet's DG2 is the BSI 2008 DG2: its face is the JPEG 2000 tsemrtd hashes
    let tsemrtd: Value =
        serde_json::from_slice(&read("lds/tsemrtd_synthetic_dg11_dg12/expected.json")).unwrap();
    let want = tsemrtd["files"]["EF_DG5.bin"]["first_displayed_portrait_sha256"]
        .as_str()
        .unwrap();
    let images = manifest["images"].as_array().unwrap();
    assert_eq!(images.len(), 1);
    let rec = &images[0];
    assert_eq!(rec["name"], "face-1.jp2");
    assert_eq!(rec["source"], "DG2");
    assert_eq!(rec["role"], "face");
    assert_eq!(rec["format"], "jp2");
    check_image(&out, rec, want, (413, 531));
    // the record's range points into DG2.bin
    let dg2 = std::fs::read(out.join("DG2.bin")).unwrap();
    let off = rec["offset"].as_u64().unwrap() as usize;
    let face = std::fs::read(out.join("face-1.jp2")).unwrap();
    assert_eq!(&dg2[off..off + face.len()], face.as_slice());
    // manifest on disk == printed manifest
    let on_disk: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(on_disk, manifest);
    // the human summary names the files
    let out2 = tmp.path().join("dump2");
    let o = emrtd(&[
        "read",
        "--emulator",
        &bac_profile(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("face-1.jp2"), "{text}");
    assert!(text.contains("(+ face-1.png)"), "{text}");
}

#[test]
#[cfg(feature = "emulator")]
fn inspect_dump_shows_every_file_and_extract_restores_the_images() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dump");
    let o = emrtd(&[
        "read",
        "--emulator",
        &bac_profile(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let manifest = ok_json(&o);
    // every .bin file decodes; the manifest is shown
    let j = ok_json(&emrtd(&["inspect", "--json", "--dump", out.to_str().unwrap()]));
    let bins = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".bin")
        })
        .count();
    assert_eq!(j["files"].as_array().unwrap().len(), bins);
    assert!(
        j["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("error").is_none())
    );
    assert_eq!(j["manifest"]["images"], manifest["images"]);
    let kinds: Vec<&str> = j["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"dg2"), "{kinds:?}");
    let o = emrtd(&["inspect", "--dump", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("manifest.json: made by emrtd"), "{text}");
    assert!(text.contains("images (on disk only):"));
    assert!(text.contains("DG2.bin: DG2"));

    // lose the images and their manifest entries, then extract them offline
    let face = std::fs::read(out.join("face-1.jp2")).unwrap();
    let png = std::fs::read(out.join("face-1.png")).unwrap();
    std::fs::remove_file(out.join("face-1.jp2")).unwrap();
    std::fs::remove_file(out.join("face-1.png")).unwrap();
    let mut stripped = manifest.clone();
    stripped.as_object_mut().unwrap().remove("images");
    std::fs::write(out.join("manifest.json"), serde_json::to_vec(&stripped).unwrap()).unwrap();
    let j = ok_json(&emrtd(&[
        "inspect",
        "--json",
        "--dump",
        out.to_str().unwrap(),
        "--extract",
    ]));
    assert_eq!(j["manifest_updated"], true);
    assert_eq!(std::fs::read(out.join("face-1.jp2")).unwrap(), face);
    assert_eq!(std::fs::read(out.join("face-1.png")).unwrap(), png);
    assert_private(&out.join("face-1.jp2"));
    let back: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(back["images"], manifest["images"]);
    // every other field kept
    assert_eq!(back["files"], manifest["files"]);
    assert_eq!(back["access"], manifest["access"]);
    assert_eq!(
        emrtd::reader::dump::Dump::load(&out)
            .unwrap()
            .manifest
            .images
            .len(),
        1
    );
}

#[test]
fn inspect_dump_with_an_undecodable_file_shows_the_rest_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::copy(vector("lds/jmrtd_bsi2008/EF_COM.bin"), d.join("EF.COM.bin")).unwrap();
    std::fs::copy(vector("lds/jmrtd_bsi2008/Datagroup2.bin"), d.join("DG2.bin")).unwrap();
    std::fs::write(d.join("DG5.bin"), [0x65, 0x03, 0x02, 0x01]).unwrap();
    let o = emrtd(&["inspect", "--dump", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("DG2.bin: DG2"), "{text}");
    assert!(text.contains("DG5.bin: error"), "{text}");
    // extraction writes what it can, reports the rest, exits 2; no manifest to update
    let o = emrtd(&["inspect", "--json", "--dump", d.to_str().unwrap(), "--extract"]);
    assert_eq!(o.status.code(), Some(2));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["images"][0]["name"], "face-1.jp2");
    assert_eq!(j["image_errors"][0]["source"], "DG5");
    assert_eq!(j["manifest_updated"], false);
    assert!(d.join("face-1.png").exists());
}

#[test]
fn extract_dg3_writes_both_fingers_as_wsq_and_png() {
    let dg3 = read("lds/jmrtd_bsi2008/Datagroup3.bin");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = emrtd(&[
        "inspect",
        "--json",
        vector("lds/jmrtd_bsi2008/Datagroup3.bin").to_str().unwrap(),
        "--extract",
        out.to_str().unwrap(),
    ]);
    let j = ok_json(&o);
    let images = j["images"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    for (i, rec) in images.iter().enumerate() {
        assert_eq!(rec["name"], format!("finger-{}.wsq", i + 1));
        assert_eq!(rec["role"], "finger");
        let (off, size) = (
            rec["offset"].as_u64().unwrap() as usize,
            rec["size"].as_u64().unwrap() as usize,
        );
        check_image(&out, rec, &sha256_hex(&dg3[off..off + size]), (620, 620));
        // the PNG holds what the WSQ decoder gives (itself checked against NBIS)
        let png = std::fs::read(out.join(rec["png"]["name"].as_str().unwrap())).unwrap();
        let ours = emrtd::lds::image::decode(&png).unwrap();
        let direct = emrtd::lds::image::decode(&dg3[off..off + size]).unwrap();
        assert_eq!(ours.data, direct.data);
    }
}

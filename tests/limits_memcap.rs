//! Hostile inputs against the built binary under an address-space cap of 1 GiB
//! (`prlimit --as`, else `ulimit -v` in bash) and a wall-clock bound enforced here
//! (the process is killed and the test fails on overrun). Each test asserts that the
//! process exited (no signal: no abort), in bounded time, with the expected error
//! text, and that what must be kept (a dump, a verdict) was kept. docs/limits.md
//! names these tests per input path.
//!
//! Inputs are generated here: JPEG 2000 faces whose headers ask for millions of tiles
//! or code-blocks, emulator profiles with such a face or a chip that stalls, LDIF files
//! with huge dns or endless records.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
// the JPEG 2000 faces and profiles feed the emulated booklets; without the `emulator`
// feature only the LDIF tests and the start-up check run
#![cfg_attr(not(feature = "emulator"), allow(dead_code, unused_imports))]

mod support;

use support::root;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The address-space cap of every process started here.
const CAP: u64 = 1 << 30;

/// What a capped run gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    /// The process exited by itself (not killed by a signal such as SIGABRT).
    fn exited(&self) -> i32 {
        match self.code {
            Some(c) => c,
            None => panic!(
                "the process was killed by a signal (abort?) after {:?}\nstderr: {}",
                self.took, self.stderr
            ),
        }
    }
}

/// `emrtd ARGS` under the 1 GiB cap, killed (and the test failed) after `limit`.
fn capped(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    let bin = env!("CARGO_BIN_EXE_emrtd");
    let mut cmd = if Path::new("/usr/bin/prlimit").exists() {
        let mut c = Command::new("/usr/bin/prlimit");
        c.arg(format!("--as={CAP}")).arg("--").arg(bin);
        c
    } else {
        let mut c = Command::new("bash");
        c.arg("-c")
            .arg(format!("ulimit -v {}; exec \"$@\"", CAP / 1024))
            .arg("bash")
            .arg(bin);
        c
    };
    cmd.args(args)
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .env_remove("EMRTD_STORE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("emrtd {args:?} still running after {limit:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    Run {
        code: status.code(),
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
        took,
    }
}

// ---------------------------------------------------------------------------------
// hostile JPEG 2000 faces

/// A JPEG 2000 codestream: SOC, SIZ (a `grid`² reference grid, the image from
/// `offset`, `tile`² tiles from `offset`), COD (`layers`, `levels`, 2^`cb`² code-blocks),
/// QCD, one empty tile-part, EOC.
fn codestream(grid: u32, offset: u32, tile: u32, layers: u16, cb: u8, levels: u8) -> Vec<u8> {
    let mut b = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 41, 0x00, 0x00];
    for v in [grid, grid, offset, offset, tile, tile, offset, offset] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(&[0x00, 0x01, 0x07, 0x01, 0x01]);
    b.extend_from_slice(&[0xFF, 0x52, 0x00, 12, 0x00, 0x00]);
    b.extend_from_slice(&layers.to_be_bytes());
    b.extend_from_slice(&[0x00, levels, cb - 2, cb - 2, 0x00, 0x01]);
    let bands = 1 + 3 * usize::from(levels);
    b.extend_from_slice(&[0xFF, 0x5C]);
    b.extend_from_slice(&u16::try_from(3 + bands).unwrap().to_be_bytes());
    b.push(0x40);
    b.extend(std::iter::repeat_n(0x40, bands));
    b.extend_from_slice(&[
        0xFF, 0x90, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0E, 0x00, 0x01,
    ]);
    b.extend_from_slice(&[0xFF, 0x93, 0xFF, 0xD9]);
    b
}

fn jp2_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = u32::try_from(8 + body.len()).unwrap().to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// The codestream in a JP2 file (signature, ftyp, jp2h with ihdr and colr, jp2c).
fn jp2(codestream: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];
    out.extend(jp2_box(b"ftyp", b"jp2 \0\0\0\0jp2 "));
    let mut ihdr = height.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&[0x00, 0x01, 0x07, 0x07, 0x00, 0x00]);
    let mut jp2h = jp2_box(b"ihdr", &ihdr);
    jp2h.extend(jp2_box(b"colr", &[1, 0, 0, 0, 0, 0, 17]));
    out.extend(jp2_box(b"jp2h", &jp2h));
    out.extend(jp2_box(b"jp2c", codestream));
    out
}

/// 1×1 tiles over a 4096² image at the far corner of a 65,535² grid: 16.7 M tiles.
fn one_pixel_tiles() -> Vec<u8> {
    jp2(&codestream(65_535, 61_439, 1, 1, 6, 5), 4_096, 4_096)
}

/// A 4096² image of 4×4 code-blocks in 32 quality layers: 33 M code-block layers.
fn tiny_code_blocks() -> Vec<u8> {
    jp2(&codestream(4_096, 0, 4_096, 32, 2, 5), 4_096, 4_096)
}

/// Within every header bound, but about 400 MB for the decoder (8×8 code-blocks,
/// 15 layers, 4096²): decodes under the default limit, dies under a small one. The
/// 96-byte codestream alone is refused for its decoding work (the `lds_image_bounds`
/// fuzz finding), so 240 KB of comments (COM, A.9.2) raise its allowance.
fn heavy_but_allowed() -> Vec<u8> {
    let bare = codestream(4_096, 0, 4_096, 15, 3, 5);
    let sot = bare.windows(2).position(|w| w == [0xFF, 0x90]).unwrap();
    let mut padded = bare[..sot].to_vec();
    for _ in 0..4 {
        padded.extend_from_slice(&[0xFF, 0x64]);
        padded.extend_from_slice(&60_004u16.to_be_bytes());
        padded.extend_from_slice(&[0x00, 0x01]);
        padded.extend(std::iter::repeat_n(b'x', 60_000));
    }
    padded.extend_from_slice(&bare[sot..]);
    let face = jp2(&padded, 4_096, 4_096);
    let format = emrtd::lds::image::detect(&face).unwrap();
    emrtd::lds::image::bounds::check(&face, format).unwrap();
    face
}

/// A BAC booklet profile in `dir` whose DG2 face is `face`, with `extra` appended.
fn profile(dir: &Path, face: &[u8], extra: &str) -> PathBuf {
    let face_path = dir.join("face.jp2");
    std::fs::write(&face_path, face).unwrap();
    let keys = root().join("pkd-fixtures/keys");
    let text = format!(
        r#"name = "hostile face"
description = "a BAC booklet with a generated face"
mrz = """
P<UTOSPECIMEN<<BAC<BOOKLET<<<<<<<<<<<<<<<<<<
UTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02
"""

[chip]
bac = true

[dg2]
face = {face:?}

[sign]
dsc = "{keys}/ut-dsc-valid.cer"
key = "{keys}/ut-dsc-valid.key.pem"
digest = "sha256"
signing_time = "2025-07-01T09:00:00Z"

{extra}
"#,
        face = face_path.display().to_string(),
        keys = keys.display(),
    );
    let path = dir.join("booklet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// `read --out`: the dump is complete and the face's error is in the manifest.
fn read_keeps_the_dump(face: Vec<u8>, expected: &str, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &face, "");
    let out = dir.path().join("dump");
    let r = capped(
        &["read", "--emulator", s(&p), "--out", s(&out)],
        env,
        Duration::from_secs(30),
    );
    assert_eq!(r.exited(), 0, "{}", r.stderr);
    assert!(r.took < Duration::from_secs(20), "took {:?}", r.took);
    for f in ["EF.COM.bin", "EF.SOD.bin", "DG1.bin", "DG2.bin", "face-1.jp2"] {
        assert!(out.join(f).is_file(), "{f} missing from the dump");
    }
    assert!(!out.join("face-1.png").exists());
    let m = manifest(&out);
    assert_eq!(m["partial"], false, "{m}");
    let err = m["images"][0]["png_error"].as_str().unwrap();
    assert!(err.starts_with("face image could not be decoded: "), "{err}");
    assert!(err.contains(expected), "{err}");
    assert!(r.stdout.contains(expected), "{}", r.stdout);
}

#[test]
fn binary_starts_under_the_cap() {
    let r = capped(&["--version"], &[], Duration::from_secs(10));
    assert_eq!(r.exited(), 0, "{}", r.stderr);
}

#[test]
#[cfg(feature = "emulator")]
fn read_one_pixel_tiles_face_keeps_the_dump() {
    read_keeps_the_dump(
        one_pixel_tiles(),
        "needs 16777216 tiles, more than the 4096 allowed",
        &[],
    );
}

#[test]
#[cfg(feature = "emulator")]
fn read_tiny_code_blocks_face_keeps_the_dump() {
    read_keeps_the_dump(
        tiny_code_blocks(),
        "code-blocks, more than the 1048576 allowed",
        &[],
    );
}

#[test]
#[cfg(feature = "emulator")]
fn decoder_dying_costs_one_picture() {
    // headers within bounds, but the decoder process gets 192 MiB: it aborts
    read_keeps_the_dump(
        heavy_but_allowed(),
        "the decoder process was killed by signal 6 (SIGABRT",
        &[("EMRTD_DECODER_ADDRESS_SPACE", "201326592")],
    );
}

#[test]
#[cfg(feature = "emulator")]
fn inspect_extract_refuses_hostile_faces_and_carries_on() {
    for (face, expected) in [(one_pixel_tiles(), "tiles"), (tiny_code_blocks(), "code-blocks")] {
        let dir = tempfile::tempdir().unwrap();
        let p = profile(dir.path(), &face, "");
        let dump = dir.path().join("dump");
        let r = capped(
            &["read", "--emulator", s(&p), "--out", s(&dump), "-q"],
            &[],
            Duration::from_secs(30),
        );
        assert_eq!(r.exited(), 0, "{}", r.stderr);
        // one file
        let x = dir.path().join("x");
        let r = capped(
            &["inspect", s(&dump.join("DG2.bin")), "--extract", s(&x)],
            &[],
            Duration::from_secs(30),
        );
        assert_eq!(r.exited(), 0, "{}", r.stderr);
        assert!(r.took < Duration::from_secs(20));
        assert!(
            r.stdout.contains("face image could not be decoded") && r.stdout.contains(expected),
            "{}",
            r.stdout
        );
        assert_eq!(std::fs::read(x.join("face-1.jp2")).unwrap(), face);
        // a whole dump
        std::fs::remove_file(dump.join("face-1.jp2")).unwrap();
        let r = capped(
            &["inspect", "--dump", s(&dump), "--extract"],
            &[],
            Duration::from_secs(30),
        );
        assert_eq!(r.exited(), 0, "{}", r.stderr);
        let m = manifest(&dump);
        assert!(
            m["images"][0]["png_error"].as_str().unwrap().contains(expected),
            "{m}"
        );
    }
}

#[test]
#[cfg(feature = "emulator")]
fn verify_html_keeps_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("trust.db");
    let pki: Vec<String> = std::fs::read_dir(root().join("pkd-fixtures/pki"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let mut args = vec!["--store", s(&store), "-q", "pkd", "import"];
    args.extend(pki.iter().map(String::as_str));
    let r = capped(&args, &[], Duration::from_secs(60));
    assert_eq!(r.exited(), 0, "{}", r.stderr);
    for face in [one_pixel_tiles(), tiny_code_blocks()] {
        let p = profile(dir.path(), &face, "");
        let html = dir.path().join("report.html");
        let r = capped(
            &[
                "--store",
                s(&store),
                "verify",
                "--emulator",
                s(&p),
                "--html",
                s(&html),
                "--json",
            ],
            &[],
            Duration::from_secs(30),
        );
        assert_eq!(r.exited(), 0, "{}", r.stderr);
        assert!(r.took < Duration::from_secs(20));
        let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(report["verdict"], "VALID", "{report}");
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.contains("VALID") && !page.contains("data:image/png"));
    }
}

// ---------------------------------------------------------------------------------
// time: one stalled answer

#[test]
#[cfg(feature = "emulator")]
fn stalled_answer_in_process_ends_at_the_time_budget() {
    let dir = tempfile::tempdir().unwrap();
    let face = std::fs::read(root().join("test-vectors/generated/face_gray.jp2")).unwrap();
    // APDU 7 (inside the file reads) is answered after 300 s
    let p = profile(
        dir.path(),
        &face,
        "[[faults]]\nkind = \"slow\"\nms = 300000\nat = 6\n",
    );
    let out = dir.path().join("dump");
    let r = capped(
        &[
            "read",
            "--emulator",
            s(&p),
            "--out",
            s(&out),
            "--time-budget",
            "3",
        ],
        &[],
        Duration::from_secs(30),
    );
    assert_eq!(r.exited(), 2, "{}", r.stderr);
    assert!(r.took < Duration::from_secs(3 + 4), "took {:?}", r.took);
    assert!(r.stderr.contains("time budget of 3 s"), "{}", r.stderr);
    assert!(r.stderr.contains("partial dump"), "{}", r.stderr);
    assert_eq!(manifest(&out)["partial"], true);
}

#[test]
#[cfg(feature = "emulator")]
fn stalled_answer_through_pcscd_ends_at_the_time_budget() {
    let _serial = support::serial();
    let pcscd = match support::Pcscd::start_or_reuse() {
        Ok(p) => p,
        Err(reason) => {
            support::skip(&reason);
            return;
        }
    };
    let slot = support::free_slot().unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let face = std::fs::read(root().join("test-vectors/generated/face_gray.jp2")).unwrap();
    let p = profile(
        dir.path(),
        &face,
        "[[faults]]\nkind = \"slow\"\nms = 300000\nat = 6\n",
    );
    let _emu = support::Emulate::start(&p, slot, pcscd.dir().join("emulate-stalled.log"));
    let mrz = dir.path().join("mrz.txt");
    std::fs::write(
        &mrz,
        "P<UTOSPECIMEN<<BAC<BOOKLET<<<<<<<<<<<<<<<<<<\nUTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02\n",
    )
    .unwrap();
    let out = dir.path().join("dump");
    let r = capped(
        &[
            "read",
            "--reader",
            slot.0,
            "--mrz-file",
            s(&mrz),
            "--out",
            s(&out),
            "--time-budget",
            "3",
        ],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(r.exited(), 2, "{}", r.stderr);
    assert!(r.took < Duration::from_secs(3 + 5), "took {:?}", r.took);
    assert!(r.stderr.contains("time budget of 3 s"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------
// LDIF amplification

fn import(ldif: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.ldif");
    std::fs::write(&file, ldif).unwrap();
    let store = dir.path().join("trust.db");
    capped(
        &["--store", s(&store), "pkd", "import", s(&file)],
        &[],
        Duration::from_secs(60),
    )
}

#[test]
fn ldif_one_mib_dn_is_refused() {
    // a 1 MiB dn over 4000 bad values: 4 GB of error lines before the bound (1.1 MB)
    let mut ldif = format!(
        "version: 1\n\ndn: cn={},o=dsc,c=UT,dc=data\n",
        "a".repeat(1 << 20)
    );
    ldif.push_str(&"userCertificate;binary:: !\n".repeat(4_000));
    ldif.push('\n');
    let r = import(&ldif);
    assert_eq!(r.exited(), 2, "{}", r.stderr);
    assert!(r.took < Duration::from_secs(20));
    assert!(
        r.stdout.contains("line 3: dn longer than 8192 bytes"),
        "{}",
        r.stdout
    );
}

#[test]
fn ldif_endless_record_is_refused() {
    // two million attribute lines in one record (10 MB): ~1.6 GB as parsed attributes
    let mut ldif = String::from("version: 1\n\ndn: cn=x,o=dsc,c=UT,dc=data\n");
    ldif.push_str(&"a: 1\n".repeat(2_000_000));
    ldif.push('\n');
    let r = import(&ldif);
    assert_eq!(r.exited(), 2, "{}", r.stderr);
    assert!(r.took < Duration::from_secs(20));
    assert!(
        r.stdout
            .contains("line 3: the record starting here has more than 4096 attributes"),
        "{}",
        r.stdout
    );
}

/// The error lines of an import's report (`  error: …`).
fn error_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("error: "))
        .collect()
}

#[test]
fn ldif_value_past_the_line_limit_is_refused_without_reading_it_whole() {
    // a 2 GiB value without a line end (a sparse file: no disk used); read whole it
    // would need twice the address space the process has
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long-line.ldif");
    let head = "version: 1\n\ndn: cn=x,o=dsc,c=UT,dc=data\nuserCertificate;binary:: ";
    std::fs::write(&file, head).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let store = dir.path().join("trust.db");
    let r = capped(
        &["--store", s(&store), "pkd", "import", s(&file)],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(r.exited(), 2, "{}", r.stderr);
    assert!(r.took < Duration::from_secs(30), "{:?}", r.took);
    // the line is named once, not repeated by the error's source chain
    assert_eq!(
        error_lines(&r.stdout),
        ["line 4: value longer than 67108864 bytes"],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("FAILED"), "{}", r.stdout);
}

#[test]
fn ldif_folded_value_past_the_line_limit_is_refused_with_its_first_line() {
    // 65 continuation lines of 1 MiB: each physical line is short, the unfolded
    // value passes 64 MiB
    let mut ldif = String::from("version: 1\n\ndn: cn=x,o=dsc,c=UT,dc=data\nuserCertificate;binary:: A\n");
    let chunk = format!(" {}\n", "A".repeat(1 << 20));
    for _ in 0..65 {
        ldif.push_str(&chunk);
    }
    ldif.push('\n');
    let r = import(&ldif);
    drop(ldif);
    assert_eq!(r.exited(), 2, "{}", r.stderr);
    assert!(r.took < Duration::from_secs(30), "{:?}", r.took);
    assert_eq!(
        error_lines(&r.stdout),
        ["line 4: value longer than 67108864 bytes"],
        "{}",
        r.stdout
    );
}

#[test]
fn ldif_syntax_error_names_its_line_once() {
    let r = import("version: 1\n\ndn: cn=x,o=dsc,c=UT,dc=data\nno colon here\n\n");
    assert_eq!(r.exited(), 2, "{}", r.stderr);
    assert_eq!(error_lines(&r.stdout), ["line 4: missing ':'"], "{}", r.stdout);
    let r = import(&format!(
        "version: 1\n\ndn: cn={},o=dsc,c=UT,dc=data\nsn: 1\n\n",
        "a".repeat(9_000)
    ));
    assert_eq!(r.exited(), 2, "{}", r.stderr);
    assert_eq!(
        error_lines(&r.stdout),
        ["line 3: dn longer than 8192 bytes"],
        "{}",
        r.stdout
    );
}

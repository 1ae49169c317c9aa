//! Hostile files around the binary (issues 12 and 16): dump directories holding FIFOs,
//! links and sparse giants; output directories holding planted links; names and
//! fields that carry terminal escape codes; a standard output closed under emrtd.
//!
//! Every hostile run goes through [`run_capped`]: the built binary under a 1 GB
//! address-space cap (`ulimit -v` in a shell) and a 20 s wall-clock bound enforced
//! here (the child is killed and the test fails), so a hang, a memory blow-up or an
//! abort shows up as a failure, never as a stuck test run. docs/limits.md names
//! these tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address-space cap of every hostile run, KiB (1 GB).
const AS_CAP_KIB: u64 = 1_000_000;
/// Wall-clock bound of every hostile run.
const WALL: Duration = Duration::from_secs(20);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bsi2008() -> PathBuf {
    root().join("test-vectors/lds/jmrtd_bsi2008")
}

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    took: Duration,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn show(&self) -> String {
        format!(
            "exit {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.took,
            self.out(),
            self.stderr
        )
    }
}

/// Run `emrtd ARGS` under the address-space cap and the wall-clock bound, with a
/// store path in `store` (never the user's).
fn run_capped<S: AsRef<OsStr>>(args: &[S], store: &Path) -> Run {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {AS_CAP_KIB} && exec \"$@\""))
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_emrtd"))
        .args(args)
        .env("EMRTD_STORE", store)
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > WALL {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "emrtd {:?} still running after {WALL:?}: killed",
                display_args(args)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let stdout = t_out.join().unwrap();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    let run = Run {
        code: status.code(),
        stdout,
        stderr,
        took,
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("memory allocation"),
        "{}",
        run.show()
    );
    assert!(run.code.is_some(), "killed by a signal: {}", run.show());
    run
}

fn display_args<S: AsRef<OsStr>>(args: &[S]) -> Vec<String> {
    args.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect()
}

/// A dump directory with the BSI 2008 specimen's files except DG2, into which each
/// test plants its hostile `DG2.bin` (or other file). Returns (tempdir, dump dir).
fn dump_without_dg2() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("dump");
    std::fs::create_dir(&d).unwrap();
    for name in ["EF_COM.bin", "EF_SOD.bin", "Datagroup1.bin", "Datagroup15.bin"] {
        std::fs::copy(bsi2008().join(name), d.join(name)).unwrap();
    }
    (t, d)
}

/// `verify --dump D` and `inspect --dump D` both exit 2, fast, naming the file and
/// the reason.
fn assert_both_refuse(t: &tempfile::TempDir, d: &Path, expect: &str) {
    let store = t.path().join("store.db");
    for cmd in ["verify", "inspect"] {
        let r = run_capped(&[OsStr::new(cmd), OsStr::new("--dump"), d.as_os_str()], &store);
        assert_eq!(r.code, Some(2), "{cmd}: {}", r.show());
        assert!(
            r.stderr.contains(expect),
            "{cmd}: wanted {expect:?}: {}",
            r.show()
        );
        assert!(r.took < Duration::from_secs(10), "{cmd}: {}", r.show());
    }
}

#[test]
fn dump_fifo_is_refused_without_blocking() {
    let (t, d) = dump_without_dg2();
    let fifo = d.join("DG2.bin");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    assert_both_refuse(&t, &d, "DG2.bin is a FIFO (named pipe): refused");
}

#[test]
fn dump_symlink_to_dev_zero_is_refused() {
    let (t, d) = dump_without_dg2();
    std::os::unix::fs::symlink("/dev/zero", d.join("DG2.bin")).unwrap();
    assert_both_refuse(&t, &d, "DG2.bin is a symbolic link: refused");
}

#[test]
fn dump_symlink_out_of_the_directory_is_refused() {
    let (t, d) = dump_without_dg2();
    // a genuine DG2 outside the dump: the link is refused all the same, never followed
    let outside = t.path().join("elsewhere.bin");
    std::fs::copy(bsi2008().join("Datagroup2.bin"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, d.join("DG2.bin")).unwrap();
    assert_both_refuse(&t, &d, "DG2.bin is a symbolic link: refused");
}

#[test]
fn dump_device_is_refused() {
    let (t, d) = dump_without_dg2();
    // a device node cannot be made without privileges; a socket is another
    // non-regular file that blocks or fails on open
    let _sock = std::os::unix::net::UnixListener::bind(d.join("DG2.bin")).unwrap();
    assert_both_refuse(&t, &d, "DG2.bin is a socket: refused");
}

#[test]
fn dump_sparse_4gib_file_is_refused_at_the_chip_file_cap() {
    let (t, d) = dump_without_dg2();
    let f = std::fs::File::create(d.join("DG2.bin")).unwrap();
    f.set_len(4 << 30).unwrap();
    let expect = format!(
        "DG2.bin is 4294967296 bytes, more than the {} a chip file may have",
        emrtd::reader::dump::MAX_DUMP_FILE
    );
    assert_both_refuse(&t, &d, &expect);
}

#[test]
fn dump_file_one_byte_over_the_cap_is_refused_and_at_the_cap_is_read() {
    let (t, d) = dump_without_dg2();
    let cap = emrtd::reader::dump::MAX_DUMP_FILE as u64;
    let f = std::fs::File::create(d.join("DG2.bin")).unwrap();
    f.set_len(cap + 1).unwrap();
    assert_both_refuse(&t, &d, &format!("DG2.bin is {} bytes", cap + 1));
    // at the cap the file is read (and found not to be a DG2): a finding, not a refusal
    f.set_len(cap).unwrap();
    let r = run_capped(
        &[
            OsStr::new("verify"),
            OsStr::new("--dump"),
            d.as_os_str(),
            OsStr::new("--json"),
        ],
        &t.path().join("store.db"),
    );
    assert!(!r.stderr.contains("a chip file may have"), "{}", r.show());
    assert_ne!(r.code, Some(0), "{}", r.show());
}

#[test]
fn dump_manifest_too_large_or_a_link_is_refused() {
    let (t, d) = dump_without_dg2();
    let m = d.join("manifest.json");
    let f = std::fs::File::create(&m).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    assert_both_refuse(
        &t,
        &d,
        &format!(
            "manifest.json is 2147483648 bytes, more than the {} manifest.json may have",
            emrtd::reader::dump::MAX_MANIFEST
        ),
    );
    std::fs::remove_file(&m).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &m).unwrap();
    assert_both_refuse(&t, &d, "manifest.json is a symbolic link: refused");
}

// ---------------------------------------------------------------------------------
// writes

const PRECIOUS: &[u8] = b"precious, outside the dump\n";

/// A file outside the dump that planted links point at; must never change.
fn victim(t: &tempfile::TempDir) -> PathBuf {
    let v = t.path().join("victim.txt");
    std::fs::write(&v, PRECIOUS).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&v, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    v
}

fn assert_untouched(v: &Path) {
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::read(v).unwrap(),
        PRECIOUS,
        "{} was written through",
        v.display()
    );
    let mode = std::fs::metadata(v).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "{} changed mode", v.display());
}

fn assert_private_regular(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let m = std::fs::symlink_metadata(p).unwrap();
    assert!(m.is_file(), "{} is not a regular file", p.display());
    assert_eq!(m.permissions().mode() & 0o777, 0o600, "{}", p.display());
}

/// The BSI 2008 specimen (with its JPEG 2000 face) and a manifest, so `--extract`
/// writes images and updates manifest.json.
fn full_dump(t: &tempfile::TempDir) -> PathBuf {
    let d = t.path().join("dump");
    std::fs::create_dir(&d).unwrap();
    for name in ["EF_COM.bin", "EF_SOD.bin", "Datagroup1.bin", "Datagroup2.bin"] {
        std::fs::copy(bsi2008().join(name), d.join(name)).unwrap();
    }
    let manifest = emrtd::reader::Manifest::new("elsewhere".into(), &[]);
    std::fs::write(d.join("manifest.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
    d
}

#[test]
fn extract_ignores_links_planted_under_the_old_temporary_names() {
    let t = tempfile::tempdir().unwrap();
    let v = victim(&t);
    let d = full_dump(&t);
    // the names emrtd used for its temporary files: NAME.tmp~
    for planted in ["face-1.tmp~", "manifest.tmp~"] {
        std::os::unix::fs::symlink(&v, d.join(planted)).unwrap();
    }
    let r = run_capped(
        &[
            OsStr::new("inspect"),
            OsStr::new("--dump"),
            d.as_os_str(),
            OsStr::new("--extract"),
        ],
        &t.path().join("store.db"),
    );
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_untouched(&v);
    for name in ["face-1.jp2", "face-1.png", "manifest.json"] {
        assert_private_regular(&d.join(name));
    }
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["images"][0]["name"], "face-1.jp2");
    // the planted links are left as they were, and no temporary file is left over
    for planted in ["face-1.tmp~", "manifest.tmp~"] {
        assert!(std::fs::symlink_metadata(d.join(planted)).unwrap().is_symlink());
    }
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn extract_refuses_a_link_under_the_final_name() {
    let t = tempfile::tempdir().unwrap();
    let v = victim(&t);
    let d = full_dump(&t);
    std::os::unix::fs::symlink(&v, d.join("face-1.png")).unwrap();
    let r = run_capped(
        &[
            OsStr::new("inspect"),
            OsStr::new("--dump"),
            d.as_os_str(),
            OsStr::new("--extract"),
        ],
        &t.path().join("store.db"),
    );
    assert_eq!(r.code, Some(2), "{}", r.show());
    assert!(
        r.stderr
            .contains("face-1.png is a symbolic link: refused, nothing is written through it"),
        "{}",
        r.show()
    );
    assert_untouched(&v);
    assert!(
        std::fs::symlink_metadata(d.join("face-1.png"))
            .unwrap()
            .is_symlink()
    );
}

#[cfg(feature = "emulator")]
fn read_into(out: &Path, store: &Path) -> Run {
    let profile = root().join("pkd-fixtures/booklets/bac.toml");
    run_capped(
        &[
            OsStr::new("read"),
            OsStr::new("--emulator"),
            profile.as_os_str(),
            OsStr::new("--out"),
            out.as_os_str(),
            OsStr::new("-q"),
        ],
        store,
    )
}

#[test]
#[cfg(feature = "emulator")]
fn read_out_ignores_links_planted_under_the_old_temporary_names() {
    let t = tempfile::tempdir().unwrap();
    let v = victim(&t);
    let d = t.path().join("out");
    std::fs::create_dir(&d).unwrap();
    for planted in [
        "DG1.tmp~",
        "DG2.tmp~",
        "EF.SOD.tmp~",
        "manifest.tmp~",
        "face-1.tmp~",
    ] {
        std::os::unix::fs::symlink(&v, d.join(planted)).unwrap();
    }
    let r = read_into(&d, &t.path().join("store.db"));
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_untouched(&v);
    for name in ["DG1.bin", "DG2.bin", "EF.SOD.bin", "manifest.json"] {
        assert_private_regular(&d.join(name));
    }
}

#[test]
#[cfg(feature = "emulator")]
fn read_out_refuses_a_link_under_a_final_name_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let v = victim(&t);
    let d = t.path().join("out");
    std::fs::create_dir(&d).unwrap();
    std::os::unix::fs::symlink(&v, d.join("DG1.bin")).unwrap();
    let r = read_into(&d, &t.path().join("store.db"));
    assert_eq!(r.code, Some(2), "{}", r.show());
    assert!(
        r.stderr
            .contains("DG1.bin is a symbolic link: refused, nothing is written through it"),
        "{}",
        r.show()
    );
    assert_untouched(&v);
    // refused before the first byte: only the planted link is there
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["DG1.bin"]);
}

#[test]
#[cfg(feature = "emulator")]
fn read_out_writes_the_files_before_the_images_and_refuses_a_link_under_an_image_name() {
    let t = tempfile::tempdir().unwrap();
    let v = victim(&t);
    let d = t.path().join("out");
    std::fs::create_dir(&d).unwrap();
    std::os::unix::fs::symlink(&v, d.join("face-1.png")).unwrap();
    let r = read_into(&d, &t.path().join("store.db"));
    assert_eq!(r.code, Some(2), "{}", r.show());
    assert!(
        r.stderr.contains("face-1.png is a symbolic link: refused"),
        "{}",
        r.show()
    );
    assert_untouched(&v);
    // the chip's evidence is on disk; without a manifest the dump says it is incomplete
    for name in ["EF.COM.bin", "EF.SOD.bin", "DG1.bin", "DG2.bin"] {
        assert_private_regular(&d.join(name));
    }
    assert!(!d.join("manifest.json").exists());
}

#[test]
#[cfg(feature = "emulator")]
fn read_out_refuses_a_fifo_under_the_manifest_name() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("out");
    std::fs::create_dir(&d).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(d.join("manifest.json"))
            .status()
            .unwrap()
            .success()
    );
    let r = read_into(&d, &t.path().join("store.db"));
    assert_eq!(r.code, Some(2), "{}", r.show());
    assert!(
        r.stderr.contains("manifest.json is a FIFO (named pipe): refused"),
        "{}",
        r.show()
    );
}

// ---------------------------------------------------------------------------------
// terminal and XML injection

/// What a hostile name carries: clear screen, cursor home, a green VALID, a new line,
/// a window title, a C1 CSI and a right-to-left override.
const FAKE: &str =
    "Evil\x1b[2J\x1b[H\x1b[1;32mVALID\x1b[0m\nall checks pass\x1b]0;title\x07\u{9b}2J\u{202e}gpj.exe";

fn assert_no_raw_controls(what: &str, s: &str) {
    let bad: Vec<char> = s
        .chars()
        .filter(|c| {
            (c.is_control() && *c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(bad.is_empty(), "{what}: raw {bad:?} in\n{s}");
}

#[test]
fn verify_text_report_escapes_a_hostile_source_name() {
    let t = tempfile::tempdir().unwrap();
    // a dump directory name is text from elsewhere too (a tar): it is the source line
    let d = t.path().join(FAKE);
    std::fs::create_dir(&d).unwrap();
    for name in ["EF_COM.bin", "EF_SOD.bin", "Datagroup1.bin", "Datagroup2.bin"] {
        std::fs::copy(bsi2008().join(name), d.join(name)).unwrap();
    }
    let r = run_capped(
        &[
            OsStr::new("verify"),
            OsStr::new("--dump"),
            d.as_os_str(),
            OsStr::new("--color"),
            OsStr::new("never"),
            OsStr::new("--at"),
            OsStr::new("2012-01-01"),
        ],
        &t.path().join("none.db"),
    );
    // a specimen without its CSCA: never VALID (which checks decide is verify's business)
    assert!(matches!(r.code, Some(1 | 3)), "{}", r.show());
    let out = r.out();
    assert_no_raw_controls("verify text", &out);
    assert!(out.starts_with("IN"), "{out}");
    assert!(
        out.contains("Evil\\x1B[2J\\x1B[H\\x1B[1;32mVALID\\x1B[0m\\nall checks pass"),
        "{out}"
    );
    assert!(out.contains("\\u{202E}gpj.exe"), "{out}");
    // no line but the first says VALID at its start
    assert!(
        out.lines().skip(1).all(|l| !l.trim_start().starts_with("VALID")),
        "{out}"
    );
}

#[test]
fn check_text_and_junit_escape_a_hostile_source_name() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join(FAKE);
    std::fs::create_dir(&d).unwrap();
    for name in ["EF_COM.bin", "EF_SOD.bin", "Datagroup1.bin", "Datagroup2.bin"] {
        std::fs::copy(bsi2008().join(name), d.join(name)).unwrap();
    }
    let store = t.path().join("none.db");
    let text = run_capped(
        &[
            OsStr::new("check"),
            OsStr::new("--dump"),
            d.as_os_str(),
            OsStr::new("--color"),
            OsStr::new("never"),
        ],
        &store,
    );
    assert!(matches!(text.code, Some(0 | 1)), "{}", text.show());
    assert_no_raw_controls("check text", &text.out());
    assert!(text.out().contains("Evil\\x1B[2J"), "{}", text.show());
    let junit = run_capped(
        &[
            OsStr::new("check"),
            OsStr::new("--dump"),
            d.as_os_str(),
            OsStr::new("--format"),
            OsStr::new("junit"),
        ],
        &store,
    );
    let xml = junit.out();
    well_formed(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_no_raw_controls("check junit", &xml);
}

#[test]
fn junit_and_html_stay_well_formed_with_controls_in_a_reason() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("d");
    std::fs::create_dir(&d).unwrap();
    for name in ["EF_COM.bin", "EF_SOD.bin", "Datagroup1.bin"] {
        std::fs::copy(bsi2008().join(name), d.join(name)).unwrap();
    }
    let r = run_capped(
        &[
            OsStr::new("verify"),
            OsStr::new("--dump"),
            d.as_os_str(),
            OsStr::new("--json"),
        ],
        &t.path().join("none.db"),
    );
    let mut report: emrtd::verify::Report = serde_json::from_slice(&r.stdout).unwrap();
    report.checks[0].reason = format!("bad \x1b[2J\x00 <x> & \"q\" \u{fffe}\u{ffff} {FAKE}");
    report.source = "dump \x01\x0b\x0c\x1f\x7f".into();
    let xml = emrtd::cli::verify::junit(&[&report]);
    well_formed(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_no_raw_controls("junit", &xml);
    assert!(
        xml.contains("bad \\x1B[2J\\x00 &lt;x&gt; &amp; &quot;q&quot; \\u{FFFE}\\u{FFFF}"),
        "{xml}"
    );
    let dump = emrtd::reader::Dump::load(&d).unwrap();
    let html = emrtd::cli::verify::html(&report, &dump);
    assert_no_raw_controls("html", &html);
    assert!(html.contains("bad \\x1B[2J\\x00 &lt;x&gt;"), "{html}");
    let text = emrtd::cli::verify::text(&report, false);
    assert_no_raw_controls("text", &text);
}

/// A small XML 1.0 well-formedness check (enough for what junit() writes): only
/// characters XML allows, balanced and properly nested elements, quoted attributes
/// without `<`, only the five predefined entities or character references, one root.
fn well_formed(s: &str) -> Result<(), String> {
    for (i, c) in s.char_indices() {
        let ok = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || c >= '\u{10000}';
        if !ok {
            return Err(format!(
                "character U+{:04X} at {i} is not allowed in XML",
                c as u32
            ));
        }
    }
    let check_text = |t: &str| -> Result<(), String> {
        let mut rest = t;
        while let Some(p) = rest.find('&') {
            let after = &rest[p + 1..];
            let end = after
                .find(';')
                .ok_or_else(|| format!("unterminated entity in {t:?}"))?;
            let name = &after[..end];
            let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                || name
                    .strip_prefix("#x")
                    .is_some_and(|h| u32::from_str_radix(h, 16).is_ok())
                || name.strip_prefix('#').is_some_and(|d| d.parse::<u32>().is_ok());
            if !ok {
                return Err(format!("unknown entity &{name}; in {t:?}"));
            }
            rest = &after[end + 1..];
        }
        Ok(())
    };
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = s.trim_start();
    if let Some(r) = rest.strip_prefix("<?xml") {
        let end = r.find("?>").ok_or("unterminated XML declaration")?;
        rest = &r[end + 2..];
    }
    loop {
        let Some(lt) = rest.find('<') else {
            check_text(rest)?;
            if !rest.trim().is_empty() && stack.is_empty() {
                return Err("text after the root element".into());
            }
            break;
        };
        let text = &rest[..lt];
        check_text(text)?;
        if stack.is_empty() && !text.trim().is_empty() {
            return Err(format!("text outside the root: {text:?}"));
        }
        let after = &rest[lt + 1..];
        let gt = after.find('>').ok_or("unterminated tag")?;
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or_else(|| format!("</{name}> closes nothing"))?;
            if open != name.trim() {
                return Err(format!("</{name}> closes <{open}>"));
            }
            continue;
        }
        let (body, empty) = match tag.strip_suffix('/') {
            Some(b) => (b, true),
            None => (tag, false),
        };
        let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
        let name = &body[..name_end];
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || "-_.:".contains(c)) {
            return Err(format!("bad element name {name:?}"));
        }
        // attributes: name="value" pairs
        let mut attrs = body[name_end..].trim();
        let mut seen = Vec::new();
        while !attrs.is_empty() {
            let eq = attrs
                .find('=')
                .ok_or_else(|| format!("attribute without value in <{tag}>"))?;
            let an = attrs[..eq].trim();
            if an.is_empty() || seen.contains(&an) {
                return Err(format!("bad or repeated attribute {an:?} in <{tag}>"));
            }
            seen.push(an);
            let v = attrs[eq + 1..].trim_start();
            let q = v
                .chars()
                .next()
                .filter(|c| *c == '"' || *c == '\'')
                .ok_or("unquoted attribute")?;
            let close = v[1..].find(q).ok_or("unterminated attribute")?;
            let value = &v[1..1 + close];
            if value.contains('<') {
                return Err(format!("< in attribute {an}"));
            }
            check_text(value)?;
            attrs = v[close + 2..].trim_start();
        }
        if stack.is_empty() {
            roots += 1;
        }
        if !empty {
            stack.push(name.to_owned());
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

#[test]
fn the_xml_check_itself_rejects_malformed_documents() {
    assert!(well_formed("<a><b x=\"1\"/></a>").is_ok());
    assert!(well_formed("<a>\x1b</a>").is_err());
    assert!(well_formed("<a><b></a>").is_err());
    assert!(well_formed("<a x=\"<\"/>").is_err());
    assert!(well_formed("<a>&nbsp;</a>").is_err());
    assert!(well_formed("<a/><b/>").is_err());
    assert!(well_formed("<a x=1/>").is_err());
}

/// A DG11 whose full name and place of birth carry escape codes.
fn hostile_dg11() -> Vec<u8> {
    let name = format!("SMITH<<JOHN{FAKE}");
    let place = "BERLIN\x1b[2K\rfake line";
    let mut inner = vec![0x5C, 0x04, 0x5F, 0x0E, 0x5F, 0x11];
    for (tag, v) in [([0x5F, 0x0E], name.as_bytes()), ([0x5F, 0x11], place.as_bytes())] {
        inner.extend_from_slice(&tag);
        inner.push(u8::try_from(v.len()).unwrap());
        inner.extend_from_slice(v);
    }
    let mut dg11 = vec![0x6B, 0x81, u8::try_from(inner.len()).unwrap()];
    dg11.extend_from_slice(&inner);
    dg11
}

#[test]
fn inspect_escapes_dg11_fields_and_dump_file_names() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("DG11.bin");
    std::fs::write(&f, hostile_dg11()).unwrap();
    let store = t.path().join("none.db");
    let r = run_capped(&[OsStr::new("inspect"), f.as_os_str()], &store);
    assert_eq!(r.code, Some(0), "{}", r.show());
    let out = r.out();
    assert_no_raw_controls("inspect DG11", &out);
    assert!(out.contains("\\x1B[2J\\x1B[H\\x1B[1;32mVALID"), "{out}");
    assert!(out.contains("BERLIN\\x1B[2K\\rfake line"), "{out}");
    // a dump whose file names carry escapes
    let d = t.path().join("dump");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("DG11.bin"), hostile_dg11()).unwrap();
    std::fs::write(d.join("x\x1b[2Jy.bin"), b"\x30\x00").unwrap();
    let r = run_capped(
        &[OsStr::new("inspect"), OsStr::new("--dump"), d.as_os_str()],
        &store,
    );
    assert_no_raw_controls("inspect --dump stdout", &r.out());
    assert_no_raw_controls("inspect --dump stderr", &r.stderr);
    assert!(r.out().contains("x\\x1B[2Jy.bin"), "{}", r.show());
}

#[test]
fn error_messages_are_escaped() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join(format!("no-such{FAKE}"));
    let r = run_capped(
        &[OsStr::new("inspect"), missing.as_os_str()],
        &t.path().join("s.db"),
    );
    assert_eq!(r.code, Some(2), "{}", r.show());
    assert!(r.stderr.starts_with("emrtd: error: "), "{}", r.show());
    assert_no_raw_controls("stderr", &r.stderr);
    assert!(r.stderr.contains("no-suchEvil\\x1B[2J"), "{}", r.show());
    assert_eq!(
        r.stderr.lines().filter(|l| l.contains("VALID")).count(),
        1,
        "{}",
        r.show()
    );
}

/// A self-signed CA certificate whose subject CN carries the escape codes.
fn hostile_csca_der() -> Vec<u8> {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{BasicConstraints, KeyUsage};
    use openssl::x509::{X509Builder, X509NameBuilder};
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COUNTRYNAME, "UT").unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, FAKE).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::from_str("20200101000000Z").unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_str("20400101000000Z").unwrap())
        .unwrap();
    b.append_extension(
        BasicConstraints::new()
            .critical()
            .ca()
            .pathlen(0)
            .build()
            .unwrap(),
    )
    .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    b.build().to_der().unwrap()
}

#[test]
fn pkd_list_and_inspect_escape_a_hostile_certificate_name() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("store.db");
    let cert = t.path().join("evil.der");
    std::fs::write(&cert, hostile_csca_der()).unwrap();
    let r = run_capped(
        &[OsStr::new("pkd"), OsStr::new("import"), cert.as_os_str()],
        &store,
    );
    assert_no_raw_controls("pkd import", &r.out());
    assert_no_raw_controls("pkd import stderr", &r.stderr);
    assert_eq!(r.code, Some(0), "{}", r.show());
    for args in [&["pkd", "list"][..], &["pkd", "stats"][..]] {
        let r = run_capped(args, &store);
        assert_eq!(r.code, Some(0), "{}", r.show());
        assert_no_raw_controls(&args.join(" "), &r.out());
        if args[1] == "list" {
            // the subject is shown RFC 4514-style: `;` comes out as `\;`
            assert!(r.out().contains("CN=Evil\\x1B[2J\\x1B[H\\x1B[1"), "{}", r.show());
        }
    }
    let r = run_capped(&[OsStr::new("inspect"), cert.as_os_str()], &store);
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_no_raw_controls("inspect cert", &r.out());
    assert!(r.out().contains("\\x1B[2J"), "{}", r.show());
}

// ---------------------------------------------------------------------------------
// closed standard output

/// Run emrtd with stdout a pipe whose reader is already gone: every write gets EPIPE.
fn run_closed_stdout(args: &[&OsStr], store: &Path) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(args)
        .env("EMRTD_STORE", store)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Run emrtd with stdout and stderr both the closed pipe (`emrtd … 2>&1 | head -1`).
fn run_closed_both(args: &[&OsStr], store: &Path) -> Option<i32> {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let err = writer.try_clone().unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(args)
        .env("EMRTD_STORE", store)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(err)
        .status()
        .unwrap();
    st.code()
}

#[test]
fn closed_stdout_ends_quietly_with_the_usual_exit_code() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("store.db");
    let pki: Vec<PathBuf> = std::fs::read_dir(root().join("pkd-fixtures/pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut import = vec![OsStr::new("pkd"), OsStr::new("import")];
    import.extend(pki.iter().map(|p| p.as_os_str()));
    let _ = run_capped(&import, &store);
    let dg1 = bsi2008().join("Datagroup1.bin");
    let specimen = bsi2008();
    let mrz = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
    let cases: Vec<Vec<&OsStr>> = vec![
        vec![OsStr::new("pkd"), OsStr::new("list")],
        vec![OsStr::new("pkd"), OsStr::new("stats")],
        vec![OsStr::new("pkd"), OsStr::new("list"), OsStr::new("--json")],
        vec![OsStr::new("inspect"), dg1.as_os_str()],
        vec![OsStr::new("mrz"), OsStr::new(mrz)],
        vec![OsStr::new("verify"), OsStr::new("--dump"), specimen.as_os_str()],
        vec![
            OsStr::new("verify"),
            OsStr::new("--dump"),
            specimen.as_os_str(),
            OsStr::new("--format"),
            OsStr::new("junit"),
        ],
        vec![OsStr::new("completions"), OsStr::new("bash")],
    ];
    for args in cases {
        let normal = run_capped(&args, &store);
        let (code, stderr) = run_closed_stdout(&args, &store);
        let shown = display_args(&args);
        assert_ne!(code, Some(101), "{shown:?} panicked: {stderr}");
        assert!(!stderr.contains("panicked"), "{shown:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{shown:?}: {stderr}");
        assert_eq!(code, normal.code, "{shown:?}: {stderr}");
        assert_eq!(stderr, normal.stderr, "{shown:?}");
        // a panic would be exit 101 (its message lost in the closed pipe)
        assert_eq!(run_closed_both(&args, &store), normal.code, "{shown:?} 2>&1");
    }
}

//! Privacy scan: what `emrtd read` and `emrtd verify` of an emulated booklet (REF-1)
//! write to stderr (default logging and `-v`) and to the default, redacted `--trace`
//! holds neither the MRZ, nor the holder's names, nor any 16-byte window of DG1, DG11
//! or DG2 (raw or hex); nor do the error messages of runs with a wrong MRZ. The scan is
//! checked against `--trace-plain`, which must trip it (so it can fail).
//!
//! stdout is not scanned: the verify report and the read summary show the document to
//! the officer by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../benches/support/ref1.rs"]
mod ref1;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use emrtd::lds::LdsFile;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// REF-1 (the fixture when shipped, else the stand-in), a store trusting it, and the
/// secrets to look for.
struct Fixture {
    _dir: tempfile::TempDir,
    profile: PathBuf,
    store: PathBuf,
    secrets: Secrets,
}

struct Secrets {
    /// Strings that must not appear (MRZ lines, MRZ key fields, names).
    texts: Vec<String>,
    /// Every 16-byte window of DG1, DG11 and DG2.
    windows: HashSet<[u8; 16]>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let shipped = root().join("pkd-fixtures/booklets/ref1.toml");
        let profile = if shipped.exists() {
            shipped
        } else {
            ref1::build(&root(), &dir.path().join("ref1")).unwrap().toml
        };
        let store = dir.path().join("store.db");
        let mut pki: Vec<PathBuf> = std::fs::read_dir(root().join("pkd-fixtures/pki"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        pki.sort();
        let o = emrtd(
            &[&["--store", store.to_str().unwrap(), "-q", "pkd", "import"][..]],
            &pki,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let secrets = secrets(&profile);
        Fixture {
            _dir: dir,
            profile,
            store,
            secrets,
        }
    })
}

fn secrets(profile: &Path) -> Secrets {
    let p = emrtd::emulator::Profile::load(profile).unwrap();
    let mut texts: Vec<String> = Vec::new();
    let mrz = emrtd::mrz::Mrz::parse(&p.mrz).unwrap();
    for line in p.mrz.lines() {
        texts.push(line.trim().to_string());
    }
    texts.push(mrz.document_number().trim_end_matches('<').to_string());
    texts.push(mrz.mrz_information().to_string());
    let dg1 = emrtd::lds::dg1::Dg1::decode(&p.files[&LdsFile::Dg(1)]).unwrap();
    let mut names = vec![dg1.fields.primary_identifier(), dg1.fields.secondary_identifier()];
    let dg11 = emrtd::lds::dg11::Dg11::decode(&p.files[&LdsFile::Dg(11)]).unwrap();
    let dg11_text = String::from_utf8_lossy(&dg11.raw).to_string();
    // the printable runs of DG11 (full name, place of birth, address …)
    names.extend(
        dg11_text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '<' || c == ' '))
            .map(str::to_string),
    );
    for n in names {
        for part in n.split(['<', ' ']).chain([n.as_str()]) {
            // short tokens ("ONE") occur in ordinary words; long ones identify the holder
            if part.len() >= 5 {
                texts.push(part.to_string());
                texts.push(part.replace('<', " "));
            }
        }
    }
    texts.sort();
    texts.dedup();
    let mut windows = HashSet::new();
    for f in [LdsFile::Dg(1), LdsFile::Dg(11), LdsFile::Dg(2)] {
        for w in p.files[&f].windows(16) {
            windows.insert(<[u8; 16]>::try_from(w).unwrap());
        }
    }
    Secrets { texts, windows }
}

fn emrtd(args: &[&[&str]], extra: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(args.iter().flat_map(|a| a.iter()))
        .args(extra)
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .env_remove("EMRTD_STORE")
        .output()
        .unwrap()
}

/// What leaked from `haystack` (empty = nothing).
fn leaks(s: &Secrets, haystack: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let text = String::from_utf8_lossy(haystack);
    for t in &s.texts {
        if text.contains(t.as_str()) {
            found.push(format!("text {t:?}"));
        }
    }
    for w in haystack.windows(16) {
        if s.windows.contains(&<[u8; 16]>::try_from(w).unwrap()) {
            found.push("raw 16-byte window of DG1/DG11/DG2".into());
            break;
        }
    }
    // hex runs, at both nibble alignments
    let bytes = text.as_bytes();
    let mut i = 0;
    'runs: while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
        let run = &text[start..i];
        i += 1;
        if run.len() < 32 {
            continue;
        }
        for align in 0..2 {
            let even = (run.len() - align) / 2 * 2;
            let Ok(decoded) = hex::decode(&run[align..align + even]) else {
                continue;
            };
            if decoded
                .windows(16)
                .any(|w| s.windows.contains(&<[u8; 16]>::try_from(w).unwrap()))
            {
                found.push(format!("hex of DG content at byte {start}"));
                break 'runs;
            }
        }
    }
    found
}

fn assert_clean(what: &str, haystack: &[u8]) {
    let l = leaks(&fixture().secrets, haystack);
    assert!(l.is_empty(), "{what} leaks: {l:?}");
}

fn common(f: &Fixture) -> Vec<&str> {
    vec!["--store", f.store.to_str().unwrap()]
}

#[test]
fn read_and_verify_stderr_and_redacted_trace_hold_no_personal_data() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    for (i, verbosity) in [&[][..], &["-v"][..], &["-vv"][..]].iter().enumerate() {
        // read
        let trace = dir.path().join(format!("read-{i}.jsonl"));
        let out = dir.path().join(format!("dump-{i}"));
        let o = emrtd(
            &[
                &common(f),
                verbosity,
                &["--trace", trace.to_str().unwrap(), "read", "--emulator"],
                &[f.profile.to_str().unwrap(), "--out", out.to_str().unwrap()],
            ],
            &[],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_clean(&format!("read {verbosity:?} stderr"), &o.stderr);
        let t = std::fs::read(&trace).unwrap();
        assert!(!t.is_empty());
        assert_clean(&format!("read {verbosity:?} trace"), &t);

        // verify (live: PACE, read, AA, CA)
        let trace = dir.path().join(format!("verify-{i}.jsonl"));
        let o = emrtd(
            &[
                &common(f),
                verbosity,
                &["--trace", trace.to_str().unwrap(), "verify", "--emulator"],
                &[f.profile.to_str().unwrap()],
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
        assert_clean(&format!("verify {verbosity:?} stderr"), &o.stderr);
        assert_clean(
            &format!("verify {verbosity:?} trace"),
            &std::fs::read(&trace).unwrap(),
        );

        // verify of the dump just written, offline
        let o = emrtd(
            &[
                &common(f),
                verbosity,
                &["verify", "--dump", out.to_str().unwrap()],
            ],
            &[],
        );
        assert_clean(&format!("verify --dump {verbosity:?} stderr"), &o.stderr);
    }
}

#[test]
fn wrong_mrz_errors_hold_no_personal_data() {
    let f = fixture();
    // a well-formed MRZ (check digits right) of another document: the chip refuses PACE
    let wrong = ref1::td3_mrz("UTW000042", ref1::SURNAME, ref1::GIVEN);
    let dir = tempfile::tempdir().unwrap();
    for (i, verbosity) in [&[][..], &["-v"][..]].iter().enumerate() {
        let trace = dir.path().join(format!("wrong-{i}.jsonl"));
        let out = dir.path().join(format!("dump-{i}"));
        for cmd in [&["read", "--out", out.to_str().unwrap()][..], &["verify"][..]] {
            let o = emrtd(
                &[
                    &common(f),
                    verbosity,
                    &["--trace", trace.to_str().unwrap()],
                    cmd,
                    &["--emulator", f.profile.to_str().unwrap(), "--mrz", &wrong],
                ],
                &[],
            );
            assert_eq!(
                o.status.code(),
                Some(2),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(!o.stderr.is_empty());
            assert_clean(&format!("{cmd:?} wrong MRZ stderr"), &o.stderr);
            assert_clean(&format!("{cmd:?} wrong MRZ stdout"), &o.stdout);
            // the key given is not echoed either
            let given = String::from_utf8_lossy(&o.stderr);
            for line in wrong.lines() {
                assert!(!given.contains(line.trim()), "{cmd:?} echoes the MRZ given");
            }
            if let Ok(t) = std::fs::read(&trace) {
                assert_clean(&format!("{cmd:?} wrong MRZ trace"), &t);
            }
        }
    }
}

/// The scan finds what a plain (forensic) trace holds: the assertions above can fail.
#[test]
fn scan_trips_on_a_plain_trace() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("plain.jsonl");
    let out = dir.path().join("dump");
    let o = emrtd(
        &[
            &common(f),
            &[
                "--trace",
                trace.to_str().unwrap(),
                "--trace-plain",
                "read",
                "--emulator",
            ],
            &[f.profile.to_str().unwrap(), "--out", out.to_str().unwrap()],
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let l = leaks(&f.secrets, &std::fs::read(&trace).unwrap());
    assert!(l.iter().any(|x| x.starts_with("hex of DG content")), "{l:?}");
    // and the names and MRZ as text
    let dg1 = std::fs::read(out.join("DG1.bin")).unwrap();
    assert!(!leaks(&f.secrets, &dg1).is_empty());
}

//! `emrtd desk`'s audit log through the real binary: the file and syslog (a Unix datagram
//! socket this test binds, given with `--audit-syslog-socket`, as `/dev/log` would be)
//! get one line per document, and neither carries MRZ, DG1, DG11 or face bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Stop, root};

use base64::Engine;
use emrtd::emulator::Profile;
use emrtd::lds::LdsFile;
use serde_json::Value;

fn booklet(name: &str) -> PathBuf {
    root().join("pkd-fixtures/booklets").join(name)
}

/// Strings that must never be in an audit line: the MRZ and its fields, and DG1, DG11
/// and the face in hex and base64 (every 24-byte window).
fn secrets(p: &Profile) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in p.mrz.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push(line.to_string());
        for field in line.split('<').filter(|f| f.len() >= 4) {
            out.push(field.to_string());
        }
    }
    let mut lines = p.mrz.lines().map(str::trim).filter(|l| !l.is_empty());
    let (l1, l2) = (lines.next().unwrap(), lines.next().unwrap());
    // the names (TD3 line 1 after the issuer)
    for name in l1[5..].split('<').filter(|f| f.len() >= 3) {
        out.push(format!("\"{name}"));
        out.push(format!("{name}\""));
        out.push(format!(" {name}"));
    }
    // document number, birth and expiry as the MRZ has them (TD3 line 2)
    out.push(l2[0..9].trim_end_matches('<').to_string());
    out.push(l2[13..19].to_string());
    out.push(l2[21..27].to_string());
    let b64 = base64::engine::general_purpose::STANDARD;
    for f in [LdsFile::Dg(1), LdsFile::Dg(11), LdsFile::Dg(2)] {
        let Some(bytes) = p.files.get(&f) else { continue };
        for start in (0..bytes.len()).step_by(24) {
            let w = &bytes[start..(start + 24).min(bytes.len())];
            if w.len() == 24 {
                out.push(hex::encode(w));
                out.push(hex::encode_upper(w));
                out.push(b64.encode(w));
            }
        }
    }
    out
}

#[test]
fn audit_lines_go_to_the_file_and_syslog_without_holder_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = support::fixture_store(dir.path());

    let sock_path = dir.path().join("log");
    let rx = UnixDatagram::bind(&sock_path).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let audit = dir.path().join("audit.jsonl");
    let err_log = dir.path().join("desk.err");
    let genuine = booklet("ref1.toml");
    let forged = booklet("forged-dg2-face-swapped.toml");
    let mut child = Command::new(support::emrtd_bin())
        .args(["--store", store.to_str().unwrap(), "desk", "--emulator"])
        .arg(&genuine)
        .args(["--listen", "127.0.0.1:0", "--audit-log"])
        .arg(&audit)
        .arg("--audit-syslog=local3")
        .arg("--audit-syslog-socket")
        .arg(&sock_path)
        .env_remove("EMRTD_DESK_AUDIT_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_log).unwrap())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _stop = Stop(child);
    let type_mrz = |stdin: &mut std::process::ChildStdin, p: &Path| {
        let prof = Profile::load(p).unwrap();
        for l in prof.mrz.lines().map(str::trim).filter(|l| !l.is_empty()) {
            writeln!(stdin, "{l}").unwrap();
        }
        stdin.flush().unwrap();
    };
    let recv = || {
        let mut buf = vec![0u8; 65536];
        let n = rx.recv(&mut buf).unwrap_or_else(|e| {
            panic!(
                "no syslog datagram: {e}; desk said: {}",
                std::fs::read_to_string(&err_log).unwrap_or_default()
            )
        });
        buf.truncate(n);
        String::from_utf8(buf).unwrap()
    };

    type_mrz(&mut stdin, &genuine);
    let first = recv();
    writeln!(stdin, ":remove").unwrap();
    writeln!(stdin, ":place {}", forged.display()).unwrap();
    type_mrz(&mut stdin, &forged);
    let second = recv();

    // <PRI>: local3 (19) * 8 + informational (6) for VALID, + warning (4) for INVALID
    assert!(first.starts_with("<158>"), "{first}");
    assert!(second.starts_with("<156>"), "{second}");
    let json_of = |d: &str| -> Value {
        let msg = d.split_once("]: ").unwrap_or_else(|| panic!("no tag: {d}")).1;
        assert!(d[..d.len() - msg.len()].contains(" emrtd-desk["), "{d}");
        serde_json::from_str(msg).unwrap()
    };
    let (a, b) = (json_of(&first), json_of(&second));
    assert_eq!(a["verdict"], "VALID");
    assert_eq!(a["issuer"], "UTO");
    assert_eq!(a["document_type"], "TD3");
    assert_eq!(b["verdict"], "INVALID");
    assert!(
        b["failed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "pa.dg_hash.DG2"),
        "{b}"
    );
    assert!(a.get("holder").is_none() && b.get("holder").is_none());
    assert_eq!(a["document_hmac"].as_str().unwrap().len(), 64);

    // the file has the same two lines
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let t = std::fs::read_to_string(&audit).unwrap_or_default();
        if t.lines().count() >= 2 || Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], a);
    assert_eq!(lines[1], b);

    for p in [&genuine, &forged] {
        let prof = Profile::load(p).unwrap();
        for s in secrets(&prof) {
            for (what, hay) in [("syslog", &first), ("syslog", &second), ("file", &text)] {
                assert!(
                    !hay.contains(&s),
                    "{what} line holds {s:?} of {}: {hay}",
                    p.display()
                );
            }
        }
    }
}

/// `--audit-holder-data`: the holder's data is there when asked for, and the check
/// above finds it (so its silence in the default run means something).
#[test]
fn holder_data_only_when_asked_and_the_check_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let genuine = booklet("ref1.toml");
    let mut child = Command::new(support::emrtd_bin())
        .args(["--store"])
        .arg(dir.path().join("none.db"))
        .args(["-q", "desk", "--emulator"])
        .arg(&genuine)
        .args(["--listen", "127.0.0.1:0", "--audit-holder-data", "--audit-log"])
        .arg(&audit)
        .env_remove("EMRTD_DESK_AUDIT_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _stop = Stop(child);
    let prof = Profile::load(&genuine).unwrap();
    for l in prof.mrz.lines().map(str::trim).filter(|l| !l.is_empty()) {
        writeln!(stdin, "{l}").unwrap();
    }
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let t = std::fs::read_to_string(&audit).unwrap_or_default();
        if t.ends_with('\n') {
            break t;
        }
        assert!(Instant::now() < deadline, "no audit line");
        std::thread::sleep(Duration::from_millis(20));
    };
    let v: Value = serde_json::from_str(text.trim()).unwrap();
    // no trust store: nothing failed, the signer could not be checked
    assert_eq!(v["verdict"], "INDETERMINATE");
    assert_eq!(v["holder"]["number"], "UTR100001");
    assert_eq!(v["holder"]["birth"], "900101");
    let hits: Vec<String> = secrets(&prof).into_iter().filter(|s| text.contains(s)).collect();
    assert!(hits.iter().any(|h| h == "UTR100001"), "{hits:?}");
    assert!(hits.iter().any(|h| h.contains("SPECIMEN")), "{hits:?}");
    // the face is never written, even then
    let face = prof.files.get(&LdsFile::Dg(2)).unwrap();
    assert!(face.len() > 10_000);
    assert!(text.len() < 2048, "{text}");
}

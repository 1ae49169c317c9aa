//! `emrtd desk --eac-chain … --eac-key …`: the desk runs Terminal Authentication like
//! `read` and `verify` and reads DG3/DG4 (the emulator profile `eac.toml`: DG3/DG4
//! behind TA under UTCVCAEMRTD00001; its terminal in pkd-fixtures/eac/ut). Without the
//! credentials the page says the biometrics were not read; with a terminal the chip
//! refuses, the verdict is INDETERMINATE and the badge says so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Stop, check, desk_state as state, root};

use emrtd::emulator::Profile;
use serde_json::Value;

/// One document through `emrtd desk` with `extra` options: the result's state.
fn desk_result(store: &Path, booklet: &str, extra: &[&str]) -> Value {
    let profile = root().join("pkd-fixtures/booklets").join(booklet);
    let err_log = store.with_extension(format!("{booklet}.err"));
    let mut child = Command::new(support::emrtd_bin())
        .arg("--store")
        .arg(store)
        .args(["desk", "--emulator"])
        .arg(&profile)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_log).unwrap())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _stop = Stop(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        let text = std::fs::read_to_string(&err_log).unwrap_or_default();
        if let Some(rest) = text.split("page at http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "emrtd desk did not start: {text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let p = Profile::load(&profile).unwrap();
    for l in p.mrz.lines().map(str::trim).filter(|l| !l.is_empty()) {
        writeln!(stdin, "{l}").unwrap();
    }
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = state(&addr);
        if s["state"] == "result" {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "no result: {s}; desk said: {}",
            std::fs::read_to_string(&err_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const CREDENTIALS: [&str; 4] = [
    "--eac-chain",
    "pkd-fixtures/eac/ut",
    "--eac-key",
    "pkd-fixtures/eac/keys/ut-is.key.pem",
];

#[test]
fn desk_reads_dg3_dg4_after_terminal_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let store = support::fixture_store(dir.path());

    let s = desk_result(&store, "eac.toml", &CREDENTIALS);
    assert_eq!(s["verdict"], "VALID", "{s}");
    assert_eq!(check(&s, "eac.ta")["status"], "pass", "{s}");
    assert_eq!(check(&s, "pa.dg_hash.DG3")["status"], "pass", "{s}");
    assert_eq!(check(&s, "pa.dg_hash.DG4")["status"], "pass", "{s}");
    assert_eq!(s["eac"]["level"], "ok", "{s}");
    assert!(
        s["eac"]["text"]
            .as_str()
            .unwrap()
            .contains("DG3 (fingerprints) and DG4 (iris) read"),
        "{s}"
    );

    // the same document without credentials: DG3/DG4 not read, and the page says why
    let s = desk_result(&store, "eac.toml", &[]);
    assert!(
        s["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != "eac.ta"),
        "{s}"
    );
    assert_eq!(check(&s, "pa.dg_unread.DG3")["status"], "skip", "{s}");
    assert_eq!(s["eac"]["level"], "unknown", "{s}");
    assert!(
        s["eac"]["text"]
            .as_str()
            .unwrap()
            .contains("no terminal credentials"),
        "{s}"
    );

    // a chip that refuses the terminal: INDETERMINATE, never VALID
    let s = desk_result(&store, "indeterminate-eac-ta-refused.toml", &CREDENTIALS);
    assert_eq!(s["verdict"], "INDETERMINATE", "{s}");
    assert_eq!(check(&s, "eac.ta")["status"], "indeterminate", "{s}");
    assert!(
        s["eac"]["text"].as_str().unwrap().contains("did not succeed"),
        "{s}"
    );
}

#[test]
fn bad_credentials_stop_the_desk_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none.db");
    let o = support::emrtd(
        &[
            "--store",
            none.to_str().unwrap(),
            "desk",
            "--emulator",
            root().join("pkd-fixtures/booklets/eac.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--eac-key",
            root()
                .join("pkd-fixtures/eac/keys/ut-is.key.pem")
                .to_str()
                .unwrap(),
            "--eac-chain",
            root().join("pkd-fixtures/booklets").to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--eac-key: no inspection-system"), "{err}");
}

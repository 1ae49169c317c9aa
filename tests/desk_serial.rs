//! `emrtd desk --mrz-serial DEV` through a real tty: a pseudo-terminal stands in for the
//! scanner's serial port (`/dev/pts/N` as `/dev/ttyUSB0` would be), set up as docs/desk.md
//! says (`stty raw -echo`), and the scanner ends its lines with CR as many OCR
//! scanners do. The document is read once the MRZ has arrived over the line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Stop, desk_state as state, root};

use emrtd::emulator::Profile;

#[test]
fn mrz_from_a_serial_scanner_with_cr_line_ends() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let tty = std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd())).unwrap();
    assert!(tty.starts_with("/dev/pts"), "{}", tty.display());
    let o = Command::new("stty")
        .args(["-F"])
        .arg(&tty)
        .args(["9600", "raw", "-echo"])
        .output()
        .unwrap();
    assert!(o.status.success(), "stty: {}", String::from_utf8_lossy(&o.stderr));

    let dir = tempfile::tempdir().unwrap();
    let err_log = dir.path().join("desk.err");
    let genuine = root().join("pkd-fixtures/booklets/ref1.toml");
    let child = Command::new(support::emrtd_bin())
        .arg("--store")
        .arg(dir.path().join("none.db"))
        .args(["desk", "--emulator"])
        .arg(&genuine)
        .args(["--listen", "127.0.0.1:0", "--mrz-serial"])
        .arg(&tty)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_log).unwrap())
        .spawn()
        .unwrap();
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
    // the document lies on the reader; no key yet
    let s = state(&addr);
    assert_eq!(s["state"], "waiting", "{s}");
    assert!(s["key"].is_null(), "{s}");

    // the scanner: a misread line first (check digit wrong), then the MRZ, CR-terminated
    let mut master = std::fs::File::from(pty.master);
    let p = Profile::load(&genuine).unwrap();
    let lines: Vec<&str> = p.mrz.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut bad = lines[1].to_string();
    bad.replace_range(9..10, if &bad[9..10] == "0" { "1" } else { "0" });
    write!(master, "{}\r{}\r", lines[0], bad).unwrap();
    master.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let s = loop {
        let s = state(&addr);
        if s["problem"].is_string() {
            break s;
        }
        assert!(Instant::now() < deadline, "the misread line was not refused: {s}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(s["problem"].as_str().unwrap().contains("document number"), "{s}");
    assert_eq!(s["state"], "waiting", "{s}");
    for l in &lines {
        write!(master, "{l}\r").unwrap();
    }
    master.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let s = loop {
        let s = state(&addr);
        if s["state"] == "result" {
            break s;
        }
        assert!(Instant::now() < deadline, "no result: {s}");
        std::thread::sleep(Duration::from_millis(20));
    };
    // no trust store here: nothing failed, the signer could not be checked
    assert_eq!(s["verdict"], "INDETERMINATE", "{s}");
    assert_eq!(s["document"]["number"], "UTR100001", "{s}");
    assert_eq!(s["key_kind"], "MRZ", "{s}");
}

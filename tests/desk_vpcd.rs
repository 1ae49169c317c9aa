//! `emrtd desk` as an officer sees it: a real pcscd with the vpcd driver, documents
//! inserted and removed by starting and stopping `emrtd emulate --vpcd`, the MRZ fed on
//! stdin as a keyboard-wedge scanner types it, and headless Chromium (Debian
//! `chromium`) rendering the page. Screenshots of every state are written to
//! `target/desk-screens/` for a person to look at.
//!
//! Skips loudly when pcscd or Chromium cannot run (a failure under
//! `$EMRTD_REQUIRE_PCSCD`, as `make test` sets it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use emrtd::emulator::Profile;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde_json::Value;
use support::{Emulate, Pcscd, root};

const CHROMIUM: &str = "/usr/bin/chromium";

fn booklet(name: &str) -> PathBuf {
    root().join("pkd-fixtures/booklets").join(name)
}

fn screens() -> PathBuf {
    let d = root().join("target/desk-screens");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// pcscd up, a free virtual reader, the tests serialised.
struct Stack {
    pcscd: Pcscd,
    slot: (&'static str, u16),
    _serial: MutexGuard<'static, ()>,
}

impl Stack {
    fn up() -> Option<Stack> {
        let serial = support::serial();
        let pcscd = match Pcscd::start_or_reuse() {
            Ok(p) => p,
            Err(reason) => {
                support::skip(&reason);
                return None;
            }
        };
        let slot = support::free_slot().unwrap_or_else(|e| panic!("{e}"));
        Some(Stack {
            pcscd,
            slot,
            _serial: serial,
        })
    }

    fn dir(&self) -> &Path {
        self.pcscd.dir()
    }

    fn insert(&self, profile: &Path, tag: &str) -> Emulate {
        Emulate::start(profile, self.slot, self.dir().join(format!("emulate-{tag}.log")))
    }
}

/// bac.toml with a chip slow in real time (40 ms per APDU, DG2 takes seconds), so the
/// document can be pulled in the middle of the read.
fn slow_profile(dir: &Path) -> PathBuf {
    let mut text = std::fs::read_to_string(booklet("bac.toml")).unwrap();
    let data = root().join("pkd-fixtures/booklets/data/");
    let keys = root().join("pkd-fixtures/keys/");
    for (from, to) in [
        ("\"data/".to_string(), format!("\"{}", data.display())),
        ("\"../keys/".to_string(), format!("\"{}", keys.display())),
    ] {
        assert!(text.contains(&from), "bac.toml no longer contains {from}");
        text = text.replace(&from, &to);
    }
    text.push_str("\n[link]\nrealtime = true\nper_apdu_ms = 40.0\n");
    let path = dir.join("slow.toml");
    std::fs::write(&path, text).unwrap();
    Profile::load(&path).unwrap();
    path
}

/// GET `path` from the desk: status, headers (lowercase), body.
fn http_get(addr: &str, path: &str) -> (u16, String, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}

/// `emrtd desk` with stdin as the MRZ scanner; stopped on drop.
struct Desk {
    child: Option<Child>,
    stdin: ChildStdin,
    addr: String,
    log: PathBuf,
}

impl Desk {
    fn start(store: &Path, reader: &str, log: PathBuf) -> Desk {
        let err = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(support::emrtd_bin())
            .args([
                "--store",
                store.to_str().unwrap(),
                "desk",
                "--reader",
                reader,
                "--listen",
                "127.0.0.1:0",
            ])
            .env_remove("EMRTD_MRZ")
            .env_remove("EMRTD_CAN")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("page at http://").nth(1) {
                break rest.split('/').next().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "emrtd desk did not start: {text}");
            std::thread::sleep(Duration::from_millis(50));
        };
        Desk {
            child: Some(child),
            stdin,
            addr,
            log,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Type the profile's MRZ as a scanner does: one line at a time.
    fn scan_mrz(&mut self, profile: &Path) {
        let p = Profile::load(profile).unwrap();
        for line in p.mrz.lines().map(str::trim).filter(|l| !l.is_empty()) {
            writeln!(self.stdin, "{line}").unwrap();
            self.stdin.flush().unwrap();
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn state(&self) -> Value {
        let (status, head, body) = http_get(&self.addr, "/state");
        assert_eq!(status, 200);
        assert!(head.contains("cache-control: no-store"), "{head}");
        serde_json::from_slice(&body).unwrap()
    }

    fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.state();
            if pred(&s) {
                return s;
            }
            if Instant::now() >= deadline {
                panic!(
                    "desk never reached {what} within {timeout:?}; last state {s}\n--- desk stderr ---\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- emrtd desk stderr ---\n{}", self.stderr());
        }
        if let Some(mut c) = self.child.take() {
            let _ = kill(Pid::from_raw(i32::try_from(c.id()).unwrap()), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Headless Chromium in its own process group, killed with its children on drop.
struct Chromium {
    child: Option<Child>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    fn run(args: &[String]) -> (Chromium, std::process::ChildStdout) {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        (
            Chromium {
                child: Some(child),
                _profile: profile,
            },
            out,
        )
    }

    fn finish(mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let c = self.child.as_mut().unwrap();
        loop {
            if let Ok(Some(_)) = c.try_wait() {
                self.child = None;
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromium did not finish within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = killpg(Pid::from_raw(i32::try_from(c.id()).unwrap()), Signal::SIGKILL);
            let _ = c.wait();
        }
    }
}

/// A screenshot of the page at `size` ("1280,720") into target/desk-screens/NAME.png.
fn screenshot(desk: &Desk, name: &str, size: &str) -> PathBuf {
    let file = screens().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&file);
    let (c, mut out) = Chromium::run(&[
        format!("--screenshot={}", file.display()),
        format!("--window-size={size}"),
        desk.url(),
    ]);
    let mut sink = Vec::new();
    let _ = out.read_to_end(&mut sink);
    c.finish(Duration::from_secs(60));
    let png = std::fs::read(&file).unwrap_or_else(|e| panic!("no screenshot {}: {e}", file.display()));
    assert!(png.starts_with(b"\x89PNG"), "{} is not a PNG", file.display());
    file
}

/// The page's DOM after its scripts ran (the first paint is the current state).
fn dom(desk: &Desk) -> String {
    let (c, mut out) = Chromium::run(&["--dump-dom".to_string(), desk.url()]);
    let mut text = String::new();
    out.read_to_string(&mut text).unwrap();
    c.finish(Duration::from_secs(60));
    text
}

fn state_is(s: &Value, name: &str) -> bool {
    s["state"] == name
}

const T: Duration = Duration::from_secs(60);

#[test]
fn officer_sees_each_document_verdict_face_and_a_cleared_page() {
    let Some(stack) = Stack::up() else { return };
    if !Path::new(CHROMIUM).exists() {
        support::skip_without("chromium", "/usr/bin/chromium missing (Debian package chromium)");
        return;
    }
    let store = support::fixture_store(stack.dir());
    let mut desk = Desk::start(&store, stack.slot.0, stack.dir().join("desk.log"));
    let s = desk.wait("waiting with an empty reader", T, |s| {
        state_is(s, "waiting") && s["reader_ok"] == true && s["card_present"] == false
    });
    assert!(s["verdict"].is_null());
    screenshot(&desk, "00-waiting", "1280,720");

    // 1. genuine: the document first, then its MRZ
    let genuine = booklet("ref1.toml");
    let mut card = stack.insert(&genuine, "genuine");
    desk.wait("the document seen", T, |s| {
        state_is(s, "waiting") && s["card_present"] == true
    });
    screenshot(&desk, "01-document-waiting-for-mrz", "1280,720");
    desk.scan_mrz(&genuine);
    let s = desk.wait("a result", T, |s| state_is(s, "result"));
    assert_eq!(s["verdict"], "VALID", "{s}");
    assert_eq!(s["document"]["issuer"], "UTO");
    // the verdict first, the face once converted
    let s = desk.wait("the face", T, |s| s["face_pending"] == false);
    let face = s["face"].as_str().expect("a face URL").to_string();
    let (status, head, png) = http_get(&desk.addr, &face);
    assert_eq!(status, 200);
    assert!(head.contains("image/png") && head.contains("no-store"), "{head}");
    assert!(png.starts_with(b"\x89PNG"));
    screenshot(&desk, "02-genuine-valid", "1280,720");
    screenshot(&desk, "02-genuine-valid-1080p", "1920,1080");
    let d = dom(&desk);
    assert!(d.contains("data-verdict=\"VALID\""), "{d}");
    assert!(d.contains("src=\"/face.png?r="), "the page shows no face");
    assert!(d.contains("SPECIMEN ANNA REF"));
    assert_eq!(s["photo"]["level"], "ok", "{s}");
    assert!(
        d.contains("class=\"photo-ok\"") && d.contains("photo as issued"),
        "{d}"
    );

    // removal clears the page, and the face is gone from the server
    card.stop();
    let s = desk.wait("cleared after removal", T, |s| {
        state_is(s, "waiting") && s["card_present"] == false
    });
    assert!(
        s["verdict"].is_null() && s.get("document").is_none(),
        "stale data: {s}"
    );
    assert_eq!(
        http_get(&desk.addr, &face).0,
        404,
        "the face outlived its document"
    );
    screenshot(&desk, "03-after-removal", "1280,720");
    let d = dom(&desk);
    assert!(d.contains("data-verdict=\"\""), "{d}");
    assert!(
        !d.contains("SPECIMEN") && !d.contains("UTR100001"),
        "holder data left on the page"
    );

    // 2. forged (DG2 face swapped): the MRZ first, then the document
    let forged = booklet("forged-dg2-face-swapped.toml");
    desk.scan_mrz(&forged);
    desk.wait("the key held", T, |s| s["key"].is_string());
    let mut card = stack.insert(&forged, "forged");
    let s = desk.wait("a result", T, |s| state_is(s, "result"));
    assert_eq!(s["verdict"], "INVALID", "{s}");
    let s = desk.wait("the face", T, |s| s["face_pending"] == false);
    let first = &s["checks"][0];
    assert_eq!(
        first["id"], "pa.dg_hash.DG2",
        "failed check not listed first: {s}"
    );
    assert_eq!(first["status"], "fail");
    screenshot(&desk, "04-forged-invalid", "1280,720");
    let d = dom(&desk);
    assert!(d.contains("data-verdict=\"INVALID\""));
    assert!(d.contains("DG2 (face) unaltered since issue"), "{d}");
    // the swapped face is marked as altered, never shown plain
    assert_eq!(s["photo"]["level"], "bad", "{s}");
    assert!(
        d.contains("class=\"photo-bad\"") && d.contains("PHOTO ALTERED"),
        "{d}"
    );
    card.stop();
    desk.wait("cleared", T, |s| state_is(s, "waiting") && s["verdict"].is_null());

    // 3. no CSCA for the signer: INDETERMINATE
    let no_csca = booklet("indeterminate-no-csca.toml");
    let mut card = stack.insert(&no_csca, "no-csca");
    desk.scan_mrz(&no_csca);
    let s = desk.wait("a result", T, |s| state_is(s, "result"));
    assert_eq!(s["verdict"], "INDETERMINATE", "{s}");
    assert_eq!(s["checks"][0]["status"], "indeterminate", "{s}");
    assert_eq!(s["checks"][0]["id"], "pa.dsc_chain", "{s}");
    let s = desk.wait("the face", T, |s| s["face_pending"] == false);
    // a photo under a signer nobody vouches for is not called genuine
    assert_eq!(s["photo"]["level"], "unknown", "{s}");
    screenshot(&desk, "05-no-csca-indeterminate", "1280,720");
    card.stop();
    desk.wait("cleared", T, |s| state_is(s, "waiting") && s["verdict"].is_null());
    // and a genuine document with the trust store taken away (the desk opens the store
    // for each read)
    let away = stack.dir().join("trust.db.away");
    std::fs::rename(&store, &away).unwrap();
    let mut card = stack.insert(&genuine, "no-store");
    desk.scan_mrz(&genuine);
    let s = desk.wait("a result", T, |s| state_is(s, "result"));
    assert_eq!(s["verdict"], "INDETERMINATE", "{s}");
    card.stop();
    desk.wait("cleared", T, |s| state_is(s, "waiting") && s["verdict"].is_null());
    std::fs::rename(&away, &store).unwrap();

    // 4. pulled in the middle of the read, then put back: a clear state, then the result
    let slow = slow_profile(stack.dir());
    desk.scan_mrz(&slow);
    let mut card = stack.insert(&slow, "slow-1");
    desk.wait("reading DG2", T, |s| {
        state_is(s, "reading") && s["progress"]["file"] == "DG2" && s["progress"]["done"].as_u64() > Some(0)
    });
    card.kill();
    let s = desk.wait("card removed mid-read", T, |s| s["card_removed_mid_read"] == true);
    assert_eq!(s["state"], "reading");
    assert!(s["verdict"].is_null());
    screenshot(&desk, "06-pulled-mid-read", "1280,720");
    let d = dom(&desk);
    assert!(d.contains("put it back"), "{d}");
    let mut card = stack.insert(&slow, "slow-2");
    let s = desk.wait("a result after the document came back", T, |s| {
        state_is(s, "result")
    });
    assert_eq!(s["verdict"], "VALID", "{s}");
    desk.wait("the face", T, |s| s["face_pending"] == false);
    screenshot(&desk, "07-put-back-valid", "1280,720");
    card.stop();
    let s = desk.wait("cleared", T, |s| {
        state_is(s, "waiting") && s["card_present"] == false
    });
    assert!(s["verdict"].is_null());

    // the desk logged states, never holder data
    let log = desk.stderr();
    assert!(
        log.contains("result VALID")
            && log.contains("result INVALID")
            && log.contains("result INDETERMINATE")
    );
    assert!(!log.contains("SPECIMEN") && !log.contains("UTR100001"), "{log}");
}

#[test]
fn pcscd_stopped_and_started_again_is_a_clear_state_and_the_desk_carries_on() {
    let Some(mut stack) = Stack::up() else { return };
    if !stack.pcscd.owned() {
        // not a missing tool (so no failure under $EMRTD_REQUIRE_PCSCD): someone else's
        // pcscd is running and it is not ours to stop
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: a pcscd started elsewhere is running; not stopping it ***\n"
        );
        return;
    }
    if !Path::new(CHROMIUM).exists() {
        support::skip_without("chromium", "/usr/bin/chromium missing (Debian package chromium)");
        return;
    }
    let genuine = booklet("ref1.toml");
    // the store and the desk's log outlive the first pcscd's scratch directory
    let work = tempfile::tempdir().unwrap();
    let store = support::fixture_store(work.path());
    let mut desk = Desk::start(&store, stack.slot.0, work.path().join("desk-restart.log"));
    let mut card = stack.insert(&genuine, "before-restart");
    desk.scan_mrz(&genuine);
    let s = desk.wait("a result", T, |s| state_is(s, "result"));
    assert_eq!(s["verdict"], "VALID", "{s}");

    // pcscd goes away with the document on the reader: the verdict goes too
    card.kill();
    stack.pcscd.stop();
    let s = desk.wait("the service missing", T, |s| {
        s["reader_ok"] == false && s["problem"].as_str().is_some_and(|p| p.contains("pcscd"))
    });
    assert_eq!(s["state"], "waiting");
    assert!(
        s["verdict"].is_null() && s.get("document").is_none(),
        "stale verdict: {s}"
    );
    assert!(s["problem"].as_str().unwrap().contains("pcscd"), "{s}");
    assert!(
        s["key"].is_null(),
        "the key of the document shown outlived it: {s}"
    );
    screenshot(&desk, "08-pcscd-stopped", "1280,720");

    // back: the desk finds the reader again by itself and reads the next document
    stack.pcscd = Pcscd::start_or_reuse().unwrap();
    desk.wait("the reader back", T, |s| {
        s["reader_ok"] == true && s["card_present"] == false
    });
    let mut card = stack.insert(&genuine, "after-restart");
    desk.scan_mrz(&genuine);
    let s = desk.wait("a result after the restart", T, |s| state_is(s, "result"));
    assert_eq!(s["verdict"], "VALID", "{s}");
    card.stop();
    desk.wait("cleared", T, |s| state_is(s, "waiting") && s["verdict"].is_null());
}

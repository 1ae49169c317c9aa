//! Test support: a real pcscd with the vsmartcard vpcd driver, and `emrtd emulate`
//! serving a profile into it.
//!
//! [`Pcscd::start_or_reuse`] uses a pcscd that already answers on its socket (and
//! leaves it running), or starts `pcscd --foreground` in its own process group and
//! stops it by PID when dropped (also on panic). When pcscd cannot run at all
//! (binary or driver missing, no permission to create its socket) the caller gets
//! the reason and must skip LOUDLY: [`skip`] prints `SKIPPED: pcscd unavailable:
//! <reason>` on stderr, or panics when `$EMRTD_REQUIRE_PCSCD` is set (CI and
//! `make test` set it, so there a skip is a failure).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// pcscd's client socket.
pub const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
/// The pcscd binary on Debian.
pub const PCSCD: &str = "/usr/sbin/pcscd";
/// The vpcd driver's reader configuration (package vsmartcard-vpcd).
pub const VPCD_CONF: &str = "/etc/reader.conf.d/vpcd";

/// The two virtual readers the vpcd driver creates, with their TCP ports.
pub const SLOTS: [(&str, u16); 2] = [("Virtual PCD 00 00", 35963), ("Virtual PCD 00 01", 35964)];

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialise the tests that use pcscd (one pcscd per machine, one card per reader).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Skip a test loudly; a failure instead when `$EMRTD_REQUIRE_PCSCD` is set.
pub fn skip(reason: &str) {
    skip_without("pcscd", reason);
}

/// Skip a test loudly because `what` cannot be used; a failure instead when
/// `$EMRTD_REQUIRE_PCSCD` is set (CI has the whole PC/SC tool chain).
pub fn skip_without(what: &str, reason: &str) {
    if std::env::var_os("EMRTD_REQUIRE_PCSCD").is_some_and(|v| v != "0") {
        panic!("{what} unavailable but $EMRTD_REQUIRE_PCSCD is set: {reason}");
    }
    // straight to the stderr handle: the test harness captures eprintln! of passing
    // tests, and a skip must be seen
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: {what} unavailable: {reason} ***\n"
    );
}

/// The repository (fixtures, vectors and docs are found from here).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The emrtd binary under test.
pub fn emrtd_bin() -> &'static str {
    env!("CARGO_BIN_EXE_emrtd")
}

/// Run `emrtd ARGS` (no key in the environment), bounded by `timeout`.
pub fn emrtd(args: &[&str], timeout: Duration) -> std::process::Output {
    let mut child = Command::new(emrtd_bin())
        .args(args)
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // drain the pipes in threads so a chatty child cannot block on a full pipe
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`emrtd {}` did not finish within {timeout:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

fn socket_answers() -> bool {
    UnixStream::connect(PCSCD_SOCKET).is_ok()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Send `sig` to `pid`, then wait for `child` up to `grace`; SIGKILL after that.
fn stop_child(child: &mut Child, sig: Signal, grace: Duration) -> Option<ExitStatus> {
    if let Ok(Some(s)) = child.try_wait() {
        return Some(s);
    }
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    let _ = kill(pid, sig);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().ok();
    None
}

/// A pcscd for the tests: ours (stopped on drop) or one already running (left alone).
pub struct Pcscd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Pcscd {
    /// Use the running pcscd, or start one. `Err(reason)` when pcscd cannot run here.
    pub fn start_or_reuse() -> Result<Pcscd, String> {
        if !Path::new(VPCD_CONF).exists() {
            return Err(format!(
                "the vpcd driver is not installed ({VPCD_CONF} missing; Debian package vsmartcard-vpcd)"
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
        let log = dir.path().join("pcscd.log");
        if socket_answers() {
            return Ok(Pcscd {
                child: None,
                dir,
                log,
            });
        }
        if !Path::new(PCSCD).exists() {
            return Err(format!("{PCSCD} not found (Debian package pcscd)"));
        }
        let out = std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        // --apdu logs the (specimen) APDUs of the test into the temp dir: printed
        // when a test fails
        let mut child = Command::new(PCSCD)
            .args(["--foreground", "--debug", "--apdu"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {PCSCD}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if socket_answers() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                // lost a race with another pcscd starting? then use that one
                if socket_answers() {
                    return Ok(Pcscd {
                        child: None,
                        dir,
                        log,
                    });
                }
                return Err(format!("pcscd exited ({status}): {}", tail(&log, 5)));
            }
            if Instant::now() >= deadline {
                stop_child(&mut child, Signal::SIGTERM, Duration::from_secs(3));
                return Err(format!(
                    "pcscd did not open {PCSCD_SOCKET} within 10 s: {}",
                    tail(&log, 5)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Pcscd {
            child: Some(child),
            dir,
            log,
        })
    }

    /// True when this harness started pcscd (and will stop it).
    pub fn owned(&self) -> bool {
        self.child.is_some()
    }

    /// A scratch directory living as long as the harness.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stop our pcscd now (no-op for a reused one); true when it was ours.
    pub fn stop(&mut self) -> bool {
        match self.child.take() {
            Some(mut c) => {
                stop_child(&mut c, Signal::SIGTERM, Duration::from_secs(5));
                // it removes its socket on SIGTERM
                let deadline = Instant::now() + Duration::from_secs(3);
                while socket_answers() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
                true
            }
            None => false,
        }
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        if std::thread::panicking() && self.child.is_some() {
            eprintln!("--- last lines of the pcscd log ---\n{}", tail(&self.log, 60));
        }
        self.stop();
    }
}

/// One reader's state as `emrtd readers --json` reports it.
#[derive(Debug, Clone)]
pub struct ReaderState {
    pub name: String,
    pub card_present: bool,
    pub atr: String,
}

/// `emrtd readers --json`, or why it failed.
pub fn try_readers() -> Result<Vec<ReaderState>, String> {
    let o = emrtd(&["readers", "--json"], Duration::from_secs(20));
    if o.status.code() != Some(0) {
        return Err(format!("emrtd readers: {}", String::from_utf8_lossy(&o.stderr)));
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).map_err(|e| e.to_string())?;
    let list = v["readers"].as_array().ok_or("no readers array")?;
    Ok(list
        .iter()
        .map(|r| ReaderState {
            name: r["name"].as_str().unwrap_or_default().to_string(),
            card_present: r["card_present"].as_bool().unwrap_or_default(),
            atr: r["atr"].as_str().unwrap_or_default().to_string(),
        })
        .collect())
}

/// `emrtd readers --json` (panics when it fails).
pub fn readers() -> Vec<ReaderState> {
    try_readers().unwrap()
}

/// Poll `emrtd readers --json` until `reader` has (or has not) a card with an ATR.
pub fn try_wait_card(reader: &str, present: bool, timeout: Duration) -> Result<Option<ReaderState>, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let found = try_readers()?.into_iter().find(|r| r.name == reader);
        match &found {
            Some(r) if r.card_present == present && (!present || !r.atr.is_empty()) => return Ok(found),
            None if !present => return Ok(None),
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "reader {reader:?}: card_present never became {present} within {timeout:?}: {found:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// [`try_wait_card`], panicking on timeout.
pub fn wait_card(reader: &str, present: bool, timeout: Duration) -> Option<ReaderState> {
    try_wait_card(reader, present, timeout).unwrap()
}

/// A free vpcd slot (reader name, port): no card in it now.
pub fn free_slot() -> Result<(&'static str, u16), String> {
    let rs = readers();
    for (name, port) in SLOTS {
        match rs.iter().find(|r| r.name == name) {
            Some(r) if !r.card_present => return Ok((name, port)),
            _ => {}
        }
    }
    Err(format!(
        "no free vpcd reader: pcscd lists {:?}",
        rs.iter().map(|r| (&r.name, r.card_present)).collect::<Vec<_>>()
    ))
}

/// `emrtd emulate --profile P --vpcd 127.0.0.1:PORT`, stopped on drop.
pub struct Emulate {
    child: Option<Child>,
    reader: &'static str,
    log: PathBuf,
}

impl Emulate {
    /// Start serving `profile` in `slot` and wait until the reader shows the card.
    pub fn start(profile: &Path, slot: (&'static str, u16), log: PathBuf) -> Emulate {
        Self::start_with(profile, slot, log, &[])
    }

    /// [`Emulate::start`] with global options before the subcommand (`--trace F`).
    pub fn start_with(profile: &Path, slot: (&'static str, u16), log: PathBuf, global: &[&str]) -> Emulate {
        let stderr = std::fs::File::create(&log).unwrap();
        let child = Command::new(emrtd_bin())
            .args(global)
            .args([
                "emulate",
                "--profile",
                profile.to_str().unwrap(),
                "--vpcd",
                &format!("127.0.0.1:{}", slot.1),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .unwrap();
        let e = Emulate {
            child: Some(child),
            reader: slot.0,
            log,
        };
        wait_card(slot.0, true, Duration::from_secs(15));
        e
    }

    /// What `emrtd emulate` printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kill it abruptly (SIGKILL: the card vanishes from the reader).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop it with SIGTERM and wait until the reader is empty; its exit status
    /// (`None` when it had to be killed).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let status = self
            .child
            .take()
            .and_then(|mut c| stop_child(&mut c, Signal::SIGTERM, Duration::from_secs(5)));
        // pcscd must see the reader empty before another card is inserted
        let _ = try_wait_card(self.reader, false, Duration::from_secs(5));
        status
    }
}

impl Drop for Emulate {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- emrtd emulate stderr ---\n{}", self.stderr());
        }
        if self.child.is_some() {
            self.stop();
        }
    }
}

/// `emrtd --store DB ARGS…` run to its end, with no access key taken from the
/// environment (`EMRTD_STORE`, `EMRTD_MRZ`, `EMRTD_CAN` removed).
pub fn emrtd_with_store(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(emrtd_bin())
        .arg("--store")
        .arg(db)
        .args(args)
        .env_remove("EMRTD_STORE")
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .output()
        .unwrap()
}

/// A command's stdout then stderr, for assertion messages.
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The check `id` of a `verify --json` report (or of the desk's `/state`); panics,
/// naming the check and the report, when it is missing.
pub fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id}: {report}"))
}

/// A child process killed and reaped when dropped (also on panic).
pub struct Stop(pub Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET /state` of an `emrtd desk` listening on `addr`, as JSON.
pub fn desk_state(addr: &str) -> serde_json::Value {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /state HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    serde_json::from_slice(&raw[split + 4..]).unwrap()
}

/// A trust store `DIR/trust.db` holding the whole fixture PKI (`pkd-fixtures/pki/*`,
/// imported in name order), which trusts every genuine booklet.
pub fn fixture_store(dir: &Path) -> PathBuf {
    let store = dir.join("trust.db");
    let pki = root().join("pkd-fixtures/pki");
    let mut files: Vec<String> = std::fs::read_dir(pki)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    let mut args = vec!["--store", store.to_str().unwrap(), "-q", "pkd", "import"];
    args.extend(files.iter().map(String::as_str));
    let o = emrtd(&args, Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    store
}

/// Copy a directory tree (a fixture tree a test then alters).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

//! The desk's audit log (opt-in, `--audit-log FILE` and/or `--audit-syslog`): one JSON
//! line per document with the time, issuer, document type, verdict and failed check
//! ids. No holder data unless asked for (`--audit-holder-data`): the document number is
//! written as a keyed hash (HMAC-SHA256, hex), so the same document can be found again
//! by whoever holds the key, and by no one else.
//!
//! The file is opened in append mode for every line and closed again, so `logrotate`
//! (move, or copytruncate) needs no signal: the next line goes to the new file.
//! Syslog gets the same line as one datagram on the local socket (`/dev/log`), framed
//! as the C library's `syslog(3)` frames it there (RFC 3164: `<PRI>TIMESTAMP TAG[PID]: MSG`),
//! which journald and rsyslog both parse.
//! The key comes from `$EMRTD_DESK_AUDIT_KEY` (hex, at least 16 bytes) or a key file
//! (default: `FILE.key`, or `desk-audit.key` in the data directory with syslog alone),
//! created with 32 random bytes and mode 0600 on first use.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use zeroize::Zeroizing;

use super::view::ResultView;
use crate::rng::RandomSource;
use crate::verify::{DocumentSummary, Verdict};

/// The local syslog socket.
pub const DEV_LOG: &str = "/dev/log";

/// One line of the log.
#[derive(Debug, Serialize)]
pub struct AuditLine {
    /// RFC 3339, UTC.
    pub time: String,
    /// Issuing state (3 letters), when known.
    pub issuer: Option<String>,
    /// Document code (P, ID, …).
    pub document_code: Option<String>,
    /// Layout (TD1, TD2, TD3).
    pub document_type: Option<String>,
    /// VALID, INVALID, INDETERMINATE.
    pub verdict: &'static str,
    /// Ids of the failed checks.
    pub failed: Vec<String>,
    /// HMAC-SHA256 of issuer + document number under the audit key, hex.
    pub document_hmac: Option<String>,
    /// The holder data of the MRZ, only with `--audit-holder-data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<DocumentSummary>,
}

/// A syslog facility (RFC 5424 §6.2.1 numbering, the names of syslog.conf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(u8);

const FACILITIES: [(&str, u8); 20] = [
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

impl Facility {
    /// `local0`, the default: a facility of its own that the syslog daemon can route.
    pub const LOCAL0: Facility = Facility(16);

    /// The facility's number.
    pub fn code(self) -> u8 {
        self.0
    }
}

impl std::str::FromStr for Facility {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FACILITIES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|&(_, c)| Facility(c))
            .ok_or_else(|| {
                let names: Vec<&str> = FACILITIES.iter().map(|(n, _)| *n).collect();
                format!("unknown syslog facility {s:?} (one of {})", names.join(", "))
            })
    }
}

/// Where the syslog lines go.
#[derive(Debug, Clone)]
pub struct SyslogTarget {
    /// The daemon's datagram socket (`/dev/log`).
    pub socket: PathBuf,
    /// The facility.
    pub facility: Facility,
}

/// What `emrtd desk` was asked to audit, and where.
#[derive(Debug, Clone, Default)]
pub struct AuditConfig {
    /// The JSON-lines file.
    pub file: Option<PathBuf>,
    /// Syslog.
    pub syslog: Option<SyslogTarget>,
    /// The HMAC key file (default: FILE.key, else `desk-audit.key` in the data directory).
    pub key_file: Option<PathBuf>,
    /// Write the holder data (names, number, nationality, dates, sex) too.
    pub holder_data: bool,
}

struct Syslog {
    sock: UnixDatagram,
    target: SyslogTarget,
    pid: u32,
}

impl Syslog {
    fn open(target: &SyslogTarget) -> anyhow::Result<Syslog> {
        let sock = UnixDatagram::unbound().context("cannot create a Unix datagram socket")?;
        // a stuck daemon delays a line by at most this, never the desk for good
        sock.set_write_timeout(Some(Duration::from_secs(1)))
            .context("cannot set a timeout on the syslog socket")?;
        let s = Syslog {
            sock,
            target: target.clone(),
            pid: std::process::id(),
        };
        // is anyone listening? (connecting a probe sends nothing)
        let probe = UnixDatagram::unbound().context("cannot create a Unix datagram socket")?;
        probe.connect(&s.target.socket).with_context(|| {
            format!(
                "cannot reach syslog at {} (is journald or rsyslog running?)",
                s.target.socket.display()
            )
        })?;
        Ok(s)
    }

    /// The datagram for one line: `<PRI>Mmm dd hh:mm:ss emrtd-desk[PID]: MSG` (RFC 3164 as
    /// `syslog(3)` writes it to the local socket; the daemon stamps the time it receives,
    /// the JSON carries the UTC time).
    fn frame(&self, severity: u8, msg: &str) -> String {
        let pri = u16::from(self.target.facility.code()) * 8 + u16::from(severity);
        let now = time::OffsetDateTime::now_utc();
        let stamp = now
            .format(time::macros::format_description!(
                "[month repr:short] [day padding:space] [hour]:[minute]:[second]"
            ))
            .unwrap_or_default();
        format!("<{pri}>{stamp} emrtd-desk[{}]: {msg}", self.pid)
    }

    fn send(&self, severity: u8, msg: &str) -> anyhow::Result<()> {
        let datagram = self.frame(severity, msg);
        // sent to the path each time: a restarted daemon's new socket is found by itself
        self.sock
            .send_to(datagram.as_bytes(), &self.target.socket)
            .with_context(|| format!("cannot write to syslog at {}", self.target.socket.display()))?;
        Ok(())
    }
}

/// RFC 5424 severity for a verdict: INVALID warning (4), INDETERMINATE notice (5),
/// VALID informational (6).
fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::Invalid => 4,
        Verdict::Indeterminate => 5,
        Verdict::Valid => 6,
    }
}

/// An open audit log.
pub struct AuditLog {
    path: Option<PathBuf>,
    syslog: Option<Syslog>,
    holder_data: bool,
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("syslog", &self.syslog.as_ref().map(|s| &s.target))
            .field("holder_data", &self.holder_data)
            .finish()
    }
}

fn write_new_key(path: &Path, rng: &mut dyn RandomSource) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut key = Zeroizing::new(vec![0u8; 32]);
    rng.fill(&mut key);
    let hexed = Zeroizing::new(hex::encode(key.as_slice()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create the audit key file {}", path.display()))?;
    f.write_all(hexed.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .with_context(|| format!("cannot write the audit key file {}", path.display()))?;
    Ok(key)
}

fn parse_key(text: &str, what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let key = Zeroizing::new(hex::decode(text.trim()).with_context(|| format!("{what} is not hex"))?);
    if key.len() < 16 {
        bail!("{what} is too short: at least 16 bytes (32 hex digits)");
    }
    Ok(key)
}

/// The default key file: `FILE.key` next to the log, else `desk-audit.key` in
/// `$XDG_DATA_HOME/emrtd` (`~/.local/share/emrtd`).
fn default_key_file(file: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = file {
        let mut p = path.as_os_str().to_owned();
        p.push(".key");
        return Ok(PathBuf::from(p));
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("emrtd").join("desk-audit.key"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/share/emrtd/desk-audit.key")),
        None => bail!("no place for the audit key: give --audit-key FILE or $EMRTD_DESK_AUDIT_KEY"),
    }
}

impl AuditLog {
    /// Open (and check writable) the file, reach the syslog socket; the key from
    /// `$EMRTD_DESK_AUDIT_KEY`, else the key file, generated on first use.
    pub fn open(config: &AuditConfig, rng: &mut dyn RandomSource) -> anyhow::Result<AuditLog> {
        if config.file.is_none() && config.syslog.is_none() {
            bail!("an audit log needs a file or syslog");
        }
        let key = match std::env::var("EMRTD_DESK_AUDIT_KEY") {
            Ok(k) => parse_key(&Zeroizing::new(k), "$EMRTD_DESK_AUDIT_KEY")?,
            Err(_) => {
                let kf = match &config.key_file {
                    Some(k) => k.clone(),
                    None => default_key_file(config.file.as_deref())?,
                };
                if kf.exists() {
                    let text = Zeroizing::new(
                        std::fs::read_to_string(&kf)
                            .with_context(|| format!("cannot read the audit key file {}", kf.display()))?,
                    );
                    parse_key(&text, &format!("the audit key file {}", kf.display()))?
                } else {
                    write_new_key(&kf, rng)?
                }
            }
        };
        let syslog = match &config.syslog {
            Some(t) => Some(Syslog::open(t)?),
            None => None,
        };
        let log = AuditLog {
            path: config.file.clone(),
            syslog,
            holder_data: config.holder_data,
            key,
        };
        log.open_file()?;
        Ok(log)
    }

    fn open_file(&self) -> anyhow::Result<Option<std::fs::File>> {
        use std::os::unix::fs::OpenOptionsExt;
        let Some(path) = &self.path else {
            return Ok(None);
        };
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(path)
            .map(Some)
            .with_context(|| format!("cannot open the audit log {}", path.display()))
    }

    /// The keyed hash of a document number (with its issuer, so equal numbers of two
    /// states differ).
    pub fn document_hmac(&self, issuer: &str, number: &str) -> anyhow::Result<String> {
        use openssl::{hash::MessageDigest, pkey::PKey, sign::Signer};
        let pkey = PKey::hmac(&self.key).context("HMAC key")?;
        let mut signer = Signer::new(MessageDigest::sha256(), &pkey).context("HMAC")?;
        signer.update(issuer.as_bytes())?;
        signer.update(b"\x00")?;
        signer.update(number.as_bytes())?;
        Ok(hex::encode(signer.sign_to_vec()?))
    }

    /// The line for a result.
    pub fn line(&self, r: &ResultView) -> anyhow::Result<AuditLine> {
        let d = &r.document;
        let hmac = match &d.number {
            Some(n) => Some(self.document_hmac(d.issuer.as_deref().unwrap_or(""), n)?),
            None => None,
        };
        let time = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Ok(AuditLine {
            time,
            issuer: d.issuer.clone(),
            document_code: d.code.clone(),
            document_type: d.kind.clone(),
            verdict: r.verdict.name(),
            failed: r.failed_ids(),
            document_hmac: hmac,
            holder: self.holder_data.then(|| d.clone()),
        })
    }

    /// Write the line for a result to the file (opened for this write only) and to
    /// syslog. Both are tried; the first failure is returned.
    pub fn record(&self, r: &ResultView) -> anyhow::Result<()> {
        let text = Zeroizing::new(serde_json::to_string(&self.line(r)?)?);
        let to_file = match self.open_file() {
            Ok(Some(mut f)) => {
                let mut line = Zeroizing::new(Vec::with_capacity(text.len() + 1));
                line.extend_from_slice(text.as_bytes());
                line.push(b'\n');
                // one write: with O_APPEND the line lands whole at the end
                f.write_all(&line).with_context(|| {
                    format!(
                        "cannot write the audit log {}",
                        self.path.as_deref().unwrap_or(Path::new("")).display()
                    )
                })
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        let to_syslog = match &self.syslog {
            Some(s) => s.send(severity(r.verdict), &text),
            None => Ok(()),
        };
        to_file.and(to_syslog)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn file_config(path: &Path) -> AuditConfig {
        AuditConfig {
            file: Some(path.to_path_buf()),
            ..Default::default()
        }
    }

    #[test]
    fn one_line_per_document_no_holder_data_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&file_config(&path), &mut crate::rng::OsRandom).unwrap();
        let key_text = std::fs::read_to_string(dir.path().join("audit.jsonl.key")).unwrap();
        assert_eq!(key_text.trim().len(), 64);
        let mut r = ResultView::for_test(Verdict::Invalid, "L898902C3");
        r.document.issuer = Some("UTO".into());
        r.document.names = Some("ERIKSSON ANNA MARIA".into());
        log.record(&r).unwrap();
        // rotation: the file is moved away; the next line creates a new one
        std::fs::rename(&path, dir.path().join("audit.jsonl.1")).unwrap();
        log.record(&r).unwrap();
        let old = std::fs::read_to_string(dir.path().join("audit.jsonl.1")).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert_eq!(old.lines().count(), 1);
        assert_eq!(new.lines().count(), 1);
        assert!(!old.contains("L898902C3") && !old.contains("ERIKSSON"), "{old}");
        let v: serde_json::Value = serde_json::from_str(old.trim()).unwrap();
        assert_eq!(v["verdict"], "INVALID");
        assert_eq!(v["issuer"], "UTO");
        assert_eq!(v["document_hmac"].as_str().unwrap().len(), 64);
        // the same key (read back from its file) gives the same hash
        let again = AuditLog::open(&file_config(&path), &mut crate::rng::OsRandom).unwrap();
        assert_eq!(
            again.document_hmac("UTO", "L898902C3").unwrap(),
            v["document_hmac"].as_str().unwrap()
        );
        assert_ne!(
            again.document_hmac("UTO", "L898902C4").unwrap(),
            v["document_hmac"].as_str().unwrap()
        );
    }

    #[test]
    fn copytruncate_rotation_keeps_appending_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&file_config(&path), &mut crate::rng::OsRandom).unwrap();
        let r = ResultView::for_test(Verdict::Valid, "L898902C3");
        log.record(&r).unwrap();
        log.record(&r).unwrap();
        // logrotate copytruncate: copy, then truncate the file in place
        std::fs::copy(&path, dir.path().join("audit.jsonl.1")).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        log.record(&r).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        // O_APPEND: the line starts at offset 0 of the truncated file, no hole before it
        assert!(new.starts_with('{'), "{new:?}");
        assert_eq!(new.lines().count(), 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("audit.jsonl.1"))
                .unwrap()
                .lines()
                .count(),
            2
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o007, 0, "the audit log is not world-readable: {mode:o}");
    }

    #[test]
    fn holder_data_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut config = file_config(&path);
        config.holder_data = true;
        let log = AuditLog::open(&config, &mut crate::rng::OsRandom).unwrap();
        let mut r = ResultView::for_test(Verdict::Valid, "L898902C3");
        r.document.names = Some("ERIKSSON ANNA MARIA".into());
        log.record(&r).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
        assert_eq!(v["holder"]["number"], "L898902C3");
        assert_eq!(v["holder"]["names"], "ERIKSSON ANNA MARIA");
        assert_eq!(v["document_hmac"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn syslog_datagram_framing_facility_and_severity() {
        let dir = tempfile::tempdir().unwrap();
        let sock_path = dir.path().join("log.sock");
        let rx = UnixDatagram::bind(&sock_path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let config = AuditConfig {
            syslog: Some(SyslogTarget {
                socket: sock_path.clone(),
                facility: "auth".parse().unwrap(),
            }),
            key_file: Some(dir.path().join("k")),
            ..Default::default()
        };
        let log = AuditLog::open(&config, &mut crate::rng::OsRandom).unwrap();
        let mut r = ResultView::for_test(Verdict::Invalid, "L898902C3");
        r.document.names = Some("ERIKSSON ANNA MARIA".into());
        log.record(&r).unwrap();
        let mut buf = [0u8; 4096];
        let n = rx.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        // auth (4) * 8 + warning (4) = 36; "Mmm dd hh:mm:ss " is 16 characters
        assert!(text.starts_with("<36>"), "{text}");
        let rest = &text[4 + 16..];
        let msg = rest
            .strip_prefix(&format!("emrtd-desk[{}]: ", std::process::id()))
            .unwrap_or_else(|| panic!("no tag in {text}"));
        let v: serde_json::Value = serde_json::from_str(msg).unwrap();
        assert_eq!(v["verdict"], "INVALID");
        assert!(
            !text.contains("L898902C3") && !text.contains("ERIKSSON"),
            "{text}"
        );
        assert!(!text.contains('\n'));
        // VALID is informational: local0 (16) * 8 + 6
        let config = AuditConfig {
            syslog: Some(SyslogTarget {
                socket: sock_path.clone(),
                facility: Facility::LOCAL0,
            }),
            ..config
        };
        let log = AuditLog::open(&config, &mut crate::rng::OsRandom).unwrap();
        log.record(&ResultView::for_test(Verdict::Valid, "X")).unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"<134>"));
        // no daemon: a clear error at start, not lost lines later
        drop(rx);
        std::fs::remove_file(&sock_path).unwrap();
        let e = AuditLog::open(&config, &mut crate::rng::OsRandom).unwrap_err();
        assert!(format!("{e:#}").contains("cannot reach syslog"), "{e:#}");
    }

    #[test]
    fn facility_names() {
        assert_eq!("local7".parse::<Facility>().unwrap().code(), 23);
        assert_eq!("AUTHPRIV".parse::<Facility>().unwrap().code(), 10);
        assert!("local8".parse::<Facility>().unwrap_err().contains("local0"));
    }
}

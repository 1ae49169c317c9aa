//! The desk's audit log (opt-in, `--audit-log FILE`): one JSON line per document with
//! the time, issuer, document type, verdict and failed check ids. No holder data: the
//! document number is written as a keyed hash (HMAC-SHA256, hex), so the same
//! document can be found again by whoever holds the key, and by no one else.
//!
//! The file is opened in append mode for every line and closed again, so `logrotate`
//! (move, or copytruncate) needs no signal: the next line goes to the new file.
//! The key comes from `$EMRTD_DESK_AUDIT_KEY` (64 hex digits) or a key file
//! (default: `FILE.key`), created with 32 random bytes and mode 0600 on first use.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;
use zeroize::Zeroizing;

use super::view::ResultView;
use crate::rng::RandomSource;

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
}

/// An open audit log.
pub struct AuditLog {
    path: PathBuf,
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("path", &self.path).finish()
    }
}

fn write_new_key(path: &Path, rng: &mut dyn RandomSource) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    use std::os::unix::fs::OpenOptionsExt;
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

impl AuditLog {
    /// Open (and check writable) `path`; the key from `$EMRTD_DESK_AUDIT_KEY`, else
    /// `key_file` (default `path` + `.key`), generated on first use.
    pub fn open(
        path: &Path,
        key_file: Option<&Path>,
        rng: &mut dyn RandomSource,
    ) -> anyhow::Result<AuditLog> {
        let key = match std::env::var("EMRTD_DESK_AUDIT_KEY") {
            Ok(k) => parse_key(&Zeroizing::new(k), "$EMRTD_DESK_AUDIT_KEY")?,
            Err(_) => {
                let kf = key_file.map(Path::to_path_buf).unwrap_or_else(|| {
                    let mut p = path.as_os_str().to_owned();
                    p.push(".key");
                    PathBuf::from(p)
                });
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
        let log = AuditLog {
            path: path.to_path_buf(),
            key,
        };
        log.open_file()?;
        Ok(log)
    }

    fn open_file(&self) -> anyhow::Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(&self.path)
            .with_context(|| format!("cannot open the audit log {}", self.path.display()))
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
        })
    }

    /// Append the line for a result (the file is opened for this write only).
    pub fn record(&self, r: &ResultView) -> anyhow::Result<()> {
        let mut text = serde_json::to_string(&self.line(r)?)?;
        text.push('\n');
        let mut f = self.open_file()?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("cannot write the audit log {}", self.path.display()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::verify::Verdict;

    #[test]
    fn one_line_per_document_no_holder_data_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, None, &mut crate::rng::OsRandom).unwrap();
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
        let again = AuditLog::open(&path, None, &mut crate::rng::OsRandom).unwrap();
        assert_eq!(
            again.document_hmac("UTO", "L898902C3").unwrap(),
            v["document_hmac"].as_str().unwrap()
        );
        assert_ne!(
            again.document_hmac("UTO", "L898902C4").unwrap(),
            v["document_hmac"].as_str().unwrap()
        );
    }
}

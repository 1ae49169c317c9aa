//! `emrtd pkd import`: master lists, ICAO PKD LDIF, certificates (DER/PEM), CRLs and
//! deviation lists, detected by CONTENT (never by file name), each file imported
//! atomically (one transaction: a crash or a bad file leaves the store as it was).
//!
//! Master and deviation lists are CMS SignedData (Doc 9303 Part 12 §8): the CMS
//! signature is verified with the list signer's certificate, and that certificate
//! must chain to a CSCA of the signer's country found in the list itself or in the
//! store. A list that fails is refused unless `trust_unsigned` is set, and the report
//! says so either way.
//!
//! Trust has an anchor (docs/trust-store.md): a master list whose signer chains only
//! to a CSCA inside the list itself is stored but *not anchored*, and its CSCAs
//! validate nothing. It becomes anchored when its signer verifies under a CA
//! certificate trusted in the store: one the user imported directly, named with
//! `--anchor`, or trusted through either. Every import ends with [`settle`], which
//! looks at what a newly trusted CA certificate verifies (link certificates, list
//! signers, CRLs stored unverified) once, so the order of the files does not matter.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::sha::Sha256;
use rusqlite::Connection;
use time::OffsetDateTime;

use super::cert::KeyUsage;
use super::cert::{CertError, Certificate, Name};
use super::crl::Crl;
use super::ldif::{LdifAttr, LdifError, LdifReader, LdifRecord};
use super::masterlist::{DeviationList, ListError, MasterList};
use super::role::{Role, TrustKind};
use super::store::{
    self, Added, CertMeta, CertRow, DeviationRow, ListRecord, Provenance, StoreError, StoredCert, TrustStore,
    Writer,
};
use crate::cms::{self, SignedData, SignerIdentifier};
use crate::tlv::TlvError;

/// Largest non-LDIF file read into memory (master lists are ~1 MB).
pub const MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Import lists whose signature does not verify (or that are unsigned).
    pub trust_unsigned: bool,
    /// Time at which list signer certificates must be valid (default: now).
    pub at: Option<OffsetDateTime>,
}

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A CSCA master list.
    MasterList,
    /// An ICAO PKD LDIF file.
    Ldif,
    /// One or more certificates (DER or PEM).
    Certificate,
    /// A CRL.
    Crl,
    /// A deviation list.
    DeviationList,
    /// A CV certificate (EAC).
    CvCertificate,
}

impl FileKind {
    fn as_str(self) -> &'static str {
        match self {
            FileKind::MasterList => "master_list",
            FileKind::Ldif => "ldif",
            FileKind::Certificate => "certificate",
            FileKind::Crl => "crl",
            FileKind::DeviationList => "deviation_list",
            FileKind::CvCertificate => "cv_certificate",
        }
    }
}

/// Signature status of a file (lists) as CLI.md names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SignatureStatus {
    /// Verified, signer chained to a CSCA.
    #[serde(rename = "valid")]
    Valid,
    /// Did not verify (or the signer did not chain).
    #[serde(rename = "invalid")]
    Invalid,
    /// No signer.
    #[serde(rename = "unsigned")]
    Unsigned,
    /// Not a signed object (certificates; CRLs whose CSCA is not in the store yet).
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl SignatureStatus {
    fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Valid => "valid",
            SignatureStatus::Invalid => "invalid",
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::NotApplicable => "n/a",
        }
    }
}

/// How a file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOutcome {
    /// Imported (possibly with rejected entries).
    Imported,
    /// A list was refused because its signature did not verify.
    Refused,
    /// The file could not be read or is not an importable object: nothing added.
    Failed,
}

/// The per-file summary (CLI.md `pkd import --json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    /// The path as given.
    pub path: String,
    /// What it is (`null` when it could not be recognised).
    pub kind: Option<FileKind>,
    /// Signature status.
    pub signature: SignatureStatus,
    /// Master lists: whether the list is anchored (its signer verifies under a CA
    /// certificate trusted in the store), as of the end of the import; `null` for
    /// files that hold no master list.
    pub anchored: Option<bool>,
    /// The anchor (SHA-256 of the certificate) the list hangs on, or that this file
    /// made (`--anchor`, a directly imported CSCA); `null` otherwise.
    pub anchor: Option<String>,
    /// The master lists of this file (to refresh `anchored` at the end of a run).
    #[serde(skip)]
    pub master_lists: Vec<[u8; 32]>,
    /// Objects added.
    pub added: u64,
    /// Objects already in the store.
    pub duplicate: u64,
    /// Objects refused.
    pub rejected: u64,
    /// Why things were rejected or failed (at most [`MAX_ERRORS`]; the rest are counted
    /// in `errors_omitted`).
    pub errors: Vec<String>,
    /// Errors past [`MAX_ERRORS`], counted, not listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub errors_omitted: u64,
    /// Notes that are not errors (shown in human output).
    #[serde(skip)]
    pub notes: Vec<String>,
    /// Outcome (for the exit code).
    #[serde(skip)]
    pub outcome: FileOutcome,
}

impl FileReport {
    pub(crate) fn new(path: &str) -> Self {
        FileReport {
            path: path.to_owned(),
            kind: None,
            signature: SignatureStatus::NotApplicable,
            anchored: None,
            anchor: None,
            master_lists: Vec::new(),
            added: 0,
            duplicate: 0,
            rejected: 0,
            errors: Vec::new(),
            notes: Vec::new(),
            outcome: FileOutcome::Imported,
            errors_omitted: 0,
        }
    }

    /// Record an error about one object, keeping at most [`MAX_ERRORS`] of them: a
    /// hostile file with millions of bad values costs a count, not a list.
    pub(crate) fn error(&mut self, msg: String) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(msg);
        } else {
            self.errors_omitted += 1;
        }
    }

    fn count(&mut self, a: Added) {
        match a {
            Added::Added => self.added += 1,
            Added::Duplicate => self.duplicate += 1,
        }
    }

    pub(crate) fn fail(&mut self, msg: String) {
        self.errors.push(msg);
        self.outcome = FileOutcome::Failed;
        self.added = 0;
        self.duplicate = 0;
    }
}

/// Most errors listed per file (the rest are counted in `errors_omitted`).
pub const MAX_ERRORS: usize = 200;

/// Longest dn quoted in an error (an LDIF dn may be up to 8 KiB).
const MAX_QUOTED_DN: usize = 200;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A dn as quoted in an error: cut at [`MAX_QUOTED_DN`] characters.
pub(crate) fn quoted_dn(dn: &str) -> std::borrow::Cow<'_, str> {
    match dn.char_indices().nth(MAX_QUOTED_DN) {
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}… ({} bytes)", &dn[..i], dn.len())),
        None => std::borrow::Cow::Borrowed(dn),
    }
}

/// Fatal problems with one file (it is rolled back).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Fatal {
    #[error("{0}")]
    Msg(String),
    #[error("trust store")]
    Store(#[from] StoreError),
    #[error("read error")]
    Io(#[from] std::io::Error),
    /// Transparent: `chain` walks the sources, and a "{0}" display with the same
    /// error as its source printed every LDIF error twice.
    #[error(transparent)]
    Ldif(#[from] LdifError),
}

/// Import one file into the store (atomically). Never returns an error: problems are
/// in the report, with [`FileOutcome::Failed`] when nothing could be imported.
pub fn import_file(store: &mut TrustStore, path: &Path, opts: &ImportOptions) -> FileReport {
    let label = path.display().to_string();
    let mut report = FileReport::new(&label);
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.fail(format!("cannot open {label}: {e}"));
            return report;
        }
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = match reader.fill_buf() {
        Ok(h) => h.to_vec(),
        Err(e) => {
            report.fail(format!("cannot read {label}: {e}"));
            return report;
        }
    };
    let size = reader.get_ref().metadata().ok().map(|m| m.len());
    run_import(store, &label, &head, reader, size, opts, &mut report);
    report
}

/// Import bytes already in memory (same detection and rules as [`import_file`]).
pub fn import_bytes(store: &mut TrustStore, label: &str, bytes: &[u8], opts: &ImportOptions) -> FileReport {
    let mut report = FileReport::new(label);
    run_import(
        store,
        label,
        bytes,
        bytes,
        Some(bytes.len() as u64),
        opts,
        &mut report,
    );
    report
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Ldif,
    Pem,
    Der,
}

fn detect(head: &[u8]) -> Option<Format> {
    let h = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if h.first() == Some(&0x30) {
        return Some(Format::Der);
    }
    if h.windows(11).any(|w| w == b"-----BEGIN ") {
        return Some(Format::Pem);
    }
    let text = String::from_utf8_lossy(h.get(..h.len().min(4096)).unwrap_or_default()).into_owned();
    for line in text.lines() {
        let l = line.trim_end();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let lower = l.to_ascii_lowercase();
        return (lower.starts_with("version:") || lower.starts_with("dn:")).then_some(Format::Ldif);
    }
    None
}

/// A `.cvcert` file: one CV certificate into its own table ([`super::cvc_store`]).
fn import_cv_certificate<R: Read>(store: &TrustStore, label: &str, input: R, report: &mut FileReport) {
    report.kind = Some(FileKind::CvCertificate);
    let mut der = Vec::new();
    // a CV certificate is a few hundred bytes; refuse anything absurd
    if let Err(e) = input.take(64 * 1024).read_to_end(&mut der) {
        report.fail(format!("cannot read {label}: {e}"));
        return;
    }
    match super::cvc_store::import(store.connection(), label, &der) {
        Ok(r) => {
            report.signature = if r.signature == "valid" {
                SignatureStatus::Valid
            } else {
                SignatureStatus::NotApplicable
            };
            if r.added {
                report.added = 1;
            } else {
                report.duplicate = 1;
            }
            if r.signature != "valid" {
                report.notes.push(format!(
                    "{}: issuer {} not in the store yet, signature checked when the chain is used",
                    r.cert.chr(),
                    r.cert.car()
                ));
            }
        }
        Err(e) => report.fail(crate::error::text(&e)),
    }
}

fn run_import<R: Read + Send>(
    store: &mut TrustStore,
    label: &str,
    head: &[u8],
    input: R,
    size_hint: Option<u64>,
    opts: &ImportOptions,
    report: &mut FileReport,
) {
    if super::cvc_store::looks_like_cv_certificate(head) {
        import_cv_certificate(store, label, input, report);
        return;
    }
    let Some(format) = detect(head) else {
        report.fail(if head.is_empty() {
            "empty file".to_owned()
        } else {
            "unrecognised file format: not DER, PEM or LDIF".to_owned()
        });
        return;
    };
    if format == Format::Ldif
        && let Some(file) = super::directory::DownloadFile::from_path(label)
    {
        // a PKD download file: entries by DN, deltas in sequence (pki::directory)
        super::directory::import_download(
            store,
            label,
            &file,
            BufReader::with_capacity(1 << 16, input),
            opts,
            report,
        );
        return;
    }
    let w = match store.transaction() {
        Ok(w) => w,
        Err(e) => {
            report.fail(crate::error::text(&e));
            return;
        }
    };
    let result = (|| -> Result<i64, Fatal> {
        let source_id = w.add_source(label, "unknown")?;
        let mut hasher = Sha256::new();
        let mut hashing = HashingReader {
            inner: input,
            hasher: &mut hasher,
        };
        match format {
            Format::Ldif => {
                report.kind = Some(FileKind::Ldif);
                import_ldif(
                    &w,
                    BufReader::with_capacity(1 << 16, &mut hashing),
                    size_hint,
                    source_id,
                    opts,
                    report,
                )?;
            }
            Format::Pem | Format::Der => {
                let mut bytes = Vec::new();
                (&mut hashing).take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes)?;
                if bytes.len() as u64 > MAX_FILE_SIZE {
                    return Err(Fatal::Msg(format!("file larger than {MAX_FILE_SIZE} bytes")));
                }
                if format == Format::Der {
                    import_der(&w, &bytes, source_id, opts, report)?;
                } else {
                    import_pem(&w, &bytes, source_id, opts, report)?;
                }
            }
        }
        let digest = hasher.finish();
        w.set_source_hash(
            source_id,
            &digest,
            report.kind.map(FileKind::as_str).unwrap_or("unknown"),
        )?;
        Ok(source_id)
    })();
    match result {
        Ok(source_id) if report.outcome != FileOutcome::Failed && report.added + report.duplicate > 0 => {
            // what this file holds counts again if a directory had withdrawn it
            match super::directory::revive_from_source(&w, source_id) {
                Ok(true) => {
                    if let Err(e) = w.reset_derived_trust() {
                        let _ = w.rollback();
                        report.fail(format!("trust store: {}", crate::error::text(&e)));
                        return;
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    let _ = w.rollback();
                    report.fail(format!("trust store: {}", crate::error::text(&e)));
                    return;
                }
            }
            match settle(&w) {
                Ok(notes) => report.notes.extend(notes),
                Err(e) => {
                    let _ = w.rollback();
                    report.fail(format!("trust store: {}", crate::error::text(&e)));
                    return;
                }
            }
            if let Err(e) = w.commit() {
                report.fail(format!("commit failed: {}", crate::error::text(&e)));
            }
        }
        Ok(_) => {
            // nothing new: do not even record the source
            let _ = w.rollback();
        }
        Err(e) => {
            let _ = w.rollback();
            report.fail(crate::error::text(&e));
        }
    }
}

struct HashingReader<'a, R> {
    inner: R,
    hasher: &'a mut Sha256,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

fn now_or(opts: &ImportOptions) -> OffsetDateTime {
    opts.at.unwrap_or_else(OffsetDateTime::now_utc)
}

fn import_der(
    w: &Writer<'_>,
    bytes: &[u8],
    source_id: i64,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    let prov = Provenance {
        source_id,
        ..Provenance::default()
    };
    // a ContentInfo starts with SEQUENCE { OID 1.2.840.113549.1.7.2 ...
    let signed_data_oid = crate::cms::asn1::encode_oid(&cms::oid::SIGNED_DATA);
    let looks_cms = bytes
        .get(..64)
        .unwrap_or(bytes)
        .windows(signed_data_oid.len())
        .any(|w| w == signed_data_oid);
    if looks_cms {
        let sd = SignedData::parse(bytes)
            .map_err(|e| Fatal::Msg(format!("malformed CMS signed data: {}", crate::error::text(&e))))?;
        return import_signed(w, bytes, sd, &prov, opts, report, true);
    }
    match Certificate::from_der(bytes) {
        Ok(c) => {
            report.kind = Some(FileKind::Certificate);
            add_user_certificate(w, c, &prov, report)?;
            Ok(())
        }
        Err(cert_err) => match Crl::from_der(bytes) {
            Ok(crl) => {
                report.kind = Some(FileKind::Crl);
                add_crl(w, crl, false, &prov, report, true)?;
                Ok(())
            }
            Err(_) => Err(Fatal::Msg(format!(
                "not a certificate, CRL, master list or deviation list: {}",
                crate::error::text(&cert_err)
            ))),
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn import_signed(
    w: &Writer<'_>,
    bytes: &[u8],
    sd: SignedData,
    prov: &Provenance,
    opts: &ImportOptions,
    report: &mut FileReport,
    whole_file: bool,
) -> Result<(), Fatal> {
    if sd.econtent_type == cms::oid::ICAO_CSCA_MASTER_LIST {
        if whole_file {
            report.kind = Some(FileKind::MasterList);
        }
        // the SignedData already read is reused: one copy of a large list's eContent
        let status = import_master_list(w, bytes, sd, prov, opts, report)?;
        merge_status(report, status, whole_file);
        Ok(())
    } else if sd.econtent_type == cms::oid::ICAO_DEVIATION_LIST {
        if whole_file {
            report.kind = Some(FileKind::DeviationList);
        }
        let status = import_deviation_list(w, bytes, prov, opts, report)?;
        merge_status(report, status, whole_file);
        Ok(())
    } else {
        Err(Fatal::Msg(format!(
            "CMS content type {} is neither a CSCA master list nor a deviation list",
            sd.econtent_type
        )))
    }
}

fn merge_status(report: &mut FileReport, status: SignatureStatus, whole_file: bool) {
    if whole_file {
        report.signature = status;
        return;
    }
    // inside an LDIF: valid only if every list was valid
    report.signature = match (report.signature, status) {
        (SignatureStatus::NotApplicable, s) => s,
        (SignatureStatus::Valid, SignatureStatus::Valid) => SignatureStatus::Valid,
        (SignatureStatus::Invalid, _) | (_, SignatureStatus::Invalid) => SignatureStatus::Invalid,
        (_, _) => SignatureStatus::Unsigned,
    };
}

fn import_pem(
    w: &Writer<'_>,
    bytes: &[u8],
    source_id: i64,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    let text = String::from_utf8_lossy(bytes);
    let blocks = pem_blocks(&text)?;
    if blocks.is_empty() {
        return Err(Fatal::Msg("no PEM blocks found".into()));
    }
    let prov = Provenance {
        source_id,
        ..Provenance::default()
    };
    for (i, (label, der)) in blocks.iter().enumerate() {
        match label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                report.kind.get_or_insert(FileKind::Certificate);
                // OpenSSL's TRUSTED CERTIFICATE appends trust settings after the certificate
                let cert_der = match crate::tlv::parse_ber(der) {
                    Ok(t) if label == "TRUSTED CERTIFICATE" => t.raw,
                    _ => der.as_slice(),
                };
                match Certificate::from_der(cert_der) {
                    Ok(c) => add_user_certificate(w, c, &prov, report)?,
                    Err(e) => {
                        report.rejected += 1;
                        report
                            .errors
                            .push(format!("PEM block {}: {}", i + 1, crate::error::text(&e)));
                    }
                }
            }
            "X509 CRL" => {
                report.kind.get_or_insert(FileKind::Crl);
                match Crl::from_der(der) {
                    Ok(c) => add_crl(w, c, false, &prov, report, true)?,
                    Err(e) => {
                        report.rejected += 1;
                        report
                            .errors
                            .push(format!("PEM block {}: {}", i + 1, crate::error::text(&e)));
                    }
                }
            }
            "CMS" | "PKCS7" => {
                let sd = SignedData::parse(der).map_err(|e| {
                    Fatal::Msg(format!(
                        "PEM block {}: malformed CMS: {}",
                        i + 1,
                        crate::error::text(&e)
                    ))
                })?;
                let first = report.kind.is_none();
                import_signed(w, der, sd, &prov, opts, report, first)?;
            }
            other => report
                .notes
                .push(format!("PEM block {} ({other}) ignored", i + 1)),
        }
    }
    if report.kind.is_none() {
        return Err(Fatal::Msg(
            "no certificate, CRL or CMS block in the PEM file".into(),
        ));
    }
    if report.added == 0
        && report.duplicate == 0
        && report.rejected > 0
        && report.outcome != FileOutcome::Refused
    {
        return Err(Fatal::Msg("no usable object in the PEM file".into()));
    }
    Ok(())
}

fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, Fatal> {
    let mut out = Vec::new();
    let mut current: Option<(String, String, usize)> = None;
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("-----BEGIN ") {
            let label = rest.trim_end_matches('-').trim().to_owned();
            current = Some((label, String::new(), n + 1));
        } else if l.starts_with("-----END ") {
            let Some((label, body, start)) = current.take() else {
                return Err(Fatal::Msg(format!("line {}: END without BEGIN", n + 1)));
            };
            let der = STANDARD
                .decode(body.as_bytes())
                .map_err(|_| Fatal::Msg(format!("PEM block at line {start}: invalid base64")))?;
            out.push((label, der));
        } else if let Some((_, body, _)) = current.as_mut()
            && !l.contains(':')
        {
            body.push_str(l);
        }
    }
    if let Some((_, _, start)) = current {
        return Err(Fatal::Msg(format!(
            "PEM block at line {start} is truncated (no END line)"
        )));
    }
    Ok(out)
}

/// A certificate the user imported directly: a self-signed CSCA becomes an anchor; a
/// link certificate is trusted once it verifies under a trusted CA ([`settle`]).
fn add_user_certificate(
    w: &Writer<'_>,
    c: Certificate,
    prov: &Provenance,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    add_standalone_certificate(w, c, prov, report, TrustKind::Direct)
}

fn add_standalone_certificate(
    w: &Writer<'_>,
    c: Certificate,
    prov: &Provenance,
    report: &mut FileReport,
    kind: TrustKind,
) -> Result<(), Fatal> {
    let mut role = super::role::classify_standalone(&c);
    let violations = c.rfc5280_violations();
    if role.is_ca() && !violations.is_empty() {
        report.notes.push(format!(
            "{} is not used as a CA: {}",
            c.subject.display(),
            join(&violations)
        ));
        role = Role::Other;
    }
    let anchor = role == Role::Csca;
    match role {
        Role::Csca => {
            report.anchor = Some(c.fingerprint());
            report.notes.push(format!(
                "trust anchor {} ({}), SHA-256 {}",
                c.subject.display(),
                if kind == TrustKind::Anchor {
                    "named with --anchor"
                } else {
                    "imported directly"
                },
                c.fingerprint()
            ));
        }
        Role::Link => report.notes.push(format!(
            "link certificate {}: trusted only once it verifies under a trusted CSCA of {}",
            c.subject.display(),
            c.issuer.display()
        )),
        Role::Other | Role::Dsc
            if c.is_ca() || c.key_usage.is_some_and(|k| k.has(KeyUsage::KEY_CERT_SIGN)) =>
        {
            report.notes.push(format!(
                "{} is {}",
                c.subject.display(),
                super::role::not_ca_reason(&c)
            ));
        }
        _ => {}
    }
    let meta = CertMeta {
        trusted: anchor,
        trust: anchor.then_some(kind),
        ..CertMeta::default()
    };
    let a = w.add_certificate(&c, role, &meta, prov)?;
    report.count(a);
    Ok(())
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Import `path` as an anchor (`pkd import --anchor`): a self-signed CSCA certificate
/// (DER or PEM) the user names as trusted. Lists already in the store whose signer
/// chains to it become anchored at once.
pub fn import_anchor(store: &mut TrustStore, path: &Path) -> FileReport {
    let label = path.display().to_string();
    let mut report = FileReport::new(&label);
    report.kind = Some(FileKind::Certificate);
    let bytes = match std::fs::File::open(path).and_then(|f| {
        let mut v = Vec::new();
        f.take(MAX_FILE_SIZE).read_to_end(&mut v).map(|_| v)
    }) {
        Ok(b) => b,
        Err(e) => {
            report.fail(format!("cannot read the anchor {label}: {e}"));
            return report;
        }
    };
    let ders = match detect(&bytes) {
        Some(Format::Der) => vec![bytes],
        Some(Format::Pem) => match pem_blocks(&String::from_utf8_lossy(&bytes)) {
            Ok(blocks) => blocks
                .into_iter()
                .filter(|(l, _)| l == "CERTIFICATE" || l == "X509 CERTIFICATE")
                .map(|(_, d)| d)
                .collect(),
            Err(e) => {
                report.fail(format!("anchor {label}: {}", crate::error::text(&e)));
                return report;
            }
        },
        _ => Vec::new(),
    };
    if ders.is_empty() {
        report.fail(format!("anchor {label}: not a DER or PEM certificate"));
        return report;
    }
    let mut certs = Vec::new();
    for der in &ders {
        match Certificate::from_der(der) {
            Ok(c) if super::role::classify(&c) == Role::Csca && c.rfc5280_violations().is_empty() => {
                certs.push(c)
            }
            Ok(c) => {
                report.fail(format!(
                    "anchor {label}: {} is not a self-signed CSCA certificate; an anchor must be one",
                    c.subject.display()
                ));
                return report;
            }
            Err(e) => {
                report.fail(format!("anchor {label}: {}", crate::error::text(&e)));
                return report;
            }
        }
    }
    let w = match store.transaction() {
        Ok(w) => w,
        Err(e) => {
            report.fail(crate::error::text(&e));
            return report;
        }
    };
    let result = (|| -> Result<Vec<String>, Fatal> {
        let source_id = w.add_source(&label, "anchor")?;
        let prov = Provenance {
            source_id,
            ..Provenance::default()
        };
        for c in certs {
            add_standalone_certificate(&w, c, &prov, &mut report, TrustKind::Anchor)?;
        }
        if super::directory::revive_from_source(&w, source_id)? {
            w.reset_derived_trust()?;
        }
        Ok(settle(&w)?)
    })();
    match result.and_then(|notes| {
        w.commit()?;
        Ok(notes)
    }) {
        Ok(notes) => report.notes.extend(notes),
        Err(e) => report.fail(crate::error::text(&e)),
    }
    report
}

/// Set `anchored`/`anchor` of each report's master lists from the store as it is now
/// (a list imported before its anchor in the same run is anchored by the end).
pub fn refresh_anchored(store: &TrustStore, reports: &mut [FileReport]) -> Result<Vec<String>, StoreError> {
    let mut late = Vec::new();
    for r in reports.iter_mut() {
        if r.master_lists.is_empty() {
            continue;
        }
        let mut all = true;
        let mut anchor = None;
        for ml in &r.master_lists {
            match store.master_list_anchor(ml)? {
                Some((true, a)) => anchor = anchor.or(a),
                _ => all = false,
            }
        }
        if all && r.anchored == Some(false) {
            late.push(format!(
                "{}: master list anchored by a later file (anchor {})",
                r.path,
                anchor.as_deref().unwrap_or("?")
            ));
        }
        r.anchored = Some(all);
        if all {
            r.anchor = anchor;
        }
    }
    Ok(late)
}

/// Find a trusted CA certificate in the store whose key verifies `verify`: (the CA,
/// how many candidates were tried).
fn find_trusted_verifier(
    conn: &Connection,
    issuer: &Name,
    aki: Option<&[u8]>,
    verify: impl Fn(&Certificate) -> bool,
) -> Result<(Option<StoredCert>, usize), StoreError> {
    let mut tried = 0;
    let mut candidates = store::trusted_issuer_candidates_on(conn, issuer, aki)?;
    // the key the object names (authority key id) is the only one tried when a
    // candidate has it: other keys of the same name did not sign it
    if aki.is_some() && candidates.iter().any(|c| c.cert.ski.as_deref() == aki) {
        candidates.retain(|c| c.cert.ski.is_none() || c.cert.ski.as_deref() == aki);
    }
    for sc in candidates.into_iter().take(super::path::MAX_CANDIDATES) {
        tried += 1;
        if verify(&sc.cert) {
            return Ok((Some(sc), tried));
        }
    }
    Ok((None, tried))
}

/// The anchor a trusted certificate hangs on (itself for an anchor).
fn root_of(sc: &StoredCert) -> [u8; 32] {
    sc.anchor.unwrap_or(sc.cert.sha256)
}

fn add_crl(
    w: &Writer<'_>,
    crl: Crl,
    non_conformant: bool,
    prov: &Provenance,
    report: &mut FileReport,
    whole_file: bool,
) -> Result<(), Fatal> {
    let violations = crl.rfc5280_violations();
    if !violations.is_empty() {
        report.rejected += 1;
        report.errors.push(format!(
            "CRL of {} rejected: {}",
            crl.issuer.display(),
            join(&violations)
        ));
        if whole_file {
            report.signature = SignatureStatus::Invalid;
            report.outcome = FileOutcome::Refused;
        }
        return Ok(());
    }
    // verified under a trusted CA of its issuer now, or (no such CA yet) stored
    // unverified and verified once when one arrives (settle); verify never parses it
    let (ca, tried) = find_trusted_verifier(w.connection(), &crl.issuer, crl.aki.as_deref(), |ca| {
        ca.public_key().is_ok_and(|k| crl.verify_signature(&k).is_ok())
    })?;
    let status = match (&ca, tried) {
        (Some(_), _) => SignatureStatus::Valid,
        (None, 0) => SignatureStatus::NotApplicable,
        (None, _) => SignatureStatus::Invalid,
    };
    if whole_file {
        report.signature = status;
    }
    if status == SignatureStatus::Invalid {
        report.rejected += 1;
        report.errors.push(format!(
            "CRL of {} does not verify under any CSCA in the store: rejected",
            crl.issuer.display()
        ));
        if whole_file {
            report.outcome = FileOutcome::Refused;
        }
        return Ok(());
    }
    if ca.is_none() {
        report.notes.push(format!(
            "CRL of {} kept unverified: no trusted CSCA of that issuer yet (it is checked once, when one arrives, and counts only then)",
            crl.issuer.display()
        ));
    }
    let by = ca.as_ref().map(|c| c.cert.sha256);
    let a = w.add_crl(&crl, by.as_ref(), non_conformant, prov)?;
    report.count(a);
    Ok(())
}

/// The most signature checks [`settle`] spends on one CRL without an authority key
/// identifier (CRLs with one are checked against the CA with that key only).
const MAX_NAME_ONLY_CRL_CHECKS: usize = 8;

/// Let trust flow from the CA certificates that became trusted in this transaction:
/// link certificates added in it are checked against the trusted CAs; then each newly
/// trusted CA is checked, once, against what names it as issuer and is still waiting:
/// untrusted link certificates, unanchored master lists (their signer), and CRLs stored
/// unverified (verified and kept, or dropped when they fail under the key they name).
/// The work is proportional to the objects that name each newly trusted CA; nothing
/// untrusted is ever looked at again by a later import or by verify. Returns notes.
pub fn settle(w: &Writer<'_>) -> Result<Vec<String>, StoreError> {
    let mut notes = Vec::new();
    for sha in w.take_new_links() {
        let Some(l) = w.certificate(&sha)? else {
            continue;
        };
        if l.trusted {
            continue;
        }
        for ca in w.trusted_issuer_candidates(&l.cert.issuer, l.cert.aki.as_deref())? {
            if link_verifies(&l.cert, &ca.cert) {
                w.trust_verified(&sha, &ca.cert.sha256, &root_of(&ca))?;
                break;
            }
        }
    }
    let mut crl_checks: std::collections::HashMap<[u8; 32], usize> = Default::default();
    loop {
        let queue = w.take_newly_trusted();
        if queue.is_empty() {
            break;
        }
        for t in queue {
            let Some(ca) = w.certificate(&t)? else {
                continue;
            };
            if !ca.trusted || !ca.role.is_ca() {
                continue;
            }
            let root = root_of(&ca);
            let Ok(key) = ca.cert.public_key() else {
                continue;
            };
            for l in w.untrusted_links_under(&ca.cert)? {
                if link_verifies(&l.cert, &ca.cert) {
                    w.trust_verified(&l.cert.sha256, &t, &root)?;
                }
            }
            for (ml, signer) in w.unanchored_lists_under(&ca.cert)? {
                if key_ids_differ(signer.cert.aki.as_deref(), ca.cert.ski.as_deref())
                    || signer.cert.issuer.country() != ca.cert.subject.country()
                {
                    continue;
                }
                if signer.cert.verify_signature(&key).is_ok() {
                    let n = w.anchor_master_list(&ml, &root)?;
                    notes.push(format!(
                        "master list {} is now anchored (its signer {} verifies under {}; anchor {}): {n} CSCA(s) trusted",
                        hex::encode(ml),
                        signer.cert.subject.display(),
                        ca.cert.subject.display(),
                        hex::encode(root)
                    ));
                }
            }
            for (crl_sha, der) in w.unverified_crls_under(&ca.cert)? {
                let Ok(crl) = Crl::from_der(&der) else {
                    w.drop_crl(&crl_sha)?;
                    continue;
                };
                if key_ids_differ(crl.aki.as_deref(), ca.cert.ski.as_deref()) {
                    continue;
                }
                let tries = crl_checks.entry(crl_sha).or_insert(0);
                if crl.aki.is_none() && *tries >= MAX_NAME_ONLY_CRL_CHECKS {
                    continue;
                }
                *tries += 1;
                if crl.verify_signature(&key).is_ok() {
                    w.set_crl_verified(&crl_sha, &t)?;
                } else if crl.aki.is_some() && crl.aki == ca.cert.ski {
                    w.drop_crl(&crl_sha)?;
                    notes.push(format!(
                        "CRL {} of {} dropped: it does not verify under the CSCA key it names",
                        hex::encode(crl_sha),
                        crl.issuer.display()
                    ));
                }
            }
        }
    }
    Ok(notes)
}

/// Both key identifiers present and different: not this key.
fn key_ids_differ(aki: Option<&[u8]>, ski: Option<&[u8]>) -> bool {
    matches!((aki, ski), (Some(a), Some(s)) if a != s)
}

/// A link (or other non-self-signed CA) certificate verifies under `ca`: same country,
/// key identifiers agree, signature good, and it breaks no RFC 5280 rule.
fn link_verifies(link: &Certificate, ca: &Certificate) -> bool {
    !key_ids_differ(link.aki.as_deref(), ca.ski.as_deref())
        && link.issuer.country() == ca.subject.country()
        && link.subject.country() == ca.subject.country()
        && link.rfc5280_violations().is_empty()
        && ca.public_key().is_ok_and(|k| link.verify_signature(&k).is_ok())
}

/// Earn every derived trust again from the anchors alone, in one transaction (the
/// schema migration that introduced anchors and `pkd remove` do the same inside their
/// own transaction).
pub fn rebuild_trust(store: &mut TrustStore) -> Result<(), StoreError> {
    let w = store.transaction()?;
    w.reset_derived_trust()?;
    settle(&w)?;
    w.commit()
}

/// Outcome of checking a list's CMS signature and signer chain.
#[derive(Debug, Clone)]
pub struct ListVerification {
    /// valid / invalid / unsigned.
    pub status: SignatureStatus,
    /// The signer certificate, when found.
    pub signer: Option<Certificate>,
    /// The CSCA the signer chained to (in the store or, for a master list, in the
    /// list itself).
    pub anchor: Option<Certificate>,
    /// The signer chained to a CA certificate trusted in the store: the list is
    /// anchored, and this is the anchor it hangs on (fingerprint).
    pub anchored_by: Option<[u8; 32]>,
    /// Why it is not valid.
    pub reasons: Vec<String>,
    /// Remarks.
    pub notes: Vec<String>,
}

/// Check a master list's signature and signer chain against the list's own CSCAs
/// and the store (nothing is written).
pub fn check_master_list(
    store: &TrustStore,
    bytes: &[u8],
    opts: &ImportOptions,
) -> Result<ListVerification, ListCheckError> {
    let ml = MasterList::parse(bytes)?;
    let cas = signer_issuers_in_list(&ml);
    Ok(verify_list(
        store.connection(),
        &ml.signed_data,
        &cas,
        opts,
        "master list",
    )?)
}

/// Why [`check_master_list`] could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListCheckError {
    /// Not a master list.
    #[error("malformed master list")]
    List(#[from] ListError),
    /// The store failed.
    #[error("trust store")]
    Store(#[from] StoreError),
}

fn verify_list(
    conn: &Connection,
    sd: &SignedData,
    list_cas: &[Certificate],
    opts: &ImportOptions,
    what: &str,
) -> Result<ListVerification, StoreError> {
    let mut v = ListVerification {
        status: SignatureStatus::Invalid,
        signer: None,
        anchor: None,
        anchored_by: None,
        reasons: Vec::new(),
        notes: Vec::new(),
    };
    let Some(signer) = sd.signer_infos.first() else {
        v.status = SignatureStatus::Unsigned;
        v.reasons.push(format!("{what} has no signer"));
        return Ok(v);
    };
    let signer_cert = match sd.signer_certificate(signer) {
        Some(der) => Certificate::from_der(der).ok(),
        None => match &signer.sid {
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                store::by_ski_on(conn, ski)?.into_iter().next().map(|s| s.cert)
            }
            SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => match Name::from_der(issuer) {
                Ok(n) => store::by_issuer_serial_on(conn, &n, serial)?
                    .into_iter()
                    .next()
                    .map(|s| s.cert),
                Err(_) => None,
            },
        },
    };
    let Some(signer_cert) = signer_cert else {
        v.reasons.push(format!("{what} signer certificate not found"));
        return Ok(v);
    };
    if let Err(e) = cms::verify_signer_with_certificate(sd, signer, &signer_cert.der) {
        v.reasons.push(format!(
            "{what} signature does not verify: {}",
            crate::error::text(&e)
        ));
        v.signer = Some(signer_cert);
        return Ok(v);
    }
    let country = signer_cert.issuer.country().unwrap_or_default();
    let verifies = |ca: &Certificate| {
        ca.subject.country().as_deref() == Some(country.as_str())
            && !key_ids_differ(signer_cert.aki.as_deref(), ca.ski.as_deref())
            && ca
                .public_key()
                .is_ok_and(|k| signer_cert.verify_signature(&k).is_ok())
    };
    // first a CA certificate trusted in the store (the list is then anchored), else a
    // CSCA of the list itself (the signature is valid, the list is not anchored)
    let (trusted, mut tried) =
        find_trusted_verifier(conn, &signer_cert.issuer, signer_cert.aki.as_deref(), verifies)?;
    let anchor = match trusted {
        Some(sc) => {
            v.anchored_by = Some(root_of(&sc));
            Some(sc.cert)
        }
        None => {
            let mut found = None;
            for c in list_cas {
                let names = signer_cert
                    .aki
                    .as_deref()
                    .is_some_and(|a| c.ski.as_deref() == Some(a))
                    || c.subject.matches(&signer_cert.issuer);
                if names && super::role::classify(c) == Role::Csca {
                    tried += 1;
                    if verifies(c) {
                        found = Some(c.clone());
                        break;
                    }
                }
            }
            found
        }
    };
    let Some(anchor) = anchor else {
        v.reasons.push(if tried == 0 {
            format!(
                "{what} signer {} does not chain to a CSCA of {country}: none in the list or the store",
                signer_cert.subject.display()
            )
        } else {
            format!("{what} signer certificate signature does not verify under the CSCA(s) of {country}")
        });
        v.signer = Some(signer_cert);
        return Ok(v);
    };
    let at = now_or(opts);
    let signing_time = signer.signed_attrs.as_ref().and_then(|a| a.signing_time);
    if !signer_cert.is_valid_at(at) {
        match signing_time {
            Some(st) if signer_cert.is_valid_at(st) => v.notes.push(format!(
                "{what} signer certificate is not valid on {}; it was when the list was signed ({})",
                super::format_time(at),
                super::format_time(st)
            )),
            _ => {
                v.reasons.push(format!(
                    "{what} signer certificate is not valid on {} (valid {} .. {})",
                    super::format_time(at),
                    super::format_time(signer_cert.not_before),
                    super::format_time(signer_cert.not_after)
                ));
                v.signer = Some(signer_cert);
                return Ok(v);
            }
        }
    }
    if !anchor.is_valid_at(at) {
        v.notes.push(format!(
            "{what} signer's CSCA {} is not valid on {}",
            anchor.subject.display(),
            super::format_time(at)
        ));
    }
    if v.anchored_by.is_none() {
        v.notes.push(format!(
            "{what} is NOT anchored: its signer chains only to a CSCA contained in the list itself ({}, SHA-256 {}); anyone can make such a list. Its CSCAs validate nothing until that CSCA (or another trusted CSCA of {country} that certifies the signer) is imported as a certificate file or named with --anchor",
            anchor.subject.display(),
            anchor.fingerprint()
        ));
    }
    let eku = if what == "master list" {
        cms::oid::ICAO_CSCA_MASTER_LIST_SIGNING_KEY
    } else {
        cms::oid::ICAO_DEVIATION_LIST_SIGNING_KEY
    };
    if !signer_cert.extended_key_usage.contains(&eku) {
        v.notes.push(format!(
            "{what} signer certificate lacks the ICAO extended key usage {eku}"
        ));
    }
    v.status = SignatureStatus::Valid;
    v.signer = Some(signer_cert);
    v.anchor = Some(anchor);
    Ok(v)
}

fn signer_record(v: &ListVerification) -> (Option<[u8; 32]>, Option<String>, Option<String>) {
    match &v.signer {
        Some(s) => (Some(s.sha256), Some(s.subject.display()), s.issuer.country()),
        None => (None, None, None),
    }
}

fn import_master_list(
    w: &Writer<'_>,
    bytes: &[u8],
    sd: SignedData,
    prov: &Provenance,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<SignatureStatus, Fatal> {
    let ml = MasterList::from_signed_data(sd).map_err(|e| list_fatal("master list", &e))?;
    let total = ml.certificate_count();
    // the CMS signature over the eContent first (embedded signer certificate): a list
    // whose signature fails is refused before any listed certificate is parsed
    match ml.verify_signature() {
        Ok(_) | Err(ListError::SignerNotEmbedded) => {}
        Err(e) if !opts.trust_unsigned => {
            report
                .errors
                .push(format!("master list {}", crate::error::text(&e)));
            report.rejected += total as u64;
            report
                .errors
                .push("master list refused (use --trust-unsigned to import it anyway)".to_owned());
            report.outcome = FileOutcome::Refused;
            return Ok(SignatureStatus::Invalid);
        }
        Err(_) => {}
    }
    let cas = signer_issuers_in_list(&ml);
    let v = verify_list(w.connection(), &ml.signed_data, &cas, opts, "master list")?;
    drop(cas);
    let ml_sha = super::cert::fingerprint(bytes);
    report.master_lists.push(ml_sha);
    report.anchored = Some(report.anchored.unwrap_or(true) && v.anchored_by.is_some());
    if let Some(a) = v.anchored_by {
        report.anchor = Some(hex::encode(a));
    }
    report.notes.extend(v.notes.iter().cloned());
    if v.status != SignatureStatus::Valid {
        report.errors.extend(v.reasons.iter().cloned());
        if !opts.trust_unsigned {
            report.rejected += total as u64;
            report
                .errors
                .push("master list refused (use --trust-unsigned to import it anyway)".to_owned());
            report.outcome = FileOutcome::Refused;
            return Ok(v.status);
        }
        report
            .notes
            .push("master list imported despite its signature status (--trust-unsigned)".to_owned());
    }
    let (signer_sha, signer_subject, country) = signer_record(&v);
    let rec = ListRecord {
        anchor: v.anchored_by,
        sha256: ml_sha,
        der: bytes,
        country: country.clone(),
        signer_sha256: signer_sha,
        signer_subject,
        signing_time: ml
            .signed_data
            .signer_infos
            .first()
            .and_then(|s| s.signed_attrs.as_ref())
            .and_then(|a| a.signing_time),
        count: total,
        signature: v.status.as_str(),
    };
    w.add_master_list(&rec, prov)?;
    // a list stored before keeps the anchor it was first anchored by: report that one
    if let Some((true, Some(a))) = w.master_list_anchor(&ml_sha)? {
        report.anchor = Some(a);
    }
    let inner = Provenance {
        source_id: prov.source_id,
        master_list: Some(ml_sha),
        signer: signer_sha,
        detail: prov.detail.clone(),
    };
    if let Some(s) = &v.signer {
        let role = super::role::classify(s);
        w.add_certificate(s, role, &CertMeta::default(), &inner)?;
    }
    // self-signed CSCAs are trusted when the list is anchored (or forced with
    // --trust-unsigned); link certificates when they verify under a trusted CA (settle)
    let trust = match v.anchored_by {
        Some(a) if v.status == SignatureStatus::Valid => Some((TrustKind::MasterList, Some(a))),
        // the user's explicit act (the list is refused above without it)
        _ if opts.trust_unsigned => Some((TrustKind::Unsigned, None)),
        _ => None,
    };
    let mut untrusted = 0usize;
    // one certificate at a time: parsed, stored, dropped
    for (i, der) in ml.certificates().enumerate() {
        let c = match der.map_err(CertError::from).and_then(Certificate::from_der) {
            Ok(c) => c,
            Err(e) => {
                report.rejected += 1;
                report.errors.push(format!(
                    "master list certificate #{}: {}",
                    i + 1,
                    crate::error::text(&e)
                ));
                continue;
            }
        };
        let role = super::role::classify(&c);
        if !role.is_ca() {
            report.rejected += 1;
            report.errors.push(format!(
                "master list certificate {} is {}: rejected",
                c.subject.display(),
                super::role::not_ca_reason(&c)
            ));
            continue;
        }
        let violations = c.rfc5280_violations();
        if !violations.is_empty() {
            report.rejected += 1;
            report.errors.push(format!(
                "master list certificate {} breaks RFC 5280: {}: rejected",
                c.subject.display(),
                join(&violations)
            ));
            continue;
        }
        let meta = match trust {
            Some((kind, anchor)) if role == Role::Csca => CertMeta {
                trusted: true,
                trust: Some(kind),
                anchor,
                ..CertMeta::default()
            },
            _ => {
                untrusted += 1;
                CertMeta::default()
            }
        };
        let a = w.add_certificate(&c, role, &meta, &inner)?;
        report.count(a);
    }
    if trust.is_none() && untrusted > 0 {
        report.notes.push(format!(
            "{untrusted} CA certificate(s) stored but NOT trusted: the master list is not anchored"
        ));
    } else if trust.is_some_and(|(k, _)| k == TrustKind::Unsigned) && v.status == SignatureStatus::Valid {
        report
            .notes
            .push("master list not anchored; its CSCAs are trusted because of --trust-unsigned".to_owned());
    }
    Ok(v.status)
}

/// The CA certificates of a master list that could have issued its signer's
/// certificate (subject = the signer's issuer), each once: walked one at a time, so a
/// list of thousands of copies costs one parsed certificate, not thousands.
fn signer_issuers_in_list(ml: &MasterList) -> Vec<Certificate> {
    let Some(signer) = ml
        .signer_certificate()
        .ok()
        .and_then(|d| Certificate::from_der(d).ok())
    else {
        return Vec::new();
    };
    let mut out: Vec<Certificate> = Vec::new();
    for der in ml.certificates().map_while(Result::ok) {
        let Ok(c) = Certificate::from_der(der) else {
            continue;
        };
        if c.is_ca() && c.subject.matches(&signer.issuer) && !out.iter().any(|o| o.sha256 == c.sha256) {
            out.push(c);
        }
    }
    out
}

fn list_fatal(what: &str, e: &ListError) -> Fatal {
    Fatal::Msg(format!("malformed {what}: {}", crate::error::text(e)))
}

fn import_deviation_list(
    w: &Writer<'_>,
    bytes: &[u8],
    prov: &Provenance,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<SignatureStatus, Fatal> {
    let dl = DeviationList::parse(bytes).map_err(|e| list_fatal("deviation list", &e))?;
    // the signer must chain to a CSCA already trusted in the store (a deviation list
    // carries no CSCAs of its own to trust)
    let v = verify_list(w.connection(), &dl.signed_data, &[], opts, "deviation list")?;
    report.notes.extend(v.notes.iter().cloned());
    if v.status != SignatureStatus::Valid {
        report.errors.extend(v.reasons.iter().cloned());
        if !opts.trust_unsigned {
            report.rejected += 1;
            report
                .errors
                .push("deviation list refused (use --trust-unsigned to import it anyway)".to_owned());
            report.outcome = FileOutcome::Refused;
            return Ok(v.status);
        }
    }
    let mut rows = Vec::new();
    for d in &dl.deviations {
        let (issuer_norm, serial, ski) = match &d.target.certificate {
            Some(SignerIdentifier::IssuerAndSerialNumber { issuer, serial }) => (
                Name::from_der(issuer).ok().map(|n| n.normalized()),
                Some(serial.clone()),
                None,
            ),
            Some(SignerIdentifier::SubjectKeyIdentifier(s)) => (None, None, Some(s.clone())),
            None => (None, None, None),
        };
        for desc in &d.descriptions {
            rows.push(DeviationRow {
                issuer_norm: issuer_norm.clone(),
                serial: serial.clone(),
                ski: ski.clone(),
                document_type: d.target.document_type.clone(),
                deviation_type: desc.deviation_type.to_string(),
                description: desc.description.clone(),
            });
        }
    }
    let (signer_sha, signer_subject, country) = signer_record(&v);
    let rec = ListRecord {
        anchor: None,
        sha256: super::cert::fingerprint(bytes),
        der: bytes,
        country,
        signer_sha256: signer_sha,
        signer_subject,
        signing_time: dl
            .signed_data
            .signer_infos
            .first()
            .and_then(|s| s.signed_attrs.as_ref())
            .and_then(|a| a.signing_time),
        count: dl.deviations.len(),
        signature: v.status.as_str(),
    };
    let a = w.add_deviation_list(&rec, &rows, prov)?;
    report.count(a);
    if let Some(s) = &v.signer {
        let inner = Provenance {
            master_list: Some(rec.sha256),
            signer: signer_sha,
            ..prov.clone()
        };
        w.add_certificate(s, super::role::classify(s), &CertMeta::default(), &inner)?;
    }
    Ok(v.status)
}

/// Is a DER parse failure one that a cut-off value would produce?
fn truncation_like(e: &CertError) -> bool {
    matches!(
        e,
        CertError::Malformed(crate::cms::asn1::Asn1Error::Tlv(
            TlvError::Truncated { .. } | TlvError::MissingEndOfContents { .. }
        ))
    ) || matches!(
        e,
        CertError::Malformed(crate::cms::asn1::Asn1Error::Trailing { .. })
    )
}

/// An LDIF file with more than this many bytes per certificate already in the store
/// (and at least [`BULK_MIN_BYTES`]) is loaded in bulk: the certificate indexes are
/// dropped and built again at the end (`Writer::begin_bulk_load`).
const BULK_BYTES_PER_STORED_CERT: u64 = 250;
/// Smallest LDIF file loaded in bulk (about 1,500 certificates).
const BULK_MIN_BYTES: u64 = 2 * 1024 * 1024;

/// Batches of records in flight between the reading thread and the writer.
const LDIF_PIPELINE_DEPTH: usize = 8;
/// Records per batch (one channel message, one wake-up of the other thread).
const LDIF_BATCH: usize = 64;
/// Smallest LDIF read on a second thread (about 700 certificates); a smaller file is
/// read and written on one.
const PIPELINE_MIN_BYTES: u64 = 1024 * 1024;

/// The records of an LDIF file, prepared ([`prepare_record`]), in batches; a read
/// error comes after the batch of the records before it and ends the sequence.
struct Batches<R: BufRead> {
    reader: LdifReader<R>,
    error: Option<LdifError>,
    done: bool,
}

impl<R: BufRead> Batches<R> {
    fn new(input: R) -> Self {
        Batches {
            reader: LdifReader::new(input),
            error: None,
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for Batches<R> {
    type Item = Result<Vec<PreparedRecord>, LdifError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            return Some(Err(e));
        }
        if self.done {
            return None;
        }
        let mut batch = Vec::with_capacity(LDIF_BATCH);
        while batch.len() < LDIF_BATCH {
            match self.reader.next_record() {
                Ok(Some(rec)) => batch.push(prepare_record(rec)),
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    self.error = Some(e);
                    break;
                }
            }
        }
        if batch.is_empty() {
            return self.error.take().map(Err);
        }
        Some(Ok(batch))
    }
}

/// One LDIF record, its certificates already parsed and described.
pub(crate) struct PreparedRecord {
    rec: LdifRecord,
    /// [`record_meta`] of `rec`.
    meta: (CertMeta, Option<Role>),
    /// Per attribute of `rec` (same index): the certificate's stored columns or why it
    /// does not parse; `None` for attributes that are not certificates.
    certs: Vec<Option<Result<CertRow, CertError>>>,
}

/// The role the PKD collection of an entry gives its certificates (`dn_lower` in lower
/// case): `o=dsc` holds DSCs whatever their extensions claim, `o=bcsc` and `o=bcsc-nc`
/// bar-code signers of visible digital seals, which never validate an eMRTD.
pub(crate) fn collection_role(dn_lower: &str) -> Option<Role> {
    let under = |o: &str| dn_lower.contains(&format!(",{o},")) || dn_lower.starts_with(&format!("{o},"));
    if under("o=dsc") {
        Some(Role::Dsc)
    } else if under("o=bcsc") || under("o=bcsc-nc") {
        Some(Role::Bcsc)
    } else {
        None
    }
}

/// What a record says about the certificates in it.
fn record_meta(rec: &LdifRecord) -> (CertMeta, Option<Role>) {
    let dn_lower = rec.dn.to_ascii_lowercase();
    let code = rec.text("pkdConformanceCode");
    let meta = CertMeta {
        trusted: false,
        non_conformant: dn_lower.contains("dc=nc-data") || code.is_some(),
        conformance_code: code,
        conformance_text: rec.text("pkdConformanceText"),
        pkd_version: rec.text("pkdVersion").and_then(|v| v.parse().ok()),
        ..CertMeta::default()
    };
    (meta, collection_role(&dn_lower))
}

/// What an LDIF attribute holds (`None`: nothing to import).
pub(crate) fn attr_kind(attr: &LdifAttr) -> Option<FileKind> {
    let name = attr.name.as_bytes();
    let starts = |p: &str| {
        name.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p.as_bytes()))
    };
    if starts("usercertificate") || starts("cacertificate") {
        Some(FileKind::Certificate)
    } else if starts("certificaterevocationlist") {
        Some(FileKind::Crl)
    } else if attr.name.eq_ignore_ascii_case("pkdmasterlistcontent") {
        Some(FileKind::MasterList)
    } else if attr.name.to_ascii_lowercase().contains("deviationlist") && attr.value.first() == Some(&0x30) {
        Some(FileKind::DeviationList)
    } else {
        None
    }
}

/// Parse and describe one certificate of an LDIF record.
fn prepare_cert(der: &[u8], meta: &CertMeta, dn_role: Option<Role>) -> Result<CertRow, CertError> {
    let c = Certificate::from_der(der)?;
    // an entry of the PKD's DSC (or bar-code signer) collection has that role whatever
    // its extensions claim
    let role = dn_role.unwrap_or_else(|| super::role::classify_standalone(&c));
    Ok(CertRow::from_owned(c, role, meta))
}

/// The work on a record that needs no database (runs on the reading thread).
pub(crate) fn prepare_record(mut rec: LdifRecord) -> PreparedRecord {
    let (meta, dn_role) = record_meta(&rec);
    let certs = rec
        .attrs
        .iter_mut()
        .map(|a| {
            if a.bad_base64 || attr_kind(a) != Some(FileKind::Certificate) {
                return None;
            }
            let row = prepare_cert(&a.value, &meta, dn_role);
            if row.is_ok() {
                // the row holds the DER now
                a.value = Vec::new();
            }
            Some(row)
        })
        .collect();
    PreparedRecord {
        rec,
        meta: (meta, dn_role),
        certs,
    }
}

/// Import an LDIF file. A file of [`PIPELINE_MIN_BYTES`] or more is read on a second
/// thread (base64, parsing and describing each certificate: [`prepare_record`])
/// while this one writes to the store. CRLs are added after the certificates (their
/// signatures are checked against CSCAs looked up in the store); a large file is
/// loaded in bulk.
fn import_ldif<R: BufRead + Send>(
    w: &Writer<'_>,
    input: R,
    size_hint: Option<u64>,
    source_id: i64,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    if let Some(size) = size_hint.filter(|s| *s >= BULK_MIN_BYTES) {
        let stored = u64::try_from(w.certificate_count()?).unwrap_or(0);
        if size >= stored.saturating_mul(BULK_BYTES_PER_STORED_CERT) {
            w.begin_bulk_load()?;
        }
    }
    let mut crls = Vec::new();
    let mut consume = |batches: &mut dyn Iterator<Item = Result<Vec<PreparedRecord>, LdifError>>| {
        let mut records = 0u64;
        for batch in batches {
            for PreparedRecord { rec, meta, certs } in batch? {
                if rec.unterminated {
                    return Err(Fatal::Msg(format!(
                        "truncated LDIF: the record starting at line {} ({}) is cut off (no end of line at the end of the file); nothing from this file was imported",
                        rec.line,
                        if rec.dn.is_empty() { "no dn" } else { &rec.dn }
                    )));
                }
                if rec.dn.is_empty() {
                    continue;
                }
                records += 1;
                import_ldif_record(w, &rec, meta, certs, &mut crls, source_id, opts, report)?;
            }
        }
        if records == 0 {
            return Err(Fatal::Msg("LDIF file holds no entries".into()));
        }
        Ok(())
    };
    if size_hint.is_some_and(|s| s >= PIPELINE_MIN_BYTES) {
        std::thread::scope(|scope| -> Result<(), Fatal> {
            let (tx, rx) = std::sync::mpsc::sync_channel(LDIF_PIPELINE_DEPTH);
            scope.spawn(move || {
                for batch in Batches::new(input) {
                    // a send fails when the writer gave up: stop reading
                    if tx.send(batch).is_err() {
                        return;
                    }
                }
            });
            consume(&mut rx.into_iter())
        })?;
    } else {
        consume(&mut Batches::new(input))?;
    }
    w.end_bulk_load()?;
    for (crl, non_conformant, prov) in crls {
        add_crl(w, crl, non_conformant, &prov, report, false)?;
    }
    Ok(())
}

/// Import the objects of one directory entry (an LDIF record or an LDAP entry,
/// prepared by [`prepare_record`]) inside `w`, its CRLs at once (a CRL whose CSCA is
/// not trusted yet is stored unverified and verified by [`settle`] when it arrives, as
/// in a file). Used by [`super::directory::Session::apply_prepared`].
pub(crate) fn import_prepared_now(
    w: &Writer<'_>,
    prepared: PreparedRecord,
    source_id: i64,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    let PreparedRecord { rec, meta, certs } = prepared;
    let mut crls = Vec::new();
    import_ldif_record(w, &rec, meta, certs, &mut crls, source_id, opts, report)?;
    for (crl, non_conformant, prov) in crls {
        add_crl(w, crl, non_conformant, &prov, report, false)?;
    }
    Ok(())
}

/// A certificate or CRL of an LDIF record that does not parse: rejected, or, when it
/// is cut off at the end of the file, the whole file refused as truncated.
fn unparsable(
    rec: &LdifRecord,
    whence: &str,
    what: &str,
    e: &CertError,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    if rec.at_eof && truncation_like(e) {
        return Err(Fatal::Msg(format!(
            "truncated LDIF: the {what} at {whence} is cut off; nothing from this file was imported"
        )));
    }
    report.rejected += 1;
    report.error(format!("{whence}: {}", crate::error::text(e)));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn import_ldif_record(
    w: &Writer<'_>,
    rec: &LdifRecord,
    (meta, dn_role): (CertMeta, Option<Role>),
    mut certs: Vec<Option<Result<CertRow, CertError>>>,
    crls: &mut Vec<(Crl, bool, Provenance)>,
    source_id: i64,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    let non_conformant = meta.non_conformant;
    let prov = Provenance {
        source_id,
        master_list: None,
        signer: None,
        detail: Some(rec.dn.clone()),
    };
    for (i, attr) in rec.attrs.iter().enumerate() {
        let Some(kind) = attr_kind(attr) else {
            continue;
        };
        let whence = format!("line {} ({})", attr.line, quoted_dn(&rec.dn));
        if attr.bad_base64 {
            if rec.at_eof {
                return Err(Fatal::Msg(format!(
                    "truncated LDIF: {} has an incomplete base64 value; nothing from this file was imported",
                    whence
                )));
            }
            report.rejected += 1;
            report.error(format!("{whence}: invalid base64 in {}", attr.name));
            continue;
        }
        match kind {
            FileKind::Certificate => {
                let prepared = certs.get_mut(i).and_then(Option::take);
                match prepared.unwrap_or_else(|| prepare_cert(&attr.value, &meta, dn_role)) {
                    Ok(row) => {
                        let a = w.add_cert_row(&row, &prov)?;
                        report.count(a);
                    }
                    Err(e) => unparsable(rec, &whence, "certificate", &e, report)?,
                }
            }
            FileKind::Crl => match Crl::from_der(&attr.value) {
                // checked and added after the certificates (import_ldif)
                Ok(c) => crls.push((c, non_conformant, prov.clone())),
                Err(e) => unparsable(rec, &whence, "CRL", &e, report)?,
            },
            FileKind::MasterList | FileKind::DeviationList => {
                // list verification looks certificates up: indexes first
                w.end_bulk_load()?;
                let sd = match SignedData::parse(&attr.value) {
                    Ok(sd) => sd,
                    Err(e) => {
                        if rec.at_eof {
                            return Err(Fatal::Msg(format!(
                                "truncated LDIF: the list at {whence} does not parse ({}); nothing from this file was imported",
                                crate::error::text(&e)
                            )));
                        }
                        report.rejected += 1;
                        report.error(format!("{whence}: {}", crate::error::text(&e)));
                        continue;
                    }
                };
                let before = report.errors.len();
                match import_signed(w, &attr.value, sd, &prov, opts, report, false) {
                    Ok(()) => {}
                    Err(Fatal::Msg(m)) => {
                        report.rejected += 1;
                        report.error(format!("{whence}: {m}"));
                    }
                    Err(e) => return Err(e),
                }
                for e in report.errors.iter_mut().skip(before) {
                    if !e.starts_with("line ") {
                        *e = format!("{whence}: {e}");
                    }
                }
            }
            // attr_kind never names these in an LDIF
            FileKind::Ldif | FileKind::CvCertificate => {}
        }
    }
    Ok(())
}

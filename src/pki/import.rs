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

use openssl::sha::Sha256;
use time::OffsetDateTime;

use super::cert::Certificate;
use super::cert::KeyUsage;
use super::crl::Crl;
use super::ldif::LdifError;
use super::role::{Role, TrustKind};
use super::store::{Added, CertMeta, Provenance, StoreError, TrustStore, Writer};
use crate::cms::SignedData;

mod detect;
mod ldif;
mod masterlist;
mod pem;
mod segments;
mod trust;

use detect::{Format, HashingReader, detect};
use ldif::import_ldif;
pub(crate) use ldif::{BulkLoad, PreparedRecord, attr_kind, import_prepared_now, prepare_record};
pub use masterlist::{ListCheckError, ListVerification, check_master_list};
use masterlist::{SignedObject, import_signed};
use pem::{import_pem, pem_blocks};
use trust::add_crl;
pub use trust::{rebuild_trust, refresh_anchored, settle};

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

    /// Count an object as refused, with why (kept as [`FileReport::error`] keeps it).
    pub(crate) fn reject(&mut self, msg: String) {
        self.rejected += 1;
        self.error(msg);
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
                let prov = Provenance {
                    source_id,
                    ..Provenance::default()
                };
                import_der_or_pem(&w, format, &bytes, &prov, opts, report)?;
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

fn now_or(opts: &ImportOptions) -> OffsetDateTime {
    opts.at.unwrap_or_else(OffsetDateTime::now_utc)
}

/// A file that is not LDIF: PEM blocks, or one DER object (certificate, CRL, list).
fn import_der_or_pem(
    w: &Writer<'_>,
    format: Format,
    bytes: &[u8],
    prov: &Provenance,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    if format == Format::Pem {
        return import_pem(w, bytes, prov, opts, report);
    }
    // a ContentInfo starts with SEQUENCE { OID 1.2.840.113549.1.7.2 ...
    let signed_data_oid = crate::cms::asn1::encode_oid(&crate::asn1::oid::SIGNED_DATA);
    let looks_cms = bytes
        .get(..64)
        .unwrap_or(bytes)
        .windows(signed_data_oid.len())
        .any(|w| w == signed_data_oid);
    if looks_cms {
        let sd = SignedData::parse(bytes)
            .map_err(|e| Fatal::Msg(format!("malformed CMS signed data: {}", crate::error::text(&e))))?;
        return import_signed(w, SignedObject { der: bytes, sd, prov }, opts, report, true);
    }
    match Certificate::from_der(bytes) {
        Ok(c) => {
            report.kind = Some(FileKind::Certificate);
            add_user_certificate(w, c, prov, report)?;
            Ok(())
        }
        Err(cert_err) => match Crl::from_der(bytes) {
            Ok(crl) => {
                report.kind = Some(FileKind::Crl);
                add_crl(w, crl, false, prov, report, true)?;
                Ok(())
            }
            Err(_) => Err(Fatal::Msg(format!(
                "not a certificate, CRL, master list or deviation list: {}",
                crate::error::text(&cert_err)
            ))),
        },
    }
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
    if role.is_ca()
        && let Some(why) = broken_rules(&c.rfc5280_violations())
    {
        report
            .notes
            .push(format!("{} is not used as a CA: {why}", c.subject.display()));
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

/// The RFC 5280 rules an object breaks, as one text (`None`: it breaks none).
fn broken_rules<T: std::fmt::Display>(violations: &[T]) -> Option<String> {
    (!violations.is_empty()).then(|| {
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
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

//! `emrtd pkd import`: master lists, ICAO PKD LDIF, certificates (DER/PEM), CRLs and
//! deviation lists, detected by CONTENT (never by file name), each file imported
//! atomically (one transaction: a crash or a bad file leaves the store as it was).
//!
//! Master and deviation lists are CMS SignedData (Doc 9303 Part 12 §8): the CMS
//! signature is verified with the list signer's certificate, and that certificate
//! must chain to a CSCA of the signer's country found in the list itself or in the
//! store. A list that fails is refused unless `trust_unsigned` is set, and the report
//! says so either way.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::sha::Sha256;
use rusqlite::Connection;
use time::OffsetDateTime;

use super::cert::{CertError, Certificate, Name};
use super::crl::Crl;
use super::ldif::{LdifAttr, LdifError, LdifReader, LdifRecord};
use super::masterlist::{DeviationList, ListError, MasterList};
use super::store::{
    self, Added, CertMeta, CertRow, DeviationRow, ListRecord, Provenance, Role, StoreError, TrustStore,
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
    /// Objects added.
    pub added: u64,
    /// Objects already in the store.
    pub duplicate: u64,
    /// Objects refused.
    pub rejected: u64,
    /// Why things were rejected or failed.
    pub errors: Vec<String>,
    /// Notes that are not errors (shown in human output).
    #[serde(skip)]
    pub notes: Vec<String>,
    /// Outcome (for the exit code).
    #[serde(skip)]
    pub outcome: FileOutcome,
}

impl FileReport {
    fn new(path: &str) -> Self {
        FileReport {
            path: path.to_owned(),
            kind: None,
            signature: SignatureStatus::NotApplicable,
            added: 0,
            duplicate: 0,
            rejected: 0,
            errors: Vec::new(),
            notes: Vec::new(),
            outcome: FileOutcome::Imported,
        }
    }

    fn count(&mut self, a: Added) {
        match a {
            Added::Added => self.added += 1,
            Added::Duplicate => self.duplicate += 1,
        }
    }

    fn fail(&mut self, msg: String) {
        self.errors.push(msg);
        self.outcome = FileOutcome::Failed;
        self.added = 0;
        self.duplicate = 0;
    }
}

/// Fatal problems with one file (it is rolled back).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
enum Fatal {
    #[error("{0}")]
    Msg(String),
    #[error("trust store")]
    Store(#[from] StoreError),
    #[error("read error")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Ldif(#[from] LdifError),
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
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
        Err(e) => report.fail(chain(&e)),
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
    let w = match store.transaction() {
        Ok(w) => w,
        Err(e) => {
            report.fail(chain(&e));
            return;
        }
    };
    let result = (|| -> Result<(), Fatal> {
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
        Ok(())
    })();
    match result {
        Ok(()) if report.outcome != FileOutcome::Failed && report.added + report.duplicate > 0 => {
            if let Err(e) = w.commit() {
                report.fail(format!("commit failed: {}", chain(&e)));
            }
        }
        Ok(()) => {
            // nothing new: do not even record the source
            let _ = w.rollback();
        }
        Err(e) => {
            let _ = w.rollback();
            report.fail(chain(&e));
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
            .map_err(|e| Fatal::Msg(format!("malformed CMS signed data: {}", chain(&e))))?;
        return import_signed(w, bytes, &sd, &prov, opts, report, true);
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
                chain(&cert_err)
            ))),
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn import_signed(
    w: &Writer<'_>,
    bytes: &[u8],
    sd: &SignedData,
    prov: &Provenance,
    opts: &ImportOptions,
    report: &mut FileReport,
    whole_file: bool,
) -> Result<(), Fatal> {
    if sd.econtent_type == cms::oid::ICAO_CSCA_MASTER_LIST {
        if whole_file {
            report.kind = Some(FileKind::MasterList);
        }
        let status = import_master_list(w, bytes, prov, opts, report)?;
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
                        report.errors.push(format!("PEM block {}: {}", i + 1, chain(&e)));
                    }
                }
            }
            "X509 CRL" => {
                report.kind.get_or_insert(FileKind::Crl);
                match Crl::from_der(der) {
                    Ok(c) => add_crl(w, c, false, &prov, report, true)?,
                    Err(e) => {
                        report.rejected += 1;
                        report.errors.push(format!("PEM block {}: {}", i + 1, chain(&e)));
                    }
                }
            }
            "CMS" | "PKCS7" => {
                let sd = SignedData::parse(der)
                    .map_err(|e| Fatal::Msg(format!("PEM block {}: malformed CMS: {}", i + 1, chain(&e))))?;
                let first = report.kind.is_none();
                import_signed(w, der, &sd, &prov, opts, report, first)?;
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

/// A certificate the user imported directly: CA certificates become trust anchors.
fn add_user_certificate(
    w: &Writer<'_>,
    c: Certificate,
    prov: &Provenance,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    let role = store::classify(&c);
    let meta = CertMeta {
        trusted: role.is_ca(),
        ..CertMeta::default()
    };
    let a = w.add_certificate(&c, role, &meta, prov)?;
    report.count(a);
    Ok(())
}

/// Find a trusted CA (in the store, or in `extra`) whose key verifies `verify`.
fn find_verifying_ca(
    conn: &Connection,
    issuer: &Name,
    aki: Option<&[u8]>,
    extra: &[Certificate],
    verify: impl Fn(&Certificate) -> bool,
) -> Result<(Option<Certificate>, usize), StoreError> {
    let mut tried = 0;
    for c in extra {
        let matches = aki.is_some_and(|a| c.ski.as_deref() == Some(a)) || c.subject.matches(issuer);
        if matches && store::classify(c).is_ca() {
            tried += 1;
            if verify(c) {
                return Ok((Some(c.clone()), tried));
            }
        }
    }
    for sc in store::issuer_candidates_on(conn, issuer, aki)? {
        if !sc.trusted {
            continue;
        }
        tried += 1;
        if verify(&sc.cert) {
            return Ok((Some(sc.cert), tried));
        }
    }
    Ok((None, tried))
}

fn add_crl(
    w: &Writer<'_>,
    crl: Crl,
    non_conformant: bool,
    prov: &Provenance,
    report: &mut FileReport,
    whole_file: bool,
) -> Result<(), Fatal> {
    // a CRL is checked again whenever it is used; here we verify when the CSCA is known
    let (ca, tried) = find_verifying_ca(w.connection(), &crl.issuer, crl.aki.as_deref(), &[], |ca| {
        ca.public_key().is_ok_and(|k| crl.verify_signature(&k).is_ok())
    })?;
    let status = match (ca, tried) {
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
    let sig = if status == SignatureStatus::Valid {
        "valid"
    } else {
        "unverified"
    };
    let a = w.add_crl(&crl, sig, non_conformant, prov)?;
    report.count(a);
    Ok(())
}

/// Outcome of checking a list's CMS signature and signer chain.
#[derive(Debug, Clone)]
pub struct ListVerification {
    /// valid / invalid / unsigned.
    pub status: SignatureStatus,
    /// The signer certificate, when found.
    pub signer: Option<Certificate>,
    /// The CSCA the signer chained to.
    pub anchor: Option<Certificate>,
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
    let cas: Vec<Certificate> = ml
        .certificates
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .filter(Certificate::is_ca)
        .collect();
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
        v.reasons
            .push(format!("{what} signature does not verify: {}", chain(&e)));
        v.signer = Some(signer_cert);
        return Ok(v);
    }
    let country = signer_cert.issuer.country().unwrap_or_default();
    let same_country: Vec<Certificate> = list_cas
        .iter()
        .filter(|c| c.subject.country().as_deref() == Some(country.as_str()))
        .cloned()
        .collect();
    let (anchor, tried) = find_verifying_ca(
        conn,
        &signer_cert.issuer,
        signer_cert.aki.as_deref(),
        &same_country,
        |ca| {
            ca.subject.country().as_deref() == Some(country.as_str())
                && ca
                    .public_key()
                    .is_ok_and(|k| signer_cert.verify_signature(&k).is_ok())
        },
    )?;
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
    if list_cas.iter().any(|c| c.sha256 == anchor.sha256) {
        v.notes.push(format!(
            "{what} signer chains to a CSCA contained in the list itself ({})",
            anchor.subject.display()
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
    prov: &Provenance,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<SignatureStatus, Fatal> {
    let ml = MasterList::parse(bytes).map_err(|e| list_fatal("master list", &e))?;
    let mut parsed = Vec::new();
    let mut bad = Vec::new();
    for (i, der) in ml.certificates.iter().enumerate() {
        match Certificate::from_der(der) {
            Ok(c) => parsed.push(c),
            Err(e) => bad.push((i, e)),
        }
    }
    let cas: Vec<Certificate> = parsed.iter().filter(|c| c.is_ca()).cloned().collect();
    let v = verify_list(w.connection(), &ml.signed_data, &cas, opts, "master list")?;
    report.notes.extend(v.notes.iter().cloned());
    if v.status != SignatureStatus::Valid {
        report.errors.extend(v.reasons.iter().cloned());
        if !opts.trust_unsigned {
            report.rejected += ml.certificates.len() as u64;
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
    let ml_sha = super::cert::fingerprint(bytes);
    let (signer_sha, signer_subject, country) = signer_record(&v);
    let rec = ListRecord {
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
        count: ml.certificates.len(),
        signature: v.status.as_str(),
    };
    w.add_master_list(&rec, prov)?;
    let inner = Provenance {
        source_id: prov.source_id,
        master_list: Some(ml_sha),
        signer: signer_sha,
        detail: prov.detail.clone(),
    };
    if let Some(s) = &v.signer {
        let role = store::classify(s);
        w.add_certificate(s, role, &CertMeta::default(), &inner)?;
    }
    for (i, e) in bad {
        report.rejected += 1;
        report
            .errors
            .push(format!("master list certificate #{}: {}", i + 1, chain(&e)));
    }
    for c in parsed {
        let role = store::classify(&c);
        if !role.is_ca() {
            report.rejected += 1;
            report.errors.push(format!(
                "master list certificate {} is not a CA certificate: rejected",
                c.subject.display()
            ));
            continue;
        }
        let meta = CertMeta {
            trusted: true,
            ..CertMeta::default()
        };
        let a = w.add_certificate(&c, role, &meta, &inner)?;
        report.count(a);
    }
    Ok(v.status)
}

fn list_fatal(what: &str, e: &ListError) -> Fatal {
    Fatal::Msg(format!("malformed {what}: {}", chain(e)))
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
        w.add_certificate(s, store::classify(s), &CertMeta::default(), &inner)?;
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
struct PreparedRecord {
    rec: LdifRecord,
    /// [`record_meta`] of `rec`.
    meta: (CertMeta, bool),
    /// Per attribute of `rec` (same index): the certificate's stored columns or why it
    /// does not parse; `None` for attributes that are not certificates.
    certs: Vec<Option<Result<CertRow, CertError>>>,
}

/// What a record says about the certificates in it.
fn record_meta(rec: &LdifRecord) -> (CertMeta, bool) {
    let dn_lower = rec.dn.to_ascii_lowercase();
    let code = rec.text("pkdConformanceCode");
    let meta = CertMeta {
        trusted: false,
        non_conformant: dn_lower.contains("dc=nc-data") || code.is_some(),
        conformance_code: code,
        conformance_text: rec.text("pkdConformanceText"),
        pkd_version: rec.text("pkdVersion").and_then(|v| v.parse().ok()),
    };
    let dn_is_dsc = dn_lower.contains(",o=dsc,") || dn_lower.starts_with("o=dsc,");
    (meta, dn_is_dsc)
}

/// What an LDIF attribute holds (`None`: nothing to import).
fn attr_kind(attr: &LdifAttr) -> Option<FileKind> {
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
fn prepare_cert(der: &[u8], meta: &CertMeta, dn_is_dsc: bool) -> Result<CertRow, CertError> {
    let c = Certificate::from_der(der)?;
    let mut role = store::classify(&c);
    if dn_is_dsc && role == Role::Other {
        role = Role::Dsc;
    }
    Ok(CertRow::from_owned(c, role, meta))
}

/// The work on a record that needs no database (runs on the reading thread).
fn prepare_record(mut rec: LdifRecord) -> PreparedRecord {
    let (meta, dn_is_dsc) = record_meta(&rec);
    let certs = rec
        .attrs
        .iter_mut()
        .map(|a| {
            if a.bad_base64 || attr_kind(a) != Some(FileKind::Certificate) {
                return None;
            }
            let row = prepare_cert(&a.value, &meta, dn_is_dsc);
            if row.is_ok() {
                // the row holds the DER now
                a.value = Vec::new();
            }
            Some(row)
        })
        .collect();
    PreparedRecord {
        rec,
        meta: (meta, dn_is_dsc),
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
    report.errors.push(format!("{whence}: {}", chain(e)));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn import_ldif_record(
    w: &Writer<'_>,
    rec: &LdifRecord,
    (meta, dn_is_dsc): (CertMeta, bool),
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
        let whence = format!("line {} ({})", attr.line, rec.dn);
        if attr.bad_base64 {
            if rec.at_eof {
                return Err(Fatal::Msg(format!(
                    "truncated LDIF: {} has an incomplete base64 value; nothing from this file was imported",
                    whence
                )));
            }
            report.rejected += 1;
            report
                .errors
                .push(format!("{whence}: invalid base64 in {}", attr.name));
            continue;
        }
        match kind {
            FileKind::Certificate => {
                let prepared = certs.get_mut(i).and_then(Option::take);
                match prepared.unwrap_or_else(|| prepare_cert(&attr.value, &meta, dn_is_dsc)) {
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
                                chain(&e)
                            )));
                        }
                        report.rejected += 1;
                        report.errors.push(format!("{whence}: {}", chain(&e)));
                        continue;
                    }
                };
                let before = report.errors.len();
                match import_signed(w, &attr.value, &sd, &prov, opts, report, false) {
                    Ok(()) => {}
                    Err(Fatal::Msg(m)) => {
                        report.rejected += 1;
                        report.errors.push(format!("{whence}: {m}"));
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

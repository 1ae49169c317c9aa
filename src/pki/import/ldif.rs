//! LDIF files and directory entries: records read and their certificates parsed on
//! other threads ([`prepare_record`], [`super::segments`]) while this one writes them
//! to the store;
//! CRLs after the certificates; a large file loaded in bulk.

use std::io::BufRead;

use super::masterlist::{SignedObject, import_signed};
use super::trust::add_crl;
use super::{Fatal, FileKind, FileReport, ImportOptions, quoted_dn};
use crate::cms::SignedData;
use crate::pki::cert::{CertError, Certificate};
use crate::pki::crl::Crl;
use crate::pki::ldif::{LdifAttr, LdifError, LdifReader, LdifRecord};
use crate::pki::role::Role;
use crate::pki::store::{CertMeta, CertRow, Provenance, StoreError, Writer};
use crate::tlv::TlvError;

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

/// How many times one file or sync goes back to loading in bulk after a list
/// needed the indexes (each time costs building them once more).
const MAX_BULK_RESUMES: usize = 4;

/// The bulk-load policy of one `pkd import` file or one `pkd sync` run, once decided
/// that it loads in bulk (the certificate indexes dropped, built again once at the
/// end: [`Writer::begin_bulk_load`]). A list's verification looks certificates up, so
/// it builds the indexes again; the records after it load in bulk again, up to
/// [`MAX_BULK_RESUMES`] times (a PKD tree carries its master and deviation lists before
/// its 30,000 DSCs).
#[derive(Debug)]
pub(crate) struct BulkLoad {
    wanted: bool,
    /// Bulk loads started so far (the first one included).
    started: usize,
}

impl BulkLoad {
    /// The policy of a file or run that loads in bulk when `wanted`.
    pub(crate) fn new(wanted: bool) -> Self {
        BulkLoad { wanted, started: 0 }
    }

    /// Before a record: one that carries no list starts (or resumes) the bulk load, when
    /// wanted and within the bound. A list ends it itself (`import_ldif_record`).
    pub(crate) fn before(&mut self, w: &Writer<'_>, holds_list: bool) -> Result<(), StoreError> {
        if self.wanted && !holds_list && !w.bulk_loading() && self.started <= MAX_BULK_RESUMES {
            w.begin_bulk_load()?;
            self.started += 1;
        }
        Ok(())
    }
}

/// Records per batch (one channel message, one wake-up of the other thread).
const LDIF_BATCH: usize = 64;

/// Smallest LDIF read on other threads (about 700 certificates:
/// [`super::segments::read_in_parallel`]); a smaller file is read and written on one.
const PIPELINE_MIN_BYTES: u64 = 1024 * 1024;

/// The records of an LDIF file, prepared ([`prepare_record`]), in batches; a read
/// error comes after the batch of the records before it and ends the sequence.
pub(super) struct Batches<R: BufRead> {
    reader: LdifReader<R>,
    error: Option<LdifError>,
    done: bool,
}

impl<R: BufRead> Batches<R> {
    pub(super) fn new(input: R) -> Self {
        Self::from_reader(LdifReader::new(input))
    }

    /// The batches of the records `reader` reads.
    pub(super) fn from_reader(reader: LdifReader<R>) -> Self {
        Batches {
            reader,
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

impl PreparedRecord {
    /// The record as read.
    #[cfg(test)]
    pub(super) fn record(&self) -> &LdifRecord {
        &self.rec
    }

    /// The record carries a master or deviation list ([`BulkLoad::before`]).
    pub(crate) fn holds_list(&self) -> bool {
        holds_list(&self.rec)
    }

    /// Each attribute of the record, with the row of the certificate it held when that
    /// parsed (the row holds its DER and SHA-256 then; the attribute's value is empty).
    pub(crate) fn attrs_with_rows(&self) -> impl Iterator<Item = (&LdifAttr, Option<&CertRow>)> {
        self.rec.attrs.iter().enumerate().map(|(i, a)| {
            let row = self
                .certs
                .get(i)
                .and_then(|c| c.as_ref())
                .and_then(|r| r.as_ref().ok());
            (a, row)
        })
    }
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
    } else if attr.value.first() == Some(&0x30)
        && name
            .windows(b"deviationlist".len())
            .any(|w| w.eq_ignore_ascii_case(b"deviationlist"))
    {
        Some(FileKind::DeviationList)
    } else {
        None
    }
}

/// The record carries a master or deviation list.
fn holds_list(rec: &LdifRecord) -> bool {
    rec.attrs
        .iter()
        .any(|a| matches!(attr_kind(a), Some(FileKind::MasterList | FileKind::DeviationList)))
}

/// Parse and describe one certificate of an LDIF record.
fn prepare_cert(der: &[u8], meta: &CertMeta, dn_role: Option<Role>) -> Result<CertRow, CertError> {
    Ok(describe_cert(Certificate::from_der(der)?, meta, dn_role))
}

/// The stored columns of a certificate of an LDIF record.
fn describe_cert(c: Certificate, meta: &CertMeta, dn_role: Option<Role>) -> CertRow {
    // an entry of the PKD's DSC (or bar-code signer) collection has that role whatever
    // its extensions claim
    let role = dn_role.unwrap_or_else(|| crate::pki::role::classify_standalone(&c));
    CertRow::from_owned(c, role, meta)
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
            // the row holds the DER when it parses (the value is empty then)
            let row = Certificate::from_der_taking(&mut a.value).map(|c| describe_cert(c, &meta, dn_role));
            Some(row)
        })
        .collect();
    PreparedRecord {
        rec,
        meta: (meta, dn_role),
        certs,
    }
}

/// Import an LDIF file. A file of [`PIPELINE_MIN_BYTES`] or more is read on other
/// threads (base64, parsing and describing each certificate: [`prepare_record`];
/// [`super::segments`]) while this one writes to the store. CRLs are added after the certificates (their
/// signatures are checked against CSCAs looked up in the store); a large file is
/// loaded in bulk.
pub(super) fn import_ldif<R: BufRead + Send>(
    w: &Writer<'_>,
    input: R,
    size_hint: Option<u64>,
    source_id: i64,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    let bulk = match size_hint.filter(|s| *s >= BULK_MIN_BYTES) {
        Some(size) => {
            let stored = u64::try_from(w.certificate_count()?).unwrap_or(0);
            size >= stored.saturating_mul(BULK_BYTES_PER_STORED_CERT)
        }
        None => false,
    };
    let mut bulk = BulkLoad::new(bulk);
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
                bulk.before(w, holds_list(&rec))?;
                import_ldif_record(w, &rec, meta, certs, &mut crls, source_id, opts, report)?;
            }
        }
        if records == 0 {
            return Err(Fatal::Msg("LDIF file holds no entries".into()));
        }
        Ok(())
    };
    if size_hint.is_some_and(|s| s >= PIPELINE_MIN_BYTES) {
        super::segments::read_in_parallel(input, consume)?;
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
/// not trusted yet is stored unverified and verified by [`super::settle`] when it arrives, as
/// in a file). Used by [`crate::pki::directory::Session::apply_prepared`].
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
    report.reject(format!("{whence}: {}", crate::error::text(e)));
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
            report.reject(format!("{whence}: invalid base64 in {}", attr.name));
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
                        report.reject(format!("{whence}: {}", crate::error::text(&e)));
                        continue;
                    }
                };
                let before = report.errors.len();
                match import_signed(
                    w,
                    SignedObject {
                        der: &attr.value,
                        sd,
                        prov: &prov,
                    },
                    opts,
                    report,
                    false,
                ) {
                    Ok(()) => {}
                    Err(Fatal::Msg(m)) => {
                        report.reject(format!("{whence}: {m}"));
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

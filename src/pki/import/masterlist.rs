//! Master and deviation lists (Doc 9303 Part 12 §8, CMS SignedData): the list's
//! signature and its signer's chain to a CSCA of its country, in the store or in the
//! list itself, and what that means for trust (anchored or not, docs/trust-store.md).

use rusqlite::Connection;

use super::trust::{find_trusted_verifier, key_ids_differ, root_of};
use super::{Fatal, FileKind, FileOutcome, FileReport, ImportOptions, SignatureStatus, broken_rules, now_or};
use crate::cms::{self, SignedData, SignerIdentifier};
use crate::pki::cert::{CertError, Certificate, Name};
use crate::pki::masterlist::{DeviationList, ListError, MasterList};
use crate::pki::role::{Role, TrustKind};
use crate::pki::store::{
    self, CertMeta, DeviationRow, ListRecord, Provenance, StoreError, TrustStore, Writer,
};

/// A CMS SignedData object of a file (the whole file, a PEM block or an LDIF value):
/// its bytes, as read once, and where it came from.
pub(super) struct SignedObject<'a> {
    pub(super) der: &'a [u8],
    pub(super) sd: SignedData,
    pub(super) prov: &'a Provenance,
}

pub(super) fn import_signed(
    w: &Writer<'_>,
    obj: SignedObject<'_>,
    opts: &ImportOptions,
    report: &mut FileReport,
    whole_file: bool,
) -> Result<(), Fatal> {
    let kind = if obj.sd.econtent_type == crate::asn1::oid::ICAO_CSCA_MASTER_LIST {
        FileKind::MasterList
    } else if obj.sd.econtent_type == crate::asn1::oid::ICAO_DEVIATION_LIST {
        FileKind::DeviationList
    } else {
        return Err(Fatal::Msg(format!(
            "CMS content type {} is neither a CSCA master list nor a deviation list",
            obj.sd.econtent_type
        )));
    };
    if whole_file {
        report.kind = Some(kind);
    }
    let status = if kind == FileKind::MasterList {
        // the SignedData already read is reused: one copy of a large list's eContent
        import_master_list(w, obj, opts, report)?
    } else {
        import_deviation_list(w, obj, opts, report)?
    };
    merge_status(report, status, whole_file);
    Ok(())
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
        Some(c) => Some(c.into_owned()),
        // not embedded: of the stored certificates the SignerInfo names, the one whose
        // key verifies the signature (a look-alike stored first must not decide), else
        // the first, whose failure is then reported
        None => {
            let found = store::certificates_named_on(conn, &signer.sid)?;
            let verifies = found
                .iter()
                .position(|c| cms::verify_signer_with_certificate(sd, signer, &c.cert).is_ok());
            found.into_iter().nth(verifies.unwrap_or(0)).map(|s| s.cert)
        }
    };
    let Some(signer_cert) = signer_cert else {
        v.reasons.push(format!("{what} signer certificate not found"));
        return Ok(v);
    };
    if let Err(e) = cms::verify_signer_with_certificate(sd, signer, &signer_cert) {
        v.reasons.push(format!(
            "{what} signature does not verify: {}",
            crate::error::text(&e)
        ));
        v.signer = Some(signer_cert);
        return Ok(v);
    }
    // only a list signer signs a list (Doc 9303 Part 12 §7.1.1: the extended key usage
    // is mandatory): a DSC or a bar-code signer also chains to its CSCA, and its key is
    // in every issuing office; were it taken, one DSC key would mint CSCAs of any state
    let eku = if what == "master list" {
        crate::asn1::oid::ICAO_CSCA_MASTER_LIST_SIGNING_KEY
    } else {
        crate::asn1::oid::ICAO_DEVIATION_LIST_SIGNING_KEY
    };
    if !signer_cert.extended_key_usage.contains(&eku) {
        v.reasons.push(format!(
            "{what} signer {} is not a {what} signer: its certificate lacks the ICAO extended key usage {eku}",
            signer_cert.subject.display()
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
                if names && crate::pki::role::classify(c) == Role::Csca {
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
                crate::pki::format_time(at),
                crate::pki::format_time(st)
            )),
            _ => {
                v.reasons.push(format!(
                    "{what} signer certificate is not valid on {} (valid {} .. {})",
                    crate::pki::format_time(at),
                    crate::pki::format_time(signer_cert.not_before),
                    crate::pki::format_time(signer_cert.not_after)
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
            crate::pki::format_time(at)
        ));
    }
    if v.anchored_by.is_none() {
        v.notes.push(format!(
            "{what} is NOT anchored: its signer chains only to a CSCA contained in the list itself ({}, SHA-256 {}); anyone can make such a list. Its CSCAs validate nothing until that CSCA (or another trusted CSCA of {country} that certifies the signer) is imported as a certificate file or named with --anchor",
            anchor.subject.display(),
            anchor.fingerprint()
        ));
    }
    v.status = SignatureStatus::Valid;
    v.signer = Some(signer_cert);
    v.anchor = Some(anchor);
    Ok(v)
}

/// What the store records of a list: its signer (when found), signing time and count.
fn list_record<'a>(v: &ListVerification, der: &'a [u8], sd: &SignedData, count: usize) -> ListRecord<'a> {
    ListRecord {
        anchor: v.anchored_by,
        sha256: crate::pki::cert::fingerprint(der),
        der,
        country: v.signer.as_ref().and_then(|s| s.issuer.country()),
        signer_sha256: v.signer.as_ref().map(|s| s.sha256),
        signer_subject: v.signer.as_ref().map(|s| s.subject.display()),
        signing_time: sd
            .signer_infos
            .first()
            .and_then(|s| s.signed_attrs.as_ref())
            .and_then(|a| a.signing_time),
        count,
        signature: v.status.as_str(),
    }
}

fn import_master_list(
    w: &Writer<'_>,
    SignedObject { der: bytes, sd, prov }: SignedObject<'_>,
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
    let ml_sha = crate::pki::cert::fingerprint(bytes);
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
    let rec = list_record(&v, bytes, &ml.signed_data, total);
    let signer_sha = rec.signer_sha256;
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
        let role = crate::pki::role::classify(s);
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
                report.reject(format!(
                    "master list certificate #{}: {}",
                    i + 1,
                    crate::error::text(&e)
                ));
                continue;
            }
        };
        let role = crate::pki::role::classify(&c);
        if !role.is_ca() {
            report.reject(format!(
                "master list certificate {} is {}: rejected",
                c.subject.display(),
                crate::pki::role::not_ca_reason(&c)
            ));
            continue;
        }
        if let Some(why) = broken_rules(&c.rfc5280_violations()) {
            let subject = c.subject.display();
            report.reject(format!(
                "master list certificate {subject} breaks RFC 5280: {why}: rejected"
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
    let Ok(signer) = ml.signer_certificate() else {
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
    SignedObject { der: bytes, prov, .. }: SignedObject<'_>,
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
            report.reject("deviation list refused (use --trust-unsigned to import it anyway)".to_owned());
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
    let rec = ListRecord {
        // a deviation list anchors nothing
        anchor: None,
        ..list_record(&v, bytes, &dl.signed_data, dl.deviations.len())
    };
    let signer_sha = rec.signer_sha256;
    let a = w.add_deviation_list(&rec, &rows, prov)?;
    report.count(a);
    if let Some(s) = &v.signer {
        let inner = Provenance {
            master_list: Some(rec.sha256),
            signer: signer_sha,
            ..prov.clone()
        };
        w.add_certificate(s, crate::pki::role::classify(s), &CertMeta::default(), &inner)?;
    }
    Ok(v.status)
}

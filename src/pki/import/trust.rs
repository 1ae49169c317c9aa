//! How trust flows once objects are stored: CRLs verified under a trusted CA of their
//! issuer, and [`settle`], which lets each newly trusted CA certificate verify what
//! waits for it (link certificates, list signers, CRLs stored unverified).

use rusqlite::Connection;

use super::{Fatal, FileOutcome, FileReport, SignatureStatus, broken_rules};
use crate::pki::cert::{Certificate, Name};
use crate::pki::crl::Crl;
use crate::pki::store::{self, Provenance, StoreError, StoredCert, TrustStore, Writer};

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
pub(super) fn find_trusted_verifier(
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
    for sc in candidates.into_iter().take(crate::pki::path::MAX_CANDIDATES) {
        tried += 1;
        if verify(&sc.cert) {
            return Ok((Some(sc), tried));
        }
    }
    Ok((None, tried))
}

/// The anchor a trusted certificate hangs on (itself for an anchor).
pub(super) fn root_of(sc: &StoredCert) -> [u8; 32] {
    sc.anchor.unwrap_or(sc.cert.sha256)
}

pub(super) fn add_crl(
    w: &Writer<'_>,
    crl: Crl,
    non_conformant: bool,
    prov: &Provenance,
    report: &mut FileReport,
    whole_file: bool,
) -> Result<(), Fatal> {
    if let Some(why) = broken_rules(&crl.rfc5280_violations()) {
        report.reject(format!("CRL of {} rejected: {why}", crl.issuer.display()));
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
        report.reject(format!(
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
                // a list a store written before list signers had to be list signers
                // recorded as valid anchors nothing unless its signer is one
                if key_ids_differ(signer.cert.aki.as_deref(), ca.cert.ski.as_deref())
                    || signer.cert.issuer.country() != ca.cert.subject.country()
                    || !signer
                        .cert
                        .extended_key_usage
                        .contains(&crate::asn1::oid::ICAO_CSCA_MASTER_LIST_SIGNING_KEY)
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
pub(super) fn key_ids_differ(aki: Option<&[u8]>, ski: Option<&[u8]>) -> bool {
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

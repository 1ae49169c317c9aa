//! ICAO certification path validation (Doc 9303 Part 12 §5, §7.1): DSC ← CSCA, with
//! CSCA link certificates (a key certified by the previous CSCA key of the same
//! country), key identifiers and names, validity at a given time, key usage and the
//! extensions Part 12 requires, the CSCA's country against the document's issuing
//! state, and revocation from the store's CRLs.
//!
//! openssl only does signature math. The result is structured: which CSCA, which
//! checks passed, named findings (profile deviations that are not failures unless
//! security relevant) and reasons. "No CSCA for this issuer in the store"
//! ([`PathStatus::Indeterminate`]) is kept apart from "signature wrong"
//! ([`PathStatus::Invalid`]).

use time::OffsetDateTime;

use super::cert::{Certificate, KeyUsage};
use super::country;
use super::crl::{self, Crl};
use super::role::{Role, TrustKind};
use super::store::{StoreError, StoredCert, TrustStore};

/// Most certificates between a DSC and its trust anchor (DSC ← link ← … ← CSCA).
pub const MAX_DEPTH: usize = 5;

/// Overall status of the path (revocation is reported separately, see [`PathResult::revocation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathStatus {
    /// Every check passed.
    Valid,
    /// A security-relevant check failed (signature, validity, country, key usage).
    Invalid,
    /// The path could not be built: no trusted CSCA for the issuer in the store.
    Indeterminate,
}

/// Status of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// Could not be decided.
    Indeterminate,
    /// Not run (an earlier step failed).
    Skip,
}

/// One check of the path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PathCheck {
    /// `chain`, `dsc_validity`, `csca_validity`, `country`, `key_usage`, `revocation`.
    pub id: &'static str,
    /// Outcome.
    pub status: CheckStatus,
    /// Human explanation.
    pub detail: String,
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// A deviation from the Doc 9303 profile that does not affect security.
    Warning,
    /// Security relevant: makes the path invalid.
    Failure,
}

/// A named deviation or observation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Stable name (`dsc.key_usage_not_critical`, `csca.country_mismatch`, ...).
    pub code: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Explanation.
    pub message: String,
    /// Fingerprint of the certificate concerned.
    pub certificate: Option<String>,
}

/// A certificate in a path, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertRef {
    /// SHA-256 hex.
    pub fingerprint: String,
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial (hex).
    pub serial: String,
    /// notBefore.
    #[serde(serialize_with = "super::ser_time")]
    pub not_before: OffsetDateTime,
    /// notAfter.
    #[serde(serialize_with = "super::ser_time")]
    pub not_after: OffsetDateTime,
    /// Role in the store (for chain members).
    pub role: Option<Role>,
    /// Key description (`ec-brainpoolP256r1`).
    pub key: Option<String>,
}

impl CertRef {
    fn of(c: &Certificate, role: Option<Role>) -> Self {
        CertRef {
            fingerprint: c.fingerprint(),
            subject: c.subject.display(),
            issuer: c.issuer.display(),
            serial: c.serial_hex(),
            not_before: c.not_before,
            not_after: c.not_after,
            role,
            key: c.key_info().ok().map(|k| k.describe()),
        }
    }
}

/// Revocation status of the DSC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Revocation {
    /// A current CRL, verified under the CSCA, does not list the DSC.
    Good {
        /// Fingerprint of the CRL.
        crl: String,
        /// Its nextUpdate.
        #[serde(serialize_with = "super::ser_time")]
        next_update: OffsetDateTime,
    },
    /// A verified CRL lists the DSC.
    Revoked {
        /// Fingerprint of the CRL.
        crl: String,
        /// revocationDate.
        #[serde(serialize_with = "super::ser_time")]
        date: OffsetDateTime,
        /// CRLReason name.
        reason: Option<&'static str>,
    },
    /// No current, verified CRL: revocation could not be checked.
    Indeterminate {
        /// Why.
        reason: String,
        /// The CRL is missing or stale (`None`: revocation was not reached at all, e.g.
        /// no certification path). Only this may be relaxed by a verification policy
        /// (`crl = "advisory"`, docs/verify.md).
        #[serde(skip_serializing_if = "Option::is_none")]
        unavailable: Option<CrlUnavailable>,
    },
}

/// Why no current CRL could vouch for a DSC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrlUnavailable {
    /// `missing` (no verified CRL of the issuer) or `stale` (the newest one is past its
    /// nextUpdate, has none, or was issued after the validation time).
    pub kind: &'static str,
    /// The CRL concerned (stale ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crl: Option<String>,
    /// Its issuer.
    pub issuer: String,
    /// Since when it is stale (its nextUpdate).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_opt_time")]
    pub since: Option<OffsetDateTime>,
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => super::ser_time(t, s),
        None => s.serialize_none(),
    }
}

/// The ICAO PKD's conformance record of a DSC (collection 003, `dc=nc-data`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NonConformance {
    /// `pkdConformanceCode`.
    pub code: Option<String>,
    /// `pkdConformanceText`.
    pub text: Option<String>,
}

/// The outcome of [`validate_dsc`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct PathResult {
    /// Overall status of the path (without revocation).
    pub status: PathStatus,
    /// One-line reason when not valid.
    pub reason: Option<String>,
    /// The DSC.
    pub dsc: Option<CertRef>,
    /// Issuer certificates from the one that signed the DSC up to the trust anchor.
    pub chain: Vec<CertRef>,
    /// The certificate whose key signed the DSC (a CSCA or a link certificate).
    pub csca: Option<CertRef>,
    /// Checks in order.
    pub checks: Vec<PathCheck>,
    /// Named findings.
    pub findings: Vec<Finding>,
    /// Revocation status.
    pub revocation: Revocation,
    /// The DSC comes from the ICAO PKD's non-conformant collection: its conformance
    /// code and text (never hidden: also a `dsc.non_conformant` finding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_conformant: Option<NonConformance>,
}

impl PathResult {
    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&PathCheck> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// True when a finding with this code is present.
    pub fn has_finding(&self, code: &str) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    fn push(&mut self, id: &'static str, status: CheckStatus, detail: String) {
        self.checks.push(PathCheck { id, status, detail });
    }

    fn find(&mut self, code: &'static str, severity: Severity, message: String, cert: Option<&Certificate>) {
        self.findings.push(Finding {
            code,
            severity,
            message,
            certificate: cert.map(Certificate::fingerprint),
        });
    }
}

/// Errors that prevent validation from running at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The store failed.
    #[error("trust store")]
    Store(#[from] StoreError),
}

/// One step of a built path.
struct Built {
    /// From the DSC's issuer up to the anchor.
    chain: Vec<StoredCert>,
}

enum Search {
    Found(Built),
    /// Trusted candidates existed and none verified the DSC.
    Failed {
        signature_failures: Vec<String>,
    },
    /// Only untrusted certificates name the DSC's issuer: why each is untrusted.
    Untrusted(Vec<String>),
    /// No candidate issuer at all.
    NoCandidates,
}

/// Most trusted CA certificates whose key is tried on one DSC (same name or key id).
pub const MAX_CANDIDATES: usize = 32;

/// Find the trusted CA certificate whose key verifies the DSC, then its chain up to
/// the anchor by the `verified_by` links the store recorded when each certificate
/// earned trust. Only trusted certificates are candidates, so the signature checks
/// are bounded by [`MAX_CANDIDATES`] whatever untrusted certificates the store holds,
/// and the chain above the first CA costs no signature check at all.
fn search(store: &TrustStore, dsc: &Certificate) -> Result<Search, PathError> {
    let candidates = store.trusted_issuer_candidates(&dsc.issuer, dsc.aki.as_deref())?;
    if candidates.is_empty() {
        let untrusted = store.issuer_candidates(&dsc.issuer, dsc.aki.as_deref())?;
        if untrusted.is_empty() {
            return Ok(Search::NoCandidates);
        }
        let mut why = Vec::new();
        for u in untrusted.iter().take(MAX_CANDIDATES) {
            let lists = store.unanchored_lists_holding(&u.cert.sha256)?;
            why.push(if let Some(l) = lists.first() {
                format!(
                    "{} comes from master list {} that is NOT anchored (no trusted CSCA certifies its signer)",
                    u.cert.subject.display(),
                    l.get(..16).unwrap_or(l)
                )
            } else if u.role == Role::Link {
                format!(
                    "{} is a link certificate that does not verify under any trusted CSCA",
                    u.cert.subject.display()
                )
            } else {
                format!("{} is not a trust anchor", u.cert.subject.display())
            });
        }
        return Ok(Search::Untrusted(why));
    }
    let mut signature_failures = Vec::new();
    // the key the DSC names first (a DSC whose authority key id matches no key is
    // still tried under the others of that name: real ones exist, see dsc.aki_mismatch)
    let mut candidates = candidates;
    candidates.sort_by_key(|c| c.cert.ski.is_none() || c.cert.ski != dsc.aki);
    for cand in candidates.into_iter().take(MAX_CANDIDATES) {
        if !cand.role.is_ca() {
            continue;
        }
        let key = match cand.cert.public_key() {
            Ok(k) => k,
            Err(e) => {
                signature_failures.push(format!("{}: unusable key: {e}", cand.cert.subject.display()));
                continue;
            }
        };
        if let Err(e) = dsc.verify_signature(&key) {
            signature_failures.push(format!(
                "{}: {}",
                cand.cert.subject.display(),
                crate::error::text(&e)
            ));
            continue;
        }
        let mut chain = vec![cand];
        while chain.len() < MAX_DEPTH {
            let Some(next) = chain.last().and_then(|c| c.verified_by) else {
                break;
            };
            if chain.iter().any(|c| c.cert.sha256 == next) {
                break;
            }
            match store.certificate(&next)? {
                Some(n) if n.trusted && n.role.is_ca() => chain.push(n),
                _ => break,
            }
        }
        return Ok(Search::Found(Built { chain }));
    }
    Ok(Search::Failed { signature_failures })
}

/// Validate a DSC against the store for a document issued by `document_country`
/// (alpha-3 as in the MRZ, or alpha-2), at time `at`. The caller parsed the DSC (the
/// one parse the signature check used too).
pub fn validate_dsc(
    store: &TrustStore,
    dsc: &Certificate,
    document_country: &str,
    at: OffsetDateTime,
) -> Result<PathResult, PathError> {
    let mut r = PathResult {
        status: PathStatus::Invalid,
        reason: None,
        dsc: None,
        chain: Vec::new(),
        csca: None,
        checks: Vec::new(),
        findings: Vec::new(),
        revocation: Revocation::Indeterminate {
            reason: "not checked".into(),
            unavailable: None,
        },
        non_conformant: None,
    };
    r.dsc = Some(CertRef::of(dsc, Some(Role::Dsc)));
    // what the store knows of this very certificate (a PKD entry's collection)
    if let Some((role, non_conformant, code, text)) = stored_record(store, &dsc.sha256)? {
        if role == Role::Bcsc {
            let msg = format!(
                "{} is a bar-code signer certificate (ICAO PKD o=bcsc): it signs visible digital seals and never an eMRTD",
                dsc.subject.display()
            );
            r.find("dsc.barcode_signer", Severity::Failure, msg.clone(), Some(dsc));
            return Ok(chain_stops(r, PathStatus::Invalid, CheckStatus::Fail, msg));
        }
        if non_conformant {
            r.find(
                "dsc.non_conformant",
                Severity::Warning,
                format!(
                    "the DSC comes from the ICAO PKD's non-conformant collection (dc=nc-data): {}{}",
                    code.as_deref().unwrap_or("no conformance code"),
                    text.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
                ),
                Some(dsc),
            );
            r.non_conformant = Some(NonConformance { code, text });
        }
    }
    dsc_profile(&mut r, dsc);

    // 1. the chain
    let built = match search(store, dsc)? {
        Search::Found(b) => b,
        Search::NoCandidates => {
            let msg = format!(
                "no CSCA for issuer {} (authority key id {}) in the trust store",
                dsc.issuer.display(),
                dsc.aki
                    .as_deref()
                    .map(hex::encode)
                    .unwrap_or_else(|| "absent".into())
            );
            return Ok(chain_stops(
                r,
                PathStatus::Indeterminate,
                CheckStatus::Indeterminate,
                msg,
            ));
        }
        Search::Untrusted(why) => {
            let msg = format!(
                "the DSC's issuer certificate is in the store but is not trusted: {}",
                why.join("; ")
            );
            return Ok(chain_stops(
                r,
                PathStatus::Indeterminate,
                CheckStatus::Indeterminate,
                msg,
            ));
        }
        Search::Failed { signature_failures } => {
            let msg = format!(
                "DSC signature does not verify under any CSCA for its issuer: {}",
                signature_failures.join("; ")
            );
            return Ok(chain_stops(r, PathStatus::Invalid, CheckStatus::Fail, msg));
        }
    };
    let signer = &built.chain.first().map(|s| s.cert.clone());
    let Some(csca) = signer.as_ref() else {
        return Ok(r);
    };
    r.chain = built
        .chain
        .iter()
        .map(|s| CertRef::of(&s.cert, Some(s.role)))
        .collect();
    r.csca = r.chain.first().cloned();
    let via_link = built.chain.iter().any(|s| s.role == Role::Link);
    r.push(
        "chain",
        CheckStatus::Pass,
        format!(
            "DSC signed by {}{}",
            csca.subject.display(),
            if via_link {
                " (via a CSCA link certificate)"
            } else {
                ""
            }
        ),
    );
    if !csca.subject.raw.eq(&dsc.issuer.raw) && csca.subject.matches(&dsc.issuer) {
        r.find(
            "name.normalised_match",
            Severity::Info,
            "DSC issuer and CSCA subject match only after normalisation (order, case or string type differ)"
                .into(),
            Some(dsc),
        );
    }
    match (&dsc.aki, &csca.ski) {
        (Some(a), Some(s)) if a != s => r.find(
            "dsc.aki_mismatch",
            Severity::Warning,
            "DSC authority key identifier differs from the CSCA's subject key identifier".into(),
            Some(dsc),
        ),
        _ => {}
    }
    for s in &built.chain {
        ca_profile(&mut r, s);
    }
    path_len(&mut r, &built.chain);
    if let Some(last) = built.chain.last() {
        let anchor = last.anchor.unwrap_or(last.cert.sha256);
        r.find(
            "chain.anchor",
            Severity::Info,
            format!(
                "trusted {}; anchor SHA-256 {}",
                match last.trust {
                    Some(TrustKind::MasterList) => "through an anchored master list",
                    Some(TrustKind::Link) => "through a verified link certificate",
                    Some(TrustKind::Anchor) => "as an anchor named with --anchor",
                    Some(TrustKind::Unsigned) => "from a list imported with --trust-unsigned",
                    _ => "as a directly imported CSCA",
                },
                hex::encode(anchor)
            ),
            None,
        );
    }
    rfc5280(&mut r, store, dsc, &built.chain)?;

    // 2. validity
    let mut failed = false;
    for (check, what, cert) in [("dsc_validity", "DSC", dsc), ("csca_validity", "CSCA", csca)] {
        let ok = cert.is_valid_at(at);
        failed |= !ok;
        let status = if ok { CheckStatus::Pass } else { CheckStatus::Fail };
        r.push(check, status, validity_text(what, cert, at, ok));
    }
    for s in built.chain.iter().skip(1) {
        if !s.cert.is_valid_at(at) {
            r.find(
                "chain.anchor_expired",
                Severity::Info,
                format!("{} is not valid at the validation time", s.cert.subject.display()),
                Some(&s.cert),
            );
        }
    }
    if dsc.not_before < csca.not_before || dsc.not_after > csca.not_after {
        r.find(
            "dsc.validity_outside_csca",
            Severity::Warning,
            "the DSC's validity period is not contained in the CSCA's".into(),
            Some(dsc),
        );
    }

    // 3. country
    let csca_country = csca.subject.country().unwrap_or_default();
    let anchor_country = built
        .chain
        .last()
        .and_then(|s| s.cert.subject.country())
        .unwrap_or_default();
    let bound = country::to_alpha2(document_country);
    if bound.is_none() {
        failed = true;
        let msg = format!(
            "the document's issuing state code {document_country:?} binds to no country (not a Doc 9303 Part 3 state code, or a stateless/refugee code): no CSCA can vouch for it"
        );
        r.find("document.issuer_unknown", Severity::Failure, msg.clone(), None);
        r.push("country", CheckStatus::Fail, msg);
    } else if country::same_country(&csca_country, document_country) && anchor_country == csca_country {
        r.push(
            "country",
            CheckStatus::Pass,
            format!("CSCA country {csca_country} matches the document issuer {document_country}"),
        );
    } else {
        failed = true;
        let msg = format!(
            "CSCA country {} does not match the document issuer {} ({})",
            if csca_country.is_empty() {
                "(none)"
            } else {
                &csca_country
            },
            document_country,
            bound.unwrap_or("no country")
        );
        r.find(
            "csca.country_mismatch",
            Severity::Failure,
            msg.clone(),
            Some(csca),
        );
        r.push("country", CheckStatus::Fail, msg);
    }
    if dsc.subject.country().is_some_and(|c| c != csca_country) {
        r.find(
            "dsc.subject_country_mismatch",
            Severity::Warning,
            "the DSC subject's country differs from the CSCA's".into(),
            Some(dsc),
        );
    }

    // 4. key usage and other security-relevant findings
    let failures: Vec<String> = r
        .findings
        .iter()
        .filter(|f| {
            f.severity == Severity::Failure
                && f.code != "csca.country_mismatch"
                && f.code != "document.issuer_unknown"
        })
        .map(|f| f.message.clone())
        .collect();
    if failures.is_empty() {
        r.push(
            "key_usage",
            CheckStatus::Pass,
            "key usage and constraints as Doc 9303 Part 12 requires".into(),
        );
    } else {
        failed = true;
        r.push("key_usage", CheckStatus::Fail, failures.join("; "));
    }

    // 5. deviation lists
    for d in store.deviations_for(dsc)? {
        r.find(
            "deviation_list",
            Severity::Warning,
            format!(
                "deviation list{} names this DSC: {} {}",
                d.country.map(|c| format!(" of {c}")).unwrap_or_default(),
                d.deviation_type,
                d.description.unwrap_or_default()
            ),
            Some(dsc),
        );
    }

    // 6. revocation
    r.revocation = check_revocation(store, dsc, at)?;
    let (st, detail) = match &r.revocation {
        Revocation::Good { next_update, .. } => (
            CheckStatus::Pass,
            format!(
                "not on the current CRL (next update {})",
                super::format_time(*next_update)
            ),
        ),
        Revocation::Revoked { date, reason, .. } => (
            CheckStatus::Fail,
            format!(
                "revoked on {}{}",
                super::format_time(*date),
                reason.map(|x| format!(" ({x})")).unwrap_or_default()
            ),
        ),
        Revocation::Indeterminate { reason, .. } => (CheckStatus::Indeterminate, reason.clone()),
    };
    r.push("revocation", st, detail);

    r.status = if failed {
        PathStatus::Invalid
    } else {
        PathStatus::Valid
    };
    if failed {
        r.reason = r
            .checks
            .iter()
            .find(|c| c.status == CheckStatus::Fail)
            .map(|c| c.detail.clone());
    }
    Ok(r)
}

/// RFC 5280 §4.2.1.9 pathLenConstraint: a CA certificate in the path (the anchor
/// excepted, RFC 5280 §6.1) may have at most that many non-self-issued intermediate
/// CA certificates below it. A link certificate with pathLenConstraint 0 may sign DSCs
/// but no further CA certificate.
fn path_len(r: &mut PathResult, chain: &[StoredCert]) {
    let n = chain.len();
    for (i, s) in chain.iter().enumerate() {
        if i + 1 == n {
            break;
        }
        let Some(limit) = s.cert.basic_constraints.and_then(|b| b.path_len) else {
            continue;
        };
        let below = chain.iter().take(i).filter(|c| !c.cert.is_self_issued()).count() as u64;
        if below > limit {
            r.find(
                "chain.path_len_exceeded",
                Severity::Failure,
                format!(
                    "{} allows {limit} intermediate CA certificate(s) below it (pathLenConstraint); the path has {below}",
                    s.cert.subject.display()
                ),
                Some(&s.cert),
            );
        }
    }
}

/// The RFC 5280 rules that guard trust (inner/outer signature algorithm, unknown
/// critical extensions, malformed KeyUsage/BasicConstraints): a DSC that breaks one
/// fails unless a deviation list names it; a CA certificate that breaks one fails.
fn rfc5280(
    r: &mut PathResult,
    store: &TrustStore,
    dsc: &Certificate,
    chain: &[StoredCert],
) -> Result<(), PathError> {
    let v = dsc.rfc5280_violations();
    if !v.is_empty() {
        let covered = !store.deviations_for(dsc)?.is_empty();
        let text = v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        if covered {
            r.find(
                "dsc.rfc5280_deviation",
                Severity::Warning,
                format!("DSC breaks RFC 5280 ({text}); a deviation list names this DSC"),
                Some(dsc),
            );
        } else {
            r.find(
                "dsc.rfc5280",
                Severity::Failure,
                format!("DSC breaks RFC 5280: {text}"),
                Some(dsc),
            );
        }
    }
    if dsc.key_usage.is_some_and(|k| k.has(KeyUsage::KEY_CERT_SIGN)) {
        r.find(
            "dsc.key_cert_sign",
            Severity::Warning,
            "DSC key usage includes keyCertSign: it never acts as a CA (nothing chains through it)".into(),
            Some(dsc),
        );
    }
    for s in chain {
        let v = s.cert.rfc5280_violations();
        if !v.is_empty() {
            let text = v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            r.find(
                "ca.rfc5280",
                Severity::Failure,
                format!("{} breaks RFC 5280: {text}", s.cert.subject.display()),
                Some(&s.cert),
            );
        }
    }
    Ok(())
}

/// The store's row of a certificate (withdrawn ones included: a bar-code signer stays
/// one): role, non-conformant, conformance code and text.
type StoredRecord = (Role, bool, Option<String>, Option<String>);

fn stored_record(store: &TrustStore, sha256: &[u8; 32]) -> Result<Option<StoredRecord>, PathError> {
    use rusqlite::OptionalExtension;
    let row = store
        .connection()
        .prepare_cached(
            "SELECT role, non_conformant, conformance_code, conformance_text FROM certificates WHERE sha256 = ?1",
        )
        .and_then(|mut st| {
            st.query_row([sha256.as_slice()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()
        })
        .map_err(StoreError::from)?;
    Ok(row.map(|(role, nc, code, text)| (Role::parse(&role), nc, code, text)))
}

/// No certification path: the result is `status`, the chain check says `msg` with
/// `check`, and the later checks are skipped.
fn chain_stops(mut r: PathResult, status: PathStatus, check: CheckStatus, msg: String) -> PathResult {
    r.status = status;
    r.push("chain", check, msg.clone());
    r.reason = Some(msg);
    skip_rest(&mut r);
    r
}

fn skip_rest(r: &mut PathResult) {
    for id in ["dsc_validity", "csca_validity", "country", "key_usage"] {
        r.push(id, CheckStatus::Skip, "no certification path".into());
    }
    r.revocation = Revocation::Indeterminate {
        reason: "no certification path".into(),
        unavailable: None,
    };
    r.push("revocation", CheckStatus::Skip, "no certification path".into());
}

fn validity_text(what: &str, c: &Certificate, at: OffsetDateTime, ok: bool) -> String {
    format!(
        "{what} {} {} (valid {} .. {})",
        if ok { "valid on" } else { "NOT valid on" },
        super::format_time(at),
        super::format_time(c.not_before),
        super::format_time(c.not_after)
    )
}

/// Doc 9303 Part 12 §7.1.1 DSC profile: KeyUsage digitalSignature (critical), no CA,
/// AKI present, version 3.
fn dsc_profile(r: &mut PathResult, dsc: &Certificate) {
    match dsc.key_usage {
        None => r.find(
            "dsc.key_usage_missing",
            Severity::Warning,
            "DSC has no key usage extension".into(),
            Some(dsc),
        ),
        Some(ku) => {
            if !ku.has(KeyUsage::DIGITAL_SIGNATURE) {
                r.find(
                    "dsc.key_usage_wrong",
                    Severity::Failure,
                    "DSC key usage does not include digitalSignature".into(),
                    Some(dsc),
                );
            }
            if !ku.critical {
                r.find(
                    "dsc.key_usage_not_critical",
                    Severity::Warning,
                    "DSC key usage extension is not critical".into(),
                    Some(dsc),
                );
            }
        }
    }
    if dsc.is_ca() {
        r.find(
            "dsc.is_ca",
            Severity::Warning,
            "DSC has basicConstraints cA = TRUE: it never acts as a CA (nothing chains through it)".into(),
            Some(dsc),
        );
    }
    if dsc.aki.is_none() {
        r.find(
            "dsc.aki_missing",
            Severity::Warning,
            "DSC has no authority key identifier".into(),
            Some(dsc),
        );
    }
    if dsc.version != 2 {
        r.find(
            "dsc.not_v3",
            Severity::Warning,
            format!("DSC is an X.509 v{} certificate", dsc.version + 1),
            Some(dsc),
        );
    }
    if dsc.key_info().is_ok_and(|k| k.explicit_params()) {
        r.find(
            "key.explicit_parameters",
            Severity::Info,
            "DSC key uses explicit EC domain parameters".into(),
            Some(dsc),
        );
    }
    for q in &dsc.quirks {
        r.find(
            "dsc.encoding_quirk",
            Severity::Info,
            format!("DSC encoding deviation: {q:?}"),
            Some(dsc),
        );
    }
}

/// Doc 9303 Part 12 §7.1.1 CSCA/link profile: basicConstraints cA (critical),
/// KeyUsage keyCertSign + cRLSign (critical), SKI present.
fn ca_profile(r: &mut PathResult, s: &StoredCert) {
    let c = &s.cert;
    let who = if s.role == Role::Link {
        "link certificate"
    } else {
        "CSCA"
    };
    // the finding code of a link certificate, or of a CSCA
    let code = |link: &'static str, csca: &'static str| if s.role == Role::Link { link } else { csca };
    match c.basic_constraints {
        None => r.find(
            code("link.basic_constraints_missing", "csca.basic_constraints_missing"),
            Severity::Warning,
            format!("{who} has no basic constraints extension"),
            Some(c),
        ),
        Some(bc) if !bc.ca => r.find(
            code("link.not_ca", "csca.not_ca"),
            Severity::Failure,
            format!("{who} has basicConstraints cA = FALSE"),
            Some(c),
        ),
        Some(_) => {}
    }
    match c.key_usage {
        None => r.find(
            code("link.key_usage_missing", "csca.key_usage_missing"),
            Severity::Warning,
            format!("{who} has no key usage extension"),
            Some(c),
        ),
        Some(ku) if !ku.has(KeyUsage::KEY_CERT_SIGN) => r.find(
            code("link.key_usage_no_cert_sign", "csca.key_usage_no_cert_sign"),
            Severity::Failure,
            format!("{who} key usage does not include keyCertSign"),
            Some(c),
        ),
        Some(ku) if !ku.has(KeyUsage::CRL_SIGN) => r.find(
            code("link.key_usage_no_crl_sign", "csca.key_usage_no_crl_sign"),
            Severity::Warning,
            format!("{who} key usage does not include cRLSign"),
            Some(c),
        ),
        Some(_) => {}
    }
    if c.ski.is_none() {
        r.find(
            code("link.ski_missing", "csca.ski_missing"),
            Severity::Warning,
            format!("{who} has no subject key identifier"),
            Some(c),
        );
    }
    if s.role == Role::Link {
        r.find(
            "chain.link_certificate",
            Severity::Info,
            format!("path uses the link certificate {}", c.subject.display()),
            Some(c),
        );
    }
}

/// The newest verified CRLs per trusted issuer certificate that revocation reads (ICAO
/// CRLs are complete: the newest one issued before the validation time decides).
pub const MAX_CRLS_PER_ISSUER: usize = 4;

/// Revocation of `dsc` by the CRLs in the store (RFC 5280 §6.3 simplified to the
/// ICAO case: one CRL per CSCA, signed by it). Only CRLs that verified under a trusted
/// CA certificate of the DSC's issuer count (verified once, when imported or when that
/// CA arrived: nothing is parsed or checked here that did not verify); only a current
/// one (thisUpdate ≤ at ≤ nextUpdate) that a source still holds can say "good". A
/// withdrawn one (its directory entry deleted, or replaced by an older CRL) still
/// revokes: a verified revocation is never taken back by reading less.
pub fn check_revocation(
    store: &TrustStore,
    dsc: &Certificate,
    at: OffsetDateTime,
) -> Result<Revocation, PathError> {
    let issuers = store.trusted_issuer_candidates(&dsc.issuer, dsc.aki.as_deref())?;
    let shas: Vec<&[u8; 32]> = issuers
        .iter()
        .map(|i| &i.cert.sha256)
        .take(MAX_CANDIDATES)
        .collect();
    let crls = store.verified_crls(&shas, at, MAX_CRLS_PER_ISSUER)?;
    // a revocation entry on any verified CRL issued before `at` counts, current or
    // not, withdrawn or not
    for c in crls.iter().map(|c| &c.crl) {
        if c.this_update <= at
            && let Some(e) = c.find(&dsc.serial)
            && e.date <= at
        {
            return Ok(Revocation::Revoked {
                crl: c.fingerprint(),
                date: e.date,
                reason: e.reason.map(crl::reason_name),
            });
        }
    }
    let verified: Vec<&Crl> = crls.iter().filter(|c| !c.withdrawn).map(|c| &c.crl).collect();
    if verified.is_empty() {
        return Ok(Revocation::Indeterminate {
            reason: format!(
                "no CRL for {} in the trust store that verified under a trusted CSCA (missing)",
                dsc.issuer.display()
            ),
            unavailable: Some(CrlUnavailable {
                kind: "missing",
                crl: None,
                issuer: dsc.issuer.display(),
                since: None,
            }),
        });
    }
    if let Some(c) = verified
        .iter()
        .filter(|c| c.is_current_at(at))
        .max_by_key(|c| c.this_update)
    {
        return Ok(Revocation::Good {
            crl: c.fingerprint(),
            next_update: c.next_update.unwrap_or(c.this_update),
        });
    }
    let newest = verified.iter().max_by_key(|c| c.this_update);
    let issuer = dsc.issuer.display();
    let fp = newest.map(|c| c.fingerprint());
    let short = fp.as_deref().map(|f| f.get(..16).unwrap_or(f)).unwrap_or("");
    let next = newest.and_then(|c| c.next_update);
    let reason = match next {
        Some(n) if n < at => format!(
            "the newest CRL of {issuer} ({short}…) expired: stale since {} (its nextUpdate); revocation cannot be checked",
            super::format_time(n)
        ),
        Some(_) => format!("no CRL of {issuer} issued before the validation time (stale)"),
        None => format!("the CRL of {issuer} ({short}…) has no nextUpdate (stale)"),
    };
    Ok(Revocation::Indeterminate {
        reason,
        unavailable: Some(CrlUnavailable {
            kind: "stale",
            crl: fp,
            issuer,
            since: next.filter(|n| *n < at),
        }),
    })
}

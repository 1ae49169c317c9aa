//! Passive Authentication (Doc 9303 Part 11 §5.1; Part 12 for the certificate path):
//! the EF.SOD signature with the algorithm its SignerInfo names, over the original
//! bytes; the DSC → CSCA path in the trust store (link certificates, validity, key
//! usage, country bound to the document issuer, CRL); each data group's hash over the
//! bytes as read; EF.COM against EF.SOD; EF.CardSecurity's signature and path.

use std::borrow::Cow;

use serde_json::json;
use time::OffsetDateTime;

use super::report::{Check, Status};
use crate::cms::SignedData;
use crate::lds::LdsFile;
use crate::lds::dg14::Dg14;
use crate::lds::security_infos::SecurityInfos;
use crate::pki::cert::Certificate;
use crate::pki::path::{CheckStatus, PathResult, PathStatus, Revocation};
use crate::pki::store::TrustStore;
use crate::reader::Dump;

const REF_PA: &str = "Doc 9303 Part 11 §5.1";
const REF_PKI: &str = "Doc 9303 Part 12 §5";

/// What Passive Authentication found.
#[derive(Debug, Clone, Default)]
pub struct PaOutcome {
    /// The checks, in report order.
    pub checks: Vec<Check>,
    /// Data groups whose hash matched a signature-verified EF.SOD.
    pub verified_dgs: Vec<u8>,
    /// The data groups EF.SOD lists (from the decoded LDSSecurityObject, whether or not
    /// its signature verified: what the document must hold is never taken from what
    /// the chip chose to deliver).
    pub listed_dgs: Vec<u8>,
    /// EF.SOD's signature verified.
    pub sod_signature_ok: bool,
    /// EF.CardSecurity's signature and path verified.
    pub card_security_verified: bool,
    /// Chip Authentication is required: the signed DG14 or EF.CardSecurity holds a CA key
    /// (or DG14 is listed but could not be examined), or the chip ran PACE-CAM.
    pub ca_supported: bool,
    /// Why Chip Authentication is required (for the reports), when it is.
    pub ca_required_by: Option<String>,
    /// DG14 is present but does not decode as SecurityInfos.
    pub dg14_error: Option<String>,
    /// DG14 decoded (whether or not its hash verified: see [`PaOutcome::dg_verified`]).
    pub dg14: Option<SecurityInfos>,
}

impl PaOutcome {
    /// True when data group `n` is covered by a verified EF.SOD.
    pub fn dg_verified(&self, n: u8) -> bool {
        self.sod_signature_ok && self.verified_dgs.contains(&n)
    }

    /// True when EF.SOD lists data group `n`.
    pub fn listed(&self, n: u8) -> bool {
        self.listed_dgs.contains(&n)
    }
}

/// Signature of one SignedData, with its signer's certificate (embedded, or from the
/// store by issuer and serial), parsed once for the signature and the path.
struct SignatureResult<'a> {
    check: Check,
    signer_cert: Option<Cow<'a, Certificate>>,
    ok: bool,
}

fn verify_signed_data<'a>(
    id: &str,
    what: &str,
    sd: &'a SignedData,
    store: Option<&TrustStore>,
    path_rank: &dyn Fn(&Certificate) -> PathRank,
) -> SignatureResult<'a> {
    let fail = |reason: String| SignatureResult {
        check: Check::fail(id, reason).reference(REF_PA),
        signer_cert: None,
        ok: false,
    };
    let signer = match sd.signer_infos.as_slice() {
        [one] => one,
        [] => return fail(format!("{what} has no SignerInfo")),
        many => {
            return fail(format!(
                "{what} has {} SignerInfos; Doc 9303 allows exactly one",
                many.len()
            ));
        }
    };
    let mut cert = sd.signer_certificate(signer);
    if cert.is_none() && !sd.certificates.is_empty() {
        // the document embeds certificates but none is its signer's: a corrupt or
        // substituted certificate, never silently replaced by the store's copy
        return fail(format!(
            "{what} embeds {} certificate(s), but none is the one its SignerInfo names: the embedded \
             signer certificate is corrupt or was substituted",
            sd.certificates.len()
        ));
    }
    let mut from_store = false;
    let mut candidates = 0;
    // not embedded: the store's copy, named by issuer and serial or by SKI
    if cert.is_none()
        && let Some(store) = store
    {
        let found = store_signer(sd, signer, store, path_rank);
        candidates = found.candidates;
        if let Some(c) = found.cert {
            cert = Some(Cow::Owned(c));
            from_store = true;
        }
    }
    let Some(cert) = cert else {
        // no key to check the signature with; what needs no key is still checked, so a
        // DG hash rewritten in EF.SOD shows up as a failure, not as "cannot check"
        if let Err(why) = content_binding(sd, signer) {
            return fail(format!(
                "{what}'s signed attributes do not match its content: {why} (its signer certificate is \
                 neither embedded nor in the trust store)"
            ));
        }
        return SignatureResult {
            check: Check::indeterminate(
                id,
                format!("{what}'s signer certificate is neither embedded nor in the trust store"),
            )
            .reference(REF_PA),
            signer_cert: None,
            ok: false,
        };
    };
    let alg = signer
        .signature_algorithm()
        .map(|(a, _)| format!("{a:?}"))
        .unwrap_or_else(|e| crate::error::text(&e));
    let evidence = json!({
        "signature_algorithm": alg,
        "digest_algorithm": signer.digest_hash().map(|h| format!("{h:?}")).ok(),
        "signer_certificate": cert.fingerprint(),
        "signer_certificate_from_store": from_store,
        "signer_certificate_candidates": candidates,
        "quirks": sd.quirks.iter().map(|q| format!("{q:?}")).collect::<Vec<_>>(),
    });
    match crate::cms::verify_signer_with_certificate(sd, signer, &cert) {
        Ok(()) => SignatureResult {
            check: Check::pass(
                id,
                format!("{what} signature verifies with its signer certificate"),
            )
            .with_evidence(evidence)
            .reference(REF_PA),
            signer_cert: Some(cert),
            ok: true,
        },
        Err(e) => SignatureResult {
            check: Check::fail(
                id,
                format!("{what} signature does not verify: {}", crate::error::text(&e)),
            )
            .with_evidence(evidence)
            .reference(REF_PA),
            signer_cert: Some(cert),
            ok: false,
        },
    }
}

/// How far a certificate's path holds, for choosing among stored signer candidates:
/// every path check passed, none failed (something could not be decided), one failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PathRank {
    /// A path check failed.
    Fails,
    /// Nothing failed, something could not be decided (a missing CRL).
    Undecided,
    /// Every path check passed.
    Holds,
}

impl PathRank {
    fn of(checks: &[Check]) -> Self {
        if checks.iter().all(|c| c.status == Status::Pass) {
            PathRank::Holds
        } else if checks.iter().any(|c| c.status == Status::Fail) {
            PathRank::Fails
        } else {
            PathRank::Undecided
        }
    }
}

/// The signer certificate chosen from the trust store ([`store_signer`]).
pub(crate) struct StoreSigner {
    /// The one chosen, when any certificate matched.
    pub cert: Option<Certificate>,
    /// How many matched.
    pub candidates: usize,
}

/// The trust store's certificate for a SignerInfo whose SignedData does not embed it.
/// Several stored certificates may match its issuer and serial or SKI
/// ([`TrustStore::signer_certificates`]; bar-code and list signers never do): the one
/// taken is the first whose key verifies the signature and whose path ranks best
/// (`path_rank`), so a decoy stored first cannot make a genuine document fail, and
/// signature and path always come from the same certificate. When no key verifies,
/// the first match (its failure is then the report's).
pub(crate) fn store_signer(
    sd: &SignedData,
    signer: &crate::cms::SignerInfo,
    store: &TrustStore,
    path_rank: &dyn Fn(&Certificate) -> PathRank,
) -> StoreSigner {
    let found = store.signer_certificates(&signer.sid).unwrap_or_default();
    let candidates = found.len();
    let mut first = None;
    let mut best: Option<(PathRank, Certificate)> = None;
    for c in found {
        if crate::cms::verify_signer_with_certificate(sd, signer, &c.cert).is_err() {
            first.get_or_insert(c.cert);
            continue;
        }
        let rank = path_rank(&c.cert);
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, c.cert));
        }
        if rank == PathRank::Holds {
            break;
        }
    }
    StoreSigner {
        cert: best.map(|(_, c)| c).or(first),
        candidates,
    }
}

/// The checks of a SignerInfo that need no key (RFC 5652 §5.4, Doc 9303 Part 10 §4.6.2.2):
/// the mandatory signed attributes are there, messageDigest equals the digest of the
/// eContent, and contentType equals the eContentType ([`SignedData::check_message_digest`];
/// `verify_signer_with_certificate` runs the same check first when there is a key).
fn content_binding(sd: &SignedData, signer: &crate::cms::SignerInfo) -> Result<(), String> {
    sd.check_message_digest(signer)
        .map_err(|e| crate::error::text(&e))
}

fn map_status(s: CheckStatus) -> Status {
    match s {
        CheckStatus::Pass => Status::Pass,
        CheckStatus::Fail => Status::Fail,
        CheckStatus::Indeterminate => Status::Indeterminate,
        CheckStatus::Skip => Status::Indeterminate,
    }
}

/// Evidence key of a `pa.crl` (or `pa.card_security`) check that is indeterminate only
/// because no current CRL vouches for the DSC: the CRL is missing or stale. Set only
/// here, from the path's own revocation result; [`crate::verify::policy`] relaxes
/// nothing else.
pub const CRL_UNAVAILABLE: &str = "crl_unavailable";

/// Turn a path result into the `pa.dsc_chain`, `pa.dsc_validity`, `pa.csca_validity`
/// and `pa.crl` checks (prefixed with `prefix` for EF.CardSecurity).
fn path_checks(prefix: &str, path: &PathResult) -> Vec<Check> {
    let id = |s: &str| format!("{prefix}{s}");
    let evidence = serde_json::to_value(path).unwrap_or_default();
    let mut out = Vec::new();
    // chain: the signature chain plus the checks that make a chain unacceptable
    let chain_parts = ["chain", "country", "key_usage"];
    let failed: Vec<String> = path
        .checks
        .iter()
        .filter(|c| chain_parts.contains(&c.id) && c.status == CheckStatus::Fail)
        .map(|c| format!("{}: {}", c.id, c.detail))
        .collect();
    let chain = if !failed.is_empty() {
        Check::fail(id("dsc_chain"), failed.join("; "))
    } else if path.status == PathStatus::Indeterminate {
        Check::indeterminate(
            id("dsc_chain"),
            path.reason
                .clone()
                .unwrap_or_else(|| "no trusted CSCA for the issuer in the trust store".into()),
        )
    } else {
        match path.check("chain") {
            Some(c) if c.status == CheckStatus::Pass => {
                let csca = path.csca.as_ref().map(|c| c.subject.clone()).unwrap_or_default();
                let nc = path
                    .non_conformant
                    .as_ref()
                    .map(|n| {
                        format!(
                            "; the DSC is NON-CONFORMANT (ICAO PKD dc=nc-data): {}{}",
                            n.code.as_deref().unwrap_or("no conformance code"),
                            n.text.as_deref().map(|t| format!(", {t}")).unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                Check::pass(
                    id("dsc_chain"),
                    format!("DSC chains to the trusted CSCA {csca}{nc}"),
                )
            }
            Some(c) => Check::new(id("dsc_chain"), map_status(c.status), c.detail.clone()),
            None => Check::indeterminate(id("dsc_chain"), "the path was not evaluated"),
        }
    };
    out.push(chain.with_evidence(evidence).reference(REF_PKI));
    for (check_id, report_id, what) in [
        ("dsc_validity", "dsc_validity", "DSC"),
        ("csca_validity", "csca_validity", "CSCA"),
    ] {
        out.push(match path.check(check_id) {
            Some(c) => Check::new(id(report_id), map_status(c.status), c.detail.clone()),
            None => Check::indeterminate(id(report_id), format!("{what} validity could not be checked")),
        });
    }
    out.push(match &path.revocation {
        Revocation::Good { next_update, .. } => Check::pass(
            id("crl"),
            format!(
                "not revoked: a current CRL verified under the CSCA (next update {}) does not list the DSC",
                crate::pki::format_time(*next_update)
            ),
        ),
        Revocation::Revoked { date, reason, .. } => Check::fail(
            id("crl"),
            format!(
                "the DSC is REVOKED since {}{}",
                crate::pki::format_time(*date),
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
        ),
        Revocation::Indeterminate { reason, unavailable } => {
            let c = Check::indeterminate(id("crl"), format!("revocation could not be checked: {reason}"));
            match unavailable {
                // the one thing a verification policy may relax (docs/verify.md)
                Some(u) => c.with_evidence(json!({ CRL_UNAVAILABLE: u })),
                None => c,
            }
        }
    });
    out
}

fn no_store_checks(prefix: &str, reason: &str) -> Vec<Check> {
    ["dsc_chain", "dsc_validity", "csca_validity", "crl"]
        .iter()
        .map(|s| Check::indeterminate(format!("{prefix}{s}"), reason.to_string()))
        .collect()
}

fn validate(
    prefix: &str,
    store: Option<&TrustStore>,
    cert: Option<&Certificate>,
    issuer: Option<&str>,
    at: OffsetDateTime,
) -> Vec<Check> {
    let Some(store) = store else {
        return no_store_checks(prefix, "no trust store: import CSCAs with `emrtd pkd import`");
    };
    let Some(cert) = cert else {
        return no_store_checks(prefix, "no signer certificate to validate");
    };
    let Some(issuer) = issuer else {
        return no_store_checks(prefix, "the issuing state is unknown (DG1 missing or unreadable)");
    };
    match validate_dsc_cached(store, cert, issuer, at) {
        Ok(p) => path_checks(prefix, &p),
        Err(e) => {
            let mut v = no_store_checks(prefix, "");
            if let Some(first) = v.first_mut() {
                *first = Check::fail(
                    format!("{prefix}dsc_chain"),
                    format!(
                        "the signer certificate cannot be validated: {}",
                        crate::error::text(&e)
                    ),
                );
            }
            for c in v.iter_mut().skip(1) {
                c.reason = "not checked: the certificate path could not be built".into();
            }
            v
        }
    }
}

/// What a validated path depends on: the store file as it is now (path, sizes and
/// modification times of the database and its WAL, so an import in between is a new
/// key), the DSC, the issuing state and the time of the check.
type PathKey = (
    std::path::PathBuf,
    [Option<(u64, std::time::SystemTime)>; 2],
    [u8; 32],
    String,
    i128,
);

fn path_key(store: &TrustStore, dsc: &Certificate, issuer: &str, at: OffsetDateTime) -> Option<PathKey> {
    let db = store.path()?.to_path_buf();
    let stat = |p: &std::path::Path| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)))
    };
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    let files = [stat(&db), stat(std::path::Path::new(&wal))];
    files[0]?;
    Some((
        db,
        files,
        dsc.sha256,
        issuer.to_string(),
        at.unix_timestamp_nanos(),
    ))
}

/// [`crate::pki::path::validate_dsc`], remembered for the process: `emrtd verify --dump`
/// over many documents of one issuer validates each DSC → CSCA path (signatures, CRL)
/// once instead of per document. Failures to validate (errors) are not remembered.
fn validate_dsc_cached(
    store: &TrustStore,
    dsc: &Certificate,
    issuer: &str,
    at: OffsetDateTime,
) -> Result<PathResult, crate::pki::path::PathError> {
    type Cache = std::collections::HashMap<PathKey, PathResult>;
    static CACHE: std::sync::OnceLock<std::sync::Mutex<Cache>> = std::sync::OnceLock::new();
    let Some(key) = path_key(store, dsc, issuer, at) else {
        return crate::pki::path::validate_dsc(store, dsc, issuer, at);
    };
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let r = crate::pki::path::validate_dsc(store, dsc, issuer, at)?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 4096 {
            c.clear();
        }
        c.insert(key, r.clone());
    }
    Ok(r)
}

/// Run Passive Authentication over a dump. `live`: the files were just read from a chip
/// (a file EF.SOD lists that is not there was then refused or not delivered by the chip,
/// which fails); otherwise a dump (a missing file cannot be checked, which is never
/// VALID).
pub fn passive_authentication(
    dump: &Dump,
    store: Option<&TrustStore>,
    issuer: Option<&str>,
    at: OffsetDateTime,
    live: bool,
) -> PaOutcome {
    let mut out = PaOutcome::default();
    let sod_bytes = dump.files.get(&LdsFile::Sod);
    // one decoder: lds::sod reads the CMS layer with crate::cms and checks the
    // eContentType (id-data of Chinese passports is a reported quirk, not a failure)
    let sod = sod_bytes.map(|b| crate::lds::sod::Sod::decode(b));
    if let Some(Ok(sod)) = &sod {
        out.listed_dgs = sod.dg_numbers();
    }

    // the SOD signature
    let mut dsc: Option<Cow<'_, Certificate>> = None;
    let sod_ok = match &sod {
        None => {
            let why = match absent(dump, "EF.SOD") {
                Some(a) => format!("the chip refused EF.SOD ({} {})", a.sw, a.meaning),
                None if live => "the chip did not deliver EF.SOD".to_string(),
                None => "EF.SOD is not in the dump".to_string(),
            };
            out.checks.push(
                Check::fail("pa.sod_signature", format!("{why}: nothing is authenticated")).reference(REF_PA),
            );
            None
        }
        Some(Err(e)) => {
            out.checks.push(
                Check::fail(
                    "pa.sod_signature",
                    format!("EF.SOD does not decode: {}", crate::error::text(e)),
                )
                .reference(REF_PA),
            );
            None
        }
        Some(Ok(sod))
            if !matches!(
                sod.econtent_type().to_string().as_str(),
                crate::lds::sod::OID_LDS_SECURITY_OBJECT | crate::lds::sod::OID_DATA
            ) =>
        {
            // the decoder reads the nonstandard OIDs of early FR/BE and SDU documents (a
            // quirk), but only the ICAO one and Chinese id-data are accepted as signed
            out.checks.push(
                Check::fail(
                    "pa.sod_signature",
                    format!(
                        "EF.SOD's content type {} is not an LDS security object",
                        sod.econtent_type()
                    ),
                )
                .reference(REF_PA),
            );
            None
        }
        Some(Ok(sod)) => {
            let rank = |c: &Certificate| PathRank::of(&validate("pa.", store, Some(c), issuer, at));
            let r = verify_signed_data("pa.sod_signature", "EF.SOD", &sod.signed_data, store, &rank);
            out.checks.push(r.check);
            dsc = r.signer_cert;
            out.sod_signature_ok = r.ok;
            Some(sod)
        }
    };

    // the DSC path
    out.checks
        .extend(validate("pa.", store, dsc.as_deref(), issuer, at));

    // data group hashes
    if let Some(sod) = sod_ok {
        dg_hash_checks(dump, sod, live, &mut out);
        out.checks.push(com_consistency(dump, sod, live));
    } else {
        for f in dump.files.keys() {
            if let LdsFile::Dg(n) = f {
                out.checks.push(Check::indeterminate(
                    format!("pa.dg_hash.DG{n}"),
                    "no usable EF.SOD to compare with",
                ));
            }
        }
    }

    // DG14, decoded once for everything below and for the caller
    let dg14 = dump
        .files
        .get(&LdsFile::Dg(14))
        .map(|b| Dg14::decode(b).map(SecurityInfos::from));
    out.dg14 = dg14.as_ref().and_then(|r| r.as_ref().ok()).cloned();

    // EF.CardSecurity
    card_security(dump, store, issuer, at, live, &mut out);

    // Chip Authentication is required when signed data says the chip has a CA key; a
    // DG14 that EF.SOD lists but that is not there or does not decode cannot say it has
    // none, so it counts as saying it has one
    match &dg14 {
        Some(Ok(infos)) if has_ca_key(infos) => {
            out.require_ca("DG14 holds a Chip Authentication public key");
        }
        Some(Ok(infos)) if announces_ca(infos) => {
            // the key then lives in EF.CardSecurity: a chip that withholds that file
            // must not pass for one without Chip Authentication
            out.require_ca(
                "DG14 announces Chip Authentication (ChipAuthenticationInfo) without its key, which EF.CardSecurity must hold",
            );
        }
        Some(Ok(infos)) if infos.pace_infos().any(is_cam) => {
            out.require_ca("DG14 lists PACE with Chip Authentication Mapping");
        }
        Some(Ok(_)) => {}
        Some(Err(e)) => {
            out.dg14_error = Some(crate::error::text(e));
            out.require_ca(
                "DG14 is present but does not decode, so it cannot show that the chip has no CA key",
            );
        }
        None if out.listed(14) => {
            out.require_ca(
                "EF.SOD lists DG14, which was not available to show whether the chip has a CA key",
            );
        }
        None => {}
    }
    if dump.manifest.chip_authentication.is_some() {
        out.require_ca("the chip was read with PACE-CAM");
    }
    out
}

impl PaOutcome {
    fn require_ca(&mut self, why: &str) {
        self.ca_supported = true;
        if self.ca_required_by.is_none() {
            self.ca_required_by = Some(why.to_string());
        }
    }
}

fn is_cam(p: &crate::lds::security_infos::PaceInfo) -> bool {
    crate::lds::security_infos::oid::PaceProtocol::from_oid(&p.protocol)
        .is_some_and(|pp| pp.mapping == crate::lds::security_infos::oid::PaceMapping::EcdhCam)
}

/// The infos announce Chip Authentication without holding its key: a
/// ChipAuthenticationInfo or ChipAuthenticationDomainParameterInfo (Doc 9303 Part 11
/// §9.2.5), whose key a chip publishes in EF.CardSecurity instead (BSI TR-03110-3 A.1.2).
fn announces_ca(infos: &crate::lds::security_infos::SecurityInfos) -> bool {
    use crate::lds::security_infos::SecurityInfo;
    infos.infos.iter().any(|i| {
        matches!(
            i,
            SecurityInfo::ChipAuthentication(_) | SecurityInfo::ChipAuthenticationDomainParameter(_)
        )
    })
}

fn has_ca_key(infos: &crate::lds::security_infos::SecurityInfos) -> bool {
    infos.infos.iter().any(|i| {
        matches!(
            i,
            crate::lds::security_infos::SecurityInfo::ChipAuthenticationPublicKey(_)
        )
    })
}

/// The manifest's record of a file the chip refused (or did not deliver).
fn absent<'d>(dump: &'d Dump, name: &str) -> Option<&'d crate::reader::AbsentRecord> {
    dump.manifest.absent.iter().find(|a| a.name == name)
}

/// "refused (6982 …)" for the reasons below.
fn refusal(a: &crate::reader::AbsentRecord) -> String {
    if a.sw.is_empty() {
        format!("the chip did not deliver it in full ({})", a.meaning)
    } else if a.meaning.is_empty() {
        format!("the chip answered {}", a.sw)
    } else {
        format!("the chip answered {} ({})", a.sw, a.meaning)
    }
}

/// The data-group hash checks. What the document holds is what the decoded EF.SOD lists:
/// * a listed group that is there is compared with its hash (a match only passes when
///   EF.SOD's signature verified);
/// * a listed group that is not there fails on a live chip (it refused, cut short or did
///   not deliver it), and in a dump fails when the manifest records the chip's refusal and
///   is indeterminate otherwise; DG3 and DG4 (biometrics behind Extended Access Control)
///   are only noted;
/// * a group that is there but not listed fails: Doc 9303 has EF.SOD hash every data
///   group present, so a genuine chip carries no unsigned one.
fn dg_hash_checks(dump: &Dump, sod: &crate::lds::sod::Sod, live: bool, out: &mut PaOutcome) {
    let alg = match sod.hash_algorithm() {
        Ok(a) => a,
        Err(e) => {
            out.checks.push(Check::fail(
                "pa.dg_hash",
                format!(
                    "EF.SOD names an unsupported hash algorithm: {}",
                    crate::error::text(&e)
                ),
            ));
            return;
        }
    };
    // a data group listed twice is refused when EF.SOD is decoded (lds::sod)
    let authenticated = out.sod_signature_ok;
    for n in 1..=16u8 {
        let id = format!("pa.dg_hash.DG{n}");
        let on_chip = dump.files.get(&LdsFile::Dg(n));
        let refused = absent(dump, &format!("DG{n}"));
        match (sod.dg_hash(n), on_chip) {
            (Some(expected), Some(bytes)) => {
                let actual = alg.digest(bytes);
                let evidence = json!({
                    "algorithm": format!("{alg:?}"),
                    "expected": hex::encode_upper(expected),
                    "actual": hex::encode_upper(&actual),
                    "size": bytes.len(),
                });
                let check = if !crate::crypto::ct_eq(&actual, expected) {
                    Check::fail(
                        id,
                        format!("DG{n} was altered: its hash differs from the one in EF.SOD"),
                    )
                } else if authenticated {
                    out.verified_dgs.push(n);
                    Check::pass(id, format!("DG{n} matches its hash in EF.SOD"))
                } else {
                    Check::indeterminate(
                        id,
                        format!(
                            "DG{n} matches its hash in EF.SOD, but EF.SOD's signature is not verified: \
                             the hash proves nothing"
                        ),
                    )
                };
                out.checks.push(check.with_evidence(evidence).reference(REF_PA));
            }
            (Some(_), None) if (n == 3 || n == 4) && !eac_granted(dump, n) => {
                let protected = "it is protected by Extended Access Control (Terminal Authentication)";
                let why = match refused {
                    // the reader did not ask for it: Terminal Authentication did not grant it
                    Some(a) if a.sw.is_empty() && a.meaning.starts_with("not read") => {
                        format!("DG{n} is listed in EF.SOD but was {}; {protected}", a.meaning)
                    }
                    Some(a) => format!(
                        "DG{n} is listed in EF.SOD but was not read: {}; {protected}{}",
                        refusal(a),
                        eac_note(dump, n)
                    ),
                    None => format!(
                        "DG{n} is listed in EF.SOD but was not read; {protected}{}",
                        eac_note(dump, n)
                    ),
                };
                out.checks
                    .push(Check::skip(format!("pa.dg_unread.DG{n}"), why).informational());
            }
            (Some(_), None) => {
                let check = match (refused, live) {
                    (Some(a), true) => Check::fail(
                        id,
                        format!(
                            "EF.SOD lists DG{n}, but {}: a genuine chip delivers every data group it \
                             signed",
                            refusal(a)
                        ),
                    ),
                    (None, true) => {
                        Check::fail(id, format!("EF.SOD lists DG{n}, but the chip did not deliver it"))
                    }
                    (Some(a), false) => Check::fail(
                        id,
                        format!("EF.SOD lists DG{n}, but when this dump was made {}", refusal(a)),
                    ),
                    (None, false) => Check::indeterminate(
                        id,
                        format!("EF.SOD lists DG{n}, but the dump does not hold it: it cannot be checked"),
                    ),
                };
                out.checks.push(check.reference(REF_PA));
            }
            (None, Some(_)) => out.checks.push(
                Check::fail(
                    id,
                    format!(
                        "DG{n} is present but EF.SOD has no hash for it: Doc 9303 has EF.SOD cover every \
                         data group, so a genuine chip carries no unsigned one"
                    ),
                )
                .reference("Doc 9303 Part 10 §4.6.2"),
            ),
            (None, None) => {}
        }
    }
}

/// Terminal Authentication succeeded while reading and its authorization grants DG`n`:
/// the chip owes that group like any other (a refusal then fails `pa.dg_hash`).
fn eac_granted(dump: &Dump, n: u8) -> bool {
    dump.manifest.terminal_authentication.as_ref().is_some_and(|t| {
        t.outcome == crate::reader::eac::TA_AUTHENTICATED && if n == 3 { t.dg3 } else { t.dg4 }
    })
}

/// Why an EAC-protected group stayed unread, as far as Terminal Authentication goes.
fn eac_note(dump: &Dump, n: u8) -> String {
    match &dump.manifest.terminal_authentication {
        None => " (no terminal credentials were given)".into(),
        Some(t) if t.outcome == crate::reader::eac::TA_AUTHENTICATED => {
            format!(" (the terminal's authorization does not include DG{n})")
        }
        Some(t) => format!(
            " (Terminal Authentication {}{})",
            t.outcome.replace('_', " "),
            t.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
        ),
    }
}

fn com_consistency(dump: &Dump, sod: &crate::lds::sod::Sod, live: bool) -> Check {
    let id = "pa.com_consistency";
    let Some(com) = dump.files.get(&LdsFile::Com) else {
        return match (absent(dump, "EF.COM"), live) {
            (Some(a), _) if a.sw == "6A82" => Check::indeterminate(
                id,
                "the chip has no EF.COM (6A82): the data groups it announces cannot be compared with EF.SOD",
            ),
            (Some(a), _) => Check::fail(
                id,
                format!(
                    "{} to a read of EF.COM: a genuine chip serves EF.COM after access control",
                    refusal(a)
                ),
            ),
            (None, true) => Check::fail(id, "the chip did not deliver EF.COM"),
            (None, false) => {
                Check::indeterminate(id, "EF.COM is not in the dump: it cannot be compared with EF.SOD")
            }
        }
        .reference("Doc 9303 Part 10 §4.6.1");
    };
    let com_list: std::collections::BTreeSet<u8> = crate::lds::com::data_groups(com)
        .into_iter()
        .filter_map(|f| match f {
            LdsFile::Dg(n) => Some(n),
            _ => None,
        })
        .collect();
    let sod_list: std::collections::BTreeSet<u8> = sod.dg_numbers().into_iter().collect();
    if com_list == sod_list {
        return Check::pass(id, "EF.COM lists exactly the data groups EF.SOD covers");
    }
    let only_com: Vec<String> = com_list.difference(&sod_list).map(|n| format!("DG{n}")).collect();
    let only_sod: Vec<String> = sod_list.difference(&com_list).map(|n| format!("DG{n}")).collect();
    Check::fail(
        id,
        format!(
            "EF.COM and EF.SOD disagree: only in EF.COM [{}], only in EF.SOD [{}]",
            only_com.join(", "),
            only_sod.join(", ")
        ),
    )
    .with_evidence(json!({"only_com": only_com, "only_sod": only_sod}))
    .reference("Doc 9303 Part 10 §4.6.1")
}

/// EF.CardSecurity (Doc 9303 Part 11 §9.2.11): when present it must verify under the
/// same rules as EF.SOD (`pa.card_security` then counts for the verdict). When it is
/// not there although the chip ran PACE-CAM or its signed DG14 lists PACE-CAM (whose
/// key only EF.CardSecurity holds), or the chip refused it with anything but "file not
/// found", that is a finding too.
fn card_security(
    dump: &Dump,
    store: Option<&TrustStore>,
    issuer: Option<&str>,
    at: OffsetDateTime,
    live: bool,
    out: &mut PaOutcome,
) {
    let id = "pa.card_security";
    let Some(bytes) = dump.files.get(&LdsFile::CardSecurity) else {
        let cam_used = dump.manifest.chip_authentication.is_some();
        let cam_signed = out.dg14.as_ref().is_some_and(|i| i.pace_infos().any(is_cam));
        let needed = cam_used || cam_signed;
        let check = match (absent(dump, "EF.CardSecurity"), live) {
            (Some(a), _) if a.sw != "6A82" => Some(Check::fail(
                id,
                format!(
                    "{} to a read of EF.CardSecurity: a genuine chip serves it after access control",
                    refusal(a)
                ),
            )),
            (a, true) if needed => Some(Check::fail(
                id,
                format!(
                    "the chip {} EF.CardSecurity, which holds the key of the PACE-CAM it {}",
                    if a.is_some() {
                        "says it has no"
                    } else {
                        "did not deliver"
                    },
                    if cam_used {
                        "ran"
                    } else {
                        "offers in its signed DG14"
                    }
                ),
            )),
            (_, false) if needed => Some(Check::indeterminate(
                id,
                "EF.CardSecurity, which holds the PACE-CAM key, is not in the dump",
            )),
            _ => None,
        };
        if let Some(c) = check {
            out.checks.push(c.reference("Doc 9303 Part 11 §9.2.11"));
        }
        return;
    };
    // one decoder: the CMS layer through crate::cms, the eContentType checked
    let cs = match crate::lds::security_infos::CardSecurity::decode(bytes) {
        Ok(cs) => cs,
        Err(e) => {
            out.checks.push(Check::fail(
                id,
                format!("EF.CardSecurity does not decode: {}", crate::error::text(&e)),
            ));
            return;
        }
    };
    if has_ca_key(&cs.security_infos) {
        out.require_ca("EF.CardSecurity holds a Chip Authentication public key");
    }
    let rank = |c: &Certificate| PathRank::of(&validate("pa.card_security.", store, Some(c), issuer, at));
    let sig = verify_signed_data(id, "EF.CardSecurity", &cs.signed_data, store, &rank);
    let path = validate("pa.card_security.", store, sig.signer_cert.as_deref(), issuer, at);
    let path_ok = path.iter().all(|c| c.status == Status::Pass);
    // EF.CardAccess is read unauthenticated; EF.CardSecurity must list every
    // SecurityInfo it offers (Doc 9303 Part 11 §9.2), so a rewritten EF.CardAccess
    // (e.g. offering weaker PACE parameters) shows up here; one that does not decode
    // cannot be compared, which fails closed
    let unlisted = unlisted_pace_infos(dump, Some(&cs));
    out.card_security_verified = sig.ok && path_ok && matches!(&unlisted, Ok(u) if u.is_empty());
    let mut check = sig.check;
    if sig.ok {
        match &unlisted {
            Err(why) => {
                out.checks.push(
                    Check::fail(
                        id,
                        format!(
                            "EF.CardAccess does not decode ({why}), so the PACE parameters it offered cannot \
                             be compared with the signed EF.CardSecurity"
                        ),
                    )
                    .with_evidence(check.evidence)
                    .reference("Doc 9303 Part 11 §9.2"),
                );
                return;
            }
            Ok(u) if !u.is_empty() => {
                out.checks.push(
                    Check::fail(
                        id,
                        format!(
                            "EF.CardAccess offers PACE parameters the signed EF.CardSecurity does not list ({}): \
                             EF.CardAccess was altered, a downgrade attempt",
                            u.join(", ")
                        ),
                    )
                    .with_evidence(check.evidence)
                    .reference("Doc 9303 Part 11 §9.2"),
                );
                return;
            }
            Ok(_) => {}
        }
    }
    if sig.ok && !path_ok {
        let why: Vec<String> = path
            .iter()
            .filter(|c| c.status != Status::Pass)
            .map(|c| format!("{}: {}", c.id, c.reason))
            .collect();
        let status = if path.iter().any(|c| c.status == Status::Fail) {
            Status::Fail
        } else {
            Status::Indeterminate
        };
        // indeterminate only because no current CRL vouches for its signer: the same
        // marker as pa.crl, so a policy treats both alike
        let only_crl = path.iter().filter(|c| c.status != Status::Pass).all(|c| {
            c.id == "pa.card_security.crl"
                && c.status == Status::Indeterminate
                && c.evidence.get(CRL_UNAVAILABLE).is_some()
        });
        let mut evidence = check.evidence;
        if status == Status::Indeterminate
            && only_crl
            && let (Some(obj), Some(u)) = (
                evidence.as_object_mut(),
                path.iter()
                    .find(|c| c.id == "pa.card_security.crl")
                    .and_then(|c| c.evidence.get(CRL_UNAVAILABLE)),
            )
        {
            obj.insert(CRL_UNAVAILABLE.into(), u.clone());
        }
        check = Check::new(
            id,
            status,
            format!(
                "EF.CardSecurity's signature verifies, but its signer is not trusted: {}",
                why.join("; ")
            ),
        )
        .with_evidence(evidence);
    }
    out.checks.push(check);
}

/// PACEInfos of EF.CardAccess that EF.CardSecurity does not list (by protocol, version
/// and parameter id); an error when EF.CardAccess is there but does not decode.
fn unlisted_pace_infos(
    dump: &Dump,
    cs: Option<&crate::lds::security_infos::CardSecurity>,
) -> Result<Vec<String>, String> {
    let Some(bytes) = dump.files.get(&LdsFile::CardAccess) else {
        return Ok(Vec::new());
    };
    let ca = crate::lds::security_infos::SecurityInfos::decode(bytes).map_err(|e| crate::error::text(&e))?;
    let signed: Vec<(String, u32, Option<u32>)> = cs
        .map(|c| {
            c.security_infos
                .pace_infos()
                .map(|p| (p.protocol.to_string(), p.version, p.parameter_id))
                .collect()
        })
        .unwrap_or_default();
    Ok(ca
        .pace_infos()
        .filter(|p| !signed.contains(&(p.protocol.to_string(), p.version, p.parameter_id)))
        .map(|p| match p.parameter_id {
            Some(id) => format!("{} parameter {id}", p.protocol),
            None => p.protocol.to_string(),
        })
        .collect())
}

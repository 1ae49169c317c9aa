//! Verification of a read document (Doc 9303 Part 11 §5 Passive Authentication, §6.1
//! Active Authentication, §6.2 Chip Authentication; Part 12 for the PKI): every check
//! becomes an entry of a [`Report`] with one verdict (see [`report`] for the rule).
//!
//! The engine is pure given its inputs: the files read ([`Dump`]), the trust store,
//! the date, the key the officer gave, and — from a live chip only — the results of
//! Active and Chip Authentication. A dump alone can never prove a chip genuine: AA and
//! CA need the chip's private key, so they are `skip` offline and a document that
//! supports them is then INDETERMINATE, never VALID.

pub mod conformance;
pub mod pa;
pub mod report;

use serde_json::json;
use time::OffsetDateTime;

use crate::access::password::Password;
use crate::lds::LdsFile;
use crate::pki::store::TrustStore;
use crate::reader::Dump;

pub use report::{Check, DocumentSummary, Report, Status, Verdict};

/// Result of a chip-genuineness protocol run on a live chip.
#[derive(Debug, Clone)]
pub struct ChipOutcome {
    /// pass when the protocol succeeded, fail when the chip answered wrongly, skip /
    /// indeterminate when it could not run.
    pub status: Status,
    /// Why.
    pub reason: String,
    /// Evidence (protocol details).
    pub evidence: serde_json::Value,
}

/// What only a live chip can contribute.
#[derive(Debug, Clone, Default)]
pub struct LiveResults {
    /// Active Authentication, when run.
    pub aa: Option<ChipOutcome>,
    /// Chip Authentication (DG14 / EF.CardSecurity), when run.
    pub ca: Option<ChipOutcome>,
}

/// Inputs of a verification.
pub struct Input<'a> {
    /// The files.
    pub dump: &'a Dump,
    /// The trust store (None: no store; every chain check is indeterminate).
    pub store: Option<&'a TrustStore>,
    /// The time the checks are made for.
    pub at: OffsetDateTime,
    /// The key the officer gave (for `mrz.consistency`).
    pub password: Option<&'a Password>,
    /// Results from a live chip; `None` for an offline dump.
    pub live: Option<LiveResults>,
    /// The user switched AA off (`--no-aa`).
    pub no_aa: bool,
    /// The user switched CA off (`--no-ca`).
    pub no_ca: bool,
    /// The user asked for BAC (`--access bac`): a chip read with BAC that also offers
    /// PACE is then the user's choice, not a downgrade.
    pub bac_requested: bool,
    /// Where the data came from.
    pub source: String,
}

/// Run every check and decide.
pub fn verify(input: &Input<'_>) -> Report {
    let mut checks = Vec::new();
    let dump = input.dump;
    let live = input.live.is_some();
    let dg1 = dump
        .files
        .get(&LdsFile::Dg(1))
        .and_then(|b| crate::lds::dg1::Dg1::decode(b).ok());
    let mrz = dg1.as_ref().and_then(|d| d.parse_mrz().ok());
    let document = summary(mrz.as_ref());

    // Passive Authentication (first: the access check uses the signed DG14)
    let issuer = mrz.as_ref().map(|m| m.issuing_state().to_string());
    let pa = pa::passive_authentication(dump, input.store, issuer.as_deref(), input.at);

    // access
    checks.push(access_check(
        dump,
        live,
        signed_dg14_offers_pace(dump, &pa),
        input.bac_requested,
    ));

    // MRZ
    checks.extend(mrz_checks(dg1.is_some(), mrz.as_ref(), input.password, input.at));
    let alert = alert_list_check(input.store, mrz.as_ref());
    let alert_counts = alert.status != Status::Skip;
    checks.push(alert);

    checks.extend(pa.checks.iter().cloned());

    // chip genuineness
    let mut required: Vec<&str> = Vec::new();
    if live {
        required.push("access");
    }
    if alert_counts {
        required.push("alert_list");
    }
    let supports_aa = dump.files.contains_key(&LdsFile::Dg(15));
    let supports_ca = pa.ca_supported;
    if supports_aa {
        required.push("aa");
    }
    if supports_ca {
        required.push("ca");
    }
    checks.push(chip_check(
        "aa",
        supports_aa,
        input.no_aa,
        input.live.as_ref().and_then(|l| l.aa.clone()),
        pa.dg_verified(15),
        "DG15",
    ));
    checks.push(ca_check(input, supports_ca, &pa));

    let (verdict, because) = report::decide(&checks, &required);
    let chip = json!({
        "access": dump.manifest.access,
        "chip_authentication_during_access": dump.manifest.chip_authentication,
        "supports": {"aa": supports_aa, "ca": supports_ca},
        "live": live,
    });
    Report {
        schema: report::REPORT_SCHEMA,
        verdict,
        because,
        document,
        checks,
        chip,
        timing: json!({
            "read_ms": dump.manifest.total_ms,
            "modelled_ms": dump.manifest.modelled_ms,
        }),
        source: input.source.clone(),
        at: date_string(input.at),
    }
}

/// YYYY-MM-DD of a time.
pub fn date_string(at: OffsetDateTime) -> String {
    let d = at.date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn summary(mrz: Option<&crate::mrz::Mrz>) -> DocumentSummary {
    let Some(m) = mrz else {
        return DocumentSummary::default();
    };
    let names = format!("{} {}", m.primary_identifier(), m.secondary_identifier())
        .trim()
        .to_string();
    DocumentSummary {
        kind: Some(m.format().to_string()),
        code: Some(m.document_code().trim_end_matches('<').to_string()),
        issuer: Some(m.issuing_state().trim_end_matches('<').to_string()),
        number: Some(m.document_number().to_string()),
        names: Some(names),
        nationality: Some(m.nationality().trim_end_matches('<').to_string()),
        birth: Some(m.birth_raw().to_string()),
        expiry: Some(m.expiry_raw().to_string()),
        sex: Some(m.sex().to_string()),
    }
}

/// `alert_list`: DG1's issuer and document number against the local alert list
/// (`emrtd alerts import`, kept in the trust store). Listed → fail; no list → skip.
fn alert_list_check(store: Option<&TrustStore>, mrz: Option<&crate::mrz::Mrz>) -> Check {
    use crate::pki::alerts::{self, Lookup};
    let id = "alert_list";
    let none = || Check::skip(id, "no alert list imported (`emrtd alerts import FILE.csv`)");
    let Some(store) = store else { return none() };
    let info = match alerts::info(store) {
        Ok(Some(info)) => info,
        Ok(None) => return none(),
        Err(e) => return Check::indeterminate(id, format!("the alert list cannot be read: {e}")),
    };
    let evidence = serde_json::to_value(&info).unwrap_or_default();
    let Some(m) = mrz else {
        return Check::indeterminate(id, "no document number to look up (DG1 missing or unreadable)")
            .with_evidence(evidence);
    };
    match alerts::check_document(store, m.issuing_state(), m.document_number()) {
        Ok(Lookup::Listed(a, _)) => Check::fail(
            id,
            format!(
                "document reported {} {}on the local alert list{}",
                a.status.name().to_uppercase(),
                a.since
                    .as_deref()
                    .map(|s| format!("since {s} "))
                    .unwrap_or_default(),
                a.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
            ),
        ),
        Ok(_) => Check::pass(
            id,
            format!(
                "not on the local alert list ({} entries, imported {})",
                info.entries,
                crate::pki::format_time(info.imported_at)
            ),
        ),
        Err(e) => Check::indeterminate(id, format!("the alert list cannot be read: {e}")),
    }
    .with_evidence(evidence)
}

/// DG14, its hash verified against the signed EF.SOD, lists a PACEInfo: the chip
/// offers PACE, whatever its (unsigned) EF.CardAccess says.
fn signed_dg14_offers_pace(dump: &Dump, pa: &pa::PaOutcome) -> bool {
    pa.dg_verified(14)
        && dump
            .files
            .get(&LdsFile::Dg(14))
            .and_then(|b| crate::lds::security_infos::SecurityInfos::decode_dg14(b).ok())
            .is_some_and(|s| s.pace_infos().next().is_some())
}

fn access_check(dump: &Dump, live: bool, dg14_offers_pace: bool, bac_requested: bool) -> Check {
    let Some(a) = &dump.manifest.access else {
        return Check::skip("access", "no record of the access protocol (offline files)");
    };
    let evidence = serde_json::to_value(a).unwrap_or_default();
    // a chip that offers PACE (signed DG14) read with BAC although the user did not
    // ask for BAC: EF.CardAccess was missing or offered no PACE, i.e. it was removed
    // or rewritten to push the reader down to BAC
    let hidden_pace = a.protocol == "BAC" && !a.downgraded && dg14_offers_pace;
    if hidden_pace && !bac_requested && live {
        return Check::fail(
            "access",
            "the chip's signed DG14 lists PACE, but EF.CardAccess offered none and the chip was read \
             with BAC: EF.CardAccess was removed or altered, a downgrade attempt",
        )
        .with_evidence(evidence)
        .reference("Doc 9303 Part 11 §4.2, §9.2");
    }
    if a.downgraded {
        return Check::fail(
            "access",
            format!(
                "the chip offers PACE but was read with BAC: {}",
                a.downgrade_reason.as_deref().unwrap_or("PACE failed")
            ),
        )
        .with_evidence(evidence)
        .reference("Doc 9303 Part 11 §4.2");
    }
    let what = match &a.mapping {
        Some(m) => format!("{} {} {} with {}", a.protocol, m, a.cipher, a.password),
        None => format!("{} {} with {}", a.protocol, a.cipher, a.password),
    };
    let note = if hidden_pace {
        if live {
            " as asked (--access bac); the chip also offers PACE (DG14)"
        } else {
            "; its signed DG14 lists PACE: unless BAC was asked for, EF.CardAccess hid PACE"
        }
    } else {
        ""
    };
    if live {
        Check::pass("access", format!("{what}{note}")).with_evidence(evidence)
    } else {
        Check::skip("access", format!("offline dump (read with {what}{note})")).with_evidence(evidence)
    }
}

fn mrz_checks(
    have_dg1: bool,
    mrz: Option<&crate::mrz::Mrz>,
    password: Option<&Password>,
    at: OffsetDateTime,
) -> Vec<Check> {
    let reference = "Doc 9303 Part 3 §4.9";
    let Some(m) = mrz else {
        let why = if have_dg1 {
            "DG1 does not hold a parsable MRZ"
        } else {
            "DG1 was not read"
        };
        let status = if have_dg1 {
            Status::Fail
        } else {
            Status::Indeterminate
        };
        return vec![
            Check::new("mrz.check_digits", status, why).reference(reference),
            Check::skip("mrz.consistency", why),
        ];
    };
    let mut out = Vec::new();
    let failing: Vec<String> = m
        .failing_check_digits()
        .map(|c| format!("{:?}", c.field))
        .collect();
    if failing.is_empty() {
        out.push(
            Check::pass("mrz.check_digits", "every check digit of DG1's MRZ is correct").reference(reference),
        );
    } else {
        out.push(
            Check::fail(
                "mrz.check_digits",
                format!("wrong check digit(s) in DG1's MRZ: {}", failing.join(", ")),
            )
            .with_evidence(json!({ "failing": failing }))
            .reference(reference),
        );
    }
    out.push(match password {
        Some(Password::Mrz(key)) => {
            let same = key.mrz_information().as_str() == m.mrz_information().as_str();
            if same {
                Check::pass(
                    "mrz.consistency",
                    "DG1 matches the document number and dates the access key was made from",
                )
            } else {
                Check::fail(
                    "mrz.consistency",
                    "DG1's document number or dates differ from the MRZ printed on the document (the access key)",
                )
                .reference("Doc 9303 Part 11 §5.1")
            }
        }
        Some(_) => Check::skip("mrz.consistency", "access with CAN/PIN: no printed MRZ to compare with"),
        None => Check::skip("mrz.consistency", "no MRZ was given to compare with"),
    });
    out.push(expiry_check(m.expiry_raw(), at));
    out
}

fn expiry_check(expiry: &str, at: OffsetDateTime) -> Check {
    let digits: Option<Vec<u32>> = expiry.chars().map(|c| c.to_digit(10)).collect();
    let Some(d) = digits.filter(|d| d.len() == 6) else {
        return Check::skip("doc.expiry", "the date of expiry is not a full date").informational();
    };
    let field = |i: usize| d.get(i).copied().unwrap_or(0) * 10 + d.get(i + 1).copied().unwrap_or(0);
    let (yy, mm, dd) = (field(0), field(2), field(4));
    // expiry dates are at most ~10 years ahead: a two-digit year more than 50 years
    // after today's is in the previous century
    let now_year = u32::try_from(at.year()).unwrap_or(2000);
    let century = now_year / 100 * 100;
    let mut year = century + yy;
    if year > now_year + 50 {
        year -= 100;
    }
    let today = (now_year, u32::from(u8::from(at.month())), u32::from(at.day()));
    let expired = (year, mm, dd) < today;
    let text = format!("{year:04}-{mm:02}-{dd:02}");
    if expired {
        Check::fail("doc.expiry", format!("the document expired on {text}"))
            .informational()
            .with_evidence(json!({ "expiry": text }))
    } else {
        Check::pass("doc.expiry", format!("valid until {text}")).with_evidence(json!({ "expiry": text }))
    }
}

fn chip_check(
    id: &str,
    supported: bool,
    switched_off: bool,
    outcome: Option<ChipOutcome>,
    key_authenticated: bool,
    key_file: &str,
) -> Check {
    if !supported {
        return Check::skip(id, format!("the document does not support it (no {key_file})"));
    }
    if switched_off {
        return Check::skip(id, "switched off by the user: the chip was not proven genuine");
    }
    let Some(o) = outcome else {
        return Check::skip(
            id,
            "offline dump: only a live chip can prove it holds the private key (a copy would pass every other check)",
        );
    };
    if o.status == Status::Pass && !key_authenticated {
        return Check::indeterminate(
            id,
            format!("the chip answered, but its key in {key_file} is not covered by a verified EF.SOD"),
        )
        .with_evidence(o.evidence);
    }
    Check::new(id, o.status, o.reason).with_evidence(o.evidence)
}

fn ca_check(input: &Input<'_>, supported: bool, pa: &pa::PaOutcome) -> Check {
    // PACE-CAM during access counts like Chip Authentication when EF.CardSecurity is verified
    if let (Some(_), Some(cam)) = (&input.live, &input.dump.manifest.chip_authentication)
        && !input.no_ca
    {
        let evidence = serde_json::to_value(cam).unwrap_or_default();
        if !cam.verified {
            return Check::fail(
                "ca",
                format!(
                    "PACE-CAM: the chip's authentication data does not match EF.CardSecurity: {}",
                    cam.reason.as_deref().unwrap_or("mismatch")
                ),
            )
            .with_evidence(evidence);
        }
        if !pa.card_security_verified {
            return Check::indeterminate(
                "ca",
                "PACE-CAM matched, but EF.CardSecurity (which holds the chip key) is not verified",
            )
            .with_evidence(evidence);
        }
        return Check::pass(
            "ca",
            "PACE-CAM: the chip proved its key from the verified EF.CardSecurity",
        )
        .with_evidence(evidence);
    }
    let covered = pa.dg_verified(14) || pa.card_security_verified;
    chip_check(
        "ca",
        supported,
        input.no_ca,
        input.live.as_ref().and_then(|l| l.ca.clone()),
        covered,
        "DG14 or EF.CardSecurity",
    )
}

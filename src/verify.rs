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
pub mod live;
pub mod pa;
pub mod policy;
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

    // Passive Authentication (first: what else is required comes from its signed data)
    let issuer = mrz.as_ref().map(|m| m.issuing_state().to_string());
    let pa = pa::passive_authentication(dump, input.store, issuer.as_deref(), input.at, live);

    // access
    checks.push(access_check(
        dump,
        live,
        signed_dg14_offers_pace(&pa),
        input.bac_requested,
    ));

    // MRZ
    checks.extend(mrz_checks(dg1.is_some(), mrz.as_ref(), input.password, input.at));
    if let Some(c) = dg11_consistency(dump, mrz.as_ref()) {
        checks.push(c);
    }
    let alert = alert_list_check(input.store, mrz.as_ref());
    let alert_counts = alert.status != Status::Skip;
    checks.push(alert);

    checks.extend(pa.checks.iter().cloned());
    if let Some(c) = adaptations_check(dump) {
        checks.push(c);
    }

    // the dump as the manifest recorded it (offline only)
    let dump_check = (!live).then(|| dump_integrity(dump)).flatten();
    if let Some(c) = dump_check {
        checks.push(c);
    }

    // what must pass for VALID beyond the fixed set, all of it from signed data or from
    // what the chip itself did: never from what it chose not to show
    let mut required: Vec<&str> = vec!["pa.com_consistency"];
    if live {
        required.push("access");
    } else if checks.iter().any(|c| c.id == "dump.integrity") {
        required.push("dump.integrity");
    }
    if alert_counts {
        required.push("alert_list");
    }
    if checks.iter().any(|c| c.id == "pa.card_security") {
        required.push("pa.card_security");
    }
    let requires_aa = pa.listed(15) || dump.files.contains_key(&LdsFile::Dg(15));
    let requires_ca = pa.ca_supported;
    if requires_aa {
        required.push("aa");
    }
    if requires_ca {
        required.push("ca");
    }
    checks.push(aa_check(input, requires_aa, &pa));
    checks.push(ca_check(input, requires_ca, &pa));
    if let Some(c) = eac_check(dump, &pa) {
        if !c.informational {
            required.push("eac.ta");
        }
        checks.push(c);
    }

    let (verdict, because) = report::decide(&checks, &required);
    let chip = json!({
        "access": dump.manifest.access,
        "chip_authentication_during_access": dump.manifest.chip_authentication,
        "supports": {"aa": requires_aa, "ca": requires_ca},
        "required_by": {
            "aa": requires_aa.then_some("EF.SOD lists DG15 (Active Authentication public key)"),
            "ca": pa.ca_required_by.as_deref(),
        },
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
        policy: policy::PolicyOutcome::strict_default(),
    }
}

/// `eac.ta`: Terminal Authentication as the read ran it (only when terminal credentials
/// were given; without them DG3/DG4 stay `pa.dg_unread`, informational).
///
/// - authenticated: pass (the groups it unlocked are then owed like any other);
/// - no chain under the chip's CVCA, or not run because the chip has no Chip
///   Authentication: informational, the verdict is what it is without credentials;
/// - the chip refused a step, or this side failed (the terminal key): INDETERMINATE
///   when EF.SOD lists DG3 or DG4 — the groups the credentials were given to check stay
///   unchecked, so the verdict must not stay VALID (a chip refusing TA is not proven
///   to be a clone either: its trust point or date may simply differ from the
///   credentials'). A Chip Authentication failure before TA is `ca`'s to report.
fn eac_check(dump: &Dump, pa: &pa::PaOutcome) -> Option<Check> {
    let t = dump.manifest.terminal_authentication.as_ref()?;
    let protected = pa.listed(3) || pa.listed(4);
    let evidence = serde_json::to_value(t).unwrap_or_default();
    let reason = t.reason.clone().unwrap_or_default();
    let check = match t.outcome.as_str() {
        crate::reader::eac::TA_AUTHENTICATED => Check::pass(
            "eac.ta",
            format!(
                "Terminal Authentication under {} succeeded (reads DG3: {}, DG4: {})",
                t.cvca.as_deref().unwrap_or("?"),
                if t.dg3 { "yes" } else { "no" },
                if t.dg4 { "yes" } else { "no" }
            ),
        ),
        "refused" | "error" if protected => Check::indeterminate(
            "eac.ta",
            format!(
                "Terminal Authentication did not succeed{}: {reason}; DG3/DG4, which EF.SOD lists, stay \
                 unchecked",
                t.step.as_deref().map(|s| format!(" at {s}")).unwrap_or_default()
            ),
        ),
        _ => Check::skip("eac.ta", format!("Terminal Authentication not run: {reason}")).informational(),
    };
    Some(
        check
            .with_evidence(evidence)
            .reference("BSI TR-03110-1 §3.5; Doc 9303 Part 11 §7"),
    )
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
fn signed_dg14_offers_pace(pa: &pa::PaOutcome) -> bool {
    pa.dg_verified(14) && pa.dg14.as_ref().is_some_and(|s| s.pace_infos().next().is_some())
}

fn access_check(dump: &Dump, live: bool, dg14_offers_pace: bool, bac_requested: bool) -> Check {
    let Some(a) = &dump.manifest.access else {
        return Check::skip("access", "no record of the access protocol (offline files)");
    };
    let evidence = serde_json::to_value(a).unwrap_or_default();
    // EF.CardAccess is what the reader chose the protocol from; one that is there but
    // does not decode cannot show what the chip offers, which fails closed
    if let Some(bytes) = dump.files.get(&LdsFile::CardAccess)
        && let Err(e) = crate::lds::security_infos::SecurityInfos::decode(bytes)
    {
        return Check::fail(
            "access",
            format!(
                "EF.CardAccess is present but does not decode ({e}): the access protocols the chip offers \
                 cannot be checked, so a downgrade cannot be ruled out"
            ),
        )
        .with_evidence(evidence)
        .reference("Doc 9303 Part 11 §9.2");
    }
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

/// `aa`: Active Authentication (Doc 9303 Part 11 §6.1), required when EF.SOD lists DG15.
fn aa_check(input: &Input<'_>, required: bool, pa: &pa::PaOutcome) -> Check {
    let id = "aa";
    let reference = "Doc 9303 Part 11 §6.1";
    if !required {
        return Check::skip(id, "the document does not support it (EF.SOD lists no DG15)");
    }
    let live = match live_results(input, id, input.no_aa, "the private key of DG15", None) {
        Ok(live) => live,
        Err(skip) => return skip,
    };
    let Some(o) = live.aa.clone() else {
        let why = if input.dump.files.contains_key(&LdsFile::Dg(15)) {
            "Active Authentication was not run"
        } else {
            "the chip did not deliver DG15, which holds the key"
        };
        return Check::fail(
            id,
            format!(
                "EF.SOD lists DG15, so the chip must prove it holds the Active Authentication key, but {why}: \
                 a clone hides what it cannot answer"
            ),
        )
        .reference(reference);
    };
    judged(
        id,
        o,
        pa.dg_verified(15),
        "its key in DG15 is not covered by a verified EF.SOD",
        reference,
    )
}

/// What the live chip answered for check `id` (`aa`, `ca`), or why there is nothing to
/// judge: the user switched it off (`switched_off`, `--no-aa`/`--no-ca`), or the input is
/// an offline dump, where only a live chip could prove it `holds` its key (`required_by`:
/// what in the signed data asks for that proof).
fn live_results<'i>(
    input: &'i Input<'_>,
    id: &str,
    switched_off: bool,
    holds: &str,
    required_by: Option<&str>,
) -> Result<&'i LiveResults, Check> {
    if switched_off {
        return Err(Check::skip(
            id,
            format!("switched off by the user (--no-{id}): the chip was not proven genuine"),
        ));
    }
    input.live.as_ref().ok_or_else(|| {
        Check::skip(
            id,
            format!(
                "offline dump: only a live chip can prove it holds {holds} ({}a copy would pass every other check)",
                required_by.map(|r| format!("{r}; ")).unwrap_or_default()
            ),
        )
    })
}

/// `ca`: Chip Authentication (Doc 9303 Part 11 §6.2), or PACE-CAM during access, required
/// when the signed DG14 or EF.CardSecurity holds a CA key (see [`pa::PaOutcome::ca_supported`]).
fn ca_check(input: &Input<'_>, required: bool, pa: &pa::PaOutcome) -> Check {
    let id = "ca";
    let reference = "Doc 9303 Part 11 §6.2";
    if let Some(e) = &pa.dg14_error {
        return Check::fail(
            id,
            format!("DG14 does not decode as SecurityInfos ({e}): the chip's Chip Authentication cannot be checked"),
        )
        .reference("Doc 9303 Part 11 §9.2");
    }
    if !required {
        return Check::skip(
            id,
            "the document does not support it (no Chip Authentication key in DG14 or EF.CardSecurity)",
        );
    }
    let required_by = pa
        .ca_required_by
        .as_deref()
        .unwrap_or("the document has a Chip Authentication key");
    let live = match live_results(
        input,
        id,
        input.no_ca,
        "its Chip Authentication key",
        Some(required_by),
    ) {
        Ok(live) => live,
        Err(skip) => return skip,
    };
    // PACE-CAM during access counts like Chip Authentication when EF.CardSecurity, which
    // holds the key, is verified
    if let Some(cam) = &input.dump.manifest.chip_authentication {
        let evidence = serde_json::to_value(cam).unwrap_or_default();
        if !cam.verified {
            return Check::fail(
                id,
                format!(
                    "PACE-CAM: the chip's authentication data does not match EF.CardSecurity: {}",
                    cam.reason.as_deref().unwrap_or("mismatch")
                ),
            )
            .with_evidence(evidence)
            .reference(reference);
        }
        if !pa.card_security_verified {
            return Check::indeterminate(
                id,
                "PACE-CAM matched, but EF.CardSecurity (which holds the chip key) is not verified",
            )
            .with_evidence(evidence);
        }
        return Check::pass(
            id,
            "PACE-CAM: the chip proved its key from the verified EF.CardSecurity",
        )
        .with_evidence(evidence)
        .reference(reference);
    }
    let Some(o) = live.ca.clone() else {
        let why = if pa.listed(14) && !input.dump.files.contains_key(&LdsFile::Dg(14)) {
            "the chip did not deliver DG14, which holds the key"
        } else {
            "Chip Authentication was not run"
        };
        return Check::fail(
            id,
            format!(
                "{required_by}, so the chip must prove it holds that key, but {why}: a clone hides what it \
                 cannot answer"
            ),
        )
        .reference(reference);
    };
    judged(
        id,
        o,
        pa.dg_verified(14) || pa.card_security_verified,
        "its key in DG14 or EF.CardSecurity is not covered by verified signed data",
        reference,
    )
}

/// The check a live chip's outcome `o` makes: a PASS only counts when the key it proved
/// is `covered` by verified signed data (else INDETERMINATE, `not_covered` says why).
fn judged(id: &str, o: ChipOutcome, covered: bool, not_covered: &str, reference: &str) -> Check {
    if o.status == Status::Pass && !covered {
        return Check::indeterminate(id, format!("the chip answered, but {not_covered}"))
            .with_evidence(o.evidence);
    }
    Check::new(id, o.status, o.reason)
        .with_evidence(o.evidence)
        .reference(reference)
}

/// `dump.integrity`: every file manifest.json records as read is in the dump with the
/// SHA-256 recorded, and the read was complete. A dump with files deleted after the
/// read can only be INDETERMINATE. `None` for a directory without a manifest.
fn dump_integrity(dump: &Dump) -> Option<Check> {
    let id = "dump.integrity";
    let m = &dump.manifest;
    if m.time.is_empty() {
        return None;
    }
    let mut problems = Vec::new();
    if m.partial {
        problems.push(format!(
            "the read that made it stopped early ({})",
            if m.errors.is_empty() {
                "no reason recorded".to_string()
            } else {
                m.errors.join("; ")
            }
        ));
    }
    for rec in &m.files {
        let Some(file) = crate::reader::dump::file_from_dump_name(&format!("{}.bin", rec.name)) else {
            problems.push(format!("manifest.json names an unknown file {:?}", rec.name));
            continue;
        };
        match dump.files.get(&file) {
            None => problems.push(format!("{} was read but is not in the dump", rec.name)),
            Some(bytes) if !crate::crypto::sha256_hex(bytes).eq_ignore_ascii_case(&rec.sha256) => {
                problems.push(format!("{} differs from the bytes that were read", rec.name));
            }
            Some(_) => {}
        }
    }
    Some(if problems.is_empty() {
        Check::pass(
            id,
            "every file manifest.json records as read is in the dump, unchanged",
        )
    } else {
        Check::indeterminate(
            id,
            format!("the dump is not the document as read: {}", problems.join("; ")),
        )
        .with_evidence(json!({ "problems": problems }))
    })
}

/// `lds.dg11_consistency`: DG11 repeats the holder's name and date of birth in full;
/// where it contradicts DG1, that is a finding (Doc 9303 Part 10 §4.7.11).
fn dg11_consistency(dump: &Dump, mrz: Option<&crate::mrz::Mrz>) -> Option<Check> {
    let id = "lds.dg11_consistency";
    let m = mrz?;
    let bytes = dump.files.get(&LdsFile::Dg(11))?;
    let Ok(dg11) = crate::lds::dg11::Dg11::decode(bytes) else {
        return Some(Check::fail(id, "DG11 does not decode"));
    };
    let mut contradictions = Vec::new();
    if let Some(dob) = &dg11.full_date_of_birth {
        let digits: String = dob.text.chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 8
            && let Some(yymmdd) = digits.get(2..)
            && m.birth_raw().chars().all(|c| c.is_ascii_digit())
            && yymmdd != m.birth_raw()
        {
            contradictions.push("the date of birth differs from DG1's".to_string());
        }
    }
    if let Some(full) = &dg11.full_name {
        let (primary, secondary) = crate::lds::dg11::name_parts(full);
        let norm = |s: &str| {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        ' '
                    }
                })
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (p11, s11) = (norm(&primary), norm(&secondary));
        let (p1, s1) = (norm(m.primary_identifier()), norm(m.secondary_identifier()));
        // the MRZ may truncate names: DG1's must be the start of DG11's (letters only)
        let agrees = |mrz: &str, full: &str| {
            let a: String = mrz.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            let b: String = full.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            b.starts_with(&a)
        };
        // national characters are transliterated in the MRZ: only plain names compare
        if full.is_ascii() && !agrees(&p1, &p11) {
            contradictions.push("the primary identifier (surname) differs from DG1's".to_string());
        }
        if full.is_ascii() && !s11.is_empty() && !agrees(&s1, &s11) {
            contradictions.push("the secondary identifier (given names) differs from DG1's".to_string());
        }
    }
    Some(if contradictions.is_empty() {
        Check::pass(id, "DG11 agrees with DG1 (name, date of birth)")
    } else {
        Check::fail(id, format!("DG11 contradicts DG1: {}", contradictions.join("; ")))
            .reference("Doc 9303 Part 10 §4.7.11")
    })
}

/// `read.adaptations` (informational): what the reader changed in how it talked to this
/// chip (docs/quirks.md) and the recoveries it needed. Never a change of protocol: a
/// downgrade is the `access` check's, and fails there.
fn adaptations_check(dump: &Dump) -> Option<Check> {
    let m = &dump.manifest;
    if m.adaptations.is_empty() && m.recoveries == 0 {
        return None;
    }
    let mut parts: Vec<String> = m.adaptations.clone();
    if m.recoveries > 0 {
        parts.push(format!(
            "{} recover{} (reconnect or re-authenticate and resume)",
            m.recoveries,
            if m.recoveries == 1 { "y" } else { "ies" }
        ));
    }
    Some(
        Check::skip("read.adaptations", parts.join("; "))
            .informational()
            .with_evidence(json!({
                "adaptations": m.adaptations,
                "recoveries": m.recoveries,
                "recovery_log": m.recovery_log,
            })),
    )
}

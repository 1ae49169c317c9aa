//! What the page shows: the state as JSON (`GET /state`, the event stream), and a
//! verdict made readable for an officer: failed and indeterminate checks first, in
//! plain language; expiry, alert-list hits and EAC status apart; the face as PNG.

use serde::Serialize;
use zeroize::Zeroizing;

use super::machine::StateName;
use crate::reader::Dump;
use crate::verify::{DocumentSummary, Report, Status, Verdict};

/// The whole state the page renders.
#[derive(Debug, Clone, Serialize)]
pub struct StateView {
    /// `waiting`, `reading`, `result` or `remove`.
    pub state: StateName,
    /// Version: grows with every change.
    pub seq: u64,
    /// The instruction for the officer.
    pub message: String,
    /// A problem to show (wrong MRZ, no reader, read interrupted), in plain words.
    pub problem: Option<String>,
    /// False while the reader or the PC/SC service is missing.
    pub reader_ok: bool,
    /// A card is in the reader.
    pub card_present: bool,
    /// When the card was first seen in the reader (Unix ms).
    pub card_present_at_ms: Option<u64>,
    /// The card left during the read (the read resumes when it is back).
    pub card_removed_mid_read: bool,
    /// The kind of key held ("MRZ (TD3)", "CAN"), never the key.
    pub key: Option<String>,
    /// `[have, of]` while an MRZ is being scanned line by line.
    pub mrz_lines: Option<[usize; 2]>,
    /// Bytes read, while reading.
    pub progress: Option<Progress>,
    /// The verdict shown, when one is.
    pub verdict: Option<Verdict>,
    /// The result shown (flattened: `document`, `checks`, …), when one is.
    #[serde(flatten, serialize_with = "shared_result")]
    pub result: Option<std::sync::Arc<ResultView>>,
}

fn shared_result<S: serde::Serializer>(
    r: &Option<std::sync::Arc<ResultView>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    r.as_deref().serialize(s)
}

/// Read progress.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// Bytes read so far.
    pub done: usize,
    /// Bytes known to be there.
    pub total: usize,
    /// The file being read.
    pub file: String,
}

/// One check as the page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    /// Stable id (docs/verify.md).
    pub id: String,
    /// pass, fail, skip, indeterminate.
    pub status: Status,
    /// What was checked, in plain words.
    pub title: String,
    /// Why (the report's reason).
    pub reason: String,
    /// Shown, but does not decide the verdict.
    pub informational: bool,
}

/// One prominent line (expiry, alert list, EAC).
#[derive(Debug, Clone, Serialize)]
pub struct Highlight {
    /// `ok`, `bad`, `unknown`.
    pub level: &'static str,
    /// The text.
    pub text: String,
}

impl Highlight {
    fn new(level: &'static str, text: impl Into<String>) -> Self {
        Highlight {
            level,
            text: text.into(),
        }
    }
}

/// A verdict for the page.
#[derive(Clone, Serialize)]
pub struct ResultView {
    /// Identifies this result (the face URL carries it).
    pub result_id: u64,
    /// The document summary (holder data: shown while the document is on the reader).
    pub document: DocumentSummary,
    /// Ids of the checks that decided the verdict.
    pub because: Vec<String>,
    /// Checks, failed and indeterminate first.
    pub checks: Vec<CheckView>,
    /// Date of expiry.
    pub expiry: Highlight,
    /// The local alert list.
    pub alert_list: Highlight,
    /// Extended Access Control (DG3/DG4).
    pub eac: Highlight,
    /// Whether the face shown is the one the issuer signed: `bad` when DG2 was altered
    /// (the officer must not compare the traveller with it), `ok` only when DG2's hash
    /// matched and the whole verdict is VALID.
    pub photo: Highlight,
    /// URL of the face, when DG2 had one (set once it is converted: the verdict is
    /// shown first).
    pub face: Option<String>,
    /// The face is being converted for the page.
    pub face_pending: bool,
    /// How the chip was opened ("MRZ (TD3)", "CAN").
    pub key_kind: String,
    /// Milliseconds from the start of the read to the verdict.
    pub read_ms: u64,
    /// Milliseconds spent preparing the result for the page (the face to PNG).
    pub face_ms: u64,
    /// The contactless link time the emulator modelled for the read (not spent unless
    /// its link runs in real time); `None` for a real reader.
    pub modelled_ms: Option<f64>,
    /// The verdict (for the audit log; the view carries it at top level).
    #[serde(skip)]
    pub verdict: Verdict,
    /// The face as PNG (served by `/face.png` while this result is shown).
    #[serde(skip)]
    pub face_png: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for ResultView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // no holder data in debug output
        f.debug_struct("ResultView")
            .field("result_id", &self.result_id)
            .field("verdict", &self.verdict)
            .field("checks", &self.checks.len())
            .finish()
    }
}

/// The first face among the files read, as PNG (DG2; JPEG and JPEG 2000 converted).
pub fn face_png(dump: &Dump) -> Option<Zeroizing<Vec<u8>>> {
    crate::lds::extract::extract_all(dump.files.iter().map(|(f, b)| (*f, b.as_slice())))
        .images
        .into_iter()
        .find_map(|i| {
            i.png
                .or_else(|| i.bytes.starts_with(&[0x89, b'P', b'N', b'G']).then_some(i.bytes))
        })
        .map(Zeroizing::new)
}

/// What a check id means, in words an officer reads at a glance.
pub fn title_of(id: &str) -> String {
    let fixed = match id {
        "access" => "Access to the chip (BAC / PACE)",
        "mrz.check_digits" => "Check digits of the chip's MRZ",
        "mrz.consistency" => "Chip data matches the printed MRZ",
        "doc.expiry" => "Document not expired",
        "alert_list" => "Not on the alert list (lost, stolen, revoked)",
        "pa.sod_signature" => "Chip data signed by the issuer (EF.SOD signature)",
        "pa.dsc_chain" => "Issuer's signer trusted (chain to the country's CSCA)",
        "pa.dsc_validity" => "Document signer certificate valid",
        "pa.csca_validity" => "Country signing CA certificate valid",
        "pa.crl" => "Signer not revoked (CRL)",
        "pa.com_consistency" => "EF.COM consistent with the signed data",
        "lds.dg11_consistency" => "Additional personal details (DG11) match the MRZ",
        "dump.integrity" => "Dump complete and unchanged",
        "pa.card_security" => "EF.CardSecurity signed by the issuer",
        "aa" => "Chip is genuine: Active Authentication (anti-cloning)",
        "ca" => "Chip is genuine: Chip Authentication (anti-cloning)",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    if let Some(dg) = id.strip_prefix("pa.dg_hash.") {
        let what = match dg {
            "DG1" => " (MRZ)",
            "DG2" => " (face)",
            "DG3" => " (fingerprints)",
            "DG4" => " (iris)",
            "DG11" => " (personal details)",
            "DG12" => " (document details)",
            "DG14" => " (chip security keys)",
            "DG15" => " (Active Authentication key)",
            _ => "",
        };
        return format!("{dg}{what} unaltered since issue");
    }
    if let Some(dg) = id.strip_prefix("pa.dg_unread.") {
        return format!("{dg} protected by EAC, not read");
    }
    if let Some(rest) = id.strip_prefix("pa.card_security.") {
        return format!("EF.CardSecurity: {rest}");
    }
    id.to_string()
}

fn rank(c: &CheckView) -> u8 {
    match (c.status, c.informational) {
        (Status::Fail, false) => 0,
        (Status::Indeterminate, false) => 1,
        (Status::Fail, true) => 2,
        (Status::Indeterminate, true) => 3,
        (Status::Pass, _) => 4,
        (Status::Skip, _) => 5,
    }
}

fn find<'a>(report: &'a Report, id: &str) -> Option<&'a crate::verify::Check> {
    report.checks.iter().find(|c| c.id == id)
}

/// YYMMDD as DD.MM.YY for display.
fn date(raw: Option<&str>) -> String {
    match raw {
        Some(d) if d.len() == 6 && d.is_ascii() => {
            format!(
                "{}.{}.{}",
                d.get(4..6).unwrap_or("??"),
                d.get(2..4).unwrap_or("??"),
                d.get(0..2).unwrap_or("??")
            )
        }
        Some(d) => d.to_string(),
        None => "?".into(),
    }
}

impl ResultView {
    /// A result from a report and the files read.
    pub fn new(report: &Report, dump: Option<&Dump>, key_kind: &str, read_ms: u64, result_id: u64) -> Self {
        let mut checks: Vec<CheckView> = report
            .checks
            .iter()
            .map(|c| CheckView {
                id: c.id.clone(),
                status: c.status,
                title: title_of(&c.id),
                reason: c.reason.clone(),
                informational: c.informational,
            })
            .collect();
        checks.sort_by_key(rank);
        let expiry = match find(report, "doc.expiry") {
            Some(c) if c.status == Status::Fail => Highlight::new(
                "bad",
                format!("EXPIRED ({})", date(report.document.expiry.as_deref())),
            ),
            Some(c) if c.status == Status::Pass => Highlight::new(
                "ok",
                format!("valid until {}", date(report.document.expiry.as_deref())),
            ),
            _ => Highlight::new("unknown", "date of expiry not known"),
        };
        let alert_list = match find(report, "alert_list") {
            Some(c) if c.status == Status::Fail => {
                Highlight::new("bad", format!("ON THE ALERT LIST: {}", c.reason))
            }
            Some(c) if c.status == Status::Pass => Highlight::new("ok", "not on the alert list"),
            Some(c) if c.status == Status::Indeterminate => {
                Highlight::new("unknown", format!("alert list not checked: {}", c.reason))
            }
            _ => Highlight::new("unknown", "no alert list loaded"),
        };
        let unread: Vec<&str> = report
            .checks
            .iter()
            .filter_map(|c| c.id.strip_prefix("pa.dg_unread."))
            .collect();
        fn biometric(g: &str) -> &str {
            match g {
                "DG3" => "DG3 (fingerprints)",
                "DG4" => "DG4 (iris)",
                other => other,
            }
        }
        let read: Vec<&str> = ["DG3", "DG4"]
            .into_iter()
            .filter(|g| find(report, &format!("pa.dg_hash.{g}")).is_some_and(|c| c.status == Status::Pass))
            .map(biometric)
            .collect();
        let eac = match report.checks.iter().find(|c| c.id == "eac.ta") {
            Some(c) if c.status == Status::Pass => Highlight {
                level: "ok",
                text: match (read.is_empty(), unread.is_empty()) {
                    (false, true) => {
                        format!("EAC: Terminal Authentication done, {} read", read.join(" and "))
                    }
                    (false, false) => format!(
                        "EAC: {} read; {} not granted to this terminal",
                        read.join(" and "),
                        unread.join(", ")
                    ),
                    _ => "EAC: Terminal Authentication done".into(),
                },
            },
            Some(c) if c.status == Status::Fail => Highlight::new("bad", format!("EAC failed: {}", c.reason)),
            // credentials given, but TA refused or not possible: DG3/DG4 unchecked
            Some(_) => Highlight::new(
                "unknown",
                format!(
                    "EAC: Terminal Authentication did not succeed; {} not read",
                    unread.iter().map(|g| biometric(g)).collect::<Vec<_>>().join(", ")
                ),
            ),
            None if !unread.is_empty() => Highlight::new(
                "unknown",
                format!(
                    "EAC: {} protected, not read (no terminal credentials: --eac-chain/--eac-key)",
                    unread.join(", ")
                ),
            ),
            None => Highlight::new("ok", "EAC: no protected biometrics on this chip"),
        };
        let photo = match find(report, "pa.dg_hash.DG2") {
            Some(c) if c.status == Status::Fail => {
                Highlight::new("bad", "PHOTO ALTERED: not the photo the issuer signed")
            }
            Some(c) if c.status == Status::Pass && report.verdict == Verdict::Valid => {
                Highlight::new("ok", "photo as issued")
            }
            _ => Highlight::new("unknown", "photo not verified"),
        };
        ResultView {
            result_id,
            document: report.document.clone(),
            because: report.because.clone(),
            checks,
            expiry,
            alert_list,
            eac,
            photo,
            face: None,
            face_pending: dump.is_some(),
            key_kind: key_kind.to_string(),
            read_ms,
            face_ms: 0,
            modelled_ms: report
                .timing
                .get("modelled_ms")
                .and_then(serde_json::Value::as_f64),
            verdict: report.verdict,
            face_png: None,
        }
    }

    /// This result with its face (PNG), once converted; `None`: no face on the chip.
    pub fn with_face(&self, png: Option<Zeroizing<Vec<u8>>>, ms: u64) -> ResultView {
        let mut r = self.clone();
        r.face = png.as_ref().map(|_| format!("/face.png?r={}", self.result_id));
        r.face_png = png;
        r.face_pending = false;
        r.face_ms = ms;
        r
    }

    /// The ids of failed (verdict-deciding) checks.
    pub fn failed_ids(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail && !c.informational)
            .map(|c| c.id.clone())
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn for_test(verdict: Verdict, number: &str) -> Self {
        ResultView {
            result_id: 1,
            document: DocumentSummary {
                number: Some(number.into()),
                ..Default::default()
            },
            because: Vec::new(),
            checks: Vec::new(),
            expiry: Highlight::new("ok", String::new()),
            alert_list: Highlight::new("ok", String::new()),
            eac: Highlight::new("ok", String::new()),
            photo: Highlight::new("unknown", String::new()),
            face: None,
            face_pending: false,
            key_kind: "CAN".into(),
            read_ms: 0,
            face_ms: 0,
            modelled_ms: None,
            verdict,
            face_png: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::verify::Check;

    #[test]
    fn failed_first_and_plain_words() {
        let report = Report {
            schema: 1,
            verdict: Verdict::Invalid,
            because: vec!["pa.dg_hash.DG2".into()],
            document: DocumentSummary {
                expiry: Some("301231".into()),
                ..Default::default()
            },
            checks: vec![
                Check::pass("pa.sod_signature", "ok"),
                Check::fail("pa.dg_hash.DG2", "hash differs"),
                Check::fail("doc.expiry", "expired").informational(),
                Check::new("pa.crl", Status::Indeterminate, "no CRL"),
                Check::new("pa.dg_unread.DG3", Status::Skip, "denied").informational(),
            ],
            chip: serde_json::Value::Null,
            timing: serde_json::Value::Null,
            source: String::new(),
            at: String::new(),
            policy: Default::default(),
        };
        let r = ResultView::new(&report, None, "MRZ (TD3)", 5, 7);
        let ids: Vec<&str> = r.checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids[0], "pa.dg_hash.DG2");
        assert_eq!(ids[1], "pa.crl");
        assert_eq!(r.checks[0].title, "DG2 (face) unaltered since issue");
        assert_eq!(r.expiry.level, "bad");
        assert!(r.expiry.text.contains("31.12.30"));
        assert!(r.eac.text.contains("DG3"));
        assert_eq!(r.failed_ids(), vec!["pa.dg_hash.DG2".to_string()]);
        assert!(r.face.is_none());
        assert_eq!(r.photo.level, "bad");
        assert!(r.photo.text.contains("ALTERED"));
    }

    #[test]
    fn eac_badge_names_what_terminal_authentication_gave() {
        let report = |checks: Vec<Check>| Report {
            schema: 1,
            verdict: Verdict::Valid,
            because: vec![],
            document: DocumentSummary::default(),
            checks,
            chip: serde_json::Value::Null,
            timing: serde_json::Value::Null,
            source: String::new(),
            at: String::new(),
            policy: Default::default(),
        };
        let eac = |checks| ResultView::new(&report(checks), None, "MRZ", 1, 1).eac;
        let both = eac(vec![
            Check::pass("pa.dg_hash.DG3", "ok"),
            Check::pass("pa.dg_hash.DG4", "ok"),
            Check::pass("eac.ta", "ok"),
        ]);
        assert_eq!(both.level, "ok");
        assert!(
            both.text.contains("DG3 (fingerprints) and DG4 (iris) read"),
            "{}",
            both.text
        );
        let dg3 = eac(vec![
            Check::pass("pa.dg_hash.DG3", "ok"),
            Check::new("pa.dg_unread.DG4", Status::Skip, "not granted").informational(),
            Check::pass("eac.ta", "ok"),
        ]);
        assert!(
            dg3.text.contains("DG3 (fingerprints) read; DG4 not granted"),
            "{}",
            dg3.text
        );
        let refused = eac(vec![
            Check::new("pa.dg_unread.DG3", Status::Skip, "refused").informational(),
            Check::new("pa.dg_unread.DG4", Status::Skip, "refused").informational(),
            Check::new("eac.ta", Status::Indeterminate, "6300"),
        ]);
        assert_eq!(refused.level, "unknown");
        assert!(refused.text.contains("did not succeed"), "{}", refused.text);
        let none = eac(vec![
            Check::new("pa.dg_unread.DG3", Status::Skip, "protected").informational(),
        ]);
        assert!(none.text.contains("no terminal credentials"), "{}", none.text);
        let failed = eac(vec![Check::fail("eac.ta", "the chip's CVCA is unknown")]);
        assert_eq!(failed.level, "bad");
    }

    #[test]
    fn the_photo_is_called_genuine_only_in_a_valid_result() {
        let mut report = Report {
            schema: 1,
            verdict: Verdict::Valid,
            because: vec![],
            document: DocumentSummary::default(),
            checks: vec![Check::pass("pa.dg_hash.DG2", "ok")],
            chip: serde_json::Value::Null,
            timing: serde_json::Value::Null,
            source: String::new(),
            at: String::new(),
            policy: Default::default(),
        };
        assert_eq!(ResultView::new(&report, None, "CAN", 1, 1).photo.level, "ok");
        // the hash matches a SOD whose signer is unknown: nothing says the photo is genuine
        report.verdict = Verdict::Indeterminate;
        report
            .checks
            .push(Check::new("pa.dsc_chain", Status::Indeterminate, "no CSCA"));
        assert_eq!(ResultView::new(&report, None, "CAN", 1, 1).photo.level, "unknown");
        report.verdict = Verdict::Invalid;
        report.checks.push(Check::fail("pa.sod_signature", "bad"));
        assert_eq!(ResultView::new(&report, None, "CAN", 1, 1).photo.level, "unknown");
        // DG2 not read or not hashed: never "as issued"
        report.verdict = Verdict::Valid;
        report.checks.retain(|c| c.id != "pa.dg_hash.DG2");
        assert_eq!(ResultView::new(&report, None, "CAN", 1, 1).photo.level, "unknown");
    }
}

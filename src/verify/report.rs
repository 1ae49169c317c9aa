//! The verification report: every check with a stable id, a status, a reason and
//! evidence, and one verdict derived from them (`docs/verify.md` lists the ids).
//!
//! The verdict rule is the heart of the tool and deliberately simple:
//! * any counted check failed → INVALID;
//! * otherwise every *required* check passed → VALID;
//! * otherwise (something could not be checked) → INDETERMINATE.
//!
//! Required: `access` (when a chip was read; passed in by the caller), `pa.sod_signature`, `pa.dsc_chain`,
//! `pa.dsc_validity`, `pa.csca_validity`, `pa.crl`, every `pa.dg_hash.DGn`, and the
//! chip-genuineness check the document supports (`aa`, `ca`). A check that is not in
//! the report at all counts as not passed, so forgetting to run one can never
//! produce VALID; one that is there twice counts only when every copy passed.

use serde::{Deserialize, Serialize};

/// Report schema version (bumped on incompatible changes to the JSON).
pub const REPORT_SCHEMA: u32 = 1;

/// Status of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Checked and fine.
    Pass,
    /// Checked and wrong.
    Fail,
    /// Not applicable or not asked for.
    Skip,
    /// Could not be checked (missing trust anchor, no current CRL, no chip).
    Indeterminate,
}

impl Status {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Indeterminate => "indeterminate",
        }
    }
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Every required check passed.
    Valid,
    /// A check failed.
    Invalid,
    /// Nothing failed, but something could not be checked.
    Indeterminate,
}

impl Verdict {
    /// Upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "VALID",
            Verdict::Invalid => "INVALID",
            Verdict::Indeterminate => "INDETERMINATE",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Stable id (`pa.sod_signature`, `pa.dg_hash.DG2`, …).
    pub id: String,
    /// Outcome.
    pub status: Status,
    /// Why, in words (always set; for a pass a short confirmation).
    pub reason: String,
    /// Machine-readable details.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub evidence: serde_json::Value,
    /// Informational checks are shown but never change the verdict (an expired document
    /// is a finding, not a forgery).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub informational: bool,
    /// Where the rule comes from (Doc 9303 part and section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl Check {
    /// A check with no evidence.
    pub fn new(id: impl Into<String>, status: Status, reason: impl Into<String>) -> Self {
        Check {
            id: id.into(),
            status,
            reason: reason.into(),
            evidence: serde_json::Value::Null,
            informational: false,
            reference: None,
        }
    }

    /// Passed.
    pub fn pass(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(id, Status::Pass, reason)
    }

    /// Failed.
    pub fn fail(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(id, Status::Fail, reason)
    }

    /// Skipped.
    pub fn skip(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(id, Status::Skip, reason)
    }

    /// Could not be checked.
    pub fn indeterminate(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(id, Status::Indeterminate, reason)
    }

    /// Attach evidence.
    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Self {
        self.evidence = evidence;
        self
    }

    /// Mark informational.
    pub fn informational(mut self) -> Self {
        self.informational = true;
        self
    }

    /// Attach a spec reference.
    pub fn reference(mut self, r: impl Into<String>) -> Self {
        self.reference = Some(r.into());
        self
    }
}

/// What the document says about itself (from DG1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocumentSummary {
    /// Document type (TD1, TD2, TD3, MRV-A, MRV-B).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Document code (P, ID, …).
    pub code: Option<String>,
    /// Issuing state (3 letters).
    pub issuer: Option<String>,
    /// Document number.
    pub number: Option<String>,
    /// Primary and secondary identifiers.
    pub names: Option<String>,
    /// Nationality.
    pub nationality: Option<String>,
    /// Date of birth YYMMDD.
    pub birth: Option<String>,
    /// Date of expiry YYMMDD.
    pub expiry: Option<String>,
    /// Sex.
    pub sex: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Schema version.
    pub schema: u32,
    /// The verdict.
    pub verdict: Verdict,
    /// Ids of the checks that decided it (failed ones for INVALID, not-passed required
    /// ones for INDETERMINATE).
    pub because: Vec<String>,
    /// The document.
    pub document: DocumentSummary,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// Chip-level results (access protocol, AA, CA).
    pub chip: serde_json::Value,
    /// Timing, ms.
    pub timing: serde_json::Value,
    /// Where the data came from (reader, emulator profile, dump directory).
    pub source: String,
    /// Date the checks were made for (YYYY-MM-DD).
    pub at: String,
    /// The verification policy that decided (`emrtd verify --policy FILE`; strict by
    /// default), what it accepted and why.
    #[serde(default)]
    pub policy: super::policy::PolicyOutcome,
}

/// Is this check id required for VALID?
fn required_prefix(id: &str) -> bool {
    matches!(
        id,
        "pa.sod_signature" | "pa.dsc_chain" | "pa.dsc_validity" | "pa.csca_validity" | "pa.crl"
    ) || id.starts_with("pa.dg_hash.")
}

/// Derive the verdict from the checks. `required` lists check ids that must be present
/// and pass beyond the fixed set (e.g. `aa` when the document supports it).
pub fn decide(checks: &[Check], required: &[&str]) -> (Verdict, Vec<String>) {
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.status == Status::Fail && !c.informational)
        .map(|c| c.id.clone())
        .collect();
    if !failed.is_empty() {
        return (Verdict::Invalid, failed);
    }
    let mut missing = Vec::new();
    let fixed = [
        "pa.sod_signature",
        "pa.dsc_chain",
        "pa.dsc_validity",
        "pa.csca_validity",
        "pa.crl",
    ];
    // a required check counts when it is there and passed, every copy of it: a second
    // copy that did not pass is never outweighed by one that did
    for id in fixed.iter().chain(required.iter()) {
        let mut copies = checks.iter().filter(|c| c.id == *id).peekable();
        if copies.peek().is_none() || copies.any(|c| c.status != Status::Pass) {
            missing.push((*id).to_string());
        }
    }
    for c in checks {
        if required_prefix(&c.id) && c.status != Status::Pass && !missing.contains(&c.id) {
            missing.push(c.id.clone());
        }
    }
    if !checks
        .iter()
        .any(|c| c.id.starts_with("pa.dg_hash.") && c.status == Status::Pass)
    {
        missing.push("pa.dg_hash".into());
    }
    if missing.is_empty() {
        (Verdict::Valid, Vec::new())
    } else {
        (Verdict::Indeterminate, missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_pass() -> Vec<Check> {
        [
            "access",
            "pa.sod_signature",
            "pa.dsc_chain",
            "pa.dsc_validity",
            "pa.csca_validity",
            "pa.crl",
            "pa.dg_hash.DG1",
            "pa.dg_hash.DG2",
            "aa",
        ]
        .iter()
        .map(|id| Check::pass(*id, "ok"))
        .collect()
    }

    #[test]
    fn all_required_pass_is_valid() {
        assert_eq!(decide(&all_pass(), &["aa"]).0, Verdict::Valid);
    }

    #[test]
    fn any_failure_is_invalid_even_with_indeterminate_ones() {
        let mut c = all_pass();
        c[5] = Check::indeterminate("pa.crl", "no CRL");
        c[7] = Check::fail("pa.dg_hash.DG2", "hash differs");
        let (v, why) = decide(&c, &["aa"]);
        assert_eq!(v, Verdict::Invalid);
        assert_eq!(why, vec!["pa.dg_hash.DG2".to_string()]);
    }

    #[test]
    fn a_missing_required_check_is_never_valid() {
        for i in 0..all_pass().len() {
            let mut c = all_pass();
            let removed = c.remove(i);
            if removed.id.starts_with("pa.dg_hash.") {
                // the other data group's hash still stands for "every DG read"
                continue;
            }
            let (v, _) = decide(&c, &["aa", "access"]);
            assert_ne!(v, Verdict::Valid, "VALID without {}", removed.id);
        }
        let none: Vec<Check> = all_pass()
            .into_iter()
            .filter(|c| !c.id.starts_with("pa.dg_hash"))
            .collect();
        assert_ne!(
            decide(&none, &["aa"]).0,
            Verdict::Valid,
            "VALID with no data group checked"
        );
    }

    #[test]
    fn skipped_or_indeterminate_required_check_is_indeterminate() {
        for status in [Status::Skip, Status::Indeterminate] {
            let mut c = all_pass();
            c[8] = Check::new("aa", status, "offline");
            assert_eq!(decide(&c, &["aa"]).0, Verdict::Indeterminate);
            let mut c = all_pass();
            c[6] = Check::new("pa.dg_hash.DG1", status, "not read");
            assert_eq!(decide(&c, &["aa"]).0, Verdict::Indeterminate);
        }
    }

    #[test]
    fn informational_failure_does_not_change_the_verdict() {
        let mut c = all_pass();
        c.push(Check::fail("doc.expiry", "expired").informational());
        assert_eq!(decide(&c, &["aa"]).0, Verdict::Valid);
    }
}

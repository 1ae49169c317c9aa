//! The verification policy (`emrtd verify --policy FILE`, docs/verify.md): a deployment
//! chooses how a missing or stale CRL counts.
//!
//! ```toml
//! # strict (the default): no current CRL → INDETERMINATE
//! # advisory: no current CRL → VALID with a warning naming the CRL and since when
//! crl = "advisory"
//! ```
//!
//! What `advisory` relaxes is exactly one thing: a `pa.crl` (or `pa.card_security`)
//! check that is indeterminate **only** because no current CRL vouches for the DSC (the
//! `crl_unavailable` evidence that [`super::pa`] sets from the path's own revocation
//! result). A revoked DSC, a bad signature, an untrusted or missing CSCA, a DG hash, a
//! chip that was not authenticated, anything that failed: none of it is touched, and a
//! report is VALID under `advisory` only when every other required check passed. The
//! check keeps its status (`indeterminate`); the report's `policy` says which policy
//! decided, what it accepted and why.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::pa::CRL_UNAVAILABLE;
use super::report::{Report, Status, Verdict};

/// How a missing or stale CRL counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CrlPolicy {
    /// No current CRL → INDETERMINATE (the default).
    #[default]
    Strict,
    /// No current CRL → VALID with a warning (nothing else changes).
    Advisory,
}

impl CrlPolicy {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            CrlPolicy::Strict => "strict",
            CrlPolicy::Advisory => "advisory",
        }
    }
}

/// The policy file's content.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    crl: Option<CrlPolicy>,
}

/// A verification policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// Where it came from (`None`: the built-in default).
    pub file: Option<String>,
    /// How a missing or stale CRL counts.
    pub crl: CrlPolicy,
}

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// It could not be read.
    #[error("cannot read the policy {path}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not a valid policy (TOML syntax, an unknown key or value).
    #[error("the policy {path} is not valid: {message} (known: crl = \"strict\" | \"advisory\")")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Largest policy file read (a policy is a few lines).
const MAX_POLICY_BYTES: u64 = 64 * 1024;

impl Policy {
    /// Read a policy file (TOML). Unknown keys and values are refused: a typo must not
    /// silently leave the default in force.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        use std::io::Read;
        let label = path.display().to_string();
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_POLICY_BYTES).read_to_string(&mut text))
            .map_err(|source| PolicyError::Read {
                path: label.clone(),
                source,
            })?;
        Self::parse(&text, &label)
    }

    /// Parse policy text; `label` names it in errors and reports.
    pub fn parse(text: &str, label: &str) -> Result<Policy, PolicyError> {
        let f: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Invalid {
            path: label.to_owned(),
            message: e.message().to_owned(),
        })?;
        Ok(Policy {
            file: Some(label.to_owned()),
            crl: f.crl.unwrap_or_default(),
        })
    }

    /// `crl = "advisory" (policy FILE)`, `crl = "strict" (default)`.
    pub fn describe(&self) -> String {
        format!(
            "crl = \"{}\" ({})",
            self.crl.name(),
            match &self.file {
                Some(f) => format!("policy {f}"),
                None => "default".to_owned(),
            }
        )
    }
}

/// What the policy was and did, in the report (`report.policy`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PolicyOutcome {
    /// The policy file (`null`: the default policy).
    pub file: Option<String>,
    /// `strict` or `advisory`.
    pub crl: CrlPolicy,
    /// The policy turned the verdict (INDETERMINATE → VALID under `advisory`).
    pub decided: bool,
    /// Checks it accepted although they are not `pass` (only missing or stale CRLs).
    pub accepted: Vec<String>,
    /// What it accepted and why, one line per check.
    pub warnings: Vec<String>,
}

impl PolicyOutcome {
    /// The default, strict policy, as every report starts.
    pub fn strict_default() -> Self {
        PolicyOutcome::default()
    }

    /// One line for the human report.
    pub fn describe(&self) -> String {
        let p = Policy {
            file: self.file.clone(),
            crl: self.crl,
        };
        format!(
            "{}{}",
            p.describe(),
            if self.decided {
                ": it decided the verdict"
            } else {
                ""
            }
        )
    }
}

/// Apply `policy` to a report made under the default one (verify runs strict). Under
/// `advisory`, an INDETERMINATE report whose every undecided required check is a
/// missing or stale CRL becomes VALID, with a warning per accepted check; everything
/// else stays as it was.
pub fn apply(policy: &Policy, report: &mut Report) {
    let mut outcome = PolicyOutcome {
        file: policy.file.clone(),
        crl: policy.crl,
        ..PolicyOutcome::default()
    };
    if policy.crl == CrlPolicy::Advisory && report.verdict == Verdict::Indeterminate {
        let waivable = |id: &str| {
            report.checks.iter().any(|c| {
                c.id == id
                    && matches!(c.id.as_str(), "pa.crl" | "pa.card_security")
                    && c.status == Status::Indeterminate
                    && !c.informational
                    && c.evidence.get(CRL_UNAVAILABLE).is_some_and(|u| u.is_object())
            }) && !report
                .checks
                .iter()
                .any(|c| c.id == id && c.status != Status::Indeterminate)
        };
        if !report.because.is_empty() && report.because.iter().all(|id| waivable(id)) {
            for id in &report.because {
                if let Some(c) = report.checks.iter().find(|c| &c.id == id) {
                    outcome
                        .warnings
                        .push(format!("{id} accepted under {}: {}", policy.describe(), c.reason));
                }
            }
            outcome.accepted = std::mem::take(&mut report.because);
            outcome.decided = true;
            report.verdict = Verdict::Valid;
        }
    }
    report.policy = outcome;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::report::{Check, DocumentSummary, REPORT_SCHEMA, decide};
    use serde_json::json;

    fn stale() -> serde_json::Value {
        json!({ CRL_UNAVAILABLE: {"kind": "stale", "issuer": "C=XB", "since": "2020-04-01T00:00:00Z"} })
    }

    fn report(checks: Vec<Check>) -> Report {
        let (verdict, because) = decide(&checks, &[]);
        Report {
            schema: REPORT_SCHEMA,
            verdict,
            because,
            document: DocumentSummary::default(),
            checks,
            chip: serde_json::Value::Null,
            timing: serde_json::Value::Null,
            source: "test".into(),
            at: "2026-12-06".into(),
            policy: PolicyOutcome::strict_default(),
        }
    }

    fn base() -> Vec<Check> {
        [
            "pa.sod_signature",
            "pa.dsc_chain",
            "pa.dsc_validity",
            "pa.csca_validity",
            "pa.dg_hash.DG1",
        ]
        .iter()
        .map(|id| Check::pass(*id, "ok"))
        .collect()
    }

    fn advisory() -> Policy {
        Policy::parse("crl = \"advisory\"\n", "p.toml").unwrap()
    }

    /// The verdict on `checks` under the advisory CRL policy.
    fn advised(checks: Vec<Check>) -> Verdict {
        let mut r = report(checks);
        apply(&advisory(), &mut r);
        r.verdict
    }

    #[test]
    fn advisory_accepts_only_a_missing_or_stale_crl() {
        let mut c = base();
        c.push(Check::indeterminate("pa.crl", "stale since 2020-04-01").with_evidence(stale()));
        let mut r = report(c.clone());
        assert_eq!(r.verdict, Verdict::Indeterminate);
        apply(&Policy::default(), &mut r);
        assert_eq!(r.verdict, Verdict::Indeterminate);
        assert!(!r.policy.decided);
        let mut r = report(c);
        apply(&advisory(), &mut r);
        assert_eq!(r.verdict, Verdict::Valid);
        assert!(r.policy.decided);
        assert_eq!(r.policy.accepted, vec!["pa.crl".to_string()]);
        assert!(
            r.policy.warnings[0].contains("stale since 2020-04-01"),
            "{:?}",
            r.policy.warnings
        );
        assert!(r.policy.warnings[0].contains("policy p.toml"));
    }

    #[test]
    fn advisory_never_relaxes_anything_else() {
        // a revoked DSC
        let mut c = base();
        c.push(Check::fail("pa.crl", "REVOKED").with_evidence(stale()));
        assert_eq!(advised(c), Verdict::Invalid);
        // an indeterminate CRL without the marker (no path)
        let mut c = base();
        c.push(Check::indeterminate("pa.crl", "no certification path"));
        assert_eq!(advised(c), Verdict::Indeterminate);
        // a stale CRL and an untrusted CSCA
        let mut c = base();
        c[1] = Check::indeterminate("pa.dsc_chain", "no CSCA").with_evidence(stale());
        c.push(Check::indeterminate("pa.crl", "stale").with_evidence(stale()));
        assert_eq!(advised(c), Verdict::Indeterminate);
        // a stale CRL and a failed signature
        let mut c = base();
        c[0] = Check::fail("pa.sod_signature", "bad");
        c.push(Check::indeterminate("pa.crl", "stale").with_evidence(stale()));
        assert_eq!(advised(c), Verdict::Invalid);
        // the marker on a check the policy does not cover
        let mut c = base();
        c.push(Check::pass("pa.crl", "ok"));
        c.push(Check::indeterminate("aa", "not run").with_evidence(stale()));
        let checks = c.clone();
        let (verdict, because) = decide(&checks, &["aa"]);
        let mut r = report(c);
        r.verdict = verdict;
        r.because = because;
        apply(&advisory(), &mut r);
        assert_eq!(r.verdict, Verdict::Indeterminate);
        // the same id twice, one passing copy and one failing: never waived
        let mut c = base();
        c.push(Check::indeterminate("pa.crl", "stale").with_evidence(stale()));
        c.push(Check::skip("pa.crl", "other"));
        assert_eq!(advised(c), Verdict::Indeterminate);
    }

    #[test]
    fn policy_files_are_checked() {
        assert_eq!(Policy::parse("", "p").unwrap().crl, CrlPolicy::Strict);
        assert_eq!(
            Policy::parse("crl = \"strict\"", "p").unwrap().crl,
            CrlPolicy::Strict
        );
        for bad in ["crl = \"lenient\"", "crls = \"advisory\"", "crl = 1", "crl = "] {
            let e = Policy::parse(bad, "p.toml").unwrap_err().to_string();
            assert!(e.contains("p.toml"), "{e}");
        }
        assert_eq!(Policy::default().describe(), "crl = \"strict\" (default)");
    }
}

//! Doc 9303 conformance of a dump (`emrtd check`, for issuers' CI): the LDS structure
//! and tag rules (Part 10 §4), the MRZ (Parts 3–7), the Document Security Object
//! (Part 10 §4.6.2, Part 11 §5.1), the DSC and CSCA certificate profiles (Part 12
//! §7.1.1), the consistency of EF.CardAccess, EF.CardSecurity, DG14 and DG15 (Part 11
//! §6, §9.2) and the face record of DG2 (Part 10 §4.7.2, ISO/IEC 19794-5).
//!
//! Every rule is a [`Check`] with a stable id, a reason and the Doc 9303 part and
//! section it comes from. The statuses (`docs/check.md`):
//! * `pass` — the document follows the rule;
//! * `fail` — it breaks a mandatory rule ("shall"): the document does not conform;
//! * `fail` with `informational` (shown as `warn`) — it departs from a recommendation,
//!   uses a deprecated algorithm (SHA-1), or shows a quirk readers tolerate (zero
//!   padding, BER lengths, face record dimensions that differ from the image);
//! * `skip` — the rule does not apply or cannot be checked from this dump (a file
//!   that was not read, no CSCA in the trust store). A skip is never a failure.
//!
//! The document conforms when no counted check failed. This is not a verdict on
//! authenticity (that is `emrtd verify`): a conforming dump may be a forgery, and a
//! genuine document may have findings.

mod certs;
mod chip;
mod face;
mod lds;
mod mrz;
mod sod;

use serde::Serialize;

use super::report::{Check, Status};
use crate::lds::LdsFile;
use crate::lds::com::Com;
use crate::lds::sod::Sod;
use crate::pki::store::TrustStore;
use crate::reader::Dump;

/// Conformance report schema version.
pub const CHECK_SCHEMA: u32 = 1;

/// Doc 9303 references used by the checks (8th edition, 2021).
pub mod refs {
    /// EF.COM.
    pub const COM: &str = "Doc 9303 Part 10 §4.6.1";
    /// EF.SOD, the Document Security Object.
    pub const SOD: &str = "Doc 9303 Part 10 §4.6.2";
    /// Passive Authentication.
    pub const PA: &str = "Doc 9303 Part 11 §5.1";
    /// Active Authentication.
    pub const AA: &str = "Doc 9303 Part 11 §6.1";
    /// Chip Authentication.
    pub const CA: &str = "Doc 9303 Part 11 §6.2";
    /// SecurityInfos (EF.CardAccess, EF.CardSecurity, DG14).
    pub const SECURITY_INFOS: &str = "Doc 9303 Part 11 §9.2";
    /// The certificate profile (CSCA, DSC).
    pub const CERT_PROFILE: &str = "Doc 9303 Part 12 §7.1.1";
    /// Check digits.
    pub const CHECK_DIGITS: &str = "Doc 9303 Part 3 §4.9";
    /// The face (DG2).
    pub const DG2: &str = "Doc 9303 Part 10 §4.7.2";

    /// The section of a data group (`Doc 9303 Part 10 §4.7.n`).
    pub fn dg(n: u8) -> String {
        format!("Doc 9303 Part 10 §4.7.{n}")
    }

    /// The section defining a file.
    pub fn file(f: crate::lds::LdsFile) -> String {
        use crate::lds::LdsFile;
        match f {
            LdsFile::Com => COM.into(),
            LdsFile::Sod => SOD.into(),
            LdsFile::Dg(n) => dg(n),
            LdsFile::CardAccess | LdsFile::CardSecurity => SECURITY_INFOS.into(),
            LdsFile::AtrInfo | LdsFile::Dir => "Doc 9303 Part 10 §3".into(),
        }
    }
}

/// A warning: a failed check that does not count (see the module docs).
pub(crate) fn warn(id: impl Into<String>, reason: impl Into<String>) -> Check {
    Check::fail(id, reason).informational()
}

/// PASS saying `pass` when `problems` is empty, else FAIL listing them; either way with
/// `evidence` and the rule's `reference`.
pub(crate) fn findings(
    id: &str,
    problems: &[String],
    pass: impl Into<String>,
    evidence: serde_json::Value,
    reference: &str,
) -> Check {
    let check = if problems.is_empty() {
        Check::pass(id, pass)
    } else {
        Check::fail(id, problems.join("; "))
    };
    check.with_evidence(evidence).reference(reference)
}

/// Everything the checks share, decoded once.
pub(crate) struct Ctx<'a> {
    /// The dump.
    pub dump: &'a Dump,
    /// The trust store, when there is one.
    pub store: Option<&'a TrustStore>,
    /// EF.COM decoded.
    pub com: Option<Com>,
    /// EF.SOD decoded: the CMS layer (`sod.signed_data`, read by the one CMS walker)
    /// and the LDS security object.
    pub sod: Option<Sod>,
    /// DG1's MRZ.
    pub mrz: Option<crate::mrz::Mrz>,
}

impl<'a> Ctx<'a> {
    fn new(dump: &'a Dump, store: Option<&'a TrustStore>) -> Self {
        let file = |f| dump.files.get(&f);
        let com = file(LdsFile::Com).and_then(|b| Com::decode(b).ok());
        let sod = file(LdsFile::Sod).and_then(|b| crate::lds::sod::Sod::decode(b).ok());
        let mrz = file(LdsFile::Dg(1))
            .and_then(|b| crate::lds::dg1::Dg1::decode(b).ok())
            .and_then(|d| d.parse_mrz().ok());
        Ctx {
            dump,
            store,
            com,
            sod,
            mrz,
        }
    }

    /// The bytes of a file in the dump.
    pub fn file(&self, f: LdsFile) -> Option<&'a [u8]> {
        self.dump.files.get(&f).map(Vec::as_slice)
    }

    /// Data groups in the dump.
    pub fn dgs_in_dump(&self) -> Vec<u8> {
        self.dump
            .files
            .keys()
            .filter_map(|f| match f {
                LdsFile::Dg(n) => Some(*n),
                _ => None,
            })
            .collect()
    }

    /// Data groups EF.COM lists (None without a decodable EF.COM).
    pub fn com_dgs(&self) -> Option<Vec<u8>> {
        self.com.as_ref().map(|c| {
            c.files()
                .into_iter()
                .filter_map(|f| match f {
                    LdsFile::Dg(n) => Some(n),
                    _ => None,
                })
                .collect()
        })
    }

    /// Data groups EF.SOD lists.
    pub fn sod_dgs(&self) -> Option<Vec<u8>> {
        self.sod.as_ref().map(Sod::dg_numbers)
    }

    /// The status word the manifest records for a file that was not read.
    pub fn absent_sw(&self, f: LdsFile) -> Option<&'a str> {
        let name = f.name();
        self.dump
            .manifest
            .absent
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.sw.as_str())
    }

    /// True when the dump knows a data group is on the chip although it is not in the
    /// dump (listed by EF.COM or EF.SOD, or denied with a security status).
    pub fn known_elsewhere(&self, n: u8) -> bool {
        let listed =
            self.com_dgs().is_some_and(|l| l.contains(&n)) || self.sod_dgs().is_some_and(|l| l.contains(&n));
        let denied = self.absent_sw(LdsFile::Dg(n)).is_some_and(|sw| sw != "6A82");
        listed || denied
    }
}

/// Counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Failed (counted).
    pub fail: usize,
    /// Warnings (informational failures).
    pub warn: usize,
    /// Skipped.
    pub skip: usize,
}

/// The result of `emrtd check` on one dump.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConformanceReport {
    /// Schema version.
    pub schema: u32,
    /// True when no counted check failed.
    pub conformant: bool,
    /// Ids of the counted failures.
    pub failed: Vec<String>,
    /// Ids of the warnings.
    pub warnings: Vec<String>,
    /// Counts by status.
    pub counts: Counts,
    /// The document: format, document code and issuing state from DG1 (no personal data).
    pub document: serde_json::Value,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// Where the data came from.
    pub source: String,
}

impl ConformanceReport {
    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// True for a counted failure.
pub fn counts_as_failure(c: &Check) -> bool {
    c.status == Status::Fail && !c.informational
}

/// Run every conformance check on a dump. `store` supplies the CSCA of the DSC
/// when it holds one.
pub fn check(dump: &Dump, store: Option<&TrustStore>, source: &str) -> ConformanceReport {
    let ctx = Ctx::new(dump, store);
    let mut checks = Vec::new();
    checks.extend(lds::checks(&ctx));
    checks.extend(mrz::checks(&ctx));
    checks.extend(sod::checks(&ctx));
    checks.extend(certs::checks(&ctx));
    checks.extend(chip::checks(&ctx));
    checks.extend(face::checks(&ctx));
    let mut counts = Counts::default();
    let mut failed = Vec::new();
    let mut warnings = Vec::new();
    for c in &checks {
        match c.status {
            Status::Pass => counts.pass += 1,
            Status::Fail if c.informational => {
                counts.warn += 1;
                warnings.push(c.id.clone());
            }
            Status::Fail => {
                counts.fail += 1;
                failed.push(c.id.clone());
            }
            Status::Skip | Status::Indeterminate => counts.skip += 1,
        }
    }
    let document = match &ctx.mrz {
        Some(m) => serde_json::json!({
            "type": m.format().to_string(),
            "code": m.document_code().trim_end_matches('<'),
            "issuer": m.issuing_state().trim_end_matches('<'),
        }),
        None => serde_json::Value::Null,
    };
    ConformanceReport {
        schema: CHECK_SCHEMA,
        conformant: failed.is_empty(),
        failed,
        warnings,
        counts,
        document,
        checks,
        source: source.to_owned(),
    }
}

//! The fixture booklets (pkd-fixtures/booklets/*.toml) read from the emulator with
//! `emrtd read --emulator P --out D`, then `emrtd check --dump D` with the fixture
//! PKI in the store. The genuine ones conform (exit 0), except for the fixture
//! defects listed in [`KNOWN_FINDINGS`] (pinned exactly, so fixing the fixture makes
//! this test say so). Forgeries that break a Doc 9303 structure rule are caught by
//! the check named after it; forgeries only a live chip or the PKI state can reveal
//! (clones, revoked or expired certificates) are conformant by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Genuine booklets that do not conform, and why: chips that verify VALID but that an
/// issuer's CI should hear about.
const KNOWN_FINDINGS: &[(&str, &[&str])] = &[
    // the CA key only in EF.CardSecurity: Doc 9303 Part 11 §9.2 has DG14 carry it
    ("ca-in-card-security", &["chip.ca_keys"]),
    // EF.COM naming tags no data group has (NFCPassportReader #202)
    ("quirk-cn-com-unknown-tags", &["lds.com.tag_list"]),
    // EF.SOD typed id-data instead of ldsSecurityObject (Chinese passports)
    ("quirk-cn-sod-id-data", &["sod.econtent_type"]),
];

/// Genuine booklets whose encoding deviates in a way no Doc 9303 or RFC rule forbids:
/// `check` must name it as a warning (an informational failure), not a finding.
const KNOWN_WARNINGS: &[(&str, &str)] = &[
    // digestAlgorithm SHA-224, signatureAlgorithm ecdsa-with-SHA256 (gmrtd #130)
    ("quirk-lt-sod-p224-sha256", "sod.signature_algorithm"),
    // the SignerInfo's issuer in PrintableString, the DSC's in UTF8String (gmrtd #440)
    ("quirk-ua-sod-sid-printable", "sod.dsc_embedded"),
];

/// Forgeries and the check that must catch each (among possibly others).
const FORGERIES: &[(&str, &str)] = &[
    ("forged-card-access-downgraded", "chip.pace_infos"),
    ("forged-com-extra-tag", "lds.com.tag_list"),
    ("forged-com-missing-tag", "lds.com.tag_list"),
    ("forged-dg1-check-digit", "mrz.check_digits"),
    ("forged-dg1-rewritten", "sod.dg_hash_values"),
    ("forged-dg13-unsigned-added", "sod.dg_coverage"),
    ("forged-dg14-ca-key-replaced", "chip.ca_keys"),
    ("forged-dg2-byte-flipped", "sod.dg_hash_values"),
    ("forged-dg2-removed", "lds.present.DG2"),
    ("forged-dg2-sod-hash-updated", "sod.signature"),
    ("forged-dsc-other-country", "dsc.country"),
    ("forged-dsc-wrong-key-usage", "dsc.key_usage"),
    ("forged-sod-dg-excluded", "sod.dg_coverage"),
    ("forged-sod-dsc-swapped", "sod.signature"),
    ("forged-sod-removed", "lds.present.EF.SOD"),
    ("forged-sod-resigned-untrusted", "csca.found"),
    ("forged-sod-signature-flipped", "sod.signature"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn emrtd(store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_emrtd"));
    c.arg("--store").arg(store).arg("-q");
    c
}

struct Checked {
    code: i32,
    failed: Vec<String>,
    report: serde_json::Value,
}

fn read_and_check(store: &Path, tmp: &Path, booklet: &Path) -> Option<Checked> {
    let name = booklet.file_stem().unwrap().to_string_lossy().into_owned();
    let out = tmp.join(&name);
    let read = emrtd(store)
        .args(["read", "--emulator"])
        .arg(booklet)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    if !read.status.success() {
        return None;
    }
    let o = emrtd(store)
        .args(["check", "--json", "--dump"])
        .arg(&out)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&o.stderr)));
    let mut failed: Vec<String> = report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    failed.sort();
    Some(Checked {
        code: o.status.code().unwrap(),
        failed,
        report,
    })
}

#[test]
fn booklets_against_doc9303() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("trust.db");
    let pki: Vec<PathBuf> = std::fs::read_dir(root().join("pkd-fixtures/pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        emrtd(&store)
            .args(["pkd", "import"])
            .args(&pki)
            .status()
            .unwrap()
            .success()
    );
    let mut booklets: Vec<PathBuf> = std::fs::read_dir(root().join("pkd-fixtures/booklets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    booklets.sort();
    let mut genuine = 0;
    let mut problems = Vec::new();
    for b in &booklets {
        let name = b.file_stem().unwrap().to_string_lossy().into_owned();
        let forged = name.starts_with("forged-");
        let Some(c) = read_and_check(&store, tmp.path(), b) else {
            // a chip that refuses access cannot be dumped; only forgeries may do that
            assert!(forged, "{name} cannot be read");
            continue;
        };
        if let Some((_, id)) = FORGERIES.iter().find(|(n, _)| *n == name) {
            if c.code != 1 || !c.failed.iter().any(|f| f == id) {
                problems.push(format!("{name}: expected {id} to fail, failed {:?}", c.failed));
            }
            continue;
        }
        if forged || name.starts_with("indeterminate-") {
            continue;
        }
        genuine += 1;
        let expected: Vec<String> = KNOWN_FINDINGS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, ids)| ids.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default();
        let expected_code = if expected.is_empty() { 0 } else { 1 };
        if c.failed != expected || c.code != expected_code {
            problems.push(format!(
                "{name}: failed {:?} (exit {}), expected {expected:?}\n{:#}",
                c.failed, c.code, c.report
            ));
        }
        for (_, id) in KNOWN_WARNINGS.iter().filter(|(n, _)| *n == name) {
            let check = c.report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == *id);
            if !check.is_some_and(|x| x["status"] == "fail" && x["informational"] == true) {
                problems.push(format!("{name}: expected a warning from {id}, got {check:?}"));
            }
        }
        // the DSC and its CSCA come from the fixture PKI: the CSCA profile was checked
        let csca = c.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == "csca.found")
            .unwrap();
        if csca["status"] != "pass" {
            problems.push(format!("{name}: csca.found {}", csca["reason"]));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(genuine >= 8, "only {genuine} genuine booklets");
}

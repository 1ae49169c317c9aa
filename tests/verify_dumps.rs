//! `emrtd verify --dump` on the specimen LDS sets of test-vectors/ (their test CSCAs are
//! not public, so the chain is indeterminate and the verdict must be INDETERMINATE,
//! never VALID), and on tampered copies (INVALID with the failing check named).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn vectors(set: &str) -> PathBuf {
    root().join("test-vectors/lds").join(set)
}

/// A dump directory assembled from vector files (name in the dump, source path).
fn assemble(files: &[(&str, PathBuf)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, src) in files {
        std::fs::copy(src, dir.path().join(name)).unwrap();
    }
    dir
}

fn verify(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let store = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(["verify", "--dump", dir.to_str().unwrap(), "--json"])
        .args(if extra.contains(&"--at") {
            &[][..]
        } else {
            &["--at", "2012-01-01"][..]
        })
        .args(extra)
        .env("EMRTD_STORE", store.path().join("none.db"))
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    let json: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (code, json)
}

fn status(report: &Value, id: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "absent".into())
}

/// A specimen set: `pass` are the data groups its EF.SOD covers, `unsigned` data groups
/// that are in the folder but not covered (files of another test set). A data group that
/// is there but unsigned fails (a genuine chip carries none), so with them the set is
/// INVALID; without them it is INDETERMINATE (no CSCA), every signed group passing.
fn assert_specimen(dir: &Path, pass: &[u8], unsigned: &[u8]) {
    let (code, r) = verify(dir, &[]);
    if unsigned.is_empty() {
        assert_eq!(code, 3, "{r:#}");
        assert_eq!(r["verdict"], "INDETERMINATE");
    } else {
        assert_eq!(code, 1, "{r:#}");
        assert_eq!(r["verdict"], "INVALID");
        for n in unsigned {
            assert_eq!(
                status(&r, &format!("pa.dg_hash.DG{n}")),
                "fail",
                "DG{n} is not covered by the SOD"
            );
        }
        for n in unsigned {
            std::fs::remove_file(dir.join(format!("DG{n}.bin"))).unwrap();
        }
        return assert_specimen(dir, pass, &[]);
    }
    assert_eq!(status(&r, "pa.sod_signature"), "pass");
    assert_eq!(status(&r, "pa.dsc_chain"), "indeterminate");
    for n in pass {
        assert_eq!(status(&r, &format!("pa.dg_hash.DG{n}")), "pass", "DG{n}");
    }
    assert_eq!(status(&r, "mrz.check_digits"), "pass");
}

#[test]
fn bsi2008_specimen_is_indeterminate() {
    let v = vectors("jmrtd_bsi2008");
    let dir = assemble(&[
        ("EF.COM.bin", v.join("EF_COM.bin")),
        ("EF.SOD.bin", v.join("EF_SOD.bin")),
        ("DG1.bin", v.join("Datagroup1.bin")),
        ("DG2.bin", v.join("Datagroup2.bin")),
        ("DG3.bin", v.join("Datagroup3.bin")),
        ("DG4.bin", v.join("Datagroup4.bin")),
        ("DG14.bin", v.join("Datagroup14.bin")),
        ("DG15.bin", v.join("Datagroup15.bin")),
    ]);
    assert_specimen(dir.path(), &[1, 2, 3, 14], &[4, 15]);
    // the vector folder itself loads too (Datagroup*.bin / EF_*.bin names); it holds the
    // unsigned DG4 and DG15 as well
    let (code, _) = verify(&v, &[]);
    assert_eq!(code, 1);
}

#[test]
fn bsi_tr03105_reference_set_is_indeterminate() {
    let v = vectors("bsi_tr03105_5_refdata_zienit");
    let b = vectors("jmrtd_bsi2008");
    let dir = assemble(&[
        ("EF.COM.bin", v.join("EF_COM.bin")),
        ("EF.SOD.bin", v.join("EF_SOD.bin")),
        ("DG1.bin", v.join("Datagroup1.bin")),
        ("DG2.bin", b.join("Datagroup2.bin")),
        ("DG3.bin", b.join("Datagroup3.bin")),
        ("DG4.bin", b.join("Datagroup4.bin")),
        ("DG14.bin", v.join("Datagroup14.bin")),
        ("DG15.bin", v.join("Datagroup15.bin")),
    ]);
    assert_specimen(dir.path(), &[1, 2, 3, 4, 14], &[15]);
}

#[test]
fn etsi_prototype_is_indeterminate() {
    let v = vectors("etsi_tr103200_prototype_via_pymrtd");
    let b = vectors("jmrtd_bsi2008");
    let dir = assemble(&[
        ("EF.SOD.bin", v.join("EF_SOD.bin")),
        ("DG1.bin", v.join("DG1.bin")),
        ("DG2.bin", b.join("Datagroup2.bin")),
        ("DG3.bin", b.join("Datagroup3.bin")),
        ("DG4.bin", b.join("Datagroup4.bin")),
        ("DG14.bin", v.join("DG14.bin")),
        ("DG15.bin", v.join("DG15.bin")),
    ]);
    assert_specimen(dir.path(), &[1, 2, 3, 4, 14, 15], &[]);
}

fn loes() -> tempfile::TempDir {
    let v = vectors("jmrtd_loes2006");
    assemble(&[
        ("EF.COM.bin", v.join("EF_COM_ef011E.bin")),
        ("EF.SOD.bin", v.join("EF_SOD_ef011D.bin")),
        ("DG1.bin", v.join("DG1_ef0101.bin")),
        ("DG2.bin", v.join("DG2_ef0102.bin")),
        ("DG15.bin", v.join("DG15_ef010F.bin")),
    ])
}

#[test]
fn loes_specimen_is_indeterminate_and_expiry_is_only_a_note() {
    let dir = loes();
    assert_specimen(dir.path(), &[1, 2, 15], &[]);
    let (_, r) = verify(dir.path(), &["--at", "2024-01-01"]);
    let expiry = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "doc.expiry")
        .unwrap();
    assert_eq!(expiry["status"], "fail");
    assert_eq!(expiry["informational"], true);
    assert_ne!(
        r["verdict"], "INVALID",
        "an expired document is a finding, not a forgery"
    );
}

#[test]
fn tampered_data_group_is_invalid() {
    let dir = loes();
    let p = dir.path().join("DG2.bin");
    let mut b = std::fs::read(&p).unwrap();
    b[5000] ^= 0x01;
    std::fs::write(&p, b).unwrap();
    let (code, r) = verify(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "INVALID");
    assert_eq!(status(&r, "pa.dg_hash.DG2"), "fail");
    assert_eq!(status(&r, "pa.dg_hash.DG1"), "pass");
    assert!(
        r["because"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b == "pa.dg_hash.DG2")
    );
}

#[test]
fn flipped_sod_signature_is_invalid() {
    let dir = loes();
    let p = dir.path().join("EF.SOD.bin");
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len();
    b[n - 10] ^= 0x80;
    std::fs::write(&p, b).unwrap();
    let (code, r) = verify(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(status(&r, "pa.sod_signature"), "fail");
}

#[test]
fn missing_sod_is_never_valid() {
    let dir = loes();
    std::fs::remove_file(dir.path().join("EF.SOD.bin")).unwrap();
    let (code, r) = verify(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(status(&r, "pa.sod_signature"), "fail");
}

#[test]
fn several_dumps_give_one_json_line_each_and_the_worst_exit() {
    let good = loes();
    let bad = loes();
    let p = bad.path().join("DG1.bin");
    let mut b = std::fs::read(&p).unwrap();
    b[10] ^= 1;
    std::fs::write(&p, b).unwrap();
    let store = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(["verify", "--json", "--at", "2010-01-01", "--dump"])
        .arg(good.path())
        .arg("--dump")
        .arg(bad.path())
        .env("EMRTD_STORE", store.path().join("none.db"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["verdict"], "INDETERMINATE");
    assert_eq!(lines[1]["verdict"], "INVALID");
}

#[test]
fn junit_output_names_each_check() {
    let dir = loes();
    let store = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(["verify", "--format", "junit", "--at", "2010-01-01", "--dump"])
        .arg(dir.path())
        .env("EMRTD_STORE", store.path().join("none.db"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let x = String::from_utf8(o.stdout).unwrap();
    assert!(x.starts_with("<?xml"));
    assert!(x.contains("<testcase classname=\"emrtd.verify\" name=\"pa.sod_signature\"></testcase>"));
    assert!(x.contains("name=\"pa.dsc_chain\"><error message="));
    assert!(x.contains("value=\"INDETERMINATE\""));
}

//! `emrtd pkd ...` end to end: the JSON contract of CLI.md and the exit codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn emrtd(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

fn repo(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .display()
        .to_string()
}

fn fixture_files() -> Vec<String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo("pkd-fixtures/pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v.iter().map(|p| p.display().to_string()).collect()
}

#[test]
fn import_json_matches_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/dir/trust.db");
    let files = fixture_files();
    let mut args = vec!["--json", "pkd", "import"];
    args.extend(files.iter().map(String::as_str));
    let out = emrtd(&db, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v["files"].as_array().unwrap();
    assert_eq!(list.len(), files.len());
    for f in list {
        let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = keys;
        keys.sort();
        assert_eq!(
            keys,
            [
                "added",
                "duplicate",
                "errors",
                "kind",
                "path",
                "rejected",
                "signature"
            ]
        );
        assert!(
            ["master_list", "ldif", "certificate", "crl", "deviation_list"]
                .contains(&f["kind"].as_str().unwrap())
        );
        assert!(["valid", "invalid", "unsigned", "n/a"].contains(&f["signature"].as_str().unwrap()));
    }
    assert_eq!(list[0]["kind"], "master_list");
    assert_eq!(list[0]["signature"], "valid");
    assert_eq!(list[0]["added"], 5);
    assert!(db.exists());
}

#[test]
fn garbage_and_wrong_type_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("trust.db");
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"\x01\x02 this is not a certificate").unwrap();
    let out = emrtd(&db, &["--json", "pkd", "import", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["files"][0]["kind"].is_null());
    assert!(!v["files"][0]["errors"].as_array().unwrap().is_empty());
    // an EF.SOD is CMS but not a list
    let sod = dir.path().join("sod.der");
    let raw = std::fs::read(repo("test-vectors/lds/jmrtd_loes2006/EF_SOD_ef011D.bin")).unwrap();
    std::fs::write(&sod, emrtd::tlv::parse(&raw).unwrap().value).unwrap();
    let out = emrtd(&db, &["pkd", "import", sod.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("neither a CSCA master list nor a deviation list"));
    // a missing file
    let out = emrtd(&db, &["pkd", "import", "/nonexistent/file.ml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn refused_master_list_exits_1_and_trust_unsigned_imports_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("trust.db");
    let mut ml = std::fs::read(repo("pkd-fixtures/pki/00-masterlist-ut.ml")).unwrap();
    let n = ml.len();
    ml[n - 10] ^= 0x40; // inside the signature
    let bad = dir.path().join("bad.ml");
    std::fs::write(&bad, &ml).unwrap();
    let out = emrtd(&db, &["--json", "pkd", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["signature"], "invalid");
    assert_eq!(v["files"][0]["added"], 0);
    assert_eq!(v["files"][0]["rejected"], 5);
    let out = emrtd(
        &db,
        &[
            "--json",
            "pkd",
            "import",
            "--trust-unsigned",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["signature"], "invalid");
    assert_eq!(v["files"][0]["added"], 5);
}

#[test]
fn list_stats_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("trust.db");
    let mut args = vec!["-q", "pkd", "import"];
    let files = fixture_files();
    args.extend(files.iter().map(String::as_str));
    assert_eq!(emrtd(&db, &args).status.code(), Some(0));

    let out = emrtd(
        &db,
        &["--json", "pkd", "list", "--country", "xa", "--kind", "dsc"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e["country"] == "XA" && e["role"] == "dsc"));

    let out = emrtd(&db, &["pkd", "list", "--kind", "crl"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);

    let out = emrtd(&db, &["--json", "pkd", "stats"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let xb = v["countries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["country"] == "XB")
        .unwrap()
        .clone();
    assert_eq!(xb["crl_next_update"], "2020-04-01T00:00:00Z");
    assert_eq!(xb["cscas"], 1);

    // remove by a unique prefix
    let fp = entries[0]["fingerprint"].as_str().unwrap().to_owned();
    let out = emrtd(&db, &["pkd", "remove", &fp[..12]]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = emrtd(
        &db,
        &["--json", "pkd", "list", "--country", "XA", "--kind", "dsc"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entries"].as_array().unwrap().len(), 2);
    // unknown and ambiguous prefixes are errors
    assert_eq!(emrtd(&db, &["pkd", "remove", &fp[..12]]).status.code(), Some(2));
    assert_eq!(emrtd(&db, &["pkd", "remove", "zz"]).status.code(), Some(2));
}

#[test]
fn store_location_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .env_remove("EMRTD_STORE")
        .env("XDG_DATA_HOME", dir.path())
        .args(["pkd", "import", &repo("pkd-fixtures/pki/10-xb-csca.pem")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("emrtd/trust.db").exists());
    let db = dir.path().join("env.db");
    let out = Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .env("EMRTD_STORE", &db)
        .args(["pkd", "stats"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(db.exists());
}

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
                "anchor",
                "anchored",
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
    // the master list comes first and is anchored by the CSCA files after it in the
    // same invocation (UT CSCA 1 certifies the link to the key of the list's signer)
    assert_eq!(list[0]["anchored"], true);
    let ut1 = emrtd::pki::cert::Certificate::from_der(
        &std::fs::read(repo("pkd-fixtures/pki/10-ut-csca-1.cer")).unwrap(),
    )
    .unwrap();
    assert_eq!(list[0]["anchor"], ut1.fingerprint().as_str());
    for f in list.iter().skip(1) {
        let kind = f["kind"].as_str().unwrap();
        let is_list = kind == "master_list" || f["path"].as_str().unwrap().contains("-ml.ldif");
        assert_eq!(f["anchored"].is_boolean(), is_list, "{f}");
    }
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

#[test]
fn anchor_option_and_anchored_in_json_stats_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("trust.db");
    let nl_ml = repo("test-vectors/pki/masterlists/NL_MASTERLIST_20211207.mls");
    let nl_csca = repo("test-vectors/pki/csca_certs/NL_CSCA_serial6_20210621-20340630_zienit.cer");
    // without an anchor: stored, exit 0, and said plainly
    let out = emrtd(&db, &["pkd", "import", "--at", "2021-12-17", &nl_ml]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NOT anchored") && text.contains("NOT ANCHORED"),
        "{text}"
    );
    let out = emrtd(&db, &["pkd", "stats"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NOT TRUSTED: 306 CSCA/link"), "{text}");
    assert!(text.contains("anchors (0)"), "{text}");
    let out = emrtd(&db, &["pkd", "list", "--kind", "ml"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("[NOT anchored"));
    // the same list again with --anchor naming its signer's CSCA
    let out = emrtd(
        &db,
        &[
            "--json",
            "pkd",
            "import",
            "--at",
            "2021-12-17",
            "--anchor",
            &nl_csca,
            &nl_ml,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["anchored"], true);
    let fp = emrtd::pki::cert::Certificate::from_der(&std::fs::read(&nl_csca).unwrap())
        .unwrap()
        .fingerprint();
    assert_eq!(v["files"][0]["anchor"], fp.as_str());
    assert_eq!(v["anchors"][0]["anchor"], fp.as_str());
    let out = emrtd(&db, &["--json", "pkd", "stats"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["anchors"][0]["fingerprint"], fp.as_str());
    assert_eq!(v["anchors"][0]["trust"], "anchor");
    assert_eq!(v["anchors"][0]["master_lists"], 1);
    let out = emrtd(&db, &["pkd", "stats"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&fp));
    // an anchor that is not a CSCA is an error, and nothing is imported after it
    let dsc = repo("pkd-fixtures/keys/ut-dsc-valid.cer");
    let out = emrtd(&db, &["pkd", "import", "--anchor", &dsc, &nl_ml]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_forged_master_list_cannot_make_a_forged_booklet_valid() {
    let dir = tempfile::tempdir().unwrap();
    let booklets = dir.path().join("booklets");
    std::fs::create_dir_all(&booklets).unwrap();
    std::fs::copy(
        repo("pkd-fixtures/booklets/ref1.toml"),
        booklets.join("ref1.toml"),
    )
    .unwrap();
    for sub in ["data", "keys"] {
        std::fs::create_dir_all(booklets.join(sub)).unwrap();
        for e in std::fs::read_dir(repo(&format!("pkd-fixtures/booklets/{sub}"))).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), booklets.join(sub).join(e.file_name())).unwrap();
        }
    }
    // an attacker's own "CSCA Utopia", a list that holds it, a DSC and a CRL under it
    let forged = emrtd::pki::fixtures::self_made_pki("UT", "CSCA Utopia").unwrap();
    let w = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let ml = w("forged.ml", &forged.master_list);
    let crl = w("forged.crl", &forged.crl);
    let csca = w("forged-csca.cer", &forged.csca.cert);
    let dsc = w("forged-dsc.cer", &forged.dsc);
    let key = w("forged-dsc.key.pem", &forged.dsc_key.pkcs8_pem().unwrap());
    let profile = booklets.join("forged-master-list.toml");
    std::fs::write(
        &profile,
        format!(
            "base = \"ref1.toml\"\nname = \"forged-master-list\"\n\n[sign]\ndsc = {dsc:?}\nkey = {key:?}\n\n[expect]\nverdict = \"INDETERMINATE\"\nexit = 3\nfailing = [\"pa.dsc_chain\"]\n"
        ),
    )
    .unwrap();
    let profile = profile.display().to_string();
    let verdict = |db: &Path| {
        let out = emrtd(db, &["--json", "verify", "--emulator", &profile]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), v["verdict"].as_str().unwrap().to_owned())
    };
    // the genuine test PKI plus the forged list: the forged booklet is not VALID
    let db = dir.path().join("trust.db");
    let mut args = vec!["-q", "pkd", "import"];
    let files = fixture_files();
    args.extend(files.iter().map(String::as_str));
    args.extend([ml.as_str(), crl.as_str()]);
    let out = emrtd(&db, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (code, v) = verdict(&db);
    assert_ne!(v, "VALID");
    assert_eq!((code, v.as_str()), (Some(3), "INDETERMINATE"));
    // control: were the forged CSCA an anchor the user named, the same booklet would be
    // VALID, so the anchor rule alone is what refuses it
    let db2 = dir.path().join("anchored.db");
    let mut args = vec!["-q", "pkd", "import", "--anchor", csca.as_str()];
    args.extend(files.iter().map(String::as_str));
    args.extend([ml.as_str(), crl.as_str()]);
    let out = emrtd(&db2, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (code, v) = verdict(&db2);
    assert_eq!((code, v.as_str()), (Some(0), "VALID"));
}

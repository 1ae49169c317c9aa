//! EAC CV certificates through the CLI: `pkd import` of `.cvcert` files, `pkd list
//! --kind cvca|dv|is`, `inspect`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::{Command, Output};

fn emrtd(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

fn vector(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test-vectors/protocol")
        .join(p)
        .display()
        .to_string()
}

#[test]
fn cv_certificates_are_imported_listed_and_inspected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("trust.db");
    let files = [
        vector("bsi_eac_worked_example/dh_cvca.cvcert"),
        vector("bsi_eac_worked_example/dh_dv_cert.cvcert"),
        vector("bsi_eac_worked_example/dh_ta_cert.cvcert"),
        vector("eac_cv_certs/openpace_DECVCAEPASS00102"),
    ];
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
    for f in v["files"].as_array().unwrap() {
        assert_eq!(f["kind"], "cv_certificate");
        assert_eq!(f["added"], 1);
        // each one was checked against itself (CVCA) or its issuer imported before it
        assert_eq!(f["signature"], "valid", "{f}");
    }
    for (kind, n, chr) in [
        ("cvca", 2, "DECVCAEPASS00102"),
        ("dv", 1, "DETESTDVDE019"),
        ("is", 1, "DETESTATDE019"),
    ] {
        let out = emrtd(&db, &["--json", "pkd", "list", "--kind", kind]);
        assert_eq!(out.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let e = v["entries"].as_array().unwrap();
        assert_eq!(e.len(), n, "{kind}");
        assert!(e.iter().any(|x| x["subject"] == chr), "{kind}");
        for x in e {
            assert_eq!(x["role"], kind);
            assert_eq!(x["sha256"].as_str().unwrap().len(), 64);
        }
    }
    // a tampered CV certificate is refused, exit 2, nothing added
    let bad = dir.path().join("bad.cvcert");
    let mut b = std::fs::read(vector("eac_cv_certs/vsmartcard_ZZSTCVCA00001.cvcert")).unwrap();
    *b.last_mut().unwrap() ^= 1;
    std::fs::write(&bad, &b).unwrap();
    let out = emrtd(&db, &["pkd", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("signature does not verify"));
    // X.509 kinds do not list CV certificates
    let out = emrtd(&db, &["--json", "pkd", "list", "--kind", "csca"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entries"].as_array().unwrap().len(), 0);
    // inspect
    let out = emrtd(
        &db,
        &["inspect", &vector("bsi_eac_worked_example/dh_cvca.cvcert")],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CV certificate"), "{text}");
    assert!(text.contains("holder (CHR): DETESTCVCA00003"), "{text}");
    assert!(text.contains("self-signature: valid"), "{text}");
}

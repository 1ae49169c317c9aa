//! An EF.SOD that does not embed its Document Signer certificate (CMS allows it; Doc 9303
//! Part 10 §4.6.2 only recommends embedding): `verify` takes the DSC from the trust store
//! by what the SignerInfo names, issuer and serial number or (CMS v3) subject key
//! identifier, as `check` does. Without it in the store the signature cannot be checked
//! and the verdict is INDETERMINATE, never VALID.
//!
//! The dumps are read from the genuine BAC booklet (signed by `ut-dsc-old`, once named
//! by issuer and serial, once by SKI); the test then removes the `certificates` field
//! from EF.SOD. The signature covers the signed attributes only, so it stays valid.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "support/sod_edit.rs"]
mod sod_edit;
use sod_edit::without_certificates;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn emrtd(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

/// The BAC booklet with `sid` as the SignerInfo's signer identifier, read into a dump.
fn dump(dir: &Path, sid: &str) -> PathBuf {
    let booklets = root().join("pkd-fixtures/booklets");
    let profile = std::fs::read_to_string(booklets.join("bac.toml"))
        .unwrap()
        .replace("\"data/", &format!("\"{}/data/", booklets.display()))
        .replace(
            "\"../keys/",
            &format!("\"{}/pkd-fixtures/keys/", root().display()),
        )
        .replace(
            "digest = \"sha256\"",
            &format!("digest = \"sha256\"\nsid = \"{sid}\""),
        );
    let p = dir.join(format!("bac-{sid}.toml"));
    std::fs::write(&p, profile).unwrap();
    let out = dir.join(format!("dump-{sid}"));
    let o = Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args([
            "read",
            "--emulator",
            p.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// Replace EF.SOD in a dump, keeping its manifest's size and SHA-256 true.
fn strip_dsc(dump: &Path) {
    let p = dump.join("EF.SOD.bin");
    let sod = without_certificates(&std::fs::read(&p).unwrap());
    std::fs::write(&p, &sod).unwrap();
    let m = dump.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["name"] == "EF.SOD" {
            f["size"] = sod.len().into();
            f["sha256"] = hex::encode(openssl::sha::sha256(&sod)).into();
        }
    }
    std::fs::write(&m, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

fn verify(store: &Path, dump: &Path) -> (i32, Value) {
    let o = emrtd(
        store,
        &[
            "--json",
            "verify",
            "--dump",
            dump.to_str().unwrap(),
            "--at",
            "2026-06-01",
        ],
    );
    let report: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap(), report)
}

fn check<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

#[test]
fn a_dsc_not_embedded_is_taken_from_the_store_by_issuer_serial_or_ski() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("trust.db");
    // the test PKI without its LDIF files, which carry the booklets' DSCs
    let pki: Vec<String> = std::fs::read_dir(root().join("pkd-fixtures/pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|x| x != "ldif"))
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["-q", "pkd", "import"];
    args.extend(pki.iter().map(String::as_str));
    assert!(emrtd(&store, &args).status.success());

    for sid in ["issuer-serial", "ski"] {
        let d = dump(dir.path(), sid);
        // embedded: VALID, the DSC not from the store
        let (code, r) = verify(&store, &d);
        assert_eq!((code, r["verdict"].as_str()), (0, Some("VALID")), "{sid}: {r:#}");
        assert_eq!(
            check(&r, "pa.sod_signature")["evidence"]["signer_certificate_from_store"],
            false
        );

        strip_dsc(&d);
        // not embedded and not in the store: the signature cannot be checked
        let (code, r) = verify(&store, &d);
        assert_eq!(r["verdict"], "INDETERMINATE", "{sid}: {r:#}");
        assert_eq!(code, 3, "{sid}");
        let sig = check(&r, "pa.sod_signature");
        assert_eq!(sig["status"], "indeterminate", "{sid}: {sig:#}");
        assert!(
            sig["reason"]
                .as_str()
                .unwrap()
                .contains("neither embedded nor in the trust store"),
            "{sid}: {sig:#}"
        );
    }

    // the DSC imported: both dumps verify with the store's copy
    let dsc = root().join("pkd-fixtures/keys/ut-dsc-old.cer");
    assert!(
        emrtd(&store, &["-q", "pkd", "import", dsc.to_str().unwrap()])
            .status
            .success()
    );
    for sid in ["issuer-serial", "ski"] {
        let (code, r) = verify(&store, &dir.path().join(format!("dump-{sid}")));
        assert_eq!((code, r["verdict"].as_str()), (0, Some("VALID")), "{sid}: {r:#}");
        let sig = check(&r, "pa.sod_signature");
        assert_eq!(sig["status"], "pass", "{sid}: {sig:#}");
        assert_eq!(sig["evidence"]["signer_certificate_from_store"], true, "{sid}");
    }
}

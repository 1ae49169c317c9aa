//! The forgery matrix offline: every booklet profile under pkd-fixtures/booklets states
//! the verdict `emrtd verify` must give live (`[expect]`, checked in fixtures_cli.rs);
//! here each is read with `read --out` and verified with `verify --dump`. No forged
//! profile may be VALID offline, and forgeries of the data are caught by the same check.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_emrtd"));
    c.env_remove("EMRTD_MRZ").env_remove("EMRTD_CAN");
    c
}

/// A trust store filled with `emrtd pkd import pkd-fixtures/pki/*`, built once.
fn store() -> &'static Path {
    static STORE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = STORE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.db");
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("pkd-fixtures/pki"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let o = bin()
            .arg("pkd")
            .arg("import")
            .args(&files)
            .env("EMRTD_STORE", &path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (dir, path)
    });
    p
}

struct Expect {
    verdict: String,
    exit: i32,
    failing: Vec<String>,
    /// `--eac-chain … --eac-key …` the expectation holds with.
    eac: Vec<String>,
}

fn expectation(profile: &Path) -> Option<Expect> {
    let v: toml::Value = toml::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    let e = v.get("expect")?;
    Some(Expect {
        verdict: e.get("verdict")?.as_str()?.to_string(),
        exit: i32::try_from(e.get("exit")?.as_integer()?).ok()?,
        failing: e
            .get("failing")
            .and_then(|f| f.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        eac: {
            let dir = profile.parent()?;
            let mut out = Vec::new();
            for c in e
                .get("eac_chain")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                out.push("--eac-chain".to_string());
                out.push(dir.join(c.as_str()?).to_string_lossy().into_owned());
            }
            if let Some(k) = e.get("eac_key").and_then(|k| k.as_str()) {
                out.push("--eac-key".to_string());
                out.push(dir.join(k).to_string_lossy().into_owned());
            }
            out
        },
    })
}

fn profiles() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("pkd-fixtures/booklets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

fn verify_json(args: &[&str]) -> (i32, Option<Value>, String) {
    let o = bin()
        .args(args)
        .arg("--json")
        .env("EMRTD_STORE", store())
        .output()
        .unwrap();
    let json = serde_json::from_slice(&o.stdout).ok();
    (
        o.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn status_of(r: &Value, id: &str) -> Option<String> {
    r["checks"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| c["status"].as_str().unwrap_or("").to_string())
}

#[test]
fn offline_dumps_of_forged_booklets_are_never_valid() {
    for p in profiles() {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(expect) = expectation(&p) else { continue };
        if expect.exit == 2 {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dump");
        let o = bin()
            .args([
                "read",
                "--emulator",
                p.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .args(&expect.eac)
            .output()
            .unwrap();
        if !o.status.success() {
            // a chip that cannot be read cannot be dumped; its live verdict is tested above
            assert_ne!(expect.verdict, "VALID", "{name}: genuine booklet unreadable");
            continue;
        }
        let (code, json, _) = verify_json(&["verify", "--dump", out.to_str().unwrap()]);
        let r = json.unwrap_or_else(|| panic!("{name}: no JSON"));
        if name.starts_with("forged-") {
            assert_ne!(r["verdict"], "VALID", "{name}: forged dump VALID");
            // forgeries of the data are caught offline too, by the same check
            // (mrz.consistency needs the printed MRZ, which a dump does not have)
            if expect
                .failing
                .iter()
                .all(|f| f.starts_with("pa.") || f == "mrz.check_digits")
            {
                assert_eq!(code, 1, "{name}: offline {r:#}");
                for id in &expect.failing {
                    assert_eq!(status_of(&r, id).as_deref(), Some("fail"), "{name}: {id} offline");
                }
            }
        } else if expect.verdict == "VALID" {
            // no chip offline: PA passes, the verdict stops at INDETERMINATE when the
            // document supports AA/CA
            assert_eq!(
                status_of(&r, "pa.sod_signature").as_deref(),
                Some("pass"),
                "{name}"
            );
            assert_ne!(r["verdict"], "INVALID", "{name}");
        }
    }
}

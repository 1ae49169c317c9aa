//! The fixture booklets (pkd-fixtures/booklets/*.toml) read from the emulator with
//! `emrtd read --emulator P --out D`, then `emrtd check --dump D` with the fixture
//! PKI in the store: the genuine ones conform (exit 0). A booklet whose chip has no
//! EF.SOD yet fails exactly `lds.present.EF.SOD`, so every other rule is still pinned.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn emrtd(store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_emrtd"));
    c.arg("--store").arg(store).arg("-q");
    c
}

#[test]
fn genuine_booklets_conform() {
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
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            !n.starts_with("forged-") && !n.starts_with("indeterminate-")
        })
        .collect();
    booklets.sort();
    assert!(!booklets.is_empty());
    let mut with_sod = 0;
    for b in &booklets {
        let name = b.file_stem().unwrap().to_string_lossy().into_owned();
        let out = tmp.path().join(&name);
        let read = emrtd(&store)
            .args(["read", "--emulator"])
            .arg(b)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            read.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&read.stderr)
        );
        let o = emrtd(&store)
            .args(["check", "--json", "--dump"])
            .arg(&out)
            .output()
            .unwrap();
        let code = o.status.code().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&o.stderr)));
        let failed: Vec<String> = v["failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect();
        if out.join("EF.SOD.bin").exists() {
            with_sod += 1;
            assert_eq!(code, 0, "{name} does not conform: {failed:?}\n{v:#}");
            assert_eq!(v["conformant"], true);
        } else {
            eprintln!("NOTE: {name} has no EF.SOD yet; only lds.present.EF.SOD may fail");
            assert_eq!(code, 1, "{name}");
            assert_eq!(failed, vec!["lds.present.EF.SOD".to_string()], "{name}: {v:#}");
        }
    }
    eprintln!(
        "{with_sod} of {} genuine booklets carry an EF.SOD",
        booklets.len()
    );
}

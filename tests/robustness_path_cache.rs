//! Passive Authentication remembers validated DSC → CSCA paths for the process (so
//! `verify --dump` over thousands of documents checks each path once). The memo must
//! never outlive the trust store's content: after the CSCAs are removed from the same
//! store file, in the same process, the same document no longer chains.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../benches/support/ref1.rs"]
mod ref1;

use std::path::PathBuf;
use std::process::Command;

use emrtd::pki::store::TrustStore;
use emrtd::reader::Dump;
use emrtd::verify::{self, Status};

#[path = "support/offline.rs"]
mod offline_verify;
use offline_verify::verify_offline;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn status(r: &verify::Report, id: &str) -> Status {
    r.checks.iter().find(|c| c.id == id).map(|c| c.status).unwrap()
}

#[test]
fn path_cache_sees_store_changes() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = root().join("pkd-fixtures/booklets/ref1.toml");
    let booklet = if shipped.exists() {
        shipped
    } else {
        ref1::build(&root(), &dir.path().join("ref1")).unwrap().toml
    };
    let store_path = dir.path().join("store.db");
    let mut pki: Vec<PathBuf> = std::fs::read_dir(root().join("pkd-fixtures/pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pki.sort();
    let emrtd = env!("CARGO_BIN_EXE_emrtd");
    let o = Command::new(emrtd)
        .arg("--store")
        .arg(&store_path)
        .args(["-q", "pkd", "import"])
        .args(&pki)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dump_dir = dir.path().join("dump");
    let o = Command::new(emrtd)
        .args(["-q", "read", "--emulator"])
        .arg(&booklet)
        .arg("--out")
        .arg(&dump_dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dump = Dump::load(&dump_dir).unwrap();
    let at = time::macros::datetime!(2030-06-01 12:00 UTC);

    let mut store = TrustStore::open(&store_path).unwrap();
    let run = |store: &TrustStore| verify_offline(&dump, store, at);
    let first = run(&store);
    assert_eq!(status(&first, "pa.dsc_chain"), Status::Pass);
    // the second time comes from the memo, with the same result
    let again = run(&store);
    assert_eq!(status(&again, "pa.dsc_chain"), Status::Pass);

    // every UT CSCA (both generations and the link certificate) leaves the store
    for name in [
        "10-ut-csca-1.cer",
        "10-ut-csca-2.cer",
        "10-ut-link-csca-2-by-1.cer",
    ] {
        let der = std::fs::read(root().join("pkd-fixtures/pki").join(name)).unwrap();
        let fp = hex::encode(openssl::sha::sha256(&der));
        store.remove(&fp).unwrap();
    }
    let after = run(&store);
    assert_ne!(
        status(&after, "pa.dsc_chain"),
        Status::Pass,
        "a remembered path outlived the CSCAs it was built on"
    );
    assert_ne!(after.verdict, verify::Verdict::Valid);
}

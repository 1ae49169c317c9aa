//! ICAO PKD LDIF at scale: a generated collection-001 file with 30,000 DSCs and 69 CRLs
//! imports completely; SIGKILL in the middle of an import leaves the store with none or
//! all of the file; truncated files are refused with the line named.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use emrtd::pki::import::{self, FileOutcome, ImportOptions};
use emrtd::pki::store::TrustStore;

const N_DSC: usize = 30_000;
const N_CRL: usize = 69;

fn big_ldif() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = FILE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("icaopkd-001-dsccrl-bench.ldif");
        let t = Instant::now();
        let info = emrtd::pki::fixtures::write_big_ldif(&p, N_DSC, N_CRL).unwrap();
        eprintln!(
            "generated {} DSCs, {} CRLs, {} bytes in {:?}",
            info.dscs,
            info.crls,
            info.bytes,
            t.elapsed()
        );
        (dir, p)
    });
    p
}

fn counts(db: &Path) -> (i64, i64, i64, i64) {
    TrustStore::open(db).unwrap().counts().unwrap()
}

/// The indexes on `certificates`, as (name, sql), sorted.
fn certificate_indexes(db: &Path) -> Vec<(String, Option<String>)> {
    let store = TrustStore::open(db).unwrap();
    let mut st = store
        .connection()
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'certificates' ORDER BY name")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The certificate indexes of a store that never saw a bulk load.
fn schema_indexes() -> Vec<(String, Option<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    drop(TrustStore::open(&db).unwrap());
    let ix = certificate_indexes(&db);
    assert_eq!(ix.len(), 6, "{ix:?}");
    ix
}

#[test]
fn big_ldif_imports_every_dsc_and_crl() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("trust.db");
    let mut store = TrustStore::open(&db).unwrap();
    let t = Instant::now();
    let r = import::import_file(&mut store, big_ldif(), &ImportOptions::default());
    let took = t.elapsed();
    eprintln!("imported {} objects in {took:?} (debug build)", r.added);
    assert_eq!(r.outcome, FileOutcome::Imported, "{:?}", r.errors);
    assert_eq!((r.added, r.duplicate, r.rejected), ((N_DSC + N_CRL) as u64, 0, 0));
    drop(store);
    assert_eq!(counts(&db), (N_DSC as i64, N_CRL as i64, 0, 0));
    // the file was loaded in bulk (indexes dropped, then built again): they are all back
    assert_eq!(certificate_indexes(&db), schema_indexes());
    // indexed lookups work on the big store
    let store = TrustStore::open(&db).unwrap();
    let dscs = store
        .list(Some("AA"), Some(emrtd::pki::store::ListKind::Dsc))
        .unwrap();
    assert_eq!(dscs.len(), N_DSC.div_ceil(N_CRL));
}

#[test]
fn sigkill_during_import_leaves_none_or_all_of_the_file() {
    let bin = env!("CARGO_BIN_EXE_emrtd");
    let ldif = big_ldif();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/pki/00-masterlist-ut.ml");
    let run = |db: &Path| {
        Command::new(bin)
            .arg("--store")
            .arg(db)
            .args(["-q", "pkd", "import"])
            .arg(ldif)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // how long a full import takes here
    let dir = tempfile::tempdir().unwrap();
    let full_db = dir.path().join("full.db");
    let t = Instant::now();
    let status = run(&full_db).wait().unwrap();
    let full = t.elapsed();
    assert!(status.success());
    let all = counts(&full_db);
    assert_eq!(all, (N_DSC as i64, N_CRL as i64, 0, 0));

    let mut killed_mid_import = 0;
    let points = [0.1, 0.3, 0.5, 0.75];
    for (i, fraction) in points.iter().enumerate() {
        let db = dir.path().join(format!("kill-{i}.db"));
        // the store already holds something that must survive
        let mut s = TrustStore::open(&db).unwrap();
        let pre = import::import_file(&mut s, &fixtures, &ImportOptions::default());
        assert_eq!(pre.added, 5);
        drop(s);
        let before = counts(&db);
        let mut child = run(&db);
        std::thread::sleep(full.mul_f64(*fraction));
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let after = counts(&db);
        let none = after == before;
        let everything = after
            == (
                before.0 + N_DSC as i64,
                before.1 + N_CRL as i64,
                before.2,
                before.3,
            );
        assert!(
            none || everything,
            "killed at {fraction}: before {before:?}, after {after:?}"
        );
        // killed inside a bulk load (indexes dropped) or not: the indexes are there
        assert_eq!(certificate_indexes(&db), schema_indexes(), "killed at {fraction}");
        if still_running && none {
            killed_mid_import += 1;
        }
        if i + 1 == points.len() {
            // the store is usable afterwards: the same import now completes
            let status = run(&db).wait().unwrap();
            assert!(status.success());
            assert_eq!(counts(&db).0, before.0 + N_DSC as i64);
        }
    }
    assert!(
        killed_mid_import >= 2,
        "no kill landed inside the import ({full:?} per import)"
    );
}

fn fixture_ldif() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/pki/30-icaopkd-001-dsccrl.ldif"))
        .unwrap()
}

#[test]
fn truncated_ldif_is_refused_naming_the_line_and_adds_nothing() {
    let full = fixture_ldif();
    let text = String::from_utf8(full.clone()).unwrap();
    // cut inside the base64 of the last record, at the end of a line, and in an attribute name
    let last_dn = text.rfind("\ndn: ").unwrap() + 1;
    let last_line = text[..last_dn].matches('\n').count() + 1;
    // (the file ends "...=\n\n": cutting 2 bytes leaves the last line without its end)
    for cut in [last_dn + 400, full.len() - 2, last_dn + 30, full.len() - 20] {
        let mut store = TrustStore::open_in_memory().unwrap();
        let r = import::import_bytes(&mut store, "cut.ldif", &full[..cut], &ImportOptions::default());
        assert_eq!(r.outcome, FileOutcome::Failed, "cut at {cut}: {r:?}");
        assert_eq!(r.added, 0);
        let msg = r.errors.join(" ");
        assert!(msg.contains("truncated"), "{msg}");
        assert!(
            msg.contains(&format!("line {last_line}")) || msg.contains("line "),
            "{msg}"
        );
        assert_eq!(store.counts().unwrap(), (0, 0, 0, 0));
    }
    // the intact file imports
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(&mut store, "full.ldif", &full, &ImportOptions::default());
    assert_eq!(r.outcome, FileOutcome::Imported);
    assert_eq!(r.added, 9);
}

#[test]
fn truncated_ldif_names_the_record_line() {
    let full = fixture_ldif();
    let text = String::from_utf8(full.clone()).unwrap();
    let last_dn = text.rfind("\ndn: ").unwrap() + 1;
    let line = text[..last_dn].matches('\n').count() + 1;
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(
        &mut store,
        "cut.ldif",
        &full[..last_dn + 400],
        &ImportOptions::default(),
    );
    assert!(
        r.errors[0].contains(&format!("line {line}")),
        "{:?} (record at line {line})",
        r.errors
    );
}

#[test]
fn bad_record_in_the_middle_is_rejected_with_its_line_and_the_rest_imported() {
    let text = String::from_utf8(fixture_ldif()).unwrap();
    // corrupt the base64 of the first certificate: a '*' is not base64
    let pos = text.find("userCertificate;binary:: ").unwrap() + "userCertificate;binary:: ".len() + 10;
    let line = text[..pos].matches('\n').count() + 1;
    let mut bad = text.into_bytes();
    bad[pos] = b'*';
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(&mut store, "bad.ldif", &bad, &ImportOptions::default());
    assert_eq!(r.outcome, FileOutcome::Imported);
    assert_eq!((r.added, r.rejected), (8, 1));
    assert!(
        r.errors[0].starts_with(&format!("line {line} ")),
        "{:?}",
        r.errors
    );
}

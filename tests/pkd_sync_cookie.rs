//! `emrtd pkd sync` by RFC 4533 content synchronisation (docs/pkd-sync.md) against real
//! OpenLDAP slapd servers started here (tests/support/slapd.rs): a mirror with the
//! `syncprov` overlay and a session log, and a plain one without `syncprov`.
//!
//! After a run that lists the directory, the desk holds a cookie; the next run asks the
//! server for what changed since. Every state a desk reaches that way is compared with a
//! desk that syncs the same directory from scratch (live objects, directory entries with
//! their versions and entryUUIDs): they must be identical.
//!
//! - adds, modifies and deletes arrive by the cookie, without listing the directory;
//! - a deletion (by entryUUID) withdraws only what that entry carried: an object another
//!   entry still carries stays;
//! - a session log that overflowed, a server restarted (its session log lost), a cookie
//!   the server does not understand, an oversized cookie: still correct;
//! - a plain slapd (no `syncprov`): no cookie is kept, the listing path works as before;
//! - the desk killed (SIGKILL) during a cookie run: the store is as before or complete,
//!   the cookie with it, and the next run completes; the server down: exit 2, unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/slapd.rs"]
mod slapd;
mod support;

use support::root;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use emrtd::pki::pkd_tree::PKD_DOWNLOAD_BASE;
use serde_json::Value;
use slapd::{Config, Slapd};

const N_DSC: usize = 1500;
const SESSIONLOG: usize = 200;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_emrtd")
}

fn emrtd(store: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run emrtd")
}

fn sync_json(store: &Path, url: &str) -> (i32, Value, String) {
    let out = emrtd(
        store,
        &["--json", "pkd", "sync", url, "--retries", "1", "--timeout", "20"],
    );
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, json, stderr)
}

fn ok_sync(store: &Path, url: &str) -> Value {
    let (code, j, err) = sync_json(store, url);
    assert_eq!(code, 0, "{err}\n{j}");
    j
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} missing in {v}"))
}

fn anchored(path: &Path) -> PathBuf {
    let files: Vec<String> = [
        "10-ut-csca-1.cer",
        "10-ut-csca-2.cer",
        "10-xa-csca-explicit.cer",
        "10-xb-csca.pem",
        "10-xc-csca-expired.cer",
    ]
    .iter()
    .map(|f| root().join("pkd-fixtures/pki").join(f).display().to_string())
    .collect();
    let mut args = vec!["-q", "pkd", "import"];
    args.extend(files.iter().map(String::as_str));
    let out = emrtd(path, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path.to_path_buf()
}

/// What a desk holds: every live object and every directory entry with its version and
/// entryUUID (two desks synced from one directory must agree).
fn state(store: &Path) -> String {
    let conn = rusqlite::Connection::open(store).unwrap();
    let mut out = String::new();
    for q in [
        "SELECT 'cert ' || hex(sha256) FROM certificates WHERE withdrawn = 0 ORDER BY sha256",
        "SELECT 'crl ' || hex(sha256) FROM crls WHERE withdrawn = 0 ORDER BY sha256",
        "SELECT 'ml ' || hex(sha256) FROM master_lists WHERE withdrawn = 0 ORDER BY sha256",
        "SELECT 'dl ' || hex(sha256) FROM deviation_lists WHERE withdrawn = 0 ORDER BY sha256",
        "SELECT 'entry ' || dn_norm || ' ' || COALESCE(pkd_version, -1) || ' ' || COALESCE(entry_uuid, '-')
           FROM dir_entries ORDER BY dn_norm",
        "SELECT 'object ' || e.dn_norm || ' ' || hex(x.object_sha256) FROM dir_entry_objects x
           JOIN dir_entries e ON e.id = x.entry_id ORDER BY 1",
    ] {
        let mut st = conn.prepare(q).unwrap();
        for r in st.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            out.push_str(&r.unwrap());
            out.push('\n');
        }
    }
    out
}

fn cookies(store: &Path) -> i64 {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.query_row("SELECT COUNT(*) FROM dir_sync", [], |r| r.get(0))
        .unwrap()
}

/// The state a desk reaches syncing `url` from scratch.
fn fresh_state(dir: &Path, name: &str, url: &str) -> String {
    let p = anchored(&dir.join(format!("fresh-{name}.db")));
    let j = ok_sync(&p, url);
    assert!(!j["content_sync"].as_bool().unwrap(), "a first run lists: {j}");
    state(&p)
}

/// Copy a store (with its WAL) to `to`.
fn copy_store(from: &Path, to: &Path) {
    for ext in ["", "-wal", "-shm"] {
        let f = PathBuf::from(format!("{}{ext}", from.display()));
        let t = PathBuf::from(format!("{}{ext}", to.display()));
        let _ = std::fs::remove_file(&t);
        if f.exists() {
            std::fs::copy(&f, &t).unwrap();
        }
    }
}

/// DNs of the generated DSC entries (their pkdVersions are above 1000).
fn generated_dns(server: &Slapd) -> Vec<String> {
    let out = Command::new(slapd::bin("ldapsearch"))
        .args([
            "-x",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-H",
            &server.provider_url(),
            "-D",
            slapd::ROOT_DN,
            "-w",
            slapd::ROOT_PW,
            "-b",
            &format!("dc=data,{PKD_DOWNLOAD_BASE}"),
            "(&(objectClass=inetOrgPerson)(pkdVersion>=1001))",
            "1.1",
        ])
        .output()
        .unwrap();
    let dns: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("dn: ").map(str::to_owned))
        .collect();
    assert!(dns.len() >= N_DSC, "{} generated DSCs listed", dns.len());
    dns
}

fn new_version(dns: &[String], from: usize) -> String {
    dns.iter()
        .enumerate()
        .map(|(i, dn)| {
            format!(
                "dn: {dn}\nchangetype: modify\nreplace: pkdVersion\npkdVersion: {}\n-\n\n",
                from + i
            )
        })
        .collect()
}

fn delete(dns: &[String]) -> String {
    dns.iter()
        .map(|dn| format!("dn: {dn}\nchangetype: delete\n\n"))
        .collect()
}

/// An entry under `c=XB` carrying XC's DSC (`sn` tells two apart).
fn xc_entry(sn: u32, version: u32) -> String {
    use base64::Engine;
    let der = std::fs::read(root().join("pkd-fixtures/keys/xc-dsc.cer")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    format!(
        "dn: {}\nchangetype: add\n\
         objectClass: inetOrgPerson\nobjectClass: pkdDownload\ncn: CN=DS XC,C=XC\nsn: {sn}\npkdVersion: {version}\n\
         userCertificate;binary:: {b64}\n\n",
        xc_dn(sn)
    )
}

fn xc_dn(sn: u32) -> String {
    format!("cn=CN\\=DS XC\\,C\\=XC+sn={sn},o=dsc,c=XB,dc=data,{PKD_DOWNLOAD_BASE}")
}

/// Did the server see a listing (the pkdVersion + entryUUID search) since `from`?
fn listed_since(server: &Slapd, from: usize) -> bool {
    server.log()[from..].contains("attr=pkdVersion entryUUID")
}

#[test]
fn pkd_sync_by_content_synchronisation() {
    if let Some(why) = slapd::unavailable() {
        support::skip_without("slapd", &why);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (tree, entries) = slapd::build_tree(&t.join("tree"), N_DSC, 5, Vec::new());
    let mut mirror = Slapd::start(
        &t.join("mirror"),
        Config {
            provider: true,
            sessionlog: Some(SESSIONLOG),
            load: Some(tree.clone()),
            log_stats: true,
            ..Config::default()
        },
    );
    let url = mirror.url(PKD_DOWNLOAD_BASE);
    let dns = generated_dns(&mirror);

    // -- the first run lists (fetches) everything and keeps a cookie
    let desk = anchored(&t.join("desk.db"));
    let j = ok_sync(&desk, &url);
    assert!(!j["content_sync"].as_bool().unwrap(), "{j}");
    assert_eq!(n(&j, "added"), entries as u64, "{j}");
    assert_eq!(cookies(&desk), 1, "a cookie from a server with syncprov");
    assert_eq!(state(&desk), fresh_state(t, "0", &url));

    // -- adds, a modify and a delete arrive by the cookie; nothing is listed
    mirror.modify(
        &(xc_entry(91, 90_001)
            + &xc_entry(92, 90_002)
            + &new_version(&dns[0..1], 90_003)
            + &delete(&dns[1..2])),
    );
    let seen = mirror.log().len();
    let j = ok_sync(&desk, &url);
    assert!(j["content_sync"].as_bool().unwrap(), "{j}");
    assert!(
        !listed_since(&mirror, seen),
        "a cookie run does not list the directory"
    );
    assert_eq!(n(&j, "added"), 3, "two new entries, one new version: {j}");
    assert_eq!(n(&j, "removed"), 2, "the old version and the deleted entry: {j}");
    assert_eq!(n(&j, "listed"), entries as u64 + 1, "{j}");
    assert_eq!(n(&j, "unchanged"), entries as u64 - 2, "{j}");
    assert_eq!(n(&j, "pkd_version"), 90_003, "{j}");
    assert_eq!(state(&desk), fresh_state(t, "1", &url));

    // -- a deletion withdraws only what that entry carried: XC's DSC stays while the
    // other entry carries it
    mirror.modify(&delete(&[xc_dn(91)]));
    let j = ok_sync(&desk, &url);
    assert!(j["content_sync"].as_bool().unwrap(), "{j}");
    assert_eq!((n(&j, "removed"), n(&j, "withdrawn")), (1, 0), "{j}");
    assert_eq!(state(&desk), fresh_state(t, "2", &url));
    mirror.modify(&delete(&[xc_dn(92)]));
    let j = ok_sync(&desk, &url);
    assert_eq!((n(&j, "removed"), n(&j, "withdrawn")), (1, 1), "{j}");
    assert_eq!(state(&desk), fresh_state(t, "3", &url));

    // -- nothing changed: nothing to do
    let before = state(&desk);
    let j = ok_sync(&desk, &url);
    assert!(j["content_sync"].as_bool().unwrap(), "{j}");
    assert_eq!((n(&j, "added"), n(&j, "removed")), (0, 0), "{j}");
    assert_eq!(n(&j, "unchanged"), entries as u64 - 1, "{j}");
    assert_eq!(state(&desk), before);

    // -- more changes than the session log holds
    mirror.modify(&(new_version(&dns[10..10 + SESSIONLOG + 50], 100_000) + &delete(&dns[2..4])));
    let j = ok_sync(&desk, &url);
    eprintln!("after a session-log overflow: {j}");
    assert_eq!(n(&j, "added"), SESSIONLOG as u64 + 50, "{j}");
    assert_eq!(n(&j, "removed"), SESSIONLOG as u64 + 52, "{j}");
    assert_eq!(state(&desk), fresh_state(t, "4", &url));

    // -- the server restarted: its session log (in memory) is gone
    mirror.restart();
    mirror.modify(&(new_version(&dns[300..302], 110_000) + &delete(&dns[4..5])));
    let j = ok_sync(&desk, &url);
    eprintln!("after a restart of the mirror: {j}");
    assert_eq!((n(&j, "added"), n(&j, "removed")), (2, 3), "{j}");
    assert_eq!(state(&desk), fresh_state(t, "5", &url));

    // -- a cookie the server does not understand, one too large to be kept: still correct
    for (i, bad) in [
        b"rid=000,csn=garbage".to_vec(),
        vec![b'x'; emrtd::pki::sync::MAX_COOKIE + 1],
    ]
    .into_iter()
    .enumerate()
    {
        let conn = rusqlite::Connection::open(&desk).unwrap();
        conn.execute("UPDATE dir_sync SET cookie = ?1", [&bad]).unwrap();
        drop(conn);
        mirror.modify(&new_version(&dns[310 + i..311 + i], 120_000 + i));
        let j = ok_sync(&desk, &url);
        eprintln!("with a bad cookie: {j}");
        assert!(!j["content_sync"].as_bool().unwrap(), "{j}");
        assert_eq!(n(&j, "added"), 1, "{j}");
        assert_eq!(state(&desk), fresh_state(t, &format!("6-{i}"), &url));
        let conn = rusqlite::Connection::open(&desk).unwrap();
        let c: Vec<u8> = conn
            .query_row("SELECT cookie FROM dir_sync", [], |r| r.get(0))
            .unwrap();
        assert!(
            c.len() <= emrtd::pki::sync::MAX_COOKIE && c != bad,
            "a fresh cookie"
        );
    }

    // -- the mirror down: exit 2, nothing changed; back: the next run completes
    mirror.modify(&new_version(&dns[320..330], 130_000));
    let before = state(&desk);
    mirror.stop();
    let (code, _, err) = sync_json(&desk, &url);
    assert_eq!(code, 2, "{err}");
    assert_eq!(state(&desk), before);
    mirror.restart();
    let j = ok_sync(&desk, &url);
    assert_eq!(n(&j, "added"), 10, "{j}");
    assert_eq!(state(&desk), fresh_state(t, "7", &url));

    // -- the desk killed during a cookie run: before or complete, never between
    let start = t.join("kill-start.db");
    copy_store(&desk, &start);
    let before = state(&start);
    mirror.modify(&(new_version(&dns[400..550], 140_000) + &delete(&dns[5..8])));
    let done = t.join("kill-done.db");
    copy_store(&start, &done);
    let j = ok_sync(&done, &url);
    assert!(j["content_sync"].as_bool().unwrap(), "{j}");
    let complete = state(&done);
    assert_eq!(complete, fresh_state(t, "8", &url));
    for delay_ms in [30u64, 80, 150, 300, 600] {
        let store = t.join(format!("killed-{delay_ms}.db"));
        copy_store(&start, &store);
        let mut child = Command::new(bin())
            .args(["--store", store.to_str().unwrap(), "-q", "pkd", "sync", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let after = state(&store);
        assert!(
            after == before || after == complete,
            "killed after {delay_ms} ms: neither as before nor complete"
        );
        ok_sync(&store, &url);
        assert_eq!(state(&store), complete, "killed after {delay_ms} ms");
    }

    // -- a plain slapd (no syncprov): no cookie, the listing path as before
    let plain = Slapd::start(
        &t.join("plain"),
        Config {
            load: Some(tree),
            ..Config::default()
        },
    );
    let plain_url = plain.url(PKD_DOWNLOAD_BASE);
    let pdesk = anchored(&t.join("plain-desk.db"));
    ok_sync(&pdesk, &plain_url);
    assert_eq!(cookies(&pdesk), 0, "no cookie from a server without syncprov");
    let pdns = generated_dns(&plain);
    plain.modify(&(xc_entry(93, 95_000) + &new_version(&pdns[0..2], 95_001) + &delete(&pdns[2..3])));
    let j = ok_sync(&pdesk, &plain_url);
    assert!(!j["content_sync"].as_bool().unwrap(), "{j}");
    assert_eq!((n(&j, "added"), n(&j, "removed")), (3, 3), "{j}");
    assert_eq!(state(&pdesk), fresh_state(t, "plain", &plain_url));
    // the desk that synced from the mirror, pointed at the plain server (another
    // server: its cookie is not sent there)
    let moved = t.join("moved.db");
    copy_store(&desk, &moved);
    let j = ok_sync(&moved, &plain_url);
    assert!(!j["content_sync"].as_bool().unwrap(), "{j}");
    assert_eq!(cookies(&moved), 0, "the mirror's cookie is dropped");
}

//! `emrtd pkd sync` against a real OpenLDAP slapd (tests/support/slapd.rs): a provider
//! with LDAPS and `TLSVerifyClient demand`, a consumer replicating it with syncrepl, both
//! loaded with a PKD-shaped tree (the fixture PKI, 2,000 generated DSCs, 20 CRLs and one
//! entry with a corrupt certificate). One test runs the scenarios in order so the servers
//! start once:
//!
//! - the anchor rule: a desk without anchors stores the master list unanchored and
//!   verifies nothing VALID; with a CSCA anchor the same sync makes REF-1 VALID;
//! - a full sync, then verify VALID; a second sync changes nothing;
//! - the corrupt entry is rejected with its DN and everything else lands;
//! - LDAPS with the client certificate; a refused client certificate (another CA) and
//!   none at all exit 2 with a clear message and leave the store untouched; StartTLS;
//! - replication: a DSC added, a DSC deleted and XA's CRL replaced (now revoking the
//!   XA booklet's DSC) on the provider reach a desk that syncs from the consumer (which
//!   carries `syncprov` too: the desk's second run is a content-synchronisation refresh
//!   from its cookie, as the second test below does throughout), and the XA booklet turns from VALID to
//!   INVALID after that desk's next sync;
//! - the server killed in the middle of a sync: exit 2, store unchanged, and the next run
//!   completes; the client killed (SIGKILL) at several points: the store is either as
//!   before or complete, never in between.
//!
//! The second test, `pkd_sync_by_content_synchronisation`: RFC 4533 content
//! synchronisation (docs/pkd-sync.md) from a mirror with the `syncprov` overlay and a
//! session log, and a plain slapd without `syncprov`.
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
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emrtd::pki::cert::Certificate;
use emrtd::pki::fixtures::{CrlTemplate, issue_crl};
use emrtd::pki::ldif::LdifRecord;
use emrtd::pki::pkd_tree::PKD_DOWNLOAD_BASE;
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use serde_json::Value;
use slapd::{ALL_ANCHORS, Config, Slapd, TlsFiles, emrtd, import_anchors, n, sync_json, sync_killed_after};

const N_DSC: usize = 2000;
const N_CRL: usize = 20;

/// Everything the store holds, as `pkd list --json` shows it (a semantic snapshot).
fn snapshot(store: &Path) -> String {
    if !store.exists() {
        return "<no store>".into();
    }
    let out = emrtd(store, &["--json", "pkd", "list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn verify(store: &Path, booklet: &str) -> i32 {
    let profile = root().join("pkd-fixtures/booklets").join(booklet);
    let out = emrtd(store, &["verify", "--emulator", profile.to_str().unwrap()]);
    let code = out.status.code().unwrap_or(-1);
    // shown when the test fails
    eprintln!(
        "verify {booklet} with {}: exit {code}\n{}{}",
        store.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    code
}

/// A DSC entry whose certificate has a notBefore that is not a time: slapd's
/// certificate syntax check passes it (it skips the validity's contents), emrtd's
/// parser must refuse it.
fn corrupt_entry() -> (LdifRecord, String) {
    let der = std::fs::read(root().join("pkd-fixtures/keys/xb-dsc-valid.cer")).unwrap();
    let mut bad = der.clone();
    let at = bad.windows(2).position(|w| w == [0x17, 0x0D]).expect("a UTCTime");
    for b in &mut bad[at + 2..at + 2 + 13] {
        *b = b'Q';
    }
    assert!(
        Certificate::from_der(&bad).is_err(),
        "the corrupt certificate must not parse"
    );
    let mut buf = Vec::new();
    let dn = format!("cn=CN\\=Corrupt DS\\,C\\=XB+sn=77,o=dsc,c=XB,dc=data,{PKD_DOWNLOAD_BASE}");
    emrtd::pki::ldif::write_record(
        &mut buf,
        &dn,
        &[
            ("objectClass", b"top", false),
            ("objectClass", b"person", false),
            ("objectClass", b"organizationalPerson", false),
            ("objectClass", b"inetOrgPerson", false),
            ("objectClass", b"pkdDownload", false),
            ("cn", b"CN=Corrupt DS,C=XB", false),
            ("sn", b"77", false),
            ("pkdVersion", b"450", false),
            ("userCertificate;binary", &bad, true),
        ],
    )
    .unwrap();
    let mut r = emrtd::pki::ldif::LdifReader::new(&buf[..]);
    (r.next_record().unwrap().unwrap(), dn)
}

/// XA's CRL again, newer, now revoking also `xa-dsc-valid` (the XA booklet's DSC).
fn xa_crl_revoking_the_booklet_dsc() -> Vec<u8> {
    let keys = root().join("pkd-fixtures/keys");
    let csca = Certificate::from_der(&std::fs::read(keys.join("xa-csca.cer")).unwrap()).unwrap();
    let key =
        openssl::pkey::PKey::private_key_from_pem(&std::fs::read(keys.join("xa-csca.key.pem")).unwrap())
            .unwrap();
    let serial = |f: &str| {
        Certificate::from_der(&std::fs::read(keys.join(f)).unwrap())
            .unwrap()
            .serial
    };
    let now = time::OffsetDateTime::now_utc();
    issue_crl(
        &CrlTemplate {
            issuer: csca.subject.raw.clone(),
            this_update: now - Duration::from_secs(3600),
            next_update: now + Duration::from_secs(30 * 86400),
            revoked: vec![
                (serial("xa-dsc-revoked.cer"), now - Duration::from_secs(86400), 1),
                (serial("xa-dsc-valid.cer"), now - Duration::from_secs(3600), 1),
            ],
            aki: csca.ski.clone().unwrap(),
            number: 1000,
            alg: SignatureAlgorithm::Ecdsa {
                hash: HashAlgorithm::Sha256,
            },
        },
        &key,
    )
    .unwrap()
}

fn b64(v: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(v)
}

#[test]
fn pkd_sync_against_real_slapd() {
    if let Some(why) = slapd::unavailable() {
        support::skip_without("slapd", &why);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let tls = TlsFiles::make(&t.join("tls"));
    let (corrupt, corrupt_dn) = corrupt_entry();
    let (tree, entries) = slapd::build_tree(&t.join("tree"), N_DSC, N_CRL, vec![corrupt]);
    let total = entries as u64;
    assert!(total > N_DSC as u64);
    let mut provider = Slapd::start(
        &t.join("provider"),
        Config {
            tls: Some(tls.clone()),
            verify_client: true,
            provider: true,
            load: Some(tree.clone()),
            log_stats: true,
            ..Config::default()
        },
    );
    let consumer = Slapd::start(
        &t.join("consumer"),
        Config {
            consumer_of: Some(provider.provider_url()),
            // cascading: the replica serves the desks' content synchronisation itself
            provider: true,
            sessionlog: Some(1000),
            ..Config::default()
        },
    );
    let url = provider.url(PKD_DOWNLOAD_BASE);
    let ca = tls.ca.to_str().unwrap();

    // -- the anchor rule: no anchor, nothing is trusted; the same sync with one is
    let bare = t.join("bare.db");
    let (code, j, err) = sync_json(&bare, &url, &[]);
    assert_eq!(code, 0, "{err}\n{j}");
    // the corrupt entry, and the deviation list: its signer chains to no trusted CSCA
    assert_eq!(n(&j, "added"), total - 2, "{j}");
    assert!(j["notes"].to_string().contains("NOT anchored"), "{j}");
    assert_ne!(
        verify(&bare, "ref1.toml"),
        0,
        "a master list from LDAP without an anchor must not make REF-1 VALID"
    );
    let anchored = t.join("anchored.db");
    import_anchors(&anchored, &["10-ut-csca-1.cer"]);
    let (code, j, err) = sync_json(&anchored, &url, &[]);
    assert_eq!(code, 0, "{err}\n{j}");
    assert_eq!(
        verify(&anchored, "ref1.toml"),
        0,
        "UT CSCA 1 anchors the UT master list fetched by LDAP"
    );

    // -- full sync, verify VALID, the corrupt entry rejected with its DN
    let desk = t.join("desk.db");
    import_anchors(&desk, ALL_ANCHORS);
    let (code, j, err) = sync_json(&desk, &url, &[]);
    assert_eq!(code, 0, "{err}\n{j}");
    assert_eq!(n(&j, "added"), total - 1, "{j}");
    assert_eq!(n(&j, "rejected"), 1, "{j}");
    assert_eq!(n(&j, "removed"), 0, "{j}");
    assert_eq!(n(&j, "unchanged"), 0, "{j}");
    let errors = j["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{j}");
    assert!(
        errors[0].as_str().unwrap().contains("Corrupt DS"),
        "the rejection names the DN {corrupt_dn}: {j}"
    );
    assert!(n(&j, "pkd_version") >= 1000 + N_DSC as u64, "{j}");
    let dscs = emrtd(&desk, &["--json", "pkd", "list", "--kind", "dsc"]);
    let listed: Value = serde_json::from_slice(&dscs.stdout).unwrap();
    assert!(
        listed["entries"].as_array().unwrap().len() >= N_DSC,
        "every generated DSC landed"
    );
    assert_eq!(verify(&desk, "ref1.toml"), 0);
    assert_eq!(verify(&desk, "xa-booklet.toml"), 0);
    // a second run: nothing to do (the corrupt entry is known, unchanged, not fetched again)
    let (code, j, err) = sync_json(&desk, &url, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!((n(&j, "added"), n(&j, "removed")), (0, 0), "{j}");
    assert_eq!(n(&j, "unchanged"), total, "{j}");

    // -- LDAPS with the client certificate; refused certificates change nothing
    let tls_desk = t.join("tls-desk.db");
    import_anchors(&tls_desk, ALL_ANCHORS);
    let before = snapshot(&tls_desk);
    let ldaps = provider.ldaps_url(PKD_DOWNLOAD_BASE);
    let (code, _, err) = sync_json(
        &tls_desk,
        &ldaps,
        &[
            "--ca-file",
            ca,
            "--client-cert",
            tls.rogue_cert.to_str().unwrap(),
            "--client-key",
            tls.rogue_key.to_str().unwrap(),
        ],
    );
    assert_eq!(
        code, 2,
        "a refused client certificate is an operational error: {err}"
    );
    assert!(
        err.contains("client-cert") || err.contains("client certificate"),
        "the message says why: {err}"
    );
    assert_eq!(snapshot(&tls_desk), before, "the store is untouched");
    let (code, _, err) = sync_json(&tls_desk, &ldaps, &["--ca-file", ca]);
    assert_eq!(code, 2, "no client certificate: {err}");
    assert!(err.contains("client certificate"), "{err}");
    assert_eq!(snapshot(&tls_desk), before);
    let (code, _, err) = sync_json(&tls_desk, &ldaps, &[]);
    assert_eq!(
        code, 2,
        "the server's certificate is not trusted without --ca-file: {err}"
    );
    assert!(err.contains("--ca-file"), "{err}");
    let good = [
        "--ca-file",
        ca,
        "--client-cert",
        tls.client_cert.to_str().unwrap(),
        "--client-key",
        tls.client_key.to_str().unwrap(),
    ];
    let (code, j, err) = sync_json(&tls_desk, &ldaps, &good);
    assert_eq!(code, 0, "{err}");
    assert_eq!(n(&j, "added"), total - 1, "{j}");
    assert_eq!(verify(&tls_desk, "xa-booklet.toml"), 0);
    let mut starttls = vec!["--starttls"];
    starttls.extend_from_slice(&good);
    let (code, j, err) = sync_json(&tls_desk, &url, &starttls);
    assert_eq!(code, 0, "StartTLS on the plain port: {err}");
    assert_eq!(n(&j, "unchanged"), total, "{j}");

    // -- replication: provider → consumer → desk
    consumer.wait_count(PKD_DOWNLOAD_BASE, "(objectClass=pkdDownload)", entries, 60);
    let replica_desk = t.join("replica-desk.db");
    import_anchors(&replica_desk, ALL_ANCHORS);
    let replica = consumer.url(PKD_DOWNLOAD_BASE);
    let (code, j, err) = sync_json(&replica_desk, &replica, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(n(&j, "added"), total - 1, "{j}");
    assert_eq!(
        verify(&replica_desk, "xa-booklet.toml"),
        0,
        "VALID before the revocation"
    );
    let new_dsc = std::fs::read(root().join("pkd-fixtures/keys/xc-dsc.cer")).unwrap();
    let xa_crl_dn =
        format!("cn=CN\\=CSCA XA\\,O\\=Republic of XA\\,C\\=XA,o=crl,c=XA,dc=data,{PKD_DOWNLOAD_BASE}");
    let gone_dn = format!(
        "cn=CN\\=DS XA 2\\,O\\=Document Signing\\,C\\=XA+sn=12,o=dsc,c=XA,dc=data,{PKD_DOWNLOAD_BASE}"
    );
    provider.modify(&format!(
        "dn: c=XC,dc=data,{PKD_DOWNLOAD_BASE}\nchangetype: add\nobjectClass: country\nc: XC\n\n\
         dn: o=dsc,c=XC,dc=data,{PKD_DOWNLOAD_BASE}\nchangetype: add\nobjectClass: organization\no: dsc\n\n\
         dn: cn=CN\\=DS XC\\,C\\=XC+sn=31,o=dsc,c=XC,dc=data,{PKD_DOWNLOAD_BASE}\nchangetype: add\n\
         objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\n\
         objectClass: pkdDownload\ncn: CN=DS XC,C=XC\nsn: 31\npkdVersion: 9001\nuserCertificate;binary:: {}\n\n\
         dn: {xa_crl_dn}\nchangetype: modify\nreplace: certificateRevocationList;binary\ncertificateRevocationList;binary:: {}\n-\n\
         replace: pkdVersion\npkdVersion: 9002\n-\n\n\
         dn: {gone_dn}\nchangetype: delete\n\n",
        b64(&new_dsc),
        b64(&xa_crl_revoking_the_booklet_dsc()),
    ));
    consumer.wait_count(PKD_DOWNLOAD_BASE, "(pkdVersion=9002)", 1, 60);
    consumer.wait_count(PKD_DOWNLOAD_BASE, "(objectClass=pkdDownload)", entries, 60);
    let (code, j, err) = sync_json(&replica_desk, &replica, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        j["content_sync"].as_bool(),
        Some(true),
        "the replica's syncprov answered from the cookie: {j}"
    );
    assert_eq!(n(&j, "added"), 2, "the new DSC and the new CRL: {j}");
    assert_eq!(
        n(&j, "removed"),
        2,
        "the deleted DSC's entry and the replaced CRL: {j}"
    );
    assert_eq!(n(&j, "pkd_version"), 9002, "{j}");
    assert_eq!(
        verify(&replica_desk, "xa-booklet.toml"),
        1,
        "INVALID once the desk has the CRL revoking its DSC"
    );

    // -- the server killed in the middle of a sync
    let victim = t.join("victim.db");
    import_anchors(&victim, ALL_ANCHORS);
    let before = snapshot(&victim);
    let child = spawn_json_sync(&victim, &url, 1);
    // wait until the server works on the DSC collection (the listing and the master
    // lists are done; the DSCs come in pages of 500, so the client needs it again)
    let seen = provider.log().len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !provider.log()[seen..].contains("(!(objectClass=pkdMasterList))") {
        assert!(Instant::now() < deadline, "the sync never got to the DSCs");
        std::thread::sleep(Duration::from_millis(1));
    }
    provider.kill9();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a sync whose server died must fail: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(snapshot(&victim), before, "the store is as it was");
    provider.restart();
    let (code, j, err) = sync_json(&victim, &url, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(n(&j, "added"), total - 1, "the next run completes it: {j}");
    assert_eq!(verify(&victim, "xa-booklet.toml"), 1);
    let complete = snapshot(&victim);

    // -- entries are applied as they arrive (docs/pkd-sync.md): the server killed while
    // the DSCs stream, after the client asked for their second page (the first page's
    // entries handed to the writer), and started again: the retry runs the search
    // again, and what the failed attempt handed on is not applied twice
    let retried = t.join("retried.db");
    import_anchors(&retried, ALL_ANCHORS);
    let child = spawn_json_sync(&retried, &url, 5);
    let seen = provider.log().len();
    wait_for_dsc_page(&provider, seen, 2);
    provider.kill9();
    let restarted_at = provider.log().len();
    provider.restart();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the retry completes the sync: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        provider.log()[restarted_at..].contains(DSC_FILTER),
        "the DSC search ran again on the restarted server"
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(n(&j, "added"), total - 1, "each entry applied once: {j}");
    assert_eq!(n(&j, "rejected"), 1, "{j}");
    assert_eq!(n(&j, "unchanged"), 0, "{j}");
    assert_eq!(n(&j, "removed"), 0, "{j}");
    assert_eq!(snapshot(&retried), complete);
    assert_eq!(state(&retried), state(&victim));

    // -- the desk killed (SIGKILL) while the DSCs stream into its open transaction: the
    // store is as before, readers were not held up, and the next run completes it
    let store = t.join("killed-streaming.db");
    import_anchors(&store, ALL_ANCHORS);
    let (before, before_state) = (snapshot(&store), state(&store));
    let before_verdict = verify(&store, "xa-booklet.toml");
    let mut child = Command::new(support::emrtd_bin())
        .args(["--store", store.to_str().unwrap(), "-q", "pkd", "sync", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen = provider.log().len();
    wait_for_dsc_page(&provider, seen, 2);
    // a reader meanwhile: the sync is held (SIGSTOP) with its write transaction open,
    // and verify reads the store as it was (WAL), without waiting for the lock
    let pid = child.id().to_string();
    let stopped = Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    assert!(stopped.success());
    let started = Instant::now();
    assert_eq!(
        verify(&store, "xa-booklet.toml"),
        before_verdict,
        "verify during a sync sees the store as before"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "verify waited for the sync's lock"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed before it finished");
    assert_eq!(
        snapshot(&store),
        before,
        "killed while streaming: the store is as before"
    );
    assert_eq!(state(&store), before_state);
    ok_sync(&store, &url);
    assert_eq!(snapshot(&store), complete, "the next run completes it");
    assert_eq!(state(&store), state(&victim));

    // -- the client killed (SIGKILL) at several points: before or complete, nothing between
    for delay_ms in [50u64, 200, 500, 1000, 2000] {
        let store = t.join(format!("killed-{delay_ms}.db"));
        import_anchors(&store, ALL_ANCHORS);
        let before = snapshot(&store);
        sync_killed_after(&store, &url, Duration::from_millis(delay_ms));
        let after = snapshot(&store);
        assert!(
            after == before || after == complete,
            "killed after {delay_ms} ms: the store is neither as before nor complete"
        );
        let (code, _, err) = sync_json(&store, &url, &[]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            snapshot(&store),
            complete,
            "the next run completes it (killed after {delay_ms} ms)"
        );
    }
}

/// The filter of the DSC collection's fetch (collection 001), as slapd logs it.
const DSC_FILTER: &str = "(!(objectClass=pkdMasterList))";

/// `emrtd --json pkd sync URL` on `store` in the background, with `retries` retries and
/// a 5 s timeout, its output captured.
fn spawn_json_sync(store: &Path, url: &str, retries: u32) -> std::process::Child {
    Command::new(support::emrtd_bin())
        .arg("--store")
        .arg(store)
        .args(["--json", "pkd", "sync", url, "--retries"])
        .arg(retries.to_string())
        .args(["--timeout", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait until the server's log, from byte `seen` on, shows the DSC fetch asked for its
/// `page`-th page (paged results: one search operation per page).
fn wait_for_dsc_page(server: &Slapd, seen: usize, page: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.log()[seen..].matches(DSC_FILTER).count() < page {
        assert!(Instant::now() < deadline, "the sync never got to DSC page {page}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

// -- content synchronisation (RFC 4533)

fn ok_sync(store: &Path, url: &str) -> Value {
    let (code, j, err) = sync_json(store, url, &[]);
    assert_eq!(code, 0, "{err}\n{j}");
    j
}

fn anchored(path: &Path) -> PathBuf {
    import_anchors(path, ALL_ANCHORS);
    path.to_path_buf()
}

/// Generated DSCs of the content-synchronisation test's tree.
const N_COOKIE_DSC: usize = 1500;
const SESSIONLOG: usize = 200;

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
    let dns = server.dns(
        &format!("dc=data,{PKD_DOWNLOAD_BASE}"),
        "(&(objectClass=inetOrgPerson)(pkdVersion>=1001))",
    );
    assert!(dns.len() >= N_COOKIE_DSC, "{} generated DSCs listed", dns.len());
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

/// A scratch directory, or `None` (the test skipped, loudly) without slapd.
fn scratch() -> Option<tempfile::TempDir> {
    match slapd::unavailable() {
        None => Some(tempfile::tempdir().unwrap()),
        Some(why) => {
            support::skip_without("slapd", &why);
            None
        }
    }
}

#[test]
fn pkd_sync_by_content_synchronisation() {
    let Some(tmp) = scratch() else { return };
    let t = tmp.path();
    let (tree, entries) = slapd::build_tree(&t.join("tree"), N_COOKIE_DSC, 5, Vec::new());
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
    let (code, _, err) = sync_json(&desk, &url, &[]);
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
        sync_killed_after(&store, &url, Duration::from_millis(delay_ms));
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

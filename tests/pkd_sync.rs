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
//!   from its cookie, tests/pkd_sync_cookie.rs), and the XA booklet turns from VALID to
//!   INVALID after that desk's next sync;
//! - the server killed in the middle of a sync: exit 2, store unchanged, and the next run
//!   completes; the client killed (SIGKILL) at several points: the store is either as
//!   before or complete, never in between.
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

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use emrtd::pki::cert::Certificate;
use emrtd::pki::fixtures::{CrlTemplate, issue_crl};
use emrtd::pki::ldif::LdifRecord;
use emrtd::pki::pkd_tree::PKD_DOWNLOAD_BASE;
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use serde_json::Value;
use slapd::{Config, Slapd, TlsFiles};

const N_DSC: usize = 2000;
const N_CRL: usize = 20;

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

fn sync_json(store: &Path, url: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--json", "pkd", "sync", url, "--retries", "1", "--timeout", "20"];
    args.extend_from_slice(extra);
    let out = emrtd(store, &args);
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, json, stderr)
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} missing in {v}"))
}

/// Everything the store holds, as `pkd list --json` shows it (a semantic snapshot).
fn snapshot(store: &Path) -> String {
    if !store.exists() {
        return "<no store>".into();
    }
    let out = emrtd(store, &["--json", "pkd", "list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn import_anchors(store: &Path, files: &[&str]) {
    let paths: Vec<String> = files
        .iter()
        .map(|f| root().join("pkd-fixtures/pki").join(f).display().to_string())
        .collect();
    let mut args = vec!["-q", "pkd", "import"];
    args.extend(paths.iter().map(String::as_str));
    let out = emrtd(store, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

const ALL_ANCHORS: &[&str] = &[
    "10-ut-csca-1.cer",
    "10-ut-csca-2.cer",
    "10-xa-csca-explicit.cer",
    "10-xb-csca.pem",
    "10-xc-csca-expired.cer",
];

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
    let child = Command::new(bin())
        .args([
            "--store",
            victim.to_str().unwrap(),
            "--json",
            "pkd",
            "sync",
            &url,
            "--retries",
            "1",
            "--timeout",
            "5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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

    // -- the client killed (SIGKILL) at several points: before or complete, nothing between
    for delay_ms in [50u64, 200, 500, 1000, 2000] {
        let store = t.join(format!("killed-{delay_ms}.db"));
        import_anchors(&store, ALL_ANCHORS);
        let before = snapshot(&store);
        let mut child = Command::new(bin())
            .args(["--store", store.to_str().unwrap(), "-q", "pkd", "sync", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
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

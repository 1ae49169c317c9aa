//! Bar-code signers, non-conformant DSCs and the CRL policy through the binary, on the
//! fixture PKI: a DSC-like certificate imported as a bar-code signer (`o=bcsc`) never
//! makes a booklet VALID and `pkd list --kind bcsc` shows it; a booklet signed by the
//! non-conformant XB DSC (`dc=nc-data`, ERR:DSC.AKI.1) is named as such in
//! `pa.dsc_chain`; XB's expired CRL makes it INDETERMINATE naming the CRL and since
//! when, `crl = "advisory"` makes it VALID with a warning, and advisory never relaxes a
//! revoked DSC or a missing CSCA; `pkd stats` says which country's CRL is stale.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::path::{Path, PathBuf};
use support::{check, emrtd_with_store as emrtd, text};

use emrtd::pki::ldif;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The fixture store; `skip` names files left out (by prefix).
fn store(dir: &Path, skip: &[&str]) -> PathBuf {
    let db = dir.join("trust.db");
    let mut pki: Vec<PathBuf> = std::fs::read_dir(root().join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            !skip.iter().any(|x| n.starts_with(x))
        })
        .collect();
    pki.sort();
    let mut args = vec!["-q", "pkd", "import"];
    args.extend(pki.iter().map(|p| s(p)));
    let o = emrtd(&db, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    db
}

fn verify(db: &Path, booklet: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["--json", "verify", "--emulator", s(booklet)];
    args.extend_from_slice(extra);
    let o = emrtd(db, &args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    (o.status.code().unwrap(), v)
}

fn booklet(name: &str) -> PathBuf {
    root().join("booklets").join(name)
}

#[test]
fn a_dsc_imported_as_a_bar_code_signer_never_validates_an_emrtd() {
    let dir = tempfile::tempdir().unwrap();
    // without the collection-001 LDIF, ut-dsc-valid is not in the store
    let db = store(dir.path(), &["30-"]);
    let (code, v) = verify(&db, &booklet("ref1.toml"), &[]);
    assert_eq!(code, 0, "{v}");
    // the PKD publishes it as a bar-code signer of UT
    let dsc = std::fs::read(root().join("keys/ut-dsc-valid.cer")).unwrap();
    let mut body = b"version: 1\n\n".to_vec();
    ldif::write_record(
        &mut body,
        "cn=CN\\=DS Utopia 2025-1\\,O\\=Document Signing\\,C\\=UT+sn=1001,o=bcsc,c=UT,dc=data,dc=download,dc=pkd,dc=icao,dc=int",
        &[
            ("pkdVersion", b"900", false),
            ("objectClass", b"pkdDownload", false),
            ("userCertificate;binary", &dsc, true),
        ],
    )
    .unwrap();
    let f = dir.path().join("bcsc.ldif");
    std::fs::write(&f, &body).unwrap();
    let o = emrtd(&db, &["pkd", "import", s(&f)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (code, v) = verify(&db, &booklet("ref1.toml"), &[]);
    assert_eq!(code, 1, "{v}");
    let chain = check(&v, "pa.dsc_chain");
    assert_eq!(chain["status"], "fail");
    assert!(
        chain["reason"].as_str().unwrap().contains("bar-code signer"),
        "{chain}"
    );
    // advisory changes nothing about it
    let policy = dir.path().join("advisory.toml");
    std::fs::write(&policy, "crl = \"advisory\"\n").unwrap();
    let (code, _) = verify(&db, &booklet("ref1.toml"), &["--policy", s(&policy)]);
    assert_eq!(code, 1);

    let o = emrtd(&db, &["--json", "pkd", "list", "--kind", "bcsc"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = v["entries"].as_array().unwrap();
    assert_eq!(e.len(), 1, "{v}");
    assert_eq!(e[0]["role"], "bcsc");
    assert_eq!(e[0]["kind"], "certificate");
    assert_eq!(e[0]["country"], "UT");
    assert_eq!(e[0]["trusted"], false);
    assert_eq!(e[0]["sha256"].as_str().unwrap().len(), 64);
    assert!(e[0]["subject"].as_str().unwrap().contains("DS Utopia 2025-1"));
    assert!(e[0]["sources"][0].as_str().unwrap().contains("bcsc.ldif"), "{v}");
    // and no DSC listing shows it
    let o = emrtd(&db, &["--json", "pkd", "list", "--kind", "dsc"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        !v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["subject"].as_str().unwrap().contains("2025-1")),
        "{v}"
    );
}

/// The XB booklet re-signed by the non-conformant XB DSC (`xb-dsc-nc`), in a copy of
/// the booklet directory (a `base` profile must sit next to the profile).
fn nc_booklet(dir: &Path) -> PathBuf {
    let books = dir.join("fx/booklets");
    std::fs::create_dir_all(&books).unwrap();
    for f in ["ref1.toml", "indeterminate-crl-expired.toml"] {
        std::fs::copy(booklet(f), books.join(f)).unwrap();
    }
    for d in ["keys", "data"] {
        std::os::unix::fs::symlink(root().join("booklets").join(d), books.join(d)).unwrap();
    }
    std::os::unix::fs::symlink(root().join("keys"), dir.join("fx/keys")).unwrap();
    let p = books.join("xb-nc.toml");
    std::fs::write(
        &p,
        "name = \"xb-nc\"\ndescription = \"XBB passport signed by the non-conformant xb-dsc-nc\"\n\
         base = \"indeterminate-crl-expired.toml\"\n\
         [sign]\ndsc = \"../keys/xb-dsc-nc.cer\"\nkey = \"../keys/xb-dsc-nc.key.pem\"\n",
    )
    .unwrap();
    p
}

#[test]
fn a_non_conformant_dsc_is_named_and_a_stale_crl_is_decided_by_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path(), &[]);
    let b = nc_booklet(dir.path());

    // strict (default): INDETERMINATE, the stale CRL named with its date
    let (code, v) = verify(&db, &b, &[]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["verdict"], "INDETERMINATE");
    let chain = check(&v, "pa.dsc_chain");
    assert_eq!(chain["status"], "pass", "{chain}");
    let reason = chain["reason"].as_str().unwrap();
    assert!(
        reason.contains("NON-CONFORMANT") && reason.contains("ERR:DSC.AKI.1"),
        "{reason}"
    );
    assert_eq!(chain["evidence"]["non_conformant"]["code"], "ERR:DSC.AKI.1");
    assert!(
        chain["evidence"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "dsc.non_conformant"),
        "{chain}"
    );
    let crl = check(&v, "pa.crl");
    assert_eq!(crl["status"], "indeterminate");
    let r = crl["reason"].as_str().unwrap();
    assert!(r.contains("stale since 2020-04-01"), "{r}");
    assert!(r.contains("CSCA XB"), "{r}");
    assert_eq!(crl["evidence"]["crl_unavailable"]["kind"], "stale");
    assert_eq!(v["policy"]["crl"], "strict");
    assert_eq!(v["policy"]["file"], serde_json::Value::Null);
    assert_eq!(v["policy"]["decided"], false);

    // the text report says the same, and which policy decided
    let o = emrtd(&db, &["verify", "--emulator", s(&b)]);
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains("NON-CONFORMANT") && t.contains("ERR:DSC.AKI.1"), "{t}");
    assert!(t.contains("policy:   crl = \"strict\" (default)"), "{t}");

    // advisory: VALID, with the warning and the reason, in every format
    let policy = dir.path().join("advisory.toml");
    std::fs::write(&policy, "# late issuers\ncrl = \"advisory\"\n").unwrap();
    let (code, v) = verify(&db, &b, &["--policy", s(&policy)]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["verdict"], "VALID");
    assert_eq!(v["policy"]["crl"], "advisory");
    assert_eq!(v["policy"]["decided"], true);
    assert!(v["policy"]["file"].as_str().unwrap().ends_with("advisory.toml"));
    let accepted: Vec<&str> = v["policy"]["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(accepted.contains(&"pa.crl"), "{accepted:?}");
    assert!(
        v["policy"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("stale since 2020-04-01"),
        "{v}"
    );
    // the check itself keeps its status
    assert_eq!(check(&v, "pa.crl")["status"], "indeterminate");
    let html = dir.path().join("r.html");
    let o = emrtd(
        &db,
        &[
            "verify",
            "--emulator",
            s(&b),
            "--policy",
            s(&policy),
            "--html",
            s(&html),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.starts_with("VALID"), "{t}");
    assert!(
        t.contains("crl = \"advisory\" (policy ") && t.contains("it decided the verdict"),
        "{t}"
    );
    assert!(t.contains("warning: pa.crl accepted"), "{t}");
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(
        h.contains("policy: crl = &quot;advisory&quot;") || h.contains("policy: crl = \"advisory\""),
        "{h}"
    );
    assert!(h.contains("warning: pa.crl accepted"));
    let o = emrtd(
        &db,
        &[
            "verify",
            "--emulator",
            s(&b),
            "--policy",
            s(&policy),
            "--format",
            "junit",
        ],
    );
    let j = String::from_utf8_lossy(&o.stdout);
    assert!(
        j.contains("name=\"policy\" value=\"crl = &quot;advisory&quot;"),
        "{j}"
    );
    assert!(j.contains("name=\"policy_warning\""), "{j}");

    // advisory never relaxes anything else
    let (code, v) = verify(
        &db,
        &booklet("forged-dsc-revoked.toml"),
        &["--policy", s(&policy)],
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["policy"]["decided"], false);
    let (code, v) = verify(
        &db,
        &booklet("indeterminate-no-csca.toml"),
        &["--policy", s(&policy)],
    );
    assert_eq!(code, 3, "{v}");
    let (code, _) = verify(
        &db,
        &booklet("forged-dg2-byte-flipped.toml"),
        &["--policy", s(&policy)],
    );
    assert_eq!(code, 1);
    // and a genuine booklet with a current CRL is VALID either way, not by the policy
    let (code, v) = verify(&db, &booklet("ref1.toml"), &["--policy", s(&policy)]);
    assert_eq!(code, 0);
    assert_eq!(v["policy"]["decided"], false);

    // a policy that cannot be read or is wrong is an error, never the default
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "crl = \"lenient\"\n").unwrap();
    let o = emrtd(&db, &["verify", "--emulator", s(&b), "--policy", s(&bad)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("bad.toml"), "{}", text(&o));
    let o = emrtd(
        &db,
        &[
            "verify",
            "--emulator",
            s(&b),
            "--policy",
            s(&dir.path().join("none.toml")),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn stats_say_which_country_crl_is_stale_and_since_when() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path(), &[]);
    let o = emrtd(&db, &["--json", "pkd", "stats"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = |cc: &str| {
        v["countries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["country"] == cc)
            .unwrap()
            .clone()
    };
    let xb = c("XB");
    assert_eq!(xb["crl_stale"], true, "{xb}");
    assert!(
        xb["crl_stale_since"].as_str().unwrap().starts_with("2020-04-01"),
        "{xb}"
    );
    let ut = c("UT");
    assert_eq!(ut["crl_stale"], false, "{ut}");
    assert_eq!(ut["crl_stale_since"], serde_json::Value::Null);
    assert!(ut["crl_next_update"].is_string());
    let xa = c("XA");
    assert_eq!(xa["crl_stale"], false, "{xa}");
    let o = emrtd(&db, &["pkd", "stats"]);
    let t = String::from_utf8_lossy(&o.stdout);
    let xb_line = t.lines().find(|l| l.starts_with("XB ")).unwrap();
    assert!(xb_line.contains("STALE") && xb_line.contains("2020-04-01"), "{t}");
    let ut_line = t.lines().find(|l| l.starts_with("UT ")).unwrap();
    assert!(!ut_line.contains("STALE"), "{t}");
}

//! ICAO PKD download files through the binary: a complete file of collection 001 (the
//! fixture PKI's `30-icaopkd-001-dsccrl.ldif` under its download name), then generated
//! deltas with `changetype: add|delete|modify`. A CRL replaced by a delta revokes the
//! XA booklet's DSC (VALID → INVALID), a CRL deleted by a delta, or rolled back to an
//! older one, does not take the revocation back (INVALID), a gap in the sequence is
//! refused naming the missing delta, a delta that fails midway changes nothing, and a
//! delta already applied changes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::path::{Path, PathBuf};
use support::{check, emrtd_with_store as emrtd, text};

use emrtd::pki::cert::Certificate;
use emrtd::pki::fixtures::{CrlTemplate, issue_crl};
use emrtd::pki::ldif;
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use emrtd::pki::store::TrustStore;
use time::macros::datetime;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const XA_CRL_DN: &str =
    "cn=CN\\=CSCA XA\\,O\\=Republic of XA\\,C\\=XA,o=crl,c=XA,dc=data,dc=download,dc=pkd,dc=icao,dc=int";
const XB_DSC_DN: &str = "cn=CN\\=DS XB 1\\,O\\=Document Signing\\,C\\=XB+sn=21,o=dsc,c=XB,dc=data,dc=download,dc=pkd,dc=icao,dc=int";

/// The fixture store without the collection-001 LDIF, then that file as
/// `icaopkd-001-complete-000001.ldif`.
fn store(dir: &Path) -> PathBuf {
    let db = dir.join("trust.db");
    let mut pki: Vec<PathBuf> = std::fs::read_dir(root().join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("30-"))
        .collect();
    pki.sort();
    let mut args = vec!["-q", "pkd", "import"];
    args.extend(pki.iter().map(|p| s(p)));
    let o = emrtd(&db, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let complete = dir.join("icaopkd-001-complete-000001.ldif");
    std::fs::copy(root().join("pki/30-icaopkd-001-dsccrl.ldif"), &complete).unwrap();
    let o = emrtd(&db, &["--json", "pkd", "import", s(&complete)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"][0]["kind"], "ldif");
    assert_eq!(v["files"][0]["added"], 9, "{v}");
    db
}

fn verify_xa(db: &Path) -> (i32, serde_json::Value) {
    let o = emrtd(
        db,
        &[
            "--json",
            "verify",
            "--emulator",
            s(&root().join("booklets/xa-booklet.toml")),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    (o.status.code().unwrap(), v)
}

/// A new CRL of XA's CSCA that revokes the XA booklet's DSC.
fn xa_crl_revoking_the_booklet_dsc() -> Vec<u8> {
    let csca = Certificate::from_der(&std::fs::read(root().join("keys/xa-csca.cer")).unwrap()).unwrap();
    let dsc = Certificate::from_der(&std::fs::read(root().join("keys/xa-dsc-valid.cer")).unwrap()).unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(root().join("keys/xa-csca.key.pem")).unwrap(),
    )
    .unwrap();
    issue_crl(
        &CrlTemplate {
            issuer: csca.subject.raw.clone(),
            this_update: datetime!(2026-06-01 0:00 UTC),
            next_update: datetime!(2040-01-01 0:00 UTC),
            revoked: vec![(dsc.serial.clone(), datetime!(2026-06-01 0:00 UTC), 1)],
            aki: csca.ski.clone().unwrap(),
            number: 4,
            alg: SignatureAlgorithm::Ecdsa {
                hash: HashAlgorithm::Sha256,
            },
        },
        &key,
    )
    .unwrap()
}

fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn change(dn: &str, lines: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    ldif::write_attr(&mut out, "dn", dn.as_bytes(), false).unwrap();
    for (name, value) in lines {
        if *name == "-" {
            out.extend_from_slice(b"-\n");
        } else {
            ldif::write_attr(&mut out, name, value, false).unwrap();
        }
    }
    out.push(b'\n');
    out
}

fn sequence(db: &Path) -> Option<i64> {
    TrustStore::open(db)
        .unwrap()
        .connection()
        .query_row(
            "SELECT sequence FROM dir_origins WHERE origin = 'icaopkd' AND collection = '001'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn deltas_apply_in_order_and_a_gap_or_a_failure_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    assert_eq!(sequence(&db), Some(1));
    let (code, v) = verify_xa(&db);
    assert_eq!(code, 0, "{v}");
    assert_eq!(check(&v, "pa.crl")["status"], "pass");

    // delta 2: the XA CRL is replaced by one that revokes the booklet's DSC, XB's DSC
    // entry is deleted
    let revoking = xa_crl_revoking_the_booklet_dsc();
    let mut body = b"version: 1\n\n".to_vec();
    body.extend(change(
        XA_CRL_DN,
        &[
            ("changetype", b"modify"),
            ("replace", b"certificateRevocationList;binary"),
            ("certificateRevocationList;binary", &revoking),
            ("-", b""),
            ("replace", b"pkdVersion"),
            ("pkdVersion", b"300"),
            ("-", b""),
        ],
    ));
    body.extend(change(XB_DSC_DN, &[("changetype", b"delete")]));
    let delta2 = write(dir.path(), "icaopkd-001-delta-000002.ldif", &body);

    // a gap first: delta 3 while the store holds 1
    let delta3_early = write(dir.path(), "icaopkd-001-delta-000003.ldif", &body);
    let o = emrtd(&db, &["pkd", "import", s(&delta3_early)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("icaopkd-001-delta-000002.ldif is missing"),
        "{}",
        text(&o)
    );
    assert_eq!(sequence(&db), Some(1));
    assert_eq!(verify_xa(&db).0, 0);

    let o = emrtd(&db, &["pkd", "import", s(&delta2)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sequence(&db), Some(2));
    let (code, v) = verify_xa(&db);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["verdict"], "INVALID");
    assert_eq!(check(&v, "pa.crl")["status"], "fail");
    // the deleted DSC entry: the certificate is withdrawn, the store lists it as such
    let store = TrustStore::open(&db).unwrap();
    let withdrawn: i64 = store
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM certificates WHERE withdrawn = 1 AND subject LIKE '%DS XB 1%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(withdrawn, 1);
    drop(store);

    // the same delta again: already applied, nothing changes
    let o = emrtd(&db, &["pkd", "import", s(&delta2)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("already applied"), "{}", text(&o));

    // delta 3 fails midway (its second record deletes an entry the store does not
    // hold): its first record (the CRL's removal) is not applied either
    let mut bad = b"version: 1\n\n".to_vec();
    bad.extend(change(
        XA_CRL_DN,
        &[
            ("changetype", b"modify"),
            ("delete", b"certificateRevocationList;binary"),
            ("-", b""),
        ],
    ));
    bad.extend(change(XB_DSC_DN, &[("changetype", b"delete")]));
    let delta3 = write(dir.path(), "icaopkd-001-delta-000003.ldif", &bad);
    let before = TrustStore::open(&db).unwrap().counts().unwrap();
    let o = emrtd(&db, &["--json", "pkd", "import", s(&delta3)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors = v["files"][0]["errors"].to_string();
    assert!(errors.contains("does not hold"), "{errors}");
    assert!(errors.contains("line "), "{errors}");
    assert_eq!(TrustStore::open(&db).unwrap().counts().unwrap(), before);
    assert_eq!(sequence(&db), Some(2));
    assert_eq!(verify_xa(&db).0, 1);

    // delta 3 as it should be: the XA CRL goes; what it revoked stays revoked (no
    // CRL vouches for the DSC any more either)
    let mut good = b"version: 1\n\n".to_vec();
    good.extend(change(
        XA_CRL_DN,
        &[
            ("changetype", b"modify"),
            ("delete", b"certificateRevocationList;binary"),
            ("-", b""),
        ],
    ));
    let delta3 = write(dir.path(), "icaopkd-001-delta-000003.ldif", &good);
    let o = emrtd(&db, &["pkd", "import", s(&delta3)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (code, v) = verify_xa(&db);
    assert_eq!(code, 1, "{v}");
    assert_eq!(check(&v, "pa.crl")["status"], "fail");

    // delta 4 adds it back
    let xa_crl = TrustStore::open(&db)
        .unwrap()
        .connection()
        .query_row(
            "SELECT der FROM crls WHERE sha256 IN (SELECT sha256 FROM crls WHERE country = 'XA') ORDER BY this_update DESC",
            [],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .unwrap();
    assert_eq!(xa_crl, revoking);
    let mut add = b"version: 1\n\n".to_vec();
    add.extend(change(
        XA_CRL_DN,
        &[
            ("changetype", b"modify"),
            ("add", b"certificateRevocationList;binary"),
            ("certificateRevocationList;binary", &revoking),
            ("-", b""),
        ],
    ));
    let delta4 = write(dir.path(), "icaopkd-001-delta-000004.ldif", &add);
    let o = emrtd(&db, &["pkd", "import", s(&delta4)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(verify_xa(&db).0, 1);
}

#[test]
fn a_delta_without_a_complete_file_and_a_complete_file_that_drops_entries() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let db = empty.path().join("trust.db");
    let body = change(XB_DSC_DN, &[("changetype", b"delete")]);
    let delta = write(dir.path(), "icaopkd-001-delta-000007.ldif", &body);
    let o = emrtd(&db, &["pkd", "import", s(&delta)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no complete file of icaopkd-001"),
        "{}",
        text(&o)
    );

    // a later complete file without the XB DSC: its entry is gone from the collection
    let db = store(dir.path());
    let full = std::fs::read_to_string(root().join("pki/30-icaopkd-001-dsccrl.ldif")).unwrap();
    let kept: Vec<&str> = full.split("\n\n").filter(|r| !r.contains("DS XB 1")).collect();
    let complete = write(
        dir.path(),
        "icaopkd-001-complete-000005.ldif",
        format!("{}\n", kept.join("\n\n").trim_end()).as_bytes(),
    );
    let o = emrtd(&db, &["pkd", "import", s(&complete)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("1 entry removed"), "{}", text(&o));
    assert_eq!(sequence(&db), Some(5));
    // an older complete file is refused
    let old = write(dir.path(), "icaopkd-001-complete-000004.ldif", full.as_bytes());
    let o = emrtd(&db, &["pkd", "import", s(&old)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("older"), "{}", text(&o));
    // deltas continue from the complete file's number
    let next = write(
        dir.path(),
        "icaopkd-001-delta-000006.ldif",
        &change(
            XA_CRL_DN,
            &[
                ("changetype", b"modify"),
                ("replace", b"pkdVersion"),
                ("pkdVersion", b"999"),
                ("-", b""),
            ],
        ),
    );
    let o = emrtd(&db, &["pkd", "import", s(&next)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sequence(&db), Some(6));
}

#[test]
fn a_delta_keeps_the_import_error_cap() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let mut body = b"version: 1\n\n".to_vec();
    for i in 0..250 {
        body.extend(change(
            &format!("cn=CN\\=Junk {i}+sn={i},o=dsc,c=XA,dc=data,dc=download,dc=pkd,dc=icao,dc=int"),
            &[
                ("changetype", b"add"),
                ("pkdVersion", format!("{}", 1000 + i).as_bytes()),
                ("userCertificate;binary", b"\x30\x03\x02\x01\x00"),
            ],
        ));
    }
    let delta = write(dir.path(), "icaopkd-001-delta-000002.ldif", &body);
    let o = emrtd(&db, &["--json", "pkd", "import", s(&delta)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["rejected"], 250);
    assert_eq!(f["errors"].as_array().unwrap().len(), 200);
    assert_eq!(f["errors_omitted"], 50);
    assert!(f["errors"][0].as_str().unwrap().contains("Junk 0"), "{f}");
    // the entries are known (with no object), so a later delete of one is accepted
    assert_eq!(sequence(&db), Some(2));
}

/// A mirror that rolls a CRL back: after the delta that revoked the XA booklet's DSC,
/// the next delta puts XA's older CRL (still within its nextUpdate, not listing the
/// DSC) back in the entry, and a later one deletes the CRL outright. The CRL that
/// revoked the DSC is withdrawn, but a revocation once verified is never forgotten:
/// the booklet stays INVALID, under the strict and the advisory policy alike.
#[test]
fn a_rolled_back_or_deleted_crl_never_unrevokes_a_dsc() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let older: Vec<u8> = TrustStore::open(&db)
        .unwrap()
        .connection()
        .query_row("SELECT der FROM crls WHERE country = 'XA'", [], |r| r.get(0))
        .unwrap();
    let advisory = write(dir.path(), "advisory.toml", b"crl = \"advisory\"\n");
    let verify_advisory = |db: &Path| {
        let booklet = root().join("booklets/xa-booklet.toml");
        let o = emrtd(
            db,
            &[
                "--json",
                "verify",
                "--policy",
                s(&advisory),
                "--emulator",
                s(&booklet),
            ],
        );
        o.status.code().unwrap()
    };
    let replace = |crl: &[u8], version: &[u8]| {
        let mut body = b"version: 1\n\n".to_vec();
        body.extend(change(
            XA_CRL_DN,
            &[
                ("changetype", b"modify"),
                ("replace", b"certificateRevocationList;binary"),
                ("certificateRevocationList;binary", crl),
                ("-", b""),
                ("replace", b"pkdVersion"),
                ("pkdVersion", version),
                ("-", b""),
            ],
        ));
        body
    };
    let import = |name: &str, body: &[u8]| {
        let f = write(dir.path(), name, body);
        let o = emrtd(&db, &["pkd", "import", s(&f)]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    };
    import(
        "icaopkd-001-delta-000002.ldif",
        &replace(&xa_crl_revoking_the_booklet_dsc(), b"300"),
    );
    assert_eq!(verify_xa(&db).0, 1);

    // rolled back to the older CRL: current, silent on the DSC
    import("icaopkd-001-delta-000003.ldif", &replace(&older, b"301"));
    let (code, v) = verify_xa(&db);
    assert_eq!(code, 1, "{v}");
    assert_eq!(check(&v, "pa.crl")["status"], "fail");
    assert_eq!(verify_advisory(&db), 1);

    // the CRL deleted: no CRL vouches for the DSC, and the revocation still counts
    let mut body = b"version: 1\n\n".to_vec();
    body.extend(change(
        XA_CRL_DN,
        &[
            ("changetype", b"modify"),
            ("delete", b"certificateRevocationList;binary"),
            ("-", b""),
        ],
    ));
    import("icaopkd-001-delta-000004.ldif", &body);
    let (code, v) = verify_xa(&db);
    assert_eq!(code, 1, "{v}");
    assert_eq!(verify_advisory(&db), 1);
}

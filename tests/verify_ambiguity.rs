//! What if something is there twice? A verdict must not depend on which of two
//! candidates happens to come first, and an attacker must not be able to combine the
//! good half of one with the good half of another:
//!
//! - an EF.SOD that does not embed its DSC, with several certificates in the trust store
//!   that its SignerInfo names (same subject key identifier): the one used must both
//!   verify the signature and have a valid path; a decoy stored first must not turn a
//!   genuine document INVALID, and a bar-code signer is never used;
//! - a dump directory that holds one file under two names with different bytes
//!   (`DG2.bin` and `Datagroup2.bin`) is refused, never verified with whichever came
//!   first;
//! - a required check that is in the report twice counts only when every copy passed.
#![cfg(feature = "emulator")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use emrtd::emulator::Profile;
use emrtd::lds::LdsFile;
use emrtd::pki::cert::{Certificate, KeyUsage};
use emrtd::pki::fixtures::{self, CertTemplate, Key};
use emrtd::pki::import::{self, ImportOptions};
use emrtd::pki::role::Role;
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use emrtd::pki::store::{CertMeta, Provenance, TrustStore};
use emrtd::reader::{Dump, Manifest};
use emrtd::verify::report::{Check, decide};
use emrtd::verify::{Report, Verdict};
use time::macros::datetime;

#[path = "support/sod_edit.rs"]
mod sod_edit;
use sod_edit::without_certificates;

#[path = "support/offline.rs"]
mod offline_verify;
use offline_verify::verify_offline;

const AT: time::OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
}

fn genuine_dsc() -> Certificate {
    Certificate::from_der(&std::fs::read(root().join("keys/ut-dsc-old.cer")).unwrap()).unwrap()
}

/// The test PKI without its LDIF files (which carry the booklets' DSCs), then `extra`
/// certificates in this order with these roles.
fn store_with(extra: &[(&[u8], Role)]) -> TrustStore {
    let mut store = TrustStore::open_in_memory().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|x| x != "ldif"))
        .collect();
    files.sort();
    for f in files {
        let r = import::import_file(&mut store, &f, &ImportOptions::default());
        assert!(r.errors.is_empty(), "{}: {:?}", f.display(), r.errors);
    }
    let w = store.transaction().unwrap();
    let src = w.add_source("test", "cer").unwrap();
    let prov = Provenance {
        source_id: src,
        ..Provenance::default()
    };
    for (der, role) in extra {
        let cert = Certificate::from_der(der).unwrap();
        w.add_certificate(&cert, *role, &CertMeta::default(), &prov)
            .unwrap();
    }
    w.commit().unwrap();
    store
}

/// A certificate for `spki` that names the genuine DSC's issuer, subject and subject
/// key identifier, signed by `signer` (not the CSCA: its path never verifies).
fn look_alike(spki: &[u8], signer: &Key, serial: u64) -> Vec<u8> {
    let dsc = genuine_dsc();
    let t = CertTemplate {
        serial: serial.to_be_bytes().to_vec(),
        issuer: dsc.issuer.raw.clone(),
        subject: dsc.subject.raw.clone(),
        not_before: dsc.not_before,
        not_after: dsc.not_after,
        spki: spki.to_vec(),
        extensions: vec![
            fixtures::ext_aki(dsc.aki.as_deref().unwrap()),
            fixtures::ext_ski(dsc.ski.as_deref().unwrap()),
            fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true),
            fixtures::ext_document_types(&["P"]),
        ],
        alg: SignatureAlgorithm::RsaPkcs1 {
            hash: HashAlgorithm::Sha256,
        },
    };
    fixtures::issue(&t, &signer.pkey).unwrap()
}

/// The genuine BAC booklet (no AA, no CA: a dump of it can be VALID), its SignerInfo
/// naming the DSC by subject key identifier, optionally signed by another key and
/// certificate (`signer`: certificate and PKCS#8 PEM key files), as a bare dump whose
/// EF.SOD does not embed the signer's certificate.
fn dump(signer: Option<(&Path, &Path)>) -> Dump {
    let booklets = root().join("booklets");
    let mut text = String::from("base = \"bac.toml\"\nname = \"sid-ski\"\n[sign]\nsid = \"ski\"\n");
    if let Some((cert, key)) = signer {
        text.push_str(&format!(
            "dsc = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        ));
    }
    let profile = Profile::parse(&text, &booklets).unwrap();
    let mut files = std::collections::BTreeMap::new();
    for (f, bytes) in &profile.files {
        match f {
            LdsFile::Sod => {
                files.insert(*f, without_certificates(bytes));
            }
            LdsFile::Com | LdsFile::Dg(_) => {
                files.insert(*f, bytes.clone());
            }
            _ => {}
        }
    }
    let mut manifest = Manifest::new("directory".into(), &[]);
    manifest.time = String::new();
    Dump { files, manifest }
}

fn offline(dump: &Dump, store: &TrustStore) -> Report {
    verify_offline(dump, store, AT)
}

fn check<'r>(r: &'r Report, id: &str) -> &'r Check {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}: {r:#?}"))
}

fn used_signer(r: &Report) -> String {
    check(r, "pa.sod_signature").evidence["signer_certificate"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_decoy_stored_before_the_genuine_dsc_does_not_decide() {
    let genuine = std::fs::read(root().join("keys/ut-dsc-old.cer")).unwrap();
    let genuine_fp = genuine_dsc().fingerprint();
    let d = dump(None);

    // the genuine DSC alone: VALID with the store's copy
    let r = offline(&d, &store_with(&[(&genuine, Role::Dsc)]));
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(used_signer(&r), genuine_fp);

    // a certificate of another key with the same SKI stored first: its key does not
    // verify the signature, the genuine DSC's does
    let other = Key::rsa(2048).unwrap();
    let decoy = look_alike(&other.spki, &other, 0x0D0C01);
    let r = offline(&d, &store_with(&[(&decoy, Role::Dsc), (&genuine, Role::Dsc)]));
    assert_eq!(r.verdict, Verdict::Valid, "decoy first: {r:#?}");
    assert_eq!(used_signer(&r), genuine_fp);

    // a copy of the genuine key certified by someone else stored first: its key verifies
    // the signature but its path does not; the genuine DSC verifies both
    let copy = look_alike(&genuine_dsc().spki, &other, 0x0D0C02);
    let r = offline(&d, &store_with(&[(&copy, Role::Dsc), (&genuine, Role::Dsc)]));
    assert_eq!(r.verdict, Verdict::Valid, "uncertified copy first: {r:#?}");
    assert_eq!(used_signer(&r), genuine_fp);
    // and alone it is never VALID
    let r = offline(&d, &store_with(&[(&copy, Role::Dsc)]));
    assert_eq!(r.verdict, Verdict::Invalid, "uncertified copy alone: {r:#?}");
}

#[test]
fn a_bar_code_signer_never_signs_a_document() {
    let genuine = std::fs::read(root().join("keys/ut-dsc-old.cer")).unwrap();
    let d = dump(None);
    // the very certificate, but stored as a bar-code signer (ICAO PKD o=bcsc)
    let r = offline(&d, &store_with(&[(&genuine, Role::Bcsc)]));
    assert_ne!(r.verdict, Verdict::Valid, "{r:#?}");
    let sig = check(&r, "pa.sod_signature");
    assert_ne!(sig.status.name(), "pass", "a bar-code signer was used: {sig:#?}");
}

/// The signature by one candidate and the path of another never add up to VALID: EF.SOD
/// signed by a forger's key whose certificate copies the genuine DSC's names and SKI;
/// the store holds the genuine DSC (valid path, wrong key) first and the forger's
/// certificate (right key, no path) second.
#[test]
fn signature_and_path_come_from_the_same_certificate() {
    let genuine = std::fs::read(root().join("keys/ut-dsc-old.cer")).unwrap();
    let forger = Key::rsa(2048).unwrap();
    let forged = look_alike(&forger.spki, &forger, 0x0F0F01);
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("forger.cer"), dir.path().join("forger.pem"));
    std::fs::write(&cert_path, &forged).unwrap();
    std::fs::write(&key_path, forger.pkcs8_pem().unwrap()).unwrap();
    let d = dump(Some((&cert_path, &key_path)));
    for order in [
        [(&genuine[..], Role::Dsc), (&forged[..], Role::Dsc)],
        [(&forged[..], Role::Dsc), (&genuine[..], Role::Dsc)],
    ] {
        let r = offline(&d, &store_with(&order));
        assert_eq!(r.verdict, Verdict::Invalid, "{r:#?}");
    }
}

#[test]
fn a_file_under_two_names_with_different_bytes_is_refused() {
    let d = dump(None);
    let dir = tempfile::tempdir().unwrap();
    for (f, bytes) in &d.files {
        std::fs::write(dir.path().join(f.dump_file_name()), bytes).unwrap();
    }
    // the same bytes under a second name: harmless
    let dg2 = d.files[&LdsFile::Dg(2)].clone();
    std::fs::write(dir.path().join("Datagroup2.bin"), &dg2).unwrap();
    let loaded = Dump::load(dir.path()).unwrap();
    assert_eq!(loaded.files[&LdsFile::Dg(2)], dg2);
    // other bytes under a second name: which one is the document's cannot be told
    let mut other = dg2.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    for name in ["Datagroup2.bin", "EF_DG2.bin"] {
        std::fs::write(dir.path().join(name), &other).unwrap();
        let e = match Dump::load(dir.path()) {
            Ok(_) => panic!("{name}: loaded, with one of the two DG2 chosen"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("DG2"), "{name}: {e}");
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
}

#[test]
fn a_required_check_twice_counts_only_when_both_copies_pass() {
    let base: Vec<Check> = [
        "pa.sod_signature",
        "pa.dsc_chain",
        "pa.dsc_validity",
        "pa.csca_validity",
        "pa.crl",
        "pa.dg_hash.DG1",
        "aa",
    ]
    .iter()
    .map(|id| Check::pass(*id, "ok"))
    .collect();
    assert_eq!(decide(&base, &["aa"]).0, Verdict::Valid);
    for id in ["aa", "pa.crl", "pa.sod_signature"] {
        for second in [
            Check::indeterminate(id, "second copy"),
            Check::skip(id, "second copy"),
        ] {
            let mut c = base.clone();
            c.push(second);
            let (v, because) = decide(&c, &["aa"]);
            assert_eq!(v, Verdict::Indeterminate, "{id}");
            assert!(because.iter().any(|b| b == id), "{id}: {because:?}");
        }
    }
}

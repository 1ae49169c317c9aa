//! Trust has an anchor (docs/trust-store.md): self-anchored master lists, `--anchor`,
//! the order of files, forged link certificates, DSCs that claim to be CAs and
//! cross-country certificates.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use emrtd::asn1::oid as x509;
use emrtd::pki::cert::{Certificate, KeyUsage, signature_checks};
use emrtd::pki::fixtures::{self, CertTemplate, Key};
use emrtd::pki::import::{self, FileOutcome, ImportOptions, SignatureStatus};
use emrtd::pki::keys;
use emrtd::pki::path::{self, PathStatus};
use emrtd::pki::role::{Role, TrustKind};
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use emrtd::pki::store::TrustStore;
use time::macros::datetime;

const AT: time::OffsetDateTime = datetime!(2027-01-01 0:00 UTC);

#[path = "support/dsc_path.rs"]
mod dsc_path;
use dsc_path::validate_der;

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
}

fn vector(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/test-vectors/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(committed().join("keys").join(format!("{name}.cer"))).unwrap()
}

fn private_key(name: &str) -> openssl::pkey::PKey<openssl::pkey::Private> {
    let pem = std::fs::read(committed().join("keys").join(format!("{name}.key.pem"))).unwrap();
    openssl::pkey::PKey::private_key_from_pem(&pem).unwrap()
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(committed().join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn ecdsa() -> SignatureAlgorithm {
    SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha256,
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn self_anchored_master_list_is_unanchored_until_its_csca_is_named_as_anchor() {
    let pki = fixtures::self_made_pki("UT", "CSCA Utopia Self-made").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(&mut store, "self.ml", &pki.master_list, &ImportOptions::default());
    // the CMS signature verifies and chains to the CSCA inside the list: valid, stored,
    // and NOT anchored
    assert_eq!(r.outcome, FileOutcome::Imported, "{:?}", r.errors);
    assert_eq!(r.signature, SignatureStatus::Valid);
    assert_eq!(r.anchored, Some(false));
    assert!(
        r.notes.iter().any(|n| n.contains("NOT anchored")),
        "{:?}",
        r.notes
    );
    let csca = Certificate::from_der(&pki.csca.cert).unwrap();
    let stored = store.certificate(&csca.sha256).unwrap().unwrap();
    assert_eq!(stored.role, Role::Csca);
    assert!(!stored.trusted);
    // its CSCA validates nothing, and verify says why
    let p = validate_der(&store, &pki.dsc, "UTO", AT).unwrap();
    assert_eq!(p.status, PathStatus::Indeterminate, "{p:#?}");
    assert!(
        p.reason.as_deref().unwrap().contains("NOT anchored"),
        "{:?}",
        p.reason
    );
    let stats = store.stats().unwrap();
    let ut = stats.iter().find(|s| s.country == "UT").unwrap();
    assert_eq!((ut.untrusted_cas, ut.master_lists_unanchored), (1, 1));

    // the same list with --anchor naming its CSCA: anchored, and the anchor recorded
    let anchor = write(dir.path(), "csca.cer", &pki.csca.cert);
    let a = import::import_anchor(&mut store, &anchor);
    assert_eq!(a.outcome, FileOutcome::Imported, "{:?}", a.errors);
    assert_eq!(a.anchor.as_deref(), Some(csca.fingerprint().as_str()));
    let again = import::import_bytes(&mut store, "self.ml", &pki.master_list, &ImportOptions::default());
    assert_eq!(again.anchored, Some(true), "{:?}", again.notes);
    assert_eq!(again.anchor.as_deref(), Some(csca.fingerprint().as_str()));
    let ml_sha = emrtd::pki::cert::fingerprint(&pki.master_list);
    assert_eq!(
        store.master_list_anchor(&ml_sha).unwrap(),
        Some((true, Some(csca.fingerprint())))
    );
    let stored = store.certificate(&csca.sha256).unwrap().unwrap();
    assert_eq!((stored.trusted, stored.trust), (true, Some(TrustKind::Anchor)));
    let anchors = store.anchors().unwrap();
    assert_eq!(anchors.len(), 1);
    assert_eq!(anchors[0].fingerprint, csca.fingerprint());
    assert_eq!(anchors[0].master_lists, 1);
    let p = validate_der(&store, &pki.dsc, "UTO", AT).unwrap();
    assert_eq!(p.status, PathStatus::Valid, "{p:#?}");
    assert!(p.has_finding("chain.anchor"));
}

#[test]
fn a_later_import_of_the_anchor_anchors_a_stored_list() {
    let pki = fixtures::self_made_pki("UT", "CSCA Utopia Later").unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(&mut store, "self.ml", &pki.master_list, &ImportOptions::default());
    assert_eq!(r.anchored, Some(false));
    // the user imports the CSCA as a certificate file (an explicit act): the list
    // stored before is anchored by it
    let c = import::import_bytes(&mut store, "csca.cer", &pki.csca.cert, &ImportOptions::default());
    assert!(
        c.notes.iter().any(|n| n.contains("is now anchored")),
        "{:?}",
        c.notes
    );
    let mut reports = vec![r];
    let late = import::refresh_anchored(&store, &mut reports).unwrap();
    assert_eq!(reports[0].anchored, Some(true));
    assert_eq!(late.len(), 1);
}

#[test]
fn a_forged_master_list_cannot_make_a_forged_document_valid() {
    // the genuine fixture PKI, plus a list an attacker made with a CSCA of their own
    // that imitates Utopia's
    let mut store = TrustStore::open_in_memory().unwrap();
    for f in fixture_files() {
        let r = import::import_file(&mut store, &f, &ImportOptions::default());
        assert_eq!(
            r.outcome,
            FileOutcome::Imported,
            "{}: {:?}",
            f.display(),
            r.errors
        );
    }
    let forged = fixtures::self_made_pki("UT", "CSCA Utopia").unwrap();
    let r = import::import_bytes(
        &mut store,
        "forged.ml",
        &forged.master_list,
        &ImportOptions::default(),
    );
    assert_eq!(r.anchored, Some(false));
    let crl = import::import_bytes(&mut store, "forged.crl", &forged.crl, &ImportOptions::default());
    assert_ne!(crl.signature, SignatureStatus::Valid);
    let p = validate_der(&store, &forged.dsc, "UTO", AT).unwrap();
    assert_ne!(p.status, PathStatus::Valid, "{p:#?}");
    // and the genuine documents still validate
    let p = validate_der(&store, &key_file("ut-dsc-valid"), "UTO", AT).unwrap();
    assert_eq!(p.status, PathStatus::Valid, "{p:#?}");
}

#[test]
fn import_order_does_not_matter_for_the_fixture_pki() {
    let forward = fixture_files();
    let mut backward = forward.clone();
    backward.reverse();
    // lists and CRLs first, certificates last
    let mut lists_first = forward.clone();
    lists_first.sort_by_key(|p| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        (
            !(n.ends_with(".ml") || n.ends_with(".crl") || n.contains("-ml")),
            n,
        )
    });
    for order in [forward, backward, lists_first] {
        let mut store = TrustStore::open_in_memory().unwrap();
        for f in &order {
            let r = import::import_file(&mut store, f, &ImportOptions::default());
            assert_ne!(r.outcome, FileOutcome::Failed, "{}: {:?}", f.display(), r.errors);
        }
        for (dsc, issuer) in [
            ("ut-dsc-valid", "UTO"),
            ("ut-dsc-old", "UTO"),
            ("xa-dsc-valid", "XAA"),
            ("xb-dsc-valid", "XBB"),
        ] {
            let p = validate_der(&store, &key_file(dsc), issuer, AT).unwrap();
            assert_eq!(p.status, PathStatus::Valid, "{dsc} {order:?}: {p:#?}");
        }
        // the UT CRLs verified whatever came first
        let p = validate_der(&store, &key_file("ut-dsc-valid"), "UTO", AT).unwrap();
        assert!(
            matches!(p.revocation, path::Revocation::Good { .. }),
            "{order:?}: {:?}",
            p.revocation
        );
        let ml_sha = emrtd::pki::cert::fingerprint(
            &std::fs::read(committed().join("pki/00-masterlist-ut.ml")).unwrap(),
        );
        assert_eq!(
            store.master_list_anchor(&ml_sha).unwrap().map(|a| a.0),
            Some(true)
        );
    }
}

#[test]
fn real_master_lists_are_unanchored_without_an_anchor_and_anchored_with_one() {
    const DE_ML: &str = "pki/masterlists/DE_ML_2024-08-07-07-38-24.ml";
    const NL_ML: &str = "pki/masterlists/NL_MASTERLIST_20211207.mls";
    const NL_CSCA: &str = "pki/csca_certs/NL_CSCA_serial6_20210621-20340630_zienit.cer";
    let dir = tempfile::tempdir().unwrap();
    for (ml, at) in [
        (DE_ML, datetime!(2024-09-01 0:00 UTC)),
        (NL_ML, datetime!(2021-12-17 12:00 UTC)),
    ] {
        let opts = ImportOptions {
            at: Some(at),
            ..ImportOptions::default()
        };
        let mut store = TrustStore::open_in_memory().unwrap();
        let r = import::import_bytes(&mut store, ml, &vector(ml), &opts);
        assert_eq!(r.signature, SignatureStatus::Valid, "{ml}: {:?}", r.errors);
        assert_eq!(r.anchored, Some(false), "{ml}");
        let stats = store.stats().unwrap();
        assert!(stats.iter().all(|s| s.cscas + s.links == s.untrusted_cas), "{ml}");
        // the anchor: NL's issuing CSCA is in test-vectors; DE's is not (CSCA 013 of
        // test-vectors/lds is an older key), so the German CSCA that signed the list
        // signer is taken from the list itself here, as a user would after checking
        // its fingerprint out of band
        let anchor = if ml == NL_ML {
            vector(NL_CSCA)
        } else {
            let v = import::check_master_list(&TrustStore::open_in_memory().unwrap(), &vector(ml), &opts)
                .unwrap();
            let a = v.anchor.unwrap();
            assert_eq!(hex::encode_upper(a.ski.as_ref().unwrap())[..6], *"A40A5F");
            let de013 = Certificate::from_der(&vector(
                "lds/openpace_cardaccess_samples/csca_germany_013_self_signed_cer.cer",
            ))
            .unwrap();
            assert_ne!(de013.sha256, a.sha256);
            a.der
        };
        let anchor_path = write(dir.path(), "anchor.cer", &anchor);
        let mut store = TrustStore::open_in_memory().unwrap();
        let a = import::import_anchor(&mut store, &anchor_path);
        assert_eq!(a.outcome, FileOutcome::Imported, "{ml}: {:?}", a.errors);
        let r = import::import_bytes(&mut store, ml, &vector(ml), &opts);
        assert_eq!(r.anchored, Some(true), "{ml}: {:?}", r.notes);
        assert_eq!(r.rejected, 0, "{ml}: {:?}", r.errors);
        let stats = store.stats().unwrap();
        let untrusted: i64 = stats.iter().map(|s| s.untrusted_cas).sum();
        let cas: i64 = stats.iter().map(|s| s.cscas + s.links).sum();
        // every self-signed CSCA is trusted; links only where they verify under one
        assert!(untrusted * 10 < cas, "{ml}: {untrusted} of {cas} untrusted");
    }
}

#[test]
fn an_anchor_must_be_a_self_signed_csca() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    let p = write(dir.path(), "dsc.cer", &key_file("ut-dsc-valid"));
    let r = import::import_anchor(&mut store, &p);
    assert_eq!(r.outcome, FileOutcome::Failed);
    assert!(r.errors[0].contains("not a self-signed CSCA"), "{:?}", r.errors);
    assert_eq!(store.counts().unwrap().0, 0);
}

/// A certificate naming the real UT CSCA 1 as issuer (name and key id copied) for
/// `subject`, signed with `signer`.
fn under_ut1(
    subject: Vec<u8>,
    spki: &[u8],
    key_id: &[u8],
    extensions: Vec<Vec<u8>>,
    serial: u64,
    signer: &openssl::pkey::PKey<openssl::pkey::Private>,
) -> Vec<u8> {
    let ut1 = Certificate::from_der(&key_file("ut-csca-1")).unwrap();
    let mut ext = vec![
        fixtures::ext_aki(ut1.ski.as_ref().unwrap()),
        fixtures::ext_ski(key_id),
    ];
    ext.extend(extensions);
    fixtures::issue(
        &CertTemplate {
            serial: serial.to_be_bytes().to_vec(),
            issuer: ut1.subject.raw.clone(),
            subject,
            not_before: datetime!(2025-01-01 0:00 UTC),
            not_after: datetime!(2040-01-01 0:00 UTC),
            spki: spki.to_vec(),
            extensions: ext,
            alg: SignatureAlgorithm::RsaPkcs1 {
                hash: HashAlgorithm::Sha256,
            },
        },
        signer,
    )
    .unwrap()
}

fn ut_name(cn: &str) -> Vec<u8> {
    fixtures::name(&[
        (x509::C, "UT"),
        (x509::O, "Utopia Passport Office"),
        (x509::CN, cn),
    ])
}

fn dsc_under(issuer_name: Vec<u8>, issuer_key: &Key, dsc_key: &Key) -> Vec<u8> {
    fixtures::issue(
        &CertTemplate {
            serial: vec![0x77],
            issuer: issuer_name,
            subject: ut_name("DS forged"),
            not_before: datetime!(2025-06-01 0:00 UTC),
            not_after: datetime!(2040-01-01 0:00 UTC),
            spki: dsc_key.spki.clone(),
            extensions: vec![
                fixtures::ext_aki(&issuer_key.key_id),
                fixtures::ext_ski(&dsc_key.key_id),
                fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true),
            ],
            alg: ecdsa(),
        },
        &issuer_key.pkey,
    )
    .unwrap()
}

#[test]
fn a_forged_link_certificate_is_never_trusted() {
    let p256 = keys::curve_by_name("secp256r1").unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_file(
        &mut store,
        &committed().join("pki/10-ut-csca-1.cer"),
        &ImportOptions::default(),
    );
    assert_eq!(r.added, 1);
    // a "link" certificate that names UT CSCA 1 as its issuer but is signed by a forger
    let forger = Key::rsa(2048).unwrap();
    let link_key = Key::ec(p256, false).unwrap();
    let link = under_ut1(
        ut_name("CSCA Utopia forged"),
        &link_key.spki,
        &link_key.key_id,
        vec![
            fixtures::ext_key_usage(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN, true),
            fixtures::ext_ca(0),
        ],
        0x66,
        &forger.pkey,
    );
    let r = import::import_bytes(&mut store, "link.cer", &link, &ImportOptions::default());
    assert_eq!(r.added, 1, "{:?}", r.errors);
    let stored = store
        .certificate(&Certificate::from_der(&link).unwrap().sha256)
        .unwrap()
        .unwrap();
    assert_eq!((stored.role, stored.trusted), (Role::Link, false));
    let dsc = dsc_under(
        ut_name("CSCA Utopia forged"),
        &link_key,
        &Key::ec(p256, false).unwrap(),
    );
    let before = signature_checks();
    let p = validate_der(&store, &dsc, "UTO", AT).unwrap();
    assert_eq!(p.status, PathStatus::Indeterminate, "{p:#?}");
    assert!(
        p.reason
            .as_deref()
            .unwrap()
            .contains("does not verify under any trusted CSCA"),
        "{:?}",
        p.reason
    );
    assert_eq!(
        signature_checks() - before,
        0,
        "untrusted certificates cost verify nothing"
    );

    // the same link really signed by UT CSCA 1: trusted on import, the DSC validates
    let genuine = under_ut1(
        ut_name("CSCA Utopia forged"),
        &link_key.spki,
        &link_key.key_id,
        vec![
            fixtures::ext_key_usage(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN, true),
            fixtures::ext_ca(0),
        ],
        0x67,
        &private_key("ut-csca-1"),
    );
    let r = import::import_bytes(
        &mut store,
        "genuine-link.cer",
        &genuine,
        &ImportOptions::default(),
    );
    assert_eq!(r.added, 1, "{:?}", r.errors);
    let stored = store
        .certificate(&Certificate::from_der(&genuine).unwrap().sha256)
        .unwrap()
        .unwrap();
    assert_eq!((stored.trusted, stored.trust), (true, Some(TrustKind::Link)));
    let p = validate_der(&store, &dsc, "UTO", AT).unwrap();
    assert_eq!(p.status, PathStatus::Valid, "{p:#?}");
}

#[test]
fn a_dsc_that_claims_to_be_a_ca_never_acts_as_one() {
    let p256 = keys::curve_by_name("secp256r1").unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    import::import_file(
        &mut store,
        &committed().join("pki/10-ut-csca-1.cer"),
        &ImportOptions::default(),
    );
    // issued by the real UT CSCA 1, with a DSC's profile plus cA = TRUE and keyCertSign
    let k = Key::ec(p256, false).unwrap();
    let bad_dsc = under_ut1(
        ut_name("DS Utopia with CA bit"),
        &k.spki,
        &k.key_id,
        vec![
            fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_CERT_SIGN, true),
            fixtures::ext_ca(0),
            fixtures::ext_document_types(&["P"]),
        ],
        0x99,
        &private_key("ut-csca-1"),
    );
    let c = Certificate::from_der(&bad_dsc).unwrap();
    assert_eq!(emrtd::pki::role::classify_standalone(&c), Role::Dsc);
    let r = import::import_bytes(&mut store, "dsc-ca.cer", &bad_dsc, &ImportOptions::default());
    assert_eq!(r.added, 1);
    assert!(
        r.notes.iter().any(|n| n.contains("document signer's profile")),
        "{:?}",
        r.notes
    );
    let stored = store.certificate(&c.sha256).unwrap().unwrap();
    assert_eq!((stored.role, stored.trusted), (Role::Dsc, false));
    // a "DSC" issued by that DSC's key: nothing chains through it
    let dsc2 = dsc_under(
        ut_name("DS Utopia with CA bit"),
        &k,
        &Key::ec(p256, false).unwrap(),
    );
    let p = validate_der(&store, &dsc2, "UTO", AT).unwrap();
    assert_ne!(p.status, PathStatus::Valid, "{p:#?}");
    // the DSC itself still validates as a DSC, with the finding
    let p = validate_der(&store, &bad_dsc, "UTO", AT).unwrap();
    assert!(
        p.has_finding("dsc.is_ca") && p.has_finding("dsc.key_cert_sign"),
        "{:?}",
        p.findings
    );
}

#[test]
fn a_cross_country_certificate_is_refused_with_the_real_reason() {
    let pki = fixtures::self_made_pki("GB", "CSCA GB Self-made").unwrap();
    let p256 = keys::curve_by_name("secp256r1").unwrap();
    let bm = Key::ec(p256, false).unwrap();
    // the GB CSCA certifies a CSCA of BM
    let cross = fixtures::issue(
        &CertTemplate {
            serial: vec![0x42],
            issuer: pki.csca.name.clone(),
            subject: fixtures::name(&[(x509::C, "BM"), (x509::O, "Bermuda"), (x509::CN, "CSCA BM")]),
            not_before: datetime!(2025-01-01 0:00 UTC),
            not_after: datetime!(2040-01-01 0:00 UTC),
            spki: bm.spki.clone(),
            extensions: vec![
                fixtures::ext_aki(&pki.csca.key.key_id),
                fixtures::ext_ski(&bm.key_id),
                fixtures::ext_key_usage(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN, true),
                fixtures::ext_ca(0),
            ],
            alg: ecdsa(),
        },
        &pki.csca.key.pkey,
    )
    .unwrap();
    let ml = pki.master_list_with(&[cross]).unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(&mut store, "cross.ml", &ml, &ImportOptions::default());
    assert_eq!(r.rejected, 1, "{:?}", r.errors);
    assert_eq!(
        r.errors,
        vec!["master list certificate CN=CSCA BM,O=Bermuda,C=BM is a cross-country CA certificate (issuer country GB, subject country BM): a CSCA certifies only its own state's CSCA keys (link certificates, Doc 9303 Part 12 §5), so it is never a trust anchor: rejected".to_owned()]
    );
    assert!(!r.errors[0].contains("not a CA certificate"));
}

#[test]
fn removing_an_anchor_withdraws_what_hung_on_it() {
    let pki = fixtures::self_made_pki("UT", "CSCA Utopia Removed").unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    import::import_bytes(&mut store, "csca.cer", &pki.csca.cert, &ImportOptions::default());
    let r = import::import_bytes(&mut store, "self.ml", &pki.master_list, &ImportOptions::default());
    assert_eq!(r.anchored, Some(true));
    assert_eq!(
        validate_der(&store, &pki.dsc, "UTO", AT).unwrap().status,
        PathStatus::Valid
    );
    let csca = Certificate::from_der(&pki.csca.cert).unwrap();
    store.remove(&csca.fingerprint()).unwrap();
    let ml_sha = emrtd::pki::cert::fingerprint(&pki.master_list);
    assert_eq!(store.master_list_anchor(&ml_sha).unwrap(), Some((false, None)));
    assert_eq!(store.anchors().unwrap().len(), 0);
    assert_ne!(
        validate_der(&store, &pki.dsc, "UTO", AT).unwrap().status,
        PathStatus::Valid
    );
}

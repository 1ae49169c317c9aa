//! The project's test PKI (pkd-fixtures/pki, pkd-fixtures/keys): imported as
//! `emrtd pkd import pkd-fixtures/pki/*` would, then every DSC validated. The same
//! checks run on a freshly generated set, so regeneration keeps working.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use emrtd::pki::cert::Certificate;
use emrtd::pki::import::{self, FileOutcome, ImportOptions, SignatureStatus};
use emrtd::pki::path::{self, CheckStatus, PathStatus, Revocation};
use emrtd::pki::role::Role;
use emrtd::pki::store::TrustStore;
use time::macros::datetime;

const AT: time::OffsetDateTime = datetime!(2027-01-01 0:00 UTC);

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
}

fn import_all(dir: &Path) -> TrustStore {
    let mut store = TrustStore::open_in_memory().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 13);
    for f in &files {
        let r = import::import_file(&mut store, f, &ImportOptions::default());
        assert_eq!(
            r.outcome,
            FileOutcome::Imported,
            "{}: {:?}",
            f.display(),
            r.errors
        );
        assert!(r.errors.is_empty(), "{}: {:?}", f.display(), r.errors);
        assert_ne!(r.signature, SignatureStatus::Invalid, "{}", f.display());
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".ml") || name.ends_with(".dvl") || name.contains("002-ml") {
            assert_eq!(r.signature, SignatureStatus::Valid, "{name}");
        }
        if name.starts_with("30-") {
            // 7 DSCs and 2 CRLs, all new
            assert_eq!((r.added, r.duplicate, r.rejected), (9, 0, 0), "{name}");
        }
    }
    store
}

fn key_file(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join("keys").join(format!("{name}.cer"))).unwrap()
}

/// A certificate of the fixture set, parsed.
fn key_cert(dir: &Path, name: &str) -> Certificate {
    Certificate::from_der(&key_file(dir, name)).unwrap()
}

fn check_fixture_set(dir: &Path) {
    let store = import_all(dir);
    let v =
        |name: &str, country: &str| path::validate_dsc(&store, &key_cert(dir, name), country, AT).unwrap();

    let r = v("ut-dsc-valid", "UTO");
    assert_eq!(r.status, PathStatus::Valid, "{r:#?}");
    assert!(
        matches!(r.revocation, Revocation::Good { .. }),
        "{:?}",
        r.revocation
    );

    let r = v("ut-dsc-old", "UTO");
    assert_eq!(r.status, PathStatus::Valid, "{r:#?}");
    assert!(matches!(r.revocation, Revocation::Good { .. }));

    let r = v("ut-dsc-expired", "UTO");
    assert_eq!(r.status, PathStatus::Invalid);
    assert_eq!(r.check("dsc_validity").unwrap().status, CheckStatus::Fail);
    assert_eq!(r.check("chain").unwrap().status, CheckStatus::Pass);

    // explicit-parameter CSCA and DSC
    let r = v("xa-dsc-valid", "XAA");
    assert_eq!(r.status, PathStatus::Valid, "{r:#?}");
    assert!(r.has_finding("key.explicit_parameters"));
    assert!(r.chain[0].key.as_deref() == Some("ec-brainpoolP256r1"));
    assert!(matches!(r.revocation, Revocation::Good { .. }));

    // on a current CRL: revoked
    let r = v("xa-dsc-revoked", "XAA");
    match &r.revocation {
        Revocation::Revoked { reason, date, .. } => {
            assert_eq!(*reason, Some("keyCompromise"));
            assert_eq!(*date, datetime!(2026-02-01 0:00 UTC));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.check("revocation").unwrap().status, CheckStatus::Fail);

    let r = v("xa-dsc-wrong-ku", "XAA");
    assert_eq!(r.status, PathStatus::Invalid);
    assert!(r.has_finding("dsc.key_usage_wrong"));
    assert!(r.has_finding("deviation_list"), "{:?}", r.findings);
    assert_eq!(r.check("key_usage").unwrap().status, CheckStatus::Fail);

    // only an expired CRL: indeterminate, never "pass"
    let r = v("xb-dsc-valid", "XBB");
    assert_eq!(r.status, PathStatus::Valid);
    match &r.revocation {
        Revocation::Indeterminate { reason, .. } => assert!(reason.contains("expired"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.check("revocation").unwrap().status, CheckStatus::Indeterminate);

    let r = v("xb-dsc-nc", "XBB");
    assert_eq!(r.status, PathStatus::Valid, "{r:#?}");
    assert!(r.has_finding("dsc.aki_missing"));
    assert!(r.has_finding("dsc.key_usage_not_critical"));

    // wrong country
    let r = v("xa-dsc-valid", "UTO");
    assert_eq!(r.status, PathStatus::Invalid);
    assert!(r.has_finding("csca.country_mismatch"));

    // store contents and roles
    let nc = store
        .list(None, Some(emrtd::pki::store::ListKind::Dsc))
        .unwrap()
        .into_iter()
        .filter(|e| e.non_conformant)
        .count();
    assert_eq!(nc, 1);
    let stats = store.stats().unwrap();
    let ut = stats.iter().find(|s| s.country == "UT").unwrap();
    assert_eq!((ut.cscas, ut.links, ut.dscs, ut.crls), (2, 1, 3, 2));
}

#[test]
fn committed_fixtures_import_and_validate() {
    check_fixture_set(&committed());
}

#[test]
fn regenerated_fixtures_import_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let s = emrtd::pki::fixtures::generate(dir.path()).unwrap();
    assert_eq!(s.pki_files.len(), 13);
    check_fixture_set(dir.path());
}

#[test]
fn link_certificate_carries_the_new_key() {
    // only the first UT CSCA and the link certificate are trusted: the DSC signed by
    // the second key validates through the link certificate
    let dir = committed();
    let mut store = TrustStore::open_in_memory().unwrap();
    for f in ["10-ut-csca-1.cer", "10-ut-link-csca-2-by-1.cer"] {
        let r = import::import_file(&mut store, &dir.join("pki").join(f), &ImportOptions::default());
        assert_eq!(r.added, 1, "{f}: {:?}", r.errors);
    }
    let r = path::validate_dsc(&store, &key_cert(&dir, "ut-dsc-valid"), "UTO", AT).unwrap();
    assert_eq!(r.status, PathStatus::Valid, "{r:#?}");
    // the link certificate, then the CSCA whose key verified it when it was imported
    assert_eq!(r.chain.len(), 2);
    assert_eq!(r.chain[0].role, Some(Role::Link));
    assert_eq!(
        r.chain[1].fingerprint,
        Certificate::from_der(&key_file(&dir, "ut-csca-1"))
            .unwrap()
            .fingerprint()
    );
    assert!(r.has_finding("chain.link_certificate"));
    // without the link certificate there is no path
    let mut only_old = TrustStore::open_in_memory().unwrap();
    import::import_file(
        &mut only_old,
        &dir.join("pki/10-ut-csca-1.cer"),
        &ImportOptions::default(),
    );
    let r = path::validate_dsc(&only_old, &key_cert(&dir, "ut-dsc-valid"), "UTO", AT).unwrap();
    assert_eq!(r.status, PathStatus::Indeterminate);
}

#[test]
fn link_certificate_in_a_pkd_dsc_entry_is_a_dsc_and_nothing_chains_through_it() {
    // the link certificate arrives as an entry of the PKD's DSC collection: whatever
    // its extensions claim, it is a DSC there, never a CA
    let dir = committed();
    let mut store = TrustStore::open_in_memory().unwrap();
    import::import_file(
        &mut store,
        &dir.join("pki/10-ut-csca-1.cer"),
        &ImportOptions::default(),
    );
    let link = std::fs::read(dir.join("pki/10-ut-link-csca-2-by-1.cer")).unwrap();
    let mut ldif = b"version: 1\n\n".to_vec();
    emrtd::pki::fixtures::write_dsc_entry(&mut ldif, &link, 1, None).unwrap();
    let r = import::import_bytes(&mut store, "link.ldif", &ldif, &ImportOptions::default());
    assert_eq!(r.added, 1, "{:?}", r.errors);
    let sha = Certificate::from_der(&link).unwrap().sha256;
    let stored = store.certificate(&sha).unwrap().unwrap();
    assert_eq!(stored.role, Role::Dsc);
    assert!(!stored.trusted);
    let before = emrtd::pki::cert::signature_checks();
    let r = path::validate_dsc(&store, &key_cert(&dir, "ut-dsc-valid"), "UTO", AT).unwrap();
    assert_eq!(r.status, PathStatus::Indeterminate, "{r:#?}");
    // nothing trusted names the DSC's issuer: not one signature check
    assert_eq!(emrtd::pki::cert::signature_checks() - before, 0);
}

#[test]
fn fixture_private_keys_match_their_certificates() {
    let dir = committed();
    for name in ["ut-dsc-valid", "xa-dsc-valid", "xb-dsc-valid", "xa-csca"] {
        let cert = Certificate::from_der(&key_file(&dir, name)).unwrap();
        let pem = std::fs::read(dir.join("keys").join(format!("{name}.key.pem"))).unwrap();
        let key = openssl::pkey::PKey::private_key_from_pem(&pem).unwrap();
        let alg = cert.key_info().unwrap();
        let sig_alg = if alg.type_name() == "ec" {
            emrtd::pki::signature::SignatureAlgorithm::Ecdsa {
                hash: emrtd::pki::signature::HashAlgorithm::Sha256,
            }
        } else {
            emrtd::pki::signature::SignatureAlgorithm::RsaPkcs1 {
                hash: emrtd::pki::signature::HashAlgorithm::Sha256,
            }
        };
        let sig = emrtd::pki::signature::sign(&sig_alg, &key, b"probe").unwrap();
        emrtd::pki::signature::verify(&sig_alg, &cert.public_key().unwrap(), b"probe", &sig).unwrap();
    }
}

#[test]
fn openssl_x509_verifier_agrees_on_named_curve_and_rsa_chains() {
    // an independent check of our certificate encoding and signatures where OpenSSL's
    // own X509 verifier can be used (not for explicit parameters, which it refuses)
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::{X509, X509StoreContext};
    let dir = committed();
    for (csca, dsc) in [
        ("ut-csca-2", "ut-dsc-valid"),
        ("ut-csca-1", "ut-dsc-old"),
        ("xb-csca", "xb-dsc-valid"),
    ] {
        let ca = X509::from_der(&key_file(&dir, csca)).unwrap();
        let leaf = X509::from_der(&key_file(&dir, dsc)).unwrap();
        let mut b = X509StoreBuilder::new().unwrap();
        b.add_cert(ca).unwrap();
        let store = b.build();
        let mut ctx = X509StoreContext::new().unwrap();
        let chain = Stack::new().unwrap();
        let ok = ctx.init(&store, &leaf, &chain, |c| c.verify_cert()).unwrap();
        assert!(ok, "{dsc}: {}", ctx.error());
    }
}

//! An attacker on the trust store (docs/trust-store.md): what a file handed to the desk
//! can make trusted. A certificate that is not a list signer (a DSC, a deviation list
//! signer) signs a master list or a deviation list with a key that chains to a trusted
//! CSCA: the list must anchor nothing and excuse nothing. A DSC key is in every
//! document-issuing office, so a DSC that could sign an anchored master list would
//! mint a CSCA of any country.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use emrtd::asn1::oid as x509;
use emrtd::cms::Oid;
use emrtd::cms::sign::{self, SidForm, SignRequest};
use emrtd::pki::cert::{Certificate, KeyUsage};
use emrtd::pki::fixtures::{self, CertTemplate, Key};
use emrtd::pki::import::{self, FileOutcome, ImportOptions};
use emrtd::pki::keys;
use emrtd::pki::masterlist;
use emrtd::pki::path::PathStatus;
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use emrtd::pki::store::TrustStore;
use time::macros::datetime;

#[path = "support/dsc_path.rs"]
mod dsc_path;
use dsc_path::validate_der;

const AT: time::OffsetDateTime = datetime!(2027-01-01 0:00 UTC);

fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/keys")
}

fn cert_file(name: &str) -> Vec<u8> {
    std::fs::read(keys_dir().join(format!("{name}.cer"))).unwrap()
}

fn private_key(name: &str) -> openssl::pkey::PKey<openssl::pkey::Private> {
    let pem = std::fs::read(keys_dir().join(format!("{name}.key.pem"))).unwrap();
    openssl::pkey::PKey::private_key_from_pem(&pem).unwrap()
}

fn ecdsa() -> SignatureAlgorithm {
    SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha256,
    }
}

/// Import XA's CSCA as a certificate file: an anchor (`direct`).
fn import_xa_anchor(store: &mut TrustStore) {
    let r = import::import_bytes(
        store,
        "xa-csca.cer",
        &cert_file("xa-csca"),
        &ImportOptions::default(),
    );
    assert_eq!(r.outcome, FileOutcome::Imported, "{:?}", r.errors);
}

/// A store whose only anchor is XA's CSCA.
fn xa_store() -> TrustStore {
    let mut store = TrustStore::open_in_memory().unwrap();
    import_xa_anchor(&mut store);
    store
}

/// `content` of type `econtent_type` signed by the fixture key pair `signer`.
fn signed_list(econtent_type: Oid, content: &[u8], signer: &str) -> Vec<u8> {
    let cert = cert_file(signer);
    let req = SignRequest {
        econtent_type,
        econtent: content,
        signer_cert: &cert,
        digest: HashAlgorithm::Sha256,
        alg: ecdsa(),
        signing_time: Some(datetime!(2026-11-01 12:00 UTC)),
        embed_signer: true,
        extra_certs: vec![],
        sid: SidForm::IssuerAndSerial,
    };
    sign::sign(&req, &private_key(signer)).unwrap()
}

/// Signed by a DSC of XA or by XA's deviation list signer (both certified by XA's
/// trusted CSCA, neither a master list signer), a master list holding a self-made CSCA
/// of ZZ: stored, never anchored, and the self-made CSCA validates nothing.
#[test]
fn a_master_list_signed_by_anything_but_a_master_list_signer_anchors_nothing() {
    let forged = fixtures::self_made_pki("ZZ", "CSCA ZZ Minted").unwrap();
    let content = masterlist::encode_master_list_content(std::slice::from_ref(&forged.csca.cert));
    for signer in ["xa-dsc-valid", "xa-dl-signer"] {
        let mut store = xa_store();
        let ml = signed_list(x509::ICAO_CSCA_MASTER_LIST, &content, signer);
        let r = import::import_bytes(&mut store, "minted.ml", &ml, &ImportOptions::default());
        assert_ne!(r.anchored, Some(true), "{signer}: {r:#?}");
        let csca = Certificate::from_der(&forged.csca.cert).unwrap();
        let trusted = store
            .certificate(&csca.sha256)
            .unwrap()
            .is_some_and(|c| c.trusted);
        assert!(!trusted, "{signer}: the minted CSCA is trusted");
        let p = validate_der(&store, &forged.dsc, "ZZZ", AT).unwrap();
        assert_ne!(p.status, PathStatus::Valid, "{signer}: {p:#?}");
        assert!(
            r.errors
                .iter()
                .chain(&r.notes)
                .any(|e| e.contains("not a master list signer")),
            "{signer}: {r:#?}"
        );
    }
}

/// A DSC of XA that breaks RFC 5280 (an unknown critical extension) fails its path; a
/// "deviation list" signed by another XA DSC (not a deviation list signer) naming it
/// excuses nothing, and XA's real deviation list signer does.
#[test]
fn a_deviation_list_signed_by_a_dsc_excuses_nothing() {
    let xa = Certificate::from_der(&cert_file("xa-csca")).unwrap();
    let p256 = keys::curve_by_name("secp256r1").unwrap();
    let key = Key::ec(p256, false).unwrap();
    let serial = vec![0x0D, 0xEF];
    let odd = fixtures::issue(
        &CertTemplate {
            serial: serial.clone(),
            issuer: xa.subject.raw.clone(),
            subject: fixtures::name(&[
                (x509::C, "XA"),
                (x509::O, "Republic of XA"),
                (x509::CN, "DS XA odd"),
            ]),
            not_before: datetime!(2026-01-01 0:00 UTC),
            not_after: datetime!(2030-01-01 0:00 UTC),
            spki: key.spki.clone(),
            extensions: vec![
                fixtures::ext_aki(xa.ski.as_deref().unwrap()),
                fixtures::ext_ski(&key.key_id),
                fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true),
                fixtures::extension(&Oid::new_unwrap("1.3.6.1.4.1.99999.1"), true, &[0x05, 0x00]),
            ],
            alg: ecdsa(),
        },
        &private_key("xa-csca"),
    )
    .unwrap();
    let content = masterlist::encode_deviation_list_content(&[(
        xa.subject.raw.clone(),
        serial,
        Oid::new_unwrap("2.23.136.1.1.7.1.1"),
        "excused".into(),
    )]);

    let mut store = xa_store();
    let p = validate_der(&store, &odd, "XAA", AT).unwrap();
    assert_eq!(p.status, PathStatus::Invalid, "{p:#?}");
    assert!(p.has_finding("dsc.rfc5280"), "{p:#?}");

    let by_dsc = signed_list(x509::ICAO_DEVIATION_LIST, &content, "xa-dsc-valid");
    let r = import::import_bytes(&mut store, "by-dsc.dvl", &by_dsc, &ImportOptions::default());
    assert!(
        r.errors.iter().any(|e| e.contains("not a deviation list signer")),
        "{r:#?}"
    );
    let p = validate_der(&store, &odd, "XAA", AT).unwrap();
    assert_eq!(p.status, PathStatus::Invalid, "{p:#?}");
    assert!(!p.has_finding("deviation_list"), "{p:#?}");

    // the test can fail the other way: XA's deviation list signer does excuse it
    let by_signer = signed_list(x509::ICAO_DEVIATION_LIST, &content, "xa-dl-signer");
    let r = import::import_bytes(&mut store, "by-signer.dvl", &by_signer, &ImportOptions::default());
    assert_eq!(r.outcome, FileOutcome::Imported, "{r:#?}");
    let p = validate_der(&store, &odd, "XAA", AT).unwrap();
    assert!(p.has_finding("dsc.rfc5280_deviation"), "{p:#?}");
    assert!(!p.has_finding("dsc.rfc5280"), "{p:#?}");
}

/// Store a list this version refuses (signed by a DSC), as `--trust-unsigned` does: the
/// tests then set by hand what an older store had made of it.
fn store_refused_list(store: &mut TrustStore, ml: &[u8]) {
    let forced = ImportOptions {
        trust_unsigned: true,
        ..ImportOptions::default()
    };
    let r = import::import_bytes(store, "minted.ml", ml, &forced);
    assert_eq!(r.outcome, FileOutcome::Imported, "{r:#?}");
}

/// A store written before list signers had to be list signers holds a master list
/// signed by an XA DSC as `valid` and unanchored (the list carries XA's CSCA, so its
/// signer chained inside it). When XA's CSCA then arrives as an anchor, the list is
/// not anchored by it and the ZZ CSCA it carries stays untrusted.
#[test]
fn a_stored_list_of_a_dsc_signer_is_not_anchored_when_the_anchor_arrives() {
    let forged = fixtures::self_made_pki("ZZ", "CSCA ZZ Minted").unwrap();
    let content = masterlist::encode_master_list_content(&[forged.csca.cert.clone(), cert_file("xa-csca")]);
    let ml = signed_list(x509::ICAO_CSCA_MASTER_LIST, &content, "xa-dsc-valid");
    let mut store = TrustStore::open_in_memory().unwrap();
    store_refused_list(&mut store, &ml);
    // what the older store held: the list `valid`, nothing of it trusted
    store
        .connection()
        .execute_batch(
            "UPDATE master_lists SET signature = 'valid', anchored = 0, anchor_sha256 = NULL;
             UPDATE certificates SET trusted = 0, trust = NULL, anchor_sha256 = NULL;",
        )
        .unwrap();
    import_xa_anchor(&mut store);
    let csca = Certificate::from_der(&forged.csca.cert).unwrap();
    let stored = store.certificate(&csca.sha256).unwrap().unwrap();
    assert!(!stored.trusted, "{stored:#?}");
    let p = validate_der(&store, &forged.dsc, "ZZZ", AT).unwrap();
    assert_ne!(p.status, PathStatus::Valid, "{p:#?}");
}

/// A master list that does not embed its signer's certificate names it by subject key
/// identifier; the store holds the genuine UT master list signer and, stored before it,
/// a look-alike with the same SKI, issuer and subject but another key. The list must
/// verify with the certificate whose key signed it (anchored by UT's CSCA), whichever
/// was stored first.
#[test]
fn a_look_alike_stored_first_does_not_decide_a_master_lists_signer() {
    let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/pki");
    let genuine_der = cert_file("ut-ml-signer");
    let genuine = Certificate::from_der(&genuine_der).unwrap();
    let p256 = keys::curve_by_name("secp256r1").unwrap();
    let other = Key::ec(p256, false).unwrap();
    let look_alike = fixtures::issue(
        &CertTemplate {
            serial: vec![0x4C, 0x41],
            issuer: genuine.issuer.raw.clone(),
            subject: genuine.subject.raw.clone(),
            not_before: genuine.not_before,
            not_after: genuine.not_after,
            spki: other.spki.clone(),
            extensions: vec![
                fixtures::ext_ski(genuine.ski.as_deref().unwrap()),
                fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true),
                fixtures::ext_eku(&[x509::ICAO_CSCA_MASTER_LIST_SIGNING_KEY]),
            ],
            alg: ecdsa(),
        },
        &other.pkey,
    )
    .unwrap();
    let forged = fixtures::self_made_pki("ZY", "CSCA ZY Listed").unwrap();
    let content = masterlist::encode_master_list_content(std::slice::from_ref(&forged.csca.cert));
    let req = SignRequest {
        econtent_type: x509::ICAO_CSCA_MASTER_LIST,
        econtent: &content,
        signer_cert: &genuine_der,
        digest: HashAlgorithm::Sha256,
        alg: SignatureAlgorithm::RsaPkcs1 {
            hash: HashAlgorithm::Sha256,
        },
        signing_time: Some(datetime!(2026-11-01 12:00 UTC)),
        embed_signer: false,
        extra_certs: vec![],
        sid: SidForm::SubjectKeyIdentifier,
    };
    let ml = sign::sign(&req, &private_key("ut-ml-signer")).unwrap();
    for order in [[&look_alike, &genuine_der], [&genuine_der, &look_alike]] {
        let mut store = TrustStore::open_in_memory().unwrap();
        let anchor = import::import_file(
            &mut store,
            &pki.join("10-ut-csca-2.cer"),
            &ImportOptions::default(),
        );
        assert_eq!(anchor.outcome, FileOutcome::Imported, "{:?}", anchor.errors);
        for (i, der) in order.iter().enumerate() {
            let r = import::import_bytes(
                &mut store,
                &format!("signer-{i}.cer"),
                der,
                &ImportOptions::default(),
            );
            assert_eq!(r.outcome, FileOutcome::Imported, "{:?}", r.errors);
        }
        let r = import::import_bytes(&mut store, "ut.ml", &ml, &ImportOptions::default());
        assert_eq!(r.anchored, Some(true), "{r:#?}");
    }
}

/// A store of schema version 8 anchored a master list that an XA DSC signed (as the
/// rules then allowed), so the ZZ CSCA in it was trusted and ZZ's DSC path valid.
/// Opening it with this version (9) earns the derived trust again under the list-signer
/// rule: the ZZ CSCA is no longer trusted, XA's anchor still is.
#[test]
fn a_version_8_store_that_anchored_a_dsc_signed_list_loses_that_trust_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trust.db");
    let forged = fixtures::self_made_pki("ZZ", "CSCA ZZ Minted").unwrap();
    let csca = Certificate::from_der(&forged.csca.cert).unwrap();
    let xa = Certificate::from_der(&cert_file("xa-csca")).unwrap();
    {
        let mut store = TrustStore::open(&path).unwrap();
        import_xa_anchor(&mut store);
        let content = masterlist::encode_master_list_content(std::slice::from_ref(&forged.csca.cert));
        let ml = signed_list(x509::ICAO_CSCA_MASTER_LIST, &content, "xa-dsc-valid");
        // stored the way version 8 took it in
        store_refused_list(&mut store, &ml);
        // what version 8 made of it: the list valid and anchored by XA's CSCA, the ZZ
        // CSCA trusted through it
        store
            .connection()
            .execute(
                "UPDATE master_lists SET signature = 'valid', anchored = 1, anchor_sha256 = ?1",
                [xa.sha256.as_slice()],
            )
            .unwrap();
        store
            .connection()
            .execute(
                "UPDATE certificates SET trusted = 1, trust = 'master_list', anchor_sha256 = ?1 WHERE sha256 = ?2",
                [xa.sha256.as_slice(), csca.sha256.as_slice()],
            )
            .unwrap();
        store
            .connection()
            .execute_batch("PRAGMA user_version = 8")
            .unwrap();
        let p = validate_der(&store, &forged.dsc, "ZZZ", AT).unwrap();
        assert_eq!(p.status, PathStatus::Valid, "the version 8 state: {p:#?}");
    }
    let store = TrustStore::open(&path).unwrap();
    let v: i64 = store
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, emrtd::pki::store::SCHEMA_VERSION);
    assert!(!store.certificate(&csca.sha256).unwrap().unwrap().trusted);
    assert!(store.certificate(&xa.sha256).unwrap().unwrap().trusted);
    let p = validate_der(&store, &forged.dsc, "ZZZ", AT).unwrap();
    assert_ne!(p.status, PathStatus::Valid, "{p:#?}");
}

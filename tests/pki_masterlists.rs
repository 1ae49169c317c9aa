//! The real master lists of test-vectors/pki (MANIFEST §3) through the importer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use emrtd::pki::cert::Certificate;
use emrtd::pki::import::{self, FileOutcome, ImportOptions, SignatureStatus};
use emrtd::pki::keys::KeyAlgorithm;
use emrtd::pki::masterlist::MasterList;
use emrtd::pki::role::Role;
use emrtd::pki::store::TrustStore;
use time::macros::datetime;

fn vector(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/test-vectors/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

const DE_ML: &str = "pki/masterlists/DE_ML_2024-08-07-07-38-24.ml";
const NL_ML: &str = "pki/masterlists/NL_MASTERLIST_20211207.mls";
const NL_CSCA: &str = "pki/csca_certs/NL_CSCA_serial6_20210621-20340630_zienit.cer";

fn opts(at: time::OffsetDateTime) -> ImportOptions {
    ImportOptions {
        trust_unsigned: false,
        at: Some(at),
    }
}

#[test]
fn german_master_list_imports_541_verified_certificates() {
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(
        &mut store,
        DE_ML,
        &vector(DE_ML),
        &opts(datetime!(2024-09-01 0:00 UTC)),
    );
    assert_eq!(r.kind, Some(import::FileKind::MasterList));
    assert_eq!(r.signature, SignatureStatus::Valid, "{:?}", r.errors);
    assert_eq!((r.added, r.duplicate, r.rejected), (541, 0, 0), "{:?}", r.errors);
    assert_eq!(r.outcome, FileOutcome::Imported);
    // the 541 CA certificates plus the list signer
    assert_eq!(store.certificate_count().unwrap(), 542);
    // a second import adds nothing
    let again = import::import_bytes(
        &mut store,
        DE_ML,
        &vector(DE_ML),
        &opts(datetime!(2024-09-01 0:00 UTC)),
    );
    assert_eq!((again.added, again.duplicate), (0, 541));
}

#[test]
fn german_master_list_signer_chains_to_the_embedded_german_csca() {
    let store = TrustStore::open_in_memory().unwrap();
    let v = import::check_master_list(&store, &vector(DE_ML), &opts(datetime!(2024-09-01 0:00 UTC))).unwrap();
    assert_eq!(v.status, SignatureStatus::Valid, "{:?}", v.reasons);
    let anchor = v.anchor.unwrap();
    assert_eq!(hex::encode_upper(anchor.ski.unwrap())[..6], *"A40A5F");
    assert!(
        v.signer
            .unwrap()
            .subject
            .display()
            .contains("CSCA Master List Signer")
    );
}

#[test]
fn every_certificate_parses_and_explicit_ec_keys_are_counted() {
    // MANIFEST: DE 541 certificates, NL 306; we count the EC keys with explicit
    // domain parameters (the reason OpenSSL's X509 verifier cannot be used)
    for (path, total, ec, explicit) in [(DE_ML, 541, 130, 126), (NL_ML, 306, 60, 58)] {
        let ml = MasterList::parse(&vector(path)).unwrap();
        assert_eq!(ml.certificate_count(), total, "{path}");
        let mut n_ec = 0;
        let mut n_explicit = 0;
        for der in ml.certificates() {
            let der = der.unwrap();
            let c = Certificate::from_der(der).unwrap_or_else(|e| panic!("{path}: {e:?}"));
            // every key builds (explicit parameters included)
            let key = c
                .public_key()
                .unwrap_or_else(|e| panic!("{path}: {}: {e:?}", c.subject.display()));
            if key.info().algorithm == KeyAlgorithm::Ec {
                n_ec += 1;
                if key.info().explicit_params() {
                    n_explicit += 1;
                }
            }
            // cross-check our parser against x509-parser on serial and names
            let (_, x) = x509_parser::parse_x509_certificate(der).unwrap();
            assert_eq!(x.raw_serial(), c.serial.as_slice());
            assert_eq!(x.subject().as_raw(), c.subject.raw.as_slice());
            assert_eq!(x.validity().not_after.timestamp(), c.not_after.unix_timestamp());
        }
        assert_eq!((n_ec, n_explicit), (ec, explicit), "{path}");
    }
}

#[test]
fn self_signed_cscas_verify_and_links_are_classified() {
    let ml = MasterList::parse(&vector(DE_ML)).unwrap();
    let certs: Vec<Certificate> = ml
        .certificates()
        .map(|d| Certificate::from_der(d.unwrap()).unwrap())
        .collect();
    let roles: Vec<Role> = certs.iter().map(emrtd::pki::role::classify).collect();
    let cscas = roles.iter().filter(|r| **r == Role::Csca).count();
    let links = roles.iter().filter(|r| **r == Role::Link).count();
    assert_eq!(cscas + links, 541);
    assert!(cscas > 300 && links > 100, "{cscas} {links}");
}

#[test]
fn dutch_master_list_signer_chains_to_nl_csca_serial_6() {
    let mut store = TrustStore::open_in_memory().unwrap();
    let at = datetime!(2021-12-17 12:00 UTC);
    let c = import::import_bytes(&mut store, NL_CSCA, &vector(NL_CSCA), &opts(at));
    assert_eq!(c.added, 1);
    let v = import::check_master_list(&store, &vector(NL_ML), &opts(at)).unwrap();
    assert_eq!(v.status, SignatureStatus::Valid, "{:?}", v.reasons);
    let nl_csca = Certificate::from_der(&vector(NL_CSCA)).unwrap();
    assert_eq!(v.anchor.unwrap().sha256, nl_csca.sha256);
    let signer = v.signer.unwrap();
    assert!(signer.is_valid_at(at));
    // "serial 3" in the MANIFEST is the subject's serialNumber attribute
    assert_eq!(signer.subject.get(&emrtd::asn1::oid::SERIAL_NUMBER), Some("3"));
    let r = import::import_bytes(&mut store, NL_ML, &vector(NL_ML), &opts(at));
    assert_eq!(r.signature, SignatureStatus::Valid);
    // NL CSCA serial 6 is in the list too: 305 new + 1 already imported
    assert_eq!(r.added + r.duplicate, 306);
    assert_eq!(r.rejected, 0);
}

#[test]
fn dutch_master_list_alone_imports_306() {
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(
        &mut store,
        NL_ML,
        &vector(NL_ML),
        &opts(datetime!(2021-12-17 12:00 UTC)),
    );
    assert_eq!(r.signature, SignatureStatus::Valid, "{:?}", r.errors);
    assert_eq!((r.added, r.rejected), (306, 0));
}

#[test]
fn flipped_signature_byte_is_refused_and_adds_nothing() {
    for path in [DE_ML, NL_ML] {
        let mut bytes = vector(path);
        let ml = MasterList::parse(&bytes).unwrap();
        let sig = ml.signed_data.signer_infos[0].signature.clone();
        let pos = bytes
            .windows(sig.len())
            .position(|w| w == sig.as_slice())
            .unwrap();
        bytes[pos + sig.len() / 2] ^= 0x01;
        let mut store = TrustStore::open_in_memory().unwrap();
        let r = import::import_bytes(&mut store, path, &bytes, &opts(datetime!(2024-09-01 0:00 UTC)));
        assert_eq!(r.signature, SignatureStatus::Invalid, "{path}");
        assert_eq!(r.outcome, FileOutcome::Refused, "{path}");
        assert_eq!(r.added, 0);
        assert_eq!(r.rejected as usize, ml.certificate_count());
        assert!(
            r.errors.iter().any(|e| e.contains("signature does not verify")),
            "{:?}",
            r.errors
        );
        assert_eq!(store.counts().unwrap(), (0, 0, 0, 0), "{path}");
        // with --trust-unsigned it is imported, and still reported invalid
        let forced = import::import_bytes(
            &mut store,
            path,
            &bytes,
            &ImportOptions {
                trust_unsigned: true,
                at: Some(datetime!(2024-09-01 0:00 UTC)),
            },
        );
        assert_eq!(forced.signature, SignatureStatus::Invalid);
        assert_eq!(forced.added as usize, ml.certificate_count());
    }
}

#[test]
fn flipped_content_byte_is_refused() {
    let mut bytes = vector(NL_ML);
    // inside the certList, far from the signer info
    bytes[5000] ^= 0x01;
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(&mut store, NL_ML, &bytes, &opts(datetime!(2021-12-17 12:00 UTC)));
    assert_ne!(r.outcome, FileOutcome::Imported);
    assert_eq!(store.counts().unwrap(), (0, 0, 0, 0));
}

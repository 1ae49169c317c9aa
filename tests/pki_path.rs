//! ICAO path validation against external vectors: the OpenPACE EF.CardSecurity DSC
//! under German CSCA #13 (MANIFEST §2: "DSC verifies under CSCA 013").

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use emrtd::cms::{self, SignedData};
use emrtd::pki::cert::Certificate;
use emrtd::pki::import::{self, ImportOptions};
use emrtd::pki::path::{self, CheckStatus, PathStatus, Revocation};
use emrtd::pki::store::TrustStore;
use time::Duration;

fn vector(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/test-vectors/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

const CARD_SECURITY: &str = "lds/openpace_cardaccess_samples/ef_cardsecurity_dan.bin";
const CSCA_013: &str = "lds/openpace_cardaccess_samples/csca_germany_013_self_signed_cer.cer";

fn store_with_csca_013() -> TrustStore {
    let mut s = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(&mut s, CSCA_013, &vector(CSCA_013), &ImportOptions::default());
    assert_eq!(r.added, 1, "{:?}", r.errors);
    s
}

fn dsc() -> (SignedData, Certificate) {
    let sd = SignedData::parse(&vector(CARD_SECURITY)).unwrap();
    let c = sd.signer_certificate(&sd.signer_infos[0]).unwrap().into_owned();
    (sd, c)
}

#[test]
fn card_security_dsc_validates_under_csca_013_within_validity() {
    let store = store_with_csca_013();
    let (sd, c) = dsc();
    let csca = Certificate::from_der(&vector(CSCA_013)).unwrap();
    // a moment inside both validity periods
    let at = c.not_before.max(csca.not_before) + Duration::days(1);
    assert!(at < c.not_after && at < csca.not_after);
    let r = path::validate_dsc(&store, &c, "D", at).unwrap();
    assert_eq!(r.status, PathStatus::Valid, "{r:#?}");
    assert_eq!(r.csca.as_ref().unwrap().fingerprint, csca.fingerprint());
    assert_eq!(r.check("chain").unwrap().status, CheckStatus::Pass);
    assert_eq!(r.check("country").unwrap().status, CheckStatus::Pass);
    // no CRL in the store: revocation is indeterminate, never "pass"
    assert!(matches!(r.revocation, Revocation::Indeterminate { .. }));
    assert_eq!(r.check("revocation").unwrap().status, CheckStatus::Indeterminate);
    // and the CardSecurity CMS signature itself verifies with that DSC
    cms::verify_signer_with_certificate(&sd, &sd.signer_infos[0], &c).unwrap();
}

#[test]
fn card_security_dsc_is_expired_outside_its_validity() {
    let store = store_with_csca_013();
    let (_, c) = dsc();
    let after = c.not_after + Duration::days(1);
    let r = path::validate_dsc(&store, &c, "DEU", after).unwrap();
    assert_eq!(r.status, PathStatus::Invalid);
    assert_eq!(r.check("dsc_validity").unwrap().status, CheckStatus::Fail);
    assert_eq!(r.check("chain").unwrap().status, CheckStatus::Pass);
    let before = c.not_before - Duration::days(1);
    let r = path::validate_dsc(&store, &c, "DEU", before).unwrap();
    assert_eq!(r.check("dsc_validity").unwrap().status, CheckStatus::Fail);
}

#[test]
fn no_csca_in_the_store_is_indeterminate_not_invalid() {
    let store = TrustStore::open_in_memory().unwrap();
    let (_, c) = dsc();
    let r = path::validate_dsc(&store, &c, "D", c.not_before + Duration::days(1)).unwrap();
    assert_eq!(r.status, PathStatus::Indeterminate);
    assert!(r.reason.unwrap().contains("no CSCA"));
}

#[test]
fn wrong_document_country_is_a_named_failure() {
    let store = store_with_csca_013();
    let (_, c) = dsc();
    let r = path::validate_dsc(&store, &c, "NLD", c.not_before + Duration::days(1)).unwrap();
    assert_eq!(r.status, PathStatus::Invalid);
    assert_eq!(r.check("country").unwrap().status, CheckStatus::Fail);
    assert!(r.has_finding("csca.country_mismatch"));
}

#[test]
fn dsc_with_a_flipped_signature_byte_is_invalid() {
    let store = store_with_csca_013();
    let (_, c) = dsc();
    let mut der = c.der.clone();
    let n = der.len();
    der[n - 3] ^= 0x01;
    let flipped = Certificate::from_der(&der).unwrap();
    let r = path::validate_dsc(&store, &flipped, "D", c.not_before + Duration::days(1)).unwrap();
    assert_eq!(r.status, PathStatus::Invalid, "{r:#?}");
    assert_eq!(r.check("chain").unwrap().status, CheckStatus::Fail);
}

//! No quadratic paths (issue 16): imports and verify do work proportional to what
//! they are given, whatever the store holds. Counted in signature checks and CRL
//! parses (per thread: `pki::cert::signature_checks`, `pki::crl::parses`), not time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use emrtd::asn1::oid as x509;
use emrtd::pki::cert::{Certificate, KeyUsage, signature_checks};
use emrtd::pki::crl;
use emrtd::pki::fixtures::{self, CertTemplate, CrlTemplate, Key};
use emrtd::pki::import::{self, FileOutcome, ImportOptions};
use emrtd::pki::keys;
use emrtd::pki::path::{self, PathStatus, Revocation};
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use emrtd::pki::store::TrustStore;
use time::macros::datetime;

const AT: time::OffsetDateTime = datetime!(2027-01-01 0:00 UTC);

#[path = "support/dsc_path.rs"]
mod dsc_path;
use dsc_path::validate_der;

fn p256() -> &'static keys::NamedCurve {
    keys::curve_by_name("secp256r1").unwrap()
}

fn ecdsa() -> SignatureAlgorithm {
    SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha256,
    }
}

fn pem(label: &str, ders: &[Vec<u8>]) -> Vec<u8> {
    use base64::Engine;
    let mut out = String::new();
    for d in ders {
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        let b = base64::engine::general_purpose::STANDARD.encode(d);
        for chunk in b.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
    }
    out.into_bytes()
}

fn crl_of(issuer: &[u8], aki: &[u8], number: u64, key: &Key) -> Vec<u8> {
    fixtures::issue_crl(
        &CrlTemplate {
            issuer: issuer.to_vec(),
            this_update: datetime!(2026-01-01 0:00 UTC),
            next_update: datetime!(2040-01-01 0:00 UTC),
            revoked: vec![],
            aki: aki.to_vec(),
            number,
            alg: ecdsa(),
        },
        &key.pkey,
    )
    .unwrap()
}

#[test]
fn untrusted_link_certificates_cost_verify_nothing() {
    const N: usize = 800;
    let pki = fixtures::self_made_pki("UT", "CSCA Bounds").unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    import::import_bytes(&mut store, "csca.cer", &pki.csca.cert, &ImportOptions::default());
    // N "link" certificates naming the trusted CSCA as issuer, all with one subject,
    // signed by a forger
    let forger = Key::ec(p256(), false).unwrap();
    let link_key = Key::ec(p256(), false).unwrap();
    let subject = fixtures::name(&[(x509::C, "UT"), (x509::O, "Self-made"), (x509::CN, "Forged link")]);
    let links: Vec<Vec<u8>> = (0..N as u64)
        .map(|i| {
            fixtures::issue(
                &CertTemplate {
                    serial: (1000 + i).to_be_bytes().to_vec(),
                    issuer: pki.csca.name.clone(),
                    subject: subject.clone(),
                    not_before: datetime!(2025-01-01 0:00 UTC),
                    not_after: datetime!(2040-01-01 0:00 UTC),
                    spki: link_key.spki.clone(),
                    extensions: vec![
                        fixtures::ext_aki(&pki.csca.key.key_id),
                        fixtures::ext_ski(&link_key.key_id),
                        fixtures::ext_key_usage(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN, true),
                        fixtures::ext_ca(0),
                    ],
                    alg: ecdsa(),
                },
                &forger.pkey,
            )
            .unwrap()
        })
        .collect();
    let before = signature_checks();
    let r = import::import_bytes(
        &mut store,
        "links.pem",
        &pem("CERTIFICATE", &links),
        &ImportOptions::default(),
    );
    assert_eq!(r.added as usize, N, "{:?}", r.errors);
    let import_checks = signature_checks() - before;
    // each link is checked once, under the one CA it names
    assert!(
        import_checks <= N as u64,
        "{import_checks} signature checks for {N} links"
    );
    // a later import of anything checks none of them again
    let before = signature_checks();
    let k2 = Key::ec(p256(), false).unwrap();
    let other = fixtures::self_made_pki("XB", "CSCA Other").unwrap();
    import::import_bytes(
        &mut store,
        "other.cer",
        &other.csca.cert,
        &ImportOptions::default(),
    );
    assert!(signature_checks() - before <= 2);
    // a DSC under the forged subject: verify does not touch the 800 links
    let dsc = fixtures::issue(
        &CertTemplate {
            serial: vec![0x01],
            issuer: subject.clone(),
            subject: fixtures::name(&[(x509::C, "UT"), (x509::CN, "DS")]),
            not_before: datetime!(2025-06-01 0:00 UTC),
            not_after: datetime!(2040-01-01 0:00 UTC),
            spki: k2.spki.clone(),
            extensions: vec![
                fixtures::ext_aki(&link_key.key_id),
                fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true),
            ],
            alg: ecdsa(),
        },
        &link_key.pkey,
    )
    .unwrap();
    let before = signature_checks();
    let p = validate_der(&store, &dsc, "UTO", AT).unwrap();
    assert_eq!(p.status, PathStatus::Indeterminate);
    assert_eq!(signature_checks() - before, 0);
}

#[test]
fn many_cas_of_one_name_and_many_crls_cost_n_plus_m_not_n_times_m() {
    const N: usize = 40;
    const M: usize = 40;
    let name = fixtures::name(&[
        (x509::C, "UT"),
        (x509::O, "Self-made"),
        (x509::CN, "CSCA Rollover"),
    ]);
    let keys: Vec<Key> = (0..N).map(|_| Key::ec(p256(), false).unwrap()).collect();
    let cscas: Vec<Vec<u8>> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            fixtures::csca(
                k.clone(),
                name.clone(),
                i as u64 + 1,
                datetime!(2020-01-01 0:00 UTC),
                datetime!(2045-01-01 0:00 UTC),
                ecdsa(),
            )
            .unwrap()
            .cert
        })
        .collect();
    // CRLs first (no CSCA yet: kept unverified), half genuine, half junk with a
    // copied authority key id
    let junk = Key::ec(p256(), false).unwrap();
    let crls: Vec<Vec<u8>> = (0..M)
        .map(|i| {
            let k = &keys[i % N];
            let signer = if i % 2 == 0 { k } else { &junk };
            crl_of(&name, &k.key_id, i as u64 + 1, signer)
        })
        .collect();
    let mut store = TrustStore::open_in_memory().unwrap();
    let before = (signature_checks(), crl::parses());
    let r = import::import_bytes(
        &mut store,
        "crls.pem",
        &pem("X509 CRL", &crls),
        &ImportOptions::default(),
    );
    assert_eq!(r.added as usize, M, "{:?}", r.errors);
    assert_eq!(signature_checks() - before.0, 0, "no CA yet: nothing to check");
    // the N CSCAs arrive: each CRL is checked once, under the key it names
    let before = (signature_checks(), crl::parses());
    let r = import::import_bytes(
        &mut store,
        "cscas.pem",
        &pem("CERTIFICATE", &cscas),
        &ImportOptions::default(),
    );
    assert_eq!(r.outcome, FileOutcome::Imported);
    let checks = signature_checks() - before.0;
    let parses = crl::parses() - before.1;
    assert!(
        checks <= (N + M) as u64,
        "{checks} signature checks for {N} CAs and {M} CRLs"
    );
    assert!(parses <= M as u64, "{parses} CRL parses for {M} CRLs");
    // the junk ones were dropped, the genuine kept
    assert_eq!(store.counts().unwrap().1 as usize, M / 2);
    // the same CRLs again, now with the CSCAs there: one check each
    let before = signature_checks();
    let again = import::import_bytes(
        &mut store,
        "crls.pem",
        &pem("X509 CRL", &crls),
        &ImportOptions::default(),
    );
    assert_eq!(again.rejected as usize, M / 2, "{:?}", again.errors);
    assert!(signature_checks() - before <= M as u64);
    // verify of a DSC under the first key: one signature check, a bounded number of
    // CRL parses
    let k = Key::ec(p256(), false).unwrap();
    let dsc = fixtures::issue(
        &CertTemplate {
            serial: vec![0x02],
            issuer: name.clone(),
            subject: fixtures::name(&[(x509::C, "UT"), (x509::CN, "DS rollover")]),
            not_before: datetime!(2025-06-01 0:00 UTC),
            not_after: datetime!(2040-01-01 0:00 UTC),
            spki: k.spki.clone(),
            extensions: vec![
                fixtures::ext_aki(&keys[0].key_id),
                fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true),
            ],
            alg: ecdsa(),
        },
        &keys[0].pkey,
    )
    .unwrap();
    let before = (signature_checks(), crl::parses());
    let p = validate_der(&store, &dsc, "UTO", AT).unwrap();
    assert_eq!(p.status, PathStatus::Valid, "{p:#?}");
    assert!(
        matches!(p.revocation, Revocation::Good { .. }),
        "{:?}",
        p.revocation
    );
    assert_eq!(signature_checks() - before.0, 1);
    let parses = crl::parses() - before.1;
    assert!(
        parses <= (path::MAX_CANDIDATES * path::MAX_CRLS_PER_ISSUER) as u64,
        "{parses} CRL parses"
    );
}

#[test]
fn unverified_crls_are_never_parsed_by_verify() {
    let pki = fixtures::self_made_pki("UT", "CSCA Late").unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    // 8 junk CRLs naming the CSCA, imported before it: kept unverified
    let junk = Key::ec(p256(), false).unwrap();
    let crls: Vec<Vec<u8>> = (0..8)
        .map(|i| crl_of(&pki.csca.name, &pki.csca.key.key_id, 100 + i, &junk))
        .collect();
    let r = import::import_bytes(
        &mut store,
        "junk.pem",
        &pem("X509 CRL", &crls),
        &ImportOptions::default(),
    );
    assert_eq!(r.added, 8);
    // the CSCA and its DSC are in another store that trusts it: here, before the
    // CSCA arrives, verify reads none of the CRLs
    let before = crl::parses();
    let p = validate_der(&store, &pki.dsc, "UTO", AT).unwrap();
    assert_eq!(p.status, PathStatus::Indeterminate);
    assert_eq!(crl::parses() - before, 0);
    // the CSCA arrives: the 8 are checked once and dropped
    let r = import::import_bytes(&mut store, "csca.cer", &pki.csca.cert, &ImportOptions::default());
    assert_eq!(
        r.notes.iter().filter(|n| n.contains("dropped")).count(),
        8,
        "{:?}",
        r.notes
    );
    assert_eq!(store.counts().unwrap().1, 0);
    let before = (crl::parses(), signature_checks());
    let p = validate_der(&store, &pki.dsc, "UTO", AT).unwrap();
    assert_eq!(p.status, PathStatus::Valid);
    assert_eq!(crl::parses() - before.0, 0);
    assert_eq!(signature_checks() - before.1, 1);
    let c = Certificate::from_der(&pki.csca.cert).unwrap();
    assert!(store.certificate(&c.sha256).unwrap().unwrap().trusted);
}

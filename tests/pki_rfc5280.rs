//! The RFC 5280 rules that guard trust (docs/trust-store.md "RFC 5280"): how many real
//! certificates of test-vectors each rule rejects (the table in the docs is this
//! test's output), and each rule on a generated certificate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use emrtd::asn1::oid as x509;
use emrtd::cms::SignedData;
use emrtd::pki::cert::{Certificate, KeyUsage, Rfc5280Violation};
use emrtd::pki::crl::Crl;
use emrtd::pki::fixtures::{self, CertTemplate, CrlTemplate, Key};
use emrtd::pki::import::{self, FileOutcome, ImportOptions};
use emrtd::pki::keys;
use emrtd::pki::masterlist::MasterList;
use emrtd::pki::path::PathStatus;
use emrtd::pki::role::Role;
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use emrtd::pki::store::TrustStore;
use time::macros::datetime;

#[path = "support/dsc_path.rs"]
mod dsc_path;
use dsc_path::validate_der;

fn vector(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("test-vectors")
            .join(path),
    )
    .unwrap()
}

const DE_ML: &str = "pki/masterlists/DE_ML_2024-08-07-07-38-24.ml";
const NL_ML: &str = "pki/masterlists/NL_MASTERLIST_20211207.mls";

/// (set name, certificates)
fn real_sets() -> Vec<(&'static str, Vec<Certificate>)> {
    let mut sets = Vec::new();
    for (name, p) in [("DE master list", DE_ML), ("NL master list", NL_ML)] {
        let bytes = vector(p);
        let ml = MasterList::parse(&bytes).unwrap();
        let certs = ml
            .certificates()
            .map(|d| Certificate::from_der(d.unwrap()).unwrap())
            .collect();
        sets.push((name, certs));
    }
    let mut signers = Vec::new();
    for p in [DE_ML, NL_ML] {
        let sd = SignedData::parse(&vector(p)).unwrap();
        signers.extend(sd.certificates.iter().map(|d| Certificate::from_der(d).unwrap()));
    }
    signers.push(
        Certificate::from_der(&vector(
            "pki/csca_certs/NL_CSCA_serial6_20210621-20340630_zienit.cer",
        ))
        .unwrap(),
    );
    signers.push(
        Certificate::from_der(&vector(
            "lds/openpace_cardaccess_samples/csca_germany_013_self_signed_cer.cer",
        ))
        .unwrap(),
    );
    sets.push(("ML signers + CSCA files", signers));
    let mut dscs = Vec::new();
    for p in [
        "lds/jmrtd_bsi2008/EF_SOD.bin",
        "lds/bsi_tr03105_5_refdata_zienit/EF_SOD.bin",
        "lds/etsi_tr103200_prototype_via_pymrtd/EF_SOD.bin",
        "lds/jmrtd_loes2006/EF_SOD_ef011D.bin",
        "lds/openpace_cardaccess_samples/ef_cardsecurity_dan.bin",
    ] {
        let bytes = vector(p);
        // EF.SOD is wrapped in application tag 0x77; EF.CardSecurity is the ContentInfo
        let inner = match emrtd::tlv::parse_ber(&bytes) {
            Ok(t) if t.tag == 0x77 => t.value.to_vec(),
            _ => bytes.clone(),
        };
        let sd = SignedData::parse(&inner).unwrap_or_else(|e| panic!("{p}: {e:?}"));
        dscs.extend(sd.certificates.iter().map(|d| Certificate::from_der(d).unwrap()));
    }
    sets.push(("real SOD/CardSecurity DSCs", dscs));
    sets
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    total: usize,
    alg_mismatch: usize,
    unknown_critical: usize,
    malformed_ku_bc: usize,
    path_len: usize,
    strict_link_profile: usize,
}

fn count(certs: &[Certificate]) -> Counts {
    let mut c = Counts {
        total: certs.len(),
        ..Counts::default()
    };
    for cert in certs {
        for v in cert.rfc5280_violations() {
            match v {
                Rfc5280Violation::SignatureAlgorithmMismatch { .. } => c.alg_mismatch += 1,
                Rfc5280Violation::UnknownCriticalExtension { .. } => c.unknown_critical += 1,
                Rfc5280Violation::MalformedExtension { .. } => c.malformed_ku_bc += 1,
                _ => {}
            }
        }
        let role = emrtd::pki::role::classify(cert);
        // pathLenConstraint: a link certificate (not self-issued) that verifies only
        // under another non-self-issued CA of the set whose pathLenConstraint is 0
        if role == Role::Link {
            let issuers: Vec<&Certificate> = certs
                .iter()
                .filter(|i| i.subject.matches(&cert.issuer) && i.sha256 != cert.sha256)
                .filter(|i| i.public_key().is_ok_and(|k| cert.verify_signature(&k).is_ok()))
                .collect();
            if !issuers.is_empty()
                && issuers
                    .iter()
                    .all(|i| !i.is_self_issued() && i.basic_constraints.and_then(|b| b.path_len) == Some(0))
            {
                c.path_len += 1;
            }
            // the strict profile for links that come on their own (not in a list)
            if emrtd::pki::role::classify_standalone(cert) != Role::Link {
                c.strict_link_profile += 1;
            }
        }
    }
    c
}

#[test]
fn how_many_real_certificates_each_rule_rejects() {
    let mut table = Vec::new();
    for (name, certs) in real_sets() {
        let c = count(&certs);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            c.total, c.alg_mismatch, c.unknown_critical, c.malformed_ku_bc, c.path_len, c.strict_link_profile
        );
        table.push((name, c));
    }
    let expect = |n: &str| &table.iter().find(|(name, _)| *name == n).unwrap().1;
    // the numbers in docs/trust-store.md: no real certificate breaks the rules that
    // reject; the strict link profile (links that come on their own, not in a list)
    // would refuse some real links, which is why it applies only outside lists
    assert_eq!(
        *expect("DE master list"),
        Counts {
            total: 541,
            alg_mismatch: 0,
            unknown_critical: 0,
            malformed_ku_bc: 0,
            path_len: 0,
            strict_link_profile: 15,
        }
    );
    assert_eq!(
        *expect("NL master list"),
        Counts {
            total: 306,
            ..Counts::default()
        }
    );
    assert_eq!(
        *expect("ML signers + CSCA files"),
        Counts {
            total: 5,
            ..Counts::default()
        }
    );
    assert_eq!(
        *expect("real SOD/CardSecurity DSCs"),
        Counts {
            total: 5,
            ..Counts::default()
        }
    );
}

fn p256() -> &'static keys::NamedCurve {
    keys::curve_by_name("secp256r1").unwrap()
}

fn ecdsa() -> SignatureAlgorithm {
    SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha256,
    }
}

/// A UT-like CSCA (self-made, anchored directly) and a store that trusts it.
fn anchored_pki() -> (fixtures::SelfMadePki, TrustStore) {
    let pki = fixtures::self_made_pki("UT", "CSCA RFC 5280").unwrap();
    let mut store = TrustStore::open_in_memory().unwrap();
    let r = import::import_bytes(&mut store, "csca.cer", &pki.csca.cert, &ImportOptions::default());
    assert_eq!(r.added, 1);
    (pki, store)
}

fn dsc_with(pki: &fixtures::SelfMadePki, extensions: Vec<Vec<u8>>) -> Vec<u8> {
    let k = Key::ec(p256(), false).unwrap();
    let mut ext = vec![
        fixtures::ext_aki(&pki.csca.key.key_id),
        fixtures::ext_ski(&k.key_id),
    ];
    ext.extend(extensions);
    fixtures::issue(
        &CertTemplate {
            serial: vec![0x31],
            issuer: pki.csca.name.clone(),
            subject: fixtures::name(&[(x509::C, "UT"), (x509::CN, "DS RFC 5280")]),
            not_before: datetime!(2025-06-01 0:00 UTC),
            not_after: datetime!(2040-01-01 0:00 UTC),
            spki: k.spki.clone(),
            extensions: ext,
            alg: ecdsa(),
        },
        &pki.csca.key.pkey,
    )
    .unwrap()
}

const AT: time::OffsetDateTime = datetime!(2027-01-01 0:00 UTC);

#[test]
fn inner_and_outer_signature_algorithms_must_agree() {
    let (pki, store) = anchored_pki();
    let good = dsc_with(
        &pki,
        vec![fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true)],
    );
    assert_eq!(
        validate_der(&store, &good, "UTO", AT).unwrap().status,
        PathStatus::Valid
    );
    // outer ecdsa-with-SHA384, signed part says ecdsa-with-SHA256
    let sha384 = SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha384,
    }
    .to_der();
    let bad = fixtures::with_outer_algorithm(&good, &sha384).unwrap();
    let c = Certificate::from_der(&bad).unwrap();
    assert!(matches!(
        c.rfc5280_violations().as_slice(),
        [Rfc5280Violation::SignatureAlgorithmMismatch { .. }]
    ));
    let r = validate_der(&store, &bad, "UTO", AT).unwrap();
    assert_ne!(r.status, PathStatus::Valid);
    // a CRL likewise is refused on import
    let crl = fixtures::issue_crl(
        &CrlTemplate {
            issuer: pki.csca.name.clone(),
            this_update: datetime!(2026-01-01 0:00 UTC),
            next_update: datetime!(2040-01-01 0:00 UTC),
            revoked: vec![],
            aki: pki.csca.key.key_id.clone(),
            number: 9,
            alg: ecdsa(),
        },
        &pki.csca.key.pkey,
    )
    .unwrap();
    let bad_crl = fixtures::with_outer_algorithm(&crl, &sha384).unwrap();
    assert_eq!(Crl::from_der(&bad_crl).unwrap().rfc5280_violations().len(), 1);
    let mut store = store;
    let r = import::import_bytes(&mut store, "bad.crl", &bad_crl, &ImportOptions::default());
    assert_eq!(r.outcome, FileOutcome::Refused, "{:?}", r.errors);
    assert!(
        r.errors[0].contains("differs from the outer one"),
        "{:?}",
        r.errors
    );
}

#[test]
fn unknown_critical_extensions_are_rejected() {
    let (pki, store) = anchored_pki();
    let unknown = fixtures::extension(
        &emrtd::cms::Oid::new_unwrap("1.3.6.1.4.1.99999.1"),
        true,
        &[0x05, 0x00],
    );
    let bad = dsc_with(
        &pki,
        vec![
            fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true),
            unknown.clone(),
        ],
    );
    let r = validate_der(&store, &bad, "UTO", AT).unwrap();
    assert_eq!(r.status, PathStatus::Invalid, "{r:#?}");
    assert!(r.has_finding("dsc.rfc5280"));
    // the same extension not critical is fine
    let noncritical = fixtures::extension(
        &emrtd::cms::Oid::new_unwrap("1.3.6.1.4.1.99999.1"),
        false,
        &[0x05, 0x00],
    );
    let ok = dsc_with(
        &pki,
        vec![
            fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true),
            noncritical,
        ],
    );
    assert_eq!(
        validate_der(&store, &ok, "UTO", AT).unwrap().status,
        PathStatus::Valid
    );
}

#[test]
fn malformed_key_usage_or_basic_constraints_fails_and_is_not_missing() {
    let (pki, store) = anchored_pki();
    // keyUsage whose value is an INTEGER, not a BIT STRING
    let bad_ku = fixtures::extension(&x509::KEY_USAGE, true, &[0x02, 0x01, 0x80]);
    let bad = dsc_with(&pki, vec![bad_ku]);
    let c = Certificate::from_der(&bad).unwrap();
    assert_eq!(c.key_usage, None);
    assert_eq!(c.malformed_extensions, vec![x509::KEY_USAGE]);
    let r = validate_der(&store, &bad, "UTO", AT).unwrap();
    assert_eq!(r.status, PathStatus::Invalid, "{r:#?}");
    assert!(
        r.reason.as_deref().unwrap().contains("malformed key usage"),
        "{:?}",
        r.reason
    );
    // basicConstraints with a trailing element: SEQUENCE { TRUE, 0, NULL }
    let bad_bc = fixtures::extension(
        &x509::BASIC_CONSTRAINTS,
        true,
        &[0x30, 0x08, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x00, 0x05, 0x00],
    );
    let c = Certificate::from_der(&dsc_with(
        &pki,
        vec![fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true), bad_bc],
    ))
    .unwrap();
    assert_eq!(c.basic_constraints, None);
    assert_eq!(c.malformed_extensions, vec![x509::BASIC_CONSTRAINTS]);
    // a CA certificate with a malformed extension is not used as a CA
    let mut store = store;
    let k = Key::ec(p256(), false).unwrap();
    let csca_bad = fixtures::issue(
        &CertTemplate {
            serial: vec![0x44],
            issuer: fixtures::name(&[(x509::C, "UT"), (x509::CN, "CSCA malformed")]),
            subject: fixtures::name(&[(x509::C, "UT"), (x509::CN, "CSCA malformed")]),
            not_before: datetime!(2025-01-01 0:00 UTC),
            not_after: datetime!(2040-01-01 0:00 UTC),
            spki: k.spki.clone(),
            extensions: vec![
                fixtures::ext_ski(&k.key_id),
                fixtures::ext_ca(0),
                fixtures::extension(&x509::KEY_USAGE, true, &[0x02, 0x01, 0x06]),
            ],
            alg: ecdsa(),
        },
        &k.pkey,
    )
    .unwrap();
    let r = import::import_bytes(&mut store, "csca-bad.cer", &csca_bad, &ImportOptions::default());
    assert!(
        r.notes.iter().any(|n| n.contains("is not used as a CA")),
        "{:?}",
        r.notes
    );
    let sc = store
        .certificate(&Certificate::from_der(&csca_bad).unwrap().sha256)
        .unwrap()
        .unwrap();
    assert!(!sc.trusted);
}

#[test]
fn path_len_constraint_is_enforced() {
    // CSCA (anchor) → link A (pathLen 0) → link B → DSC: A allows no CA below it
    let (pki, mut store) = anchored_pki();
    let ka = Key::ec(p256(), false).unwrap();
    let kb = Key::ec(p256(), false).unwrap();
    let name_a = fixtures::name(&[(x509::C, "UT"), (x509::O, "Self-made"), (x509::CN, "Link A")]);
    let name_b = fixtures::name(&[(x509::C, "UT"), (x509::O, "Self-made"), (x509::CN, "Link B")]);
    let ca_ext = |id: &[u8], aki: &[u8], path_len: u64| {
        vec![
            fixtures::ext_ski(id),
            fixtures::ext_aki(aki),
            fixtures::ext_key_usage(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN, true),
            fixtures::ext_ca(path_len),
        ]
    };
    let link = |issuer: &Vec<u8>, subject: &Vec<u8>, key: &Key, signer: &Key, path_len: u64| {
        fixtures::issue(
            &CertTemplate {
                serial: vec![0x50],
                issuer: issuer.clone(),
                subject: subject.clone(),
                not_before: datetime!(2025-01-01 0:00 UTC),
                not_after: datetime!(2040-01-01 0:00 UTC),
                spki: key.spki.clone(),
                extensions: ca_ext(&key.key_id, &signer.key_id, path_len),
                alg: ecdsa(),
            },
            &signer.pkey,
        )
        .unwrap()
    };
    let dsc_under = |issuer: &Vec<u8>, signer: &Key| {
        let k = Key::ec(p256(), false).unwrap();
        fixtures::issue(
            &CertTemplate {
                serial: vec![0x51],
                issuer: issuer.clone(),
                subject: fixtures::name(&[(x509::C, "UT"), (x509::CN, "DS under link")]),
                not_before: datetime!(2025-06-01 0:00 UTC),
                not_after: datetime!(2040-01-01 0:00 UTC),
                spki: k.spki.clone(),
                extensions: vec![
                    fixtures::ext_aki(&signer.key_id),
                    fixtures::ext_ski(&k.key_id),
                    fixtures::ext_key_usage(KeyUsage::DIGITAL_SIGNATURE, true),
                ],
                alg: ecdsa(),
            },
            &signer.pkey,
        )
        .unwrap()
    };
    let a = link(&pki.csca.name, &name_a, &ka, &pki.csca.key, 0);
    let b = link(&name_a, &name_b, &kb, &ka, 0);
    for (n, c) in [("a.cer", &a), ("b.cer", &b)] {
        let r = import::import_bytes(&mut store, n, c, &ImportOptions::default());
        assert_eq!(r.added, 1, "{n}: {:?}", r.errors);
    }
    // a DSC directly under link A: fine
    let r = validate_der(&store, &dsc_under(&name_a, &ka), "UTO", AT).unwrap();
    assert_eq!(r.status, PathStatus::Valid, "{r:#?}");
    // under link B (certified by A, whose pathLenConstraint is 0): refused
    let r = validate_der(&store, &dsc_under(&name_b, &kb), "UTO", AT).unwrap();
    assert_eq!(r.chain.len(), 3, "{r:#?}");
    assert_eq!(r.status, PathStatus::Invalid, "{r:#?}");
    assert!(r.has_finding("chain.path_len_exceeded"), "{:?}", r.findings);
}

//! No PKI parser panics on mutated real data (certificates with explicit parameters,
//! CRLs, master lists, deviation lists, LDIF), and the importer stays atomic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use emrtd::pki::import::{self, FileOutcome, ImportOptions};
use emrtd::pki::store::TrustStore;
use proptest::prelude::*;

fn fixture(p: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
}

fn samples() -> Vec<Vec<u8>> {
    [
        "pkd-fixtures/keys/xa-csca.cer",
        "pkd-fixtures/keys/ut-dsc-valid.cer",
        "pkd-fixtures/pki/20-ut-csca-1-current.crl",
        "pkd-fixtures/pki/00-masterlist-ut.ml",
        "pkd-fixtures/pki/40-deviation-list-xa.dvl",
        "pkd-fixtures/pki/32-icaopkd-003-nc.ldif",
        "test-vectors/lds/openpace_cardaccess_samples/ef_cardsecurity_dan.bin",
    ]
    .iter()
    .map(|p| fixture(p))
    .collect()
}

fn mutate(mut v: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    let len = v.len();
    for (pos, val) in edits {
        v[pos % len] = *val;
    }
    if let Some(c) = cut {
        v.truncate(c % (len + 1));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_mutated_samples(
        which in 0usize..7,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let data = mutate(samples().swap_remove(which), &edits, cut);
        if let Ok(c) = emrtd::pki::cert::Certificate::from_der(&data) {
            let _ = c.key_info();
            if let Ok(k) = c.public_key() { let _ = c.verify_signature(&k); }
        }
        let _ = emrtd::pki::crl::Crl::from_der(&data);
        if let Ok(ml) = emrtd::pki::masterlist::MasterList::parse(&data) {
            let _ = ml.verify_signature();
            let _ = ml.certificates().count();
        }
        let _ = emrtd::pki::masterlist::DeviationList::parse(&data);
        if let Ok(sd) = emrtd::cms::SignedData::parse(&data) {
            for si in &sd.signer_infos {
                if let Some(c) = sd.signer_certificate(si) {
                    let _ = emrtd::cms::verify_signer_with_certificate(&sd, si, &c);
                }
            }
        }
        let mut r = emrtd::pki::ldif::LdifReader::new(data.as_slice());
        while let Ok(Some(_)) = r.next_record() {}
    }

    #[test]
    fn importer_is_atomic_on_mutated_files(
        which in 0usize..7,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..3),
    ) {
        let data = mutate(samples().swap_remove(which), &edits, None);
        let mut store = TrustStore::open_in_memory().unwrap();
        let r = import::import_bytes(&mut store, "x", &data, &ImportOptions::default());
        let (c, l, m, d) = store.counts().unwrap();
        if r.outcome == FileOutcome::Failed {
            prop_assert_eq!((c, l, m, d), (0, 0, 0, 0));
        }
        prop_assert!(r.added as i64 <= c + l + m + d);
    }

    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = emrtd::pki::cert::Certificate::from_der(&data);
        let _ = emrtd::pki::keys::PublicKey::from_spki_der(&data);
        let _ = emrtd::pki::keys::EcDomain::from_der(&data);
        let _ = emrtd::pki::crl::Crl::from_der(&data);
        let mut store = TrustStore::open_in_memory().unwrap();
        let _ = import::import_bytes(&mut store, "x", &data, &ImportOptions::default());
    }
}

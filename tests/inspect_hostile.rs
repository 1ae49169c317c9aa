//! `emrtd inspect` and image extraction facing hostile input: no panic on arbitrary
//! bytes forced to every kind, on mutated vectors, or on truncated ones; text and JSON
//! rendering included.

// test code: helpers outside #[test] functions may unwrap and index
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use emrtd::cli::inspect::{inspect_bytes, render};
use emrtd::lds::LdsFile;
use emrtd::lds::detect::FileKind;
use emrtd::lds::extract;
use proptest::prelude::*;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{}/test-vectors/{rel}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

const KINDS: [&str; 20] = [
    "com",
    "sod",
    "dg1",
    "dg2",
    "dg3",
    "dg4",
    "dg5",
    "dg7",
    "dg11",
    "dg12",
    "dg14",
    "dg15",
    "dir",
    "cardaccess",
    "cardsecurity",
    "cert",
    "crl",
    "ml",
    "dl",
    "pem",
];

/// Decode as `kind` (or detect), then render text and JSON: must not panic.
fn exercise(bytes: &[u8], kind: Option<FileKind>) {
    if let Ok(r) = inspect_bytes(bytes, kind, None) {
        let _ = render("x", bytes, &r);
        let _ = serde_json::to_string(&r.content).unwrap();
    }
}

fn vectors() -> Vec<Vec<u8>> {
    [
        "lds/jmrtd_bsi2008/EF_SOD.bin",
        "lds/bsi_tr03105_5_refdata_zienit/EF_SOD.bin",
        "lds/jmrtd_bsi2008/Datagroup2.bin",
        "lds/jmrtd_bsi2008/Datagroup3.bin",
        "lds/jmrtd_bsi2008/Datagroup14.bin",
        "lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_MandFields.dat",
        "lds/tsemrtd_synthetic_dg11_dg12/EF_DG5.bin",
        "lds/openpace_cardaccess_samples/ef_cardaccess_ca3.bin",
        "lds/openpace_cardaccess_samples/ef_cardsecurity_dan.bin",
        "lds/openpace_cardaccess_samples/csca_germany_013_self_signed_cer.cer",
    ]
    .iter()
    .map(|p| read(p))
    .collect()
}

#[test]
fn every_vector_truncated_at_every_length_is_safe() {
    for v in vectors() {
        for n in (0..v.len()).step_by(usize::max(1, v.len() / 150)) {
            let cut = &v[..n];
            exercise(cut, None);
            let _ = extract::extract_all([(LdsFile::Dg(2), cut), (LdsFile::Dg(5), cut)]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_bytes_as_every_kind(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        exercise(&bytes, None);
        for k in KINDS {
            exercise(&bytes, FileKind::parse(k));
        }
        for n in 2..=7u8 {
            let _ = extract::extract_file(LdsFile::Dg(n), &bytes);
        }
    }

    #[test]
    fn mutated_vectors(which in 0usize..10, edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut v = vectors().swap_remove(which);
        for (i, b) in edits {
            let i = i.index(v.len());
            v[i] = b;
        }
        exercise(&v, None);
        let _ = extract::extract_all([(LdsFile::Dg(2), v.as_slice()), (LdsFile::Dg(5), v.as_slice())]);
    }
}

//! `emrtd check` on hostile dumps: arbitrary bytes and mutated real files in every
//! file slot never panic, and every check still has an id, a status and a reference.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use emrtd::lds::LdsFile;
use emrtd::reader::Dump;
use emrtd::reader::dump::Manifest;
use emrtd::verify::conformance::check;
use proptest::prelude::*;

fn bsi2008() -> Vec<(LdsFile, Vec<u8>)> {
    let d = Dump::load(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-vectors/lds/jmrtd_bsi2008"),
    )
    .unwrap();
    d.files.into_iter().collect()
}

fn dump(files: Vec<(LdsFile, Vec<u8>)>) -> Dump {
    Dump {
        files: files.into_iter().collect::<BTreeMap<_, _>>(),
        manifest: Manifest::new("hostile".into(), &[]),
    }
}

fn sane(files: Vec<(LdsFile, Vec<u8>)>) {
    let r = check(&dump(files), None, "hostile");
    assert_eq!(r.conformant, r.failed.is_empty());
    for c in &r.checks {
        assert!(!c.id.is_empty() && !c.reason.is_empty());
        assert!(
            c.reference
                .as_deref()
                .is_some_and(|x| x.starts_with("Doc 9303 Part ")),
            "{}",
            c.id
        );
    }
}

const SLOTS: [LdsFile; 10] = [
    LdsFile::Com,
    LdsFile::Sod,
    LdsFile::Dg(1),
    LdsFile::Dg(2),
    LdsFile::Dg(14),
    LdsFile::Dg(15),
    LdsFile::CardAccess,
    LdsFile::CardSecurity,
    LdsFile::Dir,
    LdsFile::AtrInfo,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_in_any_file_never_panic(slot in 0usize..SLOTS.len(), bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut files = bsi2008();
        files.retain(|(f, _)| *f != SLOTS[slot]);
        files.push((SLOTS[slot], bytes));
        sane(files);
    }

    #[test]
    fn mutated_real_files_never_panic(which in 0usize..8, pos in 0usize..40_000, val in any::<u8>(), cut in any::<bool>()) {
        let mut files = bsi2008();
        let i = which % files.len();
        let b = &mut files[i].1;
        let p = pos % b.len();
        if cut { b.truncate(p); } else { b[p] = val; }
        sane(files);
    }
}

#[test]
fn empty_and_tiny_files_never_panic() {
    for slot in SLOTS {
        for bytes in [vec![], vec![0x00], vec![0x77, 0x80], vec![0x30, 0x82, 0xFF, 0xFF]] {
            sane(vec![(slot, bytes)]);
        }
    }
}

//! Every LDS file through the one registry: decode, show, encode, decode again. The
//! encoding is a normal form (encoding what it decodes to gives the same bytes), and
//! an outside vector (`test-vectors/lds/`) already in that form comes back byte for
//! byte (`DataGroup::encode` says which files are: DER, the encoder's order, nothing
//! after the outer element). Hostile and changed files must not break either.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use emrtd::lds::LdsFile;
use emrtd::lds::detect;
use emrtd::lds::group::Decoded;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The registered kind of each file, by its content.
fn lds_files(root: &str) -> Vec<(PathBuf, LdsFile, Vec<u8>)> {
    let mut paths = Vec::new();
    files_under(&Path::new(env!("CARGO_MANIFEST_DIR")).join(root), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            let file = detect::detect(&bytes)?.lds_file()?;
            Some((p, file, bytes))
        })
        .collect()
}

#[test]
fn every_vector_encodes_to_a_normal_form() {
    let files = lds_files("test-vectors/lds");
    assert!(files.len() >= 40, "{} LDS files found", files.len());
    let mut same = BTreeMap::<String, usize>::new();
    let mut encoded = 0;
    for (path, file, bytes) in &files {
        let name = path.display();
        let Some(Ok(d)) = Decoded::decode(*file, bytes) else {
            continue;
        };
        let Ok(e) = d.encode() else {
            // only biometric records this crate reads but does not write
            assert!(
                matches!(file, LdsFile::Dg(3 | 4) | LdsFile::Dg(2)),
                "{name}: {file}"
            );
            continue;
        };
        encoded += 1;
        let again = Decoded::decode(*file, &e)
            .unwrap_or_else(|| panic!("{name}: no decoder"))
            .unwrap_or_else(|err| panic!("{name}: its encoding does not decode: {err}"));
        assert_eq!(
            again.encode().ok().as_ref(),
            Some(&e),
            "{name}: not a normal form"
        );
        assert_eq!(again.view().len(), d.view().len(), "{name}");
        if e == *bytes {
            *same.entry(file.name()).or_default() += 1;
        }
    }
    assert!(encoded >= 40, "{encoded} files encoded");
    // the outside DER files of these kinds come back byte for byte
    for kind in [
        "EF.COM",
        "DG1",
        "DG2",
        "DG11",
        "DG12",
        "DG14",
        "DG15",
        "EF.SOD",
        "EF.CardAccess",
    ] {
        assert!(same.get(kind).copied().unwrap_or(0) > 0, "{kind}: {same:?}");
    }
}

/// Every registered file, in the order `proptest` picks them from.
const FILES: [LdsFile; 22] = [
    LdsFile::Com,
    LdsFile::Sod,
    LdsFile::Dir,
    LdsFile::AtrInfo,
    LdsFile::CardAccess,
    LdsFile::CardSecurity,
    LdsFile::Dg(1),
    LdsFile::Dg(2),
    LdsFile::Dg(3),
    LdsFile::Dg(4),
    LdsFile::Dg(5),
    LdsFile::Dg(6),
    LdsFile::Dg(7),
    LdsFile::Dg(8),
    LdsFile::Dg(9),
    LdsFile::Dg(10),
    LdsFile::Dg(11),
    LdsFile::Dg(12),
    LdsFile::Dg(13),
    LdsFile::Dg(14),
    LdsFile::Dg(15),
    LdsFile::Dg(16),
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Hostile content under the file's own tag: whatever decodes can be shown, and
    /// what it encodes to decodes again to the same normal form (fixed seed in
    /// `make test`).
    #[test]
    fn hostile_files_decode_show_and_encode(
        which in 0..FILES.len(),
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..96),
        tagged in proptest::prelude::any::<bool>(),
    ) {
        let file = FILES[which];
        let bytes = match file.tag() {
            Some(tag) if tagged => emrtd::tlv::encode(tag, &body),
            _ => body,
        };
        let Some(decoded) = Decoded::decode(file, &bytes) else {
            panic!("{file} is not registered");
        };
        if let Ok(d) = decoded {
            let _ = d.view();
            let _ = d.quirks();
            let _ = serde_json::to_string(&d);
            if let Ok(e) = d.encode() {
                if e.is_empty() {
                    // EF.ATR/INFO of padding alone holds no data object: nothing to
                    // write, and no decoder takes an empty file
                    proptest::prop_assert_eq!(file, LdsFile::AtrInfo);
                    return Ok(());
                }
                let again = Decoded::decode(file, &e);
                let again = again.and_then(Result::ok);
                proptest::prop_assert!(again.is_some(), "{file}: {} does not decode", hex::encode_upper(&e));
                let again = again.map(|a| a.encode().ok());
                proptest::prop_assert_eq!(again, Some(Some(e)), "{}", file);
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// The outside vectors with one byte changed (and some cut short): the same as
    /// above, from files that mostly still decode.
    #[test]
    fn changed_vectors_decode_show_and_encode(
        pick in proptest::prelude::any::<proptest::sample::Index>(),
        at in proptest::prelude::any::<proptest::sample::Index>(),
        value in proptest::prelude::any::<u8>(),
        cut in proptest::prelude::any::<Option<proptest::sample::Index>>(),
    ) {
        let files = vectors();
        let (path, file, bytes) = &files[pick.index(files.len())];
        let mut bytes = bytes.clone();
        let i = at.index(bytes.len());
        bytes[i] = value;
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Some(Ok(d)) = Decoded::decode(*file, &bytes) {
            let _ = d.view();
            let _ = d.quirks();
            let _ = serde_json::to_string(&d);
            if let Ok(e) = d.encode() {
                let again = Decoded::decode(*file, &e).and_then(Result::ok);
                proptest::prop_assert!(again.is_some(), "{}: byte {} = {:02X}", path.display(), i, value);
                let again = again.map(|a| a.encode().ok());
                proptest::prop_assert_eq!(again, Some(Some(e)), "{}: byte {} = {:02X}", path.display(), i, value);
            }
        }
    }
}

/// The outside vectors, read once.
fn vectors() -> &'static [(PathBuf, LdsFile, Vec<u8>)] {
    static V: std::sync::OnceLock<Vec<(PathBuf, LdsFile, Vec<u8>)>> = std::sync::OnceLock::new();
    V.get_or_init(|| lds_files("test-vectors/lds"))
}

//! Every LDS file of the outside vectors (`test-vectors/lds/`) through the one
//! registry: decode, encode, decode again. The encoding is a
//! normal form (encoding what it decodes to gives the same bytes), and a file that
//! was already in that form comes back byte for byte (`DataGroup::encode` says which
//! files are: DER, the encoder's order, nothing after the outer element).

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

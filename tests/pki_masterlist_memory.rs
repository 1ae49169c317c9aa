//! Master lists cost memory proportional to the file (issue 16): the CMS signature over
//! the eContent is checked first, then the certificates are walked one at a time. A
//! generated list of 20,000 certificates (~23 MB) imports under a 1 GB address-space
//! cap; the same list with a broken signature is refused before any listed certificate
//! is parsed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use emrtd::cms::sign::{self, SidForm, SignRequest};
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use emrtd::tlv;

const COPIES: usize = 20_000;
/// The address-space cap of issue 16's memory tests (1 GB).
const AS_CAP: &str = "--as=1000000000";

fn key_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pkd-fixtures/keys")
        .join(name)
}

/// A CscaMasterList eContent holding `entries` (each a DER element) as its certList.
fn content(entries: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend(tlv::encode(0x31, entries));
    tlv::encode(0x30, &body)
}

/// A master list of `entries`, signed by the fixture master-list signer of Utopia
/// (issued by ut-csca-2).
fn signed_list(entries: &[u8]) -> Vec<u8> {
    let signer_cert = std::fs::read(key_file("ut-ml-signer.cer")).unwrap();
    let pem = std::fs::read(key_file("ut-ml-signer.key.pem")).unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(&pem).unwrap();
    let econtent = content(entries);
    let hash = HashAlgorithm::Sha256;
    let alg = match key.id() {
        openssl::pkey::Id::EC => SignatureAlgorithm::Ecdsa { hash },
        _ => SignatureAlgorithm::RsaPkcs1 { hash },
    };
    sign::sign(
        &SignRequest {
            econtent_type: emrtd::asn1::oid::ICAO_CSCA_MASTER_LIST,
            econtent: &econtent,
            signer_cert: &signer_cert,
            digest: hash,
            alg,
            signing_time: None,
            embed_signer: true,
            extra_certs: vec![],
            sid: SidForm::IssuerAndSerial,
        },
        &key,
    )
    .unwrap()
}

/// `emrtd --store DB --json pkd import FILES…` under the address-space cap.
fn capped_import(store: &Path, files: &[&Path]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new("prlimit")
        .arg(AS_CAP)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_emrtd"))
        .arg("--store")
        .arg(store)
        .args(["--json", "pkd", "import", "--at", "2030-01-01"])
        .args(files)
        .output()
        .expect("prlimit (util-linux) runs");
    (out, started.elapsed())
}

fn report_of<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("no report for {name}: {v}"))
}

#[test]
fn twenty_thousand_certificate_list_imports_under_a_one_gb_cap() {
    let csca = std::fs::read(key_file("ut-csca-2.cer")).unwrap();
    let entries = csca.repeat(COPIES);
    let list = signed_list(&entries);
    assert!(list.len() > 20_000_000, "{} bytes", list.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.ml");
    std::fs::write(&path, &list).unwrap();
    let store = dir.path().join("trust.db");
    // the CSCA that issued the list signer, imported directly (an explicit anchor)
    let anchor = key_file("ut-csca-2.cer");
    let (out, took) = capped_import(&store, &[&anchor, &path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = report_of(&v, "big.ml");
    assert_eq!(r["signature"], "valid", "{r}");
    // every copy was walked: the CSCA is already in the store, so each is a duplicate
    let (added, duplicate, rejected) = (
        r["added"].as_u64().unwrap(),
        r["duplicate"].as_u64().unwrap(),
        r["rejected"].as_u64().unwrap(),
    );
    assert_eq!(added + duplicate + rejected, COPIES as u64, "{r}");
    assert_eq!(rejected, 0, "{r}");
    assert!(took < Duration::from_secs(120), "{took:?}");
}

#[test]
fn broken_signature_is_refused_before_any_certificate_is_parsed() {
    // 20,000 entries that are TLVs but not certificates: parsing any of them would
    // report "master list certificate #n"
    let junk = tlv::encode(0x30, &[0x02, 0x01, 0x05]);
    let entries = junk.repeat(COPIES);
    let mut list = signed_list(&entries);
    // flip a byte of the eContent (the messageDigest no longer matches)
    let at = list
        .windows(junk.len())
        .position(|w| w == junk.as_slice())
        .unwrap();
    list[at + 4] ^= 0x01;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.ml");
    std::fs::write(&path, &list).unwrap();
    let (out, _) = capped_import(&dir.path().join("trust.db"), &[&path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = report_of(&v, "broken.ml");
    assert_eq!(r["signature"], "invalid", "{r}");
    assert_eq!(r["added"], 0, "{r}");
    assert_eq!(r["rejected"].as_u64(), Some(COPIES as u64), "{r}");
    let errors: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("messageDigest does not match")),
        "{errors:?}"
    );
    assert!(
        !errors.iter().any(|e| e.contains("certificate #")),
        "a certificate was parsed: {errors:?}"
    );
}

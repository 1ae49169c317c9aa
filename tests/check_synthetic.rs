//! `emrtd check` on booklets assembled here and signed with the project's test PKI
//! (pkd-fixtures/keys, CSCAs from pkd-fixtures/pki in the store): a conforming one
//! passes every counted check, and each departure from Doc 9303 fails exactly the
//! check named after it. The DG2 is the BSI 2008 specimen face (test-vectors), the
//! certificates and keys come from the fixture generator (pki::fixtures).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use emrtd::asn1::oid;
use emrtd::cms::asn1::{encode_oid, encode_seq, encode_small_uint};
use emrtd::cms::sign::{SidForm, SignRequest, sign};
use emrtd::cms::{SignedData, SignedDataBuilder};
use emrtd::lds::LdsFile;
use emrtd::lds::com::{Com, Version};
use emrtd::lds::dg1::Dg1;
use emrtd::pki::import::{self, ImportOptions};
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use emrtd::pki::store::TrustStore;
use emrtd::reader::Dump;
use emrtd::reader::dump::Manifest;
use emrtd::tlv;
use emrtd::verify::Status;
use emrtd::verify::conformance::{ConformanceReport, check};
use openssl::pkey::{PKey, Private};

const UTO_TD3: &str =
    "P<UTOSPECIMEN<<BAC<BOOKLET<<<<<<<<<<<<<<<<<<\nUTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02";
const XAA_TD3: &str =
    "P<XAASPECIMEN<<XA<BOOKLET<<<<<<<<<<<<<<<<<<<\nXAB0001353XAA9002144F3406016<<<<<<<<<<<<<<04";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn specimen_dg2() -> Vec<u8> {
    std::fs::read(root().join("test-vectors/lds/jmrtd_bsi2008/Datagroup2.bin")).unwrap()
}

/// The fixture PKI imported as `emrtd pkd import pkd-fixtures/pki/*` would.
fn store() -> &'static std::sync::Mutex<TrustStore> {
    static STORE: OnceLock<std::sync::Mutex<TrustStore>> = OnceLock::new();
    STORE.get_or_init(|| {
        let mut s = TrustStore::open_in_memory().unwrap();
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("pkd-fixtures/pki"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let r = import::import_file(&mut s, &f, &ImportOptions::default());
            assert!(r.errors.is_empty(), "{}: {:?}", f.display(), r.errors);
        }
        std::sync::Mutex::new(s)
    })
}

fn key(name: &str) -> (Vec<u8>, PKey<Private>) {
    let dir = root().join("pkd-fixtures/keys");
    let cert = std::fs::read(dir.join(format!("{name}.cer"))).unwrap();
    let pem = std::fs::read(dir.join(format!("{name}.key.pem"))).unwrap();
    (cert, PKey::private_key_from_pem(&pem).unwrap())
}

/// LDSSecurityObject (Doc 9303 Part 10 §4.6.2) over the data groups.
fn lds_security_object(
    version: u64,
    hash: HashAlgorithm,
    dgs: &[(u8, &[u8])],
    info: Option<(&str, &str)>,
) -> Vec<u8> {
    let alg = encode_seq(&[&encode_oid(&hash.oid()), &[0x05, 0x00]]);
    let hashes: Vec<Vec<u8>> = dgs
        .iter()
        .map(|(n, b)| {
            encode_seq(&[
                &encode_small_uint(u64::from(*n)),
                &tlv::encode(0x04, &hash.digest(b)),
            ])
        })
        .collect();
    let mut parts = vec![
        encode_small_uint(version),
        alg,
        tlv::encode(0x30, &hashes.concat()),
    ];
    if let Some((l, u)) = info {
        parts.push(encode_seq(&[
            &tlv::encode(0x13, l.as_bytes()),
            &tlv::encode(0x13, u.as_bytes()),
        ]));
    }
    tlv::encode(0x30, &parts.concat())
}

/// How to build a booklet.
#[derive(Clone)]
struct Spec {
    mrz: &'static str,
    dsc: &'static str,
    digest: HashAlgorithm,
    alg: SignatureAlgorithm,
    lso_version: u64,
    info: Option<(&'static str, &'static str)>,
    com_lds: &'static str,
    embed: bool,
    /// Data groups in the dump but not hashed in EF.SOD.
    unsigned: Vec<(u8, Vec<u8>)>,
    /// Data groups replaced after signing.
    altered: Vec<(u8, Vec<u8>)>,
    /// Bytes appended to DG1 before signing.
    dg1_suffix: Vec<u8>,
    /// A signer other than the fixture key `dsc` (certificate, key).
    signer: Option<(Vec<u8>, PKey<Private>)>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            mrz: UTO_TD3,
            dsc: "ut-dsc-old",
            digest: HashAlgorithm::Sha256,
            alg: SignatureAlgorithm::RsaPkcs1 {
                hash: HashAlgorithm::Sha256,
            },
            lso_version: 0,
            info: None,
            com_lds: "0107",
            embed: true,
            unsigned: Vec::new(),
            altered: Vec::new(),
            dg1_suffix: Vec::new(),
            signer: None,
        }
    }
}

fn econtent(spec: &Spec, dg1: &[u8], dg2: &[u8]) -> Vec<u8> {
    lds_security_object(spec.lso_version, spec.digest, &[(1, dg1), (2, dg2)], spec.info)
}

fn sod_bytes(spec: &Spec, econtent: &[u8]) -> Vec<u8> {
    let (cert, pkey) = spec.signer.clone().unwrap_or_else(|| key(spec.dsc));
    let ci = sign(
        &SignRequest {
            econtent_type: oid::ICAO_LDS_SECURITY_OBJECT,
            econtent,
            signer_cert: &cert,
            digest: spec.digest,
            alg: spec.alg,
            signing_time: None,
            embed_signer: spec.embed,
            extra_certs: Vec::new(),
            sid: SidForm::IssuerAndSerial,
        },
        &pkey,
    )
    .unwrap();
    tlv::encode(0x77, &ci)
}

fn build(spec: &Spec) -> Dump {
    let mut dg1 = Dg1::from_mrz(spec.mrz).unwrap().raw;
    dg1.extend_from_slice(&spec.dg1_suffix);
    let dg2 = specimen_dg2();
    let mut files = BTreeMap::new();
    let mut listed = vec![LdsFile::Dg(1), LdsFile::Dg(2)];
    listed.extend(spec.unsigned.iter().map(|(n, _)| LdsFile::Dg(*n)));
    let mut com = Com::new(&listed);
    com.lds_version = Some(Version::new(spec.com_lds));
    files.insert(LdsFile::Com, com.encode());
    files.insert(LdsFile::Sod, sod_bytes(spec, &econtent(spec, &dg1, &dg2)));
    files.insert(LdsFile::Dg(1), dg1);
    files.insert(LdsFile::Dg(2), dg2);
    for (n, b) in spec.unsigned.iter().chain(&spec.altered) {
        files.insert(LdsFile::Dg(*n), b.clone());
    }
    Dump {
        files,
        manifest: Manifest::new("test".into(), &[]),
    }
}

fn run(dump: &Dump) -> ConformanceReport {
    let s = store().lock().unwrap();
    check(dump, Some(&s), "synthetic")
}

fn status(r: &ConformanceReport, id: &str) -> &'static str {
    match r.check(id) {
        None => "absent",
        Some(c) => match c.status {
            Status::Pass => "pass",
            Status::Fail if c.informational => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Indeterminate => "indeterminate",
        },
    }
}

fn reason<'r>(r: &'r ConformanceReport, id: &str) -> &'r str {
    r.check(id).map(|c| c.reason.as_str()).unwrap_or("")
}

/// The counted failures, sorted.
fn failed(r: &ConformanceReport) -> Vec<String> {
    let mut v = r.failed.clone();
    v.sort();
    v
}

#[test]
fn a_conforming_booklet_passes_every_counted_check() {
    let r = run(&build(&Spec::default()));
    assert!(
        r.conformant,
        "{:#?}",
        r.failed.iter().map(|id| (id, reason(&r, id))).collect::<Vec<_>>()
    );
    assert!(r.failed.is_empty());
    // the specimen face's record declares other dimensions than its image has
    assert_eq!(r.warnings, vec!["dg2.image_size".to_string()], "{r:#?}");
    for id in [
        "lds.present.EF.SOD",
        "lds.tag.EF.SOD",
        "lds.tlv.EF.SOD",
        "lds.com.tag_list",
        "lds.com.sod",
        "mrz.check_digits",
        "sod.signed_data_version",
        "sod.econtent_type",
        "sod.lds_security_object_version",
        "sod.hash_algorithm",
        "sod.signature_algorithm",
        "sod.signed_attributes",
        "sod.dsc_embedded",
        "sod.signature",
        "sod.dg_hashes",
        "sod.dg_coverage",
        "sod.dg_hash_values",
        "dsc.key_usage",
        "dsc.aki",
        "dsc.country",
        "dsc.validity",
        "dsc.document_types",
        "csca.found",
        "csca.basic_constraints",
        "csca.key_usage",
        "csca.ski",
        "csca.country",
        "dg2.image_type",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {}", reason(&r, id));
    }
    assert!(reason(&r, "dsc.validity").contains("inside the CSCA's"));
    // every check names its Doc 9303 part and section
    for c in &r.checks {
        let reference = c.reference.as_deref().unwrap_or_default();
        assert!(
            reference.starts_with("Doc 9303 Part ") && reference.contains('§'),
            "{}: {reference:?}",
            c.id
        );
    }
}

#[test]
fn rsassa_pss_and_ecdsa_signers_conform_too() {
    let pss = SignatureAlgorithm::RsaPss(emrtd::pki::signature::PssParams {
        hash: HashAlgorithm::Sha256,
        mgf1_hash: HashAlgorithm::Sha256,
        salt_len: 32,
        trailer_field: 1,
    });
    let r = run(&build(&Spec {
        dsc: "ut-dsc-valid",
        alg: pss,
        ..Spec::default()
    }));
    assert!(r.conformant, "{:?}", r.failed);
    assert!(reason(&r, "sod.signature_algorithm").contains("pss"));
    let r = run(&build(&Spec {
        mrz: XAA_TD3,
        dsc: "xa-dsc-valid",
        alg: SignatureAlgorithm::Ecdsa {
            hash: HashAlgorithm::Sha384,
        },
        digest: HashAlgorithm::Sha384,
        ..Spec::default()
    }));
    assert!(r.conformant, "{:?}", r.failed);
    assert_eq!(status(&r, "csca.found"), "pass");
}

#[test]
fn sha1_is_a_warning_not_a_failure() {
    let r = run(&build(&Spec {
        digest: HashAlgorithm::Sha1,
        alg: SignatureAlgorithm::RsaPkcs1 {
            hash: HashAlgorithm::Sha1,
        },
        ..Spec::default()
    }));
    assert!(r.conformant, "{:?}", r.failed);
    for id in [
        "sod.hash_algorithm",
        "sod.digest_algorithm",
        "sod.signature_algorithm",
    ] {
        assert_eq!(status(&r, id), "warn", "{id}");
        assert!(reason(&r, id).contains("SHA-1"), "{id}: {}", reason(&r, id));
    }
}

#[test]
fn lds_security_object_versions() {
    // v1 with version info matching EF.COM
    let r = run(&build(&Spec {
        lso_version: 1,
        info: Some(("0108", "040000")),
        com_lds: "0108",
        ..Spec::default()
    }));
    assert_eq!(status(&r, "sod.lds_security_object_version"), "pass");
    // v1 whose LDS version differs from EF.COM's
    let r = run(&build(&Spec {
        lso_version: 1,
        info: Some(("0108", "040000")),
        ..Spec::default()
    }));
    assert_eq!(failed(&r), vec!["sod.lds_security_object_version"]);
    assert!(reason(&r, "sod.lds_security_object_version").contains("EF.COM"));
    // v0 carrying LDSVersionInfo, v1 without it
    for (v, info) in [(0, Some(("0108", "040000"))), (1, None)] {
        let r = run(&build(&Spec {
            lso_version: v,
            info,
            com_lds: "0108",
            ..Spec::default()
        }));
        assert_eq!(failed(&r), vec!["sod.lds_security_object_version"], "v{v}");
    }
    // LDS 1.8 with a v0 security object: a warning
    let r = run(&build(&Spec {
        com_lds: "0108",
        ..Spec::default()
    }));
    assert_eq!(status(&r, "sod.lds_security_object_version"), "warn");
}

#[test]
fn dsc_not_embedded_fails_but_the_store_still_verifies_the_signature() {
    let r = run(&build(&Spec {
        embed: false,
        ..Spec::default()
    }));
    assert_eq!(failed(&r), vec!["sod.dsc_embedded"]);
    assert_eq!(status(&r, "sod.signature"), "pass");
    assert!(reason(&r, "sod.signature").contains("trust store"));
    // the DSC profile is still checked, from the store's copy
    assert_eq!(status(&r, "dsc.key_usage"), "pass");
    // without a store nothing can be verified: skipped, never passed
    let r = check(
        &build(&Spec {
            embed: false,
            ..Spec::default()
        }),
        None,
        "x",
    );
    assert_eq!(status(&r, "sod.signature"), "skip");
    assert_eq!(status(&r, "dsc.parse"), "skip");
    assert_eq!(status(&r, "csca.found"), "skip");
}

#[test]
fn no_store_skips_the_csca_profile_only() {
    let r = check(&build(&Spec::default()), None, "x");
    assert!(r.conformant);
    assert_eq!(status(&r, "csca.found"), "skip");
    assert_eq!(status(&r, "csca.key_usage"), "skip");
    assert_eq!(status(&r, "dsc.key_usage"), "pass");
    assert!(reason(&r, "dsc.validity").contains("not compared"));
}

#[test]
fn altered_data_group_fails_its_hash() {
    let mut dg2 = specimen_dg2();
    let last = dg2.len() - 1;
    dg2[last] ^= 1;
    let r = run(&build(&Spec {
        altered: vec![(2, dg2)],
        ..Spec::default()
    }));
    assert_eq!(failed(&r), vec!["sod.dg_hash_values"]);
    assert!(reason(&r, "sod.dg_hash_values").contains("DG2"));
}

#[test]
fn data_group_outside_the_sod_fails_coverage() {
    let dg15 = std::fs::read(root().join("test-vectors/lds/jmrtd_loes2006/DG15_ef010F.bin")).unwrap();
    let r = run(&build(&Spec {
        unsigned: vec![(15, dg15)],
        ..Spec::default()
    }));
    // EF.COM lists DG15, EF.SOD does not
    assert_eq!(failed(&r), vec!["lds.com.sod", "sod.dg_coverage"]);
    assert!(reason(&r, "sod.dg_coverage").contains("DG15"));
}

#[test]
fn wrong_country_key_usage_and_document_type() {
    // an Utopian document signed by a DSC of XA
    let r = run(&build(&Spec {
        dsc: "xa-dsc-valid",
        alg: SignatureAlgorithm::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
        ..Spec::default()
    }));
    assert_eq!(failed(&r), vec!["dsc.country"]);
    // key usage nonRepudiation only
    let r = run(&build(&Spec {
        mrz: XAA_TD3,
        dsc: "xa-dsc-wrong-ku",
        alg: SignatureAlgorithm::Ecdsa {
            hash: HashAlgorithm::Sha256,
        },
        ..Spec::default()
    }));
    assert_eq!(failed(&r), vec!["dsc.key_usage"]);
    // a crew member certificate (TD1, code AC) signed by a DSC whose documentTypeList says P, I
    let td1 =
        "ACUTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<";
    let r = run(&build(&Spec {
        mrz: td1,
        ..Spec::default()
    }));
    assert_eq!(failed(&r), vec!["dsc.document_types"], "{r:#?}");
}

#[test]
fn wrong_check_digit_fails_the_mrz() {
    let bad = UTO_TD3.replace("UTB0001359", "UTB0001358");
    let r = run(&build(&Spec {
        mrz: Box::leak(bad.into_boxed_str()),
        ..Spec::default()
    }));
    assert!(
        failed(&r).contains(&"mrz.check_digits".to_string()),
        "{:?}",
        r.failed
    );
}

#[test]
fn trailing_bytes_fail_zero_padding_warns() {
    let r = run(&build(&Spec {
        dg1_suffix: vec![0x90, 0x00],
        ..Spec::default()
    }));
    assert_eq!(failed(&r), vec!["lds.tlv.DG1"]);
    let r = run(&build(&Spec {
        dg1_suffix: vec![0, 0, 0],
        ..Spec::default()
    }));
    assert!(r.conformant, "{:?}", r.failed);
    assert_eq!(status(&r, "lds.tlv.DG1"), "warn");
}

#[test]
fn wrong_outer_tag_fails() {
    let mut dump = build(&Spec::default());
    let dg1 = dump.files.get_mut(&LdsFile::Dg(1)).unwrap();
    dg1[0] = 0x62;
    let r = run(&dump);
    assert_eq!(status(&r, "lds.tag.DG1"), "fail");
    assert!(reason(&r, "lds.tag.DG1").contains("62"));
    assert_eq!(status(&r, "lds.content.DG1"), "fail");
}

/// Rebuild the SOD's SignedData with other parts (the signature stays valid: it covers
/// only the signed attributes).
fn resign_with(dump: &mut Dump, f: impl FnOnce(&SignedData, &mut SignedDataBuilder)) {
    let sod = dump.files.get(&LdsFile::Sod).unwrap().clone();
    let ci = tlv::parse(&sod).unwrap().value.to_vec();
    let sd = SignedData::parse(&ci).unwrap();
    let mut b = SignedDataBuilder {
        digest_algorithms: vec![encode_seq(&[
            &encode_oid(&HashAlgorithm::Sha256.oid()),
            &[0x05, 0x00],
        ])],
        econtent_type: Some(sd.econtent_type),
        econtent: sd.econtent.clone().unwrap(),
        certificates: sd.certificates.clone(),
        crls: Vec::new(),
        signer_infos: sd.signer_infos.iter().map(|s| s.raw.clone()).collect(),
    };
    f(&sd, &mut b);
    dump.files.insert(LdsFile::Sod, tlv::encode(0x77, &b.to_der()));
}

#[test]
fn two_signer_infos_fail() {
    let mut dump = build(&Spec::default());
    resign_with(&mut dump, |sd, b| {
        b.signer_infos.push(sd.signer_infos[0].raw.clone())
    });
    let r = run(&dump);
    assert_eq!(failed(&r), vec!["sod.signer_infos"]);
}

#[test]
fn digest_algorithm_missing_from_signed_data_fails() {
    let mut dump = build(&Spec::default());
    resign_with(&mut dump, |_, b| {
        b.digest_algorithms = vec![encode_seq(&[
            &encode_oid(&HashAlgorithm::Sha512.oid()),
            &[0x05, 0x00],
        ])];
    });
    let r = run(&dump);
    assert_eq!(failed(&r), vec!["sod.digest_algorithm"]);
}

#[test]
fn extra_certificates_warn_and_a_foreign_one_fails() {
    let (csca, _) = key("ut-csca-2");
    let mut dump = build(&Spec::default());
    resign_with(&mut dump, |_, b| b.certificates.push(csca.clone()));
    let r = run(&dump);
    assert!(r.conformant);
    assert_eq!(status(&r, "sod.dsc_embedded"), "warn");
    let mut dump = build(&Spec::default());
    resign_with(&mut dump, |_, b| b.certificates = vec![csca.clone()]);
    let r = run(&dump);
    assert!(failed(&r).contains(&"sod.dsc_embedded".to_string()));
}

#[test]
fn signed_data_version_other_than_3_fails() {
    let mut dump = build(&Spec::default());
    let sod = dump.files.get_mut(&LdsFile::Sod).unwrap();
    // 77 L 30 L 06 09 <signedData> A0 L 30 L 02 01 03: the first INTEGER 3
    let at = sod.windows(3).position(|w| w == [0x02, 0x01, 0x03]).unwrap();
    sod[at + 2] = 1;
    let r = run(&dump);
    assert_eq!(failed(&r), vec!["sod.signed_data_version"]);
}

#[test]
fn written_dump_checks_the_same_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    build(&Spec::default()).write(&good).unwrap();
    let bad = dir.path().join("bad");
    build(&Spec {
        embed: false,
        ..Spec::default()
    })
    .write(&bad)
    .unwrap();
    let store = dir.path().join("trust.db");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .arg("--store")
        .arg(&store)
        .args(["pkd", "import", "-q"])
        .args(
            std::fs::read_dir(root().join("pkd-fixtures/pki"))
                .unwrap()
                .map(|e| e.unwrap().path()),
        )
        .status()
        .unwrap();
    assert!(st.success());
    let run_cli = |dump: &Path, extra: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_emrtd"))
            .arg("--store")
            .arg(&store)
            .arg("check")
            .arg("--dump")
            .arg(dump)
            .args(extra)
            .output()
            .unwrap();
        (o.status.code().unwrap(), String::from_utf8(o.stdout).unwrap())
    };
    let (code, out) = run_cli(&good, &["--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["conformant"], true);
    assert_eq!(v["schema"], 1);
    let csca = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "csca.found")
        .unwrap();
    assert_eq!(csca["status"], "pass");
    let (code, out) = run_cli(&bad, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("NOT CONFORMANT"), "{out}");
    assert!(out.contains("[FAIL] sod.dsc_embedded"), "{out}");
}

fn chip_dump(files: Vec<(LdsFile, Vec<u8>)>) -> Dump {
    Dump {
        files: files.into_iter().collect(),
        manifest: Manifest::new("test".into(), &[]),
    }
}

#[test]
fn ecdsa_aa_key_needs_an_active_authentication_info_in_dg14() {
    use emrtd::lds::dg15::Dg15;
    use emrtd::lds::security_infos::{ActiveAuthenticationInfo, Oid, SecurityInfo, SecurityInfos};
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::BRAINPOOL_P256R1).unwrap();
    let ec = openssl::ec::EcKey::generate(&group).unwrap();
    let public =
        PKey::public_key_from_der(&PKey::from_ec_key(ec).unwrap().public_key_to_der().unwrap()).unwrap();
    let dg15 = Dg15::from_public_key(&public).unwrap().encode();
    let dg14_with = |alg: &str| {
        emrtd::lds::dg14::Dg14::from(SecurityInfos::from_infos(vec![
            SecurityInfo::ActiveAuthentication(ActiveAuthenticationInfo::new(Oid::new_unwrap(alg))),
        ]))
        .encode()
    };
    let status_of = |files: Vec<(LdsFile, Vec<u8>)>| {
        let r = check(&chip_dump(files), None, "x");
        (status(&r, "chip.aa_info"), reason(&r, "chip.aa_info").to_owned())
    };
    // no DG14 at all
    let (s, why) = status_of(vec![(LdsFile::Dg(15), dg15.clone())]);
    assert_eq!(s, "fail", "{why}");
    // DG14 without the info
    let empty_dg14 = emrtd::lds::dg14::Dg14::from(SecurityInfos::from_infos(Vec::new())).encode();
    let (s, _) = status_of(vec![
        (LdsFile::Dg(15), dg15.clone()),
        (LdsFile::Dg(14), empty_dg14),
    ]);
    assert_eq!(s, "fail");
    // ecdsa-plain-SHA256
    let (s, why) = status_of(vec![
        (LdsFile::Dg(15), dg15.clone()),
        (LdsFile::Dg(14), dg14_with("0.4.0.127.0.7.1.1.4.1.3")),
    ]);
    assert_eq!(s, "pass", "{why}");
    // ecdsa-plain-SHA1: deprecated
    let (s, _) = status_of(vec![
        (LdsFile::Dg(15), dg15.clone()),
        (LdsFile::Dg(14), dg14_with("0.4.0.127.0.7.1.1.4.1.1")),
    ]);
    assert_eq!(s, "warn");
    // not an ECDSA plain signature algorithm (sha256WithRSAEncryption)
    let (s, _) = status_of(vec![
        (LdsFile::Dg(15), dg15),
        (LdsFile::Dg(14), dg14_with("1.2.840.113549.1.1.11")),
    ]);
    assert_eq!(s, "fail");
    // an RSA key with an ActiveAuthenticationInfo: a warning
    let rsa_dg15 = std::fs::read(root().join("test-vectors/lds/jmrtd_loes2006/DG15_ef010F.bin")).unwrap();
    let (s, _) = status_of(vec![
        (LdsFile::Dg(15), rsa_dg15),
        (LdsFile::Dg(14), dg14_with("0.4.0.127.0.7.1.1.4.1.3")),
    ]);
    assert_eq!(s, "warn");
    // the info without any DG15
    let (s, _) = status_of(vec![(LdsFile::Dg(14), dg14_with("0.4.0.127.0.7.1.1.4.1.3"))]);
    assert_eq!(s, "fail");
}

#[test]
fn com_listing_a_file_the_chip_does_not_have_fails() {
    let mut dump = build(&Spec::default());
    let mut com = Com::new(&[LdsFile::Dg(1), LdsFile::Dg(2), LdsFile::Dg(3), LdsFile::Dg(11)]);
    com.lds_version = Some(Version::new("0107"));
    dump.files.insert(LdsFile::Com, com.encode());
    dump.manifest.absent.push(emrtd::reader::dump::AbsentRecord {
        name: "DG3".into(),
        sw: "6982".into(),
        meaning: "security status not satisfied".into(),
    });
    dump.manifest.absent.push(emrtd::reader::dump::AbsentRecord {
        name: "DG11".into(),
        sw: "6A82".into(),
        meaning: "file not found".into(),
    });
    let r = run(&dump);
    assert_eq!(status(&r, "lds.com.tag_list"), "fail");
    let why = reason(&r, "lds.com.tag_list");
    assert!(
        why.contains("DG11 is listed but the chip does not have it"),
        "{why}"
    );
    assert!(!why.contains("DG3"), "an EAC-protected DG3 is no finding: {why}");
    // and EF.SOD does not cover what EF.COM lists
    assert_eq!(status(&r, "lds.com.sod"), "fail");
}

mod broken_csca {
    use super::*;
    use emrtd::asn1::oid as x509;
    use emrtd::pki::cert::{Certificate, KeyUsage};
    use emrtd::pki::fixtures::{self, Ca, CertTemplate, Key};
    use emrtd::pki::role::Role;
    use emrtd::pki::store::{CertMeta, Provenance};
    use time::macros::datetime;

    fn store_with(cert: &[u8]) -> TrustStore {
        let mut s = TrustStore::open_in_memory().unwrap();
        let w = s.transaction().unwrap();
        let source_id = w.add_source("test", "certificate").unwrap();
        let c = Certificate::from_der(cert).unwrap();
        let meta = CertMeta {
            trusted: true,
            ..CertMeta::default()
        };
        let prov = Provenance {
            source_id,
            ..Provenance::default()
        };
        w.add_certificate(&c, Role::Csca, &meta, &prov).unwrap();
        w.commit().unwrap();
        s
    }

    const ALG: SignatureAlgorithm = SignatureAlgorithm::RsaPkcs1 {
        hash: HashAlgorithm::Sha256,
    };

    /// A CSCA of UT without basicConstraints, key usage not critical, valid 2020..2030,
    /// and a DSC under it valid 2021..2035 (beyond the CSCA).
    fn broken() -> (Ca, Vec<u8>, Key) {
        let ca_key = Key::rsa(2048).unwrap();
        let name = fixtures::name(&[(x509::C, "UT"), (x509::CN, "CSCA Broken")]);
        let cert = fixtures::issue(
            &CertTemplate {
                serial: vec![9],
                issuer: name.clone(),
                subject: name.clone(),
                not_before: datetime!(2020-01-01 0:00 UTC),
                not_after: datetime!(2030-01-01 0:00 UTC),
                spki: ca_key.spki.clone(),
                extensions: vec![
                    fixtures::ext_ski(&ca_key.key_id),
                    fixtures::ext_key_usage(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN, false),
                ],
                alg: ALG,
            },
            &ca_key.pkey,
        )
        .unwrap();
        let ca = Ca {
            key: ca_key,
            name,
            cert,
            alg: ALG,
        };
        let dsc_key = Key::rsa(2048).unwrap();
        let dsc = fixtures::dsc(
            &ca,
            &dsc_key,
            fixtures::name(&[(x509::C, "UT"), (x509::CN, "DS Broken")]),
            10,
            datetime!(2021-01-01 0:00 UTC),
            datetime!(2035-01-01 0:00 UTC),
            KeyUsage::DIGITAL_SIGNATURE,
            ALG,
        )
        .unwrap();
        (ca, dsc, dsc_key)
    }

    #[test]
    fn csca_profile_and_dsc_validity_inside_it() {
        let (ca, dsc, dsc_key) = broken();
        let dump = build(&Spec {
            signer: Some((dsc, dsc_key.pkey.clone())),
            ..Spec::default()
        });
        let store = store_with(&ca.cert);
        let r = check(&dump, Some(&store), "x");
        assert_eq!(status(&r, "csca.found"), "pass", "{}", reason(&r, "csca.found"));
        assert_eq!(
            failed(&r),
            vec!["csca.basic_constraints", "csca.key_usage", "dsc.validity"],
            "{r:#?}"
        );
        assert!(reason(&r, "dsc.validity").contains("not inside the CSCA's"));
        // the same DSC without its CSCA in the store: the CSCA rules are skipped
        let r = check(&dump, None, "x");
        assert!(r.conformant, "{:?}", r.failed);
    }

    #[test]
    fn a_csca_of_the_same_name_whose_key_does_not_verify_fails() {
        let (ca, dsc, dsc_key) = broken();
        let (other, _, _) = broken();
        assert_eq!(ca.name, other.name);
        let dump = build(&Spec {
            signer: Some((dsc, dsc_key.pkey.clone())),
            ..Spec::default()
        });
        let r = check(&dump, Some(&store_with(&other.cert)), "x");
        assert_eq!(status(&r, "csca.found"), "fail");
        assert!(reason(&r, "csca.found").contains("no key of theirs verifies"));
        assert_eq!(status(&r, "csca.key_usage"), "skip");
    }
}

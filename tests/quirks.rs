//! The field's chips (docs/quirks.md): every `pkd-fixtures/booklets/quirk-*.toml`
//! profile reproduces a behaviour users of other readers reported from real documents.
//! Each is read and verified through the same engine as `emrtd verify` and must be
//! VALID; and for each, the APDU trace or the manifest shows that the quirk really
//! happened and what the reader did about it (so no profile passes by never triggering
//! its quirk).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use emrtd::access::password::{MrzKey, Password};
use emrtd::emulator::{Emulator, Profile};
use emrtd::lds::dg14::Dg14;
use emrtd::pki::import::{self, ImportOptions};
use emrtd::pki::store::TrustStore;
use emrtd::reader::{Dump, NoProgress, ReadOptions};
use emrtd::rng::OsRandom;
use emrtd::transport::trace::{Recorder, TraceEntry, TraceLog};
use emrtd::verify::Verdict;
use emrtd::verify::live::{LiveOptions, read_and_verify};
use time::macros::datetime;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
}

fn store() -> TrustStore {
    let mut store = TrustStore::open_in_memory().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let r = import::import_file(&mut store, &f, &ImportOptions::default());
        assert!(r.errors.is_empty(), "{}: {:?}", f.display(), r.errors);
    }
    store
}

struct Run {
    dump: Dump,
    trace: Vec<TraceEntry>,
}

fn load(name: &str) -> Profile {
    Profile::load(&root().join("booklets").join(format!("quirk-{name}.toml"))).unwrap()
}

/// Read and verify `profile` through the engine of `emrtd verify`.
fn read_verify(
    store: &TrustStore,
    name: &str,
    profile: Profile,
) -> (emrtd::verify::live::LiveVerification, Vec<TraceEntry>) {
    let mrz = emrtd::mrz::Mrz::parse(&profile.mrz).unwrap();
    let password = Password::Mrz(MrzKey::from_mrz(&mrz).unwrap());
    let log = TraceLog::new();
    let options = LiveOptions {
        read: ReadOptions::default(),
        at: datetime!(2027-01-01 12:00 UTC),
        no_aa: false,
        no_ca: false,
        bac_requested: false,
        source: name.into(),
    };
    let mut rng = OsRandom;
    let v = read_and_verify(
        Recorder::new(Emulator::new(profile), log.clone()),
        &password,
        &options,
        Some(store),
        &mut rng,
        &mut NoProgress,
        Some(log.clone()),
    )
    .unwrap_or_else(|f| panic!("{name}: read failed: {:#}", anyhow::Error::new(f.error)));
    (v, log.entries())
}

/// Read and verify the quirk profile `name`; it must be VALID.
fn run(store: &TrustStore, name: &str) -> Run {
    let (v, trace) = read_verify(store, name, load(name));
    assert_eq!(
        v.report.verdict,
        Verdict::Valid,
        "{name}: {:?}\n{:#?}",
        v.report.because,
        v.report.checks
    );
    Run {
        dump: v.dump.unwrap(),
        trace,
    }
}

/// The status word of a response (plain, when secure messaging was unwrapped).
fn sw(e: &TraceEntry) -> Option<u16> {
    let r = e.plain_response.as_ref().unwrap_or(&e.response);
    let n = r.len();
    (n >= 2).then(|| u16::from_be_bytes([r[n - 2], r[n - 1]]))
}

fn ins(e: &TraceEntry) -> Option<u8> {
    e.plain_command.as_ref().unwrap_or(&e.command).get(1).copied()
}

fn adapted(r: &Run, what: &str) -> bool {
    r.dump.manifest.adaptations.iter().any(|a| a.contains(what))
}

#[test]
fn every_quirk_profile_is_covered_here() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("booklets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("quirk-") && n.ends_with(".toml"))
        .collect();
    names.sort();
    let this = std::fs::read_to_string(file!()).unwrap();
    for n in &names {
        let short = n.trim_start_matches("quirk-").trim_end_matches(".toml");
        assert!(this.contains(&format!("\"{short}\"")), "{n} has no test here");
    }
    assert!(names.len() >= 16, "{names:?}");
}

#[test]
fn reader_adapts_to_chips_that_refuse_what_others_take() {
    let store = store();
    // no short file identifiers: 6A86 to READ BINARY by SFI, then SELECT
    let r = run(&store, "no-sfi");
    assert!(r.trace.iter().any(|e| sw(e) == Some(0x6A86)));
    assert!(
        adapted(&r, "short file identifier"),
        "{:?}",
        r.dump.manifest.adaptations
    );
    assert!(r.dump.files.len() >= 9);
    // PACE parameter reference required (6A87), then tag 84
    let r = run(&store, "ua-pace-parameter-ref");
    assert!(
        r.trace
            .iter()
            .any(|e| ins(e) == Some(0x22) && sw(e) == Some(0x6A87))
    );
    assert!(adapted(&r, "tag 84"));
    assert_eq!(r.dump.manifest.access.as_ref().unwrap().protocol, "PACE");
    // extended READ BINARY answered 6700 in plain: short reads from then on
    let r = run(&store, "cn-extended-read-plain-6700");
    assert!(adapted(&r, "extended"), "{:?}", r.dump.manifest.adaptations);
    assert!(!r.dump.manifest.extended_length);
    // Le 256 answered 6B00 ending secure messaging: 223-byte reads after one recovery
    let r = run(&store, "ru-le256-6b00-ends-sm");
    assert!(r.trace.iter().any(|e| sw(e) == Some(0x6B00)));
    assert!(adapted(&r, "Le 256 by 6B00"), "{:?}", r.dump.manifest.adaptations);
    assert_eq!(r.dump.manifest.recoveries, 1);
}

#[test]
fn reader_reads_chips_with_smaller_or_odd_answers() {
    let store = store();
    // Le above 192 answered 6700: the read size steps down, every file is complete
    let r = run(&store, "ua-le-max-192");
    assert!(r.trace.iter().any(|e| sw(e) == Some(0x6700)));
    for f in &r.dump.manifest.files {
        if f.name != "EF.CardAccess" {
            assert!(
                f.read_size.unwrap_or(0) <= 192,
                "{} read with {:?}",
                f.name,
                f.read_size
            );
        }
    }
    // 6282 with the rest of the file
    let r = run(&store, "es-past-eof-6282");
    assert!(r.trace.iter().any(|e| sw(e) == Some(0x6282)));
    // EF.COM naming tags no decoder knows
    let r = run(&store, "cn-com-unknown-tags");
    let com = &r.dump.files[&emrtd::lds::LdsFile::Com];
    assert!(com.windows(3).any(|w| w == [0x71, 0x72, 0x73]));
    // EF.DIR refused before access control: never asked for
    let r = run(&store, "us-dir-6982-before-access");
    assert!(!r.dump.files.contains_key(&emrtd::lds::LdsFile::Dir));
    // a 20 KB DG2 over a slow link: one extended READ BINARY
    let r = run(&store, "nl-dg2-slow-link");
    let dg2 = r.dump.manifest.files.iter().find(|f| f.name == "DG2").unwrap();
    assert!(dg2.apdus <= 2, "{dg2:?}");
}

#[test]
fn reader_recovers_from_a_lost_tag_and_a_bad_mac_without_accepting_unauthenticated_bytes() {
    let store = store();
    let r = run(&store, "tag-lost-mid-read");
    assert_eq!(
        r.dump.manifest.recoveries, 2,
        "{:?}",
        r.dump.manifest.recovery_log
    );
    let r = run(&store, "us-sod-last-frame-mac");
    assert_eq!(
        r.dump.manifest.recoveries, 1,
        "{:?}",
        r.dump.manifest.recovery_log
    );
    assert!(r.dump.manifest.recovery_log[0].file.as_deref() == Some("EF.SOD"));
}

#[test]
fn active_authentication_copes_with_both_le_forms() {
    let store = store();
    // extended Le answered 9000 without data: the second INTERNAL AUTHENTICATE (short
    // Le) gets the signature
    let r = run(&store, "cn-aa-extended-le-empty");
    let aa: Vec<&TraceEntry> = r.trace.iter().filter(|e| ins(e) == Some(0x88)).collect();
    assert_eq!(aa.len(), 2, "{aa:#?}");
    // short Le returns 231 bytes of a 256-byte signature: the extended form gets it all
    // (the chip announces extended length, so INTERNAL AUTHENTICATE goes extended at once)
    let r = run(&store, "au-aa-short-le-truncated");
    let aa: Vec<&TraceEntry> = r.trace.iter().filter(|e| ins(e) == Some(0x88)).collect();
    assert_eq!(aa.len(), 1, "{aa:#?}");
    assert!(
        aa[0].command.len() > 7 && aa[0].command[4] == 0x00,
        "not extended: {:02X?}",
        aa[0].command
    );
}

#[test]
fn commands_carry_no_le_where_chips_refuse_one() {
    let store = store();
    let r = run(&store, "de-no-le-on-select-mse");
    assert!(
        !r.trace.iter().any(|e| sw(e) == Some(0x6700)),
        "a SELECT or MSE carried an Le"
    );
}

#[test]
fn protocols_on_the_curves_and_ciphers_real_chips_use() {
    let store = store();
    let r = run(&store, "gr-sk-pace-aes256");
    assert_eq!(r.dump.manifest.access.as_ref().unwrap().cipher, "AES-256");
    let r = run(&store, "ru-ca-secp192r1");
    assert_eq!(r.dump.manifest.access.as_ref().unwrap().protocol, "BAC");
    // DG14 without ChipAuthenticationInfo: CA version 1 with 3DES taken from the key
    let r = run(&store, "fr-dg14-no-ca-info");
    let dg14 = emrtd::lds::dg14::Dg14::decode(&r.dump.files[&emrtd::lds::LdsFile::Dg(14)])
        .map(|d| d.security_infos)
        .unwrap();
    assert!(dg14.chip_authentication_infos().next().is_none());
    assert!(dg14.chip_authentication_public_keys().next().is_some());
}

/// EF.SOD typed id-data (Chinese passports): the decoder names the quirk and Passive
/// Authentication checks the signature, which covers the content-type attribute too.
#[test]
fn sod_typed_id_data_is_read_and_verified() {
    let store = store();
    let r = run(&store, "cn-sod-id-data");
    let sod = emrtd::lds::sod::Sod::decode(&r.dump.files[&emrtd::lds::LdsFile::Sod]).unwrap();
    assert_eq!(sod.econtent_type().to_string(), emrtd::lds::sod::OID_DATA);
    assert!(
        sod.quirks.iter().any(
            |q| matches!(q, emrtd::lds::Quirk::Other { name, .. } if *name == "sod_econtent_type_id_data")
        ),
        "{:?}",
        sod.quirks
    );
}

/// A read that got no file of the document is not a success: a chip that refuses every
/// READ BINARY makes `emrtd read` exit 2, naming why, with the manifest written.
#[test]
fn a_read_that_got_nothing_is_not_a_success() {
    let dir = tempfile::tempdir().unwrap();
    // a profile derives from one in its own directory: work on a copy of the fixtures
    let fixtures = dir.path().join("pkd-fixtures");
    let ok = std::process::Command::new("cp")
        .args(["-a", root().to_str().unwrap(), fixtures.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    let profile = fixtures.join("booklets/refuses-all.toml");
    std::fs::write(
        &profile,
        "name = \"refuses-all\"\nbase = \"ref1.toml\"\n\n[[faults]]\nkind = \"refuse\"\nsw = \"6982\"\ncommand = \"read_binary\"\nfrom = 0\n",
    )
    .unwrap();
    let out = dir.path().join("dump");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args([
            "read",
            "--emulator",
            profile.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no file of the document"), "{stderr}");
    assert!(out.join("manifest.json").exists());
}

/// Two Chip Authentication keys on one curve (gmrtd PR #447): PACE-CAM is checked
/// against the key whose keyId is the PACEInfo's parameterId (13), Chip Authentication
/// v1 runs with the key its ChipAuthenticationInfo names (keyId 1). The CA key comes
/// first in EF.CardSecurity, so a reader taking the first key on the curve would fail
/// PACE-CAM; and a chip proving PACE-CAM with the CA key (also signed by the issuer) is
/// not accepted.
#[test]
fn two_chip_authentication_keys_on_one_curve_are_told_apart_by_key_id() {
    use emrtd::access::ca;
    use emrtd::lds::LdsFile;
    use emrtd::lds::security_infos::{CardSecurity, SecurityInfos};
    let store = store();
    let r = run(&store, "two-ca-keys-one-curve");
    let cs = CardSecurity::decode(&r.dump.files[&LdsFile::CardSecurity]).unwrap();
    let ids: Vec<Option<u64>> = cs
        .security_infos
        .chip_authentication_public_keys()
        .map(|k| k.key_id)
        .collect();
    assert_eq!(
        ids,
        [Some(1), Some(13)],
        "the CA key must come first for this test to mean anything"
    );
    let dg14 = Dg14::decode(&r.dump.files[&LdsFile::Dg(14)])
        .map(SecurityInfos::from)
        .unwrap();
    assert_eq!(dg14.chip_authentication_public_keys().count(), 2);
    assert_eq!(r.dump.manifest.access.as_ref().unwrap().protocol, "PACE");
    let cam = r.dump.manifest.chip_authentication.as_ref().unwrap();
    assert!(cam.verified, "{cam:?}");
    assert_eq!(cam.key_id, Some(13));

    // Chip Authentication v1 on the same chip: the key of the ChipAuthenticationInfo,
    // addressed by keyId in MSE:Set KAT
    let p = load("two-ca-keys-one-curve");
    let mrz = emrtd::mrz::Mrz::parse(&p.mrz).unwrap();
    let key = Password::Mrz(MrzKey::from_mrz(&mrz).unwrap());
    let mut rng = OsRandom;
    let session = emrtd::reader::Session::new(Emulator::new(p), key, ReadOptions::default(), &mut rng, None);
    let (_, ev) = session
        .run_then(&mut NoProgress, |dump, ch, rng| {
            let infos = Dg14::decode(&dump.files[&LdsFile::Dg(14)])
                .map(SecurityInfos::from)
                .unwrap();
            ca::authenticate_and_prove(ch, &infos, &ca::CaConfig::default(), rng)
        })
        .unwrap();
    let ev = ev.unwrap();
    assert!(ev.proven);
    assert_eq!((ev.key_id, ev.sent_key_id), (Some(1), true));

    // the chip proves PACE-CAM with the CA key (keyId 1): not the key PACE-CAM names
    let mut wrong = load("two-ca-keys-one-curve");
    wrong.cam_private_key = wrong.ca_private_key.clone();
    let (v, _) = read_verify(&store, "two-ca-keys-one-curve", wrong);
    assert_ne!(v.report.verdict, Verdict::Valid, "{:?}", v.report.because);
    let cam = v
        .dump
        .as_ref()
        .unwrap()
        .manifest
        .chip_authentication
        .clone()
        .unwrap();
    assert!(!cam.verified, "{cam:?}");
    assert!(cam.reason.as_deref().unwrap_or("").contains("CA_IC"), "{cam:?}");
}

/// Lithuanian EF.SOD (gmrtd #130): a P-224 DSC key with explicit parameters,
/// digestAlgorithm SHA-224 but signatureAlgorithm ecdsa-with-SHA256. The signature is
/// checked with the hash the signatureAlgorithm names (SHA-256, cut to the 224-bit
/// order): VALID, with the mismatch named. A verifier hashing the signed attributes with
/// the digestAlgorithm (as gmrtd did) finds the signature invalid; so does this one if
/// anything in the signed attributes changes.
#[test]
fn sod_signed_with_another_hash_than_its_digest_algorithm() {
    use emrtd::asn1::signature::{HashAlgorithm, SignatureAlgorithm};
    use emrtd::lds::LdsFile;
    let store = store();
    let r = run(&store, "lt-sod-p224-sha256");
    let sod = emrtd::lds::sod::Sod::decode(&r.dump.files[&LdsFile::Sod]).unwrap();
    let sd = &sod.signed_data;
    let signer = &sd.signer_infos[0];
    assert_eq!(signer.digest_hash().unwrap(), HashAlgorithm::Sha224);
    let (alg, _) = signer.signature_algorithm().unwrap();
    assert_eq!(
        alg,
        SignatureAlgorithm::Ecdsa {
            hash: HashAlgorithm::Sha256
        }
    );
    assert!(
        sod.quirks.iter().any(
            |q| matches!(q, emrtd::lds::Quirk::Other { name, .. } if *name == "digest_algorithm_mismatch")
        ),
        "{:?}",
        sod.quirks
    );
    let cert = emrtd::cms::SignedData::signer_certificate(sd, signer).unwrap();
    let key = cert.public_key().unwrap();
    let tbs = signer.signed_attrs.as_ref().unwrap().to_be_signed();
    // the named hash verifies; the digest algorithm's hash does not
    emrtd::asn1::signature::verify(&alg, &key, &tbs, &signer.signature).unwrap();
    let with_digest_hash = SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha224,
    };
    assert!(emrtd::asn1::signature::verify(&with_digest_hash, &key, &tbs, &signer.signature).is_err());
    // the key really is P-224
    assert_eq!(key.pkey().bits(), 224);
    let mut tampered = tbs.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(emrtd::asn1::signature::verify(&alg, &key, &tampered, &signer.signature).is_err());
}

/// Ukrainian EF.SOD (gmrtd #440): the SignerInfo's issuerAndSerialNumber spells the
/// issuer in PrintableString, the embedded DSC's issuer field in UTF8String. The DSC is
/// found by RFC 5280 §7.1 name matching (not by byte equality, and never by falling back
/// to "the only certificate there"): VALID. A serial that names no embedded certificate
/// still finds none.
#[test]
fn sod_naming_its_signer_in_other_string_types() {
    use emrtd::lds::LdsFile;
    let store = store();
    let r = run(&store, "ua-sod-sid-printable");
    let sod = emrtd::lds::sod::Sod::decode(&r.dump.files[&LdsFile::Sod]).unwrap();
    let sd = &sod.signed_data;
    let signer = &sd.signer_infos[0];
    let emrtd::cms::SignerIdentifier::IssuerAndSerialNumber { issuer, serial } = &signer.sid else {
        panic!("{:?}", signer.sid)
    };
    let cert_der = &sd.certificates[0];
    let cert = emrtd::pki::cert::Certificate::from_der(cert_der).unwrap();
    assert_ne!(
        issuer, &cert.issuer.raw,
        "the sid must not copy the certificate's issuer bytes"
    );
    // every value of the sid's issuer is a PrintableString (13), the certificate's has UTF8String (0C)
    let strings = |name: &[u8]| -> Vec<u8> {
        let t = emrtd::tlv::parse(name).unwrap();
        let mut tags = Vec::new();
        for rdn in t.children().read_all().unwrap() {
            for atv in rdn.children().read_all().unwrap() {
                tags.push(atv.children().read_all().unwrap()[1].tag as u8);
            }
        }
        tags
    };
    assert!(
        strings(issuer).iter().all(|t| *t == 0x13),
        "{:?}",
        strings(issuer)
    );
    assert!(strings(&cert.issuer.raw).contains(&0x0C));
    assert!(
        sod.quirks.iter().any(
            |q| matches!(q, emrtd::lds::Quirk::Other { name, .. } if *name == "sod_signer_issuer_reencoded")
        ),
        "{:?}",
        sod.quirks
    );
    assert!(sd.signer_issuer_reencoded(signer));
    assert_eq!(
        sd.signer_certificate(signer).map(|c| c.der.clone()).as_ref(),
        Some(cert_der)
    );
    // the same sid with another serial names nothing
    let other = emrtd::cms::SignerIdentifier::IssuerAndSerialNumber {
        issuer: issuer.clone(),
        serial: vec![0x7F, 0x7F],
    };
    assert!(!cert.is_named_by(&other));
    assert!(emrtd::pki::cert::same_integer(serial, &cert.serial));
}

//! Active Authentication between the reader and the emulated chip, after a full read
//! (BAC with 3DES, PACE with AES), through `Session::run_then`: RSA-2048 with trailers
//! BC and 34CC, RSA-4096 with extended length, ECDSA on P-256 and on brainpoolP256r1
//! with explicit parameters (plain and DER), profiles written in TOML with the key in
//! PEM or DER hex. A clone (DG15 from one key, the chip holding another) fails with a
//! reason; the chip refuses AA outside secure messaging and without a key.
//!
//! The emulator signs with the same ISO/IEC 9796-2 code the verifier parses, so these
//! runs prove the wiring; the formats are pinned by the external vectors in
//! `aa_vectors.rs` and `aa_signatures.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use emrtd::access::aa::{
    self, AaAlgorithm, AaError, AaEvidence, AaOptions, AaSigner, LeForm, SignatureFormat,
};
use emrtd::access::password::{MrzKey, Password};
use emrtd::apdu::{PlainChannel, StatusWord};
use emrtd::asn1::HashAlgorithm;
use emrtd::emulator::profile::ProfileToml;
use emrtd::emulator::{Emulator, Profile};
use emrtd::lds::LdsFile;
use emrtd::lds::dg14::Dg14;
use emrtd::lds::dg15::Dg15;
use emrtd::lds::security_infos::SecurityInfos;
use emrtd::reader::{NoProgress, ReadOptions, Session};
use emrtd::rng::OsRandom;
use openssl::ec::{Asn1Flag, EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;

const MRZ: &str =
    "P<UTOSPECIMEN<<AA<BOOKLET<<<<<<<<<<<<<<<<<<<\nUTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn profile_from(toml: &str, base: &Path) -> Profile {
    let raw: ProfileToml = toml::from_str(toml).unwrap();
    Profile::from_toml(raw, base).unwrap()
}

fn booklet(extra: &str) -> Profile {
    profile_from(
        &format!("name = \"aa\"\nmrz = \"\"\"\n{MRZ}\n\"\"\"\n{extra}"),
        Path::new("."),
    )
}

fn key_of(p: &Profile) -> Password {
    let mrz = emrtd::mrz::Mrz::parse(&p.mrz).unwrap();
    Password::Mrz(MrzKey::from_mrz(&mrz).unwrap())
}

/// Read the whole document, then run AA with DG15 and DG14 from the dump.
fn read_then_aa(profile: Profile) -> Result<AaEvidence, AaError> {
    let key = key_of(&profile);
    let mut rng = OsRandom;
    let session = Session::new(
        Emulator::new(profile),
        key,
        ReadOptions::default(),
        &mut rng,
        None,
    );
    let (dump, result) = session
        .run_then(&mut NoProgress, |dump, ch, rng| {
            let dg15 = Dg15::decode(&dump.files[&LdsFile::Dg(15)]).unwrap();
            let dg14 = dump
                .files
                .get(&LdsFile::Dg(14))
                .map(|b| Dg14::decode(b).map(SecurityInfos::from).unwrap());
            let info = dg14.as_ref().and_then(|i| i.active_authentication_info());
            let options = AaOptions {
                extended_length: dump.manifest.extended_length,
                ..AaOptions::default()
            };
            aa::authenticate_with(ch, &dg15, info, &options, rng)
        })
        .unwrap();
    assert!(!dump.manifest.partial);
    result
}

fn pem(key: &PKey<Private>) -> String {
    String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap()
}

fn write_key(dir: &Path, name: &str, key: &PKey<Private>) -> String {
    std::fs::write(dir.join(name), pem(key)).unwrap();
    name.to_string()
}

fn rsa(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
}

fn ec(nid: Nid, explicit: bool) -> PKey<Private> {
    let mut g = EcGroup::from_curve_name(nid).unwrap();
    if explicit {
        g.set_asn1_flag(Asn1Flag::EXPLICIT_CURVE);
    }
    PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap()
}

#[test]
fn rsa_2048_sha1_trailer_bc_after_bac_from_a_pem_file() {
    let dir = tempfile::tempdir().unwrap();
    let name = write_key(dir.path(), "aa.pem", &rsa(2048));
    let p = profile_from(
        &format!(
            "name = \"aa\"\nmrz = \"\"\"\n{MRZ}\n\"\"\"\naa_private_key = {{ path = \"{name}\" }}\n[chip]\nextended_length = false\nmax_read = 223\n"
        ),
        dir.path(),
    );
    // DG15 generated from the key, EF.COM lists it
    assert!(p.files.contains_key(&LdsFile::Dg(15)));
    let ev = read_then_aa(p).unwrap();
    assert_eq!(ev.algorithm, AaAlgorithm::Rsa);
    assert_eq!(ev.key_bits, Some(2048));
    assert_eq!(ev.hash, HashAlgorithm::Sha1);
    assert!(
        matches!(ev.signature_format, SignatureFormat::Iso9796_2 { ref trailer, complement: false, .. } if trailer == "BC")
    );
    assert_eq!(ev.recovered_m1.unwrap().len(), 256 - 1 - 20 - 1);
    // no extended length on this card: a short Le
    assert_eq!(ev.le, Some(LeForm::Short));
}

#[test]
fn rsa_2048_sha256_trailer_34cc_from_der_hex() {
    let key = rsa(2048);
    let p = booklet(&format!(
        "aa_private_key = {{ hex = \"{}\" }}\naa_hash = \"SHA-256\"\n",
        hex::encode(key.private_key_to_der().unwrap())
    ));
    let ev = read_then_aa(p).unwrap();
    assert_eq!(ev.hash, HashAlgorithm::Sha256);
    assert!(
        matches!(ev.signature_format, SignatureFormat::Iso9796_2 { ref trailer, .. } if trailer == "34CC")
    );
}

#[test]
fn rsa_4096_needs_extended_length() {
    let key = rsa(4096);
    let p = booklet(&format!(
        "aa_private_key = {{ hex = \"{}\" }}\n[chip]\nextended_length = true\n",
        hex::encode(key.private_key_to_der().unwrap())
    ));
    let ev = read_then_aa(p).unwrap();
    assert_eq!(ev.signature.len(), 512);
    assert_eq!(ev.key_bits, Some(4096));
    assert_eq!(ev.le, Some(LeForm::Extended));
    assert!(ev.warnings.is_empty());
}

#[test]
fn ecdsa_p256_named_curve_plain() {
    let dir = tempfile::tempdir().unwrap();
    let name = write_key(dir.path(), "aa-ec.pem", &ec(Nid::X9_62_PRIME256V1, false));
    let p = profile_from(
        &format!("name = \"aa\"\nmrz = \"\"\"\n{MRZ}\n\"\"\"\naa_private_key = {{ path = \"{name}\" }}\n"),
        dir.path(),
    );
    // DG14 generated with ActiveAuthenticationInfo ecdsa-plain-SHA256
    let dg14 = Dg14::decode(&p.files[&LdsFile::Dg(14)])
        .map(SecurityInfos::from)
        .unwrap();
    assert_eq!(
        dg14.active_authentication_info().unwrap().signature_algorithm,
        HashAlgorithm::Sha256.ecdsa_plain_oid()
    );
    let ev = read_then_aa(p).unwrap();
    assert_eq!(ev.algorithm, AaAlgorithm::Ecdsa);
    assert_eq!(ev.curve.as_deref(), Some("prime256v1"));
    assert_eq!(ev.signature_format, SignatureFormat::EcdsaPlain);
    assert!(ev.warnings.is_empty());
}

#[test]
fn ecdsa_brainpool_explicit_parameters_plain_and_der() {
    let key = ec(Nid::BRAINPOOL_P256R1, true);
    for (enc, format) in [
        ("plain", SignatureFormat::EcdsaPlain),
        ("der", SignatureFormat::EcdsaDer),
    ] {
        let p = booklet(&format!(
            "aa_private_key = {{ hex = \"{}\" }}\naa_ecdsa_encoding = \"{enc}\"\n",
            hex::encode(key.private_key_to_der().unwrap())
        ));
        let dg15 = Dg15::decode(&p.files[&LdsFile::Dg(15)]).unwrap();
        assert!(dg15.quirks.contains(&emrtd::lds::Quirk::ExplicitEcParameters));
        let ev = read_then_aa(p).unwrap();
        assert_eq!(ev.curve.as_deref(), Some("brainpoolP256r1"));
        assert_eq!(ev.signature_format, format);
        assert_eq!(ev.warnings.is_empty(), enc == "plain");
    }
}

#[test]
fn ecdsa_after_pace_aes_256() {
    let mut p = Profile::load(&root().join("pkd-fixtures/booklets/pace-ecdh-gm-bp384-aes256.toml")).unwrap();
    let signer = AaSigner::new(ec(Nid::BRAINPOOL_P384R1, true)).unwrap();
    // DG15 and a DG14 with the AA info, and EF.COM listing them
    p.files.insert(
        LdsFile::Dg(15),
        emrtd::tlv::encode(0x6F, &signer.public_key_der().unwrap()),
    );
    let info =
        emrtd::lds::security_infos::ActiveAuthenticationInfo::new(HashAlgorithm::Sha384.ecdsa_plain_oid());
    p.files.insert(
        LdsFile::Dg(14),
        emrtd::lds::dg14::Dg14::from(SecurityInfos::from_infos(vec![
            emrtd::lds::security_infos::SecurityInfo::ActiveAuthentication(info),
        ]))
        .encode(),
    );
    p.files.remove(&LdsFile::Com);
    p.aa = Some(signer);
    let com_inner = [
        emrtd::tlv::encode(0x5F01, b"0107"),
        emrtd::tlv::encode(0x5F36, b"040000"),
        emrtd::tlv::encode(0x5C, &[0x61, 0x75, 0x6E, 0x6F]),
    ]
    .concat();
    p.files.insert(LdsFile::Com, emrtd::tlv::encode(0x60, &com_inner));
    let ev = read_then_aa(p).unwrap();
    assert_eq!(ev.hash, HashAlgorithm::Sha384);
    assert_eq!(ev.curve.as_deref(), Some("brainpoolP384r1"));
}

#[test]
fn clone_with_another_rsa_key_fails_with_a_reason() {
    let genuine = rsa(2048);
    let mut p = booklet(&format!(
        "aa_private_key = {{ hex = \"{}\" }}\n",
        hex::encode(genuine.private_key_to_der().unwrap())
    ));
    // the clone keeps the genuine DG15 but cannot have its private key
    p.aa = Some(AaSigner::new(rsa(2048)).unwrap());
    let e = read_then_aa(p).unwrap_err();
    assert!(e.is_verification_failure(), "{e}");
    assert!(e.hint().unwrap().contains("clone"), "{e}");
}

#[test]
fn clone_with_another_ec_key_fails() {
    let mut p = booklet(&format!(
        "aa_private_key = {{ hex = \"{}\" }}\n",
        hex::encode(ec(Nid::X9_62_PRIME256V1, false).private_key_to_der().unwrap())
    ));
    p.aa = Some(AaSigner::new(ec(Nid::X9_62_PRIME256V1, false)).unwrap());
    assert!(matches!(
        read_then_aa(p),
        Err(AaError::EcdsaInvalid {
            hash: HashAlgorithm::Sha256
        })
    ));
}

#[test]
fn chip_refuses_aa_without_secure_messaging_or_key() {
    let key = rsa(1024);
    let p = booklet(&format!(
        "aa_private_key = {{ hex = \"{}\" }}\n",
        hex::encode(key.private_key_to_der().unwrap())
    ));
    let dg15 = Dg15::decode(&p.files[&LdsFile::Dg(15)]).unwrap();
    let mut plain = PlainChannel::new(Emulator::new(p));
    assert!(matches!(
        aa::authenticate(&mut plain, &dg15, None, &mut OsRandom),
        Err(AaError::Status {
            sw: StatusWord::SECURITY_NOT_SATISFIED
        })
    ));
    // a chip without an AA key
    let mut p = booklet("");
    p.files.insert(LdsFile::Dg(15), dg15.encode());
    let mut none = PlainChannel::new(Emulator::new(p));
    let e = aa::authenticate(&mut none, &dg15, None, &mut OsRandom).unwrap_err();
    assert!(
        matches!(
            e,
            AaError::NotSupported {
                sw: StatusWord::INS_NOT_SUPPORTED
            }
        ),
        "{e}"
    );
}

#[test]
fn profile_key_errors_are_reported() {
    let raw: ProfileToml = toml::from_str(&format!(
        "name = \"x\"\nmrz = \"\"\"\n{MRZ}\n\"\"\"\naa_private_key = {{ hex = \"00\" }}\n"
    ))
    .unwrap();
    let e = Profile::from_toml(raw, Path::new(".")).unwrap_err();
    assert!(e.to_string().contains("profile chip settings"), "{e}");
    let raw: ProfileToml = toml::from_str(&format!(
        "name = \"x\"\nmrz = \"\"\"\n{MRZ}\n\"\"\"\naa_hash = \"SHA-256\"\n"
    ))
    .unwrap();
    assert!(Profile::from_toml(raw, Path::new(".")).is_err());
    let raw: ProfileToml = toml::from_str(&format!(
        "name = \"x\"\nmrz = \"\"\"\n{MRZ}\n\"\"\"\naa_private_key = {{ hex = \"{}\" }}\naa_hash = \"MD5\"\n",
        hex::encode(rsa(1024).private_key_to_der().unwrap())
    ))
    .unwrap();
    let e = Profile::from_toml(raw, Path::new(".")).unwrap_err();
    assert!(format!("{e:?}").contains("MD5"));
}

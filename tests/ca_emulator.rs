//! Chip Authentication between the reader and the emulated chip after a full read
//! (`Session::run_then`): ECDH with AES-128 (MSE:Set AT + GENERAL AUTHENTICATE) and
//! 3DES (MSE:Set KAT, and Set AT + GA when forced) on explicit brainpool parameters,
//! DH with a standardized group after PACE and with X9.42 parameters after BAC, a DG14
//! without ChipAuthenticationInfo (3DES inferred), two keys told apart by keyId; then
//! the failures: a chip whose key does not match its DG14 (a clone) and the wrong keyId
//! are not proven (no panic), and the chip refuses CA outside secure messaging and for
//! unknown keys or protocols.
//!
//! The emulator derives its keys with the same code as the terminal; the byte-exact
//! checks against real chips are in `ca_vectors.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use emrtd::access::ca::{self, CaCommandForm, CaConfig, CaError, CaEvidence};
use emrtd::access::pace::{DomainParams, Element};
use emrtd::access::password::{MrzKey, Password};
use emrtd::apdu::{Command, StatusWord};
use emrtd::crypto::Cipher;
use emrtd::emulator::profile::ProfileToml;
use emrtd::emulator::{Emulator, Profile};
use emrtd::lds::LdsFile;
use emrtd::lds::dg14::Dg14;
use emrtd::lds::security_infos::asn1;
use emrtd::lds::security_infos::oid::DH_PUBLIC_NUMBER;
use emrtd::lds::security_infos::{
    AlgorithmIdentifier, CaProtocol, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo, CipherSuite,
    SecurityInfo, SecurityInfos, SubjectPublicKeyInfo,
};
use emrtd::reader::{NoProgress, ReadOptions, Session};
use emrtd::rng::OsRandom;
use emrtd::sm::SmError;
use openssl::ec::{Asn1Flag, EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;

const MRZ: &str =
    "P<UTOSPECIMEN<<CA<BOOKLET<<<<<<<<<<<<<<<<<<<\nUTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02";

/// A chip authentication key: private scalar/exponent and SubjectPublicKeyInfo.
struct CaKey {
    private: Vec<u8>,
    spki: SubjectPublicKeyInfo,
    ecdh: bool,
}

fn ec_key(nid: Nid, explicit: bool) -> CaKey {
    let mut g = EcGroup::from_curve_name(nid).unwrap();
    if explicit {
        g.set_asn1_flag(Asn1Flag::EXPLICIT_CURVE);
    }
    let k = EcKey::generate(&g).unwrap();
    let private = k.private_key().to_vec();
    let der = PKey::from_ec_key(k).unwrap().public_key_to_der().unwrap();
    let spki = SubjectPublicKeyInfo::decode(&emrtd::tlv::parse(&der).unwrap()).unwrap();
    CaKey {
        private,
        spki,
        ecdh: true,
    }
}

/// A DH key on standardized group `id`, its parameters written either as
/// `standardizedDomainParameters` or as X9.42 `dhpublicnumber` p, g, q.
fn dh_key(id: u32, x942: bool) -> CaKey {
    let params = DomainParams::standardized(id).unwrap();
    let x = params.random_private_key(&mut OsRandom).unwrap();
    let Element::Dh(y) = params.multiply(&params.generator().unwrap(), x.as_bn()).unwrap() else {
        panic!()
    };
    let alg = if x942 {
        let d = params.dh().unwrap();
        let seq = asn1::encode_sequence(&[
            &asn1::encode_unsigned(&d.p().to_vec()),
            &asn1::encode_unsigned(&d.g().to_vec()),
            &asn1::encode_unsigned(&d.q().to_vec()),
        ]);
        AlgorithmIdentifier {
            oid: DH_PUBLIC_NUMBER,
            parameters: Some(seq),
        }
    } else {
        AlgorithmIdentifier::standardized(id)
    };
    CaKey {
        private: x.as_bn().to_vec(),
        spki: SubjectPublicKeyInfo::new(alg, asn1::encode_unsigned(&y.to_vec())),
        ecdh: false,
    }
}

/// DG14 with a ChipAuthenticationInfo (version 1) per key, unless `cipher` is `None`.
fn dg14(keys: &[(&CaKey, Option<u64>)], cipher: Option<CipherSuite>) -> Vec<u8> {
    let mut infos = Vec::new();
    for (k, id) in keys {
        if let Some(c) = cipher {
            infos.push(SecurityInfo::ChipAuthentication(ChipAuthenticationInfo::new(
                CaProtocol {
                    ecdh: k.ecdh,
                    cipher: c,
                },
                1,
                *id,
            )));
        }
        infos.push(SecurityInfo::ChipAuthenticationPublicKey(
            ChipAuthenticationPublicKeyInfo::new(k.ecdh, k.spki.clone(), *id),
        ));
    }
    emrtd::lds::dg14::Dg14::from(SecurityInfos::from_infos(infos)).encode()
}

fn profile(dg14: &[u8], chip_key: &[u8], extra: &str) -> Profile {
    let toml = format!(
        "name = \"ca\"\nmrz = \"\"\"\n{MRZ}\n\"\"\"\nca_private_key = \"{}\"\n{extra}\n[files]\nDG14 = {{ hex = \"{}\" }}\n",
        hex::encode(chip_key),
        hex::encode(dg14)
    );
    let raw: ProfileToml = toml::from_str(&toml).unwrap();
    Profile::from_toml(raw, Path::new(".")).unwrap()
}

struct Outcome {
    ca: Result<CaEvidence, CaError>,
    proof: Option<Result<StatusWord, CaError>>,
    /// DG1's first bytes read under the new keys after the proof.
    dg1: Option<Result<Vec<u8>, String>>,
    access: String,
}

fn read_then_ca(p: Profile, config: CaConfig) -> Outcome {
    let mrz = emrtd::mrz::Mrz::parse(&p.mrz).unwrap();
    let key = Password::Mrz(MrzKey::from_mrz(&mrz).unwrap());
    let mut rng = OsRandom;
    let session = Session::new(Emulator::new(p), key, ReadOptions::default(), &mut rng, None);
    let (dump, mut out) = session
        .run_then(&mut NoProgress, |dump, ch, rng| {
            let infos = Dg14::decode(&dump.files[&LdsFile::Dg(14)])
                .map(SecurityInfos::from)
                .unwrap();
            let ca = ca::authenticate_with(ch, &infos, &config, rng);
            let proof = ca.is_ok().then(|| ca::prove(ch));
            let dg1 = proof.as_ref().map(|_| {
                use emrtd::apdu::CardChannel;
                ch.send(&Command::read_binary_sfi(0x01, 0, 4))
                    .map(|r| r.data)
                    .map_err(|e| e.to_string())
            });
            Outcome {
                ca,
                proof,
                dg1,
                access: String::new(),
            }
        })
        .unwrap();
    out.access = format!(
        "{} {}",
        dump.manifest.access.as_ref().unwrap().protocol,
        dump.manifest.access.as_ref().unwrap().cipher
    );
    out
}

fn assert_proven(o: &Outcome) -> &CaEvidence {
    let ev = o.ca.as_ref().unwrap();
    assert_eq!(o.proof.as_ref().unwrap().as_ref().unwrap(), &StatusWord::OK);
    // the re-keyed session goes on: DG1 is readable under the new keys
    assert_eq!(&o.dg1.as_ref().unwrap().as_ref().unwrap()[..1], &[0x61]);
    ev
}

#[test]
fn ecdh_aes128_explicit_brainpool_after_bac_set_at_ga() {
    let k = ec_key(Nid::BRAINPOOL_P256R1, true);
    let o = read_then_ca(
        profile(&dg14(&[(&k, None)], Some(CipherSuite::Aes128)), &k.private, ""),
        CaConfig::default(),
    );
    assert_eq!(o.access, "BAC 3DES");
    let ev = assert_proven(&o);
    assert_eq!(ev.cipher, Cipher::Aes128);
    assert_eq!(ev.command_form, CaCommandForm::SetAtGeneralAuthenticate);
    assert_eq!(ev.protocol, "id-CA-ECDH-AES-CBC-CMAC-128");
    assert_eq!(ev.key_agreement, "ECDH");
    assert!(!ev.protocol_inferred && !ev.sent_key_id);
    assert_eq!(ev.chip_public_key, k.spki.subject_public_key);
}

#[test]
fn ecdh_3des_set_kat_and_forced_set_at() {
    let k = ec_key(Nid::BRAINPOOL_P256R1, true);
    let d = dg14(&[(&k, None)], Some(CipherSuite::Tdes));
    for form in [
        CaCommandForm::Auto,
        CaCommandForm::SetAtGeneralAuthenticate,
        CaCommandForm::SetKat,
    ] {
        let o = read_then_ca(
            profile(&d, &k.private, ""),
            CaConfig {
                form,
                ..CaConfig::default()
            },
        );
        let ev = assert_proven(&o);
        assert_eq!(ev.cipher, Cipher::Tdes);
        assert_eq!(
            ev.command_form,
            if form == CaCommandForm::SetAtGeneralAuthenticate {
                form
            } else {
                CaCommandForm::SetKat
            }
        );
    }
}

#[test]
fn dh_standardized_group_after_pace() {
    let k = dh_key(0, false);
    let o = read_then_ca(
        profile(
            &dg14(&[(&k, None)], Some(CipherSuite::Aes128)),
            &k.private,
            "[[pace]]\nmapping = \"ECDH-GM\"\ncipher = \"AES-128\"\nparameter_id = 13\n",
        ),
        CaConfig::default(),
    );
    assert_eq!(o.access, "PACE AES-128");
    let ev = assert_proven(&o);
    assert_eq!(ev.key_agreement, "DH");
    assert_eq!(ev.chip_public_key.len(), 128);
}

#[test]
fn dh_x942_parameters_3des_after_bac() {
    let k = dh_key(2, true);
    let o = read_then_ca(
        profile(&dg14(&[(&k, Some(7))], Some(CipherSuite::Tdes)), &k.private, ""),
        CaConfig::default(),
    );
    let ev = assert_proven(&o);
    assert_eq!((ev.key_id, ev.sent_key_id), (Some(7), true));
    assert_eq!(ev.command_form, CaCommandForm::SetKat);
    assert_eq!(ev.chip_public_key.len(), 256);
}

#[test]
fn dg14_without_chip_authentication_info_infers_3des() {
    let k = ec_key(Nid::X9_62_PRIME256V1, true);
    let o = read_then_ca(
        profile(&dg14(&[(&k, None)], None), &k.private, ""),
        CaConfig::default(),
    );
    let ev = assert_proven(&o);
    assert!(ev.protocol_inferred);
    assert_eq!(ev.protocol, "id-CA-ECDH-3DES-CBC-CBC");
    assert_eq!(ev.command_form, CaCommandForm::SetKat);
}

#[test]
fn two_keys_told_apart_by_key_id() {
    let k1 = ec_key(Nid::X9_62_PRIME256V1, false);
    let k2 = ec_key(Nid::BRAINPOOL_P256R1, true);
    let d = dg14(&[(&k1, Some(1)), (&k2, Some(2))], Some(CipherSuite::Aes128));
    // the chip holds key 2
    let o = read_then_ca(
        profile(&d, &k2.private, ""),
        CaConfig {
            key_id: Some(2),
            ..CaConfig::default()
        },
    );
    let ev = assert_proven(&o);
    assert_eq!((ev.key_id, ev.sent_key_id), (Some(2), true));
    // asking for key 1, which this chip's private key does not belong to
    let o = read_then_ca(profile(&d, &k2.private, ""), CaConfig::default());
    assert_eq!(o.ca.as_ref().unwrap().key_id, Some(1));
    assert!(matches!(o.proof, Some(Err(CaError::NotProven(_)))));
    // a keyId the DG14 does not have
    let o = read_then_ca(
        profile(&d, &k2.private, ""),
        CaConfig {
            key_id: Some(3),
            ..CaConfig::default()
        },
    );
    assert!(matches!(o.ca, Err(CaError::NoMatchingKey { key_id: Some(3) })));
}

#[test]
fn clone_whose_key_does_not_match_dg14_is_not_proven() {
    for cipher in [CipherSuite::Aes128, CipherSuite::Tdes] {
        let genuine = ec_key(Nid::BRAINPOOL_P256R1, true);
        let clone = ec_key(Nid::BRAINPOOL_P256R1, true);
        let o = read_then_ca(
            profile(&dg14(&[(&genuine, None)], Some(cipher)), &clone.private, ""),
            CaConfig::default(),
        );
        // the commands under the old keys succeed; the chip then cannot speak the new keys
        assert!(o.ca.is_ok());
        let err = o.proof.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                CaError::NotProven(SmError::ChipAbortedSm { .. } | SmError::MacMismatch { .. })
            ),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("clone"));
        // later commands fail cleanly
        assert!(o.dg1.unwrap().is_err());
    }
}

#[test]
fn chip_refuses_ca_outside_sm_and_for_unknown_keys() {
    let k = ec_key(Nid::BRAINPOOL_P256R1, true);
    let d = dg14(&[(&k, Some(5))], Some(CipherSuite::Aes128));
    let mut emu = Emulator::new(profile(&d, &k.private, ""));
    let oid = CaProtocol {
        ecdh: true,
        cipher: CipherSuite::Aes128,
    }
    .oid();
    let sw = |resp: Vec<u8>| StatusWord::from_bytes(resp[resp.len() - 2], resp[resp.len() - 1]);
    // in plain: security status not satisfied
    let set_at = ca::apdus::mse_set_at(&oid, Some(5)).encode().unwrap();
    assert_eq!(sw(emu.process(&set_at).0), StatusWord::SECURITY_NOT_SATISFIED);
    let kat = ca::apdus::mse_set_kat(&[0x04; 65], None).encode().unwrap();
    assert_eq!(sw(emu.process(&kat).0), StatusWord::SECURITY_NOT_SATISFIED);
    // GENERAL AUTHENTICATE without a CA MSE goes to PACE, which this chip does not offer
    let ga = ca::apdus::general_authenticate(&[0x04; 65]).encode().unwrap();
    assert_eq!(sw(emu.process(&ga).0), StatusWord::INS_NOT_SUPPORTED);
}

#[test]
fn chip_answers_unknown_key_id_and_protocol_under_sm() {
    use emrtd::access::ca::ChipCa;
    use emrtd::access::pace::PrivateKey;
    let k = ec_key(Nid::BRAINPOOL_P256R1, true);
    let infos = Dg14::decode(&dg14(&[(&k, Some(5))], Some(CipherSuite::Aes128)))
        .map(SecurityInfos::from)
        .unwrap();
    let mut chip = ChipCa::new(infos, PrivateKey::from_bytes(&k.private).unwrap());
    let aes = CaProtocol {
        ecdh: true,
        cipher: CipherSuite::Aes128,
    }
    .oid();
    let tdes = CaProtocol {
        ecdh: true,
        cipher: CipherSuite::Tdes,
    }
    .oid();
    let r = chip.process(&ca::apdus::mse_set_at(&aes, Some(6)));
    assert_eq!(r.response.sw, StatusWord::REF_DATA_NOT_FOUND);
    let r = chip.process(&ca::apdus::mse_set_at(&tdes, Some(5)));
    assert_eq!(r.response.sw, StatusWord::REF_DATA_NOT_FOUND);
    let r = chip.process(&ca::apdus::mse_set_at(
        &emrtd::lds::security_infos::oid::ID_PK_ECDH,
        None,
    ));
    assert_eq!(r.response.sw, StatusWord::WRONG_DATA);
    assert!(!chip.pending());
    // a point not on the curve
    assert_eq!(
        chip.process(&ca::apdus::mse_set_at(&aes, Some(5))).response.sw,
        StatusWord::OK
    );
    assert!(chip.pending());
    let r = chip.process(&ca::apdus::general_authenticate(&[0x04; 65]));
    assert_eq!(r.response.sw, StatusWord::WRONG_DATA);
    assert!(r.new_keys.is_none() && !chip.pending());
    // GA without MSE
    let r = chip.process(&ca::apdus::general_authenticate(&[0x04; 65]));
    assert_eq!(r.response.sw, StatusWord::CONDITIONS_NOT_SATISFIED);
    // garbage never panics
    for data in [
        vec![],
        vec![0x91],
        vec![0x91, 0x05, 1, 2],
        vec![0x7C, 0x02, 0x80, 0x00],
    ] {
        for (p2, ins) in [(0xA6, 0x22), (0xA4, 0x22), (0x00, 0x86)] {
            let _ = chip.process(&Command::new(0, ins, 0x41, p2).with_data(data.clone()));
        }
    }
}

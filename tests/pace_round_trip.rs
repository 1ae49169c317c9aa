//! Reader ↔ chip PACE in process (ChipPace behind a tiny Transport adapter), for every
//! mapping × several groups × every cipher, with MRZ and CAN; wrong passwords, tampered
//! chip tokens and tampered CAM data; hostile input to both sides.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod pace_support;

use emrtd::access::pace::{self, ChipPace, DomainParams, PaceConfig, PaceError, PrivateKey};
use emrtd::access::{AccessError, MrzKey, Password};
use emrtd::apdu::{Command, PlainChannel, StatusWord};
use emrtd::lds::security_infos::{
    AlgorithmIdentifier, ChipAuthenticationPublicKeyInfo, CipherSuite, PaceDomainParameterInfo, PaceInfo,
    PaceMapping, PaceProtocol, SecurityInfo, SecurityInfos, SubjectPublicKeyInfo,
};
use emrtd::rng::{OsRandom, RandomSource, ScriptedRandom};
use pace_support::*;
use proptest::prelude::*;

fn mrz() -> Password {
    Password::Mrz(MrzKey::new("T22000129", "640812", "101031").unwrap())
}

fn can() -> Password {
    Password::can("123456").unwrap()
}

fn card_access(mapping: PaceMapping, cipher: CipherSuite, id: u32) -> SecurityInfos {
    SecurityInfos::from_infos(vec![SecurityInfo::Pace(PaceInfo::new(
        PaceProtocol { mapping, cipher },
        Some(id),
    ))])
}

/// A chip static key for PACE-CAM and the EF.CardSecurity SecurityInfos announcing it.
fn cam_key(id: u32) -> (PrivateKey, SecurityInfos) {
    let params = DomainParams::standardized(id).unwrap();
    let sk = params.random_private_key(&mut OsRandom).unwrap();
    let pk = params
        .encode(&params.multiply(&params.generator().unwrap(), sk.as_bn()).unwrap())
        .unwrap();
    let info = ChipAuthenticationPublicKeyInfo::new(
        true,
        SubjectPublicKeyInfo::new(AlgorithmIdentifier::standardized(id), pk),
        Some(1),
    );
    (
        sk,
        SecurityInfos::from_infos(vec![SecurityInfo::ChipAuthenticationPublicKey(info)]),
    )
}

struct Run {
    result: Result<pace::PaceOutcome, AccessError>,
    card: ChipCard,
}

fn run(
    ca: &SecurityInfos,
    chip_pw: Password,
    reader_pw: &Password,
    cam: Option<PrivateKey>,
    tamper: Option<fn(&mut [u8])>,
) -> Run {
    let chip = ChipPace::new(ca.clone(), vec![chip_pw], cam);
    let mut card = ChipCard::new(chip, Box::new(OsRandom));
    card.tamper_last = tamper;
    let result = {
        let mut ch = PlainChannel::new(&mut card);
        pace::authenticate(&mut ch, ca, reader_pw, &PaceConfig::default(), &mut OsRandom)
    };
    Run { result, card }
}

const CIPHERS: [CipherSuite; 4] = [
    CipherSuite::Tdes,
    CipherSuite::Aes128,
    CipherSuite::Aes192,
    CipherSuite::Aes256,
];

#[test]
fn every_mapping_group_and_cipher() {
    let ec_groups = [9u32, 12, 13, 18];
    let dh_groups = [0u32, 2];
    let mut runs = 0;
    for mapping in [
        PaceMapping::EcdhGm,
        PaceMapping::EcdhIm,
        PaceMapping::EcdhCam,
        PaceMapping::DhGm,
        PaceMapping::DhIm,
    ] {
        let groups: &[u32] = if mapping.is_ec() { &ec_groups } else { &dh_groups };
        for &id in groups {
            for (i, &cipher) in CIPHERS.iter().enumerate() {
                if mapping == PaceMapping::EcdhCam && cipher == CipherSuite::Tdes {
                    continue;
                }
                let password = if (i + id as usize).is_multiple_of(2) {
                    mrz()
                } else {
                    can()
                };
                let ca = card_access(mapping, cipher, id);
                let (cam, card_security) = if mapping == PaceMapping::EcdhCam {
                    let (k, cs) = cam_key(id);
                    (Some(k), Some(cs))
                } else {
                    (None, None)
                };
                let r = run(&ca, password.clone(), &password, cam, None);
                let out = r
                    .result
                    .unwrap_or_else(|e| panic!("{mapping:?} {id} {cipher:?}: {e}"));
                let chip_keys = r.card.established.as_ref().unwrap();
                assert_eq!(chip_keys.ks_enc(), out.keys.ks_enc());
                assert_eq!(chip_keys.ks_mac(), out.keys.ks_mac());
                assert_eq!(out.mapping, mapping);
                assert_eq!(out.password, password.kind());
                if let Some(cs) = card_security {
                    assert_eq!(out.verify_cam(&cs).unwrap().key_id, Some(1));
                }
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 3 * 4 * 4 - 4 + 2 * 2 * 4);
}

#[test]
fn explicit_domain_parameters_round_trip() {
    // the old German test card's PACEDomainParameterInfo (brainpoolP256r1 field with its own
    // generator), used by both sides for ECDH-GM and ECDH-IM
    let old = SecurityInfos::decode(&read(
        "lds/openpace_cardaccess_samples/ef_cardaccess_old_testcard.bin",
    ))
    .unwrap();
    let dp = old.pace_domain_parameter_infos().next().unwrap().clone();
    for mapping in [PaceMapping::EcdhGm, PaceMapping::EcdhIm] {
        let info = PaceInfo::new(
            PaceProtocol {
                mapping,
                cipher: CipherSuite::Aes128,
            },
            Some(42),
        );
        let dpi = PaceDomainParameterInfo::new(mapping, dp.domain_parameter.clone(), Some(42));
        let ca = SecurityInfos::from_infos(vec![
            SecurityInfo::Pace(info),
            SecurityInfo::PaceDomainParameter(dpi),
        ]);
        let r = run(&ca, can(), &can(), None, None);
        let out = r.result.unwrap();
        assert!(out.explicit_parameters);
        assert_eq!(out.parameter_id, Some(42));
        assert_eq!(r.card.established.unwrap().ks_enc(), out.keys.ks_enc());
    }
}

#[test]
fn ecdh_im_on_p224_is_refused_up_front() {
    // P-224 has p ≡ 1 mod 4: the point encoding does not apply
    let ca = card_access(PaceMapping::EcdhIm, CipherSuite::Aes128, 10);
    let r = run(&ca, mrz(), &mrz(), None, None);
    assert!(matches!(
        r.result,
        Err(AccessError::Pace(PaceError::MappingUnsupported { .. }))
    ));
    assert!(r.card.responses.is_empty(), "nothing sent");
}

#[test]
fn wrong_password_is_probably_wrong() {
    for (chip_pw, reader_pw) in [
        (
            mrz(),
            Password::Mrz(MrzKey::new("T22000129", "640812", "101030").unwrap()),
        ),
        (can(), Password::can("123457").unwrap()),
    ] {
        for mapping in [PaceMapping::EcdhGm, PaceMapping::DhIm] {
            let ca = card_access(mapping, CipherSuite::Aes128, if mapping.is_ec() { 13 } else { 0 });
            let r = run(&ca, chip_pw.clone(), &reader_pw, None, None);
            match r.result {
                Err(e @ AccessError::Refused { sw }) => {
                    assert_eq!(sw, StatusWord::AUTH_FAILED);
                    assert!(e.hint().unwrap().contains("probably wrong"), "{:?}", e.hint());
                }
                other => panic!("{other:?}"),
            }
            assert!(r.card.established.is_none());
        }
    }
}

#[test]
fn password_the_chip_does_not_have() {
    let ca = card_access(PaceMapping::EcdhGm, CipherSuite::Aes128, 13);
    let r = run(&ca, mrz(), &can(), None, None);
    assert!(matches!(
        r.result,
        Err(AccessError::Status { ins: 0x22, sw }) if sw == StatusWord::REF_DATA_NOT_FOUND
    ));
}

fn flip_token(resp: &mut [u8]) {
    // 7C 0A 86 08 <token>: flip the token's first byte
    resp[4] ^= 0x01;
}

fn flip_cam_data(resp: &mut [u8]) {
    let n = resp.len();
    resp[n - 3] ^= 0x01;
}

#[test]
fn tampered_chip_token_is_a_chip_authentication_failure() {
    for cipher in [CipherSuite::Tdes, CipherSuite::Aes256] {
        let ca = card_access(PaceMapping::EcdhGm, cipher, 13);
        let r = run(&ca, mrz(), &mrz(), None, Some(flip_token));
        match r.result {
            Err(e @ AccessError::BadChipCryptogram { .. }) => {
                assert!(!e.hint().unwrap().contains("probably wrong"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn tampered_cam_data_fails_cam() {
    let ca = card_access(PaceMapping::EcdhCam, CipherSuite::Aes128, 13);
    let (k, cs) = cam_key(13);
    let r = run(&ca, mrz(), &mrz(), Some(k), Some(flip_cam_data));
    match r.result {
        Ok(out) => assert!(out.verify_cam(&cs).is_err()),
        Err(e) => assert!(matches!(e, AccessError::Pace(PaceError::CamDataMalformed)), "{e}"),
    }
    // a chip with a different static key than EF.CardSecurity announces
    let (k_other, _) = cam_key(13);
    let r = run(&ca, mrz(), &mrz(), Some(k_other), None);
    let out = r.result.unwrap();
    assert!(matches!(
        out.verify_cam(&cs),
        Err(AccessError::Pace(PaceError::CamMismatch))
    ));
}

#[test]
fn chip_side_refusals() {
    let ca = card_access(PaceMapping::EcdhCam, CipherSuite::Aes128, 13);
    let mut chip = ChipPace::new(ca, vec![mrz()], None);
    let mut rng = OsRandom;
    let ga1 = Command::decode(&h("10860000027C0000")).unwrap();
    assert_eq!(
        chip.process(&ga1, &mut rng).response.sw,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    // CAM without a chip key
    let mse_cam = Command::decode(&h("0022C1A40F800A04007F00070202040602830101")).unwrap();
    assert_eq!(
        chip.process(&mse_cam, &mut rng).response.sw,
        StatusWord::FUNC_NOT_SUPPORTED
    );
    // unknown protocol, wrong parameter ID
    let mse_gm = Command::decode(&h("0022C1A40F800A04007F00070202040202830101")).unwrap();
    assert_eq!(
        chip.process(&mse_gm, &mut rng).response.sw,
        StatusWord::REF_DATA_NOT_FOUND
    );
    let mse_id = Command::decode(&h("0022C1A412800A04007F0007020204060283010184010C")).unwrap();
    assert_eq!(
        chip.process(&mse_id, &mut rng).response.sw,
        StatusWord::REF_DATA_NOT_FOUND
    );
    assert!(!chip.in_progress());
    let other = Command::decode(&h("00B0000004")).unwrap();
    assert_eq!(
        chip.process(&other, &mut rng).response.sw,
        StatusWord::INS_NOT_SUPPORTED
    );
}

#[test]
fn chip_rejects_unchained_steps_and_invalid_points() {
    let ca = card_access(PaceMapping::EcdhGm, CipherSuite::Aes128, 13);
    let mut chip = ChipPace::new(ca, vec![mrz()], None);
    let mut rng = ScriptedRandom::new(Vec::<Vec<u8>>::new());
    let mse = Command::decode(&h("0022C1A40F800A04007F00070202040202830101")).unwrap();
    assert!(chip.process(&mse, &mut rng).response.is_ok());
    let unchained = Command::decode(&h("00860000027C0000")).unwrap();
    assert_eq!(
        chip.process(&unchained, &mut rng).response.sw,
        StatusWord::WRONG_DATA
    );
    assert!(chip.process(&mse, &mut rng).response.is_ok());
    assert!(
        chip.process(&Command::decode(&h("10860000027C0000")).unwrap(), &mut rng)
            .response
            .is_ok()
    );
    // a mapping key off the curve
    let v = json("protocol/pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json");
    let mut cmd = hx(&v["apdus"][2], "capdu");
    let n = cmd.len();
    cmd[n - 2] ^= 1;
    assert_eq!(
        chip.process(&Command::decode(&cmd).unwrap(), &mut rng)
            .response
            .sw,
        StatusWord::WRONG_DATA
    );
    assert!(!chip.in_progress());
}

#[test]
fn reader_rejects_the_chip_echoing_its_key() {
    // a "chip" that sends the terminal's own ephemeral key back
    let v = json("protocol/pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json");
    let e = &v["expected"];
    let ca = SecurityInfos::decode(&hx(&v, "ef_cardaccess")).unwrap();
    let a = &v["apdus"];
    let mut echo = h("7C438441");
    echo.extend_from_slice(&hx(e, "eph_pcd_public"));
    echo.extend_from_slice(&h("9000"));
    let mut t = emrtd::transport::replay::ScriptedTransport::new()
        .expect(hx(&a[0], "capdu"), hx(&a[0], "rapdu"))
        .expect(hx(&a[1], "capdu"), hx(&a[1], "rapdu"))
        .expect(hx(&a[2], "capdu"), hx(&a[2], "rapdu"))
        .expect(hx(&a[3], "capdu"), echo);
    let mut rng = ScriptedRandom::new([hx(e, "map_pcd_private"), hx(e, "eph_pcd_private")]);
    let mut ch = PlainChannel::new(&mut t);
    let r = pace::authenticate(&mut ch, &ca, &mrz(), &PaceConfig::default(), &mut rng);
    assert!(
        matches!(r, Err(AccessError::Pace(PaceError::EphemeralKeyReused))),
        "{r:?}"
    );
}

#[test]
fn random_private_keys_are_below_the_order() {
    let p521 = DomainParams::standardized(18).unwrap();
    // 66 bytes of FF: masked to 521 bits (2^521 - 1), still ≥ n, so redrawn; then 66 bytes of 01
    let mut rng = ScriptedRandom::new([vec![0xFF; 66], vec![0x01; 66]]);
    let k = p521.random_private_key(&mut rng).unwrap();
    assert_eq!(k.as_bn().to_vec(), vec![0x01; 66]);
    assert!(rng.mismatches.is_empty() && rng.remaining() == 0);
    let bp = DomainParams::standardized(13).unwrap();
    let mut rng = ScriptedRandom::new([vec![0x00; 32], vec![0x42; 32]]);
    let k = bp.random_private_key(&mut rng).unwrap();
    assert_eq!(k.as_bn().to_vec(), vec![0x42; 32]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The reader never panics whatever the chip answers.
    #[test]
    fn reader_survives_hostile_chip(responses in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 5),
                                    keep in 0usize..5) {
        let v = json("protocol/pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json");
        let ca = SecurityInfos::decode(&hx(&v, "ef_cardaccess")).unwrap();
        let mut t = emrtd::transport::replay::ScriptedTransport::new();
        for (i, r) in responses.iter().enumerate() {
            // keep the first `keep` genuine responses so later steps are reached
            let resp = if i < keep { hx(&v["apdus"][i], "rapdu") } else { let mut r = r.clone(); r.extend_from_slice(&[0x90, 0x00]); r };
            t = t.any(resp);
        }
        let e = &v["expected"];
        let mut rng = ScriptedRandom::new([hx(e, "map_pcd_private"), hx(e, "eph_pcd_private")]);
        let mut ch = PlainChannel::new(&mut t);
        let _ = pace::authenticate(&mut ch, &ca, &mrz(), &PaceConfig::default(), &mut rng);
    }

    /// The chip never panics whatever the terminal sends, in any state.
    #[test]
    fn chip_survives_hostile_terminal(datas in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..90), 4),
                                      steps_ok in 0usize..4, dh in any::<bool>()) {
        let (mapping, id) = if dh { (PaceMapping::DhGm, 0) } else { (PaceMapping::EcdhCam, 13) };
        let ca = card_access(mapping, CipherSuite::Aes128, id);
        let (k, _) = cam_key(13);
        let mut chip = ChipPace::new(ca.clone(), vec![mrz()], Some(k));
        let mut rng = OsRandom;
        let oid = PaceProtocol { mapping, cipher: CipherSuite::Aes128 };
        let mse = pace::apdus::mse_set_at(&oid.oid(), 1, None);
        prop_assert!(chip.process(&mse, &mut rng).response.is_ok());
        prop_assert!(chip.process(&pace::apdus::general_authenticate(&[], false), &mut rng).response.is_ok());
        for (i, d) in datas.iter().enumerate() {
            let cla = if i + 1 == datas.len() { 0x00 } else { 0x10 };
            let data = if i < steps_ok { emrtd::tlv::encode(0x7C, &emrtd::tlv::encode(0x81 + 2 * i as u32, d)) } else { d.clone() };
            let mut cmd = Command::new(cla, 0x86, 0, 0).with_le(256);
            if !data.is_empty() { cmd = cmd.with_data(data); }
            let _ = chip.process(&cmd, &mut rng);
        }
        let _ = OsRandom.bytes(1);
    }
}

/// A PACE-CAM key on standardized parameters `id` published with `key_id`.
fn cam_key_with_id(id: u32, key_id: u64) -> (PrivateKey, SecurityInfo) {
    let (sk, infos) = cam_key(id);
    let info = infos.chip_authentication_public_keys().next().unwrap().clone();
    let info = ChipAuthenticationPublicKeyInfo::new(true, info.public_key.clone(), Some(key_id));
    (sk, SecurityInfo::ChipAuthenticationPublicKey(info))
}

/// PACE-CAM is checked against one key: the one whose keyId is the PACEInfo's
/// parameterId (BSI TR-03110-3 A.1.1.1; gmrtd PR #447), else the only key on the curve.
/// A proof made with another key of EF.CardSecurity fails, and several keys with none
/// named by the parameterId is an error, whichever of them the chip used.
#[test]
fn cam_key_is_the_one_the_parameter_id_names() {
    let ca = card_access(PaceMapping::EcdhCam, CipherSuite::Aes128, 13);
    let cam_run = |chip_key: PrivateKey| run(&ca, mrz(), &mrz(), Some(chip_key), None).result.unwrap();
    // keyId 13 (= parameterId) and keyId 1 on the same curve, keyId 1 listed first
    let (k13, i13) = cam_key_with_id(13, 13);
    let (k1, i1) = cam_key_with_id(13, 1);
    let cs = SecurityInfos::from_infos(vec![i1.clone(), i13.clone()]);
    assert_eq!(cam_run(k13).verify_cam(&cs).unwrap().key_id, Some(13));
    // the chip proves with keyId 1's key: also signed, but not the CAM key
    assert!(matches!(
        cam_run(k1).verify_cam(&cs),
        Err(AccessError::Pace(PaceError::CamMismatch))
    ));
    // two keys, neither named by the parameterId: no key can be tied to the proof
    let (k2, i2) = cam_key_with_id(13, 2);
    let cs = SecurityInfos::from_infos(vec![i1, i2]);
    assert!(matches!(
        cam_run(k2).verify_cam(&cs),
        Err(AccessError::Pace(PaceError::CamKeyAmbiguous {
            count: 2,
            parameter_id: Some(13)
        }))
    ));
    // a single key on the curve with another keyId is the CAM key
    let (k7, i7) = cam_key_with_id(13, 7);
    let cs = SecurityInfos::from_infos(vec![i7]);
    assert_eq!(cam_run(k7).verify_cam(&cs).unwrap().key_id, Some(7));
}

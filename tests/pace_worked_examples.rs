//! PACE through the real code paths against the worked examples, byte for byte:
//! Doc 9303 Part 11 App. G.1 (ECDH-GM), G.2 (DH-GM), H.1 (ECDH-IM), H.2 (DH-IM), App. I
//! (PACE-CAM), and the BSI EAC worked example (ECDH and DH, PIN). The reader runs over a
//! ScriptedTransport with the terminal's randomness injected and must send every command
//! of the example; the chip side, with the chip's randomness injected, must give the
//! example's responses.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod pace_support;

use emrtd::access::pace::{self, ChipPace, PaceConfig, ParameterIdInMse, PrivateKey};
use emrtd::access::{AccessError, MrzKey, Password};
use emrtd::apdu::{Command, PlainChannel};
use emrtd::crypto::Cipher;
use emrtd::lds::security_infos::{PaceMapping, SecurityInfos};
use emrtd::rng::ScriptedRandom;
use emrtd::tlv;
use emrtd::transport::replay::ScriptedTransport;
use pace_support::*;
use serde_json::Value;

const G1: &str = "protocol/pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json";
const G2: &str = "protocol/pace_dh_gm_1024_160_doc9303_g2.json";
const H1: &str = "protocol/pace_ecdh_im_brainpoolp256r1_doc9303_h1.json";
const H2: &str = "protocol/pace_dh_im_1024_160_doc9303_h2.json";
const APP_I: &str = "protocol/pace_cam_ecdh_brainpoolp256r1_doc9303_appendix_i.json";

fn mrz(v: &Value) -> Password {
    let i = &v["inputs"];
    Password::Mrz(
        MrzKey::new(
            i["document_number"].as_str().unwrap(),
            i["date_of_birth"].as_str().unwrap(),
            i["date_of_expiry"].as_str().unwrap(),
        )
        .unwrap(),
    )
}

fn script(pairs: &[(Vec<u8>, Vec<u8>)]) -> ScriptedTransport {
    pairs
        .iter()
        .fold(ScriptedTransport::new(), |t, (c, r)| t.expect(c, r))
}

fn pairs(apdus: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    apdus
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (hx(a, "capdu"), a["rapdu"].as_str().map(h).unwrap_or_default()))
        .collect()
}

fn run_reader(
    transport: &mut ScriptedTransport,
    card_access: &SecurityInfos,
    password: &Password,
    config: &PaceConfig,
    rng: &mut ScriptedRandom,
) -> Result<pace::PaceOutcome, AccessError> {
    let mut ch = PlainChannel::new(transport);
    pace::authenticate(&mut ch, card_access, password, config, rng)
}

fn assert_keys(out: &pace::PaceOutcome, e: &Value) {
    assert_eq!(up(out.keys.ks_enc()), e["ks_enc"].as_str().unwrap());
    assert_eq!(up(out.keys.ks_mac()), e["ks_mac"].as_str().unwrap());
    assert_eq!(out.keys.ssc().value(), 0);
}

/// Feed commands to the chip and compare its responses.
fn chip_replays(
    chip: &mut ChipPace,
    rng: &mut ScriptedRandom,
    steps: &[(Vec<u8>, Vec<u8>)],
) -> Option<emrtd::sm::SessionKeys> {
    let mut keys = None;
    for (i, (c, r)) in steps.iter().enumerate() {
        let reply = chip.process(&Command::decode(c).unwrap(), rng);
        assert_eq!(up(&reply.response.to_bytes()), up(r), "chip response {i}");
        keys = reply.established.or(keys);
    }
    keys
}

#[test]
fn g1_reader_icao_form_and_gmrtd_form() {
    let v = json(G1);
    let e = &v["expected"];
    let ca = SecurityInfos::decode(&hx(&v, "ef_cardaccess")).unwrap();
    let steps = pairs(&v["apdus"]);
    let password = mrz(&v);

    // ICAO form: one PACEInfo, so no parameter ID in MSE:Set AT
    let mut t = script(&steps);
    let mut rng = ScriptedRandom::new([hx(e, "map_pcd_private"), hx(e, "eph_pcd_private")]);
    let out = run_reader(&mut t, &ca, &password, &PaceConfig::default(), &mut rng).unwrap();
    assert_keys(&out, e);
    assert_eq!(t.remaining(), 0);
    assert!(rng.mismatches.is_empty() && rng.remaining() == 0);
    assert_eq!(out.mapping, PaceMapping::EcdhGm);
    assert_eq!(out.cipher, Cipher::Aes128);
    assert_eq!(out.parameter_id, Some(13));
    assert_eq!(out.password, "MRZ");
    assert_eq!(out.protocol_oid.to_string(), "0.4.0.127.0.7.2.2.4.2.2");
    assert!(!out.sent_parameter_id && out.cam.is_none());
    assert_eq!(
        up(&out.chip_ephemeral_public_key),
        e["eph_picc_public"].as_str().unwrap()
    );

    // gmrtd form: 84 0D
    let mut steps_alt = steps.clone();
    steps_alt[0].0 = h(v["apdus"][0]["capdu_alt_gmrtd"].as_str().unwrap());
    let mut t = script(&steps_alt);
    let mut rng = ScriptedRandom::new([hx(e, "map_pcd_private"), hx(e, "eph_pcd_private")]);
    let config = PaceConfig {
        parameter_id_in_mse: ParameterIdInMse::Always,
        ..PaceConfig::default()
    };
    let out = run_reader(&mut t, &ca, &password, &config, &mut rng).unwrap();
    assert_keys(&out, e);
    assert!(out.sent_parameter_id);
}

#[test]
fn g1_chip_side_both_mse_forms() {
    let v = json(G1);
    let e = &v["expected"];
    let ca = SecurityInfos::decode(&hx(&v, "ef_cardaccess")).unwrap();
    let mut steps = pairs(&v["apdus"]);
    for alt in [false, true] {
        if alt {
            steps[0].0 = h(v["apdus"][0]["capdu_alt_gmrtd"].as_str().unwrap());
        }
        let mut chip = ChipPace::new(ca.clone(), vec![mrz(&v)], None);
        let mut rng = ScriptedRandom::new([
            hx(e, "nonce_s"),
            hx(e, "map_picc_private"),
            hx(e, "eph_picc_private"),
        ]);
        let keys = chip_replays(&mut chip, &mut rng, &steps).unwrap();
        assert_eq!(up(keys.ks_enc()), e["ks_enc"].as_str().unwrap());
        assert_eq!(up(keys.ks_mac()), e["ks_mac"].as_str().unwrap());
        assert!(rng.mismatches.is_empty());
    }
}

#[test]
fn g2_reader_and_chip() {
    let v = json(G2);
    let e = &v["expected"];
    let ca = SecurityInfos::decode(&hx(&v, "ef_cardaccess")).unwrap();
    let mut steps = pairs(&v["apdus"]);
    // the example prints the last response without its status word
    steps[4].1.extend_from_slice(&[0x90, 0x00]);
    let mut t = script(&steps);
    let mut rng = ScriptedRandom::new([hx(e, "map_pcd_private"), hx(e, "eph_pcd_private")]);
    let out = run_reader(&mut t, &ca, &mrz(&v), &PaceConfig::default(), &mut rng).unwrap();
    assert_keys(&out, e);
    assert_eq!(out.mapping, PaceMapping::DhGm);
    assert_eq!(out.parameter_id, Some(0));
    assert!(rng.mismatches.is_empty());

    // chip: all responses but the last are exact; the example's last response also
    // carries an EAC CAR (87), which an ICAO chip does not send — the token must match
    let mut chip = ChipPace::new(ca, vec![mrz(&v)], None);
    let mut rng = ScriptedRandom::new([
        hx(e, "nonce_s"),
        hx(e, "map_picc_private"),
        hx(e, "eph_picc_private"),
    ]);
    chip_replays(&mut chip, &mut rng, &steps[..4]);
    let last = chip.process(&Command::decode(&steps[4].0).unwrap(), &mut rng);
    assert_eq!(
        up(&last.response.to_bytes()),
        format!("7C0A8608{}9000", e["t_picc"].as_str().unwrap())
    );
    assert_eq!(
        up(last.established.unwrap().ks_enc()),
        e["ks_enc"].as_str().unwrap()
    );
}

/// H.1 / H.2 give password "123456" (a CAN-style password, K_π = KDF("123456", 3)) while
/// the reconstructed MSE:Set AT names the MRZ (83 01): the reader sends 83 02 for a CAN,
/// everything after MSE:Set AT is compared byte for byte.
fn im_reader(file: &str, eph_pcd_private: Vec<u8>, ga2_response: &str) {
    let v = json(file);
    let e = &v["expected"];
    let oid = v["domain_parameters"]["protocol_oid"].as_str().unwrap();
    let id = v["domain_parameters"]["standardized_parameter_id"]
        .as_u64()
        .unwrap() as u32;
    let protocol = emrtd::lds::security_infos::PaceProtocol::from_oid(&oid.parse().unwrap()).unwrap();
    let ca = SecurityInfos::from_infos(vec![emrtd::lds::security_infos::SecurityInfo::Pace(
        emrtd::lds::security_infos::PaceInfo::new(protocol, Some(id)),
    )]);
    let a = &v["apdus_reconstructed"];
    let mut t = ScriptedTransport::new().any(h("9000"));
    t = t.expect(hx(&a[1], "capdu"), hx(&a[1], "rapdu"));
    t = t.expect(hx(&a[2], "capdu"), h(ga2_response));
    for step in [&a[3], &a[4]] {
        let r = step["rapdu"].as_str().unwrap();
        t = t.expect(hx(step, "capdu"), h(r));
    }
    let mut rng = ScriptedRandom::new([hx(e, "nonce_t"), eph_pcd_private]);
    let password = Password::can(e["password"].as_str().unwrap()).unwrap();
    let out = run_reader(&mut t, &ca, &password, &PaceConfig::default(), &mut rng).unwrap();
    assert_keys(&out, e);
    assert!(rng.mismatches.is_empty());
    let mse = a[0]["capdu"].as_str().unwrap().replace("830101", "830102");
    assert_eq!(up(&t.sent[0]), mse);
    assert_eq!(t.remaining(), 0);
}

#[test]
fn h1_reader_ecdh_integrated_mapping() {
    let v = json(H1);
    let sk = hx(&v["expected"], "eph_pcd_private");
    // the corroborating source answers the mapping step with a bare 9000; chips send 7C00
    im_reader(H1, sk.clone(), "9000");
    im_reader(H1, sk, "7C009000");
}

#[test]
fn h2_reader_dh_integrated_mapping() {
    let v = json(H2);
    let params = pace::DomainParams::standardized(0).unwrap();
    let q = params.order();
    let sk = mod_reduce(&hx(&v["expected"], "eph_pcd_private"), q, 20);
    im_reader(H2, sk, "7C009000");
}

#[test]
fn h1_h2_chip_side_nonce_and_mapping() {
    for file in [H1, H2] {
        let v = json(file);
        let e = &v["expected"];
        let a = &v["apdus_reconstructed"];
        let oid = v["domain_parameters"]["protocol_oid"].as_str().unwrap();
        let id = v["domain_parameters"]["standardized_parameter_id"]
            .as_u64()
            .unwrap() as u32;
        let protocol = emrtd::lds::security_infos::PaceProtocol::from_oid(&oid.parse().unwrap()).unwrap();
        let ca = SecurityInfos::from_infos(vec![emrtd::lds::security_infos::SecurityInfo::Pace(
            emrtd::lds::security_infos::PaceInfo::new(protocol, Some(id)),
        )]);
        let password = Password::can("123456").unwrap();
        let mut chip = ChipPace::new(ca, vec![password], None);
        let mut rng = ScriptedRandom::new([hx(e, "nonce_s")]);
        let mse = a[0]["capdu"].as_str().unwrap().replace("830101", "830102");
        let steps = vec![
            (h(&mse), h("9000")),
            (hx(&a[1], "capdu"), hx(&a[1], "rapdu")),
            (hx(&a[2], "capdu"), h("7C009000")),
        ];
        chip_replays(&mut chip, &mut rng, &steps);
        // the chip's ephemeral key is not published: GA 3 is answered with a fresh key
        let reply = chip.process(&Command::decode(&hx(&a[3], "capdu")).unwrap(), &mut rng);
        assert!(reply.response.is_ok(), "{file}");
        // the example's terminal token does not fit the chip's fresh key: 6300
        let reply = chip.process(&Command::decode(&hx(&a[4], "capdu")).unwrap(), &mut rng);
        assert_eq!(up(&reply.response.to_bytes()), "6300");
    }
}

#[test]
fn app_i_reader_pace_cam() {
    let v = json(APP_I);
    let e = &v["expected"];
    let steps = pairs(&v["apdus_reconstructed"]);
    let protocol = emrtd::lds::security_infos::PaceProtocol::from_oid(
        &v["domain_parameters"]["protocol_oid"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    )
    .unwrap();
    let ca = SecurityInfos::from_infos(vec![emrtd::lds::security_infos::SecurityInfo::Pace(
        emrtd::lds::security_infos::PaceInfo::new(protocol, Some(13)),
    )]);
    let mut t = script(&steps);
    let mut rng = ScriptedRandom::new([hx(e, "map_pcd_private"), hx(e, "eph_pcd_private")]);
    let out = run_reader(&mut t, &ca, &mrz(&v), &PaceConfig::default(), &mut rng).unwrap();
    assert_keys(&out, e);
    assert_eq!(out.mapping, PaceMapping::EcdhCam);
    let card_security =
        SecurityInfos::decode(&tlv::encode(0x31, &hx(e, "chip_authentication_public_key_info"))).unwrap();
    let evidence = out.verify_cam(&card_security).unwrap();
    assert_eq!(evidence.key_id, Some(13));
    assert_eq!(
        up(&evidence.chip_public_key),
        e["chip_static_public_pk_ic"].as_str().unwrap()
    );
    assert_eq!(
        up(&evidence.mapping_public_key),
        e["map_picc_public"].as_str().unwrap()
    );

    // another chip's key in EF.CardSecurity: CAM must fail
    let other = pace::DomainParams::standardized(13).unwrap();
    let k = PrivateKey::from_bytes(&[0x42; 32]).unwrap();
    let pk = other
        .encode(&other.multiply(&other.generator().unwrap(), k.as_bn()).unwrap())
        .unwrap();
    let mut info = hx(e, "chip_authentication_public_key_info");
    let at = info.len() - 3 - 65;
    info[at..at + 65].copy_from_slice(&pk);
    let wrong = SecurityInfos::decode(&tlv::encode(0x31, &info)).unwrap();
    assert!(matches!(
        out.verify_cam(&wrong),
        Err(AccessError::Pace(pace::PaceError::CamMismatch))
    ));
    assert!(matches!(
        out.verify_cam(&SecurityInfos::default()),
        Err(AccessError::Pace(pace::PaceError::CamNoPublicKey))
    ));
}

#[test]
fn app_i_tampered_chip_authentication_data_fails_cam() {
    let v = json(APP_I);
    let e = &v["expected"];
    let mut steps = pairs(&v["apdus_reconstructed"]);
    let last = steps[4].1.len() - 3;
    steps[4].1[last] ^= 0x01; // last byte of A_IC
    let protocol = emrtd::lds::security_infos::PaceProtocol::from_oid(
        &v["domain_parameters"]["protocol_oid"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    )
    .unwrap();
    let ca = SecurityInfos::from_infos(vec![emrtd::lds::security_infos::SecurityInfo::Pace(
        emrtd::lds::security_infos::PaceInfo::new(protocol, Some(13)),
    )]);
    let mut t = script(&steps);
    let mut rng = ScriptedRandom::new([hx(e, "map_pcd_private"), hx(e, "eph_pcd_private")]);
    let card_security =
        SecurityInfos::decode(&tlv::encode(0x31, &hx(e, "chip_authentication_public_key_info"))).unwrap();
    match run_reader(&mut t, &ca, &mrz(&v), &PaceConfig::default(), &mut rng) {
        Ok(out) => assert!(out.verify_cam(&card_security).is_err()),
        Err(err) => assert!(
            matches!(err, AccessError::Pace(pace::PaceError::CamDataMalformed)),
            "{err}"
        ),
    }
}

/// App. I chip side: SK_IC = SK_Map,IC · CA_IC⁻¹ mod n (derived from the example), checked
/// against PK_IC; GA 1 and GA 2 responses exact; then a full run with our reader, whose
/// commands are the example's up to the token, and CAM verifies with the example's key.
#[test]
fn app_i_chip_side() {
    let v = json(APP_I);
    let e = &v["expected"];
    let params = pace::DomainParams::standardized(13).unwrap();
    let n = params.order();
    let mut ctx = openssl::bn::BigNumContext::new().unwrap();
    let ca_ic = openssl::bn::BigNum::from_slice(&hx(e, "chip_auth_data_ca_ic")).unwrap();
    let mut inv = openssl::bn::BigNum::new().unwrap();
    inv.mod_inverse(&ca_ic, n, &mut ctx).unwrap();
    let sk_map = openssl::bn::BigNum::from_slice(&hx(e, "map_picc_private")).unwrap();
    let mut sk_ic = openssl::bn::BigNum::new().unwrap();
    sk_ic.mod_mul(&sk_map, &inv, n, &mut ctx).unwrap();
    let sk_ic = PrivateKey::from_bytes(&sk_ic.to_vec()).unwrap();
    let pk_ic = params
        .encode(
            &params
                .multiply(&params.generator().unwrap(), sk_ic.as_bn())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(up(&pk_ic), e["chip_static_public_pk_ic"].as_str().unwrap());

    let steps = pairs(&v["apdus_reconstructed"]);
    let protocol = emrtd::lds::security_infos::PaceProtocol::from_oid(
        &v["domain_parameters"]["protocol_oid"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    )
    .unwrap();
    let ca = SecurityInfos::from_infos(vec![emrtd::lds::security_infos::SecurityInfo::Pace(
        emrtd::lds::security_infos::PaceInfo::new(protocol, Some(13)),
    )]);
    let mut chip = ChipPace::new(ca.clone(), vec![mrz(&v)], Some(sk_ic));
    let mut rng = ScriptedRandom::new([hx(e, "nonce_s"), hx(e, "map_picc_private")]);
    chip_replays(&mut chip, &mut rng, &steps[..3]);

    // full run: chip randomness from the example (eph key fresh), reader's from the example
    let sk_ic = PrivateKey::from_bytes(&sk_ic_bytes(e)).unwrap();
    let chip = ChipPace::new(ca.clone(), vec![mrz(&v)], Some(sk_ic));
    let chip_rng = ScriptedRandom::new([hx(e, "nonce_s"), hx(e, "map_picc_private"), vec![0x5A; 32]]);
    let mut card = ChipCard::new(chip, Box::new(chip_rng));
    let mut rng = ScriptedRandom::new([hx(e, "map_pcd_private"), hx(e, "eph_pcd_private")]);
    let mut ch = emrtd::apdu::PlainChannel::new(&mut card);
    let out = pace::authenticate(&mut ch, &ca, &mrz(&v), &PaceConfig::default(), &mut rng).unwrap();
    let card_security =
        SecurityInfos::decode(&tlv::encode(0x31, &hx(e, "chip_authentication_public_key_info"))).unwrap();
    assert_eq!(out.verify_cam(&card_security).unwrap().key_id, Some(13));
    let chip_keys = card.established.as_ref().unwrap();
    assert_eq!(chip_keys.ks_enc(), out.keys.ks_enc());
}

fn sk_ic_bytes(e: &Value) -> Vec<u8> {
    let params = pace::DomainParams::standardized(13).unwrap();
    let n = params.order();
    let mut ctx = openssl::bn::BigNumContext::new().unwrap();
    let ca_ic = openssl::bn::BigNum::from_slice(&hx(e, "chip_auth_data_ca_ic")).unwrap();
    let mut inv = openssl::bn::BigNum::new().unwrap();
    inv.mod_inverse(&ca_ic, n, &mut ctx).unwrap();
    let sk_map = openssl::bn::BigNum::from_slice(&hx(e, "map_picc_private")).unwrap();
    let mut sk = openssl::bn::BigNum::new().unwrap();
    sk.mod_mul(&sk_map, &inv, n, &mut ctx).unwrap();
    sk.to_vec()
}

/// The BSI worked example has values but no APDUs: the exchanges are built from the
/// values (data objects as Doc 9303 §4.4.4 defines them) and both sides must produce them.
fn bsi(variant: &str, param_id: u32) {
    let v = json(&format!(
        "protocol/bsi_eac_worked_example/bsi_eac_worked_example_{variant}.json"
    ));
    let e = &v["values"];
    let ca = SecurityInfos::decode(&read(&format!(
        "protocol/bsi_eac_worked_example/{variant}_ef_cardaccess.bin"
    )))
    .unwrap();
    let params = pace::DomainParams::standardized(param_id).unwrap();
    let elem_len = params.encode(&params.generator().unwrap()).unwrap().len();
    let order_len = params.order().num_bytes();
    let key = |k: &str| -> Vec<u8> {
        let raw = strip(hx(e, k), elem_len);
        if params.is_ec() {
            strip(raw, order_len as usize)
        } else {
            mod_reduce(&raw, params.order(), order_len)
        }
    };
    let val = |k: &str| strip(hx(e, k), elem_len);
    let ga = |cla: u8, t: u32, value: &[u8]| -> Vec<u8> {
        let data = tlv::encode(0x7C, &tlv::encode(t, value));
        let mut c = vec![cla, 0x86, 0x00, 0x00, data.len() as u8];
        c.extend_from_slice(&data);
        c.push(0x00);
        c
    };
    let resp = |t: u32, value: &[u8]| -> Vec<u8> {
        let mut r = tlv::encode(0x7C, &tlv::encode(t, value));
        r.extend_from_slice(&[0x90, 0x00]);
        r
    };
    let pace = ca.pace_infos().next().unwrap();
    let mut mse = h("0022C1A40F800A");
    mse.extend_from_slice(pace.protocol.as_bytes());
    mse.extend_from_slice(&h("830103"));
    let steps = vec![
        (mse, h("9000")),
        (h("10860000027C0000"), resp(0x80, &hx(e, "nonce_enc"))),
        (
            ga(0x10, 0x81, &val("map_pcd_pub_key")),
            resp(0x82, &val("map_picc_pub_key")),
        ),
        (
            ga(0x10, 0x83, &val("pcd_pub_key")),
            resp(0x84, &val("picc_pub_key")),
        ),
        (
            ga(0x00, 0x85, &hx(e, "authentication_token_pcd")),
            resp(0x86, &hx(e, "authentication_token_picc")),
        ),
    ];
    let pin = Password::pin("123456").unwrap();

    let mut t = script(&steps);
    let mut rng = ScriptedRandom::new([key("map_pcd_priv_key"), key("pcd_priv_key")]);
    let out = run_reader(&mut t, &ca, &pin, &PaceConfig::default(), &mut rng).unwrap();
    assert_eq!(up(out.keys.ks_enc()), e["k_enc"].as_str().unwrap());
    assert_eq!(up(out.keys.ks_mac()), e["k_mac"].as_str().unwrap());
    assert_eq!(out.password, "PIN");
    assert!(rng.mismatches.is_empty());

    let mut chip = ChipPace::new(ca, vec![pin], None);
    let mut rng = ScriptedRandom::new([hx(e, "nonce"), key("map_picc_priv_key"), key("picc_priv_key")]);
    let keys = chip_replays(&mut chip, &mut rng, &steps).unwrap();
    assert_eq!(up(keys.ks_mac()), e["k_mac"].as_str().unwrap());
    assert!(rng.mismatches.is_empty());
}

#[test]
fn bsi_eac_worked_example_ecdh() {
    bsi("ecdh", 13);
}

#[test]
fn bsi_eac_worked_example_dh() {
    bsi("dh", 0);
}

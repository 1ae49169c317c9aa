//! Chip Authentication against vectors from outside this project:
//!
//! * real CA v1 sessions captured by gmrtd (AT, DE with keyId 195, MY with 3DES, FR
//!   with P-256 and no ChipAuthenticationInfo), replayed through `SecureChannel` over a
//!   scripted transport with the recorded pre-CA keys and SSC and the terminal's
//!   ephemeral key injected: every protected APDU byte for byte, the post-CA keys, and
//!   the recorded command under the new keys;
//! * the BSI EAC worked example (ECDH brainpoolP256r1 and DH 1024/160), whose CA part
//!   is version 2: the key agreement and the KDF are checked through the same code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use emrtd::access::ca::{self, CaCommandForm, CaConfig, CaError};
use emrtd::access::pace::PrivateKey;
use emrtd::apdu::{Command, PlainChannel, StatusWord};
use emrtd::crypto::{Cipher, KDF_ENC, KDF_MAC, adjust_des_parity, kdf};
use emrtd::lds::dg14::Dg14;
use emrtd::lds::security_infos::{CardSecurity, SecurityInfos};
use emrtd::rng::ScriptedRandom;
use emrtd::sm::{SecureChannel, SessionKeys, SmError, Ssc};
use emrtd::transport::replay::ScriptedTransport;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/test-vectors/protocol/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn cipher(sm: &Value) -> Cipher {
    match (sm["alg"].as_str().unwrap(), hx(&sm["ks_enc"]).len()) {
        ("TDES", _) => Cipher::Tdes,
        ("AES", 16) => Cipher::Aes128,
        ("AES", 24) => Cipher::Aes192,
        ("AES", 32) => Cipher::Aes256,
        other => panic!("{other:?}"),
    }
}

fn with_parity(mut k: Vec<u8>, c: Cipher) -> Vec<u8> {
    if c == Cipher::Tdes {
        adjust_des_parity(&mut k);
    }
    k
}

/// The recorded command under the new keys: SELECT DG14 (P1 02, P2 0C).
fn select_dg14() -> Command {
    Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(vec![0x01, 0x0E])
}

fn replay(
    case: &Value,
    tamper_last: bool,
) -> (
    SecureChannel<PlainChannel<ScriptedTransport>>,
    Result<ca::CaEvidence, CaError>,
) {
    let pre = &case["pre_ca_secure_messaging"];
    let pre_cipher = cipher(pre);
    let keys = SessionKeys::new(
        pre_cipher,
        &hx(&pre["ks_enc"]),
        &hx(&pre["ks_mac"]),
        Ssc::from_bytes(&hx(&pre["ssc"])),
    )
    .unwrap();
    let apdus = case["apdu_exchange"].as_array().unwrap();
    let mut t = ScriptedTransport::new();
    for (i, a) in apdus.iter().enumerate() {
        let mut r = hx(&a["rapdu_protected"]);
        if tamper_last && i + 1 == apdus.len() {
            // one bit of the chip's MAC under the new keys
            let n = r.len();
            r[n - 3] ^= 0x01;
        }
        t = t.expect(hx(&a["capdu_protected"]), r);
    }
    let mut ch = SecureChannel::new(PlainChannel::new(t), keys);
    let infos = Dg14::decode(&hx(&case["dg14"])).map(SecurityInfos::from).unwrap();
    let country = case["country"].as_str().unwrap();
    // gmrtd used MSE:Set AT + GENERAL AUTHENTICATE for the Malaysian 3DES chip
    let form = if country == "MY" {
        CaCommandForm::SetAtGeneralAuthenticate
    } else {
        CaCommandForm::Auto
    };
    let config = CaConfig {
        form,
        ..CaConfig::default()
    };
    let mut rng = ScriptedRandom::new([hx(&case["terminal_ephemeral_private"])]);
    let ev = ca::authenticate_with(&mut ch, &infos, &config, &mut rng);
    assert!(rng.mismatches.is_empty(), "{country}");
    (ch, ev)
}

#[test]
fn gmrtd_real_sessions_replay_byte_for_byte() {
    let v = load("chip_authentication_real_sessions_gmrtd.json");
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let country = case["country"].as_str().unwrap();
        let e = &case["expected"];
        let post = &e["post_ca_secure_messaging"];
        let post_cipher = cipher(post);
        let (mut ch, ev) = replay(case, false);
        let ev = ev.unwrap_or_else(|err| panic!("{country}: {err}"));
        assert_eq!(ev.chip_public_key, hx(&e["ca_chip_public_key_used"]), "{country}");
        assert_eq!(ev.key_id, e["key_id"].as_u64(), "{country}");
        assert_eq!(
            ev.terminal_ephemeral_public_key,
            hx(&case["terminal_ephemeral_public"]),
            "{country}"
        );
        assert_eq!(ev.cipher, post_cipher, "{country}");
        assert_eq!(ev.protocol_inferred, country == "FR", "{country}");
        assert_eq!(
            ev.command_form,
            if country == "FR" {
                CaCommandForm::SetKat
            } else {
                CaCommandForm::SetAtGeneralAuthenticate
            },
            "{country}"
        );
        assert_eq!(ev.sent_key_id, country == "DE", "{country}");
        if let Some(info) = case["ca_info"].as_array().and_then(|a| a.first()) {
            assert_eq!(ev.protocol_oid.to_string(), info["cainfo"].as_str().unwrap());
        }
        // the channel now holds the post-CA keys with SSC 0
        assert_eq!(ch.keys().cipher(), post_cipher);
        assert_eq!(
            ch.keys().ks_enc(),
            with_parity(hx(&post["ks_enc"]), post_cipher),
            "{country}"
        );
        assert_eq!(
            ch.keys().ks_mac(),
            with_parity(hx(&post["ks_mac"]), post_cipher),
            "{country}"
        );
        assert!(ch.keys().ssc().as_bytes().iter().all(|b| *b == 0));
        // the recorded command under the new keys verifies: CA proven
        let sw = ca::prove_with(&mut ch, &select_dg14()).unwrap_or_else(|err| panic!("{country}: {err}"));
        assert_eq!(sw, StatusWord::OK, "{country}");
        assert_eq!(
            ch.keys().ssc().as_bytes(),
            hx(&post["ssc"]).as_slice(),
            "{country}"
        );
        assert_eq!(ch.inner().transport().remaining(), 0, "{country}");
    }
}

#[test]
fn gmrtd_sessions_with_a_bad_mac_after_rekeying_are_not_proven() {
    let v = load("chip_authentication_real_sessions_gmrtd.json");
    for case in v["cases"].as_array().unwrap() {
        let (mut ch, ev) = replay(case, true);
        ev.unwrap();
        let err = ca::prove_with(&mut ch, &select_dg14()).unwrap_err();
        assert!(
            matches!(err, CaError::NotProven(SmError::MacMismatch { .. })),
            "{}: {err}",
            case["country"]
        );
        assert!(err.hint().unwrap().contains("clone"));
    }
}

#[test]
fn gmrtd_shared_secrets_from_the_dg14_keys() {
    // key agreement level: the terminal's ephemeral private key with the chip's DG14 key
    let v = load("chip_authentication_real_sessions_gmrtd.json");
    for case in v["cases"].as_array().unwrap() {
        let infos = Dg14::decode(&hx(&case["dg14"])).map(SecurityInfos::from).unwrap();
        let candidate = ca::choose(&infos, None).unwrap();
        let key = candidate.key().unwrap();
        let mut rng = ScriptedRandom::new([hx(&case["terminal_ephemeral_private"])]);
        let (pk, k) = ca::agree(&key, &mut rng).unwrap();
        assert_eq!(pk, hx(&case["terminal_ephemeral_public"]));
        assert_eq!(
            *k,
            hx(&case["expected"]["shared_secret_k"]),
            "{}",
            case["country"]
        );
    }
}

fn strip00(mut v: Vec<u8>, len: usize) -> Vec<u8> {
    while v.len() > len && v.first() == Some(&0) {
        v.remove(0);
    }
    v
}

#[test]
fn bsi_eac_worked_example_ecdh_ca_key_agreement_and_kdf() {
    let v = load("bsi_eac_worked_example/bsi_eac_worked_example_ecdh.json");
    let x = &v["values"];
    let cs = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/test-vectors/protocol/bsi_eac_worked_example/ecdh_ef_cardsecurity.bin"
    ))
    .unwrap();
    let infos = CardSecurity::decode(&cs).unwrap().security_infos;
    // CA version 2 in EF.CardSecurity: version 1 is not offered, so `choose` refuses
    assert!(
        matches!(ca::choose(&infos, None), Err(CaError::NoVersion1 { ref versions }) if versions == &[2])
    );
    let all = ca::candidates(&infos).unwrap();
    let c = all.first().unwrap();
    assert!(
        v["oids"]["ca"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} ", c.protocol.oid()))
    );
    let key = c.key().unwrap();
    assert_eq!(key.encoded, hx(&x["ca_picc_pub_key"]));
    // terminal side through ca::agree with the worked example's ephemeral key
    let mut rng = ScriptedRandom::new([strip00(hx(&x["ca_pcd_priv_key"]), 32)]);
    let (pk_pcd, k) = ca::agree(&key, &mut rng).unwrap();
    assert_eq!(pk_pcd, hx(&x["ca_pcd_pub_key"]));
    assert_eq!(*k, hx(&x["ca_shared_secret_k"]));
    // chip side: its static key with the terminal's public key gives the same K
    let sk = PrivateKey::from_bytes(&hx(&x["ca_picc_priv_key"])).unwrap();
    let pcd = key.params.decode_public(&pk_pcd, "PK_PCD").unwrap();
    let k_chip = key
        .params
        .shared_secret(&key.params.agree(&sk, &pcd).unwrap())
        .unwrap();
    assert_eq!(*k_chip, *k);
    // CA version 2 session keys: KDF(K || r_PICC, c)
    let kr = [k.as_slice(), &hx(&x["ca_nonce"])].concat();
    assert_eq!(*kdf(&kr, KDF_ENC, Cipher::Aes128), hx(&x["ca_k_enc"]));
    assert_eq!(*kdf(&kr, KDF_MAC, Cipher::Aes128), hx(&x["ca_k_mac"]));
}

#[test]
fn bsi_eac_worked_example_dh_ca_key_agreement_and_kdf() {
    let v = load("bsi_eac_worked_example/bsi_eac_worked_example_dh.json");
    let x = &v["values"];
    let cs = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/test-vectors/protocol/bsi_eac_worked_example/dh_ef_cardsecurity.bin"
    ))
    .unwrap();
    let infos = CardSecurity::decode(&cs).unwrap().security_infos;
    let all = ca::candidates(&infos).unwrap();
    let c = all.first().unwrap();
    assert!(
        v["oids"]["ca"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} ", c.protocol.oid()))
    );
    assert!(!c.protocol.ecdh);
    assert_eq!(c.key_id, Some(1));
    let key = c.key().unwrap();
    // the DH public value from the SubjectPublicKeyInfo's INTEGER, padded to p (128 bytes)
    assert_eq!(key.encoded, strip00(hx(&x["ca_picc_pub_key"]), 128));
    // the worked example's terminal exponent is full-size (not below q), so it is applied
    // directly rather than through the random source
    let sk_pcd = PrivateKey::from_bytes(&hx(&x["ca_pcd_priv_key"])).unwrap();
    let g = key.params.generator().unwrap();
    let pk_pcd = key.params.multiply(&g, sk_pcd.as_bn()).unwrap();
    assert_eq!(
        key.params.encode(&pk_pcd).unwrap(),
        strip00(hx(&x["ca_pcd_pub_key"]), 128)
    );
    let k = key
        .params
        .shared_secret(&key.params.agree(&sk_pcd, &key.public).unwrap())
        .unwrap();
    assert_eq!(*k, strip00(hx(&x["ca_shared_secret_k"]), 128));
    let sk_picc = PrivateKey::from_bytes(&hx(&x["ca_picc_priv_key"])).unwrap();
    let k_chip = key
        .params
        .shared_secret(&key.params.agree(&sk_picc, &pk_pcd).unwrap())
        .unwrap();
    assert_eq!(*k_chip, *k);
    let kr = [k.as_slice(), &hx(&x["ca_nonce"])].concat();
    assert_eq!(*kdf(&kr, KDF_ENC, Cipher::Aes128), hx(&x["ca_k_enc"]));
    assert_eq!(*kdf(&kr, KDF_MAC, Cipher::Aes128), hx(&x["ca_k_mac"]));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    #[test]
    fn mutated_real_dg14s_never_panic_key_selection(
        case in 0usize..4,
        flips in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 1..4),
    ) {
        let v = load("chip_authentication_real_sessions_gmrtd.json");
        let mut dg14 = hx(&v["cases"][case]["dg14"]);
        for (pos, x) in flips {
            let n = dg14.len();
            dg14[pos % n] ^= x;
        }
        if let Ok(infos) = Dg14::decode(&dg14).map(SecurityInfos::from) {
            if let Ok(all) = ca::candidates(&infos) {
                for c in all {
                    let _ = c.key();
                }
            }
            let _ = ca::choose(&infos, Some(195));
        }
    }
}

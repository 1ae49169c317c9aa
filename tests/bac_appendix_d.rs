//! Doc 9303 Part 11 Appendix D end to end through the real code path: BAC over a
//! scripted transport with RND.IFD and K.IFD injected, then the D.4 secure-messaging
//! reads of EF.COM through `SecureChannel`, byte for byte.

// test helpers outside #[test] functions: a malformed vector file should fail loudly
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use emrtd::access::{AccessError, MrzKey, bac};
use emrtd::apdu::{CardChannel, Command, PlainChannel};
use emrtd::rng::ScriptedRandom;
use emrtd::sm::SecureChannel;
use emrtd::transport::replay::ScriptedTransport;
use emrtd::transport::trace::{Recorder, TraceLog};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/test-vectors/protocol/bac_sm_doc9303_appendix_d.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn x(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap()).unwrap()
}

fn with_sw(mut data: Vec<u8>) -> Vec<u8> {
    data.extend_from_slice(&[0x90, 0x00]);
    data
}

fn script(d: &Value) -> ScriptedTransport {
    let (i, e) = (&d["inputs"], &d["expected"]);
    let mut t = ScriptedTransport::new()
        .expect(x(e, "get_challenge_capdu"), with_sw(x(i, "rnd_ic")))
        .expect(x(e, "ext_auth_capdu"), with_sw(x(e, "ext_auth_resp_data")));
    for step in d["secure_messaging_d4"]["steps"].as_array().unwrap() {
        t = t.expect(x(step, "protected_capdu"), x(step, "protected_rapdu"));
    }
    t
}

fn mrz_key(d: &Value) -> MrzKey {
    let i = &d["inputs"];
    MrzKey::new(
        i["mrz_document_number"].as_str().unwrap(),
        i["mrz_date_of_birth"].as_str().unwrap(),
        i["mrz_date_of_expiry"].as_str().unwrap(),
    )
    .unwrap()
}

#[test]
fn bac_then_secure_messaging_reads_ef_com() {
    let d = vectors();
    let (i, e) = (&d["inputs"], &d["expected"]);
    let key = mrz_key(&d);
    assert_eq!(
        key.mrz_information().as_str(),
        i["mrz_information"].as_str().unwrap()
    );
    assert_eq!(key.k_seed().to_vec(), x(e, "kseed"));

    let log = TraceLog::new();
    let mut transport = script(&d);
    let mut plain = PlainChannel::new(Recorder::new(&mut transport, log.clone()));
    let mut rng = ScriptedRandom::new([x(i, "rnd_ifd"), x(i, "k_ifd")]);
    let keys = bac::authenticate(&mut plain, &key, &mut rng).unwrap();
    assert_eq!(rng.remaining(), 0);
    assert!(
        rng.mismatches.is_empty(),
        "RND.IFD (8) then K.IFD (16) must be drawn in that order"
    );
    assert_eq!(keys.ks_enc(), x(e, "ks_enc").as_slice());
    assert_eq!(keys.ks_mac(), x(e, "ks_mac").as_slice());
    assert_eq!(keys.ssc().as_bytes(), x(e, "ssc").as_slice());

    let mut sm = SecureChannel::new(plain, keys).with_trace(log.clone());
    let select = sm.send(&Command::select_ef(0x011E)).unwrap();
    assert!(select.is_ok() && select.data.is_empty());
    let head = sm.send(&Command::read_binary(0, 4)).unwrap();
    assert_eq!(head.data, hex::decode("60145F01").unwrap());
    let rest = sm.send(&Command::read_binary(4, 18)).unwrap();
    let mut ef_com = head.data;
    ef_com.extend_from_slice(&rest.data);
    assert_eq!(ef_com, x(&d["secure_messaging_d4"], "expected_ef_com"));
    assert_eq!(sm.exchanges(), 5);
    assert_eq!(hex::encode_upper(sm.keys().ssc().as_bytes()), "887022120C06C22C");
    drop(sm);
    assert_eq!(transport.remaining(), 0);

    // the trace shows the wire bytes and, for SM exchanges, the plain ones
    let entries = log.entries();
    assert_eq!(entries.len(), 5);
    assert!(entries[1].plain_command.is_none());
    assert_eq!(
        entries[2].plain_command.as_deref(),
        Some(&hex::decode("00A4020C02011E").unwrap()[..])
    );
    assert_eq!(
        entries[4].plain_response.as_deref(),
        Some(&with_sw(rest.data)[..])
    );
}

#[test]
fn wrong_mrz_is_refused_with_a_hint() {
    let d = vectors();
    let i = &d["inputs"];
    let mut challenge = x(i, "rnd_ic");
    challenge.extend_from_slice(&[0x90, 0x00]);
    let mut transport = ScriptedTransport::new()
        .expect(hex::decode("0084000008").unwrap(), challenge)
        .any([0x63, 0x00]);
    let wrong = MrzKey::new("L898902C", "690806", "940624").unwrap();
    let mut rng = ScriptedRandom::new([x(i, "rnd_ifd"), x(i, "k_ifd")]);
    let err = bac::authenticate(&mut PlainChannel::new(&mut transport), &wrong, &mut rng).unwrap_err();
    assert!(matches!(err, AccessError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("refused mutual authentication"));
    assert!(
        err.hint()
            .unwrap()
            .contains("the MRZ is probably wrong: the chip refused mutual authentication")
    );
    // the refused command is the one a wrong MRZ produces: same header and lengths
    let sent = &transport.sent[1];
    assert_eq!(&sent[..5], &[0x00, 0x82, 0x00, 0x00, 0x28]);
    assert_eq!(sent.len(), 46);
    assert_ne!(sent[5..45], x(&d["expected"], "ext_auth_cmd_data")[..]);
}

//! Active Authentication against vectors from outside this project
//! (`test-vectors/protocol/active_authentication_rsa.json`): four real-passport
//! challenge/signature pairs with their DG15 (pymrtd), the Bouncy Castle ISO/IEC 9796-2
//! vector, and a real AA session inside 3DES secure messaging (gmrtd, RSA-1792,
//! trailer 34CC) replayed through `SecureChannel` over a scripted transport.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use emrtd::access::aa::{self, AaAlgorithm, AaError, SignatureFormat};
use emrtd::apdu::PlainChannel;
use emrtd::asn1::HashAlgorithm;
use emrtd::crypto::Cipher;
use emrtd::lds::dg15::Dg15;
use emrtd::rng::ScriptedRandom;
use emrtd::sm::{SecureChannel, SessionKeys, Ssc};
use emrtd::transport::replay::ScriptedTransport;
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/test-vectors/protocol/active_authentication_rsa.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn real_passports_verify_and_recover_m1() {
    let v = vectors();
    let p = &v["real_passport_pymrtd"];
    let dg15 = Dg15::decode(&hx(&p["dg15"])).unwrap();
    assert_eq!(dg15.key_bits(), Some(1024));
    for case in p["cases"].as_array().unwrap() {
        let challenge = hx(&case["challenge"]);
        let sig = hx(&case["signature"]);
        let ev = aa::verify(&dg15, None, &challenge, &sig).unwrap();
        assert_eq!(ev.algorithm, AaAlgorithm::Rsa);
        assert_eq!(ev.hash, HashAlgorithm::Sha1);
        assert_eq!(ev.key_bits, Some(1024));
        assert_eq!(
            ev.recovered_m1.as_deref(),
            Some(hx(&case["expected_recovered_m1"]).as_slice())
        );
        assert_eq!(
            ev.signature_format,
            SignatureFormat::Iso9796_2 {
                trailer: "BC".into(),
                complement: false,
                padding: 0
            }
        );
        assert!(ev.warnings.is_empty());
        // the digest in F is SHA-1(M1 || challenge) as the source lists it
        let m1 = ev.recovered_m1.unwrap();
        assert_eq!(
            HashAlgorithm::Sha1.digest_parts(&[&m1, &challenge]),
            hx(&case["expected_hash_sha1"])
        );
    }
}

#[test]
fn real_passports_bit_flips_fail() {
    let v = vectors();
    let p = &v["real_passport_pymrtd"];
    let dg15 = Dg15::decode(&hx(&p["dg15"])).unwrap();
    for case in p["cases"].as_array().unwrap() {
        let challenge = hx(&case["challenge"]);
        let sig = hx(&case["signature"]);
        for bit in [0usize, 7, 100, 513, 1023] {
            let mut s = sig.clone();
            s[bit / 8] ^= 0x80 >> (bit % 8);
            let e = aa::verify(&dg15, None, &challenge, &s).unwrap_err();
            assert!(e.is_verification_failure(), "bit {bit}: {e}");
        }
        for bit in 0..64 {
            let mut c = challenge.clone();
            c[bit / 8] ^= 0x80 >> (bit % 8);
            let e = aa::verify(&dg15, None, &c, &sig).unwrap_err();
            assert!(
                matches!(
                    e,
                    AaError::DigestMismatch {
                        hash: HashAlgorithm::Sha1
                    }
                ),
                "challenge bit {bit}: {e}"
            );
        }
    }
}

#[test]
fn bouncy_castle_iso9796_2_vector() {
    let v = vectors();
    let b = &v["bouncycastle_iso9796"];
    let dg15 = Dg15::from_spki(&hx(&b["subject_public_key_info"])).unwrap();
    let ev = aa::verify(&dg15, None, &hx(&b["challenge"]), &hx(&b["signature"])).unwrap();
    assert_eq!(ev.recovered_m1.unwrap(), hx(&b["expected_recovered_m1"]));
    assert_eq!(ev.hash, HashAlgorithm::Sha1);
}

#[test]
fn gmrtd_session_rsa_1792_sha256_inside_3des_sm() {
    let v = vectors();
    let g = &v["real_passport_gmrtd_session"];
    let sm = &g["secure_messaging"];
    let dg15 = Dg15::decode(&hx(&g["dg15"])).unwrap();
    assert_eq!(dg15.key_bits(), Some(1792));
    let keys = SessionKeys::new(
        Cipher::Tdes,
        &hx(&sm["ks_enc"]),
        &hx(&sm["ks_mac"]),
        Ssc::from_bytes(&hx(&sm["ssc_before"])),
    )
    .unwrap();
    let transport = ScriptedTransport::new().expect(
        hx(&sm["protected_internal_authenticate_capdu"]),
        hx(&sm["protected_rapdu"]),
    );
    let mut ch = SecureChannel::new(PlainChannel::new(transport), keys);
    let mut rng = ScriptedRandom::new([hx(&g["challenge_rnd_ifd"])]);
    let ev = aa::authenticate(&mut ch, &dg15, None, &mut rng).unwrap();
    assert_eq!(ev.signature, hx(&g["expected_signature"]));
    assert_eq!(ev.challenge, hx(&g["challenge_rnd_ifd"]));
    assert_eq!(ev.hash, HashAlgorithm::Sha256);
    assert_eq!(
        ev.signature_format,
        SignatureFormat::Iso9796_2 {
            trailer: "34CC".into(),
            complement: false,
            padding: 0
        }
    );
    assert_eq!(ev.recovered_m1.as_ref().unwrap().len(), 224 - 1 - 32 - 2);
    assert_eq!(ch.keys().ssc().as_bytes(), hx(&sm["ssc_after"]).as_slice());
    assert!(rng.mismatches.is_empty());
    assert_eq!(ch.inner().transport().remaining(), 0);
    // the same signature over another challenge fails
    let mut other = hx(&g["challenge_rnd_ifd"]);
    other[0] ^= 1;
    assert!(matches!(
        aa::verify(&dg15, None, &other, &ev.signature),
        Err(AaError::DigestMismatch {
            hash: HashAlgorithm::Sha256
        })
    ));
}

#[test]
fn gmrtd_session_signature_under_another_key_fails() {
    // a clone answering with a signature from another key: the pymrtd passport's DG15
    // cannot open the gmrtd signature
    let v = vectors();
    let g = &v["real_passport_gmrtd_session"];
    let other = Dg15::decode(&hx(&v["real_passport_pymrtd"]["dg15"])).unwrap();
    let e = aa::verify(
        &other,
        None,
        &hx(&g["challenge_rnd_ifd"]),
        &hx(&g["expected_signature"]),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            AaError::SignatureTooLong {
                got: 224,
                modulus: 128
            }
        ),
        "{e}"
    );
    // the other way round, a 128-byte answer for a 224-byte modulus is a cut-off answer
    let dg15 = Dg15::decode(&hx(&g["dg15"])).unwrap();
    let case = &v["real_passport_pymrtd"]["cases"][0];
    let e = aa::verify(&dg15, None, &hx(&case["challenge"]), &hx(&case["signature"])).unwrap_err();
    assert!(
        matches!(
            e,
            AaError::TruncatedSignature {
                got: 128,
                modulus: 224
            }
        ),
        "{e}"
    );
    // a full-length signature from another key is a failed verification
    let mut forged = hx(&v["real_passport_gmrtd_session"]["expected_signature"]);
    forged[100] ^= 0x40;
    let e = aa::verify(&dg15, None, &hx(&g["challenge_rnd_ifd"]), &forged).unwrap_err();
    assert!(e.is_verification_failure(), "{e}");
    assert!(e.hint().unwrap().contains("clone"));
}

#[test]
fn command_encoding() {
    // Le 256 for signatures that fit a short response (the gmrtd command carries DO'97' 00)
    let c = aa::internal_authenticate(&[1, 2, 3, 4, 5, 6, 7, 8], aa::LeForm::Short);
    assert_eq!(
        hex::encode_upper(c.encode().unwrap()),
        "0088000008010203040506070800"
    );
    let c = aa::internal_authenticate(&[0; 8], aa::LeForm::Extended);
    assert_eq!(
        hex::encode_upper(c.encode().unwrap()),
        "0088000000000800000000000000000000"
    );
    // the gmrtd RSA-1792 key is asked with a short Le even on an extended-length card;
    // RSA-2048 only where extended length is available
    let v = vectors();
    let g = Dg15::decode(&hx(&v["real_passport_gmrtd_session"]["dg15"])).unwrap();
    assert_eq!(aa::first_le_form(&g, true), aa::LeForm::Short);
    let mut modulus = vec![0xC5u8; 256];
    modulus[255] = 0x01;
    let spki_2048 = openssl::rsa::Rsa::from_public_components(
        openssl::bn::BigNum::from_slice(&modulus).unwrap(),
        openssl::bn::BigNum::from_u32(65537).unwrap(),
    )
    .unwrap()
    .public_key_to_der()
    .unwrap();
    let d = Dg15::from_spki(&spki_2048).unwrap();
    assert_eq!(aa::first_le_form(&d, true), aa::LeForm::Extended);
    assert_eq!(aa::first_le_form(&d, false), aa::LeForm::Short);
}

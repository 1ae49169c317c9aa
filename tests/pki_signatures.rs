//! Signature primitives against vectors from outside this project: the BSI "Worked
//! Example for EAC" terminal authentication signatures (MANIFEST §1, transcribed from
//! OpenPACE): plain ECDSA-SHA-512 on brainpoolP512r1 with a key given with EXPLICIT
//! domain parameters, and RSA PKCS#1 v1.5 SHA-1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use emrtd::pki::keys::{EcParamsForm, PublicKey};
use emrtd::pki::signature::{self, HashAlgorithm, SignatureAlgorithm, SignatureError};
use openssl::pkey::PKey;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/test-vectors/protocol/bsi_eac_worked_example"
);

fn values(variant: &str) -> serde_json::Value {
    let s = std::fs::read_to_string(format!("{DIR}/bsi_eac_worked_example_{variant}.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&s).unwrap()["values"].clone()
}

fn hexv(v: &serde_json::Value, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap()).unwrap()
}

fn public_key_of_pkcs8(file: &str) -> PublicKey {
    let der = std::fs::read(format!("{DIR}/{file}")).unwrap();
    let private = PKey::private_key_from_der(&der).unwrap();
    // the SPKI as openssl writes it for this key (explicit parameters, like the file)
    let spki = private.public_key_to_der().unwrap();
    PublicKey::from_spki_der(&spki).unwrap()
}

#[test]
fn ta_ecdsa_plain_sha512_brainpool512_explicit() {
    let v = values("ecdh");
    let key = public_key_of_pkcs8("ecdh_ta_pcd_key.pkcs8.der");
    assert_eq!(key.info().curve, Some("brainpoolP512r1"));
    assert_eq!(key.info().ec_params, Some(EcParamsForm::ExplicitNamed));
    // x(PK_PACE_PICC) || r_PICC || x(PK_CA_PCD)
    let picc = hexv(&v, "picc_pub_key");
    let ca_pcd = hexv(&v, "ca_pcd_pub_key");
    let x = |p: &[u8]| p[1..1 + (p.len() - 1) / 2].to_vec();
    let msg = [x(&picc), hexv(&v, "ta_nonce"), x(&ca_pcd)].concat();
    let sig = hexv(&v, "ta_pcd_signature");
    assert_eq!(sig.len(), 128);
    let alg = SignatureAlgorithm::EcdsaPlain {
        hash: HashAlgorithm::Sha512,
    };
    signature::verify(&alg, &key, &msg, &sig).unwrap();
    // one bit off anywhere fails
    let mut bad = sig.clone();
    bad[70] ^= 0x01;
    assert!(matches!(
        signature::verify(&alg, &key, &msg, &bad),
        Err(SignatureError::Invalid)
    ));
    let mut bad_msg = msg.clone();
    bad_msg[0] ^= 0x01;
    assert!(signature::verify(&alg, &key, &bad_msg, &sig).is_err());
    // the same signature is not accepted as DER ECDSA or with another hash
    assert!(
        signature::verify(
            &SignatureAlgorithm::Ecdsa {
                hash: HashAlgorithm::Sha512
            },
            &key,
            &msg,
            &sig
        )
        .is_err()
    );
    assert!(
        signature::verify(
            &SignatureAlgorithm::EcdsaPlain {
                hash: HashAlgorithm::Sha256
            },
            &key,
            &msg,
            &sig
        )
        .is_err()
    );
}

#[test]
fn ta_rsa_pkcs1_sha1() {
    let v = values("dh");
    let key = public_key_of_pkcs8("dh_ta_pcd_key.pkcs8.der");
    assert_eq!(key.info().bits, 1024);
    // SHA1(PK_PACE_PICC) || r_PICC || SHA1(PK_CA_PCD)
    let sha1 = |d: &[u8]| HashAlgorithm::Sha1.digest(d);
    let strip = |mut p: Vec<u8>| {
        if p.len() == 129 && p[0] == 0 {
            p.remove(0);
        }
        p
    };
    let msg = [
        sha1(&strip(hexv(&v, "picc_pub_key"))),
        hexv(&v, "ta_nonce"),
        sha1(&strip(hexv(&v, "ca_pcd_pub_key"))),
    ]
    .concat();
    let sig = hexv(&v, "ta_pcd_signature");
    let alg = SignatureAlgorithm::RsaPkcs1 {
        hash: HashAlgorithm::Sha1,
    };
    signature::verify(&alg, &key, &msg, &sig).unwrap();
    let mut bad = sig.clone();
    bad[5] ^= 0x10;
    assert!(signature::verify(&alg, &key, &msg, &bad).is_err());
    // the algorithm named decides: PSS or ECDSA over the same bytes fail
    let pss = SignatureAlgorithm::RsaPss(signature::PssParams {
        hash: HashAlgorithm::Sha1,
        mgf1_hash: HashAlgorithm::Sha1,
        salt_len: 20,
        trailer_field: 1,
    });
    assert!(signature::verify(&pss, &key, &msg, &sig).is_err());
    assert!(matches!(
        signature::verify(
            &SignatureAlgorithm::Ecdsa {
                hash: HashAlgorithm::Sha1
            },
            &key,
            &msg,
            &sig
        ),
        Err(SignatureError::KeyTypeMismatch { .. })
    ));
}

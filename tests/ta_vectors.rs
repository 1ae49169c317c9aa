//! Terminal Authentication against the BSI "Worked Example for EAC" v1.01 (values from
//! OpenPACE's eactest.c, test-vectors/protocol/bsi_eac_worked_example/): the signed
//! input ID_PICC ‖ r_PICC ‖ Comp(PK_PCD), the terminal signature (bit-exact for the
//! deterministic RSA case, verified for ECDSA), the CV chain, and the APDUs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use emrtd::access::ta::{self, KeyKind, TaInput, TerminalSigner};
use emrtd::apdu::{ApduError, CardChannel, Command, Response, StatusWord};
use emrtd::pki::cvc::{CvCertificate, verify_chain};
use emrtd::pki::signature;
use emrtd::pki::terminal_key::{TerminalKey, ta_certificate};

fn dir() -> String {
    format!(
        "{}/test-vectors/protocol/bsi_eac_worked_example",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn json(variant: &str) -> serde_json::Value {
    let p = format!("{}/bsi_eac_worked_example_{variant}.json", dir());
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn val(j: &serde_json::Value, k: &str) -> Vec<u8> {
    hex::decode(j["values"][k].as_str().unwrap()).unwrap()
}

fn cert(name: &str) -> CvCertificate {
    CvCertificate::from_der(&std::fs::read(format!("{}/{name}", dir())).unwrap()).unwrap()
}

/// OpenPACE stores some DH values with a leading 00 (the JSON's notes say so).
fn strip(v: Vec<u8>, len: usize) -> Vec<u8> {
    if v.len() > len && v[0] == 0 {
        v[1..].to_vec()
    } else {
        v
    }
}

#[test]
fn dh_terminal_signature_is_bit_exact() {
    let j = json("dh");
    let chain = [cert("dh_dv_cert.cvcert"), cert("dh_ta_cert.cvcert")];
    let check = verify_chain(&cert("dh_cvca.cvcert"), &chain, None).unwrap();
    let alg = check.terminal_key.algorithm().unwrap();
    // 1024-bit group: public values are 128 bytes
    let id_picc = ta::comp(KeyKind::Dh, &strip(val(&j, "picc_pub_key"), 128)).unwrap();
    let comp_pcd = ta::comp(KeyKind::Dh, &strip(val(&j, "ca_pcd_pub_key"), 128)).unwrap();
    let r = val(&j, "ta_nonce");
    let msg = ta::signature_input(&id_picc, &r, &comp_pcd);
    assert_eq!(msg.len(), 20 + 8 + 20);
    let key = TerminalKey::from_file(
        std::path::Path::new(&format!("{}/dh_ta_pcd_key.pkcs8.der", dir())),
        alg,
    )
    .unwrap();
    // RSA PKCS#1 v1.5 is deterministic: our signature is the worked example's
    assert_eq!(
        hex::encode_upper(key.sign(&msg).unwrap()),
        hex::encode_upper(val(&j, "ta_pcd_signature"))
    );
    // and it verifies with the terminal certificate's key
    let pk = check.terminal_key.to_public_key(None).unwrap();
    signature::verify(
        &alg.signature_algorithm(),
        &pk,
        &msg,
        &val(&j, "ta_pcd_signature"),
    )
    .unwrap();
}

#[test]
fn ecdh_terminal_signature_verifies_over_the_documented_input() {
    let j = json("ecdh");
    let chain = [cert("ecdh_dv_cert.cvcert"), cert("ecdh_ta_cert.cvcert")];
    let check = verify_chain(&cert("ecdh_cvca_cert.cvcert"), &chain, None).unwrap();
    let alg = check.terminal_key.algorithm().unwrap();
    let pk = check.terminal_key.to_public_key(None).unwrap();
    assert_eq!(pk.info().curve, Some("brainpoolP512r1"));
    // ID_PICC = Comp(PACE ephemeral key of the chip) = its x-coordinate
    let id_picc = ta::comp(KeyKind::Ec, &val(&j, "picc_pub_key")).unwrap();
    let comp_pcd = ta::comp(KeyKind::Ec, &val(&j, "ca_pcd_pub_key")).unwrap();
    let r = val(&j, "ta_nonce");
    let msg = ta::signature_input(&id_picc, &r, &comp_pcd);
    assert_eq!(msg.len(), 32 + 8 + 32);
    let expected = val(&j, "ta_pcd_signature");
    signature::verify(&alg.signature_algorithm(), &pk, &msg, &expected).unwrap();
    // any other input fails: a flipped challenge byte, or the v1 form without Comp(PK_PCD)
    let mut bad = msg.clone();
    bad[33] ^= 1;
    assert!(signature::verify(&alg.signature_algorithm(), &pk, &bad, &expected).is_err());
    assert!(signature::verify(&alg.signature_algorithm(), &pk, &msg[..40], &expected).is_err());
    // our PKCS#8 key (explicit brainpoolP512r1 parameters) signs verifiably
    let key = TerminalKey::from_file(
        std::path::Path::new(&format!("{}/ecdh_ta_pcd_key.pkcs8.der", dir())),
        alg,
    )
    .unwrap();
    let ours = key.sign(&msg).unwrap();
    assert_eq!(ours.len(), 128);
    signature::verify(&alg.signature_algorithm(), &pk, &msg, &ours).unwrap();
}

/// A chip script: expected command bytes and the response to give.
struct Script {
    steps: Vec<(Vec<u8>, Response)>,
    at: usize,
}

impl CardChannel for Script {
    fn send(&mut self, cmd: &Command) -> Result<Response, ApduError> {
        let (want, resp) = self
            .steps
            .get(self.at)
            .cloned()
            .expect("more commands than scripted");
        let got = cmd.encode().unwrap();
        // the EXTERNAL AUTHENTICATE payload is a fresh ECDSA signature: compare its header
        if want.len() > 4 {
            assert_eq!(
                hex::encode_upper(&got),
                hex::encode_upper(&want),
                "step {}",
                self.at
            );
        } else {
            assert_eq!(&got[..4], &want[..], "step {}", self.at);
        }
        self.at += 1;
        Ok(resp)
    }

    fn exchanges(&self) -> usize {
        self.at
    }
}

#[test]
fn apdus_of_a_v2_run_and_a_refusal() {
    let j = json("ecdh");
    let certs = [cert("ecdh_dv_cert.cvcert"), cert("ecdh_ta_cert.cvcert")];
    let chain: Vec<_> = certs.iter().map(ta_certificate).collect();
    // the worked example's SM sample d1 is the MSE:Set DST data naming the CVCA
    assert_eq!(ta::mse_set_dst("DECVCAAT00001").data, val(&j, "d1"));
    let ok = Response::status(StatusWord(0x9000));
    let pso = |c: &CvCertificate| {
        let mut d = c.body_der().to_vec();
        d.extend_from_slice(&c.signature_tlv());
        let mut a = vec![0x00, 0x2A, 0x00, 0xBE];
        if d.len() > 255 {
            a.extend_from_slice(&[0x00, (d.len() >> 8) as u8, d.len() as u8]);
        } else {
            a.push(d.len() as u8);
        }
        a.extend_from_slice(&d);
        a
    };
    let dst = |car: &str| {
        let mut a = vec![
            0x00,
            0x22,
            0x81,
            0xB6,
            (car.len() + 2) as u8,
            0x83,
            car.len() as u8,
        ];
        a.extend_from_slice(car.as_bytes());
        a
    };
    let comp_pcd = ta::comp(KeyKind::Ec, &val(&j, "ca_pcd_pub_key")).unwrap();
    let mut set_at = vec![0x00, 0x22, 0x81, 0xA4, (2 + 13 + 2 + 32) as u8, 0x83, 13];
    set_at.extend_from_slice(b"DETESTATDE019");
    set_at.extend_from_slice(&[0x91, 32]);
    set_at.extend_from_slice(&comp_pcd);
    let nonce = val(&j, "ta_nonce");
    let mut script = Script {
        steps: vec![
            (dst("DECVCAAT00001"), ok.clone()),
            (pso(&certs[0]), ok.clone()),
            (dst("DETESTDVDE019"), ok.clone()),
            (pso(&certs[1]), ok.clone()),
            (set_at, ok.clone()),
            (
                hex::decode("0084000008").unwrap(),
                Response::new(nonce.clone(), StatusWord(0x9000)),
            ),
            (vec![0x00, 0x82, 0x00, 0x00], ok.clone()),
        ],
        at: 0,
    };
    let alg = certs[1].body.public_key.algorithm().unwrap();
    let key = TerminalKey::from_file(
        std::path::Path::new(&format!("{}/ecdh_ta_pcd_key.pkcs8.der", dir())),
        alg,
    )
    .unwrap();
    let id_picc = ta::comp(KeyKind::Ec, &val(&j, "picc_pub_key")).unwrap();
    let input = TaInput {
        chain: &chain,
        id_picc: &id_picc,
        comp_pk_pcd: &comp_pcd,
        v2: true,
        aux: None,
    };
    let out = ta::authenticate(&mut script, &input, &key).unwrap();
    assert_eq!(out.r_picc, nonce);
    assert_eq!(out.verified, ["DETESTDVDE019", "DETESTATDE019"]);
    assert_eq!(script.at, 7);

    // the chip does not know the DV's issuer: the refusal carries the status word
    let mut refuse = Script {
        steps: vec![
            (dst("DECVCAAT00001"), ok.clone()),
            (pso(&certs[0]), Response::status(StatusWord(0x6A88))),
        ],
        at: 0,
    };
    let e = ta::authenticate(&mut refuse, &input, &key).unwrap_err();
    assert_eq!(e.status_word(), Some(StatusWord(0x6A88)));
    assert!(e.to_string().contains("PSO:Verify Certificate"), "{e}");
}

#[test]
fn bac_id_picc_is_document_number_and_check_digit() {
    // Doc 9303 Part 11 Appendix D: document number L898902C< with check digit 3
    assert_eq!(ta::id_picc_bac("L898902C<", '3'), b"L898902C<3");
}

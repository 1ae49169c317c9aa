//! Active Authentication signatures beyond the RSA vectors: an external ECDSA plain
//! signature (the BSI EAC worked example's Terminal Authentication signature,
//! ECDSA-SHA-512 on brainpoolP512r1 with explicit parameters in PKCS#8) checked through
//! `aa::verify`, the chip signer against the terminal verifier for RSA trailers BC and
//! 34CC, the ISO/IEC 9796-2 complement form, ECDSA plain/DER and their warnings, and the
//! failures a clone produces. Hostile signatures never panic the verifier.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use emrtd::access::aa::{
    self, AaAlgorithm, AaError, AaSigner, AaWarning, EcdsaEncoding, SignatureFormat, Trailer, iso9796,
};
use emrtd::asn1::HashAlgorithm;
use emrtd::lds::dg15::Dg15;
use emrtd::lds::security_infos::{ActiveAuthenticationInfo, Oid};
use emrtd::rng::{OsRandom, ScriptedRandom};
use openssl::bn::BigNum;
use openssl::ec::{Asn1Flag, EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use proptest::prelude::*;
use serde_json::Value;

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn rsa_signer(bits: u32) -> AaSigner {
    AaSigner::new(PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()).unwrap()
}

fn ec_signer(nid: Nid, explicit: bool) -> AaSigner {
    let mut g = EcGroup::from_curve_name(nid).unwrap();
    if explicit {
        g.set_asn1_flag(Asn1Flag::EXPLICIT_CURVE);
    }
    AaSigner::new(PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap()).unwrap()
}

fn dg15_of(s: &AaSigner) -> Dg15 {
    Dg15::from_spki(&s.public_key_der().unwrap()).unwrap()
}

fn plain_info(h: HashAlgorithm) -> ActiveAuthenticationInfo {
    ActiveAuthenticationInfo::new(h.ecdsa_plain_oid())
}

#[test]
fn bsi_worked_example_ecdsa_plain_sha512_explicit_brainpool_p512() {
    // TA signature of the BSI EAC worked example: ECDSA-SHA-512 (plain r||s) over
    // x(PK_PACE_PICC) || r_PICC || x(PK_CA_PCD), by the terminal key given as PKCS#8
    // with explicit brainpoolP512r1 parameters
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/test-vectors/protocol/bsi_eac_worked_example"
    );
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/bsi_eac_worked_example_ecdh.json")).unwrap(),
    )
    .unwrap();
    let x = &v["values"];
    let key = std::fs::read(format!("{dir}/ecdh_ta_pcd_key.pkcs8.der")).unwrap();
    let signer = AaSigner::from_pem_or_der(&key).unwrap();
    let dg15 = dg15_of(&signer);
    let picc = hx(&x["picc_pub_key"]);
    let ca_pcd = hx(&x["ca_pcd_pub_key"]);
    let msg = [&picc[1..33], &hx(&x["ta_nonce"])[..], &ca_pcd[1..33]].concat();
    let sig = hx(&x["ta_pcd_signature"]);
    let info = plain_info(HashAlgorithm::Sha512);
    let ev = aa::verify(&dg15, Some(&info), &msg, &sig).unwrap();
    assert_eq!(ev.algorithm, AaAlgorithm::Ecdsa);
    assert_eq!(ev.hash, HashAlgorithm::Sha512);
    assert_eq!(ev.signature_format, SignatureFormat::EcdsaPlain);
    assert_eq!(ev.curve.as_deref(), Some("brainpoolP512r1"));
    assert_eq!(ev.key_bits, Some(512));
    assert!(ev.warnings.is_empty(), "{:?}", ev.warnings);
    // any other hash, message or signature bit fails
    let e = aa::verify(&dg15, Some(&plain_info(HashAlgorithm::Sha256)), &msg, &sig).unwrap_err();
    assert!(
        matches!(
            e,
            AaError::EcdsaInvalid {
                hash: HashAlgorithm::Sha256
            }
        ),
        "{e}"
    );
    let mut m = msg.clone();
    m[5] ^= 1;
    assert!(
        aa::verify(&dg15, Some(&info), &m, &sig)
            .unwrap_err()
            .is_verification_failure()
    );
    for i in [0usize, 63, 64, 127] {
        let mut s = sig.clone();
        s[i] ^= 0x10;
        assert!(
            aa::verify(&dg15, Some(&info), &msg, &s)
                .unwrap_err()
                .is_verification_failure()
        );
    }
    // the same signature in DER is accepted too, with a named warning
    let (parsed, _) = aa::decode_ecdsa_signature(&sig, 64).unwrap();
    let der = parsed.to_der().unwrap();
    let ev = aa::verify(&dg15, Some(&info), &msg, &der).unwrap();
    assert_eq!(ev.signature_format, SignatureFormat::EcdsaDer);
    assert_eq!(
        ev.warnings,
        vec![AaWarning::EncodingDiffersFromOid {
            declared: EcdsaEncoding::Plain,
            received: EcdsaEncoding::Der
        }]
    );
}

#[test]
fn rsa_2048_trailers_bc_and_34cc() {
    let base = rsa_signer(2048);
    for (hash, trailer) in [
        (None, "BC"),
        (Some(HashAlgorithm::Sha256), "34CC"),
        (Some(HashAlgorithm::Sha512), "35CC"),
    ] {
        let signer = match hash {
            Some(h) => base.clone().with_hash(h),
            None => base.clone(),
        };
        let dg15 = dg15_of(&signer);
        let challenge = [0x42u8; 8];
        let capacity =
            iso9796::m1_capacity(256, Trailer::for_hash(hash.unwrap_or(HashAlgorithm::Sha1))).unwrap();
        let m1: Vec<u8> = (0..capacity).map(|i| i as u8).collect();
        let mut rng = ScriptedRandom::new([m1.clone()]);
        let sig = signer.sign(&challenge, None, &mut rng).unwrap();
        assert_eq!(sig.len(), 256);
        let ev = aa::verify(&dg15, None, &challenge, &sig).unwrap();
        assert_eq!(ev.hash, hash.unwrap_or(HashAlgorithm::Sha1));
        assert_eq!(
            ev.recovered_m1.as_deref(),
            Some(m1.as_slice()),
            "the chip's M1 is recovered"
        );
        assert_eq!(
            ev.signature_format,
            SignatureFormat::Iso9796_2 {
                trailer: trailer.into(),
                complement: false,
                padding: 0
            }
        );
    }
}

#[test]
fn rsa_complement_signature_min_sigma_n_minus_sigma() {
    // ISO/IEC 9796-2 lets the signer output n - σ: the verifier finds the representative
    // in n - (s^e mod n) and says so
    let signer = rsa_signer(1024);
    let dg15 = dg15_of(&signer);
    let challenge = *b"RND.IFD!";
    let sig = signer.sign(&challenge, None, &mut OsRandom).unwrap();
    let Dg15 {
        key: emrtd::lds::dg15::PublicKeyInfo::Rsa { modulus, .. },
        ..
    } = &dg15
    else {
        panic!()
    };
    let n = BigNum::from_slice(modulus).unwrap();
    let s = BigNum::from_slice(&sig).unwrap();
    let mut ns = BigNum::new().unwrap();
    ns.checked_sub(&n, &s).unwrap();
    let comp = ns.to_vec_padded(128).unwrap();
    let ev = aa::verify(&dg15, None, &challenge, &comp).unwrap();
    assert!(matches!(
        ev.signature_format,
        SignatureFormat::Iso9796_2 { complement: true, .. }
    ));
    // the complement over another challenge still fails
    assert!(matches!(
        aa::verify(&dg15, None, b"RND.IFE!", &comp),
        Err(AaError::DigestMismatch { .. })
    ));
}

#[test]
fn rsa_clone_with_another_key_fails_with_a_reason() {
    let genuine = rsa_signer(2048);
    let clone = rsa_signer(2048);
    let dg15 = dg15_of(&genuine);
    let sig = clone.sign(&[1; 8], None, &mut OsRandom).unwrap();
    let e = aa::verify(&dg15, None, &[1; 8], &sig).unwrap_err();
    // s^e mod n under the wrong key is noise: no representative structure
    assert!(e.is_verification_failure(), "{e}");
    assert!(
        e.to_string().contains("not made with the DG15 key") || matches!(e, AaError::SignatureOutOfRange),
        "{e}"
    );
    // zero and n are out of range; longer than the modulus is refused
    assert!(matches!(
        aa::verify(&dg15, None, &[1; 8], &[0; 256]),
        Err(AaError::SignatureOutOfRange)
    ));
    assert!(matches!(
        aa::verify(&dg15, None, &[1; 8], &[0xFF; 256]),
        Err(AaError::SignatureOutOfRange)
    ));
    assert!(matches!(
        aa::verify(&dg15, None, &[1; 8], &[1; 257]),
        Err(AaError::SignatureTooLong {
            got: 257,
            modulus: 256
        })
    ));
    assert!(matches!(
        aa::verify(&dg15, None, &[1; 8], &[]),
        Err(AaError::EmptySignature)
    ));
}

#[test]
fn rsa_representative_one_byte_shorter_than_the_modulus() {
    // a signer building F one byte short of the modulus (F < n for any modulus): the
    // opened signature starts with a zero byte before 6A
    let rsa = Rsa::generate(2048).unwrap();
    let signer = AaSigner::new(PKey::from_rsa(rsa.clone()).unwrap()).unwrap();
    let dg15 = dg15_of(&signer);
    let challenge = [9u8; 8];
    let m1 = vec![0x5Au8; 255 - 1 - 20 - 1];
    let f = iso9796::encode(255, &m1, &challenge, Trailer::Implicit).unwrap();
    let block = [&[0u8][..], &f].concat();
    let mut sig = vec![0u8; 256];
    rsa.private_encrypt(&block, &mut sig, openssl::rsa::Padding::NONE)
        .unwrap();
    let ev = aa::verify(&dg15, None, &challenge, &sig).unwrap();
    assert_eq!(ev.recovered_m1.as_deref(), Some(m1.as_slice()));
    assert_eq!(
        ev.warnings,
        vec![AaWarning::ShortRepresentative {
            len: 255,
            modulus: 256
        }]
    );
}

#[test]
fn rsa_short_signature_is_a_named_warning() {
    // a signature whose top byte is zero, sent without it
    let signer = rsa_signer(1024);
    let dg15 = dg15_of(&signer);
    for _ in 0..2000 {
        let sig = signer.sign(&[7; 8], None, &mut OsRandom).unwrap();
        if sig[0] == 0 {
            let ev = aa::verify(&dg15, None, &[7; 8], &sig[1..]).unwrap();
            assert_eq!(
                ev.warnings,
                vec![AaWarning::ShortSignature {
                    got: 127,
                    modulus: 128
                }]
            );
            return;
        }
    }
    panic!("no signature with a leading zero byte in 2000 tries");
}

#[test]
fn ecdsa_named_and_explicit_curves_plain_and_der() {
    for (nid, explicit, hash, name) in [
        (Nid::X9_62_PRIME256V1, false, HashAlgorithm::Sha256, "prime256v1"),
        (
            Nid::BRAINPOOL_P256R1,
            true,
            HashAlgorithm::Sha256,
            "brainpoolP256r1",
        ),
        (Nid::SECP384R1, false, HashAlgorithm::Sha384, "secp384r1"),
        (
            Nid::BRAINPOOL_P320R1,
            true,
            HashAlgorithm::Sha1,
            "brainpoolP320r1",
        ),
    ] {
        for enc in [EcdsaEncoding::Plain, EcdsaEncoding::Der] {
            let signer = ec_signer(nid, explicit).with_ecdsa_encoding(enc);
            let dg15 = dg15_of(&signer);
            let info = plain_info(hash);
            let sig = signer.sign(b"12345678", Some(hash), &mut OsRandom).unwrap();
            let ev = aa::verify(&dg15, Some(&info), b"12345678", &sig).unwrap();
            assert_eq!(ev.hash, hash);
            assert_eq!(ev.curve.as_deref(), Some(name));
            assert_eq!(
                ev.signature_format,
                match enc {
                    EcdsaEncoding::Plain => SignatureFormat::EcdsaPlain,
                    EcdsaEncoding::Der => SignatureFormat::EcdsaDer,
                }
            );
            assert_eq!(
                ev.warnings.is_empty(),
                enc == EcdsaEncoding::Plain,
                "{name} {enc:?}"
            );
            // an ecdsa-with-* OID declares DER
            let der_info = ActiveAuthenticationInfo::new(match hash {
                HashAlgorithm::Sha1 => Oid::new_unwrap("1.2.840.10045.4.1"),
                HashAlgorithm::Sha256 => Oid::new_unwrap("1.2.840.10045.4.3.2"),
                _ => Oid::new_unwrap("1.2.840.10045.4.3.3"),
            });
            let ev = aa::verify(&dg15, Some(&der_info), b"12345678", &sig).unwrap();
            assert_eq!(
                ev.warnings.is_empty(),
                enc == EcdsaEncoding::Der,
                "{name} {enc:?}"
            );
        }
    }
}

#[test]
fn ecdsa_without_aa_info_infers_the_hash() {
    let signer = ec_signer(Nid::BRAINPOOL_P384R1, true);
    let dg15 = dg15_of(&signer);
    let sig = signer.sign(b"abcdefgh", None, &mut OsRandom).unwrap();
    let ev = aa::verify(&dg15, None, b"abcdefgh", &sig).unwrap();
    assert_eq!(ev.hash, HashAlgorithm::Sha384);
    assert_eq!(
        ev.warnings,
        vec![AaWarning::HashInferred {
            hash: HashAlgorithm::Sha384
        }]
    );
}

#[test]
fn ecdsa_failures() {
    let signer = ec_signer(Nid::X9_62_PRIME256V1, false);
    let dg15 = dg15_of(&signer);
    let info = plain_info(HashAlgorithm::Sha256);
    let sig = signer
        .sign(b"12345678", Some(HashAlgorithm::Sha256), &mut OsRandom)
        .unwrap();
    // a clone's key
    let clone = ec_signer(Nid::X9_62_PRIME256V1, false);
    let cs = clone
        .sign(b"12345678", Some(HashAlgorithm::Sha256), &mut OsRandom)
        .unwrap();
    assert!(matches!(
        aa::verify(&dg15, Some(&info), b"12345678", &cs),
        Err(AaError::EcdsaInvalid {
            hash: HashAlgorithm::Sha256
        })
    ));
    // the chip hashing with SHA-1 while DG14 says SHA-256
    let sha1 = signer.clone().with_hash(HashAlgorithm::Sha1);
    let s1 = sha1
        .sign(b"12345678", Some(HashAlgorithm::Sha256), &mut OsRandom)
        .unwrap();
    assert!(aa::verify(&dg15, Some(&info), b"12345678", &s1).is_err());
    // wrong length, zero r/s
    assert!(matches!(
        aa::verify(&dg15, Some(&info), b"12345678", &sig[..63]),
        Err(AaError::BadSignatureEncoding {
            len: 63,
            plain_len: 64
        })
    ));
    assert!(matches!(
        aa::verify(&dg15, Some(&info), b"12345678", &[0; 64]),
        Err(AaError::EcdsaInvalid { .. })
    ));
    // an AA info naming a non-ECDSA algorithm
    let rsa_oid = ActiveAuthenticationInfo::new(Oid::new_unwrap("1.2.840.113549.1.1.11"));
    assert!(matches!(
        aa::verify(&dg15, Some(&rsa_oid), b"12345678", &sig),
        Err(AaError::UnsupportedSignatureAlgorithm { .. })
    ));
}

#[test]
fn signer_reads_pem_and_der() {
    let rsa = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
    let ec = PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::SECP224R1).unwrap()).unwrap())
        .unwrap();
    for key in [rsa, ec] {
        for bytes in [
            key.private_key_to_pem_pkcs8().unwrap(),
            key.private_key_to_der().unwrap(),
            key.private_key_to_pkcs8().unwrap(),
        ] {
            let s = AaSigner::from_pem_or_der(&bytes).unwrap();
            assert_eq!(s.public_key_der().unwrap(), key.public_key_to_der().unwrap());
            assert!(!format!("{s:?}").contains("BEGIN"));
        }
    }
    assert!(AaSigner::from_pem_or_der(b"not a key").is_err());
}

proptest! {
    #[test]
    fn verify_never_panics_on_hostile_signatures(sig in proptest::collection::vec(any::<u8>(), 0..300)) {
        thread_local! {
            static KEYS: (Dg15, Dg15) = (
                dg15_of(&rsa_signer(1024)),
                dg15_of(&ec_signer(Nid::BRAINPOOL_P256R1, true)),
            );
        }
        KEYS.with(|(rsa, ec)| {
            let _ = aa::verify(rsa, None, b"12345678", &sig);
            let _ = aa::verify(ec, None, b"12345678", &sig);
        });
    }
}

/// A plain channel over scripted answers to INTERNAL AUTHENTICATE.
fn scripted(answers: Vec<Vec<u8>>) -> emrtd::apdu::PlainChannel<emrtd::transport::replay::ScriptedTransport> {
    let t = answers
        .into_iter()
        .fold(emrtd::transport::replay::ScriptedTransport::new(), |t, a| {
            t.any(a)
        });
    emrtd::apdu::PlainChannel::new(t)
}

fn with_sw(mut data: Vec<u8>, sw: u16) -> Vec<u8> {
    data.extend_from_slice(&sw.to_be_bytes());
    data
}

#[test]
fn truncated_rsa_signature_to_a_short_le_is_retried_extended() {
    // some chips (gmrtd / NFCPassportReader reports on Australian passports) answer a
    // short Le with 9000 and the signature cut to what fits
    let signer = rsa_signer(2048);
    let dg15 = dg15_of(&signer);
    let (c1, c2) = ([1u8; 8], [2u8; 8]);
    let s1 = signer.sign(&c1, None, &mut OsRandom).unwrap();
    let s2 = signer.sign(&c2, None, &mut OsRandom).unwrap();
    let options = aa::AaOptions {
        extended_length: true,
        ..aa::AaOptions::default()
    };
    // without extended length there is no other Le to try: the cut signature is
    // reported as such, not as a failed verification
    let mut ch = scripted(vec![with_sw(s1[..231].to_vec(), 0x9000)]);
    let e = aa::authenticate(&mut ch, &dg15, None, &mut ScriptedRandom::new([c1])).unwrap_err();
    assert!(
        matches!(
            e,
            AaError::TruncatedSignature {
                got: 231,
                modulus: 256
            }
        ),
        "{e}"
    );
    assert!(!e.is_verification_failure());
    assert!(e.hint().unwrap().contains("extended-length"));
    // a 1024-bit key is asked with a short Le first even on an extended-length card
    let small = rsa_signer(1024);
    let small_dg15 = dg15_of(&small);
    let t1 = small.sign(&c1, None, &mut OsRandom).unwrap();
    let t2 = small.sign(&c2, None, &mut OsRandom).unwrap();
    let mut ch = scripted(vec![with_sw(t1[..100].to_vec(), 0x9000), with_sw(t2, 0x9000)]);
    let ev = aa::authenticate_with(
        &mut ch,
        &small_dg15,
        None,
        &options,
        &mut ScriptedRandom::new([c1, c2]),
    )
    .unwrap();
    assert_eq!(ev.challenge, c2);
    assert_eq!(ev.le, Some(aa::LeForm::Extended));
    assert_eq!(
        ev.warnings,
        vec![AaWarning::LeRetried {
            first: aa::LeForm::Short,
            reason: "RSA signature cut short".into()
        }]
    );
    let sent = &ch.transport().sent;
    assert_eq!(
        sent[0],
        aa::internal_authenticate(&c1, aa::LeForm::Short)
            .encode()
            .unwrap()
    );
    assert_eq!(
        sent[1],
        aa::internal_authenticate(&c2, aa::LeForm::Extended)
            .encode()
            .unwrap()
    );
    // an RSA-2048 key on an extended-length card: extended first, 6700 → short
    let mut ch = scripted(vec![with_sw(vec![], 0x6700), with_sw(s2.clone(), 0x9000)]);
    let ev =
        aa::authenticate_with(&mut ch, &dg15, None, &options, &mut ScriptedRandom::new([c1, c2])).unwrap();
    assert_eq!(ev.le, Some(aa::LeForm::Short));
    assert!(matches!(
        &ev.warnings[..],
        [AaWarning::LeRetried {
            first: aa::LeForm::Extended,
            ..
        }]
    ));
}

#[test]
fn empty_answer_to_an_extended_le_is_retried_short() {
    // reported for recent Chinese passports: 9000 without data to Le 65536
    let signer = rsa_signer(2048);
    let dg15 = dg15_of(&signer);
    let c2 = [2u8; 8];
    let s2 = signer.sign(&c2, None, &mut OsRandom).unwrap();
    let options = aa::AaOptions {
        extended_length: true,
        ..aa::AaOptions::default()
    };
    let mut ch = scripted(vec![with_sw(vec![], 0x9000), with_sw(s2, 0x9000)]);
    let ev = aa::authenticate_with(
        &mut ch,
        &dg15,
        None,
        &options,
        &mut ScriptedRandom::new([[1u8; 8], c2]),
    )
    .unwrap();
    assert_eq!(ev.le, Some(aa::LeForm::Short));
    assert!(
        matches!(&ev.warnings[..], [AaWarning::LeRetried { reason, .. }] if reason == "answer without a signature")
    );
    // retries disabled: the first failure stands
    let mut ch = scripted(vec![with_sw(vec![], 0x9000)]);
    let no_retry = aa::AaOptions {
        retry_other_le: false,
        ..options
    };
    assert!(matches!(
        aa::authenticate_with(&mut ch, &dg15, None, &no_retry, &mut OsRandom),
        Err(AaError::EmptySignature)
    ));
}

#[test]
fn complete_but_wrong_signatures_are_not_retried() {
    let signer = rsa_signer(2048);
    let clone = rsa_signer(2048);
    let dg15 = dg15_of(&signer);
    let wrong = clone.sign(&[1; 8], None, &mut OsRandom).unwrap();
    let options = aa::AaOptions {
        extended_length: true,
        ..aa::AaOptions::default()
    };
    // one scripted answer only: a retry would exhaust the script
    let mut ch = scripted(vec![with_sw(wrong, 0x9000)]);
    let e = aa::authenticate_with(
        &mut ch,
        &dg15,
        None,
        &options,
        &mut ScriptedRandom::new([[1u8; 8]]),
    )
    .unwrap_err();
    assert!(e.is_verification_failure(), "{e}");
    assert_eq!(ch.transport().sent.len(), 1);
}

//! CMS SignedData against external vectors: the SODs of test-vectors/lds (MANIFEST §2:
//! all four signatures valid) and the OpenPACE EF.CardSecurity.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
use emrtd::cms::{self, CmsError, SignedData};
use emrtd::pki::signature::SignatureError;
use emrtd::tlv;

fn vector(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/test-vectors/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// EF.SOD is `[APPLICATION 23]` (tag 77) around the ContentInfo.
fn unwrap_sod(bytes: &[u8]) -> Vec<u8> {
    let t = tlv::parse_ber(bytes).unwrap();
    assert_eq!(t.tag, 0x77);
    t.value.to_vec()
}

const SODS: &[(&str, &str)] = &[
    ("lds/jmrtd_bsi2008/EF_SOD.bin", "ecdsa-with-SHA1"),
    ("lds/bsi_tr03105_5_refdata_zienit/EF_SOD.bin", "rsassa-pss-sha256"),
    (
        "lds/etsi_tr103200_prototype_via_pymrtd/EF_SOD.bin",
        "rsassa-pss-sha256",
    ),
    ("lds/jmrtd_loes2006/EF_SOD_ef011D.bin", "sha256WithRSA"),
];

#[test]
fn sods_verify_with_their_embedded_dsc() {
    for (path, alg) in SODS {
        let sd = SignedData::parse(&unwrap_sod(&vector(path))).unwrap();
        assert_eq!(
            sd.econtent_type,
            emrtd::asn1::oid::ICAO_LDS_SECURITY_OBJECT,
            "{path}"
        );
        assert_eq!(sd.signer_infos.len(), 1, "{path}");
        let signer = &sd.signer_infos[0];
        let (a, _) = signer.signature_algorithm().unwrap();
        assert_eq!(a.name(), *alg, "{path}");
        let dsc = sd
            .signer_certificate(signer)
            .expect("embedded DSC matches the sid");
        cms::verify_signer_with_certificate(&sd, signer, &dsc).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    }
}

#[test]
fn bsi2008_dsc_has_explicit_224_bit_curve() {
    let sd = SignedData::parse(&unwrap_sod(&vector("lds/jmrtd_bsi2008/EF_SOD.bin"))).unwrap();
    let dsc = emrtd::pki::cert::Certificate::from_der(&sd.certificates[0]).unwrap();
    let info = dsc.key_info().unwrap();
    assert!(info.explicit_params(), "{info:?}");
    assert_eq!(info.bits, 224);
    assert!(
        dsc.subject
            .display()
            .ends_with("CN=DS,O=BundesDruckerei GmbH,C=DE")
    );
}

#[test]
fn flipped_econtent_byte_fails_the_message_digest() {
    for (path, _) in SODS {
        let mut sd = SignedData::parse(&unwrap_sod(&vector(path))).unwrap();
        let signer = sd.signer_infos[0].clone();
        let dsc = sd.signer_certificate(&signer).unwrap().into_owned();
        let ec = sd.econtent.as_mut().unwrap();
        let mid = ec.len() / 2;
        ec[mid] ^= 0x01;
        let err = cms::verify_signer_with_certificate(&sd, &signer, &dsc).unwrap_err();
        assert!(
            matches!(err, CmsError::MessageDigestMismatch { .. }),
            "{path}: {err:?}"
        );
    }
}

#[test]
fn flipped_byte_in_the_raw_file_is_caught() {
    // flip a byte inside the eContent of the file itself and re-parse: the digest must fail
    for (path, _) in SODS {
        let raw = unwrap_sod(&vector(path));
        let sd = SignedData::parse(&raw).unwrap();
        let ec = sd.econtent.clone().unwrap();
        let pos = raw.windows(ec.len()).position(|w| w == ec.as_slice()).unwrap() + ec.len() - 3;
        let mut bad = raw.clone();
        bad[pos] ^= 0x80;
        let sd = SignedData::parse(&bad).unwrap();
        let signer = &sd.signer_infos[0];
        let dsc = sd.signer_certificate(signer).unwrap();
        assert!(
            cms::verify_signer_with_certificate(&sd, signer, &dsc).is_err(),
            "{path}"
        );
    }
}

#[test]
fn flipped_signature_byte_fails() {
    for (path, _) in SODS {
        let mut sd = SignedData::parse(&unwrap_sod(&vector(path))).unwrap();
        let dsc = sd.signer_certificate(&sd.signer_infos[0]).unwrap().into_owned();
        let sig = &mut sd.signer_infos[0].signature;
        let last = sig.len() - 1;
        sig[last] ^= 0x01;
        let signer = sd.signer_infos[0].clone();
        let err = cms::verify_signer_with_certificate(&sd, &signer, &dsc).unwrap_err();
        assert!(
            matches!(
                err,
                CmsError::Signature(SignatureError::Invalid | SignatureError::Malformed)
            ),
            "{path}: {err:?}"
        );
    }
}

#[test]
fn flipped_signed_attribute_fails() {
    for (path, _) in SODS {
        let mut sd = SignedData::parse(&unwrap_sod(&vector(path))).unwrap();
        let dsc = sd.signer_certificate(&sd.signer_infos[0]).unwrap().into_owned();
        let attrs = sd.signer_infos[0].signed_attrs.as_mut().unwrap();
        let last = attrs.raw.len() - 1;
        attrs.raw[last] ^= 0x01;
        let signer = sd.signer_infos[0].clone();
        assert!(
            cms::verify_signer_with_certificate(&sd, &signer, &dsc).is_err(),
            "{path}"
        );
    }
}

#[test]
fn card_security_signature_verifies() {
    let bytes = vector("lds/openpace_cardaccess_samples/ef_cardsecurity_dan.bin");
    let sd = SignedData::parse(&bytes).unwrap();
    assert_eq!(sd.econtent_type, emrtd::asn1::oid::BSI_SECURITY_OBJECT);
    let signer = &sd.signer_infos[0];
    let dsc = sd.signer_certificate(signer).unwrap();
    cms::verify_signer_with_certificate(&sd, signer, &dsc).unwrap();
}

#[test]
fn ber_indefinite_sod_is_a_quirk() {
    // re-wrap the Loes SOD's ContentInfo in indefinite-length outer SEQUENCE and [0]
    let raw = unwrap_sod(&vector("lds/jmrtd_loes2006/EF_SOD_ef011D.bin"));
    let ci = tlv::parse(&raw).unwrap();
    let mut kids = ci.children();
    let ct = kids.read().unwrap();
    let content = kids.read().unwrap();
    let mut ber = vec![0x30, 0x80];
    ber.extend_from_slice(ct.raw);
    ber.extend_from_slice(&[0xA0, 0x80]);
    ber.extend_from_slice(content.value);
    ber.extend_from_slice(&[0, 0, 0, 0]);
    let sd = SignedData::parse(&ber).unwrap();
    assert!(sd.quirks.contains(&cms::CmsQuirk::IndefiniteLength));
    let signer = &sd.signer_infos[0];
    let dsc = sd.signer_certificate(signer).unwrap();
    cms::verify_signer_with_certificate(&sd, signer, &dsc).unwrap();
}

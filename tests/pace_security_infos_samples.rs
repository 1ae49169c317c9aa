//! SecurityInfos decoding of every EF.CardAccess / EF.CardSecurity / DG14 sample in
//! test-vectors/ (Doc 9303 Part 11 §9.2), against the values their sources state
//! (expected.json, MANIFEST) and decode → encode == input.

// helpers outside #[test] functions may fail loudly: this is a test crate
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use emrtd::lds::dg14::Dg14;
use emrtd::lds::security_infos::{
    CardSecurity, DomainParameterSpec, PaceMapping, SecurityInfo, SecurityInfos, SecurityInfosWarning, oid,
};

const TV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-vectors");

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{TV}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&read(rel)).unwrap()
}

const BRAINPOOL_P256R1_P: &str = "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377";

fn names(s: &SecurityInfos) -> Vec<String> {
    s.infos
        .iter()
        .map(|i| i.protocol().map(|o| o.to_string()).unwrap_or_default())
        .collect()
}

/// decode → encode reproduces the SET byte for byte.
fn assert_roundtrip(s: &SecurityInfos) {
    assert_eq!(hex::encode_upper(s.encode()), hex::encode_upper(&s.raw));
    for info in &s.infos {
        assert_eq!(info.encode(), info.raw(), "{}", info.protocol_name());
    }
}

#[test]
fn gmrtd_card_access_at_and_de_match_expected_json() {
    let expected = json("lds/gmrtd_document_samples/expected.json");
    for entry in expected["files"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        if !file.starts_with("EF_CardAccess") {
            continue;
        }
        let s = SecurityInfos::decode(&read(&format!("lds/gmrtd_document_samples/{file}"))).unwrap();
        let want = entry["expected"]["pace_infos"].as_array().unwrap();
        let got: Vec<_> = s.pace_infos().collect();
        assert_eq!(got.len(), want.len(), "{file}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.protocol.to_string(), w["oid"].as_str().unwrap());
            assert_eq!(u64::from(g.version), w["version"].as_u64().unwrap());
            assert_eq!(g.parameter_id.map(u64::from), w["parameter_id"].as_u64());
        }
        assert!(s.warnings.is_empty(), "{file}: {:?}", s.warnings);
        assert_roundtrip(&s);
    }
}

#[test]
fn gmrtd_dg14_samples_match_expected_json() {
    let expected = json("lds/gmrtd_document_samples/expected.json");
    let mut seen = 0;
    for entry in expected["files"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        if !file.starts_with("DG14") {
            continue;
        }
        seen += 1;
        let bytes = read(&format!("lds/gmrtd_document_samples/{file}"));
        let dg14 = Dg14::decode(&bytes).unwrap();
        let s = &dg14.security_infos;
        let e = &entry["expected"];
        let count = |v: usize, key: &str| {
            if let Some(n) = e[key].as_u64() {
                assert_eq!(v as u64, n, "{file} {key}");
            }
        };
        count(s.pace_infos().count(), "pace_infos");
        count(s.chip_authentication_infos().count(), "chip_auth_infos");
        count(
            s.chip_authentication_public_keys().count(),
            "chip_auth_pubkey_infos",
        );
        count(s.terminal_authentication_infos().count(), "term_auth_infos");
        count(s.infos.len(), "total_security_infos");
        if let Some(ca) = e["ca_protocol"].as_str() {
            let info = s.chip_authentication_infos().next().unwrap();
            assert_eq!(info.protocol.to_string(), ca);
        }
        assert!(s.unknown_infos().next().is_none(), "{file}");
        assert!(s.warnings.is_empty(), "{file}: {:?}", s.warnings);
        assert_roundtrip(s);
        assert_eq!(dg14.encode(), bytes, "{file}");
    }
    assert_eq!(seen, 3);
}

#[test]
fn dg14_at_explicit_brainpool_key_without_key_id() {
    let s = Dg14::decode(&read("lds/gmrtd_document_samples/DG14_AT.bin"))
        .map(SecurityInfos::from)
        .unwrap();
    let pk = s.chip_authentication_public_keys().next().unwrap();
    assert!(pk.is_ecdh());
    assert_eq!(pk.key_id, None);
    assert_eq!(pk.public_key.algorithm.oid, oid::ID_EC_PUBLIC_KEY);
    match pk.public_key.algorithm.domain_parameters().unwrap() {
        DomainParameterSpec::EcExplicit(ec) => {
            assert_eq!(hex::encode_upper(&ec.p), BRAINPOOL_P256R1_P);
            assert_eq!(ec.cofactor.as_deref(), Some(&[1u8][..]));
            assert_eq!(ec.generator.len(), 65);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(pk.public_key.subject_public_key.len(), 65);
    let pace = s.pace_infos().next().unwrap();
    assert_eq!(pace.protocol().unwrap().mapping, PaceMapping::EcdhGm);
    assert_eq!(pace.parameter_id, Some(13));
}

#[test]
fn dg14_generic_pace_cam_aes256_param_16() {
    let s = Dg14::decode(&read("lds/gmrtd_document_samples/DG14_generic_3_PACE_CA_TA.bin"))
        .map(SecurityInfos::from)
        .unwrap();
    let pace: Vec<_> = s
        .pace_infos()
        .map(|p| (p.protocol.to_string(), p.version, p.parameter_id))
        .collect();
    assert_eq!(
        pace,
        vec![
            ("0.4.0.127.0.7.2.2.4.2.4".to_string(), 2, Some(16)),
            ("0.4.0.127.0.7.2.2.4.6.4".to_string(), 2, Some(16)),
        ]
    );
    let pk = s.chip_authentication_public_keys().next().unwrap();
    match pk.public_key.algorithm.domain_parameters().unwrap() {
        DomainParameterSpec::EcExplicit(ec) => assert_eq!(ec.p.len(), 48),
        other => panic!("{other:?}"),
    }
}

/// BSI 2008 test passport, BSI TR-03105-5 reference data and the ETSI prototype share
/// the DG14 layout: CA public key (explicit 224-bit curve), CA 3DES v1, TA v1.
#[test]
fn dg14_bsi2008_bsi_reference_and_etsi() {
    for rel in [
        "lds/jmrtd_bsi2008/Datagroup14.bin",
        "lds/bsi_tr03105_5_refdata_zienit/Datagroup14.bin",
        "lds/etsi_tr103200_prototype_via_pymrtd/DG14.bin",
    ] {
        let bytes = read(rel);
        let dg14 = Dg14::decode(&bytes).unwrap();
        let s = &dg14.security_infos;
        assert_eq!(
            names(s),
            vec![
                "0.4.0.127.0.7.2.2.1.2",
                "0.4.0.127.0.7.2.2.3.2.1",
                "0.4.0.127.0.7.2.2.2"
            ],
            "{rel}"
        );
        let ca = s.chip_authentication_infos().next().unwrap();
        assert_eq!((ca.version, ca.key_id), (1, None));
        let ta = s.terminal_authentication_infos().next().unwrap();
        assert_eq!((ta.version, ta.ef_cvca), (1, None));
        let pk = s.chip_authentication_public_keys().next().unwrap();
        match pk.public_key.algorithm.domain_parameters().unwrap() {
            DomainParameterSpec::EcExplicit(ec) => {
                assert_eq!(
                    hex::encode_upper(&ec.p),
                    "D7C134AA264366862A18302575D1D787B09F075797DA89F57EC8C0FF"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(s.warnings.is_empty());
        assert_eq!(dg14.encode(), bytes, "{rel}");
    }
}

#[test]
fn openpace_old_testcard_explicit_domain_parameters() {
    let s = SecurityInfos::decode(&read(
        "lds/openpace_cardaccess_samples/ef_cardaccess_old_testcard.bin",
    ))
    .unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let pace = s.pace_infos().next().unwrap();
    assert_eq!((pace.version, pace.parameter_id), (1, None));
    let dp = s.pace_domain_parameter_infos().next().unwrap();
    assert_eq!(dp.protocol.to_string(), "0.4.0.127.0.7.2.2.4.2");
    assert_eq!(dp.parameter_id, None);
    match dp.domain_parameter.domain_parameters().unwrap() {
        DomainParameterSpec::EcExplicit(ec) => {
            assert_eq!(hex::encode_upper(&ec.p), BRAINPOOL_P256R1_P);
            assert_eq!(
                hex::encode_upper(&ec.order),
                "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"
            );
        }
        other => panic!("{other:?}"),
    }
    let cil = s.card_info_locator().unwrap();
    assert_eq!(cil.url, "AwT ePA - BDr GmbH - Testkarte v1.0");
    assert_eq!(s.chip_authentication_domain_parameter_infos().count(), 1);
    assert_roundtrip(&s);
}

#[test]
fn openpace_new_testcard_trailing_bytes_warned() {
    let bytes = read("lds/openpace_cardaccess_samples/ef_cardaccess_new_testcard.bin");
    let s = SecurityInfos::decode(&bytes).unwrap();
    assert_eq!(
        s.warnings,
        vec![SecurityInfosWarning::TrailingBytes { count: 38 }]
    );
    assert_eq!(s.raw.len(), 133);
    assert_eq!(names(&s).len(), 5);
    let ca = s.chip_authentication_infos().next().unwrap();
    assert_eq!((ca.version, ca.key_id), (2, Some(0x41)));
    let cadp = s.chip_authentication_domain_parameter_infos().next().unwrap();
    assert_eq!(cadp.key_id, Some(0x41));
    assert_eq!(
        cadp.domain_parameter.domain_parameters(),
        Ok(DomainParameterSpec::Standardized(13))
    );
    assert_eq!(
        s.card_info_locator().unwrap().url,
        "ePA - BDr GmbH - Testkarte v2.0"
    );
    assert_roundtrip(&s);
}

/// The Slovenian file ends in `62 82` — the status word was saved with the file.
#[test]
fn openpace_slovenia_status_word_appended_and_ta_file_id() {
    let s = SecurityInfos::decode(&read(
        "lds/openpace_cardaccess_samples/ef_cardaccess_slowenia.bin",
    ))
    .unwrap();
    assert_eq!(s.warnings, vec![SecurityInfosWarning::TrailingBytes { count: 2 }]);
    let ca = s.chip_authentication_infos().next().unwrap();
    assert_eq!(ca.protocol.to_string(), "0.4.0.127.0.7.2.2.3.2.1");
    assert_eq!((ca.version, ca.key_id), (1, Some(3)));
    let ta = s.terminal_authentication_infos().next().unwrap();
    let f = ta.ef_cvca.unwrap();
    assert_eq!((f.fid, f.sfid), (0x011A, Some(0x1A)));
    let unknown: Vec<_> = s
        .unknown_infos()
        .map(|u| u.protocol.unwrap().to_string())
        .collect();
    assert_eq!(unknown, vec!["1.0.24727.3.0.9"]);
    assert_roundtrip(&s);
}

#[test]
fn openpace_dan_and_ca3() {
    let dan = SecurityInfos::decode(&read("lds/openpace_cardaccess_samples/ef_cardaccess_dan.bin")).unwrap();
    assert!(dan.warnings.is_empty());
    let keys: Vec<_> = dan.chip_authentication_infos().map(|c| c.key_id).collect();
    assert_eq!(keys, vec![Some(0x41), Some(0x45)]);
    assert_eq!(dan.pace_infos().next().unwrap().parameter_id, Some(13));
    assert_roundtrip(&dan);

    let ca3 = SecurityInfos::decode(&read("lds/openpace_cardaccess_samples/ef_cardaccess_ca3.bin")).unwrap();
    assert!(ca3.warnings.is_empty());
    let cas: Vec<_> = ca3
        .chip_authentication_infos()
        .map(|c| (c.version, c.key_id))
        .collect();
    assert_eq!(cas, vec![(2, Some(0x48)), (3, Some(0x4F))]);
    let maps: Vec<_> = ca3.pace_infos().map(|p| p.protocol().unwrap().mapping).collect();
    assert_eq!(maps, vec![PaceMapping::EcdhGm, PaceMapping::EcdhCam]);
    let unknown: Vec<_> = ca3
        .unknown_infos()
        .map(|u| u.protocol.unwrap().to_string())
        .collect();
    assert_eq!(unknown, vec!["0.4.0.127.0.7.2.2.11.1.2.3"]);
    let pt = ca3
        .infos
        .iter()
        .find_map(|i| match i {
            SecurityInfo::PrivilegedTerminal(pt) => Some(pt),
            _ => None,
        })
        .unwrap();
    let inner: Vec<_> = pt.infos.chip_authentication_infos().map(|c| c.key_id).collect();
    assert_eq!(inner, vec![Some(0x49)]);
    assert_eq!(pt.infos.chip_authentication_domain_parameter_infos().count(), 1);
    assert_roundtrip(&ca3);
}

#[test]
fn openpace_card_security_dan() {
    let bytes = read("lds/openpace_cardaccess_samples/ef_cardsecurity_dan.bin");
    let cs = CardSecurity::decode(&bytes).unwrap();
    assert!(cs.is_security_object());
    assert_eq!(cs.econtent_type().to_string(), "0.4.0.127.0.7.3.2.1");
    assert_eq!(cs.econtent().len(), 310);
    assert_eq!(cs.raw, bytes);
    let s = &cs.security_infos;
    let pk = s.chip_authentication_public_keys().next().unwrap();
    assert!(pk.is_ecdh());
    assert_eq!(pk.key_id, Some(0x41));
    assert_eq!(
        pk.public_key.algorithm.domain_parameters(),
        Ok(DomainParameterSpec::Standardized(13))
    );
    // two Restricted Identification infos and their domain parameters are kept raw
    let unknown: Vec<_> = s
        .unknown_infos()
        .map(|u| u.protocol.unwrap().to_string())
        .collect();
    assert_eq!(
        unknown,
        vec![
            "0.4.0.127.0.7.2.2.5.2.3",
            "0.4.0.127.0.7.2.2.5.2.3",
            "0.4.0.127.0.7.2.2.5.2"
        ]
    );
    assert_eq!(s.encode(), cs.econtent());
}

#[test]
fn bsi_worked_example_card_access_and_card_security() {
    for (variant, pace_oid, param, ca_oid, pk_len) in [
        (
            "ecdh",
            "0.4.0.127.0.7.2.2.4.2.2",
            13,
            "0.4.0.127.0.7.2.2.3.2.2",
            65usize,
        ),
        ("dh", "0.4.0.127.0.7.2.2.4.1.2", 0, "0.4.0.127.0.7.2.2.3.1.2", 131),
    ] {
        let ca = SecurityInfos::decode(&read(&format!(
            "protocol/bsi_eac_worked_example/{variant}_ef_cardaccess.bin"
        )))
        .unwrap();
        assert!(ca.warnings.is_empty());
        let p = ca.pace_infos().next().unwrap();
        assert_eq!(p.protocol.to_string(), pace_oid);
        assert_eq!(p.parameter_id, Some(param));
        assert_eq!(
            ca.chip_authentication_infos()
                .next()
                .unwrap()
                .protocol
                .to_string(),
            ca_oid
        );
        assert_eq!(
            ca.card_info_locator().unwrap().url,
            "https://www.hjp-consulting.com/home"
        );
        assert_roundtrip(&ca);

        let cs = CardSecurity::decode(&read(&format!(
            "protocol/bsi_eac_worked_example/{variant}_ef_cardsecurity.bin"
        )))
        .unwrap();
        let pk = cs
            .security_infos
            .chip_authentication_public_keys()
            .next()
            .unwrap();
        assert_eq!(pk.key_id, Some(1));
        assert_eq!(pk.public_key.subject_public_key.len(), pk_len);
        assert_eq!(
            pk.public_key.algorithm.domain_parameters(),
            Ok(DomainParameterSpec::Standardized(param))
        );
        if variant == "dh" {
            assert_eq!(pk.public_key.dh_public_value().unwrap().len(), 128);
        }
        assert_eq!(cs.security_infos.encode(), cs.econtent());
    }
}

#[test]
fn doc9303_app_i_chip_authentication_public_key_info() {
    let v = json("protocol/pace_cam_ecdh_brainpoolp256r1_doc9303_appendix_i.json");
    let info = hex::decode(
        v["expected"]["chip_authentication_public_key_info"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let set = emrtd::tlv::encode(0x31, &info);
    let s = SecurityInfos::decode(&set).unwrap();
    let pk = s.chip_authentication_public_keys().next().unwrap();
    assert_eq!(pk.key_id, Some(13));
    assert_eq!(
        hex::encode_upper(&pk.public_key.subject_public_key),
        v["expected"]["chip_static_public_pk_ic"].as_str().unwrap()
    );
    assert_eq!(s.encode(), set);
}

#[test]
fn worked_example_card_access_files_in_protocol_vectors() {
    for rel in [
        "protocol/pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json",
        "protocol/pace_dh_gm_1024_160_doc9303_g2.json",
    ] {
        let v = json(rel);
        let bytes = hex::decode(v["ef_cardaccess"].as_str().unwrap()).unwrap();
        let s = SecurityInfos::decode(&bytes).unwrap();
        let p = s.pace_infos().next().unwrap();
        assert_eq!(
            p.protocol.to_string(),
            v["domain_parameters"]["protocol_oid"].as_str().unwrap()
        );
        assert_eq!(
            u64::from(p.parameter_id.unwrap()),
            v["domain_parameters"]["standardized_parameter_id"]
                .as_u64()
                .unwrap()
        );
    }
    let v = json("protocol/pace_real_sessions_gmrtd.json");
    for case in v["cases"].as_array().unwrap() {
        let bytes = hex::decode(case["inputs"]["ef_cardaccess"].as_str().unwrap()).unwrap();
        let s = SecurityInfos::decode(&bytes).unwrap();
        assert!(s.pace_infos().count() >= 1);
        assert_eq!(s.encode(), bytes);
    }
}

//! `emrtd inspect` on every kind of external vector in test-vectors/ (provenance in
//! test-vectors/MANIFEST.md): the text shows the values the vectors' expected.json
//! states, the JSON has the documented structure, images are never printed, and
//! undecodable input exits 2.

// test code: helpers outside #[test] functions may unwrap and index
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::{Command, Output};

use serde_json::Value;
use sha2::Digest;

fn path(rel: &str) -> String {
    format!("{}/test-vectors/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn expected(folder: &str) -> Value {
    serde_json::from_slice(&read(&format!("lds/{folder}/expected.json"))).unwrap()
}

fn emrtd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(args)
        .output()
        .unwrap()
}

/// `inspect FILE` text (exit 0 asserted).
fn text(rel: &str) -> String {
    let o = emrtd(&["inspect", &path(rel)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{rel}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Deserializes any JSON and fails on an object with a repeated key (serde_json's
/// `Value` would silently keep the last one, e.g. after a `#[serde(flatten)]` clash).
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NoDuplicateKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(k) = m.next_key::<String>()? {
                    if !seen.insert(k.clone()) {
                        return Err(serde::de::Error::custom(format!("duplicate key {k}")));
                    }
                    m.next_value::<NoDuplicateKeys>()?;
                }
                Ok(NoDuplicateKeys)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<NoDuplicateKeys>()?.is_some() {}
                Ok(NoDuplicateKeys)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
        }
        d.deserialize_any(V)
    }
}

/// `inspect --json FILE` (exit 0 and one key per JSON object asserted).
fn json(rel: &str) -> Value {
    let o = emrtd(&["inspect", "--json", &path(rel)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{rel}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    if let Err(e) = serde_json::from_slice::<NoDuplicateKeys>(&o.stdout) {
        panic!("{rel}: {e}");
    }
    serde_json::from_slice(&o.stdout).unwrap()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

/// `Dec 16 21:43:18 2013 GMT` (OpenSSL) → `2013-12-16T21:43:18Z`.
fn openssl_time(s: &str) -> String {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[0])
    .unwrap()
        + 1;
    let day: u32 = parts[1].parse().unwrap();
    format!("{}-{month:02}-{day:02}T{}Z", parts[3], parts[2])
}

fn colon_hex(s: &str) -> String {
    s.replace(':', "").to_uppercase()
}

// ---------------------------------------------------------------- EF.SOD

const SOD_VECTORS: [(&str, &str); 4] = [
    ("bsi_tr03105_5_refdata_zienit", "EF_SOD.bin"),
    ("etsi_tr103200_prototype_via_pymrtd", "EF_SOD.bin"),
    ("jmrtd_bsi2008", "EF_SOD.bin"),
    ("jmrtd_loes2006", "EF_SOD_ef011D.bin"),
];

#[test]
fn sod_text_and_json_show_what_expected_json_states() {
    for (folder, file) in SOD_VECTORS {
        let rel = format!("lds/{folder}/{file}");
        let e = &expected(folder)["sod"];
        let t = text(&rel);
        let j = json(&rel);
        assert_eq!(j["kind"], "sod", "{folder}");
        assert_eq!(j["sha256"], e["file_sha256"], "{folder}");
        let c = &j["content"];
        assert_eq!(c["signed_data_version"], e["signeddata_version"], "{folder}");
        assert_eq!(c["econtent_type"]["oid"], e["econtent_type"], "{folder}");
        let lso = &c["lds_security_object"];
        assert_eq!(lso["version"], e["lds_security_object_version"], "{folder}");
        assert_eq!(lso["hash_algorithm"]["name"], e["dg_hash_alg"], "{folder}");
        assert!(t.contains(&format!("hash algorithm: {}", e["dg_hash_alg"].as_str().unwrap())));
        let hashes = e["dg_hashes"].as_object().unwrap();
        assert_eq!(
            lso["dg_hashes"].as_array().unwrap().len(),
            hashes.len(),
            "{folder}"
        );
        for (dg, hash) in hashes {
            let h = hash.as_str().unwrap();
            assert!(t.contains(&format!("DG{dg}: {h}")), "{folder} DG{dg}");
            let entry = lso["dg_hashes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["data_group"].as_u64() == dg.parse().ok())
                .unwrap();
            assert_eq!(entry["hash"], h, "{folder} DG{dg}");
        }
        // signer infos
        let signers = e["signer_infos"].as_array().unwrap();
        assert_eq!(c["signer_infos"].as_array().unwrap().len(), signers.len());
        for (i, s) in signers.iter().enumerate() {
            let js = &c["signer_infos"][i];
            assert_eq!(js["version"], s["version"], "{folder}");
            assert_eq!(js["sid"]["kind"], "issuer_and_serial_number", "{folder}");
            assert_eq!(js["digest_algorithm"]["name"], s["digest_alg"], "{folder}");
            let sig = s["signature_alg"].as_str().unwrap();
            let got = js["signature_algorithm"]["name"].as_str().unwrap();
            // expected.json uses OpenSSL's long names for RSA PKCS#1 v1.5
            assert!(
                got == sig || got == sig.replace("WithRSA", "WithRSAEncryption"),
                "{folder}: {got} vs {sig}"
            );
            assert!(t.contains(&format!("signature algorithm: {got}")), "{folder}");
            assert_eq!(
                js["signed_attributes"].as_array().unwrap().is_empty(),
                !s["signed_attrs"].as_bool().unwrap()
            );
            // the sid names the embedded certificate
            assert_eq!(js["certificate"], 0, "{folder}");
        }
        // embedded certificates
        let certs = e["certs"].as_array().unwrap();
        assert_eq!(c["certificates"].as_array().unwrap().len(), certs.len());
        for (i, want) in certs.iter().enumerate() {
            let got = &c["certificates"][i];
            for (k, field) in [("subject", "subject"), ("issuer", "issuer")] {
                assert_eq!(got[field], want[k], "{folder} {field}");
                assert!(t.contains(want[k].as_str().unwrap()), "{folder} {field}");
            }
            assert_eq!(got["serial"], want["serial"], "{folder}");
            assert_eq!(got["sha256"], want["sha256"], "{folder}");
            assert_eq!(
                got["not_before"].as_str().unwrap(),
                openssl_time(want["notBefore"].as_str().unwrap()),
                "{folder}"
            );
            assert_eq!(
                got["not_after"].as_str().unwrap(),
                openssl_time(want["notAfter"].as_str().unwrap()),
                "{folder}"
            );
            assert_eq!(
                got["public_key"]["bits"].to_string(),
                want["keybits"].as_str().unwrap(),
                "{folder}"
            );
            assert!(
                got["public_key"]["algorithm"]
                    .as_str()
                    .unwrap()
                    .starts_with(want["pubkey"].as_str().unwrap()),
                "{folder}"
            );
            for (k, field) in [
                ("ski", "subject_key_identifier"),
                ("aki", "authority_key_identifier"),
            ] {
                match want[k].as_str() {
                    Some(v) => {
                        assert_eq!(got[field].as_str().unwrap(), colon_hex(v), "{folder} {k}");
                        assert!(t.contains(&colon_hex(v)), "{folder} {k}");
                    }
                    None => assert!(got.get(field).is_none(), "{folder} {k}"),
                }
            }
        }
    }
}

#[test]
fn sod_rsassa_pss_parameters_are_shown() {
    // pymrtd: RSASSA-PSS(SHA-256, MGF1-SHA-256, salt 32)
    let j = json("lds/bsi_tr03105_5_refdata_zienit/EF_SOD.bin");
    let pss = &j["content"]["signer_infos"][0]["pss"];
    assert!(pss["hash"].as_str().unwrap().starts_with("sha256"));
    assert!(pss["mgf1_hash"].as_str().unwrap().starts_with("sha256"));
    assert_eq!(pss["salt_length"], 32);
    assert_eq!(pss["trailer_field"], 1);
    let t = text("lds/bsi_tr03105_5_refdata_zienit/EF_SOD.bin");
    assert!(t.contains("PSS parameters: hash sha256"), "{t}");
    assert!(t.contains("salt length 32"));
}

#[test]
fn explicit_ec_parameters_in_a_dsc_are_a_named_warning() {
    // BSI 2008 DSC: brainpoolP224r1 written out explicitly
    let t = text("lds/jmrtd_bsi2008/EF_SOD.bin");
    assert!(t.contains("explicit parameters equal to brainpoolP224r1"), "{t}");
    assert!(t.contains("warning: explicit_ec_parameters"), "{t}");
    let j = json("lds/jmrtd_bsi2008/EF_SOD.bin");
    let cert = &j["content"]["certificates"][0];
    assert_eq!(cert["public_key"]["bits"], 224);
    assert!(cert["public_key"]["explicit_parameters"]["p"].is_string());
    let names: Vec<&str> = cert["quirks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"explicit_ec_parameters"), "{names:?}");
    // expected.json: this DSC has no SKI
    assert!(names.contains(&"missing_subject_key_identifier"), "{names:?}");
}

#[test]
fn bare_content_info_is_inspected_as_sod_with_a_quirk() {
    let sod = read("lds/jmrtd_bsi2008/EF_SOD.bin");
    let inner = emrtd::tlv::parse_ber(&sod).unwrap().value.to_vec();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bare.der");
    std::fs::write(&p, &inner).unwrap();
    let o = emrtd(&["inspect", "--json", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["kind"], "sod");
    assert!(
        j["content"]["quirks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["name"] == "sod_without_application_tag")
    );
}

// ---------------------------------------------------------------- DG2–DG7

/// No 16-byte window of the image appears in the output, in either hex case.
fn assert_no_image_bytes(output: &str, image: &[u8], what: &str) {
    let lower = output.to_lowercase();
    for start in (0..image.len().saturating_sub(16)).step_by(97) {
        let window = hex::encode(&image[start..start + 16]);
        assert!(!lower.contains(&window), "{what}: image bytes at {start} printed");
    }
}

#[test]
fn dg2_faces_show_type_dimensions_format_and_range_never_bytes() {
    let cases = [
        // (file, expected face sha256 from an outside source, encoding)
        (
            "lds/jmrtd_bsi2008/Datagroup2.bin",
            // tsemrtd: DG2 first image sha256 (same JP2 as its DG5 portrait)
            expected("tsemrtd_synthetic_dg11_dg12")["files"]["EF_DG5.bin"]["first_displayed_portrait_sha256"]
                .as_str()
                .unwrap()
                .to_owned(),
            "iso19794_5",
        ),
        (
            "lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_AllFields.dat",
            sha256_hex(&read("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg")),
            "iso39794_5",
        ),
        (
            "lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_MandFields.dat",
            sha256_hex(&read("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg")),
            "iso39794_5",
        ),
    ];
    for (rel, face_sha, encoding) in cases {
        let bytes = read(rel);
        let t = text(rel);
        let j = json(rel);
        assert_eq!(j["kind"], "dg2");
        let img = &j["content"]["images"][0];
        assert_eq!(img["role"], "face", "{rel}");
        assert_eq!(img["encoding"], encoding, "{rel}");
        assert_eq!(img["sha256"], face_sha.as_str(), "{rel}");
        assert_eq!(img["format"], "jp2", "{rel}");
        assert_eq!(
            (img["width"].as_u64(), img["height"].as_u64()),
            (Some(413), Some(531))
        );
        assert!(img["declared_type"].is_string(), "{rel}");
        let (off, end) = (
            img["offset"].as_u64().unwrap() as usize,
            img["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(sha256_hex(&bytes[off..end]), face_sha, "{rel}: byte range");
        assert!(t.contains(&format!("bytes {off}..{end}")), "{rel}");
        assert!(t.contains(&face_sha), "{rel}");
        assert_eq!(
            t.contains("declared dimensions: "),
            img["declared_width"].is_u64(),
            "{rel}"
        );
        assert!(t.contains("format type (88)"), "{rel}");
        assert_no_image_bytes(&t, &bytes[off..end], rel);
        assert_no_image_bytes(&j.to_string(), &bytes[off..end], rel);
    }
    // the 39794 all-fields sample declares 572x731 (its image is 413x531), the mandatory
    // fields sample declares no size
    let all = json("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_AllFields.dat");
    assert_eq!(all["content"]["images"][0]["declared_width"], 572);
    let mand = json("lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_MandFields.dat");
    assert!(mand["content"]["images"][0].get("declared_width").is_none());
    // the BSI 2008 face record declares 337x449 for a 413x531 image: a named warning
    let t = text("lds/jmrtd_bsi2008/Datagroup2.bin");
    assert!(t.contains("declared dimensions: 337x449"), "{t}");
    assert!(t.contains("warning: face_image_size_mismatch"), "{t}");
    assert!(t.contains("declared image type: JPEG 2000"), "{t}");
}

#[test]
fn dg2_loes_face_is_the_jpeg2000_at_the_end_of_the_file() {
    let rel = "lds/jmrtd_loes2006/DG2_ef0102.bin";
    let bytes = read(rel);
    // the SOD vouches for this DG2
    assert_eq!(
        hex::encode_upper(sha2::Sha256::digest(&bytes)),
        expected("jmrtd_loes2006")["sod"]["dg_hashes"]["2"]
            .as_str()
            .unwrap()
    );
    let magic = [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20];
    let start = bytes.windows(8).position(|w| w == magic).unwrap();
    let j = json(rel);
    let img = &j["content"]["images"][0];
    assert_eq!(img["offset"].as_u64().unwrap() as usize, start);
    assert_eq!(img["end"].as_u64().unwrap() as usize, bytes.len());
    assert_eq!(img["sha256"], sha256_hex(&bytes[start..]));
}

#[test]
fn dg3_and_dg4_list_every_finger_and_iris() {
    let j = json("lds/jmrtd_bsi2008/Datagroup3.bin");
    let imgs = j["content"]["images"].as_array().unwrap();
    assert_eq!(imgs.len(), 2);
    for i in imgs {
        assert_eq!(i["role"], "finger");
        assert_eq!(i["format"], "wsq");
        assert_eq!(i["encoding"], "iso19794_4");
    }
    let t = text("lds/jmrtd_bsi2008/Datagroup3.bin");
    assert!(t.contains("format type (88): 0007 (ISO/IEC 19794-4 finger)"));
    assert!(t.contains("finger image 1"));
    assert!(t.contains("finger position 2 (right index finger), impression 0 (live-scan plain), quality 100, 620x620 pixels"), "{t}");
    assert!(t.contains("finger position 7 (left index finger)"), "{t}");
    assert!(t.contains("compression: 2 (wsq)"), "{t}");
    let j = json("lds/jmrtd_bsi2008/Datagroup4.bin");
    let imgs = j["content"]["images"].as_array().unwrap();
    assert_eq!(imgs.len(), 2);
    assert!(imgs.iter().all(|i| i["role"] == "iris" && i["format"] == "jp2"));
    let t = text("lds/jmrtd_bsi2008/Datagroup4.bin");
    assert!(
        t.contains("right eye image") && t.contains("left eye image"),
        "{t}"
    );
}

#[test]
fn dg5_and_dg7_images() {
    let e = expected("tsemrtd_synthetic_dg11_dg12");
    for (file, key, role) in [
        ("EF_DG5.bin", "first_displayed_portrait_sha256", "portrait"),
        ("EF_DG7.bin", "first_displayed_signature_sha256", "signature"),
    ] {
        let rel = format!("lds/tsemrtd_synthetic_dg11_dg12/{file}");
        let want = e["files"][file][key].as_str().unwrap();
        let j = json(&rel);
        let img = &j["content"]["images"][0];
        assert_eq!(img["role"], role);
        assert_eq!(img["sha256"], want);
        let t = text(&rel);
        assert!(t.contains(want), "{t}");
        let bytes = read(&rel);
        let (off, end) = (
            img["offset"].as_u64().unwrap() as usize,
            img["end"].as_u64().unwrap() as usize,
        );
        assert_no_image_bytes(&t, &bytes[off..end], &rel);
    }
}

// ---------------------------------------------------------------- SecurityInfos

fn info_types(v: &Value) -> Vec<String> {
    v["infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn dg14_bsi2008_as_tsemrtd_describes_it() {
    // tsemrtd: DG14 TA v1 + CA 0.4.0.127.0.7.2.2.3.2.1 v1 + CA public key ecPublicKey
    let j = json("lds/jmrtd_bsi2008/Datagroup14.bin");
    assert_eq!(j["kind"], "dg14");
    let c = &j["content"];
    let types = info_types(c);
    assert!(types.contains(&"TerminalAuthenticationInfo".to_owned()));
    let ca = c["infos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "ChipAuthenticationInfo")
        .unwrap();
    assert_eq!(ca["protocol"], "0.4.0.127.0.7.2.2.3.2.1");
    assert_eq!(ca["version"], 1);
    let pk = c["infos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "ChipAuthenticationPublicKeyInfo")
        .unwrap();
    assert!(
        pk["public_key"]["algorithm"]
            .as_str()
            .unwrap()
            .starts_with("id-ecPublicKey")
    );
    assert!(pk["public_key"]["public_key"].as_str().unwrap().starts_with("04"));
    let t = text("lds/jmrtd_bsi2008/Datagroup14.bin");
    assert!(
        t.contains("id-CA-ECDH-3DES-CBC-CBC (0.4.0.127.0.7.2.2.3.2.1)"),
        "{t}"
    );
    assert!(t.contains("version: 1"));
}

#[test]
fn card_access_samples_name_protocols_and_parameters() {
    let t = text("lds/gmrtd_document_samples/EF_CardAccess_DE.bin");
    assert!(t.contains("id-PACE-ECDH-GM-AES-CBC-CMAC-128"), "{t}");
    assert!(t.contains("parameter id: 13 (brainpoolP256r1)"), "{t}");
    for f in [
        "ef_cardaccess_old_testcard.bin",
        "ef_cardaccess_new_testcard.bin",
        "ef_cardaccess_dan.bin",
        "ef_cardaccess_slowenia.bin",
        "ef_cardaccess_ca3.bin",
    ] {
        let j = json(&format!("lds/openpace_cardaccess_samples/{f}"));
        assert_eq!(j["kind"], "security_infos", "{f}");
        let infos = j["content"]["infos"].as_array().unwrap();
        assert!(!infos.is_empty(), "{f}");
        for i in infos {
            assert!(
                i["type"].is_string() && i["protocol"].is_string() && i["size"].is_u64(),
                "{f}"
            );
        }
        let types = info_types(&j["content"]);
        if f == "ef_cardaccess_slowenia.bin" {
            // a CA/TA card without PACE, read with a status word (62 82) appended
            assert!(!types.contains(&"PACEInfo".to_owned()));
            assert!(types.contains(&"ChipAuthenticationDomainParameterInfo".to_owned()));
            assert_eq!(j["content"]["quirks"][0]["name"], "trailing_bytes");
        } else {
            assert!(types.contains(&"PACEInfo".to_owned()), "{f}");
        }
    }
    // ca3: ChipAuthenticationInfo with key ids and a PrivilegedTerminalInfo
    let j = json("lds/openpace_cardaccess_samples/ef_cardaccess_ca3.bin");
    let infos = j["content"]["infos"].as_array().unwrap();
    assert!(
        infos
            .iter()
            .any(|i| i["type"] == "ChipAuthenticationInfo" && i["key_id"].is_u64())
    );
    let pt = infos
        .iter()
        .find(|i| i["type"] == "PrivilegedTerminalInfo")
        .unwrap();
    assert!(!pt["infos"]["infos"].as_array().unwrap().is_empty());
}

#[test]
fn card_security_shows_econtent_infos_signer_and_certificate() {
    let rel = "lds/openpace_cardaccess_samples/ef_cardsecurity_dan.bin";
    let e = expected("openpace_cardaccess_samples");
    let j = json(rel);
    assert_eq!(j["kind"], "card_security");
    let c = &j["content"];
    assert_eq!(
        c["econtent_type"]["oid"],
        e["independent_check"]["ef_cardsecurity_dan"]["econtent_type"]
    );
    assert!(!c["security_infos"]["infos"].as_array().unwrap().is_empty());
    assert_eq!(c["signer_infos"].as_array().unwrap().len(), 1);
    let s = &c["signer_infos"][0];
    assert_eq!(s["certificate"], 0);
    assert!(s["message_digest"].is_string());
    assert!(
        s["content_type"]
            .as_str()
            .unwrap()
            .contains("0.4.0.127.0.7.3.2.1")
    );
    // the DSC is issued by the German CSCA #13 of the same sample set
    let csca = json("lds/openpace_cardaccess_samples/csca_germany_013_self_signed_cer.cer");
    assert_eq!(c["certificates"][0]["issuer"], csca["content"]["subject"]);
    let t = text(rel);
    assert!(t.contains("SecurityInfos (eContent)"));
    assert!(t.contains("ChipAuthenticationPublicKeyInfo"));
    assert!(t.contains("signer info 1"));
}

// ---------------------------------------------------------------- PKI

#[test]
fn csca_certificate_summary() {
    let rel = "pki/csca_certs/NL_CSCA_serial6_20210621-20340630_zienit.cer";
    let j = json(rel);
    assert_eq!(j["kind"], "certificate");
    let c = &j["content"];
    // the file name: serialNumber 6, valid 2021-06-21 to 2034-06-30
    assert!(c["subject"].as_str().unwrap().contains("serialNumber=6"));
    assert!(c["not_before"].as_str().unwrap().starts_with("2021-06-21"));
    assert!(c["not_after"].as_str().unwrap().starts_with("2034-06-30"));
    assert_eq!(c["self_issued"], true);
    assert_eq!(c["basic_constraints"]["ca"], true);
    let ku: Vec<&str> = c["key_usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(ku.contains(&"keyCertSign") && ku.contains(&"cRLSign"));
    assert!(c["subject_key_identifier"].is_string());
    assert_eq!(c["sha256"], sha256_hex(&read(rel)));
    let t = text(rel);
    assert!(t.contains("basic constraints: cA true"));
    assert!(t.contains("key usage: keyCertSign, cRLSign"));
}

#[test]
fn master_lists_count_their_csca_certificates() {
    // MANIFEST.md: DE 541 certificates, signer "CSCA Master List Signer 0038" under the
    // German CSCA with SKI A40A5F…; NL 306 certificates, signer serialNumber 3 under
    // the NL CSCA serialNumber 6
    for (rel, count) in [
        ("pki/masterlists/DE_ML_2024-08-07-07-38-24.ml", 541),
        ("pki/masterlists/NL_MASTERLIST_20211207.mls", 306),
    ] {
        let j = json(rel);
        assert_eq!(j["kind"], "master_list");
        let c = &j["content"];
        assert_eq!(c["econtent_type"]["oid"], "2.23.136.1.1.2");
        assert_eq!(c["list_count"], count, "{rel}");
        let list = c["list_certificates"].as_array().unwrap();
        assert_eq!(list.len(), count);
        assert!(list.iter().all(|x| x.get("error").is_none()), "{rel}");
        assert_eq!(c["signer_infos"].as_array().unwrap().len(), 1);
        let t = text(rel);
        assert!(t.contains(&format!("CSCA certificates: {count}")), "{rel}");
    }
    let de = json("pki/masterlists/DE_ML_2024-08-07-07-38-24.ml");
    let signer = &de["content"]["certificates"]
        [de["content"]["signer_infos"][0]["certificate"].as_u64().unwrap() as usize];
    assert!(
        signer["subject"]
            .as_str()
            .unwrap()
            .contains("CN=CSCA Master List Signer")
    );
    assert!(
        signer["authority_key_identifier"]
            .as_str()
            .unwrap()
            .starts_with("A40A5F")
    );
    let nl = json("pki/masterlists/NL_MASTERLIST_20211207.mls");
    let i = nl["content"]["signer_infos"][0]["certificate"].as_u64().unwrap() as usize;
    let signer = &nl["content"]["certificates"][i];
    assert!(
        signer["subject"]
            .as_str()
            .unwrap()
            .ends_with("CN=Masterlist Signer NL,serialNumber=3")
    );
    // issued by the NL CSCA serialNumber 6 of csca_certs/
    let csca = json("pki/csca_certs/NL_CSCA_serial6_20210621-20340630_zienit.cer");
    assert_eq!(signer["issuer"], csca["content"]["subject"]);
    assert_eq!(
        signer["authority_key_identifier"],
        csca["content"]["subject_key_identifier"]
    );
}

/// A minimal DER CRL, unsigned (inspect does not verify): issuer CN=Test CSCA,C=UT,
/// two revoked serials, CRL number 7, AKI 0102…
fn test_crl() -> Vec<u8> {
    use emrtd::tlv::encode;
    let oid = |v: &[u8]| encode(0x06, v);
    let seq = |parts: &[Vec<u8>]| encode(0x30, &parts.concat());
    let ecdsa_sha256 = seq(&[oid(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02])]);
    let atv = |o: &[u8], v: &str| encode(0x31, &seq(&[oid(o), encode(0x13, v.as_bytes())]));
    let issuer = seq(&[
        atv(&[0x55, 0x04, 0x06], "UT"),
        atv(&[0x55, 0x04, 0x03], "Test CSCA"),
    ]);
    let revoked = seq(&[
        seq(&[encode(0x02, &[0x01, 0x23]), encode(0x17, b"240101000000Z")]),
        seq(&[encode(0x02, &[0x45]), encode(0x17, b"240102000000Z")]),
    ]);
    let aki = seq(&[
        oid(&[0x55, 0x1D, 0x23]),
        encode(0x04, &seq(&[encode(0x80, &[1, 2, 3, 4])])),
    ]);
    let crl_number = seq(&[oid(&[0x55, 0x1D, 0x14]), encode(0x04, &encode(0x02, &[7]))]);
    let tbs = seq(&[
        encode(0x02, &[1]),
        ecdsa_sha256.clone(),
        issuer,
        encode(0x17, b"240103000000Z"),
        encode(0x17, b"240203000000Z"),
        revoked,
        encode(0xA0, &seq(&[aki, crl_number])),
    ]);
    seq(&[tbs, ecdsa_sha256, encode(0x03, &[0x00, 0x30, 0x00])])
}

#[test]
fn crl_summary_and_pem() {
    let dir = tempfile::tempdir().unwrap();
    let der = dir.path().join("test.crl");
    std::fs::write(&der, test_crl()).unwrap();
    let o = emrtd(&["inspect", "--json", der.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["kind"], "crl");
    let c = &j["content"];
    assert_eq!(c["issuer"], "CN=Test CSCA,C=UT");
    assert_eq!(c["this_update"], "2024-01-03T00:00:00Z");
    assert_eq!(c["next_update"], "2024-02-03T00:00:00Z");
    assert_eq!(c["revoked_count"], 2);
    assert_eq!(c["revoked_serials"], serde_json::json!(["0123", "45"]));
    assert_eq!(c["crl_number"], "7");
    assert_eq!(c["authority_key_identifier"], "01020304");
    assert!(
        c["signature_algorithm"]["name"]
            .as_str()
            .unwrap()
            .contains("ecdsa-with-SHA256")
    );
    // the same CRL and a certificate as PEM: each block decoded by its kind
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let pem = format!(
        "-----BEGIN X509 CRL-----\n{}\n-----END X509 CRL-----\n-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        b64(&test_crl()),
        b64(&read(
            "lds/openpace_cardaccess_samples/csca_germany_013_self_signed_cer.cer"
        ))
    );
    let p = dir.path().join("both.pem");
    std::fs::write(&p, pem).unwrap();
    let o = emrtd(&["inspect", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(t.contains("revoked certificates: 2"), "{t}");
    assert!(t.contains("subject: CN=csca-germany"), "{t}");
}

// ---------------------------------------------------------------- exit codes

#[test]
fn undecodable_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, [0xFF, 0x00, 0x12]).unwrap();
    let o = emrtd(&["inspect", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("hint:"));
    // forced to a kind it is not
    for kind in ["dg2", "sod", "cardsecurity", "cert", "crl", "ml", "dg5"] {
        let o = emrtd(&["inspect", "--as", kind, &path("lds/jmrtd_bsi2008/Datagroup1.bin")]);
        assert_eq!(o.status.code(), Some(2), "--as {kind}");
        assert!(String::from_utf8_lossy(&o.stderr).starts_with("emrtd: error: "));
    }
    // a truncated SOD
    let sod = read("lds/jmrtd_bsi2008/EF_SOD.bin");
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &sod[..sod.len() / 2]).unwrap();
    let o = emrtd(&["inspect", "--as", "sod", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn as_overrides_detection() {
    // DG14 bytes inspected as a SecurityInfos SET fail (6E is not a SET) but as dg14 work
    let o = emrtd(&[
        "inspect",
        "--json",
        "--as",
        "dg14",
        &path("lds/jmrtd_bsi2008/Datagroup14.bin"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["detected_by"], "--as");
    let o = emrtd(&[
        "inspect",
        "--as",
        "cardaccess",
        &path("lds/jmrtd_bsi2008/Datagroup14.bin"),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn duplicate_key_checker_catches_duplicates() {
    assert!(serde_json::from_str::<NoDuplicateKeys>(r#"{"a": {"b": 1, "b": 2}}"#).is_err());
    assert!(serde_json::from_str::<NoDuplicateKeys>(r#"{"a": [{"b": 1}, {"b": 2}], "c": null}"#).is_ok());
}

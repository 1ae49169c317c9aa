//! LDS decoders (EF.COM, EF.DIR, DG1, DG11, DG12, DG15, DG16) against files and values
//! from outside this project (test-vectors/lds/*/expected.json, test-vectors/mrz,
//! test-vectors/protocol), plus proptests: no decoder panics, encoders roundtrip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;

use emrtd::lds::LdsFile;
use emrtd::lds::Quirk;
use emrtd::lds::com::Com;
use emrtd::lds::detect::{FileKind, detect};
use emrtd::lds::dg1::{Dg1, MrzFormat};
use emrtd::lds::dg11::{Dg11, field_parts, name_parts};
use emrtd::lds::dg12::Dg12;
use emrtd::lds::dg13::Dg13;
use emrtd::lds::dg15::{Dg15, EcParameters, PublicKeyInfo};
use emrtd::lds::dg16::{Dg16, PersonToNotify};
use emrtd::lds::dir::Dir;
use emrtd::lds::quirk::{DateEncoding, DateField};
use serde_json::Value;
use sha2::Digest;

const LDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-vectors/lds/");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{LDS}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn expected(folder: &str) -> Value {
    serde_json::from_slice(&read(&format!("{folder}/expected.json"))).unwrap()
}

/// The `expected` object of a file in gmrtd_document_samples/expected.json.
fn gmrtd(file: &str) -> Value {
    let e = expected("gmrtd_document_samples");
    let f = e["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == file)
        .unwrap_or_else(|| panic!("{file} not in expected.json"))
        .clone();
    // the file is the one described (size and SHA-256)
    let bytes = read(&format!("gmrtd_document_samples/{file}"));
    assert_eq!(bytes.len() as u64, f["size"].as_u64().unwrap());
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        f["sha256"].as_str().unwrap()
    );
    f["expected"].clone()
}

fn hex_tags(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| u32::from_str_radix(t.as_str().unwrap(), 16).unwrap())
        .collect()
}

/// Data groups hashed in an EF.SOD, from expected.json.
fn sod_dgs(folder: &str) -> BTreeSet<u8> {
    expected(folder)["sod"]["dg_hashes"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------
// EF.COM

#[test]
fn ef_com_doc9303_part10_sample() {
    let e = gmrtd("doc9303_p10_EF_COM.bin");
    let b = read("gmrtd_document_samples/doc9303_p10_EF_COM.bin");
    let c = Com::decode(&b).unwrap();
    assert_eq!(
        c.lds_version.as_ref().unwrap().raw,
        e["lds_version"].as_str().unwrap()
    );
    assert_eq!(c.lds_version.as_ref().unwrap().to_string(), "1.6");
    assert_eq!(
        c.unicode_version.as_ref().unwrap().raw,
        e["unicode_version"].as_str().unwrap()
    );
    let tags: Vec<u32> = c.tag_list.iter().map(|t| u32::from(*t)).collect();
    assert_eq!(tags, hex_tags(&e["tag_list"]));
    assert!(c.quirks.is_empty());
    assert_eq!(c.encode(), b);
}

#[test]
fn ef_com_bsi2008_as_asserted_by_tsemrtd() {
    // tsemrtd: COM ldsVersion 0107, unicode 040000, tags 6175636E
    let e = expected("jmrtd_bsi2008");
    assert!(
        e["source_stated_expectations"]["tsemrtd tests/index.test.ts"]
            .as_str()
            .unwrap()
            .contains("COM ldsVersion 0107, unicode 040000, tags 6175636E")
    );
    let b = read("jmrtd_bsi2008/EF_COM.bin");
    let c = Com::decode(&b).unwrap();
    assert_eq!(c.lds_version.as_ref().unwrap().raw, "0107");
    assert_eq!(c.lds_version.as_ref().unwrap().to_string(), "1.7");
    assert_eq!(c.unicode_version.as_ref().unwrap().raw, "040000");
    assert_eq!(c.unicode_version.as_ref().unwrap().to_string(), "4.0.0");
    assert_eq!(hex::encode_upper(&c.tag_list), "6175636E");
    assert_eq!(c.encode(), b);
}

#[test]
fn ef_com_tag_lists_agree_with_the_sod_of_the_same_document() {
    // COM lists exactly the DGs the issuer hashed in EF.SOD (expected.json from an
    // independent SOD parse)
    for (folder, com) in [
        ("jmrtd_bsi2008", "EF_COM.bin"),
        ("bsi_tr03105_5_refdata_zienit", "EF_COM.bin"),
        ("jmrtd_loes2006", "EF_COM_ef011E.bin"),
    ] {
        let b = read(&format!("{folder}/{com}"));
        let c = Com::decode(&b).unwrap();
        let dgs: BTreeSet<u8> = c
            .files()
            .into_iter()
            .map(|f| match f {
                LdsFile::Dg(n) => n,
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(dgs, sod_dgs(folder), "{folder}");
        assert_eq!(c.lds_version.as_ref().unwrap().to_string(), "1.7", "{folder}");
        assert!(c.quirks.is_empty());
        assert_eq!(c.encode(), b, "{folder}");
        assert_eq!(detect(&b), Some(FileKind::Com));
    }
}

// ---------------------------------------------------------------------------------
// EF.DIR

#[test]
fn ef_dir_doc9303_part10_table31() {
    let e = gmrtd("doc9303_p10_table31_EF_DIR.bin");
    let b = read("gmrtd_document_samples/doc9303_p10_table31_EF_DIR.bin");
    let d = Dir::decode(&b).unwrap();
    let aids: Vec<String> = d.aids().iter().map(hex::encode_upper).collect();
    let want: Vec<String> = e["application_aids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(aids, want);
    assert_eq!(d.applications[0].name(), Some("eMRTD (LDS1)"));
    assert!(d.quirks.is_empty());
    assert_eq!(detect(&b), Some(FileKind::Dir));
}

// ---------------------------------------------------------------------------------
// DG1

fn mrz_samples() -> Vec<Value> {
    let s: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/test-vectors/mrz/mrz_samples.json"
        ))
        .unwrap(),
    )
    .unwrap();
    s["valid_or_specimen"].as_array().unwrap().clone()
}

/// Compare our positional fields with the independent parse in mrz_samples.json.
fn assert_fields_match(d: &Dg1, sample: &Value) {
    let p = &sample["independent_parse"];
    let f = &d.fields;
    assert_eq!(d.format.to_string(), p["format"].as_str().unwrap());
    assert_eq!(f.document_code, p["doc_code"].as_str().unwrap());
    assert_eq!(f.issuing_state, p["issuer"].as_str().unwrap());
    assert_eq!(f.document_number, p["document_number"].as_str().unwrap());
    assert_eq!(
        f.document_number_check.to_string(),
        p["document_number_check_digit"].as_str().unwrap()
    );
    assert_eq!(f.nationality, p["nationality"].as_str().unwrap());
    assert_eq!(f.date_of_birth, p["date_of_birth"].as_str().unwrap());
    assert_eq!(
        f.date_of_birth_check.to_string(),
        p["dob_check_digit"].as_str().unwrap()
    );
    assert_eq!(f.sex.to_string(), p["sex"].as_str().unwrap());
    assert_eq!(f.date_of_expiry, p["date_of_expiry"].as_str().unwrap());
    assert_eq!(
        f.date_of_expiry_check.to_string(),
        p["doe_check_digit"].as_str().unwrap()
    );
    assert_eq!(f.name, p["name"].as_str().unwrap());
    assert_eq!(
        f.composite_check.map(|c| c.to_string()).as_deref(),
        p["composite_check_digit"].as_str()
    );
}

#[test]
fn dg1_files_match_the_independent_mrz_parse() {
    let samples = mrz_samples();
    for file in [
        "jmrtd_bsi2008/Datagroup1.bin",
        "etsi_tr103200_prototype_via_pymrtd/DG1.bin",
        "bsi_tr03105_5_refdata_zienit/Datagroup1.bin",
        "jmrtd_loes2006/DG1_ef0101.bin",
        "gmrtd_document_samples/DG1_TD2_doc9303_style.bin",
        "gmrtd_document_samples/DG1_TD3_AT_style_filler_checkdigit.bin",
    ] {
        let b = read(file);
        let d = Dg1::decode(&b).unwrap();
        let sample = samples
            .iter()
            .find(|s| s["mrz"].as_str() == Some(d.mrz.as_str()))
            .unwrap_or_else(|| panic!("{file}: MRZ not among the samples"));
        assert_fields_match(&d, sample);
        assert!(d.quirks.is_empty(), "{file}");
        // the MRZ module agrees with the positional fields, and every check digit holds
        let m = d.parse_mrz().unwrap();
        assert_eq!(m.document_number(), d.fields.document_number, "{file}");
        assert_eq!(m.mrz_information(), d.mrz_information(), "{file}");
        assert!(m.all_check_digits_ok(), "{file}");
        assert_eq!(d.encode(), b, "{file}");
        assert_eq!(Dg1::from_mrz(&d.lines().join("\n")).unwrap().encode(), b);
        assert_eq!(detect(&b), Some(FileKind::Dg(1)));
    }
}

#[test]
fn dg1_bsi2008_mrz_as_asserted_by_tsemrtd() {
    let d = Dg1::decode(&read("jmrtd_bsi2008/Datagroup1.bin")).unwrap();
    let mrz = "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<C11T002JM4D<<9608122F1310317<<<<<<<<<<<<<<<6";
    assert!(
        expected("jmrtd_bsi2008")["source_stated_expectations"]["tsemrtd tests/index.test.ts"]
            .as_str()
            .unwrap()
            .contains(mrz)
    );
    assert_eq!(d.mrz, mrz);
    assert_eq!(d.format, MrzFormat::Td3);
    assert_eq!(d.fields.document_number, "C11T002JM");
    assert_eq!(d.fields.primary_identifier(), "MUSTERMANN");
    assert_eq!(d.fields.secondary_identifier(), "ERIKA");
    assert_eq!(d.lines()[1], "C11T002JM4D<<9608122F1310317<<<<<<<<<<<<<<<6");
}

#[test]
fn dg1_gmrtd_samples_raw_mrz_and_bac_information() {
    for file in [
        "DG1_TD2_doc9303_style.bin",
        "DG1_TD3_AT_style_filler_checkdigit.bin",
    ] {
        let e = gmrtd(file);
        let d = Dg1::decode(&read(&format!("gmrtd_document_samples/{file}"))).unwrap();
        assert_eq!(d.mrz, e["raw_mrz"].as_str().unwrap());
        assert_eq!(
            &*d.mrz_information(),
            e["mrz_information_for_bac"].as_str().unwrap()
        );
    }
}

#[test]
fn dg1_from_every_valid_mrz_sample() {
    // all 15 specimen MRZs (TD1/TD2/TD3, long document numbers) through DG1
    for s in mrz_samples() {
        let d = Dg1::from_mrz(s["mrz"].as_str().unwrap()).unwrap();
        assert_fields_match(&d, &s);
        assert_eq!(Dg1::decode(&d.encode()).unwrap(), d);
    }
}

// ---------------------------------------------------------------------------------
// DG11

#[test]
fn dg11_doc9303_part10_a5() {
    let e = gmrtd("doc9303_p10_A5_DG11_length_fixed.bin");
    let b = read("gmrtd_document_samples/doc9303_p10_A5_DG11_length_fixed.bin");
    let d = Dg11::decode(&b).unwrap();
    let (primary, secondary) = name_parts(d.full_name.as_deref().unwrap());
    assert_eq!(primary, e["name_of_holder"]["primary"].as_str().unwrap());
    assert_eq!(secondary, e["name_of_holder"]["secondary"].as_str().unwrap());
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        field_parts(d.place_of_birth.as_deref().unwrap()),
        strings(&e["place_of_birth"])
    );
    assert_eq!(
        field_parts(d.address.as_deref().unwrap()),
        strings(&e["permanent_address"])
    );
    assert_eq!(d.telephone.as_deref(), e["telephone"].as_str());
    assert_eq!(
        field_parts(d.profession.as_deref().unwrap()).join(" "),
        e["profession"].as_str().unwrap()
    );
    assert_eq!(d.tag_list.as_ref().unwrap(), &hex_tags(&e["tag_list"]));
    assert!(d.quirks.is_empty(), "{:?}", d.quirks);
    assert_eq!(d.encode(), b);
    assert_eq!(detect(&b), Some(FileKind::Dg(11)));
}

#[test]
fn dg11_utf8_name_and_other_name_without_template() {
    let e = gmrtd("DG11_CN_utf8_name.bin");
    let d = Dg11::decode(&read("gmrtd_document_samples/DG11_CN_utf8_name.bin")).unwrap();
    assert!(e["name_of_holder"].as_str().unwrap().starts_with("赵彬"));
    assert_eq!(d.full_name.as_deref(), Some("赵彬"));
    assert_eq!(d.other_names.len(), 1);
    let (primary, secondary) = name_parts(&d.other_names[0]);
    assert_eq!(primary, e["other_names"][0]["primary"].as_str().unwrap());
    assert_eq!(secondary, e["other_names"][0]["secondary"].as_str().unwrap());
    // 5F0F appears directly in 6B instead of inside A0 { 02 count, 5F0F … }
    assert_eq!(
        d.quirks,
        vec![Quirk::MissingTemplate {
            tag: 0x5F0F,
            template: 0xA0
        }]
    );
}

#[test]
fn dg11_tsemrtd_synthetic_all_fields() {
    let e = &expected("tsemrtd_synthetic_dg11_dg12")["files"]["EF_DG11.bin"];
    let b = read("tsemrtd_synthetic_dg11_dg12/EF_DG11.bin");
    let d = Dg11::decode(&b).unwrap();
    let s = |k: &str| e[k].as_str().unwrap().to_owned();
    let parts = |k: &str| -> Vec<String> {
        e[k].as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(d.full_name.clone().unwrap(), s("nameOfHolder"));
    assert_eq!(d.other_names, vec![s("otherNames[0]")]);
    assert_eq!(d.personal_number.clone().unwrap(), s("personalNumber"));
    let dob = d.full_date_of_birth.clone().unwrap();
    assert_eq!(dob.text, s("fullDateOfBirth"));
    assert_eq!(dob.encoding, DateEncoding::Bcd);
    assert_eq!(
        field_parts(d.place_of_birth.as_deref().unwrap()),
        parts("placeOfBirth")
    );
    assert_eq!(
        field_parts(d.address.as_deref().unwrap()),
        parts("permanentAddress")
    );
    assert_eq!(d.telephone.clone().unwrap(), s("telephone"));
    assert_eq!(d.profession.clone().unwrap(), s("profession"));
    assert_eq!(d.title.clone().unwrap(), s("title"));
    assert_eq!(d.personal_summary.clone().unwrap(), s("personalSummary"));
    assert_eq!(
        field_parts(d.other_td_numbers.as_deref().unwrap()),
        parts("otherValidTDNumbers")
    );
    assert_eq!(d.custody_information.clone().unwrap(), s("custodyInformation"));
    assert_eq!(d.proof_of_citizenship.as_deref(), Some(&[0u8][..]));
    // the file's deviations, each named: BCD date; its tag list omits 5F17 (and lists A0)
    assert_eq!(
        d.quirks,
        vec![
            Quirk::BcdDate { tag: 0x5F2B },
            Quirk::TagListMismatch {
                listed_absent: vec![],
                present_unlisted: vec![0x5F17]
            }
        ]
    );
    assert_eq!(d.encode(), b);
}

// ---------------------------------------------------------------------------------
// DG12

#[test]
fn dg12_gmrtd_nz_and_fr() {
    let e = gmrtd("DG12_NZ_adapted.bin");
    let b = read("gmrtd_document_samples/DG12_NZ_adapted.bin");
    let d = Dg12::decode(&b).unwrap();
    let t = d.personalisation_time.clone().unwrap();
    assert_eq!(t.text, e["perso_date_time_5F55"].as_str().unwrap());
    assert_eq!(t.encoding, DateEncoding::Ascii);
    assert_eq!(t.iso().as_deref(), Some("2016-11-15 01:36:12"));
    assert_eq!(
        d.personalisation_device_serial.as_deref(),
        e["perso_system_serial_5F56"].as_str()
    );
    assert!(d.quirks.is_empty());
    assert_eq!(d.encode(), b);

    let e = gmrtd("DG12_FR.bin");
    let b = read("gmrtd_document_samples/DG12_FR.bin");
    let d = Dg12::decode(&b).unwrap();
    assert_eq!(
        d.issuing_authority.as_deref(),
        e["issuing_authority_5F19"].as_str()
    );
    let doi = d.date_of_issue.clone().unwrap();
    assert_eq!(doi.text, e["date_of_issue_5F26"].as_str().unwrap());
    assert_eq!(doi.encoding, DateEncoding::Ascii);
    assert!(d.quirks.is_empty());
    assert_eq!(d.encode(), b);
    assert_eq!(detect(&b), Some(FileKind::Dg(12)));
}

#[test]
fn dg12_tsemrtd_synthetic_bcd_dates_and_no_tag_list() {
    let e = &expected("tsemrtd_synthetic_dg11_dg12")["files"]["EF_DG12.bin"];
    let b = read("tsemrtd_synthetic_dg11_dg12/EF_DG12.bin");
    let d = Dg12::decode(&b).unwrap();
    let s = |k: &str| e[k].as_str().unwrap().to_owned();
    let doi = d.date_of_issue.clone().unwrap();
    assert_eq!(
        (doi.text.clone(), doi.encoding),
        (s("dateOfIssue"), DateEncoding::Bcd)
    );
    assert_eq!(d.issuing_authority.clone().unwrap(), s("issuingAuthority"));
    assert_eq!(d.other_persons, vec![s("namesOfOtherPersons[0]")]);
    assert_eq!(d.endorsements.clone().unwrap(), s("endorsements"));
    assert_eq!(d.tax_exit_requirements.clone().unwrap(), s("taxAndExitReqs"));
    let t = d.personalisation_time.clone().unwrap();
    assert_eq!(
        (t.text.clone(), t.encoding),
        (s("dateOfPersonalization"), DateEncoding::Bcd)
    );
    assert_eq!(
        d.personalisation_device_serial.clone().unwrap(),
        s("personalizationNumber")
    );
    assert_eq!(d.front_image.as_deref(), Some(&[0u8][..]));
    assert_eq!(d.rear_image.as_deref(), Some(&[0u8][..]));
    assert_eq!(
        d.quirks,
        vec![
            Quirk::BcdDate { tag: 0x5F26 },
            Quirk::BcdDate { tag: 0x5F55 },
            Quirk::MissingTagList
        ]
    );
    assert_eq!(d.encode(), b);
}

// ---------------------------------------------------------------------------------
// DG15

fn rsa_bits_of_openssl_key(d: &Dg15) -> u32 {
    d.public_key().unwrap().rsa().unwrap().size() * 8
}

#[test]
fn dg15_rsa_keys_of_the_vector_documents() {
    for (file, bits) in [
        ("jmrtd_bsi2008/Datagroup15.bin", 1024),
        ("bsi_tr03105_5_refdata_zienit/Datagroup15.bin", 1024),
        ("etsi_tr103200_prototype_via_pymrtd/DG15.bin", 1024),
        ("jmrtd_loes2006/DG15_ef010F.bin", 1024),
        ("gmrtd_document_samples/DG15_RSA1792.bin", 1792),
    ] {
        let b = read(file);
        let d = Dg15::decode(&b).unwrap();
        assert_eq!(d.algorithm_name(), "rsaEncryption", "{file}");
        assert_eq!(d.algorithm_oid, "1.2.840.113549.1.1.1");
        assert_eq!(d.key_bits(), Some(bits), "{file}");
        assert_eq!(d.rsa_exponent(), Some(65537), "{file}");
        assert_eq!(rsa_bits_of_openssl_key(&d), bits as u32, "{file}");
        let names: Vec<&str> = d.quirks.iter().map(Quirk::name).collect();
        if file.starts_with("jmrtd_bsi2008") {
            // the BSI 2008 booklet encodes its modulus CF9A… without the 00 sign octet
            assert_eq!(names, vec!["negative_integer_read_as_unsigned"], "{file}");
        } else {
            assert!(names.is_empty(), "{file}: {names:?}");
        }
        assert_eq!(d.encode(), b, "{file}");
        assert_eq!(Dg15::from_spki(&d.spki).unwrap().encode(), b);
        assert_eq!(detect(&b), Some(FileKind::Dg(15)));
    }
}

#[test]
fn dg15_bytes_are_the_ones_the_sod_hashed() {
    for (folder, file) in [
        ("etsi_tr103200_prototype_via_pymrtd", "DG15.bin"),
        ("jmrtd_loes2006", "DG15_ef010F.bin"),
    ] {
        let d = Dg15::decode(&read(&format!("{folder}/{file}"))).unwrap();
        let want = expected(folder)["sod"]["dg_hashes"]["15"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(hex::encode_upper(sha2::Sha256::digest(&d.raw)), want);
    }
}

#[test]
fn dg15_gmrtd_spki_and_tsemrtd_key_length() {
    let e = gmrtd("DG15_RSA1792.bin");
    let d = Dg15::decode(&read("gmrtd_document_samples/DG15_RSA1792.bin")).unwrap();
    assert_eq!(
        hex::encode_upper(&d.spki),
        e["subject_public_key_info_hex"].as_str().unwrap()
    );
    // tsemrtd: bsi2008 DG15 rsaEncryption, subjectPublicKey 139 bytes
    let d = Dg15::decode(&read("jmrtd_bsi2008/Datagroup15.bin")).unwrap();
    let spki = emrtd::tlv::parse(&d.spki).unwrap();
    let bits = spki.children().nth(1).unwrap().unwrap();
    assert_eq!(bits.value.len() - 1, 139);
}

#[test]
fn dg15_openssl_keys_recover_real_active_authentication_signatures() {
    // s^e mod n of a real AA signature is an ISO 9796-2 message: 6A … BC (or … 34CC)
    let aa: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/test-vectors/protocol/active_authentication_rsa.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let p = &aa["real_passport_pymrtd"];
    let d = Dg15::decode(&hex::decode(p["dg15"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(d.key_bits().map(|b| b as u64), p["rsa_modulus_bits"].as_u64());
    assert_eq!(d.rsa_exponent(), p["public_exponent"].as_u64());
    let rsa = d.public_key().unwrap().rsa().unwrap();
    let sig = hex::decode(p["cases"][0]["signature"].as_str().unwrap()).unwrap();
    let mut m = vec![0u8; rsa.size() as usize];
    let n = rsa
        .public_decrypt(&sig, &mut m, openssl::rsa::Padding::NONE)
        .unwrap();
    assert_eq!((m[0], m[n - 1]), (0x6A, 0xBC));

    let g = &aa["real_passport_gmrtd_session"];
    let d = Dg15::decode(&hex::decode(g["dg15"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(d.key_bits(), Some(1792));
    let rsa = d.public_key().unwrap().rsa().unwrap();
    let sig = hex::decode(g["expected_signature"].as_str().unwrap()).unwrap();
    let mut m = vec![0u8; rsa.size() as usize];
    let n = rsa
        .public_decrypt(&sig, &mut m, openssl::rsa::Padding::NONE)
        .unwrap();
    assert_eq!((m[0], m[n - 2], m[n - 1]), (0x6A, 0x34, 0xCC));
}

/// The SubjectPublicKeyInfo of the ChipAuthenticationPublicKeyInfo in a DG14.
fn ca_public_key_spki(dg14: &[u8]) -> Vec<u8> {
    let outer = emrtd::tlv::parse(dg14).unwrap();
    let set = outer.children().next().unwrap().unwrap();
    for info in set.children() {
        let info = info.unwrap();
        let kids: Vec<_> = info.children().map(Result::unwrap).collect();
        // id-PK-ECDH / id-PK-DH: 0.4.0.127.0.7.2.2.1.x
        if kids[0]
            .value
            .starts_with(&hex::decode("04007F0007020201").unwrap())
        {
            return kids[1].raw.to_vec();
        }
    }
    panic!("no ChipAuthenticationPublicKeyInfo");
}

#[test]
fn dg15_explicit_ec_parameters_from_real_dg14_keys() {
    // EC keys with explicit domain parameters, as chips write them (CA keys of DG14),
    // wrapped as DG15: the parameters are named by comparison with OpenSSL's groups
    // and the key is built from the explicit components.
    let at = gmrtd("DG14_AT.bin");
    assert!(
        at["ca_key"]
            .as_str()
            .unwrap()
            .starts_with("brainpoolP256r1 explicit parameters")
    );
    for (file, curve, bits) in [
        ("gmrtd_document_samples/DG14_AT.bin", "brainpoolP256r1", 256),
        ("gmrtd_document_samples/DG14_MY.bin", "brainpoolP256r1", 256),
        (
            "etsi_tr103200_prototype_via_pymrtd/DG14.bin",
            "brainpoolP224r1",
            224,
        ),
        (
            "gmrtd_document_samples/DG14_generic_3_PACE_CA_TA.bin",
            "brainpoolP384r1",
            384,
        ),
    ] {
        let spki = ca_public_key_spki(&read(file));
        let d = Dg15::from_spki(&spki).unwrap();
        assert_eq!(d.algorithm_name(), "id-ecPublicKey");
        let PublicKeyInfo::Ec {
            parameters: EcParameters::Explicit(c),
            ..
        } = &d.key
        else {
            panic!("{file}: explicit parameters expected");
        };
        assert_eq!(c.known_curve, Some(curve), "{file}");
        assert_eq!(c.field_bits, bits, "{file}");
        assert_eq!(d.key_bits(), Some(bits));
        assert_eq!(d.quirks, vec![Quirk::ExplicitEcParameters]);
        let key = d.public_key().unwrap();
        let ec = key.ec_key().unwrap();
        assert_eq!(ec.group().degree() as usize, bits);
        assert_eq!(d.spki, spki);
    }
}

// ---------------------------------------------------------------------------------
// DG16

#[test]
fn dg16_doc9303_part10_a6() {
    let e = gmrtd("doc9303_p10_A6_DG16.bin");
    let b = read("gmrtd_document_samples/doc9303_p10_A6_DG16.bin");
    let d = Dg16::decode(&b).unwrap();
    assert_eq!(d.declared_count, e["count"].as_u64().map(|n| n as usize));
    assert_eq!(d.persons.len(), 2);
    for (p, want) in d.persons.iter().zip(e["persons"].as_array().unwrap()) {
        assert_eq!(
            p.date_recorded.as_ref().unwrap().text,
            want["date_recorded"].as_str().unwrap()
        );
        assert_eq!(p.name.as_deref(), want["name"].as_str());
        assert_eq!(p.telephone.as_deref(), want["telephone"].as_str());
        assert_eq!(p.address.as_deref(), want["address"].as_str());
    }
    assert!(d.quirks.is_empty());
    assert_eq!(d.encode().unwrap(), b);
    assert_eq!(detect(&b), Some(FileKind::Dg(16)));
}

// ---------------------------------------------------------------------------------
// quirks on real bytes

#[test]
fn trailing_zero_padding_after_a_real_dg1() {
    let mut b = read("jmrtd_bsi2008/Datagroup1.bin");
    b.extend([0u8; 7]);
    let d = Dg1::decode(&b).unwrap();
    assert_eq!(d.quirks, vec![Quirk::TrailingZeroPadding { bytes: 7 }]);
    assert_eq!(d.raw, b);
    assert_eq!(d.fields.document_number, "C11T002JM");
}

#[test]
fn ber_non_minimal_length_in_a_real_dg15() {
    // 6F 81 A2 … rewritten as 6F 82 00 A2 …
    let b = read("etsi_tr103200_prototype_via_pymrtd/DG15.bin");
    let mut long = vec![0x6F, 0x82, 0x00];
    long.extend_from_slice(&b[2..]);
    let d = Dg15::decode(&long).unwrap();
    assert_eq!(d.quirks, vec![Quirk::NonMinimalLength { tag: 0x6F }]);
    assert_eq!(d.spki, Dg15::decode(&b).unwrap().spki);
}

// ---------------------------------------------------------------------------------
// proptest: never panic; roundtrips

mod props {
    use super::*;
    use proptest::prelude::*;

    const VECTOR_FILES: &[&str] = &[
        "jmrtd_bsi2008/EF_COM.bin",
        "jmrtd_bsi2008/Datagroup1.bin",
        "jmrtd_bsi2008/Datagroup15.bin",
        "gmrtd_document_samples/doc9303_p10_A5_DG11_length_fixed.bin",
        "gmrtd_document_samples/DG11_CN_utf8_name.bin",
        "gmrtd_document_samples/DG12_FR.bin",
        "gmrtd_document_samples/doc9303_p10_A6_DG16.bin",
        "gmrtd_document_samples/doc9303_p10_table31_EF_DIR.bin",
        "gmrtd_document_samples/DG15_RSA1792.bin",
        "gmrtd_document_samples/DG14_AT.bin",
        "tsemrtd_synthetic_dg11_dg12/EF_DG11.bin",
        "tsemrtd_synthetic_dg11_dg12/EF_DG12.bin",
    ];

    fn all_decoders(bytes: &[u8]) {
        let _ = Com::decode(bytes);
        let _ = Dir::decode(bytes);
        let _ = emrtd::lds::atr_info::AtrInfo::decode(bytes);
        let _ = Dg1::decode(bytes);
        let _ = Dg11::decode(bytes);
        let _ = Dg12::decode(bytes);
        let _ = Dg13::decode(bytes);
        let _ = Dg15::decode(bytes).map(|d| d.public_key());
        let _ = Dg16::decode(bytes);
        let _ = detect(bytes);
    }

    /// Structured garbage: nested TLVs with tags the decoders look for.
    fn tlv_tree() -> impl Strategy<Value = Vec<u8>> {
        let tags = prop_oneof![
            Just(0x02u32),
            Just(0x03),
            Just(0x04),
            Just(0x06),
            Just(0x30),
            Just(0x4F),
            Just(0x5C),
            Just(0x5F0E),
            Just(0x5F0F),
            Just(0x5F1F),
            Just(0x5F26),
            Just(0x5F2B),
            Just(0x5F50),
            Just(0x7F66),
            Just(0xA0),
            Just(0xA1),
            Just(0x61),
            Just(0x47),
            Just(0x5F01),
            Just(0x5F36),
        ];
        let leaf = (tags.clone(), proptest::collection::vec(any::<u8>(), 0..12))
            .prop_map(|(t, v)| emrtd::tlv::encode(t, &v));
        leaf.prop_recursive(4, 64, 6, move |inner| {
            (tags.clone(), proptest::collection::vec(inner, 0..6))
                .prop_map(|(t, kids)| emrtd::tlv::encode(t, &kids.concat()))
        })
    }

    proptest! {
        #[test]
        fn no_decoder_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            all_decoders(&bytes);
        }

        #[test]
        fn no_decoder_panics_behind_a_valid_outer_tag(
            tag in prop_oneof![Just(0x60u32), Just(0x61), Just(0x6B), Just(0x6C), Just(0x6D), Just(0x6F), Just(0x70), Just(0x7F66)],
            body in prop_oneof![proptest::collection::vec(any::<u8>(), 0..300), tlv_tree()],
            padding in 0usize..3,
        ) {
            let mut b = emrtd::tlv::encode(tag, &body);
            b.extend(std::iter::repeat_n(0u8, padding));
            all_decoders(&b);
        }

        #[test]
        fn no_decoder_panics_on_mutated_vectors(
            which in 0usize..VECTOR_FILES.len(),
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<proptest::sample::Index>(),
        ) {
            let mut b = read(VECTOR_FILES[which]);
            for (i, x) in &flips {
                let i = i.index(b.len());
                b[i] ^= *x;
            }
            all_decoders(&b);
            let n = cut.index(b.len());
            all_decoders(&b[..n]);
        }

        #[test]
        fn com_roundtrip(tags in proptest::collection::vec(1u8..=16, 0..16)) {
            let files: Vec<LdsFile> = tags.into_iter().map(LdsFile::Dg).collect();
            let c = Com::new(&files);
            let bytes = c.encode();
            let back = Com::decode(&bytes).unwrap();
            prop_assert_eq!(back.encode(), bytes);
            prop_assert_eq!(back.files(), files.clone());
            let expected_quirks = if files.is_empty() { vec![Quirk::EmptyField { tag: 0x5C }] } else { vec![] };
            prop_assert_eq!(&back.quirks, &expected_quirks);
            prop_assert_eq!(Com { raw: Vec::new(), quirks: Vec::new(), ..back }, c);
        }

        #[test]
        fn dg1_roundtrip(body in "[A-Z0-9<]{88}") {
            let d = Dg1::from_mrz(&body).unwrap();
            prop_assert_eq!(&d.mrz, &body);
            let back = Dg1::decode(&d.encode()).unwrap();
            prop_assert_eq!(back, d);
        }

        #[test]
        fn dg11_roundtrip(
            name in proptest::option::of("\\PC{0,40}"),
            others in proptest::collection::vec("\\PC{1,20}", 0..3),
            dob in proptest::option::of("[0-9]{8}"),
            address in proptest::option::of("[A-Z0-9 <]{1,60}"),
            image in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..200)),
        ) {
            let mut d = Dg11 {
                full_name: name,
                other_names: others,
                full_date_of_birth: dob.as_deref().map(DateField::ascii),
                address,
                proof_of_citizenship: image,
                ..Dg11::default()
            };
            d.update_tag_list();
            let bytes = d.encode();
            let back = Dg11::decode(&bytes).unwrap();
            prop_assert_eq!(back.encode(), bytes);
            let quirks = back.quirks.clone();
            prop_assert!(quirks.iter().all(|q| q.name() == "empty_field"), "{:?}", quirks);
            prop_assert_eq!(Dg11 { raw: Vec::new(), quirks: Vec::new(), ..back }, d);
        }

        #[test]
        fn dg12_roundtrip(
            authority in proptest::option::of("\\PC{1,40}"),
            doi in proptest::option::of("[0-9]{8}"),
            persons in proptest::collection::vec("[A-Z<]{1,30}", 0..4),
            front in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..300)),
            serial in proptest::option::of("[A-Z0-9-]{1,12}"),
        ) {
            let mut d = Dg12 {
                issuing_authority: authority,
                date_of_issue: doi.as_deref().map(DateField::ascii),
                other_persons: persons,
                front_image: front,
                personalisation_device_serial: serial,
                ..Dg12::default()
            };
            d.update_tag_list();
            let bytes = d.encode();
            let back = Dg12::decode(&bytes).unwrap();
            prop_assert!(back.quirks.is_empty(), "{:?}", back.quirks);
            prop_assert_eq!(back.encode(), bytes);
            prop_assert_eq!(Dg12 { raw: Vec::new(), ..back }, d);
        }

        #[test]
        fn dg16_roundtrip(people in proptest::collection::vec(
            ("[0-9]{8}", "[A-Z<]{1,30}", "[0-9]{5,15}", "[A-Z0-9 <]{1,60}"), 0..5)) {
            let d = Dg16::new(people.into_iter().map(|(date, name, tel, addr)| PersonToNotify {
                date_recorded: Some(DateField::ascii(&date)),
                name: Some(name),
                telephone: Some(tel),
                address: Some(addr),
                unknown: Vec::new(),
            }).collect());
            let bytes = d.encode().unwrap();
            let back = Dg16::decode(&bytes).unwrap();
            prop_assert!(back.quirks.is_empty());
            prop_assert_eq!(back.encode().unwrap(), bytes);
            prop_assert_eq!(Dg16 { raw: Vec::new(), ..back }, d);
        }
    }
}

#[test]
fn negative_integer_read_as_unsigned_bsi2008_dg15() {
    // 02 81 80 CF 9A …: the modulus lacks the 00 sign octet DER requires
    let b = read("jmrtd_bsi2008/Datagroup15.bin");
    assert_eq!(&b[28..32], &[0x02, 0x81, 0x80, 0xCF]);
    let d = Dg15::decode(&b).unwrap();
    assert_eq!(d.quirks.len(), 1);
    assert_eq!(d.quirks[0].name(), "negative_integer_read_as_unsigned");
    assert_eq!(d.key_bits(), Some(1024));
}

// ---------------------------------------------------------------------------------
// the binary: emrtd inspect

mod cli {
    use super::*;
    use std::process::{Command, Output};

    fn emrtd(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_emrtd"))
            .args(args)
            .env_remove("EMRTD_STORE")
            .output()
            .unwrap()
    }

    fn vector(path: &str) -> String {
        format!("{LDS}{path}")
    }

    #[test]
    fn inspect_ef_com() {
        let out = emrtd(&["inspect", &vector("jmrtd_bsi2008/EF_COM.bin")]);
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("EF.COM (24 bytes"), "{stdout}");
        assert!(stdout.contains("LDS version: 1.7 (0107)"), "{stdout}");
        assert!(stdout.contains("Unicode version: 4.0.0 (040000)"), "{stdout}");
        assert!(!stdout.contains("warning"), "{stdout}");
        assert!(stdout.contains("data groups: DG1, DG2, DG3, DG14"), "{stdout}");
    }

    #[test]
    fn inspect_json_dg1() {
        let out = emrtd(&["--json", "inspect", &vector("jmrtd_bsi2008/Datagroup1.bin")]);
        assert_eq!(out.status.code(), Some(0));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["kind"], "dg1");
        assert_eq!(v["size"], 93);
        assert_eq!(
            v["sha256"],
            "51b6fc0ef1946f3a86d2a4c9557c5d8ecff13113b4131089c5c48bf7291ffdf5"
        );
        assert_eq!(v["content"]["format"], "TD3");
        assert_eq!(v["content"]["fields"]["document_number"], "C11T002JM");
        assert_eq!(v["content"]["fields"]["date_of_birth"], "960812");
        assert_eq!(v["content"]["quirks"], serde_json::json!([]));
        assert!(v["content"]["mrz_check"].is_object(), "{v}");
        assert!(v["content"].get("mrz_error").is_none());
    }

    #[test]
    fn inspect_json_reports_quirks_by_name() {
        let out = emrtd(&[
            "--json",
            "inspect",
            &vector("tsemrtd_synthetic_dg11_dg12/EF_DG12.bin"),
        ]);
        assert_eq!(out.status.code(), Some(0));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let names: Vec<&str> = v["content"]["quirks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["bcd_date", "bcd_date", "missing_tag_list"]);
        assert_eq!(v["content"]["date_of_issue"]["encoding"], "bcd");
    }

    #[test]
    fn inspect_sod_and_card_access_typed_other_kinds_as_tlv_tree() {
        let out = emrtd(&["inspect", &vector("jmrtd_bsi2008/EF_SOD.bin")]);
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("ldsSecurityObject (2.23.136.1.1.1)"), "{stdout}");
        assert!(
            stdout.contains("FB1BC1921F4DC07947408A7CDD5CC0C928353809"),
            "{stdout}"
        );
        let out = emrtd(&[
            "--json",
            "inspect",
            &vector("openpace_cardaccess_samples/ef_cardaccess_dan.bin"),
        ]);
        assert_eq!(out.status.code(), Some(0));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["kind"], "security_infos");
        assert!(v["content"]["infos"][0]["type"].is_string(), "{v}");
        // DG9 (structure features, content not defined by Doc 9303): its data objects
        // listed, not interpreted
        let dir = tempfile::tempdir().unwrap();
        let dg9 = dir.path().join("dg9.bin");
        std::fs::write(&dg9, [0x69, 0x03, 0x04, 0x01, 0x41]).unwrap();
        let out = emrtd(&["--json", "inspect", dg9.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["kind"], "dg9");
        assert_eq!(v["content"]["feature"], "structure");
        assert_eq!(v["content"]["content"], "040141");
        assert_eq!(v["content"]["objects"][0]["tag"], "04");
        assert_eq!(v["content"]["objects"][0]["length"], 1);
        let out = emrtd(&["inspect", dg9.to_str().unwrap()]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("feature: structure feature(s)"), "{text}");
        assert!(!text.contains("BER-TLV tree"), "{text}");
    }

    #[test]
    fn garbage_and_unreadable_files_exit_2() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.bin");
        std::fs::write(&garbage, [0xFFu8, 0x13, 0x37, 0x00, 0x42]).unwrap();
        let out = emrtd(&["inspect", garbage.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("emrtd: error:"), "{stderr}");
        assert!(
            stderr.contains("cannot tell what kind of file this is"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());

        let missing = dir.path().join("missing.bin");
        let out = emrtd(&["inspect", missing.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8(out.stderr).unwrap().contains("cannot read"));

        // a real file forced to the wrong kind
        let out = emrtd(&["inspect", "--as", "dg1", &vector("jmrtd_bsi2008/EF_COM.bin")]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8(out.stderr)
                .unwrap()
                .contains("expected tag 61, found 60")
        );
    }

    #[test]
    fn inspect_dump_directory() {
        let dir = tempfile::tempdir().unwrap();
        for (src, name) in [
            ("jmrtd_bsi2008/EF_COM.bin", "EF.COM.bin"),
            ("jmrtd_bsi2008/EF_SOD.bin", "EF.SOD.bin"),
            ("jmrtd_bsi2008/Datagroup1.bin", "DG1.bin"),
            ("jmrtd_bsi2008/Datagroup15.bin", "DG15.bin"),
            ("jmrtd_bsi2008/Datagroup2.bin", "DG2.bin"),
        ] {
            std::fs::copy(vector(src), dir.path().join(name)).unwrap();
        }
        std::fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        let d = dir.path().to_str().unwrap();
        let out = emrtd(&["--json", "inspect", "--dump", d]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let kinds: Vec<&str> = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, vec!["com", "sod", "dg1", "dg2", "dg15"]);
        assert_eq!(v["files"][4]["content"]["algorithm_oid"], "1.2.840.113549.1.1.1");
        assert_eq!(v["files"][4]["content"]["public_key"], "ok");

        // one undecodable file: the others are still shown, the exit code is 2
        std::fs::write(dir.path().join("DG11.bin"), [0x6B, 0x05, 0x5F]).unwrap();
        let out = emrtd(&["inspect", "--dump", d]);
        assert_eq!(out.status.code(), Some(2));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("DG11.bin: error:"), "{stdout}");
        assert!(stdout.contains("document number: C11T002JM"), "{stdout}");
        assert!(String::from_utf8(out.stderr).unwrap().contains("1 of 6 file(s)"));
    }
}

#[test]
fn detect_every_vector_kind() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/test-vectors/");
    let at = |p: &str| std::fs::read(format!("{root}{p}")).unwrap();
    for (path, kind) in [
        ("lds/jmrtd_bsi2008/EF_SOD.bin", FileKind::Sod),
        ("lds/jmrtd_loes2006/EF_SOD_ef011D.bin", FileKind::Sod),
        ("lds/jmrtd_bsi2008/Datagroup2.bin", FileKind::Dg(2)),
        ("lds/jmrtd_bsi2008/Datagroup3.bin", FileKind::Dg(3)),
        ("lds/jmrtd_bsi2008/Datagroup4.bin", FileKind::Dg(4)),
        ("lds/jmrtd_bsi2008/Datagroup14.bin", FileKind::Dg(14)),
        ("lds/tsemrtd_synthetic_dg11_dg12/EF_DG5.bin", FileKind::Dg(5)),
        ("lds/tsemrtd_synthetic_dg11_dg12/EF_DG7.bin", FileKind::Dg(7)),
        (
            "lds/gmrtd_document_samples/EF_CardAccess_DE.bin",
            FileKind::SecurityInfos,
        ),
        (
            "lds/openpace_cardaccess_samples/ef_cardaccess_ca3.bin",
            FileKind::SecurityInfos,
        ),
        (
            "lds/openpace_cardaccess_samples/ef_cardsecurity_dan.bin",
            FileKind::CardSecurity,
        ),
        (
            "lds/openpace_cardaccess_samples/csca_germany_013_self_signed_cer.cer",
            FileKind::Certificate,
        ),
        (
            "pki/csca_certs/NL_CSCA_serial6_20210621-20340630_zienit.cer",
            FileKind::Certificate,
        ),
        (
            "pki/masterlists/DE_ML_2024-08-07-07-38-24.ml",
            FileKind::MasterList,
        ),
        ("pki/masterlists/NL_MASTERLIST_20211207.mls", FileKind::MasterList),
    ] {
        assert_eq!(detect(&at(path)), Some(kind), "{path}");
    }
    // a CRL: TBSCertList has thisUpdate (UTCTime) directly inside
    use emrtd::tlv::encode;
    let alg = encode(0x30, &encode(0x06, &hex::decode("2A8648CE3D040302").unwrap()));
    let issuer = encode(0x30, &[]);
    let tbs = encode(
        0x30,
        &[alg.clone(), issuer, encode(0x17, b"240101000000Z")].concat(),
    );
    let crl = encode(0x30, &[tbs, alg, encode(0x03, &[0, 1, 2])].concat());
    assert_eq!(detect(&crl), Some(FileKind::Crl));
}

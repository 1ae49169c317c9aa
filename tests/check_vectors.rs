//! `emrtd check` on every LDS vector set of test-vectors/lds (MANIFEST.md §2): the
//! findings each one must produce, pinned by check id. Their CSCAs are not public, so
//! the CSCA profile is skipped throughout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use emrtd::reader::Dump;
use emrtd::verify::Status;
use emrtd::verify::conformance::{ConformanceReport, check};

fn vectors(set: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("test-vectors/lds")
        .join(set)
}

/// A dump directory assembled from vector files (name in the dump, source path).
fn assemble(files: &[(&str, PathBuf)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, src) in files {
        std::fs::copy(src, dir.path().join(name)).unwrap();
    }
    dir
}

fn run(dir: &Path) -> ConformanceReport {
    check(&Dump::load(dir).unwrap(), None, &dir.display().to_string())
}

fn status(r: &ConformanceReport, id: &str) -> &'static str {
    match r.check(id) {
        None => "absent",
        Some(c) => match c.status {
            Status::Pass => "pass",
            Status::Fail if c.informational => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Indeterminate => "indeterminate",
        },
    }
}

fn reason<'r>(r: &'r ConformanceReport, id: &str) -> &'r str {
    r.check(id).map(|c| c.reason.as_str()).unwrap_or("")
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[test]
fn bsi2008_findings() {
    let r = run(&vectors("jmrtd_bsi2008"));
    assert!(!r.conformant);
    assert_eq!(
        sorted(&r.failed),
        vec![
            "dsc.country",
            "dsc.key_usage",
            "lds.com.tag_list",
            "lds.content.DG15",
            "sod.dg_coverage",
        ],
        "{r:#?}"
    );
    // DG15 (and DG4) are on the chip but EF.SOD has no hash for them
    assert!(reason(&r, "sod.dg_coverage").contains("DG15"));
    assert!(reason(&r, "sod.dg_coverage").contains("DG4"));
    // the AA key's modulus is encoded as a negative INTEGER
    assert!(reason(&r, "lds.content.DG15").contains("negative_integer_read_as_unsigned"));
    assert!(reason(&r, "lds.content.DG15").contains("modulus"));
    // SHA-1 throughout: deprecated, a warning
    for id in [
        "sod.hash_algorithm",
        "sod.digest_algorithm",
        "sod.signature_algorithm",
        "dsc.signature_algorithm",
    ] {
        assert_eq!(status(&r, id), "warn", "{id}");
        assert!(reason(&r, id).contains("SHA-1"), "{id}");
    }
    // the face record declares 337x449, the JPEG 2000 image is 413x531
    assert_eq!(status(&r, "dg2.image_size"), "warn");
    assert!(reason(&r, "dg2.image_size").contains("337x449"));
    assert!(reason(&r, "dg2.image_size").contains("413x531"));
    assert_eq!(status(&r, "dg2.image_type"), "pass");
    // the DSC has no key usage, no C= in its issuer, no SKI
    assert!(reason(&r, "dsc.key_usage").contains("no key usage"));
    assert_eq!(status(&r, "dsc.ski"), "warn");
    // what is right stays right
    for id in [
        "sod.signature",
        "sod.signed_attributes",
        "sod.dg_hash_values",
        "sod.lds_security_object_version",
        "mrz.check_digits",
        "lds.com.versions",
        "lds.com.sod",
        "chip.aa_info",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {}", reason(&r, id));
    }
    // the empty personal number's check digit is '<', which Part 4 allows
    assert!(reason(&r, "mrz.check_digits").contains("'<'"));
    // no trust store: the CSCA is not checked, and that is no failure
    assert_eq!(status(&r, "csca.found"), "skip");
}

#[test]
fn loes2006_conforms_with_one_warning() {
    let r = run(&vectors("jmrtd_loes2006"));
    assert!(r.conformant, "{:?}", r.failed);
    assert_eq!(r.warnings, vec!["dsc.document_types".to_string()]);
    for id in [
        "lds.present.EF.COM",
        "lds.present.EF.SOD",
        "lds.com.tag_list",
        "sod.hash_algorithm",
        "sod.signature",
        "sod.dg_coverage",
        "dsc.key_usage",
        "dsc.country",
        "chip.aa_info",
        "dg2.image_size",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {}", reason(&r, id));
    }
    assert!(reason(&r, "sod.hash_algorithm").contains("SHA-256"));
    assert!(reason(&r, "dsc.country").contains("NL"));
}

#[test]
fn bsi_tr03105_reference_set() {
    let v = vectors("bsi_tr03105_5_refdata_zienit");
    let b = vectors("jmrtd_bsi2008");
    let dir = assemble(&[
        ("EF.COM.bin", v.join("EF_COM.bin")),
        ("EF.SOD.bin", v.join("EF_SOD.bin")),
        ("DG1.bin", v.join("Datagroup1.bin")),
        ("DG2.bin", b.join("Datagroup2.bin")),
        ("DG3.bin", b.join("Datagroup3.bin")),
        ("DG4.bin", b.join("Datagroup4.bin")),
        ("DG14.bin", v.join("Datagroup14.bin")),
        ("DG15.bin", v.join("Datagroup15.bin")),
    ]);
    let r = run(dir.path());
    // DG15 is neither in EF.COM nor covered by EF.SOD
    assert_eq!(
        sorted(&r.failed),
        vec!["lds.com.tag_list", "sod.dg_coverage"],
        "{r:#?}"
    );
    assert!(reason(&r, "sod.dg_coverage").contains("DG15"));
    assert!(reason(&r, "sod.signature_algorithm").contains("pss"));
    assert_eq!(status(&r, "sod.dg_hash_values"), "pass");
    assert!(reason(&r, "sod.dg_hash_values").contains("DG4"));
    // the set as published (DG2-DG4 only in EF.SOD): listed, so skipped, not failed
    let r = run(&v);
    assert_eq!(status(&r, "lds.present.DG2"), "skip");
}

#[test]
fn etsi_prototype_has_no_ef_com() {
    let v = vectors("etsi_tr103200_prototype_via_pymrtd");
    let b = vectors("jmrtd_bsi2008");
    let dir = assemble(&[
        ("EF.SOD.bin", v.join("EF_SOD.bin")),
        ("DG1.bin", v.join("DG1.bin")),
        ("DG2.bin", b.join("Datagroup2.bin")),
        ("DG3.bin", b.join("Datagroup3.bin")),
        ("DG4.bin", b.join("Datagroup4.bin")),
        ("DG14.bin", v.join("DG14.bin")),
        ("DG15.bin", v.join("DG15.bin")),
    ]);
    let r = run(dir.path());
    assert_eq!(r.failed, vec!["lds.present.EF.COM".to_string()], "{r:#?}");
    assert_eq!(status(&r, "sod.dg_coverage"), "pass");
    assert_eq!(status(&r, "sod.signature"), "pass");
    assert_eq!(status(&r, "lds.com.tag_list"), "skip");
}

#[test]
fn gmrtd_document_samples() {
    let g = vectors("gmrtd_document_samples");
    let dir = assemble(&[
        ("EF.COM.bin", g.join("doc9303_p10_EF_COM.bin")),
        ("DG1.bin", g.join("DG1_TD2_doc9303_style.bin")),
        ("DG11.bin", g.join("DG11_CN_utf8_name.bin")),
        ("DG12.bin", g.join("DG12_FR.bin")),
        ("DG14.bin", g.join("DG14_AT.bin")),
        ("DG15.bin", g.join("DG15_RSA1792.bin")),
        ("DG16.bin", g.join("doc9303_p10_A6_DG16.bin")),
        ("EF.CardAccess.bin", g.join("EF_CardAccess_AT.bin")),
        ("EF.DIR.bin", g.join("doc9303_p10_table31_EF_DIR.bin")),
    ]);
    let r = run(dir.path());
    // the Part 10 sample EF.COM is LDS 1.6 and lists DG1, DG2 only
    assert_eq!(status(&r, "lds.com.versions"), "warn");
    assert!(reason(&r, "lds.com.versions").contains("1.6"));
    assert_eq!(status(&r, "lds.com.tag_list"), "fail");
    assert!(reason(&r, "lds.com.tag_list").contains("DG11 is present but not in the tag list"));
    // DG11's other name 5F0F stands outside its A0 template
    assert_eq!(status(&r, "lds.content.DG11"), "fail");
    assert!(reason(&r, "lds.content.DG11").contains("missing_template"));
    for f in [
        "DG1",
        "DG12",
        "DG14",
        "DG15",
        "DG16",
        "EF.CardAccess",
        "EF.DIR",
        "EF.COM",
    ] {
        assert_eq!(status(&r, &format!("lds.tlv.{f}")), "pass", "{f}");
        assert_eq!(
            status(&r, &format!("lds.content.{f}")),
            "pass",
            "{f}: {}",
            reason(&r, &format!("lds.content.{f}"))
        );
    }
    assert!(reason(&r, "mrz.parse").contains("TD2"));
    assert_eq!(status(&r, "mrz.check_digits"), "pass");
    // no EF.SOD: mandatory
    assert_eq!(status(&r, "lds.present.EF.SOD"), "fail");

    let dir = assemble(&[
        ("DG1.bin", g.join("DG1_TD3_AT_style_filler_checkdigit.bin")),
        ("DG11.bin", g.join("doc9303_p10_A5_DG11_length_fixed.bin")),
        ("DG12.bin", g.join("DG12_NZ_adapted.bin")),
        ("DG14.bin", g.join("DG14_MY.bin")),
        ("EF.CardAccess.bin", g.join("EF_CardAccess_DE.bin")),
    ]);
    let r = run(dir.path());
    assert_eq!(status(&r, "mrz.check_digits"), "pass");
    assert!(reason(&r, "mrz.check_digits").contains("'<'"));
    for f in ["DG11", "DG12", "DG14", "EF.CardAccess"] {
        assert_eq!(
            status(&r, &format!("lds.content.{f}")),
            "pass",
            "{f}: {}",
            reason(&r, &format!("lds.content.{f}"))
        );
    }
    let dir = assemble(&[("DG14.bin", g.join("DG14_generic_3_PACE_CA_TA.bin"))]);
    let r = run(dir.path());
    assert_eq!(status(&r, "lds.content.DG14"), "pass");
    assert_eq!(status(&r, "chip.ca_keys"), "skip");
}

#[test]
fn openpace_card_access_and_card_security() {
    let o = vectors("openpace_cardaccess_samples");
    let dir = assemble(&[
        ("EF.CardAccess.bin", o.join("ef_cardaccess_dan.bin")),
        ("EF.CardSecurity.bin", o.join("ef_cardsecurity_dan.bin")),
    ]);
    let r = run(dir.path());
    assert_eq!(
        status(&r, "chip.pace_infos"),
        "pass",
        "{}",
        reason(&r, "chip.pace_infos")
    );
    assert_eq!(status(&r, "lds.tag.EF.CardSecurity"), "pass");
    assert_eq!(status(&r, "lds.content.EF.CardSecurity"), "pass");
    // bytes after the SecurityInfos SET: 38 on the new test card, 2 on the Slovenian card
    for (file, n) in [
        ("ef_cardaccess_new_testcard.bin", 38),
        ("ef_cardaccess_slowenia.bin", 2),
    ] {
        let dir = assemble(&[("EF.CardAccess.bin", o.join(file))]);
        let r = run(dir.path());
        assert_eq!(status(&r, "lds.tlv.EF.CardAccess"), "fail", "{file}");
        assert!(
            reason(&r, "lds.tlv.EF.CardAccess").starts_with(&format!("{n} byte(s) after")),
            "{file}"
        );
    }
    for file in ["ef_cardaccess_old_testcard.bin", "ef_cardaccess_ca3.bin"] {
        let dir = assemble(&[("EF.CardAccess.bin", o.join(file))]);
        let r = run(dir.path());
        assert_eq!(status(&r, "lds.tlv.EF.CardAccess"), "pass", "{file}");
        assert_eq!(status(&r, "lds.content.EF.CardAccess"), "pass", "{file}");
    }
    // the "ca3" card offers PACE-CAM, which the dan card's EF.CardSecurity does not list
    let dir = assemble(&[
        ("EF.CardAccess.bin", o.join("ef_cardaccess_ca3.bin")),
        ("EF.CardSecurity.bin", o.join("ef_cardsecurity_dan.bin")),
    ]);
    let r = run(dir.path());
    assert_eq!(
        status(&r, "chip.pace_infos"),
        "fail",
        "{}",
        reason(&r, "chip.pace_infos")
    );
    assert!(reason(&r, "chip.pace_infos").contains("ECDH-CAM"));
    // DG14 of another chip: its CA key is not EF.CardSecurity's
    let dir = assemble(&[
        ("EF.CardSecurity.bin", o.join("ef_cardsecurity_dan.bin")),
        ("DG14.bin", vectors("jmrtd_bsi2008").join("Datagroup14.bin")),
    ]);
    let r = run(dir.path());
    assert_eq!(
        status(&r, "chip.ca_keys"),
        "fail",
        "{}",
        reason(&r, "chip.ca_keys")
    );
}

#[test]
fn bsi_eac_worked_example_card_access_matches_card_security() {
    let w = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-vectors/protocol/bsi_eac_worked_example");
    for kind in ["ecdh", "dh"] {
        let dir = assemble(&[
            ("EF.CardAccess.bin", w.join(format!("{kind}_ef_cardaccess.bin"))),
            (
                "EF.CardSecurity.bin",
                w.join(format!("{kind}_ef_cardsecurity.bin")),
            ),
        ]);
        let r = run(dir.path());
        assert_eq!(
            status(&r, "chip.pace_infos"),
            "pass",
            "{kind}: {}",
            reason(&r, "chip.pace_infos")
        );
        // a DG14 holding EF.CardSecurity's CA key(s) agrees with it
        let cs = emrtd::lds::security_infos::CardSecurity::decode(
            &std::fs::read(w.join(format!("{kind}_ef_cardsecurity.bin"))).unwrap(),
        )
        .unwrap();
        let keys: Vec<_> = cs
            .security_infos
            .infos
            .iter()
            .filter(|i| {
                matches!(
                    i,
                    emrtd::lds::security_infos::SecurityInfo::ChipAuthenticationPublicKey(_)
                )
            })
            .cloned()
            .collect();
        assert!(!keys.is_empty(), "{kind}");
        let dg14 = emrtd::lds::dg14::Dg14::from(emrtd::lds::security_infos::SecurityInfos::from_infos(keys))
            .encode();
        std::fs::write(dir.path().join("DG14.bin"), dg14).unwrap();
        let r = run(dir.path());
        assert_eq!(
            status(&r, "chip.ca_keys"),
            "pass",
            "{kind}: {}",
            reason(&r, "chip.ca_keys")
        );
    }
}

#[test]
fn tsemrtd_synthetic_data_groups() {
    let t = vectors("tsemrtd_synthetic_dg11_dg12");
    let dir = assemble(&[
        ("DG5.bin", t.join("EF_DG5.bin")),
        ("DG7.bin", t.join("EF_DG7.bin")),
        ("DG11.bin", t.join("EF_DG11.bin")),
        ("DG12.bin", t.join("EF_DG12.bin")),
    ]);
    let r = run(dir.path());
    assert_eq!(status(&r, "lds.content.DG11"), "fail");
    assert!(reason(&r, "lds.content.DG11").contains("tag_list_mismatch"));
    // its BCD date is a tolerated encoding: listed as a warning in the evidence
    let ev = &r.check("lds.content.DG11").unwrap().evidence;
    assert!(ev["warnings"].to_string().contains("bcd_date"), "{ev}");
    assert_eq!(status(&r, "lds.content.DG12"), "fail");
    assert!(reason(&r, "lds.content.DG12").contains("missing_tag_list"));
    assert_eq!(status(&r, "lds.content.DG5"), "pass");
    assert_eq!(status(&r, "lds.content.DG7"), "pass");
}

#[test]
fn iso39794_faces() {
    let i = vectors("iso39794_dg2_samples");
    let dir = assemble(&[("DG2.bin", i.join("ICAO_39794_5_AP_DG2_AllFields.dat"))]);
    let r = run(dir.path());
    assert_eq!(status(&r, "dg2.faces"), "pass");
    assert_eq!(status(&r, "dg2.image_type"), "pass");
    assert_eq!(status(&r, "dg2.biometric_header"), "pass");
    // the sample's image information block says 572x731; the JPEG is 413x531
    assert_eq!(status(&r, "dg2.image_size"), "warn");
    assert!(reason(&r, "dg2.image_size").contains("572x731"));
    let dir = assemble(&[("DG2.bin", i.join("ICAO_39794_5_AP_DG2_MandFields.dat"))]);
    let r = run(dir.path());
    for id in [
        "dg2.faces",
        "dg2.image_type",
        "dg2.image_size",
        "dg2.biometric_header",
        "lds.content.DG2",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {}", reason(&r, id));
    }
}

#[test]
fn check_cli_exit_codes_and_formats() {
    let cli = |args: &[&str]| {
        let store = tempfile::tempdir().unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_emrtd"))
            .args(args)
            .env("EMRTD_STORE", store.path().join("none.db"))
            .output()
            .unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8(o.stdout).unwrap(),
            String::from_utf8(o.stderr).unwrap(),
        )
    };
    let bsi = vectors("jmrtd_bsi2008");
    let loes = vectors("jmrtd_loes2006");
    let (code, out, _) = cli(&["check", "--dump", loes.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("CONFORMANT"), "{out}");
    assert!(out.contains("[warn] dsc.document_types"), "{out}");
    let (code, out, _) = cli(&["check", "--dump", bsi.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["conformant"], false);
    assert!(
        v["failed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "sod.dg_coverage")
    );
    let warn = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "sod.hash_algorithm")
        .unwrap();
    assert_eq!(
        (warn["status"].as_str(), warn["informational"].as_bool()),
        (Some("fail"), Some(true))
    );
    assert_eq!(warn["reference"], "Doc 9303 Part 10 §4.6.2");
    // two dumps: JSON lines, the worst exit
    let (code, out, _) = cli(&[
        "--json",
        "check",
        "--dump",
        loes.to_str().unwrap(),
        "--dump",
        bsi.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 2);
    // JUnit: one testcase per check, the Doc 9303 part as classname
    let (code, out, _) = cli(&["check", "--dump", bsi.to_str().unwrap(), "--format", "junit"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("<?xml"));
    assert!(
        out.contains("<testcase classname=\"Doc 9303 Part 10\" name=\"sod.dg_coverage\"><failure"),
        "{out}"
    );
    assert!(out.contains("<testcase classname=\"Doc 9303 Part 12\" name=\"dsc.key_usage\"><failure"));
    assert!(out.contains("<testcase classname=\"Doc 9303 Part 3\" name=\"mrz.check_digits\"></testcase>"));
    assert!(out.contains("name=\"sod.hash_algorithm\"><system-out>warning:"));
    assert!(out.contains("name=\"csca.found\"><skipped"));
    let cases = out.matches("<testcase ").count();
    assert!(
        out.contains(&format!("tests=\"{cases}\" failures=\"5\"")),
        "{out}"
    );
    // unusable input: exit 2
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = cli(&["check", "--dump", empty.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("holds no LDS files"), "{err}");
    let (code, _, _) = cli(&["check", "--dump", "/nonexistent/dump"]);
    assert_eq!(code, 2);
    let (code, _, _) = cli(&["check"]);
    assert_eq!(code, 2);
}

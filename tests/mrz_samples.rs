//! The MRZ samples of `test-vectors/mrz/mrz_samples.json` (Doc 9303 specimens, gmrtd,
//! dmrtd, pymrtd, PersoSim; see the MANIFEST §4) through `emrtd::mrz`, and the `emrtd mrz`
//! command run as a binary.

// Test helpers outside #[test] functions: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use emrtd::mrz::{
    CheckedField, LongNumberProblem, Mrz, MrzDefect, MrzError, MrzFormat, MrzWarning, check_digit,
};
use serde_json::Value;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-vectors/mrz/mrz_samples.json");

fn samples() -> Value {
    let text = std::fs::read_to_string(SAMPLES).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key].as_array().unwrap_or_else(|| panic!("{key} is not a list"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("{v} is not a string"))
}

fn ch(v: &Value) -> char {
    let t = s(v);
    assert_eq!(t.len(), 1, "{t}");
    t.chars().next().unwrap()
}

/// The sample file's names for the check-digit fields.
fn field_of(key: &str) -> CheckedField {
    match key {
        "document_number" => CheckedField::DocumentNumber,
        "date_of_birth" => CheckedField::DateOfBirth,
        "date_of_expiry" => CheckedField::DateOfExpiry,
        "personal_number" => CheckedField::OptionalData,
        "composite" => CheckedField::Composite,
        other => panic!("unknown check field {other}"),
    }
}

fn format_of(name: &str) -> MrzFormat {
    match name {
        "TD1" => MrzFormat::Td1,
        "TD2" => MrzFormat::Td2,
        "TD3" => MrzFormat::Td3,
        other => panic!("unknown format {other}"),
    }
}

#[test]
fn check_digit_examples_doc9303_part3_appendix_a() {
    let v = samples();
    let examples = list(&v, "check_digit_examples");
    assert_eq!(examples.len(), 11);
    for e in examples {
        let data = s(&e["data"]);
        let expected = ch(&e["check_digit"]).to_digit(10).unwrap() as u8;
        assert_eq!(check_digit(data), Some(expected), "{data}");
    }
}

#[test]
fn valid_and_specimen_samples_parse_with_the_listed_fields() {
    let v = samples();
    let cases = list(&v, "valid_or_specimen");
    assert_eq!(cases.len(), 15);
    for case in cases {
        let text = s(&case["mrz"]);
        let ip = &case["independent_parse"];
        let m = Mrz::parse(text).unwrap_or_else(|e| panic!("{}: {e}", case["origin"]));
        let ctx = s(&case["origin"]);

        assert_eq!(m.format(), format_of(s(&ip["format"])), "{ctx}");
        assert_eq!(m.lines().concat().len(), ip["length"].as_u64().unwrap() as usize);
        assert_eq!(m.document_code(), s(&ip["doc_code"]), "{ctx}");
        assert_eq!(m.issuing_state(), s(&ip["issuer"]), "{ctx}");
        assert_eq!(m.nationality(), s(&ip["nationality"]), "{ctx}");
        assert_eq!(m.name_field(), s(&ip["name"]), "{ctx}");
        assert_eq!(m.primary_identifier(), s(&ip["primary_identifier"]), "{ctx}");
        assert_eq!(m.secondary_identifier(), s(&ip["secondary_identifier"]), "{ctx}");
        assert_eq!(m.document_number(), s(&ip["document_number"]), "{ctx}");
        assert_eq!(m.birth_raw(), s(&ip["date_of_birth"]), "{ctx}");
        assert_eq!(m.expiry_raw(), s(&ip["date_of_expiry"]), "{ctx}");
        assert_eq!(m.sex(), ch(&ip["sex"]), "{ctx}");
        assert_eq!(&*m.mrz_information(), s(&ip["mrz_information_bac"]), "{ctx}");
        match m.format() {
            MrzFormat::Td1 => {
                assert_eq!(m.optional_data(), s(&ip["optional_data_1"]), "{ctx}");
                assert_eq!(m.optional_data_2(), Some(s(&ip["optional_data_2"])), "{ctx}");
            }
            MrzFormat::Td2 => assert_eq!(m.optional_data(), s(&ip["optional_data"]), "{ctx}"),
            _ => assert_eq!(m.optional_data(), s(&ip["personal_number"]), "{ctx}"),
        }

        // Given and computed digit and verdict of every check digit the file lists, and
        // no other check digit.
        let given_key = |key: &str| match key {
            "document_number" => "document_number_check_digit",
            "date_of_birth" => "dob_check_digit",
            "date_of_expiry" => "doe_check_digit",
            "personal_number" => "personal_number_check_digit",
            _ => "composite_check_digit",
        };
        let checks = ip["checks"].as_object().unwrap();
        assert_eq!(m.check_digits().len(), checks.len(), "{ctx}");
        for (key, ok) in checks {
            let cd = m.check_digit_of(field_of(key)).unwrap();
            assert_eq!(cd.ok, ok.as_bool().unwrap(), "{ctx}: {key}");
            assert_eq!(cd.given, ch(&ip[given_key(key)]), "{ctx}: {key}");
            assert_eq!(cd.computed, ch(&ip["computed"][key]), "{ctx}: {key}");
        }
        assert_eq!(m.all_check_digits_ok(), ip["valid"].as_bool().unwrap(), "{ctx}");
        assert_eq!(m.is_valid(), ip["valid"].as_bool().unwrap(), "{ctx}");
        assert!(m.defects().is_empty(), "{ctx}: {:?}", m.defects());
    }
}

/// The AT-style quirk: an all-filler personal number with `<` as its check digit is
/// accepted (as 0) and reported; with `0` it is plain valid.
#[test]
fn filler_personal_number_check_digit_at_style() {
    let v = samples();
    let cases = list(&v, "valid_or_specimen");
    let find = |origin_part: &str| {
        let c = cases
            .iter()
            .find(|c| s(&c["origin"]).contains(origin_part))
            .unwrap();
        Mrz::parse(s(&c["mrz"])).unwrap()
    };
    let at = find("as seen on AT passports");
    assert!(at.is_valid());
    assert_eq!(
        at.warnings(),
        &[MrzWarning::FillerCheckDigit {
            field: CheckedField::OptionalData
        }]
    );
    let cd = at.check_digit_of(CheckedField::OptionalData).unwrap();
    assert_eq!((cd.given, cd.computed, cd.ok), ('<', '0', true));
    let zero = find("pymrtd changed optional-data check digit");
    assert!(zero.is_valid() && zero.warnings().is_empty());
}

/// MANIFEST errata: Doc 9303 Part 11 D.2 ERIKSSON TD1/TD2 print composite 1 and 8,
/// the computed digit is 2; the NL TD1 of Part 10 A.2.1 prints 4, computed 8. The
/// field check digits and the BAC MRZ_information are unaffected.
#[test]
fn errata_doc9303_composite_digits() {
    let td1 = Mrz::parse(
        "I<UTOL898902C<3<<<<<<<<<<<<<<<6908061F9406236UTO<<<<<<<<<<<1ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    )
    .unwrap();
    let td2 = Mrz::parse("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<L898902C<3UTO6908061F9406236<<<<<<<8").unwrap();
    for (m, printed) in [(&td1, '1'), (&td2, '8')] {
        let failing: Vec<_> = m.failing_check_digits().collect();
        assert_eq!(failing.len(), 1);
        assert_eq!(
            (failing[0].field, failing[0].given, failing[0].computed),
            (CheckedField::Composite, printed, '2')
        );
        assert_eq!(m.document_number(), "L898902C");
        // The Doc 9303 Part 11 App. D.2 BAC worked example input.
        assert_eq!(&*m.mrz_information(), "L898902C<369080619406236");
    }
    // dmrtd's patched lines (composite 2) are fully valid.
    let patched = Mrz::parse(
        "I<UTOL898902C<3<<<<<<<<<<<<<<<6908061F9406236UTO<<<<<<<<<<<2ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    )
    .unwrap();
    assert!(patched.is_valid());

    let nl = Mrz::parse(
        "I<NLDXI85935F86999999990<<<<<<7208148F1108268NLD<<<<<<<<<<<4VAN<DER<STEEN<<MARIANNE<LOUISE",
    )
    .unwrap();
    let failing: Vec<_> = nl
        .failing_check_digits()
        .map(|c| (c.field, c.given, c.computed))
        .collect();
    assert_eq!(failing, [(CheckedField::Composite, '4', '8')]);
    assert_eq!(nl.primary_identifier(), "VAN DER STEEN");
    assert!(nl.name_may_be_truncated());
}

#[test]
fn invalid_samples_fail_for_the_reason_the_source_gives() {
    let v = samples();
    let cases = list(&v, "invalid");
    assert_eq!(cases.len(), 24);
    for case in cases {
        let text = s(&case["mrz"]);
        let reason = s(&case["reason_from_source"]);
        if case["independent_format"].is_null() {
            // Wrong length: no format fits, nothing is parsed.
            assert_eq!(
                Mrz::parse(text).err(),
                Some(MrzError::UnknownLength { length: text.len() }),
                "{reason}"
            );
            assert!(reason.contains("length"), "{reason}");
            continue;
        }
        let m = Mrz::parse(text).unwrap_or_else(|e| panic!("{reason}: {e}"));
        assert_eq!(m.format(), format_of(s(&case["independent_format"])), "{reason}");
        for (key, ok) in case["independent_checks"].as_object().unwrap() {
            let cd = m.check_digit_of(field_of(key)).unwrap();
            assert_eq!(cd.ok, ok.as_bool().unwrap(), "{reason}: {key}");
        }
        assert!(!m.is_valid(), "{reason}");

        // The failing check digit the source names.
        let named = [
            ("document-number check-digit", CheckedField::DocumentNumber),
            ("date-of-birth check-digit", CheckedField::DateOfBirth),
            ("date-of-expiry check-digit", CheckedField::DateOfExpiry),
            ("optional-data check-digit", CheckedField::OptionalData),
            ("composite check-digit", CheckedField::Composite),
        ];
        if let Some((_, field)) = named.iter().find(|(n, _)| reason.contains(n)) {
            assert!(!m.check_digit_of(*field).unwrap().ok, "{reason}");
            assert!(m.defects().is_empty(), "{reason}");
        } else if reason.contains("invalid name (3 components)") {
            // All check digits hold; the name layout is what is wrong.
            assert!(m.all_check_digits_ok(), "{reason}");
            assert_eq!(m.defects(), &[MrzDefect::NameSeparators { count: 2 }], "{reason}");
        } else if reason.contains("extended document-number not valid") {
            assert_eq!(
                m.defects(),
                &[MrzDefect::LongDocumentNumber {
                    problem: LongNumberProblem::NoContinuation
                }],
                "{reason}"
            );
            assert!(!m.check_digit_of(CheckedField::Composite).unwrap().ok);
        } else {
            panic!("reason not mapped: {reason}");
        }
    }
}

// ---------------------------------------------------------------------------------
// The binary

const TD3_VALID: &str =
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
const TD1_DOB_CD_WRONG: &str =
    "I<UTOD231458907<<<<<<<<<<<<<<<\n7408124F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<";

fn emrtd(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(args)
        .env_remove("EMRTD_STORE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn cli_valid_mrz_exits_0_with_json_fields() {
    let out = emrtd(&["mrz", TD3_VALID, "--json"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_of(&out);
    assert_eq!(j["format"], "TD3");
    assert_eq!(j["document_code"], "P<");
    assert_eq!(j["issuing_state"], "UTO");
    assert_eq!(j["primary_identifier"], "ERIKSSON");
    assert_eq!(j["secondary_identifier"], "ANNA MARIA");
    assert_eq!(j["document_number"], "L898902C3");
    assert_eq!(j["date_of_birth"], "740812");
    assert_eq!(j["date_of_expiry"], "120415");
    assert_eq!(j["sex"], "F");
    assert_eq!(j["mrz_information"], "L898902C3674081221204159");
    assert_eq!(j["valid"], true);
    assert_eq!(j["check_digits_ok"], true);
    let cds = j["check_digits"].as_array().unwrap();
    let fields: Vec<&str> = cds.iter().map(|c| s(&c["field"])).collect();
    assert_eq!(
        fields,
        [
            "document_number",
            "date_of_birth",
            "date_of_expiry",
            "optional_data",
            "composite"
        ]
    );
    assert!(cds.iter().all(|c| c["ok"] == true && c["given"] == c["computed"]));

    // Human output, MRZ from stdin.
    let out = emrtd(&["mrz", "-"], Some(&TD3_VALID.replace("\\n", "\n")));
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("composite         given 0  computed 0  pass"),
        "{text}"
    );
    assert!(text.contains("Result: valid, all 5 check digits pass"), "{text}");
}

#[test]
fn cli_failing_check_digit_exits_1() {
    let out = emrtd(&["--json", "mrz", TD1_DOB_CD_WRONG], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_of(&out);
    assert_eq!(j["format"], "TD1");
    assert_eq!(j["valid"], false);
    let failing: Vec<(&str, &str, &str)> = j["check_digits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| (s(&c["field"]), s(&c["given"]), s(&c["computed"])))
        .collect();
    assert_eq!(failing, [("date_of_birth", "4", "2"), ("composite", "6", "2")]);

    let out = emrtd(&["mrz", TD1_DOB_CD_WRONG], None);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Result: INVALID, 2 of 4 check digits fail (date of birth, composite)"),
        "{text}"
    );
}

#[test]
fn cli_unparseable_mrz_exits_2_with_a_positioned_error() {
    let out = emrtd(&["mrz", &TD3_VALID.replace("ERIKSSON", "ERIKSSÖN")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("emrtd: error: cannot parse the MRZ: invalid character 'Ö' at line 1 position 12"),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");

    let out = emrtd(&["--json", "mrz", &TD3_VALID[..TD3_VALID.len() - 1]], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wrong line length 43 for line 2, expected 44 (TD3)"),
        "{err}"
    );
    // No MRZ content in the error.
    assert!(!err.contains("L898902C"), "{err}");
}

//! Presenting a parsed MRZ (Doc 9303 Parts 3–7): the JSON document and the human report.

use std::fmt::Write as _;

use serde::Serialize;
use zeroize::Zeroizing;

use super::{CheckDigit, FILLER, Mrz, MrzFormat};

/// A warning or defect in JSON: a stable code and a sentence.
#[derive(Serialize)]
pub(super) struct Notice {
    code: &'static str,
    message: String,
}

/// The JSON document of `emrtd mrz --json`.
#[derive(Serialize)]
pub(super) struct Json<'a> {
    format: MrzFormat,
    document_code: &'a str,
    issuing_state: &'a str,
    primary_identifier: &'a str,
    secondary_identifier: &'a str,
    name_field: &'a str,
    name_may_be_truncated: bool,
    document_number: &'a str,
    nationality: &'a str,
    date_of_birth: &'a str,
    sex: char,
    date_of_expiry: &'a str,
    optional_data: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    optional_data_2: Option<&'a str>,
    #[serde(serialize_with = "serialize_secret_str")]
    mrz_information: Zeroizing<String>,
    check_digits: &'a [CheckDigit],
    check_digits_ok: bool,
    warnings: Vec<Notice>,
    defects: Vec<Notice>,
    valid: bool,
    lines: &'a [String],
}

fn serialize_secret_str<S: serde::Serializer>(
    value: &Zeroizing<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
}

impl<'a> Json<'a> {
    pub(super) fn of(mrz: &'a Mrz) -> Self {
        Json {
            format: mrz.format,
            document_code: &mrz.document_code,
            issuing_state: &mrz.issuing_state,
            primary_identifier: &mrz.primary_identifier,
            secondary_identifier: &mrz.secondary_identifier,
            name_field: &mrz.name_field,
            name_may_be_truncated: mrz.name_may_be_truncated(),
            document_number: &mrz.document_number,
            nationality: &mrz.nationality,
            date_of_birth: mrz.birth_raw(),
            sex: mrz.sex,
            date_of_expiry: mrz.expiry_raw(),
            optional_data: &mrz.optional_data,
            optional_data_2: mrz.optional_data_2(),
            mrz_information: mrz.mrz_information(),
            check_digits: &mrz.check_digits,
            check_digits_ok: mrz.all_check_digits_ok(),
            warnings: mrz
                .warnings
                .iter()
                .map(|w| Notice {
                    code: w.code(),
                    message: w.to_string(),
                })
                .collect(),
            defects: mrz
                .defects
                .iter()
                .map(|d| Notice {
                    code: d.code(),
                    message: d.to_string(),
                })
                .collect(),
            valid: mrz.is_valid(),
            lines: &mrz.lines,
        }
    }
}

fn row(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "{label:<22}{value}");
}

/// The human report printed by `emrtd mrz`.
pub(super) fn render(mrz: &Mrz) -> String {
    let mut out = String::new();
    row(
        &mut out,
        "Format",
        &format!("{} ({})", mrz.format, mrz.format.description()),
    );
    row(&mut out, "Document code", &mrz.document_code);
    row(&mut out, "Issuing state", &mrz.issuing_state);
    row(&mut out, "Primary identifier", &mrz.primary_identifier);
    row(&mut out, "Secondary identifier", &mrz.secondary_identifier);
    if mrz.name_may_be_truncated() {
        row(&mut out, "", "(the name fills its field: it may be truncated)");
    }
    row(&mut out, "Document number", &mrz.document_number);
    row(&mut out, "Nationality", &mrz.nationality);
    row(
        &mut out,
        "Date of birth",
        &format!("{} (YYMMDD)", mrz.birth_raw()),
    );
    let sex = match mrz.sex {
        'M' => "M (male)".to_owned(),
        'F' => "F (female)".to_owned(),
        'X' | FILLER => format!("{} (unspecified)", mrz.sex),
        other => other.to_string(),
    };
    row(&mut out, "Sex", &sex);
    row(
        &mut out,
        "Date of expiry",
        &format!("{} (YYMMDD)", mrz.expiry_raw()),
    );
    row(&mut out, "Optional data", &mrz.optional_data);
    if let Some(od2) = mrz.optional_data_2() {
        row(&mut out, "Optional data 2", od2);
    }
    row(&mut out, "MRZ_information", &mrz.mrz_information());

    out.push_str("\nCheck digits\n");
    for cd in &mrz.check_digits {
        let verdict = if !cd.ok {
            "FAIL"
        } else if cd.given != cd.computed {
            "pass (filler accepted as 0)"
        } else {
            "pass"
        };
        let _ = writeln!(
            out,
            "  {:<18}given {}  computed {}  {verdict}",
            cd.field.name(),
            cd.given,
            cd.computed
        );
    }
    if !mrz.warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for w in &mrz.warnings {
            let _ = writeln!(out, "  - {w} [{}]", w.code());
        }
    }
    if !mrz.defects.is_empty() {
        out.push_str("\nDefects\n");
        for d in &mrz.defects {
            let _ = writeln!(out, "  - {d} [{}]", d.code());
        }
    }

    let total = mrz.check_digits.len();
    let failing: Vec<&str> = mrz.failing_check_digits().map(|c| c.field.name()).collect();
    out.push('\n');
    if mrz.is_valid() {
        let _ = writeln!(out, "Result: valid, all {total} check digits pass");
    } else if !failing.is_empty() {
        let _ = write!(
            out,
            "Result: INVALID, {} of {total} check digits fail ({})",
            failing.len(),
            failing.join(", ")
        );
        if !mrz.defects.is_empty() {
            let _ = write!(out, " and {} layout defect(s)", mrz.defects.len());
        }
        out.push('\n');
    } else {
        let _ = writeln!(
            out,
            "Result: INVALID, all {total} check digits pass but the layout has {} defect(s)",
            mrz.defects.len()
        );
    }
    out
}

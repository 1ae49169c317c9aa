//! The MRZ in DG1 (Doc 9303 Part 3 §4.9 check digits; Part 4 TD3, Part 5 TD1, Part 6
//! TD2, Part 7 visas §4.2.2 field layout and document codes).

use serde_json::json;

use super::{Ctx, refs, warn};
use crate::lds::LdsFile;
use crate::mrz::{CheckedField, MrzFormat, MrzWarning};
use crate::verify::report::Check;

/// The part of Doc 9303 that defines a format's MRZ.
fn format_ref(f: MrzFormat) -> &'static str {
    match f {
        MrzFormat::Td3 => "Doc 9303 Part 4 §4.2.2",
        MrzFormat::Td1 => "Doc 9303 Part 5 §4.2.2",
        MrzFormat::Td2 => "Doc 9303 Part 6 §4.2.2",
        MrzFormat::MrvA | MrzFormat::MrvB => "Doc 9303 Part 7 §4.2.2",
    }
}

pub(super) fn checks(ctx: &Ctx<'_>) -> Vec<Check> {
    let ids = ["mrz.parse", "mrz.check_digits", "mrz.document_code", "mrz.fields"];
    let Some(dg1) = ctx.file(LdsFile::Dg(1)) else {
        return ids
            .iter()
            .map(|id| Check::skip(*id, "no DG1 in the dump").reference(refs::dg(1)))
            .collect();
    };
    let m = match crate::lds::dg1::Dg1::decode(dg1) {
        Err(e) => Err(format!("DG1 does not decode: {}", crate::error::text(&e))),
        Ok(d) => d
            .parse_mrz()
            .map_err(|e| format!("DG1's MRZ is not a Doc 9303 MRZ: {e}")),
    };
    let m = match m {
        Ok(m) => m,
        Err(why) => {
            let mut out = vec![Check::fail("mrz.parse", why).reference(refs::dg(1))];
            out.extend(
                ids.iter()
                    .skip(1)
                    .map(|id| Check::skip(*id, "DG1's MRZ does not parse").reference(refs::dg(1))),
            );
            return out;
        }
    };
    let format = m.format();
    let mut out = vec![
        Check::pass(
            "mrz.parse",
            format!("DG1 holds a {format} MRZ ({})", format.description()),
        )
        .reference(refs::dg(1)),
    ];

    // check digits
    let failing: Vec<String> = m
        .failing_check_digits()
        .map(|c| c.field.name().to_owned())
        .collect();
    let fillers: Vec<CheckedField> = m
        .warnings()
        .iter()
        .filter_map(|w| match w {
            MrzWarning::FillerCheckDigit { field } => Some(*field),
            _ => None,
        })
        .collect();
    let digits = json!({
        "check_digits": m.check_digits().iter().map(|c| json!({
            "field": c.field, "given": c.given.to_string(), "computed": c.computed.to_string(), "ok": c.ok,
        })).collect::<Vec<_>>(),
    });
    out.push(if !failing.is_empty() {
        Check::fail(
            "mrz.check_digits",
            format!("wrong check digit(s): {}", failing.join(", ")),
        )
        .with_evidence(digits)
        .reference(refs::CHECK_DIGITS)
    } else if fillers
        .iter()
        .any(|f| !(*f == CheckedField::OptionalData && format == MrzFormat::Td3))
    {
        // only TD3's personal number may have '<' as its check digit when it is empty
        let names: Vec<&str> = fillers.iter().map(|f| f.name()).collect();
        warn(
            "mrz.check_digits",
            format!(
                "the filler '<' stands for the check digit of the empty {} field(s)",
                names.join(", ")
            ),
        )
        .with_evidence(digits)
        .reference(refs::CHECK_DIGITS)
    } else {
        let mut reason = "every check digit is correct".to_owned();
        if !fillers.is_empty() {
            reason.push_str(
                " (the empty personal number has the filler '<' as its check digit, which Part 4 allows)",
            );
        }
        Check::pass("mrz.check_digits", reason)
            .with_evidence(digits)
            .reference(refs::CHECK_DIGITS)
    });

    // document code against the format
    let code = m.document_code().trim_end_matches('<').to_owned();
    let wrong_code = m
        .warnings()
        .iter()
        .any(|w| matches!(w, MrzWarning::UnexpectedDocumentCode { .. }));
    out.push(if wrong_code {
        let expected = match format {
            MrzFormat::Td3 => "P",
            MrzFormat::MrvA | MrzFormat::MrvB => "V",
            MrzFormat::Td1 | MrzFormat::Td2 => "A, C or I",
        };
        Check::fail(
            "mrz.document_code",
            format!("document code {code:?} does not start with {expected} as a {format} MRZ requires"),
        )
        .with_evidence(json!({"code": code, "format": format}))
        .reference(format_ref(format))
    } else {
        Check::pass(
            "mrz.document_code",
            format!("document code {code:?} fits the {format} format"),
        )
        .reference(format_ref(format))
    });

    // field layout
    let defects: Vec<String> = m.defects().iter().map(|d| format!("{}: {d}", d.code())).collect();
    out.push(if defects.is_empty() {
        Check::pass(
            "mrz.fields",
            "names, dates, sex and document number follow the field rules",
        )
        .reference(format_ref(format))
    } else {
        Check::fail("mrz.fields", defects.join("; "))
            .with_evidence(json!({"defects": m.defects().iter().map(|d| d.code()).collect::<Vec<_>>()}))
            .reference(format_ref(format))
    });
    out
}

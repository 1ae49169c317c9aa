//! LDS structure and tag rules (Doc 9303 Part 10 §4): the mandatory files, each file's
//! outer tag (Part 10 §4.6–4.7), a well-formed BER-TLV with nothing after it, what
//! each file's decoder finds, EF.COM's version values and its tag list against the
//! files present and against EF.SOD.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Ctx, findings, refs, warn};
use crate::lds::LdsFile;
use crate::lds::dg14::Dg14;
use crate::lds::group::Decoded;
use crate::lds::quirk::Quirk;
use crate::lds::security_infos::{CardSecurity, SecurityInfos, SecurityInfosWarning};
use crate::lds::sod::Sod;
use crate::tlv::{self, LengthForm, Tlv};
use crate::verify::report::Check;

/// Deepest nesting walked (real files nest about 8 deep).
const MAX_WALK_DEPTH: usize = 32;

pub(super) fn checks(ctx: &Ctx<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    for f in [LdsFile::Com, LdsFile::Sod, LdsFile::Dg(1), LdsFile::Dg(2)] {
        out.push(presence(ctx, f));
    }
    for (f, bytes) in &ctx.dump.files {
        let mut file_checks: Vec<Check> = tag_check(*f, bytes).into_iter().collect();
        file_checks.push(tlv_check(*f, bytes));
        file_checks.extend(content_check(*f, bytes));
        if *f == LdsFile::AtrInfo {
            // EF.ATR/INFO is ISO/IEC 7816-4's, optional, and varies between chip makers:
            // its findings are reported but do not count
            for c in &mut file_checks {
                c.informational = true;
            }
        }
        out.extend(file_checks);
    }
    out.extend(com_checks(ctx));
    out
}

/// EF.COM, EF.SOD, DG1 and DG2 are mandatory (Part 10 §4.6, §4.7.1, §4.7.2).
fn presence(ctx: &Ctx<'_>, f: LdsFile) -> Check {
    let name = f.name();
    let id = format!("lds.present.{name}");
    let r = refs::file(f);
    if ctx.file(f).is_some() {
        return Check::pass(id, format!("{name} is present")).reference(r);
    }
    if ctx.absent_sw(f) == Some("6A82") {
        return Check::fail(
            id,
            format!("{name} is mandatory but the chip does not have it (6A82)"),
        )
        .reference(r);
    }
    if let LdsFile::Dg(n) = f
        && ctx.known_elsewhere(n)
    {
        return Check::skip(
            id,
            format!("{name} is listed by EF.COM or EF.SOD but is not in the dump (read the document with every file)"),
        )
        .reference(r);
    }
    Check::fail(id, format!("{name} is mandatory but is not in the dump")).reference(r)
}

/// The tag a file must start with.
fn expected_tag(f: LdsFile) -> Option<u32> {
    match f {
        // ContentInfo SEQUENCE
        LdsFile::CardSecurity => Some(0x30),
        LdsFile::AtrInfo | LdsFile::Dir => None,
        other => other.tag(),
    }
}

fn tag_check(f: LdsFile, bytes: &[u8]) -> Option<Check> {
    let expected = expected_tag(f)?;
    let name = f.name();
    let id = format!("lds.tag.{name}");
    let r = refs::file(f);
    Some(match tlv::parse_header(bytes) {
        Ok(h) if h.tag == expected => {
            Check::pass(id, format!("{name} starts with tag {expected:02X}")).reference(r)
        }
        Ok(h) => Check::fail(
            id,
            format!(
                "{name} starts with tag {:02X}, Doc 9303 requires {expected:02X}",
                h.tag
            ),
        )
        .with_evidence(json!({"expected": format!("{expected:02X}"), "found": format!("{:02X}", h.tag)}))
        .reference(r),
        Err(e) => Check::fail(
            id,
            format!("{name} does not start with a TLV: {}", crate::error::text(&e)),
        )
        .reference(r),
    })
}

/// What a walk over the nested TLVs found.
#[derive(Default)]
struct Walk {
    elements: usize,
    non_minimal: BTreeSet<String>,
    indefinite: BTreeSet<String>,
    error: Option<String>,
}

fn walk(t: &Tlv<'_>, depth: usize, w: &mut Walk) {
    w.elements += 1;
    match t.form {
        LengthForm::NonMinimal => {
            w.non_minimal.insert(format!("{:02X}", t.tag));
        }
        LengthForm::Indefinite => {
            w.indefinite.insert(format!("{:02X}", t.tag));
        }
        LengthForm::Short | LengthForm::Long => {}
    }
    if !t.is_constructed() || w.error.is_some() {
        return;
    }
    if depth >= MAX_WALK_DEPTH {
        w.error = Some(format!("nesting deeper than {MAX_WALK_DEPTH} levels"));
        return;
    }
    let mut r = t.children_ber();
    while !r.is_empty() {
        match r.read() {
            Ok(k) => walk(&k, depth + 1, w),
            Err(e) => {
                w.error = Some(format!("inside tag {:02X}: {}", t.tag, crate::error::text(&e)));
                return;
            }
        }
        if w.error.is_some() {
            return;
        }
    }
}

/// A well-formed BER-TLV (every constructed element's content made of TLVs), nothing
/// after it but (tolerated) zero padding, DER length forms.
fn tlv_check(f: LdsFile, bytes: &[u8]) -> Check {
    let name = f.name();
    let id = format!("lds.tlv.{name}");
    let r = refs::file(f);
    let mut w = Walk::default();
    // EF.DIR and EF.ATR/INFO are sequences of data objects; the others one element
    let rest: &[u8] = if matches!(f, LdsFile::Dir | LdsFile::AtrInfo) {
        let mut reader = tlv::Reader::new_ber(bytes);
        loop {
            if reader.is_empty() || reader.only_zero_padding_left() {
                break reader.remaining();
            }
            match reader.read() {
                Ok(t) => walk(&t, 0, &mut w),
                Err(e) => {
                    w.error = Some(crate::error::text(&e));
                    break &[];
                }
            }
            if w.error.is_some() {
                break &[];
            }
        }
    } else {
        match tlv::parse_ber(bytes) {
            Ok(t) => {
                // DG13 holds issuer-defined data: only its outer element is BER-TLV by rule
                if f == LdsFile::Dg(13) {
                    w.elements = 1;
                } else {
                    walk(&t, 0, &mut w);
                }
                bytes.get(t.raw.len()..).unwrap_or_default()
            }
            Err(e) => {
                w.error = Some(crate::error::text(&e));
                &[]
            }
        }
    };
    if let Some(e) = w.error {
        return Check::fail(id, format!("{name} is not well-formed BER-TLV: {e}")).reference(r);
    }
    let evidence = json!({
        "elements": w.elements,
        "trailing_bytes": rest.len(),
        "non_minimal_lengths": w.non_minimal,
        "indefinite_lengths": w.indefinite,
    });
    if !rest.is_empty() && rest.iter().any(|b| *b != 0) {
        return Check::fail(id, format!("{} byte(s) after {name}'s data", rest.len()))
            .with_evidence(evidence)
            .reference(r);
    }
    let mut notes = Vec::new();
    if !rest.is_empty() {
        notes.push(format!("{} zero byte(s) of padding after the data", rest.len()));
    }
    if !w.indefinite.is_empty() {
        notes.push(format!(
            "BER indefinite lengths (tags {})",
            w.indefinite.iter().cloned().collect::<Vec<_>>().join(" ")
        ));
    }
    if !w.non_minimal.is_empty() {
        notes.push(format!(
            "non-minimal lengths (tags {})",
            w.non_minimal.iter().cloned().collect::<Vec<_>>().join(" ")
        ));
    }
    if notes.is_empty() {
        Check::pass(
            id,
            format!("{name} is well-formed ({} elements, DER lengths)", w.elements),
        )
        .with_evidence(evidence)
        .reference(r)
    } else {
        warn(
            id,
            format!("{name} is well-formed but not DER: {}", notes.join("; ")),
        )
        .with_evidence(evidence)
        .reference(r)
    }
}

/// How a decoder quirk counts here. `None`: reported by another check (or not a
/// deviation at all).
fn quirk_weight(q: &Quirk) -> Option<bool> {
    use Quirk as Q;
    match q {
        // lds.tlv
        Q::TrailingZeroPadding { .. }
        | Q::TrailingBytes { .. }
        | Q::NonMinimalLength { .. }
        | Q::IndefiniteLength { .. } => None,
        // explicit EC parameters are allowed (Part 11 §9.2, BSI TR-03110)
        Q::ExplicitEcParameters => None,
        // structure rules of Part 10: counted
        Q::MissingField { .. }
        | Q::MissingTagList
        | Q::InvalidCharacter { .. }
        | Q::DuplicateTag { .. }
        | Q::TagListMismatch { .. }
        | Q::CountMismatch { .. }
        | Q::MissingCount { .. }
        | Q::MissingTemplate { .. } => Some(true),
        Q::Other { name, .. } => match *name {
            // the dedicated sod.*, dg2.* and lds.com.* checks report these
            n if n.starts_with("sod_") || n.starts_with("face_") => None,
            "nonstandard_lds_security_object_oid" | "malformed_version" | "protected_biometric_template" => {
                None
            }
            // an INTEGER that must be positive (RSA modulus, exponent) encoded negative
            "negative_integer_read_as_unsigned"
            | "biometric_modality_mismatch"
            | "biometric_format_type_mismatch"
            | "finger_record_length_mismatch"
            | "iris_record_length_mismatch" => Some(true),
            _ => Some(false),
        },
        _ => Some(false),
    }
}

fn content_from_quirks(id: String, name: &str, r: String, quirks: &[Quirk]) -> Check {
    let mut counted = Vec::new();
    let mut warned = Vec::new();
    for q in quirks {
        match quirk_weight(q) {
            Some(true) => counted.push(q),
            Some(false) => warned.push(q),
            None => {}
        }
    }
    let list = |v: &[&Quirk]| v.iter().map(|q| format!("{}: {q}", q.name())).collect::<Vec<_>>();
    let evidence = json!({"counted": list(&counted), "warnings": list(&warned)});
    if !counted.is_empty() {
        Check::fail(id, format!("{name}: {}", list(&counted).join("; ")))
            .with_evidence(evidence)
            .reference(r)
    } else if !warned.is_empty() {
        warn(id, format!("{name}: {}", list(&warned).join("; ")))
            .with_evidence(evidence)
            .reference(r)
    } else {
        Check::pass(id, format!("{name} decodes as Doc 9303 defines it")).reference(r)
    }
}

fn content_from_security_infos(
    id: String,
    name: &str,
    r: String,
    warnings: &[SecurityInfosWarning],
) -> Check {
    let mut counted = Vec::new();
    let mut warned = Vec::new();
    for w in warnings {
        match w {
            // lds.tlv reports what follows the SET
            SecurityInfosWarning::TrailingBytes { .. } | SecurityInfosWarning::ZeroPadding { .. } => {}
            SecurityInfosWarning::MalformedInfo { .. } => counted.push(w.to_string()),
            _ => warned.push(w.to_string()),
        }
    }
    let evidence = json!({"counted": counted, "warnings": warned});
    if !counted.is_empty() {
        Check::fail(id, format!("{name}: {}", counted.join("; ")))
            .with_evidence(evidence)
            .reference(r)
    } else if !warned.is_empty() {
        warn(id, format!("{name}: {}", warned.join("; ")))
            .with_evidence(evidence)
            .reference(r)
    } else {
        Check::pass(id, format!("{name} decodes as Doc 9303 defines it")).reference(r)
    }
}

/// The file's own decoder: rejected → fail; its named quirks as above. The data
/// groups (and EF.COM, EF.DIR, EF.ATR/INFO) decode through the LDS registry
/// ([`Decoded`]). The security objects keep rules of their own here: EF.SOD by
/// [`Sod::decode`], which wants the tag `77` (the registry also reads a bare
/// ContentInfo, for `inspect`), and the SecurityInfos files by their warnings, where
/// a malformed SecurityInfo fails.
fn content_check(f: LdsFile, bytes: &[u8]) -> Option<Check> {
    let name = f.name();
    let id = format!("lds.content.{name}");
    let r = refs::file(f);
    let rejected = |e: &dyn std::error::Error| {
        Check::fail(
            id.clone(),
            format!("{name} does not decode: {}", crate::error::text(e)),
        )
        .reference(r.clone())
    };
    let s = |res: Result<SecurityInfos, crate::lds::security_infos::SecurityInfosError>| match res {
        Ok(infos) => content_from_security_infos(id.clone(), &name, r.clone(), &infos.warnings),
        Err(e) => rejected(&e),
    };
    Some(match f {
        LdsFile::Sod => match Sod::decode(bytes) {
            Ok(sod) => content_from_quirks(id.clone(), &name, r.clone(), &sod.quirks),
            Err(e) => rejected(&e),
        },
        LdsFile::Dg(14) => s(Dg14::decode(bytes).map(SecurityInfos::from)),
        LdsFile::CardAccess => s(SecurityInfos::decode(bytes)),
        LdsFile::CardSecurity => s(CardSecurity::decode(bytes).map(|c| c.security_infos)),
        // every other file through the registry
        _ => match Decoded::decode(f, bytes)? {
            Ok(d) => content_from_quirks(id.clone(), &name, r.clone(), &d.quirks()),
            Err(e) => rejected(&e),
        },
    })
}

/// EF.COM: versions, tag list against the files, tag list against EF.SOD.
fn com_checks(ctx: &Ctx<'_>) -> Vec<Check> {
    let ids = ["lds.com.versions", "lds.com.tag_list", "lds.com.sod"];
    let Some(com) = &ctx.com else {
        let why = if ctx.file(LdsFile::Com).is_some() {
            "EF.COM does not decode (see lds.content.EF.COM)"
        } else {
            "no EF.COM in the dump"
        };
        return ids
            .iter()
            .map(|id| Check::skip(*id, why).reference(refs::COM))
            .collect();
    };
    let mut out = vec![versions(com)];
    out.push(tag_list(ctx, com));
    out.push(match (ctx.com_dgs(), ctx.sod_dgs()) {
        (Some(c), Some(s)) => {
            let c: BTreeSet<u8> = c.into_iter().collect();
            let s: BTreeSet<u8> = s.into_iter().collect();
            if c == s {
                Check::pass(
                    "lds.com.sod",
                    "EF.COM lists exactly the data groups EF.SOD covers",
                )
                .reference(refs::COM)
            } else {
                let only_com: Vec<String> = c.difference(&s).map(|n| format!("DG{n}")).collect();
                let only_sod: Vec<String> = s.difference(&c).map(|n| format!("DG{n}")).collect();
                Check::fail(
                    "lds.com.sod",
                    format!(
                        "EF.COM and EF.SOD disagree: only in EF.COM [{}], only in EF.SOD [{}]",
                        only_com.join(", "),
                        only_sod.join(", ")
                    ),
                )
                .with_evidence(json!({"only_com": only_com, "only_sod": only_sod}))
                .reference(refs::COM)
            }
        }
        _ => Check::skip("lds.com.sod", "EF.SOD is not in the dump or does not decode").reference(refs::COM),
    });
    out
}

fn versions(com: &crate::lds::com::Com) -> Check {
    let id = "lds.com.versions";
    fn well_formed(v: Option<&crate::lds::com::Version>, len: usize) -> Option<&crate::lds::com::Version> {
        v.filter(|v| v.raw.len() == len && v.numbers().is_some())
    }
    let lds = well_formed(com.lds_version.as_ref(), 4);
    let unicode = well_formed(com.unicode_version.as_ref(), 6);
    let evidence = json!({
        "lds_version": com.lds_version.as_ref().map(|v| v.raw.clone()),
        "unicode_version": com.unicode_version.as_ref().map(|v| v.raw.clone()),
    });
    let mut problems = Vec::new();
    match (&com.lds_version, lds) {
        (None, _) => problems.push("the LDS version (5F01) is missing".to_owned()),
        (Some(_), None) => problems.push("the LDS version (5F01) is not four digits aabb".to_owned()),
        _ => {}
    }
    match (&com.unicode_version, unicode) {
        (None, _) => problems.push("the Unicode version (5F36) is missing".to_owned()),
        (Some(_), None) => problems.push("the Unicode version (5F36) is not six digits aabbcc".to_owned()),
        _ => {}
    }
    if !problems.is_empty() {
        return Check::fail(id, problems.join("; "))
            .with_evidence(evidence)
            .reference(refs::COM);
    }
    let (Some(lds), Some(unicode)) = (lds, unicode) else {
        return Check::fail(id, "versions missing").reference(refs::COM);
    };
    if !matches!(lds.raw.as_str(), "0107" | "0108") {
        return warn(
            id,
            format!("LDS version {lds} is neither 1.7 nor 1.8, the versions Doc 9303 (8th edition) defines"),
        )
        .with_evidence(evidence)
        .reference(refs::COM);
    }
    Check::pass(id, format!("LDS version {lds}, Unicode version {unicode}"))
        .with_evidence(evidence)
        .reference(refs::COM)
}

fn tag_list(ctx: &Ctx<'_>, com: &crate::lds::com::Com) -> Check {
    let id = "lds.com.tag_list";
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut seen = BTreeSet::new();
    for t in &com.tag_list {
        if LdsFile::from_com_tag(*t).is_none() {
            problems.push(format!("tag {t:02X} is not a data group tag"));
        }
        if !seen.insert(*t) {
            problems.push(format!("tag {t:02X} is listed twice"));
        }
    }
    let listed: BTreeSet<u8> = ctx.com_dgs().unwrap_or_default().into_iter().collect();
    for n in ctx.dgs_in_dump() {
        if !listed.contains(&n) {
            problems.push(format!("DG{n} is present but not in the tag list"));
        }
    }
    for n in &listed {
        let f = LdsFile::Dg(*n);
        if ctx.file(f).is_some() {
            continue;
        }
        match ctx.absent_sw(f) {
            Some("6A82") => problems.push(format!("DG{n} is listed but the chip does not have it (6A82)")),
            Some(sw) => notes.push(format!("DG{n} is listed and protected ({sw})")),
            None => notes.push(format!("DG{n} is listed but not in the dump")),
        }
    }
    let evidence = json!({
        "tag_list": hex::encode_upper(&com.tag_list),
        "notes": notes,
    });
    let mut reason = "the tag list names the data groups present".to_owned();
    if !notes.is_empty() {
        reason.push_str(&format!(" ({})", notes.join("; ")));
    }
    findings(id, &problems, reason, evidence, refs::COM)
}

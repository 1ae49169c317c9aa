//! The face in DG2 (Doc 9303 Part 10 §4.7.2; ISO/IEC 19794-5:2005 or 39794-5 in the
//! CBEFF templates of ISO/IEC 7816-11): at least one face image, the biometric header
//! naming a face record, the declared image type against the image bytes, the
//! declared dimensions against the image, and the record length.

use serde_json::json;

use super::{Ctx, refs, warn};
use crate::lds::LdsFile;
use crate::lds::biometric::{self, BiometricData, FORMAT_OWNER_JTC1_SC37, FORMAT_TYPE_FACE_19794};
use crate::verify::report::Check;

const IDS: [&str; 5] = [
    "dg2.faces",
    "dg2.biometric_header",
    "dg2.image_type",
    "dg2.image_size",
    "dg2.record_length",
];

fn quirk_details(group: &biometric::BiometricGroup, names: &[&str]) -> Vec<String> {
    group
        .quirks
        .iter()
        .filter(|q| names.contains(&q.name()))
        .map(|q| q.to_string())
        .collect()
}

pub(super) fn checks(ctx: &Ctx<'_>) -> Vec<Check> {
    let r = refs::DG2;
    let Some(bytes) = ctx.file(LdsFile::Dg(2)) else {
        return IDS
            .iter()
            .map(|id| Check::skip(*id, "no DG2 in the dump").reference(r))
            .collect();
    };
    let Ok(group) = biometric::BiometricGroup::decode(bytes, biometric::Modality::Face) else {
        return IDS
            .iter()
            .map(|id| Check::skip(*id, "DG2 does not decode (see lds.content.DG2)").reference(r))
            .collect();
    };
    let faces = group.faces();
    let mut out = Vec::new();
    out.push(if faces.is_empty() {
        Check::fail("dg2.faces", "DG2 holds no face image").reference(r)
    } else {
        Check::pass(
            "dg2.faces",
            format!(
                "{} face image(s) in {} template(s)",
                faces.len(),
                group.templates.len()
            ),
        )
        .with_evidence(json!({"faces": faces.len(), "templates": group.templates.len()}))
        .reference(r)
    });

    // the header must name a face record
    let mut header = Vec::new();
    for (i, t) in group.templates.iter().enumerate() {
        let h = &t.header;
        if h.biometric_type.is_some_and(|b| b != 2) {
            header.push(format!(
                "template {}: biometric type {} is not facial features (2)",
                i + 1,
                h.biometric_type.unwrap_or_default()
            ));
        }
        if matches!(t.data, BiometricData::Face19794(_))
            && (h.format_owner != FORMAT_OWNER_JTC1_SC37 || h.format_type != FORMAT_TYPE_FACE_19794)
        {
            header.push(format!(
                "template {}: format owner/type {:04X}/{:04X} instead of 0101/0008 for an ISO/IEC 19794-5 record",
                i + 1,
                h.format_owner,
                h.format_type
            ));
        }
    }
    header.extend(quirk_details(
        &group,
        &["biometric_modality_mismatch", "biometric_format_type_mismatch"],
    ));
    out.push(if header.is_empty() {
        Check::pass(
            "dg2.biometric_header",
            "every biometric header names a face record",
        )
        .reference(r)
    } else {
        Check::fail("dg2.biometric_header", header.join("; ")).reference(r)
    });

    let types = quirk_details(&group, &["face_image_type_mismatch", "face_image_unrecognised"]);
    out.push(if faces.is_empty() {
        Check::skip("dg2.image_type", "no face image").reference(r)
    } else if types.is_empty() {
        let kinds: Vec<String> = faces
            .iter()
            .map(|f| f.image.format().map_or_else(|| "?".to_owned(), |x| x.to_string()))
            .collect();
        Check::pass(
            "dg2.image_type",
            format!("declared image type matches the image ({})", kinds.join(", ")),
        )
        .reference(r)
    } else {
        Check::fail("dg2.image_type", types.join("; ")).reference(r)
    });

    let sizes = quirk_details(&group, &["face_image_size_mismatch"]);
    out.push(if faces.is_empty() {
        Check::skip("dg2.image_size", "no face image").reference(r)
    } else if sizes.is_empty() {
        Check::pass("dg2.image_size", "declared width and height match the image").reference(r)
    } else {
        // readers use the image's own dimensions; the record's are informative
        warn("dg2.image_size", sizes.join("; ")).reference(r)
    });

    let lengths = quirk_details(&group, &["face_record_length_mismatch"]);
    out.push(if lengths.is_empty() {
        Check::pass("dg2.record_length", "record lengths match the bytes present").reference(r)
    } else {
        Check::fail("dg2.record_length", lengths.join("; ")).reference(r)
    });
    out
}

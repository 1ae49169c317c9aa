//! EF.SOD, the Document Security Object (Doc 9303 Part 10 §4.6.2; RFC 5652 as
//! profiled there; Part 11 §5.1): SignedData version 3, the LDS security object
//! content type, LDSSecurityObject v0 without / v1 with LDSVersionInfo, the allowed
//! hash and signature algorithms, one SignerInfo with the signed attributes
//! contentType and messageDigest, the DSC embedded, and a hash for every data group.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::json;

use super::{Ctx, findings, refs, warn};
use crate::cms::{CmsQuirk, SignedData};
use crate::lds::LdsFile;
use crate::lds::sod::{HashAlgorithm, OID_LDS_SECURITY_OBJECT, SignerIdentifier, Sod};
use crate::pki::cert::Certificate;
use crate::pki::signature::SignatureAlgorithm;
use crate::verify::pa::PathRank;
use crate::verify::report::Check;

const IDS: [&str; 13] = [
    "sod.signed_data_version",
    "sod.econtent_type",
    "sod.lds_security_object_version",
    "sod.hash_algorithm",
    "sod.signer_infos",
    "sod.digest_algorithm",
    "sod.signature_algorithm",
    "sod.signed_attributes",
    "sod.dsc_embedded",
    "sod.signature",
    "sod.dg_hashes",
    "sod.dg_coverage",
    "sod.dg_hash_values",
];

pub(super) fn checks(ctx: &Ctx<'_>) -> Vec<Check> {
    let skip_all = |why: &str| -> Vec<Check> {
        IDS.iter()
            .map(|id| Check::skip(*id, why).reference(refs::SOD))
            .collect()
    };
    if ctx.file(LdsFile::Sod).is_none() {
        return skip_all("no EF.SOD in the dump (see lds.present.EF.SOD)");
    }
    let Some(sod) = &ctx.sod else {
        return skip_all("EF.SOD does not decode (see lds.content.EF.SOD)");
    };
    let mut out = vec![
        signed_data_version(sod),
        econtent_type(sod),
        lds_version(ctx, sod),
        hash_algorithm(sod),
        signer_infos(sod),
        digest_algorithm(sod),
        signature_algorithm(ctx),
        signed_attributes(sod),
    ];
    out.extend(dsc_and_signature(ctx));
    out.push(dg_hashes(sod));
    out.push(dg_coverage(ctx, sod));
    out.push(dg_hash_values(ctx, sod));
    out
}

/// A check of EF.SOD's structure (Doc 9303 Part 10 §4.6.2): PASS saying `pass` when
/// `ok`, else FAIL saying `fail()`.
fn sod_check(id: &str, ok: bool, pass: impl Into<String>, fail: impl FnOnce() -> String) -> Check {
    let check = if ok {
        Check::pass(id, pass)
    } else {
        Check::fail(id, fail())
    };
    check.reference(refs::SOD)
}

fn signed_data_version(sod: &Sod) -> Check {
    let v = sod.signed_data_version();
    sod_check("sod.signed_data_version", v == 3, "SignedData version 3", || {
        format!("SignedData version {v} (Doc 9303 requires 3)")
    })
}

fn econtent_type(sod: &Sod) -> Check {
    let t = sod.econtent_type();
    sod_check(
        "sod.econtent_type",
        t.to_string() == OID_LDS_SECURITY_OBJECT,
        format!("eContentType id-icao-mrtd-security-ldsSecurityObject ({OID_LDS_SECURITY_OBJECT})"),
        || {
            format!(
                "eContentType {t} instead of id-icao-mrtd-security-ldsSecurityObject ({OID_LDS_SECURITY_OBJECT})"
            )
        },
    )
}

fn lds_version(ctx: &Ctx<'_>, sod: &Sod) -> Check {
    let id = "sod.lds_security_object_version";
    let lso = &sod.lds_security_object;
    let info = lso.lds_version_info.as_ref();
    let com_lds = ctx
        .com
        .as_ref()
        .and_then(|c| c.lds_version.as_ref())
        .map(|v| v.raw.clone());
    let com_unicode = ctx
        .com
        .as_ref()
        .and_then(|c| c.unicode_version.as_ref())
        .map(|v| v.raw.clone());
    let evidence = json!({
        "version": lso.version,
        "lds_version_info": info.map(|i| json!({"lds_version": i.lds_version, "unicode_version": i.unicode_version})),
        "ef_com": {"lds_version": com_lds, "unicode_version": com_unicode},
    });
    match (lso.version, info) {
        (0, None) => {
            if com_lds.as_deref() == Some("0108") {
                warn(
                    id,
                    "LDSSecurityObject v0, but EF.COM says LDS 1.8, whose security object is v1 with LDSVersionInfo",
                )
                .with_evidence(evidence)
                .reference(refs::SOD)
            } else {
                Check::pass(id, "LDSSecurityObject v0 without LDSVersionInfo")
                    .with_evidence(evidence)
                    .reference(refs::SOD)
            }
        }
        (1, Some(i)) => {
            let mut problems = Vec::new();
            if i.lds_version.len() != 4 || !i.lds_version.bytes().all(|b| b.is_ascii_digit()) {
                problems.push("ldsVersion is not four digits aabb".to_owned());
            }
            if i.unicode_version.len() != 6 || !i.unicode_version.bytes().all(|b| b.is_ascii_digit()) {
                problems.push("unicodeVersion is not six digits aabbcc".to_owned());
            }
            if com_lds.as_deref().is_some_and(|v| v != i.lds_version) {
                problems.push("ldsVersion differs from EF.COM's LDS version".to_owned());
            }
            if com_unicode.as_deref().is_some_and(|v| v != i.unicode_version) {
                problems.push("unicodeVersion differs from EF.COM's Unicode version".to_owned());
            }
            if problems.is_empty() {
                Check::pass(
                    id,
                    format!("LDSSecurityObject v1 with LDSVersionInfo (LDS {})", i.lds_version),
                )
                .with_evidence(evidence)
                .reference(refs::SOD)
            } else {
                Check::fail(id, format!("LDSSecurityObject v1: {}", problems.join("; ")))
                    .with_evidence(evidence)
                    .reference(refs::SOD)
            }
        }
        (0, Some(_)) => Check::fail(
            id,
            "LDSSecurityObject v0 with LDSVersionInfo (only v1 carries it)",
        )
        .with_evidence(evidence)
        .reference(refs::SOD),
        (1, None) => Check::fail(id, "LDSSecurityObject v1 without the LDSVersionInfo it requires")
            .with_evidence(evidence)
            .reference(refs::SOD),
        (v, _) => Check::fail(
            id,
            format!("LDSSecurityObject version {v} (Doc 9303 defines v0 and v1)"),
        )
        .with_evidence(evidence)
        .reference(refs::SOD),
    }
}

fn hash_check(id: &str, what: &str, oid: &str, hash: Option<HashAlgorithm>) -> Check {
    use HashAlgorithm::*;
    // every variant named: a hash added to the enum is not silently a pass
    match hash {
        Some(h @ (Sha224 | Sha256 | Sha384 | Sha512)) => {
            Check::pass(id, format!("{what} {}", h.spec_name())).reference(refs::SOD)
        }
        Some(h @ Sha1) => warn(
            id,
            format!(
                "{what} {}, which is deprecated: use SHA-224, SHA-256, SHA-384 or SHA-512",
                h.spec_name()
            ),
        )
        .with_evidence(json!({"algorithm": h.spec_name()}))
        .reference(refs::SOD),
        Some(Ripemd160) | None => Check::fail(
            id,
            format!("{what} {oid} is not one of SHA-224, SHA-256, SHA-384, SHA-512"),
        )
        .reference(refs::SOD),
    }
}

fn hash_algorithm(sod: &Sod) -> Check {
    let alg = &sod.lds_security_object.hash_algorithm;
    let c = hash_check(
        "sod.hash_algorithm",
        "the data group hashes use",
        &alg.oid.to_string(),
        alg.hash_algorithm(),
    );
    if c.status == crate::verify::Status::Pass && !alg.parameters_absent_or_null() {
        return warn(
            "sod.hash_algorithm",
            "the LDSSecurityObject hash algorithm has parameters other than absent or NULL",
        )
        .reference(refs::SOD);
    }
    c
}

fn signer_infos(sod: &Sod) -> Check {
    let id = "sod.signer_infos";
    match sod.signer_infos() {
        [one] => {
            let consistent = matches!(
                (one.version, &one.sid),
                (1, SignerIdentifier::IssuerAndSerialNumber { .. })
                    | (3, SignerIdentifier::SubjectKeyIdentifier(_))
            );
            if consistent {
                Check::pass(id, format!("one SignerInfo (version {})", one.version)).reference(refs::SOD)
            } else {
                Check::fail(
                    id,
                    format!(
                        "SignerInfo version {} does not fit its signer identifier (1: issuerAndSerialNumber, 3: subjectKeyIdentifier)",
                        one.version
                    ),
                )
                .reference(refs::SOD)
            }
        }
        many => Check::fail(
            id,
            format!("{} SignerInfos; Doc 9303 requires exactly one", many.len()),
        )
        .reference(refs::SOD),
    }
}

fn digest_algorithm(sod: &Sod) -> Check {
    let id = "sod.digest_algorithm";
    let Some(signer) = sod.signer_infos().first() else {
        return Check::skip(id, "no SignerInfo").reference(refs::SOD);
    };
    let alg = &signer.digest_algorithm;
    let c = hash_check(
        id,
        "the SignerInfo digests with",
        &alg.oid.to_string(),
        alg.hash_algorithm(),
    );
    if c.status == crate::verify::Status::Fail && !c.informational {
        return c;
    }
    if !sod.digest_algorithms().iter().any(|a| a.oid == alg.oid) {
        return Check::fail(
            id,
            "the SignerInfo's digest algorithm is not listed in SignedData digestAlgorithms",
        )
        .reference(refs::SOD);
    }
    c
}

fn signer<'s>(ctx: &'s Ctx<'_>) -> Option<(&'s SignedData, &'s crate::cms::SignerInfo)> {
    let sd = &ctx.sod.as_ref()?.signed_data;
    let s = sd.signer_infos.first()?;
    Some((sd, s))
}

fn signature_algorithm(ctx: &Ctx<'_>) -> Check {
    let id = "sod.signature_algorithm";
    let Some((_, s)) = signer(ctx) else {
        return Check::fail(
            id,
            "EF.SOD's CMS structure cannot be parsed to find the signature algorithm",
        )
        .reference(refs::SOD);
    };
    let (alg, quirks) = match s.signature_algorithm() {
        Ok(x) => x,
        Err(e) => {
            return Check::fail(
                id,
                format!(
                    "signature algorithm {} is not RSA PKCS#1 v1.5, RSASSA-PSS or ECDSA with an allowed hash: {}",
                    s.signature_algorithm.oid,
                    crate::error::text(&e)
                ),
            )
            .reference(refs::SOD);
        }
    };
    let name = alg.name();
    let mut notes = Vec::new();
    if matches!(alg, SignatureAlgorithm::EcdsaPlain { .. }) {
        notes.push(
            "ECDSA with plain r||s signatures (BSI TR-03111) instead of the X9.62 format CMS uses".to_owned(),
        );
    }
    if alg.hash() == crate::pki::signature::HashAlgorithm::Sha1 {
        notes.push("SHA-1 is deprecated".to_owned());
    }
    if quirks.contains(&CmsQuirk::KeyAlgorithmAsSignatureAlgorithm) {
        notes.push(
            "the key algorithm OID is given as signature algorithm (hash taken from the digest algorithm)"
                .to_owned(),
        );
    }
    if quirks.contains(&CmsQuirk::DigestAlgorithmMismatch) {
        notes.push("the signature algorithm names another hash than the digest algorithm".to_owned());
    }
    if notes.is_empty() {
        Check::pass(id, format!("signature algorithm {name}")).reference(refs::SOD)
    } else {
        warn(id, format!("signature algorithm {name}: {}", notes.join("; "))).reference(refs::SOD)
    }
}

fn signed_attributes(sod: &Sod) -> Check {
    let id = "sod.signed_attributes";
    let Some(signer) = sod.signer_infos().first() else {
        return Check::skip(id, "no SignerInfo").reference(refs::SOD);
    };
    let Some(attrs) = &signer.signed_attrs else {
        return Check::fail(
            id,
            "the SignerInfo has no signed attributes (contentType and messageDigest are required)",
        )
        .reference(refs::SOD);
    };
    let mut problems = Vec::new();
    match &attrs.content_type {
        None => problems.push("no contentType attribute".to_owned()),
        Some(ct) if *ct != sod.econtent_type() => {
            problems.push(format!("contentType {ct} differs from the eContentType"))
        }
        Some(_) => {}
    }
    match (&attrs.message_digest, signer.digest_algorithm.hash_algorithm()) {
        (None, _) => problems.push("no messageDigest attribute".to_owned()),
        (Some(md), Some(h)) if h.digest(sod.econtent()) != *md => problems.push(format!(
            "messageDigest is not the {} hash of the eContent",
            h.spec_name()
        )),
        _ => {}
    }
    if sod
        .quirks
        .iter()
        .any(|q| q.name() == "sod_duplicate_signed_attribute")
    {
        problems.push("a signed attribute appears more than once".to_owned());
    }
    let evidence = json!({
        "attributes": attrs.attributes.iter().map(|a| a.oid.to_string()).collect::<Vec<_>>(),
        "signing_time": attrs.signing_time.map(crate::pki::format_time),
    });
    findings(
        id,
        &problems,
        "signed attributes hold contentType and messageDigest, both matching the content",
        evidence,
        refs::SOD,
    )
}

/// The DSC: embedded in EF.SOD (`true`), or found in the trust store by the signer's
/// issuer and serial number or SKI (`false`), chosen among several matches as Passive
/// Authentication chooses ([`crate::verify::pa::store_signer`]): the first whose key
/// verifies the signature, one that a stored CA certificate signed before one that none
/// did.
pub(super) fn dsc<'s>(ctx: &'s Ctx<'_>) -> Option<(Cow<'s, Certificate>, bool)> {
    let (sd, s) = signer(ctx)?;
    if let Some(c) = sd.signer_certificate(s) {
        return Some((c, true));
    }
    let rank = |c: &Certificate| match super::certs::find_csca(ctx, c) {
        super::certs::CscaLookup::Found(_) => PathRank::Holds,
        _ => PathRank::Undecided,
    };
    let found = crate::verify::pa::store_signer(sd, s, ctx.store?, &rank).cert?;
    Some((Cow::Owned(found), false))
}

fn dsc_and_signature(ctx: &Ctx<'_>) -> Vec<Check> {
    let Some((sd, s)) = signer(ctx) else {
        let why = "EF.SOD has no SignerInfo";
        return vec![
            Check::fail("sod.dsc_embedded", why).reference(refs::SOD),
            Check::fail("sod.signature", why).reference(refs::PA),
        ];
    };
    // one decoder: the hashes are read from the very eContent the signature covers
    let embedded = sd.signer_certificate(s).is_some();
    let others = sd.certificates.len().saturating_sub(usize::from(embedded));
    let embedded_check = if !embedded && sd.certificates.is_empty() {
        Check::fail(
            "sod.dsc_embedded",
            "EF.SOD does not embed the Document Signer certificate",
        )
        .reference(refs::SOD)
    } else if !embedded {
        Check::fail(
            "sod.dsc_embedded",
            format!(
                "EF.SOD embeds {} certificate(s), none of them the one its SignerInfo names",
                sd.certificates.len()
            ),
        )
        .reference(refs::SOD)
    } else if sd.signer_issuer_reencoded(s) {
        // Ukrainian EF.SODs (gmrtd #440): a reader matching names byte for byte finds no
        // DSC; the name is the same under RFC 5280 §7.1, so this is a warning, not a
        // failure
        warn(
            "sod.dsc_embedded",
            "the SignerInfo's issuerAndSerialNumber writes the DSC's issuer with other bytes than \
             the certificate (string types, case or spacing); it names the embedded DSC only \
             under RFC 5280 section 7.1 name comparison, so readers comparing bytes will not find it",
        )
        .reference(refs::SOD)
    } else if others > 0 {
        warn(
            "sod.dsc_embedded",
            format!(
                "EF.SOD embeds the DSC and {others} other certificate(s); Doc 9303 recommends the DSC only"
            ),
        )
        .reference(refs::SOD)
    } else {
        Check::pass(
            "sod.dsc_embedded",
            "EF.SOD embeds the Document Signer certificate its SignerInfo names",
        )
        .reference(refs::SOD)
    };
    let signature = match dsc(ctx) {
        None => Check::skip(
            "sod.signature",
            "no signer certificate (not embedded, not in the trust store) to verify the signature with",
        )
        .reference(refs::PA),
        Some((cert, from_embedded)) => match crate::cms::verify_signer_with_certificate(sd, s, &cert) {
            Ok(()) => Check::pass(
                "sod.signature",
                format!(
                    "the signature verifies with the {} DSC",
                    if from_embedded {
                        "embedded"
                    } else {
                        "trust store's"
                    }
                ),
            )
            .reference(refs::PA),
            Err(e) => Check::fail(
                "sod.signature",
                format!("the signature does not verify: {}", crate::error::text(&e)),
            )
            .reference(refs::PA),
        },
    };
    vec![embedded_check, signature]
}

fn dg_hashes(sod: &Sod) -> Check {
    let id = "sod.dg_hashes";
    let lso = &sod.lds_security_object;
    let mut problems = Vec::new();
    let n = lso.dg_hashes.len();
    if !(2..=16).contains(&n) {
        problems.push(format!(
            "{n} data group hashes (the LDSSecurityObject holds 2 to 16)"
        ));
    }
    for q in &sod.quirks {
        if matches!(q.name(), "sod_dg_hash_length" | "sod_duplicate_dg_hash") {
            problems.push(q.to_string());
        }
    }
    let listed: BTreeSet<u8> = lso.dg_hashes.iter().map(|h| h.number).collect();
    for m in [1u8, 2] {
        if !listed.contains(&m) {
            problems.push(format!("no hash for the mandatory DG{m}"));
        }
    }
    let evidence = json!({"data_groups": listed});
    findings(
        id,
        &problems,
        format!("{n} data group hashes, each of the algorithm's length"),
        evidence,
        refs::SOD,
    )
}

fn dg_coverage(ctx: &Ctx<'_>, sod: &Sod) -> Check {
    let id = "sod.dg_coverage";
    let listed: BTreeSet<u8> = sod.dg_numbers().into_iter().collect();
    let mut on_chip: BTreeSet<u8> = ctx.dgs_in_dump().into_iter().collect();
    // what EF.COM lists is on the chip, unless the chip said it is not (6A82)
    on_chip.extend(
        ctx.com_dgs()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| ctx.absent_sw(LdsFile::Dg(*n)) != Some("6A82")),
    );
    let missing: Vec<String> = on_chip.difference(&listed).map(|n| format!("DG{n}")).collect();
    if missing.is_empty() {
        Check::pass(id, "every data group present has a hash in EF.SOD").reference(refs::SOD)
    } else {
        Check::fail(
            id,
            format!(
                "{} present but not covered by EF.SOD: their content is not protected",
                missing.join(", ")
            ),
        )
        .with_evidence(json!({"not_covered": missing}))
        .reference(refs::SOD)
    }
}

fn dg_hash_values(ctx: &Ctx<'_>, sod: &Sod) -> Check {
    let id = "sod.dg_hash_values";
    let Some(h) = sod.lds_security_object.hash_algorithm.hash_algorithm() else {
        return Check::skip(id, "unknown hash algorithm").reference(refs::PA);
    };
    let mut matched = Vec::new();
    let mut differ = Vec::new();
    for n in ctx.dgs_in_dump() {
        let (Some(expected), Some(bytes)) = (sod.dg_hash(n), ctx.file(LdsFile::Dg(n))) else {
            continue;
        };
        if crate::crypto::ct_eq(&h.digest(bytes), expected) {
            matched.push(format!("DG{n}"));
        } else {
            differ.push(format!("DG{n}"));
        }
    }
    let evidence = json!({"match": matched, "differ": differ});
    if !differ.is_empty() {
        Check::fail(
            id,
            format!(
                "the {} hash of {} differs from EF.SOD",
                h.spec_name(),
                differ.join(", ")
            ),
        )
        .with_evidence(evidence)
        .reference(refs::PA)
    } else if matched.is_empty() {
        Check::skip(id, "no data group in the dump has a hash in EF.SOD").reference(refs::PA)
    } else {
        Check::pass(id, format!("{} match their hashes in EF.SOD", matched.join(", ")))
            .with_evidence(evidence)
            .reference(refs::PA)
    }
}

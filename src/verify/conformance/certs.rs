//! The Document Signer and CSCA certificate profiles (Doc 9303 Part 12 §7.1.1, which
//! profiles RFC 5280): version 3, a positive serial of at most 20 octets, allowed
//! signature algorithms, key usage (DSC: digitalSignature, critical; CSCA:
//! keyCertSign and cRLSign, critical), basic constraints, key identifiers, the country
//! in issuer and subject, the DSC's validity inside the CSCA's, and the DSC's
//! documentTypeList extension. The CSCA is taken from the trust store when it holds
//! the one whose key signed the DSC.

use serde_json::json;

use super::{Ctx, refs, warn};
use crate::asn1::oid as x509;
use crate::pki::cert::{CertQuirk, Certificate, KeyUsage};
use crate::pki::role::Role;
use crate::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use crate::pki::store::StoredCert;
use crate::verify::report::Check;

const DSC_IDS: [&str; 13] = [
    "dsc.parse",
    "dsc.version",
    "dsc.serial",
    "dsc.signature_algorithm",
    "dsc.encoding",
    "dsc.extensions",
    "dsc.key_usage",
    "dsc.basic_constraints",
    "dsc.aki",
    "dsc.ski",
    "dsc.country",
    "dsc.validity",
    "dsc.document_types",
];

const CSCA_IDS: [&str; 7] = [
    "csca.found",
    "csca.version",
    "csca.serial",
    "csca.basic_constraints",
    "csca.key_usage",
    "csca.ski",
    "csca.country",
];

/// Extensions Doc 9303 and RFC 5280 define for these certificates.
const KNOWN_EXTENSIONS: [crate::cms::Oid; 12] = [
    x509::SKI,
    x509::KEY_USAGE,
    x509::PRIVATE_KEY_USAGE_PERIOD,
    x509::SAN,
    x509::IAN,
    x509::BASIC_CONSTRAINTS,
    x509::CRL_DISTRIBUTION_POINTS,
    x509::CERTIFICATE_POLICIES,
    x509::AKI,
    x509::EXT_KEY_USAGE,
    x509::ICAO_NAME_CHANGE,
    x509::ICAO_DOCUMENT_TYPE_LIST,
];

fn p(id: &str, reason: impl Into<String>) -> Check {
    Check::pass(id, reason).reference(refs::CERT_PROFILE)
}

fn f(id: &str, reason: impl Into<String>) -> Check {
    Check::fail(id, reason).reference(refs::CERT_PROFILE)
}

fn w(id: &str, reason: impl Into<String>) -> Check {
    warn(id, reason).reference(refs::CERT_PROFILE)
}

pub(super) fn checks(ctx: &Ctx<'_>) -> Vec<Check> {
    let skip_all = |why: &str| -> Vec<Check> {
        DSC_IDS
            .iter()
            .chain(CSCA_IDS.iter())
            .map(|id| Check::skip(*id, why).reference(refs::CERT_PROFILE))
            .collect()
    };
    // parsed when found (an embedded certificate that does not parse is not the DSC)
    let Some((dsc, _)) = super::sod::dsc(ctx) else {
        return skip_all(
            "no Document Signer certificate: EF.SOD is missing, or its DSC is neither embedded nor in the trust store",
        );
    };
    let csca = find_csca(ctx, &dsc);
    let mut out = vec![p(
        "dsc.parse",
        format!("DSC {} (serial {})", dsc.subject.display(), dsc.serial_hex()),
    )];
    out.push(version("dsc.version", "DSC", &dsc));
    out.push(serial("dsc.serial", "DSC", &dsc.serial));
    out.push(signature_algorithm(&dsc));
    out.push(encoding(&dsc));
    out.push(extensions(&dsc));
    out.push(dsc_key_usage(&dsc));
    out.push(match dsc.basic_constraints {
        Some(b) if b.ca => f(
            "dsc.basic_constraints",
            "the DSC has basicConstraints cA = TRUE: a DSC is not a CA",
        ),
        _ => p("dsc.basic_constraints", "the DSC is not a CA"),
    });
    let csca_cert = match &csca {
        CscaLookup::Found(s) => Some(&s.cert),
        _ => None,
    };
    out.push(match (&dsc.aki, csca_cert.and_then(|c| c.ski.as_ref())) {
        (None, _) => f("dsc.aki", "the DSC has no authority key identifier"),
        (Some(a), Some(ski)) if a != ski => f(
            "dsc.aki",
            format!(
                "the DSC's authority key identifier {} is not the CSCA's subject key identifier {}",
                hex::encode_upper(a),
                hex::encode_upper(ski)
            ),
        ),
        (Some(a), Some(_)) => p(
            "dsc.aki",
            format!(
                "authority key identifier {} = the CSCA's subject key identifier",
                hex::encode_upper(a)
            ),
        ),
        (Some(a), None) => p(
            "dsc.aki",
            format!("authority key identifier {}", hex::encode_upper(a)),
        ),
    });
    out.push(match &dsc.ski {
        Some(s) => p(
            "dsc.ski",
            format!("subject key identifier {}", hex::encode_upper(s)),
        ),
        None => w("dsc.ski", "the DSC has no subject key identifier (recommended)"),
    });
    out.push(dsc_country(ctx, &dsc));
    out.push(dsc_validity(&dsc, csca_cert));
    out.push(document_types(ctx, &dsc));
    out.extend(csca_checks(&dsc, &csca));
    out
}

fn version(id: &str, who: &str, c: &Certificate) -> Check {
    if c.version == 2 {
        p(id, format!("the {who} is an X.509 v3 certificate"))
    } else {
        f(
            id,
            format!(
                "the {who} is an X.509 v{} certificate; v3 is required",
                c.version + 1
            ),
        )
    }
}

/// RFC 5280 §4.1.2.2 as Part 12 takes it over: a positive INTEGER of at most 20
/// octets (a leading zero octet that only keeps it positive not counted).
fn serial(id: &str, who: &str, s: &[u8]) -> Check {
    let hexs = hex::encode_upper(s);
    let Some((first, rest)) = s.split_first() else {
        return f(id, format!("the {who}'s serial number is empty"));
    };
    if first & 0x80 != 0 {
        return f(id, format!("the {who}'s serial number {hexs} is negative"));
    }
    if s.iter().all(|b| *b == 0) {
        return f(
            id,
            format!("the {who}'s serial number is zero; it must be positive"),
        );
    }
    if *first == 0 && rest.first().is_some_and(|b| b & 0x80 == 0) {
        return f(
            id,
            format!("the {who}'s serial number {hexs} has a superfluous leading zero octet (not DER)"),
        );
    }
    let magnitude = if *first == 0 { rest.len() } else { s.len() };
    if magnitude > 20 {
        return f(
            id,
            format!("the {who}'s serial number has {magnitude} octets; at most 20 are allowed"),
        );
    }
    p(
        id,
        format!("serial number {hexs}: positive, {magnitude} octet(s)"),
    )
}

fn signature_algorithm(c: &Certificate) -> Check {
    let id = "dsc.signature_algorithm";
    if c.quirks.contains(&CertQuirk::SignatureAlgorithmMismatch) {
        return f(
            id,
            "the signature algorithm inside the TBSCertificate differs from the outer one",
        );
    }
    match SignatureAlgorithm::from_algorithm_identifier(&c.signature_algorithm, None) {
        Err(e) => f(
            id,
            format!(
                "the CSCA signed the DSC with {}, not RSA PKCS#1 v1.5, RSASSA-PSS or ECDSA with an allowed hash: {}",
                c.signature_algorithm.oid,
                crate::error::text(&e)
            ),
        ),
        Ok((a, _)) if a.hash() == HashAlgorithm::Sha1 => w(
            id,
            format!("signature algorithm {}: SHA-1 is deprecated", a.name()),
        ),
        Ok((a @ SignatureAlgorithm::EcdsaPlain { .. }, _)) => w(
            id,
            format!(
                "signature algorithm {}: X.509 uses the X9.62 ECDSA format, not plain r||s",
                a.name()
            ),
        ),
        Ok((a, _)) => p(id, format!("signature algorithm {}", a.name())),
    }
}

fn encoding(c: &Certificate) -> Check {
    let id = "dsc.encoding";
    let mut problems = Vec::new();
    for q in &c.quirks {
        match q {
            CertQuirk::NonDerLength => problems.push("BER length forms (a certificate is DER)"),
            CertQuirk::BadStringEncoding => problems.push("a name string that is not valid for its type"),
            CertQuirk::UnparsableExtension => problems.push("an extension whose value does not parse"),
            _ => {}
        }
    }
    if problems.is_empty() {
        p(id, "DER, names and extensions well-formed")
    } else {
        f(id, format!("the DSC has {}", problems.join("; ")))
    }
}

fn extensions(c: &Certificate) -> Check {
    let id = "dsc.extensions";
    let unknown_critical: Vec<String> = c
        .extensions
        .iter()
        .filter(|e| e.critical && !KNOWN_EXTENSIONS.contains(&e.oid))
        .map(|e| e.oid.to_string())
        .collect();
    if unknown_critical.is_empty() {
        p(
            id,
            format!("{} extension(s), none critical and unknown", c.extensions.len()),
        )
    } else {
        f(
            id,
            format!(
                "critical extension(s) a relying party cannot process: {}",
                unknown_critical.join(", ")
            ),
        )
    }
}

fn dsc_key_usage(c: &Certificate) -> Check {
    let id = "dsc.key_usage";
    let Some(ku) = c.key_usage else {
        return f(
            id,
            "the DSC has no key usage extension (digitalSignature, critical, is required)",
        );
    };
    let evidence = json!({"bits": ku.bits, "critical": ku.critical});
    if !ku.has(KeyUsage::DIGITAL_SIGNATURE) {
        return f(id, "the DSC's key usage does not include digitalSignature").with_evidence(evidence);
    }
    if !ku.critical {
        return f(id, "the DSC's key usage extension is not marked critical").with_evidence(evidence);
    }
    if ku.bits & !KeyUsage::DIGITAL_SIGNATURE != 0 {
        return w(id, "the DSC's key usage allows more than digitalSignature").with_evidence(evidence);
    }
    p(id, "key usage digitalSignature, critical").with_evidence(evidence)
}

fn two_letters(c: &str) -> bool {
    c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())
}

fn dsc_country(ctx: &Ctx<'_>, c: &Certificate) -> Check {
    let id = "dsc.country";
    let issuer = c.issuer.country();
    let subject = c.subject.country();
    let evidence = json!({"issuer": issuer, "subject": subject,
        "document_issuer": ctx.mrz.as_ref().map(|m| m.issuing_state().trim_end_matches('<').to_owned())});
    let (Some(i), Some(s)) = (&issuer, &subject) else {
        return f(id, "the DSC's issuer and subject must both name the country (C=)").with_evidence(evidence);
    };
    if !two_letters(i) || !two_letters(s) {
        return f(id, "the country (C=) is not an ISO 3166-1 alpha-2 code").with_evidence(evidence);
    }
    if i != s {
        return f(
            id,
            format!("the DSC's issuer country {i} differs from its subject country {s}"),
        )
        .with_evidence(evidence);
    }
    if let Some(m) = &ctx.mrz {
        let state = m.issuing_state();
        if !crate::pki::country::same_country(i, state) {
            return f(
                id,
                format!(
                    "the DSC's country {i} is not the document's issuing state {}",
                    state.trim_end_matches('<')
                ),
            )
            .with_evidence(evidence);
        }
    }
    p(
        id,
        format!("country {i} in issuer and subject, the document's issuing state"),
    )
    .with_evidence(evidence)
}

fn dsc_validity(c: &Certificate, csca: Option<&Certificate>) -> Check {
    let id = "dsc.validity";
    let fmt = crate::pki::format_time;
    if c.not_before >= c.not_after {
        return f(id, "the DSC's notBefore is not before its notAfter");
    }
    let Some(ca) = csca else {
        return p(
            id,
            format!(
                "DSC valid {} .. {} (the CSCA is not in the trust store: not compared with its validity)",
                fmt(c.not_before),
                fmt(c.not_after)
            ),
        );
    };
    if c.not_before < ca.not_before || c.not_after > ca.not_after {
        return f(
            id,
            format!(
                "the DSC's validity {} .. {} is not inside the CSCA's {} .. {}",
                fmt(c.not_before),
                fmt(c.not_after),
                fmt(ca.not_before),
                fmt(ca.not_after)
            ),
        );
    }
    p(
        id,
        format!(
            "DSC valid {} .. {}, inside the CSCA's validity",
            fmt(c.not_before),
            fmt(c.not_after)
        ),
    )
}

fn document_types(ctx: &Ctx<'_>, c: &Certificate) -> Check {
    let id = "dsc.document_types";
    let present = c.extension(&x509::ICAO_DOCUMENT_TYPE_LIST).is_some();
    let Some(types) = &c.document_types else {
        if present {
            return f(id, "the documentTypeList extension does not parse");
        }
        return w(
            id,
            "the DSC has no documentTypeList extension naming the document types it may sign (Doc 9303 8th edition)",
        );
    };
    let Some(m) = &ctx.mrz else {
        return p(id, format!("documentTypeList {}", types.join(", ")));
    };
    let code = m.document_code().trim_end_matches('<');
    // a one-letter entry covers every document code starting with it
    let ok = types.iter().any(|t| {
        let t = t.trim();
        !t.is_empty() && (code == t || (t.len() == 1 && code.starts_with(t)))
    });
    let evidence = json!({"document_types": types, "document_code": code});
    if ok {
        p(
            id,
            format!(
                "documentTypeList {} covers document code {code}",
                types.join(", ")
            ),
        )
        .with_evidence(evidence)
    } else {
        f(
            id,
            format!(
                "documentTypeList {} does not cover document code {code}",
                types.join(", ")
            ),
        )
        .with_evidence(evidence)
    }
}

/// The CSCA (or link certificate) whose key signed the DSC.
pub(super) enum CscaLookup {
    NoStore,
    NoCandidate,
    NoneVerifies(Vec<String>),
    Found(Box<StoredCert>),
}

pub(super) fn find_csca(ctx: &Ctx<'_>, dsc: &Certificate) -> CscaLookup {
    let Some(store) = ctx.store else {
        return CscaLookup::NoStore;
    };
    let Ok(candidates) = store.issuer_candidates(&dsc.issuer, dsc.aki.as_deref()) else {
        return CscaLookup::NoCandidate;
    };
    if candidates.is_empty() {
        return CscaLookup::NoCandidate;
    }
    let mut names = Vec::new();
    let mut found: Vec<StoredCert> = Vec::new();
    for c in candidates {
        let ok = c
            .cert
            .public_key()
            .is_ok_and(|k| dsc.verify_signature(&k).is_ok());
        if ok {
            found.push(c);
        } else {
            names.push(c.cert.subject.display());
        }
    }
    // a trust anchor first, then the most recent (the store orders by notBefore)
    found.sort_by_key(|c| !c.trusted);
    match found.into_iter().next() {
        Some(c) => CscaLookup::Found(Box::new(c)),
        None => CscaLookup::NoneVerifies(names),
    }
}

fn csca_checks(dsc: &Certificate, lookup: &CscaLookup) -> Vec<Check> {
    let skip_rest = |why: &str| -> Vec<Check> {
        CSCA_IDS
            .iter()
            .skip(1)
            .map(|id| Check::skip(*id, why).reference(refs::CERT_PROFILE))
            .collect()
    };
    let issuer = dsc.issuer.display();
    let (first, why) = match lookup {
        CscaLookup::Found(s) => return found(dsc, s),
        CscaLookup::NoStore => (
            Check::skip("csca.found", "no trust store: the CSCA profile is not checked").reference(refs::CERT_PROFILE),
            "no trust store",
        ),
        CscaLookup::NoCandidate => (
            Check::skip(
                "csca.found",
                format!("no CSCA for the DSC's issuer {issuer} in the trust store: the CSCA profile is not checked"),
            )
            .reference(refs::CERT_PROFILE),
            "the CSCA is not in the trust store",
        ),
        CscaLookup::NoneVerifies(names) => (
            f(
                "csca.found",
                format!(
                    "the trust store holds {} for the DSC's issuer, but no key of theirs verifies the DSC's signature",
                    names.join("; ")
                ),
            ),
            "no CSCA key verifies the DSC",
        ),
    };
    let mut out = vec![first];
    out.extend(skip_rest(why));
    out
}

fn found(dsc: &Certificate, s: &StoredCert) -> Vec<Check> {
    let c = &s.cert;
    let what = if s.role == Role::Link {
        "link certificate"
    } else {
        "CSCA"
    };
    let mut out = vec![
        p(
            "csca.found",
            format!(
                "{what} {} (serial {}) from the trust store signed the DSC{}",
                c.subject.display(),
                c.serial_hex(),
                if s.trusted {
                    ""
                } else {
                    " (it is not a trust anchor)"
                }
            ),
        )
        .with_evidence(json!({"fingerprint": c.fingerprint(), "trusted": s.trusted, "role": s.role})),
    ];
    out.push(version("csca.version", what, c));
    out.push(serial("csca.serial", what, &c.serial));
    out.push(match c.basic_constraints {
        None => f(
            "csca.basic_constraints",
            format!("the {what} has no basicConstraints extension"),
        ),
        Some(b) if !b.ca => f(
            "csca.basic_constraints",
            format!("the {what} has basicConstraints cA = FALSE"),
        ),
        Some(b) if !b.critical => f(
            "csca.basic_constraints",
            format!("the {what}'s basicConstraints extension is not critical"),
        ),
        Some(b) => p(
            "csca.basic_constraints",
            format!(
                "cA = TRUE, critical{}",
                b.path_len
                    .map(|n| format!(", pathLenConstraint {n}"))
                    .unwrap_or_default()
            ),
        ),
    });
    out.push(match c.key_usage {
        None => f("csca.key_usage", format!("the {what} has no key usage extension")),
        Some(ku) if !ku.has(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN) => f(
            "csca.key_usage",
            format!("the {what}'s key usage lacks keyCertSign or cRLSign"),
        ),
        Some(ku) if !ku.critical => f(
            "csca.key_usage",
            format!("the {what}'s key usage is not critical"),
        ),
        Some(_) => p("csca.key_usage", "key usage keyCertSign and cRLSign, critical"),
    });
    out.push(match &c.ski {
        Some(k) => p(
            "csca.ski",
            format!("subject key identifier {}", hex::encode_upper(k)),
        ),
        None => f("csca.ski", format!("the {what} has no subject key identifier")),
    });
    let (i, sub) = (c.issuer.country(), c.subject.country());
    out.push(match (&i, &sub) {
        (Some(i), Some(sub)) if i == sub && two_letters(i) => {
            if dsc.issuer.country().as_deref() == Some(i.as_str()) {
                p(
                    "csca.country",
                    format!("country {i} in issuer and subject, as in the DSC's issuer"),
                )
            } else {
                f(
                    "csca.country",
                    format!("the {what}'s country {i} differs from the DSC issuer's"),
                )
            }
        }
        _ => f(
            "csca.country",
            format!(
                "the {what}'s issuer and subject must both name the same country (C=) with an alpha-2 code"
            ),
        ),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;

    fn st(c: &Check) -> Status {
        c.status
    }

    #[test]
    fn serial_numbers_rfc5280() {
        let ok = |s: &[u8]| st(&serial("x", "DSC", s)) == Status::Pass;
        assert!(ok(&[0x12, 0x67]));
        assert!(ok(&[0x01]));
        // 20 octets of magnitude with the sign octet in front: allowed
        let mut twenty = vec![0x00, 0x80];
        twenty.extend([0x11; 19]);
        assert!(ok(&twenty));
        assert!(ok(&[0x7F; 20]));
        assert!(!ok(&[0x7F; 21]), "21 octets");
        let mut twenty_one = vec![0x00, 0x80];
        twenty_one.extend([0x11; 20]);
        assert!(!ok(&twenty_one), "21 octets of magnitude");
        assert!(!ok(&[0x80, 0x01]), "negative");
        assert!(!ok(&[0x00]), "zero");
        assert!(!ok(&[0x00, 0x00]), "zero");
        assert!(!ok(&[0x00, 0x12]), "non-minimal");
        assert!(!ok(&[]), "empty");
    }

    #[test]
    fn countries() {
        assert!(two_letters("NL"));
        assert!(!two_letters("NLD"));
        assert!(!two_letters("nl"));
        assert!(!two_letters(""));
    }
}

//! Consistency of the chip's security files: the PACEInfos of EF.CardAccess are also
//! in EF.CardSecurity (Doc 9303 Part 11 §9.2), the Chip Authentication keys of DG14
//! are EF.CardSecurity's (Part 11 §6.2, §9.2), and DG14 has an
//! ActiveAuthenticationInfo exactly when DG15 holds an ECDSA key (Part 11 §6.1).

use serde_json::json;

use super::{Ctx, refs, warn};
use crate::lds::LdsFile;
use crate::lds::dg14::Dg14;
use crate::lds::dg15::{Dg15, PublicKeyInfo};
use crate::lds::security_infos::{CardSecurity, SecurityInfos, oid};
use crate::verify::report::Check;

pub(super) fn checks(ctx: &Ctx<'_>) -> Vec<Check> {
    let card_access = ctx.file(LdsFile::CardAccess).map(SecurityInfos::decode);
    let card_security = ctx.file(LdsFile::CardSecurity).map(CardSecurity::decode);
    let dg14 = ctx
        .file(LdsFile::Dg(14))
        .map(|b| Dg14::decode(b).map(SecurityInfos::from));
    let card_security = card_security.map(|r| r.map(|c| c.security_infos));
    vec![
        pace_infos(card_access.as_ref(), card_security.as_ref()),
        ca_keys(ctx, dg14.as_ref(), card_security.as_ref()),
        aa_info(ctx, dg14.as_ref()),
    ]
}

type Decoded<'a> = Option<&'a Result<SecurityInfos, crate::lds::security_infos::SecurityInfosError>>;

/// The SecurityInfos of `file`, or why there are none: `absent`, or the file does not
/// decode (its own check says how).
fn decoded<'a>(infos: Decoded<'a>, absent: &str, file: &str) -> Result<&'a SecurityInfos, String> {
    match infos {
        None => Err(absent.to_owned()),
        Some(Err(_)) => Err(format!("{file} does not decode (see lds.content.{file})")),
        Some(Ok(i)) => Ok(i),
    }
}

fn pace_infos(card_access: Decoded<'_>, card_security: Decoded<'_>) -> Check {
    let id = "chip.pace_infos";
    let r = refs::SECURITY_INFOS;
    let absent_ca = "no EF.CardAccess: the chip offers no PACE (or it was not read)";
    let absent_cs = "no EF.CardSecurity in the dump to compare EF.CardAccess with";
    let both = decoded(card_access, absent_ca, "EF.CardAccess")
        .and_then(|ca| Ok((ca, decoded(card_security, absent_cs, "EF.CardSecurity")?)));
    let (ca, cs) = match both {
        Ok(both) => both,
        Err(why) => return Check::skip(id, why).reference(r),
    };
    let describe = |p: &crate::lds::security_infos::PaceInfo| {
        format!(
            "{} v{}{}",
            oid::oid_name(&p.protocol).unwrap_or_else(|| p.protocol.to_string()),
            p.version,
            p.parameter_id
                .map(|n| format!(" parameter {n}"))
                .unwrap_or_default()
        )
    };
    let missing: Vec<String> = ca
        .pace_infos()
        .filter(|p| {
            !cs.pace_infos().any(|q| {
                q.protocol == p.protocol && q.version == p.version && q.parameter_id == p.parameter_id
            })
        })
        .map(describe)
        .collect();
    let n = ca.pace_infos().count();
    if missing.is_empty() {
        Check::pass(
            id,
            format!("the {n} PACEInfo(s) of EF.CardAccess are also in EF.CardSecurity"),
        )
        .reference(r)
    } else {
        Check::fail(
            id,
            format!(
                "EF.CardSecurity lacks PACEInfo(s) of EF.CardAccess: {}",
                missing.join("; ")
            ),
        )
        .with_evidence(json!({"missing": missing}))
        .reference(r)
    }
}

/// (protocol, keyId, public key value) of every Chip Authentication key.
fn ca_key_set(i: &SecurityInfos) -> Vec<(String, Option<u64>, String)> {
    let mut v: Vec<(String, Option<u64>, String)> = i
        .chip_authentication_public_keys()
        .map(|k| {
            (
                k.protocol.to_string(),
                k.key_id,
                hex::encode_upper(&k.public_key.subject_public_key),
            )
        })
        .collect();
    v.sort();
    v
}

fn ca_keys(ctx: &Ctx<'_>, dg14: Decoded<'_>, card_security: Decoded<'_>) -> Check {
    let id = "chip.ca_keys";
    let r = refs::CA;
    let (Some(Ok(dg14)), Some(Ok(cs))) = (dg14, card_security) else {
        let why = match (
            dg14.is_some(),
            card_security.is_some(),
            ctx.file(LdsFile::CardSecurity).is_some(),
        ) {
            (false, _, _) => "no DG14 in the dump",
            (_, _, false) => "no EF.CardSecurity in the dump to compare DG14 with",
            _ => "DG14 or EF.CardSecurity does not decode (see lds.content.*)",
        };
        return Check::skip(id, why).reference(r);
    };
    let a = ca_key_set(dg14);
    let b = ca_key_set(cs);
    if a.is_empty() && b.is_empty() {
        return Check::skip(
            id,
            "neither DG14 nor EF.CardSecurity holds a Chip Authentication key",
        )
        .reference(r);
    }
    let key_ids = |v: &[(String, Option<u64>, String)]| {
        v.iter()
            .map(|(_, k, _)| k.map_or_else(|| "(no keyId)".to_owned(), |k| format!("keyId {k}")))
            .collect::<Vec<_>>()
    };
    let only_dg14: Vec<_> = a.iter().filter(|k| !b.contains(k)).cloned().collect();
    let only_cs: Vec<_> = b.iter().filter(|k| !a.contains(k)).cloned().collect();
    let evidence = json!({"only_dg14": key_ids(&only_dg14), "only_card_security": key_ids(&only_cs)});
    if only_dg14.is_empty() && only_cs.is_empty() {
        Check::pass(
            id,
            format!(
                "DG14 and EF.CardSecurity hold the same {} Chip Authentication key(s)",
                a.len()
            ),
        )
        .reference(r)
    } else {
        Check::fail(
            id,
            format!(
                "the Chip Authentication keys differ: only in DG14 [{}], only in EF.CardSecurity [{}]",
                key_ids(&only_dg14).join(", "),
                key_ids(&only_cs).join(", ")
            ),
        )
        .with_evidence(evidence)
        .reference(r)
    }
}

/// ecdsa-plain-SHA224/256/384/512 (BSI TR-03111); SHA-1 is deprecated.
fn aa_signature_algorithm(o: &oid::Oid) -> Option<bool> {
    let s = o.to_string();
    let arc = s.strip_prefix(&format!("{}.", oid::ECDSA_PLAIN_SIGNATURES))?;
    match arc {
        "2" | "3" | "4" | "5" => Some(true),
        "1" => Some(false),
        _ => None,
    }
}

fn aa_info(ctx: &Ctx<'_>, dg14: Decoded<'_>) -> Check {
    let id = "chip.aa_info";
    let r = refs::AA;
    let info = match dg14 {
        Some(Ok(i)) => Some(i.active_authentication_info()),
        Some(Err(_)) => return Check::skip(id, "DG14 does not decode (see lds.content.DG14)").reference(r),
        None => None,
    };
    let dg15 = match ctx.file(LdsFile::Dg(15)).map(Dg15::decode) {
        None => {
            return match info.flatten() {
                Some(_) if ctx.known_elsewhere(15) => {
                    Check::skip(id, "DG15 is listed but not in the dump").reference(r)
                }
                Some(_) => Check::fail(
                    id,
                    "DG14 has an ActiveAuthenticationInfo but there is no DG15 (no AA key)",
                )
                .reference(r),
                None => {
                    Check::skip(id, "no DG15: the document does not offer Active Authentication").reference(r)
                }
            };
        }
        Some(Err(_)) => return Check::skip(id, "DG15 does not decode (see lds.content.DG15)").reference(r),
        Some(Ok(d)) => d,
    };
    match &dg15.key {
        PublicKeyInfo::Ec { .. } => {
            let Some(info) = info else {
                if ctx.known_elsewhere(14) {
                    return Check::skip(id, "DG15 holds an ECDSA key; DG14 is listed but not in the dump").reference(r);
                }
                return Check::fail(
                    id,
                    "DG15 holds an ECDSA key but there is no DG14 with the ActiveAuthenticationInfo naming its signature algorithm",
                )
                .reference(r);
            };
            let Some(info) = info else {
                return Check::fail(
                    id,
                    "DG15 holds an ECDSA key but DG14 has no ActiveAuthenticationInfo naming its signature algorithm",
                )
                .reference(r);
            };
            let alg = oid::oid_name(&info.signature_algorithm).unwrap_or_else(|| info.signature_algorithm.to_string());
            let evidence = json!({"version": info.version, "signature_algorithm": info.signature_algorithm.to_string()});
            if info.version != 1 {
                return Check::fail(id, format!("ActiveAuthenticationInfo version {} (1 is defined)", info.version))
                    .with_evidence(evidence)
                    .reference(r);
            }
            match aa_signature_algorithm(&info.signature_algorithm) {
                Some(true) => Check::pass(id, format!("ECDSA AA key with ActiveAuthenticationInfo ({alg})"))
                    .with_evidence(evidence)
                    .reference(r),
                Some(false) => warn(id, format!("ActiveAuthenticationInfo names {alg}: SHA-1 is deprecated"))
                    .with_evidence(evidence)
                    .reference(r),
                None => Check::fail(
                    id,
                    format!("ActiveAuthenticationInfo names {alg}, not an ecdsa-plain signature algorithm"),
                )
                .with_evidence(evidence)
                .reference(r),
            }
        }
        PublicKeyInfo::Rsa { .. } => match info.flatten() {
            Some(_) => warn(
                id,
                "DG14 has an ActiveAuthenticationInfo, which is for ECDSA keys; DG15's key is RSA (ISO/IEC 9796-2)",
            )
            .reference(r),
            None => Check::pass(id, "RSA AA key, no ActiveAuthenticationInfo (none is needed)").reference(r),
        },
        PublicKeyInfo::Other { oid } => {
            Check::fail(id, format!("DG15's key algorithm {oid} is neither RSA nor EC")).reference(r)
        }
    }
}

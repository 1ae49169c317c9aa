//! Choosing the PACE protocol and domain parameters from EF.CardAccess
//! (Doc 9303 Part 11 §4.4.1, §9.2.1–9.2.2).
//!
//! When the chip offers several PACEInfos and the caller names none, the strongest
//! supported one is taken, ranked by, in this order:
//!
//! 1. **mapping**: the [`Mapping::rank`](super::mapping::Mapping::rank) of each
//!    implementation: ECDH-CAM > generic mapping > integrated mapping. PACE-CAM
//!    authenticates the chip inside the PACE run (no separate Chip Authentication
//!    round trips, and `ca` evidence for the report); the generic mapping is what
//!    nearly every chip implements and is the best-tested path; the integrated
//!    mapping is rare in the field and, for ECDH, needs p ≡ 3 mod 4.
//! 2. **cipher**: AES-256 > AES-192 > AES-128 > 3DES.
//! 3. **group**: elliptic curves before MODP groups (same strength with far less data
//!    over the contactless link), then the larger group (field bits for EC, subgroup
//!    bits for DH).
//!
//! PACEInfos that cannot be used (unknown OID, unknown or invalid domain parameters,
//! parameters the mapping refuses in [`Mapping::unfit`](super::mapping::Mapping::unfit),
//! such as an IM curve without p ≡ 3 mod 4) are skipped; if none is left the error lists what
//! was offered.

use super::error::PaceError;
use super::mapping;
use super::params::DomainParams;
use crate::lds::security_infos::{
    CipherSuite, Oid, PaceDomainParameterInfo, PaceInfo, PaceProtocol, SecurityInfos,
};

/// Where the domain parameters of a PACEInfo come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainSource<'a> {
    /// Standardized domain parameters (the PACEInfo's parameterId, 0–31).
    Standardized(u32),
    /// Explicit parameters in a PACEDomainParameterInfo.
    Explicit(&'a PaceDomainParameterInfo),
}

/// A usable PACEInfo with its resolved domain parameters.
#[derive(Debug)]
pub struct PaceSelection<'a> {
    /// The PACEInfo chosen.
    pub info: &'a PaceInfo,
    /// Its mapping and cipher.
    pub protocol: PaceProtocol,
    /// Where the domain parameters come from.
    pub source: DomainSource<'a>,
    /// The domain parameters.
    pub params: DomainParams,
    /// True when EF.CardAccess offers more than one set of PACE domain parameters,
    /// so MSE:Set AT must name the one chosen (tag 84).
    pub ambiguous: bool,
}

impl PaceSelection<'_> {
    /// The parameter ID for tag 84 of MSE:Set AT (standardized ID, or the
    /// PACEDomainParameterInfo's parameterId).
    pub fn parameter_id(&self) -> Option<u32> {
        match self.source {
            DomainSource::Standardized(id) => Some(id),
            DomainSource::Explicit(d) => d.parameter_id.or(self.info.parameter_id),
        }
    }
}

/// Resolve the domain parameters of one PACEInfo.
pub fn domain_source<'a>(
    infos: &'a SecurityInfos,
    info: &'a PaceInfo,
) -> Result<DomainSource<'a>, PaceError> {
    let protocol = info
        .protocol()
        .ok_or(PaceError::UnsupportedProtocol { oid: info.protocol })?;
    let mapping_oid = protocol.mapping.oid();
    let explicit: Vec<&PaceDomainParameterInfo> = infos
        .pace_domain_parameter_infos()
        .filter(|d| d.protocol == mapping_oid)
        .collect();
    if let Some(id) = info.parameter_id
        && let Some(d) = explicit.iter().find(|d| d.parameter_id == Some(id))
    {
        return Ok(DomainSource::Explicit(d));
    }
    match info.parameter_id {
        Some(id) if id <= 31 => Ok(DomainSource::Standardized(id)),
        None => match explicit.as_slice() {
            [only] => Ok(DomainSource::Explicit(only)),
            _ => Err(PaceError::MissingDomainParameters { parameter_id: None }),
        },
        Some(id) => Err(PaceError::MissingDomainParameters {
            parameter_id: Some(id),
        }),
    }
}

/// Build the domain parameters of a source.
pub fn build_params(source: DomainSource<'_>) -> Result<DomainParams, PaceError> {
    match source {
        DomainSource::Standardized(id) => DomainParams::standardized(id),
        DomainSource::Explicit(d) => {
            let spec = d
                .domain_parameter
                .domain_parameters()
                .map_err(|reason| PaceError::BadDomainParameters { reason })?;
            DomainParams::from_spec(&spec)
        }
    }
}

fn check_fit(protocol: PaceProtocol, params: &DomainParams) -> Result<(), PaceError> {
    let unsupported = |reason| PaceError::MappingUnsupported {
        mapping: protocol.mapping,
        reason,
    };
    if protocol.mapping.is_ec() != params.is_ec() {
        return Err(unsupported("domain parameters of the other key agreement type"));
    }
    match mapping::of(protocol.mapping).unfit(params)? {
        Some(reason) => Err(unsupported(reason)),
        None => Ok(()),
    }
}

/// Rank key: larger is preferred.
fn rank(protocol: PaceProtocol, params: &DomainParams) -> (u8, u8, u8, i32) {
    let mapping = mapping::of(protocol.mapping).rank();
    let cipher = match protocol.cipher {
        CipherSuite::Aes256 => 4,
        CipherSuite::Aes192 => 3,
        CipherSuite::Aes128 => 2,
        CipherSuite::Tdes => 1,
    };
    let ec = u8::from(params.is_ec());
    (mapping, cipher, ec, params.order().num_bits())
}

/// Number of distinct PACE domain parameter sets EF.CardAccess offers.
fn domain_sets(infos: &SecurityInfos) -> usize {
    let mut ids: Vec<Option<u32>> = infos.pace_infos().map(|p| p.parameter_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len().max(infos.pace_domain_parameter_infos().count())
}

/// Choose the PACEInfo to use (see the module docs for the ranking). `prefer_oid` and
/// `prefer_param` restrict the choice to the PACEInfos with that protocol OID and/or
/// parameter ID.
pub fn choose_pace_info<'a>(
    infos: &'a SecurityInfos,
    prefer_oid: Option<&Oid>,
    prefer_param: Option<u32>,
) -> Result<PaceSelection<'a>, PaceError> {
    let offered: Vec<&PaceInfo> = infos.pace_infos().collect();
    if offered.is_empty() {
        return Err(PaceError::NoPaceInfo);
    }
    let ambiguous = domain_sets(infos) > 1;
    let mut best: Option<(PaceSelection<'a>, (u8, u8, u8, i32))> = None;
    let mut last_error = None;
    for info in &offered {
        if prefer_oid.is_some_and(|o| *o != info.protocol)
            || prefer_param.is_some_and(|p| info.parameter_id != Some(p))
        {
            continue;
        }
        let candidate = (|| {
            let protocol = info
                .protocol()
                .ok_or(PaceError::UnsupportedProtocol { oid: info.protocol })?;
            let source = domain_source(infos, info)?;
            let params = build_params(source)?;
            check_fit(protocol, &params)?;
            Ok::<_, PaceError>(PaceSelection {
                info,
                protocol,
                source,
                params,
                ambiguous,
            })
        })();
        match candidate {
            Ok(sel) => {
                let r = rank(sel.protocol, &sel.params);
                if best.as_ref().is_none_or(|(_, br)| r > *br) {
                    best = Some((sel, r));
                }
            }
            Err(e) => last_error = Some(e),
        }
    }
    match (best, last_error) {
        (Some((sel, _)), _) => Ok(sel),
        // exactly one candidate that failed: say why
        (None, Some(e)) if offered.len() == 1 => Err(e),
        _ => Err(PaceError::NoSupportedPaceInfo {
            offered: offered.iter().map(|p| (p.protocol, p.parameter_id)).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::security_infos::{PaceMapping, SecurityInfo};

    fn card_access(list: &[(&str, Option<u32>)]) -> SecurityInfos {
        SecurityInfos::from_infos(
            list.iter()
                .map(|(o, id)| {
                    let p = PaceProtocol::from_oid(&Oid::new_unwrap(o)).unwrap();
                    SecurityInfo::Pace(PaceInfo::new(p, *id))
                })
                .collect(),
        )
    }

    #[test]
    fn cam_beats_gm_on_the_german_card_access() {
        let s = card_access(&[
            ("0.4.0.127.0.7.2.2.4.2.2", Some(13)),
            ("0.4.0.127.0.7.2.2.4.6.2", Some(13)),
        ]);
        let sel = choose_pace_info(&s, None, None).unwrap();
        assert_eq!(sel.protocol.mapping, PaceMapping::EcdhCam);
        assert!(!sel.ambiguous);
        assert_eq!(sel.parameter_id(), Some(13));
        let gm = Oid::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");
        let sel = choose_pace_info(&s, Some(&gm), None).unwrap();
        assert_eq!(sel.protocol.mapping, PaceMapping::EcdhGm);
    }

    #[test]
    fn ranking_cipher_then_group() {
        let s = card_access(&[
            ("0.4.0.127.0.7.2.2.4.2.1", Some(13)),
            ("0.4.0.127.0.7.2.2.4.2.4", Some(13)),
            ("0.4.0.127.0.7.2.2.4.2.2", Some(17)),
            ("0.4.0.127.0.7.2.2.4.1.4", Some(2)),
            ("0.4.0.127.0.7.2.2.4.4.4", Some(17)),
        ]);
        let sel = choose_pace_info(&s, None, None).unwrap();
        assert_eq!(sel.protocol.oid().to_string(), "0.4.0.127.0.7.2.2.4.2.4");
        assert!(sel.ambiguous);
        let sel = choose_pace_info(&s, None, Some(17)).unwrap();
        assert_eq!(sel.protocol.oid().to_string(), "0.4.0.127.0.7.2.2.4.2.2");
    }

    #[test]
    fn unusable_infos_are_skipped_and_reported() {
        // ECDH-IM on P-224 (p ≡ 1 mod 4) and an unknown parameter id
        let s = card_access(&[
            ("0.4.0.127.0.7.2.2.4.4.2", Some(10)),
            ("0.4.0.127.0.7.2.2.4.2.2", Some(5)),
        ]);
        match choose_pace_info(&s, None, None) {
            Err(PaceError::NoSupportedPaceInfo { offered }) => assert_eq!(offered.len(), 2),
            other => panic!("{other:?}"),
        }
        let one = card_access(&[("0.4.0.127.0.7.2.2.4.4.2", Some(10))]);
        assert!(matches!(
            choose_pace_info(&one, None, None),
            Err(PaceError::MappingUnsupported { .. })
        ));
        let none = SecurityInfos::from_infos(vec![]);
        assert!(matches!(
            choose_pace_info(&none, None, None),
            Err(PaceError::NoPaceInfo)
        ));
        let dh_on_curve = card_access(&[("0.4.0.127.0.7.2.2.4.1.2", Some(13))]);
        assert!(choose_pace_info(&dh_on_curve, None, None).is_err());
    }
}

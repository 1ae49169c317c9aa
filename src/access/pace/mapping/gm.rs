//! Generic Mapping (Doc 9303 Part 11 §4.4.3.3.1), DH and ECDH: both sides exchange
//! mapping public keys (tags 81 and 82), agree on H = SK_Map · PK_Map (h for DH), and
//! the ephemeral generator is `G~ = s·G + H` (ECDH) or `g~ = g^s · h mod p` (DH).
//!
//! Worked examples: Doc 9303 Part 11 Appendix G (G.1 ECDH, G.2 DH), in
//! `tests/pace_mapping_vectors.rs` and `tests/pace_worked_examples.rs`.

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::EcPoint;

use super::{ChipMapped, ChipStep, Mapped, Mapping, Run, Started, TerminalMapping, bad, objects};
use crate::access::AccessError;
use crate::access::pace::apdus::tag;
use crate::access::pace::error::PaceError;
use crate::access::pace::params::{DomainParams, Element, PrivateKey};
use crate::apdu::StatusWord;
use crate::rng::RandomSource;

/// The Generic Mapping.
#[derive(Debug, Clone, Copy)]
pub struct Generic;

/// `G~ = s·G + H` (ECDH) or `g~ = g^s · h mod p` (DH), where H/h is the result of the
/// mapping key agreement.
pub fn map(params: &DomainParams, s: &[u8], h: &Element) -> Result<Element, PaceError> {
    let invalid = |reason| PaceError::InvalidPublicKey {
        what: "mapping public key",
        reason,
    };
    let mut s = BigNum::from_slice(s)?;
    s.set_const_time();
    let mut ctx = BigNumContext::new()?;
    let out = match (params, h) {
        (DomainParams::Ec(d), Element::Ec(hp)) => {
            let group = d.group();
            let mut sg = EcPoint::new(group)?;
            sg.mul_generator2(group, &s, &mut ctx)?;
            let mut g = EcPoint::new(group)?;
            g.add(group, &sg, hp, &mut ctx)?;
            if g.is_infinity(group) {
                return Err(invalid("mapped generator is the identity"));
            }
            Element::Ec(g)
        }
        (DomainParams::Dh(d), Element::Dh(hv)) => {
            let mut gs = BigNum::new()?;
            gs.mod_exp(d.g(), &s, d.p(), &mut ctx)?;
            let mut g = BigNum::new()?;
            g.mod_mul(&gs, hv, d.p(), &mut ctx)?;
            if g.num_bits() <= 1 {
                return Err(invalid("mapped generator is 1"));
            }
            Element::Dh(g)
        }
        _ => {
            return Err(PaceError::State {
                what: "group element of the wrong kind",
            });
        }
    };
    s.clear();
    Ok(out)
}

/// The terminal between sending PK_Map,PCD and receiving PK_Map,IC.
struct SentKey {
    sk_map: PrivateKey,
    pk_map: Vec<u8>,
}

impl TerminalMapping for SentKey {
    fn data(&self) -> &[u8] {
        &self.pk_map
    }

    fn complete(self: Box<Self>, run: Run<'_>, answer: &[u8]) -> Result<Mapped, AccessError> {
        let params = run.params;
        let objs = objects(answer)?;
        let chip =
            crate::access::pace::apdus::find(&objs, tag::MAPPING_PICC).ok_or(bad("no mapping data (82)"))?;
        let chip_map = params.decode_public(chip, "chip mapping public key")?;
        let h = params.agree(&self.sk_map, &chip_map)?;
        Ok(Mapped {
            generator: map(params, run.s, &h)?,
            chip_data: chip.to_vec(),
        })
    }
}

impl Mapping for Generic {
    fn name(&self) -> &'static str {
        "Generic Mapping"
    }

    /// What nearly every chip implements and the best-tested path.
    fn rank(&self) -> u8 {
        2
    }

    fn terminal_start(&self, run: Run<'_>, rng: &mut dyn RandomSource) -> Started {
        let params = run.params;
        let sk_map = params.random_private_key(rng)?;
        let pk_map = params.encode(&params.multiply(&params.generator()?, sk_map.as_bn())?)?;
        Ok(Box::new(SentKey { sk_map, pk_map }))
    }

    fn chip_map(&self, run: Run<'_>, data: &[u8], rng: &mut dyn RandomSource) -> ChipStep<ChipMapped> {
        let p = run.params;
        let pk_pcd = p
            .decode_public(data, "terminal mapping key")
            .map_err(|_| StatusWord::WRONG_DATA)?;
        let sk = p.random_private_key(rng).map_err(|_| StatusWord::UNKNOWN)?;
        let pk_ic = p
            .generator()
            .and_then(|g| p.multiply(&g, sk.as_bn()))
            .and_then(|k| p.encode(&k))
            .map_err(|_| StatusWord::UNKNOWN)?;
        let h = p.agree(&sk, &pk_pcd).map_err(|_| StatusWord::WRONG_DATA)?;
        let generator = map(p, run.s, &h).map_err(|_| StatusWord::WRONG_DATA)?;
        Ok(ChipMapped {
            generator,
            answer: Some(pk_ic),
            secret: Some(sk),
        })
    }
}

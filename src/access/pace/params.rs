//! PACE domain parameters and the group operations the protocol needs.
//!
//! Standardized domain parameters (Doc 9303 Part 11 §9.5.1, Table "Standardized Domain
//! Parameters"): 0–2 are the RFC 5114 §2.1–2.3 MODP groups with prime-order subgroups
//! (taken from OpenSSL's built-in RFC 5114 groups and checked in the tests), 8–18 the
//! NIST and Brainpool curves (by OpenSSL NID). Explicit parameters come from a
//! PACEDomainParameterInfo and are validated before use.
//!
//! Group elements are [`Element`]s: EC points (encoded uncompressed, `04 || x || y`,
//! padded to the field length) or DH values (big-endian, padded to the length of p).
//! Every element received from the other side is validated ([`DomainParams::decode_public`]).

use std::cmp::Ordering;

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::dh::Dh;
use openssl::ec::EcPointRef as PointRef;
use openssl::ec::{EcGroup, EcPoint, EcPointRef, PointConversionForm};
use openssl::nid::Nid;
use zeroize::Zeroizing;

use super::error::PaceError;
use crate::lds::security_infos::{DhParameters, DomainParameterSpec, EcExplicitParameters};
use crate::rng::RandomSource;

/// Largest field accepted for explicit EC parameters (bits): bounds the work a hostile
/// EF.CardAccess can cause.
pub const MAX_EC_BITS: i32 = 1024;
/// Largest DH modulus accepted (bits).
pub const MAX_DH_BITS: i32 = 4096;
/// Smallest EC field / DH subgroup order accepted (bits).
pub const MIN_BITS: i32 = 160;
/// Smallest DH modulus accepted (bits).
pub const MIN_DH_BITS: i32 = 1024;

/// The standardized domain parameter IDs this implementation supports.
pub const STANDARDIZED_IDS: [u32; 14] = [0, 1, 2, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];

fn standardized_nid(id: u32) -> Option<Nid> {
    Some(match id {
        8 => Nid::X9_62_PRIME192V1,
        9 => Nid::BRAINPOOL_P192R1,
        10 => Nid::SECP224R1,
        11 => Nid::BRAINPOOL_P224R1,
        12 => Nid::X9_62_PRIME256V1,
        13 => Nid::BRAINPOOL_P256R1,
        14 => Nid::BRAINPOOL_P320R1,
        15 => Nid::SECP384R1,
        16 => Nid::BRAINPOOL_P384R1,
        17 => Nid::BRAINPOOL_P512R1,
        18 => Nid::SECP521R1,
        _ => return None,
    })
}

fn bad(reason: &'static str) -> PaceError {
    PaceError::BadDomainParameters { reason }
}

fn invalid(what: &'static str, reason: &'static str) -> PaceError {
    PaceError::InvalidPublicKey { what, reason }
}

fn byte_len(n: &BigNumRef) -> usize {
    usize::try_from(n.num_bytes()).unwrap_or(0)
}

/// A private scalar (EC) or exponent (DH): erased on drop, redacted in Debug.
pub struct PrivateKey(BigNum);

impl PrivateKey {
    /// The scalar.
    pub fn as_bn(&self) -> &BigNumRef {
        &self.0
    }

    /// From big-endian bytes (a worked example's key; the chip's static CA key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PaceError> {
        let mut bn = BigNum::from_slice(bytes)?;
        bn.set_const_time();
        Ok(PrivateKey(bn))
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        self.0.clear();
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

/// A group element.
pub enum Element {
    /// A point on the curve.
    Ec(EcPoint),
    /// A residue modulo p.
    Dh(BigNum),
}

impl std::fmt::Debug for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Element::Ec(_) => "Element::Ec(..)",
            Element::Dh(_) => "Element::Dh(..)",
        })
    }
}

/// Elliptic curve domain parameters over a prime field.
pub struct EcCurve {
    group: EcGroup,
    p: BigNum,
    a: BigNum,
    b: BigNum,
    order: BigNum,
    cofactor: BigNum,
    field_len: usize,
}

/// Diffie-Hellman domain parameters with a prime-order subgroup.
pub struct DhDomain {
    p: BigNum,
    q: BigNum,
    g: BigNum,
    p_len: usize,
}

/// PACE domain parameters.
pub enum DomainParams {
    /// ECDH.
    Ec(EcCurve),
    /// DH.
    Dh(DhDomain),
}

impl std::fmt::Debug for DomainParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DomainParams::Ec(e) => write!(f, "DomainParams::Ec({} bits)", e.p.num_bits()),
            DomainParams::Dh(d) => write!(f, "DomainParams::Dh({} bits)", d.p.num_bits()),
        }
    }
}

impl EcCurve {
    fn from_group(group: EcGroup) -> Result<Self, PaceError> {
        let mut ctx = BigNumContext::new()?;
        let (mut p, mut a, mut b) = (BigNum::new()?, BigNum::new()?, BigNum::new()?);
        group.components_gfp(&mut p, &mut a, &mut b, &mut ctx)?;
        let mut order = BigNum::new()?;
        group.order(&mut order, &mut ctx)?;
        let mut cofactor = BigNum::new()?;
        group.cofactor(&mut cofactor, &mut ctx)?;
        let field_len = byte_len(&p);
        Ok(EcCurve {
            group,
            p,
            a,
            b,
            order,
            cofactor,
            field_len,
        })
    }

    fn explicit(e: &EcExplicitParameters) -> Result<Self, PaceError> {
        let mut ctx = BigNumContext::new()?;
        let p = BigNum::from_slice(&e.p)?;
        let bits = p.num_bits();
        if !(MIN_BITS..=MAX_EC_BITS).contains(&bits) {
            return Err(bad("curve field size out of range"));
        }
        if !p.is_odd() || !p.is_prime(20, &mut ctx)? {
            return Err(bad("curve field modulus is not an odd prime"));
        }
        let a = BigNum::from_slice(&e.a)?;
        let b = BigNum::from_slice(&e.b)?;
        if a >= p || b >= p {
            return Err(bad("curve coefficient not reduced modulo p"));
        }
        let order = BigNum::from_slice(&e.order)?;
        if order.num_bits() < MIN_BITS || order.num_bits() > bits + 1 || !order.is_prime(20, &mut ctx)? {
            return Err(bad("curve order is not a prime of plausible size"));
        }
        let cofactor = match &e.cofactor {
            Some(h) => BigNum::from_slice(h)?,
            None => BigNum::from_u32(1)?,
        };
        if cofactor.num_bits() < 1 || cofactor.num_bits() > 16 {
            return Err(bad("curve cofactor out of range"));
        }
        let mut group =
            EcGroup::from_components(p, a, b, &mut ctx).map_err(|_| bad("singular or invalid curve"))?;
        let generator = EcPoint::from_bytes(&group, &e.generator, &mut ctx)
            .map_err(|_| bad("base point is not on the curve"))?;
        if generator.is_infinity(&group) || !generator.is_on_curve(&group, &mut ctx)? {
            return Err(bad("base point is not on the curve"));
        }
        let mut check = EcPoint::new(&group)?;
        check.mul2(&group, &generator, &order, &mut ctx)?;
        if !check.is_infinity(&group) {
            return Err(bad("base point does not have the stated order"));
        }
        group.set_generator(generator, order, cofactor)?;
        Self::from_group(group)
    }

    /// The curve.
    pub fn group(&self) -> &openssl::ec::EcGroupRef {
        &self.group
    }

    /// Field prime p.
    pub fn p(&self) -> &BigNumRef {
        &self.p
    }

    /// Order n of the base point.
    pub fn order(&self) -> &BigNumRef {
        &self.order
    }

    /// Bytes of a field element.
    pub fn field_len(&self) -> usize {
        self.field_len
    }

    /// Coefficient a.
    pub fn a(&self) -> &BigNumRef {
        &self.a
    }

    /// Coefficient b.
    pub fn b(&self) -> &BigNumRef {
        &self.b
    }

    /// Cofactor h.
    pub fn cofactor(&self) -> &BigNumRef {
        &self.cofactor
    }

    /// True when the cofactor is 1 (every point on the curve is in the subgroup).
    pub fn cofactor_is_one(&self) -> bool {
        self.cofactor.num_bits() == 1
    }
}

impl DhDomain {
    fn new(p: BigNum, g: BigNum, q: BigNum) -> Result<Self, PaceError> {
        let mut ctx = BigNumContext::new()?;
        let bits = p.num_bits();
        if !(MIN_DH_BITS..=MAX_DH_BITS).contains(&bits) || !p.is_odd() {
            return Err(bad("DH modulus size out of range"));
        }
        if q.num_bits() < MIN_BITS || q.num_bits() >= bits {
            return Err(bad("DH subgroup order size out of range"));
        }
        let one = BigNum::from_u32(1)?;
        let mut p_minus_1 = BigNum::new()?;
        p_minus_1.checked_sub(&p, &one)?;
        if g <= one || g >= p_minus_1 {
            return Err(bad("DH generator out of range"));
        }
        let mut rem = BigNum::new()?;
        rem.nnmod(&p_minus_1, &q, &mut ctx)?;
        if rem.num_bits() != 0 {
            return Err(bad("DH subgroup order does not divide p-1"));
        }
        if !q.is_prime(20, &mut ctx)? || !p.is_prime(20, &mut ctx)? {
            return Err(bad("DH modulus or subgroup order is not prime"));
        }
        let mut gq = BigNum::new()?;
        gq.mod_exp(&g, &q, &p, &mut ctx)?;
        if gq != one {
            return Err(bad("DH generator does not have order q"));
        }
        let p_len = byte_len(&p);
        Ok(DhDomain { p, q, g, p_len })
    }

    /// Modulus p.
    pub fn p(&self) -> &BigNumRef {
        &self.p
    }

    /// Subgroup order q.
    pub fn q(&self) -> &BigNumRef {
        &self.q
    }

    /// Generator g.
    pub fn g(&self) -> &BigNumRef {
        &self.g
    }

    /// Bytes of p.
    pub fn p_len(&self) -> usize {
        self.p_len
    }
}

impl DomainParams {
    /// Standardized domain parameters by ID (Doc 9303 Part 11 §9.5.1).
    pub fn standardized(id: u32) -> Result<Self, PaceError> {
        if let Some(nid) = standardized_nid(id) {
            return Ok(DomainParams::Ec(EcCurve::from_group(EcGroup::from_curve_name(
                nid,
            )?)?));
        }
        let dh = match id {
            0 => Dh::get_1024_160()?,
            1 => Dh::get_2048_224()?,
            2 => Dh::get_2048_256()?,
            _ => return Err(PaceError::UnsupportedParameterId { id }),
        };
        let q = dh.prime_q().ok_or(bad("built-in group without q"))?.to_owned()?;
        Ok(DomainParams::Dh(DhDomain {
            p_len: byte_len(dh.prime_p()),
            p: dh.prime_p().to_owned()?,
            g: dh.generator().to_owned()?,
            q,
        }))
    }

    /// Domain parameters from an AlgorithmIdentifier's content (PACEDomainParameterInfo,
    /// ChipAuthenticationPublicKeyInfo).
    pub fn from_spec(spec: &DomainParameterSpec) -> Result<Self, PaceError> {
        match spec {
            DomainParameterSpec::Standardized(id) => Self::standardized(*id),
            DomainParameterSpec::EcNamed(oid) => {
                let obj = openssl::asn1::Asn1Object::from_str(&oid.to_string())
                    .map_err(|_| bad("unknown named curve"))?;
                let group = EcGroup::from_curve_name(obj.nid()).map_err(|_| bad("unknown named curve"))?;
                Ok(DomainParams::Ec(EcCurve::from_group(group)?))
            }
            DomainParameterSpec::EcExplicit(e) => Ok(DomainParams::Ec(EcCurve::explicit(e)?)),
            DomainParameterSpec::Dh(DhParameters { p, g, q }) => {
                let q = q.as_ref().ok_or(bad("DH parameters without subgroup order q"))?;
                Ok(DomainParams::Dh(DhDomain::new(
                    BigNum::from_slice(p)?,
                    BigNum::from_slice(g)?,
                    BigNum::from_slice(q)?,
                )?))
            }
        }
    }

    /// True for elliptic-curve parameters.
    pub fn is_ec(&self) -> bool {
        matches!(self, DomainParams::Ec(_))
    }

    /// The EC parameters, if these are.
    pub fn ec(&self) -> Option<&EcCurve> {
        match self {
            DomainParams::Ec(e) => Some(e),
            DomainParams::Dh(_) => None,
        }
    }

    /// The DH parameters, if these are.
    pub fn dh(&self) -> Option<&DhDomain> {
        match self {
            DomainParams::Dh(d) => Some(d),
            DomainParams::Ec(_) => None,
        }
    }

    /// The field prime (EC) or modulus (DH).
    pub fn prime(&self) -> &BigNumRef {
        match self {
            DomainParams::Ec(e) => &e.p,
            DomainParams::Dh(d) => &d.p,
        }
    }

    /// The order of the generator (n for EC, q for DH).
    pub fn order(&self) -> &BigNumRef {
        match self {
            DomainParams::Ec(e) => &e.order,
            DomainParams::Dh(d) => &d.q,
        }
    }

    /// Tag of the public key in a public key data object: 86 (EC point) or 84 (DH value).
    pub fn public_key_tag(&self) -> u32 {
        if self.is_ec() { 0x86 } else { 0x84 }
    }

    /// The static generator G / g.
    pub fn generator(&self) -> Result<Element, PaceError> {
        Ok(match self {
            DomainParams::Ec(e) => {
                let g = e
                    .group
                    .generator_opt()
                    .ok_or(bad("curve without a generator"))?
                    .to_owned(&e.group)?;
                Element::Ec(g)
            }
            DomainParams::Dh(d) => Element::Dh(d.g.to_owned()?),
        })
    }

    /// A fresh private key in [1, order-1]: random bytes of the order's length, masked
    /// to its bit length, redrawn until below the order (unbiased; an injected worked
    /// example key below the order is taken as is).
    pub fn random_private_key(&self, rng: &mut dyn RandomSource) -> Result<PrivateKey, PaceError> {
        let order = self.order();
        let bits = order.num_bits();
        let len = byte_len(order);
        for _ in 0..128 {
            let mut bytes = Zeroizing::new(rng.bytes(len));
            // keep only the order's bit length (the top byte may be partial)
            let extra = len * 8 - usize::try_from(bits).unwrap_or(0);
            if let Some(top) = bytes.first_mut() {
                *top &= 0xFFu8.checked_shr(u32::try_from(extra).unwrap_or(8)).unwrap_or(0);
            }
            let mut k = BigNum::from_slice(&bytes)?;
            k.set_const_time();
            if k.num_bits() > 0 && k.ucmp(order) == Ordering::Less {
                return Ok(PrivateKey(k));
            }
            k.clear();
        }
        Err(PaceError::State {
            what: "random source keeps returning keys outside the group order",
        })
    }

    /// `sk · gen` (EC) or `gen^sk mod p` (DH).
    pub fn multiply(&self, generator: &Element, sk: &BigNumRef) -> Result<Element, PaceError> {
        let mut ctx = BigNumContext::new()?;
        match (self, generator) {
            (DomainParams::Ec(e), Element::Ec(g)) => {
                let mut r = EcPoint::new(&e.group)?;
                r.mul2(&e.group, g, sk, &mut ctx)?;
                Ok(Element::Ec(r))
            }
            (DomainParams::Dh(d), Element::Dh(g)) => {
                let mut r = BigNum::new()?;
                r.mod_exp(g, sk, &d.p, &mut ctx)?;
                Ok(Element::Dh(r))
            }
            _ => Err(PaceError::State {
                what: "group element of the wrong kind",
            }),
        }
    }

    /// Encode an element: `04 || x || y` padded to the field length, or the DH value
    /// padded to the length of p.
    pub fn encode(&self, e: &Element) -> Result<Vec<u8>, PaceError> {
        match (self, e) {
            (DomainParams::Ec(d), Element::Ec(pt)) => {
                let mut ctx = BigNumContext::new()?;
                Ok(pt.to_bytes(&d.group, PointConversionForm::UNCOMPRESSED, &mut ctx)?)
            }
            (DomainParams::Dh(d), Element::Dh(y)) => {
                Ok(y.to_vec_padded(i32::try_from(d.p_len).unwrap_or(i32::MAX))?)
            }
            _ => Err(PaceError::State {
                what: "group element of the wrong kind",
            }),
        }
    }

    /// Decode and validate an element received from the other side: an uncompressed
    /// point on the curve, not the identity, in the prime-order subgroup; or a DH value
    /// in (1, p-1) of order q.
    pub fn decode_public(&self, bytes: &[u8], what: &'static str) -> Result<Element, PaceError> {
        match self {
            DomainParams::Ec(d) => {
                if bytes.len() != 1 + 2 * d.field_len || bytes.first() != Some(&0x04) {
                    return Err(invalid(what, "not an uncompressed point of the curve's size"));
                }
                let mut ctx = BigNumContext::new()?;
                let pt = EcPoint::from_bytes(&d.group, bytes, &mut ctx)
                    .map_err(|_| invalid(what, "point not on the curve"))?;
                if pt.is_infinity(&d.group) {
                    return Err(invalid(what, "point at infinity"));
                }
                if !pt.is_on_curve(&d.group, &mut ctx)? {
                    return Err(invalid(what, "point not on the curve"));
                }
                if !d.cofactor_is_one() {
                    let mut check = EcPoint::new(&d.group)?;
                    check.mul2(&d.group, &pt, &d.order, &mut ctx)?;
                    if !check.is_infinity(&d.group) {
                        return Err(invalid(what, "point not in the prime-order subgroup"));
                    }
                }
                Ok(Element::Ec(pt))
            }
            DomainParams::Dh(d) => {
                if bytes.len() > d.p_len {
                    return Err(invalid(what, "DH value longer than p"));
                }
                let y = BigNum::from_slice(bytes)?;
                let mut ctx = BigNumContext::new()?;
                let one = BigNum::from_u32(1)?;
                let mut p_minus_1 = BigNum::new()?;
                p_minus_1.checked_sub(&d.p, &one)?;
                if y <= one || y >= p_minus_1 {
                    return Err(invalid(what, "DH value out of range"));
                }
                let mut yq = BigNum::new()?;
                yq.mod_exp(&y, &d.q, &d.p, &mut ctx)?;
                if yq != one {
                    return Err(invalid(what, "DH value not in the prime-order subgroup"));
                }
                Ok(Element::Dh(y))
            }
        }
    }

    /// True when both elements are the same group element.
    pub fn same(&self, a: &Element, b: &Element) -> Result<bool, PaceError> {
        Ok(match (self, a, b) {
            (DomainParams::Ec(d), Element::Ec(x), Element::Ec(y)) => {
                let mut ctx = BigNumContext::new()?;
                x.eq(&d.group, y, &mut ctx)?
            }
            (DomainParams::Dh(_), Element::Dh(x), Element::Dh(y)) => x == y,
            _ => false,
        })
    }

    /// Key agreement: `sk · peer` / `peer^sk`, rejecting a degenerate result.
    pub fn agree(&self, sk: &PrivateKey, peer: &Element) -> Result<Element, PaceError> {
        let r = self.multiply(peer, sk.as_bn())?;
        let degenerate = match (&r, self) {
            (Element::Ec(pt), DomainParams::Ec(d)) => pt.is_infinity(&d.group),
            (Element::Dh(v), _) => v.num_bits() <= 1,
            _ => true,
        };
        if degenerate {
            return Err(invalid("public key", "key agreement gives the identity"));
        }
        Ok(r)
    }

    /// The shared secret bytes of an agreement result: the x-coordinate padded to the
    /// field length (ECDH), or the value padded to the length of p (DH) (Doc 9303
    /// Part 11 §9.6 / BSI TR-03111 §4.3.1).
    pub fn shared_secret(&self, e: &Element) -> Result<Zeroizing<Vec<u8>>, PaceError> {
        match (self, e) {
            (DomainParams::Ec(d), Element::Ec(pt)) => {
                let mut ctx = BigNumContext::new()?;
                let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
                pt.affine_coordinates(&d.group, &mut x, &mut y, &mut ctx)?;
                let out = Zeroizing::new(x.to_vec_padded(i32::try_from(d.field_len).unwrap_or(i32::MAX))?);
                x.clear();
                y.clear();
                Ok(out)
            }
            (DomainParams::Dh(_), Element::Dh(_)) => Ok(Zeroizing::new(self.encode(e)?)),
            _ => Err(PaceError::State {
                what: "group element of the wrong kind",
            }),
        }
    }

    /// Copy an element.
    pub fn clone_element(&self, e: &Element) -> Result<Element, PaceError> {
        Ok(match (self, e) {
            (DomainParams::Ec(d), Element::Ec(pt)) => Element::Ec(PointRef::to_owned(pt, &d.group)?),
            (_, Element::Dh(v)) => Element::Dh(BigNumRef::to_owned(v)?),
            _ => {
                return Err(PaceError::State {
                    what: "group element of the wrong kind",
                });
            }
        })
    }
}

/// The EC point for `bytes` on the standardized/explicit curve (public for the CAM check
/// and tests).
pub fn ec_point(d: &EcCurve, bytes: &[u8]) -> Result<EcPoint, PaceError> {
    let mut ctx = BigNumContext::new()?;
    EcPoint::from_bytes(&d.group, bytes, &mut ctx).map_err(|_| invalid("point", "point not on the curve"))
}

/// `k · P` on a curve.
pub fn ec_mul(d: &EcCurve, p: &EcPointRef, k: &BigNumRef) -> Result<EcPoint, PaceError> {
    let mut ctx = BigNumContext::new()?;
    let mut r = EcPoint::new(&d.group)?;
    r.mul2(&d.group, p, k, &mut ctx)?;
    Ok(r)
}

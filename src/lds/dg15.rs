//! EF.DG15 Active Authentication public key (Doc 9303 Part 10 §4.7.15, Part 11 §6.1):
//! an X.509 SubjectPublicKeyInfo, RSA or EC. EC domain parameters may be a named curve
//! or explicit (RFC 3279 §2.3.5 `ECParameters`); explicit parameters are compared with
//! OpenSSL's built-in NIST and Brainpool groups so a report can name the curve, and the
//! key is built from the explicit components themselves.
//!
//! ```text
//! 6F L
//!    30 SubjectPublicKeyInfo { 30 { OID algorithm, parameters }, 03 subjectPublicKey }
//! ```

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::rsa::Rsa;

use super::error::LdsError;
use super::quirk::{self, Quirk, RawDo};
use super::view::{Node, bytes_summary, short_hex};
use crate::asn1::der::tag::{BIT_STRING, INTEGER, NULL, OCTET_STRING, OID, SEQUENCE};
use crate::tlv::Tlv;

const FILE: &str = "DG15";
const TAG: u32 = 0x6F;

/// rsaEncryption, 1.2.840.113549.1.1.1.
pub const OID_RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
pub const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// prime-field, 1.2.840.10045.1.1.
const OID_PRIME_FIELD: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01];
/// characteristic-two-field, 1.2.840.10045.1.2.
const OID_CHAR2_FIELD: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x02];

/// Largest EC field accepted (bits); Doc 9303 curves stop at 521.
pub const MAX_FIELD_BITS: usize = 1024;
/// Largest RSA modulus accepted (bits).
pub const MAX_MODULUS_BITS: usize = 16384;

/// The groups explicit parameters are compared with (Doc 9303 Part 11 Table 6 and
/// the other prime curves OpenSSL knows by name).
const KNOWN_CURVES: &[Nid] = &[
    Nid::X9_62_PRIME192V1,
    Nid::SECP224R1,
    Nid::X9_62_PRIME256V1,
    Nid::SECP384R1,
    Nid::SECP521R1,
    Nid::BRAINPOOL_P192R1,
    Nid::BRAINPOOL_P224R1,
    Nid::BRAINPOOL_P256R1,
    Nid::BRAINPOOL_P320R1,
    Nid::BRAINPOOL_P384R1,
    Nid::BRAINPOOL_P512R1,
    Nid::BRAINPOOL_P192T1,
    Nid::BRAINPOOL_P224T1,
    Nid::BRAINPOOL_P256T1,
    Nid::BRAINPOOL_P320T1,
    Nid::BRAINPOOL_P384T1,
    Nid::BRAINPOOL_P512T1,
    Nid::SECP192K1,
    Nid::SECP224K1,
    Nid::SECP256K1,
];

/// Dotted form of an OID's content octets (`2A864886F70D010101` → `1.2.840.113549.1.1.1`).
/// `None` for a malformed encoding.
pub fn oid_to_string(bytes: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    let mut in_arc = false;
    for b in bytes {
        if !in_arc && *b == 0x80 {
            return None; // non-minimal arc
        }
        acc = acc.checked_mul(128)?.checked_add(u64::from(b & 0x7F))?;
        in_arc = b & 0x80 != 0;
        if !in_arc {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    if in_arc || arcs.is_empty() {
        return None;
    }
    Some(arcs.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

/// Bits of an unsigned big-endian integer.
fn bit_len(bytes: &[u8]) -> usize {
    let significant = strip_zeros(bytes);
    match significant.first() {
        None => 0,
        Some(first) => (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| **b == 0).count();
    bytes.get(n..).unwrap_or_default()
}

/// Explicit EC domain parameters over a prime field (RFC 3279 `ECParameters`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExplicitCurve {
    /// Field prime p.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub p: Vec<u8>,
    /// Coefficient a.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub a: Vec<u8>,
    /// Coefficient b.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub b: Vec<u8>,
    /// Base point G, encoded (`04 x y` or compressed).
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub generator: Vec<u8>,
    /// Order n of G.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub order: Vec<u8>,
    /// Cofactor h, when present.
    pub cofactor: Option<u64>,
    /// Bits of p.
    pub field_bits: usize,
    /// The OpenSSL curve whose p, a, b, G, n, h equal these (`brainpoolP256r1`), if any.
    pub known_curve: Option<&'static str>,
}

/// EC domain parameters of a key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EcParameters {
    /// A named curve.
    Named {
        /// The curve OID, dotted.
        oid: String,
        /// OpenSSL's short name for it, when known (`prime256v1`, `brainpoolP256r1`).
        name: Option<&'static str>,
    },
    /// Explicit parameters.
    Explicit(ExplicitCurve),
    /// `implicitlyCA` (NULL): parameters inherited from elsewhere; no key can be built.
    ImplicitlyCa,
}

/// The public key inside the SubjectPublicKeyInfo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PublicKeyInfo {
    /// rsaEncryption.
    Rsa {
        /// Modulus n (big-endian, as encoded).
        #[serde(serialize_with = "quirk::serialize_hex")]
        modulus: Vec<u8>,
        /// Bits of n.
        modulus_bits: usize,
        /// Public exponent e (big-endian, as encoded).
        #[serde(serialize_with = "quirk::serialize_hex")]
        exponent: Vec<u8>,
    },
    /// id-ecPublicKey.
    Ec {
        /// Domain parameters.
        parameters: EcParameters,
        /// The public point, encoded.
        #[serde(serialize_with = "quirk::serialize_hex")]
        point: Vec<u8>,
    },
    /// Any other algorithm (kept in [`Dg15::spki`]).
    Other {
        /// Algorithm OID, dotted.
        oid: String,
    },
}

/// Decoded EF.DG15.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dg15 {
    /// The SubjectPublicKeyInfo DER bytes exactly as stored.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub spki: Vec<u8>,
    /// Algorithm OID, dotted.
    pub algorithm_oid: String,
    /// The key.
    pub key: PublicKeyInfo,
    /// Data objects after the SPKI, kept raw.
    pub unknown: Vec<RawDo>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
    /// The file's bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

fn expect<'a>(t: Option<&Tlv<'a>>, tag: u32, what: &'static str) -> Result<Tlv<'a>, LdsError> {
    quirk::expect(t, FILE, tag, what)
}

fn kids<'a>(t: &Tlv<'a>, quirks: &mut Vec<Quirk>) -> Result<Vec<Tlv<'a>>, LdsError> {
    quirk::children(t, FILE, quirks)
}

/// An INTEGER read as unsigned; a set sign bit is reported.
fn unsigned_integer(t: &Tlv<'_>, what: &'static str, quirks: &mut Vec<Quirk>) -> Result<Vec<u8>, LdsError> {
    if t.value.is_empty() {
        return Err(LdsError::Invalid { file: FILE, what });
    }
    if t.value.first().is_some_and(|b| b & 0x80 != 0) {
        quirks.push(Quirk::Other {
            name: "negative_integer_read_as_unsigned",
            detail: format!("{what} is encoded as a negative INTEGER; read as unsigned"),
        });
    }
    if t.value.len() > 1 && t.value.first() == Some(&0) && t.value.get(1).is_some_and(|b| b & 0x80 == 0) {
        quirks.push(Quirk::NonDer { tag: t.tag });
    }
    Ok(t.value.to_vec())
}

fn bit_string_content<'a>(t: &Tlv<'a>, what: &'static str) -> Result<&'a [u8], LdsError> {
    match t.value.split_first() {
        Some((0, rest)) => Ok(rest),
        _ => Err(LdsError::Invalid { file: FILE, what }),
    }
}

fn check_size(bits: usize, max: usize, what: &'static str) -> Result<(), LdsError> {
    if bits > max {
        return Err(LdsError::TooLarge {
            file: FILE,
            what,
            size: bits,
            max,
        });
    }
    Ok(())
}

fn parse_explicit(params: &Tlv<'_>, quirks: &mut Vec<Quirk>) -> Result<ExplicitCurve, LdsError> {
    let k = kids(params, quirks)?;
    expect(k.first(), INTEGER, "ECParameters version")?;
    let field = expect(k.get(1), SEQUENCE, "ECParameters fieldID")?;
    let fk = kids(&field, quirks)?;
    let field_type = expect(fk.first(), OID, "fieldType")?;
    if field_type.value == OID_CHAR2_FIELD {
        return Err(LdsError::Unsupported {
            file: FILE,
            what: "EC curve over a characteristic-two field",
        });
    }
    if field_type.value != OID_PRIME_FIELD {
        return Err(LdsError::Invalid {
            file: FILE,
            what: "EC field type",
        });
    }
    let p = unsigned_integer(&expect(fk.get(1), INTEGER, "field prime")?, "field prime", quirks)?;
    let field_bits = bit_len(&p);
    check_size(field_bits, MAX_FIELD_BITS, "EC field prime (bits)")?;
    let curve = expect(k.get(2), SEQUENCE, "ECParameters curve")?;
    let ck = kids(&curve, quirks)?;
    let a = expect(ck.first(), OCTET_STRING, "curve coefficient a")?
        .value
        .to_vec();
    let b = expect(ck.get(1), OCTET_STRING, "curve coefficient b")?
        .value
        .to_vec();
    let generator = expect(k.get(3), OCTET_STRING, "base point")?.value.to_vec();
    let order = unsigned_integer(&expect(k.get(4), INTEGER, "order")?, "order", quirks)?;
    check_size(bit_len(&order), MAX_FIELD_BITS + 1, "EC order (bits)")?;
    let cofactor = match k.get(5) {
        Some(h) if h.tag == INTEGER => {
            let v = unsigned_integer(h, "cofactor", quirks)?;
            let s = strip_zeros(&v);
            if s.len() > 8 {
                return Err(LdsError::Invalid {
                    file: FILE,
                    what: "cofactor",
                });
            }
            Some(s.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
        }
        _ => None,
    };
    let mut curve = ExplicitCurve {
        p,
        a,
        b,
        generator,
        order,
        cofactor,
        field_bits,
        known_curve: None,
    };
    curve.known_curve = known_curve(&curve);
    Ok(curve)
}

/// The explicit parameters as an OpenSSL group (generator, order and cofactor set).
fn explicit_group(c: &ExplicitCurve, ctx: &mut BigNumContext) -> Result<EcGroup, openssl::error::ErrorStack> {
    let mut group = EcGroup::from_components(
        BigNum::from_slice(&c.p)?,
        BigNum::from_slice(&c.a)?,
        BigNum::from_slice(&c.b)?,
        ctx,
    )?;
    let g = EcPoint::from_bytes(&group, &c.generator, ctx)?;
    // a zero cofactor lets OpenSSL compute it
    let h = match c.cofactor {
        Some(h) => BigNum::from_slice(&h.to_be_bytes())?,
        None => BigNum::new()?,
    };
    group.set_generator(g, BigNum::from_slice(&c.order)?, h)?;
    Ok(group)
}

/// Name of the built-in curve equal to these parameters (p, a, b, G, n, h), if any.
fn known_curve(c: &ExplicitCurve) -> Option<&'static str> {
    let mut ctx = BigNumContext::new().ok()?;
    let p = BigNum::from_slice(&c.p).ok()?;
    let a = BigNum::from_slice(&c.a).ok()?;
    let b = BigNum::from_slice(&c.b).ok()?;
    let n = BigNum::from_slice(&c.order).ok()?;
    let ours = explicit_group(c, &mut ctx).ok()?;
    let (mut gx, mut gy) = (BigNum::new().ok()?, BigNum::new().ok()?);
    ours.generator_opt()?
        .affine_coordinates(&ours, &mut gx, &mut gy, &mut ctx)
        .ok()?;
    for nid in KNOWN_CURVES {
        let Ok(g) = EcGroup::from_curve_name(*nid) else {
            continue;
        };
        let (mut kp, mut ka, mut kb) = (BigNum::new().ok()?, BigNum::new().ok()?, BigNum::new().ok()?);
        if g.components_gfp(&mut kp, &mut ka, &mut kb, &mut ctx).is_err() || kp != p {
            continue;
        }
        let (mut kn, mut kh) = (BigNum::new().ok()?, BigNum::new().ok()?);
        let (mut kx, mut ky) = (BigNum::new().ok()?, BigNum::new().ok()?);
        if g.order(&mut kn, &mut ctx).is_err()
            || g.cofactor(&mut kh, &mut ctx).is_err()
            || g.generator_opt()
                .is_none_or(|pt| pt.affine_coordinates(&g, &mut kx, &mut ky, &mut ctx).is_err())
        {
            continue;
        }
        let cofactor_ok = match c.cofactor {
            Some(h) => BigNum::from_slice(&h.to_be_bytes()).is_ok_and(|h| h == kh),
            None => true,
        };
        if ka == a && kb == b && kn == n && kx == gx && ky == gy && cofactor_ok {
            return nid.short_name().ok();
        }
    }
    None
}

fn curve_name_of_oid(dotted: &str) -> Option<Nid> {
    let nid = openssl::asn1::Asn1Object::from_str(dotted).ok()?.nid();
    (nid != Nid::UNDEF).then_some(nid)
}

impl Dg15 {
    /// Decode EF.DG15.
    pub fn decode(input: &[u8]) -> Result<Dg15, LdsError> {
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, FILE, TAG, &mut quirks)?;
        let content = kids(&outer, &mut quirks)?;
        let (spki_tlv, rest) = content.split_first().ok_or(LdsError::Missing {
            file: FILE,
            what: "SubjectPublicKeyInfo",
        })?;
        let mut unknown = Vec::new();
        for t in rest {
            quirks.push(Quirk::UnknownTag { tag: t.tag });
            unknown.push(RawDo::from_tlv(t));
        }
        let mut d = Dg15::parse_spki(spki_tlv, &mut quirks)?;
        d.unknown = unknown;
        d.quirks = quirks;
        d.raw = input.to_vec();
        Ok(d)
    }

    /// A DG15 holding `spki` (SubjectPublicKeyInfo DER), decoded.
    pub fn from_spki(spki: &[u8]) -> Result<Dg15, LdsError> {
        Dg15::decode(&crate::tlv::encode(TAG, spki))
    }

    /// A DG15 for an OpenSSL public key (its DER SubjectPublicKeyInfo).
    pub fn from_public_key(key: &PKey<Public>) -> Result<Dg15, LdsError> {
        let der = key.public_key_to_der().map_err(|source| LdsError::Crypto {
            file: FILE,
            what: "public key encoding",
            source,
        })?;
        Dg15::from_spki(&der)
    }

    fn parse_spki(spki: &Tlv<'_>, quirks: &mut Vec<Quirk>) -> Result<Dg15, LdsError> {
        LdsError::want_tag(spki, SEQUENCE, FILE)?;
        let k = kids(spki, quirks)?;
        let alg = expect(k.first(), SEQUENCE, "AlgorithmIdentifier")?;
        let key_bits = expect(k.get(1), BIT_STRING, "subjectPublicKey")?;
        let ak = kids(&alg, quirks)?;
        let oid = expect(ak.first(), OID, "algorithm OID")?;
        let algorithm_oid = oid_to_string(oid.value).ok_or(LdsError::Invalid {
            file: FILE,
            what: "algorithm OID",
        })?;
        let key_content = bit_string_content(&key_bits, "subjectPublicKey")?;
        let key = if oid.value == OID_RSA_ENCRYPTION {
            let rsa = crate::tlv::parse(key_content).map_err(LdsError::tlv_in(FILE))?;
            quirks.extend(quirk::length_quirk(&rsa));
            let rsa = expect(Some(&rsa), SEQUENCE, "RSAPublicKey")?;
            let rk = kids(&rsa, quirks)?;
            let modulus = unsigned_integer(&expect(rk.first(), INTEGER, "modulus")?, "modulus", quirks)?;
            let exponent = unsigned_integer(&expect(rk.get(1), INTEGER, "exponent")?, "exponent", quirks)?;
            let modulus_bits = bit_len(&modulus);
            check_size(modulus_bits, MAX_MODULUS_BITS, "RSA modulus (bits)")?;
            check_size(bit_len(&exponent), MAX_MODULUS_BITS, "RSA exponent (bits)")?;
            PublicKeyInfo::Rsa {
                modulus,
                modulus_bits,
                exponent,
            }
        } else if oid.value == OID_EC_PUBLIC_KEY {
            let params = ak.get(1).ok_or(LdsError::Missing {
                file: FILE,
                what: "EC domain parameters",
            })?;
            let parameters = match params.tag {
                OID => {
                    let dotted = oid_to_string(params.value).ok_or(LdsError::Invalid {
                        file: FILE,
                        what: "named curve OID",
                    })?;
                    let name = curve_name_of_oid(&dotted).and_then(|n| n.short_name().ok());
                    EcParameters::Named { oid: dotted, name }
                }
                SEQUENCE => {
                    quirks.push(Quirk::ExplicitEcParameters);
                    EcParameters::Explicit(parse_explicit(params, quirks)?)
                }
                NULL => EcParameters::ImplicitlyCa,
                found => {
                    return Err(LdsError::UnexpectedTag {
                        file: FILE,
                        expected: OID,
                        found,
                    });
                }
            };
            if key_content.is_empty() {
                return Err(LdsError::Invalid {
                    file: FILE,
                    what: "EC public point",
                });
            }
            PublicKeyInfo::Ec {
                parameters,
                point: key_content.to_vec(),
            }
        } else {
            PublicKeyInfo::Other {
                oid: algorithm_oid.clone(),
            }
        };
        Ok(Dg15 {
            spki: spki.raw.to_vec(),
            algorithm_oid,
            key,
            unknown: Vec::new(),
            quirks: Vec::new(),
            raw: Vec::new(),
        })
    }

    /// `rsaEncryption`, `id-ecPublicKey`, or the dotted OID.
    pub fn algorithm_name(&self) -> &str {
        match self.key {
            PublicKeyInfo::Rsa { .. } => "rsaEncryption",
            PublicKeyInfo::Ec { .. } => "id-ecPublicKey",
            PublicKeyInfo::Other { .. } => &self.algorithm_oid,
        }
    }

    /// Key size: RSA modulus bits, or EC field bits (when the parameters are known).
    pub fn key_bits(&self) -> Option<usize> {
        match &self.key {
            PublicKeyInfo::Rsa { modulus_bits, .. } => Some(*modulus_bits),
            PublicKeyInfo::Ec {
                parameters: EcParameters::Explicit(c),
                ..
            } => Some(c.field_bits),
            PublicKeyInfo::Ec {
                parameters: EcParameters::Named { oid, .. },
                ..
            } => curve_name_of_oid(oid)
                .and_then(|nid| EcGroup::from_curve_name(nid).ok())
                .map(|g| g.degree() as usize),
            _ => None,
        }
    }

    /// RSA public exponent as a number, when it fits in 64 bits.
    pub fn rsa_exponent(&self) -> Option<u64> {
        match &self.key {
            PublicKeyInfo::Rsa { exponent, .. } => {
                let s = strip_zeros(exponent);
                (s.len() <= 8).then(|| s.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
            }
            _ => None,
        }
    }

    /// Build the OpenSSL public key. EC keys with explicit parameters get a group built
    /// from p, a, b, G, n, h (not via `d2i_PUBKEY`); EC points are checked to lie on
    /// the curve.
    pub fn public_key(&self) -> Result<PKey<Public>, LdsError> {
        let crypto = |what: &'static str| {
            move |source| LdsError::Crypto {
                file: FILE,
                what,
                source,
            }
        };
        match &self.key {
            PublicKeyInfo::Rsa {
                modulus, exponent, ..
            } => {
                let n = BigNum::from_slice(modulus).map_err(crypto("RSA modulus"))?;
                let e = BigNum::from_slice(exponent).map_err(crypto("RSA exponent"))?;
                let rsa = Rsa::from_public_components(n, e).map_err(crypto("RSA key"))?;
                PKey::from_rsa(rsa).map_err(crypto("RSA key"))
            }
            PublicKeyInfo::Ec { parameters, point } => {
                let mut ctx = BigNumContext::new().map_err(crypto("bignum context"))?;
                let group = match parameters {
                    EcParameters::Named { oid, .. } => {
                        let nid = curve_name_of_oid(oid).ok_or(LdsError::Unsupported {
                            file: FILE,
                            what: "named curve (unknown to OpenSSL)",
                        })?;
                        EcGroup::from_curve_name(nid).map_err(crypto("named EC group"))?
                    }
                    EcParameters::Explicit(c) => {
                        explicit_group(c, &mut ctx).map_err(crypto("explicit EC group"))?
                    }
                    EcParameters::ImplicitlyCa => {
                        return Err(LdsError::Unsupported {
                            file: FILE,
                            what: "implicitlyCA EC parameters (no domain parameters in the key)",
                        });
                    }
                };
                let pt = EcPoint::from_bytes(&group, point, &mut ctx).map_err(crypto("EC public point"))?;
                let key = EcKey::from_public_key(&group, &pt).map_err(crypto("EC key"))?;
                key.check_key().map_err(crypto("EC public point"))?;
                PKey::from_ec_key(key).map_err(crypto("EC key"))
            }
            PublicKeyInfo::Other { .. } => {
                PKey::public_key_from_der(&self.spki).map_err(crypto("public key"))
            }
        }
    }

    /// Encode `6F { spki }` (then unknown data objects).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.spki.clone();
        for u in &self.unknown {
            u.encode_into(&mut b);
        }
        crate::tlv::encode(TAG, &b)
    }
}

impl ExplicitCurve {
    /// The lines `inspect` shows of the parameters: p, a, b, G, n, h.
    pub fn nodes(&self) -> Vec<Node> {
        vec![
            Node::field("p", short_hex(&self.p)),
            Node::field("a", short_hex(&self.a)),
            Node::field("b", short_hex(&self.b)),
            Node::field("G", short_hex(&self.generator)),
            Node::field("n", short_hex(&self.order)),
            Node::field("h", self.cofactor.map_or("(absent)".into(), |h| h.to_string())),
        ]
    }
}

/// DG15 as `inspect --json` shows it: the decoded file and whether OpenSSL builds
/// the key.
#[derive(serde::Serialize)]
struct Dg15Json<'a> {
    #[serde(flatten)]
    dg15: &'a Dg15,
    /// `ok`, or why OpenSSL refused the key.
    public_key: String,
}

impl Dg15 {
    fn key_check(&self) -> String {
        match self.public_key() {
            Ok(_) => "ok".to_owned(),
            Err(e) => crate::error::text(&e),
        }
    }

    fn json_view(&self) -> Dg15Json<'_> {
        Dg15Json {
            dg15: self,
            public_key: self.key_check(),
        }
    }

    /// The lines `inspect` shows.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = vec![Node::field(
            "algorithm",
            format!("{} ({})", self.algorithm_name(), self.algorithm_oid),
        )];
        match &self.key {
            PublicKeyInfo::Rsa {
                modulus,
                modulus_bits,
                exponent,
            } => {
                n.push(Node::field("modulus bits", modulus_bits));
                n.push(Node::field("modulus", short_hex(modulus)));
                n.push(Node::field(
                    "public exponent",
                    self.rsa_exponent()
                        .map_or_else(|| hex::encode_upper(exponent), |e| e.to_string()),
                ));
            }
            PublicKeyInfo::Ec { parameters, point } => {
                n.push(match parameters {
                    EcParameters::Named { oid, name } => Node::field(
                        "curve",
                        format!("{} ({oid})", name.unwrap_or("unknown to OpenSSL")),
                    ),
                    EcParameters::Explicit(c) => {
                        let mut kids = vec![
                            Node::field("field bits", c.field_bits),
                            Node::field("equal to", c.known_curve.unwrap_or("no curve known to OpenSSL")),
                        ];
                        kids.extend(c.nodes());
                        Node::new("explicit domain parameters").with(kids)
                    }
                    EcParameters::ImplicitlyCa => Node::field("curve", "implicitlyCA"),
                });
                n.push(Node::field("public point", short_hex(point)));
            }
            PublicKeyInfo::Other { .. } => {}
        }
        if let Some(bits) = self.key_bits() {
            n.push(Node::field("key size (bits)", bits));
        }
        n.push(Node::field("SubjectPublicKeyInfo", bytes_summary(&self.spki)));
        n.push(Node::field("OpenSSL key", self.key_check()));
        n
    }
}

super::group::data_group!(Dg15, json = Dg15::json_view);

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ec::{Asn1Flag, PointConversionForm};

    #[test]
    fn oids() {
        assert_eq!(
            oid_to_string(OID_RSA_ENCRYPTION).as_deref(),
            Some("1.2.840.113549.1.1.1")
        );
        assert_eq!(
            oid_to_string(&hex::decode("2B2403030208010107").unwrap()).as_deref(),
            Some("1.3.36.3.3.2.8.1.1.7")
        );
        assert_eq!(oid_to_string(&[0x81]), None);
        assert_eq!(oid_to_string(&[]), None);
    }

    fn ec_key(nid: Nid, explicit: bool) -> PKey<openssl::pkey::Private> {
        let mut g = EcGroup::from_curve_name(nid).unwrap();
        if explicit {
            g.set_asn1_flag(Asn1Flag::EXPLICIT_CURVE);
        }
        PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap()
    }

    #[test]
    fn named_curve_key() {
        let k = ec_key(Nid::X9_62_PRIME256V1, false);
        let d = Dg15::from_spki(&k.public_key_to_der().unwrap()).unwrap();
        assert_eq!(d.algorithm_name(), "id-ecPublicKey");
        assert!(matches!(
            &d.key,
            PublicKeyInfo::Ec {
                parameters: EcParameters::Named {
                    name: Some("prime256v1"),
                    ..
                },
                ..
            }
        ));
        assert_eq!(d.key_bits(), Some(256));
        assert!(d.public_key().unwrap().public_eq(&k));
        assert!(d.quirks.is_empty());
    }

    #[test]
    fn explicit_parameters_are_named_and_built() {
        for (nid, name, bits) in [
            (Nid::BRAINPOOL_P256R1, "brainpoolP256r1", 256),
            (Nid::SECP384R1, "secp384r1", 384),
            (Nid::BRAINPOOL_P512R1, "brainpoolP512r1", 512),
        ] {
            let k = ec_key(nid, true);
            let d = Dg15::from_spki(&k.public_key_to_der().unwrap()).unwrap();
            let PublicKeyInfo::Ec {
                parameters: EcParameters::Explicit(c),
                ..
            } = &d.key
            else {
                panic!("explicit parameters expected");
            };
            assert_eq!(c.known_curve, Some(name));
            assert_eq!(c.field_bits, bits);
            assert_eq!(d.quirks, vec![Quirk::ExplicitEcParameters]);
            let built = d.public_key().unwrap();
            assert!(built.public_eq(&k));
            assert_eq!(built.ec_key().unwrap().group().curve_name(), None);
        }
    }

    #[test]
    fn explicit_parameters_of_an_unknown_curve() {
        // brainpoolP256r1 with b changed: no built-in curve matches
        let k = ec_key(Nid::BRAINPOOL_P256R1, true);
        let d = Dg15::from_spki(&k.public_key_to_der().unwrap()).unwrap();
        let PublicKeyInfo::Ec {
            parameters: EcParameters::Explicit(mut c),
            point,
        } = d.key.clone()
        else {
            panic!("explicit parameters expected");
        };
        if let Some(last) = c.b.last_mut() {
            *last ^= 1;
        }
        assert_eq!(known_curve(&c), None);
        // the point is not on the altered curve: the key is refused
        let altered = Dg15 {
            key: PublicKeyInfo::Ec {
                parameters: EcParameters::Explicit(c),
                point,
            },
            ..d
        };
        assert!(altered.public_key().is_err());
    }

    #[test]
    fn compressed_point() {
        let g = EcGroup::from_curve_name(Nid::BRAINPOOL_P256R1).unwrap();
        let k = EcKey::generate(&g).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let comp = k
            .public_key()
            .to_bytes(&g, PointConversionForm::COMPRESSED, &mut ctx)
            .unwrap();
        let pk = PKey::from_ec_key(k).unwrap();
        let d = Dg15::from_spki(&pk.public_key_to_der().unwrap()).unwrap();
        let PublicKeyInfo::Ec { parameters, .. } = d.key.clone() else {
            panic!()
        };
        let c = Dg15 {
            key: PublicKeyInfo::Ec {
                parameters,
                point: comp,
            },
            ..d
        };
        assert!(c.public_key().unwrap().public_eq(&pk));
    }

    #[test]
    fn rsa_roundtrip() {
        let k = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        let pubk = PKey::public_key_from_der(&k.public_key_to_der().unwrap()).unwrap();
        let d = Dg15::from_public_key(&pubk).unwrap();
        assert_eq!(d.key_bits(), Some(1024));
        assert_eq!(d.rsa_exponent(), Some(65537));
        assert_eq!(Dg15::decode(&d.encode()).unwrap().spki, d.spki);
        assert!(d.public_key().unwrap().public_eq(&k));
    }
}

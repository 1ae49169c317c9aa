//! SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, RFC 3279 §2.3) to openssl keys, including
//! EC keys with EXPLICIT domain parameters (X9.62 `ECParameters`, RFC 3279 §2.3.5),
//! which most eMRTD CSCAs and DSCs use (Doc 9303 Part 12 §7.1.3: "explicit domain
//! parameters shall be used"; BSI TR-03111 §4.1).
//!
//! Explicit parameters are compared field by field (p, a, b, G, n, h) with the named
//! curves openssl knows (Brainpool, NIST, secp256k1); a match is reported by name,
//! anything else is used exactly as given. The key is then an ordinary openssl EC key
//! used with the plain ECDSA primitive: no X509 store is involved, so OpenSSL 3's
//! refusal of explicit-parameter certificates does not apply.

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{Asn1Flag, EcGroup, EcGroupRef, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Rsa;
use thiserror::Error;

use crate::asn1::der::{self as asn1, Asn1Error, tag};
use crate::asn1::oid;
use crate::asn1::{AlgorithmIdentifier, Oid};
use crate::tlv;

/// Why a public key could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The SubjectPublicKeyInfo or the parameters are malformed.
    #[error("malformed public key")]
    Malformed(#[from] Asn1Error),
    /// A key algorithm we do not support.
    #[error("unsupported public key algorithm {oid}")]
    UnsupportedAlgorithm {
        /// Its OID.
        oid: Oid,
    },
    /// A named curve we do not know.
    #[error("unknown named curve {oid}")]
    UnknownCurve {
        /// Its OID.
        oid: Oid,
    },
    /// EC parameters we cannot use (binary field, implicitlyCA, ...).
    #[error("unsupported EC domain parameters: {what}")]
    UnsupportedParameters {
        /// What.
        what: &'static str,
    },
    /// The values do not form a valid key (point not on the curve, bad generator, ...).
    #[error("invalid public key")]
    Invalid(#[source] openssl::error::ErrorStack),
}

impl From<tlv::TlvError> for KeyError {
    fn from(e: tlv::TlvError) -> Self {
        KeyError::Malformed(e.into())
    }
}

/// The kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlgorithm {
    /// RSA (rsaEncryption).
    Rsa,
    /// RSA restricted to PSS (id-RSASSA-PSS SPKI).
    RsaPss,
    /// Elliptic curve (id-ecPublicKey).
    Ec,
}

/// How a key's EC domain parameters were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EcParamsForm {
    /// A namedCurve OID.
    Named,
    /// Explicit parameters equal to a named curve.
    ExplicitNamed,
    /// Explicit parameters of a curve openssl does not name.
    ExplicitUnknown,
}

/// What a key is, for display, storage and findings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    /// Algorithm family.
    pub algorithm: KeyAlgorithm,
    /// Modulus size (RSA) or order size (EC) in bits.
    pub bits: u32,
    /// Curve name (`brainpoolP256r1`, `secp256r1`) when known.
    pub curve: Option<&'static str>,
    /// For EC keys: named or explicit parameters.
    pub ec_params: Option<EcParamsForm>,
}

impl KeyInfo {
    /// True for EC keys with explicit domain parameters.
    pub fn explicit_params(&self) -> bool {
        matches!(
            self.ec_params,
            Some(EcParamsForm::ExplicitNamed | EcParamsForm::ExplicitUnknown)
        )
    }

    /// `rsa`, `rsa-pss` or `ec`.
    pub fn type_name(&self) -> &'static str {
        match self.algorithm {
            KeyAlgorithm::Rsa => "rsa",
            KeyAlgorithm::RsaPss => "rsa-pss",
            KeyAlgorithm::Ec => "ec",
        }
    }

    /// `rsa-2048`, `ec-brainpoolP256r1`, `ec-explicit-224`.
    pub fn describe(&self) -> String {
        match (self.algorithm, self.curve) {
            (KeyAlgorithm::Ec, Some(c)) => format!("ec-{c}"),
            (KeyAlgorithm::Ec, None) => format!("ec-explicit-{}", self.bits),
            (_, _) => format!("{}-{}", self.type_name(), self.bits),
        }
    }
}

/// A public key ready for signature verification.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pkey: PKey<Public>,
    info: KeyInfo,
}

impl PublicKey {
    /// Parse a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, KeyError> {
        let seq = tlv::parse(spki)?;
        asn1::expect_tag(&seq, tag::SEQUENCE, "SubjectPublicKeyInfo")?;
        let mut r = seq.children();
        let alg_t = asn1::next(&mut r, tag::SEQUENCE, "algorithm")?;
        let alg = AlgorithmIdentifier::from_tlv(&alg_t)?;
        let bits_t = asn1::next(&mut r, tag::BIT_STRING, "subjectPublicKey")?;
        let key = asn1::bit_string_octets(&bits_t, "subjectPublicKey")?;
        if !r.is_empty() {
            return Err(Asn1Error::Trailing {
                field: "SubjectPublicKeyInfo",
            }
            .into());
        }
        match alg.oid {
            oid::RSA_ENCRYPTION | oid::RSASSA_PSS => {
                let algorithm = if alg.oid == oid::RSA_ENCRYPTION {
                    KeyAlgorithm::Rsa
                } else {
                    KeyAlgorithm::RsaPss
                };
                Self::from_rsa_public_key(key, algorithm)
            }
            oid::EC_PUBLIC_KEY => {
                let params = alg.parameters.as_deref().ok_or(KeyError::UnsupportedParameters {
                    what: "EC key without domain parameters",
                })?;
                let domain = EcDomain::from_der(params)?;
                Self::from_ec_point(domain, key)
            }
            other => Err(KeyError::UnsupportedAlgorithm { oid: other }),
        }
    }

    /// An RSA key from the DER `RSAPublicKey` (PKCS#1 §A.1.1).
    fn from_rsa_public_key(der: &[u8], algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let seq = tlv::parse(der)?;
        asn1::expect_tag(&seq, tag::SEQUENCE, "RSAPublicKey")?;
        let mut r = seq.children();
        let n = asn1::integer_bytes(&asn1::next(&mut r, tag::INTEGER, "modulus")?, "modulus")?;
        let e = asn1::integer_bytes(
            &asn1::next(&mut r, tag::INTEGER, "publicExponent")?,
            "publicExponent",
        )?;
        if n.first().is_some_and(|b| b & 0x80 != 0) || e.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(Asn1Error::BadInteger {
                field: "RSAPublicKey",
            }
            .into());
        }
        let n = BigNum::from_slice(n).map_err(KeyError::Invalid)?;
        let e = BigNum::from_slice(e).map_err(KeyError::Invalid)?;
        let bits = u32::try_from(n.num_bits()).unwrap_or(0);
        let rsa = Rsa::from_public_components(n, e).map_err(KeyError::Invalid)?;
        let pkey = PKey::from_rsa(rsa).map_err(KeyError::Invalid)?;
        Ok(PublicKey {
            pkey,
            info: KeyInfo {
                algorithm,
                bits,
                curve: None,
                ec_params: None,
            },
        })
    }

    /// An EC key from domain parameters and an encoded point (SEC 1 §2.3.3).
    pub fn from_ec_point(domain: EcDomain, point: &[u8]) -> Result<Self, KeyError> {
        let mut ctx = BigNumContext::new().map_err(KeyError::Invalid)?;
        let pt = EcPoint::from_bytes(&domain.group, point, &mut ctx).map_err(KeyError::Invalid)?;
        let ec = EcKey::from_public_key(&domain.group, &pt).map_err(KeyError::Invalid)?;
        ec.check_key().map_err(KeyError::Invalid)?;
        let bits = domain.group.order_bits();
        let pkey = PKey::from_ec_key(ec).map_err(KeyError::Invalid)?;
        Ok(PublicKey {
            pkey,
            info: KeyInfo {
                algorithm: KeyAlgorithm::Ec,
                bits,
                curve: domain.name,
                ec_params: Some(domain.form),
            },
        })
    }

    /// Wrap an openssl key (RSA or EC) obtained elsewhere.
    pub fn from_pkey(pkey: PKey<Public>) -> Result<Self, KeyError> {
        let info = match pkey.id() {
            Id::RSA | Id::RSA_PSS => KeyInfo {
                algorithm: if pkey.id() == Id::RSA {
                    KeyAlgorithm::Rsa
                } else {
                    KeyAlgorithm::RsaPss
                },
                bits: pkey.bits(),
                curve: None,
                ec_params: None,
            },
            Id::EC => {
                let ec = pkey.ec_key().map_err(KeyError::Invalid)?;
                let (name, form) = match ec.group().curve_name() {
                    Some(nid) => (curve_by_nid(nid).map(|c| c.name), EcParamsForm::Named),
                    None => (None, EcParamsForm::ExplicitUnknown),
                };
                KeyInfo {
                    algorithm: KeyAlgorithm::Ec,
                    bits: ec.group().order_bits(),
                    curve: name,
                    ec_params: Some(form),
                }
            }
            _ => {
                return Err(KeyError::UnsupportedParameters {
                    what: "only RSA and EC keys are supported",
                });
            }
        };
        Ok(PublicKey { pkey, info })
    }

    /// The openssl key.
    pub fn pkey(&self) -> &PKey<Public> {
        &self.pkey
    }

    /// What the key is.
    pub fn info(&self) -> &KeyInfo {
        &self.info
    }
}

/// A named curve openssl knows, with its OID.
#[derive(Debug, Clone, Copy)]
pub struct NamedCurve {
    /// Conventional name.
    pub name: &'static str,
    /// namedCurve OID.
    pub oid: Oid,
    nid: fn() -> Nid,
}

impl NamedCurve {
    /// The openssl NID.
    pub fn nid(&self) -> Nid {
        (self.nid)()
    }

    /// The openssl group.
    pub fn group(&self) -> Result<EcGroup, openssl::error::ErrorStack> {
        EcGroup::from_curve_name(self.nid())
    }
}

macro_rules! curve {
    ($name:literal, $oid:literal, $nid:expr) => {
        NamedCurve {
            name: $name,
            oid: Oid::new_unwrap($oid),
            nid: || $nid,
        }
    };
}

/// The curves explicit parameters are matched against (Doc 9303 Part 11 Table 4 lists
/// the PACE/CA ones; CSCAs use the same set).
pub const NAMED_CURVES: &[NamedCurve] = &[
    curve!("brainpoolP160r1", "1.3.36.3.3.2.8.1.1.1", Nid::from_raw(921)),
    curve!("brainpoolP192r1", "1.3.36.3.3.2.8.1.1.3", Nid::BRAINPOOL_P192R1),
    curve!("brainpoolP224r1", "1.3.36.3.3.2.8.1.1.5", Nid::BRAINPOOL_P224R1),
    curve!("brainpoolP256r1", "1.3.36.3.3.2.8.1.1.7", Nid::BRAINPOOL_P256R1),
    curve!("brainpoolP320r1", "1.3.36.3.3.2.8.1.1.9", Nid::BRAINPOOL_P320R1),
    curve!("brainpoolP384r1", "1.3.36.3.3.2.8.1.1.11", Nid::BRAINPOOL_P384R1),
    curve!("brainpoolP512r1", "1.3.36.3.3.2.8.1.1.13", Nid::BRAINPOOL_P512R1),
    curve!("brainpoolP160t1", "1.3.36.3.3.2.8.1.1.2", Nid::from_raw(922)),
    curve!("brainpoolP192t1", "1.3.36.3.3.2.8.1.1.4", Nid::BRAINPOOL_P192T1),
    curve!("brainpoolP224t1", "1.3.36.3.3.2.8.1.1.6", Nid::BRAINPOOL_P224T1),
    curve!("brainpoolP256t1", "1.3.36.3.3.2.8.1.1.8", Nid::BRAINPOOL_P256T1),
    curve!("brainpoolP320t1", "1.3.36.3.3.2.8.1.1.10", Nid::BRAINPOOL_P320T1),
    curve!("brainpoolP384t1", "1.3.36.3.3.2.8.1.1.12", Nid::BRAINPOOL_P384T1),
    curve!("brainpoolP512t1", "1.3.36.3.3.2.8.1.1.14", Nid::BRAINPOOL_P512T1),
    curve!("secp192r1", "1.2.840.10045.3.1.1", Nid::X9_62_PRIME192V1),
    curve!("secp224r1", "1.3.132.0.33", Nid::SECP224R1),
    curve!("secp256r1", "1.2.840.10045.3.1.7", Nid::X9_62_PRIME256V1),
    curve!("secp384r1", "1.3.132.0.34", Nid::SECP384R1),
    curve!("secp521r1", "1.3.132.0.35", Nid::SECP521R1),
    curve!("secp256k1", "1.3.132.0.10", Nid::SECP256K1),
];

/// The named curve with this OID.
pub fn curve_by_oid(oid: &Oid) -> Option<&'static NamedCurve> {
    NAMED_CURVES.iter().find(|c| c.oid == *oid)
}

/// The named curve with this openssl NID.
pub fn curve_by_nid(nid: Nid) -> Option<&'static NamedCurve> {
    NAMED_CURVES.iter().find(|c| c.nid() == nid)
}

/// The named curve with this name.
pub fn curve_by_name(name: &str) -> Option<&'static NamedCurve> {
    NAMED_CURVES.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// Explicit prime-field elliptic curve parameters (X9.62 `ECParameters`, RFC 3279
/// §2.3.5), as big-endian magnitudes and the encoded base point: the one decoder of
/// explicit EC parameters, used by certificates ([`EcDomain`]) and SecurityInfos
/// (`lds::security_infos`, PACE and Chip Authentication).
///
/// ```text
/// ECParameters ::= SEQUENCE {
///    version   INTEGER { ecpVer1(1) },
///    fieldID   FieldID { prime-field, Prime-p INTEGER },
///    curve     Curve { a OCTET STRING, b OCTET STRING, seed BIT STRING OPTIONAL },
///    base      ECPoint,
///    order     INTEGER,
///    cofactor  INTEGER OPTIONAL }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcExplicitParameters {
    /// Field prime p.
    pub p: Vec<u8>,
    /// Curve coefficient a (as encoded: field-element octet string).
    pub a: Vec<u8>,
    /// Curve coefficient b.
    pub b: Vec<u8>,
    /// Base point G, as an encoded point (04 || x || y, or compressed).
    pub generator: Vec<u8>,
    /// Order n of G.
    pub order: Vec<u8>,
    /// Cofactor h, when present.
    pub cofactor: Option<Vec<u8>>,
}

impl EcExplicitParameters {
    /// Decode an `ECParameters` SEQUENCE (versions 1 to 3; prime fields only).
    pub fn decode(t: &tlv::Tlv<'_>) -> Result<Self, KeyError> {
        asn1::expect_tag(t, tag::SEQUENCE, "ECParameters")?;
        let mut r = t.children();
        let version = asn1::small_uint(
            &asn1::next(&mut r, tag::INTEGER, "ECParameters.version")?,
            "version",
        )?;
        if !(1..=3).contains(&version) {
            return Err(KeyError::UnsupportedParameters {
                what: "ECParameters version",
            });
        }
        let field = asn1::next(&mut r, tag::SEQUENCE, "fieldID")?;
        let mut fr = field.children();
        let field_type = asn1::oid(&asn1::next(&mut fr, tag::OID, "fieldType")?, "fieldType")?;
        if field_type == oid::CHARACTERISTIC_TWO_FIELD {
            return Err(KeyError::UnsupportedParameters {
                what: "characteristic-two field",
            });
        }
        if field_type != oid::PRIME_FIELD {
            return Err(KeyError::UnsupportedParameters {
                what: "unknown field type",
            });
        }
        let p = unsigned(&asn1::next(&mut fr, tag::INTEGER, "prime")?, "prime")?;
        let curve = asn1::next(&mut r, tag::SEQUENCE, "curve")?;
        let mut cr = curve.children();
        let a = asn1::next(&mut cr, tag::OCTET_STRING, "curve.a")?.value.to_vec();
        let b = asn1::next(&mut cr, tag::OCTET_STRING, "curve.b")?.value.to_vec();
        let generator = asn1::next(&mut r, tag::OCTET_STRING, "base")?.value.to_vec();
        let order = unsigned(&asn1::next(&mut r, tag::INTEGER, "order")?, "order")?;
        let cofactor = match asn1::optional(&mut r, tag::INTEGER)? {
            Some(h) => Some(unsigned(&h, "cofactor")?),
            None => None,
        };
        Ok(EcExplicitParameters {
            p,
            a,
            b,
            generator,
            order,
            cofactor,
        })
    }

    /// DER encoding of the `ECParameters` SEQUENCE (a and b padded to the field length).
    pub fn encode(&self) -> Vec<u8> {
        let field_len = self.p.len();
        let pad = |v: &[u8]| {
            let mut out = vec![0u8; field_len.saturating_sub(v.len())];
            out.extend_from_slice(v);
            out
        };
        let field = asn1::encode_seq(&[&asn1::encode_oid(&oid::PRIME_FIELD), &asn1::encode_uint(&self.p)]);
        let curve = asn1::encode_seq(&[
            &tlv::encode(tag::OCTET_STRING, &pad(&self.a)),
            &tlv::encode(tag::OCTET_STRING, &pad(&self.b)),
        ]);
        let mut parts: Vec<Vec<u8>> = vec![
            asn1::encode_small_uint(1),
            field,
            curve,
            tlv::encode(tag::OCTET_STRING, &self.generator),
            asn1::encode_uint(&self.order),
        ];
        if let Some(h) = &self.cofactor {
            parts.push(asn1::encode_uint(h));
        }
        tlv::encode(tag::SEQUENCE, &parts.concat())
    }
}

/// The magnitude of a non-negative INTEGER (leading zero octets dropped).
fn unsigned(t: &tlv::Tlv<'_>, field: &'static str) -> Result<Vec<u8>, Asn1Error> {
    let v = asn1::integer_bytes(t, field)?;
    if v.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(Asn1Error::BadInteger { field });
    }
    Ok(asn1::unsigned_magnitude(v).to_vec())
}

/// EC domain parameters ready to use.
#[derive(Debug)]
pub struct EcDomain {
    /// The group (named when the parameters matched a named curve).
    pub group: EcGroup,
    /// Name of the matching curve.
    pub name: Option<&'static str>,
    /// How the parameters were given.
    pub form: EcParamsForm,
}

/// The explicit parameters as numbers, for comparison.
struct Explicit {
    p: BigNum,
    a: BigNum,
    b: BigNum,
    gx: BigNum,
    gy: BigNum,
    n: BigNum,
    h: Option<BigNum>,
}

impl EcDomain {
    /// Parse X9.62 `EcpkParameters` (RFC 3279 §2.3.5): a namedCurve OID or explicit
    /// `ECParameters`:
    ///
    /// ```text
    /// ECParameters ::= SEQUENCE {
    ///    version   INTEGER { ecpVer1(1) },
    ///    fieldID   FieldID { prime-field, Prime-p INTEGER },
    ///    curve     Curve { a OCTET STRING, b OCTET STRING, seed BIT STRING OPTIONAL },
    ///    base      ECPoint,
    ///    order     INTEGER,
    ///    cofactor  INTEGER OPTIONAL }
    /// ```
    pub fn from_der(params: &[u8]) -> Result<Self, KeyError> {
        let t = tlv::parse(params)?;
        match t.tag {
            tag::OID => {
                let o = asn1::oid(&t, "namedCurve")?;
                let c = curve_by_oid(&o).ok_or(KeyError::UnknownCurve { oid: o })?;
                Ok(EcDomain {
                    group: c.group().map_err(KeyError::Invalid)?,
                    name: Some(c.name),
                    form: EcParamsForm::Named,
                })
            }
            tag::SEQUENCE => Self::from_explicit(&t),
            tag::NULL => Err(KeyError::UnsupportedParameters {
                what: "implicitlyCA parameters",
            }),
            found => Err(Asn1Error::UnexpectedTag {
                field: "EcpkParameters",
                expected: tag::SEQUENCE,
                found,
            }
            .into()),
        }
    }

    fn from_explicit(t: &tlv::Tlv<'_>) -> Result<Self, KeyError> {
        let inv = KeyError::Invalid;
        if let Some(Some(c)) = cached_match(t.raw) {
            return Ok(EcDomain {
                group: c.group().map_err(inv)?,
                name: Some(c.name),
                form: EcParamsForm::ExplicitNamed,
            });
        }
        let e = EcExplicitParameters::decode(t)?;
        let p = BigNum::from_slice(&e.p).map_err(inv)?;
        let a = BigNum::from_slice(&e.a).map_err(inv)?;
        let b = BigNum::from_slice(&e.b).map_err(inv)?;
        let n = BigNum::from_slice(&e.order).map_err(inv)?;
        let h = e
            .cofactor
            .as_deref()
            .map(BigNum::from_slice)
            .transpose()
            .map_err(inv)?;
        // bound the work a hostile certificate can cause
        if p.num_bits() > 1024 || p.num_bits() < 64 {
            return Err(KeyError::UnsupportedParameters {
                what: "field size out of range",
            });
        }
        let mut ctx = BigNumContext::new().map_err(inv)?;
        let mut group = EcGroup::from_components(
            p.to_owned().map_err(inv)?,
            a.to_owned().map_err(inv)?,
            b.to_owned().map_err(inv)?,
            &mut ctx,
        )
        .map_err(inv)?;
        let g = EcPoint::from_bytes(&group, &e.generator, &mut ctx).map_err(inv)?;
        let mut gx = BigNum::new().map_err(inv)?;
        let mut gy = BigNum::new().map_err(inv)?;
        g.affine_coordinates(&group, &mut gx, &mut gy, &mut ctx)
            .map_err(inv)?;
        // a cofactor of zero makes openssl compute it
        let cof = match &h {
            Some(h) => openssl::bn::BigNumRef::to_owned(h).map_err(inv)?,
            None => BigNum::new().map_err(inv)?,
        };
        group
            .set_generator(g, n.to_owned().map_err(inv)?, cof)
            .map_err(inv)?;
        let explicit = Explicit {
            p,
            a,
            b,
            gx,
            gy,
            n,
            h,
        };
        let matched = match_named(&explicit, &mut ctx);
        remember_match(t.raw, matched);
        if let Some(c) = matched {
            return Ok(EcDomain {
                group: c.group().map_err(inv)?,
                name: Some(c.name),
                form: EcParamsForm::ExplicitNamed,
            });
        }
        group.set_asn1_flag(Asn1Flag::EXPLICIT_CURVE);
        Ok(EcDomain {
            group,
            name: None,
            form: EcParamsForm::ExplicitUnknown,
        })
    }
}

/// p, a, b, Gx, Gy, n, h of a group.
type GroupParams = (BigNum, BigNum, BigNum, BigNum, BigNum, BigNum, BigNum);

fn group_params(g: &EcGroupRef, ctx: &mut BigNumContext) -> Result<GroupParams, openssl::error::ErrorStack> {
    let mut p = BigNum::new()?;
    let mut a = BigNum::new()?;
    let mut b = BigNum::new()?;
    g.components_gfp(&mut p, &mut a, &mut b, ctx)?;
    let mut n = BigNum::new()?;
    g.order(&mut n, ctx)?;
    let mut h = BigNum::new()?;
    g.cofactor(&mut h, ctx)?;
    let mut gx = BigNum::new()?;
    let mut gy = BigNum::new()?;
    if let Some(gen_pt) = g.generator_opt() {
        gen_pt.affine_coordinates(g, &mut gx, &mut gy, ctx)?;
    }
    Ok((p, a, b, gx, gy, n, h))
}

/// Explicit parameter encodings already matched (real PKIs use a handful of them, and
/// an LDIF holds tens of thousands of keys): parameters DER → matching curve.
type MatchCache = std::collections::HashMap<Vec<u8>, Option<&'static NamedCurve>>;

fn match_cache() -> &'static std::sync::Mutex<MatchCache> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<MatchCache>> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The order size of a named curve, computed once per curve.
fn named_order_bits(c: &'static NamedCurve) -> Option<u32> {
    type Bits = std::collections::HashMap<&'static str, u32>;
    static BITS: std::sync::OnceLock<std::sync::Mutex<Bits>> = std::sync::OnceLock::new();
    let cache = BITS.get_or_init(Default::default);
    if let Some(b) = cache.lock().ok()?.get(c.name) {
        return Some(*b);
    }
    let bits = c.group().ok()?.order_bits();
    cache.lock().ok()?.insert(c.name, bits);
    Some(bits)
}

fn cached_match(params: &[u8]) -> Option<Option<&'static NamedCurve>> {
    match_cache().lock().ok()?.get(params).copied()
}

fn remember_match(params: &[u8], m: Option<&'static NamedCurve>) {
    if let Ok(mut c) = match_cache().lock()
        && c.len() < 1024
    {
        c.insert(params.to_vec(), m);
    }
}

/// Describe a SubjectPublicKeyInfo without building and validating the key (cheap
/// enough for bulk imports; verification always goes through [`PublicKey`]).
pub fn describe_spki(spki: &[u8]) -> Result<KeyInfo, KeyError> {
    let seq = tlv::parse(spki)?;
    asn1::expect_tag(&seq, tag::SEQUENCE, "SubjectPublicKeyInfo")?;
    let mut r = seq.children();
    let alg = AlgorithmIdentifier::from_tlv(&asn1::next(&mut r, tag::SEQUENCE, "algorithm")?)?;
    let bits_t = asn1::next(&mut r, tag::BIT_STRING, "subjectPublicKey")?;
    let key = asn1::bit_string_octets(&bits_t, "subjectPublicKey")?;
    match alg.oid {
        oid::RSA_ENCRYPTION | oid::RSASSA_PSS => {
            let k = tlv::parse(key)?;
            let mut kr = k.children();
            let n = asn1::integer_bytes(&asn1::next(&mut kr, tag::INTEGER, "modulus")?, "modulus")?;
            let m = asn1::unsigned_magnitude(n);
            let bits = m
                .first()
                .map(|b| (m.len() as u32 - 1) * 8 + (8 - b.leading_zeros()))
                .unwrap_or(0);
            Ok(KeyInfo {
                algorithm: if alg.oid == oid::RSA_ENCRYPTION {
                    KeyAlgorithm::Rsa
                } else {
                    KeyAlgorithm::RsaPss
                },
                bits,
                curve: None,
                ec_params: None,
            })
        }
        oid::EC_PUBLIC_KEY => {
            let params = alg.parameters.as_deref().ok_or(KeyError::UnsupportedParameters {
                what: "EC key without domain parameters",
            })?;
            // a known curve (by OID, or explicit parameters matched before) needs no
            // group: building one per key (Montgomery set-up) dominated bulk imports
            let known = match tlv::parse(params) {
                Ok(t) if t.tag == tag::OID => asn1::oid(&t, "namedCurve")
                    .ok()
                    .and_then(|o| curve_by_oid(&o))
                    .map(|c| (c, EcParamsForm::Named)),
                Ok(t) if t.tag == tag::SEQUENCE => cached_match(t.raw)
                    .flatten()
                    .map(|c| (c, EcParamsForm::ExplicitNamed)),
                _ => None,
            };
            if let Some((c, form)) = known
                && let Some(bits) = named_order_bits(c)
            {
                return Ok(KeyInfo {
                    algorithm: KeyAlgorithm::Ec,
                    bits,
                    curve: Some(c.name),
                    ec_params: Some(form),
                });
            }
            let d = EcDomain::from_der(params)?;
            Ok(KeyInfo {
                algorithm: KeyAlgorithm::Ec,
                bits: d.group.order_bits(),
                curve: d.name,
                ec_params: Some(d.form),
            })
        }
        other => Err(KeyError::UnsupportedAlgorithm { oid: other }),
    }
}

fn match_named(e: &Explicit, ctx: &mut BigNumContext) -> Option<&'static NamedCurve> {
    NAMED_CURVES.iter().find(|c| {
        let Ok(g) = c.group() else { return false };
        let Ok((p, a, b, gx, gy, n, h)) = group_params(&g, ctx) else {
            return false;
        };
        p == e.p
            && a == e.a
            && b == e.b
            && gx == e.gx
            && gy == e.gy
            && n == e.n
            && e.h.as_ref().is_none_or(|eh| *eh == h)
    })
}

/// An EC SubjectPublicKeyInfo: `params` (the curve's OID or explicit parameters, DER)
/// and the encoded public point.
pub fn encode_ec_spki(params: &[u8], point: &[u8]) -> Vec<u8> {
    let alg = asn1::encode_seq(&[&asn1::encode_oid(&oid::EC_PUBLIC_KEY), params]);
    asn1::encode_seq(&[&alg, &asn1::encode_bit_string(point)])
}

/// Encode a named curve's parameters explicitly (the way most CSCAs write them);
/// used by the fixture generator.
pub fn explicit_parameters_der(curve: &NamedCurve) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let g = curve.group()?;
    let mut ctx = BigNumContext::new()?;
    let (p, a, b, _, _, n, h) = group_params(&g, &mut ctx)?;
    let len = usize::try_from(p.num_bytes()).unwrap_or(0);
    let pad = |x: &BigNum| x.to_vec_padded(i32::try_from(len).unwrap_or(0));
    let base = match g.generator_opt() {
        Some(gp) => gp.to_bytes(&g, openssl::ec::PointConversionForm::UNCOMPRESSED, &mut ctx)?,
        None => Vec::new(),
    };
    let field = asn1::encode_seq(&[
        &asn1::encode_oid(&oid::PRIME_FIELD),
        &asn1::encode_uint(&p.to_vec()),
    ]);
    let curve_seq = asn1::encode_seq(&[
        &tlv::encode(tag::OCTET_STRING, &pad(&a)?),
        &tlv::encode(tag::OCTET_STRING, &pad(&b)?),
    ]);
    Ok(asn1::encode_seq(&[
        &asn1::encode_small_uint(1),
        &field,
        &curve_seq,
        &tlv::encode(tag::OCTET_STRING, &base),
        &asn1::encode_uint(&n.to_vec()),
        &asn1::encode_uint(&h.to_vec()),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ec::PointConversionForm;

    #[test]
    fn explicit_brainpool_is_recognised() {
        let c = curve_by_name("brainpoolP256r1").unwrap();
        let g = c.group().unwrap();
        let k = EcKey::generate(&g).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let pt = k
            .public_key()
            .to_bytes(&g, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        let params = explicit_parameters_der(c).unwrap();
        let pk = PublicKey::from_spki_der(&encode_ec_spki(&params, &pt)).unwrap();
        assert_eq!(pk.info().curve, Some("brainpoolP256r1"));
        assert_eq!(pk.info().ec_params, Some(EcParamsForm::ExplicitNamed));
        assert_eq!(pk.info().bits, 256);
        // the same key with a namedCurve OID
        let pk2 = PublicKey::from_spki_der(&encode_ec_spki(&asn1::encode_oid(&c.oid), &pt)).unwrap();
        assert_eq!(pk2.info().ec_params, Some(EcParamsForm::Named));
        assert!(pk.pkey().public_eq(pk2.pkey()));
    }

    #[test]
    fn explicit_unknown_curve_is_used_as_given() {
        // brainpoolP256r1 with a different generator (2G) is not a named curve
        let c = curve_by_name("brainpoolP256r1").unwrap();
        let g = c.group().unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let mut g2 = EcPoint::new(&g).unwrap();
        let two = BigNum::from_u32(2).unwrap();
        g2.mul_generator2(&g, &two, &mut ctx).unwrap();
        let base = g2
            .to_bytes(&g, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        let params = explicit_parameters_der(c).unwrap();
        // swap the base point in the encoded parameters
        let orig_base = g
            .generator_opt()
            .unwrap()
            .to_bytes(&g, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        let hexp = hex::encode(&params).replace(&hex::encode(&orig_base), &hex::encode(&base));
        let params = hex::decode(hexp).unwrap();
        let k = EcKey::generate(&g).unwrap();
        let pt = k
            .public_key()
            .to_bytes(&g, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        let pk = PublicKey::from_spki_der(&encode_ec_spki(&params, &pt)).unwrap();
        assert_eq!(pk.info().ec_params, Some(EcParamsForm::ExplicitUnknown));
        assert_eq!(pk.info().curve, None);
    }

    #[test]
    fn point_not_on_curve_is_refused() {
        let c = curve_by_name("secp256r1").unwrap();
        let mut pt = vec![4u8];
        pt.extend_from_slice(&[1u8; 64]);
        assert!(PublicKey::from_spki_der(&encode_ec_spki(&asn1::encode_oid(&c.oid), &pt)).is_err());
    }

    #[test]
    fn every_named_curve_loads() {
        for c in NAMED_CURVES {
            let g = c.group().unwrap();
            assert_eq!(g.curve_name(), Some(c.nid()), "{}", c.name);
            assert!(curve_by_nid(c.nid()).is_some());
        }
    }
}

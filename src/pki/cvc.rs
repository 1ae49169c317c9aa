//! Card-verifiable certificates of Extended Access Control (BSI TR-03110 Part 3,
//! Appendix C and D.3): decoding, encoding, signature checks and the chain
//! CVCA → (link CVCA) → DV → terminal.
//!
//! ```text
//! 7F21 CV Certificate
//!   7F4E Certificate Body (the signed bytes, kept as received)
//!     5F29 Certificate Profile Identifier (00)
//!     42   Certification Authority Reference (CAR)
//!     7F49 Public Key { 06 OID (id-TA-…), 81.. 87 (EC) | 81 n, 82 e (RSA) }
//!     5F20 Certificate Holder Reference (CHR)
//!     7F4C Certificate Holder Authorization Template { 06 terminal type, 53 bits }
//!     5F25 Certificate Effective Date  (YYMMDD, one digit per byte)
//!     5F24 Certificate Expiration Date
//!     65   Certificate Extensions (optional) { 73 { 06 OID, … } … }
//!   5F37 Signature (ECDSA plain r‖s, or RSA)
//! ```
//!
//! Only the CVCA's key carries EC domain parameters; DV and terminal keys inherit them
//! from the key that signed them (TR-03110-3 D.3.3), so a key is made usable by
//! [`CvPublicKey::to_public_key`] with the issuer's key as parent.

use openssl::bn::BigNum;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use thiserror::Error;

use super::keys::{EcDomain, KeyError, PublicKey};
use super::signature::{self, HashAlgorithm, PssParams, SignatureAlgorithm, SignatureError};
use crate::asn1::oid;
use crate::cms::Oid;
use crate::cms::asn1;
use crate::tlv;

/// Tags of TR-03110-3 Table D.1.
pub mod tag {
    /// CV Certificate.
    pub const CV_CERTIFICATE: u32 = 0x7F21;
    /// Certificate Body.
    pub const BODY: u32 = 0x7F4E;
    /// Certificate Profile Identifier.
    pub const PROFILE_ID: u32 = 0x5F29;
    /// Certification Authority Reference.
    pub const CAR: u32 = 0x42;
    /// Public Key.
    pub const PUBLIC_KEY: u32 = 0x7F49;
    /// Certificate Holder Reference.
    pub const CHR: u32 = 0x5F20;
    /// Certificate Holder Authorization Template.
    pub const CHAT: u32 = 0x7F4C;
    /// Certificate Effective Date.
    pub const EFFECTIVE_DATE: u32 = 0x5F25;
    /// Certificate Expiration Date.
    pub const EXPIRATION_DATE: u32 = 0x5F24;
    /// Certificate Extensions.
    pub const EXTENSIONS: u32 = 0x65;
    /// Discretionary Data Template (one extension).
    pub const DDT: u32 = 0x73;
    /// Discretionary Data (CHAT access bits).
    pub const DISCRETIONARY_DATA: u32 = 0x53;
    /// Signature.
    pub const SIGNATURE: u32 = 0x5F37;
    /// Object Identifier.
    pub const OID: u32 = 0x06;
}

/// Why a CV certificate or chain was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CvcError {
    /// The TLV structure is broken.
    #[error("malformed CV certificate: {0}")]
    Tlv(#[from] tlv::TlvError),
    /// A required element is missing or has the wrong tag.
    #[error("malformed CV certificate: {what}")]
    Malformed {
        /// What is wrong.
        what: &'static str,
    },
    /// A date is not six decimal digits forming a calendar date.
    #[error("malformed CV certificate: bad {which} date")]
    BadDate {
        /// `effective` or `expiration`.
        which: &'static str,
    },
    /// The public key algorithm is not one of TR-03110's id-TA OIDs.
    #[error("unsupported CV public key algorithm {oid}")]
    UnsupportedAlgorithm {
        /// Its OID.
        oid: Oid,
    },
    /// The key cannot be built (missing domain parameters, point not on the curve).
    #[error("CV certificate {chr}: unusable public key: {source}")]
    Key {
        /// Holder of the key.
        chr: String,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// The signature does not verify (or cannot be checked).
    #[error("CV certificate {chr}: signature by {car}: {source}")]
    Signature {
        /// Holder.
        chr: String,
        /// Issuer.
        car: String,
        /// Why.
        #[source]
        source: SignatureError,
    },
    /// A certificate's CAR is not the CHR of the certificate before it.
    #[error("CV certificate {chr} was issued by {car}, but the chain has {expected} before it")]
    WrongIssuer {
        /// Holder.
        chr: String,
        /// Its CAR.
        car: String,
        /// The holder before it.
        expected: String,
    },
    /// A certificate's role does not fit its place in the chain.
    #[error("CV certificate {chr} has role {role}, not allowed after {issuer_role}")]
    WrongRole {
        /// Holder.
        chr: String,
        /// Its role.
        role: Role,
        /// The issuer's role.
        issuer_role: Role,
    },
    /// Terminal types (CHAT OIDs) differ along the chain.
    #[error("CV certificate {chr} is for terminal type {found}, the chain is for {expected}")]
    WrongTerminalType {
        /// Holder.
        chr: String,
        /// Chain's type.
        expected: Oid,
        /// This certificate's type.
        found: Oid,
    },
    /// Outside its validity at the date checked.
    #[error("CV certificate {chr} is not valid on {date} (valid {effective} to {expiration})")]
    Expired {
        /// Holder.
        chr: String,
        /// Date checked.
        date: CvDate,
        /// Effective date.
        effective: CvDate,
        /// Expiration date.
        expiration: CvDate,
    },
    /// The chain does not end in a terminal certificate.
    #[error("the CV chain is empty")]
    EmptyChain,
}

/// A calendar date of a CV certificate (years 2000–2099).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct CvDate {
    /// Year (2000–2099).
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
}

impl CvDate {
    /// Decode six unpacked BCD digits YYMMDD.
    pub fn decode(v: &[u8], which: &'static str) -> Result<Self, CvcError> {
        let bad = || CvcError::BadDate { which };
        let d: [u8; 6] = v.try_into().map_err(|_| bad())?;
        if d.iter().any(|x| *x > 9) {
            return Err(bad());
        }
        let [y1, y2, m1, m2, d1, d2] = d;
        let date = CvDate {
            year: 2000 + u16::from(y1 * 10 + y2),
            month: m1 * 10 + m2,
            day: d1 * 10 + d2,
        };
        date.to_time().ok_or_else(bad)?;
        Ok(date)
    }

    /// Six unpacked BCD digits.
    pub fn encode(&self) -> [u8; 6] {
        let y = (self.year % 100) as u8;
        [
            y / 10,
            y % 10,
            self.month / 10,
            self.month % 10,
            self.day / 10,
            self.day % 10,
        ]
    }

    /// The date as a `time::Date`.
    pub fn to_time(&self) -> Option<time::Date> {
        let m = time::Month::try_from(self.month).ok()?;
        time::Date::from_calendar_date(i32::from(self.year), m, self.day).ok()
    }

    /// The UTC date of a point in time.
    pub fn from_time(t: time::OffsetDateTime) -> Self {
        let d = t.to_offset(time::UtcOffset::UTC).date();
        CvDate {
            year: u16::try_from(d.year()).unwrap_or(2000),
            month: u8::from(d.month()),
            day: d.day(),
        }
    }

    /// Today (UTC).
    pub fn today() -> Self {
        Self::from_time(time::OffsetDateTime::now_utc())
    }
}

impl std::fmt::Display for CvDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The role encoded in the two high bits of the CHAT (TR-03110-3 C.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Country Verifying CA (11).
    Cvca,
    /// Document Verifier, official domestic (10).
    DvDomestic,
    /// Document Verifier, foreign / non-official (01).
    DvForeign,
    /// Terminal: inspection system, authentication or signature terminal (00).
    Terminal,
}

impl Role {
    /// From the two role bits.
    pub fn from_bits(b: u8) -> Self {
        match b & 0b11 {
            0b11 => Role::Cvca,
            0b10 => Role::DvDomestic,
            0b01 => Role::DvForeign,
            _ => Role::Terminal,
        }
    }

    /// The two role bits.
    pub fn bits(self) -> u8 {
        match self {
            Role::Cvca => 0b11,
            Role::DvDomestic => 0b10,
            Role::DvForeign => 0b01,
            Role::Terminal => 0b00,
        }
    }

    /// `cvca`, `dv` or `is`/`terminal` (the `pkd list --kind` names).
    pub fn kind(self) -> &'static str {
        match self {
            Role::Cvca => "cvca",
            Role::DvDomestic | Role::DvForeign => "dv",
            Role::Terminal => "is",
        }
    }

    /// True for both DV roles.
    pub fn is_dv(self) -> bool {
        matches!(self, Role::DvDomestic | Role::DvForeign)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Cvca => "CVCA",
            Role::DvDomestic => "DV (domestic)",
            Role::DvForeign => "DV (foreign)",
            Role::Terminal => "terminal",
        })
    }
}

/// Certificate Holder Authorization Template: terminal type and access bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// Terminal type (id-IS, id-AT, id-ST).
    pub terminal_type: Oid,
    /// The discretionary data, most significant byte first (role in the top two bits).
    pub bits: Vec<u8>,
}

/// CHAT access bit of id-IS: read DG3 (fingerprints).
pub const IS_READ_DG3: u8 = 0x01;
/// CHAT access bit of id-IS: read DG4 (irises).
pub const IS_READ_DG4: u8 = 0x02;

impl Chat {
    /// An id-IS CHAT with a role and the DG3/DG4 bits.
    pub fn inspection_system(role: Role, dg3: bool, dg4: bool) -> Self {
        let mut b = role.bits() << 6;
        if dg3 {
            b |= IS_READ_DG3;
        }
        if dg4 {
            b |= IS_READ_DG4;
        }
        Chat {
            terminal_type: oid::ROLE_IS,
            bits: vec![b],
        }
    }

    /// The role (top two bits of the first byte).
    pub fn role(&self) -> Role {
        Role::from_bits(self.bits.first().copied().unwrap_or(0) >> 6)
    }

    /// The access bits without the role (the last byte holds the lowest bits).
    fn low_byte(&self) -> u8 {
        let b = self.bits.last().copied().unwrap_or(0);
        if self.bits.len() == 1 { b & 0x3F } else { b }
    }

    /// For id-IS: the right to read DG3.
    pub fn reads_dg3(&self) -> bool {
        self.terminal_type == oid::ROLE_IS && self.low_byte() & IS_READ_DG3 != 0
    }

    /// For id-IS: the right to read DG4.
    pub fn reads_dg4(&self) -> bool {
        self.terminal_type == oid::ROLE_IS && self.low_byte() & IS_READ_DG4 != 0
    }

    /// Short name of the terminal type.
    pub fn terminal_type_name(&self) -> &'static str {
        match self.terminal_type {
            oid::ROLE_IS => "id-IS (inspection system)",
            oid::ROLE_AT => "id-AT (authentication terminal)",
            oid::ROLE_ST => "id-ST (signature terminal)",
            _ => "unknown terminal type",
        }
    }

    /// The effective authorization of a chain: the bitwise AND of the access bits
    /// (the role is the terminal's own).
    pub fn intersect(&self, other: &Chat) -> Chat {
        let n = self.bits.len().max(other.bits.len());
        let pad = |v: &[u8]| {
            let mut p = vec![0xFF; n.saturating_sub(v.len())];
            p.extend_from_slice(v);
            p
        };
        let (a, b) = (pad(&self.bits), pad(&other.bits));
        let mut bits: Vec<u8> = a.iter().zip(&b).map(|(x, y)| x & y).collect();
        if let Some(first) = bits.first_mut() {
            *first = (*first & 0x3F) | (self.bits.first().copied().unwrap_or(0) & 0xC0);
        }
        Chat {
            terminal_type: self.terminal_type,
            bits,
        }
    }

    /// The `7F4C { 06 terminal type, 53 discretionary data }` object.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = asn1::encode_oid(&self.terminal_type);
        tlv::encode_into(tag::DISCRETIONARY_DATA, &self.bits, &mut v);
        tlv::encode(tag::CHAT, &v)
    }
}

/// Signature algorithm of a Terminal Authentication key (the OID in 7F49): exactly the
/// id-TA algorithms TR-03110-3 (A.6.4, Table A.6) defines, so every value has its OID.
/// A hash and scheme TR-03110 names no OID for (RSA with SHA-224, ECDSA with
/// RIPEMD-160, …) is not a value: [`TaAlgorithm::new`] refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaAlgorithm {
    /// id-TA-RSA-v1-5-SHA-1.
    RsaV15Sha1,
    /// id-TA-RSA-v1-5-SHA-256.
    RsaV15Sha256,
    /// id-TA-RSA-v1-5-SHA-512.
    RsaV15Sha512,
    /// id-TA-RSA-PSS-SHA-1.
    RsaPssSha1,
    /// id-TA-RSA-PSS-SHA-256.
    RsaPssSha256,
    /// id-TA-RSA-PSS-SHA-512.
    RsaPssSha512,
    /// id-TA-ECDSA-SHA-1.
    EcdsaSha1,
    /// id-TA-ECDSA-SHA-224.
    EcdsaSha224,
    /// id-TA-ECDSA-SHA-256.
    EcdsaSha256,
    /// id-TA-ECDSA-SHA-384.
    EcdsaSha384,
    /// id-TA-ECDSA-SHA-512.
    EcdsaSha512,
}

/// The signature scheme of a [`TaAlgorithm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaScheme {
    /// RSASSA-PKCS1-v1_5.
    RsaV15,
    /// RSASSA-PSS (salt length = hash length, MGF1 with the same hash).
    RsaPss,
    /// ECDSA, plain r‖s signatures.
    Ecdsa,
}

impl TaAlgorithm {
    /// Every id-TA algorithm, in the order of their OIDs.
    pub const ALL: [TaAlgorithm; 11] = [
        TaAlgorithm::RsaV15Sha1,
        TaAlgorithm::RsaV15Sha256,
        TaAlgorithm::RsaPssSha1,
        TaAlgorithm::RsaPssSha256,
        TaAlgorithm::RsaV15Sha512,
        TaAlgorithm::RsaPssSha512,
        TaAlgorithm::EcdsaSha1,
        TaAlgorithm::EcdsaSha224,
        TaAlgorithm::EcdsaSha256,
        TaAlgorithm::EcdsaSha384,
        TaAlgorithm::EcdsaSha512,
    ];

    /// Scheme, hash and OID: the one table the other accessors read.
    fn parts(self) -> (TaScheme, HashAlgorithm, Oid) {
        use HashAlgorithm::*;
        use TaScheme::*;
        match self {
            TaAlgorithm::RsaV15Sha1 => (RsaV15, Sha1, oid::TA_RSA_V1_5_SHA1),
            TaAlgorithm::RsaV15Sha256 => (RsaV15, Sha256, oid::TA_RSA_V1_5_SHA256),
            TaAlgorithm::RsaV15Sha512 => (RsaV15, Sha512, oid::TA_RSA_V1_5_SHA512),
            TaAlgorithm::RsaPssSha1 => (RsaPss, Sha1, oid::TA_RSA_PSS_SHA1),
            TaAlgorithm::RsaPssSha256 => (RsaPss, Sha256, oid::TA_RSA_PSS_SHA256),
            TaAlgorithm::RsaPssSha512 => (RsaPss, Sha512, oid::TA_RSA_PSS_SHA512),
            TaAlgorithm::EcdsaSha1 => (Ecdsa, Sha1, oid::TA_ECDSA_SHA1),
            TaAlgorithm::EcdsaSha224 => (Ecdsa, Sha224, oid::TA_ECDSA_SHA224),
            TaAlgorithm::EcdsaSha256 => (Ecdsa, Sha256, oid::TA_ECDSA_SHA256),
            TaAlgorithm::EcdsaSha384 => (Ecdsa, Sha384, oid::TA_ECDSA_SHA384),
            TaAlgorithm::EcdsaSha512 => (Ecdsa, Sha512, oid::TA_ECDSA_SHA512),
        }
    }

    /// The id-TA algorithm with this scheme and hash, when TR-03110 defines one.
    pub fn new(scheme: TaScheme, hash: HashAlgorithm) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.scheme() == scheme && a.hash() == hash)
    }

    /// From an id-TA OID.
    pub fn from_oid(o: &Oid) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.oid() == *o)
    }

    /// The id-TA OID.
    pub fn oid(self) -> Oid {
        self.parts().2
    }

    /// The signature scheme.
    pub fn scheme(self) -> TaScheme {
        self.parts().0
    }

    /// The hash the signature is made over.
    pub fn hash(self) -> HashAlgorithm {
        self.parts().1
    }

    /// The signature algorithm used to check signatures made with such a key.
    pub fn signature_algorithm(self) -> SignatureAlgorithm {
        let hash = self.hash();
        match self.scheme() {
            TaScheme::RsaV15 => SignatureAlgorithm::RsaPkcs1 { hash },
            TaScheme::RsaPss => SignatureAlgorithm::RsaPss(PssParams {
                hash,
                mgf1_hash: hash,
                salt_len: u32::try_from(hash.output_len()).unwrap_or(20),
                trailer_field: 1,
            }),
            TaScheme::Ecdsa => SignatureAlgorithm::EcdsaPlain { hash },
        }
    }

    /// True for the ECDSA algorithms.
    pub fn is_ec(self) -> bool {
        self.scheme() == TaScheme::Ecdsa
    }

    /// A short name (`id-TA-ECDSA-SHA-256`).
    pub fn name(self) -> String {
        let scheme = match self.scheme() {
            TaScheme::RsaV15 => "RSA-v1-5",
            TaScheme::RsaPss => "RSA-PSS",
            TaScheme::Ecdsa => "ECDSA",
        };
        format!("id-TA-{scheme}-{}", self.hash().spec_name())
    }
}

/// A public key as written in a CV certificate: the algorithm OID and the
/// context-specific elements in their order (TR-03110-3 D.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvPublicKey {
    /// The id-TA algorithm OID.
    pub oid: Oid,
    /// `(tag, value)` of the elements 0x81.. in the order received.
    pub elements: Vec<(u8, Vec<u8>)>,
}

/// EC key element tags (TR-03110-3 Table D.3).
pub mod ec_tag {
    /// Prime modulus p.
    pub const PRIME: u8 = 0x81;
    /// First coefficient a.
    pub const A: u8 = 0x82;
    /// Second coefficient b.
    pub const B: u8 = 0x83;
    /// Base point G.
    pub const BASE: u8 = 0x84;
    /// Order of the base point r.
    pub const ORDER: u8 = 0x85;
    /// Public point Y.
    pub const POINT: u8 = 0x86;
    /// Cofactor f.
    pub const COFACTOR: u8 = 0x87;
}

/// RSA key element tags.
pub mod rsa_tag {
    /// Modulus n.
    pub const MODULUS: u8 = 0x81;
    /// Public exponent e.
    pub const EXPONENT: u8 = 0x82;
}

impl CvPublicKey {
    /// The element with `tag`.
    pub fn element(&self, tag: u8) -> Option<&[u8]> {
        self.elements
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_slice())
    }

    /// The algorithm, when it is one of id-TA's.
    pub fn algorithm(&self) -> Option<TaAlgorithm> {
        TaAlgorithm::from_oid(&self.oid)
    }

    /// True when an EC key carries its own domain parameters (CVCA keys do).
    pub fn has_domain_parameters(&self) -> bool {
        self.element(ec_tag::PRIME).is_some()
    }

    /// An openssl key. EC keys without domain parameters take them from `parent`
    /// (the issuer's key, itself already completed).
    pub fn to_public_key(&self, parent: Option<&CvPublicKey>) -> Result<PublicKey, KeyError> {
        let alg = self
            .algorithm()
            .ok_or(KeyError::UnsupportedAlgorithm { oid: self.oid })?;
        if alg.is_ec() {
            let (params, point) = self.ec_parts(parent)?;
            let domain = EcDomain::from_der(&params)?;
            PublicKey::from_ec_point(domain, point)
        } else {
            let n = self
                .element(rsa_tag::MODULUS)
                .ok_or(KeyError::UnsupportedParameters {
                    what: "RSA CV key without modulus",
                })?;
            let e = self
                .element(rsa_tag::EXPONENT)
                .ok_or(KeyError::UnsupportedParameters {
                    what: "RSA CV key without exponent",
                })?;
            if n.len() > 1024 {
                return Err(KeyError::UnsupportedParameters {
                    what: "RSA modulus too large",
                });
            }
            let n = BigNum::from_slice(n).map_err(KeyError::Invalid)?;
            let e = BigNum::from_slice(e).map_err(KeyError::Invalid)?;
            let rsa = Rsa::from_public_components(n, e).map_err(KeyError::Invalid)?;
            PublicKey::from_pkey(PKey::from_rsa(rsa).map_err(KeyError::Invalid)?)
        }
    }

    /// This key with the issuer's domain parameters filled in (for EC keys that have
    /// none); RSA keys and complete EC keys are returned as they are.
    pub fn completed(&self, parent: Option<&CvPublicKey>) -> CvPublicKey {
        if !self.algorithm().is_some_and(TaAlgorithm::is_ec) || self.has_domain_parameters() {
            return self.clone();
        }
        let Some(parent) = parent else {
            return self.clone();
        };
        let mut elements: Vec<(u8, Vec<u8>)> = parent
            .elements
            .iter()
            .filter(|(t, _)| *t != ec_tag::POINT)
            .cloned()
            .collect();
        if let Some(p) = self.element(ec_tag::POINT) {
            elements.push((ec_tag::POINT, p.to_vec()));
        }
        elements.sort_by_key(|(t, _)| *t);
        CvPublicKey {
            oid: self.oid,
            elements,
        }
    }

    /// X9.62 ECParameters DER and the public point.
    fn ec_parts<'a>(&'a self, parent: Option<&'a CvPublicKey>) -> Result<(Vec<u8>, &'a [u8]), KeyError> {
        let src = if self.has_domain_parameters() {
            self
        } else {
            parent
                .filter(|p| p.has_domain_parameters())
                .ok_or(KeyError::UnsupportedParameters {
                    what: "EC CV key without domain parameters and no issuer key to inherit them from",
                })?
        };
        let required = |tag, what| src.element(tag).ok_or(KeyError::UnsupportedParameters { what });
        let p = required(ec_tag::PRIME, "EC CV key without prime")?;
        let a = required(ec_tag::A, "EC CV key without coefficient a")?;
        let b = required(ec_tag::B, "EC CV key without coefficient b")?;
        let g = required(ec_tag::BASE, "EC CV key without base point")?;
        let n = required(ec_tag::ORDER, "EC CV key without order")?;
        let h = src.element(ec_tag::COFACTOR);
        let point = self
            .element(ec_tag::POINT)
            .ok_or(KeyError::UnsupportedParameters {
                what: "EC CV key without public point",
            })?;
        let field = asn1::encode_seq(&[
            &asn1::encode_oid(&crate::asn1::oid::PRIME_FIELD),
            &asn1::encode_uint(p),
        ]);
        let curve = asn1::encode_seq(&[
            &tlv::encode(crate::cms::asn1::tag::OCTET_STRING, a),
            &tlv::encode(crate::cms::asn1::tag::OCTET_STRING, b),
        ]);
        let version = asn1::encode_small_uint(1);
        let base = tlv::encode(crate::cms::asn1::tag::OCTET_STRING, g);
        let order = asn1::encode_uint(n);
        let cof = h.map(asn1::encode_uint).unwrap_or_default();
        let params = asn1::encode_seq(&[&version, &field, &curve, &base, &order, &cof]);
        Ok((params, point))
    }

    /// The CV form of an EC public key; with `domain_parameters` the curve is written
    /// out (CVCA keys), without it only the point (DV and terminal keys).
    pub fn from_ec_key<T: openssl::pkey::HasPublic>(
        alg: TaAlgorithm,
        key: &openssl::ec::EcKeyRef<T>,
        domain_parameters: bool,
    ) -> Result<Self, openssl::error::ErrorStack> {
        let g = key.group();
        let mut ctx = openssl::bn::BigNumContext::new()?;
        let form = openssl::ec::PointConversionForm::UNCOMPRESSED;
        let mut elements = Vec::new();
        if domain_parameters {
            let (mut p, mut a, mut b) = (BigNum::new()?, BigNum::new()?, BigNum::new()?);
            g.components_gfp(&mut p, &mut a, &mut b, &mut ctx)?;
            let len = p.num_bytes();
            let (mut n, mut h) = (BigNum::new()?, BigNum::new()?);
            g.order(&mut n, &mut ctx)?;
            g.cofactor(&mut h, &mut ctx)?;
            let base = match g.generator_opt() {
                Some(gp) => gp.to_bytes(g, form, &mut ctx)?,
                None => Vec::new(),
            };
            elements.push((ec_tag::PRIME, p.to_vec()));
            elements.push((ec_tag::A, a.to_vec_padded(len)?));
            elements.push((ec_tag::B, b.to_vec_padded(len)?));
            elements.push((ec_tag::BASE, base));
            elements.push((ec_tag::ORDER, n.to_vec()));
            elements.push((ec_tag::POINT, key.public_key().to_bytes(g, form, &mut ctx)?));
            elements.push((ec_tag::COFACTOR, h.to_vec()));
        } else {
            elements.push((ec_tag::POINT, key.public_key().to_bytes(g, form, &mut ctx)?));
        }
        Ok(CvPublicKey {
            oid: alg.oid(),
            elements,
        })
    }

    /// The CV form of an RSA public key.
    pub fn from_rsa<T: openssl::pkey::HasPublic>(alg: TaAlgorithm, key: &openssl::rsa::RsaRef<T>) -> Self {
        CvPublicKey {
            oid: alg.oid(),
            elements: vec![
                (rsa_tag::MODULUS, key.n().to_vec()),
                (rsa_tag::EXPONENT, key.e().to_vec()),
            ],
        }
    }

    fn decode(t: &tlv::Tlv<'_>) -> Result<Self, CvcError> {
        let mut r = t.children();
        let o = r.expect(tag::OID).map_err(|_| CvcError::Malformed {
            what: "public key without algorithm OID",
        })?;
        let oid = Oid::from_bytes(o.value).map_err(|_| CvcError::Malformed {
            what: "bad public key OID",
        })?;
        let mut elements = Vec::new();
        for e in r {
            let e = e?;
            let tag = u8::try_from(e.tag)
                .ok()
                .filter(|t| (0x81..=0x87).contains(t))
                .ok_or(CvcError::Malformed {
                    what: "unknown element in public key",
                })?;
            if elements.iter().any(|(t, _)| *t == tag) {
                return Err(CvcError::Malformed {
                    what: "repeated element in public key",
                });
            }
            elements.push((tag, e.value.to_vec()));
        }
        Ok(CvPublicKey { oid, elements })
    }

    /// The 7F49 encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = asn1::encode_oid(&self.oid);
        for (t, val) in &self.elements {
            tlv::encode_into(u32::from(*t), val, &mut v);
        }
        tlv::encode(tag::PUBLIC_KEY, &v)
    }

    /// A short description (`ECDSA brainpoolP256r1 (explicit)`, `RSA 2048`).
    pub fn describe(&self, parent: Option<&CvPublicKey>) -> String {
        let alg = self
            .algorithm()
            .map(|a| a.name())
            .unwrap_or_else(|| self.oid.to_string());
        match self.to_public_key(parent) {
            Ok(k) => {
                let info = k.info();
                let params = if self.has_domain_parameters() {
                    "domain parameters included"
                } else {
                    "domain parameters of the issuer"
                };
                match info.curve {
                    Some(c) => format!("{alg}, {c} ({params})"),
                    None if alg.contains("ECDSA") => format!("{alg}, {} bits ({params})", info.bits),
                    None => format!("{alg}, RSA {} bits", info.bits),
                }
            }
            Err(_) if !self.has_domain_parameters() && parent.is_none() => {
                format!("{alg} (domain parameters of the issuer)")
            }
            Err(e) => format!("{alg} (unusable: {e})"),
        }
    }
}

/// One certificate extension (a discretionary data template), kept as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Its OID (id-description, id-sector, …).
    pub oid: Oid,
    /// The whole 73 template, tag and length included.
    pub raw: Vec<u8>,
}

impl Extension {
    /// A name for the OID.
    pub fn name(&self) -> &'static str {
        match self.oid {
            oid::EXT_DESCRIPTION => "id-description",
            oid::EXT_SECTOR => "id-sector",
            _ => "unknown extension",
        }
    }
}

/// The fields of a certificate body (used to build new certificates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvBody {
    /// Certificate Profile Identifier (0).
    pub profile: u8,
    /// CAR (ASCII, e.g. `DECVCAEPASS00102`).
    pub car: String,
    /// Public key.
    pub public_key: CvPublicKey,
    /// CHR.
    pub chr: String,
    /// CHAT.
    pub chat: Chat,
    /// Effective date.
    pub effective: CvDate,
    /// Expiration date.
    pub expiration: CvDate,
    /// Extensions (empty: no 65 element).
    pub extensions: Vec<Extension>,
}

impl CvBody {
    /// The 7F4E encoding (the bytes that are signed).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        tlv::encode_into(tag::PROFILE_ID, &[self.profile], &mut v);
        tlv::encode_into(tag::CAR, self.car.as_bytes(), &mut v);
        v.extend_from_slice(&self.public_key.encode());
        tlv::encode_into(tag::CHR, self.chr.as_bytes(), &mut v);
        v.extend_from_slice(&self.chat.encode());
        tlv::encode_into(tag::EFFECTIVE_DATE, &self.effective.encode(), &mut v);
        tlv::encode_into(tag::EXPIRATION_DATE, &self.expiration.encode(), &mut v);
        if !self.extensions.is_empty() {
            let ext: Vec<u8> = self
                .extensions
                .iter()
                .flat_map(|e| e.raw.iter().copied())
                .collect();
            tlv::encode_into(tag::EXTENSIONS, &ext, &mut v);
        }
        tlv::encode(tag::BODY, &v)
    }

    /// Sign the body with the issuer's private key (`alg` from the issuer's key) and
    /// assemble the certificate (fixtures and tests; the verifier never signs).
    pub fn sign<T: openssl::pkey::HasPrivate>(
        &self,
        alg: TaAlgorithm,
        issuer_key: &openssl::pkey::PKeyRef<T>,
    ) -> Result<CvCertificate, CvcError> {
        let body = self.encode();
        let sig = signature::sign(&alg.signature_algorithm(), issuer_key, &body).map_err(|source| {
            CvcError::Signature {
                chr: self.chr.clone(),
                car: self.car.clone(),
                source,
            }
        })?;
        let mut v = body;
        tlv::encode_into(tag::SIGNATURE, &sig, &mut v);
        CvCertificate::from_der(&tlv::encode(tag::CV_CERTIFICATE, &v))
    }
}

/// A decoded CV certificate with its original bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvCertificate {
    raw: Vec<u8>,
    body_raw: Vec<u8>,
    /// The decoded body.
    pub body: CvBody,
    /// The signature value (ECDSA plain r‖s, or RSA).
    pub signature: Vec<u8>,
}

fn need<'a>(r: &mut tlv::Reader<'a>, tg: u32, what: &'static str) -> Result<tlv::Tlv<'a>, CvcError> {
    r.expect(tg).map_err(|_| CvcError::Malformed { what })
}

fn printable_ref(v: &[u8], what: &'static str) -> Result<String, CvcError> {
    if v.is_empty() || v.len() > 16 || !v.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Err(CvcError::Malformed { what });
    }
    Ok(String::from_utf8_lossy(v).into_owned())
}

impl CvCertificate {
    /// Decode a DER CV certificate (7F21). Trailing bytes after it are refused.
    pub fn from_der(der: &[u8]) -> Result<Self, CvcError> {
        let mut outer = tlv::Reader::new(der);
        let cert = outer
            .expect(tag::CV_CERTIFICATE)
            .map_err(|_| CvcError::Malformed {
                what: "not a CV certificate (tag 7F21)",
            })?;
        if !outer.is_empty() {
            return Err(CvcError::Malformed {
                what: "trailing bytes after the certificate",
            });
        }
        let mut r = cert.children();
        let body_t = r.expect(tag::BODY).map_err(|_| CvcError::Malformed {
            what: "certificate body (7F4E) missing",
        })?;
        let sig_t = r.expect(tag::SIGNATURE).map_err(|_| CvcError::Malformed {
            what: "signature (5F37) missing",
        })?;
        if !r.is_empty() {
            return Err(CvcError::Malformed {
                what: "unexpected element after the signature",
            });
        }
        let body = Self::decode_body(&body_t)?;
        Ok(CvCertificate {
            raw: cert.raw.to_vec(),
            body_raw: body_t.raw.to_vec(),
            body,
            signature: sig_t.value.to_vec(),
        })
    }

    fn decode_body(t: &tlv::Tlv<'_>) -> Result<CvBody, CvcError> {
        let mut r = t.children();
        let profile_t = need(&mut r, tag::PROFILE_ID, "profile identifier (5F29) missing")?;
        let profile = match profile_t.value {
            [p] => *p,
            _ => {
                return Err(CvcError::Malformed {
                    what: "profile identifier is not one byte",
                });
            }
        };
        let car = printable_ref(
            need(&mut r, tag::CAR, "CAR (42) missing")?.value,
            "CAR is not 1-16 printable characters",
        )?;
        let public_key = CvPublicKey::decode(&need(&mut r, tag::PUBLIC_KEY, "public key (7F49) missing")?)?;
        let chr = printable_ref(
            need(&mut r, tag::CHR, "CHR (5F20) missing")?.value,
            "CHR is not 1-16 printable characters",
        )?;
        let chat_t = need(&mut r, tag::CHAT, "CHAT (7F4C) missing")?;
        let mut cr = chat_t.children();
        let oid_t = cr.expect(tag::OID).map_err(|_| CvcError::Malformed {
            what: "CHAT without terminal type",
        })?;
        let terminal_type = Oid::from_bytes(oid_t.value).map_err(|_| CvcError::Malformed {
            what: "bad CHAT terminal type OID",
        })?;
        let bits_t = cr
            .expect(tag::DISCRETIONARY_DATA)
            .map_err(|_| CvcError::Malformed {
                what: "CHAT without access bits (53)",
            })?;
        if bits_t.value.is_empty() || !cr.is_empty() {
            return Err(CvcError::Malformed {
                what: "bad CHAT access bits",
            });
        }
        let chat = Chat {
            terminal_type,
            bits: bits_t.value.to_vec(),
        };
        let effective = CvDate::decode(
            need(&mut r, tag::EFFECTIVE_DATE, "effective date (5F25) missing")?.value,
            "effective",
        )?;
        let expiration = CvDate::decode(
            need(&mut r, tag::EXPIRATION_DATE, "expiration date (5F24) missing")?.value,
            "expiration",
        )?;
        let mut extensions = Vec::new();
        if !r.is_empty() {
            let ext_t = need(&mut r, tag::EXTENSIONS, "unexpected element after the dates")?;
            for d in ext_t.children() {
                let d = d?;
                if d.tag != tag::DDT {
                    return Err(CvcError::Malformed {
                        what: "certificate extension is not a discretionary data template (73)",
                    });
                }
                let o = d.children().expect(tag::OID).map_err(|_| CvcError::Malformed {
                    what: "certificate extension without OID",
                })?;
                let oid = Oid::from_bytes(o.value).map_err(|_| CvcError::Malformed {
                    what: "bad certificate extension OID",
                })?;
                extensions.push(Extension {
                    oid,
                    raw: d.raw.to_vec(),
                });
            }
            if !r.is_empty() {
                return Err(CvcError::Malformed {
                    what: "unexpected element after the extensions",
                });
            }
        }
        Ok(CvBody {
            profile,
            car,
            public_key,
            chr,
            chat,
            effective,
            expiration,
            extensions,
        })
    }

    /// The certificate as received.
    pub fn der(&self) -> &[u8] {
        &self.raw
    }

    /// The body as received (7F4E with tag and length): the signed bytes, and what
    /// PSO:Verify Certificate sends together with the signature.
    pub fn body_der(&self) -> &[u8] {
        &self.body_raw
    }

    /// The 5F37 element (tag, length, value).
    pub fn signature_tlv(&self) -> Vec<u8> {
        tlv::encode(tag::SIGNATURE, &self.signature)
    }

    /// Encode from the decoded fields (equal to [`Self::der`] for DER input).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.body.encode();
        tlv::encode_into(tag::SIGNATURE, &self.signature, &mut v);
        tlv::encode(tag::CV_CERTIFICATE, &v)
    }

    /// CAR.
    pub fn car(&self) -> &str {
        &self.body.car
    }

    /// CHR.
    pub fn chr(&self) -> &str {
        &self.body.chr
    }

    /// Role from the CHAT.
    pub fn role(&self) -> Role {
        self.body.chat.role()
    }

    /// True when CAR == CHR (a self-signed CVCA).
    pub fn is_self_signed(&self) -> bool {
        self.body.car == self.body.chr
    }

    /// SHA-256 of the certificate, hex (the store's key).
    pub fn fingerprint(&self) -> String {
        crate::crypto::sha256_hex(&self.raw)
    }

    /// Check the signature with the issuer's (completed) key.
    pub fn verify_signature(&self, issuer: &CvPublicKey) -> Result<(), CvcError> {
        let alg = issuer
            .algorithm()
            .ok_or(CvcError::UnsupportedAlgorithm { oid: issuer.oid })?;
        let key = issuer.to_public_key(None).map_err(|source| CvcError::Key {
            chr: self.body.car.clone(),
            source,
        })?;
        signature::verify(&alg.signature_algorithm(), &key, &self.body_raw, &self.signature).map_err(
            |source| CvcError::Signature {
                chr: self.body.chr.clone(),
                car: self.body.car.clone(),
                source,
            },
        )
    }

    /// For a CVCA: check the signature with the certificate's own key.
    pub fn verify_self_signed(&self) -> Result<(), CvcError> {
        self.verify_signature(&self.body.public_key)
    }

    /// Check validity on `date` (effective ≤ date ≤ expiration).
    pub fn check_date(&self, date: CvDate) -> Result<(), CvcError> {
        if date < self.body.effective || date > self.body.expiration {
            return Err(CvcError::Expired {
                chr: self.body.chr.clone(),
                date,
                effective: self.body.effective,
                expiration: self.body.expiration,
            });
        }
        Ok(())
    }
}

/// Split a CHR/CAR into country code, holder mnemonic and sequence number
/// (TR-03110-3 A.6.1: 2 + up to 9 + 5 characters).
pub fn split_reference(r: &str) -> Option<(&str, &str, &str)> {
    if r.len() < 8 || !r.is_ascii() {
        return None;
    }
    let (country, rest) = r.split_at(2);
    let (mnemonic, seq) = rest.split_at(rest.len() - 5);
    Some((country, mnemonic, seq))
}

/// The result of a chain check.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    /// CHR of the trust point the chain starts from.
    pub anchor: String,
    /// CHR of every certificate checked, in order.
    pub path: Vec<String>,
    /// The last certificate's key with domain parameters filled in.
    pub terminal_key: CvPublicKey,
    /// The effective authorization (CHAT bits ANDed along the chain).
    pub effective_chat: Chat,
    /// The CVCA the chain ends trusting after link certificates (its CHR and key).
    pub new_trust_point: Option<(String, CvPublicKey)>,
}

/// Check `chain` (link CVCAs, DV, terminal — in that order) from the trusted CVCA
/// `anchor`: each CAR names the holder before it, each signature verifies with the key
/// before it (domain parameters inherited), roles follow CVCA → CVCA* → DV → terminal,
/// terminal types agree below the CVCA, and (when `date` is given) each certificate is valid on it.
/// A chain may stop at a DV (for the chip side, which imports one certificate at a time).
pub fn verify_chain(
    anchor: &CvCertificate,
    chain: &[CvCertificate],
    date: Option<CvDate>,
) -> Result<ChainCheck, CvcError> {
    if anchor.role() != Role::Cvca {
        return Err(CvcError::WrongRole {
            chr: anchor.chr().to_string(),
            role: anchor.role(),
            issuer_role: Role::Cvca,
        });
    }
    let mut key = anchor.body.public_key.clone();
    let mut holder = anchor.chr().to_string();
    let mut role = Role::Cvca;
    let mut terminal_type: Option<Oid> = None;
    let mut chat = anchor.body.chat.clone();
    let mut path = Vec::new();
    let mut new_trust_point = None;
    for c in chain {
        if c.car() != holder {
            return Err(CvcError::WrongIssuer {
                chr: c.chr().to_string(),
                car: c.car().to_string(),
                expected: holder,
            });
        }
        let allowed = matches!(
            (role, c.role()),
            (Role::Cvca, Role::Cvca | Role::DvDomestic | Role::DvForeign)
                | (Role::DvDomestic | Role::DvForeign, Role::Terminal)
        );
        if !allowed {
            return Err(CvcError::WrongRole {
                chr: c.chr().to_string(),
                role: c.role(),
                issuer_role: role,
            });
        }
        // CVCA certificates serve every terminal type (the BSI worked example's CVCA is
        // id-IS, its DV and terminal id-AT); below the CVCA the type is fixed
        if let Some(expected) = terminal_type
            && c.body.chat.terminal_type != expected
        {
            return Err(CvcError::WrongTerminalType {
                chr: c.chr().to_string(),
                expected,
                found: c.body.chat.terminal_type,
            });
        }
        if c.role() != Role::Cvca {
            terminal_type = Some(c.body.chat.terminal_type);
        }
        c.verify_signature(&key)?;
        if let Some(d) = date {
            c.check_date(d)?;
        }
        let next = c.body.public_key.completed(Some(&key));
        next.to_public_key(None).map_err(|source| CvcError::Key {
            chr: c.chr().to_string(),
            source,
        })?;
        chat = if c.body.chat.terminal_type == chat.terminal_type {
            c.body.chat.intersect(&chat)
        } else {
            c.body.chat.clone()
        };
        role = c.role();
        if role == Role::Cvca {
            new_trust_point = Some((c.chr().to_string(), next.clone()));
        }
        key = next;
        holder = c.chr().to_string();
        path.push(holder.clone());
    }
    Ok(ChainCheck {
        anchor: anchor.chr().to_string(),
        path,
        terminal_key: key,
        effective_chat: chat,
        new_trust_point,
    })
}

/// Every way to order certificates of `certs` into a chain from below the CVCA named
/// `anchor_chr` down to `leaf` (following CARs; several certificates may share a CHR,
/// e.g. after a key renewal, so all candidates are tried). Chains are returned in
/// order, link CVCAs first, `leaf` last; signatures are not checked here.
pub fn candidate_chains<'a>(
    certs: &'a [CvCertificate],
    anchor_chr: &str,
    leaf: &'a CvCertificate,
) -> Vec<Vec<&'a CvCertificate>> {
    fn walk<'a>(
        certs: &'a [CvCertificate],
        anchor: &str,
        path: &mut Vec<&'a CvCertificate>,
        out: &mut Vec<Vec<&'a CvCertificate>>,
    ) {
        let Some(last) = path.last() else { return };
        if last.car() == anchor {
            let mut chain = path.clone();
            chain.reverse();
            out.push(chain);
            return;
        }
        // bounded: a chain is at most a few link certificates, a DV and a terminal
        if path.len() >= 8 || out.len() >= 16 {
            return;
        }
        let car = last.car().to_owned();
        for c in certs.iter().filter(|c| c.chr() == car && !c.is_self_signed()) {
            if path.iter().any(|p| std::ptr::eq(*p, c)) {
                continue;
            }
            path.push(c);
            walk(certs, anchor, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(certs, anchor_chr, &mut vec![leaf], &mut out);
    out
}

/// The first chain of [`candidate_chains`] for the terminal certificate holding
/// `terminal_chr`.
pub fn order_chain<'a>(
    certs: &'a [CvCertificate],
    anchor_chr: &str,
    terminal_chr: &str,
) -> Option<Vec<&'a CvCertificate>> {
    certs
        .iter()
        .filter(|c| c.chr() == terminal_chr)
        .find_map(|t| candidate_chains(certs, anchor_chr, t).into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(path: &str) -> CvCertificate {
        let p = format!("{}/test-vectors/protocol/{path}", env!("CARGO_MANIFEST_DIR"));
        let der = std::fs::read(&p).unwrap();
        CvCertificate::from_der(&der).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    const ALL: &[&str] = &[
        "eac_cv_certs/openpace_DECVCAEPASS00102",
        "eac_cv_certs/openpace_at_cert_19a.cvcert",
        "eac_cv_certs/openpace_at_cert_19a_ecdh.cvcert",
        "eac_cv_certs/openpace_dv_cert_19.cvcert",
        "eac_cv_certs/openpace_dv_cert_19_ecdh.cvcert",
        "eac_cv_certs/vsmartcard_ZZSTCVCA00001.cvcert",
        "eac_cv_certs/vsmartcard_ZZSTDVCA00001.cvcert",
        "eac_cv_certs/vsmartcard_ZZSTTERM00001.cvcert",
        "eac_cv_certs/vsmartcard_dh_at.cvcert",
        "eac_cv_certs/vsmartcard_dh_cvca.cvcert",
        "eac_cv_certs/vsmartcard_dh_dvca.cvcert",
        "eac_cv_certs/vsmartcard_ecdh_at.cvcert",
        "eac_cv_certs/vsmartcard_ecdh_cvca.cvcert",
        "eac_cv_certs/vsmartcard_ecdh_dvca.cvcert",
        "bsi_eac_worked_example/dh_cvca.cvcert",
        "bsi_eac_worked_example/dh_dv_cert.cvcert",
        "bsi_eac_worked_example/dh_ta_cert.cvcert",
        "bsi_eac_worked_example/ecdh_cvca_cert.cvcert",
        "bsi_eac_worked_example/ecdh_dv_cert.cvcert",
        "bsi_eac_worked_example/ecdh_ta_cert.cvcert",
    ];

    /// TR-03110-3 A.6.4 (Table A.6), written out here rather than read from the oid
    /// table: id-TA = 0.4.0.127.0.7.2.2.2, id-TA-RSA = id-TA 1, id-TA-ECDSA = id-TA 2.
    const ID_TA: [(&str, TaScheme, HashAlgorithm, &str); 11] = [
        (
            "0.4.0.127.0.7.2.2.2.1.1",
            TaScheme::RsaV15,
            HashAlgorithm::Sha1,
            "id-TA-RSA-v1-5-SHA-1",
        ),
        (
            "0.4.0.127.0.7.2.2.2.1.2",
            TaScheme::RsaV15,
            HashAlgorithm::Sha256,
            "id-TA-RSA-v1-5-SHA-256",
        ),
        (
            "0.4.0.127.0.7.2.2.2.1.3",
            TaScheme::RsaPss,
            HashAlgorithm::Sha1,
            "id-TA-RSA-PSS-SHA-1",
        ),
        (
            "0.4.0.127.0.7.2.2.2.1.4",
            TaScheme::RsaPss,
            HashAlgorithm::Sha256,
            "id-TA-RSA-PSS-SHA-256",
        ),
        (
            "0.4.0.127.0.7.2.2.2.1.5",
            TaScheme::RsaV15,
            HashAlgorithm::Sha512,
            "id-TA-RSA-v1-5-SHA-512",
        ),
        (
            "0.4.0.127.0.7.2.2.2.1.6",
            TaScheme::RsaPss,
            HashAlgorithm::Sha512,
            "id-TA-RSA-PSS-SHA-512",
        ),
        (
            "0.4.0.127.0.7.2.2.2.2.1",
            TaScheme::Ecdsa,
            HashAlgorithm::Sha1,
            "id-TA-ECDSA-SHA-1",
        ),
        (
            "0.4.0.127.0.7.2.2.2.2.2",
            TaScheme::Ecdsa,
            HashAlgorithm::Sha224,
            "id-TA-ECDSA-SHA-224",
        ),
        (
            "0.4.0.127.0.7.2.2.2.2.3",
            TaScheme::Ecdsa,
            HashAlgorithm::Sha256,
            "id-TA-ECDSA-SHA-256",
        ),
        (
            "0.4.0.127.0.7.2.2.2.2.4",
            TaScheme::Ecdsa,
            HashAlgorithm::Sha384,
            "id-TA-ECDSA-SHA-384",
        ),
        (
            "0.4.0.127.0.7.2.2.2.2.5",
            TaScheme::Ecdsa,
            HashAlgorithm::Sha512,
            "id-TA-ECDSA-SHA-512",
        ),
    ];

    #[test]
    fn ta_algorithms_are_exactly_the_ones_tr_03110_3_defines() {
        for (dotted, scheme, hash, name) in ID_TA {
            let o: Oid = dotted.parse().unwrap();
            let a = TaAlgorithm::from_oid(&o).unwrap_or_else(|| panic!("{dotted}"));
            assert_eq!((a.scheme(), a.hash(), a.oid()), (scheme, hash, o), "{dotted}");
            assert_eq!(TaAlgorithm::new(scheme, hash), Some(a), "{dotted}");
            assert_eq!(a.name(), name);
        }
        assert_eq!(TaAlgorithm::ALL.len(), ID_TA.len());
        for (a, (dotted, ..)) in TaAlgorithm::ALL.iter().zip(ID_TA) {
            assert_eq!(a.oid().to_string(), dotted);
        }
        // every other scheme and hash has no OID, so no value
        for scheme in [TaScheme::RsaV15, TaScheme::RsaPss, TaScheme::Ecdsa] {
            for hash in HashAlgorithm::ALL {
                let defined = ID_TA.iter().any(|(_, s, h, _)| (*s, *h) == (scheme, hash));
                assert_eq!(
                    TaAlgorithm::new(scheme, hash).is_some(),
                    defined,
                    "{scheme:?} {hash:?}"
                );
            }
        }
        assert_eq!(TaAlgorithm::new(TaScheme::Ecdsa, HashAlgorithm::Ripemd160), None);
        assert_eq!(TaAlgorithm::new(TaScheme::RsaV15, HashAlgorithm::Sha384), None);
        // and the arcs next to them name nothing
        for dotted in [
            "0.4.0.127.0.7.2.2.2.1.7",
            "0.4.0.127.0.7.2.2.2.2.6",
            "0.4.0.127.0.7.2.2.2.3.1",
        ] {
            assert_eq!(TaAlgorithm::from_oid(&dotted.parse().unwrap()), None, "{dotted}");
        }
    }

    #[test]
    fn eac_vectors_name_id_ta_algorithms_that_round_trip() {
        for path in ALL {
            let c = load(path);
            let o = c.body.public_key.oid;
            let a = TaAlgorithm::from_oid(&o).unwrap_or_else(|| panic!("{path}: {o}"));
            assert_eq!(a.oid(), o, "{path}");
            assert_eq!(c.body.public_key.algorithm(), Some(a), "{path}");
        }
    }

    /// (CVCA, chain below it, a date inside every validity period)
    type Chain = (&'static str, &'static [&'static str], (u16, u8, u8));
    const CHAINS: &[Chain] = &[
        (
            "bsi_eac_worked_example/ecdh_cvca_cert.cvcert",
            &[
                "bsi_eac_worked_example/ecdh_dv_cert.cvcert",
                "bsi_eac_worked_example/ecdh_ta_cert.cvcert",
            ],
            (2010, 10, 1),
        ),
        (
            "bsi_eac_worked_example/dh_cvca.cvcert",
            &[
                "bsi_eac_worked_example/dh_dv_cert.cvcert",
                "bsi_eac_worked_example/dh_ta_cert.cvcert",
            ],
            (2010, 4, 1),
        ),
        (
            "eac_cv_certs/vsmartcard_ZZSTCVCA00001.cvcert",
            &[
                "eac_cv_certs/vsmartcard_ZZSTDVCA00001.cvcert",
                "eac_cv_certs/vsmartcard_ZZSTTERM00001.cvcert",
            ],
            (2015, 1, 15),
        ),
        (
            "eac_cv_certs/vsmartcard_ecdh_cvca.cvcert",
            &[
                "eac_cv_certs/vsmartcard_ecdh_dvca.cvcert",
                "eac_cv_certs/vsmartcard_ecdh_at.cvcert",
            ],
            (2010, 10, 30),
        ),
        (
            "eac_cv_certs/vsmartcard_dh_cvca.cvcert",
            &[
                "eac_cv_certs/vsmartcard_dh_dvca.cvcert",
                "eac_cv_certs/vsmartcard_dh_at.cvcert",
            ],
            (2010, 3, 24),
        ),
        (
            "eac_cv_certs/vsmartcard_ecdh_cvca.cvcert",
            &[
                "eac_cv_certs/openpace_dv_cert_19_ecdh.cvcert",
                "eac_cv_certs/openpace_at_cert_19a_ecdh.cvcert",
            ],
            (2010, 10, 1),
        ),
        (
            "eac_cv_certs/vsmartcard_dh_cvca.cvcert",
            &[
                "eac_cv_certs/openpace_dv_cert_19.cvcert",
                "eac_cv_certs/openpace_at_cert_19a.cvcert",
            ],
            (2010, 4, 24),
        ),
    ];

    fn date((year, month, day): (u16, u8, u8)) -> CvDate {
        CvDate { year, month, day }
    }

    #[test]
    fn every_certificate_parses_and_reencodes_to_its_bytes() {
        for p in ALL {
            let c = load(p);
            assert_eq!(c.encode(), c.der(), "{p}");
            let der = std::fs::read(format!(
                "{}/test-vectors/protocol/{p}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            assert_eq!(c.der(), der.as_slice(), "{p}");
            // the signed bytes are the body as received, followed by the signature
            let mut inner = c.body_der().to_vec();
            inner.extend_from_slice(&c.signature_tlv());
            assert_eq!(tlv::encode(tag::CV_CERTIFICATE, &inner), der, "{p}");
            assert_eq!(c.body.profile, 0, "{p}");
            assert!(c.body.effective <= c.body.expiration, "{p}");
        }
    }

    #[test]
    fn decoded_fields_of_the_german_epassport_cvca() {
        let c = load("eac_cv_certs/openpace_DECVCAEPASS00102");
        // OpenPACE's cvca-epass.cv names the holder
        let chr = std::fs::read_to_string(format!(
            "{}/test-vectors/protocol/eac_cv_certs/openpace_cvca-epass.cv",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(c.chr(), chr.trim());
        assert_eq!(c.car(), c.chr());
        assert_eq!(c.role(), Role::Cvca);
        assert_eq!(c.body.chat.terminal_type, oid::ROLE_IS);
        // DG3 (fingerprints) only
        assert!(c.body.chat.reads_dg3());
        assert!(!c.body.chat.reads_dg4());
        assert_eq!(c.body.effective, date((2010, 10, 18)));
        assert_eq!(c.body.expiration, date((2013, 10, 18)));
        assert_eq!(c.body.public_key.algorithm(), Some(TaAlgorithm::EcdsaSha256));
        let k = c.body.public_key.to_public_key(None).unwrap();
        assert_eq!(k.info().curve, Some("brainpoolP256r1"));
        assert_eq!(split_reference(c.chr()), Some(("DE", "CVCAEPASS", "00102")));
        // self-signed: the signature checks with its own key
        c.verify_signature(&c.body.public_key).unwrap();
    }

    #[test]
    fn every_chain_verifies_and_every_signature_is_checked() {
        for (anchor, chain, on) in CHAINS {
            let a = load(anchor);
            a.verify_signature(&a.body.public_key)
                .unwrap_or_else(|e| panic!("{anchor}: {e}"));
            let certs: Vec<CvCertificate> = chain.iter().map(|p| load(p)).collect();
            let check = verify_chain(&a, &certs, Some(date(*on))).unwrap_or_else(|e| panic!("{anchor}: {e}"));
            assert_eq!(check.path.len(), 2);
            assert_eq!(
                check.path.last().map(String::as_str),
                certs.last().map(|c| c.chr())
            );
            assert!(check.terminal_key.to_public_key(None).is_ok());
            // a flipped signature byte fails, for each certificate
            for i in 0..certs.len() {
                let mut bad = certs.clone();
                if let Some(b) = bad[i].signature.last_mut() {
                    *b ^= 0x01;
                }
                assert!(
                    matches!(verify_chain(&a, &bad, None), Err(CvcError::Signature { .. })),
                    "{anchor} #{i}"
                );
            }
            // a flipped byte in the signed body fails too
            let mut der = certs[0].der().to_vec();
            let pos = der.len() - certs[0].signature.len() - 20;
            der[pos] ^= 0x01;
            if let Ok(tampered) = CvCertificate::from_der(&der) {
                let mut bad = certs.clone();
                bad[0] = tampered;
                assert!(verify_chain(&a, &bad, None).is_err(), "{anchor}");
            }
        }
    }

    #[test]
    fn dates_issuers_and_roles_are_enforced() {
        let a = load("bsi_eac_worked_example/ecdh_cvca_cert.cvcert");
        let dv = load("bsi_eac_worked_example/ecdh_dv_cert.cvcert");
        let ta = load("bsi_eac_worked_example/ecdh_ta_cert.cvcert");
        let chain = [dv.clone(), ta.clone()];
        // the DV expired on 2010-10-30
        assert!(matches!(
            verify_chain(&a, &chain, Some(date((2010, 10, 31)))),
            Err(CvcError::Expired { chr, .. }) if chr == "DETESTDVDE019"
        ));
        assert!(matches!(
            verify_chain(&a, &chain, Some(date((2010, 9, 29)))),
            Err(CvcError::Expired { .. })
        ));
        // a chain under another CVCA
        let other = load("bsi_eac_worked_example/dh_cvca.cvcert");
        assert!(matches!(
            verify_chain(&other, &chain, None),
            Err(CvcError::WrongIssuer { .. })
        ));
        // order matters: the terminal cannot come first
        assert!(verify_chain(&a, &[ta.clone(), dv.clone()], None).is_err());
        // a DV is not a trust point
        assert!(matches!(
            verify_chain(&dv, &[ta], None),
            Err(CvcError::WrongRole { .. })
        ));
        // the effective authorization is the AND of DV and terminal
        let check = verify_chain(&a, &chain, None).unwrap();
        assert_eq!(check.effective_chat.role(), Role::Terminal);
        assert_eq!(check.effective_chat.bits, vec![0x00, 0x00, 0x00, 0x01, 0x10]);
    }

    #[test]
    fn order_chain_follows_cars() {
        let a = load("bsi_eac_worked_example/dh_cvca.cvcert");
        let dv = load("bsi_eac_worked_example/dh_dv_cert.cvcert");
        let ta = load("bsi_eac_worked_example/dh_ta_cert.cvcert");
        let pool = vec![ta.clone(), a.clone(), dv.clone()];
        let ordered = order_chain(&pool, a.chr(), ta.chr()).unwrap();
        assert_eq!(
            ordered.iter().map(|c| c.chr()).collect::<Vec<_>>(),
            [dv.chr(), ta.chr()]
        );
        assert!(order_chain(&pool, "XXCVCA00001", ta.chr()).is_none());
    }

    #[test]
    fn hostile_input_is_refused_without_panic() {
        let good = load("bsi_eac_worked_example/ecdh_ta_cert.cvcert");
        let der = good.der().to_vec();
        for cut in 0..der.len() {
            assert!(CvCertificate::from_der(&der[..cut]).is_err());
        }
        for i in 0..der.len() {
            let mut d = der.clone();
            d[i] ^= 0xFF;
            let _ = CvCertificate::from_der(&d);
        }
        assert!(CvDate::decode(&[1, 0, 1, 3, 0, 1], "x").is_err()); // month 13
        assert!(CvDate::decode(&[1, 0, 0, 2, 3, 0], "x").is_err()); // 30 February
        assert!(CvDate::decode(&[1, 0, 0, 2], "x").is_err());
    }

    fn ec_key(curve: &str) -> openssl::ec::EcKey<openssl::pkey::Private> {
        let g = crate::pki::keys::curve_by_name(curve).unwrap().group().unwrap();
        openssl::ec::EcKey::generate(&g).unwrap()
    }

    fn body(
        car: &str,
        chr: &str,
        key: CvPublicKey,
        chat: Chat,
        from: (u16, u8, u8),
        to: (u16, u8, u8),
    ) -> CvBody {
        CvBody {
            profile: 0,
            car: car.into(),
            public_key: key,
            chr: chr.into(),
            chat,
            effective: date(from),
            expiration: date(to),
            extensions: vec![],
        }
    }

    #[test]
    fn built_is_chain_with_link_cvca_and_dg_bits() {
        let alg = TaAlgorithm::EcdsaSha256;
        let k_old = ec_key("brainpoolP256r1");
        let k_new = ec_key("brainpoolP256r1");
        let k_dv = ec_key("brainpoolP256r1");
        let k_is = ec_key("brainpoolP256r1");
        let pkey = |k: &openssl::ec::EcKey<openssl::pkey::Private>| PKey::from_ec_key(k.clone()).unwrap();
        let cvca_chat = Chat::inspection_system(Role::Cvca, true, true);
        let old = body(
            "ZZCVCA00001",
            "ZZCVCA00001",
            CvPublicKey::from_ec_key(alg, &k_old, true).unwrap(),
            cvca_chat.clone(),
            (2024, 1, 1),
            (2030, 1, 1),
        )
        .sign(alg, &pkey(&k_old))
        .unwrap();
        old.verify_self_signed().unwrap();
        assert_eq!(
            old.body.public_key.to_public_key(None).unwrap().info().curve,
            Some("brainpoolP256r1")
        );
        // link certificate: the new CVCA key signed by the old one
        let link = body(
            "ZZCVCA00001",
            "ZZCVCA00002",
            CvPublicKey::from_ec_key(alg, &k_new, true).unwrap(),
            cvca_chat,
            (2025, 1, 1),
            (2031, 1, 1),
        )
        .sign(alg, &pkey(&k_old))
        .unwrap();
        let dv = body(
            "ZZCVCA00002",
            "ZZDVIS00001",
            CvPublicKey::from_ec_key(alg, &k_dv, false).unwrap(),
            Chat::inspection_system(Role::DvDomestic, true, false),
            (2025, 1, 1),
            (2026, 1, 1),
        )
        .sign(alg, &pkey(&k_new))
        .unwrap();
        let is = body(
            "ZZDVIS00001",
            "ZZISTERM0001",
            CvPublicKey::from_ec_key(alg, &k_is, false).unwrap(),
            Chat::inspection_system(Role::Terminal, true, true),
            (2025, 2, 1),
            (2025, 3, 1),
        )
        .sign(alg, &pkey(&k_dv))
        .unwrap();
        // encode → decode → encode is stable
        assert_eq!(CvCertificate::from_der(is.der()).unwrap(), is);
        let check = verify_chain(
            &old,
            &[link.clone(), dv.clone(), is.clone()],
            Some(date((2025, 2, 15))),
        )
        .unwrap();
        assert_eq!(
            check.new_trust_point.as_ref().map(|(c, _)| c.as_str()),
            Some("ZZCVCA00002")
        );
        // the DV may only grant DG3: the terminal's DG4 bit is masked
        assert!(check.effective_chat.reads_dg3());
        assert!(!check.effective_chat.reads_dg4());
        // the terminal key (with inherited parameters) checks the terminal's own signatures
        let sig = signature::sign(&alg.signature_algorithm(), &pkey(&k_is), b"challenge").unwrap();
        let tk = check.terminal_key.to_public_key(None).unwrap();
        signature::verify(&alg.signature_algorithm(), &tk, b"challenge", &sig).unwrap();
        // without the link certificate the DV does not chain to the old CVCA
        assert!(matches!(
            verify_chain(&old, &[dv.clone(), is.clone()], None),
            Err(CvcError::WrongIssuer { .. })
        ));
        // a CVCA cannot sign a terminal directly, a terminal cannot sign anything
        let direct = body(
            "ZZCVCA00001",
            "ZZISTERM0002",
            CvPublicKey::from_ec_key(alg, &k_is, false).unwrap(),
            Chat::inspection_system(Role::Terminal, true, true),
            (2025, 2, 1),
            (2025, 3, 1),
        )
        .sign(alg, &pkey(&k_old))
        .unwrap();
        assert!(matches!(
            verify_chain(&old, &[direct], None),
            Err(CvcError::WrongRole { .. })
        ));
        // expired terminal certificate
        assert!(matches!(
            verify_chain(&old, &[link, dv, is], Some(date((2025, 3, 2)))),
            Err(CvcError::Expired { chr, .. }) if chr == "ZZISTERM0001"
        ));
    }

    #[test]
    fn built_rsa_certificate_verifies() {
        let alg = TaAlgorithm::RsaPssSha256;
        let rsa = Rsa::generate(2048).unwrap();
        let c = body(
            "ZZCVCA00009",
            "ZZCVCA00009",
            CvPublicKey::from_rsa(alg, &rsa),
            Chat::inspection_system(Role::Cvca, true, true),
            (2024, 1, 1),
            (2030, 1, 1),
        )
        .sign(alg, &PKey::from_rsa(rsa).unwrap())
        .unwrap();
        c.verify_self_signed().unwrap();
        assert_eq!(c.encode(), c.der());
    }
}

//! X.509 certificates (RFC 5280 §4) with the profile of Doc 9303 Part 12 §7.1
//! (CSCA, link, DSC, master/deviation list signer certificates).
//!
//! Parsed with [`crate::tlv`] so that every byte that is signed (the TBSCertificate)
//! and every DER blob (the certificate itself, the SubjectPublicKeyInfo, the Names) is
//! kept exactly as read. The parser is lenient where real PKIs are sloppy (string
//! types, unknown extensions, non-DER lengths) and records such things as
//! [`CertQuirk`]s; it never panics on hostile input.

use thiserror::Error;
use time::OffsetDateTime;

use super::keys::{KeyError, KeyInfo, PublicKey};
use super::signature::{self, SignatureAlgorithm, SignatureError};
use crate::asn1::der::{self as asn1, Asn1Error, tag};
use crate::asn1::oid;
use crate::asn1::{AlgorithmIdentifier, Oid, SignerIdentifier};
use crate::tlv::{self, Tlv};

/// Why a certificate could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CertError {
    /// The DER is malformed.
    #[error("malformed certificate")]
    Malformed(#[from] Asn1Error),
    /// An extension that must appear once appears twice (RFC 5280 §4.2).
    #[error("extension {oid} appears more than once")]
    DuplicateExtension {
        /// The extension.
        oid: Oid,
    },
    /// The subject public key cannot be used.
    #[error("subject public key")]
    Key(#[from] KeyError),
    /// The signature does not verify or its algorithm is unsupported.
    #[error("certificate signature")]
    Signature(#[from] SignatureError),
}

impl From<tlv::TlvError> for CertError {
    fn from(e: tlv::TlvError) -> Self {
        CertError::Malformed(e.into())
    }
}

/// A tolerated deviation, recorded per certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CertQuirk {
    /// BER lengths (indefinite or non-minimal) somewhere in the certificate.
    NonDerLength,
    /// A negative serial number.
    NegativeSerial,
    /// A serial number longer than 20 octets (RFC 5280 §4.1.2.2).
    LongSerial,
    /// The TBSCertificate's signature algorithm differs from the outer one.
    SignatureAlgorithmMismatch,
    /// A string in a Name that is not valid for its declared type.
    BadStringEncoding,
    /// An extension whose value could not be parsed (kept raw, ignored).
    UnparsableExtension,
}

/// Extensions this code understands (RFC 5280 §4.2: a certificate with a critical
/// extension outside this set must be rejected). Name constraints and policy
/// constraints/mappings/inhibitAnyPolicy are not processed, so they are not here.
pub const KNOWN_EXTENSIONS: &[Oid] = &[
    oid::SKI,
    oid::KEY_USAGE,
    oid::PRIVATE_KEY_USAGE_PERIOD,
    oid::SAN,
    oid::IAN,
    oid::BASIC_CONSTRAINTS,
    oid::CRL_DISTRIBUTION_POINTS,
    oid::CERTIFICATE_POLICIES,
    oid::AKI,
    oid::EXT_KEY_USAGE,
    oid::ICAO_NAME_CHANGE,
    oid::ICAO_DOCUMENT_TYPE_LIST,
];

/// An RFC 5280 rule that guards trust and that a certificate (or CRL) breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rfc5280Violation {
    /// The signed (TBS) signature algorithm differs from the outer one (RFC 5280
    /// §4.1.1.2: they MUST be identical; otherwise the object is malleable).
    SignatureAlgorithmMismatch {
        /// The outer algorithm (dotted OID).
        outer: String,
        /// The signed one.
        inner: String,
    },
    /// A critical extension this code does not process (RFC 5280 §4.2).
    UnknownCriticalExtension {
        /// Its OID (dotted).
        oid: String,
    },
    /// A KeyUsage or BasicConstraints extension whose value does not parse: not the
    /// same as absent.
    MalformedExtension {
        /// Its OID (dotted).
        oid: String,
    },
}

impl Rfc5280Violation {
    /// [`Rfc5280Violation::SignatureAlgorithmMismatch`] when the signed (`inner`)
    /// signature algorithm of a certificate or CRL differs from the `outer` one.
    pub(crate) fn algorithm_mismatch(
        outer: &AlgorithmIdentifier,
        inner: &AlgorithmIdentifier,
    ) -> Option<Self> {
        (inner != outer).then(|| Rfc5280Violation::SignatureAlgorithmMismatch {
            outer: outer.oid.to_string(),
            inner: inner.oid.to_string(),
        })
    }
}

impl std::fmt::Display for Rfc5280Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rfc5280Violation::SignatureAlgorithmMismatch { outer, inner } => write!(
                f,
                "signed signature algorithm {inner} differs from the outer one {outer} (RFC 5280 §4.1.1.2)"
            ),
            Rfc5280Violation::UnknownCriticalExtension { oid } => {
                write!(f, "unknown critical extension {oid} (RFC 5280 §4.2)")
            }
            Rfc5280Violation::MalformedExtension { oid } => {
                let name = if *oid == oid::KEY_USAGE.to_string() {
                    "key usage"
                } else {
                    "basic constraints"
                };
                write!(
                    f,
                    "malformed {name} extension {oid}: it does not parse (not the same as absent)"
                )
            }
        }
    }
}

thread_local! {
    static SIGNATURE_CHECKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Signature verifications of certificates and CRLs done on this thread so far (tests
/// use it to prove that path building and imports do bounded work).
pub fn signature_checks() -> u64 {
    SIGNATURE_CHECKS.with(std::cell::Cell::get)
}

/// Count one signature verification on this thread.
pub(crate) fn count_signature_check() {
    SIGNATURE_CHECKS.with(|c| c.set(c.get().saturating_add(1)));
}

/// One attribute of a distinguished name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NameAttribute {
    /// Attribute type.
    #[serde(serialize_with = "ser_oid")]
    pub oid: Oid,
    /// The value as text (strings decoded by type; other types hex).
    pub value: String,
}

fn ser_oid<S: serde::Serializer>(o: &Oid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&o.to_string())
}

/// A distinguished name (RFC 5280 §4.1.2.4) with its original encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The Name exactly as encoded (SEQUENCE).
    pub raw: Vec<u8>,
    /// RelativeDistinguishedNames in order, each a set of attributes.
    pub rdns: Vec<Vec<NameAttribute>>,
}

impl Name {
    /// Parse a Name.
    pub fn from_tlv(t: &Tlv<'_>) -> Result<(Self, bool), Asn1Error> {
        asn1::expect_tag(t, tag::SEQUENCE, "Name")?;
        let mut rdns = Vec::new();
        let mut bad_string = false;
        for rdn in t.children_ber() {
            let rdn = rdn?;
            asn1::expect_tag(&rdn, tag::SET, "RelativeDistinguishedName")?;
            let mut attrs = Vec::new();
            for atv in rdn.children_ber() {
                let atv = atv?;
                asn1::expect_tag(&atv, tag::SEQUENCE, "AttributeTypeAndValue")?;
                let mut r = atv.children_ber();
                let o = asn1::oid(&asn1::next(&mut r, tag::OID, "attribute type")?, "attribute type")?;
                let v = asn1::next_any(&mut r, "attribute value")?;
                let value = match asn1::directory_string(&v) {
                    Some(s) => {
                        if v.tag == tag::PRINTABLE_STRING && std::str::from_utf8(v.value).is_err() {
                            bad_string = true;
                        }
                        s
                    }
                    None => format!("#{}", hex::encode(v.raw)),
                };
                attrs.push(NameAttribute { oid: o, value });
            }
            rdns.push(attrs);
        }
        Ok((
            Name {
                raw: t.raw.to_vec(),
                rdns,
            },
            bad_string,
        ))
    }

    /// Parse a Name from DER.
    pub fn from_der(der: &[u8]) -> Result<Self, Asn1Error> {
        Ok(Self::from_tlv(&tlv::parse_ber(der)?)?.0)
    }

    /// All attributes in encoded order.
    pub fn attributes(&self) -> impl Iterator<Item = &NameAttribute> {
        self.rdns.iter().flatten()
    }

    /// The first value of an attribute type.
    pub fn get(&self, oid: &Oid) -> Option<&str> {
        self.attributes()
            .find(|a| a.oid == *oid)
            .map(|a| a.value.as_str())
    }

    /// The country (C=), upper-cased and trimmed.
    pub fn country(&self) -> Option<String> {
        self.get(&oid::C).map(|c| c.trim().to_ascii_uppercase())
    }

    /// The common name.
    pub fn common_name(&self) -> Option<&str> {
        self.get(&oid::CN)
    }

    /// A comparison form that survives what real PKIs do to names: attribute order
    /// (RDNs reordered), string types (PrintableString vs UTF8String), letter case and
    /// runs of white space (RFC 5280 §7.1 / RFC 4518 in simplified form).
    pub fn normalized(&self) -> String {
        let mut parts: Vec<String> = self
            .attributes()
            .map(|a| {
                let mut joined = String::with_capacity(a.value.len());
                for (i, word) in a.value.split_whitespace().enumerate() {
                    if i > 0 {
                        joined.push(' ');
                    }
                    joined.push_str(word);
                }
                let mut part = String::with_capacity(joined.len() + 12);
                part.push_str(&dotted(&a.oid));
                part.push('=');
                if joined.is_ascii() {
                    joined.make_ascii_lowercase();
                    part.push_str(&joined);
                } else {
                    part.push_str(&joined.to_lowercase());
                }
                part
            })
            .collect();
        parts.sort_unstable();
        parts.join("\u{1F}")
    }

    /// True when the two names are the same under [`Name::normalized`].
    pub fn matches(&self, other: &Name) -> bool {
        self.raw == other.raw || self.normalized() == other.normalized()
    }

    /// RFC 4514-style text, most significant RDN last (`CN=...,O=...,C=DE`).
    pub fn display(&self) -> String {
        let mut out = String::new();
        for (i, rdn) in self.rdns.iter().rev().enumerate() {
            if i > 0 {
                out.push(',');
            }
            for (j, a) in rdn.iter().enumerate() {
                if j > 0 {
                    out.push('+');
                }
                out.push_str(&short_name(&a.oid));
                out.push('=');
                escape_dn_value(&a.value, &mut out);
            }
        }
        out
    }
}

fn escape_dn_value(v: &str, out: &mut String) {
    let last = v.chars().count().saturating_sub(1);
    for (i, ch) in v.chars().enumerate() {
        let special = matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (ch == '#' || ch == ' '))
            || (i == last && ch == ' ');
        if special {
            out.push('\\');
        }
        out.push(ch);
    }
}

/// The dotted form of an attribute type (the common ones without formatting).
fn dotted(o: &Oid) -> std::borrow::Cow<'static, str> {
    match *o {
        oid::CN => "2.5.4.3".into(),
        oid::SERIAL_NUMBER => "2.5.4.5".into(),
        oid::C => "2.5.4.6".into(),
        oid::L => "2.5.4.7".into(),
        oid::ST => "2.5.4.8".into(),
        oid::O => "2.5.4.10".into(),
        oid::OU => "2.5.4.11".into(),
        _ => o.to_string().into(),
    }
}

fn short_name(o: &Oid) -> std::borrow::Cow<'static, str> {
    match *o {
        oid::CN => "CN".into(),
        oid::C => "C".into(),
        oid::O => "O".into(),
        oid::OU => "OU".into(),
        oid::L => "L".into(),
        oid::ST => "ST".into(),
        oid::SERIAL_NUMBER => "serialNumber".into(),
        oid::EMAIL => "emailAddress".into(),
        _ => o.to_string().into(),
    }
}

/// KeyUsage bits (RFC 5280 §4.2.1.3), bit 0 = digitalSignature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KeyUsage {
    /// Bits as a mask: bit n of the ASN.1 BIT STRING is `1 << n`.
    pub bits: u16,
    /// Whether the extension is marked critical.
    pub critical: bool,
}

impl KeyUsage {
    /// digitalSignature (0)
    pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
    /// nonRepudiation / contentCommitment (1)
    pub const NON_REPUDIATION: u16 = 1 << 1;
    /// keyEncipherment (2)
    pub const KEY_ENCIPHERMENT: u16 = 1 << 2;
    /// keyCertSign (5)
    pub const KEY_CERT_SIGN: u16 = 1 << 5;
    /// cRLSign (6)
    pub const CRL_SIGN: u16 = 1 << 6;

    /// True when every bit of `mask` is set.
    pub fn has(&self, mask: u16) -> bool {
        self.bits & mask == mask
    }

    /// Encode a mask as the DER BIT STRING value (used by the fixture generator).
    pub fn encode_bits(mask: u16) -> Vec<u8> {
        let mut bytes = [0u8; 2];
        for n in 0..16u16 {
            if mask & (1 << n) != 0
                && let Some(b) = bytes.get_mut(usize::from(n / 8))
            {
                *b |= 0x80 >> (n % 8);
            }
        }
        let used = if bytes[1] != 0 { 2 } else { 1 };
        let last = bytes.get(used - 1).copied().unwrap_or(0);
        let unused = if last == 0 { 7 } else { last.trailing_zeros() as u8 };
        let mut v = vec![unused];
        v.extend_from_slice(bytes.get(..used).unwrap_or_default());
        tlv::encode(tag::BIT_STRING, &v)
    }
}

/// BasicConstraints (RFC 5280 §4.2.1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BasicConstraints {
    /// cA.
    pub ca: bool,
    /// pathLenConstraint.
    pub path_len: Option<u64>,
    /// Whether the extension is marked critical.
    pub critical: bool,
}

/// One extension's identity and criticality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionInfo {
    /// extnID.
    pub oid: Oid,
    /// critical.
    pub critical: bool,
    /// extnValue octets.
    pub value: Vec<u8>,
}

/// A parsed certificate holding its original DER.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// The certificate exactly as read.
    pub der: Vec<u8>,
    /// SHA-256 of `der` (the store's key, the fingerprint users see).
    pub sha256: [u8; 32],
    tbs: std::ops::Range<usize>,
    /// Outer signatureAlgorithm.
    pub signature_algorithm: AlgorithmIdentifier,
    /// signatureValue octets.
    pub signature: Vec<u8>,
    /// Version (0 = v1, 2 = v3).
    pub version: u64,
    /// serialNumber content octets (two's complement, as encoded).
    pub serial: Vec<u8>,
    /// issuer.
    pub issuer: Name,
    /// subject.
    pub subject: Name,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// SubjectPublicKeyInfo DER.
    pub spki: Vec<u8>,
    /// Subject key identifier.
    pub ski: Option<Vec<u8>>,
    /// Authority key identifier (keyIdentifier field).
    pub aki: Option<Vec<u8>>,
    /// KeyUsage.
    pub key_usage: Option<KeyUsage>,
    /// BasicConstraints.
    pub basic_constraints: Option<BasicConstraints>,
    /// Extended key usage purposes.
    pub extended_key_usage: Vec<Oid>,
    /// PrivateKeyUsagePeriod (notBefore, notAfter).
    pub private_key_usage_period: Option<(Option<OffsetDateTime>, Option<OffsetDateTime>)>,
    /// ICAO documentTypeList (Doc 9303 Part 12 §7.1.1.3), e.g. `["P"]`.
    pub document_types: Option<Vec<String>>,
    /// All extensions.
    pub extensions: Vec<ExtensionInfo>,
    /// Tolerated deviations.
    pub quirks: Vec<CertQuirk>,
    /// The TBSCertificate's signature algorithm (must equal [`Certificate::signature_algorithm`]).
    pub inner_signature_algorithm: AlgorithmIdentifier,
    /// KeyUsage or BasicConstraints extensions present but unparsable.
    pub malformed_extensions: Vec<Oid>,
}

impl Certificate {
    /// Parse DER (BER lengths tolerated and reported). Trailing bytes are an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        Self::parse(der, der.to_vec())
    }

    /// Same as [`Certificate::from_der`], but when `der` parses it is taken (left
    /// empty) instead of copied; when it does not, it stays.
    pub fn from_der_taking(der: &mut Vec<u8>) -> Result<Self, CertError> {
        let mut cert = Self::parse(der, Vec::new())?;
        cert.der = std::mem::take(der);
        Ok(cert)
    }

    /// Parse `der`; the certificate keeps `owned` as its DER (`der`'s bytes, or
    /// nothing when the caller moves them in afterwards).
    fn parse(der: &[u8], owned: Vec<u8>) -> Result<Self, CertError> {
        let SignedParts {
            outer,
            tbs: tbs_t,
            tbs_range: tbs,
            signature_algorithm,
            signature,
        } = SignedParts::parse(der, "Certificate", "tbsCertificate")?;
        let mut quirks = Vec::new();
        let (indef, nonmin) = asn1::has_ber_lengths(&outer);
        if indef || nonmin {
            quirks.push(CertQuirk::NonDerLength);
        }

        let mut t = tbs_t.children_ber();
        let version = match asn1::optional(&mut t, 0xA0)? {
            Some(v) => {
                let inner = tlv::parse_ber(v.value)?;
                asn1::small_uint(&inner, "version")?
            }
            None => 0,
        };
        let serial_t = asn1::next(&mut t, tag::INTEGER, "serialNumber")?;
        let serial = asn1::integer_bytes(&serial_t, "serialNumber")?.to_vec();
        if serial.first().is_some_and(|b| b & 0x80 != 0) {
            quirks.push(CertQuirk::NegativeSerial);
        }
        if serial.len() > 21 {
            quirks.push(CertQuirk::LongSerial);
        }
        let inner_alg = AlgorithmIdentifier::from_tlv(&asn1::next(&mut t, tag::SEQUENCE, "signature")?)?;
        if inner_alg != signature_algorithm {
            quirks.push(CertQuirk::SignatureAlgorithmMismatch);
        }
        let (issuer, bad1) = Name::from_tlv(&asn1::next(&mut t, tag::SEQUENCE, "issuer")?)?;
        let validity = asn1::next(&mut t, tag::SEQUENCE, "validity")?;
        let mut vr = validity.children_ber();
        let not_before = asn1::time(&asn1::next_any(&mut vr, "notBefore")?, "notBefore")?;
        let not_after = asn1::time(&asn1::next_any(&mut vr, "notAfter")?, "notAfter")?;
        let (subject, bad2) = Name::from_tlv(&asn1::next(&mut t, tag::SEQUENCE, "subject")?)?;
        if bad1 || bad2 {
            quirks.push(CertQuirk::BadStringEncoding);
        }
        let spki = asn1::next(&mut t, tag::SEQUENCE, "subjectPublicKeyInfo")?
            .raw
            .to_vec();
        let mut extensions = Vec::new();
        while !t.is_empty() {
            let f = t.read()?;
            match f.tag {
                // issuerUniqueID / subjectUniqueID
                0x81 | 0x82 | 0xA1 | 0xA2 => {}
                0xA3 => {
                    let seq = tlv::parse_ber(f.value)?;
                    asn1::expect_tag(&seq, tag::SEQUENCE, "extensions")?;
                    for e in seq.children_ber() {
                        extensions.push(parse_extension(&e?)?);
                    }
                }
                found => {
                    return Err(Asn1Error::UnexpectedTag {
                        field: "tbsCertificate",
                        expected: 0xA3,
                        found,
                    }
                    .into());
                }
            }
        }
        for (i, e) in extensions.iter().enumerate() {
            if extensions.iter().skip(i + 1).any(|x| x.oid == e.oid) {
                return Err(CertError::DuplicateExtension { oid: e.oid });
            }
        }
        let mut cert = Certificate {
            der: owned,
            sha256: sha256(der),
            tbs,
            signature_algorithm,
            signature,
            version,
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            spki,
            ski: None,
            aki: None,
            key_usage: None,
            basic_constraints: None,
            extended_key_usage: Vec::new(),
            private_key_usage_period: None,
            document_types: None,
            extensions: Vec::new(),
            quirks,
            inner_signature_algorithm: inner_alg,
            malformed_extensions: Vec::new(),
        };
        for e in &extensions {
            if interpret_extension(&mut cert, e).is_err() {
                if matches!(e.oid, oid::KEY_USAGE | oid::BASIC_CONSTRAINTS) {
                    cert.malformed_extensions.push(e.oid);
                }
                if !cert.quirks.contains(&CertQuirk::UnparsableExtension) {
                    cert.quirks.push(CertQuirk::UnparsableExtension);
                }
            }
        }
        cert.extensions = extensions;
        Ok(cert)
    }

    /// The TBSCertificate bytes exactly as read (what the issuer signed).
    pub fn tbs_der(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    /// SHA-256 fingerprint as lower-case hex.
    pub fn fingerprint(&self) -> String {
        hex::encode(self.sha256)
    }

    /// The subject public key.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        PublicKey::from_spki_der(&self.spki)
    }

    /// Key description (cheap: the key is not built or validated).
    pub fn key_info(&self) -> Result<KeyInfo, KeyError> {
        super::keys::describe_spki(&self.spki)
    }

    /// Verify this certificate's signature with the issuer's key, using the
    /// algorithm named in this certificate.
    pub fn verify_signature(&self, issuer_key: &PublicKey) -> Result<(), CertError> {
        verify_signed(
            &self.signature_algorithm,
            issuer_key,
            self.tbs_der(),
            &self.signature,
        )
    }

    /// The RFC 5280 rules that guard trust which this certificate breaks: inner and
    /// outer signature algorithm differ, an unknown critical extension, a malformed
    /// KeyUsage or BasicConstraints. Empty when it breaks none.
    pub fn rfc5280_violations(&self) -> Vec<Rfc5280Violation> {
        let mut out: Vec<_> =
            Rfc5280Violation::algorithm_mismatch(&self.signature_algorithm, &self.inner_signature_algorithm)
                .into_iter()
                .collect();
        for e in &self.extensions {
            if e.critical && !KNOWN_EXTENSIONS.contains(&e.oid) {
                out.push(Rfc5280Violation::UnknownCriticalExtension {
                    oid: e.oid.to_string(),
                });
            }
        }
        for o in &self.malformed_extensions {
            out.push(Rfc5280Violation::MalformedExtension { oid: o.to_string() });
        }
        out
    }

    /// Subject and issuer names equal (byte-wise or normalised).
    pub fn is_self_issued(&self) -> bool {
        self.subject.matches(&self.issuer)
    }

    /// BasicConstraints cA = TRUE.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|b| b.ca)
    }

    /// Valid at `at` (notBefore ≤ at ≤ notAfter).
    pub fn is_valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// The serial number as upper-case hex of its content octets.
    pub fn serial_hex(&self) -> String {
        hex::encode_upper(&self.serial)
    }

    /// The extension with this OID.
    pub fn extension(&self, o: &Oid) -> Option<&ExtensionInfo> {
        self.extensions.iter().find(|e| e.oid == *o)
    }

    /// Issuing country: C= of the issuer, else of the subject.
    pub fn country(&self) -> Option<String> {
        self.issuer.country().or_else(|| self.subject.country())
    }
}

/// The envelope of a signed X.509 object (a certificate or a CRL): SEQUENCE { tbs,
/// signatureAlgorithm, signatureValue } with nothing after it, BER lengths accepted.
pub(crate) struct SignedParts<'a> {
    /// The outer SEQUENCE.
    pub outer: Tlv<'a>,
    /// The signed part.
    pub tbs: Tlv<'a>,
    /// Where the signed part lies in the input.
    pub tbs_range: std::ops::Range<usize>,
    /// Outer signatureAlgorithm.
    pub signature_algorithm: AlgorithmIdentifier,
    /// signatureValue octets.
    pub signature: Vec<u8>,
}

impl<'a> SignedParts<'a> {
    /// Split `der`, an `object` (`Certificate`, `CertificateList`) whose signed part is
    /// named `tbs_name` in errors.
    pub(crate) fn parse(
        der: &'a [u8],
        object: &'static str,
        tbs_name: &'static str,
    ) -> Result<Self, CertError> {
        let outer = tlv::parse_ber(der)?;
        if outer.raw.len() != der.len() {
            return Err(Asn1Error::Trailing { field: object }.into());
        }
        asn1::expect_tag(&outer, tag::SEQUENCE, object)?;
        let mut r = outer.children_ber();
        let tbs = asn1::next(&mut r, tag::SEQUENCE, tbs_name)?;
        let sig_alg_t = asn1::next(&mut r, tag::SEQUENCE, "signatureAlgorithm")?;
        let signature_algorithm = AlgorithmIdentifier::from_tlv(&sig_alg_t)?;
        let sig_t = asn1::next(&mut r, tag::BIT_STRING, "signatureValue")?;
        let signature = asn1::bit_string_octets(&sig_t, "signatureValue")?.to_vec();
        if !r.is_empty() {
            return Err(Asn1Error::Trailing { field: object }.into());
        }
        let tbs_start = offset_in(der, tbs.raw);
        Ok(SignedParts {
            outer,
            tbs,
            tbs_range: tbs_start..tbs_start + tbs.raw.len(),
            signature_algorithm,
            signature,
        })
    }
}

/// Verify `signature` over `tbs` with the issuer's key and the algorithm the object
/// names (counted as one signature check).
pub(crate) fn verify_signed(
    algorithm: &AlgorithmIdentifier,
    issuer_key: &PublicKey,
    tbs: &[u8],
    signature: &[u8],
) -> Result<(), CertError> {
    count_signature_check();
    let (alg, _) = SignatureAlgorithm::from_algorithm_identifier(algorithm, None)?;
    signature::verify(&alg, issuer_key, tbs, signature)?;
    Ok(())
}

fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

fn parse_extension(e: &Tlv<'_>) -> Result<ExtensionInfo, Asn1Error> {
    asn1::expect_tag(e, tag::SEQUENCE, "Extension")?;
    let mut r = e.children_ber();
    let o = asn1::oid(&asn1::next(&mut r, tag::OID, "extnID")?, "extnID")?;
    let mut critical = false;
    if let Some(b) = asn1::optional(&mut r, tag::BOOLEAN)? {
        critical = b.value.first().is_some_and(|v| *v != 0);
    }
    let v = asn1::next_any(&mut r, "extnValue")?;
    let value = asn1::octet_string(&v, "extnValue")?.into_owned();
    Ok(ExtensionInfo {
        oid: o,
        critical,
        value,
    })
}

fn interpret_extension(cert: &mut Certificate, e: &ExtensionInfo) -> Result<(), Asn1Error> {
    match e.oid {
        oid::SKI => {
            let t = tlv::parse_ber(&e.value)?;
            cert.ski = Some(asn1::octet_string(&t, "subjectKeyIdentifier")?.into_owned());
        }
        oid::AKI => {
            cert.aki = parse_aki(&e.value)?;
        }
        oid::KEY_USAGE => {
            let t = tlv::parse_ber(&e.value)?;
            let (_, octets) = asn1::bit_string_bits(&t, "keyUsage")?;
            cert.key_usage = Some(KeyUsage {
                bits: key_usage_mask(octets),
                critical: e.critical,
            });
        }
        oid::BASIC_CONSTRAINTS => {
            let t = tlv::parse_ber(&e.value)?;
            asn1::expect_tag(&t, tag::SEQUENCE, "basicConstraints")?;
            let mut r = t.children_ber();
            let mut ca = false;
            if let Some(b) = asn1::optional(&mut r, tag::BOOLEAN)? {
                ca = b.value.first().is_some_and(|v| *v != 0);
            }
            let path_len = match asn1::optional(&mut r, tag::INTEGER)? {
                Some(p) => Some(asn1::small_uint(&p, "pathLenConstraint")?),
                None => None,
            };
            if !r.is_empty() {
                return Err(Asn1Error::Trailing {
                    field: "basicConstraints",
                });
            }
            cert.basic_constraints = Some(BasicConstraints {
                ca,
                path_len,
                critical: e.critical,
            });
        }
        oid::EXT_KEY_USAGE => {
            let t = tlv::parse_ber(&e.value)?;
            asn1::expect_tag(&t, tag::SEQUENCE, "extKeyUsage")?;
            for p in t.children_ber() {
                cert.extended_key_usage.push(asn1::oid(&p?, "KeyPurposeId")?);
            }
        }
        oid::PRIVATE_KEY_USAGE_PERIOD => {
            let t = tlv::parse_ber(&e.value)?;
            asn1::expect_tag(&t, tag::SEQUENCE, "privateKeyUsagePeriod")?;
            let mut nb = None;
            let mut na = None;
            for f in t.children_ber() {
                let f = f?;
                // [0] / [1] IMPLICIT GeneralizedTime
                let as_gt = tlv::encode(tag::GENERALIZED_TIME, f.value);
                let gt = tlv::parse(&as_gt)?;
                match f.tag {
                    0x80 => nb = Some(asn1::time(&gt, "privateKeyUsagePeriod.notBefore")?),
                    0x81 => na = Some(asn1::time(&gt, "privateKeyUsagePeriod.notAfter")?),
                    _ => {}
                }
            }
            cert.private_key_usage_period = Some((nb, na));
        }
        oid::ICAO_DOCUMENT_TYPE_LIST => {
            // DocumentTypeListSyntax ::= SEQUENCE { version INTEGER, docTypeList SET OF PrintableString }
            let t = tlv::parse_ber(&e.value)?;
            asn1::expect_tag(&t, tag::SEQUENCE, "documentTypeList")?;
            let mut r = t.children_ber();
            let _version = asn1::next(&mut r, tag::INTEGER, "documentTypeList.version")?;
            let set = asn1::next(&mut r, tag::SET, "docTypeList")?;
            let mut types = Vec::new();
            for d in set.children_ber() {
                let d = d?;
                types.push(asn1::directory_string(&d).unwrap_or_default());
            }
            cert.document_types = Some(types);
        }
        _ => {}
    }
    Ok(())
}

/// Parse an AuthorityKeyIdentifier extension value; returns its keyIdentifier.
pub fn parse_aki(value: &[u8]) -> Result<Option<Vec<u8>>, Asn1Error> {
    let t = tlv::parse_ber(value)?;
    asn1::expect_tag(&t, tag::SEQUENCE, "authorityKeyIdentifier")?;
    for f in t.children_ber() {
        let f = f?;
        if f.tag == 0x80 {
            return Ok(Some(f.value.to_vec()));
        }
    }
    Ok(None)
}

fn key_usage_mask(octets: &[u8]) -> u16 {
    let mut mask = 0u16;
    for (i, byte) in octets.iter().take(2).enumerate() {
        for bit in 0..8u16 {
            if byte & (0x80 >> bit) != 0 {
                mask |= 1 << (i as u16 * 8 + bit);
            }
        }
    }
    mask
}

/// SHA-256 of any bytes (fingerprints).
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    sha256(der)
}

/// SHA-256 through a hashing context: OpenSSL 3's one-shot `SHA256()` looks the
/// algorithm up in its provider on every call (`EVP_Q_digest`, under a lock), which
/// costs more than hashing a certificate (an LDIF import hashes 30,000).
fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut h = openssl::sha::Sha256::new();
    h.update(bytes);
    h.finish()
}

impl Certificate {
    /// True when this is the certificate `sid` names (issuer Name compared byte-wise,
    /// then normalised; serial compared as an integer value; or the SKI).
    pub fn is_named_by(&self, sid: &SignerIdentifier) -> bool {
        match sid {
            SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => {
                if !same_integer(&self.serial, serial) {
                    return false;
                }
                self.issuer.raw == *issuer || Name::from_der(issuer).is_ok_and(|n| n.matches(&self.issuer))
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => self.ski.as_deref() == Some(ski.as_slice()),
        }
    }
}

/// Two INTEGER encodings with the same value (ignoring redundant leading octets).
pub fn same_integer(a: &[u8], b: &[u8]) -> bool {
    fn canon(v: &[u8]) -> &[u8] {
        let mut v = v;
        while let [first, second, rest @ ..] = v {
            if (*first == 0 && second & 0x80 == 0) || (*first == 0xFF && second & 0x80 != 0) {
                v = v.get(1..).unwrap_or_default();
                let _ = rest;
            } else {
                break;
            }
        }
        v
    }
    canon(a) == canon(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_of_common_attributes_are_their_oids() {
        for o in [
            oid::CN,
            oid::SERIAL_NUMBER,
            oid::C,
            oid::L,
            oid::ST,
            oid::O,
            oid::OU,
            oid::EMAIL,
            oid::SKI,
        ] {
            assert_eq!(dotted(&o), o.to_string());
        }
    }

    #[test]
    fn key_usage_bits_roundtrip() {
        for mask in [
            KeyUsage::DIGITAL_SIGNATURE,
            KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN,
            KeyUsage::DIGITAL_SIGNATURE | KeyUsage::NON_REPUDIATION,
            1 << 8,
        ] {
            let enc = KeyUsage::encode_bits(mask);
            let t = tlv::parse(&enc).unwrap();
            let (_, octets) = asn1::bit_string_bits(&t, "x").unwrap();
            assert_eq!(key_usage_mask(octets), mask);
        }
        // keyCertSign + cRLSign is 03 02 01 06
        assert_eq!(
            KeyUsage::encode_bits(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN),
            [3, 2, 1, 6]
        );
        assert_eq!(
            KeyUsage::encode_bits(KeyUsage::DIGITAL_SIGNATURE),
            [3, 2, 7, 0x80]
        );
    }

    #[test]
    fn integers_compare_by_value() {
        assert!(same_integer(&[0, 0x80], &[0, 0x80]));
        assert!(same_integer(&[0, 0x05], &[0x05]));
        assert!(!same_integer(&[0x05], &[0x06]));
        assert!(same_integer(&[0xFF, 0x80], &[0x80]));
    }

    #[test]
    fn names_normalise_order_case_and_string_type() {
        let atv = |o: &Oid, t: u32, v: &str| {
            tlv::encode(
                tag::SET,
                &asn1::encode_seq(&[&asn1::encode_oid(o), &tlv::encode(t, v.as_bytes())]),
            )
        };
        let a = asn1::encode_seq(&[
            &atv(&oid::C, tag::PRINTABLE_STRING, "DE"),
            &atv(&oid::O, tag::PRINTABLE_STRING, "Bundesamt  fuer X"),
            &atv(&oid::CN, tag::PRINTABLE_STRING, "CSCA"),
        ]);
        let b = asn1::encode_seq(&[
            &atv(&oid::CN, tag::UTF8_STRING, "csca"),
            &atv(&oid::C, tag::UTF8_STRING, "de"),
            &atv(&oid::O, tag::UTF8_STRING, "Bundesamt fuer X "),
        ]);
        let na = Name::from_der(&a).unwrap();
        let nb = Name::from_der(&b).unwrap();
        assert_ne!(na.raw, nb.raw);
        assert!(na.matches(&nb));
        assert_eq!(na.display(), "CN=CSCA,O=Bundesamt  fuer X,C=DE");
        assert_eq!(na.country().as_deref(), Some("DE"));
    }
}

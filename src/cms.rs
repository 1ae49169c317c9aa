//! Cryptographic Message Syntax `SignedData` (RFC 5652 §5) as used by Doc 9303:
//! EF.SOD (Part 10 §4.6.2, the LDS Security Object inside), EF.CardSecurity
//! (Part 11 §9.2.x / BSI TR-03110), CSCA master lists (Part 12 §8.1) and deviation
//! lists (Part 12 §8.2).
//!
//! ```text
//! ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }
//! SignedData ::= SEQUENCE {
//!     version CMSVersion,
//!     digestAlgorithms SET OF DigestAlgorithmIdentifier,
//!     encapContentInfo EncapsulatedContentInfo,
//!     certificates [0] IMPLICIT CertificateSet OPTIONAL,
//!     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!     signerInfos SET OF SignerInfo }
//! EncapsulatedContentInfo ::= SEQUENCE {
//!     eContentType OBJECT IDENTIFIER, eContent [0] EXPLICIT OCTET STRING OPTIONAL }
//! SignerInfo ::= SEQUENCE {
//!     version CMSVersion, sid SignerIdentifier, digestAlgorithm DigestAlgorithmIdentifier,
//!     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
//!     signatureAlgorithm SignatureAlgorithmIdentifier, signature OCTET STRING,
//!     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
//! SignerIdentifier ::= CHOICE { issuerAndSerialNumber IssuerAndSerialNumber,
//!     subjectKeyIdentifier [0] SubjectKeyIdentifier }
//! ```
//!
//! Everything that is hashed or signed is kept as the ORIGINAL bytes: the eContent
//! octets, each certificate's DER, the signed attributes exactly as they were encoded
//! (re-tagged `0x31` for the signature, RFC 5652 §5.4). Nothing is re-encoded.
//! BER indefinite lengths (some issuers' EF.SOD) are accepted and reported as a
//! [`CmsQuirk`].
//!
//! Parsing ([`SignedData::parse`]) is pure and panic-free on hostile input;
//! [`verify_signer`] uses [`crate::pki::keys`] and [`crate::pki::signature`] for the math.

pub mod sign;

use std::borrow::Cow;

use thiserror::Error;
use time::OffsetDateTime;

/// The DER/BER helpers live in the base layer; this path is kept for the PKI call sites.
pub use crate::asn1::der as asn1;
pub use crate::asn1::{AlgorithmIdentifier, Oid, SignerIdentifier};

use crate::asn1::keys::{KeyError, PublicKey};
use crate::asn1::oid;
use crate::asn1::signature::{
    self, AlgorithmQuirk, HashAlgorithm, PssParams, SignatureAlgorithm, SignatureError,
};
use crate::pki::cert::Certificate;
use crate::tlv::{self, Tlv};
use asn1::{Asn1Error, tag};

/// What is wrong with a CMS structure or its signature.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CmsError {
    /// The bytes are not a well-formed ContentInfo/SignedData.
    #[error("malformed cms structure")]
    Malformed(#[from] Asn1Error),
    /// The ContentInfo holds something other than SignedData.
    #[error("content type {found} is not signedData")]
    NotSignedData {
        /// The contentType found.
        found: Oid,
    },
    /// SignedData without an eContent (detached): nothing to check the digest over.
    #[error("signed data has no encapsulated content")]
    NoEContent,
    /// The signer's digest algorithm is not supported.
    #[error("unsupported digest algorithm {oid}")]
    UnsupportedDigest {
        /// Its OID.
        oid: Oid,
    },
    /// The signed attributes lack the messageDigest attribute.
    #[error("signed attributes have no messageDigest")]
    MissingMessageDigest,
    /// The SignerInfo has no signed attributes: Doc 9303 Part 10 §4.6.2.2 makes
    /// contentType and messageDigest mandatory, so the signature must cover them.
    #[error("the signer info has no signed attributes (Doc 9303 requires contentType and messageDigest)")]
    MissingSignedAttributes,
    /// A structure holds an element its syntax does not allow (e.g. unsigned data
    /// next to the eContent inside encapContentInfo, which openssl rejects too).
    #[error("{structure} holds an element its syntax does not allow ({found:#04x} after {after})")]
    UnexpectedElement {
        /// The structure.
        structure: &'static str,
        /// The last element it may hold.
        after: &'static str,
        /// Tag of the element found.
        found: u32,
    },
    /// The signer certificate's outer signatureAlgorithm differs from the one inside
    /// its signed TBSCertificate (RFC 5280 §4.1.1.2): the outer one is not signed, so
    /// the certificate would be malleable.
    #[error(
        "the signer certificate's signatureAlgorithm ({outer}) differs from the signed one in its TBSCertificate ({inner})"
    )]
    CertificateAlgorithmMismatch {
        /// The outer algorithm.
        outer: Oid,
        /// The algorithm inside the TBSCertificate.
        inner: Oid,
    },
    /// The messageDigest attribute does not match the hash of the eContent.
    #[error("messageDigest does not match the {hash:?} of the encapsulated content")]
    MessageDigestMismatch {
        /// Hash used.
        hash: HashAlgorithm,
    },
    /// The signed attributes lack the contentType attribute (RFC 5652 §5.3).
    #[error("signed attributes have no contentType")]
    MissingContentType,
    /// The contentType attribute differs from the eContentType.
    #[error("contentType attribute {attribute} differs from eContentType {econtent_type}")]
    ContentTypeMismatch {
        /// The attribute's value.
        attribute: Oid,
        /// The eContentType.
        econtent_type: Oid,
    },
    /// An attribute that must appear once with one value appears otherwise.
    #[error("attribute {oid} must appear once with exactly one value")]
    BadAttribute {
        /// The attribute type.
        oid: Oid,
    },
    /// The signer's public key could not be used.
    #[error("signer public key unusable")]
    Key(#[from] KeyError),
    /// The signature does not verify, or its algorithm is unsupported.
    #[error("signer signature")]
    Signature(#[from] SignatureError),
    /// No certificate in the SignedData matches the signer identifier.
    #[error("no certificate in the signed data matches the signer")]
    NoSignerCertificate,
    /// A certificate could not be parsed.
    #[error("certificate unusable")]
    Certificate(#[source] Box<crate::pki::cert::CertError>),
}

impl From<tlv::TlvError> for CmsError {
    fn from(e: tlv::TlvError) -> Self {
        CmsError::Malformed(e.into())
    }
}

/// A tolerated deviation from DER found while parsing (reported, never silent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CmsQuirk {
    /// BER indefinite-length encoding somewhere in the structure.
    IndefiniteLength,
    /// A long-form length with more octets than needed.
    NonMinimalLength,
    /// The eContent OCTET STRING is constructed (BER segments).
    ConstructedEContent,
    /// Bytes after the ContentInfo (e.g. zero padding of a file).
    TrailingBytes,
    /// Entries in `certificates` that are not X.509 certificates (ignored).
    NonCertificateEntries,
    /// A SignerInfo signature algorithm given as a key algorithm (rsaEncryption).
    KeyAlgorithmAsSignatureAlgorithm,
    /// The SignerInfo's signature algorithm names another hash than its digest algorithm.
    DigestAlgorithmMismatch,
}

/// One attribute (`SEQUENCE { attrType OID, attrValues SET OF ANY }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// attrType.
    pub oid: Oid,
    /// Each value's original encoding.
    pub values: Vec<Vec<u8>>,
}

/// The signed attributes of a SignerInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAttributes {
    /// The `[0] IMPLICIT` element exactly as it appeared (tag `A0`).
    pub raw: Vec<u8>,
    /// All attributes in their encoded order.
    pub attributes: Vec<Attribute>,
    /// The contentType attribute.
    pub content_type: Option<Oid>,
    /// The messageDigest attribute.
    pub message_digest: Option<Vec<u8>>,
    /// The signingTime attribute.
    pub signing_time: Option<OffsetDateTime>,
}

impl SignedAttributes {
    /// The bytes the signature covers: the original encoding with the tag changed
    /// to SET OF (`0x31`), RFC 5652 §5.4.
    pub fn to_be_signed(&self) -> Vec<u8> {
        let mut v = self.raw.clone();
        if let Some(first) = v.first_mut() {
            *first = 0x31;
        }
        v
    }

    /// The attribute with this type.
    pub fn get(&self, oid: &Oid) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.oid == *oid)
    }
}

/// One signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerInfo {
    /// CMSVersion (1 for issuerAndSerialNumber, 3 for subjectKeyIdentifier).
    pub version: u64,
    /// Which certificate signed.
    pub sid: SignerIdentifier,
    /// digestAlgorithm.
    pub digest_algorithm: AlgorithmIdentifier,
    /// signedAttrs.
    pub signed_attrs: Option<SignedAttributes>,
    /// signatureAlgorithm (with parameters, e.g. RSASSA-PSS-params).
    pub signature_algorithm: AlgorithmIdentifier,
    /// The signature value.
    pub signature: Vec<u8>,
    /// unsignedAttrs, raw.
    pub unsigned_attrs: Option<Vec<u8>>,
    /// The whole SignerInfo as encoded.
    pub raw: Vec<u8>,
}

impl SignerInfo {
    /// The digest algorithm as a known hash.
    pub fn digest_hash(&self) -> Result<HashAlgorithm, CmsError> {
        HashAlgorithm::from_oid(&self.digest_algorithm.oid).ok_or(CmsError::UnsupportedDigest {
            oid: self.digest_algorithm.oid,
        })
    }

    /// The RSASSA-PSS parameters, when the signature algorithm is RSASSA-PSS and they
    /// decode.
    pub fn pss(&self) -> Option<PssParams> {
        (self.signature_algorithm.oid == crate::asn1::oid::RSASSA_PSS)
            .then(|| signature::parse_pss_params(self.signature_algorithm.parameters.as_deref()).ok())
            .flatten()
    }

    /// The signature algorithm to verify with, plus a quirk when it had to borrow the
    /// hash from the digest algorithm or names a different hash.
    pub fn signature_algorithm(&self) -> Result<(SignatureAlgorithm, Vec<CmsQuirk>), CmsError> {
        let digest = self.digest_hash()?;
        let (alg, q) =
            SignatureAlgorithm::from_algorithm_identifier(&self.signature_algorithm, Some(digest))?;
        let mut quirks = Vec::new();
        if q == Some(AlgorithmQuirk::KeyAlgorithmAsSignatureAlgorithm) {
            quirks.push(CmsQuirk::KeyAlgorithmAsSignatureAlgorithm);
        }
        if alg.hash() != digest {
            quirks.push(CmsQuirk::DigestAlgorithmMismatch);
        }
        Ok((alg, quirks))
    }
}

/// A parsed ContentInfo holding SignedData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedData {
    /// SignedData version.
    pub version: u64,
    /// digestAlgorithms.
    pub digest_algorithms: Vec<AlgorithmIdentifier>,
    /// eContentType.
    pub econtent_type: Oid,
    /// The eContent octets exactly as encoded (segments of a constructed OCTET STRING
    /// joined); `None` when detached.
    pub econtent: Option<Vec<u8>>,
    /// Each certificate's original DER.
    pub certificates: Vec<Vec<u8>>,
    /// Each CRL's original DER.
    pub crls: Vec<Vec<u8>>,
    /// signerInfos.
    pub signer_infos: Vec<SignerInfo>,
    /// Tolerated deviations from DER.
    pub quirks: Vec<CmsQuirk>,
    /// `certificates`, each parsed on first use and then kept.
    parsed: ParsedCertificates,
}

/// The embedded certificates parsed, each at most once: EF.SOD decoding (the
/// re-encoded issuer quirk), the search for the signer's certificate, its key and the
/// certification path all share one parse ([`SignedData::signer_certificate`]). Slot
/// `i` belongs to `certificates[i]`; since those fields are public, a slot is only used
/// while it holds the parse of the very bytes found there now (see
/// [`SignedData::embedded_certificate`]).
#[derive(Clone, Default)]
struct ParsedCertificates(Vec<std::sync::OnceLock<Result<Certificate, Vec<u8>>>>);

/// A function of `certificates`, which the derived comparison of [`SignedData`] compares.
impl PartialEq for ParsedCertificates {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ParsedCertificates {}

impl std::fmt::Debug for ParsedCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parsed = self.0.iter().filter(|s| s.get().is_some()).count();
        write!(f, "{parsed} of {} parsed", self.0.len())
    }
}

impl SignedData {
    /// Parse a ContentInfo containing SignedData. Trailing zero bytes after it are
    /// tolerated (reported as [`CmsQuirk::TrailingBytes`]); other trailing data is an error.
    pub fn parse(input: &[u8]) -> Result<Self, CmsError> {
        let ci = tlv::parse_ber(input)?;
        let mut quirks = Vec::new();
        let rest = input.get(ci.raw.len()..).unwrap_or_default();
        if !rest.is_empty() {
            if rest.iter().all(|b| *b == 0) {
                quirks.push(CmsQuirk::TrailingBytes);
            } else {
                return Err(Asn1Error::Trailing { field: "ContentInfo" }.into());
            }
        }
        let (indef, nonmin) = asn1::has_ber_lengths(&ci);
        if indef {
            quirks.push(CmsQuirk::IndefiniteLength);
        }
        if nonmin {
            quirks.push(CmsQuirk::NonMinimalLength);
        }
        let Front {
            mut r,
            version,
            digest_set,
            mut er,
            econtent_type,
        } = Front::read(&ci)?;
        let digest_algorithms = digest_set
            .children_ber()
            .map(|t| AlgorithmIdentifier::from_tlv(&t?))
            .collect::<Result<Vec<_>, _>>()?;
        let econtent = match asn1::optional(&mut er, 0xA0)? {
            Some(wrapper) => {
                let mut wr = wrapper.children_ber();
                let os = asn1::next_any(&mut wr, "eContent")?;
                no_more(&wr, "eContent [0]", "OCTET STRING")?;
                let octets = asn1::octet_string(&os, "eContent")?;
                if matches!(octets, Cow::Owned(_)) {
                    quirks.push(CmsQuirk::ConstructedEContent);
                }
                Some(octets.into_owned())
            }
            None => None,
        };
        // encapContentInfo has exactly eContentType and [0] eContent: anything after it
        // is unsigned data riding along with the signed content
        no_more(&er, "encapContentInfo", "eContent")?;
        let (certificates, other_choices) = sequence_entries(asn1::optional(&mut r, 0xA0)?)?;
        if other_choices {
            quirks.push(CmsQuirk::NonCertificateEntries);
        }
        // CRLs: RevocationInfoChoice entries other than a CertificateList are passed over
        let (crls, _) = sequence_entries(asn1::optional(&mut r, 0xA1)?)?;
        let signers = asn1::next(&mut r, tag::SET, "signerInfos")?;
        let signer_infos = signers
            .children_ber()
            .map(|t| parse_signer_info(&t?))
            .collect::<Result<Vec<_>, _>>()?;
        no_more(&r, "SignedData", "signerInfos")?;
        Ok(SignedData {
            version,
            digest_algorithms,
            econtent_type,
            econtent,
            parsed: ParsedCertificates(certificates.iter().map(|_| Default::default()).collect()),
            certificates,
            crls,
            signer_infos,
            quirks,
        })
    }

    /// The eContentType of a ContentInfo holding SignedData, read without copying
    /// anything (file-kind detection): the same walk as [`SignedData::parse`], stopped
    /// at the eContentType.
    pub fn peek_econtent_type(input: &[u8]) -> Result<Oid, CmsError> {
        Ok(Front::read(&tlv::parse_ber(input)?)?.econtent_type)
    }

    /// Check what a signer's signed attributes say about the content, without any
    /// certificate (RFC 5652 §5.4, §11.1, §11.2; Doc 9303 Part 10 §4.6.2.2):
    ///
    /// - the signed attributes are present;
    /// - the contentType attribute is present and equals the eContentType;
    /// - the messageDigest attribute is present and equals the hash of the eContent
    ///   (as read) under the SignerInfo's digestAlgorithm.
    ///
    /// This runs whether or not the signer's certificate is found, so an altered
    /// eContent is caught even when the signature itself cannot be checked.
    pub fn check_message_digest(&self, signer: &SignerInfo) -> Result<(), CmsError> {
        let econtent = self.econtent.as_deref().ok_or(CmsError::NoEContent)?;
        let attrs = signer
            .signed_attrs
            .as_ref()
            .ok_or(CmsError::MissingSignedAttributes)?;
        let ct = attrs.content_type.ok_or(CmsError::MissingContentType)?;
        if ct != self.econtent_type {
            return Err(CmsError::ContentTypeMismatch {
                attribute: ct,
                econtent_type: self.econtent_type,
            });
        }
        let md = attrs
            .message_digest
            .as_deref()
            .ok_or(CmsError::MissingMessageDigest)?;
        let digest = signer.digest_hash()?;
        if digest.digest(econtent).as_slice() != md {
            return Err(CmsError::MessageDigestMismatch { hash: digest });
        }
        Ok(())
    }

    /// Embedded certificate `i`, parsed (`None` when there is none or it does not
    /// parse). The first call parses it, later ones reuse that parse as long as
    /// `certificates[i]` still holds the same bytes; otherwise what it holds now is parsed.
    pub fn embedded_certificate(&self, i: usize) -> Option<Cow<'_, Certificate>> {
        let der = self.certificates.get(i)?;
        let fresh = || Certificate::from_der(der).ok().map(Cow::Owned);
        let Some(slot) = self.parsed.0.get(i) else {
            return fresh();
        };
        match slot.get_or_init(|| Certificate::from_der(der).map_err(|_| der.clone())) {
            Ok(c) if c.der == *der => Some(Cow::Borrowed(c)),
            Err(refused) if refused == der => None,
            // `certificates` was changed after parsing
            _ => fresh(),
        }
    }

    /// The first embedded certificate that parses and that `signer` names
    /// ([`Certificate::is_named_by`]), if any.
    pub fn signer_certificate(&self, signer: &SignerInfo) -> Option<Cow<'_, Certificate>> {
        (0..self.certificates.len())
            .filter_map(|i| self.embedded_certificate(i))
            .find(|c| c.is_named_by(&signer.sid))
    }

    /// True when `signer` names its embedded certificate by issuerAndSerialNumber whose
    /// issuer is not the certificate's issuer bytes (it matched under RFC 5280 §7.1 name
    /// comparison: other string types, case or spacing; Ukrainian EF.SODs).
    pub fn signer_issuer_reencoded(&self, signer: &SignerInfo) -> bool {
        let SignerIdentifier::IssuerAndSerialNumber { issuer, .. } = &signer.sid else {
            return false;
        };
        self.signer_certificate(signer)
            .is_some_and(|c| c.issuer.raw != *issuer)
    }
}

/// The front of a SignedData: ContentInfo opened, version, digestAlgorithms (as read)
/// and the eContentType; readers positioned after encapContentInfo (`r`) and after
/// the eContentType inside it (`er`).
struct Front<'a> {
    r: tlv::Reader<'a>,
    version: u64,
    digest_set: Tlv<'a>,
    er: tlv::Reader<'a>,
    econtent_type: Oid,
}

impl<'a> Front<'a> {
    fn read(ci: &Tlv<'a>) -> Result<Self, CmsError> {
        asn1::expect_tag(ci, tag::SEQUENCE, "ContentInfo")?;
        let mut r = ci.children_ber();
        let ct = asn1::oid(&asn1::next(&mut r, tag::OID, "contentType")?, "contentType")?;
        if ct != oid::SIGNED_DATA {
            return Err(CmsError::NotSignedData { found: ct });
        }
        let content = asn1::next(&mut r, 0xA0, "content")?;
        no_more(&r, "ContentInfo", "content")?;
        let mut cr = content.children_ber();
        let sd = asn1::next(&mut cr, tag::SEQUENCE, "SignedData")?;
        no_more(&cr, "ContentInfo [0] content", "SignedData")?;
        let mut r = sd.children_ber();
        let version = asn1::small_uint(&asn1::next(&mut r, tag::INTEGER, "version")?, "version")?;
        let digest_set = asn1::next(&mut r, tag::SET, "digestAlgorithms")?;
        let eci = asn1::next(&mut r, tag::SEQUENCE, "encapContentInfo")?;
        let mut er = eci.children_ber();
        let econtent_type = asn1::oid(&asn1::next(&mut er, tag::OID, "eContentType")?, "eContentType")?;
        Ok(Front {
            r,
            version,
            digest_set,
            er,
            econtent_type,
        })
    }
}

fn parse_signer_info(t: &Tlv<'_>) -> Result<SignerInfo, CmsError> {
    asn1::expect_tag(t, tag::SEQUENCE, "SignerInfo")?;
    let mut r = t.children_ber();
    let version = asn1::small_uint(
        &asn1::next(&mut r, tag::INTEGER, "SignerInfo.version")?,
        "version",
    )?;
    let sid_t = asn1::next_any(&mut r, "sid")?;
    let sid = match sid_t.tag {
        tag::SEQUENCE => {
            let mut sr = sid_t.children_ber();
            let issuer = asn1::next(&mut sr, tag::SEQUENCE, "sid.issuer")?;
            let serial =
                asn1::integer_bytes(&asn1::next(&mut sr, tag::INTEGER, "sid.serialNumber")?, "serial")?;
            SignerIdentifier::IssuerAndSerialNumber {
                issuer: issuer.raw.to_vec(),
                serial: serial.to_vec(),
            }
        }
        // [0] IMPLICIT OCTET STRING, primitive (0x80) or, in BER, constructed (0xA0)
        0x80 => SignerIdentifier::SubjectKeyIdentifier(sid_t.value.to_vec()),
        0xA0 => {
            let mut v = Vec::new();
            for seg in sid_t.children_ber() {
                v.extend_from_slice(seg?.value);
            }
            SignerIdentifier::SubjectKeyIdentifier(v)
        }
        found => {
            return Err(Asn1Error::UnexpectedTag {
                field: "sid",
                expected: tag::SEQUENCE,
                found,
            }
            .into());
        }
    };
    let digest_algorithm =
        AlgorithmIdentifier::from_tlv(&asn1::next(&mut r, tag::SEQUENCE, "digestAlgorithm")?)?;
    let signed_attrs = match asn1::optional(&mut r, 0xA0)? {
        Some(a) => Some(parse_signed_attrs(&a)?),
        None => None,
    };
    let signature_algorithm =
        AlgorithmIdentifier::from_tlv(&asn1::next(&mut r, tag::SEQUENCE, "signatureAlgorithm")?)?;
    let sig_t = asn1::next_any(&mut r, "signature")?;
    let signature = asn1::octet_string(&sig_t, "signature")?.into_owned();
    let unsigned_attrs = asn1::optional(&mut r, 0xA1)?.map(|u| u.raw.to_vec());
    if !r.is_empty() {
        return Err(Asn1Error::Trailing { field: "SignerInfo" }.into());
    }
    Ok(SignerInfo {
        version,
        sid,
        digest_algorithm,
        signed_attrs,
        signature_algorithm,
        signature,
        unsigned_attrs,
        raw: t.raw.to_vec(),
    })
}

fn single_value(a: &Attribute) -> Result<&[u8], CmsError> {
    match a.values.as_slice() {
        [v] => Ok(v),
        _ => Err(CmsError::BadAttribute { oid: a.oid }),
    }
}

fn parse_signed_attrs(t: &Tlv<'_>) -> Result<SignedAttributes, CmsError> {
    let mut attributes = Vec::new();
    for a in t.children_ber() {
        let a = a?;
        asn1::expect_tag(&a, tag::SEQUENCE, "Attribute")?;
        let mut ar = a.children_ber();
        let oid = asn1::oid(&asn1::next(&mut ar, tag::OID, "attrType")?, "attrType")?;
        let set = asn1::next(&mut ar, tag::SET, "attrValues")?;
        let values = set
            .children_ber()
            .map(|v| v.map(|v| v.raw.to_vec()))
            .collect::<Result<Vec<_>, _>>()?;
        attributes.push(Attribute { oid, values });
    }
    let mut content_type = None;
    let mut message_digest = None;
    let mut signing_time = None;
    for (i, a) in attributes.iter().enumerate() {
        let known = [oid::CONTENT_TYPE, oid::MESSAGE_DIGEST, oid::SIGNING_TIME];
        if known.contains(&a.oid) && attributes.iter().skip(i + 1).any(|b| b.oid == a.oid) {
            return Err(CmsError::BadAttribute { oid: a.oid });
        }
        match a.oid {
            oid::CONTENT_TYPE => {
                let v = tlv::parse_ber(single_value(a)?)?;
                content_type = Some(asn1::oid(&v, "contentType")?);
            }
            oid::MESSAGE_DIGEST => {
                let v = tlv::parse_ber(single_value(a)?)?;
                message_digest = Some(asn1::octet_string(&v, "messageDigest")?.into_owned());
            }
            oid::SIGNING_TIME => {
                let v = tlv::parse_ber(single_value(a)?)?;
                signing_time = Some(asn1::time(&v, "signingTime")?);
            }
            _ => {}
        }
    }
    Ok(SignedAttributes {
        raw: t.raw.to_vec(),
        attributes,
        content_type,
        message_digest,
        signing_time,
    })
}

/// Verify one signer of `sd` with `key` (RFC 5652 §5.4, §5.6):
///
/// 1. [`SignedData::check_message_digest`]: signed attributes present, contentType
///    equal to the eContentType, messageDigest equal to the hash of the eContent;
/// 2. the signature over the signed attributes (original encoding, re-tagged SET OF),
///
/// always with the algorithm named in the SignerInfo's `signatureAlgorithm`. A
/// SignerInfo without signed attributes is refused (Doc 9303 makes them mandatory).
pub fn verify_signer(sd: &SignedData, signer: &SignerInfo, key: &PublicKey) -> Result<(), CmsError> {
    sd.check_message_digest(signer)?;
    verify_signed_attributes(signer, key)
}

/// Step 2 of [`verify_signer`] alone: the signature over the signed attributes.
fn verify_signed_attributes(signer: &SignerInfo, key: &PublicKey) -> Result<(), CmsError> {
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or(CmsError::MissingSignedAttributes)?;
    let (alg, _quirks) = signer.signature_algorithm()?;
    signature::verify(&alg, key, &attrs.to_be_signed(), &signer.signature)?;
    Ok(())
}

/// [`verify_signer`] with the signer's certificate: the messageDigest is checked
/// first (it needs no certificate), then the certificate's outer and signed signature
/// algorithms must agree, then the key is taken from its SubjectPublicKeyInfo
/// (explicit EC parameters included).
pub fn verify_signer_with_certificate(
    sd: &SignedData,
    signer: &SignerInfo,
    cert: &Certificate,
) -> Result<(), CmsError> {
    sd.check_message_digest(signer)?;
    certificate_algorithms_agree(cert)?;
    let key = cert
        .public_key()
        .map_err(|e| CmsError::Certificate(Box::new(e.into())))?;
    // the messageDigest was checked above: the eContent is hashed once
    verify_signed_attributes(signer, &key)
}

/// RFC 5280 §4.1.1.2: a certificate's `signatureAlgorithm` "MUST contain the same
/// algorithm identifier as the signature field in the sequence tbsCertificate". The
/// outer one is not covered by the signature; absent and NULL parameters count as the
/// same (both mean "no parameters" for the algorithms in use).
pub fn certificate_algorithms_agree(cert: &Certificate) -> Result<(), CmsError> {
    let outer = &cert.signature_algorithm;
    let inner = &cert.inner_signature_algorithm;
    let same_params = inner.parameters == outer.parameters
        || (inner.parameters_absent_or_null() && outer.parameters_absent_or_null());
    if inner.oid != outer.oid || !same_params {
        return Err(CmsError::CertificateAlgorithmMismatch {
            outer: outer.oid,
            inner: inner.oid,
        });
    }
    Ok(())
}

/// The SEQUENCE entries (DER as read) of an optional `certificates` or `crls` set, and
/// whether it held other choices too (attribute certificates, other formats).
fn sequence_entries(set: Option<Tlv<'_>>) -> Result<(Vec<Vec<u8>>, bool), CmsError> {
    let mut entries = Vec::new();
    let mut other_choices = false;
    for c in set.iter().flat_map(|set| set.children_ber()) {
        let c = c?;
        if c.tag == tag::SEQUENCE {
            entries.push(c.raw.to_vec());
        } else {
            other_choices = true;
        }
    }
    Ok((entries, other_choices))
}

fn no_more(r: &tlv::Reader<'_>, structure: &'static str, after: &'static str) -> Result<(), CmsError> {
    match asn1::peek_tag(r) {
        None if r.is_empty() => Ok(()),
        Some(found) => Err(CmsError::UnexpectedElement {
            structure,
            after,
            found,
        }),
        None => Err(Asn1Error::Trailing { field: structure }.into()),
    }
}

/// Build a DER SignedData ContentInfo (used by the fixture generator and the emulator;
/// the verifier never encodes). `signed_attrs_der` is the `[0]`-tagged signed attributes.
#[derive(Debug, Clone, Default)]
pub struct SignedDataBuilder {
    /// digestAlgorithms (DER AlgorithmIdentifiers).
    pub digest_algorithms: Vec<Vec<u8>>,
    /// eContentType.
    pub econtent_type: Option<Oid>,
    /// eContent octets.
    pub econtent: Vec<u8>,
    /// Certificates (DER).
    pub certificates: Vec<Vec<u8>>,
    /// CRLs (DER).
    pub crls: Vec<Vec<u8>>,
    /// SignerInfos (DER).
    pub signer_infos: Vec<Vec<u8>>,
}

impl SignedDataBuilder {
    /// Encode the ContentInfo.
    pub fn to_der(&self) -> Vec<u8> {
        let econtent_type = self.econtent_type.unwrap_or(oid::DATA);
        let eci = asn1::encode_seq(&[
            &asn1::encode_oid(&econtent_type),
            &tlv::encode(0xA0, &tlv::encode(tag::OCTET_STRING, &self.econtent)),
        ]);
        let mut parts: Vec<Vec<u8>> = vec![
            asn1::encode_small_uint(3),
            tlv::encode(tag::SET, &self.digest_algorithms.concat()),
            eci,
        ];
        if !self.certificates.is_empty() {
            parts.push(tlv::encode(0xA0, &self.certificates.concat()));
        }
        if !self.crls.is_empty() {
            parts.push(tlv::encode(0xA1, &self.crls.concat()));
        }
        parts.push(tlv::encode(tag::SET, &self.signer_infos.concat()));
        let sd = tlv::encode(tag::SEQUENCE, &parts.concat());
        asn1::encode_seq(&[&asn1::encode_oid(&oid::SIGNED_DATA), &tlv::encode(0xA0, &sd)])
    }
}

/// Encode signed attributes (contentType, messageDigest, optional signingTime) as the
/// `[0] IMPLICIT` element, attributes in DER SET OF order.
pub fn encode_signed_attrs(
    econtent_type: &Oid,
    message_digest: &[u8],
    signing_time: Option<OffsetDateTime>,
) -> Vec<u8> {
    let attr = |o: &Oid, v: Vec<u8>| asn1::encode_seq(&[&asn1::encode_oid(o), &tlv::encode(tag::SET, &v)]);
    let mut attrs = vec![
        attr(&oid::CONTENT_TYPE, asn1::encode_oid(econtent_type)),
        attr(
            &oid::MESSAGE_DIGEST,
            tlv::encode(tag::OCTET_STRING, message_digest),
        ),
    ];
    if let Some(t) = signing_time {
        attrs.push(attr(&oid::SIGNING_TIME, asn1::encode_time(t)));
    }
    attrs.sort();
    tlv::encode(0xA0, &attrs.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn signed_attributes_are_retagged_not_reencoded() {
        let attrs = encode_signed_attrs(&oid::ICAO_LDS_SECURITY_OBJECT, &[1, 2, 3], None);
        let t = tlv::parse(&attrs).unwrap();
        let parsed = parse_signed_attrs(&t).unwrap();
        assert_eq!(parsed.raw, attrs);
        let tbs = parsed.to_be_signed();
        assert_eq!(tbs[0], 0x31);
        assert_eq!(&tbs[1..], &attrs[1..]);
        assert_eq!(parsed.content_type, Some(oid::ICAO_LDS_SECURITY_OBJECT));
        assert_eq!(parsed.message_digest.as_deref(), Some(&[1u8, 2, 3][..]));
    }

    #[test]
    fn duplicate_message_digest_is_refused() {
        let md = asn1::encode_seq(&[
            &asn1::encode_oid(&oid::MESSAGE_DIGEST),
            &tlv::encode(tag::SET, &tlv::encode(tag::OCTET_STRING, &[1])),
        ]);
        let attrs = tlv::encode(0xA0, &[md.clone(), md].concat());
        let t = tlv::parse(&attrs).unwrap();
        assert!(matches!(
            parse_signed_attrs(&t),
            Err(CmsError::BadAttribute { .. })
        ));
    }

    fn fixture_cert() -> Vec<u8> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::read(root.join("pkd-fixtures/pki/10-ut-csca-1.cer")).unwrap()
    }

    /// A SignedData over `econtent` whose signed attributes name `attr_type` as the
    /// content type (the signature value is a placeholder: these tests stop before it).
    fn signed(econtent: &[u8], attr_type: Oid) -> SignedData {
        let cert = fixture_cert();
        let der = sign::sign_with(
            &sign::SignRequest {
                econtent_type: attr_type,
                econtent,
                signer_cert: &cert,
                digest: HashAlgorithm::Sha256,
                alg: SignatureAlgorithm::Ecdsa {
                    hash: HashAlgorithm::Sha256,
                },
                signing_time: None,
                embed_signer: true,
                extra_certs: Vec::new(),
                sid: sign::SidForm::IssuerAndSerial,
            },
            |_, _| Ok(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
        )
        .unwrap();
        SignedData::parse(&der).unwrap()
    }

    /// A ContentInfo with SignedData v3 around `eci`, no digest algorithms, no signers.
    fn signed_data_around(eci: &[u8]) -> Vec<u8> {
        let sd = asn1::encode_seq(&[
            &asn1::encode_small_uint(3),
            &tlv::encode(tag::SET, &[]),
            eci,
            &tlv::encode(tag::SET, &[]),
        ]);
        asn1::encode_seq(&[&asn1::encode_oid(&oid::SIGNED_DATA), &tlv::encode(0xA0, &sd)])
    }

    #[test]
    fn unsigned_element_inside_encap_content_info_is_refused() {
        let eci = asn1::encode_seq(&[
            &asn1::encode_oid(&oid::ICAO_LDS_SECURITY_OBJECT),
            &tlv::encode(0xA0, &tlv::encode(tag::OCTET_STRING, &[0x30, 0x00])),
            // what openssl refuses too: data next to the signed content
            &tlv::encode(tag::OCTET_STRING, b"unsigned"),
        ]);
        let ci = signed_data_around(&eci);
        let err = SignedData::parse(&ci).unwrap_err();
        assert!(
            matches!(
                err,
                CmsError::UnexpectedElement {
                    structure: "encapContentInfo",
                    found: 0x04,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("encapContentInfo"), "{err}");
        // and a second element inside the [0] eContent wrapper
        let eci = asn1::encode_seq(&[
            &asn1::encode_oid(&oid::ICAO_LDS_SECURITY_OBJECT),
            &tlv::encode(
                0xA0,
                &[
                    tlv::encode(tag::OCTET_STRING, &[0x30, 0x00]),
                    tlv::encode(tag::OCTET_STRING, &[1]),
                ]
                .concat(),
            ),
        ]);
        let ci = signed_data_around(&eci);
        assert!(matches!(
            SignedData::parse(&ci),
            Err(CmsError::UnexpectedElement { .. })
        ));
    }

    #[test]
    fn signer_info_without_signed_attributes_is_refused() {
        let mut sd = signed(b"content", oid::DATA);
        let signer = &mut sd.signer_infos[0];
        signer.signed_attrs = None;
        let signer = signer.clone();
        assert!(matches!(
            sd.check_message_digest(&signer),
            Err(CmsError::MissingSignedAttributes)
        ));
        let cert = Certificate::from_der(&fixture_cert()).unwrap();
        assert!(matches!(
            verify_signer_with_certificate(&sd, &signer, &cert),
            Err(CmsError::MissingSignedAttributes)
        ));
    }

    #[test]
    fn content_type_attribute_must_equal_econtent_type() {
        let mut sd = signed(b"content", oid::ICAO_LDS_SECURITY_OBJECT);
        sd.check_message_digest(&sd.signer_infos[0]).unwrap();
        sd.econtent_type = oid::DATA;
        let err = sd.check_message_digest(&sd.signer_infos[0]).unwrap_err();
        assert!(
            matches!(
                err,
                CmsError::ContentTypeMismatch {
                    attribute: oid::ICAO_LDS_SECURITY_OBJECT,
                    econtent_type: oid::DATA
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn message_digest_is_checked_without_any_certificate() {
        let mut sd = signed(b"genuine content", oid::DATA);
        sd.check_message_digest(&sd.signer_infos[0]).unwrap();
        sd.econtent = Some(b"altered content".to_vec());
        let signer = sd.signer_infos[0].clone();
        assert!(matches!(
            sd.check_message_digest(&signer),
            Err(CmsError::MessageDigestMismatch { .. })
        ));
        // with a certificate whose key never made the (placeholder) signature, the digest
        // still speaks first
        let cert = Certificate::from_der(&fixture_cert()).unwrap();
        assert!(matches!(
            verify_signer_with_certificate(&sd, &signer, &cert),
            Err(CmsError::MessageDigestMismatch { .. })
        ));
    }

    #[test]
    fn certificate_with_outer_algorithm_other_than_the_signed_one_is_refused() {
        let cert = fixture_cert();
        certificate_algorithms_agree(&Certificate::from_der(&cert).unwrap()).unwrap();
        // the outer signatureAlgorithm follows the TBSCertificate: change its OID's last arc
        let outer = tlv::parse(&cert).unwrap();
        let mut kids = outer.children();
        let tbs = kids.read().unwrap();
        let alg = kids.read().unwrap();
        let header = cert.len() - outer.value.len();
        let alg_at = header + tbs.raw.len();
        let oid_len = usize::from(alg.value[1]);
        let last_arc = alg_at + (alg.raw.len() - alg.value.len()) + 2 + oid_len - 1;
        let mut forged = cert.clone();
        forged[last_arc] ^= 0x01;
        let forged = Certificate::from_der(&forged).unwrap();
        let err = certificate_algorithms_agree(&forged).unwrap_err();
        assert!(
            matches!(err, CmsError::CertificateAlgorithmMismatch { .. }),
            "{err:?}"
        );
        // and a SignedData naming it as its signer is refused for it
        let sd = signed(b"content", oid::DATA);
        let signer = sd.signer_infos[0].clone();
        assert!(matches!(
            verify_signer_with_certificate(&sd, &signer, &forged),
            Err(CmsError::CertificateAlgorithmMismatch { .. })
        ));
    }

    #[test]
    fn embedded_certificates_are_parsed_once_and_never_stale() {
        let mut sd = signed(b"content", oid::DATA);
        let signer = sd.signer_infos[0].clone();
        let first = sd.signer_certificate(&signer).unwrap();
        let second = sd.embedded_certificate(0).unwrap();
        // one parse: both borrow the same certificate
        assert!(matches!((&first, &second), (Cow::Borrowed(a), Cow::Borrowed(b)) if std::ptr::eq(*a, *b)));
        assert_eq!(first.der, fixture_cert());
        // the field is public: bytes put there after the parse are what is used
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let other = std::fs::read(root.join("pkd-fixtures/pki/10-ut-csca-2.cer")).unwrap();
        sd.certificates[0] = other.clone();
        assert_eq!(sd.embedded_certificate(0).unwrap().der, other);
        assert!(sd.signer_certificate(&signer).is_none());
        sd.certificates[0] = vec![0x30, 0x00];
        assert!(sd.embedded_certificate(0).is_none());
        // and a failed parse is not kept for other bytes either
        let mut sd = signed(b"content", oid::DATA);
        let genuine = std::mem::replace(&mut sd.certificates[0], vec![0x30, 0x00]);
        assert!(sd.signer_certificate(&signer).is_none());
        sd.certificates[0] = genuine.clone();
        assert_eq!(sd.signer_certificate(&signer).unwrap().der, genuine);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = SignedData::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_mutated_cms(pos in 0usize..2000, val in any::<u8>()) {
            let mut b = SignedDataBuilder {
                econtent_type: Some(oid::ICAO_LDS_SECURITY_OBJECT),
                econtent: vec![0x30, 0x03, 0x02, 0x01, 0x00],
                ..Default::default()
            }.to_der();
            let len = b.len();
            if let Some(x) = b.get_mut(pos % len) { *x = val; }
            let _ = SignedData::parse(&b);
        }
    }
}

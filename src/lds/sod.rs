//! EF.SOD, the Document Security Object (Doc 9303 Part 10 §4.6.2, Part 12 §9): a CMS
//! SignedData (RFC 5652 §5) whose encapsulated content is the LDSSecurityObject.
//!
//! ```text
//! 77 ContentInfo { contentType id-signedData, [0] SignedData {
//!      version, digestAlgorithms, encapContentInfo { eContentType
//!      id-icao-mrtd-security-ldsSecurityObject (2.23.136.1.1.1), [0] eContent OCTET STRING },
//!      [0] certificates OPTIONAL, [1] crls OPTIONAL, signerInfos } }
//!
//! LDSSecurityObject ::= SEQUENCE {
//!   version                LDSSecurityObjectVersion,   -- v0(0) | v1(1)
//!   hashAlgorithm          DigestAlgorithmIdentifier,
//!   dataGroupHashValues    SEQUENCE SIZE (2..ub-DataGroups) OF DataGroupHash,
//!   ldsVersionInfo         LDSVersionInfo OPTIONAL }   -- present iff v1
//! DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER (1..16), dataGroupHashValue OCTET STRING }
//! LDSVersionInfo ::= SEQUENCE { ldsVersion PrintableString, unicodeVersion PrintableString }
//! ```
//!
//! This is a decoder only: no signature is verified here (that is Passive
//! Authentication's job). It keeps, byte for byte, what verification needs: the
//! eContent octets (covered by the messageDigest attribute), the signed attributes as
//! read (the signature covers them re-tagged as SET, `31`), each certificate and CRL,
//! and the signature. BER is accepted (indefinite lengths, constructed OCTET STRING)
//! and reported as quirks.
//!
//! The CMS walk here is minimal and self-contained; it should be folded into the
//! shared `crate::cms` once that exists.

use crate::lds::error::LdsError;
use crate::lds::quirk::{self, Quirk};
use crate::tlv::{Reader, Tlv};

const FILE: &str = "EF.SOD";

/// id-signedData (RFC 5652).
pub const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// id-icao-mrtd-security-ldsSecurityObject.
pub const OID_LDS_SECURITY_OBJECT: &str = "2.23.136.1.1.1";
/// Non-standard LDS security object OID seen in early French and Belgian passports.
pub const OID_LDS_SECURITY_OBJECT_ALT: &str = "1.3.27.1.1.1";
/// Non-standard LDS security object OID of SDU (Netherlands) test documents.
pub const OID_LDS_SECURITY_OBJECT_SDU: &str = "1.2.528.1.1006.1.20.1";
/// id-contentType signed attribute.
pub const OID_ATTR_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
/// id-messageDigest signed attribute.
pub const OID_ATTR_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
/// id-signingTime signed attribute.
pub const OID_ATTR_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
/// id-RSASSA-PSS.
pub const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
/// id-mgf1.
pub const OID_MGF1: &str = "1.2.840.113549.1.1.8";

/// Dotted form of an OBJECT IDENTIFIER's content octets.
pub fn oid_to_string(v: &[u8]) -> Option<String> {
    if v.is_empty() || v.len() > 128 {
        return None;
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    let mut pending = false;
    for b in v {
        if acc > (u64::MAX >> 7) {
            return None;
        }
        acc = (acc << 7) | u64::from(b & 0x7F);
        pending = b & 0x80 != 0;
        if !pending {
            arcs.push(acc);
            acc = 0;
        }
    }
    if pending {
        return None;
    }
    let (first, rest) = arcs.split_first()?;
    let (a, b) = match *first {
        x if x < 40 => (0, x),
        x if x < 80 => (1, x - 40),
        x => (2, x - 80),
    };
    let mut s = format!("{a}.{b}");
    for r in rest {
        s.push('.');
        s.push_str(&r.to_string());
    }
    Some(s)
}

/// Hash algorithms Doc 9303 allows for the LDS security object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgorithm {
    /// SHA-1 (1.3.14.3.2.26).
    Sha1,
    /// SHA-224 (2.16.840.1.101.3.4.2.4).
    Sha224,
    /// SHA-256 (2.16.840.1.101.3.4.2.1).
    Sha256,
    /// SHA-384 (2.16.840.1.101.3.4.2.2).
    Sha384,
    /// SHA-512 (2.16.840.1.101.3.4.2.3).
    Sha512,
}

impl HashAlgorithm {
    /// From a dotted OID.
    pub fn from_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.3.14.3.2.26" => HashAlgorithm::Sha1,
            "2.16.840.1.101.3.4.2.4" => HashAlgorithm::Sha224,
            "2.16.840.1.101.3.4.2.1" => HashAlgorithm::Sha256,
            "2.16.840.1.101.3.4.2.2" => HashAlgorithm::Sha384,
            "2.16.840.1.101.3.4.2.3" => HashAlgorithm::Sha512,
            _ => return None,
        })
    }

    /// Dotted OID.
    pub fn oid(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "1.3.14.3.2.26",
            HashAlgorithm::Sha224 => "2.16.840.1.101.3.4.2.4",
            HashAlgorithm::Sha256 => "2.16.840.1.101.3.4.2.1",
            HashAlgorithm::Sha384 => "2.16.840.1.101.3.4.2.2",
            HashAlgorithm::Sha512 => "2.16.840.1.101.3.4.2.3",
        }
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha224 => 28,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Hash `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            HashAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            HashAlgorithm::Sha224 => sha2::Sha224::digest(data).to_vec(),
            HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// An AlgorithmIdentifier: OID and the parameters element as encoded (if any).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlgorithmIdentifier {
    /// Dotted OID.
    pub oid: String,
    /// The parameters element (tag, length, value) as read; `None` when absent.
    #[serde(serialize_with = "opt_hex")]
    pub parameters: Option<Vec<u8>>,
}

impl AlgorithmIdentifier {
    /// Short name of well-known algorithms (as OpenSSL prints them).
    pub fn name(&self) -> Option<&'static str> {
        Some(match self.oid.as_str() {
            "1.3.14.3.2.26" => "sha1",
            "2.16.840.1.101.3.4.2.4" => "sha224",
            "2.16.840.1.101.3.4.2.1" => "sha256",
            "2.16.840.1.101.3.4.2.2" => "sha384",
            "2.16.840.1.101.3.4.2.3" => "sha512",
            "1.2.840.113549.1.1.1" => "rsaEncryption",
            "1.2.840.113549.1.1.5" => "sha1WithRSA",
            "1.2.840.113549.1.1.14" => "sha224WithRSA",
            "1.2.840.113549.1.1.11" => "sha256WithRSA",
            "1.2.840.113549.1.1.12" => "sha384WithRSA",
            "1.2.840.113549.1.1.13" => "sha512WithRSA",
            OID_RSASSA_PSS => "RSASSA-PSS",
            "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
            "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
            "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
            "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
            "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
            "1.2.840.10045.2.1" => "id-ecPublicKey",
            _ => return None,
        })
    }

    /// The hash algorithm, when this identifies one.
    pub fn hash_algorithm(&self) -> Option<HashAlgorithm> {
        HashAlgorithm::from_oid(&self.oid)
    }

    /// True when parameters are absent or an ASN.1 NULL.
    pub fn parameters_absent_or_null(&self) -> bool {
        matches!(self.parameters.as_deref(), None | Some([0x05, 0x00]))
    }

    fn decode(t: &Tlv<'_>, quirks: &mut Vec<Quirk>) -> Result<Self, LdsError> {
        if t.tag != 0x30 {
            return Err(LdsError::UnexpectedTag {
                file: FILE,
                expected: 0x30,
                found: t.tag,
            });
        }
        let k = ber_kids(t, quirks)?;
        let mut it = k.iter();
        let oid = it.next().ok_or(LdsError::Missing {
            file: FILE,
            what: "algorithm oid",
        })?;
        let oid = oid_of(oid)?;
        let parameters = it.next().map(|p| p.raw.to_vec());
        if it.next().is_some() {
            return Err(LdsError::Invalid {
                file: FILE,
                what: "algorithm identifier",
            });
        }
        Ok(AlgorithmIdentifier { oid, parameters })
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1), defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PssParameters {
    /// Hash algorithm OID (default SHA-1).
    pub hash: String,
    /// Mask generation function OID (default MGF1).
    pub mask_gen: String,
    /// MGF1's hash algorithm OID (default SHA-1).
    pub mgf1_hash: Option<String>,
    /// Salt length (default 20).
    pub salt_length: u64,
    /// Trailer field (default 1 = 0xBC).
    pub trailer_field: u64,
}

impl PssParameters {
    /// Decode the parameters element of an RSASSA-PSS AlgorithmIdentifier.
    pub fn decode(params: &[u8]) -> Result<Self, LdsError> {
        let mut quirks = Vec::new();
        let bad = LdsError::Invalid {
            file: FILE,
            what: "rsassa-pss parameters",
        };
        let t = crate::tlv::parse_ber(params).map_err(LdsError::tlv_in(FILE))?;
        if t.tag != 0x30 {
            return Err(bad);
        }
        let mut p = PssParameters {
            hash: HashAlgorithm::Sha1.oid().to_string(),
            mask_gen: OID_MGF1.to_string(),
            mgf1_hash: Some(HashAlgorithm::Sha1.oid().to_string()),
            salt_length: 20,
            trailer_field: 1,
        };
        for f in ber_kids(&t, &mut quirks)? {
            let inner = ber_kids(&f, &mut quirks)?;
            let first = inner.first().ok_or(LdsError::Invalid {
                file: FILE,
                what: "rsassa-pss parameters",
            })?;
            match f.tag {
                0xA0 => p.hash = AlgorithmIdentifier::decode(first, &mut quirks)?.oid,
                0xA1 => {
                    let mgf = AlgorithmIdentifier::decode(first, &mut quirks)?;
                    p.mask_gen = mgf.oid;
                    p.mgf1_hash = match mgf.parameters {
                        Some(raw) => {
                            let pt = crate::tlv::parse_ber(&raw).map_err(LdsError::tlv_in(FILE))?;
                            Some(AlgorithmIdentifier::decode(&pt, &mut quirks)?.oid)
                        }
                        None => None,
                    };
                }
                0xA2 => p.salt_length = uint(first)?,
                0xA3 => p.trailer_field = uint(first)?,
                _ => {
                    return Err(LdsError::Invalid {
                        file: FILE,
                        what: "rsassa-pss parameters",
                    });
                }
            }
        }
        Ok(p)
    }
}

/// The LDS security object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LdsSecurityObject {
    /// 0 (v0) or 1 (v1, with LDS version info).
    pub version: i64,
    /// hashAlgorithm as encoded.
    pub hash_algorithm: AlgorithmIdentifier,
    /// dataGroupHashValues in file order.
    pub dg_hashes: Vec<DataGroupHash>,
    /// ldsVersionInfo (v1).
    pub lds_version_info: Option<LdsVersionInfo>,
}

/// One DataGroupHash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataGroupHash {
    /// Data group number 1..16.
    pub number: u8,
    /// Hash value.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub hash: Vec<u8>,
}

/// LDSVersionInfo (v1 security objects).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LdsVersionInfo {
    /// LDS version, e.g. `"0108"`.
    pub lds_version: String,
    /// Unicode version, e.g. `"040000"`.
    pub unicode_version: String,
}

/// How a signer identifies its certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerIdentifier {
    /// issuerAndSerialNumber (SignerInfo v1).
    IssuerAndSerialNumber {
        /// Issuer Name, DER as read.
        #[serde(serialize_with = "quirk::serialize_hex")]
        issuer: Vec<u8>,
        /// Serial number INTEGER content octets.
        #[serde(serialize_with = "quirk::serialize_hex")]
        serial: Vec<u8>,
    },
    /// subjectKeyIdentifier (SignerInfo v3).
    SubjectKeyIdentifier(#[serde(serialize_with = "quirk::serialize_hex")] Vec<u8>),
}

/// Signed attributes of a SignerInfo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignedAttributes {
    /// The `[0] IMPLICIT SET OF Attribute` element exactly as read (tag `A0`).
    #[serde(skip)]
    pub raw: Vec<u8>,
    /// contentType attribute value (dotted OID).
    pub content_type: Option<String>,
    /// messageDigest attribute value.
    #[serde(serialize_with = "opt_hex")]
    pub message_digest: Option<Vec<u8>>,
    /// signingTime attribute value as written (UTCTime or GeneralizedTime text).
    pub signing_time: Option<String>,
    /// Every attribute: OID and its `SET OF` values element as read.
    #[serde(skip)]
    pub attributes: Vec<(String, Vec<u8>)>,
}

impl SignedAttributes {
    /// The bytes the signature covers: the attributes as read with the implicit `[0]`
    /// tag replaced by the SET tag `31` (RFC 5652 §5.4). No re-encoding or re-sorting.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut v = self.raw.clone();
        if let Some(first) = v.first_mut() {
            *first = 0x31;
        }
        v
    }
}

/// One SignerInfo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignerInfo {
    /// 1 (issuerAndSerialNumber) or 3 (subjectKeyIdentifier).
    pub version: i64,
    /// Signer identifier.
    pub sid: SignerIdentifier,
    /// digestAlgorithm.
    pub digest_algorithm: AlgorithmIdentifier,
    /// signedAttrs, if present.
    pub signed_attrs: Option<SignedAttributes>,
    /// signatureAlgorithm.
    pub signature_algorithm: AlgorithmIdentifier,
    /// RSASSA-PSS parameters when the signature algorithm is RSASSA-PSS.
    pub pss: Option<PssParameters>,
    /// The signature octets.
    #[serde(serialize_with = "quirk::serialize_hex")]
    pub signature: Vec<u8>,
    /// unsignedAttrs element as read, if present.
    #[serde(skip)]
    pub unsigned_attrs: Option<Vec<u8>>,
}

/// A decoded EF.SOD.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sod {
    /// SignedData version (3 in Doc 9303).
    pub signed_data_version: i64,
    /// SignedData digestAlgorithms.
    pub digest_algorithms: Vec<AlgorithmIdentifier>,
    /// eContentType (dotted).
    pub econtent_type: String,
    /// The eContent OCTET STRING content (what the messageDigest attribute covers).
    #[serde(skip)]
    pub econtent: Vec<u8>,
    /// The LDS security object decoded from `econtent`.
    pub lds_security_object: LdsSecurityObject,
    /// Embedded certificates, each DER as read (the DSC in Doc 9303).
    #[serde(serialize_with = "ser_count")]
    pub certificates: Vec<Vec<u8>>,
    /// Embedded CRLs, each as read.
    #[serde(serialize_with = "ser_count")]
    pub crls: Vec<Vec<u8>>,
    /// SignerInfos.
    pub signer_infos: Vec<SignerInfo>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
}

fn ser_count<S: serde::Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(v.len() as u64)
}

fn opt_hex<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => quirk::serialize_hex(b, s),
        None => s.serialize_none(),
    }
}

impl Sod {
    /// The hash of data group `n` listed in the security object.
    pub fn dg_hash(&self, n: u8) -> Option<&[u8]> {
        self.lds_security_object
            .dg_hashes
            .iter()
            .find(|h| h.number == n)
            .map(|h| h.hash.as_slice())
    }

    /// The data group numbers listed, in file order.
    pub fn dg_numbers(&self) -> Vec<u8> {
        self.lds_security_object
            .dg_hashes
            .iter()
            .map(|h| h.number)
            .collect()
    }

    /// The algorithm of the data group hashes.
    pub fn hash_algorithm(&self) -> Result<HashAlgorithm, LdsError> {
        self.lds_security_object
            .hash_algorithm
            .hash_algorithm()
            .ok_or(LdsError::Unsupported {
                file: FILE,
                what: "lds security object hash algorithm",
            })
    }

    /// LDS version info (v1 security objects).
    pub fn lds_version_info(&self) -> Option<&LdsVersionInfo> {
        self.lds_security_object.lds_version_info.as_ref()
    }
}

fn ber_kids<'a>(t: &Tlv<'a>, quirks: &mut Vec<Quirk>) -> Result<Vec<Tlv<'a>>, LdsError> {
    let kids = Reader::new_ber(t.value)
        .read_all()
        .map_err(LdsError::tlv_in(FILE))?;
    for k in &kids {
        push_length_quirk(k, quirks);
    }
    Ok(kids)
}

fn push_length_quirk(t: &Tlv<'_>, quirks: &mut Vec<Quirk>) {
    if let Some(q) = quirk::length_quirk(t) {
        // one quirk per kind is enough: a BER SOD often has dozens of indefinite lengths
        if !quirks.iter().any(|x| x.name() == q.name()) {
            quirks.push(q);
        }
    }
}

fn expect<'a>(t: Option<&Tlv<'a>>, tag: u32, what: &'static str) -> Result<Tlv<'a>, LdsError> {
    let t = t.ok_or(LdsError::Missing { file: FILE, what })?;
    if t.tag != tag {
        return Err(LdsError::UnexpectedTag {
            file: FILE,
            expected: tag,
            found: t.tag,
        });
    }
    Ok(*t)
}

fn oid_of(t: &Tlv<'_>) -> Result<String, LdsError> {
    if t.tag != 0x06 {
        return Err(LdsError::UnexpectedTag {
            file: FILE,
            expected: 0x06,
            found: t.tag,
        });
    }
    oid_to_string(t.value).ok_or(LdsError::Invalid {
        file: FILE,
        what: "object identifier",
    })
}

fn int(t: &Tlv<'_>) -> Result<i64, LdsError> {
    let bad = LdsError::Invalid {
        file: FILE,
        what: "integer",
    };
    if t.tag != 0x02 || t.value.is_empty() || t.value.len() > 8 {
        return Err(bad);
    }
    let negative = t.value.first().is_some_and(|b| b & 0x80 != 0);
    let init: i64 = if negative { -1 } else { 0 };
    Ok(t.value.iter().fold(init, |a, b| (a << 8) | i64::from(*b)))
}

fn uint(t: &Tlv<'_>) -> Result<u64, LdsError> {
    u64::try_from(int(t)?).map_err(|_| LdsError::Invalid {
        file: FILE,
        what: "integer",
    })
}

/// OCTET STRING content; a BER constructed OCTET STRING (`24`) is concatenated.
fn octets(
    t: &Tlv<'_>,
    what: &'static str,
    quirks: &mut Vec<Quirk>,
    depth: usize,
) -> Result<Vec<u8>, LdsError> {
    match t.tag {
        0x04 => Ok(t.value.to_vec()),
        0x24 if depth < 4 => {
            if !quirks.iter().any(|q| q.name() == "ber_constructed_octet_string") {
                quirks.push(Quirk::Other {
                    name: "ber_constructed_octet_string",
                    detail: format!("{what} is a constructed (BER) octet string"),
                });
            }
            let mut out = Vec::new();
            for k in ber_kids(t, quirks)? {
                out.extend(octets(&k, what, quirks, depth + 1)?);
            }
            Ok(out)
        }
        found => Err(LdsError::UnexpectedTag {
            file: FILE,
            expected: 0x04,
            found,
        }),
    }
}

fn printable(t: &Tlv<'_>, quirks: &mut Vec<Quirk>) -> Result<String, LdsError> {
    if !matches!(t.tag, 0x13 | 0x0C | 0x16) {
        return Err(LdsError::UnexpectedTag {
            file: FILE,
            expected: 0x13,
            found: t.tag,
        });
    }
    if t.tag != 0x13 {
        quirks.push(Quirk::NonDer { tag: t.tag });
    }
    match std::str::from_utf8(t.value) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => {
            quirks.push(Quirk::InvalidUtf8 { tag: t.tag });
            Ok(String::from_utf8_lossy(t.value).into_owned())
        }
    }
}

/// Decode an EF.SOD file (`77 …`).
pub fn decode(input: &[u8]) -> Result<Sod, LdsError> {
    let mut quirks = Vec::new();
    let outer = quirk::open_outer(input, FILE, 0x77, &mut quirks)?;
    let top = ber_kids(&outer, &mut quirks)?;
    if top.len() > 1 {
        quirks.push(Quirk::TrailingBytes {
            bytes: top.iter().skip(1).map(|t| t.raw.len()).sum(),
        });
    }
    let content_info = expect(top.first(), 0x30, "ContentInfo")?;
    let ci = ber_kids(&content_info, &mut quirks)?;
    let ct = oid_of(&expect(ci.first(), 0x06, "ContentInfo contentType")?)?;
    if ct != OID_SIGNED_DATA {
        return Err(LdsError::Invalid {
            file: FILE,
            what: "content type (not signed data)",
        });
    }
    let explicit = expect(ci.get(1), 0xA0, "ContentInfo content")?;
    let ex = ber_kids(&explicit, &mut quirks)?;
    let sd = expect(ex.first(), 0x30, "SignedData")?;
    let sd = ber_kids(&sd, &mut quirks)?;
    let mut it = sd.iter().peekable();

    let signed_data_version = int(&expect(it.next(), 0x02, "SignedData version")?)?;
    let digest_set = expect(it.next(), 0x31, "SignedData digestAlgorithms")?;
    let digest_algorithms = ber_kids(&digest_set, &mut quirks)?
        .iter()
        .map(|a| AlgorithmIdentifier::decode(a, &mut quirks))
        .collect::<Result<Vec<_>, _>>()?;

    let eci = expect(it.next(), 0x30, "encapContentInfo")?;
    let eci = ber_kids(&eci, &mut quirks)?;
    let econtent_type = oid_of(&expect(eci.first(), 0x06, "eContentType")?)?;
    match econtent_type.as_str() {
        OID_LDS_SECURITY_OBJECT => {}
        OID_LDS_SECURITY_OBJECT_ALT | OID_LDS_SECURITY_OBJECT_SDU => quirks.push(Quirk::Other {
            name: "nonstandard_lds_security_object_oid",
            detail: format!("eContentType {econtent_type} instead of {OID_LDS_SECURITY_OBJECT}"),
        }),
        _ => {
            return Err(LdsError::Invalid {
                file: FILE,
                what: "eContentType (not an lds security object)",
            });
        }
    }
    let ec = expect(eci.get(1), 0xA0, "eContent")?;
    let ec = ber_kids(&ec, &mut quirks)?;
    let econtent = octets(
        ec.first().ok_or(LdsError::Missing {
            file: FILE,
            what: "eContent",
        })?,
        "eContent",
        &mut quirks,
        0,
    )?;

    let mut certificates = Vec::new();
    let mut crls = Vec::new();
    if let Some(t) = it.next_if(|t| t.tag == 0xA0) {
        for c in ber_kids(t, &mut quirks)? {
            if c.tag != 0x30 {
                quirks.push(Quirk::Other {
                    name: "sod_non_x509_certificate_choice",
                    detail: format!("certificate choice {:02X} kept raw", c.tag),
                });
            }
            certificates.push(c.raw.to_vec());
        }
    }
    if let Some(t) = it.next_if(|t| t.tag == 0xA1) {
        for c in ber_kids(t, &mut quirks)? {
            crls.push(c.raw.to_vec());
        }
    }
    let signer_set = expect(it.next(), 0x31, "SignedData signerInfos")?;
    let signer_infos = ber_kids(&signer_set, &mut quirks)?
        .iter()
        .map(|s| decode_signer_info(s, &mut quirks))
        .collect::<Result<Vec<_>, _>>()?;
    if signer_infos.is_empty() {
        return Err(LdsError::Missing {
            file: FILE,
            what: "signer info",
        });
    }
    if it.next().is_some() {
        return Err(LdsError::Invalid {
            file: FILE,
            what: "SignedData (unexpected element after signerInfos)",
        });
    }
    if signed_data_version != 3 {
        quirks.push(Quirk::Other {
            name: "sod_signed_data_version",
            detail: format!("SignedData version {signed_data_version} (doc 9303 requires 3)"),
        });
    }
    let lds_security_object = decode_lds_security_object(&econtent, &mut quirks)?;
    Ok(Sod {
        signed_data_version,
        digest_algorithms,
        econtent_type,
        econtent,
        lds_security_object,
        certificates,
        crls,
        signer_infos,
        quirks,
    })
}

fn decode_signer_info(t: &Tlv<'_>, quirks: &mut Vec<Quirk>) -> Result<SignerInfo, LdsError> {
    let k = ber_kids(&expect(Some(t), 0x30, "SignerInfo")?, quirks)?;
    let mut it = k.iter().peekable();
    let version = int(&expect(it.next(), 0x02, "SignerInfo version")?)?;
    let sid_t = it.next().ok_or(LdsError::Missing {
        file: FILE,
        what: "SignerInfo sid",
    })?;
    let sid = match sid_t.tag {
        0x30 => {
            let ias = ber_kids(sid_t, quirks)?;
            let issuer = expect(ias.first(), 0x30, "issuer")?;
            let serial = expect(ias.get(1), 0x02, "serialNumber")?;
            SignerIdentifier::IssuerAndSerialNumber {
                issuer: issuer.raw.to_vec(),
                serial: serial.value.to_vec(),
            }
        }
        0x80 => SignerIdentifier::SubjectKeyIdentifier(sid_t.value.to_vec()),
        found => {
            return Err(LdsError::UnexpectedTag {
                file: FILE,
                expected: 0x30,
                found,
            });
        }
    };
    let digest_algorithm = AlgorithmIdentifier::decode(&expect(it.next(), 0x30, "digestAlgorithm")?, quirks)?;
    let signed_attrs = match it.next_if(|t| t.tag == 0xA0) {
        Some(a) => Some(decode_signed_attrs(a, quirks)?),
        None => None,
    };
    let signature_algorithm =
        AlgorithmIdentifier::decode(&expect(it.next(), 0x30, "signatureAlgorithm")?, quirks)?;
    let pss = match (&signature_algorithm.oid[..], &signature_algorithm.parameters) {
        (OID_RSASSA_PSS, Some(p)) => Some(PssParameters::decode(p)?),
        (OID_RSASSA_PSS, None) => {
            return Err(LdsError::Missing {
                file: FILE,
                what: "rsassa-pss parameters",
            });
        }
        _ => None,
    };
    let signature = octets(
        it.next().ok_or(LdsError::Missing {
            file: FILE,
            what: "signature",
        })?,
        "signature",
        quirks,
        0,
    )?;
    let unsigned_attrs = it.next_if(|t| t.tag == 0xA1).map(|t| t.raw.to_vec());
    if it.next().is_some() {
        return Err(LdsError::Invalid {
            file: FILE,
            what: "SignerInfo (unexpected element)",
        });
    }
    Ok(SignerInfo {
        version,
        sid,
        digest_algorithm,
        signed_attrs,
        signature_algorithm,
        pss,
        signature,
        unsigned_attrs,
    })
}

fn decode_signed_attrs(t: &Tlv<'_>, quirks: &mut Vec<Quirk>) -> Result<SignedAttributes, LdsError> {
    let mut sa = SignedAttributes {
        raw: t.raw.to_vec(),
        content_type: None,
        message_digest: None,
        signing_time: None,
        attributes: Vec::new(),
    };
    for a in ber_kids(t, quirks)? {
        let ak = ber_kids(&expect(Some(&a), 0x30, "Attribute")?, quirks)?;
        let oid = oid_of(&expect(ak.first(), 0x06, "attrType")?)?;
        let values = expect(ak.get(1), 0x31, "attrValues")?;
        let vals = ber_kids(&values, quirks)?;
        let single = || -> Result<Tlv<'_>, LdsError> {
            match vals.as_slice() {
                [v] => Ok(*v),
                _ => Err(LdsError::Invalid {
                    file: FILE,
                    what: "signed attribute with other than one value",
                }),
            }
        };
        let duplicate = |present: bool, quirks: &mut Vec<Quirk>| {
            if present {
                quirks.push(Quirk::Other {
                    name: "sod_duplicate_signed_attribute",
                    detail: "a signed attribute appears more than once; the first is used".into(),
                });
            }
        };
        match oid.as_str() {
            OID_ATTR_CONTENT_TYPE => {
                duplicate(sa.content_type.is_some(), quirks);
                if sa.content_type.is_none() {
                    sa.content_type = Some(oid_of(&single()?)?);
                }
            }
            OID_ATTR_MESSAGE_DIGEST => {
                duplicate(sa.message_digest.is_some(), quirks);
                if sa.message_digest.is_none() {
                    sa.message_digest = Some(octets(&single()?, "messageDigest", quirks, 0)?);
                }
            }
            OID_ATTR_SIGNING_TIME => {
                let v = single()?;
                if !matches!(v.tag, 0x17 | 0x18) {
                    return Err(LdsError::Invalid {
                        file: FILE,
                        what: "signingTime",
                    });
                }
                sa.signing_time = Some(String::from_utf8_lossy(v.value).into_owned());
            }
            _ => {}
        }
        sa.attributes.push((oid, values.raw.to_vec()));
    }
    Ok(sa)
}

fn decode_lds_security_object(
    econtent: &[u8],
    quirks: &mut Vec<Quirk>,
) -> Result<LdsSecurityObject, LdsError> {
    let t = crate::tlv::parse_ber(econtent).map_err(LdsError::tlv_in(FILE))?;
    push_length_quirk(&t, quirks);
    if econtent.len() > t.raw.len() {
        quirks.extend(quirk::trailing_quirk(
            econtent.get(t.raw.len()..).unwrap_or_default(),
        ));
    }
    let k = ber_kids(&expect(Some(&t), 0x30, "LDSSecurityObject")?, quirks)?;
    let version = int(&expect(k.first(), 0x02, "LDSSecurityObject version")?)?;
    let hash_algorithm = AlgorithmIdentifier::decode(&expect(k.get(1), 0x30, "hashAlgorithm")?, quirks)?;
    let hash = hash_algorithm.hash_algorithm();
    if !hash_algorithm.parameters_absent_or_null() {
        quirks.push(Quirk::Other {
            name: "sod_hash_algorithm_parameters",
            detail: "the lds security object hash algorithm has parameters other than null".into(),
        });
    }
    let list = expect(k.get(2), 0x30, "dataGroupHashValues")?;
    let mut dg_hashes: Vec<DataGroupHash> = Vec::new();
    for d in ber_kids(&list, quirks)? {
        let dk = ber_kids(&expect(Some(&d), 0x30, "DataGroupHash")?, quirks)?;
        let n = int(&expect(dk.first(), 0x02, "dataGroupNumber")?)?;
        let number = u8::try_from(n)
            .ok()
            .filter(|n| (1..=16).contains(n))
            .ok_or(LdsError::Invalid {
                file: FILE,
                what: "data group number",
            })?;
        let value = octets(
            dk.get(1).ok_or(LdsError::Missing {
                file: FILE,
                what: "dataGroupHashValue",
            })?,
            "dataGroupHashValue",
            quirks,
            0,
        )?;
        if let Some(h) = hash
            && value.len() != h.output_len()
        {
            quirks.push(Quirk::Other {
                name: "sod_dg_hash_length",
                detail: format!(
                    "hash of DG{number} has {} bytes, {h:?} gives {}",
                    value.len(),
                    h.output_len()
                ),
            });
        }
        if dg_hashes.iter().any(|h| h.number == number) {
            quirks.push(Quirk::Other {
                name: "sod_duplicate_dg_hash",
                detail: format!("DG{number} is listed more than once; the first hash is used"),
            });
        }
        dg_hashes.push(DataGroupHash { number, hash: value });
    }
    let lds_version_info = match k.get(3) {
        Some(v) => {
            let vk = ber_kids(&expect(Some(v), 0x30, "LDSVersionInfo")?, quirks)?;
            Some(LdsVersionInfo {
                lds_version: printable(
                    vk.first().ok_or(LdsError::Missing {
                        file: FILE,
                        what: "ldsVersion",
                    })?,
                    quirks,
                )?,
                unicode_version: printable(
                    vk.get(1).ok_or(LdsError::Missing {
                        file: FILE,
                        what: "unicodeVersion",
                    })?,
                    quirks,
                )?,
            })
        }
        None => None,
    };
    match (version, lds_version_info.is_some()) {
        (0, false) | (1, true) => {}
        _ => quirks.push(Quirk::Other {
            name: "sod_version_info_mismatch",
            detail: format!(
                "lds security object v{version} {} lds version info",
                if lds_version_info.is_some() {
                    "with"
                } else {
                    "without"
                }
            ),
        }),
    }
    if k.len() > 4 {
        quirks.push(Quirk::UnknownTag {
            tag: k.get(4).map_or(0, |t| t.tag),
        });
    }
    Ok(LdsSecurityObject {
        version,
        hash_algorithm,
        dg_hashes,
        lds_version_info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids() {
        assert_eq!(
            oid_to_string(&[0x67, 0x81, 0x08, 0x01, 0x01, 0x01]).unwrap(),
            "2.23.136.1.1.1"
        );
        assert_eq!(
            oid_to_string(&[0x2B, 0x0E, 0x03, 0x02, 0x1A]).unwrap(),
            "1.3.14.3.2.26"
        );
        assert_eq!(oid_to_string(&[0x2B, 0x81]), None);
        assert_eq!(oid_to_string(&[]), None);
        assert_eq!(oid_to_string(&[0xFF; 20]), None);
    }

    #[test]
    fn digests() {
        assert_eq!(
            hex::encode(HashAlgorithm::Sha1.digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(HashAlgorithm::Sha256.digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        for h in [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha224,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            assert_eq!(h.digest(b"").len(), h.output_len());
            assert_eq!(HashAlgorithm::from_oid(h.oid()), Some(h));
        }
    }
}

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
//! Authentication's job). The CMS layer is read by [`crate::cms`], the one SignedData
//! walker of the crate: it keeps, byte for byte, what verification needs (the eContent
//! octets covered by the messageDigest attribute, the signed attributes as read, each
//! certificate and CRL, the signature). This module opens the `77` wrapper, checks the
//! eContentType and decodes the LDSSecurityObject from the eContent. BER is accepted
//! (indefinite lengths, constructed OCTET STRING) and reported as quirks; so are the
//! eContentTypes some issuers use instead of the ICAO one.

pub mod view;

use crate::asn1::der::{self as asn1, tag};
use crate::cms::{CmsError, CmsQuirk};
use crate::lds::error::LdsError;
use crate::lds::quirk::{self, Quirk};
use crate::tlv::{Reader, Tlv};

pub use crate::asn1::signature::PssParams;
pub use crate::asn1::{AlgorithmIdentifier, HashAlgorithm, Oid, oid_to_string};
pub use crate::cms::{SignedAttributes, SignedData, SignerIdentifier, SignerInfo};

const FILE: &str = "EF.SOD";

/// id-signedData (RFC 5652).
pub const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// id-icao-mrtd-security-ldsSecurityObject.
pub const OID_LDS_SECURITY_OBJECT: &str = "2.23.136.1.1.1";
/// Non-standard LDS security object OID seen in early French and Belgian passports.
pub const OID_LDS_SECURITY_OBJECT_ALT: &str = "1.3.27.1.1.1";
/// Non-standard LDS security object OID of SDU (Netherlands) test documents.
pub const OID_LDS_SECURITY_OBJECT_SDU: &str = "1.2.528.1.1006.1.20.1";
/// id-data (RFC 5652 §4): the eContentType of Chinese passports' EF.SOD.
pub const OID_DATA: &str = "1.2.840.113549.1.7.1";
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

/// RSASSA-PSS-params (RFC 4055 §3.1), defaults applied, OIDs dotted (for display).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PssParameters {
    /// Hash algorithm OID (default SHA-1).
    pub hash: String,
    /// Mask generation function OID (MGF1, the only one defined).
    pub mask_gen: String,
    /// MGF1's hash algorithm OID (default SHA-1).
    pub mgf1_hash: Option<String>,
    /// Salt length (default 20).
    pub salt_length: u64,
    /// Trailer field (1 = 0xBC, the only value allowed).
    pub trailer_field: u64,
}

impl From<PssParams> for PssParameters {
    fn from(p: PssParams) -> Self {
        PssParameters {
            hash: p.hash.oid().to_string(),
            mask_gen: OID_MGF1.to_owned(),
            mgf1_hash: Some(p.mgf1_hash.oid().to_string()),
            salt_length: u64::from(p.salt_len),
            trailer_field: u64::from(p.trailer_field),
        }
    }
}

impl PssParameters {
    /// Decode the parameters element of an RSASSA-PSS AlgorithmIdentifier (with the
    /// one PSS decoder, [`crate::asn1::signature::parse_pss_params`]).
    pub fn decode(params: &[u8]) -> Result<Self, LdsError> {
        crate::asn1::signature::parse_pss_params(Some(params))
            .map(PssParameters::from)
            .map_err(|e| LdsError::Other {
                file: FILE,
                what: "rsassa-pss parameters",
                source: Box::new(e),
            })
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

/// A decoded EF.SOD: the CMS layer as [`crate::cms`] read it, and the LDS security
/// object decoded from its eContent.
#[derive(Debug, Clone)]
pub struct Sod {
    /// The SignedData, exactly as the one CMS walker read it (original bytes kept).
    pub signed_data: SignedData,
    /// The LDS security object decoded from the eContent.
    pub lds_security_object: LdsSecurityObject,
    /// Tolerated deviations (BER forms, nonstandard eContentType, …).
    pub quirks: Vec<Quirk>,
    /// The file as read: the `77` element, without what followed it.
    pub raw: Vec<u8>,
}

impl Sod {
    /// SignedData version (3 in Doc 9303).
    pub fn signed_data_version(&self) -> u64 {
        self.signed_data.version
    }

    /// eContentType.
    pub fn econtent_type(&self) -> Oid {
        self.signed_data.econtent_type
    }

    /// The eContent octets as read (what the messageDigest attribute covers).
    pub fn econtent(&self) -> &[u8] {
        self.signed_data.econtent.as_deref().unwrap_or_default()
    }

    /// SignedData digestAlgorithms.
    pub fn digest_algorithms(&self) -> &[AlgorithmIdentifier] {
        &self.signed_data.digest_algorithms
    }

    /// Embedded certificates, each DER as read (the DSC in Doc 9303).
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.signed_data.certificates
    }

    /// Embedded CRLs, each as read.
    pub fn crls(&self) -> &[Vec<u8>] {
        &self.signed_data.crls
    }

    /// SignerInfos.
    pub fn signer_infos(&self) -> &[SignerInfo] {
        &self.signed_data.signer_infos
    }

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

fn push_unique(quirks: &mut Vec<Quirk>, q: Quirk) {
    // one quirk per kind is enough: a BER SOD often has dozens of indefinite lengths
    if !quirks.iter().any(|x| x.name() == q.name()) {
        quirks.push(q);
    }
}

/// The report form of a quirk the CMS layer tolerated.
pub fn cms_quirk(q: CmsQuirk) -> Quirk {
    let (name, detail) = match q {
        CmsQuirk::IndefiniteLength => (
            "ber_indefinite_length",
            "the CMS structure uses BER indefinite lengths (not DER)",
        ),
        CmsQuirk::NonMinimalLength => (
            "ber_non_minimal_length",
            "the CMS structure uses non-minimal BER lengths (not DER)",
        ),
        CmsQuirk::ConstructedEContent => (
            "ber_constructed_octet_string",
            "eContent is a constructed (BER) octet string",
        ),
        CmsQuirk::TrailingBytes => (
            "trailing_zero_padding",
            "zero bytes of padding after the ContentInfo",
        ),
        CmsQuirk::NonCertificateEntries => (
            "sod_non_x509_certificate_choice",
            "the certificates set holds entries that are not X.509 certificates (ignored)",
        ),
        CmsQuirk::KeyAlgorithmAsSignatureAlgorithm => (
            "key_algorithm_as_signature_algorithm",
            "the signer names a key algorithm as its signature algorithm",
        ),
        CmsQuirk::DigestAlgorithmMismatch => (
            "digest_algorithm_mismatch",
            "the signature algorithm names another hash than the digest algorithm",
        ),
    };
    Quirk::Other {
        name,
        detail: detail.to_owned(),
    }
}

impl Sod {
    /// Decode an EF.SOD file (`77 …`).
    pub fn decode(input: &[u8]) -> Result<Sod, LdsError> {
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, FILE, 0x77, &mut quirks)?;
        let signed_data = SignedData::parse(outer.value).map_err(cms_error)?;
        for q in &signed_data.quirks {
            push_unique(&mut quirks, cms_quirk(*q));
        }
        for signer in &signed_data.signer_infos {
            // the hash of the signatureAlgorithm vs the digestAlgorithm (Lithuanian EF.SODs)
            if let Ok((_, qs)) = signer.signature_algorithm() {
                for q in qs {
                    push_unique(&mut quirks, cms_quirk(q));
                }
            }
            // issuerAndSerialNumber naming the embedded DSC only under name matching
            // (Ukrainian EF.SODs: PrintableString where the certificate has UTF8String)
            if signed_data.signer_issuer_reencoded(signer) {
                push_unique(
                    &mut quirks,
                    Quirk::Other {
                        name: "sod_signer_issuer_reencoded",
                        detail: "the SignerInfo's issuerAndSerialNumber names the DSC's issuer with other \
                             bytes (string types, case or spacing) than the certificate; it matches \
                             under RFC 5280 section 7.1 name comparison"
                            .to_owned(),
                    },
                );
            }
        }
        let econtent_type = signed_data.econtent_type.to_string();
        match econtent_type.as_str() {
        OID_LDS_SECURITY_OBJECT => {}
        OID_LDS_SECURITY_OBJECT_ALT | OID_LDS_SECURITY_OBJECT_SDU => quirks.push(Quirk::Other {
            name: "nonstandard_lds_security_object_oid",
            detail: format!("eContentType {econtent_type} instead of {OID_LDS_SECURITY_OBJECT}"),
        }),
        // Chinese passports: the content is an LDSSecurityObject, typed as plain data
        OID_DATA => quirks.push(Quirk::Other {
            name: "sod_econtent_type_id_data",
            detail: format!(
                "eContentType id-data ({OID_DATA}) instead of id-icao-mrtd-security-ldsSecurityObject ({OID_LDS_SECURITY_OBJECT})"
            ),
        }),
        _ => {
            return Err(LdsError::Invalid {
                file: FILE,
                what: "eContentType (not an lds security object)",
            });
        }
    }
        let econtent = signed_data.econtent.as_deref().ok_or(LdsError::Missing {
            file: FILE,
            what: "eContent",
        })?;
        if signed_data.signer_infos.is_empty() {
            return Err(LdsError::Missing {
                file: FILE,
                what: "signer info",
            });
        }
        if signed_data.version != 3 {
            quirks.push(Quirk::Other {
                name: "sod_signed_data_version",
                detail: format!("SignedData version {} (doc 9303 requires 3)", signed_data.version),
            });
        }
        let lds_security_object = decode_lds_security_object(econtent, &mut quirks)?;
        Ok(Sod {
            signed_data,
            lds_security_object,
            quirks,
            raw: outer.raw.to_vec(),
        })
    }
}

fn cms_error(e: CmsError) -> LdsError {
    LdsError::Other {
        file: FILE,
        what: "cms signed data",
        source: Box::new(e),
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
        push_unique(quirks, q);
    }
}

fn expect<'a>(t: Option<&Tlv<'a>>, tag: u32, what: &'static str) -> Result<Tlv<'a>, LdsError> {
    quirk::expect(t, FILE, tag, what)
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

fn algorithm(t: &Tlv<'_>) -> Result<AlgorithmIdentifier, LdsError> {
    AlgorithmIdentifier::from_tlv(t).map_err(|e| LdsError::Other {
        file: FILE,
        what: "algorithm identifier",
        source: Box::new(e),
    })
}

fn octets(t: &Tlv<'_>, what: &'static str, quirks: &mut Vec<Quirk>) -> Result<Vec<u8>, LdsError> {
    if t.tag == tag::OCTET_STRING_CONSTRUCTED {
        push_unique(
            quirks,
            Quirk::Other {
                name: "ber_constructed_octet_string",
                detail: format!("{what} is a constructed (BER) octet string"),
            },
        );
    }
    asn1::octet_string(t, what)
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| LdsError::Other {
            file: FILE,
            what,
            source: Box::new(e),
        })
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
    let hash_algorithm = algorithm(&expect(k.get(1), 0x30, "hashAlgorithm")?)?;
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
        // two hashes for one DG: which one the verifier would compare is a choice an
        // attacker could exploit; a genuine security object never does this
        if dg_hashes.iter().any(|h| h.number == number) {
            return Err(LdsError::Invalid {
                file: FILE,
                what: "dataGroupHashValues: a data group is listed twice",
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
    use crate::cms::SignedDataBuilder;
    use crate::tlv;

    fn lso(hashes: &[(u8, [u8; 32])]) -> Vec<u8> {
        let alg = AlgorithmIdentifier {
            oid: HashAlgorithm::Sha256.oid(),
            parameters: None,
        };
        let list: Vec<u8> = hashes
            .iter()
            .flat_map(|(n, h)| {
                asn1::encode_seq(&[&asn1::encode_small_uint(u64::from(*n)), &tlv::encode(0x04, h)])
            })
            .collect();
        asn1::encode_seq(&[
            &asn1::encode_small_uint(0),
            &alg.to_der(),
            &tlv::encode(tag::SEQUENCE, &list),
        ])
    }

    /// An EF.SOD whose LDS security object lists `hashes` under `econtent_type`, decoded.
    fn decode_sod(econtent_type: &str, hashes: &[(u8, [u8; 32])]) -> Result<Sod, LdsError> {
        let econtent = lso(hashes);
        let digest = AlgorithmIdentifier {
            oid: HashAlgorithm::Sha256.oid(),
            parameters: None,
        };
        let ect = Oid::new_unwrap(econtent_type);
        let attrs = crate::cms::encode_signed_attrs(&ect, &HashAlgorithm::Sha256.digest(&econtent), None);
        let signer = asn1::encode_seq(&[
            &asn1::encode_small_uint(3),
            &tlv::encode(0x80, &[1, 2, 3]),
            &digest.to_der(),
            &attrs,
            &digest.to_der(),
            &tlv::encode(0x04, &[0; 8]),
        ]);
        let cms = SignedDataBuilder {
            digest_algorithms: vec![digest.to_der()],
            econtent_type: Some(ect),
            econtent,
            signer_infos: vec![signer],
            ..Default::default()
        }
        .to_der();
        Sod::decode(&tlv::encode(0x77, &cms))
    }

    #[test]
    fn decodes_through_the_one_cms_walker() {
        let s = decode_sod(OID_LDS_SECURITY_OBJECT, &[(1, [1; 32]), (2, [2; 32])]).unwrap();
        assert!(s.quirks.is_empty(), "{:?}", s.quirks);
        assert_eq!(s.dg_numbers(), [1, 2]);
        assert_eq!(s.dg_hash(2), Some(&[2u8; 32][..]));
        assert_eq!(s.hash_algorithm().unwrap(), HashAlgorithm::Sha256);
        assert_eq!(s.signed_data_version(), 3);
        assert_eq!(s.econtent(), lso(&[(1, [1; 32]), (2, [2; 32])]).as_slice());
        s.signed_data.check_message_digest(&s.signer_infos()[0]).unwrap();
    }

    #[test]
    fn duplicate_dg_hash_is_refused() {
        let e = decode_sod(OID_LDS_SECURITY_OBJECT, &[(1, [1; 32]), (1, [9; 32])]).unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
    }

    #[test]
    fn chinese_id_data_econtent_type_is_a_named_quirk() {
        let s = decode_sod(OID_DATA, &[(1, [1; 32]), (2, [2; 32])]).unwrap();
        let names: Vec<&str> = s.quirks.iter().map(Quirk::name).collect();
        assert_eq!(names, ["sod_econtent_type_id_data"]);
        assert_eq!(s.econtent_type().to_string(), OID_DATA);
        // the contentType attribute names id-data too: consistent, so the digest check holds
        s.signed_data.check_message_digest(&s.signer_infos()[0]).unwrap();
    }

    #[test]
    fn other_econtent_types_are_refused() {
        let e = decode_sod("1.2.3.4", &[(1, [1; 32])]).unwrap_err();
        assert!(e.to_string().contains("eContentType"), "{e}");
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
            assert_eq!(HashAlgorithm::from_oid(&h.oid()), Some(h));
        }
    }
}

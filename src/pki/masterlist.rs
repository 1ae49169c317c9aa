//! CSCA master lists (Doc 9303 Part 12 §8.1) and deviation lists (Doc 9303 Part 12
//! §8.2 / ICAO PKD DL), both CMS SignedData.
//!
//! ```text
//! CscaMasterList ::= SEQUENCE {
//!     version   CscaMasterListVersion,   -- v0(0)
//!     certList  SET OF Certificate }
//!
//! DeviationList ::= SEQUENCE {
//!     version     INTEGER { v0(0) },
//!     digestAlg   AlgorithmIdentifier OPTIONAL,
//!     deviations  SET OF Deviation }
//! Deviation ::= SEQUENCE {
//!     documents     DeviationDocuments,
//!     descriptions  SET OF DeviationDescription }
//! DeviationDocuments ::= SEQUENCE {
//!     documentType    [0] PrintableString OPTIONAL,
//!     dscIdentifier   [1] CertificateIdentifier OPTIONAL,
//!     issuingDate     [2] IssuancePeriod OPTIONAL,
//!     documentNumbers [3] SET OF DocumentNumberOrRange OPTIONAL }
//! DeviationDescription ::= SEQUENCE {
//!     description    PrintableString OPTIONAL,
//!     deviationType  OBJECT IDENTIFIER,
//!     parameters     [0] ANY OPTIONAL,
//!     nationalUse    [1] ANY OPTIONAL }
//! ```
//!
//! The older BSI TR-03129 form (`SignerDeviation ::= SEQUENCE { signerIdentifier
//! CertificateIdentifier, defects SET OF Defect }`) has the same shape and is read too.
//!
//! Master lists can be large (the ICAO PKD's is over 100 MB with tens of thousands of
//! certificates). Reading one costs memory proportional to the file, not to its
//! certificates: [`MasterList::parse`] reads the CMS layer and the CscaMasterList
//! header only; [`MasterList::verify_signature`] checks the CMS signature over the
//! eContent first, and [`MasterList::certificates`] then walks the certList one
//! certificate at a time, as slices of the eContent (nothing is parsed ahead).

use std::borrow::Cow;
use std::ops::Range;

use thiserror::Error;

use crate::cms::asn1::{self, Asn1Error, tag};
use crate::cms::{self, CmsError, Oid, SignedData, SignerIdentifier};
use crate::pki::cert::Certificate;
use crate::tlv::{self, Tlv};

/// Why a list could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ListError {
    /// The CMS wrapper is malformed.
    #[error("cms")]
    Cms(#[from] CmsError),
    /// The content is malformed.
    #[error("list content")]
    Content(#[from] Asn1Error),
    /// The CMS holds another content type.
    #[error("content type {found} is not {expected}")]
    WrongContentType {
        /// What the list should contain.
        expected: &'static str,
        /// What it does contain.
        found: Oid,
    },
    /// No eContent.
    #[error("list has no content")]
    NoContent,
    /// The list has no SignerInfo.
    #[error("list has no signer")]
    NoSigner,
    /// The signer's certificate is not in the SignedData's certificates set.
    #[error("the list's signer certificate is not embedded in it")]
    SignerNotEmbedded,
    /// The CMS signature over the eContent does not verify.
    #[error("signature does not verify")]
    Signature(#[source] CmsError),
}

impl From<tlv::TlvError> for ListError {
    fn from(e: tlv::TlvError) -> Self {
        ListError::Content(e.into())
    }
}

/// A CSCA master list: the CMS layer read, the certificates left in place.
#[derive(Debug, Clone)]
pub struct MasterList {
    /// The CMS wrapper (signer, signer certificates, signature, eContent).
    pub signed_data: SignedData,
    /// CscaMasterList version.
    pub version: u64,
    /// Where the certList SET's content lies in the eContent.
    cert_list: Range<usize>,
}

impl MasterList {
    /// Parse a master list file (a ContentInfo with eContentType id-icao-cscaMasterList):
    /// the CMS layer and the CscaMasterList header. The certificates are not parsed
    /// here; see [`MasterList::certificates`].
    pub fn parse(bytes: &[u8]) -> Result<Self, ListError> {
        Self::from_signed_data(SignedData::parse(bytes)?)
    }

    /// [`MasterList::parse`] for a SignedData already read (no second copy of the
    /// eContent).
    pub fn from_signed_data(signed_data: SignedData) -> Result<Self, ListError> {
        let (content, mut r, version) = list_header(
            &signed_data,
            crate::asn1::oid::ICAO_CSCA_MASTER_LIST,
            "id-icao-cscaMasterList",
            "CscaMasterList",
        )?;
        let set = asn1::next(&mut r, tag::SET, "certList")?;
        if !r.is_empty() {
            return Err(Asn1Error::Trailing {
                field: "CscaMasterList",
            }
            .into());
        }
        let cert_list = subslice_range(content, set.value).ok_or(Asn1Error::Missing { field: "certList" })?;
        Ok(MasterList {
            signed_data,
            version,
            cert_list,
        })
    }

    /// The signer's certificate from the SignedData's certificates set (parsed once for
    /// every use, [`crate::cms::SignedData::signer_certificate`]).
    pub fn signer_certificate(&self) -> Result<Cow<'_, Certificate>, ListError> {
        let signer = self.signed_data.signer_infos.first().ok_or(ListError::NoSigner)?;
        self.signed_data
            .signer_certificate(signer)
            .ok_or(ListError::SignerNotEmbedded)
    }

    /// Check the CMS signature over the eContent with the signer certificate embedded
    /// in the SignedData (messageDigest, contentType, then the signature): before any
    /// listed certificate is parsed. Returns the signer certificate. Whether that signer
    /// is trusted is the caller's question (it must chain to an anchor).
    pub fn verify_signature(&self) -> Result<Cow<'_, Certificate>, ListError> {
        let signer = self.signed_data.signer_infos.first().ok_or(ListError::NoSigner)?;
        let cert = self.signer_certificate()?;
        cms::verify_signer_with_certificate(&self.signed_data, signer, &cert)
            .map_err(ListError::Signature)?;
        Ok(cert)
    }

    /// The listed certificates, one at a time, each the original DER as a slice of the
    /// eContent (in encoded order). An element that does not parse as a TLV ends the
    /// walk with an error.
    pub fn certificates(&self) -> Certificates<'_> {
        let content = self.signed_data.econtent.as_deref().unwrap_or_default();
        Certificates {
            reader: tlv::Reader::new_ber(content.get(self.cert_list.clone()).unwrap_or_default()),
            failed: false,
        }
    }

    /// How many certificates the list holds (a walk over their headers).
    pub fn certificate_count(&self) -> usize {
        self.certificates().count()
    }
}

/// Iterator over a master list's certificates ([`MasterList::certificates`]).
#[derive(Debug, Clone)]
pub struct Certificates<'a> {
    reader: tlv::Reader<'a>,
    failed: bool,
}

impl<'a> Iterator for Certificates<'a> {
    type Item = Result<&'a [u8], Asn1Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.reader.is_empty() {
            return None;
        }
        match self.reader.read() {
            Ok(t) => Some(Ok(t.raw)),
            Err(e) => {
                self.failed = true;
                Some(Err(e.into()))
            }
        }
    }
}

/// The range `inner` occupies inside `outer` (both slices of the same buffer).
fn subslice_range(outer: &[u8], inner: &[u8]) -> Option<Range<usize>> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start.checked_add(inner.len())?;
    (end <= outer.len()).then_some(start..end)
}

/// Which documents or certificate a deviation is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviationTarget {
    /// documentType (e.g. `P`).
    pub document_type: Option<String>,
    /// The DSC (or signer) concerned.
    pub certificate: Option<SignerIdentifier>,
}

/// One described deviation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviationDescription {
    /// Free text.
    pub description: Option<String>,
    /// deviationType / defectType OID.
    pub deviation_type: Oid,
    /// The parameters' encoding.
    pub parameters: Option<Vec<u8>>,
}

/// One entry of a deviation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// What it is about.
    pub target: DeviationTarget,
    /// What deviates.
    pub descriptions: Vec<DeviationDescription>,
}

/// A parsed deviation list.
#[derive(Debug, Clone)]
pub struct DeviationList {
    /// The CMS wrapper.
    pub signed_data: SignedData,
    /// Version.
    pub version: u64,
    /// Entries.
    pub deviations: Vec<Deviation>,
}

impl DeviationList {
    /// Parse a deviation list file (eContentType id-icao-DeviationList).
    pub fn parse(bytes: &[u8]) -> Result<Self, ListError> {
        let signed_data = SignedData::parse(bytes)?;
        let (_, mut r, version) = list_header(
            &signed_data,
            crate::asn1::oid::ICAO_DEVIATION_LIST,
            "id-icao-DeviationList",
            "DeviationList",
        )?;
        let _digest_alg = asn1::optional(&mut r, tag::SEQUENCE)?;
        let set = asn1::next(&mut r, tag::SET, "deviations")?;
        let mut deviations = Vec::new();
        for d in set.children_ber() {
            deviations.push(parse_deviation(&d?)?);
        }
        Ok(DeviationList {
            signed_data,
            version,
            deviations,
        })
    }
}

/// The header both list kinds share: the eContentType must be `oid` (`expected` names
/// it), the eContent a SEQUENCE (`structure`) that opens with an INTEGER version.
/// Returns the eContent, a reader over the SEQUENCE's remaining fields and the version.
fn list_header<'a>(
    signed_data: &'a SignedData,
    oid: Oid,
    expected: &'static str,
    structure: &'static str,
) -> Result<(&'a [u8], tlv::Reader<'a>, u64), ListError> {
    if signed_data.econtent_type != oid {
        return Err(ListError::WrongContentType {
            expected,
            found: signed_data.econtent_type,
        });
    }
    let content = signed_data.econtent.as_deref().ok_or(ListError::NoContent)?;
    let seq = tlv::parse_ber(content)?;
    asn1::expect_tag(&seq, tag::SEQUENCE, structure)?;
    let mut r = seq.children_ber();
    let version = asn1::small_uint(&asn1::next(&mut r, tag::INTEGER, "version")?, "version")?;
    Ok((content, r, version))
}

fn certificate_identifier(t: &Tlv<'_>) -> Result<Option<SignerIdentifier>, Asn1Error> {
    match t.tag {
        tag::SEQUENCE => {
            let mut r = t.children_ber();
            let issuer = asn1::next(&mut r, tag::SEQUENCE, "issuer")?;
            let serial =
                asn1::integer_bytes(&asn1::next(&mut r, tag::INTEGER, "serialNumber")?, "serialNumber")?;
            Ok(Some(SignerIdentifier::IssuerAndSerialNumber {
                issuer: issuer.raw.to_vec(),
                serial: serial.to_vec(),
            }))
        }
        0x80 => Ok(Some(SignerIdentifier::SubjectKeyIdentifier(t.value.to_vec()))),
        // [0] EXPLICIT OCTET STRING
        0xA0 => {
            let inner = tlv::parse_ber(t.value)?;
            Ok(Some(SignerIdentifier::SubjectKeyIdentifier(
                asn1::octet_string(&inner, "subjectKeyIdentifier")?.into_owned(),
            )))
        }
        _ => Ok(None),
    }
}

fn parse_deviation(t: &Tlv<'_>) -> Result<Deviation, Asn1Error> {
    asn1::expect_tag(t, tag::SEQUENCE, "Deviation")?;
    let mut r = t.children_ber();
    let first = asn1::next_any(&mut r, "documents")?;
    let mut target = DeviationTarget::default();
    // DeviationDocuments: a SEQUENCE of context-tagged fields; the TR-03129 form has a
    // CertificateIdentifier directly
    let tagged = first.tag == tag::SEQUENCE
        && asn1::peek_tag(&first.children_ber()).is_some_and(|t| (0x80..=0xBF).contains(&t));
    if tagged || (first.tag == tag::SEQUENCE && first.value.is_empty()) {
        for f in first.children_ber() {
            let f = f?;
            match f.tag {
                0x80 => target.document_type = Some(String::from_utf8_lossy(f.value).into_owned()),
                0xA0 => {
                    let inner = tlv::parse_ber(f.value)?;
                    target.document_type = asn1::directory_string(&inner);
                }
                0xA1 => {
                    let inner = tlv::parse_ber(f.value)?;
                    target.certificate = certificate_identifier(&inner)?;
                }
                _ => {}
            }
        }
    } else {
        target.certificate = certificate_identifier(&first)?;
    }
    let set = asn1::next(&mut r, tag::SET, "descriptions")?;
    let mut descriptions = Vec::new();
    for d in set.children_ber() {
        let d = d?;
        asn1::expect_tag(&d, tag::SEQUENCE, "DeviationDescription")?;
        let mut dr = d.children_ber();
        let mut description = None;
        let mut deviation_type = None;
        let mut parameters = None;
        while !dr.is_empty() {
            let f = dr.read()?;
            match f.tag {
                tag::OID if deviation_type.is_none() => {
                    deviation_type = Some(asn1::oid(&f, "deviationType")?)
                }
                _ if deviation_type.is_none() => description = asn1::directory_string(&f),
                _ if parameters.is_none() => parameters = Some(f.raw.to_vec()),
                _ => {}
            }
        }
        descriptions.push(DeviationDescription {
            description,
            deviation_type: deviation_type.ok_or(Asn1Error::Missing {
                field: "deviationType",
            })?,
            parameters,
        });
    }
    Ok(Deviation { target, descriptions })
}

/// Encode a CscaMasterList eContent (fixture generator).
pub fn encode_master_list_content(certs: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = certs.to_vec();
    sorted.sort();
    asn1::encode_seq(&[
        &asn1::encode_small_uint(0),
        &tlv::encode(tag::SET, &sorted.concat()),
    ])
}

/// Encode a DeviationList eContent with one deviation per (DSC issuer+serial,
/// deviation type, description) (fixture generator).
pub fn encode_deviation_list_content(entries: &[(Vec<u8>, Vec<u8>, Oid, String)]) -> Vec<u8> {
    let mut devs: Vec<Vec<u8>> = entries
        .iter()
        .map(|(issuer, serial, ty, text)| {
            let ias = asn1::encode_seq(&[issuer, &asn1::encode_uint(serial)]);
            let docs = asn1::encode_seq(&[&tlv::encode(0xA1, &ias)]);
            let desc = asn1::encode_seq(&[
                &tlv::encode(tag::PRINTABLE_STRING, text.as_bytes()),
                &asn1::encode_oid(ty),
            ]);
            asn1::encode_seq(&[&docs, &tlv::encode(tag::SET, &desc)])
        })
        .collect();
    devs.sort();
    asn1::encode_seq(&[
        &asn1::encode_small_uint(0),
        &tlv::encode(tag::SET, &devs.concat()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deviation_content_roundtrip() {
        let issuer = asn1::encode_seq(&[]);
        let ty = Oid::new_unwrap("2.23.136.1.1.7.1.1");
        let content = encode_deviation_list_content(&[(issuer.clone(), vec![5], ty, "bad DG hash".into())]);
        let seq = tlv::parse(&content).unwrap();
        let mut r = seq.children();
        r.read().unwrap();
        let set = r.read().unwrap();
        let d = parse_deviation(&set.children().read().unwrap()).unwrap();
        assert_eq!(d.descriptions[0].deviation_type, ty);
        assert_eq!(d.descriptions[0].description.as_deref(), Some("bad DG hash"));
        assert_eq!(
            d.target.certificate,
            Some(SignerIdentifier::IssuerAndSerialNumber {
                issuer,
                serial: vec![5]
            })
        );
    }
}

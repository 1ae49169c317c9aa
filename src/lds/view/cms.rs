//! CMS SignedData summaries (RFC 5652 §5) for EF.SOD, EF.CardSecurity, CSCA master
//! lists (Doc 9303 Part 12 §9), deviation lists and other signed data.
//!
//! Views only (what `inspect` shows; serde gives `inspect --json`): the CMS structure
//! is read by [`crate::cms::SignedData::parse`], the one
//! SignedData walker of the crate (BER accepted, quirks reported); nothing is verified
//! here (that is the verifier's job) and nothing hashed.

use super::Node;
use super::oid::oid_label;
use super::x509::{Algorithm, CertEntry, CrlEntry, PssView, name_string};
use crate::cms::{self, SignedData, SignerIdentifier, SignerInfo};
use crate::lds::quirk::Quirk;
use crate::lds::sod::OID_RSASSA_PSS;
use crate::tlv;

/// How a signer names its certificate.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SidView {
    /// issuerAndSerialNumber.
    IssuerAndSerialNumber {
        /// Issuer, RFC 4514 (hex when unreadable).
        issuer: String,
        /// Serial number, hex.
        serial: String,
    },
    /// subjectKeyIdentifier.
    SubjectKeyIdentifier {
        /// The key identifier, hex.
        ski: String,
    },
}

/// A signed attribute.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AttributeView {
    /// Dotted OID.
    pub oid: String,
    /// Name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A SignerInfo.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignerView {
    /// 1 or 3.
    pub version: i64,
    /// Signer identifier.
    pub sid: SidView,
    /// Index of the embedded certificate the identifier names, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<usize>,
    /// digestAlgorithm.
    pub digest_algorithm: Algorithm,
    /// signatureAlgorithm.
    pub signature_algorithm: Algorithm,
    /// RSASSA-PSS parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pss: Option<PssView>,
    /// Signed attributes present (in the order read).
    pub signed_attributes: Vec<AttributeView>,
    /// contentType attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// messageDigest attribute, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_digest: Option<String>,
    /// signingTime as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_time: Option<String>,
    /// signingTime as RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_time_utc: Option<String>,
    /// Size of the signature.
    pub signature_size: usize,
    /// The signature, hex.
    pub signature: String,
    /// Unsigned attributes present.
    pub unsigned_attributes: bool,
}

/// UTCTime (`YYMMDDhhmm[ss]Z`) or GeneralizedTime (`YYYYMMDDhhmmss[.f]Z`) as RFC 3339.
pub fn asn1_time_to_rfc3339(s: &str) -> Option<String> {
    let z = s.strip_suffix('Z')?;
    let z = z.split_once('.').map_or(z, |(a, _)| a);
    if !z.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match z.len() {
        10 | 12 => {
            let yy: u32 = z.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, z.get(2..)?)
        }
        14 => (z.get(..4)?.parse().ok()?, z.get(4..)?),
        _ => return None,
    };
    let part = |r: std::ops::Range<usize>| rest.get(r).unwrap_or("00");
    Some(format!(
        "{year:04}-{}-{}T{}:{}:{}Z",
        part(0..2),
        part(2..4),
        part(4..6),
        part(6..8),
        part(8..10)
    ))
}

fn attribute_views(attrs: &[cms::Attribute]) -> Vec<AttributeView> {
    attrs
        .iter()
        .map(|a| {
            let oid = a.oid.to_string();
            AttributeView {
                name: super::oid::oid_name_any(&oid),
                oid,
            }
        })
        .collect()
}

fn pss_of(alg: &Algorithm, params: Option<&[u8]>) -> Option<PssView> {
    (alg.oid == OID_RSASSA_PSS)
        .then(|| params.and_then(|p| PssView::decode(p).ok()))
        .flatten()
}

/// Index of the certificate a signer identifier names.
fn find_certificate(sid: &SidView, certs: &[CertEntry]) -> Option<usize> {
    certs.iter().position(|c| match (c, sid) {
        (CertEntry::Ok(c), SidView::IssuerAndSerialNumber { issuer, serial }) => {
            c.issuer == *issuer && c.serial == *serial
        }
        (CertEntry::Ok(c), SidView::SubjectKeyIdentifier { ski }) => {
            c.subject_key_identifier.as_deref() == Some(ski.as_str())
        }
        _ => false,
    })
}

fn sid_view(issuer_der: &[u8], serial: &[u8]) -> SidView {
    SidView::IssuerAndSerialNumber {
        issuer: name_string(issuer_der).unwrap_or_else(|| hex::encode_upper(issuer_der)),
        serial: hex::encode_upper(serial),
    }
}

impl SignerView {
    /// From a SignerInfo as [`crate::cms`] read it.
    pub fn from_signer(s: &SignerInfo, certs: &[CertEntry]) -> Self {
        let sid = match &s.sid {
            SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => sid_view(issuer, serial),
            SignerIdentifier::SubjectKeyIdentifier(k) => SidView::SubjectKeyIdentifier {
                ski: hex::encode_upper(k),
            },
        };
        let a = s.signed_attrs.as_ref();
        // signingTime as written (UTCTime or GeneralizedTime text)
        let signing_time = a
            .and_then(|a| a.get(&crate::asn1::oid::SIGNING_TIME))
            .and_then(|attr| attr.values.first())
            .and_then(|v| tlv::parse_ber(v).ok())
            .map(|t| String::from_utf8_lossy(t.value).into_owned());
        let digest_algorithm = Algorithm::new(
            &s.digest_algorithm.oid.to_string(),
            s.digest_algorithm.parameters.as_deref(),
        );
        let signature_algorithm = Algorithm::new(
            &s.signature_algorithm.oid.to_string(),
            s.signature_algorithm.parameters.as_deref(),
        );
        SignerView {
            version: i64::try_from(s.version).unwrap_or(i64::MAX),
            certificate: find_certificate(&sid, certs),
            sid,
            pss: pss_of(&signature_algorithm, s.signature_algorithm.parameters.as_deref()),
            digest_algorithm,
            signature_algorithm,
            signed_attributes: a.map(|a| attribute_views(&a.attributes)).unwrap_or_default(),
            content_type: a.and_then(|a| a.content_type).map(|o| oid_label(&o.to_string())),
            message_digest: a.and_then(|a| a.message_digest.as_deref()).map(hex::encode_upper),
            signing_time_utc: signing_time.as_deref().and_then(asn1_time_to_rfc3339),
            signing_time,
            signature_size: s.signature.len(),
            signature: hex::encode_upper(&s.signature),
            unsigned_attributes: s.unsigned_attrs.is_some(),
        }
    }

    /// Text tree.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = vec![Node::field("version", self.version)];
        match &self.sid {
            SidView::IssuerAndSerialNumber { issuer, serial } => n.push(
                Node::new("sid: issuerAndSerialNumber")
                    .with(vec![Node::field("issuer", issuer), Node::field("serial", serial)]),
            ),
            SidView::SubjectKeyIdentifier { ski } => n.push(Node::field("sid: subjectKeyIdentifier", ski)),
        }
        n.push(Node::field(
            "signer certificate",
            self.certificate.map_or_else(
                || "not embedded".to_owned(),
                |i| format!("embedded certificate {}", i + 1),
            ),
        ));
        n.push(Node::field("digest algorithm", self.digest_algorithm.label()));
        n.push(Node::field(
            "signature algorithm",
            self.signature_algorithm.label(),
        ));
        if let Some(p) = &self.pss {
            n.push(Node::field("PSS parameters", p.line()));
        }
        let attrs = self
            .signed_attributes
            .iter()
            .map(|a| {
                Node::new(
                    a.name
                        .as_ref()
                        .map_or_else(|| a.oid.clone(), |nm| format!("{nm} ({})", a.oid)),
                )
            })
            .collect();
        n.push(Node::new("signed attributes").with(attrs));
        if let Some(c) = &self.content_type {
            n.push(Node::field("content type", c));
        }
        if let Some(d) = &self.message_digest {
            n.push(Node::field("message digest", d));
        }
        if let Some(t) = &self.signing_time {
            n.push(Node::field(
                "signing time",
                match &self.signing_time_utc {
                    Some(u) => format!("{u} ({t})"),
                    None => t.clone(),
                },
            ));
        }
        n.push(Node::field("signature", format!("{} bytes", self.signature_size)));
        if self.unsigned_attributes {
            n.push(Node::field("unsigned attributes", "present"));
        }
        n
    }
}

/// A SignedData walked for display.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignedDataView {
    /// SignedData version.
    pub version: i64,
    /// digestAlgorithms.
    pub digest_algorithms: Vec<Algorithm>,
    /// eContentType.
    pub econtent_type: Algorithm,
    /// eContent size.
    pub econtent_size: usize,
    /// Embedded certificates.
    pub certificates: Vec<CertEntry>,
    /// Embedded CRLs.
    pub crls: Vec<CrlEntry>,
    /// Signer infos.
    pub signer_infos: Vec<SignerView>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
    /// The eContent octets (for the kind-specific decoders).
    #[serde(skip)]
    pub econtent: Vec<u8>,
}

impl SignedDataView {
    /// Read a ContentInfo holding a SignedData with [`crate::cms::SignedData::parse`]
    /// (an EF.SOD's `77` wrapper is opened first).
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut quirks = Vec::new();
        let outer = tlv::parse_ber(bytes).map_err(|e| format!("malformed TLV: {e}"))?;
        quirks.extend(crate::lds::quirk::trailing_quirk(
            bytes.get(outer.raw.len()..).unwrap_or_default(),
        ));
        let content = if outer.tag == 0x77 {
            quirks.extend(crate::lds::quirk::length_quirk(&outer));
            outer.value
        } else {
            outer.raw
        };
        let sd = SignedData::parse(content).map_err(|e| crate::error::text(&e))?;
        for q in &sd.quirks {
            let q = crate::lds::sod::cms_quirk(*q);
            if !quirks.iter().any(|y| y.name() == q.name()) {
                quirks.push(q);
            }
        }
        Ok(Self::from_signed_data(sd, quirks))
    }

    /// The view of a SignedData already read, with the quirks found around it.
    pub fn from_signed_data(sd: SignedData, quirks: Vec<Quirk>) -> Self {
        let certificates: Vec<CertEntry> = sd.certificates.iter().map(|c| CertEntry::decode(c)).collect();
        let crls: Vec<CrlEntry> = sd.crls.iter().map(|c| CrlEntry::decode(c)).collect();
        let signer_infos = sd
            .signer_infos
            .iter()
            .map(|s| SignerView::from_signer(s, &certificates))
            .collect();
        let econtent = sd.econtent.unwrap_or_default();
        SignedDataView {
            version: i64::try_from(sd.version).unwrap_or(i64::MAX),
            digest_algorithms: sd
                .digest_algorithms
                .iter()
                .map(|a| Algorithm::new(&a.oid.to_string(), a.parameters.as_deref()))
                .collect(),
            econtent_type: Algorithm::new(&sd.econtent_type.to_string(), None),
            econtent_size: econtent.len(),
            certificates,
            crls,
            signer_infos,
            quirks,
            econtent,
        }
    }

    /// Text tree of the CMS layer.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = signed_data_header(self.version, &self.digest_algorithms, &self.econtent_type);
        n.push(Node::field("eContent", format!("{} bytes", self.econtent_size)));
        n.extend(signers_and_certs(
            &self.signer_infos,
            &self.certificates,
            &self.crls,
        ));
        n
    }
}

/// The first lines of a SignedData as text: version, digestAlgorithms, eContentType.
pub fn signed_data_header(version: i64, digests: &[Algorithm], econtent_type: &Algorithm) -> Vec<Node> {
    let digests: Vec<String> = digests.iter().map(Algorithm::label).collect();
    vec![
        Node::field("SignedData version", version),
        Node::field("digest algorithms", digests.join(", ")),
        Node::field("eContentType", econtent_type.label()),
    ]
}

/// Signer infos, embedded certificates and CRLs as text.
pub fn signers_and_certs(signers: &[SignerView], certs: &[CertEntry], crls: &[CrlEntry]) -> Vec<Node> {
    let mut n = Vec::new();
    for (i, s) in signers.iter().enumerate() {
        n.push(Node::new(format!("signer info {}", i + 1)).with(s.nodes()));
    }
    for (i, c) in certs.iter().enumerate() {
        n.push(cert_node(&format!("certificate {}", i + 1), c));
    }
    for (i, c) in crls.iter().enumerate() {
        match c {
            CrlEntry::Ok(v) => n.push(Node::new(format!("CRL {}", i + 1)).with(v.nodes())),
            CrlEntry::Err { size, error } => n.push(Node::field(
                &format!("CRL {}", i + 1),
                format!("{size} bytes, not decodable: {error}"),
            )),
        }
    }
    n
}

/// A certificate entry as text, with its quirks.
pub fn cert_node(label: &str, c: &CertEntry) -> Node {
    match c {
        CertEntry::Ok(v) => {
            let mut kids = v.nodes();
            for q in &v.quirks {
                kids.push(Node::new(format!("warning: {}: {q}", q.name())));
            }
            Node::new(label).with(kids)
        }
        CertEntry::Err { size, sha256, error } => Node::field(
            label,
            format!("{size} bytes, sha256 {sha256}, not decodable: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn1_times() {
        assert_eq!(
            asn1_time_to_rfc3339("131216214318Z").as_deref(),
            Some("2013-12-16T21:43:18Z")
        );
        assert_eq!(
            asn1_time_to_rfc3339("20501216214318Z").as_deref(),
            Some("2050-12-16T21:43:18Z")
        );
        assert_eq!(
            asn1_time_to_rfc3339("9912312359Z").as_deref(),
            Some("1999-12-31T23:59:00Z")
        );
        assert_eq!(asn1_time_to_rfc3339("garbage"), None);
    }
}

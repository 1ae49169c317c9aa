//! CMS SignedData summaries (RFC 5652 §5) for EF.SOD, EF.CardSecurity, CSCA master
//! lists (Doc 9303 Part 12 §9), deviation lists and other signed data.
//!
//! A display walk only: BER accepted, nothing verified (that is the verifier's job),
//! nothing hashed. EF.SOD's signer infos come from `crate::lds::sod`; the other kinds
//! are walked here with the same output type ([`SignerView`]) until a shared CMS
//! module takes this over.

use super::text::Node;
use super::tree::oid_label;
use super::x509::{Algorithm, CertEntry, CrlEntry, PssView, name_string};
use crate::lds::quirk::Quirk;
use crate::lds::sod::{self, OID_RSASSA_PSS, SignerIdentifier};
use crate::tlv::{self, Tlv};

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

fn attribute_views(attrs: &[(String, Vec<u8>)]) -> Vec<AttributeView> {
    attrs
        .iter()
        .map(|(oid, _)| AttributeView {
            name: super::tree::oid_name_any(oid),
            oid: oid.clone(),
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
    /// From an EF.SOD signer info.
    pub fn from_sod(s: &sod::SignerInfo, certs: &[CertEntry]) -> Self {
        let sid = match &s.sid {
            SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => sid_view(issuer, serial),
            SignerIdentifier::SubjectKeyIdentifier(k) => SidView::SubjectKeyIdentifier {
                ski: hex::encode_upper(k),
            },
        };
        let a = s.signed_attrs.as_ref();
        let signing_time = a.and_then(|a| a.signing_time.clone());
        SignerView {
            version: s.version,
            certificate: find_certificate(&sid, certs),
            sid,
            digest_algorithm: Algorithm::new(
                &s.digest_algorithm.oid,
                s.digest_algorithm.parameters.as_deref(),
            ),
            signature_algorithm: Algorithm::new(
                &s.signature_algorithm.oid,
                s.signature_algorithm.parameters.as_deref(),
            ),
            pss: s.pss.as_ref().map(PssView::from),
            signed_attributes: a.map(|a| attribute_views(&a.attributes)).unwrap_or_default(),
            content_type: a.and_then(|a| a.content_type.as_deref()).map(oid_label),
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

fn kids<'a>(t: &Tlv<'a>, quirks: &mut Vec<Quirk>) -> Result<Vec<Tlv<'a>>, String> {
    let k = t
        .children_ber()
        .read_all()
        .map_err(|e| format!("malformed element {:02X}: {e}", t.tag))?;
    for x in &k {
        if let Some(q) = crate::lds::quirk::length_quirk(x)
            && !quirks.iter().any(|y| y.name() == q.name())
        {
            quirks.push(q);
        }
    }
    Ok(k)
}

fn want<'a>(t: Option<&Tlv<'a>>, tag: u32, what: &str) -> Result<Tlv<'a>, String> {
    match t {
        Some(t) if t.tag == tag => Ok(*t),
        Some(t) => Err(format!("{what}: expected tag {tag:02X}, found {:02X}", t.tag)),
        None => Err(format!("{what} missing")),
    }
}

fn oid(t: &Tlv<'_>, what: &str) -> Result<String, String> {
    if t.tag != 0x06 {
        return Err(format!("{what} is not an OBJECT IDENTIFIER"));
    }
    sod::oid_to_string(t.value).ok_or_else(|| format!("{what} is a malformed OBJECT IDENTIFIER"))
}

fn small_int(t: &Tlv<'_>) -> Option<i64> {
    if t.tag != 0x02 || t.value.is_empty() || t.value.len() > 8 {
        return None;
    }
    let init: i64 = if t.value.first().is_some_and(|b| b & 0x80 != 0) {
        -1
    } else {
        0
    };
    Some(t.value.iter().fold(init, |a, b| (a << 8) | i64::from(*b)))
}

fn algorithm(t: &Tlv<'_>, what: &str) -> Result<(Algorithm, Option<Vec<u8>>), String> {
    let (o, p) =
        super::x509::algorithm_of(t).ok_or_else(|| format!("{what} is not an AlgorithmIdentifier"))?;
    Ok((Algorithm::new(&o, p.as_deref()), p))
}

fn octets(t: &Tlv<'_>, out: &mut Vec<u8>, depth: usize, quirks: &mut Vec<Quirk>) -> Result<(), String> {
    match t.tag {
        0x04 => {
            out.extend_from_slice(t.value);
            Ok(())
        }
        0x24 if depth < 4 => {
            if !quirks.iter().any(|q| q.name() == "ber_constructed_octet_string") {
                quirks.push(Quirk::Other {
                    name: "ber_constructed_octet_string",
                    detail: "eContent is a constructed (BER) octet string".into(),
                });
            }
            for k in kids(t, quirks)? {
                octets(&k, out, depth + 1, quirks)?;
            }
            Ok(())
        }
        _ => Err("eContent is not an OCTET STRING".into()),
    }
}

fn attributes(t: &Tlv<'_>, quirks: &mut Vec<Quirk>) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    for a in kids(t, quirks)? {
        let k = kids(&want(Some(&a), 0x30, "Attribute")?, quirks)?;
        let o = oid(k.first().ok_or("empty Attribute")?, "attribute type")?;
        let values = want(k.get(1), 0x31, "attribute values")?;
        out.push((o, values.value.to_vec()));
    }
    Ok(out)
}

fn first_value<'a>(set: &'a [u8]) -> Option<Tlv<'a>> {
    tlv::Reader::new_ber(set).read().ok()
}

fn signer(t: &Tlv<'_>, certs: &[CertEntry], quirks: &mut Vec<Quirk>) -> Result<SignerView, String> {
    let k = kids(&want(Some(t), 0x30, "SignerInfo")?, quirks)?;
    let mut it = k.iter().peekable();
    let version = it
        .next()
        .and_then(small_int)
        .ok_or("SignerInfo without version")?;
    let sid_t = it.next().ok_or("SignerInfo without sid")?;
    let sid = match sid_t.tag {
        0x30 => {
            let s = kids(sid_t, quirks)?;
            let issuer = want(s.first(), 0x30, "issuer")?;
            let serial = want(s.get(1), 0x02, "serialNumber")?;
            sid_view(issuer.raw, serial.value)
        }
        0x80 => SidView::SubjectKeyIdentifier {
            ski: hex::encode_upper(sid_t.value),
        },
        other => return Err(format!("SignerInfo sid has tag {other:02X}")),
    };
    let (digest_algorithm, _) = algorithm(
        it.next().ok_or("SignerInfo without digestAlgorithm")?,
        "digestAlgorithm",
    )?;
    let signed = match it.next_if(|t| t.tag == 0xA0) {
        Some(a) => Some(attributes(a, quirks)?),
        None => None,
    };
    let (signature_algorithm, sig_params) = algorithm(
        it.next().ok_or("SignerInfo without signatureAlgorithm")?,
        "signatureAlgorithm",
    )?;
    let signature = want(it.next(), 0x04, "signature")?;
    let unsigned = it.next_if(|t| t.tag == 0xA1).is_some();
    let get = |o: &str| -> Option<Tlv<'_>> {
        signed
            .as_ref()?
            .iter()
            .find(|(x, _)| x == o)
            .and_then(|(_, v)| first_value(v))
    };
    let content_type = get(sod::OID_ATTR_CONTENT_TYPE)
        .and_then(|t| oid(&t, "contentType").ok())
        .map(|o| oid_label(&o));
    let message_digest = get(sod::OID_ATTR_MESSAGE_DIGEST).map(|t| hex::encode_upper(t.value));
    let signing_time = get(sod::OID_ATTR_SIGNING_TIME).map(|t| String::from_utf8_lossy(t.value).into_owned());
    let pss = pss_of(&signature_algorithm, sig_params.as_deref());
    Ok(SignerView {
        version,
        certificate: find_certificate(&sid, certs),
        sid,
        digest_algorithm,
        signature_algorithm,
        pss,
        signed_attributes: signed.as_deref().map(attribute_views).unwrap_or_default(),
        content_type,
        message_digest,
        signing_time_utc: signing_time.as_deref().and_then(asn1_time_to_rfc3339),
        signing_time,
        signature_size: signature.value.len(),
        signature: hex::encode_upper(signature.value),
        unsigned_attributes: unsigned,
    })
}

impl SignedDataView {
    /// Walk a ContentInfo holding a SignedData (an EF.SOD's `77` wrapper is opened too).
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut quirks = Vec::new();
        let mut outer = tlv::parse_ber(bytes).map_err(|e| format!("malformed TLV: {e}"))?;
        if let Some(q) = crate::lds::quirk::trailing_quirk(bytes.get(outer.raw.len()..).unwrap_or_default()) {
            quirks.push(q);
        }
        if outer.tag == 0x77 {
            outer = *kids(&outer, &mut quirks)?.first().ok_or("empty EF.SOD")?;
        }
        let ci = kids(&want(Some(&outer), 0x30, "ContentInfo")?, &mut quirks)?;
        if oid(ci.first().ok_or("empty ContentInfo")?, "contentType")? != sod::OID_SIGNED_DATA {
            return Err("the ContentInfo does not hold a SignedData".into());
        }
        let explicit = want(ci.get(1), 0xA0, "ContentInfo content")?;
        let sd = kids(&explicit, &mut quirks)?;
        let sd = kids(&want(sd.first(), 0x30, "SignedData")?, &mut quirks)?;
        let mut it = sd.iter().peekable();
        let version = it
            .next()
            .and_then(small_int)
            .ok_or("SignedData without version")?;
        let digest_algorithms = kids(&want(it.next(), 0x31, "digestAlgorithms")?, &mut quirks)?
            .iter()
            .map(|a| algorithm(a, "digest algorithm").map(|x| x.0))
            .collect::<Result<Vec<_>, _>>()?;
        let eci = kids(&want(it.next(), 0x30, "encapContentInfo")?, &mut quirks)?;
        let econtent_type = oid(eci.first().ok_or("empty encapContentInfo")?, "eContentType")?;
        let mut econtent = Vec::new();
        if let Some(w) = eci.get(1) {
            let inner = kids(&want(Some(w), 0xA0, "eContent")?, &mut quirks)?;
            octets(
                inner.first().ok_or("empty eContent")?,
                &mut econtent,
                0,
                &mut quirks,
            )?;
        }
        let certificates: Vec<CertEntry> = match it.next_if(|t| t.tag == 0xA0) {
            Some(c) => kids(c, &mut quirks)?
                .iter()
                .map(|c| CertEntry::decode(c.raw))
                .collect(),
            None => Vec::new(),
        };
        let crls: Vec<CrlEntry> = match it.next_if(|t| t.tag == 0xA1) {
            Some(c) => kids(c, &mut quirks)?
                .iter()
                .map(|c| CrlEntry::decode(c.raw))
                .collect(),
            None => Vec::new(),
        };
        let signer_infos = kids(&want(it.next(), 0x31, "signerInfos")?, &mut quirks)?
            .iter()
            .map(|s| signer(s, &certificates, &mut quirks))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SignedDataView {
            version,
            digest_algorithms,
            econtent_type: Algorithm::new(&econtent_type, None),
            econtent_size: econtent.len(),
            certificates,
            crls,
            signer_infos,
            quirks,
            econtent,
        })
    }

    /// Text tree of the CMS layer.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = vec![
            Node::field("SignedData version", self.version),
            Node::field(
                "digest algorithms",
                self.digest_algorithms
                    .iter()
                    .map(Algorithm::label)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Node::field("eContentType", self.econtent_type.label()),
            Node::field("eContent", format!("{} bytes", self.econtent_size)),
        ];
        n.extend(signers_and_certs(
            &self.signer_infos,
            &self.certificates,
            &self.crls,
        ));
        n
    }
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

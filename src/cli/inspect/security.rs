//! Typed views of the security files: EF.SOD (Doc 9303 Part 10 §4.6.2, Part 12 §9),
//! SecurityInfos of EF.CardAccess and DG14 (Part 11 §9.2), EF.CardSecurity (Part 11
//! §9.2.11), and the signed PKI lists: CSCA master lists (Part 12 §9) and deviation
//! lists.

use openssl::ec::EcGroup;

use super::cms::{SignedDataView, SignerView, cert_node, signed_data_header, signers_and_certs};
use super::text::{Node, short_hex};
use super::tree::oid_label;
use super::x509::{Algorithm, CertEntry, CrlEntry, KeyView};
use crate::lds::quirk::Quirk;
use crate::lds::security_infos::{
    self, AlgorithmIdentifier, CardSecurity, DomainParameterSpec, FileId, SecurityInfo, SecurityInfos,
    SecurityInfosWarning, SubjectPublicKeyInfo,
};
use crate::lds::sod::{LdsVersionInfo, Sod};
use crate::tlv;

// ---------------------------------------------------------------------------------
// EF.SOD

/// One data group hash of the LDS security object.
#[derive(Debug, serde::Serialize)]
pub struct DgHashView {
    /// Data group number.
    pub data_group: u8,
    /// The hash, hex.
    pub hash: String,
}

/// The LDS security object.
#[derive(Debug, serde::Serialize)]
pub struct LdsSecurityObjectView {
    /// 0 or 1.
    pub version: i64,
    /// hashAlgorithm.
    pub hash_algorithm: Algorithm,
    /// dataGroupHashValues in file order.
    pub dg_hashes: Vec<DgHashView>,
    /// ldsVersionInfo (v1).
    pub lds_version_info: Option<LdsVersionInfo>,
}

/// A decoded EF.SOD.
#[derive(Debug, serde::Serialize)]
pub struct SodView {
    /// SignedData version.
    pub signed_data_version: i64,
    /// digestAlgorithms.
    pub digest_algorithms: Vec<Algorithm>,
    /// eContentType.
    pub econtent_type: Algorithm,
    /// The LDS security object.
    pub lds_security_object: LdsSecurityObjectView,
    /// Signer infos.
    pub signer_infos: Vec<SignerView>,
    /// Embedded certificates (the document signer).
    pub certificates: Vec<CertEntry>,
    /// Embedded CRLs.
    pub crls: Vec<CrlEntry>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
}

impl SodView {
    /// Decode an EF.SOD (`77 …`, or a bare ContentInfo as some tools store it).
    pub fn decode(bytes: &[u8]) -> anyhow::Result<Self> {
        let mut extra = Vec::new();
        let sod = if bytes.first() == Some(&0x30) {
            extra.push(Quirk::Other {
                name: "sod_without_application_tag",
                detail: "the ContentInfo is not wrapped in the EF.SOD tag 77".into(),
            });
            Sod::decode(&tlv::encode(0x77, bytes))?
        } else {
            Sod::decode(bytes)?
        };
        Ok(Self::new(&sod, extra))
    }

    fn new(s: &Sod, extra: Vec<Quirk>) -> Self {
        let certificates: Vec<CertEntry> = s.certificates().iter().map(|c| CertEntry::decode(c)).collect();
        let lso = &s.lds_security_object;
        let mut quirks = extra;
        quirks.extend(s.quirks.iter().cloned());
        SodView {
            signed_data_version: i64::try_from(s.signed_data_version()).unwrap_or(i64::MAX),
            digest_algorithms: s
                .digest_algorithms()
                .iter()
                .map(|a| Algorithm::new(&a.oid.to_string(), a.parameters.as_deref()))
                .collect(),
            econtent_type: Algorithm::new(&s.econtent_type().to_string(), None),
            lds_security_object: LdsSecurityObjectView {
                version: lso.version,
                hash_algorithm: Algorithm::new(
                    &lso.hash_algorithm.oid.to_string(),
                    lso.hash_algorithm.parameters.as_deref(),
                ),
                dg_hashes: lso
                    .dg_hashes
                    .iter()
                    .map(|h| DgHashView {
                        data_group: h.number,
                        hash: hex::encode_upper(&h.hash),
                    })
                    .collect(),
                lds_version_info: lso.lds_version_info.clone(),
            },
            signer_infos: s
                .signer_infos()
                .iter()
                .map(|i| SignerView::from_signer(i, &certificates))
                .collect(),
            certificates,
            crls: s.crls().iter().map(|c| CrlEntry::decode(c)).collect(),
            quirks,
        }
    }

    /// Text tree.
    pub fn nodes(&self) -> Vec<Node> {
        let l = &self.lds_security_object;
        let mut lso = vec![
            Node::field("version", l.version),
            Node::field("hash algorithm", l.hash_algorithm.label()),
        ];
        if let Some(v) = &l.lds_version_info {
            lso.push(Node::field(
                "LDS version info",
                format!("LDS {}, Unicode {}", v.lds_version, v.unicode_version),
            ));
        }
        lso.push(
            Node::new("data group hashes").with(
                l.dg_hashes
                    .iter()
                    .map(|h| Node::field(&format!("DG{}", h.data_group), &h.hash))
                    .collect(),
            ),
        );
        let mut n = signed_data_header(
            self.signed_data_version,
            &self.digest_algorithms,
            &self.econtent_type,
        );
        n.push(Node::new("LDS security object").with(lso));
        n.extend(signers_and_certs(
            &self.signer_infos,
            &self.certificates,
            &self.crls,
        ));
        n
    }
}

// ---------------------------------------------------------------------------------
// SecurityInfos

/// Bits of a standardized domain parameter set (Doc 9303 Part 11 §9.5.1).
fn standardized_bits(id: u32) -> Option<usize> {
    Some(match id {
        0 => 1024,
        1 | 2 => 2048,
        8 | 9 => 192,
        10 | 11 => 224,
        12 | 13 => 256,
        14 => 320,
        15 | 16 => 384,
        17 => 512,
        18 => 521,
        _ => return None,
    })
}

fn bit_len(magnitude: &[u8]) -> usize {
    let m: &[u8] = {
        let n = magnitude.iter().take_while(|b| **b == 0).count();
        magnitude.get(n..).unwrap_or_default()
    };
    m.first()
        .map_or(0, |f| (m.len() - 1) * 8 + (8 - f.leading_zeros() as usize))
}

/// Describe domain parameters (no public key).
fn domain_view(alg: &AlgorithmIdentifier) -> KeyView {
    let mut k = KeyView {
        algorithm: oid_label(&alg.oid.to_string()),
        ..KeyView::default()
    };
    match alg.domain_parameters() {
        Ok(DomainParameterSpec::Standardized(id)) => {
            k.standardized_parameter_id = Some(id);
            k.bits = standardized_bits(id);
            k.curve = crate::access::pace::params::standardized_name(id)
                .filter(|_| id >= 8)
                .map(str::to_owned);
        }
        Ok(DomainParameterSpec::EcNamed(oid)) => {
            let dotted = oid.to_string();
            let nid = openssl::asn1::Asn1Object::from_str(&dotted).map(|o| o.nid()).ok();
            k.curve = Some(match nid.and_then(|n| n.short_name().ok()) {
                Some(n) if nid != Some(openssl::nid::Nid::UNDEF) => format!("{n} ({dotted})"),
                _ => dotted,
            });
            k.bits = nid
                .and_then(|n| EcGroup::from_curve_name(n).ok())
                .and_then(|g| usize::try_from(g.degree()).ok());
        }
        Ok(DomainParameterSpec::EcExplicit(p)) => {
            // describe through the SubjectPublicKeyInfo decoder, with G as the point
            let spki = SubjectPublicKeyInfo::new(
                AlgorithmIdentifier {
                    oid: security_infos::oid::ID_EC_PUBLIC_KEY,
                    parameters: alg.parameters.clone(),
                },
                p.generator.clone(),
            );
            let mut e = KeyView::from_spki(&spki.encode());
            e.algorithm = k.algorithm;
            e.public_key = None;
            k = e;
        }
        Ok(DomainParameterSpec::Dh(p)) => {
            k.bits = Some(bit_len(&p.p));
            k.curve = Some(match &p.q {
                Some(q) => format!("Diffie-Hellman group, {}-bit subgroup", bit_len(q)),
                None => "Diffie-Hellman group".into(),
            });
        }
        Err(reason) => k.error = Some(reason.to_owned()),
    }
    k
}

/// Describe a SecurityInfos public key.
fn public_key_view(spki: &SubjectPublicKeyInfo) -> KeyView {
    if spki.algorithm.oid == security_infos::oid::ID_EC_PUBLIC_KEY {
        return KeyView::from_spki(&spki.raw);
    }
    let mut k = domain_view(&spki.algorithm);
    let dh = matches!(spki.algorithm.domain_parameters(), Ok(DomainParameterSpec::Dh(_)))
        || matches!(
            spki.algorithm.domain_parameters(),
            Ok(DomainParameterSpec::Standardized(0..=2))
        );
    if dh {
        match spki.dh_public_value() {
            Ok(y) => k.public_key = Some(hex::encode_upper(y)),
            Err(e) => k.error = Some(e.to_owned()),
        }
    } else {
        k.public_key = Some(hex::encode_upper(&spki.subject_public_key));
    }
    k
}

fn file_id(f: &FileId) -> String {
    match f.sfid {
        Some(s) => format!("{:04X} (SFI {s:02X})", f.fid),
        None => format!("{:04X}", f.fid),
    }
}

/// One SecurityInfo.
#[derive(Debug, Default, serde::Serialize)]
pub struct InfoView {
    /// ASN.1 type (`PACEInfo`, `ChipAuthenticationPublicKeyInfo`, …).
    #[serde(rename = "type")]
    pub info_type: &'static str,
    /// Protocol OID, dotted.
    pub protocol: String,
    /// Protocol name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_name: Option<String>,
    /// Version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Standardized domain parameter id (PACEInfo, PACEDomainParameterInfo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_id: Option<u32>,
    /// Name of the standardized domain parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_name: Option<&'static str>,
    /// keyId (chip authentication).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<u64>,
    /// Domain parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_parameters: Option<KeyView>,
    /// Public key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<KeyView>,
    /// EF.CVCA (TerminalAuthenticationInfo) or EF.CardInfo (CardInfoLocator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// CardInfoLocator URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// ActiveAuthenticationInfo signature algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_algorithm: Option<String>,
    /// EFDIRInfo content, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ef_dir: Option<String>,
    /// PrivilegedTerminalInfo's own SecurityInfos.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infos: Option<Box<SecurityInfosView>>,
    /// The info as read (unknown infos), hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Size of the info as read.
    pub size: usize,
}

impl InfoView {
    fn new(info: &SecurityInfo) -> Self {
        let protocol = info.protocol();
        let mut v = InfoView {
            protocol: protocol.map_or_else(|| "(unreadable)".into(), |o| o.to_string()),
            protocol_name: protocol.and_then(|o| super::tree::oid_name_any(&o.to_string())),
            size: info.raw().len(),
            ..InfoView::default()
        };
        match info {
            SecurityInfo::Pace(i) => {
                v.info_type = "PACEInfo";
                v.version = Some(i.version);
                v.parameter_id = i.parameter_id;
                v.parameter_name = i
                    .parameter_id
                    .and_then(crate::access::pace::params::standardized_name);
            }
            SecurityInfo::PaceDomainParameter(i) => {
                v.info_type = "PACEDomainParameterInfo";
                v.parameter_id = i.parameter_id;
                v.domain_parameters = Some(domain_view(&i.domain_parameter));
            }
            SecurityInfo::ChipAuthentication(i) => {
                v.info_type = "ChipAuthenticationInfo";
                v.version = Some(i.version);
                v.key_id = i.key_id;
            }
            SecurityInfo::ChipAuthenticationDomainParameter(i) => {
                v.info_type = "ChipAuthenticationDomainParameterInfo";
                v.key_id = i.key_id;
                v.domain_parameters = Some(domain_view(&i.domain_parameter));
            }
            SecurityInfo::ChipAuthenticationPublicKey(i) => {
                v.info_type = "ChipAuthenticationPublicKeyInfo";
                v.key_id = i.key_id;
                v.public_key = Some(public_key_view(&i.public_key));
            }
            SecurityInfo::TerminalAuthentication(i) => {
                v.info_type = "TerminalAuthenticationInfo";
                v.version = Some(i.version);
                v.file = i.ef_cvca.as_ref().map(file_id);
            }
            SecurityInfo::ActiveAuthentication(i) => {
                v.info_type = "ActiveAuthenticationInfo";
                v.version = Some(i.version);
                v.signature_algorithm = Some(oid_label(&i.signature_algorithm.to_string()));
            }
            SecurityInfo::EfDir(i) => {
                v.info_type = "EFDIRInfo";
                v.ef_dir = Some(hex::encode_upper(&i.ef_dir));
            }
            SecurityInfo::CardInfoLocator(i) => {
                v.info_type = "CardInfoLocator";
                v.url = Some(i.url.clone());
                v.file = i.ef_card_info.as_ref().map(file_id);
            }
            SecurityInfo::PrivilegedTerminal(i) => {
                v.info_type = "PrivilegedTerminalInfo";
                v.infos = Some(Box::new(SecurityInfosView::new(&i.infos)));
            }
            SecurityInfo::Unknown(i) => {
                v.info_type = "SecurityInfo";
                v.raw = Some(hex::encode_upper(&i.raw));
            }
        }
        v
    }

    fn node(&self, index: usize) -> Node {
        let mut kids = vec![Node::field(
            "protocol",
            match &self.protocol_name {
                Some(n) => format!("{n} ({})", self.protocol),
                None => self.protocol.clone(),
            },
        )];
        if let Some(v) = self.version {
            kids.push(Node::field("version", v));
        }
        if let Some(p) = self.parameter_id {
            kids.push(Node::field(
                "parameter id",
                match self.parameter_name {
                    Some(n) => format!("{p} ({n})"),
                    None => p.to_string(),
                },
            ));
        }
        if let Some(k) = self.key_id {
            kids.push(Node::field("key id", k));
        }
        if let Some(d) = &self.domain_parameters {
            kids.push(Node::new("domain parameters").with(d.nodes()));
        }
        if let Some(k) = &self.public_key {
            kids.push(Node::new("public key").with(k.nodes()));
        }
        if let Some(f) = &self.file {
            kids.push(Node::field("file", f));
        }
        if let Some(u) = &self.url {
            kids.push(Node::field("url", u));
        }
        if let Some(s) = &self.signature_algorithm {
            kids.push(Node::field("signature algorithm", s));
        }
        if let Some(d) = &self.ef_dir {
            kids.push(Node::field(
                "EF.DIR",
                short_hex(&hex::decode(d).unwrap_or_default()),
            ));
        }
        if let Some(i) = &self.infos {
            kids.extend(i.nodes());
        }
        if let Some(r) = &self.raw {
            kids.push(Node::field(
                "content",
                short_hex(&hex::decode(r).unwrap_or_default()),
            ));
        }
        Node::new(format!("{} {index} ({} bytes)", self.info_type, self.size)).with(kids)
    }
}

/// Named warning for a SecurityInfos quirk.
fn warning(w: &SecurityInfosWarning) -> Quirk {
    let name = match w {
        SecurityInfosWarning::TrailingBytes { .. } => "trailing_bytes",
        SecurityInfosWarning::ZeroPadding { .. } => "trailing_zero_padding",
        SecurityInfosWarning::MalformedInfo { .. } => "malformed_security_info",
        SecurityInfosWarning::ExtraElements { .. } => "security_info_extra_elements",
    };
    Quirk::Other {
        name,
        detail: w.to_string(),
    }
}

/// A decoded SecurityInfos SET.
#[derive(Debug, serde::Serialize)]
pub struct SecurityInfosView {
    /// The infos in file order.
    pub infos: Vec<InfoView>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
}

impl SecurityInfosView {
    /// Describe decoded SecurityInfos.
    pub fn new(s: &SecurityInfos) -> Self {
        let infos: Vec<InfoView> = s.infos.iter().map(InfoView::new).collect();
        let mut quirks: Vec<Quirk> = s.warnings.iter().map(warning).collect();
        // quirks of the keys and domain parameters (explicit EC parameters, …)
        for (i, info) in infos.iter().enumerate() {
            for k in [&info.public_key, &info.domain_parameters].into_iter().flatten() {
                for q in &k.quirks {
                    quirks.push(Quirk::Other {
                        name: q.name(),
                        detail: format!("{} {}: {q}", info.info_type, i + 1),
                    });
                }
            }
        }
        SecurityInfosView { infos, quirks }
    }

    /// Text tree.
    pub fn nodes(&self) -> Vec<Node> {
        self.infos
            .iter()
            .enumerate()
            .map(|(i, v)| v.node(i + 1))
            .collect()
    }
}

// ---------------------------------------------------------------------------------
// EF.CardSecurity, master lists, deviation lists, other SignedData

/// A decoded EF.CardSecurity.
#[derive(Debug, serde::Serialize)]
pub struct CardSecurityView {
    /// The CMS layer.
    #[serde(flatten)]
    pub cms: SignedDataView,
    /// The SecurityInfos of the eContent.
    pub security_infos: SecurityInfosView,
}

impl CardSecurityView {
    /// Decode.
    pub fn decode(bytes: &[u8]) -> anyhow::Result<Self> {
        // CardSecurity::decode refuses any eContentType but id-SecurityObject
        let cs = CardSecurity::decode(bytes)?;
        let cms = SignedDataView::decode(bytes).map_err(anyhow::Error::msg)?;
        Ok(CardSecurityView {
            security_infos: SecurityInfosView::new(&cs.security_infos),
            cms,
        })
    }

    /// Text tree.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = self.cms.nodes();
        n.insert(
            4.min(n.len()),
            Node::new("SecurityInfos (eContent)").with(self.security_infos.nodes()),
        );
        n
    }
}

/// A CSCA master list (`CscaMasterList ::= SEQUENCE { version, certList SET OF Certificate }`).
#[derive(Debug, serde::Serialize)]
pub struct MasterListView {
    /// The CMS layer (signer certificates embedded in the SignedData).
    #[serde(flatten)]
    pub cms: SignedDataView,
    /// CscaMasterList version.
    pub list_version: Option<i64>,
    /// Number of CSCA certificates listed.
    pub list_count: usize,
    /// The CSCA certificates listed.
    pub list_certificates: Vec<CertEntry>,
}

fn content_elements(econtent: &[u8]) -> anyhow::Result<Vec<tlv::Tlv<'_>>> {
    let t = tlv::parse_ber(econtent).map_err(|e| anyhow::anyhow!("malformed eContent: {e}"))?;
    if t.tag != 0x30 {
        anyhow::bail!("eContent is not a SEQUENCE");
    }
    t.children_ber()
        .read_all()
        .map_err(|e| anyhow::anyhow!("malformed eContent: {e}"))
}

impl MasterListView {
    /// Decode.
    pub fn decode(bytes: &[u8]) -> anyhow::Result<Self> {
        let cms = SignedDataView::decode(bytes).map_err(anyhow::Error::msg)?;
        // the CscaMasterList is read by pki::masterlist (one decoder), certificate by
        // certificate
        let ml = crate::pki::masterlist::MasterList::parse(bytes)?;
        let list_certificates: Vec<CertEntry> = ml
            .certificates()
            .map(|c| c.map(CertEntry::decode))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("malformed certList: {e}"))?;
        Ok(MasterListView {
            list_version: i64::try_from(ml.version).ok(),
            list_count: list_certificates.len(),
            list_certificates,
            cms,
        })
    }

    /// Text tree: the CMS layer in full, the listed certificates one line each.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = self.cms.nodes();
        if let Some(v) = self.list_version {
            n.push(Node::field("master list version", v));
        }
        let lines = self
            .list_certificates
            .iter()
            .map(|c| match c {
                CertEntry::Ok(v) => {
                    let mut line = v.line();
                    for q in &v.quirks {
                        line.push_str(&format!(" [{}]", q.name()));
                    }
                    Node::new(line)
                }
                CertEntry::Err { .. } => cert_node("undecodable certificate", c),
            })
            .collect();
        n.push(Node::field("CSCA certificates", self.list_count).with(lines));
        n
    }
}

/// A deviation list or other SignedData: the CMS layer and the size of the content.
#[derive(Debug, serde::Serialize)]
pub struct SignedContentView {
    /// The CMS layer.
    #[serde(flatten)]
    pub cms: SignedDataView,
    /// Number of elements of the eContent's outer SEQUENCE (deviation lists: version,
    /// digest algorithm, deviations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_elements: Option<usize>,
}

impl SignedContentView {
    /// Decode.
    pub fn decode(bytes: &[u8]) -> anyhow::Result<Self> {
        let cms = SignedDataView::decode(bytes).map_err(anyhow::Error::msg)?;
        let content_elements = content_elements(&cms.econtent).ok().map(|k| k.len());
        Ok(SignedContentView {
            cms,
            content_elements,
        })
    }
}

//! What `inspect` shows of SecurityInfos (EF.CardAccess, DG14; Doc 9303 Part 11
//! §9.2) and of EF.CardSecurity (Part 11 §9.2.11): each SecurityInfo with its
//! protocol, domain parameters and keys described like every key of `inspect`
//! ([`crate::lds::view::x509::KeyView`]).

use openssl::ec::EcGroup;

use std::borrow::Cow;

use super::{
    AlgorithmIdentifier, CardSecurity, DomainParameterSpec, FileId, SecurityInfo, SecurityInfos,
    SecurityInfosWarning, SubjectPublicKeyInfo,
};
use crate::lds::group::DataGroup;
use crate::lds::quirk::Quirk;
use crate::lds::view::cms::SignedDataView;
use crate::lds::view::oid::{oid_label, oid_name_any};
use crate::lds::view::x509::KeyView;
use crate::lds::view::{Node, short_hex};
use crate::lds::{LdsError, LdsFile};

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
            k.curve = super::params::standardized_name(id)
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
                    oid: super::oid::ID_EC_PUBLIC_KEY,
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
    if spki.algorithm.oid == super::oid::ID_EC_PUBLIC_KEY {
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
            protocol_name: protocol.and_then(|o| oid_name_any(&o.to_string())),
            size: info.raw().len(),
            ..InfoView::default()
        };
        match info {
            SecurityInfo::Pace(i) => {
                v.info_type = "PACEInfo";
                v.version = Some(i.version);
                v.parameter_id = i.parameter_id;
                v.parameter_name = i.parameter_id.and_then(super::params::standardized_name);
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
    /// The view of a decoded EF.CardSecurity.
    pub fn new(cs: &CardSecurity) -> Self {
        CardSecurityView {
            cms: SignedDataView::from_signed_data(cs.signed_data.clone(), cs.quirks.clone()),
            security_infos: SecurityInfosView::new(&cs.security_infos),
        }
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

/// EF.CardAccess (and, through [`crate::lds::dg14::Dg14`], DG14): its SecurityInfos,
/// shown info by info. The quirks are the decoder's warnings with those of the keys
/// and domain parameters (explicit EC parameters, …); `check` judges the warnings by
/// its own rules.
impl DataGroup for SecurityInfos {
    fn decode_file(_: LdsFile, bytes: &[u8]) -> Result<Self, LdsError> {
        Ok(SecurityInfos::decode(bytes)?)
    }
    fn encode(&self) -> Result<Vec<u8>, LdsError> {
        Ok(SecurityInfos::encode(self))
    }
    fn quirks(&self) -> Cow<'_, [Quirk]> {
        Cow::Owned(SecurityInfosView::new(self).quirks)
    }
    fn view(&self) -> Vec<Node> {
        SecurityInfosView::new(self).nodes()
    }
    fn json(&self) -> impl serde::Serialize + '_ {
        SecurityInfosView::new(self)
    }
}

/// EF.CardSecurity: the CMS layer, with its SecurityInfos after the eContentType. The
/// quirks are those of the CMS layer.
impl DataGroup for CardSecurity {
    fn decode_file(_: LdsFile, bytes: &[u8]) -> Result<Self, LdsError> {
        Ok(CardSecurity::decode(bytes)?)
    }
    fn encode(&self) -> Result<Vec<u8>, LdsError> {
        Ok(self.raw.clone())
    }
    fn quirks(&self) -> Cow<'_, [Quirk]> {
        Cow::Borrowed(&self.quirks)
    }
    fn view(&self) -> Vec<Node> {
        CardSecurityView::new(self).nodes()
    }
    fn json(&self) -> impl serde::Serialize + '_ {
        CardSecurityView::new(self)
    }
}

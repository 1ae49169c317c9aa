//! Typed views of the signed PKI lists: CSCA master lists (Doc 9303 Part 12 §9),
//! deviation lists and any other CMS SignedData, on the CMS and X.509 views of
//! [`crate::lds::view`].

use crate::lds::view::Node;
use crate::lds::view::cms::{SignedDataView, cert_node};
use crate::lds::view::x509::CertEntry;
use crate::tlv;

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

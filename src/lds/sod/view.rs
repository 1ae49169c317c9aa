//! What `inspect` shows of EF.SOD (Doc 9303 Part 10 §4.6.2, Part 12 §9): the CMS
//! layer through [`crate::lds::view::cms`], the LDS security object field by field.

use std::borrow::Cow;

use crate::lds::group::DataGroup;
use crate::lds::quirk::Quirk;
use crate::lds::sod::{LdsVersionInfo, Sod};
use crate::lds::view::Node;
use crate::lds::view::cms::{SignerView, signed_data_header, signers_and_certs};
use crate::lds::view::x509::{Algorithm, CertEntry, CrlEntry};
use crate::lds::{LdsError, LdsFile};
use crate::tlv;

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
    /// The view of a decoded EF.SOD.
    pub fn new(s: &Sod) -> Self {
        let certificates: Vec<CertEntry> = s.certificates().iter().map(|c| CertEntry::decode(c)).collect();
        let lso = &s.lds_security_object;
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
            quirks: s.quirks.clone(),
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

/// EF.SOD as every generic consumer reads it. Unlike [`Sod::decode`] (what `verify`
/// and `check` use: Doc 9303 wants the tag `77`), a bare ContentInfo, as some tools
/// store an EF.SOD, is read with the quirk `sod_without_application_tag`.
impl DataGroup for Sod {
    fn decode_file(_: LdsFile, bytes: &[u8]) -> Result<Self, LdsError> {
        if bytes.first() != Some(&0x30) {
            return Sod::decode(bytes);
        }
        let mut sod = Sod::decode(&tlv::encode(0x77, bytes))?;
        sod.quirks.insert(
            0,
            Quirk::Other {
                name: "sod_without_application_tag",
                detail: "the ContentInfo is not wrapped in the EF.SOD tag 77".into(),
            },
        );
        Ok(sod)
    }
    fn encode(&self) -> Result<Vec<u8>, LdsError> {
        Ok(self.raw.clone())
    }
    fn quirks(&self) -> Cow<'_, [Quirk]> {
        Cow::Borrowed(&self.quirks)
    }
    fn view(&self) -> Vec<Node> {
        SodView::new(self).nodes()
    }
    fn json(&self) -> impl serde::Serialize + '_ {
        SodView::new(self)
    }
}

//! EF.CardSecurity (Doc 9303 Part 11 §9.2.11, BSI TR-03110-3 A.1.2.2): a CMS
//! `ContentInfo` holding `SignedData` whose encapsulated content (eContentType
//! `id-SecurityObject`) is a DER SecurityInfos SET.
//!
//! The CMS layer is read by [`crate::cms::SignedData::parse`], the one SignedData walker
//! (BER indefinite lengths and a constructed OCTET STRING included); this module checks
//! the eContentType and decodes the SecurityInfos. The signature is checked by the
//! verify layer over [`CardSecurity::signed_data`].

use std::sync::Arc;

use crate::cms::{CmsError, SignedData};
use crate::lds::quirk::{Quirk, trailing_quirk};
use crate::lds::sod::cms_quirk;
use crate::tlv;

use super::oid::{self, Oid};
use super::{SecurityInfos, SecurityInfosError};

/// A decoded EF.CardSecurity.
#[derive(Debug, Clone)]
pub struct CardSecurity {
    /// The file as read, without trailing bytes.
    pub raw: Vec<u8>,
    /// The SignedData as the one CMS walker read it (eContent, signer, certificates).
    pub signed_data: SignedData,
    /// The SecurityInfos decoded from the eContent.
    pub security_infos: SecurityInfos,
    /// Tolerated deviations of the CMS layer (BER lengths, zero padding after the
    /// ContentInfo, …), as `inspect` names them; the SecurityInfos' own are
    /// `security_infos.warnings`.
    pub quirks: Vec<Quirk>,
}

/// A CMS error kept as the cause of a [`SecurityInfosError`] (which is `Clone` and
/// `Eq`; two causes are equal when they are the same error).
#[derive(Debug, Clone)]
pub struct CmsCause(pub Arc<CmsError>);

impl PartialEq for CmsCause {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CmsCause {}

impl std::fmt::Display for CmsCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for CmsCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.0.as_ref())
    }
}

fn err(what: &'static str) -> SecurityInfosError {
    SecurityInfosError::CardSecurity { what }
}

impl CardSecurity {
    /// Decode EF.CardSecurity and the SecurityInfos in its eContent. The eContentType
    /// must be `id-SecurityObject` (0.4.0.127.0.7.3.2.1): any other content is not a
    /// statement about this chip's SecurityInfos, whatever it holds.
    pub fn decode(bytes: &[u8]) -> Result<CardSecurity, SecurityInfosError> {
        let content_info = tlv::parse_ber(bytes).map_err(SecurityInfosError::Tlv)?;
        let signed_data = SignedData::parse(bytes)
            .map_err(|e| SecurityInfosError::CardSecurityCms(CmsCause(Arc::new(e))))?;
        if signed_data.econtent_type != oid::ID_SECURITY_OBJECT {
            return Err(err("eContentType is not id-SecurityObject (0.4.0.127.0.7.3.2.1)"));
        }
        let econtent = signed_data
            .econtent
            .as_deref()
            .ok_or(err("encapContentInfo without eContent"))?;
        let security_infos = SecurityInfos::decode(econtent)?;
        let mut quirks: Vec<Quirk> = trailing_quirk(bytes.get(content_info.raw.len()..).unwrap_or_default())
            .into_iter()
            .collect();
        for q in &signed_data.quirks {
            let q = cms_quirk(*q);
            if !quirks.iter().any(|y| y.name() == q.name()) {
                quirks.push(q);
            }
        }
        Ok(CardSecurity {
            raw: bytes.get(..content_info.raw.len()).unwrap_or(bytes).to_vec(),
            signed_data,
            security_infos,
            quirks,
        })
    }

    /// eContentType (always `id-SecurityObject` once decoded).
    pub fn econtent_type(&self) -> Oid {
        self.signed_data.econtent_type
    }

    /// The eContent octets (the DER SecurityInfos that the messageDigest covers).
    pub fn econtent(&self) -> &[u8] {
        self.signed_data.econtent.as_deref().unwrap_or_default()
    }

    /// True when the eContentType is `id-SecurityObject` (always, once decoded).
    pub fn is_security_object(&self) -> bool {
        self.signed_data.econtent_type == oid::ID_SECURITY_OBJECT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cms::SignedDataBuilder;

    fn card_security(econtent_type: Oid) -> Vec<u8> {
        // one PACEInfo: id-PACE-ECDH-GM-AES-CBC-CMAC-128, version 2, parameter 13
        let pace = hex::decode("3012060A04007F0007020204020202010202010D").unwrap_or_default();
        SignedDataBuilder {
            econtent_type: Some(econtent_type),
            econtent: tlv::encode(0x31, &pace),
            ..Default::default()
        }
        .to_der()
    }

    #[test]
    fn security_object_decodes() {
        let cs = CardSecurity::decode(&card_security(oid::ID_SECURITY_OBJECT)).unwrap();
        assert!(cs.is_security_object());
        assert_eq!(cs.security_infos.pace_infos().count(), 1);
    }

    #[test]
    fn other_econtent_type_is_refused() {
        let e = CardSecurity::decode(&card_security(crate::asn1::oid::DATA)).unwrap_err();
        assert!(e.to_string().contains("id-SecurityObject"), "{e}");
    }

    #[test]
    fn cms_failure_keeps_its_cause() {
        let e = CardSecurity::decode(&[0x30, 0x03, 0x06, 0x01, 0x00]).unwrap_err();
        assert!(matches!(e, SecurityInfosError::CardSecurityCms(_)), "{e:?}");
        assert!(std::error::Error::source(&e).is_some());
    }
}

//! EF.DG14 (Doc 9303 Part 10 §4.7.14, Part 11 §9.2): the SecurityInfos of Chip
//! Authentication, Active Authentication's signature algorithm and PACE, in the
//! application tag `6E`.
//!
//! ```text
//! 6E L  SecurityInfos ::= SET OF SecurityInfo
//! ```
//!
//! The SET is read by [`SecurityInfos::decode`] (the decoder of EF.CardAccess and of
//! EF.CardSecurity's eContent); bytes after the `6E` template are a warning of the
//! SecurityInfos, like bytes after the SET of EF.CardAccess.

use std::borrow::Cow;

use super::group::DataGroup;
use super::security_infos::view::SecurityInfosView;
use super::security_infos::{SecurityInfos, SecurityInfosError};
use super::view::Node;
use super::{LdsError, LdsFile, Quirk};
use crate::tlv;

/// DG14's application tag.
pub const TAG: u32 = 0x6E;

/// A decoded EF.DG14.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dg14 {
    /// The SecurityInfos of the template; its warnings include what follows the template.
    pub security_infos: SecurityInfos,
}

impl Dg14 {
    /// Decode EF.DG14 (`6E` wrapping the SecurityInfos SET).
    pub fn decode(bytes: &[u8]) -> Result<Dg14, SecurityInfosError> {
        let outer = tlv::parse(bytes).map_err(SecurityInfosError::Tlv)?;
        if outer.tag != TAG {
            return Err(SecurityInfosError::UnexpectedTag {
                expected: TAG,
                found: outer.tag,
            });
        }
        let mut security_infos = SecurityInfos::decode(outer.value)?;
        security_infos.warn_after(bytes, outer.raw.len());
        Ok(Dg14 { security_infos })
    }

    /// `6E` wrapping [`SecurityInfos::encode`] (DER, the infos in their order).
    pub fn encode(&self) -> Vec<u8> {
        tlv::encode(TAG, &self.security_infos.encode())
    }
}

impl From<SecurityInfos> for Dg14 {
    fn from(security_infos: SecurityInfos) -> Self {
        Dg14 { security_infos }
    }
}

impl From<Dg14> for SecurityInfos {
    fn from(dg14: Dg14) -> Self {
        dg14.security_infos
    }
}

/// Shown like EF.CardAccess: its SecurityInfos, info by info.
impl DataGroup for Dg14 {
    fn decode_file(_: LdsFile, bytes: &[u8]) -> Result<Self, LdsError> {
        Ok(Dg14::decode(bytes)?)
    }
    fn encode(&self) -> Result<Vec<u8>, LdsError> {
        Ok(Dg14::encode(self))
    }
    fn quirks(&self) -> Cow<'_, [Quirk]> {
        self.security_infos.quirks()
    }
    fn view(&self) -> Vec<Node> {
        self.security_infos.view()
    }
    fn json(&self) -> impl serde::Serialize + '_ {
        SecurityInfosView::new(&self.security_infos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::security_infos::{ActiveAuthenticationInfo, SecurityInfo, SecurityInfosWarning};

    fn dg14() -> Vec<u8> {
        let info = ActiveAuthenticationInfo::new(crate::asn1::oid::ECDSA_PLAIN_SHA256);
        Dg14::from(SecurityInfos::from_infos(vec![
            SecurityInfo::ActiveAuthentication(info),
        ]))
        .encode()
    }

    #[test]
    fn decodes_and_encodes_back() {
        let bytes = dg14();
        assert_eq!(bytes.first(), Some(&0x6E));
        let d = Dg14::decode(&bytes).unwrap();
        assert!(d.security_infos.active_authentication_info().is_some());
        assert!(d.security_infos.warnings.is_empty());
        assert_eq!(d.encode(), bytes);
    }

    #[test]
    fn the_set_alone_or_padding_after_it() {
        let bytes = dg14();
        let set = bytes.get(2..).unwrap_or_default();
        assert!(matches!(
            Dg14::decode(set),
            Err(SecurityInfosError::UnexpectedTag {
                expected: 0x6E,
                found: 0x31
            })
        ));
        let mut padded = bytes.clone();
        padded.extend([0, 0]);
        let d = Dg14::decode(&padded).unwrap();
        assert_eq!(
            d.security_infos.warnings,
            vec![SecurityInfosWarning::ZeroPadding { count: 2 }]
        );
    }
}

//! EF.CardSecurity (Doc 9303 Part 11 §9.2.11, BSI TR-03110-3 A.1.2.2): a CMS
//! `ContentInfo` holding `SignedData` whose encapsulated content (eContentType
//! `id-SecurityObject`) is a DER SecurityInfos SET.
//!
//! Only the walk to the eContent is done here (RFC 5652 §3, §5.1, §5.2), BER
//! indefinite lengths and a constructed OCTET STRING included; the signature is
//! checked by the CMS/verify layers over [`CardSecurity::raw`].

use crate::tlv::{self, Tlv};

use super::asn1;
use super::oid::{self, Oid};
use super::{SecurityInfos, SecurityInfosError};

/// A decoded EF.CardSecurity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSecurity {
    /// The file as read (what the signature covers through the signed attributes).
    pub raw: Vec<u8>,
    /// eContentType (`id-SecurityObject` 0.4.0.127.0.7.3.2.1 on conforming chips).
    pub econtent_type: Oid,
    /// The eContent octets (the DER SecurityInfos that the messageDigest covers).
    pub econtent: Vec<u8>,
    /// The SecurityInfos decoded from the eContent.
    pub security_infos: SecurityInfos,
}

fn err(what: &'static str) -> SecurityInfosError {
    SecurityInfosError::CardSecurity { what }
}

fn children<'a>(t: &Tlv<'a>, what: &'static str) -> Result<Vec<Tlv<'a>>, SecurityInfosError> {
    t.children_ber().read_all().map_err(|_| err(what))
}

/// The content of an OCTET STRING, primitive or constructed (BER), bounded in depth.
fn octets(t: &Tlv<'_>, out: &mut Vec<u8>, depth: usize) -> Result<(), SecurityInfosError> {
    match t.tag {
        0x04 => {
            out.extend_from_slice(t.value);
            Ok(())
        }
        0x24 if depth < 4 => {
            for part in children(t, "malformed constructed eContent")? {
                octets(&part, out, depth + 1)?;
            }
            Ok(())
        }
        _ => Err(err("eContent is not an OCTET STRING")),
    }
}

impl CardSecurity {
    /// Decode EF.CardSecurity and the SecurityInfos in its eContent.
    pub fn decode(bytes: &[u8]) -> Result<CardSecurity, SecurityInfosError> {
        let content_info = tlv::parse_ber(bytes).map_err(SecurityInfosError::Tlv)?;
        if content_info.tag != asn1::SEQUENCE {
            return Err(err("not a ContentInfo SEQUENCE"));
        }
        let ci = children(&content_info, "malformed ContentInfo")?;
        let content_type = ci.first().ok_or(err("empty ContentInfo"))?;
        if asn1::oid(content_type).ok() != Some(oid::ID_SIGNED_DATA) {
            return Err(err("contentType is not id-signedData"));
        }
        let explicit = ci
            .get(1)
            .filter(|t| t.tag == 0xA0)
            .ok_or(err("ContentInfo without [0] content"))?;
        let signed_data = children(explicit, "malformed [0] content")?
            .into_iter()
            .next()
            .filter(|t| t.tag == asn1::SEQUENCE)
            .ok_or(err("content is not a SignedData SEQUENCE"))?;
        let sd = children(&signed_data, "malformed SignedData")?;
        // version INTEGER, digestAlgorithms SET, encapContentInfo SEQUENCE, ...
        let encap = match sd.as_slice() {
            [v, d, e, ..] if v.tag == asn1::INTEGER && d.tag == asn1::SET && e.tag == asn1::SEQUENCE => *e,
            _ => {
                return Err(err(
                    "SignedData without version, digestAlgorithms and encapContentInfo",
                ));
            }
        };
        let eci = children(&encap, "malformed encapContentInfo")?;
        let econtent_type = asn1::oid(eci.first().ok_or(err("empty encapContentInfo"))?)
            .map_err(|_| err("eContentType is not an OBJECT IDENTIFIER"))?;
        let wrapper = eci
            .get(1)
            .filter(|t| t.tag == 0xA0)
            .ok_or(err("encapContentInfo without eContent"))?;
        let inner = children(wrapper, "malformed [0] eContent")?
            .into_iter()
            .next()
            .ok_or(err("empty [0] eContent"))?;
        let mut econtent = Vec::new();
        octets(&inner, &mut econtent, 0)?;
        let security_infos = SecurityInfos::decode(&econtent)?;
        Ok(CardSecurity {
            raw: bytes.get(..content_info.raw.len()).unwrap_or(bytes).to_vec(),
            econtent_type,
            econtent,
            security_infos,
        })
    }

    /// True when the eContentType is `id-SecurityObject`.
    pub fn is_security_object(&self) -> bool {
        self.econtent_type == oid::ID_SECURITY_OBJECT
    }
}

//! The BER-TLV tree shown for kinds without a typed decoder, OID and tag names, and
//! the PEM and LDIF summaries.

use anyhow::{Context, anyhow};
use base64::Engine as _;

use crate::lds::detect::{self, FileKind};
use crate::lds::view::oid::oid_name;
use crate::tlv::{self, LengthForm, Tlv};

/// One element of a BER-TLV tree.
#[derive(Debug, serde::Serialize)]
pub struct TlvNode {
    /// Tag in hex.
    pub tag: String,
    /// What the tag is, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
    /// Offset of the element in the file.
    pub offset: usize,
    /// Length of the value.
    pub length: usize,
    /// Length form when not DER (`non_minimal`, `indefinite`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_form: Option<&'static str>,
    /// Primitive value, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Primitive value as text (strings, OIDs, small integers, times).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Children of a constructed element, or the DER an OCTET/BIT STRING encapsulates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TlvNode>,
    /// True when `children` were decoded from inside an OCTET STRING or BIT STRING.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encapsulated: bool,
}

const MAX_TREE_DEPTH: usize = 40;

/// Parse `bytes` as a sequence of BER-TLV elements into a tree. Trailing zero padding
/// is allowed; anything else that is not TLV is an error.
pub fn tlv_tree(bytes: &[u8]) -> anyhow::Result<Vec<TlvNode>> {
    let mut out = Vec::new();
    let mut reader = tlv::Reader::new_ber(bytes);
    while !reader.is_empty() {
        if reader.only_zero_padding_left() {
            break;
        }
        let offset = bytes.len() - reader.remaining().len();
        let t = reader
            .read()
            .with_context(|| format!("malformed TLV at offset {offset}"))?;
        out.push(tlv_node(&t, offset, 0, 0));
    }
    Ok(out)
}

pub(super) fn tlv_node(t: &Tlv<'_>, offset: usize, parent: u32, depth: usize) -> TlvNode {
    let mut node = TlvNode {
        tag: format!("{:02X}", t.tag),
        name: tag_name(t.tag, parent),
        offset,
        length: t.value.len(),
        length_form: match t.form {
            LengthForm::NonMinimal => Some("non_minimal"),
            LengthForm::Indefinite => Some("indefinite"),
            _ => None,
        },
        value: None,
        text: None,
        children: Vec::new(),
        encapsulated: false,
    };
    let value_offset = offset + t.header_len();
    if t.is_constructed() && depth < MAX_TREE_DEPTH {
        match children_of(t.value, value_offset, t.tag, depth) {
            Some(kids) => node.children = kids,
            None => node.value = Some(hex::encode_upper(t.value)),
        }
        return node;
    }
    node.value = Some(hex::encode_upper(t.value));
    node.text = primitive_text(t.tag, t.value);
    // DER inside OCTET STRING (eContent) or BIT STRING (subjectPublicKey)
    let inner = match t.tag {
        0x04 => Some((t.value, value_offset)),
        0x03 => t
            .value
            .split_first()
            .filter(|(u, _)| **u == 0)
            .map(|(_, r)| (r, value_offset + 1)),
        _ => None,
    };
    if let Some((inner, inner_offset)) = inner
        && depth < MAX_TREE_DEPTH
        && matches!(inner.first(), Some(0x30 | 0x31))
        && tlv::parse_ber(inner).is_ok_and(|x| x.raw.len() == inner.len())
        && let Some(kids) = children_of(inner, inner_offset, t.tag, depth)
    {
        node.children = kids;
        node.encapsulated = true;
        node.text = None;
    }
    node
}

pub(super) fn children_of(
    value: &[u8],
    value_offset: usize,
    parent: u32,
    depth: usize,
) -> Option<Vec<TlvNode>> {
    let mut kids = Vec::new();
    let mut r = tlv::Reader::new_ber(value);
    while !r.is_empty() {
        let off = value_offset + value.len() - r.remaining().len();
        let k = r.read().ok()?;
        kids.push(tlv_node(&k, off, parent, depth + 1));
    }
    Some(kids)
}

pub(super) fn tag_name(tag: u32, parent: u32) -> Option<&'static str> {
    Some(match tag {
        0x02 if parent == 0x7F61 => "number of instances",
        0x01 => "BOOLEAN",
        0x02 => "INTEGER",
        0x03 => "BIT STRING",
        0x04 => "OCTET STRING",
        0x05 => "NULL",
        0x06 => "OBJECT IDENTIFIER",
        0x0A => "ENUMERATED",
        0x0C => "UTF8String",
        0x13 => "PrintableString",
        0x14 => "TeletexString",
        0x16 => "IA5String",
        0x17 => "UTCTime",
        0x18 => "GeneralizedTime",
        0x1E => "BMPString",
        0x30 => "SEQUENCE",
        0x31 => "SET",
        0x60 => "EF.COM",
        0x77 => "EF.SOD",
        0x75 => "DG2",
        0x63 => "DG3",
        0x76 => "DG4",
        0x65 => "DG5",
        0x66 => "DG6",
        0x67 => "DG7",
        0x68 => "DG8",
        0x69 => "DG9",
        0x6A => "DG10",
        0x6E => "DG14",
        0x5F01 => "LDS version",
        0x5F36 => "Unicode version",
        0x5C => "tag list",
        0x5F1F => "MRZ",
        0x7F61 => "biometric information group template",
        0x7F60 => "biometric information template",
        0x5F2E => "biometric data block",
        0x7F2E => "biometric data block (enciphered)",
        0x5F40 | 0x5F43 => "displayed image",
        0xA1 if parent == 0x7F60 => "biometric header template",
        0x80 if parent == 0xA1 => "ICAO header version",
        0x81 if parent == 0xA1 => "biometric type",
        0x82 if parent == 0xA1 => "biometric subtype",
        0x83 if parent == 0xA1 => "creation date and time",
        0x85 if parent == 0xA1 => "validity period",
        0x86 if parent == 0xA1 => "creator",
        0x87 if parent == 0xA1 => "format owner",
        0x88 if parent == 0xA1 => "format type",
        _ => return None,
    })
}

pub(super) fn is_printable(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(|b| (0x20..0x7F).contains(b))
}

pub(super) fn primitive_text(tag: u32, v: &[u8]) -> Option<String> {
    match tag {
        0x06 => {
            let dotted = crate::lds::dg15::oid_to_string(v)?;
            Some(match oid_name(&dotted) {
                Some(n) => format!("{dotted} ({n})"),
                None => dotted,
            })
        }
        0x02 | 0x0A if !v.is_empty() && v.len() <= 8 => {
            let negative = v.first().is_some_and(|b| b & 0x80 != 0);
            let mut x: i64 = if negative { -1 } else { 0 };
            for b in v {
                x = (x << 8) | i64::from(*b);
            }
            Some(x.to_string())
        }
        0x01 => v
            .first()
            .map(|b| if *b == 0 { "false".into() } else { "true".into() }),
        0x0C | 0x13 | 0x14 | 0x16 | 0x17 | 0x18 => std::str::from_utf8(v).ok().map(str::to_owned),
        0x1E => {
            let units: Vec<u16> = v
                .chunks_exact(2)
                .map(|c| c.iter().fold(0u16, |a, b| (a << 8) | u16::from(*b)))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ if is_printable(v) => Some(String::from_utf8_lossy(v).into_owned()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------
// PEM and LDIF

/// One PEM block.
#[derive(Debug, serde::Serialize)]
pub struct PemBlock {
    /// The label (`CERTIFICATE`, `X509 CRL`, …).
    pub label: String,
    /// The kind of its DER content, when recognised.
    pub kind: Option<FileKind>,
    /// Size of the DER content.
    pub size: usize,
    /// SHA-256 of the DER content.
    pub sha256: String,
    /// Its typed decoding, for kinds inspect decodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Box<super::Content>>,
    /// Its TLV tree (when not decoded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tlv: Vec<TlvNode>,
    /// The DER content.
    #[serde(skip)]
    pub der: Vec<u8>,
}

pub(super) fn pem_blocks(bytes: &[u8]) -> anyhow::Result<Vec<PemBlock>> {
    let text = std::str::from_utf8(bytes).context("PEM is not text")?;
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = rest.get(start + 11..).unwrap_or_default();
        let label_end = after
            .find("-----")
            .ok_or_else(|| anyhow!("unterminated PEM header"))?;
        let label = after.get(..label_end).unwrap_or_default().to_owned();
        let body_start = after.get(label_end + 5..).unwrap_or_default();
        let end_marker = format!("-----END {label}-----");
        let body_end = body_start
            .find(&end_marker)
            .ok_or_else(|| anyhow!("PEM block {label} has no END line"))?;
        let body: String = body_start
            .get(..body_end)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains(':'))
            .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .with_context(|| format!("PEM block {label}: invalid base64"))?;
        blocks.push(PemBlock {
            kind: detect::detect(&der),
            size: der.len(),
            sha256: crate::crypto::sha256_hex(&der),
            tlv: tlv_tree(&der).with_context(|| format!("PEM block {label}"))?,
            content: None,
            der,
            label,
        });
        rest = body_start.get(body_end + end_marker.len()..).unwrap_or_default();
    }
    if blocks.is_empty() {
        return Err(anyhow!("no PEM block found"));
    }
    Ok(blocks)
}

/// What an LDIF file holds.
#[derive(Debug, serde::Serialize)]
pub struct LdifSummary {
    /// Number of entries (`dn:` lines).
    pub entries: usize,
    /// The first distinguished names (at most 50).
    pub dns: Vec<String>,
    /// Attribute names with how often they occur, sorted by name.
    pub attributes: Vec<(String, usize)>,
}

pub(super) fn ldif_summary(bytes: &[u8]) -> LdifSummary {
    let text = String::from_utf8_lossy(bytes);
    let mut entries = 0;
    let mut dns = Vec::new();
    let mut attrs = std::collections::BTreeMap::<String, usize>::new();
    for line in text.lines() {
        if line.starts_with(' ') || line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("dn") {
            entries += 1;
            if dns.len() < 50 {
                let v = value.trim_start_matches(':').trim();
                let dn = if value.starts_with(':') {
                    base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_else(|_| v.to_owned())
                } else {
                    v.to_owned()
                };
                dns.push(dn);
            }
        } else if !name.eq_ignore_ascii_case("version") {
            *attrs.entry(name.to_owned()).or_default() += 1;
        }
    }
    LdifSummary {
        entries,
        dns,
        attributes: attrs.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_tree_descends_into_encapsulated_der() {
        // 30 { 04 { 30 { 02 01 05 } } }
        let b = hex::decode("3007040530030201 05".replace(' ', "")).unwrap();
        let t = tlv_tree(&b).unwrap();
        let oct = &t[0].children[0];
        assert!(oct.encapsulated);
        assert_eq!(oct.children[0].children[0].text.as_deref(), Some("5"));
        assert!(tlv_tree(&[0x30, 0x05, 0x01]).is_err());
        assert_eq!(tlv_tree(&[0x04, 0x01, 0x41, 0x00, 0x00]).unwrap().len(), 1);
    }

    #[test]
    fn oid_and_integer_text() {
        assert_eq!(
            primitive_text(0x06, &hex::decode("2A864886F70D010702").unwrap()).as_deref(),
            Some("1.2.840.113549.1.7.2 (signedData)")
        );
        assert_eq!(primitive_text(0x02, &[0xFF]).as_deref(), Some("-1"));
        assert_eq!(primitive_text(0x02, &[0x01, 0x00]).as_deref(), Some("256"));
    }

    #[test]
    fn ldif_summary_counts_entries() {
        let l = ldif_summary(b"version: 1\n\ndn: c=DE,o=ml\nobjectClass: top\npkdMasterListContent:: MA==\n\ndn:: Yz1OTA==\nobjectClass: top\n");
        assert_eq!(l.entries, 2);
        assert_eq!(l.dns, vec!["c=DE,o=ml", "c=NL"]);
        assert_eq!(
            l.attributes,
            vec![("objectClass".into(), 2), ("pkdMasterListContent".into(), 1)]
        );
    }
}

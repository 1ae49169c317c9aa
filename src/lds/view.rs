//! What `emrtd inspect` shows of a decoded LDS file: a tree of `name: value` lines.
//!
//! Each LDS file builds its own tree (the `view` of [`crate::lds::group::DataGroup`]);
//! the CLI prints it, sanitised for the terminal line by line. Nothing here writes
//! to a terminal or knows about escapes.
//!
//! The structures LDS files embed have their views here too, so that the security
//! objects are shown by the `lds` layer like every other file: [`cms`] (SignedData,
//! signer infos), [`x509`] (certificates, CRLs, public keys, algorithm identifiers) and
//! [`oid`] (OID names). `inspect` shows a certificate, a CRL or a master list read on
//! its own with the same views.

pub mod cms;
pub mod oid;
pub mod x509;

use crate::lds::dg11::{field_parts, name_parts};
use crate::lds::quirk::{DateEncoding, DateField};

/// A line of the tree with its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The line (not yet sanitised for a terminal).
    pub text: String,
    /// The lines below it.
    pub kids: Vec<Node>,
}

impl Node {
    /// A line without children.
    pub fn new(text: impl Into<String>) -> Self {
        Node {
            text: text.into(),
            kids: Vec::new(),
        }
    }

    /// `name: value`.
    pub fn field(name: &str, value: impl std::fmt::Display) -> Self {
        Node::new(format!("{name}: {value}"))
    }

    /// The same line with these children.
    #[must_use]
    pub fn with(mut self, kids: Vec<Node>) -> Self {
        self.kids = kids;
        self
    }
}

/// Push `name: value` when the value is present (`(empty)` for an empty one).
pub fn opt(nodes: &mut Vec<Node>, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        nodes.push(Node::field(name, if v.is_empty() { "(empty)" } else { v }));
    }
}

/// Push `name: part / part` for a `<`-separated field, when present.
pub fn opt_parts(nodes: &mut Vec<Node>, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        let parts = field_parts(v);
        nodes.push(Node::field(
            name,
            if parts.is_empty() {
                "(empty)".into()
            } else {
                parts.join(" / ")
            },
        ));
    }
}

/// A date as read, with how it was encoded when that was not ASCII.
pub fn date(d: &DateField) -> String {
    let shown = d.iso().unwrap_or_else(|| d.text.clone());
    match d.encoding {
        DateEncoding::Ascii => shown,
        DateEncoding::Bcd => format!("{shown} (BCD)"),
        DateEncoding::Unknown => format!(
            "{shown} (unrecognised encoding, raw {})",
            hex::encode_upper(&d.raw)
        ),
    }
}

/// Push `name: date` when present.
pub fn opt_date(nodes: &mut Vec<Node>, name: &str, v: &Option<DateField>) {
    if let Some(d) = v {
        nodes.push(Node::field(name, date(d)));
    }
}

/// `N bytes, sha256 …`: how an embedded image or blob is shown (never its bytes).
pub fn bytes_summary(b: &[u8]) -> String {
    format!("{} bytes, sha256 {}", b.len(), crate::crypto::sha256_hex(b))
}

/// Hex, cut after 32 bytes.
pub fn short_hex(b: &[u8]) -> String {
    const SHOW: usize = 32;
    if b.len() <= SHOW {
        hex::encode_upper(b)
    } else {
        format!(
            "{}… ({} bytes)",
            hex::encode_upper(b.get(..SHOW).unwrap_or_default()),
            b.len()
        )
    }
}

/// A tag list as `5F0E 5F2B …`.
pub fn tags(list: &[u32]) -> String {
    list.iter()
        .map(|t| format!("{t:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `tag: value` of a data object no decoder knows.
pub fn unknown(tag: u32, value: &[u8]) -> Node {
    Node::field(&format!("{tag:02X}"), short_hex(value))
}

/// A name in MRZ style, with its primary and secondary identifiers below it.
pub fn name_node(label: &str, name: &str) -> Node {
    let (primary, secondary) = name_parts(name);
    if secondary.is_empty() && primary == name {
        return Node::field(label, name);
    }
    let mut kids = vec![Node::field("primary identifier", primary)];
    if !secondary.is_empty() {
        kids.push(Node::field("secondary identifier", secondary));
    }
    Node::field(label, name).with(kids)
}

/// `N declared, M found` (or `(absent), M found`): how a count data object (`02`) is
/// shown next to what the file holds.
pub fn count(declared: Option<u64>, found: usize) -> String {
    match declared {
        Some(c) => format!("{c} declared, {found} found"),
        None => format!("(absent), {found} found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hex_cuts_after_32_bytes() {
        assert_eq!(short_hex(&[0xAB, 0x01]), "AB01");
        let long = short_hex(&[0u8; 40]);
        assert!(long.ends_with("… (40 bytes)"), "{long}");
    }

    #[test]
    fn names_split_into_identifiers() {
        let n = name_node("name", "SMITH<<JOHN<J");
        assert_eq!(n.kids.len(), 2);
        assert_eq!(n.kids[1].text, "secondary identifier: JOHN J");
        assert!(name_node("name", "Doe John").kids.is_empty());
        assert_eq!(count(Some(2), 1), "2 declared, 1 found");
        assert_eq!(count(None, 0), "(absent), 0 found");
    }
}

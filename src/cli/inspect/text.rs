//! The human rendering: an indented tree of `name: value` lines.

use std::fmt::Write as _;

use super::Content;
use super::tree::TlvNode;
pub(super) use crate::lds::view::{Node, short_hex};

/// Write a node and its children, indented, every line sanitised here, once, for the
/// terminal: names, DG11/DG12 fields, certificate subjects and anything else a file
/// holds cannot print control characters, new lines or bidi overrides.
pub(super) fn write(node: &Node, indent: usize, out: &mut String) {
    let _ = writeln!(
        out,
        "{:indent$}{}",
        "",
        crate::cli::output::sanitize_terminal(&node.text)
    );
    for k in &node.kids {
        write(k, indent + 2, out);
    }
}

pub(super) fn content_nodes(c: &Content) -> Vec<Node> {
    let mut n = Vec::new();
    match c {
        Content::Lds(d) => n.extend(d.view()),
        Content::Certificate(v) => n.extend(v.nodes()),
        Content::Crl(v) => n.extend(v.nodes()),
        Content::CvCertificate(v) => n.extend(v.nodes()),
        Content::MasterList(v) => n.extend(v.nodes()),
        Content::SignedData(v) => {
            n.extend(v.cms.nodes());
            if let Some(c) = v.content_elements {
                n.push(Node::field("eContent elements", c));
            }
        }
        Content::Tlv { tlv } => n.extend(tlv.iter().map(tlv_human)),
        Content::Pem { blocks } => {
            for b in blocks {
                let kind = b.kind.map_or_else(|| "unrecognised content".into(), |k| k.name());
                n.push(
                    Node::new(format!(
                        "{} ({kind}, {} bytes, sha256 {})",
                        b.label, b.size, b.sha256
                    ))
                    .with(match &b.content {
                        Some(c) => content_nodes(c),
                        None => b.tlv.iter().map(tlv_human).collect(),
                    }),
                );
            }
        }
        Content::Ldif(l) => {
            n.push(Node::field("entries", l.entries));
            n.push(
                Node::new("attributes").with(l.attributes.iter().map(|(a, c)| Node::field(a, c)).collect()),
            );
            let shown = if l.entries > l.dns.len() {
                format!("first {} dn", l.dns.len())
            } else {
                "dn".into()
            };
            n.push(Node::new(shown).with(l.dns.iter().map(Node::new).collect()));
        }
    }
    n
}

pub(super) fn tlv_human(t: &TlvNode) -> Node {
    let mut line = t.tag.clone();
    if let Some(name) = t.name {
        let _ = write!(line, " {name}");
    }
    let _ = write!(line, " [{}]", t.length);
    if let Some(f) = t.length_form {
        let _ = write!(line, " ({f} length)");
    }
    if t.encapsulated {
        line.push_str(" encapsulates:");
    } else if let Some(text) = &t.text {
        let _ = write!(line, ": {}", printable_line(text));
    } else if let Some(v) = t.value.as_ref().filter(|v| !v.is_empty()) {
        let bytes = hex::decode(v).unwrap_or_default();
        let _ = write!(line, ": {}", short_hex(&bytes));
    }
    Node::new(line).with(t.children.iter().map(tlv_human).collect())
}

pub(super) fn printable_line(s: &str) -> String {
    const MAX: usize = 120;
    let clean: String = s.chars().map(|c| if c.is_control() { '.' } else { c }).collect();
    if clean.chars().count() > MAX {
        format!("{}…", clean.chars().take(MAX).collect::<String>())
    } else {
        clean
    }
}

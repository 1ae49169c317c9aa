//! The human rendering: an indented tree of `name: value` lines.

use std::fmt::Write as _;

use super::Content;
use super::tree::TlvNode;
use crate::lds::dg11::{field_parts, name_parts};
use crate::lds::dg15::{EcParameters, PublicKeyInfo};
use crate::lds::quirk::DateField;

/// A line of the tree with its children.
pub struct Node {
    pub(super) text: String,
    pub(super) kids: Vec<Node>,
}

impl Node {
    pub(super) fn new(text: impl Into<String>) -> Self {
        Node {
            text: text.into(),
            kids: Vec::new(),
        }
    }

    pub(super) fn field(name: &str, value: impl std::fmt::Display) -> Self {
        Node::new(format!("{name}: {value}"))
    }

    pub(super) fn with(mut self, kids: Vec<Node>) -> Self {
        self.kids = kids;
        self
    }

    /// Every node's text is sanitised here, once, for the terminal: names, DG11/DG12
    /// fields, certificate subjects and anything else a file holds cannot print
    /// control characters, new lines or bidi overrides.
    pub(super) fn write(&self, indent: usize, out: &mut String) {
        let _ = writeln!(
            out,
            "{:indent$}{}",
            "",
            crate::cli::output::sanitize_terminal(&self.text)
        );
        for k in &self.kids {
            k.write(indent + 2, out);
        }
    }
}

/// Push `name: value` when the value is present.
pub(super) fn opt(nodes: &mut Vec<Node>, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        nodes.push(Node::field(name, if v.is_empty() { "(empty)" } else { v }));
    }
}

pub(super) fn opt_parts(nodes: &mut Vec<Node>, name: &str, v: &Option<String>) {
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

pub(super) fn date(d: &DateField) -> String {
    let shown = d.iso().unwrap_or_else(|| d.text.clone());
    match d.encoding {
        crate::lds::quirk::DateEncoding::Ascii => shown,
        crate::lds::quirk::DateEncoding::Bcd => format!("{shown} (BCD)"),
        crate::lds::quirk::DateEncoding::Unknown => format!(
            "{shown} (unrecognised encoding, raw {})",
            hex::encode_upper(&d.raw)
        ),
    }
}

pub(super) fn opt_date(nodes: &mut Vec<Node>, name: &str, v: &Option<DateField>) {
    if let Some(d) = v {
        nodes.push(Node::field(name, date(d)));
    }
}

pub(super) fn bytes_summary(b: &[u8]) -> String {
    format!("{} bytes, sha256 {}", b.len(), crate::crypto::sha256_hex(b))
}

pub(super) fn short_hex(b: &[u8]) -> String {
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

pub(super) fn tags(list: &[u32]) -> String {
    list.iter()
        .map(|t| format!("{t:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn name_node(label: &str, name: &str) -> Node {
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

pub(super) fn content_nodes(c: &Content) -> Vec<Node> {
    let mut n = Vec::new();
    match c {
        Content::Com(com) => {
            if let Some(v) = &com.lds_version {
                n.push(Node::field("LDS version", format!("{v} ({})", v.raw)));
            }
            if let Some(v) = &com.unicode_version {
                n.push(Node::field("Unicode version", format!("{v} ({})", v.raw)));
            }
            n.push(Node::field("tag list", hex::encode_upper(&com.tag_list)));
            let files: Vec<String> = com.files().iter().map(|f| f.name()).collect();
            n.push(Node::field("data groups", files.join(", ")));
        }
        Content::Dir(dir) => {
            for a in &dir.applications {
                let mut kids = Vec::new();
                if let Some(name) = a.name() {
                    kids.push(Node::field("application", name));
                }
                if let Some(l) = &a.label {
                    kids.push(Node::field("label", l));
                }
                for o in &a.other {
                    kids.push(Node::field(&format!("{:02X}", o.tag), short_hex(&o.value)));
                }
                n.push(Node::field("AID", hex::encode_upper(&a.aid)).with(kids));
            }
        }
        Content::AtrInfo(a) => {
            if let Some(e) = &a.extended_length {
                n.push(Node::new("extended length information (7F66)").with(vec![
                    Node::field("max command APDU", e.max_command_apdu),
                    Node::field("max response APDU", e.max_response_apdu),
                ]));
            }
            if let Some(cc) = &a.card_capabilities {
                let mut line = hex::encode_upper(cc);
                if let Some(s) = a.extended_length_supported() {
                    let _ = write!(
                        line,
                        " (extended Lc/Le {})",
                        if s { "announced" } else { "absent" }
                    );
                }
                n.push(Node::field("card capabilities (47)", line));
            }
            for o in &a.objects {
                n.push(Node::field(&format!("{:02X}", o.tag), short_hex(&o.value)));
            }
        }
        Content::Dg1 {
            dg1: d,
            mrz_check,
            mrz_error,
        } => {
            let f = &d.fields;
            n.push(Node::field("format", d.format));
            n.push(Node::new("MRZ").with(d.lines().into_iter().map(Node::new).collect()));
            n.push(Node::field("document code", &f.document_code));
            n.push(Node::field("issuing state", &f.issuing_state));
            n.push(Node::field(
                "document number",
                format!("{} (check digit {})", f.document_number, f.document_number_check),
            ));
            n.push(name_node("name", &f.name));
            n.push(Node::field("nationality", &f.nationality));
            n.push(Node::field(
                "date of birth",
                format!("{} (check digit {})", f.date_of_birth, f.date_of_birth_check),
            ));
            n.push(Node::field("sex", f.sex));
            n.push(Node::field(
                "date of expiry",
                format!("{} (check digit {})", f.date_of_expiry, f.date_of_expiry_check),
            ));
            n.push(Node::field("optional data", &f.optional_data));
            if let Some(o) = &f.optional_data_2 {
                n.push(Node::field("optional data 2", o));
            }
            if let Some(c) = f.composite_check {
                n.push(Node::field("composite check digit", c));
            }
            if let Some(m) = mrz_check {
                let digits = m
                    .check_digits()
                    .iter()
                    .map(|c| {
                        let verdict = if c.ok {
                            "ok".to_owned()
                        } else {
                            format!("WRONG, computed {}", c.computed)
                        };
                        Node::field(c.field.name(), format!("{} {verdict}", c.given))
                    })
                    .collect();
                n.push(Node::new("check digits").with(digits));
                for w in m.warnings() {
                    n.push(Node::field("MRZ warning", w));
                }
                for d in m.defects() {
                    n.push(Node::field("MRZ defect", d));
                }
            }
            if let Some(e) = mrz_error {
                n.push(Node::field("MRZ check", format!("not possible: {e}")));
            }
        }
        Content::Biometric(v) => n.extend(v.nodes()),
        Content::Sod(v) => n.extend(v.nodes()),
        Content::SecurityInfos(v) => n.extend(v.nodes()),
        Content::CardSecurity(v) => n.extend(v.nodes()),
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
        Content::Displayed(v) => n.extend(v.nodes()),
        Content::Dg11(d) => {
            if let Some(t) = &d.tag_list {
                n.push(Node::field("tag list", tags(t)));
            }
            if let Some(name) = &d.full_name {
                n.push(name_node("full name", name));
            }
            for o in &d.other_names {
                n.push(name_node("other name", o));
            }
            opt(&mut n, "personal number", &d.personal_number);
            opt_date(&mut n, "full date of birth", &d.full_date_of_birth);
            opt_parts(&mut n, "place of birth", &d.place_of_birth);
            opt_parts(&mut n, "address", &d.address);
            opt(&mut n, "telephone", &d.telephone);
            opt_parts(&mut n, "profession", &d.profession);
            opt(&mut n, "title", &d.title);
            opt(&mut n, "personal summary", &d.personal_summary);
            if let Some(img) = &d.proof_of_citizenship {
                n.push(Node::field("proof of citizenship (image)", bytes_summary(img)));
            }
            opt_parts(&mut n, "other valid TD numbers", &d.other_td_numbers);
            opt(&mut n, "custody information", &d.custody_information);
            for u in &d.unknown {
                n.push(Node::field(&format!("{:02X}", u.tag), short_hex(&u.value)));
            }
        }
        Content::Dg12(d) => {
            if let Some(t) = &d.tag_list {
                n.push(Node::field("tag list", tags(t)));
            }
            opt(&mut n, "issuing authority", &d.issuing_authority);
            opt_date(&mut n, "date of issue", &d.date_of_issue);
            for p in &d.other_persons {
                n.push(name_node("other person", p));
            }
            opt(&mut n, "endorsements / observations", &d.endorsements);
            opt(&mut n, "tax / exit requirements", &d.tax_exit_requirements);
            if let Some(img) = &d.front_image {
                n.push(Node::field("image of front", bytes_summary(img)));
            }
            if let Some(img) = &d.rear_image {
                n.push(Node::field("image of rear", bytes_summary(img)));
            }
            opt_date(&mut n, "personalisation time", &d.personalisation_time);
            opt(
                &mut n,
                "personalisation device serial",
                &d.personalisation_device_serial,
            );
            for u in &d.unknown {
                n.push(Node::field(&format!("{:02X}", u.tag), short_hex(&u.value)));
            }
        }
        Content::Dg13(d) => {
            n.push(Node::field("content", short_hex(&d.content)));
        }
        Content::Dg15 { dg15, public_key } => {
            n.push(Node::field(
                "algorithm",
                format!("{} ({})", dg15.algorithm_name(), dg15.algorithm_oid),
            ));
            match &dg15.key {
                PublicKeyInfo::Rsa {
                    modulus,
                    modulus_bits,
                    exponent,
                } => {
                    n.push(Node::field("modulus bits", modulus_bits));
                    n.push(Node::field("modulus", short_hex(modulus)));
                    n.push(Node::field(
                        "public exponent",
                        dg15.rsa_exponent()
                            .map_or_else(|| hex::encode_upper(exponent), |e| e.to_string()),
                    ));
                }
                PublicKeyInfo::Ec { parameters, point } => {
                    match parameters {
                        EcParameters::Named { oid, name } => {
                            n.push(Node::field(
                                "curve",
                                format!("{} ({oid})", name.unwrap_or("unknown to OpenSSL")),
                            ));
                        }
                        EcParameters::Explicit(c) => {
                            n.push(Node::new("explicit domain parameters").with(vec![
                                Node::field("field bits", c.field_bits),
                                Node::field("equal to", c.known_curve.unwrap_or("no curve known to OpenSSL")),
                                Node::field("p", short_hex(&c.p)),
                                Node::field("a", short_hex(&c.a)),
                                Node::field("b", short_hex(&c.b)),
                                Node::field("G", short_hex(&c.generator)),
                                Node::field("n", short_hex(&c.order)),
                                Node::field("h", c.cofactor.map_or("(absent)".into(), |h| h.to_string())),
                            ]));
                        }
                        EcParameters::ImplicitlyCa => n.push(Node::field("curve", "implicitlyCA")),
                    }
                    n.push(Node::field("public point", short_hex(point)));
                }
                PublicKeyInfo::Other { .. } => {}
            }
            if let Some(bits) = dg15.key_bits() {
                n.push(Node::field("key size (bits)", bits));
            }
            n.push(Node::field("SubjectPublicKeyInfo", bytes_summary(&dg15.spki)));
            n.push(Node::field("OpenSSL key", public_key));
        }
        Content::Dg16(d) => {
            if let Some(c) = d.declared_count {
                n.push(Node::field("number of persons", c));
            }
            for (i, p) in d.persons.iter().enumerate() {
                let mut kids = Vec::new();
                opt_date(&mut kids, "date recorded", &p.date_recorded);
                opt(&mut kids, "name", &p.name);
                opt(&mut kids, "telephone", &p.telephone);
                opt_parts(&mut kids, "address", &p.address);
                n.push(Node::new(format!("person {}", i + 1)).with(kids));
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

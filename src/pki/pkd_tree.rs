//! The ICAO PKD download tree as an LDAP directory holds it: the layout and its DNs, as
//! `emrtd pkd sync` reads them. (The writer of such a tree for the tests' and
//! benchmarks' slapd is a test tool: `pki::fixtures::pkd_tree`.)
//!
//! Layout (public facts about the ICAO PKD): below `dc=download,dc=pkd,dc=icao,dc=int`,
//! `dc=data` holds conformant entries and `dc=nc-data` non-conformant ones; below each,
//! per country `c=XX`, then `o=dsc`, `o=crl`, `o=ml`, `o=dl`, `o=bcsc`, `o=bcsc-nc`.
//! Entries are `cn=…+sn=…,o=dsc,c=XX,…`. The schema of the PKD attributes is
//! `docs/ldap/icao-pkd.schema`.

/// The root of the ICAO PKD download tree.
pub const PKD_DOWNLOAD_BASE: &str = "dc=download,dc=pkd,dc=icao,dc=int";

/// Split a DN into its RDNs (most specific first), at commas that are not escaped
/// (RFC 4514 §2.4: `\,` and `\` + two hex digits are part of a value). Each RDN keeps
/// its escapes and is trimmed of surrounding spaces.
pub fn split_dn(dn: &str) -> Vec<&str> {
    split_unescaped(dn, b',')
}

/// Split an RDN into its `type=value` parts at unescaped `+`.
pub fn split_rdn(rdn: &str) -> Vec<&str> {
    split_unescaped(rdn, b'+')
}

fn split_unescaped(s: &str, sep: u8) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'\\') => i += 2,
            Some(b) if *b == sep => {
                out.push(s.get(start..i).unwrap_or_default().trim());
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push(s.get(start..).unwrap_or_default().trim());
    out.retain(|p| !p.is_empty());
    out
}

/// `(type, value)` of an RDN part `type=value`, the value unescaped; `None` without `=`.
pub fn rdn_pair(part: &str) -> Option<(String, String)> {
    let (t, v) = part.split_once('=')?;
    Some((t.trim().to_ascii_lowercase(), unescape_dn_value(v.trim())))
}

/// Undo RFC 4514 escaping: `\c` is `c`, `\hh` is the byte 0xhh.
pub fn unescape_dn_value(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
            } else if let Some(&n) = b.get(i + 1) {
                out.push(n);
                i += 2;
            } else {
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Case-insensitive "is `dn` at or below `base`" on RDN boundaries.
pub fn is_under(dn: &str, base: &str) -> bool {
    let d = split_dn(dn);
    let b = split_dn(base);
    d.len() >= b.len()
        && d.iter()
            .rev()
            .zip(b.iter().rev())
            .all(|(x, y)| x.eq_ignore_ascii_case(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_split_respects_escapes() {
        let dn = r"cn=CN\=DS XA 1\,O\=Document Signing\,C\=XA+sn=11,o=dsc,c=XA,dc=data,dc=download,dc=pkd,dc=icao,dc=int";
        let rdns = split_dn(dn);
        assert_eq!(rdns.len(), 8);
        assert_eq!(rdns.get(1).copied(), Some("o=dsc"));
        let first = split_rdn(rdns.first().copied().unwrap_or_default());
        assert_eq!(
            rdn_pair(first.first().copied().unwrap_or_default()),
            Some(("cn".into(), "CN=DS XA 1,O=Document Signing,C=XA".into()))
        );
        assert_eq!(
            rdn_pair(first.get(1).copied().unwrap_or_default()),
            Some(("sn".into(), "11".into()))
        );
        assert!(is_under(dn, "DC=data,dc=download,dc=pkd,dc=icao,dc=int"));
        assert!(!is_under(dn, "dc=nc-data,dc=download,dc=pkd,dc=icao,dc=int"));
        assert_eq!(unescape_dn_value(r"a\2Cb\\c"), r"a,b\c");
    }
}

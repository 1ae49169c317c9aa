//! The ICAO PKD download tree as an LDAP directory holds it, and a writer of that tree
//! in LDIF for a real directory server (`slapadd`/`ldapadd`): the tests' and benchmarks'
//! slapd is loaded from it, and `emrtd pkd sync` reads the same layout back.
//!
//! Layout (public facts about the ICAO PKD): below `dc=download,dc=pkd,dc=icao,dc=int`,
//! `dc=data` holds conformant entries and `dc=nc-data` non-conformant ones; below each,
//! per country `c=XX`, then `o=dsc`, `o=crl`, `o=ml`, `o=dl`, `o=bcsc`, `o=bcsc-nc`.
//! Entries are `cn=…+sn=…,o=dsc,c=XX,…`. The schema of the PKD attributes is
//! `docs/ldap/icao-pkd.schema`.
//!
//! The PKD LDIF files carry only the entries; a directory also needs every entry above
//! them (`dc=data`, `c=XX`, `o=dsc`, …). [`write_tree`] writes those containers first
//! (parents before children, as `slapadd` wants), then the entries. It also makes each
//! entry's naming attributes (`cn`, `sn`) carry the RDN's value unescaped, as a
//! directory requires (the project's fixture LDIFs keep the DN-escaped form there).

use std::collections::BTreeSet;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use super::fixtures::{self, FixtureError};
use super::ldif::{self, LdifAttr, LdifReader, LdifRecord};

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

/// What [`write_tree`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeSummary {
    /// Container entries (the suffix, `dc=data`, `c=XX`, `o=dsc`, …).
    pub containers: usize,
    /// PKD entries (DSCs, CRLs, lists).
    pub entries: usize,
}

/// Write `records` below `suffix` as one LDIF a directory can load: every missing
/// container from `suffix` (included) down, parents first, then the records in order.
/// Records not under `suffix` are skipped.
pub fn write_tree(w: &mut impl Write, suffix: &str, records: &[LdifRecord]) -> std::io::Result<TreeSummary> {
    let suffix_len = split_dn(suffix).len();
    let mut containers: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut own: BTreeSet<String> = BTreeSet::new();
    for r in records
        .iter()
        .filter(|r| !r.dn.is_empty() && is_under(&r.dn, suffix))
    {
        own.insert(r.dn.to_ascii_lowercase());
        let rdns = split_dn(&r.dn);
        for depth in suffix_len..rdns.len() {
            let parent = rdns.get(rdns.len() - depth..).unwrap_or_default().join(",");
            containers.insert((depth, parent));
        }
    }
    let mut summary = TreeSummary::default();
    for (_, dn) in &containers {
        if own.contains(&dn.to_ascii_lowercase()) {
            continue;
        }
        let Some((attr, value)) = split_dn(dn).first().and_then(|r| rdn_pair(r)) else {
            continue;
        };
        let class: &[&str] = match attr.as_str() {
            "dc" => &["top", "domain"],
            "c" => &["top", "country"],
            "o" => &["top", "organization"],
            "ou" => &["top", "organizationalUnit"],
            _ => &["top", "applicationProcess"],
        };
        let mut attrs: Vec<(&str, &[u8], bool)> = class
            .iter()
            .map(|c| ("objectClass", c.as_bytes(), false))
            .collect();
        attrs.push((attr.as_str(), value.as_bytes(), false));
        ldif::write_record(w, dn, &attrs)?;
        summary.containers += 1;
    }
    for r in records
        .iter()
        .filter(|r| !r.dn.is_empty() && is_under(&r.dn, suffix))
    {
        let fixed = naming_values_fixed(r);
        let attrs: Vec<(&str, &[u8], bool)> = fixed
            .iter()
            .map(|a| {
                (
                    a.name.as_str(),
                    a.value.as_slice(),
                    a.name.contains(";binary") || a.name.ends_with("Content"),
                )
            })
            .collect();
        ldif::write_record(w, &r.dn, &attrs)?;
        summary.entries += 1;
    }
    Ok(summary)
}

/// The record's attributes with each naming attribute of its RDN set to the RDN's
/// unescaped value (added when missing).
fn naming_values_fixed(r: &LdifRecord) -> Vec<LdifAttr> {
    let mut attrs = r.attrs.clone();
    let rdn = split_dn(&r.dn).first().copied().unwrap_or_default();
    for (t, v) in split_rdn(rdn).into_iter().filter_map(rdn_pair) {
        let value = v.into_bytes();
        match attrs.iter_mut().find(|a| a.name.eq_ignore_ascii_case(&t)) {
            Some(a) => a.value = value,
            None => attrs.push(LdifAttr {
                name: t,
                value,
                line: 0,
                bad_base64: false,
            }),
        }
    }
    attrs
}

/// Every record of an LDIF file.
pub fn read_ldif(path: &Path) -> Result<Vec<LdifRecord>, FixtureError> {
    let file = std::fs::File::open(path).map_err(|source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = LdifReader::new(BufReader::with_capacity(1 << 16, file));
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().map_err(|e| FixtureError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    })? {
        if !r.dn.is_empty() {
            out.push(r);
        }
    }
    Ok(out)
}

/// The fixture PKI (`pkd-fixtures/pki`) as PKD directory entries: the records of its
/// LDIF files, each CRL file (`*.crl`) as an `o=crl` entry and each deviation list
/// (`*.dvl`) as an `o=dl` entry of its country (`dl_country`), with pkdVersions from
/// `first_version` on for those. CSCA certificates are not PKD entries (CSCAs reach a
/// desk in master lists, or as anchors it imports itself).
pub fn fixture_pki_records(pki_dir: &Path, first_version: u32) -> Result<Vec<LdifRecord>, FixtureError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(pki_dir)
        .map_err(|source| FixtureError::Io {
            path: pki_dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut out = Vec::new();
    let mut version = first_version;
    for f in &files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or_default();
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| FixtureError::Io {
                path: p.to_path_buf(),
                source,
            })
        };
        match ext {
            "ldif" => out.extend(read_ldif(f)?),
            "crl" => {
                let mut buf = Vec::new();
                fixtures::write_crl_entry(&mut buf, &der_of(read(f)?), version)?;
                version += 1;
                out.extend(records_of(&buf)?);
            }
            "dvl" => {
                let der = read(f)?;
                let country = f
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.rsplit('-').next())
                    .unwrap_or("xx")
                    .to_ascii_uppercase();
                let mut buf = Vec::new();
                write_dl_entry(&mut buf, &der, &country, version)?;
                version += 1;
                out.extend(records_of(&buf)?);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The DER of a file that may be PEM (one block).
fn der_of(bytes: Vec<u8>) -> Vec<u8> {
    use base64::Engine;
    if !bytes.starts_with(b"-----BEGIN ") {
        return bytes;
    }
    let text = String::from_utf8_lossy(&bytes);
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .unwrap_or(bytes)
}

fn records_of(bytes: &[u8]) -> Result<Vec<LdifRecord>, FixtureError> {
    let mut reader = LdifReader::new(bytes);
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().map_err(|e| FixtureError::Io {
        path: PathBuf::from("<ldif>"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    })? {
        if !r.dn.is_empty() {
            out.push(r);
        }
    }
    Ok(out)
}

/// Write a deviation list entry (`o=dl`), named by the list's SHA-256 prefix.
pub fn write_dl_entry(
    w: &mut impl Write,
    der: &[u8],
    country: &str,
    pkd_version: u32,
) -> Result<(), FixtureError> {
    use sha2::Digest;
    let id = hex::encode(sha2::Sha256::digest(der).get(..8).unwrap_or_default());
    let dn = format!("cn=DL {country} {id},o=dl,c={country},dc=data,{PKD_DOWNLOAD_BASE}");
    let version = pkd_version.to_string();
    let cn = format!("DL {country} {id}");
    ldif::write_record(
        w,
        &dn,
        &[
            ("pkdVersion", version.as_bytes(), false),
            ("cn", cn.as_bytes(), false),
            ("sn", id.as_bytes(), false),
            ("objectClass", b"top", false),
            ("objectClass", b"person", false),
            ("objectClass", b"pkdDeviationList", false),
            ("objectClass", b"pkdDownload", false),
            ("pkdDeviationListContent", der, true),
        ],
    )
    .map_err(|source| FixtureError::Io {
        path: PathBuf::from("<ldif>"),
        source,
    })
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

    #[test]
    fn tree_has_parents_first_and_unescaped_naming_values() {
        let src = format!(
            "dn: cn=CN\\=X\\,C\\=XA+sn=01,o=dsc,c=XA,dc=data,{PKD_DOWNLOAD_BASE}\ncn: CN\\=X\\,C\\=XA\nsn: 01\npkdVersion: 3\n\n"
        );
        let recs = records_of(src.as_bytes()).unwrap_or_default();
        let mut out = Vec::new();
        let s = write_tree(&mut out, "dc=icao,dc=int", &recs).ok();
        assert_eq!(
            s,
            Some(TreeSummary {
                containers: 6,
                entries: 1
            })
        );
        let text = String::from_utf8_lossy(&out);
        let order: Vec<&str> = text.lines().filter(|l| l.starts_with("dn: ")).collect();
        assert_eq!(order.first().copied(), Some("dn: dc=icao,dc=int"));
        assert_eq!(
            order.get(5).copied(),
            Some("dn: o=dsc,c=XA,dc=data,dc=download,dc=pkd,dc=icao,dc=int")
        );
        assert!(text.contains("\ncn: CN=X,C=XA\n"), "{text}");
    }
}

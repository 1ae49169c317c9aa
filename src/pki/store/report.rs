//! Reporting on the trust store: what `pkd list` and `pkd stats` show (the objects with
//! their trust and sources, per-country numbers, the anchors).

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::{StoreError, TrustStore, now};
use crate::pki::role::Role;

/// One anchor for `pkd stats`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AnchorInfo {
    /// SHA-256 of the certificate (hex).
    pub fingerprint: String,
    /// direct | anchor | unsigned
    pub trust: String,
    /// Country.
    pub country: Option<String>,
    /// Subject.
    pub subject: String,
    /// notAfter.
    pub not_after: Option<String>,
    /// Certificates trusted through it.
    pub dependents: i64,
    /// Master lists it anchors.
    pub master_lists: i64,
}

impl TrustStore {
    /// The anchors: self-signed CSCAs trusted by the user's own act (imported directly,
    /// named with `--anchor`, or from a list imported with `--trust-unsigned`).
    pub fn anchors(&self) -> Result<Vec<AnchorInfo>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT sha256, trust, country, subject, not_after,
                    (SELECT COUNT(*) FROM certificates d WHERE d.anchor_sha256 = c.sha256 AND d.sha256 <> c.sha256),
                    (SELECT COUNT(*) FROM master_lists m WHERE m.anchor_sha256 = c.sha256)
             FROM certificates c WHERE trusted = 1 AND trust IN ('direct', 'anchor', 'unsigned')
             ORDER BY country, not_after",
        )?;
        let rows = st.query_map([], |r| {
            Ok(AnchorInfo {
                fingerprint: hex::encode(r.get::<_, Vec<u8>>(0)?),
                trust: r.get(1)?,
                country: r.get(2)?,
                subject: r.get(3)?,
                not_after: ts(r.get(4)?),
                dependents: r.get(5)?,
                master_lists: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Number of certificates (all roles).
    pub fn certificate_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM certificates", [], |r| r.get(0))?)
    }

    /// Counts of every object kind: (certificates, crls, master lists, deviation lists).
    pub fn counts(&self) -> Result<(i64, i64, i64, i64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM certificates), (SELECT COUNT(*) FROM crls),
                    (SELECT COUNT(*) FROM master_lists), (SELECT COUNT(*) FROM deviation_lists)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?)
    }

    /// Listing for `pkd list`.
    pub fn list(&self, country: Option<&str>, kind: Option<ListKind>) -> Result<Vec<ListEntry>, StoreError> {
        let mut out = Vec::new();
        let country = country.map(str::to_ascii_uppercase);
        let want = |k: ListKind| kind.is_none_or(|x| x == k);
        let cert_roles: Vec<&str> = match kind {
            None => vec!["csca", "link", "dsc", "ml_signer", "dl_signer", "bcsc", "other"],
            Some(ListKind::Csca) => vec!["csca", "link"],
            Some(ListKind::Link) => vec!["link"],
            Some(ListKind::Dsc) => vec!["dsc"],
            Some(ListKind::Bcsc) => vec!["bcsc"],
            _ => vec![],
        };
        if !cert_roles.is_empty() {
            let mut st = self.conn.prepare(
                "SELECT sha256, role, trusted, country, subject, issuer, serial, not_before, not_after,
                        key_type, curve, key_bits, explicit_params, non_conformant, trust, anchor_sha256,
                        withdrawn, conformance_code, conformance_text
                 FROM certificates WHERE (?1 IS NULL OR country = ?1) ORDER BY country, role, not_before",
            )?;
            let rows = st.query_map(params![country], |r| {
                Ok(ListEntry {
                    kind: "certificate",
                    fingerprint: hex::encode(r.get::<_, Vec<u8>>(0)?),
                    role: Some(r.get(1)?),
                    trusted: Some(r.get(2)?),
                    country: r.get(3)?,
                    subject: r.get(4)?,
                    issuer: r.get(5)?,
                    serial: Some(hex::encode_upper(r.get::<_, Vec<u8>>(6)?)),
                    not_before: ts(r.get(7)?),
                    not_after: ts(r.get(8)?),
                    key: key_desc(r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?),
                    non_conformant: r.get(13)?,
                    this_update: None,
                    next_update: None,
                    count: None,
                    signature: None,
                    trust: r.get(14)?,
                    anchor: r.get::<_, Option<Vec<u8>>>(15)?.map(hex::encode),
                    anchored: None,
                    withdrawn: r.get(16)?,
                    conformance_code: r.get(17)?,
                    conformance_text: r.get(18)?,
                    ..ListEntry::default()
                })
            })?;
            for r in rows {
                let e = r?;
                if e.role.as_deref().is_some_and(|role| cert_roles.contains(&role)) {
                    out.push(e);
                }
            }
        }
        if want(ListKind::Crl) {
            let mut st = self.conn.prepare(
                "SELECT sha256, country, issuer, this_update, next_update, entries, signature, non_conformant, withdrawn
                 FROM crls WHERE (?1 IS NULL OR country = ?1) ORDER BY country, this_update",
            )?;
            let rows = st.query_map(params![country], |r| {
                Ok(ListEntry {
                    kind: "crl",
                    fingerprint: hex::encode(r.get::<_, Vec<u8>>(0)?),
                    country: r.get(1)?,
                    issuer: r.get(2)?,
                    this_update: ts(r.get(3)?),
                    next_update: r.get::<_, Option<i64>>(4)?.and_then(ts),
                    count: Some(r.get(5)?),
                    signature: Some(r.get(6)?),
                    non_conformant: r.get(7)?,
                    withdrawn: r.get(8)?,
                    ..ListEntry::default()
                })
            })?;
            for r in rows {
                out.push(r?);
            }
        }
        if want(ListKind::Ml) || want(ListKind::Dl) {
            for (table, kind_name, count_col) in [
                ("master_lists", "master_list", "cert_count"),
                ("deviation_lists", "deviation_list", "entry_count"),
            ] {
                if kind == Some(ListKind::Dl) && table == "master_lists" {
                    continue;
                }
                let anchor_cols = if table == "master_lists" {
                    "anchored, anchor_sha256"
                } else {
                    "NULL, NULL"
                };
                let mut st = self.conn.prepare(&format!(
                    "SELECT sha256, country, signer_subject, signing_time, {count_col}, signature, {anchor_cols}, withdrawn
                     FROM {table} WHERE (?1 IS NULL OR country = ?1) ORDER BY country, signing_time"
                ))?;
                let rows = st.query_map(params![country], |r| {
                    Ok(ListEntry {
                        kind: kind_name,
                        fingerprint: hex::encode(r.get::<_, Vec<u8>>(0)?),
                        country: r.get(1)?,
                        subject: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        this_update: r.get::<_, Option<i64>>(3)?.and_then(ts),
                        count: Some(r.get(4)?),
                        signature: Some(r.get(5)?),
                        anchored: r.get(6)?,
                        anchor: r.get::<_, Option<Vec<u8>>>(7)?.map(hex::encode),
                        withdrawn: r.get(8)?,
                        ..ListEntry::default()
                    })
                })?;
                for r in rows {
                    out.push(r?);
                }
            }
        }
        for e in &mut out {
            e.sha256 = e.fingerprint.clone();
            e.sources = crate::pki::directory::sources_of(&self.conn, &e.fingerprint)?;
            if e.trusted.is_none() {
                // a list or CRL counts when anchored (master lists) or verified
                let ok = match e.kind {
                    "master_list" => e.anchored == Some(true),
                    _ => e.signature.as_deref() == Some("valid"),
                };
                e.trusted = Some(ok && !e.withdrawn);
            }
        }
        Ok(out)
    }

    /// Per-country statistics for `pkd stats`.
    pub fn stats(&self) -> Result<Vec<CountryStats>, StoreError> {
        let mut map: std::collections::BTreeMap<String, CountryStats> = Default::default();
        fn entry(map: &mut std::collections::BTreeMap<String, CountryStats>, c: String) -> &mut CountryStats {
            map.entry(c.clone()).or_insert_with(|| CountryStats::new(c))
        }
        each_row(
            &self.conn,
            "SELECT COALESCE(country, '??'), role, COUNT(*), SUM(trusted) FROM certificates GROUP BY 1, 2",
            |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
            |(c, role, n, trusted)| {
                let e = entry(&mut map, c);
                if Role::parse(&role).is_ca() {
                    e.untrusted_cas += n - trusted;
                }
                match Role::parse(&role) {
                    Role::Csca => e.cscas += n,
                    Role::Link => e.links += n,
                    Role::Dsc => e.dscs += n,
                    Role::Bcsc => e.bcscs += n,
                    _ => e.other += n,
                }
            },
        )?;
        each_row(
            &self.conn,
            "SELECT COALESCE(country, '??'), COUNT(*) FROM crls GROUP BY 1",
            |r| Ok((r.get(0)?, r.get(1)?)),
            |(c, n)| entry(&mut map, c).crls = n,
        )?;
        // per issuer the newest CRL that counts; per country the one that goes stale
        // first (a CRL without nextUpdate is never current)
        let now = now();
        each_row(
            &self.conn,
            "SELECT country, MIN(next) FROM (
               SELECT COALESCE(country, '??') AS country, issuer_norm,
                      MAX(COALESCE(next_update, -9223372036854775807)) AS next
               FROM crls WHERE signature = 'valid' AND withdrawn = 0 GROUP BY 1, 2)
             GROUP BY 1",
            |r| Ok((r.get(0)?, r.get::<_, i64>(1)?)),
            |(c, next)| {
                let e = entry(&mut map, c);
                e.crl_next_update = ts(next);
                e.crl_stale = next < now;
                e.crl_stale_since = if e.crl_stale { ts(next) } else { None };
            },
        )?;
        each_row(
            &self.conn,
            "SELECT COALESCE(country, '??'), MAX(COALESCE(signing_time, added_at)), COUNT(*), SUM(anchored = 0)
                      FROM master_lists GROUP BY 1",
            |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?, r.get(2)?, r.get(3)?)),
            |(c, t, n, unanchored)| {
                let e = entry(&mut map, c);
                e.newest_master_list = t.and_then(ts);
                e.master_lists = n;
                e.master_lists_unanchored = unanchored;
            },
        )?;
        Ok(map.into_values().collect())
    }
}

/// Run a query without parameters and hand each row, as `row` reads it, to `each`.
fn each_row<T>(
    conn: &Connection,
    sql: &str,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    mut each: impl FnMut(T),
) -> Result<(), StoreError> {
    let mut st = conn.prepare(sql)?;
    for r in st.query_map([], row)? {
        each(r?);
    }
    Ok(())
}

fn ts(v: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(v)
        .ok()
        .map(crate::pki::format_time)
}

fn key_desc(
    kind: Option<String>,
    curve: Option<String>,
    bits: Option<i64>,
    explicit: bool,
) -> Option<String> {
    let kind = kind?;
    let mut s = match (kind.as_str(), curve) {
        ("ec", Some(c)) => format!("ec-{c}"),
        (k, _) => format!("{k}-{}", bits.unwrap_or(0)),
    };
    if explicit {
        s.push_str(" (explicit)");
    }
    Some(s)
}

/// What `pkd list` can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// CSCA and link certificates.
    Csca,
    /// DSCs.
    Dsc,
    /// CRLs.
    Crl,
    /// Master and deviation lists.
    Ml,
    /// Link certificates only.
    Link,
    /// Deviation lists only.
    Dl,
    /// Bar-code signer certificates (ICAO PKD `o=bcsc`, `o=bcsc-nc`).
    Bcsc,
}

/// One line of `pkd list`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ListEntry {
    /// certificate | crl | master_list | deviation_list
    pub kind: &'static str,
    /// SHA-256 hex.
    pub fingerprint: String,
    /// Role of a certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Trust anchor?
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    /// Country.
    pub country: Option<String>,
    /// Subject (certificates) or signer (lists).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Issuer.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer: String,
    /// Serial (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// notBefore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// notAfter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Key description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Non-conformant (ICAO PKD collection 003).
    pub non_conformant: bool,
    /// thisUpdate (CRL) or signing time (lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub this_update: Option<String>,
    /// nextUpdate (CRL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_update: Option<String>,
    /// Entries (CRL) or certificates (lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// Signature status (lists, CRLs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Why a certificate is trusted (direct, anchor, master_list, link, unsigned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    /// The anchor (fingerprint) a trusted certificate or an anchored list hangs on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// Master lists: anchored?
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchored: Option<bool>,
    /// SHA-256 hex (the same as `fingerprint`; the name CLI.md gives it).
    pub sha256: String,
    /// Where it comes from: files (`file PATH`) and directory entries
    /// (`ORIGIN COLLECTION: DN`).
    pub sources: Vec<String>,
    /// It lost its last source and no longer counts for verification.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    /// pkdConformanceCode (non-conformant entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conformance_code: Option<String>,
    /// pkdConformanceText.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conformance_text: Option<String>,
}

/// Per-country numbers for `pkd stats`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CountryStats {
    /// Country (C=).
    pub country: String,
    /// Self-signed CSCAs.
    pub cscas: i64,
    /// Link certificates.
    pub links: i64,
    /// DSCs.
    pub dscs: i64,
    /// Other certificates (list signers, ...).
    pub other: i64,
    /// CRLs.
    pub crls: i64,
    /// nextUpdate of its CRLs that count (verified, not withdrawn): for each issuer its
    /// newest CRL's, and of those the earliest (the one that goes stale first).
    pub crl_next_update: Option<String>,
    /// No CRL that counts, or one whose nextUpdate has passed: revocation of this
    /// country's DSCs cannot be checked now (verify: INDETERMINATE, or VALID with a
    /// warning under `crl = "advisory"`).
    pub crl_stale: bool,
    /// Since when it is stale (that nextUpdate), when it has one.
    pub crl_stale_since: Option<String>,
    /// Bar-code signer certificates (ICAO PKD `o=bcsc`, `o=bcsc-nc`).
    pub bcscs: i64,
    /// Newest master list (signing time).
    pub newest_master_list: Option<String>,
    /// CSCA and link certificates that validate nothing (not anchored).
    pub untrusted_cas: i64,
    /// Master lists.
    pub master_lists: i64,
    /// Master lists not anchored.
    pub master_lists_unanchored: i64,
}

impl CountryStats {
    fn new(country: String) -> Self {
        CountryStats {
            country,
            cscas: 0,
            links: 0,
            dscs: 0,
            other: 0,
            crls: 0,
            crl_next_update: None,
            crl_stale: true,
            crl_stale_since: None,
            bcscs: 0,
            newest_master_list: None,
            untrusted_cas: 0,
            master_lists: 0,
            master_lists_unanchored: 0,
        }
    }
}

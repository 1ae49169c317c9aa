//! Writing to the trust store: one transaction ([`Writer`]) that adds certificates,
//! CRLs and lists with their provenance, decides trust from the anchors, withdraws and
//! removes, and bulk-loads large imports with the indexes dropped; [`TrustStore::remove`]
//! (`pkd remove`) deletes one object through it.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::query::{
    by_ski_on, cert_columns, certificate_on, certs_where, issuer_candidates_on, master_list_anchor_on,
    sha_of, to_stored, trusted_issuer_candidates_on,
};
use super::schema::CERTIFICATE_INDEXES;
use super::{
    Added, CertMeta, CertRow, Provenance, StoreError, StoredCert, TrustStore, canonical_serial, now,
};
use crate::pki::cert::{Certificate, Name};
use crate::pki::crl::Crl;
use crate::pki::role::{Role, TrustKind};

/// A write transaction on the store.
#[derive(Debug)]
pub struct Writer<'a> {
    pub(super) tx: rusqlite::Transaction<'a>,
    /// The certificate indexes are dropped (bulk load in progress).
    pub(super) bulk: std::cell::Cell<bool>,
    /// CA certificates that became trusted in this transaction: what they verify
    /// (links, master list signers, CRLs) is looked at once, by
    /// [`crate::pki::import::settle`].
    pub(super) newly_trusted: std::cell::RefCell<Vec<[u8; 32]>>,
    /// Untrusted link certificates added in this transaction (checked against the
    /// trusted CAs already there, once).
    pub(super) new_links: std::cell::RefCell<Vec<[u8; 32]>>,
}

impl<'a> Writer<'a> {
    /// A writer over a transaction just begun (no bulk load, nothing newly trusted).
    pub(super) fn new(tx: rusqlite::Transaction<'a>) -> Self {
        Writer {
            tx,
            bulk: std::cell::Cell::new(false),
            newly_trusted: Default::default(),
            new_links: Default::default(),
        }
    }

    /// Record an imported file; returns its source id.
    pub fn add_source(&self, path: &str, kind: &str) -> Result<i64, StoreError> {
        self.tx.execute(
            "INSERT INTO sources (path, kind, imported_at) VALUES (?1, ?2, ?3)",
            params![path, kind, now()],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Set the file hash of a source once it is known.
    pub fn set_source_hash(&self, source_id: i64, sha256: &[u8; 32], kind: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE sources SET file_sha256 = ?1, kind = ?2 WHERE id = ?3",
            params![sha256.as_slice(), kind, source_id],
        )?;
        Ok(())
    }

    pub(super) fn provenance(&self, kind: &str, sha: &[u8; 32], p: &Provenance) -> Result<(), StoreError> {
        let dn_id = match &p.detail {
            Some(dn) => Some(self.dn_id(dn)?),
            None => None,
        };
        let mut st = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO provenance (object_kind, object_sha256, source_id, master_list_sha256, signer_sha256, dn_id, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        st.execute(params![
            kind,
            sha.as_slice(),
            p.source_id,
            p.master_list.as_ref().map(|m| m.as_slice()),
            p.signer.as_ref().map(|m| m.as_slice()),
            dn_id,
            now()
        ])?;
        Ok(())
    }

    /// The row of an LDIF dn in `provenance_dns`, added the first time it is seen: a
    /// dn is stored once however many objects its entry carries.
    fn dn_id(&self, dn: &str) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO provenance_dns (dn) VALUES (?1)")?
            .execute(params![dn])?;
        let id = self
            .tx
            .prepare_cached("SELECT id FROM provenance_dns WHERE dn = ?1")?
            .query_row(params![dn], |r| r.get(0))?;
        Ok(id)
    }

    /// Add a certificate (or count it as a duplicate; a duplicate that now comes
    /// from a trusted source becomes trusted).
    pub fn add_certificate(
        &self,
        cert: &Certificate,
        role: Role,
        meta: &CertMeta,
        prov: &Provenance,
    ) -> Result<Added, StoreError> {
        self.add_cert_row(&CertRow::new(cert, role, meta), prov)
    }

    /// Add a certificate whose columns were worked out beforehand ([`CertRow::new`],
    /// which needs no database and can run on another thread).
    pub fn add_cert_row(&self, row: &CertRow, prov: &Provenance) -> Result<Added, StoreError> {
        let mut st = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO certificates (sha256, der, role, trusted, country, subject, subject_norm, issuer, issuer_norm,
                serial, ski, aki, not_before, not_after, key_type, curve, key_bits, explicit_params, non_conformant,
                conformance_code, conformance_text, pkd_version, added_at, source_id, trust, anchor_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
        )?;
        let meta = &row.meta;
        let trusted = meta.trusted && row.role.is_ca();
        let trust = if trusted {
            Some(meta.trust.unwrap_or(TrustKind::Direct))
        } else {
            None
        };
        let anchor = trust.map(|t| {
            if t.is_root() {
                row.sha256
            } else {
                meta.anchor.unwrap_or(row.sha256)
            }
        });
        let n = st.execute(params![
            row.sha256.as_slice(),
            row.der,
            row.role.as_str(),
            trusted,
            row.country,
            row.subject,
            row.subject_norm,
            row.issuer,
            row.issuer_norm,
            row.serial,
            row.ski,
            row.aki,
            row.not_before,
            row.not_after,
            row.key_type,
            row.curve,
            row.key_bits,
            row.explicit_params,
            meta.non_conformant,
            meta.conformance_code,
            meta.conformance_text,
            meta.pkd_version,
            now(),
            prov.source_id,
            trust.map(TrustKind::as_str),
            anchor.as_ref().map(|a| a.as_slice())
        ])?;
        // the first source is in the row itself; the provenance table records every
        // later sighting, and every sighting inside a master list (list and signer)
        if n == 0 || prov.master_list.is_some() {
            self.provenance("certificate", &row.sha256, prov)?;
        }
        if n == 1 {
            if trusted {
                self.newly_trusted.borrow_mut().push(row.sha256);
            } else if row.role == Role::Link {
                self.new_links.borrow_mut().push(row.sha256);
            }
            return Ok(Added::Added);
        }
        if let (Some(t), Some(a)) = (trust, anchor) {
            // trusted now (or by a stronger act: an anchor the user names outranks trust
            // derived from a list); the role stays as first stored
            let changed = self.tx.execute(
                "UPDATE certificates SET trusted = 1, trust = ?2, anchor_sha256 = ?3, verified_by = NULL
                 WHERE sha256 = ?1 AND role IN ('csca', 'link')
                   AND (trusted = 0 OR (?4 AND trust NOT IN ('direct', 'anchor')))",
                params![row.sha256.as_slice(), t.as_str(), a.as_slice(), t.is_root()],
            )?;
            if changed > 0 {
                self.newly_trusted.borrow_mut().push(row.sha256);
            }
        }
        Ok(Added::Duplicate)
    }

    /// Add a CRL.
    pub fn add_crl(
        &self,
        crl: &Crl,
        verified_by: Option<&[u8; 32]>,
        non_conformant: bool,
        prov: &Provenance,
    ) -> Result<Added, StoreError> {
        let signature = if verified_by.is_some() {
            "valid"
        } else {
            "unverified"
        };
        let mut st = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO crls (sha256, der, country, issuer, issuer_norm, aki, this_update, next_update, entries,
                signature, non_conformant, added_at, verified_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let n = st.execute(params![
            crl.sha256.as_slice(),
            crl.der,
            crl.country(),
            crl.issuer.display(),
            crl.issuer.normalized(),
            crl.aki,
            crl.this_update.unix_timestamp(),
            crl.next_update.map(|t| t.unix_timestamp()),
            crl.entries.len() as i64,
            signature,
            non_conformant,
            now(),
            verified_by.map(|v| v.as_slice())
        ])?;
        if n == 0
            && let Some(v) = verified_by
        {
            self.set_crl_verified(&crl.sha256, v)?;
        }
        self.provenance("crl", &crl.sha256, prov)?;
        Ok(if n == 1 { Added::Added } else { Added::Duplicate })
    }

    /// Insert a signed list's row into `table` (master or deviation lists; `count_col`
    /// holds its count), with `extra` (column, value) pairs after the common columns,
    /// unless a list with its SHA-256 is there. Returns the rows inserted (0 or 1).
    fn insert_list(
        &self,
        table: &str,
        count_col: &str,
        l: &ListRecord<'_>,
        extra: &[(&str, &dyn rusqlite::ToSql)],
    ) -> Result<usize, StoreError> {
        let sha256 = l.sha256.as_slice();
        let signer = l.signer_sha256.as_ref().map(|s| s.as_slice());
        let signing_time = l.signing_time.map(|t| t.unix_timestamp());
        let count = l.count as i64;
        let added_at = now();
        let common: [(&str, &dyn rusqlite::ToSql); 9] = [
            ("sha256", &sha256),
            ("der", &l.der),
            ("country", &l.country),
            ("signer_sha256", &signer),
            ("signer_subject", &l.signer_subject),
            ("signing_time", &signing_time),
            (count_col, &count),
            ("signature", &l.signature),
            ("added_at", &added_at),
        ];
        let all = || common.iter().chain(extra);
        let columns = all().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
        let slots = (1..=all().count())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(self.tx.execute(
            &format!("INSERT OR IGNORE INTO {table} ({columns}) VALUES ({slots})"),
            rusqlite::params_from_iter(all().map(|(_, v)| *v)),
        )?)
    }

    /// Add a master list (its certificates are added separately).
    pub fn add_master_list(&self, ml: &ListRecord<'_>, prov: &Provenance) -> Result<Added, StoreError> {
        let anchored = ml.anchor.is_some();
        let anchor = ml.anchor.as_ref().map(|a| a.as_slice());
        let n = self.insert_list(
            "master_lists",
            "cert_count",
            ml,
            &[("anchored", &anchored), ("anchor_sha256", &anchor)],
        )?;
        if n == 0
            && let Some(a) = &ml.anchor
        {
            self.tx.execute(
                "UPDATE master_lists SET anchored = 1, anchor_sha256 = ?2 WHERE sha256 = ?1 AND anchored = 0",
                params![ml.sha256.as_slice(), a.as_slice()],
            )?;
        }
        self.provenance("master_list", &ml.sha256, prov)?;
        Ok(if n == 1 { Added::Added } else { Added::Duplicate })
    }

    /// Add a deviation list and its entries.
    pub fn add_deviation_list(
        &self,
        dl: &ListRecord<'_>,
        entries: &[DeviationRow],
        prov: &Provenance,
    ) -> Result<Added, StoreError> {
        let n = self.insert_list("deviation_lists", "entry_count", dl, &[])?;
        let list_id = self.tx.last_insert_rowid();
        self.provenance("deviation_list", &dl.sha256, prov)?;
        if n == 0 {
            return Ok(Added::Duplicate);
        }
        let mut st = self.tx.prepare_cached(
            "INSERT INTO deviations (list_id, issuer_norm, serial, ski, document_type, deviation_type, description)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for e in entries {
            st.execute(params![
                list_id,
                e.issuer_norm,
                e.serial.as_deref().map(canonical_serial),
                e.ski,
                e.document_type,
                e.deviation_type,
                e.description
            ])?;
        }
        Ok(Added::Added)
    }

    /// Whether a master list is anchored (this transaction's rows included), and by
    /// which anchor.
    pub fn master_list_anchor(
        &self,
        sha256: &[u8; 32],
    ) -> Result<Option<(bool, Option<String>)>, StoreError> {
        master_list_anchor_on(&self.tx, sha256)
    }

    /// CA certificates that became trusted since the last call.
    pub fn take_newly_trusted(&self) -> Vec<[u8; 32]> {
        std::mem::take(&mut *self.newly_trusted.borrow_mut())
    }

    /// Untrusted link certificates added since the last call.
    pub fn take_new_links(&self) -> Vec<[u8; 32]> {
        std::mem::take(&mut *self.new_links.borrow_mut())
    }

    /// A certificate by its SHA-256 (this transaction's rows included).
    pub fn certificate(&self, sha256: &[u8; 32]) -> Result<Option<StoredCert>, StoreError> {
        certificate_on(&self.tx, sha256)
    }

    /// Trusted issuer candidates, seeing rows added in this transaction.
    pub fn trusted_issuer_candidates(
        &self,
        issuer: &Name,
        aki: Option<&[u8]>,
    ) -> Result<Vec<StoredCert>, StoreError> {
        trusted_issuer_candidates_on(&self.tx, issuer, aki)
    }

    /// Trust a CA certificate that verified under `verified_by` (which hangs on
    /// `anchor`). True when it was not trusted before.
    pub fn trust_verified(
        &self,
        sha256: &[u8; 32],
        verified_by: &[u8; 32],
        anchor: &[u8; 32],
    ) -> Result<bool, StoreError> {
        let n = self.tx.execute(
            "UPDATE certificates SET trusted = 1, trust = 'link', anchor_sha256 = ?2, verified_by = ?3
             WHERE sha256 = ?1 AND trusted = 0 AND withdrawn = 0 AND role IN ('csca', 'link')",
            params![sha256.as_slice(), anchor.as_slice(), verified_by.as_slice()],
        )?;
        if n > 0 {
            self.newly_trusted.borrow_mut().push(*sha256);
        }
        Ok(n > 0)
    }

    /// Untrusted link certificates that name `ca` as their issuer (by name or AKI).
    pub fn untrusted_links_under(&self, ca: &Certificate) -> Result<Vec<StoredCert>, StoreError> {
        certs_where(
            &self.tx,
            &format!("role = 'link' AND trusted = 0 AND {KEY_OR_NAME}"),
            params![ca.subject.normalized(), ca.ski],
        )
    }

    /// Unanchored master lists with a valid signature whose signer certificate names
    /// `ca` as its issuer: (list fingerprint, signer).
    pub fn unanchored_lists_under(
        &self,
        ca: &Certificate,
    ) -> Result<Vec<([u8; 32], StoredCert)>, StoreError> {
        let sql = format!(
            "SELECT m.sha256, {} FROM master_lists m JOIN certificates c ON c.sha256 = m.signer_sha256
             WHERE m.anchored = 0 AND m.signature = 'valid' AND m.withdrawn = 0
               AND ((?2 IS NOT NULL AND c.aki = ?2) OR (c.issuer_norm = ?1 AND (c.aki IS NULL OR ?2 IS NULL)))",
            cert_columns()
                .split(", ")
                .map(|c| format!("c.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut st = self.tx.prepare_cached(&sql)?;
        let rows = st.query_map(params![ca.subject.normalized(), ca.ski], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                (
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ),
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (sha, c) = r?;
            if let Some(sha) = sha_of(Some(sha)) {
                out.push((sha, to_stored(c)?));
            }
        }
        Ok(out)
    }

    /// Anchor a master list: it and its self-signed CSCAs now hang on `anchor`.
    /// Returns how many CSCAs became trusted (each is queued like any newly trusted CA).
    pub fn anchor_master_list(&self, ml: &[u8; 32], anchor: &[u8; 32]) -> Result<usize, StoreError> {
        self.tx.execute(
            "UPDATE master_lists SET anchored = 1, anchor_sha256 = ?2 WHERE sha256 = ?1",
            params![ml.as_slice(), anchor.as_slice()],
        )?;
        let mut st = self.tx.prepare_cached(
            "SELECT c.sha256 FROM certificates c WHERE c.role = 'csca' AND c.trusted = 0 AND c.withdrawn = 0 AND c.sha256 IN
               (SELECT object_sha256 FROM provenance WHERE master_list_sha256 = ?1)",
        )?;
        let shas: Vec<Vec<u8>> = st
            .query_map(params![ml.as_slice()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut n = 0;
        for sha in shas {
            let Some(sha) = sha_of(Some(sha)) else {
                continue;
            };
            let changed = self.tx.execute(
                "UPDATE certificates SET trusted = 1, trust = 'master_list', anchor_sha256 = ?2, verified_by = NULL
                 WHERE sha256 = ?1 AND trusted = 0",
                params![sha.as_slice(), anchor.as_slice()],
            )?;
            if changed > 0 {
                n += 1;
                self.newly_trusted.borrow_mut().push(sha);
            }
        }
        Ok(n)
    }

    /// CRLs not verified yet that name `ca` as their issuer (by name or AKI).
    pub fn unverified_crls_under(&self, ca: &Certificate) -> Result<Vec<ShaDer>, StoreError> {
        let mut st = self.tx.prepare_cached(&format!(
            "SELECT sha256, der FROM crls WHERE signature <> 'valid' AND {KEY_OR_NAME}"
        ))?;
        let rows = st.query_map(params![ca.subject.normalized(), ca.ski], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (sha, der) = r?;
            if let Some(sha) = sha_of(Some(sha)) {
                out.push((sha, der));
            }
        }
        Ok(out)
    }

    /// Mark a CRL verified under a CA certificate.
    pub fn set_crl_verified(&self, crl: &[u8; 32], by: &[u8; 32]) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE crls SET signature = 'valid', verified_by = ?2 WHERE sha256 = ?1",
            params![crl.as_slice(), by.as_slice()],
        )?;
        Ok(())
    }

    /// Drop a CRL (it did not verify under the CA certificate it names).
    pub fn drop_crl(&self, crl: &[u8; 32]) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM crls WHERE sha256 = ?1", params![crl.as_slice()])?;
        self.tx.execute(
            "DELETE FROM provenance WHERE object_sha256 = ?1 AND object_kind = 'crl'",
            params![crl.as_slice()],
        )?;
        Ok(())
    }

    /// Withdraw all derived trust (master list, link, CRL verification) and queue every
    /// anchor, so [`crate::pki::import::settle`] earns it again from the anchors alone.
    pub fn reset_derived_trust(&self) -> Result<(), StoreError> {
        self.tx.execute_batch(
            "UPDATE certificates SET trusted = 0, trust = NULL, anchor_sha256 = NULL, verified_by = NULL
               WHERE trust IS NULL OR trust IN ('master_list', 'link');
             UPDATE master_lists SET anchored = 0, anchor_sha256 = NULL;
             UPDATE crls SET signature = 'unverified', verified_by = NULL;",
        )?;
        let mut st = self
            .tx
            .prepare("SELECT sha256 FROM certificates WHERE trusted = 1 AND role IN ('csca', 'link')")?;
        let shas: Vec<Vec<u8>> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let mut q = self.newly_trusted.borrow_mut();
        q.extend(shas.into_iter().filter_map(|s| sha_of(Some(s))));
        // every untrusted link is looked at again
        let mut st = self
            .tx
            .prepare("SELECT sha256 FROM certificates WHERE trusted = 0 AND role = 'link'")?;
        let links: Vec<Vec<u8>> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        self.new_links
            .borrow_mut()
            .extend(links.into_iter().filter_map(|s| sha_of(Some(s))));
        Ok(())
    }

    /// Read access inside the transaction (sees uncommitted rows).
    pub fn connection(&self) -> &Connection {
        &self.tx
    }

    /// Issuer candidates, seeing rows added in this transaction.
    pub fn issuer_candidates(
        &self,
        issuer: &Name,
        aki: Option<&[u8]>,
    ) -> Result<Vec<StoredCert>, StoreError> {
        issuer_candidates_on(&self.tx, issuer, aki)
    }

    /// Certificates with this SKI, seeing rows added in this transaction.
    pub fn by_ski(&self, ski: &[u8]) -> Result<Vec<StoredCert>, StoreError> {
        by_ski_on(&self.tx, ski)
    }

    /// Number of certificates in the store (this transaction's included).
    pub fn certificate_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT count(*) FROM certificates", [], |r| r.get(0))?)
    }

    /// Start a bulk load: drop the secondary certificate indexes until
    /// [`Writer::end_bulk_load`] (or the commit) builds them again. Lookups in between
    /// stay correct, only slower; a rollback or a crash restores the indexes with
    /// everything else.
    pub fn begin_bulk_load(&self) -> Result<(), StoreError> {
        if self.bulk.get() {
            return Ok(());
        }
        for (name, _) in CERTIFICATE_INDEXES {
            self.tx.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
        }
        self.bulk.set(true);
        Ok(())
    }

    /// A bulk load is in progress (the certificate indexes are dropped).
    pub fn bulk_loading(&self) -> bool {
        self.bulk.get()
    }

    /// End a bulk load: build the certificate indexes again (nothing when none is
    /// in progress).
    pub fn end_bulk_load(&self) -> Result<(), StoreError> {
        if !self.bulk.get() {
            return Ok(());
        }
        for (name, on) in CERTIFICATE_INDEXES {
            self.tx
                .execute_batch(&format!("CREATE INDEX IF NOT EXISTS {name} ON {on}"))?;
        }
        self.bulk.set(false);
        Ok(())
    }

    /// Commit everything (a bulk load still in progress is ended first, so the
    /// store never keeps a certificate table without its indexes).
    pub fn commit(self) -> Result<(), StoreError> {
        self.end_bulk_load()?;
        self.tx.commit()?;
        Ok(())
    }

    /// Throw everything away.
    pub fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback()?;
        Ok(())
    }
}

/// A master or deviation list row.
#[derive(Debug, Clone)]
pub struct ListRecord<'a> {
    /// SHA-256 of the DER.
    pub sha256: [u8; 32],
    /// The list as read.
    pub der: &'a [u8],
    /// Country of the signer.
    pub country: Option<String>,
    /// Signer certificate fingerprint.
    pub signer_sha256: Option<[u8; 32]>,
    /// Signer subject.
    pub signer_subject: Option<String>,
    /// signingTime.
    pub signing_time: Option<OffsetDateTime>,
    /// Certificates (ML) or deviations (DL).
    pub count: usize,
    /// valid | invalid | unsigned
    pub signature: &'static str,
    /// The anchor the signer chains to (master lists; `None`: not anchored).
    pub anchor: Option<[u8; 32]>,
}

/// One stored deviation.
#[derive(Debug, Clone, Default)]
pub struct DeviationRow {
    /// Normalised issuer of the DSC concerned.
    pub issuer_norm: Option<String>,
    /// Its serial.
    pub serial: Option<Vec<u8>>,
    /// Or its SKI.
    pub ski: Option<Vec<u8>>,
    /// documentType.
    pub document_type: Option<String>,
    /// deviationType OID.
    pub deviation_type: String,
    /// Description.
    pub description: Option<String>,
}

/// A stored object's SHA-256 and DER.
pub type ShaDer = ([u8; 32], Vec<u8>);

/// What names a CA (`?1` its normalised subject, `?2` its SKI) as issuer: the key
/// identifier when both sides have one (another key of the same name is not asked),
/// else the name.
const KEY_OR_NAME: &str =
    "((?2 IS NOT NULL AND aki = ?2) OR (issuer_norm = ?1 AND (aki IS NULL OR ?2 IS NULL)))";

impl TrustStore {
    /// Remove the object whose SHA-256 fingerprint starts with `prefix` (hex, unique).
    pub fn remove(&mut self, prefix: &str) -> Result<Removed, StoreError> {
        let p = prefix.trim().to_ascii_uppercase();
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_hexdigit()) || p.len() > 64 {
            return Err(StoreError::BadFingerprint {
                prefix: prefix.to_owned(),
            });
        }
        let pattern = format!("{p}%");
        let mut hits: Vec<(&'static str, Vec<u8>)> = Vec::new();
        for (table, kind) in [
            ("certificates", "certificate"),
            ("crls", "crl"),
            ("master_lists", "master_list"),
            ("deviation_lists", "deviation_list"),
        ] {
            let mut st = self
                .conn
                .prepare(&format!("SELECT sha256 FROM {table} WHERE hex(sha256) LIKE ?1"))?;
            let rows = st.query_map(params![pattern], |r| r.get::<_, Vec<u8>>(0))?;
            for r in rows {
                hits.push((kind, r?));
            }
        }
        match hits.as_slice() {
            [] => Err(StoreError::NotFound { prefix: p }),
            [(kind, sha)] => {
                let table = match *kind {
                    "certificate" => "certificates",
                    "crl" => "crls",
                    "master_list" => "master_lists",
                    _ => "deviation_lists",
                };
                let w = self.transaction()?;
                w.tx.execute(&format!("DELETE FROM {table} WHERE sha256 = ?1"), params![sha])?;
                w.tx.execute("DELETE FROM provenance WHERE object_sha256 = ?1", params![sha])?;
                if matches!(*kind, "certificate" | "master_list") {
                    // what hung on it (lists it anchored, links it verified, CRLs it
                    // verified) earns trust again from what is left, in the same
                    // transaction
                    w.reset_derived_trust()?;
                    crate::pki::import::settle(&w)?;
                }
                w.commit()?;
                Ok(Removed {
                    kind,
                    fingerprint: hex::encode(sha),
                })
            }
            _ => Err(StoreError::Ambiguous {
                prefix: p,
                count: hits.len(),
            }),
        }
    }
}

/// What `remove` deleted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Removed {
    /// certificate | crl | master_list | deviation_list
    pub kind: &'static str,
    /// Full fingerprint.
    pub fingerprint: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::store::tests::{fixture_cert, index_sql};

    fn provenance_rows(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM provenance", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_dn_is_stored_once_however_many_objects_its_entry_carries() {
        let mut s = TrustStore::open_in_memory().unwrap();
        let w = s.transaction().unwrap();
        let src = w.add_source("long-dn.ldif", "ldif").unwrap();
        let dn = format!("cn={},o=crl,c=UT,dc=data", "a".repeat(8_000));
        for i in 0..300u16 {
            let mut sha = [0u8; 32];
            sha[..2].copy_from_slice(&i.to_be_bytes());
            let p = Provenance {
                source_id: src,
                master_list: None,
                signer: None,
                detail: Some(dn.clone()),
            };
            w.provenance("crl", &sha, &p).unwrap();
        }
        let dns: i64 =
            w.tx.query_row("SELECT count(*) FROM provenance_dns", [], |r| r.get(0))
                .unwrap();
        let stored: String =
            w.tx.query_row(
                "SELECT DISTINCT d.dn FROM provenance p JOIN provenance_dns d ON d.id = p.dn_id",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(provenance_rows(&w.tx), 300);
        assert_eq!(dns, 1);
        assert_eq!(stored, dn);
    }

    #[test]
    fn bulk_load_rebuilds_exactly_the_schema_indexes() {
        let mut s = TrustStore::open_in_memory().unwrap();
        let schema = index_sql(s.connection());
        assert!(schema.iter().any(|(n, _)| n == "certificates_issuer_serial"));
        let cert = fixture_cert("10-ut-csca-1.cer");
        // ended explicitly, then committed
        let w = s.transaction().unwrap();
        let src = w.add_source("a", "ldif").unwrap();
        w.begin_bulk_load().unwrap();
        assert!(!index_sql(&w.tx).iter().any(|(n, _)| n == "certificates_ski"));
        let prov = Provenance {
            source_id: src,
            ..Provenance::default()
        };
        w.add_certificate(&cert, Role::Csca, &CertMeta::default(), &prov)
            .unwrap();
        // lookups stay correct while the indexes are gone
        assert_eq!(w.by_ski(cert.ski.as_deref().unwrap()).unwrap().len(), 1);
        w.end_bulk_load().unwrap();
        w.commit().unwrap();
        assert_eq!(index_sql(s.connection()), schema);
        // committed in the middle of a bulk load: the commit builds them
        let w = s.transaction().unwrap();
        w.begin_bulk_load().unwrap();
        w.commit().unwrap();
        assert_eq!(index_sql(s.connection()), schema);
        // rolled back: the drop is undone with the rest
        let w = s.transaction().unwrap();
        w.begin_bulk_load().unwrap();
        w.rollback().unwrap();
        assert_eq!(index_sql(s.connection()), schema);
        assert_eq!(s.by_ski(cert.ski.as_deref().unwrap()).unwrap().len(), 1);
    }

    #[test]
    fn first_source_is_in_the_row_and_later_sightings_in_provenance() {
        let mut s = TrustStore::open_in_memory().unwrap();
        let cert = fixture_cert("10-ut-csca-1.cer");
        let w = s.transaction().unwrap();
        let first = w.add_source("first.ldif", "ldif").unwrap();
        let second = w.add_source("second.pem", "certificate").unwrap();
        let list = w.add_source("list.ml", "master_list").unwrap();
        let meta = CertMeta::default();
        let prov = |source_id, master_list| Provenance {
            source_id,
            master_list,
            signer: None,
            detail: None,
        };
        assert_eq!(
            w.add_certificate(&cert, Role::Csca, &meta, &prov(first, None))
                .unwrap(),
            Added::Added
        );
        assert_eq!(provenance_rows(&w.tx), 0);
        let in_row: i64 =
            w.tx.query_row("SELECT source_id FROM certificates", [], |r| r.get(0))
                .unwrap();
        assert_eq!(in_row, first);
        assert_eq!(
            w.add_certificate(&cert, Role::Csca, &meta, &prov(second, None))
                .unwrap(),
            Added::Duplicate
        );
        assert_eq!(provenance_rows(&w.tx), 1);
        // a master list sighting always keeps its list
        w.add_certificate(&cert, Role::Csca, &meta, &prov(list, Some([7; 32])))
            .unwrap();
        assert_eq!(provenance_rows(&w.tx), 2);
        w.commit().unwrap();
    }
}

//! The trust store's schema: the tables of version 1 and the migrations that bring an
//! older file up to [`SCHEMA_VERSION`], applied when a store is opened, with the page
//! size and connection settings of a new store.

use super::{StoreError, TrustStore, Writer};

/// Page size of a new store. Rows are ~1 KB certificates; 16 KB pages make the WAL
/// written at the commit of a large import a quarter as many frames (and system
/// calls) as SQLite's default 4 KB.
pub const PAGE_SIZE: i64 = 16_384;

/// Current schema version (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 9;

const SCHEMA_V1: &str = "
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    file_sha256 BLOB,
    imported_at INTEGER NOT NULL
);
CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    sha256 BLOB NOT NULL UNIQUE,
    der BLOB NOT NULL,
    role TEXT NOT NULL,
    trusted INTEGER NOT NULL,
    country TEXT,
    subject TEXT NOT NULL,
    subject_norm TEXT NOT NULL,
    issuer TEXT NOT NULL,
    issuer_norm TEXT NOT NULL,
    serial BLOB NOT NULL,
    ski BLOB,
    aki BLOB,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    key_type TEXT,
    curve TEXT,
    key_bits INTEGER,
    explicit_params INTEGER NOT NULL DEFAULT 0,
    non_conformant INTEGER NOT NULL DEFAULT 0,
    conformance_code TEXT,
    conformance_text TEXT,
    pkd_version INTEGER,
    added_at INTEGER NOT NULL
);
CREATE INDEX certificates_ski ON certificates(ski);
CREATE INDEX certificates_aki ON certificates(aki);
CREATE INDEX certificates_subject ON certificates(subject_norm);
CREATE INDEX certificates_issuer_serial ON certificates(issuer_norm, serial);
CREATE INDEX certificates_country_role ON certificates(country, role);
CREATE TABLE crls (
    id INTEGER PRIMARY KEY,
    sha256 BLOB NOT NULL UNIQUE,
    der BLOB NOT NULL,
    country TEXT,
    issuer TEXT NOT NULL,
    issuer_norm TEXT NOT NULL,
    aki BLOB,
    this_update INTEGER NOT NULL,
    next_update INTEGER,
    entries INTEGER NOT NULL,
    signature TEXT NOT NULL,
    non_conformant INTEGER NOT NULL DEFAULT 0,
    added_at INTEGER NOT NULL
);
CREATE INDEX crls_issuer ON crls(issuer_norm);
CREATE INDEX crls_aki ON crls(aki);
CREATE TABLE master_lists (
    id INTEGER PRIMARY KEY,
    sha256 BLOB NOT NULL UNIQUE,
    der BLOB NOT NULL,
    country TEXT,
    signer_sha256 BLOB,
    signer_subject TEXT,
    signing_time INTEGER,
    cert_count INTEGER NOT NULL,
    signature TEXT NOT NULL,
    added_at INTEGER NOT NULL
);
CREATE TABLE deviation_lists (
    id INTEGER PRIMARY KEY,
    sha256 BLOB NOT NULL UNIQUE,
    der BLOB NOT NULL,
    country TEXT,
    signer_sha256 BLOB,
    signer_subject TEXT,
    signing_time INTEGER,
    entry_count INTEGER NOT NULL,
    signature TEXT NOT NULL,
    added_at INTEGER NOT NULL
);
CREATE TABLE deviations (
    id INTEGER PRIMARY KEY,
    list_id INTEGER NOT NULL REFERENCES deviation_lists(id) ON DELETE CASCADE,
    issuer_norm TEXT,
    serial BLOB,
    ski BLOB,
    document_type TEXT,
    deviation_type TEXT NOT NULL,
    description TEXT
);
CREATE INDEX deviations_dsc ON deviations(issuer_norm, serial);
CREATE INDEX deviations_ski ON deviations(ski);
CREATE TABLE provenance (
    id INTEGER PRIMARY KEY,
    object_kind TEXT NOT NULL,
    object_sha256 BLOB NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    master_list_sha256 BLOB,
    signer_sha256 BLOB,
    detail TEXT,
    imported_at INTEGER NOT NULL,
    UNIQUE (object_sha256, source_id, master_list_sha256)
);
CREATE INDEX provenance_object ON provenance(object_sha256);
";

/// Version 2: the local alert list of lost, stolen and revoked documents
/// ([`crate::pki::alerts`], `emrtd alerts import`). Only adds tables.
const SCHEMA_V2: &str = "
CREATE TABLE alert_imports (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    file_sha256 BLOB NOT NULL,
    entries INTEGER NOT NULL,
    mode TEXT NOT NULL,
    imported_at INTEGER NOT NULL
);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    issuer TEXT NOT NULL,
    document_number TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    since TEXT,
    import_id INTEGER NOT NULL REFERENCES alert_imports(id) ON DELETE CASCADE,
    UNIQUE (issuer, document_number)
);
";

/// Version 3: a certificate records the file it first came from in its own row
/// (`source_id`), so the provenance table only holds later sightings and sightings
/// in master lists (with the list and its signer). An ICAO PKD LDIF of 30,000 DSCs
/// no longer writes 30,000 provenance rows (benches/bench.rs, docs/benchmarks.md).
/// `provenance_object` duplicated the leading column of the table's UNIQUE index.
const SCHEMA_V3: &str = "
ALTER TABLE certificates ADD COLUMN source_id INTEGER REFERENCES sources(id);
DROP INDEX IF EXISTS provenance_object;
";

/// Version 4: trust has an anchor (docs/trust-store.md). Certificates record why they
/// are trusted, the anchor they hang on and the CA certificate that verified them;
/// master lists whether (and by which anchor) they are anchored; CRLs which CA
/// certificate verified them. Trust given under the old rules (a master list signed
/// under a CSCA of its own, a link certificate trusted unverified) is withdrawn here
/// and earned again from the anchors in the migration's own transaction (what
/// [`crate::pki::import::rebuild_trust`] does in one of its own: `reset_derived_trust`,
/// then [`crate::pki::import::settle`]). Directly imported self-signed CSCAs stay anchors;
/// lists imported with `--trust-unsigned` keep their explicit trust.
const SCHEMA_V4: &str = "
ALTER TABLE certificates ADD COLUMN trust TEXT;
ALTER TABLE certificates ADD COLUMN anchor_sha256 BLOB;
ALTER TABLE certificates ADD COLUMN verified_by BLOB;
ALTER TABLE master_lists ADD COLUMN anchored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE master_lists ADD COLUMN anchor_sha256 BLOB;
ALTER TABLE crls ADD COLUMN verified_by BLOB;
CREATE INDEX crls_verified_by ON crls(verified_by);
UPDATE certificates SET trust = 'direct', anchor_sha256 = sha256
 WHERE trusted = 1 AND role = 'csca' AND (
   source_id IN (SELECT id FROM sources WHERE kind = 'certificate')
   OR sha256 IN (SELECT p.object_sha256 FROM provenance p JOIN sources s ON s.id = p.source_id
                 WHERE s.kind = 'certificate' AND p.master_list_sha256 IS NULL));
UPDATE certificates SET trust = 'unsigned', anchor_sha256 = NULL
 WHERE trusted = 1 AND trust IS NULL AND role IN ('csca', 'link') AND sha256 IN (
   SELECT p.object_sha256 FROM provenance p JOIN master_lists m ON m.sha256 = p.master_list_sha256
   WHERE m.signature <> 'valid');
UPDATE certificates SET trusted = 0 WHERE trust IS NULL;
UPDATE crls SET signature = 'unverified' WHERE signature = 'valid';
";

/// Version 7: a provenance row refers to its LDIF dn (`provenance_dns`) instead of
/// holding a copy of it. Every CRL, list or later sighting under one dn used to copy
/// the dn (up to `ldif::MAX_DN` bytes) into its row (issue 16: 300 CRLs under one
/// long dn); now the dn is stored once.
const SCHEMA_V7: &str = "
CREATE TABLE provenance_dns (
    id INTEGER PRIMARY KEY,
    dn TEXT NOT NULL UNIQUE
);
INSERT OR IGNORE INTO provenance_dns (dn) SELECT detail FROM provenance WHERE detail IS NOT NULL;
ALTER TABLE provenance ADD COLUMN dn_id INTEGER;
UPDATE provenance SET dn_id = (SELECT d.id FROM provenance_dns d WHERE d.dn = provenance.detail)
 WHERE detail IS NOT NULL;
ALTER TABLE provenance DROP COLUMN detail;
";

/// Migrations: index i brings the schema from version i to i + 1.
const MIGRATIONS: &[&str] = &[
    SCHEMA_V1,
    SCHEMA_V2,
    SCHEMA_V3,
    SCHEMA_V4,
    crate::pki::cvc_store::SCHEMA,
    crate::pki::directory::SCHEMA,
    SCHEMA_V7,
    crate::pki::directory::SYNC_SCHEMA,
    SCHEMA_V9,
];

/// Version 9 changes no table: it marks the stores whose derived trust was earned
/// before a master or deviation list needed a list signer (the ICAO extended key
/// usage) to sign it. Opening an older store earns that trust again from the anchors
/// ([`TrustStore::init`]), so a list a DSC signed no longer anchors anything.
const SCHEMA_V9: &str = "-- derived trust earned again under the list-signer rule";

/// The secondary indexes of `certificates`, as the schema creates them. A bulk load
/// ([`Writer::begin_bulk_load`]) drops them and builds them again once at the end:
/// sorting 30,000 keys once is much cheaper than five random B-tree inserts per row.
pub(super) const CERTIFICATE_INDEXES: &[(&str, &str)] = &[
    ("certificates_ski", "certificates(ski)"),
    ("certificates_aki", "certificates(aki)"),
    ("certificates_subject", "certificates(subject_norm)"),
    ("certificates_issuer_serial", "certificates(issuer_norm, serial)"),
    ("certificates_country_role", "certificates(country, role)"),
];

impl TrustStore {
    /// Set up the connection and bring the schema to [`SCHEMA_VERSION`], creating it on
    /// a new file (`wal`: in WAL mode).
    pub(super) fn init(&mut self, wal: bool) -> Result<(), StoreError> {
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // only takes effect on a new, empty file (an existing store keeps its size)
        self.conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        if wal {
            let _mode: String = self.conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        }
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // a page cache that holds a whole ICAO PKD import (30,000 DSCs: ~60 MB of
        // pages); with SQLite's 2 MB default the transaction spills to the WAL and
        // re-reads its own pages, which made the import I/O-bound (benches/bench.rs)
        self.conn.pragma_update(None, "cache_size", -131_072)?;
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let tx = self.conn.transaction()?;
        for (i, m) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.execute_batch(m)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        let w = Writer::new(tx);
        if (1..9).contains(&version) {
            // trust given under older rules (before version 4: lists anchored by a CSCA
            // of their own; before version 9: lists signed by any certificate of their
            // CSCA, a DSC included) is withdrawn and earned again from the anchors, in
            // the same transaction (a crash in between leaves the store as it was, at
            // its old version)
            w.reset_derived_trust()?;
            crate::pki::import::settle(&w)?;
        }
        w.commit()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rusqlite::{Connection, params};

    use super::*;
    use crate::pki::cert::Certificate;
    use crate::pki::crl::Crl;
    use crate::pki::role::TrustKind;
    use crate::pki::store::canonical_serial;
    use crate::pki::store::tests::{fixture_cert, index_sql};

    /// Open the store at `p` (migrating it) and check that it is at [`SCHEMA_VERSION`].
    fn open_at_current_version(p: &Path) -> TrustStore {
        let s = TrustStore::open(p).unwrap();
        let v: i64 = s
            .connection()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        s
    }

    #[test]
    fn a_version_6_store_keeps_its_dns_as_references() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trust.db");
        {
            let s = TrustStore::open(&p).unwrap();
            // back to version 6: the dn was a column of every provenance row
            s.connection()
                .execute_batch(
                    "DROP TABLE dir_sync; DROP INDEX dir_entries_uuid; ALTER TABLE dir_entries DROP COLUMN entry_uuid;
                     DROP TABLE provenance_dns; ALTER TABLE provenance DROP COLUMN dn_id;
                     ALTER TABLE provenance ADD COLUMN detail TEXT; PRAGMA user_version = 6;
                     INSERT INTO sources (id, path, kind, imported_at) VALUES (1, 'x.ldif', 'ldif', 0);
                     INSERT INTO provenance (object_kind, object_sha256, source_id, detail, imported_at)
                       VALUES ('crl', x'01', 1, 'cn=a,c=UT', 0), ('crl', x'02', 1, 'cn=a,c=UT', 0),
                              ('crl', x'03', 1, NULL, 0);",
                )
                .unwrap();
        }
        let s = open_at_current_version(&p);
        let c = s.connection();
        let rows: Vec<(Vec<u8>, Option<String>)> = c
            .prepare(
                "SELECT p.object_sha256, d.dn FROM provenance p LEFT JOIN provenance_dns d ON d.id = p.dn_id
                 ORDER BY p.object_sha256",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let a = Some("cn=a,c=UT".to_string());
        assert_eq!(rows, vec![(vec![1], a.clone()), (vec![2], a), (vec![3], None)]);
        let dns: i64 = c
            .query_row("SELECT count(*) FROM provenance_dns", [], |r| r.get(0))
            .unwrap();
        assert_eq!(dns, 1);
    }
    #[test]
    fn version_2_store_is_migrated_to_3_keeping_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trust.db");
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch(SCHEMA_V1).unwrap();
            c.execute_batch(SCHEMA_V2).unwrap();
            c.pragma_update(None, "user_version", 2).unwrap();
            c.execute(
                "INSERT INTO certificates (sha256, der, role, trusted, subject, subject_norm, issuer, issuer_norm,
                    serial, not_before, not_after, added_at) VALUES (x'01', x'30', 'dsc', 0, 's', 's', 'i', 'i', x'01', 0, 1, 0)",
                [],
            )
            .unwrap();
        }
        let s = open_at_current_version(&p);
        let src: Option<i64> = s
            .connection()
            .query_row("SELECT source_id FROM certificates", [], |r| r.get(0))
            .unwrap();
        assert_eq!(src, None);
        assert!(
            !index_sql(s.connection())
                .iter()
                .any(|(n, _)| n == "provenance_object")
        );
    }

    fn insert_v3(c: &Connection, cert: &Certificate, role: &str, trusted: bool, source: i64) {
        c.execute(
            "INSERT INTO certificates (sha256, der, role, trusted, country, subject, subject_norm, issuer, issuer_norm,
                serial, ski, aki, not_before, not_after, added_at, source_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0, ?15)",
            params![
                cert.sha256.as_slice(),
                cert.der,
                role,
                trusted,
                cert.country(),
                cert.subject.display(),
                cert.subject.normalized(),
                cert.issuer.display(),
                cert.issuer.normalized(),
                canonical_serial(&cert.serial),
                cert.ski,
                cert.aki,
                cert.not_before.unix_timestamp(),
                cert.not_after.unix_timestamp(),
                source
            ],
        )
        .unwrap();
    }

    #[test]
    fn version_3_store_is_migrated_to_4_and_trust_is_earned_again_from_anchors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trust.db");
        let ut1 = fixture_cert("10-ut-csca-1.cer");
        let link = fixture_cert("10-ut-link-csca-2-by-1.cer");
        let xa = fixture_cert("10-xa-csca-explicit.cer");
        let xb = fixture_cert("10-xc-csca-expired.cer");
        let crl_der = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/pki/20-ut-csca-1-current.crl"),
        )
        .unwrap();
        let crl = Crl::from_der(&crl_der).unwrap();
        {
            let c = Connection::open(&p).unwrap();
            for m in [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3] {
                c.execute_batch(m).unwrap();
            }
            c.pragma_update(None, "user_version", 3).unwrap();
            c.execute_batch(
                "INSERT INTO sources (id, path, kind, imported_at) VALUES (1, 'ut1.cer', 'certificate', 0);
                 INSERT INTO sources (id, path, kind, imported_at) VALUES (2, 'self.ml', 'master_list', 0);
                 INSERT INTO sources (id, path, kind, imported_at) VALUES (3, 'forced.ml', 'master_list', 0);
                 INSERT INTO master_lists (sha256, der, cert_count, signature, added_at) VALUES (x'AA', x'30', 1, 'valid', 0);
                 INSERT INTO master_lists (sha256, der, cert_count, signature, added_at) VALUES (x'BB', x'30', 1, 'invalid', 0);",
            )
            .unwrap();
            // a directly imported CSCA, a link trusted unverified under the old rules, a
            // CSCA of a self-anchored list, a CSCA of a list forced in with --trust-unsigned
            insert_v3(&c, &ut1, "csca", true, 1);
            insert_v3(&c, &link, "link", true, 1);
            insert_v3(&c, &xa, "csca", true, 2);
            insert_v3(&c, &xb, "csca", true, 3);
            for (cert, ml) in [(&xa, "AA"), (&xb, "BB")] {
                c.execute(
                    &format!(
                        "INSERT INTO provenance (object_kind, object_sha256, source_id, master_list_sha256, imported_at)
                         VALUES ('certificate', ?1, 2, x'{ml}', 0)"
                    ),
                    params![cert.sha256.as_slice()],
                )
                .unwrap();
            }
            c.execute(
                "INSERT INTO crls (sha256, der, issuer, issuer_norm, aki, this_update, entries, signature, added_at)
                 VALUES (?1, ?2, 'i', ?3, ?4, 0, 0, 'valid', 0)",
                params![crl.sha256.as_slice(), crl_der, crl.issuer.normalized(), crl.aki],
            )
            .unwrap();
        }
        let s = open_at_current_version(&p);
        let get = |c: &Certificate| s.certificate(&c.sha256).unwrap().unwrap();
        assert_eq!(
            (get(&ut1).trusted, get(&ut1).trust),
            (true, Some(TrustKind::Direct))
        );
        // the link is trusted again because it verifies under the anchor
        let l = get(&link);
        assert_eq!((l.trusted, l.trust), (true, Some(TrustKind::Link)));
        assert_eq!((l.verified_by, l.anchor), (Some(ut1.sha256), Some(ut1.sha256)));
        // the self-anchored list's CSCA lost its trust; the forced one kept it
        assert!(!get(&xa).trusted);
        assert_eq!(
            (get(&xb).trusted, get(&xb).trust),
            (true, Some(TrustKind::Unsigned))
        );
        // the CRL was verified again under its (still trusted) CSCA
        let (sig, by): (String, Option<Vec<u8>>) = s
            .connection()
            .query_row("SELECT signature, verified_by FROM crls", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((sig.as_str(), by), ("valid", Some(ut1.sha256.to_vec())));
        assert_eq!(s.anchors().unwrap().len(), 2);
    }

    #[test]
    fn schema_is_created_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/trust.db");
        {
            let s = TrustStore::open(&p).unwrap();
            assert_eq!(s.counts().unwrap(), (0, 0, 0, 0));
        }
        let s = open_at_current_version(&p);
        let mode: String = s
            .connection()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trust.db");
        drop(TrustStore::open(&p).unwrap());
        let c = Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(c);
        assert!(matches!(
            TrustStore::open(&p),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }
}

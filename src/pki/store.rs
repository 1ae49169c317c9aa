//! The trust store: one SQLite file (WAL mode) holding CSCA, link, DSC and list-signer
//! certificates, CRLs, master lists and deviation lists, each stored once (keyed by the
//! SHA-256 of its DER) with where it came from.
//!
//! Location: `--store PATH`, else `$EMRTD_STORE`, else `$XDG_DATA_HOME/emrtd/trust.db`,
//! else `~/.local/share/emrtd/trust.db` ([`default_path`]).
//!
//! Trust (docs/trust-store.md): trust flows from **anchors**, the self-signed CSCAs the
//! user imported directly as certificate files or named with `pkd import --anchor`.
//! Everything else earns trust by verifying under something already trusted, and the
//! row records how ([`TrustKind`]) and which anchor it hangs on (`anchor_sha256`):
//!
//! - a master list is *anchored* when its signer's certificate verifies under a trusted
//!   CA certificate; only then do its self-signed CSCAs become trusted. An unanchored
//!   list is stored, and its CSCAs validate nothing until an anchor arrives (in a later
//!   file of the same import, a later import, or `--anchor`);
//! - a CA certificate that is not self-signed (a link certificate) is trusted once its
//!   signature verifies under a trusted CA certificate (`verified_by`);
//! - a CRL counts once it verified under a trusted CA certificate of its issuer.
//!
//! DSCs are never trusted, whatever their extensions say. Lists imported with
//! `--trust-unsigned` make their CSCAs trusted as an explicit act (`unsigned`).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use thiserror::Error;
use time::OffsetDateTime;

use super::cert::{Certificate, Name};
use super::crl::Crl;
use super::role::{Role, TrustKind};

mod writer;
pub use writer::{AnchorInfo, DeviationRow, ListRecord, Writer};

/// Page size of a new store. Rows are ~1 KB certificates; 16 KB pages make the WAL
/// written at the commit of a large import a quarter as many frames (and system
/// calls) as SQLite's default 4 KB.
pub const PAGE_SIZE: i64 = 16_384;

/// Current schema version (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 8;

/// Trust-store failures.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed.
    #[error("trust store database error")]
    Sqlite(#[from] rusqlite::Error),
    /// The directory for the store could not be created.
    #[error("cannot create {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// No location could be derived (no $HOME).
    #[error("no trust store location: set --store, $EMRTD_STORE, $XDG_DATA_HOME or $HOME")]
    NoLocation,
    /// The file was written by a newer emrtd.
    #[error("trust store schema version {found} is newer than this emrtd supports ({supported})")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Highest version known here.
        supported: i64,
    },
    /// No object matches a fingerprint prefix.
    #[error("nothing in the trust store has a fingerprint starting with {prefix}")]
    NotFound {
        /// The prefix given.
        prefix: String,
    },
    /// Several objects match a fingerprint prefix.
    #[error("fingerprint prefix {prefix} is ambiguous ({count} matches)")]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// How many match.
        count: usize,
    },
    /// A fingerprint prefix that is not hex.
    #[error("fingerprint {prefix:?} is not hexadecimal")]
    BadFingerprint {
        /// What was given.
        prefix: String,
    },
    /// A stored object no longer parses (the file was edited or corrupted).
    #[error("stored object {fingerprint} is corrupt")]
    Corrupt {
        /// Its fingerprint.
        fingerprint: String,
    },
}

/// A certificate read back from the store.
#[derive(Debug, Clone)]
pub struct StoredCert {
    /// The parsed certificate.
    pub cert: Certificate,
    /// Its role.
    pub role: Role,
    /// Usable to validate (an anchor, or verified under one).
    pub trusted: bool,
    /// Came from the ICAO PKD non-conformant collection (or had a conformance code).
    pub non_conformant: bool,
    /// Why it is trusted.
    pub trust: Option<TrustKind>,
    /// The anchor it hangs on (itself for an anchor).
    pub anchor: Option<[u8; 32]>,
    /// The CA certificate whose key verified it (link certificates).
    pub verified_by: Option<[u8; 32]>,
}

/// A CRL read back from the store.
#[derive(Debug, Clone)]
pub struct StoredCrl {
    /// The parsed CRL.
    pub crl: Crl,
}

/// Where an object came from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Row id in `sources` (the imported file).
    pub source_id: i64,
    /// The master list it was taken from.
    pub master_list: Option<[u8; 32]>,
    /// The signer certificate of that list.
    pub signer: Option<[u8; 32]>,
    /// The LDIF dn of the entry it came in (stored once in `provenance_dns`).
    pub detail: Option<String>,
}

/// Per-certificate import attributes.
#[derive(Debug, Clone, Default)]
pub struct CertMeta {
    /// Trusted? (then `trust` says why)
    pub trusted: bool,
    /// Why it is trusted.
    pub trust: Option<TrustKind>,
    /// The anchor it hangs on (`None` with a root [`TrustKind`]: itself).
    pub anchor: Option<[u8; 32]>,
    /// From the non-conformant collection.
    pub non_conformant: bool,
    /// pkdConformanceCode.
    pub conformance_code: Option<String>,
    /// pkdConformanceText.
    pub conformance_text: Option<String>,
    /// pkdVersion.
    pub pkd_version: Option<i64>,
}

/// The stored columns of one certificate, worked out without the database (so an
/// import can parse and describe certificates on one thread while another writes).
#[derive(Debug, Clone)]
pub struct CertRow {
    /// SHA-256 of the DER.
    pub sha256: [u8; 32],
    /// The certificate as read.
    pub der: Vec<u8>,
    /// Its role.
    pub role: Role,
    /// Import attributes.
    pub meta: CertMeta,
    country: Option<String>,
    subject: String,
    subject_norm: String,
    issuer: String,
    issuer_norm: String,
    serial: Vec<u8>,
    ski: Option<Vec<u8>>,
    aki: Option<Vec<u8>>,
    not_before: i64,
    not_after: i64,
    key_type: Option<&'static str>,
    curve: Option<&'static str>,
    key_bits: Option<i64>,
    explicit_params: bool,
}

impl CertRow {
    /// The columns of `cert` stored with `role` and `meta`.
    pub fn new(cert: &Certificate, role: Role, meta: &CertMeta) -> Self {
        Self::build(cert, cert.der.clone(), role, meta)
    }

    /// Same as [`CertRow::new`], keeping the certificate's DER without a copy.
    pub fn from_owned(mut cert: Certificate, role: Role, meta: &CertMeta) -> Self {
        let der = std::mem::take(&mut cert.der);
        Self::build(&cert, der, role, meta)
    }

    fn build(cert: &Certificate, der: Vec<u8>, role: Role, meta: &CertMeta) -> Self {
        let info = cert.key_info().ok();
        CertRow {
            sha256: cert.sha256,
            der,
            role,
            meta: meta.clone(),
            country: cert.country(),
            subject: cert.subject.display(),
            subject_norm: cert.subject.normalized(),
            issuer: cert.issuer.display(),
            issuer_norm: cert.issuer.normalized(),
            serial: canonical_serial(&cert.serial),
            ski: cert.ski.clone(),
            aki: cert.aki.clone(),
            not_before: cert.not_before.unix_timestamp(),
            not_after: cert.not_after.unix_timestamp(),
            key_type: info.as_ref().map(|i| i.type_name()),
            curve: info.as_ref().and_then(|i| i.curve),
            key_bits: info.as_ref().map(|i| i64::from(i.bits)),
            explicit_params: info.as_ref().is_some_and(|i| i.explicit_params()),
        }
    }
}

/// Result of adding one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// New.
    Added,
    /// Already there (possibly upgraded to trusted).
    Duplicate,
}

/// The trust store.
#[derive(Debug)]
pub struct TrustStore {
    conn: Connection,
    path: Option<PathBuf>,
}

/// Where the store lives when `--store`/`$EMRTD_STORE` are not given.
pub fn default_path(explicit: Option<&Path>) -> Result<PathBuf, StoreError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("EMRTD_STORE").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("emrtd").join("trust.db"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .ok_or(StoreError::NoLocation)?;
    Ok(PathBuf::from(home).join(".local/share/emrtd/trust.db"))
}

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
/// ([`super::alerts`], `emrtd alerts import`). Only adds tables.
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
/// and earned again by [`super::import::rebuild_trust`], which [`TrustStore::open`]
/// runs right after this migration. Directly imported self-signed CSCAs stay anchors;
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
    super::cvc_store::SCHEMA,
    super::directory::SCHEMA,
    SCHEMA_V7,
    super::directory::SYNC_SCHEMA,
];

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The SQL placeholder string of a role list.
const CA_ROLES: &str = "('csca','link')";

fn cert_columns() -> &'static str {
    "der, role, trusted, non_conformant, trust, anchor_sha256, verified_by"
}

/// The stored columns of a certificate row ([`cert_columns`]).
type CertTuple = (
    Vec<u8>,
    String,
    bool,
    bool,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

fn row_to_cert(row: &rusqlite::Row<'_>) -> rusqlite::Result<CertTuple> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn sha_of(v: Option<Vec<u8>>) -> Option<[u8; 32]> {
    v.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
}

fn to_stored(v: CertTuple) -> Result<StoredCert, StoreError> {
    let (der, role, trusted, non_conformant, trust, anchor, verified_by) = v;
    let cert = Certificate::from_der(&der).map_err(|_| StoreError::Corrupt {
        fingerprint: hex::encode(super::cert::fingerprint(&der)),
    })?;
    Ok(StoredCert {
        cert,
        role: Role::parse(&role),
        trusted,
        non_conformant,
        trust: trust.as_deref().and_then(TrustKind::parse),
        anchor: sha_of(anchor),
        verified_by: sha_of(verified_by),
    })
}

/// The certificates (all [`cert_columns`]) of the rows that meet `condition` (an SQL
/// expression over `certificates`, with `p` for its parameters), in the order it asks.
fn certs_where<P: rusqlite::Params>(
    conn: &Connection,
    condition: &str,
    p: P,
) -> Result<Vec<StoredCert>, StoreError> {
    let sql = format!("SELECT {} FROM certificates WHERE {condition}", cert_columns());
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(p, row_to_cert)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(to_stored(r?)?);
    }
    Ok(out)
}

/// Trusted issuer candidates (CSCA or link) of a certificate on any connection: by
/// AKI = SKI or by the normalised issuer name. Untrusted certificates are never
/// candidates, so nothing an attacker imports without an anchor costs a signature
/// check.
pub fn trusted_issuer_candidates_on(
    conn: &Connection,
    issuer: &Name,
    aki: Option<&[u8]>,
) -> Result<Vec<StoredCert>, StoreError> {
    ca_candidates_on(conn, " AND trusted = 1 AND withdrawn = 0", issuer, aki)
}

/// CA certificates (CSCA or link) that may have issued a certificate, by AKI = SKI or
/// by the normalised issuer name, newest first; `filter` (empty, or ` AND ...`) narrows
/// them.
fn ca_candidates_on(
    conn: &Connection,
    filter: &str,
    issuer: &Name,
    aki: Option<&[u8]>,
) -> Result<Vec<StoredCert>, StoreError> {
    certs_where(
        conn,
        &format!(
            "role IN {CA_ROLES}{filter} AND ((?1 IS NOT NULL AND ski = ?1) OR subject_norm = ?2) ORDER BY not_before DESC"
        ),
        params![aki, issuer.normalized()],
    )
}

fn master_list_anchor_on(
    conn: &Connection,
    sha256: &[u8; 32],
) -> Result<Option<(bool, Option<String>)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT anchored, anchor_sha256 FROM master_lists WHERE sha256 = ?1",
            params![sha256.as_slice()],
            |r| {
                Ok((
                    r.get::<_, bool>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?.map(hex::encode),
                ))
            },
        )
        .optional()?)
}

/// A certificate by its SHA-256 on any connection.
pub fn certificate_on(conn: &Connection, sha256: &[u8; 32]) -> Result<Option<StoredCert>, StoreError> {
    // sha256 is UNIQUE: one row at most
    Ok(certs_where(conn, "sha256 = ?1", params![sha256.as_slice()])?.pop())
}

/// Issuer candidates on any connection (inside or outside a transaction).
pub fn issuer_candidates_on(
    conn: &Connection,
    issuer: &Name,
    aki: Option<&[u8]>,
) -> Result<Vec<StoredCert>, StoreError> {
    ca_candidates_on(conn, "", issuer, aki)
}

/// Certificates with this issuer and serial on any connection.
pub fn by_issuer_serial_on(
    conn: &Connection,
    issuer: &Name,
    serial: &[u8],
) -> Result<Vec<StoredCert>, StoreError> {
    certs_where(
        conn,
        "issuer_norm = ?1 AND serial = ?2 AND withdrawn = 0 ORDER BY rowid",
        params![issuer.normalized(), canonical_serial(serial)],
    )
}

/// Certificates with this SKI on any connection (withdrawn ones, which no source holds
/// any more, excepted: they stop counting, as by issuer and serial).
pub fn by_ski_on(conn: &Connection, ski: &[u8]) -> Result<Vec<StoredCert>, StoreError> {
    certs_where(conn, "ski = ?1 AND withdrawn = 0 ORDER BY rowid", params![ski])
}

/// The certificate a CMS SignerInfo names (by issuerAndSerialNumber or, CMS v3, by
/// subjectKeyIdentifier) on any connection, for a SignedData that does not embed its
/// signer's certificate: the first of the matching certificates that still count, in
/// the order they were stored. `None` when none matches or the issuer does not parse.
pub fn signer_certificate_on(
    conn: &Connection,
    sid: &crate::cms::SignerIdentifier,
) -> Result<Option<StoredCert>, StoreError> {
    let found = match sid {
        crate::cms::SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => {
            match Name::from_der(issuer) {
                Ok(name) => by_issuer_serial_on(conn, &name, serial)?,
                Err(_) => return Ok(None),
            }
        }
        crate::cms::SignerIdentifier::SubjectKeyIdentifier(ski) => by_ski_on(conn, ski)?,
    };
    Ok(found.into_iter().next())
}

impl TrustStore {
    /// Open (creating the file, its directory and the schema when needed).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        let mut s = TrustStore {
            conn,
            path: Some(path.to_path_buf()),
        };
        s.init(true)?;
        Ok(s)
    }

    /// A store in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut s = TrustStore {
            conn: Connection::open_in_memory()?,
            path: None,
        };
        s.init(false)?;
        Ok(s)
    }

    fn init(&mut self, wal: bool) -> Result<(), StoreError> {
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
        if (1..4).contains(&version) {
            // trust given under the old rules was withdrawn by the migration: earn it
            // again from the anchors, in the same transaction (a crash in between leaves
            // the store as it was, at its old version)
            w.reset_derived_trust()?;
            super::import::settle(&w)?;
        }
        w.commit()
    }

    /// The file, when not in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The SQLite connection (read-only uses by other modules; writes go through
    /// [`TrustStore::transaction`]).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Start a write transaction: everything done through it is committed at once or
    /// not at all (a crash before commit leaves the store as it was).
    pub fn transaction(&mut self) -> Result<Writer<'_>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Ok(Writer::new(tx))
    }

    /// Issuer candidates (CSCA or link) of a certificate: by AKI = SKI, then by the
    /// normalised issuer name. Untrusted ones are included; callers check `trusted`.
    pub fn issuer_candidates(
        &self,
        issuer: &Name,
        aki: Option<&[u8]>,
    ) -> Result<Vec<StoredCert>, StoreError> {
        issuer_candidates_on(&self.conn, issuer, aki)
    }

    /// Certificates with this issuer and serial number (a DSC named by a SignerInfo).
    pub fn by_issuer_serial(&self, issuer: &Name, serial: &[u8]) -> Result<Vec<StoredCert>, StoreError> {
        by_issuer_serial_on(&self.conn, issuer, serial)
    }

    /// Certificates with this subject key identifier.
    pub fn by_ski(&self, ski: &[u8]) -> Result<Vec<StoredCert>, StoreError> {
        by_ski_on(&self.conn, ski)
    }

    /// See [`signer_certificate_on`].
    pub fn signer_certificate(
        &self,
        sid: &crate::cms::SignerIdentifier,
    ) -> Result<Option<StoredCert>, StoreError> {
        signer_certificate_on(&self.conn, sid)
    }

    /// A certificate by its SHA-256.
    pub fn certificate(&self, sha256: &[u8; 32]) -> Result<Option<StoredCert>, StoreError> {
        certificate_on(&self.conn, sha256)
    }

    /// Trusted issuer candidates (CSCA or link) of a certificate: by AKI = SKI or by the
    /// normalised issuer name ([`trusted_issuer_candidates_on`]).
    pub fn trusted_issuer_candidates(
        &self,
        issuer: &Name,
        aki: Option<&[u8]>,
    ) -> Result<Vec<StoredCert>, StoreError> {
        trusted_issuer_candidates_on(&self.conn, issuer, aki)
    }

    /// The master lists that hold this certificate and are not anchored (why a CSCA
    /// from a list is not trusted): their fingerprints.
    pub fn unanchored_lists_holding(&self, sha256: &[u8; 32]) -> Result<Vec<String>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT DISTINCT m.sha256 FROM provenance p JOIN master_lists m ON m.sha256 = p.master_list_sha256
             WHERE p.object_sha256 = ?1 AND m.anchored = 0",
        )?;
        let rows = st.query_map(params![sha256.as_slice()], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(hex::encode(r?));
        }
        Ok(out)
    }

    /// Whether a stored master list is anchored, and by which anchor (fingerprint).
    pub fn master_list_anchor(
        &self,
        sha256: &[u8; 32],
    ) -> Result<Option<(bool, Option<String>)>, StoreError> {
        master_list_anchor_on(&self.conn, sha256)
    }

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

    /// The newest CRLs (at most `limit`, thisUpdate ≤ `at`) that verified under one of
    /// these CA certificates. Only these are parsed: CRLs that never verified are not
    /// looked at, however many name the issuer.
    pub fn verified_crls(
        &self,
        issuers: &[&[u8; 32]],
        at: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<StoredCrl>, StoreError> {
        let mut out = Vec::new();
        let mut st = self.conn.prepare_cached(
            "SELECT der FROM crls WHERE verified_by = ?1 AND signature = 'valid' AND withdrawn = 0 AND this_update <= ?2
             ORDER BY this_update DESC LIMIT ?3",
        )?;
        for sha in issuers {
            let rows = st.query_map(params![sha.as_slice(), at.unix_timestamp(), limit as i64], |r| {
                r.get::<_, Vec<u8>>(0)
            })?;
            for r in rows {
                let der = r?;
                let crl = Crl::from_der(&der).map_err(|_| StoreError::Corrupt {
                    fingerprint: hex::encode(super::cert::fingerprint(&der)),
                })?;
                if !out.iter().any(|c: &StoredCrl| c.crl.sha256 == crl.sha256) {
                    out.push(StoredCrl { crl });
                }
            }
        }
        Ok(out)
    }

    /// Trusted CA certificates (CSCA or link) of a country.
    pub fn trusted_cas_of(&self, country: &str) -> Result<Vec<StoredCert>, StoreError> {
        certs_where(
            &self.conn,
            &format!("role IN {CA_ROLES} AND trusted = 1 AND withdrawn = 0 AND country = ?1"),
            params![country],
        )
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
            e.sources = super::directory::sources_of(&self.conn, &e.fingerprint)?;
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
                    super::import::settle(&w)?;
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

    /// Deviations recorded for a DSC (by issuer + serial or SKI).
    pub fn deviations_for(&self, dsc: &Certificate) -> Result<Vec<StoredDeviation>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT d.deviation_type, d.description, d.document_type, l.country
             FROM deviations d JOIN deviation_lists l ON l.id = d.list_id
             WHERE l.withdrawn = 0 AND ((d.issuer_norm = ?1 AND d.serial = ?2) OR (?3 IS NOT NULL AND d.ski = ?3))",
        )?;
        let rows = st.query_map(
            params![dsc.issuer.normalized(), canonical_serial(&dsc.serial), dsc.ski],
            |r| {
                Ok(StoredDeviation {
                    deviation_type: r.get(0)?,
                    description: r.get(1)?,
                    document_type: r.get(2)?,
                    country: r.get(3)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// A deviation recorded for a DSC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredDeviation {
    /// deviationType OID (dotted).
    pub deviation_type: String,
    /// Description text.
    pub description: Option<String>,
    /// documentType.
    pub document_type: Option<String>,
    /// Country of the list.
    pub country: Option<String>,
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

/// Serial numbers are stored without redundant leading octets so that lookups match
/// however an issuer padded them.
pub fn canonical_serial(serial: &[u8]) -> Vec<u8> {
    let mut v = serial;
    while let [0, second, ..] = v {
        if second & 0x80 != 0 {
            break;
        }
        v = v.get(1..).unwrap_or_default();
    }
    v.to_vec()
}

fn ts(v: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(v)
        .ok()
        .map(super::format_time)
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

/// What `remove` deleted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Removed {
    /// certificate | crl | master_list | deviation_list
    pub kind: &'static str,
    /// Full fingerprint.
    pub fingerprint: String,
}

/// The secondary indexes of `certificates`, as the schema creates them. A bulk load
/// ([`Writer::begin_bulk_load`]) drops them and builds them again once at the end:
/// sorting 30,000 keys once is much cheaper than five random B-tree inserts per row.
const CERTIFICATE_INDEXES: &[(&str, &str)] = &[
    ("certificates_ski", "certificates(ski)"),
    ("certificates_aki", "certificates(aki)"),
    ("certificates_subject", "certificates(subject_norm)"),
    ("certificates_issuer_serial", "certificates(issuer_norm, serial)"),
    ("certificates_country_role", "certificates(country, role)"),
];

/// A stored object's SHA-256 and DER.
pub type ShaDer = ([u8; 32], Vec<u8>);

/// What names a CA (`?1` its normalised subject, `?2` its SKI) as issuer: the key
/// identifier when both sides have one (another key of the same name is not asked),
/// else the name.
const KEY_OR_NAME: &str =
    "((?2 IS NOT NULL AND aki = ?2) OR (issuer_norm = ?1 AND (aki IS NULL OR ?2 IS NULL)))";

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_cert(name: &str) -> Certificate {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pkd-fixtures/pki")
            .join(name);
        Certificate::from_der(&std::fs::read(p).unwrap()).unwrap()
    }

    fn index_sql(conn: &Connection) -> Vec<(String, Option<String>)> {
        let mut st = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

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
        let s = TrustStore::open(&p).unwrap();
        let c = s.connection();
        let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
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
    fn a_signer_is_found_by_issuer_serial_or_ski_until_it_is_withdrawn() {
        use crate::cms::SignerIdentifier;
        let mut s = TrustStore::open_in_memory().unwrap();
        let cert = fixture_cert("10-ut-csca-2.cer");
        let w = s.transaction().unwrap();
        let src = w.add_source("a", "ldif").unwrap();
        let prov = Provenance {
            source_id: src,
            ..Provenance::default()
        };
        w.add_certificate(&cert, Role::Csca, &CertMeta::default(), &prov)
            .unwrap();
        w.commit().unwrap();
        let by_name = SignerIdentifier::IssuerAndSerialNumber {
            issuer: cert.issuer.raw.clone(),
            serial: cert.serial.clone(),
        };
        let by_ski = SignerIdentifier::SubjectKeyIdentifier(cert.ski.clone().unwrap());
        let other_ski = SignerIdentifier::SubjectKeyIdentifier(vec![0x55; 20]);
        for sid in [&by_name, &by_ski] {
            let found = s.signer_certificate(sid).unwrap().unwrap();
            assert_eq!(found.cert.sha256, cert.sha256);
        }
        assert!(s.signer_certificate(&other_ski).unwrap().is_none());
        // a certificate no source holds any more stops counting, whichever way it is named
        s.connection()
            .execute("UPDATE certificates SET withdrawn = 1", [])
            .unwrap();
        for sid in [&by_name, &by_ski] {
            assert!(s.signer_certificate(sid).unwrap().is_none());
        }
        assert!(s.by_ski(cert.ski.as_deref().unwrap()).unwrap().is_empty());
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
        let s = TrustStore::open(&p).unwrap();
        let v: i64 = s
            .connection()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
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
        let s = TrustStore::open(&p).unwrap();
        let v: i64 = s
            .connection()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
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
        let s = TrustStore::open(&p).unwrap();
        let v: i64 = s
            .connection()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
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

    #[test]
    fn canonical_serials() {
        assert_eq!(canonical_serial(&[0, 0, 5]), vec![5]);
        assert_eq!(canonical_serial(&[0, 0x80]), vec![0, 0x80]);
        assert_eq!(canonical_serial(&[0x12]), vec![0x12]);
    }

    #[test]
    fn default_path_prefers_explicit() {
        let p = default_path(Some(Path::new("/x/y.db"))).unwrap();
        assert_eq!(p, PathBuf::from("/x/y.db"));
    }
}

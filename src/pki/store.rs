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
//!
//! This file holds the public types and opens the store; the rest is split by what it
//! does, its public items re-exported here: `store/schema.rs` (the tables and their
//! migrations, applied by [`TrustStore::open`]), `store/query.rs` (the lookups path
//! validation and imports need), `store/writer.rs` (the write transaction, [`Writer`],
//! and [`TrustStore::remove`]) and `store/report.rs` (`pkd list` and `pkd stats`).

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use thiserror::Error;
use time::OffsetDateTime;

use super::cert::Certificate;
use super::crl::Crl;
use super::role::{Role, TrustKind};

mod query;
mod report;
mod schema;
mod writer;
pub use query::{
    MAX_SIGNER_CANDIDATES, StoredDeviation, by_issuer_serial_on, by_ski_on, certificate_on,
    certificates_named_on, issuer_candidates_on, signer_certificates_on, trusted_issuer_candidates_on,
};
pub use report::{AnchorInfo, CountryStats, ListEntry, ListKind};
pub use schema::{PAGE_SIZE, SCHEMA_VERSION};
pub use writer::{DeviationRow, ListRecord, Removed, ShaDer, Writer};

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
    /// No source holds it any more: it never vouches for a certificate, but what it
    /// revoked stays revoked.
    pub withdrawn: bool,
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

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn fixture_cert(name: &str) -> Certificate {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pkd-fixtures/pki")
            .join(name);
        Certificate::from_der(&std::fs::read(p).unwrap()).unwrap()
    }

    pub(super) fn index_sql(conn: &Connection) -> Vec<(String, Option<String>)> {
        let mut st = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
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

//! Directory entries in the trust store: what an ICAO PKD directory (an LDAP mirror, or
//! the PKD's download files `icaopkd-00N-complete|delta-NNNNNN.ldif`) says it holds, entry
//! by entry, so that an entry gone from the directory takes its object with it.
//!
//! The ICAO PKD download tree is rooted at `dc=download,dc=pkd,dc=icao,dc=int`,
//! conformant entries under `dc=data`, non-conformant ones under `dc=nc-data`, per country
//! `c=XX`, then `o=dsc|crl|ml|dl|bcsc|bcsc-nc`; entries are `cn=…+sn=…,o=dsc,c=XX,…` with
//! `userCertificate;binary`, `certificateRevocationList;binary`, `pkdMasterListContent`,
//! deviation-list content, `pkdVersion` and, in `dc=nc-data`, `pkdConformanceCode` /
//! `pkdConformanceText`.
//!
//! # Model
//!
//! - An **origin** is one directory seen through one channel, with a collection:
//!   (`"ldap:dc=download,dc=pkd,dc=icao,dc=int"`, `"001"`) for an LDAP mirror (`pkd sync`
//!   names it by its base DN, so its replicas are one origin, and uses the collections
//!   001/002/003, which count `pkdVersion` separately although 001 and 002 share
//!   `dc=data`: [`super::sync`]),
//!   (`"icaopkd"`, `"001"`) for the download files of collection 001. It keeps the
//!   highest `pkdVersion` seen and, for files, the sequence number of the last complete
//!   or delta file applied.
//! - An **entry** of an origin is a DN (compared in ASCII lower case) with its
//!   `pkdVersion` and the objects it carries (certificates, CRLs, master lists, deviation
//!   lists, each by the SHA-256 of its DER; an entry whose values were all rejected is
//!   still known, with no object).
//! - An object is **sourced** while a directory entry carries it, a file imported with
//!   `pkd import` (not a PKD download file) holds it, an anchored-or-not master list that
//!   is itself sourced lists it, or it is a trust anchor. An object that loses its last
//!   source is **withdrawn** (`withdrawn = 1`, kept for the record): it stops counting
//!   for what it would vouch for. Path building never uses a withdrawn CA certificate,
//!   a withdrawn CRL never says "not revoked" (an entry on it still revokes: taking a
//!   CRL away never takes a revocation back), verify never takes a withdrawn DSC from
//!   the store and deviation lists that are withdrawn name nothing. Trust anchors (`direct`, `anchor`,
//!   `unsigned`) are never withdrawn. An object that a directory entry or a file brings
//!   back is sourced again.
//!
//! # API (one transaction)
//!
//! ```no_run
//! # fn f(store: &mut emrtd::pki::store::TrustStore, rec: emrtd::pki::ldif::LdifRecord)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use emrtd::pki::directory::Session;
//! let w = store.transaction()?;
//! let s = Session::new(&w, "ldap://127.0.0.1:3890/dc=download,dc=pkd,dc=icao,dc=int", Default::default())?;
//! let data = s.origin("ldap://127.0.0.1:3890/dc=download,dc=pkd,dc=icao,dc=int", "dc=data")?;
//! let since = s.highest_version(data)?.unwrap_or(0);   // fetch entries with pkdVersion > since
//! let outcome = s.apply_entry(data, rec)?;             // add or replace one entry (an LdifRecord)
//! let known = s.known_entries(data)?;                  // DN → pkdVersion, to find entries gone
//! s.remove_entry(data, "cn=…,o=dsc,c=UT,dc=data,dc=download,dc=pkd,dc=icao,dc=int")?;
//! s.set_highest_version(data, 1234)?;                  // never lowers it
//! let summary = s.finish()?;                           // withdraw what lost its last source, settle trust
//! w.commit()?;                                         // or drop `w`: nothing happened
//! # let _ = (since, outcome, known, summary); Ok(()) }
//! ```
//!
//! [`Session::apply_entry`] imports the entry's objects exactly as an LDIF file would
//! (same parsing, same DSC/bar-code-signer roles by collection, master lists under the
//! same anchor rule, CRLs verified under a trusted CSCA or kept unverified until one
//! arrives, non-conformant entries keeping their code and text) and reports what was
//! added, already there or rejected, with reasons. Everything goes through the caller's
//! [`Writer`]: dropping it without commit (an error, a kill -9) leaves the store exactly
//! as it was. [`Session::finish`] must run before the commit: it withdraws objects that
//! lost their last source in this session and lets trust settle again.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::import::{self, FileKind, FileReport, ImportOptions};
use super::ldif::{LdifAttr, LdifRecord};
use super::store::{StoreError, Writer};

/// Schema version 6: directory origins and entries, and the `withdrawn` flag of every
/// object table (docs/trust-store.md, "Directory entries").
pub const SCHEMA: &str = "
CREATE TABLE dir_origins (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    collection TEXT NOT NULL,
    max_pkd_version INTEGER,
    sequence INTEGER,
    updated_at INTEGER NOT NULL,
    UNIQUE (origin, collection)
);
CREATE TABLE dir_entries (
    id INTEGER PRIMARY KEY,
    origin_id INTEGER NOT NULL REFERENCES dir_origins(id) ON DELETE CASCADE,
    dn_norm TEXT NOT NULL,
    dn TEXT NOT NULL,
    pkd_version INTEGER,
    conformance_code TEXT,
    conformance_text TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (origin_id, dn_norm)
);
CREATE TABLE dir_entry_objects (
    entry_id INTEGER NOT NULL REFERENCES dir_entries(id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_sha256 BLOB NOT NULL,
    PRIMARY KEY (entry_id, object_sha256)
) WITHOUT ROWID;
CREATE INDEX dir_entry_objects_object ON dir_entry_objects(object_sha256);
ALTER TABLE certificates ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crls ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
ALTER TABLE master_lists ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deviation_lists ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
";

/// Schema version 8: what RFC 4533 content synchronisation needs (`pkd sync` against a
/// directory that runs OpenLDAP's `syncprov`): the `entryUUID` of every directory entry
/// (a deletion arrives as a UUID only) and, per directory, the last sync cookie with the
/// server that issued it (docs/pkd-sync.md).
pub const SYNC_SCHEMA: &str = "
ALTER TABLE dir_entries ADD COLUMN entry_uuid TEXT;
CREATE INDEX dir_entries_uuid ON dir_entries(entry_uuid) WHERE entry_uuid IS NOT NULL;
CREATE TABLE dir_sync (
    origin TEXT PRIMARY KEY,
    server TEXT NOT NULL,
    cookie BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
";

/// Secondary indexes of the directory tables that applying an entry does not read
/// (deletions by entryUUID and the withdrawal of objects at [`Session::finish`] do):
/// a bulk load drops them and builds them once ([`Session::drop_entry_indexes`]).
const ENTRY_INDEXES: &[(&str, &str)] = &[
    (
        "dir_entries_uuid",
        "dir_entries(entry_uuid) WHERE entry_uuid IS NOT NULL",
    ),
    ("dir_entry_objects_object", "dir_entry_objects(object_sha256)"),
];

/// `sources.kind` of the rows a [`Session`] writes: what they hold is sourced only
/// while a directory entry carries it.
pub const SOURCE_KIND: &str = "directory";

/// Failures of a directory session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The store failed (roll the transaction back).
    #[error("trust store")]
    Store(#[from] StoreError),
    /// An entry that cannot be applied at all (a cut-off value, …); the caller decides
    /// whether that ends the whole session.
    #[error("{0}")]
    Entry(String),
}

impl From<rusqlite::Error> for DirectoryError {
    fn from(e: rusqlite::Error) -> Self {
        DirectoryError::Store(StoreError::Sqlite(e))
    }
}

impl From<import::Fatal> for DirectoryError {
    fn from(e: import::Fatal) -> Self {
        match e {
            import::Fatal::Store(s) => DirectoryError::Store(s),
            other => DirectoryError::Entry(crate::error::text(&other)),
        }
    }
}

/// What an object of an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A certificate (`userCertificate;binary`, `cACertificate;binary`).
    Certificate,
    /// A CRL (`certificateRevocationList;binary`).
    Crl,
    /// A master list (`pkdMasterListContent`).
    MasterList,
    /// A deviation list.
    DeviationList,
}

impl ObjectKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Certificate => "certificate",
            ObjectKind::Crl => "crl",
            ObjectKind::MasterList => "master_list",
            ObjectKind::DeviationList => "deviation_list",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "certificate" => ObjectKind::Certificate,
            "crl" => ObjectKind::Crl,
            "master_list" => ObjectKind::MasterList,
            "deviation_list" => ObjectKind::DeviationList,
            _ => return None,
        })
    }

    fn table(self) -> &'static str {
        match self {
            ObjectKind::Certificate => "certificates",
            ObjectKind::Crl => "crls",
            ObjectKind::MasterList => "master_lists",
            ObjectKind::DeviationList => "deviation_lists",
        }
    }

    /// The LDAP attribute that carries this kind of object in the ICAO PKD.
    pub fn attribute(self) -> &'static str {
        match self {
            ObjectKind::Certificate => "userCertificate;binary",
            ObjectKind::Crl => "certificateRevocationList;binary",
            ObjectKind::MasterList => "pkdMasterListContent",
            ObjectKind::DeviationList => "pkdDeviationListContent",
        }
    }

    fn of_attr(a: &LdifAttr) -> Option<Self> {
        match import::attr_kind(a)? {
            FileKind::Certificate => Some(ObjectKind::Certificate),
            FileKind::Crl => Some(ObjectKind::Crl),
            FileKind::MasterList => Some(ObjectKind::MasterList),
            FileKind::DeviationList => Some(ObjectKind::DeviationList),
            FileKind::Ldif | FileKind::CvCertificate => None,
        }
    }
}

/// One object carried by an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// What it is.
    pub kind: ObjectKind,
    /// SHA-256 of its DER.
    pub sha256: [u8; 32],
}

/// An origin and collection of one store ([`Session::origin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OriginId(i64);

/// What [`Session::apply_entry`] did to the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A DN the origin did not hold.
    Added,
    /// A known DN whose objects or pkdVersion changed.
    Replaced,
    /// A known DN with the same objects and pkdVersion.
    Unchanged,
}

/// The outcome of applying one entry.
#[derive(Debug, Clone)]
pub struct EntryOutcome {
    /// The entry.
    pub change: Change,
    /// The objects it carries now (values that were rejected are not among them).
    pub objects: Vec<ObjectRef>,
    /// Objects new to the store.
    pub added: u64,
    /// Objects the store already held.
    pub duplicate: u64,
    /// Values refused (a corrupt certificate, a CRL that does not verify, a list whose
    /// signature fails …), each with its reason in `errors`.
    pub rejected: u64,
    /// Why values were refused (each names the entry's DN).
    pub errors: Vec<String>,
    /// Notes that are not errors (a CRL kept unverified, a list not anchored …).
    pub notes: Vec<String>,
}

/// A DN an origin holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownEntry {
    /// The DN as last applied.
    pub dn: String,
    /// Its pkdVersion.
    pub pkd_version: Option<i64>,
    /// Its `entryUUID` (lower-case text form), when the directory gave it.
    pub entry_uuid: Option<String>,
}

/// What [`Session::finish`] did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Objects that lost their last source and stopped counting.
    pub withdrawn: Vec<ObjectRef>,
    /// Withdrawn objects that a source brought back.
    pub restored: Vec<ObjectRef>,
    /// Notes of the trust settlement.
    pub notes: Vec<String>,
}

/// A DN compared in ASCII lower case, without spaces around separators.
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut escaped = false;
    // the last character pushed was an unescaped separator
    let mut after_sep = false;
    // spaces held back until we know whether a separator follows them
    let mut pending = 0usize;
    for ch in dn.trim().chars() {
        if !escaped && ch == ' ' {
            if !after_sep {
                pending += 1;
            }
            continue;
        }
        let sep = !escaped && matches!(ch, ',' | '+' | '=');
        if !sep && pending > 0 {
            out.extend(std::iter::repeat_n(' ', pending));
        }
        pending = 0;
        escaped = !escaped && ch == '\\';
        after_sep = sep;
        out.push(ch.to_ascii_lowercase());
    }
    out
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    openssl::sha::sha256(bytes)
}

/// An entry made ready to apply without the database: its DN, pkdVersion and
/// conformance code and text read, the SHA-256 of every object value taken and its
/// certificates parsed ([`Session::apply_prepared`]). `Send`, so a sync prepares
/// entries on one thread while another writes them.
pub struct PreparedEntry {
    dn: String,
    dn_norm: String,
    version: Option<i64>,
    code: Option<String>,
    text: Option<String>,
    uuid: Option<String>,
    carried: Vec<ObjectRef>,
    list: bool,
    prepared: import::PreparedRecord,
}

impl std::fmt::Debug for PreparedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedEntry")
            .field("dn", &self.dn)
            .field("version", &self.version)
            .field("objects", &self.carried.len())
            .finish()
    }
}

impl PreparedEntry {
    /// Prepare `rec` (an error only for an entry without a DN).
    pub fn new(rec: LdifRecord) -> Result<Self, DirectoryError> {
        Self::with_dn_norm(rec, None)
    }

    /// [`PreparedEntry::new`], given `normalize_dn(&rec.dn)` when the caller has it
    /// already (a sync looked the entry up by it).
    pub(crate) fn with_dn_norm(rec: LdifRecord, dn_norm: Option<String>) -> Result<Self, DirectoryError> {
        if rec.dn.trim().is_empty() {
            return Err(DirectoryError::Entry("an entry without a dn".into()));
        }
        let dn = rec.dn.clone();
        let dn_norm = dn_norm.unwrap_or_else(|| normalize_dn(&dn));
        let version = rec.text("pkdVersion").and_then(|v| v.parse::<i64>().ok());
        let code = rec.text("pkdConformanceCode");
        let text = rec.text("pkdConformanceText");
        let uuid = rec.text("entryUUID").and_then(|u| canonical_uuid(&u));
        let prepared = import::prepare_record(rec);
        // (a parsed certificate's SHA-256 was taken by its parser)
        let carried: Vec<ObjectRef> = prepared
            .attrs_with_rows()
            .filter(|(a, _)| !a.bad_base64)
            .filter_map(|(a, row)| {
                ObjectKind::of_attr(a).map(|kind| ObjectRef {
                    kind,
                    sha256: row.map_or_else(|| sha256(&a.value), |r| r.sha256),
                })
            })
            .collect();
        Ok(PreparedEntry {
            dn,
            dn_norm,
            version,
            code,
            text,
            uuid,
            carried,
            list: prepared.holds_list(),
            prepared,
        })
    }

    /// The entry's DN.
    pub fn dn(&self) -> &str {
        &self.dn
    }

    /// Its DN as directory entries compare them ([`normalize_dn`]).
    pub fn dn_norm(&self) -> &str {
        &self.dn_norm
    }

    /// Its `entryUUID` (from an `entryUUID` attribute in canonical form).
    pub fn entry_uuid(&self) -> Option<&str> {
        self.uuid.as_deref()
    }

    /// It carries a master or deviation list (whose verification needs the store's
    /// certificate indexes: no bulk load for it).
    pub fn holds_list(&self) -> bool {
        self.list
    }

    /// It carries a CRL (whose signature check looks its CA up by the certificate
    /// indexes: a bulk load applies it after them).
    pub fn holds_crl(&self) -> bool {
        self.carried.iter().any(|o| o.kind == ObjectKind::Crl)
    }
}

/// An `entryUUID` in the lower-case 8-4-4-4-12 form (RFC 4530), or `None` when `s` is
/// not one.
pub fn canonical_uuid(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    ok.then(|| s.to_ascii_lowercase())
}

/// The text form of a 16-byte UUID (RFC 4533 carries them as octet strings).
pub fn uuid_text(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    )
}

/// Directory work inside one transaction of the store.
#[derive(Debug)]
pub struct Session<'w, 'a> {
    w: &'w Writer<'a>,
    label: String,
    opts: ImportOptions,
    source_id: Cell<Option<i64>>,
    /// Objects that lost an entry in this session (withdrawn at [`Session::finish`]
    /// unless something else still holds them).
    orphans: RefCell<BTreeSet<ObjectRef>>,
    restored: RefCell<Vec<ObjectRef>>,
    /// Origin → the highest pkdVersion applied in this session, not yet written
    /// (written when read and at [`Session::finish`]: one update per origin instead of
    /// one per entry).
    versions: RefCell<BTreeMap<i64, i64>>,
    /// [`ENTRY_INDEXES`] are dropped (a bulk load).
    entry_indexes_dropped: Cell<bool>,
}

impl<'w, 'a> Session<'w, 'a> {
    /// A session on `w`; `label` names the directory in the store's `sources` table
    /// (an LDAP URL, a download file's name).
    pub fn new(w: &'w Writer<'a>, label: &str, opts: ImportOptions) -> Result<Self, DirectoryError> {
        Ok(Session {
            w,
            label: label.to_owned(),
            opts,
            source_id: Cell::new(None),
            orphans: RefCell::new(BTreeSet::new()),
            restored: RefCell::new(Vec::new()),
            versions: RefCell::new(BTreeMap::new()),
            entry_indexes_dropped: Cell::new(false),
        })
    }

    /// Drop the directory tables' secondary indexes that applying entries does not
    /// read, for a bulk load: [`Session::build_entry_indexes`] (at the latest
    /// [`Session::finish`]) builds them again, once. Nothing else of the session may run
    /// in between but [`Session::apply_prepared`] and [`Session::apply_entry`].
    pub fn drop_entry_indexes(&self) -> Result<(), DirectoryError> {
        if !self.entry_indexes_dropped.get() {
            for (name, _) in ENTRY_INDEXES {
                self.conn()
                    .execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
            }
            self.entry_indexes_dropped.set(true);
        }
        Ok(())
    }

    /// Build the indexes [`Session::drop_entry_indexes`] dropped (nothing when none
    /// were).
    pub fn build_entry_indexes(&self) -> Result<(), DirectoryError> {
        if self.entry_indexes_dropped.get() {
            for (name, on) in ENTRY_INDEXES {
                self.conn()
                    .execute_batch(&format!("CREATE INDEX IF NOT EXISTS {name} ON {on}"))?;
            }
            self.entry_indexes_dropped.set(false);
        }
        Ok(())
    }

    /// Write the highest versions applied so far.
    fn write_versions(&self) -> Result<(), DirectoryError> {
        let pending = std::mem::take(&mut *self.versions.borrow_mut());
        for (o, v) in pending {
            self.set_highest_version(OriginId(o), v)?;
        }
        Ok(())
    }

    /// The writer this session works in.
    pub fn writer(&self) -> &'w Writer<'a> {
        self.w
    }

    fn conn(&self) -> &rusqlite::Connection {
        self.w.connection()
    }

    fn source(&self) -> Result<i64, DirectoryError> {
        if let Some(id) = self.source_id.get() {
            return Ok(id);
        }
        let id = self.w.add_source(&self.label, SOURCE_KIND)?;
        self.source_id.set(Some(id));
        Ok(id)
    }

    /// The origin (created when new).
    pub fn origin(&self, origin: &str, collection: &str) -> Result<OriginId, DirectoryError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO dir_origins (origin, collection, updated_at) VALUES (?1, ?2, ?3)",
            params![origin, collection, now()],
        )?;
        let id = self.conn().query_row(
            "SELECT id FROM dir_origins WHERE origin = ?1 AND collection = ?2",
            params![origin, collection],
            |r| r.get(0),
        )?;
        Ok(OriginId(id))
    }

    /// The origin if the store knows it (nothing created).
    pub fn find_origin(&self, origin: &str, collection: &str) -> Result<Option<OriginId>, DirectoryError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM dir_origins WHERE origin = ?1 AND collection = ?2",
                params![origin, collection],
                |r| r.get(0),
            )
            .optional()?
            .map(OriginId))
    }

    /// The highest pkdVersion seen for the origin.
    pub fn highest_version(&self, o: OriginId) -> Result<Option<i64>, DirectoryError> {
        self.write_versions()?;
        Ok(self.conn().query_row(
            "SELECT max_pkd_version FROM dir_origins WHERE id = ?1",
            params![o.0],
            |r| r.get(0),
        )?)
    }

    /// Raise the highest pkdVersion seen (a lower value changes nothing).
    pub fn set_highest_version(&self, o: OriginId, v: i64) -> Result<(), DirectoryError> {
        self.conn()
            .prepare_cached(
                "UPDATE dir_origins SET max_pkd_version = MAX(COALESCE(max_pkd_version, ?2), ?2), updated_at = ?3
             WHERE id = ?1",
            )?
            .execute(params![o.0, v, now()])?;
        Ok(())
    }

    /// The sequence number of the last download file (complete or delta) applied.
    pub fn sequence(&self, o: OriginId) -> Result<Option<i64>, DirectoryError> {
        Ok(self.conn().query_row(
            "SELECT sequence FROM dir_origins WHERE id = ?1",
            params![o.0],
            |r| r.get(0),
        )?)
    }

    /// Record the sequence number of the download file just applied.
    pub fn set_sequence(&self, o: OriginId, n: i64) -> Result<(), DirectoryError> {
        self.conn().execute(
            "UPDATE dir_origins SET sequence = ?2, updated_at = ?3 WHERE id = ?1",
            params![o.0, n, now()],
        )?;
        Ok(())
    }

    /// The DNs the origin holds, with their pkdVersion, in DN order.
    pub fn known_entries(&self, o: OriginId) -> Result<Vec<KnownEntry>, DirectoryError> {
        let mut st = self.conn().prepare_cached(
            "SELECT dn, pkd_version, entry_uuid FROM dir_entries WHERE origin_id = ?1 ORDER BY dn_norm",
        )?;
        let rows = st.query_map(params![o.0], known_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many entries the origin holds (its range of the (origin, DN) index: no row is
    /// read).
    pub fn entry_count(&self, o: OriginId) -> Result<usize, DirectoryError> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM dir_entries WHERE origin_id = ?1")?
            .query_row(params![o.0], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Every directory entry of the store carries its `entryUUID`: the partial index of
    /// entryUUIDs holds as many as the (origin, DN) index (no row is read).
    pub fn every_entry_has_uuid(&self) -> Result<bool, DirectoryError> {
        Ok(self.conn().query_row(
            "SELECT (SELECT count(*) FROM dir_entries WHERE entry_uuid IS NOT NULL) = (SELECT count(*) FROM dir_entries)",
            [],
            |r| r.get(0),
        )?)
    }

    /// How many entries the origin holds, and how many of them with their `entryUUID`
    /// (counted, not loaded: a content-synchronisation run needs no more).
    pub fn entry_counts(&self, o: OriginId) -> Result<(usize, usize), DirectoryError> {
        // a scan of the table in its order: through the (origin, DN) index every row is
        // a lookup of its own (about 20 times slower at 30,000 entries, the whole cost
        // of a content-synchronisation run that brings a few hundred changes)
        let (all, with_uuid): (i64, i64) = self
            .conn()
            .prepare_cached(
                "SELECT count(*), count(entry_uuid) FROM dir_entries NOT INDEXED WHERE origin_id = ?1",
            )?
            .query_row(params![o.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let n = |v: i64| usize::try_from(v).unwrap_or(0);
        Ok((n(all), n(with_uuid)))
    }

    /// One entry of the origin, if it holds that DN.
    pub fn entry(&self, o: OriginId, dn: &str) -> Result<Option<KnownEntry>, DirectoryError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT dn, pkd_version, entry_uuid FROM dir_entries WHERE origin_id = ?1 AND dn_norm = ?2",
            )?
            .query_row(params![o.0, normalize_dn(dn)], known_entry)
            .optional()?)
    }

    /// The entry of the origin with this `entryUUID` (canonical form), if it holds one.
    pub fn entry_by_uuid(&self, o: OriginId, uuid: &str) -> Result<Option<KnownEntry>, DirectoryError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT dn, pkd_version, entry_uuid FROM dir_entries WHERE origin_id = ?1 AND entry_uuid = ?2",
            )?
            .query_row(params![o.0, uuid], known_entry)
            .optional()?)
    }

    /// Record the `entryUUID` of the origin's entry `dn` (a listing gave it); false when
    /// the origin does not hold the DN.
    pub fn set_entry_uuid(&self, o: OriginId, dn: &str, uuid: &str) -> Result<bool, DirectoryError> {
        let n = self
            .conn()
            .prepare_cached("UPDATE dir_entries SET entry_uuid = ?3 WHERE origin_id = ?1 AND dn_norm = ?2")?
            .execute(params![o.0, normalize_dn(dn), uuid])?;
        Ok(n > 0)
    }

    /// The last content-synchronisation cookie of a directory (`origin`, as in
    /// [`Session::origin`]) and the server that issued it.
    pub fn sync_cookie(&self, origin: &str) -> Result<Option<(String, Vec<u8>)>, DirectoryError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT server, cookie FROM dir_sync WHERE origin = ?1",
                params![origin],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Keep `cookie` from `server` for the next run (`None`: forget the one held).
    pub fn set_sync_cookie(&self, origin: &str, cookie: Option<(&str, &[u8])>) -> Result<(), DirectoryError> {
        match cookie {
            Some((server, c)) => self.conn().execute(
                "INSERT INTO dir_sync (origin, server, cookie, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (origin) DO UPDATE SET server = ?2, cookie = ?3, updated_at = ?4",
                params![origin, server, c, now()],
            )?,
            None => self
                .conn()
                .execute("DELETE FROM dir_sync WHERE origin = ?1", params![origin])?,
        };
        Ok(())
    }

    fn entry_objects(&self, entry_id: i64) -> Result<Vec<ObjectRef>, DirectoryError> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT object_kind, object_sha256 FROM dir_entry_objects WHERE entry_id = ?1")?;
        let rows = st.query_map(params![entry_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (k, sha) = r?;
            if let (Some(kind), Ok(sha256)) = (ObjectKind::parse(&k), <[u8; 32]>::try_from(sha.as_slice())) {
                out.push(ObjectRef { kind, sha256 });
            }
        }
        out.sort();
        Ok(out)
    }

    fn entry_id(&self, o: OriginId, dn_norm: &str) -> Result<Option<(i64, Option<i64>)>, DirectoryError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT id, pkd_version FROM dir_entries WHERE origin_id = ?1 AND dn_norm = ?2")?
            .query_row(params![o.0, dn_norm], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// The entry as the store holds it, rebuilt as a record (its objects' DER under
    /// their PKD attributes, pkdVersion and the conformance code and text), for a
    /// `changetype: modify` to work on. `None` when the origin does not hold the DN.
    pub fn current_record(&self, o: OriginId, dn: &str) -> Result<Option<LdifRecord>, DirectoryError> {
        let Some((id, version)) = self.entry_id(o, &normalize_dn(dn))? else {
            return Ok(None);
        };
        let (stored_dn, code, text): (String, Option<String>, Option<String>) = self.conn().query_row(
            "SELECT dn, conformance_code, conformance_text FROM dir_entries WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut rec = LdifRecord {
            dn: stored_dn,
            ..LdifRecord::default()
        };
        let text_attr = |name: &str, v: String| LdifAttr {
            name: name.to_owned(),
            value: v.into_bytes(),
            line: 0,
            bad_base64: false,
        };
        if let Some(v) = version {
            rec.attrs.push(text_attr("pkdVersion", v.to_string()));
        }
        if let Some(c) = code {
            rec.attrs.push(text_attr("pkdConformanceCode", c));
        }
        if let Some(t) = text {
            rec.attrs.push(text_attr("pkdConformanceText", t));
        }
        for obj in self.entry_objects(id)? {
            let der: Option<Vec<u8>> = self
                .conn()
                .query_row(
                    &format!("SELECT der FROM {} WHERE sha256 = ?1", obj.kind.table()),
                    params![obj.sha256.as_slice()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(der) = der {
                rec.attrs.push(LdifAttr {
                    name: obj.kind.attribute().to_owned(),
                    value: der,
                    line: 0,
                    bad_base64: false,
                });
            }
        }
        Ok(Some(rec))
    }

    /// Add or replace the entry `rec.dn` of origin `o` with what `rec` carries: its
    /// objects are imported as from an LDIF file, and the entry then holds exactly
    /// those that were stored (a replaced value loses this entry as a source). An
    /// entry whose values were all refused is still recorded, without objects, so that
    /// its later deletion is known. `pkdVersion` is read from `rec`; the origin's
    /// highest version is raised to it.
    pub fn apply_entry(&self, o: OriginId, rec: LdifRecord) -> Result<EntryOutcome, DirectoryError> {
        self.apply_prepared(o, PreparedEntry::new(rec)?)
    }

    /// [`Session::apply_entry`] of an entry prepared beforehand ([`PreparedEntry::new`],
    /// which needs no database and can run on another thread).
    pub fn apply_prepared(&self, o: OriginId, entry: PreparedEntry) -> Result<EntryOutcome, DirectoryError> {
        let PreparedEntry {
            dn,
            dn_norm,
            version,
            code,
            text,
            uuid,
            carried,
            prepared,
            ..
        } = entry;
        let source_id = self.source()?;
        let mut report = FileReport::new(&dn);
        import::import_prepared_now(self.w, prepared, source_id, &self.opts, &mut report)?;
        // what the store holds now (a refused value is not an object of the entry), and
        // which of those were withdrawn (this entry brings them back), in one lookup
        // each; certificates that were all just added (new rows, not withdrawn) need none
        let mut objects = Vec::new();
        let mut withdrawn = Vec::new();
        let all_new = report.rejected == 0
            && report.duplicate == 0
            && usize::try_from(report.added).is_ok_and(|n| n == carried.len())
            && carried.iter().all(|x| x.kind == ObjectKind::Certificate);
        if all_new {
            objects.clone_from(&carried);
        }
        for obj in carried.into_iter().filter(|_| !all_new) {
            let state: Option<i64> = self
                .conn()
                .prepare_cached(&format!(
                    "SELECT withdrawn FROM {} WHERE sha256 = ?1",
                    obj.kind.table()
                ))?
                .query_row(params![obj.sha256.as_slice()], |r| r.get(0))
                .optional()?;
            if let Some(w) = state
                && !objects.contains(&obj)
            {
                objects.push(obj);
                if w != 0 {
                    withdrawn.push(obj);
                }
            }
        }
        objects.sort();
        // a new entry is inserted at once (no lookup first); one the origin holds is
        // looked up and compared
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT INTO dir_entries (origin_id, dn_norm, dn, pkd_version, conformance_code, conformance_text, updated_at, entry_uuid)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (origin_id, dn_norm) DO NOTHING",
            )?
            .execute(params![o.0, dn_norm, dn, version, code, text, now(), uuid])?;
        let (change, entry_id) = if inserted == 1 {
            (Change::Added, self.conn().last_insert_rowid())
        } else {
            let Some((id, v)) = self.entry_id(o, &dn_norm)? else {
                return Err(DirectoryError::Entry(
                    "the entry could be neither added nor found".into(),
                ));
            };
            let old = self.entry_objects(id)?;
            let same = old == objects && v == version;
            {
                let mut orphans = self.orphans.borrow_mut();
                for x in old.iter().filter(|x| !objects.contains(x)) {
                    orphans.insert(*x);
                }
            }
            self.conn()
                .prepare_cached(
                    "UPDATE dir_entries SET dn = ?2, pkd_version = ?3, conformance_code = ?4, conformance_text = ?5,
                    updated_at = ?6, entry_uuid = COALESCE(?7, entry_uuid) WHERE id = ?1",
                )?
                .execute(params![id, dn, version, code, text, now(), uuid])?;
            self.conn()
                .prepare_cached("DELETE FROM dir_entry_objects WHERE entry_id = ?1")?
                .execute(params![id])?;
            (if same { Change::Unchanged } else { Change::Replaced }, id)
        };
        {
            let mut st = self.conn().prepare_cached(
                "INSERT OR IGNORE INTO dir_entry_objects (entry_id, object_kind, object_sha256) VALUES (?1, ?2, ?3)",
            )?;
            for obj in &objects {
                st.execute(params![entry_id, obj.kind.as_str(), obj.sha256.as_slice()])?;
            }
        }
        for obj in withdrawn {
            self.revive(obj)?;
        }
        if let Some(v) = version {
            let mut versions = self.versions.borrow_mut();
            let max = versions.entry(o.0).or_insert(v);
            *max = (*max).max(v);
        }
        Ok(EntryOutcome {
            change,
            objects,
            added: report.added,
            duplicate: report.duplicate,
            rejected: report.rejected,
            errors: report.errors,
            notes: report.notes,
        })
    }

    /// Remove the entry `dn` of origin `o`: its objects lose this source. False when the
    /// origin did not hold it.
    pub fn remove_entry(&self, o: OriginId, dn: &str) -> Result<bool, DirectoryError> {
        let Some((id, _)) = self.entry_id(o, &normalize_dn(dn))? else {
            return Ok(false);
        };
        let old = self.entry_objects(id)?;
        self.conn()
            .prepare_cached("DELETE FROM dir_entries WHERE id = ?1")?
            .execute(params![id])?;
        self.orphans.borrow_mut().extend(old);
        Ok(true)
    }

    /// An object brought back by an entry: sourced again (and, for a master list, the
    /// certificates it lists).
    fn revive(&self, obj: ObjectRef) -> Result<(), DirectoryError> {
        let n = self
            .conn()
            .prepare_cached(&format!(
                "UPDATE {} SET withdrawn = 0 WHERE sha256 = ?1 AND withdrawn = 1",
                obj.kind.table()
            ))?
            .execute(params![obj.sha256.as_slice()])?;
        if n > 0 {
            self.restored.borrow_mut().push(obj);
            if obj.kind == ObjectKind::MasterList {
                let listed = listed_in(self.conn(), &obj.sha256)?;
                for sha256 in listed {
                    self.revive(ObjectRef {
                        kind: ObjectKind::Certificate,
                        sha256,
                    })?;
                }
            }
        }
        Ok(())
    }

    /// End the session (before the commit): every object that lost an entry in it and
    /// has no source left is withdrawn (a master list's certificates follow it), and
    /// when a CA certificate or a master list was withdrawn or brought back, derived
    /// trust is earned again from the anchors ([`super::import::settle`]); otherwise
    /// only what became trusted in this transaction settles.
    pub fn finish(self) -> Result<Summary, DirectoryError> {
        self.write_versions()?;
        self.build_entry_indexes()?;
        let mut summary = Summary {
            restored: self.restored.take(),
            ..Summary::default()
        };
        let mut queue: Vec<ObjectRef> = self.orphans.take().into_iter().collect();
        while let Some(obj) = queue.pop() {
            if is_sourced(self.conn(), obj)? {
                continue;
            }
            let n = self.conn().execute(
                &format!(
                    "UPDATE {} SET withdrawn = 1 WHERE sha256 = ?1 AND withdrawn = 0",
                    obj.kind.table()
                ),
                params![obj.sha256.as_slice()],
            )?;
            if n == 0 {
                continue;
            }
            summary.withdrawn.push(obj);
            if obj.kind == ObjectKind::MasterList {
                for sha256 in listed_in(self.conn(), &obj.sha256)? {
                    queue.push(ObjectRef {
                        kind: ObjectKind::Certificate,
                        sha256,
                    });
                }
            }
        }
        let touches_trust = |v: &[ObjectRef], conn: &rusqlite::Connection| -> Result<bool, DirectoryError> {
            for obj in v {
                match obj.kind {
                    ObjectKind::MasterList => return Ok(true),
                    ObjectKind::Certificate => {
                        let ca: bool = conn.query_row(
                            "SELECT EXISTS(SELECT 1 FROM certificates WHERE sha256 = ?1 AND role IN ('csca', 'link'))",
                            params![obj.sha256.as_slice()],
                            |r| r.get(0),
                        )?;
                        if ca {
                            return Ok(true);
                        }
                    }
                    _ => {}
                }
            }
            Ok(false)
        };
        if touches_trust(&summary.withdrawn, self.conn())? || touches_trust(&summary.restored, self.conn())? {
            self.w.reset_derived_trust()?;
        }
        summary.notes = import::settle(self.w)?;
        Ok(summary)
    }
}

fn known_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<KnownEntry> {
    Ok(KnownEntry {
        dn: r.get(0)?,
        pkd_version: r.get(1)?,
        entry_uuid: r.get(2)?,
    })
}

/// The certificates a master list lists (its provenance rows).
fn listed_in(conn: &rusqlite::Connection, ml: &[u8; 32]) -> Result<Vec<[u8; 32]>, DirectoryError> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT object_sha256 FROM provenance WHERE master_list_sha256 = ?1 AND object_kind = 'certificate'",
    )?;
    let rows = st.query_map(params![ml.as_slice()], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for r in rows {
        if let Ok(sha) = <[u8; 32]>::try_from(r?.as_slice()) {
            out.push(sha);
        }
    }
    Ok(out)
}

/// Does anything still hold `obj`: a directory entry, a file that is not a PKD download
/// file, a master list that is not withdrawn, or is it a trust anchor?
pub fn is_sourced(conn: &rusqlite::Connection, obj: ObjectRef) -> Result<bool, StoreError> {
    let sha = obj.sha256.as_slice();
    let mut st = conn.prepare_cached(
        "SELECT EXISTS(SELECT 1 FROM dir_entry_objects WHERE object_sha256 = ?1)
             OR EXISTS(SELECT 1 FROM provenance p JOIN sources s ON s.id = p.source_id
                       WHERE p.object_sha256 = ?1 AND p.master_list_sha256 IS NULL AND s.kind <> 'directory')
             OR EXISTS(SELECT 1 FROM provenance p JOIN master_lists m ON m.sha256 = p.master_list_sha256
                       WHERE p.object_sha256 = ?1 AND m.withdrawn = 0)",
    )?;
    if st.query_row(params![sha], |r| r.get::<_, bool>(0))? {
        return Ok(true);
    }
    if obj.kind == ObjectKind::Certificate {
        // the first source of a certificate is in its own row; a master list sighting
        // there is covered by the provenance row of that list
        let mut st = conn.prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM certificates c WHERE c.sha256 = ?1 AND (
                 c.trust IN ('direct', 'anchor', 'unsigned')
                 OR EXISTS(SELECT 1 FROM sources s WHERE s.id = c.source_id AND s.kind <> 'directory'
                           AND NOT EXISTS(SELECT 1 FROM provenance p WHERE p.object_sha256 = c.sha256
                                          AND p.source_id = c.source_id AND p.master_list_sha256 IS NOT NULL))))",
        )?;
        return Ok(st.query_row(params![sha], |r| r.get::<_, bool>(0))?);
    }
    Ok(false)
}

/// Where an object (SHA-256 hex) comes from, for `pkd list`: the files that hold it
/// (`file PATH`, `file PATH (master list ABCD…)`) and the directory entries that carry
/// it (`ORIGIN COLLECTION: DN`).
pub fn sources_of(conn: &rusqlite::Connection, sha256_hex: &str) -> Result<Vec<String>, StoreError> {
    let Ok(sha) = hex::decode(sha256_hex) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    let mut st = conn.prepare_cached(
        "SELECT s.path, NULL FROM certificates c JOIN sources s ON s.id = c.source_id
           WHERE c.sha256 = ?1 AND s.kind <> 'directory'
         UNION ALL
         SELECT s.path, p.master_list_sha256 FROM provenance p JOIN sources s ON s.id = p.source_id
           WHERE p.object_sha256 = ?1 AND (s.kind <> 'directory' OR p.master_list_sha256 IS NOT NULL)",
    )?;
    let rows = st.query_map(params![sha], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<Vec<u8>>>(1)?))
    })?;
    for r in rows {
        let (path, ml) = r?;
        push(match ml {
            Some(m) => {
                let h = hex::encode(m);
                format!("file {path} (master list {}…)", h.get(..16).unwrap_or(&h))
            }
            None => format!("file {path}"),
        });
    }
    let mut st = conn.prepare_cached(
        "SELECT o.origin, o.collection, e.dn FROM dir_entry_objects x JOIN dir_entries e ON e.id = x.entry_id
           JOIN dir_origins o ON o.id = e.origin_id WHERE x.object_sha256 = ?1 ORDER BY 1, 2, 3",
    )?;
    let rows = st.query_map(params![sha], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for r in rows {
        let (o, c, dn) = r?;
        push(format!("{o} {c}: {dn}"));
    }
    Ok(out)
}

/// After a `pkd import` of a file that is not a PKD download file (`source_id`): every
/// withdrawn object it holds is sourced again. True when a CA certificate or a master
/// list came back (then derived trust must be earned again).
pub fn revive_from_source(w: &Writer<'_>, source_id: i64) -> Result<bool, StoreError> {
    let conn = w.connection();
    let mut trust = false;
    for table in ["certificates", "crls", "master_lists", "deviation_lists"] {
        let extra = if table == "certificates" {
            " OR source_id = ?1"
        } else {
            ""
        };
        let n = conn.execute(
            &format!(
                "UPDATE {table} SET withdrawn = 0 WHERE withdrawn = 1 AND (sha256 IN
                   (SELECT object_sha256 FROM provenance WHERE source_id = ?1){extra})"
            ),
            params![source_id],
        )?;
        if n > 0 && matches!(table, "certificates" | "master_lists") {
            trust = true;
        }
    }
    Ok(trust)
}

/// A PKD download file, recognised by its name: `icaopkd-00N-complete-NNNNNN.ldif` or
/// `icaopkd-00N-delta-NNNNNN.ldif` (case-insensitive, any directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadFile {
    /// `001`, `002` or `003`.
    pub collection: String,
    /// A complete file (a snapshot) or a delta (change records).
    pub delta: bool,
    /// Its sequence number.
    pub sequence: i64,
    /// Digits of the sequence number in the name (6 in the PKD's files).
    pub width: usize,
}

/// Origin name of the PKD download files in `dir_origins` (the collection is `001`, …).
pub const DOWNLOAD_ORIGIN: &str = "icaopkd";

impl DownloadFile {
    /// The download file `path` names, if it is one.
    pub fn from_path(path: &str) -> Option<DownloadFile> {
        let base = path.rsplit(['/', '\\']).next()?.to_ascii_lowercase();
        let rest = base.strip_prefix("icaopkd-")?.strip_suffix(".ldif")?;
        let mut parts = rest.split('-');
        let collection = parts.next()?;
        let kind = parts.next()?;
        let number = parts.next()?;
        if parts.next().is_some()
            || !matches!(collection, "001" | "002" | "003")
            || number.is_empty()
            || number.len() > 12
            || !number.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let delta = match kind {
            "complete" => false,
            "delta" => true,
            _ => return None,
        };
        Some(DownloadFile {
            collection: collection.to_owned(),
            delta,
            sequence: number.parse().ok()?,
            width: number.len(),
        })
    }

    /// The name of the delta file with sequence number `n` of this collection.
    pub fn delta_name(&self, n: i64) -> String {
        format!("icaopkd-{}-delta-{:0w$}.ldif", self.collection, n, w = self.width)
    }

    fn name(&self) -> String {
        format!(
            "icaopkd-{}-{}-{:0w$}.ldif",
            self.collection,
            if self.delta { "delta" } else { "complete" },
            self.sequence,
            w = self.width
        )
    }
}

/// One modification of a `changetype: modify` record.
enum ModOp {
    Add,
    Delete,
    Replace,
}

/// An attribute description without options, lower case (`userCertificate;binary` and
/// `usercertificate` name the same attribute).
fn attr_base(name: &str) -> String {
    name.split(';').next().unwrap_or(name).trim().to_ascii_lowercase()
}

/// Apply the modifications of a `changetype: modify` record (RFC 2849: `add:`,
/// `delete:`, `replace:` groups ended by `-`) to `current`.
fn apply_modify(current: &mut LdifRecord, rec: &LdifRecord, whence: &str) -> Result<(), String> {
    let mut attrs = rec
        .attrs
        .iter()
        .skip_while(|a| !a.name.eq_ignore_ascii_case("changetype"))
        .skip(1)
        .peekable();
    while let Some(op_attr) = attrs.next() {
        if op_attr.name == super::ldif::MOD_SEPARATOR {
            continue;
        }
        let op = match op_attr.name.to_ascii_lowercase().as_str() {
            "add" => ModOp::Add,
            "delete" => ModOp::Delete,
            "replace" => ModOp::Replace,
            other => {
                return Err(format!(
                    "{whence}: line {}: {other:?} is not a modification (add, delete or replace)",
                    op_attr.line
                ));
            }
        };
        let target = String::from_utf8_lossy(&op_attr.value).trim().to_owned();
        let base = attr_base(&target);
        if base.is_empty() {
            return Err(format!(
                "{whence}: line {}: a modification names no attribute",
                op_attr.line
            ));
        }
        let mut values = Vec::new();
        while let Some(v) = attrs.next_if(|a| a.name != super::ldif::MOD_SEPARATOR) {
            if attr_base(&v.name) != base {
                return Err(format!(
                    "{whence}: line {}: {} inside a modification of {target} (a '-' line is missing)",
                    v.line, v.name
                ));
            }
            values.push(v.clone());
        }
        match op {
            ModOp::Replace => {
                current.attrs.retain(|a| attr_base(&a.name) != base);
                current.attrs.extend(values);
            }
            ModOp::Add => current.attrs.extend(values),
            ModOp::Delete if values.is_empty() => current.attrs.retain(|a| attr_base(&a.name) != base),
            ModOp::Delete => {
                for v in values {
                    let before = current.attrs.len();
                    current
                        .attrs
                        .retain(|a| !(attr_base(&a.name) == base && a.value == v.value));
                    if current.attrs.len() == before {
                        return Err(format!(
                            "{whence}: line {}: delete of a {} value the entry does not hold",
                            v.line, v.name
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// `pkd import` of a PKD download file ([`DownloadFile`]), in one transaction: a
/// complete file replaces what the store holds from that collection (entries it does
/// not list are removed), a delta applies its change records in file order (`add`,
/// `delete`, `modify`). A delta must follow the store's sequence number: one already
/// applied changes nothing, one past a gap is refused naming the missing file. Any
/// error that is not about one value (a delta that does not fit the store, a cut-off
/// file, a syntax error) refuses the whole file: the store stays as it was.
pub fn import_download<R: std::io::BufRead>(
    store: &mut super::store::TrustStore,
    label: &str,
    file: &DownloadFile,
    input: R,
    opts: &ImportOptions,
    report: &mut FileReport,
) {
    report.kind = Some(FileKind::Ldif);
    let w = match store.transaction() {
        Ok(w) => w,
        Err(e) => {
            report.fail(crate::error::text(&e));
            return;
        }
    };
    match apply_download(&w, label, file, input, opts, report) {
        Ok(true) => {
            if let Err(e) = w.commit() {
                report.fail(format!("commit failed: {}", crate::error::text(&e)));
            }
        }
        Ok(false) => {
            let _ = w.rollback();
        }
        Err(msg) => {
            let _ = w.rollback();
            report.fail(msg);
            report.rejected = 0;
            report.notes.clear();
            report.notes.push("nothing from this file was imported".into());
        }
    }
}

/// The work of [`import_download`]: Ok(false) when there is nothing to commit.
fn apply_download<R: std::io::BufRead>(
    w: &Writer<'_>,
    label: &str,
    file: &DownloadFile,
    input: R,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<bool, String> {
    let store_err = |e: &dyn std::error::Error| format!("trust store: {}", crate::error::text(e));
    let s = Session::new(w, label, *opts).map_err(|e| store_err(&e))?;
    let o = s
        .origin(DOWNLOAD_ORIGIN, &file.collection)
        .map_err(|e| store_err(&e))?;
    let held = s.sequence(o).map_err(|e| store_err(&e))?;
    let origin_name = format!("{DOWNLOAD_ORIGIN}-{}", file.collection);
    let held_name = |n: i64| format!("{:0w$}", n, w = file.width);
    if file.delta {
        match held {
            None => {
                return Err(format!(
                    "{} is a delta, but the store holds no complete file of {origin_name}: import icaopkd-{}-complete-NNNNNN.ldif first",
                    file.name(),
                    file.collection
                ));
            }
            Some(n) if file.sequence <= n => {
                report.notes.push(format!(
                    "{} already applied: the store holds {origin_name} up to {}; nothing changed",
                    file.name(),
                    held_name(n)
                ));
                return Ok(false);
            }
            Some(n) if file.sequence > n + 1 => {
                return Err(format!(
                    "{} does not follow the store: it holds {origin_name} up to {}, so {} is missing{}; apply the deltas in order",
                    file.name(),
                    held_name(n),
                    file.delta_name(n + 1),
                    if file.sequence > n + 2 {
                        format!(" (and every delta up to {})", file.delta_name(file.sequence - 1))
                    } else {
                        String::new()
                    }
                ));
            }
            Some(_) => {}
        }
    } else if let Some(n) = held.filter(|n| file.sequence < *n) {
        return Err(format!(
            "{} is older than what the store holds of {origin_name} ({}): a complete file never takes the store back",
            file.name(),
            held_name(n)
        ));
    }
    let mut reader = super::ldif::LdifReader::new(input);
    let mut seen: std::collections::HashSet<String> = Default::default();
    let mut entries = 0u64;
    let mut removed = 0u64;
    loop {
        let rec = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => return Err(crate::error::text(&e)),
        };
        if rec.unterminated {
            return Err(format!(
                "truncated LDIF: the record starting at line {} ({}) is cut off (no end of line at the end of the file)",
                rec.line,
                import::quoted_dn(&rec.dn)
            ));
        }
        if rec.dn.is_empty() {
            continue;
        }
        entries += 1;
        let whence = format!("line {} ({})", rec.line, import::quoted_dn(&rec.dn));
        let change = rec.text("changetype").map(|c| c.to_ascii_lowercase());
        let entry_err = |e: DirectoryError| match e {
            DirectoryError::Store(s) => store_err(&s),
            DirectoryError::Entry(m) => format!("{whence}: {m}"),
        };
        match change.as_deref() {
            None | Some("add") => {
                if !file.delta && change.is_some() {
                    return Err(format!(
                        "{whence}: a complete file holds entries, not change records"
                    ));
                }
                seen.insert(normalize_dn(&rec.dn));
                let out = s.apply_entry(o, rec).map_err(entry_err)?;
                tally(report, out);
            }
            Some(other) if !file.delta => {
                return Err(format!(
                    "{whence}: changetype {other} in a complete file (only deltas carry change records)"
                ));
            }
            Some("delete") => {
                if !s.remove_entry(o, &rec.dn).map_err(entry_err)? {
                    return Err(format!(
                        "{whence}: delete of an entry the store does not hold from {origin_name}: the delta does not fit the store's state"
                    ));
                }
                removed += 1;
            }
            Some("modify") => {
                let Some(mut current) = s.current_record(o, &rec.dn).map_err(entry_err)? else {
                    return Err(format!(
                        "{whence}: modify of an entry the store does not hold from {origin_name}: the delta does not fit the store's state"
                    ));
                };
                apply_modify(&mut current, &rec, &whence)?;
                current.dn = rec.dn.clone();
                let out = s.apply_entry(o, current).map_err(entry_err)?;
                tally(report, out);
            }
            Some(other) => {
                return Err(format!(
                    "{whence}: changetype {other} is not one a PKD delta uses (add, delete, modify)"
                ));
            }
        }
    }
    if entries == 0 && !file.delta {
        return Err("LDIF file holds no entries".into());
    }
    if !file.delta {
        // a complete file is the whole collection: what it does not list is gone
        for k in s.known_entries(o).map_err(|e| store_err(&e))? {
            if !seen.contains(&normalize_dn(&k.dn)) {
                s.remove_entry(o, &k.dn).map_err(|e| store_err(&e))?;
                removed += 1;
            }
        }
    }
    s.set_sequence(o, file.sequence).map_err(|e| store_err(&e))?;
    let sum = s.finish().map_err(|e| store_err(&e))?;
    if removed > 0 || !sum.withdrawn.is_empty() {
        report.notes.push(format!(
            "{removed} entr{} removed from {origin_name}; {} object(s) lost their last source and no longer count",
            if removed == 1 { "y" } else { "ies" },
            sum.withdrawn.len()
        ));
    }
    report.notes.extend(sum.notes);
    report.notes.push(format!(
        "the store now holds {origin_name} up to {}",
        held_name(file.sequence)
    ));
    Ok(true)
}

fn tally(report: &mut FileReport, out: EntryOutcome) {
    report.added += out.added;
    report.duplicate += out.duplicate;
    report.rejected += out.rejected;
    for e in out.errors {
        report.error(e);
    }
    report.notes.extend(out.notes);
}

/// Directory sessions over certificates, CRLs and lists of the test PKI
/// (`pki::fixtures`, which the `emulator` feature builds).
#[cfg(test)]
#[cfg(feature = "emulator")]
mod with_test_pki {
    use super::*;
    use crate::pki::fixtures::{SelfMadePki, self_made_pki};
    use crate::pki::path::{self, PathStatus, Revocation};
    use crate::pki::store::TrustStore;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-12-01 0:00 UTC);
    const ORIGIN: &str = "ldap://127.0.0.1:3890/dc=download,dc=pkd,dc=icao,dc=int";

    fn record(dn: &str, version: i64, attr: &str, der: &[u8]) -> LdifRecord {
        let a = |name: &str, value: Vec<u8>| LdifAttr {
            name: name.to_owned(),
            value,
            line: 0,
            bad_base64: false,
        };
        LdifRecord {
            dn: dn.to_owned(),
            attrs: vec![
                a("pkdVersion", version.to_string().into_bytes()),
                a(attr, der.to_vec()),
            ],
            ..LdifRecord::default()
        }
    }

    fn store_with_anchor(pki: &SelfMadePki) -> TrustStore {
        let mut store = TrustStore::open_in_memory().unwrap();
        let r = import::import_bytes(&mut store, "csca.cer", &pki.csca.cert, &ImportOptions::default());
        assert_eq!(r.added, 1, "{:?}", r.errors);
        store
    }

    fn crl_dn(c: &str) -> String {
        format!("cn=CRL,o=crl,c={c},dc=data,dc=download,dc=pkd,dc=icao,dc=int")
    }

    fn dsc_dn(c: &str) -> String {
        format!("cn=CN\\=DS 1+sn=D5,o=dsc,c={c},dc=data,dc=download,dc=pkd,dc=icao,dc=int")
    }

    #[test]
    fn a_crl_whose_entry_is_gone_stops_counting_for_revocation() {
        let pki = self_made_pki("UT", "CSCA Dir").unwrap();
        let mut store = store_with_anchor(&pki);
        let w = store.transaction().unwrap();
        let s = Session::new(&w, ORIGIN, ImportOptions::default()).unwrap();
        let o = s.origin(ORIGIN, "dc=data").unwrap();
        let crl = s
            .apply_entry(
                o,
                record(&crl_dn("UT"), 7, "certificateRevocationList;binary", &pki.crl),
            )
            .unwrap();
        assert_eq!(
            (crl.change, crl.added, crl.rejected),
            (Change::Added, 1, 0),
            "{:?}",
            crl.errors
        );
        let dsc = s
            .apply_entry(o, record(&dsc_dn("UT"), 9, "userCertificate;binary", &pki.dsc))
            .unwrap();
        assert_eq!(dsc.objects.len(), 1);
        assert_eq!(s.highest_version(o).unwrap(), Some(9));
        s.finish().unwrap();
        w.commit().unwrap();
        let dsc = crate::pki::cert::Certificate::from_der(&pki.dsc).unwrap();
        assert!(matches!(
            path::check_revocation(&store, &dsc, AT).unwrap(),
            Revocation::Good { .. }
        ));
        assert_eq!(store.by_issuer_serial(&dsc.issuer, &dsc.serial).unwrap().len(), 1);

        // the directory drops both entries: the CRL and the DSC stop counting
        let w = store.transaction().unwrap();
        let s = Session::new(&w, ORIGIN, ImportOptions::default()).unwrap();
        let o = s.origin(ORIGIN, "dc=data").unwrap();
        assert_eq!(s.known_entries(o).unwrap().len(), 2);
        assert!(s.remove_entry(o, &crl_dn("UT").to_uppercase()).unwrap());
        assert!(s.remove_entry(o, &dsc_dn("UT")).unwrap());
        assert!(!s.remove_entry(o, &dsc_dn("UT")).unwrap());
        let sum = s.finish().unwrap();
        assert_eq!(sum.withdrawn.len(), 2);
        w.commit().unwrap();
        match path::check_revocation(&store, &dsc, AT).unwrap() {
            Revocation::Indeterminate { reason, .. } => assert!(reason.contains("no CRL"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert!(
            store
                .by_issuer_serial(&dsc.issuer, &dsc.serial)
                .unwrap()
                .is_empty()
        );
        // kept for the record
        assert_eq!(store.counts().unwrap().1, 1);

        // back in the directory: counts again
        let w = store.transaction().unwrap();
        let s = Session::new(&w, ORIGIN, ImportOptions::default()).unwrap();
        let o = s.origin(ORIGIN, "dc=data").unwrap();
        let back = s
            .apply_entry(
                o,
                record(&crl_dn("UT"), 11, "certificateRevocationList;binary", &pki.crl),
            )
            .unwrap();
        assert_eq!((back.change, back.duplicate), (Change::Added, 1));
        assert_eq!(s.finish().unwrap().restored.len(), 1);
        w.commit().unwrap();
        assert!(matches!(
            path::check_revocation(&store, &dsc, AT).unwrap(),
            Revocation::Good { .. }
        ));
    }

    #[test]
    fn a_csca_of_a_master_list_gone_from_the_directory_stops_validating_and_anchors_stay() {
        let pki = self_made_pki("UT", "CSCA Dir").unwrap();
        let other = self_made_pki("UT", "CSCA Other").unwrap();
        let mut store = store_with_anchor(&pki);
        let ml = pki
            .master_list_with(std::slice::from_ref(&other.csca.cert))
            .unwrap();
        let ml_dn = "cn=CN\\=Master List Signer+sn=4D4C,o=ml,c=UT,dc=data,dc=download,dc=pkd,dc=icao,dc=int";
        let w = store.transaction().unwrap();
        let s = Session::new(&w, ORIGIN, ImportOptions::default()).unwrap();
        let o = s.origin(ORIGIN, "dc=data").unwrap();
        let r = s
            .apply_entry(o, record(ml_dn, 3, "pkdMasterListContent", &ml))
            .unwrap();
        assert_eq!(r.rejected, 0, "{:?}", r.errors);
        assert_eq!(r.objects.len(), 1);
        s.finish().unwrap();
        w.commit().unwrap();
        let validate = |store: &TrustStore, der: &[u8]| {
            let dsc = crate::pki::cert::Certificate::from_der(der).unwrap();
            path::validate_dsc(store, &dsc, "UTO", AT).unwrap()
        };
        let valid = |store: &TrustStore, der: &[u8]| validate(store, der).status;
        assert_eq!(valid(&store, &other.dsc), PathStatus::Valid);
        assert_eq!(valid(&store, &pki.dsc), PathStatus::Valid);

        let w = store.transaction().unwrap();
        let s = Session::new(&w, ORIGIN, ImportOptions::default()).unwrap();
        let o = s.origin(ORIGIN, "dc=data").unwrap();
        assert!(s.remove_entry(o, ml_dn).unwrap());
        let sum = s.finish().unwrap();
        // the list and the CSCA only it held; the anchor it also lists stays
        assert!(sum.withdrawn.iter().any(|x| x.kind == ObjectKind::MasterList));
        let other_sha = sha256(&other.csca.cert);
        assert!(sum.withdrawn.iter().any(|x| x.sha256 == other_sha));
        assert!(!sum.withdrawn.iter().any(|x| x.sha256 == sha256(&pki.csca.cert)));
        w.commit().unwrap();
        let r = validate(&store, &other.dsc);
        assert_eq!(r.status, PathStatus::Indeterminate, "{:?}", r.reason);
        assert_eq!(valid(&store, &pki.dsc), PathStatus::Valid);

        // a file import of the same list brings it back for good
        let rep = import::import_bytes(&mut store, "ut.ml", &ml, &ImportOptions::default());
        assert_eq!(rep.outcome, import::FileOutcome::Imported, "{:?}", rep.errors);
        assert_eq!(valid(&store, &other.dsc), PathStatus::Valid);
    }

    #[test]
    fn a_session_that_is_not_committed_changes_nothing() {
        let pki = self_made_pki("UT", "CSCA Dir").unwrap();
        let mut store = store_with_anchor(&pki);
        let before = store.counts().unwrap();
        {
            let w = store.transaction().unwrap();
            let s = Session::new(&w, ORIGIN, ImportOptions::default()).unwrap();
            let o = s.origin(ORIGIN, "dc=data").unwrap();
            s.apply_entry(o, record(&dsc_dn("UT"), 9, "userCertificate;binary", &pki.dsc))
                .unwrap();
            s.set_highest_version(o, 9).unwrap();
            // dropped here: a failure midway
        }
        assert_eq!(store.counts().unwrap(), before);
        let n: i64 = store
            .connection()
            .query_row("SELECT COUNT(*) FROM dir_origins", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn replacing_an_entry_swaps_its_object_and_versions_only_rise() {
        let pki = self_made_pki("UT", "CSCA Dir").unwrap();
        let other = self_made_pki("UT", "CSCA Other").unwrap();
        let mut store = store_with_anchor(&pki);
        let w = store.transaction().unwrap();
        let s = Session::new(&w, ORIGIN, ImportOptions::default()).unwrap();
        let o = s.origin(ORIGIN, "dc=data").unwrap();
        let dn = dsc_dn("UT");
        assert_eq!(
            s.apply_entry(o, record(&dn, 5, "userCertificate;binary", &pki.dsc))
                .unwrap()
                .change,
            Change::Added
        );
        assert_eq!(
            s.apply_entry(o, record(&dn, 5, "userCertificate;binary", &pki.dsc))
                .unwrap()
                .change,
            Change::Unchanged
        );
        let r = s
            .apply_entry(o, record(&dn, 6, "userCertificate;binary", &other.dsc))
            .unwrap();
        assert_eq!(r.change, Change::Replaced);
        s.set_highest_version(o, 2).unwrap();
        assert_eq!(s.highest_version(o).unwrap(), Some(6));
        assert_eq!(s.entry(o, &dn).unwrap().unwrap().pkd_version, Some(6));
        let rebuilt = s.current_record(o, &dn).unwrap().unwrap();
        assert_eq!(rebuilt.get("userCertificate;binary").unwrap().value, other.dsc);
        let sum = s.finish().unwrap();
        assert_eq!(
            sum.withdrawn,
            vec![ObjectRef {
                kind: ObjectKind::Certificate,
                sha256: sha256(&pki.dsc)
            }]
        );
        w.commit().unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_file_names() {
        let d = DownloadFile::from_path("/x/ICAOPKD-001-DELTA-000124.ldif").unwrap();
        assert_eq!((d.collection.as_str(), d.delta, d.sequence), ("001", true, 124));
        assert_eq!(d.delta_name(125), "icaopkd-001-delta-000125.ldif");
        let c = DownloadFile::from_path("icaopkd-003-complete-000007.ldif").unwrap();
        assert!(!c.delta);
        for not in [
            "30-icaopkd-001-dsccrl.ldif",
            "icaopkd-004-delta-000001.ldif",
            "icaopkd-001-delta-.ldif",
            "icaopkd-001-delta-00x1.ldif",
            "icaopkd-001-full-000001.ldif",
            "icaopkd-001-delta-000001.ldif.gz",
        ] {
            assert_eq!(DownloadFile::from_path(not), None, "{not}");
        }
    }

    fn modify_record(text: &str) -> LdifRecord {
        crate::pki::ldif::LdifReader::new(text.as_bytes())
            .next_record()
            .unwrap()
            .unwrap()
    }

    #[test]
    fn modifications_add_delete_and_replace_values() {
        let mut current = modify_record(
            "dn: cn=a\npkdVersion: 1\nuserCertificate;binary:: AQI=\nuserCertificate;binary:: AwQ=\n",
        );
        let m = modify_record(
            "dn: cn=a\nchangetype: modify\ndelete: userCertificate;binary\nuserCertificate;binary:: AQI=\n-\nadd: userCertificate;binary\nuserCertificate;binary:: BQY=\n-\nreplace: pkdVersion\npkdVersion: 2\n-\n",
        );
        apply_modify(&mut current, &m, "t").unwrap();
        let certs: Vec<&[u8]> = current
            .attrs
            .iter()
            .filter(|a| a.name == "userCertificate;binary")
            .map(|a| a.value.as_slice())
            .collect();
        assert_eq!(certs, vec![&[3u8, 4][..], &[5, 6][..]]);
        assert_eq!(current.text("pkdVersion").as_deref(), Some("2"));
        // delete without values drops the attribute
        let m = modify_record("dn: cn=a\nchangetype: modify\ndelete: usercertificate\n-\n");
        apply_modify(&mut current, &m, "t").unwrap();
        assert!(current.get("userCertificate;binary").is_none());
        // a value the entry does not hold, a missing '-', an unknown operation
        for bad in [
            "dn: cn=a\nchangetype: modify\ndelete: pkdVersion\npkdVersion: 7\n-\n",
            "dn: cn=a\nchangetype: modify\nreplace: pkdVersion\npkdVersion: 3\nuserCertificate;binary:: AQI=\n",
            "dn: cn=a\nchangetype: modify\nincrement: pkdVersion\n-\n",
        ] {
            assert!(
                apply_modify(&mut current, &modify_record(bad), "t").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn dns_compare_without_case_and_separator_spaces() {
        assert_eq!(normalize_dn("CN=A B, O=dsc ,C=UT"), "cn=a b,o=dsc,c=ut");
        assert_eq!(normalize_dn("cn=x\\, y+sn=1"), "cn=x\\, y+sn=1");
    }
}

//! `emrtd pkd sync`: bring the trust store up to date from an LDAP directory laid out as
//! the ICAO PKD download tree (a national PKD mirror or one of its replicas).
//!
//! The client is [`ldap3`] (plain LDAP, LDAPS or StartTLS through native-tls, i.e. the
//! system OpenSSL; a client certificate and a private CA from files).
//!
//! A run whose store holds a cookie from this very server asks it for what changed
//! since (RFC 4533 content synchronisation, refreshOnly, served by OpenLDAP's `syncprov`:
//! `pki/sync/content_sync.rs`) and applies the changed entries and the deletions, named by
//! entryUUID, in one transaction with the new cookie. Without a usable cookie, or when
//! the server declines, one run:
//!
//! 0. takes a cookie for the next run (a refresh that matches no entry; none from a
//!    server without `syncprov`);
//! 1. reads the server's subschema to learn whether `pkdVersion` has an ORDERING rule
//!    (without one a `(pkdVersion>=N)` filter matches nothing, silently);
//! 2. when the store already holds entries from this directory, lists every PKD entry
//!    below the base (DN, `pkdVersion` and `entryUUID` only, paged), which is how
//!    entries gone from the directory are found (a first run skips it: the fetch brings
//!    every entry);
//! 3. per collection (001 `dc=data` DSCs/CRLs/deviation lists/bar-code signers, 002
//!    `dc=data` master lists, 003 `dc=nc-data`), fetches the entries whose `pkdVersion`
//!    is above the highest the store holds for that collection from this directory
//!    (everything on the first run), paged; without the ORDERING rule it fetches the
//!    collection and keeps the newer ones itself (the filter is `(pkdVersion>=N)` only
//!    when no other collection's versions reach N, else `(!(pkdVersion<=N-1))`: a range
//!    of the server's one pkdVersion index spanning another collection's versions costs
//!    OpenLDAP seconds per page); entries of the listing that the store lacks or holds
//!    at another version are then fetched by their listed pkdVersion, a hundred
//!    versions per search, and one by one only when that does not bring them (a replica
//!    that received them out of order, a run that was cut off);
//! 4. applies the entries of 3 as they arrive, in ONE store transaction opened once the
//!    listing is read: one thread receives and decodes them, a second prepares them
//!    (certificates parsed), this one writes (prepared statements, a large batch loaded
//!    with the certificate and directory indexes built once at the end and its CRL
//!    entries applied after them). It commits only after the last entry: a run cut off
//!    at any point (killed, the server gone) rolls back what it applied, and the next run
//!    does the whole work again. A search retried after a partial stream does not apply
//!    an entry twice (entries are remembered by DN and pkdVersion).
//!
//! Network failures are retried with exponential backoff (`retries`, from 0.5 s); a
//! refused TLS handshake, a certificate the client does not trust, or an LDAP error
//! result are not (retrying cannot help). Every operation has a timeout.
//!
//! Entries are the directory's data, so attacker-controlled: every value is bounded
//! ([`MAX_VALUE`], [`MAX_ENTRY`]), the result messages are read without panicking, and
//! a bad entry is rejected with its DN while the rest lands.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use ldap3::adapters::{EntriesOnly, PagedResults};
use ldap3::asn1::{PL, StructureTag};
use ldap3::{LdapConn, LdapConnSettings, LdapError, ResultEntry, Scope};
use thiserror::Error;

use super::directory::{Change, DirectoryError, PreparedEntry, Session};
use super::import::{BulkLoad, ImportOptions};
use super::ldif::{LdifAttr, LdifRecord};
use super::store::TrustStore;

use super::pkd_tree::{rdn_pair, split_dn};

mod content_sync;
pub use content_sync::{MAX_COOKIE, MAX_UUIDS, SYNC_REQUEST_OID};

/// Largest attribute value accepted from a server (a master list is ~1 MB; the
/// biggest real one is under 2 MB).
pub const MAX_VALUE: usize = 16 * 1024 * 1024;
/// Largest sum of values in one entry.
pub const MAX_ENTRY: usize = 32 * 1024 * 1024;
/// Entries (lists aside) from which a sync loads in bulk (certificate indexes dropped
/// during the load and built again once), when they are also at least half as many as
/// the store already holds from the directory (rebuilding the indexes of a big store
/// for a small delta would cost more than it saves).
pub const BULK_MIN_ENTRIES: usize = 1_000;
/// Batches of prepared entries in flight between the preparing thread and the writer.
const PREPARE_DEPTH: usize = 8;
/// Entries per batch (one channel message).
const PREPARE_BATCH: usize = 64;
/// pkdVersion values per search of [`fetch`]'s catch-up step (`(|(pkdVersion=…)…)`).
const VERSIONS_PER_SEARCH: usize = 100;
/// Page size of paged searches (RFC 2696).
pub const PAGE_SIZE: i32 = 500;

/// Problems of a sync (the store is untouched by all of them).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The URL is not `ldap://HOST[:PORT]/BASE` or `ldaps://…`.
    #[error("invalid directory URL {url:?}: {what}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong.
        what: &'static str,
    },
    /// A file named by an option could not be used.
    #[error("{what} {path}: {reason}")]
    File {
        /// Which option.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Could not talk to the server (after the retries).
    #[error("{server}: {what} failed after {attempts} attempt(s): {source}{hint}")]
    Network {
        /// `ldap://host:port`.
        server: String,
        /// The step (connect, list entries, fetch collection 001, …).
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        #[source]
        source: Box<LdapError>,
        /// A hint for the user (starts with "; " when present).
        hint: String,
    },
    /// The server answered an operation with an error result.
    #[error("{server}: {what}: the server answered {rc} ({text})")]
    Result {
        /// `ldap://host:port`.
        server: String,
        /// The step.
        what: String,
        /// LDAP result code.
        rc: u32,
        /// Its diagnostic text.
        text: String,
    },
    /// The server sent something that is not a valid search result.
    #[error("{server}: {what}: malformed search result: {detail}")]
    Malformed {
        /// `ldap://host:port`.
        server: String,
        /// The step.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The trust store failed.
    #[error("trust store")]
    Store(#[from] super::store::StoreError),
    /// The fetched entries could not be applied (nothing was written).
    #[error("{0}")]
    Apply(String),
}

/// A parsed `ldap[s]://HOST[:PORT]/BASE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncUrl {
    /// `ldaps` (TLS from the first byte).
    pub ldaps: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (389 or 636 by default).
    pub port: u16,
    /// Base DN (percent-decoded), the root of the PKD download tree.
    pub base: String,
}

impl SyncUrl {
    /// Parse `ldap://HOST[:PORT]/BASE` or `ldaps://…` (RFC 4516 without attributes,
    /// scope, filter or extensions).
    pub fn parse(url: &str) -> Result<SyncUrl, SyncError> {
        let bad = |what| SyncError::Url {
            url: url.to_owned(),
            what,
        };
        let (ldaps, rest) = if let Some(r) = strip_prefix_ci(url, "ldaps://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(url, "ldap://") {
            (false, r)
        } else {
            return Err(bad("the scheme must be ldap:// or ldaps://"));
        };
        let (hostport, path) = rest
            .split_once('/')
            .ok_or(bad("no base DN: expected ldap://HOST[:PORT]/BASE"))?;
        if path.contains('?') {
            return Err(bad(
                "attributes, scope, filter or extensions (`?`) are not accepted: give only the base DN",
            ));
        }
        let base = percent_decode(path).ok_or(bad("bad %-escape in the base DN"))?;
        if base.trim().is_empty() {
            return Err(bad("empty base DN"));
        }
        if split_dn(&base).iter().any(|r| rdn_pair(r).is_none()) {
            return Err(bad("the base is not a DN (RDNs of the form type=value)"));
        }
        let default_port = if ldaps { 636 } else { 389 };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, p) = v6.split_once(']').ok_or(bad("unclosed [ in the host"))?;
            let port = match p.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None if p.is_empty() => default_port,
                None => return Err(bad("junk after ]")),
            };
            (h.to_owned(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
                None => (hostport.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if port == 0 {
            return Err(bad("port 0"));
        }
        Ok(SyncUrl {
            ldaps,
            host,
            port,
            base,
        })
    }

    /// `ldap[s]://host:port` (no base): what the client connects to.
    pub fn server(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "{}://{host}:{}",
            if self.ldaps { "ldaps" } else { "ldap" },
            self.port
        )
    }

    /// The name of the directory in the store's `sources` table.
    pub fn label(&self) -> String {
        format!("{}/{}", self.server(), self.base)
    }

    /// The source identity in the store: the base DN, normalised. Replicas of one
    /// directory hold the same entries at the same pkdVersions, so a desk that syncs
    /// from another replica (failover) continues incrementally instead of counting
    /// every object twice.
    pub fn origin(&self) -> String {
        format!("ldap:{}", normalize_dn(&self.base))
    }
}

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let head = s.get(..p.len())?;
    head.eq_ignore_ascii_case(p)
        .then(|| s.get(p.len()..).unwrap_or_default())
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let h = b.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// DNs are compared as the store's directory entries compare them.
pub use super::directory::normalize_dn;

/// The three ICAO PKD collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Collection {
    /// 001: DSCs, CRLs, bar-code signers, deviation lists (`dc=data`).
    Dsc001,
    /// 002: CSCA master lists (`dc=data`, `o=ml`).
    Ml002,
    /// 003: non-conformant entries (`dc=nc-data`).
    Nc003,
}

impl Collection {
    /// All of them, in fetch order (lists first: their CSCAs anchor what follows).
    pub const ALL: [Collection; 3] = [Collection::Ml002, Collection::Dsc001, Collection::Nc003];

    /// `"001"`, `"002"`, `"003"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Collection::Dsc001 => "001",
            Collection::Ml002 => "002",
            Collection::Nc003 => "003",
        }
    }

    /// Parse `"001"`…
    pub fn parse(s: &str) -> Option<Collection> {
        match s {
            "001" => Some(Collection::Dsc001),
            "002" => Some(Collection::Ml002),
            "003" => Some(Collection::Nc003),
            _ => None,
        }
    }

    /// The collection of an entry, from its DN below `base`: `dc=nc-data` is 003,
    /// `o=ml` is 002, the rest of `dc=data` 001; `None` outside both.
    pub fn of_dn(dn: &str, base: &str) -> Option<Collection> {
        let rdns = split_dn(dn);
        let base = split_dn(base);
        // below the base (as `pkd_tree::is_under`)
        if rdns.len() < base.len()
            || !rdns
                .iter()
                .rev()
                .zip(base.iter().rev())
                .all(|(x, y)| x.eq_ignore_ascii_case(y))
        {
            return None;
        }
        // the first three RDNs below it: `dc=`, `c=`, `o=` (the entry's own, with its
        // long escaped value, is not read)
        let below: Vec<(String, String)> = rdns
            .iter()
            .rev()
            .skip(base.len())
            .filter_map(|r| rdn_pair(r))
            .take(3)
            .collect();
        let dc = below.first()?;
        if dc.0 != "dc" {
            return None;
        }
        if dc.1.eq_ignore_ascii_case("nc-data") {
            return Some(Collection::Nc003);
        }
        if !dc.1.eq_ignore_ascii_case("data") {
            return None;
        }
        let o = below.get(2);
        Some(
            if o.is_some_and(|(t, v)| t == "o" && v.eq_ignore_ascii_case("ml")) {
                Collection::Ml002
            } else {
                Collection::Dsc001
            },
        )
    }

    fn subtree(self, base: &str) -> String {
        match self {
            Collection::Nc003 => format!("dc=nc-data,{base}"),
            _ => format!("dc=data,{base}"),
        }
    }

    /// The fetch filter: the collection, and when `min_version` is given only entries
    /// at or above it: `(pkdVersion>=N)` when `indexed`, else `(!(pkdVersion<=N-1))`
    /// (the same entries; a server tests it entry by entry within the collection
    /// instead of gathering a range of its pkdVersion index).
    fn filter(self, min_version: Option<u64>, indexed: bool) -> String {
        let v = match min_version {
            Some(n) if indexed => format!("(pkdVersion>={n})"),
            Some(n) => format!("(!(pkdVersion<={}))", n.saturating_sub(1)),
            None => String::new(),
        };
        match self {
            Collection::Ml002 => format!("(&(objectClass=pkdMasterList){v})"),
            Collection::Dsc001 => format!("(&(objectClass=pkdDownload)(!(objectClass=pkdMasterList)){v})"),
            Collection::Nc003 => format!("(&(objectClass=pkdDownload){v})"),
        }
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Client certificate (PEM) for TLS client authentication.
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM, PKCS#8 or traditional).
    pub client_key: Option<PathBuf>,
    /// CA certificate(s) (PEM) that issued the server's certificate, added to the
    /// system's.
    pub ca_file: Option<PathBuf>,
    /// StartTLS on an `ldap://` connection.
    pub starttls: bool,
    /// Timeout of connecting and of each operation.
    pub timeout: Duration,
    /// Retries after a network failure (0: one attempt).
    pub retries: u32,
    /// First backoff (doubled at each retry).
    pub backoff: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            client_cert: None,
            client_key: None,
            ca_file: None,
            starttls: false,
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// What the store knows of one directory before a run.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Normalised DN → pkdVersion of the entries held from it.
    pub entries: HashMap<String, Option<u64>>,
    /// Highest pkdVersion held per collection.
    pub max_version: BTreeMap<Collection, u64>,
    /// Normalised DN → `entryUUID` of the entries held with one.
    pub uuids: HashMap<String, String>,
    /// The content-synchronisation cookie the store holds from this server (RFC 4533),
    /// when it has one from this very server.
    pub cookie: Option<Vec<u8>>,
    /// Counted, not loaded (a run that refreshes from its cookie needs no more, and
    /// `entries` and `uuids` are then empty): the entries held, every one of them with
    /// its `entryUUID` (a store with any entry lacking one is loaded instead).
    counted: Option<usize>,
}

impl Known {
    /// How many entries the store holds from the directory.
    pub fn held(&self) -> usize {
        self.counted.unwrap_or(self.entries.len())
    }

    /// Every entry held carries its `entryUUID` (deletions of a refresh name only those).
    fn all_with_uuid(&self) -> bool {
        self.counted.is_some() || self.uuids.len() == self.entries.len()
    }
}

/// One entry read from the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// DN as the server spells it.
    pub dn: String,
    /// Its pkdVersion (`None` when absent or not a number).
    pub version: Option<u64>,
    /// Its `entryUUID` (lower-case text form), when the server gave it.
    pub uuid: Option<String>,
    /// Attributes (description as sent, e.g. `userCertificate;binary`) and values.
    pub attrs: Vec<(String, Vec<u8>)>,
}

/// What [`fetch`] brought back.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// Every PKD entry of the directory: normalised DN → (DN, pkdVersion).
    pub listing: HashMap<String, (String, Option<u64>)>,
    /// Entries to apply (new, or at another version than the store holds).
    pub entries: Vec<DirEntry>,
    /// The server has an ORDERING rule for pkdVersion (filtering was done by it).
    pub ordering: bool,
    /// Entries fetched because the listing showed them new or changed although the
    /// version filter did not return them (asked for by their listed pkdVersion, or one
    /// by one).
    pub fetched_individually: usize,
    /// Normalised DN → `entryUUID`, of the listed and fetched entries.
    pub uuids: HashMap<String, String>,
    /// The cookie to keep for the next run (content synchronisation), if the server
    /// gave one.
    pub cookie: Option<Vec<u8>>,
    /// The server answered a refresh from the store's cookie (RFC 4533): `entries` are
    /// the changes since, `listing` is empty and these are the deletions.
    pub delta: Option<Deletions>,
    /// Why a cookie the store held was not used (the directory was listed instead).
    pub fallback: Option<String>,
}

/// Deletions of a content-synchronisation refresh.
#[derive(Debug, Clone, Default)]
pub struct Deletions {
    /// `entryUUID`s of entries deleted.
    pub deleted: HashSet<String>,
    /// After a present phase: the `entryUUID`s of the unchanged entries (any other entry
    /// held, not among the changes, is gone).
    pub present: Option<HashSet<String>>,
}

/// Progress callbacks (a terminal bar in the CLI).
pub trait Progress {
    /// A new phase with a known number of steps (0: unknown).
    fn phase(&self, what: &str, total: u64);
    /// `n` more steps done.
    fn inc(&self, n: u64);
}

/// No progress display.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str, _: u64) {}
    fn inc(&self, _: u64) {}
}

fn read_file(what: &'static str, p: &PathBuf) -> Result<Vec<u8>, SyncError> {
    std::fs::read(p).map_err(|e| SyncError::File {
        what,
        path: p.clone(),
        reason: e.to_string(),
    })
}

fn tls_connector(opts: &SyncOptions) -> Result<native_tls::TlsConnector, SyncError> {
    let mut b = native_tls::TlsConnector::builder();
    if let Some(ca) = &opts.ca_file {
        let pem = read_file("--ca-file", ca)?;
        let certs = openssl::x509::X509::stack_from_pem(&pem).map_err(|e| SyncError::File {
            what: "--ca-file",
            path: ca.clone(),
            reason: format!("not PEM certificates: {e}"),
        })?;
        if certs.is_empty() {
            return Err(SyncError::File {
                what: "--ca-file",
                path: ca.clone(),
                reason: "no certificate in it".into(),
            });
        }
        for c in certs {
            let der = c.to_der().map_err(|e| SyncError::File {
                what: "--ca-file",
                path: ca.clone(),
                reason: e.to_string(),
            })?;
            let cert = native_tls::Certificate::from_der(&der).map_err(|e| SyncError::File {
                what: "--ca-file",
                path: ca.clone(),
                reason: e.to_string(),
            })?;
            b.add_root_certificate(cert);
        }
    }
    match (&opts.client_cert, &opts.client_key) {
        (Some(cert), Some(key)) => {
            let cert_pem = read_file("--client-cert", cert)?;
            let key_pem = zeroize::Zeroizing::new(read_file("--client-key", key)?);
            let bad_key = |e: String| SyncError::File {
                what: "--client-key",
                path: key.clone(),
                reason: e,
            };
            // native-tls wants PKCS#8; accept traditional (SEC1, PKCS#1) keys too
            let pkey = openssl::pkey::PKey::private_key_from_pem(&key_pem)
                .map_err(|e| bad_key(format!("not a PEM private key: {e}")))?;
            let pkcs8 = zeroize::Zeroizing::new(
                pkey.private_key_to_pem_pkcs8()
                    .map_err(|e| bad_key(e.to_string()))?,
            );
            let x509 = openssl::x509::X509::from_pem(&cert_pem).map_err(|e| SyncError::File {
                what: "--client-cert",
                path: cert.clone(),
                reason: format!("not a PEM certificate: {e}"),
            })?;
            let matches = x509.public_key().map(|pk| pk.public_eq(&pkey)).unwrap_or(false);
            if !matches {
                return Err(bad_key(format!(
                    "does not match the certificate {}",
                    cert.display()
                )));
            }
            let id =
                native_tls::Identity::from_pkcs8(&cert_pem, &pkcs8).map_err(|e| bad_key(e.to_string()))?;
            b.identity(id);
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(SyncError::File {
                what: "--client-cert",
                path: opts.client_cert.clone().unwrap_or_default(),
                reason: "needs --client-key".into(),
            });
        }
        (None, Some(_)) => {
            return Err(SyncError::File {
                what: "--client-key",
                path: opts.client_key.clone().unwrap_or_default(),
                reason: "needs --client-cert".into(),
            });
        }
    }
    b.build().map_err(|e| SyncError::File {
        what: "TLS settings from",
        path: opts
            .client_cert
            .clone()
            .or(opts.ca_file.clone())
            .unwrap_or_default(),
        reason: e.to_string(),
    })
}

/// Is this failure worth another attempt? (Not a TLS refusal nor an untrusted server.)
fn transient(e: &LdapError) -> bool {
    match e {
        LdapError::Io { source } => {
            let t = source.to_string().to_ascii_lowercase();
            !(t.contains("alert")
                || t.contains("certificate")
                || t.contains("handshake")
                || t.contains("ssl"))
        }
        LdapError::Timeout { .. } | LdapError::ResultRecv { .. } | LdapError::OpSend { .. } => true,
        _ => {
            let t = e.to_string().to_ascii_lowercase();
            !(t.contains("alert")
                || t.contains("certificate")
                || t.contains("handshake")
                || t.contains("tls"))
        }
    }
}

fn server_untrusted(e: &LdapError) -> bool {
    let t = format!("{e} {e:?}").to_ascii_lowercase();
    t.contains("certificate verify failed")
        || t.contains("self-signed")
        || t.contains("unable to get local issuer")
}

fn hint(e: &LdapError, url: &SyncUrl, opts: &SyncOptions, refused: Option<&str>) -> String {
    let t = format!("{e} {e:?}").to_ascii_lowercase();
    let tls = url.ldaps || opts.starttls;
    if tls && server_untrusted(e) {
        "; the server's certificate is not trusted: name its CA with --ca-file".into()
    } else if let Some(alert) = refused {
        if opts.client_cert.is_some() {
            format!(
                "; the server refused the TLS handshake ({alert}): it does not accept this --client-cert (issued by a CA it does not trust, expired or revoked?)"
            )
        } else {
            format!(
                "; the server refused the TLS handshake ({alert}): it requires a client certificate (--client-cert, --client-key)"
            )
        }
    } else if tls && (t.contains("channel closed") || t.contains("reset") || t.contains("end of")) {
        "; the server closed the TLS connection: does it require a client certificate it accepts (--client-cert, --client-key)?"
            .into()
    } else if t.contains("connection refused") {
        "; is the directory server running and listening there?".into()
    } else if t.contains("timeout") || t.contains("timed out") || t.contains("elapsed") {
        "; no answer within the timeout (--timeout)".into()
    } else {
        String::new()
    }
}

/// After a failure on an `ldaps://` connection: make one TLS handshake with the same
/// settings and read, to see whether the server sends an alert (with TLS 1.3 a refused
/// client certificate arrives only after the client finished its handshake, and the
/// LDAP client then just sees the connection close). The alert's text, or `None`.
fn tls_refusal(url: &SyncUrl, opts: &SyncOptions) -> Option<String> {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
    use std::io::Read;
    use std::net::ToSocketAddrs;
    if !url.ldaps {
        return None;
    }
    let mut b = SslConnector::builder(SslMethod::tls_client()).ok()?;
    // the server's own certificate is judged by the real connection, not here
    b.set_verify(SslVerifyMode::NONE);
    if let (Some(cert), Some(key)) = (&opts.client_cert, &opts.client_key) {
        let x509 = openssl::x509::X509::from_pem(&std::fs::read(cert).ok()?).ok()?;
        let key = zeroize::Zeroizing::new(std::fs::read(key).ok()?);
        let pkey = openssl::pkey::PKey::private_key_from_pem(&key).ok()?;
        b.set_certificate(&x509).ok()?;
        b.set_private_key(&pkey).ok()?;
    }
    let connector = b.build();
    let addr = (url.host.as_str(), url.port).to_socket_addrs().ok()?.next()?;
    let tcp = std::net::TcpStream::connect_timeout(&addr, opts.timeout).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut cfg = connector.configure().ok()?;
    cfg.set_verify_hostname(false);
    let alert = |e: String| {
        let l = e.to_ascii_lowercase();
        (l.contains("alert") || l.contains("certificate")).then(|| {
            l.split(':')
                .find(|p| p.contains("alert"))
                .map_or(e.clone(), |p| p.trim().to_owned())
        })
    };
    match cfg.connect(&url.host, tcp) {
        Err(e) => alert(e.to_string()),
        Ok(mut s) => {
            let mut one = [0u8; 1];
            match s.read(&mut one) {
                Err(e) => alert(e.to_string()),
                // data or a clean close: no alert, the handshake was accepted
                Ok(0 | 1..) => None,
            }
        }
    }
}

struct Client<'a> {
    url: &'a SyncUrl,
    opts: &'a SyncOptions,
    conn: Option<LdapConn>,
    /// An operation succeeded on this server (TLS was accepted).
    ever_worked: bool,
}

impl<'a> Client<'a> {
    /// A client for `url` (no connection yet); the TLS files are checked here, once,
    /// before any attempt.
    fn new(url: &'a SyncUrl, opts: &'a SyncOptions) -> Result<Self, SyncError> {
        if url.ldaps || opts.starttls || opts.client_cert.is_some() || opts.ca_file.is_some() {
            if !(url.ldaps || opts.starttls) {
                return Err(SyncError::Url {
                    url: url.server(),
                    what: "--client-cert/--ca-file need TLS: use ldaps:// or --starttls",
                });
            }
            tls_connector(opts)?;
        }
        Ok(Client {
            url,
            opts,
            conn: None,
            ever_worked: false,
        })
    }

    /// Say goodbye to the server (a failure is of no consequence: the work is done).
    fn unbind(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.unbind();
        }
    }

    fn server(&self) -> String {
        self.url.server()
    }

    fn connect(&mut self) -> Result<&mut LdapConn, LdapError> {
        if self.conn.is_none() {
            let mut settings = LdapConnSettings::new()
                .set_conn_timeout(self.opts.timeout)
                .set_starttls(self.opts.starttls && !self.url.ldaps);
            if self.url.ldaps || self.opts.starttls {
                // the connector errors were checked before the first attempt
                if let Ok(c) = tls_connector(self.opts) {
                    settings = settings.set_connector(c);
                }
            }
            let conn = LdapConn::with_settings(settings, &self.server())?;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or(LdapError::EndOfStream)
    }

    /// Run `op` with retries on transient failures (a new connection each time).
    fn with_retries<T>(
        &mut self,
        what: &str,
        mut op: impl FnMut(&mut LdapConn, Duration) -> Result<Result<T, SyncError>, LdapError>,
    ) -> Result<T, SyncError> {
        let mut attempt = 0u32;
        let mut wait = self.opts.backoff;
        loop {
            attempt += 1;
            let timeout = self.opts.timeout;
            let r = self.connect().and_then(|c| op(c, timeout));
            match r {
                Ok(inner) => {
                    self.ever_worked = true;
                    return inner;
                }
                Err(e) => {
                    self.conn = None;
                    // a refused TLS handshake is not worth another attempt
                    let refused = if self.url.ldaps && !self.ever_worked && !server_untrusted(&e) {
                        tls_refusal(self.url, self.opts)
                    } else {
                        None
                    };
                    if attempt > self.opts.retries || !transient(&e) || refused.is_some() {
                        return Err(SyncError::Network {
                            server: self.server(),
                            what: what.to_owned(),
                            attempts: attempt,
                            hint: hint(&e, self.url, self.opts, refused.as_deref()),
                            source: Box::new(e),
                        });
                    }
                    std::thread::sleep(wait);
                    wait = wait.saturating_mul(2);
                }
            }
        }
    }

    /// A search (paged unless `scope` is Base) whose entries are handed to `on` as they
    /// arrive: [`Streamed::Attempt`] before each attempt (a retry after a network failure
    /// may hand entries of the failed attempt again), then each entry. `Ok(false)` when
    /// the base does not exist. An error of `on` ends the search (a receiver that gave
    /// up); a malformed entry fails it after the server's answer is read.
    fn stream(
        &mut self,
        what: &str,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        on: &mut dyn FnMut(Streamed) -> Result<(), SyncError>,
    ) -> Result<bool, SyncError> {
        let server = self.server();
        let paged = scope != Scope::Base;
        self.with_retries(what, |conn, timeout| {
            if let Err(e) = on(Streamed::Attempt) {
                return Ok(Err(e));
            }
            let adapters: Vec<Box<dyn ldap3::adapters::Adapter<_, _>>> = if paged {
                vec![
                    Box::new(EntriesOnly::new()),
                    Box::new(PagedResults::new(PAGE_SIZE)),
                ]
            } else {
                vec![Box::new(EntriesOnly::new())]
            };
            let mut stream = conn.with_timeout(timeout).streaming_search_with(
                adapters,
                base,
                scope,
                filter,
                attrs.to_vec(),
            )?;
            let mut failed = None;
            while let Some(re) = stream.next()? {
                if failed.is_some() {
                    continue;
                }
                match parse_entry(re) {
                    Ok(Some(e)) => {
                        if let Err(e) = on(Streamed::Entry(e)) {
                            return Ok(Err(e));
                        }
                    }
                    Ok(None) => {}
                    Err(detail) => {
                        failed = Some(SyncError::Malformed {
                            server: server.clone(),
                            what: what.to_owned(),
                            detail,
                        });
                    }
                }
            }
            let res = stream.result();
            if let Some(e) = failed {
                return Ok(Err(e));
            }
            match res.rc {
                0 => Ok(Ok(true)),
                32 => Ok(Ok(false)),
                rc => Ok(Err(SyncError::Result {
                    server: server.clone(),
                    what: what.to_owned(),
                    rc,
                    text: if res.text.is_empty() {
                        result_name(rc).to_owned()
                    } else {
                        format!("{}: {}", result_name(rc), res.text)
                    },
                })),
            }
        })
    }

    /// [`Client::stream`] gathered: the entries of the attempt that succeeded, or `None`
    /// when the base does not exist. `tick` is called per entry received (progress).
    fn search(
        &mut self,
        what: &str,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        tick: &dyn Fn(),
    ) -> Result<Option<Vec<DirEntry>>, SyncError> {
        let mut entries = Vec::new();
        let found = self.stream(what, base, scope, filter, attrs, &mut |s| {
            match s {
                // a retry starts clean
                Streamed::Attempt => entries.clear(),
                Streamed::Entry(e) => {
                    tick();
                    entries.push(e);
                }
            }
            Ok(())
        })?;
        Ok(found.then_some(entries))
    }
}

/// What [`Client::stream`] hands on.
enum Streamed {
    /// An attempt begins (a retry: entries of the failed attempt may come again).
    Attempt,
    /// An entry.
    Entry(DirEntry),
}

impl Streamed {
    /// The entry; `None` when an attempt begins, which `attempts` counts.
    fn entry(self, attempts: &mut u32) -> Option<DirEntry> {
        match self {
            Streamed::Attempt => {
                *attempts += 1;
                None
            }
            Streamed::Entry(e) => Some(e),
        }
    }
}

fn result_name(rc: u32) -> &'static str {
    match rc {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded (the server limits unpaged results)",
        8 => "strongerAuthRequired",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired (use ldaps:// or --starttls)",
        18 => "inappropriateMatching",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        _ => "error",
    }
}

/// A SearchResultEntry (`[APPLICATION 4] SEQUENCE { objectName, attributes }`), read
/// without trusting it. `Ok(None)` for other messages.
fn parse_entry(re: ResultEntry) -> Result<Option<DirEntry>, String> {
    if re.0.id != 4 {
        return Ok(None);
    }
    let mut parts =
        re.0.expect_constructed()
            .ok_or("entry is not constructed")?
            .into_iter();
    let dn = primitive(parts.next(), "objectName")?;
    let dn = String::from_utf8(dn).map_err(|_| "DN is not UTF-8".to_owned())?;
    if dn.len() > super::ldif::MAX_DN {
        return Err(format!("DN longer than {} bytes", super::ldif::MAX_DN));
    }
    let attrs = parts
        .next()
        .ok_or("no attribute list")?
        .expect_constructed()
        .ok_or("attribute list is not constructed")?;
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut version = None;
    let mut uuid = None;
    for pa in attrs {
        let mut p = pa
            .expect_constructed()
            .ok_or("attribute is not constructed")?
            .into_iter();
        let name = String::from_utf8(primitive(p.next(), "attribute type")?)
            .map_err(|_| "attribute type is not UTF-8".to_owned())?;
        let vals = p
            .next()
            .ok_or("attribute without values")?
            .expect_constructed()
            .ok_or("attribute values are not a set")?;
        for v in vals {
            let v = primitive(Some(v), "attribute value")?;
            if v.len() > MAX_VALUE {
                return Err(format!(
                    "{dn}: a value of {name} is longer than {MAX_VALUE} bytes"
                ));
            }
            total += v.len();
            if total > MAX_ENTRY {
                return Err(format!("{dn}: entry larger than {MAX_ENTRY} bytes"));
            }
            if name.eq_ignore_ascii_case("pkdVersion") {
                version = std::str::from_utf8(&v).ok().and_then(|s| s.trim().parse().ok());
            }
            if name.eq_ignore_ascii_case("entryUUID") {
                uuid = std::str::from_utf8(&v)
                    .ok()
                    .and_then(super::directory::canonical_uuid);
                continue;
            }
            out.push((name.clone(), v));
        }
    }
    Ok(Some(DirEntry {
        dn,
        version,
        uuid,
        attrs: out,
    }))
}

fn primitive(t: Option<StructureTag>, what: &str) -> Result<Vec<u8>, String> {
    match t.map(|t| t.payload) {
        Some(PL::P(v)) => Ok(v),
        Some(PL::C(_)) => Err(format!("{what} is not primitive")),
        None => Err(format!("{what} missing")),
    }
}

/// Does the server's schema give pkdVersion an ORDERING rule? (`(pkdVersion>=N)`
/// matches nothing without one.) `false` when the subschema cannot be read.
fn has_ordering(client: &mut Client<'_>) -> Result<bool, SyncError> {
    let root = client.search(
        "read the root DSE",
        "",
        Scope::Base,
        "(objectClass=*)",
        &["subschemaSubentry"],
        &|| {},
    )?;
    let Some(sub) = root
        .unwrap_or_default()
        .into_iter()
        .flat_map(|e| e.attrs)
        .find(|(n, _)| n.eq_ignore_ascii_case("subschemaSubentry"))
        .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
    else {
        return Ok(false);
    };
    let schema = client.search(
        "read the schema",
        &sub,
        Scope::Base,
        "(objectClass=subschema)",
        &["attributeTypes"],
        &|| {},
    )?;
    Ok(schema
        .unwrap_or_default()
        .iter()
        .flat_map(|e| &e.attrs)
        .any(|(n, v)| {
            let d = String::from_utf8_lossy(v).to_ascii_lowercase();
            n.eq_ignore_ascii_case("attributeTypes")
                && d.contains("name 'pkdversion'")
                && d.contains(" ordering ")
        }))
}

/// Read from the directory what the store needs to catch up (see the module docs).
/// Nothing is written anywhere. (`pkd sync` applies the entries as they arrive instead
/// of gathering them first.)
pub fn fetch(
    url: &SyncUrl,
    opts: &SyncOptions,
    known: &Known,
    progress: &dyn Progress,
) -> Result<Fetched, SyncError> {
    let mut client = Client::new(url, opts)?;
    let fallback = match by_cookie(&mut client, known, progress)? {
        ByCookie::Changes(f) => return Ok(*f),
        ByCookie::List(fallback) => fallback,
    };
    let plan = plan(&mut client, known, progress)?;
    let mut entries = Vec::new();
    let got = fetch_entries(&mut client, known, &plan, &mut |_, _, e| {
        progress.inc(1);
        entries.push(e);
        Ok(())
    })?;
    let (mut listing, mut uuids) = (plan.listing, plan.uuids);
    if first_run(known) {
        // the fetch was the listing
        for e in &entries {
            let key = normalize_dn(&e.dn);
            if got.listed(&key) {
                if let Some(u) = &e.uuid {
                    uuids.insert(key.clone(), u.clone());
                }
                listing.insert(key, (e.dn.clone(), e.version));
            }
        }
    }
    Ok(Fetched {
        listing,
        entries,
        ordering: plan.ordering,
        fetched_individually: got.fetched_individually,
        uuids,
        cookie: plan.cookie,
        delta: None,
        fallback,
    })
}

/// What a refresh from the store's cookie gave.
enum ByCookie {
    /// The changes since the cookie.
    Changes(Box<Fetched>),
    /// No refresh (no usable cookie: `None`; or why the server's answer was not used):
    /// the directory must be listed.
    List(Option<String>),
}

/// A store that holds nothing from this directory: it needs no listing (the fetch
/// brings every entry, with no version filter, and that is the listing).
fn first_run(known: &Known) -> bool {
    known.held() == 0 && known.max_version.is_empty()
}

/// With a cookie from this server and every entry held with its entryUUID (deletions
/// arrive as UUIDs): ask for the changes since (RFC 4533).
fn by_cookie(client: &mut Client<'_>, known: &Known, progress: &dyn Progress) -> Result<ByCookie, SyncError> {
    let Some(cookie) = &known.cookie else {
        return Ok(ByCookie::List(None));
    };
    if first_run(known) {
        return Ok(ByCookie::List(None));
    }
    if !known.all_with_uuid() {
        return Ok(ByCookie::List(Some(
            "the store holds entries without their entryUUID".into(),
        )));
    }
    let base = client.url.base.clone();
    progress.phase("refreshing from the sync cookie", 0);
    let mut r = match content_sync::refresh(client, &base, LISTING_FILTER, cookie, &|| progress.inc(1))? {
        content_sync::Answer::Refresh(r) => r,
        content_sync::Answer::Refused(why) => return Ok(ByCookie::List(Some(why))),
    };
    // as many changes as entries held, and no present phase: a server that could not
    // use the cookie may have sent its whole content as new (deletions unsaid); the
    // listing then says what is gone
    if r.present.is_none() && r.entries.len().saturating_mul(2) >= known.held() {
        let listed = client.search(
            "list the entries",
            &base,
            Scope::Subtree,
            LISTING_FILTER,
            &["entryUUID"],
            &|| progress.inc(1),
        )?;
        r.present = Some(
            listed
                .unwrap_or_default()
                .into_iter()
                .filter_map(|e| e.uuid)
                .collect(),
        );
    }
    let entries: Vec<DirEntry> = r
        .entries
        .into_iter()
        .filter(|e| Collection::of_dn(&e.dn, &base).is_some())
        .collect();
    let uuids = entries
        .iter()
        .filter_map(|e| Some((normalize_dn(&e.dn), e.uuid.clone()?)))
        .collect();
    client.unbind();
    Ok(ByCookie::Changes(Box::new(Fetched {
        entries,
        uuids,
        cookie: r.cookie,
        delta: Some(Deletions {
            deleted: r.deleted,
            present: r.present,
        }),
        ..Fetched::default()
    })))
}

/// The pkdVersion path's answers before any entry is fetched.
#[derive(Debug, Default)]
struct Plan {
    /// The cookie for the next run (taken before the listing), if the server has one.
    cookie: Option<Vec<u8>>,
    /// The server has an ORDERING rule for pkdVersion.
    ordering: bool,
    /// Every PKD entry of the directory: normalised DN → (DN, pkdVersion). Empty on a
    /// first run (the fetch is the listing: [`Gathered::listed`]).
    listing: HashMap<String, (String, Option<u64>)>,
    /// Normalised DN → `entryUUID`, of the listed entries.
    uuids: HashMap<String, String>,
}

/// The pkdVersion path (see the module docs), before the entries: the cookie marker,
/// the ORDERING rule, and the listing unless this is the first run. `known.entries`
/// must be loaded.
fn plan(client: &mut Client<'_>, known: &Known, progress: &dyn Progress) -> Result<Plan, SyncError> {
    let url = client.url;
    let base = url.base.clone();
    let mut plan = Plan {
        // the cookie for the next run marks the state before the listing
        cookie: content_sync::state_marker(client, &base)?,
        ordering: has_ordering(client)?,
        ..Plan::default()
    };
    if !first_run(known) {
        progress.phase("listing entries", known.entries.len() as u64);
        let listed = client.search(
            "list the entries",
            &base,
            Scope::Subtree,
            LISTING_FILTER,
            &["pkdVersion", "entryUUID"],
            &|| progress.inc(1),
        )?;
        let Some(listed) = listed else {
            return Err(no_base(url));
        };
        // only entries of the three collections (not, say, a registry branch)
        for e in listed {
            if Collection::of_dn(&e.dn, &base).is_none() {
                continue;
            }
            let key = normalize_dn(&e.dn);
            if let Some(u) = e.uuid {
                plan.uuids.insert(key.clone(), u);
            }
            plan.listing.insert(key, (e.dn, e.version));
        }
    }
    let to_fetch = plan
        .listing
        .iter()
        .filter(|(k, (_, v))| needed(known, k, *v))
        .count() as u64;
    progress.phase("fetching entries", to_fetch);
    Ok(plan)
}

/// The store lacks the entry `key`, or holds it at another version.
fn needed(known: &Known, key: &str, version: Option<u64>) -> bool {
    match known.entries.get(key) {
        None => true,
        Some(v) => *v != version,
    }
}

/// An entry [`fetch_entries`] handed on.
#[derive(Debug, Clone, Copy)]
struct Handed {
    /// Its pkdVersion.
    version: Option<u64>,
    /// The search of the run (its index) and its attempt that last returned it.
    search: usize,
    attempt: u32,
}

/// What [`fetch_entries`] learnt besides the entries it handed on.
#[derive(Debug, Default)]
struct Gathered {
    /// Normalised DN → every entry handed on, once: an entry a retried search returns
    /// again at the same version is not handed on twice.
    handed: HashMap<String, Handed>,
    /// Per search of the run, its last attempt (the one that succeeded).
    last_attempt: Vec<u32>,
    /// Entries fetched by their listed pkdVersion or one by one.
    fetched_individually: usize,
    /// A search failed after handing entries on and was retried: what it handed may
    /// include entries its successful attempt no longer returned.
    restarted: bool,
}

impl Gathered {
    /// Hand `e` on unless it was already (at this version); `at`: the search and its
    /// attempt.
    fn hand(
        &mut self,
        key: String,
        c: Collection,
        e: DirEntry,
        at: (usize, u32),
        sink: &mut dyn FnMut(Collection, String, DirEntry) -> Result<(), SyncError>,
    ) -> Result<bool, SyncError> {
        let (search, attempt) = at;
        if let Some(h) = self.handed.get_mut(&key)
            && h.version == e.version
        {
            // returned again by this attempt
            (h.search, h.attempt) = (search, attempt);
            return Ok(false);
        }
        self.handed.insert(
            key.clone(),
            Handed {
                version: e.version,
                search,
                attempt,
            },
        );
        sink(c, key, e)?;
        Ok(true)
    }

    /// On a first run, whose collection fetches hand on every entry they return: the
    /// last attempt of its search returned `key` (the fetch is the listing).
    fn listed(&self, key: &str) -> bool {
        self.handed
            .get(key)
            .is_some_and(|h| self.last_attempt.get(h.search) == Some(&h.attempt))
    }

    /// A first run's listing: how many entries [`Gathered::listed`] names.
    fn listed_count(&self) -> usize {
        self.handed
            .values()
            .filter(|h| self.last_attempt.get(h.search) == Some(&h.attempt))
            .count()
    }
}

/// The pkdVersion path's fetches (see the module docs): per collection the entries
/// above the store's highest version (all on a first run), then the listed entries new
/// or changed that those did not bring. Each entry the store needs is handed to `sink`
/// as it arrives, in that order (lists first), once.
fn fetch_entries(
    client: &mut Client<'_>,
    known: &Known,
    plan: &Plan,
    sink: &mut dyn FnMut(Collection, String, DirEntry) -> Result<(), SyncError>,
) -> Result<Gathered, SyncError> {
    let url = client.url;
    let base = url.base.clone();
    let first = first_run(known);
    let ordering = plan.ordering;
    let mut got = Gathered::default();
    let mut base_missing = true;
    for c in Collection::ALL {
        let min = known.max_version.get(&c).map(|v| v.saturating_add(1));
        // one pkdVersion index holds every collection's versions: a range `>= N` that
        // also spans another collection's versions makes a server gather all of those
        // for every page (OpenLDAP: seconds per page at 30,000 entries, tens of seconds
        // for a collection of a few entries), so it is asked only when no other
        // collection reaches N
        let indexed = min.is_some_and(|m| narrow_range(&known.max_version, c, m));
        let filter = c.filter(if ordering { min } else { None }, indexed);
        let search = got.last_attempt.len();
        let handed_before = got.handed.len();
        let mut attempts = 0u32;
        let found = client.stream(
            &format!("fetch collection {}", c.as_str()),
            &c.subtree(&base),
            Scope::Subtree,
            &filter,
            &["*", "entryUUID"],
            &mut |s| {
                let Some(e) = s.entry(&mut attempts) else {
                    got.restarted |= attempts > 1 && got.handed.len() > handed_before;
                    return Ok(());
                };
                if Collection::of_dn(&e.dn, &base) != Some(c) {
                    return Ok(());
                }
                let key = normalize_dn(&e.dn);
                if !needed(known, &key, e.version) {
                    return Ok(());
                }
                // without ORDERING the server returned everything: keep the newer ones
                // (and those the store lacks)
                if !ordering
                    && min.is_some_and(|m| e.version.is_none_or(|v| v < m))
                    && known.entries.contains_key(&key)
                {
                    return Ok(());
                }
                got.hand(key, c, e, (search, attempts), sink).map(|_| ())
            },
        )?;
        got.last_attempt.push(attempts);
        base_missing &= !found;
    }
    if first
        && base_missing
        && client
            .search(
                "read the base",
                &base,
                Scope::Base,
                "(objectClass=*)",
                &["1.1"],
                &|| {},
            )?
            .is_none()
    {
        return Err(no_base(url));
    }
    // listed, new or changed, and not returned above (a replica that received them out
    // of order, a version that went down): asked for by their listed pkdVersion, many
    // at once; what that does not bring (no version, changed since), one by one. (On a
    // first run the fetches above handed on every entry they listed.)
    let mut missing: HashMap<String, (String, Option<u64>)> = plan
        .listing
        .iter()
        .filter(|(k, (_, v))| needed(known, k, *v) && !got.handed.contains_key(*k))
        .map(|(k, (dn, v))| (k.clone(), (dn.clone(), *v)))
        .collect();
    let mut versions: Vec<u64> = missing.values().filter_map(|(_, v)| *v).collect();
    versions.sort_unstable();
    versions.dedup();
    for chunk in versions.chunks(VERSIONS_PER_SEARCH) {
        let any: String = chunk.iter().map(|v| format!("(pkdVersion={v})")).collect();
        let search = got.last_attempt.len();
        let mut attempts = 0u32;
        client.stream(
            "fetch entries by version",
            &base,
            Scope::Subtree,
            &format!("(&{LISTING_FILTER}(|{any}))"),
            &["*", "entryUUID"],
            &mut |s| {
                let Some(e) = s.entry(&mut attempts) else {
                    return Ok(());
                };
                let key = normalize_dn(&e.dn);
                // (an entry a retry returns again was taken off `missing` already)
                if missing.get(&key).is_none_or(|(_, v)| *v != e.version) {
                    return Ok(());
                }
                missing.remove(&key);
                let Some(c) = Collection::of_dn(&e.dn, &base) else {
                    return Ok(());
                };
                if got.hand(key, c, e, (search, attempts), sink)? {
                    got.fetched_individually += 1;
                }
                Ok(())
            },
        )?;
        got.last_attempt.push(attempts);
    }
    let mut rest: Vec<String> = missing.into_values().map(|(dn, _)| dn).collect();
    rest.sort();
    for dn in rest {
        let search = got.last_attempt.len();
        let mut attempts = 0u32;
        client.stream(
            "fetch an entry",
            &dn,
            Scope::Base,
            LISTING_FILTER,
            &["*", "entryUUID"],
            &mut |s| {
                let Some(e) = s.entry(&mut attempts) else {
                    return Ok(());
                };
                let Some(c) = Collection::of_dn(&e.dn, &base) else {
                    return Ok(());
                };
                if got.hand(normalize_dn(&e.dn), c, e, (search, attempts), sink)? {
                    got.fetched_individually += 1;
                }
                Ok(())
            },
        )?;
        got.last_attempt.push(attempts);
    }
    client.unbind();
    Ok(got)
}

/// Does `(pkdVersion>=min)` for collection `c` span only versions no other collection
/// reached (`max_version`: the highest the store holds per collection)?
fn narrow_range(max_version: &BTreeMap<Collection, u64>, c: Collection, min: u64) -> bool {
    max_version.iter().all(|(o, v)| *o == c || *v < min)
}

/// The listing's filter: every entry one of the collection fetches can return.
const LISTING_FILTER: &str = "(|(objectClass=pkdDownload)(objectClass=pkdMasterList))";

fn no_base(url: &SyncUrl) -> SyncError {
    SyncError::Result {
        server: url.server(),
        what: "list the entries".into(),
        rc: 32,
        text: format!(
            "noSuchObject: the base {} is not on this server (check the URL)",
            url.base
        ),
    }
}

/// What a sync did (`emrtd pkd sync --json`, CLI.md).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncReport {
    /// The directory (`ldap[s]://host:port/BASE`).
    pub url: String,
    /// Entries applied that the store did not hold, or held at another version.
    pub added: u64,
    /// Entries gone from the directory, and previous versions of replaced entries.
    pub removed: u64,
    /// Entries held at the directory's pkdVersion (not fetched, or fetched identical).
    pub unchanged: u64,
    /// Values refused (a corrupt certificate, a list whose signature fails, …): each
    /// in `errors` with its DN.
    pub rejected: u64,
    /// Why (`DN: reason`).
    pub errors: Vec<String>,
    /// The highest pkdVersion the store now holds from this directory.
    pub pkd_version: u64,
    /// Per collection (`001`, `002`, `003`).
    pub pkd_versions: BTreeMap<String, u64>,
    /// PKD entries the directory lists below the base.
    pub listed: u64,
    /// `added` by branch (`dsc`, `crl`, `ml`, `dl`, `bcsc`, …).
    pub added_by_kind: BTreeMap<String, u64>,
    /// `removed` by reason.
    pub removed_by_reason: BTreeMap<String, u64>,
    /// Objects that lost their last source and stopped counting for verification.
    pub withdrawn: u64,
    /// Entries fetched because the listing showed them new or changed although they
    /// are older than the version filter (by their listed pkdVersion, or one by one).
    pub fetched_individually: u64,
    /// The server filtered by pkdVersion itself (its schema has an ORDERING rule).
    pub server_side_version_filter: bool,
    /// The changes came from a content-synchronisation refresh (RFC 4533, the server's
    /// `syncprov` and the cookie of the previous run) instead of a listing.
    pub content_sync: bool,
    /// Notes (lists not anchored, CRLs kept unverified, trust settlement).
    pub notes: Vec<String>,
}

fn branch(dn: &str) -> String {
    split_dn(dn)
        .iter()
        .filter_map(|r| rdn_pair(r))
        .find(|(t, _)| t == "o")
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_else(|| "other".into())
}

/// `line 0 (DN): reason` (an LDIF reader's position, meaningless here) → `reason`.
fn without_line(e: &str) -> &str {
    e.strip_prefix("line 0 (")
        .and_then(|r| r.split_once("): "))
        .map_or(e, |(_, reason)| reason)
}

fn record(e: DirEntry) -> LdifRecord {
    let uuid = e.uuid.map(|u| ("entryUUID".to_owned(), u.into_bytes()));
    LdifRecord {
        line: 0,
        dn: e.dn,
        attrs: e
            .attrs
            .into_iter()
            .chain(uuid)
            .map(|(name, value)| LdifAttr {
                name,
                value,
                line: 0,
                bad_base64: false,
            })
            .collect(),
        unterminated: false,
        at_eof: false,
    }
}

fn dir_err(e: DirectoryError) -> SyncError {
    match e {
        DirectoryError::Store(s) => SyncError::Store(s),
        other => SyncError::Apply(other.to_string()),
    }
}

/// What the store holds from this directory (read in a transaction rolled back: a
/// store that never synced stays without origins). With `counts_only`, a store that
/// holds a cookie from this server and every entry's entryUUID (a run that will refresh
/// from the cookie) has its entries counted instead of loaded: [`by_listing`] needs
/// them, [`by_cookie`] and the deletions by entryUUID do not.
fn known(store: &mut TrustStore, url: &SyncUrl, counts_only: bool) -> Result<Known, SyncError> {
    let w = store.transaction()?;
    let mut k = Known::default();
    {
        let s = Session::new(&w, &url.label(), ImportOptions::default()).map_err(dir_err)?;
        let mut origins = Vec::new();
        let mut held = 0;
        for c in Collection::ALL {
            let Some(o) = s.find_origin(&url.origin(), c.as_str()).map_err(dir_err)? else {
                continue;
            };
            if let Some(v) = s.highest_version(o).map_err(dir_err)? {
                k.max_version.insert(c, u64::try_from(v).unwrap_or(0));
            }
            held += s.entry_count(o).map_err(dir_err)?;
            origins.push(o);
        }
        // a cookie is only ever sent back to the server that issued it
        k.cookie = s
            .sync_cookie(&url.origin())
            .map_err(dir_err)?
            .filter(|(server, c)| *server == url.server() && c.len() <= MAX_COOKIE)
            .map(|(_, c)| c);
        // every entry held with its entryUUID: true at once when every entry of the
        // store has one (two index sizes), else counted over this directory's rows
        let all_with_uuid = |origins: &[super::directory::OriginId]| -> Result<bool, SyncError> {
            if s.every_entry_has_uuid().map_err(dir_err)? {
                return Ok(true);
            }
            let mut with_uuid = 0;
            for o in origins {
                with_uuid += s.entry_counts(*o).map_err(dir_err)?.1;
            }
            Ok(with_uuid == held)
        };
        if counts_only && k.cookie.is_some() && held > 0 && all_with_uuid(&origins)? {
            k.counted = Some(held);
        } else {
            for o in origins {
                for e in s.known_entries(o).map_err(dir_err)? {
                    let key = normalize_dn(&e.dn);
                    if let Some(u) = e.entry_uuid {
                        k.uuids.insert(key.clone(), u);
                    }
                    k.entries
                        .insert(key, e.pkd_version.and_then(|v| u64::try_from(v).ok()));
                }
            }
        }
    }
    w.rollback()?;
    Ok(k)
}

fn refuse_all(url: &SyncUrl, held: usize) -> SyncError {
    SyncError::Apply(format!(
        "the directory lists no PKD entry below {} but the store holds {held} from it: refusing to remove them all (a wrong base, or an access rule that hides the entries?)",
        url.base,
    ))
}

/// `emrtd pkd sync`: bring the store up to date from the directory, in one transaction
/// of the store (see the module docs). On any error nothing is written.
pub fn sync(
    store: &mut TrustStore,
    url: &SyncUrl,
    opts: &SyncOptions,
    progress: &dyn Progress,
) -> Result<SyncReport, SyncError> {
    let mut known = known(store, url, true)?;
    let mut client = Client::new(url, opts)?;
    match by_cookie(&mut client, &known, progress)? {
        ByCookie::Changes(f) => apply_refresh(store, url, &known, *f, progress),
        ByCookie::List(fallback) => {
            if known.counted.is_some() {
                known = self::known(store, url, false)?;
            }
            sync_listed(store, &mut client, &known, fallback, progress)
        }
    }
}

fn new_report(url: &SyncUrl) -> SyncReport {
    SyncReport {
        url: format!("{}/{}", url.server(), url.base),
        ..SyncReport::default()
    }
}

/// The origin of each collection in the session.
fn session_origins(
    session: &Session<'_, '_>,
    url: &SyncUrl,
) -> Result<BTreeMap<Collection, super::directory::OriginId>, SyncError> {
    let mut origins = BTreeMap::new();
    for c in Collection::ALL {
        origins.insert(c, session.origin(&url.origin(), c.as_str()).map_err(dir_err)?);
    }
    Ok(origins)
}

/// The pkdVersion path: list (unless first), then fetch and apply at once. The write
/// transaction is opened once the listing is read, and entries are applied as they
/// arrive: one thread receives and decodes them, a second prepares them (SHA-256,
/// certificates parsed), this one writes. A failure of any of them, or of the server,
/// drops the transaction: nothing is written.
fn sync_listed(
    store: &mut TrustStore,
    client: &mut Client<'_>,
    known: &Known,
    fallback: Option<String>,
    progress: &dyn Progress,
) -> Result<SyncReport, SyncError> {
    let url = client.url;
    let plan = plan(client, known, progress)?;
    let held = known.held();
    let first = first_run(known);
    if plan.listing.is_empty() && held > 0 {
        return Err(refuse_all(url, held));
    }
    let mut report = SyncReport {
        server_side_version_filter: plan.ordering,
        ..new_report(url)
    };
    if let Some(why) = &fallback {
        report.notes.push(format!(
            "content synchronisation not used ({why}): the directory was listed"
        ));
    }
    // a large batch loads in bulk: from the start when the listing says so, else
    // (a first run, whose size is learnt as it arrives) once it reached that size
    let bulk_from = BULK_MIN_ENTRIES.max(held / 2);
    let expected = plan
        .listing
        .iter()
        .filter(|(k, (dn, v))| {
            needed(known, k, *v) && Collection::of_dn(dn, &url.base) != Some(Collection::Ml002)
        })
        .count();
    let bulk_from = if expected >= bulk_from { 0 } else { bulk_from };
    let w = store.transaction()?;
    let session = Session::new(&w, &url.label(), ImportOptions::default()).map_err(dir_err)?;
    let origins = session_origins(&session, url)?;
    let (got, held_back) = std::thread::scope(|scope| -> Result<_, SyncError> {
        let (entries_tx, entries_rx) =
            std::sync::mpsc::sync_channel::<Vec<(Collection, Option<String>, DirEntry)>>(PREPARE_DEPTH);
        let plan = &plan;
        let fetcher = scope.spawn(move || {
            let mut batch = Vec::with_capacity(PREPARE_BATCH);
            let send = |batch: Vec<(Collection, Option<String>, DirEntry)>| {
                // fails when the writer gave up: the fetch stops
                entries_tx
                    .send(batch)
                    .map_err(|_| SyncError::Apply("the sync stopped".into()))
            };
            let got = fetch_entries(client, known, plan, &mut |c, key, e| {
                batch.push((c, Some(key), e));
                if batch.len() >= PREPARE_BATCH {
                    send(std::mem::replace(&mut batch, Vec::with_capacity(PREPARE_BATCH)))?;
                }
                Ok(())
            })?;
            if !batch.is_empty() {
                send(batch)?;
            }
            Ok(got)
        });
        let prepared = prepare_on_a_thread(scope, entries_rx.into_iter().flatten());
        let written = write_entries(&session, &origins, prepared, bulk_from, &mut report, progress);
        // (the receivers are gone when the writer failed: the fetch ends too)
        let fetched = fetcher
            .join()
            .unwrap_or_else(|_| Err(SyncError::Apply("the fetching thread failed".into())));
        let held_back = written?;
        Ok((fetched?, held_back))
    })?;
    w.end_bulk_load()?;
    session.build_entry_indexes().map_err(dir_err)?;
    for prepared in held_back {
        apply_one(&session, &origins, prepared, &mut report, progress)?;
    }
    report.listed = if first {
        got.listed_count()
    } else {
        plan.listing.len()
    } as u64;
    report.fetched_individually = got.fetched_individually as u64;
    if !first {
        report.unchanged += plan
            .listing
            .keys()
            .filter(|k| !got.handed.contains_key(*k) && known.entries.contains_key(*k))
            .count() as u64;
    }
    // entries gone from the directory lose this source (a first run's listing is what
    // it fetched, so nothing held is missing from it, unless a search was retried after
    // it had handed on entries its last attempt no longer returned)
    if !first || got.restarted {
        for o in origins.values() {
            for k in session.known_entries(*o).map_err(dir_err)? {
                let key = normalize_dn(&k.dn);
                let listed = if first {
                    got.listed(&key)
                } else {
                    plan.listing.contains_key(&key)
                };
                if !listed {
                    if session.remove_entry(*o, &k.dn).map_err(dir_err)? {
                        count_gone(&mut report);
                    }
                } else if let Some(u) = plan.uuids.get(&key)
                    && k.entry_uuid.as_ref() != Some(u)
                {
                    // held unchanged, its entryUUID learnt from the listing
                    session.set_entry_uuid(*o, &k.dn, u).map_err(dir_err)?;
                }
            }
        }
    }
    // the cookie for the next run: the marker taken before the listing, or none at all
    // (a server without content synchronisation)
    let cookie = plan.cookie.as_deref();
    conclude(session, &origins, url, Some(cookie), &mut report)?;
    w.commit()?;
    Ok(report)
}

/// A refresh from the store's cookie: the changed entries (fetched first, a small
/// batch) and the deletions, applied in one transaction with the new cookie.
fn apply_refresh(
    store: &mut TrustStore,
    url: &SyncUrl,
    known: &Known,
    mut fetched: Fetched,
    progress: &dyn Progress,
) -> Result<SyncReport, SyncError> {
    let held = known.held();
    let d = fetched.delta.take().unwrap_or_default();
    // a present phase that names nothing would withdraw everything
    if d.present.as_ref().is_some_and(HashSet::is_empty) && fetched.entries.is_empty() && held > 0 {
        return Err(refuse_all(url, held));
    }
    let mut report = SyncReport {
        fetched_individually: fetched.fetched_individually as u64,
        content_sync: true,
        ..new_report(url)
    };
    let fetched_keys: HashSet<String> = fetched.entries.iter().map(|e| normalize_dn(&e.dn)).collect();
    progress.phase("applying", fetched.entries.len() as u64);
    let w = store.transaction()?;
    let session = Session::new(&w, &url.label(), ImportOptions::default()).map_err(dir_err)?;
    let origins = session_origins(&session, url)?;
    // the changed entries the store held before (by DN, as a listing would have said)
    let mut touched = 0u64;
    for key in &fetched_keys {
        for o in origins.values() {
            if session.entry(*o, key).map_err(dir_err)?.is_some() {
                touched += 1;
                break;
            }
        }
    }
    // an entry that the directory now holds under another DN (a rename keeps the
    // entryUUID): the old DN goes
    for e in &fetched.entries {
        let Some(u) = &e.uuid else { continue };
        for o in origins.values() {
            if let Some(old) = session.entry_by_uuid(*o, u).map_err(dir_err)?
                && normalize_dn(&old.dn) != normalize_dn(&e.dn)
                && session.remove_entry(*o, &old.dn).map_err(dir_err)?
            {
                count_gone(&mut report);
            }
        }
    }
    let entries = std::mem::take(&mut fetched.entries);
    apply_entries(
        &session,
        &origins,
        &url.base,
        entries,
        held,
        &mut report,
        progress,
    )?;
    // deletions name entries by entryUUID: each withdraws only what that entry
    // carried. A present phase names what stays, so every entry is looked at;
    // otherwise each deleted UUID is looked up (its index), unless they
    // outnumber the entries held
    if d.present.is_some() || d.deleted.len() > held {
        let changed: HashSet<&String> = fetched.uuids.values().collect();
        for o in origins.values() {
            for k in session.known_entries(*o).map_err(dir_err)? {
                let Some(u) = &k.entry_uuid else { continue };
                let gone = d.deleted.contains(u)
                    || d.present
                        .as_ref()
                        .is_some_and(|p| !p.contains(u) && !changed.contains(u));
                if gone && session.remove_entry(*o, &k.dn).map_err(dir_err)? {
                    count_gone(&mut report);
                }
            }
        }
    } else {
        for u in &d.deleted {
            for o in origins.values() {
                while let Some(k) = session.entry_by_uuid(*o, u).map_err(dir_err)? {
                    if !session.remove_entry(*o, &k.dn).map_err(dir_err)? {
                        break;
                    }
                    count_gone(&mut report);
                }
            }
        }
    }
    let mut now_held = 0;
    for o in origins.values() {
        now_held += session.entry_count(*o).map_err(dir_err)? as u64;
    }
    report.listed = now_held;
    let gone = report.removed_by_reason.get(GONE).copied().unwrap_or(0);
    report.unchanged += (held as u64).saturating_sub(touched + gone);
    // the refresh's new cookie (none: nothing changed, the old one still holds)
    let cookie = fetched.cookie.as_deref().map(Some);
    conclude(session, &origins, url, cookie, &mut report)?;
    w.commit()?;
    Ok(report)
}

/// The end of a run before its commit: the cookie for the next run (`None`: keep the
/// one held; `Some(None)`: none), the versions now held, the session's trust settled.
fn conclude(
    session: Session<'_, '_>,
    origins: &BTreeMap<Collection, super::directory::OriginId>,
    url: &SyncUrl,
    cookie: Option<Option<&[u8]>>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    if let Some(cookie) = cookie {
        let server = url.server();
        session
            .set_sync_cookie(&url.origin(), cookie.map(|c| (server.as_str(), c)))
            .map_err(dir_err)?;
    }
    for (c, o) in origins {
        if let Some(v) = session.highest_version(*o).map_err(dir_err)? {
            let v = u64::try_from(v).unwrap_or(0);
            report.pkd_versions.insert(c.as_str().to_owned(), v);
            report.pkd_version = report.pkd_version.max(v);
        }
    }
    let summary = session.finish().map_err(dir_err)?;
    report.withdrawn = summary.withdrawn.len() as u64;
    report.notes.extend(summary.notes);
    Ok(())
}

/// `removed_by_reason` of an entry gone from the directory.
const GONE: &str = "gone from the directory";

fn count_gone(report: &mut SyncReport) {
    report.removed += 1;
    *report.removed_by_reason.entry(GONE.into()).or_default() += 1;
}

/// An entry prepared for the writer (or why it cannot be), with its collection and
/// branch (`added_by_kind`).
type Prepared = (Collection, String, Result<PreparedEntry, DirectoryError>);

/// Prepare `entries` (SHA-256 of each value, certificates parsed) on a thread of
/// `scope`, in batches, while the caller writes what comes out; the thread stops when
/// the caller drops the result.
fn prepare_on_a_thread<'scope, I>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    entries: I,
) -> impl Iterator<Item = Prepared> + use<I>
where
    I: Iterator<Item = (Collection, Option<String>, DirEntry)> + Send + 'scope,
{
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Prepared>>(PREPARE_DEPTH);
    scope.spawn(move || {
        let mut it = entries;
        loop {
            let batch: Vec<Prepared> = it
                .by_ref()
                .take(PREPARE_BATCH)
                .map(|(c, key, e)| (c, branch(&e.dn), PreparedEntry::with_dn_norm(record(e), key)))
                .collect();
            // a send fails when the writer gave up: stop
            if batch.is_empty() || tx.send(batch).is_err() {
                return;
            }
        }
    });
    rx.into_iter().flatten()
}

/// Apply fetched entries in the session (lists first: their CSCAs anchor what follows;
/// then DSCs and CRLs, then 003), counting into `report`. `held`: entries the store
/// held from the directory before (a large batch against a small store loads in bulk).
fn apply_entries(
    session: &Session<'_, '_>,
    origins: &BTreeMap<Collection, super::directory::OriginId>,
    base: &str,
    entries: Vec<DirEntry>,
    held: usize,
    report: &mut SyncReport,
    progress: &dyn Progress,
) -> Result<(), SyncError> {
    let mut entries: Vec<(Collection, DirEntry)> = entries
        .into_iter()
        .filter_map(|e| Some((Collection::of_dn(&e.dn, base)?, e)))
        .collect();
    entries.sort_by_key(|(c, _)| Collection::ALL.iter().position(|x| x == c));
    let lists = entries.iter().filter(|(c, _)| *c == Collection::Ml002).count();
    let batch = entries.len() - lists;
    let bulk_from = if batch >= BULK_MIN_ENTRIES && batch >= held / 2 {
        0
    } else {
        usize::MAX
    };
    let held_back = std::thread::scope(|scope| {
        let prepared = prepare_on_a_thread(scope, entries.into_iter().map(|(c, e)| (c, None, e)));
        write_entries(session, origins, prepared, bulk_from, report, progress)
    })?;
    session.writer().end_bulk_load()?;
    session.build_entry_indexes().map_err(dir_err)?;
    for prepared in held_back {
        apply_one(session, origins, prepared, report, progress)?;
    }
    Ok(())
}

/// Write prepared entries in the order they come. After `bulk_from` entries that carry
/// no list (0: at once), the rest loads in bulk with the certificate indexes built
/// once at the end, as `pkd import` does (the same policy: a list, whose verification
/// looks certificates up, builds them again). During a bulk load an entry carrying a
/// CRL (whose signature check looks its CA up by those indexes: a scan of every
/// certificate without them) is held back, with any later entry of its DN; they are
/// returned, in order, to be applied once the indexes are back.
fn write_entries(
    session: &Session<'_, '_>,
    origins: &BTreeMap<Collection, super::directory::OriginId>,
    entries: impl Iterator<Item = Prepared>,
    bulk_from: usize,
    report: &mut SyncReport,
    progress: &dyn Progress,
) -> Result<Vec<Prepared>, SyncError> {
    let w = session.writer();
    let mut bulk = BulkLoad::new(bulk_from == 0);
    let mut plain = 0usize;
    let mut held_back = Vec::new();
    let mut held_dns: HashSet<String> = HashSet::new();
    for (c, kind, prepared) in entries {
        let list = c == Collection::Ml002 || prepared.as_ref().is_ok_and(PreparedEntry::holds_list);
        if !list {
            plain += 1;
            if plain == bulk_from {
                bulk = BulkLoad::new(true);
            }
        }
        bulk.before(w, list)?;
        if w.bulk_loading() {
            // the directory's own secondary indexes too (built again with the others)
            session.drop_entry_indexes().map_err(dir_err)?;
        }
        if let Ok(p) = &prepared
            && ((w.bulk_loading() && p.holds_crl()) || held_dns.contains(p.dn_norm()))
        {
            held_dns.insert(p.dn_norm().to_owned());
            held_back.push((c, kind, prepared));
            continue;
        }
        apply_one(session, origins, (c, kind, prepared), report, progress)?;
    }
    Ok(held_back)
}

/// Apply one prepared entry, counting into `report`.
fn apply_one(
    session: &Session<'_, '_>,
    origins: &BTreeMap<Collection, super::directory::OriginId>,
    (c, kind, prepared): Prepared,
    report: &mut SyncReport,
    progress: &dyn Progress,
) -> Result<(), SyncError> {
    progress.inc(1);
    let Some(o) = origins.get(&c).copied() else {
        return Ok(());
    };
    let dn = prepared.as_ref().map(|p| p.dn().to_owned()).unwrap_or_default();
    match prepared.and_then(|p| session.apply_prepared(o, p)) {
        Ok(out) => {
            report.rejected += out.rejected;
            report
                .errors
                .extend(out.errors.iter().map(|m| format!("{dn}: {}", without_line(m))));
            report
                .notes
                .extend(out.notes.iter().map(|m| format!("{dn}: {}", without_line(m))));
            let all_refused = out.rejected > 0 && out.objects.is_empty();
            match out.change {
                Change::Unchanged => report.unchanged += 1,
                Change::Added | Change::Replaced if all_refused => {}
                Change::Added | Change::Replaced => {
                    report.added += 1;
                    *report.added_by_kind.entry(kind).or_default() += 1;
                    if out.change == Change::Replaced {
                        report.removed += 1;
                        *report
                            .removed_by_reason
                            .entry("replaced by a newer version at the same DN".into())
                            .or_default() += 1;
                    }
                }
            }
        }
        Err(DirectoryError::Entry(m)) => {
            report.rejected += 1;
            report.errors.push(format!("{dn}: {m}"));
        }
        Err(e) => return Err(dir_err(e)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = SyncUrl::parse("ldaps://pkd.example:10636/dc=download,dc=pkd,dc=icao,dc=int").ok();
        assert_eq!(
            u,
            Some(SyncUrl {
                ldaps: true,
                host: "pkd.example".into(),
                port: 10636,
                base: "dc=download,dc=pkd,dc=icao,dc=int".into()
            })
        );
        let u = SyncUrl::parse("LDAP://[::1]/dc=x%5C%2Cy,dc=z").ok();
        assert_eq!(
            u.as_ref().map(|u| (u.port, u.host.as_str(), u.base.as_str())),
            Some((389, "::1", r"dc=x\,y,dc=z"))
        );
        assert_eq!(u.map(|u| u.server()).as_deref(), Some("ldap://[::1]:389"));
        for bad in [
            "http://x/dc=a",
            "ldap://x",
            "ldap://x/",
            "ldap://x:0/dc=a",
            "ldap://x:99999/dc=a",
            "ldap:///dc=a",
            "ldap://x/dc=a??sub",
            "ldap://x/notadn",
            "ldap://x/dc=a%zz",
        ] {
            assert!(SyncUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn version_filters() {
        // the ICAO PKD's collections count separately: 001 far above 002 and 003
        let max: BTreeMap<Collection, u64> = [
            (Collection::Dsc001, 300_000),
            (Collection::Ml002, 300),
            (Collection::Nc003, 400),
        ]
        .into_iter()
        .collect();
        assert!(narrow_range(&max, Collection::Dsc001, 300_001));
        assert!(!narrow_range(&max, Collection::Ml002, 301));
        assert!(!narrow_range(&max, Collection::Nc003, 401));
        assert!(!narrow_range(&max, Collection::Dsc001, 400));
        assert_eq!(
            Collection::Dsc001.filter(Some(300_001), true),
            "(&(objectClass=pkdDownload)(!(objectClass=pkdMasterList))(pkdVersion>=300001))"
        );
        assert_eq!(
            Collection::Ml002.filter(Some(301), false),
            "(&(objectClass=pkdMasterList)(!(pkdVersion<=300)))"
        );
        assert_eq!(
            Collection::Nc003.filter(None, false),
            "(&(objectClass=pkdDownload))"
        );
    }

    #[test]
    fn collections_from_dns() {
        let base = "dc=download,dc=pkd,dc=icao,dc=int";
        let of = |dn: &str| Collection::of_dn(&format!("{dn},{base}"), base);
        assert_eq!(
            of(r"cn=CN\=X\,C\=UT+sn=01,o=dsc,c=UT,dc=data"),
            Some(Collection::Dsc001)
        );
        assert_eq!(of("cn=x,o=crl,c=UT,dc=data"), Some(Collection::Dsc001));
        assert_eq!(of("cn=x+sn=1,o=ml,c=UT,dc=data"), Some(Collection::Ml002));
        assert_eq!(of("cn=x+sn=1,o=dsc,c=XB,dc=nc-data"), Some(Collection::Nc003));
        assert_eq!(of("cn=x,dc=registry"), None);
        assert_eq!(
            Collection::of_dn("cn=x,o=dsc,c=UT,dc=data,dc=elsewhere", base),
            None
        );
        assert_eq!(normalize_dn("CN=A+sn=1 , O=dsc"), normalize_dn("cn=a+sn=1,o=DSC"));
    }
}

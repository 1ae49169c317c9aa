//! The dump directory of `emrtd read --out DIR` (CLI.md "Dump directory"): the raw
//! files exactly as read, and `manifest.json` describing how they were read.
//!
//! Dumps hold personal data: directories are created 0700 and files 0600.
//!
//! A dump directory may come from elsewhere (a tar received by mail), so both
//! directions are defensive (docs/limits.md):
//! - **Reading** takes only regular files inside the directory: a symbolic link is
//!   refused, never followed; a FIFO, socket or device is refused without blocking
//!   (opened `O_NONBLOCK | O_NOFOLLOW`, then checked again on the open file); each
//!   file is capped at the reader's own limit for a file from a chip
//!   ([`MAX_DUMP_FILE`]) and `manifest.json` at [`MAX_MANIFEST`], read through a
//!   bounded reader, so a sparse 4 GiB file or `/dev/zero` costs nothing.
//! - **Writing** goes to a temporary file with a random name created `O_EXCL` in the
//!   target directory (the `tempfile` crate), mode 0600, then renamed into place. A
//!   symbolic link or any other non-regular file where an output file would go is
//!   refused before anything is written.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::lds::LdsFile;
use crate::lds::extract::{self, ExtractedImage, Extraction, ExtractionError, ImageRecord};

/// Current manifest schema version.
pub const SCHEMA: u32 = 1;

/// Largest file a dump may hold: the reader's own limit for one file from a chip
/// ([`crate::reader::engine::MAX_FILE`]); `emrtd read` never writes a larger one.
pub const MAX_DUMP_FILE: usize = crate::reader::engine::MAX_FILE;

/// Largest `manifest.json` read. A manifest written by `emrtd read` is a few KiB
/// (its lists are bounded by the read's APDU, recovery and file limits).
pub const MAX_MANIFEST: usize = 1024 * 1024;

/// Errors writing or loading a dump.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DumpError {
    /// A file system operation failed.
    #[error("{what} {path}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// manifest.json is malformed.
    #[error("malformed manifest {path}")]
    Manifest {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// The directory holds no LDS file at all.
    #[error("{path} holds no LDS files (expected EF.COM.bin, EF.SOD.bin, DG1.bin, …)")]
    Empty {
        /// Path.
        path: PathBuf,
    },
    /// An image would replace a different file of the same name.
    #[error("{path} exists with other content; not overwritten")]
    WouldOverwrite {
        /// Path.
        path: PathBuf,
    },
    /// The output directory already holds a dump.
    #[error("{path} already holds a dump (manifest.json); choose an empty directory")]
    NotEmpty {
        /// Path.
        path: PathBuf,
    },
    /// The directory holds one file under two names (`DG2.bin` and `Datagroup2.bin`)
    /// with different bytes: which of them the document holds cannot be told.
    #[error(
        "{path} holds {file} twice with different bytes ({first} and {second}): which one the document holds \
         cannot be told; remove the one that is not the document's"
    )]
    Ambiguous {
        /// The directory.
        path: PathBuf,
        /// The file (`DG2`).
        file: String,
        /// The name read first.
        first: String,
        /// The other name.
        second: String,
    },
    /// A file to read is not a regular file (a symbolic link, FIFO, device, …).
    #[error("{path} is {what}: refused (only regular files inside the dump directory are read)")]
    NotRegular {
        /// Path.
        path: PathBuf,
        /// What it is ("a symbolic link", "a FIFO", …).
        what: &'static str,
    },
    /// A file to read is larger than its cap.
    #[error("{path} is {size} bytes, more than the {limit} {whose} may have")]
    TooLarge {
        /// Path.
        path: PathBuf,
        /// Its size (at least; a file that grows is stopped at the cap + 1).
        size: u64,
        /// The cap.
        limit: usize,
        /// Whose cap ("a chip file", "manifest.json").
        whose: &'static str,
    },
    /// Where an output file would go there is something other than a regular file.
    #[error(
        "{path} is {what}: refused, nothing is written through it (remove it or choose another directory)"
    )]
    UnsafeTarget {
        /// Path.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
}

/// Access protocol record of the manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AccessRecord {
    /// "PACE" or "BAC".
    pub protocol: String,
    /// PACE mapping (ECDH-GM, DH-GM, ECDH-IM, DH-IM, ECDH-CAM) or null for BAC.
    pub mapping: Option<String>,
    /// PACE standardised domain parameter id.
    pub parameter_id: Option<u32>,
    /// PACE protocol OID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// "3DES", "AES-128", "AES-192", "AES-256".
    pub cipher: String,
    /// "MRZ" or "CAN" (or "PIN"/"PUK").
    pub password: String,
    /// True when PACE was offered but BAC was used (only with --allow-bac-fallback).
    pub downgraded: bool,
    /// Why the downgrade happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgrade_reason: Option<String>,
}

/// One file read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRecord {
    /// Name (`DG1`, `EF.SOD`, …).
    pub name: String,
    /// File identifier, hex.
    pub fid: String,
    /// Size in bytes.
    pub size: usize,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// APDUs spent reading it (SELECT and retries included).
    pub apdus: usize,
    /// Wall time, ms.
    pub ms: f64,
    /// Modelled link time, ms (emulator only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modelled_ms: Option<f64>,
    /// Largest READ BINARY Le that worked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_size: Option<usize>,
    /// Quirks seen while reading (e.g. bytes past the TLV trimmed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A file that could not be read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AbsentRecord {
    /// Name.
    pub name: String,
    /// Status word, hex (e.g. "6A82" absent, "6982" denied).
    pub sw: String,
    /// Meaning.
    #[serde(default)]
    pub meaning: String,
}

/// Chip authentication done while reading (PACE-CAM). Recorded for the forensic
/// record; a verifier working from a dump cannot re-run it and must not count it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChipAuthRecord {
    /// "PACE-CAM".
    pub method: String,
    /// Whether the chip's CA data matched a public key of EF.CardSecurity.
    pub verified: bool,
    /// keyId of the key that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<u64>,
    /// The chip's static public key that matched, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip_public_key: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Extended Access Control as run while reading (`--eac-chain`/`--eac-key`): Chip
/// Authentication v1 (or PACE-CAM) first, then Terminal Authentication, which unlocks
/// DG3/DG4 for the rights of the chain's CHATs (BSI TR-03110-1 §3, Doc 9303 Part 11 §7).
/// What a verifier may conclude from it is decided in `verify`; a dump without it was
/// read without terminal credentials.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaRecord {
    /// "authenticated", "no_chain" (none of the credentials is under a CVCA the chip
    /// names), "not_run" (no Chip Authentication to run it after, or it failed),
    /// "refused" (the chip answered a TA step with an error status word) or "error"
    /// (this side failed: the terminal key, the link).
    pub outcome: String,
    /// TA version (1: after CA v1 or PACE-CAM).
    pub version: u8,
    /// The CVCA references of EF.CVCA, as the chip named them.
    pub chip_cvca: Vec<String>,
    /// The CVCA the presented chain hangs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvca: Option<String>,
    /// CHRs of the certificates presented (links, DV, terminal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// The step the chip refused (or this side failed at).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The chip's status word for a refusal, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sw: Option<String>,
    /// Why it did not authenticate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The effective authorization (AND of the chain's CHATs) grants reading DG3.
    pub dg3: bool,
    /// … and DG4.
    pub dg4: bool,
}

/// A tag-loss recovery.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecoveryRecord {
    /// File being read.
    pub file: Option<String>,
    /// Offset resumed at.
    pub offset: usize,
    /// What failed.
    pub error: String,
    /// `link_loss` (the card left the field, a transmission failed) or
    /// `channel_broken` (secure messaging failed or an answer was malformed, so the
    /// session was authenticated again).
    #[serde(default)]
    pub kind: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Schema version.
    pub schema: u32,
    /// Tool name and version.
    pub tool: String,
    /// UTC time the read started (RFC 3339).
    pub time: String,
    /// Reader name.
    pub reader: String,
    /// ATR, hex.
    pub atr: String,
    /// Access protocol used.
    pub access: Option<AccessRecord>,
    /// Chip authentication done during access (PACE-CAM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip_authentication: Option<ChipAuthRecord>,
    /// Extended Access Control, when terminal credentials were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_authentication: Option<TaRecord>,
    /// Files read.
    pub files: Vec<FileRecord>,
    /// Files denied or absent.
    pub absent: Vec<AbsentRecord>,
    /// APDUs spent on access control (and reading EF.CardAccess before it).
    pub access_apdus: usize,
    /// APDUs spent reading files after access control.
    pub read_apdus: usize,
    /// Tag-loss recoveries.
    pub recoveries: usize,
    /// Details of each recovery.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_log: Vec<RecoveryRecord>,
    /// What the reader changed in how it talks to this chip, and why (a chip without
    /// short file identifiers, one that refuses extended length it announced, one that
    /// needs the PACE parameter reference …). Never a change of protocol: a downgrade
    /// stays a downgrade.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adaptations: Vec<String>,
    /// Modelled link time of the whole read, ms (emulator only).
    pub modelled_ms: Option<f64>,
    /// Wall time of the whole read, ms.
    pub total_ms: f64,
    /// Extended length used.
    pub extended_length: bool,
    /// True when the read stopped early: some files may be missing.
    pub partial: bool,
    /// Why the read is partial.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Extracted images (`face-1.jpg` + `face-1.png`, `portrait-1.jp2`, …): what each is,
    /// where it was in its data group, its dimensions and hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageRecord>,
    /// Data groups holding images that could not be decoded (the group itself is
    /// still in the dump, byte-exact).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_errors: Vec<ExtractionError>,
}

impl Manifest {
    /// An empty manifest for a read starting now.
    pub fn new(reader: String, atr: &[u8]) -> Self {
        Manifest {
            schema: SCHEMA,
            tool: format!("emrtd {}", env!("CARGO_PKG_VERSION")),
            time: now_rfc3339(),
            reader,
            atr: hex::encode_upper(atr),
            access: None,
            chip_authentication: None,
            terminal_authentication: None,
            files: Vec::new(),
            absent: Vec::new(),
            access_apdus: 0,
            read_apdus: 0,
            recoveries: 0,
            recovery_log: Vec::new(),
            adaptations: Vec::new(),
            modelled_ms: None,
            total_ms: 0.0,
            extended_length: false,
            partial: false,
            errors: Vec::new(),
            images: Vec::new(),
            image_errors: Vec::new(),
        }
    }
}

/// Current UTC time as RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The files of a document and how they were read.
#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    /// Raw file contents.
    pub files: BTreeMap<LdsFile, Vec<u8>>,
    /// How they were read (absent for a bare directory of files).
    pub manifest: Manifest,
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> DumpError + 'a {
    move |source| DumpError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Create a directory readable only by its owner.
pub fn create_private_dir(dir: &Path) -> Result<(), DumpError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io("cannot create directory", dir))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(io("cannot create directory", dir))
    }
}

/// What a file system object that is not a regular file is, for messages.
fn kind_name(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_char_device() {
            return "a character device";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Read a regular file of at most `limit` bytes, without following a symbolic link
/// and without blocking on a FIFO or device. `whose` names the cap in the error
/// ("a chip file"). Not-found and other I/O errors come back as [`DumpError::Io`]
/// (the source keeps the kind).
pub fn read_regular_file(path: &Path, limit: usize, whose: &'static str) -> Result<Vec<u8>, DumpError> {
    let too_large = |size: u64| DumpError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit,
        whose,
    };
    let not_regular = |what| DumpError::NotRegular {
        path: path.to_path_buf(),
        what,
    };
    let meta = std::fs::symlink_metadata(path).map_err(io("cannot read", path))?;
    if !meta.is_file() {
        return Err(not_regular(kind_name(meta.file_type())));
    }
    if meta.len() > limit as u64 {
        return Err(too_large(meta.len()));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // swapped for a link or a FIFO since the check above: fail, don't follow or block
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = match opts.open(path) {
        Ok(f) => f,
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(not_regular("a symbolic link")),
        Err(e) => return Err(io("cannot read", path)(e)),
    };
    let meta = file.metadata().map_err(io("cannot read", path))?;
    if !meta.is_file() {
        return Err(not_regular(kind_name(meta.file_type())));
    }
    if meta.len() > limit as u64 {
        return Err(too_large(meta.len()));
    }
    let expected = usize::try_from(meta.len()).unwrap_or(limit).min(limit);
    let mut bytes = Vec::with_capacity(expected);
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap)
        .read_to_end(&mut bytes)
        .map_err(io("cannot read", path))?;
    if bytes.len() > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Whether a read error is "no such file".
fn not_found(e: &DumpError) -> bool {
    matches!(e, DumpError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// Refuse an output path that exists as anything but a regular file (a planted
/// symbolic link, a FIFO, a directory). A regular file is replaced by the rename.
pub fn check_write_target(path: &Path) -> Result<(), DumpError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) => Err(DumpError::UnsafeTarget {
            path: path.to_path_buf(),
            what: kind_name(m.file_type()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("cannot write", path)(e)),
    }
}

/// Write a file readable only by its owner, replacing it atomically: the bytes go to
/// a new temporary file with a random name, created exclusively (`O_EXCL`, so a
/// planted link is never opened) and 0600 in the same directory, synced, then
/// renamed over `path`. A symbolic link or other non-regular file at `path` is
/// refused ([`DumpError::UnsafeTarget`]); nothing is written through it.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), DumpError> {
    check_write_target(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".emrtd-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(io("cannot create a file in", dir))?;
    tmp.write_all(bytes).map_err(io("cannot write", tmp.path()))?;
    tmp.as_file().sync_all().map_err(io("cannot write", path))?;
    tmp.persist(path).map_err(|e| io("cannot write", path)(e.error))?;
    Ok(())
}

impl Dump {
    /// Write the dump into `dir` (created 0700 if needed; refuses a directory that
    /// already holds a manifest). The manifest is written last, so a directory with a
    /// manifest holds a complete dump. No images are extracted: see
    /// [`Dump::write_with_images`].
    pub fn write(&self, dir: &Path) -> Result<(), DumpError> {
        self.write_parts(dir, &[])
    }

    /// Write the files, then extract the images of the dump
    /// ([`crate::lds::extract`]), list them in the manifest (`images`,
    /// `image_errors`), and write the images (0600) and the manifest last. The
    /// document's files are on disk before any picture is decoded, so a decoder that
    /// fails (or takes the process down) never costs the chip's evidence. Returns
    /// what was extracted.
    pub fn write_with_images(&mut self, dir: &Path) -> Result<Extraction, DumpError> {
        self.write_files(dir)?;
        let extraction = self.extract_images();
        self.write_rest(dir, &extraction.images)?;
        Ok(extraction)
    }

    /// Extract the images of the dump's data groups and record them in the manifest.
    pub fn extract_images(&mut self) -> Extraction {
        let extraction = extract::extract_all(self.files.iter().map(|(f, b)| (*f, b.as_slice())));
        self.manifest.images = extraction.records();
        self.manifest.image_errors = extraction.errors.clone();
        extraction
    }

    fn write_parts(&self, dir: &Path, images: &[ExtractedImage]) -> Result<(), DumpError> {
        self.write_files(dir)?;
        self.write_rest(dir, images)
    }

    /// Create `dir`, refuse one that holds a dump or a non-regular file under any name
    /// to be written (before the first byte is written: no half-written dump next
    /// to a planted link), and write the document's files.
    fn write_files(&self, dir: &Path) -> Result<(), DumpError> {
        create_private_dir(dir)?;
        let manifest_path = dir.join("manifest.json");
        if std::fs::symlink_metadata(&manifest_path).is_ok_and(|m| m.is_file()) {
            return Err(DumpError::NotEmpty {
                path: dir.to_path_buf(),
            });
        }
        check_write_target(&manifest_path)?;
        for file in self.files.keys() {
            check_write_target(&dir.join(file.dump_file_name()))?;
        }
        for (file, bytes) in &self.files {
            write_private_file(&dir.join(file.dump_file_name()), bytes)?;
        }
        Ok(())
    }

    /// The images, then the manifest, last.
    fn write_rest(&self, dir: &Path, images: &[ExtractedImage]) -> Result<(), DumpError> {
        for image in images {
            for (name, _) in image.files() {
                check_write_target(&dir.join(name))?;
            }
        }
        write_images(dir, images)?;
        let manifest_path = dir.join("manifest.json");
        let json = serde_json::to_vec_pretty(&self.manifest).map_err(|source| DumpError::Manifest {
            path: manifest_path.clone(),
            source,
        })?;
        write_private_file(&manifest_path, &json)
    }

    /// Load a dump directory. `manifest.json` is optional (a directory of files from
    /// another tool works too); file names as written by [`Dump::write`], plus the
    /// common `EF_COM.bin`/`DG1.bin`/`Datagroup1.bin` spellings. One file under two of
    /// these names is read once when the bytes are the same and refused
    /// ([`DumpError::Ambiguous`]) when they differ: a verdict never depends on the
    /// order in which the directory lists its entries.
    pub fn load(dir: &Path) -> Result<Dump, DumpError> {
        let manifest_path = dir.join("manifest.json");
        let manifest = match read_manifest_bytes(dir)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|source| DumpError::Manifest {
                path: manifest_path.clone(),
                source,
            })?,
            None => {
                let mut m = Manifest::new(format!("directory {}", dir.display()), &[]);
                m.time = String::new();
                m
            }
        };
        let mut files = BTreeMap::new();
        let mut names: BTreeMap<LdsFile, String> = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(io("cannot read directory", dir))?;
        for entry in entries {
            let entry = entry.map_err(io("cannot read directory", dir))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(file) = file_from_dump_name(&name) else {
                continue;
            };
            let path = entry.path();
            let bytes = read_regular_file(&path, MAX_DUMP_FILE, "a chip file")?;
            match files.get(&file) {
                Some(seen) if *seen == bytes => {}
                Some(_) => {
                    // both names in a stable order, whatever the directory's
                    let other = names.get(&file).cloned().unwrap_or_default();
                    let (first, second) = if other <= name {
                        (other, name)
                    } else {
                        (name, other)
                    };
                    return Err(DumpError::Ambiguous {
                        path: dir.to_path_buf(),
                        file: file.name(),
                        first,
                        second,
                    });
                }
                None => {
                    names.insert(file, name);
                    files.insert(file, bytes);
                }
            }
        }
        if files.is_empty() {
            return Err(DumpError::Empty {
                path: dir.to_path_buf(),
            });
        }
        Ok(Dump { files, manifest })
    }
}

/// The bytes of `dir/manifest.json` (bounded, regular file only), or None when there
/// is none.
pub fn read_manifest_bytes(dir: &Path) -> Result<Option<Vec<u8>>, DumpError> {
    match read_regular_file(&dir.join("manifest.json"), MAX_MANIFEST, "manifest.json") {
        Ok(b) => Ok(Some(b)),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Map a file name in a dump directory to the LDS file: `DG1.bin`, `EF.COM.bin`,
/// `EF_COM.bin`, `Datagroup1.bin`, `EF_SOD_ef011D.bin`-style names.
pub fn file_from_dump_name(name: &str) -> Option<LdsFile> {
    let stem = name.strip_suffix(".bin")?;
    let lower = stem.to_ascii_lowercase().replace('_', ".");
    if let Some(f) = LdsFile::parse(&lower) {
        return Some(f);
    }
    if let Some(n) = lower.strip_prefix("datagroup") {
        return LdsFile::parse(&format!("dg{n}"));
    }
    // "ef.sod.ef011d", "dg1.ef0101": the part before the FID suffix
    let head = lower.rsplit_once(".ef").map(|(h, _)| h)?;
    LdsFile::parse(head)
}

/// Write extracted images (and their PNGs) into `dir` (created 0700), each 0600. A
/// file of the same name with the same bytes is left as it is (extraction is
/// repeatable); one with other bytes is not overwritten.
pub fn write_images(dir: &Path, images: &[ExtractedImage]) -> Result<(), DumpError> {
    if images.is_empty() {
        return Ok(());
    }
    create_private_dir(dir)?;
    for image in images {
        for (name, bytes) in image.files() {
            let path = dir.join(name);
            check_write_target(&path)?;
            match read_regular_file(&path, bytes.len(), "the image") {
                Ok(existing) if existing == bytes => continue,
                Ok(_) | Err(DumpError::TooLarge { .. }) => {
                    return Err(DumpError::WouldOverwrite { path });
                }
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(e),
            }
            write_private_file(&path, bytes)?;
        }
    }
    Ok(())
}

/// Record images extracted offline in the `manifest.json` of the dump in `dir`:
/// `images` and `image_errors` are replaced, every other field is kept as written
/// (including fields this version does not know). Returns false when the directory
/// has no manifest.
pub fn update_manifest_images(dir: &Path, extraction: &Extraction) -> Result<bool, DumpError> {
    let path = dir.join("manifest.json");
    let Some(bytes) = read_manifest_bytes(dir)? else {
        return Ok(false);
    };
    let malformed = |source| DumpError::Manifest {
        path: path.clone(),
        source,
    };
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(malformed)?;
    let Some(obj) = value.as_object_mut() else {
        return Err(malformed(serde::de::Error::custom(
            "manifest is not a JSON object",
        )));
    };
    for (key, v) in [
        (
            "images",
            serde_json::to_value(extraction.records()).map_err(malformed)?,
        ),
        (
            "image_errors",
            serde_json::to_value(&extraction.errors).map_err(malformed)?,
        ),
    ] {
        if v.as_array().is_some_and(Vec::is_empty) {
            obj.remove(key);
        } else {
            obj.insert(key.to_owned(), v);
        }
    }
    let json = serde_json::to_vec_pretty(&value).map_err(malformed)?;
    write_private_file(&path, &json)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_names() {
        assert_eq!(file_from_dump_name("DG1.bin"), Some(LdsFile::Dg(1)));
        assert_eq!(file_from_dump_name("EF.SOD.bin"), Some(LdsFile::Sod));
        assert_eq!(file_from_dump_name("EF_COM.bin"), Some(LdsFile::Com));
        assert_eq!(file_from_dump_name("Datagroup14.bin"), Some(LdsFile::Dg(14)));
        assert_eq!(file_from_dump_name("EF_SOD_ef011D.bin"), Some(LdsFile::Sod));
        assert_eq!(file_from_dump_name("DG15_ef010F.bin"), Some(LdsFile::Dg(15)));
        assert_eq!(
            file_from_dump_name("EF.CardAccess.bin"),
            Some(LdsFile::CardAccess)
        );
        assert_eq!(file_from_dump_name("manifest.json"), None);
        assert_eq!(file_from_dump_name("face-1.jpg"), None);
    }

    #[test]
    fn write_load_roundtrip_private() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("d");
        let mut files = BTreeMap::new();
        files.insert(LdsFile::Dg(1), vec![0x61, 0x00]);
        files.insert(LdsFile::Com, vec![0x60, 0x00]);
        let dump = Dump {
            files,
            manifest: Manifest::new("r".into(), &[0x3B]),
        };
        dump.write(&out).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(m & 0o777, 0o700);
            let f = std::fs::metadata(out.join("DG1.bin"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(f & 0o777, 0o600);
        }
        let back = Dump::load(&out).unwrap();
        assert_eq!(back, dump);
        assert!(matches!(dump.write(&out), Err(DumpError::NotEmpty { .. })));
    }

    fn bsi2008_dg2() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/test-vectors/lds/jmrtd_bsi2008/Datagroup2.bin"
        ))
        .unwrap()
    }

    #[test]
    fn write_with_images_lists_them_and_keeps_them_private() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("d");
        let dg2 = bsi2008_dg2();
        let mut files = BTreeMap::new();
        files.insert(LdsFile::Dg(2), dg2.clone());
        files.insert(LdsFile::Dg(5), vec![0x65, 0x01, 0x00]); // undecodable
        let mut dump = Dump {
            files,
            manifest: Manifest::new("r".into(), &[]),
        };
        let x = dump.write_with_images(&out).unwrap();
        assert_eq!(x.images.len(), 1);
        let rec = &dump.manifest.images[0];
        assert_eq!(rec.name, "face-1.jp2");
        assert_eq!(dump.manifest.image_errors.len(), 1);
        assert_eq!(dump.manifest.image_errors[0].source, "DG5");
        let raw = std::fs::read(out.join("face-1.jp2")).unwrap();
        assert_eq!(raw, dg2[rec.offset..rec.offset + rec.size]);
        assert_eq!(crate::crypto::sha256_hex(&raw), rec.sha256);
        let png = std::fs::read(out.join("face-1.png")).unwrap();
        assert_eq!(crate::crypto::sha256_hex(&png), rec.png.as_ref().unwrap().sha256);
        #[cfg(unix)]
        for name in ["face-1.jp2", "face-1.png"] {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(out.join(name)).unwrap().permissions().mode();
            assert_eq!(m & 0o777, 0o600, "{name}");
        }
        // the manifest on disk lists them and loads back
        let back = Dump::load(&out).unwrap();
        assert_eq!(back.manifest.images, dump.manifest.images);
        assert_eq!(back.manifest.image_errors, dump.manifest.image_errors);
    }

    #[test]
    fn offline_extraction_updates_only_the_image_fields() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::write(
            out.join("manifest.json"),
            br#"{"schema": 1, "future_field": {"x": 1}, "images": []}"#,
        )
        .unwrap();
        let x = extract::extract_all([(LdsFile::Dg(2), bsi2008_dg2().as_slice())]);
        write_images(out, &x.images).unwrap();
        // repeatable: same bytes are left alone
        write_images(out, &x.images).unwrap();
        assert!(update_manifest_images(out, &x).unwrap());
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(v["future_field"]["x"], 1);
        assert_eq!(v["images"][0]["name"], "face-1.jp2");
        assert!(v.get("image_errors").is_none());
        // another file of the same name is never overwritten
        std::fs::write(out.join("face-1.png"), b"other").unwrap();
        assert!(matches!(
            write_images(out, &x.images),
            Err(DumpError::WouldOverwrite { .. })
        ));
        assert!(!update_manifest_images(&out.join("nothing-here"), &x).unwrap());
    }
}

//! `emrtd inspect FILE [--as KIND]` and `emrtd inspect --dump DIR`: decode LDS files,
//! certificates, CRLs, master lists, LDIF and PEM, and print them as a readable tree
//! (or, with `--json`, one JSON document).
//!
//! The kind is detected by content ([`crate::lds::detect`]) unless `--as` names it.
//! Kinds with a typed decoder are shown field by field; every other kind is shown as a
//! BER-TLV tree (tag, length, and for primitive values text or hex), so inspect is
//! useful for every file. Typed decoders plug in at [`decode`]. This is a forensic
//! tool: it prints personal data (DG1, DG11, …) because the user asked to see it.

mod cvc;
mod lists;
mod text;
mod tree;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;

use super::{Exit, GlobalOpts, Outcome, output};
use crate::lds::LdsFile;
use crate::lds::detect::{self, FileKind};
use crate::lds::extract::{self, Extraction};
use crate::lds::group::Decoded;
use crate::lds::quirk::Quirk;
use crate::lds::view::x509;
use crate::reader::dump::{self, Dump, file_from_dump_name};
use text::content_nodes;
use tree::{LdifSummary, PemBlock, TlvNode, ldif_summary, pem_blocks, tlv_tree};

/// Arguments of `emrtd inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// File to decode (LDS file, certificate, CRL, master list, LDIF, PEM).
    #[arg(
        value_name = "FILE",
        required_unless_present = "dump",
        conflicts_with = "dump"
    )]
    pub file: Option<PathBuf>,
    /// Decode every `.bin` file of a dump directory made by `emrtd read --out`.
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
    /// Decode as this kind instead of detecting it: com, sod, dg1…dg16, dir, atr,
    /// cardaccess, cardsecurity, cert, crl, ml, dl, cms, ldif, pem, cvc.
    #[arg(long = "as", value_name = "KIND", value_parser = parse_kind, conflicts_with = "dump")]
    pub as_kind: Option<FileKind>,
    /// Instead of decoding, extract the images (faces of DG2, portraits of DG5,
    /// signature of DG7, fingers/irises of DG3/DG4) byte-exact plus PNG into DIR
    /// (files 0600). With --dump, DIR defaults to the dump itself and its
    /// manifest.json lists them; with FILE, DIR is required.
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    pub extract: Option<Option<PathBuf>>,
}

fn parse_kind(s: &str) -> Result<FileKind, String> {
    FileKind::parse(s).ok_or_else(|| {
        format!(
            "unknown kind `{s}` (expected com, sod, dg1…dg16, dir, atr, cardaccess, cardsecurity, cert, crl, ml, dl, cms, ldif or pem)"
        )
    })
}

/// Run `emrtd inspect`.
pub fn run(args: &InspectArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    if let Some(out) = &args.extract {
        return run_extract(args, out.as_deref(), global);
    }
    if let Some(dir) = &args.dump {
        return run_dump(dir, global);
    }
    let path = args
        .file
        .as_ref()
        .ok_or_else(|| anyhow!("give a FILE or --dump DIR"))?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let report = inspect_bytes(&bytes, args.as_kind, None)
        .with_context(|| format!("cannot decode {}", path.display()))?;
    if global.json {
        output::print_json(&JsonReport::new(path, &bytes, &report))?;
    } else {
        write_stdout(&render(&path.display().to_string(), &bytes, &report))?;
    }
    Ok(Outcome::ok())
}

/// Write human output to stdout: sanitised for the terminal line by line (every
/// field is already escaped where it is rendered; this is the last guard), and a
/// closed pipe (`| head`) is not an error.
fn write_stdout(s: &str) -> anyhow::Result<()> {
    let mut clean = String::with_capacity(s.len());
    for line in s.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        clean.push_str(&output::sanitize_terminal(body));
        clean.push_str(nl);
    }
    output::print_text(&clean)
}

/// Order of files in a dump: EF.COM, EF.SOD, DG1…DG16, then the MF files, then others.
fn dump_order(name: &str) -> (usize, String) {
    let rank = match file_from_dump_name(name) {
        Some(LdsFile::Com) => 0,
        Some(LdsFile::Sod) => 1,
        Some(LdsFile::Dg(n)) => 1 + usize::from(n),
        Some(LdsFile::CardAccess) => 20,
        Some(LdsFile::CardSecurity) => 21,
        Some(LdsFile::AtrInfo) => 22,
        Some(LdsFile::Dir) => 23,
        None => 30,
    };
    (rank, name.to_owned())
}

/// `inspect --extract`: write the images of a dump or of one data group file.
fn run_extract(args: &InspectArgs, out: Option<&Path>, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let (extraction, out, manifest_updated) = if let Some(dir) = &args.dump {
        let loaded = Dump::load(dir).with_context(|| format!("cannot load the dump {}", dir.display()))?;
        let x = extract::extract_all(loaded.files.iter().map(|(f, b)| (*f, b.as_slice())));
        let out = out.unwrap_or(dir);
        dump::write_images(out, &x.images)?;
        let same_dir = match (std::fs::canonicalize(out), std::fs::canonicalize(dir)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        let updated = same_dir && dump::update_manifest_images(dir, &x)?;
        (x, out.to_path_buf(), updated)
    } else {
        let path = args
            .file
            .as_ref()
            .ok_or_else(|| anyhow!("give a FILE or --dump DIR"))?;
        let out = out.ok_or_else(|| {
            anyhow::Error::new(output::Hinted {
                message: "--extract needs a directory for a single file".into(),
                hint: format!("e.g. emrtd inspect {} --extract DIR", path.display()),
            })
        })?;
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let kind = args.as_kind.or_else(|| detect::detect(&bytes)).or_else(|| {
            path.file_name()
                .and_then(|n| file_from_dump_name(&n.to_string_lossy()))
                .map(FileKind::from_lds_file)
        });
        let file = kind
            .and_then(FileKind::lds_file)
            .filter(|f| extract::ImageRole::of(*f).is_some())
            .ok_or_else(|| {
                anyhow::Error::new(output::Hinted {
                    message: format!(
                        "{} holds no images ({})",
                        path.display(),
                        kind.map_or_else(|| "unknown kind".into(), |k| k.name())
                    ),
                    hint: "--extract takes DG2, DG3, DG4, DG5, DG6 or DG7 (name the kind with --as dg2)"
                        .into(),
                })
            })?;
        let images = extract::extract_file(file, &bytes)
            .with_context(|| format!("cannot decode {} as {}", path.display(), file.name()))?;
        let x = Extraction {
            images,
            errors: Vec::new(),
        };
        dump::write_images(out, &x.images)?;
        (x, out.to_path_buf(), false)
    };
    let records = extraction.records();
    if global.json {
        output::print_json(&serde_json::json!({
            "out": out.display().to_string(),
            "images": records,
            "image_errors": extraction.errors,
            "manifest_updated": manifest_updated,
        }))?;
    } else if !global.quiet {
        let mut text = format!(
            "{} image(s) written to {}\n",
            records.len(),
            output::sanitize_terminal(&out.display().to_string())
        );
        for line in super::read::image_lines(&records, &extraction.errors) {
            text.push_str(&line);
            text.push('\n');
        }
        if manifest_updated {
            text.push_str("manifest.json lists them\n");
        }
        write_stdout(&text)?;
    }
    if !extraction.errors.is_empty() {
        return Err(anyhow!(
            "{} data group(s) could not be decoded; their images were not extracted",
            extraction.errors.len()
        ));
    }
    Ok(Outcome::ok())
}

/// The dump's manifest.json as written (any schema), if present and JSON. One that is
/// not a regular file or is larger than [`dump::MAX_MANIFEST`] is an error.
fn read_manifest(dir: &Path) -> Result<Option<serde_json::Value>, dump::DumpError> {
    Ok(dump::read_manifest_bytes(dir)?.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

/// How the dump was made, from its manifest: tool, time, reader, access, images.
fn manifest_summary(m: &serde_json::Value) -> String {
    let s = |k: &str| {
        output::sanitize_terminal(m.get(k).and_then(serde_json::Value::as_str).unwrap_or("?")).into_owned()
    };
    let mut out = format!(
        "manifest.json: made by {} at {} with reader {}\n",
        s("tool"),
        s("time"),
        s("reader")
    );
    if let Some(a) = m.get("access").filter(|a| a.is_object()) {
        let f = |k: &str| {
            output::sanitize_terminal(a.get(k).and_then(serde_json::Value::as_str).unwrap_or("?"))
                .into_owned()
        };
        let mut line = format!(
            "  access: {} {} with {}",
            f("protocol"),
            f("cipher"),
            f("password")
        );
        if let Some(map) = a.get("mapping").and_then(serde_json::Value::as_str) {
            let _ = write!(line, ", mapping {}", output::sanitize_terminal(map));
        }
        if a.get("downgraded").and_then(serde_json::Value::as_bool) == Some(true) {
            line.push_str(" (DOWNGRADED from PACE)");
        }
        let _ = writeln!(out, "{line}");
    }
    if m.get("partial").and_then(serde_json::Value::as_bool) == Some(true) {
        out.push_str("  PARTIAL dump: some files may be missing\n");
    }
    if let Some(absent) = m.get("absent").and_then(serde_json::Value::as_array) {
        for a in absent {
            let f = |k: &str| {
                output::sanitize_terminal(a.get(k).and_then(serde_json::Value::as_str).unwrap_or("?"))
                    .into_owned()
            };
            let _ = writeln!(out, "  {} not read: {} {}", f("name"), f("sw"), f("meaning"));
        }
    }
    let images: Vec<extract::ImageRecord> = m
        .get("images")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let errors: Vec<extract::ExtractionError> = m
        .get("image_errors")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    if !images.is_empty() || !errors.is_empty() {
        out.push_str("  images (on disk only):\n");
        for line in super::read::image_lines(&images, &errors) {
            let _ = writeln!(out, "  {line}");
        }
    }
    out.push('\n');
    out
}

fn run_dump(dir: &Path, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read dump directory {}", dir.display()))?;
    let mut names = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("cannot read dump directory {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        // every `.bin`, whatever it is: a link, FIFO or device is refused by name below
        if name.ends_with(".bin") {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(anyhow::Error::new(output::Hinted {
            message: format!("no .bin files in {}", dir.display()),
            hint: "a dump directory is made by `emrtd read --out DIR`".into(),
        }));
    }
    names.sort_by_key(|n| dump_order(n));
    let mut failed = 0usize;
    let mut first_error: Option<String> = None;
    let mut json_files = Vec::new();
    let mut text = String::new();
    let mut manifest_refused = false;
    let manifest = match read_manifest(dir) {
        Ok(m) => m,
        Err(e) => {
            manifest_refused = true;
            failed += 1;
            let msg = crate::error::text(&e);
            if !global.json {
                let _ = writeln!(
                    text,
                    "manifest.json: error: {}\n",
                    output::sanitize_terminal(&msg)
                );
            }
            first_error = Some(msg);
            None
        }
    };
    if let Some(m) = &manifest {
        text.push_str(&manifest_summary(m));
    }
    for name in &names {
        let path = dir.join(name);
        let hint = file_from_dump_name(name).map(FileKind::from_lds_file);
        let result = dump::read_regular_file(&path, dump::MAX_DUMP_FILE, "a chip file")
            .map_err(anyhow::Error::new)
            .map(|bytes| {
                let r = inspect_bytes(&bytes, None, hint);
                (bytes, r)
            });
        match result {
            Ok((bytes, Ok(report))) => {
                if global.json {
                    json_files.push(serde_json::to_value(JsonReport::new(&path, &bytes, &report))?);
                } else {
                    text.push_str(&render(name, &bytes, &report));
                    text.push('\n');
                }
            }
            Ok((_, Err(err))) | Err(err) => {
                failed += 1;
                if first_error.is_none() {
                    first_error = Some(format!("{name}: {err:#}"));
                }
                if global.json {
                    json_files.push(serde_json::json!({
                        "path": path.display().to_string(),
                        "error": format!("{err:#}"),
                    }));
                } else {
                    let _ = writeln!(
                        text,
                        "{}: error: {}\n",
                        output::sanitize_terminal(name),
                        output::sanitize_terminal(&format!("{err:#}"))
                    );
                }
            }
        }
    }
    if global.json {
        output::print_json(&serde_json::json!({
            "dump": dir.display().to_string(),
            "manifest": manifest,
            "files": json_files,
        }))?;
    } else {
        write_stdout(&text)?;
    }
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {} file(s) in {} could not be read or decoded (first: {})",
            names.len() + usize::from(manifest_refused),
            dir.display(),
            first_error.unwrap_or_default()
        ));
    }
    Ok(Outcome::with(Exit::Ok))
}

// ---------------------------------------------------------------------------------
// decoding

/// What inspect found in one byte string.
#[derive(Debug)]
pub struct Report {
    /// The kind decoded as.
    pub kind: FileKind,
    /// How the kind was chosen.
    pub kind_source: &'static str,
    /// A note (e.g. the file name and the content disagree).
    pub note: Option<String>,
    /// The decoded content.
    pub content: Content,
}

/// Decoded content, typed where a decoder exists.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)]
pub enum Content {
    /// An LDS file (EF.SOD and the SecurityInfos files included) decoded through the
    /// registry of `crate::lds::group`.
    Lds(Decoded),
    /// An X.509 certificate.
    Certificate(Box<x509::CertView>),
    /// An X.509 CRL.
    Crl(Box<x509::CrlView>),
    /// A CV certificate (EAC).
    CvCertificate(Box<cvc::CvCertView>),
    /// A CSCA master list.
    MasterList(Box<lists::MasterListView>),
    /// A deviation list or another CMS SignedData.
    SignedData(Box<lists::SignedContentView>),
    /// A BER-TLV tree (kinds without a typed decoder here).
    Tlv {
        /// Top-level elements.
        tlv: Vec<TlvNode>,
    },
    /// PEM blocks, each inspected.
    Pem {
        /// The blocks.
        blocks: Vec<PemBlock>,
    },
    /// LDIF summary.
    Ldif(LdifSummary),
}

/// Decode `bytes` as `forced` (from `--as`), else by content (falling back to `hint`,
/// the kind a dump file name gives).
pub fn inspect_bytes(
    bytes: &[u8],
    forced: Option<FileKind>,
    hint: Option<FileKind>,
) -> anyhow::Result<Report> {
    if bytes.is_empty() {
        return Err(anyhow!("the file is empty"));
    }
    let detected = detect::detect(bytes);
    let (kind, kind_source, note) = match (forced, detected, hint) {
        (Some(k), _, _) => (k, "--as", None),
        (None, Some(d), Some(h)) if d != h && !compatible(d, h) => (
            d,
            "content",
            Some(format!("the file name says {h} but the content looks like {d}")),
        ),
        (None, Some(d), _) => (d, "content", None),
        (None, None, Some(h)) => (h, "file name", None),
        (None, None, None) => {
            let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02X}")).collect();
            return Err(anyhow::Error::new(output::Hinted {
                message: format!(
                    "cannot tell what kind of file this is (first bytes {})",
                    head.join(" ")
                ),
                hint: "name the kind with --as (com, sod, dg1…dg16, cardaccess, cert, crl, ml, …)".into(),
            }));
        }
    };
    let content = decode(kind, bytes).with_context(|| format!("not a valid {kind}"))?;
    Ok(Report {
        kind,
        kind_source,
        note,
        content,
    })
}

/// Kinds a dump name and the content may both be (a bare CMS over an
/// LDSSecurityObject is an EF.SOD; CardAccess is a SecurityInfos).
fn compatible(a: FileKind, b: FileKind) -> bool {
    a.lds_file().is_some() && a.lds_file() == b.lds_file()
}

/// The decoder for each kind: typed where one exists, a TLV tree otherwise.
pub fn decode(kind: FileKind, bytes: &[u8]) -> anyhow::Result<Content> {
    if let Some(file) = kind.lds_file()
        && let Some(decoded) = Decoded::decode(file, bytes)
    {
        return Ok(Content::Lds(decoded?));
    }
    Ok(match kind {
        FileKind::Certificate => Content::Certificate(Box::new(
            x509::CertView::decode(bytes).map_err(anyhow::Error::msg)?,
        )),
        FileKind::Crl => Content::Crl(Box::new(
            x509::CrlView::decode(bytes).map_err(anyhow::Error::msg)?,
        )),
        FileKind::CvCertificate => Content::CvCertificate(Box::new(cvc::CvCertView::decode(bytes)?)),
        FileKind::MasterList => Content::MasterList(Box::new(lists::MasterListView::decode(bytes)?)),
        FileKind::DeviationList | FileKind::SignedData => {
            Content::SignedData(Box::new(lists::SignedContentView::decode(bytes)?))
        }
        FileKind::Pem => {
            let mut blocks = pem_blocks(bytes)?;
            for b in &mut blocks {
                // a block is decoded like a file of its kind; a PEM inside PEM is not
                if let Some(kind) = b.kind.filter(|k| *k != FileKind::Pem)
                    && let Ok(c) = decode(kind, &b.der)
                {
                    b.content = Some(Box::new(c));
                    b.tlv.clear();
                }
            }
            Content::Pem { blocks }
        }
        FileKind::Ldif => Content::Ldif(ldif_summary(bytes)),
        // LDS files without a registered decoder
        _ => Content::Tlv {
            tlv: tlv_tree(bytes)?,
        },
    })
}

// ---------------------------------------------------------------------------------
// JSON

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    path: String,
    kind: FileKind,
    kind_name: String,
    detected_by: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    size: usize,
    sha256: String,
    content: &'a Content,
}

impl<'a> JsonReport<'a> {
    fn new(path: &Path, bytes: &[u8], r: &'a Report) -> Self {
        JsonReport {
            path: path.display().to_string(),
            kind: r.kind,
            kind_name: r.kind.name(),
            detected_by: r.kind_source,
            note: r.note.as_deref(),
            size: bytes.len(),
            sha256: crate::crypto::sha256_hex(bytes),
            content: &r.content,
        }
    }
}

fn quirks_of(c: &Content) -> Cow<'_, [Quirk]> {
    match c {
        Content::Lds(d) => d.quirks(),
        Content::Certificate(x) => Cow::Borrowed(&x.quirks),
        Content::Crl(x) => Cow::Borrowed(&x.quirks),
        Content::MasterList(x) => Cow::Borrowed(&x.cms.quirks),
        Content::SignedData(x) => Cow::Borrowed(&x.cms.quirks),
        Content::Tlv { .. } | Content::Pem { .. } | Content::Ldif(_) | Content::CvCertificate(_) => {
            Cow::Borrowed(&[])
        }
    }
}

/// The human rendering of one report.
pub fn render(label: &str, bytes: &[u8], r: &Report) -> String {
    let mut out = String::new();
    let how = match r.kind_source {
        "content" => String::new(),
        other => format!(", by {other}"),
    };
    let _ = writeln!(
        out,
        "{}: {} ({} bytes, sha256 {}{how})",
        output::sanitize_terminal(label),
        r.kind,
        bytes.len(),
        crate::crypto::sha256_hex(bytes)
    );
    if let Some(note) = &r.note {
        let _ = writeln!(out, "  note: {}", output::sanitize_terminal(note));
    }
    if matches!(r.content, Content::Tlv { .. }) {
        let _ = writeln!(out, "  (no typed decoder for {} here: BER-TLV tree)", r.kind);
    }
    for n in content_nodes(&r.content) {
        text::write(&n, 2, &mut out);
    }
    for q in quirks_of(&r.content).iter() {
        let _ = writeln!(
            out,
            "  warning: {}: {}",
            q.name(),
            output::sanitize_terminal(&q.to_string())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_content_is_an_error_with_a_hint() {
        let e = inspect_bytes(b"\xFF\xFF\xFF", None, None).unwrap_err();
        assert!(format!("{e:#}").contains("cannot tell what kind of file this is"));
        assert!(inspect_bytes(b"", None, None).is_err());
    }
}

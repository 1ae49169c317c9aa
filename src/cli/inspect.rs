//! `emrtd inspect FILE [--as KIND]` and `emrtd inspect --dump DIR`: decode LDS files,
//! certificates, CRLs, master lists, LDIF and PEM, and print them as a readable tree
//! (or, with `--json`, one JSON document).
//!
//! The kind is detected by content ([`crate::lds::detect`]) unless `--as` names it.
//! Kinds with a typed decoder are shown field by field; every other kind is shown as a
//! BER-TLV tree (tag, length, and for primitive values text or hex), so inspect is
//! useful for every file. Typed decoders plug in at [`decode`]. This is a forensic
//! tool: it prints personal data (DG1, DG11, …) because the user asked to see it.

mod text;
mod tree;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;
use sha2::Digest;

use super::{Exit, GlobalOpts, Outcome, output};
use crate::lds::LdsFile;
use crate::lds::atr_info::AtrInfo;
use crate::lds::com::Com;
use crate::lds::detect::{self, FileKind};
use crate::lds::dg1::Dg1;
use crate::lds::dg11::Dg11;
use crate::lds::dg12::Dg12;
use crate::lds::dg13::Dg13;
use crate::lds::dg15::Dg15;
use crate::lds::dg16::Dg16;
use crate::lds::dir::Dir;
use crate::lds::quirk::Quirk;
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
    /// cardaccess, cardsecurity, cert, crl, ml, dl, cms, ldif, pem.
    #[arg(long = "as", value_name = "KIND", value_parser = parse_kind, conflicts_with = "dump")]
    pub as_kind: Option<FileKind>,
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

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(s: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Order of files in a dump: EF.COM, EF.SOD, DG1…DG16, then the MF files, then others.
fn dump_order(name: &str) -> (usize, String) {
    let stem = name.strip_suffix(".bin").unwrap_or(name);
    let rank = match LdsFile::parse(stem) {
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

fn run_dump(dir: &Path, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read dump directory {}", dir.display()))?;
    let mut names = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("cannot read dump directory {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".bin") && e.file_type().is_ok_and(|t| t.is_file()) {
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
    let mut json_files = Vec::new();
    let mut text = String::new();
    for name in &names {
        let path = dir.join(name);
        let hint = LdsFile::parse(name.strip_suffix(".bin").unwrap_or(name)).map(FileKind::from_lds_file);
        let result = std::fs::read(&path)
            .with_context(|| format!("cannot read {}", path.display()))
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
                if global.json {
                    json_files.push(serde_json::json!({
                        "path": path.display().to_string(),
                        "error": format!("{err:#}"),
                    }));
                } else {
                    let _ = writeln!(text, "{name}: error: {err:#}\n");
                }
            }
        }
    }
    if global.json {
        output::print_json(&serde_json::json!({
            "dump": dir.display().to_string(),
            "files": json_files,
        }))?;
    } else {
        write_stdout(&text)?;
    }
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {} file(s) in {} could not be decoded",
            names.len(),
            dir.display()
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
    /// EF.COM.
    Com(Com),
    /// EF.DIR.
    Dir(Dir),
    /// EF.ATR/INFO.
    AtrInfo(AtrInfo),
    /// DG1 with the MRZ module's check of its MRZ.
    Dg1 {
        /// The decoded file.
        #[serde(flatten)]
        dg1: Dg1,
        /// The MRZ parsed and checked by `crate::mrz` (check digits, warnings, defects).
        #[serde(skip_serializing_if = "Option::is_none")]
        mrz_check: Option<crate::mrz::Mrz>,
        /// Why `crate::mrz` rejected the MRZ, if it did.
        #[serde(skip_serializing_if = "Option::is_none")]
        mrz_error: Option<String>,
    },
    /// DG11.
    Dg11(Dg11),
    /// DG12.
    Dg12(Dg12),
    /// DG13.
    Dg13(Dg13),
    /// DG15 with the result of building the OpenSSL key.
    Dg15 {
        /// The decoded file.
        #[serde(flatten)]
        dg15: Dg15,
        /// `ok`, or why OpenSSL refused the key.
        public_key: String,
    },
    /// DG16.
    Dg16(Dg16),
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
    Ok(match kind {
        FileKind::Com => Content::Com(Com::decode(bytes)?),
        FileKind::Dir => Content::Dir(Dir::decode(bytes)?),
        FileKind::AtrInfo => Content::AtrInfo(AtrInfo::decode(bytes)?),
        FileKind::Dg(1) => {
            let dg1 = Dg1::decode(bytes)?;
            let (mrz_check, mrz_error) = match dg1.parse_mrz() {
                Ok(m) => (Some(m), None),
                Err(e) => (None, Some(format!("{:#}", anyhow::Error::from(e)))),
            };
            Content::Dg1 {
                dg1,
                mrz_check,
                mrz_error,
            }
        }
        FileKind::Dg(11) => Content::Dg11(Dg11::decode(bytes)?),
        FileKind::Dg(12) => Content::Dg12(Dg12::decode(bytes)?),
        FileKind::Dg(13) => Content::Dg13(Dg13::decode(bytes)?),
        FileKind::Dg(15) => {
            let dg15 = Dg15::decode(bytes)?;
            let public_key = match dg15.public_key() {
                Ok(_) => "ok".to_owned(),
                Err(e) => format!("{:#}", anyhow::Error::from(e)),
            };
            Content::Dg15 { dg15, public_key }
        }
        FileKind::Dg(16) => Content::Dg16(Dg16::decode(bytes)?),
        FileKind::Pem => Content::Pem {
            blocks: pem_blocks(bytes)?,
        },
        FileKind::Ldif => Content::Ldif(ldif_summary(bytes)),
        // EF.SOD, DG2–DG10, DG14, EF.CardAccess/CardSecurity, certificates, CRLs,
        // master lists: decoded by other modules; a TLV tree until they are wired in
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
            sha256: hex::encode(sha2::Sha256::digest(bytes)),
            content: &r.content,
        }
    }
}

fn quirks_of(c: &Content) -> &[Quirk] {
    match c {
        Content::Com(x) => &x.quirks,
        Content::Dir(x) => &x.quirks,
        Content::AtrInfo(x) => &x.quirks,
        Content::Dg1 { dg1, .. } => &dg1.quirks,
        Content::Dg11(x) => &x.quirks,
        Content::Dg12(x) => &x.quirks,
        Content::Dg13(x) => &x.quirks,
        Content::Dg15 { dg15, .. } => &dg15.quirks,
        Content::Dg16(x) => &x.quirks,
        Content::Tlv { .. } | Content::Pem { .. } | Content::Ldif(_) => &[],
    }
}

/// The human rendering of one report.
fn render(label: &str, bytes: &[u8], r: &Report) -> String {
    let mut out = String::new();
    let how = match r.kind_source {
        "content" => String::new(),
        other => format!(", by {other}"),
    };
    let _ = writeln!(
        out,
        "{label}: {} ({} bytes, sha256 {}{how})",
        r.kind,
        bytes.len(),
        hex::encode(sha2::Sha256::digest(bytes))
    );
    if let Some(note) = &r.note {
        let _ = writeln!(out, "  note: {note}");
    }
    if matches!(r.content, Content::Tlv { .. }) {
        let _ = writeln!(out, "  (no typed decoder for {} here: BER-TLV tree)", r.kind);
    }
    for n in content_nodes(&r.content) {
        n.write(2, &mut out);
    }
    for q in quirks_of(&r.content) {
        let _ = writeln!(out, "  warning: {}: {q}", q.name());
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

//! `emrtd inspect FILE [--as KIND]` and `emrtd inspect --dump DIR`: decode LDS files,
//! certificates, CRLs, master lists, LDIF and PEM, and print them as a readable tree
//! (or, with `--json`, one JSON document).
//!
//! The kind is detected by content ([`crate::lds::detect`]) unless `--as` names it.
//! Kinds with a typed decoder are shown field by field; every other kind is shown as a
//! BER-TLV tree (tag, length, and for primitive values text or hex), so inspect is
//! useful for every file. Typed decoders plug in at [`decode`]. This is a forensic
//! tool: it prints personal data (DG1, DG11, …) because the user asked to see it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use base64::Engine as _;
use clap::Args;
use sha2::Digest;

use super::{Exit, GlobalOpts, Outcome, output};
use crate::lds::LdsFile;
use crate::lds::atr_info::AtrInfo;
use crate::lds::com::Com;
use crate::lds::detect::{self, FileKind};
use crate::lds::dg1::Dg1;
use crate::lds::dg11::{Dg11, field_parts, name_parts};
use crate::lds::dg12::Dg12;
use crate::lds::dg13::Dg13;
use crate::lds::dg15::{Dg15, EcParameters, PublicKeyInfo};
use crate::lds::dg16::Dg16;
use crate::lds::dir::Dir;
use crate::lds::quirk::{DateField, Quirk};
use crate::tlv::{self, LengthForm, Tlv};

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
// TLV tree

/// One element of a BER-TLV tree.
#[derive(Debug, serde::Serialize)]
pub struct TlvNode {
    /// Tag in hex.
    pub tag: String,
    /// What the tag is, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
    /// Offset of the element in the file.
    pub offset: usize,
    /// Length of the value.
    pub length: usize,
    /// Length form when not DER (`non_minimal`, `indefinite`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_form: Option<&'static str>,
    /// Primitive value, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Primitive value as text (strings, OIDs, small integers, times).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Children of a constructed element, or the DER an OCTET/BIT STRING encapsulates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TlvNode>,
    /// True when `children` were decoded from inside an OCTET STRING or BIT STRING.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encapsulated: bool,
}

const MAX_TREE_DEPTH: usize = 40;

/// Parse `bytes` as a sequence of BER-TLV elements into a tree. Trailing zero padding
/// is allowed; anything else that is not TLV is an error.
pub fn tlv_tree(bytes: &[u8]) -> anyhow::Result<Vec<TlvNode>> {
    let mut out = Vec::new();
    let mut reader = tlv::Reader::new_ber(bytes);
    while !reader.is_empty() {
        if reader.only_zero_padding_left() {
            break;
        }
        let offset = bytes.len() - reader.remaining().len();
        let t = reader
            .read()
            .with_context(|| format!("malformed TLV at offset {offset}"))?;
        out.push(tlv_node(&t, offset, 0, 0));
    }
    Ok(out)
}

fn tlv_node(t: &Tlv<'_>, offset: usize, parent: u32, depth: usize) -> TlvNode {
    let mut node = TlvNode {
        tag: format!("{:02X}", t.tag),
        name: tag_name(t.tag, parent),
        offset,
        length: t.value.len(),
        length_form: match t.form {
            LengthForm::NonMinimal => Some("non_minimal"),
            LengthForm::Indefinite => Some("indefinite"),
            _ => None,
        },
        value: None,
        text: None,
        children: Vec::new(),
        encapsulated: false,
    };
    let value_offset = offset + t.header_len();
    if t.is_constructed() && depth < MAX_TREE_DEPTH {
        match children_of(t.value, value_offset, t.tag, depth) {
            Some(kids) => node.children = kids,
            None => node.value = Some(hex::encode_upper(t.value)),
        }
        return node;
    }
    node.value = Some(hex::encode_upper(t.value));
    node.text = primitive_text(t.tag, t.value);
    // DER inside OCTET STRING (eContent) or BIT STRING (subjectPublicKey)
    let inner = match t.tag {
        0x04 => Some((t.value, value_offset)),
        0x03 => t
            .value
            .split_first()
            .filter(|(u, _)| **u == 0)
            .map(|(_, r)| (r, value_offset + 1)),
        _ => None,
    };
    if let Some((inner, inner_offset)) = inner
        && depth < MAX_TREE_DEPTH
        && matches!(inner.first(), Some(0x30 | 0x31))
        && tlv::parse_ber(inner).is_ok_and(|x| x.raw.len() == inner.len())
        && let Some(kids) = children_of(inner, inner_offset, t.tag, depth)
    {
        node.children = kids;
        node.encapsulated = true;
        node.text = None;
    }
    node
}

fn children_of(value: &[u8], value_offset: usize, parent: u32, depth: usize) -> Option<Vec<TlvNode>> {
    let mut kids = Vec::new();
    let mut r = tlv::Reader::new_ber(value);
    while !r.is_empty() {
        let off = value_offset + value.len() - r.remaining().len();
        let k = r.read().ok()?;
        kids.push(tlv_node(&k, off, parent, depth + 1));
    }
    Some(kids)
}

fn tag_name(tag: u32, parent: u32) -> Option<&'static str> {
    Some(match tag {
        0x02 if parent == 0x7F61 => "number of instances",
        0x01 => "BOOLEAN",
        0x02 => "INTEGER",
        0x03 => "BIT STRING",
        0x04 => "OCTET STRING",
        0x05 => "NULL",
        0x06 => "OBJECT IDENTIFIER",
        0x0A => "ENUMERATED",
        0x0C => "UTF8String",
        0x13 => "PrintableString",
        0x14 => "TeletexString",
        0x16 => "IA5String",
        0x17 => "UTCTime",
        0x18 => "GeneralizedTime",
        0x1E => "BMPString",
        0x30 => "SEQUENCE",
        0x31 => "SET",
        0x60 => "EF.COM",
        0x77 => "EF.SOD",
        0x75 => "DG2",
        0x63 => "DG3",
        0x76 => "DG4",
        0x65 => "DG5",
        0x66 => "DG6",
        0x67 => "DG7",
        0x68 => "DG8",
        0x69 => "DG9",
        0x6A => "DG10",
        0x6E => "DG14",
        0x5F01 => "LDS version",
        0x5F36 => "Unicode version",
        0x5C => "tag list",
        0x5F1F => "MRZ",
        0x7F61 => "biometric information group template",
        0x7F60 => "biometric information template",
        0x5F2E => "biometric data block",
        0x7F2E => "biometric data block (enciphered)",
        0x5F40 | 0x5F43 => "displayed image",
        0xA1 if parent == 0x7F60 => "biometric header template",
        0x80 if parent == 0xA1 => "ICAO header version",
        0x81 if parent == 0xA1 => "biometric type",
        0x82 if parent == 0xA1 => "biometric subtype",
        0x83 if parent == 0xA1 => "creation date and time",
        0x85 if parent == 0xA1 => "validity period",
        0x86 if parent == 0xA1 => "creator",
        0x87 if parent == 0xA1 => "format owner",
        0x88 if parent == 0xA1 => "format type",
        _ => return None,
    })
}

fn oid_name(dotted: &str) -> Option<&'static str> {
    Some(match dotted {
        "1.2.840.113549.1.7.2" => "signedData",
        "1.2.840.113549.1.9.3" => "contentType",
        "1.2.840.113549.1.9.4" => "messageDigest",
        "1.2.840.113549.1.9.5" => "signingTime",
        "1.2.840.113549.1.1.1" => "rsaEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.8" => "MGF1",
        "1.2.840.10045.2.1" => "id-ecPublicKey",
        "1.2.840.10045.1.1" => "prime-field",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.14.3.2.26" => "sha1",
        "2.16.840.1.101.3.4.2.1" => "sha256",
        "2.16.840.1.101.3.4.2.2" => "sha384",
        "2.16.840.1.101.3.4.2.3" => "sha512",
        "2.16.840.1.101.3.4.2.4" => "sha224",
        "2.23.136.1.1.1" => "ldsSecurityObject",
        "2.23.136.1.1.2" => "cscaMasterList",
        "2.23.136.1.1.6.2" => "documentTypeList",
        "2.23.136.1.1.7" => "deviationList",
        "0.4.0.127.0.7.3.2.1" => "id-SecurityObject",
        "2.5.4.3" => "commonName",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "countryName",
        "2.5.4.10" => "organizationName",
        "2.5.4.11" => "organizationalUnitName",
        "2.5.29.14" => "subjectKeyIdentifier",
        "2.5.29.15" => "keyUsage",
        "2.5.29.19" => "basicConstraints",
        "2.5.29.31" => "cRLDistributionPoints",
        "2.5.29.35" => "authorityKeyIdentifier",
        "2.5.29.16" => "privateKeyUsagePeriod",
        "2.5.29.17" => "subjectAltName",
        "2.5.29.18" => "issuerAltName",
        "2.5.29.32" => "certificatePolicies",
        "2.5.29.37" => "extKeyUsage",
        "0.4.0.127.0.7.2.2.1.1" => "id-PK-DH",
        "0.4.0.127.0.7.2.2.1.2" => "id-PK-ECDH",
        "0.4.0.127.0.7.2.2.2" => "id-TA",
        "0.4.0.127.0.7.2.2.3.1.1" => "id-CA-DH-3DES-CBC-CBC",
        "0.4.0.127.0.7.2.2.3.2.1" => "id-CA-ECDH-3DES-CBC-CBC",
        "0.4.0.127.0.7.2.2.3.2.2" => "id-CA-ECDH-AES-CBC-CMAC-128",
        "0.4.0.127.0.7.2.2.4.2.2" => "id-PACE-ECDH-GM-AES-CBC-CMAC-128",
        "0.4.0.127.0.7.2.2.4.2.4" => "id-PACE-ECDH-GM-AES-CBC-CMAC-256",
        "0.4.0.127.0.7.2.2.4.6.2" => "id-PACE-ECDH-CAM-AES-CBC-CMAC-128",
        "2.23.136.1.1.5" => "id-icao-mrtd-security-aaProtocolObject",
        _ => return None,
    })
}

fn is_printable(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(|b| (0x20..0x7F).contains(b))
}

fn primitive_text(tag: u32, v: &[u8]) -> Option<String> {
    match tag {
        0x06 => {
            let dotted = crate::lds::dg15::oid_to_string(v)?;
            Some(match oid_name(&dotted) {
                Some(n) => format!("{dotted} ({n})"),
                None => dotted,
            })
        }
        0x02 | 0x0A if !v.is_empty() && v.len() <= 8 => {
            let negative = v.first().is_some_and(|b| b & 0x80 != 0);
            let mut x: i64 = if negative { -1 } else { 0 };
            for b in v {
                x = (x << 8) | i64::from(*b);
            }
            Some(x.to_string())
        }
        0x01 => v
            .first()
            .map(|b| if *b == 0 { "false".into() } else { "true".into() }),
        0x0C | 0x13 | 0x14 | 0x16 | 0x17 | 0x18 => std::str::from_utf8(v).ok().map(str::to_owned),
        0x1E => {
            let units: Vec<u16> = v
                .chunks_exact(2)
                .map(|c| c.iter().fold(0u16, |a, b| (a << 8) | u16::from(*b)))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ if is_printable(v) => Some(String::from_utf8_lossy(v).into_owned()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------
// PEM and LDIF

/// One PEM block.
#[derive(Debug, serde::Serialize)]
pub struct PemBlock {
    /// The label (`CERTIFICATE`, `X509 CRL`, …).
    pub label: String,
    /// The kind of its DER content, when recognised.
    pub kind: Option<FileKind>,
    /// Size of the DER content.
    pub size: usize,
    /// SHA-256 of the DER content.
    pub sha256: String,
    /// Its TLV tree.
    pub tlv: Vec<TlvNode>,
}

fn pem_blocks(bytes: &[u8]) -> anyhow::Result<Vec<PemBlock>> {
    let text = std::str::from_utf8(bytes).context("PEM is not text")?;
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = rest.get(start + 11..).unwrap_or_default();
        let label_end = after
            .find("-----")
            .ok_or_else(|| anyhow!("unterminated PEM header"))?;
        let label = after.get(..label_end).unwrap_or_default().to_owned();
        let body_start = after.get(label_end + 5..).unwrap_or_default();
        let end_marker = format!("-----END {label}-----");
        let body_end = body_start
            .find(&end_marker)
            .ok_or_else(|| anyhow!("PEM block {label} has no END line"))?;
        let body: String = body_start
            .get(..body_end)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains(':'))
            .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .with_context(|| format!("PEM block {label}: invalid base64"))?;
        blocks.push(PemBlock {
            kind: detect::detect(&der),
            size: der.len(),
            sha256: hex::encode(sha2::Sha256::digest(&der)),
            tlv: tlv_tree(&der).with_context(|| format!("PEM block {label}"))?,
            label,
        });
        rest = body_start.get(body_end + end_marker.len()..).unwrap_or_default();
    }
    if blocks.is_empty() {
        return Err(anyhow!("no PEM block found"));
    }
    Ok(blocks)
}

/// What an LDIF file holds.
#[derive(Debug, serde::Serialize)]
pub struct LdifSummary {
    /// Number of entries (`dn:` lines).
    pub entries: usize,
    /// The first distinguished names (at most 50).
    pub dns: Vec<String>,
    /// Attribute names with how often they occur, sorted by name.
    pub attributes: Vec<(String, usize)>,
}

fn ldif_summary(bytes: &[u8]) -> LdifSummary {
    let text = String::from_utf8_lossy(bytes);
    let mut entries = 0;
    let mut dns = Vec::new();
    let mut attrs = std::collections::BTreeMap::<String, usize>::new();
    for line in text.lines() {
        if line.starts_with(' ') || line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("dn") {
            entries += 1;
            if dns.len() < 50 {
                let v = value.trim_start_matches(':').trim();
                let dn = if value.starts_with(':') {
                    base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_else(|_| v.to_owned())
                } else {
                    v.to_owned()
                };
                dns.push(dn);
            }
        } else if !name.eq_ignore_ascii_case("version") {
            *attrs.entry(name.to_owned()).or_default() += 1;
        }
    }
    LdifSummary {
        entries,
        dns,
        attributes: attrs.into_iter().collect(),
    }
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

// ---------------------------------------------------------------------------------
// human output

/// A line of the tree with its children.
struct Node {
    text: String,
    kids: Vec<Node>,
}

impl Node {
    fn new(text: impl Into<String>) -> Self {
        Node {
            text: text.into(),
            kids: Vec::new(),
        }
    }

    fn field(name: &str, value: impl std::fmt::Display) -> Self {
        Node::new(format!("{name}: {value}"))
    }

    fn with(mut self, kids: Vec<Node>) -> Self {
        self.kids = kids;
        self
    }

    fn write(&self, indent: usize, out: &mut String) {
        let _ = writeln!(out, "{:indent$}{}", "", self.text);
        for k in &self.kids {
            k.write(indent + 2, out);
        }
    }
}

/// Push `name: value` when the value is present.
fn opt(nodes: &mut Vec<Node>, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        nodes.push(Node::field(name, if v.is_empty() { "(empty)" } else { v }));
    }
}

fn opt_parts(nodes: &mut Vec<Node>, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        let parts = field_parts(v);
        nodes.push(Node::field(
            name,
            if parts.is_empty() {
                "(empty)".into()
            } else {
                parts.join(" / ")
            },
        ));
    }
}

fn date(d: &DateField) -> String {
    let shown = d.iso().unwrap_or_else(|| d.text.clone());
    match d.encoding {
        crate::lds::quirk::DateEncoding::Ascii => shown,
        crate::lds::quirk::DateEncoding::Bcd => format!("{shown} (BCD)"),
        crate::lds::quirk::DateEncoding::Unknown => format!(
            "{shown} (unrecognised encoding, raw {})",
            hex::encode_upper(&d.raw)
        ),
    }
}

fn opt_date(nodes: &mut Vec<Node>, name: &str, v: &Option<DateField>) {
    if let Some(d) = v {
        nodes.push(Node::field(name, date(d)));
    }
}

fn bytes_summary(b: &[u8]) -> String {
    format!(
        "{} bytes, sha256 {}",
        b.len(),
        hex::encode(sha2::Sha256::digest(b))
    )
}

fn short_hex(b: &[u8]) -> String {
    const SHOW: usize = 32;
    if b.len() <= SHOW {
        hex::encode_upper(b)
    } else {
        format!(
            "{}… ({} bytes)",
            hex::encode_upper(b.get(..SHOW).unwrap_or_default()),
            b.len()
        )
    }
}

fn tags(list: &[u32]) -> String {
    list.iter()
        .map(|t| format!("{t:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn name_node(label: &str, name: &str) -> Node {
    let (primary, secondary) = name_parts(name);
    if secondary.is_empty() && primary == name {
        return Node::field(label, name);
    }
    let mut kids = vec![Node::field("primary identifier", primary)];
    if !secondary.is_empty() {
        kids.push(Node::field("secondary identifier", secondary));
    }
    Node::field(label, name).with(kids)
}

fn content_nodes(c: &Content) -> Vec<Node> {
    let mut n = Vec::new();
    match c {
        Content::Com(com) => {
            if let Some(v) = &com.lds_version {
                n.push(Node::field("LDS version", format!("{v} ({})", v.raw)));
            }
            if let Some(v) = &com.unicode_version {
                n.push(Node::field("Unicode version", format!("{v} ({})", v.raw)));
            }
            n.push(Node::field("tag list", hex::encode_upper(&com.tag_list)));
            let files: Vec<String> = com.files().iter().map(|f| f.name()).collect();
            n.push(Node::field("data groups", files.join(", ")));
        }
        Content::Dir(dir) => {
            for a in &dir.applications {
                let mut kids = Vec::new();
                if let Some(name) = a.name() {
                    kids.push(Node::field("application", name));
                }
                if let Some(l) = &a.label {
                    kids.push(Node::field("label", l));
                }
                for o in &a.other {
                    kids.push(Node::field(&format!("{:02X}", o.tag), short_hex(&o.value)));
                }
                n.push(Node::field("AID", hex::encode_upper(&a.aid)).with(kids));
            }
        }
        Content::AtrInfo(a) => {
            if let Some(e) = &a.extended_length {
                n.push(Node::new("extended length information (7F66)").with(vec![
                    Node::field("max command APDU", e.max_command_apdu),
                    Node::field("max response APDU", e.max_response_apdu),
                ]));
            }
            if let Some(cc) = &a.card_capabilities {
                let mut line = hex::encode_upper(cc);
                if let Some(s) = a.extended_length_supported() {
                    let _ = write!(
                        line,
                        " (extended Lc/Le {})",
                        if s { "supported" } else { "not supported" }
                    );
                }
                n.push(Node::field("card capabilities (47)", line));
            }
            for o in &a.objects {
                n.push(Node::field(&format!("{:02X}", o.tag), short_hex(&o.value)));
            }
        }
        Content::Dg1 {
            dg1: d,
            mrz_check,
            mrz_error,
        } => {
            let f = &d.fields;
            n.push(Node::field("format", d.format));
            n.push(Node::new("MRZ").with(d.lines().into_iter().map(Node::new).collect()));
            n.push(Node::field("document code", &f.document_code));
            n.push(Node::field("issuing state", &f.issuing_state));
            n.push(Node::field(
                "document number",
                format!("{} (check digit {})", f.document_number, f.document_number_check),
            ));
            n.push(name_node("name", &f.name));
            n.push(Node::field("nationality", &f.nationality));
            n.push(Node::field(
                "date of birth",
                format!("{} (check digit {})", f.date_of_birth, f.date_of_birth_check),
            ));
            n.push(Node::field("sex", f.sex));
            n.push(Node::field(
                "date of expiry",
                format!("{} (check digit {})", f.date_of_expiry, f.date_of_expiry_check),
            ));
            n.push(Node::field("optional data", &f.optional_data));
            if let Some(o) = &f.optional_data_2 {
                n.push(Node::field("optional data 2", o));
            }
            if let Some(c) = f.composite_check {
                n.push(Node::field("composite check digit", c));
            }
            if let Some(m) = mrz_check {
                let digits = m
                    .check_digits()
                    .iter()
                    .map(|c| {
                        let verdict = if c.ok {
                            "ok".to_owned()
                        } else {
                            format!("WRONG, computed {}", c.computed)
                        };
                        Node::field(c.field.name(), format!("{} {verdict}", c.given))
                    })
                    .collect();
                n.push(Node::new("check digits").with(digits));
                for w in m.warnings() {
                    n.push(Node::field("MRZ warning", w));
                }
                for d in m.defects() {
                    n.push(Node::field("MRZ defect", d));
                }
            }
            if let Some(e) = mrz_error {
                n.push(Node::field("MRZ check", format!("not possible: {e}")));
            }
        }
        Content::Dg11(d) => {
            if let Some(t) = &d.tag_list {
                n.push(Node::field("tag list", tags(t)));
            }
            if let Some(name) = &d.full_name {
                n.push(name_node("full name", name));
            }
            for o in &d.other_names {
                n.push(name_node("other name", o));
            }
            opt(&mut n, "personal number", &d.personal_number);
            opt_date(&mut n, "full date of birth", &d.full_date_of_birth);
            opt_parts(&mut n, "place of birth", &d.place_of_birth);
            opt_parts(&mut n, "address", &d.address);
            opt(&mut n, "telephone", &d.telephone);
            opt_parts(&mut n, "profession", &d.profession);
            opt(&mut n, "title", &d.title);
            opt(&mut n, "personal summary", &d.personal_summary);
            if let Some(img) = &d.proof_of_citizenship {
                n.push(Node::field("proof of citizenship (image)", bytes_summary(img)));
            }
            opt_parts(&mut n, "other valid TD numbers", &d.other_td_numbers);
            opt(&mut n, "custody information", &d.custody_information);
            for u in &d.unknown {
                n.push(Node::field(&format!("{:02X}", u.tag), short_hex(&u.value)));
            }
        }
        Content::Dg12(d) => {
            if let Some(t) = &d.tag_list {
                n.push(Node::field("tag list", tags(t)));
            }
            opt(&mut n, "issuing authority", &d.issuing_authority);
            opt_date(&mut n, "date of issue", &d.date_of_issue);
            for p in &d.other_persons {
                n.push(name_node("other person", p));
            }
            opt(&mut n, "endorsements / observations", &d.endorsements);
            opt(&mut n, "tax / exit requirements", &d.tax_exit_requirements);
            if let Some(img) = &d.front_image {
                n.push(Node::field("image of front", bytes_summary(img)));
            }
            if let Some(img) = &d.rear_image {
                n.push(Node::field("image of rear", bytes_summary(img)));
            }
            opt_date(&mut n, "personalisation time", &d.personalisation_time);
            opt(
                &mut n,
                "personalisation device serial",
                &d.personalisation_device_serial,
            );
            for u in &d.unknown {
                n.push(Node::field(&format!("{:02X}", u.tag), short_hex(&u.value)));
            }
        }
        Content::Dg13(d) => {
            n.push(Node::field("content", short_hex(&d.content)));
        }
        Content::Dg15 { dg15, public_key } => {
            n.push(Node::field(
                "algorithm",
                format!("{} ({})", dg15.algorithm_name(), dg15.algorithm_oid),
            ));
            match &dg15.key {
                PublicKeyInfo::Rsa {
                    modulus,
                    modulus_bits,
                    exponent,
                } => {
                    n.push(Node::field("modulus bits", modulus_bits));
                    n.push(Node::field("modulus", short_hex(modulus)));
                    n.push(Node::field(
                        "public exponent",
                        dg15.rsa_exponent()
                            .map_or_else(|| hex::encode_upper(exponent), |e| e.to_string()),
                    ));
                }
                PublicKeyInfo::Ec { parameters, point } => {
                    match parameters {
                        EcParameters::Named { oid, name } => {
                            n.push(Node::field(
                                "curve",
                                format!("{} ({oid})", name.unwrap_or("unknown to OpenSSL")),
                            ));
                        }
                        EcParameters::Explicit(c) => {
                            n.push(Node::new("explicit domain parameters").with(vec![
                                Node::field("field bits", c.field_bits),
                                Node::field("equal to", c.known_curve.unwrap_or("no curve known to OpenSSL")),
                                Node::field("p", short_hex(&c.p)),
                                Node::field("a", short_hex(&c.a)),
                                Node::field("b", short_hex(&c.b)),
                                Node::field("G", short_hex(&c.generator)),
                                Node::field("n", short_hex(&c.order)),
                                Node::field("h", c.cofactor.map_or("(absent)".into(), |h| h.to_string())),
                            ]));
                        }
                        EcParameters::ImplicitlyCa => n.push(Node::field("curve", "implicitlyCA")),
                    }
                    n.push(Node::field("public point", short_hex(point)));
                }
                PublicKeyInfo::Other { .. } => {}
            }
            if let Some(bits) = dg15.key_bits() {
                n.push(Node::field("key size (bits)", bits));
            }
            n.push(Node::field("SubjectPublicKeyInfo", bytes_summary(&dg15.spki)));
            n.push(Node::field("OpenSSL key", public_key));
        }
        Content::Dg16(d) => {
            if let Some(c) = d.declared_count {
                n.push(Node::field("number of persons", c));
            }
            for (i, p) in d.persons.iter().enumerate() {
                let mut kids = Vec::new();
                opt_date(&mut kids, "date recorded", &p.date_recorded);
                opt(&mut kids, "name", &p.name);
                opt(&mut kids, "telephone", &p.telephone);
                opt_parts(&mut kids, "address", &p.address);
                n.push(Node::new(format!("person {}", i + 1)).with(kids));
            }
        }
        Content::Tlv { tlv } => n.extend(tlv.iter().map(tlv_human)),
        Content::Pem { blocks } => {
            for b in blocks {
                let kind = b.kind.map_or_else(|| "unrecognised content".into(), |k| k.name());
                n.push(
                    Node::new(format!(
                        "{} ({kind}, {} bytes, sha256 {})",
                        b.label, b.size, b.sha256
                    ))
                    .with(b.tlv.iter().map(tlv_human).collect()),
                );
            }
        }
        Content::Ldif(l) => {
            n.push(Node::field("entries", l.entries));
            n.push(
                Node::new("attributes").with(l.attributes.iter().map(|(a, c)| Node::field(a, c)).collect()),
            );
            let shown = if l.entries > l.dns.len() {
                format!("first {} dn", l.dns.len())
            } else {
                "dn".into()
            };
            n.push(Node::new(shown).with(l.dns.iter().map(Node::new).collect()));
        }
    }
    n
}

fn tlv_human(t: &TlvNode) -> Node {
    let mut line = t.tag.clone();
    if let Some(name) = t.name {
        let _ = write!(line, " {name}");
    }
    let _ = write!(line, " [{}]", t.length);
    if let Some(f) = t.length_form {
        let _ = write!(line, " ({f} length)");
    }
    if t.encapsulated {
        line.push_str(" encapsulates:");
    } else if let Some(text) = &t.text {
        let _ = write!(line, ": {}", printable_line(text));
    } else if let Some(v) = t.value.as_ref().filter(|v| !v.is_empty()) {
        let bytes = hex::decode(v).unwrap_or_default();
        let _ = write!(line, ": {}", short_hex(&bytes));
    }
    Node::new(line).with(t.children.iter().map(tlv_human).collect())
}

fn printable_line(s: &str) -> String {
    const MAX: usize = 120;
    let clean: String = s.chars().map(|c| if c.is_control() { '.' } else { c }).collect();
    if clean.chars().count() > MAX {
        format!("{}…", clean.chars().take(MAX).collect::<String>())
    } else {
        clean
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
    fn tlv_tree_descends_into_encapsulated_der() {
        // 30 { 04 { 30 { 02 01 05 } } }
        let b = hex::decode("3007040530030201 05".replace(' ', "")).unwrap();
        let t = tlv_tree(&b).unwrap();
        let oct = &t[0].children[0];
        assert!(oct.encapsulated);
        assert_eq!(oct.children[0].children[0].text.as_deref(), Some("5"));
        assert!(tlv_tree(&[0x30, 0x05, 0x01]).is_err());
        assert_eq!(tlv_tree(&[0x04, 0x01, 0x41, 0x00, 0x00]).unwrap().len(), 1);
    }

    #[test]
    fn oid_and_integer_text() {
        assert_eq!(
            primitive_text(0x06, &hex::decode("2A864886F70D010702").unwrap()).as_deref(),
            Some("1.2.840.113549.1.7.2 (signedData)")
        );
        assert_eq!(primitive_text(0x02, &[0xFF]).as_deref(), Some("-1"));
        assert_eq!(primitive_text(0x02, &[0x01, 0x00]).as_deref(), Some("256"));
    }

    #[test]
    fn unknown_content_is_an_error_with_a_hint() {
        let e = inspect_bytes(b"\xFF\xFF\xFF", None, None).unwrap_err();
        assert!(format!("{e:#}").contains("cannot tell what kind of file this is"));
        assert!(inspect_bytes(b"", None, None).is_err());
    }

    #[test]
    fn ldif_summary_counts_entries() {
        let l = ldif_summary(b"version: 1\n\ndn: c=DE,o=ml\nobjectClass: top\npkdMasterListContent:: MA==\n\ndn:: Yz1OTA==\nobjectClass: top\n");
        assert_eq!(l.entries, 2);
        assert_eq!(l.dns, vec!["c=DE,o=ml", "c=NL"]);
        assert_eq!(
            l.attributes,
            vec![("objectClass".into(), 2), ("pkdMasterListContent".into(), 1)]
        );
    }
}

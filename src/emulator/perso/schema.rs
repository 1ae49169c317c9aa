//! The TOML schema of personalisation: the `[sign]`, `[ca]`, `[dg2]`, `[dg11]`, `[dg12]`,
//! `[[tamper]]` and `[expect]` tables, `base` profiles, and the names their values take.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::lds::LdsFile;
use crate::lds::security_infos::CipherSuite;
use crate::pki::signature::HashAlgorithm;

use super::{PersoError, invalid};
use crate::emulator::profile::{FileSource, ProfileToml};

/// `[sign]`: who signs EF.SOD and EF.CardSecurity, and how.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SignToml {
    /// The DSC (DER or PEM), relative to the profile.
    pub dsc: PathBuf,
    /// Its private key (PEM or DER, PKCS#8 or traditional), relative to the profile.
    pub key: PathBuf,
    /// Digest of the DG hashes and the CMS messageDigest: sha1, sha224, sha256 (default),
    /// sha384, sha512.
    #[serde(default)]
    pub digest: Option<String>,
    /// Signature: "rsassa-pss", "rsa-pkcs1", "ecdsa" (DER) or "ecdsa-plain" (r‖s).
    #[serde(default)]
    pub signature: Option<String>,
    /// LDS version "aabb" (EF.COM and, from "0108" on, a v1 LDSSecurityObject).
    #[serde(default)]
    pub lds_version: Option<String>,
    /// Unicode version "aabbcc" (default "040000").
    #[serde(default)]
    pub unicode_version: Option<String>,
    /// The signingTime attribute (RFC 3339), absent by default.
    #[serde(default)]
    pub signing_time: Option<String>,
    /// Write EF.CardSecurity (default: when the chip has PACE or a CA key).
    #[serde(default)]
    pub card_security: Option<bool>,
    /// Forgery: embed and name this certificate in EF.SOD while `key` signs (EF.CardSecurity
    /// keeps `dsc`).
    #[serde(default)]
    pub embed_dsc: Option<PathBuf>,
    /// Forgery: compute the DG hashes with this algorithm while the LDSSecurityObject
    /// names `digest`.
    #[serde(default)]
    pub dg_hashes_computed_with: Option<String>,
    /// Data groups left out of the LDSSecurityObject (present on the chip, not signed).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// EF.SOD's eContentType: "lds-security-object" (2.23.136.1.1.1, the default) or
    /// "id-data" (1.2.840.113549.1.7.1, as Chinese passports write it; the content and
    /// the signed content-type attribute stay an LDSSecurityObject's, typed id-data).
    #[serde(default)]
    pub econtent_type: Option<String>,
    /// The hash the SignerInfo's signatureAlgorithm names (ecdsa-with-SHA256, …) when it
    /// is not `digest`, the digestAlgorithm of the messageDigest attribute (default: the
    /// same). The signature is made over this hash, as the signatureAlgorithm says.
    #[serde(default)]
    pub signature_hash: Option<String>,
    /// How the SignerInfo names the DSC: "issuer-serial" (default, the certificate's
    /// issuer bytes), "issuer-serial-printable" (the issuer Name written anew with
    /// PrintableString values, as Ukrainian EF.SODs do: gmrtd #440) or "ski".
    #[serde(default)]
    pub sid: Option<String>,
}

/// `[ca]`: the Chip Authentication key published in DG14 (and EF.CardSecurity).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CaToml {
    /// Standardized domain parameter id of `ca_private_key` (0–2 DH, 8–18 EC).
    pub parameter_id: u32,
    /// Cipher of the ChipAuthenticationInfo: "3DES", "AES-128" (default), "AES-192",
    /// "AES-256".
    #[serde(default)]
    pub cipher: Option<String>,
    /// keyId (needed when a chip has several keys).
    #[serde(default)]
    pub key_id: Option<u64>,
    /// How the public key names its domain parameters: "explicit" (EC default, as most
    /// issued passports) or "standardized" (DH default).
    #[serde(default)]
    pub domain_parameters: Option<String>,
    /// Publish the ChipAuthenticationInfo beside the public key (default true). French
    /// passports publish only ChipAuthenticationPublicKeyInfo (gmrtd #9): a reader then
    /// takes the protocol from the key, with 3DES (CA version 1).
    #[serde(default)]
    pub info: Option<bool>,
    /// The ChipAuthenticationInfo's version: 1 (default), 2 (Chip Authentication v2,
    /// run after PACE and Terminal Authentication v2: EAC version 2) or 3 (published
    /// only: the emulator does not run CA v3, an eIDAS-token protocol).
    #[serde(default)]
    pub version: Option<u32>,
}

/// `[dg2]`: a face image to wrap as DG2 (ISO/IEC 19794-5 in a CBEFF group).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Dg2Toml {
    /// The image (JPEG, JP2 or J2K codestream), relative to the profile.
    pub face: PathBuf,
    /// Width in pixels (default: from the image header).
    #[serde(default)]
    pub width: Option<u16>,
    /// Height in pixels (default: from the image header).
    #[serde(default)]
    pub height: Option<u16>,
    /// Pad DG2 to exactly this many bytes, inside the image: a JPEG COM segment or a JP2
    /// `free` box, which decoders skip.
    #[serde(default)]
    pub pad_to: Option<usize>,
}

/// `[dg11]`: additional personal details (Doc 9303 Part 10 §4.7.11).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Dg11Toml {
    pub full_name: Option<String>,
    #[serde(default)]
    pub other_names: Vec<String>,
    pub personal_number: Option<String>,
    /// YYYYMMDD.
    pub full_date_of_birth: Option<String>,
    pub place_of_birth: Option<String>,
    pub address: Option<String>,
    pub telephone: Option<String>,
    pub profession: Option<String>,
    pub title: Option<String>,
    pub personal_summary: Option<String>,
    pub other_td_numbers: Option<String>,
    pub custody_information: Option<String>,
}

/// `[dg12]`: additional document details (Doc 9303 Part 10 §4.7.12).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Dg12Toml {
    pub issuing_authority: Option<String>,
    /// YYYYMMDD.
    pub date_of_issue: Option<String>,
    #[serde(default)]
    pub other_persons: Vec<String>,
    pub endorsements: Option<String>,
    pub tax_exit_requirements: Option<String>,
    /// YYYYMMDDhhmmss.
    pub personalisation_time: Option<String>,
    pub personalisation_device_serial: Option<String>,
}

/// A file added by `add_unsigned`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NamedFileSource {
    /// LDS file name (DG3, DG13, …).
    pub file: String,
    /// Content, hex.
    #[serde(default)]
    pub hex: Option<String>,
    /// Content, path relative to the profile.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

/// One `[[tamper]]` entry as written: exactly one action.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TamperToml {
    /// The file the action applies to.
    #[serde(default)]
    pub file: Option<String>,
    /// XOR 0x01 into the byte at this offset.
    #[serde(default)]
    pub flip_byte: Option<usize>,
    /// With `offset`: overwrite bytes from there.
    #[serde(default)]
    pub replace_hex: Option<String>,
    /// Offset of `replace_hex`.
    #[serde(default)]
    pub offset: Option<usize>,
    /// Replace the whole file (hex).
    #[serde(default)]
    pub hex: Option<String>,
    /// Replace the whole file (path relative to the profile).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Replace DG1 by one holding this MRZ.
    #[serde(default)]
    pub mrz: Option<String>,
    /// Keep only the first bytes.
    #[serde(default)]
    pub truncate: Option<usize>,
    /// Remove the file from the chip (a data group stays hashed in the SOD and listed in
    /// EF.COM unless `drop_from_com`).
    #[serde(default)]
    pub remove: Option<bool>,
    /// With `remove`: take the data group's tag out of EF.COM too.
    #[serde(default)]
    pub drop_from_com: Option<bool>,
    /// Put a file on the chip that the SOD does not cover (listed in EF.COM).
    #[serde(default)]
    pub add_unsigned: Option<NamedFileSource>,
    /// Replace EF.COM's tag list (hex, one byte per data group).
    #[serde(default)]
    pub com_tags: Option<String>,
    /// With a change to a data group: write its new hash into the SOD's
    /// LDSSecurityObject (without re-signing: the signature then fails).
    #[serde(default)]
    pub update_sod_hash: Option<bool>,
    /// Flip the last byte of the EF.SOD signature.
    #[serde(default)]
    pub sod_signature_flip: Option<bool>,
    /// Flip the last byte of the EF.CardSecurity signature.
    #[serde(default)]
    pub card_security_signature_flip: Option<bool>,
    /// The chip signs Active Authentication with this key, not the one DG15 holds.
    #[serde(default)]
    pub chip_aa_private_key: Option<FileSource>,
    /// The chip's Chip Authentication / PACE-CAM key (hex), not the one published.
    #[serde(default)]
    pub chip_ca_private_key: Option<String>,
}

/// `[expect]`: what verification should say (ignored by the chip, read by tests).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// "VALID", "INVALID" or "INDETERMINATE".
    pub verdict: String,
    /// `emrtd verify` exit code.
    pub exit: i32,
    /// Check ids expected to fail (INVALID) or to be indeterminate (INDETERMINATE).
    #[serde(default)]
    pub failing: Vec<String>,
    /// `emrtd read --emulator` exit code (default 0).
    #[serde(default)]
    pub read_exit: Option<i32>,
    /// The terminal credentials `read` and `verify` are given (`--eac-chain`, paths
    /// relative to the profile); the expectation holds with them.
    #[serde(default)]
    pub eac_chain: Vec<String>,
    /// With `eac_chain`: `--eac-key` (a path relative to the profile).
    #[serde(default)]
    pub eac_key: Option<String>,
}

impl Expect {
    pub(super) fn validate(&self) -> Result<(), PersoError> {
        let want = match self.verdict.as_str() {
            "VALID" => 0,
            "INVALID" => 1,
            "INDETERMINATE" => 3,
            other => {
                return Err(invalid(
                    "expect.verdict",
                    format!("{other:?} is not VALID, INVALID or INDETERMINATE"),
                ));
            }
        };
        if self.exit != want && self.exit != 2 {
            return Err(invalid(
                "expect.exit",
                format!(
                    "{} does not go with {} (exit {want}, or 2)",
                    self.exit, self.verdict
                ),
            ));
        }
        if self.verdict != "VALID" && self.failing.is_empty() {
            return Err(invalid("expect.failing", "name the check(s) that fail"));
        }
        if self.eac_chain.is_empty() != self.eac_key.is_none() {
            return Err(invalid("expect.eac_key", "eac_chain and eac_key go together"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// base profiles

/// Keys a derived profile never inherits from its base.
const NOT_INHERITED: [&str; 4] = ["name", "description", "expect", "base"];

fn merge(base: &mut toml::Table, derived: toml::Table) {
    for (k, v) in derived {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(d)) => merge(b, d),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Parse profile text, resolving `base = "other.toml"` (a file in the same directory,
/// up to 8 levels): the base's tables are merged key by key, other values (arrays of
/// tables included) replaced; `name`, `description` and `expect` are not inherited.
pub fn resolve_base(
    text: &str,
    dir: &Path,
    path: &Path,
) -> Result<(ProfileToml, Option<PathBuf>), crate::emulator::ProfileError> {
    let toml_err = |source: toml::de::Error| crate::emulator::ProfileError::Toml {
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let mut table: toml::Table = toml::from_str(text).map_err(toml_err)?;
    let mut base_path = None;
    if let Some(b) = table.remove("base") {
        let full = base_table(&b, dir, 0)?;
        base_path = Some(full.0);
        let mut merged = full.1;
        merge(&mut merged, table);
        table = merged;
    }
    let raw = ProfileToml::deserialize(toml::Value::Table(table)).map_err(toml_err)?;
    Ok((raw, base_path))
}

fn base_table(
    value: &toml::Value,
    dir: &Path,
    depth: usize,
) -> Result<(PathBuf, toml::Table), crate::emulator::ProfileError> {
    let name = value.as_str().unwrap_or_default();
    let path = dir.join(name);
    let err = |what: String| {
        crate::emulator::ProfileError::Perso(PersoError::Base {
            path: path.clone(),
            what,
        })
    };
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(err(
            "`base` is the file name of a profile in the same directory".into()
        ));
    }
    if depth >= 8 {
        return Err(err("more than 8 levels of `base` (a cycle?)".into()));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read: {e}")))?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| err(format!("{e}")))?;
    let parent = table.remove("base");
    for k in NOT_INHERITED {
        table.remove(k);
    }
    match parent {
        Some(p) => {
            let (_, mut merged) = base_table(&p, dir, depth + 1)?;
            merge(&mut merged, table);
            Ok((path, merged))
        }
        None => Ok((path, table)),
    }
}

// ---------------------------------------------------------------------------------
// settings

/// What [`Profile::from_toml`](crate::emulator::Profile::from_toml) hands over for personalisation.
#[derive(Debug, Clone, Default)]
pub struct PersoToml {
    /// `dg1_mrz`.
    pub dg1_mrz: Option<String>,
    /// `[sign]`.
    pub sign: Option<SignToml>,
    /// `[ca]`.
    pub ca: Option<CaToml>,
    /// `[dg2]`.
    pub dg2: Option<Dg2Toml>,
    /// `[dg11]`.
    pub dg11: Option<Dg11Toml>,
    /// `[dg12]`.
    pub dg12: Option<Dg12Toml>,
    /// `[[tamper]]`.
    pub tamper: Vec<TamperToml>,
    /// `[expect]`.
    pub expect: Option<Expect>,
}

impl PersoToml {
    /// Take the personalisation keys out of a parsed profile.
    pub fn from_profile_toml(raw: &ProfileToml) -> Self {
        PersoToml {
            dg1_mrz: raw.dg1_mrz.clone(),
            sign: raw.sign.clone(),
            ca: raw.ca.clone(),
            dg2: raw.dg2.clone(),
            dg11: raw.dg11.clone(),
            dg12: raw.dg12.clone(),
            tamper: raw.tamper.clone(),
            expect: raw.expect.clone(),
        }
    }
}

pub(super) fn hash_by_name(field: &'static str, name: &str) -> Result<HashAlgorithm, PersoError> {
    Ok(match name.to_ascii_lowercase().replace('-', "").as_str() {
        "sha1" => HashAlgorithm::Sha1,
        "sha224" => HashAlgorithm::Sha224,
        "sha256" => HashAlgorithm::Sha256,
        "sha384" => HashAlgorithm::Sha384,
        "sha512" => HashAlgorithm::Sha512,
        _ => {
            return Err(invalid(
                field,
                format!("unknown hash {name:?} (sha1, sha224, sha256, sha384, sha512)"),
            ));
        }
    })
}

pub(super) fn cipher_by_name(name: &str) -> Result<CipherSuite, PersoError> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "3DES" => CipherSuite::Tdes,
        "AES-128" => CipherSuite::Aes128,
        "AES-192" => CipherSuite::Aes192,
        "AES-256" => CipherSuite::Aes256,
        _ => {
            return Err(invalid(
                "ca.cipher",
                format!("unknown cipher {name:?} (3DES, AES-128, AES-192, AES-256)"),
            ));
        }
    })
}

pub(super) fn decode_hex(field: &'static str, h: &str) -> Result<Vec<u8>, PersoError> {
    let clean: String = h.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(clean).map_err(|e| invalid(field, format!("bad hex: {e}")))
}

pub(super) fn parse_file(field: &'static str, name: &str) -> Result<LdsFile, PersoError> {
    LdsFile::parse(name).ok_or_else(|| invalid(field, format!("unknown LDS file {name:?}")))
}

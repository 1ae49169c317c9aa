//! Personalisation of a booklet profile at load time: the issuer's side of Doc 9303.
//!
//! - Data groups built from simple TOML (Part 10 §4.7): DG1 from a second MRZ
//!   (`dg1_mrz`, a chip that disagrees with its data page), DG2 from a face image
//!   (ISO/IEC 19794-5 in CBEFF, padded to a size on request), DG11 and DG12 from tables,
//!   DG14 from the Chip Authentication key (Part 11 §9.2.5: ChipAuthenticationInfo and
//!   ChipAuthenticationPublicKeyInfo, the PACEInfos, the ActiveAuthenticationInfo of an
//!   ECDSA AA key);
//! - EF.SOD (Part 10 §4.6.2, Part 12 §9): the LDSSecurityObject (v0, or v1 with
//!   LDSVersionInfo) over the bytes of every data group present, in a CMS SignedData
//!   (eContentType `id-icao-mrtd-security-ldsSecurityObject` 2.23.136.1.1.1) signed by
//!   the `[sign]` DSC with the DSC embedded, wrapped in tag `77`;
//! - EF.CardSecurity (Part 11 §9.2.11, BSI TR-03110-3 A.1.2.2) for a chip with PACE or a
//!   CA key: its SecurityInfos (PACEInfos, CA infos) signed by the same DSC with
//!   eContentType `id-SecurityObject` 0.4.0.127.0.7.3.2.1;
//! - forgeries: `[[tamper]]` entries applied AFTER signing, and signing-time knobs
//!   (`[sign] embed_dsc`, `dg_hashes_computed_with`, `exclude`).
//!
//! Everything is a pure function of the profile and the files it names: signatures
//! are deterministic ([`crate::pki::fixtures::deterministic`]), signing times are given.
//!
//! ```toml
//! [sign]
//! dsc = "../keys/ut-dsc-valid.cer"        # relative to the profile
//! key = "../keys/ut-dsc-valid.key.pem"
//! digest = "sha256"                       # default sha256
//! signature = "rsassa-pss"                # default: ECDSA for an EC key; for RSA the
//!                                         # DSC's own convention (PSS if its CSCA signed
//!                                         # it with PSS, else PKCS#1 v1.5)
//! lds_version = "0108"                    # v1 LDSSecurityObject; default v0 (LDS 1.7)
//! signing_time = "2025-07-01T00:00:00Z"   # absent: no signingTime attribute
//! econtent_type = "id-data"               # EF.SOD typed id-data (Chinese passports);
//!                                         # default "lds-security-object"
//! signature_hash = "sha256"               # the signatureAlgorithm's hash when it is not
//!                                         # `digest` (Lithuanian EF.SODs); default digest
//! sid = "issuer-serial-printable"         # the SignerInfo's issuer rewritten in
//!                                         # PrintableString (Ukrainian EF.SODs); default
//!                                         # "issuer-serial", also "ski"
//!
//! [ca]                                    # Chip Authentication key in DG14/CardSecurity
//! parameter_id = 13                       # the curve/group of ca_private_key
//! cipher = "AES-128"
//! key_id = 1                              # needed beside a cam_private_key (the PACE-CAM
//!                                         # key, published with keyId = PACE parameterId)
//!
//! [dg2]
//! face = "data/face.jp2"                  # JPEG or JPEG 2000; width/height from the header
//! pad_to = 20000                          # DG2 size, padded inside the image container
//!
//! [dg11]
//! full_name = "SPECIMEN<<ANNA"
//! [dg12]
//! issuing_authority = "UTOPIA PASSPORT OFFICE"
//! date_of_issue = "20250701"
//!
//! [[tamper]]                              # after signing
//! file = "DG2"
//! flip_byte = 1234
//!
//! [expect]                                # ignored by the chip; read by tests
//! verdict = "INVALID"
//! exit = 1
//! failing = ["pa.dg_hash.DG2"]
//! ```

use std::path::{Path, PathBuf};

use openssl::pkey::{Id, PKey, Private};
use serde::Deserialize;
use thiserror::Error;
use time::OffsetDateTime;

use crate::access::aa::{AaHash, AaSigner};
use crate::cms::sign::{self as cms_sign, SidForm, SignRequest};
use crate::lds::LdsFile;
use crate::lds::security_infos::{
    ActiveAuthenticationInfo, AlgorithmIdentifier, CaProtocol, ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo, CipherSuite, SecurityInfo, SecurityInfos, SubjectPublicKeyInfo,
};
use crate::pki::cert::Certificate;
use crate::pki::fixtures::deterministic;
use crate::pki::signature::{HashAlgorithm, PssParams, SignatureAlgorithm};
use crate::tlv;

use super::profile::{FileSource, Profile, ProfileToml};

pub mod booklets;

/// Why a profile could not be personalised.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PersoError {
    /// A file the profile names could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The `[sign]` key does not load.
    #[error("[sign] key {path}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// The `[sign]` DSC (or `embed_dsc`) does not parse.
    #[error("[sign] certificate {path}")]
    Certificate {
        /// The certificate file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: Box<crate::pki::cert::CertError>,
    },
    /// A setting has a value this tool does not know.
    #[error("{field}: {what}")]
    Invalid {
        /// The TOML key.
        field: &'static str,
        /// What is wrong.
        what: String,
    },
    /// A `[[tamper]]` entry is inconsistent or does not fit the files.
    #[error("[[tamper]] entry {index}: {what}")]
    Tamper {
        /// 0-based index of the entry.
        index: usize,
        /// What is wrong.
        what: String,
    },
    /// A `base` profile could not be used.
    #[error("base profile {path}: {what}")]
    Base {
        /// The base profile.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Building a data group failed.
    #[error("building {file}")]
    Lds {
        /// The file.
        file: String,
        /// Cause.
        #[source]
        source: crate::lds::LdsError,
    },
    /// The Chip Authentication key does not fit its domain parameters.
    #[error("chip authentication key")]
    CaKey(#[source] crate::access::pace::PaceError),
    /// CMS signing failed.
    #[error("signing")]
    Sign(#[from] cms_sign::SignError),
    /// openssl failed.
    #[error("openssl")]
    Crypto(#[from] openssl::error::ErrorStack),
}

fn invalid(field: &'static str, what: impl Into<String>) -> PersoError {
    PersoError::Invalid {
        field,
        what: what.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, PersoError> {
    std::fs::read(path).map_err(|source| PersoError::Read {
        path: path.to_path_buf(),
        source,
    })
}

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
    fn validate(&self) -> Result<(), PersoError> {
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

/// A resolved tamper action.
#[derive(Debug, Clone)]
pub enum TamperAction {
    /// XOR 0x01 at `offset`.
    FlipByte {
        /// Offset.
        offset: usize,
    },
    /// Overwrite from `offset`.
    Replace {
        /// Offset.
        offset: usize,
        /// New bytes.
        bytes: Vec<u8>,
    },
    /// New content.
    Content(Vec<u8>),
    /// Keep the first bytes.
    Truncate(usize),
    /// Remove the file.
    Remove {
        /// Take its tag out of EF.COM.
        drop_from_com: bool,
    },
    /// Add an unsigned file.
    AddUnsigned(Vec<u8>),
    /// EF.COM tag list.
    ComTags(Vec<u8>),
    /// Flip the SOD signature.
    SodSignatureFlip,
    /// Flip the CardSecurity signature.
    CardSecuritySignatureFlip,
    /// Chip AA key.
    ChipAaKey(Box<AaSigner>),
    /// Chip CA key (scalar or exponent).
    ChipCaKey(zeroize::Zeroizing<Vec<u8>>),
}

/// One `[[tamper]]` entry, resolved.
#[derive(Debug, Clone)]
pub struct Tamper {
    /// The file acted on (None for chip keys).
    pub file: Option<LdsFile>,
    /// What is done.
    pub action: TamperAction,
    /// Rewrite the data group's hash in the SOD afterwards.
    pub update_sod_hash: bool,
}

/// The personalisation settings a profile was built with.
#[derive(Debug, Clone, Default)]
pub struct Personalisation {
    /// The base profile this one was derived from (`base = "…"`).
    pub base: Option<PathBuf>,
    /// The DSC that signed (when `[sign]` was given).
    pub dsc: Option<Vec<u8>>,
    /// The signature algorithm used.
    pub signature: Option<SignatureAlgorithm>,
    /// LDS version written to EF.COM.
    pub lds_version: Option<String>,
    /// Tampering applied after signing.
    pub tamper: Vec<Tamper>,
    /// What verification should say.
    pub expect: Option<Expect>,
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
) -> Result<(ProfileToml, Option<PathBuf>), super::ProfileError> {
    let toml_err = |source: toml::de::Error| super::ProfileError::Toml {
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
) -> Result<(PathBuf, toml::Table), super::ProfileError> {
    let name = value.as_str().unwrap_or_default();
    let path = dir.join(name);
    let err = |what: String| {
        super::ProfileError::Perso(PersoError::Base {
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

/// What [`Profile::from_toml`](super::Profile::from_toml) hands over for personalisation.
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

fn hash_by_name(field: &'static str, name: &str) -> Result<HashAlgorithm, PersoError> {
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

fn cipher_by_name(name: &str) -> Result<CipherSuite, PersoError> {
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

fn decode_hex(field: &'static str, h: &str) -> Result<Vec<u8>, PersoError> {
    let clean: String = h.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(clean).map_err(|e| invalid(field, format!("bad hex: {e}")))
}

fn parse_file(field: &'static str, name: &str) -> Result<LdsFile, PersoError> {
    LdsFile::parse(name).ok_or_else(|| invalid(field, format!("unknown LDS file {name:?}")))
}

/// Read a certificate in DER or PEM.
fn read_certificate(path: &Path) -> Result<Vec<u8>, PersoError> {
    let bytes = read(path)?;
    let der = if bytes.starts_with(b"-----BEGIN") {
        openssl::x509::X509::from_pem(&bytes)?.to_der()?
    } else {
        bytes
    };
    Certificate::from_der(&der).map_err(|e| PersoError::Certificate {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    Ok(der)
}

fn read_private_key(path: &Path) -> Result<PKey<Private>, PersoError> {
    let bytes = zeroize::Zeroizing::new(read(path)?);
    let key = if bytes.starts_with(b"-----BEGIN") {
        PKey::private_key_from_pem(&bytes)
    } else {
        PKey::private_key_from_der(&bytes)
    };
    key.map_err(|source| PersoError::Key {
        path: path.to_path_buf(),
        source,
    })
}

/// The signature a DSC key makes by default: ECDSA (DER) for EC; for RSA the
/// convention of the DSC's own certificate (RSASSA-PSS with MGF1 and salt of the
/// digest's length when its CSCA signed it with PSS, else PKCS#1 v1.5).
pub fn default_signature(
    dsc: &Certificate,
    key: &PKey<Private>,
    digest: HashAlgorithm,
) -> SignatureAlgorithm {
    if key.id() == Id::EC {
        return SignatureAlgorithm::Ecdsa { hash: digest };
    }
    if dsc.signature_algorithm.oid == crate::pki::signature::oid::RSASSA_PSS {
        SignatureAlgorithm::RsaPss(PssParams {
            hash: digest,
            mgf1_hash: digest,
            salt_len: u32::try_from(digest.output_len()).unwrap_or(32),
            trailer_field: 1,
        })
    } else {
        SignatureAlgorithm::RsaPkcs1 { hash: digest }
    }
}

fn signature_by_name(name: &str, digest: HashAlgorithm) -> Result<SignatureAlgorithm, PersoError> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "rsassa-pss" | "pss" => SignatureAlgorithm::RsaPss(PssParams {
            hash: digest,
            mgf1_hash: digest,
            salt_len: u32::try_from(digest.output_len()).unwrap_or(32),
            trailer_field: 1,
        }),
        "rsa-pkcs1" | "pkcs1" => SignatureAlgorithm::RsaPkcs1 { hash: digest },
        "ecdsa" => SignatureAlgorithm::Ecdsa { hash: digest },
        "ecdsa-plain" => SignatureAlgorithm::EcdsaPlain { hash: digest },
        _ => {
            return Err(invalid(
                "sign.signature",
                format!("unknown signature {name:?} (rsassa-pss, rsa-pkcs1, ecdsa, ecdsa-plain)"),
            ));
        }
    })
}

/// A resolved `[sign]`.
struct Signer {
    cert: Vec<u8>,
    embed: Vec<u8>,
    key: PKey<Private>,
    digest: HashAlgorithm,
    dg_hash: HashAlgorithm,
    alg: SignatureAlgorithm,
    lds_version: Option<String>,
    unicode_version: String,
    signing_time: Option<OffsetDateTime>,
    card_security: Option<bool>,
    exclude: Vec<LdsFile>,
    sod_econtent_type: crate::cms::Oid,
    sid: SidForm,
}

impl Signer {
    fn new(t: &SignToml, base: &Path) -> Result<Signer, PersoError> {
        let cert = read_certificate(&base.join(&t.dsc))?;
        let parsed = Certificate::from_der(&cert).map_err(|e| PersoError::Certificate {
            path: base.join(&t.dsc),
            source: Box::new(e),
        })?;
        let key = read_private_key(&base.join(&t.key))?;
        let digest = match &t.digest {
            Some(d) => hash_by_name("sign.digest", d)?,
            None => HashAlgorithm::Sha256,
        };
        let dg_hash = match &t.dg_hashes_computed_with {
            Some(d) => hash_by_name("sign.dg_hashes_computed_with", d)?,
            None => digest,
        };
        let signature_hash = match &t.signature_hash {
            Some(d) => hash_by_name("sign.signature_hash", d)?,
            None => digest,
        };
        let alg = match &t.signature {
            Some(s) => signature_by_name(s, signature_hash)?,
            None => default_signature(&parsed, &key, signature_hash),
        };
        let sid = match t.sid.as_deref() {
            None | Some("issuer-serial") => SidForm::IssuerAndSerial,
            Some("issuer-serial-printable") => SidForm::IssuerAndSerialPrintable,
            Some("ski") => SidForm::SubjectKeyIdentifier,
            Some(other) => {
                return Err(invalid(
                    "sign.sid",
                    format!("unknown form {other:?} (issuer-serial, issuer-serial-printable, ski)"),
                ));
            }
        };
        let embed = match &t.embed_dsc {
            Some(p) => read_certificate(&base.join(p))?,
            None => cert.clone(),
        };
        if let Some(v) = &t.lds_version
            && (v.len() != 4 || !v.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid(
                "sign.lds_version",
                format!("{v:?} is not four digits (\"0108\")"),
            ));
        }
        let unicode_version = t.unicode_version.clone().unwrap_or_else(|| "040000".into());
        if unicode_version.len() != 6 || !unicode_version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("sign.unicode_version", "six digits (\"040000\")"));
        }
        let signing_time = match &t.signing_time {
            Some(s) => Some(
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| invalid("sign.signing_time", format!("{s:?}: {e}")))?,
            ),
            None => None,
        };
        let exclude = t
            .exclude
            .iter()
            .map(|n| parse_file("sign.exclude", n))
            .collect::<Result<Vec<_>, _>>()?;
        let sod_econtent_type = match t.econtent_type.as_deref() {
            None | Some("lds-security-object") => crate::cms::oid::ICAO_LDS_SECURITY_OBJECT,
            Some("id-data") => crate::cms::oid::DATA,
            Some(other) => {
                return Err(invalid(
                    "sign.econtent_type",
                    format!("unknown eContentType {other:?} (lds-security-object, id-data)"),
                ));
            }
        };
        Ok(Signer {
            cert,
            embed,
            key,
            digest,
            dg_hash,
            alg,
            lds_version: t.lds_version.clone(),
            unicode_version,
            signing_time,
            card_security: t.card_security,
            exclude,
            sod_econtent_type,
            sid,
        })
    }

    /// A SignedData over `econtent`, embedding `cert`.
    fn sign(
        &self,
        econtent_type: crate::cms::Oid,
        econtent: &[u8],
        cert: &[u8],
    ) -> Result<Vec<u8>, PersoError> {
        let key = &self.key;
        Ok(cms_sign::sign_with(
            &SignRequest {
                econtent_type,
                econtent,
                signer_cert: cert,
                digest: self.digest,
                alg: self.alg,
                signing_time: self.signing_time,
                embed_signer: true,
                extra_certs: vec![],
                sid: self.sid,
            },
            |alg, tbs| deterministic::sign(alg, key, tbs),
        )?)
    }
}

// ---------------------------------------------------------------------------------
// data groups

fn lds_err(file: &str) -> impl FnOnce(crate::lds::LdsError) -> PersoError + '_ {
    move |source| PersoError::Lds {
        file: file.to_owned(),
        source,
    }
}

/// DG2 from a face image, optionally padded to `pad_to` bytes.
pub fn build_dg2(
    image: &[u8],
    width: Option<u16>,
    height: Option<u16>,
    pad_to: Option<usize>,
) -> Result<Vec<u8>, PersoError> {
    use crate::lds::face::{FaceImageDataType, encode_dg2_19794};
    use crate::lds::image::{self, ImageFormat};
    let format = image::detect(image).ok_or_else(|| invalid("dg2.face", "neither JPEG nor JPEG 2000"))?;
    let image_type = match format {
        ImageFormat::Jpeg => FaceImageDataType::Jpeg,
        ImageFormat::Jp2 | ImageFormat::J2k => FaceImageDataType::Jpeg2000,
        other => {
            return Err(invalid(
                "dg2.face",
                format!("{other:?} is not a face image format of ISO/IEC 19794-5"),
            ));
        }
    };
    let (w, h) = match (width, height) {
        (Some(w), Some(h)) => (w, h),
        _ => {
            let d =
                image::dimensions(image).map_err(|e| invalid("dg2.face", format!("no dimensions: {e}")))?;
            (
                width.unwrap_or(u16::try_from(d.width).unwrap_or(u16::MAX)),
                height.unwrap_or(u16::try_from(d.height).unwrap_or(u16::MAX)),
            )
        }
    };
    let encode = |img: &[u8]| encode_dg2_19794(img, image_type, w, h).map_err(lds_err("DG2"));
    let plain = encode(image)?;
    let Some(target) = pad_to else {
        return Ok(plain);
    };
    if target < plain.len() {
        return Err(invalid(
            "dg2.pad_to",
            format!(
                "{target} is smaller than the unpadded DG2 ({} bytes)",
                plain.len()
            ),
        ));
    }
    // the length fields grow with the padding: converge in a few steps
    let mut pad = target - plain.len();
    for _ in 0..8 {
        let padded = pad_image(image, format, pad)?;
        let dg2 = encode(&padded)?;
        match dg2.len().cmp(&target) {
            std::cmp::Ordering::Equal => return Ok(dg2),
            std::cmp::Ordering::Greater => pad = pad.saturating_sub(dg2.len() - target),
            std::cmp::Ordering::Less => pad += target - dg2.len(),
        }
    }
    Err(invalid(
        "dg2.pad_to",
        format!("cannot pad DG2 to exactly {target} bytes"),
    ))
}

/// `image` with about `pad` more bytes that decoders skip: JPEG COM segments after
/// SOI (ISO/IEC 10918-1 B.2.4.5), a JP2 `free` box at the end (ISO/IEC 15444-1 I.4: a
/// reader ignores boxes it does not know), a J2K COM marker segment after SIZ's end
/// is not attempted (codestream padding is refused).
fn pad_image(
    image: &[u8],
    format: crate::lds::image::ImageFormat,
    pad: usize,
) -> Result<Vec<u8>, PersoError> {
    use crate::lds::image::ImageFormat;
    if pad == 0 {
        return Ok(image.to_vec());
    }
    match format {
        ImageFormat::Jpeg => {
            let (soi, rest) = image
                .split_at_checked(2)
                .ok_or_else(|| invalid("dg2.face", "short JPEG"))?;
            let mut out = soi.to_vec();
            let mut left = pad;
            while left > 0 {
                // a segment is at least 4 bytes (marker + length); 65535 at most
                let seg = left.clamp(4, 65_535 + 2);
                let body = seg - 4;
                out.extend_from_slice(&[0xFF, 0xFE]);
                out.extend_from_slice(&u16::try_from(body + 2).unwrap_or(u16::MAX).to_be_bytes());
                out.extend(std::iter::repeat_n(0u8, body));
                left = left.saturating_sub(seg);
            }
            out.extend_from_slice(rest);
            Ok(out)
        }
        ImageFormat::Jp2 => {
            let len = pad.max(8);
            let mut out = image.to_vec();
            out.extend_from_slice(
                &u32::try_from(len)
                    .map_err(|_| invalid("dg2.pad_to", "too large"))?
                    .to_be_bytes(),
            );
            out.extend_from_slice(b"free");
            out.extend(std::iter::repeat_n(0u8, len - 8));
            Ok(out)
        }
        _ => Err(invalid("dg2.pad_to", "padding needs a JPEG or JP2 face")),
    }
}

/// DG11 from its table (tag list written).
pub fn build_dg11(t: &Dg11Toml) -> Vec<u8> {
    use crate::lds::dg11::Dg11;
    use crate::lds::quirk::DateField;
    let mut d = Dg11 {
        full_name: t.full_name.clone(),
        other_names: t.other_names.clone(),
        personal_number: t.personal_number.clone(),
        full_date_of_birth: t.full_date_of_birth.as_deref().map(DateField::ascii),
        place_of_birth: t.place_of_birth.clone(),
        address: t.address.clone(),
        telephone: t.telephone.clone(),
        profession: t.profession.clone(),
        title: t.title.clone(),
        personal_summary: t.personal_summary.clone(),
        other_td_numbers: t.other_td_numbers.clone(),
        custody_information: t.custody_information.clone(),
        ..Dg11::default()
    };
    d.update_tag_list();
    d.encode()
}

/// DG12 from its table (tag list written).
pub fn build_dg12(t: &Dg12Toml) -> Vec<u8> {
    use crate::lds::dg12::Dg12;
    use crate::lds::quirk::DateField;
    let mut d = Dg12 {
        issuing_authority: t.issuing_authority.clone(),
        date_of_issue: t.date_of_issue.as_deref().map(DateField::ascii),
        other_persons: t.other_persons.clone(),
        endorsements: t.endorsements.clone(),
        tax_exit_requirements: t.tax_exit_requirements.clone(),
        personalisation_time: t.personalisation_time.as_deref().map(DateField::ascii),
        personalisation_device_serial: t.personalisation_device_serial.clone(),
        ..Dg12::default()
    };
    d.update_tag_list();
    d.encode()
}

/// The curve of a standardized EC domain parameter id (Doc 9303 Part 11 Table 4).
fn standardized_curve(id: u32) -> Option<&'static str> {
    Some(match id {
        8 => "secp192r1",
        9 => "brainpoolP192r1",
        10 => "secp224r1",
        11 => "brainpoolP224r1",
        12 => "secp256r1",
        13 => "brainpoolP256r1",
        14 => "brainpoolP320r1",
        15 => "secp384r1",
        16 => "brainpoolP384r1",
        17 => "brainpoolP512r1",
        18 => "secp521r1",
        _ => return None,
    })
}

/// The ChipAuthenticationPublicKeyInfo's key for private key `sk` on standardized
/// domain parameters `ca.parameter_id`.
pub fn ca_public_key(ca: &CaToml, sk: &[u8]) -> Result<(bool, SubjectPublicKeyInfo), PersoError> {
    use crate::access::pace::{DomainParams, Element, PrivateKey};
    let params = DomainParams::standardized(ca.parameter_id).map_err(PersoError::CaKey)?;
    let sk = PrivateKey::from_bytes(sk).map_err(PersoError::CaKey)?;
    let public = params
        .multiply(&params.generator().map_err(PersoError::CaKey)?, sk.as_bn())
        .map_err(PersoError::CaKey)?;
    let ecdh = params.is_ec();
    let form = ca
        .domain_parameters
        .as_deref()
        .unwrap_or(if ecdh { "explicit" } else { "standardized" });
    let key_bytes = match &public {
        Element::Ec(_) => params.encode(&public).map_err(PersoError::CaKey)?,
        Element::Dh(y) => crate::lds::security_infos::asn1::encode_unsigned(&y.to_vec()),
    };
    let algorithm = match form {
        "standardized" => AlgorithmIdentifier::standardized(ca.parameter_id),
        "explicit" if ecdh => {
            let curve = standardized_curve(ca.parameter_id)
                .and_then(crate::pki::keys::curve_by_name)
                .ok_or_else(|| invalid("ca.parameter_id", "no named curve for this id"))?;
            AlgorithmIdentifier {
                oid: crate::lds::security_infos::oid::ID_EC_PUBLIC_KEY,
                parameters: Some(crate::pki::keys::explicit_parameters_der(curve)?),
            }
        }
        other => {
            return Err(invalid(
                "ca.domain_parameters",
                format!("{other:?} (\"explicit\" for EC keys, or \"standardized\")"),
            ));
        }
    };
    Ok((ecdh, SubjectPublicKeyInfo::new(algorithm, key_bytes)))
}

/// SecurityInfos as DER: a SET OF, elements in DER order (X.690 §11.6).
fn sorted_infos(infos: Vec<SecurityInfo>) -> SecurityInfos {
    let mut infos = infos;
    infos.sort_by_key(SecurityInfo::encode);
    SecurityInfos::from_infos(infos)
}

/// The Chip Authentication infos of `[ca]` for private key `sk`.
fn ca_infos(sk: &[u8], ca: &CaToml) -> Result<Vec<SecurityInfo>, PersoError> {
    let (ecdh, spki) = ca_public_key(ca, sk)?;
    let cipher = cipher_by_name(ca.cipher.as_deref().unwrap_or("AES-128"))?;
    let version = ca.version.unwrap_or(1);
    // version 3 only publishes the info (a chip the reader must report as offering a
    // version it does not run); the emulator runs versions 1 and 2
    if !matches!(version, 1..=3) {
        return Err(invalid("ca.version", format!("{version} is not 1, 2 or 3")));
    }
    let mut infos = vec![SecurityInfo::ChipAuthenticationPublicKey(
        ChipAuthenticationPublicKeyInfo::new(ecdh, spki, ca.key_id),
    )];
    if ca.info != Some(false) {
        infos.insert(
            0,
            SecurityInfo::ChipAuthentication(ChipAuthenticationInfo::new(
                CaProtocol { ecdh, cipher },
                version,
                ca.key_id,
            )),
        );
    }
    Ok(infos)
}

/// The ChipAuthenticationPublicKeyInfo of a separate PACE-CAM key (`cam_private_key`):
/// on the curve of `[ca]`, with keyId = the parameterId of the PACE-CAM entry (BSI
/// TR-03110-3 A.1.1.1) and no ChipAuthenticationInfo (it serves PACE-CAM only). `[ca]`
/// then needs its own keyId, another one: with two keys every structure carries one
/// (A.1.1.2).
fn cam_key_info(
    cam_sk: &[u8],
    ca: &CaToml,
    pace: &[super::profile::PaceEntry],
) -> Result<SecurityInfo, PersoError> {
    let entry = pace
        .iter()
        .find(|p| p.mapping.eq_ignore_ascii_case("ECDH-CAM"))
        .ok_or_else(|| invalid("cam_private_key", "no [[pace]] entry with mapping ECDH-CAM"))?;
    if entry.parameter_id != ca.parameter_id {
        return Err(invalid(
            "cam_private_key",
            format!(
                "the PACE-CAM entry's parameter_id {} differs from [ca] parameter_id {}",
                entry.parameter_id, ca.parameter_id
            ),
        ));
    }
    let key_id = u64::from(entry.parameter_id);
    if ca.key_id.is_none_or(|k| k == key_id) {
        return Err(invalid(
            "ca.key_id",
            format!("with cam_private_key, [ca] needs a keyId other than the CAM key's ({key_id})"),
        ));
    }
    let (ecdh, spki) = ca_public_key(ca, cam_sk)?;
    Ok(SecurityInfo::ChipAuthenticationPublicKey(
        ChipAuthenticationPublicKeyInfo::new(ecdh, spki, Some(key_id)),
    ))
}

fn profile_ca_key(profile: &Profile) -> Result<&[u8], PersoError> {
    profile
        .ca_private_key
        .as_deref()
        .ok_or_else(|| invalid("ca", "[ca] needs ca_private_key"))
}

fn pace_infos(pace: &[super::profile::PaceEntry]) -> Result<Vec<SecurityInfo>, PersoError> {
    use crate::lds::security_infos::PaceInfo;
    pace.iter()
        .map(|e| {
            e.protocol()
                .map(|p| SecurityInfo::Pace(PaceInfo::new(p, Some(e.parameter_id))))
                .map_err(|err| invalid("pace", err.to_string()))
        })
        .collect()
}

/// Generate the data groups the personalisation tables ask for (before EF.COM, DG1
/// and DG15 are generated and before signing).
pub fn build_data_groups(profile: &mut Profile, t: &PersoToml, base: &Path) -> Result<(), PersoError> {
    if let Some(mrz) = &t.dg1_mrz
        && !profile.files.contains_key(&LdsFile::Dg(1))
    {
        let dg1 =
            crate::lds::dg1::Dg1::from_mrz(&super::profile::normalise_mrz(mrz)).map_err(lds_err("DG1"))?;
        profile.files.insert(LdsFile::Dg(1), dg1.encode());
    }
    if let Some(d) = &t.dg2
        && !profile.files.contains_key(&LdsFile::Dg(2))
    {
        let image = read(&base.join(&d.face))?;
        profile
            .files
            .insert(LdsFile::Dg(2), build_dg2(&image, d.width, d.height, d.pad_to)?);
    }
    if let Some(d) = &t.dg11 {
        profile
            .files
            .entry(LdsFile::Dg(11))
            .or_insert_with(|| build_dg11(d));
    }
    if let Some(d) = &t.dg12 {
        profile
            .files
            .entry(LdsFile::Dg(12))
            .or_insert_with(|| build_dg12(d));
    }
    if let Some(ca) = &t.ca
        && !profile.files.contains_key(&LdsFile::Dg(14))
    {
        let dg14 = build_dg14(
            ca,
            profile_ca_key(profile)?,
            profile.cam_private_key.as_deref(),
            &profile.pace,
            profile.aa.as_ref(),
        )?;
        profile.files.insert(LdsFile::Dg(14), dg14);
    }
    Ok(())
}

/// DG14 (Doc 9303 Part 10 §4.7.14): the Chip Authentication infos of `ca` for the
/// private key `ca_private_key` (and of a separate PACE-CAM key), the PACEInfos of
/// `pace`, and the ActiveAuthenticationInfo of an ECDSA `aa` key; DER SET order.
pub fn build_dg14(
    ca: &CaToml,
    ca_private_key: &[u8],
    cam_private_key: Option<&[u8]>,
    pace: &[super::profile::PaceEntry],
    aa: Option<&AaSigner>,
) -> Result<Vec<u8>, PersoError> {
    let mut infos = ca_infos(ca_private_key, ca)?;
    if let Some(cam) = cam_private_key {
        infos.push(cam_key_info(cam, ca, pace)?);
    }
    infos.extend(pace_infos(pace)?);
    if let Some(aa) = aa.filter(|a| !a.is_rsa()) {
        let hash = aa
            .hash()
            .or_else(|| aa.ec_order_bits().map(AaHash::for_order_bits))
            .unwrap_or(AaHash::Sha256);
        infos.push(SecurityInfo::ActiveAuthentication(ActiveAuthenticationInfo::new(
            hash.ecdsa_plain_oid(),
        )));
    }
    Ok(sorted_infos(infos).encode_dg14())
}

// ---------------------------------------------------------------------------------
// signing

/// The LDSSecurityObject (Doc 9303 Part 10 §4.6.2.2) naming `hash_alg` over `hashes`.
pub fn lds_security_object(
    hash_alg: HashAlgorithm,
    hashes: &[(u8, Vec<u8>)],
    version_info: Option<(&str, &str)>,
) -> Vec<u8> {
    use crate::cms::asn1;
    let alg = asn1::encode_seq(&[&asn1::encode_oid(&hash_alg.oid())]);
    let groups: Vec<Vec<u8>> = hashes
        .iter()
        .map(|(n, h)| {
            asn1::encode_seq(&[
                &asn1::encode_small_uint(u64::from(*n)),
                &tlv::encode(asn1::tag::OCTET_STRING, h),
            ])
        })
        .collect();
    let list = tlv::encode(asn1::tag::SEQUENCE, &groups.concat());
    match version_info {
        Some((lds, unicode)) => {
            let info = asn1::encode_seq(&[
                &tlv::encode(asn1::tag::PRINTABLE_STRING, lds.as_bytes()),
                &tlv::encode(asn1::tag::PRINTABLE_STRING, unicode.as_bytes()),
            ]);
            asn1::encode_seq(&[&asn1::encode_small_uint(1), &alg, &list, &info])
        }
        None => asn1::encode_seq(&[&asn1::encode_small_uint(0), &alg, &list]),
    }
}

/// The LDS version of a profile's EF.COM (`[sign] lds_version`, default "0107").
pub fn lds_version_of(t: &PersoToml) -> Option<String> {
    t.sign.as_ref().and_then(|s| s.lds_version.clone())
}

/// Sign EF.SOD and EF.CardSecurity with `[sign]` (after all files are generated).
pub fn sign(profile: &mut Profile, t: &PersoToml, base: &Path) -> Result<(), PersoError> {
    let Some(st) = &t.sign else {
        return Ok(());
    };
    let signer = Signer::new(st, base)?;
    if !profile.files.contains_key(&LdsFile::Sod) {
        let mut hashes = Vec::new();
        for (file, bytes) in &profile.files {
            if let LdsFile::Dg(n) = file
                && !signer.exclude.contains(file)
            {
                hashes.push((*n, signer.dg_hash.digest(bytes)));
            }
        }
        hashes.sort_by_key(|(n, _)| *n);
        if hashes.len() < 2 {
            return Err(invalid(
                "sign",
                "the LDSSecurityObject needs at least two data group hashes (Doc 9303 Part 10 §4.6.2.2)",
            ));
        }
        let lds_version = signer.lds_version.as_deref().filter(|v| *v >= "0108");
        let so = lds_security_object(
            signer.digest,
            &hashes,
            lds_version.map(|v| (v, signer.unicode_version.as_str())),
        );
        let cms = signer.sign(signer.sod_econtent_type, &so, &signer.embed)?;
        profile.files.insert(LdsFile::Sod, tlv::encode(0x77, &cms));
    }
    let has_pace = !profile.pace.is_empty();
    let has_ca = t.ca.is_some() && profile.ca_private_key.is_some();
    let wanted = signer.card_security.unwrap_or(has_pace || has_ca);
    if wanted && !profile.files.contains_key(&LdsFile::CardSecurity) {
        let mut infos = pace_infos(&profile.pace)?;
        if let (Some(ca), true) = (&t.ca, has_ca) {
            infos.extend(ca_infos(profile_ca_key(profile)?, ca)?);
            if let Some(cam) = profile.cam_private_key.as_deref() {
                infos.push(cam_key_info(cam, ca, &profile.pace)?);
            }
        }
        if infos.is_empty() {
            return Err(invalid("sign.card_security", "no PACE or CA infos to sign"));
        }
        let econtent = sorted_infos(infos).encode();
        let cms = signer.sign(crate::cms::oid::BSI_SECURITY_OBJECT, &econtent, &signer.cert)?;
        profile.files.insert(LdsFile::CardSecurity, cms);
    }
    profile.personalisation.dsc = Some(signer.cert.clone());
    profile.personalisation.signature = Some(signer.alg);
    Ok(())
}

// ---------------------------------------------------------------------------------
// tampering

fn resolve_tamper(
    index: usize,
    t: &TamperToml,
    profile: &Profile,
    base: &Path,
) -> Result<Tamper, PersoError> {
    let bad = |what: &str| PersoError::Tamper {
        index,
        what: what.to_owned(),
    };
    let file = match &t.file {
        Some(n) => Some(LdsFile::parse(n).ok_or_else(|| bad(&format!("unknown LDS file {n:?}")))?),
        None => None,
    };
    let actions = [
        t.flip_byte.is_some(),
        t.replace_hex.is_some(),
        t.hex.is_some() || t.path.is_some(),
        t.mrz.is_some(),
        t.truncate.is_some(),
        t.remove == Some(true),
        t.add_unsigned.is_some(),
        t.com_tags.is_some(),
        t.sod_signature_flip == Some(true),
        t.card_security_signature_flip == Some(true),
        t.chip_aa_private_key.is_some(),
        t.chip_ca_private_key.is_some(),
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        return Err(bad("give exactly one action"));
    }
    if t.offset.is_some() && t.replace_hex.is_none() {
        return Err(bad("`offset` goes with `replace_hex`"));
    }
    if t.drop_from_com.is_some() && t.remove != Some(true) {
        return Err(bad("`drop_from_com` goes with `remove`"));
    }
    let need_file = || file.ok_or_else(|| bad("this action needs `file`"));
    let (file, action) = if let Some(offset) = t.flip_byte {
        (Some(need_file()?), TamperAction::FlipByte { offset })
    } else if let Some(h) = &t.replace_hex {
        let bytes = decode_hex("tamper.replace_hex", h)?;
        let offset = t.offset.ok_or_else(|| bad("`replace_hex` needs `offset`"))?;
        (Some(need_file()?), TamperAction::Replace { offset, bytes })
    } else if t.hex.is_some() || t.path.is_some() {
        let bytes = match (&t.hex, &t.path) {
            (Some(h), None) => decode_hex("tamper.hex", h)?,
            (None, Some(p)) => read(&base.join(p))?,
            _ => return Err(bad("give one of `hex` or `path`")),
        };
        (Some(need_file()?), TamperAction::Content(bytes))
    } else if let Some(mrz) = &t.mrz {
        if file.is_some_and(|f| f != LdsFile::Dg(1)) {
            return Err(bad("`mrz` replaces DG1"));
        }
        let dg1 =
            crate::lds::dg1::Dg1::from_mrz(&super::profile::normalise_mrz(mrz)).map_err(lds_err("DG1"))?;
        (Some(LdsFile::Dg(1)), TamperAction::Content(dg1.encode()))
    } else if let Some(n) = t.truncate {
        (Some(need_file()?), TamperAction::Truncate(n))
    } else if t.remove == Some(true) {
        (
            Some(need_file()?),
            TamperAction::Remove {
                drop_from_com: t.drop_from_com == Some(true),
            },
        )
    } else if let Some(a) = &t.add_unsigned {
        if file.is_some() {
            return Err(bad("`add_unsigned` names its own file"));
        }
        let f = parse_file("tamper.add_unsigned.file", &a.file)?;
        let bytes = match (&a.hex, &a.path) {
            (Some(h), None) => decode_hex("tamper.add_unsigned.hex", h)?,
            (None, Some(p)) => read(&base.join(p))?,
            _ => return Err(bad("`add_unsigned` needs one of `hex` or `path`")),
        };
        (Some(f), TamperAction::AddUnsigned(bytes))
    } else if let Some(tags) = &t.com_tags {
        (
            Some(LdsFile::Com),
            TamperAction::ComTags(decode_hex("tamper.com_tags", tags)?),
        )
    } else if t.sod_signature_flip == Some(true) {
        (Some(LdsFile::Sod), TamperAction::SodSignatureFlip)
    } else if t.card_security_signature_flip == Some(true) {
        (
            Some(LdsFile::CardSecurity),
            TamperAction::CardSecuritySignatureFlip,
        )
    } else if let Some(src) = &t.chip_aa_private_key {
        let bytes = zeroize::Zeroizing::new(match (&src.hex, &src.path) {
            (Some(h), None) => decode_hex("tamper.chip_aa_private_key", h)?,
            (None, Some(p)) => read(&base.join(p))?,
            _ => return Err(bad("`chip_aa_private_key` needs one of `hex` or `path`")),
        });
        let mut signer =
            AaSigner::from_pem_or_der(&bytes).map_err(|e| bad(&format!("chip_aa_private_key: {e}")))?;
        if let Some(h) = profile.aa.as_ref().and_then(AaSigner::hash) {
            signer = signer.with_hash(h);
        }
        (None, TamperAction::ChipAaKey(Box::new(signer)))
    } else if let Some(h) = &t.chip_ca_private_key {
        (
            None,
            TamperAction::ChipCaKey(zeroize::Zeroizing::new(decode_hex(
                "tamper.chip_ca_private_key",
                h,
            )?)),
        )
    } else {
        return Err(bad("give exactly one action"));
    };
    let update_sod_hash = t.update_sod_hash == Some(true);
    if update_sod_hash
        && !(matches!(file, Some(LdsFile::Dg(_)))
            && matches!(
                action,
                TamperAction::FlipByte { .. }
                    | TamperAction::Replace { .. }
                    | TamperAction::Content(_)
                    | TamperAction::Truncate(_)
            ))
    {
        return Err(bad("`update_sod_hash` goes with a change to a data group"));
    }
    Ok(Tamper {
        file,
        action,
        update_sod_hash,
    })
}

/// Flip the last byte of the (first) signature of the SignedData in `bytes`.
fn flip_signature(bytes: &mut [u8], what: &str, index: usize) -> Result<(), PersoError> {
    let bad = |w: String| PersoError::Tamper { index, what: w };
    let content = match tlv::parse(bytes) {
        Ok(t) if t.tag == 0x77 => t.value,
        Ok(_) => &*bytes,
        Err(e) => return Err(bad(format!("{what} does not parse: {e}"))),
    };
    let sd = crate::cms::SignedData::parse(content).map_err(|e| bad(format!("{what}: {e}")))?;
    let sig = sd
        .signer_infos
        .first()
        .map(|s| s.signature.clone())
        .ok_or_else(|| bad(format!("{what} has no SignerInfo")))?;
    let pos = find_last(bytes, &sig).ok_or_else(|| bad(format!("{what}: signature not found")))?;
    let last = pos + sig.len() - 1;
    let b = bytes
        .get_mut(last)
        .ok_or_else(|| bad(format!("{what}: signature out of range")))?;
    *b ^= 0x01;
    Ok(())
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len())
        .rev()
        .find(|&i| hay.get(i..i + needle.len()) == Some(needle))
}

fn find_first(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay.get(i..i + needle.len()) == Some(needle))
}

/// Change EF.COM's tag list (when the chip has an EF.COM).
fn edit_com(profile: &mut Profile, index: usize, edit: impl FnOnce(&mut Vec<u8>)) -> Result<(), PersoError> {
    let Some(bytes) = profile.files.get(&LdsFile::Com) else {
        return Ok(());
    };
    let mut com = crate::lds::com::Com::decode(bytes).map_err(|e| PersoError::Tamper {
        index,
        what: format!("EF.COM does not decode: {e}"),
    })?;
    edit(&mut com.tag_list);
    profile.files.insert(LdsFile::Com, com.encode());
    Ok(())
}

/// Apply the `[[tamper]]` entries in order, after signing.
pub fn apply_tampers(profile: &mut Profile, t: &PersoToml, base: &Path) -> Result<(), PersoError> {
    for (index, entry) in t.tamper.iter().enumerate() {
        let tamper = resolve_tamper(index, entry, profile, base)?;
        apply(profile, &tamper, index)?;
        profile.personalisation.tamper.push(tamper);
    }
    Ok(())
}

fn apply(profile: &mut Profile, tamper: &Tamper, index: usize) -> Result<(), PersoError> {
    let bad = |what: String| PersoError::Tamper { index, what };
    let file = tamper.file;
    let before = file.and_then(|f| profile.files.get(&f).cloned());
    let existing = |p: &mut Profile| -> Result<LdsFile, PersoError> {
        let f = file.ok_or_else(|| bad("no file".into()))?;
        if p.files.contains_key(&f) {
            Ok(f)
        } else {
            Err(bad(format!("{} is not on the chip", f.name())))
        }
    };
    match &tamper.action {
        TamperAction::FlipByte { offset } => {
            let f = existing(profile)?;
            let b = profile
                .files
                .get_mut(&f)
                .and_then(|v| v.get_mut(*offset))
                .ok_or_else(|| bad(format!("offset {offset} is past the end of {}", f.name())))?;
            *b ^= 0x01;
        }
        TamperAction::Replace { offset, bytes } => {
            let f = existing(profile)?;
            let content = profile.files.get_mut(&f).ok_or_else(|| bad("no file".into()))?;
            let end = offset
                .checked_add(bytes.len())
                .filter(|e| *e <= content.len())
                .ok_or_else(|| bad(format!("replacement runs past the end of {}", f.name())))?;
            if let Some(dst) = content.get_mut(*offset..end) {
                dst.copy_from_slice(bytes);
            }
        }
        TamperAction::Content(bytes) => {
            let f = existing(profile)?;
            profile.files.insert(f, bytes.clone());
        }
        TamperAction::Truncate(n) => {
            let f = existing(profile)?;
            if let Some(v) = profile.files.get_mut(&f) {
                if *n >= v.len() {
                    return Err(bad(format!("{} is only {} bytes", f.name(), v.len())));
                }
                v.truncate(*n);
            }
        }
        TamperAction::Remove { drop_from_com } => {
            let f = existing(profile)?;
            profile.files.remove(&f);
            if *drop_from_com && let Some(tag) = f.tag().and_then(|t| u8::try_from(t).ok()) {
                edit_com(profile, index, |list| list.retain(|t| *t != tag))?;
            }
        }
        TamperAction::AddUnsigned(bytes) => {
            let f = file.ok_or_else(|| bad("no file".into()))?;
            if profile.files.contains_key(&f) {
                return Err(bad(format!("{} is already on the chip", f.name())));
            }
            profile.files.insert(f, bytes.clone());
            if let (LdsFile::Dg(_), Some(tag)) = (f, f.tag().and_then(|t| u8::try_from(t).ok())) {
                edit_com(profile, index, |list| {
                    if !list.contains(&tag) {
                        list.push(tag);
                    }
                })?;
            }
        }
        TamperAction::ComTags(tags) => {
            existing(profile)?;
            edit_com(profile, index, |list| *list = tags.clone())?;
        }
        TamperAction::SodSignatureFlip | TamperAction::CardSecuritySignatureFlip => {
            let f = existing(profile)?;
            if let Some(v) = profile.files.get_mut(&f) {
                flip_signature(v, &f.name(), index)?;
            }
        }
        TamperAction::ChipAaKey(signer) => profile.aa = Some((**signer).clone()),
        TamperAction::ChipCaKey(k) => profile.ca_private_key = Some(k.to_vec()),
    }
    if tamper.update_sod_hash {
        let (Some(LdsFile::Dg(n)), Some(old)) = (file, before) else {
            return Err(bad(
                "`update_sod_hash` needs a data group that was on the chip".into()
            ));
        };
        let sod_bytes = profile
            .files
            .get(&LdsFile::Sod)
            .ok_or_else(|| bad("no EF.SOD to update".into()))?;
        let sod = crate::lds::sod::decode(sod_bytes).map_err(|e| bad(format!("EF.SOD: {e}")))?;
        let alg = sod.hash_algorithm().map_err(|e| bad(format!("EF.SOD: {e}")))?;
        let old_hash = alg.digest(&old);
        if sod.dg_hash(n) != Some(old_hash.as_slice()) {
            return Err(bad(format!("EF.SOD does not hold DG{n}'s hash")));
        }
        let new = profile.files.get(&LdsFile::Dg(n)).cloned().unwrap_or_default();
        let new_hash = alg.digest(&new);
        let sod_bytes = profile
            .files
            .get_mut(&LdsFile::Sod)
            .ok_or_else(|| bad("no EF.SOD".into()))?;
        let pos = find_first(sod_bytes, &old_hash).ok_or_else(|| bad("hash not found in EF.SOD".into()))?;
        if let Some(dst) = sod_bytes.get_mut(pos..pos + new_hash.len()) {
            dst.copy_from_slice(&new_hash);
        }
    }
    Ok(())
}

/// Check the `[expect]` table (verdict and exit code agree, failing checks named).
pub fn check_expect(t: &PersoToml) -> Result<(), PersoError> {
    match &t.expect {
        Some(e) => e.validate(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booklets_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/booklets")
    }

    const MRZ: &str = "mrz = \"\"\"\nP<UTOSPECIMEN<<BAC<BOOKLET<<<<<<<<<<<<<<<<<<\nUTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02\n\"\"\"\n";

    fn profile(extra_head: &str, tables: &str) -> Result<Profile, super::super::ProfileError> {
        let text = format!(
            "name = \"t\"\n{MRZ}{extra_head}\n[files]\nDG2 = {{ path = \"data/specimen-dg2.bin\" }}\n\n\
             [sign]\ndsc = \"../keys/ut-dsc-old.cer\"\nkey = \"../keys/ut-dsc-old.key.pem\"\n{tables}"
        );
        Profile::parse(&text, &booklets_dir())
    }

    fn sod(p: &Profile) -> crate::lds::sod::Sod {
        crate::lds::sod::decode(&p.files[&LdsFile::Sod]).unwrap()
    }

    #[test]
    fn sod_v0_by_default_v1_with_an_lds_version() {
        let p = profile("", "").unwrap();
        let s = sod(&p);
        assert_eq!(s.lds_security_object.version, 0);
        assert!(s.lds_version_info().is_none());
        assert_eq!(s.dg_numbers(), vec![1, 2]);
        assert!(
            s.signer_infos()[0]
                .signed_attrs
                .as_ref()
                .unwrap()
                .signing_time
                .is_none()
        );
        // ut-dsc-old was signed with PKCS#1 v1.5: so is the SOD
        assert_eq!(
            s.signer_infos()[0].signature_algorithm.oid.to_string(),
            "1.2.840.113549.1.1.11"
        );
        let p = profile(
            "",
            "lds_version = \"0108\"\nsigning_time = \"2024-03-01T09:00:00Z\"\n",
        )
        .unwrap();
        let s = sod(&p);
        assert_eq!(s.lds_security_object.version, 1);
        let info = s.lds_version_info().unwrap();
        assert_eq!(
            (info.lds_version.as_str(), info.unicode_version.as_str()),
            ("0108", "040000")
        );
        assert!(
            s.signer_infos()[0]
                .signed_attrs
                .as_ref()
                .unwrap()
                .signing_time
                .is_some()
        );
        let com = crate::lds::com::Com::decode(&p.files[&LdsFile::Com]).unwrap();
        assert_eq!(com.lds_version.unwrap().raw, "0108");
        // the same inputs give the same bytes
        assert_eq!(
            p.files,
            profile(
                "",
                "lds_version = \"0108\"\nsigning_time = \"2024-03-01T09:00:00Z\"\n"
            )
            .unwrap()
            .files
        );
    }

    #[test]
    fn signing_time_forgery_knobs() {
        let p = profile("", "dg_hashes_computed_with = \"sha1\"\n").unwrap();
        let s = sod(&p);
        assert_eq!(
            s.hash_algorithm().unwrap(),
            crate::lds::sod::HashAlgorithm::Sha256
        );
        assert_eq!(s.dg_hash(1).unwrap().len(), 20);
        let dg1_mrz = format!(
            "dg1_mrz = \"\"\"\n{:<<44}\nUTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02\n\"\"\"\n",
            "P<UTOSPECIMEN<<OTHER"
        );
        let p = profile(&dg1_mrz, "").unwrap();
        let dg1 = crate::lds::dg1::Dg1::decode(&p.files[&LdsFile::Dg(1)]).unwrap();
        assert!(dg1.mrz.contains("OTHER"));
        // at least two hashes: excluding DG2 leaves one
        assert!(matches!(
            profile("", "exclude = [\"DG2\"]\n"),
            Err(super::super::ProfileError::Perso(PersoError::Invalid {
                field: "sign",
                ..
            }))
        ));
        assert!(profile("", "digest = \"md5\"\n").is_err());
        assert!(profile("", "signature = \"dsa\"\n").is_err());
        assert!(profile("", "lds_version = \"1.8\"\n").is_err());
        assert!(profile("", "signing_time = \"yesterday\"\n").is_err());
    }

    #[test]
    fn tamper_entries_need_exactly_one_action_that_fits() {
        let t = |body: &str| profile("", &format!("\n[[tamper]]\n{body}"));
        let tamper_err = |r: Result<Profile, super::super::ProfileError>| {
            matches!(
                r,
                Err(super::super::ProfileError::Perso(PersoError::Tamper { .. }))
            )
        };
        assert!(tamper_err(t("file = \"DG2\"\nflip_byte = 1\ntruncate = 3\n")));
        assert!(tamper_err(t("file = \"DG2\"\n")));
        assert!(tamper_err(t("flip_byte = 1\n")));
        assert!(tamper_err(t("file = \"DG2\"\nflip_byte = 99999\n")));
        assert!(tamper_err(t("file = \"DG3\"\nflip_byte = 1\n")));
        assert!(tamper_err(t("file = \"DG2\"\nreplace_hex = \"00\"\n")));
        assert!(tamper_err(t(
            "file = \"EF.COM\"\nflip_byte = 1\nupdate_sod_hash = true\n"
        )));
        assert!(tamper_err(t(
            "file = \"DG2\"\ndrop_from_com = true\nflip_byte = 1\n"
        )));
        assert!(tamper_err(t("add_unsigned = { file = \"DG2\", hex = \"00\" }\n")));
        // one byte flipped, nothing else changed
        let base = profile("", "").unwrap();
        let p = t("file = \"DG2\"\nflip_byte = 100\n").unwrap();
        let (a, b) = (&base.files[&LdsFile::Dg(2)], &p.files[&LdsFile::Dg(2)]);
        assert_eq!(a.iter().zip(b).filter(|(x, y)| x != y).count(), 1);
        assert_eq!(a[100] ^ b[100], 0x01);
        assert_eq!(base.files[&LdsFile::Sod], p.files[&LdsFile::Sod]);
        // with update_sod_hash the SOD holds the new hash and its signature breaks
        let p = t("file = \"DG2\"\nflip_byte = 100\nupdate_sod_hash = true\n").unwrap();
        let s = sod(&p);
        let alg = s.hash_algorithm().unwrap();
        assert_eq!(s.dg_hash(2).unwrap(), alg.digest(&p.files[&LdsFile::Dg(2)]));
        let cms = crate::tlv::parse(&p.files[&LdsFile::Sod]).unwrap().value.to_vec();
        let sd = crate::cms::SignedData::parse(&cms).unwrap();
        let cert = sd.signer_certificate(&sd.signer_infos[0]).unwrap().to_vec();
        assert!(crate::cms::verify_signer_with_certificate(&sd, &sd.signer_infos[0], &cert).is_err());
        // the signature flip: one byte, and the signature fails
        let p = t("sod_signature_flip = true\n").unwrap();
        let (a, b) = (&base.files[&LdsFile::Sod], &p.files[&LdsFile::Sod]);
        assert_eq!(a.iter().zip(b).filter(|(x, y)| x != y).count(), 1);
        let cms = crate::tlv::parse(b).unwrap().value.to_vec();
        let sd = crate::cms::SignedData::parse(&cms).unwrap();
        assert!(crate::cms::verify_signer_with_certificate(&sd, &sd.signer_infos[0], &cert).is_err());
        // remove keeps EF.COM unless asked; add_unsigned lists the new group
        let com_tags = |p: &Profile| {
            crate::lds::com::Com::decode(&p.files[&LdsFile::Com])
                .unwrap()
                .tag_list
        };
        let p = t("file = \"DG2\"\nremove = true\n").unwrap();
        assert!(!p.files.contains_key(&LdsFile::Dg(2)));
        assert_eq!(com_tags(&p), vec![0x61, 0x75]);
        let p = t("file = \"DG2\"\nremove = true\ndrop_from_com = true\n").unwrap();
        assert_eq!(com_tags(&p), vec![0x61]);
        let p = t("add_unsigned = { file = \"DG13\", hex = \"6D00\" }\n").unwrap();
        assert_eq!(com_tags(&p), vec![0x61, 0x75, 0x6D]);
        assert_eq!(sod(&p).dg_numbers(), vec![1, 2]);
        let p = t("com_tags = \"6175636B\"\n").unwrap();
        assert_eq!(com_tags(&p), vec![0x61, 0x75, 0x63, 0x6B]);
    }

    #[test]
    fn base_profiles_merge_tables_and_keep_their_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let data = booklets_dir().join("data/specimen-dg2.bin");
        std::fs::write(
            dir.path().join("b.toml"),
            format!(
                "name = \"base\"\ndescription = \"d\"\n{MRZ}can = \"111111\"\n[chip]\nmax_read = 200\nextended_length = false\n\
                 [files]\nDG2 = {{ path = {:?} }}\n[expect]\nverdict = \"VALID\"\nexit = 0\n",
                data.display().to_string()
            ),
        )
        .unwrap();
        let p = Profile::parse(
            "base = \"b.toml\"\nname = \"derived\"\n[chip]\nmax_read = 100\n",
            dir.path(),
        )
        .unwrap();
        assert_eq!(p.name, "derived");
        assert_eq!(p.can.as_deref(), Some("111111"));
        assert_eq!(p.chip.max_read, 100);
        assert!(!p.chip.extended_length, "merged, not replaced");
        assert!(p.personalisation.expect.is_none(), "[expect] is not inherited");
        assert_eq!(p.personalisation.base, Some(dir.path().join("b.toml")));
        // the base must be a sibling; a cycle ends
        assert!(Profile::parse("base = \"../b.toml\"\nname = \"x\"\n", dir.path()).is_err());
        std::fs::write(dir.path().join("c.toml"), "base = \"c.toml\"\nname = \"c\"\n").unwrap();
        assert!(Profile::parse("base = \"c.toml\"\nname = \"x\"\n", dir.path()).is_err());
        // from_toml cannot resolve it
        let raw: ProfileToml = toml::from_str(&format!("base = \"b.toml\"\nname = \"x\"\n{MRZ}")).unwrap();
        assert!(Profile::from_toml(raw, dir.path()).is_err());
    }

    #[test]
    fn dg2_is_padded_to_the_byte_and_still_decodes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (face, target) in [
            ("test-vectors/generated/face_gray.jpg", 30_000),
            ("test-vectors/generated/face_gray.jpg", 23_300),
            (
                "test-vectors/lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg",
                20_000,
            ),
            (
                "test-vectors/lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg",
                90_000,
            ),
        ] {
            let image = std::fs::read(root.join(face)).unwrap();
            let plain = build_dg2(&image, None, None, None).unwrap();
            let dg2 = build_dg2(&image, None, None, Some(target)).unwrap();
            assert_eq!(dg2.len(), target, "{face}");
            let images = crate::lds::extract::extract_file(LdsFile::Dg(2), &dg2).unwrap();
            let pixels = crate::lds::image::decode(&images[0].bytes).unwrap();
            assert_eq!((pixels.width, pixels.height), (413, 531), "{face}");
            assert!(build_dg2(&image, None, None, Some(plain.len() - 1)).is_err());
        }
        // width and height from the header unless given
        let image = std::fs::read(root.join("test-vectors/generated/face_gray.jp2")).unwrap();
        let dg2 = build_dg2(&image, Some(10), Some(20), None).unwrap();
        let g = crate::lds::biometric::decode_dg2(&dg2).unwrap();
        assert!(format!("{g:?}").contains("10"));
        assert!(build_dg2(b"not an image", None, None, None).is_err());
    }

    #[test]
    fn expect_tables_are_checked() {
        let e = |v: &str, exit: i32, failing: &[&str]| Expect {
            verdict: v.into(),
            exit,
            failing: failing.iter().map(|s| (*s).to_owned()).collect(),
            read_exit: None,
            eac_chain: Vec::new(),
            eac_key: None,
        };
        assert!(e("VALID", 0, &[]).validate().is_ok());
        let half = Expect {
            eac_key: Some("k.pem".into()),
            ..e("VALID", 0, &[])
        };
        assert!(half.validate().is_err());
        assert!(e("INVALID", 1, &["aa"]).validate().is_ok());
        assert!(e("INDETERMINATE", 3, &["pa.crl"]).validate().is_ok());
        assert!(e("INVALID", 2, &["access"]).validate().is_ok());
        assert!(e("INVALID", 0, &["aa"]).validate().is_err());
        assert!(e("INVALID", 1, &[]).validate().is_err());
        assert!(e("BROKEN", 1, &["aa"]).validate().is_err());
    }

    #[test]
    fn ca_public_key_matches_the_private_scalar() {
        use crate::access::pace::{DomainParams, PrivateKey};
        let sk = hex::decode("9999392E41DB7BFED9F4FE3CF07612B668AB92EC08134C3400C93CC95D87A54C").unwrap();
        for form in ["explicit", "standardized"] {
            let ca = CaToml {
                parameter_id: 13,
                cipher: None,
                key_id: Some(7),
                domain_parameters: Some(form.into()),
                info: None,
                version: None,
            };
            let (ecdh, spki) = ca_public_key(&ca, &sk).unwrap();
            assert!(ecdh);
            let params = DomainParams::from_spec(&spki.algorithm.domain_parameters().unwrap()).unwrap();
            let k = PrivateKey::from_bytes(&sk).unwrap();
            let public = params.multiply(&params.generator().unwrap(), k.as_bn()).unwrap();
            assert_eq!(params.encode(&public).unwrap(), spki.subject_public_key);
            let dg14 = build_dg14(&ca, &sk, None, &[], None).unwrap();
            let infos = SecurityInfos::decode_dg14(&dg14).unwrap();
            assert_eq!(
                infos.chip_authentication_public_keys().next().unwrap().key_id,
                Some(7)
            );
        }
        let dh = CaToml {
            parameter_id: 2,
            cipher: Some("3DES".into()),
            key_id: None,
            domain_parameters: None,
            info: None,
            version: None,
        };
        let (ecdh, spki) = ca_public_key(&dh, &sk).unwrap();
        assert!(!ecdh);
        assert_eq!(spki.subject_public_key[0], 0x02, "DH public key as DER INTEGER");
        let bad = CaToml {
            domain_parameters: Some("explicit".into()),
            ..dh
        };
        assert!(ca_public_key(&bad, &sk).is_err());
    }
}

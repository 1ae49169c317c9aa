//! Booklet profiles: the TOML files under `pkd-fixtures/booklets/` that personalise the
//! software chip (MRZ, CAN, file contents, chip capabilities, link model, faults).
//!
//! ```toml
//! name = "BAC booklet"
//! mrz = """
//! P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<
//! L898902C36UTO7408122F1204159ZE184226B<<<<<10
//! """
//! [chip]
//! extended_length = false
//! max_read = 223
//! # Active Authentication key (PEM/DER file or DER hex), hash (RSA: BC = SHA-1,
//! # "SHA-256" = trailer 34CC), ECDSA encoding ("plain" r||s or "der")
//! aa_private_key = { path = "keys/aa-rsa2048.pem" }
//! aa_hash = "SHA-256"
//! # Chip Authentication / PACE-CAM static private key (hex scalar or DH exponent);
//! # its public key belongs in DG14 / EF.CardSecurity
//! ca_private_key = "7984674CF3B3A524BF929CE8A67FCF22173DA0BAD595EED6DEB72D22C542FA9D"
//! [files]
//! DG2 = { path = "data/dg2.bin" }     # relative to the profile
//! DG13 = { hex = "6D03040100" }
//! ```
//!
//! DG1 is generated from the MRZ, DG15 (and for an EC key a DG14 with the
//! ActiveAuthenticationInfo) from the AA key, and EF.COM from the data groups present,
//! unless the profile gives them.
//!
//! Personalisation keys (see [`super::perso`]): `base = "other.toml"` (derive from a
//! sibling profile), `dg1_mrz`, `[sign]` (EF.SOD and EF.CardSecurity signed by a DSC),
//! `[ca]` (DG14 from `ca_private_key`), `[dg2]`, `[dg11]`, `[dg12]`, `[[tamper]]`
//! (forgeries applied after signing) and `[expect]` (the verdict tests expect). `[[faults]]` entries make a broken or hostile chip
//! (see [`super::fault`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::access::aa::{AaSigner, EcdsaEncoding};
use crate::asn1::signature::HashAlgorithm;
use crate::lds::LdsFile;

use super::perso;

pub use super::fault::Fault;

/// Errors loading a profile.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The profile file could not be read.
    #[error("cannot read profile {path}")]
    Read {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("invalid profile {path}")]
    Toml {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A file entry names no known LDS file.
    #[error(
        "unknown file name {name:?} in [files] (expected EF.COM, EF.SOD, DG1..DG16, EF.CardAccess, EF.CardSecurity, EF.ATR, EF.DIR)"
    )]
    UnknownFile {
        /// Name given.
        name: String,
    },
    /// A file entry's content could not be loaded.
    #[error("content of {file} in profile: {what}")]
    FileContent {
        /// The LDS file.
        file: String,
        /// What is wrong.
        what: String,
    },
    /// The profile's MRZ is unusable.
    #[error("profile MRZ: {what}")]
    Mrz {
        /// What is wrong.
        what: String,
    },
    /// Personalisation (signing, generated data groups, tampering) failed.
    #[error("profile personalisation")]
    Perso(#[from] perso::PersoError),
    /// A `[[faults]]` entry that does not fit the profile.
    #[error("invalid [[faults]] entry in the profile")]
    Fault(#[from] super::fault::FaultError),
    /// An inconsistent chip setting.
    #[error("profile chip settings: {what}")]
    Chip {
        /// What is wrong.
        what: String,
    },
}

/// How a chip answers a short READ BINARY whose Le exceeds what it returns per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OversizeLe {
    /// 6700 wrong length (most chips).
    #[default]
    WrongLength,
    /// Return `max_read` bytes with 9000.
    Truncate,
    /// 6Cxx with the exact length.
    CorrectLe,
}

/// Chip capabilities.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChipConfig {
    /// Accepts extended-length APDUs (advertised in the ATR historical bytes).
    pub extended_length: bool,
    /// Most plain data bytes returned by one READ BINARY.
    pub max_read: usize,
    /// Answer to a short Le above `max_read`.
    pub oversize_le: OversizeLe,
    /// Offers BAC.
    pub bac: bool,
    /// ATR to report (hex); generated from the capabilities when absent.
    pub atr: Option<String>,
    /// Advertise PACE in EF.CardAccess but refuse MSE:Set AT (6A80): a chip pushing
    /// the reader to BAC (a downgrade attack).
    pub refuse_pace: bool,
    /// Quirks of real chips (pkd-fixtures/booklets/quirk-*.toml; docs/quirks.md).
    pub quirks: ChipQuirks,
}

/// Behaviours real chips were reported to have (each with the report it comes from in
/// docs/quirks.md). All off by default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ChipQuirks {
    /// READ BINARY by short file identifier is answered with this status word (hex);
    /// files are served only after SELECT by file identifier.
    pub sfi_refused: Option<String>,
    /// Under secure messaging, a short READ BINARY whose Le exceeds this (Le `00` counts
    /// as 256) is answered with `le_limit_sw`.
    pub le_limit: Option<usize>,
    /// The status word for `le_limit` (hex; default 6700).
    pub le_limit_sw: Option<String>,
    /// With `le_limit`: the refusal also ends secure messaging (later protected commands
    /// get 6988 until the reader authenticates again).
    pub le_limit_ends_sm: bool,
    /// An extended-length command under secure messaging is answered with this status
    /// word in plain, unprotected, the chip's send sequence counter not advanced
    /// (although the ATR announces extended length).
    pub extended_plain_error: Option<String>,
    /// MSE:Set AT for PACE without the parameter reference (tag 84) is answered 6A87.
    pub pace_requires_parameter_ref: bool,
    /// SELECT and MSE:Set AT carrying an Le field are answered 6700.
    pub reject_le_on_select_and_mse: bool,
    /// INTERNAL AUTHENTICATE with an extended Le is answered 9000 without data.
    pub aa_extended_le_empty: bool,
    /// INTERNAL AUTHENTICATE with a short Le returns at most this many bytes of the
    /// signature, 9000 (a 256-byte RSA signature cut to 231).
    pub aa_short_le_max: Option<usize>,
    /// A READ BINARY asking past the end of the file gets the rest with 6282 ("end of
    /// file reached before Le bytes") instead of 9000.
    pub past_eof_6282: bool,
}

impl Default for ChipConfig {
    fn default() -> Self {
        ChipConfig {
            extended_length: true,
            max_read: 65536,
            oversize_le: OversizeLe::WrongLength,
            bac: true,
            atr: None,
            refuse_pace: false,
            quirks: ChipQuirks::default(),
        }
    }
}

/// The contactless link model (defaults of the benchmark issue).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkConfig {
    /// Bit rate in kbit/s, both directions.
    pub kbit_s: f64,
    /// Bit-times per byte on the air.
    pub bits_per_byte: f64,
    /// Fixed time per APDU exchange (reader, PC/SC, chip turnaround), ms.
    pub per_apdu_ms: f64,
    /// Chip time per elliptic-curve or DH scalar operation, ms.
    pub scalar_op_ms: f64,
    /// Chip time per RSA-2048 signature, ms.
    pub rsa_sign_ms: f64,
    /// Sleep for the modelled time (a slow chip in real time) instead of only counting it.
    pub realtime: bool,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            kbit_s: 424.0,
            bits_per_byte: 10.0,
            per_apdu_ms: 4.0,
            scalar_op_ms: 60.0,
            rsa_sign_ms: 200.0,
            realtime: false,
        }
    }
}

/// One PACEInfo the chip offers (`[[pace]]`); EF.CardAccess is written from these
/// unless the profile gives its own.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PaceEntry {
    /// A mapping's short name ([`PaceMapping::name`](crate::lds::security_infos::PaceMapping::name)):
    /// "ECDH-GM", "DH-GM", "ECDH-IM", "DH-IM" or "ECDH-CAM".
    pub mapping: String,
    /// "3DES", "AES-128", "AES-192" or "AES-256".
    pub cipher: String,
    /// Standardized domain parameter id (0–2, 8–18).
    pub parameter_id: u32,
}

impl PaceEntry {
    /// The PACE protocol it names.
    pub fn protocol(&self) -> Result<crate::lds::security_infos::PaceProtocol, ProfileError> {
        use crate::lds::security_infos::{CipherSuite, PaceMapping, PaceProtocol};
        let mapping = PaceMapping::from_name(&self.mapping).ok_or_else(|| {
            let names: Vec<&str> = PaceMapping::ALL.iter().map(|m| m.name()).collect();
            ProfileError::Chip {
                what: format!(
                    "unknown PACE mapping {:?} ({})",
                    self.mapping.to_ascii_uppercase(),
                    names.join(", ")
                ),
            }
        })?;
        let cipher = match self.cipher.to_ascii_uppercase().as_str() {
            "3DES" => CipherSuite::Tdes,
            "AES-128" => CipherSuite::Aes128,
            "AES-192" => CipherSuite::Aes192,
            "AES-256" => CipherSuite::Aes256,
            other => {
                return Err(ProfileError::Chip {
                    what: format!("unknown PACE cipher {other:?} (3DES, AES-128, AES-192, AES-256)"),
                });
            }
        };
        if mapping == PaceMapping::EcdhCam && cipher == CipherSuite::Tdes {
            return Err(ProfileError::Chip {
                what: "PACE-CAM is defined for AES only".into(),
            });
        }
        Ok(PaceProtocol { mapping, cipher })
    }
}

/// Where a file's bytes come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    /// Hex string.
    #[serde(default)]
    pub hex: Option<String>,
    /// Path, relative to the profile file.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

/// The profile as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileToml {
    /// Human name.
    pub name: String,
    /// Free text describing what the booklet is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The MRZ (two or three lines).
    pub mrz: String,
    /// Card access number, if the document has one.
    #[serde(default)]
    pub can: Option<String>,
    /// Chip capabilities.
    #[serde(default)]
    pub chip: ChipConfig,
    /// Link model.
    #[serde(default)]
    pub link: LinkConfig,
    /// Files by name.
    #[serde(default)]
    pub files: BTreeMap<String, FileSource>,
    /// Injected faults.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// PACEInfos offered.
    #[serde(default)]
    pub pace: Vec<PaceEntry>,
    /// The chip's static Chip Authentication private key (hex scalar), used for PACE-CAM
    /// and Chip Authentication; its public key belongs in EF.CardSecurity / DG14.
    #[serde(default)]
    pub ca_private_key: Option<String>,
    /// A second static key on the same domain parameters, used only for PACE-CAM (hex
    /// scalar). `[ca]` publishes its public key beside the Chip Authentication key with
    /// keyId = the parameterId of the PACE-CAM entry (BSI TR-03110-3 A.1.1.1) and no
    /// ChipAuthenticationInfo; Chip Authentication keeps `ca_private_key` (gmrtd PR #447).
    #[serde(default)]
    pub cam_private_key: Option<String>,
    /// The Active Authentication private key (RSA or EC), PEM or DER (PKCS#8 or
    /// traditional): `{ path = "keys/aa.pem" }` (relative to the profile) or
    /// `{ hex = "3082…" }` (DER). DG15 (and, for EC, a DG14 with the
    /// ActiveAuthenticationInfo) are generated from it when the profile gives none.
    #[serde(default)]
    pub aa_private_key: Option<FileSource>,
    /// Active Authentication hash: for RSA "SHA-1" (trailer BC, the default) or
    /// "SHA-224"/"SHA-256"/"SHA-384"/"SHA-512" (two-byte trailer, e.g. 34CC); for ECDSA it
    /// overrides what DG14's ActiveAuthenticationInfo names.
    #[serde(default)]
    pub aa_hash: Option<String>,
    /// ECDSA Active Authentication signature encoding: "plain" (r||s, the default) or "der".
    #[serde(default)]
    pub aa_ecdsa_encoding: Option<String>,
    /// A profile in the same directory this one derives from (resolved by
    /// [`Profile::load`] / [`Profile::parse`], see [`super::perso::resolve_base`]).
    #[serde(default)]
    pub base: Option<String>,
    /// DG1 holds this MRZ instead of `mrz` (a chip disagreeing with its data page).
    #[serde(default)]
    pub dg1_mrz: Option<String>,
    /// Sign EF.SOD (and EF.CardSecurity) with a DSC ([`super::perso`]).
    #[serde(default)]
    pub sign: Option<perso::SignToml>,
    /// Publish the Chip Authentication key in DG14 / EF.CardSecurity.
    #[serde(default)]
    pub ca: Option<perso::CaToml>,
    /// DG2 from a face image.
    #[serde(default)]
    pub dg2: Option<perso::Dg2Toml>,
    /// DG11 from a table.
    #[serde(default)]
    pub dg11: Option<perso::Dg11Toml>,
    /// DG12 from a table.
    #[serde(default)]
    pub dg12: Option<perso::Dg12Toml>,
    /// Forgeries applied after signing.
    #[serde(default)]
    pub tamper: Vec<perso::TamperToml>,
    /// What verification should conclude (not used by the chip).
    #[serde(default)]
    pub expect: Option<perso::Expect>,
    /// Extended Access Control: the chip's CVCA trust points, its date, the groups it
    /// protects.
    #[serde(default)]
    pub eac: Option<EacToml>,
}

/// `[eac]`: Extended Access Control on the chip (BSI TR-03110-1 §2.5, §3.3–3.5).
///
/// ```toml
/// [eac]
/// trust_points = ["../../eac/ut-cvca.cvcert"]  # CVCA certificates (relative to the profile)
/// date = "2026-01-15"                          # the chip's current date (TA moves it forward)
/// protect = ["DG3", "DG4"]                     # the default
/// ```
///
/// EF.CVCA (SFI 1C, FID 011C in the eMRTD application) names the trust points (the
/// newest two).
/// DG3/DG4 answer 6982 until Terminal Authentication granted them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EacToml {
    /// CVCA certificates (paths relative to the profile).
    pub trust_points: Vec<PathBuf>,
    /// The chip's current date, `YYYY-MM-DD`.
    pub date: String,
    /// The data groups that need Terminal Authentication (DG3, DG4).
    #[serde(default = "default_protect")]
    pub protect: Vec<String>,
}

fn default_protect() -> Vec<String> {
    vec!["DG3".into(), "DG4".into()]
}

/// The chip's EAC configuration, loaded.
#[derive(Debug, Clone)]
pub struct ChipEac {
    /// Trust points (CVCA certificates).
    pub trust_points: Vec<crate::pki::cvc::CvCertificate>,
    /// The chip's date.
    pub date: crate::pki::cvc::CvDate,
    /// Protected data groups (3 and/or 4).
    pub protect: Vec<u8>,
}

fn chip_eac(raw: &EacToml, base: &Path) -> Result<ChipEac, ProfileError> {
    let chip = |what: String| ProfileError::Chip { what };
    if raw.trust_points.is_empty() {
        return Err(chip(
            "[eac] trust_points: give at least one CVCA certificate".into(),
        ));
    }
    let mut trust_points = Vec::new();
    for p in &raw.trust_points {
        let full = base.join(p);
        let bytes = std::fs::read(&full)
            .map_err(|e| chip(format!("[eac] trust_points: cannot read {}: {e}", full.display())))?;
        let c = crate::pki::cvc::CvCertificate::from_der(&bytes)
            .map_err(|e| chip(format!("[eac] trust_points: {}: {e}", full.display())))?;
        if c.role() != crate::pki::cvc::Role::Cvca {
            return Err(chip(format!(
                "[eac] trust_points: {} is not a CVCA certificate",
                full.display()
            )));
        }
        trust_points.push(c);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(raw.date.trim(), &fmt)
        .map_err(|_| chip(format!("[eac] date {:?} is not YYYY-MM-DD", raw.date)))?;
    let date = crate::pki::cvc::CvDate::from_time(d.midnight().assume_utc());
    let mut protect = Vec::new();
    for name in &raw.protect {
        match LdsFile::parse(name) {
            Some(LdsFile::Dg(n @ (3 | 4))) => protect.push(n),
            _ => return Err(chip(format!("[eac] protect: {name:?} is neither DG3 nor DG4"))),
        }
    }
    Ok(ChipEac {
        trust_points,
        date,
        protect,
    })
}

/// A loaded profile: everything the chip needs, file bytes included.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Human name.
    pub name: String,
    /// Where it was loaded from.
    pub path: Option<PathBuf>,
    /// MRZ lines joined by '\n'.
    pub mrz: String,
    /// CAN.
    pub can: Option<String>,
    /// Chip capabilities.
    pub chip: ChipConfig,
    /// Link model.
    pub link: LinkConfig,
    /// File contents.
    pub files: BTreeMap<LdsFile, Vec<u8>>,
    /// Faults.
    pub faults: Vec<Fault>,
    /// PACEInfos offered.
    pub pace: Vec<PaceEntry>,
    /// Chip Authentication private key (scalar bytes).
    pub ca_private_key: Option<Vec<u8>>,
    /// The PACE-CAM key when it is not the Chip Authentication key (scalar bytes).
    pub cam_private_key: Option<Vec<u8>>,
    /// Active Authentication key and signing options.
    pub aa: Option<AaSigner>,
    /// How the profile was personalised (signer, tampering, expected verdict).
    pub personalisation: perso::Personalisation,
    /// Extended Access Control (`[eac]`).
    pub eac: Option<ChipEac>,
}

/// Load the Active Authentication signer of a profile.
fn aa_signer(raw: &ProfileToml, base: &Path) -> Result<Option<AaSigner>, ProfileError> {
    let chip = |what: String| ProfileError::Chip { what };
    let Some(src) = &raw.aa_private_key else {
        if raw.aa_hash.is_some() || raw.aa_ecdsa_encoding.is_some() {
            return Err(chip("aa_hash / aa_ecdsa_encoding need aa_private_key".into()));
        }
        return Ok(None);
    };
    let bytes = zeroize::Zeroizing::new(match (&src.hex, &src.path) {
        (Some(h), None) => {
            let clean: String = h.chars().filter(|c| !c.is_whitespace()).collect();
            hex::decode(clean).map_err(|e| chip(format!("aa_private_key: bad hex: {e}")))?
        }
        (None, Some(p)) => {
            let full = base.join(p);
            std::fs::read(&full)
                .map_err(|e| chip(format!("aa_private_key: cannot read {}: {e}", full.display())))?
        }
        _ => return Err(chip("aa_private_key: give exactly one of `hex` or `path`".into())),
    });
    let mut signer = AaSigner::from_pem_or_der(&bytes).map_err(|e| chip(format!("aa_private_key: {e}")))?;
    if let Some(h) = &raw.aa_hash {
        let hash = HashAlgorithm::from_name(h).ok_or_else(|| {
            chip(format!(
                "aa_hash: unknown hash {h:?} (SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, RIPEMD-160)"
            ))
        })?;
        signer = signer.with_hash(hash);
    }
    if let Some(e) = &raw.aa_ecdsa_encoding {
        let enc = match e.to_ascii_lowercase().as_str() {
            "plain" => EcdsaEncoding::Plain,
            "der" => EcdsaEncoding::Der,
            _ => {
                return Err(chip(format!(
                    "aa_ecdsa_encoding: {e:?} is neither \"plain\" nor \"der\""
                )));
            }
        };
        signer = signer.with_ecdsa_encoding(enc);
    }
    Ok(Some(signer))
}

/// Normalise MRZ text from a profile: trim each line, drop empty lines.
pub fn normalise_mrz(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Profile {
    /// Load and personalise from a TOML file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut p = Profile::parse_at(&text, base, path)?;
        p.path = Some(path.to_path_buf());
        Ok(p)
    }

    /// Parse and personalise profile text whose paths (and `base`) are relative to `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Profile, ProfileError> {
        Profile::parse_at(text, dir, &dir.join("<profile>"))
    }

    fn parse_at(text: &str, dir: &Path, path: &Path) -> Result<Profile, ProfileError> {
        let (raw, base_profile) = perso::resolve_base(text, dir, path)?;
        let mut p = Profile::from_toml(raw, dir)?;
        p.personalisation.base = base_profile;
        Ok(p)
    }

    /// Personalise from parsed TOML; file paths are relative to `base`. A `base` key
    /// needs [`Profile::load`] or [`Profile::parse`], which resolve it.
    pub fn from_toml(raw: ProfileToml, base: &Path) -> Result<Profile, ProfileError> {
        if raw.base.is_some() {
            return Err(ProfileError::Chip {
                what: "`base` is resolved by Profile::load or Profile::parse, not from_toml".into(),
            });
        }
        let perso_toml = perso::PersoToml::from_profile_toml(&raw);
        perso::check_expect(&perso_toml)?;
        let mrz = normalise_mrz(&raw.mrz);
        let mut files = BTreeMap::new();
        for (name, src) in &raw.files {
            let file =
                LdsFile::parse(name).ok_or_else(|| ProfileError::UnknownFile { name: name.clone() })?;
            let bytes = match (&src.hex, &src.path) {
                (Some(h), None) => {
                    let clean: String = h.chars().filter(|c| !c.is_whitespace()).collect();
                    hex::decode(clean).map_err(|e| ProfileError::FileContent {
                        file: file.name(),
                        what: format!("bad hex: {e}"),
                    })?
                }
                (None, Some(p)) => {
                    let full = base.join(p);
                    std::fs::read(&full).map_err(|e| ProfileError::FileContent {
                        file: file.name(),
                        what: format!("cannot read {}: {e}", full.display()),
                    })?
                }
                _ => {
                    return Err(ProfileError::FileContent {
                        file: file.name(),
                        what: "give exactly one of `hex` or `path`".into(),
                    });
                }
            };
            files.insert(file, bytes);
        }
        if raw.chip.max_read == 0 {
            return Err(ProfileError::Chip {
                what: "max_read must be at least 1".into(),
            });
        }
        if !raw.chip.extended_length && raw.chip.max_read > crate::apdu::MAX_SHORT_LE {
            return Err(ProfileError::Chip {
                what: format!(
                    "max_read {} needs extended length (short APDUs return at most 256 bytes)",
                    raw.chip.max_read
                ),
            });
        }
        for entry in &raw.pace {
            entry.protocol()?;
        }
        let ca_private_key = match &raw.ca_private_key {
            Some(h) => Some(hex::decode(h.trim()).map_err(|e| ProfileError::Chip {
                what: format!("ca_private_key: bad hex: {e}"),
            })?),
            None => None,
        };
        let cam_private_key = match &raw.cam_private_key {
            Some(h) => Some(hex::decode(h.trim()).map_err(|e| ProfileError::Chip {
                what: format!("cam_private_key: bad hex: {e}"),
            })?),
            None => None,
        };
        let cam = raw
            .pace
            .iter()
            .any(|p| p.mapping.eq_ignore_ascii_case("ECDH-CAM"));
        let aa = aa_signer(&raw, base)?;
        let eac = raw.eac.as_ref().map(|e| chip_eac(e, base)).transpose()?;
        let mut profile = Profile {
            name: raw.name,
            path: None,
            mrz,
            can: raw.can,
            chip: raw.chip,
            link: raw.link,
            files,
            faults: raw.faults,
            pace: raw.pace,
            ca_private_key,
            cam_private_key,
            aa,
            personalisation: perso::Personalisation {
                expect: perso_toml.expect.clone(),
                lds_version: perso::lds_version_of(&perso_toml),
                ..perso::Personalisation::default()
            },
            eac,
        };
        perso::build_data_groups(&mut profile, &perso_toml, base)?;
        profile.generate_missing()?;
        perso::sign(&mut profile, &perso_toml, base)?;
        if cam && (profile.ca_private_key.is_none() || !profile.files.contains_key(&LdsFile::CardSecurity)) {
            return Err(ProfileError::Chip {
                what: "PACE-CAM needs ca_private_key and an EF.CardSecurity holding its public key \
                       (the file, or [ca] with [sign])"
                    .into(),
            });
        }
        perso::apply_tampers(&mut profile, &perso_toml, base)?;
        super::fault::validate(&profile)?;
        Ok(profile)
    }

    /// Generate DG1 from the MRZ, EF.COM from the data groups present and EF.CardAccess
    /// from the `[[pace]]` entries, when the profile does not give them.
    fn generate_missing(&mut self) -> Result<(), ProfileError> {
        self.generate_aa_files()?;
        if !self.pace.is_empty() && !self.files.contains_key(&LdsFile::CardAccess) {
            use crate::lds::security_infos::{PaceInfo, SecurityInfo, SecurityInfos};
            let mut infos = Vec::new();
            for entry in &self.pace {
                infos.push(SecurityInfo::Pace(PaceInfo::new(
                    entry.protocol()?,
                    Some(entry.parameter_id),
                )));
            }
            self.files
                .insert(LdsFile::CardAccess, SecurityInfos::from_infos(infos).encode());
        }
        if self.chip.extended_length && !self.files.contains_key(&LdsFile::AtrInfo) {
            self.files.insert(LdsFile::AtrInfo, self.atr_info());
        }
        if !self.files.contains_key(&LdsFile::Dg(1)) {
            let joined: String = self.mrz.lines().collect();
            if !matches!(joined.len(), 72 | 88 | 90) {
                return Err(ProfileError::Mrz {
                    what: format!(
                        "{} characters in {} line(s); expected 2×36, 2×44 or 3×30",
                        joined.len(),
                        self.mrz.lines().count()
                    ),
                });
            }
            let inner = crate::tlv::encode(0x5F1F, joined.as_bytes());
            self.files
                .insert(LdsFile::Dg(1), crate::tlv::encode(0x61, &inner));
        }
        if !self.files.contains_key(&LdsFile::Com) {
            let present: Vec<LdsFile> = self.files.keys().copied().collect();
            let mut com = crate::lds::com::Com::new(&present);
            if let Some(v) = &self.personalisation.lds_version {
                com.lds_version = Some(crate::lds::com::Version::new(v));
            }
            self.files.insert(LdsFile::Com, com.encode());
        }
        Ok(())
    }

    /// DG15 from the Active Authentication key, and for an EC key a DG14 holding only the
    /// ActiveAuthenticationInfo (`ecdsa-plain-*`), when the profile gives none.
    fn generate_aa_files(&mut self) -> Result<(), ProfileError> {
        use crate::lds::security_infos::{ActiveAuthenticationInfo, SecurityInfo, SecurityInfos};
        let Some(aa) = &self.aa else {
            return Ok(());
        };
        if let std::collections::btree_map::Entry::Vacant(slot) = self.files.entry(LdsFile::Dg(15)) {
            let spki = aa.public_key_der().map_err(|e| ProfileError::Chip {
                what: format!("aa_private_key: {e}"),
            })?;
            slot.insert(crate::tlv::encode(0x6F, &spki));
        }
        if !aa.is_rsa() && !self.files.contains_key(&LdsFile::Dg(14)) {
            let hash = aa
                .hash()
                .or_else(|| aa.ec_order_bits().map(HashAlgorithm::for_order_bits))
                .unwrap_or(HashAlgorithm::Sha256);
            let info = ActiveAuthenticationInfo::new(hash.ecdsa_plain_oid());
            let dg14 = crate::lds::dg14::Dg14::from(SecurityInfos::from_infos(vec![
                SecurityInfo::ActiveAuthentication(info),
            ]))
            .encode();
            self.files.insert(LdsFile::Dg(14), dg14);
        }
        Ok(())
    }

    /// The card capabilities (ISO/IEC 7816-4 §8.1.1.2.7, the three software function
    /// tables) the ATR's historical bytes and EF.ATR/INFO (`47`) announce: no selection
    /// or data coding claims, and in the third byte extended Lc/Le (b7) and "extended
    /// length information in EF.ATR/INFO" (b6) when the chip takes extended APDUs and
    /// its EF.ATR/INFO holds `7F66`. No command chaining (b8): PACE's own CLA chaining
    /// of GENERAL AUTHENTICATE leaves no room for ISO chaining of a long step, so a
    /// 2048-bit DH chip needs extended length (Doc 9303 Part 11 §4.4; the DH-2048
    /// GENERAL AUTHENTICATE carries 256 bytes of key).
    pub fn card_capabilities(&self) -> [u8; 3] {
        let mut third = 0u8;
        if self.chip.extended_length {
            third |= 0x40;
        }
        let info_has_7f66 = self
            .files
            .get(&LdsFile::AtrInfo)
            .and_then(|b| crate::lds::atr_info::AtrInfo::decode(b).ok())
            .is_some_and(|a| a.extended_length.is_some());
        if info_has_7f66 {
            third |= 0x20;
        }
        [0x00, 0x00, third]
    }

    /// EF.ATR/INFO for a chip that takes extended APDUs (Doc 9303 Part 10 §3.11.2;
    /// ISO/IEC 7816-4 §12.7.1): the card capabilities (`47`) and the extended length
    /// information (`7F66`: the largest command and response APDU). Each maximum is a
    /// two-byte INTEGER, at most 7FFF, as deployed cards write them (and as OpenSC's
    /// EF.ATR parser reads them: two bytes each); the response maximum also stays within
    /// the chip's `max_read` plus the status word.
    pub fn atr_info(&self) -> Vec<u8> {
        let max_response = (self.chip.max_read + 2).min(0x7FFF) as u16;
        let max_command: u16 = 0x7FFF;
        let int2 = |v: u16| crate::tlv::encode(0x02, &v.to_be_bytes());
        let ext = crate::tlv::encode(0x7F66, &[int2(max_command), int2(max_response)].concat());
        let caps = [0x00, 0x00, 0x40 | 0x20];
        [crate::tlv::encode(0x47, &caps), ext].concat()
    }

    /// The ATR: the profile's, or the PC/SC contactless form (PC/SC Part 3 §3.1.3.2.3)
    /// with historical bytes carrying the card capabilities ([`Profile::card_capabilities`],
    /// ISO 7816-4 §8.1.1.2.7), whose third byte says whether extended Lc/Le are
    /// supported and whether EF.ATR/INFO gives their limits.
    pub fn atr(&self) -> Vec<u8> {
        if let Some(h) = &self.chip.atr
            && let Ok(bytes) = hex::decode(h.replace(' ', ""))
        {
            return bytes;
        }
        let [a, b, c] = self.card_capabilities();
        let historical = [0x80, 0x73, a, b, c];
        let mut atr = vec![0x3B, 0x80 | historical.len() as u8, 0x80, 0x01];
        atr.extend_from_slice(&historical);
        let tck = atr.iter().skip(1).fold(0u8, |a, b| a ^ b);
        atr.push(tck);
        atr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD3: &str =
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn generates_dg1_and_com() {
        let raw: ProfileToml = toml::from_str(&format!(
            "name = \"t\"\nmrz = \"\"\"\n{TD3}\n\"\"\"\n[files]\nDG2 = {{ hex = \"7503010203\" }}\n"
        ))
        .unwrap();
        let p = Profile::from_toml(raw, Path::new(".")).unwrap();
        let dg1 = &p.files[&LdsFile::Dg(1)];
        assert_eq!(&dg1[..5], &[0x61, 0x5B, 0x5F, 0x1F, 0x58]);
        let com = crate::tlv::parse(&p.files[&LdsFile::Com]).unwrap();
        let tags = com.children().find(0x5C).unwrap().unwrap();
        assert_eq!(tags.value, &[0x61, 0x75]);
    }

    #[test]
    fn rejects_unknown_keys_and_files() {
        assert!(toml::from_str::<ProfileToml>("name='x'\nmrz='y'\nbogus=1").is_err());
        let raw: ProfileToml = toml::from_str("name='x'\nmrz='y'\n[files]\nDG42={hex='00'}").unwrap();
        assert!(matches!(
            Profile::from_toml(raw, Path::new(".")),
            Err(ProfileError::UnknownFile { .. })
        ));
    }

    #[test]
    fn atr_advertises_extended_length() {
        let mut p = Profile {
            name: String::new(),
            path: None,
            mrz: String::new(),
            can: None,
            chip: ChipConfig::default(),
            link: LinkConfig::default(),
            files: BTreeMap::new(),
            faults: vec![],
            pace: vec![],
            ca_private_key: None,
            cam_private_key: None,
            aa: None,
            personalisation: perso::Personalisation::default(),
            eac: None,
        };
        let atr = p.atr();
        assert_eq!(atr[..4], [0x3B, 0x85, 0x80, 0x01]);
        assert_eq!(atr[8], 0x40);
        assert_eq!(atr.iter().skip(1).fold(0u8, |a, b| a ^ b), 0);
        // with EF.ATR/INFO giving the limits, b6 says so
        p.files.insert(LdsFile::AtrInfo, p.atr_info());
        assert_eq!(p.atr()[8], 0x60);
        let info = crate::lds::atr_info::AtrInfo::decode(&p.files[&LdsFile::AtrInfo]).unwrap();
        assert_eq!(info.extended_length_supported(), Some(true));
        let e = info.extended_length.unwrap();
        assert_eq!((e.max_command_apdu, e.max_response_apdu), (0x7FFF, 0x7FFF));
        assert!(info.quirks.is_empty());
        // two-byte INTEGERs (OpenSC reads exactly two bytes after each 02 02)
        assert_eq!(
            hex::encode_upper(p.atr_info()),
            "47030000607F660802027FFF02027FFF"
        );
        p.files.remove(&LdsFile::AtrInfo);
        p.chip.extended_length = false;
        assert_eq!(p.atr()[8], 0);
    }
}

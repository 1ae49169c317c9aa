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

use thiserror::Error;

use crate::cms::sign as cms_sign;
use crate::pki::signature::SignatureAlgorithm;

pub mod booklets;
mod build;
mod schema;
mod sign;
mod tamper;
#[cfg(test)]
mod tests;

pub use build::{build_data_groups, build_dg2, build_dg11, build_dg12, build_dg14, ca_public_key};
pub use schema::{
    CaToml, Dg2Toml, Dg11Toml, Dg12Toml, Expect, NamedFileSource, PersoToml, SignToml, TamperToml,
    resolve_base,
};
pub use sign::{default_signature, lds_security_object, lds_version_of, sign};
pub use tamper::{Tamper, TamperAction, apply_tampers};

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

fn lds_err(file: &str) -> impl FnOnce(crate::lds::LdsError) -> PersoError + '_ {
    move |source| PersoError::Lds {
        file: file.to_owned(),
        source,
    }
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

/// Check the `[expect]` table (verdict and exit code agree, failing checks named).
pub fn check_expect(t: &PersoToml) -> Result<(), PersoError> {
    match &t.expect {
        Some(e) => e.validate(),
        None => Ok(()),
    }
}

//! Where a document comes from: a PC/SC reader or the in-process emulator.

use std::path::PathBuf;

use clap::Args;

use crate::transport::Transport;

/// Source options shared by `read` and `verify`.
#[derive(Debug, Clone, Args, Default)]
pub struct SourceArgs {
    /// PC/SC reader by name (substring) or index (default: the first reader with a card).
    #[arg(long, value_name = "NAME|INDEX", conflicts_with = "emulator")]
    pub reader: Option<String>,
    /// An in-process software chip personalised from a profile (TOML).
    #[arg(long, value_name = "PROFILE")]
    pub emulator: Option<PathBuf>,
}

/// An opened source.
pub struct Opened {
    /// The transport.
    pub transport: Box<dyn Transport>,
    /// The emulator profile's MRZ, used as key when none is given.
    pub profile_mrz: Option<String>,
}

impl SourceArgs {
    /// Open the source.
    pub fn open(&self) -> anyhow::Result<Opened> {
        #[cfg(feature = "emulator")]
        if let Some(p) = &self.emulator {
            let profile = load_profile(p)?;
            let mrz = profile.mrz.clone();
            return Ok(Opened {
                transport: Box::new(crate::emulator::Emulator::new(profile)),
                profile_mrz: Some(mrz),
            });
        }
        #[cfg(not(feature = "emulator"))]
        if let Some(p) = &self.emulator {
            return Err(without_emulator(p));
        }
        let t = crate::transport::pcsc::PcscTransport::connect(self.reader.as_deref())?;
        Ok(Opened {
            transport: Box::new(t),
            profile_mrz: None,
        })
    }
}

/// Load an emulator profile for `--emulator`.
#[cfg(feature = "emulator")]
pub fn load_profile(p: &std::path::Path) -> anyhow::Result<crate::emulator::Profile> {
    use anyhow::Context;
    crate::emulator::Profile::load(p).with_context(|| format!("cannot load emulator profile {}", p.display()))
}

/// `--emulator` in a build without the emulator: a clear error, not an unknown option.
#[cfg(not(feature = "emulator"))]
pub fn without_emulator(p: &std::path::Path) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot load emulator profile {}: this emrtd was built without the emulator (cargo feature `emulator`)",
        p.display()
    )
}

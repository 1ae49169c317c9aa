//! Where a document comes from: a PC/SC reader or the in-process emulator.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::emulator::{Emulator, Profile};
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
        if let Some(p) = &self.emulator {
            let profile =
                Profile::load(p).with_context(|| format!("cannot load emulator profile {}", p.display()))?;
            let mrz = profile.mrz.clone();
            return Ok(Opened {
                transport: Box::new(Emulator::new(profile)),
                profile_mrz: Some(mrz),
            });
        }
        let t = crate::transport::pcsc::PcscTransport::connect(self.reader.as_deref())?;
        Ok(Opened {
            transport: Box::new(t),
            profile_mrz: None,
        })
    }
}

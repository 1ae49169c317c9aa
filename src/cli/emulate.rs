//! `emrtd emulate --profile FILE --vpcd HOST:PORT`: serve the software chip as a card
//! in a real PC/SC stack, through the vpcd driver of vsmartcard inside pcscd. Other
//! PC/SC applications (and `emrtd read --reader`) then see a passport in the reader
//! "Virtual PCD 00 00" (port 35963) or "Virtual PCD 00 01" (port 35964).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::Args;

use super::output::Hinted;
use super::{GlobalOpts, Outcome};
use crate::emulator::vpcd::{self, Event, ServeOptions, VirtualCard, VpcdError};
use crate::emulator::{Emulator, Profile};

/// Arguments of `emrtd emulate`.
#[derive(Debug, Args)]
#[command(after_help = "\
The vpcd driver (Debian: vsmartcard-vpcd) runs inside pcscd and listens; this command
connects to it as the card. Port 35963 is the reader \"Virtual PCD 00 00\", 35964 is
\"Virtual PCD 00 01\". Runs until interrupted (Ctrl-C or SIGTERM) and reconnects when
pcscd restarts. APDU contents are never logged; --trace FILE records them, redacted
unless --trace-plain.")]
pub struct EmulateArgs {
    /// Booklet profile (TOML) personalising the chip.
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// Address of pcscd's vpcd driver, HOST:PORT (loopback only unless --allow-remote).
    #[arg(long, value_name = "HOST:PORT", default_value = vpcd::DEFAULT_ADDR)]
    pub vpcd: String,
    /// Permit a vpcd address that is not loopback. The link is plain TCP: anyone on
    /// the network path sees every APDU, the BAC/PACE exchange included, from which
    /// the MRZ can be searched offline.
    #[arg(long)]
    pub allow_remote: bool,
}

/// Run `emrtd emulate`.
pub fn run(args: &EmulateArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let addrs = vpcd::resolve(&args.vpcd, args.allow_remote).map_err(|e| match e {
        VpcdError::NotLoopback { .. } => anyhow::Error::new(Hinted {
            message: e.to_string(),
            hint: "pass --allow-remote to serve a pcscd on another host (the APDUs then cross the network unencrypted)"
                .into(),
        }),
        other => anyhow::Error::new(other),
    })?;
    let mut profile = Profile::load(&args.profile)
        .with_context(|| format!("cannot load emulator profile {}", args.profile.display()))?;
    let name = profile.name.clone();
    if let Some(before) = vpcd::fit_profile(&mut profile)
        && !global.quiet
        && profile.files.values().any(|f| f.len() > vpcd::MAX_READ_OVER_VPCD)
    {
        eprintln!(
            "emrtd: note: READ BINARY capped at {} bytes (the profile allows {before}): a vpcd frame carries at most {} bytes",
            vpcd::MAX_READ_OVER_VPCD,
            vpcd::MAX_FRAME
        );
    }
    let mut card = VirtualCard::new(Emulator::new(profile))?;
    if let Some(path) = &global.trace {
        card = card.with_trace(path.clone(), global.trace_plain)?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the SIGINT/SIGTERM handler")?;

    let quiet = global.quiet;
    let verbose = global.verbose;
    let mut report = |ev: Event<'_>| report_event(&ev, &name, quiet, verbose);
    card.serve(&addrs, &stop, &ServeOptions::default(), &mut report)?;
    if !quiet {
        eprintln!("emrtd: emulator stopped");
    }
    Ok(Outcome::ok())
}

/// One line on stderr per event worth telling; bounded (the serve loop rate-limits
/// the repeated ones). Never APDU contents.
fn report_event(ev: &Event<'_>, name: &str, quiet: bool, verbose: u8) {
    match ev {
        Event::Waiting {
            addr,
            attempts,
            error,
        } => {
            if !quiet {
                eprintln!(
                    "emrtd: waiting for vpcd at {addr} ({error}; {attempts} attempt(s)) — is pcscd running with the vsmartcard-vpcd driver?"
                );
            }
        }
        Event::Inserted { addr, count } => {
            if quiet {
                return;
            }
            if *count == 1 {
                eprintln!(
                    "emrtd: card {name:?} inserted in the vpcd reader at {addr}; serving until interrupted"
                );
            } else {
                eprintln!("emrtd: card inserted again at {addr}");
            }
        }
        Event::Silent { addr, after } => eprintln!(
            "emrtd: warning: connected to {addr} but vpcd has said nothing for {} s: another virtual card may hold this reader (try the next port)",
            after.as_secs()
        ),
        Event::Disconnected { reason } => {
            if !quiet {
                eprintln!("emrtd: {reason}; reconnecting");
            }
        }
        Event::FaultRemoved { out_for } => {
            if !quiet {
                eprintln!(
                    "emrtd: profile fault: card removed; presented again in {} ms",
                    out_for.as_millis()
                );
            }
        }
        Event::Power(msg) => {
            if verbose > 0 && !quiet {
                eprintln!("emrtd: {msg:?}");
            }
        }
        Event::Oversize { len } => {
            eprintln!("emrtd: warning: a {len}-byte response does not fit a vpcd frame; answered 6F00")
        }
    }
}

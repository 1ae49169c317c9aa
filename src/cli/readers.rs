//! `emrtd readers [--wait [SECONDS]]`: the PC/SC readers, whether a card is present,
//! and its ATR.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::output::Hinted;
use super::{GlobalOpts, Outcome};
use crate::transport::TransportError;
use crate::transport::pcsc::{self, ReaderStatus};

/// How long one wait round lasts when `--wait` has no limit.
const UNLIMITED_ROUND: Duration = Duration::from_secs(3600);

/// Arguments of `emrtd readers`.
#[derive(Debug, Args)]
pub struct ReadersArgs {
    /// Wait until a card is present: up to SECONDS, or without a value until one is
    /// (interrupt to give up). Exits 2 when the time runs out.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1)]
    pub wait: Option<Option<u64>>,
    /// With --wait: only a card in this reader counts (name substring or index).
    #[arg(long, value_name = "NAME|INDEX", requires = "wait")]
    pub reader: Option<String>,
}

#[derive(Serialize)]
struct ReadersJson<'a> {
    readers: &'a [ReaderStatus],
}

fn no_service() -> anyhow::Error {
    anyhow::Error::new(Hinted {
        message: "no PC/SC service — is pcscd running?".into(),
        hint: "start it: `systemctl start pcscd.socket`, or as root `pcscd --foreground`; \
               an emulated card (`emrtd emulate`) also needs the vsmartcard-vpcd driver"
            .into(),
    })
}

fn pcsc_err(e: TransportError) -> anyhow::Error {
    match e {
        TransportError::NoService => no_service(),
        other => anyhow::Error::new(other).context("cannot list the PC/SC readers"),
    }
}

/// Run `emrtd readers`.
pub fn run(args: &ReadersArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    if let Some(limit) = args.wait {
        let wanted = args.reader.as_deref();
        let found = match limit {
            Some(secs) => pcsc::wait_for_card(wanted, Duration::from_secs(secs)).map_err(pcsc_err)?,
            None => loop {
                if let Some(r) = pcsc::wait_for_card(wanted, UNLIMITED_ROUND).map_err(pcsc_err)? {
                    break Some(r);
                }
            },
        };
        if found.is_none() {
            let secs = limit.unwrap_or_default();
            let place = match wanted {
                Some(w) => format!("reader {w:?}"),
                None => "any reader".into(),
            };
            return Err(anyhow::Error::new(Hinted {
                message: format!("no card in {place} within {secs} s"),
                hint: "place the document on the reader (or start `emrtd emulate`), then try again; \
                       `emrtd readers` lists the readers"
                    .into(),
            }));
        }
    }
    let readers = pcsc::list_readers().map_err(pcsc_err)?;
    if global.json {
        super::output::print_json(&ReadersJson { readers: &readers })?;
    } else {
        for r in &readers {
            let name = super::output::sanitize_terminal(&r.name);
            super::output::print_text(&if r.card_present {
                format!("{}  {name}  card present  ATR {}\n", r.index, r.atr)
            } else {
                format!("{}  {name}  no card\n", r.index)
            })?;
        }
    }
    if readers.is_empty() && !global.quiet {
        eprintln!(
            "emrtd: no readers: pcscd runs but sees none (plug one in, or install a driver such as vsmartcard-vpcd for `emrtd emulate`)"
        );
    }
    Ok(Outcome::ok())
}

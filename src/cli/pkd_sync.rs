//! `emrtd pkd sync URL`: bring the trust store up to date from an LDAP PKD mirror
//! (CLI.md "Round 2 additions"; the work is [`crate::pki::sync`]).

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::GlobalOpts;
use super::output::{self, Exit, Outcome};
use crate::pki::store::{self, TrustStore};
use crate::pki::sync::{self, Progress, SyncOptions, SyncUrl};

/// Arguments of `emrtd pkd sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The directory: `ldap://HOST[:PORT]/BASE` or `ldaps://HOST[:PORT]/BASE`, BASE being
    /// the root of the PKD download tree (e.g. dc=download,dc=pkd,dc=icao,dc=int).
    #[arg(value_name = "URL")]
    pub url: String,
    /// Client certificate (PEM) for TLS client authentication.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// Private key of --client-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// CA certificate(s) (PEM) that issued the server's certificate (added to the system's).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Upgrade an ldap:// connection with StartTLS (refused if the server cannot).
    #[arg(long)]
    pub starttls: bool,
    /// Timeout of connecting and of each LDAP operation, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Retries after a network failure, with exponential backoff from 0.5 s.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
}

/// A progress bar on stderr, only on a terminal.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new(global: &GlobalOpts) -> Bar {
        let show = std::io::stderr().is_terminal() && !global.quiet && !global.json;
        Bar(show.then(|| {
            let b = indicatif::ProgressBar::new(0);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg:>18} [{bar:30}] {pos}/{len} entries")
            {
                b.set_style(style.progress_chars("=> "));
            }
            b
        }))
    }
}

impl Progress for Bar {
    fn phase(&self, what: &str, total: u64) {
        if let Some(b) = &self.0 {
            b.set_message(what.to_owned());
            b.set_length(total);
            b.set_position(0);
        }
    }

    fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            if b.position() + n > b.length().unwrap_or(0) {
                b.set_length(b.position() + n);
            }
            b.inc(n);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Run `emrtd pkd sync`.
pub fn run(a: &SyncArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let url = SyncUrl::parse(&a.url)?;
    let opts = SyncOptions {
        client_cert: a.client_cert.clone(),
        client_key: a.client_key.clone(),
        ca_file: a.ca_file.clone(),
        starttls: a.starttls,
        timeout: Duration::from_secs(a.timeout.max(1)),
        retries: a.retries,
        ..SyncOptions::default()
    };
    let path = store::default_path(global.store.as_deref())?;
    let mut store =
        TrustStore::open(&path).with_context(|| format!("cannot open the trust store {}", path.display()))?;
    let bar = Bar::new(global);
    let report = sync::sync(&mut store, &url, &opts, &bar)?;
    drop(bar);
    if global.json {
        output::print_json(&report)?;
    } else {
        use output::sanitize_terminal as t;
        let mut out = output::stdout();
        // " (3 csca, 2 dsc)", or nothing for an empty count
        let kinds = |m: &std::collections::BTreeMap<String, u64>| {
            if m.is_empty() {
                return String::new();
            }
            let list: Vec<String> = m.iter().map(|(k, v)| format!("{v} {k}")).collect();
            format!(" ({})", list.join(", "))
        };
        writeln!(out, "{}: {} entries in the directory", t(&a.url), report.listed)?;
        writeln!(
            out,
            "  added      {}{}",
            report.added,
            kinds(&report.added_by_kind)
        )?;
        writeln!(
            out,
            "  removed    {}{}",
            report.removed,
            kinds(&report.removed_by_reason)
        )?;
        writeln!(
            out,
            "  unchanged  {} (held at the directory's pkdVersion)",
            report.unchanged
        )?;
        writeln!(out, "  rejected   {}", report.rejected)?;
        for e in &report.errors {
            writeln!(out, "    {}", t(e))?;
        }
        let versions = report
            .pkd_versions
            .iter()
            .map(|(c, v)| format!("{c}: {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(out, "  pkdVersion {} ({versions})", report.pkd_version)?;
        out.flush()?;
        if !global.quiet {
            const SHOWN: usize = 10;
            for n in report.notes.iter().take(SHOWN) {
                output::diag(format_args!("  note: {}", t(n)));
            }
            if report.notes.len() > SHOWN {
                output::diag(format_args!(
                    "  … and {} more notes (--json lists them all)",
                    report.notes.len() - SHOWN
                ));
            }
        }
    }
    Ok(Outcome::with(Exit::Ok))
}

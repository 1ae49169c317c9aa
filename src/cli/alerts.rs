//! `emrtd alerts import|list|clear`: the local alert list of lost, stolen, revoked and
//! invalidated documents that `emrtd verify` checks (`alert_list`); `docs/alerts.md`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};

use super::GlobalOpts;
use super::output::{self, Outcome};
use crate::pki::alerts::{self, AlertList, ImportMode};

/// Arguments of `emrtd alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// What to do with the alert list.
    #[command(subcommand)]
    pub command: AlertsCommand,
}

/// The `alerts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Import a CSV list (`issuer,document_number,status,reason,since`); it replaces
    /// the stored list unless --append. A bad line refuses the whole file.
    Import(ImportArgs),
    /// List the stored entries (they hold document numbers: personal data).
    List(ListArgs),
    /// Remove the stored list.
    Clear,
}

/// Arguments of `emrtd alerts import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// Add to the stored list instead of replacing it (an entry for the same document is updated).
    #[arg(long)]
    pub append: bool,
}

/// Arguments of `emrtd alerts list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this issuing state (as in the MRZ: NLD, D, …).
    #[arg(long, value_name = "CODE")]
    pub issuer: Option<String>,
}

/// Run `emrtd alerts ...`.
pub fn run(args: &AlertsArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    match &args.command {
        AlertsCommand::Import(a) => run_import(a, global),
        AlertsCommand::List(a) => run_list(a, global),
        AlertsCommand::Clear => run_clear(global),
    }
}

#[derive(serde::Serialize)]
struct ImportJson<'a> {
    path: String,
    sha256: String,
    mode: &'a str,
    #[serde(flatten)]
    summary: alerts::ImportSummary,
}

fn run_import(a: &ImportArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    // parse before touching the store: a bad file changes nothing
    let list = AlertList::parse_csv(&bytes)
        .with_context(|| format!("{} refused, nothing imported", a.file.display()))?;
    let sha: [u8; 32] = Sha256::digest(&bytes).into();
    let mode = if a.append {
        ImportMode::Append
    } else {
        ImportMode::Replace
    };
    let mut store = global.open_store()?;
    let source = a.file.display().to_string();
    let summary = alerts::import(&mut store, &list, &source, &sha, mode)
        .with_context(|| format!("cannot store the alert list from {source}"))?;
    if global.json {
        output::print_json(&ImportJson {
            path: source,
            sha256: hex::encode(sha),
            mode: if a.append { "append" } else { "replace" },
            summary,
        })?;
    } else if !global.quiet {
        let replaced = if summary.removed > 0 {
            format!(", replacing {} stored", summary.removed)
        } else {
            String::new()
        };
        output::print_text(&format!(
            "imported {} alert(s) from {}{replaced}; the list now holds {}\n",
            summary.imported,
            output::sanitize_terminal(&source),
            summary.total
        ))?;
    }
    Ok(Outcome::ok())
}

#[derive(serde::Serialize)]
struct ListJson {
    list: Option<alerts::ListInfo>,
    entries: Vec<alerts::Alert>,
}

fn run_list(a: &ListArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let store = global.open_store()?;
    let info = alerts::info(&store)?;
    let entries = alerts::entries(&store, a.issuer.as_deref())?;
    if global.json {
        output::print_json(&ListJson { list: info, entries })?;
        return Ok(Outcome::ok());
    }
    let Some(info) = info else {
        if !global.quiet {
            output::print_text("no alert list imported (`emrtd alerts import FILE.csv`)\n")?;
        }
        return Ok(Outcome::ok());
    };
    for e in &entries {
        let t = output::sanitize_terminal;
        output::print_text(&format!(
            "{:<3} {:<20} {:<11} {:<10} {}\n",
            t(&e.issuer),
            t(&e.document_number),
            e.status.name(),
            t(e.since.as_deref().unwrap_or("-")),
            t(e.reason.as_deref().unwrap_or(""))
        ))?;
    }
    if !global.quiet {
        output::diag(format_args!(
            "{} of {} entries; last import {} from {}",
            entries.len(),
            info.entries,
            crate::pki::format_time(info.imported_at),
            output::sanitize_terminal(&info.source)
        ));
    }
    Ok(Outcome::ok())
}

fn run_clear(global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let mut store = global.open_store()?;
    let n = alerts::clear(&mut store)?;
    if global.json {
        output::print_json(&serde_json::json!({ "removed": n }))?;
    } else if !global.quiet {
        output::print_text(&format!("removed {n} alert(s); no alert list is stored now\n"))?;
    }
    Ok(Outcome::ok())
}

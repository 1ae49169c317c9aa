//! `emrtd fixtures generate --out DIR`: regenerate the test PKI (`DIR/pki`, `DIR/keys`)
//! and the booklet profiles (`DIR/booklets`). Existing private keys are reused and every
//! signature is deterministic, so running it over the committed `pkd-fixtures` rewrites
//! the same bytes; in an empty directory it makes a fresh, self-consistent set.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::print_json;
use super::{GlobalOpts, Outcome};

/// Arguments of `emrtd fixtures`.
#[derive(Debug, Args)]
pub struct FixturesArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: FixturesCommand,
}

/// The `fixtures` subcommands.
#[derive(Debug, Subcommand)]
pub enum FixturesCommand {
    /// Regenerate the test PKI and the booklet profiles (keys already there are reused).
    Generate(GenerateArgs),
}

/// Arguments of `emrtd fixtures generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The fixtures directory (`pkd-fixtures`): `pki/`, `keys/` and `booklets/` go there.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Serialize)]
struct Generated {
    pki_files: Vec<String>,
    key_files: Vec<String>,
    booklet_files: Vec<String>,
}

fn names(base: &Path, files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| p.strip_prefix(base).unwrap_or(p).display().to_string())
        .collect()
}

/// Run `emrtd fixtures`.
pub fn run(args: &FixturesArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    match &args.command {
        FixturesCommand::Generate(g) => generate(g, global),
    }
}

fn generate(args: &GenerateArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let out = &args.out;
    let pki = crate::pki::fixtures::generate(out)
        .with_context(|| format!("cannot generate the test PKI in {}", out.display()))?;
    let booklets = crate::emulator::perso::booklets::generate(out)
        .with_context(|| format!("cannot generate the booklet profiles in {}", out.display()))?;
    let g = Generated {
        pki_files: names(out, &pki.pki_files),
        key_files: names(out, &pki.key_files),
        booklet_files: names(out, &booklets),
    };
    if global.json {
        print_json(&g)?;
    } else if !global.quiet {
        super::output::print_text(&format!(
            "{}: {} PKI files, {} key files, {} booklet files\n",
            out.display(),
            g.pki_files.len(),
            g.key_files.len(),
            g.booklet_files.len()
        ))?;
    }
    Ok(Outcome::ok())
}

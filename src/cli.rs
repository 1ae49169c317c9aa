//! The command-line interface (`../shared/design/CLI.md` is the contract).
//!
//! One file per subcommand under `cli/`. Raw clap arguments are turned into
//! validated configuration inside each subcommand; errors travel up as
//! `anyhow::Error` with their causes and are printed once by [`main`] as
//! `emrtd: error: …`, with a hint where the user can act.
//!
//! Results go to stdout through [`output::stdout`], never `println!` (which panics
//! when the reader of a pipe has gone: `emrtd pkd list | head -1`); the lint below
//! keeps it that way. Text from chips, certificates and files goes through
//! [`output::sanitize_terminal`] before it reaches a terminal.
#![deny(clippy::print_stdout)]

pub mod alerts;
pub mod check;
pub mod completions;
pub mod decode_image;
pub mod desk;
#[cfg(feature = "emulator")]
pub mod emulate;
#[cfg(feature = "emulator")]
pub mod fixtures;
pub mod inspect;
pub mod key;
pub mod mrz;
pub mod output;
pub mod pkd;
pub mod pkd_sync;
pub mod read;
pub mod readers;
pub mod source;
pub mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use output::{Exit, Outcome};

/// Read ICAO Doc 9303 e-passports and ID cards and tell whether the chip is genuine.
#[derive(Debug, Parser)]
#[command(name = "emrtd", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Options valid for every command.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options accepted before or after any subcommand.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalOpts {
    /// Trust store (SQLite file). Default: $EMRTD_STORE, else $XDG_DATA_HOME/emrtd/trust.db.
    #[arg(long, global = true, value_name = "PATH", env = "EMRTD_STORE")]
    pub store: Option<PathBuf>,
    /// Machine-readable output: one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More diagnostics on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour in human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Write an APDU trace (JSON lines) to FILE; redacted unless --trace-plain.
    #[arg(long, global = true, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Do not redact the APDU trace (forensic use: it then holds personal data).
    #[arg(long, global = true, requires = "trace")]
    pub trace_plain: bool,
}

impl GlobalOpts {
    /// Open the trust store (`--store`, else the default path), created when missing.
    pub fn open_store(&self) -> anyhow::Result<crate::pki::store::TrustStore> {
        let path = crate::pki::store::default_path(self.store.as_deref())?;
        open_store_at(&path)
    }

    /// The trust store when one exists: never created here. A missing store is said on
    /// stderr (unless `--quiet`) as "no trust store at PATH" followed by `missing`, when
    /// given.
    pub fn existing_store(
        &self,
        missing: Option<&str>,
    ) -> anyhow::Result<Option<crate::pki::store::TrustStore>> {
        let path = crate::pki::store::default_path(self.store.as_deref())?;
        if path.exists() {
            return open_store_at(&path).map(Some);
        }
        if let Some(why) = missing
            && !self.quiet
        {
            eprintln!("emrtd: no trust store at {}{why}", path.display());
        }
        Ok(None)
    }
}

fn open_store_at(path: &std::path::Path) -> anyhow::Result<crate::pki::store::TrustStore> {
    use anyhow::Context as _;
    crate::pki::store::TrustStore::open(path)
        .with_context(|| format!("cannot open the trust store {}", path.display()))
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print shell completions or the man page.
    Completions(completions::CompletionsArgs),
    /// Decode an LDS file, certificate, CRL, master list, LDIF or PEM (or a whole dump).
    Inspect(inspect::InspectArgs),
    /// Parse an MRZ and check its check digits.
    Mrz(mrz::MrzArgs),
    /// Dump every readable file of a document byte-exact into a directory.
    Read(Box<read::ReadArgs>),
    /// Verify a document: Passive, Active and Chip Authentication, one verdict.
    Verify(Box<verify::VerifyArgs>),
    /// Doc 9303 conformance checks of dumps (issuers' CI): LDS, MRZ, EF.SOD, certificate profiles.
    Check(check::CheckArgs),
    /// The local alert list of lost, stolen and revoked documents that verify checks.
    Alerts(alerts::AlertsArgs),
    /// The trust store: import master lists, ICAO PKD LDIF, certificates and CRLs; list, stats, remove.
    Pkd(pkd::PkdArgs),
    /// List the PC/SC readers, whether a card is present, and its ATR.
    Readers(readers::ReadersArgs),
    /// Serve a software chip as a card to pcscd's vpcd driver (a virtual reader).
    #[cfg(feature = "emulator")]
    Emulate(emulate::EmulateArgs),
    /// The officer's desk: read each document placed on the reader, verdict and face on a local page.
    Desk(Box<desk::DeskArgs>),
    /// Regenerate the test PKI and the booklet profiles (`fixtures generate --out DIR`).
    #[cfg(feature = "emulator")]
    Fixtures(fixtures::FixturesArgs),
    /// The image decoder process (internal: bytes on stdin, PNG on stdout).
    #[command(name = "__decode-image", hide = true)]
    DecodeImage(decode_image::DecodeImageArgs),
}

/// Parse the command line, run, print errors once, and map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Error } else { Exit::Ok };
            let _ = e.print();
            return code.into();
        }
    };
    if !matches!(cli.command, Command::DecodeImage(_)) {
        // third-party image decoders run in a child process of this binary
        if let Ok(sandbox) = crate::lds::image::sandbox::Sandbox::current_exe() {
            crate::lds::image::sandbox::enable(sandbox);
        }
    }
    match run(cli) {
        Ok(outcome) => outcome.exit.into(),
        // stdout closed under a write that could not be dropped quietly: no message,
        // and never a success code for a result that was not delivered
        Err(err) if output::is_broken_pipe(&err) => Exit::Error.into(),
        Err(err) => {
            output::print_error(&err);
            Exit::Error.into()
        }
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let global = cli.global;
    match cli.command {
        Command::Completions(args) => completions::run(&args, &global),
        Command::Inspect(args) => inspect::run(&args, &global),
        Command::Mrz(args) => mrz::run(&args, &global),
        Command::Read(args) => read::run(&args, &global),
        Command::Verify(args) => verify::run(&args, &global),
        Command::Check(args) => check::run(&args, &global),
        Command::Alerts(args) => alerts::run(&args, &global),
        Command::Pkd(args) => pkd::run(&args, &global),
        Command::Readers(args) => readers::run(&args, &global),
        #[cfg(feature = "emulator")]
        Command::Emulate(args) => emulate::run(&args, &global),
        #[cfg(feature = "emulator")]
        Command::Fixtures(args) => fixtures::run(&args, &global),
        Command::DecodeImage(args) => decode_image::run(&args, &global),
        Command::Desk(args) => desk::run(&args, &global),
    }
}

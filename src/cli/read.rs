//! `emrtd read SOURCE KEY --out DIR`: dump every readable file byte-exact.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::key::KeyArgs;
use super::source::SourceArgs;
use super::{GlobalOpts, Outcome};
use crate::lds::LdsFile;
use crate::reader::{AccessChoice, Dump, ReadOptions, ReadProgress, Session};
use crate::rng::OsRandom;
use crate::transport::trace::{Recorder, TraceLog};

/// `--access`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum AccessArg {
    /// PACE when EF.CardAccess offers it, else BAC.
    #[default]
    Auto,
    /// PACE only.
    Pace,
    /// BAC only.
    Bac,
}

/// Access-protocol options shared by `read` and `verify`.
#[derive(Debug, Clone, Args, Default)]
pub struct AccessArgs {
    /// Access protocol.
    #[arg(long, value_enum, default_value_t = AccessArg::Auto)]
    pub access: AccessArg,
    /// Permit BAC after a failed PACE (reported as a downgrade).
    #[arg(long)]
    pub allow_bac_fallback: bool,
    /// Pick this PACE protocol OID among several PACEInfos.
    #[arg(long, value_name = "OID")]
    pub pace_oid: Option<String>,
    /// Pick this PACE standardised domain parameter id.
    #[arg(long, value_name = "ID")]
    pub pace_param: Option<u32>,
}

/// Read-tuning options shared by `read` and `verify`.
#[derive(Debug, Clone, Args, Default)]
pub struct TuningArgs {
    /// Largest READ BINARY size (bytes); default: as much as the chip takes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_read: Option<u32>,
    /// Never send extended-length commands.
    #[arg(long)]
    pub no_extended: bool,
    /// Wall-clock budget of the whole read in seconds (default 60; tests use less).
    #[arg(long, value_name = "SECONDS", hide = true, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub time_budget: Option<u64>,
}

/// Terminal Authentication credentials shared by `read` and `verify`.
#[derive(Debug, Clone, Args, Default)]
pub struct EacArgs {
    /// CV certificates for Terminal Authentication (CVCA, link, DV, inspection system;
    /// files or directories; repeatable). The trust store's CV certificates
    /// (`pkd import *.cvcert`) are used as well.
    #[arg(long, value_name = "FILE|DIR", requires = "eac_key")]
    pub eac_chain: Vec<PathBuf>,
    /// The inspection system's private key: a PKCS#8 file (DER or PEM) or a
    /// `pkcs11:token=…;object=…?module-path=…&pin-source=…` URI. With it, DG3/DG4 are
    /// read after Chip and Terminal Authentication.
    #[arg(long, value_name = "FILE|pkcs11:URI")]
    pub eac_key: Option<String>,
}

impl EacArgs {
    /// The credentials, when `--eac-key` was given: the `--eac-chain` certificates and
    /// those of the trust store (`store`, or the default store when it exists).
    pub fn credentials(
        &self,
        global: &GlobalOpts,
        store: Option<&crate::pki::store::TrustStore>,
    ) -> anyhow::Result<Option<crate::pki::eac_credentials::EacCredentials>> {
        let Some(key) = &self.eac_key else {
            return Ok(None);
        };
        let mut creds = crate::pki::eac_credentials::EacCredentials::load(&self.eac_chain, key)
            .map_err(|e| anyhow::anyhow!("--eac-chain/--eac-key: {e}"))?;
        let opened;
        let store = match store {
            Some(s) => Some(s),
            None => {
                opened = global.existing_store(None)?;
                opened.as_ref()
            }
        };
        if let Some(s) = store
            && crate::pki::cvc_store::has_table(s.connection()).unwrap_or(false)
        {
            let stored = crate::pki::cvc_store::all(s.connection())
                .context("cannot read the CV certificates of the trust store")?;
            creds.add_certificates(stored);
        }
        if !creds.has_terminal() {
            anyhow::bail!(
                "--eac-key: no inspection-system (terminal) CV certificate in --eac-chain or the trust store"
            );
        }
        Ok(Some(creds))
    }
}

/// How a chip is read, shared by `read`, `verify` and `desk`: access protocol, read
/// tuning, Terminal Authentication.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Access protocol.
    #[command(flatten)]
    pub access: AccessArgs,
    /// Read tuning.
    #[command(flatten)]
    pub tuning: TuningArgs,
    /// Terminal Authentication.
    #[command(flatten)]
    pub eac: EacArgs,
}

impl SessionArgs {
    /// The reader options these arguments ask for, with the terminal credentials loaded
    /// now (files, key, a terminal certificate checked before the first document).
    pub fn options(
        &self,
        global: &GlobalOpts,
        store: Option<&crate::pki::store::TrustStore>,
        files: Option<&[String]>,
        probe_all: bool,
    ) -> anyhow::Result<ReadOptions> {
        let mut options = read_options(&self.access, &self.tuning, files, probe_all)?;
        options.eac = self.eac.credentials(global, store)?;
        Ok(options)
    }
}

/// A document on a chip, shared by `read` and `verify`: where it is, its access key,
/// and how to read it.
#[derive(Debug, Args)]
pub struct ChipArgs {
    /// Document source.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Access key.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Access protocol, read tuning, Terminal Authentication.
    #[command(flatten)]
    pub session: SessionArgs,
}

/// Arguments of `emrtd read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The chip and how to read it.
    #[command(flatten)]
    pub chip: ChipArgs,
    /// Output directory (created 0700; must not hold a dump already).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only these files (comma-separated: com,sod,dg1,…,cardsecurity).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub files: Option<Vec<String>>,
    /// Also try every data group EF.COM and EF.SOD do not name.
    #[arg(long)]
    pub probe_all: bool,
}

/// Build reader options from the shared argument groups.
pub fn read_options(
    access: &AccessArgs,
    tuning: &TuningArgs,
    files: Option<&[String]>,
    probe_all: bool,
) -> anyhow::Result<ReadOptions> {
    let files = match files {
        Some(list) => Some(
            list.iter()
                .map(|n| {
                    LdsFile::parse(n).with_context(|| {
                        format!("unknown file {n:?} in --files (use com, sod, dg1 … dg16, cardaccess, cardsecurity)")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
        None => None,
    };
    let defaults = ReadOptions::default();
    Ok(ReadOptions {
        time_budget: tuning
            .time_budget
            .map_or(defaults.time_budget, std::time::Duration::from_secs),
        files,
        probe_all,
        max_read: tuning.max_read.map(|n| n as usize),
        no_extended: tuning.no_extended,
        access: match access.access {
            AccessArg::Auto => AccessChoice::Auto,
            AccessArg::Pace => AccessChoice::Pace,
            AccessArg::Bac => AccessChoice::Bac,
        },
        allow_bac_fallback: access.allow_bac_fallback,
        pace_oid: access.pace_oid.clone(),
        pace_param: access.pace_param,
        ..defaults
    })
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    /// A bar, hidden unless stderr is a terminal and not quiet.
    pub fn new(global: &GlobalOpts) -> Self {
        let show = std::io::stderr().is_terminal() && !global.quiet && !global.json;
        Bar {
            bar: show.then(|| {
                let b = indicatif::ProgressBar::new(0);
                if let Ok(style) =
                    indicatif::ProgressStyle::with_template("{msg:>14} [{bar:30}] {bytes}/{total_bytes}")
                {
                    b.set_style(style.progress_chars("=> "));
                }
                b
            }),
        }
    }

    /// Remove the bar.
    pub fn clear(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl ReadProgress for Bar {
    fn update(&mut self, file: LdsFile, done: usize, total: Option<usize>) {
        if let Some(b) = &self.bar {
            b.set_message(file.name());
            b.set_length(total.unwrap_or(done) as u64);
            b.set_position(done as u64);
        }
    }
}

/// Read a document from the source, writing the trace if asked. Returns the dump, or
/// the failure with its partial dump.
pub fn read_document(
    source: &SourceArgs,
    key: &KeyArgs,
    options: ReadOptions,
    global: &GlobalOpts,
) -> anyhow::Result<Result<Dump, crate::reader::ReadFailure>> {
    let opened = source.open()?;
    let password = key.resolve(opened.profile_mrz.as_deref())?;
    let trace = global.trace.as_ref().map(|_| TraceLog::new());
    let transport: Box<dyn crate::transport::Transport> = match &trace {
        Some(log) => Box::new(Recorder::new(opened.transport, log.clone())),
        None => opened.transport,
    };
    let mut rng = OsRandom;
    let session = Session::new(transport, password, options, &mut rng, trace.clone());
    let mut bar = Bar::new(global);
    let result = session.run(&mut bar);
    bar.clear();
    if let (Some(path), Some(log)) = (&global.trace, &trace) {
        write_trace(log, path, global.trace_plain)?;
    }
    Ok(result)
}

/// Write the APDU trace like every other output file: 0600, through a temporary file
/// renamed into place, never through a link planted at `path`.
pub fn write_trace(log: &TraceLog, path: &std::path::Path, plain: bool) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    log.write_jsonl(&mut buf, plain)
        .with_context(|| format!("cannot write trace {}", path.display()))?;
    crate::reader::dump::write_private_file(path, &buf)
        .with_context(|| format!("cannot write trace {}", path.display()))
}

/// Print a short human summary of a dump (what came from the chip or the reader is
/// sanitised for the terminal).
pub fn print_summary(dump: &Dump, dir: &std::path::Path) -> anyhow::Result<()> {
    use super::output::sanitize_terminal as t;
    let m = &dump.manifest;
    let mut out = super::output::stdout();
    writeln!(out, "dump written to {}", t(&dir.display().to_string()))?;
    if let Some(a) = &m.access {
        let mut line = format!("access: {} {} with {}", a.protocol, a.cipher, a.password);
        if let Some(map) = &a.mapping {
            line.push_str(&format!(", mapping {map}"));
        }
        if let Some(p) = a.parameter_id {
            line.push_str(&format!(", parameter id {p}"));
        }
        if a.downgraded {
            line.push_str(" (DOWNGRADED from PACE)");
        }
        writeln!(out, "{}", t(&line))?;
    }
    for f in &m.files {
        writeln!(
            out,
            "  {:<16} {:>7} bytes  {:>2} APDU(s)  {:>8.1} ms",
            t(&f.name),
            f.size,
            f.apdus,
            f.ms
        )?;
    }
    for a in &m.absent {
        writeln!(
            out,
            "  {:<16} not read: {} ({})",
            t(&a.name),
            t(&a.sw),
            t(&a.meaning)
        )?;
    }
    for line in image_lines(&m.images, &m.image_errors) {
        writeln!(out, "{line}")?;
    }
    let mut tail = format!(
        "{} file(s); {} APDUs for access, {} for reading; {} recover{}; {:.1} ms",
        m.files.len(),
        m.access_apdus,
        m.read_apdus,
        m.recoveries,
        if m.recoveries == 1 { "y" } else { "ies" },
        m.total_ms
    );
    if let Some(ms) = m.modelled_ms {
        tail.push_str(&format!(" (modelled contactless time {ms:.1} ms)"));
    }
    writeln!(out, "{tail}")?;
    for a in &m.adaptations {
        writeln!(out, "  adapted: {}", t(a))?;
    }
    if m.partial {
        writeln!(out, "PARTIAL dump: {}", t(&m.errors.join("; ")))?;
    }
    out.flush()?;
    Ok(())
}

/// One line per extracted image and per data group whose images could not be
/// extracted (names, formats and sizes only: the images stay on disk). Each line is
/// sanitised for the terminal (formats and decoder errors quote the data).
pub fn image_lines(
    images: &[crate::lds::extract::ImageRecord],
    errors: &[crate::lds::extract::ExtractionError],
) -> Vec<String> {
    let mut out = Vec::new();
    for i in images {
        let mut line = format!(
            "  {:<16} {} from {}",
            i.name,
            i.format.as_deref().unwrap_or("unknown format"),
            i.source
        );
        if let (Some(w), Some(h)) = (i.width, i.height) {
            line.push_str(&format!(", {w}x{h}"));
        }
        line.push_str(&format!(", {} bytes", i.size));
        match (&i.png, &i.png_error) {
            (Some(p), _) if p.name != i.name => line.push_str(&format!(" (+ {})", p.name)),
            (None, Some(e)) => line.push_str(&format!(" (no PNG: {e})")),
            _ => {}
        }
        out.push(super::output::sanitize_terminal(&line).into_owned());
    }
    for e in errors {
        let line = format!("  {:<16} images not extracted: {}", e.source, e.error);
        out.push(super::output::sanitize_terminal(&line).into_owned());
    }
    out
}

/// Run `emrtd read`.
pub fn run(args: &ReadArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let chip = &args.chip;
    let options = chip
        .session
        .options(global, None, args.files.as_deref(), args.probe_all)?;
    match read_document(&chip.source, &chip.key, options, global)? {
        Ok(mut dump) => {
            dump.write_with_images(&args.out)?;
            // a read that got no file of the document is not a success (a chip that
            // refuses everything, or one the reader could not adapt to)
            if args.files.is_none() && !dump.files.keys().any(|f| !f.in_master_file()) {
                anyhow::bail!(
                    "the chip delivered no file of the document (EF.COM, EF.SOD, data groups); {} \
                     records what it answered",
                    args.out.join("manifest.json").display()
                );
            }
            if global.json {
                super::output::print_json(&dump.manifest)?;
            } else if !global.quiet {
                print_summary(&dump, &args.out)?;
            }
            Ok(Outcome::ok())
        }
        Err(mut failure) => {
            if let Some(partial) = &mut failure.partial {
                partial
                    .write_with_images(&args.out)
                    .with_context(|| format!("cannot write the partial dump to {}", args.out.display()))?;
                super::output::diag(format_args!(
                    "emrtd: partial dump ({} file(s)) written to {}; manifest.json says it is partial",
                    partial.files.len(),
                    args.out.display()
                ));
            }
            Err(anyhow::Error::new(failure.error))
        }
    }
}

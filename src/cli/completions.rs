//! `emrtd completions SHELL`: shell completions, and the man page, from the clap definitions.

use std::io::Write;

use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, GlobalOpts, Outcome};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// bash
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
    /// elvish
    Elvish,
    /// PowerShell
    Powershell,
    /// The man page (roff), for `man -l -`; with `--out-dir`, one page per command.
    Man,
}

/// Arguments of `emrtd completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for, or `man` for the man page.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Target,
    /// With `man`: write `emrtd.1` and a page per subcommand (`emrtd-desk.1`, …) into DIR
    /// instead of the top-level page on stdout (how `make deb` packages them).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
}

/// Write the completions or the man page to stdout.
pub fn run(args: &CompletionsArgs, _global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let mut cmd = Cli::command();
    if let Some(dir) = &args.out_dir {
        if args.shell != Target::Man {
            anyhow::bail!("--out-dir is for `emrtd completions man` only (completions go to stdout)");
        }
        use anyhow::Context;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(cmd, dir)
            .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
        return Ok(Outcome::ok());
    }
    let mut out = super::output::stdout();
    use clap_complete::Shell;
    let shell = match args.shell {
        Target::Bash => Shell::Bash,
        Target::Zsh => Shell::Zsh,
        Target::Fish => Shell::Fish,
        Target::Elvish => Shell::Elvish,
        Target::Powershell => Shell::PowerShell,
        Target::Man => {
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
            return Ok(Outcome::ok());
        }
    };
    clap_complete::generate(shell, &mut cmd, "emrtd", &mut out);
    out.flush()?;
    Ok(Outcome::ok())
}

//! `emrtd mrz MRZ`: parse a machine readable zone (Doc 9303 Parts 3–7) and check every
//! check digit. Exit 0 when the MRZ is valid, 1 when a check digit fails or the layout
//! has a defect, 2 when it cannot be parsed at all.

use std::io::Read;

use anyhow::Context as _;
use clap::Args;
use zeroize::Zeroizing;

use super::output::print_json;
use super::{Exit, GlobalOpts, Outcome};
use crate::mrz::Mrz;

/// Upper bound on what is read from stdin: an MRZ is at most 92 characters plus
/// separators; anything far larger is not an MRZ.
const STDIN_LIMIT: u64 = 64 * 1024;

/// Arguments of `emrtd mrz`.
#[derive(Debug, Args)]
pub struct MrzArgs {
    /// The MRZ: 2 or 3 lines separated by newlines, a literal `\n` or spaces (or all
    /// characters in one block); `-` reads it from stdin, which keeps it out of `ps`.
    #[arg(value_name = "MRZ", allow_hyphen_values = true)]
    pub mrz: String,
}

fn read_input(args: &MrzArgs) -> anyhow::Result<Zeroizing<String>> {
    if args.mrz != "-" {
        return Ok(Zeroizing::new(args.mrz.clone()));
    }
    let mut text = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .take(STDIN_LIMIT)
        .read_to_string(&mut text)
        .context("cannot read the MRZ from stdin")?;
    Ok(text)
}

/// Parse, print the report (or the JSON document with `--json`), map validity to the
/// exit code.
pub fn run(args: &MrzArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let text = read_input(args)?;
    // The hint for MrzError lives in output::hint_of.
    let mrz = Mrz::parse(&text).context("cannot parse the MRZ")?;
    if global.json {
        print_json(&mrz)?;
    } else {
        super::output::print_text(&mrz.report())?;
    }
    Ok(if mrz.is_valid() {
        Outcome::ok()
    } else {
        Outcome::with(Exit::Invalid)
    })
}

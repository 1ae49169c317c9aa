//! `emrtd __decode-image` (hidden): the decoder process of
//! [`crate::lds::image::sandbox`]. Image bytes on stdin, PNG on stdout; on a refused
//! or undecodable image one line on stderr and exit status
//! [`sandbox::EXIT_REFUSED`] (3). With `--address-space` it sets the limit and
//! executes itself again, so the decoder starts (allocator included) under it.

use std::io::{Read, Write};

use anyhow::Context;
use clap::Args;

use super::{Exit, GlobalOpts, Outcome};

const _: () = assert!(sandbox::EXIT_REFUSED == Exit::Indeterminate as i32);
use crate::lds::image::{self, sandbox};

/// Arguments of the decoder process.
#[derive(Debug, Args)]
pub struct DecodeImageArgs {
    /// Lower the address-space limit (RLIMIT_AS) to this many bytes first.
    #[arg(long, value_name = "BYTES")]
    pub address_space: Option<u64>,
}

/// Run the decoder process.
pub fn run(args: &DecodeImageArgs, _global: &GlobalOpts) -> anyhow::Result<Outcome> {
    if let Some(bytes) = args.address_space {
        // The allocator reserved its address space when this process started, before
        // any limit: set the limit, then start afresh under it (limits survive exec).
        sandbox::limit_address_space(bytes).context("cannot set the address-space limit")?;
        let exe = std::env::current_exe().context("cannot find the emrtd binary")?;
        let err = std::os::unix::process::CommandExt::exec(
            std::process::Command::new(exe).arg(sandbox::SUBCOMMAND),
        );
        return Err(
            anyhow::Error::new(err).context("cannot restart the decoder under its address-space limit")
        );
    }
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .take(sandbox::MAX_INPUT as u64 + 1)
        .read_to_end(&mut input)
        .context("cannot read the image from stdin")?;
    if input.len() > sandbox::MAX_INPUT {
        eprintln!("image larger than {} bytes", sandbox::MAX_INPUT);
        return Ok(Outcome::with(Exit::Indeterminate));
    }
    match image::to_png_in_process(&input) {
        Ok(png) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&png).context("cannot write the PNG to stdout")?;
            out.flush().context("cannot write the PNG to stdout")?;
            Ok(Outcome::ok())
        }
        Err(e) => {
            eprintln!("{}", crate::error::text(&e));
            Ok(Outcome::with(Exit::Indeterminate))
        }
    }
}

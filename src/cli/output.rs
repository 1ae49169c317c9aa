//! Exit codes, error printing with hints, and small output helpers.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::{ColorChoice, GlobalOpts};

/// Exit codes of CLI.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: valid / success.
    Ok = 0,
    /// 1: a check failed (tampered, untrusted, revoked, clone).
    Invalid = 1,
    /// 2: operational error (no reader, wrong key, I/O, bad input, bad arguments).
    Error = 2,
    /// 3: nothing failed but something could not be checked.
    Indeterminate = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// What a command ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The exit code to return.
    pub exit: Exit,
}

impl Outcome {
    /// Success.
    pub fn ok() -> Self {
        Outcome { exit: Exit::Ok }
    }

    /// A given exit code.
    pub fn with(exit: Exit) -> Self {
        Outcome { exit }
    }
}

/// An error carrying a hint for the user (attach with `anyhow::Error::context` or
/// return it directly); [`print_error`] prints the first hint found in the chain.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    /// The message.
    pub message: String,
    /// What the user can do.
    pub hint: String,
}

/// Errors from the library that know a hint for the user implement this.
pub trait UserHint {
    /// A sentence telling the user what to do, if there is one.
    fn hint(&self) -> Option<String>;
}

/// Print `emrtd: error: …` with the cause chain, then a hint when one is known.
pub fn print_error(err: &anyhow::Error) {
    eprintln!("emrtd: error: {err:#}");
    if let Some(h) = find_hint(err) {
        eprintln!("hint: {h}");
    }
}

fn find_hint(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            return Some(h.hint.clone());
        }
        if let Some(h) = hint_of(cause) {
            return Some(h);
        }
    }
    None
}

/// Hints for library error types (extended as layers add errors users can act on).
fn hint_of(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<crate::reader::ReadError>()
        && let Some(h) = e.hint()
    {
        return Some(h);
    }
    if let Some(e) = cause.downcast_ref::<crate::access::AccessError>()
        && let Some(h) = e.hint()
    {
        return Some(h);
    }
    if let Some(e) = cause.downcast_ref::<crate::transport::TransportError>() {
        use crate::transport::TransportError as T;
        return match e {
            T::NoService => {
                Some("is pcscd running? (`pcscd --foreground` starts it; see docs/vpcd.md)".into())
            }
            T::NoReader { .. } => Some("`emrtd readers` lists the readers PC/SC sees".into()),
            T::NoCard { .. } | T::CardRemoved => {
                Some("place the document on the reader and keep it still".into())
            }
            _ => None,
        };
    }
    if cause.downcast_ref::<crate::mrz::MrzError>().is_some() {
        return Some(
            "give all 2 or 3 MRZ lines exactly as printed, separated by newlines, `\\n` or \
             spaces, in quotes (or `-` to read them from stdin)"
                .into(),
        );
    }
    None
}

/// Should human output use colour?
pub fn use_color(global: &GlobalOpts) -> bool {
    match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Print a serialisable value as one JSON document on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let s = serde_json::to_string_pretty(value)?;
    println!("{s}");
    Ok(())
}

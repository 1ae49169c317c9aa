//! Exit codes, error printing with hints, and small output helpers: the one terminal
//! sanitiser ([`sanitize_terminal`]), the one XML text escaper ([`xml_escape`]) and a
//! standard output that a closed pipe does not turn into a panic ([`stdout`]).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

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
/// Messages carry names and text from chips, certificates and files: they are
/// sanitised for the terminal. An error that is only a closed standard output
/// (`emrtd … | head`) prints nothing.
pub fn print_error(err: &anyhow::Error) {
    if is_broken_pipe(err) {
        return;
    }
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "emrtd: error: {}", sanitize_terminal(&format!("{err:#}")));
    if let Some(h) = find_hint(err) {
        let _ = writeln!(e, "hint: {}", sanitize_terminal(&h));
    }
}

/// Whether an error is (caused by) writing to a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
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
    let mut out = stdout();
    writeln!(out, "{s}")?;
    out.flush()?;
    Ok(())
}

/// Write text to stdout as it is (the caller has sanitised what came from outside).
pub fn print_text(s: &str) -> anyhow::Result<()> {
    let mut out = stdout();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Write a diagnostic line to stderr. Unlike `eprintln!`, a closed stderr
/// (`emrtd pkd list 2>&1 | head -1`) is not a panic: the line is dropped. The caller
/// sanitises what came from outside.
pub fn diag(args: std::fmt::Arguments<'_>) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_fmt(args).and_then(|()| e.write_all(b"\n"));
}

/// Set once standard output has been found closed (EPIPE).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether a write to standard output found it closed (a reader such as `head` went
/// away). Output after that is dropped; the command ends with its own exit code.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Standard output for command results. `println!` panics when the reader of a pipe
/// has gone (`emrtd pkd list | head -1`); this writer instead drops the rest of the
/// output once it sees EPIPE, so the command finishes and exits with the code its
/// result gives. Every other write error is returned.
pub fn stdout() -> Stdout {
    Stdout {
        inner: std::io::stdout().lock(),
    }
}

/// See [`stdout`].
pub struct Stdout {
    inner: std::io::StdoutLock<'static>,
}

impl Stdout {
    fn closed_on<T>(r: std::io::Result<T>, ok: T) -> std::io::Result<T> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(ok)
            }
            r => r,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if stdout_closed() {
            return Ok(buf.len());
        }
        Self::closed_on(self.inner.write(buf), buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if stdout_closed() {
            return Ok(());
        }
        Self::closed_on(self.inner.flush(), ())
    }
}

/// Whether a character must not reach a terminal as it is: C0 controls (newline and
/// tab included: a field is one line), DEL, C1 controls (CSI U+009B starts an escape
/// sequence on many terminals), the Unicode line and paragraph separators, and the
/// bidirectional marks, embeddings, overrides and isolates that reorder what is shown
/// (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
fn terminal_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// Make text from a chip, a certificate or a file safe to print on a terminal: every
/// control character and bidirectional override is shown escaped (`\n`, `\r`, `\t`,
/// `\x1B`, `\u{202E}`), so a name cannot clear the screen, set the window title,
/// move the cursor, start new lines or reorder a report. Printable text, non-ASCII
/// letters included, is returned unchanged (and without copying). Idempotent: the
/// escapes are printable ASCII.
pub fn sanitize_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(terminal_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !terminal_unsafe(c) {
            out.push(c);
            continue;
        }
        let _ = match c {
            '\n' => out.write_str("\\n"),
            '\r' => out.write_str("\\r"),
            '\t' => out.write_str("\\t"),
            c if u32::from(c) <= 0xff => write!(out, "\\x{:02X}", u32::from(c)),
            c => write!(out, "\\u{{{:04X}}}", u32::from(c)),
        };
    }
    Cow::Owned(out)
}

/// Escape text for XML character data and attribute values (JUnit, HTML): markup
/// characters become entities, and what [`sanitize_terminal`] escapes is escaped the
/// same way first. That covers every character XML 1.0 forbids (C0 controls other
/// than tab, newline and carriage return, which are escaped too) and U+FFFE/U+FFFF,
/// which are replaced by `\u{FFFE}`/`\u{FFFF}`; the output is always well-formed
/// and shows no control character to whoever reads it.
pub fn xml_escape(s: &str) -> String {
    let clean = sanitize_terminal(s);
    let mut out = String::with_capacity(clean.len() + 8);
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_is_escaped_not_interpreted() {
        let fake = "ACME CSCA\x1b[2J\x1b[H\x1b[1;32mVALID\x1b[0m\nline two\r\t\x00\x7f\u{9b}31m";
        let s = sanitize_terminal(fake);
        assert_eq!(
            s,
            "ACME CSCA\\x1B[2J\\x1B[H\\x1B[1;32mVALID\\x1B[0m\\nline two\\r\\t\\x00\\x7F\\x9B31m"
        );
        assert!(!s.chars().any(char::is_control));
        // idempotent
        assert_eq!(sanitize_terminal(&s), s);
    }

    #[test]
    fn bidi_overrides_are_escaped_and_letters_are_kept() {
        let s = sanitize_terminal("MÜLLER\u{202e}DILAV\u{2066}x\u{2069}\u{200f}\u{61c}\u{2028}");
        assert_eq!(
            s,
            "MÜLLER\\u{202E}DILAV\\u{2066}x\\u{2069}\\u{200F}\\u{061C}\\u{2028}"
        );
        assert!(matches!(
            sanitize_terminal("Ærøskøbing 東京 Ελλάδα"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn xml_escape_leaves_no_invalid_character() {
        let s = xml_escape("a<b>&\"'\x1b[2J\x00\n\u{fffe}\u{ffff}");
        assert_eq!(s, "a&lt;b&gt;&amp;&quot;&apos;\\x1B[2J\\x00\\n\\u{FFFE}\\u{FFFF}");
    }
}

//! `emrtd desk`: the officer's long-running mode (docs/desk.md). One reader (or the
//! emulator), MRZ lines on stdin or from a serial scanner, the verdict page on
//! loopback, an optional audit log.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use zeroize::Zeroizing;

use super::read::SessionArgs;
use super::{Exit, GlobalOpts, Outcome};
use crate::desk::audit::{AuditConfig, AuditLog, DEV_LOG, Facility, SyslogTarget};
use crate::desk::run::{Config, Desk, Input, Source};
use crate::desk::server::{self, Access};
use crate::pki::store;
use crate::rng::RandomSource;

/// Arguments of `emrtd desk`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("audit_dest").multiple(true).args(["audit_log", "audit_syslog"])))]
pub struct DeskArgs {
    /// PC/SC reader by name (substring) or index (default: the first reader).
    #[arg(long, value_name = "NAME|INDEX", conflicts_with = "emulator")]
    pub reader: Option<String>,
    /// Demo and tests: an in-process emulated document, on the reader from the start
    /// (`:remove`, `:place [PROFILE]` on stdin take it off and put it back).
    #[arg(long, value_name = "PROFILE")]
    pub emulator: Option<PathBuf>,
    /// Where the page is served (port 0: any free port, printed on stderr).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9303")]
    pub listen: SocketAddr,
    /// Allow a non-loopback --listen address; every request then needs the token.
    #[arg(long)]
    pub allow_remote: bool,
    /// The token for --allow-remote (default: $EMRTD_DESK_TOKEN, else a random one printed once).
    #[arg(long, value_name = "FILE", requires = "allow_remote")]
    pub token_file: Option<PathBuf>,
    /// Read MRZ lines from a serial OCR scanner instead of stdin (set the line up with `stty`).
    #[arg(long, value_name = "DEV")]
    pub mrz_serial: Option<PathBuf>,
    /// Append one JSON line per document to FILE (no holder data; document number as HMAC).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Send the same line to syslog (the local socket, /dev/log) with FACILITY
    /// (default local0; auth, authpriv, daemon, user, local0 … local7); with or without --audit-log.
    #[arg(
        long,
        value_name = "FACILITY",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "local0"
    )]
    pub audit_syslog: Option<Facility>,
    /// The syslog socket for --audit-syslog (a chroot or container may have it elsewhere).
    #[arg(long, value_name = "PATH", default_value = DEV_LOG, requires = "audit_syslog")]
    pub audit_syslog_socket: PathBuf,
    /// The audit HMAC key file (default: FILE.key next to the log, or with syslog alone
    /// desk-audit.key in ~/.local/share/emrtd; created on first use; $EMRTD_DESK_AUDIT_KEY overrides).
    #[arg(long, value_name = "FILE", requires = "audit_dest")]
    pub audit_key: Option<PathBuf>,
    /// Write the holder's data (names, document number, nationality, dates, sex) in the
    /// audit lines too; by default they carry none and the number only as a keyed hash.
    #[arg(long, requires = "audit_dest")]
    pub audit_holder_data: bool,
    /// Check validity at this date instead of today (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub at: Option<String>,
    /// Access protocol, read tuning, Terminal Authentication (DG3/DG4), as for `read`
    /// and `verify`.
    #[command(flatten)]
    pub session: SessionArgs,
}

fn token(args: &DeskArgs) -> anyhow::Result<Zeroizing<String>> {
    if let Some(p) = &args.token_file {
        let t = Zeroizing::new(
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the token file {}", p.display()))?,
        );
        let t = Zeroizing::new(t.trim().to_string());
        if t.len() < 16 {
            bail!(
                "the token in {} is too short (at least 16 characters)",
                p.display()
            );
        }
        return Ok(t);
    }
    if let Ok(t) = std::env::var("EMRTD_DESK_TOKEN") {
        let t = Zeroizing::new(t.trim().to_string());
        if t.len() < 16 {
            bail!("$EMRTD_DESK_TOKEN is too short (at least 16 characters)");
        }
        return Ok(t);
    }
    let t = Zeroizing::new(hex::encode(crate::rng::OsRandom.bytes(16)));
    eprintln!(
        "emrtd desk: access token (give it as ?token=… in the URL): {}",
        t.as_str()
    );
    Ok(t)
}

fn spawn_lines<R: BufRead + Send + 'static>(mut reader: R, tx: std::sync::mpsc::Sender<Input>) {
    let _ = std::thread::Builder::new()
        .name("desk-stdin".into())
        .spawn(move || {
            loop {
                let mut line = Zeroizing::new(String::new());
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send(Input::Line(line)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
}

/// The longest line a scanner may send (a whole TD1 MRZ on one line is 90 characters):
/// longer runs of bytes without a line end are noise and are dropped.
const SERIAL_LINE_MAX: usize = 256;

/// Read lines ending in CR, LF or CR LF (OCR scanners end their lines with either, and
/// `stty raw` leaves CR as it is), sending each non-empty one; `Err` when the sender is
/// gone, `Ok` at the end of the device (unplugged).
fn serial_lines<R: std::io::Read>(dev: R, tx: &std::sync::mpsc::Sender<Input>) -> Result<(), ()> {
    use std::io::Read;
    let mut line = Zeroizing::new(Vec::<u8>::with_capacity(SERIAL_LINE_MAX));
    let mut too_long = false;
    for byte in std::io::BufReader::new(dev).bytes() {
        let Ok(b) = byte else { return Ok(()) };
        if b == b'\r' || b == b'\n' {
            if !line.is_empty() && !too_long {
                let text = Zeroizing::new(String::from_utf8_lossy(&line).into_owned());
                tx.send(Input::Line(text)).map_err(|_| ())?;
            }
            line.clear();
            too_long = false;
        } else if line.len() < SERIAL_LINE_MAX {
            line.push(b);
        } else {
            too_long = true;
        }
    }
    Ok(())
}

fn spawn_serial(dev: PathBuf, tx: std::sync::mpsc::Sender<Input>) {
    let _ = std::thread::Builder::new()
        .name("desk-serial".into())
        .spawn(move || {
            let mut reported = false;
            loop {
                match std::fs::File::open(&dev) {
                    Ok(f) => {
                        reported = false;
                        if serial_lines(f, &tx).is_err() {
                            return;
                        }
                    }
                    Err(e) if !reported => {
                        eprintln!(
                            "emrtd desk: the MRZ scanner {} cannot be opened: {e}; retrying",
                            dev.display()
                        );
                        reported = true;
                    }
                    Err(_) => {}
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
}

/// Run `emrtd desk` until SIGINT/SIGTERM.
pub fn run(args: &DeskArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let loopback = args.listen.ip().is_loopback();
    if !loopback && !args.allow_remote {
        return Err(anyhow::Error::new(super::output::Hinted {
            message: format!("--listen {} is not a loopback address", args.listen),
            hint: "the page shows personal data: serve it on 127.0.0.1, or add --allow-remote (a token is then required)"
                .into(),
        }));
    }
    let access = Access {
        token: if args.allow_remote {
            Some(Arc::new(token(args)?))
        } else {
            None
        },
        loopback: loopback && !args.allow_remote,
    };
    let at = match &args.at {
        Some(_) => Some(super::verify::parse_at(args.at.as_deref())?),
        None => None,
    };
    let source = match &args.emulator {
        #[cfg(feature = "emulator")]
        Some(p) => Source::Emulator {
            profile: Box::new(super::source::load_profile(p)?),
        },
        #[cfg(not(feature = "emulator"))]
        Some(p) => return Err(super::source::without_emulator(p)),
        None => Source::Pcsc {
            reader: args.reader.clone(),
        },
    };
    let store_path = store::default_path(global.store.as_deref())?;
    if !store_path.exists() && !global.quiet {
        eprintln!(
            "emrtd desk: no trust store at {} — certificate checks will be indeterminate (import CSCAs with `emrtd pkd import`)",
            store_path.display()
        );
    }
    let audit = if args.audit_log.is_some() || args.audit_syslog.is_some() {
        Some(AuditLog::open(
            &AuditConfig {
                file: args.audit_log.clone(),
                syslog: args.audit_syslog.map(|facility| SyslogTarget {
                    socket: args.audit_syslog_socket.clone(),
                    facility,
                }),
                key_file: args.audit_key.clone(),
                holder_data: args.audit_holder_data,
            },
            &mut crate::rng::OsRandom,
        )?)
    } else {
        None
    };
    // the terminal credentials are checked now, not at the first document
    let read = args.session.options(global, None, None, false)?;
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let desk = Desk::start(Config {
        source,
        store: Some(store_path),
        at,
        read,
        audit,
        log: !global.quiet,
    })?;
    let (key_tx, key_rx) = std::sync::mpsc::channel::<Zeroizing<String>>();
    let (addr, _server) = server::spawn(listener, access, desk.snapshots(), key_tx)?;
    let tx = desk.sender();
    {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("desk-page-keys".into())
            .spawn(move || {
                while let Ok(k) = key_rx.recv() {
                    if tx.send(Input::PageKey(k)).is_err() {
                        return;
                    }
                }
            })?;
    }
    match &args.mrz_serial {
        Some(dev) => spawn_serial(dev.clone(), tx.clone()),
        None => spawn_lines(std::io::BufReader::new(std::io::stdin()), tx.clone()),
    }
    eprintln!("emrtd desk: page at http://{addr}/");
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("cannot install the SIGINT/SIGTERM handler")?;
    let _ = stop_rx.recv();
    eprintln!("emrtd desk: stopping");
    desk.stop();
    Ok(Outcome::with(Exit::Ok))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<String> {
        let (tx, rx) = std::sync::mpsc::channel();
        serial_lines(bytes, &tx).unwrap();
        drop(tx);
        rx.iter()
            .map(|i| match i {
                Input::Line(l) => l.to_string(),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn serial_lines_end_in_cr_lf_or_both() {
        assert_eq!(lines(b"AB\rCD\nEF\r\nGH\r\r"), ["AB", "CD", "EF", "GH"]);
        // a line without its end is not sent; noise longer than any MRZ is dropped
        let mut noisy = vec![b'X'; SERIAL_LINE_MAX + 10];
        noisy.extend_from_slice(b"\rOK\rPARTIAL");
        assert_eq!(lines(&noisy), ["OK"]);
    }
}

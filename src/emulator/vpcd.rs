//! The software chip as a card in a real PC/SC stack, through the `vpcd` driver of
//! vsmartcard (`libifdvpcd`, Debian package `vsmartcard-vpcd`) loaded by pcscd.
//!
//! The driver is the TCP *server* (one port per virtual reader: 35963 for
//! "Virtual PCD 00 00", 35964 for "Virtual PCD 00 01"); the card is the client. A
//! card that connects is inserted, a card that closes its socket is removed.
//!
//! Wire format, both directions: a 2-byte big-endian length, then that many bytes.
//! From the driver, a 1-byte message is a control code ([`Message`]): power off,
//! power on, reset, get ATR; only get ATR is answered (with the ATR, framed the same
//! way). Any longer message is a command APDU (ISO/IEC 7816-4 §5.1, short or
//! extended), answered by one framed response APDU (data, SW1 SW2).
//!
//! A real chip loses its secure session when it is powered off or reset (Doc 9303
//! Part 11 §9.8: the session keys live only as long as the session), so every power
//! control code drops BAC/PACE/SM state through [`Emulator::reset`].
//!
//! Privacy: nothing here logs APDU contents. With a [`TraceLog`] the exchanges are
//! recorded through [`Recorder`] and written redacted unless the caller asks for a
//! plain trace.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use thiserror::Error;

use super::Emulator;
use super::profile::Profile;
use crate::transport::trace::{Recorder, TraceLog};
use crate::transport::{Transport, TransportError};

/// Where the vpcd driver listens by default (reader "Virtual PCD 00 00").
pub const DEFAULT_ADDR: &str = "127.0.0.1:35963";

/// Largest payload of one vpcd frame (the length prefix has two bytes).
pub const MAX_FRAME: usize = 0xFFFF;

/// Longest ATR (ISO/IEC 7816-3 §8.2.1).
pub const MAX_ATR: usize = 33;

/// Most plain bytes one READ BINARY may return through vpcd: the response must fit
/// one frame together with the secure-messaging overhead (DO'87 header and padding,
/// DO'99, DO'8E, an odd-INS DO'53 header, SW1 SW2 — less than 64 bytes in all).
pub const MAX_READ_OVER_VPCD: usize = MAX_FRAME - 64;

/// Status word sent when a response cannot be framed (ISO/IEC 7816-4: no precise
/// diagnosis).
const SW_NO_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// How long a socket read waits before the stop flag is checked again.
const POLL: Duration = Duration::from_millis(100);

/// Errors of the vpcd card side.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VpcdError {
    /// The address does not resolve.
    #[error("invalid vpcd address {addr:?} (expected HOST:PORT)")]
    Address {
        /// The address given.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The address resolves to nothing.
    #[error("vpcd address {addr:?} resolves to no address")]
    NoAddress {
        /// The address given.
        addr: String,
    },
    /// A non-loopback address without permission.
    #[error("vpcd address {addr} is not a loopback address")]
    NotLoopback {
        /// The resolved address.
        addr: SocketAddr,
    },
    /// The ATR cannot be sent.
    #[error("ATR of {len} bytes is longer than {MAX_ATR}")]
    AtrTooLong {
        /// Its length.
        len: usize,
    },
    /// A payload does not fit one frame.
    #[error("{len} bytes do not fit a vpcd frame (at most {MAX_FRAME})")]
    FrameTooLong {
        /// Its length.
        len: usize,
    },
    /// The trace file could not be written.
    #[error("cannot write the trace {path}")]
    Trace {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// A message from the vpcd driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `00`: power off (the card loses its session).
    PowerOff,
    /// `01`: power on (cold start).
    PowerOn,
    /// `02`: reset (warm start: the session is lost).
    Reset,
    /// `04`: get ATR; the only control code answered.
    GetAtr,
    /// Another 1-byte message (ignored).
    UnknownControl(u8),
    /// An empty frame (ignored).
    Empty,
    /// A command APDU.
    Apdu(Vec<u8>),
}

impl Message {
    /// Classify one frame's payload.
    pub fn decode(payload: Vec<u8>) -> Message {
        match payload.as_slice() {
            [] => Message::Empty,
            [0x00] => Message::PowerOff,
            [0x01] => Message::PowerOn,
            [0x02] => Message::Reset,
            [0x04] => Message::GetAtr,
            [c] => Message::UnknownControl(*c),
            _ => Message::Apdu(payload),
        }
    }
}

/// Frame a payload: 2-byte big-endian length, then the bytes.
pub fn encode_frame(payload: &[u8]) -> Result<Vec<u8>, VpcdError> {
    let len = u16::try_from(payload.len()).map_err(|_| VpcdError::FrameTooLong { len: payload.len() })?;
    let mut out = Vec::with_capacity(payload.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// What one read attempt on the socket gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Poll {
    /// A complete frame's payload.
    Frame(Vec<u8>),
    /// Nothing complete yet (the read timed out).
    Idle,
    /// The peer closed the connection.
    Closed,
}

/// Reassembles frames from a byte stream whose reads may time out mid-frame. The
/// buffer never exceeds one frame plus one read chunk: the length prefix bounds it.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    /// A reader with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next complete frame already buffered, if any.
    fn take_frame(&mut self) -> Option<Vec<u8>> {
        let (len, rest) = self.buf.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let payload = rest.get(..len)?.to_vec();
        self.buf.drain(..2 + len);
        Some(payload)
    }

    /// Read until a frame is complete, the read times out, or the peer closes.
    pub fn poll(&mut self, r: &mut impl Read) -> std::io::Result<Poll> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(f) = self.take_frame() {
                return Ok(Poll::Frame(f));
            }
            match r.read(&mut chunk) {
                Ok(0) => return Ok(Poll::Closed),
                Ok(n) => self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(Poll::Idle);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Resolve `HOST:PORT`; unless `allow_remote`, every address must be loopback (the
/// vpcd link is plain TCP: anyone on the path sees the APDUs).
pub fn resolve(addr: &str, allow_remote: bool) -> Result<Vec<SocketAddr>, VpcdError> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|source| VpcdError::Address {
            addr: addr.to_string(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(VpcdError::NoAddress {
            addr: addr.to_string(),
        });
    }
    if !allow_remote && let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        return Err(VpcdError::NotLoopback { addr: *a });
    }
    Ok(addrs)
}

/// Fit a profile to the vpcd link: a response must fit one frame, so a chip that
/// would return more than [`MAX_READ_OVER_VPCD`] bytes per READ BINARY is capped
/// there. Returns the original value when it was lowered.
pub fn fit_profile(profile: &mut Profile) -> Option<usize> {
    let before = profile.chip.max_read;
    (before > MAX_READ_OVER_VPCD).then(|| {
        profile.chip.max_read = MAX_READ_OVER_VPCD;
        before
    })
}

/// Something the server did, for the caller to report (never APDU contents).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The driver talks to the card: it is inserted in the reader. `count` is 1 for
    /// the first time.
    Inserted {
        /// The driver's address.
        addr: SocketAddr,
        /// How many times the card was inserted so far.
        count: u64,
    },
    /// Connected, but the driver has said nothing for a while: the reader probably
    /// holds another virtual card already.
    Silent {
        /// The driver's address.
        addr: SocketAddr,
        /// How long it has been silent.
        after: Duration,
    },
    /// Cannot connect (pcscd not running, or without the vpcd driver). Reported on
    /// the first failure and then at most every [`ServeOptions::report_every`].
    Waiting {
        /// The address tried last.
        addr: SocketAddr,
        /// Attempts since the last connection.
        attempts: u64,
        /// The last failure.
        error: &'a std::io::Error,
    },
    /// The driver closed the connection (pcscd stopped or restarted).
    Disconnected {
        /// What happened.
        reason: &'a str,
    },
    /// A profile fault removed the card; it is inserted again after the delay.
    FaultRemoved {
        /// How long the card stays out of the reader.
        out_for: Duration,
    },
    /// A power control code (only reported, never with APDU data).
    Power(&'a Message),
    /// A response could not be framed and `6F00` was sent instead.
    Oversize {
        /// Its length.
        len: usize,
    },
}

/// Timing of the connection loop.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// First retry delay after a failed connection.
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// How often a continuing failure to connect is reported again.
    pub report_every: Duration,
    /// How long a card removed by a profile fault stays out of the reader. pcscd
    /// polls presence about every 400 ms and must see the reader empty, or it keeps
    /// the old card's state (and refuses connections to the new one).
    pub reinsert_after: Duration,
    /// After connecting, how long a silent driver is waited for before
    /// [`Event::Silent`] is reported (once per connection).
    pub silent_after: Duration,
    /// Give up after this many failed connection attempts in a row (`None`: never).
    pub max_attempts: Option<u64>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            report_every: Duration::from_secs(30),
            reinsert_after: Duration::from_secs(1),
            silent_after: Duration::from_secs(5),
            max_attempts: None,
        }
    }
}

/// How one connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The stop flag was set.
    Stopped,
    /// The driver closed the connection or it failed.
    Closed,
    /// The card was removed (a profile fault): the socket is closed on purpose.
    Removed,
}

/// The chip, recorded or not.
enum Chip {
    Plain(Box<Emulator>),
    Traced(Box<Recorder<Emulator>>),
}

impl Chip {
    fn emulator(&self) -> Option<&Emulator> {
        match self {
            Chip::Plain(e) => Some(e),
            Chip::Traced(_) => None,
        }
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self {
            Chip::Plain(e) => e.transmit(apdu),
            Chip::Traced(r) => r.transmit(apdu),
        }
    }
}

/// Where a trace goes: appended to a file at the end of each card session.
struct TraceSink {
    path: PathBuf,
    plain: bool,
    sessions: u64,
}

/// The emulated chip as a vpcd card.
pub struct VirtualCard {
    chip: Option<Chip>,
    atr: Vec<u8>,
    trace: Option<TraceSink>,
    inserted: u64,
}

impl VirtualCard {
    /// A card serving `emulator` (fit its profile with [`fit_profile`] first).
    pub fn new(emulator: Emulator) -> Result<Self, VpcdError> {
        let atr = emulator.profile().atr();
        if atr.len() > MAX_ATR {
            return Err(VpcdError::AtrTooLong { len: atr.len() });
        }
        Ok(VirtualCard {
            chip: Some(Chip::Plain(Box::new(emulator))),
            atr,
            trace: None,
            inserted: 0,
        })
    }

    /// Record every exchange and append it to `path` (JSON lines, redacted unless
    /// `plain`) at the end of each card session (power off, reset, removal, stop).
    /// The file is created (truncated) now.
    pub fn with_trace(mut self, path: PathBuf, plain: bool) -> Result<Self, VpcdError> {
        std::fs::File::create(&path).map_err(|source| VpcdError::Trace {
            path: path.clone(),
            source,
        })?;
        self.trace = Some(TraceSink {
            path,
            plain,
            sessions: 0,
        });
        self.begin_session();
        Ok(self)
    }

    /// The ATR sent to the driver.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The emulator, when no trace wraps it (tests inspect its counters).
    pub fn emulator(&self) -> Option<&Emulator> {
        self.chip.as_ref().and_then(Chip::emulator)
    }

    fn take_emulator(&mut self) -> Option<Emulator> {
        match self.chip.take()? {
            Chip::Plain(e) => Some(*e),
            Chip::Traced(r) => Some(r.into_inner()),
        }
    }

    /// Start a new trace session (a fresh log, so memory stays bounded by one
    /// card session) around the emulator.
    fn begin_session(&mut self) {
        let Some(emu) = self.take_emulator() else {
            return;
        };
        self.chip = Some(match &mut self.trace {
            Some(sink) => {
                sink.sessions += 1;
                let log = TraceLog::new();
                log.set_context(format!("card session {}", sink.sessions));
                Chip::Traced(Box::new(Recorder::new(emu, log)))
            }
            None => Chip::Plain(Box::new(emu)),
        });
    }

    /// Append the current session's exchanges to the trace file. Every caller but
    /// the final one starts a new session (a fresh log) right after, so no exchange
    /// is written twice.
    fn flush_trace(&mut self) -> Result<(), VpcdError> {
        let (Some(sink), Some(Chip::Traced(rec))) = (&self.trace, &self.chip) else {
            return Ok(());
        };
        let log = rec.log();
        if log.is_empty() {
            return Ok(());
        }
        let err = |source| VpcdError::Trace {
            path: sink.path.clone(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&sink.path)
            .map_err(err)?;
        log.write_jsonl(&mut f, sink.plain).map_err(err)?;
        Ok(())
    }

    /// End the card session: write the trace, reset the chip (the secure channel and
    /// the selection are gone), start a new session.
    fn power_cycle(&mut self) -> Result<(), VpcdError> {
        self.flush_trace()?;
        let mut emu = self.take_emulator();
        if let Some(e) = emu.as_mut() {
            e.reset();
        }
        self.chip = emu.map(|e| Chip::Plain(Box::new(e)));
        self.begin_session();
        Ok(())
    }

    /// The card is presented again after a removal: the chip comes back fresh.
    fn reinsert(&mut self) -> Result<(), VpcdError> {
        self.flush_trace()?;
        let mut emu = self.take_emulator();
        if let Some(e) = emu.as_mut() {
            // the emulator's own reconnect cannot fail; it clears the removal
            let _ = e.reconnect();
        }
        self.chip = emu.map(|e| Chip::Plain(Box::new(e)));
        self.begin_session();
        Ok(())
    }

    /// Handle one message: nothing to send (power control), a framed reply, or
    /// [`Reply::Remove`] when the card leaves the reader (a profile fault).
    pub fn handle(&mut self, msg: &Message, events: &mut dyn FnMut(Event<'_>)) -> Result<Reply, VpcdError> {
        match msg {
            Message::GetAtr => Ok(Reply::Send(encode_frame(&self.atr)?)),
            Message::PowerOff | Message::PowerOn | Message::Reset => {
                events(Event::Power(msg));
                self.power_cycle()?;
                Ok(Reply::Nothing)
            }
            Message::UnknownControl(_) | Message::Empty => Ok(Reply::Nothing),
            Message::Apdu(apdu) => {
                let Some(chip) = self.chip.as_mut() else {
                    return Ok(Reply::Send(encode_frame(&SW_NO_DIAGNOSIS)?));
                };
                match chip.transmit(apdu) {
                    Ok(resp) => match encode_frame(&resp) {
                        Ok(f) if resp.len() >= 2 => Ok(Reply::Send(f)),
                        _ => {
                            events(Event::Oversize { len: resp.len() });
                            Ok(Reply::Send(encode_frame(&SW_NO_DIAGNOSIS)?))
                        }
                    },
                    Err(TransportError::CardRemoved) => Ok(Reply::Remove),
                    Err(_) => Ok(Reply::Send(encode_frame(&SW_NO_DIAGNOSIS)?)),
                }
            }
        }
    }

    /// Serve one connection until it closes, the card is removed, or `stop` is set.
    pub fn serve_connection(
        &mut self,
        stream: &mut TcpStream,
        stop: &AtomicBool,
        options: &ServeOptions,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<SessionEnd, VpcdError> {
        let addr = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let _ = stream.set_nodelay(true);
        if stream.set_read_timeout(Some(POLL)).is_err() {
            return Ok(SessionEnd::Closed);
        }
        let mut reader = FrameReader::new();
        let connected_at = Instant::now();
        let mut heard = false;
        let mut silent_reported = false;
        loop {
            if stop.load(Ordering::SeqCst) {
                let _ = stream.shutdown(Shutdown::Both);
                return Ok(SessionEnd::Stopped);
            }
            quick_ack(stream);
            let frame = match reader.poll(stream) {
                Ok(Poll::Frame(f)) => f,
                Ok(Poll::Idle) => {
                    if !heard && !silent_reported && connected_at.elapsed() >= options.silent_after {
                        silent_reported = true;
                        events(Event::Silent {
                            addr,
                            after: connected_at.elapsed(),
                        });
                    }
                    continue;
                }
                Ok(Poll::Closed) => {
                    events(Event::Disconnected {
                        reason: "vpcd closed the connection",
                    });
                    return Ok(SessionEnd::Closed);
                }
                Err(_) => {
                    events(Event::Disconnected {
                        reason: "the connection to vpcd failed",
                    });
                    return Ok(SessionEnd::Closed);
                }
            };
            if !heard {
                heard = true;
                self.inserted += 1;
                events(Event::Inserted {
                    addr,
                    count: self.inserted,
                });
            }
            let msg = Message::decode(frame);
            match self.handle(&msg, events)? {
                Reply::Nothing => {}
                Reply::Send(bytes) => {
                    if stream.write_all(&bytes).and_then(|()| stream.flush()).is_err() {
                        events(Event::Disconnected {
                            reason: "the connection to vpcd failed",
                        });
                        return Ok(SessionEnd::Closed);
                    }
                }
                Reply::Remove => {
                    let _ = stream.shutdown(Shutdown::Both);
                    return Ok(SessionEnd::Removed);
                }
            }
        }
    }

    /// Connect to the driver at `addrs` and serve until `stop` is set: reconnect with
    /// backoff when pcscd goes away, re-insert the card after a fault removed it. The
    /// trace is written at the end of every card session and on stop.
    pub fn serve(
        &mut self,
        addrs: &[SocketAddr],
        stop: &AtomicBool,
        options: &ServeOptions,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), VpcdError> {
        let mut attempts: u64 = 0;
        let mut backoff = options.backoff_min;
        let mut last_report: Option<Instant> = None;
        while !stop.load(Ordering::SeqCst) {
            let mut connected = None;
            let mut last_err = None;
            for addr in addrs {
                match TcpStream::connect_timeout(addr, Duration::from_secs(2)) {
                    Ok(s) => {
                        connected = Some(s);
                        break;
                    }
                    Err(e) => last_err = Some((*addr, e)),
                }
            }
            let Some(mut stream) = connected else {
                attempts += 1;
                if let Some((addr, error)) = &last_err {
                    let due = last_report.is_none_or(|t| t.elapsed() >= options.report_every);
                    if due {
                        last_report = Some(Instant::now());
                        events(Event::Waiting {
                            addr: *addr,
                            attempts,
                            error,
                        });
                    }
                }
                if options.max_attempts.is_some_and(|m| attempts >= m) {
                    break;
                }
                sleep_unless_stopped(backoff, stop);
                backoff = (backoff * 2).min(options.backoff_max);
                continue;
            };
            attempts = 0;
            backoff = options.backoff_min;
            last_report = None;
            // a new connection is a new insertion: the chip starts fresh
            self.power_cycle()?;
            match self.serve_connection(&mut stream, stop, options, events)? {
                SessionEnd::Stopped => break,
                SessionEnd::Closed => {
                    // the session's trace is written by the power cycle of the next
                    // connection, or on stop
                    sleep_unless_stopped(options.backoff_min, stop);
                }
                SessionEnd::Removed => {
                    events(Event::FaultRemoved {
                        out_for: options.reinsert_after,
                    });
                    drop(stream);
                    sleep_unless_stopped(options.reinsert_after, stop);
                    self.reinsert()?;
                }
            }
        }
        self.flush_trace()
    }
}

/// What to do after a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Nothing (power control codes).
    Nothing,
    /// Send these bytes (already framed).
    Send(Vec<u8>),
    /// Close the connection: the card leaves the reader.
    Remove,
}

/// Acknowledge received segments at once. The driver writes each message's length
/// prefix and its payload with two `send` calls on a socket with Nagle's algorithm
/// on, so the payload waits for the ACK of the prefix; with delayed ACKs that costs
/// 40 ms per message (measured: 44 ms per APDU through pcscd without this). Linux
/// leaves quick-ACK mode on its own, so it is set again before every read.
#[cfg(target_os = "linux")]
fn quick_ack(stream: &TcpStream) {
    use std::os::linux::net::TcpStreamExt;
    let _ = stream.set_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_stream: &TcpStream) {}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

#[cfg(test)]
mod tests;

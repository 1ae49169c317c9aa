//! APDU trace recording (`--trace FILE`): one JSON line per exchange.
//!
//! [`Recorder`] wraps any transport and records every exchange into a shared
//! [`TraceLog`]. Layers above (secure messaging) may annotate the latest entry with
//! the unwrapped plain command and response through [`TraceLog::annotate_plain`].
//!
//! By default the written trace is redacted: it keeps headers, lengths, status
//! words and timing, but no data bytes except plain SELECT file identifiers. That
//! keeps MRZ-derived cryptograms (which allow an offline MRZ search), keys and
//! DG1/DG2/DG11 content out of it. `--trace-plain` writes everything, for forensic use.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use super::{Transport, TransportError, TransportInfo};

/// One recorded exchange.
#[derive(Debug, Clone, Default)]
pub struct TraceEntry {
    /// Sequence number from 0.
    pub seq: usize,
    /// Milliseconds since the recorder was created, when the command was sent.
    pub t_ms: f64,
    /// Milliseconds the exchange took.
    pub dur_ms: f64,
    /// Command bytes on the wire.
    pub command: Vec<u8>,
    /// Response bytes on the wire (empty when the link failed).
    pub response: Vec<u8>,
    /// Unwrapped plain command, when secure messaging annotated it.
    pub plain_command: Option<Vec<u8>>,
    /// Unwrapped plain response (data + SW), when secure messaging annotated it.
    pub plain_response: Option<Vec<u8>>,
    /// What the reader was doing ("BAC", "read DG1", …).
    pub context: Option<String>,
    /// Link error, if the exchange failed.
    pub error: Option<String>,
}

/// A shared, append-only log of exchanges.
#[derive(Debug, Clone, Default)]
pub struct TraceLog {
    inner: Arc<Mutex<LogInner>>,
}

#[derive(Debug, Default)]
struct LogInner {
    entries: Vec<TraceEntry>,
    context: Option<String>,
}

impl TraceLog {
    /// A new empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut LogInner) -> R) -> R {
        // a poisoned lock only means another thread panicked while logging; the
        // entries are still usable
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard)
    }

    /// Set what the following exchanges are for.
    pub fn set_context(&self, context: impl Into<String>) {
        let c = context.into();
        self.with(|l| l.context = Some(c));
    }

    /// Attach plain (SM-unwrapped) bytes to the latest entry.
    pub fn annotate_plain(&self, command: &[u8], response: &[u8]) {
        self.with(|l| {
            if let Some(e) = l.entries.last_mut() {
                e.plain_command = Some(command.to_vec());
                e.plain_response = Some(response.to_vec());
            }
        });
    }

    fn push(&self, mut entry: TraceEntry) {
        self.with(|l| {
            entry.seq = l.entries.len();
            entry.context = l.context.clone();
            l.entries.push(entry);
        });
    }

    /// A copy of all entries.
    pub fn entries(&self) -> Vec<TraceEntry> {
        self.with(|l| l.entries.clone())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.with(|l| l.entries.len())
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Write the log as JSON lines, redacted unless `plain`.
    pub fn write_jsonl(&self, out: &mut dyn Write, plain: bool) -> std::io::Result<()> {
        for e in self.entries() {
            let line = if plain { plain_line(&e) } else { redacted_line(&e) };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct Line {
    seq: usize,
    t_ms: f64,
    dur_ms: f64,
    context: Option<String>,
    command: String,
    response: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    plain_command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plain_response: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    redacted: bool,
}

fn plain_line(e: &TraceEntry) -> Line {
    Line {
        seq: e.seq,
        t_ms: round3(e.t_ms),
        dur_ms: round3(e.dur_ms),
        context: e.context.clone(),
        command: hex::encode_upper(&e.command),
        response: hex::encode_upper(&e.response),
        plain_command: e.plain_command.as_deref().map(hex::encode_upper),
        plain_response: e.plain_response.as_deref().map(hex::encode_upper),
        error: e.error.clone(),
        redacted: false,
    }
}

/// Keep the 4-byte header and, for a plain SELECT, the file identifier or AID;
/// replace every other data byte by its count.
fn redact_command(cmd: &[u8]) -> String {
    let Some(header) = cmd.get(..4) else {
        return format!("<{} bytes>", cmd.len());
    };
    let ins = header.get(1).copied().unwrap_or(0);
    let cla = header.first().copied().unwrap_or(0);
    let sm = cla & 0x0C != 0;
    if ins == 0xA4 && !sm {
        return hex::encode_upper(cmd);
    }
    if cmd.len() <= 5 {
        // header and at most Le: nothing secret
        return hex::encode_upper(cmd);
    }
    format!("{}<{} bytes redacted>", hex::encode_upper(header), cmd.len() - 4)
}

fn redact_response(resp: &[u8]) -> String {
    match resp.len() {
        0..=2 => hex::encode_upper(resp),
        n => format!(
            "<{} bytes redacted>{}",
            n - 2,
            hex::encode_upper(resp.get(n - 2..).unwrap_or_default())
        ),
    }
}

fn redacted_line(e: &TraceEntry) -> Line {
    Line {
        seq: e.seq,
        t_ms: round3(e.t_ms),
        dur_ms: round3(e.dur_ms),
        context: e.context.clone(),
        command: redact_command(&e.command),
        response: redact_response(&e.response),
        plain_command: e.plain_command.as_deref().map(redact_command),
        plain_response: e.plain_response.as_deref().map(redact_response),
        error: e.error.clone(),
        redacted: true,
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A transport that records every exchange of the transport it wraps.
pub struct Recorder<T: Transport> {
    inner: T,
    log: TraceLog,
    start: Instant,
}

impl<T: Transport> Recorder<T> {
    /// Record `inner` into `log`.
    pub fn new(inner: T, log: TraceLog) -> Self {
        Recorder {
            inner,
            log,
            start: Instant::now(),
        }
    }

    /// The log.
    pub fn log(&self) -> &TraceLog {
        &self.log
    }

    /// Unwrap.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for Recorder<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let t0 = Instant::now();
        let result = self.inner.transmit(command);
        let mut entry = TraceEntry {
            t_ms: (t0 - self.start).as_secs_f64() * 1000.0,
            dur_ms: t0.elapsed().as_secs_f64() * 1000.0,
            command: command.to_vec(),
            ..TraceEntry::default()
        };
        match &result {
            Ok(r) => entry.response = r.clone(),
            Err(e) => entry.error = Some(e.to_string()),
        }
        self.log.push(entry);
        result
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.log.set_context("reconnect");
        self.inner.reconnect()
    }

    fn info(&self) -> TransportInfo {
        self.inner.info()
    }

    fn modelled_ms(&self) -> Option<f64> {
        self.inner.modelled_ms()
    }

    fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
        self.inner.set_deadline(deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::replay::ScriptedTransport;

    #[test]
    fn redacted_trace_hides_data() {
        let log = TraceLog::new();
        let t = ScriptedTransport::new()
            .any(hex::decode("00112233445566779000").unwrap())
            .any(hex::decode("9000").unwrap());
        let mut r = Recorder::new(t, log.clone());
        log.set_context("BAC");
        r.transmit(&hex::decode("0082000028AABBCCDDEEFF00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF0011223344556628").unwrap())
            .unwrap();
        r.transmit(&hex::decode("00A4020C02011E").unwrap()).unwrap();
        let mut out = Vec::new();
        log.write_jsonl(&mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("AABBCCDDEEFF"), "{text}");
        assert!(!text.contains("0011223344556677"), "{text}");
        assert!(text.contains("00A4020C02011E"));
        assert!(text.contains("\"context\":\"BAC\""));
        let mut plain = Vec::new();
        log.write_jsonl(&mut plain, true).unwrap();
        assert!(String::from_utf8(plain).unwrap().contains("AABBCCDDEEFF"));
    }
}

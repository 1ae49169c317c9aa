//! PC/SC readers through the `pcsc` crate (pcsc-lite on Linux). The only module that
//! touches PC/SC types: everything above sees [`Transport`] and [`TransportError`].

use std::ffi::{CStr, CString};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Transport, TransportError, TransportInfo};

/// Response buffer: pcsc-lite's largest exchange (64 KiB of data plus header, Lc, Le
/// and SW); it never returns more.
const RECV_BUF: usize = pcsc::MAX_BUFFER_SIZE_EXTENDED;
/// How long a reconnect waits for the card to be presented again.
const RECONNECT_WAIT: Duration = Duration::from_secs(15);
/// How long a failed exchange waits for the reader to report the card gone.
const REMOVAL_WAIT: Duration = Duration::from_secs(1);

/// A reader as listed by [`list_readers`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReaderStatus {
    /// Index in the list.
    pub index: usize,
    /// Reader name.
    pub name: String,
    /// Whether a card is present.
    pub card_present: bool,
    /// ATR of the card, hex (empty without a card).
    pub atr: String,
}

fn map_err(context: &str, e: pcsc::Error) -> TransportError {
    use pcsc::Error as E;
    match e {
        E::NoService | E::ServiceStopped => TransportError::NoService,
        E::NoReadersAvailable | E::UnknownReader | E::ReaderUnavailable => {
            TransportError::NoReader { wanted: None }
        }
        E::RemovedCard | E::ResetCard | E::UnpoweredCard | E::NoSmartcard => TransportError::CardRemoved,
        E::Timeout => TransportError::Timeout { ms: 0 },
        E::CommError | E::UnresponsiveCard | E::NotTransacted => TransportError::Transmit {
            reason: format!("{context}: {e}"),
        },
        other => TransportError::Io {
            context: format!("PC/SC {context}"),
            source: Box::new(other),
        },
    }
}

fn establish() -> Result<pcsc::Context, TransportError> {
    pcsc::Context::establish(pcsc::Scope::User).map_err(|e| map_err("establish", e))
}

fn reader_names(ctx: &pcsc::Context) -> Result<Vec<CString>, TransportError> {
    match ctx.list_readers_owned() {
        Ok(v) => Ok(v),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(map_err("list readers", e)),
    }
}

fn statuses(
    ctx: &pcsc::Context,
    names: &[CString],
    timeout: Duration,
) -> Result<Vec<pcsc::ReaderState>, TransportError> {
    let mut states: Vec<pcsc::ReaderState> = names
        .iter()
        .map(|n| pcsc::ReaderState::new(n.clone(), pcsc::State::UNAWARE))
        .collect();
    if states.is_empty() {
        return Ok(states);
    }
    match ctx.get_status_change(timeout, &mut states) {
        Ok(()) | Err(pcsc::Error::Timeout) => Ok(states),
        Err(e) => Err(map_err("get status", e)),
    }
}

/// List the readers PC/SC knows, with card presence and ATR.
pub fn list_readers() -> Result<Vec<ReaderStatus>, TransportError> {
    let ctx = establish()?;
    let names = reader_names(&ctx)?;
    let states = statuses(&ctx, &names, Duration::from_millis(0))?;
    Ok(states
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let present = s.event_state().contains(pcsc::State::PRESENT);
            ReaderStatus {
                index,
                name: s.name().to_string_lossy().into_owned(),
                card_present: present,
                atr: if present {
                    hex::encode_upper(s.atr())
                } else {
                    String::new()
                },
            }
        })
        .collect())
}

/// Wait until a card is present in some reader (or `wanted`), up to `timeout`.
pub fn wait_for_card(
    wanted: Option<&str>,
    timeout: Duration,
) -> Result<Option<ReaderStatus>, TransportError> {
    let ctx = establish()?;
    let deadline = Instant::now() + timeout;
    loop {
        let names = reader_names(&ctx)?;
        let mut states = statuses(&ctx, &names, Duration::from_millis(0))?;
        for (index, s) in states.iter().enumerate() {
            let name = s.name().to_string_lossy().into_owned();
            if s.event_state().contains(pcsc::State::PRESENT) && matches_wanted(wanted, index, &name) {
                return Ok(Some(ReaderStatus {
                    index,
                    name,
                    card_present: true,
                    atr: hex::encode_upper(s.atr()),
                }));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        for s in states.iter_mut() {
            s.sync_current_state();
        }
        let wait = (deadline - now).min(Duration::from_millis(500));
        if states.is_empty() {
            std::thread::sleep(wait);
        } else {
            match ctx.get_status_change(wait, &mut states) {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(map_err("wait for card", e)),
            }
        }
    }
}

/// True when the reader at `index` named `name` is the one asked for: any reader
/// without `wanted`, else the index it is, or a case-insensitive part of the name.
pub(super) fn matches_wanted(wanted: Option<&str>, index: usize, name: &str) -> bool {
    match wanted {
        None => true,
        Some(w) => match w.parse::<usize>() {
            Ok(i) => i == index,
            Err(_) => name.to_lowercase().contains(&w.to_lowercase()),
        },
    }
}

/// An exclusive connection to the card in one reader.
pub struct PcscTransport {
    ctx: pcsc::Context,
    reader: CString,
    /// Shared with the thread of an exchange that has a deadline (see [`Transport::set_deadline`]).
    card: Option<Arc<pcsc::Card>>,
    atr: Vec<u8>,
    buf: Vec<u8>,
    /// Give up on an exchange still unanswered then ([`Transport::set_deadline`]).
    deadline: Option<Instant>,
}

impl PcscTransport {
    /// Connect to the card in the reader named (substring) or numbered by `wanted`, or
    /// in the first reader with a card.
    pub fn connect(wanted: Option<&str>) -> Result<PcscTransport, TransportError> {
        let ctx = establish()?;
        let names = reader_names(&ctx)?;
        if names.is_empty() {
            return Err(TransportError::NoReader { wanted: None });
        }
        let states = statuses(&ctx, &names, Duration::from_millis(0))?;
        let candidates: Vec<(usize, &pcsc::ReaderState)> = states
            .iter()
            .enumerate()
            .filter(|(i, s)| matches_wanted(wanted, *i, &s.name().to_string_lossy()))
            .collect();
        if candidates.is_empty() {
            return Err(TransportError::NoReader {
                wanted: wanted.map(str::to_string),
            });
        }
        let chosen = candidates
            .iter()
            .find(|(_, s)| s.event_state().contains(pcsc::State::PRESENT))
            .or(if wanted.is_some() {
                candidates.first()
            } else {
                None
            });
        let Some((_, state)) = chosen else {
            let first = candidates
                .first()
                .map(|(_, s)| s.name().to_string_lossy().into_owned());
            return Err(TransportError::NoCard {
                reader: first.unwrap_or_default(),
            });
        };
        let reader = state.name().to_owned();
        let mut t = PcscTransport {
            ctx,
            reader,
            card: None,
            atr: Vec::new(),
            buf: vec![0u8; RECV_BUF],
            deadline: None,
        };
        t.connect_card()?;
        Ok(t)
    }

    fn connect_card(&mut self) -> Result<(), TransportError> {
        let card = self
            .ctx
            .connect(&self.reader, pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY)
            .map_err(|e| match e {
                pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => TransportError::NoCard {
                    reader: self.reader_name(),
                },
                other => map_err("connect", other),
            })?;
        self.atr = card.status2_owned().map(|s| s.atr().to_vec()).unwrap_or_default();
        self.card = Some(Arc::new(card));
        Ok(())
    }

    fn reader_name(&self) -> String {
        reader_cstr_lossy(&self.reader)
    }
}

fn reader_cstr_lossy(c: &CStr) -> String {
    c.to_string_lossy().into_owned()
}

impl PcscTransport {
    /// A transmit failed (`failure`), or the reader handed back fewer than two bytes
    /// with success, which no card does. pcsc-lite with the vpcd driver does either
    /// when the card vanished during the command (its socket closed); contactless
    /// readers do on tag loss. Tell removal from a garbled exchange by watching the
    /// reader's state for a moment: a card gone is [`TransportError::CardRemoved`],
    /// anything else stays `failure` (a link loss too, so reconnecting may cure it).
    fn classify_failure(&self, failure: TransportError) -> TransportError {
        let removed = || TransportError::CardRemoved;
        if let Some(card) = &self.card
            && let Err(e) = card.status2_owned()
            && matches!(map_err("status", e), TransportError::CardRemoved)
        {
            return removed();
        }
        let deadline = Instant::now() + REMOVAL_WAIT;
        let mut state = pcsc::ReaderState::new(self.reader.clone(), pcsc::State::UNAWARE);
        // the first call returns the current state at once; later ones wake up as
        // soon as it changes
        let mut wait = Duration::from_millis(0);
        loop {
            match self.ctx.get_status_change(wait, std::slice::from_mut(&mut state)) {
                Ok(()) => {
                    let ev = state.event_state();
                    if !ev.contains(pcsc::State::PRESENT) || ev.contains(pcsc::State::EMPTY) {
                        return removed();
                    }
                    state.sync_current_state();
                }
                Err(pcsc::Error::Timeout) => {}
                Err(_) => return failure,
            }
            let now = Instant::now();
            if now >= deadline {
                return failure;
            }
            wait = (deadline - now).min(Duration::from_millis(200));
        }
    }
}

impl PcscTransport {
    /// `SCardTransmit` has no timeout, and neither pcscd nor a driver bounds a card
    /// that keeps asking for more time (or a vpcd card that never answers): run the
    /// exchange on its own thread and stop waiting at `deadline`. The stalled thread
    /// keeps its reference to the card handle and ends when pcscd answers (or with the
    /// process); this transport drops the handle and says [`TransportError::Timeout`].
    /// `SCardCancel` is sent too: it releases blocking calls where the platform allows.
    fn transmit_until(
        &mut self,
        card: Arc<pcsc::Card>,
        command: &[u8],
        deadline: Instant,
    ) -> Result<Result<Vec<u8>, pcsc::Error>, TransportError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let command = command.to_vec();
        let started = Instant::now();
        std::thread::Builder::new()
            .name("pcsc-transmit".into())
            .spawn(move || {
                let mut buf = vec![0u8; RECV_BUF];
                let _ = tx.send(card.transmit(&command, &mut buf).map(<[u8]>::to_vec));
            })
            .map_err(|e| TransportError::Io {
                context: "cannot start the PC/SC exchange thread".into(),
                source: Box::new(e),
            })?;
        match rx.recv_timeout(deadline.saturating_duration_since(started)) {
            Ok(answer) => Ok(answer),
            Err(_) => {
                let _ = self.ctx.cancel();
                self.card = None;
                Err(TransportError::Timeout {
                    ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                })
            }
        }
    }
}

impl Transport for PcscTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let card = self.card.clone().ok_or(TransportError::CardRemoved)?;
        let answer = match self.deadline {
            None => card.transmit(command, &mut self.buf).map(<[u8]>::to_vec),
            Some(deadline) => self.transmit_until(card, command, deadline)?,
        };
        let result = match answer {
            Ok(r) if r.len() >= 2 => return Ok(r),
            Ok(r) => {
                let reason = format!("the reader returned {} byte(s) instead of a response", r.len());
                self.classify_failure(TransportError::Transmit { reason })
            }
            Err(e) => match map_err("transmit", e) {
                t @ (TransportError::Transmit { .. } | TransportError::Timeout { .. }) => {
                    self.classify_failure(t)
                }
                other => other,
            },
        };
        if matches!(result, TransportError::CardRemoved) {
            self.card = None;
        }
        Err(result)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        if let Some(card) = self.card.take().and_then(|c| Arc::try_unwrap(c).ok()) {
            // a card still in the field: reset it so the chip drops its session
            let _ = card.disconnect(pcsc::Disposition::ResetCard);
        }
        let wait_until = Instant::now() + RECONNECT_WAIT;
        let deadline = self.deadline.map_or(wait_until, |d| d.min(wait_until));
        loop {
            match self.connect_card() {
                Ok(()) => return Ok(()),
                Err(TransportError::NoCard { .. }) | Err(TransportError::CardRemoved)
                    if Instant::now() < deadline =>
                {
                    let mut st = [pcsc::ReaderState::new(self.reader.clone(), pcsc::State::UNAWARE)];
                    let _ = self.ctx.get_status_change(Duration::from_millis(300), &mut st);
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn info(&self) -> TransportInfo {
        TransportInfo {
            reader: self.reader_name(),
            atr: self.atr.clone(),
        }
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }
}

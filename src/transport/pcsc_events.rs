//! Card presence from PC/SC, by `SCardGetStatusChange` (no busy poll): the wait
//! returns the moment pcscd reports a card inserted or removed, a reader plugged or
//! unplugged, or the service stopping. `emrtd desk` is driven by these events.
//!
//! Like [`super::pcsc`], the only place besides it that touches the `pcsc` crate;
//! callers see [`CardEvent`] only.

use std::time::Duration;

use super::pcsc::matches_wanted;

/// A change in the watched reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardEvent {
    /// A card is in the reader (named).
    Present {
        /// The reader's name.
        reader: String,
    },
    /// The reader is empty.
    Absent,
    /// No reader matches (unplugged, or never there).
    NoReader,
    /// The PC/SC service is not running (or stopped).
    NoService,
}

/// Watches one reader (the first reader, or the one named or numbered by `wanted`).
pub struct CardWatcher {
    wanted: Option<String>,
    ctx: Option<pcsc::Context>,
    /// The watched reader with pcscd's last reported state (its event counter
    /// included: handing it back is what makes the next wait block).
    reader: Option<pcsc::ReaderState>,
    known: bool,
    count: u32,
    last: Option<CardEvent>,
}

impl std::fmt::Debug for CardWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardWatcher")
            .field("wanted", &self.wanted)
            .field("reader", &self.reader())
            .field("last", &self.last)
            .finish()
    }
}

fn service_gone(e: pcsc::Error) -> bool {
    matches!(
        e,
        pcsc::Error::NoService
            | pcsc::Error::ServiceStopped
            | pcsc::Error::InvalidHandle
            | pcsc::Error::CommError
    )
}

impl CardWatcher {
    /// A watcher; nothing is opened until [`CardWatcher::next`].
    pub fn new(wanted: Option<&str>) -> Self {
        CardWatcher {
            wanted: wanted.map(str::to_string),
            ctx: None,
            reader: None,
            known: false,
            count: 0,
            last: None,
        }
    }

    /// The reader watched, once found.
    pub fn reader(&self) -> Option<String> {
        self.reader
            .as_ref()
            .map(|r| r.name().to_string_lossy().into_owned())
    }

    fn report(&mut self, event: CardEvent, out: &mut Vec<CardEvent>) {
        if self.last.as_ref() != Some(&event) {
            self.last = Some(event.clone());
            out.push(event);
        }
    }

    fn lose_service(&mut self, out: &mut Vec<CardEvent>) {
        self.ctx = None;
        self.reader = None;
        self.report(CardEvent::NoService, out);
    }

    /// Wait up to `timeout` for changes; the events since the last call (empty when
    /// nothing changed). A card removed and put back between two calls comes back as
    /// `Absent` then `Present` (pcscd's event counter tells).
    pub fn next(&mut self, timeout: Duration) -> Vec<CardEvent> {
        let mut out = Vec::new();
        let ctx = match &self.ctx {
            Some(c) => c.clone(),
            None => match pcsc::Context::establish(pcsc::Scope::User) {
                Ok(c) => {
                    self.ctx = Some(c.clone());
                    c
                }
                Err(_) => {
                    self.report(CardEvent::NoService, &mut out);
                    if out.is_empty() {
                        std::thread::sleep(timeout.min(Duration::from_secs(1)));
                    }
                    return out;
                }
            },
        };
        if self.reader.is_none() {
            let names = match ctx.list_readers_owned() {
                Ok(v) => v,
                Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
                Err(e) if service_gone(e) => {
                    self.lose_service(&mut out);
                    return out;
                }
                Err(_) => Vec::new(),
            };
            let found = names
                .iter()
                .enumerate()
                .find(|(i, n)| matches_wanted(self.wanted.as_deref(), *i, &n.to_string_lossy()))
                .map(|(_, n)| n.clone());
            match found {
                Some(n) => {
                    self.reader = Some(pcsc::ReaderState::new(n, pcsc::State::UNAWARE));
                    self.known = false;
                    // look at it at once
                    out.extend(self.next(Duration::from_millis(0)));
                }
                None => {
                    self.report(CardEvent::NoReader, &mut out);
                    // sleep until a reader is plugged in (pcscd's PnP notification)
                    let mut pnp = [pcsc::ReaderState::new(
                        pcsc::PNP_NOTIFICATION(),
                        pcsc::State::UNAWARE,
                    )];
                    let _ = ctx.get_status_change(Duration::from_millis(0), &mut pnp);
                    if let Some(p) = pnp.first_mut() {
                        p.sync_current_state();
                    }
                    match ctx.get_status_change(timeout, &mut pnp) {
                        Err(e) if service_gone(e) => self.lose_service(&mut out),
                        // a reader set that pcscd cannot notify about: poll gently
                        Err(pcsc::Error::Timeout) | Ok(()) => {}
                        Err(_) => std::thread::sleep(timeout.min(Duration::from_secs(1))),
                    }
                }
            }
            return out;
        }
        let Some(rs) = self.reader.as_mut() else {
            return out;
        };
        match ctx.get_status_change(timeout, std::slice::from_mut(rs)) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => return out,
            Err(e) if service_gone(e) => {
                self.lose_service(&mut out);
                return out;
            }
            Err(_) => {
                self.reader = None;
                self.report(CardEvent::NoReader, &mut out);
                return out;
            }
        }
        let ev = rs.event_state();
        let count = rs.event_count();
        let name = rs.name().to_string_lossy().into_owned();
        rs.sync_current_state();
        let (known, old_count) = (self.known, self.count);
        self.known = true;
        self.count = count;
        if ev.intersects(pcsc::State::UNKNOWN | pcsc::State::IGNORE | pcsc::State::UNAVAILABLE) {
            self.reader = None;
            self.report(CardEvent::NoReader, &mut out);
            return out;
        }
        if ev.contains(pcsc::State::PRESENT) {
            if known && count != old_count && matches!(self.last, Some(CardEvent::Present { .. })) {
                // out and in again between two waits
                self.report(CardEvent::Absent, &mut out);
            }
            self.report(CardEvent::Present { reader: name }, &mut out);
        } else {
            self.report(CardEvent::Absent, &mut out);
        }
        out
    }
}

//! The emulated reader slot of `emrtd desk --emulator`: which document lies on it,
//! `:place` and `:remove`, and the chip behind it as a transport that fails when the
//! document is pulled (the emulator's counterpart of a PC/SC reader).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::emulator::{Emulator, Profile};
use crate::transport::{Transport, TransportError, TransportInfo};

/// How long a read waits for a pulled document to come back (then it is restarted
/// when the document is placed again).
const PUT_BACK_WAIT: Duration = Duration::from_secs(15);

/// The emulated reader slot: which document lies on it.
#[derive(Debug, Default)]
pub struct EmulatedSlot {
    state: Mutex<SlotState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct SlotState {
    /// The document on the reader and its placement id (a different profile is a
    /// different document; placing the same one again is "put back").
    on: Option<(u64, Arc<Profile>)>,
    last: Option<(u64, Arc<Profile>)>,
    ids: u64,
}

impl EmulatedSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Put a document on the reader: `Some(profile)` a new one, `None` the last one again.
    pub fn place(&self, profile: Option<Profile>) -> bool {
        let mut s = self.lock();
        let doc = match profile {
            Some(p) => {
                s.ids += 1;
                Some((s.ids, Arc::new(p)))
            }
            None => s.last.clone(),
        };
        let Some(doc) = doc else {
            return false;
        };
        s.last = Some(doc.clone());
        s.on = Some(doc);
        self.changed.notify_all();
        true
    }

    /// Take the document off the reader.
    pub fn remove(&self) {
        self.lock().on = None;
        self.changed.notify_all();
    }

    /// Whether a document lies on the reader.
    pub fn present(&self) -> bool {
        self.lock().on.is_some()
    }

    /// The chip of the document on the reader, as a transport that fails when the
    /// document is pulled, and the source's name; `None` when the slot is empty.
    pub(super) fn connect(self: &Arc<Self>) -> Option<(Box<dyn Transport>, String)> {
        let (id, profile) = self.current()?;
        let name = format!("emulator {}", profile.name);
        let chip = Emulator::new((*profile).clone());
        Some((
            Box::new(SlotTransport {
                chip,
                slot: self.clone(),
                id,
            }),
            name,
        ))
    }

    fn current(&self) -> Option<(u64, Arc<Profile>)> {
        self.lock().on.clone()
    }

    /// Wait until document `id` is back (true) or `timeout` passes.
    fn wait_for(&self, id: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            match &s.on {
                Some((i, _)) if *i == id => return true,
                Some(_) => return false,
                None => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            s = match self.changed.wait_timeout(s, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

/// The emulator behind the emulated slot: a pulled document is a removed card, and a
/// reconnect waits for it to be put back (as a PC/SC reconnect does).
struct SlotTransport {
    chip: Emulator,
    slot: Arc<EmulatedSlot>,
    id: u64,
}

impl Transport for SlotTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self.slot.current() {
            Some((id, _)) if id == self.id => self.chip.transmit(command),
            _ => Err(TransportError::CardRemoved),
        }
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        if self.slot.wait_for(self.id, PUT_BACK_WAIT) {
            self.chip.reconnect()
        } else {
            Err(TransportError::NoCard {
                reader: "emulator".into(),
            })
        }
    }

    fn info(&self) -> TransportInfo {
        let mut i = self.chip.info();
        i.reader = format!("emulator:{}", self.chip.profile().name);
        i
    }

    fn modelled_ms(&self) -> Option<f64> {
        self.chip.modelled_ms()
    }
}

//! The transport seam: raw command APDU bytes in, raw response bytes (data + SW1 SW2) out.
//!
//! Implemented by PC/SC readers ([`pcsc`]), the in-process software chip (in
//! `crate::emulator`), a recorder ([`trace`]) and a scripted replayer ([`replay`]).
//! Nothing above this trait knows which one it talks to. A card that *answers* with
//! an error status (6982, 6A82, …) is not a transport error: only a failed link is.

pub mod pcsc;
pub mod pcsc_events;
pub mod replay;
pub mod trace;

use thiserror::Error;

/// The link to the card failed (as opposed to the card answering with an error status).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The card left the field or was removed from the reader.
    #[error("card removed")]
    CardRemoved,
    /// A transmit failed without the card being known to be gone (a transient RF error).
    #[error("transmission failed: {reason}")]
    Transmit {
        /// What the lower layer said.
        reason: String,
    },
    /// The card did not answer in time.
    #[error("card did not answer within {ms} ms")]
    Timeout {
        /// The time waited.
        ms: u64,
    },
    /// The answer was not a well-formed response APDU (fewer than two bytes).
    #[error("malformed response of {len} byte(s) (a response needs at least SW1 SW2)")]
    MalformedResponse {
        /// Bytes received.
        len: usize,
    },
    /// No PC/SC service is running.
    #[error("no PC/SC service")]
    NoService,
    /// No reader matched.
    #[error("no reader{}", match .wanted { Some(w) => format!(" matching {w:?}"), None => String::new() })]
    NoReader {
        /// The name or index asked for.
        wanted: Option<String>,
    },
    /// The reader has no card.
    #[error("no card in reader {reader:?}")]
    NoCard {
        /// Reader name.
        reader: String,
    },
    /// A scripted exchange did not match the command sent (tests only).
    #[error("scripted exchange {index}: expected command {expected}, got {got}")]
    ScriptMismatch {
        /// Index of the exchange in the script.
        index: usize,
        /// Expected command, hex.
        expected: String,
        /// Command actually sent, hex.
        got: String,
    },
    /// The script has no more exchanges (tests only).
    #[error("script exhausted after {count} exchange(s)")]
    ScriptExhausted {
        /// Exchanges served.
        count: usize,
    },
    /// This transport cannot reconnect.
    #[error("this transport cannot reconnect")]
    ReconnectUnsupported,
    /// Other PC/SC or I/O failure, with the cause kept.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl TransportError {
    /// True when reconnecting and resuming may help (card removed, transient RF error).
    pub fn is_link_loss(&self) -> bool {
        matches!(
            self,
            TransportError::CardRemoved | TransportError::Transmit { .. } | TransportError::Timeout { .. }
        )
    }
}

/// What a transport knows about the card and reader it talks to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportInfo {
    /// Reader name (or `emulator:NAME` for the emulator).
    pub reader: String,
    /// Answer-to-reset bytes (for contactless: as synthesised by the reader from the ATS).
    pub atr: Vec<u8>,
}

/// Raw APDU exchange with a card.
pub trait Transport: Send {
    /// Send one command APDU and return the response (data followed by SW1 SW2).
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// Re-establish the link after a [`TransportError::is_link_loss`] error (the card
    /// was presented again). The card's state is reset: any secure channel is gone.
    fn reconnect(&mut self) -> Result<(), TransportError> {
        Err(TransportError::ReconnectUnsupported)
    }

    /// Reader and card description.
    fn info(&self) -> TransportInfo {
        TransportInfo::default()
    }

    /// Modelled contactless link time so far in milliseconds, when the transport
    /// models one (the emulator does); `None` for real links.
    fn modelled_ms(&self) -> Option<f64> {
        None
    }

    /// From now on, give up on an exchange (or reconnect) still unanswered at
    /// `deadline` with [`TransportError::Timeout`]; `None` lifts it. The read's time
    /// budget ([`crate::reader::Budgeted`]) sets it, so one stalled answer cannot
    /// outlast the budget. Transports that cannot stall ignore it.
    fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
        let _ = deadline;
    }
}

/// A box or a borrow of a transport is the transport it holds.
macro_rules! forward_transport {
    ($($holder:ty),*) => {$(
        impl<T: Transport + ?Sized> Transport for $holder {
            fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
                (**self).transmit(command)
            }
            fn reconnect(&mut self) -> Result<(), TransportError> {
                (**self).reconnect()
            }
            fn info(&self) -> TransportInfo {
                (**self).info()
            }
            fn modelled_ms(&self) -> Option<f64> {
                (**self).modelled_ms()
            }
            fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
                (**self).set_deadline(deadline)
            }
        }
    )*};
}

forward_transport!(Box<T>, &mut T);

//! `emrtd desk`: the border officer's long-running mode. A document is placed on the
//! reader, its MRZ arrives from the OCR scanner (or the officer), the chip is read and
//! verified with the engine of `emrtd verify` ([`crate::verify::live`]), the verdict
//! and the chip's photograph appear on a local web page, and when the document leaves
//! the reader the page is cleared for the next traveller.
//!
//! - [`keyin`]: MRZ lines (2 × 44, 2 × 36, 3 × 30) and CANs, check digits validated
//!   as each line arrives (Doc 9303 Part 3 §4.9).
//! - [`machine`]: the state machine (waiting → reading → result → remove), pure.
//! - [`view`]: the state as the page shows it (`GET /state`).
//! - [`run`]: the threads: card events (PC/SC `SCardGetStatusChange`, or the
//!   emulated slot), key input, read workers.
//! - [`server`]: the page on loopback (axum, server-sent events), assets embedded.
//! - [`audit`]: the opt-in audit log, one JSON line per document, no holder data.

pub mod audit;
pub mod keyin;
pub mod machine;
pub mod run;
pub mod server;
#[cfg(feature = "emulator")]
mod slot;
pub mod view;

//! A software eMRTD chip: the file system of Doc 9303 Part 10, BAC (and PACE) on the
//! card side, secure messaging, access conditions, fault injection and a model of
//! the contactless link's timing. It implements [`Transport`](crate::transport::Transport), so the reader talks
//! to it exactly as to a card behind PC/SC; `emrtd emulate --vpcd` serves the same
//! chip to a real pcscd.
//!
//! The chip shares the secure messaging and access-protocol code with the reader
//! (`ChipSm`, `ChipBac`), so emulator round trips alone prove nothing about
//! correctness: the protocol code is tested against external vectors in its own
//! modules.

mod auth;
pub mod chip;
pub mod fault;
pub mod link;
pub mod perso;
pub mod profile;
pub mod ta;
pub mod vpcd;

pub use chip::Emulator;
pub use profile::{Profile, ProfileError};

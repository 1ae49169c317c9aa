//! Access control to the chip: Basic Access Control (Doc 9303 Part 11 §4.3) and the
//! passwords it and PACE (§4.4) are keyed with, and the chip-genuineness protocols run
//! over the secure channel afterwards: Active Authentication (§6.1, [`aa`]) and Chip
//! Authentication (§6.2, [`ca`]). Both ends of each protocol live here:
//! the reader side runs over any [`CardChannel`](crate::apdu::CardChannel), the chip
//! side is used by the emulator.

pub mod aa;
pub mod bac;
pub mod ca;
pub mod error;
pub mod pace;
pub mod password;
pub mod ta;

pub use error::AccessError;
pub use password::{MrzKey, Password};

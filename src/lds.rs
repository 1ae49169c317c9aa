//! Pure decoders (and, for what the emulator writes, encoders) of the LDS files
//! (Doc 9303 Parts 10 and 11). No I/O; every decoder takes bytes, keeps the original
//! bytes of anything hashed or signed, reports tolerated quirks as named warnings,
//! and never panics.

pub mod file;
pub mod security_infos;

pub use file::{EMRTD_AID, LdsFile};

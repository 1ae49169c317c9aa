//! Pure decoders (and, for what the emulator writes, encoders) of the LDS files
//! (Doc 9303 Parts 10 and 11). No I/O; every decoder takes bytes, keeps the original
//! bytes of anything hashed or signed, reports tolerated quirks as named warnings,
//! and never panics.

pub mod atr_info;
pub mod biometric;
pub mod com;
mod details;
pub mod detect;
pub mod dg1;
pub mod dg11;
pub mod dg12;
pub mod dg13;
pub mod dg14;
pub mod dg15;
pub mod dg16;
pub mod dir;
pub mod displayed;
pub mod error;
pub mod extract;
pub mod face;
pub mod features;
pub mod file;
pub mod group;
pub mod image;
pub mod quirk;
pub mod security_infos;
pub mod sod;
pub mod view;
pub mod wsq;

pub use error::LdsError;
pub use file::{EMRTD_AID, LdsFile};
pub use quirk::Quirk;

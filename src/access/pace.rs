//! PACE — Password Authenticated Connection Establishment (Doc 9303 Part 11 §4.4;
//! BSI TR-03110-2 §3.2, TR-03110-3 A.3): reader side and chip side.

pub mod error;
pub mod params;

pub use error::{PaceError, PaceStep};
pub use params::{DomainParams, Element, PrivateKey};
pub mod select;

pub use select::{PaceSelection, choose_pace_info};
pub mod apdus;

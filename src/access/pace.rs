//! PACE — Password Authenticated Connection Establishment (Doc 9303 Part 11 §4.4, worked
//! examples in Appendices G, H and I; BSI TR-03110-2 §3.2 and TR-03110-3 for the ASN.1
//! and PACE-CAM), terminal side ([`reader`]) and chip side ([`chip`]).
//!
//! | module | what |
//! |---|---|
//! | [`select`] | choosing the PACEInfo and its domain parameters from EF.CardAccess |
//! | [`params`] | standardized and explicit domain parameters, group arithmetic |
//! | [`mapping`] | the [`Mapping`](mapping::Mapping) trait, its registry, one file per mapping |
//! | [`crypto`] | K_π, nonce encryption, tokens |
//! | [`apdus`] | MSE:Set AT, GENERAL AUTHENTICATE and their data objects |
//! | [`reader`] | the terminal's protocol run over a [`CardChannel`](crate::apdu::CardChannel) |
//! | [`chip`] | the chip's state machine for the emulator |

pub mod apdus;
pub mod chip;
pub mod crypto;
pub mod error;
pub mod mapping;
pub mod params;
pub mod reader;
pub mod select;

pub use chip::{ChipPace, ChipReply, PaceEphemeralKeys};
pub use error::PaceError;
pub use mapping::cam::{CamData, CamEvidence};
pub use params::{DomainParams, Element, PrivateKey};
pub use reader::{PaceConfig, PaceOutcome, ParameterIdInMse, authenticate};
pub use select::{PaceSelection, choose_pace_info};

//! The PACE mapping step as one extension point (Doc 9303 Part 11 §4.4.3.3; BSI
//! TR-03110-2 §3.2 and TR-03110-3 for PACE-CAM), used by both sides of the protocol.
//!
//! A mapping turns the nonce s and one exchange of GENERAL AUTHENTICATE (tag 81 from the
//! terminal, tag 82 from the chip) into the ephemeral generator of the key agreement. A
//! [`Mapping`] says how, for the terminal ([`Mapping::terminal_start`], then
//! [`TerminalMapping::complete`]) and for the chip ([`Mapping::chip_map`]); it may add a
//! step after the authentication tokens ([`Mapping::terminal_confirm`],
//! [`Mapping::chip_confirm`]: PACE-CAM's encrypted chip authentication data A_IC), and it
//! says how much it is preferred and on which domain parameters it runs
//! ([`Mapping::rank`], [`Mapping::unfit`]).
//!
//! [`of`] is the registry: the implementation behind each `id-PACE-*` mapping arc.
//! `reader.rs`, `chip.rs` and `select.rs` go through it and never name a mapping.
//!
//! | file | mapping |
//! |---|---|
//! | [`gm`] | Generic Mapping, DH and ECDH (§4.4.3.3.1) |
//! | [`im`] | Integrated Mapping, DH and ECDH (§4.4.3.3.2, Appendix B point encoding) |
//! | [`cam`] | Chip Authentication Mapping, ECDH (§4.4.3.3.3): GM plus the chip's A_IC |

pub mod cam;
pub mod gm;
pub mod im;

use zeroize::Zeroizing;

use super::apdus::{self, INS_GENERAL_AUTHENTICATE};
use super::error::PaceError;
use super::params::{DomainParams, Element, PrivateKey};
use crate::access::AccessError;
use crate::apdu::StatusWord;
use crate::crypto::Cipher;
use crate::lds::security_infos::PaceMapping;
use crate::rng::RandomSource;

/// The implementation of a PACE mapping, for the terminal and for the chip.
///
/// The methods follow the order of the protocol: [`Mapping::terminal_start`] (terminal,
/// GA 2 command) → [`Mapping::chip_map`] (chip, GA 2 answer) →
/// [`TerminalMapping::complete`] (terminal, the mapped generator) → key agreement and
/// tokens (the same for every mapping) → [`Mapping::chip_confirm`] (chip, extra data in
/// the GA 4 answer) → [`Mapping::terminal_confirm`] (terminal, reads it).
pub trait Mapping: Send + Sync {
    /// What the mapping is called in messages ("Generic Mapping").
    fn name(&self) -> &'static str;

    /// Preference when EF.CardAccess offers several usable PACEInfos: larger wins
    /// (before cipher and group, see [`super::select`]).
    fn rank(&self) -> u8;

    /// Why the mapping cannot run on these domain parameters, or `None` when it can. The
    /// parameters are already of the mapping's key agreement type (EC or DH).
    fn unfit(&self, _params: &DomainParams) -> Result<Option<&'static str>, PaceError> {
        Ok(None)
    }

    /// The mapping authenticates the chip inside PACE (its proof is checked later against
    /// EF.CardSecurity), so Terminal Authentication signs Comp(PK_PCD) of PACE itself. The
    /// chip needs its static Chip Authentication key for it (a chip without one answers
    /// MSE:Set AT with 6A81).
    fn authenticates_chip(&self) -> bool {
        false
    }

    /// Terminal: draw the mapping's randomness from `rng` and produce the mapping data
    /// (tag 81 of GA 2).
    fn terminal_start(&self, run: Run<'_>, rng: &mut dyn RandomSource) -> Started;

    /// Chip: answer the terminal's mapping data with the chip's (tag 82, if any) and
    /// compute the mapped generator. Randomness from `rng`.
    fn chip_map(&self, run: Run<'_>, data: &[u8], rng: &mut dyn RandomSource) -> ChipStep<ChipMapped>;

    /// Terminal, after the chip's token T_PICC verified: read what the mapping adds to
    /// the chip's last answer. `None` for mappings that add nothing.
    fn terminal_confirm(&self, _end: TerminalEnd<'_>) -> Result<Option<cam::CamData>, AccessError> {
        Ok(None)
    }

    /// Chip, after the terminal's token verified: the data object the mapping adds to
    /// the last answer, if any.
    fn chip_confirm(&self, _end: ChipEnd<'_>) -> ChipStep<Option<(u32, Vec<u8>)>> {
        Ok(None)
    }
}

/// The group, cipher and nonce of a PACE run, as both sides know them before GA 2.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The domain parameters.
    pub params: &'a DomainParams,
    /// The session cipher.
    pub cipher: Cipher,
    /// The nonce s the chip chose in GA 1.
    pub s: &'a [u8],
}

/// A terminal's mapping once started.
pub type Started = Result<Box<dyn TerminalMapping>, AccessError>;

/// A chip's answer, or the status word it refuses with.
pub type ChipStep<T> = Result<T, StatusWord>;

/// The terminal's mapping in progress (between GA 2 command and answer).
pub trait TerminalMapping: Send {
    /// The mapping data to send (tag 81).
    fn data(&self) -> &[u8];

    /// Finish with the data field of the chip's GA 2 answer: the mapped generator.
    fn complete(self: Box<Self>, run: Run<'_>, answer: &[u8]) -> Result<Mapped, AccessError>;
}

/// The terminal's result of a mapping.
#[derive(Debug)]
pub struct Mapped {
    /// The ephemeral generator G~ / g~.
    pub generator: Element,
    /// The chip's mapping data (tag 82) as received; empty when the mapping has none.
    pub chip_data: Vec<u8>,
}

/// The chip's result of a mapping.
#[derive(Debug)]
pub struct ChipMapped {
    /// The ephemeral generator.
    pub generator: Element,
    /// The chip's mapping data (tag 82), if the mapping answers any.
    pub answer: Option<Vec<u8>>,
    /// The chip's mapping private key, kept for [`Mapping::chip_confirm`].
    pub secret: Option<PrivateKey>,
}

/// What [`Mapping::terminal_confirm`] gets.
pub struct TerminalEnd<'a> {
    /// The domain parameters (handed over: the proof may keep them).
    pub params: DomainParams,
    /// The session cipher.
    pub cipher: Cipher,
    /// The session keys.
    pub keys: &'a crate::sm::SessionKeys,
    /// The parameterId of the PACEInfo used.
    pub parameter_id: Option<u32>,
    /// The chip's mapping data from GA 2.
    pub chip_data: Vec<u8>,
    /// The data objects of the chip's GA 4 answer.
    pub answer: &'a [(u32, &'a [u8])],
}

/// What [`Mapping::chip_confirm`] gets.
pub struct ChipEnd<'a> {
    /// The domain parameters.
    pub params: &'a DomainParams,
    /// The session cipher.
    pub cipher: Cipher,
    /// The session keys.
    pub keys: &'a crate::sm::SessionKeys,
    /// The chip's mapping private key ([`ChipMapped::secret`]).
    pub secret: Option<&'a PrivateKey>,
    /// The chip's static Chip Authentication private key, if it has one.
    pub chip_key: Option<&'a PrivateKey>,
}

/// The implementation of a mapping (the registry; a new `PaceMapping` arc does not
/// compile until it has a row here).
pub fn of(mapping: PaceMapping) -> &'static dyn Mapping {
    match mapping {
        PaceMapping::DhGm | PaceMapping::EcdhGm => &gm::Generic,
        PaceMapping::DhIm | PaceMapping::EcdhIm => &im::Integrated,
        PaceMapping::EcdhCam => &cam::ChipAuthentication,
    }
}

/// A malformed GENERAL AUTHENTICATE answer.
pub(crate) fn bad(what: &'static str) -> AccessError {
    AccessError::BadResponse {
        ins: INS_GENERAL_AUTHENTICATE,
        what,
    }
}

/// The data objects of a GENERAL AUTHENTICATE answer.
pub(crate) fn objects(data: &[u8]) -> Result<Vec<(u32, &[u8])>, AccessError> {
    apdus::parse_dynamic_auth_data(data).map_err(bad)
}

/// Bytes from the source that must be erased: shorthand for the mappings.
pub(crate) fn secret_bytes(rng: &mut dyn RandomSource, len: usize) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(rng.bytes(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapping_has_an_implementation_and_a_rank() {
        for m in PaceMapping::ALL {
            let imp = of(m);
            assert!(imp.rank() > 0, "{}", m.name());
            assert!(!imp.name().is_empty());
        }
        // the preference order of the module docs of select.rs
        assert!(of(PaceMapping::EcdhCam).rank() > of(PaceMapping::EcdhGm).rank());
        assert!(of(PaceMapping::EcdhGm).rank() > of(PaceMapping::EcdhIm).rank());
        for m in PaceMapping::ALL {
            assert_eq!(of(m).authenticates_chip(), m == PaceMapping::EcdhCam);
        }
        assert_eq!(of(PaceMapping::DhGm).rank(), of(PaceMapping::EcdhGm).rank());
    }
}

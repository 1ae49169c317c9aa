//! Doc 9303 Part 11 §9.8 Secure messaging: protected command and response APDUs
//! (ISO/IEC 7816-4 §10) with 3DES (ISO/IEC 9797-1 MAC algorithm 3) or AES (CMAC),
//! for both ends of the link.
//!
//! * Reader side: [`protect_command`] / [`unprotect_response`] as pure functions over
//!   [`SessionKeys`], and [`SecureChannel`], a [`CardChannel`](crate::apdu::CardChannel)
//!   that wraps any other channel.
//! * Chip side (the emulator): [`ChipSm`] unwraps commands and wraps responses with the
//!   same encoding code.
//!
//! Data objects: `'87'` (padding-content indicator `01` || cryptogram, even INS), `'85'`
//! (cryptogram of BER-TLV data, odd INS such as READ BINARY `B1`), `'97'` (Le), `'99'`
//! (status word), `'8E'` (8-byte MAC over `SSC || padded header || DOs`). The MAC is
//! always checked, in constant time, before anything is decrypted. For AES the IV of
//! every cryptogram is `E(KSenc, SSC)`; for 3DES it is zero.

mod chip;
mod codec;
mod keys;
mod reader;

pub use chip::ChipSm;
pub use keys::{SessionKeys, Ssc};
pub use reader::{SecureChannel, max_short_data, protect_command, unprotect_response};

use thiserror::Error;

use crate::apdu::{ApduError, StatusWord};
use crate::crypto::{Cipher, CryptoError};
use crate::tlv::TlvError;

/// Errors of secure messaging.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SmError {
    /// The MAC (DO'8E') did not verify: the message was altered, or the two ends do not
    /// share the keys or the counter.
    #[error("secure messaging MAC mismatch at SSC {ssc:X}")]
    MacMismatch {
        /// The send sequence counter the MAC was checked under.
        ssc: u128,
    },
    /// A mandatory data object is absent.
    #[error("secure messaging data object '{tag:02X}' missing")]
    MissingDataObject {
        /// Its tag.
        tag: u8,
    },
    /// A data object with a malformed value.
    #[error("secure messaging data object '{tag:02X}' is malformed: {what}")]
    MalformedDataObject {
        /// Its tag.
        tag: u8,
        /// What is wrong.
        what: &'static str,
    },
    /// A data object that has no place here (or appears twice).
    #[error("unexpected secure messaging data object '{tag:X}'")]
    UnexpectedDataObject {
        /// Its tag.
        tag: u32,
    },
    /// The data field is not a sequence of BER-TLV data objects.
    #[error("secure messaging data field is not BER-TLV")]
    Tlv(#[source] TlvError),
    /// The decrypted cryptogram does not end in ISO/IEC 9797-1 method 2 padding.
    #[error("bad padding in a decrypted secure messaging cryptogram")]
    BadPadding,
    /// The status word in DO'99' differs from the one outside the protected response.
    #[error("status word {outer} outside the protected response differs from {inner} inside it")]
    StatusMismatch {
        /// Status word of the response APDU.
        outer: StatusWord,
        /// Status word in DO'99'.
        inner: StatusWord,
    },
    /// The chip answered without any secure-messaging object and with an error status: it
    /// has ended secure messaging (the session keys are gone on its side).
    #[error("the chip ended secure messaging: it answered {sw} without protection")]
    ChipAbortedSm {
        /// The plain status word.
        sw: StatusWord,
    },
    /// Chip side: a command without secure messaging (CLA bits b4b3 not both set).
    #[error("command with CLA {cla:02X} is not protected by secure messaging")]
    NotProtected {
        /// The class byte received.
        cla: u8,
    },
    /// A plain command that cannot be protected (Le out of range, data too long for an
    /// extended-length APDU once protected).
    #[error("command cannot be protected: {what}")]
    Unprotectable {
        /// What is wrong.
        what: &'static str,
    },
    /// Keys or counter that do not fit the cipher.
    #[error("{cipher} session keys unusable: {what}")]
    BadKeys {
        /// The cipher.
        cipher: Cipher,
        /// What is wrong.
        what: &'static str,
    },
    /// A primitive failed (only with keys that bypassed [`SessionKeys::new`]).
    #[error("secure messaging cryptography failed")]
    Crypto(#[from] CryptoError),
}

impl From<SmError> for ApduError {
    fn from(e: SmError) -> Self {
        ApduError::SecureMessaging(Box::new(e))
    }
}

/// The secure-messaging error inside an [`ApduError`] returned by a [`SecureChannel`].
pub fn sm_error(e: &ApduError) -> Option<&SmError> {
    match e {
        ApduError::SecureMessaging(inner) => inner.downcast_ref::<SmError>(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

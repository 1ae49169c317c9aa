//! Errors of the access-control protocols (BAC, PACE), with hints for the user.

use thiserror::Error;

use crate::apdu::{ApduError, StatusWord};
use crate::crypto::CryptoError;
use crate::sm::SmError;

/// Errors of BAC and PACE, on the reader and on the chip side.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The chip refused the terminal's authentication (6300, 6982, …): the keys derived
    /// from the password do not match the chip's.
    #[error("the chip refused mutual authentication ({sw})")]
    Refused {
        /// The status word the chip answered.
        sw: StatusWord,
    },
    /// The chip's answer to mutual authentication does not verify although the chip
    /// accepted ours: not a wrong password, but a chip that is not genuine or a broken
    /// protocol run.
    #[error(
        "the chip's authentication cryptogram is wrong ({what}): the chip is not genuine or the protocol failed"
    )]
    BadChipCryptogram {
        /// What did not verify.
        what: &'static str,
    },
    /// Chip side: the terminal's cryptogram does not verify (the chip answers 6300).
    #[error("the terminal's authentication cryptogram is wrong ({what})")]
    BadTerminalCryptogram {
        /// What did not verify.
        what: &'static str,
    },
    /// A step answered with an unexpected status word.
    #[error("the chip answered {sw} to INS {ins:02X}")]
    Status {
        /// Instruction byte of the command.
        ins: u8,
        /// Status word received.
        sw: StatusWord,
    },
    /// A step answered 9000 with data of the wrong shape.
    #[error("unexpected response to INS {ins:02X}: {what}")]
    BadResponse {
        /// Instruction byte of the command.
        ins: u8,
        /// What is wrong.
        what: &'static str,
    },
    /// A password that cannot be used (bad characters, wrong length).
    #[error("invalid {what}")]
    InvalidPassword {
        /// Which field and why.
        what: &'static str,
    },
    /// Chip side: a step that needs an earlier one (MUTUAL AUTHENTICATE without GET
    /// CHALLENGE).
    #[error("authentication step out of sequence: {what}")]
    OutOfSequence {
        /// What was missing.
        what: &'static str,
    },
    /// The APDU layer or the link failed.
    #[error(transparent)]
    Apdu(ApduError),
    /// Secure messaging failed.
    #[error(transparent)]
    Sm(#[from] SmError),
    /// A cryptographic primitive failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// PACE-specific failure (protocol choice, domain parameters, invalid keys, PACE-CAM).
    #[error(transparent)]
    Pace(#[from] crate::access::pace::PaceError),
}

impl From<ApduError> for AccessError {
    /// Secure-messaging errors carried through a channel come out as [`AccessError::Sm`].
    fn from(e: ApduError) -> Self {
        match e {
            ApduError::SecureMessaging(inner) => match inner.downcast::<SmError>() {
                Ok(sm) => AccessError::Sm(*sm),
                Err(other) => AccessError::Apdu(ApduError::SecureMessaging(other)),
            },
            e => AccessError::Apdu(e),
        }
    }
}

impl AccessError {
    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            AccessError::Refused { .. } => Some(
                "the MRZ is probably wrong: the chip refused mutual authentication; check the document \
                 number, date of birth and date of expiry (for PACE with a CAN: the CAN)"
                    .into(),
            ),
            AccessError::BadChipCryptogram { .. } => Some(
                "the chip accepted the MRZ but its own proof does not verify: treat the document as \
                 suspect, or retry in case of a transmission error"
                    .into(),
            ),
            AccessError::Status { ins: 0x84, .. } => {
                Some("the chip refused GET CHALLENGE: it may support PACE only".into())
            }
            AccessError::InvalidPassword { .. } => Some(
                "give the document number as printed in the MRZ, and the dates of birth and expiry as YYMMDD"
                    .into(),
            ),
            AccessError::Sm(SmError::ChipAbortedSm { .. }) => {
                Some("the chip ended secure messaging; authenticate again".into())
            }
            AccessError::Pace(p) => p.hint().map(String::from),
            AccessError::Apdu(ApduError::Transport(t)) if t.is_link_loss() => {
                Some("the document may have left the field: hold it still on the reader and retry".into())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm_errors_come_out_of_the_apdu_wrapper() {
        let apdu: ApduError = SmError::ChipAbortedSm {
            sw: StatusWord(0x6988),
        }
        .into();
        let e = AccessError::from(apdu);
        assert!(matches!(e, AccessError::Sm(SmError::ChipAbortedSm { .. })), "{e}");
        assert!(e.hint().unwrap().contains("authenticate again"));
    }

    #[test]
    fn refused_names_the_mrz() {
        let e = AccessError::Refused {
            sw: StatusWord(0x6300),
        };
        assert_eq!(
            e.to_string(),
            "the chip refused mutual authentication (6300 (authentication failed))"
        );
        assert!(
            e.hint()
                .unwrap()
                .starts_with("the MRZ is probably wrong: the chip refused mutual authentication")
        );
        let bad = AccessError::BadChipCryptogram { what: "MAC" };
        assert!(!bad.to_string().contains("MRZ") && !bad.hint().unwrap().contains("MRZ is probably wrong"));
    }
}

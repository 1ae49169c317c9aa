//! Errors of the LDS decoders (Doc 9303 Part 10; Part 11 for security infos).
//!
//! One error type, [`LdsError`], shared by every decoder under `lds/`. The `file`
//! fields name the file being decoded the way dumps do (`"EF.COM"`, `"DG1"`,
//! `"EF.SOD"`); `what` names the field or structure (`"MRZ"`, `"tag list"`).
//! Messages are lowercase and never contain personal data.

use thiserror::Error;

use crate::tlv::TlvError;

/// Why an LDS file could not be decoded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LdsError {
    /// Malformed BER-TLV (file unknown at the point of failure).
    #[error("malformed tlv")]
    Tlv(#[from] TlvError),
    /// Malformed BER-TLV inside a known file.
    #[error("{file}: malformed tlv")]
    TlvIn {
        /// File being decoded.
        file: &'static str,
        /// The TLV error.
        #[source]
        source: TlvError,
    },
    /// The input is empty.
    #[error("{file}: empty input")]
    Empty {
        /// File being decoded.
        file: &'static str,
    },
    /// A data object with another tag than the one required here.
    #[error("{file}: expected tag {expected:02X}, found {found:02X}")]
    UnexpectedTag {
        /// File being decoded.
        file: &'static str,
        /// Tag required.
        expected: u32,
        /// Tag present.
        found: u32,
    },
    /// A mandatory element is absent.
    #[error("{file}: missing {what}")]
    Missing {
        /// File being decoded.
        file: &'static str,
        /// What is missing.
        what: &'static str,
    },
    /// An element is present but its content is not valid.
    #[error("{file}: invalid {what}")]
    Invalid {
        /// File being decoded.
        file: &'static str,
        /// What is invalid.
        what: &'static str,
    },
    /// An element has a length the specification does not allow.
    #[error("{file}: {what} has invalid length {found}")]
    Length {
        /// File being decoded.
        file: &'static str,
        /// The element.
        what: &'static str,
        /// Its length.
        found: usize,
    },
    /// An element exceeds a limit that protects against hostile input.
    #[error("{file}: {what} too large ({size} > {max})")]
    TooLarge {
        /// File being decoded.
        file: &'static str,
        /// The element.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A well-formed element this decoder does not handle (e.g. an EC key over a
    /// binary field, which Doc 9303 does not use).
    #[error("{file}: unsupported {what}")]
    Unsupported {
        /// File being decoded.
        file: &'static str,
        /// What is unsupported.
        what: &'static str,
    },
    /// OpenSSL refused to build or use a key or group.
    #[error("{file}: {what} rejected by openssl")]
    Crypto {
        /// File being decoded.
        file: &'static str,
        /// What was being built.
        what: &'static str,
        /// OpenSSL's error stack.
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// An ASN.1 (DER) decoding error from the `der` crate.
    #[error("{file}: invalid DER in {what}")]
    Der {
        /// File being decoded.
        file: &'static str,
        /// The structure.
        what: &'static str,
        /// The `der` error.
        #[source]
        source: der::Error,
    },
    /// SecurityInfos (EF.CardAccess, DG14, EF.CardSecurity) that cannot be read, as
    /// their decoder says (its message and causes unchanged).
    #[error(transparent)]
    SecurityInfos(#[from] crate::lds::security_infos::SecurityInfosError),
    /// An error from another decoding library (asn1-rs, x509-parser, cms, …).
    #[error("{file}: invalid {what}")]
    Other {
        /// File being decoded.
        file: &'static str,
        /// The structure.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl LdsError {
    /// A closure turning a [`TlvError`] into [`LdsError::TlvIn`] for `file`
    /// (`.map_err(LdsError::tlv_in("DG1"))`).
    pub fn tlv_in(file: &'static str) -> impl Fn(TlvError) -> LdsError {
        move |source| LdsError::TlvIn { file, source }
    }

    /// Nothing when `t` has `tag`, else [`LdsError::UnexpectedTag`] in `file`.
    pub fn want_tag(t: &crate::tlv::Tlv<'_>, tag: u32, file: &'static str) -> Result<(), LdsError> {
        if t.tag == tag {
            Ok(())
        } else {
            Err(LdsError::UnexpectedTag {
                file,
                expected: tag,
                found: t.tag,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_context_and_source() {
        let e = LdsError::UnexpectedTag {
            file: "DG1",
            expected: 0x61,
            found: 0x75,
        };
        assert_eq!(e.to_string(), "DG1: expected tag 61, found 75");
        let e = LdsError::tlv_in("EF.COM")(TlvError::TooDeep);
        assert_eq!(e.to_string(), "EF.COM: malformed tlv");
        assert!(std::error::Error::source(&e).is_some());
        let e: LdsError = TlvError::TooDeep.into();
        assert!(matches!(e, LdsError::Tlv(_)));
    }
}

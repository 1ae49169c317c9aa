//! Errors of Active Authentication (terminal and chip side).

use thiserror::Error;

use crate::apdu::{ApduError, StatusWord};
use crate::lds::LdsError;
use crate::lds::security_infos::Oid;

use crate::asn1::signature::HashAlgorithm;

/// Why Active Authentication failed. Verification failures
/// ([`AaError::is_verification_failure`]: a complete signature that does not verify)
/// mean the chip did not prove possession of the DG15 private key; the others (no
/// answer, a cut-off answer, an unusable key, the link) leave the question open —
/// either way Active Authentication did not succeed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AaError {
    /// The chip does not implement INTERNAL AUTHENTICATE (6D00, 6A81).
    #[error("the chip does not support Active Authentication (INTERNAL AUTHENTICATE answered {sw})")]
    NotSupported {
        /// The status word.
        sw: StatusWord,
    },
    /// INTERNAL AUTHENTICATE answered another error status.
    #[error("the chip answered {sw} to INTERNAL AUTHENTICATE")]
    Status {
        /// The status word.
        sw: StatusWord,
    },
    /// INTERNAL AUTHENTICATE answered 9000 without a signature.
    #[error("the chip answered INTERNAL AUTHENTICATE without a signature")]
    EmptySignature,
    /// The DG15 key cannot be used (an algorithm other than RSA and EC, implicitlyCA).
    #[error("the DG15 public key cannot be used for Active Authentication: {what}")]
    UnsupportedKey {
        /// What is wrong.
        what: &'static str,
    },
    /// The DG15 key could not be built.
    #[error("the DG15 public key is unusable")]
    Key(#[source] LdsError),
    /// ActiveAuthenticationInfo names a signature algorithm that is not ECDSA.
    #[error("DG14 ActiveAuthenticationInfo names an unknown signature algorithm {oid}")]
    UnsupportedSignatureAlgorithm {
        /// The OID.
        oid: Oid,
    },
    /// The RSA signature is zero or not below the modulus.
    #[error("the signature is not an integer between 1 and n-1 of the DG15 key")]
    SignatureOutOfRange,
    /// The RSA signature is longer than the modulus.
    #[error("the signature has {got} byte(s), the DG15 modulus {modulus} byte(s)")]
    SignatureTooLong {
        /// Signature length.
        got: usize,
        /// Modulus length.
        modulus: usize,
    },
    /// An RSA signature far shorter than the modulus: the answer was cut to what fit the
    /// response (a length problem between reader and chip, not a verdict on the chip).
    #[error(
        "the signature has {got} byte(s) for a {modulus}-byte modulus: it was cut short (the answer did not fit the response length)"
    )]
    TruncatedSignature {
        /// Signature length.
        got: usize,
        /// Modulus length.
        modulus: usize,
    },
    /// Neither `s^e mod n` nor `n - (s^e mod n)` is an ISO/IEC 9796-2 scheme 1 message
    /// representative: the signature was not made with the DG15 key.
    #[error(
        "the opened signature is not an ISO/IEC 9796-2 message representative ({what}): \
         it was not made with the DG15 key"
    )]
    BadRepresentative {
        /// What does not fit (header, padding, trailer).
        what: &'static str,
    },
    /// A two-byte trailer names a hash function that is not supported.
    #[error("ISO/IEC 9796-2 trailer names unknown hash function {id:02X}")]
    UnknownHashId {
        /// The ISO/IEC 10118-3 hash identifier.
        id: u8,
    },
    /// The hash recovered from the signature differs from `hash(M1 || RND.IFD)`.
    #[error(
        "the {hash} digest in the signature differs from hash(M1 || RND.IFD): the signature is not over this challenge"
    )]
    DigestMismatch {
        /// The hash function of the trailer.
        hash: HashAlgorithm,
    },
    /// An ECDSA signature that is neither DER nor plain `r || s` of the curve's size.
    #[error("ECDSA signature of {len} byte(s) is neither DER nor plain r||s ({plain_len} bytes)")]
    BadSignatureEncoding {
        /// Its length.
        len: usize,
        /// The length of a plain signature on this curve.
        plain_len: usize,
    },
    /// The ECDSA signature does not verify with the DG15 key.
    #[error("the ECDSA-{hash} signature does not verify with the DG15 key")]
    EcdsaInvalid {
        /// The hash used.
        hash: HashAlgorithm,
    },
    /// Chip side: the key cannot sign as configured.
    #[error("active authentication key: {what}")]
    Signer {
        /// What is wrong.
        what: &'static str,
    },
    /// Chip side: the private key could not be read.
    #[error("active authentication private key cannot be read")]
    PrivateKey(#[source] openssl::error::ErrorStack),
    /// The link or secure messaging failed.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// OpenSSL failed.
    #[error("cryptographic library failure")]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

impl AaError {
    /// True when the chip answered but its signature did not verify: the chip did not
    /// prove it holds the DG15 private key (a clone, or a wrong DG15).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            AaError::SignatureOutOfRange
                | AaError::SignatureTooLong { .. }
                | AaError::BadRepresentative { .. }
                | AaError::UnknownHashId { .. }
                | AaError::DigestMismatch { .. }
                | AaError::BadSignatureEncoding { .. }
                | AaError::EcdsaInvalid { .. }
        )
    }

    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<&'static str> {
        if self.is_verification_failure() {
            return Some(
                "the chip could not prove it holds the private key of DG15: treat the document as \
                 suspect (a cloned chip cannot answer Active Authentication)",
            );
        }
        match self {
            AaError::NotSupported { .. } => {
                Some("the document has DG15 but its chip refuses Active Authentication")
            }
            AaError::TruncatedSignature { .. } => Some(
                "the chip's signature did not fit the response: retry with a reader that supports \
                 extended-length APDUs",
            ),
            _ => None,
        }
    }
}

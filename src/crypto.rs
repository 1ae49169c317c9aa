//! Symmetric cryptography of Doc 9303 Part 11: the key derivation function (§9.7.1),
//! 3DES and AES in CBC mode (§9.8.6.1), ISO/IEC 9797-1 MAC algorithm 3 and AES-CMAC
//! (§9.8.6.2), and ISO/IEC 9797-1 padding method 2.
//!
//! The block ciphers come from the RustCrypto crates (`des`, `aes`, `cbc`, `cmac`); this
//! module only composes them the way Doc 9303 does. Every function takes keys as slices
//! and checks their length, so a wrong-length key is an error, never a panic.

mod block;
mod kdf;
mod mac;
mod padding;

pub use block::{
    aes_cbc_decrypt, aes_cbc_encrypt, aes_ecb_encrypt_block, cbc_decrypt, cbc_encrypt, tdes_cbc_decrypt,
    tdes_cbc_encrypt,
};
pub use kdf::{KDF_ENC, KDF_MAC, KDF_PI, adjust_des_parity, kdf};
pub use mac::{aes_cmac, retail_mac, sm_mac};
pub use padding::{pad, unpad};

/// SHA-256 of `bytes` in lower-case hex: how the manifest, reports and `inspect` name a
/// file, a certificate or an image by content.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

use subtle::ConstantTimeEq;
use thiserror::Error;

/// The block cipher of a secure-messaging session (Doc 9303 Part 11 §9.8, Table 4 for
/// the PACE and CA algorithm identifiers that select it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// Two-key triple DES (EDE, 16-byte keys), with ISO/IEC 9797-1 MAC algorithm 3.
    Tdes,
    /// AES with a 128-bit key, with AES-CMAC.
    Aes128,
    /// AES with a 192-bit key, with AES-CMAC.
    Aes192,
    /// AES with a 256-bit key, with AES-CMAC.
    Aes256,
}

impl Cipher {
    /// Key length in bytes (16 for 2-key 3DES).
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Tdes | Cipher::Aes128 => 16,
            Cipher::Aes192 => 24,
            Cipher::Aes256 => 32,
        }
    }

    /// Block size in bytes (8 for 3DES, 16 for AES); also the length of the SSC.
    pub fn block_size(self) -> usize {
        match self {
            Cipher::Tdes => 8,
            _ => 16,
        }
    }

    /// Human-readable name ("3DES", "AES-128", …).
    pub fn name(self) -> &'static str {
        match self {
            Cipher::Tdes => "3DES",
            Cipher::Aes128 => "AES-128",
            Cipher::Aes192 => "AES-192",
            Cipher::Aes256 => "AES-256",
        }
    }

    /// True for the AES variants.
    pub fn is_aes(self) -> bool {
        self != Cipher::Tdes
    }
}

impl std::fmt::Display for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of the symmetric primitives.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key of the wrong length for the cipher.
    #[error("{cipher} key of {got} byte(s), expected {expected}")]
    KeyLength {
        /// Cipher name.
        cipher: &'static str,
        /// Expected length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// An IV of the wrong length.
    #[error("IV of {got} byte(s), expected {expected}")]
    IvLength {
        /// Expected length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// Input to raw CBC that is not a whole number of blocks.
    #[error("{len} byte(s) is not a multiple of the {block}-byte block size")]
    NotBlockAligned {
        /// Input length.
        len: usize,
        /// Block size.
        block: usize,
    },
    /// ISO/IEC 9797-1 padding method 2 not found where it must be.
    #[error("bad padding (ISO/IEC 9797-1 method 2)")]
    BadPadding,
}

/// Constant-time equality of two byte strings (the lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_sizes() {
        assert_eq!((Cipher::Tdes.key_len(), Cipher::Tdes.block_size()), (16, 8));
        assert_eq!((Cipher::Aes192.key_len(), Cipher::Aes192.block_size()), (24, 16));
        assert_eq!(Cipher::Aes256.to_string(), "AES-256");
    }

    #[test]
    fn ct_eq_cases() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}

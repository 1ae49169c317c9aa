//! Session keys and the send sequence counter (Doc 9303 Part 11 §9.8.2, §9.8.3).

use zeroize::Zeroizing;

use super::SmError;
use crate::crypto::{Cipher, KDF_ENC, KDF_MAC, kdf};

/// Send sequence counter: 8 bytes for 3DES, 16 for AES, big-endian, incremented before
/// each command and before each response.
#[derive(Clone, PartialEq, Eq)]
pub struct Ssc(Zeroizing<Vec<u8>>);

impl Ssc {
    /// The counter from its bytes (for BAC: `RND.IC[4..8] || RND.IFD[4..8]`).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Ssc(Zeroizing::new(bytes.to_vec()))
    }

    /// An all-zero counter of the cipher's block size (PACE, Chip Authentication).
    pub fn zero(cipher: Cipher) -> Self {
        Ssc(Zeroizing::new(vec![0; cipher.block_size()]))
    }

    /// Increment by one, wrapping at the top (a session never gets there).
    pub fn increment(&mut self) {
        for b in self.0.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }

    /// The counter's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The counter's low 16 bytes as a number (for error context).
    pub fn value(&self) -> u128 {
        self.0.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for a zero-length counter (never valid in a session).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Ssc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ssc(<{} bytes redacted>)", self.0.len())
    }
}

/// The keys and counter of one secure-messaging session. Zeroized on drop; `Debug`
/// shows only the cipher.
#[derive(Clone)]
pub struct SessionKeys {
    cipher: Cipher,
    ks_enc: Zeroizing<Vec<u8>>,
    ks_mac: Zeroizing<Vec<u8>>,
    ssc: Ssc,
}

impl SessionKeys {
    /// Keys and counter as given; errors when a length does not fit the cipher.
    pub fn new(cipher: Cipher, ks_enc: &[u8], ks_mac: &[u8], ssc: Ssc) -> Result<Self, SmError> {
        let bad = |what| SmError::BadKeys { cipher, what };
        if ks_enc.len() != cipher.key_len() {
            return Err(bad("KSenc length does not fit the cipher"));
        }
        if ks_mac.len() != cipher.key_len() {
            return Err(bad("KSmac length does not fit the cipher"));
        }
        if ssc.len() != cipher.block_size() {
            return Err(bad("SSC length is not the block size"));
        }
        Ok(SessionKeys {
            cipher,
            ks_enc: Zeroizing::new(ks_enc.to_vec()),
            ks_mac: Zeroizing::new(ks_mac.to_vec()),
            ssc,
        })
    }

    /// KSenc = KDF(secret, 1), KSmac = KDF(secret, 2) (Doc 9303 Part 11 §9.7.1), with the
    /// given starting counter. `secret` is K_seed for BAC, the shared secret K for PACE and
    /// Chip Authentication.
    pub fn derive(cipher: Cipher, secret: &[u8], ssc: Ssc) -> Result<Self, SmError> {
        let ks_enc = kdf(secret, KDF_ENC, cipher);
        let ks_mac = kdf(secret, KDF_MAC, cipher);
        SessionKeys::new(cipher, &ks_enc, &ks_mac, ssc)
    }

    /// The cipher.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// KSenc.
    pub fn ks_enc(&self) -> &[u8] {
        &self.ks_enc
    }

    /// KSmac.
    pub fn ks_mac(&self) -> &[u8] {
        &self.ks_mac
    }

    /// The current send sequence counter.
    pub fn ssc(&self) -> &Ssc {
        &self.ssc
    }

    /// The counter, mutably (protect/unprotect increment it).
    pub fn ssc_mut(&mut self) -> &mut Ssc {
        &mut self.ssc
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("cipher", &self.cipher)
            .field("ks_enc", &"<redacted>")
            .field("ks_mac", &"<redacted>")
            .field("ssc", &self.ssc)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssc_increments_with_carry() {
        let mut s = Ssc::from_bytes(&hex::decode("887022120C06C226").unwrap());
        s.increment();
        assert_eq!(hex::encode_upper(s.as_bytes()), "887022120C06C227");
        let mut s = Ssc::from_bytes(&[0x00, 0xFF, 0xFF]);
        s.increment();
        assert_eq!(s.as_bytes(), &[0x01, 0x00, 0x00]);
        let mut s = Ssc::from_bytes(&[0xFF; 2]);
        s.increment();
        assert_eq!(s.as_bytes(), &[0, 0]);
        assert_eq!(Ssc::zero(Cipher::Aes256).len(), 16);
        assert_eq!(Ssc::from_bytes(&[1, 2]).value(), 0x0102);
    }

    #[test]
    fn debug_is_redacted() {
        let k = SessionKeys::new(
            Cipher::Tdes,
            &[0xAB; 16],
            &[0xCD; 16],
            Ssc::from_bytes(&[0x77; 8]),
        )
        .unwrap();
        let d = format!("{k:?}");
        assert!(
            !d.contains("AB") && !d.contains("171") && !d.contains("77"),
            "{d}"
        );
        assert!(d.contains("Tdes"));
    }

    #[test]
    fn lengths_are_checked() {
        assert!(SessionKeys::new(Cipher::Aes128, &[0; 16], &[0; 16], Ssc::zero(Cipher::Tdes)).is_err());
        assert!(SessionKeys::new(Cipher::Aes256, &[0; 16], &[0; 32], Ssc::zero(Cipher::Aes256)).is_err());
        assert!(SessionKeys::new(Cipher::Aes192, &[0; 24], &[0; 24], Ssc::zero(Cipher::Aes192)).is_ok());
    }
}

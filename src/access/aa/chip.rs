//! Active Authentication, chip side, for the emulator (Doc 9303 Part 11 §6.1.2):
//! sign RND.IFD with the chip's private key.
//!
//! * RSA: ISO/IEC 9796-2 scheme 1, `F = 6A || M1 || hash(M1 || RND.IFD) || trailer`
//!   with M1 fresh random bytes filling the capacity, `s = F^d mod n`. The trailer is
//!   `BC` (SHA-1) unless another hash is configured (`34CC` for SHA-256, …).
//! * ECDSA: `sign(hash(RND.IFD))`, output as plain `r || s` (BSI TR-03111) or DER.

use openssl::bn::{BigNum, BigNumContext};
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Padding;

use super::error::AaError;
use super::hash::EcdsaEncoding;
use super::iso9796::{self, Trailer};
use crate::asn1::signature::HashAlgorithm;
use crate::rng::RandomSource;

/// The chip's Active Authentication private key and how it signs. `Debug` shows only
/// the key type.
#[derive(Clone)]
pub struct AaSigner {
    key: PKey<Private>,
    hash: Option<HashAlgorithm>,
    ecdsa_encoding: EcdsaEncoding,
}

impl std::fmt::Debug for AaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AaSigner")
            .field("key", &if self.is_rsa() { "RSA(..)" } else { "EC(..)" })
            .field("hash", &self.hash)
            .field("ecdsa_encoding", &self.ecdsa_encoding)
            .finish()
    }
}

impl AaSigner {
    /// A signer for an RSA or EC private key (SHA-1 / trailer BC for RSA, plain ECDSA).
    pub fn new(key: PKey<Private>) -> Result<Self, AaError> {
        match key.id() {
            Id::RSA | Id::EC => Ok(AaSigner {
                key,
                hash: None,
                ecdsa_encoding: EcdsaEncoding::Plain,
            }),
            _ => Err(AaError::Signer {
                what: "only RSA and EC keys can do Active Authentication",
            }),
        }
    }

    /// Read a private key: PEM (PKCS#8, or traditional RSA/EC) or DER (PKCS#8 or
    /// traditional).
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, AaError> {
        let key = PKey::private_key_from_der(bytes)
            .or_else(|_| PKey::private_key_from_pkcs8(bytes))
            .or_else(|_| PKey::private_key_from_pem(bytes))
            .map_err(AaError::PrivateKey)?;
        Self::new(key)
    }

    /// Sign with `hash` (RSA: the two-byte trailer for anything but SHA-1; ECDSA: this
    /// hash whatever DG14 says).
    pub fn with_hash(mut self, hash: HashAlgorithm) -> Self {
        self.hash = Some(hash);
        self
    }

    /// Encode ECDSA signatures this way.
    pub fn with_ecdsa_encoding(mut self, encoding: EcdsaEncoding) -> Self {
        self.ecdsa_encoding = encoding;
        self
    }

    /// True for an RSA key.
    pub fn is_rsa(&self) -> bool {
        self.key.id() == Id::RSA
    }

    /// The configured hash, if any.
    pub fn hash(&self) -> Option<HashAlgorithm> {
        self.hash
    }

    /// The DER SubjectPublicKeyInfo (the content of DG15).
    pub fn public_key_der(&self) -> Result<Vec<u8>, AaError> {
        Ok(self.key.public_key_to_der()?)
    }

    /// Order bits of an EC key (`None` for RSA).
    pub fn ec_order_bits(&self) -> Option<usize> {
        let ec = self.key.ec_key().ok()?;
        let mut ctx = BigNumContext::new().ok()?;
        let mut order = BigNum::new().ok()?;
        ec.group().order(&mut order, &mut ctx).ok()?;
        usize::try_from(order.num_bits()).ok()
    }

    /// Sign `challenge`. `ec_hash` is the hash DG14's ActiveAuthenticationInfo names
    /// (used for ECDSA unless the signer has its own); without either, the hash is
    /// chosen from the order's size. M1 comes from `rng`.
    pub fn sign(
        &self,
        challenge: &[u8],
        ec_hash: Option<HashAlgorithm>,
        rng: &mut dyn RandomSource,
    ) -> Result<Vec<u8>, AaError> {
        if self.is_rsa() {
            self.sign_rsa(challenge, rng)
        } else {
            self.sign_ecdsa(challenge, ec_hash)
        }
    }

    fn sign_rsa(&self, challenge: &[u8], rng: &mut dyn RandomSource) -> Result<Vec<u8>, AaError> {
        let rsa = self.key.rsa()?;
        let k = usize::try_from(rsa.size()).unwrap_or(0);
        let trailer = Trailer::for_hash(self.hash.unwrap_or(HashAlgorithm::Sha1));
        let capacity = iso9796::m1_capacity(k, trailer).ok_or(AaError::Signer {
            what: "RSA modulus too short for the hash",
        })?;
        let m1 = rng.bytes(capacity);
        let f = iso9796::encode(k, &m1, challenge, trailer)?;
        let mut out = vec![0u8; k];
        let n = rsa
            .private_encrypt(&f, &mut out, Padding::NONE)
            .map_err(|_| AaError::Signer {
                what: "representative not below the modulus (modulus bits not a multiple of 8?)",
            })?;
        out.truncate(n);
        Ok(out)
    }

    fn sign_ecdsa(&self, challenge: &[u8], ec_hash: Option<HashAlgorithm>) -> Result<Vec<u8>, AaError> {
        let ec = self.key.ec_key()?;
        let order_bits = self.ec_order_bits().ok_or(AaError::Signer {
            what: "EC key without an order",
        })?;
        let hash = self
            .hash
            .or(ec_hash)
            .unwrap_or_else(|| HashAlgorithm::for_order_bits(order_bits));
        let digest = hash.digest(challenge);
        let sig = EcdsaSig::sign(&digest, &ec)?;
        match self.ecdsa_encoding {
            EcdsaEncoding::Der => Ok(sig.to_der()?),
            EcdsaEncoding::Plain => {
                let len = i32::try_from(order_bits.div_ceil(8)).unwrap_or(i32::MAX);
                let mut out = sig.r().to_vec_padded(len)?;
                out.extend_from_slice(&sig.s().to_vec_padded(len)?);
                Ok(out)
            }
        }
    }
}

//! The symmetric steps of PACE, composed from [`crate::crypto`]:
//!
//! * K_π = KDF(π, 3) and the nonce `z = E(K_π, s)` with a zero IV (Doc 9303 Part 11 §4.4.3.1);
//! * the authentication tokens `T = MAC(KSmac, 7F49{...})` (§4.4.3.4): AES-CMAC of the
//!   unpadded public key data object truncated to 8 bytes, or the 3DES retail MAC over
//!   it padded with ISO/IEC 9797-1 method 2;

use zeroize::Zeroizing;

use crate::access::AccessError;
use crate::crypto::{Cipher, KDF_PI, aes_cmac, cbc_decrypt, cbc_encrypt, kdf, retail_mac};
use crate::lds::security_infos::CipherSuite;

/// The secure-messaging cipher of a PACE / CA protocol OID's last arc.
pub fn cipher_of(suite: CipherSuite) -> Cipher {
    match suite {
        CipherSuite::Tdes => Cipher::Tdes,
        CipherSuite::Aes128 => Cipher::Aes128,
        CipherSuite::Aes192 => Cipher::Aes192,
        CipherSuite::Aes256 => Cipher::Aes256,
    }
}

/// K_π = KDF(π, 3).
pub fn k_pi(secret: &[u8], cipher: Cipher) -> Zeroizing<Vec<u8>> {
    kdf(secret, KDF_PI, cipher)
}

/// A zero IV of the cipher's block size.
pub(crate) fn zero_iv(cipher: Cipher) -> Vec<u8> {
    vec![0; cipher.block_size()]
}

/// `s = D(K_π, z)` (CBC, zero IV).
pub fn decrypt_nonce(cipher: Cipher, k_pi: &[u8], z: &[u8]) -> Result<Zeroizing<Vec<u8>>, AccessError> {
    Ok(Zeroizing::new(cbc_decrypt(cipher, k_pi, &zero_iv(cipher), z)?))
}

/// `z = E(K_π, s)` (CBC, zero IV).
pub fn encrypt_nonce(cipher: Cipher, k_pi: &[u8], s: &[u8]) -> Result<Vec<u8>, AccessError> {
    Ok(cbc_encrypt(cipher, k_pi, &zero_iv(cipher), s)?)
}

/// Length of the chip's nonce s: 16 bytes for 3DES and AES-128 (the length the
/// Integrated Mapping's 128-bit constants need; real 3DES chips send 16 too), 32 bytes
/// for AES-192/256 (the 256-bit constants).
pub fn nonce_len(cipher: Cipher) -> usize {
    match cipher {
        Cipher::Tdes | Cipher::Aes128 => 16,
        Cipher::Aes192 | Cipher::Aes256 => 32,
    }
}

/// Authentication token over a public key data object: AES-CMAC truncated to 8 bytes, or
/// the 3DES retail MAC (which pads).
pub fn token(cipher: Cipher, ks_mac: &[u8], data: &[u8]) -> Result<[u8; 8], AccessError> {
    Ok(match cipher {
        Cipher::Tdes => retail_mac(ks_mac, data)?,
        _ => {
            let full = aes_cmac(ks_mac, data)?;
            let mut out = [0u8; 8];
            for (o, f) in out.iter_mut().zip(full.iter()) {
                *o = *f;
            }
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::vectors;

    fn h(v: &serde_json::Value, k: &str) -> Vec<u8> {
        hex::decode(v[k].as_str().unwrap()).unwrap()
    }

    #[test]
    fn tokens_g1_aes_and_nz_3des() {
        let v = vectors("pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json");
        let e = &v["expected"];
        for (input, t) in [
            ("auth_token_input_for_t_pcd", "t_pcd"),
            ("auth_token_input_for_t_picc", "t_picc"),
        ] {
            let token = token(Cipher::Aes128, &h(e, "ks_mac"), &h(e, input)).unwrap();
            assert_eq!(token.to_vec(), h(e, t), "{t}");
        }
    }
}

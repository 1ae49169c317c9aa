//! 3DES and AES in CBC mode without padding (the caller pads with method 2), and the
//! single-block AES encryption that derives the AES secure-messaging IV
//! (Doc 9303 Part 11 §9.8.6.1: IV = E(KSenc, SSC)).

use aes::{Aes128, Aes192, Aes256};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{Block, BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit};
use des::TdesEde2;

use super::{Cipher, CryptoError};

fn check_key(cipher: Cipher, key: &[u8]) -> Result<(), CryptoError> {
    if key.len() == cipher.key_len() {
        Ok(())
    } else {
        Err(CryptoError::KeyLength {
            cipher: cipher.name(),
            expected: cipher.key_len(),
            got: key.len(),
        })
    }
}

fn check_iv_and_data(cipher: Cipher, iv: &[u8], data: &[u8]) -> Result<(), CryptoError> {
    let block = cipher.block_size();
    if iv.len() != block {
        return Err(CryptoError::IvLength {
            expected: block,
            got: iv.len(),
        });
    }
    if !data.len().is_multiple_of(block) {
        return Err(CryptoError::NotBlockAligned {
            len: data.len(),
            block,
        });
    }
    Ok(())
}

/// Which way [`cbc`] runs.
#[derive(Clone, Copy)]
enum Direction {
    Encrypt,
    Decrypt,
}

/// CBC under the block cipher `C` (key and IV lengths already checked).
fn cbc_with<C>(direction: Direction, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError>
where
    C: cbc::cipher::BlockCipherDecrypt + BlockCipherEncrypt + KeyInit,
{
    let not_aligned = || CryptoError::NotBlockAligned {
        len: data.len(),
        block: C::block_size(),
    };
    let mut buf = data.to_vec();
    let len = buf.len();
    let out_len = match direction {
        Direction::Encrypt => cbc::Encryptor::<C>::new_from_slices(key, iv)
            .map_err(|_| not_aligned())?
            .encrypt_padded::<NoPadding>(&mut buf, len)
            .map_err(|_| not_aligned())?
            .len(),
        Direction::Decrypt => cbc::Decryptor::<C>::new_from_slices(key, iv)
            .map_err(|_| not_aligned())?
            .decrypt_padded::<NoPadding>(&mut buf)
            .map_err(|_| not_aligned())?
            .len(),
    };
    buf.truncate(out_len);
    Ok(buf)
}

/// CBC under `cipher`, after checking the key, IV and data lengths.
fn cbc(
    direction: Direction,
    cipher: Cipher,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check_key(cipher, key)?;
    check_iv_and_data(cipher, iv, data)?;
    match cipher {
        Cipher::Tdes => cbc_with::<TdesEde2>(direction, key, iv, data),
        Cipher::Aes128 => cbc_with::<Aes128>(direction, key, iv, data),
        Cipher::Aes192 => cbc_with::<Aes192>(direction, key, iv, data),
        Cipher::Aes256 => cbc_with::<Aes256>(direction, key, iv, data),
    }
}

/// CBC-encrypt `data` (a whole number of blocks) under `cipher` with `key` and `iv`.
pub fn cbc_encrypt(cipher: Cipher, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    cbc(Direction::Encrypt, cipher, key, iv, data)
}

/// CBC-decrypt `data` (a whole number of blocks) under `cipher` with `key` and `iv`.
pub fn cbc_decrypt(cipher: Cipher, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    cbc(Direction::Decrypt, cipher, key, iv, data)
}

/// Two-key 3DES-CBC encryption with a zero IV (BAC cryptograms, 3DES secure messaging).
pub fn tdes_cbc_encrypt(key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    cbc_encrypt(Cipher::Tdes, key, &[0; 8], data)
}

/// Two-key 3DES-CBC decryption with a zero IV.
pub fn tdes_cbc_decrypt(key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    cbc_decrypt(Cipher::Tdes, key, &[0; 8], data)
}

fn aes_cipher(key: &[u8]) -> Result<Cipher, CryptoError> {
    match key.len() {
        16 => Ok(Cipher::Aes128),
        24 => Ok(Cipher::Aes192),
        32 => Ok(Cipher::Aes256),
        got => Err(CryptoError::KeyLength {
            cipher: "AES",
            expected: 16,
            got,
        }),
    }
}

/// AES-CBC encryption; the AES variant follows from the key length (16, 24 or 32).
pub fn aes_cbc_encrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    cbc_encrypt(aes_cipher(key)?, key, iv, data)
}

/// AES-CBC decryption; the AES variant follows from the key length (16, 24 or 32).
pub fn aes_cbc_decrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    cbc_decrypt(aes_cipher(key)?, key, iv, data)
}

fn ecb_one<C: BlockCipherEncrypt + KeyInit>(key: &[u8], block: &[u8]) -> Result<[u8; 16], CryptoError> {
    let c = C::new_from_slice(key).map_err(|_| CryptoError::KeyLength {
        cipher: "AES",
        expected: 16,
        got: key.len(),
    })?;
    let mut b = Block::<C>::try_from(block).map_err(|_| CryptoError::NotBlockAligned {
        len: block.len(),
        block: 16,
    })?;
    c.encrypt_block(&mut b);
    let mut out = [0u8; 16];
    if out.len() != b.len() {
        return Err(CryptoError::NotBlockAligned {
            len: b.len(),
            block: 16,
        });
    }
    out.copy_from_slice(&b);
    Ok(out)
}

/// Encrypt one 16-byte block with AES in ECB mode (for IV = E(KSenc, SSC)).
pub fn aes_ecb_encrypt_block(key: &[u8], block: &[u8]) -> Result<[u8; 16], CryptoError> {
    if block.len() != 16 {
        return Err(CryptoError::NotBlockAligned {
            len: block.len(),
            block: 16,
        });
    }
    match aes_cipher(key)? {
        Cipher::Aes192 => ecb_one::<Aes192>(key, block),
        Cipher::Aes256 => ecb_one::<Aes256>(key, block),
        _ => ecb_one::<Aes128>(key, block),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{h, s, vectors};

    #[test]
    fn appendix_d_e_ifd_and_r() {
        let d = vectors("bac_sm_doc9303_appendix_d.json");
        let e = &d["expected"];
        // E_IFD = 3DES(Kenc, S), raw (non-parity) and adjusted keys give the same result
        assert_eq!(
            tdes_cbc_encrypt(&s(&e["kenc"]), &s(&e["s"])).unwrap(),
            s(&e["e_ifd"])
        );
        assert_eq!(
            tdes_cbc_encrypt(&s(&e["kenc_no_parity"]), &s(&e["s"])).unwrap(),
            s(&e["e_ifd"])
        );
        assert_eq!(
            tdes_cbc_decrypt(&s(&e["kenc"]), &s(&e["e_ic"])).unwrap(),
            s(&e["r_decrypted"])
        );
        // D.4 DO'87 of SELECT EF.COM: 3DES(KSenc, pad(011E))
        let sm = &d["secure_messaging_d4"];
        assert_eq!(
            tdes_cbc_encrypt(&s(&sm["ks_enc"]), &h("011E800000000000")).unwrap(),
            h("6375432908C044F6")
        );
    }

    #[test]
    fn bsi_eac_sm_encryption_with_ssc_iv() {
        // BSI EAC worked example: e1 = AES-CBC(KSenc, IV = E(KSenc, SSC=1), pad(d1))
        for file in [
            "bsi_eac_worked_example_ecdh.json",
            "bsi_eac_worked_example_dh.json",
        ] {
            let v = vectors(&format!("bsi_eac_worked_example/{file}"));
            let v = &v["values"];
            let key = s(&v["k_enc"]);
            let mut ssc = [0u8; 16];
            ssc[15] = 1;
            let iv = aes_ecb_encrypt_block(&key, &ssc).unwrap();
            let padded = crate::crypto::pad(&s(&v["d1"]), 16);
            let ct = aes_cbc_encrypt(&key, &iv, &padded).unwrap();
            assert_eq!(ct, s(&v["e1"]), "{file}");
            assert_eq!(aes_cbc_decrypt(&key, &iv, &ct).unwrap(), padded);
        }
    }

    #[test]
    fn pace_nonce_decryption_zero_iv() {
        // Doc 9303 G.1/G.2/H.1: s = AES-128-CBC-decrypt(K_pi, IV 0, z)
        for file in [
            "pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json",
            "pace_dh_gm_1024_160_doc9303_g2.json",
            "pace_ecdh_im_brainpoolp256r1_doc9303_h1.json",
        ] {
            let e = &vectors(file)["expected"];
            let s_plain = aes_cbc_decrypt(&s(&e["k_pi"]), &[0; 16], &s(&e["encrypted_nonce_z"])).unwrap();
            assert_eq!(s_plain, s(&e["nonce_s"]), "{file}");
        }
    }

    #[test]
    fn aes_256_iv_from_fips197() {
        // FIPS-197 Appendix C.3 (AES-256) and C.1 (AES-128)
        let pt = h("00112233445566778899aabbccddeeff");
        let k256 = h("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        assert_eq!(
            aes_ecb_encrypt_block(&k256, &pt).unwrap().to_vec(),
            h("8ea2b7ca516745bfeafc49904b496089")
        );
        let k192 = h("000102030405060708090a0b0c0d0e0f1011121314151617");
        assert_eq!(
            aes_ecb_encrypt_block(&k192, &pt).unwrap().to_vec(),
            h("dda97ca4864cdfe06eaf70a0ec0d7191")
        );
        let k128 = h("000102030405060708090a0b0c0d0e0f");
        assert_eq!(
            aes_ecb_encrypt_block(&k128, &pt).unwrap().to_vec(),
            h("69c4e0d86a7b0430d8cdb78070b4c55a")
        );
    }

    #[test]
    fn errors_not_panics() {
        assert!(matches!(
            tdes_cbc_encrypt(&[0; 15], &[0; 8]),
            Err(CryptoError::KeyLength { got: 15, .. })
        ));
        assert!(matches!(
            tdes_cbc_encrypt(&[0; 16], &[0; 9]),
            Err(CryptoError::NotBlockAligned { len: 9, block: 8 })
        ));
        assert!(matches!(
            aes_cbc_decrypt(&[0; 16], &[0; 8], &[0; 16]),
            Err(CryptoError::IvLength { .. })
        ));
        assert!(aes_cbc_encrypt(&[0; 20], &[0; 16], &[0; 16]).is_err());
        assert!(aes_ecb_encrypt_block(&[0; 16], &[0; 15]).is_err());
        assert_eq!(tdes_cbc_encrypt(&[0; 16], &[]).unwrap(), Vec::<u8>::new());
    }
}

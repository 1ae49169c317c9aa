//! The symmetric steps of PACE, composed from [`crate::crypto`]:
//!
//! * K_π = KDF(π, 3) and the nonce `z = E(K_π, s)` with a zero IV (Doc 9303 Part 11 §4.4.3.1);
//! * the Integrated Mapping pseudo-random function `R_p(s, t)` (§4.4.3.3.2);
//! * the authentication tokens `T = MAC(KSmac, 7F49{...})` (§4.4.3.4): AES-CMAC of the
//!   unpadded public key data object truncated to 8 bytes, or the 3DES retail MAC over
//!   it padded with ISO/IEC 9797-1 method 2;
//! * the PACE-CAM chip authentication data `A_IC = E(KSenc, CA_IC)` with
//!   `IV = E(KSenc, -1)` and padding method 2 (§4.4.3.5.1).

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use zeroize::Zeroizing;

use super::error::PaceError;
use crate::access::AccessError;
use crate::crypto::{
    Cipher, KDF_PI, aes_cmac, aes_ecb_encrypt_block, cbc_decrypt, cbc_encrypt, kdf, pad, retail_mac, unpad,
};
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

fn zero_iv(cipher: Cipher) -> Vec<u8> {
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

// Doc 9303 Part 11 §4.4.3.3.2 constants.
const C0_128: [u8; 16] = [
    0xA6, 0x68, 0x89, 0x2A, 0x7C, 0x41, 0xE3, 0xCA, 0x73, 0x9F, 0x40, 0xB0, 0x57, 0xD8, 0x59, 0x04,
];
const C1_128: [u8; 16] = [
    0xA4, 0xE1, 0x36, 0xAC, 0x72, 0x5F, 0x73, 0x8B, 0x01, 0xC1, 0xF6, 0x02, 0x17, 0xC1, 0x88, 0xAD,
];
const C0_256: [u8; 32] = [
    0xD4, 0x63, 0xD6, 0x52, 0x34, 0x12, 0x4E, 0xF7, 0x89, 0x70, 0x54, 0x98, 0x6D, 0xCA, 0x0A, 0x17, 0x4E,
    0x28, 0xDF, 0x75, 0x8C, 0xBA, 0xA0, 0x3F, 0x24, 0x06, 0x16, 0x41, 0x4D, 0x5A, 0x16, 0x76,
];
const C1_256: [u8; 32] = [
    0x54, 0xBD, 0x72, 0x55, 0xF0, 0xAA, 0xF8, 0x31, 0xBE, 0xC3, 0x42, 0x3F, 0xCF, 0x39, 0xD6, 0x9B, 0x6C,
    0xBF, 0x06, 0x66, 0x77, 0xD0, 0xFA, 0xAE, 0x5A, 0xAD, 0xD9, 0x9D, 0xF8, 0xE5, 0x35, 0x17,
];

/// The Integrated Mapping pseudo-random function before reduction
/// (Doc 9303 Part 11 §4.4.3.3.2):
///
/// ```text
/// n = ⌈(log2 p + 64) / l⌉          l = bit length of s
/// k0 = E(t, s)
/// for i in 0..n: x_i = E(k_i, c1); k_{i+1} = E(k_i, c0)
/// R = x_0 || … || x_{n-1}
/// ```
///
/// `E` is the block cipher in CBC mode with a zero IV (one or two blocks); `t` is a key of
/// the cipher's length; `s`, `c0`, `c1` and the `k_i` are 128 bits for 3DES and AES-128
/// and 256 bits for AES-192/256, where the first 24 bytes of `k_i` key AES-192.
pub fn pseudo_random_bytes(
    cipher: Cipher,
    s: &[u8],
    t: &[u8],
    p_bits: usize,
) -> Result<Zeroizing<Vec<u8>>, AccessError> {
    let (c0, c1): (&[u8], &[u8]) = match cipher {
        Cipher::Tdes | Cipher::Aes128 => (&C0_128, &C1_128),
        Cipher::Aes192 | Cipher::Aes256 => (&C0_256, &C1_256),
    };
    if s.len() != c0.len() {
        return Err(PaceError::MappingUnsupported {
            mapping: crate::lds::security_infos::PaceMapping::EcdhIm,
            reason: "the chip's nonce s does not have the length the pseudo-random function needs",
        }
        .into());
    }
    let iv = zero_iv(cipher);
    let l = s.len() * 8;
    let n = (p_bits + 64).div_ceil(l);
    let mut k = Zeroizing::new(cbc_encrypt(cipher, t, &iv, s)?);
    let mut out = Zeroizing::new(Vec::with_capacity(n * s.len()));
    for _ in 0..n {
        let key = k.get(..cipher.key_len()).ok_or(PaceError::State {
            what: "pseudo-random function key too short",
        })?;
        let x = Zeroizing::new(cbc_encrypt(cipher, key, &iv, c1)?);
        let next = Zeroizing::new(cbc_encrypt(cipher, key, &iv, c0)?);
        out.extend_from_slice(&x);
        k = next;
    }
    Ok(out)
}

/// `R_p(s, t) mod p`, the input of the point encoding / exponentiation.
pub fn pseudo_random(cipher: Cipher, s: &[u8], t: &[u8], p: &BigNumRef) -> Result<BigNum, AccessError> {
    let bits = usize::try_from(p.num_bits()).unwrap_or(0);
    let r = pseudo_random_bytes(cipher, s, t, bits)?;
    let r = BigNum::from_slice(&r).map_err(PaceError::from)?;
    let mut ctx = BigNumContext::new().map_err(PaceError::from)?;
    let mut out = BigNum::new().map_err(PaceError::from)?;
    out.nnmod(&r, p, &mut ctx).map_err(PaceError::from)?;
    Ok(out)
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

/// IV of the PACE-CAM data: `E(KSenc, FF..FF)` (the SSC set to -1).
pub fn cam_iv(ks_enc: &[u8]) -> Result<[u8; 16], AccessError> {
    Ok(aes_ecb_encrypt_block(ks_enc, &[0xFF; 16])?)
}

/// `A_IC = E(KSenc, pad(CA_IC))` (chip side).
pub fn encrypt_cam_data(cipher: Cipher, ks_enc: &[u8], ca_ic: &[u8]) -> Result<Vec<u8>, AccessError> {
    let iv = cam_iv(ks_enc)?;
    Ok(cbc_encrypt(
        cipher,
        ks_enc,
        &iv,
        &pad(ca_ic, cipher.block_size()),
    )?)
}

/// `CA_IC = unpad(D(KSenc, A_IC))` (terminal side).
pub fn decrypt_cam_data(
    cipher: Cipher,
    ks_enc: &[u8],
    a_ic: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AccessError> {
    let iv = cam_iv(ks_enc)?;
    let plain =
        Zeroizing::new(cbc_decrypt(cipher, ks_enc, &iv, a_ic).map_err(|_| PaceError::CamDataMalformed)?);
    let ca = unpad(&plain, cipher.block_size()).map_err(|_| PaceError::CamDataMalformed)?;
    Ok(Zeroizing::new(ca.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::vectors;

    fn h(v: &serde_json::Value, k: &str) -> Vec<u8> {
        hex::decode(v[k].as_str().unwrap()).unwrap()
    }

    #[test]
    fn prf_h1_and_h2() {
        for (file, bits) in [
            ("pace_ecdh_im_brainpoolp256r1_doc9303_h1.json", 256usize),
            ("pace_dh_im_1024_160_doc9303_h2.json", 1024),
        ] {
            let v = vectors(file);
            let e = &v["expected"];
            let kpi = k_pi(b"123456", Cipher::Aes128);
            assert_eq!(*kpi, h(e, "k_pi"));
            let s = decrypt_nonce(Cipher::Aes128, &kpi, &h(e, "encrypted_nonce_z")).unwrap();
            assert_eq!(*s, h(e, "nonce_s"));
            assert_eq!(
                encrypt_nonce(Cipher::Aes128, &kpi, &s).unwrap(),
                h(e, "encrypted_nonce_z")
            );
            let r = pseudo_random_bytes(Cipher::Aes128, &s, &h(e, "nonce_t"), bits).unwrap();
            assert_eq!(
                hex::encode_upper(&*r),
                e["prf_output_r"].as_str().unwrap(),
                "{file}"
            );
        }
        let v = vectors("pace_ecdh_im_brainpoolp256r1_doc9303_h1.json");
        let c = &v["inputs"]["prf_constants_aes128"];
        assert_eq!(C0_128.to_vec(), h(c, "c0"));
        assert_eq!(C1_128.to_vec(), h(c, "c1"));
    }

    #[test]
    fn tokens_g1_aes_and_nz_3des() {
        let v = vectors("pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json");
        let e = &v["expected"];
        let t = token(
            Cipher::Aes128,
            &h(e, "ks_mac"),
            &h(e, "auth_token_input_for_t_pcd"),
        )
        .unwrap();
        assert_eq!(t.to_vec(), h(e, "t_pcd"));
        let t = token(
            Cipher::Aes128,
            &h(e, "ks_mac"),
            &h(e, "auth_token_input_for_t_picc"),
        )
        .unwrap();
        assert_eq!(t.to_vec(), h(e, "t_picc"));
    }

    #[test]
    fn cam_data_app_i() {
        let v = vectors("pace_cam_ecdh_brainpoolp256r1_doc9303_appendix_i.json");
        let e = &v["expected"];
        let ks_enc = h(e, "ks_enc");
        assert_eq!(cam_iv(&ks_enc).unwrap().to_vec(), h(e, "a_ic_iv"));
        let ca = decrypt_cam_data(Cipher::Aes128, &ks_enc, &h(e, "encrypted_chip_auth_data_a_ic")).unwrap();
        assert_eq!(*ca, h(e, "chip_auth_data_ca_ic"));
        let a = encrypt_cam_data(Cipher::Aes128, &ks_enc, &ca).unwrap();
        assert_eq!(a, h(e, "encrypted_chip_auth_data_a_ic"));
        let mut bad = h(e, "encrypted_chip_auth_data_a_ic");
        bad.truncate(40);
        assert!(decrypt_cam_data(Cipher::Aes128, &ks_enc, &bad).is_err());
    }

    #[test]
    fn prf_other_ciphers_have_the_right_shape() {
        for (cipher, s_len) in [(Cipher::Tdes, 16), (Cipher::Aes192, 32), (Cipher::Aes256, 32)] {
            let s = vec![0x11; s_len];
            let t = vec![0x22; cipher.key_len()];
            let r = pseudo_random_bytes(cipher, &s, &t, 256).unwrap();
            assert_eq!(r.len(), (256 + 64usize).div_ceil(s_len * 8) * s_len);
            assert!(pseudo_random_bytes(cipher, &s[..8], &t, 256).is_err());
        }
    }
}

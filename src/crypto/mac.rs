//! Message authentication codes of Doc 9303 Part 11 §9.8.6.2 (and §4.3 for BAC):
//! ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC": single-DES CBC with Ka, then
//! DES⁻¹ with Kb and DES with Ka on the last block) with padding method 2 for 3DES,
//! and AES-CMAC (NIST SP 800-38B) for AES.

use cbc::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use cmac::{Cmac, Mac};
use des::Des;

use super::{Cipher, CryptoError, pad};

/// ISO/IEC 9797-1 MAC algorithm 3 with DES and padding method 2, 16-byte key `Ka || Kb`.
/// `msg` is padded here (exactly once).
pub fn retail_mac(key: &[u8], msg: &[u8]) -> Result<[u8; 8], CryptoError> {
    let bad_key = || CryptoError::KeyLength {
        cipher: "3DES",
        expected: 16,
        got: key.len(),
    };
    let (ka, kb) = match key.split_first_chunk::<8>() {
        Some((ka, kb)) if kb.len() == 8 => (ka.as_slice(), kb),
        _ => return Err(bad_key()),
    };
    let des_a = Des::new_from_slice(ka).map_err(|_| bad_key())?;
    let des_b = Des::new_from_slice(kb).map_err(|_| bad_key())?;
    let padded = pad(msg, 8);
    let mut h = Block::<Des>::default();
    for chunk in padded.chunks_exact(8) {
        for (x, m) in h.iter_mut().zip(chunk) {
            *x ^= *m;
        }
        des_a.encrypt_block(&mut h);
    }
    des_b.decrypt_block(&mut h);
    des_a.encrypt_block(&mut h);
    let mut out = [0u8; 8];
    for (o, x) in out.iter_mut().zip(h.iter()) {
        *o = *x;
    }
    Ok(out)
}

/// AES-CMAC (full 16 bytes) of `msg` as given (no padding added); AES-128/192/256 by key length.
pub fn aes_cmac(key: &[u8], msg: &[u8]) -> Result<[u8; 16], CryptoError> {
    let bad_key = || CryptoError::KeyLength {
        cipher: "AES",
        expected: 16,
        got: key.len(),
    };
    let tag = match key.len() {
        16 => cmac_with(
            Cmac::<aes::Aes128>::new_from_slice(key).map_err(|_| bad_key())?,
            msg,
        ),
        24 => cmac_with(
            Cmac::<aes::Aes192>::new_from_slice(key).map_err(|_| bad_key())?,
            msg,
        ),
        32 => cmac_with(
            Cmac::<aes::Aes256>::new_from_slice(key).map_err(|_| bad_key())?,
            msg,
        ),
        _ => return Err(bad_key()),
    };
    Ok(tag)
}

fn cmac_with<M: Mac>(mut mac: M, msg: &[u8]) -> [u8; 16] {
    mac.update(msg);
    let tag = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    for (o, t) in out.iter_mut().zip(tag.iter()) {
        *o = *t;
    }
    out
}

/// The 8-byte MAC of secure messaging and BAC: padding method 2 applied once to `msg`,
/// then the retail MAC (3DES) or AES-CMAC truncated to 8 bytes (AES).
pub fn sm_mac(cipher: Cipher, key: &[u8], msg: &[u8]) -> Result<[u8; 8], CryptoError> {
    if key.len() != cipher.key_len() {
        return Err(CryptoError::KeyLength {
            cipher: cipher.name(),
            expected: cipher.key_len(),
            got: key.len(),
        });
    }
    match cipher {
        Cipher::Tdes => retail_mac(key, msg),
        _ => {
            let full = aes_cmac(key, &pad(msg, 16))?;
            let mut out = [0u8; 8];
            for (o, t) in out.iter_mut().zip(full.iter()) {
                *o = *t;
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{h, s, vectors};

    #[test]
    fn appendix_d_mifd_and_mic() {
        let d = vectors("bac_sm_doc9303_appendix_d.json");
        let e = &d["expected"];
        assert_eq!(
            retail_mac(&s(&e["kmac"]), &s(&e["e_ifd"])).unwrap().to_vec(),
            s(&e["m_ifd"])
        );
        assert_eq!(
            retail_mac(&s(&e["kmac_no_parity"]), &s(&e["e_ifd"]))
                .unwrap()
                .to_vec(),
            s(&e["m_ifd"])
        );
        assert_eq!(
            retail_mac(&s(&e["kmac"]), &s(&e["e_ic"])).unwrap().to_vec(),
            s(&e["m_ic"])
        );
    }

    #[test]
    fn appendix_d_sm_command_and_response_macs() {
        let d = vectors("bac_sm_doc9303_appendix_d.json");
        let sm = &d["secure_messaging_d4"];
        let key = s(&sm["ks_mac"]);
        for step in sm["steps"].as_array().unwrap() {
            if step.get("n").is_none() {
                continue;
            }
            // N is SSC || M already padded; the padding inside the algorithm must not be doubled
            let n = s(&step["n"]);
            let m = s(&step["m"]);
            let mut unpadded = s(&step["ssc_for_command"]);
            unpadded.extend_from_slice(&m);
            assert_eq!(pad(&unpadded, 8), n);
            assert_eq!(
                sm_mac(Cipher::Tdes, &key, &unpadded).unwrap().to_vec(),
                s(&step["cc"])
            );
            // response: K = SSC || DO'87 || DO'99 (k_response is shown padded)
            let k = s(&step["k_response"]);
            let k_unpadded = crate::crypto::unpad(&k, 8).unwrap_or(&k);
            assert_eq!(
                sm_mac(Cipher::Tdes, &key, k_unpadded).unwrap().to_vec(),
                s(&step["response_cc"])
            );
        }
    }

    #[test]
    fn rfc4493_aes_cmac() {
        // RFC 4493 §4 examples 1 and 2
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        assert_eq!(
            aes_cmac(&key, &[]).unwrap().to_vec(),
            h("bb1d6929e95937287fa37d129b756746")
        );
        assert_eq!(
            aes_cmac(&key, &h("6bc1bee22e409f96e93d7e117393172a"))
                .unwrap()
                .to_vec(),
            h("070a16b46b4d4144f79bdd9dd04a287c")
        );
    }

    #[test]
    fn bsi_eac_sm_mac() {
        // BSI EAC worked example: a1 = CMAC(KSmac, pad(SSC=2 || ad1))[0..8]
        for file in [
            "bsi_eac_worked_example_ecdh.json",
            "bsi_eac_worked_example_dh.json",
        ] {
            let v = vectors(&format!("bsi_eac_worked_example/{file}"));
            let v = &v["values"];
            let mut input = vec![0u8; 16];
            input[15] = 2;
            input.extend_from_slice(&s(&v["ad1"]));
            assert_eq!(
                sm_mac(Cipher::Aes128, &s(&v["k_mac"]), &input).unwrap().to_vec(),
                s(&v["a1"]),
                "{file}"
            );
        }
    }

    #[test]
    fn pace_tokens_are_unpadded_cmac() {
        // G.1: T_PCD = CMAC(KSmac, 7F49 …)[0..8] over the unpadded input
        let path = format!(
            "{}/test-vectors/protocol/pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let e = &v["expected"];
        let t = aes_cmac(&s(&e["ks_mac"]), &s(&e["auth_token_input_for_t_pcd"])).unwrap();
        assert_eq!(t[..8].to_vec(), s(&e["t_pcd"]));
    }

    #[test]
    fn wrong_key_lengths() {
        assert!(retail_mac(&[0; 8], b"x").is_err());
        assert!(retail_mac(&[0; 24], b"x").is_err());
        assert!(aes_cmac(&[0; 17], b"x").is_err());
        assert!(sm_mac(Cipher::Aes256, &[0; 16], b"x").is_err());
    }
}

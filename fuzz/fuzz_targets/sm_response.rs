#![no_main]
//! Fuzz target: the reader side of secure messaging (Doc 9303 Part 11 §9.8) unwrapping
//! hostile responses, 3DES and AES. Byte 0 picks the cipher and the mode:
//! - raw: the rest is the response (data || SW1 SW2) as a chip sends it;
//! - MAC'd: the rest is the data objects before DO'8E'; the target appends the DO'8E'
//!   a chip holding the session keys would compute, so the fuzzer reaches the DO'99'
//!   checks, decryption and padding removal behind the MAC;
//! - round trip: the rest is a plain response that the chip side protects; the reader
//!   must get it back unchanged.

use emrtd::apdu::{Response, StatusWord};
use emrtd::crypto::Cipher;
use emrtd::sm::{ChipSm, SessionKeys, Ssc, unprotect_response};
use libfuzzer_sys::fuzz_target;

fn keys(cipher: Cipher) -> SessionKeys {
    let n = cipher.key_len();
    let ks_enc: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(7) ^ 0x5A).collect();
    let ks_mac: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(13) ^ 0xA5).collect();
    SessionKeys::new(cipher, &ks_enc, &ks_mac, Ssc::zero(cipher)).expect("fixed keys are valid")
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let cipher = match sel & 0x03 {
        0 => Cipher::Tdes,
        1 => Cipher::Aes128,
        2 => Cipher::Aes192,
        _ => Cipher::Aes256,
    };
    let mut k = keys(cipher);
    match (sel >> 2) % 3 {
        0 => {
            if let Ok(resp) = Response::from_bytes(rest.to_vec()) {
                let _ = unprotect_response(&mut k, &resp);
            }
        }
        1 => {
            let mut ssc = Ssc::zero(cipher);
            ssc.increment();
            let mut input = ssc.as_bytes().to_vec();
            input.extend_from_slice(rest);
            let mac = emrtd::crypto::sm_mac(cipher, k.ks_mac(), &input).expect("mac");
            let mut body = rest.to_vec();
            body.extend_from_slice(&[0x8E, 0x08]);
            body.extend_from_slice(&mac);
            let _ = unprotect_response(&mut k, &Response::new(body, StatusWord::OK));
        }
        _ => {
            let Ok(plain) = Response::from_bytes(rest.to_vec()) else {
                return;
            };
            let mut chip = ChipSm::new(keys(cipher));
            // the chip answers the last command it unwrapped; an even INS by default
            if let Ok(protected) = chip.protect_response(&plain) {
                let back = unprotect_response(&mut k, &protected).expect("own protection unwraps");
                assert_eq!(back.data, plain.data);
                assert_eq!(back.sw, plain.sw);
            }
        }
    }
});

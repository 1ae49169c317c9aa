#![no_main]
//! Fuzz target: the chip side of secure messaging (the emulator, and so `emrtd
//! emulate` behind pcscd) unwrapping hostile commands, 3DES and AES. Byte 0 picks the
//! cipher and the mode:
//! - raw: the rest is the command APDU as a terminal sends it;
//! - MAC'd: bytes 1..5 are CLA INS P1 P2 (CLA gets the SM bits), the rest the data
//!   objects before DO'8E'; the target appends the correct DO'8E' so the fuzzer gets
//!   past the MAC to DO'97', decryption and padding;
//! - round trip: the rest is a plain command that the reader side protects; the chip
//!   must get it back unchanged.

use emrtd::apdu::Command;
use emrtd::crypto::Cipher;
use emrtd::sm::{ChipSm, SessionKeys, Ssc, protect_command};
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
    let mut chip = ChipSm::new(keys(cipher));
    match (sel >> 2) % 3 {
        0 => {
            if let Ok(cmd) = Command::decode(rest) {
                let _ = chip.unprotect_command(&cmd);
            }
        }
        1 => {
            let Some((&[cla, ins, p1, p2], dos)) = rest.split_first_chunk::<4>() else {
                return;
            };
            if dos.len() > 65_000 {
                return;
            }
            let header = [cla | 0x0C, ins, p1, p2];
            let mut ssc = Ssc::zero(cipher);
            ssc.increment();
            let mut input = ssc.as_bytes().to_vec();
            input.extend_from_slice(&emrtd::crypto::pad(&header, cipher.block_size()));
            input.extend_from_slice(dos);
            let mac = emrtd::crypto::sm_mac(cipher, keys(cipher).ks_mac(), &input).expect("mac");
            let mut body = dos.to_vec();
            body.extend_from_slice(&[0x8E, 0x08]);
            body.extend_from_slice(&mac);
            let cmd = Command {
                cla: header[0],
                ins,
                p1,
                p2,
                extended: body.len() > 255,
                data: body,
                le: Some(if dos.len() > 200 { 65536 } else { 256 }),
            };
            let _ = chip.unprotect_command(&cmd);
        }
        _ => {
            let Ok(plain) = Command::decode(rest) else {
                return;
            };
            if plain.cla & 0x0C != 0 {
                return;
            }
            let mut k = keys(cipher);
            if let Ok(protected) = protect_command(&mut k, &plain) {
                let back = chip.unprotect_command(&protected).expect("own protection unwraps");
                assert_eq!((back.cla, back.ins, back.p1, back.p2), (plain.cla, plain.ins, plain.p1, plain.p2));
                assert_eq!(back.data, plain.data);
                assert_eq!(back.le, plain.le);
            }
        }
    }
});

#![no_main]
//! Fuzz target: DG15 decoding and building the OpenSSL key (explicit EC parameters included) must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = emrtd::lds::dg15::Dg15::decode(data) {
        let _ = d.key_bits();
        let _ = d.public_key();
    }
});

#![no_main]
//! Fuzz target: EF.COM decoding (and re-encoding what decoded) must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = emrtd::lds::com::Com::decode(data) {
        let _ = emrtd::lds::com::Com::decode(&c.encode());
    }
});

#![no_main]
//! Fuzz target: DG16 decoding must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = emrtd::lds::dg16::Dg16::decode(data) {
        let _ = d.encode();
    }
});

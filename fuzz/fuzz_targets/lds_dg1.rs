#![no_main]
//! Fuzz target: DG1 decoding must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = emrtd::lds::dg1::Dg1::decode(data) {
        let _ = d.mrz_information();
        let _ = emrtd::lds::dg1::Dg1::decode(&d.encode());
    }
});

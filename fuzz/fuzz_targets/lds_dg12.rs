#![no_main]
//! Fuzz target: DG12 decoding must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = emrtd::lds::dg12::Dg12::decode(data) {
        let _ = emrtd::lds::dg12::Dg12::decode(&d.encode());
    }
});

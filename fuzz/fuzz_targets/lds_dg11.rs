#![no_main]
//! Fuzz target: DG11 decoding must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = emrtd::lds::dg11::Dg11::decode(data) {
        let _ = emrtd::lds::dg11::Dg11::decode(&d.encode());
    }
});

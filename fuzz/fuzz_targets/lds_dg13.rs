#![no_main]
//! Fuzz target: DG13 decoding must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = emrtd::lds::dg13::Dg13::decode(data);
});

#![no_main]
//! Fuzz target: EF.DIR decoding must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = emrtd::lds::dir::Dir::decode(data);
});

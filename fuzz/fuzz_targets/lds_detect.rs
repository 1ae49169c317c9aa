#![no_main]
//! Fuzz target: content detection of file kinds must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = emrtd::lds::detect::detect(data);
});

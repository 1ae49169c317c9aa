#![no_main]
//! Fuzz target: EF.ATR/INFO decoding must never panic on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = emrtd::lds::atr_info::AtrInfo::decode(data);
});

//! The WSQ decoder (src/lds/wsq.rs) on hostile bytes: frame header and full decode.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = emrtd::lds::wsq::frame_header(data);
    // a smaller pixel budget than the real one keeps each run fast
    if let Ok(img) = emrtd::lds::wsq::decode(data, 4096, 4_000_000) {
        assert_eq!(img.pixels.len(), img.width as usize * img.height as usize);
    }
});

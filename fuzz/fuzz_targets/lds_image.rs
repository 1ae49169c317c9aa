//! Image sniffing, header dimensions and decoding (JPEG, JPEG 2000, PNG) on hostile bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = emrtd::lds::image::dimensions(data);
    let _ = emrtd::lds::image::to_png(data);
});

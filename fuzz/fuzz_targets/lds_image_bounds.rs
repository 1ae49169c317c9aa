//! The image path behind its header bounds (`lds::image::bounds`): whatever passes them
//! is decoded and encoded as PNG in this process. fuzz/run.sh runs every target with
//! `-malloc_limit_mb` and `-rss_limit_mb`, so a header that passes the bounds but still
//! makes the decoder allocate past them is a finding: a bound that is too loose.
//! Seeded with JPEG 2000 headers that ask for millions of tiles or code-blocks.
#![no_main]

use emrtd::lds::image;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(format) = image::detect(data) else {
        return;
    };
    if image::bounds::check(data, format).is_ok() {
        let _ = image::to_png_in_process(data);
    }
});

//! DG5/DG6/DG7 displayed images on hostile bytes.
#![no_main]

use emrtd::lds::displayed::{self, DisplayedKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for k in [DisplayedKind::Portrait, DisplayedKind::Reserved, DisplayedKind::Signature] {
        let _ = displayed::DisplayedImages::decode(data, k);
    }
});

//! DG2/DG3/DG4 (CBEFF, ISO 19794-4/-5/-6, ISO 39794-4/-5/-6) on hostile bytes.
#![no_main]

use emrtd::lds::biometric::{self, Modality};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for m in [Modality::Face, Modality::Finger, Modality::Iris] {
        if let Ok(g) = biometric::BiometricGroup::decode(data, m) {
            let _ = g.faces();
            let _ = g.encode();
            for i in g.images() {
                let _ = i.dimensions();
            }
        }
    }
    let _ = emrtd::lds::face::Face39794::decode(data);
    let _ = emrtd::lds::face::FaceRecord19794::decode(data);
    let _ = biometric::Finger39794::decode(data);
    let _ = biometric::Iris39794::decode(data);
});

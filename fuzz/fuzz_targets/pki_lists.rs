//! CSCA master lists and deviation lists on hostile bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ml) = emrtd::pki::masterlist::MasterList::parse(data) {
        let _ = ml.verify_signature();
        for c in ml.certificates().map_while(Result::ok) {
            let _ = emrtd::pki::cert::Certificate::from_der(c);
        }
    }
    let _ = emrtd::pki::masterlist::DeviationList::parse(data);
});

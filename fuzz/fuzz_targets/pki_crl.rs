//! CRLs on hostile bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = emrtd::pki::crl::Crl::from_der(data) {
        let _ = c.find(&[1]);
        let _ = c.issuer.normalized();
    }
});

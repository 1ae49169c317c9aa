//! X.509 certificates and their public keys (explicit EC parameters included) on hostile bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = emrtd::pki::cert::Certificate::from_der(data) {
        let _ = c.subject.normalized();
        let _ = c.issuer.display();
        let _ = c.key_info();
        if let Ok(k) = c.public_key() {
            let _ = c.verify_signature(&k);
        }
        let _ = emrtd::pki::role::classify(&c);
    }
    let _ = emrtd::pki::keys::PublicKey::from_spki_der(data);
    let _ = emrtd::pki::keys::describe_spki(data);
});

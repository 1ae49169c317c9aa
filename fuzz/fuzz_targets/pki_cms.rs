//! CMS SignedData (crate::cms) on hostile bytes, including signer verification with
//! an embedded certificate.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = emrtd::cms::SignedData::parse(data) {
        for si in &sd.signer_infos {
            let _ = si.signed_attrs.as_ref().map(|a| a.to_be_signed());
            let _ = si.signature_algorithm();
            if let Some(cert) = sd.signer_certificate(si) {
                let _ = emrtd::cms::verify_signer_with_certificate(&sd, si, &cert);
            }
        }
    }
});

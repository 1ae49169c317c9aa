//! EF.SOD (CMS SignedData, LDSSecurityObject) on hostile bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = emrtd::lds::sod::Sod::decode(data) {
        let _ = s.hash_algorithm();
        for si in s.signer_infos() {
            let _ = si.signed_attrs.as_ref().map(|a| a.to_be_signed());
            let _ = s.signed_data.check_message_digest(si);
        }
    }
});

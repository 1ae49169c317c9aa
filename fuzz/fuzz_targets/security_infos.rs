#![no_main]
//! Fuzz target: SecurityInfos as EF.CardAccess, DG14 and inside EF.CardSecurity must
//! never panic, and what decodes re-encodes and decodes again.

use emrtd::lds::security_infos::{CardSecurity, SecurityInfos};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = SecurityInfos::decode(data) {
        let _ = s.pace_infos().count();
        let _ = s.chip_authentication_public_keys().count();
        let _ = s.active_authentication_info();
        let _ = SecurityInfos::decode(&s.encode());
    }
    if let Ok(s) = SecurityInfos::decode_dg14(data) {
        let _ = SecurityInfos::decode_dg14(&s.encode_dg14());
    }
    if let Ok(cs) = CardSecurity::decode(data) {
        let _ = cs.is_security_object();
        let _ = cs.security_infos.pace_infos().count();
    }
});

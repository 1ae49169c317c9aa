#![no_main]
//! Fuzz target: SecurityInfos as EF.CardAccess, DG14 and inside EF.CardSecurity must
//! never panic, and what decodes re-encodes and decodes again.

use emrtd::lds::dg14::Dg14;
use emrtd::lds::security_infos::{CardSecurity, SecurityInfos};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = SecurityInfos::decode(data) {
        let _ = s.pace_infos().count();
        let _ = s.chip_authentication_public_keys().count();
        let _ = s.active_authentication_info();
        let _ = SecurityInfos::decode(&s.encode());
    }
    if let Ok(d) = Dg14::decode(data) {
        let _ = Dg14::decode(&d.encode());
    }
    if let Ok(cs) = CardSecurity::decode(data) {
        let _ = cs.is_security_object();
        let _ = cs.security_infos.pace_infos().count();
    }
});

#![no_main]
//! Fuzz target: MRZ parsing (TD1/TD2/TD3, check digits, names, dates), the BAC key
//! derived from it and DG1 built from it must never panic on arbitrary text.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = emrtd::mrz::check_digit(&text);
    if let Ok(m) = emrtd::mrz::Mrz::parse(&text) {
        let _ = m.mrz_information();
        let _ = m.document_number();
        let _ = m.issuing_state();
        let _ = emrtd::access::password::MrzKey::from_mrz(&m);
    }
    if let Ok(d) = emrtd::lds::dg1::Dg1::from_mrz(&text) {
        let _ = emrtd::lds::dg1::Dg1::decode(&d.encode());
    }
});

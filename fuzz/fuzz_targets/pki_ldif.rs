//! The ICAO PKD LDIF reader and the whole importer (into an in-memory store) on hostile bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = emrtd::pki::ldif::LdifReader::new(data);
    for _ in 0..64 {
        match r.next_record() {
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    if let Ok(mut store) = emrtd::pki::store::TrustStore::open_in_memory() {
        let _ = emrtd::pki::import::import_bytes(&mut store, "fuzz", data, &Default::default());
    }
});

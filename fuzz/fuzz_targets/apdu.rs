#![no_main]
//! Fuzz target: command APDU decoding (short and extended, as the emulator and vpcd
//! receive them) and response splitting must never panic; a decoded command
//! re-encodes to one that decodes the same.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = emrtd::apdu::Command::decode(data)
        && let Ok(again) = c.encode()
    {
        let back = emrtd::apdu::Command::decode(&again).expect("re-encoded command decodes");
        assert_eq!((back.cla, back.ins, back.p1, back.p2), (c.cla, c.ins, c.p1, c.p2));
        assert_eq!(back.data, c.data);
        assert_eq!(back.le, c.le);
    }
    let _ = emrtd::apdu::Response::from_bytes(data.to_vec());
});

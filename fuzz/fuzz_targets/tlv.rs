#![no_main]
//! Fuzz target: the BER-TLV reader (DER and BER with indefinite lengths) must never
//! panic on arbitrary bytes, and what it parses re-encodes to a TLV that parses back
//! to the same tag and value.

use emrtd::tlv;
use libfuzzer_sys::fuzz_target;

fn walk(t: &tlv::Tlv<'_>, ber: bool, depth: usize) {
    let _ = t.header_len();
    if depth > 32 || !t.is_constructed() {
        return;
    }
    let mut r = if ber { t.children_ber() } else { t.children() };
    while !r.is_empty() {
        match r.read() {
            Ok(c) => walk(&c, ber, depth + 1),
            Err(_) => break,
        }
    }
    let _ = r.only_zero_padding_left();
}

fuzz_target!(|data: &[u8]| {
    let _ = tlv::parse_header(data);
    if let Ok(t) = tlv::parse(data) {
        walk(&t, false, 0);
        let again = tlv::encode(t.tag, t.value);
        let back = tlv::parse(&again).expect("re-encoded TLV parses");
        assert_eq!((back.tag, back.value), (t.tag, t.value));
    }
    if let Ok(t) = tlv::parse_ber(data) {
        walk(&t, true, 0);
    }
    let mut r = tlv::Reader::new(data);
    let _ = r.read_all();
    let mut r = tlv::Reader::new_ber(data);
    let _ = r.find(0x5C);
});

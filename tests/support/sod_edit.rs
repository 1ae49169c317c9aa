//! EF.SOD edits for the tests of a Document Signer certificate that is not embedded
//! (`#[path = "support/sod_edit.rs"]`).
#![allow(clippy::unwrap_used, clippy::panic)]

use emrtd::tlv;

/// EF.SOD (77 { ContentInfo { signedData, [0] { SignedData } } }) without SignedData's
/// `[0] certificates`, every other element byte for byte. The signature covers the
/// signed attributes only, so it stays valid.
pub fn without_certificates(sod: &[u8]) -> Vec<u8> {
    let app = tlv::parse(sod).unwrap();
    assert_eq!(app.tag, 0x77);
    let ci: Vec<_> = tlv::parse(app.value).unwrap().children().read_all().unwrap();
    let [content_type, explicit] = ci.as_slice() else {
        panic!("ContentInfo has {} elements", ci.len());
    };
    let sd = tlv::parse(explicit.value).unwrap();
    let kids = sd.children().read_all().unwrap();
    assert!(kids.iter().any(|k| k.tag == 0xA0), "the booklet embeds its DSC");
    let kept: Vec<u8> = kids
        .iter()
        .filter(|k| k.tag != 0xA0)
        .flat_map(|k| k.raw.to_vec())
        .collect();
    let sd = tlv::encode(0x30, &kept);
    let ci = tlv::encode(0x30, &[content_type.raw, &tlv::encode(0xA0, &sd)].concat());
    tlv::encode(0x77, &ci)
}

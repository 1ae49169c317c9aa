use std::collections::BTreeMap;

use serde::Deserialize;

use super::content::encode_any_length;
use super::injector::{Armed, flip_mac, garbage};
use super::*;

fn parse(toml_text: &str) -> Result<Vec<Fault>, String> {
    #[derive(Deserialize)]
    struct F {
        faults: Vec<Fault>,
    }
    toml::from_str::<F>(toml_text)
        .map(|f| f.faults)
        .map_err(|e| e.to_string())
}

#[test]
fn card_removed_short_form_is_kept() {
    let f = parse("[[faults]]\nkind = 'card_removed'\nat = 7\n").unwrap();
    assert_eq!(f, vec![Fault::CardRemoved { at: 7 }]);
    let f = parse("[[faults]]\nkind = 'card_removed'\nat = 7\ntimes = 3\nevery = 5\n").unwrap();
    assert_eq!(
        f,
        vec![Fault::on(ApduFault::CardRemoved, When::at(7).times(3).every(5))]
    );
}

#[test]
fn every_kind_from_toml() {
    let text = r#"
[[faults]]
kind = "transient_error"
at = 3
processed = true
[[faults]]
kind = "slow"
ms = 5
from = 10
to = 20
[[faults]]
kind = "wrong_mac"
command = "read_binary"
file = "DG2"
nth = 3
[[faults]]
kind = "wrong_ssc"
ins = 0xB0
[[faults]]
kind = "plain_error"
at = 9
[[faults]]
kind = "status"
sw = "6282"
at = 9
[[faults]]
kind = "overlong"
extra = 4
from = 0
[[faults]]
kind = "unexpected_data"
data = "0102"
command = "select"
[[faults]]
kind = "trailing"
data = "9000"
at = 1
[[faults]]
kind = "garbage"
len = 1
at = 1
[[faults]]
kind = "get_response"
chunk = 100
from = 0
[[faults]]
kind = "endless_get_response"
at = 30
[[faults]]
kind = "claimed_length"
file = "DG2"
length = 4294967296
[[faults]]
kind = "indefinite_length"
file = "EF.SOD"
"#;
    let f = parse(text).unwrap();
    assert_eq!(f.len(), 14);
    assert_eq!(
        f[0],
        Fault::on(ApduFault::TransientError { processed: true }, When::at(3))
    );
    assert_eq!(f[1], Fault::on(ApduFault::Slow { ms: 5 }, When::from(10).to(20)));
    assert_eq!(
        f[2],
        Fault::on(ApduFault::WrongMac, When::nth_read_of(LdsFile::Dg(2), 3))
    );
    assert_eq!(
        f[3],
        Fault::on(ApduFault::WrongSsc, When::nth(CommandFilter::Ins(0xB0), 0))
    );
    assert_eq!(
        f[4],
        Fault::on(
            ApduFault::PlainError {
                sw: StatusWord::SM_OBJECTS_INCORRECT
            },
            When::at(9)
        )
    );
    assert_eq!(
        f[10],
        Fault::on(ApduFault::GetResponse { first: 0, chunk: 100 }, When::from(0))
    );
    assert_eq!(
        f[12],
        Fault::content(LdsFile::Dg(2), ContentFault::ClaimedLength { length: 1 << 32 })
    );
    assert_eq!(
        f[13],
        Fault::content(LdsFile::Sod, ContentFault::IndefiniteLength)
    );
}

#[test]
fn nonsense_is_refused_with_a_reason() {
    for (text, needle) in [
        ("kind='wrong_mac'\nat=1\nms=3", "`ms` has no meaning"),
        ("kind='slow'\nat=1", "`ms` is required"),
        ("kind='status'\nat=1\nsw='69'", "two bytes"),
        ("kind='claimed_length'\nfile='DG2'", "`length` is required"),
        (
            "kind='claimed_length'\nfile='DG2'\nlength=5\nat=3",
            "`at` has no meaning",
        ),
        ("kind='wrong_mac'\nat=1\nfrom=2", "exclude each other"),
        ("kind='wrong_mac'\ncommand='reed'", "is not one of"),
        ("kind='wrong_mac'\nfile='DG42'", "names no LDS file"),
        ("kind='get_response'\nchunk=0", "1..=256"),
        ("kind='wrong_mac'\nfrom=5\nto=5", "must be above"),
        ("kind='melt'", "unknown variant"),
        ("kind='wrong_mac'\nbogus=1", "unknown field"),
    ] {
        let e = parse(&format!("[[faults]]\n{text}\n")).unwrap_err();
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn triggers_select_the_right_apdus() {
    let mut a = Armed {
        what: ApduFault::WrongMac,
        when: When::nth_read_of(LdsFile::Dg(2), 1).times(2).every(2),
        seen: 0,
        hits: 0,
    };
    let dg2 = Some(LdsFile::Dg(2));
    let hits: Vec<bool> = [
        (0xB0, dg2),
        (0xB0, Some(LdsFile::Com)),
        (0xA4, dg2),
        (0xB0, dg2),
        (0xB0, dg2),
        (0xB1, dg2),
        (0xB0, dg2),
        (0xB0, dg2),
    ]
    .iter()
    .enumerate()
    .map(|(i, (ins, t))| a.hit(i, *ins, *t))
    .collect();
    // DG2 reads are matches 0,1,2,3,4,5: hits at 1 and 3, then `times` is spent
    assert_eq!(hits, [false, false, false, true, false, true, false, false]);
    let mut b = Armed {
        what: ApduFault::WrongMac,
        when: When::from(2).to(4),
        seen: 0,
        hits: 0,
    };
    let hits: Vec<bool> = (0..6).map(|i| b.hit(i, 0xB0, None)).collect();
    assert_eq!(hits, [false, false, true, true, false, false]);
}

#[test]
fn get_response_serves_the_rest_in_pieces() {
    let mut inj = Injector::new(&[Fault::on(
        ApduFault::GetResponse { first: 2, chunk: 3 },
        When::at(0),
    )]);
    assert!(matches!(
        inj.before(0, &[0, 0xB0, 0, 0, 7], None),
        Before::Process
    ));
    let a = inj.after(vec![1, 2, 3, 4, 5, 6, 7, 0x90, 0x00]);
    assert_eq!(a.bytes, vec![1, 2, 0x61, 3]);
    let Before::Answer(b) = inj.before(1, &[0, 0xC0, 0, 0, 3], None) else {
        panic!("GET RESPONSE not served");
    };
    assert_eq!(b, vec![3, 4, 5, 0x61, 2]);
    let Before::Answer(b) = inj.before(2, &[0, 0xC0, 0, 0, 2], None) else {
        panic!("GET RESPONSE not served");
    };
    assert_eq!(b, vec![6, 7, 0x90, 0x00]);
    // nothing pending any more: the chip answers
    assert!(matches!(
        inj.before(3, &[0, 0xC0, 0, 0, 2], None),
        Before::Process
    ));
}

#[test]
fn wrong_mac_flips_only_the_mac() {
    let resp = hex::decode("990290008E08010203040506070890 00".replace(' ', "")).unwrap();
    let mut bytes = resp.clone();
    flip_mac(&mut bytes);
    assert_eq!(bytes.len(), resp.len());
    let diff: Vec<usize> = (0..resp.len()).filter(|i| resp[*i] != bytes[*i]).collect();
    assert_eq!(diff, vec![resp.len() - 3]);
    // a plain answer has no MAC to flip
    let mut plain = vec![0x6A, 0x82];
    flip_mac(&mut plain);
    assert_eq!(plain, vec![0x6A, 0x82]);
}

#[test]
fn content_faults_rewrite_the_outer_header() {
    let mut files = BTreeMap::new();
    files.insert(LdsFile::Sod, vec![0x77, 0x03, 0x30, 0x01, 0x00]);
    files.insert(LdsFile::Dg(2), vec![0x75, 0x02, 0xAA, 0xBB]);
    let out = personalise(
        &files,
        &[
            Fault::content(LdsFile::Sod, ContentFault::IndefiniteLength),
            Fault::content(
                LdsFile::Dg(2),
                ContentFault::ClaimedLength {
                    length: 0x1_0000_0000,
                },
            ),
        ],
    );
    assert_eq!(out[&LdsFile::Sod], vec![0x77, 0x80, 0x30, 0x01, 0x00, 0x00, 0x00]);
    assert_eq!(
        out[&LdsFile::Dg(2)],
        vec![0x75, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00, 0xAA, 0xBB]
    );
    assert_eq!(encode_any_length(0x7FFF_FFFF), vec![0x84, 0x7F, 0xFF, 0xFF, 0xFF]);
    assert_eq!(encode_any_length(5), vec![5]);
}

#[test]
fn garbage_is_deterministic() {
    assert_eq!(garbage(0, 1, 2), Vec::<u8>::new());
    assert_eq!(garbage(1, 1, 2).len(), 1);
    assert_eq!(garbage(20, 1, 2), garbage(20, 1, 2));
    assert_ne!(garbage(20, 1, 2), garbage(20, 1, 3));
}

//! ISO/IEC 7816-4 command chaining (§5.1.1, CLA bit b5 = `10`) for the long commands of
//! Terminal and Chip Authentication on a chip that takes no extended length.
//!
//! - The reader's protected pieces are checked byte for byte against APDUs derived
//!   here from the rules alone, with OpenSSL's DES (not our secure-messaging code):
//!   ISO 7816-4 chaining (CLA b5 on all but the last command, same INS P1 P2, data in
//!   order, Le only on the last) and Doc 9303 Part 11 §9.8 secure messaging applied to
//!   each piece on its own (its own SSC, DO'87', MAC), with the session keys of Doc 9303
//!   Part 11 Appendix D.
//! - End to end: a chip profile without extended length, an RSA-2048 inspection-system
//!   certificate (over 255 bytes) and its 256-byte EXTERNAL AUTHENTICATE signature,
//!   DG3/DG4 read after TA; the chip saw chained commands and no extended one.
//! - The RSA terminal certificate made here is checked by OpenPACE's `cvc-print` (Debian
//!   `openpace`): it parses it and verifies its signature under the UT DV and CVCA.
//! - The chip side against hand-made chains: pieces answered 9000, the whole
//!   certificate verified at the end, an interrupted chain dropped, chaining refused
//!   (6884) for an instruction that takes none, an oversized chain refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use emrtd::access::password::{MrzKey, Password};
use emrtd::apdu::{CardChannel, Command, PlainChannel, StatusWord};
use emrtd::crypto::Cipher;
use emrtd::emulator::{Emulator, Profile};
use emrtd::lds::LdsFile;
use emrtd::pki::cvc::{Chat, CvBody, CvCertificate, CvPublicKey, Role, TaAlgorithm};
use emrtd::pki::eac_credentials::EacCredentials;
use emrtd::reader::{NoProgress, ReadOptions, Session};
use emrtd::rng::OsRandom;
use emrtd::sm::{SecureChannel, SessionKeys, Ssc, max_short_data};
use emrtd::transport::replay::ScriptedTransport;
use emrtd::transport::{Transport, TransportError, TransportInfo};
use openssl::symm::{Cipher as Sym, Crypter, Mode};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

// ---- Doc 9303 Part 11 §9.8 with 3DES, written from the specification with OpenSSL ----

/// KSenc, KSmac and SSC of Doc 9303 Part 11 Appendix D.3.
const KS_ENC: &str = "979EC13B1CBFE9DCD01AB0FED307EAE5";
const KS_MAC: &str = "F1CB1F1FB5ADF208806B89DC579DC1F8";
const SSC0: &str = "887022120C06C226";

fn ecb(key24: &[u8], mode: Mode, block: &[u8]) -> Vec<u8> {
    let mut c = Crypter::new(Sym::des_ede3(), mode, key24, None).unwrap();
    c.pad(false);
    let mut out = vec![0; block.len() + 8];
    let n = c.update(block, &mut out).unwrap();
    out.truncate(n);
    out
}

/// ISO/IEC 9797-1 padding method 2.
fn pad(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.push(0x80);
    while !v.len().is_multiple_of(8) {
        v.push(0);
    }
    v
}

/// Two-key 3DES-CBC, IV zero, of padded data.
fn tdes_cbc(key: &[u8], data: &[u8]) -> Vec<u8> {
    let k = [key, &key[..8]].concat();
    let mut c = Crypter::new(Sym::des_ede3_cbc(), Mode::Encrypt, &k, Some(&[0; 8])).unwrap();
    c.pad(false);
    let mut out = vec![0; data.len() + 8];
    let n = c.update(data, &mut out).unwrap();
    out.truncate(n);
    out
}

/// ISO/IEC 9797-1 MAC algorithm 3 (retail MAC) over `msg` after padding method 2:
/// single-DES CBC with K1, then DES⁻¹ with K2 and DES with K1 on the last block.
fn retail_mac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let (k1, k2) = (&key[..8], &key[8..16]);
    let single1 = [k1, k1, k1].concat();
    let mut hblock = vec![0u8; 8];
    for block in pad(msg).chunks(8) {
        let x: Vec<u8> = hblock.iter().zip(block).map(|(a, b)| a ^ b).collect();
        hblock = ecb(&single1, Mode::Encrypt, &x);
    }
    let d = ecb(&[k2, k2, k2].concat(), Mode::Decrypt, &hblock);
    ecb(&single1, Mode::Encrypt, &d)
}

fn increment(ssc: &mut [u8]) {
    for b in ssc.iter_mut().rev() {
        *b = b.wrapping_add(1);
        if *b != 0 {
            break;
        }
    }
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match value.len() {
        n @ 0..=0x7F => v.push(n as u8),
        n @ 0x80..=0xFF => v.extend([0x81, n as u8]),
        n => v.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(value);
    v
}

/// The protected form of one plain short command (even INS) under `ssc` (already
/// incremented): `CLA|0C INS P1 P2 Lc {87 01‖E(data)} [97 Le] {8E MAC} 00`.
fn protect(ssc: &[u8], header: [u8; 4], data: &[u8], le: Option<u8>) -> Vec<u8> {
    let cla = header[0] | 0x0C;
    let mut dos = tlv(0x87, &[&[1u8][..], &tdes_cbc(&h(KS_ENC), &pad(data))].concat());
    if let Some(le) = le {
        dos.extend(tlv(0x97, &[le]));
    }
    let mac_input = [ssc, &pad(&[cla, header[1], header[2], header[3]]), &dos].concat();
    dos.extend(tlv(0x8E, &retail_mac(&h(KS_MAC), &mac_input)));
    assert!(dos.len() <= 255, "{}", dos.len());
    [
        &[cla, header[1], header[2], header[3], dos.len() as u8][..],
        &dos,
        &[0],
    ]
    .concat()
}

/// The chip's protected answer `99 02 SW ‖ 8E MAC` under `ssc` (already incremented).
fn protected_status(ssc: &[u8], sw: [u8; 2]) -> Vec<u8> {
    let do99 = tlv(0x99, &sw);
    let mac = retail_mac(&h(KS_MAC), &[ssc, &do99[..]].concat());
    [&do99[..], &tlv(0x8E, &mac), &sw].concat()
}

fn appendix_d_channel(t: ScriptedTransport) -> SecureChannel<PlainChannel<ScriptedTransport>> {
    let keys = SessionKeys::new(Cipher::Tdes, &h(KS_ENC), &h(KS_MAC), Ssc::from_bytes(&h(SSC0))).unwrap();
    let mut ch = SecureChannel::new(PlainChannel::new(t), keys);
    ch.set_command_chaining(true);
    ch
}

#[test]
fn largest_piece_that_fits_a_short_apdu_once_protected() {
    // Lc = DO'87' (tag, 81 L, 01, padded cryptogram) + [DO'97' 3] + DO'8E' 10 <= 255
    // 3DES: 3 + 1 + 240 + 10 = 254 for 239 bytes (240 is padded to 248: 262)
    assert_eq!(max_short_data(Cipher::Tdes, false, false), 239);
    // with DO'97': 3 + 1 + 232 + 3 + 10 = 249 for 231 bytes (232 → 240: 257)
    assert_eq!(max_short_data(Cipher::Tdes, false, true), 231);
    // AES: 16-byte blocks, 240 for 239 bytes; with DO'97' 224 for 223
    assert_eq!(max_short_data(Cipher::Aes128, false, false), 239);
    assert_eq!(max_short_data(Cipher::Aes256, false, true), 223);
    // odd INS (DO'85', no padding-content indicator): 3 + 240 + 10 = 253
    assert_eq!(max_short_data(Cipher::Tdes, true, false), 239);
}

/// PSO:Verify Certificate of 300 bytes: 239 + 61 bytes, each piece protected with its
/// own send sequence counter (SSC+1 and SSC+3; the answers SSC+2 and SSC+4).
#[test]
fn chained_pso_verify_certificate_matches_the_rules_byte_for_byte() {
    let data: Vec<u8> = (0..300u16).map(|i| (i * 7) as u8).collect();
    let mut ssc = h(SSC0);
    let mut t = ScriptedTransport::new();
    for (i, piece) in [&data[..239], &data[239..]].into_iter().enumerate() {
        let cla = if i == 0 { 0x10 } else { 0x00 };
        increment(&mut ssc);
        let cmd = protect(&ssc, [cla, 0x2A, 0x00, 0xBE], piece, None);
        increment(&mut ssc);
        t = t.expect(cmd, protected_status(&ssc, [0x90, 0x00]));
    }
    let mut ch = appendix_d_channel(t);
    let pso = Command::new(0x00, 0x2A, 0x00, 0xBE)
        .with_data(data.clone())
        .extended(true);
    let r = ch.send(&pso).unwrap();
    assert_eq!(r.sw, StatusWord::OK);
    assert_eq!(ch.inner().transport().remaining(), 0);
    assert_eq!(ch.keys().ssc().as_bytes(), &ssc[..]);
    // the first protected piece, spelt out: CLA 1C, Lc FE, DO'87' of 241 bytes
    let mut s1 = h(SSC0);
    increment(&mut s1);
    let first = protect(&s1, [0x10, 0x2A, 0x00, 0xBE], &data[..239], None);
    assert_eq!(&first[..9], &h("1C2A00BE FE 8781F1 01")[..]);
    assert_eq!(first.len(), 5 + 254 + 1);
}

/// A case-4 command (GENERAL AUTHENTICATE with a DH-2048 key, 264 bytes, Le 256): the
/// intermediate piece has no DO'97'; the last carries `97 01 00`.
#[test]
fn chained_general_authenticate_keeps_le_for_the_last_piece() {
    let mut data = h("7C820104 80820100");
    data.extend((0..256u16).map(|i| i as u8));
    let mut ssc = h(SSC0);
    let mut t = ScriptedTransport::new();
    increment(&mut ssc);
    let c1 = protect(&ssc, [0x10, 0x86, 0x00, 0x00], &data[..239], None);
    increment(&mut ssc);
    t = t.expect(c1, protected_status(&ssc, [0x90, 0x00]));
    increment(&mut ssc);
    let c2 = protect(&ssc, [0x00, 0x86, 0x00, 0x00], &data[239..], Some(0));
    increment(&mut ssc);
    // the chip's answer `7C 00` in DO'87'
    let do87 = tlv(
        0x87,
        &[&[1u8][..], &tdes_cbc(&h(KS_ENC), &pad(&h("7C00")))].concat(),
    );
    let do99 = tlv(0x99, &[0x90, 0x00]);
    let mac = retail_mac(&h(KS_MAC), &[&ssc[..], &do87, &do99].concat());
    t = t.expect(c2, [&do87[..], &do99, &tlv(0x8E, &mac), &[0x90, 0x00]].concat());
    let mut ch = appendix_d_channel(t);
    let ga = Command::new(0x00, 0x86, 0x00, 0x00).with_data(data).with_le(256);
    let r = ch.send(&ga).unwrap();
    assert_eq!((r.sw, r.data), (StatusWord::OK, h("7C00")));
    assert_eq!(ch.inner().transport().remaining(), 0);
}

/// A piece refused in the middle ends the chain: the rest is not sent and the caller
/// gets the refusal.
#[test]
fn a_refused_piece_ends_the_chain() {
    let data = vec![0x5A; 600];
    let mut ssc = h(SSC0);
    increment(&mut ssc);
    let c1 = protect(&ssc, [0x10, 0x2A, 0x00, 0xBE], &data[..239], None);
    increment(&mut ssc);
    let t = ScriptedTransport::new().expect(c1, protected_status(&ssc, [0x6A, 0x80]));
    let mut ch = appendix_d_channel(t);
    let r = ch
        .send(&Command::new(0x00, 0x2A, 0x00, 0xBE).with_data(data))
        .unwrap();
    assert_eq!(r.sw, StatusWord::WRONG_DATA);
    assert_eq!(ch.inner().transport().remaining(), 0);
    // without chaining (a chip with extended length) the same command goes out whole,
    // extended: `0C 2A 00 BE 00 Lc Lc …`
    let mut ssc = h(SSC0);
    increment(&mut ssc);
    increment(&mut ssc);
    let keys = SessionKeys::new(Cipher::Tdes, &h(KS_ENC), &h(KS_MAC), Ssc::from_bytes(&h(SSC0))).unwrap();
    let spy = Arc::new(Mutex::new(Vec::new()));
    let t = Recorded {
        inner: ScriptedTransport::new().any(protected_status(&ssc, [0x90, 0x00])),
        seen: spy.clone(),
    };
    let mut ch = SecureChannel::new(PlainChannel::new(t), keys);
    assert!(!ch.command_chaining());
    let r = ch
        .send(&Command::new(0x00, 0x2A, 0x00, 0xBE).with_data(vec![0x5A; 600]))
        .unwrap();
    assert_eq!(r.sw, StatusWord::OK);
    let seen = spy.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(&seen[0][..5], &h("0C2A00BE00")[..]);
}

/// A transport that keeps every command it passes on.
struct Recorded<T: Transport> {
    inner: T,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl<T: Transport> Transport for Recorded<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.seen.lock().unwrap().push(command.to_vec());
        self.inner.transmit(command)
    }
}

// ---- end to end against the emulator ----

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
}

/// Header and extended-length flag of each command the chip received.
type Seen = Arc<Mutex<Vec<([u8; 4], bool)>>>;

/// Records the header of every command the chip receives, and whether it was extended.
struct Spy<'a> {
    chip: &'a mut Emulator,
    seen: Seen,
}

impl Transport for Spy<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if let Ok(c) = Command::decode(command) {
            self.seen.lock().unwrap().push((c.header(), c.extended));
        }
        self.chip.transmit(command)
    }
    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.chip.reconnect()
    }
    fn info(&self) -> TransportInfo {
        self.chip.info()
    }
}

/// An RSA-2048 inspection system (DG3 and DG4) under the UT document verifier, written
/// to `dir` with its key: the certificate is over 255 bytes, the signature 256.
fn rsa_terminal(dir: &Path) -> (PathBuf, PathBuf, CvCertificate) {
    let dv_key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(root().join("eac/keys/ut-dv.key.pem")).unwrap(),
    )
    .unwrap();
    let dv = CvCertificate::from_der(&std::fs::read(root().join("eac/ut/ut-dv.cvcert")).unwrap()).unwrap();
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let alg = TaAlgorithm::RsaV15Sha256;
    let body = CvBody {
        profile: 0,
        car: dv.chr().to_owned(),
        public_key: CvPublicKey::from_rsa(alg, &rsa),
        chr: "UTISRSA00001".into(),
        chat: Chat::inspection_system(Role::Terminal, true, true),
        effective: dv.body.effective,
        expiration: dv.body.expiration,
        extensions: Vec::new(),
    };
    let dv_alg = dv.body.public_key.algorithm().unwrap();
    let cert = body.sign(dv_alg, &dv_key).unwrap();
    let chain = dir.join("chain");
    std::fs::create_dir_all(&chain).unwrap();
    for f in ["ut-cvca.cvcert", "ut-dv.cvcert"] {
        std::fs::copy(root().join("eac/ut").join(f), chain.join(f)).unwrap();
    }
    std::fs::write(chain.join("ut-is-rsa.cvcert"), cert.der()).unwrap();
    let key = dir.join("ut-is-rsa.key.pem");
    let pkey = openssl::pkey::PKey::from_rsa(rsa).unwrap();
    std::fs::write(&key, pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (chain, key, cert)
}

fn key_of(p: &Profile) -> Password {
    Password::Mrz(MrzKey::from_mrz(&emrtd::mrz::Mrz::parse(&p.mrz).unwrap()).unwrap())
}

#[test]
fn terminal_authentication_with_an_rsa_terminal_on_a_chip_without_extended_length() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, key, cert) = rsa_terminal(dir.path());
    assert!(cert.der().len() > 255, "{}", cert.der().len());
    let mut profile = Profile::load(&root().join("booklets/eac.toml")).unwrap();
    profile.chip.extended_length = false;
    let mrz = key_of(&profile);
    let mut chip = Emulator::new(profile);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let spy = Spy {
        chip: &mut chip,
        seen: seen.clone(),
    };
    let options = ReadOptions {
        eac: Some(EacCredentials::load(&[chain], key.to_str().unwrap()).unwrap()),
        ..ReadOptions::default()
    };
    let mut rng = OsRandom;
    let dump = Session::new(spy, mrz, options, &mut rng, None)
        .run(&mut NoProgress)
        .unwrap();
    let ta = dump.manifest.terminal_authentication.as_ref().unwrap();
    assert_eq!(ta.outcome, "authenticated", "{ta:?}");
    assert_eq!(ta.chain.last().map(String::as_str), Some("UTISRSA00001"));
    for (dg, data) in [(3, "bsi2008-dg3.bin"), (4, "bsi2008-dg4.bin")] {
        assert_eq!(
            dump.files.get(&LdsFile::Dg(dg)).unwrap(),
            &std::fs::read(root().join("booklets/data").join(data)).unwrap()
        );
    }
    let seen = seen.lock().unwrap();
    assert!(seen.iter().all(|(_, ext)| !ext), "an extended APDU was sent");
    let chained = |ins: u8| {
        seen.iter()
            .filter(|(hd, _)| hd[0] == 0x1C && hd[1] == ins)
            .count()
    };
    // the terminal certificate and the 256-byte signature both went out chained
    assert_eq!(chained(0x2A), 1, "{seen:?}");
    assert_eq!(chained(0x82), 1, "{seen:?}");
}

/// The chip against hand-made chains on an open secure channel (after a read without
/// credentials), with the UT DV certificate cut where no reader code decides.
#[test]
fn the_chip_follows_the_chaining_rules() {
    let profile = Profile::load(&root().join("booklets/eac.toml")).unwrap();
    let mrz = key_of(&profile);
    let mut chip = Emulator::new(profile);
    let dv = CvCertificate::from_der(&std::fs::read(root().join("eac/ut/ut-dv.cvcert")).unwrap()).unwrap();
    let pso_data = [dv.body_der().to_vec(), dv.signature_tlv()].concat();
    let mut rng = OsRandom;
    let (_, results) = Session::new(&mut chip, mrz, ReadOptions::default(), &mut rng, None)
        .run_then(&mut NoProgress, |_, ch, _| {
            let mut sw = |cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]| {
                let mut c = Command::new(cla, ins, p1, p2);
                if !data.is_empty() {
                    c = c.with_data(data.to_vec());
                }
                ch.send(&c).unwrap().sw.0
            };
            let dst = tlv(0x83, b"UTCVCAEMRTD00001");
            let (a, b) = pso_data.split_at(100);
            let mut out = vec![
                // another command (SELECT EF.COM) in the middle drops the chain: the
                // rest alone is no certificate
                sw(0x00, 0x22, 0x81, 0xB6, &dst),
                sw(0x10, 0x2A, 0x00, 0xBE, a),
                sw(0x00, 0xA4, 0x02, 0x0C, &[0x01, 0x1E]),
                sw(0x00, 0x2A, 0x00, 0xBE, b),
                // READ BINARY takes no chaining
                sw(0x10, 0xB0, 0x9E, 0x00, &[]),
                // the whole chain: pieces 9000, the certificate verified with the last
                sw(0x00, 0x22, 0x81, 0xB6, &dst),
                sw(0x10, 0x2A, 0x00, 0xBE, a),
                sw(0x00, 0x2A, 0x00, 0xBE, b),
                // the DV is now known: MSE:Set DST selects it
                sw(0x00, 0x22, 0x81, 0xB6, &tlv(0x83, dv.chr().as_bytes())),
            ];
            // more than a certificate can hold is refused
            let mut big = 0;
            for _ in 0..20 {
                big = sw(0x10, 0x2A, 0x00, 0xBE, &[0; 230]);
                if big != 0x9000 {
                    break;
                }
            }
            out.push(big);
            out
        })
        .unwrap();
    assert_eq!(
        results,
        [
            0x9000, 0x9000, 0x9000, 0x6A80, 0x6884, 0x9000, 0x9000, 0x9000, 0x9000, 0x6A80
        ],
        "{results:04X?}"
    );
}

/// OpenPACE's `cvc-print` (an outside CV certificate parser and verifier) reads the RSA
/// terminal certificate made above, with the rights it grants, and verifies its
/// signature under the UT DV (a flipped signature byte: not verified).
#[test]
fn openpace_verifies_the_rsa_terminal_certificate() {
    let Ok(out) = std::process::Command::new("cvc-print").arg("--help").output() else {
        support::skip_without("cvc-print (Debian openpace)", "not installed (make deps)");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let (_, _, cert) = rsa_terminal(dir.path());
    // cvc-print finds issuers in a directory, each file named by its CHR
    let trust = dir.path().join("trust");
    std::fs::create_dir(&trust).unwrap();
    for (f, chr) in [
        ("ut-dv.cvcert", "UTDVEMRTD00001"),
        ("ut-cvca.cvcert", "UTCVCAEMRTD00001"),
    ] {
        std::fs::copy(root().join("eac/ut").join(f), trust.join(chr)).unwrap();
    }
    let print = |der: &[u8]| {
        let f = dir.path().join("term.cvcert");
        std::fs::write(&f, der).unwrap();
        let o = std::process::Command::new("cvc-print")
            .arg("--cvc-dir")
            .arg(&trust)
            .arg("--cvc")
            .arg(&f)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let text = print(cert.der());
    for want in [
        "CAR: UTDVEMRTD00001",
        "CHR: UTISRSA00001",
        "Inspection system",
        "Read fingerprint",
        "Read iris",
        "Terminal certificate",
    ] {
        assert!(text.contains(want), "{want:?} missing in:\n{text}");
    }
    assert!(text.trim_end().ends_with("\ncertificate verified"), "{text}");
    let mut bad = cert.der().to_vec();
    let n = bad.len() - 5;
    bad[n] ^= 1;
    assert!(print(&bad).trim_end().ends_with("certificate not verified"));
}

/// `verify --emulator` of a booklet written into a copy of the fixtures (a profile's
/// base must sit in its directory), with `--trace`: the report and the wire commands.
fn verify_booklet(name: &str, toml: &str, args: &[&str]) -> (serde_json::Value, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let fx = dir.path().join("fx");
    support::copy_dir(&root(), &fx);
    let booklet = fx.join("booklets").join(name);
    std::fs::write(&booklet, toml).unwrap();
    let db = dir.path().join("trust.db");
    let bin = env!("CARGO_BIN_EXE_emrtd");
    let mut pki: Vec<PathBuf> = std::fs::read_dir(fx.join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pki.sort();
    let o = std::process::Command::new(bin)
        .args(["--store", db.to_str().unwrap(), "-q", "pkd", "import"])
        .args(&pki)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let trace = dir.path().join("trace.jsonl");
    let o = std::process::Command::new(bin)
        .args(["--store", db.to_str().unwrap(), "--json", "verify", "--emulator"])
        .arg(&booklet)
        .arg("--trace")
        .arg(&trace)
        .args(args)
        .env_remove("EMRTD_STORE")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    let commands = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["command"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    (v, commands)
}

fn check<'v>(v: &'v serde_json::Value, id: &str) -> &'v serde_json::Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {v:#}"))
}

/// The commands with this INS P1 P2 (hex), whatever the CLA.
fn with_header<'a>(commands: &'a [String], ins_p1_p2: &str) -> Vec<&'a str> {
    commands
        .iter()
        .filter(|c| c.get(2..).is_some_and(|r| r.starts_with(ins_p1_p2)))
        .map(|c| c.get(..8).unwrap_or(""))
        .collect()
}

/// A DH-2048 Chip Authentication key (RFC 5114 group, parameter id 2; the private key
/// below the 224-bit subgroup order), on REF-1 without extended length.
const DH_2048_SHORT: &str = "ca_private_key = \"1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5\"\n\n\
    [chip]\nextended_length = false\nmax_read = 256\nbac = true\n\n";

/// Chip Authentication v1 with the DH-2048 key and 3DES: MSE:Set KAT carries
/// `91 82 01 00` and 256 bytes, so it goes out as a chain (`1C 22 41 A6` first), and
/// `verify` proves CA (VALID).
#[test]
fn chip_authentication_with_a_dh_2048_key_on_a_chip_without_extended_length() {
    let toml = format!(
        "name = \"ca-dh2048-short\"\nbase = \"ref1.toml\"\n{DH_2048_SHORT}[ca]\nparameter_id = 2\ncipher = \"3DES\"\n"
    );
    let (v, commands) = verify_booklet("ca-dh2048-short.toml", &toml, &[]);
    assert_eq!(v["verdict"], "VALID", "{v:#}");
    assert_eq!(check(&v, "ca")["status"], "pass");
    assert_eq!(with_header(&commands, "2241A6"), ["1C2241A6", "0C2241A6"]);
}

/// EAC version 2 with the DH-2048 key (CA v2, AES-128): after TA v2, GENERAL
/// AUTHENTICATE carries `7C 82 01 04 80 82 01 00` and the key (264 bytes), chained;
/// `verify` is VALID with `ca`, `eac.ta` and DG3/DG4 passing.
#[test]
fn eac_version_2_with_a_dh_2048_key_on_a_chip_without_extended_length() {
    let toml = format!(
        "name = \"eac-v2-dh2048-short\"\nbase = \"eac-v2.toml\"\n{DH_2048_SHORT}\
         [ca]\nparameter_id = 2\ncipher = \"AES-128\"\nversion = 2\n"
    );
    let chain = root().join("eac/ut");
    let key = root().join("eac/keys/ut-is.key.pem");
    let (v, commands) = verify_booklet(
        "eac-v2-dh2048-short.toml",
        &toml,
        &[
            "--eac-chain",
            chain.to_str().unwrap(),
            "--eac-key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(v["verdict"], "VALID", "{v:#}");
    for id in ["ca", "eac.ta", "pa.dg_hash.DG3", "pa.dg_hash.DG4"] {
        assert_eq!(check(&v, id)["status"], "pass", "{id}");
    }
    assert_eq!(check(&v, "eac.ta")["evidence"]["version"], 2);
    // PACE's GENERAL AUTHENTICATE steps come first, in plain (CLA 10/00)
    let protected: Vec<&str> = with_header(&commands, "860000")
        .into_iter()
        .filter(|c| c.starts_with("1C") || c.starts_with("0C"))
        .collect();
    assert_eq!(protected, ["1C860000", "0C860000"]);
}

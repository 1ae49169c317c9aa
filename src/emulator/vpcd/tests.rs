//! The card side of the vpcd protocol against a driver played by the test over a
//! loopback socket (the real driver inside pcscd is exercised by `tests/vpcd.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::*;
use crate::access::password::MrzKey;
use crate::apdu::{CardChannel, Command, PlainChannel, StatusWord};
use crate::emulator::profile::Fault;
use crate::lds::{EMRTD_AID, LdsFile};
use crate::rng::OsRandom;
use crate::sm::SecureChannel;

fn bac_profile() -> Profile {
    Profile::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/booklets/bac.toml"))
        .unwrap()
}

fn key_of(p: &Profile) -> MrzKey {
    MrzKey::from_mrz(&crate::mrz::Mrz::parse(&p.mrz).unwrap()).unwrap()
}

#[test]
fn frames_are_length_prefixed_big_endian() {
    assert_eq!(encode_frame(&[0x04]).unwrap(), [0x00, 0x01, 0x04]);
    assert_eq!(
        encode_frame(&[0x3B, 0x81, 0x80, 0x01, 0x80, 0x80]).unwrap(),
        [0x00, 0x06, 0x3B, 0x81, 0x80, 0x01, 0x80, 0x80]
    );
    assert_eq!(encode_frame(&vec![0u8; MAX_FRAME]).unwrap().len(), MAX_FRAME + 2);
    assert!(matches!(
        encode_frame(&vec![0u8; MAX_FRAME + 1]),
        Err(VpcdError::FrameTooLong { len }) if len == MAX_FRAME + 1
    ));
}

#[test]
fn control_codes_and_apdus_are_told_apart() {
    assert_eq!(Message::decode(vec![0x00]), Message::PowerOff);
    assert_eq!(Message::decode(vec![0x01]), Message::PowerOn);
    assert_eq!(Message::decode(vec![0x02]), Message::Reset);
    assert_eq!(Message::decode(vec![0x04]), Message::GetAtr);
    assert_eq!(Message::decode(vec![0x03]), Message::UnknownControl(3));
    assert_eq!(Message::decode(vec![]), Message::Empty);
    assert_eq!(
        Message::decode(vec![0x00, 0xA4, 0x04, 0x00]),
        Message::Apdu(vec![0x00, 0xA4, 0x04, 0x00])
    );
}

/// A byte source that hands out its data in fixed pieces and times out between
/// them, as a socket with a read timeout does.
struct Dribble {
    pieces: Vec<Vec<u8>>,
    timed_out: bool,
}

impl Read for Dribble {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.timed_out {
            self.timed_out = true;
            return Err(std::io::Error::from(ErrorKind::WouldBlock));
        }
        self.timed_out = false;
        if self.pieces.is_empty() {
            return Ok(0);
        }
        let p = self.pieces.remove(0);
        buf[..p.len()].copy_from_slice(&p);
        Ok(p.len())
    }
}

#[test]
fn frame_reader_survives_timeouts_mid_frame() {
    let mut stream = encode_frame(&[0x04]).unwrap();
    let apdu: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
    stream.extend(encode_frame(&apdu).unwrap());
    stream.extend(encode_frame(&[0x02]).unwrap());
    // split everywhere, including inside the length prefix
    let pieces: Vec<Vec<u8>> = stream.chunks(7).map(<[u8]>::to_vec).collect();
    let mut src = Dribble {
        pieces,
        timed_out: false,
    };
    let mut r = FrameReader::new();
    let mut frames = Vec::new();
    loop {
        match r.poll(&mut src).unwrap() {
            Poll::Frame(f) => frames.push(f),
            Poll::Idle => {}
            Poll::Closed => break,
        }
    }
    assert_eq!(frames, vec![vec![0x04], apdu, vec![0x02]]);
}

#[test]
fn only_loopback_unless_allowed() {
    assert!(resolve("127.0.0.1:35963", false).is_ok());
    assert!(resolve("[::1]:35963", false).is_ok());
    assert!(matches!(
        resolve("192.0.2.7:35963", false),
        Err(VpcdError::NotLoopback { .. })
    ));
    assert!(resolve("192.0.2.7:35963", true).is_ok());
    assert!(matches!(
        resolve("no port here", false),
        Err(VpcdError::Address { .. })
    ));
}

#[test]
fn profile_is_capped_to_what_one_frame_carries() {
    let mut p = bac_profile();
    assert_eq!(fit_profile(&mut p), None);
    assert_eq!(p.chip.max_read, 223);
    p.chip.extended_length = true;
    p.chip.max_read = 65536;
    assert_eq!(fit_profile(&mut p), Some(65536));
    assert_eq!(p.chip.max_read, MAX_READ_OVER_VPCD);
}

/// The driver's side of the socket, played by the test.
struct Driver {
    stream: TcpStream,
    reader: FrameReader,
}

impl Driver {
    fn accept(listener: &TcpListener) -> Driver {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Driver {
            stream,
            reader: FrameReader::new(),
        }
    }

    fn send(&mut self, payload: &[u8]) {
        self.stream.write_all(&encode_frame(payload).unwrap()).unwrap();
    }

    fn recv(&mut self) -> Poll {
        self.reader.poll(&mut self.stream).unwrap()
    }

    fn atr(&mut self) -> Vec<u8> {
        self.send(&[0x04]);
        match self.recv() {
            Poll::Frame(f) => f,
            other => panic!("no ATR: {other:?}"),
        }
    }
}

impl Transport for Driver {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.send(command);
        match self.recv() {
            Poll::Frame(f) => Ok(f),
            Poll::Closed => Err(TransportError::CardRemoved),
            Poll::Idle => Err(TransportError::Timeout { ms: 10_000 }),
        }
    }
}

struct Served {
    stop: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<Result<(), VpcdError>>>,
}

impl Served {
    fn start(card: VirtualCard, addr: SocketAddr) -> Served {
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(Mutex::new(Vec::new()));
        let (s, e) = (stop.clone(), events.clone());
        let thread = std::thread::spawn(move || {
            let mut card = card;
            let options = ServeOptions {
                reinsert_after: Duration::from_millis(50),
                ..ServeOptions::default()
            };
            card.serve(&[addr], &s, &options, &mut |ev| {
                e.lock().unwrap().push(format!("{ev:?}"));
            })
        });
        Served {
            stop,
            events,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        let t = self.thread.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !t.is_finished() {
            assert!(Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        t.join().unwrap().unwrap();
        self.events.lock().unwrap().clone()
    }
}

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

fn bac_session(driver: Driver, key: &MrzKey) -> SecureChannel<PlainChannel<Driver>> {
    let mut plain = PlainChannel::new(driver);
    assert!(plain.send(&Command::select_aid(&EMRTD_AID)).unwrap().is_ok());
    let keys = crate::access::bac::authenticate(&mut plain, key, &mut OsRandom).unwrap();
    SecureChannel::new(plain, keys)
}

fn read_com(sm: &mut SecureChannel<PlainChannel<Driver>>) -> crate::apdu::Response {
    let sel = sm.send(&Command::select_ef(LdsFile::Com.fid())).unwrap();
    assert!(sel.is_ok());
    sm.send(&Command::read_binary(0, 200)).unwrap()
}

#[test]
fn serves_atr_bac_and_drops_the_session_on_reset_and_power_off() {
    let profile = bac_profile();
    let key = key_of(&profile);
    let com = profile.files[&LdsFile::Com].clone();
    let atr = profile.atr();
    let (l, addr) = listener();
    let served = Served::start(VirtualCard::new(Emulator::new(profile)).unwrap(), addr);
    let mut d = Driver::accept(&l);
    assert_eq!(d.atr(), atr);
    d.send(&[0x01]);
    assert_eq!(
        d.atr(),
        atr,
        "power on is not answered; the next reply is the ATR"
    );

    for code in [0x02u8, 0x00] {
        let mut sm = bac_session(d, &key);
        let r = read_com(&mut sm);
        assert_eq!(r.sw, StatusWord::OK);
        assert_eq!(r.data, com);
        // the driver resets or powers off the card: the secure channel must be gone,
        // so a correctly protected command is refused
        sm.inner_mut().transport_mut().send(&[code]);
        let err = sm.send(&Command::read_binary(0, 4)).unwrap_err();
        let sm_err = crate::sm::sm_error(&err).unwrap();
        assert!(
            matches!(sm_err, crate::sm::SmError::ChipAbortedSm { sw } if *sw == StatusWord::SM_OBJECTS_INCORRECT),
            "after control code {code:02X}: {err}"
        );
        let plain = sm.into_inner();
        d = plain.into_inner();
        d.send(&[0x01]);
    }
    let events = served.stop();
    assert_eq!(events.iter().filter(|e| e.starts_with("Inserted")).count(), 1);
    assert!(events.iter().any(|e| e.contains("Power(Reset)")));
}

#[test]
fn reconnects_when_the_driver_goes_away() {
    let (l, addr) = listener();
    let served = Served::start(VirtualCard::new(Emulator::new(bac_profile())).unwrap(), addr);
    let mut d = Driver::accept(&l);
    let atr = d.atr();
    drop(d); // pcscd stops
    let mut d = Driver::accept(&l); // and comes back
    assert_eq!(d.atr(), atr);
    let events = served.stop();
    assert!(events.iter().any(|e| e.contains("Disconnected")), "{events:?}");
    assert_eq!(events.iter().filter(|e| e.starts_with("Inserted")).count(), 2);
}

#[test]
fn waits_for_the_driver_with_bounded_reports() {
    // nobody listens: the card keeps trying and reports once, not every attempt
    let (l, addr) = listener();
    drop(l);
    let served = Served::start(VirtualCard::new(Emulator::new(bac_profile())).unwrap(), addr);
    std::thread::sleep(Duration::from_millis(800));
    let events = served.stop();
    assert_eq!(
        events.iter().filter(|e| e.starts_with("Waiting")).count(),
        1,
        "{events:?}"
    );
}

#[test]
fn a_silent_driver_is_reported_once() {
    // the port accepts but never talks: another card holds the reader
    let (l, addr) = listener();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let t = std::thread::spawn(move || {
        let mut card = VirtualCard::new(Emulator::new(bac_profile())).unwrap();
        let options = ServeOptions {
            silent_after: Duration::from_millis(200),
            ..ServeOptions::default()
        };
        let mut events = Vec::new();
        card.serve(&[addr], &s2, &options, &mut |ev| events.push(format!("{ev:?}")))
            .unwrap();
        events
    });
    let (_held, _) = l.accept().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::SeqCst);
    let events = t.join().unwrap();
    assert_eq!(
        events.iter().filter(|e| e.starts_with("Silent")).count(),
        1,
        "{events:?}"
    );
    assert!(!events.iter().any(|e| e.starts_with("Inserted")));
}

#[test]
fn card_removed_fault_closes_the_socket_and_comes_back() {
    let mut profile = bac_profile();
    profile.faults = vec![Fault::CardRemoved { at: 1 }];
    let (l, addr) = listener();
    let served = Served::start(VirtualCard::new(Emulator::new(profile)).unwrap(), addr);
    let mut d = Driver::accept(&l);
    let select = Command::select_aid(&EMRTD_AID).encode().unwrap();
    assert_eq!(d.transmit(&select).unwrap(), [0x90, 0x00]);
    // APDU 1: the card leaves the reader without answering
    assert!(matches!(d.transmit(&select), Err(TransportError::CardRemoved)));
    // and is presented again
    let mut d = Driver::accept(&l);
    assert_eq!(d.transmit(&select).unwrap(), [0x90, 0x00]);
    let events = served.stop();
    assert!(events.iter().any(|e| e.starts_with("FaultRemoved")), "{events:?}");
}

#[test]
fn extended_length_read_fits_one_frame() {
    let mut profile = bac_profile();
    profile.chip.extended_length = true;
    profile.chip.max_read = 65536;
    fit_profile(&mut profile);
    let key = key_of(&profile);
    let dg2 = profile.files[&LdsFile::Dg(2)].clone();
    let (l, addr) = listener();
    let served = Served::start(VirtualCard::new(Emulator::new(profile)).unwrap(), addr);
    let d = Driver::accept(&l);
    let mut sm = bac_session(d, &key);
    assert!(
        sm.send(&Command::select_ef(LdsFile::Dg(2).fid()))
            .unwrap()
            .is_ok()
    );
    let r = sm.send(&Command::read_binary(0, 65536).extended(true)).unwrap();
    assert_eq!(r.sw, StatusWord::OK);
    assert_eq!(r.data, dg2, "the whole DG2 in one extended READ BINARY");
    served.stop();
}

#[test]
fn trace_is_written_per_session_and_redacted() {
    let profile = bac_profile();
    let key = key_of(&profile);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emulate-trace.jsonl");
    let card = VirtualCard::new(Emulator::new(profile))
        .unwrap()
        .with_trace(path.clone(), false)
        .unwrap();
    let (l, addr) = listener();
    let served = Served::start(card, addr);
    let d = Driver::accept(&l);
    let mut sm = bac_session(d, &key);
    let com = read_com(&mut sm);
    let mut d = sm.into_inner().into_inner();
    d.send(&[0x00]);
    let _ = d.atr(); // the power off has been handled once the ATR comes back
    assert_eq!(com.sw, StatusWord::OK);
    let text = std::fs::read_to_string(&path).unwrap();
    // SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE, SELECT EF.COM, READ BINARY
    assert_eq!(text.lines().count(), 5, "{text}");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["redacted"], true);
        assert!(v["context"].as_str().unwrap().starts_with("card session"));
        // challenge, cryptograms and protected data never appear, only their length
        let resp = v["response"].as_str().unwrap();
        assert!(resp.len() == 4 || resp.contains("bytes redacted"), "{line}");
    }
    served.stop();
    // stopping writes nothing twice
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 5);
}

#![no_main]
//! Fuzz target: the reader facing a hostile chip. The chip runs BAC honestly (the
//! reader knows the MRZ) and wraps its answers in correct secure messaging, but every
//! answer's content comes from the fuzz input, so the whole session runs on hostile
//! data: EF.CardAccess and PACE (the fuzzer's GENERAL AUTHENTICATE answers), the read
//! engine (lengths, 61xx/6Cxx, short reads, odd INS), tag-loss recovery (reconnects),
//! the trace, then Active and Chip Authentication as `emrtd verify` runs them. It must
//! never panic or hang.
//!
//! Input: a sequence of chunks, each `h0 h1 bytes…` with length `(h0 & 7F) << 8 | h1`;
//! bit 7 of `h0` sends the chunk raw (not wrapped in secure messaging, and overriding
//! the honest BAC answers). The chunk is the response (data || SW1 SW2). When the input
//! runs out the card leaves the field (link loss).

use emrtd::access::password::{MrzKey, Password};
use emrtd::access::{aa, ca};
use emrtd::access::bac::ChipBac;
use emrtd::apdu::{Command, Response, StatusWord};
use emrtd::lds::LdsFile;
use emrtd::reader::{NoProgress, ReadOptions, Session};
use emrtd::rng::RandomSource;
use emrtd::sm::ChipSm;
use emrtd::transport::trace::{Recorder, TraceLog};
use emrtd::transport::{Transport, TransportError, TransportInfo};
use libfuzzer_sys::fuzz_target;

const MRZ: &str = "P<UTOSPECIMEN<<BAC<BOOKLET<<<<<<<<<<<<<<<<<<\nUTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02";

/// Deterministic randomness (a fuzz run must be reproducible).
struct Counter(u64);

impl RandomSource for Counter {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            *b = (self.0 >> 56) as u8;
        }
    }
}

struct HostileChip<'a> {
    input: &'a [u8],
    key: MrzKey,
    bac: Option<ChipBac>,
    sm: Option<ChipSm>,
    rng: Counter,
    atr: Vec<u8>,
}

impl HostileChip<'_> {
    fn next_chunk(&mut self) -> Option<(bool, Vec<u8>)> {
        let (&[h0, h1], rest) = self.input.split_first_chunk::<2>()?;
        let len = (usize::from(h0 & 0x7F) << 8 | usize::from(h1)).min(rest.len());
        let (chunk, tail) = rest.split_at(len);
        self.input = tail;
        Some((h0 & 0x80 != 0, chunk.to_vec()))
    }
}

impl Transport for HostileChip<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let (raw, chunk) = self.next_chunk().ok_or(TransportError::CardRemoved)?;
        let Ok(cmd) = Command::decode(command) else {
            return Ok(chunk);
        };
        if raw {
            self.sm = None;
            return Ok(chunk);
        }
        let sm_cmd = cmd.cla & 0x0C == 0x0C;
        match (cmd.ins, &mut self.sm) {
            (0x84, None) if !sm_cmd => {
                let mut bac = ChipBac::new(&self.key);
                let challenge = bac.get_challenge(&mut self.rng);
                self.bac = Some(bac);
                Ok(Response::new(challenge.to_vec(), StatusWord::OK).to_bytes())
            }
            (0x82, None) if !sm_cmd => {
                let Some(mut bac) = self.bac.take() else {
                    return Ok(Response::status(StatusWord::CONDITIONS_NOT_SATISFIED).to_bytes());
                };
                match bac.mutual_authenticate(&cmd.data, &mut self.rng) {
                    Ok((data, keys)) => {
                        self.sm = Some(ChipSm::new(keys));
                        Ok(Response::new(data, StatusWord::OK).to_bytes())
                    }
                    Err(_) => Ok(Response::status(StatusWord::AUTH_FAILED).to_bytes()),
                }
            }
            (_, Some(sm)) if sm_cmd => {
                if sm.unprotect_command(&cmd).is_err() {
                    self.sm = None;
                    return Ok(Response::status(StatusWord::SM_OBJECTS_INCORRECT).to_bytes());
                }
                let plain = Response::from_bytes(chunk).unwrap_or_else(|_| Response::status(StatusWord::OK));
                match sm.protect_response(&plain) {
                    Ok(r) => Ok(r.to_bytes()),
                    Err(_) => Ok(Response::status(StatusWord::UNKNOWN).to_bytes()),
                }
            }
            _ => Ok(chunk),
        }
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.bac = None;
        self.sm = None;
        Ok(())
    }

    fn info(&self) -> TransportInfo {
        TransportInfo {
            reader: "hostile".into(),
            atr: self.atr.clone(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, input)) = data.split_first() else {
        return;
    };
    let Ok(mrz) = emrtd::mrz::Mrz::parse(MRZ) else { return };
    let Ok(key) = MrzKey::from_mrz(&mrz) else { return };
    // flags: bit 0 = the ATR announces extended length, bit 1 = --max-read 223
    let ext = if flags & 1 != 0 { 0x40 } else { 0x00 };
    let mut atr = vec![0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x00, 0x00, ext];
    let tck = atr.iter().skip(1).fold(0u8, |a, b| a ^ b);
    atr.push(tck);
    let chip = HostileChip {
        input,
        key: key.clone(),
        bac: None,
        sm: None,
        rng: Counter(1),
        atr,
    };
    let log = TraceLog::new();
    let options = ReadOptions {
        max_read: (flags & 2 != 0).then_some(223),
        ..ReadOptions::default()
    };
    let mut rng = Counter(2);
    let session = Session::new(
        Recorder::new(chip, log.clone()),
        Password::Mrz(key),
        options,
        &mut rng,
        Some(log.clone()),
    );
    let _ = session.run_then(&mut NoProgress, |dump, ch, rng| {
        if let Some(dg15) = dump
            .files
            .get(&LdsFile::Dg(15))
            .and_then(|b| emrtd::lds::dg15::Dg15::decode(b).ok())
        {
            let opts = aa::AaOptions {
                extended_length: dump.manifest.extended_length,
                ..aa::AaOptions::default()
            };
            let _ = aa::authenticate_with(ch, &dg15, None, &opts, rng);
        }
        if let Some(infos) = dump
            .files
            .get(&LdsFile::Dg(14))
            .and_then(|b| emrtd::lds::dg14::Dg14::decode(b).map(|d| d.security_infos).ok())
        {
            let _ = ca::authenticate_and_prove(ch, &infos, &ca::CaConfig::default(), rng);
        }
    });
    let mut sink = Vec::new();
    let _ = log.write_jsonl(&mut sink, false);
});

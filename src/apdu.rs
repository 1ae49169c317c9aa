//! ISO/IEC 7816-4 command and response APDUs (§5.1–5.6), status words, and a plain
//! [`CardChannel`] over any [`Transport`] that handles GET RESPONSE (61xx) and Le
//! correction (6Cxx) once, for every layer above.

pub mod status;

pub use status::StatusWord;

use thiserror::Error;

use crate::transport::{Transport, TransportError};

/// Largest Le/Lc of an extended-length APDU.
pub const MAX_EXTENDED: usize = 65536;
/// Largest Le of a short APDU.
pub const MAX_SHORT_LE: usize = 256;
/// Largest Lc of a short APDU.
pub const MAX_SHORT_LC: usize = 255;
/// CLA bit b5: "not the last command of a chain" (ISO/IEC 7816-4 §5.1.1, command
/// chaining).
pub const CLA_CHAINING: u8 = 0x10;
/// Bound on chained GET RESPONSE rounds (a chip answering 61xx forever is hostile).
/// 256 rounds of 256 bytes carry the largest extended answer (65,536 bytes), which a
/// T=0 reader delivers this way; 64 stopped at 16 KB, less than one face image.
pub const MAX_GET_RESPONSE: usize = 256;
/// GET RESPONSE rounds after which the bytes they brought are judged: a card that hands
/// out less than [`MIN_GET_RESPONSE_BYTES`] per round on average (61 01 each time) would
/// take thousands of exchanges per file and is given up on.
pub const GET_RESPONSE_ROUNDS_JUDGED: usize = 16;
/// Average bytes per GET RESPONSE round below which a chained answer is given up on.
pub const MIN_GET_RESPONSE_BYTES: usize = 8;

/// Errors of the APDU layer.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApduError {
    /// The link failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A command that cannot be encoded (data or Le too long).
    #[error("command cannot be encoded: {what}")]
    Encode {
        /// What was too large.
        what: &'static str,
    },
    /// Bytes that are not a command APDU (emulator side).
    #[error("malformed command APDU of {len} byte(s): {what}")]
    MalformedCommand {
        /// Length received.
        len: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// The card kept answering 61xx.
    #[error("card answered 61xx more than {MAX_GET_RESPONSE} times")]
    EndlessGetResponse,
    /// The card chained its answer over GET RESPONSE a few bytes at a time.
    #[error(
        "card trickled its answer: {bytes} byte(s) in {rounds} GET RESPONSE rounds \
         (fewer than {MIN_GET_RESPONSE_BYTES} per round)"
    )]
    TrickleGetResponse {
        /// Rounds so far.
        rounds: usize,
        /// Bytes they brought.
        bytes: usize,
    },
    /// Secure messaging, a channel layered on this one, failed (the source is a
    /// `crate::sm::SmError`; boxed so this layer does not depend on the one above).
    #[error(transparent)]
    SecureMessaging(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// A command APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Lc is its length).
    pub data: Vec<u8>,
    /// Bytes expected in the response (1..=65536); `None` when no data is expected.
    pub le: Option<usize>,
    /// Force the extended-length encoding even when the short one would do.
    pub extended: bool,
}

impl std::fmt::Debug for Command {
    // data is not printed: it may hold authentication cryptograms
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, lc={}, le={:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

impl Command {
    /// A command with no data and no Le.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
            extended: false,
        }
    }

    /// Set the command data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Set Le.
    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// Force extended length.
    pub fn extended(mut self, yes: bool) -> Self {
        self.extended = yes;
        self
    }

    /// The four header bytes.
    pub fn header(&self) -> [u8; 4] {
        [self.cla, self.ins, self.p1, self.p2]
    }

    /// True when this command needs (or asked for) the extended encoding.
    pub fn needs_extended(&self) -> bool {
        self.extended || self.data.len() > MAX_SHORT_LC || self.le.is_some_and(|le| le > MAX_SHORT_LE)
    }

    /// Why no encoding can carry this command (data of 65536 bytes or more, Le outside
    /// 1..=65536); `None` when one can.
    pub(crate) fn length_error(&self) -> Option<&'static str> {
        if self.data.len() >= MAX_EXTENDED {
            Some("command data longer than 65535 bytes")
        } else if self.le.is_some_and(|le| le == 0 || le > MAX_EXTENDED) {
            Some("Le outside 1..=65536")
        } else {
            None
        }
    }

    /// Encode as bytes (short or extended form, ISO/IEC 7816-4 §5.1).
    pub fn encode(&self) -> Result<Vec<u8>, ApduError> {
        if let Some(what) = self.length_error() {
            return Err(ApduError::Encode { what });
        }
        let mut out = Vec::with_capacity(self.data.len() + 9);
        out.extend_from_slice(&self.header());
        let ext = self.needs_extended();
        if !self.data.is_empty() {
            if ext {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            if ext {
                if self.data.is_empty() {
                    out.push(0);
                }
                let v = if le == MAX_EXTENDED { 0 } else { le as u16 };
                out.extend_from_slice(&v.to_be_bytes());
            } else {
                out.push(if le == MAX_SHORT_LE { 0 } else { le as u8 });
            }
        }
        Ok(out)
    }

    /// Split into an ISO/IEC 7816-4 command chain (§5.1.1, CLA bit b5), for a card that
    /// takes no extended length: the same INS, P1 and P2 in every command; the data in
    /// consecutive pieces of at most `piece` bytes, the last of at most `last`; CLA b5
    /// set on every command but the last, which alone carries Le (the others expect no
    /// data). Every piece is a short APDU. A command whose data fits in `last` comes back
    /// alone, unchanged.
    pub fn chain(&self, piece: usize, last: usize) -> Result<Vec<Command>, ApduError> {
        if self.data.len() <= last {
            return Ok(vec![self.clone()]);
        }
        if self.cla & CLA_CHAINING != 0 {
            return Err(ApduError::Encode {
                what: "a command that is already part of a chain cannot be chained again",
            });
        }
        if piece == 0 || last == 0 || piece > MAX_SHORT_LC || last > MAX_SHORT_LC {
            return Err(ApduError::Encode {
                what: "chained pieces must hold 1..=255 bytes",
            });
        }
        if self.le.is_some_and(|le| le > MAX_SHORT_LE) {
            return Err(ApduError::Encode {
                what: "a chained command cannot ask for an extended Le",
            });
        }
        let mut out = Vec::with_capacity(self.data.len() / piece + 2);
        let mut rest = self.data.as_slice();
        while rest.len() > last {
            let (head, tail) = rest.split_at(piece.min(rest.len() - 1));
            out.push(Command {
                cla: self.cla | CLA_CHAINING,
                ins: self.ins,
                p1: self.p1,
                p2: self.p2,
                data: head.to_vec(),
                le: None,
                extended: false,
            });
            rest = tail;
        }
        out.push(Command {
            cla: self.cla,
            ins: self.ins,
            p1: self.p1,
            p2: self.p2,
            data: rest.to_vec(),
            le: self.le,
            extended: false,
        });
        Ok(out)
    }

    /// Decode a command APDU (the chip side of the emulator).
    pub fn decode(bytes: &[u8]) -> Result<Command, ApduError> {
        let len = bytes.len();
        let bad = |what| ApduError::MalformedCommand { len, what };
        let (header, body) = bytes
            .split_first_chunk::<4>()
            .ok_or(bad("shorter than the 4-byte header"))?;
        let mut cmd = Command::new(header[0], header[1], header[2], header[3]);
        match body {
            [] => {}
            [le] => cmd.le = Some(LcCoding::SHORT.le(&[*le])),
            [0, hi, lo] => {
                // case 2E
                cmd.extended = true;
                cmd.le = Some(LcCoding::EXTENDED.le(&[*hi, *lo]));
            }
            [0, hi, lo, tail @ ..] => {
                cmd.extended = true;
                let n = usize::from(u16::from_be_bytes([*hi, *lo]));
                LcCoding::EXTENDED.data_and_le(&mut cmd, n, tail).map_err(bad)?;
            }
            [lc, rest @ ..] => LcCoding::SHORT
                .data_and_le(&mut cmd, usize::from(*lc), rest)
                .map_err(bad)?,
        }
        Ok(cmd)
    }

    /// SELECT by DF name (AID), no response data wanted (P2 = 0C).
    pub fn select_aid(aid: &[u8]) -> Self {
        Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid)
    }

    /// SELECT an EF by file identifier under the current DF, no response data (P2 = 0C).
    pub fn select_ef(fid: u16) -> Self {
        Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(fid.to_be_bytes())
    }

    /// SELECT the MF (P1 = 00, no data).
    pub fn select_mf() -> Self {
        Command::new(0x00, 0xA4, 0x00, 0x0C).with_data([0x3F, 0x00])
    }

    /// READ BINARY (B0) of the current EF at `offset` (< 32768).
    pub fn read_binary(offset: u16, le: usize) -> Self {
        let [hi, lo] = offset.to_be_bytes();
        Command::new(0x00, 0xB0, hi & 0x7F, lo).with_le(le)
    }

    /// READ BINARY (B0) by short file identifier (P1 bit 8 set), offset < 256;
    /// the file becomes the current EF.
    pub fn read_binary_sfi(sfi: u8, offset: u8, le: usize) -> Self {
        Command::new(0x00, 0xB0, 0x80 | (sfi & 0x1F), offset).with_le(le)
    }

    /// READ BINARY with odd INS (B1), offset in DO'54 (for offsets above 32767).
    pub fn read_binary_odd(offset: u32, le: usize) -> Self {
        let bytes = offset.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
        let off = bytes.get(skip..).unwrap_or(&[0]);
        Command::new(0x00, 0xB1, 0x00, 0x00)
            .with_data(crate::tlv::encode(0x54, off))
            .with_le(le)
    }

    /// GET CHALLENGE for `len` bytes.
    pub fn get_challenge(len: usize) -> Self {
        Command::new(0x00, 0x84, 0x00, 0x00).with_le(len)
    }
}

/// A response APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data.
    pub data: Vec<u8>,
    /// Status word.
    pub sw: StatusWord,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Response({} byte(s), {})", self.data.len(), self.sw)
    }
}

impl Response {
    /// Split raw bytes into data and status word.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Result<Response, TransportError> {
        let len = bytes.len();
        if len < 2 {
            return Err(TransportError::MalformedResponse { len });
        }
        let sw_bytes = bytes.split_off(len - 2);
        let sw = match sw_bytes.as_slice() {
            [sw1, sw2] => StatusWord::from_bytes(*sw1, *sw2),
            _ => return Err(TransportError::MalformedResponse { len }),
        };
        Ok(Response { data: bytes, sw })
    }

    /// A response with data and SW.
    pub fn new(data: impl Into<Vec<u8>>, sw: StatusWord) -> Self {
        Response {
            data: data.into(),
            sw,
        }
    }

    /// A bare status word.
    pub fn status(sw: StatusWord) -> Self {
        Response { data: Vec::new(), sw }
    }

    /// Encode data followed by SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.data.len() + 2);
        v.extend_from_slice(&self.data);
        v.extend_from_slice(&self.sw.to_bytes());
        v
    }

    /// True for 9000 (and the 62xx/63xx warnings are *not* success).
    pub fn is_ok(&self) -> bool {
        self.sw == StatusWord::OK
    }
}

/// Something that sends command APDUs and returns responses: the plain channel, or a
/// secure-messaging channel wrapping one.
pub trait CardChannel {
    /// Send one command, returning the card's response (whatever its status word).
    fn send(&mut self, cmd: &Command) -> Result<Response, ApduError>;

    /// Round trips on the wire so far (GET RESPONSE and Le retries included).
    fn exchanges(&self) -> usize;
}

/// A channel without secure messaging over a [`Transport`]. Handles 61xx by GET RESPONSE
/// and 6Cxx by resending with the corrected Le.
pub struct PlainChannel<T: Transport> {
    transport: T,
    exchanges: usize,
}

impl<T: Transport> PlainChannel<T> {
    /// Wrap a transport.
    pub fn new(transport: T) -> Self {
        PlainChannel {
            transport,
            exchanges: 0,
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably (for reconnecting).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Unwrap.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// Send raw bytes once, counting the exchange.
    pub fn transmit_raw(&mut self, bytes: &[u8]) -> Result<Response, ApduError> {
        self.exchanges += 1;
        let raw = self.transport.transmit(bytes)?;
        Ok(Response::from_bytes(raw)?)
    }
}

impl<T: Transport> CardChannel for PlainChannel<T> {
    fn send(&mut self, cmd: &Command) -> Result<Response, ApduError> {
        let mut resp = self.transmit_raw(&cmd.encode()?)?;
        // a protected command (CLA b4 b3 = 11) is never resent: its MAC covers the send
        // sequence counter, so a copy would not verify; the 6Cxx travels up inside the
        // protected response and the caller asks again with a new command
        let protected = cmd.cla & 0x0C == 0x0C;
        if let Some(correct) = resp.sw.wrong_le_exact()
            && !protected
        {
            // 6Cxx: resend once with the length the card asked for
            let mut retry = cmd.clone();
            retry.le = Some(if correct == 0 {
                MAX_SHORT_LE
            } else {
                usize::from(correct)
            });
            resp = self.transmit_raw(&retry.encode()?)?;
        }
        let mut data = std::mem::take(&mut resp.data);
        let mut rounds = 0;
        while let Some(avail) = resp.sw.bytes_available() {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE {
                return Err(ApduError::EndlessGetResponse);
            }
            if rounds > GET_RESPONSE_ROUNDS_JUDGED && data.len() < (rounds - 1) * MIN_GET_RESPONSE_BYTES {
                return Err(ApduError::TrickleGetResponse {
                    rounds: rounds - 1,
                    bytes: data.len(),
                });
            }
            let le = if avail == 0 {
                MAX_SHORT_LE
            } else {
                usize::from(avail)
            };
            let get = Command::new(cmd.cla & 0xF3, 0xC0, 0x00, 0x00).with_le(le);
            resp = self.transmit_raw(&get.encode()?)?;
            data.append(&mut resp.data);
        }
        resp.data = data;
        Ok(resp)
    }

    fn exchanges(&self) -> usize {
        self.exchanges
    }
}

/// Short or extended length fields of a command APDU, with the texts of what can be
/// wrong in each.
struct LcCoding {
    /// Bytes of Le.
    le_width: usize,
    /// The largest Le, coded as zero.
    max_le: usize,
    zero_lc: &'static str,
    short_data: &'static str,
    bad_le: &'static str,
}

impl LcCoding {
    const SHORT: LcCoding = LcCoding {
        le_width: 1,
        max_le: MAX_SHORT_LE,
        zero_lc: "short Lc of zero",
        short_data: "data shorter than Lc",
        bad_le: "bytes after data are not a 1-byte Le",
    };
    const EXTENDED: LcCoding = LcCoding {
        le_width: 2,
        max_le: MAX_EXTENDED,
        zero_lc: "extended Lc of zero",
        short_data: "data shorter than extended Lc",
        bad_le: "bytes after extended data are not a 2-byte Le",
    };

    /// The Le coded in `bytes` (one byte short, two extended; zero is the largest).
    fn le(&self, bytes: &[u8]) -> usize {
        match bytes.iter().fold(0, |v, b| (v << 8) | usize::from(*b)) {
            0 => self.max_le,
            le => le,
        }
    }

    /// `n` bytes of data from `rest`, then nothing or an Le of this coding's width.
    fn data_and_le(&self, cmd: &mut Command, n: usize, rest: &[u8]) -> Result<(), &'static str> {
        if n == 0 {
            return Err(self.zero_lc);
        }
        cmd.data = rest.get(..n).ok_or(self.short_data)?.to_vec();
        match rest.get(n..).unwrap_or_default() {
            [] => {}
            le if le.len() == self.le_width => cmd.le = Some(self.le(le)),
            _ => return Err(self.bad_le),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::h;
    use crate::transport::replay::ScriptedTransport;
    use proptest::prelude::*;

    #[test]
    fn short_cases() {
        assert_eq!(Command::new(0, 0xA4, 4, 0x0C).encode().unwrap(), h("00A4040C"));
        assert_eq!(Command::get_challenge(8).encode().unwrap(), h("0084000008"));
        assert_eq!(Command::read_binary(0, 256).encode().unwrap(), h("00B0000000"));
        assert_eq!(Command::select_ef(0x011E).encode().unwrap(), h("00A4020C02011E"));
        assert_eq!(
            Command::new(0, 0x82, 0, 0)
                .with_data(vec![0xAA; 40])
                .with_le(40)
                .encode()
                .unwrap()[4],
            40
        );
        assert_eq!(
            Command::read_binary_sfi(0x1E, 0, 4).encode().unwrap(),
            h("00B09E0004")
        );
    }

    #[test]
    fn extended_cases() {
        assert_eq!(
            Command::read_binary(0, 65536).encode().unwrap(),
            h("00B00000000000")
        );
        assert_eq!(
            Command::read_binary(0, 1000).encode().unwrap(),
            h("00B000000003E8")
        );
        let c = Command::new(0, 0x2A, 0, 0).with_data(vec![1; 300]).with_le(256);
        let e = c.encode().unwrap();
        assert_eq!(&e[4..7], &[0, 0x01, 0x2C]);
        assert_eq!(&e[e.len() - 2..], &[0x01, 0x00]);
        assert_eq!(Command::decode(&e).unwrap(), c.clone().extended(true));
    }

    #[test]
    fn lengths_no_encoding_carries_are_refused() {
        let refused = |c: Command| match c.encode() {
            Err(ApduError::Encode { what }) => what,
            other => panic!("{other:?}"),
        };
        let write = |n: usize| Command::new(0, 0xD6, 0, 0).with_data(vec![0; n]);
        assert_eq!(refused(write(65536)), "command data longer than 65535 bytes");
        assert_eq!(write(65535).encode().unwrap().len(), 4 + 3 + 65535);
        assert_eq!(refused(Command::read_binary(0, 0)), "Le outside 1..=65536");
        assert_eq!(refused(Command::read_binary(0, 65537)), "Le outside 1..=65536");
    }

    #[test]
    fn odd_read_binary_offset() {
        assert_eq!(
            Command::read_binary_odd(0x8000, 0x80).encode().unwrap(),
            h("00B100000454028000 80".replace(' ', "").as_str())
        );
    }

    #[test]
    fn get_response_and_le_correction() {
        let mut t = ScriptedTransport::new()
            .expect(h("00B0000004"), h("6C02"))
            .expect(h("00B0000002"), h("AABB6102"))
            .expect(h("00C0000002"), h("CCDD9000"));
        let mut ch = PlainChannel::new(&mut t);
        let r = ch.send(&Command::read_binary(0, 4)).unwrap();
        assert_eq!(r.data, h("AABBCCDD"));
        assert!(r.is_ok());
        assert_eq!(ch.exchanges(), 3);
    }

    #[test]
    fn a_whole_extended_answer_arrives_through_get_response() {
        // a T=0 reader hands a 65,536-byte answer over in 256 pieces of 256 bytes
        let piece = "5A".repeat(256);
        let mut t = ScriptedTransport::new().expect(h("00B00000000000"), h(&format!("{piece}6100")));
        for i in 1..256 {
            let sw = if i == 255 { "9000" } else { "6100" };
            t = t.expect(h("00C0000000"), h(&format!("{piece}{sw}")));
        }
        let mut ch = PlainChannel::new(&mut t);
        let r = ch.send(&Command::read_binary(0, 65536)).unwrap();
        assert_eq!(r.data.len(), 65536);
        assert!(r.is_ok());
    }

    #[test]
    fn endless_get_response_is_bounded() {
        let mut t = ScriptedTransport::new();
        for _ in 0..=MAX_GET_RESPONSE + 1 {
            t = t.any(h(&format!("{}6110", "AA".repeat(16))));
        }
        let mut ch = PlainChannel::new(&mut t);
        assert!(matches!(
            ch.send(&Command::read_binary(0, 1)),
            Err(ApduError::EndlessGetResponse)
        ));
    }

    #[test]
    fn an_answer_trickled_a_byte_per_get_response_is_given_up_on() {
        // 61 01 each time: a 15 KB file would take 15,000 exchanges
        let mut t = ScriptedTransport::new().expect(h("00B0000000"), h("6101"));
        for _ in 0..GET_RESPONSE_ROUNDS_JUDGED {
            t = t.expect(h("00C0000001"), h("AA6101"));
        }
        let mut ch = PlainChannel::new(&mut t);
        let e = ch.send(&Command::read_binary(0, 256)).unwrap_err();
        assert!(
            matches!(
                e,
                ApduError::TrickleGetResponse {
                    rounds: 16,
                    bytes: 16
                }
            ),
            "{e:?}"
        );
        assert_eq!(ch.exchanges(), 1 + GET_RESPONSE_ROUNDS_JUDGED);
        // eight bytes a round is slow but goes on to the end
        let mut t = ScriptedTransport::new().expect(h("00B0000000"), h("6108"));
        for i in 0..32 {
            let sw = if i == 31 { "9000" } else { "6108" };
            t = t.expect(h("00C0000008"), h(&format!("{}{sw}", "BB".repeat(8))));
        }
        let mut ch = PlainChannel::new(&mut t);
        assert_eq!(ch.send(&Command::read_binary(0, 256)).unwrap().data.len(), 256);
    }

    #[test]
    fn command_chaining_by_the_iso_rules() {
        // ISO/IEC 7816-4 §5.1.1: CLA b5 (10) on every command but the last, same INS P1
        // P2, data split in order, Le only on the last; each a short APDU
        let data: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let pso = Command::new(0x00, 0x2A, 0x00, 0xBE)
            .with_data(data.clone())
            .extended(true);
        let parts = pso.chain(255, 255).unwrap();
        let enc: Vec<Vec<u8>> = parts.iter().map(|c| c.encode().unwrap()).collect();
        assert_eq!(enc.len(), 2);
        assert_eq!(enc[0], [h("102A00BEFF"), data[..255].to_vec()].concat());
        assert_eq!(enc[1], [h("002A00BE2D"), data[255..].to_vec()].concat());
        // case 4: the intermediate commands are case 3 (no Le)
        let ga = Command::new(0x00, 0x86, 0x00, 0x00)
            .with_data(data.clone())
            .with_le(256);
        let enc: Vec<Vec<u8>> = ga
            .chain(100, 100)
            .unwrap()
            .iter()
            .map(|c| c.encode().unwrap())
            .collect();
        assert_eq!(enc.len(), 3);
        assert_eq!(
            enc[0],
            [h("10860000 64".replace(' ', "").as_str()), data[..100].to_vec()].concat()
        );
        assert_eq!(enc[1], [h("1086000064"), data[100..200].to_vec()].concat());
        assert_eq!(enc[2], [h("0086000064"), data[200..].to_vec(), h("00")].concat());
        // a smaller last piece (room for DO'97' under secure messaging): never empty
        let parts = ga.chain(200, 99).unwrap();
        let sizes: Vec<usize> = parts.iter().map(|c| c.data.len()).collect();
        assert_eq!(sizes, [200, 99, 1]);
        // fits: unchanged; chained again or asked for an extended Le: refused
        assert_eq!(pso.chain(300, 300).unwrap(), std::slice::from_ref(&pso));
        let mut again = pso.clone();
        again.cla |= CLA_CHAINING;
        assert!(again.chain(255, 255).is_err());
        assert!(ga.clone().with_le(257).chain(255, 255).is_err());
        assert!(pso.chain(0, 255).is_err());
    }

    #[test]
    fn malformed_decode() {
        assert!(Command::decode(&[0, 0xB0]).is_err());
        assert!(Command::decode(&h("00A4020C05011E")).is_err());
        assert!(Command::decode(&h("00A4020C02011E0000")).is_err());
    }

    proptest! {
        #[test]
        fn encode_decode_roundtrip(cla in any::<u8>(), ins in any::<u8>(), p1 in any::<u8>(), p2 in any::<u8>(),
                                   data in proptest::collection::vec(any::<u8>(), 0..400),
                                   le in proptest::option::of(1usize..=65536), ext in any::<bool>()) {
            let c = Command { cla, ins, p1, p2, data, le, extended: ext };
            let enc = c.encode().unwrap();
            let d = Command::decode(&enc).unwrap();
            prop_assert_eq!(&d.data, &c.data);
            prop_assert_eq!(d.le, c.le);
            prop_assert_eq!(d.header(), c.header());
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Command::decode(&bytes);
        }
    }
}

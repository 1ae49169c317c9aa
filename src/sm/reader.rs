//! Reader (terminal) side of secure messaging: protect commands, unprotect responses
//! (Doc 9303 Part 11 §9.8.4–§9.8.6), and [`SecureChannel`].

use super::codec::{self, TAG_CRYPTOGRAM, TAG_CRYPTOGRAM_BER, TAG_MAC, TAG_STATUS};
use super::{SessionKeys, SmError};
use crate::apdu::{
    ApduError, CLA_CHAINING, CardChannel, Command, MAX_EXTENDED, MAX_SHORT_LC, MAX_SHORT_LE, Response,
    StatusWord,
};
use crate::crypto::{Cipher, pad};
use crate::tlv;
use crate::transport::trace::TraceLog;

/// CLA bits b4 b3: secure messaging with an authenticated header (ISO/IEC 7816-4 §5.4.1).
pub(super) const CLA_SM: u8 = 0x0C;

/// DO'97' for `le`: one byte (256 as `00`) for a short command, two bytes (65536 as
/// `0000`) for an extended one.
fn le_object(le: usize, extended: bool) -> Vec<u8> {
    if extended {
        let v = if le == MAX_EXTENDED { 0 } else { le as u16 };
        tlv::encode(codec::TAG_LE, &v.to_be_bytes())
    } else {
        let v = if le == MAX_SHORT_LE { 0 } else { le as u8 };
        tlv::encode(codec::TAG_LE, &[v])
    }
}

/// Length of a BER-TLV data object with a value of `len` bytes.
fn tlv_len(len: usize) -> usize {
    let length_bytes = match len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        _ => 3,
    };
    1 + length_bytes + len
}

/// The most plain command data that still fits a short APDU (Lc ≤ 255) once protected
/// with `cipher`: DO'87' (DO'85' for an odd INS) of the padded cryptogram, DO'97' when
/// the command has a (short) Le, DO'8E' of 8 bytes.
pub fn max_short_data(cipher: Cipher, odd_ins: bool, le: bool) -> usize {
    let block = cipher.block_size();
    let fixed = if le { 3 } else { 0 } + tlv_len(8);
    (1..=MAX_SHORT_LC)
        .rev()
        .find(|n| {
            let cryptogram = (n / block + 1) * block + usize::from(!odd_ins);
            tlv_len(cryptogram) + fixed <= MAX_SHORT_LC
        })
        .unwrap_or(0)
}

/// Protect a plain command: increments the SSC, sets CLA bits `0C`, puts the data in
/// DO'87' (even INS) or DO'85' (odd INS), Le in DO'97', and the MAC over
/// `SSC || padded header || DOs` in DO'8E'. The protected command asks for Le `00`
/// (`0000` when extended).
pub fn protect_command(keys: &mut SessionKeys, cmd: &Command) -> Result<Command, SmError> {
    if let Some(what) = cmd.length_error() {
        return Err(SmError::Unprotectable { what });
    }
    let extended = cmd.needs_extended();
    keys.ssc_mut().increment();
    let cla = cmd.cla | CLA_SM;
    let header = [cla, cmd.ins, cmd.p1, cmd.p2];
    let mut dos = Vec::with_capacity(cmd.data.len() + 32);
    if !cmd.data.is_empty() {
        dos.extend_from_slice(&codec::cryptogram_do(keys, cmd.ins & 1 == 1, &cmd.data)?);
    }
    if let Some(le) = cmd.le {
        dos.extend_from_slice(&le_object(le, extended));
    }
    let mut mac_input = pad(&header, keys.cipher().block_size());
    mac_input.extend_from_slice(&dos);
    let cc = codec::mac(keys, &mac_input)?;
    tlv::encode_into(TAG_MAC, &cc, &mut dos);
    if dos.len() >= MAX_EXTENDED {
        return Err(SmError::Unprotectable {
            what: "protected data longer than 65535 bytes",
        });
    }
    let extended = extended || dos.len() > MAX_SHORT_LC;
    Ok(Command {
        cla,
        ins: cmd.ins,
        p1: cmd.p1,
        p2: cmd.p2,
        data: dos,
        le: Some(if extended { MAX_EXTENDED } else { MAX_SHORT_LE }),
        extended,
    })
}

/// Unprotect a response: increments the SSC, checks DO'8E' over `SSC || DOs` in
/// constant time before decrypting anything, requires DO'99' to match the outer status
/// word, and decrypts DO'87'/DO'85'. A response with no data and an error status is the
/// chip ending secure messaging ([`SmError::ChipAbortedSm`]).
pub fn unprotect_response(keys: &mut SessionKeys, resp: &Response) -> Result<Response, SmError> {
    keys.ssc_mut().increment();
    if resp.data.is_empty() {
        if resp.sw != StatusWord::OK {
            return Err(SmError::ChipAbortedSm { sw: resp.sw });
        }
        return Err(SmError::MissingDataObject { tag: TAG_MAC as u8 });
    }
    let objs = codec::parse(
        &resp.data,
        &[TAG_CRYPTOGRAM, TAG_CRYPTOGRAM_BER, TAG_STATUS, TAG_MAC],
    )?;
    let mac = objs
        .mac
        .ok_or(SmError::MissingDataObject { tag: TAG_MAC as u8 })?;
    let status = objs.status.ok_or(SmError::MissingDataObject {
        tag: TAG_STATUS as u8,
    })?;
    codec::check_mac(keys, &objs.covered, mac)?;
    let inner = match status {
        [sw1, sw2] => StatusWord::from_bytes(*sw1, *sw2),
        _ => {
            return Err(SmError::MalformedDataObject {
                tag: TAG_STATUS as u8,
                what: "status word is not 2 bytes",
            });
        }
    };
    if inner != resp.sw {
        return Err(SmError::StatusMismatch {
            outer: resp.sw,
            inner,
        });
    }
    let data = match objs.cryptogram {
        Some((tag, value)) => codec::open_cryptogram(keys, tag, value)?,
        None => Vec::new(),
    };
    Ok(Response { data, sw: inner })
}

/// A [`CardChannel`] that protects every command and unprotects every response with
/// secure messaging over an inner channel (normally a `PlainChannel`).
pub struct SecureChannel<C: CardChannel> {
    inner: C,
    keys: SessionKeys,
    trace: Option<TraceLog>,
    chaining: bool,
}

impl<C: CardChannel> SecureChannel<C> {
    /// Secure `inner` with `keys` (from BAC, PACE or Chip Authentication).
    pub fn new(inner: C, keys: SessionKeys) -> Self {
        SecureChannel {
            inner,
            keys,
            trace: None,
            chaining: false,
        }
    }

    /// For a chip that takes no extended length: a command whose data does not fit a
    /// short APDU once protected is sent as an ISO/IEC 7816-4 command chain (§5.1.1, CLA
    /// bit b5) of short commands, each protected on its own (its own SSC, MAC and
    /// DO'87'), as OpenSC does; the chip answers each but the last with 9000 under
    /// secure messaging. Off (the default), such a command goes out extended.
    pub fn set_command_chaining(&mut self, on: bool) {
        self.chaining = on;
    }

    /// Whether long commands are chained ([`SecureChannel::set_command_chaining`]).
    pub fn command_chaining(&self) -> bool {
        self.chaining
    }

    /// Protect, send and unprotect one command.
    fn send_one(&mut self, cmd: &Command) -> Result<Response, ApduError> {
        let protected = protect_command(&mut self.keys, cmd)?;
        let resp = self.inner.send(&protected)?;
        let plain = unprotect_response(&mut self.keys, &resp)?;
        if let Some(log) = &self.trace {
            let plain_cmd = cmd.encode().unwrap_or_else(|_| cmd.header().to_vec());
            log.annotate_plain(&plain_cmd, &plain.to_bytes());
        }
        Ok(plain)
    }

    /// Annotate each exchange in `log` with the plain command and response.
    pub fn with_trace(mut self, log: TraceLog) -> Self {
        self.trace = Some(log);
        self
    }

    /// The inner channel.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// The inner channel, mutably.
    pub fn inner_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// Drop the session keys and return the inner channel.
    pub fn into_inner(self) -> C {
        self.inner
    }

    /// The current keys and counter.
    pub fn keys(&self) -> &SessionKeys {
        &self.keys
    }

    /// Replace the keys and counter (after Chip Authentication).
    pub fn rekey(&mut self, keys: SessionKeys) {
        self.keys = keys;
    }
}

impl<C: CardChannel> CardChannel for SecureChannel<C> {
    fn send(&mut self, cmd: &Command) -> Result<Response, ApduError> {
        let short_le = cmd.le.is_none_or(|le| le <= MAX_SHORT_LE);
        if self.chaining && short_le && cmd.cla & CLA_CHAINING == 0 {
            let odd = cmd.ins & 1 == 1;
            let cipher = self.keys.cipher();
            let last = max_short_data(cipher, odd, cmd.le.is_some());
            if cmd.data.len() > last {
                let parts = cmd.chain(max_short_data(cipher, odd, false), last)?;
                let mut last_resp = None;
                for part in &parts {
                    let resp = self.send_one(part)?;
                    // a refusal in the middle ends the chain: the caller sees it
                    let refused = resp.sw != StatusWord::OK;
                    last_resp = Some(resp);
                    if refused {
                        break;
                    }
                }
                if let Some(resp) = last_resp {
                    return Ok(resp);
                }
            }
        }
        self.send_one(cmd)
    }

    fn exchanges(&self) -> usize {
        self.inner.exchanges()
    }
}

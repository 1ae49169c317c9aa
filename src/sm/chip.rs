//! Chip side of secure messaging, for the emulator: unwrap protected commands and wrap
//! responses (Doc 9303 Part 11 §9.8), with the encoding code the reader side uses.
//!
//! Accepts every form a correct terminal may send: DO'97' absent, one- or two-byte
//! DO'97', short or extended APDUs, DO'85' or DO'87' for any INS.

use super::codec::{self, TAG_CRYPTOGRAM, TAG_CRYPTOGRAM_BER, TAG_LE, TAG_MAC, TAG_STATUS};
use super::reader::CLA_SM;
use super::{SessionKeys, SmError};
use crate::apdu::{Command, MAX_EXTENDED, MAX_SHORT_LC, MAX_SHORT_LE, Response};
use crate::crypto::pad;
use crate::tlv;

/// The chip's end of a secure-messaging session.
#[derive(Debug, Clone)]
pub struct ChipSm {
    keys: SessionKeys,
    /// INS of the last command unwrapped: odd INS is answered in DO'85'.
    last_ins: u8,
}

impl ChipSm {
    /// Start a session with the keys agreed by BAC, PACE or Chip Authentication.
    pub fn new(keys: SessionKeys) -> Self {
        ChipSm { keys, last_ins: 0 }
    }

    /// The current keys and counter.
    pub fn keys(&self) -> &SessionKeys {
        &self.keys
    }

    /// Replace the keys and counter (after Chip Authentication).
    pub fn rekey(&mut self, keys: SessionKeys) {
        self.keys = keys;
    }

    /// Unwrap a protected command: increments the SSC, checks the MAC over
    /// `SSC || padded header || DOs` in constant time, then decrypts DO'87'/DO'85' and
    /// reads Le from DO'97'. Returns the plain command (CLA bits `0C` cleared).
    ///
    /// On error the chip should answer `6987` (objects missing) or `6988` (objects
    /// incorrect) in plain and end the session.
    pub fn unprotect_command(&mut self, cmd: &Command) -> Result<Command, SmError> {
        if cmd.cla & CLA_SM != CLA_SM {
            return Err(SmError::NotProtected { cla: cmd.cla });
        }
        self.keys.ssc_mut().increment();
        self.last_ins = cmd.ins;
        let objs = codec::parse(&cmd.data, &[TAG_CRYPTOGRAM, TAG_CRYPTOGRAM_BER, TAG_LE, TAG_MAC])?;
        let mac = objs
            .mac
            .ok_or(SmError::MissingDataObject { tag: TAG_MAC as u8 })?;
        let mut mac_input = pad(&cmd.header(), self.keys.cipher().block_size());
        mac_input.extend_from_slice(&objs.covered);
        codec::check_mac(&self.keys, &mac_input, mac)?;
        let le = match objs.le {
            None | Some([]) => None,
            Some([b]) => Some(if *b == 0 { MAX_SHORT_LE } else { usize::from(*b) }),
            Some([hi, lo]) => {
                let v = usize::from(u16::from_be_bytes([*hi, *lo]));
                Some(if v == 0 { MAX_EXTENDED } else { v })
            }
            Some(_) => {
                return Err(SmError::MalformedDataObject {
                    tag: TAG_LE as u8,
                    what: "Le longer than 2 bytes",
                });
            }
        };
        let data = match objs.cryptogram {
            Some((tag, value)) => codec::open_cryptogram(&self.keys, tag, value)?,
            None => Vec::new(),
        };
        let extended = objs.le.is_some_and(|v| v.len() == 2)
            || data.len() > MAX_SHORT_LC
            || le.is_some_and(|le| le > MAX_SHORT_LE);
        Ok(Command {
            cla: cmd.cla & !CLA_SM,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le,
            extended,
        })
    }

    /// Wrap a plain response to the last unwrapped command: increments the SSC, puts the
    /// data in DO'87' (DO'85' after an odd INS), the status word in DO'99' and the MAC
    /// over `SSC || DOs` in DO'8E'. The outer status word is the plain one.
    pub fn protect_response(&mut self, resp: &Response) -> Result<Response, SmError> {
        self.keys.ssc_mut().increment();
        let mut dos = Vec::with_capacity(resp.data.len() + 32);
        if !resp.data.is_empty() {
            dos.extend_from_slice(&codec::cryptogram_do(
                &self.keys,
                self.last_ins & 1 == 1,
                &resp.data,
            )?);
        }
        tlv::encode_into(TAG_STATUS, &resp.sw.to_bytes(), &mut dos);
        let cc = codec::mac(&self.keys, &dos)?;
        tlv::encode_into(TAG_MAC, &cc, &mut dos);
        Ok(Response {
            data: dos,
            sw: resp.sw,
        })
    }
}

//! Shared helpers of the PACE integration tests: vector loading and a tiny Transport
//! adapter that puts a `ChipPace` behind the reader.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)]

use emrtd::access::pace::ChipPace;
use emrtd::apdu::Command;
use emrtd::rng::RandomSource;
use emrtd::sm::SessionKeys;
use emrtd::transport::{Transport, TransportError};
use serde_json::Value;

pub const TV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-vectors");

pub fn json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{TV}/{rel}")).unwrap()).unwrap()
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{TV}/{rel}")).unwrap()
}

pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

pub fn hx(v: &Value, key: &str) -> Vec<u8> {
    h(v[key].as_str().unwrap_or_else(|| panic!("missing {key}")))
}

pub fn up(b: &[u8]) -> String {
    hex::encode_upper(b)
}

/// Strip leading zero bytes down to `len` (OpenPACE stores some values with a 00 prefix).
pub fn strip(mut v: Vec<u8>, len: usize) -> Vec<u8> {
    while v.len() > len && v.first() == Some(&0) {
        v.remove(0);
    }
    v
}

/// `x mod m` as big-endian bytes padded to `len` (a DH exponent of the examples reduced
/// modulo q: the generators have order q, so the public keys do not change).
pub fn mod_reduce(x: &[u8], m: &openssl::bn::BigNumRef, len: i32) -> Vec<u8> {
    let x = openssl::bn::BigNum::from_slice(x).unwrap();
    let mut ctx = openssl::bn::BigNumContext::new().unwrap();
    let mut r = openssl::bn::BigNum::new().unwrap();
    r.nnmod(&x, m, &mut ctx).unwrap();
    r.to_vec_padded(len).unwrap()
}

/// A chip behind the Transport trait: decodes each command, lets `ChipPace` answer, keeps
/// the session keys, and can tamper with the final GENERAL AUTHENTICATE response.
pub struct ChipCard {
    pub chip: ChipPace,
    pub rng: Box<dyn RandomSource>,
    pub established: Option<SessionKeys>,
    pub tamper_last: Option<fn(&mut [u8])>,
    pub responses: Vec<Vec<u8>>,
}

impl ChipCard {
    pub fn new(chip: ChipPace, rng: Box<dyn RandomSource>) -> Self {
        ChipCard {
            chip,
            rng,
            established: None,
            tamper_last: None,
            responses: Vec::new(),
        }
    }
}

impl Transport for ChipCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let cmd = Command::decode(command).map_err(|e| TransportError::Transmit {
            reason: e.to_string(),
        })?;
        let reply = self.chip.process(&cmd, &mut *self.rng);
        let mut bytes = reply.response.to_bytes();
        if reply.established.is_some()
            && let Some(f) = self.tamper_last
        {
            f(&mut bytes);
        }
        self.established = reply.established.or(self.established.take());
        self.responses.push(bytes.clone());
        Ok(bytes)
    }
}

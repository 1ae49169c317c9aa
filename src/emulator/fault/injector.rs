//! The injector: applies a fault plan around the chip's command processor (before the
//! chip sees a command, on its plain response, after secure messaging protects it).

use crate::apdu::{Command, Response, StatusWord};
use crate::lds::LdsFile;
use crate::sm::ChipSm;
use crate::transport::TransportError;

use super::{ApduFault, CommandFilter, Fault, When};

/// How a command names the file it reads, as far as its header shows (a protected
/// command's data is encrypted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// By short file identifier.
    Sfi(u8),
    /// By file identifier (READ BINARY B1 with P1-P2).
    Fid(u16),
    /// The current EF.
    Current,
}

/// The file a READ BINARY addresses (`None` for other commands).
pub fn address(command: &[u8]) -> Option<Address> {
    let [_, ins, p1, p2, ..] = command else {
        return None;
    };
    match *ins {
        0xB0 if p1 & 0x80 != 0 => Some(Address::Sfi(p1 & 0x1F)),
        0xB0 => Some(Address::Current),
        0xB1 if *p1 == 0 && *p2 == 0 => Some(Address::Current),
        0xB1 if p1 & 0xE0 == 0x80 => Some(Address::Sfi(p1 & 0x1F)),
        0xB1 => Some(Address::Fid(u16::from_be_bytes([*p1, *p2]))),
        _ => None,
    }
}

/// What the link does with a command before the chip sees it.
#[derive(Debug)]
pub enum Before {
    /// The chip processes it.
    Process,
    /// The card leaves the field now.
    Removed,
    /// The link fails (the chip keeps its state).
    Lost(TransportError),
    /// Answered from the GET RESPONSE buffer without the chip.
    Answer(Vec<u8>),
}

/// The wire response after the faults.
#[derive(Debug)]
pub struct After {
    /// Bytes the reader receives.
    pub bytes: Vec<u8>,
    /// The chip ends its secure-messaging session.
    pub end_session: bool,
    /// The answer is lost on the way back.
    pub lost: Option<TransportError>,
}

/// A fault with its counters.
#[derive(Debug, Clone)]
pub(super) struct Armed {
    pub(super) what: ApduFault,
    pub(super) when: When,
    pub(super) seen: usize,
    pub(super) hits: usize,
}

impl Armed {
    /// Whether the APDU hits this fault (counters advance).
    pub(super) fn hit(&mut self, index: usize, ins: u8, target: Option<LdsFile>) -> bool {
        let w = &self.when;
        if index < w.start || w.end.is_some_and(|e| index >= e) {
            return false;
        }
        if let Some(c) = w.command
            && !c.matches(ins)
        {
            return false;
        }
        if let Some(f) = w.file
            && (!CommandFilter::ReadBinary.matches(ins) || target != Some(f))
        {
            return false;
        }
        let k = self.seen;
        self.seen += 1;
        if k < w.nth || !(k - w.nth).is_multiple_of(w.every.max(1)) {
            return false;
        }
        if w.times.is_some_and(|t| self.hits >= t) {
            return false;
        }
        self.hits += 1;
        true
    }
}

/// Response bytes waiting for GET RESPONSE.
#[derive(Debug, Clone)]
struct Pending {
    rest: Vec<u8>,
    sw: [u8; 2],
    chunk: usize,
    endless: bool,
}

/// Applies a profile's APDU faults around the chip.
#[derive(Debug, Clone, Default)]
pub struct Injector {
    armed: Vec<Armed>,
    firing: Vec<ApduFault>,
    index: usize,
    pending: Option<Pending>,
    delay_ms: u64,
    wants_target: bool,
    /// The reader gives up on an answer at this instant ([`crate::transport::Transport::set_deadline`]).
    deadline: Option<std::time::Instant>,
}

impl Injector {
    /// A `slow` answer still unsent at `deadline` is given up with
    /// [`TransportError::Timeout`] then, as a reader that stops waiting would.
    pub fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
        self.deadline = deadline;
    }

    /// An injector for `faults` (content faults are applied by [`super::personalise`]).
    pub fn new(faults: &[Fault]) -> Self {
        let armed: Vec<Armed> = faults
            .iter()
            .filter_map(|f| match f {
                Fault::CardRemoved { at } => Some((ApduFault::CardRemoved, When::at(*at))),
                Fault::Apdu { what, when } => Some((what.clone(), when.clone())),
                Fault::Content { .. } => None,
            })
            .map(|(what, when)| Armed {
                what,
                when,
                seen: 0,
                hits: 0,
            })
            .collect();
        let wants_target = armed.iter().any(|a| a.when.file.is_some());
        Injector {
            armed,
            wants_target,
            ..Injector::default()
        }
    }

    /// Whether some trigger filters by file (the chip then resolves [`address`]).
    pub fn wants_target(&self) -> bool {
        self.wants_target
    }

    /// The chip was reset: the GET RESPONSE buffer is gone.
    pub fn reset(&mut self) {
        self.pending = None;
        self.firing.clear();
    }

    /// Delay added to the current exchange by `slow`, ms.
    pub fn delay_ms(&self) -> u64 {
        self.delay_ms
    }

    /// APDU number `index` arrives; `target` is the file a READ BINARY addresses.
    /// Decides which faults hit it, sleeps for `slow`, and handles the link-level ones.
    pub fn before(&mut self, index: usize, command: &[u8], target: Option<LdsFile>) -> Before {
        self.index = index;
        self.delay_ms = 0;
        self.firing.clear();
        let ins = command.get(1).copied().unwrap_or(0);
        for a in &mut self.armed {
            if a.hit(index, ins, target) {
                self.firing.push(a.what.clone());
            }
        }
        for f in &self.firing {
            if let ApduFault::Slow { ms } = f {
                self.delay_ms = self.delay_ms.saturating_add(*ms);
            }
        }
        if self.delay_ms > 0 {
            let delay = std::time::Duration::from_millis(self.delay_ms);
            let now = std::time::Instant::now();
            match self.deadline {
                Some(deadline) if now.checked_add(delay).is_none_or(|end| end > deadline) => {
                    let wait = deadline.saturating_duration_since(now);
                    std::thread::sleep(wait);
                    return Before::Lost(TransportError::Timeout {
                        ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    });
                }
                _ => std::thread::sleep(delay),
            }
        }
        for f in &self.firing {
            match f {
                ApduFault::CardRemoved => {
                    self.pending = None;
                    return Before::Removed;
                }
                ApduFault::TransientError { processed: false } => {
                    return Before::Lost(TransportError::Transmit {
                        reason: "injected transient link error".into(),
                    });
                }
                _ => {}
            }
        }
        // GET RESPONSE must follow the 61xx at once; anything else drops the rest
        let pending = self.pending.take();
        if let (Some(mut p), [cla, 0xC0, _, _, rest @ ..]) = (pending, command)
            && cla & 0x0C == 0
        {
            let le = match rest {
                [le] => Some(if *le == 0 { 256 } else { usize::from(*le) }),
                _ => None,
            };
            let Some(le) = le else {
                return Before::Answer(StatusWord::WRONG_LENGTH.to_bytes().to_vec());
            };
            let n = le.min(p.chunk);
            if p.endless {
                let mut out = vec![0u8; n];
                out.extend_from_slice(&[0x61, 0x00]);
                self.pending = Some(p);
                return Before::Answer(out);
            }
            let take = n.min(p.rest.len());
            let mut out: Vec<u8> = p.rest.drain(..take).collect();
            if p.rest.is_empty() {
                out.extend_from_slice(&p.sw);
            } else {
                out.extend_from_slice(&[0x61, available(p.rest.len(), p.chunk)]);
                self.pending = Some(p);
            }
            return Before::Answer(out);
        }
        Before::Process
    }

    /// The chip's plain response to `cmd`, before secure messaging protects it.
    pub fn plain_response(&mut self, cmd: &Command, resp: &mut Response) {
        for f in &self.firing {
            match f {
                ApduFault::Status { sw } => resp.sw = *sw,
                ApduFault::Refuse { sw } => {
                    resp.sw = *sw;
                    resp.data.clear();
                }
                ApduFault::Overlong { extra } if cmd.le.is_some() => {
                    resp.data.extend(std::iter::repeat_n(0xEE, *extra));
                }
                ApduFault::UnexpectedData { data } if cmd.le.is_none() => {
                    resp.data.extend_from_slice(data);
                }
                _ => {}
            }
        }
    }

    /// The chip is about to protect its response with `sm`.
    pub fn before_protect(&mut self, sm: &mut ChipSm) {
        if self.firing.contains(&ApduFault::WrongSsc) {
            let mut keys = sm.keys().clone();
            keys.ssc_mut().increment();
            sm.rekey(keys);
        }
    }

    /// The chip's response bytes on their way back.
    pub fn after(&mut self, mut bytes: Vec<u8>) -> After {
        let mut end_session = false;
        let mut lost = None;
        let firing = std::mem::take(&mut self.firing);
        for f in &firing {
            match f {
                ApduFault::TransientError { processed: true } => {
                    lost = Some(TransportError::Transmit {
                        reason: "injected transient link error (the chip ran the command)".into(),
                    });
                }
                ApduFault::WrongMac => flip_mac(&mut bytes),
                ApduFault::PlainError { sw } => {
                    bytes = sw.to_bytes().to_vec();
                    end_session = true;
                }
                ApduFault::Garbage { len, seed } => {
                    bytes = garbage(*len, *seed, self.index);
                }
                ApduFault::Trailing { data } => bytes.extend_from_slice(data),
                ApduFault::GetResponse { first, chunk } => {
                    if let Some((data, sw)) = split_sw(&bytes)
                        && !data.is_empty()
                    {
                        let chunk = (*chunk).clamp(1, 256);
                        let head = (*first).min(data.len());
                        let (now, rest) = data.split_at(head);
                        let mut out = now.to_vec();
                        if rest.is_empty() {
                            out.extend_from_slice(&sw);
                        } else {
                            out.extend_from_slice(&[0x61, available(rest.len(), chunk)]);
                            self.pending = Some(Pending {
                                rest: rest.to_vec(),
                                sw,
                                chunk,
                                endless: false,
                            });
                        }
                        bytes = out;
                    }
                }
                ApduFault::EndlessGetResponse => {
                    bytes = vec![0x61, 0x00];
                    self.pending = Some(Pending {
                        rest: Vec::new(),
                        sw: [0x90, 0x00],
                        chunk: 256,
                        endless: true,
                    });
                }
                _ => {}
            }
        }
        self.firing = firing;
        After {
            bytes,
            end_session,
            lost,
        }
    }
}

/// SW2 of a 61xx announcing `rest` bytes served `chunk` at a time (00: 256).
fn available(rest: usize, chunk: usize) -> u8 {
    let n = rest.min(chunk);
    if n >= 256 { 0 } else { n as u8 }
}

fn split_sw(bytes: &[u8]) -> Option<(&[u8], [u8; 2])> {
    let (data, sw) = bytes.split_last_chunk::<2>()?;
    Some((data, *sw))
}

/// Flip the last byte of DO'8E in a protected response (data || SW).
pub(super) fn flip_mac(bytes: &mut [u8]) {
    let Some((data, _)) = split_sw(bytes) else {
        return;
    };
    let mut reader = crate::tlv::Reader::new(data);
    let mut pos = 0usize;
    while let Ok(el) = reader.read() {
        let end = pos + el.raw.len();
        if el.tag == 0x8E && !el.value.is_empty() {
            if let Some(b) = end.checked_sub(1).and_then(|i| bytes.get_mut(i)) {
                *b ^= 0x01;
            }
            return;
        }
        pos = end;
        if reader.is_empty() {
            return;
        }
    }
}

/// Deterministic pseudo-random bytes (SplitMix64 over the seed and the APDU index).
pub(super) fn garbage(len: usize, seed: u64, index: usize) -> Vec<u8> {
    let mut state = seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend(z.to_be_bytes().iter().take(len - out.len()));
    }
    out
}

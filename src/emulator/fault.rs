//! Fault plans for the software chip: broken and hostile chips, written as `[[faults]]`
//! entries of a booklet profile or built in Rust, and the injector that applies them
//! around the chip's command processor.
//!
//! Each entry has a `kind` (what goes wrong) and, for faults on the APDU exchange, a
//! trigger (which APDUs it hits):
//!
//! ```toml
//! [[faults]]                       # the card leaves the field when APDU 12 arrives
//! kind = "card_removed"
//! at = 12
//!
//! [[faults]]                       # a wrong MAC on the answer to the 4th READ BINARY of DG2
//! kind = "wrong_mac"
//! command = "read_binary"
//! file = "DG2"
//! nth = 3
//!
//! [[faults]]                       # every answer from APDU 40 on is 20 ms late
//! kind = "slow"
//! ms = 20
//! from = 40
//!
//! [[faults]]                       # EF.SOD personalised with a BER indefinite-length outer TLV
//! kind = "indefinite_length"
//! file = "EF.SOD"
//! ```
//!
//! Triggers (all indices 0-based, counted over the emulator's whole life, GET RESPONSE
//! and APDUs answered during a fault included):
//! * `at = N`: starting at APDU N, once (unless `times` says more);
//! * `from = N` (and `to = M`, exclusive): every APDU from N (up to M);
//! * `command = "read_binary" | "select" | "get_challenge" | "mutual_authenticate" |
//!   "external_authenticate" (the same INS 82, also Terminal Authentication's) |
//!   "mse_set_at" (every MSE) | "pso_verify_certificate" | "general_authenticate" |
//!   "get_response"`, or `ins = 0xB0`: only
//!   those commands; `file = "DG2"`: only READ BINARY of that file (by SFI, by file
//!   identifier in P1-P2 of B1, or as the current EF — a protected SELECT's file
//!   identifier is encrypted, so SELECTs never match a `file`);
//! * `nth = K`: skip the first K matching APDUs; `every = P`: then hit every P-th one;
//! * `times = T`: at most T hits (default 1 with `at` or without `from`/`to`,
//!   unlimited with `from`/`to`).
//!
//! Where a fault acts:
//! * on the link, before the chip sees the command: `card_removed`, `transient_error`
//!   (`processed = true`: the chip ran the command and the answer was lost), `slow`;
//! * inside the chip, on the plain response before secure messaging protects it:
//!   `status` (another status word, authenticated), `refuse` (a status word alone,
//!   without the data, authenticated), `overlong` (more data than Le),
//!   `unexpected_data` (data where none belongs), `wrong_ssc` (the response is
//!   protected under SSC+1, and the chip's counter stays skewed);
//! * on the wire, after protection: `wrong_mac` (a flipped byte in DO'8E),
//!   `plain_error` (a bare status word instead of the protected response; the chip
//!   ends secure messaging), `garbage` (pseudo-random bytes, or 0 or 1 byte),
//!   `trailing` (bytes after SW1 SW2), `get_response` (the response bytes — the whole
//!   protected response under secure messaging — served in pieces through 61xx and
//!   GET RESPONSE), `endless_get_response` (61xx for ever);
//! * on the chip's files, when it is personalised: `claimed_length` (the outer TLV
//!   claims `length` bytes, e.g. 0x7FFFFFFF or 4 GB), `indefinite_length` (the outer
//!   TLV re-encoded in the BER indefinite form, `77 80 … 00 00`).

use serde::Deserialize;
use thiserror::Error;

use crate::apdu::StatusWord;
use crate::lds::LdsFile;

mod content;
mod injector;
mod parse;
#[cfg(test)]
mod tests;

pub use content::{personalise, validate};
pub use injector::{Address, After, Before, Injector, address};
use parse::FaultToml;

/// A fault the chip injects.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "FaultToml")]
pub enum Fault {
    /// The card leaves the field when APDU number `at` (0-based, counted over the whole
    /// life of the emulator) arrives; it is back on the next reconnect. (The short form
    /// of `Apdu { what: ApduFault::CardRemoved, when: When::at(at) }`.)
    CardRemoved {
        /// APDU index.
        at: usize,
    },
    /// A fault on the APDUs `when` selects.
    Apdu {
        /// What goes wrong.
        what: ApduFault,
        /// Which APDUs it hits.
        when: When,
    },
    /// A file personalised with hostile content.
    Content {
        /// The file.
        file: LdsFile,
        /// How its content is altered.
        what: ContentFault,
    },
}

impl Fault {
    /// `what` on the APDUs `when` selects.
    pub fn on(what: ApduFault, when: When) -> Fault {
        Fault::Apdu { what, when }
    }

    /// `file` personalised with `what`.
    pub fn content(file: LdsFile, what: ContentFault) -> Fault {
        Fault::Content { file, what }
    }
}

/// What goes wrong in one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApduFault {
    /// The card leaves the field; the command is lost and the chip resets.
    CardRemoved,
    /// The link fails without the card leaving (`TransportError::Transmit`); the chip
    /// keeps its state. With `processed`, the chip ran the command and the answer was
    /// lost on the way back.
    TransientError {
        /// Whether the chip ran the command.
        processed: bool,
    },
    /// The chip answers `ms` milliseconds late.
    Slow {
        /// Delay.
        ms: u64,
    },
    /// One byte of DO'8E in the protected response is flipped (no effect on a response
    /// without DO'8E).
    WrongMac,
    /// The chip protects the response under SSC+1 and its counter stays one ahead (no
    /// effect without secure messaging).
    WrongSsc,
    /// A bare status word instead of the protected response; the chip ends secure
    /// messaging.
    PlainError {
        /// The status word.
        sw: StatusWord,
    },
    /// The chip answers `sw` (keeping its data) — authenticated when under secure
    /// messaging.
    Status {
        /// The status word.
        sw: StatusWord,
    },
    /// The chip refuses: it answers `sw` alone, without data — authenticated when under
    /// secure messaging. (A hiding chip: 6982 to a file it does not want read, 6282 with
    /// nothing at all, 6D00 …)
    Refuse {
        /// The status word.
        sw: StatusWord,
    },
    /// The chip returns `extra` bytes (`EE`) more than Le asked for (no effect on a
    /// command without Le).
    Overlong {
        /// Excess bytes.
        extra: usize,
    },
    /// The chip returns `data` to a command that expects none (a command without Le,
    /// such as SELECT with P2 `0C` or MSE:Set AT).
    UnexpectedData {
        /// The data.
        data: Vec<u8>,
    },
    /// `data` is appended after SW1 SW2 (so the last two bytes the reader sees are not
    /// the status word the chip meant).
    Trailing {
        /// The extra bytes.
        data: Vec<u8>,
    },
    /// The answer is replaced by `len` pseudo-random bytes (0: nothing at all, 1: a lone
    /// byte), drawn from `seed` and the APDU index.
    Garbage {
        /// Length of the answer.
        len: usize,
        /// Seed of the generator.
        seed: u64,
    },
    /// The answer (all of its bytes; under secure messaging the whole protected response)
    /// is served through 61xx and GET RESPONSE: `first` data bytes with the first 61xx,
    /// then at most `chunk` bytes per GET RESPONSE. A response without data passes.
    GetResponse {
        /// Data bytes in the first answer.
        first: usize,
        /// Most bytes per GET RESPONSE (1..=256).
        chunk: usize,
    },
    /// 61xx for ever: every GET RESPONSE returns filler bytes and 61xx again.
    EndlessGetResponse,
}

/// How a file's content is altered when the chip is personalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentFault {
    /// The outer TLV's length field claims `length` bytes; tag and value are unchanged.
    ClaimedLength {
        /// Claimed value length (may exceed anything addressable: 4 GB and more).
        length: u64,
    },
    /// The outer TLV is re-encoded with the BER indefinite length (`80`), closed by `00 00`.
    IndefiniteLength,
}

/// A command class a trigger can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandFilter {
    /// SELECT (A4).
    Select,
    /// READ BINARY (B0 or B1).
    ReadBinary,
    /// GET CHALLENGE (84).
    GetChallenge,
    /// MUTUAL / EXTERNAL AUTHENTICATE (82).
    MutualAuthenticate,
    /// MSE:Set AT (22).
    MseSetAt,
    /// GENERAL AUTHENTICATE (86).
    GeneralAuthenticate,
    /// GET RESPONSE (C0).
    GetResponse,
    /// Any command with this INS.
    Ins(u8),
}

impl CommandFilter {
    /// Whether the filter takes commands with this instruction byte.
    pub fn matches_ins(self, ins: u8) -> bool {
        self.matches(ins)
    }

    fn matches(self, ins: u8) -> bool {
        match self {
            CommandFilter::Select => ins == 0xA4,
            CommandFilter::ReadBinary => ins == 0xB0 || ins == 0xB1,
            CommandFilter::GetChallenge => ins == 0x84,
            CommandFilter::MutualAuthenticate => ins == 0x82,
            CommandFilter::MseSetAt => ins == 0x22,
            CommandFilter::GeneralAuthenticate => ins == 0x86,
            CommandFilter::GetResponse => ins == 0xC0,
            CommandFilter::Ins(i) => ins == i,
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "select" => CommandFilter::Select,
            "read_binary" => CommandFilter::ReadBinary,
            "get_challenge" => CommandFilter::GetChallenge,
            "mutual_authenticate" | "external_authenticate" => CommandFilter::MutualAuthenticate,
            "mse_set_at" => CommandFilter::MseSetAt,
            "pso_verify_certificate" => CommandFilter::Ins(0x2A),
            "general_authenticate" => CommandFilter::GeneralAuthenticate,
            "get_response" => CommandFilter::GetResponse,
            _ => return None,
        })
    }
}

/// Which APDUs a fault hits (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    /// First APDU index considered.
    pub start: usize,
    /// First APDU index no longer considered.
    pub end: Option<usize>,
    /// Only these commands.
    pub command: Option<CommandFilter>,
    /// Only READ BINARY of this file.
    pub file: Option<LdsFile>,
    /// Matching APDUs skipped before the first hit.
    pub nth: usize,
    /// Period between hits, in matching APDUs (1: every one).
    pub every: usize,
    /// Most hits; `None` for no limit.
    pub times: Option<usize>,
}

impl When {
    /// APDU `index`, once.
    pub fn at(index: usize) -> Self {
        When {
            start: index,
            end: None,
            command: None,
            file: None,
            nth: 0,
            every: 1,
            times: Some(1),
        }
    }

    /// Every APDU from `index` on.
    pub fn from(index: usize) -> Self {
        When {
            times: None,
            ..When::at(index)
        }
    }

    /// The `nth` (0-based) command of class `command`, once.
    pub fn nth(command: CommandFilter, nth: usize) -> Self {
        When {
            command: Some(command),
            nth,
            ..When::at(0)
        }
    }

    /// The `nth` (0-based) READ BINARY of `file`, once.
    pub fn nth_read_of(file: LdsFile, nth: usize) -> Self {
        When {
            file: Some(file),
            ..When::nth(CommandFilter::ReadBinary, nth)
        }
    }

    /// Only up to (excluding) APDU `end`.
    pub fn to(mut self, end: usize) -> Self {
        self.end = Some(end);
        self
    }

    /// Hit at most `times` times (`usize::MAX`: no limit).
    pub fn times(mut self, times: usize) -> Self {
        self.times = (times != usize::MAX).then_some(times);
        self
    }

    /// Hit every `period`-th matching APDU.
    pub fn every(mut self, period: usize) -> Self {
        self.every = period.max(1);
        self
    }

    /// Only commands of class `command`.
    pub fn command(mut self, command: CommandFilter) -> Self {
        self.command = Some(command);
        self
    }

    /// Only READ BINARY of `file`.
    pub fn file(mut self, file: LdsFile) -> Self {
        self.file = Some(file);
        self
    }
}

/// A fault entry that does not make sense.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FaultError {
    /// A parameter the kind does not take.
    #[error("fault kind {kind}: `{param}` has no meaning here")]
    Unexpected {
        /// The kind.
        kind: &'static str,
        /// The parameter.
        param: &'static str,
    },
    /// A parameter the kind needs.
    #[error("fault kind {kind}: `{param}` is required")]
    Missing {
        /// The kind.
        kind: &'static str,
        /// The parameter.
        param: &'static str,
    },
    /// A parameter with an unusable value.
    #[error("fault kind {kind}: `{param}` {what}")]
    Invalid {
        /// The kind.
        kind: &'static str,
        /// The parameter.
        param: &'static str,
        /// What is wrong.
        what: String,
    },
    /// A content fault for a file the profile does not have, or whose content is not a TLV.
    #[error("fault kind {kind}: {file} {what}")]
    File {
        /// The kind.
        kind: &'static str,
        /// The file.
        file: String,
        /// What is wrong.
        what: &'static str,
    },
}

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

use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;

use crate::apdu::{Command, Response, StatusWord};
use crate::lds::LdsFile;
use crate::sm::ChipSm;
use crate::transport::TransportError;

use super::profile::Profile;

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

/// The kinds a `[[faults]]` entry may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    CardRemoved,
    TransientError,
    Slow,
    WrongMac,
    WrongSsc,
    PlainError,
    Status,
    Refuse,
    Overlong,
    UnexpectedData,
    Trailing,
    Garbage,
    GetResponse,
    EndlessGetResponse,
    ClaimedLength,
    IndefiniteLength,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::CardRemoved => "card_removed",
            Kind::TransientError => "transient_error",
            Kind::Slow => "slow",
            Kind::WrongMac => "wrong_mac",
            Kind::WrongSsc => "wrong_ssc",
            Kind::PlainError => "plain_error",
            Kind::Status => "status",
            Kind::Refuse => "refuse",
            Kind::Overlong => "overlong",
            Kind::UnexpectedData => "unexpected_data",
            Kind::Trailing => "trailing",
            Kind::Garbage => "garbage",
            Kind::GetResponse => "get_response",
            Kind::EndlessGetResponse => "endless_get_response",
            Kind::ClaimedLength => "claimed_length",
            Kind::IndefiniteLength => "indefinite_length",
        }
    }

    /// Parameters (beyond the trigger) the kind takes.
    fn params(self) -> &'static [&'static str] {
        match self {
            Kind::CardRemoved | Kind::WrongMac | Kind::WrongSsc | Kind::EndlessGetResponse => &[],
            Kind::TransientError => &["processed"],
            Kind::Slow => &["ms"],
            Kind::PlainError | Kind::Status | Kind::Refuse => &["sw"],
            Kind::Overlong => &["extra"],
            Kind::UnexpectedData | Kind::Trailing => &["data"],
            Kind::Garbage => &["len", "seed"],
            Kind::GetResponse => &["first", "chunk"],
            Kind::ClaimedLength => &["file", "length"],
            Kind::IndefiniteLength => &["file"],
        }
    }

    fn is_content(self) -> bool {
        matches!(self, Kind::ClaimedLength | Kind::IndefiniteLength)
    }
}

/// A `[[faults]]` entry as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultToml {
    kind: Kind,
    at: Option<usize>,
    from: Option<usize>,
    to: Option<usize>,
    nth: Option<usize>,
    every: Option<usize>,
    times: Option<usize>,
    command: Option<String>,
    ins: Option<u8>,
    file: Option<String>,
    processed: Option<bool>,
    ms: Option<u64>,
    sw: Option<String>,
    extra: Option<usize>,
    data: Option<String>,
    len: Option<usize>,
    seed: Option<u64>,
    first: Option<usize>,
    chunk: Option<usize>,
    length: Option<u64>,
}

impl FaultToml {
    /// Names of the parameters present (trigger fields excluded, except `file`).
    fn present_params(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |present: bool, name: &'static str| {
            if present {
                v.push(name);
            }
        };
        add(self.file.is_some(), "file");
        add(self.processed.is_some(), "processed");
        add(self.ms.is_some(), "ms");
        add(self.sw.is_some(), "sw");
        add(self.extra.is_some(), "extra");
        add(self.data.is_some(), "data");
        add(self.len.is_some(), "len");
        add(self.seed.is_some(), "seed");
        add(self.first.is_some(), "first");
        add(self.chunk.is_some(), "chunk");
        add(self.length.is_some(), "length");
        v
    }

    fn trigger_fields(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        for (present, name) in [
            (self.at.is_some(), "at"),
            (self.from.is_some(), "from"),
            (self.to.is_some(), "to"),
            (self.nth.is_some(), "nth"),
            (self.every.is_some(), "every"),
            (self.times.is_some(), "times"),
            (self.command.is_some(), "command"),
            (self.ins.is_some(), "ins"),
        ] {
            if present {
                v.push(name);
            }
        }
        v
    }
}

fn parse_sw(kind: &'static str, text: &str) -> Result<StatusWord, FaultError> {
    let bad = |what: &str| FaultError::Invalid {
        kind,
        param: "sw",
        what: what.to_string(),
    };
    let bytes = hex::decode(text.trim()).map_err(|e| bad(&format!("is not hex: {e}")))?;
    match bytes.as_slice() {
        [sw1, sw2] => Ok(StatusWord::from_bytes(*sw1, *sw2)),
        _ => Err(bad("must be two bytes, e.g. \"6988\"")),
    }
}

fn parse_hex(kind: &'static str, param: &'static str, text: &str) -> Result<Vec<u8>, FaultError> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(clean).map_err(|e| FaultError::Invalid {
        kind,
        param,
        what: format!("is not hex: {e}"),
    })
}

fn parse_file(kind: &'static str, name: &str) -> Result<LdsFile, FaultError> {
    LdsFile::parse(name).ok_or_else(|| FaultError::Invalid {
        kind,
        param: "file",
        what: format!("{name:?} names no LDS file"),
    })
}

impl TryFrom<FaultToml> for Fault {
    type Error = FaultError;

    fn try_from(t: FaultToml) -> Result<Self, FaultError> {
        let kind = t.kind.name();
        let allowed = t.kind.params();
        for p in t.present_params() {
            // `file` is also a trigger filter for the APDU faults
            let filter = p == "file" && !t.kind.is_content();
            if !allowed.contains(&p) && !filter {
                return Err(FaultError::Unexpected { kind, param: p });
            }
        }
        if t.kind.is_content() {
            if let Some(p) = t.trigger_fields().first() {
                return Err(FaultError::Unexpected { kind, param: p });
            }
            let file = parse_file(
                kind,
                t.file
                    .as_deref()
                    .ok_or(FaultError::Missing { kind, param: "file" })?,
            )?;
            let what = match t.kind {
                Kind::ClaimedLength => ContentFault::ClaimedLength {
                    length: t.length.ok_or(FaultError::Missing {
                        kind,
                        param: "length",
                    })?,
                },
                _ => ContentFault::IndefiniteLength,
            };
            return Ok(Fault::Content { file, what });
        }
        // the short form the first emulator knew
        if t.kind == Kind::CardRemoved
            && let Some(at) = t.at
            && t.trigger_fields() == ["at"]
            && t.file.is_none()
        {
            return Ok(Fault::CardRemoved { at });
        }
        let when = when_of(&t, kind)?;
        let what = match t.kind {
            Kind::CardRemoved => ApduFault::CardRemoved,
            Kind::TransientError => ApduFault::TransientError {
                processed: t.processed.unwrap_or(false),
            },
            Kind::Slow => ApduFault::Slow {
                ms: t.ms.ok_or(FaultError::Missing { kind, param: "ms" })?,
            },
            Kind::WrongMac => ApduFault::WrongMac,
            Kind::WrongSsc => ApduFault::WrongSsc,
            Kind::PlainError => ApduFault::PlainError {
                sw: match &t.sw {
                    Some(s) => parse_sw(kind, s)?,
                    None => StatusWord::SM_OBJECTS_INCORRECT,
                },
            },
            Kind::Status => ApduFault::Status {
                sw: parse_sw(
                    kind,
                    t.sw.as_deref().ok_or(FaultError::Missing { kind, param: "sw" })?,
                )?,
            },
            Kind::Refuse => ApduFault::Refuse {
                sw: parse_sw(
                    kind,
                    t.sw.as_deref().ok_or(FaultError::Missing { kind, param: "sw" })?,
                )?,
            },
            Kind::Overlong => ApduFault::Overlong {
                extra: t.extra.unwrap_or(8),
            },
            Kind::UnexpectedData => ApduFault::UnexpectedData {
                data: match &t.data {
                    Some(d) => parse_hex(kind, "data", d)?,
                    None => vec![0x6F, 0x00],
                },
            },
            Kind::Trailing => ApduFault::Trailing {
                data: match &t.data {
                    Some(d) => parse_hex(kind, "data", d)?,
                    None => vec![0x00],
                },
            },
            Kind::Garbage => ApduFault::Garbage {
                len: t.len.unwrap_or(16),
                seed: t.seed.unwrap_or(0),
            },
            Kind::GetResponse => {
                let chunk = t.chunk.unwrap_or(256);
                if !(1..=256).contains(&chunk) {
                    return Err(FaultError::Invalid {
                        kind,
                        param: "chunk",
                        what: "must be 1..=256".into(),
                    });
                }
                ApduFault::GetResponse {
                    first: t.first.unwrap_or(0),
                    chunk,
                }
            }
            Kind::EndlessGetResponse => ApduFault::EndlessGetResponse,
            Kind::ClaimedLength | Kind::IndefiniteLength => {
                return Err(FaultError::Missing { kind, param: "file" });
            }
        };
        Ok(Fault::Apdu { what, when })
    }
}

fn when_of(t: &FaultToml, kind: &'static str) -> Result<When, FaultError> {
    if t.at.is_some() && t.from.is_some() {
        return Err(FaultError::Invalid {
            kind,
            param: "at",
            what: "and `from` exclude each other".into(),
        });
    }
    let command = match (&t.command, t.ins) {
        (Some(_), Some(_)) => {
            return Err(FaultError::Invalid {
                kind,
                param: "command",
                what: "and `ins` exclude each other".into(),
            });
        }
        (Some(name), None) => Some(CommandFilter::parse(name).ok_or_else(|| FaultError::Invalid {
            kind,
            param: "command",
            what: format!(
                "{name:?} is not one of select, read_binary, get_challenge, mutual_authenticate, \
                 mse_set_at, general_authenticate, get_response"
            ),
        })?),
        (None, Some(ins)) => Some(CommandFilter::Ins(ins)),
        (None, None) => None,
    };
    let file = match &t.file {
        Some(name) => Some(parse_file(kind, name)?),
        None => None,
    };
    if t.every == Some(0) {
        return Err(FaultError::Invalid {
            kind,
            param: "every",
            what: "must be at least 1".into(),
        });
    }
    if let (Some(end), Some(start)) = (t.to, t.at.or(t.from))
        && end <= start
    {
        return Err(FaultError::Invalid {
            kind,
            param: "to",
            what: format!("{end} must be above the start {start}"),
        });
    }
    let range = t.from.is_some() || t.to.is_some();
    let times = match t.times {
        Some(n) => Some(n),
        None if range && t.at.is_none() => None,
        None => Some(1),
    };
    Ok(When {
        start: t.at.or(t.from).unwrap_or(0),
        end: t.to,
        command,
        file,
        nth: t.nth.unwrap_or(0),
        every: t.every.unwrap_or(1),
        times,
    })
}

/// Check a profile's faults against its files (content faults need a file with a TLV).
pub fn validate(profile: &Profile) -> Result<(), FaultError> {
    for f in &profile.faults {
        if let Fault::Content { file, what } = f {
            let kind = match what {
                ContentFault::ClaimedLength { .. } => "claimed_length",
                ContentFault::IndefiniteLength => "indefinite_length",
            };
            let Some(bytes) = profile.files.get(file) else {
                return Err(FaultError::File {
                    kind,
                    file: file.name(),
                    what: "is not in the profile",
                });
            };
            let header = crate::tlv::parse_header(bytes).map_err(|_| FaultError::File {
                kind,
                file: file.name(),
                what: "does not start with a TLV header",
            })?;
            if *what == ContentFault::IndefiniteLength && header.value_len.is_none() {
                return Err(FaultError::File {
                    kind,
                    file: file.name(),
                    what: "already has an indefinite length",
                });
            }
        }
    }
    Ok(())
}

/// The files the chip serves: the profile's, with the content faults applied. A
/// content fault on a file that is absent or does not start with a TLV header leaves
/// the file unchanged ([`validate`] reports those for TOML profiles).
pub fn personalise(files: &BTreeMap<LdsFile, Vec<u8>>, faults: &[Fault]) -> BTreeMap<LdsFile, Vec<u8>> {
    let mut out = files.clone();
    for f in faults {
        let Fault::Content { file, what } = f else {
            continue;
        };
        let Some(bytes) = out.get_mut(file) else {
            continue;
        };
        let Ok(header) = crate::tlv::parse_header(bytes) else {
            continue;
        };
        let tag_len = {
            let mut t = Vec::new();
            crate::tlv::encode_tag(header.tag, &mut t);
            t.len()
        };
        let (Some(tag_bytes), Some(value)) = (bytes.get(..tag_len), bytes.get(header.header_len..)) else {
            continue;
        };
        let mut new = tag_bytes.to_vec();
        match what {
            ContentFault::ClaimedLength { length } => {
                new.extend(encode_any_length(*length));
                new.extend_from_slice(value);
            }
            ContentFault::IndefiniteLength => {
                let value = match header.value_len {
                    Some(n) => value.get(..n).unwrap_or(value),
                    None => continue,
                };
                new.push(0x80);
                new.extend_from_slice(value);
                new.extend_from_slice(&[0, 0]);
            }
        }
        *bytes = new;
    }
    out
}

/// A definite BER length field for any 64-bit value (long form up to 8 octets).
fn encode_any_length(len: u64) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let be = len.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    let octets = be.get(skip..).unwrap_or_default();
    let mut v = vec![0x80 | octets.len() as u8];
    v.extend_from_slice(octets);
    v
}

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
struct Armed {
    what: ApduFault,
    when: When,
    seen: usize,
    hits: usize,
}

impl Armed {
    /// Whether the APDU hits this fault (counters advance).
    fn hit(&mut self, index: usize, ins: u8, target: Option<LdsFile>) -> bool {
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

    /// An injector for `faults` (content faults are applied by [`personalise`]).
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
fn flip_mac(bytes: &mut [u8]) {
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
fn garbage(len: usize, seed: u64, index: usize) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
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
}

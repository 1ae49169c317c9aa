//! `[[faults]]` entries as written in a profile: the kinds, their parameters and
//! triggers, checked and turned into [`Fault`]s.

use serde::Deserialize;

use crate::apdu::StatusWord;
use crate::lds::LdsFile;

use super::{ApduFault, CommandFilter, ContentFault, Fault, FaultError, When};

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
pub(super) struct FaultToml {
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

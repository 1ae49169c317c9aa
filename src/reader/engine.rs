//! The file-read engine: reads a whole EF with the fewest round trips the chip allows.
//!
//! With extended length, one READ BINARY by short file identifier (no SELECT) asks
//! for everything (Le = 65536) and learns the file's length from the TLV header of
//! what comes back. Otherwise it reads as much per command as chip and reader accept,
//! stepping down 65536 → 256 → 223 → 160 → 118 on 6700 / 6Cxx and retrying only the
//! failed block; offsets above 32767 use READ BINARY with odd INS (B1). Bytes past
//! the TLV length are trimmed (and noted).
//!
//! Chip data is attacker-controlled: a header claiming more than [`MAX_FILE`] (up to
//! the 4 GB and beyond that a five-octet length field can say) is refused before
//! anything is allocated; a chip that says "end of file" before the TLV length is
//! reached ends the read with an error, never with a short file passed off as
//! complete; data beyond Le is discarded. A BER indefinite-length file (EF.SOD
//! `77 80 … 00 00` on some issuers' chips) has no length up front: it is read until
//! its end-of-contents marker is in, or the chip says the file ends (no data, 6282,
//! 6B00), bounded by [`MAX_FILE`].
//!
//! Progress lives in a [`FileProgress`] owned by the caller, so a read interrupted
//! by tag loss resumes at the last offset after re-authentication.

use thiserror::Error;

use crate::apdu::{ApduError, CardChannel, Command, StatusWord};
use crate::lds::LdsFile;
use crate::tlv;

/// The step-down ladder of READ BINARY sizes.
pub const LADDER: [usize; 5] = [65536, 256, 223, 160, 118];
/// Largest file the reader accepts (DG3 with several fingerprints stays well below).
pub const MAX_FILE: usize = 4 * 1024 * 1024;

/// Smallest per-command limit the reader takes for the rest of a read. Chips in the
/// field return at least 0x80 per READ BINARY; a smaller answer is used once.
pub const MIN_ADOPTED: usize = 32;

/// Commands in a row that may bring no data before a file read is given up: a SELECT,
/// an SFI refusal, every step down of the read size from extended length to the
/// smallest, and a few changes of mind, with room to spare.
const MAX_STALLED: usize = 24;

/// Errors reading a file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The channel failed (link, secure messaging).
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// An unexpected status word.
    #[error("reading {file} at offset {offset}: card answered {sw}")]
    Status {
        /// File.
        file: LdsFile,
        /// Offset.
        offset: usize,
        /// Status word.
        sw: StatusWord,
    },
    /// Every size on the ladder was refused.
    #[error("reading {file}: the card refused every READ BINARY size down to {smallest} bytes")]
    NoWorkingSize {
        /// File.
        file: LdsFile,
        /// Smallest size tried.
        smallest: usize,
    },
    /// The file's TLV header claims more than the reader accepts.
    #[error("{file} claims {claimed} bytes, more than the {MAX_FILE}-byte limit")]
    TooLarge {
        /// File.
        file: LdsFile,
        /// Claimed length.
        claimed: usize,
    },
    /// The card returned no data where more was expected.
    #[error(
        "reading {file}: the card gives no more data after {offset} bytes, but the file's TLV header claims {expected}"
    )]
    NoProgress {
        /// File.
        file: LdsFile,
        /// Offset.
        offset: usize,
        /// Expected total.
        expected: usize,
    },
    /// A READ BINARY (B1) answer without the DO'53 wrapper.
    #[error("reading {file}: odd-INS READ BINARY answer is not a DO'53")]
    BadOddResponse {
        /// File.
        file: LdsFile,
    },
    /// A file without a definite length that did not end within [`MAX_FILE`] bytes.
    #[error("{file} has no definite length and did not end within the {MAX_FILE}-byte limit")]
    NoEnd {
        /// File.
        file: LdsFile,
        /// Bytes read before giving up.
        read: usize,
    },
    /// More APDUs than any file of its size could need.
    #[error("reading {file}: gave up after {apdus} commands")]
    TooManyCommands {
        /// File.
        file: LdsFile,
        /// Commands sent.
        apdus: usize,
    },
}

impl EngineError {
    /// The chip answered, but not with the file: a status word, an answer cut short, an
    /// answer of the wrong form, a file larger than the reader takes. (Not a channel
    /// failure, which recovery handles.)
    ///
    /// Not: a chip that needs more commands than any file could (it answers the same
    /// thing for ever), which is about the chip, not the file, and ends the read.
    pub fn is_file_level(&self) -> bool {
        !matches!(self, EngineError::Apdu(_) | EngineError::TooManyCommands { .. })
    }

    /// The status word the chip answered with, when that was the failure.
    pub fn status_word(&self) -> Option<StatusWord> {
        match self {
            EngineError::Status { sw, .. } => Some(*sw),
            _ => None,
        }
    }
}

/// How the engine chooses READ BINARY sizes.
#[derive(Debug, Clone)]
pub struct ReadSizes {
    ladder: Vec<usize>,
    idx: usize,
    /// Read by short file identifier (READ BINARY with P1 bit 8) when a file has one;
    /// false once the chip showed it serves files only after SELECT.
    pub by_sfi: bool,
    /// What the reader changed in how it talks to this chip, and why (for the manifest).
    pub adaptations: Vec<String>,
    /// The chip has served a file by short file identifier: a later refusal by SFI is
    /// about that file, not about SFI.
    pub sfi_proven: bool,
}

impl ReadSizes {
    /// Sizes for a chip that does (`extended`) or does not take extended length, capped
    /// by `max_read` when the user gave one.
    pub fn new(extended: bool, max_read: Option<usize>) -> Self {
        let mut ladder: Vec<usize> = LADDER.to_vec();
        if let Some(max) = max_read {
            ladder.retain(|s| *s < max);
            ladder.insert(0, max.clamp(1, crate::apdu::MAX_EXTENDED));
        }
        if !extended {
            ladder.retain(|s| *s <= crate::apdu::MAX_SHORT_LE);
            if ladder.is_empty() {
                ladder.push(crate::apdu::MAX_SHORT_LE);
            }
        }
        ReadSizes {
            ladder,
            idx: 0,
            by_sfi: true,
            adaptations: Vec::new(),
            sfi_proven: false,
        }
    }

    /// Record an adaptation once.
    pub fn adapt(&mut self, what: String) {
        if !self.adaptations.contains(&what) {
            self.adaptations.push(what);
        }
    }

    /// Never send extended-length READ BINARY again (the chip announced extended length
    /// but refused it).
    pub fn disable_extended(&mut self) -> bool {
        let current = self.current();
        if current <= crate::apdu::MAX_SHORT_LE {
            return false;
        }
        self.ladder.retain(|s| *s <= crate::apdu::MAX_SHORT_LE);
        if self.ladder.is_empty() {
            self.ladder.push(crate::apdu::MAX_SHORT_LE);
        }
        self.idx = 0;
        true
    }

    /// Current size.
    pub fn current(&self) -> usize {
        self.ladder.get(self.idx).copied().unwrap_or(1)
    }

    /// Step down; false when at the bottom.
    pub fn step_down(&mut self) -> bool {
        if self.idx + 1 < self.ladder.len() {
            self.idx += 1;
            true
        } else {
            false
        }
    }

    /// Adopt an exact size the card asked for (6Cxx) or returned, as the read size
    /// from now on (not below [`MIN_ADOPTED`]: one odd answer must not turn a read
    /// into thousands of tiny ones).
    pub fn adopt(&mut self, size: usize) {
        if size < MIN_ADOPTED || size >= self.current() {
            return;
        }
        // insert it at the current position so later files start there
        self.ladder.insert(self.idx + 1, size);
        self.idx += 1;
    }

    /// Whether extended-length commands may be sent.
    pub fn extended(&self) -> bool {
        self.current() > crate::apdu::MAX_SHORT_LE
    }
}

/// State of one file's read, kept across recoveries.
#[derive(Debug, Clone)]
pub struct FileProgress {
    /// The file.
    pub file: LdsFile,
    /// Bytes read so far.
    pub data: Vec<u8>,
    /// Total length from the TLV header, once known.
    pub total: Option<usize>,
    /// Whether the file is the card's current EF (false after a reconnect).
    pub current: bool,
    /// Commands sent for this file.
    pub apdus: usize,
    /// Quirks noticed.
    pub notes: Vec<String>,
    /// Largest size that worked.
    pub read_size: Option<usize>,
    /// Size of a short answer to a file of unknown length: the chip's per-command
    /// limit if more data follows, else the end of the file.
    pub short: Option<usize>,
    /// The size the chip asked for (6Cxx) for the next command only: the rest of an
    /// unknown-length file, or a limit too small to take for the whole read.
    pub one_shot: Option<usize>,
    /// The outer TLV has the BER indefinite length.
    pub indefinite: bool,
    /// The chip refused READ BINARY by short file identifier with this status word; the
    /// file was then selected by identifier.
    pub sfi_refused: Option<StatusWord>,
}

/// Note on a file whose outer TLV has the BER indefinite length.
pub const NOTE_INDEFINITE: &str = "indefinite-length outer TLV";
/// Note on a file whose first bytes are not a TLV header.
pub const NOTE_MALFORMED: &str = "outer TLV header malformed; read to the end of the file";

impl FileProgress {
    /// A fresh read of `file`.
    pub fn new(file: LdsFile) -> Self {
        FileProgress {
            file,
            data: Vec::new(),
            total: None,
            current: false,
            apdus: 0,
            notes: Vec::new(),
            read_size: None,
            short: None,
            one_shot: None,
            indefinite: false,
            sfi_refused: None,
        }
    }
}

/// How a file read ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// Read completely (bytes are in the progress).
    Complete,
    /// Not on the card (6A82) or access denied (6982 …): the status word.
    Unavailable(StatusWord),
}

/// An answer to READ BINARY by short file identifier that may mean "no SFI here" rather
/// than anything about the file: every error but the length ones (67xx, 6Cxx).
fn refused_by_sfi(sw: StatusWord) -> bool {
    sw != StatusWord::OK
        && sw != StatusWord::END_OF_FILE
        && !matches!(sw.sw1(), 0x61 | 0x62 | 0x63 | 0x67 | 0x6C)
}

/// Status words that mean the file is not there or not readable (as opposed to a
/// failure of the read).
pub fn is_unavailable(sw: StatusWord) -> bool {
    matches!(
        sw.0,
        0x6A82 | 0x6A83 | 0x6982 | 0x6985 | 0x6986 | 0x6A86 | 0x6A88 | 0x6D00 | 0x6283
    )
}

/// What the first bytes of a file say about its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// The header is not complete yet.
    Incomplete,
    /// Tag, length and value: this many bytes in all.
    Definite(usize),
    /// BER indefinite length: ends with `00 00`.
    Indefinite,
    /// A definite length beyond anything the reader accepts (saturated).
    Huge(u64),
    /// Not a TLV header at all.
    Malformed,
}

fn claim(data: &[u8]) -> Claim {
    match tlv::parse_header(data) {
        Ok(h) => match h.total_len() {
            Some(t) if t > MAX_FILE => Claim::Huge(t as u64),
            Some(t) => Claim::Definite(t),
            None if h.value_len.is_none() => Claim::Indefinite,
            // header plus value length overflows usize
            None => Claim::Huge(u64::MAX),
        },
        Err(tlv::TlvError::Truncated { .. }) => Claim::Incomplete,
        Err(tlv::TlvError::BadLength { offset, first }) if (0x85..=0x88).contains(&first) => {
            // five to eight length octets: more than 4 GB, which the TLV reader does not
            // represent; read the number only to report it
            let n = usize::from(first & 0x7F);
            match data.get(offset + 1..offset + 1 + n) {
                Some(octets) => Claim::Huge(
                    octets
                        .iter()
                        .fold(0u64, |a, b| a.saturating_mul(256).saturating_add(u64::from(*b))),
                ),
                None => Claim::Incomplete,
            }
        }
        Err(_) => Claim::Malformed,
    }
}

/// Length of the complete BER element at the start of `data`, if it is complete.
fn ber_complete(data: &[u8]) -> Option<usize> {
    tlv::parse_ber(data).ok().map(|t| t.raw.len())
}

/// Callback for progress display: (file, bytes so far, total if known).
pub type ProgressFn<'a> = &'a mut dyn FnMut(LdsFile, usize, Option<usize>);

/// Read (or continue reading) `progress.file` over `ch`.
pub fn read_file(
    ch: &mut dyn CardChannel,
    sizes: &mut ReadSizes,
    progress: &mut FileProgress,
    on_progress: ProgressFn<'_>,
) -> Result<FileOutcome, EngineError> {
    let file = progress.file;
    // commands in a row that brought no data: a chip that keeps changing its mind
    // about the read size (or answers each size with another) is given up on
    let mut stalled = 0usize;
    let mut last_len = progress.data.len();
    loop {
        if progress.data.len() == last_len {
            stalled += 1;
        } else {
            stalled = 0;
            last_len = progress.data.len();
        }
        if stalled > MAX_STALLED {
            return Err(EngineError::TooManyCommands {
                file,
                apdus: progress.apdus,
            });
        }
        if let Some(total) = progress.total
            && progress.data.len() >= total
        {
            break;
        }
        let limit = progress.total.unwrap_or(MAX_FILE) / 64 + 64;
        if progress.apdus > limit {
            return Err(EngineError::TooManyCommands {
                file,
                apdus: progress.apdus,
            });
        }
        let offset = progress.data.len();
        let size = sizes.current();
        let one_shot = progress.one_shot.take();
        let asked = one_shot.unwrap_or(size);
        let want = progress.total.map_or(asked, |t| asked.min(t - offset));
        let odd = offset > 0x7FFF;
        let by_sfi = !progress.current && sizes.by_sfi && offset <= 0xFF && file.sfi().is_some();
        let cmd = if !progress.current {
            match file.sfi() {
                Some(sfi) if by_sfi => Command::read_binary_sfi(sfi, offset as u8, want),
                _ => {
                    let resp = ch.send(&Command::select_ef(file.fid()))?;
                    progress.apdus += 1;
                    if is_unavailable(resp.sw) && offset == 0 {
                        return Ok(FileOutcome::Unavailable(resp.sw));
                    }
                    if !resp.is_ok() {
                        return Err(EngineError::Status {
                            file,
                            offset,
                            sw: resp.sw,
                        });
                    }
                    progress.current = true;
                    continue;
                }
            }
        } else if odd {
            // DO'53 header takes up to 5 bytes of the card's buffer
            Command::read_binary_odd(offset as u32, want)
        } else {
            Command::read_binary(offset as u16, want)
        };
        let resp = ch.send(&cmd)?;
        progress.apdus += 1;
        let sw = resp.sw;
        if by_sfi && sw == StatusWord::OK {
            sizes.sfi_proven = true;
        }
        if by_sfi && offset == 0 && !sizes.sfi_proven && progress.sfi_refused.is_none() && refused_by_sfi(sw)
        {
            // a chip without short file identifiers (or one that reads P1 as an offset)
            // serves the file after SELECT by identifier: try that once
            progress.sfi_refused = Some(sw);
            let sel = ch.send(&Command::select_ef(file.fid()))?;
            progress.apdus += 1;
            if !sel.is_ok() {
                let why = if is_unavailable(sel.sw) { sel.sw } else { sw };
                return Ok(FileOutcome::Unavailable(why));
            }
            progress.current = true;
            continue;
        }
        if sw == StatusWord::OK || sw == StatusWord::END_OF_FILE {
            if let Some(refused) = progress.sfi_refused
                && progress.data.is_empty()
                && sizes.by_sfi
            {
                sizes.by_sfi = false;
                sizes.adapt(format!(
                    "the chip refused READ BINARY by short file identifier ({:04X}) for {file} but served \
                     it after SELECT: files are selected by identifier from then on",
                    refused.0
                ));
            }
            progress.current = true;
            let chunk = if odd {
                match tlv::parse(&resp.data) {
                    Ok(t) if t.tag == 0x53 => t.value.to_vec(),
                    _ if resp.data.is_empty() => Vec::new(),
                    _ => return Err(EngineError::BadOddResponse { file }),
                }
            } else {
                resp.data
            };
            if chunk.is_empty() {
                match progress.total {
                    Some(expected) if offset < expected => {
                        return Err(EngineError::NoProgress {
                            file,
                            offset,
                            expected,
                        });
                    }
                    // "end of file" before the first byte: no content to dump
                    None if offset == 0 && sw == StatusWord::END_OF_FILE => {
                        return Ok(FileOutcome::Unavailable(sw));
                    }
                    // no LDS file is empty: a chip answering 9000 without data when Le
                    // exceeds its buffer is asked for less before it is believed
                    None if offset == 0 && sizes.step_down() => continue,
                    None if offset == 0 => {
                        progress
                            .notes
                            .push("the card returned no data: the file is empty".into());
                        break;
                    }
                    _ => break,
                }
            }
            let mut chunk = chunk;
            if chunk.len() > want {
                // more than Le: a chip bug; what was asked for is the first `want` bytes
                progress.notes.push(format!(
                    "the card returned {} bytes for Le {want} at offset {offset}; the excess was discarded",
                    chunk.len()
                ));
                chunk.truncate(want);
            }
            let got = chunk.len();
            if progress.total.is_none()
                && let Some(cap) = progress.short.take()
            {
                // the last short answer was not the end: it is the chip's limit
                sizes.adopt(cap);
            }
            progress.data.extend_from_slice(&chunk);
            progress.read_size = Some(progress.read_size.unwrap_or(0).max(got));
            if progress.total.is_none() && !progress.indefinite {
                match claim(&progress.data) {
                    Claim::Incomplete => {}
                    Claim::Definite(t) => progress.total = Some(t),
                    Claim::Huge(t) => {
                        return Err(EngineError::TooLarge {
                            file,
                            claimed: usize::try_from(t).unwrap_or(usize::MAX),
                        });
                    }
                    Claim::Indefinite => {
                        progress.indefinite = true;
                        progress.notes.push(NOTE_INDEFINITE.into());
                    }
                    Claim::Malformed if !progress.notes.iter().any(|n| n == NOTE_MALFORMED) => {
                        progress.notes.push(NOTE_MALFORMED.into());
                    }
                    Claim::Malformed => {}
                }
            }
            if let Some(asked) = one_shot {
                // the size the chip asked for (6Cxx) was its limit if it had less to give
                // or more follows; the rest of the file if it ends right there
                match progress.total {
                    _ if got < asked => sizes.adopt(asked),
                    Some(t) if progress.data.len() < t => sizes.adopt(asked),
                    None if got < size => progress.short = Some(got),
                    _ => {}
                }
            }
            on_progress(file, progress.data.len(), progress.total);
            if progress.total.is_none() {
                if progress.data.len() > MAX_FILE {
                    return Err(EngineError::NoEnd {
                        file,
                        read: progress.data.len(),
                    });
                }
                if sw == StatusWord::END_OF_FILE {
                    break;
                }
                if got < want {
                    if progress.indefinite && ber_complete(&progress.data).is_some() {
                        break;
                    }
                    // the end of the file, or the most the chip returns per command: the
                    // next answer tells
                    progress.short = Some(got);
                }
                continue;
            }
            if sw == StatusWord::END_OF_FILE {
                break;
            }
            if got < want && progress.total.is_some_and(|t| progress.data.len() < t) {
                // the card returns less than asked per command: ask for that from now on
                sizes.adopt(got);
            }
            continue;
        }
        if let Some(exact) = sw.wrong_le_exact() {
            let exact = if exact == 0 { 256 } else { usize::from(exact) };
            if exact == want {
                // "wrong Le, use the one you sent": asking again cannot help
                return Err(EngineError::Status { file, offset, sw });
            }
            if progress.total.is_some() && exact >= MIN_ADOPTED {
                // the chip's per-command limit
                sizes.adopt(exact);
            } else {
                // at the end of a file of unknown length "6Cxx" is what remains; a limit
                // below any real chip's is used for this command only
                progress.one_shot = Some(exact);
            }
            continue;
        }
        if sw == StatusWord::WRONG_LENGTH || sw.sw1() == 0x67 {
            if !sizes.step_down() {
                return Err(EngineError::NoWorkingSize { file, smallest: size });
            }
            continue;
        }
        if sw == StatusWord::WRONG_OFFSET && offset > 0 && progress.total.is_none() {
            break;
        }
        if offset == 0 && is_unavailable(sw) {
            return Ok(FileOutcome::Unavailable(sw));
        }
        return Err(EngineError::Status { file, offset, sw });
    }
    if progress.indefinite {
        match ber_complete(&progress.data) {
            Some(end) => progress.total = Some(end),
            None => progress
                .notes
                .push("the indefinite-length outer TLV has no end-of-contents marker".into()),
        }
    }
    if let Some(total) = progress.total
        && progress.data.len() < total
    {
        // the chip said "end of file" (6282) before the TLV length was reached
        return Err(EngineError::NoProgress {
            file,
            offset: progress.data.len(),
            expected: total,
        });
    }
    if let Some(total) = progress.total
        && progress.data.len() > total
    {
        let extra = progress.data.len() - total;
        progress.data.truncate(total);
        progress
            .notes
            .push(format!("trimmed {extra} byte(s) past the TLV length"));
    }
    Ok(FileOutcome::Complete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::Response;

    /// A card serving one file per SFI in plain, with a per-command limit.
    struct FakeCard {
        files: Vec<(LdsFile, Vec<u8>)>,
        current: Option<usize>,
        max: usize,
        extended: bool,
        oversize: u16,
        /// Answer an oversized Le with `max` bytes and 9000 instead of `oversize`.
        truncate: bool,
        /// Bytes of junk appended to every answer (a chip returning more than Le).
        junk: usize,
        sent: Vec<Command>,
    }

    impl FakeCard {
        fn new(files: Vec<(LdsFile, Vec<u8>)>, max: usize, extended: bool) -> Self {
            FakeCard {
                files,
                current: None,
                max,
                extended,
                oversize: 0x6700,
                truncate: false,
                junk: 0,
                sent: Vec::new(),
            }
        }
    }

    impl CardChannel for FakeCard {
        fn send(&mut self, cmd: &Command) -> Result<Response, ApduError> {
            self.sent.push(cmd.clone());
            if cmd.needs_extended() && !self.extended {
                return Ok(Response::status(StatusWord::WRONG_LENGTH));
            }
            let (idx, offset) = match (cmd.ins, cmd.p1 & 0x80 != 0) {
                (0xA4, _) => {
                    let fid = u16::from_be_bytes([cmd.data[0], cmd.data[1]]);
                    return Ok(match self.files.iter().position(|(f, _)| f.fid() == fid) {
                        Some(i) => {
                            self.current = Some(i);
                            Response::status(StatusWord::OK)
                        }
                        None => Response::status(StatusWord::FILE_NOT_FOUND),
                    });
                }
                (0xB0, true) => {
                    let sfi = cmd.p1 & 0x1F;
                    match self.files.iter().position(|(f, _)| f.sfi() == Some(sfi)) {
                        Some(i) => {
                            self.current = Some(i);
                            (i, usize::from(cmd.p2))
                        }
                        None => return Ok(Response::status(StatusWord::FILE_NOT_FOUND)),
                    }
                }
                (0xB0, false) => (
                    self.current.unwrap(),
                    usize::from(u16::from_be_bytes([cmd.p1, cmd.p2])),
                ),
                (0xB1, _) => {
                    let t = tlv::parse(&cmd.data).unwrap();
                    let off = t.value.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
                    (self.current.unwrap(), off)
                }
                _ => return Ok(Response::status(StatusWord::INS_NOT_SUPPORTED)),
            };
            let mut le = cmd.le.unwrap();
            if le > self.max {
                if !self.truncate {
                    return Ok(Response::status(StatusWord(self.oversize)));
                }
                le = self.max;
            }
            let data = &self.files[idx].1;
            let chunk = &data[offset.min(data.len())..(offset + le).min(data.len())];
            let mut out = if cmd.ins == 0xB1 {
                tlv::encode(0x53, chunk)
            } else {
                chunk.to_vec()
            };
            if !chunk.is_empty() {
                out.extend(std::iter::repeat_n(0xEE, self.junk));
            }
            Ok(Response::new(out, StatusWord::OK))
        }

        fn exchanges(&self) -> usize {
            self.sent.len()
        }
    }

    fn dg(n: u8, len: usize) -> Vec<u8> {
        let tag = LdsFile::Dg(n).tag().unwrap();
        let value: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        tlv::encode(tag, &value)
    }

    /// A card holding only `f` (answers of at most `max` bytes, extended length when
    /// `extended`), and the read sizes of a reader that knows as much, capped at `max_read`.
    fn one_file(
        f: LdsFile,
        content: &[u8],
        max: usize,
        extended: bool,
        max_read: Option<usize>,
    ) -> (FakeCard, ReadSizes) {
        let card = FakeCard::new(vec![(f, content.to_vec())], max, extended);
        (card, ReadSizes::new(extended, max_read))
    }

    fn read(card: &mut FakeCard, sizes: &mut ReadSizes, f: LdsFile) -> (FileOutcome, FileProgress) {
        let mut p = FileProgress::new(f);
        let o = read_file(card, sizes, &mut p, &mut |_, _, _| {}).unwrap();
        (o, p)
    }

    #[test]
    fn one_extended_read_per_file() {
        let content = dg(2, 20_000);
        let (mut card, mut sizes) = one_file(LdsFile::Dg(2), &content, 65536, true, None);
        let (o, p) = read(&mut card, &mut sizes, LdsFile::Dg(2));
        assert_eq!(o, FileOutcome::Complete);
        assert_eq!(p.data, content);
        assert_eq!(card.sent.len(), 1);
        assert_eq!(
            card.sent[0].encode().unwrap(),
            hex::decode("00B08200000000").unwrap()
        );
    }

    #[test]
    fn steps_down_and_retries_only_the_failed_block() {
        let content = dg(1, 600);
        let (mut card, mut sizes) = one_file(LdsFile::Dg(1), &content, 223, false, None);
        let (_, p) = read(&mut card, &mut sizes, LdsFile::Dg(1));
        assert_eq!(p.data, content);
        // 256 refused once, then 223-byte blocks: 603 bytes = 3 reads
        let les: Vec<usize> = card.sent.iter().map(|c| c.le.unwrap()).collect();
        assert_eq!(les, vec![256, 223, 223, 158]);
        assert_eq!(sizes.current(), 223, "the working size is kept for the next file");
    }

    #[test]
    fn le_correction_under_6cxx() {
        let content = dg(11, 300);
        let (mut card, mut sizes) = one_file(LdsFile::Dg(11), &content, 200, false, None);
        card.oversize = 0x6CC8;
        let (_, p) = read(&mut card, &mut sizes, LdsFile::Dg(11));
        assert_eq!(p.data, content);
        assert!(card.sent.iter().skip(1).all(|c| c.le.unwrap() <= 200));
    }

    #[test]
    fn odd_ins_above_32767() {
        let content = dg(3, 40_000);
        let (mut card, mut sizes) = one_file(LdsFile::Dg(3), &content, 256, false, None);
        let (_, p) = read(&mut card, &mut sizes, LdsFile::Dg(3));
        assert_eq!(p.data, content);
        assert!(card.sent.iter().any(|c| c.ins == 0xB1));
        assert!(
            card.sent
                .iter()
                .filter(|c| c.ins == 0xB0)
                .all(|c| { c.p1 & 0x80 != 0 || u16::from_be_bytes([c.p1, c.p2]) <= 0x7FFF })
        );
    }

    #[test]
    fn trims_zero_padding_past_the_tlv() {
        let mut content = dg(12, 10);
        let true_len = content.len();
        content.extend([0u8; 20]);
        let (mut card, mut sizes) = one_file(LdsFile::Dg(12), &content, 256, false, None);
        let (_, p) = read(&mut card, &mut sizes, LdsFile::Dg(12));
        assert_eq!(p.data.len(), true_len);
        assert_eq!(
            p.notes,
            vec!["trimmed 20 byte(s) past the TLV length".to_string()]
        );
    }

    #[test]
    fn absent_file_reports_status() {
        let mut card = FakeCard::new(vec![], 256, false);
        let mut sizes = ReadSizes::new(false, None);
        let (o, _) = read(&mut card, &mut sizes, LdsFile::Dg(5));
        assert_eq!(o, FileOutcome::Unavailable(StatusWord::FILE_NOT_FOUND));
    }

    #[test]
    fn hostile_length_is_refused() {
        let mut hostile = vec![0x75, 0x84, 0x7F, 0xFF, 0xFF, 0xFF];
        hostile.extend([0u8; 100]);
        let (mut card, mut sizes) = one_file(LdsFile::Dg(2), &hostile, 256, false, None);
        let mut p = FileProgress::new(LdsFile::Dg(2));
        let e = read_file(&mut card, &mut sizes, &mut p, &mut |_, _, _| {}).unwrap_err();
        assert!(matches!(e, EngineError::TooLarge { .. }));
    }

    #[test]
    fn five_octet_length_is_too_large_before_reading_on() {
        // 75 85 01 00 00 00 00: 4 GiB, beyond the four length octets the TLV reader takes
        let mut hostile = vec![0x75, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00];
        hostile.extend([0u8; 300]);
        let (mut card, mut sizes) = one_file(LdsFile::Dg(2), &hostile, 256, false, None);
        let mut p = FileProgress::new(LdsFile::Dg(2));
        let e = read_file(&mut card, &mut sizes, &mut p, &mut |_, _, _| {}).unwrap_err();
        assert!(
            matches!(e, EngineError::TooLarge { claimed, .. } if claimed == 1 << 32),
            "{e:?}"
        );
        assert_eq!(card.sent.len(), 1);
    }

    #[test]
    fn indefinite_length_over_a_card_that_returns_less_than_asked() {
        // 77 80 { 30 80 { 04 .. } 00 00 } 00 00, 1000-odd bytes, card caps at 100
        let inner = tlv::encode(0x04, &[0x5A; 1000]);
        let mut sod = vec![0x77, 0x80, 0x30, 0x80];
        sod.extend(&inner);
        sod.extend([0, 0, 0, 0]);
        let (mut card, mut sizes) = one_file(LdsFile::Sod, &sod, 100, false, None);
        card.truncate = true;
        let (o, p) = read(&mut card, &mut sizes, LdsFile::Sod);
        assert_eq!(o, FileOutcome::Complete);
        assert_eq!(
            p.data, sod,
            "a short answer is not the end of an indefinite-length file"
        );
        assert_eq!(p.notes, vec![NOTE_INDEFINITE.to_string()]);
        // 256 (answered with 100), then 100 at a time: the cap was adopted
        assert_eq!(sizes.current(), 100);
        assert_eq!(card.sent.len(), sod.len().div_ceil(100));
    }

    #[test]
    fn indefinite_length_ending_on_a_block_boundary() {
        let mut sod = vec![0x77, 0x80];
        sod.extend(tlv::encode(0x04, &[1; 220]));
        sod.extend([0, 0]);
        assert_eq!(sod.len(), 227);
        let (mut card, mut sizes) = one_file(LdsFile::Sod, &sod, 256, false, Some(227));
        let (_, p) = read(&mut card, &mut sizes, LdsFile::Sod);
        assert_eq!(p.data, sod);
        // a full block is not taken as the end: the card's empty answer at 227 says it
        assert_eq!(card.sent.len(), 2);
    }

    #[test]
    fn answers_longer_than_le_are_cut() {
        let content = dg(2, 1000);
        let (mut card, mut sizes) = one_file(LdsFile::Dg(2), &content, 223, false, Some(223));
        card.junk = 7;
        let (_, p) = read(&mut card, &mut sizes, LdsFile::Dg(2));
        assert_eq!(p.data, content);
        assert_eq!(p.notes.len(), card.sent.len());
    }

    #[test]
    fn end_of_file_before_the_tlv_length_is_an_error() {
        struct Short(FakeCard);
        impl CardChannel for Short {
            fn send(&mut self, cmd: &Command) -> Result<Response, ApduError> {
                let mut r = self.0.send(cmd)?;
                if r.data.len() < cmd.le.unwrap_or(0) {
                    r.sw = StatusWord::END_OF_FILE;
                }
                Ok(r)
            }
            fn exchanges(&self) -> usize {
                self.0.exchanges()
            }
        }
        // the header claims 600 bytes; the card holds 300 and says 6282 at its end
        let mut content = dg(1, 600);
        content.truncate(300);
        let mut card = Short(FakeCard::new(vec![(LdsFile::Dg(1), content)], 256, false));
        let mut sizes = ReadSizes::new(false, Some(200));
        let mut p = FileProgress::new(LdsFile::Dg(1));
        let e = read_file(&mut card, &mut sizes, &mut p, &mut |_, _, _| {}).unwrap_err();
        assert!(
            matches!(
                e,
                EngineError::NoProgress {
                    offset: 300,
                    expected: 604,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn max_read_caps_every_command() {
        let content = dg(2, 5000);
        let (mut card, mut sizes) = one_file(LdsFile::Dg(2), &content, 65536, true, Some(223));
        let (_, p) = read(&mut card, &mut sizes, LdsFile::Dg(2));
        assert_eq!(p.data, content);
        assert!(card.sent.iter().all(|c| c.le.unwrap() <= 223));
        assert_eq!(card.sent.len(), content.len().div_ceil(223));
    }

    #[test]
    fn ladder_with_limits() {
        let s = ReadSizes::new(true, None);
        assert_eq!(s.ladder, vec![65536, 256, 223, 160, 118]);
        let s = ReadSizes::new(false, None);
        assert_eq!(s.ladder, vec![256, 223, 160, 118]);
        let s = ReadSizes::new(true, Some(223));
        assert_eq!(s.ladder, vec![223, 160, 118]);
        let s = ReadSizes::new(false, Some(1000));
        assert_eq!(s.ladder, vec![256, 223, 160, 118]);
        let mut s = ReadSizes::new(false, Some(100));
        assert_eq!(s.current(), 100);
        assert!(!s.step_down());
    }
}

//! A large LDIF file read on three threads: a splitter reads it (and hashes it, through
//! its reader) in chunks and cuts it into segments at record boundaries (after an empty
//! line), two workers read the records of alternate segments and prepare them
//! ([`super::ldif::Batches`]), and the writer takes the batches segment by segment,
//! so it sees the records in file order exactly as one reader would give them.
//!
//! Memory stays bounded on any input: the splitter hands a segment over in chunks as
//! it reads (a file without empty lines is one long segment, streamed), and every
//! channel holds a few messages. An error (of reading or of the LDIF) comes after the
//! records before it, in order; when the writer gives up, the others stop at their
//! next message.

use std::io::{BufRead, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::ldif::{Batches, PreparedRecord};
use crate::pki::ldif::{LdifError, LdifReader};

/// Bytes read at a time by the splitter.
const CHUNK: usize = 256 * 1024;

/// A segment ends at the first empty line after this many bytes.
const SEGMENT: usize = 512 * 1024;

/// Chunks in flight to one worker.
const INPUT_DEPTH: usize = 4;

/// Batches in flight from one worker.
const OUTPUT_DEPTH: usize = 8;

/// From the splitter to a worker.
enum Piece {
    /// A segment starts after this many lines of the file.
    Start(usize),
    /// Its next bytes.
    Bytes(Vec<u8>),
    /// It ends (`last`: with the file).
    End { last: bool },
    /// Reading the file failed here.
    Failed(std::io::Error),
}

/// From a worker to the writer.
enum Out {
    Batch(Result<Vec<PreparedRecord>, LdifError>),
    /// The segment's records are all sent (`last`: it was the file's last).
    End {
        last: bool,
    },
}

/// Where the splitter stopped reading (the segment that was being cut then).
fn stopped() -> std::io::Error {
    std::io::Error::other("reading the LDIF file stopped")
}

/// One segment's bytes, as they arrive (a [`BufRead`] for [`LdifReader`]).
struct SegmentInput<'a> {
    rx: &'a Receiver<Piece>,
    /// Where read chunks go back to the splitter (to be filled again).
    spent: &'a SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    /// `Some(last)` once the segment ended.
    ended: Option<bool>,
}

impl Read for SegmentInput<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for SegmentInput<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos >= self.chunk.len() && self.ended.is_none() {
            match self.rx.recv() {
                Ok(Piece::Bytes(b)) => {
                    // the splitter allocates a new one when none is back
                    let _ = self.spent.try_send(std::mem::replace(&mut self.chunk, b));
                    self.pos = 0;
                }
                Ok(Piece::End { last }) => self.ended = Some(last),
                Ok(Piece::Failed(e)) => return Err(e),
                // a segment's bytes never start in the middle of another
                Ok(Piece::Start(_)) | Err(_) => return Err(stopped()),
            }
        }
        Ok(self.chunk.get(self.pos..).unwrap_or_default())
    }

    fn consume(&mut self, amt: usize) {
        self.pos = self.pos.saturating_add(amt).min(self.chunk.len());
    }
}

/// A worker: the records of each segment it is given, prepared, in batches, then the
/// segment's end. Stops after an error or when the writer or the splitter is gone.
fn work(rx: Receiver<Piece>, tx: SyncSender<Out>, spent: SyncSender<Vec<u8>>) {
    while let Ok(Piece::Start(lines)) = rx.recv() {
        let mut input = SegmentInput {
            rx: &rx,
            spent: &spent,
            chunk: Vec::new(),
            pos: 0,
            ended: None,
        };
        let mut failed = false;
        for batch in Batches::from_reader(LdifReader::after_lines(&mut input, lines)) {
            failed |= batch.is_err();
            if tx.send(Out::Batch(batch)).is_err() {
                return;
            }
        }
        // the reader stops at the segment's end; an error stops everything
        let last = match input.ended {
            Some(last) if !failed => last,
            _ => return,
        };
        if tx.send(Out::End { last }).is_err() || last {
            return;
        }
    }
}

/// Where an empty line ends in `chunk` (the index after its `\n`), at or after `from`;
/// `before` holds the two bytes of the file before `chunk`.
fn empty_line_end(before: [u8; 2], chunk: &[u8], from: usize) -> Option<usize> {
    let byte = |i: usize| -> u8 {
        match i.checked_sub(2) {
            Some(j) => chunk.get(j).copied().unwrap_or(0),
            None => before.get(i).copied().unwrap_or(0),
        }
    };
    // index i + 2 in the virtual sequence before ++ chunk is chunk[i]
    (from..chunk.len()).find_map(|i| {
        let at = i + 2;
        let empty = chunk.get(i) == Some(&b'\n')
            && (byte(at - 1) == b'\n' || (byte(at - 1) == b'\r' && byte(at - 2) == b'\n'));
        empty.then_some(i + 1)
    })
}

/// Fill `chunk` (a spent one, or a new one) with up to [`CHUNK`] bytes of `input`:
/// fewer only at the end of the file.
fn read_chunk<R: Read>(input: &mut R, spent: &Receiver<Vec<u8>>) -> std::io::Result<Vec<u8>> {
    let mut chunk = spent
        .try_recv()
        .ok()
        .filter(|c| c.capacity() >= CHUNK)
        .unwrap_or_else(|| Vec::with_capacity(CHUNK));
    chunk.resize(CHUNK, 0);
    let mut n = 0;
    while let Some(free) = chunk.get_mut(n..).filter(|f| !f.is_empty()) {
        match input.read(free) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    chunk.truncate(n);
    Ok(chunk)
}

/// The splitter: reads `input` and hands its segments to the workers in turn.
fn split<R: BufRead>(mut input: R, workers: &[SyncSender<Piece>], spent: &Receiver<Vec<u8>>) {
    let mut k = 0;
    let send = |k: usize, p: Piece| workers.get(k).is_some_and(|w| w.send(p).is_ok());
    let mut lines = 0usize;
    let mut in_segment = 0usize;
    // the file starts as if after an empty line (a first line that is empty is one)
    let mut before = [b'\n', b'\n'];
    if !send(k, Piece::Start(0)) {
        return;
    }
    loop {
        let mut chunk = match read_chunk(&mut input, spent) {
            Ok(c) if c.is_empty() => {
                send(k, Piece::End { last: true });
                return;
            }
            Ok(c) => c,
            Err(e) => {
                send(k, Piece::Failed(e));
                return;
            }
        };
        let tail = match chunk.as_slice() {
            [.., a, b] => [*a, *b],
            [b] => [before[1], *b],
            [] => before,
        };
        let mut from = SEGMENT.saturating_sub(in_segment);
        let mut start_before = before;
        while let Some(cut) = empty_line_end(start_before, &chunk, from) {
            let rest = chunk.split_off(cut);
            lines += count_lines(&chunk);
            let next = (k + 1).checked_rem(workers.len()).unwrap_or(0);
            if !(send(k, Piece::Bytes(chunk))
                && send(k, Piece::End { last: false })
                && send(next, Piece::Start(lines)))
            {
                return;
            }
            k = next;
            in_segment = 0;
            // the cut is right after "\n" preceded by "\n" or "\r\n"
            start_before = [b'\n', b'\n'];
            chunk = rest;
            from = SEGMENT;
        }
        before = tail;
        lines += count_lines(&chunk);
        in_segment += chunk.len();
        if !chunk.is_empty() && !send(k, Piece::Bytes(chunk)) {
            return;
        }
    }
}

/// The `\n` in `bytes` (counted 64 bytes at a time in a byte, which vectorises).
fn count_lines(bytes: &[u8]) -> usize {
    let mut blocks = bytes.chunks_exact(64);
    let mut n = 0usize;
    for b in &mut blocks {
        n += usize::from(b.iter().map(|x| u8::from(*x == b'\n')).sum::<u8>());
    }
    n + blocks.remainder().iter().filter(|x| **x == b'\n').count()
}

/// The batches of the whole file, in order: each segment's from its worker in turn.
struct InOrder {
    outputs: Vec<Receiver<Out>>,
    k: usize,
    done: bool,
}

impl Iterator for InOrder {
    type Item = Result<Vec<PreparedRecord>, LdifError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let Some(rx) = self.outputs.get(self.k) else {
                break;
            };
            match rx.recv() {
                Ok(Out::Batch(b)) => {
                    self.done = b.is_err();
                    return Some(b);
                }
                Ok(Out::End { last: true }) => self.done = true,
                Ok(Out::End { last: false }) => {
                    self.k = (self.k + 1).checked_rem(self.outputs.len()).unwrap_or(0)
                }
                // a worker gone before the file's end (it never is without an error
                // sent first): never taken for the end of the file
                Err(_) => {
                    self.done = true;
                    return Some(Err(LdifError::Io(stopped())));
                }
            }
        }
        None
    }
}

/// Read `input` on a splitter and two workers while `consume` takes the prepared
/// batches in file order on this thread; returns what `consume` returns (the other
/// threads stop once it has).
pub(super) fn read_in_parallel<R, T>(
    input: R,
    consume: impl FnOnce(&mut dyn Iterator<Item = Result<Vec<PreparedRecord>, LdifError>>) -> T,
) -> T
where
    R: BufRead + Send,
{
    std::thread::scope(|scope| {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let (spent_tx, spent_rx) = sync_channel(2 * INPUT_DEPTH + 2);
        for _ in 0..2 {
            let (in_tx, in_rx) = sync_channel(INPUT_DEPTH);
            let (out_tx, out_rx) = sync_channel(OUTPUT_DEPTH);
            let spent = spent_tx.clone();
            scope.spawn(move || work(in_rx, out_tx, spent));
            inputs.push(in_tx);
            outputs.push(out_rx);
        }
        drop(spent_tx);
        scope.spawn(move || split(input, &inputs, &spent_rx));
        let mut ordered = InOrder {
            outputs,
            k: 0,
            done: false,
        };
        consume(&mut ordered)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::ldif::LdifRecord;

    /// The records (and the error) of `bytes`, read by one reader or in segments.
    fn read(bytes: &[u8], parallel: bool) -> (Vec<LdifRecord>, Option<String>) {
        let collect = |batches: &mut dyn Iterator<Item = Result<Vec<PreparedRecord>, LdifError>>| {
            let mut recs = Vec::new();
            for b in batches {
                match b {
                    Ok(b) => recs.extend(b.iter().map(|p| p.record().clone())),
                    Err(e) => return (recs, Some(e.to_string())),
                }
            }
            (recs, None)
        };
        if parallel {
            read_in_parallel(bytes, collect)
        } else {
            collect(&mut Batches::new(bytes))
        }
    }

    /// A PKD-like file of `n` entries: folded base64 values, comments, CRLF ends and
    /// runs of empty lines here and there.
    fn file(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"version: 1\n\n");
        for i in 0..n {
            let nl: &[u8] = if i % 7 == 3 { b"\r\n" } else { b"\n" };
            let mut line = |t: &str| {
                out.extend_from_slice(t.as_bytes());
                out.extend_from_slice(nl);
            };
            if i % 11 == 5 {
                line("# a comment");
                line(" folded into it");
            }
            line(&format!("dn: cn=e{i},o=dsc,c=UT,dc=data"));
            line(&format!("pkdVersion: {i}"));
            line("blob;binary:: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1");
            for _ in 0..12 {
                line(" Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1u");
            }
            line(" b3A=");
            line("");
            if i % 13 == 0 {
                line("");
            }
        }
        out
    }

    #[test]
    fn segments_give_the_records_and_errors_of_one_reader() {
        let good = file(3_000);
        assert!(good.len() > 4 * SEGMENT);
        let (recs, err) = read(&good, true);
        assert_eq!(err, None);
        assert_eq!(recs.len(), 3_001);
        assert_eq!((recs, err), read(&good, false));
        // a bad line deep in the file: the same records before it, the same error
        let mut bad = good.clone();
        let at = bad.len() - 100_000;
        let at = at + bad.get(at..).unwrap().iter().position(|b| *b == b'\n').unwrap() + 1;
        bad.splice(at..at, b"no colon here\n".iter().copied());
        let (recs, err) = read(&bad, true);
        assert!(
            err.as_deref().is_some_and(|e| e.ends_with("missing ':'")),
            "{err:?}"
        );
        assert_eq!((recs, err), read(&bad, false));
        // cut off: the last record is unterminated and at the end in both
        let cut = good.get(..good.len() - 40).unwrap();
        let (recs, err) = read(cut, true);
        assert!(recs.last().is_some_and(|r| r.unterminated && r.at_eof));
        assert_eq!((recs, err), read(cut, false));
        // no empty line at all: one segment, streamed, refused where one reader is
        let mut flat = b"dn: cn=x\n".to_vec();
        flat.extend(b"a: 1\n".repeat(2 * SEGMENT / 5));
        let (recs, err) = read(&flat, true);
        assert!(err.is_some());
        assert_eq!((recs, err), read(&flat, false));
    }

    #[test]
    fn empty_lines_are_found_across_chunks_and_line_ends() {
        assert_eq!(empty_line_end(*b"ab", b"c\n\nd", 0), Some(3));
        assert_eq!(empty_line_end(*b"ab", b"c\r\n\r\nd", 0), Some(5));
        assert_eq!(empty_line_end(*b"a\n", b"\nd", 0), Some(1));
        assert_eq!(empty_line_end(*b"\n\r", b"\nd", 0), Some(1));
        assert_eq!(empty_line_end(*b"\n\n", b"\n", 0), Some(1));
        // a continuation line of one space is not empty
        assert_eq!(empty_line_end(*b"ab", b"c\n \nd\n", 0), None);
        assert_eq!(empty_line_end(*b"ab", b"c\n\nd\n\n", 4), Some(6));
    }
}

//! A streaming reader (and a small writer) for the LDIF files of the ICAO PKD
//! (RFC 2849 as used by the PKD downloads: collection 001 `dc=data` with DSCs in
//! `userCertificate;binary` and CRLs in `certificateRevocationList;binary`, 002 with
//! master lists in `pkdMasterListContent`, 003 `dc=nc-data` with non-conformant DSCs
//! and CRLs carrying `pkdConformanceCode`/`pkdConformanceText`; `pkdVersion` everywhere).
//!
//! The reader holds one record at a time (the DSC/CRL collection is ~76 MB), unfolds
//! continuation lines (a line starting with one space continues the previous one),
//! decodes `attr:: base64` values and `dn::` names, skips comments, and reports where
//! each record and value started so errors can name the line.
//!
//! Bounds (docs/limits.md): an unfolded line is at most [`MAX_LOGICAL_LINE`] bytes, a
//! dn at most [`MAX_DN`] (it is copied into every provenance row and error line of its
//! record), an attribute description at most [`MAX_ATTR_NAME`], a record at most
//! [`MAX_ATTRS`] attributes and [`MAX_RECORD_VALUES`] bytes of values. A file past
//! any of them is refused with the line where it happened; memory stays proportional
//! to one record.

use std::io::{BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use thiserror::Error;

/// LDIF problems.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LdifError {
    /// Reading failed.
    #[error("read error")]
    Io(#[from] std::io::Error),
    /// A line that is not `name: value`, `name:: base64` or a continuation.
    #[error("line {line}: {what}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A line longer than [`MAX_LOGICAL_LINE`] bytes after unfolding.
    #[error("line {line}: value longer than {MAX_LOGICAL_LINE} bytes")]
    TooLong {
        /// 1-based line where the value started.
        line: usize,
    },
    /// A dn longer than [`MAX_DN`] bytes.
    #[error("line {line}: dn longer than {MAX_DN} bytes")]
    DnTooLong {
        /// 1-based line of the dn.
        line: usize,
    },
    /// A record with more than [`MAX_ATTRS`] attributes or [`MAX_RECORD_VALUES`]
    /// bytes of values.
    #[error("line {line}: the record starting here has more than {limit}")]
    RecordTooLarge {
        /// 1-based line where the record started.
        line: usize,
        /// The limit passed (`4096 attributes`, …).
        limit: String,
    },
}

/// Limit for one unfolded line (a master list is ~1 MB of DER, ~1.4 MB base64).
pub const MAX_LOGICAL_LINE: usize = 64 * 1024 * 1024;
/// Longest dn (an ICAO PKD dn, `cn=` + an escaped certificate subject + `sn=` + the
/// serial + the collection's suffix, is a few hundred bytes).
pub const MAX_DN: usize = 8 * 1024;
/// Longest attribute description (`userCertificate;binary` is 22).
pub const MAX_ATTR_NAME: usize = 256;
/// Most attributes in one record (a PKD entry has about ten).
pub const MAX_ATTRS: usize = 4_096;
/// Most bytes of (decoded) values in one record: one master list and its companions.
pub const MAX_RECORD_VALUES: usize = MAX_LOGICAL_LINE + 1024 * 1024;

/// The name under which a change record's `-` line (the end of one modification,
/// RFC 2849) appears in [`LdifRecord::attrs`].
pub const MOD_SEPARATOR: &str = "-";

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdifAttr {
    /// Attribute description (`userCertificate;binary`).
    pub name: String,
    /// Decoded value (for `::` values, the base64-decoded bytes).
    pub value: Vec<u8>,
    /// 1-based line where it started.
    pub line: usize,
    /// The value was `::` base64 and did not decode (then `value` is empty).
    pub bad_base64: bool,
}

/// One record (entry).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LdifRecord {
    /// 1-based line of its first line.
    pub line: usize,
    /// Distinguished name (empty for the `version:` preamble).
    pub dn: String,
    /// Attributes in order (dn excluded).
    pub attrs: Vec<LdifAttr>,
    /// The file ended inside this record without a final newline: it may be cut.
    pub unterminated: bool,
    /// This is the last record of the file.
    pub at_eof: bool,
}

impl LdifRecord {
    /// First value of an attribute (case-insensitive name, options included).
    pub fn get(&self, name: &str) -> Option<&LdifAttr> {
        self.attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// First value of an attribute as text.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|a| String::from_utf8_lossy(&a.value).trim().to_owned())
    }

    /// First attribute whose name matches `pred`.
    pub fn find(&self, pred: impl Fn(&str) -> bool) -> Option<&LdifAttr> {
        self.attrs.iter().find(|a| pred(&a.name.to_ascii_lowercase()))
    }
}

/// Streaming reader.
#[derive(Debug)]
pub struct LdifReader<R: BufRead> {
    input: R,
    line_no: usize,
    /// A physical line read ahead (not a continuation): whether it ended with a
    /// newline, and its number; its text is in `lookahead_text`.
    lookahead: Option<(bool, usize)>,
    lookahead_text: Vec<u8>,
    /// Reused buffer for physical lines.
    scratch: Vec<u8>,
    /// Reused buffer for logical lines.
    text: Vec<u8>,
    done: bool,
}

impl<R: BufRead> LdifReader<R> {
    /// Read from `input`.
    pub fn new(input: R) -> Self {
        LdifReader {
            input,
            line_no: 0,
            lookahead: None,
            lookahead_text: Vec::new(),
            scratch: Vec::new(),
            text: Vec::new(),
            done: false,
        }
    }

    /// Read from `input`, the part of a file after its first `lines` lines (which
    /// ended with a record: an empty line): records and errors name the lines of the
    /// whole file.
    pub fn after_lines(input: R, lines: usize) -> Self {
        LdifReader {
            line_no: lines,
            ..Self::new(input)
        }
    }

    /// Lines read so far.
    pub fn line(&self) -> usize {
        self.line_no
    }

    /// Read the next physical line into `buf` (replacing it), without its terminator:
    /// whether it had one, and its number.
    fn physical_into(&mut self, buf: &mut Vec<u8>) -> Result<Option<(bool, usize)>, LdifError> {
        buf.clear();
        if let Some(l) = self.lookahead.take() {
            std::mem::swap(buf, &mut self.lookahead_text);
            return Ok(Some(l));
        }
        // bounded: a hostile file without line ends must not exhaust memory
        let n = (&mut self.input)
            .take(MAX_LOGICAL_LINE as u64 + 1)
            .read_until(b'\n', buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        if buf.len() > MAX_LOGICAL_LINE {
            return Err(LdifError::TooLong { line: self.line_no });
        }
        let terminated = buf.last() == Some(&b'\n');
        if terminated {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        Ok(Some((terminated, self.line_no)))
    }

    /// Next logical (unfolded) line into `text`: (first line number, ended with newline).
    fn logical(&mut self, text: &mut Vec<u8>) -> Result<Option<(usize, bool)>, LdifError> {
        let Some((mut terminated, start)) = self.physical_into(text)? else {
            return Ok(None);
        };
        if text.is_empty() {
            return Ok(Some((start, terminated)));
        }
        let mut next = std::mem::take(&mut self.scratch);
        loop {
            match self.physical_into(&mut next)? {
                Some((t, _)) if next.first() == Some(&b' ') => {
                    if text.len() + next.len() > MAX_LOGICAL_LINE {
                        return Err(LdifError::TooLong { line: start });
                    }
                    text.extend_from_slice(next.get(1..).unwrap_or_default());
                    terminated = t;
                }
                Some(other) => {
                    self.lookahead = Some(other);
                    std::mem::swap(&mut self.lookahead_text, &mut next);
                    break;
                }
                None => break,
            }
        }
        self.scratch = next;
        Ok(Some((start, terminated)))
    }

    /// The next record, or `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<LdifRecord>, LdifError> {
        // one buffer for the logical lines of every record (kept unless a huge line
        // made it large)
        let mut text = std::mem::take(&mut self.text);
        let rec = self.read_record(&mut text);
        if text.capacity() <= 1024 * 1024 {
            self.text = text;
        }
        rec
    }

    fn read_record(&mut self, text: &mut Vec<u8>) -> Result<Option<LdifRecord>, LdifError> {
        if self.done {
            return Ok(None);
        }
        let mut rec = LdifRecord {
            attrs: Vec::with_capacity(16),
            ..LdifRecord::default()
        };
        let mut have = false;
        let mut values = 0usize;
        loop {
            let Some((line, terminated)) = self.logical(text)? else {
                self.done = true;
                rec.at_eof = true;
                return Ok(have.then_some(rec));
            };
            if text.is_empty() {
                if have {
                    return Ok(Some(rec));
                }
                continue;
            }
            if text.first() == Some(&b'#') {
                continue;
            }
            if !have {
                rec.line = line;
                have = true;
            }
            if !terminated {
                rec.unterminated = true;
            }
            if text.as_slice() == b"-" {
                // the separator between the modifications of a change record
                // (RFC 2849 `mod-spec`): kept as an attribute named `-`
                if rec.attrs.len() >= MAX_ATTRS {
                    return Err(LdifError::RecordTooLarge {
                        line: rec.line,
                        limit: format!("{MAX_ATTRS} attributes"),
                    });
                }
                rec.attrs.push(LdifAttr {
                    name: MOD_SEPARATOR.to_owned(),
                    value: Vec::new(),
                    line,
                    bad_base64: false,
                });
                continue;
            }
            let colon = text.iter().position(|b| *b == b':').ok_or(LdifError::Syntax {
                line,
                what: "missing ':'",
            })?;
            if colon > MAX_ATTR_NAME {
                return Err(LdifError::Syntax {
                    line,
                    what: "attribute description longer than 256 bytes",
                });
            }
            let name = String::from_utf8_lossy(text.get(..colon).unwrap_or_default())
                .trim()
                .to_owned();
            let rest = text.get(colon + 1..).unwrap_or_default();
            let (value, bad_base64) = match rest.first() {
                Some(b':') => {
                    let raw = rest.get(1..).unwrap_or_default().trim_ascii();
                    let decoded = if raw.iter().any(u8::is_ascii_whitespace) {
                        let b64: Vec<u8> = raw.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
                        STANDARD.decode(&b64)
                    } else {
                        STANDARD.decode(raw)
                    };
                    match decoded {
                        Ok(v) => (v, false),
                        Err(_) => (Vec::new(), true),
                    }
                }
                Some(b'<') => {
                    return Err(LdifError::Syntax {
                        line,
                        what: "URL values (':<') are refused: an import never opens files or URLs named inside an LDIF",
                    });
                }
                _ => {
                    let skip = rest.iter().take_while(|b| **b == b' ').count();
                    (rest.get(skip..).unwrap_or_default().to_vec(), false)
                }
            };
            if name.eq_ignore_ascii_case("dn") {
                if value.len() > MAX_DN {
                    return Err(LdifError::DnTooLong { line });
                }
                rec.dn = String::from_utf8(value)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            } else {
                values = values.saturating_add(value.len());
                let limit = if rec.attrs.len() >= MAX_ATTRS {
                    Some(format!("{MAX_ATTRS} attributes"))
                } else if values > MAX_RECORD_VALUES {
                    Some(format!("{MAX_RECORD_VALUES} bytes of values"))
                } else {
                    None
                };
                if let Some(limit) = limit {
                    return Err(LdifError::RecordTooLarge {
                        line: rec.line,
                        limit,
                    });
                }
                rec.attrs.push(LdifAttr {
                    name,
                    value,
                    line,
                    bad_base64,
                });
            }
        }
    }
}

/// True when a value must be written base64 (RFC 2849 SAFE-STRING rules).
fn needs_base64(v: &[u8]) -> bool {
    match v.first() {
        None => false,
        Some(b' ' | b':' | b'<') => true,
        _ => {
            v.iter()
                .any(|b| *b == 0 || *b == b'\n' || *b == b'\r' || *b >= 0x80)
                || v.last() == Some(&b' ')
        }
    }
}

/// Write one `name: value` line, folded at 76 columns, base64 when needed or forced.
pub fn write_attr(w: &mut impl Write, name: &str, value: &[u8], force_base64: bool) -> std::io::Result<()> {
    let line = if force_base64 || needs_base64(value) {
        format!("{name}:: {}", STANDARD.encode(value))
    } else {
        format!("{name}: {}", String::from_utf8_lossy(value))
    };
    let bytes = line.as_bytes();
    let (first, mut rest) = bytes.split_at(bytes.len().min(76));
    w.write_all(first)?;
    w.write_all(b"\n")?;
    while !rest.is_empty() {
        let (chunk, r) = rest.split_at(rest.len().min(75));
        w.write_all(b" ")?;
        w.write_all(chunk)?;
        w.write_all(b"\n")?;
        rest = r;
    }
    Ok(())
}

/// Write one record: dn, then attributes (`(name, value, base64)`), then a blank line.
pub fn write_record(w: &mut impl Write, dn: &str, attrs: &[(&str, &[u8], bool)]) -> std::io::Result<()> {
    write_attr(w, "dn", dn.as_bytes(), false)?;
    for (n, v, b) in attrs {
        write_attr(w, n, v, *b)?;
    }
    w.write_all(b"\n")
}

/// Escape a value for use inside an LDAP DN (RFC 4514 §2.4).
pub fn escape_dn(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        if matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "version: 1\n\n# comment\ndn: cn=a\\,b,o=dsc,c=DE,dc=data,dc=download,dc=pkd,dc=icao,dc=int\npkdVersion: 12\nuserCertificate;binary:: AAEC\n A/8=\nobjectClass: top\n\ndn:: Y249eA==\nsn: 1\n";

    #[test]
    fn reads_records_unfolds_and_decodes() {
        let mut r = LdifReader::new(SAMPLE.as_bytes());
        let v = r.next_record().unwrap().unwrap();
        assert_eq!(v.dn, "");
        assert_eq!(v.text("version").as_deref(), Some("1"));
        let a = r.next_record().unwrap().unwrap();
        assert_eq!(a.line, 4);
        assert!(a.dn.starts_with("cn=a\\,b,o=dsc"));
        assert_eq!(a.text("pkdVersion").as_deref(), Some("12"));
        let c = a.get("userCertificate;binary").unwrap();
        assert_eq!(c.value, vec![0, 1, 2, 3, 0xFF]);
        assert_eq!(c.line, 6);
        assert!(!a.unterminated);
        let b = r.next_record().unwrap().unwrap();
        assert_eq!(b.dn, "cn=x");
        assert_eq!(b.line, 10);
        assert!(b.at_eof);
        assert!(r.next_record().unwrap().is_none());
    }

    #[test]
    fn cut_file_marks_last_record_unterminated() {
        let cut = &SAMPLE[..SAMPLE.find("A/8=").unwrap() + 2];
        let mut r = LdifReader::new(cut.as_bytes());
        r.next_record().unwrap();
        let a = r.next_record().unwrap().unwrap();
        assert!(a.unterminated);
        assert!(a.at_eof);
        assert!(a.get("userCertificate;binary").unwrap().bad_base64);
    }

    #[test]
    fn crlf_line_ends() {
        let s = SAMPLE.replace('\n', "\r\n");
        let mut r = LdifReader::new(s.as_bytes());
        r.next_record().unwrap();
        let a = r.next_record().unwrap().unwrap();
        assert_eq!(
            a.get("userCertificate;binary").unwrap().value,
            vec![0, 1, 2, 3, 0xFF]
        );
    }

    #[test]
    fn long_dn_is_refused_with_its_line() {
        let ok = format!("dn: cn={}\nsn: 1\n", "a".repeat(MAX_DN - 3));
        assert_eq!(
            LdifReader::new(ok.as_bytes())
                .next_record()
                .unwrap()
                .unwrap()
                .dn
                .len(),
            MAX_DN
        );
        let long = format!("version: 1\n\ndn: cn={}\nsn: 1\n", "a".repeat(MAX_DN));
        let mut r = LdifReader::new(long.as_bytes());
        r.next_record().unwrap();
        let e = r.next_record().unwrap_err();
        assert!(matches!(e, LdifError::DnTooLong { line: 3 }), "{e}");
        assert_eq!(e.to_string(), "line 3: dn longer than 8192 bytes");
    }

    #[test]
    fn attributes_per_record_are_bounded() {
        let mut ok = String::from("dn: cn=x\n");
        ok.push_str(&"a: 1\n".repeat(MAX_ATTRS));
        assert_eq!(
            LdifReader::new(ok.as_bytes())
                .next_record()
                .unwrap()
                .unwrap()
                .attrs
                .len(),
            MAX_ATTRS
        );
        ok.push_str("a: 1\n");
        let e = LdifReader::new(ok.as_bytes()).next_record().unwrap_err();
        assert!(matches!(e, LdifError::RecordTooLarge { line: 1, .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "line 1: the record starting here has more than 4096 attributes"
        );
        let name = format!("dn: cn=x\n{}: 1\n", "n".repeat(MAX_ATTR_NAME + 1));
        assert!(matches!(
            LdifReader::new(name.as_bytes()).next_record(),
            Err(LdifError::Syntax { line: 2, .. })
        ));
    }

    proptest! {
        #[test]
        fn write_read_roundtrip(value in proptest::collection::vec(any::<u8>(), 0..400), text in "[a-zA-Z0-9 =,]{0,120}") {
            let mut out = Vec::new();
            write_record(&mut out, "cn=test,c=XX", &[("bin;binary", &value, true), ("t", text.as_bytes(), false)]).unwrap();
            for line in out.split(|b| *b == b'\n') {
                prop_assert!(line.len() <= 76);
            }
            let mut r = LdifReader::new(out.as_slice());
            let rec = r.next_record().unwrap().unwrap();
            prop_assert_eq!(&rec.get("bin;binary").unwrap().value, &value);
            prop_assert_eq!(rec.get("t").unwrap().value.as_slice(), text.as_bytes());
        }

        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut r = LdifReader::new(bytes.as_slice());
            for _ in 0..50 {
                match r.next_record() { Ok(Some(_)) => {}, _ => break }
            }
        }
    }
}

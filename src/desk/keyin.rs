//! Access keys as a desk receives them: MRZ lines typed by a keyboard-wedge OCR
//! scanner or the officer (stdin or the page), sent over a serial line, or a CAN.
//!
//! Lines are recognised by their length (Doc 9303 Part 4: 2 × 44, Part 6: 2 × 36,
//! Part 5: 3 × 30) and their check digits (Part 3 §4.9) are validated as each line
//! arrives, so a misread line is refused at once and the officer rescans. A complete
//! MRZ is parsed by [`crate::mrz::Mrz`] and becomes the BAC/PACE key; a line of 4 to
//! 12 digits is a CAN. Lines starting with `:` are desk commands (`:place`,
//! `:remove`, `:clear`), which no MRZ can start with.

use zeroize::Zeroizing;

use crate::access::password::{MrzKey, Password};
use crate::mrz::{Mrz, check_digit};

/// A desk command typed on stdin (lines starting with `:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `--emulator` only: put the emulated document on the reader (optionally another
    /// profile: `:place PATH`).
    Place(Option<String>),
    /// `--emulator` only: take the emulated document off the reader.
    Remove,
    /// Forget the key and any partial MRZ.
    Clear,
}

/// What one input line did.
#[derive(Debug)]
pub enum KeyEvent {
    /// A line of an MRZ was accepted; more are expected.
    Partial {
        /// Lines so far.
        have: usize,
        /// Lines of this format.
        of: usize,
    },
    /// A whole access key.
    Key(AccessKey),
    /// The input was refused (the message says why, without echoing it).
    Rejected(String),
    /// A desk command.
    Command(Command),
    /// An empty line.
    Nothing,
}

/// A complete access key and what may be said about it on screen.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// The BAC/PACE password.
    pub password: Password,
    /// "MRZ (TD3)" or "CAN": shown on the page (never the key itself).
    pub kind: String,
}

/// Assembles MRZ lines into a key.
#[derive(Default)]
pub struct KeyAssembler {
    lines: Vec<Zeroizing<String>>,
}

impl std::fmt::Debug for KeyAssembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyAssembler")
            .field("lines", &self.lines.len())
            .finish()
    }
}

/// Lines of an MRZ with lines of `len` characters.
fn lines_of(len: usize) -> Option<usize> {
    match len {
        44 | 36 => Some(2),
        30 => Some(3),
        _ => None,
    }
}

fn is_mrz_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase() || c == '<'
}

/// The check-digit-protected fields of line `index` (0-based) of an MRZ with lines of
/// `len` characters: (field name, field range, check digit position).
fn fields(len: usize, index: usize) -> &'static [(&'static str, usize, usize, usize)] {
    match (len, index) {
        // TD3 and TD2 line 2: number 1–9 (10), birth 14–19 (20), expiry 22–27 (28)
        (44 | 36, 1) => &[
            ("document number", 0, 9, 9),
            ("date of birth", 13, 19, 19),
            ("date of expiry", 21, 27, 27),
        ],
        // TD1 line 2: birth 1–6 (7), expiry 9–14 (15)
        (30, 1) => &[("date of birth", 0, 6, 6), ("date of expiry", 8, 14, 14)],
        _ => &[],
    }
}

/// The first failing check digit of a line, by field name. A TD1 line 1 and TD2
/// document number whose check digit is `<` continue in the optional data (Part 5
/// note j): those are checked when the whole MRZ is parsed.
fn line_problem(len: usize, index: usize, line: &str) -> Option<&'static str> {
    let line: Vec<char> = line.chars().collect();
    if len == 30 && index == 0 {
        let cd = *line.get(14)?;
        if cd == '<' {
            return None;
        }
        let field: String = line.get(5..14)?.iter().collect();
        return (check_digit(&field).map(|d| char::from(b'0' + d)) != Some(cd)).then_some("document number");
    }
    for &(name, from, to, at) in fields(len, index) {
        let cd = *line.get(at)?;
        if name == "document number" && len == 36 && cd == '<' {
            continue;
        }
        let field: String = line.get(from..to)?.iter().collect();
        if check_digit(&field).map(|d| char::from(b'0' + d)) != Some(cd) {
            return Some(name);
        }
    }
    None
}

impl KeyAssembler {
    /// A fresh assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget any partial MRZ.
    pub fn clear(&mut self) {
        self.lines.clear();
    }

    /// Lines of a partial MRZ held.
    pub fn pending(&self) -> usize {
        self.lines.len()
    }

    /// Feed one input line.
    pub fn feed(&mut self, raw: &str) -> KeyEvent {
        let text = raw.trim();
        if text.is_empty() {
            return KeyEvent::Nothing;
        }
        if let Some(cmd) = text.strip_prefix(':') {
            let mut words = cmd.split_whitespace();
            return match (words.next(), words.next()) {
                (Some("place"), arg) => KeyEvent::Command(Command::Place(arg.map(str::to_string))),
                (Some("remove"), None) => KeyEvent::Command(Command::Remove),
                (Some("clear"), None) => KeyEvent::Command(Command::Clear),
                _ => KeyEvent::Rejected("unknown desk command (known: :place, :remove, :clear)".into()),
            };
        }
        let line = Zeroizing::new(text.to_ascii_uppercase());
        // a CAN: 4 to 12 digits on a line of its own
        if (4..=12).contains(&line.len()) && line.bytes().all(|b| b.is_ascii_digit()) {
            self.lines.clear();
            return match Password::can(&line) {
                Ok(password) => KeyEvent::Key(AccessKey {
                    password,
                    kind: "CAN".into(),
                }),
                Err(e) => KeyEvent::Rejected(format!("the CAN is not usable: {e}")),
            };
        }
        // a whole MRZ in one block (88, 72 or 90 characters) or several lines pasted
        if line.contains(char::is_whitespace) || matches!(line.len(), 88 | 72 | 90) {
            self.lines.clear();
            return complete(&line);
        }
        let len = line.chars().count();
        let Some(count) = lines_of(len) else {
            self.lines.clear();
            return KeyEvent::Rejected(format!(
                "a line of {len} characters is not an MRZ line (44, 36 or 30) nor a CAN: scan again"
            ));
        };
        if !line.chars().all(is_mrz_char) {
            self.lines.clear();
            return KeyEvent::Rejected(
                "the line holds characters an MRZ cannot have (only A-Z, 0-9 and <): scan again".into(),
            );
        }
        let same_format = self
            .lines
            .first()
            .is_some_and(|first| first.chars().count() == len);
        if !same_format {
            self.lines.clear();
        }
        let index = self.lines.len();
        if let Some(field) = line_problem(len, index, &line) {
            self.lines.clear();
            return KeyEvent::Rejected(format!(
                "the check digit of the {field} is wrong (line {} of the MRZ): scan again",
                index + 1
            ));
        }
        self.lines.push(line);
        if self.lines.len() < count {
            return KeyEvent::Partial {
                have: self.lines.len(),
                of: count,
            };
        }
        let joined = Zeroizing::new(
            self.lines
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        self.lines.clear();
        complete(&joined)
    }
}

/// A whole MRZ text to a key: every check digit must hold.
fn complete(text: &str) -> KeyEvent {
    let mrz = match Mrz::parse(text) {
        Ok(m) => m,
        Err(e) => return KeyEvent::Rejected(format!("the MRZ cannot be read: {e}")),
    };
    if let Some(bad) = mrz.failing_check_digits().next() {
        return KeyEvent::Rejected(format!(
            "the check digit of the {} is wrong: scan again",
            bad.field.name()
        ));
    }
    match MrzKey::from_mrz(&mrz) {
        Ok(k) => KeyEvent::Key(AccessKey {
            password: Password::Mrz(k),
            kind: format!("MRZ ({})", mrz.format().name()),
        }),
        Err(e) => KeyEvent::Rejected(format!("the MRZ gives no access key: {e}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    // Doc 9303 Part 4 Appendix (specimen), Part 5 and Part 6 examples
    const TD3: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];
    const TD1: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];
    const TD2: [&str; 2] = [
        "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "D231458907UTO7408122F1204159<<<<<<<6",
    ];

    fn key_kind(e: KeyEvent) -> String {
        match e {
            KeyEvent::Key(k) => k.kind,
            other => panic!("expected a key, got {other:?}"),
        }
    }

    #[test]
    fn td3_two_lines() {
        let mut a = KeyAssembler::new();
        assert!(matches!(a.feed(TD3[0]), KeyEvent::Partial { have: 1, of: 2 }));
        assert_eq!(key_kind(a.feed(TD3[1])), "MRZ (TD3)");
        assert_eq!(a.pending(), 0);
    }

    #[test]
    fn td1_three_lines_and_td2() {
        let mut a = KeyAssembler::new();
        assert!(matches!(a.feed(TD1[0]), KeyEvent::Partial { have: 1, of: 3 }));
        assert!(matches!(a.feed(TD1[1]), KeyEvent::Partial { have: 2, of: 3 }));
        assert_eq!(key_kind(a.feed(TD1[2])), "MRZ (TD1)");
        a.feed(TD2[0]);
        assert_eq!(key_kind(a.feed(TD2[1])), "MRZ (TD2)");
    }

    #[test]
    fn a_wrong_check_digit_is_refused_on_its_line() {
        let mut a = KeyAssembler::new();
        a.feed(TD3[0]);
        // birth check digit 2 → 3
        let bad = TD3[1].replacen("7408122", "7408123", 1);
        match a.feed(&bad) {
            KeyEvent::Rejected(m) => {
                assert!(m.contains("date of birth"), "{m}");
                assert!(!m.contains("740812"), "the message echoes the MRZ: {m}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.pending(), 0);
        // TD1 line 1: document number check digit
        let bad1 = TD1[0].replacen("D231458907", "D231458908", 1);
        assert!(matches!(a.feed(&bad1), KeyEvent::Rejected(m) if m.contains("document number")));
    }

    #[test]
    fn composite_failure_is_refused_when_complete() {
        let mut a = KeyAssembler::new();
        a.feed(TD3[0]);
        let bad = format!("{}1", &TD3[1][..43]);
        assert!(matches!(a.feed(&bad), KeyEvent::Rejected(m) if m.contains("composite")));
    }

    #[test]
    fn wrong_lengths_and_characters_reset() {
        let mut a = KeyAssembler::new();
        a.feed(TD3[0]);
        assert!(matches!(a.feed("P<UTO"), KeyEvent::Rejected(_)));
        assert_eq!(a.pending(), 0);
        // a line of another format starts over
        a.feed(TD3[0]);
        assert!(matches!(a.feed(TD1[0]), KeyEvent::Partial { have: 1, of: 3 }));
        let lower_bad = "p<uto!riksson<<anna<maria<<<<<<<<<<<<<<<<<<<";
        assert!(matches!(a.feed(lower_bad), KeyEvent::Rejected(_)));
    }

    #[test]
    fn lowercase_and_one_block_and_can_and_commands() {
        let mut a = KeyAssembler::new();
        a.feed(&TD3[0].to_lowercase());
        assert_eq!(key_kind(a.feed(&TD3[1].to_lowercase())), "MRZ (TD3)");
        assert_eq!(key_kind(a.feed(&format!("{}{}", TD3[0], TD3[1]))), "MRZ (TD3)");
        assert_eq!(key_kind(a.feed(&format!("{} {}", TD3[0], TD3[1]))), "MRZ (TD3)");
        assert_eq!(key_kind(a.feed(" 123456 ")), "CAN");
        assert!(matches!(a.feed(":remove"), KeyEvent::Command(Command::Remove)));
        assert!(
            matches!(a.feed(":place x.toml"), KeyEvent::Command(Command::Place(Some(p))) if p == "x.toml")
        );
        assert!(matches!(a.feed(":bogus"), KeyEvent::Rejected(_)));
        assert!(matches!(a.feed("   "), KeyEvent::Nothing));
    }
}

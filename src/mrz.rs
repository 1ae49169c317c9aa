//! Machine readable zone (Doc 9303 Parts 3–7): parsing, check digits, BAC key information.
//!
//! - Part 3 §4.9: check digits (weights 7, 3, 1 over `0-9`, `A-Z`, `<`).
//! - Part 4 §4.2.2: TD3 (passport), 2 lines of 44 characters.
//! - Part 5 §4.2.2: TD1 (ID card), 3 lines of 30, with the long document number of
//!   note j: when the document number check digit position holds `<`, the number
//!   continues in the optional data up to the next `<`, its last character there being
//!   the check digit over the whole number.
//! - Part 6 §4.2.2: TD2, 2 lines of 36, same long document number rule.
//! - Part 7 §4.2.2 / §5.2.2: visas MRV-A (2 × 44) and MRV-B (2 × 36), document code
//!   starting with `V`, no composite check digit.
//! - Part 11 §9.7.2: `MRZ_information` (document number, date of birth, date of expiry,
//!   each with its check digit), the BAC and PACE MRZ password.
//!
//! A failing check digit never makes parsing fail: [`Mrz`] reports every check digit
//! (given and computed), tolerated real-world quirks as named [`MrzWarning`]s, and
//! violations of the Doc 9303 layout that still leave the fields readable as
//! [`MrzDefect`]s. Only input that cannot be cut into the fields of a known format is an
//! [`MrzError`].

mod input;
mod report;

use std::fmt;

use serde::Serialize;
use zeroize::{Zeroize, Zeroizing};

/// Check digit of Doc 9303 Part 3 §4.9: weights 7, 3, 1 over the character values
/// (digits as themselves, A–Z as 10–35, the filler `<` as 0). `None` when the field
/// holds a character outside `0-9A-Z<`.
pub fn check_digit(field: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in field.chars().enumerate() {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            '<' => 0,
            _ => return None,
        };
        let weight = match i % 3 {
            0 => 7,
            1 => 3,
            _ => 1,
        };
        sum += v * weight;
    }
    Some((sum % 10) as u8)
}

/// The filler character of Doc 9303 Part 3 §4.4.
pub const FILLER: char = '<';

/// The MRZ layouts of Doc 9303.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum MrzFormat {
    /// Part 5: size-1 card, 3 lines of 30.
    #[serde(rename = "TD1")]
    Td1,
    /// Part 6: size-2 card, 2 lines of 36.
    #[serde(rename = "TD2")]
    Td2,
    /// Part 4: passport book, 2 lines of 44.
    #[serde(rename = "TD3")]
    Td3,
    /// Part 7 §4: full-size visa, 2 lines of 44, document code `V`.
    #[serde(rename = "MRV-A")]
    MrvA,
    /// Part 7 §5: reduced-size visa, 2 lines of 36, document code `V`.
    #[serde(rename = "MRV-B")]
    MrvB,
}

impl MrzFormat {
    /// The name used by Doc 9303 (`TD1`, `MRV-A`, …).
    pub fn name(self) -> &'static str {
        match self {
            MrzFormat::Td1 => "TD1",
            MrzFormat::Td2 => "TD2",
            MrzFormat::Td3 => "TD3",
            MrzFormat::MrvA => "MRV-A",
            MrzFormat::MrvB => "MRV-B",
        }
    }

    /// Number of lines.
    pub fn line_count(self) -> usize {
        match self {
            MrzFormat::Td1 => 3,
            _ => 2,
        }
    }

    /// Characters per line.
    pub fn line_length(self) -> usize {
        match self {
            MrzFormat::Td1 => 30,
            MrzFormat::Td2 | MrzFormat::MrvB => 36,
            MrzFormat::Td3 | MrzFormat::MrvA => 44,
        }
    }

    /// What kind of document carries it.
    pub fn description(self) -> &'static str {
        match self {
            MrzFormat::Td1 => "size-1 card, 3 × 30",
            MrzFormat::Td2 => "size-2 card, 2 × 36",
            MrzFormat::Td3 => "passport, 2 × 44",
            MrzFormat::MrvA => "visa, 2 × 44",
            MrzFormat::MrvB => "visa, 2 × 36",
        }
    }

    /// Visas have no composite check digit and no check digit on the optional data.
    pub fn is_visa(self) -> bool {
        matches!(self, MrzFormat::MrvA | MrzFormat::MrvB)
    }

    /// TD1 and TD2 continue a document number longer than 9 characters in the
    /// optional data (Part 5 note j, Part 6 note j).
    fn has_long_document_number(self) -> bool {
        matches!(self, MrzFormat::Td1 | MrzFormat::Td2)
    }
}

impl fmt::Display for MrzFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A field protected by a check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckedField {
    /// The document number (the whole number for long TD1/TD2 numbers).
    DocumentNumber,
    /// Date of birth, YYMMDD.
    DateOfBirth,
    /// Date of expiry, YYMMDD.
    DateOfExpiry,
    /// TD3 positions 29–42 of line 2: personal number or other optional data.
    OptionalData,
    /// The composite check digit (TD1, TD2, TD3).
    Composite,
}

impl CheckedField {
    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            CheckedField::DocumentNumber => "document number",
            CheckedField::DateOfBirth => "date of birth",
            CheckedField::DateOfExpiry => "date of expiry",
            CheckedField::OptionalData => "optional data",
            CheckedField::Composite => "composite",
        }
    }
}

impl fmt::Display for CheckedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One check digit: the character found in the MRZ and the one computed over its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckDigit {
    /// The field it protects.
    pub field: CheckedField,
    /// The character in the MRZ (a digit, or `<` where a filler stands in its place).
    pub given: char,
    /// The digit computed over the field (`'0'..='9'`).
    pub computed: char,
    /// Whether `given` is accepted: equal to `computed`, or the filler `<` for an
    /// optional-data field made only of fillers (Part 4 note on the personal number).
    pub ok: bool,
}

/// A date of the MRZ, YYMMDD as printed. Unknown parts of a date of birth are
/// printed as fillers (`<<`).
#[derive(Clone, PartialEq, Eq, Serialize, Zeroize)]
#[serde(transparent)]
pub struct MrzDate {
    raw: String,
}

impl MrzDate {
    fn new(raw: &str) -> Self {
        MrzDate { raw: raw.to_owned() }
    }

    /// The six characters as printed.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    fn part(&self, at: usize) -> Option<u8> {
        let p = self.raw.get(at..at + 2)?;
        if p.bytes().all(|b| b.is_ascii_digit()) {
            p.parse().ok()
        } else {
            None
        }
    }

    /// Two-digit year, `None` when unknown (`<<`) or malformed.
    pub fn year(&self) -> Option<u8> {
        self.part(0)
    }

    /// Month 1–12 as printed, `None` when unknown (`<<`) or malformed.
    pub fn month(&self) -> Option<u8> {
        self.part(2)
    }

    /// Day as printed, `None` when unknown (`<<`) or malformed.
    pub fn day(&self) -> Option<u8> {
        self.part(4)
    }

    /// Whether the date is well formed: each of YY, MM, DD is two digits (month 01–12,
    /// a day that exists in that month; 29 February whenever the year may be a leap
    /// year) or, when `allow_unknown`, `<<`.
    pub fn is_well_formed(&self, allow_unknown: bool) -> bool {
        let Some(parts) = self.raw.as_bytes().get(..6).filter(|_| self.raw.len() == 6) else {
            return false;
        };
        let mut values = [None; 3];
        for (slot, pair) in values.iter_mut().zip(parts.chunks(2)) {
            match pair {
                [b'<', b'<'] if allow_unknown => *slot = None,
                [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
                    *slot = Some((a - b'0') * 10 + (b - b'0'))
                }
                _ => return false,
            }
        }
        let [year, month, day] = values;
        if month.is_some_and(|m| !(1..=12).contains(&m)) {
            return false;
        }
        if let Some(d) = day {
            let max = match month {
                Some(4 | 6 | 9 | 11) => 30,
                // The century is not in the MRZ: YY % 4 == 0 may be a leap year.
                Some(2) => match year {
                    Some(y) if y % 4 != 0 => 28,
                    _ => 29,
                },
                _ => 31,
            };
            if !(1..=max).contains(&d) {
                return false;
            }
        }
        true
    }
}

impl fmt::Debug for MrzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MrzDate(<redacted>)")
    }
}

/// A tolerated real-world quirk: the MRZ is accepted, and the quirk is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MrzWarning {
    /// The input had lowercase letters; they were converted to uppercase.
    LowercaseInput,
    /// The filler `<` stands as the check digit of a field made only of fillers
    /// (seen on Austrian and German passports); accepted as the digit 0.
    FillerCheckDigit {
        /// The field.
        field: CheckedField,
    },
    /// The document code does not start with the letter Doc 9303 gives this format
    /// (`P` for TD3; `A`, `C` or `I` for TD1 and TD2).
    UnexpectedDocumentCode {
        /// The format read.
        format: MrzFormat,
    },
}

impl MrzWarning {
    /// Stable identifier (JSON `code`).
    pub fn code(&self) -> &'static str {
        match self {
            MrzWarning::LowercaseInput => "lowercase_input",
            MrzWarning::FillerCheckDigit { .. } => "filler_check_digit",
            MrzWarning::UnexpectedDocumentCode { .. } => "unexpected_document_code",
        }
    }
}

impl fmt::Display for MrzWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MrzWarning::LowercaseInput => {
                f.write_str("the MRZ was given with lowercase letters; read as uppercase")
            }
            MrzWarning::FillerCheckDigit { field } => write!(
                f,
                "the {field} field is empty and its check digit is the filler '<'; accepted as 0"
            ),
            MrzWarning::UnexpectedDocumentCode { format } => {
                let expected = match format {
                    MrzFormat::Td3 => "'P'",
                    MrzFormat::MrvA | MrzFormat::MrvB => "'V'",
                    MrzFormat::Td1 | MrzFormat::Td2 => "'A', 'C' or 'I'",
                };
                write!(
                    f,
                    "the document code of a {format} MRZ should start with {expected}"
                )
            }
        }
    }
}

/// What is wrong with a long (more than 9 characters) TD1/TD2 document number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LongNumberProblem {
    /// The optional data holds only a check digit: no characters continue the number.
    NoContinuation,
    /// The optional data starts with a filler: no check digit at all.
    NoCheckDigit,
}

/// A violation of the Doc 9303 layout that leaves the fields readable. It makes the
/// MRZ invalid ([`Mrz::is_valid`]) without failing a check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MrzDefect {
    /// The name field holds more than one `<<` separator (Part 3 §4.6: one between
    /// the primary and the secondary identifier, single fillers inside each).
    NameSeparators {
        /// How many separators (runs of two or more fillers inside the name).
        count: usize,
    },
    /// The document number check digit position holds `<` (long number) but the
    /// optional data does not continue the number as Part 5 note j requires.
    LongDocumentNumber {
        /// What is missing.
        problem: LongNumberProblem,
    },
    /// A date is not YYMMDD (unknown parts `<<` are allowed in the date of birth only).
    InvalidDate {
        /// [`CheckedField::DateOfBirth`] or [`CheckedField::DateOfExpiry`].
        field: CheckedField,
    },
    /// The sex field is not `M`, `F`, `X` or `<`.
    InvalidSex,
}

impl MrzDefect {
    /// Stable identifier (JSON `code`).
    pub fn code(&self) -> &'static str {
        match self {
            MrzDefect::NameSeparators { .. } => "name_separators",
            MrzDefect::LongDocumentNumber { .. } => "long_document_number",
            MrzDefect::InvalidDate { .. } => "invalid_date",
            MrzDefect::InvalidSex => "invalid_sex",
        }
    }
}

impl fmt::Display for MrzDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MrzDefect::NameSeparators { count } => write!(
                f,
                "the name field has {count} '<<' separators (name components), \
                 Doc 9303 allows one, between primary and secondary identifier"
            ),
            MrzDefect::LongDocumentNumber { problem } => match problem {
                LongNumberProblem::NoContinuation => f.write_str(
                    "the document number check digit is '<' (long number) but the optional \
                     data holds only a check digit, no further characters of the number",
                ),
                LongNumberProblem::NoCheckDigit => f.write_str(
                    "the document number check digit is '<' (long number) but the optional \
                     data does not continue the number",
                ),
            },
            MrzDefect::InvalidDate { field } => match field {
                CheckedField::DateOfBirth => {
                    f.write_str("the date of birth is not YYMMDD (unknown parts as '<<')")
                }
                _ => write!(f, "the {field} is not a valid YYMMDD date"),
            },
            MrzDefect::InvalidSex => f.write_str("the sex field is not 'M', 'F', 'X' or '<'"),
        }
    }
}

/// Why an MRZ could not be parsed at all. Messages name positions and characters,
/// never MRZ content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MrzError {
    /// Nothing but whitespace.
    #[error("no MRZ given")]
    Empty,
    /// Not 2 or 3 lines.
    #[error("expected 2 or 3 MRZ lines, found {found}")]
    LineCount {
        /// Lines found.
        found: usize,
    },
    /// One block of characters whose length is no known format.
    #[error(
        "unknown MRZ format: {length} characters without line breaks, expected 90 (TD1), \
         72 (TD2, MRV-B) or 88 (TD3, MRV-A)"
    )]
    UnknownLength {
        /// Characters found.
        length: usize,
    },
    /// Two lines whose lengths match no format.
    #[error(
        "unknown MRZ format: lines of {} characters, expected 3 × 30 (TD1), 2 × 36 \
         (TD2, MRV-B) or 2 × 44 (TD3, MRV-A)",
        input::join_lengths(lengths)
    )]
    UnknownLineLengths {
        /// Length of each line.
        lengths: Vec<usize>,
    },
    /// A line of the wrong length in an otherwise recognised format.
    #[error("wrong line length {length} for line {line}, expected {expected} ({format})")]
    LineLength {
        /// Line number, from 1.
        line: usize,
        /// Characters found.
        length: usize,
        /// Characters expected.
        expected: usize,
        /// The format recognised.
        format: MrzFormat,
    },
    /// A character outside `0-9`, `A-Z`, `<` (and, in typed input, `a-z`).
    #[error("invalid character {ch:?} at line {line} position {position}")]
    InvalidCharacter {
        /// The character.
        ch: char,
        /// Line number, from 1.
        line: usize,
        /// Position in the line, from 1.
        position: usize,
    },
}

/// A parsed machine readable zone.
///
/// Holds personal data and the BAC password: `Debug` is redacted and the text is
/// zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Mrz {
    format: MrzFormat,
    lines: Vec<String>,
    document_code: String,
    issuing_state: String,
    name_field: String,
    primary_identifier: String,
    secondary_identifier: String,
    document_number: String,
    nationality: String,
    birth: MrzDate,
    sex: char,
    expiry: MrzDate,
    optional_data: String,
    optional_data_2: Option<String>,
    check_digits: Vec<CheckDigit>,
    warnings: Vec<MrzWarning>,
    defects: Vec<MrzDefect>,
}

impl Drop for Mrz {
    fn drop(&mut self) {
        self.lines.zeroize();
        self.name_field.zeroize();
        self.primary_identifier.zeroize();
        self.secondary_identifier.zeroize();
        self.document_number.zeroize();
        self.birth.zeroize();
        self.expiry.zeroize();
        self.optional_data.zeroize();
        self.optional_data_2.zeroize();
    }
}

impl fmt::Debug for Mrz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mrz")
            .field("format", &self.format)
            .field("check_digits", &self.check_digits)
            .field("warnings", &self.warnings)
            .field("defects", &self.defects)
            .finish_non_exhaustive()
    }
}

impl std::str::FromStr for Mrz {
    type Err = MrzError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mrz::parse(s)
    }
}

/// Reads consecutive fields of one validated line. Lines reach it only after their
/// length was checked against the format, and the layouts below add up to that
/// length (unit-tested), so `take` never runs short; if it did, it would yield a
/// shorter field rather than panic.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a str) -> Self {
        Cursor { rest: line }
    }

    fn take(&mut self, n: usize) -> &'a str {
        match self.rest.split_at_checked(n) {
            Some((field, rest)) => {
                self.rest = rest;
                field
            }
            None => std::mem::take(&mut self.rest),
        }
    }

    /// Date of birth and its check digit, sex, date of expiry and its check digit: the
    /// run the second line of every format holds.
    fn dates(&mut self) -> (&'a str, char, char, &'a str, char) {
        (
            self.take(6),
            self.take_char(),
            self.take_char(),
            self.take(6),
            self.take_char(),
        )
    }

    fn take_char(&mut self) -> char {
        self.take(1).chars().next().unwrap_or(FILLER)
    }
}

/// The fields of one MRZ as positioned by its format, before interpretation.
struct Layout<'a> {
    document_code: &'a str,
    issuing_state: &'a str,
    name: &'a str,
    document_number: &'a str,
    document_number_cd: char,
    nationality: &'a str,
    birth: &'a str,
    birth_cd: char,
    sex: char,
    expiry: &'a str,
    expiry_cd: char,
    optional_data: &'a str,
    optional_data_cd: Option<char>,
    optional_data_2: Option<&'a str>,
    composite_cd: Option<char>,
    /// Characters left unread (0 for every format; checked by a unit test).
    #[cfg_attr(not(test), expect(dead_code))]
    rest_len: usize,
}

fn layout(format: MrzFormat, lines: &[String]) -> Layout<'_> {
    let line = |i: usize| lines.get(i).map(String::as_str).unwrap_or_default();
    let mut l1 = Cursor::new(line(0));
    let mut l2 = Cursor::new(line(1));
    let mut l3 = Cursor::new(line(2));
    let document_code = l1.take(2);
    let issuing_state = l1.take(3);
    let (name, number, nationality, dates, optional) = match format {
        MrzFormat::Td1 => {
            // Part 5 §4.2.2, upper line 1–30, middle line 1–30, lower line 1–30.
            let number = (l1.take(9), l1.take_char());
            let optional_data = l1.take(15);
            let dates = l2.dates();
            let nationality = l2.take(3);
            let optional_data_2 = l2.take(11);
            let composite_cd = l2.take_char();
            let name = l3.take(30);
            let optional = (optional_data, None, Some(optional_data_2), Some(composite_cd));
            (name, number, nationality, dates, optional)
        }
        MrzFormat::Td2 | MrzFormat::Td3 | MrzFormat::MrvA | MrzFormat::MrvB => {
            // Part 4/6/7: upper line code, state, name; lower line number … optional data.
            let width = format.line_length();
            let name = l1.take(width - 5);
            let number = (l2.take(9), l2.take_char());
            let nationality = l2.take(3);
            let dates = l2.dates();
            let (optional_data, optional_data_cd, composite_cd) = match format {
                MrzFormat::Td3 => (l2.take(14), Some(l2.take_char()), Some(l2.take_char())),
                MrzFormat::Td2 => (l2.take(7), None, Some(l2.take_char())),
                _ => (l2.take(width - 28), None, None),
            };
            let optional = (optional_data, optional_data_cd, None, composite_cd);
            (name, number, nationality, dates, optional)
        }
    };
    let (birth, birth_cd, sex, expiry, expiry_cd) = dates;
    let (document_number, document_number_cd) = number;
    let (optional_data, optional_data_cd, optional_data_2, composite_cd) = optional;
    Layout {
        document_code,
        issuing_state,
        name,
        document_number,
        document_number_cd,
        nationality,
        birth,
        birth_cd,
        sex,
        expiry,
        expiry_cd,
        optional_data,
        optional_data_cd,
        optional_data_2,
        composite_cd,
        rest_len: l1.rest.len() + l2.rest.len() + l3.rest.len(),
    }
}

/// Computed check digit as a character; the inputs are validated MRZ text, so the
/// `None` of [`check_digit`] cannot occur and maps to a character no MRZ digit equals.
fn computed_digit(field: &str) -> char {
    check_digit(field).map(|d| char::from(b'0' + d)).unwrap_or('?')
}

fn check(field: CheckedField, data: &str, given: char) -> CheckDigit {
    let computed = computed_digit(data);
    CheckDigit {
        field,
        given,
        computed,
        ok: given == computed,
    }
}

/// Primary and secondary identifier of a name field (Part 3 §4.6), and the number of
/// `<<` separators it holds.
fn split_name(field: &str) -> (String, String, usize) {
    let trimmed = field.trim_end_matches(FILLER);
    // Runs of two or more fillers inside the name (trailing fillers are trimmed).
    let mut separators = 0;
    let mut run = 0usize;
    for c in trimmed.chars() {
        if c == FILLER {
            run += 1;
        } else {
            if run >= 2 {
                separators += 1;
            }
            run = 0;
        }
    }
    let words = |s: &str| {
        s.split(FILLER)
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match trimmed.split_once("<<") {
        Some((primary, secondary)) => (words(primary), words(secondary), separators),
        None => (words(trimmed), String::new(), separators),
    }
}

impl Mrz {
    /// Parse an MRZ as a person types or pastes it: lines separated by newlines, by a
    /// literal `\n`, or by whitespace, or all characters in one block; surrounding
    /// whitespace ignored; lowercase accepted (reported as
    /// [`MrzWarning::LowercaseInput`]).
    pub fn parse(text: &str) -> Result<Mrz, MrzError> {
        let prepared = input::prepare_text(text)?;
        Ok(Mrz::from_prepared(prepared))
    }

    /// Parse the MRZ as stored in DG1 (tag `5F1F`, Part 10 §4.7.1): the lines
    /// concatenated, 90, 72 or 88 bytes of `0-9A-Z<`, nothing else tolerated.
    pub fn from_bytes(bytes: &[u8]) -> Result<Mrz, MrzError> {
        let prepared = input::prepare_bytes(bytes)?;
        Ok(Mrz::from_prepared(prepared))
    }

    fn from_prepared(prepared: input::Prepared) -> Mrz {
        let input::Prepared {
            lines,
            format,
            lowercase,
        } = prepared;
        let mut warnings = Vec::new();
        let mut defects = Vec::new();
        if lowercase {
            warnings.push(MrzWarning::LowercaseInput);
        }
        let l = layout(format, &lines);

        let expected_code = match format {
            MrzFormat::Td3 => l.document_code.starts_with('P'),
            MrzFormat::Td1 | MrzFormat::Td2 => l.document_code.starts_with(['A', 'C', 'I']),
            MrzFormat::MrvA | MrzFormat::MrvB => l.document_code.starts_with('V'),
        };
        if !expected_code {
            warnings.push(MrzWarning::UnexpectedDocumentCode { format });
        }

        // Document number, with the long number rule of TD1/TD2.
        let (number_data, number_cd) = if format.has_long_document_number() && l.document_number_cd == FILLER
        {
            let run: &str = l.optional_data.split(FILLER).next().unwrap_or_default();
            match run.char_indices().last() {
                Some((at, cd)) => {
                    if at == 0 {
                        defects.push(MrzDefect::LongDocumentNumber {
                            problem: LongNumberProblem::NoContinuation,
                        });
                    }
                    let continuation = run.get(..at).unwrap_or_default();
                    let mut number = Zeroizing::new(String::with_capacity(15));
                    number.push_str(l.document_number);
                    number.push_str(continuation);
                    (number, cd)
                }
                None => {
                    defects.push(MrzDefect::LongDocumentNumber {
                        problem: LongNumberProblem::NoCheckDigit,
                    });
                    (Zeroizing::new(l.document_number.to_owned()), FILLER)
                }
            }
        } else {
            (Zeroizing::new(l.document_number.to_owned()), l.document_number_cd)
        };

        let mut check_digits = vec![
            check(CheckedField::DocumentNumber, &number_data, number_cd),
            check(CheckedField::DateOfBirth, l.birth, l.birth_cd),
            check(CheckedField::DateOfExpiry, l.expiry, l.expiry_cd),
        ];
        if let Some(given) = l.optional_data_cd {
            let mut cd = check(CheckedField::OptionalData, l.optional_data, given);
            if !cd.ok && given == FILLER && l.optional_data.chars().all(|c| c == FILLER) {
                cd.ok = true;
                warnings.push(MrzWarning::FillerCheckDigit {
                    field: CheckedField::OptionalData,
                });
            }
            check_digits.push(cd);
        }
        if let Some(given) = l.composite_cd {
            // Parts 4–6 §4.2.2: the number, birth and expiry fields with their check
            // digits and the optional data, as printed (TD1: upper line 6–30, middle
            // line 1–7, 9–15, 19–29; TD2/TD3: lower line 1–10, 14–20, 22 to the end).
            let mut data = Zeroizing::new(String::with_capacity(64));
            data.push_str(l.document_number);
            data.push(l.document_number_cd);
            if format == MrzFormat::Td1 {
                data.push_str(l.optional_data);
            }
            data.push_str(l.birth);
            data.push(l.birth_cd);
            data.push_str(l.expiry);
            data.push(l.expiry_cd);
            match format {
                MrzFormat::Td1 => data.push_str(l.optional_data_2.unwrap_or_default()),
                _ => {
                    data.push_str(l.optional_data);
                    if let Some(cd) = l.optional_data_cd {
                        data.push(cd);
                    }
                }
            }
            check_digits.push(check(CheckedField::Composite, &data, given));
        }

        let birth = MrzDate::new(l.birth);
        let expiry = MrzDate::new(l.expiry);
        if !birth.is_well_formed(true) {
            defects.push(MrzDefect::InvalidDate {
                field: CheckedField::DateOfBirth,
            });
        }
        if !expiry.is_well_formed(false) {
            defects.push(MrzDefect::InvalidDate {
                field: CheckedField::DateOfExpiry,
            });
        }
        if !matches!(l.sex, 'M' | 'F' | 'X' | FILLER) {
            defects.push(MrzDefect::InvalidSex);
        }
        let (primary_identifier, secondary_identifier, separators) = split_name(l.name);
        if separators > 1 {
            defects.push(MrzDefect::NameSeparators { count: separators });
        }

        Mrz {
            format,
            document_code: l.document_code.to_owned(),
            issuing_state: l.issuing_state.to_owned(),
            name_field: l.name.to_owned(),
            primary_identifier,
            secondary_identifier,
            document_number: number_data.trim_end_matches(FILLER).to_owned(),
            nationality: l.nationality.to_owned(),
            birth,
            sex: l.sex,
            expiry,
            optional_data: l.optional_data.to_owned(),
            optional_data_2: l.optional_data_2.map(str::to_owned),
            check_digits,
            warnings,
            defects,
            lines,
        }
    }

    /// The layout.
    pub fn format(&self) -> MrzFormat {
        self.format
    }

    /// The lines as read (uppercase, without separators).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The lines concatenated, as stored in DG1.
    pub fn concatenated(&self) -> Zeroizing<String> {
        Zeroizing::new(self.lines.concat())
    }

    /// The two-character document code as printed (`P<`, `I<`, `ID`, `V<`, …).
    pub fn document_code(&self) -> &str {
        &self.document_code
    }

    /// The issuing state or organisation, three characters as printed (`UTO`, `D<<`).
    pub fn issuing_state(&self) -> &str {
        &self.issuing_state
    }

    /// The nationality, three characters as printed.
    pub fn nationality(&self) -> &str {
        &self.nationality
    }

    /// The name field as printed, with its fillers.
    pub fn name_field(&self) -> &str {
        &self.name_field
    }

    /// Primary identifier (surname), fillers turned to spaces.
    pub fn primary_identifier(&self) -> &str {
        &self.primary_identifier
    }

    /// Secondary identifier (given names), fillers turned to spaces.
    pub fn secondary_identifier(&self) -> &str {
        &self.secondary_identifier
    }

    /// Whether the name fills its field to the last position, which is how Doc 9303
    /// Part 3 §4.6 marks a possibly truncated name.
    pub fn name_may_be_truncated(&self) -> bool {
        !self.name_field.ends_with(FILLER)
    }

    /// The whole document number without trailing fillers (more than 9 characters
    /// for a long TD1/TD2 number).
    pub fn document_number(&self) -> &str {
        &self.document_number
    }

    /// Date of birth.
    pub fn birth(&self) -> &MrzDate {
        &self.birth
    }

    /// Date of birth, YYMMDD as printed (the BAC input).
    pub fn birth_raw(&self) -> &str {
        self.birth.raw()
    }

    /// Date of expiry.
    pub fn expiry(&self) -> &MrzDate {
        &self.expiry
    }

    /// Date of expiry, YYMMDD as printed (the BAC input).
    pub fn expiry_raw(&self) -> &str {
        self.expiry.raw()
    }

    /// The sex field: `M`, `F`, `X` or `<` (anything else is an [`MrzDefect::InvalidSex`]).
    pub fn sex(&self) -> char {
        self.sex
    }

    /// The optional data as printed, with fillers: TD1 upper line 16–30 (which holds
    /// the rest of a long document number), TD2 lower line 29–35, TD3 personal number
    /// (lower line 29–42), visas lower line 29 to the end.
    pub fn optional_data(&self) -> &str {
        &self.optional_data
    }

    /// TD1 middle line 19–29; `None` for other formats.
    pub fn optional_data_2(&self) -> Option<&str> {
        self.optional_data_2.as_deref()
    }

    /// Every check digit of the format, in MRZ order.
    pub fn check_digits(&self) -> &[CheckDigit] {
        &self.check_digits
    }

    /// The check digit of one field, if the format has it.
    pub fn check_digit_of(&self, field: CheckedField) -> Option<&CheckDigit> {
        self.check_digits.iter().find(|c| c.field == field)
    }

    /// Whether every check digit is accepted.
    pub fn all_check_digits_ok(&self) -> bool {
        self.check_digits.iter().all(|c| c.ok)
    }

    /// The check digits that fail.
    pub fn failing_check_digits(&self) -> impl Iterator<Item = &CheckDigit> {
        self.check_digits.iter().filter(|c| !c.ok)
    }

    /// Tolerated quirks.
    pub fn warnings(&self) -> &[MrzWarning] {
        &self.warnings
    }

    /// Layout violations that make the MRZ invalid.
    pub fn defects(&self) -> &[MrzDefect] {
        &self.defects
    }

    /// Every check digit accepted and no layout defect.
    pub fn is_valid(&self) -> bool {
        self.all_check_digits_ok() && self.defects.is_empty()
    }

    /// `MRZ_information` of Doc 9303 Part 11 §9.7.2: document number (padded with `<`
    /// to 9 characters; a long number whole) + its check digit + date of birth + check
    /// digit + date of expiry + check digit, with the check digits as printed.
    pub fn mrz_information(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(32));
        s.push_str(&self.document_number);
        while s.len() < 9 {
            s.push(FILLER);
        }
        let given = |field| self.check_digit_of(field).map(|c| c.given).unwrap_or(FILLER);
        s.push(given(CheckedField::DocumentNumber));
        s.push_str(self.birth.raw());
        s.push(given(CheckedField::DateOfBirth));
        s.push_str(self.expiry.raw());
        s.push(given(CheckedField::DateOfExpiry));
        s
    }

    /// A human-readable report: every field, every check digit with pass/fail,
    /// warnings, defects and the result.
    pub fn report(&self) -> String {
        report::render(self)
    }
}

impl Serialize for Mrz {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        report::Json::of(self).serialize(serializer)
    }
}

#[cfg(test)]
mod tests;

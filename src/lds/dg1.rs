//! EF.DG1 (Doc 9303 Part 10 §4.7.1): the machine readable zone.
//!
//! ```text
//! 61 L
//!    5F1F L  MRZ           90 (TD1), 72 (TD2, MRV-B) or 88 (TD3, MRV-A) characters,
//!                          the lines concatenated without separators
//! ```
//!
//! The fields are taken by position (Doc 9303 Parts 4–7); check digits are read, not
//! verified here (`crate::mrz` and `verify` do that). The MRZ is personal data: the
//! [`std::fmt::Debug`] output of [`Dg1`] is redacted.

use std::fmt;

use zeroize::Zeroizing;

use super::error::LdsError;
use super::quirk::{self, Quirk, RawDo};
use super::view::{self, Node};

const FILE: &str = "DG1";
const TAG: u32 = 0x61;
const TAG_MRZ: u32 = 0x5F1F;

/// Layout of the MRZ (Doc 9303 Parts 4–7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MrzFormat {
    /// Three lines of 30 (ID cards, Part 5).
    Td1,
    /// Two lines of 36 (Part 6).
    Td2,
    /// Two lines of 44 (passports, Part 4).
    Td3,
    /// Visa, two lines of 44 (Part 7).
    MrvA,
    /// Visa, two lines of 36 (Part 7).
    MrvB,
}

impl MrzFormat {
    /// Characters per line.
    pub fn line_len(self) -> usize {
        match self {
            MrzFormat::Td1 => 30,
            MrzFormat::Td2 | MrzFormat::MrvB => 36,
            MrzFormat::Td3 | MrzFormat::MrvA => 44,
        }
    }

    /// Number of lines.
    pub fn lines(self) -> usize {
        match self {
            MrzFormat::Td1 => 3,
            _ => 2,
        }
    }

    /// From the total length and the document code's first character.
    fn detect(len: usize, first: Option<char>) -> Option<MrzFormat> {
        let visa = first == Some('V');
        Some(match (len, visa) {
            (90, _) => MrzFormat::Td1,
            (72, false) => MrzFormat::Td2,
            (72, true) => MrzFormat::MrvB,
            (88, false) => MrzFormat::Td3,
            (88, true) => MrzFormat::MrvA,
            _ => return None,
        })
    }
}

impl fmt::Display for MrzFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MrzFormat::Td1 => "TD1",
            MrzFormat::Td2 => "TD2",
            MrzFormat::Td3 => "TD3",
            MrzFormat::MrvA => "MRV-A",
            MrzFormat::MrvB => "MRV-B",
        })
    }
}

/// The MRZ fields, taken by position. Fillers (`<`) are kept except where noted.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct MrzFields {
    /// Document code (`P<`, `I<`, `ID`, `V<`, …).
    pub document_code: String,
    /// Issuing state or organisation.
    pub issuing_state: String,
    /// Name field as written (`MUSTERMANN<<ERIKA<<<…`).
    pub name: String,
    /// Document number without trailing fillers; for TD1/TD2 numbers longer than nine
    /// characters, including the part continued in the optional data.
    pub document_number: String,
    /// The document number's check digit character.
    pub document_number_check: char,
    /// Nationality.
    pub nationality: String,
    /// Date of birth, `YYMMDD`.
    pub date_of_birth: String,
    /// Its check digit character.
    pub date_of_birth_check: char,
    /// Sex (`M`, `F`, `<`; `X` in some documents).
    pub sex: char,
    /// Date of expiry, `YYMMDD`.
    pub date_of_expiry: String,
    /// Its check digit character.
    pub date_of_expiry_check: char,
    /// Optional data (TD3: personal number) as written.
    pub optional_data: String,
    /// TD1: the second optional data field (line 2).
    pub optional_data_2: Option<String>,
    /// Composite check digit character (none on visas).
    pub composite_check: Option<char>,
}

impl fmt::Debug for MrzFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MrzFields { <redacted> }")
    }
}

impl MrzFields {
    /// The name's primary identifier (surname): up to the first `<<`, fillers as spaces.
    pub fn primary_identifier(&self) -> String {
        let primary = self.name.split("<<").next().unwrap_or_default();
        primary.replace('<', " ").trim().to_owned()
    }

    /// The secondary identifier (given names), fillers as spaces.
    pub fn secondary_identifier(&self) -> String {
        match self.name.split_once("<<") {
            Some((_, rest)) => rest
                .split('<')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
            None => String::new(),
        }
    }
}

/// Decoded EF.DG1.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dg1 {
    /// The MRZ as stored (no line separators).
    pub mrz: String,
    /// Its layout.
    pub format: MrzFormat,
    /// The fields by position.
    pub fields: MrzFields,
    /// Data objects of unknown tags, kept raw.
    pub unknown: Vec<RawDo>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
    /// The file's bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

quirk::summary_debug!(Dg1, |d| {
    format: d.format,
    mrz: "<redacted>",
    quirks: d.quirks,
});

fn chars(s: &str, range: std::ops::Range<usize>) -> String {
    s.chars().skip(range.start).take(range.len()).collect()
}

fn char_at(s: &str, i: usize) -> char {
    s.chars().nth(i).unwrap_or('<')
}

fn trim_fillers(s: &str) -> String {
    s.trim_end_matches('<').to_owned()
}

/// Document number of TD1/TD2: when its check digit position holds `<`, the number
/// continues in the optional data up to the first filler, whose last character is the
/// check digit (Doc 9303 Part 5 §4.2.2, note j).
fn long_document_number(number: &str, check: char, optional: &str) -> (String, char, bool) {
    if check == '<' {
        let cont: String = optional.chars().take_while(|c| *c != '<').collect();
        let mut it = cont.chars();
        if let Some(last) = it.next_back() {
            let rest: String = it.collect();
            return (format!("{number}{rest}"), last, true);
        }
    }
    (trim_fillers(number), check, false)
}

impl MrzFields {
    fn parse(mrz: &str, format: MrzFormat) -> MrzFields {
        // Every format: document code and issuing state open line 1; line 2 holds the
        // nationality and, in one run of 15, the date of birth, sex and date of expiry
        // with their check digits. The rest differs by format.
        let (l1, l2, nationality_at, dates_at);
        let (name, document_number, document_number_check, optional, optional_2, composite);
        match format {
            MrzFormat::Td1 => {
                (l1, l2) = (chars(mrz, 0..30), chars(mrz, 30..60));
                (nationality_at, dates_at) = (15, 0);
                name = chars(mrz, 60..90);
                optional = chars(&l1, 15..30);
                (document_number, document_number_check, _) =
                    long_document_number(&chars(&l1, 5..14), char_at(&l1, 14), &optional);
                optional_2 = Some(chars(&l2, 18..29));
                composite = Some(char_at(&l2, 29));
            }
            MrzFormat::Td2 | MrzFormat::Td3 | MrzFormat::MrvA | MrzFormat::MrvB => {
                let n = format.line_len();
                (l1, l2) = (chars(mrz, 0..n), chars(mrz, n..2 * n));
                (nationality_at, dates_at) = (10, 13);
                name = chars(&l1, 5..n);
                let visa = matches!(format, MrzFormat::MrvA | MrzFormat::MrvB);
                // optional data: TD2 28..35, TD3 28..42 (then its check digit), visas 28..n
                let optional_end = match format {
                    MrzFormat::Td2 => 35,
                    MrzFormat::Td3 => 42,
                    _ => n,
                };
                optional = chars(&l2, 28..optional_end);
                (document_number, document_number_check) = if format == MrzFormat::Td2 {
                    let (num, check, _) = long_document_number(&chars(&l2, 0..9), char_at(&l2, 9), &optional);
                    (num, check)
                } else {
                    (trim_fillers(&chars(&l2, 0..9)), char_at(&l2, 9))
                };
                optional_2 = None;
                composite = if visa { None } else { Some(char_at(&l2, n - 1)) };
            }
        }
        let d = dates_at;
        MrzFields {
            document_code: chars(&l1, 0..2),
            issuing_state: chars(&l1, 2..5),
            name,
            document_number,
            document_number_check,
            nationality: chars(&l2, nationality_at..nationality_at + 3),
            date_of_birth: chars(&l2, d..d + 6),
            date_of_birth_check: char_at(&l2, d + 6),
            sex: char_at(&l2, d + 7),
            date_of_expiry: chars(&l2, d + 8..d + 14),
            date_of_expiry_check: char_at(&l2, d + 14),
            optional_data: optional,
            optional_data_2: optional_2,
            composite_check: composite,
        }
    }
}

impl Dg1 {
    /// Decode EF.DG1.
    pub fn decode(input: &[u8]) -> Result<Dg1, LdsError> {
        let mut quirks = Vec::new();
        let outer = quirk::open_outer(input, FILE, TAG, &mut quirks)?;
        let mut mrz_value = None;
        let mut unknown = Vec::new();
        for kid in quirk::children(&outer, FILE, &mut quirks)? {
            match kid.tag {
                TAG_MRZ if mrz_value.is_none() => mrz_value = Some(kid.value),
                TAG_MRZ => quirks.push(Quirk::DuplicateTag { tag: kid.tag }),
                _ => {
                    quirks.push(Quirk::UnknownTag { tag: kid.tag });
                    unknown.push(RawDo::from_tlv(&kid));
                }
            }
        }
        let value = mrz_value.ok_or(LdsError::Missing {
            file: FILE,
            what: "MRZ (5F1F)",
        })?;
        // one char per byte (Latin-1), so positions stay byte positions even when a
        // chip wrote bytes outside the MRZ character set (reported below)
        let mrz: String = value.iter().map(|b| char::from(*b)).collect();
        let format = MrzFormat::detect(value.len(), mrz.chars().next()).ok_or(LdsError::Length {
            file: FILE,
            what: "MRZ (5F1F)",
            found: value.len(),
        })?;
        if !value
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'<')
        {
            quirks.push(Quirk::InvalidCharacter { tag: TAG_MRZ });
        }
        let fields = MrzFields::parse(&mrz, format);
        Ok(Dg1 {
            mrz,
            format,
            fields,
            unknown,
            quirks,
            raw: input.to_vec(),
        })
    }

    /// Build DG1 from an MRZ given as text: lines separated by newlines, spaces or a
    /// literal `\n`, or already concatenated.
    pub fn from_mrz(text: &str) -> Result<Dg1, LdsError> {
        let joined: String = text
            .replace("\\n", "")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !joined
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<')
        {
            return Err(LdsError::Invalid {
                file: FILE,
                what: "MRZ character (only 0-9, A-Z and < are allowed)",
            });
        }
        let bytes = encode_mrz(joined.as_bytes());
        Dg1::decode(&bytes)
    }

    /// The MRZ parsed and checked by [`crate::mrz::Mrz`] (per-field check digits,
    /// warnings, defects). An `Err` means the MRZ module rejects the text, which the
    /// positional [`Dg1::fields`] still show.
    pub fn parse_mrz(&self) -> Result<crate::mrz::Mrz, crate::mrz::MrzError> {
        crate::mrz::Mrz::from_bytes(&self.mrz_bytes())
    }

    /// The MRZ as the file holds it, one byte per character ([`Dg1::decode`] reads it
    /// so); a character beyond U+00FF, which no decoded file holds, as `?`. Not the
    /// UTF-8 of [`Dg1::mrz`]: a byte 0x80–0xFF read from a hostile chip would become
    /// two, and the MRZ module would see a line of the wrong length instead of the
    /// character it does not accept.
    fn mrz_bytes(&self) -> Vec<u8> {
        self.mrz
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect()
    }

    /// The MRZ split into its lines.
    pub fn lines(&self) -> Vec<String> {
        let n = self.format.line_len();
        (0..self.format.lines())
            .map(|i| chars(&self.mrz, i * n..(i + 1) * n))
            .collect()
    }

    /// The BAC/PACE "MRZ information" (Doc 9303 Part 11 §9.7.2): document number
    /// (filled to nine characters) and check digit, date of birth and check digit, date
    /// of expiry and check digit. Key material: kept in a zeroizing string.
    pub fn mrz_information(&self) -> Zeroizing<String> {
        let f = &self.fields;
        let mut number = f.document_number.clone();
        while number.chars().count() < 9 {
            number.push('<');
        }
        Zeroizing::new(format!(
            "{number}{}{}{}{}{}",
            f.document_number_check,
            f.date_of_birth,
            f.date_of_birth_check,
            f.date_of_expiry,
            f.date_of_expiry_check
        ))
    }

    /// Encode (`61 { 5F1F mrz }`, then unknown data objects). The MRZ is written one
    /// byte per character, as it was read (bytes outside the MRZ character set come
    /// back unchanged; a character beyond Latin-1, which neither decoding nor
    /// [`Dg1::from_mrz`] gives, is written as `?`).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        crate::tlv::encode_into(TAG_MRZ, &self.mrz_bytes(), &mut body);
        for u in &self.unknown {
            u.encode_into(&mut body);
        }
        crate::tlv::encode(TAG, &body)
    }
}

fn encode_mrz(mrz: &[u8]) -> Vec<u8> {
    crate::tlv::encode(TAG, &crate::tlv::encode(TAG_MRZ, mrz))
}

/// DG1 as `inspect --json` shows it: the decoded file and the MRZ module's check of
/// its MRZ.
#[derive(serde::Serialize)]
struct Dg1Json<'a> {
    #[serde(flatten)]
    dg1: &'a Dg1,
    /// The MRZ parsed and checked by `crate::mrz` (check digits, warnings, defects).
    #[serde(skip_serializing_if = "Option::is_none")]
    mrz_check: Option<crate::mrz::Mrz>,
    /// Why `crate::mrz` rejected the MRZ, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    mrz_error: Option<String>,
}

impl Dg1 {
    fn checked_mrz(&self) -> (Option<crate::mrz::Mrz>, Option<String>) {
        match self.parse_mrz() {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(crate::error::text(&e))),
        }
    }

    fn json_view(&self) -> Dg1Json<'_> {
        let (mrz_check, mrz_error) = self.checked_mrz();
        Dg1Json {
            dg1: self,
            mrz_check,
            mrz_error,
        }
    }

    /// The lines `inspect` shows.
    pub fn nodes(&self) -> Vec<Node> {
        let f = &self.fields;
        let with_check = |v: &str, c: char| format!("{v} (check digit {c})");
        let mut n = vec![
            Node::field("format", self.format),
            Node::new("MRZ").with(self.lines().into_iter().map(Node::new).collect()),
            Node::field("document code", &f.document_code),
            Node::field("issuing state", &f.issuing_state),
            Node::field(
                "document number",
                with_check(&f.document_number, f.document_number_check),
            ),
            view::name_node("name", &f.name),
            Node::field("nationality", &f.nationality),
            Node::field(
                "date of birth",
                with_check(&f.date_of_birth, f.date_of_birth_check),
            ),
            Node::field("sex", f.sex),
            Node::field(
                "date of expiry",
                with_check(&f.date_of_expiry, f.date_of_expiry_check),
            ),
            Node::field("optional data", &f.optional_data),
        ];
        if let Some(o) = &f.optional_data_2 {
            n.push(Node::field("optional data 2", o));
        }
        if let Some(c) = f.composite_check {
            n.push(Node::field("composite check digit", c));
        }
        match self.checked_mrz() {
            (Some(m), _) => {
                let digits = m
                    .check_digits()
                    .iter()
                    .map(|c| {
                        let verdict = if c.ok {
                            "ok".to_owned()
                        } else {
                            format!("WRONG, computed {}", c.computed)
                        };
                        Node::field(c.field.name(), format!("{} {verdict}", c.given))
                    })
                    .collect();
                n.push(Node::new("check digits").with(digits));
                n.extend(m.warnings().iter().map(|w| Node::field("MRZ warning", w)));
                n.extend(m.defects().iter().map(|d| Node::field("MRZ defect", d)));
            }
            (None, Some(e)) => n.push(Node::field("MRZ check", format!("not possible: {e}"))),
            (None, None) => {}
        }
        n
    }
}

super::group::data_group!(Dg1, json = Dg1::json_view);

#[cfg(test)]
mod tests {
    use super::*;

    const TD1: &str =
        "I<UTOD231458907<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<";

    #[test]
    fn bytes_outside_the_mrz_set_encode_back_as_read() {
        let mut mrz = TD1.as_bytes().to_vec();
        mrz[3] = 0x80;
        mrz[4] = 0xE9;
        let bytes = encode_mrz(&mrz);
        let d = Dg1::decode(&bytes).unwrap();
        assert!(d.quirks.contains(&Quirk::InvalidCharacter { tag: TAG_MRZ }));
        assert_eq!(d.encode(), bytes);
    }

    #[test]
    fn td1_by_position() {
        let d = Dg1::from_mrz(TD1).unwrap();
        assert_eq!(d.format, MrzFormat::Td1);
        assert_eq!(d.fields.document_number, "D23145890");
        assert_eq!(d.fields.document_number_check, '7');
        assert_eq!(d.fields.date_of_birth, "740812");
        assert_eq!(d.fields.date_of_expiry, "120415");
        assert_eq!(d.fields.nationality, "UTO");
        assert_eq!(d.fields.primary_identifier(), "ERIKSSON");
        assert_eq!(d.fields.secondary_identifier(), "ANNA MARIA");
        assert_eq!(d.lines().len(), 3);
        assert_eq!(&*d.mrz_information(), "D23145890774081221204159");
        assert!(!format!("{d:?}").contains("ERIKSSON"));
    }

    #[test]
    fn td1_long_document_number() {
        // Doc 9303 Part 5 §4.2.2 note j: 12-character number continued in optional data
        let mrz =
            "I<UTOD23145890<7349<<<<<<<<<<<3407127M9507122UTO<<<<<<<<<<<2STEVENSON<<PETER<JOHN<<<<<<<<<";
        let d = Dg1::from_mrz(mrz).unwrap();
        assert_eq!(d.fields.document_number, "D23145890734");
        assert_eq!(d.fields.document_number_check, '9');
        assert_eq!(&*d.mrz_information(), "D23145890734934071279507122");
    }

    #[test]
    fn wrong_length_and_tag() {
        assert!(matches!(
            Dg1::decode(&encode_mrz(b"P<UTO")),
            Err(LdsError::Length { found: 5, .. })
        ));
        assert!(matches!(
            Dg1::decode(&[0x61, 0x00]),
            Err(LdsError::Missing { .. })
        ));
        assert!(Dg1::from_mrz("p<uto").is_err());
    }

    #[test]
    fn invalid_character_in_the_mrz_is_reported() {
        let mut mrz = TD1.as_bytes().to_vec();
        mrz[40] = 0xC4; // 'Ä' in Latin-1, inside the date of expiry
        let d = Dg1::decode(&encode_mrz(&mrz)).unwrap();
        assert_eq!(d.quirks, vec![Quirk::InvalidCharacter { tag: 0x5F1F }]);
        assert_eq!(d.fields.document_number, "D23145890");
        assert_eq!(d.fields.nationality, "UTO");
        // the MRZ module sees the file's 90 bytes and names the character it refuses
        // (from the UTF-8 of the text it saw 91 and refused the length instead)
        match d.parse_mrz() {
            Err(crate::mrz::MrzError::InvalidCharacter { ch, line, position }) => {
                assert_eq!((ch, line, position), ('Ä', 2, 11));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.encode(), encode_mrz(&mrz));
    }
}

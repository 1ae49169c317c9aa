//! Cutting MRZ input into lines and recognising the format (Doc 9303 Part 3 §4.2 and
//! the line layouts of Parts 4–7): typed or pasted text, or the DG1 bytes.

use zeroize::Zeroizing;

use super::{FILLER, MrzError, MrzFormat};

/// Validated lines: the right count and length for `format`, only `0-9A-Z<`.
pub(super) struct Prepared {
    pub(super) lines: Vec<String>,
    pub(super) format: MrzFormat,
    pub(super) lowercase: bool,
}

/// "43 and 40", "30, 30 and 29".
pub(super) fn join_lengths(lengths: &[usize]) -> String {
    match lengths {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(usize::to_string).collect();
            format!("{} and {last}", init.join(", "))
        }
    }
}

/// The format of an MRZ given as one block of characters.
fn format_of_length(length: usize, visa: bool) -> Option<MrzFormat> {
    match (length, visa) {
        (90, _) => Some(MrzFormat::Td1),
        (72, false) => Some(MrzFormat::Td2),
        (72, true) => Some(MrzFormat::MrvB),
        (88, false) => Some(MrzFormat::Td3),
        (88, true) => Some(MrzFormat::MrvA),
        _ => None,
    }
}

fn is_visa(first: Option<&char>) -> bool {
    matches!(first, Some('V' | 'v'))
}

/// Typed or pasted text: lines separated by newlines, by a literal `\n` (as typed in a
/// shell), or by whitespace; or one block of 90, 72 or 88 characters.
pub(super) fn prepare_text(text: &str) -> Result<Prepared, MrzError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(MrzError::Empty);
    }
    // The copy holds the MRZ: wiped when dropped.
    let text = Zeroizing::new(text.replace("\\n", "\n"));
    let tokens: Vec<&str> = if text.contains(['\n', '\r']) {
        text.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
    } else {
        text.split_whitespace().collect()
    };
    let lines: Vec<Vec<char>> = match tokens.as_slice() {
        [block] => {
            let chars: Vec<char> = block.chars().collect();
            let format = format_of_length(chars.len(), is_visa(chars.first()))
                .ok_or(MrzError::UnknownLength { length: chars.len() })?;
            chars.chunks(format.line_length()).map(<[char]>::to_vec).collect()
        }
        [_, _] | [_, _, _] => tokens.iter().map(|t| t.chars().collect()).collect(),
        _ => return Err(MrzError::LineCount { found: tokens.len() }),
    };
    let format = detect_format(&lines)?;
    check_lengths(format, lines.iter().map(Vec::len))?;

    let mut lowercase = false;
    let mut out = Vec::with_capacity(lines.len());
    for (li, line) in lines.iter().enumerate() {
        let mut s = String::with_capacity(line.len());
        for (pi, &ch) in line.iter().enumerate() {
            let c = match ch {
                'a'..='z' => {
                    lowercase = true;
                    ch.to_ascii_uppercase()
                }
                '0'..='9' | 'A'..='Z' | FILLER => ch,
                _ => {
                    return Err(MrzError::InvalidCharacter {
                        ch,
                        line: li + 1,
                        position: pi + 1,
                    });
                }
            };
            s.push(c);
        }
        out.push(s);
    }
    Ok(Prepared {
        lines: out,
        format,
        lowercase,
    })
}

/// Two or three separate lines: three are TD1; two are TD3/MRV-A when one of them
/// has 44 characters, TD2/MRV-B when one has 36, so that a single mistyped line is
/// reported as a wrong line length rather than an unknown format.
fn detect_format(lines: &[Vec<char>]) -> Result<MrzFormat, MrzError> {
    let visa = is_visa(lines.first().and_then(|l| l.first()));
    let has = |n: usize| lines.iter().any(|l| l.len() == n);
    match (lines.len(), visa) {
        (3, _) => Ok(MrzFormat::Td1),
        (2, false) if has(44) => Ok(MrzFormat::Td3),
        (2, true) if has(44) => Ok(MrzFormat::MrvA),
        (2, false) if has(36) => Ok(MrzFormat::Td2),
        (2, true) if has(36) => Ok(MrzFormat::MrvB),
        _ => Err(MrzError::UnknownLineLengths {
            lengths: lines.iter().map(Vec::len).collect(),
        }),
    }
}

fn check_lengths(format: MrzFormat, lengths: impl Iterator<Item = usize>) -> Result<(), MrzError> {
    for (i, length) in lengths.enumerate() {
        if length != format.line_length() {
            return Err(MrzError::LineLength {
                line: i + 1,
                length,
                expected: format.line_length(),
                format,
            });
        }
    }
    Ok(())
}

/// The DG1 form: the lines concatenated, only `0-9A-Z<`.
pub(super) fn prepare_bytes(bytes: &[u8]) -> Result<Prepared, MrzError> {
    let visa = bytes.first() == Some(&b'V');
    let format =
        format_of_length(bytes.len(), visa).ok_or(MrzError::UnknownLength { length: bytes.len() })?;
    let mut lines = Vec::with_capacity(format.line_count());
    for (li, chunk) in bytes.chunks(format.line_length()).enumerate() {
        let mut s = String::with_capacity(chunk.len());
        for (pi, &b) in chunk.iter().enumerate() {
            match b {
                b'0'..=b'9' | b'A'..=b'Z' | b'<' => s.push(char::from(b)),
                _ => {
                    return Err(MrzError::InvalidCharacter {
                        ch: char::from(b),
                        line: li + 1,
                        position: pi + 1,
                    });
                }
            }
        }
        lines.push(s);
    }
    Ok(Prepared {
        lines,
        format,
        lowercase: false,
    })
}

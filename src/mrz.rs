//! Machine readable zone (Doc 9303 Parts 3–7): parsing, check digits, BAC key information.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc9303_part3_examples() {
        assert_eq!(check_digit("520727"), Some(3));
        assert_eq!(check_digit("AB2134<<<"), Some(5));
        assert_eq!(check_digit("a"), None);
    }
}

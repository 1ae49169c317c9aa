//! Status words (ISO/IEC 7816-4 §5.6) with their meanings.

use std::fmt;

/// SW1 SW2 as one number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// 9000 normal processing.
    pub const OK: StatusWord = StatusWord(0x9000);
    /// 6282 end of file reached before Le bytes.
    pub const END_OF_FILE: StatusWord = StatusWord(0x6282);
    /// 6300 verification failed (authentication refused).
    pub const AUTH_FAILED: StatusWord = StatusWord(0x6300);
    /// 6700 wrong length.
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// 6882 secure messaging not supported.
    pub const SM_NOT_SUPPORTED: StatusWord = StatusWord(0x6882);
    /// 6883 last command of the chain expected (ISO/IEC 7816-4 command chaining).
    pub const LAST_COMMAND_EXPECTED: StatusWord = StatusWord(0x6883);
    /// 6884 command chaining not supported.
    pub const CHAINING_NOT_SUPPORTED: StatusWord = StatusWord(0x6884);
    /// 6982 security status not satisfied.
    pub const SECURITY_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// 6983 authentication method blocked.
    pub const AUTH_BLOCKED: StatusWord = StatusWord(0x6983);
    /// 6984 reference data not usable.
    pub const REF_DATA_NOT_USABLE: StatusWord = StatusWord(0x6984);
    /// 6985 conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// 6986 command not allowed (no current EF).
    pub const NO_CURRENT_EF: StatusWord = StatusWord(0x6986);
    /// 6987 expected SM data objects missing.
    pub const SM_OBJECTS_MISSING: StatusWord = StatusWord(0x6987);
    /// 6988 SM data objects incorrect.
    pub const SM_OBJECTS_INCORRECT: StatusWord = StatusWord(0x6988);
    /// 6A80 incorrect parameters in the data field.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// 6A81 function not supported.
    pub const FUNC_NOT_SUPPORTED: StatusWord = StatusWord(0x6A81);
    /// 6A82 file or application not found.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// 6A86 incorrect P1-P2.
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6A86);
    /// 6A88 referenced data not found.
    pub const REF_DATA_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// 6B00 wrong parameters (offset outside the EF).
    pub const WRONG_OFFSET: StatusWord = StatusWord(0x6B00);
    /// 6D00 instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// 6E00 class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// 6F00 no precise diagnosis.
    pub const UNKNOWN: StatusWord = StatusWord(0x6F00);

    /// From SW1 and SW2.
    pub fn from_bytes(sw1: u8, sw2: u8) -> Self {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }

    /// SW1 SW2.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// SW1.
    pub fn sw1(self) -> u8 {
        self.to_bytes()[0]
    }

    /// SW2.
    pub fn sw2(self) -> u8 {
        self.to_bytes()[1]
    }

    /// For 61xx: how many bytes GET RESPONSE can fetch (00 = 256 or more).
    pub fn bytes_available(self) -> Option<u8> {
        (self.sw1() == 0x61).then(|| self.sw2())
    }

    /// For 6Cxx: the exact Le the card wants (00 = 256).
    pub fn wrong_le_exact(self) -> Option<u8> {
        (self.sw1() == 0x6C).then(|| self.sw2())
    }

    /// 9000, or a 61xx that GET RESPONSE completes.
    pub fn is_success(self) -> bool {
        self.0 == 0x9000 || self.sw1() == 0x61
    }

    /// 62xx/63xx warnings (data may still have been returned).
    pub fn is_warning(self) -> bool {
        matches!(self.sw1(), 0x62 | 0x63)
    }

    /// What the status word means, in words.
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0x9000 => "success",
            0x6282 => "end of file reached before reading Le bytes",
            0x6283 => "selected file invalidated",
            0x6300 => "authentication failed",
            0x6581 => "memory failure",
            0x6700 => "wrong length",
            0x6800 => "functions in CLA not supported",
            0x6881 => "logical channel not supported",
            0x6882 => "secure messaging not supported",
            0x6883 => "last command of the chain expected",
            0x6884 => "command chaining not supported",
            0x6900 => "command not allowed",
            0x6981 => "command incompatible with file structure",
            0x6982 => "security status not satisfied",
            0x6983 => "authentication method blocked",
            0x6984 => "reference data not usable",
            0x6985 => "conditions of use not satisfied",
            0x6986 => "command not allowed (no current EF)",
            0x6987 => "expected secure messaging data objects missing",
            0x6988 => "secure messaging data objects incorrect",
            0x6A80 => "incorrect parameters in the data field",
            0x6A81 => "function not supported",
            0x6A82 => "file or application not found",
            0x6A86 => "incorrect parameters P1-P2",
            0x6A87 => "Lc inconsistent with P1-P2",
            0x6A88 => "referenced data not found",
            0x6B00 => "wrong parameters (offset outside the EF)",
            0x6D00 => "instruction not supported",
            0x6E00 => "class not supported",
            0x6F00 => "no precise diagnosis",
            _ => match self.sw1() {
                0x61 => "more response data available",
                0x62 => "warning: state of non-volatile memory unchanged",
                0x63 => "warning: state of non-volatile memory changed",
                0x64 => "execution error",
                0x65 => "memory error",
                0x67 => "wrong length",
                0x6C => "wrong Le (exact length in SW2)",
                _ => "unknown status",
            },
        }
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({})", self.0, self.meaning())
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SW {:04X}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meanings() {
        assert_eq!(StatusWord(0x6982).meaning(), "security status not satisfied");
        assert_eq!(StatusWord(0x6110).bytes_available(), Some(0x10));
        assert_eq!(StatusWord(0x6C20).wrong_le_exact(), Some(0x20));
        assert_eq!(format!("{}", StatusWord::OK), "9000 (success)");
    }
}

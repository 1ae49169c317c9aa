//! The files of the LDS (Doc 9303 Part 10 §3–4): identifiers, short file identifiers
//! and the tags that open each file.

use std::fmt;

/// Application identifier of the eMRTD application (LDS1).
pub const EMRTD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// An elementary file of the eMRTD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum LdsFile {
    /// EF.CardAccess (MF, FID 011C, SFI 1C): PACE parameters, readable in plain.
    CardAccess,
    /// EF.CardSecurity (MF, FID 011D): signed SecurityInfos, after PACE.
    CardSecurity,
    /// EF.ATR/INFO (MF, FID 2F01, SFI 01): buffer sizes, extended length.
    AtrInfo,
    /// EF.DIR (MF, FID 2F00, SFI 1E): application list.
    Dir,
    /// EF.COM (FID 011E, SFI 1E): LDS version and tag list.
    Com,
    /// EF.SOD (FID 011D, SFI 1D): the Document Security Object.
    Sod,
    /// EF.DG1 … EF.DG16.
    Dg(u8),
}

impl LdsFile {
    /// Every file of the eMRTD application in reading order: EF.COM, EF.SOD, DG1…DG16.
    pub fn application_files() -> Vec<LdsFile> {
        let mut v = vec![LdsFile::Com, LdsFile::Sod];
        v.extend((1..=16).map(LdsFile::Dg));
        v
    }

    /// True for files under the master file (read before or outside the eMRTD application).
    pub fn in_master_file(self) -> bool {
        matches!(
            self,
            LdsFile::CardAccess | LdsFile::CardSecurity | LdsFile::AtrInfo | LdsFile::Dir
        )
    }

    /// File identifier.
    pub fn fid(self) -> u16 {
        match self {
            LdsFile::CardAccess => 0x011C,
            LdsFile::CardSecurity => 0x011D,
            LdsFile::AtrInfo => 0x2F01,
            LdsFile::Dir => 0x2F00,
            LdsFile::Com => 0x011E,
            LdsFile::Sod => 0x011D,
            LdsFile::Dg(n) => 0x0100 + u16::from(n),
        }
    }

    /// Short file identifier, where Doc 9303 assigns one.
    pub fn sfi(self) -> Option<u8> {
        match self {
            LdsFile::CardAccess => Some(0x1C),
            LdsFile::CardSecurity => Some(0x1D),
            LdsFile::AtrInfo => Some(0x01),
            LdsFile::Dir => Some(0x1E),
            LdsFile::Com => Some(0x1E),
            LdsFile::Sod => Some(0x1D),
            LdsFile::Dg(n @ 1..=16) => Some(n),
            LdsFile::Dg(_) => None,
        }
    }

    /// The tag the file's content starts with (Doc 9303 Part 10 Table 34), where fixed.
    pub fn tag(self) -> Option<u32> {
        Some(match self {
            LdsFile::Com => 0x60,
            LdsFile::Sod => 0x77,
            LdsFile::Dg(1) => 0x61,
            LdsFile::Dg(2) => 0x75,
            LdsFile::Dg(3) => 0x63,
            LdsFile::Dg(4) => 0x76,
            LdsFile::Dg(5) => 0x65,
            LdsFile::Dg(6) => 0x66,
            LdsFile::Dg(7) => 0x67,
            LdsFile::Dg(8) => 0x68,
            LdsFile::Dg(9) => 0x69,
            LdsFile::Dg(10) => 0x6A,
            LdsFile::Dg(11) => 0x6B,
            LdsFile::Dg(12) => 0x6C,
            LdsFile::Dg(13) => 0x6D,
            LdsFile::Dg(14) => 0x6E,
            LdsFile::Dg(15) => 0x6F,
            LdsFile::Dg(16) => 0x70,
            LdsFile::CardAccess | LdsFile::CardSecurity => 0x31,
            _ => return None,
        })
    }

    /// The data group a tag in EF.COM's tag list (`5C`) stands for.
    pub fn from_com_tag(tag: u8) -> Option<LdsFile> {
        (1..=16)
            .map(LdsFile::Dg)
            .find(|f| f.tag() == Some(u32::from(tag)))
    }

    /// Name used in dumps and reports: `EF.COM`, `EF.SOD`, `DG1`, `EF.CardAccess`, …
    pub fn name(self) -> String {
        match self {
            LdsFile::CardAccess => "EF.CardAccess".into(),
            LdsFile::CardSecurity => "EF.CardSecurity".into(),
            LdsFile::AtrInfo => "EF.ATR".into(),
            LdsFile::Dir => "EF.DIR".into(),
            LdsFile::Com => "EF.COM".into(),
            LdsFile::Sod => "EF.SOD".into(),
            LdsFile::Dg(n) => format!("DG{n}"),
        }
    }

    /// Short name as accepted by `--files` (`com`, `sod`, `dg1`, `cardaccess`, …).
    pub fn short_name(self) -> String {
        match self {
            LdsFile::CardAccess => "cardaccess".into(),
            LdsFile::CardSecurity => "cardsecurity".into(),
            LdsFile::AtrInfo => "atr".into(),
            LdsFile::Dir => "dir".into(),
            LdsFile::Com => "com".into(),
            LdsFile::Sod => "sod".into(),
            LdsFile::Dg(n) => format!("dg{n}"),
        }
    }

    /// Parse a short or dump name (case-insensitive): `dg2`, `DG2`, `EF.COM`, `sod`.
    pub fn parse(name: &str) -> Option<LdsFile> {
        let n = name.trim().to_ascii_lowercase();
        let n = n.strip_prefix("ef.").unwrap_or(&n);
        let n = n.strip_suffix(".bin").unwrap_or(n);
        Some(match n {
            "cardaccess" => LdsFile::CardAccess,
            "cardsecurity" => LdsFile::CardSecurity,
            "atr" | "atr/info" | "atrinfo" => LdsFile::AtrInfo,
            "dir" => LdsFile::Dir,
            "com" => LdsFile::Com,
            "sod" => LdsFile::Sod,
            _ => {
                let num: u8 = n.strip_prefix("dg")?.parse().ok()?;
                if !(1..=16).contains(&num) {
                    return None;
                }
                LdsFile::Dg(num)
            }
        })
    }

    /// File name in a dump directory (`DG1.bin`, `EF.SOD.bin`, …).
    pub fn dump_file_name(self) -> String {
        format!("{}.bin", self.name())
    }

    /// True for files holding personal data that must stay out of logs and default
    /// traces (DG1 MRZ, DG2 face, DG3/DG4 biometrics, DG5–DG7 images, DG11, DG12, DG13, DG16).
    pub fn is_personal(self) -> bool {
        matches!(self, LdsFile::Dg(1..=13) | LdsFile::Dg(16))
    }
}

impl fmt::Display for LdsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(LdsFile::Dg(1).fid(), 0x0101);
        assert_eq!(LdsFile::Dg(16).fid(), 0x0110);
        assert_eq!(LdsFile::Com.sfi(), Some(0x1E));
        assert_eq!(LdsFile::from_com_tag(0x75), Some(LdsFile::Dg(2)));
        assert_eq!(LdsFile::from_com_tag(0x6E), Some(LdsFile::Dg(14)));
        assert_eq!(LdsFile::parse("EF.SOD.bin"), Some(LdsFile::Sod));
        assert_eq!(LdsFile::parse("dg15"), Some(LdsFile::Dg(15)));
        assert_eq!(LdsFile::parse("dg17"), None);
        for f in LdsFile::application_files() {
            assert_eq!(LdsFile::parse(&f.dump_file_name()), Some(f));
        }
    }
}

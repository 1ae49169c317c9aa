//! What kind of file a byte string is, judged by its content: the LDS files by their
//! first tag (Doc 9303 Part 10 Table 34), EF.CardAccess by its SecurityInfos `SET`
//! (Part 11 §9.2), CMS SignedData by its eContentType (EF.CardSecurity: BSI
//! TR-03110-3 id-SecurityObject; CSCA master list: Doc 9303 Part 12 §9
//! 2.23.136.1.1.2; deviation list 2.23.136.1.1.7), X.509 certificates and CRLs by
//! their TBS structure, and ICAO PKD LDIF or PEM by their text.

use std::fmt;

use super::LdsFile;
use crate::tlv::{self, Tlv};

/// id-signedData, 1.2.840.113549.1.7.2.
pub const OID_SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
/// id-icao-mrtd-security-ldsSecurityObject, 2.23.136.1.1.1.
pub const OID_LDS_SECURITY_OBJECT: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01];
/// id-icao-cscaMasterList, 2.23.136.1.1.2.
pub const OID_CSCA_MASTER_LIST: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x02];
/// id-icao-DeviationList, 2.23.136.1.1.7.
pub const OID_DEVIATION_LIST: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x07];
/// id-SecurityObject (BSI TR-03110-3), 0.4.0.127.0.7.3.2.1: EF.CardSecurity content.
pub const OID_BSI_SECURITY_OBJECT: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x02, 0x01];

/// The kind of a file. Serialised as its [`FileKind::id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// EF.COM (`60`).
    Com,
    /// EF.SOD (`77`, or a bare CMS SignedData over an LDSSecurityObject).
    Sod,
    /// EF.DG1 … EF.DG16.
    Dg(u8),
    /// EF.DIR (application templates `61 { 4F … }`).
    Dir,
    /// EF.ATR/INFO (interindustry data objects such as `7F66`, `47`).
    AtrInfo,
    /// A SecurityInfos `SET` (`31`): EF.CardAccess.
    SecurityInfos,
    /// EF.CardSecurity: CMS SignedData over id-SecurityObject.
    CardSecurity,
    /// An X.509 certificate (DER).
    Certificate,
    /// An X.509 CRL (DER).
    Crl,
    /// A CSCA master list (CMS SignedData, 2.23.136.1.1.2).
    MasterList,
    /// A deviation list (CMS SignedData, 2.23.136.1.1.7).
    DeviationList,
    /// Another CMS SignedData.
    SignedData,
    /// LDIF text (ICAO PKD download).
    Ldif,
    /// PEM text.
    Pem,
}

impl FileKind {
    /// The LDS file this kind is, where it is one.
    pub fn lds_file(self) -> Option<LdsFile> {
        Some(match self {
            FileKind::Com => LdsFile::Com,
            FileKind::Sod => LdsFile::Sod,
            FileKind::Dg(n) => LdsFile::Dg(n),
            FileKind::Dir => LdsFile::Dir,
            FileKind::AtrInfo => LdsFile::AtrInfo,
            FileKind::SecurityInfos => LdsFile::CardAccess,
            FileKind::CardSecurity => LdsFile::CardSecurity,
            _ => return None,
        })
    }

    /// The kind of an LDS file.
    pub fn from_lds_file(f: LdsFile) -> FileKind {
        match f {
            LdsFile::Com => FileKind::Com,
            LdsFile::Sod => FileKind::Sod,
            LdsFile::Dg(n) => FileKind::Dg(n),
            LdsFile::Dir => FileKind::Dir,
            LdsFile::AtrInfo => FileKind::AtrInfo,
            LdsFile::CardAccess => FileKind::SecurityInfos,
            LdsFile::CardSecurity => FileKind::CardSecurity,
        }
    }

    /// Parse a name as given to `inspect --as`: LDS names (`dg2`, `sod`, `com`,
    /// `cardaccess`, `EF.DIR`, …) and `cert`, `crl`, `ml`, `dl`, `cms`, `ldif`, `pem`,
    /// `securityinfos`.
    pub fn parse(name: &str) -> Option<FileKind> {
        let n = name.trim().to_ascii_lowercase();
        Some(match n.as_str() {
            "cert" | "certificate" | "x509" | "der" | "cer" | "crt" => FileKind::Certificate,
            "crl" => FileKind::Crl,
            "ml" | "masterlist" | "master_list" | "master-list" => FileKind::MasterList,
            "dl" | "deviationlist" | "deviation_list" | "deviation-list" => FileKind::DeviationList,
            "cms" | "signeddata" | "signed_data" => FileKind::SignedData,
            "ldif" => FileKind::Ldif,
            "pem" => FileKind::Pem,
            "securityinfos" | "security_infos" => FileKind::SecurityInfos,
            "atr_info" => FileKind::AtrInfo,
            "card_security" => FileKind::CardSecurity,
            _ => FileKind::from_lds_file(LdsFile::parse(&n)?),
        })
    }

    /// Stable identifier (`com`, `sod`, `dg1` … `dg16`, `dir`, `atr_info`,
    /// `security_infos`, `card_security`, `certificate`, `crl`, `master_list`,
    /// `deviation_list`, `signed_data`, `ldif`, `pem`); [`FileKind::parse`] accepts it.
    pub fn id(self) -> String {
        match self {
            FileKind::Com => "com".into(),
            FileKind::Sod => "sod".into(),
            FileKind::Dg(n) => format!("dg{n}"),
            FileKind::Dir => "dir".into(),
            FileKind::AtrInfo => "atr_info".into(),
            FileKind::SecurityInfos => "security_infos".into(),
            FileKind::CardSecurity => "card_security".into(),
            FileKind::Certificate => "certificate".into(),
            FileKind::Crl => "crl".into(),
            FileKind::MasterList => "master_list".into(),
            FileKind::DeviationList => "deviation_list".into(),
            FileKind::SignedData => "signed_data".into(),
            FileKind::Ldif => "ldif".into(),
            FileKind::Pem => "pem".into(),
        }
    }

    /// Human name (`EF.COM`, `DG2`, `X.509 certificate`, …).
    pub fn name(self) -> String {
        match self {
            FileKind::SecurityInfos => "EF.CardAccess (SecurityInfos)".into(),
            FileKind::AtrInfo => "EF.ATR/INFO".into(),
            FileKind::Certificate => "X.509 certificate".into(),
            FileKind::Crl => "X.509 CRL".into(),
            FileKind::MasterList => "CSCA master list".into(),
            FileKind::DeviationList => "deviation list".into(),
            FileKind::SignedData => "CMS SignedData".into(),
            FileKind::Ldif => "LDIF".into(),
            FileKind::Pem => "PEM".into(),
            other => other.lds_file().map(LdsFile::name).unwrap_or_default(),
        }
    }
}

impl serde::Serialize for FileKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.id())
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Detect the kind of `bytes` by content; `None` when nothing matches.
pub fn detect(bytes: &[u8]) -> Option<FileKind> {
    if let Some(k) = detect_text(bytes) {
        return Some(k);
    }
    let header = tlv::parse_header(bytes).ok()?;
    // the element must fit in the input (trailing padding is allowed)
    if header.total_len().is_some_and(|n| n > bytes.len()) {
        return None;
    }
    let value = bytes.get(header.header_len..).unwrap_or_default();
    Some(match header.tag {
        0x60 => FileKind::Com,
        0x77 => FileKind::Sod,
        0x61 => match tlv::parse_header(value).ok()?.tag {
            0x5F1F => FileKind::Dg(1),
            0x4F => FileKind::Dir,
            _ => return None,
        },
        0x31 => FileKind::SecurityInfos,
        0x30 => return detect_sequence(bytes),
        0x7F66 | 0x47 | 0x43 | 0x46 | 0x45 | 0x5F52 | 0xE0 => FileKind::AtrInfo,
        tag => {
            let t = u8::try_from(tag).ok()?;
            match LdsFile::from_com_tag(t)? {
                LdsFile::Dg(n) => FileKind::Dg(n),
                _ => return None,
            }
        }
    })
}

fn detect_text(bytes: &[u8]) -> Option<FileKind> {
    let head = bytes.get(..bytes.len().min(4096)).unwrap_or_default();
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // a multi-byte character cut at 4096 bytes
        Err(e) => std::str::from_utf8(head.get(..e.valid_up_to())?).ok()?,
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with("-----BEGIN ") {
        return Some(FileKind::Pem);
    }
    // LDIF: the first line that is not a comment is `version:` or `dn:`
    let first = trimmed
        .lines()
        .map(str::trim_end)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?
        .to_ascii_lowercase();
    (first.starts_with("version:") || first.starts_with("dn:")).then_some(FileKind::Ldif)
}

fn kids<'a>(t: &Tlv<'a>) -> Vec<Tlv<'a>> {
    t.children_ber().take_while(Result::is_ok).flatten().collect()
}

fn detect_sequence(bytes: &[u8]) -> Option<FileKind> {
    let outer = tlv::parse_ber(bytes).ok()?;
    let k = kids(&outer);
    let first = k.first()?;
    if first.tag == 0x06 && first.value == OID_SIGNED_DATA {
        return Some(signed_data_kind(bytes));
    }
    if first.tag == 0x30 && k.len() >= 3 {
        // Certificate / CertificateList: SEQUENCE { tbs, signatureAlgorithm, signature }
        let tbs = kids(first);
        if tbs.iter().any(|t| t.tag == 0x17 || t.tag == 0x18) {
            return Some(FileKind::Crl);
        }
        if tbs.len() >= 6 {
            return Some(FileKind::Certificate);
        }
    }
    None
}

/// What a SignedData holds, by its eContentType (read by the one CMS walker,
/// [`crate::cms::SignedData::peek_econtent_type`]).
fn signed_data_kind(bytes: &[u8]) -> FileKind {
    let econtent_type = crate::cms::SignedData::peek_econtent_type(bytes).ok();
    match econtent_type.as_ref().map(crate::cms::Oid::as_bytes) {
        Some(OID_LDS_SECURITY_OBJECT) => FileKind::Sod,
        Some(OID_CSCA_MASTER_LIST) => FileKind::MasterList,
        Some(OID_DEVIATION_LIST) => FileKind::DeviationList,
        Some(OID_BSI_SECURITY_OBJECT) => FileKind::CardSecurity,
        _ => FileKind::SignedData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_first_tag() {
        assert_eq!(detect(&hex::decode("6003010203").unwrap()), Some(FileKind::Com));
        assert_eq!(
            detect(&hex::decode("61045F1F0141").unwrap()),
            Some(FileKind::Dg(1))
        );
        assert_eq!(detect(&hex::decode("61034F01A0").unwrap()), Some(FileKind::Dir));
        assert_eq!(detect(&hex::decode("758100").unwrap()), Some(FileKind::Dg(2)));
        assert_eq!(detect(&hex::decode("6F000000").unwrap()), Some(FileKind::Dg(15)));
        assert_eq!(detect(&hex::decode("7F6600").unwrap()), Some(FileKind::AtrInfo));
        assert_eq!(
            detect(&hex::decode("3100").unwrap()),
            Some(FileKind::SecurityInfos)
        );
        // a declared length beyond the input: not recognised
        assert_eq!(detect(&hex::decode("6F81A2").unwrap()), None);
        assert_eq!(detect(&[]), None);
        assert_eq!(detect(&[0xFF, 0xFF]), None);
    }

    #[test]
    fn text_kinds() {
        assert_eq!(detect(b"-----BEGIN CERTIFICATE-----\nMII"), Some(FileKind::Pem));
        assert_eq!(
            detect(b"\xEF\xBB\xBF\n  -----BEGIN X509 CRL-----"),
            Some(FileKind::Pem)
        );
        assert_eq!(detect(b"version: 1\n\ndn: cn=x"), Some(FileKind::Ldif));
        assert_eq!(detect(b"# comment\ndn: o=ml,c=DE"), Some(FileKind::Ldif));
        assert_eq!(detect(b"hello"), None);
    }

    #[test]
    fn names_for_as() {
        assert_eq!(FileKind::parse("dg2"), Some(FileKind::Dg(2)));
        assert_eq!(FileKind::parse("EF.SOD"), Some(FileKind::Sod));
        assert_eq!(FileKind::parse("cardaccess"), Some(FileKind::SecurityInfos));
        assert_eq!(FileKind::parse("ml"), Some(FileKind::MasterList));
        assert_eq!(FileKind::parse("nope"), None);
        for k in [
            FileKind::Com,
            FileKind::Sod,
            FileKind::Dg(7),
            FileKind::Dir,
            FileKind::AtrInfo,
            FileKind::SecurityInfos,
            FileKind::CardSecurity,
            FileKind::Certificate,
            FileKind::Crl,
            FileKind::MasterList,
            FileKind::DeviationList,
            FileKind::SignedData,
            FileKind::Ldif,
            FileKind::Pem,
        ] {
            assert_eq!(FileKind::parse(&k.id()), Some(k));
        }
    }
}

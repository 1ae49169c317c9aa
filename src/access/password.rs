//! Access passwords (Doc 9303 Part 11 §4.3.2 for BAC, §4.4.3.1 for PACE): the MRZ key
//! (document number, date of birth, date of expiry), the CAN, a PIN or a PUK.
//! All kept in zeroizing storage, with redacted `Debug`.

use sha1::{Digest, Sha1};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::AccessError;
use crate::mrz::check_digit;

/// The MRZ fields BAC and PACE are keyed with.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MrzKey {
    document_number: String,
    birth: String,
    expiry: String,
    /// MRZ_information, computed once the fields are validated.
    information: String,
}

fn mrz_chars(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || c == '<')
}

fn date_field(s: &str, what: &'static str) -> Result<String, AccessError> {
    let s = s.trim();
    if s.len() == 6 && s.chars().all(|c| c.is_ascii_digit() || c == '<') {
        Ok(s.to_string())
    } else {
        Err(AccessError::InvalidPassword { what })
    }
}

impl MrzKey {
    /// Validate and normalise the three fields: the document number as in the MRZ
    /// (letters upper-cased, trailing `<` fillers ignored), dates as `YYMMDD` (digits,
    /// or `<` for unknown parts as some MRZs have).
    pub fn new(document_number: &str, birth: &str, expiry: &str) -> Result<Self, AccessError> {
        let doc = document_number.trim().to_ascii_uppercase();
        let doc = doc.trim_end_matches('<').to_string();
        if doc.is_empty() {
            return Err(AccessError::InvalidPassword {
                what: "document number: empty",
            });
        }
        if !mrz_chars(&doc) {
            return Err(AccessError::InvalidPassword {
                what: "document number: characters outside 0-9, A-Z and <",
            });
        }
        let birth = date_field(birth, "date of birth: not six digits YYMMDD")?;
        let expiry = date_field(expiry, "date of expiry: not six digits YYMMDD")?;
        // doc number padded to 9 with '<' when shorter; a longer one is used in full
        let mut padded = doc.clone();
        while padded.len() < 9 {
            padded.push('<');
        }
        let mut information = String::with_capacity(padded.len() + 15);
        for field in [&padded, &birth, &expiry] {
            let cd = check_digit(field).ok_or(AccessError::InvalidPassword {
                what: "MRZ field: characters outside 0-9, A-Z and <",
            })?;
            information.push_str(field);
            information.push(char::from(b'0' + cd));
        }
        Ok(MrzKey {
            document_number: doc,
            birth,
            expiry,
            information,
        })
    }

    /// The key of a parsed MRZ, with its check digits as printed: the chip's key was
    /// derived from the printed MRZ, so a misprinted digit must be kept, not corrected.
    pub fn from_mrz(mrz: &crate::mrz::Mrz) -> Result<Self, AccessError> {
        let info = mrz.mrz_information();
        let doc = mrz.document_number().trim_end_matches('<').to_string();
        if doc.is_empty() {
            return Err(AccessError::InvalidPassword {
                what: "document number: empty",
            });
        }
        Ok(MrzKey {
            document_number: doc,
            birth: mrz.birth_raw().to_string(),
            expiry: mrz.expiry_raw().to_string(),
            information: info.to_string(),
        })
    }

    /// The document number (without trailing fillers).
    pub fn document_number(&self) -> &str {
        &self.document_number
    }

    /// Date of birth, YYMMDD.
    pub fn birth(&self) -> &str {
        &self.birth
    }

    /// Date of expiry, YYMMDD.
    pub fn expiry(&self) -> &str {
        &self.expiry
    }

    /// MRZ_information: document number (padded with `<` to 9 characters when shorter,
    /// in full when longer) + check digit + date of birth + check digit + date of expiry +
    /// check digit (Doc 9303 Part 11 §9.7.2).
    pub fn mrz_information(&self) -> Zeroizing<String> {
        Zeroizing::new(self.information.clone())
    }

    /// SHA-1 of MRZ_information (the PACE password for the MRZ, Part 11 §9.7.3).
    fn sha1_information(&self) -> Zeroizing<Vec<u8>> {
        let mut digest = Sha1::digest(self.information.as_bytes());
        let out = Zeroizing::new(digest.to_vec());
        digest.as_mut_slice().zeroize();
        out
    }

    /// K_seed of BAC: the first 16 bytes of SHA-1(MRZ_information) (Part 11 §9.7.2).
    pub fn k_seed(&self) -> Zeroizing<[u8; 16]> {
        let full = self.sha1_information();
        let mut seed = Zeroizing::new([0u8; 16]);
        for (s, b) in seed.iter_mut().zip(full.iter()) {
            *s = *b;
        }
        seed
    }
}

impl std::fmt::Debug for MrzKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MrzKey(<redacted>)")
    }
}

/// A password for BAC (MRZ only) or PACE.
#[derive(Clone)]
pub enum Password {
    /// The MRZ fields (key reference 1).
    Mrz(MrzKey),
    /// The card access number printed on the document (key reference 2).
    Can(Zeroizing<String>),
    /// A PIN (key reference 3).
    Pin(Zeroizing<String>),
    /// A PUK (key reference 4).
    Puk(Zeroizing<String>),
}

fn digits(s: &str, what: &'static str) -> Result<Zeroizing<String>, AccessError> {
    let s = s.trim();
    if !s.is_empty() && s.len() <= 32 && s.chars().all(|c| c.is_ascii_digit()) {
        Ok(Zeroizing::new(s.to_string()))
    } else {
        Err(AccessError::InvalidPassword { what })
    }
}

impl Password {
    /// A CAN (ASCII digits, normally six).
    pub fn can(can: &str) -> Result<Self, AccessError> {
        Ok(Password::Can(digits(can, "CAN: not a string of digits")?))
    }

    /// A PIN (ASCII digits).
    pub fn pin(pin: &str) -> Result<Self, AccessError> {
        Ok(Password::Pin(digits(pin, "PIN: not a string of digits")?))
    }

    /// A PUK (ASCII digits).
    pub fn puk(puk: &str) -> Result<Self, AccessError> {
        Ok(Password::Puk(digits(puk, "PUK: not a string of digits")?))
    }

    /// PACE password reference for MSE:Set AT (Part 11 §4.4.4.1): MRZ 1, CAN 2, PIN 3, PUK 4.
    pub fn key_reference(&self) -> u8 {
        match self {
            Password::Mrz(_) => 1,
            Password::Can(_) => 2,
            Password::Pin(_) => 3,
            Password::Puk(_) => 4,
        }
    }

    /// "MRZ", "CAN", "PIN" or "PUK".
    pub fn kind(&self) -> &'static str {
        match self {
            Password::Mrz(_) => "MRZ",
            Password::Can(_) => "CAN",
            Password::Pin(_) => "PIN",
            Password::Puk(_) => "PUK",
        }
    }

    /// The PACE password π (Part 11 §9.7.3): SHA-1(MRZ_information) (20 bytes) for the
    /// MRZ, the ASCII digits for CAN, PIN and PUK. K_π = KDF(π, 3).
    pub fn pace_secret(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Password::Mrz(k) => k.sha1_information(),
            Password::Can(s) | Password::Pin(s) | Password::Puk(s) => Zeroizing::new(s.as_bytes().to_vec()),
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Password::{}(<redacted>)", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Cipher, KDF_PI, kdf};

    fn vectors(path: &str) -> serde_json::Value {
        let path = format!("{}/test-vectors/{path}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn appendix_d_mrz_information_and_seed() {
        let d = vectors("protocol/bac_sm_doc9303_appendix_d.json");
        let i = &d["inputs"];
        let k = MrzKey::new(
            i["mrz_document_number"].as_str().unwrap(),
            i["mrz_date_of_birth"].as_str().unwrap(),
            i["mrz_date_of_expiry"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(
            k.mrz_information().as_str(),
            i["mrz_information"].as_str().unwrap()
        );
        assert_eq!(
            hex::encode_upper(*k.k_seed()),
            d["expected"]["kseed"].as_str().unwrap()
        );
        assert_eq!(
            hex::encode_upper(Password::Mrz(k).pace_secret().as_slice()),
            d["expected"]["sha1_mrz_info"].as_str().unwrap()
        );
        // without the filler the same key comes out
        let k2 = MrzKey::new("l898902c", "690806", "940623").unwrap();
        assert_eq!(k2.mrz_information().as_str(), "L898902C<369080619406236");
    }

    #[test]
    fn mrz_samples_bac_information() {
        // includes 12-character document numbers (TD1/TD2 STEVENSON) and a short "DOCNUM"
        let v = vectors("mrz/mrz_samples.json");
        let mut n = 0;
        for s in v["valid_or_specimen"].as_array().unwrap() {
            let p = &s["independent_parse"];
            let Some(expected) = p["mrz_information_bac"].as_str() else {
                continue;
            };
            let k = MrzKey::new(
                p["document_number"].as_str().unwrap(),
                p["date_of_birth"].as_str().unwrap(),
                p["date_of_expiry"].as_str().unwrap(),
            )
            .unwrap();
            assert_eq!(k.mrz_information().as_str(), expected, "{}", s["mrz"]);
            n += 1;
        }
        assert!(n >= 10);
        let long = MrzKey::new("D23145890734", "340712", "950712").unwrap();
        assert_eq!(long.mrz_information().as_str(), "D23145890734934071279507122");
    }

    #[test]
    fn pace_passwords_from_worked_examples() {
        // G.1: MRZ T22000129 / 640812 / 101031
        let g1 = vectors("protocol/pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json");
        let i = &g1["inputs"];
        let mrz = Password::Mrz(
            MrzKey::new(
                i["document_number"].as_str().unwrap(),
                i["date_of_birth"].as_str().unwrap(),
                i["date_of_expiry"].as_str().unwrap(),
            )
            .unwrap(),
        );
        assert_eq!(mrz.key_reference(), 1);
        let pi = mrz.pace_secret();
        assert_eq!(
            hex::encode_upper(pi.as_slice()),
            g1["expected"]["k_sha1_mrz"].as_str().unwrap()
        );
        assert_eq!(
            hex::encode_upper(kdf(&pi, KDF_PI, Cipher::Aes128).as_slice()),
            g1["expected"]["k_pi"].as_str().unwrap()
        );
        // H.1: password "123456" (BSI: a PIN; Doc 9303: a CAN)
        let h1 = vectors("protocol/pace_ecdh_im_brainpoolp256r1_doc9303_h1.json");
        for p in [Password::can("123456").unwrap(), Password::pin("123456").unwrap()] {
            assert_eq!(
                hex::encode_upper(kdf(&p.pace_secret(), KDF_PI, Cipher::Aes128).as_slice()),
                h1["expected"]["k_pi"].as_str().unwrap()
            );
        }
        assert_eq!(Password::can("123456").unwrap().key_reference(), 2);
        assert_eq!(Password::pin("1234").unwrap().key_reference(), 3);
        assert_eq!(Password::puk("1234567890").unwrap().key_reference(), 4);
    }

    #[test]
    fn invalid_inputs() {
        assert!(MrzKey::new("", "690806", "940623").is_err());
        assert!(MrzKey::new("L89890-2C", "690806", "940623").is_err());
        assert!(MrzKey::new("L898902C", "69086", "940623").is_err());
        assert!(MrzKey::new("L898902C", "690806", "9406235").is_err());
        assert!(MrzKey::new("L898902C", "6908AB", "940623").is_err());
        assert!(Password::can("12a456").is_err());
        assert!(Password::can("").is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let k = MrzKey::new("L898902C", "690806", "940623").unwrap();
        assert_eq!(format!("{k:?}"), "MrzKey(<redacted>)");
        let d = format!("{:?}", Password::can("123456").unwrap());
        assert!(!d.contains("123456"), "{d}");
    }
}

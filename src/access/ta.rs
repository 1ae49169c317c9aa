//! Terminal Authentication, reader side (BSI TR-03110-1 §3.3/§3.5 v1 and v2,
//! TR-03110-3 B.11, Doc 9303 Part 11 §7.2).
//!
//! The terminal proves to the chip that it holds an inspection-system key certified by
//! the chip's CVCA, which unlocks DG3/DG4 for the rights of the chain's CHATs:
//!
//! 1. for each certificate below the chip's trust point (link CVCA, DV, terminal):
//!    MSE:Set DST `00 22 81 B6 {83 CAR}` then PSO:Verify Certificate
//!    `00 2A 00 BE {7F4E body, 5F37 signature}`;
//! 2. MSE:Set AT `00 22 81 A4 {83 CHR of the terminal}` (v2 adds `91 Comp(PK_PCD)`);
//! 3. GET CHALLENGE (8 bytes r_PICC);
//! 4. EXTERNAL AUTHENTICATE `00 82 00 00 {signature}` over
//!    `ID_PICC ‖ r_PICC ‖ Comp(PK_PCD)`.
//!
//! `Comp(PK_PCD)` is the compressed form of the terminal's ephemeral Chip
//! Authentication public key — in v1 sent by CA before TA, in v2 announced by MSE:Set AT
//! and used by CA afterwards (the x-coordinate for ECDH, SHA-1 of the public value for
//! DH; TR-03110-3 A.2.2.3). `ID_PICC` is the document number and its check digit after
//! BAC, and `Comp` of the chip's ephemeral PACE public key after PACE.
//!
//! This layer knows neither certificates nor keys: the caller gives the certificate
//! bytes ([`TaCertificate`]) and a [`TerminalSigner`] (a PKCS#8 key, or a PKCS#11
//! token).

use thiserror::Error;

use crate::apdu::{ApduError, CardChannel, Command, StatusWord};
use crate::tlv;

/// One certificate as PSO:Verify Certificate sends it.
#[derive(Debug, Clone)]
pub struct TaCertificate {
    /// Certification Authority Reference (selected by MSE:Set DST).
    pub car: String,
    /// Certificate Holder Reference.
    pub chr: String,
    /// The body as issued (7F4E, tag and length included).
    pub body: Vec<u8>,
    /// The signature value (the content of 5F37).
    pub signature: Vec<u8>,
}

/// Signs the TA challenge with the terminal's private key.
pub trait TerminalSigner {
    /// The signature over `message`, in the format of the terminal certificate's
    /// algorithm (plain r‖s for ECDSA).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String>;
}

/// Why Terminal Authentication failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TaError {
    /// The chip refused a step; the status word says why (6A88 unknown CAR, 6300
    /// signature wrong, 6982 …).
    #[error(
        "Terminal Authentication: the chip answered {sw} to {step}{}",
        chr.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
    )]
    Refused {
        /// Which step.
        step: &'static str,
        /// For PSO:Verify Certificate and MSE:Set DST: the certificate's CHR.
        chr: Option<String>,
        /// The status word.
        sw: StatusWord,
    },
    /// The chip's challenge is not 8 bytes.
    #[error("Terminal Authentication: GET CHALLENGE returned {0} bytes, not 8")]
    BadChallenge(usize),
    /// The terminal key could not sign.
    #[error("Terminal Authentication: the terminal key could not sign: {0}")]
    Signer(String),
    /// An ephemeral public key could not be compressed.
    #[error("Terminal Authentication: malformed public key ({0})")]
    BadKey(&'static str),
    /// Transport or secure messaging failed.
    #[error("Terminal Authentication: {0}")]
    Apdu(#[from] ApduError),
}

impl TaError {
    /// The chip's status word, when the chip refused.
    pub fn status_word(&self) -> Option<StatusWord> {
        match self {
            TaError::Refused { sw, .. } => Some(*sw),
            _ => None,
        }
    }
}

/// `Comp()` of an ephemeral public key (TR-03110-3 A.2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An uncompressed EC point `04 ‖ x ‖ y`: Comp is x.
    Ec,
    /// A DH public value: Comp is SHA-1 of it.
    Dh,
}

/// Compress an ephemeral public key: the x-coordinate of an uncompressed EC point, or
/// SHA-1 of a DH public value (given as its unsigned big-endian bytes).
pub fn comp(kind: KeyKind, public: &[u8]) -> Result<Vec<u8>, TaError> {
    match kind {
        KeyKind::Ec => {
            let (first, rest) = public.split_first().ok_or(TaError::BadKey("empty EC point"))?;
            if *first != 0x04 || rest.is_empty() || rest.len() % 2 != 0 {
                return Err(TaError::BadKey("not an uncompressed EC point"));
            }
            Ok(rest.get(..rest.len() / 2).unwrap_or_default().to_vec())
        }
        KeyKind::Dh => {
            use sha1::Digest;
            Ok(sha1::Sha1::digest(public).to_vec())
        }
    }
}

/// ID_PICC after BAC: the document number as in the MRZ (with `<` fillers) followed by
/// its check digit character.
pub fn id_picc_bac(document_number: &str, check_digit: char) -> Vec<u8> {
    let mut v = document_number.as_bytes().to_vec();
    let mut buf = [0u8; 4];
    v.extend_from_slice(check_digit.encode_utf8(&mut buf).as_bytes());
    v
}

/// The signed message `ID_PICC ‖ r_PICC ‖ Comp(PK_PCD)`.
pub fn signature_input(id_picc: &[u8], r_picc: &[u8], comp_pk_pcd: &[u8]) -> Vec<u8> {
    signature_input_with_aux(id_picc, r_picc, comp_pk_pcd, None)
}

/// The signed message `ID_PICC ‖ r_PICC ‖ Comp(PK_PCD) ‖ A_PCD` (TR-03110-3 B.11.6),
/// where A_PCD is the authenticated auxiliary data object (`67 …`, tag and length
/// included) sent in MSE:Set AT, if any.
pub fn signature_input_with_aux(
    id_picc: &[u8],
    r_picc: &[u8],
    comp_pk_pcd: &[u8],
    aux: Option<&[u8]>,
) -> Vec<u8> {
    [id_picc, r_picc, comp_pk_pcd, aux.unwrap_or_default()].concat()
}

/// MSE:Set DST selecting the public key named by `car`.
pub fn mse_set_dst(car: &str) -> Command {
    Command::new(0x00, 0x22, 0x81, 0xB6).with_data(tlv::encode(0x83, car.as_bytes()))
}

/// PSO:Verify Certificate of one certificate.
pub fn pso_verify_certificate(cert: &TaCertificate) -> Command {
    let mut data = cert.body.clone();
    tlv::encode_into(0x5F37, &cert.signature, &mut data);
    let cmd = Command::new(0x00, 0x2A, 0x00, 0xBE).with_data(data);
    let ext = cmd.needs_extended();
    cmd.extended(ext)
}

/// MSE:Set AT for external authentication: the terminal's CHR, the authenticated
/// auxiliary data object (`67 …`, whole) when given, and for TA v2 the compressed
/// ephemeral key (`91`) the terminal will use for Chip Authentication.
pub fn mse_set_at(chr: &str, aux: Option<&[u8]>, v2_comp_pk_pcd: Option<&[u8]>) -> Command {
    let mut data = tlv::encode(0x83, chr.as_bytes());
    if let Some(a) = aux {
        data.extend_from_slice(a);
    }
    if let Some(c) = v2_comp_pk_pcd {
        tlv::encode_into(0x91, c, &mut data);
    }
    Command::new(0x00, 0x22, 0x81, 0xA4).with_data(data)
}

/// EXTERNAL AUTHENTICATE with the terminal's signature.
pub fn external_authenticate(signature: &[u8]) -> Command {
    let cmd = Command::new(0x00, 0x82, 0x00, 0x00).with_data(signature.to_vec());
    let ext = cmd.needs_extended();
    cmd.extended(ext)
}

/// What the terminal needs to authenticate.
pub struct TaInput<'a> {
    /// Certificates below the chip's trust point, in order (link CVCAs, DV, terminal).
    pub chain: &'a [TaCertificate],
    /// ID_PICC ([`id_picc_bac`] after BAC, [`comp`] of the chip's PACE key after PACE).
    pub id_picc: &'a [u8],
    /// Comp of the terminal's ephemeral Chip Authentication public key.
    pub comp_pk_pcd: &'a [u8],
    /// TA v2: announce `comp_pk_pcd` in MSE:Set AT (CA v2 follows).
    pub v2: bool,
    /// Authenticated auxiliary data (`67 {73 {06 OID, 53 data}…}`, the whole object)
    /// to send in MSE:Set AT and sign over (age verification, document validity,
    /// community ID).
    pub aux: Option<&'a [u8]>,
}

/// What the chip and the terminal exchanged.
#[derive(Debug, Clone)]
pub struct TaOutcome {
    /// The chip's challenge r_PICC.
    pub r_picc: Vec<u8>,
    /// CHRs of the certificates the chip accepted.
    pub verified: Vec<String>,
}

fn expect_ok<C: CardChannel>(
    ch: &mut C,
    cmd: &Command,
    step: &'static str,
    chr: Option<&str>,
) -> Result<Vec<u8>, TaError> {
    let r = ch.send(cmd)?;
    if !r.sw.is_success() {
        return Err(TaError::Refused {
            step,
            chr: chr.map(str::to_owned),
            sw: r.sw,
        });
    }
    Ok(r.data)
}

/// Run Terminal Authentication over an established secure channel.
pub fn authenticate<C: CardChannel, S: TerminalSigner + ?Sized>(
    ch: &mut C,
    input: &TaInput<'_>,
    signer: &S,
) -> Result<TaOutcome, TaError> {
    let mut verified = Vec::new();
    for c in input.chain {
        expect_ok(ch, &mse_set_dst(&c.car), "MSE:Set DST", Some(&c.chr))?;
        expect_ok(
            ch,
            &pso_verify_certificate(c),
            "PSO:Verify Certificate",
            Some(&c.chr),
        )?;
        verified.push(c.chr.clone());
    }
    let terminal = input.chain.last().map(|c| c.chr.as_str()).unwrap_or_default();
    let v2 = input.v2.then_some(input.comp_pk_pcd);
    expect_ok(
        ch,
        &mse_set_at(terminal, input.aux, v2),
        "MSE:Set AT",
        Some(terminal),
    )?;
    let r_picc = expect_ok(ch, &Command::get_challenge(8), "GET CHALLENGE", None)?;
    if r_picc.len() != 8 {
        return Err(TaError::BadChallenge(r_picc.len()));
    }
    let message = signature_input_with_aux(input.id_picc, &r_picc, input.comp_pk_pcd, input.aux);
    let sig = signer.sign(&message).map_err(TaError::Signer)?;
    expect_ok(
        ch,
        &external_authenticate(&sig),
        "EXTERNAL AUTHENTICATE",
        Some(terminal),
    )?;
    Ok(TaOutcome { r_picc, verified })
}

/// The CVCA references of EF.CVCA (FID 011C, SFI 1C; TR-03110-3 A.6.2.1): up to two
/// `42 CAR` elements, the rest of the file zero-padded. Malformed content ends the list.
pub fn parse_ef_cvca(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut r = tlv::Reader::new(bytes);
    while !r.is_empty() && !r.only_zero_padding_left() {
        match r.read() {
            Ok(t) if t.tag == 0x42 && !t.value.is_empty() && t.value.len() <= 16 => {
                match std::str::from_utf8(t.value) {
                    Ok(s) if s.chars().all(|c| c.is_ascii_graphic()) => out.push(s.to_owned()),
                    _ => break,
                }
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ef_cvca_lists_up_to_two_references() {
        let mut f = tlv::encode(0x42, b"DECVCAEPASS00102");
        f.extend(tlv::encode(0x42, b"DECVCAEPASS00103"));
        f.extend([0u8; 4]);
        assert_eq!(parse_ef_cvca(&f), ["DECVCAEPASS00102", "DECVCAEPASS00103"]);
        assert!(parse_ef_cvca(&[0u8; 36]).is_empty());
        assert_eq!(parse_ef_cvca(&[0x42, 0x05, b'A']), Vec::<String>::new());
    }

    #[test]
    fn comp_of_ec_and_dh_keys() {
        assert_eq!(comp(KeyKind::Ec, &[4, 1, 2, 3, 4]).unwrap(), [1, 2]);
        assert!(comp(KeyKind::Ec, &[2, 1, 2]).is_err());
        assert!(comp(KeyKind::Ec, &[]).is_err());
        assert_eq!(comp(KeyKind::Dh, b"abc").unwrap().len(), 20);
    }
}

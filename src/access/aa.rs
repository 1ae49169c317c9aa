//! Active Authentication (Doc 9303 Part 11 §6.1; worked example in Appendix F): the
//! terminal sends a fresh 8-byte challenge RND.IFD in INTERNAL AUTHENTICATE and the
//! chip signs it with the private key whose public key is in EF.DG15. A copy of a
//! genuine chip's files cannot answer, because the private key never leaves the chip.
//!
//! * RSA: ISO/IEC 9796-2 digital signature scheme 1 with partial message recovery
//!   ([`iso9796`]): `F = s^e mod n = 6A || M1 || hash(M1 || RND.IFD) || trailer`, the
//!   trailer `BC` (SHA-1) or `xxCC` (ISO/IEC 10118-3 hash identifier, e.g. `34CC`
//!   SHA-256). ISO/IEC 9796-2 lets the signer output `min(σ, n - σ)`; because n is odd
//!   and a representative ends in the nibble C (even), `s^e mod n` and
//!   `n - (s^e mod n)` cannot both be representatives, and the complement is a public
//!   function of the same signature (whoever can forge one can forge the other), so
//!   both are accepted and the evidence says which was found
//!   ([`SignatureFormat::Iso9796_2`] `complement`). A representative shorter than the
//!   modulus (it opens with zero bytes: moduli whose bit length is not a multiple of 8,
//!   signers that build F one byte short, as gmrtd met on Australian passports) is read
//!   as the integer it is, with the named warning [`AaWarning::ShortRepresentative`].
//! * ECDSA: the hash and encoding come from DG14's ActiveAuthenticationInfo
//!   (`ecdsa-plain-*` per BSI TR-03111, `ecdsa-with-*` per X9.62); the message is
//!   RND.IFD. Signatures are accepted in plain `r || s` and in DER whatever the OID
//!   says (chips disagree with their own DG14); a difference is reported as a named
//!   warning. EC keys with explicit domain parameters are built by
//!   [`Dg15::public_key`].
//!
//! [`authenticate`] runs the exchange over any channel (normally the session's secure
//! channel); [`verify`] is the pure check, usable on a recorded challenge and signature.
//!
//! INTERNAL AUTHENTICATE asks for Le 256 when the signature (plus secure messaging)
//! fits a short response, else — when the card has extended length — Le 65536
//! ([`first_le_form`]). Chips disagree about the other case (some cut the signature to
//! what fits, some answer nothing to an extended Le), so [`authenticate_with`] may
//! repeat the command once with a fresh challenge and the other Le when the first
//! answer shows such a length problem, and reports it ([`AaWarning::LeRetried`]); a
//! complete signature that fails is never retried.
//! The chip side (signing) is [`chip`].

pub mod chip;
pub mod error;
pub mod hash;
pub mod iso9796;

pub use chip::AaSigner;
pub use error::AaError;
pub use hash::EcdsaEncoding;

use crate::asn1::signature::HashAlgorithm;
pub use iso9796::Trailer;

use openssl::bn::{BigNum, BigNumContext};
use openssl::ecdsa::EcdsaSig;

use crate::apdu::{CardChannel, Command, MAX_EXTENDED, MAX_SHORT_LE, StatusWord};
use crate::crypto::ct_eq;
use crate::lds::dg15::{Dg15, EcParameters, PublicKeyInfo};
use crate::lds::quirk::serialize_hex;
use crate::lds::security_infos::ActiveAuthenticationInfo;
use crate::rng::RandomSource;

/// INS of INTERNAL AUTHENTICATE.
pub const INS_INTERNAL_AUTHENTICATE: u8 = 0x88;
/// Length of RND.IFD.
pub const CHALLENGE_LEN: usize = 8;

/// The signature algorithm family of the DG15 key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum AaAlgorithm {
    /// RSA with ISO/IEC 9796-2 scheme 1.
    #[serde(rename = "RSA")]
    Rsa,
    /// ECDSA.
    #[serde(rename = "ECDSA")]
    Ecdsa,
}

/// How the signature was encoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignatureFormat {
    /// ISO/IEC 9796-2 scheme 1, partial recovery.
    #[serde(rename = "iso9796_2")]
    Iso9796_2 {
        /// Trailer as hex: "BC" or "34CC", ….
        trailer: String,
        /// True when the representative was `n - (s^e mod n)` (the signer output
        /// `min(σ, n - σ)`).
        complement: bool,
        /// Bytes of `BB…BA` padding before M1 (0 with header 6A).
        padding: usize,
    },
    /// ECDSA `r || s` (BSI TR-03111).
    EcdsaPlain,
    /// ECDSA DER `SEQUENCE { r, s }`.
    EcdsaDer,
}

/// A tolerated deviation, reported with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AaWarning {
    /// ECDSA key but no ActiveAuthenticationInfo (DG14 absent or without one, which
    /// Doc 9303 Part 11 §9.2.9 requires): the hash was chosen from the order's size.
    HashInferred {
        /// The hash used.
        #[serde(serialize_with = "hash::serialize_spec_name")]
        hash: HashAlgorithm,
    },
    /// The chip's ECDSA encoding differs from what ActiveAuthenticationInfo names.
    EncodingDiffersFromOid {
        /// What the OID names.
        declared: EcdsaEncoding,
        /// What the chip sent.
        received: EcdsaEncoding,
    },
    /// An RSA signature shorter than the modulus (leading zero bytes dropped).
    ShortSignature {
        /// Its length.
        got: usize,
        /// The modulus length.
        modulus: usize,
    },
    /// The ISO/IEC 9796-2 representative is shorter than the modulus (it opened with
    /// leading zero bytes).
    ShortRepresentative {
        /// Its length without the zero bytes.
        len: usize,
        /// The modulus length.
        modulus: usize,
    },
    /// An ActiveAuthenticationInfo next to an RSA key (it only applies to ECDSA).
    AaInfoWithRsaKey,
    /// The first INTERNAL AUTHENTICATE had a length problem; the evidence is from a
    /// second one with a fresh challenge and the other Le form.
    LeRetried {
        /// The Le form of the first command.
        first: LeForm,
        /// What went wrong with it.
        reason: String,
    },
}

impl std::fmt::Display for AaWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AaWarning::HashInferred { hash } => write!(
                f,
                "no ActiveAuthenticationInfo for the ECDSA key: {hash} assumed from the curve size"
            ),
            AaWarning::EncodingDiffersFromOid { declared, received } => write!(
                f,
                "ECDSA signature in {received:?} encoding although ActiveAuthenticationInfo names {declared:?}"
            ),
            AaWarning::ShortSignature { got, modulus } => {
                write!(f, "RSA signature of {got} byte(s) for a {modulus}-byte modulus")
            }
            AaWarning::ShortRepresentative { len, modulus } => write!(
                f,
                "ISO/IEC 9796-2 representative of {len} byte(s) for a {modulus}-byte modulus (leading zero bytes)"
            ),
            AaWarning::AaInfoWithRsaKey => {
                f.write_str("ActiveAuthenticationInfo present although the DG15 key is RSA (ignored)")
            }
            AaWarning::LeRetried { first, reason } => write!(
                f,
                "INTERNAL AUTHENTICATE with {} Le failed ({reason}); repeated with a fresh challenge and the other Le",
                match first {
                    LeForm::Short => "a short",
                    LeForm::Extended => "an extended",
                }
            ),
        }
    }
}

fn serialize_opt_hex<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_some(&hex::encode_upper(b)),
        None => s.serialize_none(),
    }
}

/// What a successful Active Authentication showed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AaEvidence {
    /// RSA or ECDSA.
    pub algorithm: AaAlgorithm,
    /// RSA modulus bits or EC field bits.
    pub key_bits: Option<usize>,
    /// The curve's name when known (named, or explicit parameters equal to a known curve).
    pub curve: Option<String>,
    /// The hash function (`"SHA-256"` in JSON).
    #[serde(serialize_with = "hash::serialize_spec_name")]
    pub hash: HashAlgorithm,
    /// The signature's format.
    pub signature_format: SignatureFormat,
    /// RND.IFD.
    #[serde(serialize_with = "serialize_hex")]
    pub challenge: Vec<u8>,
    /// The signature as the chip sent it.
    #[serde(serialize_with = "serialize_hex")]
    pub signature: Vec<u8>,
    /// RSA: the recovered M1 (the chip's nonce part of the signed message).
    #[serde(serialize_with = "serialize_opt_hex")]
    pub recovered_m1: Option<Vec<u8>>,
    /// The Le form of the INTERNAL AUTHENTICATE that gave this signature (`None` from
    /// [`verify`] alone).
    pub le: Option<LeForm>,
    /// Tolerated deviations.
    pub warnings: Vec<AaWarning>,
}

/// How INTERNAL AUTHENTICATE asks for the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeForm {
    /// Short Le `00` (256 bytes).
    Short,
    /// Extended Le `0000` (65536 bytes).
    Extended,
}

impl LeForm {
    /// The Le value.
    pub fn le(self) -> usize {
        match self {
            LeForm::Short => MAX_SHORT_LE,
            LeForm::Extended => MAX_EXTENDED,
        }
    }

    fn other(self) -> Self {
        match self {
            LeForm::Short => LeForm::Extended,
            LeForm::Extended => LeForm::Short,
        }
    }
}

/// Missing bytes beyond which an RSA signature counts as cut short rather than sent
/// without leading zero bytes (a 2^-64 event for a genuine signature).
pub const TRUNCATION_MARGIN: usize = 8;

/// Largest signature asked for with a short Le: its secure-messaging answer (DO'87' of
/// the padded signature, DO'99', DO'8E') still fits 256 bytes under 3DES, as the gmrtd
/// RSA-1792 session shows (224-byte signature, 250-byte answer).
pub const SHORT_LE_MAX_SIGNATURE: usize = 224;

/// Choices for [`authenticate_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AaOptions {
    /// The card accepts extended-length APDUs (from its ATR or EF.ATR/INFO; the
    /// reader's `Manifest::extended_length`). Without it every command is short.
    pub extended_length: bool,
    /// Allow one more INTERNAL AUTHENTICATE, with a fresh challenge and the other Le
    /// form, when the first answer shows a length problem: 6700, an empty answer, or an
    /// RSA signature cut short (chips disagree: some truncate a signature that does not
    /// fit a short response, some answer nothing to an extended Le). Reported as
    /// [`AaWarning::LeRetried`].
    pub retry_other_le: bool,
}

impl Default for AaOptions {
    fn default() -> Self {
        AaOptions {
            extended_length: false,
            retry_other_le: true,
        }
    }
}

/// INTERNAL AUTHENTICATE `00 88 00 00 08 RND.IFD Le`.
pub fn internal_authenticate(challenge: &[u8], le: LeForm) -> Command {
    Command::new(0x00, INS_INTERNAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(challenge.to_vec())
        .with_le(le.le())
}

/// The signature length the DG15 key produces (RSA: modulus bytes; ECDSA: plain r||s,
/// which a DER encoding exceeds by at most 9 bytes).
pub fn expected_signature_len(dg15: &Dg15) -> usize {
    match &dg15.key {
        PublicKeyInfo::Rsa { modulus_bits, .. } => modulus_bits.div_ceil(8),
        PublicKeyInfo::Ec { .. } => dg15.key_bits().map_or(132, |b| 2 * b.div_ceil(8) + 9),
        PublicKeyInfo::Other { .. } => MAX_SHORT_LE,
    }
}

/// The first Le form for a DG15 key: short up to [`SHORT_LE_MAX_SIGNATURE`] bytes of
/// signature or when the card has no extended length, else extended.
pub fn first_le_form(dg15: &Dg15, extended_length: bool) -> LeForm {
    if expected_signature_len(dg15) <= SHORT_LE_MAX_SIGNATURE || !extended_length {
        LeForm::Short
    } else {
        LeForm::Extended
    }
}

/// Send a fresh RND.IFD (8 bytes from `rng`) in INTERNAL AUTHENTICATE with `le` and
/// return it with the chip's answer (not verified).
pub fn exchange<C: CardChannel + ?Sized>(
    ch: &mut C,
    le: LeForm,
    rng: &mut dyn RandomSource,
) -> Result<([u8; CHALLENGE_LEN], Vec<u8>), AaError> {
    let mut challenge = [0u8; CHALLENGE_LEN];
    rng.fill(&mut challenge);
    let resp = ch.send(&internal_authenticate(&challenge, le))?;
    if resp.sw != StatusWord::OK {
        return Err(
            if resp.sw == StatusWord::INS_NOT_SUPPORTED || resp.sw == StatusWord::FUNC_NOT_SUPPORTED {
                AaError::NotSupported { sw: resp.sw }
            } else {
                AaError::Status { sw: resp.sw }
            },
        );
    }
    if resp.data.is_empty() {
        return Err(AaError::EmptySignature);
    }
    Ok((challenge, resp.data))
}

/// Run Active Authentication over `ch` (the session's secure channel after BAC/PACE)
/// with [`AaOptions::default`]: short APDUs only.
pub fn authenticate<C: CardChannel + ?Sized>(
    ch: &mut C,
    dg15: &Dg15,
    aa_info: Option<&ActiveAuthenticationInfo>,
    rng: &mut dyn RandomSource,
) -> Result<AaEvidence, AaError> {
    authenticate_with(ch, dg15, aa_info, &AaOptions::default(), rng)
}

/// Why the first INTERNAL AUTHENTICATE is worth one more try with the other Le form.
fn length_problem(first: &Result<AaEvidence, AaError>) -> Option<&'static str> {
    match first {
        Err(AaError::Status {
            sw: StatusWord::WRONG_LENGTH,
        }) => Some("6700 wrong length"),
        Err(AaError::EmptySignature) => Some("answer without a signature"),
        Err(AaError::TruncatedSignature { .. }) => Some("RSA signature cut short"),
        _ => None,
    }
}

/// Active Authentication: a fresh challenge, INTERNAL AUTHENTICATE (Le per
/// [`first_le_form`]), [`verify`]; then, when allowed and the answer shows a length
/// problem, once more with a new challenge and the other Le form. A signature that is
/// complete but wrong is never retried.
pub fn authenticate_with<C: CardChannel + ?Sized>(
    ch: &mut C,
    dg15: &Dg15,
    aa_info: Option<&ActiveAuthenticationInfo>,
    options: &AaOptions,
    rng: &mut dyn RandomSource,
) -> Result<AaEvidence, AaError> {
    let first = first_le_form(dg15, options.extended_length);
    let outcome = exchange(ch, first, rng).and_then(|(challenge, signature)| {
        verify(dg15, aa_info, &challenge, &signature).map(|mut ev| {
            ev.le = Some(first);
            ev
        })
    });
    let Some(reason) = length_problem(&outcome) else {
        return outcome;
    };
    let second = first.other();
    if !options.retry_other_le || (second == LeForm::Extended && !options.extended_length) {
        return outcome;
    }
    let (challenge, signature) = exchange(ch, second, rng)?;
    let mut ev = verify(dg15, aa_info, &challenge, &signature)?;
    ev.warnings.push(AaWarning::LeRetried {
        first,
        reason: reason.to_string(),
    });
    ev.le = Some(second);
    Ok(ev)
}

/// Check the chip's `signature` over `challenge` with the DG15 key (RSA: ISO/IEC 9796-2
/// scheme 1; EC: ECDSA with the hash of `aa_info`).
pub fn verify(
    dg15: &Dg15,
    aa_info: Option<&ActiveAuthenticationInfo>,
    challenge: &[u8],
    signature: &[u8],
) -> Result<AaEvidence, AaError> {
    if signature.is_empty() {
        return Err(AaError::EmptySignature);
    }
    match &dg15.key {
        PublicKeyInfo::Rsa {
            modulus,
            exponent,
            modulus_bits,
        } => {
            let mut ev = verify_rsa(modulus, exponent, challenge, signature)?;
            ev.key_bits = Some(*modulus_bits);
            if aa_info.is_some() {
                ev.warnings.push(AaWarning::AaInfoWithRsaKey);
            }
            Ok(ev)
        }
        PublicKeyInfo::Ec { parameters, .. } => {
            let curve = match parameters {
                EcParameters::Named { name, oid } => Some(name.map_or_else(|| oid.clone(), str::to_string)),
                EcParameters::Explicit(c) => c.known_curve.map(str::to_string),
                EcParameters::ImplicitlyCa => {
                    return Err(AaError::UnsupportedKey {
                        what: "implicitlyCA EC parameters",
                    });
                }
            };
            let mut ev = verify_ecdsa(dg15, aa_info, challenge, signature)?;
            ev.curve = curve;
            ev.key_bits = dg15.key_bits();
            Ok(ev)
        }
        PublicKeyInfo::Other { .. } => Err(AaError::UnsupportedKey {
            what: "neither rsaEncryption nor id-ecPublicKey",
        }),
    }
}

/// RSA: open `s^e mod n`, find the ISO/IEC 9796-2 representative (directly or as its
/// complement), and compare `hash(M1 || challenge)` with the digest it carries.
pub fn verify_rsa(
    modulus: &[u8],
    exponent: &[u8],
    challenge: &[u8],
    signature: &[u8],
) -> Result<AaEvidence, AaError> {
    let n = BigNum::from_slice(modulus)?;
    let e = BigNum::from_slice(exponent)?;
    let k = usize::try_from(n.num_bytes()).unwrap_or(0);
    if n.num_bits() < 2 || !n.is_odd() || e.num_bits() == 0 {
        return Err(AaError::UnsupportedKey {
            what: "RSA modulus or exponent is degenerate",
        });
    }
    let mut warnings = Vec::new();
    if signature.len() > k {
        return Err(AaError::SignatureTooLong {
            got: signature.len(),
            modulus: k,
        });
    }
    if signature.len() + TRUNCATION_MARGIN < k {
        return Err(AaError::TruncatedSignature {
            got: signature.len(),
            modulus: k,
        });
    }
    if signature.len() < k {
        warnings.push(AaWarning::ShortSignature {
            got: signature.len(),
            modulus: k,
        });
    }
    let s = BigNum::from_slice(signature)?;
    if s.num_bits() == 0 || s >= n {
        return Err(AaError::SignatureOutOfRange);
    }
    let mut ctx = BigNumContext::new()?;
    let mut j = BigNum::new()?;
    j.mod_exp(&s, &e, &n, &mut ctx)?;
    // the representative as an integer: a signer that builds F one byte shorter than the
    // modulus (moduli whose bit length is not a multiple of 8, some Australian chips)
    // gives leading zero bytes, which are not part of F
    let direct = j.to_vec();
    let (f, complement) = match iso9796::parse(&direct) {
        Ok(_) => (direct, false),
        Err(first) => {
            let mut nj = BigNum::new()?;
            nj.checked_sub(&n, &j)?;
            let comp = nj.to_vec();
            if iso9796::parse(&comp).is_ok() {
                (comp, true)
            } else {
                return Err(first);
            }
        }
    };
    if f.len() < k {
        warnings.push(AaWarning::ShortRepresentative {
            len: f.len(),
            modulus: k,
        });
    }
    let rep = iso9796::parse(&f)?;
    let hash = rep.trailer.hash();
    let expected = hash.digest_parts(&[rep.m1, challenge]);
    if !ct_eq(&expected, rep.digest) {
        return Err(AaError::DigestMismatch { hash });
    }
    Ok(AaEvidence {
        algorithm: AaAlgorithm::Rsa,
        key_bits: Some(usize::try_from(n.num_bits()).unwrap_or(0)),
        curve: None,
        hash,
        signature_format: SignatureFormat::Iso9796_2 {
            trailer: rep.trailer.hex(),
            complement,
            padding: rep.padding,
        },
        challenge: challenge.to_vec(),
        signature: signature.to_vec(),
        recovered_m1: Some(rep.m1.to_vec()),
        le: None,
        warnings,
    })
}

/// Decode an ECDSA signature: strict DER when it is DER, else plain `r || s` of twice
/// the order's length.
pub fn decode_ecdsa_signature(sig: &[u8], order_len: usize) -> Result<(EcdsaSig, EcdsaEncoding), AaError> {
    if sig.first() == Some(&0x30)
        && let Ok(d) = EcdsaSig::from_der(sig)
        && d.to_der().is_ok_and(|der| der == sig)
    {
        return Ok((d, EcdsaEncoding::Der));
    }
    if order_len > 0 && sig.len() == 2 * order_len {
        let (r, s) = sig.split_at(order_len);
        let sig = EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?;
        return Ok((sig, EcdsaEncoding::Plain));
    }
    Err(AaError::BadSignatureEncoding {
        len: sig.len(),
        plain_len: 2 * order_len,
    })
}

fn verify_ecdsa(
    dg15: &Dg15,
    aa_info: Option<&ActiveAuthenticationInfo>,
    challenge: &[u8],
    signature: &[u8],
) -> Result<AaEvidence, AaError> {
    let key = dg15.public_key().map_err(AaError::Key)?;
    let ec = key.ec_key().map_err(|_| AaError::UnsupportedKey {
        what: "EC public key expected",
    })?;
    let mut ctx = BigNumContext::new()?;
    let mut order = BigNum::new()?;
    ec.group().order(&mut order, &mut ctx)?;
    let order_len = usize::try_from(order.num_bytes()).unwrap_or(0);
    let order_bits = usize::try_from(order.num_bits()).unwrap_or(0);
    let mut warnings = Vec::new();
    let (hash, declared) = match aa_info {
        Some(info) => {
            let (h, enc) = HashAlgorithm::from_ecdsa_oid(&info.signature_algorithm).ok_or(
                AaError::UnsupportedSignatureAlgorithm {
                    oid: info.signature_algorithm,
                },
            )?;
            (h, Some(enc))
        }
        None => {
            let h = HashAlgorithm::for_order_bits(order_bits);
            warnings.push(AaWarning::HashInferred { hash: h });
            (h, None)
        }
    };
    let (sig, received) = decode_ecdsa_signature(signature, order_len)?;
    if let Some(declared) = declared
        && declared != received
    {
        warnings.push(AaWarning::EncodingDiffersFromOid { declared, received });
    }
    let digest = hash.digest(challenge);
    // an error from the verify primitive (r or s out of range) is the chip's data failing too
    if !sig.verify(&digest, &ec).unwrap_or(false) {
        return Err(AaError::EcdsaInvalid { hash });
    }
    Ok(AaEvidence {
        algorithm: AaAlgorithm::Ecdsa,
        key_bits: None,
        curve: None,
        hash,
        signature_format: match received {
            EcdsaEncoding::Plain => SignatureFormat::EcdsaPlain,
            EcdsaEncoding::Der => SignatureFormat::EcdsaDer,
        },
        challenge: challenge.to_vec(),
        signature: signature.to_vec(),
        recovered_m1: None,
        le: None,
        warnings,
    })
}

//! Certificate revocation lists (RFC 5280 §5, Doc 9303 Part 12 §7.1.4 CRL profile).
//!
//! ```text
//! CertificateList ::= SEQUENCE { tbsCertList TBSCertList, signatureAlgorithm, signatureValue BIT STRING }
//! TBSCertList ::= SEQUENCE {
//!     version Version OPTIONAL, signature AlgorithmIdentifier, issuer Name,
//!     thisUpdate Time, nextUpdate Time OPTIONAL,
//!     revokedCertificates SEQUENCE OF SEQUENCE {
//!         userCertificate CertificateSerialNumber, revocationDate Time,
//!         crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
//!     crlExtensions [0] EXPLICIT Extensions OPTIONAL }
//! ```

use openssl::sha::sha256;
use time::OffsetDateTime;

use super::cert::{CertError, Name, Rfc5280Violation, SignedParts, parse_aki, same_integer, verify_signed};
use super::keys::PublicKey;
use crate::asn1::AlgorithmIdentifier;
use crate::asn1::Oid;
use crate::asn1::der::{self as asn1, Asn1Error, tag};
use crate::asn1::oid as ext_oid;
use crate::tlv::{self, Tlv};

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RevokedEntry {
    /// Serial number content octets.
    #[serde(serialize_with = "ser_hex")]
    pub serial: Vec<u8>,
    /// revocationDate.
    #[serde(serialize_with = "crate::pki::ser_time")]
    pub date: OffsetDateTime,
    /// CRLReason code (RFC 5280 §5.3.1) when given.
    pub reason: Option<u8>,
}

fn ser_hex<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(v))
}

/// The name of a CRLReason code.
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "unknown",
    }
}

/// A parsed CRL holding its original DER.
#[derive(Debug, Clone)]
pub struct Crl {
    /// The CRL exactly as read.
    pub der: Vec<u8>,
    /// SHA-256 of `der`.
    pub sha256: [u8; 32],
    tbs: std::ops::Range<usize>,
    /// Outer signatureAlgorithm.
    pub signature_algorithm: AlgorithmIdentifier,
    /// signatureValue octets.
    pub signature: Vec<u8>,
    /// issuer.
    pub issuer: Name,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: Option<OffsetDateTime>,
    /// Revoked certificates.
    pub entries: Vec<RevokedEntry>,
    /// Authority key identifier.
    pub aki: Option<Vec<u8>>,
    /// cRLNumber content octets.
    pub crl_number: Option<Vec<u8>>,
    /// The TBSCertList's signature algorithm (must equal the outer one).
    pub inner_signature_algorithm: AlgorithmIdentifier,
    /// Critical CRL or entry extensions this code does not process.
    pub unknown_critical: Vec<Oid>,
}

/// CRL extensions processed here (RFC 5280 §5.2): authority key identifier, cRLNumber,
/// issuerAltName. Delta CRLs, issuing distribution points and the rest are not.
const KNOWN_CRL_EXTENSIONS: &[Oid] = &[ext_oid::AKI, ext_oid::CRL_NUMBER, ext_oid::IAN];
/// Entry extensions processed (RFC 5280 §5.3): reasonCode, invalidityDate.
const KNOWN_ENTRY_EXTENSIONS: &[Oid] = &[ext_oid::CRL_REASON, Oid::new_unwrap("2.5.29.24")];

thread_local! {
    static PARSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// CRLs parsed on this thread so far (tests prove that verify does not parse every
/// CRL in the store).
pub fn parses() -> u64 {
    PARSES.with(std::cell::Cell::get)
}

impl Crl {
    /// Parse DER (BER lengths tolerated).
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        PARSES.with(|c| c.set(c.get().saturating_add(1)));
        let SignedParts {
            tbs: tbs_t,
            tbs_range: tbs,
            signature_algorithm,
            signature,
            ..
        } = SignedParts::parse(der, "CertificateList", "tbsCertList")?;
        let mut t = tbs_t.children_ber();
        let _version = asn1::optional(&mut t, tag::INTEGER)?;
        let inner_signature_algorithm =
            AlgorithmIdentifier::from_tlv(&asn1::next(&mut t, tag::SEQUENCE, "signature")?)?;
        let mut unknown_critical = Vec::new();
        let (issuer, _) = Name::from_tlv(&asn1::next(&mut t, tag::SEQUENCE, "issuer")?)?;
        let this_update = asn1::time(&asn1::next_any(&mut t, "thisUpdate")?, "thisUpdate")?;
        let next_update = match asn1::peek_tag(&t) {
            Some(tag::UTC_TIME | tag::GENERALIZED_TIME) => Some(asn1::time(&t.read()?, "nextUpdate")?),
            _ => None,
        };
        let mut entries = Vec::new();
        if let Some(list) = asn1::optional(&mut t, tag::SEQUENCE)? {
            for e in list.children_ber() {
                entries.push(parse_entry(&e?, &mut unknown_critical)?);
            }
        }
        let mut aki = None;
        let mut crl_number = None;
        if let Some(exts) = asn1::optional(&mut t, 0xA0)? {
            let seq = tlv::parse_ber(exts.value)?;
            for e in seq.children_ber() {
                let (o, v) = extension(&e?, KNOWN_CRL_EXTENSIONS, &mut unknown_critical)?;
                if o == ext_oid::AKI {
                    aki = parse_aki(v.value)?;
                } else if o == ext_oid::CRL_NUMBER {
                    let n = tlv::parse_ber(v.value)?;
                    crl_number = Some(asn1::integer_bytes(&n, "cRLNumber")?.to_vec());
                }
            }
        }
        Ok(Crl {
            der: der.to_vec(),
            sha256: sha256(der),
            tbs,
            signature_algorithm,
            signature,
            issuer,
            this_update,
            next_update,
            entries,
            aki,
            crl_number,
            inner_signature_algorithm,
            unknown_critical,
        })
    }

    /// The RFC 5280 rules that guard trust which this CRL breaks (inner and outer
    /// signature algorithm differ; an unknown critical extension).
    pub fn rfc5280_violations(&self) -> Vec<Rfc5280Violation> {
        let mut out: Vec<_> =
            Rfc5280Violation::algorithm_mismatch(&self.signature_algorithm, &self.inner_signature_algorithm)
                .into_iter()
                .collect();
        for o in &self.unknown_critical {
            out.push(Rfc5280Violation::UnknownCriticalExtension { oid: o.to_string() });
        }
        out
    }

    /// The TBSCertList bytes as read.
    pub fn tbs_der(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    /// Verify the CRL's signature with the issuing CSCA's key.
    pub fn verify_signature(&self, issuer_key: &PublicKey) -> Result<(), CertError> {
        verify_signed(
            &self.signature_algorithm,
            issuer_key,
            self.tbs_der(),
            &self.signature,
        )
    }

    /// thisUpdate ≤ at ≤ nextUpdate (a CRL without nextUpdate is never current).
    pub fn is_current_at(&self, at: OffsetDateTime) -> bool {
        self.this_update <= at && self.next_update.is_some_and(|n| at <= n)
    }

    /// The entry for a serial number, if revoked.
    pub fn find(&self, serial: &[u8]) -> Option<&RevokedEntry> {
        self.entries.iter().find(|e| same_integer(&e.serial, serial))
    }

    /// Country of the issuer.
    pub fn country(&self) -> Option<String> {
        self.issuer.country()
    }

    /// SHA-256 fingerprint hex.
    pub fn fingerprint(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// One Extension (RFC 5280 §4.1): its extnID and extnValue. A critical one not in
/// `known` is noted (once) in `unknown_critical`.
fn extension<'a>(
    ext: &Tlv<'a>,
    known: &[Oid],
    unknown_critical: &mut Vec<Oid>,
) -> Result<(Oid, Tlv<'a>), Asn1Error> {
    let mut r = ext.children_ber();
    let o = asn1::oid(&asn1::next(&mut r, tag::OID, "extnID")?, "extnID")?;
    let critical =
        asn1::optional(&mut r, tag::BOOLEAN)?.is_some_and(|b| b.value.first().is_some_and(|v| *v != 0));
    let v = asn1::next(&mut r, tag::OCTET_STRING, "extnValue")?;
    if critical && !known.contains(&o) && !unknown_critical.contains(&o) {
        unknown_critical.push(o);
    }
    Ok((o, v))
}

fn parse_entry(e: &Tlv<'_>, unknown_critical: &mut Vec<Oid>) -> Result<RevokedEntry, Asn1Error> {
    asn1::expect_tag(e, tag::SEQUENCE, "revokedCertificate")?;
    let mut r = e.children_ber();
    let serial = asn1::integer_bytes(
        &asn1::next(&mut r, tag::INTEGER, "userCertificate")?,
        "userCertificate",
    )?
    .to_vec();
    let date = asn1::time(&asn1::next_any(&mut r, "revocationDate")?, "revocationDate")?;
    let mut reason = None;
    if let Some(exts) = asn1::optional(&mut r, tag::SEQUENCE)? {
        for x in exts.children_ber() {
            let (o, v) = extension(&x?, KNOWN_ENTRY_EXTENSIONS, unknown_critical)?;
            if o == ext_oid::CRL_REASON {
                let en = tlv::parse_ber(v.value)?;
                // ENUMERATED (0x0A)
                if en.tag == 0x0A {
                    reason = en.value.last().copied();
                }
            }
        }
    }
    Ok(RevokedEntry { serial, date, reason })
}

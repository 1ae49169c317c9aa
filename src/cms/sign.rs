//! Producing SignedData (RFC 5652 §5) — for the fixture generator and the chip
//! emulator (EF.SOD, EF.CardSecurity, master and deviation lists). The verifier
//! never re-encodes what it checks; this is the signing side only.

use openssl::pkey::{HasPrivate, PKeyRef};
use time::OffsetDateTime;

use super::asn1::{self, tag};
use super::{Oid, SignedDataBuilder, encode_signed_attrs};
use crate::asn1::signature::{self, HashAlgorithm, SignatureAlgorithm, SignatureError};
use crate::pki::cert::Certificate;
use crate::tlv;

/// How the SignerInfo names its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidForm {
    /// issuerAndSerialNumber (SignerInfo version 1), as Doc 9303 recommends.
    IssuerAndSerial,
    /// subjectKeyIdentifier (SignerInfo version 3).
    SubjectKeyIdentifier,
    /// issuerAndSerialNumber whose issuer Name is written anew with every attribute
    /// value a PrintableString, instead of copying the certificate's issuer bytes (which
    /// may use UTF8String): the same name under RFC 5280 §7.1 matching, other bytes.
    /// Ukrainian EF.SODs do this (gmrtd #440). Values with characters PrintableString
    /// cannot hold keep their type.
    IssuerAndSerialPrintable,
}

/// `name` (a DER Name) with every attribute value whose characters PrintableString can
/// hold re-tagged as PrintableString (X.680 §41.4: A–Z a–z 0–9 space ' ( ) + , - . / : = ?).
fn printable_name(name: &[u8]) -> Result<Vec<u8>, tlv::TlvError> {
    fn printable(v: &[u8]) -> bool {
        v.iter()
            .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(b))
    }
    let seq = tlv::parse(name)?;
    let mut rdns = Vec::new();
    for rdn in seq.children().read_all()? {
        let mut atvs = Vec::new();
        for atv in rdn.children().read_all()? {
            let mut r = atv.children();
            let ty = r.read()?;
            let value = r.read()?;
            // UTF8String, PrintableString, TeletexString, IA5String (single-byte forms)
            let value = if [0x0C, 0x13, 0x14, 0x16].contains(&value.tag) && printable(value.value) {
                tlv::encode(0x13, value.value)
            } else {
                value.raw.to_vec()
            };
            atvs.push(asn1::encode_seq(&[ty.raw, &value]));
        }
        rdns.push(tlv::encode(0x31, &atvs.concat()));
    }
    Ok(tlv::encode(tag::SEQUENCE, &rdns.concat()))
}

/// What to sign and with what.
#[derive(Debug, Clone)]
pub struct SignRequest<'a> {
    /// eContentType.
    pub econtent_type: Oid,
    /// eContent octets.
    pub econtent: &'a [u8],
    /// The signer's certificate (DER); embedded in `certificates` when `embed_signer`.
    pub signer_cert: &'a [u8],
    /// Digest algorithm (messageDigest and, for the signature, unless `alg` names another).
    pub digest: HashAlgorithm,
    /// Signature algorithm.
    pub alg: SignatureAlgorithm,
    /// signingTime attribute.
    pub signing_time: Option<OffsetDateTime>,
    /// Embed the signer certificate.
    pub embed_signer: bool,
    /// More certificates to embed (e.g. the CSCA).
    pub extra_certs: Vec<Vec<u8>>,
    /// How to identify the signer.
    pub sid: SidForm,
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The signer certificate does not parse.
    #[error("signer certificate")]
    Certificate(#[source] Box<crate::pki::cert::CertError>),
    /// The signer certificate has no SKI but the SKI form was requested.
    #[error("signer certificate has no subject key identifier")]
    NoSki,
    /// The signer certificate's issuer Name does not decode as a Name.
    #[error("signer certificate's issuer name is not a DER Name")]
    BadIssuer,
    /// openssl failed.
    #[error("signing")]
    Signature(#[from] SignatureError),
}

/// Build and sign a ContentInfo/SignedData with signed attributes.
pub fn sign<T: HasPrivate>(req: &SignRequest<'_>, key: &PKeyRef<T>) -> Result<Vec<u8>, SignError> {
    sign_with(req, |alg, tbs| signature::sign(alg, key, tbs))
}

/// [`sign`] with the signature made by `signer(algorithm, to-be-signed bytes)`: for
/// deterministic signatures (`crate::pki::fixtures::deterministic`) or a key held
/// elsewhere.
pub fn sign_with(
    req: &SignRequest<'_>,
    signer: impl FnOnce(&SignatureAlgorithm, &[u8]) -> Result<Vec<u8>, SignatureError>,
) -> Result<Vec<u8>, SignError> {
    let cert = Certificate::from_der(req.signer_cert).map_err(|e| SignError::Certificate(Box::new(e)))?;
    let digest_alg = asn1::encode_seq(&[&asn1::encode_oid(&req.digest.oid()), &[0x05, 0x00]]);
    let md = req.digest.digest(req.econtent);
    let attrs = encode_signed_attrs(&req.econtent_type, &md, req.signing_time);
    let mut tbs = attrs.clone();
    if let Some(first) = tbs.first_mut() {
        *first = 0x31;
    }
    let sig = signer(&req.alg, &tbs)?;
    let (version, sid) = match req.sid {
        SidForm::IssuerAndSerial => (
            1,
            asn1::encode_seq(&[&cert.issuer.raw, &tlv::encode(tag::INTEGER, &cert.serial)]),
        ),
        SidForm::SubjectKeyIdentifier => (3, tlv::encode(0x80, cert.ski.as_deref().ok_or(SignError::NoSki)?)),
        SidForm::IssuerAndSerialPrintable => (
            1,
            asn1::encode_seq(&[
                &printable_name(&cert.issuer.raw).map_err(|_| SignError::BadIssuer)?,
                &tlv::encode(tag::INTEGER, &cert.serial),
            ]),
        ),
    };
    let signer_info = asn1::encode_seq(&[
        &asn1::encode_small_uint(version),
        &sid,
        &digest_alg,
        &attrs,
        &req.alg.to_der(),
        &tlv::encode(tag::OCTET_STRING, &sig),
    ]);
    let mut certificates = Vec::new();
    if req.embed_signer {
        certificates.push(req.signer_cert.to_vec());
    }
    certificates.extend(req.extra_certs.iter().cloned());
    Ok(SignedDataBuilder {
        digest_algorithms: vec![digest_alg],
        econtent_type: Some(req.econtent_type),
        econtent: req.econtent.to_vec(),
        certificates,
        crls: Vec::new(),
        signer_infos: vec![signer_info],
    }
    .to_der())
}

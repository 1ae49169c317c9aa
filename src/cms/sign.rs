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

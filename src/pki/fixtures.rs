//! The project's own test PKI (used by `emrtd fixtures generate`, the emulator's
//! booklets and the PKI tests) and a generator of large ICAO-format LDIF files for
//! import benchmarks.
//!
//! [`generate`] writes, under the given `pkd-fixtures` directory:
//!
//! - `pki/`: everything `emrtd pkd import pkd-fixtures/pki/*` should take in, named so
//!   that the shell's alphabetical order imports trust anchors first:
//!   `00-masterlist-ut.ml` (signed master list with all CSCAs and the link
//!   certificate), `10-*.cer|.pem` (the CSCAs and the link certificate on their own),
//!   `20-*.crl` (current CRLs of UT), `30-icaopkd-001-dsccrl.ldif` (DSCs and the XA/XB
//!   CRLs in ICAO PKD format), `31-icaopkd-002-ml.ldif` (the master list as an LDIF
//!   entry), `32-icaopkd-003-nc.ldif` (a non-conformant DSC), `40-deviation-list-xa.dvl`;
//! - `keys/`: each certificate (`NAME.cer`) and its private key (`NAME.key.pem`,
//!   PKCS#8 PEM) so booklets can be signed with the DSC keys, plus `README.md`.
//!
//! Countries: `UT` (RSA; two CSCA generations and a link certificate; DSCs signed with
//! RSASSA-PSS and PKCS#1 v1.5), `XA` (ECDSA brainpoolP256r1 with EXPLICIT domain
//! parameters in every certificate), `XB` (ECDSA P-256, named curve). Documents of these
//! test states use the codes `UTO`, `XAA`, `XBB` (mapped to `UT`, `XA`, `XB`).
//!
//! DSCs: `ut-dsc-valid` (by the second UT CSCA key, so via the link certificate when
//! only the first CSCA is trusted), `ut-dsc-old` (first UT key), `ut-dsc-expired`,
//! `xa-dsc-valid`, `xa-dsc-revoked` (on XA's current CRL), `xa-dsc-wrong-ku` (key usage
//! without digitalSignature; named in the deviation list), `xb-dsc-valid` (XB's only CRL
//! is expired: revocation indeterminate), `xb-dsc-nc` (non-conformant collection).
//! `XC` has one CSCA only, expired (2010..2024), and a DSC `xc-dsc` that outlives it:
//! the fixture for an expired CSCA. Keys under `keys/untrusted/` are in no file of
//! `pki/`: `zz-csca`/`zz-dsc` (a fourth state `ZZ`, issuer code `ZZZ`, whose CSCA no
//! store has) and `ut-forger-csca`/`ut-forger-dsc` (a DSC that names the UT CSCA as its
//! issuer, authority key identifier copied, but is signed by a forger's key).
//!
//! Output is reproducible: validity dates and signing times are fixed, every signature
//! is deterministic ([`deterministic`]: RFC 6979 ECDSA, PSS with a derived salt), and
//! a private key already present under `keys/` is reused (only missing keys are
//! generated), so re-running over a committed directory rewrites identical bytes.
//!
//! Regenerate with `emrtd fixtures generate --out pkd-fixtures` or
//! `cargo run --example gen_pki_fixtures -- pkd-fixtures`, then commit the result.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use openssl::bn::BigNumContext;
use openssl::ec::{Asn1Flag, EcGroup, EcKey, PointConversionForm};
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sha::sha1;
use time::OffsetDateTime;
use time::macros::datetime;

use super::cert::{Certificate, KeyUsage};
use super::keys::{self, NamedCurve};
use super::ldif;
use super::masterlist;
use super::signature::{self, HashAlgorithm, PssParams, SignatureAlgorithm};
use crate::asn1::oid as x509;

pub mod deterministic;
pub mod pkd_tree;
use crate::cms::asn1::{self, tag};
use crate::cms::sign::{self, SidForm, SignRequest};
use crate::cms::{self as cms_mod, Oid};
use crate::tlv;

/// Fixture generation failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// Writing a file failed.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// openssl failed.
    #[error("openssl")]
    Crypto(#[from] openssl::error::ErrorStack),
    /// Signing failed.
    #[error("signing")]
    Signature(#[from] signature::SignatureError),
    /// CMS signing failed.
    #[error("cms signing")]
    Cms(#[from] sign::SignError),
    /// A generated CMS structure does not parse (a bug here).
    #[error("generated cms does not parse")]
    CmsParse(#[from] cms_mod::CmsError),
    /// A generated certificate does not parse (a bug here).
    #[error("generated certificate does not parse")]
    Cert(#[from] super::cert::CertError),
    /// An existing private key file is not the kind of key the fixture needs.
    #[error("{path} holds a {found} key; the fixture needs {expected} (delete it to regenerate)")]
    WrongKey {
        /// The key file.
        path: PathBuf,
        /// What it holds.
        found: &'static str,
        /// What is needed.
        expected: &'static str,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FixtureError + '_ {
    move |source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A generated key pair.
#[derive(Debug, Clone)]
pub struct Key {
    /// Private key.
    pub pkey: PKey<Private>,
    /// SubjectPublicKeyInfo DER (explicit EC parameters when asked for).
    pub spki: Vec<u8>,
    /// Key identifier: SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1).
    pub key_id: Vec<u8>,
}

impl Key {
    /// An RSA key.
    pub fn rsa(bits: u32) -> Result<Key, FixtureError> {
        let pkey = PKey::from_rsa(Rsa::generate(bits)?)?;
        let spki = pkey.public_key_to_der()?;
        Ok(Self::finish(pkey, spki))
    }

    /// An EC key on a named curve, its SPKI with explicit parameters or the curve OID.
    pub fn ec(curve: &NamedCurve, explicit: bool) -> Result<Key, FixtureError> {
        let group = curve.group()?;
        let k = EcKey::generate(&group)?;
        Self::from_ec(curve, explicit, &k)
    }

    /// The [`Key`] of an existing EC private key on `curve`, its SPKI written with
    /// explicit parameters or the curve OID.
    pub fn from_ec(curve: &NamedCurve, explicit: bool, k: &EcKey<Private>) -> Result<Key, FixtureError> {
        let named = curve.group()?;
        let mut ctx = BigNumContext::new()?;
        let point = k
            .public_key()
            .to_bytes(&named, PointConversionForm::UNCOMPRESSED, &mut ctx)?;
        let params = if explicit {
            keys::explicit_parameters_der(curve)?
        } else {
            asn1::encode_oid(&curve.oid)
        };
        let spki = keys::encode_ec_spki(&params, &point);
        // the private key file carries the same parameter form
        let mut group = EcGroup::from_curve_name(curve.nid())?;
        if explicit {
            group.set_asn1_flag(Asn1Flag::EXPLICIT_CURVE);
        }
        let k2 = EcKey::from_private_components(&group, k.private_key(), k.public_key())?;
        k2.check_key()?;
        let pkey = PKey::from_ec_key(k2)?;
        Ok(Self::finish(pkey, spki))
    }

    /// The [`Key`] of an existing RSA private key.
    pub fn from_rsa(pkey: PKey<Private>) -> Result<Key, FixtureError> {
        let spki = pkey.public_key_to_der()?;
        Ok(Self::finish(pkey, spki))
    }

    fn finish(pkey: PKey<Private>, spki: Vec<u8>) -> Key {
        let key_id = tlv::parse(&spki)
            .ok()
            .and_then(|t| t.children().nth(1).and_then(Result::ok))
            .map(|b| sha1(b.value.get(1..).unwrap_or_default()).to_vec())
            .unwrap_or_default();
        Key { pkey, spki, key_id }
    }

    /// PKCS#8 PEM of the private key.
    pub fn pkcs8_pem(&self) -> Result<Vec<u8>, FixtureError> {
        Ok(self.pkey.private_key_to_pem_pkcs8()?)
    }
}

/// A distinguished name from (attribute, value) pairs, most significant first.
pub fn name(attrs: &[(Oid, &str)]) -> Vec<u8> {
    let rdns: Vec<Vec<u8>> = attrs
        .iter()
        .map(|(o, v)| {
            let t = if *o == x509::C || *o == x509::SERIAL_NUMBER {
                tag::PRINTABLE_STRING
            } else {
                tag::UTF8_STRING
            };
            tlv::encode(
                tag::SET,
                &asn1::encode_seq(&[&asn1::encode_oid(o), &tlv::encode(t, v.as_bytes())]),
            )
        })
        .collect();
    tlv::encode(tag::SEQUENCE, &rdns.concat())
}

/// One extension.
pub fn extension(o: &Oid, critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![asn1::encode_oid(o)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xFF]);
    }
    parts.push(tlv::encode(tag::OCTET_STRING, value));
    tlv::encode(tag::SEQUENCE, &parts.concat())
}

/// SubjectKeyIdentifier extension.
pub fn ext_ski(id: &[u8]) -> Vec<u8> {
    extension(&x509::SKI, false, &tlv::encode(tag::OCTET_STRING, id))
}

/// AuthorityKeyIdentifier extension (keyIdentifier only).
pub fn ext_aki(id: &[u8]) -> Vec<u8> {
    extension(&x509::AKI, false, &asn1::encode_seq(&[&tlv::encode(0x80, id)]))
}

/// KeyUsage extension.
pub fn ext_key_usage(mask: u16, critical: bool) -> Vec<u8> {
    extension(&x509::KEY_USAGE, critical, &KeyUsage::encode_bits(mask))
}

/// BasicConstraints cA = TRUE with a path length.
pub fn ext_ca(path_len: u64) -> Vec<u8> {
    extension(
        &x509::BASIC_CONSTRAINTS,
        true,
        &asn1::encode_seq(&[&[0x01, 0x01, 0xFF], &asn1::encode_small_uint(path_len)]),
    )
}

/// ExtendedKeyUsage extension.
pub fn ext_eku(purposes: &[Oid]) -> Vec<u8> {
    let ids: Vec<Vec<u8>> = purposes.iter().map(asn1::encode_oid).collect();
    extension(
        &x509::EXT_KEY_USAGE,
        false,
        &tlv::encode(tag::SEQUENCE, &ids.concat()),
    )
}

/// ICAO documentTypeList extension (Doc 9303 Part 12 §7.1.1.3).
pub fn ext_document_types(types: &[&str]) -> Vec<u8> {
    let set: Vec<Vec<u8>> = types
        .iter()
        .map(|t| tlv::encode(tag::PRINTABLE_STRING, t.as_bytes()))
        .collect();
    extension(
        &x509::ICAO_DOCUMENT_TYPE_LIST,
        false,
        &asn1::encode_seq(&[&asn1::encode_small_uint(0), &tlv::encode(tag::SET, &set.concat())]),
    )
}

/// What goes into a certificate.
#[derive(Debug, Clone)]
pub struct CertTemplate {
    /// serialNumber magnitude.
    pub serial: Vec<u8>,
    /// Issuer Name DER.
    pub issuer: Vec<u8>,
    /// Subject Name DER.
    pub subject: Vec<u8>,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// Subject public key (SPKI DER).
    pub spki: Vec<u8>,
    /// Extensions (DER each).
    pub extensions: Vec<Vec<u8>>,
    /// Signature algorithm.
    pub alg: SignatureAlgorithm,
}

/// Encode and sign a certificate.
pub fn issue(t: &CertTemplate, issuer_key: &PKey<Private>) -> Result<Vec<u8>, FixtureError> {
    let alg = t.alg.to_der();
    let validity = asn1::encode_seq(&[&asn1::encode_time(t.not_before), &asn1::encode_time(t.not_after)]);
    let mut parts: Vec<Vec<u8>> = vec![
        tlv::encode(0xA0, &asn1::encode_small_uint(2)),
        asn1::encode_uint(&t.serial),
        alg.clone(),
        t.issuer.clone(),
        validity,
        t.subject.clone(),
        t.spki.clone(),
    ];
    if !t.extensions.is_empty() {
        parts.push(tlv::encode(
            0xA3,
            &tlv::encode(tag::SEQUENCE, &t.extensions.concat()),
        ));
    }
    signed(&tlv::encode(tag::SEQUENCE, &parts.concat()), &t.alg, issuer_key)
}

/// The signed envelope of a certificate or CRL: SEQUENCE { `tbs`, `alg`, BIT STRING of
/// `tbs` signed with `key` }.
fn signed(tbs: &[u8], alg: &SignatureAlgorithm, key: &PKey<Private>) -> Result<Vec<u8>, FixtureError> {
    let sig = deterministic::sign(alg, key, tbs)?;
    Ok(asn1::encode_seq(&[
        tbs,
        &alg.to_der(),
        &asn1::encode_bit_string(&sig),
    ]))
}

/// What goes into a CRL.
#[derive(Debug, Clone)]
pub struct CrlTemplate {
    /// Issuer Name DER.
    pub issuer: Vec<u8>,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// (serial magnitude, revocation date, CRLReason).
    pub revoked: Vec<(Vec<u8>, OffsetDateTime, u8)>,
    /// AKI (issuer key id).
    pub aki: Vec<u8>,
    /// cRLNumber.
    pub number: u64,
    /// Signature algorithm.
    pub alg: SignatureAlgorithm,
}

/// Encode and sign a CRL (v2).
pub fn issue_crl(t: &CrlTemplate, issuer_key: &PKey<Private>) -> Result<Vec<u8>, FixtureError> {
    let alg = t.alg.to_der();
    let mut parts: Vec<Vec<u8>> = vec![
        asn1::encode_small_uint(1),
        alg.clone(),
        t.issuer.clone(),
        asn1::encode_time(t.this_update),
        asn1::encode_time(t.next_update),
    ];
    if !t.revoked.is_empty() {
        let entries: Vec<Vec<u8>> = t
            .revoked
            .iter()
            .map(|(serial, date, reason)| {
                let reason_ext = extension(&x509::CRL_REASON, false, &tlv::encode(0x0A, &[*reason]));
                asn1::encode_seq(&[
                    &asn1::encode_uint(serial),
                    &asn1::encode_time(*date),
                    &tlv::encode(tag::SEQUENCE, &reason_ext),
                ])
            })
            .collect();
        parts.push(tlv::encode(tag::SEQUENCE, &entries.concat()));
    }
    let exts = [
        ext_aki(&t.aki),
        extension(&x509::CRL_NUMBER, false, &asn1::encode_small_uint(t.number)),
    ];
    parts.push(tlv::encode(0xA0, &tlv::encode(tag::SEQUENCE, &exts.concat())));
    signed(&tlv::encode(tag::SEQUENCE, &parts.concat()), &t.alg, issuer_key)
}

/// A CA with its key and certificate.
#[derive(Debug, Clone)]
pub struct Ca {
    /// Key.
    pub key: Key,
    /// Subject Name DER.
    pub name: Vec<u8>,
    /// Certificate DER.
    pub cert: Vec<u8>,
    /// How it signs.
    pub alg: SignatureAlgorithm,
}

const PKD_SUFFIX: &str = "dc=download,dc=pkd,dc=icao,dc=int";

fn csca_extensions(key_id: &[u8], aki: &[u8]) -> Vec<Vec<u8>> {
    vec![
        ext_ski(key_id),
        ext_aki(aki),
        ext_key_usage(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN, true),
        ext_ca(0),
    ]
}

/// A self-signed CSCA.
pub fn csca(
    key: Key,
    subject: Vec<u8>,
    serial: u64,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    alg: SignatureAlgorithm,
) -> Result<Ca, FixtureError> {
    let t = CertTemplate {
        serial: serial.to_be_bytes().to_vec(),
        issuer: subject.clone(),
        subject: subject.clone(),
        not_before,
        not_after,
        spki: key.spki.clone(),
        extensions: csca_extensions(&key.key_id, &key.key_id),
        alg,
    };
    let cert = issue(&t, &key.pkey)?;
    Ok(Ca {
        key,
        name: subject,
        cert,
        alg,
    })
}

/// A DSC issued by `ca`.
#[allow(clippy::too_many_arguments)]
pub fn dsc(
    ca: &Ca,
    key: &Key,
    subject: Vec<u8>,
    serial: u64,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    key_usage: u16,
    alg: SignatureAlgorithm,
) -> Result<Vec<u8>, FixtureError> {
    let usage = (key_usage, ext_document_types(&["P", "I"]));
    ca.end_entity(key, subject, serial, [not_before, not_after], usage, alg)
}

impl Ca {
    /// A certificate of `key` signed by this CA with `alg`: AKI, SKI, the critical key
    /// usage `usage.0` and the extension `usage.1` (document types of a DSC, extended
    /// key usage of a list signer).
    fn end_entity(
        &self,
        key: &Key,
        subject: Vec<u8>,
        serial: u64,
        [not_before, not_after]: [OffsetDateTime; 2],
        usage: (u16, Vec<u8>),
        alg: SignatureAlgorithm,
    ) -> Result<Vec<u8>, FixtureError> {
        let t = CertTemplate {
            serial: serial.to_be_bytes().to_vec(),
            issuer: self.name.clone(),
            subject,
            not_before,
            not_after,
            spki: key.spki.clone(),
            extensions: vec![
                ext_aki(&self.key.key_id),
                ext_ski(&key.key_id),
                ext_key_usage(usage.0, true),
                usage.1,
            ],
            alg,
        };
        issue(&t, &self.key.pkey)
    }

    /// A master or deviation list signer certificate (key usage digitalSignature,
    /// extended key usage `eku`) signed with this CA's algorithm.
    pub fn list_signer(
        &self,
        key: &Key,
        subject: Vec<u8>,
        serial: u64,
        validity: [OffsetDateTime; 2],
        eku: Oid,
    ) -> Result<Vec<u8>, FixtureError> {
        let usage = (KeyUsage::DIGITAL_SIGNATURE, ext_eku(&[eku]));
        self.end_entity(key, subject, serial, validity, usage, self.alg)
    }

    /// A CRL of this CA (cRLNumber `number`) revoking `revoked`, signed with its algorithm.
    pub fn crl(
        &self,
        [this_update, next_update]: [OffsetDateTime; 2],
        revoked: Vec<(Vec<u8>, OffsetDateTime, u8)>,
        number: u64,
    ) -> Result<Vec<u8>, FixtureError> {
        let t = CrlTemplate {
            issuer: self.name.clone(),
            this_update,
            next_update,
            revoked,
            aki: self.key.key_id.clone(),
            number,
            alg: self.alg,
        };
        issue_crl(&t, &self.key.pkey)
    }
}

/// A master or deviation list: `content` of type `econtent_type`, signed with `alg` at
/// the fixtures' signing time by the list signer `signer` (certificate, key, and how
/// the SignerInfo names it).
fn sign_list(
    econtent_type: Oid,
    content: &[u8],
    (signer_cert, signer_key, sid): (&[u8], &Key, SidForm),
    alg: SignatureAlgorithm,
) -> Result<Vec<u8>, FixtureError> {
    let request = SignRequest {
        econtent_type,
        econtent: content,
        signer_cert,
        digest: HashAlgorithm::Sha256,
        alg,
        signing_time: Some(datetime!(2026-11-01 12:00 UTC)),
        embed_signer: true,
        extra_certs: vec![],
        sid,
    };
    Ok(sign::sign_with(&request, |alg, tbs| {
        deterministic::sign(alg, &signer_key.pkey, tbs)
    })?)
}

/// What [`generate`] produced.
#[derive(Debug, Clone, Default)]
pub struct FixtureSummary {
    /// Files written under `pki/` (importable).
    pub pki_files: Vec<PathBuf>,
    /// Files written under `keys/`.
    pub key_files: Vec<PathBuf>,
}

struct Out {
    pki: PathBuf,
    keys: PathBuf,
    summary: FixtureSummary,
}

impl Out {
    fn pki(&mut self, name: &str, bytes: &[u8]) -> Result<(), FixtureError> {
        let p = self.pki.join(name);
        fs::write(&p, bytes).map_err(io_err(&p))?;
        self.summary.pki_files.push(p);
        Ok(())
    }

    /// Write `NAME.cer` and, unless it exists (a reused key), `NAME.key.pem`.
    fn key(&mut self, name: &str, cert: &[u8], key: &Key) -> Result<(), FixtureError> {
        let c = self.keys.join(format!("{name}.cer"));
        if let Some(dir) = c.parent() {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        fs::write(&c, cert).map_err(io_err(&c))?;
        let k = self.key_path(name);
        if !k.exists() {
            fs::write(&k, key.pkcs8_pem()?).map_err(io_err(&k))?;
        }
        self.summary.key_files.push(c);
        self.summary.key_files.push(k);
        Ok(())
    }

    fn key_path(&self, name: &str) -> PathBuf {
        self.keys.join(format!("{name}.key.pem"))
    }

    /// The private key already under `keys/`, if any.
    fn existing(&self, name: &str) -> Result<Option<(PathBuf, PKey<Private>)>, FixtureError> {
        let p = self.key_path(name);
        if !p.exists() {
            return Ok(None);
        }
        let pem = fs::read(&p).map_err(io_err(&p))?;
        let key = PKey::private_key_from_pem(&pem)?;
        Ok(Some((p, key)))
    }

    /// The RSA key `name`: reused from `keys/` when present, else generated.
    fn rsa(&self, name: &str, bits: u32) -> Result<Key, FixtureError> {
        match self.existing(name)? {
            Some((path, k)) if k.id() != openssl::pkey::Id::RSA => Err(FixtureError::WrongKey {
                path,
                found: "non-RSA",
                expected: "an RSA key",
            }),
            Some((_, k)) => Key::from_rsa(k),
            None => Key::rsa(bits),
        }
    }

    /// The EC key `name` on `curve`: reused from `keys/` when present, else generated.
    fn ec(&self, name: &str, curve: &NamedCurve, explicit: bool) -> Result<Key, FixtureError> {
        match self.existing(name)? {
            Some((path, k)) => {
                let wrong = || FixtureError::WrongKey {
                    path: path.clone(),
                    found: "non-EC or other-curve",
                    expected: curve.name,
                };
                let ec = k.ec_key().map_err(|_| wrong())?;
                Key::from_ec(curve, explicit, &ec).map_err(|_| wrong())
            }
            None => Key::ec(curve, explicit),
        }
    }
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s.into_bytes()
}

fn cert_dn_for_ldif(der: &[u8]) -> Result<(String, String, String), FixtureError> {
    let c = Certificate::from_der(der)?;
    Ok((
        ldif::escape_dn(&c.subject.display()),
        c.serial_hex(),
        c.country().unwrap_or_default(),
    ))
}

/// Write one ICAO PKD LDIF entry: `dn`, pkdVersion, the `naming` attributes, the object
/// classes `top` and `classes`, the `extra` attributes, then the binary `content`.
pub(crate) fn write_pkd_entry(
    w: &mut impl Write,
    dn: &str,
    pkd_version: u32,
    naming: &[(&str, &[u8])],
    classes: &[&str],
    extra: &[(&str, &[u8])],
    content: (&str, &[u8]),
) -> Result<(), FixtureError> {
    let version = pkd_version.to_string();
    let mut attrs: Vec<(&str, &[u8], bool)> = vec![("pkdVersion", version.as_bytes(), false)];
    attrs.extend(naming.iter().map(|&(n, v)| (n, v, false)));
    let classes = std::iter::once("top").chain(classes.iter().copied());
    attrs.extend(classes.map(|c| ("objectClass", c.as_bytes(), false)));
    attrs.extend(extra.iter().map(|&(n, v)| (n, v, false)));
    attrs.push((content.0, content.1, true));
    ldif::write_record(w, dn, &attrs).map_err(|source| FixtureError::Io {
        path: PathBuf::from("<ldif>"),
        source,
    })
}

/// Write an ICAO PKD LDIF entry for a DSC (collection 001, or 003 with a conformance code).
pub fn write_dsc_entry(
    w: &mut impl Write,
    der: &[u8],
    pkd_version: u32,
    nonconformant: Option<(&str, &str)>,
) -> Result<(), FixtureError> {
    let (cn, sn, c) = cert_dn_for_ldif(der)?;
    let dc = if nonconformant.is_some() {
        "nc-data"
    } else {
        "data"
    };
    let dn = format!("cn={cn}+sn={sn},o=dsc,c={c},dc={dc},{PKD_SUFFIX}");
    let conformance: Vec<(&str, &[u8])> = match nonconformant {
        Some((code, text)) => vec![
            ("pkdConformanceCode", code.as_bytes()),
            ("pkdConformanceText", text.as_bytes()),
        ],
        None => vec![],
    };
    write_pkd_entry(
        w,
        &dn,
        pkd_version,
        &[("sn", sn.as_bytes()), ("cn", cn.as_bytes())],
        &["person", "pkdDownload", "organizationalPerson", "inetOrgPerson"],
        &conformance,
        ("userCertificate;binary", der),
    )
}

/// Write an ICAO PKD LDIF entry for a CRL.
pub fn write_crl_entry(w: &mut impl Write, der: &[u8], pkd_version: u32) -> Result<(), FixtureError> {
    let crl = super::crl::Crl::from_der(der)?;
    let cn = ldif::escape_dn(&crl.issuer.display());
    let c = crl.country().unwrap_or_default();
    let dn = format!("cn={cn},o=crl,c={c},dc=data,{PKD_SUFFIX}");
    write_pkd_entry(
        w,
        &dn,
        pkd_version,
        &[("cn", cn.as_bytes())],
        &["cRLDistributionPoint", "pkdDownload"],
        &[],
        ("certificateRevocationList;binary", der),
    )
}

/// Write an ICAO PKD LDIF entry for a master list (collection 002).
pub fn write_ml_entry(
    w: &mut impl Write,
    der: &[u8],
    country: &str,
    pkd_version: u32,
) -> Result<(), FixtureError> {
    let sd = cms_mod::SignedData::parse(der)?;
    let signer = sd.signer_infos.first().and_then(|s| sd.signer_certificate(s));
    let (cn, sn) = match &signer {
        Some(s) => (ldif::escape_dn(&s.subject.display()), s.serial_hex()),
        None => ("unknown".to_owned(), "00".to_owned()),
    };
    let dn = format!("cn={cn}+sn={sn},o=ml,c={country},dc=data,{PKD_SUFFIX}");
    write_pkd_entry(
        w,
        &dn,
        pkd_version,
        &[("sn", sn.as_bytes()), ("cn", cn.as_bytes())],
        &["person", "pkdMasterList", "pkdDownload"],
        &[],
        ("pkdMasterListContent", der),
    )
}

fn ldif_file(body: impl FnOnce(&mut Vec<u8>) -> Result<(), FixtureError>) -> Result<Vec<u8>, FixtureError> {
    let mut v = b"version: 1\n\n".to_vec();
    body(&mut v)?;
    Ok(v)
}

/// How a fixture key is made when `keys/` does not hold it yet.
#[derive(Debug, Clone, Copy)]
enum KeyKind<'a> {
    /// RSA of so many bits.
    Rsa(u32),
    /// EC on a curve, its SPKI with explicit parameters (`true`) or the curve's OID.
    Ec(&'a NamedCurve, bool),
}

/// One DSC row of [`generate`]: key file name, issuer, key, subject (CN, C), serial,
/// validity, key usage, signature algorithm, and whether collection 001 lists it.
type DscRow<'a> = (
    &'static str,
    &'a Ca,
    KeyKind<'a>,
    (&'static str, &'static str),
    u64,
    [OffsetDateTime; 2],
    u16,
    SignatureAlgorithm,
    bool,
);

/// A DSC [`generate`] made from a [`DscRow`].
struct IssuedDsc {
    cert: Vec<u8>,
    key_usage: u16,
    in_collection_001: bool,
}

impl Out {
    /// The key `name`, reused from `keys/` or made as `kind` says.
    fn key_of(&self, name: &str, kind: KeyKind<'_>) -> Result<Key, FixtureError> {
        match kind {
            KeyKind::Rsa(bits) => self.rsa(name, bits),
            KeyKind::Ec(curve, explicit) => self.ec(name, curve, explicit),
        }
    }

    /// A self-signed CSCA whose key is `name`, written under `keys/`.
    fn csca(
        &mut self,
        name: &str,
        kind: KeyKind<'_>,
        subject: &[u8],
        serial: u64,
        [not_before, not_after]: [OffsetDateTime; 2],
        alg: SignatureAlgorithm,
    ) -> Result<Ca, FixtureError> {
        let key = self.key_of(name, kind)?;
        let ca = csca(key, subject.to_vec(), serial, not_before, not_after, alg)?;
        self.key(name, &ca.cert, &ca.key)?;
        Ok(ca)
    }

    /// The DSC of `row`, written with its key under `keys/`.
    fn dsc(&mut self, row: DscRow<'_>) -> Result<IssuedDsc, FixtureError> {
        let (name, ca, kind, (cn, c), serial, [from, to], key_usage, alg, in_collection_001) = row;
        let key = self.key_of(name, kind)?;
        let cert = dsc(ca, &key, ds_name(cn, c), serial, from, to, key_usage, alg)?;
        self.key(name, &cert, &key)?;
        Ok(IssuedDsc {
            cert,
            key_usage,
            in_collection_001,
        })
    }
}

/// The name C=`c`, O=`o`, CN=`cn`, the form of every fixture name but UT's CSCAs.
fn c_o_cn(c: &str, o: &str, cn: &str) -> Vec<u8> {
    name(&[(x509::C, c), (x509::O, o), (x509::CN, cn)])
}

/// The subject of a DSC of the test PKI.
fn ds_name(cn: &str, c: &str) -> Vec<u8> {
    c_o_cn(c, "Document Signing", cn)
}

/// The subject of a CSCA of a test state: `CSCA` and the state's code.
fn csca_name(c: &str, o: &str) -> Vec<u8> {
    c_o_cn(c, o, &format!("CSCA {c}"))
}

/// Generate the test PKI into `out_dir` (a `pkd-fixtures` directory): `pki/` and `keys/`.
/// The key files are listed in the order they are made.
pub fn generate(out_dir: &Path) -> Result<FixtureSummary, FixtureError> {
    let pki_dir = out_dir.join("pki");
    let keys_dir = out_dir.join("keys");
    for d in [&pki_dir, &keys_dir, &keys_dir.join("untrusted")] {
        fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let mut out = Out {
        pki: pki_dir,
        keys: keys_dir,
        summary: FixtureSummary::default(),
    };

    let rsa_pkcs1 = SignatureAlgorithm::RsaPkcs1 {
        hash: HashAlgorithm::Sha256,
    };
    let rsa_pss = SignatureAlgorithm::RsaPss(PssParams {
        hash: HashAlgorithm::Sha256,
        mgf1_hash: HashAlgorithm::Sha256,
        salt_len: 32,
        trailer_field: 1,
    });
    let ecdsa256 = SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha256,
    };
    let ecdsa_plain256 = SignatureAlgorithm::EcdsaPlain {
        hash: HashAlgorithm::Sha256,
    };
    let curve = |n: &str| keys::curve_by_name(n).ok_or(openssl::error::ErrorStack::get());
    // XA: brainpoolP256r1 with explicit parameters everywhere, and one DSC on NIST P-224
    // with explicit parameters (Lithuanian EF.SODs: gmrtd #130); XB, XC, ZZ: P-256 named
    let brainpool = KeyKind::Ec(curve("brainpoolP256r1")?, true);
    let p224 = KeyKind::Ec(curve("secp224r1")?, true);
    let p256 = KeyKind::Ec(curve("secp256r1")?, false);
    let (rsa2048, rsa3072) = (KeyKind::Rsa(2048), KeyKind::Rsa(3072));
    let (ds, nr) = (KeyUsage::DIGITAL_SIGNATURE, KeyUsage::NON_REPUDIATION);
    let y2010 = datetime!(2010-01-01 0:00 UTC);
    let y2012 = datetime!(2012-01-01 0:00 UTC);
    let y2014 = datetime!(2014-01-01 0:00 UTC);
    let y2015 = datetime!(2015-01-01 0:00 UTC);
    let y2020 = datetime!(2020-01-01 0:00 UTC);
    let y2024 = datetime!(2024-01-01 0:00 UTC);
    let y2025 = datetime!(2025-01-01 0:00 UTC);
    let jun2025 = datetime!(2025-06-01 0:00 UTC);
    let y2026 = datetime!(2026-01-01 0:00 UTC);
    let y2038 = datetime!(2038-01-01 0:00 UTC);
    let y2040 = datetime!(2040-01-01 0:00 UTC);
    let y2045 = datetime!(2045-01-01 0:00 UTC);

    // --- CSCAs. UT: RSA, two generations and a link certificate
    let ut_name = |serial| {
        name(&[
            (x509::C, "UT"),
            (x509::O, "Utopia Passport Office"),
            (x509::CN, "CSCA Utopia"),
            (x509::SERIAL_NUMBER, serial),
        ])
    };
    let (ut1_name, ut2_name) = (ut_name("001"), ut_name("002"));
    let ut1 = out.csca("ut-csca-1", rsa3072, &ut1_name, 1, [y2014, y2040], rsa_pkcs1)?;
    let ut2 = out.csca("ut-csca-2", rsa3072, &ut2_name, 2, [y2025, y2045], rsa_pkcs1)?;
    let xa_name = csca_name("XA", "Republic of XA");
    let xa = out.csca("xa-csca", brainpool, &xa_name, 1, [y2020, y2045], ecdsa256)?;
    let xb_name = csca_name("XB", "Kingdom of XB");
    let xb = out.csca("xb-csca", p256, &xb_name, 1, [y2020, y2045], ecdsa256)?;
    let ut_link = issue(
        &CertTemplate {
            serial: 3u64.to_be_bytes().to_vec(),
            issuer: ut1_name.clone(),
            subject: ut2_name.clone(),
            not_before: y2025,
            not_after: y2045,
            spki: ut2.key.spki.clone(),
            extensions: csca_extensions(&ut2.key.key_id, &ut1.key.key_id),
            alg: rsa_pkcs1,
        },
        &ut1.key.pkey,
    )?;

    // --- DSCs (the table in the module documentation)
    #[rustfmt::skip]
    let rows: [DscRow<'_>; 8] = [
        ("ut-dsc-valid", &ut2, rsa2048, ("DS Utopia 2025-1", "UT"), 0x1001, [jun2025, y2040], ds, rsa_pss, true),
        ("ut-dsc-old", &ut1, rsa2048, ("DS Utopia 2024-1", "UT"), 0x0101, [y2024, y2038], ds, rsa_pkcs1, true),
        ("ut-dsc-expired", &ut1, rsa2048, ("DS Utopia 2015-1", "UT"), 0x0102, [y2015, y2020], ds, rsa_pkcs1, true),
        ("xa-dsc-valid", &xa, brainpool, ("DS XA 1", "XA"), 0x11, [jun2025, y2040], ds, ecdsa256, true),
        ("xa-dsc-revoked", &xa, brainpool, ("DS XA 2", "XA"), 0x12, [jun2025, y2040], ds, ecdsa256, true),
        ("xa-dsc-wrong-ku", &xa, brainpool, ("DS XA 3", "XA"), 0x13, [jun2025, y2040], nr, ecdsa256, true),
        ("xa-dsc-p224", &xa, p224, ("DS XA 4", "XA"), 0x14, [jun2025, y2040], ds, ecdsa256, false),
        ("xb-dsc-valid", &xb, p256, ("DS XB 1", "XB"), 0x21, [jun2025, y2040], ds, ecdsa256, true),
    ];
    let mut dscs = Vec::with_capacity(rows.len());
    for row in rows {
        dscs.push(out.dsc(row)?);
    }
    // non-conformant: no AKI, key usage not critical
    let xb_dsc_nc_key = out.key_of("xb-dsc-nc", p256)?;
    let xb_dsc_nc = issue(
        &CertTemplate {
            serial: 0x22u64.to_be_bytes().to_vec(),
            issuer: xb.name.clone(),
            subject: ds_name("DS XB 2", "XB"),
            not_before: jun2025,
            not_after: y2040,
            spki: xb_dsc_nc_key.spki.clone(),
            extensions: vec![ext_key_usage(ds, false)],
            alg: ecdsa256,
        },
        &xb.key.pkey,
    )?;
    out.key("xb-dsc-nc", &xb_dsc_nc, &xb_dsc_nc_key)?;

    // --- master list, signed by a UT master list signer issued by the second UT CSCA
    let mls_key = out.key_of("ut-ml-signer", rsa2048)?;
    let mls_subject = c_o_cn("UT", "Utopia Passport Office", "Master List Signer Utopia");
    let ml_eku = crate::asn1::oid::ICAO_CSCA_MASTER_LIST_SIGNING_KEY;
    let mls_cert = ut2.list_signer(&mls_key, mls_subject, 0x4D4C, [y2025, y2040], ml_eku)?;
    out.key("ut-ml-signer", &mls_cert, &mls_key)?;
    let ml_content = masterlist::encode_master_list_content(&[
        ut1.cert.clone(),
        ut2.cert.clone(),
        ut_link.clone(),
        xa.cert.clone(),
        xb.cert.clone(),
    ]);
    let ml_type = crate::asn1::oid::ICAO_CSCA_MASTER_LIST;
    let ml_signer = (mls_cert.as_slice(), &mls_key, SidForm::SubjectKeyIdentifier);
    let ml = sign_list(ml_type, &ml_content, ml_signer, rsa_pkcs1)?;

    // --- CRLs
    let ut1_crl = ut1.crl([y2026, y2040], vec![], 7)?;
    let ut2_crl = ut2.crl([y2026, y2040], vec![], 1)?;
    let feb2026 = datetime!(2026-02-01 0:00 UTC);
    let xa_crl = xa.crl(
        [feb2026, y2040],
        vec![(0x12u64.to_be_bytes().to_vec(), feb2026, 1)],
        3,
    )?;
    let xb_crl_expired = xb.crl([y2020, datetime!(2020-04-01 0:00 UTC)], vec![], 1)?;

    // --- deviation list of XA naming its DSCs without digitalSignature, signed (plain
    // ECDSA) by a DL signer of XA
    let dls_key = out.key_of("xa-dl-signer", brainpool)?;
    let dls_subject = c_o_cn("XA", "Republic of XA", "Deviation List Signer XA");
    let dl_eku = crate::asn1::oid::ICAO_DEVIATION_LIST_SIGNING_KEY;
    let dls_cert = xa.list_signer(&dls_key, dls_subject, 0x444C, [y2025, y2040], dl_eku)?;
    out.key("xa-dl-signer", &dls_cert, &dls_key)?;
    let mut deviations = Vec::new();
    for d in dscs.iter().filter(|d| d.key_usage & ds == 0) {
        let c = Certificate::from_der(&d.cert)?;
        deviations.push((
            c.issuer.raw.clone(),
            c.serial.clone(),
            Oid::new_unwrap("2.23.136.1.1.7.1.1"),
            "DSC key usage lacks digitalSignature".to_owned(),
        ));
    }
    let dl_content = masterlist::encode_deviation_list_content(&deviations);
    let dl_type = crate::asn1::oid::ICAO_DEVIATION_LIST;
    let dl_signer = (dls_cert.as_slice(), &dls_key, SidForm::IssuerAndSerial);
    let dl = sign_list(dl_type, &dl_content, dl_signer, ecdsa_plain256)?;

    // --- XC: a CSCA that expired on 2024-01-01 and a DSC that outlives it
    let xc_name = csca_name("XC", "Free State of XC");
    let xc = out.csca("xc-csca-expired", p256, &xc_name, 1, [y2010, y2024], ecdsa256)?;
    #[rustfmt::skip]
    let xc_dsc = ("xc-dsc", &xc, p256, ("DS XC 1", "XC"), 0x31, [y2012, y2040], ds, ecdsa256, false);
    out.dsc(xc_dsc)?;

    // --- untrusted: ZZ (no CSCA in any store) and a forger impersonating UT's CSCA
    let zz_name = csca_name("ZZ", "Unknown State ZZ");
    let zz = out.csca("untrusted/zz-csca", p256, &zz_name, 1, [y2020, y2045], ecdsa256)?;
    #[rustfmt::skip]
    let zz_dsc = ("untrusted/zz-dsc", &zz, p256, ("DS ZZ 1", "ZZ"), 0x41, [jun2025, y2040], ds, ecdsa256, false);
    out.dsc(zz_dsc)?;
    let forger_key = "untrusted/ut-forger-csca";
    let forger = out.csca(forger_key, rsa2048, &ut2_name, 0x66, [y2025, y2045], rsa_pkcs1)?;
    let forger_dsc_key = out.key_of("untrusted/ut-forger-dsc", rsa2048)?;
    // issuer name and authority key identifier of the real UT CSCA: a store finds that
    // CSCA, and its key does not verify this certificate
    let forger_dsc = issue(
        &CertTemplate {
            serial: 0x1002u64.to_be_bytes().to_vec(),
            issuer: ut2_name.clone(),
            subject: ds_name("DS Utopia 2025-2", "UT"),
            not_before: jun2025,
            not_after: y2040,
            spki: forger_dsc_key.spki.clone(),
            extensions: vec![
                ext_aki(&ut2.key.key_id),
                ext_ski(&forger_dsc_key.key_id),
                ext_key_usage(ds, true),
                ext_document_types(&["P"]),
            ],
            alg: rsa_pss,
        },
        &forger.key.pkey,
    )?;
    out.key("untrusted/ut-forger-dsc", &forger_dsc, &forger_dsc_key)?;

    // --- files
    out.pki("00-masterlist-ut.ml", &ml)?;
    out.pki("10-ut-csca-1.cer", &ut1.cert)?;
    out.pki("10-ut-csca-2.cer", &ut2.cert)?;
    out.pki("10-ut-link-csca-2-by-1.cer", &ut_link)?;
    out.pki("10-xa-csca-explicit.cer", &xa.cert)?;
    out.pki("10-xb-csca.pem", &pem("CERTIFICATE", &xb.cert))?;
    out.pki("10-xc-csca-expired.cer", &xc.cert)?;
    out.pki("20-ut-csca-1-current.crl", &ut1_crl)?;
    out.pki("20-ut-csca-2-current.crl", &pem("X509 CRL", &ut2_crl))?;
    let l001 = ldif_file(|w| {
        for (i, d) in dscs.iter().filter(|d| d.in_collection_001).enumerate() {
            write_dsc_entry(w, &d.cert, 100 + i as u32, None)?;
        }
        write_crl_entry(w, &xa_crl, 200)?;
        write_crl_entry(w, &xb_crl_expired, 201)?;
        Ok(())
    })?;
    out.pki("30-icaopkd-001-dsccrl.ldif", &l001)?;
    let l002 = ldif_file(|w| write_ml_entry(w, &ml, "UT", 300))?;
    out.pki("31-icaopkd-002-ml.ldif", &l002)?;
    let l003 = ldif_file(|w| {
        write_dsc_entry(
            w,
            &xb_dsc_nc,
            400,
            Some((
                "ERR:DSC.AKI.1",
                "Authority key identifier missing; key usage not critical",
            )),
        )
    })?;
    out.pki("32-icaopkd-003-nc.ldif", &l003)?;
    out.pki("40-deviation-list-xa.dvl", &dl)?;

    let readme = out.keys.join("README.md");
    fs::write(&readme, KEYS_README).map_err(io_err(&readme))?;
    out.summary.key_files.push(readme);
    Ok(out.summary)
}

const KEYS_README: &str = "# Test PKI keys (generated)

Written by `emrtd::pki::fixtures::generate` (`emrtd fixtures generate --out pkd-fixtures`).
TEST KEYS ONLY: these private keys are public.

Each `NAME.cer` (DER certificate) has its private key in `NAME.key.pem` (PKCS#8 PEM).

| name | what | expected outcome with the store from `emrtd pkd import pkd-fixtures/pki/*` |
|---|---|---|
| ut-csca-1, ut-csca-2 | CSCAs of UT (RSA 3072, two generations; `10-ut-link-csca-2-by-1.cer` links them) | trust anchors |
| xa-csca | CSCA of XA, brainpoolP256r1, explicit domain parameters | trust anchor |
| xb-csca | CSCA of XB, P-256 named curve | trust anchor |
| ut-dsc-valid | DSC by ut-csca-2 (RSASSA-PSS), RSA 2048 | valid, CRL good |
| ut-dsc-old | DSC by ut-csca-1 (PKCS#1 v1.5) | valid, CRL good |
| ut-dsc-expired | DSC by ut-csca-1, valid 2015..2020 | expired |
| xa-dsc-valid | DSC by xa-csca, explicit brainpoolP256r1 key | valid, CRL good |
| xa-dsc-revoked | DSC by xa-csca | revoked (keyCompromise) on XA's current CRL |
| xa-dsc-wrong-ku | DSC by xa-csca, key usage nonRepudiation only | invalid (key usage); listed in the deviation list |
| xa-dsc-p224 | DSC by xa-csca, explicit NIST P-224 key (signs `quirk-lt-sod-p224-sha256`) | valid, CRL good |
| xb-dsc-valid | DSC by xb-csca | valid, revocation indeterminate (XB's only CRL expired 2020-04-01) |
| xb-dsc-nc | DSC by xb-csca from the non-conformant collection (no AKI) | valid with findings |
| ut-ml-signer | master list signer (EKU 2.23.136.1.1.3) | |
| xa-dl-signer | deviation list signer (EKU 2.23.136.1.1.8) | |
| xc-csca-expired | CSCA of XC, P-256, valid 2010..2024 (`pki/10-xc-csca-expired.cer`) | trust anchor, expired |
| xc-dsc | DSC by xc-csca-expired, valid 2012..2040 (outlives its CSCA) | CSCA expired |
| untrusted/zz-csca, untrusted/zz-dsc | CSCA and DSC of ZZ, P-256; in no file of `pki/` | no CSCA in the store: indeterminate |
| untrusted/ut-forger-csca | a forger's self-signed CSCA with the name of UT's second CSCA (RSA 2048); in no file of `pki/` | |
| untrusted/ut-forger-dsc | DSC naming UT's second CSCA as issuer (name and AKI copied), signed by the forger | invalid (signature under the UT CSCA fails) |

Documents of these test states carry the issuer codes UTO, XAA, XBB, XCC and ZZZ.

Every signature here is deterministic (RFC 6979 ECDSA, RSASSA-PSS with a salt derived
from the key and the message, PKCS#1 v1.5) and existing private keys are reused, so
regenerating over this directory rewrites the same bytes. Delete a key to replace it
(and everything it signed changes).
";

/// A self-made PKI imitating a state, as anyone can mint one without a real key: a
/// self-signed "CSCA", a master list signer under it, a master list that holds that
/// CSCA and is signed by that signer (so it verifies and chains *inside itself*), a
/// DSC under the CSCA and a current CRL. Tests import it to prove that such a list
/// anchors nothing. Keys are P-256 (fast to make).
#[derive(Debug, Clone)]
pub struct SelfMadePki {
    /// The self-made CSCA.
    pub csca: Ca,
    /// The master list signer certificate.
    pub ml_signer: Vec<u8>,
    /// Its key.
    pub ml_signer_key: Key,
    /// The master list (CMS SignedData DER).
    pub master_list: Vec<u8>,
    /// A DSC issued by the CSCA.
    pub dsc: Vec<u8>,
    /// The DSC's key.
    pub dsc_key: Key,
    /// A current, empty CRL of the CSCA.
    pub crl: Vec<u8>,
}

/// Make a [`SelfMadePki`] for `country` (alpha-2) whose CSCA is named `csca_cn`.
pub fn self_made_pki(country: &str, csca_cn: &str) -> Result<SelfMadePki, FixtureError> {
    let p256 = keys::curve_by_name("secp256r1").ok_or(openssl::error::ErrorStack::get())?;
    let ecdsa = SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha256,
    };
    let csca_name = c_o_cn(country, "Self-made", csca_cn);
    let ca = csca(
        Key::ec(p256, false)?,
        csca_name.clone(),
        0x5E1F,
        datetime!(2025-01-01 0:00 UTC),
        datetime!(2045-01-01 0:00 UTC),
        ecdsa,
    )?;
    let signer_key = Key::ec(p256, false)?;
    let signer_name = c_o_cn(country, "Self-made", "Master List Signer");
    let validity = [datetime!(2025-01-01 0:00 UTC), datetime!(2045-01-01 0:00 UTC)];
    let eku = crate::asn1::oid::ICAO_CSCA_MASTER_LIST_SIGNING_KEY;
    let ml_signer = ca.list_signer(&signer_key, signer_name, 0x4D4C, validity, eku)?;
    let content = masterlist::encode_master_list_content(std::slice::from_ref(&ca.cert));
    let signer = (ml_signer.as_slice(), &signer_key, SidForm::SubjectKeyIdentifier);
    let master_list = sign_list(crate::asn1::oid::ICAO_CSCA_MASTER_LIST, &content, signer, ecdsa)?;
    let dsc_key = Key::ec(p256, false)?;
    let dsc_der = dsc(
        &ca,
        &dsc_key,
        c_o_cn(country, "Self-made", "DS 1"),
        0xD5,
        datetime!(2025-06-01 0:00 UTC),
        datetime!(2040-01-01 0:00 UTC),
        KeyUsage::DIGITAL_SIGNATURE,
        ecdsa,
    )?;
    let crl = ca.crl(
        [datetime!(2026-01-01 0:00 UTC), datetime!(2040-01-01 0:00 UTC)],
        vec![],
        1,
    )?;
    Ok(SelfMadePki {
        csca: ca,
        ml_signer,
        ml_signer_key: signer_key,
        master_list,
        dsc: dsc_der,
        dsc_key,
        crl,
    })
}

impl SelfMadePki {
    /// Another master list of this PKI, holding its CSCA and `extra` certificates.
    pub fn master_list_with(&self, extra: &[Vec<u8>]) -> Result<Vec<u8>, FixtureError> {
        let mut certs = vec![self.csca.cert.clone()];
        certs.extend(extra.iter().cloned());
        let content = masterlist::encode_master_list_content(&certs);
        let signer = (
            self.ml_signer.as_slice(),
            &self.ml_signer_key,
            SidForm::SubjectKeyIdentifier,
        );
        sign_list(
            crate::asn1::oid::ICAO_CSCA_MASTER_LIST,
            &content,
            signer,
            self.csca.alg,
        )
    }
}

/// `cert` (DER) with its outer signatureAlgorithm replaced by `alg` (DER), the signed
/// part untouched: a certificate whose inner and outer algorithms differ (RFC 5280
/// §4.1.1.2), for tests.
pub fn with_outer_algorithm(cert: &[u8], alg: &[u8]) -> Result<Vec<u8>, FixtureError> {
    let e = super::cert::CertError::from;
    let t = tlv::parse(cert).map_err(e)?;
    let mut r = t.children();
    let tbs = r.read().map_err(e)?;
    let _alg = r.read().map_err(e)?;
    let sig = r.read().map_err(e)?;
    Ok(asn1::encode_seq(&[tbs.raw, alg, sig.raw]))
}

/// Sizes of a generated big LDIF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BigLdif {
    /// DSC entries written.
    pub dscs: usize,
    /// CRL entries written.
    pub crls: usize,
    /// File size.
    pub bytes: u64,
}

/// Write an ICAO PKD collection-001-style LDIF with `n_dsc` distinct DSCs and `n_crl`
/// CRLs (one CSCA per CRL, DSCs spread over them), for import benchmarks. The DSCs
/// share one public key (brainpoolP256r1 with explicit parameters, like most real
/// DSCs) but each is a distinct, properly signed certificate.
pub fn write_big_ldif(path: &Path, n_dsc: usize, n_crl: usize) -> Result<BigLdif, FixtureError> {
    let n_ca = n_crl.max(1);
    let p256 = keys::curve_by_name("secp256r1").ok_or(openssl::error::ErrorStack::get())?;
    let brainpool = keys::curve_by_name("brainpoolP256r1").ok_or(openssl::error::ErrorStack::get())?;
    let alg = SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha256,
    };
    let mut cas = Vec::with_capacity(n_ca);
    for i in 0..n_ca {
        let c = country_code(i);
        let key = Key::ec(p256, false)?;
        let subject = c_o_cn(&c, "Bench", &format!("CSCA {c}"));
        cas.push((
            c,
            Ca {
                cert: Vec::new(),
                key,
                name: subject,
                alg,
            },
        ));
    }
    let dsc_key = Key::ec(brainpool, true)?;
    let file = fs::File::create(path).map_err(io_err(path))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let wio = |e| FixtureError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    w.write_all(b"version: 1\n\n").map_err(wio)?;
    for i in 0..n_dsc {
        let (c, ca) = cas.get(i % n_ca).ok_or(openssl::error::ErrorStack::get())?;
        let der = dsc(
            ca,
            &dsc_key,
            c_o_cn(c, "Bench", &format!("DS {c} {i}")),
            i as u64 + 1,
            datetime!(2025-01-01 0:00 UTC),
            datetime!(2035-01-01 0:00 UTC),
            KeyUsage::DIGITAL_SIGNATURE,
            alg,
        )?;
        write_dsc_entry(&mut w, &der, i as u32 + 1, None)?;
    }
    for (i, (_, ca)) in cas.iter().enumerate().take(n_crl) {
        let validity = [datetime!(2026-01-01 0:00 UTC), datetime!(2040-01-01 0:00 UTC)];
        let revoked = (
            (i as u64 + 1).to_be_bytes().to_vec(),
            datetime!(2026-01-01 0:00 UTC),
            4,
        );
        let crl = ca.crl(validity, vec![revoked], 1)?;
        write_crl_entry(&mut w, &crl, i as u32 + 1)?;
    }
    w.flush().map_err(wio)?;
    let bytes = fs::metadata(path).map_err(io_err(path))?.len();
    Ok(BigLdif {
        dscs: n_dsc,
        crls: n_crl,
        bytes,
    })
}

fn country_code(i: usize) -> String {
    let a = char::from(b'A' + u8::try_from((i / 26) % 26).unwrap_or(0));
    let b = char::from(b'A' + u8::try_from(i % 26).unwrap_or(0));
    format!("{a}{b}")
}

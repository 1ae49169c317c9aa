//! Signing: EF.SOD (Doc 9303 Part 10 §4.6.2, Part 12 §9) and EF.CardSecurity (Part 11
//! §9.2.11) with the `[sign]` DSC, deterministically.

use std::path::Path;

use openssl::pkey::{Id, PKey, Private};
use time::OffsetDateTime;

use crate::cms::sign::{self as cms_sign, SidForm, SignRequest};
use crate::emulator::profile::Profile;
use crate::lds::LdsFile;
use crate::pki::cert::Certificate;
use crate::pki::fixtures::deterministic;
use crate::pki::signature::{HashAlgorithm, PssParams, SignatureAlgorithm};
use crate::tlv;

use super::build::{ca_infos, cam_key_info, pace_infos, profile_ca_key, sorted_infos};
use super::schema::{PersoToml, SignToml, hash_by_name, parse_file};
use super::{PersoError, invalid, read};

/// Read a certificate in DER or PEM.
fn read_certificate(path: &Path) -> Result<Vec<u8>, PersoError> {
    let bytes = read(path)?;
    let der = if bytes.starts_with(b"-----BEGIN") {
        openssl::x509::X509::from_pem(&bytes)?.to_der()?
    } else {
        bytes
    };
    Certificate::from_der(&der).map_err(|e| PersoError::Certificate {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    Ok(der)
}

fn read_private_key(path: &Path) -> Result<PKey<Private>, PersoError> {
    let bytes = zeroize::Zeroizing::new(read(path)?);
    let key = if bytes.starts_with(b"-----BEGIN") {
        PKey::private_key_from_pem(&bytes)
    } else {
        PKey::private_key_from_der(&bytes)
    };
    key.map_err(|source| PersoError::Key {
        path: path.to_path_buf(),
        source,
    })
}

/// The signature a DSC key makes by default: ECDSA (DER) for EC; for RSA the
/// convention of the DSC's own certificate (RSASSA-PSS with MGF1 and salt of the
/// digest's length when its CSCA signed it with PSS, else PKCS#1 v1.5).
pub fn default_signature(
    dsc: &Certificate,
    key: &PKey<Private>,
    digest: HashAlgorithm,
) -> SignatureAlgorithm {
    if key.id() == Id::EC {
        return SignatureAlgorithm::Ecdsa { hash: digest };
    }
    if dsc.signature_algorithm.oid == crate::asn1::oid::RSASSA_PSS {
        SignatureAlgorithm::RsaPss(PssParams {
            hash: digest,
            mgf1_hash: digest,
            salt_len: u32::try_from(digest.output_len()).unwrap_or(32),
            trailer_field: 1,
        })
    } else {
        SignatureAlgorithm::RsaPkcs1 { hash: digest }
    }
}

fn signature_by_name(name: &str, digest: HashAlgorithm) -> Result<SignatureAlgorithm, PersoError> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "rsassa-pss" | "pss" => SignatureAlgorithm::RsaPss(PssParams {
            hash: digest,
            mgf1_hash: digest,
            salt_len: u32::try_from(digest.output_len()).unwrap_or(32),
            trailer_field: 1,
        }),
        "rsa-pkcs1" | "pkcs1" => SignatureAlgorithm::RsaPkcs1 { hash: digest },
        "ecdsa" => SignatureAlgorithm::Ecdsa { hash: digest },
        "ecdsa-plain" => SignatureAlgorithm::EcdsaPlain { hash: digest },
        _ => {
            return Err(invalid(
                "sign.signature",
                format!("unknown signature {name:?} (rsassa-pss, rsa-pkcs1, ecdsa, ecdsa-plain)"),
            ));
        }
    })
}

/// A resolved `[sign]`.
struct Signer {
    cert: Vec<u8>,
    embed: Vec<u8>,
    key: PKey<Private>,
    digest: HashAlgorithm,
    dg_hash: HashAlgorithm,
    alg: SignatureAlgorithm,
    lds_version: Option<String>,
    unicode_version: String,
    signing_time: Option<OffsetDateTime>,
    card_security: Option<bool>,
    exclude: Vec<LdsFile>,
    sod_econtent_type: crate::cms::Oid,
    sid: SidForm,
}

impl Signer {
    fn new(t: &SignToml, base: &Path) -> Result<Signer, PersoError> {
        let cert = read_certificate(&base.join(&t.dsc))?;
        let parsed = Certificate::from_der(&cert).map_err(|e| PersoError::Certificate {
            path: base.join(&t.dsc),
            source: Box::new(e),
        })?;
        let key = read_private_key(&base.join(&t.key))?;
        let digest = match &t.digest {
            Some(d) => hash_by_name("sign.digest", d)?,
            None => HashAlgorithm::Sha256,
        };
        let dg_hash = match &t.dg_hashes_computed_with {
            Some(d) => hash_by_name("sign.dg_hashes_computed_with", d)?,
            None => digest,
        };
        let signature_hash = match &t.signature_hash {
            Some(d) => hash_by_name("sign.signature_hash", d)?,
            None => digest,
        };
        let alg = match &t.signature {
            Some(s) => signature_by_name(s, signature_hash)?,
            None => default_signature(&parsed, &key, signature_hash),
        };
        let sid = match t.sid.as_deref() {
            None | Some("issuer-serial") => SidForm::IssuerAndSerial,
            Some("issuer-serial-printable") => SidForm::IssuerAndSerialPrintable,
            Some("ski") => SidForm::SubjectKeyIdentifier,
            Some(other) => {
                return Err(invalid(
                    "sign.sid",
                    format!("unknown form {other:?} (issuer-serial, issuer-serial-printable, ski)"),
                ));
            }
        };
        let embed = match &t.embed_dsc {
            Some(p) => read_certificate(&base.join(p))?,
            None => cert.clone(),
        };
        if let Some(v) = &t.lds_version
            && (v.len() != 4 || !v.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid(
                "sign.lds_version",
                format!("{v:?} is not four digits (\"0108\")"),
            ));
        }
        let unicode_version = t.unicode_version.clone().unwrap_or_else(|| "040000".into());
        if unicode_version.len() != 6 || !unicode_version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("sign.unicode_version", "six digits (\"040000\")"));
        }
        let signing_time = match &t.signing_time {
            Some(s) => Some(
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| invalid("sign.signing_time", format!("{s:?}: {e}")))?,
            ),
            None => None,
        };
        let exclude = t
            .exclude
            .iter()
            .map(|n| parse_file("sign.exclude", n))
            .collect::<Result<Vec<_>, _>>()?;
        let sod_econtent_type = match t.econtent_type.as_deref() {
            None | Some("lds-security-object") => crate::asn1::oid::ICAO_LDS_SECURITY_OBJECT,
            Some("id-data") => crate::asn1::oid::DATA,
            Some(other) => {
                return Err(invalid(
                    "sign.econtent_type",
                    format!("unknown eContentType {other:?} (lds-security-object, id-data)"),
                ));
            }
        };
        Ok(Signer {
            cert,
            embed,
            key,
            digest,
            dg_hash,
            alg,
            lds_version: t.lds_version.clone(),
            unicode_version,
            signing_time,
            card_security: t.card_security,
            exclude,
            sod_econtent_type,
            sid,
        })
    }

    /// A SignedData over `econtent`, embedding `cert`.
    fn sign(
        &self,
        econtent_type: crate::cms::Oid,
        econtent: &[u8],
        cert: &[u8],
    ) -> Result<Vec<u8>, PersoError> {
        let key = &self.key;
        Ok(cms_sign::sign_with(
            &SignRequest {
                econtent_type,
                econtent,
                signer_cert: cert,
                digest: self.digest,
                alg: self.alg,
                signing_time: self.signing_time,
                embed_signer: true,
                extra_certs: vec![],
                sid: self.sid,
            },
            |alg, tbs| deterministic::sign(alg, key, tbs),
        )?)
    }
}

// ---------------------------------------------------------------------------------
// signing

/// The LDSSecurityObject (Doc 9303 Part 10 §4.6.2.2) naming `hash_alg` over `hashes`.
pub fn lds_security_object(
    hash_alg: HashAlgorithm,
    hashes: &[(u8, Vec<u8>)],
    version_info: Option<(&str, &str)>,
) -> Vec<u8> {
    use crate::cms::asn1;
    let alg = asn1::encode_seq(&[&asn1::encode_oid(&hash_alg.oid())]);
    let groups: Vec<Vec<u8>> = hashes
        .iter()
        .map(|(n, h)| {
            asn1::encode_seq(&[
                &asn1::encode_small_uint(u64::from(*n)),
                &tlv::encode(asn1::tag::OCTET_STRING, h),
            ])
        })
        .collect();
    let list = tlv::encode(asn1::tag::SEQUENCE, &groups.concat());
    match version_info {
        Some((lds, unicode)) => {
            let info = asn1::encode_seq(&[
                &tlv::encode(asn1::tag::PRINTABLE_STRING, lds.as_bytes()),
                &tlv::encode(asn1::tag::PRINTABLE_STRING, unicode.as_bytes()),
            ]);
            asn1::encode_seq(&[&asn1::encode_small_uint(1), &alg, &list, &info])
        }
        None => asn1::encode_seq(&[&asn1::encode_small_uint(0), &alg, &list]),
    }
}

/// The LDS version of a profile's EF.COM (`[sign] lds_version`, default "0107").
pub fn lds_version_of(t: &PersoToml) -> Option<String> {
    t.sign.as_ref().and_then(|s| s.lds_version.clone())
}

/// Sign EF.SOD and EF.CardSecurity with `[sign]` (after all files are generated).
pub fn sign(profile: &mut Profile, t: &PersoToml, base: &Path) -> Result<(), PersoError> {
    let Some(st) = &t.sign else {
        return Ok(());
    };
    let signer = Signer::new(st, base)?;
    if !profile.files.contains_key(&LdsFile::Sod) {
        let mut hashes = Vec::new();
        for (file, bytes) in &profile.files {
            if let LdsFile::Dg(n) = file
                && !signer.exclude.contains(file)
            {
                hashes.push((*n, signer.dg_hash.digest(bytes)));
            }
        }
        hashes.sort_by_key(|(n, _)| *n);
        if hashes.len() < 2 {
            return Err(invalid(
                "sign",
                "the LDSSecurityObject needs at least two data group hashes (Doc 9303 Part 10 §4.6.2.2)",
            ));
        }
        let lds_version = signer.lds_version.as_deref().filter(|v| *v >= "0108");
        let so = lds_security_object(
            signer.digest,
            &hashes,
            lds_version.map(|v| (v, signer.unicode_version.as_str())),
        );
        let cms = signer.sign(signer.sod_econtent_type, &so, &signer.embed)?;
        profile.files.insert(LdsFile::Sod, tlv::encode(0x77, &cms));
    }
    let has_pace = !profile.pace.is_empty();
    let has_ca = t.ca.is_some() && profile.ca_private_key.is_some();
    let wanted = signer.card_security.unwrap_or(has_pace || has_ca);
    if wanted && !profile.files.contains_key(&LdsFile::CardSecurity) {
        let mut infos = pace_infos(&profile.pace)?;
        if let (Some(ca), true) = (&t.ca, has_ca) {
            infos.extend(ca_infos(profile_ca_key(profile)?, ca)?);
            if let Some(cam) = profile.cam_private_key.as_deref() {
                infos.push(cam_key_info(cam, ca, &profile.pace)?);
            }
        }
        if infos.is_empty() {
            return Err(invalid("sign.card_security", "no PACE or CA infos to sign"));
        }
        let econtent = sorted_infos(infos).encode();
        let cms = signer.sign(crate::asn1::oid::BSI_SECURITY_OBJECT, &econtent, &signer.cert)?;
        profile.files.insert(LdsFile::CardSecurity, cms);
    }
    profile.personalisation.dsc = Some(signer.cert.clone());
    profile.personalisation.signature = Some(signer.alg);
    Ok(())
}

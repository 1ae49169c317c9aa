//! PEM files: the blocks of a file (RFC 7468), each imported as what its label says.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::masterlist::{SignedObject, import_signed};
use super::trust::add_crl;
use super::{Fatal, FileKind, FileOutcome, FileReport, ImportOptions, add_user_certificate};
use crate::cms::SignedData;
use crate::pki::cert::Certificate;
use crate::pki::crl::Crl;
use crate::pki::store::{Provenance, Writer};

pub(super) fn import_pem(
    w: &Writer<'_>,
    bytes: &[u8],
    prov: &Provenance,
    opts: &ImportOptions,
    report: &mut FileReport,
) -> Result<(), Fatal> {
    let text = String::from_utf8_lossy(bytes);
    let blocks = pem_blocks(&text)?;
    if blocks.is_empty() {
        return Err(Fatal::Msg("no PEM blocks found".into()));
    }
    for (i, (label, der)) in blocks.iter().enumerate() {
        match label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                report.kind.get_or_insert(FileKind::Certificate);
                // OpenSSL's TRUSTED CERTIFICATE appends trust settings after the certificate
                let cert_der = match crate::tlv::parse_ber(der) {
                    Ok(t) if label == "TRUSTED CERTIFICATE" => t.raw,
                    _ => der.as_slice(),
                };
                match Certificate::from_der(cert_der) {
                    Ok(c) => add_user_certificate(w, c, prov, report)?,
                    Err(e) => {
                        report.reject(format!("PEM block {}: {}", i + 1, crate::error::text(&e)));
                    }
                }
            }
            "X509 CRL" => {
                report.kind.get_or_insert(FileKind::Crl);
                match Crl::from_der(der) {
                    Ok(c) => add_crl(w, c, false, prov, report, true)?,
                    Err(e) => {
                        report.reject(format!("PEM block {}: {}", i + 1, crate::error::text(&e)));
                    }
                }
            }
            "CMS" | "PKCS7" => {
                let sd = SignedData::parse(der).map_err(|e| {
                    Fatal::Msg(format!(
                        "PEM block {}: malformed CMS: {}",
                        i + 1,
                        crate::error::text(&e)
                    ))
                })?;
                let first = report.kind.is_none();
                import_signed(w, SignedObject { der, sd, prov }, opts, report, first)?;
            }
            other => report
                .notes
                .push(format!("PEM block {} ({other}) ignored", i + 1)),
        }
    }
    if report.kind.is_none() {
        return Err(Fatal::Msg(
            "no certificate, CRL or CMS block in the PEM file".into(),
        ));
    }
    if report.added == 0
        && report.duplicate == 0
        && report.rejected > 0
        && report.outcome != FileOutcome::Refused
    {
        return Err(Fatal::Msg("no usable object in the PEM file".into()));
    }
    Ok(())
}

pub(super) fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, Fatal> {
    let mut out = Vec::new();
    let mut current: Option<(String, String, usize)> = None;
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("-----BEGIN ") {
            let label = rest.trim_end_matches('-').trim().to_owned();
            current = Some((label, String::new(), n + 1));
        } else if l.starts_with("-----END ") {
            let Some((label, body, start)) = current.take() else {
                return Err(Fatal::Msg(format!("line {}: END without BEGIN", n + 1)));
            };
            let der = STANDARD
                .decode(body.as_bytes())
                .map_err(|_| Fatal::Msg(format!("PEM block at line {start}: invalid base64")))?;
            out.push((label, der));
        } else if let Some((_, body, _)) = current.as_mut()
            && !l.contains(':')
        {
            body.push_str(l);
        }
    }
    if let Some((_, _, start)) = current {
        return Err(Fatal::Msg(format!(
            "PEM block at line {start} is truncated (no END line)"
        )));
    }
    Ok(out)
}

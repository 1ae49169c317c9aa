//! CV certificates (EAC, [`super::cvc`]) in the trust store: their own table, added by
//! schema migration 5, an insert used by `pkd import` for `.cvcert` files (detected by
//! content: tag `7F21`) and the queries of `pkd list --kind cvca|dv|is` and of the
//! reader's Terminal Authentication (`--eac-chain` from the store).
//!
//! A self-signed CVCA must verify with its own key to be imported. A DV or terminal
//! certificate is checked against its issuer when the issuer's chain up to a CVCA is
//! already in the store (and refused when that check fails); otherwise it is stored
//! with signature `n/a` and checked when it is used.

use rusqlite::{Connection, OptionalExtension, params};

use super::cvc::{CvCertificate, CvPublicKey, Role, split_reference};
use super::store::StoreError;

/// Migration 4 → 5: the CV certificate table.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cv_certificates (
    sha256        BLOB PRIMARY KEY,
    der           BLOB NOT NULL,
    car           TEXT NOT NULL,
    chr           TEXT NOT NULL,
    role          TEXT NOT NULL,
    terminal_type TEXT NOT NULL,
    chat          BLOB NOT NULL,
    effective     TEXT NOT NULL,
    expiration    TEXT NOT NULL,
    country       TEXT,
    key           TEXT NOT NULL,
    signature     TEXT NOT NULL,
    source        TEXT NOT NULL,
    imported_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cv_certificates_chr ON cv_certificates(chr);
";

/// True when `head` starts like a CV certificate (`7F 21`).
pub fn looks_like_cv_certificate(head: &[u8]) -> bool {
    head.starts_with(&[0x7F, 0x21])
}

/// What an insert did.
#[derive(Debug, Clone)]
pub struct CvImport {
    /// Newly added (false: already there).
    pub added: bool,
    /// `valid` (checked against itself or its issuer in the store) or `n/a`.
    pub signature: &'static str,
    /// The certificate.
    pub cert: CvCertificate,
}

/// Why a CV certificate was not imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CvImportError {
    /// Not a CV certificate.
    #[error(transparent)]
    Decode(#[from] super::cvc::CvcError),
    /// Its signature does not verify.
    #[error("signature does not verify: {0}")]
    Signature(super::cvc::CvcError),
    /// The store failed.
    #[error("trust store")]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for CvImportError {
    fn from(e: rusqlite::Error) -> Self {
        CvImportError::Store(e.into())
    }
}

/// Import one DER CV certificate (one statement: atomic).
pub fn import(conn: &Connection, source: &str, der: &[u8]) -> Result<CvImport, CvImportError> {
    let cert = CvCertificate::from_der(der)?;
    let signature = if cert.is_self_signed() {
        cert.verify_self_signed().map_err(CvImportError::Signature)?;
        "valid"
    } else {
        match issuer_key(conn, cert.car(), 8)? {
            Some(key) => {
                cert.verify_signature(&key).map_err(CvImportError::Signature)?;
                "valid"
            }
            None => "n/a",
        }
    };
    let sha = openssl::sha::sha256(cert.der());
    let b = &cert.body;
    let parent = issuer_key(conn, cert.car(), 8)?;
    let n = conn.execute(
        "INSERT OR IGNORE INTO cv_certificates
           (sha256, der, car, chr, role, terminal_type, chat, effective, expiration, country, key,
            signature, source, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            sha.as_slice(),
            cert.der(),
            b.car,
            b.chr,
            cert.role().kind(),
            b.chat.terminal_type.to_string(),
            b.chat.bits,
            b.effective.to_string(),
            b.expiration.to_string(),
            split_reference(&b.chr).map(|(c, _, _)| c.to_owned()),
            b.public_key.describe(parent.as_ref()),
            signature,
            source,
            time::OffsetDateTime::now_utc().unix_timestamp(),
        ],
    )?;
    Ok(CvImport {
        added: n == 1,
        signature,
        cert,
    })
}

/// The completed key (domain parameters filled in) of the holder `chr`, found by
/// walking up the stored CARs to a self-signed CVCA; `None` when the chain is not in
/// the store. `depth` bounds the walk.
fn issuer_key(conn: &Connection, chr: &str, depth: usize) -> Result<Option<CvPublicKey>, StoreError> {
    if depth == 0 {
        return Ok(None);
    }
    for c in by_chr(conn, chr)? {
        if c.is_self_signed() {
            if c.role() == Role::Cvca && c.verify_self_signed().is_ok() {
                return Ok(Some(c.body.public_key.clone()));
            }
            continue;
        }
        if let Some(parent) = issuer_key(conn, c.car(), depth - 1)?
            && c.verify_signature(&parent).is_ok()
        {
            return Ok(Some(c.body.public_key.completed(Some(&parent))));
        }
    }
    Ok(None)
}

/// Stored certificates with this CHR.
pub fn by_chr(conn: &Connection, chr: &str) -> Result<Vec<CvCertificate>, StoreError> {
    let mut st = conn.prepare_cached("SELECT der FROM cv_certificates WHERE chr = ?1 ORDER BY effective")?;
    let rows = st.query_map(params![chr], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for der in rows {
        // rows were decoded when imported; one that no longer decodes is skipped
        if let Ok(c) = CvCertificate::from_der(&der?) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Every stored CV certificate (the reader picks its chain among them).
pub fn all(conn: &Connection) -> Result<Vec<CvCertificate>, StoreError> {
    let mut st = conn.prepare_cached("SELECT der FROM cv_certificates ORDER BY chr, effective")?;
    let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for der in rows {
        if let Ok(c) = CvCertificate::from_der(&der?) {
            out.push(c);
        }
    }
    Ok(out)
}

/// One line of `pkd list` for a CV certificate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CvEntry {
    /// SHA-256 hex.
    pub sha256: String,
    /// `cv_certificate`.
    pub kind: &'static str,
    /// `cvca`, `dv` or `is`.
    pub role: String,
    /// Country code of the CHR.
    pub country: Option<String>,
    /// The CHR.
    pub subject: String,
    /// The CAR.
    pub issuer: String,
    /// Terminal type OID.
    pub terminal_type: String,
    /// CHAT bits (hex).
    pub chat: String,
    /// Effective date.
    pub effective: String,
    /// Expiration date.
    pub expiration: String,
    /// Key description.
    pub key: String,
    /// `valid` or `n/a`.
    pub signature: String,
    /// The file it came from.
    pub sources: Vec<String>,
    /// CVCAs are the chips' trust points; the store does not make them anchors of
    /// Passive Authentication.
    pub trusted: bool,
}

/// CV certificates, optionally of one role (`cvca`, `dv`, `is`) and country.
pub fn list(
    conn: &Connection,
    role: Option<&str>,
    country: Option<&str>,
) -> Result<Vec<CvEntry>, StoreError> {
    let country = country.map(str::to_ascii_uppercase);
    let mut st = conn.prepare(
        "SELECT sha256, role, country, chr, car, terminal_type, chat, effective, expiration, key,
                signature, source
         FROM cv_certificates
         WHERE (?1 IS NULL OR role = ?1) AND (?2 IS NULL OR country = ?2)
         ORDER BY country, role, chr, effective",
    )?;
    let rows = st.query_map(params![role, country], |r| {
        Ok(CvEntry {
            sha256: hex::encode(r.get::<_, Vec<u8>>(0)?),
            kind: "cv_certificate",
            role: r.get(1)?,
            country: r.get(2)?,
            subject: r.get(3)?,
            issuer: r.get(4)?,
            terminal_type: r.get(5)?,
            chat: hex::encode_upper(r.get::<_, Vec<u8>>(6)?),
            effective: r.get(7)?,
            expiration: r.get(8)?,
            key: r.get(9)?,
            signature: r.get(10)?,
            sources: vec![r.get(11)?],
            trusted: false,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Whether the table exists (stores opened by an older binary are migrated on open).
pub fn has_table(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cv_certificates'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::store::TrustStore;

    fn read(p: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/test-vectors/protocol/{p}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn import_list_and_chain_lookup() {
        let store = TrustStore::open_in_memory().unwrap();
        let conn = store.connection();
        assert!(has_table(conn).unwrap());
        // the terminal before its issuers: stored, signature not yet checkable
        let ta = read("bsi_eac_worked_example/ecdh_ta_cert.cvcert");
        let r = import(conn, "ta", &ta).unwrap();
        assert!(r.added);
        assert_eq!(r.signature, "n/a");
        let r = import(
            conn,
            "cvca",
            &read("bsi_eac_worked_example/ecdh_cvca_cert.cvcert"),
        )
        .unwrap();
        assert_eq!(r.signature, "valid");
        // the DV is checked against the stored CVCA
        let r = import(conn, "dv", &read("bsi_eac_worked_example/ecdh_dv_cert.cvcert")).unwrap();
        assert_eq!(r.signature, "valid");
        // again: a duplicate
        assert!(
            !import(conn, "dv", &read("bsi_eac_worked_example/ecdh_dv_cert.cvcert"))
                .unwrap()
                .added
        );
        // a tampered DV signature is refused now that its issuer is known
        let mut bad = read("bsi_eac_worked_example/dh_dv_cert.cvcert");
        import(conn, "cvca", &read("bsi_eac_worked_example/dh_cvca.cvcert")).unwrap();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        assert!(matches!(
            import(conn, "bad", &bad),
            Err(CvImportError::Signature(_))
        ));
        // a tampered self-signed CVCA is refused
        let mut bad = read("eac_cv_certs/openpace_DECVCAEPASS00102");
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        assert!(import(conn, "bad", &bad).is_err());
        assert!(import(conn, "junk", b"\x7F\x21\x01\x00").is_err());

        let cvcas = list(conn, Some("cvca"), None).unwrap();
        assert_eq!(cvcas.len(), 2);
        assert_eq!(list(conn, Some("dv"), Some("de")).unwrap().len(), 1);
        let is = list(conn, Some("is"), None).unwrap();
        assert_eq!(is.len(), 1);
        assert_eq!(is[0].subject, "DETESTATDE019");
        assert_eq!(all(conn).unwrap().len(), 4);
        // the terminal's key, completed from the CVCA through the DV
        let k = issuer_key(conn, "DETESTATDE019", 8).unwrap().unwrap();
        assert!(k.has_domain_parameters());
    }
}

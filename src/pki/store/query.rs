//! Reading the trust store: the certificate lookups path validation and imports need
//! (`*_on` functions, usable inside or outside a write transaction), the mapping of a
//! stored row back to a [`StoredCert`], and the [`TrustStore`] methods over them.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{StoreError, StoredCert, StoredCrl, TrustStore, canonical_serial};
use crate::pki::cert::{Certificate, Name};
use crate::pki::crl::Crl;
use crate::pki::role::{Role, TrustKind};

/// The SQL placeholder string of a role list.
const CA_ROLES: &str = "('csca','link')";

pub(super) fn cert_columns() -> &'static str {
    "der, role, trusted, non_conformant, trust, anchor_sha256, verified_by"
}

/// The stored columns of a certificate row ([`cert_columns`]).
type CertTuple = (
    Vec<u8>,
    String,
    bool,
    bool,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

fn row_to_cert(row: &rusqlite::Row<'_>) -> rusqlite::Result<CertTuple> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

pub(super) fn sha_of(v: Option<Vec<u8>>) -> Option<[u8; 32]> {
    v.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
}

pub(super) fn to_stored(v: CertTuple) -> Result<StoredCert, StoreError> {
    let (der, role, trusted, non_conformant, trust, anchor, verified_by) = v;
    let cert = Certificate::from_der(&der).map_err(|_| StoreError::Corrupt {
        fingerprint: hex::encode(crate::pki::cert::fingerprint(&der)),
    })?;
    Ok(StoredCert {
        cert,
        role: Role::parse(&role),
        trusted,
        non_conformant,
        trust: trust.as_deref().and_then(TrustKind::parse),
        anchor: sha_of(anchor),
        verified_by: sha_of(verified_by),
    })
}

/// The certificates (all [`cert_columns`]) of the rows that meet `condition` (an SQL
/// expression over `certificates`, with `p` for its parameters), in the order it asks.
pub(super) fn certs_where<P: rusqlite::Params>(
    conn: &Connection,
    condition: &str,
    p: P,
) -> Result<Vec<StoredCert>, StoreError> {
    let sql = format!("SELECT {} FROM certificates WHERE {condition}", cert_columns());
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(p, row_to_cert)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(to_stored(r?)?);
    }
    Ok(out)
}

/// Trusted issuer candidates (CSCA or link) of a certificate on any connection: by
/// AKI = SKI or by the normalised issuer name. Untrusted certificates are never
/// candidates, so nothing an attacker imports without an anchor costs a signature
/// check.
pub fn trusted_issuer_candidates_on(
    conn: &Connection,
    issuer: &Name,
    aki: Option<&[u8]>,
) -> Result<Vec<StoredCert>, StoreError> {
    ca_candidates_on(conn, " AND trusted = 1 AND withdrawn = 0", issuer, aki)
}

/// CA certificates (CSCA or link) that may have issued a certificate, by AKI = SKI or
/// by the normalised issuer name, newest first; `filter` (empty, or ` AND ...`) narrows
/// them.
fn ca_candidates_on(
    conn: &Connection,
    filter: &str,
    issuer: &Name,
    aki: Option<&[u8]>,
) -> Result<Vec<StoredCert>, StoreError> {
    certs_where(
        conn,
        &format!(
            "role IN {CA_ROLES}{filter} AND ((?1 IS NOT NULL AND ski = ?1) OR subject_norm = ?2) ORDER BY not_before DESC"
        ),
        params![aki, issuer.normalized()],
    )
}

pub(super) fn master_list_anchor_on(
    conn: &Connection,
    sha256: &[u8; 32],
) -> Result<Option<(bool, Option<String>)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT anchored, anchor_sha256 FROM master_lists WHERE sha256 = ?1",
            params![sha256.as_slice()],
            |r| {
                Ok((
                    r.get::<_, bool>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?.map(hex::encode),
                ))
            },
        )
        .optional()?)
}

/// A certificate by its SHA-256 on any connection.
pub fn certificate_on(conn: &Connection, sha256: &[u8; 32]) -> Result<Option<StoredCert>, StoreError> {
    // sha256 is UNIQUE: one row at most
    Ok(certs_where(conn, "sha256 = ?1", params![sha256.as_slice()])?.pop())
}

/// Issuer candidates on any connection (inside or outside a transaction).
pub fn issuer_candidates_on(
    conn: &Connection,
    issuer: &Name,
    aki: Option<&[u8]>,
) -> Result<Vec<StoredCert>, StoreError> {
    ca_candidates_on(conn, "", issuer, aki)
}

/// Certificates with this issuer and serial on any connection.
pub fn by_issuer_serial_on(
    conn: &Connection,
    issuer: &Name,
    serial: &[u8],
) -> Result<Vec<StoredCert>, StoreError> {
    certs_where(
        conn,
        "issuer_norm = ?1 AND serial = ?2 AND withdrawn = 0 ORDER BY rowid",
        params![issuer.normalized(), canonical_serial(serial)],
    )
}

/// Certificates with this SKI on any connection (withdrawn ones, which no source holds
/// any more, excepted: they stop counting, as by issuer and serial).
pub fn by_ski_on(conn: &Connection, ski: &[u8]) -> Result<Vec<StoredCert>, StoreError> {
    certs_where(conn, "ski = ?1 AND withdrawn = 0 ORDER BY rowid", params![ski])
}

/// The certificates that still count and that a SignerInfo names (by
/// issuerAndSerialNumber or, CMS v3, by subjectKeyIdentifier), in the order they were
/// stored, at most [`MAX_SIGNER_CANDIDATES`] (empty when the issuer does not parse).
/// Every role: a master or deviation list names its list signer this way too;
/// [`signer_certificates_on`] keeps the ones that can sign a document.
pub fn certificates_named_on(
    conn: &Connection,
    sid: &crate::cms::SignerIdentifier,
) -> Result<Vec<StoredCert>, StoreError> {
    let mut found = match sid {
        crate::cms::SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => {
            match Name::from_der(issuer) {
                Ok(name) => by_issuer_serial_on(conn, &name, serial)?,
                Err(_) => Vec::new(),
            }
        }
        crate::cms::SignerIdentifier::SubjectKeyIdentifier(ski) => by_ski_on(conn, ski)?,
    };
    found.truncate(MAX_SIGNER_CANDIDATES);
    Ok(found)
}

/// Most stored certificates tried as the signer a SignerInfo names
/// ([`certificates_named_on`]): each costs a signature check and a path.
pub const MAX_SIGNER_CANDIDATES: usize = 16;

/// The certificates a CMS SignerInfo names (by issuerAndSerialNumber or, CMS v3, by
/// subjectKeyIdentifier) on any connection, for a SignedData that does not embed its
/// signer's certificate: every matching certificate that still counts, in the order
/// they were stored, at most [`MAX_SIGNER_CANDIDATES`]. Several may match (the same SKI
/// on a re-issued certificate, a look-alike); the caller takes the one whose key
/// verifies the signature and whose path holds. Certificates that never sign a
/// document are not candidates: bar-code signers (ICAO PKD `o=bcsc`) and master or
/// deviation list signers. Empty when none matches or the issuer does not parse.
pub fn signer_certificates_on(
    conn: &Connection,
    sid: &crate::cms::SignerIdentifier,
) -> Result<Vec<StoredCert>, StoreError> {
    Ok(certificates_named_on(conn, sid)?
        .into_iter()
        .filter(|c| !matches!(c.role, Role::Bcsc | Role::MlSigner | Role::DlSigner))
        .collect())
}

impl TrustStore {
    /// Issuer candidates (CSCA or link) of a certificate: by AKI = SKI, then by the
    /// normalised issuer name. Untrusted ones are included; callers check `trusted`.
    pub fn issuer_candidates(
        &self,
        issuer: &Name,
        aki: Option<&[u8]>,
    ) -> Result<Vec<StoredCert>, StoreError> {
        issuer_candidates_on(&self.conn, issuer, aki)
    }

    /// Certificates with this issuer and serial number (a DSC named by a SignerInfo).
    pub fn by_issuer_serial(&self, issuer: &Name, serial: &[u8]) -> Result<Vec<StoredCert>, StoreError> {
        by_issuer_serial_on(&self.conn, issuer, serial)
    }

    /// Certificates with this subject key identifier.
    pub fn by_ski(&self, ski: &[u8]) -> Result<Vec<StoredCert>, StoreError> {
        by_ski_on(&self.conn, ski)
    }

    /// See [`signer_certificates_on`].
    pub fn signer_certificates(
        &self,
        sid: &crate::cms::SignerIdentifier,
    ) -> Result<Vec<StoredCert>, StoreError> {
        signer_certificates_on(&self.conn, sid)
    }

    /// A certificate by its SHA-256.
    pub fn certificate(&self, sha256: &[u8; 32]) -> Result<Option<StoredCert>, StoreError> {
        certificate_on(&self.conn, sha256)
    }

    /// Trusted issuer candidates (CSCA or link) of a certificate: by AKI = SKI or by the
    /// normalised issuer name ([`trusted_issuer_candidates_on`]).
    pub fn trusted_issuer_candidates(
        &self,
        issuer: &Name,
        aki: Option<&[u8]>,
    ) -> Result<Vec<StoredCert>, StoreError> {
        trusted_issuer_candidates_on(&self.conn, issuer, aki)
    }

    /// The master lists that hold this certificate and are not anchored (why a CSCA
    /// from a list is not trusted): their fingerprints.
    pub fn unanchored_lists_holding(&self, sha256: &[u8; 32]) -> Result<Vec<String>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT DISTINCT m.sha256 FROM provenance p JOIN master_lists m ON m.sha256 = p.master_list_sha256
             WHERE p.object_sha256 = ?1 AND m.anchored = 0",
        )?;
        let rows = st.query_map(params![sha256.as_slice()], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(hex::encode(r?));
        }
        Ok(out)
    }

    /// Whether a stored master list is anchored, and by which anchor (fingerprint).
    pub fn master_list_anchor(
        &self,
        sha256: &[u8; 32],
    ) -> Result<Option<(bool, Option<String>)>, StoreError> {
        master_list_anchor_on(&self.conn, sha256)
    }

    /// The newest CRLs (at most `limit`, thisUpdate ≤ `at`) that verified under one of
    /// these CA certificates, withdrawn ones included and marked (a directory that
    /// drops a CRL, or puts an older one back, must not take back what it revoked).
    /// Only these are parsed: CRLs that never verified are not looked at, however many
    /// name the issuer.
    pub fn verified_crls(
        &self,
        issuers: &[&[u8; 32]],
        at: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<StoredCrl>, StoreError> {
        let mut out = Vec::new();
        let mut st = self.conn.prepare_cached(
            "SELECT der, withdrawn FROM crls WHERE verified_by = ?1 AND signature = 'valid' AND this_update <= ?2
             ORDER BY this_update DESC LIMIT ?3",
        )?;
        for sha in issuers {
            let rows = st.query_map(params![sha.as_slice(), at.unix_timestamp(), limit as i64], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, bool>(1)?))
            })?;
            for r in rows {
                let (der, withdrawn) = r?;
                let crl = Crl::from_der(&der).map_err(|_| StoreError::Corrupt {
                    fingerprint: hex::encode(crate::pki::cert::fingerprint(&der)),
                })?;
                if !out.iter().any(|c: &StoredCrl| c.crl.sha256 == crl.sha256) {
                    out.push(StoredCrl { crl, withdrawn });
                }
            }
        }
        Ok(out)
    }

    /// Trusted CA certificates (CSCA or link) of a country.
    pub fn trusted_cas_of(&self, country: &str) -> Result<Vec<StoredCert>, StoreError> {
        certs_where(
            &self.conn,
            &format!("role IN {CA_ROLES} AND trusted = 1 AND withdrawn = 0 AND country = ?1"),
            params![country],
        )
    }

    /// Deviations recorded for a DSC (by issuer + serial or SKI).
    pub fn deviations_for(&self, dsc: &Certificate) -> Result<Vec<StoredDeviation>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT d.deviation_type, d.description, d.document_type, l.country
             FROM deviations d JOIN deviation_lists l ON l.id = d.list_id
             WHERE l.withdrawn = 0 AND ((d.issuer_norm = ?1 AND d.serial = ?2) OR (?3 IS NOT NULL AND d.ski = ?3))",
        )?;
        let rows = st.query_map(
            params![dsc.issuer.normalized(), canonical_serial(&dsc.serial), dsc.ski],
            |r| {
                Ok(StoredDeviation {
                    deviation_type: r.get(0)?,
                    description: r.get(1)?,
                    document_type: r.get(2)?,
                    country: r.get(3)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// A deviation recorded for a DSC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredDeviation {
    /// deviationType OID (dotted).
    pub deviation_type: String,
    /// Description text.
    pub description: Option<String>,
    /// documentType.
    pub document_type: Option<String>,
    /// Country of the list.
    pub country: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::store::tests::fixture_cert;
    use crate::pki::store::{CertMeta, Provenance};

    #[test]
    fn a_signer_is_found_by_issuer_serial_or_ski_until_it_is_withdrawn() {
        use crate::cms::SignerIdentifier;
        let mut s = TrustStore::open_in_memory().unwrap();
        let cert = fixture_cert("10-ut-csca-2.cer");
        let w = s.transaction().unwrap();
        let src = w.add_source("a", "ldif").unwrap();
        let prov = Provenance {
            source_id: src,
            ..Provenance::default()
        };
        w.add_certificate(&cert, Role::Csca, &CertMeta::default(), &prov)
            .unwrap();
        w.commit().unwrap();
        let by_name = SignerIdentifier::IssuerAndSerialNumber {
            issuer: cert.issuer.raw.clone(),
            serial: cert.serial.clone(),
        };
        let by_ski = SignerIdentifier::SubjectKeyIdentifier(cert.ski.clone().unwrap());
        let other_ski = SignerIdentifier::SubjectKeyIdentifier(vec![0x55; 20]);
        for sid in [&by_name, &by_ski] {
            let found = s.signer_certificates(sid).unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].cert.sha256, cert.sha256);
        }
        assert!(s.signer_certificates(&other_ski).unwrap().is_empty());
        // a certificate no source holds any more stops counting, whichever way it is named
        s.connection()
            .execute("UPDATE certificates SET withdrawn = 1", [])
            .unwrap();
        for sid in [&by_name, &by_ski] {
            assert!(s.signer_certificates(sid).unwrap().is_empty());
        }
        assert!(s.by_ski(cert.ski.as_deref().unwrap()).unwrap().is_empty());
    }
}

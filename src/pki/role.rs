//! What a certificate is in the ICAO PKI (Doc 9303 Part 12 §5) and how trust in it was
//! earned: the roles the trust store keeps (CSCA, link, DSC, list signers, bar-code
//! signers) and the classification of a certificate by its extensions.

use super::cert::{Certificate, KeyUsage};

/// What a certificate is in the ICAO PKI (Doc 9303 Part 12 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Self-signed Country Signing CA certificate.
    Csca,
    /// CSCA link certificate (a CSCA key certified by another CSCA key of the same country).
    Link,
    /// Document Signer certificate.
    Dsc,
    /// Master list signer (extended key usage id-icao-cscaMasterListSigningKey).
    MlSigner,
    /// Deviation list signer (extended key usage id-icao-DeviationListSigningKey).
    DlSigner,
    /// Bar-code signer of visible digital seals (ICAO PKD `o=bcsc`, `o=bcsc-nc`): never
    /// validates an eMRTD.
    Bcsc,
    /// Anything else (cross certificates, ...).
    Other,
}

impl Role {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Csca => "csca",
            Role::Link => "link",
            Role::Dsc => "dsc",
            Role::MlSigner => "ml_signer",
            Role::DlSigner => "dl_signer",
            Role::Bcsc => "bcsc",
            Role::Other => "other",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Role {
        match s {
            "csca" => Role::Csca,
            "link" => Role::Link,
            "dsc" => Role::Dsc,
            "ml_signer" => Role::MlSigner,
            "dl_signer" => Role::DlSigner,
            "bcsc" => Role::Bcsc,
            _ => Role::Other,
        }
    }

    /// A CA role (CSCA or link).
    pub fn is_ca(self) -> bool {
        matches!(self, Role::Csca | Role::Link)
    }
}

/// True when `cert` is self-signed: same subject and issuer, an AKI (if any) equal to
/// its SKI, and a signature that verifies under its own key.
pub fn is_self_signed(cert: &Certificate) -> bool {
    if !cert.is_self_issued() {
        return false;
    }
    if let (Some(aki), Some(ski)) = (&cert.aki, &cert.ski)
        && aki != ski
    {
        return false;
    }
    cert.public_key().is_ok_and(|k| cert.verify_signature(&k).is_ok())
}

/// The role of a certificate from its content (Doc 9303 Part 12 §7.1).
pub fn classify(cert: &Certificate) -> Role {
    use crate::asn1::oid as cms_oid;
    if cert
        .extended_key_usage
        .contains(&cms_oid::ICAO_CSCA_MASTER_LIST_SIGNING_KEY)
    {
        return Role::MlSigner;
    }
    if cert
        .extended_key_usage
        .contains(&cms_oid::ICAO_DEVIATION_LIST_SIGNING_KEY)
    {
        return Role::DlSigner;
    }
    let ca = cert.is_ca() || cert.key_usage.is_some_and(|k| k.has(KeyUsage::KEY_CERT_SIGN));
    if ca {
        if is_self_signed(cert) {
            return Role::Csca;
        }
        return if cert.issuer.country() == cert.subject.country() {
            Role::Link
        } else {
            Role::Other
        };
    }
    Role::Dsc
}

/// Why a certificate is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustKind {
    /// A self-signed CSCA the user imported directly as a certificate file: an anchor.
    Direct,
    /// A self-signed CSCA named with `pkd import --anchor`: an anchor.
    Anchor,
    /// A self-signed CSCA of a master list whose signer verified under a trusted CA.
    MasterList,
    /// A CA certificate verified under a trusted CA certificate (`verified_by`).
    Link,
    /// From a list imported with `--trust-unsigned` (the user's explicit act).
    Unsigned,
}

impl TrustKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustKind::Direct => "direct",
            TrustKind::Anchor => "anchor",
            TrustKind::MasterList => "master_list",
            TrustKind::Link => "link",
            TrustKind::Unsigned => "unsigned",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<TrustKind> {
        Some(match s {
            "direct" => TrustKind::Direct,
            "anchor" => TrustKind::Anchor,
            "master_list" => TrustKind::MasterList,
            "link" => TrustKind::Link,
            "unsigned" => TrustKind::Unsigned,
            _ => return None,
        })
    }

    /// An anchor: trusted by the user's own act, not derived from anything.
    pub fn is_root(self) -> bool {
        matches!(self, TrustKind::Direct | TrustKind::Anchor | TrustKind::Unsigned)
    }
}

/// The role of a certificate that comes on its own (a certificate file or an LDIF
/// entry) rather than inside a country's signed master list. Self-signed certificates
/// are classified as by [`classify`]. A certificate that is not self-signed is a link
/// only with the Doc 9303 Part 12 CA profile: basicConstraints cA = TRUE and keyCertSign,
/// and nothing of a document signer (no digitalSignature, no documentTypeList). A DSC
/// that also claims CA:TRUE or keyCertSign stays a DSC: it never acts as a CSCA and
/// nothing chains through it.
pub fn classify_standalone(cert: &Certificate) -> Role {
    let role = classify(cert);
    if role != Role::Link {
        return role;
    }
    let ku = cert.key_usage;
    let ca_profile = cert.is_ca()
        && ku.is_some_and(|k| k.has(KeyUsage::KEY_CERT_SIGN) && !k.has(KeyUsage::DIGITAL_SIGNATURE))
        && cert.document_types.is_none();
    if ca_profile { Role::Link } else { Role::Dsc }
}

/// Why [`classify`] did not make a certificate a CA, in words (import reports).
pub fn not_ca_reason(cert: &Certificate) -> String {
    let ca = cert.is_ca() || cert.key_usage.is_some_and(|k| k.has(KeyUsage::KEY_CERT_SIGN));
    if ca && !is_self_signed(cert) && cert.issuer.country() != cert.subject.country() {
        return format!(
            "a cross-country CA certificate (issuer country {}, subject country {}): a CSCA certifies only its own state's CSCA keys (link certificates, Doc 9303 Part 12 §5), so it is never a trust anchor",
            cert.issuer.country().unwrap_or_else(|| "none".into()),
            cert.subject.country().unwrap_or_else(|| "none".into())
        );
    }
    if !ca {
        return "not a CA certificate (neither basicConstraints cA nor keyCertSign)".into();
    }
    "a CA certificate with a document signer's profile (digitalSignature or documentTypeList): treated as a DSC".into()
}

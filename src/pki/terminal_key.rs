//! The terminal's private key for Terminal Authentication, from a PKCS#8 file (DER or
//! PEM). The PKCS#11 form (`--eac-key pkcs11:…`) is not implemented yet.

use openssl::pkey::{PKey, Private};
use zeroize::Zeroizing;

use super::cvc::{CvCertificate, TaAlgorithm};
use super::signature;
use crate::access::ta::{TaCertificate, TerminalSigner};

/// A terminal private key with the algorithm of its certificate.
pub struct TerminalKey {
    key: PKey<Private>,
    alg: TaAlgorithm,
}

impl std::fmt::Debug for TerminalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl TerminalKey {
    /// A PKCS#8 key (DER, or PEM `PRIVATE KEY`) used with `alg` (the id-TA algorithm of
    /// the terminal certificate).
    pub fn from_pkcs8(bytes: &[u8], alg: TaAlgorithm) -> Result<Self, String> {
        let key = if bytes.starts_with(b"-----") {
            PKey::private_key_from_pem(bytes)
        } else {
            PKey::private_key_from_pkcs8(bytes)
        }
        .map_err(|e| format!("not a PKCS#8 private key: {e}"))?;
        let ec = matches!(key.id(), openssl::pkey::Id::EC);
        if ec != alg.is_ec() {
            return Err(format!(
                "the key is {} but the terminal certificate's algorithm is {}",
                if ec { "EC" } else { "not EC" },
                alg.name()
            ));
        }
        Ok(TerminalKey { key, alg })
    }

    /// Read a PKCS#8 file.
    pub fn from_file(path: &std::path::Path, alg: TaAlgorithm) -> Result<Self, String> {
        let bytes =
            Zeroizing::new(std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?);
        Self::from_pkcs8(&bytes, alg).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The algorithm.
    pub fn algorithm(&self) -> TaAlgorithm {
        self.alg
    }
}

impl TerminalSigner for TerminalKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        signature::sign(&self.alg.signature_algorithm(), &self.key, message).map_err(|e| e.to_string())
    }
}

/// A CV certificate as Terminal Authentication sends it.
pub fn ta_certificate(c: &CvCertificate) -> TaCertificate {
    TaCertificate {
        car: c.car().to_owned(),
        chr: c.chr().to_owned(),
        body: c.body_der().to_vec(),
        signature: c.signature.clone(),
    }
}

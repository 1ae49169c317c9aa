//! Terminal Authentication credentials of the reader: CV certificates from files and
//! directories (`--eac-chain FILE|DIR…`) or from the trust store, and the choice of the
//! chain that fits the CVCA the chip names (EF.CVCA, TerminalAuthenticationInfo).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use super::cvc::{Chat, CvCertificate, Role, TaAlgorithm, candidate_chains, verify_chain};
use super::terminal_key::TerminalKey;
use super::terminal_pkcs11::{Pkcs11Key, Pkcs11Uri};
use crate::access::ta::TerminalSigner;

/// Where the terminal's private key is (`--eac-key FILE|pkcs11:URI`).
#[derive(Clone)]
pub enum TerminalKeySpec {
    /// A PKCS#8 key (DER or PEM), read from its file once.
    Pkcs8 {
        /// The file it came from (for messages).
        path: PathBuf,
        /// Its bytes.
        bytes: Arc<Zeroizing<Vec<u8>>>,
    },
    /// A key in a PKCS#11 token, opened for each Terminal Authentication.
    Pkcs11(Pkcs11Uri),
}

impl std::fmt::Debug for TerminalKeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TerminalKeySpec::Pkcs8 { path, .. } => f.debug_struct("Pkcs8").field("path", path).finish(),
            TerminalKeySpec::Pkcs11(u) => f.debug_tuple("Pkcs11").field(u).finish(),
        }
    }
}

impl TerminalKeySpec {
    /// `pkcs11:…` is a PKCS#11 URI, anything else a PKCS#8 file (checked to parse).
    pub fn parse(arg: &str) -> Result<Self, String> {
        if arg.starts_with("pkcs11:") {
            return Pkcs11Uri::parse(arg).map(TerminalKeySpec::Pkcs11);
        }
        let path = PathBuf::from(arg);
        let meta = std::fs::metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if meta.len() > 64 * 1024 {
            return Err(format!("{}: too large for a private key", path.display()));
        }
        let bytes =
            Zeroizing::new(std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?);
        // the key must at least parse now; its algorithm is matched to the terminal
        // certificate when a chain is chosen
        let parsed = if bytes.starts_with(b"-----") {
            openssl::pkey::PKey::private_key_from_pem(&bytes)
        } else {
            openssl::pkey::PKey::private_key_from_pkcs8(&bytes)
        };
        parsed.map_err(|e| format!("{}: not a PKCS#8 private key: {e}", path.display()))?;
        Ok(TerminalKeySpec::Pkcs8 {
            path,
            bytes: Arc::new(bytes),
        })
    }

    /// The signer for a terminal certificate's algorithm (a PKCS#11 token is opened and
    /// logged into here).
    pub fn signer(&self, alg: TaAlgorithm) -> Result<Box<dyn TerminalSigner>, String> {
        match self {
            TerminalKeySpec::Pkcs8 { path, bytes } => TerminalKey::from_pkcs8(bytes, alg)
                .map(|k| Box::new(k) as Box<dyn TerminalSigner>)
                .map_err(|e| format!("{}: {e}", path.display())),
            TerminalKeySpec::Pkcs11(uri) => {
                Pkcs11Key::open(uri, alg).map(|k| Box::new(k) as Box<dyn TerminalSigner>)
            }
        }
    }
}

/// Terminal Authentication credentials: CV certificates (CVCAs, links, DVs, terminals;
/// the chain is chosen per chip) and the terminal's private key.
#[derive(Debug, Clone)]
pub struct EacCredentials {
    /// Every certificate at hand.
    pub certificates: Vec<CvCertificate>,
    /// The private key of the terminal certificate(s).
    pub key: TerminalKeySpec,
    /// The rights to request in PACE's CHAT (`7F4C` in MSE:Set AT) for EAC version 2;
    /// `None`: those of the inspection-system certificates at hand. The chip grants at
    /// most the AND of this CHAT and the certificate chain's.
    pub pace_chat: Option<Chat>,
}

impl EacCredentials {
    /// `--eac-chain FILE|DIR…` and `--eac-key FILE|pkcs11:URI`.
    pub fn load(chain: &[PathBuf], key: &str) -> Result<Self, String> {
        let certificates = load_certificates(chain)?;
        let key = TerminalKeySpec::parse(key)?;
        Ok(EacCredentials {
            certificates,
            key,
            pace_chat: None,
        })
    }

    /// Add certificates (e.g. the trust store's `pkd import`ed CV certificates), skipping
    /// ones already present.
    pub fn add_certificates(&mut self, more: Vec<CvCertificate>) {
        for c in more {
            if !self.certificates.iter().any(|x| x.der() == c.der()) {
                self.certificates.push(c);
            }
        }
    }

    /// The CHAT to send in PACE for EAC version 2: [`EacCredentials::pace_chat`], else an
    /// id-IS CHAT with the DG3/DG4 rights of any inspection-system certificate at hand.
    pub fn pace_chat_request(&self) -> Chat {
        if let Some(c) = &self.pace_chat {
            return c.clone();
        }
        let terminals = || {
            self.certificates
                .iter()
                .filter(|c| c.role() == Role::Terminal)
                .map(|c| &c.body.chat)
        };
        Chat::inspection_system(
            Role::Terminal,
            terminals().any(Chat::reads_dg3),
            terminals().any(Chat::reads_dg4),
        )
    }

    /// Whether any terminal certificate is at hand.
    pub fn has_terminal(&self) -> bool {
        self.certificates.iter().any(|c| c.role() == Role::Terminal)
    }
}

/// Read every CV certificate of the given files and directories (a directory's files
/// that start with `7F21`; other files are skipped). A named file that is not a CV
/// certificate is an error.
pub fn load_certificates(paths: &[PathBuf]) -> Result<Vec<CvCertificate>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|e| e.is_file())
                .collect();
            entries.sort();
            for e in entries {
                let bytes = read_small(&e)?;
                if bytes.starts_with(&[0x7F, 0x21]) {
                    out.push(
                        CvCertificate::from_der(&bytes).map_err(|err| format!("{}: {err}", e.display()))?,
                    );
                }
            }
        } else {
            let bytes = read_small(p)?;
            out.push(CvCertificate::from_der(&bytes).map_err(|err| format!("{}: {err}", p.display()))?);
        }
    }
    Ok(out)
}

fn read_small(p: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    if meta.len() > 64 * 1024 {
        return Err(format!("{}: too large for a CV certificate", p.display()));
    }
    std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// The chain to present: for the first CVCA reference the chip names that leads to a
/// terminal certificate, the certificates below it in order (link CVCAs, DV, terminal).
/// When the CVCA certificate itself is among `certs`, the chain is verified against it
/// (signatures, roles, and dates on `date` when given); a chain that does not verify is
/// skipped.
pub fn select_chain<'a>(
    certs: &'a [CvCertificate],
    chip_cvca_refs: &[String],
    date: Option<super::cvc::CvDate>,
) -> Option<(String, Vec<&'a CvCertificate>)> {
    let terminals: Vec<&CvCertificate> = certs.iter().filter(|c| c.role() == Role::Terminal).collect();
    for anchor in chip_cvca_refs {
        let cvcas: Vec<&CvCertificate> = certs
            .iter()
            .filter(|c| c.chr() == anchor && c.is_self_signed())
            .collect();
        for t in &terminals {
            for chain in candidate_chains(certs, anchor, t) {
                if !cvcas.is_empty() {
                    let owned: Vec<CvCertificate> = chain.iter().map(|c| (*c).clone()).collect();
                    if !cvcas.iter().any(|cvca| verify_chain(cvca, &owned, date).is_ok()) {
                        continue;
                    }
                }
                return Some((anchor.clone(), chain));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-vectors/protocol/bsi_eac_worked_example")
    }

    #[test]
    fn chain_is_chosen_by_the_chips_cvca() {
        let certs = load_certificates(&[dir()]).unwrap();
        assert_eq!(certs.len(), 6);
        // the chip names the DH CVCA
        let (anchor, chain) = select_chain(&certs, &["DETESTCVCA00003".into()], None).unwrap();
        assert_eq!(anchor, "DETESTCVCA00003");
        assert_eq!(
            chain.iter().map(|c| c.chr()).collect::<Vec<_>>(),
            ["DETESTDVDE019", "DETESTATDE019"]
        );
        assert_eq!(chain[0].car(), "DETESTCVCA00003");
        // the first reference is unknown, the second is the ECDH CVCA
        let (anchor, chain) =
            select_chain(&certs, &["XXCVCA00001".into(), "DECVCAAT00001".into()], None).unwrap();
        assert_eq!(anchor, "DECVCAAT00001");
        assert_eq!(chain[0].car(), "DECVCAAT00001");
        // a chip trusting only an unknown CVCA gets no chain
        assert!(select_chain(&certs, &["XXCVCA00001".into()], None).is_none());
        // dates: the ECDH chain is not valid in 2012
        let late = super::super::cvc::CvDate {
            year: 2012,
            month: 1,
            day: 1,
        };
        assert!(select_chain(&certs, &["DECVCAAT00001".into()], Some(late)).is_none());
        // a file that is not a CV certificate is an error when named
        assert!(load_certificates(&[dir().join("dh_ef_cardaccess.bin")]).is_err());
    }
}

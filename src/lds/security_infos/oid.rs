//! Object identifiers of the SecurityInfos (Doc 9303 Part 11 §9.2 and BSI TR-03110-3
//! Appendix A.1.1), with their names and the PACE protocol OID structure
//! `id-PACE.{mapping}.{cipher}` (Doc 9303 Part 11 §9.2.1, §4.4).

pub use crate::asn1::Oid;

/// `bsi-de` 0.4.0.127.0.7.
pub const BSI_DE: Oid = Oid::new_unwrap("0.4.0.127.0.7");
/// `id-PK` 0.4.0.127.0.7.2.2.1: chip authentication public keys.
pub const ID_PK: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.1");
/// `id-PK-DH`.
pub const ID_PK_DH: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.1.1");
/// `id-PK-ECDH`.
pub const ID_PK_ECDH: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.1.2");
/// `id-TA` 0.4.0.127.0.7.2.2.2: Terminal Authentication.
pub const ID_TA: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.2");
/// `id-CA` 0.4.0.127.0.7.2.2.3: Chip Authentication.
pub const ID_CA: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.3");
/// `id-CA-DH`.
pub const ID_CA_DH: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.3.1");
/// `id-CA-ECDH`.
pub const ID_CA_ECDH: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.3.2");
/// `id-PACE` 0.4.0.127.0.7.2.2.4.
pub const ID_PACE: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.4");
/// `id-RI` 0.4.0.127.0.7.2.2.5: Restricted Identification (kept as an unknown info).
pub const ID_RI: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.5");
/// `id-CI` 0.4.0.127.0.7.2.2.6: CardInfoLocator.
pub const ID_CI: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.6");
/// `id-eIDSecurity` 0.4.0.127.0.7.2.2.7.
pub const ID_EID_SECURITY: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.7");
/// `id-PT` 0.4.0.127.0.7.2.2.8: PrivilegedTerminalInfo.
pub const ID_PT: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.8");
/// `id-PS` 0.4.0.127.0.7.2.2.11: Pseudonymous Signatures (kept as an unknown info).
pub const ID_PS: Oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.11");
/// `standardizedDomainParameters` 0.4.0.127.0.7.1.2 (BSI TR-03110-3 A.2.1.1).
pub const STANDARDIZED_DOMAIN_PARAMETERS: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.2");
/// `id-ecc` 0.4.0.127.0.7.1.1 (BSI TR-03111).
pub const ID_ECC: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1");
/// `ecdsa-plain-signatures` 0.4.0.127.0.7.1.1.4.1 (BSI TR-03111).
pub const ECDSA_PLAIN_SIGNATURES: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1");
/// `id-icao-mrtd-security` 2.23.136.1.1.
pub const ID_ICAO_MRTD_SECURITY: Oid = Oid::new_unwrap("2.23.136.1.1");
/// `id-AA` 2.23.136.1.1.5: ActiveAuthenticationInfo.
pub const ID_AA: Oid = Oid::new_unwrap("2.23.136.1.1.5");
/// `id-EFDIR` 2.23.136.1.1.13: EFDIRInfo.
pub const ID_EFDIR: Oid = Oid::new_unwrap("2.23.136.1.1.13");
/// `id-SecurityObject` 0.4.0.127.0.7.3.2.1: eContentType of EF.CardSecurity.
pub const ID_SECURITY_OBJECT: Oid = Oid::new_unwrap("0.4.0.127.0.7.3.2.1");
/// `id-signedData` 1.2.840.113549.1.7.2.
pub const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// `id-ecPublicKey` 1.2.840.10045.2.1 (X9.62).
pub const ID_EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// `prime-field` 1.2.840.10045.1.1 (X9.62).
pub const PRIME_FIELD: Oid = Oid::new_unwrap("1.2.840.10045.1.1");
/// `dhpublicnumber` 1.2.840.10046.2.1 (X9.42 DomainParameters p, g, q).
pub const DH_PUBLIC_NUMBER: Oid = Oid::new_unwrap("1.2.840.10046.2.1");
/// `dhKeyAgreement` 1.2.840.113549.1.3.1 (PKCS #3 DHParameter p, g).
pub const DH_KEY_AGREEMENT: Oid = Oid::new_unwrap("1.2.840.113549.1.3.1");

/// The mapping of a PACE protocol (the arc after `id-PACE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaceMapping {
    /// `id-PACE-DH-GM` (.1): Diffie-Hellman, Generic Mapping.
    DhGm,
    /// `id-PACE-ECDH-GM` (.2): elliptic curve Diffie-Hellman, Generic Mapping.
    EcdhGm,
    /// `id-PACE-DH-IM` (.3): Diffie-Hellman, Integrated Mapping.
    DhIm,
    /// `id-PACE-ECDH-IM` (.4): elliptic curve Diffie-Hellman, Integrated Mapping.
    EcdhIm,
    /// `id-PACE-ECDH-CAM` (.6): Generic Mapping with Chip Authentication Mapping.
    EcdhCam,
}

impl PaceMapping {
    /// Every mapping Doc 9303 / BSI TR-03110-3 defines.
    pub const ALL: [PaceMapping; 5] = [
        PaceMapping::DhGm,
        PaceMapping::EcdhGm,
        PaceMapping::DhIm,
        PaceMapping::EcdhIm,
        PaceMapping::EcdhCam,
    ];

    /// The mapping of a short name ([`PaceMapping::name`]), in any case.
    pub fn from_name(name: &str) -> Option<Self> {
        PaceMapping::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The arc after `id-PACE`.
    pub fn arc(self) -> u32 {
        match self {
            PaceMapping::DhGm => 1,
            PaceMapping::EcdhGm => 2,
            PaceMapping::DhIm => 3,
            PaceMapping::EcdhIm => 4,
            PaceMapping::EcdhCam => 6,
        }
    }

    /// From the arc after `id-PACE`.
    pub fn from_arc(arc: u32) -> Option<Self> {
        Some(match arc {
            1 => PaceMapping::DhGm,
            2 => PaceMapping::EcdhGm,
            3 => PaceMapping::DhIm,
            4 => PaceMapping::EcdhIm,
            6 => PaceMapping::EcdhCam,
            _ => return None,
        })
    }

    /// True for the elliptic-curve variants.
    pub fn is_ec(self) -> bool {
        matches!(
            self,
            PaceMapping::EcdhGm | PaceMapping::EcdhIm | PaceMapping::EcdhCam
        )
    }

    /// True for the generic mappings (CAM included: its mapping is generic).
    pub fn is_generic(self) -> bool {
        matches!(
            self,
            PaceMapping::DhGm | PaceMapping::EcdhGm | PaceMapping::EcdhCam
        )
    }

    /// Short name: "DH-GM", "ECDH-GM", "DH-IM", "ECDH-IM", "ECDH-CAM".
    pub fn name(self) -> &'static str {
        match self {
            PaceMapping::DhGm => "DH-GM",
            PaceMapping::EcdhGm => "ECDH-GM",
            PaceMapping::DhIm => "DH-IM",
            PaceMapping::EcdhIm => "ECDH-IM",
            PaceMapping::EcdhCam => "ECDH-CAM",
        }
    }

    /// The `id-PACE-*` domain-parameter OID of this mapping (used by PACEDomainParameterInfo).
    pub fn oid(self) -> Oid {
        child(ID_PACE, self.arc())
    }
}

/// The symmetric suite named by the last arc of a PACE or CA protocol OID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CipherSuite {
    /// `.1` 3DES-CBC-CBC (retail MAC), SHA-1 KDF.
    Tdes,
    /// `.2` AES-CBC-CMAC-128, SHA-1 KDF.
    Aes128,
    /// `.3` AES-CBC-CMAC-192, SHA-256 KDF.
    Aes192,
    /// `.4` AES-CBC-CMAC-256, SHA-256 KDF.
    Aes256,
}

impl CipherSuite {
    /// The last arc of the protocol OID.
    pub fn arc(self) -> u32 {
        match self {
            CipherSuite::Tdes => 1,
            CipherSuite::Aes128 => 2,
            CipherSuite::Aes192 => 3,
            CipherSuite::Aes256 => 4,
        }
    }

    /// From the last arc of the protocol OID.
    pub fn from_arc(arc: u32) -> Option<Self> {
        Some(match arc {
            1 => CipherSuite::Tdes,
            2 => CipherSuite::Aes128,
            3 => CipherSuite::Aes192,
            4 => CipherSuite::Aes256,
            _ => return None,
        })
    }

    /// The OID-name suffix ("3DES-CBC-CBC", "AES-CBC-CMAC-128", ...).
    pub fn oid_suffix(self) -> &'static str {
        match self {
            CipherSuite::Tdes => "3DES-CBC-CBC",
            CipherSuite::Aes128 => "AES-CBC-CMAC-128",
            CipherSuite::Aes192 => "AES-CBC-CMAC-192",
            CipherSuite::Aes256 => "AES-CBC-CMAC-256",
        }
    }
}

/// A PACE protocol OID taken apart: `id-PACE.{mapping}.{cipher}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaceProtocol {
    /// The mapping.
    pub mapping: PaceMapping,
    /// The symmetric suite.
    pub cipher: CipherSuite,
}

impl PaceProtocol {
    /// Parse a PACE protocol OID (`None` for anything else, including unknown arcs and
    /// `id-PACE-ECDH-CAM-3DES`, which Doc 9303 does not define).
    pub fn from_oid(oid: &Oid) -> Option<Self> {
        let (parent, cipher_arc) = split_last(oid)?;
        let (grand, mapping_arc) = split_last(&parent)?;
        if grand != ID_PACE {
            return None;
        }
        let mapping = PaceMapping::from_arc(mapping_arc)?;
        let cipher = CipherSuite::from_arc(cipher_arc)?;
        if mapping == PaceMapping::EcdhCam && cipher == CipherSuite::Tdes {
            return None;
        }
        Some(PaceProtocol { mapping, cipher })
    }

    /// The protocol OID.
    pub fn oid(self) -> Oid {
        child(self.mapping.oid(), self.cipher.arc())
    }

    /// The Doc 9303 name, e.g. "id-PACE-ECDH-GM-AES-CBC-CMAC-128".
    pub fn name(self) -> String {
        format!("id-PACE-{}-{}", self.mapping.name(), self.cipher.oid_suffix())
    }
}

/// A Chip Authentication protocol OID taken apart: `id-CA.{DH|ECDH}.{cipher}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaProtocol {
    /// True for `id-CA-ECDH-*`, false for `id-CA-DH-*`.
    pub ecdh: bool,
    /// The symmetric suite.
    pub cipher: CipherSuite,
}

impl CaProtocol {
    /// Parse a Chip Authentication protocol OID.
    pub fn from_oid(oid: &Oid) -> Option<Self> {
        let (parent, cipher_arc) = split_last(oid)?;
        let ecdh = if parent == ID_CA_ECDH {
            true
        } else if parent == ID_CA_DH {
            false
        } else {
            return None;
        };
        Some(CaProtocol {
            ecdh,
            cipher: CipherSuite::from_arc(cipher_arc)?,
        })
    }

    /// The protocol OID.
    pub fn oid(self) -> Oid {
        child(if self.ecdh { ID_CA_ECDH } else { ID_CA_DH }, self.cipher.arc())
    }
}

/// `parent.arc`; returns `parent` if the arc cannot be appended (never for the arcs used here).
pub fn child(parent: Oid, arc: u32) -> Oid {
    parent.push_arc(arc).unwrap_or(parent)
}

/// Split the last arc off.
pub fn split_last(oid: &Oid) -> Option<(Oid, u32)> {
    let last = oid.arcs().last()?;
    Some((oid.parent()?, last))
}

/// The name of a known OID, for display ("id-PACE-ECDH-GM-AES-CBC-CMAC-128", "id-PK-ECDH").
pub fn oid_name(oid: &Oid) -> Option<String> {
    if let Some(p) = PaceProtocol::from_oid(oid) {
        return Some(p.name());
    }
    if let Some(c) = CaProtocol::from_oid(oid) {
        let ka = if c.ecdh { "ECDH" } else { "DH" };
        return Some(format!("id-CA-{ka}-{}", c.cipher.oid_suffix()));
    }
    if let Some((parent, arc)) = split_last(oid)
        && parent == ID_PACE
        && let Some(m) = PaceMapping::from_arc(arc)
    {
        return Some(format!("id-PACE-{}", m.name()));
    }
    if let Some((parent, arc)) = split_last(oid)
        && parent == ECDSA_PLAIN_SIGNATURES
    {
        let hash = match arc {
            1 => "SHA1",
            2 => "SHA224",
            3 => "SHA256",
            4 => "SHA384",
            5 => "SHA512",
            6 => "RIPEMD160",
            _ => return None,
        };
        return Some(format!("ecdsa-plain-{hash}"));
    }
    let fixed: &[(Oid, &str)] = &[
        (ID_PK_DH, "id-PK-DH"),
        (ID_PK_ECDH, "id-PK-ECDH"),
        (ID_TA, "id-TA"),
        (ID_CA_DH, "id-CA-DH"),
        (ID_CA_ECDH, "id-CA-ECDH"),
        (ID_PACE, "id-PACE"),
        (ID_RI, "id-RI"),
        (ID_CI, "id-CI"),
        (ID_EID_SECURITY, "id-eIDSecurity"),
        (ID_PT, "id-PT"),
        (ID_PS, "id-PS"),
        (ID_AA, "id-AA"),
        (ID_EFDIR, "id-EFDIR"),
        (STANDARDIZED_DOMAIN_PARAMETERS, "standardizedDomainParameters"),
        (ID_SECURITY_OBJECT, "id-SecurityObject"),
        (ID_EC_PUBLIC_KEY, "id-ecPublicKey"),
        (DH_PUBLIC_NUMBER, "dhpublicnumber"),
        (DH_KEY_AGREEMENT, "dhKeyAgreement"),
    ];
    fixed
        .iter()
        .find(|(o, _)| o == oid)
        .map(|(_, n)| (*n).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_oids_from_doc9303() {
        let gm = Oid::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");
        let p = PaceProtocol::from_oid(&gm).unwrap();
        assert_eq!(p.mapping, PaceMapping::EcdhGm);
        assert_eq!(p.cipher, CipherSuite::Aes128);
        assert_eq!(p.oid(), gm);
        assert_eq!(p.name(), "id-PACE-ECDH-GM-AES-CBC-CMAC-128");
        // DER value bytes as printed in the worked examples
        assert_eq!(hex::encode_upper(gm.as_bytes()), "04007F00070202040202");
        let cam = PaceProtocol::from_oid(&Oid::new_unwrap("0.4.0.127.0.7.2.2.4.6.4")).unwrap();
        assert_eq!(cam.mapping, PaceMapping::EcdhCam);
        assert_eq!(cam.cipher, CipherSuite::Aes256);
        assert!(PaceProtocol::from_oid(&Oid::new_unwrap("0.4.0.127.0.7.2.2.4.6.1")).is_none());
        assert!(PaceProtocol::from_oid(&Oid::new_unwrap("0.4.0.127.0.7.2.2.4.5.2")).is_none());
        assert!(PaceProtocol::from_oid(&Oid::new_unwrap("0.4.0.127.0.7.2.2.4.2")).is_none());
        assert!(PaceProtocol::from_oid(&Oid::new_unwrap("0.4.0.127.0.7.2.2.3.2.2")).is_none());
    }

    #[test]
    fn every_pace_oid_roundtrips() {
        for m in [1u32, 2, 3, 4, 6] {
            for c in 1u32..=4 {
                let oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.4")
                    .push_arc(m)
                    .unwrap()
                    .push_arc(c)
                    .unwrap();
                match PaceProtocol::from_oid(&oid) {
                    Some(p) => assert_eq!(p.oid(), oid),
                    None => assert_eq!((m, c), (6, 1)),
                }
            }
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            oid_name(&Oid::new_unwrap("0.4.0.127.0.7.2.2.3.2.1")).as_deref(),
            Some("id-CA-ECDH-3DES-CBC-CBC")
        );
        assert_eq!(oid_name(&ID_PK_ECDH).as_deref(), Some("id-PK-ECDH"));
        assert_eq!(
            oid_name(&Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.3")).as_deref(),
            Some("ecdsa-plain-SHA256")
        );
        assert_eq!(
            oid_name(&Oid::new_unwrap("0.4.0.127.0.7.2.2.4.1")).as_deref(),
            Some("id-PACE-DH-GM")
        );
        assert_eq!(oid_name(&Oid::new_unwrap("1.0.24727.3.0.9")), None);
    }
}

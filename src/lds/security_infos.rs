//! SecurityInfos: EF.CardAccess, EF.CardSecurity and EF.DG14 (Doc 9303 Part 11 §9.2;
//! ASN.1 of BSI TR-03110-3 Appendix A.1).
//!
//! ```text
//! SecurityInfos ::= SET OF SecurityInfo
//! SecurityInfo ::= SEQUENCE {
//!     protocol     OBJECT IDENTIFIER,
//!     requiredData ANY DEFINED BY protocol,
//!     optionalData ANY DEFINED BY protocol OPTIONAL }
//! ```
//!
//! Every known SecurityInfo is decoded into its own type; unknown ones (Restricted
//! Identification, Pseudonymous Signatures, vendor OIDs) and known ones that do not
//! decode are kept as [`UnknownSecurityInfo`] with their bytes. Each info keeps the
//! bytes it was read from (`raw`). Tolerated oddities (bytes after the SET, a status
//! word appended to the file, a malformed info) are reported as
//! [`SecurityInfosWarning`]s. The decoder never panics.
//!
//! The encoder writes what the emulator personalises: [`SecurityInfos::encode`] (the
//! content of EF.CardAccess and the eContent of EF.CardSecurity; DG14 wraps it,
//! [`crate::lds::dg14::Dg14`]). Elements are written in the order given (real
//! documents do not always sort their SET OF; re-sorting would change hashed bytes).

pub mod asn1;
pub mod card_security;
pub mod oid;
pub mod params;
pub mod view;

pub use card_security::CardSecurity;
pub use oid::{CaProtocol, CipherSuite, Oid, PaceMapping, PaceProtocol};
pub use params::{
    AlgorithmIdentifier, DhParameters, DomainParameterSpec, EcExplicitParameters, SubjectPublicKeyInfo,
};

use thiserror::Error;

use crate::tlv::{self, Tlv, TlvError};

use asn1::Reason;

/// A SecurityInfos structure that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SecurityInfosError {
    /// The bytes are not a TLV.
    #[error("malformed SecurityInfos")]
    Tlv(#[source] TlvError),
    /// The outer element is not the expected one (SET for SecurityInfos, 6E for DG14).
    #[error("expected tag {expected:X}, found {found:X}")]
    UnexpectedTag {
        /// Tag wanted.
        expected: u32,
        /// Tag present.
        found: u32,
    },
    /// An element of the SET is not a TLV.
    #[error("malformed SecurityInfo at offset {offset} of the SET")]
    Element {
        /// Offset inside the SET's value.
        offset: usize,
        /// The TLV error.
        #[source]
        source: TlvError,
    },
    /// EF.CardSecurity's CMS structure does not decode (the one CMS walker,
    /// [`crate::cms::SignedData::parse`], says why).
    #[error("EF.CardSecurity is not a valid CMS SignedData")]
    CardSecurityCms(#[source] card_security::CmsCause),
    /// EF.CardSecurity is not a CMS SignedData or has no eContent.
    #[error("EF.CardSecurity: {what}")]
    CardSecurity {
        /// What is missing or wrong.
        what: &'static str,
    },
    /// PrivilegedTerminalInfo nested inside PrivilegedTerminalInfo.
    #[error("nested PrivilegedTerminalInfo")]
    Nested,
}

/// A quirk tolerated while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityInfosWarning {
    /// Non-zero bytes after the SET (e.g. a status word `62 82` read with the file).
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// Zero bytes after the SET (file padded to its allocated size).
    ZeroPadding {
        /// How many.
        count: usize,
    },
    /// A SecurityInfo with a known protocol OID whose content does not decode; kept raw.
    MalformedInfo {
        /// Position in the SET.
        index: usize,
        /// Its protocol OID.
        protocol: Option<Oid>,
        /// What is wrong.
        reason: Reason,
    },
    /// A known SecurityInfo with more elements than its definition; the extra ones are ignored.
    ExtraElements {
        /// Position in the SET.
        index: usize,
        /// Its protocol OID.
        protocol: Oid,
    },
}

impl std::fmt::Display for SecurityInfosWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecurityInfosWarning::TrailingBytes { count } => {
                write!(f, "{count} byte(s) after the SecurityInfos SET")
            }
            SecurityInfosWarning::ZeroPadding { count } => {
                write!(f, "{count} zero byte(s) of padding after the SecurityInfos SET")
            }
            SecurityInfosWarning::MalformedInfo {
                index,
                protocol,
                reason,
            } => match protocol {
                Some(p) => write!(f, "SecurityInfo #{index} ({p}) kept raw: {reason}"),
                None => write!(f, "SecurityInfo #{index} kept raw: {reason}"),
            },
            SecurityInfosWarning::ExtraElements { index, protocol } => {
                write!(
                    f,
                    "SecurityInfo #{index} ({protocol}) has extra elements (ignored)"
                )
            }
        }
    }
}

/// The decoded SET OF SecurityInfo.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityInfos {
    /// The infos, in the order read.
    pub infos: Vec<SecurityInfo>,
    /// The SET exactly as read (without trailing bytes).
    pub raw: Vec<u8>,
    /// Tolerated quirks.
    pub warnings: Vec<SecurityInfosWarning>,
}

/// Defines [`SecurityInfo`] from its known variants (plus `Unknown`), each known type's
/// [`Kind`] and [`KnownInfo`], and the one dispatch [`SecurityInfo::known`].
macro_rules! security_info {
    ($($(#[$doc:meta])* $variant:ident($ty:ident),)*) => {
        /// One SecurityInfo.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum SecurityInfo {
            $($(#[$doc])* $variant($ty),)*
            /// Anything else, kept raw.
            Unknown(UnknownSecurityInfo),
        }

        $(impl Kind for $ty {
            fn of(info: &SecurityInfo) -> Option<&Self> {
                match info {
                    SecurityInfo::$variant(i) => Some(i),
                    _ => None,
                }
            }
        }

        impl KnownInfo for $ty {
            fn protocol(&self) -> Oid {
                self.protocol
            }
            fn raw(&self) -> &[u8] {
                &self.raw
            }
            fn encode(&self) -> Vec<u8> {
                $ty::encode(self)
            }
        })*

        impl SecurityInfo {
            /// The info as a known one, or the unknown one kept raw.
            fn known(&self) -> Result<&dyn KnownInfo, &UnknownSecurityInfo> {
                match self {
                    $(SecurityInfo::$variant(i) => Ok(i),)*
                    SecurityInfo::Unknown(u) => Err(u),
                }
            }
        }
    };
}

/// A type held by one [`SecurityInfo`] variant, so the accessors of [`SecurityInfos`]
/// can pick the infos of one kind.
trait Kind {
    fn of(info: &SecurityInfo) -> Option<&Self>;
}

impl Kind for UnknownSecurityInfo {
    fn of(info: &SecurityInfo) -> Option<&Self> {
        info.known().err()
    }
}

/// What every decoded (known) SecurityInfo has.
trait KnownInfo {
    fn protocol(&self) -> Oid;
    fn raw(&self) -> &[u8];
    fn encode(&self) -> Vec<u8>;
}

security_info! {
    /// PACEInfo.
    Pace(PaceInfo),
    /// PACEDomainParameterInfo.
    PaceDomainParameter(PaceDomainParameterInfo),
    /// ChipAuthenticationInfo.
    ChipAuthentication(ChipAuthenticationInfo),
    /// ChipAuthenticationDomainParameterInfo.
    ChipAuthenticationDomainParameter(ChipAuthenticationDomainParameterInfo),
    /// ChipAuthenticationPublicKeyInfo.
    ChipAuthenticationPublicKey(ChipAuthenticationPublicKeyInfo),
    /// TerminalAuthenticationInfo.
    TerminalAuthentication(TerminalAuthenticationInfo),
    /// ActiveAuthenticationInfo.
    ActiveAuthentication(ActiveAuthenticationInfo),
    /// EFDIRInfo.
    EfDir(EfDirInfo),
    /// CardInfoLocator.
    CardInfoLocator(CardInfoLocator),
    /// PrivilegedTerminalInfo.
    PrivilegedTerminal(PrivilegedTerminalInfo),
}

/// `PACEInfo ::= SEQUENCE { protocol, version INTEGER, parameterId INTEGER OPTIONAL }`
/// (Doc 9303 Part 11 §9.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaceInfo {
    /// `id-PACE-*` protocol OID.
    pub protocol: Oid,
    /// Version (2 in Doc 9303).
    pub version: u32,
    /// Standardized domain parameter ID (0..=31) or the ID of a PACEDomainParameterInfo.
    pub parameter_id: Option<u32>,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// `PACEDomainParameterInfo ::= SEQUENCE { protocol, domainParameter AlgorithmIdentifier,
/// parameterId INTEGER OPTIONAL }` (Doc 9303 Part 11 §9.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaceDomainParameterInfo {
    /// `id-PACE-{DH,ECDH}-{GM,IM}` or `id-PACE-ECDH-CAM` (without the cipher arc).
    pub protocol: Oid,
    /// The explicit (or standardized) domain parameters.
    pub domain_parameter: AlgorithmIdentifier,
    /// Identifier referenced by a PACEInfo's parameterId.
    pub parameter_id: Option<u32>,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// `ChipAuthenticationInfo ::= SEQUENCE { protocol, version INTEGER, keyId INTEGER OPTIONAL }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthenticationInfo {
    /// `id-CA-{DH,ECDH}-*`.
    pub protocol: Oid,
    /// Version (1, 2 or 3).
    pub version: u32,
    /// Key identifier.
    pub key_id: Option<u64>,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// `ChipAuthenticationDomainParameterInfo ::= SEQUENCE { protocol, domainParameter
/// AlgorithmIdentifier, keyId INTEGER OPTIONAL }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthenticationDomainParameterInfo {
    /// `id-CA-DH` or `id-CA-ECDH`.
    pub protocol: Oid,
    /// Domain parameters.
    pub domain_parameter: AlgorithmIdentifier,
    /// Key identifier.
    pub key_id: Option<u64>,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// `ChipAuthenticationPublicKeyInfo ::= SEQUENCE { protocol, chipAuthenticationPublicKey
/// SubjectPublicKeyInfo, keyId INTEGER OPTIONAL }` (Doc 9303 Part 11 §9.2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthenticationPublicKeyInfo {
    /// `id-PK-DH` or `id-PK-ECDH`.
    pub protocol: Oid,
    /// The chip's static public key.
    pub public_key: SubjectPublicKeyInfo,
    /// Key identifier.
    pub key_id: Option<u64>,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// `FileID ::= SEQUENCE { fid OCTET STRING (SIZE(2)), sfid OCTET STRING (SIZE(1)) OPTIONAL }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    /// File identifier.
    pub fid: u16,
    /// Short file identifier.
    pub sfid: Option<u8>,
}

/// `TerminalAuthenticationInfo ::= SEQUENCE { protocol id-TA, version INTEGER, efCVCA FileID OPTIONAL }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalAuthenticationInfo {
    /// `id-TA`.
    pub protocol: Oid,
    /// Version (1 or 2).
    pub version: u32,
    /// EF.CVCA location.
    pub ef_cvca: Option<FileId>,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// `ActiveAuthenticationInfo ::= SEQUENCE { protocol id-AA, version INTEGER, signatureAlgorithm
/// OBJECT IDENTIFIER }` (Doc 9303 Part 11 §9.2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveAuthenticationInfo {
    /// `id-AA`.
    pub protocol: Oid,
    /// Version (1).
    pub version: u32,
    /// ECDSA signature algorithm, e.g. ecdsa-plain-SHA256.
    pub signature_algorithm: Oid,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// `EFDIRInfo ::= SEQUENCE { protocol id-EFDIR, eFDIR OCTET STRING }` (Doc 9303 Part 11 §9.2.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfDirInfo {
    /// `id-EFDIR`.
    pub protocol: Oid,
    /// Copy of EF.DIR.
    pub ef_dir: Vec<u8>,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// `CardInfoLocator ::= SEQUENCE { protocol id-CI, url IA5String, efCardInfo FileID OPTIONAL }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfoLocator {
    /// `id-CI`.
    pub protocol: Oid,
    /// URL of the card information.
    pub url: String,
    /// EF.CardInfo location.
    pub ef_card_info: Option<FileId>,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// `PrivilegedTerminalInfo ::= SEQUENCE { protocol id-PT, privilegedTerminalInfos SecurityInfos }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegedTerminalInfo {
    /// `id-PT`.
    pub protocol: Oid,
    /// Infos available to privileged terminals only.
    pub infos: SecurityInfos,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// A SecurityInfo this decoder does not interpret (or could not decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSecurityInfo {
    /// The protocol OID, when the first element is a readable OID.
    pub protocol: Option<Oid>,
    /// Bytes as read.
    pub raw: Vec<u8>,
}

/// A known info built in code (the emulator's), `raw` set to its encoding.
macro_rules! built {
    ($ty:ident { $($field:ident $(: $value:expr)?),* $(,)? }) => {{
        let mut info = $ty { $($field $(: $value)?,)* raw: Vec::new() };
        info.raw = info.encode();
        info
    }};
}

/// `SEQUENCE { protocol, required…, optional OPTIONAL }`, the layout every known
/// SecurityInfo has.
fn encode_info(protocol: &Oid, required: &[Vec<u8>], optional: Option<Vec<u8>>) -> Vec<u8> {
    let mut body = asn1::encode_oid(protocol);
    for part in required.iter().chain(optional.as_ref()) {
        body.extend_from_slice(part);
    }
    tlv::encode(asn1::SEQUENCE, &body)
}

impl PaceInfo {
    /// A PACEInfo (version 2) for the emulator.
    pub fn new(protocol: PaceProtocol, parameter_id: Option<u32>) -> Self {
        built!(PaceInfo {
            protocol: protocol.oid(),
            version: 2,
            parameter_id,
        })
    }

    /// The mapping and cipher named by the protocol OID (`None` when unknown).
    pub fn protocol(&self) -> Option<PaceProtocol> {
        PaceProtocol::from_oid(&self.protocol)
    }

    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(
            &self.protocol,
            &[asn1::encode_uint(u64::from(self.version))],
            self.parameter_id.map(|id| asn1::encode_uint(u64::from(id))),
        )
    }
}

impl PaceDomainParameterInfo {
    /// A PACEDomainParameterInfo for the emulator.
    pub fn new(
        mapping: PaceMapping,
        domain_parameter: AlgorithmIdentifier,
        parameter_id: Option<u32>,
    ) -> Self {
        built!(PaceDomainParameterInfo {
            protocol: mapping.oid(),
            domain_parameter,
            parameter_id,
        })
    }

    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(
            &self.protocol,
            &[self.domain_parameter.to_der()],
            self.parameter_id.map(|id| asn1::encode_uint(u64::from(id))),
        )
    }
}

impl ChipAuthenticationInfo {
    /// A ChipAuthenticationInfo for the emulator.
    pub fn new(protocol: CaProtocol, version: u32, key_id: Option<u64>) -> Self {
        built!(ChipAuthenticationInfo {
            protocol: protocol.oid(),
            version,
            key_id,
        })
    }

    /// The key agreement and cipher named by the protocol OID.
    pub fn protocol(&self) -> Option<CaProtocol> {
        CaProtocol::from_oid(&self.protocol)
    }

    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(
            &self.protocol,
            &[asn1::encode_uint(u64::from(self.version))],
            self.key_id.map(asn1::encode_uint),
        )
    }
}

impl ChipAuthenticationDomainParameterInfo {
    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(
            &self.protocol,
            &[self.domain_parameter.to_der()],
            self.key_id.map(asn1::encode_uint),
        )
    }
}

impl ChipAuthenticationPublicKeyInfo {
    /// A ChipAuthenticationPublicKeyInfo for the emulator (`ecdh` picks id-PK-ECDH or id-PK-DH).
    pub fn new(ecdh: bool, public_key: SubjectPublicKeyInfo, key_id: Option<u64>) -> Self {
        built!(ChipAuthenticationPublicKeyInfo {
            protocol: if ecdh { oid::ID_PK_ECDH } else { oid::ID_PK_DH },
            public_key,
            key_id,
        })
    }

    /// True for `id-PK-ECDH`.
    pub fn is_ecdh(&self) -> bool {
        self.protocol == oid::ID_PK_ECDH
    }

    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(
            &self.protocol,
            &[self.public_key.encode()],
            self.key_id.map(asn1::encode_uint),
        )
    }
}

impl FileId {
    fn decode(t: &Tlv<'_>) -> Result<Self, Reason> {
        if t.tag != asn1::SEQUENCE {
            return Err("FileID is not a SEQUENCE");
        }
        let kids = t.children().read_all().map_err(|_| "malformed FileID")?;
        let fid = asn1::want(kids.first(), asn1::OCTET_STRING, "FileID without fid")?;
        let fid = match fid.value {
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => return Err("FileID fid is not two bytes"),
        };
        let sfid = match kids.get(1) {
            None => None,
            Some(t) if t.tag == asn1::OCTET_STRING => match t.value {
                [s] => Some(*s),
                _ => return Err("FileID sfid is not one byte"),
            },
            Some(_) => return Err("FileID sfid is not an OCTET STRING"),
        };
        Ok(FileId { fid, sfid })
    }

    fn encode(&self) -> Vec<u8> {
        let mut v = tlv::encode(asn1::OCTET_STRING, &self.fid.to_be_bytes());
        if let Some(s) = self.sfid {
            v.extend_from_slice(&tlv::encode(asn1::OCTET_STRING, &[s]));
        }
        tlv::encode(asn1::SEQUENCE, &v)
    }
}

impl TerminalAuthenticationInfo {
    /// A TerminalAuthenticationInfo for the emulator.
    pub fn new(version: u32, ef_cvca: Option<FileId>) -> Self {
        built!(TerminalAuthenticationInfo {
            protocol: oid::ID_TA,
            version,
            ef_cvca,
        })
    }

    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(
            &self.protocol,
            &[asn1::encode_uint(u64::from(self.version))],
            self.ef_cvca.as_ref().map(FileId::encode),
        )
    }
}

impl ActiveAuthenticationInfo {
    /// An ActiveAuthenticationInfo (version 1) for the emulator.
    pub fn new(signature_algorithm: Oid) -> Self {
        built!(ActiveAuthenticationInfo {
            protocol: oid::ID_AA,
            version: 1,
            signature_algorithm,
        })
    }

    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(
            &self.protocol,
            &[
                asn1::encode_uint(u64::from(self.version)),
                asn1::encode_oid(&self.signature_algorithm),
            ],
            None,
        )
    }
}

impl EfDirInfo {
    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(
            &self.protocol,
            &[tlv::encode(asn1::OCTET_STRING, &self.ef_dir)],
            None,
        )
    }
}

impl CardInfoLocator {
    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(
            &self.protocol,
            &[tlv::encode(asn1::IA5_STRING, self.url.as_bytes())],
            self.ef_card_info.as_ref().map(FileId::encode),
        )
    }
}

impl PrivilegedTerminalInfo {
    /// DER encoding from the fields.
    pub fn encode(&self) -> Vec<u8> {
        encode_info(&self.protocol, &[self.infos.encode()], None)
    }
}

impl SecurityInfo {
    /// The protocol OID (when readable).
    pub fn protocol(&self) -> Option<Oid> {
        match self.known() {
            Ok(i) => Some(i.protocol()),
            Err(u) => u.protocol,
        }
    }

    /// The bytes as read (for infos built in code: their encoding).
    pub fn raw(&self) -> &[u8] {
        match self.known() {
            Ok(i) => i.raw(),
            Err(u) => &u.raw,
        }
    }

    /// DER encoding from the fields (unknown infos: their bytes).
    pub fn encode(&self) -> Vec<u8> {
        match self.known() {
            Ok(i) => i.encode(),
            Err(u) => u.raw.clone(),
        }
    }

    /// The display name of the protocol OID, or its dotted form.
    pub fn protocol_name(&self) -> String {
        match self.protocol() {
            Some(o) => oid::oid_name(&o).unwrap_or_else(|| o.to_string()),
            None => "(unreadable OID)".into(),
        }
    }
}

/// Result of decoding one info: the info, and whether it had extra elements.
type Decoded = Result<(SecurityInfo, bool), Reason>;

fn decode_info(t: &Tlv<'_>, protocol: Oid, rest: &[Tlv<'_>], nested: bool) -> Decoded {
    let raw = t.raw.to_vec();
    let int_at = |i: usize, what: Reason| -> Result<u64, Reason> {
        asn1::uint(asn1::want(rest.get(i), asn1::INTEGER, what)?.value)
    };
    let opt_int_at = |i: usize| -> Result<Option<u64>, Reason> {
        match rest.get(i) {
            None => Ok(None),
            Some(t) if t.tag == asn1::INTEGER => asn1::uint(t.value).map(Some),
            Some(_) => Err("optional element is not an INTEGER"),
        }
    };
    let to32 = |v: u64| u32::try_from(v).map_err(|_| "INTEGER too large");
    let extra = |n: usize| rest.len() > n;

    if PaceProtocol::from_oid(&protocol).is_some() {
        let version = to32(int_at(0, "PACEInfo without version")?)?;
        let parameter_id = opt_int_at(1)?.map(to32).transpose()?;
        let info = PaceInfo {
            protocol,
            version,
            parameter_id,
            raw,
        };
        return Ok((SecurityInfo::Pace(info), extra(2)));
    }
    if let Some((parent, arc)) = oid::split_last(&protocol)
        && parent == oid::ID_PACE
        && PaceMapping::from_arc(arc).is_some()
    {
        let alg = AlgorithmIdentifier::decode(
            rest.first()
                .ok_or("PACEDomainParameterInfo without domainParameter")?,
        )?;
        let parameter_id = opt_int_at(1)?.map(to32).transpose()?;
        let info = PaceDomainParameterInfo {
            protocol,
            domain_parameter: alg,
            parameter_id,
            raw,
        };
        return Ok((SecurityInfo::PaceDomainParameter(info), extra(2)));
    }
    if CaProtocol::from_oid(&protocol).is_some() {
        let version = to32(int_at(0, "ChipAuthenticationInfo without version")?)?;
        let key_id = opt_int_at(1)?;
        let info = ChipAuthenticationInfo {
            protocol,
            version,
            key_id,
            raw,
        };
        return Ok((SecurityInfo::ChipAuthentication(info), extra(2)));
    }
    if protocol == oid::ID_CA_DH || protocol == oid::ID_CA_ECDH {
        let alg = AlgorithmIdentifier::decode(
            rest.first()
                .ok_or("ChipAuthenticationDomainParameterInfo without domainParameter")?,
        )?;
        let info = ChipAuthenticationDomainParameterInfo {
            protocol,
            domain_parameter: alg,
            key_id: opt_int_at(1)?,
            raw,
        };
        return Ok((SecurityInfo::ChipAuthenticationDomainParameter(info), extra(2)));
    }
    if protocol == oid::ID_PK_DH || protocol == oid::ID_PK_ECDH {
        let spki = SubjectPublicKeyInfo::decode(
            rest.first()
                .ok_or("ChipAuthenticationPublicKeyInfo without public key")?,
        )?;
        let info = ChipAuthenticationPublicKeyInfo {
            protocol,
            public_key: spki,
            key_id: opt_int_at(1)?,
            raw,
        };
        return Ok((SecurityInfo::ChipAuthenticationPublicKey(info), extra(2)));
    }
    if protocol == oid::ID_TA {
        let version = to32(int_at(0, "TerminalAuthenticationInfo without version")?)?;
        let ef_cvca = rest.get(1).map(FileId::decode).transpose()?;
        let info = TerminalAuthenticationInfo {
            protocol,
            version,
            ef_cvca,
            raw,
        };
        return Ok((SecurityInfo::TerminalAuthentication(info), extra(2)));
    }
    if protocol == oid::ID_AA {
        let version = to32(int_at(0, "ActiveAuthenticationInfo without version")?)?;
        let signature_algorithm = asn1::oid(
            rest.get(1)
                .ok_or("ActiveAuthenticationInfo without signatureAlgorithm")?,
        )?;
        let info = ActiveAuthenticationInfo {
            protocol,
            version,
            signature_algorithm,
            raw,
        };
        return Ok((SecurityInfo::ActiveAuthentication(info), extra(2)));
    }
    if protocol == oid::ID_EFDIR {
        let d = asn1::want(rest.first(), asn1::OCTET_STRING, "EFDIRInfo without eFDIR")?;
        let info = EfDirInfo {
            protocol,
            ef_dir: d.value.to_vec(),
            raw,
        };
        return Ok((SecurityInfo::EfDir(info), extra(1)));
    }
    if protocol == oid::ID_CI {
        let url = asn1::want(rest.first(), asn1::IA5_STRING, "CardInfoLocator without url")?;
        if !url.value.is_ascii() {
            return Err("CardInfoLocator url is not IA5 (ASCII)");
        }
        let url = String::from_utf8_lossy(url.value).into_owned();
        let ef_card_info = rest.get(1).map(FileId::decode).transpose()?;
        let info = CardInfoLocator {
            protocol,
            url,
            ef_card_info,
            raw,
        };
        return Ok((SecurityInfo::CardInfoLocator(info), extra(2)));
    }
    if protocol == oid::ID_PT {
        if nested {
            return Err("nested PrivilegedTerminalInfo");
        }
        let set = rest
            .first()
            .ok_or("PrivilegedTerminalInfo without SecurityInfos")?;
        let infos = SecurityInfos::decode_set(set, true)
            .map_err(|_| "malformed PrivilegedTerminalInfo SecurityInfos")?;
        let info = PrivilegedTerminalInfo { protocol, infos, raw };
        return Ok((SecurityInfo::PrivilegedTerminal(info), extra(1)));
    }
    Ok((
        SecurityInfo::Unknown(UnknownSecurityInfo {
            protocol: Some(protocol),
            raw,
        }),
        false,
    ))
}

impl SecurityInfos {
    /// Decode the contents of EF.CardAccess (or any SecurityInfos SET).
    pub fn decode(bytes: &[u8]) -> Result<SecurityInfos, SecurityInfosError> {
        let set = tlv::parse(bytes).map_err(SecurityInfosError::Tlv)?;
        let mut infos = Self::decode_set(&set, false)?;
        infos.warn_after(bytes, set.raw.len());
        Ok(infos)
    }

    /// A warning for the bytes of `file` after its first `used` (zero padding or other).
    pub(crate) fn warn_after(&mut self, file: &[u8], used: usize) {
        let trailing = file.get(used..).unwrap_or_default();
        if trailing.is_empty() {
            return;
        }
        let count = trailing.len();
        self.warnings.push(if trailing.iter().all(|b| *b == 0) {
            SecurityInfosWarning::ZeroPadding { count }
        } else {
            SecurityInfosWarning::TrailingBytes { count }
        });
    }

    fn decode_set(set: &Tlv<'_>, nested: bool) -> Result<SecurityInfos, SecurityInfosError> {
        if set.tag != asn1::SET {
            return Err(SecurityInfosError::UnexpectedTag {
                expected: asn1::SET,
                found: set.tag,
            });
        }
        let mut out = SecurityInfos {
            infos: Vec::new(),
            raw: set.raw.to_vec(),
            warnings: Vec::new(),
        };
        let mut reader = tlv::Reader::new(set.value);
        let mut index = 0usize;
        while !reader.is_empty() {
            let offset = set.value.len() - reader.remaining().len();
            let t = reader
                .read()
                .map_err(|source| SecurityInfosError::Element { offset, source })?;
            let (info, warning) = Self::decode_one(&t, index, nested);
            out.infos.push(info);
            out.warnings.extend(warning);
            index += 1;
        }
        Ok(out)
    }

    fn decode_one(t: &Tlv<'_>, index: usize, nested: bool) -> (SecurityInfo, Option<SecurityInfosWarning>) {
        let unknown = |protocol: Option<Oid>, reason: Reason| {
            (
                SecurityInfo::Unknown(UnknownSecurityInfo {
                    protocol,
                    raw: t.raw.to_vec(),
                }),
                Some(SecurityInfosWarning::MalformedInfo {
                    index,
                    protocol,
                    reason,
                }),
            )
        };
        if t.tag != asn1::SEQUENCE {
            return unknown(None, "SecurityInfo is not a SEQUENCE");
        }
        let kids = match t.children().read_all() {
            Ok(k) => k,
            Err(_) => return unknown(None, "malformed SecurityInfo content"),
        };
        let Some((first, rest)) = kids.split_first() else {
            return unknown(None, "empty SecurityInfo");
        };
        let protocol = match asn1::oid(first) {
            Ok(o) => o,
            Err(reason) => return unknown(None, reason),
        };
        match decode_info(t, protocol, rest, nested) {
            Ok((info, false)) => (info, None),
            Ok((info, true)) => (
                info,
                Some(SecurityInfosWarning::ExtraElements { index, protocol }),
            ),
            Err(reason) => unknown(Some(protocol), reason),
        }
    }

    /// Build from infos (emulator personalisation); `raw` is their encoding.
    pub fn from_infos(infos: Vec<SecurityInfo>) -> SecurityInfos {
        let mut s = SecurityInfos {
            infos,
            raw: Vec::new(),
            warnings: Vec::new(),
        };
        s.raw = s.encode();
        s
    }

    /// DER encoding of the SET from the fields, in the order of `infos`.
    pub fn encode(&self) -> Vec<u8> {
        let body: Vec<u8> = self.infos.iter().flat_map(SecurityInfo::encode).collect();
        tlv::encode(asn1::SET, &body)
    }

    /// The infos of one kind, in file order.
    fn all<'a, T: Kind + 'a>(&'a self) -> impl Iterator<Item = &'a T> {
        self.infos.iter().filter_map(T::of)
    }

    /// The PACEInfos.
    pub fn pace_infos(&self) -> impl Iterator<Item = &PaceInfo> {
        self.all()
    }

    /// The PACEDomainParameterInfos.
    pub fn pace_domain_parameter_infos(&self) -> impl Iterator<Item = &PaceDomainParameterInfo> {
        self.all()
    }

    /// The ChipAuthenticationInfos.
    pub fn chip_authentication_infos(&self) -> impl Iterator<Item = &ChipAuthenticationInfo> {
        self.all()
    }

    /// The ChipAuthenticationDomainParameterInfos.
    pub fn chip_authentication_domain_parameter_infos(
        &self,
    ) -> impl Iterator<Item = &ChipAuthenticationDomainParameterInfo> {
        self.all()
    }

    /// The ChipAuthenticationPublicKeyInfos.
    pub fn chip_authentication_public_keys(&self) -> impl Iterator<Item = &ChipAuthenticationPublicKeyInfo> {
        self.all()
    }

    /// The TerminalAuthenticationInfos.
    pub fn terminal_authentication_infos(&self) -> impl Iterator<Item = &TerminalAuthenticationInfo> {
        self.all()
    }

    /// The ActiveAuthenticationInfo, if any.
    pub fn active_authentication_info(&self) -> Option<&ActiveAuthenticationInfo> {
        self.all().next()
    }

    /// The CardInfoLocator, if any.
    pub fn card_info_locator(&self) -> Option<&CardInfoLocator> {
        self.all().next()
    }

    /// The infos kept raw.
    pub fn unknown_infos(&self) -> impl Iterator<Item = &UnknownSecurityInfo> {
        self.all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::h;
    use proptest::prelude::*;

    #[test]
    fn doc9303_g1_card_access() {
        let bytes = h("31143012060A04007F0007020204020202010202010D");
        let s = SecurityInfos::decode(&bytes).unwrap();
        let p: Vec<_> = s.pace_infos().collect();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].protocol.to_string(), "0.4.0.127.0.7.2.2.4.2.2");
        assert_eq!(p[0].version, 2);
        assert_eq!(p[0].parameter_id, Some(13));
        assert!(s.warnings.is_empty());
        assert_eq!(s.encode(), bytes);
        let built = SecurityInfos::from_infos(vec![SecurityInfo::Pace(PaceInfo::new(
            p[0].protocol().unwrap(),
            Some(13),
        ))]);
        assert_eq!(built.raw, bytes);
    }

    #[test]
    fn malformed_known_info_kept_raw() {
        // PACEInfo whose version is an OCTET STRING
        let bytes = h("3111300F060A04007F00070202040202040102");
        let s = SecurityInfos::decode(&bytes).unwrap();
        assert!(matches!(s.infos[0], SecurityInfo::Unknown(_)));
        assert!(matches!(
            s.warnings[0],
            SecurityInfosWarning::MalformedInfo { index: 0, .. }
        ));
        assert_eq!(s.encode(), bytes);
    }

    #[test]
    fn not_a_set() {
        assert!(matches!(
            SecurityInfos::decode(&h("3000")),
            Err(SecurityInfosError::UnexpectedTag {
                expected: 0x31,
                found: 0x30
            })
        ));
        assert!(matches!(
            crate::lds::dg14::Dg14::decode(&h("3100")),
            Err(SecurityInfosError::UnexpectedTag { .. })
        ));
    }

    #[test]
    fn nested_privileged_terminal_info_is_not_followed() {
        // id-PT { SET { id-PT { SET {} } } }
        let inner = h("300C060804007F0007020208 3100".replace(' ', "").as_str());
        let inner_set = tlv::encode(0x31, &inner);
        let outer = asn1::encode_sequence(&[&asn1::encode_oid(&oid::ID_PT), &inner_set]);
        let file = tlv::encode(0x31, &outer);
        let s = SecurityInfos::decode(&file).unwrap();
        match &s.infos[0] {
            SecurityInfo::PrivilegedTerminal(pt) => {
                assert!(matches!(pt.infos.infos[0], SecurityInfo::Unknown(_)));
            }
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SecurityInfos::decode(&bytes);
            let _ = crate::lds::dg14::Dg14::decode(&bytes);
            let _ = CardSecurity::decode(&bytes);
        }

        #[test]
        fn never_panics_inside_a_set(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut seq = vec![0x30, body.len().min(127) as u8];
            seq.extend(body.iter().take(127));
            let file = tlv::encode(0x31, &seq);
            if let Ok(s) = SecurityInfos::decode(&file) {
                for i in &s.infos {
                    let _ = i.encode();
                    if let SecurityInfo::PaceDomainParameter(d) = i {
                        let _ = d.domain_parameter.domain_parameters();
                    }
                }
            }
        }

        #[test]
        fn pace_info_roundtrip(m in prop_oneof![Just(1u32), Just(2), Just(3), Just(4), Just(6)],
                               c in 2u32..=4, id in proptest::option::of(0u32..100_000)) {
            let p = PaceProtocol { mapping: PaceMapping::from_arc(m).unwrap(), cipher: CipherSuite::from_arc(c).unwrap() };
            let s = SecurityInfos::from_infos(vec![SecurityInfo::Pace(PaceInfo::new(p, id))]);
            let d = SecurityInfos::decode(&s.raw).unwrap();
            prop_assert_eq!(d, s);
        }
    }
}

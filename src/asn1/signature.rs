//! Signature algorithms of Doc 9303 Part 12 §4.4 / §7 (and RFC 3279, RFC 4055, RFC 5758,
//! BSI TR-03111 §5.2.1 for the plain ECDSA format), verified with openssl doing the math.
//!
//! The algorithm is always the one named in the signed structure (the SignerInfo, the
//! certificate's `signatureAlgorithm`, the CRL's), never one inferred from the key.

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{HasPrivate, Id, PKeyRef};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use thiserror::Error;

use super::keys::PublicKey;
use crate::asn1::der::{self as asn1, tag};
use crate::asn1::oid;
use crate::asn1::{AlgorithmIdentifier, Oid};
use crate::tlv;

/// Why a signature did not verify (or could not be checked).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature is well-formed but wrong for this key and message.
    #[error("signature does not verify")]
    Invalid,
    /// The signature value cannot be decoded (bad DER, odd plain length, wrong size).
    #[error("malformed signature value")]
    Malformed,
    /// The algorithm needs another kind of key (e.g. ECDSA with an RSA key).
    #[error("{algorithm} signature cannot be checked with a {key} key")]
    KeyTypeMismatch {
        /// The algorithm named in the signed structure.
        algorithm: &'static str,
        /// The key's type.
        key: &'static str,
    },
    /// A signature algorithm we do not implement.
    #[error("unsupported signature algorithm {oid}")]
    UnsupportedAlgorithm {
        /// Its OID.
        oid: Oid,
    },
    /// A hash algorithm we do not implement.
    #[error("unsupported hash algorithm {oid}")]
    UnsupportedHash {
        /// Its OID.
        oid: Oid,
    },
    /// The AlgorithmIdentifier parameters are malformed or not allowed (e.g. a PSS
    /// trailer field other than 1).
    #[error("invalid signature algorithm parameters: {what}")]
    BadParameters {
        /// What is wrong.
        what: &'static str,
        /// Underlying structural error, when there is one.
        #[source]
        source: Option<asn1::Asn1Error>,
    },
    /// openssl failed in an unexpected way.
    #[error("openssl error")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// The hash functions of eMRTDs: the SHA-1 and SHA-2 digests of EF.SOD, CMS and
/// certificates, and RIPEMD-160, which only Active Authentication can name (an ISO/IEC
/// 9796-2 trailer, `ecdsa-plain-RIPEMD160`; its names there are in
/// [`crate::access::aa::hash`]).
///
/// Serialised lowercase (`sha256`) as Passive Authentication reports it; Active
/// Authentication's evidence writes the standards' names (`SHA-256`, see
/// [`HashAlgorithm::spec_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// SHA-1
    Sha1,
    /// SHA-224
    Sha224,
    /// SHA-256
    Sha256,
    /// SHA-384
    Sha384,
    /// SHA-512
    Sha512,
    /// RIPEMD-160 (ISO/IEC 10118-3). Never a digest algorithm of EF.SOD, CMS or a
    /// certificate: [`HashAlgorithm::from_oid`] and the signature algorithm parsers
    /// refuse it.
    Ripemd160,
}

impl HashAlgorithm {
    /// Every hash, RIPEMD-160 included.
    pub const ALL: [HashAlgorithm; 6] = [
        HashAlgorithm::Sha1,
        HashAlgorithm::Sha224,
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
        HashAlgorithm::Ripemd160,
    ];

    /// The hash named by a digest-algorithm OID (EF.SOD, CMS, certificates): SHA-1 and
    /// SHA-2 only, so `None` for RIPEMD-160's own OID.
    pub fn from_oid(oid: &Oid) -> Option<Self> {
        Some(match *oid {
            oid::SHA1 => HashAlgorithm::Sha1,
            oid::SHA224 => HashAlgorithm::Sha224,
            oid::SHA256 => HashAlgorithm::Sha256,
            oid::SHA384 => HashAlgorithm::Sha384,
            oid::SHA512 => HashAlgorithm::Sha512,
            _ => return None,
        })
    }

    /// Its OID (for RIPEMD-160 one that [`HashAlgorithm::from_oid`] does not take back).
    pub fn oid(self) -> Oid {
        match self {
            HashAlgorithm::Sha1 => oid::SHA1,
            HashAlgorithm::Sha224 => oid::SHA224,
            HashAlgorithm::Sha256 => oid::SHA256,
            HashAlgorithm::Sha384 => oid::SHA384,
            HashAlgorithm::Sha512 => oid::SHA512,
            HashAlgorithm::Ripemd160 => oid::RIPEMD160,
        }
    }

    /// The openssl digest.
    pub fn message_digest(self) -> MessageDigest {
        match self {
            HashAlgorithm::Sha1 => MessageDigest::sha1(),
            HashAlgorithm::Sha224 => MessageDigest::sha224(),
            HashAlgorithm::Sha256 => MessageDigest::sha256(),
            HashAlgorithm::Sha384 => MessageDigest::sha384(),
            HashAlgorithm::Sha512 => MessageDigest::sha512(),
            HashAlgorithm::Ripemd160 => MessageDigest::ripemd160(),
        }
    }

    /// Output length in octets.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160 => 20,
            HashAlgorithm::Sha224 => 28,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Hash `data` (RustCrypto: cannot fail).
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.digest_parts(&[data])
    }

    /// The digest of the concatenation of `parts` (RustCrypto: cannot fail).
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            HashAlgorithm::Sha1 => run::<sha1::Sha1>(parts),
            HashAlgorithm::Sha224 => run::<sha2::Sha224>(parts),
            HashAlgorithm::Sha256 => run::<sha2::Sha256>(parts),
            HashAlgorithm::Sha384 => run::<sha2::Sha384>(parts),
            HashAlgorithm::Sha512 => run::<sha2::Sha512>(parts),
            HashAlgorithm::Ripemd160 => run::<ripemd::Ripemd160>(parts),
        }
    }

    /// The name as the standards write it (`SHA-256`, `RIPEMD-160`).
    pub fn spec_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha224 => "SHA-224",
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha384 => "SHA-384",
            HashAlgorithm::Sha512 => "SHA-512",
            HashAlgorithm::Ripemd160 => "RIPEMD-160",
        }
    }

    /// Display name (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha224 => "sha224",
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
            HashAlgorithm::Ripemd160 => "ripemd160",
        }
    }

    /// Parse a name as written in profiles, in any case, with or without `-` and `_`
    /// (`SHA-256`, `sha256`, `SHA_256`, `RIPEMD-160`).
    pub fn from_name(name: &str) -> Option<Self> {
        let wanted: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_uppercase();
        HashAlgorithm::ALL
            .into_iter()
            .find(|h| h.spec_name().replace('-', "") == wanted)
    }
}

/// The standards' name (`SHA-256`), as Active Authentication's messages write it.
impl std::fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.spec_name())
    }
}

/// Serialise a hash by its standards' name (`"SHA-256"`): `#[serde(serialize_with)]`
/// for the fields of Active Authentication's evidence.
pub fn serialize_spec_name<S: serde::Serializer>(h: &HashAlgorithm, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(h.spec_name())
}

/// RSASSA-PSS parameters (RFC 4055 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PssParams {
    /// hashAlgorithm (default SHA-1).
    pub hash: HashAlgorithm,
    /// The hash inside maskGenAlgorithm MGF1 (default SHA-1).
    pub mgf1_hash: HashAlgorithm,
    /// saltLength (default 20).
    pub salt_len: u32,
    /// trailerField (default 1 = 0xBC; the only value allowed).
    pub trailer_field: u32,
}

impl PssParams {
    /// The salt length as openssl takes it.
    fn openssl_salt_len(&self) -> Result<RsaPssSaltlen, SignatureError> {
        i32::try_from(self.salt_len)
            .map(RsaPssSaltlen::custom)
            .map_err(|_| SignatureError::BadParameters {
                what: "saltLength too large",
                source: None,
            })
    }
}

/// A signature algorithm with everything needed to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1 {
        /// Hash.
        hash: HashAlgorithm,
    },
    /// RSASSA-PSS.
    RsaPss(PssParams),
    /// ECDSA with a DER `Ecdsa-Sig-Value` (X9.62).
    Ecdsa {
        /// Hash.
        hash: HashAlgorithm,
    },
    /// ECDSA with the plain `r || s` format (BSI TR-03111 §5.2.1).
    EcdsaPlain {
        /// Hash.
        hash: HashAlgorithm,
    },
}

/// A tolerated oddity in how an algorithm was identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgorithmQuirk {
    /// A key algorithm OID (rsaEncryption, id-ecPublicKey) given as signature algorithm;
    /// the hash came from the digest algorithm.
    KeyAlgorithmAsSignatureAlgorithm,
}

impl SignatureAlgorithm {
    /// Interpret an AlgorithmIdentifier. `digest` is the separately named digest
    /// algorithm (a CMS SignerInfo's `digestAlgorithm`); it is used only when the
    /// signature algorithm itself names no hash (rsaEncryption, id-ecPublicKey), which
    /// is then reported as a quirk.
    pub fn from_algorithm_identifier(
        alg: &AlgorithmIdentifier,
        digest: Option<HashAlgorithm>,
    ) -> Result<(Self, Option<AlgorithmQuirk>), SignatureError> {
        use HashAlgorithm::*;
        let plain = |a| Ok((a, None));
        match alg.oid {
            oid::SHA1_WITH_RSA => plain(SignatureAlgorithm::RsaPkcs1 { hash: Sha1 }),
            oid::SHA224_WITH_RSA => plain(SignatureAlgorithm::RsaPkcs1 { hash: Sha224 }),
            oid::SHA256_WITH_RSA => plain(SignatureAlgorithm::RsaPkcs1 { hash: Sha256 }),
            oid::SHA384_WITH_RSA => plain(SignatureAlgorithm::RsaPkcs1 { hash: Sha384 }),
            oid::SHA512_WITH_RSA => plain(SignatureAlgorithm::RsaPkcs1 { hash: Sha512 }),
            oid::RSASSA_PSS => plain(SignatureAlgorithm::RsaPss(parse_pss_params(
                alg.parameters.as_deref(),
            )?)),
            oid::ECDSA_WITH_SHA1 => plain(SignatureAlgorithm::Ecdsa { hash: Sha1 }),
            oid::ECDSA_WITH_SHA224 => plain(SignatureAlgorithm::Ecdsa { hash: Sha224 }),
            oid::ECDSA_WITH_SHA256 => plain(SignatureAlgorithm::Ecdsa { hash: Sha256 }),
            oid::ECDSA_WITH_SHA384 => plain(SignatureAlgorithm::Ecdsa { hash: Sha384 }),
            oid::ECDSA_WITH_SHA512 => plain(SignatureAlgorithm::Ecdsa { hash: Sha512 }),
            oid::ECDSA_PLAIN_SHA1 => plain(SignatureAlgorithm::EcdsaPlain { hash: Sha1 }),
            oid::ECDSA_PLAIN_SHA224 => plain(SignatureAlgorithm::EcdsaPlain { hash: Sha224 }),
            oid::ECDSA_PLAIN_SHA256 => plain(SignatureAlgorithm::EcdsaPlain { hash: Sha256 }),
            oid::ECDSA_PLAIN_SHA384 => plain(SignatureAlgorithm::EcdsaPlain { hash: Sha384 }),
            oid::ECDSA_PLAIN_SHA512 => plain(SignatureAlgorithm::EcdsaPlain { hash: Sha512 }),
            oid::RSA_ENCRYPTION | oid::EC_PUBLIC_KEY => {
                let hash = digest.ok_or(SignatureError::UnsupportedAlgorithm { oid: alg.oid })?;
                let a = if alg.oid == oid::RSA_ENCRYPTION {
                    SignatureAlgorithm::RsaPkcs1 { hash }
                } else {
                    SignatureAlgorithm::Ecdsa { hash }
                };
                Ok((a, Some(AlgorithmQuirk::KeyAlgorithmAsSignatureAlgorithm)))
            }
            other => Err(SignatureError::UnsupportedAlgorithm { oid: other }),
        }
    }

    /// The hash the signature is computed with.
    pub fn hash(&self) -> HashAlgorithm {
        match self {
            SignatureAlgorithm::RsaPkcs1 { hash }
            | SignatureAlgorithm::Ecdsa { hash }
            | SignatureAlgorithm::EcdsaPlain { hash } => *hash,
            SignatureAlgorithm::RsaPss(p) => p.hash,
        }
    }

    /// A short name (`ecdsa-with-SHA256`, `rsassa-pss-sha256`).
    pub fn name(&self) -> String {
        match self {
            SignatureAlgorithm::RsaPkcs1 { hash } => format!("{}WithRSA", hash.name()),
            SignatureAlgorithm::RsaPss(p) => format!("rsassa-pss-{}", p.hash.name()),
            SignatureAlgorithm::Ecdsa { hash } => format!("ecdsa-with-{}", hash.name().to_uppercase()),
            SignatureAlgorithm::EcdsaPlain { hash } => format!("ecdsa-plain-{}", hash.name().to_uppercase()),
        }
    }

    /// The DER AlgorithmIdentifier for this algorithm (used when we sign: fixtures, emulator).
    /// RIPEMD-160 gets its TeleTrusT / BSI OID, which
    /// [`SignatureAlgorithm::from_algorithm_identifier`] refuses.
    pub fn to_der(&self) -> Vec<u8> {
        use HashAlgorithm::*;
        let with_oid = |o: Oid| asn1::encode_seq(&[&asn1::encode_oid(&o)]);
        match self {
            SignatureAlgorithm::RsaPkcs1 { hash } => {
                let o = match hash {
                    Sha1 => oid::SHA1_WITH_RSA,
                    Sha224 => oid::SHA224_WITH_RSA,
                    Sha256 => oid::SHA256_WITH_RSA,
                    Sha384 => oid::SHA384_WITH_RSA,
                    Sha512 => oid::SHA512_WITH_RSA,
                    Ripemd160 => oid::RIPEMD160_WITH_RSA,
                };
                asn1::encode_seq(&[&asn1::encode_oid(&o), &[0x05, 0x00]])
            }
            SignatureAlgorithm::Ecdsa { hash } => with_oid(match hash {
                Sha1 => oid::ECDSA_WITH_SHA1,
                Sha224 => oid::ECDSA_WITH_SHA224,
                Sha256 => oid::ECDSA_WITH_SHA256,
                Sha384 => oid::ECDSA_WITH_SHA384,
                Sha512 => oid::ECDSA_WITH_SHA512,
                Ripemd160 => oid::ECDSA_WITH_RIPEMD160,
            }),
            SignatureAlgorithm::EcdsaPlain { hash } => with_oid(match hash {
                Sha1 => oid::ECDSA_PLAIN_SHA1,
                Sha224 => oid::ECDSA_PLAIN_SHA224,
                Sha256 => oid::ECDSA_PLAIN_SHA256,
                Sha384 => oid::ECDSA_PLAIN_SHA384,
                Sha512 => oid::ECDSA_PLAIN_SHA512,
                Ripemd160 => oid::ECDSA_PLAIN_RIPEMD160,
            }),
            SignatureAlgorithm::RsaPss(p) => {
                let hash_alg =
                    |h: HashAlgorithm| asn1::encode_seq(&[&asn1::encode_oid(&h.oid()), &[0x05, 0x00]]);
                let mgf = asn1::encode_seq(&[&asn1::encode_oid(&oid::MGF1), &hash_alg(p.mgf1_hash)]);
                let params = asn1::encode_seq(&[
                    &tlv::encode(0xA0, &hash_alg(p.hash)),
                    &tlv::encode(0xA1, &mgf),
                    &tlv::encode(0xA2, &asn1::encode_small_uint(u64::from(p.salt_len))),
                ]);
                asn1::encode_seq(&[&asn1::encode_oid(&oid::RSASSA_PSS), &params])
            }
        }
    }
}

fn bad(what: &'static str) -> impl Fn(asn1::Asn1Error) -> SignatureError {
    move |e| SignatureError::BadParameters {
        what,
        source: Some(e),
    }
}

fn hash_of_alg_id(t: &tlv::Tlv<'_>, what: &'static str) -> Result<HashAlgorithm, SignatureError> {
    asn1::expect_tag(t, tag::SEQUENCE, what).map_err(bad(what))?;
    let mut r = t.children();
    let o = asn1::oid(&asn1::next(&mut r, tag::OID, what).map_err(bad(what))?, what).map_err(bad(what))?;
    HashAlgorithm::from_oid(&o).ok_or(SignatureError::UnsupportedHash { oid: o })
}

/// Parse RSASSA-PSS-params (RFC 4055 §3.1); an empty SEQUENCE means all defaults.
pub fn parse_pss_params(params: Option<&[u8]>) -> Result<PssParams, SignatureError> {
    let mut p = PssParams {
        hash: HashAlgorithm::Sha1,
        mgf1_hash: HashAlgorithm::Sha1,
        salt_len: 20,
        trailer_field: 1,
    };
    let raw = params.ok_or(SignatureError::BadParameters {
        what: "RSASSA-PSS parameters absent",
        source: None,
    })?;
    let seq = tlv::parse(raw).map_err(|e| bad("RSASSA-PSS-params")(e.into()))?;
    asn1::expect_tag(&seq, tag::SEQUENCE, "RSASSA-PSS-params").map_err(bad("RSASSA-PSS-params"))?;
    let mut r = seq.children();
    while !r.is_empty() {
        let field = r.read().map_err(|e| bad("RSASSA-PSS-params")(e.into()))?;
        let inner = tlv::parse(field.value).map_err(|e| bad("RSASSA-PSS-params")(e.into()))?;
        match field.tag {
            0xA0 => p.hash = hash_of_alg_id(&inner, "hashAlgorithm")?,
            0xA1 => {
                asn1::expect_tag(&inner, tag::SEQUENCE, "maskGenAlgorithm")
                    .map_err(bad("maskGenAlgorithm"))?;
                let mut m = inner.children();
                let mgf = asn1::oid(
                    &asn1::next(&mut m, tag::OID, "maskGenAlgorithm").map_err(bad("maskGenAlgorithm"))?,
                    "maskGenAlgorithm",
                )
                .map_err(bad("maskGenAlgorithm"))?;
                if mgf != oid::MGF1 {
                    return Err(SignatureError::UnsupportedAlgorithm { oid: mgf });
                }
                let h = asn1::next_any(&mut m, "mgf1 hash").map_err(bad("mgf1 hash"))?;
                p.mgf1_hash = hash_of_alg_id(&h, "mgf1 hash")?;
            }
            0xA2 => {
                let v = asn1::small_uint(&inner, "saltLength").map_err(bad("saltLength"))?;
                p.salt_len = u32::try_from(v).map_err(|_| SignatureError::BadParameters {
                    what: "saltLength too large",
                    source: None,
                })?;
            }
            0xA3 => {
                let v = asn1::small_uint(&inner, "trailerField").map_err(bad("trailerField"))?;
                p.trailer_field = u32::try_from(v).unwrap_or(u32::MAX);
            }
            _ => {
                return Err(SignatureError::BadParameters {
                    what: "unknown field in RSASSA-PSS-params",
                    source: None,
                });
            }
        }
    }
    if p.trailer_field != 1 {
        return Err(SignatureError::BadParameters {
            what: "RSASSA-PSS trailerField other than 1",
            source: None,
        });
    }
    Ok(p)
}

/// Verify `signature` over `message` with `key` under `alg`.
pub fn verify(
    alg: &SignatureAlgorithm,
    key: &PublicKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let pkey = key.pkey();
    match alg {
        SignatureAlgorithm::RsaPkcs1 { hash } => {
            require_rsa(pkey.id(), "rsa-pkcs1")?;
            let mut v = Verifier::new(hash.message_digest(), pkey)?;
            v.set_rsa_padding(Padding::PKCS1)?;
            rsa_outcome(v.verify_oneshot(signature, message))
        }
        SignatureAlgorithm::RsaPss(p) => {
            require_rsa(pkey.id(), "rsassa-pss")?;
            let mut v = Verifier::new(p.hash.message_digest(), pkey)?;
            v.set_rsa_padding(Padding::PKCS1_PSS)?;
            v.set_rsa_mgf1_md(p.mgf1_hash.message_digest())?;
            v.set_rsa_pss_saltlen(p.openssl_salt_len()?)?;
            rsa_outcome(v.verify_oneshot(signature, message))
        }
        SignatureAlgorithm::Ecdsa { hash } | SignatureAlgorithm::EcdsaPlain { hash } => {
            let ec = match pkey.id() {
                Id::EC => pkey.ec_key()?,
                other => {
                    return Err(SignatureError::KeyTypeMismatch {
                        algorithm: "ecdsa",
                        key: key_name(other),
                    });
                }
            };
            let sig = if matches!(alg, SignatureAlgorithm::Ecdsa { .. }) {
                EcdsaSig::from_der(signature).map_err(|_| SignatureError::Malformed)?
            } else {
                let half = signature.len() / 2;
                if signature.is_empty() || !signature.len().is_multiple_of(2) {
                    return Err(SignatureError::Malformed);
                }
                let (r, s) = signature.split_at(half);
                EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?
            };
            let digest = hash.digest(message);
            match sig.verify(&digest, &ec) {
                Ok(true) => Ok(()),
                Ok(false) => Err(SignatureError::Invalid),
                // openssl reports out-of-range r/s as an error
                Err(_) => Err(SignatureError::Invalid),
            }
        }
    }
}

fn rsa_outcome(r: Result<bool, openssl::error::ErrorStack>) -> Result<(), SignatureError> {
    match r {
        Ok(true) => Ok(()),
        Ok(false) => Err(SignatureError::Invalid),
        // wrong length, bad padding structure: the signature does not verify
        Err(_) => Err(SignatureError::Invalid),
    }
}

fn key_name(id: Id) -> &'static str {
    match id {
        Id::RSA => "rsa",
        Id::RSA_PSS => "rsa-pss",
        Id::EC => "ec",
        Id::DSA => "dsa",
        Id::DH => "dh",
        _ => "other",
    }
}

fn require_rsa(id: Id, algorithm: &'static str) -> Result<(), SignatureError> {
    if id == Id::RSA || id == Id::RSA_PSS {
        Ok(())
    } else {
        Err(SignatureError::KeyTypeMismatch {
            algorithm,
            key: key_name(id),
        })
    }
}

/// Sign `message` with a private key under `alg` (for fixtures and the emulator; the
/// verifier never signs).
pub fn sign<T: HasPrivate>(
    alg: &SignatureAlgorithm,
    key: &PKeyRef<T>,
    message: &[u8],
) -> Result<Vec<u8>, SignatureError> {
    match alg {
        SignatureAlgorithm::RsaPkcs1 { hash } => {
            let mut s = Signer::new(hash.message_digest(), key)?;
            s.set_rsa_padding(Padding::PKCS1)?;
            Ok(s.sign_oneshot_to_vec(message)?)
        }
        SignatureAlgorithm::RsaPss(p) => {
            let mut s = Signer::new(p.hash.message_digest(), key)?;
            s.set_rsa_padding(Padding::PKCS1_PSS)?;
            s.set_rsa_mgf1_md(p.mgf1_hash.message_digest())?;
            s.set_rsa_pss_saltlen(p.openssl_salt_len()?)?;
            Ok(s.sign_oneshot_to_vec(message)?)
        }
        SignatureAlgorithm::Ecdsa { hash } | SignatureAlgorithm::EcdsaPlain { hash } => {
            let ec = key.ec_key()?;
            let digest = hash.digest(message);
            let sig = EcdsaSig::sign(&digest, &ec)?;
            if matches!(alg, SignatureAlgorithm::Ecdsa { .. }) {
                Ok(sig.to_der()?)
            } else {
                let n = usize::try_from(ec.group().order_bits().div_ceil(8)).unwrap_or(0);
                let r = sig.r().to_vec_padded(i32::try_from(n).unwrap_or(0))?;
                let s = sig.s().to_vec_padded(i32::try_from(n).unwrap_or(0))?;
                Ok([r, s].concat())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pss_params_roundtrip_and_defaults() {
        let p = PssParams {
            hash: HashAlgorithm::Sha256,
            mgf1_hash: HashAlgorithm::Sha256,
            salt_len: 32,
            trailer_field: 1,
        };
        let der = SignatureAlgorithm::RsaPss(p).to_der();
        let alg = AlgorithmIdentifier::from_der(&der).unwrap();
        let (back, quirk) = SignatureAlgorithm::from_algorithm_identifier(&alg, None).unwrap();
        assert_eq!(back, SignatureAlgorithm::RsaPss(p));
        assert!(quirk.is_none());
        let defaults = parse_pss_params(Some(&[0x30, 0x00])).unwrap();
        assert_eq!(defaults.hash, HashAlgorithm::Sha1);
        assert_eq!(defaults.salt_len, 20);
        // trailerField 2 is refused
        let bad_trailer = asn1::encode_seq(&[&tlv::encode(0xA3, &asn1::encode_small_uint(2))]);
        assert!(parse_pss_params(Some(&bad_trailer)).is_err());
    }

    #[test]
    fn digests_match_published_vectors() {
        // FIPS 180-4 examples, and Dobbertin/Bosselaers/Preneel's RIPEMD-160 vectors
        let table: [(HashAlgorithm, &[u8], &str); 4] = [
            (
                HashAlgorithm::Sha1,
                b"abc",
                "a9993e364706816aba3e25717850c26c9cd0d89d",
            ),
            (
                HashAlgorithm::Sha256,
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                HashAlgorithm::Ripemd160,
                b"",
                "9c1185a5c5e9fc54612808977ee8f548b2258d31",
            ),
            (
                HashAlgorithm::Ripemd160,
                b"abc",
                "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
            ),
        ];
        for (h, msg, want) in table {
            assert_eq!(hex::encode(h.digest(msg)), want, "{h}");
        }
        for h in HashAlgorithm::ALL {
            assert_eq!(h.digest(b"abc").len(), h.output_len(), "{h}");
            assert_eq!(h.digest_parts(&[b"a", b"", b"bc"]), h.digest(b"abc"), "{h}");
        }
    }

    #[test]
    fn ripemd160_is_never_a_digest_or_signature_algorithm() {
        let h = HashAlgorithm::Ripemd160;
        assert_eq!(HashAlgorithm::from_oid(&h.oid()), None);
        for h in HashAlgorithm::ALL
            .into_iter()
            .filter(|h| *h != HashAlgorithm::Ripemd160)
        {
            assert_eq!(HashAlgorithm::from_oid(&h.oid()), Some(h));
        }
        let pss = PssParams {
            hash: h,
            mgf1_hash: HashAlgorithm::Sha256,
            salt_len: 20,
            trailer_field: 1,
        };
        for alg in [
            SignatureAlgorithm::RsaPkcs1 { hash: h },
            SignatureAlgorithm::Ecdsa { hash: h },
            SignatureAlgorithm::EcdsaPlain { hash: h },
            SignatureAlgorithm::RsaPss(pss),
            SignatureAlgorithm::RsaPss(PssParams {
                hash: HashAlgorithm::Sha256,
                mgf1_hash: h,
                ..pss
            }),
        ] {
            let id = AlgorithmIdentifier::from_der(&alg.to_der()).unwrap();
            for digest in [None, Some(HashAlgorithm::Sha256)] {
                assert!(
                    SignatureAlgorithm::from_algorithm_identifier(&id, digest).is_err(),
                    "{alg:?} accepted"
                );
            }
        }
    }

    #[test]
    fn names() {
        use HashAlgorithm::*;
        for (h, spec, name) in [
            (Sha1, "SHA-1", "sha1"),
            (Sha256, "SHA-256", "sha256"),
            (Ripemd160, "RIPEMD-160", "ripemd160"),
        ] {
            assert_eq!(
                (h.spec_name(), h.name(), h.to_string()),
                (spec, name, spec.to_string())
            );
            assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{name}\""));
        }
        // profiles: any case, with or without '-' and '_'
        for (text, h) in [
            ("sha256", Some(Sha256)),
            ("SHA-256", Some(Sha256)),
            ("SHA_256", Some(Sha256)),
            ("SHA-1", Some(Sha1)),
            ("ripemd160", Some(Ripemd160)),
            ("RIPEMD-160", Some(Ripemd160)),
            ("md5", None),
            ("", None),
        ] {
            assert_eq!(HashAlgorithm::from_name(text), h, "{text}");
        }
    }

    #[test]
    fn key_algorithm_as_signature_algorithm_is_a_quirk() {
        let der = asn1::encode_seq(&[&asn1::encode_oid(&oid::RSA_ENCRYPTION), &[5, 0]]);
        let alg = AlgorithmIdentifier::from_der(&der).unwrap();
        assert!(SignatureAlgorithm::from_algorithm_identifier(&alg, None).is_err());
        let (a, q) =
            SignatureAlgorithm::from_algorithm_identifier(&alg, Some(HashAlgorithm::Sha256)).unwrap();
        assert_eq!(
            a,
            SignatureAlgorithm::RsaPkcs1 {
                hash: HashAlgorithm::Sha256
            }
        );
        assert_eq!(q, Some(AlgorithmQuirk::KeyAlgorithmAsSignatureAlgorithm));
    }
}

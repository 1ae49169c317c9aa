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
use crate::asn1::{AlgorithmIdentifier, Oid};
use crate::tlv;

/// Object identifiers of the hash and signature algorithms.
pub mod oid {
    use crate::asn1::Oid;
    /// id-sha1
    pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
    /// id-sha224
    pub const SHA224: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.4");
    /// id-sha256
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// id-sha384
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// id-sha512
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// rsaEncryption (also seen as a SignerInfo signatureAlgorithm)
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    /// id-mgf1
    pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
    /// id-RSASSA-PSS
    pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    /// sha1WithRSAEncryption
    pub const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
    /// sha224WithRSAEncryption
    pub const SHA224_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.14");
    /// sha256WithRSAEncryption
    pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    /// sha384WithRSAEncryption
    pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    /// sha512WithRSAEncryption
    pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    /// id-ecPublicKey (also seen as a SignerInfo signatureAlgorithm)
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    /// ecdsa-with-SHA1
    pub const ECDSA_WITH_SHA1: Oid = Oid::new_unwrap("1.2.840.10045.4.1");
    /// ecdsa-with-SHA224
    pub const ECDSA_WITH_SHA224: Oid = Oid::new_unwrap("1.2.840.10045.4.3.1");
    /// ecdsa-with-SHA256
    pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    /// ecdsa-with-SHA384
    pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    /// ecdsa-with-SHA512
    pub const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
    /// ecdsa-plain-SHA1 (BSI TR-03111)
    pub const ECDSA_PLAIN_SHA1: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.1");
    /// ecdsa-plain-SHA224
    pub const ECDSA_PLAIN_SHA224: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.2");
    /// ecdsa-plain-SHA256
    pub const ECDSA_PLAIN_SHA256: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
    /// ecdsa-plain-SHA384
    pub const ECDSA_PLAIN_SHA384: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.4");
    /// ecdsa-plain-SHA512
    pub const ECDSA_PLAIN_SHA512: Oid = Oid::new_unwrap("0.4.0.127.0.7.1.1.4.1.5");
}

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

/// The hash functions used by eMRTD PKIs.
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
}

impl HashAlgorithm {
    /// The hash named by a digest-algorithm OID.
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

    /// Its OID.
    pub fn oid(self) -> Oid {
        match self {
            HashAlgorithm::Sha1 => oid::SHA1,
            HashAlgorithm::Sha224 => oid::SHA224,
            HashAlgorithm::Sha256 => oid::SHA256,
            HashAlgorithm::Sha384 => oid::SHA384,
            HashAlgorithm::Sha512 => oid::SHA512,
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
        }
    }

    /// Output length in octets.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha224 => 28,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Hash `data` (RustCrypto: cannot fail).
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            HashAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            HashAlgorithm::Sha224 => sha2::Sha224::digest(data).to_vec(),
            HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// The name as the standards write it (`SHA-256`).
    pub fn spec_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha224 => "SHA-224",
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha384 => "SHA-384",
            HashAlgorithm::Sha512 => "SHA-512",
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
        }
    }
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
                };
                asn1::encode_seq(&[&asn1::encode_oid(&o), &[0x05, 0x00]])
            }
            SignatureAlgorithm::Ecdsa { hash } => with_oid(match hash {
                Sha1 => oid::ECDSA_WITH_SHA1,
                Sha224 => oid::ECDSA_WITH_SHA224,
                Sha256 => oid::ECDSA_WITH_SHA256,
                Sha384 => oid::ECDSA_WITH_SHA384,
                Sha512 => oid::ECDSA_WITH_SHA512,
            }),
            SignatureAlgorithm::EcdsaPlain { hash } => with_oid(match hash {
                Sha1 => oid::ECDSA_PLAIN_SHA1,
                Sha224 => oid::ECDSA_PLAIN_SHA224,
                Sha256 => oid::ECDSA_PLAIN_SHA256,
                Sha384 => oid::ECDSA_PLAIN_SHA384,
                Sha512 => oid::ECDSA_PLAIN_SHA512,
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

//! emrtd — read ICAO Doc 9303 eMRTDs and tell whether the chip is genuine.
//!
//! # Layering
//!
//! Each layer depends only on the ones listed before it:
//!
//! | layer | module | what |
//! |---|---|---|
//! | base | [`tlv`], [`rng`], [`asn1`] | BER-TLV, injectable randomness; the one ASN.1 reading layer: OID, AlgorithmIdentifier, times, strings, public keys (explicit EC parameters), hash and signature algorithms |
//! | transport | [`transport`] | raw APDU bytes in/out: PC/SC, recorder, replay |
//! | apdu | [`apdu`] | ISO 7816-4 commands, responses, status words, GET RESPONSE |
//! | crypto | [`crypto`] | symmetric primitives and the Doc 9303 KDF |
//! | sm | [`sm`] | secure messaging (3DES and AES) wrapping any channel |
//! | cms | [`cms`] | RFC 5652 SignedData keeping original bytes: the only CMS reader (EF.SOD, EF.CardSecurity, master and deviation lists, inspect); it reads its signer certificate with `pki::cert`, which (like `pki::crl`) depends on the base layer only |
//! | mrz | [`mrz`] | machine readable zone parsing and check digits |
//! | lds | [`lds`] | pure decoders and encoders of the LDS files (SecurityInfos included), one `DataGroup` trait and registry for all of them, and what `inspect` shows of each, with the views of the CMS and X.509 structures they embed (`lds::view`) |
//! | access | [`access`] | BAC, PACE, Active and Chip Authentication (reader and chip side) |
//! | pki | [`pki`] | certificates, CRLs, trust store, master and deviation lists (read with [`cms`]), ICAO path validation |
//! | reader | [`reader`] | a reading session: access control, file reads, recovery, dump |
//! | emulator | [`emulator`] | a software chip implementing [`transport::Transport`] |
//! | verify | [`verify`] | Passive/Active/Chip Authentication checks and the verdict |
//! | desk | [`desk`] | the officer's long-running mode: card events, verdict page, audit log |
//! | cli | [`cli`] | the `emrtd` commands |
//!
//! Pure decoders take bytes and return values; they never touch a reader and never
//! panic on hostile input (chip data is attacker-controlled).

pub mod apdu;
pub mod rng;
pub mod tlv;
pub mod transport;

pub mod access;
pub mod crypto;
pub mod sm;

pub mod asn1;
pub mod cli;
pub mod cms;
pub mod desk;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod error;
pub mod lds;
pub mod mrz;
pub mod pki;
pub mod reader;
pub mod verify;

#[cfg(test)]
mod test_vectors;

//! Public keys: defined in the base ASN.1 layer ([`crate::asn1::keys`]), re-exported
//! here for the PKI call sites.

pub use crate::asn1::keys::*;

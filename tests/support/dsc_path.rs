//! [`path::validate_dsc`] of a certificate given as DER, for the tests that build
//! certification paths from certificate files (`#[path = "support/dsc_path.rs"]`).
#![allow(clippy::unwrap_used)]

use emrtd::pki::cert::Certificate;
use emrtd::pki::path;
use emrtd::pki::store::TrustStore;

/// [`path::validate_dsc`] of `der`, which must parse.
pub fn validate_der(
    store: &TrustStore,
    der: &[u8],
    country: &str,
    at: time::OffsetDateTime,
) -> Result<path::PathResult, path::PathError> {
    path::validate_dsc(store, &Certificate::from_der(der).unwrap(), country, at)
}

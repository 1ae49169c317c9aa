//! Verification of a dump with a trust store at a fixed time, as `verify --dump` does
//! with no MRZ and no options (`#[path = "support/offline.rs"]`).

use emrtd::pki::store::TrustStore;
use emrtd::reader::Dump;
use emrtd::verify::{self, Input, Report};

/// `verify::verify` of `dump` against `store` at `at`.
pub fn verify_offline(dump: &Dump, store: &TrustStore, at: time::OffsetDateTime) -> Report {
    verify::verify(&Input {
        dump,
        store: Some(store),
        at,
        password: None,
        live: None,
        no_aa: false,
        no_ca: false,
        bac_requested: false,
        source: "test".into(),
    })
}

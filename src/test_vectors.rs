//! Unit tests' access to `test-vectors/` (the external vectors with provenance in
//! `test-vectors/MANIFEST.md`). Compiled for tests only.

/// Hex to bytes (a test's literal; a bad literal is a bug in the test).
pub(crate) fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// A JSON vector file of `test-vectors/protocol/`.
pub(crate) fn vectors(name: &str) -> serde_json::Value {
    let path = format!("{}/test-vectors/protocol/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A hex string of a vector file as bytes.
pub(crate) fn s(v: &serde_json::Value) -> Vec<u8> {
    h(v.as_str().unwrap())
}

/// The hex string at `key` of a vector object, as bytes.
pub(crate) fn hex_at(v: &serde_json::Value, key: &str) -> Vec<u8> {
    s(&v[key])
}

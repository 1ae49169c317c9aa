//! Content faults: a chip's files personalised with hostile TLV lengths.

use std::collections::BTreeMap;

use crate::emulator::profile::Profile;
use crate::lds::LdsFile;

use super::{ContentFault, Fault, FaultError};

/// Check a profile's faults against its files (content faults need a file with a TLV).
pub fn validate(profile: &Profile) -> Result<(), FaultError> {
    for f in &profile.faults {
        if let Fault::Content { file, what } = f {
            let kind = match what {
                ContentFault::ClaimedLength { .. } => "claimed_length",
                ContentFault::IndefiniteLength => "indefinite_length",
            };
            let Some(bytes) = profile.files.get(file) else {
                return Err(FaultError::File {
                    kind,
                    file: file.name(),
                    what: "is not in the profile",
                });
            };
            let header = crate::tlv::parse_header(bytes).map_err(|_| FaultError::File {
                kind,
                file: file.name(),
                what: "does not start with a TLV header",
            })?;
            if *what == ContentFault::IndefiniteLength && header.value_len.is_none() {
                return Err(FaultError::File {
                    kind,
                    file: file.name(),
                    what: "already has an indefinite length",
                });
            }
        }
    }
    Ok(())
}

/// The files the chip serves: the profile's, with the content faults applied. A
/// content fault on a file that is absent or does not start with a TLV header leaves
/// the file unchanged ([`validate`] reports those for TOML profiles).
pub fn personalise(files: &BTreeMap<LdsFile, Vec<u8>>, faults: &[Fault]) -> BTreeMap<LdsFile, Vec<u8>> {
    let mut out = files.clone();
    for f in faults {
        let Fault::Content { file, what } = f else {
            continue;
        };
        let Some(bytes) = out.get_mut(file) else {
            continue;
        };
        let Ok(header) = crate::tlv::parse_header(bytes) else {
            continue;
        };
        let tag_len = {
            let mut t = Vec::new();
            crate::tlv::encode_tag(header.tag, &mut t);
            t.len()
        };
        let (Some(tag_bytes), Some(value)) = (bytes.get(..tag_len), bytes.get(header.header_len..)) else {
            continue;
        };
        let mut new = tag_bytes.to_vec();
        match what {
            ContentFault::ClaimedLength { length } => {
                new.extend(encode_any_length(*length));
                new.extend_from_slice(value);
            }
            ContentFault::IndefiniteLength => {
                let value = match header.value_len {
                    Some(n) => value.get(..n).unwrap_or(value),
                    None => continue,
                };
                new.push(0x80);
                new.extend_from_slice(value);
                new.extend_from_slice(&[0, 0]);
            }
        }
        *bytes = new;
    }
    out
}

/// A definite BER length field for any 64-bit value (long form up to 8 octets).
pub(super) fn encode_any_length(len: u64) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let be = len.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    let octets = be.get(skip..).unwrap_or_default();
    let mut v = vec![0x80 | octets.len() as u8];
    v.extend_from_slice(octets);
    v
}

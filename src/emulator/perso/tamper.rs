//! Forgeries: the `[[tamper]]` entries, resolved and applied after signing.

use std::path::Path;

use crate::access::aa::AaSigner;
use crate::emulator::profile::Profile;
use crate::lds::LdsFile;
use crate::tlv;

use super::schema::{PersoToml, TamperToml, decode_hex, parse_file};
use super::{PersoError, lds_err, read};

/// A resolved tamper action.
#[derive(Debug, Clone)]
pub enum TamperAction {
    /// XOR 0x01 at `offset`.
    FlipByte {
        /// Offset.
        offset: usize,
    },
    /// Overwrite from `offset`.
    Replace {
        /// Offset.
        offset: usize,
        /// New bytes.
        bytes: Vec<u8>,
    },
    /// New content.
    Content(Vec<u8>),
    /// Keep the first bytes.
    Truncate(usize),
    /// Remove the file.
    Remove {
        /// Take its tag out of EF.COM.
        drop_from_com: bool,
    },
    /// Add an unsigned file.
    AddUnsigned(Vec<u8>),
    /// EF.COM tag list.
    ComTags(Vec<u8>),
    /// Flip the SOD signature.
    SodSignatureFlip,
    /// Flip the CardSecurity signature.
    CardSecuritySignatureFlip,
    /// Chip AA key.
    ChipAaKey(Box<AaSigner>),
    /// Chip CA key (scalar or exponent).
    ChipCaKey(zeroize::Zeroizing<Vec<u8>>),
}

/// One `[[tamper]]` entry, resolved.
#[derive(Debug, Clone)]
pub struct Tamper {
    /// The file acted on (None for chip keys).
    pub file: Option<LdsFile>,
    /// What is done.
    pub action: TamperAction,
    /// Rewrite the data group's hash in the SOD afterwards.
    pub update_sod_hash: bool,
}

// ---------------------------------------------------------------------------------
// tampering

fn resolve_tamper(
    index: usize,
    t: &TamperToml,
    profile: &Profile,
    base: &Path,
) -> Result<Tamper, PersoError> {
    let bad = |what: &str| PersoError::Tamper {
        index,
        what: what.to_owned(),
    };
    let file = match &t.file {
        Some(n) => Some(LdsFile::parse(n).ok_or_else(|| bad(&format!("unknown LDS file {n:?}")))?),
        None => None,
    };
    let actions = [
        t.flip_byte.is_some(),
        t.replace_hex.is_some(),
        t.hex.is_some() || t.path.is_some(),
        t.mrz.is_some(),
        t.truncate.is_some(),
        t.remove == Some(true),
        t.add_unsigned.is_some(),
        t.com_tags.is_some(),
        t.sod_signature_flip == Some(true),
        t.card_security_signature_flip == Some(true),
        t.chip_aa_private_key.is_some(),
        t.chip_ca_private_key.is_some(),
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        return Err(bad("give exactly one action"));
    }
    if t.offset.is_some() && t.replace_hex.is_none() {
        return Err(bad("`offset` goes with `replace_hex`"));
    }
    if t.drop_from_com.is_some() && t.remove != Some(true) {
        return Err(bad("`drop_from_com` goes with `remove`"));
    }
    let need_file = || file.ok_or_else(|| bad("this action needs `file`"));
    let (file, action) = if let Some(offset) = t.flip_byte {
        (Some(need_file()?), TamperAction::FlipByte { offset })
    } else if let Some(h) = &t.replace_hex {
        let bytes = decode_hex("tamper.replace_hex", h)?;
        let offset = t.offset.ok_or_else(|| bad("`replace_hex` needs `offset`"))?;
        (Some(need_file()?), TamperAction::Replace { offset, bytes })
    } else if t.hex.is_some() || t.path.is_some() {
        let bytes = match (&t.hex, &t.path) {
            (Some(h), None) => decode_hex("tamper.hex", h)?,
            (None, Some(p)) => read(&base.join(p))?,
            _ => return Err(bad("give one of `hex` or `path`")),
        };
        (Some(need_file()?), TamperAction::Content(bytes))
    } else if let Some(mrz) = &t.mrz {
        if file.is_some_and(|f| f != LdsFile::Dg(1)) {
            return Err(bad("`mrz` replaces DG1"));
        }
        let dg1 = crate::lds::dg1::Dg1::from_mrz(&crate::emulator::profile::normalise_mrz(mrz))
            .map_err(lds_err("DG1"))?;
        (Some(LdsFile::Dg(1)), TamperAction::Content(dg1.encode()))
    } else if let Some(n) = t.truncate {
        (Some(need_file()?), TamperAction::Truncate(n))
    } else if t.remove == Some(true) {
        (
            Some(need_file()?),
            TamperAction::Remove {
                drop_from_com: t.drop_from_com == Some(true),
            },
        )
    } else if let Some(a) = &t.add_unsigned {
        if file.is_some() {
            return Err(bad("`add_unsigned` names its own file"));
        }
        let f = parse_file("tamper.add_unsigned.file", &a.file)?;
        let bytes = match (&a.hex, &a.path) {
            (Some(h), None) => decode_hex("tamper.add_unsigned.hex", h)?,
            (None, Some(p)) => read(&base.join(p))?,
            _ => return Err(bad("`add_unsigned` needs one of `hex` or `path`")),
        };
        (Some(f), TamperAction::AddUnsigned(bytes))
    } else if let Some(tags) = &t.com_tags {
        (
            Some(LdsFile::Com),
            TamperAction::ComTags(decode_hex("tamper.com_tags", tags)?),
        )
    } else if t.sod_signature_flip == Some(true) {
        (Some(LdsFile::Sod), TamperAction::SodSignatureFlip)
    } else if t.card_security_signature_flip == Some(true) {
        (
            Some(LdsFile::CardSecurity),
            TamperAction::CardSecuritySignatureFlip,
        )
    } else if let Some(src) = &t.chip_aa_private_key {
        let bytes = zeroize::Zeroizing::new(match (&src.hex, &src.path) {
            (Some(h), None) => decode_hex("tamper.chip_aa_private_key", h)?,
            (None, Some(p)) => read(&base.join(p))?,
            _ => return Err(bad("`chip_aa_private_key` needs one of `hex` or `path`")),
        });
        let mut signer =
            AaSigner::from_pem_or_der(&bytes).map_err(|e| bad(&format!("chip_aa_private_key: {e}")))?;
        if let Some(h) = profile.aa.as_ref().and_then(AaSigner::hash) {
            signer = signer.with_hash(h);
        }
        (None, TamperAction::ChipAaKey(Box::new(signer)))
    } else if let Some(h) = &t.chip_ca_private_key {
        (
            None,
            TamperAction::ChipCaKey(zeroize::Zeroizing::new(decode_hex(
                "tamper.chip_ca_private_key",
                h,
            )?)),
        )
    } else {
        return Err(bad("give exactly one action"));
    };
    let update_sod_hash = t.update_sod_hash == Some(true);
    if update_sod_hash
        && !(matches!(file, Some(LdsFile::Dg(_)))
            && matches!(
                action,
                TamperAction::FlipByte { .. }
                    | TamperAction::Replace { .. }
                    | TamperAction::Content(_)
                    | TamperAction::Truncate(_)
            ))
    {
        return Err(bad("`update_sod_hash` goes with a change to a data group"));
    }
    Ok(Tamper {
        file,
        action,
        update_sod_hash,
    })
}

/// Flip the last byte of the (first) signature of the SignedData in `bytes`.
fn flip_signature(bytes: &mut [u8], what: &str, index: usize) -> Result<(), PersoError> {
    let bad = |w: String| PersoError::Tamper { index, what: w };
    let content = match tlv::parse(bytes) {
        Ok(t) if t.tag == 0x77 => t.value,
        Ok(_) => &*bytes,
        Err(e) => return Err(bad(format!("{what} does not parse: {e}"))),
    };
    let sd = crate::cms::SignedData::parse(content).map_err(|e| bad(format!("{what}: {e}")))?;
    let sig = sd
        .signer_infos
        .first()
        .map(|s| s.signature.clone())
        .ok_or_else(|| bad(format!("{what} has no SignerInfo")))?;
    let pos = find_last(bytes, &sig).ok_or_else(|| bad(format!("{what}: signature not found")))?;
    let last = pos + sig.len() - 1;
    let b = bytes
        .get_mut(last)
        .ok_or_else(|| bad(format!("{what}: signature out of range")))?;
    *b ^= 0x01;
    Ok(())
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len())
        .rev()
        .find(|&i| hay.get(i..i + needle.len()) == Some(needle))
}

fn find_first(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay.get(i..i + needle.len()) == Some(needle))
}

/// Change EF.COM's tag list (when the chip has an EF.COM).
fn edit_com(profile: &mut Profile, index: usize, edit: impl FnOnce(&mut Vec<u8>)) -> Result<(), PersoError> {
    let Some(bytes) = profile.files.get(&LdsFile::Com) else {
        return Ok(());
    };
    let mut com = crate::lds::com::Com::decode(bytes).map_err(|e| PersoError::Tamper {
        index,
        what: format!("EF.COM does not decode: {e}"),
    })?;
    edit(&mut com.tag_list);
    profile.files.insert(LdsFile::Com, com.encode());
    Ok(())
}

/// Apply the `[[tamper]]` entries in order, after signing.
pub fn apply_tampers(profile: &mut Profile, t: &PersoToml, base: &Path) -> Result<(), PersoError> {
    for (index, entry) in t.tamper.iter().enumerate() {
        let tamper = resolve_tamper(index, entry, profile, base)?;
        apply(profile, &tamper, index)?;
        profile.personalisation.tamper.push(tamper);
    }
    Ok(())
}

fn apply(profile: &mut Profile, tamper: &Tamper, index: usize) -> Result<(), PersoError> {
    let bad = |what: String| PersoError::Tamper { index, what };
    let file = tamper.file;
    let before = file.and_then(|f| profile.files.get(&f).cloned());
    let existing = |p: &mut Profile| -> Result<LdsFile, PersoError> {
        let f = file.ok_or_else(|| bad("no file".into()))?;
        if p.files.contains_key(&f) {
            Ok(f)
        } else {
            Err(bad(format!("{} is not on the chip", f.name())))
        }
    };
    match &tamper.action {
        TamperAction::FlipByte { offset } => {
            let f = existing(profile)?;
            let b = profile
                .files
                .get_mut(&f)
                .and_then(|v| v.get_mut(*offset))
                .ok_or_else(|| bad(format!("offset {offset} is past the end of {}", f.name())))?;
            *b ^= 0x01;
        }
        TamperAction::Replace { offset, bytes } => {
            let f = existing(profile)?;
            let content = profile.files.get_mut(&f).ok_or_else(|| bad("no file".into()))?;
            let end = offset
                .checked_add(bytes.len())
                .filter(|e| *e <= content.len())
                .ok_or_else(|| bad(format!("replacement runs past the end of {}", f.name())))?;
            if let Some(dst) = content.get_mut(*offset..end) {
                dst.copy_from_slice(bytes);
            }
        }
        TamperAction::Content(bytes) => {
            let f = existing(profile)?;
            profile.files.insert(f, bytes.clone());
        }
        TamperAction::Truncate(n) => {
            let f = existing(profile)?;
            if let Some(v) = profile.files.get_mut(&f) {
                if *n >= v.len() {
                    return Err(bad(format!("{} is only {} bytes", f.name(), v.len())));
                }
                v.truncate(*n);
            }
        }
        TamperAction::Remove { drop_from_com } => {
            let f = existing(profile)?;
            profile.files.remove(&f);
            if *drop_from_com && let Some(tag) = f.tag().and_then(|t| u8::try_from(t).ok()) {
                edit_com(profile, index, |list| list.retain(|t| *t != tag))?;
            }
        }
        TamperAction::AddUnsigned(bytes) => {
            let f = file.ok_or_else(|| bad("no file".into()))?;
            if profile.files.contains_key(&f) {
                return Err(bad(format!("{} is already on the chip", f.name())));
            }
            profile.files.insert(f, bytes.clone());
            if let (LdsFile::Dg(_), Some(tag)) = (f, f.tag().and_then(|t| u8::try_from(t).ok())) {
                edit_com(profile, index, |list| {
                    if !list.contains(&tag) {
                        list.push(tag);
                    }
                })?;
            }
        }
        TamperAction::ComTags(tags) => {
            existing(profile)?;
            edit_com(profile, index, |list| *list = tags.clone())?;
        }
        TamperAction::SodSignatureFlip | TamperAction::CardSecuritySignatureFlip => {
            let f = existing(profile)?;
            if let Some(v) = profile.files.get_mut(&f) {
                flip_signature(v, &f.name(), index)?;
            }
        }
        TamperAction::ChipAaKey(signer) => profile.aa = Some((**signer).clone()),
        TamperAction::ChipCaKey(k) => profile.ca_private_key = Some(k.to_vec()),
    }
    if tamper.update_sod_hash {
        let (Some(LdsFile::Dg(n)), Some(old)) = (file, before) else {
            return Err(bad(
                "`update_sod_hash` needs a data group that was on the chip".into()
            ));
        };
        let sod_bytes = profile
            .files
            .get(&LdsFile::Sod)
            .ok_or_else(|| bad("no EF.SOD to update".into()))?;
        let sod = crate::lds::sod::Sod::decode(sod_bytes).map_err(|e| bad(format!("EF.SOD: {e}")))?;
        let alg = sod.hash_algorithm().map_err(|e| bad(format!("EF.SOD: {e}")))?;
        let old_hash = alg.digest(&old);
        if sod.dg_hash(n) != Some(old_hash.as_slice()) {
            return Err(bad(format!("EF.SOD does not hold DG{n}'s hash")));
        }
        let new = profile.files.get(&LdsFile::Dg(n)).cloned().unwrap_or_default();
        let new_hash = alg.digest(&new);
        let sod_bytes = profile
            .files
            .get_mut(&LdsFile::Sod)
            .ok_or_else(|| bad("no EF.SOD".into()))?;
        let pos = find_first(sod_bytes, &old_hash).ok_or_else(|| bad("hash not found in EF.SOD".into()))?;
        if let Some(dst) = sod_bytes.get_mut(pos..pos + new_hash.len()) {
            dst.copy_from_slice(&new_hash);
        }
    }
    Ok(())
}

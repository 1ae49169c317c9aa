//! Data groups built from the profile's tables: DG1 from `dg1_mrz`, DG2 from a face image,
//! DG11 and DG12 from tables, DG14 from the Chip Authentication key (Doc 9303 Part 10 §4.7).

use std::path::Path;

use crate::access::aa::AaSigner;
use crate::asn1::signature::HashAlgorithm;
use crate::emulator::profile::{PaceEntry, Profile};
use crate::lds::LdsFile;
use crate::lds::security_infos::{
    ActiveAuthenticationInfo, AlgorithmIdentifier, CaProtocol, ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo, SecurityInfo, SecurityInfos, SubjectPublicKeyInfo,
};

use super::schema::{CaToml, Dg11Toml, Dg12Toml, PersoToml, cipher_by_name};
use super::{PersoError, invalid, lds_err, read};

// ---------------------------------------------------------------------------------
// data groups

/// DG2 from a face image, optionally padded to `pad_to` bytes.
pub fn build_dg2(
    image: &[u8],
    width: Option<u16>,
    height: Option<u16>,
    pad_to: Option<usize>,
) -> Result<Vec<u8>, PersoError> {
    use crate::lds::face::{FaceImageDataType, encode_dg2_19794};
    use crate::lds::image::{self, ImageFormat};
    let format = image::detect(image).ok_or_else(|| invalid("dg2.face", "neither JPEG nor JPEG 2000"))?;
    let image_type = match format {
        ImageFormat::Jpeg => FaceImageDataType::Jpeg,
        ImageFormat::Jp2 | ImageFormat::J2k => FaceImageDataType::Jpeg2000,
        other => {
            return Err(invalid(
                "dg2.face",
                format!("{other:?} is not a face image format of ISO/IEC 19794-5"),
            ));
        }
    };
    let (w, h) = match (width, height) {
        (Some(w), Some(h)) => (w, h),
        _ => {
            let d =
                image::dimensions(image).map_err(|e| invalid("dg2.face", format!("no dimensions: {e}")))?;
            (
                width.unwrap_or(u16::try_from(d.width).unwrap_or(u16::MAX)),
                height.unwrap_or(u16::try_from(d.height).unwrap_or(u16::MAX)),
            )
        }
    };
    let encode = |img: &[u8]| encode_dg2_19794(img, image_type, w, h).map_err(lds_err("DG2"));
    let plain = encode(image)?;
    let Some(target) = pad_to else {
        return Ok(plain);
    };
    if target < plain.len() {
        return Err(invalid(
            "dg2.pad_to",
            format!(
                "{target} is smaller than the unpadded DG2 ({} bytes)",
                plain.len()
            ),
        ));
    }
    // the length fields grow with the padding: converge in a few steps
    let mut pad = target - plain.len();
    for _ in 0..8 {
        let padded = pad_image(image, format, pad)?;
        let dg2 = encode(&padded)?;
        match dg2.len().cmp(&target) {
            std::cmp::Ordering::Equal => return Ok(dg2),
            std::cmp::Ordering::Greater => pad = pad.saturating_sub(dg2.len() - target),
            std::cmp::Ordering::Less => pad += target - dg2.len(),
        }
    }
    Err(invalid(
        "dg2.pad_to",
        format!("cannot pad DG2 to exactly {target} bytes"),
    ))
}

/// `image` with about `pad` more bytes that decoders skip: JPEG COM segments after
/// SOI (ISO/IEC 10918-1 B.2.4.5), a JP2 `free` box at the end (ISO/IEC 15444-1 I.4: a
/// reader ignores boxes it does not know), a J2K COM marker segment after SIZ's end
/// is not attempted (codestream padding is refused).
fn pad_image(
    image: &[u8],
    format: crate::lds::image::ImageFormat,
    pad: usize,
) -> Result<Vec<u8>, PersoError> {
    use crate::lds::image::ImageFormat;
    if pad == 0 {
        return Ok(image.to_vec());
    }
    match format {
        ImageFormat::Jpeg => {
            let (soi, rest) = image
                .split_at_checked(2)
                .ok_or_else(|| invalid("dg2.face", "short JPEG"))?;
            let mut out = soi.to_vec();
            let mut left = pad;
            while left > 0 {
                // a segment is at least 4 bytes (marker + length); 65535 at most
                let seg = left.clamp(4, 65_535 + 2);
                let body = seg - 4;
                out.extend_from_slice(&[0xFF, 0xFE]);
                out.extend_from_slice(&u16::try_from(body + 2).unwrap_or(u16::MAX).to_be_bytes());
                out.extend(std::iter::repeat_n(0u8, body));
                left = left.saturating_sub(seg);
            }
            out.extend_from_slice(rest);
            Ok(out)
        }
        ImageFormat::Jp2 => {
            let len = pad.max(8);
            let mut out = image.to_vec();
            out.extend_from_slice(
                &u32::try_from(len)
                    .map_err(|_| invalid("dg2.pad_to", "too large"))?
                    .to_be_bytes(),
            );
            out.extend_from_slice(b"free");
            out.extend(std::iter::repeat_n(0u8, len - 8));
            Ok(out)
        }
        _ => Err(invalid("dg2.pad_to", "padding needs a JPEG or JP2 face")),
    }
}

/// DG11 from its table (tag list written).
pub fn build_dg11(t: &Dg11Toml) -> Vec<u8> {
    use crate::lds::dg11::Dg11;
    use crate::lds::quirk::DateField;
    let mut d = Dg11 {
        full_name: t.full_name.clone(),
        other_names: t.other_names.clone(),
        personal_number: t.personal_number.clone(),
        full_date_of_birth: t.full_date_of_birth.as_deref().map(DateField::ascii),
        place_of_birth: t.place_of_birth.clone(),
        address: t.address.clone(),
        telephone: t.telephone.clone(),
        profession: t.profession.clone(),
        title: t.title.clone(),
        personal_summary: t.personal_summary.clone(),
        other_td_numbers: t.other_td_numbers.clone(),
        custody_information: t.custody_information.clone(),
        ..Dg11::default()
    };
    d.update_tag_list();
    d.encode()
}

/// DG12 from its table (tag list written).
pub fn build_dg12(t: &Dg12Toml) -> Vec<u8> {
    use crate::lds::dg12::Dg12;
    use crate::lds::quirk::DateField;
    let mut d = Dg12 {
        issuing_authority: t.issuing_authority.clone(),
        date_of_issue: t.date_of_issue.as_deref().map(DateField::ascii),
        other_persons: t.other_persons.clone(),
        endorsements: t.endorsements.clone(),
        tax_exit_requirements: t.tax_exit_requirements.clone(),
        personalisation_time: t.personalisation_time.as_deref().map(DateField::ascii),
        personalisation_device_serial: t.personalisation_device_serial.clone(),
        ..Dg12::default()
    };
    d.update_tag_list();
    d.encode()
}

/// The curve of a standardized EC domain parameter id (Doc 9303 Part 11 Table 4).
fn standardized_curve(id: u32) -> Option<&'static str> {
    Some(match id {
        8 => "secp192r1",
        9 => "brainpoolP192r1",
        10 => "secp224r1",
        11 => "brainpoolP224r1",
        12 => "secp256r1",
        13 => "brainpoolP256r1",
        14 => "brainpoolP320r1",
        15 => "secp384r1",
        16 => "brainpoolP384r1",
        17 => "brainpoolP512r1",
        18 => "secp521r1",
        _ => return None,
    })
}

/// The ChipAuthenticationPublicKeyInfo's key for private key `sk` on standardized
/// domain parameters `ca.parameter_id`.
pub fn ca_public_key(ca: &CaToml, sk: &[u8]) -> Result<(bool, SubjectPublicKeyInfo), PersoError> {
    use crate::access::pace::{DomainParams, Element, PrivateKey};
    let params = DomainParams::standardized(ca.parameter_id).map_err(PersoError::CaKey)?;
    let sk = PrivateKey::from_bytes(sk).map_err(PersoError::CaKey)?;
    let public = params
        .multiply(&params.generator().map_err(PersoError::CaKey)?, sk.as_bn())
        .map_err(PersoError::CaKey)?;
    let ecdh = params.is_ec();
    let form = ca
        .domain_parameters
        .as_deref()
        .unwrap_or(if ecdh { "explicit" } else { "standardized" });
    let key_bytes = match &public {
        Element::Ec(_) => params.encode(&public).map_err(PersoError::CaKey)?,
        Element::Dh(y) => crate::lds::security_infos::asn1::encode_unsigned(&y.to_vec()),
    };
    let algorithm = match form {
        "standardized" => AlgorithmIdentifier::standardized(ca.parameter_id),
        "explicit" if ecdh => {
            let curve = standardized_curve(ca.parameter_id)
                .and_then(crate::pki::keys::curve_by_name)
                .ok_or_else(|| invalid("ca.parameter_id", "no named curve for this id"))?;
            AlgorithmIdentifier {
                oid: crate::lds::security_infos::oid::ID_EC_PUBLIC_KEY,
                parameters: Some(crate::pki::keys::explicit_parameters_der(curve)?),
            }
        }
        other => {
            return Err(invalid(
                "ca.domain_parameters",
                format!("{other:?} (\"explicit\" for EC keys, or \"standardized\")"),
            ));
        }
    };
    Ok((ecdh, SubjectPublicKeyInfo::new(algorithm, key_bytes)))
}

/// SecurityInfos as DER: a SET OF, elements in DER order (X.690 §11.6).
pub(super) fn sorted_infos(infos: Vec<SecurityInfo>) -> SecurityInfos {
    let mut infos = infos;
    infos.sort_by_key(SecurityInfo::encode);
    SecurityInfos::from_infos(infos)
}

/// The Chip Authentication infos of `[ca]` for private key `sk`.
pub(super) fn ca_infos(sk: &[u8], ca: &CaToml) -> Result<Vec<SecurityInfo>, PersoError> {
    let (ecdh, spki) = ca_public_key(ca, sk)?;
    let cipher = cipher_by_name(ca.cipher.as_deref().unwrap_or("AES-128"))?;
    let version = ca.version.unwrap_or(1);
    // version 3 only publishes the info (a chip the reader must report as offering a
    // version it does not run); the emulator runs versions 1 and 2
    if !matches!(version, 1..=3) {
        return Err(invalid("ca.version", format!("{version} is not 1, 2 or 3")));
    }
    let mut infos = vec![SecurityInfo::ChipAuthenticationPublicKey(
        ChipAuthenticationPublicKeyInfo::new(ecdh, spki, ca.key_id),
    )];
    if ca.info != Some(false) {
        infos.insert(
            0,
            SecurityInfo::ChipAuthentication(ChipAuthenticationInfo::new(
                CaProtocol { ecdh, cipher },
                version,
                ca.key_id,
            )),
        );
    }
    Ok(infos)
}

/// The ChipAuthenticationPublicKeyInfo of a separate PACE-CAM key (`cam_private_key`):
/// on the curve of `[ca]`, with keyId = the parameterId of the PACE-CAM entry (BSI
/// TR-03110-3 A.1.1.1) and no ChipAuthenticationInfo (it serves PACE-CAM only). `[ca]`
/// then needs its own keyId, another one: with two keys every structure carries one
/// (A.1.1.2).
pub(super) fn cam_key_info(
    cam_sk: &[u8],
    ca: &CaToml,
    pace: &[PaceEntry],
) -> Result<SecurityInfo, PersoError> {
    let entry = pace
        .iter()
        .find(|p| p.mapping.eq_ignore_ascii_case("ECDH-CAM"))
        .ok_or_else(|| invalid("cam_private_key", "no [[pace]] entry with mapping ECDH-CAM"))?;
    if entry.parameter_id != ca.parameter_id {
        return Err(invalid(
            "cam_private_key",
            format!(
                "the PACE-CAM entry's parameter_id {} differs from [ca] parameter_id {}",
                entry.parameter_id, ca.parameter_id
            ),
        ));
    }
    let key_id = u64::from(entry.parameter_id);
    if ca.key_id.is_none_or(|k| k == key_id) {
        return Err(invalid(
            "ca.key_id",
            format!("with cam_private_key, [ca] needs a keyId other than the CAM key's ({key_id})"),
        ));
    }
    let (ecdh, spki) = ca_public_key(ca, cam_sk)?;
    Ok(SecurityInfo::ChipAuthenticationPublicKey(
        ChipAuthenticationPublicKeyInfo::new(ecdh, spki, Some(key_id)),
    ))
}

pub(super) fn profile_ca_key(profile: &Profile) -> Result<&[u8], PersoError> {
    profile
        .ca_private_key
        .as_deref()
        .ok_or_else(|| invalid("ca", "[ca] needs ca_private_key"))
}

pub(super) fn pace_infos(pace: &[PaceEntry]) -> Result<Vec<SecurityInfo>, PersoError> {
    use crate::lds::security_infos::PaceInfo;
    pace.iter()
        .map(|e| {
            e.protocol()
                .map(|p| SecurityInfo::Pace(PaceInfo::new(p, Some(e.parameter_id))))
                .map_err(|err| invalid("pace", err.to_string()))
        })
        .collect()
}

/// Generate the data groups the personalisation tables ask for (before EF.COM, DG1
/// and DG15 are generated and before signing).
pub fn build_data_groups(profile: &mut Profile, t: &PersoToml, base: &Path) -> Result<(), PersoError> {
    if let Some(mrz) = &t.dg1_mrz
        && !profile.files.contains_key(&LdsFile::Dg(1))
    {
        let dg1 = crate::lds::dg1::Dg1::from_mrz(&crate::emulator::profile::normalise_mrz(mrz))
            .map_err(lds_err("DG1"))?;
        profile.files.insert(LdsFile::Dg(1), dg1.encode());
    }
    if let Some(d) = &t.dg2
        && !profile.files.contains_key(&LdsFile::Dg(2))
    {
        let image = read(&base.join(&d.face))?;
        profile
            .files
            .insert(LdsFile::Dg(2), build_dg2(&image, d.width, d.height, d.pad_to)?);
    }
    if let Some(d) = &t.dg11 {
        profile
            .files
            .entry(LdsFile::Dg(11))
            .or_insert_with(|| build_dg11(d));
    }
    if let Some(d) = &t.dg12 {
        profile
            .files
            .entry(LdsFile::Dg(12))
            .or_insert_with(|| build_dg12(d));
    }
    if let Some(ca) = &t.ca
        && !profile.files.contains_key(&LdsFile::Dg(14))
    {
        let dg14 = build_dg14(
            ca,
            profile_ca_key(profile)?,
            profile.cam_private_key.as_deref(),
            &profile.pace,
            profile.aa.as_ref(),
        )?;
        profile.files.insert(LdsFile::Dg(14), dg14);
    }
    Ok(())
}

/// DG14 (Doc 9303 Part 10 §4.7.14): the Chip Authentication infos of `ca` for the
/// private key `ca_private_key` (and of a separate PACE-CAM key), the PACEInfos of
/// `pace`, and the ActiveAuthenticationInfo of an ECDSA `aa` key; DER SET order.
pub fn build_dg14(
    ca: &CaToml,
    ca_private_key: &[u8],
    cam_private_key: Option<&[u8]>,
    pace: &[PaceEntry],
    aa: Option<&AaSigner>,
) -> Result<Vec<u8>, PersoError> {
    let mut infos = ca_infos(ca_private_key, ca)?;
    if let Some(cam) = cam_private_key {
        infos.push(cam_key_info(cam, ca, pace)?);
    }
    infos.extend(pace_infos(pace)?);
    if let Some(aa) = aa.filter(|a| !a.is_rsa()) {
        let hash = aa
            .hash()
            .or_else(|| aa.ec_order_bits().map(HashAlgorithm::for_order_bits))
            .unwrap_or(HashAlgorithm::Sha256);
        infos.push(SecurityInfo::ActiveAuthentication(ActiveAuthenticationInfo::new(
            hash.ecdsa_plain_oid(),
        )));
    }
    Ok(crate::lds::dg14::Dg14::from(sorted_infos(infos)).encode())
}

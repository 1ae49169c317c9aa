//! The PACE commands and their data objects (Doc 9303 Part 11 §4.4.4, §4.4.5; BSI
//! TR-03110-3 B.1, B.11.1, D.3.3):
//!
//! * MSE:Set AT `00 22 C1 A4` with `80` protocol OID, `83` password reference,
//!   `84` domain parameter ID (when needed);
//! * GENERAL AUTHENTICATE `x0 86 00 00`, command chaining (CLA `10`) for all but the
//!   last, data in the dynamic authentication data object `7C`: `80` encrypted nonce,
//!   `81`/`82` mapping data, `83`/`84` ephemeral public keys, `85`/`86` tokens,
//!   `8A` encrypted chip authentication data (PACE-CAM);
//! * the public key data object `7F49 { 06 OID, 86 point | 84 DH value }` the tokens
//!   are computed over.

use crate::apdu::{Command, MAX_SHORT_LE};
use crate::lds::security_infos::Oid;
use crate::tlv::{self, Reader};

/// INS of MSE.
pub const INS_MSE: u8 = 0x22;
/// INS of GENERAL AUTHENTICATE.
pub const INS_GENERAL_AUTHENTICATE: u8 = 0x86;
/// Dynamic authentication data.
pub const TAG_DYNAMIC_AUTH: u32 = 0x7C;
/// Public key data object.
pub const TAG_PUBLIC_KEY: u32 = 0x7F49;

/// Tags inside `7C`.
pub mod tag {
    /// Encrypted nonce (chip → terminal).
    pub const ENCRYPTED_NONCE: u32 = 0x80;
    /// Mapping data, terminal → chip (GM: public key; IM: nonce t).
    pub const MAPPING_PCD: u32 = 0x81;
    /// Mapping data, chip → terminal (GM: public key).
    pub const MAPPING_PICC: u32 = 0x82;
    /// Ephemeral public key of the terminal.
    pub const EPHEMERAL_PCD: u32 = 0x83;
    /// Ephemeral public key of the chip.
    pub const EPHEMERAL_PICC: u32 = 0x84;
    /// Authentication token of the terminal.
    pub const TOKEN_PCD: u32 = 0x85;
    /// Authentication token of the chip.
    pub const TOKEN_PICC: u32 = 0x86;
    /// Certification authority reference (EAC chips, most recent).
    pub const CAR_1: u32 = 0x87;
    /// Certification authority reference (EAC chips, previous).
    pub const CAR_2: u32 = 0x88;
    /// Encrypted chip authentication data A_IC (PACE-CAM).
    pub const CAM_DATA: u32 = 0x8A;
}

/// Password references of tag 83 (Doc 9303 Part 11 §4.4.4.1, TR-03110-3 D.2.1.1).
pub mod key_ref {
    /// MRZ.
    pub const MRZ: u8 = 0x01;
    /// CAN.
    pub const CAN: u8 = 0x02;
    /// PIN.
    pub const PIN: u8 = 0x03;
    /// PUK.
    pub const PUK: u8 = 0x04;
}

/// MSE:Set AT for PACE.
pub fn mse_set_at(protocol: &Oid, password_ref: u8, parameter_id: Option<u32>) -> Command {
    let mut data = tlv::encode(0x80, protocol.as_bytes());
    tlv::encode_into(0x83, &[password_ref], &mut data);
    if let Some(id) = parameter_id {
        tlv::encode_into(0x84, &tlv::minimal_uint(u64::from(id)), &mut data);
    }
    Command::new(0x00, INS_MSE, 0xC1, 0xA4).with_data(data)
}

/// GENERAL AUTHENTICATE with the given data objects wrapped in `7C`; `last == false`
/// sets the chaining bit (CLA 10).
pub fn general_authenticate(objects: &[(u32, &[u8])], last: bool) -> Command {
    let mut inner = Vec::new();
    for (t, v) in objects {
        tlv::encode_into(*t, v, &mut inner);
    }
    let cla = if last { 0x00 } else { 0x10 };
    Command::new(cla, INS_GENERAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(tlv::encode(TAG_DYNAMIC_AUTH, &inner))
        .with_le(MAX_SHORT_LE)
}

/// Wrap response data objects in `7C`.
pub fn dynamic_auth_data(objects: &[(u32, &[u8])]) -> Vec<u8> {
    let mut inner = Vec::new();
    for (t, v) in objects {
        tlv::encode_into(*t, v, &mut inner);
    }
    tlv::encode(TAG_DYNAMIC_AUTH, &inner)
}

/// The data objects inside a `7C` (empty data — a bare status word — gives none).
pub fn parse_dynamic_auth_data(data: &[u8]) -> Result<Vec<(u32, &[u8])>, &'static str> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let outer = tlv::parse(data).map_err(|_| "not a TLV")?;
    if outer.tag != TAG_DYNAMIC_AUTH {
        return Err("not a dynamic authentication data object (7C)");
    }
    if outer.raw.len() != data.len() {
        return Err("bytes after the dynamic authentication data object");
    }
    let mut out = Vec::new();
    for t in Reader::new(outer.value) {
        let t = t.map_err(|_| "malformed data object inside 7C")?;
        out.push((t.tag, t.value));
    }
    Ok(out)
}

/// The value of `tag` among parsed data objects.
pub fn find<'a>(objects: &[(u32, &'a [u8])], tag: u32) -> Option<&'a [u8]> {
    objects.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v)
}

/// The public key data object `7F49 { 06 protocol, tag key }` authentication tokens
/// are computed over (Doc 9303 Part 11 §4.4.3.4, §9.4; `key_tag` 86 for EC points,
/// 84 for DH values).
pub fn public_key_data_object(protocol: &Oid, key_tag: u32, key: &[u8]) -> Vec<u8> {
    let mut inner = tlv::encode(0x06, protocol.as_bytes());
    tlv::encode_into(key_tag, key, &mut inner);
    tlv::encode(TAG_PUBLIC_KEY, &inner)
}

/// Parsed MSE:Set AT data (chip side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MseSetAt {
    /// Tag 80: protocol OID.
    pub protocol: Oid,
    /// Tag 83: password reference.
    pub password_ref: u8,
    /// Tag 84: domain parameter ID, when present.
    pub parameter_id: Option<u32>,
}

/// Parse the data of MSE:Set AT for PACE (unknown objects such as a CHAT `7F4C` are ignored).
pub fn parse_mse_set_at(data: &[u8]) -> Result<MseSetAt, &'static str> {
    let mut protocol = None;
    let mut password_ref = None;
    let mut parameter_id = None;
    for t in Reader::new(data) {
        let t = t.map_err(|_| "malformed MSE:Set AT data")?;
        match t.tag {
            0x80 => protocol = Some(Oid::from_bytes(t.value).map_err(|_| "invalid protocol OID")?),
            0x83 => match t.value {
                [r] => password_ref = Some(*r),
                _ => return Err("password reference is not one byte"),
            },
            0x84 => {
                if t.value.is_empty() || t.value.len() > 4 {
                    return Err("invalid domain parameter ID");
                }
                parameter_id = Some(t.value.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)));
            }
            _ => {}
        }
    }
    Ok(MseSetAt {
        protocol: protocol.ok_or("no protocol OID (80)")?,
        password_ref: password_ref.ok_or("no password reference (83)")?,
        parameter_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_set_at_as_printed_in_g1() {
        let oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");
        assert_eq!(
            hex::encode_upper(mse_set_at(&oid, key_ref::MRZ, None).encode().unwrap()),
            "0022C1A40F800A04007F00070202040202830101"
        );
        assert_eq!(
            hex::encode_upper(mse_set_at(&oid, key_ref::MRZ, Some(13)).encode().unwrap()),
            "0022C1A412800A04007F0007020204020283010184010D"
        );
        let parsed = parse_mse_set_at(&mse_set_at(&oid, key_ref::CAN, Some(0)).data).unwrap();
        assert_eq!(
            parsed,
            MseSetAt {
                protocol: oid,
                password_ref: 2,
                parameter_id: Some(0)
            }
        );
    }

    #[test]
    fn general_authenticate_chaining() {
        assert_eq!(
            hex::encode_upper(general_authenticate(&[], false).encode().unwrap()),
            "10860000027C0000"
        );
        let t = hex::decode("C2B0BD78D94BA866").unwrap();
        assert_eq!(
            hex::encode_upper(
                general_authenticate(&[(tag::TOKEN_PCD, &t)], true)
                    .encode()
                    .unwrap()
            ),
            "008600000C7C0A8508C2B0BD78D94BA86600"
        );
    }

    #[test]
    fn dynamic_auth_data_parsing() {
        assert_eq!(parse_dynamic_auth_data(&[]).unwrap(), vec![]);
        assert_eq!(parse_dynamic_auth_data(&[0x7C, 0x00]).unwrap(), vec![]);
        let d = hex::decode("7C0A86083ABB9674BCE93C08").unwrap();
        let objs = parse_dynamic_auth_data(&d).unwrap();
        assert_eq!(find(&objs, tag::TOKEN_PICC).unwrap().len(), 8);
        assert!(parse_dynamic_auth_data(&[0x7D, 0x00]).is_err());
        assert!(parse_dynamic_auth_data(&[0x7C, 0x02, 0x80]).is_err());
        assert!(parse_dynamic_auth_data(&[0x7C, 0x00, 0x00]).is_err());
    }
}

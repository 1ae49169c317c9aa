//! The Chip Authentication commands (Doc 9303 Part 11 §6.2.4; BSI TR-03110-3 B.1, B.11):
//!
//! * MSE:Set KAT `00 22 41 A6`, data `91` ephemeral public key, `84` keyId (when
//!   needed): key agreement in one command, the legacy form for 3DES;
//! * MSE:Set AT `00 22 41 A4`, data `80` CA protocol OID, `84` keyId (when needed),
//!   then GENERAL AUTHENTICATE `00 86 00 00`, data `7C { 80 ephemeral public key }`,
//!   answered with `7C 00` (version 1).
//!
//! The keyId is written as a minimal big-endian unsigned number (keyId 195 is `84 01 C3`,
//! as the German passport of the gmrtd sessions accepted it).

use crate::access::pace::apdus::{INS_GENERAL_AUTHENTICATE, INS_MSE, TAG_DYNAMIC_AUTH};
use crate::apdu::{Command, MAX_SHORT_LE};
use crate::lds::security_infos::Oid;
use crate::tlv::{self, Reader};

/// P1 of MSE for Chip Authentication: set for computation / internal authentication.
pub const P1_CA: u8 = 0x41;
/// P2 of MSE:Set KAT (key agreement template).
pub const P2_KAT: u8 = 0xA6;
/// P2 of MSE:Set AT (authentication template).
pub const P2_AT: u8 = 0xA4;
/// Tag of the ephemeral public key in MSE:Set KAT.
pub const TAG_KAT_PUBLIC_KEY: u32 = 0x91;
/// Tag of the ephemeral public key inside `7C` of GENERAL AUTHENTICATE.
pub const TAG_GA_PUBLIC_KEY: u32 = 0x80;
/// Tag of the protocol OID in MSE:Set AT.
pub const TAG_PROTOCOL: u32 = 0x80;
/// Tag of the private key reference (keyId).
pub const TAG_KEY_ID: u32 = 0x84;

fn parse_key_id(value: &[u8]) -> Result<u64, &'static str> {
    if value.is_empty() || value.len() > 8 {
        return Err("invalid private key reference (84)");
    }
    Ok(value.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
}

/// One of the two MSE templates of Chip Authentication: its P2, the tag of its first
/// data object, and the texts of what can be wrong in its data.
struct Template {
    p2: u8,
    tag: u32,
    malformed: &'static str,
    unexpected: &'static str,
}

const KAT: Template = Template {
    p2: P2_KAT,
    tag: TAG_KAT_PUBLIC_KEY,
    malformed: "malformed MSE:Set KAT data",
    unexpected: "unexpected data object in MSE:Set KAT",
};

const AT: Template = Template {
    p2: P2_AT,
    tag: TAG_PROTOCOL,
    malformed: "malformed MSE:Set AT data",
    unexpected: "unexpected data object in MSE:Set AT",
};

impl Template {
    /// The command: the template's data object, then the keyId when there is one.
    fn command(&self, value: &[u8], key_id: Option<u64>) -> Command {
        let mut data = tlv::encode(self.tag, value);
        if let Some(id) = key_id {
            tlv::encode_into(TAG_KEY_ID, &tlv::minimal_uint(id), &mut data);
        }
        Command::new(0x00, INS_MSE, P1_CA, self.p2).with_data(data)
    }

    /// The template's data object (read by `read`) and the keyId, each when present.
    fn parse<T>(
        &self,
        data: &[u8],
        read: impl Fn(&[u8]) -> Result<T, &'static str>,
    ) -> Result<(Option<T>, Option<u64>), &'static str> {
        let mut value = None;
        let mut key_id = None;
        for t in Reader::new(data) {
            let t = t.map_err(|_| self.malformed)?;
            match t.tag {
                TAG_KEY_ID => key_id = Some(parse_key_id(t.value)?),
                tag if tag == self.tag => value = Some(read(t.value)?),
                _ => return Err(self.unexpected),
            }
        }
        Ok((value, key_id))
    }
}

/// MSE:Set KAT with the terminal's ephemeral public key.
pub fn mse_set_kat(ephemeral_public_key: &[u8], key_id: Option<u64>) -> Command {
    KAT.command(ephemeral_public_key, key_id)
}

/// MSE:Set AT selecting the CA protocol (and key).
pub fn mse_set_at(protocol: &Oid, key_id: Option<u64>) -> Command {
    AT.command(protocol.as_bytes(), key_id)
}

/// GENERAL AUTHENTICATE with the terminal's ephemeral public key.
pub fn general_authenticate(ephemeral_public_key: &[u8]) -> Command {
    let inner = tlv::encode(TAG_GA_PUBLIC_KEY, ephemeral_public_key);
    Command::new(0x00, INS_GENERAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(tlv::encode(TAG_DYNAMIC_AUTH, &inner))
        .with_le(MAX_SHORT_LE)
}

/// True for MSE:Set KAT or MSE:Set AT with the Chip Authentication P1/P2.
pub fn is_ca_mse(cmd: &Command) -> bool {
    cmd.ins == INS_MSE && cmd.p1 == P1_CA && (cmd.p2 == P2_KAT || cmd.p2 == P2_AT)
}

/// Parsed MSE:Set KAT data (chip side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetKat {
    /// Tag 91: the terminal's ephemeral public key.
    pub ephemeral_public_key: Vec<u8>,
    /// Tag 84: keyId.
    pub key_id: Option<u64>,
}

/// Parse MSE:Set KAT data.
pub fn parse_set_kat(data: &[u8]) -> Result<SetKat, &'static str> {
    let (pk, key_id) = KAT.parse(data, |v| Ok(v.to_vec()))?;
    Ok(SetKat {
        ephemeral_public_key: pk.ok_or("no ephemeral public key (91)")?,
        key_id,
    })
}

/// Parsed MSE:Set AT data for Chip Authentication (chip side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAt {
    /// Tag 80: the CA protocol OID.
    pub protocol: Oid,
    /// Tag 84: keyId.
    pub key_id: Option<u64>,
}

/// Parse MSE:Set AT data for Chip Authentication.
pub fn parse_set_at(data: &[u8]) -> Result<SetAt, &'static str> {
    let (protocol, key_id) = AT.parse(data, |v| Oid::from_bytes(v).map_err(|_| "invalid protocol OID"))?;
    Ok(SetAt {
        protocol: protocol.ok_or("no protocol OID (80)")?,
        key_id,
    })
}

/// The ephemeral public key of a Chip Authentication GENERAL AUTHENTICATE.
pub fn parse_general_authenticate(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    let objects = crate::access::pace::apdus::parse_dynamic_auth_data(data)?;
    crate::access::pace::apdus::find(&objects, TAG_GA_PUBLIC_KEY)
        .map(<[u8]>::to_vec)
        .ok_or("no ephemeral public key (80) in 7C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids() {
        assert_eq!(tlv::minimal_uint(195), vec![0xC3]);
        assert_eq!(tlv::minimal_uint(0), vec![0x00]);
        assert_eq!(tlv::minimal_uint(0x0102), vec![0x01, 0x02]);
        assert_eq!(tlv::minimal_uint(u64::MAX), vec![0xFF; 8]);
        assert_eq!(parse_key_id(&[0x00, 0xC3]), Ok(195));
        assert!(parse_key_id(&[]).is_err());
        assert!(parse_key_id(&[1; 9]).is_err());
    }

    #[test]
    fn commands_roundtrip() {
        let oid = Oid::new_unwrap("0.4.0.127.0.7.2.2.3.2.2");
        let at = mse_set_at(&oid, Some(195));
        assert_eq!(
            hex::encode_upper(at.encode().unwrap()),
            "002241A40F800A04007F0007020203020284 01C3".replace(' ', "")
        );
        assert!(is_ca_mse(&at));
        assert_eq!(
            parse_set_at(&at.data).unwrap(),
            SetAt {
                protocol: oid,
                key_id: Some(195)
            }
        );
        let kat = mse_set_kat(&[4, 1, 2], None);
        assert_eq!(hex::encode_upper(kat.encode().unwrap()), "002241A6059103040102");
        assert_eq!(
            parse_set_kat(&kat.data).unwrap().ephemeral_public_key,
            vec![4, 1, 2]
        );
        let ga = general_authenticate(&[4, 9]);
        assert_eq!(
            hex::encode_upper(ga.encode().unwrap()),
            "00860000067C0480020409 00".replace(' ', "")
        );
        assert_eq!(parse_general_authenticate(&ga.data).unwrap(), vec![4, 9]);
        assert!(parse_set_kat(&[0x84, 0x01, 0x01]).is_err());
        assert!(parse_set_at(&[0x91, 0x00]).is_err());
        assert!(parse_general_authenticate(&[0x7C, 0x00]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse_set_kat(&bytes);
            let _ = parse_set_at(&bytes);
            let _ = parse_general_authenticate(&bytes);
        }
    }
}

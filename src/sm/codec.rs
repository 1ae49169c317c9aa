//! Encoding shared by the reader and the chip side: cryptogram data objects, the MAC
//! over `SSC || …`, and parsing of a protected data field (Doc 9303 Part 11 §9.8.4–§9.8.6).

use super::{SessionKeys, SmError};
use crate::crypto::{self, CryptoError, aes_ecb_encrypt_block, cbc_decrypt, cbc_encrypt, ct_eq, pad, sm_mac};
use crate::tlv;

/// DO'85': cryptogram of BER-TLV data (odd INS), no padding-content indicator.
pub(super) const TAG_CRYPTOGRAM_BER: u32 = 0x85;
/// DO'87': padding-content indicator || cryptogram.
pub(super) const TAG_CRYPTOGRAM: u32 = 0x87;
/// DO'97': Le.
pub(super) const TAG_LE: u32 = 0x97;
/// DO'99': processing status.
pub(super) const TAG_STATUS: u32 = 0x99;
/// DO'8E': cryptographic checksum.
pub(super) const TAG_MAC: u32 = 0x8E;

/// Padding-content indicator of DO'87': padding method 2.
const PADDING_INDICATOR: u8 = 0x01;

/// IV under the current SSC: zero for 3DES, `E(KSenc, SSC)` for AES.
fn iv(keys: &SessionKeys) -> Result<Vec<u8>, SmError> {
    if keys.cipher().is_aes() {
        Ok(aes_ecb_encrypt_block(keys.ks_enc(), keys.ssc().as_bytes())?.to_vec())
    } else {
        Ok(vec![0; keys.cipher().block_size()])
    }
}

/// Pad and encrypt `data` under the current SSC.
fn encrypt(keys: &SessionKeys, data: &[u8]) -> Result<Vec<u8>, SmError> {
    let cipher = keys.cipher();
    let padded = pad(data, cipher.block_size());
    Ok(cbc_encrypt(cipher, keys.ks_enc(), &iv(keys)?, &padded)?)
}

/// Decrypt `cryptogram` under the current SSC and remove the padding.
fn decrypt(keys: &SessionKeys, tag: u8, cryptogram: &[u8]) -> Result<Vec<u8>, SmError> {
    let cipher = keys.cipher();
    if cryptogram.is_empty() || !cryptogram.len().is_multiple_of(cipher.block_size()) {
        return Err(SmError::MalformedDataObject {
            tag,
            what: "cryptogram is not a whole number of cipher blocks",
        });
    }
    let plain = cbc_decrypt(cipher, keys.ks_enc(), &iv(keys)?, cryptogram)?;
    match crypto::unpad(&plain, cipher.block_size()) {
        Ok(data) => Ok(data.to_vec()),
        Err(CryptoError::BadPadding) => Err(SmError::BadPadding),
        Err(e) => Err(e.into()),
    }
}

/// The cryptogram data object for `data`: DO'85' when `odd_ins`, else DO'87' with the
/// padding-content indicator.
pub(super) fn cryptogram_do(keys: &SessionKeys, odd_ins: bool, data: &[u8]) -> Result<Vec<u8>, SmError> {
    let cryptogram = encrypt(keys, data)?;
    if odd_ins {
        Ok(tlv::encode(TAG_CRYPTOGRAM_BER, &cryptogram))
    } else {
        let mut value = Vec::with_capacity(cryptogram.len() + 1);
        value.push(PADDING_INDICATOR);
        value.extend_from_slice(&cryptogram);
        Ok(tlv::encode(TAG_CRYPTOGRAM, &value))
    }
}

/// The 8-byte MAC of `SSC || msg` (padding method 2 applied once).
pub(super) fn mac(keys: &SessionKeys, msg: &[u8]) -> Result<[u8; 8], SmError> {
    let mut input = Vec::with_capacity(keys.ssc().len() + msg.len());
    input.extend_from_slice(keys.ssc().as_bytes());
    input.extend_from_slice(msg);
    Ok(sm_mac(keys.cipher(), keys.ks_mac(), &input)?)
}

/// Check a received MAC against `SSC || msg` in constant time.
pub(super) fn check_mac(keys: &SessionKeys, msg: &[u8], received: &[u8]) -> Result<(), SmError> {
    let expected = mac(keys, msg)?;
    if ct_eq(&expected, received) {
        Ok(())
    } else {
        Err(SmError::MacMismatch {
            ssc: keys.ssc().value(),
        })
    }
}

/// The secure-messaging data objects of a protected data field.
#[derive(Debug, Default)]
pub(super) struct Objects<'a> {
    /// DO'85' or DO'87': tag and value.
    pub cryptogram: Option<(u8, &'a [u8])>,
    /// DO'97' value.
    pub le: Option<&'a [u8]>,
    /// DO'99' value.
    pub status: Option<&'a [u8]>,
    /// DO'8E' value.
    pub mac: Option<&'a [u8]>,
    /// The data objects before DO'8E', exactly as received: the MAC input after the SSC
    /// (and, for commands, the padded header).
    pub covered: Vec<u8>,
}

/// Parse a protected data field, accepting only the tags in `allowed`, each at most
/// once, with DO'8E' last.
pub(super) fn parse<'a>(data: &'a [u8], allowed: &[u32]) -> Result<Objects<'a>, SmError> {
    let mut objs = Objects::default();
    let mut reader = tlv::Reader::new(data);
    while !reader.is_empty() {
        let el = reader.read().map_err(SmError::Tlv)?;
        if objs.mac.is_some() {
            return Err(SmError::UnexpectedDataObject { tag: el.tag });
        }
        if !allowed.contains(&el.tag) {
            return Err(SmError::UnexpectedDataObject { tag: el.tag });
        }
        let duplicate = || SmError::UnexpectedDataObject { tag: el.tag };
        match el.tag {
            TAG_CRYPTOGRAM | TAG_CRYPTOGRAM_BER => {
                if objs.cryptogram.is_some() {
                    return Err(duplicate());
                }
                objs.cryptogram = Some((el.tag as u8, el.value));
            }
            TAG_LE => {
                if objs.le.replace(el.value).is_some() {
                    return Err(duplicate());
                }
            }
            TAG_STATUS => {
                if objs.status.replace(el.value).is_some() {
                    return Err(duplicate());
                }
            }
            TAG_MAC => {
                if el.value.len() != 8 {
                    return Err(SmError::MalformedDataObject {
                        tag: TAG_MAC as u8,
                        what: "MAC is not 8 bytes",
                    });
                }
                objs.mac = Some(el.value);
                continue;
            }
            _ => return Err(SmError::UnexpectedDataObject { tag: el.tag }),
        }
        objs.covered.extend_from_slice(el.raw);
    }
    Ok(objs)
}

/// Decrypt the cryptogram of DO'85' or DO'87' (the MAC must have been checked).
pub(super) fn open_cryptogram(keys: &SessionKeys, tag: u8, value: &[u8]) -> Result<Vec<u8>, SmError> {
    if u32::from(tag) == TAG_CRYPTOGRAM {
        match value.split_first() {
            Some((&PADDING_INDICATOR, cryptogram)) => decrypt(keys, tag, cryptogram),
            Some(_) => Err(SmError::MalformedDataObject {
                tag,
                what: "padding-content indicator is not 01",
            }),
            None => Err(SmError::MalformedDataObject {
                tag,
                what: "empty value",
            }),
        }
    } else {
        decrypt(keys, tag, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Cipher;
    use crate::sm::Ssc;

    #[test]
    fn parse_rules() {
        let all = [TAG_CRYPTOGRAM, TAG_STATUS, TAG_MAC];
        let ok = hex::decode("990290008E080102030405060708").unwrap();
        let o = parse(&ok, &all).unwrap();
        assert_eq!(o.status, Some(&[0x90, 0x00][..]));
        assert_eq!(o.covered, hex::decode("99029000").unwrap());
        // duplicate, after-MAC, unknown, short MAC, truncated
        for bad in [
            "9902900099029000",
            "8E08010203040506070899029000",
            "5302AABB",
            "8E0401020304",
            "9905",
        ] {
            assert!(parse(&hex::decode(bad).unwrap(), &all).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_indicator_and_alignment() {
        let keys = SessionKeys::new(Cipher::Tdes, &[1; 16], &[2; 16], Ssc::zero(Cipher::Tdes)).unwrap();
        assert!(matches!(
            open_cryptogram(&keys, 0x87, &[0x02, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(SmError::MalformedDataObject { tag: 0x87, .. })
        ));
        assert!(matches!(
            open_cryptogram(&keys, 0x87, &[0x01, 0, 0, 0]),
            Err(SmError::MalformedDataObject { tag: 0x87, .. })
        ));
        assert!(matches!(
            open_cryptogram(&keys, 0x87, &[]),
            Err(SmError::MalformedDataObject { .. })
        ));
    }
}

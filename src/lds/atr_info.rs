//! EF.ATR/INFO (Doc 9303 Part 10 §3.11.2; ISO/IEC 7816-4 §12.2.2 and §12.7.1): the
//! interindustry data objects a chip publishes about itself, of which the reader uses
//! the extended length information to decide whether to send extended-length APDUs
//! and how much to ask for in one READ BINARY.
//!
//! ```text
//! 7F66 L                  extended length information
//!    02 L max            maximum number of bytes in a command APDU
//!    02 L max            maximum number of bytes in a response APDU
//! 47 L  b1 b2 b3          card capabilities; b3 bit 7 = extended Lc/Le supported
//! …                       other data objects, kept raw
//! ```

use super::error::LdsError;
use super::quirk::{self, Quirk, RawDo};
use super::view::{self, Node};

const FILE: &str = "EF.ATR/INFO";
const TAG_EXTENDED_LENGTH: u32 = 0x7F66;
const TAG_CARD_CAPABILITIES: u32 = 0x47;
const TAG_INTEGER: u32 = 0x02;

/// ISO/IEC 7816-4 extended length information (`7F66`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ExtendedLengthInfo {
    /// The number of bytes in a command APDU shall not exceed this.
    pub max_command_apdu: u32,
    /// Ne shall be set so that a response APDU does not exceed this many bytes.
    pub max_response_apdu: u32,
}

/// Decoded EF.ATR/INFO.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AtrInfo {
    /// Extended length information (`7F66`), when present.
    pub extended_length: Option<ExtendedLengthInfo>,
    /// Card capabilities (`47`), when present.
    #[serde(serialize_with = "serialize_opt_hex")]
    pub card_capabilities: Option<Vec<u8>>,
    /// Every top-level data object in file order (including `7F66` and `47`), raw.
    pub objects: Vec<RawDo>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
    /// The file's bytes.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

fn serialize_opt_hex<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => quirk::serialize_hex(b, s),
        None => s.serialize_none(),
    }
}

fn unsigned(value: &[u8]) -> Option<u32> {
    let first_nonzero = value.iter().position(|b| *b != 0).unwrap_or(value.len());
    let significant = value.get(first_nonzero..)?;
    if value.is_empty() || significant.len() > 4 {
        return None;
    }
    Some(significant.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

impl AtrInfo {
    /// Decode EF.ATR/INFO: concatenated BER-TLV data objects; trailing `00`/`FF`
    /// padding is reported.
    pub fn decode(input: &[u8]) -> Result<AtrInfo, LdsError> {
        if input.is_empty() {
            return Err(LdsError::Empty { file: FILE });
        }
        let mut quirks = Vec::new();
        let mut info = AtrInfo {
            extended_length: None,
            card_capabilities: None,
            objects: Vec::new(),
            quirks: Vec::new(),
            raw: input.to_vec(),
        };
        for t in quirk::data_objects(input, FILE, &mut quirks)? {
            match t.tag {
                TAG_EXTENDED_LENGTH if info.extended_length.is_none() => {
                    let kids = quirk::children(&t, FILE, &mut quirks)?;
                    let ints: Vec<_> = kids.iter().filter(|k| k.tag == TAG_INTEGER).collect();
                    let (Some(cmd), Some(resp)) = (ints.first(), ints.get(1)) else {
                        return Err(LdsError::Missing {
                            file: FILE,
                            what: "maximum APDU lengths in extended length information (7F66)",
                        });
                    };
                    let invalid = LdsError::Invalid {
                        file: FILE,
                        what: "extended length information (7F66)",
                    };
                    let (Some(max_command_apdu), Some(max_response_apdu)) =
                        (unsigned(cmd.value), unsigned(resp.value))
                    else {
                        return Err(invalid);
                    };
                    info.extended_length = Some(ExtendedLengthInfo {
                        max_command_apdu,
                        max_response_apdu,
                    });
                }
                TAG_CARD_CAPABILITIES if info.card_capabilities.is_none() => {
                    info.card_capabilities = Some(t.value.to_vec());
                }
                TAG_EXTENDED_LENGTH | TAG_CARD_CAPABILITIES => {
                    quirks.push(Quirk::DuplicateTag { tag: t.tag });
                }
                _ => {}
            }
            info.objects.push(RawDo::from_tlv(&t));
        }
        info.quirks = quirks;
        Ok(info)
    }

    /// Encode: every data object as read, DER lengths, no padding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for o in &self.objects {
            o.encode_into(&mut out);
        }
        out
    }

    /// Whether the card capabilities (`47`, third software function byte, bit 7)
    /// announce extended Lc and Le fields; `None` without that byte.
    pub fn extended_length_supported(&self) -> Option<bool> {
        let third = *self.card_capabilities.as_ref()?.get(2)?;
        Some(third & 0x40 != 0)
    }

    /// The largest response data the reader may ask for in one command, from
    /// `7F66` (response APDU maximum minus the two status bytes).
    pub fn max_response_data(&self) -> Option<u32> {
        self.extended_length
            .map(|e| e.max_response_apdu.saturating_sub(2))
    }
}

impl AtrInfo {
    /// The lines `inspect` shows.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = Vec::new();
        if let Some(e) = &self.extended_length {
            n.push(Node::new("extended length information (7F66)").with(vec![
                Node::field("max command APDU", e.max_command_apdu),
                Node::field("max response APDU", e.max_response_apdu),
            ]));
        }
        if let Some(cc) = &self.card_capabilities {
            let mut line = hex::encode_upper(cc);
            if let Some(s) = self.extended_length_supported() {
                line.push_str(&format!(
                    " (extended Lc/Le {})",
                    if s { "announced" } else { "absent" }
                ));
            }
            n.push(Node::field("card capabilities (47)", line));
        }
        n.extend(self.objects.iter().map(|o| view::unknown(o.tag, &o.value)));
        n
    }
}

super::group::data_group!(AtrInfo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_length_info_and_capabilities() {
        // 47 03 (selection, data coding, 0xC0: chaining + extended lengths)
        // 7F66 08 02 02 04 00 02 02 10 00: 1024-byte commands, 4096-byte responses
        let b = hex::decode("470300C1C07F660802020400020210009000").unwrap();
        // the 90 00 at the end is not padding: it is a (bogus) TLV 90 with length 0
        let a = AtrInfo::decode(&b).unwrap();
        assert_eq!(
            a.extended_length,
            Some(ExtendedLengthInfo {
                max_command_apdu: 1024,
                max_response_apdu: 4096
            })
        );
        assert_eq!(a.extended_length_supported(), Some(true));
        assert_eq!(a.max_response_data(), Some(4094));
        assert_eq!(a.objects.len(), 3);
        // every data object comes back as read; padding does not
        assert_eq!(a.encode(), b);
        let mut padded = b.clone();
        padded.extend([0, 0]);
        assert_eq!(AtrInfo::decode(&padded).unwrap().encode(), b);
    }

    #[test]
    fn extended_length_info_as_deployed_cards_write_it() {
        // the same ISO/IEC 7816-4 DO as OpenPGP cards (3070/3070) and PIV cards
        // (1016/32767) publish it
        for (hex_do, cmd, resp) in [
            ("7F660802020BFE02020BFE", 3070, 3070),
            ("7F6608020203F802027FFF", 1016, 32767),
        ] {
            let a = AtrInfo::decode(&hex::decode(hex_do).unwrap()).unwrap();
            let e = a.extended_length.unwrap();
            assert_eq!((e.max_command_apdu, e.max_response_apdu), (cmd, resp));
            assert!(a.quirks.is_empty());
        }
    }

    #[test]
    fn integer_with_sign_octet_and_padding() {
        let b = hex::decode("7F660902030000FF020200FF0000").unwrap();
        let a = AtrInfo::decode(&b).unwrap();
        assert_eq!(a.extended_length.unwrap().max_command_apdu, 0xFF);
        assert_eq!(a.quirks, vec![Quirk::TrailingZeroPadding { bytes: 2 }]);
        assert!(AtrInfo::decode(&hex::decode("7F6604020104").unwrap()).is_err());
    }
}

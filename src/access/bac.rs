//! Basic Access Control (Doc 9303 Part 11 §4.3, worked example in Appendix D), reader
//! and chip side.
//!
//! Reader: GET CHALLENGE → RND.IC; choose RND.IFD and K.IFD; send
//! `E_IFD = 3DES(Kenc, RND.IFD || RND.IC || K.IFD)` and `M_IFD = MAC(Kmac, E_IFD)` in
//! EXTERNAL AUTHENTICATE (called MUTUAL AUTHENTICATE by Doc 9303); check the chip's
//! `M_IC` and that it echoes RND.IFD; derive KSenc/KSmac from `K.IFD xor K.IC`, and
//! `SSC = RND.IC[4..8] || RND.IFD[4..8]`.

use zeroize::Zeroizing;

use super::{AccessError, MrzKey};
use crate::apdu::{CardChannel, Command};
use crate::crypto::{Cipher, KDF_ENC, KDF_MAC, ct_eq, kdf, retail_mac, tdes_cbc_decrypt, tdes_cbc_encrypt};
use crate::rng::RandomSource;
use crate::sm::{SessionKeys, Ssc};

/// INS of GET CHALLENGE.
const INS_GET_CHALLENGE: u8 = 0x84;
/// INS of EXTERNAL AUTHENTICATE (Doc 9303's MUTUAL AUTHENTICATE).
const INS_MUTUAL_AUTHENTICATE: u8 = 0x82;
/// Length of the cryptogram E (32) plus its MAC (8).
const CRYPTOGRAM_LEN: usize = 40;

/// Kenc and Kmac of BAC, derived from K_seed.
struct BasicKeys {
    k_enc: Zeroizing<Vec<u8>>,
    k_mac: Zeroizing<Vec<u8>>,
}

impl BasicKeys {
    fn new(key: &MrzKey) -> Self {
        let seed = key.k_seed();
        BasicKeys {
            k_enc: kdf(seed.as_slice(), KDF_ENC, Cipher::Tdes),
            k_mac: kdf(seed.as_slice(), KDF_MAC, Cipher::Tdes),
        }
    }

    /// `E || MAC(E)` with `E = 3DES(Kenc, plain)`.
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, AccessError> {
        let mut out = tdes_cbc_encrypt(&self.k_enc, plain)?;
        let mac = retail_mac(&self.k_mac, &out)?;
        out.extend_from_slice(&mac);
        Ok(out)
    }

    /// Check the MAC of a 40-byte `E || M` and decrypt E. `None` when the length or the
    /// MAC is wrong (the caller says whose cryptogram it was).
    fn open(&self, data: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, AccessError> {
        if data.len() != CRYPTOGRAM_LEN {
            return Ok(None);
        }
        let Some((e, m)) = data.split_last_chunk::<8>() else {
            return Ok(None);
        };
        let expected = retail_mac(&self.k_mac, e)?;
        if !ct_eq(&expected, m) {
            return Ok(None);
        }
        Ok(Some(Zeroizing::new(tdes_cbc_decrypt(&self.k_enc, e)?)))
    }
}

/// Split a decrypted 32-byte cryptogram into its 8-, 8- and 16-byte parts.
fn split32(r: &[u8]) -> Option<(&[u8; 8], &[u8; 8], &[u8; 16])> {
    let (a, rest) = r.split_first_chunk::<8>()?;
    let (b, rest) = rest.split_first_chunk::<8>()?;
    let c: &[u8; 16] = rest.try_into().ok()?;
    Some((a, b, c))
}

/// Session keys from `K.IFD xor K.IC`, `SSC = RND.IC[4..8] || RND.IFD[4..8]`.
fn session(
    k_ifd: &[u8; 16],
    k_ic: &[u8; 16],
    rnd_ic: &[u8; 8],
    rnd_ifd: &[u8; 8],
) -> Result<SessionKeys, AccessError> {
    let mut seed = Zeroizing::new([0u8; 16]);
    for ((s, a), b) in seed.iter_mut().zip(k_ifd).zip(k_ic) {
        *s = a ^ b;
    }
    let mut ssc = Zeroizing::new([0u8; 8]);
    if let (Some((_, ic)), Some((_, ifd))) =
        (rnd_ic.split_first_chunk::<4>(), rnd_ifd.split_first_chunk::<4>())
    {
        for (d, s) in ssc.iter_mut().zip(ic.iter().chain(ifd)) {
            *d = *s;
        }
    }
    Ok(SessionKeys::derive(
        Cipher::Tdes,
        seed.as_slice(),
        Ssc::from_bytes(ssc.as_slice()),
    )?)
}

/// Run BAC as the reader over `ch` (plain), with RND.IFD then K.IFD drawn from `rng` in
/// that order. Returns the session keys for a [`SecureChannel`](crate::sm::SecureChannel).
///
/// A chip that refuses the terminal's cryptogram gives [`AccessError::Refused`] (wrong
/// MRZ); a chip whose own cryptogram does not verify gives
/// [`AccessError::BadChipCryptogram`].
pub fn authenticate<C: CardChannel + ?Sized>(
    ch: &mut C,
    key: &MrzKey,
    rng: &mut dyn RandomSource,
) -> Result<SessionKeys, AccessError> {
    let resp = ch.send(&Command::get_challenge(8))?;
    if !resp.is_ok() {
        return Err(AccessError::Status {
            ins: INS_GET_CHALLENGE,
            sw: resp.sw,
        });
    }
    let rnd_ic: [u8; 8] = resp
        .data
        .as_slice()
        .try_into()
        .map_err(|_| AccessError::BadResponse {
            ins: INS_GET_CHALLENGE,
            what: "challenge is not 8 bytes",
        })?;
    let mut rnd_ifd = Zeroizing::new([0u8; 8]);
    rng.fill(rnd_ifd.as_mut_slice());
    let mut k_ifd = Zeroizing::new([0u8; 16]);
    rng.fill(k_ifd.as_mut_slice());

    let keys = BasicKeys::new(key);
    let mut s = Zeroizing::new(Vec::with_capacity(32));
    s.extend_from_slice(rnd_ifd.as_slice());
    s.extend_from_slice(&rnd_ic);
    s.extend_from_slice(k_ifd.as_slice());
    let cmd_data = keys.seal(&s)?;
    let cmd = Command::new(0x00, INS_MUTUAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(cmd_data)
        .with_le(CRYPTOGRAM_LEN);
    let resp = ch.send(&cmd)?;
    if !resp.is_ok() {
        // 6300/63Cx, 6982 and 6A80 are how chips refuse a wrong key; anything else is
        // a chip misbehaving, not evidence of a wrong MRZ
        let refused = resp.sw.sw1() == 0x63 || matches!(resp.sw.0, 0x6982 | 0x6A80);
        return Err(if refused {
            AccessError::Refused { sw: resp.sw }
        } else {
            AccessError::Status {
                ins: INS_MUTUAL_AUTHENTICATE,
                sw: resp.sw,
            }
        });
    }
    let r = keys.open(&resp.data)?.ok_or(AccessError::BadChipCryptogram {
        what: "length or MAC of the chip's cryptogram",
    })?;
    let (rnd_ic_echo, rnd_ifd_echo, k_ic) = split32(&r).ok_or(AccessError::BadChipCryptogram {
        what: "decrypted cryptogram is not 32 bytes",
    })?;
    // both checks run before either result is looked at
    let ifd_ok = ct_eq(rnd_ifd_echo, rnd_ifd.as_slice());
    let ic_ok = ct_eq(rnd_ic_echo, &rnd_ic);
    if !(ifd_ok & ic_ok) {
        return Err(AccessError::BadChipCryptogram {
            what: "the chip did not return RND.IFD and RND.IC",
        });
    }
    session(&k_ifd, k_ic, &rnd_ic, &rnd_ifd)
}

/// The chip's side of BAC, for the emulator. Any error means the chip answers 6300 to
/// MUTUAL AUTHENTICATE (and stays unauthenticated).
pub struct ChipBac {
    keys: BasicKeys,
    rnd_ic: Option<Zeroizing<[u8; 8]>>,
}

impl ChipBac {
    /// A chip personalised with `key`.
    pub fn new(key: &MrzKey) -> Self {
        ChipBac {
            keys: BasicKeys::new(key),
            rnd_ic: None,
        }
    }

    /// Answer GET CHALLENGE: draw and remember RND.IC.
    pub fn get_challenge(&mut self, rng: &mut dyn RandomSource) -> [u8; 8] {
        let mut rnd_ic = Zeroizing::new([0u8; 8]);
        rng.fill(rnd_ic.as_mut_slice());
        let out = *rnd_ic;
        self.rnd_ic = Some(rnd_ic);
        out
    }

    /// Answer MUTUAL AUTHENTICATE with the command data `E_IFD || M_IFD`: verify it,
    /// draw K.IC from `rng`, and return the response data `E_IC || M_IC` with the session
    /// keys. The challenge is used up whatever the outcome.
    pub fn mutual_authenticate(
        &mut self,
        cmd_data: &[u8],
        rng: &mut dyn RandomSource,
    ) -> Result<(Vec<u8>, SessionKeys), AccessError> {
        let rnd_ic = self.rnd_ic.take().ok_or(AccessError::OutOfSequence {
            what: "MUTUAL AUTHENTICATE without a preceding GET CHALLENGE",
        })?;
        let s = self
            .keys
            .open(cmd_data)?
            .ok_or(AccessError::BadTerminalCryptogram {
                what: "length or MAC",
            })?;
        let (rnd_ifd, rnd_ic_echo, k_ifd) = split32(&s).ok_or(AccessError::BadTerminalCryptogram {
            what: "decrypted cryptogram is not 32 bytes",
        })?;
        if !ct_eq(rnd_ic_echo, rnd_ic.as_slice()) {
            return Err(AccessError::BadTerminalCryptogram {
                what: "RND.IC not returned",
            });
        }
        let mut k_ic = Zeroizing::new([0u8; 16]);
        rng.fill(k_ic.as_mut_slice());
        let mut r = Zeroizing::new(Vec::with_capacity(32));
        r.extend_from_slice(rnd_ic.as_slice());
        r.extend_from_slice(rnd_ifd);
        r.extend_from_slice(k_ic.as_slice());
        let resp = self.keys.seal(&r)?;
        let keys = session(k_ifd, &k_ic, &rnd_ic, rnd_ifd)?;
        Ok((resp, keys))
    }
}

impl std::fmt::Debug for ChipBac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipBac")
            .field("challenge_pending", &self.rnd_ic.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::{ApduError, PlainChannel, Response, StatusWord};
    use crate::rng::ScriptedRandom;
    use crate::test_vectors::h;
    use crate::transport::replay::ScriptedTransport;
    use crate::transport::{Transport, TransportError};

    fn appendix_d() -> serde_json::Value {
        let path = format!(
            "{}/test-vectors/protocol/bac_sm_doc9303_appendix_d.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn x(v: &serde_json::Value, k: &str) -> Vec<u8> {
        h(v[k].as_str().unwrap())
    }

    fn key() -> MrzKey {
        MrzKey::new("L898902C<", "690806", "940623").unwrap()
    }

    #[test]
    fn chip_side_reproduces_appendix_d() {
        let d = appendix_d();
        let (i, e) = (&d["inputs"], &d["expected"]);
        let mut chip = ChipBac::new(&key());
        let mut rng = ScriptedRandom::new([x(i, "rnd_ic")]);
        assert_eq!(chip.get_challenge(&mut rng).to_vec(), x(i, "rnd_ic"));
        let mut rng = ScriptedRandom::new([x(e, "k_ic")]);
        let (resp, keys) = chip
            .mutual_authenticate(&x(e, "ext_auth_cmd_data"), &mut rng)
            .unwrap();
        assert_eq!(resp, x(e, "ext_auth_resp_data"));
        assert_eq!(keys.ks_enc(), x(e, "ks_enc").as_slice());
        assert_eq!(keys.ks_mac(), x(e, "ks_mac").as_slice());
        assert_eq!(keys.ssc().as_bytes(), x(e, "ssc").as_slice());
        assert!(rng.mismatches.is_empty());
        // the challenge is used up
        assert!(matches!(
            chip.mutual_authenticate(&x(e, "ext_auth_cmd_data"), &mut rng),
            Err(AccessError::OutOfSequence { .. })
        ));
    }

    #[test]
    fn chip_rejects_wrong_terminal_cryptograms() {
        let d = appendix_d();
        let (i, e) = (&d["inputs"], &d["expected"]);
        let mut rng = ScriptedRandom::new([x(i, "rnd_ic")]);
        // another MRZ
        let mut chip = ChipBac::new(&MrzKey::new("L898902C<", "690806", "940624").unwrap());
        chip.get_challenge(&mut rng);
        assert!(matches!(
            chip.mutual_authenticate(&x(e, "ext_auth_cmd_data"), &mut rng),
            Err(AccessError::BadTerminalCryptogram { .. })
        ));
        // another challenge
        let mut chip = ChipBac::new(&key());
        chip.get_challenge(&mut ScriptedRandom::new([[0u8; 8]]));
        assert!(matches!(
            chip.mutual_authenticate(&x(e, "ext_auth_cmd_data"), &mut rng),
            Err(AccessError::BadTerminalCryptogram {
                what: "RND.IC not returned"
            })
        ));
        // short data
        let mut chip = ChipBac::new(&key());
        chip.get_challenge(&mut rng);
        assert!(chip.mutual_authenticate(&[0; 39], &mut rng).is_err());
    }

    fn scripted(resp: Vec<u8>) -> ScriptedTransport {
        let d = appendix_d();
        let (i, e) = (&d["inputs"], &d["expected"]);
        let mut challenge = x(i, "rnd_ic");
        challenge.extend_from_slice(&[0x90, 0x00]);
        ScriptedTransport::new()
            .expect(x(e, "get_challenge_capdu"), challenge)
            .expect(x(e, "ext_auth_capdu"), resp)
    }

    fn rng() -> ScriptedRandom {
        let i = appendix_d()["inputs"].clone();
        ScriptedRandom::new([x(&i, "rnd_ifd"), x(&i, "k_ifd")])
    }

    #[test]
    fn refusal_is_wrong_mrz() {
        for sw in ["6300", "6982", "6A80"] {
            let mut t = scripted(h(sw));
            let mut ch = PlainChannel::new(&mut t);
            let e = authenticate(&mut ch, &key(), &mut rng()).unwrap_err();
            assert!(matches!(e, AccessError::Refused { .. }), "{e}");
            assert!(e.hint().unwrap().contains("MRZ is probably wrong"));
        }
    }

    #[test]
    fn chip_mac_wrong_is_not_wrong_mrz() {
        let e = appendix_d()["expected"].clone();
        let mut resp = x(&e, "ext_auth_resp_data");
        resp[39] ^= 0x01;
        resp.extend_from_slice(&[0x90, 0x00]);
        let mut t = scripted(resp);
        let err = authenticate(&mut PlainChannel::new(&mut t), &key(), &mut rng()).unwrap_err();
        assert!(matches!(err, AccessError::BadChipCryptogram { .. }), "{err}");
        assert!(!err.hint().unwrap().contains("MRZ is probably wrong"));
    }

    #[test]
    fn chip_not_echoing_rnd_ifd_is_bad_cryptogram() {
        // a validly MACed cryptogram that carries another RND.IFD
        let d = appendix_d();
        let e = &d["expected"];
        let keys = BasicKeys::new(&key());
        let mut r = x(e, "r_decrypted");
        r[8] ^= 0xFF;
        let mut resp = keys.seal(&r).unwrap();
        resp.extend_from_slice(&[0x90, 0x00]);
        let mut t = scripted(resp);
        let err = authenticate(&mut PlainChannel::new(&mut t), &key(), &mut rng()).unwrap_err();
        assert!(
            matches!(err, AccessError::BadChipCryptogram { what } if what.contains("RND.IFD")),
            "{err}"
        );
    }

    #[test]
    fn get_challenge_refused_or_short() {
        let mut t = ScriptedTransport::new().any(h("6D00"));
        let err = authenticate(&mut PlainChannel::new(&mut t), &key(), &mut rng()).unwrap_err();
        assert!(matches!(err, AccessError::Status { ins: 0x84, .. }), "{err}");
        let mut t = ScriptedTransport::new().any(h("010203049000"));
        let err = authenticate(&mut PlainChannel::new(&mut t), &key(), &mut rng());
        assert!(matches!(err, Err(AccessError::BadResponse { ins: 0x84, .. })));
    }

    /// A minimal chip: ChipBac behind a Transport, answering 6300 on any BAC error.
    struct BacCard {
        chip: ChipBac,
        rng: ScriptedRandom,
        keys: Option<SessionKeys>,
    }

    impl Transport for BacCard {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            let cmd = Command::decode(command).map_err(|e| TransportError::Transmit {
                reason: e.to_string(),
            })?;
            let resp = match cmd.ins {
                0x84 => Response::new(self.chip.get_challenge(&mut self.rng).to_vec(), StatusWord::OK),
                0x82 => match self.chip.mutual_authenticate(&cmd.data, &mut self.rng) {
                    Ok((data, keys)) => {
                        self.keys = Some(keys);
                        Response::new(data, StatusWord::OK)
                    }
                    Err(_) => Response::status(StatusWord(0x6300)),
                },
                _ => Response::status(StatusWord::INS_NOT_SUPPORTED),
            };
            Ok(resp.to_bytes())
        }
    }

    #[test]
    fn reader_against_chip_side_with_right_and_wrong_mrz() {
        let mut card = BacCard {
            chip: ChipBac::new(&key()),
            rng: ScriptedRandom::new([[0x11u8; 8].to_vec(), [0x22; 16].to_vec()]),
            keys: None,
        };
        let reader_keys = authenticate(
            &mut PlainChannel::new(&mut card),
            &key(),
            &mut ScriptedRandom::new([[0x33u8; 8].to_vec(), [0x44; 16].to_vec()]),
        )
        .unwrap();
        let chip_keys = card.keys.take().unwrap();
        assert_eq!(reader_keys.ks_enc(), chip_keys.ks_enc());
        assert_eq!(reader_keys.ks_mac(), chip_keys.ks_mac());
        assert_eq!(
            reader_keys.ssc().as_bytes(),
            &[0x11, 0x11, 0x11, 0x11, 0x33, 0x33, 0x33, 0x33]
        );

        let wrong = MrzKey::new("L898902C<", "690806", "940624").unwrap();
        let e = authenticate(
            &mut PlainChannel::new(&mut card),
            &wrong,
            &mut crate::rng::OsRandom,
        )
        .unwrap_err();
        assert!(
            matches!(e, AccessError::Refused { sw } if sw == StatusWord(0x6300)),
            "{e}"
        );
        assert!(card.keys.is_none());
    }

    #[test]
    fn link_loss_is_an_apdu_error_with_hint() {
        struct Gone;
        impl Transport for Gone {
            fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
                Err(TransportError::CardRemoved)
            }
        }
        let e = authenticate(&mut PlainChannel::new(Gone), &key(), &mut rng()).unwrap_err();
        assert!(matches!(
            e,
            AccessError::Apdu(ApduError::Transport(TransportError::CardRemoved))
        ));
        assert!(e.hint().unwrap().contains("field"));
    }
}

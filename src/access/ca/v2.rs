//! Chip Authentication version 2 (BSI TR-03110-1 §3.4.1 v2, TR-03110-3 A.2.3, B.11.2):
//! the second half of EAC version 2 — PACE, then Terminal Authentication v2 announcing
//! Comp() of the terminal's ephemeral key ([`Ephemeral`]), then this: MSE:Set AT
//! (`00 22 41 A4 {80 CA OID [84 keyId]}`) and GENERAL AUTHENTICATE with the whole
//! ephemeral key (`7C {80 PK_PCD}`); the chip answers `7C {81 r_PICC, 82 T_PICC}`.
//!
//! - `K = KA(SK_PICC, PK_PCD)` as in version 1;
//! - `KS_enc = KDF_enc(K, r_PICC)`, `KS_mac = KDF_mac(K, r_PICC)`: the nonce joins the
//!   shared secret in the KDF input (`H(K ‖ r_PICC ‖ c)`);
//! - `T_PICC = MAC(KS_mac, 7F49 {06 CA OID, 86|84 PK_PCD})`, the authentication token of
//!   PACE over the terminal's key: a chip without SK_PICC cannot compute it;
//! - secure messaging restarts under the new keys, SSC 0.
//!
//! Checked against the BSI *Worked Example for EAC* v1.01 (ECDH): the keys and token
//! from the documented K, nonce and terminal key.

use zeroize::Zeroizing;

use super::select::{self, CaCandidate, ChipKey};
use super::{CaCommandForm, CaConfig, CaError, CaEvidence, apdus, check};
use crate::access::pace::PrivateKey;
use crate::access::pace::apdus::{parse_dynamic_auth_data, public_key_data_object};
use crate::access::pace::crypto::{cipher_of, token};
use crate::access::ta::{self, KeyKind};
use crate::apdu::CardChannel;
use crate::crypto::Cipher;
use crate::lds::security_infos::{Oid, SecurityInfos};
use crate::rng::RandomSource;
use crate::sm::{SecureChannel, SessionKeys, Ssc};

/// Tag of the chip's nonce in the GENERAL AUTHENTICATE answer.
pub const TAG_NONCE: u32 = 0x81;
/// Tag of the chip's authentication token.
pub const TAG_TOKEN: u32 = 0x82;

/// The version-2 pairing to use: the first one, or the one with `key_id`.
pub fn choose_v2(infos: &SecurityInfos, key_id: Option<u64>) -> Result<CaCandidate<'_>, CaError> {
    select::candidates(infos)?
        .into_iter()
        .find(|c| c.version == Some(2) && key_id.is_none_or(|k| c.key_id == Some(k)))
        .ok_or(CaError::NoMatchingKey { key_id })
}

/// The terminal's ephemeral key pair, made before Terminal Authentication v2 (which
/// announces [`Ephemeral::comp`]) and used by [`run_v2`].
pub struct Ephemeral {
    sk: PrivateKey,
    /// The encoded public key (uncompressed point / DH value).
    pub public: Vec<u8>,
    /// Comp() of it (TR-03110-3 A.2.2.3).
    pub comp: Vec<u8>,
}

impl std::fmt::Debug for Ephemeral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ephemeral")
            .field("public", &hex::encode_upper(&self.public))
            .finish_non_exhaustive()
    }
}

/// A fresh ephemeral key pair on the chip key's domain parameters.
pub fn ephemeral(key: &ChipKey, rng: &mut dyn RandomSource) -> Result<Ephemeral, CaError> {
    let params = &key.params;
    let sk = params.random_private_key(rng)?;
    let pk = params.multiply(&params.generator()?, sk.as_bn())?;
    let public = params.encode(&pk)?;
    let kind = if params.is_ec() { KeyKind::Ec } else { KeyKind::Dh };
    let comp = ta::comp(kind, &public).map_err(|_| CaError::BadPublicKey {
        what: "the ephemeral key cannot be compressed".into(),
    })?;
    Ok(Ephemeral { sk, public, comp })
}

/// The version-2 session keys: the KDF of Doc 9303 Part 11 §9.7.1 over `K ‖ r_PICC`.
pub fn session_keys(cipher: Cipher, k: &[u8], r_picc: &[u8]) -> Result<SessionKeys, CaError> {
    let input = Zeroizing::new([k, r_picc].concat());
    SessionKeys::derive(cipher, &input, Ssc::zero(cipher)).map_err(CaError::Keys)
}

/// The chip's authentication token over the terminal's ephemeral key.
pub fn token_picc(
    cipher: Cipher,
    keys: &SessionKeys,
    protocol: &Oid,
    key_tag: u32,
    pk_pcd: &[u8],
) -> Result<[u8; 8], CaError> {
    token(
        cipher,
        keys.ks_mac(),
        &public_key_data_object(protocol, key_tag, pk_pcd),
    )
    .map_err(|_| CaError::BadResponse {
        step: "GENERAL AUTHENTICATE",
        what: "the authentication token cannot be computed",
    })
}

/// Chip Authentication version 2 with the ephemeral key Terminal Authentication v2
/// announced. On success the channel holds the new keys (SSC 0); the chip's token has
/// been checked, `proven` stays false until a command under the new keys verified
/// ([`super::prove`]).
pub fn run_v2<C: CardChannel>(
    ch: &mut SecureChannel<C>,
    candidate: &CaCandidate<'_>,
    eph: &Ephemeral,
    config: &CaConfig,
) -> Result<CaEvidence, CaError> {
    let key = candidate.key()?;
    let params = &key.params;
    let cipher = cipher_of(candidate.protocol.cipher);
    let oid = candidate.protocol.oid();
    let send_key_id = config.key_id_to_send(candidate);
    let resp = ch.send(&apdus::mse_set_at(&oid, send_key_id))?;
    check("MSE:Set AT", &resp)?;
    let resp = ch.send(&apdus::general_authenticate(&eph.public))?;
    check("GENERAL AUTHENTICATE", &resp)?;
    let bad = |what| CaError::BadResponse {
        step: "GENERAL AUTHENTICATE",
        what,
    };
    let objects = parse_dynamic_auth_data(&resp.data).map_err(bad)?;
    let find = |t: u32| objects.iter().find(|(tag, _)| *tag == t).map(|(_, v)| v.to_vec());
    let r_picc = find(TAG_NONCE).ok_or(bad("no nonce (81)"))?;
    let t_picc = find(TAG_TOKEN).ok_or(bad("no authentication token (82)"))?;
    let k = params.shared_secret(&params.agree(&eph.sk, &key.public)?)?;
    let keys = session_keys(cipher, &k, &r_picc)?;
    drop(k);
    let expected = token_picc(cipher, &keys, &oid, params.public_key_tag(), &eph.public)?;
    if !crate::crypto::ct_eq(&expected, &t_picc) {
        return Err(CaError::BadToken);
    }
    ch.rekey(keys);
    Ok(CaEvidence::unproven(
        candidate,
        &key,
        CaCommandForm::SetAtGeneralAuthenticate,
        send_key_id.is_some(),
        eph.public.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(k: &str) -> Vec<u8> {
        let p = format!(
            "{}/test-vectors/protocol/bsi_eac_worked_example/bsi_eac_worked_example_ecdh.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        hex::decode(j["values"][k].as_str().unwrap()).unwrap()
    }

    /// BSI Worked Example for EAC v1.01, ECDH, Chip Authentication: the session keys
    /// from K and the nonce, and the chip's token over the terminal's key.
    #[test]
    fn worked_example_keys_and_token() {
        let keys = session_keys(Cipher::Aes128, &val("ca_shared_secret_k"), &val("ca_nonce")).unwrap();
        assert_eq!(keys.ks_enc(), val("ca_k_enc").as_slice());
        assert_eq!(keys.ks_mac(), val("ca_k_mac").as_slice());
        let oid: Oid = "0.4.0.127.0.7.2.2.3.2.2".parse().unwrap();
        let t = token_picc(Cipher::Aes128, &keys, &oid, 0x86, &val("ca_pcd_pub_key")).unwrap();
        assert_eq!(t.to_vec(), val("ca_picc_token"));
        // another terminal key: another token
        let mut other = val("ca_pcd_pub_key");
        other[10] ^= 1;
        let t2 = token_picc(Cipher::Aes128, &keys, &oid, 0x86, &other).unwrap();
        assert_ne!(t2.to_vec(), val("ca_picc_token"));
    }

    /// The chip side against the same example: its EF.CardSecurity (CA version 2), its
    /// static key, the documented nonce and the terminal's key give the documented token;
    /// without a TA v2 announcement, or for another key than the announced one, refused.
    #[test]
    fn chip_answers_with_the_worked_example_token() {
        use crate::access::ca::chip::ChipCa;
        use crate::apdu::StatusWord;
        let cs = std::fs::read(format!(
            "{}/test-vectors/protocol/bsi_eac_worked_example/ecdh_ef_cardsecurity.bin",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let infos = crate::lds::security_infos::CardSecurity::decode(&cs)
            .unwrap()
            .security_infos;
        let c = choose_v2(&infos, None).unwrap();
        let (oid, key_id) = (c.protocol.oid(), c.key_id);
        assert_eq!(oid.to_string(), "0.4.0.127.0.7.2.2.3.2.2");
        let key = PrivateKey::from_bytes(&val("ca_picc_priv_key")).unwrap();
        let pk_pcd = val("ca_pcd_pub_key");
        let comp = ta::comp(KeyKind::Ec, &pk_pcd).unwrap();
        let run = |announced: Option<&[u8]>| {
            let mut chip = ChipCa::new(
                infos.clone(),
                PrivateKey::from_bytes(&val("ca_picc_priv_key")).unwrap(),
            );
            let mut rng = crate::rng::ScriptedRandom::new([val("ca_nonce")]);
            let r = chip.process_with(&apdus::mse_set_at(&oid, key_id), &mut rng, announced);
            assert_eq!(r.response.sw, StatusWord::OK);
            chip.process_with(&apdus::general_authenticate(&pk_pcd), &mut rng, announced)
        };
        let r = run(Some(&comp));
        assert_eq!(r.response.sw, StatusWord::OK);
        let objects = parse_dynamic_auth_data(&r.response.data).unwrap();
        assert_eq!(objects[0], (TAG_NONCE, val("ca_nonce").as_slice()));
        assert_eq!(objects[1], (TAG_TOKEN, val("ca_picc_token").as_slice()));
        assert_eq!(r.new_keys.unwrap().ks_enc(), val("ca_k_enc").as_slice());
        drop(key);
        assert_eq!(run(None).response.sw, StatusWord::CONDITIONS_NOT_SATISFIED);
        let mut other = comp.clone();
        other[0] ^= 1;
        assert_eq!(run(Some(&other)).response.sw, StatusWord::WRONG_DATA);
    }
}

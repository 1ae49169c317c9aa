//! Leading zero bytes in big integers (gematik E-Rezept-App-Android #30: a brainpoolP256r1
//! coordinate encoded in 31 instead of 32 bytes broke 0.6–0.8 % of PACE runs).
//!
//! Every value whose big-endian form may start with 00 is forced to do so, on the reader
//! and on the chip side, by searching the private keys (a few hundred tries each)
//! instead of waiting for 1-in-256 luck: the PACE shared secret K (KDF input), the
//! ephemeral and mapping public keys (token input, mapping), the nonce s, the PACE-CAM
//! value CA_IC, the Chip Authentication shared secret and ECDSA signatures of Active
//! Authentication. Each session is then checked against values computed here with
//! OpenSSL primitives directly (ECDH and DH through EVP_PKEY_derive, SHA, AES/3DES, CMAC),
//! not against emrtd's own code: the session keys of both sides, the tokens on the
//! wire, the generic mapping and the decrypted CAM data.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use emrtd::access::aa::{self, AaSigner, EcdsaEncoding};
use emrtd::access::ca::{self, ChipCa};
use emrtd::access::pace::{self, ChipPace, DomainParams, PaceConfig, PrivateKey};
use emrtd::access::{AccessError, Password};
use emrtd::apdu::{Command, PlainChannel};
use emrtd::asn1::HashAlgorithm;
use emrtd::lds::dg15::Dg15;
use emrtd::lds::security_infos::{
    ActiveAuthenticationInfo, AlgorithmIdentifier, ChipAuthenticationPublicKeyInfo, CipherSuite, PaceInfo,
    PaceMapping, PaceProtocol, SecurityInfo, SecurityInfos, SubjectPublicKeyInfo,
};
use emrtd::rng::ScriptedRandom;
use emrtd::sm::SessionKeys;
use emrtd::transport::{Transport, TransportError};
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::derive::Deriver;
use openssl::dh::Dh;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher as Sym, Crypter, Mode};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------
// independent primitives (OpenSSL only)

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ciph {
    Tdes,
    Aes128,
    Aes192,
    Aes256,
}

impl Ciph {
    fn suite(self) -> CipherSuite {
        match self {
            Ciph::Tdes => CipherSuite::Tdes,
            Ciph::Aes128 => CipherSuite::Aes128,
            Ciph::Aes192 => CipherSuite::Aes192,
            Ciph::Aes256 => CipherSuite::Aes256,
        }
    }
    fn key_len(self) -> usize {
        match self {
            Ciph::Tdes | Ciph::Aes128 => 16,
            Ciph::Aes192 => 24,
            Ciph::Aes256 => 32,
        }
    }
    /// Last arc of the protocol OIDs (Doc 9303 Part 11 §9.2).
    fn arc(self) -> u8 {
        match self {
            Ciph::Tdes => 1,
            Ciph::Aes128 => 2,
            Ciph::Aes192 => 3,
            Ciph::Aes256 => 4,
        }
    }
}

const CIPHERS: [Ciph; 4] = [Ciph::Tdes, Ciph::Aes128, Ciph::Aes192, Ciph::Aes256];

/// Doc 9303 Part 11 §9.7.1: `H(K || counter)`, SHA-1 for 3DES/AES-128, SHA-256 above;
/// 3DES keys with odd parity.
fn kdf(k: &[u8], counter: u32, c: Ciph) -> Vec<u8> {
    let mut input = k.to_vec();
    input.extend_from_slice(&counter.to_be_bytes());
    let mut out = match c {
        Ciph::Tdes | Ciph::Aes128 => openssl::sha::sha1(&input).to_vec(),
        Ciph::Aes192 | Ciph::Aes256 => openssl::sha::sha256(&input).to_vec(),
    };
    out.truncate(c.key_len());
    if c == Ciph::Tdes {
        for b in &mut out {
            *b = (*b & 0xFE) | u8::from((*b & 0xFE).count_ones() % 2 == 0);
        }
    }
    out
}

/// Raw block cipher in CBC mode, no padding.
fn cbc(c: Ciph, mode: Mode, key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
    let (sym, key) = match c {
        Ciph::Tdes => (Sym::des_ede3_cbc(), [key, &key[..8]].concat()),
        Ciph::Aes128 => (Sym::aes_128_cbc(), key.to_vec()),
        Ciph::Aes192 => (Sym::aes_192_cbc(), key.to_vec()),
        Ciph::Aes256 => (Sym::aes_256_cbc(), key.to_vec()),
    };
    let mut cr = Crypter::new(sym, mode, &key, Some(iv)).unwrap();
    cr.pad(false);
    let mut out = vec![0; data.len() + 32];
    let n = cr.update(data, &mut out).unwrap();
    let m = cr.finalize(&mut out[n..]).unwrap();
    out.truncate(n + m);
    out
}

fn block(c: Ciph) -> usize {
    if c == Ciph::Tdes { 8 } else { 16 }
}

/// ISO/IEC 9797-1 padding method 2.
fn pad2(data: &[u8], bs: usize) -> Vec<u8> {
    let mut v = data.to_vec();
    v.push(0x80);
    while !v.len().is_multiple_of(bs) {
        v.push(0);
    }
    v
}

/// The PACE authentication token: AES-CMAC truncated to 8 bytes, or the ISO/IEC 9797-1
/// MAC algorithm 3 (single-DES CBC, then 3DES on the last block) over padded data.
fn token(c: Ciph, ks_mac: &[u8], data: &[u8]) -> Vec<u8> {
    if c == Ciph::Tdes {
        let padded = pad2(data, 8);
        let k1 = &ks_mac[..8];
        let single = [k1, k1].concat();
        let (head, last) = padded.split_at(padded.len() - 8);
        let chain = cbc(Ciph::Tdes, Mode::Encrypt, &single, &[0; 8], head);
        let h = chain
            .get(chain.len().saturating_sub(8)..)
            .unwrap_or(&[0; 8])
            .to_vec();
        let h = if head.is_empty() { vec![0; 8] } else { h };
        cbc(Ciph::Tdes, Mode::Encrypt, ks_mac, &h, last)
    } else {
        let sym = match c {
            Ciph::Aes128 => Sym::aes_128_cbc(),
            Ciph::Aes192 => Sym::aes_192_cbc(),
            _ => Sym::aes_256_cbc(),
        };
        let key = PKey::cmac(&sym, ks_mac).unwrap();
        let mut s = Signer::new_without_digest(&key).unwrap();
        s.update(data).unwrap();
        s.sign_to_vec().unwrap()[..8].to_vec()
    }
}

/// DER tag-length-value with a one- or two-byte tag.
fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut v = tag.to_vec();
    let n = value.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(value);
    v
}

/// The objects of a dynamic authentication data object (7C), one-byte tags.
fn objects(data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert_eq!(data.first(), Some(&0x7C), "{}", hex::encode(data));
    let (inner, _) = value(&data[1..]);
    let mut out = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let tag = rest[0];
        let (v, after) = value(&rest[1..]);
        out.push((tag, v.to_vec()));
        rest = after;
    }
    out
}

fn value(b: &[u8]) -> (&[u8], &[u8]) {
    let (len, skip) = match b[0] {
        0x81 => (usize::from(b[1]), 2),
        0x82 => (usize::from(b[1]) << 8 | usize::from(b[2]), 3),
        n => (usize::from(n), 1),
    };
    (&b[skip..skip + len], &b[skip + len..])
}

fn find(objs: &[(u8, Vec<u8>)], tag: u8) -> Vec<u8> {
    objs.iter()
        .find(|(t, _)| *t == tag)
        .unwrap_or_else(|| panic!("no tag {tag:02X}"))
        .1
        .clone()
}

fn padded(x: &BigNumRef, len: usize) -> Vec<u8> {
    x.to_vec_padded(i32::try_from(len).unwrap()).unwrap()
}

fn bn(b: &[u8]) -> BigNum {
    BigNum::from_slice(b).unwrap()
}

// ---------------------------------------------------------------------------------
// groups

enum Group {
    Ec {
        group: EcGroup,
        field: usize,
        order: BigNum,
    },
    Dh {
        p: BigNum,
        q: BigNum,
        g: BigNum,
    },
}

/// Standardized domain parameters by ID (Doc 9303 Part 11 §9.5.1), built from
/// OpenSSL's own curve and RFC 5114 tables.
fn group(id: u32) -> Group {
    let ec = |nid| {
        let group = EcGroup::from_curve_name(nid).unwrap();
        let mut order = BigNum::new().unwrap();
        group
            .order(&mut order, &mut BigNumContext::new().unwrap())
            .unwrap();
        let field = usize::try_from(group.degree().div_ceil(8)).unwrap();
        Group::Ec { group, field, order }
    };
    let dh = |d: Dh<openssl::pkey::Params>| Group::Dh {
        p: d.prime_p().to_owned().unwrap(),
        q: d.prime_q().unwrap().to_owned().unwrap(),
        g: d.generator().to_owned().unwrap(),
    };
    match id {
        0 => dh(Dh::get_1024_160().unwrap()),
        2 => dh(Dh::get_2048_256().unwrap()),
        12 => ec(Nid::X9_62_PRIME256V1),
        13 => ec(Nid::BRAINPOOL_P256R1),
        _ => unreachable!(),
    }
}

/// A group element as OpenSSL objects.
enum El {
    Ec(EcPoint),
    Dh(BigNum),
}

impl Group {
    fn order(&self) -> &BigNumRef {
        match self {
            Group::Ec { order, .. } => order,
            Group::Dh { q, .. } => q,
        }
    }
    fn order_len(&self) -> usize {
        usize::try_from(self.order().num_bytes()).unwrap()
    }
    /// Length of an encoded coordinate (EC) or group element (DH).
    fn elem_len(&self) -> usize {
        match self {
            Group::Ec { field, .. } => *field,
            Group::Dh { p, .. } => usize::try_from(p.num_bytes()).unwrap(),
        }
    }
    fn generator(&self) -> El {
        match self {
            Group::Ec { group, .. } => El::Ec(group.generator_opt().unwrap().to_owned(group).unwrap()),
            Group::Dh { g, .. } => El::Dh(BigNumRef::to_owned(g).unwrap()),
        }
    }
    fn mul(&self, e: &El, k: &BigNumRef) -> El {
        let mut ctx = BigNumContext::new().unwrap();
        match (self, e) {
            (Group::Ec { group, .. }, El::Ec(pt)) => {
                let mut r = EcPoint::new(group).unwrap();
                r.mul2(group, pt, k, &mut ctx).unwrap();
                El::Ec(r)
            }
            (Group::Dh { p, .. }, El::Dh(v)) => {
                let mut r = BigNum::new().unwrap();
                r.mod_exp(v, k, p, &mut ctx).unwrap();
                El::Dh(r)
            }
            _ => unreachable!(),
        }
    }
    fn add(&self, a: &El, b: &El) -> El {
        let mut ctx = BigNumContext::new().unwrap();
        match (self, a, b) {
            (Group::Ec { group, .. }, El::Ec(x), El::Ec(y)) => {
                let mut r = EcPoint::new(group).unwrap();
                r.add(group, x, y, &mut ctx).unwrap();
                El::Ec(r)
            }
            (Group::Dh { p, .. }, El::Dh(x), El::Dh(y)) => {
                let mut r = BigNum::new().unwrap();
                r.mod_mul(x, y, p, &mut ctx).unwrap();
                El::Dh(r)
            }
            _ => unreachable!(),
        }
    }
    /// Encoding on the wire: `04 || x || y` or the value, padded.
    fn encode(&self, e: &El) -> Vec<u8> {
        let mut ctx = BigNumContext::new().unwrap();
        match (self, e) {
            (Group::Ec { group, field, .. }, El::Ec(pt)) => {
                let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
                pt.affine_coordinates(group, &mut x, &mut y, &mut ctx).unwrap();
                [vec![4], padded(&x, *field), padded(&y, *field)].concat()
            }
            (Group::Dh { .. }, El::Dh(v)) => padded(v, self.elem_len()),
            _ => unreachable!(),
        }
    }
    fn decode(&self, b: &[u8]) -> El {
        match self {
            Group::Ec { group, .. } => {
                El::Ec(EcPoint::from_bytes(group, b, &mut BigNumContext::new().unwrap()).unwrap())
            }
            Group::Dh { .. } => El::Dh(bn(b)),
        }
    }
    /// The encoding starts a coordinate or value with a zero byte.
    fn has_leading_zero(&self, e: &El) -> bool {
        let enc = self.encode(e);
        match self {
            Group::Ec { field, .. } => enc[1] == 0 || enc[1 + field] == 0,
            Group::Dh { .. } => enc[0] == 0,
        }
    }
    /// The shared secret of `sk` and `peer`, from OpenSSL's own key agreement (ECDH
    /// through EVP_PKEY_derive, the x-coordinate at the field's length; DH through
    /// EVP_PKEY_derive, which drops leading zeros: padded here to the length of p as
    /// Doc 9303 Part 11 §9.6 asks). Also whether it starts with a zero byte.
    fn shared_secret(&self, sk: &BigNumRef, peer: &[u8]) -> (Vec<u8>, bool) {
        match self {
            Group::Ec { group, field, .. } => {
                let mut ctx = BigNumContext::new().unwrap();
                let mut pub_ = EcPoint::new(group).unwrap();
                pub_.mul_generator2(group, sk, &mut ctx).unwrap();
                let own = EcKey::from_private_components(group, sk, &pub_).unwrap();
                let peer = EcPoint::from_bytes(group, peer, &mut BigNumContext::new().unwrap()).unwrap();
                let peer = EcKey::from_public_key(group, &peer).unwrap();
                let own = PKey::from_ec_key(own).unwrap();
                let peer = PKey::from_ec_key(peer).unwrap();
                let mut d = Deriver::new(&own).unwrap();
                d.set_peer(&peer).unwrap();
                let k = d.derive_to_vec().unwrap();
                assert_eq!(k.len(), *field);
                let zero = k[0] == 0;
                (k, zero)
            }
            Group::Dh { p, q, g } => {
                let dh = || {
                    Dh::from_pqg(
                        BigNumRef::to_owned(p).unwrap(),
                        Some(BigNumRef::to_owned(q).unwrap()),
                        BigNumRef::to_owned(g).unwrap(),
                    )
                    .unwrap()
                };
                let own =
                    PKey::from_dh(dh().set_private_key(BigNumRef::to_owned(sk).unwrap()).unwrap()).unwrap();
                let peer = PKey::from_dh(dh().set_public_key(bn(peer)).unwrap()).unwrap();
                let mut d = Deriver::new(&own).unwrap();
                d.set_peer(&peer).unwrap();
                // OpenSSL's DH derivation without padding drops leading zeros
                let raw = d.derive_to_vec().unwrap();
                let len = self.elem_len();
                assert!(raw.len() <= len);
                let zero = raw.len() < len || raw[0] == 0;
                let mut k = vec![0; len - raw.len()];
                k.extend_from_slice(&raw);
                (k, zero)
            }
        }
    }
    /// Quick test for the searches (plain point multiplication or exponentiation): the
    /// agreement of `sk` and `peer` starts with a zero byte. The value itself is taken
    /// from [`Group::shared_secret`].
    fn agreement_is_short(&self, sk: &BigNumRef, peer: &El) -> bool {
        let enc = self.encode(&self.mul(peer, sk));
        match self {
            Group::Ec { .. } => enc[1] == 0,
            Group::Dh { .. } => enc[0] == 0,
        }
    }
    /// The first private key from `start` on (wrapping below the order) for which
    /// `pred` holds; at most 20,000 tries (the chance per try is about 1/256 or 1/128).
    fn search(&self, start: &BigNumRef, pred: impl Fn(&BigNum) -> bool) -> BigNum {
        let one = BigNum::from_u32(1).unwrap();
        let mut k = start.to_owned().unwrap();
        for _ in 0..20_000 {
            let mut next = BigNum::new().unwrap();
            next.checked_add(&k, &one).unwrap();
            if next.ucmp(self.order()) != std::cmp::Ordering::Less {
                next = BigNum::from_u32(1).unwrap();
            }
            k = next;
            if pred(&k) {
                return k;
            }
        }
        panic!("no key found");
    }
}

/// A private key in [1, order) from a seed and a label.
fn key_from(seed: u64, label: &str, order: &BigNumRef) -> BigNum {
    let mut input = seed.to_be_bytes().to_vec();
    input.extend_from_slice(label.as_bytes());
    let wide = [
        openssl::sha::sha512(&input).to_vec(),
        openssl::sha::sha512(&[&input[..], b"2"].concat()).to_vec(),
    ]
    .concat();
    let mut r = BigNum::new().unwrap();
    r.nnmod(&bn(&wide), order, &mut BigNumContext::new().unwrap())
        .unwrap();
    if r.num_bits() == 0 {
        return BigNum::from_u32(1).unwrap();
    }
    r
}

// ---------------------------------------------------------------------------------
// a chip behind the Transport trait that keeps the transcript

struct Card {
    chip: ChipPace,
    rng: ScriptedRandom,
    commands: Vec<Vec<u8>>,
    responses: Vec<Vec<u8>>,
    established: Option<SessionKeys>,
}

impl Transport for Card {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let cmd = Command::decode(command).unwrap();
        let reply = self.chip.process(&cmd, &mut self.rng);
        self.commands.push(cmd.data.clone());
        let bytes = reply.response.to_bytes();
        self.established = reply.established.or(self.established.take());
        self.responses.push(bytes[..bytes.len() - 2].to_vec());
        Ok(bytes)
    }
}

fn pace_oid(mapping: PaceMapping, c: Ciph) -> Vec<u8> {
    let m = match mapping {
        PaceMapping::DhGm => 1,
        PaceMapping::EcdhGm => 2,
        PaceMapping::DhIm => 3,
        PaceMapping::EcdhIm => 4,
        PaceMapping::EcdhCam => 6,
    };
    vec![0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, m, c.arc()]
}

/// What is forced to start with a zero byte in one session.
#[derive(Clone, Copy, Debug)]
enum Force {
    /// The shared secret K (the KDF's input).
    SharedSecret,
    /// Both ephemeral public keys (the tokens' input).
    EphemeralKeys,
    /// The nonce s, both mapping public keys (generic mapping), CA_IC (CAM), t (IM).
    Mapping,
}

const CAN: &str = "123456";

/// One PACE session between emrtd's reader and emrtd's chip with every random value
/// chosen here, then checked value by value against OpenSSL.
fn session(mapping: PaceMapping, id: u32, c: Ciph, force: Force, seed: u64) {
    let g = group(id);
    let order = g.order().to_owned().unwrap();
    let olen = g.order_len();
    let ctx_label = format!("{mapping:?} {id} {c:?} {force:?} {seed}");
    let nonce_len = if matches!(c, Ciph::Tdes | Ciph::Aes128) {
        16
    } else {
        32
    };
    let mut s = openssl::sha::sha256(format!("s{seed}").as_bytes())[..nonce_len].to_vec();
    let mut t = openssl::sha::sha256(format!("t{seed}").as_bytes())[..c.key_len()].to_vec();
    if matches!(force, Force::Mapping) {
        s[0] = 0;
        t[0] = 0;
    }
    let base = g.generator();
    let cam_sk = key_from(seed, "cam", &order);
    let mut sk_map_t = key_from(seed, "map-t", &order);
    let mut sk_map_ic = key_from(seed, "map-ic", &order);
    if matches!(force, Force::Mapping) && mapping.is_generic() {
        sk_map_t = g.search(&sk_map_t, |k| g.has_leading_zero(&g.mul(&base, k)));
        sk_map_ic = if mapping == PaceMapping::EcdhCam {
            // CA_IC = SK_IC^-1 · SK_Map,IC mod n shorter than n
            let mut ctx = BigNumContext::new().unwrap();
            let mut inv = BigNum::new().unwrap();
            inv.mod_inverse(&cam_sk, &order, &mut ctx).unwrap();
            g.search(&sk_map_ic, |k| {
                let mut ca = BigNum::new().unwrap();
                ca.mod_mul(&inv, k, &order, &mut BigNumContext::new().unwrap())
                    .unwrap();
                ca.num_bytes() < i32::try_from(olen).unwrap()
            })
        } else {
            g.search(&sk_map_ic, |k| g.has_leading_zero(&g.mul(&base, k)))
        };
    }
    // the mapped generator, for the search only; for GM it is also checked below
    let params = DomainParams::standardized(id).unwrap();
    let mapped = if mapping.is_generic() {
        // G~ = s·G + H, H = SK_Map,T · PK_Map,IC
        let h = g.mul(&g.mul(&base, &sk_map_ic), &sk_map_t);
        g.add(&g.mul(&base, &bn(&s)), &h)
    } else {
        let cipher = pace::crypto::cipher_of(c.suite());
        let r = pace::mapping::im::pseudo_random(cipher, &s, &t, params.prime()).unwrap();
        g.decode(
            &params
                .encode(&pace::mapping::im::map(&params, &r).unwrap())
                .unwrap(),
        )
    };
    let mut sk_e_ic = key_from(seed, "e-ic", &order);
    let mut sk_e_t = key_from(seed, "e-t", &order);
    match force {
        Force::SharedSecret => {
            let pk_ic = g.mul(&mapped, &sk_e_ic);
            sk_e_t = g.search(&sk_e_t, |k| g.agreement_is_short(k, &pk_ic));
        }
        Force::EphemeralKeys => {
            sk_e_ic = g.search(&sk_e_ic, |k| g.has_leading_zero(&g.mul(&mapped, k)));
            sk_e_t = g.search(&sk_e_t, |k| g.has_leading_zero(&g.mul(&mapped, k)));
        }
        Force::Mapping => {}
    }

    // the run: each side's randomness in the order it draws it
    let info = PaceInfo::new(
        PaceProtocol {
            mapping,
            cipher: c.suite(),
        },
        Some(id),
    );
    let card_access = SecurityInfos::from_infos(vec![SecurityInfo::Pace(info)]);
    let cam = (mapping == PaceMapping::EcdhCam).then(|| {
        params
            .random_private_key(&mut ScriptedRandom::new([padded(&cam_sk, olen)]))
            .unwrap()
    });
    let mut chip_rng = vec![s.clone()];
    if mapping.is_generic() {
        chip_rng.push(padded(&sk_map_ic, olen));
    }
    chip_rng.push(padded(&sk_e_ic, olen));
    let mut reader_rng = ScriptedRandom::new([
        if mapping.is_generic() {
            padded(&sk_map_t, olen)
        } else {
            t.clone()
        },
        padded(&sk_e_t, olen),
    ]);
    let password = Password::can(CAN).unwrap();
    let mut card = Card {
        chip: ChipPace::new(card_access.clone(), vec![password.clone()], cam),
        rng: ScriptedRandom::new(chip_rng),
        commands: Vec::new(),
        responses: Vec::new(),
        established: None,
    };
    let out = {
        let mut ch = PlainChannel::new(&mut card);
        pace::authenticate(
            &mut ch,
            &card_access,
            &password,
            &PaceConfig::default(),
            &mut reader_rng,
        )
    }
    .unwrap_or_else(|e: AccessError| panic!("{ctx_label}: {e}"));
    assert_eq!(reader_rng.remaining(), 0, "{ctx_label}");
    assert_eq!(card.rng.remaining(), 0, "{ctx_label}");
    assert!(reader_rng.mismatches.is_empty() && card.rng.mismatches.is_empty());

    // the transcript: MSE, GA1..GA4
    assert_eq!(card.commands.len(), 5, "{ctx_label}");
    let ga = |i: usize| (objects(&card.commands[i]), objects(&card.responses[i]));
    // nonce: z = E(K_pi, s), zero IV
    let z = find(&ga(1).1, 0x80);
    let k_pi = kdf(CAN.as_bytes(), 3, c);
    assert_eq!(
        z,
        cbc(c, Mode::Encrypt, &k_pi, &vec![0; block(c)], &s),
        "{ctx_label}"
    );
    // mapping
    let (map_cmd, map_resp) = ga(2);
    if mapping.is_generic() {
        let pk_map_t = find(&map_cmd, 0x81);
        let pk_map_ic = find(&map_resp, 0x82);
        assert_eq!(pk_map_t, g.encode(&g.mul(&base, &sk_map_t)), "{ctx_label}");
        assert_eq!(pk_map_ic, g.encode(&g.mul(&base, &sk_map_ic)), "{ctx_label}");
        if matches!(force, Force::Mapping) {
            assert!(g.has_leading_zero(&g.decode(&pk_map_t)), "{ctx_label}");
        }
    } else {
        assert_eq!(find(&map_cmd, 0x81), t, "{ctx_label}");
    }
    // ephemeral keys: on the mapped generator (GM: computed here from s and H)
    let pk_e_t = find(&ga(3).0, 0x83);
    let pk_e_ic = find(&ga(3).1, 0x84);
    assert_eq!(pk_e_t.len(), g.encode(&base).len(), "{ctx_label}");
    assert_eq!(pk_e_t, g.encode(&g.mul(&mapped, &sk_e_t)), "{ctx_label}");
    assert_eq!(pk_e_ic, g.encode(&g.mul(&mapped, &sk_e_ic)), "{ctx_label}");
    if matches!(force, Force::EphemeralKeys) {
        assert!(g.has_leading_zero(&g.decode(&pk_e_t)), "{ctx_label}");
        assert!(g.has_leading_zero(&g.decode(&pk_e_ic)), "{ctx_label}");
    }
    // K and the session keys of both sides
    let (k, k_zero) = g.shared_secret(&sk_e_t, &pk_e_ic);
    if matches!(force, Force::SharedSecret) {
        assert!(k_zero, "{ctx_label}");
    }
    let (ks_enc, ks_mac) = (kdf(&k, 1, c), kdf(&k, 2, c));
    assert_eq!(out.keys.ks_enc(), &ks_enc[..], "{ctx_label}");
    assert_eq!(out.keys.ks_mac(), &ks_mac[..], "{ctx_label}");
    let chip_keys = card.established.as_ref().unwrap();
    assert_eq!(chip_keys.ks_enc(), &ks_enc[..], "{ctx_label}");
    assert_eq!(chip_keys.ks_mac(), &ks_mac[..], "{ctx_label}");
    // tokens over the other side's ephemeral key
    let oid = pace_oid(mapping, c);
    let key_tag = if matches!(g, Group::Ec { .. }) { 0x86 } else { 0x84 };
    let data = |pk: &[u8]| tlv(&[0x7F, 0x49], &[tlv(&[0x06], &oid), tlv(&[key_tag], pk)].concat());
    let (tok_cmd, tok_resp) = ga(4);
    assert_eq!(
        find(&tok_cmd, 0x85),
        token(c, &ks_mac, &data(&pk_e_ic)),
        "{ctx_label}"
    );
    assert_eq!(
        find(&tok_resp, 0x86),
        token(c, &ks_mac, &data(&pk_e_t)),
        "{ctx_label}"
    );
    // PACE-CAM: A_IC = E(KSenc, pad(CA_IC)), IV = E(KSenc, FF..FF)
    if mapping == PaceMapping::EcdhCam {
        let a_ic = find(&tok_resp, 0x8A);
        let iv = cbc(c, Mode::Encrypt, &ks_enc, &[0; 16], &[0xFF; 16]);
        let plain = cbc(c, Mode::Decrypt, &ks_enc, &iv, &a_ic);
        let mut ctx = BigNumContext::new().unwrap();
        let mut inv = BigNum::new().unwrap();
        inv.mod_inverse(&cam_sk, &order, &mut ctx).unwrap();
        let mut ca_ic = BigNum::new().unwrap();
        ca_ic.mod_mul(&inv, &sk_map_ic, &order, &mut ctx).unwrap();
        assert_eq!(plain, pad2(&padded(&ca_ic, olen), 16), "{ctx_label}");
        if matches!(force, Force::Mapping) {
            assert_eq!(plain[0], 0, "{ctx_label}");
        }
        let pk_cam = g.encode(&g.mul(&base, &cam_sk));
        let cs = SecurityInfos::from_infos(vec![SecurityInfo::ChipAuthenticationPublicKey(
            ChipAuthenticationPublicKeyInfo::new(
                true,
                SubjectPublicKeyInfo::new(AlgorithmIdentifier::standardized(id), pk_cam),
                Some(1),
            ),
        )]);
        out.verify_cam(&cs)
            .unwrap_or_else(|e| panic!("{ctx_label}: CAM {e}"));
    }
}

const CONFIGS: [(PaceMapping, u32); 10] = [
    (PaceMapping::EcdhGm, 13),
    (PaceMapping::EcdhGm, 12),
    (PaceMapping::EcdhIm, 13),
    (PaceMapping::EcdhIm, 12),
    (PaceMapping::EcdhCam, 13),
    (PaceMapping::EcdhCam, 12),
    (PaceMapping::DhGm, 0),
    (PaceMapping::DhGm, 2),
    (PaceMapping::DhIm, 0),
    (PaceMapping::DhIm, 2),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2, failure_persistence: None, max_shrink_iters: 4, ..ProptestConfig::default() })]

    /// Every mapping and both kinds of group, each value forced to a leading zero.
    #[test]
    fn pace_pads_every_value_with_leading_zeros(seed in any::<u64>()) {
        for (i, (mapping, id)) in CONFIGS.into_iter().enumerate() {
            for force in [Force::SharedSecret, Force::EphemeralKeys, Force::Mapping] {
                let mut c = CIPHERS[(seed as usize + i) % 4];
                if mapping == PaceMapping::EcdhCam && c == Ciph::Tdes {
                    c = Ciph::Aes128;
                }
                session(mapping, id, c, force, seed);
            }
        }
    }
}

/// The gematik case itself: brainpoolP256r1, generic mapping, AES-128, a K of 31
/// significant bytes, with every cipher.
#[test]
fn brainpool_k_of_31_bytes_with_every_cipher() {
    for (i, c) in CIPHERS.into_iter().enumerate() {
        session(PaceMapping::EcdhGm, 13, c, Force::SharedSecret, 30 + i as u64);
    }
}

// ---------------------------------------------------------------------------------
// Chip Authentication

fn ca_infos(id: u32, pk: Vec<u8>, c: Ciph) -> SecurityInfos {
    let ecdh = id >= 8;
    let ca = emrtd::lds::security_infos::ChipAuthenticationInfo::new(
        emrtd::lds::security_infos::CaProtocol {
            ecdh,
            cipher: c.suite(),
        },
        1,
        Some(7),
    );
    SecurityInfos::from_infos(vec![
        SecurityInfo::ChipAuthentication(ca),
        SecurityInfo::ChipAuthenticationPublicKey(ChipAuthenticationPublicKeyInfo::new(
            ecdh,
            SubjectPublicKeyInfo::new(AlgorithmIdentifier::standardized(id), pk),
            Some(7),
        )),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, failure_persistence: None, max_shrink_iters: 4, ..ProptestConfig::default() })]

    /// CA (ECDH and DH): the terminal's ephemeral key searched until K starts with 00;
    /// both sides derive the keys of the padded K.
    #[test]
    fn chip_authentication_pads_the_shared_secret(seed in any::<u64>()) {
        for (i, id) in [13u32, 12, 0, 2].into_iter().enumerate() {
            let c = CIPHERS[(seed as usize + i) % 4];
            let g = group(id);
            let order = g.order().to_owned().unwrap();
            let olen = g.order_len();
            let sk_ic = key_from(seed, "ca-ic", &order);
            let pk_ic = g.encode(&g.mul(&g.generator(), &sk_ic));
            // a DH key is a DER INTEGER in the subjectPublicKey (RFC 3279 DHPublicKey)
            let spk = match g {
                Group::Ec { .. } => pk_ic.clone(),
                Group::Dh { .. } => {
                    let mut v = bn(&pk_ic).to_vec();
                    if v[0] & 0x80 != 0 {
                        v.insert(0, 0);
                    }
                    tlv(&[0x02], &v)
                }
            };
            let infos = ca_infos(id, spk, c);
            let pk_ic_el = g.decode(&pk_ic);
            let sk_t = g.search(&key_from(seed, "ca-t", &order), |k| g.agreement_is_short(k, &pk_ic_el));
            let (k, zero) = g.shared_secret(&sk_t, &pk_ic);
            prop_assert!(zero);
            // reader side
            let candidate = ca::choose(&infos, None).unwrap();
            let key = candidate.key().unwrap();
            let mut rng = ScriptedRandom::new([padded(&sk_t, olen)]);
            let (pk_t, reader_k) = ca::agree(&key, &mut rng).unwrap();
            prop_assert_eq!(&pk_t, &g.encode(&g.mul(&g.generator(), &sk_t)));
            prop_assert_eq!(&reader_k[..], &k[..]);
            // chip side: MSE:Set KAT with the terminal's key
            let params = DomainParams::standardized(id).unwrap();
            let chip_key: PrivateKey = params
                .random_private_key(&mut ScriptedRandom::new([padded(&sk_ic, olen)]))
                .unwrap();
            let mut chip = ChipCa::new(infos.clone(), chip_key);
            let reply = chip.process(&ca::apdus::mse_set_kat(&pk_t, Some(7)));
            let keys = reply.new_keys.expect("the chip agreed");
            prop_assert_eq!(keys.ks_enc(), &kdf(&k, 1, c)[..]);
            prop_assert_eq!(keys.ks_mac(), &kdf(&k, 2, c)[..]);
        }
    }
}

// ---------------------------------------------------------------------------------
// Active Authentication (ECDSA plain r || s)

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, max_shrink_iters: 4, ..ProptestConfig::default() })]

    /// The chip's signer pads r and s to the order's length, and the reader takes an
    /// r or s with leading zeros; OpenSSL's ECDSA verification agrees.
    #[test]
    fn ecdsa_signatures_with_leading_zeros(seed in any::<u64>()) {
        for nid in [Nid::BRAINPOOL_P256R1, Nid::X9_62_PRIME256V1] {
            let group = EcGroup::from_curve_name(nid).unwrap();
            let mut order = BigNum::new().unwrap();
            group.order(&mut order, &mut BigNumContext::new().unwrap()).unwrap();
            let d = key_from(seed, "aa", &order);
            let mut pub_ = EcPoint::new(&group).unwrap();
            pub_.mul_generator2(&group, &d, &mut BigNumContext::new().unwrap()).unwrap();
            let ec = EcKey::from_private_components(&group, &d, &pub_).unwrap();
            let signer = AaSigner::new(PKey::from_ec_key(ec.clone()).unwrap())
                .unwrap()
                .with_ecdsa_encoding(EcdsaEncoding::Plain);
            let dg15 = Dg15::from_spki(&signer.public_key_der().unwrap()).unwrap();
            let info = ActiveAuthenticationInfo::new(HashAlgorithm::Sha256.ecdsa_plain_oid());
            let public = EcKey::from_public_key(&group, &pub_).unwrap();
            let mut found = false;
            for n in 0u32..5_000 {
                let challenge = [&seed.to_be_bytes()[..4], &n.to_be_bytes()[..]].concat();
                let sig = signer.sign(&challenge, Some(HashAlgorithm::Sha256), &mut ScriptedRandom::default()).unwrap();
                prop_assert_eq!(sig.len(), 64);
                if sig[0] != 0 && sig[32] != 0 {
                    continue;
                }
                found = true;
                let digest = openssl::sha::sha256(&challenge);
                let ossl = EcdsaSig::from_private_components(bn(&sig[..32]), bn(&sig[32..])).unwrap();
                prop_assert!(ossl.verify(&digest, &public).unwrap());
                aa::verify(&dg15, Some(&info), &challenge, &sig).unwrap();
                break;
            }
            prop_assert!(found);
            // the reader side on its own: OpenSSL signs until r or s is short
            for n in 0u32..5_000 {
                let challenge = [&seed.to_be_bytes()[4..], &n.to_be_bytes()[..]].concat();
                let digest = openssl::sha::sha256(&challenge);
                let sig = EcdsaSig::sign(&digest, &ec).unwrap();
                if sig.r().num_bytes() == 32 && sig.s().num_bytes() == 32 {
                    continue;
                }
                let plain = [padded(sig.r(), 32), padded(sig.s(), 32)].concat();
                aa::verify(&dg15, Some(&info), &challenge, &plain).unwrap();
                // the same signature DER-encoded (INTEGERs of their minimal length)
                let ev = aa::verify(&dg15, None, &challenge, &sig.to_der().unwrap());
                prop_assert!(ev.is_ok(), "{:?}", ev.err());
                break;
            }
        }
    }
}

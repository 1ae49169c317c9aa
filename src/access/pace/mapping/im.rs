//! Integrated Mapping (Doc 9303 Part 11 §4.4.3.3.2), DH and ECDH: the terminal sends a
//! nonce t (tag 81), the chip answers nothing, and both compute the generator from the
//! pseudo-random function `R_p(s, t)`: the point encoding `f_G` of Appendix B (affine,
//! p ≡ 3 mod 4) times the cofactor for ECDH, `R^((p-1)/q) mod p` for DH.
//!
//! Worked examples: Doc 9303 Part 11 Appendix H (H.1 ECDH, H.2 DH), here and in
//! `tests/pace_mapping_vectors.rs` and `tests/pace_worked_examples.rs`.

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::ec::EcPoint;
use openssl::error::ErrorStack;
use zeroize::Zeroizing;

use super::{ChipMapped, ChipStep, Mapped, Mapping, Run, Started, TerminalMapping, secret_bytes};
use crate::access::AccessError;
use crate::access::pace::crypto::zero_iv;
use crate::access::pace::error::PaceError;
use crate::access::pace::params::{DomainParams, EcCurve, Element};
use crate::apdu::StatusWord;
use crate::crypto::{Cipher, cbc_encrypt};
use crate::lds::security_infos::PaceMapping;
use crate::rng::RandomSource;

/// The Integrated Mapping.
#[derive(Debug, Clone, Copy)]
pub struct Integrated;

// Doc 9303 Part 11 §4.4.3.3.2 constants.
const C0_128: [u8; 16] = [
    0xA6, 0x68, 0x89, 0x2A, 0x7C, 0x41, 0xE3, 0xCA, 0x73, 0x9F, 0x40, 0xB0, 0x57, 0xD8, 0x59, 0x04,
];
const C1_128: [u8; 16] = [
    0xA4, 0xE1, 0x36, 0xAC, 0x72, 0x5F, 0x73, 0x8B, 0x01, 0xC1, 0xF6, 0x02, 0x17, 0xC1, 0x88, 0xAD,
];
const C0_256: [u8; 32] = [
    0xD4, 0x63, 0xD6, 0x52, 0x34, 0x12, 0x4E, 0xF7, 0x89, 0x70, 0x54, 0x98, 0x6D, 0xCA, 0x0A, 0x17, 0x4E,
    0x28, 0xDF, 0x75, 0x8C, 0xBA, 0xA0, 0x3F, 0x24, 0x06, 0x16, 0x41, 0x4D, 0x5A, 0x16, 0x76,
];
const C1_256: [u8; 32] = [
    0x54, 0xBD, 0x72, 0x55, 0xF0, 0xAA, 0xF8, 0x31, 0xBE, 0xC3, 0x42, 0x3F, 0xCF, 0x39, 0xD6, 0x9B, 0x6C,
    0xBF, 0x06, 0x66, 0x77, 0xD0, 0xFA, 0xAE, 0x5A, 0xAD, 0xD9, 0x9D, 0xF8, 0xE5, 0x35, 0x17,
];

/// The Integrated Mapping pseudo-random function before reduction
/// (Doc 9303 Part 11 §4.4.3.3.2):
///
/// ```text
/// n = ⌈(log2 p + 64) / l⌉          l = bit length of s
/// k0 = E(t, s)
/// for i in 0..n: x_i = E(k_i, c1); k_{i+1} = E(k_i, c0)
/// R = x_0 || … || x_{n-1}
/// ```
///
/// `E` is the block cipher in CBC mode with a zero IV (one or two blocks); `t` is a key of
/// the cipher's length; `s`, `c0`, `c1` and the `k_i` are 128 bits for 3DES and AES-128
/// and 256 bits for AES-192/256, where the first 24 bytes of `k_i` key AES-192.
pub fn pseudo_random_bytes(
    cipher: Cipher,
    s: &[u8],
    t: &[u8],
    p_bits: usize,
) -> Result<Zeroizing<Vec<u8>>, AccessError> {
    let (c0, c1): (&[u8], &[u8]) = match cipher {
        Cipher::Tdes | Cipher::Aes128 => (&C0_128, &C1_128),
        Cipher::Aes192 | Cipher::Aes256 => (&C0_256, &C1_256),
    };
    if s.len() != c0.len() {
        return Err(PaceError::MappingUnsupported {
            mapping: PaceMapping::EcdhIm,
            reason: "the chip's nonce s does not have the length the pseudo-random function needs",
        }
        .into());
    }
    let iv = zero_iv(cipher);
    let l = s.len() * 8;
    let n = (p_bits + 64).div_ceil(l);
    let mut k = Zeroizing::new(cbc_encrypt(cipher, t, &iv, s)?);
    let mut out = Zeroizing::new(Vec::with_capacity(n * s.len()));
    for _ in 0..n {
        let key = k.get(..cipher.key_len()).ok_or(PaceError::State {
            what: "pseudo-random function key too short",
        })?;
        let x = Zeroizing::new(cbc_encrypt(cipher, key, &iv, c1)?);
        let next = Zeroizing::new(cbc_encrypt(cipher, key, &iv, c0)?);
        out.extend_from_slice(&x);
        k = next;
    }
    Ok(out)
}

/// `R_p(s, t) mod p`, the input of the point encoding / exponentiation.
pub fn pseudo_random(cipher: Cipher, s: &[u8], t: &[u8], p: &BigNumRef) -> Result<BigNum, AccessError> {
    let bits = usize::try_from(p.num_bits()).unwrap_or(0);
    let r = pseudo_random_bytes(cipher, s, t, bits)?;
    let r = BigNum::from_slice(&r).map_err(PaceError::from)?;
    let mut ctx = BigNumContext::new().map_err(PaceError::from)?;
    let mut out = BigNum::new().map_err(PaceError::from)?;
    out.nnmod(&r, p, &mut ctx).map_err(PaceError::from)?;
    Ok(out)
}

fn invalid(reason: &'static str) -> PaceError {
    PaceError::InvalidPublicKey {
        what: "integrated mapping",
        reason,
    }
}

/// Map `r = R_p(s, t)` (already reduced mod p) to a generator: the point encoding `f_G`
/// times the cofactor (ECDH), or `r^((p-1)/q) mod p` (DH).
pub fn map(params: &DomainParams, r: &BigNumRef) -> Result<Element, PaceError> {
    match params {
        DomainParams::Ec(d) => point_encoding(d, r).map(Element::Ec),
        DomainParams::Dh(d) => {
            let mut ctx = BigNumContext::new()?;
            let one = BigNum::from_u32(1)?;
            let mut p1 = BigNum::new()?;
            p1.checked_sub(d.p(), &one)?;
            let mut e = BigNum::new()?;
            e.checked_div(&p1, d.q(), &mut ctx)?;
            let mut g = BigNum::new()?;
            g.mod_exp(r, &e, d.p(), &mut ctx)?;
            if g.num_bits() <= 1 {
                return Err(invalid("mapped generator is 1"));
            }
            Ok(Element::Dh(g))
        }
    }
}

/// The terminal between sending t and the chip's (empty) answer.
struct SentT {
    t: Zeroizing<Vec<u8>>,
}

impl TerminalMapping for SentT {
    fn data(&self) -> &[u8] {
        &self.t
    }

    fn complete(self: Box<Self>, run: Run<'_>, _answer: &[u8]) -> Result<Mapped, AccessError> {
        let r = pseudo_random(run.cipher, run.s, &self.t, run.params.prime())?;
        Ok(Mapped {
            generator: map(run.params, &r)?,
            chip_data: Vec::new(),
        })
    }
}

impl Mapping for Integrated {
    fn name(&self) -> &'static str {
        "Integrated Mapping"
    }

    /// Rare in the field, and for ECDH it needs p ≡ 3 mod 4.
    fn rank(&self) -> u8 {
        1
    }

    fn unfit(&self, params: &DomainParams) -> Result<Option<&'static str>, PaceError> {
        Ok((params.is_ec() && params.prime().mod_word(4)? != 3).then_some(P_3_MOD_4))
    }

    fn terminal_start(&self, run: Run<'_>, rng: &mut dyn RandomSource) -> Started {
        Ok(Box::new(SentT {
            t: secret_bytes(rng, run.cipher.key_len()),
        }))
    }

    fn chip_map(&self, run: Run<'_>, data: &[u8], _rng: &mut dyn RandomSource) -> ChipStep<ChipMapped> {
        if data.len() != run.cipher.key_len() {
            return Err(StatusWord::WRONG_DATA);
        }
        let r =
            pseudo_random(run.cipher, run.s, data, run.params.prime()).map_err(|_| StatusWord::WRONG_DATA)?;
        let generator = map(run.params, &r).map_err(|_| StatusWord::WRONG_DATA)?;
        Ok(ChipMapped {
            generator,
            answer: None,
            secret: None,
        })
    }
}

const P_3_MOD_4: &str = "the point encoding needs p ≡ 3 mod 4";

/// Arithmetic modulo `p`, each operation a new number.
struct ModP<'a> {
    p: &'a BigNumRef,
    ctx: BigNumContext,
}

impl ModP<'_> {
    fn apply(
        &mut self,
        f: impl FnOnce(&mut BigNum, &BigNumRef, &mut BigNumContext) -> Result<(), ErrorStack>,
    ) -> Result<BigNum, ErrorStack> {
        let mut r = BigNum::new()?;
        f(&mut r, self.p, &mut self.ctx)?;
        Ok(r)
    }

    fn add(&mut self, a: &BigNumRef, b: &BigNumRef) -> Result<BigNum, ErrorStack> {
        self.apply(|r, p, ctx| r.mod_add(a, b, p, ctx))
    }

    /// `-a mod p`.
    fn neg(&mut self, a: &BigNumRef) -> Result<BigNum, ErrorStack> {
        let zero = BigNum::new()?;
        self.apply(|r, p, ctx| r.mod_sub(&zero, a, p, ctx))
    }

    fn mul(&mut self, a: &BigNumRef, b: &BigNumRef) -> Result<BigNum, ErrorStack> {
        self.apply(|r, p, ctx| r.mod_mul(a, b, p, ctx))
    }

    fn sqr(&mut self, a: &BigNumRef) -> Result<BigNum, ErrorStack> {
        self.apply(|r, p, ctx| r.mod_sqr(a, p, ctx))
    }

    fn exp(&mut self, a: &BigNumRef, e: &BigNumRef) -> Result<BigNum, ErrorStack> {
        self.apply(|r, p, ctx| r.mod_exp(a, e, p, ctx))
    }
}

/// Doc 9303 Part 11 Appendix B (point encoding for the integrated mapping, affine
/// coordinates, p ≡ 3 mod 4):
/// 1. α = -t² mod p
/// 2. X2 = -b·(1 + α + α²) · (a·(α + α²))^(p-2) mod p
/// 3. X3 = α·X2 mod p
/// 4. h2 = X2³ + a·X2 + b mod p
/// 6. U = t³·h2 mod p
/// 7. A = h2^(p-1-(p+1)/4) mod p
/// 8. if A²·h2 = 1: (x, y) = (X2, A·h2) else (x, y) = (X3, A·U)
fn point_encoding(d: &EcCurve, t: &BigNumRef) -> Result<EcPoint, PaceError> {
    let mapping = PaceMapping::EcdhIm;
    let p = d.p();
    let ctx = BigNumContext::new()?;
    if p.mod_word(4)? != 3 {
        return Err(PaceError::MappingUnsupported {
            mapping,
            reason: P_3_MOD_4,
        });
    }
    if d.a().num_bits() == 0 || d.b().num_bits() == 0 {
        return Err(PaceError::MappingUnsupported {
            mapping,
            reason: "the point encoding needs a ≠ 0 and b ≠ 0",
        });
    }
    if t.num_bits() == 0 {
        return Err(invalid("pseudo-random value is zero"));
    }
    let one = BigNum::from_u32(1)?;
    let mut m = ModP { p, ctx };

    // 1. alpha = -t^2
    let t2 = m.sqr(t)?;
    let alpha = m.neg(&t2)?;
    // 2. X2 = -b (1 + alpha + alpha^2) (a (alpha + alpha^2))^(p-2)
    let alpha2 = m.sqr(&alpha)?;
    let a_a2 = m.add(&alpha, &alpha2)?;
    let num = m.add(&one, &a_a2)?;
    let minus_b = m.neg(d.b())?;
    let num2 = m.mul(&minus_b, &num)?;
    let den = m.mul(d.a(), &a_a2)?;
    if den.num_bits() == 0 {
        return Err(invalid("degenerate pseudo-random value"));
    }
    let mut p_minus_2 = BigNum::new()?;
    p_minus_2.checked_sub(p, &*BigNum::from_u32(2)?)?;
    let den_inv = m.exp(&den, &p_minus_2)?;
    let x2 = m.mul(&num2, &den_inv)?;
    // 3. X3 = alpha X2
    let x3 = m.mul(&alpha, &x2)?;
    // 4. h2 = X2^3 + a X2 + b
    let x2_sq = m.sqr(&x2)?;
    let x2_cu = m.mul(&x2_sq, &x2)?;
    let ax2 = m.mul(d.a(), &x2)?;
    let h2 = m.add(&x2_cu, &ax2)?;
    let h2 = m.add(&h2, d.b())?;
    // 6. U = t^3 h2
    let t3 = m.mul(&t2, t)?;
    let u = m.mul(&t3, &h2)?;
    // 7. A = h2^(p - 1 - (p+1)/4)
    let mut p1 = BigNum::new()?;
    p1.checked_add(p, &one)?;
    let mut quarter = BigNum::new()?;
    quarter.rshift(&p1, 2)?;
    let mut pm1 = BigNum::new()?;
    pm1.checked_sub(p, &one)?;
    let mut exp = BigNum::new()?;
    exp.checked_sub(&pm1, &quarter)?;
    let big_a = m.exp(&h2, &exp)?;
    // 8. A^2 h2 == 1 ?
    let a_sq = m.sqr(&big_a)?;
    let test = m.mul(&a_sq, &h2)?;
    let (x, y) = if test == one {
        (x2, m.mul(&big_a, &h2)?)
    } else {
        (x3, m.mul(&big_a, &u)?)
    };
    let ModP { mut ctx, .. } = m;
    let mut pt = EcPoint::new(d.group())?;
    pt.set_affine_coordinates_gfp(d.group(), &x, &y, &mut ctx)
        .map_err(|_| invalid("encoded point is not on the curve"))?;
    if !d.cofactor_is_one() {
        let mut scaled = EcPoint::new(d.group())?;
        scaled.mul2(d.group(), &pt, d.cofactor(), &mut ctx)?;
        pt = scaled;
    }
    if pt.is_infinity(d.group()) {
        return Err(invalid("mapped generator is the identity"));
    }
    Ok(pt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::pace::crypto::{decrypt_nonce, encrypt_nonce, k_pi};
    use crate::test_vectors::{hex_at, vectors};

    #[test]
    fn prf_h1_and_h2() {
        for (file, bits) in [
            ("pace_ecdh_im_brainpoolp256r1_doc9303_h1.json", 256usize),
            ("pace_dh_im_1024_160_doc9303_h2.json", 1024),
        ] {
            let v = vectors(file);
            let e = &v["expected"];
            let kpi = k_pi(b"123456", Cipher::Aes128);
            assert_eq!(*kpi, hex_at(e, "k_pi"));
            let s = decrypt_nonce(Cipher::Aes128, &kpi, &hex_at(e, "encrypted_nonce_z")).unwrap();
            assert_eq!(*s, hex_at(e, "nonce_s"));
            assert_eq!(
                encrypt_nonce(Cipher::Aes128, &kpi, &s).unwrap(),
                hex_at(e, "encrypted_nonce_z")
            );
            let r = pseudo_random_bytes(Cipher::Aes128, &s, &hex_at(e, "nonce_t"), bits).unwrap();
            assert_eq!(
                hex::encode_upper(&*r),
                e["prf_output_r"].as_str().unwrap(),
                "{file}"
            );
        }
        let v = vectors("pace_ecdh_im_brainpoolp256r1_doc9303_h1.json");
        let c = &v["inputs"]["prf_constants_aes128"];
        assert_eq!(C0_128.to_vec(), hex_at(c, "c0"));
        assert_eq!(C1_128.to_vec(), hex_at(c, "c1"));
    }

    #[test]
    fn prf_other_ciphers_have_the_right_shape() {
        for (cipher, s_len) in [(Cipher::Tdes, 16), (Cipher::Aes192, 32), (Cipher::Aes256, 32)] {
            let s = vec![0x11; s_len];
            let t = vec![0x22; cipher.key_len()];
            let r = pseudo_random_bytes(cipher, &s, &t, 256).unwrap();
            assert_eq!(r.len(), (256 + 64usize).div_ceil(s_len * 8) * s_len);
            assert!(pseudo_random_bytes(cipher, &s[..8], &t, 256).is_err());
        }
    }
}

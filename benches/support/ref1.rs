//! A stand-in for the REF-1 booklet (`pkd-fixtures/booklets/ref1.toml`) until the
//! fixture generator ships it: PACE ECDH-GM brainpoolP256r1 AES-128, extended length,
//! DG1, DG2 (~20 KB JPEG face), DG11, DG12, DG14 (Chip Authentication ECDH AES-128),
//! DG15 (RSA-2048 Active Authentication), EF.CardAccess, EF.CardSecurity and an EF.SOD
//! signed by the fixture PKI's `ut-dsc-valid`, so `emrtd verify --emulator` with the
//! store of `emrtd pkd import pkd-fixtures/pki/*` is VALID.
//!
//! Shared by `benches/bench.rs` and `tests/robustness_privacy.rs` (`#[path]`), and by
//! the dump generator of the benchmark ([`sign_sod`] re-signs varied copies).
#![allow(dead_code)]

use std::error::Error;
use std::path::{Path, PathBuf};

use emrtd::cms::sign::{SidForm, SignRequest};
use emrtd::lds::LdsFile;
use emrtd::lds::security_infos::{
    CaProtocol, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo, CipherSuite, PaceInfo, PaceMapping,
    PaceProtocol, SecurityInfo, SecurityInfos, SubjectPublicKeyInfo,
};
use emrtd::pki::signature::{HashAlgorithm, SignatureAlgorithm};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;

pub type Res<T> = Result<T, Box<dyn Error>>;

/// Holder names written into DG1 and DG11 (the privacy scan looks for them).
pub const SURNAME: &str = "REFERENCE";
/// Given names.
pub const GIVEN: &str = "ONE BENCHMARK";
/// DG11 place of birth.
pub const PLACE_OF_BIRTH: &str = "ZENITH CITY";
/// DG11 address.
pub const ADDRESS: &str = "12 QUARTZ LANE<ZENITH";

/// A built REF-1 booklet.
pub struct Ref1 {
    /// The profile file.
    pub toml: PathBuf,
    /// The MRZ (two lines joined by '\n').
    pub mrz: String,
    /// The document signer's certificate (DER) and key, to re-sign variants.
    pub dsc_cert: Vec<u8>,
    /// DSC private key.
    pub dsc_key: PKey<Private>,
}

/// A TD3 MRZ for document number `number` (9 characters) and the given names.
pub fn td3_mrz(number: &str, surname: &str, given: &str) -> String {
    let cd = |s: &str| {
        emrtd::mrz::check_digit(s)
            .map(|d| char::from(b'0' + d))
            .unwrap_or('<')
    };
    let name = format!("{}<<{}", surname.replace(' ', "<"), given.replace(' ', "<"));
    let mut line1 = format!("P<UTO{name}");
    while line1.len() < 44 {
        line1.push('<');
    }
    line1.truncate(44);
    let (birth, expiry, optional) = ("850101", "340101", "<<<<<<<<<<<<<<");
    let doc = format!("{number}{}", cd(number));
    let b = format!("{birth}{}", cd(birth));
    let e = format!("{expiry}{}", cd(expiry));
    let o = format!("{optional}{}", cd(optional));
    let composite = format!("{doc}{b}{e}{o}");
    let line2 = format!("{doc}UTO{b}F{e}{o}{}", cd(&composite));
    format!("{line1}\n{line2}")
}

/// DG11 with full name, place of birth and address (`6B { 5C, 5F0E, 5F11, 5F42 }`).
pub fn dg11(surname: &str, given: &str) -> Vec<u8> {
    let mut inner = emrtd::tlv::encode(0x5C, &[0x5F, 0x0E, 0x5F, 0x11, 0x5F, 0x42]);
    let full = format!("{}<<{}", surname.replace(' ', "<"), given.replace(' ', "<"));
    inner.extend(emrtd::tlv::encode(0x5F0E, full.as_bytes()));
    inner.extend(emrtd::tlv::encode(0x5F11, PLACE_OF_BIRTH.as_bytes()));
    inner.extend(emrtd::tlv::encode(0x5F42, ADDRESS.as_bytes()));
    emrtd::tlv::encode(0x6B, &inner)
}

/// DG12 with issuing authority and date of issue.
pub fn dg12() -> Vec<u8> {
    let mut inner = emrtd::tlv::encode(0x5C, &[0x5F, 0x19, 0x5F, 0x26]);
    inner.extend(emrtd::tlv::encode(0x5F19, b"UTOPIA PASSPORT OFFICE"));
    inner.extend(emrtd::tlv::encode(0x5F26, b"20240101"));
    emrtd::tlv::encode(0x6C, &inner)
}

/// Width and height from a JPEG's SOF marker.
fn jpeg_size(jpeg: &[u8]) -> Option<(u16, u16)> {
    let mut i = 2;
    while i + 9 < jpeg.len() {
        if jpeg.get(i) != Some(&0xFF) {
            return None;
        }
        let marker = *jpeg.get(i + 1)?;
        let len = usize::from(u16::from_be_bytes([*jpeg.get(i + 2)?, *jpeg.get(i + 3)?]));
        if matches!(marker, 0xC0..=0xC3) {
            let h = u16::from_be_bytes([*jpeg.get(i + 5)?, *jpeg.get(i + 6)?]);
            let w = u16::from_be_bytes([*jpeg.get(i + 7)?, *jpeg.get(i + 8)?]);
            return Some((w, h));
        }
        i += 2 + len;
    }
    None
}

/// DG2: the ISO/IEC 39794 sample face JPEG, padded with a JPEG comment segment to
/// about 20 KB, in an ISO/IEC 19794-5 record.
pub fn dg2(root: &Path) -> Res<Vec<u8>> {
    let jpeg =
        std::fs::read(root.join("test-vectors/lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg"))?;
    let (w, h) = jpeg_size(&jpeg).unwrap_or((480, 640));
    let pad = 20_000usize.saturating_sub(jpeg.len() + 100).min(65_000);
    let mut padded = jpeg.get(..2).ok_or("short jpeg")?.to_vec();
    padded.extend([0xFF, 0xFE]);
    padded.extend(u16::try_from(pad + 2)?.to_be_bytes());
    // a deterministic, non-repeating filler (the privacy scan looks for 16-byte windows)
    let mut x: u32 = 0x1234_5678;
    for _ in 0..pad {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        padded.push((x >> 24) as u8);
    }
    padded.extend(jpeg.get(2..).ok_or("short jpeg")?);
    Ok(emrtd::lds::face::encode_dg2_19794(
        &padded,
        emrtd::lds::face::FaceImageDataType::Jpeg,
        w,
        h,
    )?)
}

fn pace_protocol() -> PaceProtocol {
    PaceProtocol {
        mapping: PaceMapping::EcdhGm,
        cipher: CipherSuite::Aes128,
    }
}

/// Sign an eContent with the DSC (RSA PKCS#1 v1.5 SHA-256, signer certificate embedded).
pub fn sign_content(
    econtent_type: emrtd::cms::Oid,
    econtent: &[u8],
    cert: &[u8],
    key: &PKey<Private>,
) -> Res<Vec<u8>> {
    let req = SignRequest {
        econtent_type,
        econtent,
        signer_cert: cert,
        digest: HashAlgorithm::Sha256,
        alg: SignatureAlgorithm::RsaPkcs1 {
            hash: HashAlgorithm::Sha256,
        },
        signing_time: None,
        embed_signer: true,
        extra_certs: Vec::new(),
        sid: SidForm::IssuerAndSerial,
    };
    Ok(emrtd::cms::sign::sign(&req, key)?)
}

/// EF.SOD (`77 { ContentInfo }`) over the data groups of `files` with SHA-256.
pub fn sign_sod<'a>(
    files: impl IntoIterator<Item = (u8, &'a [u8])>,
    cert: &[u8],
    key: &PKey<Private>,
) -> Res<Vec<u8>> {
    use emrtd::cms::asn1::{encode_oid, encode_seq, encode_small_uint};
    let sha256 = encode_seq(&[&encode_oid(&emrtd::asn1::oid::SHA256), &[0x05, 0x00]]);
    let mut hashes = Vec::new();
    for (n, bytes) in files {
        let digest = openssl::sha::sha256(bytes);
        hashes.push(encode_seq(&[
            &encode_small_uint(u64::from(n)),
            &emrtd::tlv::encode(0x04, &digest),
        ]));
    }
    let refs: Vec<&[u8]> = hashes.iter().map(Vec::as_slice).collect();
    let lds_so = encode_seq(&[&encode_small_uint(0), &sha256, &encode_seq(&refs)]);
    let ci = sign_content(emrtd::asn1::oid::ICAO_LDS_SECURITY_OBJECT, &lds_so, cert, key)?;
    Ok(emrtd::tlv::encode(0x77, &ci))
}

/// The data groups an EF.SOD of REF-1 covers, from a loaded profile's files.
pub fn signed_groups(files: &std::collections::BTreeMap<LdsFile, Vec<u8>>) -> Vec<(u8, &[u8])> {
    files
        .iter()
        .filter_map(|(f, b)| match f {
            LdsFile::Dg(n) => Some((*n, b.as_slice())),
            _ => None,
        })
        .collect()
}

/// Build REF-1 under `dir` (overwritten), with the fixture PKI of `root/pkd-fixtures`.
pub fn build(root: &Path, dir: &Path) -> Res<Ref1> {
    std::fs::create_dir_all(dir)?;
    let keys = root.join("pkd-fixtures/keys");
    let dsc_cert = std::fs::read(keys.join("ut-dsc-valid.cer"))?;
    let dsc_key = PKey::private_key_from_pem(&std::fs::read(keys.join("ut-dsc-valid.key.pem"))?)?;

    // Active Authentication: RSA-2048
    let aa = PKey::from_rsa(Rsa::generate(2048)?)?;
    std::fs::write(dir.join("aa-rsa2048.pem"), aa.private_key_to_pem_pkcs8()?)?;

    // Chip Authentication: ECDH brainpoolP256r1, AES-128
    let group = EcGroup::from_curve_name(Nid::BRAINPOOL_P256R1)?;
    let ca = EcKey::generate(&group)?;
    let ca_private = ca.private_key().to_vec();
    let ca_der = PKey::from_ec_key(ca)?.public_key_to_der()?;
    let spki = SubjectPublicKeyInfo::decode(&emrtd::tlv::parse(&ca_der)?).map_err(|e| format!("{e:?}"))?;
    let ca_infos = vec![
        SecurityInfo::ChipAuthentication(ChipAuthenticationInfo::new(
            CaProtocol {
                ecdh: true,
                cipher: CipherSuite::Aes128,
            },
            1,
            None,
        )),
        SecurityInfo::ChipAuthenticationPublicKey(ChipAuthenticationPublicKeyInfo::new(true, spki, None)),
    ];
    let pace = SecurityInfo::Pace(PaceInfo::new(pace_protocol(), Some(13)));
    let mut dg14_infos = vec![pace.clone()];
    dg14_infos.extend(ca_infos.iter().cloned());
    std::fs::write(
        dir.join("dg14.bin"),
        emrtd::lds::dg14::Dg14::from(SecurityInfos::from_infos(dg14_infos)).encode(),
    )?;
    let mut cs_infos = vec![pace];
    cs_infos.extend(ca_infos);
    let card_security = sign_content(
        emrtd::asn1::oid::BSI_SECURITY_OBJECT,
        &SecurityInfos::from_infos(cs_infos).encode(),
        &dsc_cert,
        &dsc_key,
    )?;
    std::fs::write(dir.join("card-security.bin"), card_security)?;

    std::fs::write(dir.join("dg2.bin"), dg2(root)?)?;
    std::fs::write(dir.join("dg11.bin"), dg11(SURNAME, GIVEN))?;
    std::fs::write(dir.join("dg12.bin"), dg12())?;

    let mrz = td3_mrz("UTR000017", SURNAME, GIVEN);
    let head = format!(
        "# REF-1 stand-in written by the benchmark (benches/support/ref1.rs)\n\
name = \"REF-1\"\n\
description = \"genuine; PACE ECDH-GM brainpoolP256r1 AES-128, extended length, AA RSA-2048, CA ECDH AES-128\"\n\
mrz = \"\"\"\n{mrz}\n\"\"\"\n\
ca_private_key = \"{}\"\n\
aa_private_key = {{ path = \"aa-rsa2048.pem\" }}\n\
\n[chip]\nextended_length = true\nmax_read = 65536\nbac = false\n\
\n[[pace]]\nmapping = \"ECDH-GM\"\ncipher = \"AES-128\"\nparameter_id = 13\n\
\n[files]\n\
DG2 = {{ path = \"dg2.bin\" }}\n\
DG11 = {{ path = \"dg11.bin\" }}\n\
DG12 = {{ path = \"dg12.bin\" }}\n\
DG14 = {{ path = \"dg14.bin\" }}\n\
\"EF.CardSecurity\" = {{ path = \"card-security.bin\" }}\n",
        hex::encode_upper(&ca_private)
    );
    let toml = dir.join("ref1.toml");
    std::fs::write(&toml, &head)?;
    // DG1, DG15 and EF.COM are generated by the profile loader: sign what it serves
    let profile = emrtd::emulator::Profile::load(&toml)?;
    let sod = sign_sod(signed_groups(&profile.files), &dsc_cert, &dsc_key)?;
    std::fs::write(dir.join("sod.bin"), sod)?;
    std::fs::write(&toml, format!("{head}\"EF.SOD\" = {{ path = \"sod.bin\" }}\n"))?;
    Ok(Ref1 {
        toml,
        mrz,
        dsc_cert,
        dsc_key,
    })
}

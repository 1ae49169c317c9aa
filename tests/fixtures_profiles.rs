//! The booklet fixtures (pkd-fixtures/booklets): every profile loads; the genuine ones
//! carry an EF.SOD and EF.CardSecurity that verify (with our CMS code AND with OpenSSL's
//! own CMS implementation) over the data groups' bytes, under a DSC that validates
//! against the test PKI; REF-1 is what it claims; and each forged or indeterminate
//! profile differs from its `base` in exactly the low-level facts its `[expect]`
//! names (an independent oracle built from the decoders, not from `emrtd verify`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use emrtd::emulator::Profile;
use emrtd::lds::LdsFile;
use emrtd::lds::dg14::Dg14;
use emrtd::lds::security_infos::{CardSecurity, SecurityInfos};
use emrtd::pki::import::{self, ImportOptions};
use emrtd::pki::path::{CheckStatus, PathStatus, Revocation};
use emrtd::pki::store::TrustStore;
use time::macros::datetime;

const AT: time::OffsetDateTime = datetime!(2027-01-01 0:00 UTC);

#[path = "support/dsc_path.rs"]
mod dsc_path;
use dsc_path::validate_der;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
}

fn booklets() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("booklets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn store() -> TrustStore {
    let mut store = TrustStore::open_in_memory().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let r = import::import_file(&mut store, &f, &ImportOptions::default());
        assert!(r.errors.is_empty(), "{}: {:?}", f.display(), r.errors);
    }
    store
}

/// The CMS content of EF.SOD (inside tag 77).
fn sod_cms(sod: &[u8]) -> &[u8] {
    emrtd::tlv::parse(sod).unwrap().value
}

/// OpenSSL's CMS implementation (independent of ours) verifies the SignedData with the
/// embedded certificate, without path validation.
fn openssl_cms_verifies(der: &[u8]) -> bool {
    use openssl::cms::{CMSOptions, CmsContentInfo};
    let Ok(mut ci) = CmsContentInfo::from_der(der) else {
        return false;
    };
    let mut out = Vec::new();
    ci.verify(
        None,
        None,
        None,
        Some(&mut out),
        CMSOptions::NO_SIGNER_CERT_VERIFY,
    )
    .is_ok()
}

/// OpenSSL agrees that the SignedData `der` of profile `n` is validly signed by `cert`:
/// its CMS code verifies it, except for the profile whose signatureAlgorithm names
/// another hash than its digestAlgorithm (`quirk-lt-sod-p224-sha256`: SHA-224 and
/// ecdsa-with-SHA256). OpenSSL's CMS verifies with the digestAlgorithm's hash
/// (openssl/openssl #9392) and refuses that one; OpenSSL's ECDSA over the SHA-256 of
/// the signed attributes, as the signatureAlgorithm names, accepts it, and over their
/// SHA-224 refuses it.
fn openssl_agrees(n: &str, der: &[u8], cert: &[u8], what: &str) {
    if n != "quirk-lt-sod-p224-sha256.toml" {
        assert!(openssl_cms_verifies(der), "{n}: OpenSSL CMS {what}");
        return;
    }
    use openssl::hash::MessageDigest;
    assert!(!openssl_cms_verifies(der), "{n}: OpenSSL CMS {what}");
    let sd = emrtd::cms::SignedData::parse(der).unwrap();
    let si = &sd.signer_infos[0];
    let key = openssl::x509::X509::from_der(cert).unwrap().public_key().unwrap();
    let tbs = si.signed_attrs.as_ref().unwrap().to_be_signed();
    assert_eq!(tbs[0], 0x31, "{n}");
    let verify = |md: MessageDigest| {
        openssl::sign::Verifier::new(md, &key)
            .unwrap()
            .verify_oneshot(&si.signature, &tbs)
            .unwrap_or(false)
    };
    assert!(verify(MessageDigest::sha256()), "{n}: {what} ECDSA with SHA-256");
    assert!(!verify(MessageDigest::sha224()), "{n}: {what} ECDSA with SHA-224");
}

/// Our CMS verification with the embedded signer certificate; the certificate.
fn cms_verifies(der: &[u8]) -> Option<Vec<u8>> {
    let sd = emrtd::cms::SignedData::parse(der).ok()?;
    let signer = sd.signer_infos.first()?;
    let cert = sd.signer_certificate(signer)?;
    emrtd::cms::verify_signer_with_certificate(&sd, signer, &cert).ok()?;
    Some(cert.der.clone())
}

fn status(s: Option<CheckStatus>) -> &'static str {
    match s {
        Some(CheckStatus::Pass) => "pass",
        Some(CheckStatus::Fail) => "fail",
        Some(CheckStatus::Indeterminate) => "indeterminate",
        Some(CheckStatus::Skip) => "skip",
        None => "absent",
    }
}

/// Facts about a DSC's path at AT: chain (chain, country, key usage), validities,
/// revocation.
fn path_facts(store: &TrustStore, dsc: &[u8], issuer: &str, prefix: &str, f: &mut BTreeMap<String, String>) {
    let r = validate_der(store, dsc, issuer, AT).unwrap();
    let st = |id: &str| status(r.check(id).map(|c| c.status));
    let chain = format!("{}/{}/{}", st("chain"), st("country"), st("key_usage"));
    f.insert(format!("{prefix}.chain"), chain.clone());
    if chain == "pass/pass/pass" {
        f.insert(format!("{prefix}.dsc_validity"), st("dsc_validity").into());
        f.insert(format!("{prefix}.csca_validity"), st("csca_validity").into());
        let rev = match &r.revocation {
            Revocation::Good { .. } => "good".to_owned(),
            Revocation::Revoked { .. } => "revoked".to_owned(),
            Revocation::Indeterminate { .. } => "indeterminate".to_owned(),
            #[allow(unreachable_patterns)]
            _ => "other".to_owned(),
        };
        f.insert(format!("{prefix}.revocation"), rev);
    }
    let _ = PathStatus::Valid;
}

/// The MRZ key fields (document number, birth, expiry).
fn key_fields(m: &emrtd::mrz::Mrz) -> (String, String, String) {
    (
        m.document_number().to_owned(),
        m.birth_raw().to_owned(),
        m.expiry_raw().to_owned(),
    )
}

/// The low-level facts a verifier would look at, computed from the personalised profile.
fn facts(p: &Profile, store: &TrustStore) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let files = &p.files;
    let issuer = emrtd::mrz::Mrz::parse(&p.mrz).unwrap().issuing_state().to_owned();

    // EF.SOD: signature, hashes, EF.COM against it, the DSC's path
    let sod = files
        .get(&LdsFile::Sod)
        .and_then(|b| emrtd::lds::sod::Sod::decode(b).ok());
    let sod_cert = files
        .get(&LdsFile::Sod)
        .and_then(|b| emrtd::tlv::parse(b).ok().and_then(|t| cms_verifies(t.value)));
    f.insert(
        "sod.signature".into(),
        if sod_cert.is_some() { "valid" } else { "invalid" }.into(),
    );
    if let Some(cert) = &sod_cert {
        path_facts(store, cert, &issuer, "dsc", &mut f);
    }
    let signed: BTreeSet<u8> = sod
        .as_ref()
        .map(|s| s.dg_numbers().into_iter().collect())
        .unwrap_or_default();
    let on_chip: BTreeSet<u8> = files
        .keys()
        .filter_map(|k| match k {
            LdsFile::Dg(n) => Some(*n),
            _ => None,
        })
        .collect();
    if let Some(s) = &sod {
        let alg = s.hash_algorithm().unwrap();
        for n in signed.union(&on_chip) {
            let v = match (s.dg_hash(*n), files.get(&LdsFile::Dg(*n))) {
                (Some(h), Some(b)) if alg.digest(b) == h => "match",
                (Some(_), Some(_)) => "mismatch",
                (Some(_), None) => "missing",
                (None, Some(_)) => "unsigned",
                (None, None) => unreachable!(),
            };
            f.insert(format!("dg.{n}"), v.into());
        }
        if let Some(com) = files.get(&LdsFile::Com) {
            let com = emrtd::lds::com::Com::decode(com).unwrap();
            let listed: BTreeSet<u8> = com
                .tag_list
                .iter()
                .filter_map(|t| match LdsFile::from_com_tag(*t) {
                    Some(LdsFile::Dg(n)) => Some(n),
                    _ => None,
                })
                .collect();
            f.insert(
                "com".into(),
                if listed == signed {
                    "consistent"
                } else {
                    "inconsistent"
                }
                .into(),
            );
        }
    }

    // EF.CardSecurity: signature, its signer's path, EF.CardAccess covered
    if let Some(cs) = files.get(&LdsFile::CardSecurity) {
        let cert = cms_verifies(cs);
        f.insert(
            "cs.signature".into(),
            if cert.is_some() { "valid" } else { "invalid" }.into(),
        );
        if let Some(cert) = &cert {
            path_facts(store, cert, &issuer, "cs", &mut f);
        }
        if let (Ok(decoded), Some(ca)) = (CardSecurity::decode(cs), files.get(&LdsFile::CardAccess)) {
            let signed: BTreeSet<Vec<u8>> = decoded.security_infos.pace_infos().map(|i| i.encode()).collect();
            let offered: BTreeSet<Vec<u8>> = SecurityInfos::decode(ca)
                .unwrap()
                .pace_infos()
                .map(|i| i.encode())
                .collect();
            f.insert(
                "cs.covers_card_access".into(),
                (offered.is_subset(&signed)).to_string(),
            );
        }
    }

    // chip genuineness: the chip's private keys against the published public keys
    if let (Some(aa), Some(dg15)) = (&p.aa, files.get(&LdsFile::Dg(15))) {
        let spki = emrtd::tlv::parse(dg15).unwrap().value.to_vec();
        f.insert(
            "aa".into(),
            if aa.public_key_der().unwrap() == spki {
                "match"
            } else {
                "mismatch"
            }
            .into(),
        );
    }
    if let Some(sk) = &p.ca_private_key {
        let dg14 = files
            .get(&LdsFile::Dg(14))
            .and_then(|b| Dg14::decode(b).map(SecurityInfos::from).ok())
            .filter(|i| i.chip_authentication_public_keys().next().is_some());
        let published = dg14.or_else(|| {
            files
                .get(&LdsFile::CardSecurity)
                .and_then(|b| CardSecurity::decode(b).ok())
                .map(|c| c.security_infos)
        });
        if let Some(key) = published
            .as_ref()
            .and_then(|i| i.chip_authentication_public_keys().next())
        {
            use emrtd::access::pace::{DomainParams, PrivateKey};
            let params =
                DomainParams::from_spec(&key.public_key.algorithm.domain_parameters().unwrap()).unwrap();
            let sk = PrivateKey::from_bytes(sk).unwrap();
            let public = params.multiply(&params.generator().unwrap(), sk.as_bn()).unwrap();
            let mine = params.encode(&public).unwrap();
            f.insert(
                "ca".into(),
                if mine == key.public_key.subject_public_key {
                    "match"
                } else {
                    "mismatch"
                }
                .into(),
            );
        }
    }

    // DG1 against the printed MRZ, and its check digits
    if let Some(dg1) = files.get(&LdsFile::Dg(1)) {
        let dg1 = emrtd::lds::dg1::Dg1::decode(dg1).unwrap();
        let chip = dg1.parse_mrz().unwrap();
        let printed = emrtd::mrz::Mrz::parse(&p.mrz).unwrap();
        f.insert(
            "mrz.consistency".into(),
            (key_fields(&chip) == key_fields(&printed)).to_string(),
        );
        f.insert("mrz.check_digits".into(), chip.all_check_digits_ok().to_string());
    }
    // files the chip refuses to serve, or stops serving part way (fault plans)
    for fault in &p.faults {
        if let emrtd::emulator::fault::Fault::Apdu {
            what:
                emrtd::emulator::fault::ApduFault::Status { .. }
                | emrtd::emulator::fault::ApduFault::Refuse { .. },
            when,
        } = fault
            && let Some(file) = when.file
            // EF.DIR and EF.ATR/INFO are not part of what a verifier checks
            && !matches!(file, LdsFile::Dir | LdsFile::AtrInfo)
        {
            let how = if when.nth == 0 { "refused" } else { "cut_short" };
            f.insert(format!("served.{}", file.name()), how.into());
        }
    }
    // DG11 repeats the holder's name and date of birth: does it agree with DG1?
    if let (Some(dg11), Some(dg1)) = (files.get(&LdsFile::Dg(11)), files.get(&LdsFile::Dg(1))) {
        let dg11 = emrtd::lds::dg11::Dg11::decode(dg11).unwrap();
        let chip = emrtd::lds::dg1::Dg1::decode(dg1).unwrap().parse_mrz().unwrap();
        let dob_ok = dg11
            .full_date_of_birth
            .as_ref()
            .is_none_or(|d| d.text.get(2..) == Some(chip.birth_raw()));
        let name_ok = dg11.full_name.as_ref().is_none_or(|n| {
            let (primary, secondary) = emrtd::lds::dg11::name_parts(n);
            primary
                .replace(' ', "")
                .starts_with(&chip.primary_identifier().replace([' ', '<'], ""))
                && secondary
                    .replace(' ', "")
                    .starts_with(&chip.secondary_identifier().replace([' ', '<'], ""))
        });
        f.insert("dg11.agrees_with_dg1".into(), (dob_ok && name_ok).to_string());
    }
    // Extended Access Control: does the terminal the expectation is made with (its
    // [expect] eac_chain) hold a chain the chip accepts — under one of its trust points,
    // signatures verifying, valid on the chip's date — and does the chip answer TA?
    if let (Some(eac), Some(e)) = (&p.eac, &p.personalisation.expect)
        && let (Some(dir), false) = (p.path.as_ref().and_then(|x| x.parent()), e.eac_chain.is_empty())
    {
        let paths: Vec<PathBuf> = e.eac_chain.iter().map(|c| dir.join(c)).collect();
        let certs = emrtd::pki::eac_credentials::load_certificates(&paths).unwrap();
        let anchors: Vec<String> = eac.trust_points.iter().map(|t| t.chr().to_owned()).collect();
        if let Some((anchor, chain)) = emrtd::pki::eac_credentials::select_chain(&certs, &anchors, None) {
            let cvca = eac.trust_points.iter().find(|t| t.chr() == anchor).unwrap();
            let owned: Vec<_> = chain.into_iter().cloned().collect();
            let ok = emrtd::pki::cvc::verify_chain(cvca, &owned, Some(eac.date)).is_ok();
            f.insert("eac.terminal".into(), if ok { "valid" } else { "refused" }.into());
        }
        let refuses_ta = p.faults.iter().any(|fault| {
            matches!(
                fault,
                emrtd::emulator::fault::Fault::Apdu {
                    what: emrtd::emulator::fault::ApduFault::Status { .. }
                        | emrtd::emulator::fault::ApduFault::Refuse { .. },
                    when,
                } if when.command.is_some_and(|c| c.matches_ins(0x82) || c.matches_ins(0x2A))
            )
        });
        f.insert("eac.chip_answers_ta".into(), (!refuses_ta).to_string());
    }
    f.insert("chip.refuse_pace".into(), p.chip.refuse_pace.to_string());
    // a signed DG14 that lists PACE while EF.CardAccess (unsigned, read first) offers
    // none pushes a reader down to BAC
    let dg14_pace = files
        .get(&LdsFile::Dg(14))
        .and_then(|b| Dg14::decode(b).map(SecurityInfos::from).ok())
        .is_some_and(|i| i.pace_infos().next().is_some());
    if dg14_pace {
        let offered = files
            .get(&LdsFile::CardAccess)
            .and_then(|b| SecurityInfos::decode(b).ok())
            .is_some_and(|i| i.pace_infos().next().is_some());
        f.insert("card_access.offers_pace".into(), offered.to_string());
    }
    f
}

/// The check a differing fact is evidence for.
fn explained_by(fact: &str, value: &str) -> String {
    if let Some(n) = fact.strip_prefix("dg.") {
        // a data group that is there but unsigned fails its hash check too
        let _ = value;
        return format!("pa.dg_hash.DG{n}");
    }
    if let Some(file) = fact.strip_prefix("served.") {
        return match file {
            "EF.COM" => "pa.com_consistency".into(),
            "EF.SOD" => "pa.sod_signature".into(),
            "EF.CardSecurity" => "pa.card_security".into(),
            "EF.CardAccess" => "access".into(),
            dg => format!("pa.dg_hash.{dg}"),
        };
    }
    match fact {
        "sod.signature" => "pa.sod_signature",
        "dsc.chain" => "pa.dsc_chain",
        "dsc.dsc_validity" => "pa.dsc_validity",
        "dsc.csca_validity" => "pa.csca_validity",
        "dsc.revocation" => "pa.crl",
        "com" => "pa.com_consistency",
        f if f.starts_with("cs.") => "pa.card_security",
        "aa" => "aa",
        "ca" => "ca",
        "mrz.consistency" => "mrz.consistency",
        "mrz.check_digits" => "mrz.check_digits",
        "dg11.agrees_with_dg1" => "lds.dg11_consistency",
        "chip.refuse_pace" | "card_access.offers_pace" => "access",
        "eac.terminal" | "eac.chip_answers_ta" => "eac.ta",
        other => panic!("unknown fact {other}"),
    }
    .into()
}

fn good(fact: &str, value: &str) -> bool {
    matches!(
        (fact, value),
        (
            _,
            "valid" | "match" | "consistent" | "true" | "pass" | "pass/pass/pass" | "good"
        )
    ) || (fact == "chip.refuse_pace" && value == "false")
}

#[test]
fn every_profile_loads_with_a_sane_expectation() {
    let all = booklets();
    let mut forged = 0;
    for p in &all {
        let n = name(p);
        let profile = Profile::load(p).unwrap_or_else(|e| panic!("{n}: {e:#}"));
        let e = profile
            .personalisation
            .expect
            .as_ref()
            .unwrap_or_else(|| panic!("{n}: no [expect]"));
        let want = if n.starts_with("forged-") {
            forged += 1;
            assert!(
                profile.personalisation.base.is_some(),
                "{n}: a forgery names its base"
            );
            "INVALID"
        } else if n.starts_with("indeterminate-") {
            "INDETERMINATE"
        } else {
            "VALID"
        };
        assert_eq!(e.verdict, want, "{n}");
        assert!(
            profile.files.contains_key(&LdsFile::Sod) || n == "forged-sod-removed.toml",
            "{n}"
        );
        assert!(profile.personalisation.dsc.is_some(), "{n}: signed");
    }
    assert!(forged >= 40, "{forged} forgeries");
    for must in [
        "ref1.toml",
        "bac.toml",
        "id-card-can.toml",
        "pace-ecdh-cam-bp256-aes128.toml",
        "xa-booklet.toml",
        "indeterminate-crl-expired.toml",
        "indeterminate-no-csca.toml",
    ] {
        assert!(all.iter().any(|p| name(p) == must), "{must}");
    }
}

#[test]
fn genuine_booklets_are_signed_over_their_data_groups() {
    let store = store();
    for p in booklets() {
        let n = name(&p);
        let profile = Profile::load(&p).unwrap();
        let e = profile.personalisation.expect.clone().unwrap();
        if e.verdict != "VALID" {
            continue;
        }
        let sod_bytes = &profile.files[&LdsFile::Sod];
        assert_eq!(sod_bytes[0], 0x77, "{n}");
        // our CMS code and OpenSSL's agree that the signature is valid
        let cert = cms_verifies(sod_cms(sod_bytes)).unwrap_or_else(|| panic!("{n}: SOD signature"));
        openssl_agrees(&n, sod_cms(sod_bytes), &cert, "EF.SOD");
        assert_eq!(Some(&cert), profile.personalisation.dsc.as_ref(), "{n}");
        // every data group on the chip is hashed, every hash has its data group
        let sod = emrtd::lds::sod::Sod::decode(sod_bytes).unwrap();
        // the LDS security object OID; the Chinese quirk types it id-data (`[sign]
        // econtent_type`)
        let econtent_type = if n == "quirk-cn-sod-id-data.toml" {
            "1.2.840.113549.1.7.1"
        } else {
            "2.23.136.1.1.1"
        };
        assert_eq!(sod.econtent_type().to_string(), econtent_type, "{n}");
        let alg = sod.hash_algorithm().unwrap();
        let dgs: Vec<u8> = profile
            .files
            .keys()
            .filter_map(|k| match k {
                LdsFile::Dg(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(sod.dg_numbers(), dgs, "{n}");
        for d in &dgs {
            assert_eq!(
                sod.dg_hash(*d).unwrap(),
                alg.digest(&profile.files[&LdsFile::Dg(*d)]),
                "{n} DG{d}"
            );
        }
        // the DSC validates at AT
        let issuer = emrtd::mrz::Mrz::parse(&profile.mrz)
            .unwrap()
            .issuing_state()
            .to_owned();
        let r = validate_der(&store, &cert, &issuer, AT).unwrap();
        assert_eq!(r.status, PathStatus::Valid, "{n}: {r:#?}");
        // EF.CardSecurity when the chip has PACE: signed by the same DSC, holding the
        // PACEInfos of EF.CardAccess
        if !profile.pace.is_empty() {
            let cs = &profile.files[&LdsFile::CardSecurity];
            assert_eq!(cms_verifies(cs).as_ref(), Some(&cert), "{n}: CardSecurity");
            openssl_agrees(&n, cs, &cert, "EF.CardSecurity");
            let decoded = CardSecurity::decode(cs).unwrap();
            assert_eq!(decoded.econtent_type().to_string(), "0.4.0.127.0.7.3.2.1");
            let ca = SecurityInfos::decode(&profile.files[&LdsFile::CardAccess]).unwrap();
            for info in ca.pace_infos() {
                assert!(
                    decoded
                        .security_infos
                        .pace_infos()
                        .any(|i| i.encode() == info.encode()),
                    "{n}"
                );
            }
        } else {
            assert!(!profile.files.contains_key(&LdsFile::CardSecurity), "{n}");
        }
        // every fact is good
        for (k, v) in facts(&profile, &store) {
            assert!(good(&k, &v), "{n}: {k} = {v}");
        }
    }
}

#[test]
fn ref1_is_the_reference_booklet() {
    use emrtd::lds::security_infos::{CipherSuite, PaceMapping};
    let p = Profile::load(&root().join("booklets/ref1.toml")).unwrap();
    let mrz = emrtd::mrz::Mrz::parse(&p.mrz).unwrap();
    assert_eq!(mrz.format(), emrtd::mrz::MrzFormat::Td3);
    assert_eq!(mrz.issuing_state(), "UTO");
    assert!(mrz.all_check_digits_ok());
    assert!(mrz.expiry_raw().starts_with("35"));
    assert!(p.can.is_some());
    assert!(p.chip.extended_length && p.chip.bac);
    let dgs: Vec<String> = p.files.keys().map(|f| f.name()).collect();
    for want in [
        "DG1",
        "DG2",
        "DG11",
        "DG12",
        "DG14",
        "DG15",
        "EF.COM",
        "EF.SOD",
        "EF.CardAccess",
        "EF.CardSecurity",
    ] {
        assert!(dgs.iter().any(|d| d == want), "{want} in {dgs:?}");
    }
    // DG2: 20,000 bytes around the ICAO 39794-5 sample face, which still decodes
    let dg2 = &p.files[&LdsFile::Dg(2)];
    assert_eq!(dg2.len(), 20_000);
    let face = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/test-vectors/lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg"
    ))
    .unwrap();
    assert!(dg2.windows(face.len()).any(|w| w == face.as_slice()));
    let images = emrtd::lds::extract::extract_file(LdsFile::Dg(2), dg2).unwrap();
    let pixels = emrtd::lds::image::decode(&images[0].bytes).unwrap();
    assert_eq!((pixels.width, pixels.height), (413, 531));
    assert!(images[0].png.is_some());
    // PACE ECDH-GM brainpoolP256r1 AES-128
    let ca = SecurityInfos::decode(&p.files[&LdsFile::CardAccess]).unwrap();
    let pace = ca.pace_infos().next().unwrap();
    let proto = pace.protocol().unwrap();
    assert_eq!(
        (proto.mapping, proto.cipher, pace.parameter_id),
        (PaceMapping::EcdhGm, CipherSuite::Aes128, Some(13))
    );
    // DG14: CA ECDH on brainpoolP256r1 with the chip's key; DG15: RSA 2048
    let dg14 = Dg14::decode(&p.files[&LdsFile::Dg(14)])
        .map(SecurityInfos::from)
        .unwrap();
    let key = dg14.chip_authentication_public_keys().next().unwrap();
    assert!(key.is_ecdh());
    assert!(dg14.chip_authentication_infos().next().is_some());
    assert!(dg14.pace_infos().next().is_some());
    let dg15 = emrtd::lds::dg15::Dg15::decode(&p.files[&LdsFile::Dg(15)]).unwrap();
    let pk = openssl::pkey::PKey::public_key_from_der(&dg15.spki).unwrap();
    assert_eq!(pk.bits(), 2048);
    assert!(pk.rsa().is_ok());
    // EF.SOD v1 with LDS 1.8, SHA-256, RSASSA-PSS, signed by ut-dsc-valid
    let sod = emrtd::lds::sod::Sod::decode(&p.files[&LdsFile::Sod]).unwrap();
    assert_eq!(sod.lds_security_object.version, 1);
    assert_eq!(sod.lds_version_info().unwrap().lds_version, "0108");
    assert_eq!(
        sod.signer_infos()[0].signature_algorithm.oid.to_string(),
        "1.2.840.113549.1.1.10"
    );
    assert_eq!(
        sod.certificates()[0],
        std::fs::read(root().join("keys/ut-dsc-valid.cer")).unwrap()
    );
    let com = emrtd::lds::com::Com::decode(&p.files[&LdsFile::Com]).unwrap();
    assert_eq!(com.lds_version.unwrap().raw, "0108");
}

#[test]
fn each_forgery_differs_from_its_base_exactly_as_it_claims() {
    let store = store();
    let mut base_facts: BTreeMap<PathBuf, BTreeMap<String, String>> = BTreeMap::new();
    for p in booklets() {
        let n = name(&p);
        let profile = Profile::load(&p).unwrap();
        let Some(base) = profile.personalisation.base.clone() else {
            continue;
        };
        let e = profile.personalisation.expect.clone().unwrap();
        let before = base_facts
            .entry(base.clone())
            .or_insert_with(|| facts(&Profile::load(&base).unwrap(), &store))
            .clone();
        let after = facts(&profile, &store);
        let mut explained = BTreeSet::new();
        for (k, v) in &after {
            let Some(b) = before.get(k) else { continue };
            if b != v {
                let check = explained_by(k, v);
                if v == "indeterminate" && e.verdict == "INVALID" && !e.failing.contains(&check) {
                    // something else failed; this one could not be decided (a CSCA
                    // without a CRL): it does not change an INVALID verdict
                    continue;
                }
                assert!(
                    e.failing.contains(&check),
                    "{n}: {k} changed {b} -> {v}, which [expect] does not claim ({check})"
                );
                assert!(good(k, b), "{n}: the base's {k} was not good ({b})");
                explained.insert(check);
            }
        }
        for (k, v) in &after {
            if !before.contains_key(k) && !good(k, v) {
                explained.insert(explained_by(k, v));
            }
        }
        // a withheld DG15 leaves Active Authentication required but impossible (its key
        // is in DG15); a withheld DG14 likewise for Chip Authentication unless
        // EF.CardSecurity publishes the key too
        let withheld = |n: u8| {
            after.get(&format!("dg.{n}")).is_some_and(|v| v == "missing")
                || after.contains_key(&format!("served.DG{n}"))
        };
        if withheld(15) {
            explained.insert("aa".to_owned());
        }
        if withheld(14) && !profile.files.contains_key(&LdsFile::CardSecurity) {
            explained.insert("ca".to_owned());
        }
        // without a certification path, validity and revocation cannot be checked
        if explained.contains("pa.dsc_chain") {
            for c in ["pa.dsc_validity", "pa.csca_validity", "pa.crl"] {
                explained.insert(c.to_owned());
            }
        }
        for c in &e.failing {
            if c == "doc.expiry" {
                continue;
            }
            assert!(
                explained.contains(c),
                "{n}: [expect] names {c} but nothing about it changed (changes: {explained:?})"
            );
        }
    }
}

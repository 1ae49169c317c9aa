use super::*;
use crate::emulator::profile::{Profile, ProfileToml};
use crate::lds::LdsFile;
use crate::lds::dg14::Dg14;
use crate::lds::security_infos::SecurityInfos;

fn booklets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/booklets")
}

const MRZ: &str = "mrz = \"\"\"\nP<UTOSPECIMEN<<BAC<BOOKLET<<<<<<<<<<<<<<<<<<\nUTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02\n\"\"\"\n";

fn profile(extra_head: &str, tables: &str) -> Result<Profile, crate::emulator::ProfileError> {
    let text = format!(
        "name = \"t\"\n{MRZ}{extra_head}\n[files]\nDG2 = {{ path = \"data/specimen-dg2.bin\" }}\n\n\
         [sign]\ndsc = \"../keys/ut-dsc-old.cer\"\nkey = \"../keys/ut-dsc-old.key.pem\"\n{tables}"
    );
    Profile::parse(&text, &booklets_dir())
}

fn sod(p: &Profile) -> crate::lds::sod::Sod {
    crate::lds::sod::Sod::decode(&p.files[&LdsFile::Sod]).unwrap()
}

fn has_signing_time(s: &crate::lds::sod::Sod) -> bool {
    s.signer_infos()[0]
        .signed_attrs
        .as_ref()
        .unwrap()
        .signing_time
        .is_some()
}

#[test]
fn sod_v0_by_default_v1_with_an_lds_version() {
    let p = profile("", "").unwrap();
    let s = sod(&p);
    assert_eq!(s.lds_security_object.version, 0);
    assert!(s.lds_version_info().is_none());
    assert_eq!(s.dg_numbers(), vec![1, 2]);
    assert!(!has_signing_time(&s));
    // ut-dsc-old was signed with PKCS#1 v1.5: so is the SOD
    assert_eq!(
        s.signer_infos()[0].signature_algorithm.oid.to_string(),
        "1.2.840.113549.1.1.11"
    );
    let p = profile(
        "",
        "lds_version = \"0108\"\nsigning_time = \"2024-03-01T09:00:00Z\"\n",
    )
    .unwrap();
    let s = sod(&p);
    assert_eq!(s.lds_security_object.version, 1);
    let info = s.lds_version_info().unwrap();
    assert_eq!(
        (info.lds_version.as_str(), info.unicode_version.as_str()),
        ("0108", "040000")
    );
    assert!(has_signing_time(&s));
    let com = crate::lds::com::Com::decode(&p.files[&LdsFile::Com]).unwrap();
    assert_eq!(com.lds_version.unwrap().raw, "0108");
    // the same inputs give the same bytes
    assert_eq!(
        p.files,
        profile(
            "",
            "lds_version = \"0108\"\nsigning_time = \"2024-03-01T09:00:00Z\"\n"
        )
        .unwrap()
        .files
    );
}

#[test]
fn signing_time_forgery_knobs() {
    let p = profile("", "dg_hashes_computed_with = \"sha1\"\n").unwrap();
    let s = sod(&p);
    assert_eq!(
        s.hash_algorithm().unwrap(),
        crate::lds::sod::HashAlgorithm::Sha256
    );
    assert_eq!(s.dg_hash(1).unwrap().len(), 20);
    let dg1_mrz = format!(
        "dg1_mrz = \"\"\"\n{:<<44}\nUTB0001359UTO9002144F3406016<<<<<<<<<<<<<<02\n\"\"\"\n",
        "P<UTOSPECIMEN<<OTHER"
    );
    let p = profile(&dg1_mrz, "").unwrap();
    let dg1 = crate::lds::dg1::Dg1::decode(&p.files[&LdsFile::Dg(1)]).unwrap();
    assert!(dg1.mrz.contains("OTHER"));
    // at least two hashes: excluding DG2 leaves one
    assert!(matches!(
        profile("", "exclude = [\"DG2\"]\n"),
        Err(crate::emulator::ProfileError::Perso(PersoError::Invalid {
            field: "sign",
            ..
        }))
    ));
    assert!(profile("", "digest = \"md5\"\n").is_err());
    assert!(profile("", "signature = \"dsa\"\n").is_err());
    assert!(profile("", "lds_version = \"1.8\"\n").is_err());
    assert!(profile("", "signing_time = \"yesterday\"\n").is_err());
}

#[test]
fn tamper_entries_need_exactly_one_action_that_fits() {
    let t = |body: &str| profile("", &format!("\n[[tamper]]\n{body}"));
    let tamper_err = |r: Result<Profile, crate::emulator::ProfileError>| {
        matches!(
            r,
            Err(crate::emulator::ProfileError::Perso(PersoError::Tamper { .. }))
        )
    };
    assert!(tamper_err(t("file = \"DG2\"\nflip_byte = 1\ntruncate = 3\n")));
    assert!(tamper_err(t("file = \"DG2\"\n")));
    assert!(tamper_err(t("flip_byte = 1\n")));
    assert!(tamper_err(t("file = \"DG2\"\nflip_byte = 99999\n")));
    assert!(tamper_err(t("file = \"DG3\"\nflip_byte = 1\n")));
    assert!(tamper_err(t("file = \"DG2\"\nreplace_hex = \"00\"\n")));
    assert!(tamper_err(t(
        "file = \"EF.COM\"\nflip_byte = 1\nupdate_sod_hash = true\n"
    )));
    assert!(tamper_err(t(
        "file = \"DG2\"\ndrop_from_com = true\nflip_byte = 1\n"
    )));
    assert!(tamper_err(t("add_unsigned = { file = \"DG2\", hex = \"00\" }\n")));
    // one byte flipped, nothing else changed
    let base = profile("", "").unwrap();
    let p = t("file = \"DG2\"\nflip_byte = 100\n").unwrap();
    let (a, b) = (&base.files[&LdsFile::Dg(2)], &p.files[&LdsFile::Dg(2)]);
    assert_eq!(a.iter().zip(b).filter(|(x, y)| x != y).count(), 1);
    assert_eq!(a[100] ^ b[100], 0x01);
    assert_eq!(base.files[&LdsFile::Sod], p.files[&LdsFile::Sod]);
    // with update_sod_hash the SOD holds the new hash and its signature breaks
    let p = t("file = \"DG2\"\nflip_byte = 100\nupdate_sod_hash = true\n").unwrap();
    let s = sod(&p);
    let alg = s.hash_algorithm().unwrap();
    assert_eq!(s.dg_hash(2).unwrap(), alg.digest(&p.files[&LdsFile::Dg(2)]));
    let cms = crate::tlv::parse(&p.files[&LdsFile::Sod]).unwrap().value.to_vec();
    let sd = crate::cms::SignedData::parse(&cms).unwrap();
    let cert = sd.signer_certificate(&sd.signer_infos[0]).unwrap().into_owned();
    assert!(crate::cms::verify_signer_with_certificate(&sd, &sd.signer_infos[0], &cert).is_err());
    // the signature flip: one byte, and the signature fails
    let p = t("sod_signature_flip = true\n").unwrap();
    let (a, b) = (&base.files[&LdsFile::Sod], &p.files[&LdsFile::Sod]);
    assert_eq!(a.iter().zip(b).filter(|(x, y)| x != y).count(), 1);
    let cms = crate::tlv::parse(b).unwrap().value.to_vec();
    let sd = crate::cms::SignedData::parse(&cms).unwrap();
    assert!(crate::cms::verify_signer_with_certificate(&sd, &sd.signer_infos[0], &cert).is_err());
    // remove keeps EF.COM unless asked; add_unsigned lists the new group
    let com_tags = |p: &Profile| {
        crate::lds::com::Com::decode(&p.files[&LdsFile::Com])
            .unwrap()
            .tag_list
    };
    let p = t("file = \"DG2\"\nremove = true\n").unwrap();
    assert!(!p.files.contains_key(&LdsFile::Dg(2)));
    assert_eq!(com_tags(&p), vec![0x61, 0x75]);
    let p = t("file = \"DG2\"\nremove = true\ndrop_from_com = true\n").unwrap();
    assert_eq!(com_tags(&p), vec![0x61]);
    let p = t("add_unsigned = { file = \"DG13\", hex = \"6D00\" }\n").unwrap();
    assert_eq!(com_tags(&p), vec![0x61, 0x75, 0x6D]);
    assert_eq!(sod(&p).dg_numbers(), vec![1, 2]);
    let p = t("com_tags = \"6175636B\"\n").unwrap();
    assert_eq!(com_tags(&p), vec![0x61, 0x75, 0x63, 0x6B]);
}

#[test]
fn base_profiles_merge_tables_and_keep_their_own_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = booklets_dir().join("data/specimen-dg2.bin");
    std::fs::write(
        dir.path().join("b.toml"),
        format!(
            "name = \"base\"\ndescription = \"d\"\n{MRZ}can = \"111111\"\n[chip]\nmax_read = 200\nextended_length = false\n\
             [files]\nDG2 = {{ path = {:?} }}\n[expect]\nverdict = \"VALID\"\nexit = 0\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let p = Profile::parse(
        "base = \"b.toml\"\nname = \"derived\"\n[chip]\nmax_read = 100\n",
        dir.path(),
    )
    .unwrap();
    assert_eq!(p.name, "derived");
    assert_eq!(p.can.as_deref(), Some("111111"));
    assert_eq!(p.chip.max_read, 100);
    assert!(!p.chip.extended_length, "merged, not replaced");
    assert!(p.personalisation.expect.is_none(), "[expect] is not inherited");
    assert_eq!(p.personalisation.base, Some(dir.path().join("b.toml")));
    // the base must be a sibling; a cycle ends
    assert!(Profile::parse("base = \"../b.toml\"\nname = \"x\"\n", dir.path()).is_err());
    std::fs::write(dir.path().join("c.toml"), "base = \"c.toml\"\nname = \"c\"\n").unwrap();
    assert!(Profile::parse("base = \"c.toml\"\nname = \"x\"\n", dir.path()).is_err());
    // from_toml cannot resolve it
    let raw: ProfileToml = toml::from_str(&format!("base = \"b.toml\"\nname = \"x\"\n{MRZ}")).unwrap();
    assert!(Profile::from_toml(raw, dir.path()).is_err());
}

#[test]
fn dg2_is_padded_to_the_byte_and_still_decodes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (face, target) in [
        ("test-vectors/generated/face_gray.jpg", 30_000),
        ("test-vectors/generated/face_gray.jpg", 23_300),
        (
            "test-vectors/lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg",
            20_000,
        ),
        (
            "test-vectors/lds/iso39794_dg2_samples/ICAO_39794_5_AP_DG2_Face.jpg",
            90_000,
        ),
    ] {
        let image = std::fs::read(root.join(face)).unwrap();
        let plain = build_dg2(&image, None, None, None).unwrap();
        let dg2 = build_dg2(&image, None, None, Some(target)).unwrap();
        assert_eq!(dg2.len(), target, "{face}");
        let images = crate::lds::extract::extract_file(LdsFile::Dg(2), &dg2).unwrap();
        let pixels = crate::lds::image::decode(&images[0].bytes).unwrap();
        assert_eq!((pixels.width, pixels.height), (413, 531), "{face}");
        assert!(build_dg2(&image, None, None, Some(plain.len() - 1)).is_err());
    }
    // width and height from the header unless given
    let image = std::fs::read(root.join("test-vectors/generated/face_gray.jp2")).unwrap();
    let dg2 = build_dg2(&image, Some(10), Some(20), None).unwrap();
    let g =
        crate::lds::biometric::BiometricGroup::decode(&dg2, crate::lds::biometric::Modality::Face).unwrap();
    assert!(format!("{g:?}").contains("10"));
    assert!(build_dg2(b"not an image", None, None, None).is_err());
}

#[test]
fn expect_tables_are_checked() {
    let e = |v: &str, exit: i32, failing: &[&str]| Expect {
        verdict: v.into(),
        exit,
        failing: failing.iter().map(|s| (*s).to_owned()).collect(),
        read_exit: None,
        eac_chain: Vec::new(),
        eac_key: None,
    };
    assert!(e("VALID", 0, &[]).validate().is_ok());
    let half = Expect {
        eac_key: Some("k.pem".into()),
        ..e("VALID", 0, &[])
    };
    assert!(half.validate().is_err());
    assert!(e("INVALID", 1, &["aa"]).validate().is_ok());
    assert!(e("INDETERMINATE", 3, &["pa.crl"]).validate().is_ok());
    assert!(e("INVALID", 2, &["access"]).validate().is_ok());
    assert!(e("INVALID", 0, &["aa"]).validate().is_err());
    assert!(e("INVALID", 1, &[]).validate().is_err());
    assert!(e("BROKEN", 1, &["aa"]).validate().is_err());
}

#[test]
fn ca_public_key_matches_the_private_scalar() {
    use crate::access::pace::{DomainParams, PrivateKey};
    let sk = hex::decode("9999392E41DB7BFED9F4FE3CF07612B668AB92EC08134C3400C93CC95D87A54C").unwrap();
    for form in ["explicit", "standardized"] {
        let ca = CaToml {
            parameter_id: 13,
            cipher: None,
            key_id: Some(7),
            domain_parameters: Some(form.into()),
            info: None,
            version: None,
        };
        let (ecdh, spki) = ca_public_key(&ca, &sk).unwrap();
        assert!(ecdh);
        let params = DomainParams::from_spec(&spki.algorithm.domain_parameters().unwrap()).unwrap();
        let k = PrivateKey::from_bytes(&sk).unwrap();
        let public = params.multiply(&params.generator().unwrap(), k.as_bn()).unwrap();
        assert_eq!(params.encode(&public).unwrap(), spki.subject_public_key);
        let dg14 = build_dg14(&ca, &sk, None, &[], None).unwrap();
        let infos = Dg14::decode(&dg14).map(SecurityInfos::from).unwrap();
        assert_eq!(
            infos.chip_authentication_public_keys().next().unwrap().key_id,
            Some(7)
        );
    }
    let dh = CaToml {
        parameter_id: 2,
        cipher: Some("3DES".into()),
        key_id: None,
        domain_parameters: None,
        info: None,
        version: None,
    };
    let (ecdh, spki) = ca_public_key(&dh, &sk).unwrap();
    assert!(!ecdh);
    assert_eq!(spki.subject_public_key[0], 0x02, "DH public key as DER INTEGER");
    let bad = CaToml {
        domain_parameters: Some("explicit".into()),
        ..dh
    };
    assert!(ca_public_key(&bad, &sk).is_err());
}

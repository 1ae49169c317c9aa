//! `emrtd read` against the in-process emulator: byte-exact dumps, read sizes,
//! extended length, tag-loss recovery, and the CLI's exit codes and hints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use emrtd::access::password::{MrzKey, Password};
use emrtd::emulator::profile::Fault;
use emrtd::emulator::{Emulator, Profile};
use emrtd::lds::LdsFile;
use emrtd::reader::{Dump, NoProgress, ReadOptions, Session};
use emrtd::rng::OsRandom;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bac_profile() -> Profile {
    Profile::load(&root().join("pkd-fixtures/booklets/bac.toml")).unwrap()
}

fn key_of(p: &Profile) -> Password {
    let mrz = emrtd::mrz::Mrz::parse(&p.mrz).unwrap();
    Password::Mrz(MrzKey::from_mrz(&mrz).unwrap())
}

fn read(profile: Profile, options: ReadOptions) -> Dump {
    let key = key_of(&profile);
    let mut rng = OsRandom;
    let emu = Emulator::new(profile);
    Session::new(emu, key, options, &mut rng, None)
        .run(&mut NoProgress)
        .unwrap()
}

fn assert_same_files(dump: &Dump, profile: &Profile) {
    for (f, bytes) in &dump.files {
        assert_eq!(Some(bytes), profile.files.get(f), "{f} differs from the profile");
    }
    for f in profile.files.keys().filter(|f| !f.in_master_file()) {
        assert!(dump.files.contains_key(f), "{f} was not read");
    }
}

#[test]
fn bac_booklet_dump_equals_profile() {
    let profile = bac_profile();
    let dump = read(profile.clone(), ReadOptions::default());
    assert_same_files(&dump, &profile);
    let m = &dump.manifest;
    let access = m.access.as_ref().unwrap();
    assert_eq!(access.protocol, "BAC");
    assert_eq!(access.cipher, "3DES");
    assert!(!access.downgraded);
    assert!(!m.partial);
    assert!(!m.extended_length);
    // bac.toml is signed: EF.SOD is read like the data groups; only EF.CardAccess (asked
    // for in plain before access control) is absent: a BAC-only chip has none
    let absent: Vec<(&str, &str)> = m
        .absent
        .iter()
        .map(|a| (a.name.as_str(), a.sw.as_str()))
        .collect();
    assert_eq!(absent, [("EF.CardAccess", "6A82")]);
    // a chip without EF.SOD: reported absent with its status word
    let mut no_sod = profile.clone();
    no_sod.files.remove(&LdsFile::Sod);
    let d = read(no_sod, ReadOptions::default());
    assert!(
        d.manifest
            .absent
            .iter()
            .any(|a| a.name == "EF.SOD" && a.sw == "6A82")
    );
    // EF.CardAccess (absent by SFI, then by SELECT: a chip without short file
    // identifiers would also refuse the SFI read) + SELECT + GET CHALLENGE + MUTUAL
    // AUTHENTICATE
    assert_eq!(m.access_apdus, 5);
    let dg2 = m.files.iter().find(|f| f.name == "DG2").unwrap();
    // 15083 bytes in 223-byte blocks, one refused 256-byte try spent on EF.COM
    assert_eq!(dg2.apdus, 15083usize.div_ceil(223));
    assert_eq!(dg2.read_size, Some(223));
    assert!(m.modelled_ms.unwrap() > 0.0);
}

#[test]
fn extended_length_reads_each_file_in_one_command() {
    let mut profile = bac_profile();
    profile.chip.extended_length = true;
    profile.chip.max_read = 65536;
    let ext = read(profile.clone(), ReadOptions::default());
    assert!(ext.manifest.extended_length);
    for f in &ext.manifest.files {
        assert_eq!(f.apdus, 1, "{} took {} commands", f.name, f.apdus);
    }
    let capped = read(
        profile.clone(),
        ReadOptions {
            max_read: Some(223),
            ..ReadOptions::default()
        },
    );
    assert_eq!(capped.files, ext.files, "same bytes whatever the read size");
    let dg2 = |d: &Dump| d.manifest.files.iter().find(|f| f.name == "DG2").unwrap().apdus;
    assert_eq!(dg2(&capped), 15083usize.div_ceil(223));
    assert!(capped.manifest.read_apdus > ext.manifest.read_apdus);
    let short = read(
        profile,
        ReadOptions {
            no_extended: true,
            ..ReadOptions::default()
        },
    );
    assert!(!short.manifest.extended_length);
    assert_eq!(short.files, ext.files);
}

#[test]
fn card_removed_at_every_apdu_index_recovers_with_identical_dump() {
    let profile = bac_profile();
    let reference = read(profile.clone(), ReadOptions::default());
    let total = reference.manifest.access_apdus + reference.manifest.read_apdus;
    for at in 0..total {
        let mut p = profile.clone();
        p.faults = vec![Fault::CardRemoved { at }];
        let dump = read(p, ReadOptions::default());
        assert_eq!(dump.files, reference.files, "removal at APDU {at}");
        assert_eq!(dump.manifest.recoveries, 1, "removal at APDU {at}");
        assert!(!dump.manifest.partial);
    }
}

#[test]
fn endless_tag_loss_gives_up_with_partial_dump() {
    let mut p = bac_profile();
    // removed again right after each re-authentication
    p.faults = (20..400).map(|at| Fault::CardRemoved { at }).collect();
    let key = key_of(&p);
    let mut rng = OsRandom;
    let err = Session::new(Emulator::new(p), key, ReadOptions::default(), &mut rng, None)
        .run(&mut NoProgress)
        .unwrap_err();
    assert!(err.to_string().contains("gave up"), "{err}");
    let partial = err.partial.expect("files read before the failure");
    assert!(partial.manifest.partial);
    assert!(partial.files.contains_key(&LdsFile::Com));
}

fn emrtd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(args)
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .output()
        .unwrap()
}

fn profile_path() -> String {
    root()
        .join("pkd-fixtures/booklets/bac.toml")
        .display()
        .to_string()
}

#[test]
fn cli_read_writes_private_dump_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dump");
    let o = emrtd(&[
        "read",
        "--emulator",
        &profile_path(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(manifest["schema"], 1);
    assert_eq!(manifest["access"]["protocol"], "BAC");
    let files = manifest["files"].as_array().unwrap();
    let dg1 = files.iter().find(|f| f["name"] == "DG1").unwrap();
    let bytes = std::fs::read(out.join("DG1.bin")).unwrap();
    assert_eq!(dg1["size"], bytes.len());
    assert_eq!(dg1["sha256"], emrtd::crypto::sha256_hex(&bytes));
    assert_eq!(bytes, bac_profile().files[&LdsFile::Dg(1)]);
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(on_disk, manifest);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(out.join("DG2.bin"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    // refuses to overwrite a dump
    let again = emrtd(&[
        "read",
        "--emulator",
        &profile_path(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn cli_wrong_mrz_exits_2_with_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dump");
    let o = emrtd(&[
        "read",
        "--emulator",
        &profile_path(),
        "--doc-number",
        "X1234567",
        "--birth",
        "900101",
        "--expiry",
        "300101",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("emrtd: error: "), "{err}");
    assert!(err.contains("hint: the MRZ is probably wrong"), "{err}");
    assert!(!Path::new(&out).join("manifest.json").exists());
}

#[test]
fn cli_trace_is_redacted_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    let o = emrtd(&[
        "read",
        "--emulator",
        &profile_path(),
        "--out",
        dir.path().join("d").to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(&trace).unwrap();
    let p = bac_profile();
    let mrz_line: String = p.mrz.lines().nth(1).unwrap().to_string();
    for needle in [
        hex::encode_upper(&mrz_line.as_bytes()[..9]),
        hex::encode_upper(&p.files[&LdsFile::Dg(2)][100..116]),
    ] {
        assert!(!text.contains(&needle), "trace leaks personal data");
    }
    assert!(!text.contains("UTB000135"));
    assert!(text.lines().count() > 10);
    assert!(text.contains("\"context\":\"read DG2\""));
}

fn booklet(name: &str) -> Profile {
    Profile::load(&root().join("pkd-fixtures/booklets").join(name)).unwrap()
}

#[test]
fn every_pace_profile_reads_and_names_its_protocol() {
    let cases = [
        ("pace-ecdh-gm-p256-3des.toml", "ECDH-GM", 12, "3DES"),
        ("pace-ecdh-gm-bp384-aes256.toml", "ECDH-GM", 16, "AES-256"),
        ("pace-dh-gm-2048-224-aes128.toml", "DH-GM", 1, "AES-128"),
        ("pace-ecdh-im-bp256-aes128.toml", "ECDH-IM", 13, "AES-128"),
        ("pace-dh-im-1024-160-3des.toml", "DH-IM", 0, "3DES"),
        ("id-card-can.toml", "ECDH-GM", 13, "AES-128"),
    ];
    for (file, mapping, param, cipher) in cases {
        let profile = booklet(file);
        // the integrated-mapping booklets list the generic mapping beside (as issued
        // chips do); the reader ranks GM above IM, so IM is asked for by its OID
        let options = if mapping.ends_with("-IM") {
            let infos =
                emrtd::lds::security_infos::SecurityInfos::decode(&profile.files[&LdsFile::CardAccess])
                    .unwrap();
            let gm = mapping.replace("-IM", "-GM");
            let dump = read(profile.clone(), ReadOptions::default());
            assert_eq!(
                dump.manifest.access.as_ref().unwrap().mapping.as_deref(),
                Some(gm.as_str()),
                "{file}"
            );
            let im = infos
                .pace_infos()
                .find(|p| {
                    p.protocol().is_some_and(|x| {
                        matches!(
                            x.mapping,
                            emrtd::lds::security_infos::PaceMapping::EcdhIm
                                | emrtd::lds::security_infos::PaceMapping::DhIm
                        )
                    })
                })
                .unwrap();
            ReadOptions {
                pace_oid: Some(im.protocol.to_string()),
                ..ReadOptions::default()
            }
        } else {
            ReadOptions::default()
        };
        let dump = read(profile.clone(), options.clone());
        assert_same_files(&dump, &profile);
        let a = dump.manifest.access.as_ref().unwrap();
        assert_eq!(
            (
                a.protocol.as_str(),
                a.mapping.as_deref(),
                a.parameter_id,
                a.cipher.as_str(),
                a.password.as_str()
            ),
            ("PACE", Some(mapping), Some(param), cipher, "MRZ"),
            "{file}"
        );
        assert!(!a.downgraded);
        // with the CAN too
        let can = Password::can(profile.can.as_deref().unwrap()).unwrap();
        let mut rng = OsRandom;
        let dump = Session::new(Emulator::new(profile.clone()), can, options, &mut rng, None)
            .run(&mut NoProgress)
            .unwrap();
        assert_eq!(dump.manifest.access.as_ref().unwrap().password, "CAN", "{file}");
        assert_eq!(
            dump.manifest.access.as_ref().unwrap().mapping.as_deref(),
            Some(mapping),
            "{file}"
        );
        assert_same_files(&dump, &profile);
    }
}

#[test]
fn pace_recovers_from_tag_loss_everywhere() {
    let profile = booklet("pace-ecdh-im-bp256-aes128.toml");
    let reference = read(profile.clone(), ReadOptions::default());
    let total = reference.manifest.access_apdus + reference.manifest.read_apdus;
    for at in 0..total {
        let mut p = profile.clone();
        p.faults = vec![Fault::CardRemoved { at }];
        let dump = read(p, ReadOptions::default());
        assert_eq!(dump.files, reference.files, "removal at APDU {at}");
        assert_eq!(dump.manifest.recoveries, 1);
        assert_eq!(dump.manifest.access.as_ref().unwrap().protocol, "PACE");
    }
}

#[test]
fn refused_pace_is_an_error_not_a_silent_bac_downgrade() {
    let mut profile = booklet("pace-ecdh-gm-p256-3des.toml");
    profile.chip.refuse_pace = true;
    let key = key_of(&profile);
    let mut rng = OsRandom;
    let err = Session::new(
        Emulator::new(profile.clone()),
        key.clone(),
        ReadOptions::default(),
        &mut rng,
        None,
    )
    .run(&mut NoProgress)
    .unwrap_err();
    assert!(err.partial.is_none(), "nothing of the document may be read");
    assert!(format!("{:?}", err.error).contains("Access"), "{:?}", err.error);
    // with the flag, BAC is used and the downgrade is on record
    let dump = Session::new(
        Emulator::new(profile.clone()),
        key,
        ReadOptions {
            allow_bac_fallback: true,
            ..ReadOptions::default()
        },
        &mut rng,
        None,
    )
    .run(&mut NoProgress)
    .unwrap();
    let a = dump.manifest.access.as_ref().unwrap();
    assert_eq!(a.protocol, "BAC");
    assert!(a.downgraded);
    assert!(a.downgrade_reason.as_deref().unwrap().contains("PACE failed"));
    assert_same_files(&dump, &profile);
}

#[test]
fn cli_can_and_wrong_can() {
    let dir = tempfile::tempdir().unwrap();
    let p = root()
        .join("pkd-fixtures/booklets/id-card-can.toml")
        .display()
        .to_string();
    let ok = emrtd(&[
        "read",
        "--emulator",
        &p,
        "--can",
        "123456",
        "--out",
        dir.path().join("a").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(m["access"]["password"], "CAN");
    assert_eq!(m["access"]["mapping"], "ECDH-GM");
    let bad = emrtd(&[
        "read",
        "--emulator",
        &p,
        "--can",
        "654321",
        "--out",
        dir.path().join("b").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("hint:") && err.contains("CAN"), "{err}");
    assert!(!dir.path().join("b").join("manifest.json").exists());
    // BAC-only booklet and a CAN: a clear error
    let bac = emrtd(&[
        "read",
        "--emulator",
        &profile_path(),
        "--can",
        "123456",
        "--out",
        dir.path().join("c").to_str().unwrap(),
    ]);
    assert_eq!(bac.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bac.stderr).contains("CAN only works with PACE"));
}

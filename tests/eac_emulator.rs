//! Extended Access Control end to end against the software chip: `emrtd read|verify
//! --emulator pkd-fixtures/booklets/eac.toml --eac-chain … --eac-key …` reads DG3/DG4 and
//! verifies VALID with their hash checks passing; without credentials they stay
//! informational and the verdict is the same; the chip enforces its CHAT (DG4 refused
//! to a DG3-only terminal even when asked directly), moves its date forward, and rolls
//! its trust point over to a link CVCA for good.
//!
//! The TA protocol steps themselves are checked against the BSI worked example in
//! tests/ta_vectors.rs and src/emulator/ta.rs (no code of ours on the other side).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use emrtd::access::password::{MrzKey, Password};
use emrtd::apdu::{CardChannel, Command as Apdu, StatusWord};
use emrtd::emulator::{Emulator, Profile};
use emrtd::lds::dg14::Dg14;
use emrtd::pki::cvc::CvDate;
use emrtd::pki::eac_credentials::EacCredentials;
use emrtd::reader::{NoProgress, ReadOptions, Session};
use emrtd::rng::OsRandom;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn emrtd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emrtd"))
        .args(args)
        .env_remove("EMRTD_STORE")
        .env_remove("EMRTD_MRZ")
        .env_remove("EMRTD_CAN")
        .output()
        .unwrap()
}

fn store(dir: &Path) -> PathBuf {
    let db = dir.join("trust.db");
    let mut pki: Vec<PathBuf> = std::fs::read_dir(root().join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pki.sort();
    let mut args = vec!["--store", s(&db), "-q", "pkd", "import"];
    args.extend(pki.iter().map(|p| s(p)));
    assert!(emrtd(&args).status.success());
    db
}

fn verify(db: &Path, booklet: &str, eac: &[&str]) -> serde_json::Value {
    let b = root().join("booklets").join(booklet);
    let mut args = vec!["--store", s(db), "--json", "verify", "--emulator", s(&b)];
    args.extend_from_slice(eac);
    let o = emrtd(&args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    let code = match v["verdict"].as_str().unwrap() {
        "VALID" => 0,
        "INVALID" => 1,
        _ => 3,
    };
    assert_eq!(o.status.code(), Some(code));
    v
}

fn check<'v>(v: &'v serde_json::Value, id: &str) -> Option<&'v serde_json::Value> {
    v["checks"].as_array().unwrap().iter().find(|c| c["id"] == id)
}

#[test]
fn read_and_verify_with_a_pkcs8_terminal_key() {
    let dir = tempfile::tempdir().unwrap();
    let chain = root().join("eac/ut");
    let key = root().join("eac/keys/ut-is.key.pem");
    let creds = ["--eac-chain", s(&chain), "--eac-key", s(&key)];
    // read: DG3 and DG4 byte for byte, TA in the manifest
    let out = dir.path().join("dump");
    let booklet = root().join("booklets/eac.toml");
    let mut args = vec!["-q", "read", "--emulator", s(&booklet), "--out", s(&out)];
    args.extend_from_slice(&creds);
    let o = emrtd(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (dg, data) in [("DG3", "bsi2008-dg3.bin"), ("DG4", "bsi2008-dg4.bin")] {
        assert_eq!(
            std::fs::read(out.join(format!("{dg}.bin"))).unwrap(),
            std::fs::read(root().join("booklets/data").join(data)).unwrap(),
            "{dg}"
        );
    }
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let ta = &m["terminal_authentication"];
    assert_eq!(ta["outcome"], "authenticated", "{ta:#}");
    assert_eq!(ta["chip_cvca"][0], "UTCVCAEMRTD00001");
    assert_eq!(ta["chain"][1], "UTISEMRTD00001");
    assert_eq!(
        (ta["dg3"].as_bool(), ta["dg4"].as_bool()),
        (Some(true), Some(true))
    );

    // verify: VALID with both hash checks passing
    let db = store(dir.path());
    let with = verify(&db, "eac.toml", &creds);
    assert_eq!(with["verdict"], "VALID", "{with:#}");
    for id in ["pa.dg_hash.DG3", "pa.dg_hash.DG4", "eac.ta", "ca"] {
        assert_eq!(check(&with, id).unwrap()["status"], "pass", "{id}");
    }
    // the dump verifies offline the same way (CA/AA aside)
    let o = emrtd(&["--store", s(&db), "--json", "verify", "--dump", s(&out)]);
    let offline: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(check(&offline, "pa.dg_hash.DG3").unwrap()["status"], "pass");

    // without credentials: DG3/DG4 informational, the verdict unchanged
    let without = verify(&db, "eac.toml", &[]);
    assert_eq!(without["verdict"], with["verdict"]);
    for dg in ["DG3", "DG4"] {
        let c = check(&without, &format!("pa.dg_unread.{dg}")).unwrap();
        assert_eq!(
            (c["status"].as_str(), c["informational"].as_bool()),
            (Some("skip"), Some(true))
        );
        assert!(c["reason"].as_str().unwrap().contains("6982"), "{c:#}");
        assert!(check(&without, &format!("pa.dg_hash.{dg}")).is_none());
    }
    assert!(check(&without, "eac.ta").is_none());

    // a key that is not the terminal's: the chip refuses EXTERNAL AUTHENTICATE, reported
    // with the step and status word, and the verdict is not VALID
    let wrong = root().join("eac/keys/ut-is-dg3.key.pem");
    let v = verify(
        &db,
        "eac.toml",
        &["--eac-chain", s(&chain), "--eac-key", s(&wrong)],
    );
    assert_eq!(v["verdict"], "INDETERMINATE", "{v:#}");
    let ta = check(&v, "eac.ta").unwrap();
    assert_eq!(ta["status"], "indeterminate");
    assert_eq!(ta["evidence"]["step"], "EXTERNAL AUTHENTICATE");
    assert_eq!(ta["evidence"]["sw"], "6300");
}

#[test]
fn bad_credentials_are_clear_errors() {
    let chain = root().join("eac/ut");
    let booklet = root().join("booklets/eac.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    // a certificate file as key
    let o = emrtd(&[
        "read",
        "--emulator",
        s(&booklet),
        "--out",
        s(&out),
        "--eac-chain",
        s(&chain),
        "--eac-key",
        s(&chain.join("ut-is.cvcert")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a PKCS#8 private key"));
    // no terminal certificate at all
    let o = emrtd(&[
        "read",
        "--emulator",
        s(&booklet),
        "--out",
        s(&out),
        "--eac-chain",
        s(&chain.join("ut-cvca.cvcert")),
        "--eac-key",
        s(&root().join("eac/keys/ut-is.key.pem")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no inspection-system"));
}

fn key_of(p: &Profile) -> Password {
    Password::Mrz(MrzKey::from_mrz(&emrtd::mrz::Mrz::parse(&p.mrz).unwrap()).unwrap())
}

fn creds(chain: &str, key: &str) -> EacCredentials {
    EacCredentials::load(
        &[root().join("eac").join(chain)],
        s(&root().join("eac/keys").join(key)),
    )
    .unwrap()
}

/// Read with the library, then send `extra` on the still-open channel (after TA).
fn read_then(chip: &mut Emulator, eac: EacCredentials, extra: &Apdu) -> (emrtd::reader::Dump, StatusWord) {
    let profile = chip.profile().clone();
    let mut rng = OsRandom;
    let options = ReadOptions {
        eac: Some(eac),
        ..ReadOptions::default()
    };
    Session::new(chip, key_of(&profile), options, &mut rng, None)
        .run_then(&mut NoProgress, |_, ch, _| ch.send(extra).unwrap().sw)
        .unwrap()
}

#[test]
fn the_chip_enforces_the_chat_and_keeps_its_date_and_trust_points() {
    let mut profile = Profile::load(&root().join("booklets/eac.toml")).unwrap();
    // the chip's clock is behind the terminal certificate's effective date
    profile.eac.as_mut().unwrap().date = CvDate {
        year: 2025,
        month: 7,
        day: 1,
    };
    let mut chip = Emulator::new(profile);
    // a DG3-only terminal, then READ BINARY of DG4 by SFI on the open channel
    let read_dg4 = Apdu::read_binary_sfi(4, 0, 16);
    let (dump, sw) = read_then(&mut chip, creds("ut-dg3-only", "ut-is-dg3.key.pem"), &read_dg4);
    assert!(dump.files.contains_key(&emrtd::lds::LdsFile::Dg(3)));
    assert!(!dump.files.contains_key(&emrtd::lds::LdsFile::Dg(4)));
    assert_eq!(
        sw,
        StatusWord(0x6982),
        "DG4 must stay closed to a DG3-only terminal"
    );
    // the domestic DV and its terminal moved the chip's date to the terminal's
    // effective date
    let ta = chip.terminal_authentication().unwrap();
    assert_eq!(
        ta.date(),
        CvDate {
            year: 2026,
            month: 1,
            day: 1
        }
    );
    // the full terminal gets DG4 on the same chip
    let (_, sw) = read_then(&mut chip, creds("ut", "ut-is.key.pem"), &read_dg4);
    assert_eq!(sw, StatusWord::OK);

    // a terminal of the next CVCA generation: the chip takes the link and keeps it
    let (dump, _) = read_then(&mut chip, creds("rollover", "ut-is-2.key.pem"), &read_dg4);
    assert!(dump.files.contains_key(&emrtd::lds::LdsFile::Dg(4)));
    let ta = chip.terminal_authentication().unwrap();
    assert_eq!(ta.trust_points(), ["UTCVCAEMRTD00001", "UTCVCAEMRTD00002"]);
    // EF.CVCA names the new trust point first
    let cvca = emrtd::access::ta::parse_ef_cvca(&ta.ef_cvca());
    assert_eq!(cvca, ["UTCVCAEMRTD00002", "UTCVCAEMRTD00001"]);
    let (dump, _) = read_then(&mut chip, creds("rollover", "ut-is-2.key.pem"), &read_dg4);
    let rec = dump.manifest.terminal_authentication.unwrap();
    assert_eq!(rec.outcome, "authenticated");
    // now under the new trust point: the link is no longer needed
    assert_eq!(rec.cvca.as_deref(), Some("UTCVCAEMRTD00002"));
}

#[test]
fn without_ta_the_chip_denies_dg3_and_dg4_under_secure_messaging() {
    let profile = Profile::load(&root().join("booklets/eac.toml")).unwrap();
    let key = key_of(&profile);
    let mut chip = Emulator::new(profile);
    let mut rng = OsRandom;
    let (dump, sw) = Session::new(&mut chip, key, ReadOptions::default(), &mut rng, None)
        .run_then(&mut NoProgress, |_, ch, _| {
            ch.send(&Apdu::read_binary_sfi(0x1C, 0, 36)).unwrap().sw
        })
        .unwrap();
    // EF.CVCA is readable like the other groups
    assert_eq!(sw, StatusWord::OK);
    let absent: Vec<(&str, &str)> = dump
        .manifest
        .absent
        .iter()
        .map(|a| (a.name.as_str(), a.sw.as_str()))
        .collect();
    assert!(absent.contains(&("DG3", "6982")), "{absent:?}");
    assert!(absent.contains(&("DG4", "6982")), "{absent:?}");
    assert!(dump.manifest.terminal_authentication.is_none());
}

/// EAC version 2 (`eac-v2.toml`, DG14 with Chip Authentication version 2 only): PACE,
/// TA v2 announcing the ephemeral key, CA v2 with it, then DG3/DG4. Without terminal
/// credentials CA v2 cannot run (it follows TA v2), so `ca` is not proven and the
/// verdict is not VALID.
#[test]
fn eac_version_2_runs_ta_then_chip_authentication_v2() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let chain = root().join("eac/ut");
    let key = root().join("eac/keys/ut-is.key.pem");
    let v = verify(
        &db,
        "eac-v2.toml",
        &["--eac-chain", s(&chain), "--eac-key", s(&key)],
    );
    assert_eq!(v["verdict"], "VALID", "{v:#}");
    let ta = check(&v, "eac.ta").unwrap();
    assert_eq!(ta["evidence"]["version"], 2);
    let ca = check(&v, "ca").unwrap();
    assert_eq!(ca["status"], "pass");
    assert_eq!(ca["evidence"]["proven"], true);
    for id in ["pa.dg_hash.DG3", "pa.dg_hash.DG4"] {
        assert_eq!(check(&v, id).unwrap()["status"], "pass", "{id}");
    }
    let without = verify(&db, "eac-v2.toml", &[]);
    assert_ne!(without["verdict"], "VALID");
    assert_ne!(check(&without, "ca").unwrap()["status"], "pass");
}

/// `eac-v2.toml` with EF.CardAccess also announcing Chip Authentication version 2 (as
/// an EAC version 2 chip may): the reader then sends its CHAT in PACE's MSE:Set AT.
fn eac_v2_announced_in_card_access() -> Profile {
    use emrtd::lds::LdsFile;
    use emrtd::lds::security_infos::{SecurityInfo, SecurityInfos};
    let mut profile = Profile::load(&root().join("booklets/eac-v2.toml")).unwrap();
    let dg14 = Dg14::decode(&profile.files[&LdsFile::Dg(14)])
        .map(SecurityInfos::from)
        .unwrap();
    let mut infos = SecurityInfos::decode(&profile.files[&LdsFile::CardAccess])
        .unwrap()
        .infos;
    let ca_v2: Vec<SecurityInfo> = dg14
        .infos
        .into_iter()
        .filter(|i| matches!(i, SecurityInfo::ChipAuthentication(c) if c.version == 2))
        .collect();
    assert!(!ca_v2.is_empty());
    infos.extend(ca_v2);
    profile
        .files
        .insert(LdsFile::CardAccess, SecurityInfos::from_infos(infos).encode());
    profile
}

/// The PACE CHAT end to end (EAC version 2): the terminal holds the UT chain (DG3 and
/// DG4) but asks PACE for DG3 only. The chip ANDs the PACE CHAT with the chain's
/// authorization: TA grants DG3 only, a READ of DG4 on the open channel gets 6982, the
/// reader does not count DG4 as owed, and verify keeps DG4 informational (VALID, as
/// with a DG3-only terminal) — never better than a full read, never an INVALID for a
/// group the terminal did not ask for. Without the narrower request the same chip
/// grants DG4; an EAC version 1 chip (no version 2 in EF.CardAccess) gets no CHAT.
#[test]
fn the_pace_chat_limits_terminal_authentication_end_to_end() {
    use emrtd::pki::cvc::{Chat, Role};
    let dg3_only = || {
        let mut c = creds("ut", "ut-is.key.pem");
        c.pace_chat = Some(Chat::inspection_system(Role::Terminal, true, false));
        c
    };
    let read_dg4 = Apdu::read_binary_sfi(4, 0, 16);
    let mut chip = Emulator::new(eac_v2_announced_in_card_access());
    let (dump, sw) = read_then(&mut chip, dg3_only(), &read_dg4);
    assert_eq!(
        sw,
        StatusWord(0x6982),
        "DG4 must stay closed under a DG3-only PACE CHAT"
    );
    let granted = chip.terminal_authentication().unwrap().granted().unwrap();
    assert!(granted.reads_dg3() && !granted.reads_dg4(), "{granted:?}");
    let rec = dump.manifest.terminal_authentication.as_ref().unwrap();
    assert_eq!((rec.outcome.as_str(), rec.version), ("authenticated", 2));
    assert_eq!((rec.dg3, rec.dg4), (true, false));
    assert!(dump.files.contains_key(&emrtd::lds::LdsFile::Dg(3)));
    assert!(!dump.files.contains_key(&emrtd::lds::LdsFile::Dg(4)));
    let absent = dump.manifest.absent.iter().find(|a| a.name == "DG4").unwrap();
    assert!(absent.meaning.contains("does not grant"), "{absent:?}");

    // the terminal's own rights in the CHAT: DG4 granted by the same chip
    let mut chip = Emulator::new(eac_v2_announced_in_card_access());
    let (_, sw) = read_then(&mut chip, creds("ut", "ut-is.key.pem"), &read_dg4);
    assert_eq!(sw, StatusWord::OK);
    // EAC version 1 (eac.toml): no CHAT in PACE, so the request does not narrow TA
    let mut chip = Emulator::new(Profile::load(&root().join("booklets/eac.toml")).unwrap());
    let (_, sw) = read_then(&mut chip, dg3_only(), &read_dg4);
    assert_eq!(sw, StatusWord::OK);

    // verify: VALID with DG3 checked and DG4 informational
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let store = emrtd::pki::store::TrustStore::open(&db).unwrap();
    let profile = eac_v2_announced_in_card_access();
    let password = key_of(&profile);
    let mut chip = Emulator::new(profile);
    let options = emrtd::verify::live::LiveOptions {
        read: ReadOptions {
            eac: Some(dg3_only()),
            ..ReadOptions::default()
        },
        at: time::OffsetDateTime::now_utc(),
        no_aa: false,
        no_ca: false,
        bac_requested: false,
        source: "emulator".into(),
    };
    let live = emrtd::verify::live::read_and_verify(
        &mut chip,
        &password,
        &options,
        Some(&store),
        &mut OsRandom,
        &mut NoProgress,
        None,
    )
    .unwrap();
    let v = serde_json::to_value(&live.report).unwrap();
    assert_eq!(v["verdict"], "VALID", "{v:#}");
    assert_eq!(check(&v, "pa.dg_hash.DG3").unwrap()["status"], "pass");
    assert!(check(&v, "pa.dg_hash.DG4").is_none());
    let dg4 = check(&v, "pa.dg_unread.DG4").unwrap();
    assert_eq!(
        (dg4["status"].as_str(), dg4["informational"].as_bool()),
        (Some("skip"), Some(true)),
        "{dg4:#}"
    );
}

/// Chip Authentication version 3 (BSI TR-03110-2, eIDAS tokens: CA3 with Pseudonymous
/// Signature Authentication) is not an eMRTD protocol and not implemented. A chip whose
/// signed DG14 offers only version 3 is reported, not ignored: `ca` stays
/// INDETERMINATE naming version 3, with or without terminal credentials, and TA does
/// not run (it would follow Chip Authentication).
#[test]
fn a_chip_offering_only_chip_authentication_version_3_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    // a profile's base must sit in its directory: a copy of the fixtures
    let fx = dir.path().join("fx");
    support::copy_dir(&root(), &fx);
    let b = fx.join("booklets/eac-ca-v3.toml");
    std::fs::write(
        &b,
        "name = \"eac-ca-v3\"\nbase = \"eac.toml\"\n\n[ca]\nversion = 3\n",
    )
    .unwrap();
    let chain = root().join("eac/ut");
    let key = root().join("eac/keys/ut-is.key.pem");
    for eac in [&[][..], &["--eac-chain", s(&chain), "--eac-key", s(&key)][..]] {
        let mut args = vec!["--store", s(&db), "--json", "verify", "--emulator", s(&b)];
        args.extend_from_slice(eac);
        let o = emrtd(&args);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
        assert_eq!(v["verdict"], "INDETERMINATE", "{v:#}");
        assert_eq!(o.status.code(), Some(3));
        let ca = check(&v, "ca").unwrap();
        assert_eq!(ca["status"], "indeterminate", "{ca:#}");
        let why = ca["reason"].as_str().unwrap_or_default();
        assert!(why.contains("[3]") && why.contains("version 3"), "{ca:#}");
        assert_ne!(
            check(&v, "pa.dg_hash.DG3").map(|c| c["status"].clone()),
            Some("pass".into())
        );
        if !eac.is_empty() {
            let ta = check(&v, "eac.ta").unwrap();
            assert_ne!(ta["status"], "pass", "{ta:#}");
        }
    }
}

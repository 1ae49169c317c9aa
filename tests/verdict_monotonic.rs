//! A verdict never improves because less was read. For every genuine booklet profile,
//! every file it holds and every way a chip can refuse a file (status words 6982, 6985,
//! 6A86, 6A82, 6D00, 6B00, 6700, 6282, and the card leaving the field whenever the file
//! is read), the live verification through the same engine as `emrtd verify`
//! ([`emrtd::verify::live`]) is never VALID and never better than the complete
//! booklet's; and the booklet's dump with that file deleted verifies offline never
//! VALID and never better than the complete dump.
//!
//! What a document must prove comes from its signed EF.SOD and EF.CardSecurity, so a
//! clone that hides DG14/DG15 or the face cannot do better than the genuine chip.
//!
//! Exempt, by design and named here: a chip that behaves exactly like a genuine chip
//! that lacks the file — EF.CardAccess refused (in plain, before access control) by a
//! chip that also does BAC and whose signed data lists no PACE, and EF.CardSecurity
//! answered 6A82 by a chip that nothing requires to have one, and DG3/DG4 the reader did
//! not ask for (read without terminal credentials, or with credentials that do not
//! unlock them: `pa.dg_unread`, informational). Those cells must give the complete
//! booklet's verdict — no better — and the test prints them. An EAC booklet is read with
//! the terminal credentials of its `[expect]`, so a chip hiding DG3/DG4 after granting
//! them is never VALID.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use emrtd::access::password::{MrzKey, Password};
use emrtd::apdu::StatusWord;
use emrtd::emulator::fault::{ApduFault, CommandFilter, Fault, When};
use emrtd::emulator::{Emulator, Profile};
use emrtd::lds::LdsFile;
use emrtd::pki::import::{self, ImportOptions};
use emrtd::pki::store::TrustStore;
use emrtd::reader::{Dump, NoProgress, ReadOptions};
use emrtd::rng::OsRandom;
use emrtd::verify::live::{LiveOptions, read_and_verify};
use emrtd::verify::{Report, Verdict};
use time::macros::datetime;

#[path = "support/offline.rs"]
mod offline_verify;
use offline_verify::verify_offline;

const AT: time::OffsetDateTime = datetime!(2027-01-01 12:00 UTC);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures")
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

/// The genuine booklets: `[expect] verdict = "VALID"`.
fn genuine() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("booklets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        // the quirk profiles are genuine booklets with odd chips (tests/quirks.rs)
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("quirk-"))
        })
        .filter(|p| {
            let t: toml::Value = toml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            t.get("expect")
                .and_then(|e| e.get("verdict"))
                .and_then(|v| v.as_str())
                == Some("VALID")
        })
        .collect();
    v.sort();
    assert!(v.len() >= 8, "expected the genuine booklets, found {v:?}");
    v
}

fn key_of(p: &Profile) -> Password {
    let mrz = emrtd::mrz::Mrz::parse(&p.mrz).unwrap();
    Password::Mrz(MrzKey::from_mrz(&mrz).unwrap())
}

/// Better is larger.
fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Invalid => 0,
        Verdict::Indeterminate => 1,
        Verdict::Valid => 2,
    }
}

/// The ways a chip says no to a file.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Status(u16),
    CardRemoved,
}

const REFUSALS: [Refusal; 9] = [
    Refusal::Status(0x6982),
    Refusal::Status(0x6985),
    Refusal::Status(0x6A86),
    Refusal::Status(0x6A82),
    Refusal::Status(0x6D00),
    Refusal::Status(0x6B00),
    Refusal::Status(0x6700),
    Refusal::Status(0x6282),
    Refusal::CardRemoved,
];

fn fault(file: LdsFile, r: Refusal) -> Fault {
    let when = When::from(0).command(CommandFilter::ReadBinary).file(file);
    let what = match r {
        Refusal::Status(sw) => ApduFault::Refuse { sw: StatusWord(sw) },
        Refusal::CardRemoved => ApduFault::CardRemoved,
    };
    Fault::Apdu { what, when }
}

/// Live: `Some(report)`, or `None` when the read failed as an operational error (which
/// is never VALID either).
fn live(profile: Profile, store: &TrustStore) -> Option<Report> {
    live_with(profile, store, false)
}

fn offline(dump: &Dump, store: &TrustStore) -> Report {
    verify_offline(dump, store, AT)
}

/// The terminal credentials a profile's expectation holds with (`[expect] eac_chain`,
/// `eac_key`): an EAC booklet is verified with them, so hiding DG3/DG4 counts.
fn eac_of(profile: &Profile) -> Option<emrtd::pki::eac_credentials::EacCredentials> {
    let e = profile.personalisation.expect.as_ref()?;
    let key = e.eac_key.as_ref()?;
    let dir = profile.path.as_ref()?.parent()?;
    let chain: Vec<PathBuf> = e.eac_chain.iter().map(|c| dir.join(c)).collect();
    Some(emrtd::pki::eac_credentials::EacCredentials::load(&chain, dir.join(key).to_str()?).unwrap())
}

fn complete_dump(profile: &Profile) -> Dump {
    let password = key_of(profile);
    let mut rng = OsRandom;
    emrtd::reader::Session::new(
        Emulator::new(profile.clone()),
        password,
        ReadOptions {
            eac: eac_of(profile),
            ..ReadOptions::default()
        },
        &mut rng,
        None,
    )
    .run(&mut NoProgress)
    .unwrap()
}

/// A cell the module documentation exempts from "never VALID": a chip that behaves
/// exactly like a genuine chip without the file. EF.CardAccess is read in plain before
/// access control, and real chips without it answer 6A82, 6D00 and others: hiding it
/// pushes the reader to BAC, which only signed data listing PACE can expose (checked
/// by `access`). EF.CardSecurity answered 6A82 ("no such file") when nothing requires
/// it.
fn exempt(profile: &Profile, file: LdsFile, r: Refusal) -> bool {
    let signed_pace = profile
        .files
        .get(&LdsFile::Dg(14))
        .and_then(|b| emrtd::lds::dg14::Dg14::decode(b).map(|d| d.security_infos).ok())
        .is_some_and(|i| i.pace_infos().next().is_some());
    match (file, r) {
        (LdsFile::CardAccess, _) => !signed_pace,
        (LdsFile::CardSecurity, Refusal::Status(0x6A82)) => true,
        _ => false,
    }
}

/// DG3/DG4 that the complete read did not ask for (no terminal credentials, or
/// credentials that do not unlock them): hiding them is not observable, and by design
/// (`pa.dg_unread`, informational) changes nothing.
fn not_asked(complete: &Report, file: LdsFile) -> bool {
    matches!(file, LdsFile::Dg(3 | 4))
        && complete
            .checks
            .iter()
            .any(|c| c.id == format!("pa.dg_unread.{}", file.name()))
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn hiding_a_file_never_improves_the_verdict() {
    let booklets = genuine();
    let failures = Mutex::new(Vec::<String>::new());
    let exempted = Mutex::new(Vec::<String>::new());
    let cells = Mutex::new(0usize);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let store = self::store();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(path) = booklets.get(i) else { break };
                    let profile = Profile::load(path).unwrap();
                    let complete = live(profile.clone(), &store)
                        .unwrap_or_else(|| panic!("{}: the genuine booklet does not read", name(path)));
                    assert_eq!(complete.verdict, Verdict::Valid, "{}: {complete:#?}", name(path));
                    let dump = complete_dump(&profile);
                    let complete_offline = offline(&dump, &store).verdict;
                    let files: Vec<LdsFile> = profile
                        .files
                        .keys()
                        .copied()
                        .filter(|f| {
                            matches!(
                                f,
                                LdsFile::Com
                                    | LdsFile::Sod
                                    | LdsFile::Dg(_)
                                    | LdsFile::CardAccess
                                    | LdsFile::CardSecurity
                            )
                        })
                        .collect();
                    for &file in &files {
                        // live, every refusal
                        for r in REFUSALS {
                            let mut p = profile.clone();
                            p.faults.push(fault(file, r));
                            *cells.lock().unwrap() += 1;
                            let cell = format!("{} {} {r:?} live", name(path), file.name());
                            match live(p, &store) {
                                None => {}
                                Some(rep)
                                    if rep.verdict == Verdict::Valid
                                        && (exempt(&profile, file, r) || not_asked(&complete, file)) =>
                                {
                                    exempted.lock().unwrap().push(cell);
                                }
                                Some(rep) if rep.verdict == Verdict::Valid => {
                                    failures.lock().unwrap().push(format!("{cell}: VALID"))
                                }
                                Some(rep) if rank(rep.verdict) > rank(complete.verdict) => failures
                                    .lock()
                                    .unwrap()
                                    .push(format!("{cell}: {:?} better than complete", rep.verdict)),
                                Some(_) => {}
                            }
                        }
                        // a dump with that file deleted
                        let mut d = dump.clone();
                        d.files.remove(&file);
                        *cells.lock().unwrap() += 1;
                        let v = offline(&d, &store).verdict;
                        if v == Verdict::Valid || rank(v) > rank(complete_offline) {
                            failures.lock().unwrap().push(format!(
                                "{} {} deleted from the dump: {v:?} (complete dump {complete_offline:?})",
                                name(path),
                                file.name()
                            ));
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let exempted = exempted.into_inner().unwrap();
    let cells = cells.into_inner().unwrap();
    eprintln!("{cells} cells; exempt (6A82 for a file nothing requires): {exempted:#?}");
    assert!(cells > 500, "only {cells} cells ran");
    assert!(
        failures.is_empty(),
        "{} cells improved the verdict:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn booklet(file: &str) -> Profile {
    Profile::load(&root().join("booklets").join(file)).unwrap()
}

fn live_with(profile: Profile, store: &TrustStore, bac: bool) -> Option<Report> {
    let password = key_of(&profile);
    let options = LiveOptions {
        read: ReadOptions {
            access: if bac {
                emrtd::reader::AccessChoice::Bac
            } else {
                emrtd::reader::AccessChoice::Auto
            },
            eac: eac_of(&profile),
            ..ReadOptions::default()
        },
        at: AT,
        no_aa: false,
        no_ca: false,
        bac_requested: bac,
        source: "test".into(),
    };
    let mut rng = OsRandom;
    read_and_verify(
        Emulator::new(profile),
        &password,
        &options,
        Some(store),
        &mut rng,
        &mut NoProgress,
        None,
    )
    .ok()
    .map(|v| v.report)
}

fn status_of<'r>(r: &'r Report, id: &str) -> Option<&'r str> {
    r.checks.iter().find(|c| c.id == id).map(|c| c.status.name())
}

/// The clone of the issue: a cloner's AA and CA keys, DG14 and DG15 refused, no
/// EF.CardSecurity — INVALID with every refusal status, with PACE and with BAC.
#[test]
fn a_clone_hiding_dg14_and_dg15_is_invalid_whatever_it_answers() {
    let store = store();
    let clone = booklet("forged-clone-hides-dg14-dg15.toml");
    for r in REFUSALS {
        let Refusal::Status(_) = r else { continue };
        for bac in [false, true] {
            let mut p = clone.clone();
            p.faults.clear();
            p.faults.push(fault(LdsFile::Dg(14), r));
            p.faults.push(fault(LdsFile::Dg(15), r));
            let rep = live_with(p, &store, bac).unwrap_or_else(|| panic!("{r:?} bac={bac}: read failed"));
            assert_eq!(rep.verdict, Verdict::Invalid, "{r:?} bac={bac}: {rep:#?}");
            for id in ["pa.dg_hash.DG14", "pa.dg_hash.DG15", "aa", "ca"] {
                assert_eq!(status_of(&rep, id), Some("fail"), "{r:?} bac={bac}: {id}");
            }
        }
    }
}

/// A chip that refuses the face: INVALID with every refusal status.
#[test]
fn a_chip_refusing_the_face_is_invalid_whatever_it_answers() {
    let store = store();
    let ref1 = booklet("ref1.toml");
    for r in REFUSALS {
        let Refusal::Status(_) = r else { continue };
        let mut p = ref1.clone();
        p.faults.push(fault(LdsFile::Dg(2), r));
        let rep = live_with(p, &store, false).unwrap_or_else(|| panic!("{r:?}: read failed"));
        assert_eq!(rep.verdict, Verdict::Invalid, "{r:?}: {rep:#?}");
        assert_eq!(status_of(&rep, "pa.dg_hash.DG2"), Some("fail"), "{r:?}");
    }
}

/// The REF-1 dump is INDETERMINATE (AA and CA need the chip); with DG14, DG15 and
/// EF.CardSecurity deleted it is still INDETERMINATE, never VALID — also when
/// manifest.json is deleted with them.
#[test]
fn ref1_dump_without_its_key_files_is_not_valid() {
    let store = store();
    let dump = complete_dump(&booklet("ref1.toml"));
    assert_eq!(offline(&dump, &store).verdict, Verdict::Indeterminate);
    let mut d = dump.clone();
    for f in [LdsFile::Dg(14), LdsFile::Dg(15), LdsFile::CardSecurity] {
        d.files.remove(&f);
    }
    let r = offline(&d, &store);
    assert_eq!(r.verdict, Verdict::Indeterminate, "{r:#?}");
    assert_eq!(status_of(&r, "dump.integrity"), Some("indeterminate"));
    assert_eq!(status_of(&r, "pa.dg_hash.DG14"), Some("indeterminate"));
    assert_eq!(status_of(&r, "pa.dg_hash.DG15"), Some("indeterminate"));
    // without the manifest: the signed EF.SOD still lists DG14 and DG15
    let mut bare = d.clone();
    bare.manifest = emrtd::reader::Manifest::new("directory".into(), &[]);
    bare.manifest.time = String::new();
    let r = offline(&bare, &store);
    assert_eq!(r.verdict, Verdict::Indeterminate, "{r:#?}");
    assert!(
        r.because.iter().any(|b| b == "aa") && r.because.iter().any(|b| b == "ca"),
        "{:?}",
        r.because
    );
}

/// `ca-in-card-security.toml` with a DG14 that announces Chip Authentication
/// (ChipAuthenticationInfo, id-CA-ECDH-AES-CBC-CMAC-128 v1, beside the PACEInfo) while
/// only EF.CardSecurity holds the key.
fn ca_announced_in_dg14() -> Profile {
    let text = "base = \"ca-in-card-security.toml\"\nname = \"ca-announced-in-dg14\"\n[files]\n\
                DG14 = { hex = \"6E273125300F060A04007F00070202030202020101\
                3012060A04007F0007020204020202010202010D\" }\n";
    Profile::parse(text, &root().join("booklets")).unwrap()
}

/// Signed data that announces Chip Authentication requires it, wherever the key is: a
/// chip whose signed DG14 lists a ChipAuthenticationInfo and that withholds
/// EF.CardSecurity (the only place of its key) is never VALID, live with any refusal or
/// as a dump without the file. Without the announcement the same chip would look like
/// one without Chip Authentication (the exempt cell of
/// `hiding_a_file_never_improves_the_verdict`).
#[test]
fn a_chip_withholding_the_card_security_that_dg14_announces_is_not_valid() {
    let store = store();
    let genuine = ca_announced_in_dg14();
    let complete = live(genuine.clone(), &store).expect("the genuine booklet reads");
    assert_eq!(complete.verdict, Verdict::Valid, "{complete:#?}");
    assert_eq!(status_of(&complete, "ca"), Some("pass"));
    for r in REFUSALS {
        let Refusal::Status(_) = r else { continue };
        let mut p = genuine.clone();
        p.faults.push(fault(LdsFile::CardSecurity, r));
        let rep = live(p, &store).unwrap_or_else(|| panic!("{r:?}: read failed"));
        assert_eq!(rep.verdict, Verdict::Invalid, "{r:?}: {rep:#?}");
        assert_eq!(status_of(&rep, "ca"), Some("fail"), "{r:?}");
    }
    let mut dump = complete_dump(&genuine);
    dump.files.remove(&LdsFile::CardSecurity);
    let r = offline(&dump, &store);
    assert_ne!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_ne!(status_of(&r, "ca"), Some("pass"));
}

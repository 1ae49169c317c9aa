//! Broken and hostile chips: every fault plan of `emulator::fault` through a real
//! [`Session`] over the in-process [`Emulator`], with the bac.toml booklet (and a PACE
//! one). Each plan must end in a clear error or a correct tolerant read — never a panic,
//! never a hang, never a wrong dump — and a randomized sweep checks the same over
//! random plans.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use emrtd::access::password::{MrzKey, Password};
use emrtd::apdu::StatusWord;
use emrtd::emulator::fault::{ApduFault, CommandFilter, ContentFault, Fault, When};
use emrtd::emulator::profile::{OversizeLe, ProfileToml};
use emrtd::emulator::{Emulator, Profile};
use emrtd::lds::LdsFile;
use emrtd::reader::engine::EngineError;
use emrtd::reader::{Budget, Dump, NoProgress, ReadError, ReadFailure, ReadOptions, Session};
use emrtd::rng::OsRandom;
use emrtd::sm::SmError;
use proptest::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn booklet(name: &str) -> Profile {
    Profile::load(&root().join("pkd-fixtures/booklets").join(name)).unwrap()
}

/// The BAC booklet without its EF.SOD: the faults below count the READ BINARYs of a
/// chip that has none (`bac_with_sod` adds an external one).
fn bac() -> Profile {
    let mut p = booklet("bac.toml");
    p.files.remove(&LdsFile::Sod);
    p
}

/// The BAC booklet with a real EF.SOD (BSI 2008 test passport, external vector).
fn bac_with_sod() -> Profile {
    let mut p = bac();
    let sod = std::fs::read(root().join("test-vectors/lds/jmrtd_bsi2008/EF_SOD.bin")).unwrap();
    p.files.insert(LdsFile::Sod, sod);
    p
}

fn with(mut p: Profile, faults: Vec<Fault>) -> Profile {
    p.faults = faults;
    p
}

fn key_of(p: &Profile) -> Password {
    let mrz = emrtd::mrz::Mrz::parse(&p.mrz).unwrap();
    Password::Mrz(MrzKey::from_mrz(&mrz).unwrap())
}

/// What a read over a faulty chip gave.
struct Outcome {
    result: Result<Dump, ReadFailure>,
    /// The bytes the chip serves (content faults applied).
    served: BTreeMap<LdsFile, Vec<u8>>,
    /// APDUs the chip received.
    apdus: usize,
    elapsed: Duration,
}

impl Outcome {
    fn dump(self) -> Dump {
        match self.result {
            Ok(d) => {
                assert_exact(&d, &self.served);
                d
            }
            Err(e) => panic!("read failed: {} ({:?})", e.error, e.error),
        }
    }

    /// The read went on past `file`, which the chip did not deliver: its record in the
    /// manifest (the file itself is not in the dump).
    fn undelivered(self, file: LdsFile) -> emrtd::reader::AbsentRecord {
        let d = self.dump();
        assert!(!d.files.contains_key(&file), "{file} is in the dump");
        d.manifest
            .absent
            .iter()
            .find(|a| a.name == file.name())
            .unwrap_or_else(|| panic!("{file} not recorded as absent: {:?}", d.manifest.absent))
            .clone()
    }

    fn error(self) -> ReadError {
        match self.result {
            Ok(_) => panic!("the read succeeded"),
            Err(e) => {
                if let Some(p) = &e.partial {
                    assert_exact(p, &self.served);
                }
                e.error
            }
        }
    }
}

fn read_with(profile: Profile, options: ReadOptions) -> Outcome {
    let key = key_of(&profile);
    let mut emu = Emulator::new(profile);
    let served = emu.profile().files.clone();
    let mut rng = OsRandom;
    let t0 = Instant::now();
    let result = Session::new(&mut emu, key, options, &mut rng, None).run(&mut NoProgress);
    Outcome {
        result,
        served,
        apdus: emu.apdu_count(),
        elapsed: t0.elapsed(),
    }
}

fn read(profile: Profile) -> Outcome {
    read_with(profile, ReadOptions::default())
}

/// Every file of the document in the dump is byte for byte the chip's; every file of
/// the chip's application that is not in the dump is reported absent. (Files of the
/// master file are read in plain before access control: nothing authenticates them at
/// this stage, so a plain-phase fault may legitimately make EF.CardAccess unreadable.)
fn assert_exact(dump: &Dump, served: &BTreeMap<LdsFile, Vec<u8>>) {
    assert_exact_with(dump, served, false)
}

/// Whether a fault plan makes the chip send response data of its own invention
/// (overlong answers, data after a command that expects none). Such a chip may answer a
/// READ BINARY of a file it does not hold with bytes, as a cloner's chip could: the dump
/// then records those bytes as sent (verify's hash check judges them), so a file that is
/// not the chip's may appear in it. Files the chip does hold must still be exact.
fn fabricates(faults: &[Fault]) -> bool {
    faults.iter().any(|f| {
        matches!(
            f,
            Fault::Apdu {
                what: ApduFault::Overlong { .. } | ApduFault::UnexpectedData { .. },
                ..
            }
        )
    })
}

/// The part of a served file a reader can know is the file: all of it, except that a
/// BER indefinite-length outer TLV ends at its end-of-contents marker. Composed content
/// faults can leave bytes after that marker (a claimed length over an indefinite
/// encoding, re-encoded indefinite); no command tells the reader they exist, and the
/// file's hash in EF.SOD, taken over all of them, then fails, so reading less cannot
/// make a verdict better.
fn read_extent(served: &[u8]) -> &[u8] {
    match emrtd::tlv::parse_header(served) {
        Ok(h) if h.value_len.is_none() => match emrtd::tlv::parse_ber(served) {
            Ok(t) => served.get(..t.raw.len()).unwrap_or(served),
            Err(_) => served,
        },
        _ => served,
    }
}

fn assert_exact_with(dump: &Dump, served: &BTreeMap<LdsFile, Vec<u8>>, fabricated: bool) {
    for (f, bytes) in &dump.files {
        if (f.in_master_file() || fabricated) && !served.contains_key(f) {
            continue;
        }
        let expected = served.get(f).map(|s| read_extent(s));
        let unended =
            dump.manifest.files.iter().any(|r| {
                r.name == f.name() && r.notes.iter().any(|n| n.contains("no end-of-contents marker"))
            });
        if unended && let Some(expected) = expected {
            // the chip ended an indefinite-length file (6B00, 6282) before its marker:
            // the dump holds what it sent and says the end was not found
            assert!(
                expected.starts_with(bytes),
                "{f} is not a prefix of the chip's file"
            );
            continue;
        }
        assert_eq!(
            Some(bytes.as_slice()),
            expected,
            "{f} differs from the chip's file"
        );
    }
    if dump.manifest.partial {
        return;
    }
    for f in served.keys().filter(|f| !f.in_master_file()) {
        let listed = dump.manifest.absent.iter().any(|a| a.name == f.name());
        // a file neither EF.COM nor EF.SOD names is not read at all
        let named = dump.files.contains_key(f) || listed;
        if dump.files.contains_key(&LdsFile::Com) && *f != LdsFile::Sod {
            let com = emrtd::lds::com::data_groups(&dump.files[&LdsFile::Com]);
            if com.contains(f) {
                assert!(named, "{f} is on the chip but neither dumped nor reported absent");
            }
        }
    }
}

fn recovery_kinds(d: &Dump) -> Vec<String> {
    d.manifest.recovery_log.iter().map(|r| r.kind.clone()).collect()
}

fn sm_source(e: &ReadError) -> Option<&SmError> {
    match e {
        ReadError::ChannelBroken { source, .. } | ReadError::TooManyRecoveries { last: source, .. } => {
            sm_source(source)
        }
        ReadError::Engine(EngineError::Apdu(a)) | ReadError::Apdu(a) => emrtd::sm::sm_error(a),
        _ => None,
    }
}

/// APDUs of a clean read of `p` (the reference for "bounded").
fn clean_apdus(p: &Profile) -> usize {
    read(with(p.clone(), vec![])).apdus
}

// ---------------------------------------------------------------------------------
// link faults

#[test]
fn card_removed_repeatedly_recovers_each_time() {
    let p = bac();
    // removed at APDU 20, 35 and 50: each time after some progress
    let d = read(with(
        p,
        vec![Fault::on(ApduFault::CardRemoved, When::at(20).times(3).every(15))],
    ))
    .dump();
    assert_eq!(d.manifest.recoveries, 3);
    assert_eq!(recovery_kinds(&d), ["link_loss"; 3]);
    assert!(d.manifest.recovery_log.iter().all(|r| r.error == "card removed"));
}

#[test]
fn card_removed_for_ever_gives_up_after_max_recoveries() {
    let e = read(with(
        bac(),
        vec![Fault::on(ApduFault::CardRemoved, When::from(20))],
    ))
    .error();
    let ReadError::TooManyRecoveries { recoveries, .. } = e else {
        panic!("{e:?}");
    };
    assert_eq!(recoveries, ReadOptions::default().max_recoveries);
}

#[test]
fn transient_error_is_recovered_as_link_loss() {
    for processed in [false, true] {
        let d = read(with(
            bac(),
            vec![Fault::on(ApduFault::TransientError { processed }, When::at(12))],
        ))
        .dump();
        assert_eq!(d.manifest.recoveries, 1, "processed = {processed}");
        assert_eq!(recovery_kinds(&d), ["link_loss"]);
        assert!(
            d.manifest.recovery_log[0]
                .error
                .starts_with("transmission failed")
        );
    }
}

#[test]
fn slow_chip_answers_within_budget_give_an_exact_dump() {
    let o = read(with(
        bac(),
        vec![Fault::on(ApduFault::Slow { ms: 2 }, When::from(0).to(10))],
    ));
    assert!(o.elapsed >= Duration::from_millis(20));
    let d = o.dump();
    assert_eq!(d.manifest.recoveries, 0);
}

#[test]
fn slow_chip_for_ever_hits_the_time_budget() {
    let options = ReadOptions {
        time_budget: Duration::from_millis(300),
        ..ReadOptions::default()
    };
    let o = read_with(
        with(bac(), vec![Fault::on(ApduFault::Slow { ms: 40 }, When::from(5))]),
        options,
    );
    // one APDU may start just before the budget runs out (slack for a loaded machine)
    assert!(
        o.elapsed < Duration::from_millis(300 + 40 + 1000),
        "{:?}",
        o.elapsed
    );
    let apdus = o.apdus;
    let e = o.error();
    let ReadError::BudgetExhausted {
        budget, apdus: sent, ..
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(
        *budget,
        Budget::Time {
            limit: Duration::from_millis(300)
        }
    );
    assert_eq!(*sent, apdus);
    assert!(e.to_string().contains("answers too slowly"), "{e}");
}

#[test]
fn apdu_budget_bounds_the_whole_session() {
    let options = ReadOptions {
        max_apdus: 40,
        ..ReadOptions::default()
    };
    let o = read_with(bac(), options);
    assert_eq!(o.apdus, 40);
    let e = o.error();
    assert!(
        matches!(
            e,
            ReadError::BudgetExhausted {
                budget: Budget::Apdus { limit: 40 },
                apdus: 40,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("gave up: the read used its budget of 40 APDUs"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------
// secure messaging faults

#[test]
fn wrong_mac_on_a_read_reauthenticates_and_never_yields_the_data() {
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::WrongMac,
            When::nth_read_of(LdsFile::Dg(2), 5),
        )],
    ))
    .dump();
    assert_eq!(d.manifest.recoveries, 1);
    let r = &d.manifest.recovery_log[0];
    assert_eq!(r.kind, "channel_broken");
    assert_eq!(r.file.as_deref(), Some("DG2"));
    // the fifth block (0-based) was refused: the read resumed where it stood
    assert_eq!(r.offset, 5 * 223);
    assert!(r.error.contains("MAC mismatch"), "{}", r.error);
}

#[test]
fn wrong_mac_for_ever_fails_after_one_reauthentication() {
    let p = bac();
    let o = read(with(
        p.clone(),
        vec![Fault::on(
            ApduFault::WrongMac,
            When::from(0)
                .command(CommandFilter::ReadBinary)
                .file(LdsFile::Dg(2)),
        )],
    ));
    assert!(o.apdus < 20, "{} APDUs: retried too often", o.apdus);
    let e = o.error();
    let ReadError::ChannelBroken { file, offset, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!((*file, *offset), (Some(LdsFile::Dg(2)), 0));
    assert!(
        matches!(sm_source(&e), Some(SmError::MacMismatch { .. })),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("broke reading DG2 at offset 0, and again right after re-authenticating")
    );
    assert!(e.hint().unwrap().contains("suspect"));
}

#[test]
fn wrong_ssc_reauthenticates() {
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::WrongSsc,
            When::nth(CommandFilter::ReadBinary, 3),
        )],
    ))
    .dump();
    assert_eq!(recovery_kinds(&d), ["channel_broken"]);
    assert!(d.manifest.recovery_log[0].error.contains("MAC mismatch"));
}

#[test]
fn wrong_ssc_for_ever_fails_clearly() {
    let e = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::WrongSsc,
            When::from(0).command(CommandFilter::ReadBinary),
        )],
    ))
    .error();
    assert!(matches!(e, ReadError::ChannelBroken { .. }), "{e:?}");
}

#[test]
fn plain_error_instead_of_the_protected_response_reauthenticates() {
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::PlainError {
                sw: StatusWord::SM_OBJECTS_INCORRECT,
            },
            When::nth_read_of(LdsFile::Dg(2), 2),
        )],
    ))
    .dump();
    assert_eq!(recovery_kinds(&d), ["channel_broken"]);
    assert!(
        d.manifest.recovery_log[0]
            .error
            .contains("ended secure messaging")
    );
}

#[test]
fn plain_denial_of_a_file_is_recorded_absent_and_the_read_goes_on() {
    // a chip that denies DG1 with a plain 6982, ending secure messaging, every time
    let o = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::PlainError {
                sw: StatusWord::SECURITY_NOT_SATISFIED,
            },
            When::from(0)
                .command(CommandFilter::ReadBinary)
                .file(LdsFile::Dg(1)),
        )],
    ));
    let served = o.served.clone();
    let d = o.result.unwrap();
    let a = d.manifest.absent.iter().find(|a| a.name == "DG1").unwrap();
    assert_eq!(a.sw, "6982");
    assert!(a.meaning.contains("without secure messaging"), "{}", a.meaning);
    assert!(!d.files.contains_key(&LdsFile::Dg(1)));
    assert_eq!(d.files[&LdsFile::Dg(2)], served[&LdsFile::Dg(2)]);
    // one retry of DG1, one re-authentication before DG2
    assert_eq!(d.manifest.recoveries, 2);
}

// ---------------------------------------------------------------------------------
// GET RESPONSE, Le and sizes

#[test]
fn get_response_pieces_of_every_protected_response() {
    let p = bac();
    let clean = clean_apdus(&p);
    let o = read(with(
        p,
        vec![Fault::on(
            ApduFault::GetResponse { first: 0, chunk: 64 },
            When::from(0),
        )],
    ));
    assert!(o.apdus > 3 * clean, "{} vs {clean}", o.apdus);
    let d = o.dump();
    assert_eq!(d.manifest.recoveries, 0);
}

#[test]
fn get_response_with_data_in_the_first_answer() {
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::GetResponse {
                first: 17,
                chunk: 256,
            },
            When::from(0),
        )],
    ))
    .dump();
    assert_eq!(d.manifest.recoveries, 0);
}

#[test]
fn endless_61xx_once_is_recovered() {
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::EndlessGetResponse,
            When::nth_read_of(LdsFile::Dg(2), 1),
        )],
    ))
    .dump();
    assert_eq!(recovery_kinds(&d), ["channel_broken"]);
    assert!(d.manifest.recovery_log[0].error.contains("61xx"));
}

#[test]
fn endless_61xx_always_ends_bounded() {
    let o = read(with(
        bac(),
        vec![Fault::on(ApduFault::EndlessGetResponse, When::from(8))],
    ));
    // the first attempt and the one after re-authenticating each stop at the bound
    let bound = 2 * (emrtd::apdu::MAX_GET_RESPONSE + 1) + 20;
    assert!(o.apdus < bound, "{} APDUs (bound {bound})", o.apdus);
    let e = o.error();
    assert!(matches!(e, ReadError::ChannelBroken { .. }), "{e:?}");
    assert!(e.to_string().contains("again right after re-authenticating"));
}

#[test]
fn le_6cxx_retry_under_sm() {
    let mut p = bac();
    p.chip.oversize_le = OversizeLe::CorrectLe;
    let reference = read(bac()).dump();
    let d = read(p).dump();
    assert_eq!(d.files, reference.files);
    assert_eq!(d.manifest.recoveries, 0);
    let dg2 = d.manifest.files.iter().find(|f| f.name == "DG2").unwrap();
    assert_eq!(dg2.read_size, Some(223));
    // one 6Cxx costs what one 6700 costs: one extra command
    assert_eq!(d.manifest.read_apdus, reference.manifest.read_apdus);
}

#[test]
fn chip_truncating_oversized_le_still_reads_exactly() {
    let mut p = bac();
    p.chip.oversize_le = OversizeLe::Truncate;
    let d = read(p).dump();
    assert_eq!(
        d.manifest
            .files
            .iter()
            .find(|f| f.name == "DG2")
            .unwrap()
            .read_size,
        Some(223)
    );
}

#[test]
fn max_read_below_extended_le_and_no_extended_keep_working() {
    let mut p = bac();
    p.chip.extended_length = true;
    p.chip.max_read = 1000;
    let d = read(p.clone()).dump();
    assert!(d.manifest.extended_length);
    let dg2 = d.manifest.files.iter().find(|f| f.name == "DG2").unwrap();
    assert_eq!(dg2.read_size, Some(1000));
    let d = read_with(
        p,
        ReadOptions {
            no_extended: true,
            ..ReadOptions::default()
        },
    )
    .dump();
    assert!(!d.manifest.extended_length);
}

// ---------------------------------------------------------------------------------
// garbage

#[test]
fn garbage_answers_recover_once() {
    for len in [0usize, 1, 16, 300] {
        let d = read(with(
            bac(),
            vec![Fault::on(
                ApduFault::Garbage { len, seed: 7 },
                When::nth_read_of(LdsFile::Dg(2), 3),
            )],
        ))
        .dump();
        assert_eq!(recovery_kinds(&d), ["channel_broken"], "len {len}");
    }
}

#[test]
fn garbage_for_ever_ends_clearly() {
    for len in [0usize, 1, 40] {
        let o = read(with(
            bac(),
            vec![Fault::on(ApduFault::Garbage { len, seed: 1 }, When::from(8))],
        ));
        assert!(o.apdus < 40, "len {len}: {} APDUs", o.apdus);
        let e = o.error();
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn sw_9000_with_trailing_bytes_is_recovered() {
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::Trailing {
                data: vec![0x90, 0x00],
            },
            When::nth_read_of(LdsFile::Dg(2), 0),
        )],
    ))
    .dump();
    assert_eq!(recovery_kinds(&d), ["channel_broken"]);
}

#[test]
fn response_longer_than_le_is_cut_to_le() {
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::Overlong { extra: 9 },
            When::from(0)
                .command(CommandFilter::ReadBinary)
                .file(LdsFile::Dg(2)),
        )],
    ))
    .dump();
    assert_eq!(d.manifest.recoveries, 0);
    let dg2 = d.manifest.files.iter().find(|f| f.name == "DG2").unwrap();
    assert!(dg2.notes.iter().all(|n| n.contains("the excess was discarded")));
    assert_eq!(dg2.notes.len(), dg2.apdus);
}

#[test]
fn data_where_none_is_expected_is_ignored() {
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::UnexpectedData {
                data: vec![0x6F, 0x03, 1, 2, 3],
            },
            When::from(0),
        )],
    ))
    .dump();
    assert_eq!(d.manifest.recoveries, 0);
}

#[test]
fn end_of_file_before_the_tlv_length_is_an_error_not_a_short_file() {
    // the file is recorded as not delivered (verify fails it) and the read goes on
    let a = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::Status {
                sw: StatusWord::END_OF_FILE,
            },
            When::nth_read_of(LdsFile::Dg(2), 4),
        )],
    ))
    .undelivered(LdsFile::Dg(2));
    assert!(
        a.meaning.contains(&format!("after {} bytes", 5 * 223)) && a.meaning.contains("claims 15083"),
        "{a:?}"
    );
}

#[test]
fn end_of_file_at_the_first_byte_reports_the_file_unavailable() {
    // the fourth READ BINARY is EF.SOD's (after EF.CardAccess, EF.COM's refused 256 and 223),
    // which this chip does not have: 6282 instead of 6A82, without data
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::Status {
                sw: StatusWord::END_OF_FILE,
            },
            When::nth(CommandFilter::ReadBinary, 3),
        )],
    ))
    .dump();
    assert!(
        !d.files.contains_key(&LdsFile::Sod),
        "no empty EF.SOD in the dump"
    );
    let a = d.manifest.absent.iter().find(|a| a.name == "EF.SOD").unwrap();
    assert_eq!(a.sw, "6282");
    // with data, 6282 is how chips end a file shorter than Le: DG1 reads as usual
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::Status {
                sw: StatusWord::END_OF_FILE,
            },
            When::nth_read_of(LdsFile::Dg(1), 0),
        )],
    ))
    .dump();
    assert!(d.files.contains_key(&LdsFile::Dg(1)));
}

#[test]
fn empty_success_at_the_first_byte_is_not_believed() {
    // the chip answers 9000 without data (instead of 6700) to the first, oversized
    // READ BINARY of EF.COM: a smaller one is tried before the file is taken as empty
    let d = read(with(
        bac(),
        vec![Fault::on(
            ApduFault::Status { sw: StatusWord::OK },
            When::nth_read_of(LdsFile::Com, 0),
        )],
    ))
    .dump();
    assert!(!d.files[&LdsFile::Com].is_empty());
    let com = d.manifest.files.iter().find(|f| f.name == "EF.COM").unwrap();
    assert_eq!(com.apdus, 2);
}

// ---------------------------------------------------------------------------------
// hostile content

#[test]
fn claimed_length_0x7fffffff_is_refused_quickly() {
    let p = bac();
    let a = read(with(
        p,
        vec![Fault::content(
            LdsFile::Dg(2),
            ContentFault::ClaimedLength { length: 0x7FFF_FFFF },
        )],
    ))
    .undelivered(LdsFile::Dg(2));
    assert!(
        a.meaning
            .contains(&format!("claims {} bytes", 0x7FFF_FFFFu64 + 6)),
        "{a:?}"
    );
}

#[test]
fn claimed_length_4gb_is_refused_quickly() {
    let o = read(with(
        bac(),
        vec![Fault::content(
            LdsFile::Dg(2),
            ContentFault::ClaimedLength { length: 1 << 32 },
        )],
    ));
    let apdus = o.apdus;
    let a = o.undelivered(LdsFile::Dg(2));
    assert!(
        a.meaning.contains(&format!("claims {} bytes", 1u64 << 32)),
        "{a:?}"
    );
    // refused at the first block of DG2, before anything more of it was asked for
    assert!(apdus <= clean_apdus(&bac()) - 15083 / 223 + 2, "{apdus}");
}

#[test]
fn tlv_length_beyond_the_file_ends_with_a_clear_error() {
    let o = read(with(
        bac(),
        vec![Fault::content(
            LdsFile::Dg(2),
            ContentFault::ClaimedLength { length: 20_000 },
        )],
    ));
    let apdus = o.apdus;
    let a = o.undelivered(LdsFile::Dg(2));
    assert!(apdus < clean_apdus(&bac()) + 5);
    assert!(a.meaning.contains("TLV header claims"), "{a:?}");
}

#[test]
fn bytes_after_the_end_of_contents_marker_are_not_part_of_the_file() {
    // proptest found this composition: indefinite, a claimed length past the end, and
    // indefinite again leave `61 80 … 00 00 00 00` on the chip. The outer TLV ends at
    // the first marker; the reader stops there and says the length was indefinite.
    let faults = vec![
        Fault::content(LdsFile::Dg(1), ContentFault::IndefiniteLength),
        Fault::content(LdsFile::Dg(1), ContentFault::ClaimedLength { length: 20_000 }),
        Fault::content(LdsFile::Dg(1), ContentFault::IndefiniteLength),
    ];
    let o = read(with(bac(), faults));
    let served = o.served[&LdsFile::Dg(1)].clone();
    assert_eq!(&served[served.len() - 4..], &[0, 0, 0, 0]);
    let d = o.dump();
    assert_eq!(d.files[&LdsFile::Dg(1)], served[..served.len() - 2]);
    let rec = d.manifest.files.iter().find(|f| f.name == "DG1").unwrap();
    assert_eq!(
        rec.notes,
        [
            "indefinite-length outer TLV",
            "trimmed 2 byte(s) past the TLV length"
        ]
    );
}

#[test]
fn a_chip_that_always_asks_for_another_le_is_given_up_on() {
    // every answer from the fifth command on is "wrong Le, use DF"
    let o = read_with(
        with(
            bac(),
            vec![Fault::on(
                ApduFault::Status {
                    sw: StatusWord(0x6CDF),
                },
                When::from(5),
            )],
        ),
        ReadOptions {
            max_apdus: SWEEP_BUDGET,
            ..ReadOptions::default()
        },
    );
    assert!(o.apdus < 200, "{} APDUs", o.apdus);
    let d = o.dump();
    assert!(d.files.is_empty());
    let com = d.manifest.absent.iter().find(|a| a.name == "EF.COM").unwrap();
    assert_eq!(com.sw, "6CDF");
}

#[test]
fn ber_indefinite_sod_read_completely() {
    let profile = with(
        bac_with_sod(),
        vec![Fault::content(LdsFile::Sod, ContentFault::IndefiniteLength)],
    );
    let o = read(profile.clone());
    let sod = o.served[&LdsFile::Sod].clone();
    assert_eq!(&sod[..2], &[0x77, 0x80]);
    assert_eq!(&sod[sod.len() - 2..], &[0, 0]);
    let d = o.dump();
    assert_eq!(d.files[&LdsFile::Sod], sod);
    let rec = d.manifest.files.iter().find(|f| f.name == "EF.SOD").unwrap();
    assert_eq!(rec.notes, ["indefinite-length outer TLV"]);
    // 1076 + 2 bytes in 223-byte blocks after the 256-byte try refused on EF.COM:
    // the end-of-contents marker ends the read, no extra command to find the end
    assert_eq!(rec.apdus, (sod.len()).div_ceil(223));
    // the SOD names DG3 and DG14 too: absent on this chip, reported so
    assert!(d.manifest.absent.iter().any(|a| a.name == "DG14"));
}

#[test]
fn ber_indefinite_sod_on_chips_that_return_less_than_asked() {
    // a chip that answers short reads (Truncate at 200) and one with extended length
    let mut capped = bac_with_sod();
    capped.chip.oversize_le = OversizeLe::Truncate;
    capped.chip.max_read = 200;
    let mut extended = bac_with_sod();
    extended.chip.extended_length = true;
    extended.chip.max_read = 65536;
    let mut exact_multiple = bac_with_sod();
    exact_multiple.chip.max_read = 1078 / 2;
    exact_multiple.chip.extended_length = true;
    for p in [capped, extended, exact_multiple] {
        let o = read(with(
            p,
            vec![Fault::content(LdsFile::Sod, ContentFault::IndefiniteLength)],
        ));
        let sod = o.served[&LdsFile::Sod].clone();
        let d = o.dump();
        assert_eq!(d.files[&LdsFile::Sod], sod);
    }
}

#[test]
fn indefinite_length_without_end_of_contents_is_read_to_the_end_of_the_file() {
    let mut p = bac();
    // 77 80 then content that never closes: the chip's bytes are the dump
    let mut sod = vec![0x77, 0x80, 0x30, 0x80];
    sod.extend(std::iter::repeat_n(0x04, 600));
    p.files.insert(LdsFile::Sod, sod.clone());
    let d = read(p).dump();
    assert_eq!(d.files[&LdsFile::Sod], sod);
    let rec = d.manifest.files.iter().find(|f| f.name == "EF.SOD").unwrap();
    assert!(rec.notes.iter().any(|n| n.contains("no end-of-contents marker")));
}

// ---------------------------------------------------------------------------------
// PACE and TOML

#[test]
fn pace_session_broken_by_a_wrong_mac_reauthenticates_with_pace() {
    let p = booklet("pace-ecdh-im-bp256-aes128.toml");
    let d = read(with(
        p,
        vec![Fault::on(
            ApduFault::WrongMac,
            When::nth_read_of(LdsFile::Dg(1), 0),
        )],
    ))
    .dump();
    assert_eq!(recovery_kinds(&d), ["channel_broken"]);
    assert_eq!(d.manifest.access.as_ref().unwrap().protocol, "PACE");
}

#[test]
fn pace_get_response_and_6cxx_under_aes_sm() {
    let mut p = booklet("pace-ecdh-gm-bp384-aes256.toml");
    p.chip.extended_length = false;
    p.chip.max_read = 200;
    p.chip.oversize_le = OversizeLe::CorrectLe;
    let d = read(with(
        p,
        vec![Fault::on(
            ApduFault::GetResponse { first: 5, chunk: 100 },
            When::from(0),
        )],
    ))
    .dump();
    assert_eq!(d.manifest.recoveries, 0);
}

#[test]
fn fault_plans_from_toml() {
    let text = std::fs::read_to_string(root().join("pkd-fixtures/booklets/bac.toml")).unwrap()
        + r#"
[[faults]]
kind = "card_removed"
at = 30

[[faults]]
kind = "wrong_mac"
command = "read_binary"
file = "DG2"
nth = 10

[[faults]]
kind = "get_response"
chunk = 128
from = 0

[[faults]]
kind = "slow"
ms = 1
from = 0
to = 5
"#;
    let raw: ProfileToml = toml::from_str(&text).unwrap();
    let p = Profile::from_toml(raw, &root().join("pkd-fixtures/booklets")).unwrap();
    assert_eq!(p.faults.len(), 4);
    assert_eq!(p.faults[0], Fault::CardRemoved { at: 30 });
    let d = read(p).dump();
    assert_eq!(recovery_kinds(&d), ["link_loss", "channel_broken"]);
}

#[test]
fn toml_content_fault_on_a_missing_file_is_refused() {
    let text = std::fs::read_to_string(root().join("pkd-fixtures/booklets/bac.toml")).unwrap()
        + "\n[[faults]]\nkind = \"indefinite_length\"\nfile = \"DG7\"\n";
    let raw: ProfileToml = toml::from_str(&text).unwrap();
    let e = Profile::from_toml(raw, &root().join("pkd-fixtures/booklets")).unwrap_err();
    let chain = format!("{e}: {}", std::error::Error::source(&e).unwrap());
    assert!(chain.contains("DG7 is not in the profile"), "{chain}");
}

// ---------------------------------------------------------------------------------
// randomized sweep

fn status_word() -> impl Strategy<Value = StatusWord> {
    prop_oneof![
        prop::sample::select(vec![
            0x6282u16, 0x6700, 0x6A82, 0x6982, 0x6B00, 0x6CDF, 0x6C00, 0x6C01, 0x6100, 0x6110, 0x6988,
            0x6F00, 0x6300, 0x6D00, 0x6A86,
        ])
        .prop_map(StatusWord),
        any::<u16>()
            .prop_filter("9000 is the chip lying under its own MAC", |w| *w != 0x9000)
            .prop_map(StatusWord),
    ]
}

fn apdu_fault() -> impl Strategy<Value = ApduFault> {
    prop_oneof![
        Just(ApduFault::CardRemoved),
        any::<bool>().prop_map(|processed| ApduFault::TransientError { processed }),
        (0u64..2).prop_map(|ms| ApduFault::Slow { ms }),
        Just(ApduFault::WrongMac),
        Just(ApduFault::WrongSsc),
        status_word().prop_map(|sw| ApduFault::PlainError { sw }),
        status_word().prop_map(|sw| ApduFault::Status { sw }),
        (1usize..40).prop_map(|extra| ApduFault::Overlong { extra }),
        prop::collection::vec(any::<u8>(), 1..8).prop_map(|data| ApduFault::UnexpectedData { data }),
        prop::collection::vec(any::<u8>(), 1..4).prop_map(|data| ApduFault::Trailing { data }),
        (0usize..40, any::<u64>()).prop_map(|(len, seed)| ApduFault::Garbage { len, seed }),
        (0usize..300, 1usize..=256).prop_map(|(first, chunk)| ApduFault::GetResponse { first, chunk }),
        Just(ApduFault::EndlessGetResponse),
    ]
}

fn file() -> impl Strategy<Value = LdsFile> {
    prop::sample::select(vec![LdsFile::Com, LdsFile::Sod, LdsFile::Dg(1), LdsFile::Dg(2)])
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        (0usize..90).prop_map(When::at),
        (0usize..90, 1usize..4, 1usize..20).prop_map(|(a, t, e)| When::at(a).times(t).every(e)),
        (0usize..90).prop_map(When::from),
        (0usize..90, 2usize..30).prop_map(|(a, e)| When::from(a).every(e)),
        (0usize..70, file()).prop_map(|(n, f)| When::nth_read_of(f, n)),
        (0usize..70).prop_map(|n| When::nth(CommandFilter::ReadBinary, n)),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        8 => (apdu_fault(), when()).prop_map(|(w, t)| Fault::on(w, t)),
        1 => (file(), prop::sample::select(vec![0u64, 1, 200, 20_000, 0x7FFF_FFFF, 1 << 32, u64::MAX]))
            .prop_map(|(f, extra)| (f, extra)).prop_map(|(f, extra)| {
                // a claim at or beyond the real length (a shorter one is trimming, tested apart)
                Fault::content(f, ContentFault::ClaimedLength { length: 20_000u64.saturating_add(extra) })
            }),
        1 => file().prop_map(|f| Fault::content(f, ContentFault::IndefiniteLength)),
    ]
}

const SWEEP_BUDGET: usize = 3_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_fault_plans_end_cleanly(faults in prop::collection::vec(fault(), 1..4), with_sod in any::<bool>()) {
        let base = if with_sod { bac_with_sod() } else { bac() };
        let options = ReadOptions { max_apdus: SWEEP_BUDGET, ..ReadOptions::default() };
        let fabricated = fabricates(&faults);
        let o = read_with(with(base, faults), options);
        prop_assert!(o.apdus <= SWEEP_BUDGET, "{} APDUs", o.apdus);
        prop_assert!(o.elapsed < Duration::from_secs(20));
        match &o.result {
            Ok(d) => assert_exact_with(d, &o.served, fabricated),
            Err(f) => {
                prop_assert!(!f.error.to_string().is_empty());
                // the reader's own bounds (per-file command caps, recoveries, a channel
                // that breaks twice) stop every plan long before the session budget
                prop_assert!(!matches!(f.error, ReadError::BudgetExhausted { .. }), "{:?}", f.error);
                if let Some(p) = &f.partial {
                    prop_assert!(p.manifest.partial);
                    assert_exact_with(p, &o.served, fabricated);
                }
            }
        }
    }
}

#[test]
fn random_fault_plans_on_a_pace_chip_end_cleanly() {
    // fewer cases: every PACE run does elliptic-curve work
    let base = booklet("pace-ecdh-gm-p256-3des.toml");
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    runner
        .run(&prop::collection::vec(fault(), 1..3), |faults| {
            let options = ReadOptions {
                max_apdus: SWEEP_BUDGET,
                ..ReadOptions::default()
            };
            let fabricated = fabricates(&faults);
            let o = read_with(with(base.clone(), faults), options);
            prop_assert!(o.apdus <= SWEEP_BUDGET);
            if let Ok(d) = &o.result {
                assert_exact_with(d, &o.served, fabricated);
            }
            Ok(())
        })
        .unwrap();
}

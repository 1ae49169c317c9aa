//! The emulated passport as a card in a real PC/SC stack: pcscd with the vsmartcard
//! vpcd driver, `emrtd emulate` as the card, and `emrtd read --reader`, `emrtd
//! readers`, opensc-tool and an independent Python BAC/SM implementation
//! (scripts/pyscard_bac.py) as clients. No mocks: every APDU crosses pcscd.
//!
//! When pcscd cannot run here the tests print `SKIPPED: pcscd unavailable: …` on
//! stderr; with `$EMRTD_REQUIRE_PCSCD` set (CI, `make test`) that is a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use emrtd::emulator::Profile;
use emrtd::lds::LdsFile;
use support::{Emulate, Pcscd, emrtd, root};

const T: Duration = Duration::from_secs(60);

fn bac_toml() -> PathBuf {
    root().join("pkd-fixtures/booklets/bac.toml")
}

/// pcscd up, a free virtual reader, the tests serialised. `None` = skipped loudly.
struct Stack {
    pcscd: Pcscd,
    slot: (&'static str, u16),
    // dropped last (fields drop in order): the next test waits until pcscd is stopped
    _serial: MutexGuard<'static, ()>,
}

impl Stack {
    fn up() -> Option<Stack> {
        let serial = support::serial();
        let pcscd = match Pcscd::start_or_reuse() {
            Ok(p) => p,
            Err(reason) => {
                support::skip(&reason);
                return None;
            }
        };
        let slot = support::free_slot().unwrap_or_else(|e| panic!("{e}"));
        Some(Stack {
            pcscd,
            slot,
            _serial: serial,
        })
    }

    fn reader(&self) -> &'static str {
        self.slot.0
    }

    fn dir(&self) -> &Path {
        self.pcscd.dir()
    }

    fn emulate(&self, profile: &Path, tag: &str) -> Emulate {
        Emulate::start(profile, self.slot, self.dir().join(format!("emulate-{tag}.log")))
    }

    /// The profile's MRZ in a file (keeps it off the command line).
    fn mrz_file(&self, profile: &Path) -> PathBuf {
        let p = Profile::load(profile).unwrap();
        let path = self.dir().join("mrz.txt");
        std::fs::write(&path, format!("{}\n", p.mrz)).unwrap();
        path
    }
}

/// A copy of bac.toml in `dir` with each `(from, to)` replaced (each must occur),
/// the data and signing-key paths made absolute, and `extra` appended.
fn profile_copy(dir: &Path, name: &str, edits: &[(&str, &str)], extra: &str) -> PathBuf {
    let mut text = std::fs::read_to_string(bac_toml()).unwrap();
    let data = root().join("pkd-fixtures/booklets/data/specimen-dg2.bin");
    let keys = root().join("pkd-fixtures/keys");
    let mut all: Vec<(String, String)> = vec![
        (
            "\"data/specimen-dg2.bin\"".into(),
            format!("{:?}", data.display().to_string()),
        ),
        ("\"../keys/".into(), format!("\"{}/", keys.display())),
    ];
    all.extend(edits.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    for (from, to) in &all {
        assert!(
            text.contains(from.as_str()),
            "bac.toml no longer contains {from:?}"
        );
        text = text.replace(from.as_str(), to);
    }
    text.push('\n');
    text.push_str(extra);
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    Profile::load(&path).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `emrtd read --reader R --mrz-file F --out DIR --json [extra]`.
fn read_reader(stack: &Stack, mrz: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "read",
        "--reader",
        stack.reader(),
        "--mrz-file",
        s(mrz),
        "--out",
        s(out),
        "--json",
    ];
    args.extend_from_slice(extra);
    emrtd(&args, T)
}

/// `emrtd read --emulator PROFILE --out DIR --json [extra]` (in-process chip).
fn read_in_process_with(profile: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["read", "--emulator", s(profile), "--out", s(out), "--json"];
    args.extend_from_slice(extra);
    let o = emrtd(&args, T);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `emrtd read --emulator PROFILE --out DIR --json` with the profile's MRZ.
fn read_in_process(profile: &Path, out: &Path) -> serde_json::Value {
    read_in_process_with(profile, out, &[])
}

/// The dump's `.bin` files by name.
fn bins(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// A manifest without what legitimately differs between a reader and the in-process
/// chip: reader name, time, timings.
fn normalised(mut m: serde_json::Value) -> serde_json::Value {
    let o = m.as_object_mut().unwrap();
    for k in ["reader", "time", "total_ms", "modelled_ms"] {
        o.remove(k);
    }
    for f in o.get_mut("files").unwrap().as_array_mut().unwrap() {
        let f = f.as_object_mut().unwrap();
        f.remove("ms");
        f.remove("modelled_ms");
    }
    m
}

fn assert_same_dump(through_pcscd: (&Path, serde_json::Value), in_process: (&Path, serde_json::Value)) {
    let (a, b) = (bins(through_pcscd.0), bins(in_process.0));
    assert!(
        a.contains_key("DG2.bin") && a.contains_key("EF.COM.bin"),
        "{:?}",
        a.keys()
    );
    assert_eq!(a, b, "files differ between pcscd and in-process reads");
    assert_eq!(normalised(through_pcscd.1), normalised(in_process.1));
}

#[test]
fn read_through_pcscd_equals_in_process_read() {
    let Some(mut stack) = Stack::up() else { return };
    let chip_trace = stack.dir().join("emulate-trace.jsonl");
    let mut emu = Emulate::start_with(
        &bac_toml(),
        stack.slot,
        stack.dir().join("emulate-bac.log"),
        &["--trace", s(&chip_trace)],
    );
    // `readers --wait` returns at once when the card is there
    let o = emrtd(&["readers", "--wait", "10", "--reader", stack.reader()], T);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let listing = String::from_utf8_lossy(&o.stdout).into_owned();
    let atr = hex::encode_upper(Profile::load(&bac_toml()).unwrap().atr());
    assert!(
        listing.contains(&format!("{}  card present  ATR {atr}", stack.reader())),
        "{listing}"
    );

    let mrz = stack.mrz_file(&bac_toml());
    let out = stack.dir().join("via-pcscd");
    let trace = stack.dir().join("trace.jsonl");
    let o = read_reader(&stack, &mrz, &out, &["--trace", s(&trace)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["reader"], stack.reader());
    assert_eq!(m["atr"], atr);
    assert_eq!(
        m["modelled_ms"],
        serde_json::Value::Null,
        "a real link has no model"
    );
    let reference = stack.dir().join("in-process");
    let r = read_in_process(&bac_toml(), &reference);
    assert_eq!(r["reader"], "emulator:BAC booklet");
    assert_same_dump((&out, m), (&reference, r));

    // the reader-side trace through pcscd is redacted
    let text = std::fs::read_to_string(&trace).unwrap();
    let p = Profile::load(&bac_toml()).unwrap();
    let line2 = p.mrz.lines().nth(1).unwrap();
    assert!(text.lines().count() > 70, "{} lines", text.lines().count());
    for needle in [
        hex::encode_upper(&line2.as_bytes()[..9]),
        hex::encode_upper(&p.files[&LdsFile::Dg(2)][100..116]),
        "UTB000135".to_string(),
    ] {
        assert!(!text.contains(&needle), "trace leaks personal data");
    }

    // SIGTERM: clean exit, one line when the card went in
    let status = emu.stop().expect("emrtd emulate did not stop on SIGTERM");
    assert!(status.success(), "{status}");
    let log = emu.stderr();
    assert_eq!(log.matches("inserted in the vpcd reader").count(), 1, "{log}");
    assert!(log.contains("emulator stopped"), "{log}");
    assert!(
        !log.contains("UTB000135") && !log.to_uppercase().contains("0CB0"),
        "{log}"
    );

    // without a card, --wait runs out: exit 2 and a clear message
    let o = emrtd(&["readers", "--wait", "1", "--reader", stack.reader()], T);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("no card in reader"), "{}", stderr_of(&o));

    // and without pcscd: exit 2 with the hint (only when the pcscd is ours to stop)
    if stack.pcscd.stop() {
        for args in [
            &["readers"][..],
            &["readers", "--json"],
            &["readers", "--wait", "1"],
        ] {
            let o = emrtd(args, T);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let err = stderr_of(&o);
            assert!(
                err.starts_with("emrtd: error: no PC/SC service — is pcscd running?"),
                "{err}"
            );
            assert!(err.contains("hint: "), "{err}");
        }
    } else {
        eprintln!("note: pcscd was already running; the no-service check needs a pcscd of our own");
    }
}

#[test]
fn extended_length_through_pcscd_reads_each_file_in_one_command() {
    let Some(stack) = Stack::up() else { return };
    let profile = profile_copy(
        stack.dir(),
        "extended.toml",
        &[
            ("extended_length = false", "extended_length = true"),
            ("max_read = 223", "max_read = 65536"),
        ],
        "",
    );
    let _emu = stack.emulate(&profile, "ext");
    let mrz = stack.mrz_file(&profile);
    let out = stack.dir().join("ext-via-pcscd");
    let o = read_reader(&stack, &mrz, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["extended_length"], true, "the ATR announces extended length");
    let files = m["files"].as_array().unwrap();
    for f in files {
        assert_eq!(f["apdus"], 1, "{} took {} commands", f["name"], f["apdus"]);
    }
    let dg2 = files.iter().find(|f| f["name"] == "DG2").unwrap();
    assert_eq!(
        dg2["size"], 15083,
        "DG2 in one extended READ BINARY through pcscd"
    );
    let reference = stack.dir().join("ext-in-process");
    let r = read_in_process(&profile, &reference);
    assert_same_dump((&out, m), (&reference, r));
}

#[test]
fn pace_booklets_through_pcscd_equal_in_process_reads() {
    let Some(stack) = Stack::up() else { return };
    let booklets = root().join("pkd-fixtures/booklets");
    // PACE with the CAN (an ID card without BAC), and PACE integrated mapping with
    // the MRZ: both with AES secure messaging and extended length through pcscd
    for (file, key) in [
        ("id-card-can.toml", Some("123456")),
        ("pace-ecdh-im-bp256-aes128.toml", None),
    ] {
        let profile = booklets.join(file);
        let mut emu = stack.emulate(&profile, file);
        let out = stack.dir().join(format!("{file}-via-pcscd"));
        let mrz = stack.mrz_file(&profile);
        let mut key_args: Vec<&str> = match key {
            Some(can) => vec!["--can", can],
            None => vec!["--mrz-file", s(&mrz)],
        };
        if file.contains("-im-") {
            // the booklet lists ECDH-GM beside ECDH-IM; ask for IM (AES-128) by its OID
            key_args.extend_from_slice(&["--pace-oid", "0.4.0.127.0.7.2.2.4.4.2"]);
        }
        let mut args = vec!["read", "--reader", stack.reader(), "--out", s(&out), "--json"];
        args.extend_from_slice(&key_args);
        let o = emrtd(&args, T);
        assert_eq!(o.status.code(), Some(0), "{file}: {}", stderr_of(&o));
        let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(m["access"]["protocol"], "PACE", "{file}");
        if file.contains("-im-") {
            assert_eq!(m["access"]["mapping"], "ECDH-IM", "{file}");
        }
        assert_eq!(m["extended_length"], true, "{file}");
        let reference = stack.dir().join(format!("{file}-in-process"));
        let r = read_in_process_with(&profile, &reference, &key_args);
        assert_same_dump((&out, m), (&reference, r));
        emu.stop();
    }
}

#[test]
fn wrong_mrz_through_pcscd_exits_2_with_hint() {
    let Some(stack) = Stack::up() else { return };
    let _emu = stack.emulate(&bac_toml(), "wrong-mrz");
    let out = stack.dir().join("wrong");
    let o = emrtd(
        &[
            "read",
            "--reader",
            stack.reader(),
            "--doc-number",
            "X1234567",
            "--birth",
            "900101",
            "--expiry",
            "300101",
            "--out",
            s(&out),
        ],
        T,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr_of(&o);
    assert!(err.starts_with("emrtd: error: "), "{err}");
    assert!(err.contains("hint: the MRZ is probably wrong"), "{err}");
    assert!(!out.join("manifest.json").exists());
}

fn opensc_tool(reader: &str, apdus: &[&str]) -> String {
    let mut args = vec!["-r", reader];
    for a in apdus {
        args.push("-s");
        args.push(a);
    }
    let o = Command::new("opensc-tool")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .expect("opensc-tool (Debian package opensc) is needed");
    assert!(
        o.status.success(),
        "opensc-tool: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The status words in opensc-tool's output, in order.
fn status_words(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("Received (SW1=0x"))
        .map(|r| format!("{}{}", &r[..2], &r[10..12]).to_uppercase())
        .collect()
}

#[test]
fn opensc_tool_sees_the_access_conditions() {
    let Some(stack) = Stack::up() else { return };
    // a booklet with an EF.CardAccess (a real Austrian one, from gmrtd's samples)
    let ca_path = root().join("test-vectors/lds/gmrtd_document_samples/EF_CardAccess_AT.bin");
    let card_access = std::fs::read(&ca_path).unwrap();
    let profile = profile_copy(
        stack.dir(),
        "with-card-access.toml",
        &[],
        &format!(
            "[files.\"EF.CardAccess\"]\nhex = \"{}\"\n",
            hex::encode_upper(&card_access)
        ),
    );
    let _emu = stack.emulate(&profile, "opensc");
    let out = opensc_tool(
        stack.reader(),
        &[
            "00A4040C07A0000002471001", // SELECT the eMRTD application: plain, allowed
            "00A4020C02011E",           // SELECT EF.COM: allowed
            "00B0000004",               // READ BINARY EF.COM in plain: refused
            "00B09E0004",               // by SFI: refused too
            "00A4000C023F00",           // back to the MF
            &format!("00B09C00{:02X}", card_access.len()), // EF.CardAccess by SFI: plain is fine
        ],
    );
    assert_eq!(
        status_words(&out),
        ["9000", "9000", "6982", "6982", "9000", "9000"],
        "{out}"
    );
    let printed = printed_data(&out);
    assert_eq!(printed, hex::encode_upper(&card_access), "{out}");
    // and opensc-tool lists the reader with a card
    let o = Command::new("opensc-tool").arg("-l").output().unwrap();
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(
        list.lines()
            .any(|l| l.contains("Yes") && l.ends_with(stack.reader())),
        "{list}"
    );
}

/// A chip with 2048-bit DH PACE announces extended length the way a terminal looks for
/// it: the ATR's historical bytes (card capabilities, third byte 60: extended Lc/Le and
/// their limits in EF.ATR/INFO) and EF.ATR/INFO itself (`47` with the same
/// capabilities, `7F66` with two-byte maxima), read in plain by `opensc-tool` through
/// pcscd before any access control (Doc 9303 Part 10 §3.11.2).
#[test]
fn dh_2048_booklet_announces_extended_length_through_pcscd() {
    let Some(stack) = Stack::up() else { return };
    let profile = root().join("pkd-fixtures/booklets/pace-dh-gm-2048-224-aes128.toml");
    let _emu = stack.emulate(&profile, "dh-2048");
    let o = Command::new("opensc-tool")
        .args(["-r", stack.reader(), "-a"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let atr: String = String::from_utf8_lossy(&o.stdout)
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_uppercase();
    assert!(atr.contains("8073000060"), "historical bytes in {atr}");
    // EF.ATR/INFO by short file identifier 01, in the MF, in plain
    let out = opensc_tool(stack.reader(), &["00B0810000"]);
    assert_eq!(status_words(&out), ["9000"], "{out}");
    let printed = printed_data(&out);
    let info = emrtd::lds::atr_info::AtrInfo::decode(&hex::decode(&printed).unwrap()).unwrap();
    assert_eq!(info.extended_length_supported(), Some(true), "{printed}");
    let e = info.extended_length.unwrap();
    // a 2048-bit DH GENERAL AUTHENTICATE (256-byte key, protected or not) fits
    assert!(e.max_command_apdu >= 512 && e.max_response_apdu >= 512, "{e:?}");
}

/// Debian's python3 (python3-pyscard and python3-cryptography live in its
/// dist-packages, which a python3 from pyenv or a venv does not see).
fn debian_python() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import smartcard, cryptography.hazmat.primitives.ciphers"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn pyscard_bac(python: &str, args: &[&str]) -> std::process::Output {
    Command::new(python)
        .arg(root().join("scripts/pyscard_bac.py"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn pyscard_script_matches_appendix_d() {
    let Some(python) = debian_python() else {
        support::skip_without(
            "python3-pyscard",
            "no python3 with pyscard and cryptography (Debian: python3-pyscard python3-cryptography)",
        );
        return;
    };
    let vectors = root().join("test-vectors/protocol/bac_sm_doc9303_appendix_d.json");
    let o = pyscard_bac(python, &["--selftest", s(&vectors)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["selftest"], "ok");
    assert!(v["checks"].as_array().unwrap().len() >= 15);
}

#[test]
fn independent_python_bac_reads_under_secure_messaging() {
    let Some(python) = debian_python() else {
        support::skip_without(
            "python3-pyscard",
            "no python3 with pyscard and cryptography (Debian: python3-pyscard python3-cryptography)",
        );
        return;
    };
    let Some(stack) = Stack::up() else { return };
    let _emu = stack.emulate(&bac_toml(), "pyscard");
    let mrz = stack.mrz_file(&bac_toml());
    let o = pyscard_bac(
        python,
        &[
            "--reader",
            stack.reader(),
            "--mrz-file",
            s(&mrz),
            "--files",
            "com,dg1,sod",
            "--check-mac-refusal",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = Profile::load(&bac_toml()).unwrap();
    assert_eq!(v["files"]["com"], hex::encode_upper(&p.files[&LdsFile::Com]));
    assert_eq!(v["files"]["dg1"], hex::encode_upper(&p.files[&LdsFile::Dg(1)]));
    // bac.toml is signed: the independent reader gets the same EF.SOD
    assert_eq!(v["files"]["sod"], hex::encode_upper(&p.files[&LdsFile::Sod]));
    let checks = v["checks"].to_string();
    assert!(checks.contains("wrong command MAC refused with 6988"), "{checks}");
}

#[test]
fn card_removed_fault_through_pcscd_recovers_with_identical_dump() {
    let Some(stack) = Stack::up() else { return };
    // APDU 20 is inside DG2: the card leaves the reader and comes back a second later
    let profile = profile_copy(
        stack.dir(),
        "removed.toml",
        &[],
        "[[faults]]\nkind = \"card_removed\"\nat = 20\n",
    );
    let emu = stack.emulate(&profile, "fault");
    let mrz = stack.mrz_file(&profile);
    let out = stack.dir().join("fault-via-pcscd");
    let o = read_reader(&stack, &mrz, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["recoveries"], 1);
    let log = &m["recovery_log"][0];
    assert_eq!(
        log["error"], "card removed",
        "surfaced as TransportError::CardRemoved"
    );
    assert_eq!(log["file"], "DG2");
    assert_eq!(m["partial"], false);
    let reference = stack.dir().join("fault-in-process");
    read_in_process(&bac_toml(), &reference);
    assert_eq!(bins(&out), bins(&reference));
    assert!(emu.stderr().contains("card inserted again"), "{}", emu.stderr());
}

/// bac.toml with a slow chip in real time (40 ms per APDU: DG2 takes ~2.7 s), so a
/// process can be killed in the middle of a read.
fn slow_profile(dir: &Path) -> PathBuf {
    profile_copy(
        dir,
        "slow.toml",
        &[],
        "[link]\nrealtime = true\nper_apdu_ms = 40.0\n",
    )
}

fn spawn_read(stack: &Stack, mrz: &Path, out: &Path) -> std::process::Child {
    Command::new(support::emrtd_bin())
        .args([
            "read",
            "--reader",
            stack.reader(),
            "--mrz-file",
            s(mrz),
            "--out",
            s(out),
            "--json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: std::process::Child, timeout: Duration) -> std::process::Output {
    let started = Instant::now();
    let id = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    while !waiter.is_finished() {
        if started.elapsed() > timeout {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(i32::try_from(id).unwrap()),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!("emrtd read did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    waiter.join().unwrap()
}

#[test]
fn emulator_killed_mid_read_and_started_again_recovers() {
    let Some(stack) = Stack::up() else { return };
    let profile = slow_profile(stack.dir());
    let mut emu = stack.emulate(&profile, "killed-1");
    let mrz = stack.mrz_file(&profile);
    let out = stack.dir().join("killed-then-back");
    let read = spawn_read(&stack, &mrz, &out);
    std::thread::sleep(Duration::from_millis(1000)); // inside DG2
    emu.kill();
    std::thread::sleep(Duration::from_millis(1500));
    let _emu2 = stack.emulate(&profile, "killed-2");
    let o = finish(read, T);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(m["recoveries"].as_u64().unwrap() >= 1, "{m}");
    assert_eq!(m["recovery_log"][0]["error"], "card removed");
    let reference = stack.dir().join("killed-in-process");
    read_in_process(&bac_toml(), &reference);
    assert_eq!(bins(&out), bins(&reference));
}

#[test]
fn emulator_killed_mid_read_for_good_leaves_a_partial_dump() {
    let Some(stack) = Stack::up() else { return };
    let profile = slow_profile(stack.dir());
    let mut emu = stack.emulate(&profile, "killed-for-good");
    let mrz = stack.mrz_file(&profile);
    let out = stack.dir().join("killed-for-good");
    let read = spawn_read(&stack, &mrz, &out);
    std::thread::sleep(Duration::from_millis(1000)); // inside DG2
    emu.kill();
    // the reader waits 15 s for the card to come back, then gives up
    let o = finish(read, T);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr_of(&o);
    assert!(err.contains("partial dump"), "{err}");
    assert!(
        err.contains("emrtd: error: ") && err.contains("no card in reader"),
        "{err}"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["partial"], true);
    assert_eq!(m["recovery_log"][0]["error"], "card removed");
    let files = bins(&out);
    assert!(
        files.contains_key("EF.COM.bin") && files.contains_key("DG1.bin"),
        "{:?}",
        files.keys()
    );
    assert!(!files.contains_key("DG2.bin"), "DG2 was cut off");
}

#[test]
fn emulate_refuses_a_remote_address_without_allow_remote() {
    let o = emrtd(
        &[
            "emulate",
            "--profile",
            s(&bac_toml()),
            "--vpcd",
            "192.0.2.7:35963",
        ],
        T,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr_of(&o);
    assert!(err.contains("not a loopback address"), "{err}");
    assert!(err.contains("--allow-remote"), "{err}");
}

/// The data of the last 9000 answer in `opensc-tool`'s output: it prints the data as hex
/// pairs after the last status line.
fn printed_data(out: &str) -> String {
    let tail = out.rsplit("Received (SW1=0x90, SW2=0x00):").next().unwrap();
    tail.lines()
        .flat_map(|l| {
            l.split_whitespace()
                .take_while(|w| w.len() == 2 && w.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .collect()
}

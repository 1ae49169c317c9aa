//! `make soak`: PACE sessions against the software chip, many per mapping × cipher, each
//! with fresh randomness on both sides (issue 15: a failure once in a few hundred runs,
//! as a 31-byte big integer caused in gematik E-Rezept-App-Android #30, must show).
//!
//! Each session resets the chip (a new card session), runs PACE with the CAN through
//! the emulator's APDU interface, selects the eMRTD application and reads the first
//! bytes of EF.COM under the new secure messaging keys, and for PACE-CAM checks the
//! chip's CA data against EF.CardSecurity.
//! Groups alternate between sessions: brainpoolP256r1 and NIST P-256 for ECDH, the
//! 1024/160 and 2048/256 MODP groups for DH.
//!
//! `SOAK_SESSIONS` (default 2000) sessions per mapping × cipher. Prints one line per
//! combination and exits 1 when any session failed.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Instant;

use emrtd::access::Password;
use emrtd::access::pace::{self, PaceConfig};
use emrtd::apdu::{CardChannel, Command, PlainChannel};
use emrtd::emulator::{Emulator, Profile};
use emrtd::lds::security_infos::{CardSecurity, SecurityInfos};
use emrtd::lds::{EMRTD_AID, LdsFile};
use emrtd::rng::OsRandom;
use emrtd::sm::SecureChannel;
use emrtd::transport::Transport;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const MAPPINGS: [(&str, &[u32]); 5] = [
    ("ECDH-GM", &[13, 12]),
    ("ECDH-IM", &[13, 12]),
    ("ECDH-CAM", &[13, 12]),
    ("DH-GM", &[0, 2]),
    ("DH-IM", &[0, 2]),
];
const CIPHERS: [&str; 4] = ["3DES", "AES-128", "AES-192", "AES-256"];

fn booklets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/booklets")
}

/// A profile with one PACE entry (and, for CAM, the CA key on the same group).
fn profile(mapping: &str, cipher: &str, group: u32) -> Res<Profile> {
    let text = format!(
        r#"name = "soak-{mapping}-{cipher}-{group}"
description = "make soak"
mrz = """
P<UTOSPECIMEN<<SOAK<BOOKLET<<<<<<<<<<<<<<<<<
UTP0005797UTO8501019M3301018<<<<<<<<<<<<<<08
"""
can = "579579"
ca_private_key = "3E0DDD383EF467294BA4C485FE64B31EC1A7643D943ADED4B5AC52B366A8AFEE"

[chip]
extended_length = true
max_read = 65536
bac = true

[[pace]]
mapping = "{mapping}"
cipher = "{cipher}"
parameter_id = {group}

{ca}
[files]
DG2 = {{ path = "data/specimen-dg2.bin" }}

[sign]
dsc = "../keys/ut-dsc-valid.cer"
key = "../keys/ut-dsc-valid.key.pem"
digest = "sha256"
signing_time = "2025-07-01T09:00:00Z"
"#,
        ca = if mapping == "ECDH-CAM" {
            format!("[ca]\nparameter_id = {group}\ncipher = \"AES-128\"\n")
        } else {
            String::new()
        }
    );
    Ok(Profile::parse(&text, &booklets())?)
}

struct Chip {
    emulator: Emulator,
    card_access: SecurityInfos,
    card_security: Option<SecurityInfos>,
}

fn chip(mapping: &str, cipher: &str, group: u32) -> Res<Chip> {
    let p = profile(mapping, cipher, group)?;
    let card_access = SecurityInfos::decode(p.files.get(&LdsFile::CardAccess).ok_or("no EF.CardAccess")?)?;
    let card_security = match p.files.get(&LdsFile::CardSecurity) {
        Some(b) => Some(CardSecurity::decode(b)?.security_infos),
        None => None,
    };
    Ok(Chip {
        emulator: Emulator::new(p),
        card_access,
        card_security,
    })
}

/// One session: PACE, then READ BINARY of EF.COM under secure messaging, then CAM.
fn session(chip: &mut Chip, can: &Password) -> Result<(), String> {
    chip.emulator.reconnect().map_err(|e| e.to_string())?;
    let out = {
        let mut ch = PlainChannel::new(&mut chip.emulator);
        pace::authenticate(
            &mut ch,
            &chip.card_access,
            can,
            &PaceConfig::default(),
            &mut OsRandom,
        )
        .map_err(|e| format!("PACE: {e}"))?
    };
    if let Some(cs) = &chip.card_security
        && out.cam.is_some()
    {
        out.verify_cam(cs).map_err(|e| format!("CAM: {e}"))?;
    }
    let mut sm = SecureChannel::new(PlainChannel::new(&mut chip.emulator), out.keys);
    let r = sm
        .send(&Command::select_aid(&EMRTD_AID))
        .map_err(|e| format!("SELECT eMRTD application: {e}"))?;
    if !r.is_ok() {
        return Err(format!("SELECT eMRTD application: {}", r.sw));
    }
    let r = sm
        .send(&Command::select_ef(0x011E))
        .map_err(|e| format!("SELECT EF.COM: {e}"))?;
    if !r.is_ok() {
        return Err(format!("SELECT EF.COM: {}", r.sw));
    }
    let r = sm
        .send(&Command::read_binary(0, 4))
        .map_err(|e| format!("READ BINARY: {e}"))?;
    if !r.is_ok() || r.data.first() != Some(&0x60) {
        return Err(format!("READ BINARY: {} {}", r.sw, hex::encode(&r.data)));
    }
    Ok(())
}

fn main() -> Res<()> {
    let per: usize = std::env::var("SOAK_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let can = Password::can("579579")?;
    let started = Instant::now();
    let (mut total, mut failed) = (0usize, 0usize);
    println!(
        "{:<9} {:<8} {:>8} {:>9} {:>8}  groups",
        "mapping", "cipher", "sessions", "failures", "seconds"
    );
    for (mapping, groups) in MAPPINGS {
        for cipher in CIPHERS {
            if mapping == "ECDH-CAM" && cipher == "3DES" {
                // Doc 9303 Part 11 §9.2.3: PACE-CAM is defined for AES only
                continue;
            }
            let mut chips = groups
                .iter()
                .map(|g| chip(mapping, cipher, *g))
                .collect::<Res<Vec<_>>>()?;
            let t = Instant::now();
            let mut failures = 0usize;
            for i in 0..per {
                let n = chips.len();
                let Some(c) = chips.get_mut(i % n) else { continue };
                if let Err(e) = session(c, &can) {
                    failures += 1;
                    if failures <= 5 {
                        eprintln!("{mapping} {cipher} session {i}: {e}");
                    }
                }
            }
            total += per;
            failed += failures;
            println!(
                "{mapping:<9} {cipher:<8} {per:>8} {failures:>9} {:>8.1}  {groups:?}",
                t.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "total: {total} sessions, {failed} failures, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

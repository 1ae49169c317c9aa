//! 200 documents, genuine and forged mixed, through one desk session (the in-process
//! emulator, placed and removed with `:place` / `:remove` as `emrtd desk --emulator`
//! takes them on stdin; pcscd + vpcd would spend most of the time starting processes).
//! Every verdict must be right, no result may carry a previous document's data, the
//! page must be empty between documents, and the resident memory must stay flat.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use support::root;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use emrtd::desk::run::{Config, Desk, Source};
use emrtd::emulator::Profile;
use emrtd::reader::ReadOptions;
use serde_json::Value;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn state(desk: &Desk) -> Value {
    serde_json::from_str(&desk.snapshots().borrow().json).unwrap()
}

fn wait(desk: &Desk, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = state(desk);
        if pred(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "never reached {what}: {s}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn two_hundred_documents_mixed_every_verdict_right_no_stale_data_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let store = support::fixture_store(dir.path());

    // (profile, verdict, failing check that must be listed first)
    let booklets: [(&str, &str, Option<&str>); 5] = [
        ("ref1.toml", "VALID", None),
        ("forged-dg2-face-swapped.toml", "INVALID", Some("pa.dg_hash.DG2")),
        ("bac.toml", "VALID", None),
        (
            "forged-sod-signature-flipped.toml",
            "INVALID",
            Some("pa.sod_signature"),
        ),
        ("forged-dg1-rewritten.toml", "INVALID", None),
    ];
    let paths: Vec<PathBuf> = booklets
        .iter()
        .map(|(b, _, _)| root().join("pkd-fixtures/booklets").join(b))
        .collect();
    let profiles: Vec<Profile> = paths.iter().map(|p| Profile::load(p).unwrap()).collect();

    let desk = Desk::start(Config {
        source: Source::Emulator {
            profile: Box::new(profiles[0].clone()),
        },
        store: Some(store),
        at: None,
        read: ReadOptions::default(),
        audit: None,
        log: false,
    })
    .unwrap();
    desk.line(":remove");
    wait(&desk, "an empty reader", |s| {
        s["state"] == "waiting" && s["card_present"] == false
    });

    let mut last_result: Option<u64> = None;
    let mut rss_after_warmup = 0;
    let mut counts = [0usize; 5];
    let started = Instant::now();
    for i in 0..200usize {
        // a fixed mix, not a cycle: genuine and forged documents follow each other in
        // every order
        let k = (i * 7 + i / 5) % booklets.len();
        let (_, verdict, failing) = booklets[k];
        counts[k] += 1;
        // half the documents arrive before their MRZ, half after
        let mrz: Vec<&str> = profiles[k]
            .mrz
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if i % 2 == 0 {
            desk.line(&format!(":place {}", paths[k].display()));
            for l in &mrz {
                desk.line(l);
            }
        } else {
            for l in &mrz {
                desk.line(l);
            }
            desk.line(&format!(":place {}", paths[k].display()));
        }
        let s = wait(&desk, "a result and its face", |s| {
            (s["state"] == "result" && s["face_pending"] == false) || s["state"] == "remove"
        });
        assert_eq!(s["verdict"], verdict, "document {i} ({}): {s}", booklets[k].0);
        let id = s["result_id"].as_u64().unwrap();
        assert_ne!(Some(id), last_result, "document {i} shows the previous result");
        last_result = Some(id);
        // the result is this document's, not the previous one's
        let mrz_line2 = mrz[1];
        let number = s["document"]["number"].as_str().unwrap();
        assert!(
            mrz_line2.starts_with(number),
            "document {i}: number {number} is not this document's"
        );
        if let Some(f) = failing {
            assert_eq!(s["checks"][0]["id"], f, "document {i}: {s}");
        }
        if verdict == "VALID" {
            assert!(s["face"].is_string(), "document {i}: no face");
        }
        desk.line(":remove");
        let s = wait(&desk, "cleared", |s| {
            s["state"] == "waiting" && s["card_present"] == false
        });
        assert!(
            s["verdict"].is_null()
                && s.get("document").is_none()
                && s.get("face").is_none()
                && s["key"].is_null(),
            "document {i}: stale data after removal: {s}"
        );
        assert!(desk.snapshots().borrow().result.is_none());
        if i == 19 {
            rss_after_warmup = rss_kib();
        }
    }
    let rss_end = rss_kib();
    let elapsed = started.elapsed();
    desk.stop();
    eprintln!(
        "200 documents in {:.1} s ({:.0} ms each); RSS after 20: {} KiB, after 200: {} KiB; mix {:?}",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / 200.0,
        rss_after_warmup,
        rss_end,
        counts
    );
    assert!(counts.iter().all(|&c| c >= 20), "mix {counts:?}");
    // flat: 180 more documents may not hold on to memory (a face is ~20-100 KB, a
    // report a few KB: a leak of one per document would show as several MB)
    let growth = rss_end.saturating_sub(rss_after_warmup);
    assert!(growth < 8 * 1024, "RSS grew by {growth} KiB over 180 documents");
}

#[test]
fn pulled_mid_read_in_process_then_put_back() {
    // the emulated slot: a document taken away during the read is a removed card; the
    // read waits for it and resumes, and the page says so in between
    let path = root().join("pkd-fixtures/booklets/bac.toml");
    let mut profile = Profile::load(&path).unwrap();
    // a chip slow in real time (40 ms per APDU: DG2 alone takes seconds)
    profile.link.realtime = true;
    profile.link.per_apdu_ms = 40.0;
    let desk = Desk::start(Config {
        source: Source::Emulator {
            profile: Box::new(profile.clone()),
        },
        store: None,
        at: None,
        read: ReadOptions::default(),
        audit: None,
        log: false,
    })
    .unwrap();
    for l in profile.mrz.lines().map(str::trim).filter(|l| !l.is_empty()) {
        desk.line(l);
    }
    wait(&desk, "reading DG2", |s| {
        s["state"] == "reading" && s["progress"]["file"] == "DG2" && s["progress"]["done"].as_u64() > Some(0)
    });
    desk.line(":remove");
    let s = wait(&desk, "card removed mid-read", |s| {
        s["card_removed_mid_read"] == true
    });
    assert_eq!(s["state"], "reading");
    assert!(s["verdict"].is_null());
    desk.line(":place");
    let s = wait(&desk, "a result", |s| s["state"] == "result");
    assert_eq!(s["card_removed_mid_read"], false);
    // no trust store: the genuine booklet cannot be VALID
    assert_eq!(s["verdict"], "INDETERMINATE", "{s}");
    desk.stop();
}

#[test]
fn wrong_mrz_says_so_then_the_right_one_reads_at_once() {
    let booklets = root().join("pkd-fixtures/booklets");
    let genuine = Profile::load(&booklets.join("ref1.toml")).unwrap();
    let other = Profile::load(&booklets.join("bac.toml")).unwrap();
    let desk = Desk::start(Config {
        source: Source::Emulator {
            profile: Box::new(genuine.clone()),
        },
        store: None,
        at: None,
        read: ReadOptions::default(),
        audit: None,
        log: false,
    })
    .unwrap();
    let lines = |p: &Profile| -> Vec<String> {
        p.mrz
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    // a misread line: refused on arrival, nothing is read
    let mut bad = lines(&genuine);
    bad[1] = bad[1].replacen("9001011", "9001012", 1);
    desk.line(&bad[0]);
    desk.line(&bad[1]);
    let s = wait(&desk, "the line refused", |s| s["problem"].is_string());
    assert_eq!(s["state"], "waiting");
    assert!(s["problem"].as_str().unwrap().contains("date of birth"), "{s}");
    assert!(
        !s["problem"].as_str().unwrap().contains("900101"),
        "the MRZ echoed: {s}"
    );
    // another document's MRZ: the chip refuses it
    for l in lines(&other) {
        desk.line(&l);
    }
    let s = wait(&desk, "the chip refusing the key", |s| s["state"] == "remove");
    assert!(s["problem"].as_str().unwrap().contains("refused"), "{s}");
    assert!(s["verdict"].is_null() && s["key"].is_null());
    // the right MRZ: read at once, with the document still on the reader
    for l in lines(&genuine) {
        desk.line(&l);
    }
    let s = wait(&desk, "a result", |s| s["state"] == "result");
    assert_eq!(s["verdict"], "INDETERMINATE", "no store: {s}");
    assert!(s["problem"].is_null());
    desk.stop();
}

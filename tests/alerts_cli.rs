//! `emrtd alerts import|list|clear` and the `alert_list` check of `emrtd verify`: the
//! Dutch 2006 specimen (Loes Meulendijk, XX0001328, NLD) from test-vectors, listed as
//! stolen in a CSV, must come out INVALID (exit 1); a bad file changes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn vectors(set: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("test-vectors/lds")
        .join(set)
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("trust.db")
    }

    fn csv(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = Command::new(env!("CARGO_BIN_EXE_emrtd"))
            .arg("--store")
            .arg(self.store())
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8(o.stdout).unwrap(),
            String::from_utf8(o.stderr).unwrap(),
        )
    }

    fn verify(&self, dump: &Path) -> (i32, Value) {
        let (code, out, err) = self.run(&[
            "verify",
            "--json",
            "--at",
            "2010-01-01",
            "--dump",
            dump.to_str().unwrap(),
        ]);
        let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (code, v)
    }

    fn list(&self) -> Value {
        let (code, out, err) = self.run(&["alerts", "list", "--json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    }
}

fn check<'v>(report: &'v Value, id: &str) -> &'v Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
}

const LIST: &str = "# national list of lost and stolen documents\n\
issuer,document_number,status,reason,since\n\
NLD,XX0001328,stolen,\"burglary, Utrecht\",2009-03-01\n\
DEU,C11T002JM,lost,,\n";

#[test]
fn a_listed_document_is_invalid() {
    let env = Env::new();
    let loes = vectors("jmrtd_loes2006");
    // no list yet: skipped, and said so; the specimen stays INDETERMINATE (no CSCA)
    let (code, r) = env.verify(&loes);
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(check(&r, "alert_list")["status"], "skip");
    assert!(
        check(&r, "alert_list")["reason"]
            .as_str()
            .unwrap()
            .contains("no alert list")
    );

    let csv = env.csv("list.csv", LIST);
    let (code, out, err) = env.run(&["alerts", "import", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 2 alert(s)"), "{out}");

    let (code, r) = env.verify(&loes);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["verdict"], "INVALID");
    assert_eq!(r["because"], serde_json::json!(["alert_list"]));
    let c = check(&r, "alert_list");
    assert_eq!(c["status"], "fail");
    let reason = c["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("document reported STOLEN since 2009-03-01"),
        "{reason}"
    );
    assert!(reason.contains("burglary, Utrecht"), "{reason}");
    assert_eq!(c["evidence"]["entries"], 2);

    // the German specimen's MRZ says D<<; the list says DEU
    let (code, r) = env.verify(&vectors("jmrtd_bsi2008"));
    assert_eq!(code, 1);
    assert!(
        check(&r, "alert_list")["reason"]
            .as_str()
            .unwrap()
            .starts_with("document reported LOST")
    );

    // a list that does not name the document: pass, with the list's size and date
    let other = env.csv(
        "other.csv",
        "issuer,document_number,status\nNLD,XX0001329,revoked\n",
    );
    assert_eq!(env.run(&["alerts", "import", other.to_str().unwrap()]).0, 0);
    let (code, r) = env.verify(&loes);
    assert_eq!(code, 3);
    let c = check(&r, "alert_list");
    assert_eq!(c["status"], "pass");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .starts_with("not on the local alert list (1 entries, imported ")
    );
    assert!(c["evidence"]["imported_at"].is_string());

    // cleared: skipped again
    let (code, _, _) = env.run(&["alerts", "clear"]);
    assert_eq!(code, 0);
    let (_, r) = env.verify(&loes);
    assert_eq!(check(&r, "alert_list")["status"], "skip");
}

#[test]
fn a_bad_file_is_refused_whole_and_changes_nothing() {
    let env = Env::new();
    let good = env.csv("good.csv", LIST);
    assert_eq!(env.run(&["alerts", "import", good.to_str().unwrap()]).0, 0);
    let before = env.list();
    assert_eq!(before["entries"].as_array().unwrap().len(), 2);

    let bad = env.csv(
        "bad.csv",
        "issuer,document_number,status\nNLD,AB1,lost\nUTO,AB2,lost\n# comment\nUTO,AB3,misplaced\n",
    );
    let (code, out, err) = env.run(&["alerts", "import", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("line 5"), "{err}");
    assert!(err.contains("misplaced"), "{err}");
    assert!(err.contains("nothing imported"), "{err}");
    assert_eq!(env.list(), before);

    // --append adds and updates
    let more = env.csv(
        "more.csv",
        "issuer,document_number,status\nNLD,XX0001328,revoked\nUTO,AB9,lost\n",
    );
    let (code, out, _) = env.run(&["--json", "alerts", "import", "--append", more.to_str().unwrap()]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["imported"].as_u64(), v["removed"].as_u64(), v["total"].as_u64()),
        (Some(2), Some(0), Some(3))
    );
    assert_eq!(v["mode"], "append");
    let l = env.list();
    let entries = l["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let loes = entries
        .iter()
        .find(|e| e["document_number"] == "XX0001328")
        .unwrap();
    assert_eq!(loes["status"], "revoked");
    assert_eq!(l["list"]["entries"], 3);
    let (code, out, _) = env.run(&["alerts", "list", "--issuer", "uto"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("UTO AB9"), "{out}");

    // an unreadable file and a missing one are operational errors too
    let (code, _, _) = env.run(&["alerts", "import", "/nonexistent.csv"]);
    assert_eq!(code, 2);
    let binary = env.dir.path().join("bin.csv");
    std::fs::write(&binary, [0xFFu8, 0xFE, 0x00]).unwrap();
    let (code, _, err) = env.run(&["alerts", "import", binary.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not UTF-8"), "{err}");
    assert_eq!(env.list()["entries"].as_array().unwrap().len(), 3);
}

//! `emrtd desk` figures: the CPU the desk uses while it waits for a document
//! (`desk_idle_cpu_pct`), and the time from the card being seen to the verdict on screen
//! in headless Chromium, measured by the page itself (`desk_verdict_latency_ms`).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A child process killed (with its process group) when dropped.
struct Guard(Option<Child>, bool);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            if self.1 {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(i32::try_from(c.id()).unwrap_or(0)),
                    nix::sys::signal::Signal::SIGKILL,
                );
            } else {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

fn cpu_ticks(pid: u32) -> Res<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // fields after the command name in parentheses; utime and stime are 14 and 15
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad /proc stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Ok(f.get(11).ok_or("no utime")?.parse::<u64>()? + f.get(12).ok_or("no stime")?.parse::<u64>()?)
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn wait_for(log: &Path, pred: impl Fn(&str) -> bool, timeout: Duration) -> Res<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if pred(&text) {
            return Ok(text);
        }
        if Instant::now() >= deadline {
            return Err(format!("emrtd desk: timed out; log:\n{text}").into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The figures (key, value) and the report's section.
pub fn section(
    emrtd: &str,
    root: &Path,
    out: &Path,
    store: &Path,
    idle_s: u64,
    docs: usize,
) -> Res<(Vec<(String, f64)>, String)> {
    let profile = root.join("pkd-fixtures/booklets/ref1.toml");
    let mrz = emrtd::emulator::Profile::load(&profile)?.mrz;
    let log = out.join("desk.log");
    let mut child = Command::new(emrtd)
        .arg("--store")
        .arg(store)
        .args(["desk", "--emulator"])
        .arg(&profile)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let pid = child.id();
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let _desk = Guard(Some(child), false);
    let text = wait_for(&log, |t| t.contains("page at http://"), Duration::from_secs(20))?;
    let addr = text
        .split("page at http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .ok_or("no address")?
        .to_string();
    writeln!(stdin, ":remove")?;
    std::thread::sleep(Duration::from_secs(1));

    // idle: no document, the page not open
    let t0 = cpu_ticks(pid)?;
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(idle_s));
    let ticks = cpu_ticks(pid)?.saturating_sub(t0);
    let idle_pct = ticks as f64 / clk_tck() / started.elapsed().as_secs_f64() * 100.0;
    let mut results = vec![(
        "desk_idle_cpu_pct".to_string(),
        (idle_pct * 1000.0).round() / 1000.0,
    )];
    let mut report = format!(
        "\n## `emrtd desk`\n\nIdle (no document; `--emulator`, so no PC/SC wait in the loop): \
**{idle_pct:.3} %** of one core over {idle_s} s ({ticks} clock ticks). With a reader the desk blocks \
in `SCardGetStatusChange`, waking every 2 s.\n"
    );

    if !Path::new(CHROMIUM).exists() {
        report.push_str("\nVerdict latency: not measured (no /usr/bin/chromium).\n");
        return Ok((results, report));
    }
    let profile_dir = tempfile::tempdir()?;
    let browser = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,720",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.path().display()))
        .arg(format!("http://{addr}/"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    let _browser = Guard(Some(browser), true);
    std::thread::sleep(Duration::from_secs(3));
    let mut latencies = Vec::new();
    let mut reads = Vec::new();
    for i in 0..docs {
        // the key first, then the document: the read starts as the card is seen
        for l in mrz.lines().map(str::trim).filter(|l| !l.is_empty()) {
            writeln!(stdin, "{l}")?;
        }
        std::thread::sleep(Duration::from_millis(100));
        writeln!(stdin, ":place")?;
        let text = wait_for(
            &log,
            |t| t.matches("page showed result").count() > i,
            Duration::from_secs(30),
        )?;
        let line = text
            .lines()
            .filter(|l| l.contains("page showed result"))
            .nth(i)
            .ok_or("no line")?;
        let ms: f64 = line
            .split(' ')
            .rev()
            .nth(6)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("cannot read {line:?}"))?;
        latencies.push(ms);
        if let Some(r) = text
            .lines()
            .filter(|l| l.contains("result VALID in ") || l.contains("result INDETERMINATE in "))
            .nth(i)
            .and_then(|l| l.split(" in ").nth(1))
            .and_then(|l| l.split(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
        {
            reads.push(r);
        }
        writeln!(stdin, ":remove")?;
        std::thread::sleep(Duration::from_millis(300));
    }
    let lat = median(latencies.clone());
    let read = median(reads);
    results.push(("desk_verdict_latency_ms".to_string(), (lat * 10.0).round() / 10.0));
    report.push_str(&format!(
        "\nVerdict latency: from the card seen on the reader to the verdict painted in headless Chromium, \
measured by the page (`Date.now()` after the next animation frame, against the time the desk saw the \
card), median of {docs} REF-1 documents with the key scanned first: **{lat:.1} ms** (min {:.1}, max {:.1}); \
of which the read and verification took {read:.0} ms (median). The in-process emulator does not sleep \
its modelled link time, so nothing is subtracted: the figure is the desk's own cost (read and verify \
maths on both sides, the push, the render).\n",
        latencies.iter().copied().fold(f64::INFINITY, f64::min),
        latencies.iter().copied().fold(0.0, f64::max),
    ));
    Ok((results, report))
}

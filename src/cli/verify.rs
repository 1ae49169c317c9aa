//! `emrtd verify`: one verdict per document, from a chip (`--reader`, `--emulator`)
//! or offline (`--dump DIR`, several in parallel).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use time::OffsetDateTime;

use super::read::{AccessArg, Bar, ChipArgs};
use super::{Exit, GlobalOpts, Outcome};
use crate::pki::store::{self, TrustStore};
use crate::reader::Dump;
use crate::rng::OsRandom;
use crate::transport::trace::{Recorder, TraceLog};
use crate::verify::live::LiveOptions;
use crate::verify::policy::{self, Policy};
use crate::verify::{self, Input, Report, Status, Verdict};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human report.
    #[default]
    Text,
    /// One JSON document (one line per dump with several --dump).
    Json,
    /// JUnit XML (one testsuite per document, one testcase per check).
    Junit,
}

/// Arguments of `emrtd verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The chip and how to read it.
    #[command(flatten)]
    pub chip: ChipArgs,
    /// Verify dump directories made by `emrtd read` instead of a chip (repeatable).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["reader", "emulator"])]
    pub dump: Vec<PathBuf>,
    /// Check validity at this date instead of today (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub at: Option<String>,
    /// Skip Active Authentication (the verdict can then not be VALID for a chip that offers it).
    #[arg(long)]
    pub no_aa: bool,
    /// Skip Chip Authentication (the verdict can then not be VALID for a chip that offers it).
    #[arg(long)]
    pub no_ca: bool,
    /// Also write a self-contained HTML report (face image, verdict, checks).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Verification policy (TOML: `crl = "strict"|"advisory"`; strict by default). The
    /// report names the policy that decided.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Output format (`--json` is the same as `--format json`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Parse `--at`.
pub fn parse_at(at: Option<&str>) -> anyhow::Result<OffsetDateTime> {
    match at {
        None => Ok(OffsetDateTime::now_utc()),
        Some(s) => {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            let d = time::Date::parse(s.trim(), &fmt)
                .with_context(|| format!("--at {s:?} is not a date YYYY-MM-DD"))?;
            Ok(d.with_hms(12, 0, 0)
                .map(|dt| dt.assume_utc())
                .unwrap_or_else(|_| OffsetDateTime::now_utc()))
        }
    }
}

fn exit_of(v: Verdict) -> Exit {
    match v {
        Verdict::Valid => Exit::Ok,
        Verdict::Invalid => Exit::Invalid,
        Verdict::Indeterminate => Exit::Indeterminate,
    }
}

/// Run `emrtd verify`.
pub fn run(args: &VerifyArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let at = parse_at(args.at.as_deref())?;
    let format = if global.json { Format::Json } else { args.format };
    let policy = match &args.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    if !args.dump.is_empty() {
        return run_dumps(args, global, at, format, &policy);
    }
    let store = global.existing_store(Some(
        " — certificate checks will be indeterminate (import CSCAs with `emrtd pkd import`)",
    ))?;
    let report = verify_live(args, global, at, store.as_ref(), &policy)?;
    emit(&report, args, global, format, None)?;
    Ok(Outcome::with(exit_of(report.verdict)))
}

fn emit(
    report: &Report,
    args: &VerifyArgs,
    global: &GlobalOpts,
    format: Format,
    dump: Option<&Dump>,
) -> anyhow::Result<()> {
    let mut out = super::output::stdout();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, report)?;
            writeln!(out)?;
        }
        Format::Junit => out.write_all(junit(&[report]).as_bytes())?,
        Format::Text => {
            if !global.quiet {
                out.write_all(text(report, super::output::use_color(global)).as_bytes())?;
            } else {
                writeln!(out, "{}", report.verdict.name())?;
            }
        }
    }
    if let (Some(path), Some(dump)) = (&args.html, dump) {
        crate::reader::dump::write_private_file(path, html(report, dump).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn run_dumps(
    args: &VerifyArgs,
    global: &GlobalOpts,
    at: OffsetDateTime,
    format: Format,
    policy: &Policy,
) -> anyhow::Result<Outcome> {
    let store_path = store::default_path(global.store.as_deref())?;
    let have_store = store_path.exists();
    if !have_store && !global.quiet {
        eprintln!(
            "emrtd: no trust store at {} — certificate checks will be indeterminate",
            store_path.display()
        );
    }
    // a store that is there but cannot be opened is an error, never an empty store
    if have_store {
        TrustStore::open(&store_path)
            .with_context(|| format!("cannot open the trust store {}", store_path.display()))?;
    }
    let dirs = &args.dump;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(dirs.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    type Verified = anyhow::Result<(Report, Dump)>;
    let results: std::sync::Mutex<Vec<(usize, Verified)>> = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let store = if have_store {
                    TrustStore::open(&store_path).map(Some).map_err(|e| e.to_string())
                } else {
                    Ok(None)
                };
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(dir) = dirs.get(i) else { break };
                    let store = match &store {
                        Ok(s) => s,
                        Err(e) => {
                            let err =
                                anyhow::anyhow!("cannot open the trust store {}: {e}", store_path.display());
                            if let Ok(mut v) = results.lock() {
                                v.push((i, Err(err)));
                            }
                            continue;
                        }
                    };
                    let r = Dump::load(dir)
                        .with_context(|| format!("cannot load dump {}", dir.display()))
                        .map(|dump| {
                            let password = if args.chip.key.given() {
                                args.chip.key.resolve(None).ok()
                            } else {
                                None
                            };
                            let mut report = verify::verify(&Input {
                                dump: &dump,
                                store: store.as_ref(),
                                at,
                                password: password.as_ref(),
                                live: None,
                                no_aa: args.no_aa,
                                no_ca: args.no_ca,
                                bac_requested: args.chip.session.access.access == AccessArg::Bac,
                                source: format!("dump {}", dir.display()),
                            });
                            policy::apply(policy, &mut report);
                            (report, dump)
                        });
                    if let Ok(mut v) = results.lock() {
                        v.push((i, r));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    let mut worst = Exit::Ok;
    let rank = |e: Exit| match e {
        Exit::Invalid => 4,
        Exit::Error => 3,
        Exit::Indeterminate => 2,
        Exit::Ok => 1,
    };
    let mut reports = Vec::new();
    let single = results.len() == 1;
    for (_, r) in results {
        match r {
            Ok((report, dump)) => {
                let e = exit_of(report.verdict);
                if rank(e) > rank(worst) {
                    worst = e;
                }
                match format {
                    Format::Json if !single => {
                        super::output::print_text(&format!("{}\n", serde_json::to_string(&report)?))?;
                    }
                    Format::Junit => {}
                    _ => emit(&report, args, global, format, Some(&dump))?,
                }
                reports.push(report);
            }
            Err(e) => {
                super::output::print_error(&e);
                if rank(Exit::Error) > rank(worst) {
                    worst = Exit::Error;
                }
            }
        }
    }
    if format == Format::Junit {
        let refs: Vec<&Report> = reports.iter().collect();
        super::output::print_text(&junit(&refs))?;
    }
    Ok(Outcome::with(worst))
}

fn verify_live(
    args: &VerifyArgs,
    global: &GlobalOpts,
    at: OffsetDateTime,
    store: Option<&TrustStore>,
    policy: &Policy,
) -> anyhow::Result<Report> {
    let chip = &args.chip;
    let options = chip.session.options(global, store, None, false)?;
    let opened = chip.source.open()?;
    let source = match &chip.source.emulator {
        Some(p) => format!("emulator {}", p.display()),
        None => opened.transport.info().reader,
    };
    let password = args.chip.key.resolve(opened.profile_mrz.as_deref())?;
    let trace = global.trace.as_ref().map(|_| TraceLog::new());
    let transport: Box<dyn crate::transport::Transport> = match &trace {
        Some(log) => Box::new(Recorder::new(opened.transport, log.clone())),
        None => opened.transport,
    };
    let mut rng = OsRandom;
    let mut bar = Bar::new(global);
    let live_options = LiveOptions {
        read: options,
        at,
        no_aa: args.no_aa,
        no_ca: args.no_ca,
        bac_requested: args.chip.session.access.access == AccessArg::Bac,
        source,
    };
    let result = verify::live::read_and_verify(
        transport,
        &password,
        &live_options,
        store,
        &mut rng,
        &mut bar,
        trace.clone(),
    );
    bar.clear();
    if let (Some(path), Some(log)) = (&global.trace, &trace) {
        super::read::write_trace(log, path, global.trace_plain)?;
    }
    let mut verified = result.map_err(|failure| anyhow::Error::new(failure.error))?;
    policy::apply(policy, &mut verified.report);
    if let (Some(path), Some(dump)) = (&args.html, &verified.dump) {
        crate::reader::dump::write_private_file(path, html(&verified.report, dump).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(verified.report)
}

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn status_mark(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::Skip => "skip",
        Status::Indeterminate => "????",
    }
}

/// The human report: verdict first, the document, one line per check. Every string
/// from the document, a certificate or the file system (names, numbers, reasons,
/// the source) is sanitised for the terminal, so none can draw a fake report.
pub fn text(r: &Report, color: bool) -> String {
    use super::output::sanitize_terminal as t;
    let mut s = String::new();
    let v = match r.verdict {
        Verdict::Valid => paint("VALID", "1;32", color),
        Verdict::Invalid => paint("INVALID", "1;31", color),
        Verdict::Indeterminate => paint("INDETERMINATE", "1;33", color),
    };
    s.push_str(&v);
    if !r.because.is_empty() {
        s.push_str(&format!("  ({})", t(&r.because.join(", "))));
    }
    s.push('\n');
    let d = &r.document;
    let o = |v: &Option<String>, none: &'static str| t(v.as_deref().unwrap_or(none)).into_owned();
    if let Some(names) = &d.names {
        s.push_str(&format!("  holder:   {}\n", t(names)));
    }
    if let Some(n) = &d.number {
        s.push_str(&format!(
            "  document: {} {} no. {}, issued by {}\n",
            o(&d.kind, ""),
            o(&d.code, ""),
            t(n),
            o(&d.issuer, "?")
        ));
        s.push_str(&format!(
            "  born {}  expires {}  sex {}  nationality {}\n",
            o(&d.birth, "?"),
            o(&d.expiry, "?"),
            o(&d.sex, "?"),
            o(&d.nationality, "?")
        ));
    }
    s.push_str(&format!(
        "  source:   {} (checked for {})\n",
        t(&r.source),
        t(&r.at)
    ));
    s.push_str(&format!("  policy:   {}\n", t(&r.policy.describe())));
    for w in &r.policy.warnings {
        s.push_str(&format!("  {}: {}\n", paint("warning", "33", color), t(w)));
    }
    for c in &r.checks {
        let mark = match c.status {
            Status::Pass => paint(status_mark(c.status), "32", color),
            Status::Fail if c.informational => paint("note", "33", color),
            Status::Fail => paint(status_mark(c.status), "31", color),
            Status::Indeterminate => paint(status_mark(c.status), "33", color),
            Status::Skip => paint(status_mark(c.status), "2", color),
        };
        s.push_str(&format!("  [{mark}] {:<24} {}\n", t(&c.id), t(&c.reason)));
    }
    s
}

/// XML/HTML text: markup escaped, and every control character, bidi override and
/// XML-invalid character shown escaped ([`super::output::xml_escape`]).
fn xml(s: &str) -> String {
    super::output::xml_escape(s)
}

/// JUnit XML: one testsuite per document, one testcase per check (fail → failure,
/// indeterminate → error, skip → skipped).
pub fn junit(reports: &[&Report]) -> String {
    let mut s =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"emrtd verify\">\n");
    for r in reports {
        let failures = r
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail && !c.informational)
            .count();
        let errors = r
            .checks
            .iter()
            .filter(|c| c.status == Status::Indeterminate)
            .count();
        let skipped = r.checks.iter().filter(|c| c.status == Status::Skip).count();
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n",
            xml(&r.source),
            r.checks.len()
        ));
        s.push_str(&format!(
            "    <properties><property name=\"verdict\" value=\"{}\"/><property name=\"policy\" value=\"{}\"/>",
            r.verdict.name(),
            xml(&r.policy.describe())
        ));
        for w in &r.policy.warnings {
            s.push_str(&format!(
                "<property name=\"policy_warning\" value=\"{}\"/>",
                xml(w)
            ));
        }
        s.push_str("</properties>\n");
        for c in &r.checks {
            s.push_str(&format!(
                "    <testcase classname=\"emrtd.verify\" name=\"{}\">",
                xml(&c.id)
            ));
            match c.status {
                Status::Pass => {}
                Status::Fail if c.informational => {
                    s.push_str(&format!("<system-out>{}</system-out>", xml(&c.reason)));
                }
                Status::Fail => s.push_str(&format!("<failure message=\"{}\"/>", xml(&c.reason))),
                Status::Indeterminate => s.push_str(&format!("<error message=\"{}\"/>", xml(&c.reason))),
                Status::Skip => s.push_str(&format!("<skipped message=\"{}\"/>", xml(&c.reason))),
            }
            s.push_str("</testcase>\n");
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

/// A self-contained HTML report with the face (PNG, inline) next to the verdict.
pub fn html(r: &Report, dump: &Dump) -> String {
    use crate::lds::extract::ImageRole;
    use base64::Engine;
    // the face first; fingers (DG3) and irises (DG4) as a strip under the checks
    let (mut face, mut bio) = (None, String::new());
    for i in crate::lds::extract::extract_all(dump.files.iter().map(|(f, b)| (*f, b.as_slice()))).images {
        let (role, index, source) = (i.record.role, i.record.index, i.record.source.clone());
        let Some(png) = i
            .png
            .or_else(|| i.bytes.starts_with(&[0x89, b'P', b'N', b'G']).then_some(i.bytes))
        else {
            continue;
        };
        match role {
            ImageRole::Finger | ImageRole::Iris => bio.push_str(&format!(
                "<figure><img alt=\"{} {index} from {}\" src=\"data:image/png;base64,{}\"><figcaption>{} {index} ({})</figcaption></figure>",
                role.prefix(),
                xml(&source),
                base64::engine::general_purpose::STANDARD.encode(png),
                role.prefix(),
                xml(&source)
            )),
            _ if face.is_none() => face = Some(png),
            _ => {}
        }
    }
    if !bio.is_empty() {
        bio = format!("<div class=\"bio\">{bio}</div>\n");
    }
    let img = match face {
        Some(png) => format!(
            "<img alt=\"face from DG2\" src=\"data:image/png;base64,{}\">",
            base64::engine::general_purpose::STANDARD.encode(png)
        ),
        None => "<div class=\"noface\">no face image</div>".into(),
    };
    let (cls, word) = match r.verdict {
        Verdict::Valid => ("valid", "VALID"),
        Verdict::Invalid => ("invalid", "INVALID"),
        Verdict::Indeterminate => ("indet", "INDETERMINATE"),
    };
    let d = &r.document;
    let mut rows = String::new();
    for c in &r.checks {
        let st = if c.informational && c.status == Status::Fail {
            "note"
        } else {
            c.status.name()
        };
        rows.push_str(&format!(
            "<tr class=\"{st}\"><td>{}</td><td>{st}</td><td>{}</td></tr>\n",
            xml(&c.id),
            xml(&c.reason)
        ));
    }
    let opt = |o: &Option<String>| xml(o.as_deref().unwrap_or("?"));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>emrtd verify: {word}</title>\n<style>\
body{{font-family:sans-serif;margin:2em;color:#222}} .top{{display:flex;gap:2em;align-items:flex-start}}\
img{{max-width:220px;border:1px solid #999}} .verdict{{font-size:2.5em;font-weight:bold;padding:.2em .5em;border-radius:.2em;display:inline-block}}\
.valid{{background:#1b7a2b;color:#fff}} .invalid{{background:#b3261e;color:#fff}} .indet{{background:#e0a800;color:#000}}\
table{{border-collapse:collapse;margin-top:1.5em}} td{{border-bottom:1px solid #ddd;padding:.3em .6em;vertical-align:top}}\
tr.fail td{{color:#b3261e;font-weight:bold}} tr.indeterminate td{{color:#8a6d00}} tr.skip td{{color:#777}} tr.note td{{color:#8a6d00}}\
.noface{{width:220px;height:280px;border:1px dashed #999;display:flex;align-items:center;justify-content:center}}\
.bio{{display:flex;flex-wrap:wrap;gap:1em;margin-top:1.5em}} .bio img{{max-width:160px}} figure{{margin:0}}\
</style></head><body>\n<div class=\"top\">{img}<div><div class=\"verdict {cls}\">{word}</div>\
<p><b>{}</b><br>{} no. {} issued by {}<br>born {} · expires {} · sex {} · nationality {}</p>\
<p>{}<br>checked for {}</p>{}<p class=\"policy\">policy: {}</p>{}</div></div>\n<table>\n{rows}</table>\n{bio}</body></html>\n",
        opt(&d.names),
        opt(&d.code),
        opt(&d.number),
        opt(&d.issuer),
        opt(&d.birth),
        opt(&d.expiry),
        opt(&d.sex),
        opt(&d.nationality),
        xml(&r.source),
        xml(&r.at),
        if r.because.is_empty() {
            String::new()
        } else {
            format!("<p>because: {}</p>", xml(&r.because.join(", ")))
        },
        xml(&r.policy.describe()),
        r.policy
            .warnings
            .iter()
            .map(|w| format!("<p class=\"warning\">warning: {}</p>", xml(w)))
            .collect::<String>(),
    )
}

/// Whether stdout is a terminal (for colour decisions elsewhere).
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

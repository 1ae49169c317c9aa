//! `emrtd check --dump DIR`: Doc 9303 conformance checks of dumps for issuers' CI
//! ([`crate::verify::conformance`], `docs/check.md`). Exit 0 when no counted check
//! failed, 1 when one did, 2 when a dump cannot be used.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::verify::Format;
use super::{Exit, GlobalOpts, Outcome};
use crate::reader::Dump;
use crate::verify::Status;
use crate::verify::conformance::{self, ConformanceReport};

/// Arguments of `emrtd check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Dump directories made by `emrtd read` (repeatable).
    #[arg(long, value_name = "DIR", required = true)]
    pub dump: Vec<PathBuf>,
    /// Output format (`--json` is the same as `--format json`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Run `emrtd check`.
pub fn run(args: &CheckArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let format = if global.json { Format::Json } else { args.format };
    let store = global.existing_store(Some(": the CSCA profile checks are skipped"))?;
    let mut reports = Vec::new();
    let mut unusable = false;
    for dir in &args.dump {
        match Dump::load(dir).with_context(|| format!("cannot load dump {}", dir.display())) {
            Ok(dump) => reports.push(conformance::check(
                &dump,
                store.as_ref(),
                &format!("dump {}", dir.display()),
            )),
            Err(e) => {
                super::output::print_error(&e);
                unusable = true;
            }
        }
    }
    let mut out = super::output::stdout();
    match format {
        Format::Json if args.dump.len() == 1 => {
            // one dump: one JSON document
            if let Some(r) = reports.first() {
                serde_json::to_writer_pretty(&mut out, r)?;
                writeln!(out)?;
            }
        }
        Format::Json => {
            for r in &reports {
                writeln!(out, "{}", serde_json::to_string(r)?)?;
            }
        }
        Format::Junit => out.write_all(junit(&reports).as_bytes())?,
        Format::Text => {
            for r in &reports {
                if global.quiet {
                    writeln!(out, "{}", verdict_word(r))?;
                } else {
                    out.write_all(text(r, super::output::use_color(global)).as_bytes())?;
                }
            }
        }
    }
    let any_fail = reports.iter().any(|r| !r.conformant);
    Ok(Outcome::with(if any_fail {
        Exit::Invalid
    } else if unusable {
        Exit::Error
    } else {
        Exit::Ok
    }))
}

fn verdict_word(r: &ConformanceReport) -> &'static str {
    if r.conformant {
        "CONFORMANT"
    } else {
        "NOT CONFORMANT"
    }
}

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// The human report: the result, the counts, one line per check.
pub fn text(r: &ConformanceReport, color: bool) -> String {
    use super::output::sanitize_terminal as t;
    let mut s = String::new();
    let head = if r.conformant {
        paint("CONFORMANT", "1;32", color)
    } else {
        paint("NOT CONFORMANT", "1;31", color)
    };
    s.push_str(&format!(
        "{head}  ({} passed, {} failed, {} warnings, {} skipped)\n",
        r.counts.pass, r.counts.fail, r.counts.warn, r.counts.skip
    ));
    if !r.failed.is_empty() {
        s.push_str(&format!("  failed:   {}\n", t(&r.failed.join(", "))));
    }
    s.push_str(&format!("  source:   {}\n", t(&r.source)));
    if let Some(d) = r.document.as_object() {
        let get = |k: &str| t(d.get(k).and_then(|v| v.as_str()).unwrap_or("?")).into_owned();
        s.push_str(&format!(
            "  document: {} {} issued by {}\n",
            get("type"),
            get("code"),
            get("issuer")
        ));
    }
    for c in &r.checks {
        let mark = match c.status {
            Status::Pass => paint("pass", "32", color),
            Status::Fail if c.informational => paint("warn", "33", color),
            Status::Fail => paint("FAIL", "31", color),
            Status::Skip | Status::Indeterminate => paint("skip", "2", color),
        };
        s.push_str(&format!("  [{mark}] {:<34} {}", t(&c.id), t(&c.reason)));
        if let Some(reference) = &c.reference
            && (c.status == Status::Fail)
        {
            s.push_str(&format!("  [{}]", t(reference)));
        }
        s.push('\n');
    }
    s
}

fn xml(s: &str) -> String {
    super::output::xml_escape(s)
}

/// The Doc 9303 part a reference names (`Doc 9303 Part 10 §4.6.2` → `Doc 9303 Part 10`).
pub fn part_of(reference: Option<&str>) -> String {
    match reference {
        Some(r) => r.split(" §").next().unwrap_or(r).trim().to_owned(),
        None => "emrtd.check".to_owned(),
    }
}

/// JUnit XML: one testsuite per dump, one testcase per check with the Doc 9303 part as
/// classname (fail → failure; warn → passed with the warning on system-out; skip →
/// skipped).
pub fn junit(reports: &[ConformanceReport]) -> String {
    let mut s =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"emrtd check\">\n");
    for r in reports {
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
            xml(&r.source),
            r.checks.len(),
            r.counts.fail,
            r.counts.skip
        ));
        s.push_str(&format!(
            "    <properties><property name=\"conformant\" value=\"{}\"/><property name=\"warnings\" value=\"{}\"/></properties>\n",
            r.conformant, r.counts.warn
        ));
        for c in &r.checks {
            s.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">",
                xml(&part_of(c.reference.as_deref())),
                xml(&c.id)
            ));
            let reference = c.reference.as_deref().unwrap_or("");
            match c.status {
                Status::Pass => {}
                Status::Fail if c.informational => {
                    s.push_str(&format!(
                        "<system-out>warning: {} ({})</system-out>",
                        xml(&c.reason),
                        xml(reference)
                    ));
                }
                Status::Fail => s.push_str(&format!(
                    "<failure message=\"{}\" type=\"{}\">{}</failure>",
                    xml(&c.reason),
                    xml(reference),
                    xml(&c.reason)
                )),
                Status::Skip | Status::Indeterminate => {
                    s.push_str(&format!("<skipped message=\"{}\"/>", xml(&c.reason)))
                }
            }
            s.push_str("</testcase>\n");
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

//! `emrtd pkd import|list|stats|remove|sync`: the trust store (CLI.md "Commands").

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use time::OffsetDateTime;

use super::GlobalOpts;
use super::output::{self, Exit, Outcome};
use crate::pki::import::{self, FileOutcome, ImportOptions};
use crate::pki::store::{self, ListKind};

/// Arguments of `emrtd pkd`.
#[derive(Debug, Args)]
pub struct PkdArgs {
    /// What to do with the trust store.
    #[command(subcommand)]
    pub command: PkdCommand,
}

/// The `pkd` subcommands.
#[derive(Debug, Subcommand)]
pub enum PkdCommand {
    /// Import master lists, ICAO PKD LDIF, certificates, CRLs and deviation lists (detected by content).
    Import(ImportArgs),
    /// List what the trust store holds.
    List(ListArgs),
    /// Per-country summary: CSCAs, link certificates, DSCs, CRLs and their next update, newest master list.
    Stats,
    /// Remove one object by its SHA-256 fingerprint (a unique prefix is enough).
    Remove(RemoveArgs),
    /// Bring the store up to date from an LDAP PKD mirror (ldap://HOST:PORT/BASE or ldaps://…; the port is optional).
    Sync(super::pkd_sync::SyncArgs),
}

/// Arguments of `emrtd pkd import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import (.ml, .ldif, .der/.cer/.crt/.pem, .crl, deviation lists).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A self-signed CSCA certificate (DER or PEM) to trust as an anchor: a master list
    /// is trusted only when its signer chains to an anchor or to a CSCA already trusted
    /// in the store. Imported into the store as an anchor first. Repeatable.
    #[arg(long, value_name = "CERT")]
    pub anchor: Vec<PathBuf>,
    /// Import master and deviation lists even when their signature does not verify.
    #[arg(long)]
    pub trust_unsigned: bool,
    /// Check list signer certificates at this date instead of today (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub at: Option<String>,
}

/// `--kind` of `pkd list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// CSCA and link certificates.
    Csca,
    /// Link certificates.
    Link,
    /// Document signer certificates.
    Dsc,
    /// Bar-code signer certificates (ICAO PKD o=bcsc, o=bcsc-nc; never validate an eMRTD).
    Bcsc,
    /// CRLs.
    Crl,
    /// Master lists (and deviation lists).
    Ml,
    /// Deviation lists.
    Dl,
    /// EAC CVCA certificates (CV certificates).
    Cvca,
    /// EAC document verifier certificates.
    Dv,
    /// EAC inspection system (terminal) certificates.
    Is,
}

/// Arguments of `emrtd pkd list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this country (ISO 3166 alpha-2, as in the certificates' C=).
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// Only this kind of object.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
}

/// Arguments of `emrtd pkd remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// SHA-256 fingerprint (hex) or a unique prefix of it.
    #[arg(value_name = "FINGERPRINT")]
    pub fingerprint: String,
}

/// Parse `YYYY-MM-DD` as midnight UTC.
pub fn parse_date(s: &str) -> anyhow::Result<OffsetDateTime> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s.trim(), &fmt)
        .with_context(|| format!("invalid date {s:?}: expected YYYY-MM-DD"))?;
    Ok(d.midnight().assume_utc())
}

/// Run `emrtd pkd ...`.
pub fn run(args: &PkdArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    match &args.command {
        PkdCommand::Import(a) => run_import(a, global),
        PkdCommand::List(a) => run_list(a, global),
        PkdCommand::Stats => run_stats(global),
        PkdCommand::Remove(a) => run_remove(a, global),
        PkdCommand::Sync(a) => super::pkd_sync::run(a, global),
    }
}

#[derive(serde::Serialize)]
struct ImportJson<'a> {
    files: &'a [import::FileReport],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    anchors: &'a [import::FileReport],
}

fn run_import(a: &ImportArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let at = a.at.as_deref().map(parse_date).transpose()?;
    let opts = ImportOptions {
        trust_unsigned: a.trust_unsigned,
        at,
    };
    let mut store = global.open_store()?;
    let mut anchors = Vec::with_capacity(a.anchor.len());
    for f in &a.anchor {
        let started = std::time::Instant::now();
        let r = import::import_anchor(&mut store, f);
        if !global.json {
            print_import(&r, started.elapsed(), global)?;
        }
        anchors.push(r);
    }
    if anchors.iter().any(|r| r.outcome == FileOutcome::Failed) {
        // an anchor that cannot be used must not let the lists in unanchored silently
        if global.json {
            output::print_json(&ImportJson {
                files: &[],
                anchors: &anchors,
            })?;
        }
        return Ok(Outcome::with(Exit::Error));
    }
    let mut reports = Vec::with_capacity(a.files.len());
    for f in &a.files {
        let started = std::time::Instant::now();
        let r = import::import_file(&mut store, f, &opts);
        if !global.json {
            print_import(&r, started.elapsed(), global)?;
        }
        reports.push(r);
    }
    let late = import::refresh_anchored(&store, &mut reports)?;
    if global.json {
        output::print_json(&ImportJson {
            files: &reports,
            anchors: &anchors,
        })?;
    } else {
        use output::sanitize_terminal as t;
        let mut out = output::stdout();
        for l in &late {
            writeln!(out, "{}", t(l))?;
        }
        let unanchored: Vec<&str> = reports
            .iter()
            .filter(|r| r.anchored == Some(false) && r.outcome == FileOutcome::Imported)
            .map(|r| r.path.as_str())
            .collect();
        if !unanchored.is_empty() {
            writeln!(
                out,
                "NOT ANCHORED: {}: stored, but their CSCAs validate nothing until the signer's CSCA is imported as a certificate file or named with --anchor",
                t(&unanchored.join(", "))
            )?;
        }
        out.flush()?;
    }
    let exit = if reports.iter().any(|r| r.outcome == FileOutcome::Failed) {
        Exit::Error
    } else if reports.iter().any(|r| r.outcome == FileOutcome::Refused) {
        Exit::Invalid
    } else {
        Exit::Ok
    };
    Ok(Outcome::with(exit))
}

/// One import's human report; the path, errors and notes are sanitised (they quote
/// file names, subjects and content).
fn print_import(
    r: &import::FileReport,
    took: std::time::Duration,
    global: &GlobalOpts,
) -> anyhow::Result<()> {
    use output::sanitize_terminal as t;
    let kind = r
        .kind
        .map(|k| {
            serde_json::to_value(k)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .unwrap_or_else(|| "unknown".into());
    let sig = serde_json::to_value(r.signature)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let verdict = match r.outcome {
        FileOutcome::Imported => "",
        FileOutcome::Refused => " REFUSED",
        FileOutcome::Failed => " FAILED",
    };
    let anchored = match (r.anchored, r.anchor.as_deref()) {
        (Some(true), Some(a)) => format!(", anchored (anchor {a})"),
        (Some(true), None) => ", anchored".to_owned(),
        (Some(false), _) => ", NOT anchored".to_owned(),
        (None, Some(a)) => format!(", trust anchor {a}"),
        (None, None) => String::new(),
    };
    let mut out = output::stdout();
    writeln!(
        out,
        "{}: {kind}, signature {sig}{}: {} added, {} duplicate, {} rejected{verdict} ({:.1}s)",
        t(&r.path),
        t(&anchored),
        r.added,
        r.duplicate,
        r.rejected,
        took.as_secs_f64()
    )?;
    for e in &r.errors {
        writeln!(out, "  error: {}", t(e))?;
    }
    if r.errors_omitted > 0 {
        writeln!(out, "  … and {} more errors", r.errors_omitted)?;
    }
    out.flush()?;
    if !global.quiet {
        for n in &r.notes {
            output::diag(format_args!("  note: {}", t(n)));
        }
    }
    Ok(())
}

fn run_list(a: &ListArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let store = global.open_store()?;
    let (kind, cv_role) = match a.kind {
        None => (None, None),
        Some(KindArg::Csca) => (Some(ListKind::Csca), None),
        Some(KindArg::Link) => (Some(ListKind::Link), None),
        Some(KindArg::Dsc) => (Some(ListKind::Dsc), None),
        Some(KindArg::Bcsc) => (Some(ListKind::Bcsc), None),
        Some(KindArg::Dl) => (Some(ListKind::Dl), None),
        Some(KindArg::Crl) => (Some(ListKind::Crl), None),
        Some(KindArg::Ml) => (Some(ListKind::Ml), None),
        Some(KindArg::Cvca) => (None, Some("cvca")),
        Some(KindArg::Dv) => (None, Some("dv")),
        Some(KindArg::Is) => (None, Some("is")),
    };
    let entries = if cv_role.is_some() {
        Vec::new()
    } else {
        store.list(a.country.as_deref(), kind)?
    };
    let cv_entries = if kind.is_none() {
        crate::pki::cvc_store::list(store.connection(), cv_role, a.country.as_deref())?
    } else {
        Vec::new()
    };
    if global.json {
        #[derive(serde::Serialize)]
        #[serde(untagged)]
        enum E<'a> {
            X509(&'a store::ListEntry),
            Cv(&'a crate::pki::cvc_store::CvEntry),
        }
        #[derive(serde::Serialize)]
        struct J<'a> {
            entries: Vec<E<'a>>,
        }
        let entries = entries
            .iter()
            .map(E::X509)
            .chain(cv_entries.iter().map(E::Cv))
            .collect();
        output::print_json(&J { entries })?;
        return Ok(Outcome::ok());
    }
    use output::sanitize_terminal as t;
    let mut out = output::stdout();
    for e in &cv_entries {
        writeln!(
            out,
            "{}  cv-{:<6} {}  {} (by {})  {} .. {}  {}  CHAT {}  signature {}",
            t(e.sha256.get(..16).unwrap_or(&e.sha256)),
            t(&e.role),
            t(e.country.as_deref().unwrap_or("??")),
            t(&e.subject),
            t(&e.issuer),
            t(&e.effective),
            t(&e.expiration),
            t(&e.key),
            t(&e.chat),
            t(&e.signature),
        )?;
    }
    for e in &entries {
        let fp = t(e.fingerprint.get(..16).unwrap_or(&e.fingerprint));
        let country = t(e.country.as_deref().unwrap_or("??"));
        match e.kind {
            "certificate" => writeln!(
                out,
                "{fp}  {:<9} {country}  {}  {} .. {}  {}{}{}{}",
                t(e.role.as_deref().unwrap_or("")),
                t(&e.subject),
                date(e.not_before.as_deref()),
                date(e.not_after.as_deref()),
                t(e.key.as_deref().unwrap_or("")),
                trust_label(e),
                if e.non_conformant {
                    format!(
                        "  [non-conformant: {}]",
                        t(e.conformance_code.as_deref().unwrap_or("no code"))
                    )
                } else {
                    String::new()
                },
                if e.withdrawn {
                    "  [withdrawn: no source left]"
                } else {
                    ""
                },
            ),
            "crl" => writeln!(
                out,
                "{fp}  crl       {country}  {}  this {} next {}  {} entries  signature {}",
                t(&e.issuer),
                t(date(e.this_update.as_deref())),
                t(date(e.next_update.as_deref())),
                e.count.unwrap_or(0),
                t(e.signature.as_deref().unwrap_or(""))
            ),
            kind => writeln!(
                out,
                "{fp}  {kind:<9} {country}  signer {}  signed {}  {} entries  signature {}{}",
                t(&e.subject),
                t(date(e.this_update.as_deref())),
                e.count.unwrap_or(0),
                t(e.signature.as_deref().unwrap_or("")),
                match (e.anchored, e.anchor.as_deref()) {
                    (Some(true), Some(a)) => format!("  anchored by {}", t(a.get(..16).unwrap_or(a))),
                    (Some(true), None) => "  anchored".to_owned(),
                    (Some(false), _) => "  [NOT anchored: its CSCAs validate nothing]".to_owned(),
                    _ => String::new(),
                }
            ),
        }?;
    }
    out.flush()?;
    if !global.quiet {
        output::diag(format_args!("{} object(s)", entries.len() + cv_entries.len()));
    }
    Ok(Outcome::ok())
}

fn trust_label(e: &store::ListEntry) -> String {
    let ca = matches!(e.role.as_deref(), Some("csca" | "link"));
    match (e.trusted, e.trust.as_deref()) {
        (Some(true), Some(t @ ("direct" | "anchor" | "unsigned"))) => format!("  [anchor: {t}]"),
        (Some(true), Some(t)) => format!(
            "  [trusted: {t}, anchor {}]",
            e.anchor.as_deref().and_then(|a| a.get(..16)).unwrap_or("?")
        ),
        (Some(true), None) => "  [trusted]".to_owned(),
        _ if ca => "  [NOT trusted]".to_owned(),
        _ => String::new(),
    }
}

fn date(s: Option<&str>) -> &str {
    s.and_then(|s| s.get(..10)).unwrap_or("-")
}

fn run_stats(global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let store = global.open_store()?;
    let stats = store.stats()?;
    let anchors = store.anchors()?;
    if global.json {
        #[derive(serde::Serialize)]
        struct J<'a> {
            countries: &'a [store::CountryStats],
            anchors: &'a [store::AnchorInfo],
        }
        output::print_json(&J {
            countries: &stats,
            anchors: &anchors,
        })?;
        return Ok(Outcome::ok());
    }
    use output::sanitize_terminal as t;
    let mut out = output::stdout();
    writeln!(
        out,
        "{:<7} {:>6} {:>6} {:>7} {:>5}  {:<12} {:<6} {:<12} {:>9} {:>12}",
        "country",
        "cscas",
        "links",
        "dscs",
        "crls",
        "crl next",
        "stale",
        "newest ML",
        "untrusted",
        "ML unanchored"
    )?;
    for s in &stats {
        writeln!(
            out,
            "{:<7} {:>6} {:>6} {:>7} {:>5}  {:<12} {:<6} {:<12} {:>9} {:>12}",
            t(&s.country),
            s.cscas,
            s.links,
            s.dscs,
            s.crls,
            t(date(s.crl_next_update.as_deref())),
            if s.crl_stale { "STALE" } else { "" },
            t(date(s.newest_master_list.as_deref())),
            s.untrusted_cas,
            format!("{}/{}", s.master_lists_unanchored, s.master_lists)
        )?;
    }
    writeln!(out, "anchors ({}):", anchors.len())?;
    for a in &anchors {
        writeln!(
            out,
            "  {}  {:<8} {}  {}  (until {}; {} certificate(s), {} master list(s) hang on it)",
            t(&a.fingerprint),
            t(&a.trust),
            t(a.country.as_deref().unwrap_or("??")),
            t(&a.subject),
            t(date(a.not_after.as_deref())),
            a.dependents,
            a.master_lists
        )?;
    }
    let untrusted: i64 = stats.iter().map(|s| s.untrusted_cas).sum();
    let unanchored: i64 = stats.iter().map(|s| s.master_lists_unanchored).sum();
    if untrusted > 0 || unanchored > 0 {
        writeln!(
            out,
            "NOT TRUSTED: {untrusted} CSCA/link certificate(s) validate nothing; {unanchored} master list(s) are not anchored (import the signer's CSCA as a certificate file, or use pkd import --anchor CERT)"
        )?;
    }
    out.flush()?;
    Ok(Outcome::ok())
}

fn run_remove(a: &RemoveArgs, global: &GlobalOpts) -> anyhow::Result<Outcome> {
    let mut store = global.open_store()?;
    let removed = store.remove(&a.fingerprint)?;
    if global.json {
        #[derive(serde::Serialize)]
        struct J<'a> {
            removed: &'a store::Removed,
        }
        output::print_json(&J { removed: &removed })?;
    } else {
        let mut out = output::stdout();
        writeln!(
            out,
            "removed {} {}",
            removed.kind,
            output::sanitize_terminal(&removed.fingerprint)
        )?;
        out.flush()?;
    }
    Ok(Outcome::ok())
}

//! `make bench`, section `ldap`: `emrtd pkd sync` from a real slapd on loopback against
//! `emrtd pkd import` of the same LDIF, OpenLDAP's own `slapadd` of it, a delta sync,
//! and 50 desks syncing at once (docs/benchmarks.md, docs/pkd-sync.md).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::slapd::{self, Config, Slapd};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const BASE: &str = emrtd::pki::pkd_tree::PKD_DOWNLOAD_BASE;

const ANCHORS: &[&str] = &[
    "10-ut-csca-1.cer",
    "10-ut-csca-2.cer",
    "10-xa-csca-explicit.cer",
    "10-xb-csca.pem",
    "10-xc-csca-expired.cer",
];

/// The mirror's `syncprov-sessionlog`: more than the changes between two desk runs.
const SESSIONLOG: usize = 10_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn clean(p: &Path) {
    for ext in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{ext}", p.display()));
    }
}

/// A store holding only the fixture anchors (what a desk starts from), copied to `to`.
fn anchored_store(emrtd: &str, root: &Path, template: &Path, to: &Path) -> Res<()> {
    if !template.exists() {
        let mut c = Command::new(emrtd);
        c.arg("--store").arg(template).args(["-q", "pkd", "import"]);
        for a in ANCHORS {
            c.arg(root.join("pkd-fixtures/pki").join(a));
        }
        let o = c.output()?;
        if !o.status.success() {
            return Err(format!("anchor import: {}", String::from_utf8_lossy(&o.stderr)).into());
        }
    }
    clean(to);
    std::fs::copy(template, to)?;
    Ok(())
}

fn sync(emrtd: &str, store: &Path, url: &str) -> Res<(f64, serde_json::Value)> {
    let t = Instant::now();
    let o = Command::new(emrtd)
        .arg("--store")
        .arg(store)
        .args(["--json", "pkd", "sync", url])
        .output()?;
    let s = t.elapsed().as_secs_f64();
    if !o.status.success() {
        return Err(format!("pkd sync: {}", String::from_utf8_lossy(&o.stderr)).into());
    }
    Ok((s, serde_json::from_slice(&o.stdout)?))
}

/// What a store holds, as one digest: every live object's SHA-256 and every directory
/// entry's DN and version (two stores synced from one directory must agree).
fn digest(store: &Path) -> Res<String> {
    use sha2::Digest;
    let conn = rusqlite::Connection::open(store)?;
    let mut h = sha2::Sha256::new();
    for q in [
        "SELECT hex(sha256) FROM certificates WHERE withdrawn = 0 ORDER BY sha256",
        "SELECT hex(sha256) FROM crls WHERE withdrawn = 0 ORDER BY sha256",
        "SELECT hex(sha256) FROM master_lists WHERE withdrawn = 0 ORDER BY sha256",
        "SELECT dn_norm || ' ' || COALESCE(pkd_version, -1) FROM dir_entries ORDER BY dn_norm",
    ] {
        let mut st = conn.prepare(q)?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        for r in rows {
            h.update(r?.as_bytes());
            h.update(b"\n");
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// The section: figures (name, value) and the report text.
pub fn section(
    emrtd: &str,
    root: &Path,
    out: &Path,
    n_dsc: usize,
    n_crl: usize,
    desks: usize,
) -> Res<(Vec<(String, f64)>, String)> {
    if let Some(why) = slapd::unavailable() {
        return Err(format!("slapd unavailable ({why}): `make deps` installs it").into());
    }
    let dir = out.join("ldap");
    std::fs::create_dir_all(&dir)?;
    let t = Instant::now();
    let (tree, entries) = slapd::build_tree(&dir.join("tree"), n_dsc, n_crl, Vec::new());
    let tree_bytes = std::fs::metadata(&tree)?.len();
    println!(
        "  tree: {entries} PKD entries, {:.1} MB, generated in {:.1?}",
        tree_bytes as f64 / 1e6,
        t.elapsed()
    );
    let template = dir.join("anchors.db");
    clean(&template);

    // OpenLDAP's slapadd of the same LDIF into an empty database (a mirror's bulk load)
    let mut slapadd = Vec::new();
    for i in 0..2 {
        slapadd.push(slapd::slapadd_only(&dir.join(format!("slapadd-{i}")), &tree).as_secs_f64());
    }
    let slapadd_s = median(slapadd);

    // emrtd pkd import of the same file (fresh store with the anchors)
    let mut import = Vec::new();
    for _ in 0..3 {
        let store = dir.join("import.db");
        anchored_store(emrtd, root, &template, &store)?;
        let t = Instant::now();
        let o = Command::new(emrtd)
            .arg("--store")
            .arg(&store)
            .args(["-q", "pkd", "import"])
            .arg(&tree)
            .output()?;
        import.push(t.elapsed().as_secs_f64());
        if !o.status.success() {
            return Err(format!("pkd import: {}", String::from_utf8_lossy(&o.stderr)).into());
        }
    }
    let import_s = median(import);

    // the same tree served by slapd on loopback, as a mirror is configured
    // (docs/pkd-sync.md): syncprov with a session log, so that a desk's delta is a
    // content-synchronisation refresh from its cookie; full syncs into fresh stores
    let server = Slapd::start(
        &dir.join("slapd"),
        Config {
            load: Some(tree.clone()),
            provider: true,
            sessionlog: Some(SESSIONLOG),
            ..Config::default()
        },
    );
    let url = server.url(BASE);
    let mut full = Vec::new();
    let mut added = 0;
    let desk = dir.join("desk.db");
    for _ in 0..3 {
        anchored_store(emrtd, root, &template, &desk)?;
        let (s, j) = sync(emrtd, &desk, &url)?;
        added = j["added"].as_u64().unwrap_or(0);
        full.push(s);
    }
    let full_s = median(full);

    // 300 changes after a full sync: 100 entries deleted, 100 with a new pkdVersion,
    // 100 added back under their DN with a new pkdVersion (the last run's desk store)
    let dns = server.dns(
        &format!("dc=data,{BASE}"),
        "(&(objectClass=inetOrgPerson)(pkdVersion>=1001))",
    );
    let mut delta = Vec::new();
    let mut delta_report = serde_json::Value::Null;
    let mut listing = Vec::new();
    let mut listing_report = serde_json::Value::Null;
    for round in 0..3usize {
        let chunk: Vec<&String> = dns.iter().skip(round * 200).take(200).collect();
        if chunk.len() < 200 {
            break;
        }
        let mut ldif = String::new();
        for (i, dn) in chunk.iter().enumerate() {
            let v = 200_000 + round * 1000 + i;
            if i < 100 {
                ldif.push_str(&format!(
                    "dn: {dn}\nchangetype: modify\nreplace: pkdVersion\npkdVersion: {v}\n-\n\n"
                ));
            } else {
                ldif.push_str(&format!("dn: {dn}\nchangetype: delete\n\n"));
            }
        }
        server.modify(&ldif);
        // 100 of the deleted ones come back (added) with a new version: copy them from
        // the tree file's records
        let back: Vec<&String> = chunk.iter().skip(100).take(100).copied().collect();
        let re_add = readd_ldif(&tree, &back, 300_000 + round * 1000)?;
        server.modify(&re_add);
        // and 100 more deleted, so that 300 entries changed in all
        let more: Vec<&String> = dns.iter().skip(600 + round * 100).take(100).collect();
        let del: String = more
            .iter()
            .map(|dn| format!("dn: {dn}\nchangetype: delete\n\n"))
            .collect();
        server.modify(&del);
        // the same changes by the listing path (a mirror without syncprov, a desk
        // without a cookie): a copy of the desk store before this round, cookie removed
        let no_cookie = dir.join("desk-listing.db");
        clean(&no_cookie);
        for ext in ["", "-wal"] {
            let from = format!("{}{ext}", desk.display());
            if Path::new(&from).exists() {
                std::fs::copy(&from, format!("{}{ext}", no_cookie.display()))?;
            }
        }
        rusqlite::Connection::open(&no_cookie)?.execute("DELETE FROM dir_sync", [])?;
        let (s, j) = sync(emrtd, &desk, &url)?;
        delta.push(s);
        delta_report = j;
        let (s, j) = sync(emrtd, &no_cookie, &url)?;
        listing.push(s);
        listing_report = j;
    }
    let delta_s = median(delta);
    let listing_s = median(listing);
    clean(&dir.join("desk-listing.db"));

    // 50 desks at once, each from a fresh store; all must end identical
    let mut stores = Vec::new();
    for i in 0..desks {
        let p = dir.join(format!("desk-{i}.db"));
        anchored_store(emrtd, root, &template, &p)?;
        stores.push(p);
    }
    let t = Instant::now();
    let children: Vec<_> = stores
        .iter()
        .map(|p| {
            Command::new(emrtd)
                .arg("--store")
                .arg(p)
                .args(["-q", "pkd", "sync", &url, "--timeout", "600"])
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let mut failed = 0;
    for mut c in children {
        if !c.wait()?.success() {
            failed += 1;
        }
    }
    let desks_s = t.elapsed().as_secs_f64();
    let digests: Vec<String> = stores.iter().map(|p| digest(p)).collect::<Result<_, _>>()?;
    let reference = digest(&desk)?;
    let consistent = failed == 0 && digests.iter().all(|d| *d == reference);
    for p in &stores {
        clean(p);
    }

    let figures = vec![
        ("ldap_full_sync_s".to_owned(), full_s),
        ("ldap_ldif_import_s".to_owned(), import_s),
        ("ldap_delta_sync_s".to_owned(), delta_s),
        ("ldap_delta_listing_s".to_owned(), listing_s),
        ("slapadd_s".to_owned(), slapadd_s),
        ("desks_50_s".to_owned(), desks_s),
        ("desks_consistent".to_owned(), if consistent { 1.0 } else { 0.0 }),
    ];
    let mut text = String::from("\n## LDAP PKD mirror: `emrtd pkd sync` (slapd on loopback)\n\n");
    text.push_str(&format!(
        "Tree: the fixture PKI plus {n_dsc} generated DSCs and {n_crl} CRLs, {entries} PKD entries ({:.1} MB of LDIF \
with its containers). `emrtd pkd import` of that LDIF into a store holding the fixture anchors: **{import_s:.3} s** \
(median of 3). `emrtd pkd sync ldap://127.0.0.1:PORT/{BASE}` into the same kind of store (whole process: schema \
check, paged listing, paged fetch per collection, one transaction): **{full_s:.3} s** (median of 3, {added} entries \
added), {:.2}× the import (target ≤ 2×).\n\n",
        tree_bytes as f64 / 1e6,
        full_s / import_s
    ));
    text.push_str(&format!(
        "Delta: 300 changed entries (100 with a new pkdVersion, 100 deleted and added back with a new one, 100 deleted) \
after a full sync: **{delta_s:.3} s** (median of 3 rounds), {:.3}× the full sync (target ≤ 0.1×). Last round: {}.\n\n",
        delta_s / full_s,
        serde_json::json!({
            "added": delta_report["added"],
            "removed": delta_report["removed"],
            "unchanged": delta_report["unchanged"],
            "fetched_individually": delta_report["fetched_individually"],
            "content_sync": delta_report["content_sync"],
        })
    ));
    text.push_str(&format!(
        "The same deltas by the listing path (a desk without a cookie, as against a mirror without syncprov): \
**{listing_s:.3} s** (median of 3), {:.3}× the full sync. Last round: {}.\n\n",
        listing_s / full_s,
        serde_json::json!({
            "added": listing_report["added"],
            "removed": listing_report["removed"],
            "content_sync": listing_report["content_sync"],
        })
    ));
    text.push_str(&format!(
        "OpenLDAP `slapadd -q` of the same LDIF into an empty mdb database: **{slapadd_s:.3} s** (median of 2); \
`emrtd pkd import` is {:.2}× that (target ≤ 0.5×).\n\n",
        import_s / slapadd_s
    ));
    text.push_str(&format!(
        "{desks} desks syncing at once from that one slapd, each from an empty store with the anchors: all done in \
**{desks_s:.1} s**; {failed} failed; stores identical to a single desk's (live objects and directory entries): \
**{}**.\n",
        if consistent { "yes" } else { "NO" }
    ));
    Ok((figures, text))
}

/// A DN with its values unescaped and lowercased (slapd answers `CN\3DDS…`, the tree
/// file has `CN\=DS…`).
fn canon(dn: &str) -> String {
    use emrtd::pki::pkd_tree::{rdn_pair, split_dn, split_rdn};
    split_dn(dn)
        .iter()
        .map(|r| {
            split_rdn(r)
                .into_iter()
                .filter_map(rdn_pair)
                .map(|(t, v)| format!("{t}={}", v.to_lowercase()))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// LDIF `add` records for `dns` from the tree file, with new pkdVersions from `from`.
fn readd_ldif(tree: &Path, dns: &[&String], from: usize) -> Res<String> {
    let want: std::collections::HashMap<String, usize> =
        dns.iter().enumerate().map(|(i, d)| (canon(d), i)).collect();
    let mut out = Vec::new();
    for r in emrtd::pki::fixtures::pkd_tree::read_ldif(tree)? {
        let Some(i) = want.get(&canon(&r.dn)) else {
            continue;
        };
        let v = (from + i).to_string();
        let mut attrs: Vec<(&str, &[u8], bool)> = vec![("changetype", b"add", false)];
        for a in &r.attrs {
            if a.name.eq_ignore_ascii_case("pkdVersion") {
                attrs.push(("pkdVersion", v.as_bytes(), false));
            } else {
                attrs.push((a.name.as_str(), a.value.as_slice(), a.name.contains(";binary")));
            }
        }
        emrtd::pki::ldif::write_record(&mut out, &r.dn, &attrs)?;
    }
    if want.len() != dns.len() || out.is_empty() {
        return Err(format!(
            "{} of {} entries to add back not found in the tree",
            dns.len(),
            dns.len()
        )
        .into());
    }
    Ok(String::from_utf8(out)?)
}

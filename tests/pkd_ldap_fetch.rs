//! The LDAP side of `emrtd pkd sync` (`emrtd::pki::sync::fetch`) against a real
//! OpenLDAP slapd started here (tests/support/slapd.rs) and loaded with slapadd from a
//! PKD-shaped tree (`emrtd::pki::pkd_tree`): the fixture PKI plus 1,500 generated DSCs.
//! The server answers anonymous searches with at most 1,000 entries unless paged, so
//! the listing proves paging; incremental runs fetch by `(pkdVersion>=N)`, and an entry
//! that appears with an old version is still found (from the listing) and fetched alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/slapd.rs"]
mod slapd;
mod support;

use emrtd::pki::pkd_tree::PKD_DOWNLOAD_BASE;
use emrtd::pki::sync::{self, Collection, Fetched, Known, NoProgress, SyncOptions, SyncUrl};
use slapd::{Config, Slapd};

fn known_from(f: &Fetched, base: &str) -> Known {
    let mut k = Known::default();
    for e in &f.entries {
        k.entries.insert(sync::normalize_dn(&e.dn), e.version);
        if let (Some(c), Some(v)) = (Collection::of_dn(&e.dn, base), e.version) {
            let m = k.max_version.entry(c).or_insert(0);
            *m = (*m).max(v);
        }
    }
    k
}

#[test]
fn fetch_pages_and_is_incremental_by_pkd_version() {
    if let Some(why) = slapd::unavailable() {
        support::skip_without("slapd", &why);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (tree, entries) = slapd::build_tree(&tmp.path().join("tree"), 1500, 5, Vec::new());
    let server = Slapd::start(
        &tmp.path().join("slapd"),
        Config {
            load: Some(tree),
            ..Config::default()
        },
    );
    assert_eq!(
        server.count(PKD_DOWNLOAD_BASE, "(objectClass=pkdDownload)"),
        entries
    );
    let url = SyncUrl::parse(&server.url(PKD_DOWNLOAD_BASE)).unwrap();
    let opts = SyncOptions::default();

    // first run: everything, paged (more than the server's 1,000 unpaged limit)
    let full = sync::fetch(&url, &opts, &Known::default(), &NoProgress).unwrap();
    assert!(
        full.ordering,
        "our schema gives pkdVersion an ORDERING rule and the client sees it"
    );
    assert!(entries > 1000);
    assert_eq!(full.listing.len(), entries);
    assert_eq!(full.entries.len(), entries);
    assert_eq!(full.fetched_individually, 0);
    let with = |name: &str| {
        full.entries
            .iter()
            .filter(|e| e.attrs.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
            .count()
    };
    assert_eq!(with("pkdMasterListContent"), 1);
    assert_eq!(with("pkdDeviationListContent"), 1);
    assert!(with("userCertificate;binary") >= 1500);
    assert!(with("certificateRevocationList;binary") >= 5);
    let nc = full
        .entries
        .iter()
        .filter(|e| Collection::of_dn(&e.dn, PKD_DOWNLOAD_BASE) == Some(Collection::Nc003))
        .count();
    assert_eq!(nc, 1, "the non-conformant collection");
    // the values are the DER the tree was made from
    let ml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/pki/31-icaopkd-002-ml.ldif"),
    )
    .unwrap();
    let mut r = emrtd::pki::ldif::LdifReader::new(ml.as_bytes());
    let rec = std::iter::from_fn(|| r.next_record().unwrap())
        .find(|r| !r.dn.is_empty())
        .unwrap();
    let want = &rec.get("pkdMasterListContent").unwrap().value;
    let got = full
        .entries
        .iter()
        .flat_map(|e| &e.attrs)
        .find(|(n, _)| n.eq_ignore_ascii_case("pkdMasterListContent"))
        .map(|(_, v)| v)
        .unwrap();
    assert_eq!(got, want);

    // nothing changed: nothing fetched
    let known = known_from(&full, PKD_DOWNLOAD_BASE);
    let again = sync::fetch(&url, &opts, &known, &NoProgress).unwrap();
    assert_eq!(again.listing.len(), entries);
    assert!(
        again.entries.is_empty(),
        "{} entries fetched again",
        again.entries.len()
    );

    // a new entry above the highest version comes with the version filter; one below
    // it (a replica that got it late) is found in the listing and fetched alone
    let der =
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures/keys/xc-dsc.cer"))
            .unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let entry = |sn: &str, version: u32| {
        format!(
            "dn: cn=CN\\=DS XC\\,C\\=XC+sn={sn},o=dsc,c=XB,dc=data,{PKD_DOWNLOAD_BASE}\nchangetype: add\n\
             objectClass: inetOrgPerson\nobjectClass: pkdDownload\ncn: CN=DS XC,C=XC\nsn: {sn}\npkdVersion: {version}\n\
             userCertificate;binary:: {b64}\n\n"
        )
    };
    server.modify(&(entry("91", 99_999) + &entry("92", 3)));
    let delta = sync::fetch(&url, &opts, &known, &NoProgress).unwrap();
    let mut dns: Vec<&str> = delta.entries.iter().map(|e| e.dn.as_str()).collect();
    dns.sort();
    assert_eq!(dns.len(), 2, "{dns:?}");
    assert!(dns[0].contains("sn=91") && dns[1].contains("sn=92"), "{dns:?}");
    assert_eq!(
        delta.fetched_individually, 1,
        "the low-version entry came from the listing"
    );

    // a server that is not there: a network error after the retries, quickly
    let gone = SyncUrl::parse(&format!(
        "ldap://127.0.0.1:{}/{PKD_DOWNLOAD_BASE}",
        slapd::free_port()
    ))
    .unwrap();
    let quick = SyncOptions {
        retries: 1,
        backoff: std::time::Duration::from_millis(10),
        ..SyncOptions::default()
    };
    let err = sync::fetch(&gone, &quick, &Known::default(), &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2 attempt(s)") && err.contains("is the directory server running"),
        "{err}"
    );
}

//! Import benchmark: `cargo run --release --example pki_bench_ldif -- [N_DSC] [N_CRL] [FILE]`.
//! Generates an ICAO-format LDIF (30,000 DSCs and 69 CRLs by default, like the real
//! collection 001), then imports it into a fresh on-disk store and prints the times.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n_dsc: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(30_000);
    let n_crl: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(69);
    let dir = tempfile::tempdir()?;
    let path = match args.next() {
        Some(p) => std::path::PathBuf::from(p),
        None => dir.path().join("bench.ldif"),
    };
    if !path.exists() {
        let t = Instant::now();
        let info = emrtd::pki::fixtures::write_big_ldif(&path, n_dsc, n_crl)?;
        println!(
            "generated {} DSCs + {} CRLs ({} MB) in {:.2?}",
            info.dscs,
            info.crls,
            info.bytes >> 20,
            t.elapsed()
        );
    }
    let t = Instant::now();
    let mut n = 0;
    let mut r = emrtd::pki::ldif::LdifReader::new(std::io::BufReader::new(std::fs::File::open(&path)?));
    while let Some(rec) = r.next_record()? {
        for a in &rec.attrs {
            if a.name.starts_with("userCertificate") {
                emrtd::pki::cert::Certificate::from_der(&a.value)?;
                n += 1;
            }
        }
    }
    println!("read + parsed {n} certificates in {:.2?}", t.elapsed());
    let mut store = emrtd::pki::store::TrustStore::open(&dir.path().join("trust.db"))?;
    let t = Instant::now();
    let rep = emrtd::pki::import::import_file(&mut store, &path, &Default::default());
    println!(
        "imported: {} added, {} rejected in {:.2?}",
        rep.added,
        rep.rejected,
        t.elapsed()
    );
    Ok(())
}

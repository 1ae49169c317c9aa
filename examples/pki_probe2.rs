#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
use emrtd::pki::import::*;
use emrtd::pki::store::TrustStore;
fn main() {
    let mut s = TrustStore::open_in_memory().unwrap();
    let at = time::macros::datetime!(2021-12-17 12:00 UTC);
    for p in std::env::args().skip(1) {
        let t = std::time::Instant::now();
        let r = import_file(&mut s, std::path::Path::new(&p), &ImportOptions { trust_unsigned: false, at: Some(at) });
        println!("{} {:?}", serde_json::to_string(&r).unwrap(), t.elapsed());
        println!("  notes {:?}", r.notes);
    }
    println!("{:?}", s.counts().unwrap());
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
use emrtd::pki::cert::Certificate;
use emrtd::pki::masterlist::MasterList;
fn main() {
    for p in std::env::args().skip(1) {
        let b = std::fs::read(&p).unwrap();
        let ml = MasterList::parse(&b).unwrap();
        let mut explicit = 0; let mut ec = 0; let mut fail = 0; let mut selfok=0; let mut selfbad=0;
        let t = std::time::Instant::now();
        let mut countries = std::collections::BTreeSet::new();
        for c in &ml.certificates {
            match Certificate::from_der(c) {
                Ok(cert) => {
                    countries.insert(cert.country().unwrap_or_default());
                    match cert.key_info() { Ok(k) => { if k.algorithm == emrtd::pki::keys::KeyAlgorithm::Ec { ec+=1; if k.explicit_params() { explicit+=1; } } }, Err(e) => println!("key err {e:?} {}", cert.subject.display()) }
                    if cert.is_self_issued() { match cert.public_key().map(|k| cert.verify_signature(&k)) { Ok(Ok(())) => selfok+=1, e => { selfbad+=1; println!("self {} {:?} aki={:?} ski={:?}", cert.subject.display(), e.err(), cert.aki.as_ref().map(hex::encode), cert.ski.as_ref().map(hex::encode)); } } }
                    if !cert.quirks.is_empty() { println!("quirks {:?} {}", cert.quirks, cert.subject.display()); }
                }
                Err(e) => { fail+=1; println!("fail {e:?}"); }
            }
        }
        println!("{p}: {} certs, {} countries, ec {ec} explicit {explicit} fail {fail} selfok {selfok} selfbad {selfbad} in {:?}", ml.certificates.len(), countries.len(), t.elapsed());
        for c in &ml.signed_data.certificates { let c = Certificate::from_der(c).unwrap(); println!("  cms cert {} eku {:?} issuer {}", c.subject.display(), c.extended_key_usage.iter().map(|o| o.to_string()).collect::<Vec<_>>(), c.issuer.display()); }
        println!("  quirks {:?} signer sid {:?}", ml.signed_data.quirks, ml.signed_data.signer_infos[0].sid);
    }
}

//! Regenerate the test PKI: `cargo run --example gen_pki_fixtures -- pkd-fixtures`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "pkd-fixtures".into());
    let s = emrtd::pki::fixtures::generate(std::path::Path::new(&out))?;
    for f in s.pki_files.iter().chain(&s.key_files) {
        println!("{}", f.display());
    }
    Ok(())
}

//! The terminal key in a PKCS#11 token (SoftHSM2, Debian `softhsm2`): a token is made in
//! a temporary SOFTHSM2_CONF directory, the worked example's terminal keys are imported,
//! and Terminal Authentication signatures are made through the token: the RSA one must
//! equal the BSI worked example's signature byte for byte, the ECDSA one must verify with
//! the terminal certificate's key.
//!
//! `harness = false`: the parent sets the token up and runs this binary again with
//! SOFTHSM2_CONF in its environment, where the signing happens.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;

use emrtd::access::ta::{self, KeyKind, TerminalSigner};
use emrtd::pki::cvc::{CvCertificate, verify_chain};
use emrtd::pki::signature;
use emrtd::pki::terminal_pkcs11::{Pkcs11Key, Pkcs11Uri, SOFTHSM2_MODULE};

fn dir() -> String {
    format!(
        "{}/test-vectors/protocol/bsi_eac_worked_example",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn val(variant: &str, k: &str) -> Vec<u8> {
    let p = format!("{}/bsi_eac_worked_example_{variant}.json", dir());
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    hex::decode(j["values"][k].as_str().unwrap()).unwrap()
}

fn cert(name: &str) -> CvCertificate {
    CvCertificate::from_der(&std::fs::read(format!("{}/{name}", dir())).unwrap()).unwrap()
}

fn child() {
    // RSA (DH variant): deterministic, must equal the worked example
    let check = verify_chain(
        &cert("dh_cvca.cvcert"),
        &[cert("dh_dv_cert.cvcert"), cert("dh_ta_cert.cvcert")],
        None,
    )
    .unwrap();
    let alg = check.terminal_key.algorithm().unwrap();
    let uri = Pkcs11Uri::parse(&format!(
        "pkcs11:token=eac;object=term-rsa?module-path={SOFTHSM2_MODULE}&pin-value=123456"
    ))
    .unwrap();
    let key = Pkcs11Key::open(&uri, alg).unwrap();
    let msg = ta::signature_input(
        &ta::comp(KeyKind::Dh, &val("dh", "picc_pub_key")).unwrap(),
        &val("dh", "ta_nonce"),
        &ta::comp(KeyKind::Dh, &val("dh", "ca_pcd_pub_key")).unwrap(),
    );
    assert_eq!(
        hex::encode_upper(key.sign(&msg).unwrap()),
        hex::encode_upper(val("dh", "ta_pcd_signature"))
    );
    drop(key);

    // ECDSA (ECDH variant, brainpoolP512r1): verifies with the certificate's key
    let check = verify_chain(
        &cert("ecdh_cvca_cert.cvcert"),
        &[cert("ecdh_dv_cert.cvcert"), cert("ecdh_ta_cert.cvcert")],
        None,
    )
    .unwrap();
    let alg = check.terminal_key.algorithm().unwrap();
    let uri = Pkcs11Uri::parse(&format!(
        "pkcs11:token=eac;id=%02?module-path={SOFTHSM2_MODULE}&pin-value=123456"
    ))
    .unwrap();
    let key = Pkcs11Key::open(&uri, alg).unwrap();
    let msg = ta::signature_input(
        &ta::comp(KeyKind::Ec, &val("ecdh", "picc_pub_key")).unwrap(),
        &val("ecdh", "ta_nonce"),
        &ta::comp(KeyKind::Ec, &val("ecdh", "ca_pcd_pub_key")).unwrap(),
    );
    let sig = key.sign(&msg).unwrap();
    assert_eq!(sig.len(), 128);
    let pk = check.terminal_key.to_public_key(None).unwrap();
    signature::verify(&alg.signature_algorithm(), &pk, &msg, &sig).unwrap();
    drop(key);
    // a wrong PIN is an error, not a signature
    let bad = Pkcs11Uri::parse(&format!(
        "pkcs11:token=eac;id=%02?module-path={SOFTHSM2_MODULE}&pin-value=000000"
    ))
    .unwrap();
    let e = Pkcs11Key::open(&bad, alg).unwrap_err();
    assert!(e.contains("login"), "{e}");
    println!("pkcs11 child: ok");
}

/// The key as PKCS#8 PEM; EC keys re-encoded with a named curve (SoftHSM2 does not take
/// explicit parameters).
fn pem(pkcs8_der: &[u8]) -> Vec<u8> {
    let k = openssl::pkey::PKey::private_key_from_pkcs8(pkcs8_der).unwrap();
    if let Ok(ec) = k.ec_key() {
        let g = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::BRAINPOOL_P512R1).unwrap();
        let named =
            openssl::ec::EcKey::from_private_components(&g, ec.private_key(), ec.public_key()).unwrap();
        return openssl::pkey::PKey::from_ec_key(named)
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
    }
    k.private_key_to_pem_pkcs8().unwrap()
}

fn softhsm(conf: &Path, args: &[&str]) {
    let out = Command::new("softhsm2-util")
        .args(args)
        .env("SOFTHSM2_CONF", conf)
        .output()
        .expect("softhsm2-util not found: install Debian's softhsm2 (make deps)");
    assert!(
        out.status.success(),
        "softhsm2-util {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn main() {
    if std::env::var_os("EMRTD_TEST_PKCS11_CHILD").is_some() {
        child();
        return;
    }
    assert!(
        Path::new(SOFTHSM2_MODULE).exists(),
        "{SOFTHSM2_MODULE} missing: install Debian's softhsm2 (make deps)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let tokens = tmp.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = tmp.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    softhsm(
        &conf,
        &[
            "--init-token",
            "--free",
            "--label",
            "eac",
            "--pin",
            "123456",
            "--so-pin",
            "654321",
        ],
    );
    for (file, label, id) in [
        ("dh_ta_pcd_key.pkcs8.der", "term-rsa", "01"),
        ("ecdh_ta_pcd_key.pkcs8.der", "term-ec", "02"),
    ] {
        let p = tmp.path().join(format!("{label}.pem"));
        std::fs::write(&p, pem(&std::fs::read(format!("{}/{file}", dir())).unwrap())).unwrap();
        softhsm(
            &conf,
            &[
                "--import",
                p.to_str().unwrap(),
                "--token",
                "eac",
                "--label",
                label,
                "--id",
                id,
                "--pin",
                "123456",
            ],
        );
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .env("SOFTHSM2_CONF", &conf)
        .env("EMRTD_TEST_PKCS11_CHILD", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("pkcs11 child: ok"),
        "{text}"
    );
    println!("ta_pkcs11: RSA signature equals the worked example, ECDSA verifies, wrong PIN refused");
    #[cfg(feature = "emulator")]
    eac_booklet_through_pkcs11(&conf, tmp.path());
}

/// `emrtd read|verify --emulator pkd-fixtures/booklets/eac.toml` with the terminal key of
/// pkd-fixtures/eac in the token (`--eac-key pkcs11:…`, PIN from a file): DG3 and DG4
/// are read and pass their hash checks, the verdict is VALID.
#[cfg(feature = "emulator")]
fn eac_booklet_through_pkcs11(conf: &Path, tmp: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkd-fixtures");
    softhsm(
        conf,
        &[
            "--import",
            root.join("eac/keys/ut-is.key.pem").to_str().unwrap(),
            "--token",
            "eac",
            "--label",
            "ut-is",
            "--id",
            "03",
            "--pin",
            "123456",
        ],
    );
    let pin = tmp.join("pin");
    std::fs::write(&pin, "123456\n").unwrap();
    let uri = format!(
        "pkcs11:token=eac;object=ut-is?module-path={SOFTHSM2_MODULE}&pin-source={}",
        pin.display()
    );
    let emrtd = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_emrtd"))
            .args(args)
            .env("SOFTHSM2_CONF", conf)
            .env_remove("EMRTD_STORE")
            .env_remove("EMRTD_MRZ")
            .env_remove("EMRTD_CAN")
            .output()
            .unwrap()
    };
    let store = tmp.join("trust.db");
    let mut pki: Vec<String> = std::fs::read_dir(root.join("pki"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    pki.sort();
    let mut args = vec!["--store", store.to_str().unwrap(), "-q", "pkd", "import"];
    args.extend(pki.iter().map(String::as_str));
    assert!(emrtd(&args).status.success());
    let booklet = root.join("booklets/eac.toml");
    let chain = root.join("eac/ut");
    let out = tmp.join("dump");
    let o = emrtd(&[
        "-q",
        "read",
        "--emulator",
        booklet.to_str().unwrap(),
        "--eac-chain",
        chain.to_str().unwrap(),
        "--eac-key",
        &uri,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(out.join("DG3.bin")).unwrap(),
        std::fs::read(root.join("booklets/data/bsi2008-dg3.bin")).unwrap()
    );
    assert!(out.join("DG4.bin").exists());
    let o = emrtd(&[
        "--store",
        store.to_str().unwrap(),
        "--json",
        "verify",
        "--emulator",
        booklet.to_str().unwrap(),
        "--eac-chain",
        chain.to_str().unwrap(),
        "--eac-key",
        &uri,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    assert_eq!(v["verdict"], "VALID");
    for id in ["pa.dg_hash.DG3", "pa.dg_hash.DG4", "eac.ta"] {
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert_eq!(c["status"], "pass", "{id}: {c:#}");
    }
    println!("ta_pkcs11: eac.toml read and verified VALID with the terminal key in SoftHSM2");
}

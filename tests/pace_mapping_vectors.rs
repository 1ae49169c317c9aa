//! PACE group arithmetic against the intermediate values of the worked examples:
//! Doc 9303 Part 11 App. G.1/G.2 (generic mapping), H.1/H.2 (integrated mapping, the
//! point encoding / exponentiation half), App. I (CAM equation), the BSI EAC worked
//! example and two real-chip sessions (gmrtd) — through `access::pace::params`.

// helpers outside #[test] functions may fail loudly: this is a test crate
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use emrtd::access::pace::mapping;
use emrtd::access::pace::params::{self, DomainParams, PrivateKey};
use openssl::bn::{BigNum, BigNumContext};
use serde_json::Value;

const TV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-vectors");

fn json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{TV}/{rel}")).unwrap()).unwrap()
}

fn hx(v: &Value, key: &str) -> Vec<u8> {
    let s = v[key].as_str().unwrap_or_else(|| panic!("missing {key}"));
    hex::decode(s).unwrap()
}

/// Strip the leading zero byte OpenPACE stores on some values.
fn strip(mut v: Vec<u8>, len: usize) -> Vec<u8> {
    while v.len() > len && v.first() == Some(&0) {
        v.remove(0);
    }
    v
}

fn up(b: &[u8]) -> String {
    hex::encode_upper(b)
}

struct Gm<'a> {
    s: &'a str,
    map_pcd_private: &'a str,
    map_pcd_public: &'a str,
    map_picc_private: Option<&'a str>,
    map_picc_public: &'a str,
    h: Option<&'a str>,
    g: &'a str,
    eph_pcd_private: &'a str,
    eph_pcd_public: &'a str,
    eph_picc_private: Option<&'a str>,
    eph_picc_public: &'a str,
    k: &'a str,
}

/// Generic mapping on both sides, then the ephemeral key agreement.
fn check_gm(params: &DomainParams, v: &Value, n: Gm<'_>) {
    let len = params.encode(&params.generator().unwrap()).unwrap().len();
    let key = |k: &str| PrivateKey::from_bytes(&strip(hx(v, k), len)).unwrap();
    let generator = params.generator().unwrap();

    // terminal: map_pcd_public = sk·G, H = sk · PK_map,IC
    let sk_map = key(n.map_pcd_private);
    let pk_map = params.multiply(&generator, sk_map.as_bn()).unwrap();
    assert_eq!(
        up(&params.encode(&pk_map).unwrap()),
        up(&strip(hx(v, n.map_pcd_public), len))
    );
    let chip_map = params
        .decode_public(&strip(hx(v, n.map_picc_public), len), "mapping key")
        .unwrap();
    let h = params.agree(&sk_map, &chip_map).unwrap();
    if let Some(hk) = n.h {
        assert_eq!(up(&params.encode(&h).unwrap()), up(&strip(hx(v, hk), len)));
    }
    // chip: H = sk_IC · PK_map,PCD
    if let Some(pk) = n.map_picc_private {
        let sk = key(pk);
        let h2 = params.agree(&sk, &pk_map).unwrap();
        assert!(params.same(&h, &h2).unwrap());
        let pub_ic = params.multiply(&generator, sk.as_bn()).unwrap();
        assert!(params.same(&pub_ic, &chip_map).unwrap());
    }
    let g = mapping::gm::map(params, &hx(v, n.s), &h).unwrap();
    assert_eq!(up(&params.encode(&g).unwrap()), up(&strip(hx(v, n.g), len)));
    check_agreement(params, v, &g, len, &n);
}

fn check_agreement(
    params: &DomainParams,
    v: &Value,
    g: &emrtd::access::pace::Element,
    len: usize,
    n: &Gm<'_>,
) {
    let key = |k: &str| PrivateKey::from_bytes(&strip(hx(v, k), len)).unwrap();
    let sk = key(n.eph_pcd_private);
    let pk = params.multiply(g, sk.as_bn()).unwrap();
    assert_eq!(
        up(&params.encode(&pk).unwrap()),
        up(&strip(hx(v, n.eph_pcd_public), len))
    );
    let chip = params
        .decode_public(&strip(hx(v, n.eph_picc_public), len), "ephemeral key")
        .unwrap();
    let k = params.shared_secret(&params.agree(&sk, &chip).unwrap()).unwrap();
    assert_eq!(up(&k), n.k_value(v));
    if let Some(c) = n.eph_picc_private {
        let skc = key(c);
        let pkc = params.multiply(g, skc.as_bn()).unwrap();
        assert!(params.same(&pkc, &chip).unwrap());
        let k2 = params.shared_secret(&params.agree(&skc, &pk).unwrap()).unwrap();
        assert_eq!(*k, *k2);
    }
}

impl Gm<'_> {
    fn k_value(&self, v: &Value) -> String {
        v[self.k].as_str().unwrap().to_string()
    }
}

const DOC9303_NAMES: Gm<'static> = Gm {
    s: "nonce_s",
    map_pcd_private: "map_pcd_private",
    map_pcd_public: "map_pcd_public",
    map_picc_private: Some("map_picc_private"),
    map_picc_public: "map_picc_public",
    h: Some("map_shared_point_h"),
    g: "mapped_generator",
    eph_pcd_private: "eph_pcd_private",
    eph_pcd_public: "eph_pcd_public",
    eph_picc_private: Some("eph_picc_private"),
    eph_picc_public: "eph_picc_public",
    k: "shared_secret_k",
};

#[test]
fn doc9303_g1_ecdh_generic_mapping() {
    let v = json("protocol/pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json");
    let params = DomainParams::standardized(13).unwrap();
    check_gm(&params, &v["expected"], DOC9303_NAMES);
}

#[test]
fn doc9303_g2_dh_generic_mapping() {
    let v = json("protocol/pace_dh_gm_1024_160_doc9303_g2.json");
    let params = DomainParams::standardized(0).unwrap();
    check_gm(
        &params,
        &v["expected"],
        Gm {
            h: Some("map_shared_secret_h"),
            ..DOC9303_NAMES
        },
    );
}

#[test]
fn rfc5114_group_0_equals_the_g2_parameters() {
    let v = json("protocol/pace_dh_gm_1024_160_doc9303_g2.json");
    let d = &v["domain_parameters"];
    let params = DomainParams::standardized(0).unwrap();
    let dh = params.dh().unwrap();
    assert_eq!(up(&dh.p().to_vec()), d["p"].as_str().unwrap());
    assert_eq!(up(&dh.g().to_vec()), d["g"].as_str().unwrap());
    assert_eq!(up(&dh.q().to_vec()), d["q"].as_str().unwrap());
}

/// RFC 5114 §2.1–2.3 groups: sizes as the RFC states, p and q prime, q | p-1, g of order q.
#[test]
fn rfc5114_groups_are_what_the_rfc_says() {
    let mut ctx = BigNumContext::new().unwrap();
    for (id, p_bits, q_bits) in [(0u32, 1024, 160), (1, 2048, 224), (2, 2048, 256)] {
        let params = DomainParams::standardized(id).unwrap();
        let dh = params.dh().unwrap();
        assert_eq!(dh.p().num_bits(), p_bits);
        assert_eq!(dh.q().num_bits(), q_bits);
        assert!(dh.p().is_prime(40, &mut ctx).unwrap());
        assert!(dh.q().is_prime(40, &mut ctx).unwrap());
        let one = BigNum::from_u32(1).unwrap();
        let mut pm1 = BigNum::new().unwrap();
        pm1.checked_sub(dh.p(), &one).unwrap();
        let mut r = BigNum::new().unwrap();
        r.nnmod(&pm1, dh.q(), &mut ctx).unwrap();
        assert_eq!(r.num_bits(), 0);
        let mut gq = BigNum::new().unwrap();
        gq.mod_exp(dh.g(), dh.q(), dh.p(), &mut ctx).unwrap();
        assert_eq!(gq, one);
    }
    // RFC 5114 text (independent of OpenSSL's built-in copies): the subgroup orders in
    // full, the moduli by their first and last words
    for (id, q, p_head, p_tail) in [
        (
            1u32,
            "801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB",
            "AD107E1E9123A9D0",
            "0AC4DFFE0C10E64F",
        ),
        (
            2,
            "8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3",
            "87A8E61DB4B6663C",
            "DB094AE91E1A1597",
        ),
    ] {
        let params = DomainParams::standardized(id).unwrap();
        let dh = params.dh().unwrap();
        assert_eq!(up(&dh.q().to_vec()), q);
        let p = up(&dh.p().to_vec());
        assert!(p.starts_with(p_head) && p.ends_with(p_tail), "{p}");
    }
}

#[test]
fn standardized_curves_by_id() {
    for (id, bits) in [
        (8u32, 192),
        (9, 192),
        (10, 224),
        (11, 224),
        (12, 256),
        (13, 256),
        (14, 320),
        (15, 384),
        (16, 384),
        (17, 512),
        (18, 521),
    ] {
        let p = DomainParams::standardized(id).unwrap();
        assert_eq!(p.prime().num_bits(), bits, "id {id}");
        assert!(p.is_ec());
        assert!(emrtd::lds::security_infos::params::standardized_name(id).is_some());
    }
    for id in [3u32, 4, 5, 6, 7, 19, 31, 32] {
        assert!(matches!(
            DomainParams::standardized(id),
            Err(emrtd::access::pace::PaceError::UnsupportedParameterId { id: x }) if x == id
        ));
    }
    // brainpoolP256r1 is parameter id 13
    let p = DomainParams::standardized(13).unwrap();
    assert_eq!(
        up(&p.prime().to_vec()),
        "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"
    );
}

#[test]
fn doc9303_h1_point_encoding() {
    let v = json("protocol/pace_ecdh_im_brainpoolp256r1_doc9303_h1.json");
    let e = &v["expected"];
    let params = DomainParams::standardized(13).unwrap();
    let r = BigNum::from_slice(&hx(e, "r_mod_p")).unwrap();
    let g = mapping::im::map(&params, &r).unwrap();
    assert_eq!(
        up(&params.encode(&g).unwrap()),
        e["mapped_generator"].as_str().unwrap()
    );
    let sk = PrivateKey::from_bytes(&hx(e, "eph_pcd_private")).unwrap();
    let pk = params.multiply(&g, sk.as_bn()).unwrap();
    assert_eq!(
        up(&params.encode(&pk).unwrap()),
        e["eph_pcd_public"].as_str().unwrap()
    );
    let chip = params
        .decode_public(&hx(e, "eph_picc_public"), "ephemeral key")
        .unwrap();
    let k = params.shared_secret(&params.agree(&sk, &chip).unwrap()).unwrap();
    assert_eq!(up(&k), e["shared_secret_k"].as_str().unwrap());
}

#[test]
fn doc9303_h2_dh_integrated_mapping_exponentiation() {
    let v = json("protocol/pace_dh_im_1024_160_doc9303_h2.json");
    let e = &v["expected"];
    let params = DomainParams::standardized(0).unwrap();
    let r = BigNum::from_slice(&hx(e, "r_mod_p")).unwrap();
    let g = mapping::im::map(&params, &r).unwrap();
    assert_eq!(
        up(&params.encode(&g).unwrap()),
        e["mapped_generator"].as_str().unwrap()
    );
    // the example's exponent is 1024 bits; g~ has order q, so x and x mod q agree
    let sk = PrivateKey::from_bytes(&hx(e, "eph_pcd_private")).unwrap();
    let pk = params.multiply(&g, sk.as_bn()).unwrap();
    assert_eq!(
        up(&params.encode(&pk).unwrap()),
        e["eph_pcd_public"].as_str().unwrap()
    );
    let chip = params
        .decode_public(&hx(e, "eph_picc_public"), "ephemeral key")
        .unwrap();
    let k = params.shared_secret(&params.agree(&sk, &chip).unwrap()).unwrap();
    assert_eq!(up(&k), e["shared_secret_k"].as_str().unwrap());
}

#[test]
fn doc9303_app_i_cam_generic_mapping_and_equation() {
    let v = json("protocol/pace_cam_ecdh_brainpoolp256r1_doc9303_appendix_i.json");
    let e = &v["expected"];
    let params = DomainParams::standardized(13).unwrap();
    check_gm(
        &params,
        e,
        Gm {
            eph_picc_private: None,
            ..DOC9303_NAMES
        },
    );
    // CA_IC · PK_IC == PK_Map,IC
    let ec = params.ec().unwrap();
    let ca = BigNum::from_slice(&hx(e, "chip_auth_data_ca_ic")).unwrap();
    let pk_ic = params::ec_point(ec, &hx(e, "chip_static_public_pk_ic")).unwrap();
    let lhs = params::ec_mul(ec, &pk_ic, &ca).unwrap();
    let map_ic = params
        .decode_public(&hx(e, "map_picc_public"), "mapping key")
        .unwrap();
    assert!(
        params
            .same(&emrtd::access::pace::Element::Ec(lhs), &map_ic)
            .unwrap()
    );
}

#[test]
fn doc9303_app_i_cam_data_a_ic() {
    use emrtd::access::pace::mapping::cam::{cam_iv, decrypt_cam_data, encrypt_cam_data};
    use emrtd::crypto::Cipher;
    let v = json("protocol/pace_cam_ecdh_brainpoolp256r1_doc9303_appendix_i.json");
    let e = &v["expected"];
    let ks_enc = hx(e, "ks_enc");
    assert_eq!(cam_iv(&ks_enc).unwrap().to_vec(), hx(e, "a_ic_iv"));
    let a_ic = hx(e, "encrypted_chip_auth_data_a_ic");
    let ca = decrypt_cam_data(Cipher::Aes128, &ks_enc, &a_ic).unwrap();
    assert_eq!(*ca, hx(e, "chip_auth_data_ca_ic"));
    assert_eq!(encrypt_cam_data(Cipher::Aes128, &ks_enc, &ca).unwrap(), a_ic);
    assert!(decrypt_cam_data(Cipher::Aes128, &ks_enc, &a_ic[..40]).is_err());
}

#[test]
fn bsi_eac_worked_example_generic_mapping() {
    let names = Gm {
        s: "nonce",
        map_pcd_private: "map_pcd_priv_key",
        map_pcd_public: "map_pcd_pub_key",
        map_picc_private: Some("map_picc_priv_key"),
        map_picc_public: "map_picc_pub_key",
        h: Some("map_shared_secret_h"),
        g: "map_generator",
        eph_pcd_private: "pcd_priv_key",
        eph_pcd_public: "pcd_pub_key",
        eph_picc_private: Some("picc_priv_key"),
        eph_picc_public: "picc_pub_key",
        k: "shared_secret_k",
    };
    let v = json("protocol/bsi_eac_worked_example/bsi_eac_worked_example_ecdh.json");
    check_gm(
        &DomainParams::standardized(13).unwrap(),
        &v["values"],
        Gm { ..names },
    );
    let v = json("protocol/bsi_eac_worked_example/bsi_eac_worked_example_dh.json");
    check_gm(&DomainParams::standardized(0).unwrap(), &v["values"], names);
}

#[test]
fn gmrtd_real_sessions_generic_mapping() {
    let v = json("protocol/pace_real_sessions_gmrtd.json");
    let params = DomainParams::standardized(13).unwrap();
    for case in v["cases"].as_array().unwrap() {
        check_gm(
            &params,
            &case["expected"],
            Gm {
                map_picc_private: None,
                eph_picc_private: None,
                ..DOC9303_NAMES
            },
        );
    }
}

#[test]
fn invalid_points_rejected() {
    let params = DomainParams::standardized(13).unwrap();
    let v = json("protocol/pace_ecdh_gm_brainpoolp256r1_doc9303_g1.json");
    let mut pt = hx(&v["expected"], "map_picc_public");
    assert!(params.decode_public(&pt, "k").is_ok());
    let last = pt.len() - 1;
    pt[last] ^= 1; // off the curve
    assert!(params.decode_public(&pt, "k").is_err());
    assert!(params.decode_public(&[0x00], "k").is_err()); // identity encoding
    assert!(params.decode_public(&pt[..33], "k").is_err()); // compressed size
    let dh = DomainParams::standardized(0).unwrap();
    assert!(dh.decode_public(&[1], "k").is_err());
    assert!(dh.decode_public(&[0], "k").is_err());
    let p = dh.prime().to_vec();
    assert!(dh.decode_public(&p, "k").is_err());
    // p-1 has order 2, not q
    let mut pm1 = p.clone();
    let l = pm1.len() - 1;
    pm1[l] -= 1;
    assert!(dh.decode_public(&pm1, "k").is_err());
    // 2 is (almost surely) not in the order-q subgroup
    assert!(dh.decode_public(&[2], "k").is_err());
}

/// The old German test card's explicit parameters are brainpoolP256r1's field, curve and
/// order with a different base point: the explicit generator must be used, not the named one.
#[test]
fn explicit_parameters_old_testcard_curve_with_own_generator() {
    use emrtd::lds::security_infos::SecurityInfos;
    let s = SecurityInfos::decode(
        &std::fs::read(format!(
            "{TV}/lds/openpace_cardaccess_samples/ef_cardaccess_old_testcard.bin"
        ))
        .unwrap(),
    )
    .unwrap();
    let spec = s
        .pace_domain_parameter_infos()
        .next()
        .unwrap()
        .domain_parameter
        .domain_parameters()
        .unwrap();
    let explicit = DomainParams::from_spec(&spec).unwrap();
    let named = DomainParams::standardized(13).unwrap();
    assert_eq!(explicit.prime().to_vec(), named.prime().to_vec());
    assert_eq!(explicit.order().to_vec(), named.order().to_vec());
    let g_explicit = explicit.encode(&explicit.generator().unwrap()).unwrap();
    assert!(
        up(&g_explicit).starts_with("04A3E8EB3CC1CFE7B7732213B23A656149AFA142C47AAFBC2B79A191562E1305F4")
    );
    assert_ne!(g_explicit, named.encode(&named.generator().unwrap()).unwrap());
    // a key agreement on the explicit group works both ways
    let g = explicit.generator().unwrap();
    let a = PrivateKey::from_bytes(&[7; 32]).unwrap();
    let b = PrivateKey::from_bytes(&[9; 32]).unwrap();
    let pa = explicit.multiply(&g, a.as_bn()).unwrap();
    let pb = explicit.multiply(&g, b.as_bn()).unwrap();
    let k1 = explicit.shared_secret(&explicit.agree(&a, &pb).unwrap()).unwrap();
    let k2 = explicit.shared_secret(&explicit.agree(&b, &pa).unwrap()).unwrap();
    assert_eq!(*k1, *k2);
}

#[test]
fn explicit_parameters_rejected_when_unsound() {
    use emrtd::lds::security_infos::{DhParameters, DomainParameterSpec, EcExplicitParameters};
    let named = DomainParams::standardized(13).unwrap();
    let ec = named.ec().unwrap();
    let good = EcExplicitParameters {
        p: ec.p().to_vec(),
        a: hex::decode("7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9").unwrap(),
        b: hex::decode("26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6").unwrap(),
        generator: named.encode(&named.generator().unwrap()).unwrap(),
        order: ec.order().to_vec(),
        cofactor: Some(vec![1]),
    };
    assert!(DomainParams::from_spec(&DomainParameterSpec::EcExplicit(good.clone())).is_ok());
    let mut wrong_order = good.clone();
    wrong_order.order[31] ^= 2;
    assert!(DomainParams::from_spec(&DomainParameterSpec::EcExplicit(wrong_order)).is_err());
    let mut off_curve = good.clone();
    off_curve.generator[64] ^= 1;
    assert!(DomainParams::from_spec(&DomainParameterSpec::EcExplicit(off_curve)).is_err());
    let mut huge = good;
    huge.p = vec![0xFF; 300];
    assert!(DomainParams::from_spec(&DomainParameterSpec::EcExplicit(huge)).is_err());
    let dh = DomainParams::standardized(0).unwrap();
    let d = dh.dh().unwrap();
    let spec = |q: Option<Vec<u8>>| {
        DomainParameterSpec::Dh(DhParameters {
            p: d.p().to_vec(),
            g: d.g().to_vec(),
            q,
        })
    };
    assert!(DomainParams::from_spec(&spec(Some(d.q().to_vec()))).is_ok());
    assert!(DomainParams::from_spec(&spec(None)).is_err());
    let mut q = d.q().to_vec();
    q[19] ^= 2;
    assert!(DomainParams::from_spec(&spec(Some(q))).is_err());
}

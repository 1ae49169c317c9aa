//! Summaries of X.509 certificates and CRLs (RFC 5280; Doc 9303 Part 12 §7 profile)
//! and of public keys, parsed with `x509-parser`; key algorithm, size and curve
//! (explicit domain parameters included) come from the DG15 SubjectPublicKeyInfo
//! decoder so that every key in inspect is described the same way.

use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::time::ASN1Time;
use x509_parser::x509::X509Name;

use super::oid::oid_label;
use super::{Node, short_hex};
use crate::lds::dg15::{Dg15, EcParameters, ExplicitCurve, PublicKeyInfo};
use crate::lds::quirk::Quirk;
use crate::lds::sod::{OID_RSASSA_PSS, PssParameters};
use crate::tlv;

/// An algorithm identifier: OID, its name, and its parameters as encoded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Algorithm {
    /// Dotted OID.
    pub oid: String,
    /// Name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The parameters element (hex), when present and not NULL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
}

impl Algorithm {
    /// From a dotted OID and the raw parameters element.
    pub fn new(oid: &str, parameters: Option<&[u8]>) -> Self {
        Algorithm {
            oid: oid.to_owned(),
            name: super::oid::oid_name_any(oid),
            parameters: parameters.filter(|p| *p != [0x05, 0x00]).map(hex::encode_upper),
        }
    }

    /// `name (oid)` or the OID.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.oid),
            None => self.oid.clone(),
        }
    }
}

/// RSASSA-PSS parameters (RFC 4055 §3.1) with names.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PssView {
    /// Hash algorithm.
    pub hash: String,
    /// Mask generation function.
    pub mask_gen: String,
    /// MGF1's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mgf1_hash: Option<String>,
    /// Salt length.
    pub salt_length: u64,
    /// Trailer field.
    pub trailer_field: u64,
}

impl PssView {
    /// Decode the parameters of an RSASSA-PSS algorithm identifier.
    pub fn decode(params: &[u8]) -> Result<Self, String> {
        let p = PssParameters::decode(params).map_err(|e| e.to_string())?;
        Ok(PssView::from(&p))
    }

    /// `sha256, MGF1 sha256, salt 32, trailer 1`.
    pub fn line(&self) -> String {
        format!(
            "hash {}, {} {}, salt length {}, trailer field {}",
            self.hash,
            self.mask_gen,
            self.mgf1_hash.as_deref().unwrap_or("(no hash)"),
            self.salt_length,
            self.trailer_field
        )
    }
}

impl From<&PssParameters> for PssView {
    fn from(p: &PssParameters) -> Self {
        let n = |o: &str| oid_label(o);
        PssView {
            hash: n(&p.hash),
            mask_gen: n(&p.mask_gen),
            mgf1_hash: p.mgf1_hash.as_deref().map(n),
            salt_length: p.salt_length,
            trailer_field: p.trailer_field,
        }
    }
}

/// A public key: algorithm, size and domain parameters.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct KeyView {
    /// Key algorithm (`rsaEncryption`, `id-ecPublicKey`, `dhpublicnumber`, …).
    pub algorithm: String,
    /// Key size in bits (RSA modulus, EC field, DH prime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits: Option<usize>,
    /// Named curve or the curve explicit parameters are equal to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
    /// Explicit EC domain parameters, as encoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_parameters: Option<ExplicitCurve>,
    /// PACE/CA standardized domain parameter id (SecurityInfos keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standardized_parameter_id: Option<u32>,
    /// RSA public exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rsa_exponent: Option<String>,
    /// The public key (EC point, RSA modulus or DH value), hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// What could not be understood.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Tolerated quirks (explicit parameters, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quirks: Vec<Quirk>,
}

impl KeyView {
    /// Describe a SubjectPublicKeyInfo (DER).
    pub fn from_spki(spki: &[u8]) -> Self {
        match Dg15::from_spki(spki) {
            Ok(d) => {
                let mut k = KeyView {
                    algorithm: oid_label(&d.algorithm_oid),
                    bits: d.key_bits(),
                    quirks: d.quirks.clone(),
                    ..KeyView::default()
                };
                match &d.key {
                    PublicKeyInfo::Rsa {
                        modulus, exponent, ..
                    } => {
                        k.rsa_exponent = Some(
                            d.rsa_exponent()
                                .map_or_else(|| hex::encode_upper(exponent), |e| e.to_string()),
                        );
                        k.public_key = Some(hex::encode_upper(modulus));
                    }
                    PublicKeyInfo::Ec { parameters, point } => {
                        match parameters {
                            EcParameters::Named { oid, name } => {
                                k.curve = Some(match name {
                                    Some(n) => format!("{n} ({oid})"),
                                    None => oid.clone(),
                                });
                            }
                            EcParameters::Explicit(c) => {
                                k.curve = Some(match c.known_curve {
                                    Some(n) => format!("explicit parameters equal to {n}"),
                                    None => "explicit parameters of no known curve".into(),
                                });
                                k.explicit_parameters = Some(c.clone());
                            }
                            EcParameters::ImplicitlyCa => k.curve = Some("implicitlyCA".into()),
                        }
                        k.public_key = Some(hex::encode_upper(point));
                    }
                    PublicKeyInfo::Other { .. } => {}
                }
                k
            }
            Err(e) => KeyView {
                algorithm: spki_algorithm(spki).unwrap_or_else(|| "(unreadable)".into()),
                error: Some(e.to_string()),
                ..KeyView::default()
            },
        }
    }

    /// Text lines.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = vec![Node::field("algorithm", &self.algorithm)];
        if let Some(b) = self.bits {
            n.push(Node::field("size (bits)", b));
        }
        if let Some(id) = self.standardized_parameter_id {
            let name = crate::lds::security_infos::params::standardized_name(id).unwrap_or("unknown id");
            n.push(Node::field(
                "standardized domain parameters",
                format!("{id} ({name})"),
            ));
        }
        if let Some(c) = &self.curve {
            n.push(Node::field("curve", c));
        }
        if let Some(c) = &self.explicit_parameters {
            n.push(Node::new("explicit domain parameters").with(c.nodes()));
        }
        if let Some(e) = &self.rsa_exponent {
            n.push(Node::field("public exponent", e));
        }
        if let Some(p) = &self.public_key {
            let bytes = hex::decode(p).unwrap_or_default();
            n.push(Node::field("public key", short_hex(&bytes)));
        }
        if let Some(e) = &self.error {
            n.push(Node::field("not understood", e));
        }
        n
    }

    /// `id-ecPublicKey brainpoolP256r1 (256 bits)` and the like.
    pub fn line(&self) -> String {
        let mut s = self.algorithm.clone();
        if let Some(c) = &self.curve {
            s.push_str(&format!(", {c}"));
        }
        if let Some(b) = self.bits {
            s.push_str(&format!(", {b} bits"));
        }
        s
    }
}

/// The algorithm OID of a SubjectPublicKeyInfo, when readable.
fn spki_algorithm(spki: &[u8]) -> Option<String> {
    let (oid, _) = algorithm_of(&tlv::parse_ber(spki).ok()?.children_ber().next()?.ok()?)?;
    Some(oid_label(&oid))
}

/// OID and raw parameters of an AlgorithmIdentifier element.
pub fn algorithm_of(t: &tlv::Tlv<'_>) -> Option<(String, Option<Vec<u8>>)> {
    if t.tag != 0x30 {
        return None;
    }
    let mut kids = t.children_ber();
    let oid = kids.next()?.ok()?;
    if oid.tag != 0x06 {
        return None;
    }
    let params = match kids.next() {
        Some(Ok(p)) => Some(p.raw.to_vec()),
        Some(Err(_)) => return None,
        None => None,
    };
    Some((crate::lds::sod::oid_to_string(oid.value)?, params))
}

/// A string attribute value, whatever its string type.
fn attribute_text(tag: u32, v: &[u8]) -> String {
    match tag {
        // BMPString: UTF-16BE
        0x1E => {
            let units: Vec<u16> = v
                .chunks_exact(2)
                .map(|c| c.iter().fold(0u16, |a, b| (a << 8) | u16::from(*b)))
                .collect();
            String::from_utf16_lossy(&units)
        }
        // TeletexString: treated as Latin-1 as most issuers mean it
        0x14 => v.iter().map(|b| char::from(*b)).collect(),
        // UniversalString: UTF-32BE
        0x1C => v
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(c.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b))).unwrap_or('\u{FFFD}')
            })
            .collect(),
        _ => match std::str::from_utf8(v) {
            Ok(s) => s.to_owned(),
            Err(_) => format!("#{}", hex::encode_upper(v)),
        },
    }
}

fn escape_rfc4514(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        let needs =
            matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') || (i == 0 && matches!(c, '#' | ' '));
        if needs {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
        out.push_str("\\ ");
    }
    out
}

fn attribute_type(dotted: &str) -> String {
    match dotted {
        "2.5.4.3" => "CN".into(),
        "2.5.4.6" => "C".into(),
        "2.5.4.7" => "L".into(),
        "2.5.4.8" => "ST".into(),
        "2.5.4.10" => "O".into(),
        "2.5.4.11" => "OU".into(),
        "2.5.4.5" => "serialNumber".into(),
        "2.5.4.4" => "SN".into(),
        "2.5.4.42" => "GN".into(),
        "2.5.4.12" => "title".into(),
        "2.5.4.97" => "organizationIdentifier".into(),
        "0.9.2342.19200300.100.1.25" => "DC".into(),
        "1.2.840.113549.1.9.1" => "emailAddress".into(),
        other => other.to_owned(),
    }
}

/// A distinguished name (DER) in RFC 4514 form (last RDN first, as OpenSSL prints
/// with `-nameopt RFC2253`): `CN=DS,O=BundesDruckerei GmbH,C=DE`.
pub fn name_string(der: &[u8]) -> Option<String> {
    let name = tlv::parse_ber(der).ok()?;
    if name.tag != 0x30 {
        return None;
    }
    let mut rdns = Vec::new();
    for rdn in name.children_ber() {
        let rdn = rdn.ok()?;
        let mut parts = Vec::new();
        for atv in rdn.children_ber() {
            let atv = atv.ok()?;
            let mut k = atv.children_ber();
            let oid = k.next()?.ok()?;
            let value = k.next()?.ok()?;
            let ty = attribute_type(&crate::lds::sod::oid_to_string(oid.value)?);
            parts.push(format!(
                "{ty}={}",
                escape_rfc4514(&attribute_text(value.tag, value.value))
            ));
        }
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

fn x509_name(n: &X509Name<'_>) -> String {
    name_string(n.as_raw()).unwrap_or_else(|| n.to_string())
}

/// A time as RFC 3339 UTC.
pub fn rfc3339(t: &ASN1Time) -> String {
    t.to_datetime()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Basic constraints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BasicConstraintsView {
    /// cA.
    pub ca: bool,
    /// pathLenConstraint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_len: Option<u32>,
}

/// An extension present in the certificate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExtensionView {
    /// Dotted OID.
    pub oid: String,
    /// Name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Critical flag.
    pub critical: bool,
}

/// An X.509 certificate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CertView {
    /// Size of the DER.
    pub size: usize,
    /// SHA-256 of the DER (the fingerprint), hex.
    pub sha256: String,
    /// X.509 version (1–3).
    pub version: u32,
    /// Serial number as encoded, hex.
    pub serial: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// Signature algorithm.
    pub signature_algorithm: Algorithm,
    /// RSASSA-PSS parameters of the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pss: Option<PssView>,
    /// Subject public key.
    pub public_key: KeyView,
    /// Subject key identifier, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_key_identifier: Option<String>,
    /// Authority key identifier (keyIdentifier), hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_key_identifier: Option<String>,
    /// Key usage bits set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<Vec<String>>,
    /// Basic constraints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_constraints: Option<BasicConstraintsView>,
    /// Extended key usage OIDs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_key_usage: Vec<String>,
    /// Every extension.
    pub extensions: Vec<ExtensionView>,
    /// Subject equals issuer.
    pub self_issued: bool,
    /// Tolerated deviations from the Doc 9303 Part 12 profile.
    pub quirks: Vec<Quirk>,
}

fn other(name: &'static str, detail: String) -> Quirk {
    Quirk::Other { name, detail }
}

const KEY_USAGE_BITS: [&str; 9] = [
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
];

/// `[0]` signature AlgorithmIdentifier of a signed X.509 structure (certificate or
/// CRL): the second element of the outer SEQUENCE.
fn outer_signature_algorithm(der: &[u8]) -> Option<(String, Option<Vec<u8>>)> {
    let outer = tlv::parse_ber(der).ok()?;
    let alg = outer.children_ber().nth(1)?.ok()?;
    algorithm_of(&alg)
}

fn signature_parts(der: &[u8], fallback_oid: String) -> (Algorithm, Option<PssView>, Vec<Quirk>) {
    let mut quirks = Vec::new();
    let (oid, params) = outer_signature_algorithm(der).unwrap_or((fallback_oid, None));
    let pss = if oid == OID_RSASSA_PSS {
        match params.as_deref().map(PssView::decode) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                quirks.push(other("malformed_pss_parameters", e));
                None
            }
            None => {
                quirks.push(other(
                    "missing_pss_parameters",
                    "RSASSA-PSS without parameters (defaults SHA-1 apply)".into(),
                ));
                None
            }
        }
    } else {
        None
    };
    (Algorithm::new(&oid, params.as_deref()), pss, quirks)
}

fn time_quirk(what: &str, t: &ASN1Time, quirks: &mut Vec<Quirk>) {
    let year = t.to_datetime().year();
    if year < 2050 && !t.is_utctime() {
        quirks.push(other(
            "generalized_time_before_2050",
            format!("{what} {year} is a GeneralizedTime (RFC 5280 wants UTCTime before 2050)"),
        ));
    }
}

impl CertView {
    /// Parse and describe a DER certificate.
    pub fn decode(der: &[u8]) -> Result<Self, String> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let mut quirks = Vec::new();
        if !rest.is_empty() {
            quirks.push(Quirk::TrailingBytes { bytes: rest.len() });
        }
        let tbs = &cert.tbs_certificate;
        let serial = cert.raw_serial();
        if serial.first().is_some_and(|b| b & 0x80 != 0) || serial.iter().all(|b| *b == 0) {
            quirks.push(other(
                "serial_not_positive",
                "the serial number is zero or negative (RFC 5280 wants a positive integer)".into(),
            ));
        }
        if serial.len() > 20 {
            quirks.push(other(
                "serial_too_long",
                format!(
                    "the serial number has {} octets (RFC 5280 allows 20)",
                    serial.len()
                ),
            ));
        }
        let (signature_algorithm, pss, sig_quirks) =
            signature_parts(der, cert.signature_algorithm.algorithm.to_id_string());
        quirks.extend(sig_quirks);
        let public_key = KeyView::from_spki(tbs.subject_pki.raw);
        quirks.extend(public_key.quirks.iter().cloned());
        time_quirk("notBefore", &tbs.validity.not_before, &mut quirks);
        time_quirk("notAfter", &tbs.validity.not_after, &mut quirks);

        let mut v = CertView {
            size: cert.as_raw().len(),
            sha256: crate::crypto::sha256_hex(cert.as_raw()),
            version: tbs.version.0 + 1,
            serial: hex::encode_upper(serial),
            subject: x509_name(&tbs.subject),
            issuer: x509_name(&tbs.issuer),
            not_before: rfc3339(&tbs.validity.not_before),
            not_after: rfc3339(&tbs.validity.not_after),
            signature_algorithm,
            pss,
            public_key,
            subject_key_identifier: None,
            authority_key_identifier: None,
            key_usage: None,
            basic_constraints: None,
            extended_key_usage: Vec::new(),
            extensions: Vec::new(),
            self_issued: tbs.subject.as_raw() == tbs.issuer.as_raw(),
            quirks,
        };
        use x509_parser::extensions::ParsedExtension as P;
        for ext in tbs.extensions() {
            let oid = ext.oid.to_id_string();
            v.extensions.push(ExtensionView {
                name: super::oid::oid_name_any(&oid),
                oid: oid.clone(),
                critical: ext.critical,
            });
            match ext.parsed_extension() {
                P::SubjectKeyIdentifier(k) => v.subject_key_identifier = Some(hex::encode_upper(k.0)),
                P::AuthorityKeyIdentifier(a) => {
                    v.authority_key_identifier = a.key_identifier.as_ref().map(|k| hex::encode_upper(k.0));
                }
                P::KeyUsage(k) => {
                    v.key_usage = Some(
                        KEY_USAGE_BITS
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| (k.flags >> i) & 1 == 1)
                            .map(|(_, n)| (*n).to_owned())
                            .collect(),
                    );
                }
                P::BasicConstraints(b) => {
                    v.basic_constraints = Some(BasicConstraintsView {
                        ca: b.ca,
                        path_len: b.path_len_constraint,
                    });
                }
                P::ExtendedKeyUsage(e) => {
                    let mut list: Vec<String> =
                        e.other.iter().map(|o| oid_label(&o.to_id_string())).collect();
                    for (set, name) in [
                        (e.any, "anyExtendedKeyUsage"),
                        (e.server_auth, "serverAuth"),
                        (e.client_auth, "clientAuth"),
                        (e.code_signing, "codeSigning"),
                        (e.email_protection, "emailProtection"),
                        (e.time_stamping, "timeStamping"),
                        (e.ocsp_signing, "OCSPSigning"),
                    ] {
                        if set {
                            list.push(name.to_owned());
                        }
                    }
                    v.extended_key_usage = list;
                }
                P::ParseError { error } => v.quirks.push(other(
                    "malformed_extension",
                    format!("extension {} does not decode: {error}", oid_label(&oid)),
                )),
                _ => {}
            }
        }
        if v.subject_key_identifier.is_none() {
            v.quirks.push(other(
                "missing_subject_key_identifier",
                "no subject key identifier (Doc 9303 Part 12 makes it mandatory for CSCA and DS certificates)".into(),
            ));
        }
        if v.authority_key_identifier.is_none() && !v.self_issued {
            v.quirks.push(other(
                "missing_authority_key_identifier",
                "no authority key identifier (Doc 9303 Part 12 makes it mandatory except in self-signed CSCAs)".into(),
            ));
        }
        Ok(v)
    }

    /// Text tree.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = vec![
            Node::field("subject", &self.subject),
            Node::field("issuer", &self.issuer),
            Node::field("serial", &self.serial),
            Node::field("valid", format!("{} to {}", self.not_before, self.not_after)),
            Node::field("version", self.version),
            Node::field("signature algorithm", self.signature_algorithm.label()),
        ];
        if let Some(p) = &self.pss {
            n.push(Node::field("PSS parameters", p.line()));
        }
        n.push(Node::new("public key").with(self.public_key.nodes()));
        if let Some(s) = &self.subject_key_identifier {
            n.push(Node::field("subject key identifier", s));
        }
        if let Some(s) = &self.authority_key_identifier {
            n.push(Node::field("authority key identifier", s));
        }
        if let Some(k) = &self.key_usage {
            n.push(Node::field("key usage", k.join(", ")));
        }
        if let Some(b) = &self.basic_constraints {
            let mut s = format!("cA {}", b.ca);
            if let Some(p) = b.path_len {
                s.push_str(&format!(", path length {p}"));
            }
            n.push(Node::field("basic constraints", s));
        }
        if !self.extended_key_usage.is_empty() {
            n.push(Node::field(
                "extended key usage",
                self.extended_key_usage.join(", "),
            ));
        }
        let exts = self
            .extensions
            .iter()
            .map(|e| {
                let mut s = e
                    .name
                    .as_ref()
                    .map_or_else(|| e.oid.clone(), |nm| format!("{nm} ({})", e.oid));
                if e.critical {
                    s.push_str(" critical");
                }
                Node::new(s)
            })
            .collect();
        n.push(Node::new("extensions").with(exts));
        n.push(Node::field("self-issued", self.self_issued));
        n.push(Node::field("sha256", &self.sha256));
        n
    }

    /// One line: subject, serial, validity, key.
    pub fn line(&self) -> String {
        format!(
            "{} | serial {} | {} to {} | {}",
            self.subject,
            self.serial,
            self.not_before,
            self.not_after,
            self.public_key.line()
        )
    }
}

/// An X.509 CRL.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrlView {
    /// Size of the DER.
    pub size: usize,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// thisUpdate, RFC 3339.
    pub this_update: String,
    /// nextUpdate, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_update: Option<String>,
    /// Signature algorithm.
    pub signature_algorithm: Algorithm,
    /// RSASSA-PSS parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pss: Option<PssView>,
    /// CRL number, decimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crl_number: Option<String>,
    /// Authority key identifier, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_key_identifier: Option<String>,
    /// Number of revoked certificates.
    pub revoked_count: usize,
    /// Their serial numbers, hex.
    pub revoked_serials: Vec<String>,
    /// Tolerated deviations.
    pub quirks: Vec<Quirk>,
}

impl CrlView {
    /// Parse and describe a DER CRL.
    pub fn decode(der: &[u8]) -> Result<Self, String> {
        let (rest, crl) =
            CertificateRevocationList::from_der(der).map_err(|e| format!("not an X.509 CRL: {e}"))?;
        let mut quirks = Vec::new();
        if !rest.is_empty() {
            quirks.push(Quirk::TrailingBytes { bytes: rest.len() });
        }
        let (signature_algorithm, pss, q) =
            signature_parts(der, crl.signature_algorithm.algorithm.to_id_string());
        quirks.extend(q);
        if crl.next_update().is_none() {
            quirks.push(other(
                "crl_without_next_update",
                "no nextUpdate (Doc 9303 Part 12 requires it)".into(),
            ));
        }
        let mut aki = None;
        for ext in crl.extensions() {
            if let x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) =
                ext.parsed_extension()
            {
                aki = a.key_identifier.as_ref().map(|k| hex::encode_upper(k.0));
            }
        }
        let revoked_serials: Vec<String> = crl
            .iter_revoked_certificates()
            .map(|r| hex::encode_upper(r.raw_serial()))
            .collect();
        Ok(CrlView {
            size: crl.as_raw().len(),
            sha256: crate::crypto::sha256_hex(crl.as_raw()),
            issuer: x509_name(crl.issuer()),
            this_update: rfc3339(&crl.last_update()),
            next_update: crl.next_update().map(|t| rfc3339(&t)),
            signature_algorithm,
            pss,
            crl_number: crl.crl_number().map(ToString::to_string),
            authority_key_identifier: aki,
            revoked_count: revoked_serials.len(),
            revoked_serials,
            quirks,
        })
    }

    /// Text tree.
    pub fn nodes(&self) -> Vec<Node> {
        const SHOW: usize = 20;
        let mut n = vec![
            Node::field("issuer", &self.issuer),
            Node::field("this update", &self.this_update),
            Node::field("next update", self.next_update.as_deref().unwrap_or("(absent)")),
            Node::field("signature algorithm", self.signature_algorithm.label()),
        ];
        if let Some(p) = &self.pss {
            n.push(Node::field("PSS parameters", p.line()));
        }
        if let Some(c) = &self.crl_number {
            n.push(Node::field("CRL number", c));
        }
        if let Some(a) = &self.authority_key_identifier {
            n.push(Node::field("authority key identifier", a));
        }
        let mut kids: Vec<Node> = self.revoked_serials.iter().take(SHOW).map(Node::new).collect();
        if self.revoked_count > SHOW {
            kids.push(Node::new(format!("… {} more", self.revoked_count - SHOW)));
        }
        n.push(Node::field("revoked certificates", self.revoked_count).with(kids));
        n.push(Node::field("sha256", &self.sha256));
        n
    }
}

/// A certificate entry of a list: decoded, or why not.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum CertEntry {
    /// Decoded.
    Ok(Box<CertView>),
    /// Not decodable.
    Err {
        /// Size of the element.
        size: usize,
        /// SHA-256 of the element.
        sha256: String,
        /// Why.
        error: String,
    },
}

impl CertEntry {
    /// Decode one element.
    pub fn decode(der: &[u8]) -> Self {
        match CertView::decode(der) {
            Ok(c) => CertEntry::Ok(Box::new(c)),
            Err(error) => CertEntry::Err {
                size: der.len(),
                sha256: crate::crypto::sha256_hex(der),
                error,
            },
        }
    }
}

/// A CRL entry of a list: decoded, or why not.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum CrlEntry {
    /// Decoded.
    Ok(Box<CrlView>),
    /// Not decodable.
    Err {
        /// Size.
        size: usize,
        /// Why.
        error: String,
    },
}

impl CrlEntry {
    /// Decode one element.
    pub fn decode(der: &[u8]) -> Self {
        match CrlView::decode(der) {
            Ok(c) => CrlEntry::Ok(Box::new(c)),
            Err(error) => CrlEntry::Err {
                size: der.len(),
                error,
            },
        }
    }
}

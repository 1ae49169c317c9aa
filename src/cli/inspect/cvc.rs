//! `inspect` of a card-verifiable certificate (BSI TR-03110-3 Appendix C).

use super::text::Node;
use crate::pki::cvc::{CvCertificate, Role, split_reference};

/// A CV certificate as shown by `inspect` (text and JSON).
#[derive(Debug, serde::Serialize)]
pub struct CvCertView {
    /// Certification Authority Reference.
    pub car: String,
    /// Certificate Holder Reference.
    pub chr: String,
    /// Country code, holder mnemonic and sequence number of the CHR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chr_parts: Option<[String; 3]>,
    /// Role from the CHAT.
    pub role: Role,
    /// Terminal type OID.
    pub terminal_type: String,
    /// Terminal type name.
    pub terminal_type_name: &'static str,
    /// CHAT access bits, hex.
    pub chat_bits: String,
    /// For id-IS: read DG3 (fingerprints).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_dg3: Option<bool>,
    /// For id-IS: read DG4 (irises).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_dg4: Option<bool>,
    /// Effective date.
    pub effective: String,
    /// Expiration date.
    pub expiration: String,
    /// Public key algorithm OID.
    pub key_algorithm_oid: String,
    /// Public key, described.
    pub public_key: String,
    /// True when the key carries its EC domain parameters.
    pub domain_parameters: bool,
    /// Extensions (OID and name).
    pub extensions: Vec<(String, &'static str)>,
    /// Signature length in bytes.
    pub signature_len: usize,
    /// For a self-signed CVCA: `valid`, or why the signature does not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_signature: Option<String>,
}

impl CvCertView {
    /// Decode.
    pub fn decode(bytes: &[u8]) -> anyhow::Result<Self> {
        let c = CvCertificate::from_der(bytes)?;
        let b = &c.body;
        let is = b.chat.terminal_type == crate::asn1::oid::ROLE_IS;
        Ok(CvCertView {
            car: b.car.clone(),
            chr: b.chr.clone(),
            chr_parts: split_reference(&b.chr).map(|(c, m, s)| [c.into(), m.into(), s.into()]),
            role: c.role(),
            terminal_type: b.chat.terminal_type.to_string(),
            terminal_type_name: b.chat.terminal_type_name(),
            chat_bits: hex::encode_upper(&b.chat.bits),
            read_dg3: is.then(|| b.chat.reads_dg3()),
            read_dg4: is.then(|| b.chat.reads_dg4()),
            effective: b.effective.to_string(),
            expiration: b.expiration.to_string(),
            key_algorithm_oid: b.public_key.oid.to_string(),
            public_key: b.public_key.describe(None),
            domain_parameters: b.public_key.has_domain_parameters(),
            extensions: b
                .extensions
                .iter()
                .map(|e| (e.oid.to_string(), e.name()))
                .collect(),
            signature_len: c.signature.len(),
            self_signature: c.is_self_signed().then(|| match c.verify_self_signed() {
                Ok(()) => "valid".to_owned(),
                Err(e) => format!("INVALID: {e}"),
            }),
        })
    }

    /// The human tree.
    pub fn nodes(&self) -> Vec<Node> {
        let mut n = vec![
            Node::field("holder (CHR)", &self.chr),
            Node::field("issuer (CAR)", &self.car),
            Node::field("role", self.role),
            Node::field(
                "terminal type",
                format!("{} {}", self.terminal_type, self.terminal_type_name),
            ),
            Node::field("CHAT bits", &self.chat_bits),
        ];
        if let (Some(dg3), Some(dg4)) = (self.read_dg3, self.read_dg4) {
            let yn = |b: bool| if b { "yes" } else { "no" };
            n.push(Node::field("read DG3 (fingerprints)", yn(dg3)));
            n.push(Node::field("read DG4 (irises)", yn(dg4)));
        }
        n.push(Node::field(
            "valid",
            format!("{} to {}", self.effective, self.expiration),
        ));
        n.push(Node::field("public key", &self.public_key));
        for (oid, name) in &self.extensions {
            n.push(Node::field("extension", format!("{oid} {name}")));
        }
        n.push(Node::field("signature", format!("{} bytes", self.signature_len)));
        if let Some(s) = &self.self_signature {
            n.push(Node::field("self-signature", s));
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Content, inspect_bytes, render};
    use crate::lds::detect::FileKind;

    #[test]
    fn cv_certificates_are_detected_and_shown() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/test-vectors/protocol/eac_cv_certs/openpace_DECVCAEPASS00102"
        );
        let bytes = std::fs::read(p).unwrap();
        let r = inspect_bytes(&bytes, None, None).unwrap();
        assert_eq!(r.kind, FileKind::CvCertificate);
        let Content::CvCertificate(v) = &r.content else {
            panic!("not shown as a CV certificate")
        };
        assert_eq!(v.chr, "DECVCAEPASS00102");
        assert_eq!(v.read_dg3, Some(true));
        assert_eq!(v.read_dg4, Some(false));
        let text = render("x", &bytes, &r);
        assert!(text.contains("self-signature: valid"), "{text}");
        assert!(text.contains("brainpoolP256r1"), "{text}");
        // a flipped signature byte is shown as invalid
        let mut bad = bytes.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        let r = inspect_bytes(&bad, None, None).unwrap();
        assert!(render("x", &bad, &r).contains("self-signature: INVALID"));
        assert_eq!(FileKind::parse("cvcert"), Some(FileKind::CvCertificate));
    }
}

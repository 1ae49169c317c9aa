//! The terminal's private key in a PKCS#11 token (`--eac-key pkcs11:…`), as inspection
//! systems keep it in an HSM. The URI follows RFC 7512 in part:
//!
//! `pkcs11:token=LABEL;object=LABEL;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234`
//!
//! `token` (or the first slot with a token), `object` and/or `id` select the private
//! key; `module-path` names the PKCS#11 library (default: `$EMRTD_PKCS11_MODULE`, else
//! SoftHSM2's); the user PIN comes from `pin-value` or `pin-source` (a file).
//! ECDSA keys sign the hash with CKM_ECDSA (whose output is the plain `r‖s` TA needs),
//! RSA keys with CKM_SHAx_RSA_PKCS.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use super::cvc::TaAlgorithm;
use crate::access::ta::TerminalSigner;

/// SoftHSM2's module on Debian.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A parsed `pkcs11:` URI.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// Token label.
    pub token: Option<String>,
    /// Key label.
    pub object: Option<String>,
    /// Key id (CKA_ID).
    pub id: Option<Vec<u8>>,
    /// Module path.
    pub module_path: Option<String>,
    /// PIN (kept out of Debug output).
    pub pin_value: Option<Zeroizing<String>>,
    /// File holding the PIN.
    pub pin_source: Option<String>,
}

impl std::fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("token", &self.token)
            .field("object", &self.object)
            .field("id", &self.id.as_ref().map(hex::encode))
            .field("module_path", &self.module_path)
            .field("pin_value", &self.pin_value.as_ref().map(|_| "***"))
            .field("pin_source", &self.pin_source)
            .finish()
    }
}

fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let h = b
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("bad %-escape in `{s}`"))?;
            let v = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16)
                .map_err(|_| format!("bad %-escape in `{s}`"))?;
            out.push(v);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(out)
}

fn text(s: &str) -> Result<String, String> {
    String::from_utf8(unescape(s)?).map_err(|_| format!("`{s}` is not UTF-8"))
}

impl Pkcs11Uri {
    /// Parse `pkcs11:path-attributes[?query-attributes]`.
    pub fn parse(uri: &str) -> Result<Self, String> {
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| "a PKCS#11 URI starts with `pkcs11:`".to_owned())?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut u = Pkcs11Uri::default();
        for a in path.split(';').filter(|a| !a.is_empty()) {
            let (k, v) = a.split_once('=').ok_or_else(|| format!("`{a}` has no value"))?;
            match k {
                "token" => u.token = Some(text(v)?),
                "object" => u.object = Some(text(v)?),
                "id" => u.id = Some(unescape(v)?),
                // other path attributes (type, manufacturer, serial, …) do not narrow here
                _ => {}
            }
        }
        for a in query.split('&').filter(|a| !a.is_empty()) {
            let (k, v) = a.split_once('=').ok_or_else(|| format!("`{a}` has no value"))?;
            match k {
                "module-path" => u.module_path = Some(text(v)?),
                "pin-value" => u.pin_value = Some(Zeroizing::new(text(v)?)),
                "pin-source" => u.pin_source = Some(text(v)?.trim_start_matches("file:").to_owned()),
                _ => {}
            }
        }
        if u.object.is_none() && u.id.is_none() {
            return Err("the PKCS#11 URI names no key (give object= or id=)".into());
        }
        Ok(u)
    }
}

/// A terminal key in a PKCS#11 token, logged in.
pub struct Pkcs11Key {
    // the session must be dropped before the context
    session: Session,
    key: ObjectHandle,
    alg: TaAlgorithm,
    _ctx: Pkcs11,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    /// Open the module, find the token and the private key, log in.
    pub fn open(uri: &Pkcs11Uri, alg: TaAlgorithm) -> Result<Self, String> {
        let module = uri
            .module_path
            .clone()
            .or_else(|| std::env::var("EMRTD_PKCS11_MODULE").ok())
            .unwrap_or_else(|| SOFTHSM2_MODULE.to_owned());
        let e = |what: &str| {
            let what = what.to_owned();
            move |err: cryptoki::error::Error| format!("PKCS#11 {what}: {err}")
        };
        let ctx =
            Pkcs11::new(&module).map_err(|err| format!("cannot load the PKCS#11 module {module}: {err}"))?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(e("initialize"))?;
        let mut slot = None;
        for s in ctx.get_slots_with_token().map_err(e("slot list"))? {
            let info = ctx.get_token_info(s).map_err(e("token info"))?;
            if uri.token.as_deref().is_none_or(|t| info.label().trim_end() == t) {
                slot = Some(s);
                break;
            }
        }
        let slot = slot.ok_or_else(|| match &uri.token {
            Some(t) => format!("no PKCS#11 token labelled `{t}` in {module}"),
            None => format!("no PKCS#11 token in {module}"),
        })?;
        let session = ctx.open_ro_session(slot).map_err(e("open session"))?;
        let pin = match (&uri.pin_value, &uri.pin_source) {
            (Some(p), _) => Some(Zeroizing::new(p.to_string())),
            (None, Some(f)) => Some(Zeroizing::new(
                std::fs::read_to_string(f)
                    .map_err(|err| format!("cannot read the PIN file {f}: {err}"))?
                    .trim_end()
                    .to_owned(),
            )),
            (None, None) => None,
        };
        if let Some(p) = pin {
            session
                .login(UserType::User, Some(&AuthPin::new(p.as_str().into())))
                .map_err(e("login"))?;
        }
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(l) = &uri.object {
            template.push(Attribute::Label(l.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        let keys = session.find_objects(&template).map_err(e("find key"))?;
        let key = match keys.as_slice() {
            [k] => *k,
            [] => return Err("no private key in the PKCS#11 token matches the URI".into()),
            _ => return Err("several private keys in the PKCS#11 token match the URI".into()),
        };
        Ok(Pkcs11Key {
            session,
            key,
            alg,
            _ctx: ctx,
        })
    }
}

impl TerminalSigner for Pkcs11Key {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let (mech, data) = match self.alg {
            TaAlgorithm::EcdsaSha1
            | TaAlgorithm::EcdsaSha224
            | TaAlgorithm::EcdsaSha256
            | TaAlgorithm::EcdsaSha384
            | TaAlgorithm::EcdsaSha512 => (Mechanism::Ecdsa, self.alg.hash().digest(message)),
            TaAlgorithm::RsaV15Sha1 => (Mechanism::Sha1RsaPkcs, message.to_vec()),
            TaAlgorithm::RsaV15Sha256 => (Mechanism::Sha256RsaPkcs, message.to_vec()),
            TaAlgorithm::RsaV15Sha512 => (Mechanism::Sha512RsaPkcs, message.to_vec()),
            TaAlgorithm::RsaPssSha1 | TaAlgorithm::RsaPssSha256 | TaAlgorithm::RsaPssSha512 => {
                return Err("RSA-PSS terminal keys through PKCS#11 are not supported".into());
            }
        };
        self.session
            .sign(&mech, self.key, &data)
            .map_err(|err| format!("PKCS#11 sign: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parsing() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=EAC%20IS;object=term;id=%01%02?module-path=/x/lib.so&pin-value=1234",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("EAC IS"));
        assert_eq!(u.object.as_deref(), Some("term"));
        assert_eq!(u.id, Some(vec![1, 2]));
        assert_eq!(u.module_path.as_deref(), Some("/x/lib.so"));
        assert!(!format!("{u:?}").contains("1234"));
        assert!(Pkcs11Uri::parse("pkcs11:token=x").is_err());
        assert!(Pkcs11Uri::parse("file:x").is_err());
        assert!(Pkcs11Uri::parse("pkcs11:id=%0").is_err());
    }
}

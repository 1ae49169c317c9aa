//! Terminal Authentication, chip side (BSI TR-03110-1 §2.5/§3.3, TR-03110-3 B.11):
//! the chip's CVCA trust points and current date, certificate import by
//! MSE:Set DST + PSO:Verify Certificate, MSE:Set AT, the challenge and EXTERNAL
//! AUTHENTICATE, and the resulting access rights (CHAT bits for DG3/DG4).
//!
//! Rules the chip applies (TR-03110-1 §2.5 "certificate validation"):
//! - the key named by MSE:Set DST must be a trust point or a key imported earlier in
//!   this session (6A88 otherwise);
//! - the certificate's CAR must name that key, its signature must verify (6300);
//! - roles follow CVCA → (link CVCA) → DV → terminal (6A80 otherwise), and terminal
//!   types agree below the CVCA;
//! - a certificate that expired before the chip's current date is refused (6300);
//! - an accepted link CVCA becomes a trust point; CVCA, domestic DV and their
//!   terminals' effective dates move the chip's current date forward;
//! - after EXTERNAL AUTHENTICATE verifies, the effective authorization is the AND of
//!   the CHATs of the chain (terminal, DV, CVCA).
//!
//! [`super::chip`] routes the commands here under secure messaging, gives ID_PICC and
//! Comp(PK_PCD) from the session (BAC or PACE; CA v1, PACE-CAM or the v2 MSE:Set AT
//! announcement) and answers 6982 to DG3/DG4 until [`ChipTa::may_read`] allows them.
//! Trust points added by a link CVCA and the date survive power cycles (a chip writes
//! them to its memory); everything else is per session ([`ChipTa::reset_session`]).

use crate::apdu::{Command, Response, StatusWord};
use crate::pki::cvc::{Chat, CvCertificate, CvDate, CvPublicKey, Role, tag};
use crate::rng::RandomSource;
use crate::tlv;

/// 6A88: referenced data (the key named by the CAR/CHR) not found.
pub const SW_KEY_NOT_FOUND: StatusWord = StatusWord(0x6A88);
/// 6300: verification failed (signature, expired certificate).
pub const SW_VERIFICATION_FAILED: StatusWord = StatusWord(0x6300);
/// 6A80: incorrect data (malformed certificate, wrong role).
pub const SW_WRONG_DATA: StatusWord = StatusWord(0x6A80);
/// 6985: conditions of use not satisfied (steps out of order).
pub const SW_CONDITIONS: StatusWord = StatusWord(0x6985);
/// 9000.
pub const SW_OK: StatusWord = StatusWord(0x9000);

/// A public key the chip can select by name.
#[derive(Debug, Clone)]
struct KnownKey {
    holder: String,
    key: CvPublicKey,
    role: Role,
    chat: Chat,
}

/// The chip's Terminal Authentication state.
#[derive(Debug, Clone)]
pub struct ChipTa {
    trust_points: Vec<KnownKey>,
    date: CvDate,
    imported: Vec<KnownKey>,
    selected: Option<KnownKey>,
    terminal: Option<(KnownKey, Chat)>,
    v2_comp_pk_pcd: Option<Vec<u8>>,
    /// The authenticated auxiliary data object (`67 …`, tag and length included) of
    /// MSE:Set AT, signed over by the terminal.
    aux: Option<Vec<u8>>,
    /// The CHAT the terminal sent in PACE's MSE:Set AT: the rights it asked for.
    pace_chat: Option<Chat>,
    challenge: Option<Vec<u8>>,
    granted: Option<Chat>,
}

impl ChipTa {
    /// A chip trusting these CVCA certificates, believing today is `date`.
    pub fn new(trust_points: &[CvCertificate], date: CvDate) -> Self {
        ChipTa {
            trust_points: trust_points
                .iter()
                .map(|c| KnownKey {
                    holder: c.chr().to_owned(),
                    key: c.body.public_key.clone(),
                    role: Role::Cvca,
                    chat: c.body.chat.clone(),
                })
                .collect(),
            date,
            imported: Vec::new(),
            selected: None,
            terminal: None,
            v2_comp_pk_pcd: None,
            aux: None,
            pace_chat: None,
            challenge: None,
            granted: None,
        }
    }

    /// Forget the session: imported keys, a TA in progress, the rights granted. Trust
    /// points (a link CVCA's included) and the date stay.
    pub fn reset_session(&mut self) {
        self.imported.clear();
        self.selected = None;
        self.terminal = None;
        self.v2_comp_pk_pcd = None;
        self.aux = None;
        self.pace_chat = None;
        self.challenge = None;
        self.granted = None;
    }

    /// The CHAT of the PACE run that opened this session (after [`ChipTa::reset_session`]).
    /// TA then grants at most these rights (TR-03110-1 §3.2: the effective authorization
    /// is the AND of the PACE CHAT and the certificate chain's), and a terminal whose
    /// certificate has another terminal type is refused at MSE:Set AT (6985).
    pub fn set_pace_chat(&mut self, chat: Option<Chat>) {
        self.pace_chat = chat;
    }

    /// True after MSE:Set AT for TA (GET CHALLENGE then belongs here).
    pub fn in_progress(&self) -> bool {
        self.terminal.is_some() && self.granted.is_none()
    }

    /// EF.CVCA (TR-03110-3 A.6.2.1): `42 CAR` of the newest trust point, then of the one
    /// before it, zero-padded to 36 bytes.
    pub fn ef_cvca(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for t in self.trust_points.iter().rev().take(2) {
            tlv::encode_into(0x42, t.holder.as_bytes(), &mut v);
        }
        if v.len() < 36 {
            v.resize(36, 0);
        }
        v
    }

    /// The chip's current date.
    pub fn date(&self) -> CvDate {
        self.date
    }

    /// CHRs of the trust points.
    pub fn trust_points(&self) -> Vec<&str> {
        self.trust_points.iter().map(|k| k.holder.as_str()).collect()
    }

    /// The authorization granted by a successful TA (`None` before).
    pub fn granted(&self) -> Option<&Chat> {
        self.granted.as_ref()
    }

    /// Whether the terminal may read DG3 (`3`) or DG4 (`4`); other groups are not
    /// EAC-protected and always `true`.
    pub fn may_read(&self, dg: u8) -> bool {
        match dg {
            3 => self.granted.as_ref().is_some_and(Chat::reads_dg3),
            4 => self.granted.as_ref().is_some_and(Chat::reads_dg4),
            _ => true,
        }
    }

    /// Comp(PK_PCD) announced by a v2 MSE:Set AT (for Chip Authentication v2 to check).
    pub fn announced_comp_pk_pcd(&self) -> Option<&[u8]> {
        self.v2_comp_pk_pcd.as_deref()
    }

    /// The authenticated auxiliary data (`67 …`) the terminal sent with MSE:Set AT and
    /// signed over; meaningful once [`ChipTa::granted`] is set.
    pub fn auxiliary_data(&self) -> Option<&[u8]> {
        self.aux.as_deref()
    }

    fn find(&self, name: &str) -> Option<KnownKey> {
        self.imported
            .iter()
            .rev()
            .chain(self.trust_points.iter().rev())
            .find(|k| k.holder == name)
            .cloned()
    }

    /// MSE:Set DST (`00 22 81 B6 {83 CAR}`).
    pub fn mse_set_dst(&mut self, data: &[u8]) -> Response {
        let Some(name) = reference(data, 0x83) else {
            return Response::status(SW_WRONG_DATA);
        };
        self.selected = self.find(&name);
        Response::status(if self.selected.is_some() {
            SW_OK
        } else {
            SW_KEY_NOT_FOUND
        })
    }

    /// PSO:Verify Certificate (`00 2A 00 BE {7F4E, 5F37}`).
    pub fn pso_verify_certificate(&mut self, data: &[u8]) -> Response {
        let Some(issuer) = self.selected.clone() else {
            return Response::status(SW_CONDITIONS);
        };
        let cert = match CvCertificate::from_der(&tlv::encode(tag::CV_CERTIFICATE, data)) {
            Ok(c) => c,
            Err(_) => return Response::status(SW_WRONG_DATA),
        };
        if cert.car() != issuer.holder {
            return Response::status(SW_KEY_NOT_FOUND);
        }
        if cert.verify_signature(&issuer.key).is_err() {
            return Response::status(SW_VERIFICATION_FAILED);
        }
        let role = cert.role();
        let role_ok = matches!(
            (issuer.role, role),
            (Role::Cvca, Role::Cvca | Role::DvDomestic | Role::DvForeign)
                | (Role::DvDomestic | Role::DvForeign, Role::Terminal)
        );
        let type_ok = issuer.role == Role::Cvca || issuer.chat.terminal_type == cert.body.chat.terminal_type;
        if !role_ok || !type_ok {
            return Response::status(SW_WRONG_DATA);
        }
        if cert.body.expiration < self.date {
            return Response::status(SW_VERIFICATION_FAILED);
        }
        let key = cert.body.public_key.completed(Some(&issuer.key));
        if key.to_public_key(None).is_err() {
            return Response::status(SW_WRONG_DATA);
        }
        let chat = if cert.body.chat.terminal_type == issuer.chat.terminal_type {
            cert.body.chat.intersect(&issuer.chat)
        } else {
            cert.body.chat.clone()
        };
        // accurate dates move the chip's clock: CVCA and domestic DV certificates, and
        // terminals certified by a domestic DV
        let accurate = matches!(role, Role::Cvca | Role::DvDomestic)
            || (role == Role::Terminal && issuer.role == Role::DvDomestic);
        if accurate && cert.body.effective > self.date {
            self.date = cert.body.effective;
        }
        let known = KnownKey {
            holder: cert.chr().to_owned(),
            key,
            role,
            chat,
        };
        if role == Role::Cvca {
            // a link certificate: the new CVCA key becomes a trust point
            self.trust_points.push(known.clone());
        }
        self.imported.push(known);
        self.selected = None;
        Response::status(SW_OK)
    }

    /// MSE:Set AT (`00 22 81 A4 {83 CHR [67 auxiliary data] [91 Comp(PK_PCD)]}`,
    /// TR-03110-3 B.14.1). Auxiliary data must be a set of discretionary data
    /// templates `73 {06 OID, 53 data}` (6A80 otherwise); it becomes part of the signed
    /// input.
    pub fn mse_set_at(&mut self, data: &[u8]) -> Response {
        let Some(name) = reference(data, 0x83) else {
            return Response::status(SW_WRONG_DATA);
        };
        let mut elements = Vec::new();
        for t in tlv::Reader::new(data) {
            match t {
                Ok(t) => elements.push(t),
                Err(_) => return Response::status(SW_WRONG_DATA),
            }
        }
        let comp = elements.iter().find(|t| t.tag == 0x91).map(|t| t.value.to_vec());
        let aux = match elements.iter().find(|t| t.tag == 0x67) {
            Some(t) if auxiliary_data_well_formed(t.value) => Some(t.raw.to_vec()),
            Some(_) => return Response::status(SW_WRONG_DATA),
            None => None,
        };
        match self
            .imported
            .iter()
            .rev()
            .find(|k| k.holder == name && k.role == Role::Terminal)
        {
            Some(k)
                if self
                    .pace_chat
                    .as_ref()
                    .is_some_and(|p| p.terminal_type != k.chat.terminal_type) =>
            {
                Response::status(SW_CONDITIONS)
            }
            Some(k) => {
                let chat = match &self.pace_chat {
                    Some(p) => k.chat.intersect(p),
                    None => k.chat.clone(),
                };
                self.terminal = Some((k.clone(), chat));
                self.v2_comp_pk_pcd = comp;
                self.aux = aux;
                self.challenge = None;
                Response::status(SW_OK)
            }
            None => Response::status(SW_KEY_NOT_FOUND),
        }
    }

    /// GET CHALLENGE after MSE:Set AT: 8 random bytes. `None` when TA is not in
    /// progress (the chip's other GET CHALLENGE users answer then).
    pub fn get_challenge(&mut self, cmd: &Command, rng: &mut dyn RandomSource) -> Option<Response> {
        self.terminal.as_ref()?;
        if cmd.le != Some(8) {
            return Some(Response::status(StatusWord(0x6700)));
        }
        let r = rng.bytes(8);
        self.challenge = Some(r.clone());
        Some(Response::new(r, SW_OK))
    }

    /// EXTERNAL AUTHENTICATE: the terminal's signature over
    /// `ID_PICC ‖ r_PICC ‖ Comp(PK_PCD) [‖ A_PCD]` (A_PCD: the auxiliary data object of
    /// MSE:Set AT, when sent). Comp(PK_PCD) is the v2 MSE:Set AT announcement
    /// when there was one, else `comp_pk_pcd`, the terminal's ephemeral key as the
    /// session knows it (CA v1, PACE-CAM).
    pub fn external_authenticate(
        &mut self,
        data: &[u8],
        id_picc: &[u8],
        comp_pk_pcd: Option<&[u8]>,
    ) -> Response {
        let (Some((terminal, chat)), Some(r)) = (self.terminal.clone(), self.challenge.take()) else {
            return Response::status(SW_CONDITIONS);
        };
        // TA v2: the key MSE:Set AT announced (CA v2 follows); v1: the session's
        let Some(comp) = self
            .v2_comp_pk_pcd
            .clone()
            .or_else(|| comp_pk_pcd.map(<[u8]>::to_vec))
        else {
            return Response::status(SW_CONDITIONS);
        };
        let Some(alg) = terminal.key.algorithm() else {
            return Response::status(SW_WRONG_DATA);
        };
        let Ok(pk) = terminal.key.to_public_key(None) else {
            return Response::status(SW_WRONG_DATA);
        };
        let msg = crate::access::ta::signature_input_with_aux(id_picc, &r, &comp, self.aux.as_deref());
        match crate::pki::signature::verify(&alg.signature_algorithm(), &pk, &msg, data) {
            Ok(()) => {
                self.granted = Some(chat);
                Response::status(SW_OK)
            }
            Err(_) => Response::status(SW_VERIFICATION_FAILED),
        }
    }
}

/// Authenticated auxiliary data (TR-03110-3 A.6.5.1, tag 67's content): one or more
/// discretionary data templates `73`, each holding an object identifier `06` and its
/// data `53`.
fn auxiliary_data_well_formed(content: &[u8]) -> bool {
    let mut templates = 0;
    for t in tlv::Reader::new(content) {
        let Ok(t) = t else { return false };
        if t.tag != 0x73 {
            return false;
        }
        let mut inner = tlv::Reader::new(t.value);
        let (Some(Ok(oid)), Some(Ok(data)), None) = (inner.next(), inner.next(), inner.next()) else {
            return false;
        };
        if oid.tag != 0x06 || oid.value.is_empty() || data.tag != 0x53 {
            return false;
        }
        templates += 1;
    }
    templates > 0
}

/// The CHAT (`7F4C { 06 terminal type, 53 access bits }`) in the data of PACE's
/// MSE:Set AT: `Ok(None)` without one, an error naming the fault when it is malformed.
pub fn pace_chat(data: &[u8]) -> Result<Option<Chat>, &'static str> {
    let mut chat = None;
    for t in tlv::Reader::new(data) {
        let t = t.map_err(|_| "malformed MSE:Set AT data")?;
        if t.tag != tag::CHAT {
            continue;
        }
        let mut inner = tlv::Reader::new(t.value);
        let (Some(Ok(oid)), Some(Ok(bits)), None) = (inner.next(), inner.next(), inner.next()) else {
            return Err("CHAT is not 06 terminal type, 53 access bits");
        };
        if oid.tag != 0x06 || bits.tag != 0x53 || bits.value.is_empty() {
            return Err("CHAT is not 06 terminal type, 53 access bits");
        }
        let terminal_type = crate::cms::Oid::from_bytes(oid.value).map_err(|_| "bad CHAT terminal type")?;
        chat = Some(Chat {
            terminal_type,
            bits: bits.value.to_vec(),
        });
    }
    Ok(chat)
}

/// The text of the element `tag` in an MSE data field.
fn reference(data: &[u8], tag: u32) -> Option<String> {
    let t = tlv::Reader::new(data)
        .filter_map(Result::ok)
        .find(|t| t.tag == tag)?;
    std::str::from_utf8(t.value).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::ta::TaCertificate;
    use crate::access::ta::{self, KeyKind, TaInput};
    use crate::apdu::{ApduError, CardChannel};
    use crate::pki::terminal_key::{TerminalKey, ta_certificate};

    fn dir() -> String {
        format!(
            "{}/test-vectors/protocol/bsi_eac_worked_example",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    fn cert(name: &str) -> CvCertificate {
        CvCertificate::from_der(&std::fs::read(format!("{}/{name}", dir())).unwrap()).unwrap()
    }

    fn val(variant: &str, k: &str) -> Vec<u8> {
        let p = format!("{}/bsi_eac_worked_example_{variant}.json", dir());
        let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        hex::decode(j["values"][k].as_str().unwrap()).unwrap()
    }

    /// The chip's TA behind a [`CardChannel`], with a fixed challenge.
    struct Chip {
        ta: ChipTa,
        rng: crate::rng::ScriptedRandom,
        id_picc: Vec<u8>,
        comp: Vec<u8>,
        n: usize,
    }

    impl CardChannel for Chip {
        fn send(&mut self, cmd: &Command) -> Result<Response, ApduError> {
            self.n += 1;
            Ok(match (cmd.ins, cmd.p1, cmd.p2) {
                (0x22, 0x81, 0xB6) => self.ta.mse_set_dst(&cmd.data),
                (0x2A, 0x00, 0xBE) => self.ta.pso_verify_certificate(&cmd.data),
                (0x22, 0x81, 0xA4) => self.ta.mse_set_at(&cmd.data),
                (0x84, _, _) => self
                    .ta
                    .get_challenge(cmd, &mut self.rng)
                    .unwrap_or(Response::status(SW_CONDITIONS)),
                (0x82, _, _) => self
                    .ta
                    .external_authenticate(&cmd.data, &self.id_picc, Some(&self.comp)),
                _ => Response::status(StatusWord(0x6D00)),
            })
        }

        fn exchanges(&self) -> usize {
            self.n
        }
    }

    /// Terminal Authentication v1 input for ID_PICC `id` and Comp(PK_PCD) `comp`.
    fn v1_input<'a>(
        chain: &'a [TaCertificate],
        id: &'a [u8],
        comp: &'a [u8],
        aux: Option<&'a [u8]>,
    ) -> TaInput<'a> {
        TaInput {
            chain,
            id_picc: id,
            comp_pk_pcd: comp,
            v2: false,
            aux,
        }
    }

    fn dh_chip(date: CvDate) -> Chip {
        Chip {
            ta: ChipTa::new(&[cert("dh_cvca.cvcert")], date),
            rng: crate::rng::ScriptedRandom::new([val("dh", "ta_nonce")]),
            id_picc: ta::comp(KeyKind::Dh, &val("dh", "picc_pub_key")).unwrap(),
            comp: ta::comp(KeyKind::Dh, &val("dh", "ca_pcd_pub_key")).unwrap(),
            n: 0,
        }
    }

    const DAY: CvDate = CvDate {
        year: 2010,
        month: 3,
        day: 25,
    };

    #[test]
    fn chip_accepts_the_worked_example_signature() {
        // the certificates and the worked example's own signature, no reader code; the
        // chip's clock starts before the certificates' effective date (2010-03-24)
        let mut chip = dh_chip(CvDate {
            year: 2010,
            month: 3,
            day: 1,
        });
        let t = &mut chip.ta;
        assert_eq!(t.mse_set_dst(&tlv::encode(0x83, b"DETESTCVCA00003")).sw, SW_OK);
        let dv = cert("dh_dv_cert.cvcert");
        let term = cert("dh_ta_cert.cvcert");
        let pso = |c: &CvCertificate| [c.body_der().to_vec(), c.signature_tlv()].concat();
        assert_eq!(t.pso_verify_certificate(&pso(&dv)).sw, SW_OK);
        assert_eq!(t.mse_set_dst(&tlv::encode(0x83, b"DETESTDVDE019")).sw, SW_OK);
        assert_eq!(t.pso_verify_certificate(&pso(&term)).sw, SW_OK);
        assert_eq!(t.mse_set_at(&tlv::encode(0x83, b"DETESTATDE019")).sw, SW_OK);
        let r = t
            .get_challenge(&Command::get_challenge(8), &mut chip.rng)
            .unwrap();
        assert_eq!(r.data, val("dh", "ta_nonce"));
        let sig = val("dh", "ta_pcd_signature");
        // a flipped signature byte is refused, and the challenge is then used up
        let mut bad = sig.clone();
        bad[5] ^= 1;
        assert_eq!(
            t.external_authenticate(&bad, &chip.id_picc, Some(&chip.comp)).sw,
            SW_VERIFICATION_FAILED
        );
        assert_eq!(
            t.external_authenticate(&sig, &chip.id_picc, Some(&chip.comp)).sw,
            SW_CONDITIONS
        );
        chip.rng.push(val("dh", "ta_nonce"));
        t.get_challenge(&Command::get_challenge(8), &mut chip.rng)
            .unwrap();
        assert_eq!(
            t.external_authenticate(&sig, &chip.id_picc, Some(&chip.comp)).sw,
            SW_OK
        );
        assert!(t.granted().is_some());
        // the chip's clock moved to the DV's effective date (domestic DV)
        assert_eq!(
            t.date(),
            CvDate {
                year: 2010,
                month: 3,
                day: 24
            }
        );
    }

    /// The worked example's DH terminal: its DV and terminal certificates as sent in
    /// PSO:Verify Certificate, and the terminal's private key.
    fn dh_terminal() -> (Vec<TaCertificate>, TerminalKey) {
        let chain = ["dh_dv_cert.cvcert", "dh_ta_cert.cvcert"]
            .iter()
            .map(|n| ta_certificate(&cert(n)))
            .collect();
        let alg = cert("dh_ta_cert.cvcert").body.public_key.algorithm().unwrap();
        let key = TerminalKey::from_file(
            std::path::Path::new(&format!("{}/dh_ta_pcd_key.pkcs8.der", dir())),
            alg,
        )
        .unwrap();
        (chain, key)
    }

    #[test]
    fn reader_and_chip_run_ta_and_refusals_carry_status_words() {
        let (chain, key) = dh_terminal();
        let mut chip = dh_chip(DAY);
        let (id, comp) = (chip.id_picc.clone(), chip.comp.clone());
        let input = v1_input(&chain, &id, &comp, None);
        ta::authenticate(&mut chip, &input, &key).unwrap();
        assert!(chip.ta.granted().is_some());
        // the worked example's CHATs are id-AT: no id-IS DG3/DG4 rights
        assert!(!chip.ta.may_read(3));
        assert!(chip.ta.may_read(1));

        // expired: the chip's date is after the terminal certificate's expiration
        let mut late = dh_chip(CvDate {
            year: 2010,
            month: 4,
            day: 25,
        });
        let e = ta::authenticate(&mut late, &input, &key).unwrap_err();
        assert_eq!(e.status_word(), Some(SW_VERIFICATION_FAILED));
        // a chain under another CVCA: the chip does not know the CAR
        let mut other = dh_chip(DAY);
        other.ta = ChipTa::new(&[cert("ecdh_cvca_cert.cvcert")], DAY);
        let e = ta::authenticate(&mut other, &input, &key).unwrap_err();
        assert_eq!(e.status_word(), Some(SW_KEY_NOT_FOUND));
        // a wrong ID_PICC (another document) fails EXTERNAL AUTHENTICATE
        let mut chip = dh_chip(DAY);
        chip.id_picc[0] ^= 1;
        let e = ta::authenticate(&mut chip, &input, &key).unwrap_err();
        assert_eq!(e.status_word(), Some(SW_VERIFICATION_FAILED));
        assert!(chip.ta.granted().is_none());
    }

    /// Age verification (id-DateOfBirth 0.4.0.127.0.7.3.1.4.1, date 2008-01-01) as
    /// authenticated auxiliary data: `67 { 73 { 06 OID, 53 "20080101" } }`.
    const AUX: [u8; 25] = [
        0x67, 0x17, 0x73, 0x15, 0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x04, 0x01, 0x53, 0x08,
        b'2', b'0', b'0', b'8', b'0', b'1', b'0', b'1',
    ];

    #[test]
    fn chip_verifies_the_signature_over_auxiliary_data() {
        // the signature is made here with OpenSSL (RSA PKCS#1 v1.5 / SHA-1, the worked
        // example's id-TA-RSA-v1-5-SHA-1 key) over an input assembled by hand:
        // SHA-1(PK_PICC) ‖ r_PICC ‖ SHA-1(PK_PCD) ‖ 67 …, no project code involved
        use openssl::{hash::MessageDigest, pkey::PKey, sign::Signer};
        let strip = |v: Vec<u8>| {
            if v.len() > 128 && v[0] == 0 {
                v[1..].to_vec()
            } else {
                v
            }
        };
        let id_picc = openssl::sha::sha1(&strip(val("dh", "picc_pub_key"))).to_vec();
        let comp = openssl::sha::sha1(&strip(val("dh", "ca_pcd_pub_key"))).to_vec();
        let r = val("dh", "ta_nonce");
        let key = PKey::private_key_from_pkcs8(
            &std::fs::read(format!("{}/dh_ta_pcd_key.pkcs8.der", dir())).unwrap(),
        )
        .unwrap();
        let sign = |m: &[u8]| {
            let mut s = Signer::new(MessageDigest::sha1(), &key).unwrap();
            s.update(m).unwrap();
            s.sign_to_vec().unwrap()
        };
        let with_aux = sign(&[&id_picc[..], &r, &comp, &AUX].concat());
        let without = sign(&[&id_picc[..], &r, &comp].concat());
        // the no-aux signature is the worked example's: the hand-made input is right
        assert_eq!(without, val("dh", "ta_pcd_signature"));

        let mut chip = dh_chip(DAY);
        assert_eq!(chip.id_picc, id_picc);
        let t = &mut chip.ta;
        let pso = |c: &CvCertificate| [c.body_der().to_vec(), c.signature_tlv()].concat();
        assert_eq!(t.mse_set_dst(&tlv::encode(0x83, b"DETESTCVCA00003")).sw, SW_OK);
        assert_eq!(
            t.pso_verify_certificate(&pso(&cert("dh_dv_cert.cvcert"))).sw,
            SW_OK
        );
        assert_eq!(t.mse_set_dst(&tlv::encode(0x83, b"DETESTDVDE019")).sw, SW_OK);
        assert_eq!(
            t.pso_verify_certificate(&pso(&cert("dh_ta_cert.cvcert"))).sw,
            SW_OK
        );
        let set_at = [tlv::encode(0x83, b"DETESTATDE019"), AUX.to_vec()].concat();
        assert_eq!(t.mse_set_at(&set_at).sw, SW_OK);
        let mut challenge = |t: &mut ChipTa| {
            chip.rng.push(r.clone());
            t.get_challenge(&Command::get_challenge(8), &mut chip.rng)
                .unwrap()
        };
        challenge(t);
        // a terminal that sent auxiliary data but did not sign over it is refused
        assert_eq!(
            t.external_authenticate(&without, &id_picc, Some(&comp)).sw,
            SW_VERIFICATION_FAILED
        );
        challenge(t);
        assert_eq!(
            t.external_authenticate(&with_aux, &id_picc, Some(&comp)).sw,
            SW_OK
        );
        assert_eq!(t.auxiliary_data(), Some(&AUX[..]));

        // malformed auxiliary data: a template without its data object, another tag
        for bad in [
            &[
                0x67, 0x0D, 0x73, 0x0B, 0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x04, 0x01,
            ][..],
            &[0x67, 0x04, 0x53, 0x02, 0x01, 0x02][..],
            &[0x67, 0x00][..],
        ] {
            let data = [tlv::encode(0x83, b"DETESTATDE019"), bad.to_vec()].concat();
            assert_eq!(t.mse_set_at(&data).sw, SW_WRONG_DATA, "{}", hex::encode(bad));
        }
    }

    #[test]
    fn reader_sends_and_signs_auxiliary_data() {
        let (chain, key) = dh_terminal();
        assert_eq!(
            ta::mse_set_at("DETESTATDE019", Some(&AUX), None).data,
            [tlv::encode(0x83, b"DETESTATDE019"), AUX.to_vec()].concat()
        );
        let mut chip = dh_chip(DAY);
        let (id, comp) = (chip.id_picc.clone(), chip.comp.clone());
        let input = v1_input(&chain, &id, &comp, Some(&AUX));
        ta::authenticate(&mut chip, &input, &key).unwrap();
        assert_eq!(chip.ta.auxiliary_data(), Some(&AUX[..]));
    }

    fn ut(name: &str) -> String {
        format!("{}/pkd-fixtures/eac/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    /// TA with the UT inspection-system chain (CHAT: DG3 and DG4) after a PACE whose
    /// MSE:Set AT carried `pace_chat`.
    fn ut_ta(pace_chat: Option<Chat>) -> (Chip, Result<ta::TaOutcome, ta::TaError>) {
        let read = |n: &str| CvCertificate::from_der(&std::fs::read(ut(n)).unwrap()).unwrap();
        let cvca = read("ut/ut-cvca.cvcert");
        let is = read("ut/ut-is.cvcert");
        let chain: Vec<_> = [read("ut/ut-dv.cvcert"), is.clone()]
            .iter()
            .map(ta_certificate)
            .collect();
        let key = TerminalKey::from_file(
            std::path::Path::new(&ut("keys/ut-is.key.pem")),
            is.body
                .public_key
                .completed(Some(&cvca.body.public_key))
                .algorithm()
                .unwrap(),
        )
        .unwrap();
        let mut chip = Chip {
            ta: ChipTa::new(&[cvca], is.body.effective),
            rng: crate::rng::ScriptedRandom::new([vec![7; 8]]),
            id_picc: vec![1; 32],
            comp: vec![2; 32],
            n: 0,
        };
        chip.ta.set_pace_chat(pace_chat);
        let (id, comp) = (chip.id_picc.clone(), chip.comp.clone());
        let input = v1_input(&chain, &id, &comp, None);
        let r = ta::authenticate(&mut chip, &input, &key);
        (chip, r)
    }

    #[test]
    fn pace_chat_limits_what_terminal_authentication_grants() {
        // 7F4C { 06 id-IS (0.4.0.127.0.7.3.1.2.1), 53 01 } : read DG3 only
        let dg3_only = [
            0x7F, 0x4C, 0x0E, 0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x02, 0x01, 0x53, 0x01,
            0x01,
        ];
        let mse = [&[0x80, 0x01, 0x00][..], &dg3_only].concat();
        let chat = pace_chat(&mse).unwrap().unwrap();
        assert_eq!(chat, Chat::inspection_system(Role::Terminal, true, false));
        assert_eq!(pace_chat(&[0x80, 0x01, 0x00]), Ok(None));
        // a CHAT without its access bits, or without its terminal type
        let no_bits = [
            0x7F, 0x4C, 0x0B, 0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x02, 0x01,
        ];
        assert!(pace_chat(&no_bits).is_err());
        assert!(pace_chat(&[0x7F, 0x4C, 0x03, 0x53, 0x01, 0x01]).is_err());

        // without a PACE CHAT the chain's rights (DG3 and DG4)
        let (chip, r) = ut_ta(None);
        r.unwrap();
        assert!(chip.ta.may_read(3) && chip.ta.may_read(4));
        // with it, the AND: DG3 only
        let (chip, r) = ut_ta(Some(chat));
        r.unwrap();
        assert!(chip.ta.may_read(3));
        assert!(!chip.ta.may_read(4));
        // a PACE CHAT asking for nothing leaves nothing
        let (chip, r) = ut_ta(Some(Chat::inspection_system(Role::Terminal, false, false)));
        r.unwrap();
        assert!(!chip.ta.may_read(3) && !chip.ta.may_read(4));
        // PACE as an authentication terminal, TA with an inspection-system certificate
        let at = Chat {
            terminal_type: crate::pki::cvc::oid::ROLE_AT,
            bits: vec![0, 0, 0, 0, 0x3F],
        };
        let (chip, r) = ut_ta(Some(at));
        assert_eq!(r.unwrap_err().status_word(), Some(SW_CONDITIONS));
        assert!(chip.ta.granted().is_none());
    }
}

//! Extended Access Control inside a reading session (BSI TR-03110-1 §3.2–3.5; Doc 9303
//! Part 11 §7): after the groups every reader may read, Chip Authentication v1 (skipped
//! after PACE-CAM, which authenticated the chip already), then EF.CVCA names the chip's
//! trust points, the chain below one of them is chosen from the credentials, Terminal
//! Authentication runs ([`crate::access::ta`]), and DG3 and DG4 are read as far as the
//! chain's authorization grants.
//!
//! EAC version 2, for a chip read with PACE that publishes Chip Authentication version 2
//! only: the terminal's ephemeral key is made first, TA v2 announces Comp() of it
//! (MSE:Set AT tag 91) and signs over it, then CA v2 ([`crate::access::ca::v2`]) runs
//! with it and re-keys the channel before DG3/DG4 are read.
//!
//! The reader records what happened ([`TaRecord`]); whether it matters for the verdict
//! is decided by `verify`.
//!
//! - ID_PICC is the document number with its check digit after BAC, and Comp() of the
//!   chip's ephemeral PACE key after PACE.
//! - Comp(PK_PCD) is Comp() of the terminal's ephemeral Chip Authentication key; after
//!   PACE-CAM, which has no separate CA, of the terminal's ephemeral PACE key.

use std::collections::BTreeMap;

use super::dump::{AbsentRecord, TaRecord};
use super::{ReadError, ReadProgress, Session};
use crate::access::ca;
use crate::access::password::Password;
use crate::access::ta::{self, KeyKind, TaError, TaInput};
use crate::apdu::{ApduError, CardChannel, Command, StatusWord};
use crate::lds::LdsFile;
use crate::lds::dg14::Dg14;
use crate::lds::security_infos::{CardSecurity, SecurityInfo, SecurityInfos};
use crate::pki::cvc::{Chat, CvCertificate};
use crate::pki::eac_credentials::select_chain;
use crate::pki::terminal_key::ta_certificate;
use crate::sm::SmError;
use crate::transport::Transport;

/// [`TaRecord::outcome`] of a successful Terminal Authentication.
pub const TA_AUTHENTICATED: &str = "authenticated";

/// Short file identifier of EF.CVCA (TR-03110-3 A.6.2.1).
pub const EF_CVCA_SFI: u8 = 0x1C;

/// The SecurityInfos to run Chip Authentication with: DG14's when it holds a CA key,
/// else EF.CardSecurity's (chips that publish the key only there).
pub fn ca_key_source(files: &BTreeMap<LdsFile, Vec<u8>>) -> Option<SecurityInfos> {
    let has_key = |i: &SecurityInfos| {
        i.infos
            .iter()
            .any(|x| matches!(x, SecurityInfo::ChipAuthenticationPublicKey(_)))
    };
    if let Some(i) = files
        .get(&LdsFile::Dg(14))
        .and_then(|b| Dg14::decode(b).map(SecurityInfos::from).ok())
        .filter(has_key)
    {
        return Some(i);
    }
    let cs = files.get(&LdsFile::CardSecurity)?;
    CardSecurity::decode(cs)
        .ok()
        .map(|c| c.security_infos)
        .filter(has_key)
}

/// The effective authorization of a chain: the AND of its CHATs, and of the CVCA's
/// when it is at hand (TR-03110-3 C.4), as the chip computes it.
pub fn effective_chat(chain: &[&CvCertificate], cvca: Option<&CvCertificate>) -> Option<Chat> {
    let mut it = chain.iter().rev();
    let mut chat = it.next()?.body.chat.clone();
    for c in it.map(|c| &c.body.chat).chain(cvca.map(|c| &c.body.chat)) {
        if c.terminal_type == chat.terminal_type {
            chat = chat.intersect(c);
        }
    }
    Some(chat)
}

fn new_record() -> TaRecord {
    TaRecord {
        outcome: "not_run".into(),
        version: 1,
        chip_cvca: Vec::new(),
        cvca: None,
        chain: Vec::new(),
        step: None,
        sw: None,
        reason: None,
        dg3: false,
        dg4: false,
    }
}

/// A link that failed (reconnecting may cure it) or a secure channel that broke: the
/// session's recovery handles both.
fn recoverable(e: &ApduError) -> bool {
    match e {
        ApduError::Transport(t) => {
            t.is_link_loss() || matches!(t, crate::transport::TransportError::MalformedResponse { .. })
        }
        _ => crate::sm::sm_error(e).is_some_and(|sm| !matches!(sm, SmError::ChipAbortedSm { .. })),
    }
}

impl<T: Transport> Session<'_, T> {
    /// Extended Access Control, then DG3/DG4 as granted.
    pub(super) fn extended_access_control(
        &mut self,
        groups: &[LdsFile],
        progress: &mut dyn ReadProgress,
    ) -> Result<(), ReadError> {
        self.context("Extended Access Control");
        let record = self.with_recovery(None, |s| s.eac_authenticate())?;
        let authenticated = record.outcome == TA_AUTHENTICATED;
        let (dg3, dg4) = (record.dg3, record.dg4);
        let why = match &record.reason {
            Some(r) => format!(
                "Terminal Authentication {}: {r}",
                record.outcome.replace('_', " ")
            ),
            None => format!("Terminal Authentication {}", record.outcome.replace('_', " ")),
        };
        self.manifest.terminal_authentication = Some(record);
        if self.dead {
            // the chip ended secure messaging while refusing: a fresh session for what
            // comes after the read (Active Authentication)
            self.recover(
                None,
                0,
                "channel_broken",
                "secure messaging re-established after the chip ended it during Terminal Authentication"
                    .into(),
            )?;
        }
        for &g in groups {
            let granted = authenticated
                && match g {
                    LdsFile::Dg(3) => dg3,
                    LdsFile::Dg(4) => dg4,
                    _ => true,
                };
            if granted {
                self.read_one(g, progress)?;
            } else {
                let meaning = if authenticated {
                    format!(
                        "not read: the terminal's authorization does not grant reading {}",
                        g.name()
                    )
                } else {
                    format!("not read: {why}")
                };
                self.manifest.absent.push(AbsentRecord {
                    name: g.name(),
                    sw: String::new(),
                    meaning,
                });
            }
        }
        Ok(())
    }

    /// Chip Authentication (unless PACE-CAM did it) and Terminal Authentication.
    /// Errors are those recovery can act on; everything else is in the record.
    pub(super) fn eac_authenticate(&mut self) -> Result<TaRecord, ReadError> {
        let mut rec = new_record();
        let Some(creds) = self.options.eac.clone() else {
            rec.reason = Some("no terminal credentials".into());
            return Ok(rec);
        };
        // EAC v2 (PACE → TA v2 → CA v2) for a chip that offers CA version 2 only; else
        // v1 (CA v1 or PACE-CAM, then TA)
        let v2 = match self.eac_v2_setup() {
            Ok(v) => v,
            Err(reason) => {
                rec.reason = Some(reason);
                return Ok(rec);
            }
        };
        let comp_pk_pcd = match &v2 {
            Some((_, eph)) => {
                rec.version = 2;
                eph.comp.clone()
            }
            None => match self.eac_chip_authentication()? {
                Ok(c) => c,
                Err(reason) => {
                    rec.reason = Some(reason);
                    return Ok(rec);
                }
            },
        };
        let Some(id_picc) = self.id_picc() else {
            rec.reason = Some("ID_PICC is unknown (neither a BAC document number nor a PACE key)".into());
            return Ok(rec);
        };
        let Some(ch) = self.channel.as_mut() else {
            return Err(ReadError::AccessUnavailable {
                what: "no secure channel".into(),
            });
        };
        // EF.CVCA: at most two CVCA references, 36 bytes
        if let Some(t) = &self.trace {
            t.set_context("read EF.CVCA");
        }
        let resp = ch.send(&Command::read_binary_sfi(EF_CVCA_SFI, 0, 36))?;
        if resp.sw.is_success() || resp.sw == StatusWord::END_OF_FILE {
            rec.chip_cvca = ta::parse_ef_cvca(&resp.data);
        }
        if rec.chip_cvca.is_empty() {
            rec.outcome = "no_chain".into();
            rec.reason = Some(if resp.sw.is_success() {
                "EF.CVCA names no CVCA".into()
            } else {
                format!("EF.CVCA could not be read ({:04X})", resp.sw.0)
            });
            return Ok(rec);
        }
        let Some((anchor, chain)) = select_chain(&creds.certificates, &rec.chip_cvca, None) else {
            rec.outcome = "no_chain".into();
            rec.reason = Some(format!(
                "none of the {} CV certificates given leads from the chip's CVCA ({}) to a terminal certificate",
                creds.certificates.len(),
                rec.chip_cvca.join(", ")
            ));
            return Ok(rec);
        };
        rec.chain = chain.iter().map(|c| c.chr().to_owned()).collect();
        let cvca = creds
            .certificates
            .iter()
            .find(|c| c.chr() == anchor && c.is_self_signed());
        rec.cvca = Some(anchor);
        let Some(terminal) = chain.last() else {
            rec.outcome = "no_chain".into();
            return Ok(rec);
        };
        if let Some(mut chat) = effective_chat(&chain, cvca) {
            // the chip grants at most what PACE's CHAT asked for
            if let Some(asked) = &self.pace_chat {
                chat = if asked.terminal_type == chat.terminal_type {
                    chat.intersect(asked)
                } else {
                    Chat {
                        terminal_type: chat.terminal_type,
                        bits: vec![0; chat.bits.len()],
                    }
                };
            }
            rec.dg3 = chat.reads_dg3();
            rec.dg4 = chat.reads_dg4();
        }
        let Some(alg) = terminal.body.public_key.algorithm() else {
            rec.outcome = "error".into();
            rec.reason = Some(format!(
                "the terminal certificate {} names no algorithm",
                terminal.chr()
            ));
            return Ok(rec);
        };
        let signer = match creds.key.signer(alg) {
            Ok(s) => s,
            Err(e) => {
                rec.outcome = "error".into();
                rec.step = Some("terminal key".into());
                rec.reason = Some(e);
                return Ok(rec);
            }
        };
        let certs: Vec<_> = chain.iter().map(|c| ta_certificate(c)).collect();
        let input = TaInput {
            chain: &certs,
            id_picc: &id_picc,
            comp_pk_pcd: &comp_pk_pcd,
            v2: v2.is_some(),
            aux: None,
        };
        if let Some(t) = &self.trace {
            t.set_context("Terminal Authentication");
        }
        let Some(ch) = self.channel.as_mut() else {
            return Err(ReadError::AccessUnavailable {
                what: "no secure channel".into(),
            });
        };
        match ta::authenticate(ch, &input, signer.as_ref()) {
            Ok(_) => match &v2 {
                None => rec.outcome = TA_AUTHENTICATED.into(),
                Some((infos, eph)) => {
                    if let Some(t) = &self.trace {
                        t.set_context("Chip Authentication");
                    }
                    let result = ca::v2::choose_v2(infos, None)
                        .and_then(|c| ca::v2::run_v2(ch, &c, eph, &ca::CaConfig::default()))
                        .and_then(|mut ev| {
                            ca::prove(ch)?;
                            ev.proven = true;
                            Ok(ev)
                        });
                    match result {
                        Ok(ev) => {
                            rec.outcome = TA_AUTHENTICATED.into();
                            self.ca_v1 = Some(Ok(ev));
                        }
                        Err(ca::CaError::Apdu(a)) if recoverable(&a) => return Err(ReadError::Apdu(a)),
                        Err(e) => {
                            rec.reason = Some(format!("Chip Authentication v2 after TA failed: {e}"));
                            self.ca_v1 = Some(Err(e));
                            self.dead = true;
                        }
                    }
                }
            },
            Err(TaError::Refused { step, sw, .. }) => {
                rec.outcome = "refused".into();
                rec.step = Some(step.into());
                rec.sw = Some(format!("{:04X}", sw.0));
                rec.reason = Some(format!(
                    "the chip answered {:04X} ({}) to {step}",
                    sw.0,
                    sw.meaning()
                ));
            }
            Err(TaError::Apdu(a)) if recoverable(&a) => return Err(ReadError::Apdu(a)),
            Err(TaError::Apdu(a)) => {
                // the chip ended secure messaging with a plain status word
                if let Some(SmError::ChipAbortedSm { sw }) = crate::sm::sm_error(&a) {
                    rec.outcome = "refused".into();
                    rec.sw = Some(format!("{:04X}", sw.0));
                    rec.reason = Some(format!(
                        "the chip answered {:04X} ({}) without secure messaging, ending the session",
                        sw.0,
                        sw.meaning()
                    ));
                } else {
                    rec.outcome = "error".into();
                    rec.reason = Some(a.to_string());
                }
                self.dead = true;
            }
            Err(e) => {
                rec.outcome = "error".into();
                rec.reason = Some(e.to_string());
            }
        }
        Ok(rec)
    }

    /// The CHAT to put in PACE's MSE:Set AT: with terminal credentials, for a chip whose
    /// EF.CardAccess announces EAC version 2 (a TerminalAuthenticationInfo or a
    /// ChipAuthenticationInfo of version 2). TR-03110-3 has the terminal send its role
    /// and requested rights there when TA version 2 follows PACE; an EAC version 1
    /// ePassport gets no CHAT (Doc 9303 Part 11's MSE:Set AT for PACE has none, and a
    /// chip might refuse an object it does not know).
    pub(super) fn pace_chat_request(&self, card_access: &SecurityInfos) -> Option<Chat> {
        let creds = self.options.eac.as_ref()?;
        let eac2 = card_access.infos.iter().any(|i| match i {
            SecurityInfo::TerminalAuthentication(t) => t.version == 2,
            SecurityInfo::ChipAuthentication(c) => c.version == 2,
            _ => false,
        });
        eac2.then(|| creds.pace_chat_request())
    }

    /// EAC version 2 applies after PACE (not PACE-CAM) to a chip that publishes Chip
    /// Authentication version 2 and no version 1: the SecurityInfos and the terminal's
    /// ephemeral key, made now so TA v2 can announce it. `Ok(None)`: version 1.
    fn eac_v2_setup(&mut self) -> Result<Option<(SecurityInfos, ca::v2::Ephemeral)>, String> {
        let pace = self.record.as_ref().is_some_and(|r| r.protocol == "PACE");
        if !pace || self.cam.is_some() {
            return Ok(None);
        }
        let Some(infos) = ca_key_source(&self.files) else {
            return Ok(None);
        };
        let v1 = ca::select::choose(&infos, None).is_ok();
        let Ok(candidate) = ca::v2::choose_v2(&infos, None) else {
            return Ok(None);
        };
        if v1 {
            return Ok(None);
        }
        let key = candidate
            .key()
            .map_err(|e| format!("Chip Authentication v2 key: {e}"))?;
        let eph = ca::v2::ephemeral(&key, &mut *self.rng).map_err(|e| format!("ephemeral key: {e}"))?;
        Ok(Some((infos.clone(), eph)))
    }

    /// Chip Authentication for EAC: `Ok(Ok(Comp(PK_PCD)))` when the chip proved its
    /// key (or PACE-CAM did), `Ok(Err(why))` when TA cannot follow.
    fn eac_chip_authentication(&mut self) -> Result<Result<Vec<u8>, String>, ReadError> {
        if self.cam.is_some() {
            let verified = self
                .manifest
                .chip_authentication
                .as_ref()
                .is_some_and(|c| c.verified);
            let Some(keys) = self.pace_keys.as_ref().filter(|_| verified) else {
                return Ok(Err("PACE-CAM did not authenticate the chip".into()));
            };
            return Ok(ta::comp(KeyKind::Ec, &keys.terminal).map_err(|e| e.to_string()));
        }
        let Some(infos) = ca_key_source(&self.files) else {
            return Ok(Err(
                "the chip publishes no Chip Authentication key (DG14, EF.CardSecurity), which Terminal \
                 Authentication follows"
                    .into(),
            ));
        };
        self.context("Chip Authentication");
        let Some(ch) = self.channel.as_mut() else {
            return Err(ReadError::AccessUnavailable {
                what: "no secure channel".into(),
            });
        };
        match ca::authenticate_and_prove(ch, &infos, &ca::CaConfig::default(), &mut *self.rng) {
            Ok(ev) => {
                let kind = if ev.key_agreement == "ECDH" {
                    KeyKind::Ec
                } else {
                    KeyKind::Dh
                };
                let comp = ta::comp(kind, &ev.terminal_ephemeral_public_key).map_err(|e| e.to_string());
                self.ca_v1 = Some(Ok(ev));
                Ok(comp)
            }
            Err(ca::CaError::Apdu(a)) if recoverable(&a) => Err(ReadError::Apdu(a)),
            Err(e) => {
                let why = format!("Chip Authentication failed: {e}");
                // after a failed CA the two sides' keys may differ: a fresh session for
                // whatever follows
                self.dead = true;
                self.ca_v1 = Some(Err(e));
                Ok(Err(why))
            }
        }
    }

    /// ID_PICC: after PACE Comp() of the chip's ephemeral key; after BAC the document
    /// number (as in the MRZ, fillers included) and its check digit.
    fn id_picc(&self) -> Option<Vec<u8>> {
        let pace = self.record.as_ref().is_some_and(|r| r.protocol == "PACE");
        if pace {
            let k = self.pace_keys.as_ref()?;
            let kind = if k.ec { KeyKind::Ec } else { KeyKind::Dh };
            return ta::comp(kind, &k.chip).ok();
        }
        let Password::Mrz(key) = &self.password else {
            return None;
        };
        // MRZ information: document number ‖ cd ‖ birth ‖ cd ‖ expiry ‖ cd
        let info = key.mrz_information();
        let n = info.len().checked_sub(14)?;
        info.as_bytes().get(..n).map(<[u8]>::to_vec)
    }

    /// The Chip Authentication v1 run for EAC, taken once.
    pub(super) fn take_ca_v1(&mut self) -> Option<Result<ca::CaEvidence, ca::CaError>> {
        self.ca_v1.take()
    }
}

//! The chip's command processor (ISO/IEC 7816-4 commands as Doc 9303 Part 10 §3 and
//! Part 11 use them) with the access conditions of Doc 9303: EF.CardAccess, EF.ATR/INFO
//! and EF.DIR readable in plain at the master file; the eMRTD application's files
//! only under secure messaging after BAC or PACE; EF.CardSecurity only after PACE.

use std::sync::Arc;

use crate::access::bac::ChipBac;
use crate::access::pace::ChipPace;
use crate::access::password::{MrzKey, Password};
use crate::apdu::{CLA_CHAINING, Command, MAX_SHORT_LC, Response, StatusWord};
use crate::lds::security_infos::SecurityInfos;
use crate::lds::{EMRTD_AID, LdsFile};
use crate::rng::{OsRandom, RandomSource};
use crate::sm::ChipSm;
use crate::transport::{Transport, TransportError, TransportInfo};

use super::auth::ChipAuth;
use super::fault::{self, Before, Injector};
use super::link::{ChipWork, LinkModel};
use super::profile::{OversizeLe, Profile};
use super::ta::ChipTa;

/// Which dedicated file is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Df {
    Mf,
    App,
}

/// How the current secure channel was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Bac,
    Pace,
}

/// Authentication state.
enum Auth {
    None,
    BacChallenge(ChipBac),
    Secure { sm: ChipSm, via: Via },
}

struct State {
    df: Df,
    current: Option<LdsFile>,
    /// EF.CVCA (not an LDS file of the profile) is the current EF.
    cvca_selected: bool,
    auth: Auth,
    /// ID_PICC of the session for Terminal Authentication.
    id_picc: Option<Vec<u8>>,
    /// Comp(PK_PCD): the terminal's ephemeral key of Chip Authentication v1 (or of
    /// PACE-CAM) in this session.
    comp_pk_pcd: Option<Vec<u8>>,
    /// The CHAT of the PACE MSE:Set AT in progress (Terminal Authentication grants at
    /// most these rights once PACE succeeds).
    pace_chat: Option<crate::pki::cvc::Chat>,
    /// A command chain in progress under secure messaging: INS, P1, P2 and the data so
    /// far.
    chain: Option<((u8, u8, u8), Vec<u8>)>,
}

/// Instructions the chip takes under ISO/IEC 7816-4 command chaining (secure messaging
/// only): PSO:Verify Certificate, EXTERNAL AUTHENTICATE, MSE and GENERAL AUTHENTICATE,
/// whose data (CV certificates, RSA signatures, DH keys) may not fit a short APDU.
const CHAINABLE: [u8; 4] = [0x2A, 0x82, 0x22, 0x86];

/// The most data a command chain may collect (a CV certificate with a 4096-bit RSA key
/// and signature is about 1.1 KB).
const MAX_CHAINED: usize = 4096;

/// What one command of a possible chain amounts to.
enum Chained {
    /// Not chained: process it as it is.
    Single,
    /// A piece taken (9000) or refused; nothing to process yet.
    Part(Response),
    /// The last piece: the whole command.
    Whole(Command),
}

impl State {
    fn reset() -> Self {
        State {
            df: Df::Mf,
            current: None,
            cvca_selected: false,
            auth: Auth::None,
            id_picc: None,
            comp_pk_pcd: None,
            pace_chat: None,
            chain: None,
        }
    }
}

/// Comp() of an ephemeral public key (TR-03110-3 A.2.2.3).
fn comp(key: &[u8], ec: bool) -> Option<Vec<u8>> {
    let kind = if ec {
        crate::access::ta::KeyKind::Ec
    } else {
        crate::access::ta::KeyKind::Dh
    };
    crate::access::ta::comp(kind, key).ok()
}

/// The software chip.
pub struct Emulator {
    profile: Arc<Profile>,
    mrz_key: Option<MrzKey>,
    pace: Option<ChipPace>,
    auth: ChipAuth,
    /// Terminal Authentication, when the profile has `[eac]`.
    ta: Option<ChipTa>,
    rng: Box<dyn RandomSource>,
    link: LinkModel,
    state: State,
    apdu_index: usize,
    removed: bool,
    faults: Injector,
}

impl Emulator {
    /// A chip personalised from `profile`, using the OS random generator.
    pub fn new(profile: Profile) -> Self {
        Self::with_rng(profile, Box::new(OsRandom))
    }

    /// A chip with injected randomness (tests reproduce worked examples with it).
    pub fn with_rng(profile: Profile, rng: Box<dyn RandomSource>) -> Self {
        let mrz_key = crate::mrz::Mrz::parse(&profile.mrz)
            .ok()
            .and_then(|m| MrzKey::from_mrz(&m).ok());
        let pace = chip_pace(&profile, mrz_key.as_ref());
        let auth = ChipAuth::new(&profile);
        let ta = profile.eac.as_ref().map(|e| ChipTa::new(&e.trust_points, e.date));
        let faults = Injector::new(&profile.faults);
        // content faults: the chip is personalised with the hostile bytes
        let mut profile = profile;
        profile.files = fault::personalise(&profile.files, &profile.faults);
        Emulator {
            link: LinkModel::new(profile.link.clone()),
            profile: Arc::new(profile),
            mrz_key,
            pace,
            auth,
            ta,
            rng,
            state: State::reset(),
            apdu_index: 0,
            removed: false,
            faults,
        }
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The link model's totals.
    pub fn link(&self) -> &LinkModel {
        &self.link
    }

    /// APDUs received so far (over the emulator's whole life).
    pub fn apdu_count(&self) -> usize {
        self.apdu_index
    }

    /// Power-cycle: the session and selection are dropped.
    pub fn reset(&mut self) {
        self.state = State::reset();
        self.faults.reset();
        if let Some(p) = &mut self.pace {
            p.reset();
        }
        self.auth.reset();
        if let Some(ta) = &mut self.ta {
            ta.reset_session();
        }
    }

    /// The chip's Terminal Authentication state (trust points, date, rights).
    pub fn terminal_authentication(&self) -> Option<&ChipTa> {
        self.ta.as_ref()
    }

    /// A new secure session: Terminal Authentication starts over.
    fn new_session(&mut self, id_picc: Option<Vec<u8>>, comp_pk_pcd: Option<Vec<u8>>) {
        self.state.id_picc = id_picc;
        self.state.comp_pk_pcd = comp_pk_pcd;
        if let Some(ta) = &mut self.ta {
            ta.reset_session();
        }
    }

    fn secure(&self) -> Option<Via> {
        match &self.state.auth {
            Auth::Secure { via, .. } => Some(*via),
            _ => None,
        }
    }

    /// Process one command APDU (raw bytes) and return the raw response.
    pub fn process(&mut self, raw: &[u8]) -> (Vec<u8>, ChipWork) {
        let cmd = match Command::decode(raw) {
            Ok(c) => c,
            Err(_) => {
                self.state.auth = Auth::None;
                return (
                    Response::status(StatusWord::WRONG_LENGTH).to_bytes(),
                    ChipWork::default(),
                );
            }
        };
        if cmd.extended && !self.profile.chip.extended_length {
            // a chip without extended length cannot even parse the command
            self.state.auth = Auth::None;
            return (
                Response::status(StatusWord::WRONG_LENGTH).to_bytes(),
                ChipWork::default(),
            );
        }
        let sm_flag = cmd.cla & 0x0C == 0x0C;
        if cmd.extended
            && sm_flag
            && self.secure().is_some()
            && let Some(sw) = quirk_sw(self.profile.chip.quirks.extended_plain_error.as_deref())
        {
            // answered in plain before secure messaging looked at it: no counter moves
            return (Response::status(sw).to_bytes(), ChipWork::default());
        }
        let auth = std::mem::replace(&mut self.state.auth, Auth::None);
        match auth {
            Auth::Secure { mut sm, via } if sm_flag => {
                let plain = match sm.unprotect_command(&cmd) {
                    Ok(p) => p,
                    Err(_) => {
                        // wrong MAC or malformed SM objects: the session ends
                        return (
                            Response::status(StatusWord::SM_OBJECTS_INCORRECT).to_bytes(),
                            ChipWork::default(),
                        );
                    }
                };
                self.state.auth = Auth::Secure { sm, via };
                let (mut resp, work) = match self.command_chain(&plain) {
                    Chained::Single => self.dispatch(&plain),
                    Chained::Whole(whole) => self.dispatch(&whole),
                    Chained::Part(r) => (r, ChipWork::default()),
                };
                self.faults.plain_response(&plain, &mut resp);
                // the session may have been replaced (PACE/CA re-keying) or dropped
                let bytes = match &mut self.state.auth {
                    Auth::Secure { sm, .. } => {
                        self.faults.before_protect(sm);
                        match sm.protect_response(&resp) {
                            Ok(r) => {
                                // Chip Authentication: answered under the old keys, switch now
                                if let Some(keys) = self.auth.take_rekey() {
                                    sm.rekey(keys);
                                    self.state.comp_pk_pcd =
                                        self.auth.take_terminal_key().and_then(|(k, ec)| comp(&k, ec));
                                }
                                r.to_bytes()
                            }
                            Err(_) => {
                                self.state.auth = Auth::None;
                                Response::status(StatusWord::UNKNOWN).to_bytes()
                            }
                        }
                    }
                    _ => resp.to_bytes(),
                };
                (bytes, work)
            }
            Auth::Secure { .. } => {
                // a plain command ends secure messaging (Doc 9303 Part 11 §9.8.6)
                let (mut resp, work) = self.dispatch(&cmd);
                self.faults.plain_response(&cmd, &mut resp);
                (resp.to_bytes(), work)
            }
            other => {
                if sm_flag {
                    return (
                        Response::status(StatusWord::SM_OBJECTS_INCORRECT).to_bytes(),
                        ChipWork::default(),
                    );
                }
                self.state.auth = other;
                let (mut resp, work) = self.dispatch(&cmd);
                self.faults.plain_response(&cmd, &mut resp);
                (resp.to_bytes(), work)
            }
        }
    }

    /// ISO/IEC 7816-4 command chaining (§5.1.1) under secure messaging, each piece
    /// unwrapped on its own: a command with CLA bit b5 set is a piece, taken with 9000
    /// (6884 for an instruction that is not chained); the next command with b5 clear and
    /// the same INS, P1 and P2 ends the chain and the whole data is processed with its
    /// Le. Any other command drops a chain in progress; more than [`MAX_CHAINED`] bytes
    /// are refused with 6A80 and the chain dropped.
    fn command_chain(&mut self, cmd: &Command) -> Chained {
        let header = (cmd.ins, cmd.p1, cmd.p2);
        let pending = self.state.chain.take();
        let too_long = |n: usize| n > MAX_CHAINED;
        if cmd.cla & CLA_CHAINING == 0 {
            return match pending {
                Some((h, mut data)) if h == header => {
                    if too_long(data.len() + cmd.data.len()) {
                        return Chained::Part(Response::status(StatusWord::WRONG_DATA));
                    }
                    data.extend_from_slice(&cmd.data);
                    let extended = data.len() > MAX_SHORT_LC;
                    Chained::Whole(Command {
                        cla: cmd.cla,
                        ins: cmd.ins,
                        p1: cmd.p1,
                        p2: cmd.p2,
                        data,
                        le: cmd.le,
                        extended,
                    })
                }
                _ => Chained::Single,
            };
        }
        if !CHAINABLE.contains(&cmd.ins) {
            return Chained::Part(Response::status(StatusWord::CHAINING_NOT_SUPPORTED));
        }
        let mut data = match pending {
            Some((h, d)) if h == header => d,
            _ => Vec::new(),
        };
        if too_long(data.len() + cmd.data.len()) {
            return Chained::Part(Response::status(StatusWord::WRONG_DATA));
        }
        data.extend_from_slice(&cmd.data);
        self.state.chain = Some((header, data));
        Chained::Part(Response::status(StatusWord::OK))
    }

    fn dispatch(&mut self, cmd: &Command) -> (Response, ChipWork) {
        let none = ChipWork::default();
        if self.profile.chip.quirks.reject_le_on_select_and_mse
            && matches!(cmd.ins, 0xA4 | 0x22)
            && cmd.le.is_some()
        {
            return (Response::status(StatusWord::WRONG_LENGTH), none);
        }
        if let Some(r) = self.terminal_authentication_step(cmd) {
            return r;
        }
        let q = &self.profile.chip.quirks;
        if cmd.ins == 0x88 && self.auth.claims(cmd) {
            let extended = cmd.extended;
            let (aa_empty, aa_max) = (q.aa_extended_le_empty, q.aa_short_le_max);
            let secure = self.secure().is_some();
            let (mut resp, work) = self.auth.process(cmd, secure, self.rng.as_mut(), None);
            if resp.sw == StatusWord::OK {
                if extended && aa_empty {
                    resp.data.clear();
                } else if let Some(max) = aa_max.filter(|_| !extended) {
                    resp.data.truncate(max);
                }
            }
            return (resp, work);
        }
        match cmd.ins {
            0xA4 => (self.select(cmd), none),
            0xB0 | 0xB1 => (self.read_binary(cmd), none),
            0x84 => (self.get_challenge(cmd), none),
            0x82 => (self.mutual_authenticate(cmd), none),
            0x88 | 0x22 | 0x86 if self.auth.claims(cmd) => {
                let secure = self.secure().is_some();
                let ta_v2_comp = self
                    .ta
                    .as_ref()
                    .filter(|t| t.granted().is_some())
                    .and_then(ChipTa::announced_comp_pk_pcd);
                self.auth.process(cmd, secure, self.rng.as_mut(), ta_v2_comp)
            }
            0x22 | 0x86 => self.pace_step(cmd),
            _ => (Response::status(StatusWord::INS_NOT_SUPPORTED), none),
        }
    }

    /// Terminal Authentication (BSI TR-03110-3 B.11.4–B.11.7), under secure messaging
    /// only: MSE:Set DST, PSO:Verify Certificate, MSE:Set AT (P1 81), GET CHALLENGE
    /// while TA is in progress, EXTERNAL AUTHENTICATE. `None` for every other command.
    fn terminal_authentication_step(&mut self, cmd: &Command) -> Option<(Response, ChipWork)> {
        let secure = self.secure().is_some();
        let ta = self.ta.as_mut()?;
        let verify = ChipWork {
            scalar_ops: 2,
            rsa_signs: 0,
        };
        let none = ChipWork::default();
        let r = match (cmd.ins, cmd.p1, cmd.p2) {
            (0x22, 0x81, 0xB6) | (0x2A, 0x00, 0xBE) | (0x22, 0x81, 0xA4) if !secure => {
                (Response::status(StatusWord::SECURITY_NOT_SATISFIED), none)
            }
            (0x22, 0x81, 0xB6) => (ta.mse_set_dst(&cmd.data), none),
            (0x2A, 0x00, 0xBE) => (ta.pso_verify_certificate(&cmd.data), verify),
            (0x22, 0x81, 0xA4) => (ta.mse_set_at(&cmd.data), none),
            (0x84, _, _) if secure && ta.in_progress() => (ta.get_challenge(cmd, self.rng.as_mut())?, none),
            (0x82, _, _) if secure => {
                let Some(id_picc) = self.state.id_picc.as_deref() else {
                    return Some((Response::status(StatusWord::CONDITIONS_NOT_SATISFIED), none));
                };
                (
                    ta.external_authenticate(&cmd.data, id_picc, self.state.comp_pk_pcd.as_deref()),
                    verify,
                )
            }
            _ => return None,
        };
        Some(r)
    }

    /// The file a READ BINARY addresses, for fault triggers that filter by file.
    fn resolve(&self, address: fault::Address) -> Option<LdsFile> {
        match address {
            fault::Address::Sfi(sfi) => self.lookup_sfi(sfi),
            fault::Address::Fid(fid) => self.lookup_fid(fid),
            fault::Address::Current => self.state.current,
        }
    }

    fn lookup_fid(&self, fid: u16) -> Option<LdsFile> {
        self.profile
            .files
            .keys()
            .copied()
            .find(|f| f.fid() == fid && f.in_master_file() == (self.state.df == Df::Mf))
    }

    fn lookup_sfi(&self, sfi: u8) -> Option<LdsFile> {
        self.profile
            .files
            .keys()
            .copied()
            .find(|f| f.sfi() == Some(sfi) && f.in_master_file() == (self.state.df == Df::Mf))
    }

    fn select(&mut self, cmd: &Command) -> Response {
        match cmd.p1 {
            0x04 => {
                if cmd.data == EMRTD_AID {
                    self.state.df = Df::App;
                    self.state.current = None;
                    Response::status(StatusWord::OK)
                } else {
                    Response::status(StatusWord::FILE_NOT_FOUND)
                }
            }
            0x00 if cmd.data.is_empty() || cmd.data == [0x3F, 0x00] => {
                self.state.df = Df::Mf;
                self.state.current = None;
                Response::status(StatusWord::OK)
            }
            0x00 | 0x02 => {
                let Ok(fid) = <[u8; 2]>::try_from(cmd.data.as_slice()) else {
                    return Response::status(StatusWord::WRONG_DATA);
                };
                self.state.cvca_selected = false;
                let fid = u16::from_be_bytes(fid);
                if fid == EF_CVCA_FID && self.state.df == Df::App && self.ta.is_some() {
                    self.state.current = None;
                    self.state.cvca_selected = true;
                    return Response::status(StatusWord::OK);
                }
                match self.lookup_fid(fid) {
                    Some(f) => {
                        self.state.current = Some(f);
                        if cmd.p2 & 0x0C == 0x0C {
                            Response::status(StatusWord::OK)
                        } else {
                            Response::new(self.fcp(f), StatusWord::OK)
                        }
                    }
                    None => Response::status(StatusWord::FILE_NOT_FOUND),
                }
            }
            _ => Response::status(StatusWord::WRONG_P1P2),
        }
    }

    /// File control parameters (ISO 7816-4 §5.3.3): size and identifier.
    fn fcp(&self, f: LdsFile) -> Vec<u8> {
        let size = self.profile.files.get(&f).map_or(0, Vec::len);
        let size16 = u16::try_from(size).unwrap_or(u16::MAX);
        let mut inner = crate::tlv::encode(0x80, &size16.to_be_bytes());
        inner.extend(crate::tlv::encode(0x82, &[0x01]));
        inner.extend(crate::tlv::encode(0x83, &f.fid().to_be_bytes()));
        crate::tlv::encode(0x62, &inner)
    }

    /// READ BINARY of EF.CVCA, readable under secure messaging like the data groups.
    fn read_ef_cvca(&self, cmd: &Command, offset: usize) -> Response {
        let Some(ta) = &self.ta else {
            return Response::status(StatusWord::FILE_NOT_FOUND);
        };
        if self.secure().is_none() {
            return Response::status(StatusWord::SECURITY_NOT_SATISFIED);
        }
        let Some(le) = cmd.le else {
            return Response::status(StatusWord::WRONG_LENGTH);
        };
        let content = ta.ef_cvca();
        let Some(rest) = content.get(offset..) else {
            return Response::status(StatusWord::WRONG_OFFSET);
        };
        let n = le.min(rest.len()).min(self.profile.chip.max_read);
        Response::new(rest.get(..n).unwrap_or_default().to_vec(), StatusWord::OK)
    }

    fn readable(&self, f: LdsFile) -> bool {
        match f {
            LdsFile::CardAccess | LdsFile::AtrInfo | LdsFile::Dir => true,
            LdsFile::CardSecurity => self.secure() == Some(Via::Pace),
            LdsFile::Dg(n) if self.profile.eac.as_ref().is_some_and(|e| e.protect.contains(&n)) => {
                // EAC-protected: only after Terminal Authentication granted it
                self.secure().is_some() && self.ta.as_ref().is_some_and(|t| t.may_read(n))
            }
            _ => self.secure().is_some(),
        }
    }

    fn read_binary(&mut self, cmd: &Command) -> Response {
        let q = &self.profile.chip.quirks;
        if cmd.ins == 0xB0
            && cmd.p1 & 0x80 != 0
            && let Some(sw) = quirk_sw(q.sfi_refused.as_deref())
        {
            return Response::status(sw);
        }
        if let Some(limit) = q.le_limit
            && !cmd.extended
            && self.secure().is_some()
            && cmd.le.is_some_and(|le| le > limit)
        {
            let sw = quirk_sw(q.le_limit_sw.as_deref()).unwrap_or(StatusWord::WRONG_LENGTH);
            if q.le_limit_ends_sm {
                // answered in plain: the session is over
                self.state.auth = Auth::None;
            }
            return Response::status(sw);
        }
        if cmd.ins == 0xB0 && self.state.df == Df::App && self.ta.is_some() {
            let sfi_cvca = cmd.p1 & 0x80 != 0 && cmd.p1 & 0x1F == EF_CVCA_SFI;
            if sfi_cvca || (cmd.p1 & 0x80 == 0 && self.state.cvca_selected) {
                let offset = if sfi_cvca {
                    self.state.cvca_selected = true;
                    self.state.current = None;
                    usize::from(cmd.p2)
                } else {
                    usize::from(u16::from_be_bytes([cmd.p1 & 0x7F, cmd.p2]))
                };
                return self.read_ef_cvca(cmd, offset);
            }
        }
        let (file, offset) = if cmd.ins == 0xB0 {
            if cmd.p1 & 0x80 != 0 {
                match self.lookup_sfi(cmd.p1 & 0x1F) {
                    Some(f) => {
                        self.state.current = Some(f);
                        (f, usize::from(cmd.p2))
                    }
                    None => return Response::status(StatusWord::FILE_NOT_FOUND),
                }
            } else {
                let Some(f) = self.state.current else {
                    return Response::status(StatusWord::NO_CURRENT_EF);
                };
                (f, usize::from(u16::from_be_bytes([cmd.p1 & 0x7F, cmd.p2])))
            }
        } else {
            // odd INS: offset in DO'54; P1-P2 zero = current EF, else SFI (P1 = 100xxxxx) or FID
            let off = match crate::tlv::parse(&cmd.data) {
                Ok(t) if t.tag == 0x54 && t.value.len() <= 4 && !t.value.is_empty() => {
                    t.value.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b))
                }
                _ => return Response::status(StatusWord::WRONG_DATA),
            };
            let file = if cmd.p1 == 0 && cmd.p2 == 0 {
                self.state.current
            } else if cmd.p1 & 0xE0 == 0x80 {
                self.lookup_sfi(cmd.p1 & 0x1F)
            } else {
                self.lookup_fid(u16::from_be_bytes([cmd.p1, cmd.p2]))
            };
            match file {
                Some(f) => {
                    self.state.current = Some(f);
                    (f, off)
                }
                None => return Response::status(StatusWord::FILE_NOT_FOUND),
            }
        };
        self.state.cvca_selected = false;
        if !self.readable(file) {
            return Response::status(StatusWord::SECURITY_NOT_SATISFIED);
        }
        let Some(content) = self.profile.files.get(&file) else {
            return Response::status(StatusWord::FILE_NOT_FOUND);
        };
        let Some(le) = cmd.le else {
            return Response::status(StatusWord::WRONG_LENGTH);
        };
        if offset > content.len() {
            return Response::status(StatusWord::WRONG_OFFSET);
        }
        let max = self.profile.chip.max_read;
        let mut n = le;
        if le > max {
            if cmd.extended {
                n = max;
            } else {
                match self.profile.chip.oversize_le {
                    OversizeLe::WrongLength => return Response::status(StatusWord::WRONG_LENGTH),
                    OversizeLe::Truncate => n = max,
                    OversizeLe::CorrectLe => {
                        let sw2 = u8::try_from(max.min(255)).unwrap_or(0xFF);
                        return Response::status(StatusWord::from_bytes(0x6C, sw2));
                    }
                }
            }
        }
        let rest = content.get(offset..).unwrap_or_default();
        let chunk = rest.get(..n.min(rest.len())).unwrap_or_default();
        // B1 wraps the data in DO'53; its header counts against the chip's buffer
        let data = if cmd.ins == 0xB1 {
            crate::tlv::encode(0x53, chunk)
        } else {
            chunk.to_vec()
        };
        // fewer bytes than Le at the end of the file: 9000, as most chips answer (6282
        // on the chips that say so)
        if self.profile.chip.quirks.past_eof_6282 && chunk.len() < n {
            return Response::new(data, StatusWord::END_OF_FILE);
        }
        Response::new(data, StatusWord::OK)
    }

    fn get_challenge(&mut self, cmd: &Command) -> Response {
        if !self.profile.chip.bac {
            return Response::status(StatusWord::INS_NOT_SUPPORTED);
        }
        if cmd.le != Some(8) {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let Some(key) = &self.mrz_key else {
            return Response::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        let mut bac = ChipBac::new(key);
        let challenge = bac.get_challenge(self.rng.as_mut());
        self.state.auth = Auth::BacChallenge(bac);
        Response::new(challenge.to_vec(), StatusWord::OK)
    }

    fn mutual_authenticate(&mut self, cmd: &Command) -> Response {
        let Auth::BacChallenge(mut bac) = std::mem::replace(&mut self.state.auth, Auth::None) else {
            return Response::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        match bac.mutual_authenticate(&cmd.data, self.rng.as_mut()) {
            Ok((data, keys)) => {
                self.state.auth = Auth::Secure {
                    sm: ChipSm::new(keys),
                    via: Via::Bac,
                };
                // ID_PICC after BAC: the document number and its check digit
                let id_picc = self.mrz_key.as_ref().and_then(|k| {
                    let info = k.mrz_information();
                    let n = info.len().checked_sub(14)?;
                    info.as_bytes().get(..n).map(<[u8]>::to_vec)
                });
                self.new_session(id_picc, None);
                Response::new(data, StatusWord::OK)
            }
            Err(_) => Response::status(StatusWord::AUTH_FAILED),
        }
    }
}

impl Emulator {
    fn pace_step(&mut self, cmd: &Command) -> (Response, ChipWork) {
        let Some(pace) = self.pace.as_mut() else {
            return (
                Response::status(StatusWord::INS_NOT_SUPPORTED),
                ChipWork::default(),
            );
        };
        if self.profile.chip.refuse_pace && cmd.ins == 0x22 {
            return (Response::status(StatusWord::WRONG_DATA), ChipWork::default());
        }
        if self.profile.chip.quirks.pace_requires_parameter_ref
            && cmd.ins == 0x22
            && !data_objects(&cmd.data).contains(&0x84)
        {
            return (Response::status(StatusWord(0x6A87)), ChipWork::default());
        }
        if self.state.df != Df::Mf && cmd.ins == 0x22 {
            // PACE runs at the master file (Doc 9303 Part 11 §4.2)
            return (
                Response::status(StatusWord::CONDITIONS_NOT_SATISFIED),
                ChipWork::default(),
            );
        }
        if cmd.ins == 0x22 {
            // a CHAT (7F4C) names the rights an inspection system asks for
            match super::ta::pace_chat(&cmd.data) {
                Ok(chat) => self.state.pace_chat = chat,
                Err(_) => return (Response::status(StatusWord::WRONG_DATA), ChipWork::default()),
            }
        }
        // public-key work on the chip: mapping (key pair, agreement, new generator) and
        // key agreement (key pair, shared secret)
        let has = |tag: u32| {
            crate::tlv::parse(&cmd.data)
                .ok()
                .and_then(|t| t.children().find(tag).ok().flatten())
                .is_some()
        };
        let work = ChipWork {
            scalar_ops: if has(0x81) {
                3
            } else if has(0x83) {
                2
            } else {
                0
            },
            rsa_signs: 0,
        };
        let reply = pace.process(cmd, self.rng.as_mut());
        if let Some(keys) = reply.established {
            self.state.auth = Auth::Secure {
                sm: ChipSm::new(keys),
                via: Via::Pace,
            };
            // ID_PICC after PACE: Comp(PK_IC); after PACE-CAM, which is the chip's
            // authentication, Comp(PK_PCD) of the PACE key agreement
            let (id_picc, comp_pk_pcd) = match &reply.ephemeral_keys {
                Some(k) => (
                    comp(&k.chip, k.ec),
                    if k.cam { comp(&k.terminal, k.ec) } else { None },
                ),
                None => (None, None),
            };
            self.new_session(id_picc, comp_pk_pcd);
            let chat = self.state.pace_chat.take();
            if let Some(ta) = &mut self.ta {
                ta.set_pace_chat(chat);
            }
        } else if cmd.ins == 0x22 {
            self.state.auth = Auth::None;
        }
        (reply.response, work)
    }
}

/// The chip side of PACE for the profile's `[[pace]]` entries (or its EF.CardAccess),
/// accepting the MRZ and, when the profile has one, the CAN.
fn chip_pace(profile: &Profile, mrz_key: Option<&MrzKey>) -> Option<ChipPace> {
    let card_access = profile.files.get(&LdsFile::CardAccess)?;
    let infos = SecurityInfos::decode(card_access).ok()?;
    infos.pace_infos().next()?;
    let mut passwords = Vec::new();
    if let Some(k) = mrz_key {
        passwords.push(Password::Mrz(k.clone()));
    }
    if let Some(can) = &profile.can
        && let Ok(p) = Password::can(can)
    {
        passwords.push(p);
    }
    let cam_key = profile
        .cam_private_key
        .as_deref()
        .or(profile.ca_private_key.as_deref())
        .and_then(|k| crate::access::pace::PrivateKey::from_bytes(k).ok());
    Some(ChipPace::new(infos, passwords, cam_key))
}

impl Transport for Emulator {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let index = self.apdu_index;
        self.apdu_index += 1;
        if self.removed {
            return Err(TransportError::CardRemoved);
        }
        let target = if self.faults.wants_target() {
            fault::address(command).and_then(|a| self.resolve(a))
        } else {
            None
        };
        let (resp, work) = match self.faults.before(index, command, target) {
            Before::Removed => {
                self.removed = true;
                self.reset();
                return Err(TransportError::CardRemoved);
            }
            Before::Lost(e) => return Err(e),
            Before::Answer(bytes) => (bytes, ChipWork::default()),
            Before::Process => {
                let (bytes, work) = self.process(command);
                let after = self.faults.after(bytes);
                if after.end_session {
                    self.state.auth = Auth::None;
                }
                if let Some(e) = after.lost {
                    return Err(e);
                }
                (after.bytes, work)
            }
        };
        self.link.total_ms += self.faults.delay_ms() as f64;
        let ms = self.link.exchange(command.len(), resp.len(), work);
        if self.link.realtime() {
            std::thread::sleep(std::time::Duration::from_secs_f64(ms / 1000.0));
        }
        Ok(resp)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.removed = false;
        self.reset();
        Ok(())
    }

    fn info(&self) -> TransportInfo {
        TransportInfo {
            reader: format!("emulator:{}", self.profile.name),
            atr: self.profile.atr(),
        }
    }

    fn modelled_ms(&self) -> Option<f64> {
        Some(self.link.total_ms)
    }

    fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
        self.faults.set_deadline(deadline);
    }
}

/// EF.CVCA in the eMRTD application (BSI TR-03110-3 A.6.2.1).
const EF_CVCA_FID: u16 = 0x011C;
/// Its short file identifier.
const EF_CVCA_SFI: u8 = 0x1C;

/// A quirk's status word (hex), when set and well formed.
fn quirk_sw(hex: Option<&str>) -> Option<StatusWord> {
    let v = u16::from_str_radix(hex?.trim(), 16).ok()?;
    Some(StatusWord(v))
}

/// The tags of the data objects one after another in a command's data field.
fn data_objects(mut data: &[u8]) -> Vec<u32> {
    let mut tags = Vec::new();
    while !data.is_empty() {
        let Ok(t) = crate::tlv::parse(data) else { break };
        tags.push(t.tag);
        data = data.get(t.raw.len()..).unwrap_or_default();
        if t.raw.is_empty() {
            break;
        }
    }
    tags
}

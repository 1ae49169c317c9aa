//! A reading session (Doc 9303 Part 11 §4 access control, Part 10 file reading):
//! pick the access protocol from EF.CardAccess, authenticate, read the files with
//! the fewest round trips the chip allows, recover from tag loss (reconnect,
//! re-authenticate with the same protocol, resume at the offset), and produce a
//! [`Dump`].
//!
//! Hostile and broken chips: every read is bounded in APDUs and in time
//! ([`ReadOptions::max_apdus`], [`ReadOptions::time_budget`]), and in recoveries. A
//! secure-messaging failure (wrong MAC, the chip ending SM with a plain status word,
//! malformed protected objects) or a malformed answer leaves the session dead — the
//! two counters can no longer be trusted to agree — and nothing from that answer is
//! used: the session reconnects, authenticates again and resumes at the offset,
//! recorded as a recovery with its reason. The same failure at the same place right
//! after re-authenticating ends the read ([`ReadError::ChannelBroken`]), so a chip
//! that always fails is never retried for ever. One exception keeps real chips
//! readable: a chip that denies a file (6982, 6A82 …) at its first byte with a plain
//! status word, ending secure messaging, and does so again after re-authenticating,
//! has the file recorded absent and the session re-established for the next file.

pub mod budget;
pub mod dump;
pub mod eac;
pub mod engine;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::access::AccessError;
use crate::access::pace::PaceConfig;
use crate::access::password::Password;
use crate::apdu::{ApduError, CardChannel, Command, PlainChannel, StatusWord};
use crate::lds::LdsFile;
use crate::lds::security_infos::{CardSecurity, SecurityInfos};
use crate::rng::RandomSource;
use crate::sm::{SecureChannel, SessionKeys, SmError};
use crate::transport::trace::TraceLog;
use crate::transport::{Transport, TransportError};

pub use budget::Budget;
pub use budget::Budgeted;
pub use dump::{AbsentRecord, AccessRecord, Dump, FileRecord, Manifest, TaRecord};
use eac::TA_AUTHENTICATED;
use engine::{EngineError, FileOutcome, FileProgress, ReadSizes};

/// Which access protocol to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessChoice {
    /// PACE when EF.CardAccess offers it, else BAC.
    #[default]
    Auto,
    /// PACE only.
    Pace,
    /// BAC only.
    Bac,
}

/// Options of a read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Files to read; `None` = EF.COM, EF.SOD and every data group they name.
    pub files: Option<Vec<LdsFile>>,
    /// Also try every data group not named in EF.COM or EF.SOD (forensic).
    pub probe_all: bool,
    /// Largest READ BINARY size to use.
    pub max_read: Option<usize>,
    /// Never send extended-length commands.
    pub no_extended: bool,
    /// Access protocol.
    pub access: AccessChoice,
    /// Permit BAC after a failed PACE (reported as a downgrade).
    pub allow_bac_fallback: bool,
    /// Preferred PACE protocol OID (dotted).
    pub pace_oid: Option<String>,
    /// Preferred PACE parameter id.
    pub pace_param: Option<u32>,
    /// Most recoveries (tag loss, or a secure channel that broke) before giving up.
    pub max_recoveries: usize,
    /// Most APDUs for the whole read, access control and recoveries included.
    pub max_apdus: usize,
    /// Most wall-clock time for the whole read, from the first APDU.
    pub time_budget: Duration,
    /// Terminal Authentication credentials (`--eac-chain`, `--eac-key`): with them, DG3
    /// and DG4 are read after Chip Authentication and Terminal Authentication (see
    /// [`Session::run`]); without them, they are read like any other group (and a chip
    /// protecting them with EAC denies them).
    pub eac: Option<crate::pki::eac_credentials::EacCredentials>,
}

/// Default [`ReadOptions::max_apdus`]: far above a legitimate read (a 4 MiB file in
/// 223-byte blocks is under 19,000), far below "for ever".
pub const DEFAULT_MAX_APDUS: usize = 20_000;
/// Default [`ReadOptions::time_budget`].
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(60);

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            files: None,
            probe_all: false,
            max_read: None,
            no_extended: false,
            access: AccessChoice::Auto,
            allow_bac_fallback: false,
            pace_oid: None,
            pace_param: None,
            max_recoveries: 8,
            max_apdus: DEFAULT_MAX_APDUS,
            time_budget: DEFAULT_TIME_BUDGET,
            eac: None,
        }
    }
}

/// Errors of a reading session.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Access control failed.
    #[error("access control failed")]
    Access(#[from] AccessError),
    /// A file could not be read.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The channel failed outside a file read.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// The card refused to select the eMRTD application.
    #[error("the card has no eMRTD application (SELECT answered {sw})")]
    NoApplication {
        /// Status word.
        sw: StatusWord,
    },
    /// The link kept failing, or the secure channel kept breaking.
    #[error("gave up after {recoveries} recoveries from tag loss or a broken secure channel")]
    TooManyRecoveries {
        /// Recoveries attempted.
        recoveries: usize,
        /// The last failure.
        #[source]
        last: Box<ReadError>,
    },
    /// Secure messaging failed (or the chip's answers were malformed) again at the same
    /// place right after re-authenticating: the chip cannot be read.
    #[error("the secure channel to the chip broke {}, and again right after re-authenticating", place(*.file, *.offset))]
    ChannelBroken {
        /// File being read, if any.
        file: Option<LdsFile>,
        /// Offset in it.
        offset: usize,
        /// The second failure.
        #[source]
        source: Box<ReadError>,
    },
    /// The read used up its APDU or time budget.
    #[error("gave up: {budget} ({apdus} APDUs in {:.1} s)", .elapsed.as_secs_f64())]
    BudgetExhausted {
        /// Which budget.
        budget: Budget,
        /// APDUs sent.
        apdus: usize,
        /// Time since the first APDU.
        elapsed: Duration,
    },
    /// The user asked for an access protocol the card does not offer.
    #[error("{what}")]
    AccessUnavailable {
        /// What is missing.
        what: String,
    },
}

fn place(file: Option<LdsFile>, offset: usize) -> String {
    match file {
        Some(f) => format!("reading {f} at offset {offset}"),
        None => "during access control".into(),
    }
}

/// Why a step failed, as far as recovery is concerned.
#[derive(Debug)]
enum Trouble {
    /// The link failed: reconnect, re-authenticate, resume.
    LinkLoss(String),
    /// The session's answers can no longer be trusted (secure messaging failed, or an
    /// answer was malformed): the session is dead; authenticate again, once per place.
    Broken(String),
    /// Anything else: reported as it is.
    Fatal,
}

impl ReadError {
    /// What a recovery could do about this error.
    fn trouble(&self) -> Trouble {
        let apdu = match self {
            ReadError::Engine(EngineError::Apdu(a)) | ReadError::Apdu(a) => Some(a),
            ReadError::Access(AccessError::Apdu(a)) => Some(a),
            _ => None,
        };
        let sm = match self {
            ReadError::Access(AccessError::Sm(sm)) => Some(sm),
            _ => apdu.and_then(crate::sm::sm_error),
        };
        if let Some(sm) = sm {
            return match sm {
                // local failures: another session would fail the same way
                SmError::Unprotectable { .. } | SmError::BadKeys { .. } | SmError::Crypto(_) => {
                    Trouble::Fatal
                }
                other => Trouble::Broken(format!("secure messaging failed: {other}")),
            };
        }
        match apdu {
            Some(ApduError::Transport(t)) if t.is_link_loss() => Trouble::LinkLoss(t.to_string()),
            Some(ApduError::Transport(t @ TransportError::MalformedResponse { .. })) => {
                Trouble::Broken(t.to_string())
            }
            Some(e @ (ApduError::EndlessGetResponse | ApduError::TrickleGetResponse { .. })) => {
                Trouble::Broken(e.to_string())
            }
            _ => Trouble::Fatal,
        }
    }

    /// The status word of a chip that denied a file in plain, ending secure messaging.
    fn plain_denial(&self) -> Option<StatusWord> {
        let inner = match self {
            ReadError::ChannelBroken {
                offset: 0, source, ..
            } => source.as_ref(),
            _ => return None,
        };
        let ReadError::Engine(EngineError::Apdu(a)) = inner else {
            return None;
        };
        match crate::sm::sm_error(a) {
            Some(SmError::ChipAbortedSm { sw }) if engine::is_unavailable(*sw) => Some(*sw),
            _ => None,
        }
    }

    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            ReadError::Access(a) => a.hint(),
            ReadError::ChannelBroken { .. } => Some(
                "the chip's answers do not verify under secure messaging: treat the document as \
                 suspect, or retry on another reader"
                    .into(),
            ),
            ReadError::BudgetExhausted { .. } => Some(
                "the chip is too slow or never finishes; retry, and treat the document as suspect if it \
                 happens again"
                    .into(),
            ),
            ReadError::TooManyRecoveries { .. } => {
                Some("hold the document still on the reader and retry".into())
            }
            _ => None,
        }
    }

    /// The link failed in a way that reconnecting may cure.
    fn link_loss(&self) -> Option<&TransportError> {
        let apdu = match self {
            ReadError::Engine(EngineError::Apdu(a)) | ReadError::Apdu(a) => a,
            ReadError::Access(AccessError::Apdu(a)) => a,
            _ => return None,
        };
        match apdu {
            ApduError::Transport(t) if t.is_link_loss() => Some(t),
            _ => None,
        }
    }
}

/// A failed read, with whatever was read before the failure.
#[derive(Debug, Error)]
#[error("{error}")]
pub struct ReadFailure {
    /// What went wrong.
    #[source]
    pub error: ReadError,
    /// Files read before it (manifest marked partial), when any.
    pub partial: Option<Box<Dump>>,
}

/// Receives progress of file reads (the CLI draws a progress bar from it).
pub trait ReadProgress {
    /// `file` has `done` bytes of `total` (when known).
    fn update(&mut self, file: LdsFile, done: usize, total: Option<usize>);
    /// The file is finished.
    fn finished(&mut self, file: LdsFile) {
        let _ = file;
    }
}

/// Progress sink that does nothing.
#[derive(Debug, Default)]
pub struct NoProgress;

impl ReadProgress for NoProgress {
    fn update(&mut self, _: LdsFile, _: usize, _: Option<usize>) {}
}

/// Whether the ATR's historical bytes announce extended Lc/Le (ISO/IEC 7816-4
/// §8.1.1.2.7, card capabilities, third software function table byte, bit 7).
pub fn atr_announces_extended_length(atr: &[u8]) -> bool {
    historical_bytes(atr)
        .and_then(|h| {
            let (first, mut rest) = h.split_first()?;
            if *first != 0x80 {
                return None;
            }
            // COMPACT-TLV objects: tag in the high nibble, length in the low one
            while let Some((tl, tail)) = rest.split_first() {
                let len = usize::from(tl & 0x0F);
                let value = tail.get(..len)?;
                if tl >> 4 == 0x7 && len >= 3 {
                    return value.get(2).map(|b| b & 0x40 != 0);
                }
                rest = tail.get(len..)?;
            }
            None
        })
        .unwrap_or(false)
}

/// The historical bytes of an ATR (ISO/IEC 7816-3 §8.2).
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let t0 = *atr.get(1)?;
    let k = usize::from(t0 & 0x0F);
    let mut pos = 2;
    let mut y = t0 >> 4;
    loop {
        let mut td = None;
        for bit in 0..4 {
            if y & (1 << bit) != 0 {
                if bit == 3 {
                    td = Some(*atr.get(pos)?);
                }
                pos += 1;
            }
        }
        match td {
            Some(b) => y = b >> 4,
            None => break,
        }
    }
    atr.get(pos..pos + k)
}

/// The ephemeral public keys of a PACE run (Terminal Authentication signs over them).
#[derive(Debug, Clone)]
struct PaceKeys {
    chip: Vec<u8>,
    terminal: Vec<u8>,
    ec: bool,
}

/// Session keys and how they were obtained.
struct Established {
    keys: SessionKeys,
    record: AccessRecord,
    apdus: usize,
    cam: Option<crate::access::pace::CamData>,
    /// After PACE: the chip's ephemeral public key (its ID_PICC for TA) and whether the
    /// mapping is on an elliptic curve.
    pace_keys: Option<PaceKeys>,
}

/// A reading session over a transport.
pub struct Session<'r, T: Transport> {
    channel: Option<SecureChannel<PlainChannel<Budgeted<T>>>>,
    plain: Option<PlainChannel<Budgeted<T>>>,
    password: Password,
    options: ReadOptions,
    rng: &'r mut dyn RandomSource,
    trace: Option<TraceLog>,
    card_access: Option<Vec<u8>>,
    record: Option<AccessRecord>,
    sizes: ReadSizes,
    manifest: Manifest,
    files: std::collections::BTreeMap<LdsFile, Vec<u8>>,
    last_offset: usize,
    in_app: bool,
    cam: Option<crate::access::pace::CamData>,
    /// Where the session last broke (file, offset): breaking there again is final.
    last_broken: Option<(Option<LdsFile>, usize, usize)>,
    /// The chip ended secure messaging (denying a file in plain): authenticate again
    /// before the next command.
    dead: bool,
    /// Files the chip did not deliver in full so far (at most [`MAX_UNDELIVERED`]
    /// before the read ends: a chip that fails every file is not read for ever).
    undelivered: usize,
    /// After PACE: the chip's ephemeral key and whether it is an EC point.
    pace_keys: Option<PaceKeys>,
    /// Chip Authentication v1 run inside the read for Extended Access Control.
    ca_v1: Option<Result<crate::access::ca::CaEvidence, crate::access::ca::CaError>>,
    /// The CHAT sent in PACE's MSE:Set AT (EAC version 2), which limits what TA grants.
    pace_chat: Option<crate::pki::cvc::Chat>,
}

/// Most files a chip may fail to deliver in full before the read ends with the error.
pub const MAX_UNDELIVERED: usize = 4;

impl<'r, T: Transport> Session<'r, T> {
    /// Open a session: nothing is sent yet.
    pub fn new(
        transport: T,
        password: Password,
        options: ReadOptions,
        rng: &'r mut dyn RandomSource,
        trace: Option<TraceLog>,
    ) -> Self {
        let info = transport.info();
        let extended = !options.no_extended && atr_announces_extended_length(&info.atr);
        let mut manifest = Manifest::new(info.reader, &info.atr);
        manifest.extended_length = extended;
        let sizes = ReadSizes::new(extended, options.max_read);
        let transport = Budgeted::new(transport, options.max_apdus, options.time_budget);
        Session {
            channel: None,
            plain: Some(PlainChannel::new(transport)),
            password,
            options,
            rng,
            trace,
            card_access: None,
            record: None,
            sizes,
            manifest,
            files: std::collections::BTreeMap::new(),
            last_offset: 0,
            in_app: false,
            cam: None,
            last_broken: None,
            dead: false,
            undelivered: 0,
            pace_keys: None,
            ca_v1: None,
            pace_chat: None,
        }
    }

    fn context(&self, what: &str) {
        if let Some(t) = &self.trace {
            t.set_context(what);
        }
    }

    fn plain_mut(&mut self) -> Result<&mut PlainChannel<Budgeted<T>>, ReadError> {
        if self.plain.is_none()
            && let Some(sm) = self.channel.take()
        {
            self.plain = Some(sm.into_inner());
        }
        self.plain.as_mut().ok_or_else(|| ReadError::AccessUnavailable {
            what: "no channel to the card".into(),
        })
    }

    fn total_apdus(&self) -> usize {
        match (&self.channel, &self.plain) {
            (Some(sm), _) => sm.exchanges(),
            (None, Some(p)) => p.exchanges(),
            _ => 0,
        }
    }

    /// Read EF.CardAccess in plain at the MF (by SFI 1C); absent is fine.
    fn read_card_access(&mut self) -> Result<(), ReadError> {
        self.context("read EF.CardAccess");
        let mut sizes = ReadSizes::new(false, Some(crate::apdu::MAX_SHORT_LE));
        let mut progress = FileProgress::new(LdsFile::CardAccess);
        sizes.by_sfi = self.sizes.by_sfi;
        sizes.sfi_proven = self.sizes.sfi_proven;
        let plain = self.plain_mut()?;
        let started = Instant::now();
        let outcome = engine::read_file(plain, &mut sizes, &mut progress, &mut |_, _, _| {});
        if !sizes.by_sfi {
            self.sizes.by_sfi = false;
        }
        self.sizes.sfi_proven |= sizes.sfi_proven;
        for a in std::mem::take(&mut sizes.adaptations) {
            self.sizes.adapt(a);
        }
        match outcome? {
            FileOutcome::Complete => {
                // recorded like every other file, so a dump missing it later is noticed
                self.manifest
                    .files
                    .retain(|f| f.name != LdsFile::CardAccess.name());
                self.manifest
                    .files
                    .push(file_record(LdsFile::CardAccess, &progress, started, None));
                self.card_access = Some(progress.data);
            }
            FileOutcome::Unavailable(sw) => {
                self.card_access = None;
                self.manifest
                    .absent
                    .retain(|a| a.name != LdsFile::CardAccess.name());
                self.manifest.absent.push(AbsentRecord {
                    name: LdsFile::CardAccess.name(),
                    sw: format!("{:04X}", sw.0),
                    meaning: format!("{} (read in plain before access control)", sw.meaning()),
                });
            }
        }
        Ok(())
    }

    /// Run access control as chosen (or as the first run chose, on recovery).
    /// The PACEInfos of EF.CardAccess, when it offers any.
    fn pace_offer(&self) -> Option<SecurityInfos> {
        let infos = SecurityInfos::decode(self.card_access.as_deref()?).ok()?;
        infos.pace_infos().next()?;
        Some(infos)
    }

    /// Run access control as chosen (or, on recovery, exactly as the first run did).
    fn establish(&mut self) -> Result<Established, ReadError> {
        let start = self.total_apdus();
        let offer = self.pace_offer();
        let use_pace = match (&self.record, self.options.access) {
            (Some(r), _) => r.protocol == "PACE",
            (None, AccessChoice::Bac) => false,
            (None, AccessChoice::Pace) => {
                if offer.is_none() {
                    return Err(ReadError::AccessUnavailable {
                        what: "PACE was asked for, but the card offers none (no PACEInfo in EF.CardAccess)"
                            .into(),
                    });
                }
                true
            }
            (None, AccessChoice::Auto) => offer.is_some(),
        };
        let mut downgrade: Option<String> = None;
        if use_pace && let Some(infos) = &offer {
            match self.run_pace(infos) {
                Ok(mut est) => {
                    est.apdus = self.total_apdus().saturating_sub(start);
                    return Ok(est);
                }
                Err(e) => {
                    let fallback = self.record.is_none()
                        && self.options.allow_bac_fallback
                        && self.options.access == AccessChoice::Auto
                        && matches!(self.password, Password::Mrz(_))
                        && e.link_loss().is_none();
                    if !fallback {
                        return Err(e);
                    }
                    downgrade = Some(format!("PACE failed: {}", crate::error::text(&e)));
                }
            }
        }
        let mut est = self.run_bac()?;
        if let Some(reason) = downgrade {
            est.record.downgraded = true;
            est.record.downgrade_reason = Some(reason);
        } else if let Some(r) = &self.record {
            est.record.downgraded = r.downgraded;
            est.record.downgrade_reason = r.downgrade_reason.clone();
        }
        est.apdus = self.total_apdus().saturating_sub(start);
        Ok(est)
    }

    fn run_pace(&mut self, infos: &SecurityInfos) -> Result<Established, ReadError> {
        self.context("PACE");
        let mut config = PaceConfig::default();
        let (oid, param) = match &self.record {
            Some(r) => (r.oid.clone(), r.parameter_id),
            None => (self.options.pace_oid.clone(), self.options.pace_param),
        };
        if let Some(o) = oid {
            config.prefer_oid = Some(o.parse().map_err(|_| ReadError::AccessUnavailable {
                what: format!("{o:?} is not an object identifier"),
            })?);
        }
        config.prefer_param = param;
        self.pace_chat = self.pace_chat_request(infos);
        config.chat = self.pace_chat.as_ref().map(crate::pki::cvc::Chat::encode);
        self.plain_mut()?;
        let password = self.password.clone();
        let rng = &mut *self.rng;
        let plain = self.plain.as_mut().ok_or_else(|| ReadError::AccessUnavailable {
            what: "no channel to the card".into(),
        })?;
        let outcome = match crate::access::pace::authenticate(plain, infos, &password, &config, rng) {
            // a chip that wants the parameter reference (tag 84) in MSE:Set AT even with
            // one set of domain parameters (older Ukrainian passports answer 6A87):
            // the same PACE again with tag 84, recorded
            Err(AccessError::Status { ins: 0x22, sw })
                if matches!(sw.0, 0x6A87 | 0x6A80 | 0x6700)
                    && config.parameter_id_in_mse == crate::access::pace::ParameterIdInMse::Auto =>
            {
                config.parameter_id_in_mse = crate::access::pace::ParameterIdInMse::Always;
                let r = crate::access::pace::authenticate(plain, infos, &password, &config, rng)?;
                if r.sent_parameter_id {
                    self.sizes.adapt(format!(
                        "the chip refused MSE:Set AT without the PACE parameter reference ({:04X}); \
                         PACE ran with tag 84",
                        sw.0
                    ));
                }
                r
            }
            other => other?,
        };
        let record = AccessRecord {
            protocol: "PACE".into(),
            mapping: Some(outcome.mapping.name().into()),
            parameter_id: outcome.parameter_id,
            oid: Some(outcome.protocol_oid.to_string()),
            cipher: outcome.cipher.name().into(),
            password: outcome.password.into(),
            downgraded: false,
            downgrade_reason: None,
        };
        let ec = outcome.mapping.is_ec();
        Ok(Established {
            keys: outcome.keys,
            record,
            apdus: 0,
            cam: outcome.cam,
            pace_keys: Some(PaceKeys {
                chip: outcome.chip_ephemeral_public_key,
                terminal: outcome.terminal_ephemeral_public_key,
                ec,
            }),
        })
    }

    fn run_bac(&mut self) -> Result<Established, ReadError> {
        self.context("BAC");
        let password = self.password.clone();
        let Password::Mrz(key) = &password else {
            return Err(ReadError::AccessUnavailable {
                what: "BAC needs the MRZ, and the card does not offer PACE (a CAN only works with PACE)"
                    .into(),
            });
        };
        self.plain_mut()?;
        let rng = &mut *self.rng;
        let plain = self.plain.as_mut().ok_or_else(|| ReadError::AccessUnavailable {
            what: "no channel to the card".into(),
        })?;
        // BAC runs inside the eMRTD application
        let resp = plain.send(&Command::select_aid(&crate::lds::EMRTD_AID))?;
        if !resp.is_ok() {
            return Err(ReadError::NoApplication { sw: resp.sw });
        }
        let keys = crate::access::bac::authenticate(plain, key, rng)?;
        let record = AccessRecord {
            protocol: "BAC".into(),
            mapping: None,
            parameter_id: None,
            oid: None,
            cipher: "3DES".into(),
            password: "MRZ".into(),
            downgraded: false,
            downgrade_reason: None,
        };
        Ok(Established {
            keys,
            record,
            apdus: 0,
            cam: None,
            pace_keys: None,
        })
    }

    /// SELECT the eMRTD application under secure messaging (after PACE, which runs at
    /// the master file).
    fn select_application(&mut self) -> Result<(), ReadError> {
        let Some(ch) = self.channel.as_mut() else {
            return Err(ReadError::AccessUnavailable {
                what: "no secure channel".into(),
            });
        };
        let resp = ch.send(&Command::select_aid(&crate::lds::EMRTD_AID))?;
        if !resp.is_ok() {
            return Err(ReadError::NoApplication { sw: resp.sw });
        }
        self.in_app = true;
        Ok(())
    }

    fn secure(&mut self, keys: SessionKeys) -> Result<(), ReadError> {
        let plain = self.plain.take().ok_or_else(|| ReadError::AccessUnavailable {
            what: "no channel to the card".into(),
        })?;
        let mut sm = SecureChannel::new(plain, keys);
        // without extended length, long commands (CV certificates, RSA signatures, DH
        // keys in Terminal and Chip Authentication) go out as command chains
        sm.set_command_chaining(!self.sizes.extended());
        if let Some(t) = &self.trace {
            sm = sm.with_trace(t.clone());
        }
        self.channel = Some(sm);
        Ok(())
    }

    /// Reconnect (after tag loss, or to start over from a dead secure channel) and
    /// authenticate again with the same protocol.
    fn recover(
        &mut self,
        file: Option<LdsFile>,
        offset: usize,
        kind: &str,
        reason: String,
    ) -> Result<(), ReadError> {
        self.manifest.recoveries += 1;
        self.manifest.recovery_log.push(dump::RecoveryRecord {
            file: file.map(|f| f.name()),
            offset,
            error: reason,
            kind: kind.into(),
        });
        self.context("recover");
        let plain = self.plain_mut()?;
        plain.transport_mut().reconnect().map_err(ApduError::from)?;
        if self.record.is_none() {
            // lost before access control finished: the caller simply starts it again
            return Ok(());
        }
        let was_in_app = self.in_app;
        self.in_app = false;
        let est = self.establish()?;
        self.manifest.access_apdus += est.apdus;
        let pace = est.record.protocol == "PACE";
        if !pace {
            self.in_app = true;
        }
        self.pace_keys = est.pace_keys;
        self.secure(est.keys)?;
        self.dead = false;
        if pace && was_in_app {
            self.select_application()?;
        }
        let eac_done = self
            .manifest
            .terminal_authentication
            .as_ref()
            .is_some_and(|t| t.outcome == TA_AUTHENTICATED);
        if eac_done {
            // the new session has neither Chip nor Terminal Authentication: both again
            // before DG3/DG4 are read on
            let again = self.eac_authenticate()?;
            if again.outcome != TA_AUTHENTICATED {
                return Err(ReadError::AccessUnavailable {
                    what: format!(
                        "Extended Access Control did not succeed again after re-authenticating: {}",
                        again.reason.unwrap_or(again.outcome)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Run `op` with recovery: on a link loss, or a secure channel that broke,
    /// reconnect, re-authenticate and call `op` again (it resumes from its own
    /// progress). A channel that breaks at the same place twice is final.
    fn with_recovery<R>(
        &mut self,
        file: Option<LdsFile>,
        mut op: impl FnMut(&mut Self) -> Result<R, ReadError>,
    ) -> Result<R, ReadError> {
        loop {
            let mut err = match op(self) {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            // a reconnect or re-authentication that itself fails is handled the same way
            loop {
                let offset = if file.is_some() { self.last_offset } else { 0 };
                let (kind, reason) = match err.trouble() {
                    Trouble::Fatal => return Err(err),
                    Trouble::LinkLoss(r) => ("link_loss", r),
                    Trouble::Broken(r) => {
                        let size = self.sizes.current();
                        if self.last_broken == Some((file, offset, size)) {
                            return Err(ReadError::ChannelBroken {
                                file,
                                offset,
                                source: Box::new(err),
                            });
                        }
                        self.last_broken = Some((file, offset, size));
                        ("channel_broken", r)
                    }
                };
                if self.manifest.recoveries >= self.options.max_recoveries {
                    return Err(ReadError::TooManyRecoveries {
                        recoveries: self.manifest.recoveries,
                        last: Box::new(err),
                    });
                }
                match self.recover(file, offset, kind, reason) {
                    Ok(()) => break,
                    Err(e) => err = e,
                }
            }
        }
    }

    fn read_one(&mut self, file: LdsFile, progress: &mut dyn ReadProgress) -> Result<(), ReadError> {
        self.context(&format!("read {}", file.name()));
        let started = Instant::now();
        let modelled_before = self.modelled_ms();
        let mut fp = FileProgress::new(file);
        let result = self.with_recovery(Some(file), |s| {
            if s.dead {
                // the chip ended secure messaging after denying the previous file
                s.last_offset = 0;
                if s.manifest.recoveries >= s.options.max_recoveries {
                    return Err(ReadError::AccessUnavailable {
                        what: "no recoveries left to re-establish secure messaging".into(),
                    });
                }
                s.recover(
                    Some(file),
                    0,
                    "channel_broken",
                    "secure messaging re-established after the chip ended it".into(),
                )?;
            }
            let Some(ch) = s.channel.as_mut() else {
                return Err(ReadError::AccessUnavailable {
                    what: "no secure channel".into(),
                });
            };
            let r = engine::read_file(ch, &mut s.sizes, &mut fp, &mut |f, d, t| progress.update(f, d, t));
            if let Err(e) = &r {
                s.adapt_read_size(file, e);
            }
            if r.is_err() {
                // after a failure the card's current file is unknown
                fp.current = false;
                s.last_offset = fp.data.len();
            }
            Ok(r?)
        });
        let outcome = match result {
            Ok(o) => o,
            Err(ReadError::Engine(e)) if e.is_file_level() && self.undelivered < MAX_UNDELIVERED => {
                self.undelivered += 1;
                // the chip answered, but not with the file (a status word mid-file, an
                // answer cut short, no READ BINARY size it takes): the file is recorded
                // as not delivered and the read goes on, so one file the chip holds
                // back neither costs the others nor passes unnoticed (verify decides)
                self.manifest.absent.push(AbsentRecord {
                    name: file.name(),
                    sw: e
                        .status_word()
                        .map(|sw| format!("{:04X}", sw.0))
                        .unwrap_or_default(),
                    meaning: e.to_string(),
                });
                self.manifest
                    .errors
                    .push(format!("{}: not delivered: {e}", file.name()));
                progress.finished(file);
                return Ok(());
            }
            Err(e) => match e.plain_denial() {
                // denied in plain twice at the first byte: the chip means it
                Some(sw) => {
                    self.dead = true;
                    self.manifest.absent.push(AbsentRecord {
                        name: file.name(),
                        sw: format!("{:04X}", sw.0),
                        meaning: format!(
                            "{} (answered without secure messaging, ending the session)",
                            sw.meaning()
                        ),
                    });
                    progress.finished(file);
                    return Ok(());
                }
                None => return Err(e),
            },
        };
        progress.finished(file);
        match outcome {
            FileOutcome::Complete => {
                let modelled = match (modelled_before, self.modelled_ms()) {
                    (Some(a), Some(b)) => Some(round3(b - a)),
                    _ => None,
                };
                self.manifest
                    .files
                    .push(file_record(file, &fp, started, modelled));
                self.files.insert(file, std::mem::take(&mut fp.data));
            }
            FileOutcome::Unavailable(sw) => {
                self.manifest.absent.push(AbsentRecord {
                    name: file.name(),
                    sw: format!("{:04X}", sw.0),
                    meaning: sw.meaning().into(),
                });
            }
        }
        Ok(())
    }

    /// A chip that ends secure messaging with a plain length or offset error to a READ
    /// BINARY (6700, 6B00, 6Cxx) has a read size it does not take: an extended one it
    /// announced but refuses (Chinese passports, gmrtd #457), or Le 256 under secure
    /// messaging (Russian passports, NFCPassportReader #89). Take the next smaller size
    /// before recovery authenticates again, and record it.
    fn adapt_read_size(&mut self, file: LdsFile, e: &engine::EngineError) {
        let engine::EngineError::Apdu(a) = e else { return };
        let Some(SmError::ChipAbortedSm { sw }) = crate::sm::sm_error(a) else {
            return;
        };
        if !matches!(sw.sw1(), 0x67 | 0x6B | 0x6C) {
            return;
        }
        let size = self.sizes.current();
        if self.sizes.extended() {
            if self.sizes.disable_extended() {
                self.manifest.extended_length = false;
                self.sizes.adapt(format!(
                    "the chip announces extended length but answered an extended READ BINARY of {file} \
                     with {:04X} in plain, ending secure messaging: short reads from then on",
                    sw.0
                ));
            }
        } else if self.sizes.step_down() {
            self.sizes.adapt(format!(
                "the chip answered READ BINARY of {file} with Le {size} by {:04X} in plain, ending secure \
                 messaging: reads of at most {} bytes from then on",
                sw.0,
                self.sizes.current()
            ));
        }
    }

    /// Run the whole read: EF.CardAccess, access control, EF.COM, EF.SOD and the data
    /// groups. On failure the files read so far come back in a dump marked partial.
    pub fn run(self, progress: &mut dyn ReadProgress) -> Result<Dump, ReadFailure> {
        self.run_then(progress, |_, _, _| ()).map(|(dump, ())| dump)
    }

    /// [`Session::run`], then `after` on the still-open secure channel with the dump and
    /// the session's randomness: Active and Chip Authentication need the chip once the
    /// files are read. The dump's manifest does not count what `after` sends, and tag
    /// loss inside `after` is not recovered; the read's APDU and time budgets
    /// ([`Budgeted`]) still bound it.
    pub fn run_then<R>(
        self,
        progress: &mut dyn ReadProgress,
        after: impl FnOnce(&Dump, &mut SecureChannel<PlainChannel<Budgeted<T>>>, &mut dyn RandomSource) -> R,
    ) -> Result<(Dump, R), ReadFailure> {
        self.run_then_eac(progress, |dump, ch, rng, _| after(dump, ch, rng))
    }

    /// [`Session::run_then`], also handing `after` the Chip Authentication v1 the read
    /// ran for Extended Access Control ([`ReadOptions::eac`]), when it did.
    pub fn run_then_eac<R>(
        mut self,
        progress: &mut dyn ReadProgress,
        after: impl FnOnce(
            &Dump,
            &mut SecureChannel<PlainChannel<Budgeted<T>>>,
            &mut dyn RandomSource,
            Option<Result<crate::access::ca::CaEvidence, crate::access::ca::CaError>>,
        ) -> R,
    ) -> Result<(Dump, R), ReadFailure> {
        let t0 = Instant::now();
        match self.run_inner(progress) {
            Ok(()) => {
                let dump = self.finish(t0);
                let ca_v1 = self.take_ca_v1();
                match self.channel.as_mut() {
                    Some(ch) => {
                        let r = after(&dump, ch, &mut *self.rng, ca_v1);
                        Ok((dump, r))
                    }
                    None => Err(ReadFailure {
                        error: ReadError::AccessUnavailable {
                            what: "no secure channel after the read".into(),
                        },
                        partial: Some(Box::new(dump)),
                    }),
                }
            }
            Err(error) => {
                let error = match self.budget_state() {
                    Some((budget, apdus, elapsed)) => ReadError::BudgetExhausted {
                        budget,
                        apdus,
                        elapsed,
                    },
                    None => error,
                };
                self.manifest.partial = true;
                self.manifest.errors.push(crate::error::text(&error));
                // a dump is only worth keeping when a file of the document was read
                let any = self.files.keys().any(|f| !f.in_master_file());
                let partial = any.then(|| Box::new(self.finish(t0)));
                Err(ReadFailure { error, partial })
            }
        }
    }

    fn run_inner(&mut self, progress: &mut dyn ReadProgress) -> Result<(), ReadError> {
        self.with_recovery(None, |s| s.read_card_access())?;
        if let Some(ca) = self.card_access.clone() {
            self.files.insert(LdsFile::CardAccess, ca);
        }
        let est = self.with_recovery(None, |s| s.establish())?;
        self.manifest.access_apdus = self.total_apdus();
        self.manifest.access = Some(est.record.clone());
        let pace = est.record.protocol == "PACE";
        self.in_app = !pace;
        self.record = Some(est.record);
        self.cam = est.cam;
        self.pace_keys = est.pace_keys;
        self.secure(est.keys)?;
        let wanted = self.options.files.clone();
        if pace {
            // EF.CardSecurity lives at the master file, where PACE left us
            let want_cs =
                self.cam.is_some() || wanted.as_ref().is_none_or(|w| w.contains(&LdsFile::CardSecurity));
            if want_cs {
                self.read_one(LdsFile::CardSecurity, progress)?;
            }
            self.check_cam();
            self.with_recovery(None, |s| if s.in_app { Ok(()) } else { s.select_application() })?;
        }
        let mut order: Vec<LdsFile> = vec![LdsFile::Com, LdsFile::Sod];
        if let Some(w) = &wanted {
            order.retain(|f| w.contains(f));
        }
        for f in order {
            self.read_one(f, progress)?;
        }
        let mut groups: BTreeSet<LdsFile> = BTreeSet::new();
        match &wanted {
            Some(w) => groups.extend(w.iter().copied().filter(|f| matches!(f, LdsFile::Dg(_)))),
            None => {
                if let Some(com) = self.files.get(&LdsFile::Com) {
                    groups.extend(crate::lds::com::data_groups(com));
                }
                if let Some(sod) = self.files.get(&LdsFile::Sod) {
                    groups.extend(sod_data_groups(sod));
                }
                if self.options.probe_all {
                    groups.extend((1..=16).map(LdsFile::Dg));
                }
            }
        }
        // with terminal credentials, DG3/DG4 wait for Extended Access Control
        let eac_groups: Vec<LdsFile> = if self.options.eac.is_some() {
            groups
                .iter()
                .copied()
                .filter(|f| matches!(f, LdsFile::Dg(3 | 4)))
                .collect()
        } else {
            Vec::new()
        };
        for f in groups.iter().copied().filter(|f| !eac_groups.contains(f)) {
            self.read_one(f, progress)?;
        }
        if self.options.eac.is_some() {
            self.extended_access_control(&eac_groups, progress)?;
        }
        Ok(())
    }

    /// PACE-CAM: check the chip's CA data against EF.CardSecurity's public key and record
    /// the outcome (verification of EF.CardSecurity's signature belongs to `verify`).
    fn check_cam(&mut self) {
        let Some(cam) = &self.cam else { return };
        let result = match self.files.get(&LdsFile::CardSecurity) {
            None => Err("EF.CardSecurity could not be read".to_string()),
            Some(bytes) => match CardSecurity::decode(bytes) {
                Err(e) => Err(format!("EF.CardSecurity does not decode: {e}")),
                Ok(cs) => cam.verify(&cs.security_infos).map_err(|e| crate::error::text(&e)),
            },
        };
        self.manifest.chip_authentication = Some(match result {
            Ok(ev) => dump::ChipAuthRecord {
                method: "PACE-CAM".into(),
                verified: true,
                key_id: ev.key_id,
                chip_public_key: Some(hex::encode_upper(&ev.chip_public_key)),
                reason: None,
            },
            Err(reason) => dump::ChipAuthRecord {
                method: "PACE-CAM".into(),
                verified: false,
                key_id: None,
                chip_public_key: None,
                reason: Some(reason),
            },
        });
    }

    fn finish(&mut self, t0: Instant) -> Dump {
        for a in &self.sizes.adaptations {
            if !self.manifest.adaptations.contains(a) {
                self.manifest.adaptations.push(a.clone());
            }
        }
        let total = self.total_apdus();
        self.manifest.read_apdus = total.saturating_sub(self.manifest.access_apdus);
        self.manifest.modelled_ms = self.modelled_ms().map(round3);
        self.manifest.total_ms = round3(t0.elapsed().as_secs_f64() * 1000.0);
        Dump {
            files: std::mem::take(&mut self.files),
            manifest: self.manifest.clone(),
        }
    }

    fn transport(&self) -> Option<&Budgeted<T>> {
        match (&self.channel, &self.plain) {
            (Some(sm), _) => Some(sm.inner().transport()),
            (None, Some(p)) => Some(p.transport()),
            _ => None,
        }
    }

    /// The budget that ran out, with the APDUs and time spent.
    fn budget_state(&self) -> Option<(Budget, usize, Duration)> {
        let t = self.transport()?;
        Some((t.exhausted()?, t.apdus(), t.elapsed()))
    }

    fn modelled_ms(&self) -> Option<f64> {
        match (&self.channel, &self.plain) {
            (Some(sm), _) => sm.inner().transport().modelled_ms(),
            (None, Some(p)) => p.transport().modelled_ms(),
            _ => None,
        }
    }
}

/// The data groups whose hashes EF.SOD lists (empty when it does not decode).
pub fn sod_data_groups(sod: &[u8]) -> Vec<LdsFile> {
    crate::lds::sod::Sod::decode(sod)
        .map(|s| s.dg_numbers().into_iter().map(LdsFile::Dg).collect())
        .unwrap_or_default()
}

/// The manifest's record of `file`, read completely into `progress` since `started`.
fn file_record(
    file: LdsFile,
    progress: &FileProgress,
    started: Instant,
    modelled_ms: Option<f64>,
) -> FileRecord {
    FileRecord {
        name: file.name(),
        fid: format!("{:04X}", file.fid()),
        size: progress.data.len(),
        sha256: crate::crypto::sha256_hex(&progress.data),
        apdus: progress.apdus,
        ms: round3(started.elapsed().as_secs_f64() * 1000.0),
        modelled_ms,
        read_size: progress.read_size,
        notes: progress.notes.clone(),
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

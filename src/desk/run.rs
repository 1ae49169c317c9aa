//! The desk at work: threads that feed the [state machine](super::machine) and carry
//! out what it asks.
//!
//! - a card watcher: PC/SC card events ([`crate::transport::pcsc_events`]), or the
//!   emulated document placed and removed by `:place` / `:remove` commands;
//! - key input: stdin or a serial line, and the page (`POST /key`), each through its
//!   own [`KeyAssembler`];
//! - one read worker per read, running [`crate::verify::live::read_and_verify`] (the
//!   engine of `emrtd verify`), reporting progress by bytes and its outcome;
//! - the machine's own thread, which publishes every new state to the page.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::watch;
use zeroize::Zeroizing;

use super::audit::AuditLog;
use super::keyin::{Command, KeyAssembler, KeyEvent};
use super::machine::{Action, Event, Machine, Outcome, StateName};
use super::server::Snapshot;
use super::view::ResultView;
use crate::access::AccessError;
use crate::access::password::Password;
use crate::emulator::{Emulator, Profile};
use crate::lds::LdsFile;
use crate::pki::store::TrustStore;
use crate::reader::{ReadError, ReadOptions, ReadProgress};
use crate::transport::pcsc_events::{CardEvent, CardWatcher};
use crate::transport::{Transport, TransportError, TransportInfo};
use crate::verify::live::{LiveOptions, read_and_verify};

/// How long a read waits for a pulled document to come back (then it is restarted
/// when the document is placed again).
const PUT_BACK_WAIT: Duration = Duration::from_secs(15);
/// Shortest interval between two progress updates sent to the page.
const PROGRESS_EVERY: Duration = Duration::from_millis(40);
/// How long one PC/SC wait lasts before the watcher looks at the stop flag.
const WATCH_SLICE: Duration = Duration::from_secs(2);

/// Where documents come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A PC/SC reader (name substring or index; `None`: the first reader).
    Pcsc {
        /// `--reader`.
        reader: Option<String>,
    },
    /// The in-process emulator; the profile is on the reader from the start.
    Emulator {
        /// The profile placed first.
        profile: Box<Profile>,
    },
}

/// The desk's configuration.
#[derive(Debug)]
pub struct Config {
    /// Where documents come from.
    pub source: Source,
    /// The trust store (opened for each read; `None` or a missing file: no store).
    pub store: Option<PathBuf>,
    /// Check validity at this time instead of now.
    pub at: Option<OffsetDateTime>,
    /// How to read.
    pub read: ReadOptions,
    /// The audit log.
    pub audit: Option<AuditLog>,
    /// Print state changes on stderr (no holder data).
    pub log: bool,
}

/// What the desk's thread receives.
pub enum Input {
    /// A machine event (card watcher, read workers).
    Event(Event),
    /// A line from stdin or the serial scanner.
    Line(Zeroizing<String>),
    /// Text typed on the page.
    PageKey(Zeroizing<String>),
    /// Stop the desk.
    Stop,
}

/// The emulated reader slot: which document lies on it.
#[derive(Debug, Default)]
pub struct EmulatedSlot {
    state: Mutex<SlotState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct SlotState {
    /// The document on the reader and its placement id (a different profile is a
    /// different document; placing the same one again is "put back").
    on: Option<(u64, Arc<Profile>)>,
    last: Option<(u64, Arc<Profile>)>,
    ids: u64,
}

impl EmulatedSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Put a document on the reader: `Some(profile)` a new one, `None` the last one again.
    pub fn place(&self, profile: Option<Profile>) -> bool {
        let mut s = self.lock();
        let doc = match profile {
            Some(p) => {
                s.ids += 1;
                Some((s.ids, Arc::new(p)))
            }
            None => s.last.clone(),
        };
        let Some(doc) = doc else {
            return false;
        };
        s.last = Some(doc.clone());
        s.on = Some(doc);
        self.changed.notify_all();
        true
    }

    /// Take the document off the reader.
    pub fn remove(&self) {
        self.lock().on = None;
        self.changed.notify_all();
    }

    /// Whether a document lies on the reader.
    pub fn present(&self) -> bool {
        self.lock().on.is_some()
    }

    fn current(&self) -> Option<(u64, Arc<Profile>)> {
        self.lock().on.clone()
    }

    /// Wait until document `id` is back (true) or `timeout` passes.
    fn wait_for(&self, id: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            match &s.on {
                Some((i, _)) if *i == id => return true,
                Some(_) => return false,
                None => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            s = match self.changed.wait_timeout(s, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

/// The emulator behind the emulated slot: a pulled document is a removed card, and a
/// reconnect waits for it to be put back (as a PC/SC reconnect does).
struct SlotTransport {
    chip: Emulator,
    slot: Arc<EmulatedSlot>,
    id: u64,
}

impl Transport for SlotTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self.slot.current() {
            Some((id, _)) if id == self.id => self.chip.transmit(command),
            _ => Err(TransportError::CardRemoved),
        }
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        if self.slot.wait_for(self.id, PUT_BACK_WAIT) {
            self.chip.reconnect()
        } else {
            Err(TransportError::NoCard {
                reader: "emulator".into(),
            })
        }
    }

    fn info(&self) -> TransportInfo {
        let mut i = self.chip.info();
        i.reader = format!("emulator:{}", self.chip.profile().name);
        i
    }

    fn modelled_ms(&self) -> Option<f64> {
        self.chip.modelled_ms()
    }
}

/// Read progress to the machine, by bytes over all files, throttled.
struct DeskProgress {
    generation: u64,
    tx: Sender<Input>,
    files: Vec<(LdsFile, usize, usize)>,
    last: Option<Instant>,
}

impl DeskProgress {
    fn send(&mut self, file: LdsFile, force: bool) {
        if !force && self.last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let done = self.files.iter().map(|f| f.1).sum();
        let total = self.files.iter().map(|f| f.2).sum();
        let _ = self.tx.send(Input::Event(Event::Progress {
            generation: self.generation,
            done,
            total,
            file: file.name().to_string(),
        }));
    }
}

impl ReadProgress for DeskProgress {
    fn update(&mut self, file: LdsFile, done: usize, total: Option<usize>) {
        let total = total.unwrap_or(done).max(done);
        match self.files.iter_mut().find(|f| f.0 == file) {
            Some(f) => {
                f.1 = done;
                f.2 = total;
            }
            None => self.files.push((file, done, total)),
        }
        self.send(file, false);
    }

    fn finished(&mut self, file: LdsFile) {
        if let Some(f) = self.files.iter_mut().find(|f| f.0 == file) {
            f.1 = f.2;
        }
        self.send(file, true);
    }
}

/// The transport error somewhere in an error's chain.
fn transport_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a TransportError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<TransportError>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// A failed read as the officer needs to hear it.
pub fn classify(error: &ReadError) -> Outcome {
    match error {
        ReadError::Access(AccessError::Refused { .. }) => return Outcome::AccessDenied,
        ReadError::NoApplication { .. } => return Outcome::NotEmrtd,
        _ => {}
    }
    if let Some(t) = transport_cause(error) {
        match t {
            TransportError::CardRemoved | TransportError::NoCard { .. } => return Outcome::Interrupted,
            TransportError::NoService => {
                return Outcome::Failed("The PC/SC service stopped during the read.".into());
            }
            TransportError::NoReader { .. } => {
                return Outcome::Failed("The reader was unplugged during the read.".into());
            }
            _ => {}
        }
    }
    let hint = error.hint().map(|h| format!(" ({h})")).unwrap_or_default();
    Outcome::Failed(format!(
        "The chip could not be read: {:#}{hint}.",
        anyhow::Error::msg(crate::error::text(error))
    ))
}

#[derive(Clone)]
enum SourceHandle {
    Pcsc { reader: Arc<Mutex<Option<String>>> },
    Emulator(Arc<EmulatedSlot>),
}

#[derive(Clone)]
struct ReadContext {
    source: SourceHandle,
    store: Option<PathBuf>,
    at: Option<OffsetDateTime>,
    read: ReadOptions,
    present: Arc<AtomicBool>,
    tx: Sender<Input>,
}

impl ReadContext {
    fn present_now(&self) -> bool {
        match &self.source {
            SourceHandle::Emulator(slot) => slot.present(),
            SourceHandle::Pcsc { .. } => self.present.load(Ordering::SeqCst),
        }
    }

    fn spawn(&self, generation: u64, password: Password) {
        let ctx = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("desk-read-{generation}"))
            .spawn(move || {
                if let Some(outcome) = ctx.read(generation, &password) {
                    let _ = ctx.tx.send(Input::Event(Event::Finished {
                        generation,
                        outcome,
                        card_present: ctx.present_now(),
                    }));
                }
            });
        if let Err(e) = spawned {
            let _ = self.tx.send(Input::Event(Event::Finished {
                generation,
                outcome: Outcome::Failed(format!("cannot start the read: {e}")),
                card_present: self.present_now(),
            }));
        }
    }

    /// Read and verify; the outcome, or `None` when it was sent already (a verdict is
    /// sent before its face is converted).
    fn read(&self, generation: u64, password: &Password) -> Option<Outcome> {
        let started = Instant::now();
        let (transport, source): (Box<dyn Transport>, String) = match &self.source {
            SourceHandle::Emulator(slot) => {
                let Some((id, profile)) = slot.current() else {
                    return Some(Outcome::Interrupted);
                };
                let name = format!("emulator {}", profile.name);
                let chip = Emulator::new((*profile).clone());
                (
                    Box::new(SlotTransport {
                        chip,
                        slot: slot.clone(),
                        id,
                    }),
                    name,
                )
            }
            SourceHandle::Pcsc { reader } => {
                let name = reader.lock().map(|r| r.clone()).unwrap_or(None);
                match crate::transport::pcsc::PcscTransport::connect(name.as_deref()) {
                    Ok(t) => {
                        let n = t.info().reader;
                        (Box::new(t), n)
                    }
                    Err(TransportError::NoCard { .. } | TransportError::CardRemoved) => {
                        return Some(Outcome::Interrupted);
                    }
                    Err(e) => return Some(Outcome::Failed(format!("The reader cannot be opened: {e}."))),
                }
            }
        };
        let store = match &self.store {
            Some(p) if p.exists() => match TrustStore::open(p) {
                Ok(s) => Some(s),
                Err(e) => return Some(Outcome::Failed(format!("The trust store cannot be opened: {e}."))),
            },
            _ => None,
        };
        let options = LiveOptions {
            read: self.read.clone(),
            at: self.at.unwrap_or_else(OffsetDateTime::now_utc),
            no_aa: false,
            no_ca: false,
            bac_requested: false,
            source,
        };
        let mut progress = DeskProgress {
            generation,
            tx: self.tx.clone(),
            files: Vec::new(),
            last: None,
        };
        let mut rng = crate::rng::OsRandom;
        match read_and_verify(
            transport,
            password,
            &options,
            store.as_ref(),
            &mut rng,
            &mut progress,
            None,
        ) {
            Ok(v) => {
                let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let kind = match password {
                    Password::Mrz(_) => "MRZ",
                    other => other.kind(),
                };
                let view = ResultView::new(&v.report, v.dump.as_ref(), kind, ms, generation);
                // the verdict goes to the page now; the face follows once converted
                let _ = self.tx.send(Input::Event(Event::Finished {
                    generation,
                    outcome: Outcome::Verified(Box::new(view)),
                    card_present: self.present_now(),
                }));
                if let Some(dump) = &v.dump {
                    let converting = Instant::now();
                    let png = super::view::face_png(dump);
                    let ms = u64::try_from(converting.elapsed().as_millis()).unwrap_or(u64::MAX);
                    let _ = self.tx.send(Input::Event(Event::Face { generation, png, ms }));
                }
                None
            }
            Err(failure) => Some(classify(&failure.error)),
        }
    }
}

/// A running desk.
pub struct Desk {
    tx: Sender<Input>,
    snapshots: watch::Receiver<Snapshot>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    slot: Option<Arc<EmulatedSlot>>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk").finish_non_exhaustive()
    }
}

fn reader_problem(e: &CardEvent, wanted: Option<&str>) -> Option<String> {
    match e {
        CardEvent::NoReader => Some(match wanted {
            Some(w) => format!("No card reader matching {w:?}: plug the reader in."),
            None => "No card reader: plug the reader in.".into(),
        }),
        CardEvent::NoService => {
            Some("The PC/SC service (pcscd) is not running: the desk reconnects when it is back.".into())
        }
        _ => None,
    }
}

impl Desk {
    /// Start the desk's threads.
    pub fn start(config: Config) -> anyhow::Result<Desk> {
        let (tx, rx) = std::sync::mpsc::channel::<Input>();
        let stop = Arc::new(AtomicBool::new(false));
        let present = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let (source, slot) = match &config.source {
            Source::Emulator { profile } => {
                let slot = Arc::new(EmulatedSlot::default());
                slot.place(Some((**profile).clone()));
                let _ = tx.send(Input::Event(Event::CardPresent));
                (SourceHandle::Emulator(slot.clone()), Some(slot))
            }
            Source::Pcsc { reader } => {
                let chosen = Arc::new(Mutex::new(None));
                let (wanted, tx2, stop2, present2, chosen2) = (
                    reader.clone(),
                    tx.clone(),
                    stop.clone(),
                    present.clone(),
                    chosen.clone(),
                );
                threads.push(
                    std::thread::Builder::new()
                        .name("desk-cards".into())
                        .spawn(move || {
                            let mut watcher = CardWatcher::new(wanted.as_deref());
                            while !stop2.load(Ordering::SeqCst) {
                                for e in watcher.next(WATCH_SLICE) {
                                    let event = match &e {
                                        CardEvent::Present { reader } => {
                                            if let Ok(mut c) = chosen2.lock() {
                                                *c = Some(reader.clone());
                                            }
                                            present2.store(true, Ordering::SeqCst);
                                            Event::CardPresent
                                        }
                                        CardEvent::Absent => {
                                            present2.store(false, Ordering::SeqCst);
                                            Event::CardAbsent
                                        }
                                        other => {
                                            present2.store(false, Ordering::SeqCst);
                                            Event::ReaderProblem(
                                                reader_problem(other, wanted.as_deref()).unwrap_or_default(),
                                            )
                                        }
                                    };
                                    if tx2.send(Input::Event(event)).is_err() {
                                        return;
                                    }
                                }
                            }
                        })?,
                );
                (SourceHandle::Pcsc { reader: chosen }, None)
            }
        };
        let ctx = ReadContext {
            source,
            store: config.store.clone(),
            at: config.at,
            read: config.read.clone(),
            present,
            tx: tx.clone(),
        };
        let (snap_tx, snapshots) = watch::channel(Snapshot::default());
        // the page never sees an empty state, even before the desk's thread runs
        publish(&Machine::new(), &snap_tx);
        let audit = config.audit;
        let log = config.log;
        let slot2 = slot.clone();
        threads.push(
            std::thread::Builder::new()
                .name("desk".into())
                .spawn(move || desk_loop(rx, ctx, snap_tx, audit, log, slot2))?,
        );
        Ok(Desk {
            tx,
            snapshots,
            stop,
            threads,
            slot,
        })
    }

    /// Where to send input (lines, page keys, events).
    pub fn sender(&self) -> Sender<Input> {
        self.tx.clone()
    }

    /// The published states.
    pub fn snapshots(&self) -> watch::Receiver<Snapshot> {
        self.snapshots.clone()
    }

    /// The emulated slot (`--emulator` only).
    pub fn slot(&self) -> Option<Arc<EmulatedSlot>> {
        self.slot.clone()
    }

    /// Feed one input line (as from stdin).
    pub fn line(&self, line: &str) {
        let _ = self.tx.send(Input::Line(Zeroizing::new(line.to_string())));
    }

    /// Stop and wait for the desk's threads (a read in progress finishes on its own).
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Input::Stop);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn key_events(ev: KeyEvent, slot: Option<&Arc<EmulatedSlot>>, from_page: bool) -> Vec<Event> {
    match ev {
        KeyEvent::Nothing => Vec::new(),
        KeyEvent::Partial { have, of } => vec![Event::KeyPartial { have, of }],
        KeyEvent::Key(k) => vec![Event::Key(k)],
        KeyEvent::Rejected(m) => vec![Event::KeyRejected(m)],
        KeyEvent::Command(_) if from_page => vec![Event::KeyRejected(
            "desk commands are accepted on stdin only".into(),
        )],
        KeyEvent::Command(Command::Clear) => vec![Event::ClearKey],
        KeyEvent::Command(cmd) => {
            let Some(slot) = slot else {
                return vec![Event::KeyRejected(
                    ":place and :remove work with --emulator only; with a reader, place the document".into(),
                )];
            };
            match cmd {
                Command::Remove => {
                    slot.remove();
                    vec![Event::CardAbsent]
                }
                Command::Place(path) => {
                    let profile = match path {
                        Some(p) => match Profile::load(std::path::Path::new(&p)) {
                            Ok(pr) => Some(pr),
                            Err(e) => {
                                return vec![Event::KeyRejected(format!("cannot load the profile {p}: {e}"))];
                            }
                        },
                        None => None,
                    };
                    // another document: the one on the reader leaves first
                    let mut out = Vec::new();
                    if profile.is_some() && slot.present() {
                        slot.remove();
                        out.push(Event::CardAbsent);
                    }
                    if slot.place(profile) {
                        out.push(Event::CardPresent);
                    }
                    out
                }
                Command::Clear => vec![Event::ClearKey],
            }
        }
    }
}

fn desk_loop(
    rx: Receiver<Input>,
    ctx: ReadContext,
    snapshots: watch::Sender<Snapshot>,
    audit: Option<AuditLog>,
    log: bool,
    slot: Option<Arc<EmulatedSlot>>,
) {
    let mut machine = Machine::new();
    let mut stdin_keys = KeyAssembler::new();
    let mut page_keys = KeyAssembler::new();
    let mut shown: Option<(StateName, Option<String>)> = None;
    publish(&machine, &snapshots);
    while let Ok(input) = rx.recv() {
        let events = match input {
            Input::Stop => break,
            Input::Event(e) => vec![e],
            Input::Line(line) => key_events(stdin_keys.feed(&line), slot.as_ref(), false),
            Input::PageKey(text) => text
                .lines()
                .flat_map(|l| key_events(page_keys.feed(l), slot.as_ref(), true))
                .collect(),
        };
        for event in events {
            for action in machine.handle(event) {
                match action {
                    Action::StartRead { generation, password } => ctx.spawn(generation, password),
                    Action::Verdict(r) => {
                        if log {
                            let failed = r.failed_ids();
                            eprintln!(
                                "emrtd desk: result {} in {} ms{}",
                                r.verdict.name(),
                                r.read_ms,
                                if failed.is_empty() {
                                    String::new()
                                } else {
                                    format!(" (failed: {})", failed.join(", "))
                                }
                            );
                        }
                        if let Some(a) = &audit
                            && let Err(e) = a.record(&r)
                        {
                            eprintln!("emrtd: error: {e:#}");
                        }
                    }
                }
            }
        }
        let view = machine.view();
        let now = (view.state, view.problem.clone());
        if log && shown.as_ref() != Some(&now) {
            match &now.1 {
                Some(p) => eprintln!("emrtd desk: {}: {p}", state_word(now.0)),
                None => eprintln!("emrtd desk: {}", state_word(now.0)),
            }
            shown = Some(now);
        }
        publish(&machine, &snapshots);
    }
}

fn state_word(s: StateName) -> &'static str {
    match s {
        StateName::Waiting => "waiting",
        StateName::Reading => "reading",
        StateName::Result => "result",
        StateName::Remove => "remove",
    }
}

fn publish(machine: &Machine, snapshots: &watch::Sender<Snapshot>) {
    let view = machine.view();
    let json = serde_json::to_string(&view).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    snapshots.send_replace(Snapshot {
        json,
        result: view.result,
    });
}

//! The desk's state machine: waiting → reading → result → (document removed) →
//! waiting, with the failures a desk meets as states of their own.
//!
//! Pure: events in (card present or gone, a key, read progress, a read's outcome),
//! actions out (start a read). The runner feeds it from PC/SC card events, the key
//! input and the read worker; the unit tests feed it by hand. Every read carries a
//! generation number, and an outcome of any read but the current one is dropped, so a
//! verdict can never outlive its document.

use std::sync::Arc;

use serde::Serialize;

use super::keyin::AccessKey;
use super::view::{self, ResultView};
use crate::access::password::Password;

/// One thing that happened.
#[derive(Debug)]
pub enum Event {
    /// A card is in the reader.
    CardPresent,
    /// The reader is empty.
    CardAbsent,
    /// No reader, or no PC/SC service: the message says which.
    ReaderProblem(String),
    /// A whole access key arrived.
    Key(AccessKey),
    /// Part of an MRZ arrived.
    KeyPartial {
        /// Lines so far.
        have: usize,
        /// Lines expected.
        of: usize,
    },
    /// Key input was refused (why, without the input).
    KeyRejected(String),
    /// Forget the key.
    ClearKey,
    /// Bytes read so far by the read of generation `generation`.
    Progress {
        /// The read.
        generation: u64,
        /// Bytes read (all files).
        done: usize,
        /// Bytes known to be there (grows as file lengths become known).
        total: usize,
        /// The file being read.
        file: String,
    },
    /// The face of result `generation` is ready for the page (`None`: none on the chip).
    Face {
        /// The read.
        generation: u64,
        /// PNG.
        png: Option<zeroize::Zeroizing<Vec<u8>>>,
        /// Time the conversion took.
        ms: u64,
    },
    /// A read ended.
    Finished {
        /// The read.
        generation: u64,
        /// How.
        outcome: Outcome,
        /// Whether a card is in the reader at this moment (a read that ended is
        /// fresher news than a card event still queued).
        card_present: bool,
    },
}

/// How a read ended.
#[derive(Debug)]
pub enum Outcome {
    /// A verdict.
    Verified(Box<ResultView>),
    /// The chip refused the access key (wrong MRZ or CAN).
    AccessDenied,
    /// The card has no eMRTD application.
    NotEmrtd,
    /// The document left the reader and did not come back in time.
    Interrupted,
    /// Anything else (the message is for the officer).
    Failed(String),
}

/// What the runner must do.
#[derive(Debug)]
pub enum Action {
    /// Start reading the card with this key; progress and outcome carry `generation`.
    StartRead {
        /// The read's generation.
        generation: u64,
        /// The key.
        password: Password,
    },
    /// A verdict was reached (for the audit log).
    Verdict(Arc<ResultView>),
}

/// The four states of the page (CLI.md: `waiting|reading|result|remove`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StateName {
    /// No document, or a document waiting for its key.
    Waiting,
    /// Reading and verifying.
    Reading,
    /// A verdict is shown; the document is still on the reader.
    Result,
    /// Nothing more can be done with this card: take it off.
    Remove,
}

#[derive(Debug)]
enum Phase {
    Waiting,
    Reading {
        generation: u64,
        done: usize,
        total: usize,
        file: String,
        card_gone: bool,
    },
    Result(Arc<ResultView>),
    Remove,
}

#[derive(Debug)]
struct HeldKey {
    key: AccessKey,
    id: u64,
}

/// The machine.
#[derive(Debug)]
pub struct Machine {
    phase: Phase,
    card_present: bool,
    key: Option<HeldKey>,
    /// The key the current or last read used.
    used_key: Option<u64>,
    key_ids: u64,
    generation: u64,
    partial: Option<(usize, usize)>,
    /// A problem to show (wrong MRZ, read interrupted, not an eMRTD, no reader).
    problem: Option<String>,
    reader_problem: Option<String>,
    /// When the card in the reader was first seen there (Unix ms; for the page's
    /// latency figure).
    present_at_ms: Option<u64>,
    /// Reads restarted in a row because the card vanished and came back (a card the
    /// reader sees but cannot talk to must not be retried for ever).
    restarts: u32,
    /// Bumped on every change the page must see.
    seq: u64,
}

/// Most reads restarted in a row for one placement of a document.
const MAX_RESTARTS: u32 = 3;

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Default for Machine {
    fn default() -> Self {
        Self::new()
    }
}

impl Machine {
    /// Waiting, no card, no key.
    pub fn new() -> Self {
        Machine {
            phase: Phase::Waiting,
            card_present: false,
            key: None,
            used_key: None,
            key_ids: 0,
            generation: 0,
            partial: None,
            problem: None,
            reader_problem: None,
            present_at_ms: None,
            restarts: 0,
            seq: 0,
        }
    }

    /// The state's name.
    pub fn state(&self) -> StateName {
        match self.phase {
            Phase::Waiting => StateName::Waiting,
            Phase::Reading { .. } => StateName::Reading,
            Phase::Result(_) => StateName::Result,
            Phase::Remove => StateName::Remove,
        }
    }

    /// The result shown, when one is.
    pub fn result(&self) -> Option<&Arc<ResultView>> {
        match &self.phase {
            Phase::Result(r) => Some(r),
            _ => None,
        }
    }

    /// Whether a key is held.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The generation of the read in progress.
    pub fn reading(&self) -> Option<u64> {
        match self.phase {
            Phase::Reading { generation, .. } => Some(generation),
            _ => None,
        }
    }

    /// Version of the view (changes whenever what the page shows changes).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn start_read(&mut self) -> Vec<Action> {
        let Some(held) = &self.key else {
            return Vec::new();
        };
        self.generation += 1;
        self.used_key = Some(held.id);
        self.problem = None;
        self.phase = Phase::Reading {
            generation: self.generation,
            done: 0,
            total: 0,
            file: String::new(),
            card_gone: false,
        };
        vec![Action::StartRead {
            generation: self.generation,
            password: held.key.password.clone(),
        }]
    }

    /// Forget the key that was used for the document just taken away (a key that
    /// arrived after it, for the next document, is kept).
    fn drop_used_key(&mut self) {
        if let (Some(h), Some(used)) = (&self.key, self.used_key)
            && h.id == used
        {
            self.key = None;
        }
        self.used_key = None;
    }

    /// Apply one event.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        self.seq += 1;
        self.apply(event)
    }

    fn apply(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::CardPresent => {
                self.reader_problem = None;
                if !self.card_present {
                    self.present_at_ms = Some(unix_ms());
                }
                self.card_present = true;
                match &mut self.phase {
                    Phase::Waiting => self.start_read(),
                    Phase::Reading { card_gone, .. } => {
                        // the read's own reconnect resumes it
                        *card_gone = false;
                        Vec::new()
                    }
                    _ => Vec::new(),
                }
            }
            Event::CardAbsent => {
                self.reader_problem = None;
                self.restarts = 0;
                self.card_present = false;
                self.present_at_ms = None;
                match &mut self.phase {
                    Phase::Reading { card_gone, .. } => {
                        *card_gone = true;
                    }
                    Phase::Result(_) => {
                        // the verdict leaves with its document
                        self.phase = Phase::Waiting;
                        self.problem = None;
                        self.drop_used_key();
                    }
                    Phase::Remove => {
                        self.phase = Phase::Waiting;
                        self.problem = None;
                    }
                    Phase::Waiting => {}
                }
                Vec::new()
            }
            Event::ReaderProblem(msg) => {
                self.reader_problem = Some(msg);
                self.card_present = false;
                self.present_at_ms = None;
                // whatever was shown or read belongs to a document no longer seen; a
                // verdict shown ends its document's key too
                if matches!(self.phase, Phase::Result(_)) {
                    self.drop_used_key();
                }
                self.phase = Phase::Waiting;
                Vec::new()
            }
            Event::Key(key) => {
                self.restarts = 0;
                self.key_ids += 1;
                self.key = Some(HeldKey {
                    key,
                    id: self.key_ids,
                });
                self.partial = None;
                match self.phase {
                    Phase::Waiting | Phase::Remove if self.card_present => self.start_read(),
                    Phase::Waiting => {
                        self.problem = None;
                        Vec::new()
                    }
                    _ => Vec::new(),
                }
            }
            Event::KeyPartial { have, of } => {
                self.partial = Some((have, of));
                Vec::new()
            }
            Event::KeyRejected(msg) => {
                self.partial = None;
                self.key = None;
                if !matches!(self.phase, Phase::Result(_)) {
                    self.problem = Some(msg);
                }
                Vec::new()
            }
            Event::ClearKey => {
                self.partial = None;
                self.key = None;
                Vec::new()
            }
            Event::Progress {
                generation,
                done: d,
                total: t,
                file: f,
            } => {
                if let Phase::Reading {
                    generation: g,
                    done,
                    total,
                    file,
                    ..
                } = &mut self.phase
                    && *g == generation
                {
                    *done = d;
                    *total = t.max(d);
                    *file = f;
                }
                Vec::new()
            }
            Event::Face { generation, png, ms } => {
                if let Phase::Result(r) = &self.phase
                    && r.result_id == generation
                {
                    self.phase = Phase::Result(Arc::new(r.with_face(png, ms)));
                }
                Vec::new()
            }
            Event::Finished {
                generation,
                outcome,
                card_present,
            } => {
                if self.reading() != Some(generation) {
                    // a read of a document no longer shown: dropped
                    return Vec::new();
                }
                if !card_present {
                    self.present_at_ms = None;
                }
                self.card_present = card_present;
                self.finish(outcome)
            }
        }
    }

    fn finish(&mut self, outcome: Outcome) -> Vec<Action> {
        match outcome {
            Outcome::Verified(result) if self.card_present => {
                let result: Arc<ResultView> = Arc::from(result);
                self.phase = Phase::Result(result.clone());
                self.problem = None;
                vec![Action::Verdict(result)]
            }
            Outcome::Verified(_) => {
                // the document left before its verdict could be shown: never show a
                // verdict for a document that is not there
                self.phase = Phase::Waiting;
                self.problem = Some(
                    "The document was taken away before the result: place it on the reader again.".into(),
                );
                Vec::new()
            }
            Outcome::AccessDenied => {
                self.key = None;
                self.problem = Some(
                    "The chip refused the MRZ (or CAN): scan the MRZ again, or check that it belongs to this document."
                        .into(),
                );
                self.phase = if self.card_present {
                    Phase::Remove
                } else {
                    Phase::Waiting
                };
                Vec::new()
            }
            Outcome::NotEmrtd => {
                self.problem =
                    Some("This card is not an electronic passport or ID card (no eMRTD application).".into());
                self.phase = if self.card_present {
                    Phase::Remove
                } else {
                    Phase::Waiting
                };
                Vec::new()
            }
            Outcome::Interrupted if !self.card_present => {
                self.phase = Phase::Waiting;
                self.problem =
                    Some("The document was removed while it was read: place it on the reader again.".into());
                Vec::new()
            }
            Outcome::Interrupted if self.restarts < MAX_RESTARTS => {
                // back on the reader but the read gave up: read again from the start
                self.restarts += 1;
                self.start_read()
            }
            Outcome::Interrupted => {
                self.phase = Phase::Remove;
                self.problem = Some(
                    "The reader keeps losing this document: remove it, and place it again flat on the reader.".into(),
                );
                Vec::new()
            }
            Outcome::Failed(msg) => {
                self.problem = Some(msg);
                self.phase = if self.card_present {
                    Phase::Remove
                } else {
                    Phase::Waiting
                };
                Vec::new()
            }
        }
    }

    /// What the page shows, as JSON (`GET /state`, the event stream).
    pub fn view(&self) -> view::StateView {
        let (message, progress, card_gone) = match &self.phase {
            Phase::Waiting => {
                let m = if let Some(r) = &self.reader_problem {
                    r.clone()
                } else if self.card_present {
                    match self.partial {
                        Some((have, of)) => format!("MRZ line {have} of {of} received: scan the document"),
                        None => "Document on the reader: scan its MRZ (or enter the CAN).".into(),
                    }
                } else if self.key.is_some() {
                    "MRZ received: place the document on the reader.".into()
                } else {
                    "Waiting for the next document: place it on the reader and scan its MRZ.".into()
                };
                (m, None, false)
            }
            Phase::Reading {
                done,
                total,
                file,
                card_gone,
                ..
            } => {
                let m = if *card_gone {
                    "Card removed: put the document back on the reader.".to_string()
                } else {
                    "Reading the chip — keep the document still.".to_string()
                };
                (
                    m,
                    Some(view::Progress {
                        done: *done,
                        total: *total,
                        file: file.clone(),
                    }),
                    *card_gone,
                )
            }
            Phase::Result(_) => ("Remove the document when done.".into(), None, false),
            Phase::Remove => ("Remove the document from the reader.".into(), None, false),
        };
        let result = self.result().cloned();
        view::StateView {
            state: self.state(),
            seq: self.seq,
            message,
            problem: self.problem.clone().or_else(|| self.reader_problem.clone()),
            reader_ok: self.reader_problem.is_none(),
            card_present: self.card_present,
            card_present_at_ms: self.present_at_ms,
            card_removed_mid_read: card_gone,
            key: self.key.as_ref().map(|h| h.key.kind.clone()),
            mrz_lines: self.partial.map(|(have, of)| [have, of]),
            progress,
            verdict: result.as_ref().map(|r| r.verdict),
            result,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::verify::Verdict;

    fn key(tag: &str) -> AccessKey {
        AccessKey {
            password: Password::can("123456").unwrap(),
            kind: tag.into(),
        }
    }

    fn result(v: Verdict, number: &str) -> Box<ResultView> {
        Box::new(ResultView::for_test(v, number))
    }

    fn started(actions: &[Action]) -> Option<u64> {
        actions.iter().find_map(|a| match a {
            Action::StartRead { generation, .. } => Some(*generation),
            _ => None,
        })
    }

    fn finish(m: &mut Machine, generation: u64, outcome: Outcome, present: bool) -> Vec<Action> {
        m.handle(Event::Finished {
            generation,
            outcome,
            card_present: present,
        })
    }

    /// A machine given the key `tag` and then a card: reading, generation 1.
    fn machine_reading(tag: &str) -> Machine {
        let mut m = Machine::new();
        run(&mut m, vec![Event::Key(key(tag)), Event::CardPresent]);
        m
    }

    /// A fake event source: a script of events, the machine's state after each.
    fn run(m: &mut Machine, events: Vec<Event>) -> Vec<(StateName, Option<u64>)> {
        events
            .into_iter()
            .map(|e| {
                let a = m.handle(e);
                (m.state(), started(&a))
            })
            .collect()
    }

    #[test]
    fn key_first_then_document() {
        let mut m = Machine::new();
        let trace = run(&mut m, vec![Event::Key(key("MRZ (TD3)")), Event::CardPresent]);
        assert_eq!(trace[0], (StateName::Waiting, None));
        assert_eq!(trace[1], (StateName::Reading, Some(1)));
        let a = finish(&mut m, 1, Outcome::Verified(result(Verdict::Valid, "A1")), true);
        assert!(matches!(a.as_slice(), [Action::Verdict(_)]));
        assert_eq!(m.state(), StateName::Result);
        assert_eq!(m.view().verdict, Some(Verdict::Valid));
        m.handle(Event::CardAbsent);
        assert_eq!(m.state(), StateName::Waiting);
        let v = m.view();
        assert!(
            v.result.is_none() && v.verdict.is_none(),
            "stale verdict after removal"
        );
        assert!(!m.has_key(), "the key of the document taken away was kept");
    }

    #[test]
    fn document_first_then_key() {
        let mut m = Machine::new();
        let t = run(
            &mut m,
            vec![
                Event::CardPresent,
                Event::KeyPartial { have: 1, of: 2 },
                Event::Key(key("MRZ (TD3)")),
            ],
        );
        assert_eq!(t[0], (StateName::Waiting, None));
        assert_eq!(t[1], (StateName::Waiting, None));
        assert!(m.view().mrz_lines.is_none());
        assert_eq!(t[2], (StateName::Reading, Some(1)));
    }

    #[test]
    fn card_pulled_mid_read_then_back() {
        let mut m = machine_reading("k");
        m.handle(Event::Progress {
            generation: 1,
            done: 100,
            total: 1000,
            file: "DG2".into(),
        });
        m.handle(Event::CardAbsent);
        let v = m.view();
        assert_eq!(v.state, StateName::Reading);
        assert!(v.card_removed_mid_read);
        assert!(v.message.contains("put the document back"), "{}", v.message);
        m.handle(Event::CardPresent);
        assert!(!m.view().card_removed_mid_read);
        finish(&mut m, 1, Outcome::Verified(result(Verdict::Valid, "A1")), true);
        assert_eq!(m.state(), StateName::Result);
    }

    #[test]
    fn card_pulled_and_not_back_then_read_again() {
        let mut m = Machine::new();
        run(
            &mut m,
            vec![Event::Key(key("k")), Event::CardPresent, Event::CardAbsent],
        );
        finish(&mut m, 1, Outcome::Interrupted, false);
        assert_eq!(m.state(), StateName::Waiting);
        assert!(m.view().problem.unwrap().contains("removed while it was read"));
        // same document, same key: read again when it is back
        let a = m.handle(Event::CardPresent);
        assert_eq!(started(&a), Some(2));
        // a late outcome of the first read is ignored
        finish(
            &mut m,
            1,
            Outcome::Verified(result(Verdict::Invalid, "OLD")),
            true,
        );
        assert_eq!(m.state(), StateName::Reading);
        finish(&mut m, 2, Outcome::Verified(result(Verdict::Valid, "NEW")), true);
        assert_eq!(m.result().unwrap().document.number.as_deref(), Some("NEW"));
    }

    #[test]
    fn a_card_that_keeps_vanishing_is_not_retried_for_ever() {
        let mut m = Machine::new();
        let a = run(&mut m, vec![Event::Key(key("k")), Event::CardPresent]);
        let mut generation = a[1].1.unwrap();
        for _ in 0..MAX_RESTARTS {
            let actions = finish(&mut m, generation, Outcome::Interrupted, true);
            generation = started(&actions).expect("read again");
        }
        let actions = finish(&mut m, generation, Outcome::Interrupted, true);
        assert_eq!(started(&actions), None);
        assert_eq!(m.state(), StateName::Remove);
        assert!(m.view().problem.unwrap().contains("keeps losing"));
        // taken off and put back: a fresh start
        m.handle(Event::CardAbsent);
        let actions = m.handle(Event::CardPresent);
        assert!(started(&actions).is_some());
        assert_eq!(m.state(), StateName::Reading);
    }

    #[test]
    fn the_face_follows_its_own_verdict_only() {
        let mut m = machine_reading("k");
        let mut r = result(Verdict::Valid, "A1");
        r.result_id = 1;
        r.face_pending = true;
        finish(&mut m, 1, Outcome::Verified(r), true);
        assert_eq!(m.view().result.unwrap().face, None);
        // a face of another read is not shown with this verdict
        m.handle(Event::Face {
            generation: 7,
            png: Some(zeroize::Zeroizing::new(vec![1])),
            ms: 1,
        });
        assert!(m.result().unwrap().face_pending);
        m.handle(Event::Face {
            generation: 1,
            png: Some(zeroize::Zeroizing::new(vec![0x89, b'P'])),
            ms: 3,
        });
        let shown = m.result().unwrap();
        assert!(!shown.face_pending);
        assert_eq!(shown.face.as_deref(), Some("/face.png?r=1"));
        // after removal a late face has nothing to attach to
        m.handle(Event::CardAbsent);
        m.handle(Event::Face {
            generation: 1,
            png: Some(zeroize::Zeroizing::new(vec![0x89, b'P'])),
            ms: 3,
        });
        assert!(m.result().is_none() && m.view().verdict.is_none());
    }

    #[test]
    fn verdict_after_the_document_left_is_not_shown() {
        let mut m = machine_reading("k");
        finish(&mut m, 1, Outcome::Verified(result(Verdict::Valid, "A1")), false);
        assert_eq!(m.state(), StateName::Waiting);
        assert!(m.view().verdict.is_none());
    }

    #[test]
    fn wrong_key_then_new_key_reads_at_once() {
        let mut m = machine_reading("k1");
        finish(&mut m, 1, Outcome::AccessDenied, true);
        assert_eq!(m.state(), StateName::Remove);
        assert!(!m.has_key());
        assert!(m.view().problem.unwrap().contains("refused"));
        let a = m.handle(Event::Key(key("k2")));
        assert_eq!(started(&a), Some(2));
        assert!(m.view().problem.is_none());
    }

    #[test]
    fn not_an_emrtd_and_errors_need_removal() {
        let mut m = machine_reading("k");
        finish(&mut m, 1, Outcome::NotEmrtd, true);
        assert_eq!(m.state(), StateName::Remove);
        assert!(m.view().problem.unwrap().contains("not an electronic passport"));
        m.handle(Event::CardAbsent);
        assert_eq!(m.state(), StateName::Waiting);
        assert!(m.view().problem.is_none());
        // the key stays for the right document
        let a = m.handle(Event::CardPresent);
        assert_eq!(started(&a), Some(2));
        finish(
            &mut m,
            2,
            Outcome::Failed("the chip stopped answering".into()),
            true,
        );
        assert_eq!(m.state(), StateName::Remove);
    }

    #[test]
    fn reader_unplugged_clears_everything() {
        let mut m = machine_reading("k");
        finish(&mut m, 1, Outcome::Verified(result(Verdict::Valid, "A1")), true);
        m.handle(Event::ReaderProblem("No reader: plug the reader in.".into()));
        let v = m.view();
        assert_eq!(v.state, StateName::Waiting);
        assert!(v.verdict.is_none() && !v.reader_ok);
        assert!(v.message.contains("plug"));
        assert!(!m.has_key(), "the key of the document shown outlived it");
        // a read in progress when pcscd went away: its outcome is dropped
        let mut m = machine_reading("k");
        m.handle(Event::ReaderProblem("PC/SC service stopped".into()));
        finish(&mut m, 1, Outcome::Verified(result(Verdict::Valid, "A1")), true);
        assert!(m.view().verdict.is_none());
        // the reader comes back with the same document on it: read again
        let a = m.handle(Event::CardPresent);
        assert_eq!(started(&a), Some(2));
        assert!(m.view().reader_ok);
    }

    #[test]
    fn next_travellers_key_during_a_result_is_kept() {
        let mut m = machine_reading("first");
        finish(&mut m, 1, Outcome::Verified(result(Verdict::Valid, "A1")), true);
        m.handle(Event::Key(key("second")));
        assert_eq!(
            m.state(),
            StateName::Result,
            "a key does not replace a shown verdict"
        );
        m.handle(Event::CardAbsent);
        assert!(m.has_key());
        let a = m.handle(Event::CardPresent);
        assert_eq!(started(&a), Some(2));
    }

    #[test]
    fn rejected_input_drops_the_key_and_says_why() {
        let mut m = Machine::new();
        m.handle(Event::Key(key("k")));
        m.handle(Event::KeyRejected(
            "the check digit of the date of birth is wrong".into(),
        ));
        assert!(!m.has_key());
        assert!(m.view().problem.unwrap().contains("date of birth"));
        let a = m.handle(Event::CardPresent);
        assert_eq!(started(&a), None);
    }

    #[test]
    fn seq_moves_on_every_event() {
        let mut m = Machine::new();
        let s0 = m.seq();
        m.handle(Event::CardAbsent);
        assert!(m.seq() > s0);
    }
}

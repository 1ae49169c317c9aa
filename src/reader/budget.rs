//! The budget of a whole read: most APDUs and most wall-clock time, so no chip — a
//! broken one, or a hostile one answering slowly or endlessly — keeps a reader busy
//! for ever. Enforced below every other layer, on the transport, so access control,
//! recoveries and file reads all count.
//!
//! The time budget holds inside an exchange too: the deadline (first APDU + budget)
//! is handed to the transport ([`Transport::set_deadline`]), which gives up on an
//! answer still missing then. An exchange that fails at or after the deadline is
//! reported as the time budget, not as a link loss, so no recovery starts.

use std::time::{Duration, Instant};

use thiserror::Error;

use crate::transport::{Transport, TransportError, TransportInfo};

/// Which budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Budget {
    /// The APDU budget.
    #[error("the read used its budget of {limit} APDUs")]
    Apdus {
        /// APDUs allowed.
        limit: usize,
    },
    /// The wall-clock budget.
    #[error("the read took longer than its time budget of {} s: the chip answers too slowly", .limit.as_secs_f64())]
    Time {
        /// Time allowed.
        limit: Duration,
    },
}

/// A transport that refuses to send once a budget is used up.
pub struct Budgeted<T: Transport> {
    inner: T,
    max_apdus: usize,
    max_time: Duration,
    started: Option<Instant>,
    apdus: usize,
    exhausted: Option<Budget>,
}

impl<T: Transport> Budgeted<T> {
    /// `inner` with at most `max_apdus` transmissions and `max_time` from the first one.
    pub fn new(inner: T, max_apdus: usize, max_time: Duration) -> Self {
        Budgeted {
            inner,
            max_apdus,
            max_time,
            started: None,
            apdus: 0,
            exhausted: None,
        }
    }

    /// The budget that ran out, if one did.
    pub fn exhausted(&self) -> Option<Budget> {
        self.exhausted
    }

    /// APDUs sent so far.
    pub fn apdus(&self) -> usize {
        self.apdus
    }

    /// Time since the first APDU.
    pub fn elapsed(&self) -> Duration {
        self.started.map(|s| s.elapsed()).unwrap_or_default()
    }

    fn exhausted_error(&mut self, b: Budget) -> TransportError {
        self.exhausted = Some(b);
        TransportError::Io {
            context: "read budget exhausted".into(),
            source: Box::new(b),
        }
    }

    /// The time budget is spent: whatever `result` was, it is reported as such.
    fn after<R>(&mut self, result: Result<R, TransportError>) -> Result<R, TransportError> {
        match result {
            Err(_) if self.elapsed() >= self.max_time => {
                Err(self.exhausted_error(Budget::Time { limit: self.max_time }))
            }
            other => other,
        }
    }

    fn check(&mut self) -> Result<(), TransportError> {
        let started = match self.started {
            Some(s) => s,
            None => {
                let now = Instant::now();
                self.started = Some(now);
                self.inner.set_deadline(now.checked_add(self.max_time));
                now
            }
        };
        let over = if self.apdus >= self.max_apdus {
            Some(Budget::Apdus {
                limit: self.max_apdus,
            })
        } else if started.elapsed() >= self.max_time {
            Some(Budget::Time { limit: self.max_time })
        } else {
            None
        };
        match over {
            Some(b) => Err(self.exhausted_error(b)),
            None => Ok(()),
        }
    }
}

impl<T: Transport> Transport for Budgeted<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.check()?;
        self.apdus += 1;
        let result = self.inner.transmit(command);
        self.after(result)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.check()?;
        let result = self.inner.reconnect();
        self.after(result)
    }

    fn info(&self) -> TransportInfo {
        self.inner.info()
    }

    fn modelled_ms(&self) -> Option<f64> {
        self.inner.modelled_ms()
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        // the budget's own deadline wins when it is earlier
        let own = self.started.and_then(|s| s.checked_add(self.max_time));
        let earliest = match (deadline, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.inner.set_deadline(earliest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::replay::ScriptedTransport;

    #[test]
    fn apdu_budget_stops_the_next_command() {
        let mut t = ScriptedTransport::new().any(vec![0x90, 0]).any(vec![0x90, 0]);
        let mut b = Budgeted::new(&mut t, 1, Duration::from_secs(60));
        assert!(b.transmit(&[0, 0xB0, 0, 0, 1]).is_ok());
        let e = b.transmit(&[0, 0xB0, 0, 0, 1]).unwrap_err();
        assert!(matches!(e, TransportError::Io { .. }));
        assert!(!e.is_link_loss(), "a spent budget must not look like tag loss");
        assert_eq!(b.exhausted(), Some(Budget::Apdus { limit: 1 }));
        assert_eq!(b.apdus(), 1);
    }

    #[test]
    fn time_budget_stops_the_next_command() {
        let mut t = ScriptedTransport::new().any(vec![0x90, 0]).any(vec![0x90, 0]);
        let mut b = Budgeted::new(&mut t, 100, Duration::from_millis(20));
        assert!(b.transmit(&[0, 0xB0, 0, 0, 1]).is_ok());
        std::thread::sleep(Duration::from_millis(30));
        assert!(b.transmit(&[0, 0xB0, 0, 0, 1]).is_err());
        assert_eq!(
            b.exhausted(),
            Some(Budget::Time {
                limit: Duration::from_millis(20)
            })
        );
        assert!(b.reconnect().is_err());
    }

    /// A transport that stalls until its deadline, as a chip that never answers would
    /// with a reader that honours the deadline.
    struct Stalling {
        deadline: Option<Instant>,
    }

    impl Transport for Stalling {
        fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
            let until = self
                .deadline
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(300));
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            Err(TransportError::Timeout { ms: 0 })
        }

        fn set_deadline(&mut self, deadline: Option<Instant>) {
            self.deadline = deadline;
        }
    }

    #[test]
    fn a_stalled_answer_ends_at_the_time_budget() {
        let mut b = Budgeted::new(Stalling { deadline: None }, 100, Duration::from_millis(200));
        let started = Instant::now();
        let e = b.transmit(&[0, 0xB0, 0, 0, 1]).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            !e.is_link_loss(),
            "a spent budget must not look like tag loss: {e}"
        );
        assert_eq!(
            b.exhausted(),
            Some(Budget::Time {
                limit: Duration::from_millis(200)
            })
        );
    }
}

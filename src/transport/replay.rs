//! A scripted transport for tests: expects given commands and plays given responses.
//!
//! Used to run worked examples (Doc 9303 Appendix D, G, H, I) and real-chip
//! transcripts through the real reader code: the test lists the exchanges, the
//! reader runs as it would against a chip, and the first byte that differs is
//! reported as a [`TransportError::ScriptMismatch`].

use std::collections::VecDeque;

use super::{Transport, TransportError, TransportInfo};

/// One scripted exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedExchange {
    /// The command the reader must send; `None` accepts any command.
    pub expect: Option<Vec<u8>>,
    /// The response to return (data + SW).
    pub response: Vec<u8>,
}

/// Plays a fixed script of exchanges.
#[derive(Debug, Clone, Default)]
pub struct ScriptedTransport {
    script: VecDeque<ScriptedExchange>,
    served: usize,
    /// Every command received, in order.
    pub sent: Vec<Vec<u8>>,
}

impl ScriptedTransport {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expect `command` and answer `response`.
    pub fn expect(mut self, command: impl AsRef<[u8]>, response: impl AsRef<[u8]>) -> Self {
        self.script.push_back(ScriptedExchange {
            expect: Some(command.as_ref().to_vec()),
            response: response.as_ref().to_vec(),
        });
        self
    }

    /// Answer `response` to whatever comes next.
    pub fn any(mut self, response: impl AsRef<[u8]>) -> Self {
        self.script.push_back(ScriptedExchange {
            expect: None,
            response: response.as_ref().to_vec(),
        });
        self
    }

    /// Exchanges not consumed yet.
    pub fn remaining(&self) -> usize {
        self.script.len()
    }
}

impl Transport for ScriptedTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(command.to_vec());
        let index = self.served;
        let step = self
            .script
            .pop_front()
            .ok_or(TransportError::ScriptExhausted { count: index })?;
        self.served += 1;
        if let Some(expected) = &step.expect
            && expected.as_slice() != command
        {
            return Err(TransportError::ScriptMismatch {
                index,
                expected: hex::encode_upper(expected),
                got: hex::encode_upper(command),
            });
        }
        Ok(step.response)
    }

    fn info(&self) -> TransportInfo {
        TransportInfo {
            reader: "scripted".into(),
            atr: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_is_reported() {
        let mut t = ScriptedTransport::new().expect([0x00, 0x84, 0x00, 0x00, 0x08], [0x90, 0x00]);
        let e = t.transmit(&[0x00, 0x84, 0x00, 0x00, 0x10]).unwrap_err();
        assert!(matches!(e, TransportError::ScriptMismatch { index: 0, .. }));
        assert!(matches!(
            t.transmit(&[0]),
            Err(TransportError::ScriptExhausted { count: 1 })
        ));
    }
}

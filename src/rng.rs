//! Injectable randomness.
//!
//! Every nonce, challenge and ephemeral private key the tool generates comes from a
//! [`RandomSource`], so tests can run the Doc 9303 worked examples through the real
//! code path by scripting the values the example used (RND.IFD, K.IFD, PACE
//! ephemeral keys), and production uses the operating system's generator.

use std::collections::VecDeque;

/// A source of random bytes.
pub trait RandomSource: Send {
    /// Fill `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);

    /// Convenience: `n` fresh random bytes.
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill(&mut v);
        v
    }
}

/// The operating system's CSPRNG (through OpenSSL's `RAND_bytes`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        // RAND_bytes only fails when the OS entropy source is unusable; there is no
        // safe way to go on without randomness, so fall back to /dev/urandom and
        // abort the process rather than hand out predictable bytes.
        if openssl::rand::rand_bytes(buf).is_ok() {
            return;
        }
        use std::io::Read;
        match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)) {
            Ok(()) => {}
            Err(_) => std::process::abort(),
        }
    }
}

/// Scripted randomness for tests: hands out the queued byte strings in order.
///
/// Each call to [`RandomSource::fill`] consumes exactly one queued entry, which
/// must have the requested length; once the queue is empty it falls back to a
/// deterministic counter pattern (so a test that forgot a value fails on a
/// mismatch rather than on a panic).
#[derive(Debug, Default, Clone)]
pub struct ScriptedRandom {
    queue: VecDeque<Vec<u8>>,
    counter: u8,
    /// Lengths requested that did not match the queued entry (for test assertions).
    pub mismatches: Vec<(usize, usize)>,
}

impl ScriptedRandom {
    /// Queue the given byte strings.
    pub fn new<I, B>(values: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        ScriptedRandom {
            queue: values.into_iter().map(|b| b.as_ref().to_vec()).collect(),
            counter: 0,
            mismatches: Vec::new(),
        }
    }

    /// Queue one more value.
    pub fn push(&mut self, value: impl AsRef<[u8]>) {
        self.queue.push_back(value.as_ref().to_vec());
    }

    /// Values not consumed yet.
    pub fn remaining(&self) -> usize {
        self.queue.len()
    }
}

impl RandomSource for ScriptedRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        match self.queue.pop_front() {
            Some(v) if v.len() == buf.len() => buf.copy_from_slice(&v),
            Some(v) => {
                self.mismatches.push((buf.len(), v.len()));
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = v.get(i).copied().unwrap_or(0);
                }
            }
            None => {
                for b in buf.iter_mut() {
                    self.counter = self.counter.wrapping_add(1);
                    *b = self.counter;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_in_order() {
        let mut r = ScriptedRandom::new([[1u8, 2], [3, 4]]);
        assert_eq!(r.bytes(2), vec![1, 2]);
        assert_eq!(r.bytes(2), vec![3, 4]);
        assert_eq!(r.remaining(), 0);
        assert!(r.mismatches.is_empty());
    }

    #[test]
    fn os_random_differs() {
        let mut r = OsRandom;
        assert_ne!(r.bytes(16), r.bytes(16));
    }
}

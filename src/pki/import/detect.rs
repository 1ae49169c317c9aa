//! What a file is, from its first bytes (never its name), and the reader that hashes
//! a file while it is imported.

use std::io::Read;

use openssl::sha::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Ldif,
    Pem,
    Der,
}

pub(super) fn detect(head: &[u8]) -> Option<Format> {
    let h = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if h.first() == Some(&0x30) {
        return Some(Format::Der);
    }
    if h.windows(11).any(|w| w == b"-----BEGIN ") {
        return Some(Format::Pem);
    }
    let text = String::from_utf8_lossy(h.get(..h.len().min(4096)).unwrap_or_default()).into_owned();
    for line in text.lines() {
        let l = line.trim_end();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let lower = l.to_ascii_lowercase();
        return (lower.starts_with("version:") || lower.starts_with("dn:")).then_some(Format::Ldif);
    }
    None
}

pub(super) struct HashingReader<'a, R> {
    pub(super) inner: R,
    pub(super) hasher: &'a mut Sha256,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

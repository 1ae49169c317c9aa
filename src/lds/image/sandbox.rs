//! Decoding hostile images in a child process, so a decoder that dies costs one
//! picture and never the dump or the verdict.
//!
//! The header bounds of [`super::bounds`] refuse what is known to be expensive, but a
//! third-party decoder can still fail in ways no Rust code can catch: an allocation
//! failure aborts the process. The `emrtd` binary therefore re-executes itself with the
//! hidden subcommand [`SUBCOMMAND`]: image bytes on stdin, PNG on stdout, an error
//! message on stderr. The child lowers its own address-space limit (`RLIMIT_AS`,
//! [`limit_address_space`]) before reading anything, and the parent kills it after
//! [`TIMEOUT`]. Whatever happens to the child, the caller gets an
//! [`ImageError::DecoderProcess`] and carries on.
//!
//! A library user that never calls [`enable`] decodes in its own process (the unit
//! tests and fuzz targets do).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{ImageError, ImageFormat, MAX_PIXELS};

/// The hidden subcommand of the `emrtd` binary that decodes one image.
pub const SUBCOMMAND: &str = "__decode-image";
/// Address space the decoder process may map (1 GiB: a 40-megapixel RGBA image,
/// its PNG and the decoder's working memory fit several times over).
pub const ADDRESS_SPACE: u64 = 1 << 30;
/// Environment variable that sets another address-space limit (bytes) for the
/// decoder process, e.g. for very large finger images.
pub const ADDRESS_SPACE_ENV: &str = "EMRTD_DECODER_ADDRESS_SPACE";
/// Wall-clock time the decoder process may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest image handed to the decoder process (a data group is at most 16 MiB
/// through the reader).
pub const MAX_INPUT: usize = 32 << 20;
/// Largest PNG accepted back: raw RGBA of [`MAX_PIXELS`] plus the PNG overhead.
pub const MAX_OUTPUT: u64 = MAX_PIXELS * 4 + (1 << 20);
/// Longest error message kept from the decoder process.
const MAX_MESSAGE: usize = 512;
/// Exit code of the decoder process for an image it refused or could not decode.
pub const EXIT_REFUSED: i32 = 3;

/// How to run the decoder process.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The program (the `emrtd` binary) that understands [`SUBCOMMAND`].
    pub program: PathBuf,
    /// Address-space limit of the child, in bytes.
    pub address_space: u64,
    /// Time after which the child is killed.
    pub timeout: Duration,
}

static ACTIVE: OnceLock<Sandbox> = OnceLock::new();

/// Decode every image of this process through `sandbox` from now on (the `emrtd`
/// binary calls this at start). Returns false when one was already set.
pub fn enable(sandbox: Sandbox) -> bool {
    ACTIVE.set(sandbox).is_ok()
}

/// The decoder process in use, if [`enable`] was called.
pub fn active() -> Option<&'static Sandbox> {
    ACTIVE.get()
}

/// Lower this process's address-space limit to `bytes` (never raise it: a limit
/// already lower stays). The decoder process calls this first thing.
pub fn limit_address_space(bytes: u64) -> Result<(), nix::Error> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_AS)?;
    let new_soft = soft.min(bytes).min(hard);
    setrlimit(Resource::RLIMIT_AS, new_soft, hard)
}

/// Printable ASCII only, on one line, at most [`MAX_MESSAGE`] characters.
fn clean(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let mut out: String = text
        .trim()
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { ' ' })
        .take(MAX_MESSAGE)
        .collect();
    if text.trim().chars().count() > MAX_MESSAGE {
        out.push('…');
    }
    out
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        6 => "SIGABRT, e.g. an allocation beyond its address-space limit",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        7 => "SIGBUS",
        _ => "",
    }
}

impl Sandbox {
    /// The `emrtd` binary running now, with the default limits; the address space
    /// from [`ADDRESS_SPACE_ENV`] when that holds a number of bytes.
    pub fn current_exe() -> std::io::Result<Self> {
        let address_space = std::env::var(ADDRESS_SPACE_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(ADDRESS_SPACE);
        Ok(Sandbox {
            program: std::env::current_exe()?,
            address_space,
            timeout: TIMEOUT,
        })
    }

    fn failed(&self, what: impl std::fmt::Display) -> ImageError {
        ImageError::DecoderProcess(format!("the decoder process {what}"))
    }

    /// Decode `image` and encode it as PNG in a child process.
    pub fn to_png(&self, image: &[u8]) -> Result<Vec<u8>, ImageError> {
        let format = super::detect(image).ok_or(ImageError::UnknownFormat)?;
        if image.len() > MAX_INPUT {
            return Err(ImageError::OverBudget {
                format,
                what: "bytes",
                count: image.len() as u64,
                limit: MAX_INPUT as u64,
            });
        }
        // what the parent can refuse cheaply is refused here, without a process
        super::bounded_dimensions(image, format)?;
        super::bounds::check(image, format)?;

        let mut child = Command::new(&self.program)
            .arg(SUBCOMMAND)
            .arg("--address-space")
            .arg(self.address_space.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.failed(format_args!("could not be started: {e}")))?;
        let started = Instant::now();

        let stdin = child.stdin.take();
        let input = image.to_vec();
        let writer = std::thread::spawn(move || {
            if let Some(mut stdin) = stdin {
                // a child that dies early closes the pipe: its exit status says why
                let _ = stdin.write_all(&input);
            }
        });
        let stdout = child.stdout.take();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(s) = stdout {
                let _ = s.take(MAX_OUTPUT + 1).read_to_end(&mut out);
            }
            out
        });
        let stderr = child.stderr.take();
        let errors = std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(s) = stderr {
                let _ = s.take(4 * MAX_MESSAGE as u64).read_to_end(&mut out);
            }
            out
        });

        let status = self.wait(&mut child, started)?;
        let _ = writer.join();
        let png = reader.join().unwrap_or_default();
        let message = errors.join().unwrap_or_default();
        let Some(status) = status else {
            return Err(self.failed(format_args!(
                "took longer than {} s and was stopped",
                self.timeout.as_secs_f64()
            )));
        };
        if status.success() {
            if png.len() as u64 > MAX_OUTPUT || super::detect(&png) != Some(ImageFormat::Png) {
                return Err(self.failed("answered something other than a PNG"));
            }
            return Ok(png);
        }
        if status.code() == Some(EXIT_REFUSED) {
            let message = clean(&message);
            return Err(ImageError::DecoderProcess(if message.is_empty() {
                format!("cannot decode {format} image")
            } else {
                message
            }));
        }
        Err(self.failed(describe(status, self.address_space)))
    }

    /// Wait for the child until the timeout; kill it then. `None` when it was killed.
    fn wait(
        &self,
        child: &mut std::process::Child,
        started: Instant,
    ) -> Result<Option<ExitStatus>, ImageError> {
        let mut pause = Duration::from_millis(1);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(Some(status)),
                Ok(None) => {}
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(self.failed(format_args!("could not be waited for: {e}")));
                }
            }
            if started.elapsed() >= self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

fn describe(status: ExitStatus, address_space: u64) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (_, Some(sig)) => {
            let name = signal_name(sig);
            if name.is_empty() {
                format!("was killed by signal {sig}")
            } else {
                format!(
                    "was killed by signal {sig} ({name} of {} MiB)",
                    address_space >> 20
                )
            }
        }
        (Some(code), _) => format!("failed with exit status {code}"),
        (None, None) => "failed".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Vec<u8> {
        std::fs::read(format!(
            "{}/test-vectors/generated/face_gray.jpg",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// A sandbox whose "decoder" is the shell script `body`.
    fn script(dir: &tempfile::TempDir, body: &str, timeout: Duration) -> Sandbox {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("decoder.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        Sandbox {
            program: path,
            address_space: ADDRESS_SPACE,
            timeout,
        }
    }

    #[test]
    fn messages_are_one_clean_line() {
        assert_eq!(clean(b"  bad\x1b[2J\nthing "), "bad [2J thing");
        let long = vec![b'a'; 2 * MAX_MESSAGE];
        assert_eq!(clean(&long).chars().count(), MAX_MESSAGE + 1);
    }

    #[test]
    fn a_missing_program_costs_the_picture_only() {
        let s = Sandbox {
            program: PathBuf::from("/nonexistent/emrtd"),
            address_space: ADDRESS_SPACE,
            timeout: TIMEOUT,
        };
        let e = s.to_png(&face()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the decoder process could not be started"),
            "{e}"
        );
    }

    #[test]
    fn a_hanging_decoder_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let s = script(&dir, "exec sleep 30", Duration::from_millis(300));
        let started = Instant::now();
        let e = s.to_png(&face()).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            e.to_string().contains("took longer than 0.3 s and was stopped"),
            "{e}"
        );
    }

    #[test]
    fn an_aborting_decoder_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let s = script(&dir, "cat >/dev/null; kill -ABRT $$", TIMEOUT);
        let e = s.to_png(&face()).unwrap_err();
        assert!(e.to_string().contains("killed by signal 6 (SIGABRT"), "{e}");
    }

    #[test]
    fn a_refusal_keeps_the_decoders_message() {
        let dir = tempfile::tempdir().unwrap();
        let s = script(
            &dir,
            "cat >/dev/null; echo 'cannot decode jpeg image: bad' >&2; exit 3",
            TIMEOUT,
        );
        let e = s.to_png(&face()).unwrap_err();
        assert_eq!(e.to_string(), "cannot decode jpeg image: bad");
        let s = script(&dir, "cat >/dev/null; printf 'not a png'", TIMEOUT);
        let e = s.to_png(&face()).unwrap_err();
        assert!(
            e.to_string().contains("answered something other than a PNG"),
            "{e}"
        );
    }
}

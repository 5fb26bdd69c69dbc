//! Standard output and standard error, which nothing can make fail.
//!
//! stdout carries what a command reports (the level blocks, `compare`'s
//! tables, `check`'s JSON); what `run` measures also goes to files. A stdout
//! that goes away (`| head` closes it, `> /dev/full` fills it) must neither
//! stop a run nor change what its exit code means: the first failure is
//! kept, everything written after it is dropped, and at exit one line on
//! stderr says what was lost. A closed pipe (EPIPE) is the reader's choice to
//! stop reading and gets no line, as in ripgrep and hyperfine.
//!
//! SIGPIPE is ignored (Rust's runtime does so for the binary; [`init`] does
//! it again for embedders such as the wheel's Python), so a closed pipe is an
//! error value here, never a signal that kills the process mid-run.
//!
//! stderr carries progress, warnings and errors; a failure to write one
//! loses that line only (`eprintln!` would panic).

use std::io::{self, Write};
use std::sync::Mutex;

/// The first failure writing stdout, if any: its kind and its text.
static STDOUT_FAILURE: Mutex<Option<(io::ErrorKind, String)>> = Mutex::new(None);

/// Makes a closed pipe an error, not a signal. Called once at start.
pub fn init() {
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions;
    // no handler runs, so nothing can be unsound in one.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Standard output that cannot fail: the first error is kept for [`finish`]
/// and every write after it is dropped (reported as written).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if stdout_failed() {
            return Ok(buf.len());
        }
        let mut out = io::stdout().lock();
        if let Err(e) = out.write_all(buf).and_then(|()| out.flush()) {
            keep_failure(&e);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Standard error that cannot fail: a line that cannot be written is lost.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `text` to stdout as it is.
pub fn print(text: &str) {
    let _ = Stdout.write_all(text.as_bytes());
}

/// One line on stderr.
pub fn note(line: &str) {
    let _ = writeln!(Stderr, "{line}");
}

/// `warning: ...` on stderr.
pub fn warn(message: &str) {
    note(&format!("warning: {message}"));
}

/// `error: ...` on stderr.
pub fn error(message: &str) {
    note(&format!("error: {message}"));
}

fn stdout_failed() -> bool {
    lock().is_some()
}

fn keep_failure(e: &io::Error) {
    let mut failure = lock();
    if failure.is_none() {
        *failure = Some((e.kind(), e.to_string()));
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<(io::ErrorKind, String)>> {
    // A panic while holding the lock leaves the value intact: keep using it.
    STDOUT_FAILURE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What stdout lost, as the line [`finish`] prints; `None` when nothing was
/// lost or the reader closed the pipe.
pub fn stdout_loss() -> Option<String> {
    match &*lock() {
        Some((io::ErrorKind::BrokenPipe, _)) | None => None,
        Some((_, reason)) => Some(format!(
            "stdout failed ({reason}): what came after was dropped; \
             the exit code and the files written are unaffected"
        )),
    }
}

/// Called once at exit: tells on stderr what stdout lost, if anything.
pub fn finish() {
    if let Some(line) = stdout_loss() {
        warn(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_is_silent_and_another_failure_is_told_once() {
        keep_failure(&io::ErrorKind::BrokenPipe.into());
        assert!(stdout_failed());
        assert_eq!(stdout_loss(), None, "the reader closed the pipe");
        *lock() = None;
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        keep_failure(&full);
        keep_failure(&io::ErrorKind::BrokenPipe.into());
        let line = stdout_loss().unwrap();
        assert!(line.contains("No space left on device"), "{line}");
        // Once failed, writes are dropped, and never an error.
        assert_eq!(Stdout.write(b"dropped").unwrap(), 7);
        *lock() = None;
    }
}

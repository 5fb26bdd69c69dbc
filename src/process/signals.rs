//! The one path by which a run is stopped from outside: SIGINT (Ctrl-C),
//! SIGTERM (`timeout`, docker, Kubernetes) and SIGHUP (a closed terminal or
//! SSH session) all do the same thing.
//!
//! The first signal sets the stop flag the driver and the sweep watch: the
//! running level cancels what is in flight and is written marked
//! interrupted, no further level or trial starts, the engine is shut down
//! (its worker processes with it) and the run exits with 128 + the signal's
//! number (130, 143, 129), as a shell reports a process the signal ended.
//! A second signal means "now": the processes the engine started are ended
//! and the process exits at once, with the same code.
//!
//! The handlers run on a thread of their own (signal-hook's iterator), not
//! in signal context, so they may do what they need to.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::children::Children;

/// A signal that stops a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    Interrupt,
    Terminate,
    Hangup,
}

impl StopSignal {
    pub const ALL: [StopSignal; 3] = [Self::Interrupt, Self::Terminate, Self::Hangup];

    pub fn number(self) -> i32 {
        match self {
            Self::Interrupt => SIGINT,
            Self::Terminate => SIGTERM,
            Self::Hangup => SIGHUP,
        }
    }

    pub fn from_number(number: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.number() == number)
    }

    /// `SIGINT`, `SIGTERM`, `SIGHUP`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
            Self::Hangup => "SIGHUP",
        }
    }

    /// 128 + the signal's number: 130, 143, 129.
    pub fn exit_code(self) -> u8 {
        // The numbers are 1, 2 and 15: the sum fits in a u8.
        128 + self.number() as u8
    }
}

impl std::fmt::Display for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The stop flag of one run and the signal that set it.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    /// The first stop signal's number, 0 before one.
    signal: Arc<AtomicI32>,
}

impl Stop {
    /// A flag no signal sets (tests, embedders that stop runs themselves).
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag the stop signals set. A second signal ends `children` and
    /// exits. Without a way to handle signals (none on this platform), the
    /// signals keep their default action: the run is killed, as before.
    pub fn on_signals(children: Children) -> Self {
        let stop = Self::new();
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return stop;
        };
        let handler = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("enginebench-signals".into())
            .spawn(move || {
                for number in signals.forever() {
                    let Some(signal) = StopSignal::from_number(number) else {
                        continue;
                    };
                    if !handler.set(signal) {
                        children.end_all();
                        std::process::exit(i32::from(signal.exit_code()));
                    }
                }
            });
        if spawned.is_err() {
            super::console::warn("cannot watch for SIGINT/SIGTERM/SIGHUP: they will kill the run");
        }
        stop
    }

    /// Records `signal` and raises the flag; false when the flag was already up.
    pub fn set(&self, signal: StopSignal) -> bool {
        let first = self
            .signal
            .compare_exchange(0, signal.number(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        self.flag.store(true, Ordering::SeqCst);
        first
    }

    /// The flag the driver and the sweep watch.
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The signal that stopped the run, if one did.
    pub fn signal(&self) -> Option<StopSignal> {
        StopSignal::from_number(self.signal.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal() {
        let codes: Vec<(&str, u8)> = StopSignal::ALL
            .iter()
            .map(|s| (s.name(), s.exit_code()))
            .collect();
        assert_eq!(codes, [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)]);
    }

    #[test]
    fn the_first_signal_is_kept() {
        let stop = Stop::new();
        assert!(!stop.is_set() && stop.signal().is_none());
        assert!(stop.set(StopSignal::Terminate));
        assert!(!stop.set(StopSignal::Interrupt), "a second signal");
        assert!(stop.is_set());
        assert_eq!(stop.signal(), Some(StopSignal::Terminate));
    }
}

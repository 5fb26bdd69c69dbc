//! Progress of each trial on stderr: a bar on a terminal, plain log lines
//! otherwise (or with `--quiet`). Times come from the driver's clock, passed
//! in with each update, so this module never reads a clock itself.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::driver::Progress;
use crate::process::console;
use crate::sweep::TrialStart;

/// Plain mode writes one line per this many seconds of run time.
const LOG_EVERY_NS: u64 = 10_000_000_000;
/// The bar is redrawn at most this often: updates arrive after every poll,
/// inside the measured loop, so most of them must cost nothing.
const DRAW_EVERY_NS: u64 = 100_000_000;

/// The progress of each trial of a sweep in turn.
pub struct ProgressDisplay {
    quiet: bool,
    current: Option<TrialProgress>,
}

impl ProgressDisplay {
    /// `quiet`: log lines even on a terminal.
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            current: None,
        }
    }

    pub fn start(&mut self, trial: &TrialStart) {
        self.finish();
        let progress = TrialProgress::new(&trial.label(), trial.level.requests, self.quiet);
        self.current = Some(progress);
    }

    /// Clears the bar, or logs where the trial ended.
    pub fn finish(&mut self) {
        if let Some(progress) = self.current.take() {
            progress.finish();
        }
    }
}

impl Progress for ProgressDisplay {
    fn update(&mut self, done: usize, total: usize, output_tokens: u64, elapsed_ns: u64) {
        if let Some(progress) = &mut self.current {
            progress.update(done, total, output_tokens, elapsed_ns);
        }
    }
}

/// An update as the driver gave it: done, total, output tokens, elapsed ns.
type Update = (usize, usize, u64, u64);

pub enum TrialProgress {
    Bar {
        bar: ProgressBar,
        next_draw_ns: u64,
    },
    Log {
        label: String,
        next_log_ns: u64,
        /// The latest update, for the line at the end of the level.
        last: Option<Update>,
    },
}

impl TrialProgress {
    /// A bar when stderr is a terminal and `quiet` is off, else log lines.
    pub fn new(label: &str, total: usize, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self::Log {
                label: label.to_string(),
                next_log_ns: LOG_EVERY_NS,
                last: None,
            };
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} requests  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Self::Bar {
            bar,
            next_draw_ns: 0,
        }
    }

    /// Removes the bar (the level's report follows on stdout), or logs where
    /// the trial ended.
    pub fn finish(&self) {
        match self {
            Self::Bar { bar, .. } => bar.finish_and_clear(),
            Self::Log {
                label,
                last: Some((done, total, tokens, elapsed)),
                ..
            } => console::note(&format!(
                "{label} ended: {}",
                line(*done, *total, *tokens, *elapsed)
            )),
            Self::Log { .. } => {}
        }
    }
}

impl Progress for TrialProgress {
    fn update(&mut self, done: usize, total: usize, output_tokens: u64, elapsed_ns: u64) {
        match self {
            Self::Bar { bar, next_draw_ns } => {
                if elapsed_ns >= *next_draw_ns {
                    *next_draw_ns = elapsed_ns + DRAW_EVERY_NS;
                    bar.set_position(done as u64);
                    bar.set_message(status(done, total, output_tokens, elapsed_ns));
                }
            }
            Self::Log {
                label,
                next_log_ns,
                last,
            } => {
                if elapsed_ns >= *next_log_ns && done < total {
                    *next_log_ns = elapsed_ns + LOG_EVERY_NS;
                    console::note(&format!(
                        "{label}: {}",
                        line(done, total, output_tokens, elapsed_ns)
                    ));
                }
                *last = Some((done, total, output_tokens, elapsed_ns));
            }
        }
    }
}

fn line(done: usize, total: usize, output_tokens: u64, elapsed_ns: u64) -> String {
    let status = status(done, total, output_tokens, elapsed_ns);
    format!("{done}/{total} requests, {status}")
}

/// `1234 tok/s, 12 s elapsed, ETA 30 s`: the ETA assumes the remaining
/// requests finish at the rate of those done so far.
pub fn status(done: usize, total: usize, output_tokens: u64, elapsed_ns: u64) -> String {
    let elapsed_s = elapsed_ns as f64 / 1e9;
    let rate = if elapsed_s > 0.0 {
        output_tokens as f64 / elapsed_s
    } else {
        0.0
    };
    let eta = match done {
        0 => "?".to_string(),
        _ => format!(
            "{:.0} s",
            elapsed_s / done as f64 * total.saturating_sub(done) as f64
        ),
    };
    format!("{rate:.0} tok/s, {elapsed_s:.0} s elapsed, ETA {eta}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_rate_and_eta() {
        // 500 tokens in 2 s; 1 of 4 requests done in 2 s leaves 3 x 2 s.
        assert_eq!(
            status(1, 4, 500, 2_000_000_000),
            "250 tok/s, 2 s elapsed, ETA 6 s"
        );
        assert_eq!(status(0, 4, 0, 0), "0 tok/s, 0 s elapsed, ETA ?");
    }

    #[test]
    fn quiet_means_log_lines() {
        let progress = TrialProgress::new("level 1/1", 10, true);
        assert!(matches!(progress, TrialProgress::Log { .. }));
    }
}

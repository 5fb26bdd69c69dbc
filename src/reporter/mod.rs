//! The outputs of a run, as criterion's `Report`/`Reports`: each output is a
//! [`Reporter`] told what the sweep did, and [`Reporters`] fans every event
//! out to all of them. An output that fails (a full disk, and its fallback
//! too: see `results::fs::OutputDir`) is that one reporter failing: it is
//! told nothing more, the others carry on with the level, and the sweep
//! stops after it, so what was measured is still written everywhere else.
//! Stdout cannot fail a reporter (`process::console`).
//!
//! Two outputs follow a trial while it runs rather than level by level: the
//! progress display and the detailed records. The fan-out holds them apart
//! and hands them to the driver ([`Reporters::live`]).

pub mod baselines;
pub mod detailed;
pub mod export;
pub mod html;
pub mod progress;
pub mod result_files;
pub mod terminal;

use crate::driver::{NoProgress, Progress};
use crate::error::Error;
use crate::records::{Discard, RecordSink};
use crate::sweep::{LevelResult, LevelStart, SweepResult, TrialStart};
use detailed::DetailedRecords;
use progress::ProgressDisplay;

/// One output of a sweep. Every hook does nothing unless an output needs it.
pub trait Reporter {
    /// `requests` warm-up requests are about to run (not measured).
    fn warm_up_started(&mut self, _requests: usize) -> Result<(), Error> {
        Ok(())
    }

    fn level_started(&mut self, _level: &LevelStart) -> Result<(), Error> {
        Ok(())
    }

    fn trial_started(&mut self, _trial: &TrialStart) -> Result<(), Error> {
        Ok(())
    }

    /// A level is measured and analysed.
    fn level_done(&mut self, _level: &LevelResult) -> Result<(), Error> {
        Ok(())
    }

    /// The sweep is over: every level it ran, and whether it stopped early.
    fn sweep_done(&mut self, _sweep: &SweepResult) -> Result<(), Error> {
        Ok(())
    }
}

/// Every output of a sweep.
pub struct Reporters {
    reporters: Vec<Box<dyn Reporter>>,
    /// `failed[i]`: reporter `i` failed and is told nothing more.
    failed: Vec<bool>,
    /// The failures, in the order they happened.
    errors: Vec<Error>,
    progress: Option<ProgressDisplay>,
    records: Option<DetailedRecords>,
    /// Where records and progress go without those outputs.
    discard: Discard,
    no_progress: NoProgress,
}

impl Reporters {
    /// Told of every event in this order.
    pub fn new(reporters: Vec<Box<dyn Reporter>>) -> Self {
        Self {
            failed: vec![false; reporters.len()],
            reporters,
            errors: Vec::new(),
            progress: None,
            records: None,
            discard: Discard,
            no_progress: NoProgress,
        }
    }

    /// Shows each trial's progress on stderr.
    pub fn with_progress(mut self, progress: ProgressDisplay) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Writes each trial's records as they complete (`--save-detailed`).
    pub fn with_detailed_records(mut self, records: DetailedRecords) -> Self {
        self.records = Some(records);
        self
    }

    /// Whether an output has failed.
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The outputs' failures, first first.
    pub fn into_errors(self) -> Vec<Error> {
        self.errors
    }

    pub fn warm_up_started(&mut self, requests: usize) {
        self.each(|r| r.warm_up_started(requests));
    }

    pub fn level_started(&mut self, level: &LevelStart) {
        self.each(|r| r.level_started(level));
    }

    /// Opens the trial's live outputs, then tells the reporters. `Err` when
    /// its detailed records cannot be written: the trial cannot run as asked.
    pub fn trial_started(&mut self, trial: &TrialStart) -> Result<(), Error> {
        if let Some(records) = &mut self.records {
            records.open(trial)?;
        }
        if let Some(progress) = &mut self.progress {
            progress.start(trial);
        }
        self.each(|r| r.trial_started(trial));
        Ok(())
    }

    /// Where the running trial's finished requests go, and who is told how
    /// far it got.
    pub fn live(&mut self) -> (&mut dyn RecordSink, &mut dyn Progress) {
        let records: &mut dyn RecordSink = match &mut self.records {
            Some(records) => records,
            None => &mut self.discard,
        };
        let progress: &mut dyn Progress = match &mut self.progress {
            Some(progress) => progress,
            None => &mut self.no_progress,
        };
        (records, progress)
    }

    /// Closes the trial's live outputs; `records` are the trial's, for the
    /// detailed records to write whole if their file failed along the way.
    pub fn trial_done(&mut self, records: &[crate::records::RequestRecord]) {
        if let Some(progress) = &mut self.progress {
            progress.finish();
        }
        if let Some(detailed) = &mut self.records {
            if let Err(e) = detailed.close(records) {
                self.errors.push(e);
            }
        }
    }

    pub fn level_done(&mut self, level: &LevelResult) {
        self.each(|r| r.level_done(level));
    }

    pub fn sweep_done(&mut self, sweep: &SweepResult) {
        self.each(|r| r.sweep_done(sweep));
    }

    /// Calls `hook` on every reporter still working; one that fails is set aside.
    fn each(&mut self, mut hook: impl FnMut(&mut dyn Reporter) -> Result<(), Error>) {
        for (reporter, failed) in self.reporters.iter_mut().zip(&mut self.failed) {
            if *failed {
                continue;
            }
            if let Err(e) = hook(reporter.as_mut()) {
                *failed = true;
                self.errors.push(e);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Logs every hook it sees; fails at the level `fail_at`, if any.
    struct Recorder {
        log: Rc<RefCell<Vec<String>>>,
        name: &'static str,
        fail_at: Option<usize>,
    }

    impl Reporter for Recorder {
        fn level_started(&mut self, level: &LevelStart) -> Result<(), Error> {
            self.log
                .borrow_mut()
                .push(format!("{} start {}", self.name, level.index));
            Ok(())
        }

        fn level_done(&mut self, level: &LevelResult) -> Result<(), Error> {
            self.log
                .borrow_mut()
                .push(format!("{} done {}", self.name, level.start.index));
            match self.fail_at == Some(level.start.index) {
                true => Err(Error::unwritable(
                    "r.json",
                    std::io::Error::from_raw_os_error(libc::ENOSPC),
                )),
                false => Ok(()),
            }
        }

        fn sweep_done(&mut self, sweep: &SweepResult) -> Result<(), Error> {
            self.log
                .borrow_mut()
                .push(format!("{} sweep {}", self.name, sweep.levels.len()));
            Ok(())
        }
    }

    #[test]
    fn a_failing_reporter_is_set_aside_and_the_others_carry_on() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let recorder = |name, fail_at| {
            Box::new(Recorder {
                log: log.clone(),
                name,
                fail_at,
            }) as Box<dyn Reporter>
        };
        let mut reporters = Reporters::new(vec![recorder("a", Some(0)), recorder("b", None)]);
        let level = fixtures::level_result();
        reporters.level_started(&level.start);
        reporters.level_done(&level);
        assert!(reporters.failed());
        reporters.level_started(&level.start);
        reporters.sweep_done(&SweepResult::default());
        assert_eq!(
            *log.borrow(),
            [
                "a start 0",
                "b start 0",
                "a done 0",
                "b done 0",
                "b start 0",
                "b sweep 0"
            ]
        );
        let errors = reporters.into_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "cannot write r.json: No space left on device (os error 28)"
        );
    }

    #[test]
    fn without_live_outputs_records_and_progress_go_nowhere() {
        let mut reporters = Reporters::new(Vec::new());
        let (records, progress) = reporters.live();
        let record = crate::records::RequestRecord::new(0, 1, 1);
        assert!(records.record(&record).is_ok());
        progress.update(1, 1, 1, 1);
        assert!(!reporters.failed());
    }
}

//! The sweep: the warm-up, then each concurrency level's trials, each trial
//! driven once and the level summarized, analysed and judged into a typed
//! [`LevelResult`]. No I/O: the sweep tells the outputs what happened through
//! [`Reporters`], and is handed everything else (engine, requests, baselines).
//!
//! `workload -> schedule -> driver <-> engine -> records -> metrics -> stats`
//! all meet here, once per trial.

pub mod level;

use std::sync::atomic::AtomicBool;

pub use level::{
    BaselineChanges, LevelResult, LevelStart, SpeedOfLight, Stop, SweepResult, TrialStart,
};

use crate::analysis::speed_of_light::level::{self as light, Setup};
use crate::analysis::{self, change, validity};
use crate::config::RunConfig;
use crate::driver::{self, DriveOptions, NoProgress, Progress, TrialOutcome};
use crate::engine::{Engine, RequestId};
use crate::error::Error;
use crate::metrics::{LevelSamples, LevelSummary, Metric};
use crate::records::{Discard, RecordSink, RequestRecord};
use crate::reporter::Reporters;
use crate::schedule::{Schedule, ScheduleSpec};
use crate::workload::WorkItem;

/// One sweep of one engine: what it runs and what it compares with.
pub struct Sweep<'a> {
    pub config: &'a RunConfig,
    /// The measured requests of every trial.
    pub items: &'a [WorkItem],
    /// `--num-warmups` requests, run once before the first level.
    pub warm_up: &'a [WorkItem],
    /// `--baseline`: one level's samples per level, in level order; empty without.
    pub baselines: &'a [LevelSamples],
    /// The model and GPU of the speed of light, or why there is none.
    pub light: &'a Setup,
    /// The next request id: ids stay unique across the trials (and the
    /// warm-up) that share one engine.
    next_id: RequestId,
}

impl<'a> Sweep<'a> {
    pub fn new(
        config: &'a RunConfig,
        items: &'a [WorkItem],
        warm_up: &'a [WorkItem],
        baselines: &'a [LevelSamples],
        light: &'a Setup,
    ) -> Self {
        Self {
            config,
            items,
            warm_up,
            baselines,
            light,
            next_id: 0,
        }
    }

    /// Runs every level, stopping after the one that was interrupted, failed,
    /// or whose outputs failed. `Err` when nothing could be measured (the
    /// warm-up failed) or a trial could not start.
    pub fn run(
        &mut self,
        engine: &mut dyn Engine,
        reporters: &mut Reporters,
        stop: &AtomicBool,
    ) -> Result<SweepResult, Error> {
        self.warm_up(engine, reporters, stop)?;
        let levels = &self.config.concurrency_levels;
        let mut sweep = SweepResult::default();
        for (index, &concurrency) in levels.iter().enumerate() {
            let start = LevelStart {
                index,
                levels: levels.len(),
                concurrency,
                requests: self.items.len(),
            };
            reporters.level_started(&start);
            let level = self.run_level(start, engine, reporters, stop)?;
            reporters.level_done(&level);
            let stopped = level.stop.is_some();
            sweep.levels.push(level);
            if stopped || reporters.failed() {
                break;
            }
        }
        sweep.output_failed = reporters.failed();
        reporters.sweep_done(&sweep);
        Ok(sweep)
    }

    /// Runs the warm-up requests at the first level's concurrency and
    /// discards them.
    fn warm_up(
        &mut self,
        engine: &mut dyn Engine,
        reporters: &mut Reporters,
        stop: &AtomicBool,
    ) -> Result<(), Error> {
        if self.warm_up.is_empty() {
            return Ok(());
        }
        let first = self.config.concurrency_levels[0];
        let schedule = Schedule::all_at_once(self.warm_up.len(), first);
        reporters.warm_up_started(self.warm_up.len());
        let items = self.warm_up;
        let outcome = self.drive(
            engine,
            items,
            &schedule,
            &mut Discard,
            &mut NoProgress,
            stop,
        );
        match outcome.fatal_error {
            Some(message) => Err(Error::Engine(format!(
                "engine failed during warm-up: {message}"
            ))),
            None if outcome.interrupted => Err(Error::Interrupted),
            None => Ok(()),
        }
    }

    /// Runs `--trials` trials of one level, each on a fresh schedule seed,
    /// stopping early on an interrupt or an engine failure.
    fn run_level(
        &mut self,
        start: LevelStart,
        engine: &mut dyn Engine,
        reporters: &mut Reporters,
        stop: &AtomicBool,
    ) -> Result<LevelResult, Error> {
        let trials = self.config.trials;
        let spec = ScheduleSpec {
            rate: self.config.rate,
            burstiness: self.config.burstiness,
            max_concurrency: start.concurrency,
        };
        let mut outcomes = Vec::new();
        let mut schedule_kind = "";
        for index in 0..trials {
            let trial = TrialStart {
                level: start.clone(),
                index,
                trials,
            };
            // Trials repeat the same prompts: each starts cold, like each level.
            engine
                .reset_prefix_cache()
                .map_err(|e| Error::Engine(e.to_string()))?;
            let seed = self.config.seed.wrapping_add(index as u64);
            let schedule = Schedule::build(&spec, self.items.len(), seed);
            schedule_kind = schedule.kind();
            reporters.trial_started(&trial)?;
            let (records, progress) = reporters.live();
            let items = self.items;
            let outcome = self.drive(engine, items, &schedule, records, progress, stop);
            reporters.trial_done();
            let stopped = outcome.interrupted || outcome.fatal_error.is_some();
            outcomes.push(outcome);
            if stopped {
                break;
            }
        }
        Ok(self.level_result(start, schedule_kind, &outcomes))
    }

    /// One trial of `items` on `schedule`.
    fn drive(
        &mut self,
        engine: &mut dyn Engine,
        items: &[WorkItem],
        schedule: &Schedule,
        records: &mut dyn RecordSink,
        progress: &mut dyn Progress,
        stop: &AtomicBool,
    ) -> TrialOutcome {
        let options = DriveOptions {
            ignore_eos: self.config.ignore_eos,
            sampling: self.config.sampling.clone(),
            id_base: self.next_id,
            max_failures: self.config.max_failures,
        };
        self.next_id += items.len() as RequestId;
        driver::drive_with_progress(engine, items, schedule, &options, records, stop, progress)
    }

    /// Summary, samples, intervals, changes against the baseline, warnings
    /// and speed of light of a level's trials.
    fn level_result(
        &self,
        start: LevelStart,
        schedule: &'static str,
        outcomes: &[TrialOutcome],
    ) -> LevelResult {
        let config = self.config;
        let records: Vec<&[RequestRecord]> =
            outcomes.iter().map(|t| t.records.as_slice()).collect();
        let percentiles = config.percentiles();
        let summary = LevelSummary::of_trials(&records, &percentiles, &config.slos);
        let mut samples = LevelSamples::default();
        for trial in &records {
            samples.add_trial(trial);
        }
        let analysis = analysis::analyze(&samples, &config.statistics.bootstrap);
        let baseline = self.baselines.get(start.index).map(|base| BaselineChanges {
            name: config.baselines.against.clone().unwrap_or_default(),
            changes: change::between(base, &samples, &Metric::ALL, &config.statistics),
        });
        let last = outcomes.last().expect("a level runs at least one trial");
        let stop = match (&last.fatal_error, last.interrupted) {
            (Some(message), _) => Some(Stop::EngineFailed(message.clone())),
            (None, true) => Some(Stop::Interrupted),
            (None, false) => None,
        };
        LevelResult {
            benchmark: config.benchmark_id(start.concurrency),
            start,
            schedule,
            trials: outcomes.len(),
            stop,
            warnings: self.warnings(outcomes, &samples, &percentiles),
            speed_of_light: self.speed_of_light(&summary),
            summary,
            samples,
            analysis,
            baseline,
        }
    }

    /// Detailed records that stopped, and the validity rules.
    fn warnings(
        &self,
        outcomes: &[TrialOutcome],
        samples: &LevelSamples,
        percentiles: &[f64],
    ) -> Vec<String> {
        let mut warnings: Vec<String> = outcomes
            .iter()
            .filter_map(|t| t.sink_error.as_ref())
            .map(|e| format!("detailed records stopped: {e}"))
            .collect();
        let shortest = samples
            .trials
            .iter()
            .map(|t| t.duration_s)
            .fold(f64::INFINITY, f64::min);
        let highest = percentiles.last().copied().unwrap_or(99.0);
        warnings.extend(validity::warnings(
            samples.latencies.completed(),
            highest,
            shortest,
            &self.config.validity,
        ));
        warnings
    }

    fn speed_of_light(&self, summary: &LevelSummary) -> SpeedOfLight {
        match self.light {
            Setup::Ready(target) => match light::for_level(target, summary) {
                Some(figures) => SpeedOfLight::Figures(figures),
                None => SpeedOfLight::Skipped("no request completed".into()),
            },
            Setup::Skipped(why) => SpeedOfLight::Skipped(why.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::engine;
    use crate::reporter::fixtures::run_config;
    use crate::reporter::Reporter;
    use crate::workload;

    /// Keeps every level and the sweep it is told of, and the hooks' order.
    #[derive(Default)]
    struct Kept {
        hooks: Vec<String>,
        levels: Vec<LevelResult>,
        sweep: Option<SweepResult>,
    }

    struct Keeper(Rc<RefCell<Kept>>);

    impl Reporter for Keeper {
        fn warm_up_started(&mut self, requests: usize) -> Result<(), Error> {
            self.0
                .borrow_mut()
                .hooks
                .push(format!("warm-up {requests}"));
            Ok(())
        }

        fn level_started(&mut self, level: &LevelStart) -> Result<(), Error> {
            self.0
                .borrow_mut()
                .hooks
                .push(format!("level {}", level.index));
            Ok(())
        }

        fn trial_started(&mut self, trial: &TrialStart) -> Result<(), Error> {
            self.0.borrow_mut().hooks.push(trial.label());
            Ok(())
        }

        fn level_done(&mut self, level: &LevelResult) -> Result<(), Error> {
            let mut kept = self.0.borrow_mut();
            kept.hooks.push(format!("done {}", level.start.index));
            kept.levels.push(level.clone());
            Ok(())
        }

        fn sweep_done(&mut self, sweep: &SweepResult) -> Result<(), Error> {
            let mut kept = self.0.borrow_mut();
            kept.hooks.push("sweep".into());
            kept.sweep = Some(sweep.clone());
            Ok(())
        }
    }

    /// Sweeps the sim over `args`, the flags after `run`.
    fn sweep(args: &[&str], stop: bool) -> (Result<SweepResult, Error>, Kept) {
        let mut line = vec![
            "--engine-arg",
            "step_base_us=100",
            "--random-input-len",
            "16",
            "--random-output-len",
            "4",
            "--num-prompts",
            "6",
            "--bootstrap-resamples",
            "100",
        ];
        line.extend_from_slice(args);
        let config = run_config(&line);
        let items = workload::build(&config.workload, config.num_prompts, config.seed).unwrap();
        let warm_up = workload::build(&config.workload, config.num_warmups, 1).unwrap_or_default();
        let mut engine = engine::open(&config.engine, &config.engine_options).unwrap();
        let light = Setup::Skipped("no model".into());
        let kept = Rc::new(RefCell::new(Kept::default()));
        let mut reporters = Reporters::new(vec![Box::new(Keeper(kept.clone()))]);
        let flag = AtomicBool::new(stop);
        let mut sweep = Sweep::new(&config, &items, &warm_up, &[], &light);
        let result = sweep.run(engine.as_mut(), &mut reporters, &flag);
        assert!(!flag.load(Ordering::Relaxed) || stop);
        drop(reporters);
        let kept = Rc::try_unwrap(kept).ok().unwrap().into_inner();
        (result, kept)
    }

    #[test]
    fn every_level_and_trial_is_told_in_order_and_typed() {
        let (result, kept) = sweep(
            &[
                "--max-concurrency",
                "2,3",
                "--trials",
                "2",
                "--num-warmups",
                "2",
            ],
            false,
        );
        let sweep = result.unwrap();
        assert_eq!(
            kept.hooks,
            [
                "warm-up 2",
                "level 0",
                "level 1/2 trial 1/2",
                "level 1/2 trial 2/2",
                "done 0",
                "level 1",
                "level 2/2 trial 1/2",
                "level 2/2 trial 2/2",
                "done 1",
                "sweep",
            ]
        );
        assert_eq!(kept.sweep.as_ref(), Some(&sweep));
        assert!(sweep.completed());
        let [first, second] = &sweep.levels[..] else {
            panic!("two levels: {:?}", sweep.levels.len());
        };
        assert_eq!(
            (first.concurrency(), second.concurrency()),
            (Some(2), Some(3))
        );
        for level in [first, second] {
            assert_eq!((level.trials, level.status()), (2, "ok"));
            assert_eq!(level.summary.completed, 12, "two trials of six");
            assert_eq!(level.samples.trials.len(), 2);
            assert_eq!(level.samples.latencies.ttft_ms.len(), 12);
            assert_eq!(level.analysis.spread.len(), 3, "spread needs two trials");
            assert_eq!(level.schedule, "closed-loop");
            assert!(
                matches!(&level.speed_of_light, SpeedOfLight::Skipped(why) if why == "no model")
            );
            assert!(level.warnings.iter().any(|w| w.contains("p99 rests on 12")));
        }
        assert_eq!(
            second.benchmark.to_string(),
            "sim/sim/random-16x4/closed-loop/c3"
        );
    }

    #[test]
    fn an_interrupt_ends_the_sweep_after_the_level_it_stopped() {
        let (result, kept) = sweep(&["--max-concurrency", "2,3", "--trials", "3"], true);
        let sweep = result.unwrap();
        assert_eq!(sweep.levels.len(), 1);
        let level = &sweep.levels[0];
        assert_eq!((level.trials, level.status()), (1, "interrupted"));
        assert_eq!(sweep.stop(), Some(&Stop::Interrupted));
        assert!(!sweep.completed());
        assert_eq!(kept.hooks.last().map(String::as_str), Some("sweep"));
    }

    #[test]
    fn an_interrupted_warm_up_measures_nothing() {
        let (result, kept) = sweep(&["--num-warmups", "2"], true);
        assert!(matches!(result, Err(Error::Interrupted)));
        assert_eq!(kept.hooks, ["warm-up 2"]);
    }
}

//! The sweep: the warm-up, then each concurrency level's trials, each trial
//! driven once and the level summarized, analysed and judged into a typed
//! [`LevelResult`]. No I/O: the sweep tells the outputs what happened through
//! [`Reporters`], and is handed everything else (engine, requests, baselines).
//! How trials are kept apart (one engine, a fresh one each, a fresh process
//! each) is [`isolation`]'s.
//!
//! `workload -> schedule -> driver <-> engine -> records -> metrics -> stats`
//! all meet here, once per trial.

pub mod isolation;
pub mod level;

use std::sync::atomic::AtomicBool;

pub use level::{
    BaselineChanges, LevelResult, LevelStart, SpeedOfLight, Stop, SweepResult, TrialStart,
};

use crate::analysis::speed_of_light::level::{self as light, Setup};
use crate::analysis::{self, change, validity};
use crate::config::RunConfig;
use crate::driver::{self, DriveOptions, NoProgress, Progress, TrialOutcome};
use crate::engine::{self, Engine, EngineOptions, RequestId};
use crate::error::Error;
use crate::metrics::{LevelSamples, LevelSummary, Metric};
use crate::records::{Discard, RecordSink, RequestRecord};
use crate::reporter::Reporters;
use crate::schedule::{Schedule, ScheduleSpec};
use crate::stats::noise::NoiseThreshold;
use crate::workload::WorkItem;
use isolation::{TrialIsolation, TrialWorker};

/// One level's baseline (`--baseline`): its samples, and the noise
/// thresholds calibrated with it (empty when there are none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Baseline {
    pub samples: LevelSamples,
    pub calibrated: Vec<(Metric, NoiseThreshold)>,
}

/// The order of two sides' trials run in one invocation: A B B A A B B A
/// ..., so that drift of the machine over the run falls on both alike
/// (a linear drift exactly, over each block of four). `true` is side A.
pub fn interleaved(trials_a_side: usize) -> Vec<bool> {
    (0..2 * trials_a_side)
        .map(|k| k % 4 == 0 || k % 4 == 3)
        .collect()
}

/// One setup and the engine its trials run on: this run's, or the stored
/// baseline's that `--rerun-baseline` runs again beside it.
struct Arm<'a> {
    config: &'a RunConfig,
    /// The engine of this process; `None` once trials run in processes of
    /// their own.
    engine: Option<Box<dyn Engine>>,
    /// Trials begun so far, over every level.
    begun: u64,
    /// The next request id: ids stay unique across the trials (and the
    /// warm-up) that share one engine.
    next_id: RequestId,
}

impl<'a> Arm<'a> {
    fn new(config: &'a RunConfig, engine: Box<dyn Engine>) -> Self {
        Self {
            config,
            engine: Some(engine),
            begun: 0,
            next_id: 0,
        }
    }

    /// Runs the warm-up requests at the first level's concurrency and
    /// discards them.
    fn warm_up(
        &mut self,
        engine: &mut dyn Engine,
        warm_up: &[WorkItem],
        stop: &AtomicBool,
    ) -> Result<(), Error> {
        if warm_up.is_empty() {
            return Ok(());
        }
        let first = self.config.concurrency_levels[0];
        let schedule = Schedule::all_at_once(warm_up.len(), first);
        let outcome = self.drive(
            engine,
            warm_up,
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

    /// Warms the engine of this process up.
    fn warm_up_here(&mut self, warm_up: &[WorkItem], stop: &AtomicBool) -> Result<(), Error> {
        let mut engine = self.engine.take().expect("an arm starts with an engine");
        let warmed = self.warm_up(engine.as_mut(), warm_up, stop);
        self.engine = Some(engine);
        warmed
    }

    /// One trial, kept apart from the others as `--trial-isolation` says.
    #[allow(clippy::too_many_arguments)]
    fn trial(
        &mut self,
        requests: (&[WorkItem], &[WorkItem]),
        level: usize,
        index: usize,
        schedule: &Schedule,
        records: &mut dyn RecordSink,
        progress: &mut dyn Progress,
        stop: &AtomicBool,
    ) -> Result<TrialOutcome, Error> {
        let (items, warm_up) = requests;
        let ordinal = self.begun;
        self.begun += 1;
        let fresh = ordinal > 0;
        match self.config.trial_isolation {
            TrialIsolation::Process if fresh => {
                self.close_engine()?;
                let relaunch = self.config.relaunch.as_ref().ok_or_else(|| {
                    Error::Usage(
                        "--trial-isolation process needs the command line to re-run".into(),
                    )
                })?;
                let worker = TrialWorker {
                    output: isolation::worker_file(ordinal),
                    level,
                    index,
                    ordinal,
                };
                return isolation::relaunched(relaunch, &worker, records);
            }
            TrialIsolation::Engine if fresh => {
                self.close_engine()?;
                let mut engine = self.open_engine(ordinal)?;
                self.warm_up(engine.as_mut(), warm_up, stop)?;
                self.engine = Some(engine);
            }
            _ => {}
        }
        let mut engine = self
            .engine
            .take()
            .expect("an arm holds an engine until trials leave it");
        let reset = engine.reset_prefix_cache();
        let outcome =
            reset.map(|()| self.drive(engine.as_mut(), items, schedule, records, progress, stop));
        self.engine = Some(engine);
        outcome.map_err(|e| Error::Engine(e.to_string()))
    }

    /// A fresh engine for the trial after `ordinal` others.
    fn open_engine(&self, ordinal: u64) -> Result<Box<dyn Engine>, Error> {
        let options = EngineOptions {
            first_trial: ordinal,
            ..self.config.engine_options.clone()
        };
        Ok(engine::open(&self.config.engine, &options)?)
    }

    /// Shuts the engine of this process down, if one is open.
    fn close_engine(&mut self) -> Result<(), Error> {
        match self.engine.take() {
            Some(mut engine) => engine.shutdown().map_err(|e| Error::Engine(e.to_string())),
            None => Ok(()),
        }
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
}

/// One sweep of one engine: what it runs and what it compares with.
pub struct Sweep<'a> {
    pub config: &'a RunConfig,
    /// The measured requests of every trial.
    pub items: &'a [WorkItem],
    /// `--num-warmups` requests, run once before the first level, and again
    /// on every fresh engine.
    pub warm_up: &'a [WorkItem],
    /// `--baseline`: one level's baseline per level, in level order; empty without.
    pub baselines: &'a [Baseline],
    /// The model and GPU of the speed of light, or why there is none.
    pub light: &'a Setup,
    /// `--rerun-baseline`: the stored baseline's setup, run again with its
    /// trials interleaved with this run's; its engine comes with `run`.
    pub rerun: Option<(&'a RunConfig, Box<dyn Engine>)>,
}

/// A level's trials: this run's, and the re-run baseline's.
#[derive(Default)]
struct LevelTrials {
    outcomes: Vec<TrialOutcome>,
    baseline: Vec<TrialOutcome>,
}

impl<'a> Sweep<'a> {
    pub fn new(
        config: &'a RunConfig,
        items: &'a [WorkItem],
        warm_up: &'a [WorkItem],
        baselines: &'a [Baseline],
        light: &'a Setup,
    ) -> Self {
        Self {
            config,
            items,
            warm_up,
            baselines,
            light,
            rerun: None,
        }
    }

    /// Runs every level on `engine` (and the fresh engines or processes the
    /// trial isolation asks for), stopping after the level that was
    /// interrupted, failed, or whose outputs failed; then shuts the last
    /// engines down. `Err` when nothing could be measured (the warm-up
    /// failed) or a trial could not start; the second result is the
    /// shutdown's.
    pub fn run(
        &mut self,
        engine: Box<dyn Engine>,
        reporters: &mut Reporters,
        stop: &AtomicBool,
    ) -> (Result<SweepResult, Error>, Result<(), Error>) {
        let mut arms = vec![Arm::new(self.config, engine)];
        if let Some((config, engine)) = self.rerun.take() {
            arms.push(Arm::new(config, engine));
        }
        let swept = self.levels(&mut arms, reporters, stop);
        let shutdowns: Vec<Result<(), Error>> = arms.iter_mut().map(Arm::close_engine).collect();
        (swept, shutdowns.into_iter().collect())
    }

    fn levels(
        &self,
        arms: &mut [Arm<'_>],
        reporters: &mut Reporters,
        stop: &AtomicBool,
    ) -> Result<SweepResult, Error> {
        if !self.warm_up.is_empty() {
            reporters.warm_up_started(self.warm_up.len());
        }
        for arm in arms.iter_mut() {
            arm.warm_up_here(self.warm_up, stop)?;
        }
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
            let (trials, schedule) = self.run_level(arms, &start, reporters, stop)?;
            let level = self.level_result(start, schedule, &trials);
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

    /// In a trial worker (`--trial-isolation process`): warms `engine` up
    /// and runs the one trial `worker` names, as the parent's sweep would.
    pub fn worker_trial(
        &self,
        engine: Box<dyn Engine>,
        worker: &TrialWorker,
        progress: &mut dyn Progress,
        stop: &AtomicBool,
    ) -> (Result<TrialOutcome, Error>, Result<(), Error>) {
        let mut arm = Arm::new(self.config, engine);
        let outcome = self
            .config
            .concurrency_levels
            .get(worker.level)
            .copied()
            .map(|c| {
                arm.warm_up_here(self.warm_up, stop)?;
                let schedule = self.schedule(c, worker.index);
                arm.trial(
                    (self.items, self.warm_up),
                    worker.level,
                    worker.index,
                    &schedule,
                    &mut Discard,
                    progress,
                    stop,
                )
            });
        let outcome = outcome.unwrap_or_else(|| {
            Err(Error::Usage(format!(
                "trial worker: no level {}",
                worker.level
            )))
        });
        (outcome, arm.close_engine())
    }

    /// Trial `index` of a level at `concurrency`: a fresh schedule seed per
    /// trial, the same requests.
    fn schedule(&self, concurrency: Option<usize>, index: usize) -> Schedule {
        let spec = ScheduleSpec {
            rate: self.config.rate,
            burstiness: self.config.burstiness,
            max_concurrency: concurrency,
        };
        let seed = self.config.seed.wrapping_add(index as u64);
        Schedule::build(&spec, self.items.len(), seed)
    }

    /// Runs `--trials` trials of one level (interleaved A B B A with the
    /// re-run baseline's, when there is one), stopping early on an
    /// interrupt or an engine failure.
    fn run_level(
        &self,
        arms: &mut [Arm<'_>],
        start: &LevelStart,
        reporters: &mut Reporters,
        stop: &AtomicBool,
    ) -> Result<(LevelTrials, &'static str), Error> {
        let trials = self.config.trials;
        let order = match arms.len() {
            1 => vec![false; trials],
            _ => interleaved(trials),
        };
        let mut level = LevelTrials::default();
        let mut schedule_kind = "";
        for baseline in order {
            let done = match baseline {
                true => &mut level.baseline,
                false => &mut level.outcomes,
            };
            let index = done.len();
            let schedule = self.schedule(start.concurrency, index);
            schedule_kind = schedule.kind();
            reporters.trial_started(&TrialStart {
                level: start.clone(),
                index,
                trials,
                baseline,
            })?;
            let (records, progress) = reporters.live();
            let mut discard = Discard;
            let records: &mut dyn RecordSink = if baseline { &mut discard } else { records };
            let arm = &mut arms[usize::from(baseline)];
            let requests = (self.items, self.warm_up);
            let outcome = arm.trial(
                requests,
                start.index,
                index,
                &schedule,
                records,
                progress,
                stop,
            );
            reporters.trial_done();
            let outcome = outcome?;
            let stopped = outcome.interrupted || outcome.fatal_error.is_some();
            done.push(outcome);
            if stopped {
                break;
            }
        }
        if level.outcomes.is_empty() {
            // Stopped in the baseline's first trial: the level has what it ran.
            level.outcomes = std::mem::take(&mut level.baseline);
        }
        Ok((level, schedule_kind))
    }

    /// Summary, samples, intervals, changes against the baseline, warnings
    /// and speed of light of a level's trials.
    fn level_result(
        &self,
        start: LevelStart,
        schedule: &'static str,
        trials: &LevelTrials,
    ) -> LevelResult {
        let config = self.config;
        let outcomes = &trials.outcomes;
        let records: Vec<&[RequestRecord]> =
            outcomes.iter().map(|t| t.records.as_slice()).collect();
        let percentiles = config.percentiles();
        let summary = LevelSummary::of_trials(&records, &percentiles, &config.slos);
        let samples = samples_of(outcomes);
        let analysis = analysis::analyze(&samples, &config.statistics.bootstrap);
        let name = config.baselines.against.clone().unwrap_or_default();
        let baseline = self.baselines.get(start.index).map(|base| {
            let (base_samples, name) = match trials.baseline.is_empty() {
                true => (base.samples.clone(), name),
                false => (
                    samples_of(&trials.baseline),
                    format!("{name} (re-run, interleaved)"),
                ),
            };
            BaselineChanges {
                name,
                changes: change::between(
                    &base_samples,
                    &samples,
                    &Metric::ALL,
                    &config.statistics,
                    &base.calibrated,
                ),
            }
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
            samples.completed(),
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

/// The samples of a level's trials.
fn samples_of(outcomes: &[TrialOutcome]) -> LevelSamples {
    let mut samples = LevelSamples::default();
    for trial in outcomes {
        samples.add_trial(&trial.records);
    }
    samples
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
        let engine = engine::open(&config.engine, &config.engine_options).unwrap();
        let light = Setup::Skipped("no model".into());
        let kept = Rc::new(RefCell::new(Kept::default()));
        let mut reporters = Reporters::new(vec![Box::new(Keeper(kept.clone()))]);
        let flag = AtomicBool::new(stop);
        let mut sweep = Sweep::new(&config, &items, &warm_up, &[], &light);
        let (result, shutdown) = sweep.run(engine, &mut reporters, &flag);
        shutdown.unwrap();
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
            assert_eq!(level.samples.completed(), 12);
            assert_eq!(level.samples.latencies.len(), 2, "latencies kept by trial");
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

#[cfg(test)]
mod interleaving {
    use super::interleaved;

    /// A B B A A B B A: each side gets as many trials, and a drift that is
    /// linear in the trial's position adds the same total to both sides over
    /// every block of four.
    #[test]
    fn both_sides_take_turns_so_a_linear_drift_falls_on_both_alike() {
        let order = interleaved(6);
        let a: Vec<usize> = (0..12).filter(|&k| order[k]).collect();
        let b: Vec<usize> = (0..12).filter(|&k| !order[k]).collect();
        assert_eq!(a, [0, 3, 4, 7, 8, 11]);
        assert_eq!(b, [1, 2, 5, 6, 9, 10]);
        assert_eq!(a.iter().sum::<usize>(), b.iter().sum::<usize>());
        assert_eq!(interleaved(1), [true, false]);
        assert!(interleaved(0).is_empty());
    }
}

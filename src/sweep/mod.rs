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

use std::sync::atomic::{AtomicBool, Ordering};

pub use level::{
    BaselineChanges, LevelResult, LevelStart, SpeedOfLight, Stop, SweepResult, TrialStart,
};

use crate::analysis::speed_of_light::level::{self as light, Setup};
use crate::analysis::{self, change, validity};
use crate::config::RunConfig;
use crate::driver::{self, DriveOptions, NoProgress, Progress, TrialOutcome};
use crate::engine::{EngineOptions, OpenEngine, RequestId};
use crate::error::Error;
use crate::metrics::traffic::{self, PrefixReuse, RateProfile, Traffic};
use crate::metrics::{self, LevelSamples, LevelSummary, Metric};
use crate::records::{Discard, RecordSink, RequestRecord};
use crate::reporter::Reporters;
use crate::schedule::{Schedule, ScheduleSpec};
use crate::stats::noise::NoiseThreshold;
use crate::workload::{Workload, WorkloadSpec};
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
    /// The engine of this process, shut down when dropped; `None` once
    /// trials run in processes of their own.
    engine: Option<OpenEngine>,
    /// Trials begun so far, over every level.
    begun: u64,
    /// The next request id: ids stay unique across the trials (and the
    /// warm-up) that share one engine.
    next_id: RequestId,
}

impl<'a> Arm<'a> {
    fn new(config: &'a RunConfig, engine: OpenEngine) -> Self {
        Self {
            config,
            engine: Some(engine),
            begun: 0,
            next_id: 0,
        }
    }

    /// Runs the warm-up requests at the first level's concurrency and
    /// discards them; `Ok(false)` when a stop signal cut it short.
    fn warm_up(
        &mut self,
        engine: &mut OpenEngine,
        warm_up: &Workload,
        stop: &AtomicBool,
    ) -> Result<bool, Error> {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        if warm_up.is_empty() {
            return Ok(true);
        }
        let first = self.config.concurrency_levels[0];
        let schedule = Schedule::all_at_once(warm_up.sessions().len(), first);
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
            None => Ok(!outcome.interrupted),
        }
    }

    /// Warms the engine of this process up; `Ok(false)` when a stop signal
    /// cut it short.
    fn warm_up_here(&mut self, warm_up: &Workload, stop: &AtomicBool) -> Result<bool, Error> {
        // Cannot fail: an arm holds its engine until trials run in processes.
        let mut engine = self.engine.take().expect("an arm starts with an engine");
        let warmed = self.warm_up(&mut engine, warm_up, stop);
        self.engine = Some(engine);
        warmed
    }

    /// One trial, kept apart from the others as `--trial-isolation` says.
    #[allow(clippy::too_many_arguments)]
    fn trial(
        &mut self,
        requests: (&Workload, &Workload),
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
                let mut engine = self.open_engine(ordinal, requests)?;
                // Stopped in the fresh engine's warm-up, the trial below
                // sees the stop at once and ends interrupted.
                let warmed = self.warm_up(&mut engine, warm_up, stop);
                self.engine = Some(engine);
                warmed?;
            }
            _ => {}
        }
        // Cannot fail: an arm holds its engine until trials leave it.
        let mut engine = self
            .engine
            .take()
            .expect("an arm holds an engine until trials leave it");
        let reset = engine.get().reset_prefix_cache();
        let outcome =
            reset.map(|()| self.drive(&mut engine, items, schedule, records, progress, stop));
        self.engine = Some(engine);
        outcome.map_err(|e| Error::Engine(e.to_string()))
    }

    /// A fresh engine for the trial after `ordinal` others, handing over
    /// its answers when the conversations need them.
    fn open_engine(
        &self,
        ordinal: u64,
        (items, warm_up): (&Workload, &Workload),
    ) -> Result<OpenEngine, Error> {
        let options = EngineOptions {
            first_trial: ordinal,
            ..self.config.engine_options.clone()
        };
        let mut engine = OpenEngine::open(&self.config.engine, &options)?;
        if items.needs_answer_ids() || warm_up.needs_answer_ids() {
            engine.get().hand_over_answers()?;
        }
        Ok(engine)
    }

    /// Shuts the engine of this process down, if one is open.
    fn close_engine(&mut self) -> Result<(), Error> {
        match self.engine.take() {
            Some(mut engine) => engine
                .shutdown()
                .map_err(|e| Error::Engine(format!("engine shutdown failed: {e}"))),
            None => Ok(()),
        }
    }

    /// One trial of `items` on `schedule`.
    fn drive(
        &mut self,
        engine: &mut OpenEngine,
        items: &Workload,
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
        driver::drive_workload(
            engine.get(),
            items,
            schedule,
            &options,
            records,
            stop,
            progress,
        )
    }
}

/// One sweep of one engine: what it runs and what it compares with.
pub struct Sweep<'a> {
    pub config: &'a RunConfig,
    /// The measured requests of every trial.
    pub items: &'a Workload,
    /// `--num-warmups` requests (sessions), run once before the first level,
    /// and again on every fresh engine.
    pub warm_up: &'a Workload,
    /// `--baseline`: one level's baseline per level, in level order; empty without.
    pub baselines: &'a [Baseline],
    /// The model and GPU of the speed of light, or why there is none.
    pub light: &'a Setup,
    /// `--rerun-baseline`: the stored baseline's setup, run again with its
    /// trials interleaved with this run's; its engine comes with `run`.
    pub rerun: Option<(&'a RunConfig, OpenEngine)>,
}

/// A level's trials: this run's, and the re-run baseline's.
#[derive(Default)]
struct LevelTrials {
    outcomes: Vec<TrialOutcome>,
    baseline: Vec<TrialOutcome>,
    /// Trials that submitted well below their schedule's rate.
    rate_warnings: Vec<String>,
}

impl<'a> Sweep<'a> {
    pub fn new(
        config: &'a RunConfig,
        items: &'a Workload,
        warm_up: &'a Workload,
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
    /// interrupted, failed, or whose outputs failed; a stop signal between
    /// levels starts no further one. Then shuts the last engines down.
    /// `Err` when nothing could be measured (the warm-up failed) or a trial
    /// could not start; an interrupted warm-up is an interrupted sweep of no
    /// level. The second result is the shutdown's.
    pub fn run(
        &mut self,
        engine: OpenEngine,
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
        let mut sweep = SweepResult::default();
        for arm in arms.iter_mut() {
            if !arm.warm_up_here(self.warm_up, stop)? {
                sweep.interrupted = true;
                return Ok(sweep);
            }
        }
        let levels = &self.config.concurrency_levels;
        for (index, &concurrency) in levels.iter().enumerate() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let start = LevelStart {
                index,
                levels: levels.len(),
                concurrency,
                requests: self.items.len(),
            };
            reporters.level_started(&start);
            let (trials, schedule) = self.run_level(arms, &start, reporters, stop)?;
            let mut level = self.level_result(start, schedule, &trials);
            if trials.outcomes.len() < self.config.trials && level.stop.is_none() {
                // A stop signal after a trial started no further one.
                level.stop = Some(Stop::Interrupted);
                level.failure = None;
            }
            level.warnings.extend(trials.rate_warnings);
            reporters.level_done(&level);
            let stopped = level.stop.is_some();
            sweep.levels.push(level);
            if stopped || reporters.failed() {
                break;
            }
        }
        sweep.output_failed = reporters.failed();
        sweep.interrupted = stop.load(Ordering::SeqCst);
        reporters.sweep_done(&sweep);
        Ok(sweep)
    }

    /// In a trial worker (`--trial-isolation process`): warms `engine` up
    /// and runs the one trial `worker` names, as the parent's sweep would.
    pub fn worker_trial(
        &self,
        engine: OpenEngine,
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
                // Stopped in the warm-up, the trial sees the stop at once
                // and ends interrupted.
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
        let seed = self.config.seed.wrapping_add(index as u64);
        schedule(self.config, self.items, concurrency, seed)
    }

    /// Runs `--trials` trials of one level (interleaved A B B A with the
    /// re-run baseline's, when there is one), stopping early on an
    /// interrupt or an engine failure; a stop signal after a trial starts
    /// no further one.
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
        for (k, baseline) in order.into_iter().enumerate() {
            if k > 0 && stop.load(Ordering::SeqCst) {
                break;
            }
            let done = match baseline {
                true => &mut level.baseline,
                false => &mut level.outcomes,
            };
            let index = done.len();
            let schedule = self.schedule(start.concurrency, index);
            schedule_kind = schedule_label(self.config, &schedule);
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
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(e) => {
                    reporters.trial_done(&[]);
                    return Err(e);
                }
            };
            reporters.trial_done(&outcome.records);
            if !baseline {
                level
                    .rate_warnings
                    .extend(rate_warning(&outcome, &schedule));
            }
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
        let traffic = self.traffic(&records);
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
        // Cannot fail: a level runs at least one trial (--trials >= 1).
        let last = outcomes.last().expect("a level runs at least one trial");
        let stop = match (&last.fatal_error, last.interrupted) {
            (Some(message), _) => Some(Stop::EngineFailed(message.clone())),
            (None, true) => Some(Stop::Interrupted),
            (None, false) => None,
        };
        let failure_reasons = metrics::failure_reasons(&records);
        // A level cut short reports why it stopped instead of a verdict.
        let failure = stop
            .is_none()
            .then(|| metrics::failure_verdict(&summary, &failure_reasons, config.max_failure_ratio))
            .flatten();
        let mut warnings = self.warnings(outcomes, &samples, &percentiles);
        let short = metrics::short_outputs(&records);
        if config.ignore_eos && short > 0 {
            warnings.push(format!(
                "{short} completed request(s) returned fewer output tokens than asked \
                 under --ignore-eos: the engine stopped early, so lengths differ from the workload"
            ));
        }
        LevelResult {
            failure,
            failure_reasons,
            benchmark: config.benchmark_id(start.concurrency),
            start,
            schedule,
            trials: outcomes.len(),
            stop,
            warnings,
            speed_of_light: self.speed_of_light(&summary),
            summary,
            samples,
            analysis,
            baseline,
            traffic,
        }
    }

    /// The rate over time (first trial), prefix reuse and rounds of a level.
    fn traffic(&self, records: &[&[RequestRecord]]) -> Traffic {
        let planned = planned_rates(self.config, self.items);
        Traffic {
            rate_over_time: records
                .first()
                .and_then(|first| RateProfile::of(first, planned.as_deref())),
            prefix_reuse: PrefixReuse::of(records),
            per_round: traffic::per_round(records),
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
            .map(|e| {
                format!(
                    "detailed records could not be written as requests finished ({e}): \
                     the trial's records were written whole when it ended"
                )
            })
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

/// The schedule of one trial of `workload` at `concurrency`.
pub fn schedule(
    config: &RunConfig,
    workload: &Workload,
    concurrency: Option<usize>,
    seed: u64,
) -> Schedule {
    if let Some(arrivals) = &workload.arrivals {
        return Schedule::replay(arrivals.clone(), concurrency);
    }
    let spec = ScheduleSpec {
        rate: config.rate,
        burstiness: config.burstiness,
        max_concurrency: concurrency,
        ramp_up: config.ramp_up,
        pace: config.pace,
    };
    Schedule::build(&spec, workload.sessions().len(), seed)
}

/// How a level's schedule is named in outputs: `offline`, `closed-loop`,
/// `open-loop`, or `ramp-up`, `paced`, `trace-replay`.
pub fn schedule_label(config: &RunConfig, schedule: &Schedule) -> &'static str {
    if config.ramp_up.is_some() {
        "ramp-up"
    } else if schedule.round_period.is_some() {
        "paced"
    } else if matches!(config.workload, WorkloadSpec::Trace(_)) {
        "trace-replay"
    } else {
        schedule.kind()
    }
}

/// With a ramp, each request's planned rate (a session's first round gets
/// its session's; later rounds none).
fn planned_rates(config: &RunConfig, workload: &Workload) -> Option<Vec<Option<f64>>> {
    let ramp = config.ramp_up?;
    let sessions = workload.sessions();
    let mut rates = vec![None; workload.len()];
    for (s, range) in sessions.iter().enumerate() {
        rates[range.start] = Some(ramp.rate(s, sessions.len()));
    }
    Some(rates)
}

/// Below this share of its schedule's rate, a trial's requests did not
/// arrive as asked: it is not a measurement at that rate.
const RATE_KEPT_SHARE: f64 = 0.9;

/// A warning when an open-loop trial submitted its requests well below the
/// rate its schedule asked for (a concurrency cap reached, a driver or
/// engine that could not keep up).
fn rate_warning(outcome: &TrialOutcome, schedule: &Schedule) -> Option<String> {
    if schedule.closed_loop || schedule.kind() != "open-loop" {
        return None;
    }
    let arrivals: Vec<u64> = schedule
        .arrivals
        .iter()
        .map(|a| u64::try_from(a.as_nanos()).unwrap_or(u64::MAX))
        .collect();
    let (achieved, scheduled) = metrics::submission_rates(&outcome.records, &arrivals)?;
    (achieved < RATE_KEPT_SHARE * scheduled).then(|| {
        format!(
            "requests were submitted at {achieved:.2} req/s, {:.0}% of the {scheduled:.2} req/s \
             the schedule asked for: the concurrency cap or the engine held them back, \
             so this is not a measurement at the requested rate",
            achieved / scheduled * 100.0
        )
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc;

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

    /// Keeps what it is told; raises the stop flag at the hook `stop_at`,
    /// as a signal arriving at that moment would.
    struct Keeper {
        kept: Rc<RefCell<Kept>>,
        stop_at: Option<&'static str>,
        flag: Arc<AtomicBool>,
    }

    impl Keeper {
        fn hook(&self, hook: String) {
            if self.stop_at == Some(hook.as_str()) {
                self.flag.store(true, Ordering::SeqCst);
            }
            self.kept.borrow_mut().hooks.push(hook);
        }
    }

    impl Reporter for Keeper {
        fn warm_up_started(&mut self, requests: usize) -> Result<(), Error> {
            self.hook(format!("warm-up {requests}"));
            Ok(())
        }

        fn level_started(&mut self, level: &LevelStart) -> Result<(), Error> {
            self.hook(format!("level {}", level.index));
            Ok(())
        }

        fn trial_started(&mut self, trial: &TrialStart) -> Result<(), Error> {
            self.hook(trial.label());
            Ok(())
        }

        fn level_done(&mut self, level: &LevelResult) -> Result<(), Error> {
            self.hook(format!("done {}", level.start.index));
            self.kept.borrow_mut().levels.push(level.clone());
            Ok(())
        }

        fn sweep_done(&mut self, sweep: &SweepResult) -> Result<(), Error> {
            self.hook("sweep".into());
            self.kept.borrow_mut().sweep = Some(sweep.clone());
            Ok(())
        }
    }

    /// Sweeps the sim over `args`, the flags after `run`, raising the stop
    /// flag at the hook `stop_at`.
    fn sweep(args: &[&str], stop_at: Option<&'static str>) -> (Result<SweepResult, Error>, Kept) {
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
        let engine = engine::OpenEngine::open(&config.engine, &config.engine_options).unwrap();
        let light = Setup::Skipped("no model".into());
        let kept = Rc::new(RefCell::new(Kept::default()));
        let flag = Arc::new(AtomicBool::new(false));
        let keeper = Keeper {
            kept: kept.clone(),
            stop_at,
            flag: flag.clone(),
        };
        let mut reporters = Reporters::new(vec![Box::new(keeper)]);
        let mut sweep = Sweep::new(&config, &items, &warm_up, &[], &light);
        let (result, shutdown) = sweep.run(engine, &mut reporters, &flag);
        shutdown.unwrap();
        assert_eq!(flag.load(Ordering::Relaxed), stop_at.is_some());
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
            None,
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
        let args = ["--max-concurrency", "2,3", "--trials", "3"];
        let (result, kept) = sweep(&args, Some("level 1/2 trial 1/3"));
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
        let (result, kept) = sweep(&["--num-warmups", "2"], Some("warm-up 2"));
        let sweep = result.unwrap();
        assert!(sweep.interrupted && sweep.levels.is_empty(), "{sweep:?}");
        assert!(!sweep.completed());
        assert_eq!(kept.hooks, ["warm-up 2"]);
    }

    #[test]
    fn a_stop_between_levels_starts_no_further_level() {
        let args = ["--max-concurrency", "2,3"];
        let (result, kept) = sweep(&args, Some("done 0"));
        let sweep = result.unwrap();
        assert_eq!(kept.hooks, ["level 0", "level 1/2", "done 0", "sweep"]);
        let [level] = &sweep.levels[..] else {
            panic!("one level: {:?}", sweep.levels.len());
        };
        // The level had run to its end: its results are whole, not cut short.
        assert_eq!(level.status(), "ok");
        assert_eq!(level.summary.completed, 6);
        assert!(sweep.interrupted && !sweep.completed());
        assert_eq!(sweep.stop(), None);
    }

    #[test]
    fn a_stop_after_a_trial_cuts_the_level_short_with_the_trials_that_ran() {
        let args = ["--trials", "3"];
        let (result, _) = sweep(&args, Some("level 1/1 trial 2/3"));
        let level = &result.unwrap().levels[0];
        assert_eq!((level.trials, level.status()), (2, "interrupted"));
        assert_eq!(level.summary.completed, 6, "the first trial's, whole");
        assert_eq!(level.samples.trials.len(), 2);
    }

    #[test]
    fn a_level_where_every_request_failed_fails_closed_with_its_reasons() {
        let args = ["--engine-arg", "kv_capacity_tokens=10"];
        let (result, _) = sweep(&args, None);
        let level = &result.unwrap().levels[0];
        assert_eq!(level.status(), "failed");
        assert_eq!((level.summary.completed, level.summary.failed), (0, 6));
        let why = level.failure.as_deref().unwrap();
        assert!(
            why.starts_with("no request completed (6 failed); most common reasons: 6x '"),
            "{why}"
        );
        assert_eq!(
            level.failure_reasons.len(),
            1,
            "{:?}",
            level.failure_reasons
        );
        assert_eq!(level.failure_reasons[0].count, 6);
        assert_eq!(level.summary.ttft_ms.count, 0, "undefined, not 0");
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

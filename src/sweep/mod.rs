//! The sweep: the warm-up, then each concurrency level's trials, each trial
//! driven once and the level summarized, analysed and judged into a typed
//! [`LevelResult`]. No I/O: the sweep tells the outputs what happened through
//! [`Reporters`], and is handed everything else (engine, requests, baselines).
//!
//! `workload -> schedule -> driver <-> engine -> records -> metrics -> stats`
//! all meet here, once per trial.

pub mod level;

use std::sync::atomic::{AtomicBool, Ordering};

pub use level::{
    BaselineChanges, LevelResult, LevelStart, SpeedOfLight, Stop, SweepResult, TrialStart,
};

use crate::analysis::speed_of_light::level::{self as light, Setup};
use crate::analysis::{self, change, validity};
use crate::config::RunConfig;
use crate::driver::{self, DriveOptions, NoProgress, Progress, TrialOutcome};
use crate::engine::{Engine, RequestId};
use crate::error::Error;
use crate::metrics::traffic::{self, PrefixReuse, RateProfile, Traffic};
use crate::metrics::{self, LevelSamples, LevelSummary, Metric};
use crate::records::{Discard, RecordSink, RequestRecord};
use crate::reporter::Reporters;
use crate::schedule::{Schedule, ScheduleSpec};
use crate::workload::{Workload, WorkloadSpec};

/// One sweep of one engine: what it runs and what it compares with.
pub struct Sweep<'a> {
    pub config: &'a RunConfig,
    /// The measured requests of every trial.
    pub items: &'a Workload,
    /// `--num-warmups` requests (sessions), run once before the first level.
    pub warm_up: &'a Workload,
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
        items: &'a Workload,
        warm_up: &'a Workload,
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
    /// or whose outputs failed; a stop signal between levels starts no
    /// further one. `Err` when nothing could be measured (the warm-up
    /// failed) or a trial could not start; an interrupted warm-up is an
    /// interrupted sweep of no level.
    pub fn run(
        &mut self,
        engine: &mut dyn Engine,
        reporters: &mut Reporters,
        stop: &AtomicBool,
    ) -> Result<SweepResult, Error> {
        let mut sweep = SweepResult::default();
        if !self.warm_up(engine, reporters, stop)? {
            sweep.interrupted = true;
            return Ok(sweep);
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
            let level = self.run_level(start, engine, reporters, stop)?;
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

    /// Runs the warm-up requests at the first level's concurrency and
    /// discards them; `Ok(false)` when a stop signal cut it short.
    fn warm_up(
        &mut self,
        engine: &mut dyn Engine,
        reporters: &mut Reporters,
        stop: &AtomicBool,
    ) -> Result<bool, Error> {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        if self.warm_up.is_empty() {
            return Ok(true);
        }
        let first = self.config.concurrency_levels[0];
        let schedule = Schedule::all_at_once(self.warm_up.sessions().len(), first);
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
            None => Ok(!outcome.interrupted),
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
        let mut outcomes = Vec::new();
        let mut rate_warnings = Vec::new();
        let mut schedule_kind = "";
        for index in 0..trials {
            // A stop signal after a trial starts no further one; the level
            // is then cut short (interrupted) unless its last trial had run.
            if index > 0 && stop.load(Ordering::SeqCst) {
                break;
            }
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
            let schedule = schedule(self.config, self.items, start.concurrency, seed);
            schedule_kind = schedule_label(self.config, &schedule);
            reporters.trial_started(&trial)?;
            let (records, progress) = reporters.live();
            let items = self.items;
            let outcome = self.drive(engine, items, &schedule, records, progress, stop);
            reporters.trial_done(&outcome.records);
            rate_warnings.extend(rate_warning(&outcome, &schedule));
            let stopped = outcome.interrupted || outcome.fatal_error.is_some();
            outcomes.push(outcome);
            if stopped {
                break;
            }
        }
        let mut level = self.level_result(start, schedule_kind, &outcomes);
        if outcomes.len() < trials && level.stop.is_none() {
            level.stop = Some(Stop::Interrupted);
            level.failure = None;
        }
        level.warnings.extend(rate_warnings);
        Ok(level)
    }

    /// One trial of `items` on `schedule`.
    fn drive(
        &mut self,
        engine: &mut dyn Engine,
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
        driver::drive_workload(engine, items, schedule, &options, records, stop, progress)
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
        let traffic = self.traffic(&records);
        let baseline = self.baselines.get(start.index).map(|base| BaselineChanges {
            name: config.baselines.against.clone().unwrap_or_default(),
            changes: change::between(base, &samples, &Metric::ALL, &config.statistics),
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
        let mut engine = engine::open(&config.engine, &config.engine_options).unwrap();
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
        let result = sweep.run(engine.as_mut(), &mut reporters, &flag);
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

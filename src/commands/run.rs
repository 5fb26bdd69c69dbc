//! `enginebench run`: one engine, one workload, one level after another.
//! Checks what can be checked before anything runs (flags, the result
//! folder, the memory the workload needs), opens the engine, sets up the
//! outputs, runs the sweep, and ends with the error that matters most.
//!
//! Every way out reaches `engine.shutdown()`: the end of the sweep, an
//! error (the engine is shut down when dropped, [`OpenEngine`]), a stop
//! signal (the sweep ends, then the engine) and a second stop signal (the
//! processes it started are ended before the process exits). Processes the
//! engine left anyway are ended last (`process::children`). With
//! `--rerun-baseline` the baseline's engine is a second [`OpenEngine`];
//! with `--trial-isolation engine|process` the sweep closes and reopens
//! them per trial.

use crate::analysis::speed_of_light::level::Setup;
use crate::baseline::store;
use crate::config::{BaselineOptions, OutputOptions, RunConfig};
use crate::engine::{Engine, EngineInfo, OpenEngine};
use crate::env::Environment;
use crate::error::{usage, Error};
use crate::process::children::Children;
use crate::process::console;
use crate::process::signals::{Stop, StopSignal};
use crate::reporter::baselines::Baselines;
use crate::reporter::detailed::DetailedRecords;
use crate::reporter::export::Exports;
use crate::reporter::html::HtmlReport;
use crate::reporter::progress::ProgressDisplay;
use crate::reporter::result_files::{ResultFiles, RunFacts};
use crate::reporter::terminal::{BlockOptions, Terminal};
use crate::reporter::{Reporter, Reporters};
use crate::results::fs::OutputDir;
use crate::results::names::FileNames;
use crate::schedule::concurrency_label;
use crate::sweep::isolation::{Relaunch, TrialFile, TrialWorker};
use crate::sweep::{self, Baseline, LevelStart, Sweep, SweepResult, TrialStart};
use crate::workload::{self, Workload};

/// Warm-up prompts come from another seed so they cannot prime a prefix cache.
const WARMUP_SEED_SALT: u64 = 0x5741_524d_5550;

/// Runs `config`, stopped by SIGINT, SIGTERM or SIGHUP; ends whatever
/// processes the engine left behind.
pub fn run(config: &RunConfig) -> Result<(), Error> {
    if config.dry_run {
        return super::dry_run::run(config);
    }
    on_signals(|stop| run_until(config, stop))
}

/// Runs `measured` with a [`Stop`] raised by SIGINT, SIGTERM or SIGHUP,
/// then ends whatever processes the engines left behind.
pub(super) fn on_signals(measured: impl FnOnce(&Stop) -> Result<(), Error>) -> Result<(), Error> {
    let children = Children::watch();
    let stop = Stop::on_signals(children.clone());
    let result = measured(&stop);
    children.end_all();
    result
}

/// Runs `config` until done or `stop` is raised (by a signal, or by the
/// embedder that made it).
pub fn run_until(config: &RunConfig, stop: &Stop) -> Result<(), Error> {
    if let Some(worker) = &config.trial_worker {
        return trial_worker(config, worker, stop);
    }
    check_result_dir(config)?;
    let baselines = load_baselines(config)?;
    let rerun = match config.baselines.rerun {
        true => Some(rerun_config(config)?),
        false => None,
    };
    measure(
        config,
        &baselines,
        rerun.as_ref(),
        stop,
        |info, environment, date, out| reporters(config, info, environment, date, out),
    )
}

/// What every measuring command shares: builds the workloads, opens the
/// engine (and the re-run baseline's), runs the sweep with the outputs
/// `outputs` sets up (given the engine, the machine, the date and the
/// output folder), and ends with the error that matters most.
pub(super) fn measure(
    config: &RunConfig,
    baselines: &[Baseline],
    rerun: Option<&RunConfig>,
    stop: &Stop,
    outputs: impl FnOnce(&EngineInfo, Environment, &str, &OutputDir) -> Reporters,
) -> Result<(), Error> {
    workload::check_memory(
        &config.workload,
        config.num_prompts,
        config.num_warmups,
        config.trials,
    )?;
    let (items, warm_up) = workloads(config)?;
    workload::check_built(&items, config.num_warmups, config.trials)?;
    if stop.is_set() {
        return Err(interrupted(
            stop,
            "before the engine started: nothing was measured",
        ));
    }
    // Shut down when dropped, should `prepare` refuse the workload.
    let mut engine = OpenEngine::open(&config.engine, &config.engine_options)?;
    let info = engine.get().describe();
    prepare(engine.get(), &items, &warm_up)?;
    let rerun = match rerun {
        Some(baseline) => {
            let mut engine = OpenEngine::open(&baseline.engine, &baseline.engine_options)?;
            prepare(engine.get(), &items, &warm_up)?;
            Some((baseline, engine))
        }
        None => None,
    };
    let environment = Environment::detect(config.engine_options.python.as_deref());
    let light = speed_of_light(config, &environment, &info);
    let date = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    let fallback = OutputDir::temporary_fallback(&date);
    let out = OutputDir::new(&config.output.result_dir, fallback);
    let mut reporters = outputs(&info, environment, &date, &out);
    let mut sweep = Sweep::new(config, &items, &warm_up, baselines, &light);
    sweep.rerun = rerun;
    let (swept, shutdown) = sweep.run(engine, &mut reporters, stop.flag());
    let sweep = swept?;
    let mut failures = failures(config, &sweep, stop);
    failures.extend(reporters.into_errors());
    failures.extend(out.take_failure());
    if let Err(e) = shutdown {
        failures.push(e);
    }
    let mut failures = failures.into_iter();
    let Some(first) = failures.next() else {
        return Ok(());
    };
    for other in failures {
        console::warn(&other.to_string());
    }
    Err(first)
}

/// The measured workload and the warm-up's (from another seed, so that it
/// cannot prime a prefix cache).
pub(super) fn workloads(config: &RunConfig) -> Result<(Workload, Workload), Error> {
    let items = workload::build(&config.workload, config.num_prompts, config.seed)?;
    let warm_up = match config.num_warmups {
        0 => Workload::default(),
        n => workload::build(&config.workload, n, config.seed ^ WARMUP_SEED_SALT)?,
    };
    Ok((items, warm_up))
}

/// A process started for one trial (`--trial-isolation process`): opens the
/// engine as the trial's ordinal says, warms it up, runs the trial with its
/// progress on stderr, and writes the records where the parent reads them.
/// An engine failure is in the file, not the exit code, so the parent
/// keeps what was measured.
fn trial_worker(config: &RunConfig, worker: &TrialWorker, stop: &Stop) -> Result<(), Error> {
    let (items, warm_up) = workloads(config)?;
    let mut engine = OpenEngine::open(&config.engine, &config.engine_options)?;
    let info = engine.get().describe();
    prepare(engine.get(), &items, &warm_up)?;
    let light = Setup::Skipped("a trial worker".into());
    let sweep = Sweep::new(config, &items, &warm_up, &[], &light);
    let mut progress = ProgressDisplay::new(config.output.quiet);
    progress.start(&TrialStart {
        level: LevelStart {
            index: worker.level,
            levels: config.concurrency_levels.len(),
            concurrency: config
                .concurrency_levels
                .get(worker.level)
                .copied()
                .flatten(),
            requests: items.len(),
        },
        index: worker.index,
        trials: config.trials,
        baseline: false,
    });
    let (outcome, shutdown) = sweep.worker_trial(engine, worker, &mut progress, stop.flag());
    progress.finish();
    TrialFile::of(info, outcome?).write(&worker.output)?;
    shutdown
}

/// Checks the workloads against the engine's limits, and asks for the
/// engine's answers when conversations carry them: an engine that cannot
/// hand them over is refused here, before anything runs.
fn prepare(engine: &mut dyn Engine, items: &Workload, warm_up: &Workload) -> Result<(), Error> {
    let info = engine.describe();
    for requests in [items, warm_up] {
        requests.check_limits(info.max_model_len, info.vocab_size)?;
    }
    if items.needs_answer_ids() || warm_up.needs_answer_ids() {
        engine.hand_over_answers().map_err(|e| {
            usage(format!(
                "{e}: its conversations need --conversation-answers fixed"
            ))
        })?;
    }
    Ok(())
}

/// What went wrong with the sweep itself, the most important first: a stop
/// signal, the engine failing, levels that failed closed.
fn failures(config: &RunConfig, sweep: &SweepResult, stop: &Stop) -> Vec<Error> {
    let mut failures = Vec::new();
    if sweep.interrupted {
        failures.push(interrupted(stop, &interrupted_what(config, sweep)));
    }
    if let Some(sweep::Stop::EngineFailed(message)) = sweep.stop() {
        failures.push(Error::Engine(format!("engine failed mid-run: {message}")));
    }
    for level in &sweep.levels {
        if let Some(why) = &level.failure {
            failures.push(Error::LevelFailed(format!(
                "level {}/{} (max concurrency {}) fails: {why}",
                level.start.index + 1,
                level.start.levels,
                concurrency_label(level.concurrency())
            )));
        }
    }
    failures
}

/// Where the signal found the sweep, for its error line.
fn interrupted_what(config: &RunConfig, sweep: &SweepResult) -> String {
    let levels = config.concurrency_levels.len();
    let saved = match config.output.save_result {
        true => "written",
        false => "kept",
    };
    match sweep.levels.last() {
        None => "during the warm-up: nothing was measured".into(),
        Some(last) if last.stop == Some(sweep::Stop::Interrupted) => format!(
            "level {}/{levels} was cut short and its partial results {saved}, marked interrupted",
            last.start.index + 1
        ),
        Some(last) if last.start.index + 1 < levels => format!(
            "after level {}/{levels}, whose results were {saved} whole; no further level started",
            last.start.index + 1
        ),
        Some(_) => format!("after the last level; every level's results were {saved} whole"),
    }
}

fn interrupted(stop: &Stop, what: &str) -> Error {
    Error::Interrupted {
        signal: stop.signal().unwrap_or(StopSignal::Interrupt),
        what: what.to_string(),
    }
}

/// The outputs `config` asks for, in the order they are told of each level.
fn reporters(
    config: &RunConfig,
    info: &EngineInfo,
    environment: Environment,
    date: &str,
    out: &OutputDir,
) -> Reporters {
    let output = &config.output;
    let names = FileNames::new(config, date);
    let blocks = BlockOptions {
        metrics: config.percentile_metrics.clone(),
        percentiles: config.metric_percentiles.clone(),
    };
    let terminal = Terminal::new(info.clone(), blocks, config.statistics);
    let mut all: Vec<Box<dyn Reporter>> = vec![Box::new(terminal)];
    if output.save_result || config.baselines.any() {
        all.push(Box::new(Baselines {
            result_dir: output.result_dir.clone(),
            out: out.clone(),
            save_as: config.baselines.save_as.clone(),
            engine: info.clone(),
            date: date.to_string(),
            bootstrap: config.statistics.bootstrap,
            isolation: config.trial_isolation,
            relaunch: config.relaunch.clone(),
        }));
    }
    if output.save_result {
        let facts = RunFacts {
            config: config.clone(),
            engine: info.clone(),
            environment,
            date: date.to_string(),
        };
        all.push(Box::new(ResultFiles {
            facts,
            names: names.clone(),
            out: out.clone(),
        }));
        let stem = names.sweep_stem();
        let exports = Exports::new(
            out.clone(),
            &stem,
            &info.name,
            &config.model_id(),
            config.rate,
        );
        all.push(Box::new(exports));
    }
    if output.report {
        all.push(Box::new(HtmlReport {
            names: names.clone(),
            out: out.clone(),
        }));
    }
    let mut reporters = Reporters::new(all).with_progress(ProgressDisplay::new(output.quiet));
    if output.save_detailed {
        reporters = reporters.with_detailed_records(DetailedRecords::new(names, out.clone()));
    }
    reporters
}

/// The model and GPU the speed of light is computed for, or why it is not.
fn speed_of_light(config: &RunConfig, environment: &Environment, info: &EngineInfo) -> Setup {
    let options = &config.engine_options;
    let detected: Vec<String> = environment.gpus.iter().map(|g| g.name.clone()).collect();
    let setup = Setup::resolve(
        &config.gpu,
        options.model.as_deref(),
        &detected,
        options.tensor_parallel_size,
        info.simulated,
    );
    if let Setup::Skipped(why) = &setup {
        console::note(&format!("speed of light: skipped: {why}"));
    }
    setup
}

/// `--rerun-baseline`: the setup baseline NAME was saved with (its command
/// line, kept in its samples file), with this run's trials, isolation,
/// statistics and no outputs of its own, so that its trials can run
/// interleaved with this run's on the same requests.
fn rerun_config(config: &RunConfig) -> Result<RunConfig, Error> {
    let name = config.baselines.against.as_deref().unwrap_or_default();
    let first = config.benchmark_id(config.concurrency_levels[0]);
    let stored = store::load_baseline(&config.output.result_dir, &first, name)?;
    let flags = stored.command.clone().ok_or_else(|| {
        usage(format!(
            "--rerun-baseline: baseline '{name}' does not say how it was run (saved by an older version)"
        ))
    })?;
    let line = ["enginebench", "run"]
        .into_iter()
        .map(String::from)
        .chain(flags.clone());
    let bad = |e: Error| {
        usage(format!(
            "--rerun-baseline: baseline '{name}' was run with flags this version refuses: {e}"
        ))
    };
    let command = crate::cli::parse(line.map(Into::into)).map_err(|_| {
        usage(format!(
            "--rerun-baseline: baseline '{name}' was run with flags this version refuses"
        ))
    })?;
    let mut baseline = match command.into_config().map_err(bad)? {
        crate::config::Config::Run(run) => *run,
        _ => {
            return Err(usage(format!(
                "--rerun-baseline: baseline '{name}' was not saved by run"
            )))
        }
    };
    let same = config
        .concurrency_levels
        .iter()
        .all(|&c| baseline.benchmark_id(c) == config.benchmark_id(c))
        && (baseline.seed, baseline.num_prompts, baseline.num_warmups)
            == (config.seed, config.num_prompts, config.num_warmups)
        && baseline.concurrency_levels == config.concurrency_levels;
    if !same {
        return Err(usage(format!(
            "--rerun-baseline: baseline '{name}' ran another workload, schedule, seed or levels; \
             re-running it beside this run needs the same ones"
        )));
    }
    baseline.trials = config.trials;
    baseline.trial_isolation = config.trial_isolation;
    baseline.statistics = config.statistics;
    baseline.baselines = BaselineOptions::default();
    baseline.output = OutputOptions {
        save_result: false,
        save_detailed: false,
        report: false,
        ..config.output.clone()
    };
    baseline.relaunch = config.relaunch.as_ref().map(|r| Relaunch {
        program: r.program.clone(),
        flags: flags.iter().map(Into::into).collect(),
    });
    Ok(baseline)
}

/// `--baseline NAME` for every level, with the noise thresholds calibrated
/// with it, read before anything runs.
fn load_baselines(config: &RunConfig) -> Result<Vec<Baseline>, Error> {
    let Some(name) = &config.baselines.against else {
        return Ok(Vec::new());
    };
    let dir = &config.output.result_dir;
    config
        .concurrency_levels
        .iter()
        .map(|&c| {
            let id = config.benchmark_id(c);
            let samples = store::load_baseline(dir, &id, name)?.samples;
            let noise = store::load_noise(dir, &id, name)?;
            Ok(Baseline {
                samples,
                calibrated: noise.map(|n| n.by_metric()).unwrap_or_default(),
            })
        })
        .collect()
}

/// Fails before anything runs when results could not be written.
fn check_result_dir(config: &RunConfig) -> Result<(), Error> {
    let output = &config.output;
    if !(output.save_result || output.save_detailed || config.baselines.any()) {
        return Ok(());
    }
    check_writable(output)
}

/// Fails when `output`'s folder cannot be written (the file name was
/// checked as the flags were parsed).
pub(super) fn check_writable(output: &OutputOptions) -> Result<(), Error> {
    let dir = &output.result_dir;
    let unwritable =
        |e: std::io::Error| usage(format!("result dir {} is not writable: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(unwritable)?;
    let probe = dir.join(format!(".enginebench-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(unwritable)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

//! `enginebench run`: one engine, one workload, one level after another.
//! Checks what can be checked before anything runs (flags, the result
//! folder, the memory the workload needs), opens the engine, sets up the
//! outputs, runs the sweep, and ends with the error that matters most.
//!
//! Every way out reaches `engine.shutdown()`: the end of the sweep, an
//! error (the engine is shut down when dropped), a stop signal (the sweep
//! ends, then the engine) and a second stop signal (the processes it
//! started are ended before the process exits). Processes the engine left
//! anyway are ended last (`process::children`).

use crate::analysis::speed_of_light::level::Setup;
use crate::baseline::store;
use crate::config::RunConfig;
use crate::engine::{self, Engine, EngineError, EngineInfo};
use crate::env::Environment;
use crate::error::{usage, Error};
use crate::metrics::LevelSamples;
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
use crate::sweep::{self, Sweep, SweepResult};
use crate::workload::{self, Workload};

/// Warm-up prompts come from another seed so they cannot prime a prefix cache.
const WARMUP_SEED_SALT: u64 = 0x5741_524d_5550;

/// Runs `config`, stopped by SIGINT, SIGTERM or SIGHUP; ends whatever
/// processes the engine left behind.
pub fn run(config: &RunConfig) -> Result<(), Error> {
    if config.dry_run {
        return super::dry_run::run(config);
    }
    let children = Children::watch();
    let stop = Stop::on_signals(children.clone());
    let result = run_until(config, &stop);
    children.end_all();
    result
}

/// Runs `config` until done or `stop` is raised (by a signal, or by the
/// embedder that made it).
pub fn run_until(config: &RunConfig, stop: &Stop) -> Result<(), Error> {
    check_result_dir(config)?;
    workload::check_memory(
        &config.workload,
        config.num_prompts,
        config.num_warmups,
        config.trials,
    )?;
    let (items, warm_up) = workloads(config)?;
    workload::check_built(&items, config.num_warmups, config.trials)?;
    let baselines = load_baselines(config)?;
    if stop.is_set() {
        return Err(interrupted(
            stop,
            "before the engine started: nothing was measured",
        ));
    }
    // Shut down when dropped, should `prepare` refuse the workload.
    let mut engine = OpenEngine::open(config)?;
    let info = engine.get().describe();
    prepare(engine.get(), &items, &warm_up)?;
    let environment = Environment::detect(config.engine_options.python.as_deref());
    let light = speed_of_light(config, &environment, &info);
    let date = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    let fallback = OutputDir::temporary_fallback(&date);
    let out = OutputDir::new(&config.output.result_dir, fallback);
    let mut reporters = reporters(config, &info, environment, &date, &out);
    let mut sweep = Sweep::new(config, &items, &warm_up, &baselines, &light);
    let swept = sweep.run(engine.get(), &mut reporters, stop.flag());
    let shutdown = engine.shutdown();
    let sweep = swept?;
    let mut failures = failures(config, &sweep, stop);
    failures.extend(reporters.into_errors());
    failures.extend(out.take_failure());
    if let Err(e) = shutdown {
        failures.push(Error::Engine(format!("engine shutdown failed: {e}")));
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

/// The engine of a run, shut down however the run ends: by
/// [`OpenEngine::shutdown`] on the way out, or when dropped (an error, a
/// panic unwinding) if that was not reached.
struct OpenEngine {
    engine: Box<dyn Engine>,
    shut_down: bool,
}

impl OpenEngine {
    fn open(config: &RunConfig) -> Result<Self, Error> {
        Ok(Self {
            engine: engine::open(&config.engine, &config.engine_options)?,
            shut_down: false,
        })
    }

    fn get(&mut self) -> &mut dyn Engine {
        self.engine.as_mut()
    }

    fn shutdown(&mut self) -> Result<(), EngineError> {
        if std::mem::replace(&mut self.shut_down, true) {
            return Ok(());
        }
        self.engine.shutdown()
    }
}

impl Drop for OpenEngine {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            console::warn(&format!("engine shutdown failed: {e}"));
        }
    }
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

/// `--baseline NAME` for every level, read before anything runs.
fn load_baselines(config: &RunConfig) -> Result<Vec<LevelSamples>, Error> {
    let Some(name) = &config.baselines.against else {
        return Ok(Vec::new());
    };
    let dir = &config.output.result_dir;
    config
        .concurrency_levels
        .iter()
        .map(|&c| store::load_baseline(dir, &config.benchmark_id(c), name).map(|f| f.samples))
        .collect()
}

/// Fails before anything runs when results could not be written.
fn check_result_dir(config: &RunConfig) -> Result<(), Error> {
    let output = &config.output;
    if !(output.save_result || output.save_detailed || config.baselines.any()) {
        return Ok(());
    }
    let dir = &output.result_dir;
    let unwritable =
        |e: std::io::Error| usage(format!("result dir {} is not writable: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(unwritable)?;
    let probe = dir.join(format!(".enginebench-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(unwritable)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

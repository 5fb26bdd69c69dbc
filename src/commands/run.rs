//! `enginebench run`: one engine, one workload, one level after another.
//! Checks what can be checked before anything runs, opens the engine, sets
//! up the outputs, runs the sweep, and ends with the error that matters most.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::analysis::speed_of_light::level::Setup;
use crate::baseline::store;
use crate::config::{BaselineOptions, OutputOptions, RunConfig};
use crate::engine::{self, EngineInfo};
use crate::env::Environment;
use crate::error::{usage, Error};
use crate::reporter::baselines::Baselines;
use crate::reporter::detailed::DetailedRecords;
use crate::reporter::export::Exports;
use crate::reporter::html::HtmlReport;
use crate::reporter::progress::ProgressDisplay;
use crate::reporter::result_files::{ResultFiles, RunFacts};
use crate::reporter::terminal::{BlockOptions, Terminal};
use crate::reporter::{Reporter, Reporters};
use crate::results::names::FileNames;
use crate::sweep::isolation::{Relaunch, TrialFile, TrialWorker};
use crate::sweep::{Baseline, LevelStart, Stop, Sweep, TrialStart};
use crate::workload::{self, WorkItem};

/// Warm-up prompts come from another seed so they cannot prime a prefix cache.
const WARMUP_SEED_SALT: u64 = 0x5741_524d_5550;

pub fn run(config: &RunConfig) -> Result<(), Error> {
    if let Some(worker) = &config.trial_worker {
        return trial_worker(config, worker);
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
        |info, environment, date| reporters(config, info, environment, date),
    )
}

/// What every measuring command shares: builds the requests, opens the
/// engine, runs the sweep with the outputs `outputs` sets up (given the
/// engine, the machine and the date), and ends with the error that matters
/// most.
pub(super) fn measure(
    config: &RunConfig,
    baselines: &[Baseline],
    rerun: Option<&RunConfig>,
    outputs: impl FnOnce(&EngineInfo, Environment, &str) -> Reporters,
) -> Result<(), Error> {
    let stop = stop_on_ctrl_c();
    let (items, warm_up) = requests(config)?;
    let engine = engine::open(&config.engine, &config.engine_options)?;
    let info = engine.describe();
    let rerun = match rerun {
        Some(baseline) => Some((
            baseline,
            engine::open(&baseline.engine, &baseline.engine_options)?,
        )),
        None => None,
    };
    let mut infos = vec![info.clone()];
    infos.extend(rerun.as_ref().map(|(_, e)| e.describe()));
    for info in &infos {
        for requests in [&items, &warm_up] {
            workload::check_limits(requests, info.max_model_len, info.vocab_size)?;
        }
    }
    let environment = Environment::detect(config.engine_options.python.as_deref());
    let light = speed_of_light(config, &environment, &info);
    let date = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    let mut reporters = outputs(&info, environment, &date);
    let mut sweep = Sweep::new(config, &items, &warm_up, baselines, &light);
    sweep.rerun = rerun;
    let (swept, shutdown) = sweep.run(engine, &mut reporters, &stop);
    let sweep = swept?;
    let mut failures: Vec<Error> = reporters.into_errors();
    match sweep.stop() {
        Some(Stop::EngineFailed(message)) => failures.insert(
            0,
            Error::Engine(format!("engine failed mid-run: {message}")),
        ),
        Some(Stop::Interrupted) => failures.insert(0, Error::Interrupted),
        None => {}
    }
    let mut failures = failures.into_iter();
    let Some(first) = failures.next() else {
        return shutdown;
    };
    for other in failures {
        eprintln!("warning: {other}");
    }
    Err(first)
}

/// The measured requests and the warm-up's.
fn requests(config: &RunConfig) -> Result<(Vec<WorkItem>, Vec<WorkItem>), Error> {
    let items = workload::build(&config.workload, config.num_prompts, config.seed)?;
    let warm_up = match config.num_warmups {
        0 => Vec::new(),
        n => workload::build(&config.workload, n, config.seed ^ WARMUP_SEED_SALT)?,
    };
    Ok((items, warm_up))
}

/// A process started for one trial (`--trial-isolation process`): opens the
/// engine as the trial's ordinal says, warms it up, runs the trial with its
/// progress on stderr, and writes the records where the parent reads them.
/// An engine failure is in the file, not the exit code, so the parent
/// keeps what was measured.
fn trial_worker(config: &RunConfig, worker: &TrialWorker) -> Result<(), Error> {
    let stop = stop_on_ctrl_c();
    let (items, warm_up) = requests(config)?;
    let engine = engine::open(&config.engine, &config.engine_options)?;
    let info = engine.describe();
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
    let (outcome, shutdown) = sweep.worker_trial(engine, worker, &mut progress, &stop);
    progress.finish();
    TrialFile::of(info, outcome?).write(&worker.output)?;
    shutdown
}

/// The outputs `config` asks for, in the order they are told of each level.
fn reporters(
    config: &RunConfig,
    info: &EngineInfo,
    environment: Environment,
    date: &str,
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
        }));
        let stem = names.sweep_stem();
        let exports = Exports::new(
            names.dir(),
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
        }));
    }
    let mut reporters = Reporters::new(all).with_progress(ProgressDisplay::new(output.quiet));
    if output.save_detailed {
        reporters = reporters.with_detailed_records(DetailedRecords::new(names));
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
        eprintln!("speed of light: skipped: {why}");
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

/// Fails when `output`'s file name is a path or its folder cannot be written.
pub(super) fn check_writable(output: &OutputOptions) -> Result<(), Error> {
    if let Some(name) = &output.result_filename {
        if name.is_empty() || Path::new(name).file_name() != Some(name.as_ref()) {
            return Err(usage(format!(
                "--result-filename '{name}': give a file name, not a path"
            )));
        }
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

/// A first Ctrl-C stops the run and keeps its results; a second one quits.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    stop
}

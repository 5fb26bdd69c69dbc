//! `enginebench run`: one engine, one workload, one level after another.
//! Checks what can be checked before anything runs, opens the engine, sets
//! up the outputs, runs the sweep, and ends with the error that matters most.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::analysis::speed_of_light::level::Setup;
use crate::baseline::store;
use crate::config::RunConfig;
use crate::engine::{self, EngineInfo};
use crate::env::Environment;
use crate::error::{usage, Error};
use crate::metrics::LevelSamples;
use crate::reporter::baselines::Baselines;
use crate::reporter::detailed::DetailedRecords;
use crate::reporter::export::Exports;
use crate::reporter::html::HtmlReport;
use crate::reporter::progress::ProgressDisplay;
use crate::reporter::result_files::{ResultFiles, RunFacts};
use crate::reporter::terminal::{BlockOptions, Terminal};
use crate::reporter::{Reporter, Reporters};
use crate::results::names::FileNames;
use crate::sweep::{Stop, Sweep};
use crate::workload;

/// Warm-up prompts come from another seed so they cannot prime a prefix cache.
const WARMUP_SEED_SALT: u64 = 0x5741_524d_5550;

pub fn run(config: &RunConfig) -> Result<(), Error> {
    let stop = stop_on_ctrl_c();
    check_result_dir(config)?;
    let items = workload::build(&config.workload, config.num_prompts, config.seed)?;
    let warm_up = match config.num_warmups {
        0 => Vec::new(),
        n => workload::build(&config.workload, n, config.seed ^ WARMUP_SEED_SALT)?,
    };
    let baselines = load_baselines(config)?;
    let mut engine = engine::open(&config.engine, &config.engine_options)?;
    let info = engine.describe();
    for requests in [&items, &warm_up] {
        workload::check_limits(requests, info.max_model_len, info.vocab_size)?;
    }
    let environment = Environment::detect(config.engine_options.python.as_deref());
    let light = speed_of_light(config, &environment, &info);
    let date = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    let mut reporters = reporters(config, &info, environment, &date);
    let mut sweep = Sweep::new(config, &items, &warm_up, &baselines, &light);
    let swept = sweep.run(engine.as_mut(), &mut reporters, &stop);
    let shutdown = engine.shutdown();
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
        return shutdown.map_err(|e| Error::Engine(e.to_string()));
    };
    for other in failures {
        eprintln!("warning: {other}");
    }
    Err(first)
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

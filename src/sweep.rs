//! `enginebench run`: one engine, one workload, one level after another.
//! Wires the stages: workload -> schedule -> driver <-> engine -> metrics -> report.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use serde_json::json;

use crate::cli::RunConfig;
use crate::driver::{self, DriveOptions, RunOutcome};
use crate::engine::{self, Engine, EngineInfo, RequestId};
use crate::error::{usage, Error};
use crate::metrics::RunSummary;
use crate::records::{Discard, JsonlWriter, RecordSink};
use crate::report::environment::Environment;
use crate::report::result_json::{self, ResultContext};
use crate::report::terminal::{self, BlockContext};
use crate::schedule::{RequestRate, Schedule, ScheduleSpec};
use crate::workload::{self, WorkItem};

/// Percentiles every result file carries, whatever is printed.
const SAVED_PERCENTILES: [f64; 4] = [50.0, 90.0, 95.0, 99.0];
/// Warm-up prompts come from another seed so they cannot prime a prefix cache.
const WARMUP_SEED_SALT: u64 = 0x5741_524d_5550;

pub fn run(config: &RunConfig, stop: &AtomicBool) -> Result<(), Error> {
    check_result_dir(config)?;
    let items = workload::build(&config.workload, config.num_prompts, config.seed)?;
    let mut engine = engine::open(&config.engine, &config.engine_options)?;
    let info = engine.describe();
    workload::check_limits(&items, info.max_model_len, info.vocab_size)?;
    let result = Sweep::new(config, &info).run(engine.as_mut(), &items, stop);
    let shutdown = engine.shutdown();
    result?;
    shutdown.map_err(|e| Error::Engine(e.to_string()))
}

struct Sweep<'a> {
    config: &'a RunConfig,
    info: &'a EngineInfo,
    environment: Environment,
    date: String,
    percentiles: Vec<f64>,
    next_id: RequestId,
}

impl<'a> Sweep<'a> {
    fn new(config: &'a RunConfig, info: &'a EngineInfo) -> Self {
        let mut percentiles: Vec<f64> = SAVED_PERCENTILES.to_vec();
        percentiles.extend(&config.metric_percentiles);
        percentiles.sort_by(f64::total_cmp);
        percentiles.dedup();
        Self {
            config,
            info,
            environment: Environment::detect(),
            date: chrono::Local::now().format("%Y%m%d-%H%M%S").to_string(),
            percentiles,
            next_id: 0,
        }
    }

    fn run(
        &mut self,
        engine: &mut dyn Engine,
        items: &[WorkItem],
        stop: &AtomicBool,
    ) -> Result<(), Error> {
        self.warm_up(engine, stop)?;
        let mut summaries = Vec::new();
        for (level, &concurrency) in self.config.concurrency_levels.iter().enumerate() {
            eprintln!(
                "level {}/{}: {} requests, max concurrency {}",
                level + 1,
                self.config.concurrency_levels.len(),
                items.len(),
                concurrency.map_or("unbounded".into(), |c| c.to_string())
            );
            engine
                .reset_prefix_cache()
                .map_err(|e| Error::Engine(e.to_string()))?;
            let (summary, outcome) = self.run_level(engine, items, concurrency, stop)?;
            summaries.push((concurrency, summary));
            if outcome.interrupted || outcome.fatal_error.is_some() {
                self.print_table(&summaries);
                return Err(match outcome.fatal_error {
                    Some(message) => Error::Engine(format!("engine failed mid-run: {message}")),
                    None => Error::Interrupted,
                });
            }
        }
        self.print_table(&summaries);
        Ok(())
    }

    /// Runs one level, prints its block and writes its files.
    fn run_level(
        &mut self,
        engine: &mut dyn Engine,
        items: &[WorkItem],
        concurrency: Option<usize>,
        stop: &AtomicBool,
    ) -> Result<(RunSummary, RunOutcome), Error> {
        let spec = ScheduleSpec {
            rate: self.config.rate,
            burstiness: self.config.burstiness,
            max_concurrency: concurrency,
        };
        let schedule = Schedule::build(&spec, items.len(), self.config.seed);
        let stem = self.file_stem(concurrency);
        let detailed = self
            .config
            .output
            .save_detailed
            .then(|| self.path(&stem, "requests.jsonl"));
        let mut sink: Box<dyn RecordSink> = match &detailed {
            Some(path) => Box::new(
                JsonlWriter::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            ),
            None => Box::new(Discard),
        };
        let outcome = self.drive(engine, items, &schedule, sink.as_mut(), stop);
        let summary = RunSummary::of(&outcome.records, &self.percentiles, &self.config.slos);
        let mut warnings = Vec::new();
        if let Some(error) = &outcome.sink_error {
            warnings.push(format!("detailed records stopped: {error}"));
        }
        let block = BlockContext {
            engine: self.info,
            schedule: schedule.kind(),
            max_concurrency: concurrency,
            metrics: &self.config.percentile_metrics,
            percentiles: &self.config.metric_percentiles,
            interrupted: outcome.interrupted,
            fatal_error: outcome.fatal_error.as_deref(),
        };
        println!("{}", terminal::result_block(&summary, &block));
        for warning in &warnings {
            eprintln!("warning: {warning}");
        }
        if self.config.output.save_result {
            let context = ResultContext {
                date: self.date.clone(),
                engine: self.info,
                model_id: &self.config.model_id(),
                num_prompts: items.len(),
                request_rate: self.config.rate,
                burstiness: self.config.burstiness,
                max_concurrency: concurrency,
                schedule: schedule.kind(),
                workload: json!(self.config.workload),
                seed: self.config.seed,
                num_warmups: self.config.num_warmups,
                slos: &self.config.slos,
                environment: &self.environment,
                interrupted: outcome.interrupted,
                fatal_error: outcome.fatal_error.as_deref(),
                detailed_file: detailed.as_ref().map(|p| p.display().to_string()),
                warnings,
            };
            let path = self.path(&stem, "json");
            let text = serde_json::to_string_pretty(&result_json::to_json(&summary, &context))
                .context("cannot serialize the result")?;
            std::fs::write(&path, text + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("saved {}", path.display());
        }
        Ok((summary, outcome))
    }

    fn drive(
        &mut self,
        engine: &mut dyn Engine,
        items: &[WorkItem],
        schedule: &Schedule,
        sink: &mut dyn RecordSink,
        stop: &AtomicBool,
    ) -> RunOutcome {
        let options = DriveOptions {
            ignore_eos: self.config.ignore_eos,
            sampling: self.config.sampling.clone(),
            id_base: self.next_id,
        };
        self.next_id += items.len() as RequestId;
        driver::drive(engine, items, schedule, &options, sink, stop)
    }

    /// Runs `--num-warmups` requests at the first level's concurrency and discards them.
    fn warm_up(&mut self, engine: &mut dyn Engine, stop: &AtomicBool) -> Result<(), Error> {
        if self.config.num_warmups == 0 {
            return Ok(());
        }
        let seed = self.config.seed ^ WARMUP_SEED_SALT;
        let items = workload::build(&self.config.workload, self.config.num_warmups, seed)?;
        workload::check_limits(&items, self.info.max_model_len, self.info.vocab_size)?;
        let spec = ScheduleSpec {
            rate: RequestRate::Infinite,
            burstiness: 1.0,
            max_concurrency: self.config.concurrency_levels[0],
        };
        let schedule = Schedule::build(&spec, items.len(), seed);
        eprintln!("warm-up: {} requests (not measured)", items.len());
        let outcome = self.drive(engine, &items, &schedule, &mut Discard, stop);
        match outcome.fatal_error {
            Some(message) => Err(Error::Engine(format!(
                "engine failed during warm-up: {message}"
            ))),
            None if outcome.interrupted => Err(Error::Interrupted),
            None => Ok(()),
        }
    }

    fn print_table(&self, summaries: &[(Option<usize>, RunSummary)]) {
        let rows: Vec<(Option<usize>, &RunSummary)> =
            summaries.iter().map(|(c, s)| (*c, s)).collect();
        println!("{}", terminal::sweep_table(self.info, &rows));
    }

    /// vLLM's naming: `{engine}-{rate}qps-concurrency{c}-{model}-{date}`, or
    /// `--result-filename`, with the level added when there are several.
    fn file_stem(&self, concurrency: Option<usize>) -> String {
        let level = concurrency.map_or("unbounded".into(), |c| c.to_string());
        match &self.config.output.result_filename {
            Some(name) => {
                let stem = name.strip_suffix(".json").unwrap_or(name);
                if self.config.concurrency_levels.len() > 1 {
                    format!("{stem}-concurrency{level}")
                } else {
                    stem.to_string()
                }
            }
            None => {
                let rate = match self.config.rate {
                    RequestRate::Infinite => "inf".to_string(),
                    RequestRate::PerSecond(r) => format!("{r}"),
                };
                let model = self.config.model_id().replace(['/', ' '], "_");
                format!(
                    "{}-{rate}qps-concurrency{level}-{model}-{}",
                    self.config.engine, self.date
                )
            }
        }
    }

    fn path(&self, stem: &str, extension: &str) -> PathBuf {
        self.config
            .output
            .result_dir
            .join(format!("{stem}.{extension}"))
    }
}

/// Fails before anything runs when results could not be written.
fn check_result_dir(config: &RunConfig) -> Result<(), Error> {
    let output = &config.output;
    if !(output.save_result || output.save_detailed) {
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

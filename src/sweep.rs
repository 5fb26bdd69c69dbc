//! `enginebench run`: one engine, one workload, one level after another.
//! Wires the stages: workload -> schedule -> driver <-> engine -> metrics -> report.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde_json::json;

use crate::analysis::change::{self, MetricChange};
use crate::analysis::speed_of_light::level::{self as light, LevelSpeedOfLight, Setup};
use crate::analysis::{self, validity, LevelAnalysis};
use crate::baseline::store;
use crate::baseline::{BenchmarkId, LATEST};
use crate::config::PlotConfig;
use crate::config::RunConfig;
use crate::driver::{self, DriveOptions, NoProgress, Progress, RunOutcome};
use crate::engine::{self, Engine, EngineInfo, RequestId};
use crate::env::Environment;
use crate::error::{usage, Error};
use crate::metrics::{LevelSamples, Metric, RunSummary};
use crate::records::{Discard, JsonlWriter, RecordSink, RequestRecord};
use crate::render::plot::Format;
use crate::report::export::{self, LevelRow};
use crate::report::progress::LevelProgress;
use crate::report::result_json::{self, ResultContext};
use crate::report::statistics::{self, BaselineChanges, LevelStatistics};
use crate::report::terminal::{self, BlockContext};
use crate::results::fs::{self, Layout};
use crate::results::samples::{self, SampleFile};
use crate::schedule::{concurrency_label, RequestRate, Schedule, ScheduleSpec};
use crate::workload::{self, WorkItem};

/// Percentiles every result file carries, whatever is printed.
const SAVED_PERCENTILES: [f64; 4] = [50.0, 90.0, 95.0, 99.0];
/// Warm-up prompts come from another seed so they cannot prime a prefix cache.
const WARMUP_SEED_SALT: u64 = 0x5741_524d_5550;

pub fn run(config: &RunConfig, stop: &AtomicBool) -> Result<(), Error> {
    check_result_dir(config)?;
    let items = workload::build(&config.workload, config.num_prompts, config.seed)?;
    let baselines = load_baselines(config)?;
    let mut engine = engine::open(&config.engine, &config.engine_options)?;
    let info = engine.describe();
    workload::check_limits(&items, info.max_model_len, info.vocab_size)?;
    let mut sweep = Sweep::new(config, &info);
    sweep.baselines = baselines;
    let result = sweep.run(engine.as_mut(), &items, stop);
    let shutdown = engine.shutdown();
    if config.output.report {
        sweep.write_report(result.is_ok())?;
    }
    result?;
    shutdown.map_err(|e| Error::Engine(e.to_string()))
}

struct Sweep<'a> {
    config: &'a RunConfig,
    info: &'a EngineInfo,
    environment: Environment,
    /// The model and GPU the speed of light is computed for, or why it is not.
    light: Setup,
    date: String,
    percentiles: Vec<f64>,
    next_id: RequestId,
    /// `--baseline`: one per level, in level order.
    baselines: Vec<SampleFile>,
    /// The finished levels, for the exports.
    rows: Vec<LevelRow>,
    /// The result files written so far, for `--report`.
    written: Vec<PathBuf>,
}

/// The trials of one level, as they ran.
struct LevelRun {
    concurrency: Option<usize>,
    stem: String,
    schedule_kind: &'static str,
    trials: Vec<RunOutcome>,
    detailed: Vec<PathBuf>,
}

impl LevelRun {
    fn last(&self) -> &RunOutcome {
        self.trials.last().expect("a level runs at least one trial")
    }

    fn records(&self) -> Vec<&[RequestRecord]> {
        self.trials.iter().map(|t| t.records.as_slice()).collect()
    }
}

impl<'a> Sweep<'a> {
    fn new(config: &'a RunConfig, info: &'a EngineInfo) -> Self {
        let mut percentiles: Vec<f64> = SAVED_PERCENTILES.to_vec();
        percentiles.extend(&config.metric_percentiles);
        percentiles.sort_by(f64::total_cmp);
        percentiles.dedup();
        let options = &config.engine_options;
        let environment = Environment::detect(options.python.as_deref());
        let detected: Vec<String> = environment.gpus.iter().map(|g| g.name.clone()).collect();
        let light = Setup::resolve(
            &config.gpu,
            options.model.as_deref(),
            &detected,
            options.tensor_parallel_size,
            info.simulated,
        );
        if let Setup::Skipped(why) = &light {
            eprintln!("speed of light: skipped: {why}");
        }
        Self {
            config,
            info,
            environment,
            light,
            date: chrono::Local::now().format("%Y%m%d-%H%M%S").to_string(),
            percentiles,
            next_id: 0,
            baselines: Vec::new(),
            rows: Vec::new(),
            written: Vec::new(),
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
                concurrency_label(concurrency)
            );
            let run = self.run_trials(engine, items, concurrency, level, stop)?;
            let summary = self.report_level(&run, level, items.len())?;
            self.export_level(&run, &summary)?;
            summaries.push((concurrency, summary));
            let outcome = run.last();
            if outcome.interrupted || outcome.fatal_error.is_some() {
                self.print_table(&summaries);
                return Err(match &outcome.fatal_error {
                    Some(message) => Error::Engine(format!("engine failed mid-run: {message}")),
                    None => Error::Interrupted,
                });
            }
        }
        self.print_table(&summaries);
        Ok(())
    }

    /// Runs `--trials` trials of one level, each on a fresh schedule seed,
    /// stopping early on an interrupt or an engine failure.
    fn run_trials(
        &mut self,
        engine: &mut dyn Engine,
        items: &[WorkItem],
        concurrency: Option<usize>,
        level: usize,
        stop: &AtomicBool,
    ) -> Result<LevelRun, Error> {
        let count = self.config.trials;
        let mut run = LevelRun {
            concurrency,
            stem: self.file_stem(concurrency),
            schedule_kind: "",
            trials: Vec::new(),
            detailed: Vec::new(),
        };
        for trial in 0..count {
            if count > 1 {
                eprintln!("  trial {}/{count}", trial + 1);
            }
            let spec = ScheduleSpec {
                rate: self.config.rate,
                burstiness: self.config.burstiness,
                max_concurrency: concurrency,
            };
            // Trials repeat the same prompts: each starts cold, like each level.
            engine
                .reset_prefix_cache()
                .map_err(|e| Error::Engine(e.to_string()))?;
            let seed = self.config.seed.wrapping_add(trial as u64);
            let schedule = Schedule::build(&spec, items.len(), seed);
            run.schedule_kind = schedule.kind();
            let detailed = self.config.output.save_detailed.then(|| {
                let extension = match count {
                    1 => "requests.jsonl".to_string(),
                    _ => format!("trial{}.requests.jsonl", trial + 1),
                };
                self.path(&run.stem, &extension)
            });
            let mut label = format!(
                "level {}/{}",
                level + 1,
                self.config.concurrency_levels.len()
            );
            if count > 1 {
                label += &format!(" trial {}/{count}", trial + 1);
            }
            let mut progress = LevelProgress::new(&label, items.len(), self.config.output.quiet);
            let outcome = self.run_trial(
                engine,
                items,
                &schedule,
                detailed.as_deref(),
                stop,
                &mut progress,
            );
            progress.finish();
            let outcome = outcome?;
            run.detailed.extend(detailed);
            let stopped = outcome.interrupted || outcome.fatal_error.is_some();
            run.trials.push(outcome);
            if stopped {
                break;
            }
        }
        Ok(run)
    }

    fn run_trial(
        &mut self,
        engine: &mut dyn Engine,
        items: &[WorkItem],
        schedule: &Schedule,
        detailed: Option<&Path>,
        stop: &AtomicBool,
        progress: &mut dyn Progress,
    ) -> Result<RunOutcome, Error> {
        let mut sink: Box<dyn RecordSink> = match detailed {
            Some(path) => {
                Box::new(JsonlWriter::create(path).map_err(|e| Error::unwritable(path, e))?)
            }
            None => Box::new(Discard),
        };
        Ok(self.drive(engine, items, schedule, sink.as_mut(), stop, progress))
    }

    /// Summarizes a level, prints its report and writes its files.
    fn report_level(
        &mut self,
        run: &LevelRun,
        level: usize,
        items: usize,
    ) -> Result<RunSummary, Error> {
        let summary = RunSummary::of_trials(&run.records(), &self.percentiles, &self.config.slos);
        let mut samples = LevelSamples::default();
        for records in run.records() {
            samples.add_trial(records);
        }
        let options = &self.config.statistics;
        let analysis = analysis::analyze(&samples, &options.bootstrap);
        let changes = self
            .baselines
            .get(level)
            .map(|base| change::between(&base.samples, &samples, &Metric::ALL, options));
        let warnings = self.warnings(run, &samples);
        self.print_level(run, &summary, &analysis, changes.as_deref());
        let light = match &self.light {
            Setup::Ready(target) => light::for_level(target, &summary),
            Setup::Skipped(_) => None,
        };
        if let Some(figures) = &light {
            println!("{}", light::block(figures));
        }
        for warning in &warnings {
            eprintln!("warning: {warning}");
        }
        let id = self.benchmark_id(run.concurrency);
        let stats = LevelStatistics {
            benchmark: &id,
            analysis: &analysis,
            samples: &samples,
            options,
            baseline: changes.as_deref().map(|changes| BaselineChanges {
                name: self.config.baselines.against.as_deref().unwrap_or_default(),
                file: self.baseline_file(&id),
                changes,
            }),
        };
        self.save_level(run, &summary, &stats, light.as_ref(), warnings, items)?;
        Ok(summary)
    }

    fn print_level(
        &self,
        run: &LevelRun,
        summary: &RunSummary,
        analysis: &LevelAnalysis,
        changes: Option<&[MetricChange]>,
    ) {
        let outcome = run.last();
        let block = BlockContext {
            engine: self.info,
            schedule: run.schedule_kind,
            max_concurrency: run.concurrency,
            metrics: &self.config.percentile_metrics,
            percentiles: &self.config.metric_percentiles,
            interrupted: outcome.interrupted,
            fatal_error: outcome.fatal_error.as_deref(),
        };
        println!("{}", terminal::result_block(summary, &block));
        let options = &self.config.statistics;
        println!(
            "{}",
            statistics::intervals_block(analysis, &options.bootstrap)
        );
        let trials = statistics::trials_block(analysis);
        if !trials.is_empty() {
            println!("{trials}");
        }
        if let (Some(changes), Some(name)) = (changes, &self.config.baselines.against) {
            let id = self.benchmark_id(run.concurrency);
            let baseline = BaselineChanges {
                name,
                file: self.baseline_file(&id),
                changes,
            };
            println!("{}", statistics::change_block(&baseline, options));
        }
    }

    /// Detailed records that stopped, and the validity rules.
    fn warnings(&self, run: &LevelRun, samples: &LevelSamples) -> Vec<String> {
        let mut warnings: Vec<String> = run
            .trials
            .iter()
            .filter_map(|t| t.sink_error.as_ref())
            .map(|e| format!("detailed records stopped: {e}"))
            .collect();
        let shortest = samples
            .trials
            .iter()
            .map(|t| t.duration_s)
            .fold(f64::INFINITY, f64::min);
        let highest = self.percentiles.last().copied().unwrap_or(99.0);
        warnings.extend(validity::warnings(
            samples.latencies.completed(),
            highest,
            shortest,
            &self.config.validity,
        ));
        warnings
    }

    /// The result JSON and samples file (`--save-result`), and the baselines.
    fn save_level(
        &mut self,
        run: &LevelRun,
        summary: &RunSummary,
        stats: &LevelStatistics,
        light: Option<&LevelSpeedOfLight>,
        warnings: Vec<String>,
        items: usize,
    ) -> Result<(), Error> {
        let sample_file = SampleFile {
            format: samples::FORMAT,
            benchmark: stats.benchmark.clone(),
            date: self.date.clone(),
            engine: self.info.clone(),
            samples: stats.samples.clone(),
        };
        if self.writes_baselines() {
            let estimates = statistics::statistics_json(stats.analysis, &stats.options.bootstrap);
            let dir = &self.config.output.result_dir;
            store::save_baseline(dir, LATEST, &sample_file, &estimates)?;
            if let Some(name) = &self.config.baselines.save_as {
                let path = store::save_baseline(dir, name, &sample_file, &estimates)?;
                eprintln!(
                    "saved baseline '{name}' in {}",
                    path.parent().unwrap_or(dir).display()
                );
            }
        }
        if !self.config.output.save_result {
            return Ok(());
        }
        // In a subfolder, so that tools globbing `*.json` see result files only.
        let samples_name = format!("samples/{}.json", run.stem);
        sample_file.write(&self.config.output.result_dir.join(&samples_name))?;
        let outcome = run.last();
        let context = ResultContext {
            date: self.date.clone(),
            engine: self.info,
            model_id: &self.config.model_id(),
            num_prompts: items * run.trials.len(),
            request_rate: self.config.rate,
            burstiness: self.config.burstiness,
            max_concurrency: run.concurrency,
            schedule: run.schedule_kind,
            workload: json!(self.config.workload),
            seed: self.config.seed,
            num_warmups: self.config.num_warmups,
            slos: &self.config.slos,
            environment: &self.environment,
            interrupted: outcome.interrupted,
            fatal_error: outcome.fatal_error.as_deref(),
            detailed_file: run.detailed.first().map(|p| p.display().to_string()),
            warnings,
        };
        let mut result = result_json::to_json(summary, &context);
        statistics::add_to_json(&mut result, stats);
        result["samples_file"] = samples_name.into();
        result["speed_of_light"] = light::to_json(&self.light, light);
        result["num_prompts_per_trial"] = items.into();
        if run.detailed.len() > 1 {
            result["detailed_files"] = json!(run.detailed);
        }
        let path = self.path(&run.stem, "json");
        fs::save_atomically(&path, &result, Layout::Pretty)?;
        eprintln!("saved {}", path.display());
        self.written.push(path);
        Ok(())
    }

    /// Adds the level to the CSV and Markdown tables and rewrites them
    /// (`--save-result`), so a later failure keeps this level.
    fn export_level(&mut self, run: &LevelRun, summary: &RunSummary) -> Result<(), Error> {
        let outcome = run.last();
        self.rows.push(LevelRow {
            engine: self.info.name.clone(),
            model: self.config.model_id(),
            max_concurrency: run.concurrency,
            request_rate: self.config.rate,
            status: match (&outcome.fatal_error, outcome.interrupted) {
                (Some(_), _) => "engine failed",
                (None, true) => "interrupted",
                (None, false) => "ok",
            },
            summary: summary.clone(),
        });
        if !self.config.output.save_result {
            return Ok(());
        }
        let dir = &self.config.output.result_dir;
        let written = export::write_all(dir, &self.sweep_stem(), &self.rows)?;
        if self.rows.len() == 1 {
            for path in written {
                eprintln!("exporting to {}", path.display());
            }
        }
        Ok(())
    }

    /// The name shared by the sweep's own files (exports, plots, HTML): the
    /// level's file name without the level.
    fn sweep_stem(&self) -> String {
        match &self.config.output.result_filename {
            Some(name) => name.strip_suffix(".json").unwrap_or(name).to_string(),
            None => self.file_stem_of(None, false),
        }
    }

    /// `--report`: plots and the HTML page of the levels saved. After an
    /// engine failure the page still shows what was measured; its own failure
    /// then is only a warning, so the engine's error stays the one reported.
    fn write_report(&self, sweep_ok: bool) -> Result<(), Error> {
        if self.written.is_empty() {
            return Ok(());
        }
        let config = PlotConfig {
            inputs: self.written.clone(),
            output: self.config.output.result_dir.clone(),
            formats: vec![Format::Svg, Format::Png],
            name: self.sweep_stem(),
        };
        match crate::commands::report::run(&config) {
            Err(e) if !sweep_ok => {
                eprintln!("warning: no report: {e}");
                Ok(())
            }
            other => other,
        }
    }

    fn writes_baselines(&self) -> bool {
        self.config.output.save_result || self.config.baselines.any()
    }

    fn benchmark_id(&self, concurrency: Option<usize>) -> BenchmarkId {
        benchmark_id(self.config, concurrency)
    }

    fn baseline_file(&self, id: &BenchmarkId) -> String {
        let name = self.config.baselines.against.as_deref().unwrap_or(LATEST);
        let path = store::baseline_path(&self.config.output.result_dir, id, name);
        path.display().to_string()
    }

    fn drive(
        &mut self,
        engine: &mut dyn Engine,
        items: &[WorkItem],
        schedule: &Schedule,
        sink: &mut dyn RecordSink,
        stop: &AtomicBool,
        progress: &mut dyn Progress,
    ) -> RunOutcome {
        let options = DriveOptions {
            ignore_eos: self.config.ignore_eos,
            sampling: self.config.sampling.clone(),
            id_base: self.next_id,
            max_failures: self.config.max_failures,
        };
        self.next_id += items.len() as RequestId;
        driver::drive_with_progress(engine, items, schedule, &options, sink, stop, progress)
    }

    /// Runs `--num-warmups` requests at the first level's concurrency and discards them.
    fn warm_up(&mut self, engine: &mut dyn Engine, stop: &AtomicBool) -> Result<(), Error> {
        if self.config.num_warmups == 0 {
            return Ok(());
        }
        let seed = self.config.seed ^ WARMUP_SEED_SALT;
        let items = workload::build(&self.config.workload, self.config.num_warmups, seed)?;
        workload::check_limits(&items, self.info.max_model_len, self.info.vocab_size)?;
        let schedule = Schedule::all_at_once(items.len(), self.config.concurrency_levels[0]);
        eprintln!("warm-up: {} requests (not measured)", items.len());
        let outcome = self.drive(
            engine,
            &items,
            &schedule,
            &mut Discard,
            stop,
            &mut NoProgress,
        );
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
        self.file_stem_of(concurrency, true)
    }

    fn file_stem_of(&self, concurrency: Option<usize>, with_level: bool) -> String {
        let level = concurrency_label(concurrency);
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
                let level = match with_level {
                    true => format!("-concurrency{level}"),
                    false => String::new(),
                };
                format!(
                    "{}-{rate}qps{level}-{model}-{}",
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

fn benchmark_id(config: &RunConfig, concurrency: Option<usize>) -> BenchmarkId {
    BenchmarkId::new(
        &config.engine,
        &config.model_id(),
        &config.workload,
        config.rate,
        config.burstiness,
        concurrency,
    )
}

/// `--baseline NAME` for every level, read before anything runs.
fn load_baselines(config: &RunConfig) -> Result<Vec<SampleFile>, Error> {
    let Some(name) = &config.baselines.against else {
        return Ok(Vec::new());
    };
    config
        .concurrency_levels
        .iter()
        .map(|&c| store::load_baseline(&config.output.result_dir, &benchmark_id(config, c), name))
        .collect()
}

/// Fails before anything runs when results could not be written.
fn check_result_dir(config: &RunConfig) -> Result<(), Error> {
    let output = &config.output;
    let baselines = config.baselines.any();
    if !(output.save_result || output.save_detailed || baselines) {
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

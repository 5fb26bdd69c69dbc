//! `--save-result`: each level's result file ([`ResultDoc`]) and the samples
//! file beside it, written as soon as the level is done.

use super::Reporter;
use crate::baseline::{store, LATEST};
use crate::config::RunConfig;
use crate::engine::EngineInfo;
use crate::env::Environment;
use crate::error::Error;
use crate::metrics::LatencyMetric;
use crate::process::console;
use crate::results::fs::{self, Layout, OutputDir};
use crate::results::names::FileNames;
use crate::results::{
    BaselineDoc, LatencyKeys, ResultDoc, SampleFile, SpeedOfLightDoc, StatisticsDoc,
    ThroughputSpread,
};
use crate::sweep::{LevelResult, SpeedOfLight, Stop};

/// What every level's result file says about the run besides the level.
#[derive(Clone, Debug)]
pub struct RunFacts {
    pub config: RunConfig,
    pub engine: EngineInfo,
    pub environment: Environment,
    /// When the sweep started, `%Y%m%d-%H%M%S`.
    pub date: String,
}

pub struct ResultFiles {
    pub facts: RunFacts,
    pub names: FileNames,
    /// The result folder, or its fallback.
    pub out: OutputDir,
}

impl ResultFiles {
    /// The result file of `level`.
    pub fn doc(&self, level: &LevelResult) -> ResultDoc {
        let RunFacts {
            config,
            engine,
            environment,
            date,
        } = &self.facts;
        let run = &level.summary;
        let mut latencies = LatencyKeys::default();
        for metric in LatencyMetric::ALL {
            latencies.insert(metric.key(), metric.summary(run));
        }
        latencies.insert("queue_delay", &run.queue_delay_ms);
        let detailed = self.detailed_files(level);
        ResultDoc {
            date: date.clone(),
            backend: engine.name.clone(),
            model_id: config.model_id(),
            num_prompts: level.start.requests * level.trials,
            request_rate: config.rate,
            burstiness: config.burstiness,
            max_concurrency: level.concurrency(),
            duration: run.duration_s,
            completed: run.completed,
            failed: run.failed,
            total_input_tokens: run.total_input_tokens,
            total_output_tokens: run.total_output_tokens,
            request_throughput: run.request_throughput,
            request_goodput: run.request_goodput,
            output_throughput: run.output_throughput,
            total_token_throughput: run.total_token_throughput,
            latencies,
            mean_tokens_per_delivery: (run.tokens_per_delivery.count > 0)
                .then_some(run.tokens_per_delivery.mean),
            engine: engine.clone(),
            simulated: engine.simulated,
            tensor_parallel_size: engine.tensor_parallel_size,
            schedule: level.schedule.to_string(),
            workload: config.workload.clone(),
            seed: config.seed,
            num_warmups: config.num_warmups,
            goodput_slos_ms: config.slos,
            cancelled: run.cancelled,
            issued: Some(run.issued),
            failure: level.failure.clone(),
            failure_reasons: level.failure_reasons.clone(),
            environment: environment.clone(),
            interrupted: level.stop == Some(Stop::Interrupted),
            fatal_error: match &level.stop {
                Some(Stop::EngineFailed(message)) => Some(message.clone()),
                _ => None,
            },
            detailed_file: detailed.first().cloned(),
            detailed_files: (detailed.len() > 1).then_some(detailed),
            warnings: level.warnings.clone(),
            benchmark_id: level.benchmark.clone(),
            trials: level.samples.trials.len(),
            num_prompts_per_trial: level.start.requests,
            trial_results: level.samples.trials.clone(),
            statistics: StatisticsDoc::of(&level.analysis, &config.statistics.bootstrap),
            throughput_spread: ThroughputSpread::of(&level.analysis),
            baseline: level.baseline.as_ref().map(|b| self.baseline_doc(level, b)),
            samples_file: Some(self.names.samples(level.concurrency())),
            speed_of_light: match &level.speed_of_light {
                SpeedOfLight::Figures(figures) => SpeedOfLightDoc::Figures(figures.clone()),
                SpeedOfLight::Skipped(why) => SpeedOfLightDoc::Skipped {
                    skipped: why.clone(),
                },
            },
            ramp_up_strategy: config.ramp_up.map(|r| r.strategy),
            ramp_up_start_rps: config.ramp_up.map(|r| r.start_rps),
            ramp_up_end_rps: config.ramp_up.map(|r| r.end_rps),
            pace: config.pace,
            traffic: level.traffic.clone(),
        }
    }

    /// The detailed records of the trials that ran (`--save-detailed`).
    fn detailed_files(&self, level: &LevelResult) -> Vec<String> {
        if !self.facts.config.output.save_detailed {
            return Vec::new();
        }
        let trials = self.facts.config.trials;
        (0..level.trials)
            .map(|t| self.names.detailed(level.concurrency(), t, trials))
            .map(|path| self.out.resolve(&path).display().to_string())
            .collect()
    }

    fn baseline_doc(&self, level: &LevelResult, b: &crate::sweep::BaselineChanges) -> BaselineDoc {
        let config = &self.facts.config;
        let name = config.baselines.against.as_deref().unwrap_or(LATEST);
        let file = store::baseline_path(self.names.dir(), &level.benchmark, name);
        let thresholds = &config.statistics.thresholds;
        BaselineDoc {
            name: b.name.clone(),
            file: file.display().to_string(),
            noise_threshold: thresholds.noise,
            significance_level: thresholds.significance,
            changes: b.changes.clone(),
        }
    }
}

impl Reporter for ResultFiles {
    fn level_done(&mut self, level: &LevelResult) -> Result<(), Error> {
        let facts = &self.facts;
        let samples = self.names.samples(level.concurrency());
        let file = SampleFile::new(&level.benchmark, &facts.date, &facts.engine, &level.samples);
        let result = self.names.result(level.concurrency());
        let doc = fs::to_json(&self.doc(level), Layout::Pretty)?;
        // Samples first: a result file is never there without its samples.
        let path = self.out.write(|root| {
            file.write(&root.join(&samples))?;
            let path = self.out.place(root, &result);
            fs::write_file(&path, &doc)?;
            Ok(path)
        })?;
        console::note(&format!("saved {}", path.display()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixtures::{engine, environment, level, level_result, run_config};
    use crate::results::ResultFile;

    fn files(dir: &std::path::Path, extra: &[&str]) -> ResultFiles {
        let mut args = vec![
            "--result-dir",
            dir.to_str().unwrap(),
            "--result-filename",
            "r.json",
        ];
        args.extend_from_slice(&["--max-concurrency", "4,8", "--save-result"]);
        args.extend_from_slice(extra);
        let config = run_config(&args);
        let date = "20260101-120000".to_string();
        ResultFiles {
            out: OutputDir::new(dir, dir.join("fallback")),
            names: FileNames::new(&config, &date),
            facts: RunFacts {
                config,
                engine: engine(),
                environment: environment(),
                date,
            },
        }
    }

    #[test]
    fn a_level_becomes_vllms_keys_and_ours_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let extra = ["--trials", "2", "--save-detailed", "--baseline", "main"];
        let files = files(dir.path(), &extra);
        let doc = files.doc(&level_result());
        let json = serde_json::to_value(&doc).unwrap();
        let vllm = serde_json::json!({
            "date": "20260101-120000", "backend": "sim", "model_id": "sim",
            "num_prompts": 8, "request_rate": "inf", "burstiness": 1.0, "max_concurrency": 4,
            "duration": 1.0, "completed": 8, "failed": 0, "total_input_tokens": 256,
            "total_output_tokens": 64, "request_throughput": 8.0, "request_goodput": null,
            "output_throughput": 64.0, "total_token_throughput": 320.0,
            "mean_ttft_ms": 1.35, "median_ttft_ms": 1.35, "p99_ttft_ms": 1.693,
            "p50_tpot_ms": 0.5, "max_e2el_ms": 5.2, "mean_tokens_per_delivery": 1.0,
        });
        for (key, value) in vllm.as_object().unwrap() {
            let written = &json[key];
            let close = match (written.as_f64(), value.as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                _ => written == value,
            };
            assert!(close, "{key}: {written} is not {value}");
        }
        let detailed = json["detailed_files"].as_array().unwrap();
        assert_eq!(detailed.len(), 2);
        assert!(json["detailed_file"]
            .as_str()
            .unwrap()
            .ends_with("r-concurrency4.trial1.requests.jsonl"));
        assert!(json["baseline"]["file"]
            .as_str()
            .unwrap()
            .ends_with("baselines/sim_tiny_random-32x8_closed-loop_c4/main/samples.json"));
        assert_eq!(json["samples_file"], "samples/r-concurrency4.json");
        assert_eq!(json["speed_of_light"]["gpu"]["name"], "H100-SXM");
        assert_eq!(
            json["throughput_spread"]["output_throughput"]["per_trial"][1],
            66.0
        );
        assert_eq!(
            json["statistics"]["ttft_ms"]["mean"]["point_estimate"],
            1.35
        );
        let back: ResultDoc = serde_json::from_value(json).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn optional_parts_are_left_out_and_the_skipped_speed_of_light_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let doc = files(dir.path(), &[]).doc(&level(1, Some(8), 1.0));
        let json = serde_json::to_value(&doc).unwrap();
        for absent in ["baseline", "detailed_files"] {
            assert!(json.get(absent).is_none(), "{absent}");
        }
        assert_eq!(json["detailed_file"], serde_json::Value::Null);
        assert!(json["speed_of_light"]["skipped"]
            .as_str()
            .unwrap()
            .contains("config.json"));
        assert_eq!(serde_json::from_value::<ResultDoc>(json).unwrap(), doc);
    }

    #[test]
    fn the_reporter_writes_a_result_that_reads_back_with_its_samples() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = files(dir.path(), &["--trials", "2"]);
        let level = level_result();
        files.level_done(&level).unwrap();
        let read = ResultFile::read(&dir.path().join("r-concurrency4.json")).unwrap();
        assert_eq!(read.doc, files.doc(&level));
        assert_eq!(read.samples, level.samples);
        assert!(dir.path().join("samples/r-concurrency4.json").is_file());
    }

    #[test]
    fn an_unwritable_result_is_kept_in_the_fallback_and_the_error_names_both() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = files(dir.path(), &[]);
        // A folder where the result file should be: "Is a directory".
        std::fs::create_dir_all(dir.path().join("r-concurrency4.json/blocked")).unwrap();
        files.level_done(&level_result()).unwrap();
        let kept = dir.path().join("fallback/r-concurrency4.json");
        let read = ResultFile::read(&kept).unwrap();
        assert_eq!(read.samples, level_result().samples);
        let error = files.out.take_failure().unwrap();
        assert!(matches!(error, Error::Unwritable { .. }), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("r-concurrency4.json: Is a directory"),
            "{text}"
        );
        assert!(
            text.ends_with(&format!(
                "kept in {} instead",
                dir.path().join("fallback").display()
            )),
            "{text}"
        );
        assert_eq!(error.exit_code(), 1);
    }

    #[test]
    fn a_failed_fallback_is_the_error_with_both_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = files(dir.path(), &[]);
        std::fs::create_dir_all(dir.path().join("r-concurrency4.json/blocked")).unwrap();
        std::fs::write(dir.path().join("fallback"), "a file, not a folder").unwrap();
        let text = files.level_done(&level_result()).unwrap_err().to_string();
        assert!(
            text.contains("Is a directory (os error 21); nor in "),
            "{text}"
        );
        assert!(
            text.contains("Not a directory") || text.contains("File exists"),
            "{text}"
        );
    }
}

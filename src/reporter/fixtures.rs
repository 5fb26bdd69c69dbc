//! Hand-built levels for the outputs' tests: every number is written here,
//! none measured or resampled, so a change in what an output prints shows up
//! as a diff against its expected text and nothing else can move it.

use std::collections::BTreeMap;

use crate::analysis::change::MetricChange;
use crate::analysis::speed_of_light::level::LevelSpeedOfLight;
use crate::analysis::speed_of_light::GpuSpec;
use crate::analysis::{LevelAnalysis, MetricStats, Spread};
use crate::baseline::BenchmarkId;
use crate::config::{Config, RunConfig};
use crate::engine::EngineInfo;
use crate::env::Environment;
use crate::metrics::{
    LatencyMetric, LatencySamples, LevelSamples, LevelSummary, Metric, TrialThroughput,
};
use crate::stats::{
    Comparison, ConfidenceInterval, Estimate, Estimates, Outliers, Summary, Verdict,
};
use crate::sweep::{BaselineChanges, LevelResult, LevelStart, SpeedOfLight};

pub fn engine() -> EngineInfo {
    EngineInfo {
        name: "sim".into(),
        version: "0.1.0".into(),
        simulated: true,
        model: Some("tiny".into()),
        tensor_parallel_size: 1,
        max_model_len: Some(8192),
        vocab_size: Some(32_000),
        settings: BTreeMap::from([("step_base_us".to_string(), "200".to_string())]),
    }
}

pub fn environment() -> Environment {
    Environment {
        enginebench_version: "0.1.0".into(),
        os: "Debian GNU/Linux 12 (bookworm)".into(),
        kernel: Some("6.1.0".into()),
        arch: "x86_64".into(),
        cpu: Some("a CPU".into()),
        logical_cpus: 2,
        memory_gib: Some(23.5),
        gpus: Vec::new(),
        cuda_driver_version: None,
        nvidia_driver: None,
        gpu_note: Some("no CUDA driver found (libcuda.so could not be loaded)".into()),
        python: None,
        python_note: Some("no Python environment".into()),
    }
}

/// `run` with `args` after the subcommand, as the command line checks them.
pub fn run_config(args: &[&str]) -> RunConfig {
    let mut line = vec!["enginebench", "run"];
    line.extend_from_slice(args);
    let command = crate::cli::parse(line.into_iter().map(Into::into)).unwrap();
    match command.into_config().unwrap() {
        Config::Run(config) => *config,
        other => panic!("{other:?}"),
    }
}

fn estimate(point: f64, lo: f64, hi: f64) -> Estimate {
    Estimate {
        point_estimate: point,
        confidence_interval: ConfidenceInterval {
            confidence_level: 0.95,
            lower_bound: lo,
            upper_bound: hi,
        },
        standard_error: (hi - lo) / 4.0,
    }
}

/// Mean, median, p90 and p99 around `x`, each with an interval ±`w`.
fn estimates(x: f64, w: f64) -> Estimates {
    Estimates {
        mean: estimate(x, x - w, x + w),
        median: estimate(x * 0.98, x * 0.98 - w, x * 0.98 + w),
        p90: estimate(x * 1.1, x * 1.1 - w, x * 1.1 + w),
        p99: estimate(x * 1.25, x * 1.25 - 2.0 * w, x * 1.25 + 2.0 * w),
    }
}

fn metric_stats(x: f64, values: usize) -> MetricStats {
    MetricStats {
        values,
        units: 8,
        resamples: 1000,
        estimates: Some(estimates(x, x / 50.0)),
        outliers: Outliers {
            low_severe: 0,
            low_mild: 1,
            high_mild: 2,
            high_severe: 0,
            fences: [0.0, 0.0, 0.0, 0.0],
        },
    }
}

fn spread(per_trial: [f64; 2]) -> Spread {
    let mean = (per_trial[0] + per_trial[1]) / 2.0;
    let std = (per_trial[0] - mean).abs();
    Spread {
        mean: estimate(mean, per_trial[0], per_trial[1]),
        std,
        min: per_trial[0],
        max: per_trial[1],
        coefficient_of_variation: std / mean,
        per_trial: per_trial.to_vec(),
    }
}

/// Eight requests of 32 prompt and 8 output tokens over two trials at
/// concurrency `concurrency`; latencies grow with `scale`.
pub fn level(index: usize, concurrency: Option<usize>, scale: f64) -> LevelResult {
    let percentiles = [50.0, 90.0, 95.0, 99.0];
    let summary = |base: f64| {
        let values: Vec<f64> = (0..8).map(|i| (base + i as f64 * 0.1) * scale).collect();
        Summary::of(&values, &percentiles)
    };
    let trial = |output_throughput: f64| TrialThroughput {
        duration_s: 0.5,
        completed: 4,
        request_throughput: output_throughput / 8.0,
        output_throughput,
        total_token_throughput: output_throughput * 5.0,
    };
    let latencies = LatencySamples {
        ttft_ms: (0..8).map(|i| (1.0 + i as f64 * 0.1) * scale).collect(),
        tpot_ms: vec![0.5 * scale; 8],
        e2el_ms: (0..8).map(|i| (4.5 + i as f64 * 0.1) * scale).collect(),
        itl_ms: vec![vec![0.5 * scale; 7]; 8],
    };
    let level = LevelStart {
        index,
        levels: 2,
        concurrency,
        requests: 4,
    };
    LevelResult {
        benchmark: BenchmarkId {
            engine: "sim".into(),
            model: "tiny".into(),
            workload: "random-32x8".into(),
            schedule: "closed-loop".into(),
            concurrency: concurrency.map_or("c-unbounded".into(), |c| format!("c{c}")),
        },
        start: level,
        schedule: "closed-loop",
        trials: 2,
        stop: None,
        summary: LevelSummary {
            issued: 8,
            completed: 8,
            failed: 0,
            cancelled: 0,
            total_input_tokens: 256,
            total_output_tokens: 64,
            duration_s: 1.0,
            request_throughput: 8.0 / scale,
            output_throughput: 64.0 / scale,
            total_token_throughput: 320.0 / scale,
            request_goodput: None,
            ttft_ms: summary(1.0),
            tpot_ms: Summary::of(&[0.5 * scale; 8], &percentiles),
            itl_ms: Summary::of(&[0.5 * scale; 56], &percentiles),
            e2el_ms: summary(4.5),
            queue_delay_ms: summary(0.01),
            tokens_per_delivery: Summary::of(&[1.0; 8], &percentiles),
        },
        samples: LevelSamples {
            latencies,
            trials: vec![trial(62.0 / scale), trial(66.0 / scale)],
        },
        analysis: LevelAnalysis {
            latencies: vec![
                (LatencyMetric::Ttft, metric_stats(1.35 * scale, 8)),
                (LatencyMetric::Tpot, metric_stats(0.5 * scale, 8)),
                (LatencyMetric::Itl, metric_stats(0.5 * scale, 56)),
                (LatencyMetric::E2el, metric_stats(4.85 * scale, 8)),
            ],
            spread: vec![
                (Metric::OutputThroughput, spread([62.0 / scale, 66.0 / scale])),
                (Metric::RequestThroughput, spread([7.75 / scale, 8.25 / scale])),
                (Metric::TotalTokenThroughput, spread([310.0 / scale, 330.0 / scale])),
            ],
            trials: 2,
        },
        baseline: None,
        warnings: vec![
            "p99 rests on 8 completed requests (fewer than 100): it is little more than the slowest request".into(),
        ],
        failure: None,
        failure_reasons: Vec::new(),
        speed_of_light: SpeedOfLight::Skipped("no model config.json (pass --model DIR holding one)".into()),
        traffic: Default::default(),
    }
}

/// [`level`] at concurrency 4, judged against baseline `main` and with its
/// speed of light.
pub fn level_result() -> LevelResult {
    let mut level = level(0, Some(4), 1.0);
    level.baseline = Some(BaselineChanges {
        name: "main".into(),
        changes: vec![
            MetricChange {
                metric: Metric::Latency(LatencyMetric::Ttft),
                comparison: Some(Comparison {
                    change: estimates(0.1, 0.02),
                    p_value: 0.0004,
                    verdict: Verdict::Regressed,
                }),
                skipped: None,
            },
            MetricChange {
                metric: Metric::Latency(LatencyMetric::Tpot),
                comparison: Some(Comparison {
                    change: estimates(-0.004, 0.01),
                    p_value: 0.41,
                    verdict: Verdict::NoChange,
                }),
                skipped: None,
            },
            MetricChange {
                metric: Metric::OutputThroughput,
                comparison: None,
                skipped: Some("needs --trials 2 or more on both sides".into()),
            },
        ],
    });
    level.speed_of_light = SpeedOfLight::Figures(LevelSpeedOfLight {
        gpu: GpuSpec {
            name: "H100-SXM".into(),
            memory_bandwidth_bytes_per_s: 3.35e12,
            peak_bf16_flops: 9.89e14,
        },
        gpu_source: "--gpu".into(),
        tensor_parallel_size: 1,
        model_parameters: 19_286_272,
        weight_bytes: 38_572_544,
        kv_bytes_per_token: 2048,
        decode_batch: 3.5,
        mean_context_tokens: 36.0,
        tpot_floor_ms: 0.0116,
        measured_mean_tpot_ms: 0.5,
        memory_bandwidth_utilisation: Some(0.0232),
        mean_input_tokens: 32.0,
        ttft_floor_ms: 0.00072,
        measured_mean_ttft_ms: 1.35,
        flop_utilisation: Some(0.000533),
        simulated: true,
    });
    level
}

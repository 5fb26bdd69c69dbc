//! Analysis: the statistics of `stats` applied to one level's samples —
//! intervals and outliers per latency metric, the spread of throughputs
//! between trials, validity warnings, and changes against another level.

pub mod change;
pub mod speed_of_light;
pub mod validity;

use serde::{Deserialize, Serialize};

use crate::metrics::{LatencyMetric, LevelSamples, Metric};
use crate::stats::{self, BootstrapConfig, Estimate, Estimates, Outliers, Sample, Thresholds};

/// How intervals are computed and changes judged (`--confidence-level`,
/// `--bootstrap-resamples`, `--noise-threshold`, `--significance-level`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatisticsOptions {
    pub bootstrap: BootstrapConfig,
    pub thresholds: Thresholds,
}

/// Intervals and outliers of one latency metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    /// Values (ITL: gaps) and resampling units (requests).
    pub values: usize,
    pub units: usize,
    pub resamples: usize,
    #[serde(flatten)]
    pub estimates: Option<Estimates>,
    pub outliers: Outliers,
}

/// How one throughput varied between trials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Mean over trials, with a bootstrap interval over trials.
    pub mean: Estimate,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// std / mean.
    pub coefficient_of_variation: f64,
    pub per_trial: Vec<f64>,
}

/// A level's statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelAnalysis {
    pub latencies: Vec<(LatencyMetric, MetricStats)>,
    /// Empty with fewer than two trials.
    pub spread: Vec<(Metric, Spread)>,
    pub trials: usize,
}

impl LevelAnalysis {
    pub fn latency(&self, metric: LatencyMetric) -> Option<&MetricStats> {
        self.latencies
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|(_, s)| s)
    }
}

/// Intervals for every latency metric, each on a seed of its own, computed
/// in parallel; the spread of throughputs when there are several trials.
pub fn analyze(level: &LevelSamples, config: &BootstrapConfig) -> LevelAnalysis {
    let latencies = std::thread::scope(|scope| {
        let handles: Vec<_> = LatencyMetric::ALL
            .into_iter()
            .enumerate()
            .map(|(i, metric)| {
                let config = config.reseeded(i as u64);
                scope.spawn(move || {
                    (
                        metric,
                        metric_stats(&level.latencies.sample(metric), &config),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            // A panic in a statistics thread is a bug: re-raise it here rather than report half a level.
            .map(|h| h.join().expect("statistics do not panic"))
            .collect()
    });
    let spread = if level.trials.len() < 2 {
        Vec::new()
    } else {
        Metric::THROUGHPUTS
            .into_iter()
            .enumerate()
            .map(|(i, m)| (m, spread(&m.sample(level), &config.reseeded(10 + i as u64))))
            .collect()
    };
    LevelAnalysis {
        latencies,
        spread,
        trials: level.trials.len(),
    }
}

fn metric_stats(sample: &Sample, config: &BootstrapConfig) -> MetricStats {
    MetricStats {
        values: sample.values().len(),
        units: sample.units(),
        resamples: config.resamples_for(sample.values().len()),
        estimates: stats::estimates(sample, config),
        outliers: Outliers::classify(sample.values()),
    }
}

/// Needs a non-empty sample.
fn spread(sample: &Sample, config: &BootstrapConfig) -> Spread {
    let values = sample.values();
    // Cannot fail: the caller passes samples of two or more trials only.
    let estimates = stats::estimates(sample, config).expect("two or more trials");
    let summary = stats::Summary::of(values, &[]);
    Spread {
        mean: estimates.mean,
        std: summary.std,
        min: summary.min,
        max: summary.max,
        coefficient_of_variation: if summary.mean > 0.0 {
            summary.std / summary.mean
        } else {
            0.0
        },
        per_trial: values.to_vec(),
    }
}

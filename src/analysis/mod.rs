//! Analysis: the statistics of `stats` applied to one level's samples —
//! intervals and outliers per latency metric, the spread of throughputs
//! between trials, validity warnings, and changes against another level.
//!
//! Trials are the replicates: each latency's mean, median, p90 and p99 are
//! computed per trial, and their intervals are Student-t intervals from the
//! spread of those per-trial values (`stats::trials`), so that the
//! run-to-run variation the trials sampled is in them. A level of one trial
//! has no such interval: it gets the bootstrap of its requests instead,
//! labelled [`IntervalBasis::WithinRun`], which says how precisely this one
//! run was measured and nothing about how the next run would differ.

pub mod change;
pub mod speed_of_light;
pub mod validity;

use serde::{Deserialize, Serialize};

use crate::metrics::{LatencyMetric, LevelSamples, Metric};
use crate::stats::noise::NoiseThreshold;
use crate::stats::trials::{
    between_trials, variance_components, TrialStatistic, VarianceComponents,
};
use crate::stats::{self, BootstrapConfig, Estimate, Estimates, Outliers, Thresholds};

/// How intervals are computed and changes judged (`--confidence-level`,
/// `--bootstrap-resamples`, `--noise-threshold`, `--significance-level`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatisticsOptions {
    pub bootstrap: BootstrapConfig,
    /// `noise`: the threshold of metrics with no calibrated one (the
    /// default, or `--noise-threshold`); `significance`: the family's level.
    pub thresholds: Thresholds,
    /// `--noise-threshold` was given: it applies even where a calibrated
    /// threshold is stored.
    pub fixed_noise: bool,
}

impl StatisticsOptions {
    /// The noise threshold `metric` is judged with, and why: `--noise-threshold`
    /// when given, else the one calibrated for it (`calibrate-noise`), else
    /// the fixed default.
    pub fn noise_for(
        &self,
        metric: Metric,
        calibrated: &[(Metric, NoiseThreshold)],
    ) -> NoiseChoice {
        let fixed = NoiseThreshold::fixed(self.thresholds.noise);
        if self.fixed_noise {
            return NoiseChoice::new(fixed, "--noise-threshold");
        }
        match calibrated.iter().find(|(m, _)| *m == metric) {
            Some((_, threshold)) => NoiseChoice::new(*threshold, "calibrated for this benchmark"),
            None => NoiseChoice::new(
                fixed,
                "the default; no calibration stored for this benchmark (enginebench calibrate-noise)",
            ),
        }
    }
}

/// A noise threshold as applied to one metric, with the reason it was chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseChoice {
    #[serde(flatten)]
    pub threshold: NoiseThreshold,
    pub why: String,
}

impl NoiseChoice {
    fn new(threshold: NoiseThreshold, why: &str) -> Self {
        Self {
            threshold,
            why: why.into(),
        }
    }

    /// "±1.6% (0.5 x the 3.1% spread of 10 A/A trials), calibrated for this benchmark".
    pub fn describe(&self) -> String {
        format!("{}, {}", self.threshold.describe(), self.why)
    }
}

/// What a latency's intervals describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalBasis {
    /// Student-t intervals from the spread of the trials' own statistics:
    /// the run-to-run variation the trials sampled is counted.
    BetweenTrials,
    /// One trial: the bootstrap of its requests, how precisely this run was
    /// measured; how the next run would differ is not in it.
    WithinRun,
}

impl IntervalBasis {
    pub fn label(self) -> &'static str {
        match self {
            IntervalBasis::BetweenTrials => "between trials",
            IntervalBasis::WithinRun => "within run",
        }
    }
}

/// How one statistic of a latency varied from trial to trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialSpread {
    /// Sample standard deviation of the per-trial values.
    pub between_trial_sd: f64,
    /// `between_trial_sd / |mean|`.
    pub relative_spread: f64,
    pub per_trial: Vec<f64>,
}

impl From<&TrialStatistic> for TrialSpread {
    fn from(s: &TrialStatistic) -> Self {
        Self {
            between_trial_sd: s.between_trial_sd,
            relative_spread: s.relative_spread,
            per_trial: s.per_trial.clone(),
        }
    }
}

/// The trial spread of mean, median, p90 and p99.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialSpreads {
    pub mean: TrialSpread,
    pub median: TrialSpread,
    pub p90: TrialSpread,
    pub p99: TrialSpread,
}

/// Intervals and outliers of one latency metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    /// Values (ITL: gaps) and requests, every trial together.
    pub values: usize,
    pub units: usize,
    /// Trials with values (absent in files of 0.1.0, which pooled them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials: Option<usize>,
    /// What the intervals describe (absent in files of 0.1.0: within run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<IntervalBasis>,
    /// Bootstrap resamples of a within-run interval; 0 between trials.
    pub resamples: usize,
    /// Mean, median, p90 and p99: between trials, the mean of the trials'
    /// values with its t interval; within a run, the request bootstrap's.
    #[serde(flatten)]
    pub estimates: Option<Estimates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between_trials: Option<TrialSpreads>,
    /// How the variance of the values splits between and within trials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variance_components: Option<VarianceComponents>,
    pub outliers: Outliers,
}

impl MetricStats {
    /// `None` in files of 0.1.0, whose intervals were the request bootstrap.
    pub fn basis(&self) -> IntervalBasis {
        self.interval.unwrap_or(IntervalBasis::WithinRun)
    }
}

/// How one throughput varied between trials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Mean over trials, with its Student-t interval.
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
                scope.spawn(move || (metric, metric_stats(level, metric, &config)))
            })
            .collect();
        handles
            .into_iter()
            // A panic in a statistics thread is a bug: re-raise it here rather than report half a level.
            .map(|h| h.join().expect("statistics do not panic"))
            .collect()
    });
    let spread = Metric::THROUGHPUTS
        .into_iter()
        .filter_map(|m| {
            let values = level.per_trial(m).concat();
            Some((m, spread(values, config.confidence_level)?))
        })
        .collect();
    LevelAnalysis {
        latencies,
        spread,
        trials: level.trials.len(),
    }
}

/// Between trials when two or more have values, else within the one run.
fn metric_stats(
    level: &LevelSamples,
    metric: LatencyMetric,
    config: &BootstrapConfig,
) -> MetricStats {
    let per_trial = level.per_trial(Metric::Latency(metric));
    let pooled = level.pooled().sample(metric);
    let trials = per_trial.iter().filter(|t| !t.is_empty()).count();
    let mut stats = MetricStats {
        values: pooled.values().len(),
        units: pooled.units(),
        trials: Some(trials),
        interval: Some(IntervalBasis::BetweenTrials),
        resamples: 0,
        estimates: None,
        between_trials: None,
        variance_components: variance_components(&per_trial),
        outliers: Outliers::classify(pooled.values()),
    };
    match between_trials(&per_trial, config.confidence_level) {
        Some(e) => {
            stats.estimates = Some(e.estimates());
            stats.between_trials = Some(TrialSpreads {
                mean: (&e.mean).into(),
                median: (&e.median).into(),
                p90: (&e.p90).into(),
                p99: (&e.p99).into(),
            });
        }
        None => {
            stats.interval = Some(IntervalBasis::WithinRun);
            stats.resamples = config.resamples_for(pooled.values().len());
            stats.estimates = stats::estimates(&pooled, config);
        }
    }
    stats
}

/// The spread of one value per trial; `None` with fewer than two.
fn spread(values: Vec<f64>, confidence_level: f64) -> Option<Spread> {
    let summary = stats::Summary::of(&values, &[]);
    let over_trials = TrialStatistic::of(values, confidence_level)?;
    Some(Spread {
        mean: over_trials.estimate,
        std: over_trials.between_trial_sd,
        min: summary.min,
        max: summary.max,
        coefficient_of_variation: if summary.mean > 0.0 {
            over_trials.between_trial_sd / summary.mean
        } else {
            0.0
        },
        per_trial: over_trials.per_trial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{LatencySamples, TrialThroughput};

    fn trial(ttft: &[f64], output_throughput: f64) -> (LatencySamples, TrialThroughput) {
        let latencies = LatencySamples {
            ttft_ms: ttft.to_vec(),
            ..LatencySamples::default()
        };
        let throughput = TrialThroughput {
            duration_s: 1.0,
            completed: ttft.len(),
            request_throughput: 1.0,
            output_throughput,
            total_token_throughput: 2.0 * output_throughput,
        };
        (latencies, throughput)
    }

    fn level(trials: &[(&[f64], f64)]) -> LevelSamples {
        let (latencies, trials) = trials.iter().map(|(t, o)| trial(t, *o)).unzip();
        LevelSamples { latencies, trials }
    }

    /// Three trials whose means are 10, 12 and 14: the mean's interval is
    /// the t interval of those three, not the bootstrap of nine requests.
    #[test]
    fn intervals_of_several_trials_come_from_the_spread_between_them() {
        let level = level(&[
            (&[9.0, 10.0, 11.0], 100.0),
            (&[11.0, 12.0, 13.0], 110.0),
            (&[13.0, 14.0, 15.0], 120.0),
        ]);
        let a = analyze(&level, &BootstrapConfig::default());
        let ttft = a.latency(LatencyMetric::Ttft).unwrap();
        assert_eq!(
            (ttft.trials, ttft.basis()),
            (Some(3), IntervalBasis::BetweenTrials)
        );
        assert_eq!((ttft.values, ttft.units, ttft.resamples), (9, 9, 0));
        let mean = ttft.estimates.unwrap().mean;
        let half = 4.302_653 * 2.0 / 3f64.sqrt();
        let [lo, hi] = mean.interval();
        assert!((mean.point_estimate - 12.0).abs() < 1e-12);
        assert!((lo - (12.0 - half)).abs() < 1e-4 && (hi - (12.0 + half)).abs() < 1e-4);
        let spread = &ttft.between_trials.as_ref().unwrap().mean;
        assert_eq!(spread.per_trial, vec![10.0, 12.0, 14.0]);
        assert!((spread.between_trial_sd - 2.0).abs() < 1e-12);
        let components = ttft.variance_components.unwrap();
        assert!(components.intraclass_correlation > 0.5, "{components:?}");
        // Throughputs: the t interval of 100, 110, 120.
        let (metric, out) = &a.spread[0];
        assert_eq!(*metric, Metric::OutputThroughput);
        let [lo, hi] = out.mean.interval();
        assert!((out.std - 10.0).abs() < 1e-12);
        assert!((hi - lo - 2.0 * 4.302_653 * 10.0 / 3f64.sqrt()).abs() < 1e-3);
        assert!(
            lo < 100.0,
            "beyond the trials' range, unlike a bootstrap of three"
        );
    }

    /// One trial: the request bootstrap, labelled within run; no spread.
    #[test]
    fn a_single_trial_gets_the_within_run_interval() {
        let values: Vec<f64> = (0..50).map(|i| 10.0 + (i % 7) as f64).collect();
        let level = level(&[(&values, 100.0)]);
        let a = analyze(&level, &BootstrapConfig::default());
        let ttft = a.latency(LatencyMetric::Ttft).unwrap();
        assert_eq!(ttft.basis(), IntervalBasis::WithinRun);
        assert!(ttft.resamples >= 1000 && ttft.between_trials.is_none());
        let [lo, hi] = ttft.estimates.unwrap().mean.interval();
        assert!(lo < hi);
        assert!(a.spread.is_empty(), "one trial has no spread");
        let json = serde_json::to_value(ttft).unwrap();
        assert_eq!(json["interval"], "within_run");
    }

    #[test]
    fn noise_thresholds_follow_the_flag_then_the_calibration_then_the_default() {
        let tpot = Metric::Latency(LatencyMetric::Tpot);
        let calibrated = [(tpot, NoiseThreshold::calibrated(0.03, 10, 0.5, 0.01))];
        let options = StatisticsOptions::default();
        let chosen = options.noise_for(tpot, &calibrated);
        assert!((chosen.threshold.value - 0.015).abs() < 1e-12);
        assert_eq!(
            chosen.describe(),
            "±1.5% (0.5 x the 3.0% spread of 10 A/A trials), calibrated for this benchmark"
        );
        let other = options.noise_for(Metric::OutputThroughput, &calibrated);
        assert_eq!(other.threshold, NoiseThreshold::fixed(0.02));
        assert!(other.why.starts_with("the default"), "{}", other.why);
        let flag = StatisticsOptions {
            fixed_noise: true,
            thresholds: Thresholds {
                noise: 0.05,
                ..Thresholds::default()
            },
            ..options
        };
        let given = flag.noise_for(tpot, &calibrated);
        assert_eq!(given.threshold, NoiseThreshold::fixed(0.05));
        assert_eq!(given.why, "--noise-threshold");
    }
}

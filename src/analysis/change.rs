//! Changes between two levels, metric by metric, with criterion's verdicts.

use serde::{Deserialize, Serialize};

use super::StatisticsOptions;
use crate::metrics::{LevelSamples, Metric};
use crate::stats::{self, BootstrapConfig, Comparison, Thresholds};

/// One metric's change from base to new, or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    pub metric: Metric,
    #[serde(flatten)]
    pub comparison: Option<Comparison>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Compares every metric in `metrics`. Throughputs need two or more trials on
/// both sides: one trial gives no spread to judge a change against.
pub fn between(
    base: &LevelSamples,
    new: &LevelSamples,
    metrics: &[Metric],
    options: &StatisticsOptions,
) -> Vec<MetricChange> {
    metrics
        .iter()
        .enumerate()
        .map(|(i, &metric)| {
            let config = options.bootstrap.reseeded(100 + i as u64);
            compare_metric(base, new, metric, &options.thresholds, &config)
        })
        .collect()
}

fn compare_metric(
    base: &LevelSamples,
    new: &LevelSamples,
    metric: Metric,
    thresholds: &Thresholds,
    config: &BootstrapConfig,
) -> MetricChange {
    let skip = |why: &str| MetricChange {
        metric,
        comparison: None,
        skipped: Some(why.into()),
    };
    let throughput = !matches!(metric, Metric::Latency(_));
    if throughput && (base.trials.len() < 2 || new.trials.len() < 2) {
        return skip("needs --trials 2 or more on both sides");
    }
    let (a, b) = (metric.sample(base), metric.sample(new));
    match stats::two_sample(&a, &b, metric.direction(), thresholds, config) {
        Some(comparison) => MetricChange {
            metric,
            comparison: Some(comparison),
            skipped: None,
        },
        None => skip("no values on one side"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{LatencyMetric, TrialThroughput};
    use crate::stats::Verdict;

    fn level(ttft: f64, throughputs: &[f64]) -> LevelSamples {
        let mut level = LevelSamples::default();
        level.latencies.ttft_ms = (0..200).map(|i| ttft + (i % 10) as f64).collect();
        level.trials = throughputs
            .iter()
            .map(|&t| TrialThroughput {
                duration_s: 1.0,
                completed: 200,
                request_throughput: t / 10.0,
                output_throughput: t,
                total_token_throughput: t * 2.0,
            })
            .collect();
        level
    }

    #[test]
    fn latency_and_throughput_regressions_are_found_and_single_trials_skipped() {
        let options = StatisticsOptions::default();
        let metrics = [
            Metric::Latency(LatencyMetric::Ttft),
            Metric::OutputThroughput,
        ];
        let base = level(100.0, &[1000.0, 1010.0, 990.0, 1005.0, 995.0]);
        let new = level(115.0, &[900.0, 905.0, 895.0, 910.0, 890.0]);
        let changes = between(&base, &new, &metrics, &options);
        let verdicts: Vec<_> = changes
            .iter()
            .map(|c| c.comparison.unwrap().verdict)
            .collect();
        assert_eq!(verdicts, vec![Verdict::Regressed, Verdict::Regressed]);

        let single = between(&level(100.0, &[1000.0]), &new, &metrics, &options);
        assert!(single[0].comparison.is_some());
        assert!(single[1].skipped.as_deref().unwrap().contains("--trials 2"));
    }
}

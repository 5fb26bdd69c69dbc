//! Changes between two levels, metric by metric, judged with the trial as
//! the unit of replication: every metric compared (`stats::trial_test`) is
//! one member of a family, judged on Holm-adjusted p-values, each with its
//! own noise threshold (fixed, or calibrated for the benchmark).

use serde::{Deserialize, Serialize};

use super::{NoiseChoice, StatisticsOptions};
use crate::metrics::{LevelSamples, Metric};
use crate::stats::noise::NoiseThreshold;
use crate::stats::trial_test::{compare_family, Member, TrialComparison, TrialVerdict};
use crate::stats::{Comparison, Estimate, Estimates, Verdict};

/// One metric's change from base to new, or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    pub metric: Metric,
    #[serde(flatten)]
    pub comparison: Option<Judged>,
    /// The noise threshold the verdict used, and why that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_threshold: Option<NoiseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// A comparison, as this version makes it or as result files of 0.1.0 hold it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Judged {
    /// Trials as replicates.
    Trials(TrialComparison),
    /// Requests as replicates, as 0.1.0 judged: only read from its files.
    Requests(Comparison),
}

impl Judged {
    pub fn verdict(&self) -> TrialVerdict {
        match self {
            Judged::Trials(c) => c.verdict,
            Judged::Requests(c) => match c.verdict {
                Verdict::Improved => TrialVerdict::Improved,
                Verdict::Regressed => TrialVerdict::Regressed,
                Verdict::NoChange => TrialVerdict::NoChange,
            },
        }
    }

    /// Relative changes of mean, median, p90, p99; `None` with fewer than
    /// two trials on a side.
    pub fn change(&self) -> Option<&Estimates> {
        match self {
            Judged::Trials(c) => c.change.as_ref(),
            Judged::Requests(c) => Some(&c.change),
        }
    }

    pub fn mean_change(&self) -> Option<&Estimate> {
        self.change().map(|c| &c.mean)
    }

    /// The p-value the verdict read: Holm-adjusted in a family.
    pub fn p_value(&self) -> f64 {
        match self {
            Judged::Trials(c) => c.family_p_value,
            Judged::Requests(c) => c.p_value,
        }
    }

    /// `[base, new]` trials compared; `None` for 0.1.0's comparisons.
    pub fn trials(&self) -> Option<[usize; 2]> {
        match self {
            Judged::Trials(c) => Some(c.trials),
            Judged::Requests(_) => None,
        }
    }
}

impl MetricChange {
    pub fn verdict(&self) -> Option<TrialVerdict> {
        self.comparison.as_ref().map(Judged::verdict)
    }

    pub fn regressed(&self) -> bool {
        self.verdict() == Some(TrialVerdict::Regressed)
    }

    /// Trials a side a verdict needs, when there were too few.
    pub fn trials_needed(&self) -> Option<usize> {
        match self.verdict()? {
            TrialVerdict::InsufficientTrials { need } => Some(need),
            _ => None,
        }
    }
}

/// Compares every metric in `metrics` as one family, so that the chance of
/// any false verdict among them stays at the significance level. Each
/// metric's noise threshold is `options.noise_for` it, given the thresholds
/// `calibrated` for this benchmark (empty when there are none).
pub fn between(
    base: &LevelSamples,
    new: &LevelSamples,
    metrics: &[Metric],
    options: &StatisticsOptions,
    calibrated: &[(Metric, NoiseThreshold)],
) -> Vec<MetricChange> {
    let sides: Vec<[Vec<Vec<f64>>; 2]> = metrics
        .iter()
        .map(|&m| [base.per_trial(m), new.per_trial(m)])
        .collect();
    let noise: Vec<NoiseChoice> = metrics
        .iter()
        .map(|&m| options.noise_for(m, calibrated))
        .collect();
    let members: Vec<Member<Vec<f64>>> = metrics
        .iter()
        .zip(&sides)
        .zip(&noise)
        .map(|((metric, [base, new]), noise)| Member {
            base,
            new,
            direction: metric.direction(),
            noise: noise.threshold.value,
        })
        .collect();
    let bootstrap = options.bootstrap.reseeded(100);
    let family = compare_family(&members, options.thresholds.significance, &bootstrap);
    metrics
        .iter()
        .zip(family)
        .zip(noise)
        .map(|((&metric, comparison), noise)| MetricChange {
            metric,
            skipped: comparison
                .is_none()
                .then(|| "no values on one side".to_string()),
            comparison: comparison.map(Judged::Trials),
            noise_threshold: Some(noise),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{LatencyMetric, LatencySamples, TrialThroughput};

    /// `trials` trials: TTFT around `ttft` (each trial shifted a little),
    /// and the given throughputs.
    fn level(ttft: f64, throughputs: &[f64]) -> LevelSamples {
        let mut level = LevelSamples::default();
        for (k, &t) in throughputs.iter().enumerate() {
            let shift = 1.0 + 0.004 * (k as f64 - 2.0);
            level.latencies.push(LatencySamples {
                ttft_ms: (0..40).map(|i| (ttft + (i % 10) as f64) * shift).collect(),
                ..LatencySamples::default()
            });
            level.trials.push(TrialThroughput {
                duration_s: 1.0,
                completed: 40,
                request_throughput: t / 10.0,
                output_throughput: t,
                total_token_throughput: t * 2.0,
            });
        }
        level
    }

    const METRICS: [Metric; 2] = [
        Metric::Latency(LatencyMetric::Ttft),
        Metric::OutputThroughput,
    ];

    #[test]
    fn latency_and_throughput_regressions_are_found_as_a_family() {
        let options = StatisticsOptions::default();
        let base = level(100.0, &[1000.0, 1010.0, 990.0, 1005.0, 995.0]);
        let new = level(115.0, &[900.0, 905.0, 895.0, 910.0, 890.0]);
        let changes = between(&base, &new, &METRICS, &options, &[]);
        let verdicts: Vec<_> = changes.iter().map(|c| c.verdict().unwrap()).collect();
        assert_eq!(
            verdicts,
            vec![TrialVerdict::Regressed, TrialVerdict::Regressed]
        );
        for c in &changes {
            let Some(Judged::Trials(t)) = c.comparison else {
                panic!("{c:?}");
            };
            assert_eq!((t.trials, t.family_size, t.exact), ([5, 5], 2, true));
            assert!(c
                .noise_threshold
                .as_ref()
                .unwrap()
                .why
                .starts_with("the default"));
        }
        let same = between(&base, &base, &METRICS, &options, &[]);
        assert!(same
            .iter()
            .all(|c| c.verdict() == Some(TrialVerdict::NoChange)));
    }

    /// One trial on a side, or too few for the family: "insufficient
    /// trials", never a verdict, however large the change.
    #[test]
    fn too_few_trials_are_insufficient_not_regressed() {
        let options = StatisticsOptions::default();
        let new = level(150.0, &[500.0, 505.0, 495.0, 510.0, 490.0]);
        let single = between(&level(100.0, &[1000.0]), &new, &METRICS, &options, &[]);
        // A family of two at 0.05: 4 a side cannot reach 0.025.
        assert!(
            single.iter().all(|c| c.trials_needed() == Some(5)),
            "{single:?}"
        );
        assert!(!single[0].regressed());
        let four = level(100.0, &[1000.0, 1010.0, 990.0, 1005.0]);
        let slow_four = level(150.0, &[500.0, 505.0, 495.0, 510.0]);
        let alone = between(&four, &slow_four, &METRICS[..1], &options, &[]);
        assert!(alone[0].regressed(), "one metric: 4 a side suffice");
        let five_metrics = [METRICS[0], METRICS[1], METRICS[1], METRICS[1], METRICS[1]];
        let family = between(&four, &slow_four, &five_metrics, &options, &[]);
        assert!(family
            .iter()
            .all(|c| c.verdict().is_some() && !c.regressed()));
        assert_eq!(family[0].trials_needed(), Some(5));
        let empty = between(&LevelSamples::default(), &new, &METRICS, &options, &[]);
        assert_eq!(empty[0].skipped.as_deref(), Some("no values on one side"));
    }

    /// A calibrated threshold wider than the change keeps it "no change".
    #[test]
    fn a_calibrated_threshold_applies_to_its_metric() {
        let options = StatisticsOptions::default();
        let base = level(100.0, &[1000.0, 1010.0, 990.0, 1005.0, 995.0]);
        let new = level(104.0, &[1000.0, 1010.0, 990.0, 1005.0, 995.0]);
        let ttft = Metric::Latency(LatencyMetric::Ttft);
        let fixed = between(&base, &new, &[ttft], &options, &[]);
        assert_eq!(fixed[0].verdict(), Some(TrialVerdict::Regressed));
        let wide = [(ttft, NoiseThreshold::calibrated(0.2, 10, 0.5, 0.01))];
        let calibrated = between(&base, &new, &[ttft], &options, &wide);
        assert_eq!(calibrated[0].verdict(), Some(TrialVerdict::NoChange));
        let json = serde_json::to_value(&calibrated[0]).unwrap();
        assert_eq!(json["noise_threshold"]["source"], "calibrated");
        assert_eq!(json["verdict"], "no_change");
        let back: MetricChange = serde_json::from_value(json).unwrap();
        assert_eq!(back, calibrated[0]);
    }
}

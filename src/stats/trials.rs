//! Estimates with the trial as the unit of replication.
//!
//! Two runs of the same setup on a real engine differ mostly by a shift that
//! every request of a run shares (process placement, clocks, memory layout,
//! the engine's own warm state), not by the spread of requests within a run.
//! Requests of one trial are therefore not independent replicates; trials
//! are. Resampling requests gives intervals for "this run again, with other
//! requests", which shrink as requests are added while the run-to-run shift
//! stays: that is how identical runs get flagged.
//!
//! So each statistic (mean, median, p90, p99) is computed per trial, and its
//! estimate is the mean over trials with a Student-t interval from the
//! spread between trials:
//!
//! ```text
//! point = mean_i s_i     se = sd_i(s_i) / sqrt(n)     interval = point ± t(n-1, 1 - α/2) · se
//! ```
//!
//! The variance of a trial's statistic `s_i` holds both the run-level shift
//! and the request-to-request sampling noise of that trial, so neither is
//! counted twice or left out (resampling trials *and* requests within them
//! counts the within-trial part twice; resampling trials alone cannot reach
//! beyond the trials' range and ignores that few trials call for `t`, not
//! normal, quantiles). For the mean of trials of equal size this is the exact
//! interval of the one-way random-effects model. The estimand is the value a
//! trial of this size reports on average: for the mean, the engine's mean;
//! for p99, the expected p99 of a trial.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::{ConfidenceInterval, Estimate, Estimates, Sample};

/// Above this many degrees of freedom the t quantile is the normal one to
/// better than 1e-5 relative (statrs loses precision there instead).
const NORMAL_ABOVE_DF: f64 = 1e5;

/// Quantile `p` of Student's t with `df` degrees of freedom (`df` > 0;
/// infinite means the standard normal).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    assert!(
        df > 0.0 && (0.0..1.0).contains(&p) && p > 0.0,
        "t({df}) at {p}"
    );
    if df > NORMAL_ABOVE_DF {
        Normal::standard().inverse_cdf(p)
    } else {
        StudentsT::new(0.0, 1.0, df)
            // Cannot fail: callers pass two or more trials, so the degrees of freedom are positive.
            .expect("positive degrees of freedom")
            .inverse_cdf(p)
    }
}

/// One statistic over trials: the mean of the per-trial values with its
/// t-interval, and how much the trials differed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialStatistic {
    /// `point_estimate` is the mean of `per_trial`; `standard_error` is
    /// `between_trial_sd / sqrt(trials)`.
    #[serde(flatten)]
    pub estimate: Estimate,
    /// Sample standard deviation of the per-trial values (n - 1).
    pub between_trial_sd: f64,
    /// `between_trial_sd / |mean|`: the run-to-run spread that a noise
    /// calibration stores. 0 when the mean is 0.
    pub relative_spread: f64,
    pub per_trial: Vec<f64>,
}

impl TrialStatistic {
    /// From one value per trial (a throughput, or one statistic of each
    /// trial); `None` with fewer than two values.
    pub fn of(per_trial: Vec<f64>, confidence_level: f64) -> Option<Self> {
        let n = per_trial.len();
        if n < 2 {
            return None;
        }
        let (mean, sd) = mean_and_sd(&per_trial);
        let standard_error = sd / (n as f64).sqrt();
        let half_width =
            t_quantile(1.0 - (1.0 - confidence_level) / 2.0, (n - 1) as f64) * standard_error;
        Some(Self {
            estimate: Estimate {
                point_estimate: mean,
                confidence_interval: ConfidenceInterval {
                    confidence_level,
                    lower_bound: mean - half_width,
                    upper_bound: mean + half_width,
                },
                standard_error,
            },
            between_trial_sd: sd,
            relative_spread: if mean == 0.0 { 0.0 } else { sd / mean.abs() },
            per_trial,
        })
    }

    pub fn trials(&self) -> usize {
        self.per_trial.len()
    }
}

/// The four statistics of one metric, each estimated over trials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialEstimates {
    pub trials: usize,
    pub mean: TrialStatistic,
    pub median: TrialStatistic,
    pub p90: TrialStatistic,
    pub p99: TrialStatistic,
}

impl TrialEstimates {
    /// In [`Estimates::NAMES`] order.
    pub fn get(&self, index: usize) -> &TrialStatistic {
        [&self.mean, &self.median, &self.p90, &self.p99][index]
    }

    /// The estimates alone, in the shape the request-level bootstrap gives.
    pub fn estimates(&self) -> Estimates {
        Estimates {
            mean: self.mean.estimate,
            median: self.median.estimate,
            p90: self.p90.estimate,
            p99: self.p99.estimate,
        }
    }
}

/// Mean, median, p90 and p99 of each non-empty trial, as `numpy.percentile`
/// interpolates. A trial that completed nothing reports nothing, so it is
/// left out rather than counted as zero.
pub fn per_trial_statistics<T: AsRef<[f64]>>(trials: &[T]) -> Vec<[f64; 4]> {
    trials
        .iter()
        .map(AsRef::as_ref)
        .filter(|values| !values.is_empty())
        .map(|values| Sample::new(values.to_vec()).statistics())
        .collect()
}

/// Estimates of the mean, median, p90 and p99 with trials as replicates;
/// `None` with fewer than two non-empty trials (one trial says nothing about
/// how the next one would differ).
pub fn between_trials<T: AsRef<[f64]>>(
    trials: &[T],
    confidence_level: f64,
) -> Option<TrialEstimates> {
    let stats = per_trial_statistics(trials);
    let column =
        |i: usize| TrialStatistic::of(stats.iter().map(|s| s[i]).collect(), confidence_level);
    Some(TrialEstimates {
        trials: stats.len(),
        mean: column(0)?,
        median: column(1)?,
        p90: column(2)?,
        p99: column(3)?,
    })
}

/// How the variance of one metric's values splits between trials and
/// within them (one-way random-effects ANOVA, method of moments).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VarianceComponents {
    pub trials: usize,
    pub values: usize,
    /// Standard deviation of the trials' true means (the run-level shift).
    pub between_trial_sd: f64,
    /// Standard deviation of values around their own trial's mean.
    pub within_trial_sd: f64,
    /// `between² / (between² + within²)`: how alike two values of one trial are.
    pub intraclass_correlation: f64,
    /// `1 + (values per trial - 1) x intraclass_correlation` (Kish): how many
    /// times the variance of the pooled mean exceeds what treating every value
    /// as independent claims. Its square root is how much too narrow a
    /// request-level interval is.
    pub design_effect: f64,
}

/// Variance components of values grouped by trial; `None` unless there are
/// two or more non-empty trials and more values than trials.
pub fn variance_components<T: AsRef<[f64]>>(trials: &[T]) -> Option<VarianceComponents> {
    let groups: Vec<&[f64]> = trials
        .iter()
        .map(AsRef::as_ref)
        .filter(|g| !g.is_empty())
        .collect();
    let k = groups.len();
    let n: usize = groups.iter().map(|g| g.len()).sum();
    if k < 2 || n <= k {
        return None;
    }
    let grand = groups.iter().flat_map(|g| g.iter()).sum::<f64>() / n as f64;
    let (mut between, mut within) = (0.0, 0.0);
    for group in &groups {
        let mean = group.iter().sum::<f64>() / group.len() as f64;
        between += group.len() as f64 * (mean - grand).powi(2);
        within += group.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
    }
    let ms_between = between / (k - 1) as f64;
    let ms_within = within / (n - k) as f64;
    // The effective trial size of an unbalanced design (m when all are m).
    let squares: f64 = groups.iter().map(|g| (g.len() as f64).powi(2)).sum();
    let m0 = (n as f64 - squares / n as f64) / (k - 1) as f64;
    let between_var = ((ms_between - ms_within) / m0).max(0.0);
    let total = between_var + ms_within;
    let icc = if total > 0.0 {
        between_var / total
    } else {
        0.0
    };
    Some(VarianceComponents {
        trials: k,
        values: n,
        between_trial_sd: between_var.sqrt(),
        within_trial_sd: ms_within.sqrt(),
        intraclass_correlation: icc,
        design_effect: 1.0 + (n as f64 / k as f64 - 1.0) * icc,
    })
}

/// Mean and sample standard deviation (n - 1) of at least two values.
pub(super) fn mean_and_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance.max(0.0).sqrt())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, LogNormal, Normal as NormalDist};

    /// Two-level ground truth: trial `i` shifts every value by `mu * b_i`,
    /// `b_i ~ N(0, between)`, and each value adds `N(0, within * mu)`. The
    /// mean and the median of a trial both have expectation `mu` exactly
    /// (symmetric noise), whatever the trial size.
    pub fn two_level(
        mu: f64,
        between: f64,
        within: f64,
        trials: usize,
        per_trial: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<Vec<f64>> {
        let shift = NormalDist::new(0.0, between).unwrap();
        let noise = NormalDist::new(0.0, within * mu).unwrap();
        (0..trials)
            .map(|_| {
                let level = mu * (1.0 + shift.sample(rng));
                (0..per_trial).map(|_| level + noise.sample(rng)).collect()
            })
            .collect()
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Student's t table, two-sided 95%, and the normal limit.
        for (df, want) in [(1.0, 12.7062), (2.0, 4.3027), (4.0, 2.7764), (10.0, 2.2281)] {
            assert!((t_quantile(0.975, df) - want).abs() < 1e-3, "df {df}");
        }
        assert!((t_quantile(0.975, f64::INFINITY) - 1.959964).abs() < 1e-6);
        assert!((t_quantile(0.975, 1e9) - 1.959964).abs() < 1e-6);
        assert!((t_quantile(0.5, 3.0)).abs() < 1e-9);
    }

    #[test]
    fn interval_is_the_t_interval_of_the_trial_values() {
        // Trials 10, 12, 14: mean 12, sd 2, se 2/sqrt(3), t(2) = 4.302653.
        let s = TrialStatistic::of(vec![10.0, 12.0, 14.0], 0.95).unwrap();
        let half = 4.302_653 * 2.0 / 3f64.sqrt();
        assert!((s.estimate.point_estimate - 12.0).abs() < 1e-12);
        assert!((s.between_trial_sd - 2.0).abs() < 1e-12);
        assert!((s.relative_spread - 2.0 / 12.0).abs() < 1e-12);
        let [lo, hi] = s.estimate.interval();
        assert!((lo - (12.0 - half)).abs() < 1e-4 && (hi - (12.0 + half)).abs() < 1e-4);
        assert!(
            TrialStatistic::of(vec![5.0], 0.95).is_none(),
            "one trial: no spread"
        );
    }

    #[test]
    fn per_trial_statistics_skip_empty_trials_and_follow_numpy() {
        let trials = vec![vec![10.0, 2.0, 4.0, 1.0, 3.0], vec![], vec![7.0]];
        let stats = per_trial_statistics(&trials);
        assert_eq!(stats.len(), 2);
        let expected = [4.0, 3.0, 7.6, 9.76]; // numpy mean, median, p90, p99
        for (got, want) in stats[0].iter().zip(expected) {
            assert!((got - want).abs() < 1e-12);
        }
        assert_eq!(stats[1], [7.0; 4]);
        assert!(
            between_trials(&trials[..2], 0.95).is_none(),
            "one non-empty trial"
        );
    }

    /// Coverage on two-level data, 5 trials of 50 values, a 3% run-level
    /// shift and 20% request noise: the 95% intervals of the mean and the
    /// median contain the truth in 93-97% of 2000 seeded repetitions.
    #[test]
    fn intervals_cover_the_truth_at_the_nominal_rate() {
        let reps = 2_000;
        let mut hits = [0usize; 2];
        for rep in 0..reps {
            let mut rng = ChaCha8Rng::seed_from_u64(rep);
            let trials = two_level(100.0, 0.03, 0.2, 5, 50, &mut rng);
            let e = between_trials(&trials, 0.95).unwrap();
            for (hit, stat) in hits.iter_mut().zip([&e.mean, &e.median]) {
                *hit += usize::from(stat.estimate.confidence_interval.contains(100.0));
            }
        }
        for (name, hit) in ["mean", "median"].iter().zip(hits) {
            let share = hit as f64 / reps as f64;
            assert!((0.93..=0.97).contains(&share), "{name} coverage {share}");
        }
    }

    /// Whether the run-level shift dominates or not, coverage stays nominal:
    /// 3 trials with no shift at all, and 8 trials with a large one.
    #[test]
    fn coverage_holds_from_no_shift_to_a_dominant_one() {
        for (between, trials) in [(0.0, 3), (0.10, 8)] {
            let reps = 1_500;
            let hits = (0..reps)
                .filter(|&rep| {
                    let mut rng = ChaCha8Rng::seed_from_u64(10_000 + rep);
                    let data = two_level(50.0, between, 0.3, trials, 40, &mut rng);
                    let e = between_trials(&data, 0.95).unwrap();
                    e.mean.estimate.confidence_interval.contains(50.0)
                })
                .count();
            let share = hits as f64 / reps as f64;
            assert!((0.93..=0.97).contains(&share), "between {between}: {share}");
        }
    }

    /// A skewed (lognormal) metric: the trial mean's expectation is known in
    /// closed form, and intervals of 6 trials still cover it.
    #[test]
    fn coverage_of_a_skewed_metric_mean() {
        let (sigma, between) = (0.5_f64, 0.04);
        let truth = 20.0 * (sigma * sigma / 2.0).exp();
        let values = LogNormal::new(20f64.ln(), sigma).unwrap();
        let shift = NormalDist::new(0.0, between).unwrap();
        let reps = 1_500;
        let hits = (0..reps)
            .filter(|&rep| {
                let mut rng = ChaCha8Rng::seed_from_u64(50_000 + rep);
                let trials: Vec<Vec<f64>> = (0..6)
                    .map(|_| {
                        let factor = 1.0 + shift.sample(&mut rng);
                        (0..64).map(|_| factor * values.sample(&mut rng)).collect()
                    })
                    .collect();
                let e = between_trials(&trials, 0.95).unwrap();
                e.mean.estimate.confidence_interval.contains(truth)
            })
            .count();
        let share = hits as f64 / reps as f64;
        assert!((0.93..=0.97).contains(&share), "coverage {share}");
    }

    #[test]
    fn variance_components_recover_the_planted_spreads() {
        // 10 trials of 100 values: shift sd 3 (3% of 100), noise sd 20.
        let (mut between, mut within, reps) = (0.0, 0.0, 300);
        for rep in 0..reps {
            let mut rng = ChaCha8Rng::seed_from_u64(rep);
            let v = variance_components(&two_level(100.0, 0.03, 0.2, 10, 100, &mut rng)).unwrap();
            between += v.between_trial_sd / reps as f64;
            within += v.within_trial_sd / reps as f64;
        }
        assert!((between - 3.0).abs() < 0.3, "between {between}");
        assert!((within - 20.0).abs() < 0.2, "within {within}");
        // ICC 9 / 409 and design effect 1 + 99 x ICC, about 3.2.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let v = variance_components(&two_level(100.0, 0.03, 0.2, 40, 100, &mut rng)).unwrap();
        assert!((v.design_effect - 3.18).abs() < 1.0, "{v:?}");
        assert!(variance_components(&[vec![1.0, 2.0]]).is_none());
        let flat = variance_components(&[vec![1.0, 1.0], vec![1.0, 1.0]]).unwrap();
        assert_eq!(
            (flat.intraclass_correlation, flat.design_effect),
            (0.0, 1.0)
        );
    }
}

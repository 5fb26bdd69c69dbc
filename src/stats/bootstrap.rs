//! Seeded percentile bootstrap: confidence intervals for the mean, median,
//! p90 and p99 of a sample, serialized the way criterion.rs writes its
//! `estimates.json`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::sample::{statistics_unsorted, Sample};
use super::summary::percentile_sorted;

/// Resamples drawn beyond this many values in all are not worth their time:
/// a pooled ITL sample of 100k gaps gets fewer resamples than 1,000 TTFTs.
const WORK_BUDGET: usize = 20_000_000;
/// Fewest resamples, whatever the budget, so interval bounds stay stable.
const MIN_RESAMPLES: usize = 1_000;

/// How intervals are computed. The same seed gives the same intervals.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    pub resamples: usize,
    pub confidence_level: f64,
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            resamples: 10_000,
            confidence_level: 0.95,
            seed: 0,
        }
    }
}

impl BootstrapConfig {
    /// Resamples for a sample of `values` values: `resamples`, lowered to keep
    /// `resamples x values` within the work budget, never below 1,000.
    pub fn resamples_for(&self, values: usize) -> usize {
        let affordable = WORK_BUDGET / values.max(1);
        self.resamples.min(affordable.max(MIN_RESAMPLES)).max(1)
    }

    /// The same settings with a seed of its own for each use.
    pub fn reseeded(&self, salt: u64) -> Self {
        let seed = self.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Self { seed, ..*self }
    }

    pub(crate) fn rng(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.seed)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    pub confidence_level: f64,
    pub lower_bound: f64,
    pub upper_bound: f64,
}

impl ConfidenceInterval {
    pub fn contains(&self, value: f64) -> bool {
        self.lower_bound <= value && value <= self.upper_bound
    }
}

/// A statistic with its interval and the bootstrap standard error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub point_estimate: f64,
    pub confidence_interval: ConfidenceInterval,
    pub standard_error: f64,
}

impl Estimate {
    /// The point, the percentile interval of `distribution` at `level`, and
    /// the distribution's standard deviation as standard error.
    pub fn from_distribution(point: f64, distribution: &mut [f64], level: f64) -> Self {
        distribution.sort_by(f64::total_cmp);
        let tail = (1.0 - level) / 2.0 * 100.0;
        let n = distribution.len() as f64;
        let mean = distribution.iter().sum::<f64>() / n;
        let variance = distribution.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Self {
            point_estimate: point,
            confidence_interval: ConfidenceInterval {
                confidence_level: level,
                lower_bound: percentile_sorted(distribution, tail),
                upper_bound: percentile_sorted(distribution, 100.0 - tail),
            },
            standard_error: variance.max(0.0).sqrt(),
        }
    }

    /// `[lower, upper]`.
    pub fn interval(&self) -> [f64; 2] {
        let ci = self.confidence_interval;
        [ci.lower_bound, ci.upper_bound]
    }
}

/// Estimates of the mean, median, p90 and p99 of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    pub mean: Estimate,
    pub median: Estimate,
    pub p90: Estimate,
    pub p99: Estimate,
}

impl Estimates {
    /// The statistics' names, in the order of [`Estimates::get`].
    pub const NAMES: [&'static str; 4] = ["mean", "median", "p90", "p99"];

    pub fn get(&self, index: usize) -> &Estimate {
        [&self.mean, &self.median, &self.p90, &self.p99][index]
    }

    /// By name: "mean", "median", "p90" or "p99".
    pub fn by_name(&self, name: &str) -> Option<&Estimate> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| self.get(i))
    }

    /// From points and bootstrap distributions, in [`Estimates::NAMES`] order.
    pub(crate) fn from_parts(points: [f64; 4], mut dists: [Vec<f64>; 4], level: f64) -> Self {
        let [mean, median, p90, p99] =
            std::array::from_fn(|i| Estimate::from_distribution(points[i], &mut dists[i], level));
        Self {
            mean,
            median,
            p90,
            p99,
        }
    }
}

/// Bootstrap estimates of a sample; `None` when it is empty.
pub fn estimates(sample: &Sample, config: &BootstrapConfig) -> Option<Estimates> {
    if sample.is_empty() {
        return None;
    }
    let mut rng = config.rng();
    let mut buffer = Vec::with_capacity(sample.values().len());
    let mut dists: [Vec<f64>; 4] = Default::default();
    for _ in 0..config.resamples_for(sample.values().len()) {
        sample.resample_into(&mut rng, &mut buffer);
        for (dist, value) in dists.iter_mut().zip(statistics_unsorted(&mut buffer)) {
            dist.push(value);
        }
    }
    let points = sample.statistics();
    Some(Estimates::from_parts(
        points,
        dists,
        config.confidence_level,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use rand_distr::{Distribution, Exp, Normal};

    fn config(resamples: usize, seed: u64) -> BootstrapConfig {
        BootstrapConfig {
            resamples,
            confidence_level: 0.95,
            seed,
        }
    }

    /// Share of `reps` seeded samples whose interval contains the true value.
    fn coverage(
        reps: u64,
        draw: impl Fn(&mut ChaCha8Rng) -> f64,
        pick: fn(&Estimates) -> &Estimate,
        truth: f64,
    ) -> f64 {
        let hits = (0..reps)
            .filter(|&rep| {
                let mut rng = ChaCha8Rng::seed_from_u64(1_000 + rep);
                let values = (0..100).map(|_| draw(&mut rng)).collect();
                let e = estimates(&Sample::new(values), &config(1_000, rep)).unwrap();
                pick(&e).confidence_interval.contains(truth)
            })
            .count();
        hits as f64 / reps as f64
    }

    /// Coverage: 1000 seeded samples of 100 values each, 1000 resamples per
    /// interval. A 95% interval must contain the true value 93-97% of the time.
    #[test]
    fn mean_intervals_cover_the_true_mean_of_a_normal() {
        let normal = Normal::new(10.0, 2.0).unwrap();
        let share = coverage(1_000, |rng| normal.sample(rng), |e| &e.mean, 10.0);
        assert!((0.93..=0.97).contains(&share), "coverage {share}");
    }

    #[test]
    fn median_intervals_cover_the_true_median_of_an_exponential() {
        let exp = Exp::new(1.0).unwrap();
        let share = coverage(1_000, |rng| exp.sample(rng), |e| &e.median, 2f64.ln());
        assert!((0.93..=0.97).contains(&share), "coverage {share}");
    }

    #[test]
    fn same_seed_same_intervals_and_points_match_the_data() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let values: Vec<f64> = (0..200).map(|_| rng.random_range(0.0..1.0)).collect();
        let sample = Sample::new(values.clone());
        let a = estimates(&sample, &config(500, 4)).unwrap();
        assert_eq!(a, estimates(&sample, &config(500, 4)).unwrap());
        assert_ne!(a, estimates(&sample, &config(500, 5)).unwrap());
        let mean = values.iter().sum::<f64>() / 200.0;
        assert!((a.mean.point_estimate - mean).abs() < 1e-12);
        for i in 0..4 {
            let e = a.get(i);
            assert!(e.confidence_interval.contains(e.point_estimate), "{e:?}");
            assert!(e.standard_error > 0.0);
        }
    }

    #[test]
    fn resamples_are_capped_for_large_samples_only() {
        let c = BootstrapConfig::default();
        assert_eq!(c.resamples_for(1_000), 10_000);
        assert_eq!(c.resamples_for(100_000), 1_000);
        assert_eq!(c.resamples_for(4_000), 5_000);
    }

    #[test]
    fn empty_and_constant_samples() {
        assert!(estimates(&Sample::new(vec![]), &config(100, 0)).is_none());
        let e = estimates(&Sample::new(vec![3.0; 10]), &config(100, 0)).unwrap();
        assert_eq!(e.p99.interval(), [3.0, 3.0]);
        assert_eq!(e.mean.standard_error, 0.0);
    }
}

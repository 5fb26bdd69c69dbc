//! Two-sample comparison, as criterion.rs judges a change: the relative change
//! of each statistic with a bootstrap interval, a permutation-test p-value for
//! the difference of means, and a verdict.
//!
//! The rule: a change is a regression only when the interval of the relative
//! change of the mean lies wholly beyond the noise threshold on the worse side
//! *and* p < the significance level; an improvement likewise on the better
//! side; anything else is no change.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::bootstrap::{BootstrapConfig, Estimates};
use super::sample::{statistics_unsorted, Sample};

/// Which way is worse: latencies get worse as they grow, throughputs as they fall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Regressed,
    NoChange,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::NoChange => "no change",
        }
    }
}

/// Relative changes below `noise` are ignored; `significance` is alpha.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub noise: f64,
    pub significance: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            noise: 0.02,
            significance: 0.05,
        }
    }
}

/// New against base: relative changes (`new / base - 1`) of mean, median, p90, p99.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub change: Estimates,
    /// Two-sided permutation test of equal means.
    pub p_value: f64,
    pub verdict: Verdict,
}

/// Compares `new` with `base`; `None` when either is empty.
pub fn two_sample(
    base: &Sample,
    new: &Sample,
    direction: Direction,
    thresholds: &Thresholds,
    config: &BootstrapConfig,
) -> Option<Comparison> {
    if base.is_empty() || new.is_empty() {
        return None;
    }
    let change = relative_change(base, new, config);
    let units = base.units() + new.units();
    let permutations = config.resamples_for(units);
    let p_value = permutation_p_value(base, new, permutations, &mut config.reseeded(1).rng());
    let verdict = verdict(&change, p_value, direction, thresholds);
    Some(Comparison {
        change,
        p_value,
        verdict,
    })
}

/// Bootstrap of `stat(new*) / stat(base*) - 1`, each sample resampled on its own.
fn relative_change(base: &Sample, new: &Sample, config: &BootstrapConfig) -> Estimates {
    let mut rng = config.rng();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut dists: [Vec<f64>; 4] = Default::default();
    let size = base.values().len().max(new.values().len());
    for _ in 0..config.resamples_for(size) {
        base.resample_into(&mut rng, &mut a);
        new.resample_into(&mut rng, &mut b);
        let (sa, sb) = (statistics_unsorted(&mut a), statistics_unsorted(&mut b));
        for (i, dist) in dists.iter_mut().enumerate() {
            dist.push(ratio(sb[i], sa[i]));
        }
    }
    let (pa, pb) = (base.statistics(), new.statistics());
    let points = std::array::from_fn(|i| ratio(pb[i], pa[i]));
    Estimates::from_parts(points, dists, config.confidence_level)
}

/// `new / base - 1`, and 0 when both are 0 (nothing changed).
fn ratio(new: f64, base: f64) -> f64 {
    if new == base {
        0.0
    } else {
        new / base - 1.0
    }
}

/// Shuffles whole units between the two samples and counts how often the
/// difference of means is at least the observed one. `(k + 1) / (n + 1)`, so
/// never 0.
fn permutation_p_value(
    base: &Sample,
    new: &Sample,
    permutations: usize,
    rng: &mut impl Rng,
) -> f64 {
    let sums: Vec<(f64, usize)> = [base, new]
        .iter()
        .flat_map(|s| (0..s.units()).map(|i| (s.unit(i).iter().sum(), s.unit(i).len())))
        .collect();
    let mean_gap = |order: &[(f64, usize)]| {
        let (a, b) = order.split_at(base.units());
        let mean = |part: &[(f64, usize)]| {
            let (sum, n) = part.iter().fold((0.0, 0), |(s, n), u| (s + u.0, n + u.1));
            sum / n as f64
        };
        (mean(b) - mean(a)).abs()
    };
    let observed = mean_gap(&sums);
    let mut order = sums.clone();
    let extreme = (0..permutations)
        .filter(|_| {
            order.shuffle(rng);
            mean_gap(&order) >= observed * (1.0 - 1e-9)
        })
        .count();
    (extreme + 1) as f64 / (permutations + 1) as f64
}

fn verdict(change: &Estimates, p_value: f64, direction: Direction, t: &Thresholds) -> Verdict {
    let [lower, upper] = change.mean.interval();
    let (higher, lower_) = (lower > t.noise, upper < -t.noise);
    let (worse, better) = match direction {
        Direction::LowerIsBetter => (higher, lower_),
        Direction::HigherIsBetter => (lower_, higher),
    };
    match (p_value < t.significance, worse, better) {
        (true, true, _) => Verdict::Regressed,
        (true, _, true) => Verdict::Improved,
        _ => Verdict::NoChange,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, LogNormal};

    fn config(seed: u64) -> BootstrapConfig {
        BootstrapConfig {
            resamples: 1_000,
            confidence_level: 0.95,
            seed,
        }
    }

    /// Lognormal latencies in ms around `median`, like per-request TTFTs.
    fn latencies(median: f64, n: usize, seed: u64) -> Sample {
        let dist = LogNormal::new(median.ln(), 0.3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Sample::new((0..n).map(|_| dist.sample(&mut rng)).collect())
    }

    fn judge(base: &Sample, new: &Sample, direction: Direction, seed: u64) -> Comparison {
        two_sample(base, new, direction, &Thresholds::default(), &config(seed)).unwrap()
    }

    #[test]
    fn ten_percent_slower_latency_is_a_regression() {
        let c = judge(
            &latencies(100.0, 300, 1),
            &latencies(110.0, 300, 2),
            Direction::LowerIsBetter,
            0,
        );
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        assert!(c.p_value < 0.05);
        assert!(c.change.mean.confidence_interval.contains(0.10), "{c:?}");
    }

    #[test]
    fn direction_decides_which_way_is_worse() {
        let (low, high) = (latencies(100.0, 300, 1), latencies(110.0, 300, 2));
        let up = judge(&low, &high, Direction::HigherIsBetter, 0);
        assert_eq!(up.verdict, Verdict::Improved, "higher throughput is better");
        let down = judge(&high, &low, Direction::HigherIsBetter, 0);
        assert_eq!(down.verdict, Verdict::Regressed);
        assert!(down.change.mean.point_estimate < -0.05);
    }

    #[test]
    fn a_significant_change_inside_the_noise_threshold_is_no_change() {
        // 1% slower on 20k requests: significant, but below 2% noise.
        let c = judge(
            &latencies(100.0, 20_000, 1),
            &latencies(101.0, 20_000, 2),
            Direction::LowerIsBetter,
            0,
        );
        assert!(c.p_value < 0.05, "{c:?}");
        assert_eq!(c.verdict, Verdict::NoChange);
    }

    /// Two samples from one distribution: no change in at least 95% of 200 seeded pairs.
    #[test]
    fn identical_distributions_are_no_change() {
        let quiet = (0..200)
            .filter(|&rep| {
                let c = judge(
                    &latencies(100.0, 100, 2 * rep),
                    &latencies(100.0, 100, 2 * rep + 1),
                    Direction::LowerIsBetter,
                    rep,
                );
                c.verdict == Verdict::NoChange
            })
            .count();
        assert!(quiet >= 190, "no change in {quiet} of 200");
    }

    #[test]
    fn permutation_p_value_is_uniform_ish_under_the_null_and_small_when_shifted() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let same = permutation_p_value(
            &latencies(10.0, 50, 1),
            &latencies(10.0, 50, 2),
            999,
            &mut rng,
        );
        assert!(same > 0.05, "p {same}");
        let apart = permutation_p_value(
            &latencies(10.0, 50, 1),
            &latencies(14.0, 50, 2),
            999,
            &mut rng,
        );
        assert_eq!(
            apart,
            1.0 / 1000.0,
            "no permutation reaches the observed gap"
        );
    }

    #[test]
    fn empty_samples_cannot_be_compared() {
        let empty = Sample::new(vec![]);
        let some = latencies(1.0, 5, 1);
        let t = Thresholds::default();
        assert!(two_sample(&empty, &some, Direction::LowerIsBetter, &t, &config(0)).is_none());
    }
}

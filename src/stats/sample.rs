//! A sample to resample, and the four statistics every latency reports.
//!
//! The resampling unit is a group of values: one value per request for TTFT,
//! TPOT and E2EL, and all of one request's gaps for ITL, because the gaps of
//! one request are not independent of each other. Resampling whole requests
//! keeps that dependence in the interval instead of hiding it.

use rand::Rng;

use super::summary::percentile_sorted;

/// Values grouped into resampling units; no unit is empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    values: Vec<f64>,
    /// `ends[i]` is one past the last value of unit `i`.
    ends: Vec<usize>,
}

impl Sample {
    /// Independent values: each is its own unit.
    pub fn new(values: Vec<f64>) -> Self {
        let ends = (1..=values.len()).collect();
        Self { values, ends }
    }

    /// Units of several values each; empty groups are left out.
    pub fn grouped<G: AsRef<[f64]>>(groups: impl IntoIterator<Item = G>) -> Self {
        let mut sample = Self::default();
        for group in groups {
            let group = group.as_ref();
            if !group.is_empty() {
                sample.values.extend_from_slice(group);
                sample.ends.push(sample.values.len());
            }
        }
        sample
    }

    pub fn values(&self) -> &[f64] {
        &self.values
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn units(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn unit(&self, i: usize) -> &[f64] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.values[start..self.ends[i]]
    }

    /// Draws as many units as the sample has, with replacement, into `out`.
    pub(crate) fn resample_into(&self, rng: &mut impl Rng, out: &mut Vec<f64>) {
        out.clear();
        let units = self.units();
        if units == self.values.len() {
            out.extend((0..units).map(|_| self.values[rng.random_range(0..units)]));
            return;
        }
        for _ in 0..units {
            out.extend_from_slice(self.unit(rng.random_range(0..units)));
        }
    }

    /// Mean, median, p90, p99 of the values, interpolated as `numpy.percentile`.
    pub fn statistics(&self) -> [f64; 4] {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        let at = |p| percentile_sorted(&sorted, p);
        [mean, at(50.0), at(90.0), at(99.0)]
    }
}

/// The same four statistics as [`Sample::statistics`], reordering `values`
/// instead of sorting them: linear time, for the many resamples. Each
/// selection leaves smaller values before it, so the next, higher percentile
/// is looked for only above it.
pub(crate) fn statistics_unsorted(values: &mut [f64]) -> [f64; 4] {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let mut out = [mean, 0.0, 0.0, 0.0];
    let mut start = 0;
    for (slot, p) in [(1, 50.0), (2, 90.0), (3, 99.0)] {
        let rank = p / 100.0 * (values.len() - 1) as f64;
        out[slot] = select_rank(&mut values[start..], rank - start as f64);
        start = rank.floor() as usize;
    }
    out
}

/// The value at fractional `rank` of the sorted order, interpolated.
fn select_rank(values: &mut [f64], rank: f64) -> f64 {
    let lo = rank.floor() as usize;
    let (_, low, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let low = *low;
    let fraction = rank - lo as f64;
    if fraction == 0.0 {
        return low;
    }
    let high = above.iter().copied().fold(f64::INFINITY, f64::min);
    low + (high - low) * fraction
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn percentile_select(values: &mut [f64], p: f64) -> f64 {
        select_rank(values, p / 100.0 * (values.len() - 1) as f64)
    }

    #[test]
    fn selection_matches_sorted_interpolation() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for len in [1, 2, 7, 100, 1001] {
            let values: Vec<f64> = (0..len).map(|_| rng.random_range(0.0..50.0)).collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            for p in [0.0, 12.5, 50.0, 90.0, 99.0, 100.0] {
                let mut scratch = values.clone();
                assert_eq!(
                    percentile_select(&mut scratch, p),
                    percentile_sorted(&sorted, p)
                );
            }
        }
    }

    #[test]
    fn grouped_samples_resample_whole_units() {
        let sample = Sample::grouped([vec![1.0, 1.0, 1.0], vec![], vec![5.0]]);
        assert_eq!((sample.units(), sample.values().len()), (2, 4));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = Vec::new();
        for _ in 0..50 {
            sample.resample_into(&mut rng, &mut out);
            let ones = out.iter().filter(|&&v| v == 1.0).count();
            assert_eq!(ones % 3, 0, "a unit is drawn whole: {out:?}");
            assert_eq!(out.len() - ones, out.iter().filter(|&&v| v == 5.0).count());
        }
    }

    #[test]
    fn statistics_agree_sorted_and_unsorted() {
        let sample = Sample::new(vec![10.0, 2.0, 4.0, 1.0, 3.0]);
        let expected = [4.0, 3.0, 7.6, 9.76]; // numpy: mean, median, p90, p99
        for (got, want) in sample.statistics().into_iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for len in [1, 2, 3, 11, 100, 999] {
            let values: Vec<f64> = (0..len).map(|_| rng.random_range(0.0..9.0)).collect();
            let sample = Sample::new(values.clone());
            let mut scratch = values;
            let (sorted, selected) = (sample.statistics(), statistics_unsorted(&mut scratch));
            assert!((sorted[0] - selected[0]).abs() < 1e-9, "mean, {len}");
            assert_eq!(sorted[1..], selected[1..], "percentiles, {len}");
        }
    }
}

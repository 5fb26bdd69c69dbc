//! Descriptive statistics with numpy's conventions, so figures line up with
//! vLLM's benchmark: percentiles interpolate linearly between order statistics
//! (`numpy.percentile`'s default) and the standard deviation is the population
//! one (`numpy.std`, ddof = 0).

use serde::Serialize;

/// Describes one sample. An empty sample reports zeros, as vLLM does, with `count` 0.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// `(p, value)` for each requested percentile `p` in `[0, 100]`.
    pub percentiles: Vec<(f64, f64)>,
}

impl Summary {
    pub fn of(values: &[f64], percentiles: &[f64]) -> Summary {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let count = sorted.len();
        if count == 0 {
            return Summary {
                count,
                mean: 0.0,
                median: 0.0,
                std: 0.0,
                min: 0.0,
                max: 0.0,
                percentiles: percentiles.iter().map(|&p| (p, 0.0)).collect(),
            };
        }
        let mean = sorted.iter().sum::<f64>() / count as f64;
        let variance = sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / count as f64;
        Summary {
            count,
            mean,
            median: percentile_sorted(&sorted, 50.0),
            std: variance.sqrt(),
            min: sorted[0],
            max: sorted[count - 1],
            percentiles: percentiles
                .iter()
                .map(|&p| (p, percentile_sorted(&sorted, p)))
                .collect(),
        }
    }

    /// The value of percentile `p`, if it was requested.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        self.percentiles
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, v)| *v)
    }
}

/// Percentile `p` (0..=100) of an ascending, non-empty slice, interpolating
/// linearly between the two nearest order statistics.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_linear_interpolation() {
        // numpy.percentile([1, 2, 3, 4, 10], [0, 25, 50, 90, 99, 100])
        //   -> [1.0, 2.0, 3.0, 7.6, 9.76, 10.0]
        let s = Summary::of(&[10.0, 2.0, 4.0, 1.0, 3.0], &[0.0, 25.0, 90.0, 99.0, 100.0]);
        let expected = [1.0, 2.0, 7.6, 9.76, 10.0];
        for ((_, got), want) in s.percentiles.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert_eq!(s.median, 3.0);
    }

    #[test]
    fn std_is_the_population_standard_deviation() {
        // numpy.std([2, 4, 4, 4, 5, 5, 7, 9]) == 2.0
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], &[]);
        assert_eq!(s.std, 2.0);
        assert_eq!(s.mean, 5.0);
        assert_eq!((s.min, s.max), (2.0, 9.0));
    }

    #[test]
    fn single_value_and_empty_samples() {
        let one = Summary::of(&[7.0], &[99.0]);
        assert_eq!((one.median, one.percentile(99.0)), (7.0, Some(7.0)));
        let none = Summary::of(&[], &[99.0]);
        assert_eq!(
            (none.count, none.mean, none.percentile(99.0)),
            (0, 0.0, Some(0.0))
        );
    }
}

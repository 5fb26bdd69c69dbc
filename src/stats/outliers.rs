//! Tukey's fences, as criterion.rs classifies outliers: beyond 1.5 IQR from
//! the quartiles is mild, beyond 3 IQR severe.

use serde::{Deserialize, Serialize};

use super::summary::percentile_sorted;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outliers {
    pub low_severe: usize,
    pub low_mild: usize,
    pub high_mild: usize,
    pub high_severe: usize,
    /// `[low severe, low mild, high mild, high severe]` fences.
    pub fences: [f64; 4],
}

impl Outliers {
    pub fn classify(values: &[f64]) -> Outliers {
        if values.is_empty() {
            return Outliers::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (q1, q3) = (
            percentile_sorted(&sorted, 25.0),
            percentile_sorted(&sorted, 75.0),
        );
        let iqr = q3 - q1;
        let fences = [
            q1 - 3.0 * iqr,
            q1 - 1.5 * iqr,
            q3 + 1.5 * iqr,
            q3 + 3.0 * iqr,
        ];
        let count = |f: &dyn Fn(f64) -> bool| sorted.iter().filter(|&&x| f(x)).count();
        Outliers {
            low_severe: count(&|x| x < fences[0]),
            low_mild: count(&|x| fences[0] <= x && x < fences[1]),
            high_mild: count(&|x| fences[2] < x && x <= fences[3]),
            high_severe: count(&|x| x > fences[3]),
            fences,
        }
    }

    pub fn total(&self) -> usize {
        self.low_severe + self.low_mild + self.high_mild + self.high_severe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_tukey_fences() {
        // numpy.percentile of these 14 values: q1 2.25, q3 8.75, IQR 6.5.
        let mut values: Vec<f64> = (0..=10).map(f64::from).collect();
        values.extend([20.0, 30.0, -10.0]);
        let o = Outliers::classify(&values);
        assert_eq!(o.fences, [-17.25, -7.5, 18.5, 28.25]);
        assert_eq!(
            (o.low_severe, o.low_mild, o.high_mild, o.high_severe),
            (0, 1, 1, 1),
            "{o:?}"
        );
        assert_eq!(o.total(), 3);
    }

    #[test]
    fn no_outliers_in_a_uniform_grid_or_empty_input() {
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(Outliers::classify(&values).total(), 0);
        assert_eq!(Outliers::classify(&[]).total(), 0);
    }
}

//! The noise threshold of a comparison, fixed or calibrated, and how many
//! trials a comparison needs.
//!
//! A calibrated threshold is a multiple of the run-to-run spread measured on
//! A/A trials of the same benchmark (the relative standard deviation of the
//! trials' means), never below a floor: a benchmark whose runs agree to
//! 0.5% is gated at the 1% floor instead of a fixed 2%, and one whose runs
//! scatter by 10% ignores changes below 5%. The trial-level interval
//! already carries the spread of the trials being compared; the threshold
//! adds what they cannot show: that a change smaller than one run's usual
//! deviation is not worth a red build, and drift between the day the
//! baseline was stored and today.

use serde::{Deserialize, Serialize};

use super::trial_test::min_trials;
use super::trials::{between_trials, t_quantile};

/// Where a noise threshold came from, so a result can say which was used and why.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum NoiseSource {
    /// Given as it is (`--noise-threshold`, or the default).
    Fixed,
    /// `max(multiple x relative_spread, floor)`, the spread measured over
    /// `trials` A/A trials.
    Calibrated {
        relative_spread: f64,
        trials: usize,
        multiple: f64,
        floor: f64,
    },
}

/// A relative noise threshold (0.02 is ±2%) and its origin.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseThreshold {
    pub value: f64,
    #[serde(flatten)]
    pub source: NoiseSource,
}

impl NoiseThreshold {
    /// Half a between-trial standard deviation. The trial-level interval
    /// and p-value already answer "is it noise?"; the threshold only keeps
    /// changes too small to matter next to the benchmark's own scatter from
    /// failing a build. At 6 trials a side and a 3% spread, half the spread
    /// costs no power against a 10% change where a whole one costs several
    /// points, and far more at 4-5% (`power_by_spread_and_trials` in
    /// tests/trial_gate.rs measures it).
    pub const DEFAULT_MULTIPLE: f64 = 0.5;
    /// criterion.rs' default noise threshold, and the 1% below which LLVM's
    /// LNT reports nothing: below it, drift between days outweighs what one
    /// session's calibration can measure.
    pub const DEFAULT_FLOOR: f64 = 0.01;

    pub fn fixed(value: f64) -> Self {
        Self {
            value,
            source: NoiseSource::Fixed,
        }
    }

    pub fn calibrated(relative_spread: f64, trials: usize, multiple: f64, floor: f64) -> Self {
        Self {
            value: (multiple * relative_spread).max(floor),
            source: NoiseSource::Calibrated {
                relative_spread,
                trials,
                multiple,
                floor,
            },
        }
    }

    /// From A/A trials of one metric (each trial's values): the relative
    /// spread of the trials' means. `None` with fewer than two trials; ten
    /// or more give a spread good to about a quarter of itself.
    pub fn calibrate<T: AsRef<[f64]>>(trials: &[T], multiple: f64, floor: f64) -> Option<Self> {
        let estimates = between_trials(trials, 0.95)?;
        let spread = estimates.mean.relative_spread;
        Some(Self::calibrated(spread, estimates.trials, multiple, floor))
    }

    /// "±2.0% (fixed)", "±1.6% (0.5 x the 3.1% spread of 10 A/A trials)",
    /// "±1.0% (the floor; 0.5 x the 0.4% spread of 10 A/A trials is below it)".
    pub fn describe(&self) -> String {
        let value = format!("±{:.1}%", self.value * 100.0);
        match self.source {
            NoiseSource::Fixed => format!("{value} (fixed)"),
            NoiseSource::Calibrated {
                relative_spread,
                trials,
                multiple,
                floor,
            } => {
                let measured = format!(
                    "{multiple} x the {:.1}% spread of {trials} A/A trials",
                    relative_spread * 100.0
                );
                if multiple * relative_spread < floor {
                    format!("{value} (the floor; {measured} is below it)")
                } else {
                    format!("{value} ({measured})")
                }
            }
        }
    }
}

/// Trials a side for a balanced comparison to report a relative `effect` as
/// a change with probability `power`, when one trial's mean scatters by
/// `relative_spread` and the noise threshold is `threshold`: the smallest n,
/// from [`min_trials`] up, with
///
/// ```text
/// (effect - threshold) / (spread · sqrt(2 / n))  >=  t(2n-2, 1 - α/2) + t(2n-2, power)
/// ```
///
/// (the interval's lower bound then clears the threshold with that
/// probability). `None` when the effect is within the threshold, or more
/// than 1000 trials would be needed.
pub fn trials_needed(
    relative_spread: f64,
    effect: f64,
    threshold: f64,
    significance: f64,
    power: f64,
) -> Option<usize> {
    let margin = effect.abs() - threshold;
    if margin <= 0.0 {
        return None;
    }
    (min_trials(significance)..=1000).find(|&n| {
        let df = (2 * n - 2) as f64;
        let needed = t_quantile(1.0 - significance / 2.0, df) + t_quantile(power, df);
        margin >= needed * relative_spread * (2.0 / n as f64).sqrt()
    })
}

#[cfg(test)]
mod tests {
    use super::super::trials::tests::two_level;
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn calibrated_thresholds_scale_with_the_spread_down_to_a_floor() {
        let t = NoiseThreshold::calibrated(0.031, 10, 1.0, 0.01);
        assert!((t.value - 0.031).abs() < 1e-12);
        assert_eq!(t.describe(), "±3.1% (1 x the 3.1% spread of 10 A/A trials)");
        let quiet = NoiseThreshold::calibrated(0.004, 10, 1.0, 0.01);
        assert_eq!(quiet.value, 0.01);
        assert_eq!(
            quiet.describe(),
            "±1.0% (the floor; 1 x the 0.4% spread of 10 A/A trials is below it)"
        );
        assert_eq!(NoiseThreshold::fixed(0.02).describe(), "±2.0% (fixed)");
        let half = NoiseThreshold::calibrated(0.031, 10, NoiseThreshold::DEFAULT_MULTIPLE, 0.01);
        assert_eq!(
            half.describe(),
            "±1.6% (0.5 x the 3.1% spread of 10 A/A trials)"
        );
        let json = serde_json::to_value(t).unwrap();
        assert_eq!(json["source"], "calibrated");
        assert_eq!(json["trials"], 10);
    }

    /// Calibration on two-level data with a 3% run-level shift measures
    /// about 3% (request noise adds 20% / sqrt(100) in quadrature: 3.6%).
    #[test]
    fn calibration_measures_the_run_to_run_spread() {
        let mut total = 0.0;
        for rep in 0..200 {
            let mut rng = ChaCha8Rng::seed_from_u64(rep);
            let trials = two_level(100.0, 0.03, 0.2, 10, 100, &mut rng);
            let t = NoiseThreshold::calibrate(&trials, 1.0, 0.0).unwrap();
            total += t.value / 200.0;
        }
        let expected = (0.03f64.powi(2) + 0.02f64.powi(2)).sqrt();
        assert!((total - expected).abs() < 0.003, "{total} vs {expected}");
        assert!(NoiseThreshold::calibrate(&[vec![1.0]], 1.0, 0.0).is_none());
    }

    #[test]
    fn trials_needed_grow_with_the_spread_and_shrink_with_the_effect() {
        let n = |spread, effect| trials_needed(spread, effect, 0.02, 0.05, 0.9);
        assert_eq!(n(0.0, 0.10), Some(4), "no spread: the permutation floor");
        let base = n(0.03, 0.10).unwrap();
        assert!((4..=8).contains(&base), "{base}");
        assert!(n(0.06, 0.10).unwrap() > base);
        assert!(n(0.03, 0.20).unwrap() <= base);
        assert_eq!(n(0.03, 0.015), None, "inside the threshold");
    }
}

//! Ramp-up: a request rate that grows from `--ramp-up-start-rps` to
//! `--ramp-up-end-rps` over the run, with `vllm bench serve`'s flags and
//! formulas (vLLM 0.32/0.33 `benchmarks/serve.py`, `_get_current_request_rate`
//! and `get_request`).
//!
//! The rate is a function of the request's index `i` of `N`, not of time:
//! with `progress = i / max(N - 1, 1)`,
//!
//! - linear: `r_i = A + (B - A) * progress`
//! - exponential: `r_i = A * (B / A) ^ progress`
//!
//! and request `i` waits a gamma-distributed gap of mean `1 / r_i` (shape
//! `--burstiness`) after request `i - 1`; request 0 waits its own gap after
//! t0, and no rescaling follows (vLLM rescales only without ramp-up). So a
//! linear ramp in the index is exponential in time,
//! `r(t) = A * exp((B - A) * t / (N - 1))`, lasting `(N - 1) / (B - A) * ln(B / A)`
//! seconds; an exponential one is `r(t) = A / (1 - A * ln(B / A) * t / (N - 1))`.

use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RampStrategy {
    Linear,
    Exponential,
}

impl RampStrategy {
    pub fn name(self) -> &'static str {
        match self {
            RampStrategy::Linear => "linear",
            RampStrategy::Exponential => "exponential",
        }
    }
}

/// A request rate ramped from `start_rps` to `end_rps` over the requests.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RampUp {
    pub strategy: RampStrategy,
    pub start_rps: f64,
    pub end_rps: f64,
}

impl RampUp {
    /// The ramp, or why not: both rates positive and finite, start <= end.
    /// (vLLM allows a linear start of 0, then fails on the first request.)
    pub fn new(strategy: RampStrategy, start_rps: f64, end_rps: f64) -> Result<Self, String> {
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(start_rps) || !positive(end_rps) {
            return Err(format!(
                "--ramp-up-start-rps and --ramp-up-end-rps must be positive numbers of \
                 requests per second (got {start_rps} and {end_rps})"
            ));
        }
        if start_rps > end_rps {
            return Err(format!(
                "--ramp-up-start-rps {start_rps} must not exceed --ramp-up-end-rps {end_rps}"
            ));
        }
        Ok(Self {
            strategy,
            start_rps,
            end_rps,
        })
    }

    /// The rate of request `index` of `total`.
    pub fn rate(&self, index: usize, total: usize) -> f64 {
        let progress = index as f64 / total.saturating_sub(1).max(1) as f64;
        let (a, b) = (self.start_rps, self.end_rps);
        match self.strategy {
            RampStrategy::Linear => a + (b - a) * progress,
            RampStrategy::Exponential => a * (b / a).powf(progress),
        }
    }

    /// Arrival offsets of `count` requests: cumulative gamma gaps, each with
    /// the mean `1 / rate` of its own request.
    pub fn arrivals(&self, burstiness: f64, count: usize, seed: u64) -> Vec<Duration> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut t = 0.0;
        (0..count)
            .map(|i| {
                let rate = self.rate(i, count);
                let gaps = Gamma::new(burstiness, 1.0 / (rate * burstiness))
                    .expect("rates and burstiness are validated positive and finite");
                t += gaps.sample(&mut rng);
                Duration::from_secs_f64(t)
            })
            .collect()
    }

    /// The rate at `t_s` seconds into the run, in the continuous limit of
    /// many requests (the module docs' formulas), for tests and plots.
    pub fn rate_at(&self, t_s: f64, count: usize) -> f64 {
        let (a, b) = (self.start_rps, self.end_rps);
        let n = count.saturating_sub(1).max(1) as f64;
        if a == b {
            return a;
        }
        let rate = match self.strategy {
            RampStrategy::Linear => a * ((b - a) * t_s / n).exp(),
            RampStrategy::Exponential => a / (1.0 - a * (b / a).ln() * t_s / n),
        };
        rate.clamp(a, b)
    }

    /// How long the ramp lasts, in the same continuous limit.
    pub fn duration_s(&self, count: usize) -> f64 {
        let (a, b) = (self.start_rps, self.end_rps);
        let n = count.saturating_sub(1).max(1) as f64;
        if a == b {
            return n / a;
        }
        match self.strategy {
            RampStrategy::Linear => n / (b - a) * (b / a).ln(),
            RampStrategy::Exponential => n / (a * (b / a).ln()) * (1.0 - a / b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(strategy: RampStrategy) -> RampUp {
        RampUp::new(strategy, 2.0, 20.0).unwrap()
    }

    #[test]
    fn rates_follow_vllms_formulas_by_index() {
        let linear = ramp(RampStrategy::Linear);
        assert_eq!(linear.rate(0, 11), 2.0);
        assert!((linear.rate(5, 11) - 11.0).abs() < 1e-12);
        assert_eq!(linear.rate(10, 11), 20.0);
        let exponential = ramp(RampStrategy::Exponential);
        assert!((exponential.rate(5, 11) - 2.0 * 10f64.sqrt()).abs() < 1e-12);
        assert!((exponential.rate(10, 11) - 20.0).abs() < 1e-12);
        // One request: progress is 0 (vLLM's max(N - 1, 1)).
        assert_eq!(linear.rate(0, 1), 2.0);
    }

    /// With near-constant gaps (burstiness 10^6) the arrivals follow the
    /// continuous formulas: the ramp's length, and its rate in time.
    #[test]
    fn in_time_a_linear_ramp_is_exponential_and_an_exponential_one_hyperbolic() {
        for strategy in [RampStrategy::Linear, RampStrategy::Exponential] {
            let r = ramp(strategy);
            let n = 2001;
            let arrivals = r.arrivals(1e6, n, 3);
            let last = arrivals.last().unwrap().as_secs_f64();
            let expected = r.duration_s(n);
            assert!(
                (last - expected).abs() / expected < 0.005,
                "{last} {expected}"
            );
            for i in [200, 1000, 1800] {
                let t = arrivals[i].as_secs_f64();
                let gap = (arrivals[i + 1] - arrivals[i]).as_secs_f64();
                let rate = r.rate_at(t, n);
                assert!((1.0 / gap - rate).abs() / rate < 0.02, "{strategy:?} {i}");
            }
        }
    }

    #[test]
    fn gaps_are_gamma_with_the_rate_of_their_request_and_seeded() {
        let r = RampUp::new(RampStrategy::Linear, 50.0, 50.0).unwrap();
        let arrivals = r.arrivals(1.0, 20_000, 5);
        let first = arrivals[0].as_secs_f64();
        assert!(first > 0.0, "request 0 waits its own gap, as vLLM's does");
        let total = arrivals.last().unwrap().as_secs_f64();
        assert!((total / 20_000.0 - 0.02).abs() < 0.0006, "mean gap {total}");
        assert_eq!(arrivals, r.arrivals(1.0, 20_000, 5));
        assert_ne!(arrivals, r.arrivals(1.0, 20_000, 6));
    }

    #[test]
    fn bad_ramps_are_refused_with_the_reason() {
        let err = RampUp::new(RampStrategy::Linear, 0.0, 5.0).unwrap_err();
        assert!(err.contains("positive"), "{err}");
        let err = RampUp::new(RampStrategy::Exponential, 8.0, 5.0).unwrap_err();
        assert!(err.contains("must not exceed"), "{err}");
        assert!(RampUp::new(RampStrategy::Linear, 1.0, f64::INFINITY).is_err());
    }
}

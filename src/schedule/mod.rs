//! Schedules: when each request may start, precomputed and seeded.
//!
//! - offline: every request arrives at t0 and the engine queues them;
//! - closed loop: at most C requests in flight; a request is scheduled the
//!   moment a slot frees (the driver's timestamp of the finish that freed it);
//! - open loop: Poisson arrivals at a rate, with gamma-distributed gaps whose
//!   shape is the burstiness (1 = Poisson, below 1 = burstier), optionally
//!   capped by a concurrency. A request's scheduled time is its arrival: time
//!   spent waiting for a free slot is client queue delay and counts in latency;
//! - ramp-up: an open loop whose rate grows request by request, as
//!   `vllm bench serve --ramp-up-strategy` ([`ramp`]);
//! - replay: the arrival times a trace gives;
//! - paced conversations: the Production Stack multi-round QA benchmark's
//!   clock, a user joining every `(R - 1) / Q` seconds and each user asking
//!   every `C / Q` seconds ([`Pace`]).
//!
//! Arrivals are per *session*: a single-shot request is a session of one
//! round. A conversation's later rounds cannot be precomputed, since each
//! waits for the previous answer: the driver schedules round `k + 1` at
//! `max(previous finish + think time, session start + k * round_period)`.

pub mod ramp;

use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Requests per second, or all at once. In result files as vLLM writes it:
/// a number, or `"inf"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RequestRate {
    Infinite,
    PerSecond(f64),
}

impl Serialize for RequestRate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestRate::Infinite => serializer.serialize_str("inf"),
            RequestRate::PerSecond(rate) => serializer.serialize_f64(*rate),
        }
    }
}

impl<'de> Deserialize<'de> for RequestRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(f64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Number(rate) => Ok(RequestRate::PerSecond(rate)),
            Written::Text(text) if text == "inf" => Ok(RequestRate::Infinite),
            Written::Text(text) => Err(serde::de::Error::custom(format!(
                "request rate '{text}': expected a number or \"inf\""
            ))),
        }
    }
}

/// `16`, or `unbounded` without a cap: how every output names a level's
/// most requests in flight.
pub fn concurrency_label(max_concurrency: Option<usize>) -> String {
    max_concurrency.map_or("unbounded".into(), |c| c.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleSpec {
    pub rate: RequestRate,
    /// Gamma shape of the gaps between arrivals; 1.0 is Poisson.
    pub burstiness: f64,
    pub max_concurrency: Option<usize>,
    /// Replaces `rate` with a rate that grows over the requests.
    pub ramp_up: Option<ramp::RampUp>,
    /// Paces conversations by the clock (needs `max_concurrency`).
    pub pace: Option<Pace>,
}

/// The Production Stack multi-round QA benchmark's clock
/// (`benchmarks/multi-round-qa/multi-round-qa.py`): with `C` users at once
/// and a global rate `Q`, each user asks every `C / Q` seconds and a new user
/// joins every `(R - 1) / Q` seconds, `R` the rounds per user.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pace {
    /// Requests per second over all users (`--conversation-qps`).
    pub qps: f64,
    /// Rounds per session (at least 2).
    pub rounds: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Arrival offsets from the start of the run, one per session (a
    /// single-shot request is a session of one round), non-decreasing.
    pub arrivals: Vec<Duration>,
    /// Most sessions in progress at once (for single-shot workloads: requests
    /// in flight); `None` is unbounded.
    pub max_concurrency: Option<usize>,
    /// Sessions are started by completions rather than by the clock.
    pub closed_loop: bool,
    /// Paced conversations: round `k` of a session starts no earlier than
    /// `k` periods after the session did.
    pub round_period: Option<Duration>,
}

impl Schedule {
    /// The schedule of `count` sessions.
    pub fn build(spec: &ScheduleSpec, count: usize, seed: u64) -> Schedule {
        if let (Some(pace), Some(users)) = (spec.pace, spec.max_concurrency) {
            return Schedule::paced(pace, users, count);
        }
        let arrivals = match (spec.ramp_up, spec.rate) {
            (Some(ramp), _) => ramp.arrivals(spec.burstiness, count, seed),
            (None, RequestRate::Infinite) => vec![Duration::ZERO; count],
            (None, RequestRate::PerSecond(rate)) => {
                gamma_arrivals(rate, spec.burstiness, count, seed)
            }
        };
        let timed = spec.ramp_up.is_some() || spec.rate != RequestRate::Infinite;
        Schedule {
            arrivals,
            max_concurrency: spec.max_concurrency,
            closed_loop: !timed && spec.max_concurrency.is_some(),
            round_period: None,
        }
    }

    /// Every request arrives at t0: offline without a cap, closed loop with one.
    pub fn all_at_once(count: usize, max_concurrency: Option<usize>) -> Schedule {
        let spec = ScheduleSpec {
            rate: RequestRate::Infinite,
            burstiness: 1.0,
            max_concurrency,
            ramp_up: None,
            pace: None,
        };
        Schedule::build(&spec, count, 0)
    }

    /// Arrivals given by the workload (a trace), optionally capped.
    pub fn replay(arrivals: Vec<Duration>, max_concurrency: Option<usize>) -> Schedule {
        Schedule {
            arrivals,
            max_concurrency,
            closed_loop: false,
            round_period: None,
        }
    }

    /// `sessions` sessions paced for `users` users at once.
    pub fn paced(pace: Pace, users: usize, sessions: usize) -> Schedule {
        let join_gap = f64::from(pace.rounds.saturating_sub(1).max(1)) / pace.qps;
        Schedule {
            arrivals: (0..sessions)
                .map(|s| Duration::from_secs_f64(s as f64 * join_gap))
                .collect(),
            max_concurrency: Some(users),
            closed_loop: false,
            round_period: Some(Duration::from_secs_f64(users as f64 / pace.qps)),
        }
    }

    pub fn kind(&self) -> &'static str {
        match (self.closed_loop, self.arrivals.iter().any(|a| !a.is_zero())) {
            (true, _) => "closed-loop",
            (false, true) => "open-loop",
            (false, false) => "offline",
        }
    }
}

/// Arrival times whose gaps are gamma(shape = burstiness, mean = 1 / rate), the
/// first at zero, as vLLM's `bench serve` draws them.
fn gamma_arrivals(rate: f64, burstiness: f64, count: usize, seed: u64) -> Vec<Duration> {
    // `--request-rate` and `--burstiness` are range-checked where they are
    // parsed (cli/), so the shape and scale are positive and finite here.
    let gaps = Gamma::new(burstiness, 1.0 / (rate * burstiness))
        // Cannot fail: --request-rate and --burstiness are range-checked where parsed (cli::number), so both are positive and finite.
        .expect("rate and burstiness are validated positive and finite");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = 0.0;
    (0..count)
        .map(|i| {
            if i > 0 {
                t += gaps.sample(&mut rng);
            }
            // Saturates rather than panics, should a sum ever pass what a
            // duration holds (centuries beyond any checked flag).
            Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(rate: f64, burstiness: f64) -> Schedule {
        let spec = ScheduleSpec {
            rate: RequestRate::PerSecond(rate),
            burstiness,
            max_concurrency: None,
            ramp_up: None,
            pace: None,
        };
        Schedule::build(&spec, 20_000, 11)
    }

    fn gaps(s: &Schedule) -> Vec<f64> {
        s.arrivals
            .windows(2)
            .map(|w| (w[1] - w[0]).as_secs_f64())
            .collect()
    }

    fn mean_and_cv(xs: &[f64]) -> (f64, f64) {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        (mean, var.sqrt() / mean)
    }

    #[test]
    fn poisson_gaps_have_the_rate_and_unit_coefficient_of_variation() {
        let (mean, cv) = mean_and_cv(&gaps(&open(50.0, 1.0)));
        assert!((mean - 0.02).abs() < 0.0006, "mean gap {mean}");
        assert!((cv - 1.0).abs() < 0.03, "cv {cv}");
    }

    #[test]
    fn burstiness_below_one_spreads_the_gaps() {
        // Gamma with shape k has a coefficient of variation of 1 / sqrt(k).
        let (mean, cv) = mean_and_cv(&gaps(&open(50.0, 0.25)));
        assert!((mean - 0.02).abs() < 0.0012, "mean gap {mean}");
        assert!((cv - 2.0).abs() < 0.1, "cv {cv}");
    }

    #[test]
    fn kinds_follow_the_flags() {
        let build = |rate, c| {
            Schedule::build(
                &ScheduleSpec {
                    rate,
                    burstiness: 1.0,
                    max_concurrency: c,
                    ramp_up: None,
                    pace: None,
                },
                4,
                1,
            )
        };
        assert_eq!(build(RequestRate::Infinite, None).kind(), "offline");
        assert_eq!(build(RequestRate::Infinite, Some(2)).kind(), "closed-loop");
        let capped = build(RequestRate::PerSecond(5.0), Some(2));
        assert_eq!(capped.kind(), "open-loop");
        assert!(!capped.closed_loop);
        assert_eq!(capped.arrivals[0], Duration::ZERO);
    }

    #[test]
    fn same_seed_same_schedule() {
        assert_eq!(open(10.0, 1.0), open(10.0, 1.0));
    }

    #[test]
    fn a_ramp_replaces_the_rate_and_stays_open_loop_under_a_cap() {
        let spec = ScheduleSpec {
            rate: RequestRate::Infinite,
            burstiness: 1.0,
            max_concurrency: Some(4),
            ramp_up: Some(ramp::RampUp::new(ramp::RampStrategy::Linear, 1.0, 9.0).unwrap()),
            pace: None,
        };
        let schedule = Schedule::build(&spec, 50, 2);
        assert!(!schedule.closed_loop);
        assert_eq!(schedule.kind(), "open-loop");
        assert!(schedule.arrivals.windows(2).all(|w| w[0] <= w[1]));
    }

    /// Production Stack's numbers: 15 users, 20 rounds, 0.5 QPS: a user every
    /// 38 s, each asking every 30 s.
    #[test]
    fn paced_conversations_use_production_stacks_gaps() {
        let pace = Pace {
            qps: 0.5,
            rounds: 20,
        };
        let schedule = Schedule::paced(pace, 15, 4);
        let secs: Vec<f64> = schedule
            .arrivals
            .iter()
            .map(Duration::as_secs_f64)
            .collect();
        assert_eq!(secs, [0.0, 38.0, 76.0, 114.0]);
        assert_eq!(schedule.round_period, Some(Duration::from_secs(30)));
        assert_eq!(schedule.max_concurrency, Some(15));
        assert!(!schedule.closed_loop);
    }
}

//! Metrics: pure functions from records to per-request latencies and a run
//! summary. Definitions (README, "Metrics"), all from the driver's timestamps:
//!
//! | metric | definition |
//! |---|---|
//! | TTFT | first delivery - scheduled |
//! | E2EL | finished - scheduled |
//! | TPOT | (E2EL - TTFT) / (n - 1), per request with n >= 2 output tokens |
//! | ITL | gap between consecutive deliveries, pooled over requests |
//! | queue delay | submitted - scheduled (client side) |
//! | throughputs | completed requests' tokens / duration, where duration runs from the first scheduled to the last finished request |

mod metric;
pub mod samples;
pub mod traffic;

use serde::{Deserialize, Serialize};

use crate::records::{Outcome, RequestRecord};
use crate::stats::Summary;

pub use metric::{LatencyMetric, Metric};
pub use samples::{LatencySamples, LevelSamples, TrialThroughput};

const NS_PER_MS: f64 = 1e6;

/// Latencies of one completed request, in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestMetrics {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub ttft_ms: f64,
    pub e2el_ms: f64,
    /// `None` for requests with a single output token.
    pub tpot_ms: Option<f64>,
    pub itls_ms: Vec<f64>,
    pub queue_delay_ms: f64,
    /// Tokens per delivery after the first, for engines that hand over several at once.
    pub tokens_per_delivery: Vec<f64>,
}

impl RequestMetrics {
    /// Metrics of a completed request; `None` for any other outcome.
    pub fn of(record: &RequestRecord) -> Option<RequestMetrics> {
        if record.outcome != Outcome::Completed {
            return None;
        }
        let first = record.deliveries.first()?;
        let finished = record.finished_ns?;
        let since_scheduled = |t: u64| t.saturating_sub(record.scheduled_ns) as f64 / NS_PER_MS;
        let ttft_ms = since_scheduled(first.t_ns);
        let e2el_ms = since_scheduled(finished);
        let n = record.output_tokens();
        let pairs = record.deliveries.windows(2);
        Some(RequestMetrics {
            input_tokens: u64::from(record.input_tokens),
            output_tokens: n,
            ttft_ms,
            e2el_ms,
            tpot_ms: (n >= 2).then(|| (e2el_ms - ttft_ms) / (n - 1) as f64),
            itls_ms: pairs
                .clone()
                .map(|w| (w[1].t_ns - w[0].t_ns) as f64 / NS_PER_MS)
                .collect(),
            queue_delay_ms: since_scheduled(record.submitted_ns.unwrap_or(record.scheduled_ns)),
            tokens_per_delivery: pairs.map(|w| f64::from(w[1].tokens)).collect(),
        })
    }
}

/// Service-level objectives for goodput, in milliseconds (`--goodput`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Slos {
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub e2el_ms: Option<f64>,
}

impl Slos {
    pub fn is_empty(&self) -> bool {
        self.ttft_ms.is_none() && self.tpot_ms.is_none() && self.e2el_ms.is_none()
    }

    /// A request meets the SLOs when it meets every one that is set; a
    /// single-token request has no TPOT and meets a TPOT objective, as in vLLM.
    pub fn met_by(&self, m: &RequestMetrics) -> bool {
        let within = |slo: Option<f64>, value: f64| slo.is_none_or(|limit| value <= limit);
        within(self.ttft_ms, m.ttft_ms)
            && within(self.tpot_ms, m.tpot_ms.unwrap_or(0.0))
            && within(self.e2el_ms, m.e2el_ms)
    }
}

/// Everything the reports show about one level: its requests pooled over
/// its trials (or one trial's, from [`LevelSummary::of`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LevelSummary {
    /// Requests handed to the engine: `completed + failed + cancelled`.
    pub issued: usize,
    pub completed: usize,
    pub failed: usize,
    /// In flight when a stop signal or an engine failure ended the trial.
    pub cancelled: usize,
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
    pub duration_s: f64,
    pub request_throughput: f64,
    pub output_throughput: f64,
    pub total_token_throughput: f64,
    /// Requests meeting every SLO per second; `None` without `--goodput`.
    pub request_goodput: Option<f64>,
    pub ttft_ms: Summary,
    pub tpot_ms: Summary,
    pub itl_ms: Summary,
    pub e2el_ms: Summary,
    pub queue_delay_ms: Summary,
    pub tokens_per_delivery: Summary,
}

/// The name [`LevelSummary`] had before levels were named as such; kept for
/// code outside the crate.
pub use LevelSummary as RunSummary;

impl LevelSummary {
    pub fn of(records: &[RequestRecord], percentiles: &[f64], slos: &Slos) -> LevelSummary {
        Self::of_trials(&[records], percentiles, slos)
    }

    /// One summary over several trials of the same level: latencies pool the
    /// requests of every trial, durations add up, so throughputs are totals
    /// over total time.
    pub fn of_trials(
        trials: &[&[RequestRecord]],
        percentiles: &[f64],
        slos: &Slos,
    ) -> LevelSummary {
        let records = || trials.iter().flat_map(|t| t.iter());
        let per_request: Vec<RequestMetrics> = records().filter_map(RequestMetrics::of).collect();
        let count = |o: Outcome| records().filter(|r| r.outcome == o).count();
        let duration_s = trials.iter().map(|t| duration_ns(t)).sum::<u64>() as f64 / 1e9;
        let per_second = |x: f64| {
            if duration_s > 0.0 {
                x / duration_s
            } else {
                0.0
            }
        };
        let total_input_tokens = per_request.iter().map(|m| m.input_tokens).sum();
        let total_output_tokens = per_request.iter().map(|m| m.output_tokens).sum();
        let summarize = |values: Vec<f64>| Summary::of(&values, percentiles);
        let pooled = |f: fn(&RequestMetrics) -> &Vec<f64>| {
            summarize(
                per_request
                    .iter()
                    .flat_map(|m| f(m).iter().copied())
                    .collect(),
            )
        };
        LevelSummary {
            issued: records().filter(|r| r.submitted_ns.is_some()).count(),
            completed: per_request.len(),
            failed: count(Outcome::Failed),
            cancelled: count(Outcome::Cancelled),
            total_input_tokens,
            total_output_tokens,
            duration_s,
            request_throughput: per_second(per_request.len() as f64),
            output_throughput: per_second(total_output_tokens as f64),
            total_token_throughput: per_second((total_input_tokens + total_output_tokens) as f64),
            request_goodput: (!slos.is_empty())
                .then(|| per_second(per_request.iter().filter(|m| slos.met_by(m)).count() as f64)),
            ttft_ms: summarize(per_request.iter().map(|m| m.ttft_ms).collect()),
            tpot_ms: summarize(per_request.iter().filter_map(|m| m.tpot_ms).collect()),
            itl_ms: pooled(|m| &m.itls_ms),
            e2el_ms: summarize(per_request.iter().map(|m| m.e2el_ms).collect()),
            queue_delay_ms: summarize(per_request.iter().map(|m| m.queue_delay_ms).collect()),
            tokens_per_delivery: pooled(|m| &m.tokens_per_delivery),
        }
    }
}

/// From the first scheduled to the last finished request that was
/// submitted. A cancelled request's end is when it was cancelled, not when
/// the engine stopped working for it: an interrupted trial ends at its last
/// delivery (or the last completion or failure), so its throughput is not
/// diluted by the moments spent cancelling.
fn duration_ns(records: &[RequestRecord]) -> u64 {
    let submitted = || records.iter().filter(|r| r.submitted_ns.is_some());
    let start = submitted().map(|r| r.scheduled_ns).min();
    let finishes = submitted()
        .filter(|r| r.outcome != Outcome::Cancelled)
        .filter_map(|r| r.finished_ns);
    let deliveries = submitted().filter_map(|r| r.deliveries.last().map(|d| d.t_ns));
    match (start, finishes.chain(deliveries).max()) {
        (Some(start), Some(end)) => end.saturating_sub(start),
        _ => 0,
    }
}

/// A failure reason and how many requests failed with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureCount {
    pub reason: String,
    pub count: usize,
}

/// The reasons requests failed, most common first (ties by reason).
pub fn failure_reasons(trials: &[&[RequestRecord]]) -> Vec<FailureCount> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for record in trials.iter().flat_map(|t| t.iter()) {
        if record.outcome == Outcome::Failed {
            let reason = record.error.as_deref().unwrap_or("no reason given");
            *counts.entry(reason).or_default() += 1;
        }
    }
    let mut reasons: Vec<FailureCount> = counts
        .into_iter()
        .map(|(reason, count)| FailureCount {
            reason: reason.to_string(),
            count,
        })
        .collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.count));
    reasons
}

/// Reasons shown in a one-line verdict, and the characters of each.
const REASONS_SHOWN: usize = 3;
const REASON_CHARS: usize = 120;

/// Why a level that ran to its end fails the run, if it does: no request
/// completed, or more than `max_failure_ratio` of those that ended failed
/// (cancelled requests are neither). Names the most common reasons.
pub fn failure_verdict(
    summary: &LevelSummary,
    reasons: &[FailureCount],
    max_failure_ratio: f64,
) -> Option<String> {
    let ended = summary.completed + summary.failed;
    let ratio = summary.failed as f64 / ended.max(1) as f64;
    let head = if summary.completed == 0 {
        format!("no request completed ({} failed)", summary.failed)
    } else if ratio > max_failure_ratio {
        format!(
            "{} of {ended} requests failed ({:.1}%, above --max-failure-ratio {max_failure_ratio})",
            summary.failed,
            ratio * 100.0
        )
    } else {
        return None;
    };
    let shown: Vec<String> = reasons
        .iter()
        .take(REASONS_SHOWN)
        .map(|r| format!("{}x '{}'", r.count, one_line(&r.reason, REASON_CHARS)))
        .collect();
    Some(match shown.is_empty() {
        true => head,
        false => format!("{head}; most common reasons: {}", shown.join(", ")),
    })
}

/// `text` on one line, at most `chars` characters.
fn one_line(text: &str, chars: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}...", &flat[..cut]),
        None => flat,
    }
}

/// Completed requests that stopped before their output budget: under
/// `--ignore-eos` the engine did not generate what it was asked for.
pub fn short_outputs(trials: &[&[RequestRecord]]) -> usize {
    trials
        .iter()
        .flat_map(|t| t.iter())
        .filter(|r| {
            r.outcome == Outcome::Completed && r.output_tokens() < u64::from(r.max_output_tokens)
        })
        .count()
}

/// Requests per second at which a trial's requests were submitted, and
/// at which its schedule meant them to arrive: `None` without two arrivals
/// spread in time (everything at once, a single request).
pub fn submission_rates(records: &[RequestRecord], arrivals_ns: &[u64]) -> Option<(f64, f64)> {
    let rate = |first: u64, last: u64, n: usize| {
        (last > first && n >= 2).then(|| (n - 1) as f64 / ((last - first) as f64 / 1e9))
    };
    let submitted: Vec<u64> = records.iter().filter_map(|r| r.submitted_ns).collect();
    let achieved = rate(
        *submitted.iter().min()?,
        *submitted.iter().max()?,
        submitted.len(),
    )?;
    // The schedule's own rate over as many arrivals as were submitted, so a
    // trial cut short is judged on the part that ran.
    let planned = &arrivals_ns[..submitted.len().min(arrivals_ns.len())];
    let scheduled = rate(*planned.first()?, *planned.last()?, planned.len())?;
    Some((achieved, scheduled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Delivery;

    /// A completed request: scheduled at `scheduled`, deliveries `(t, k)` in ms.
    fn record(scheduled: f64, submitted: f64, deliveries: &[(f64, u32)]) -> RequestRecord {
        let ns = |ms: f64| (ms * NS_PER_MS) as u64;
        let mut r = RequestRecord::new(0, 10, 100);
        r.scheduled_ns = ns(scheduled);
        r.submitted_ns = Some(ns(submitted));
        r.deliveries = deliveries
            .iter()
            .map(|&(t, tokens)| Delivery {
                t_ns: ns(t),
                tokens,
            })
            .collect();
        let last = deliveries.last().unwrap().0;
        r.finish(ns(last), Outcome::Completed, None);
        r
    }

    #[test]
    fn latencies_count_from_the_scheduled_time() {
        // Scheduled at 100 ms, submitted at 104, tokens at 150, 160, 180 (2 tokens).
        let m = RequestMetrics::of(&record(100.0, 104.0, &[(150.0, 1), (160.0, 1), (180.0, 2)]))
            .unwrap();
        assert_eq!(m.ttft_ms, 50.0);
        assert_eq!(m.e2el_ms, 80.0);
        assert_eq!(m.queue_delay_ms, 4.0);
        assert_eq!(m.output_tokens, 4);
        assert_eq!(m.tpot_ms, Some(10.0)); // (80 - 50) / (4 - 1)
        assert_eq!(m.itls_ms, vec![10.0, 20.0]); // per delivery, not per token
        assert_eq!(m.tokens_per_delivery, vec![1.0, 2.0]);
    }

    #[test]
    fn single_token_requests_have_no_tpot() {
        let m = RequestMetrics::of(&record(0.0, 0.0, &[(5.0, 1)])).unwrap();
        assert_eq!((m.tpot_ms, m.itls_ms.len()), (None, 0));
    }

    #[test]
    fn summary_throughput_and_goodput_over_the_run() {
        let records = vec![
            record(0.0, 0.0, &[(100.0, 1), (200.0, 1)]), // ttft 100, e2el 200
            record(500.0, 500.0, &[(900.0, 1), (1000.0, 3)]), // ttft 400, e2el 500
        ];
        let slos = Slos {
            ttft_ms: Some(200.0),
            ..Slos::default()
        };
        let s = LevelSummary::of(&records, &[50.0], &slos);
        assert_eq!(s.duration_s, 1.0); // first scheduled 0 ms .. last finished 1000 ms
        assert_eq!(s.total_output_tokens, 6);
        assert_eq!(s.output_throughput, 6.0);
        assert_eq!(s.total_token_throughput, 26.0);
        assert_eq!(s.request_throughput, 2.0);
        assert_eq!(s.request_goodput, Some(1.0));
        assert_eq!(s.ttft_ms.mean, 250.0);
        assert_eq!(s.itl_ms.count, 2);
    }

    #[test]
    fn failed_and_cancelled_requests_are_counted_not_measured() {
        let mut failed = record(0.0, 0.0, &[(10.0, 1)]);
        failed.outcome = Outcome::Failed;
        let mut cancelled = record(0.0, 0.0, &[(10.0, 1)]);
        cancelled.outcome = Outcome::Cancelled;
        let s = LevelSummary::of(
            &[failed, cancelled, record(0.0, 0.0, &[(20.0, 1)])],
            &[],
            &Slos::default(),
        );
        assert_eq!((s.completed, s.failed, s.cancelled), (1, 1, 1));
        assert_eq!(s.ttft_ms.mean, 20.0);
        assert_eq!(s.request_goodput, None);
    }
}

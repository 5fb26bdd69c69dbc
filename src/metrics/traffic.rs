//! What the traffic of a level looked like, from its records: the request
//! rate over time (what the driver scheduled, per second, beside the rate a
//! ramp planned), how much of the prompts an ideal prefix cache held, and a
//! conversation's figures round by round.

use serde::{Deserialize, Serialize};

use super::RequestMetrics;
use crate::records::{Outcome, RequestRecord};

/// Most bins of a rate profile: a long run gets wider bins.
const MAX_BINS: usize = 200;

/// Requests scheduled per second over the run, in bins from the first
/// scheduled request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RateProfile {
    /// Bin width, seconds (1, or wider to keep at most 200 bins).
    pub bin_s: f64,
    /// Each bin's start, seconds since the first scheduled request.
    pub t_s: Vec<f64>,
    /// Requests whose scheduled time fell in the bin, per second.
    pub scheduled_rps: Vec<f64>,
    /// A ramp's planned rate: the mean planned rate of the requests that
    /// arrived in the bin (`null` where none did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_rps: Option<Vec<Option<f64>>>,
}

impl RateProfile {
    /// The profile of the submitted requests; `planned` gives, for a ramp,
    /// each request's planned rate by record index (`None` where unplanned).
    pub fn of(records: &[RequestRecord], planned: Option<&[Option<f64>]>) -> Option<Self> {
        let submitted: Vec<&RequestRecord> = records
            .iter()
            .filter(|r| r.submitted_ns.is_some())
            .collect();
        let start = submitted.iter().map(|r| r.scheduled_ns).min()?;
        let end = submitted.iter().map(|r| r.scheduled_ns).max()?;
        let span_s = (end - start) as f64 / 1e9;
        let bin_s = (span_s / MAX_BINS as f64).ceil().max(1.0);
        let bins = ((span_s / bin_s).floor() as usize + 1).min(MAX_BINS);
        let bin_of = |r: &RequestRecord| {
            let t = (r.scheduled_ns - start) as f64 / 1e9;
            ((t / bin_s) as usize).min(bins - 1)
        };
        let mut counts = vec![0.0; bins];
        let mut planned_sum = vec![(0.0, 0usize); bins];
        for r in &submitted {
            let bin = bin_of(r);
            counts[bin] += 1.0;
            if let Some(rate) = planned.and_then(|p| p.get(r.index as usize).copied().flatten()) {
                planned_sum[bin].0 += rate;
                planned_sum[bin].1 += 1;
            }
        }
        Some(Self {
            bin_s,
            t_s: (0..bins).map(|i| i as f64 * bin_s).collect(),
            scheduled_rps: counts.iter().map(|c| c / bin_s).collect(),
            planned_rps: planned.map(|_| {
                planned_sum
                    .iter()
                    .map(|&(sum, n)| (n > 0).then(|| sum / n as f64))
                    .collect()
            }),
        })
    }
}

/// How much of the completed requests' prompts an ideal prefix cache held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixReuse {
    pub input_tokens: u64,
    pub reused_prefix_tokens: u64,
    /// `reused_prefix_tokens / input_tokens`.
    pub fraction: f64,
}

impl PrefixReuse {
    /// Over the completed requests of every trial; `None` when the records
    /// do not say (runs outside a workload).
    pub fn of(trials: &[&[RequestRecord]]) -> Option<Self> {
        let completed = trials
            .iter()
            .flat_map(|t| t.iter())
            .filter(|r| r.outcome == Outcome::Completed);
        let mut reuse = PrefixReuse::default();
        let mut known = false;
        for r in completed {
            known |= r.reused_prefix_tokens.is_some();
            reuse.input_tokens += u64::from(r.input_tokens);
            reuse.reused_prefix_tokens += u64::from(r.reused_prefix_tokens.unwrap_or(0));
        }
        if !known || reuse.input_tokens == 0 {
            return None;
        }
        reuse.fraction = reuse.reused_prefix_tokens as f64 / reuse.input_tokens as f64;
        Some(reuse)
    }
}

/// One round of a conversation, over every session that reached it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundSummary {
    /// From 1, as the README and the terminal count rounds.
    pub round: u32,
    pub completed: usize,
    /// Failed, cancelled, or never sent because an earlier round failed.
    pub not_completed: usize,
    pub mean_input_tokens: f64,
    pub mean_reused_prefix_tokens: f64,
    pub mean_ttft_ms: f64,
    pub mean_e2el_ms: f64,
}

/// Round by round, for records that carry a round; empty otherwise.
pub fn per_round(trials: &[&[RequestRecord]]) -> Vec<RoundSummary> {
    let records = || trials.iter().flat_map(|t| t.iter());
    let Some(last) = records().filter_map(|r| r.round).max() else {
        return Vec::new();
    };
    (0..=last)
        .map(|round| {
            let of_round: Vec<&RequestRecord> =
                records().filter(|r| r.round == Some(round)).collect();
            let done: Vec<(&RequestRecord, RequestMetrics)> = of_round
                .iter()
                .filter_map(|r| RequestMetrics::of(r).map(|m| (*r, m)))
                .collect();
            let mean = |f: &dyn Fn(&(&RequestRecord, RequestMetrics)) -> f64| match done.len() {
                0 => 0.0,
                n => done.iter().map(f).sum::<f64>() / n as f64,
            };
            RoundSummary {
                round: round + 1,
                completed: done.len(),
                not_completed: of_round.len() - done.len(),
                mean_input_tokens: mean(&|(r, _)| f64::from(r.input_tokens)),
                mean_reused_prefix_tokens: mean(&|(r, _)| {
                    f64::from(r.reused_prefix_tokens.unwrap_or(0))
                }),
                mean_ttft_ms: mean(&|(_, m)| m.ttft_ms),
                mean_e2el_ms: mean(&|(_, m)| m.e2el_ms),
            }
        })
        .collect()
}

/// A level's traffic, as its result file and plots carry it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    /// The first trial's request rate over time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_over_time: Option<RateProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_reuse: Option<PrefixReuse>,
    /// Conversations only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_round: Vec<RoundSummary>,
}

impl Traffic {
    pub fn is_empty(&self) -> bool {
        *self == Traffic::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Delivery;

    fn record(index: u64, scheduled_ms: u64, round: Option<u32>, reused: u32) -> RequestRecord {
        let ns = |ms: u64| ms * 1_000_000;
        let mut r = RequestRecord::new(index, 100, 2);
        r.scheduled_ns = ns(scheduled_ms);
        r.submitted_ns = Some(ns(scheduled_ms));
        r.deliveries.push(Delivery {
            t_ns: ns(scheduled_ms + 10),
            tokens: 1,
        });
        r.deliveries.push(Delivery {
            t_ns: ns(scheduled_ms + 20),
            tokens: 1,
        });
        r.finish(ns(scheduled_ms + 20), Outcome::Completed, None);
        r.round = round;
        r.reused_prefix_tokens = Some(reused);
        r
    }

    #[test]
    fn the_rate_profile_counts_scheduled_requests_per_second() {
        let records: Vec<RequestRecord> = [0, 100, 900, 1500, 2999]
            .iter()
            .enumerate()
            .map(|(i, &ms)| record(i as u64, ms, None, 0))
            .collect();
        let planned = [Some(2.0), Some(4.0), Some(6.0), None, Some(8.0)];
        let p = RateProfile::of(&records, Some(&planned)).unwrap();
        assert_eq!(p.bin_s, 1.0);
        assert_eq!(p.t_s, [0.0, 1.0, 2.0]);
        assert_eq!(p.scheduled_rps, [3.0, 1.0, 1.0]);
        assert_eq!(p.planned_rps.unwrap(), [Some(4.0), None, Some(8.0)]);
        assert!(RateProfile::of(&[], None).is_none());
    }

    #[test]
    fn rounds_are_summarized_apart_and_reuse_over_completed_requests() {
        let records = vec![
            record(0, 0, Some(0), 0),
            record(1, 50, Some(1), 60),
            record(2, 0, Some(0), 10),
            record(3, 60, Some(1), 80),
        ];
        let rounds = per_round(&[&records]);
        assert_eq!(rounds.len(), 2);
        assert_eq!((rounds[1].round, rounds[1].completed), (2, 2));
        assert_eq!(rounds[1].mean_reused_prefix_tokens, 70.0);
        assert!((rounds[0].mean_ttft_ms - 10.0).abs() < 1e-9);
        let reuse = PrefixReuse::of(&[&records]).unwrap();
        assert_eq!((reuse.input_tokens, reuse.reused_prefix_tokens), (400, 150));
        assert!((reuse.fraction - 0.375).abs() < 1e-12);
        let unknown = vec![RequestRecord::new(0, 5, 1)];
        assert!(PrefixReuse::of(&[&unknown]).is_none());
        assert!(per_round(&[&unknown]).is_empty());
    }
}

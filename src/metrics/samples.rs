//! The per-request values behind a level's statistics, kept so that intervals
//! can be computed and runs compared later (baselines, `compare`, `check`).

use serde::{Deserialize, Serialize};

use super::{LatencyMetric, LevelSummary, RequestMetrics, Slos};
use crate::records::RequestRecord;
use crate::stats::Sample;

/// Latencies of the completed requests, in ms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySamples {
    pub ttft_ms: Vec<f64>,
    /// Requests with at least two output tokens only.
    pub tpot_ms: Vec<f64>,
    pub e2el_ms: Vec<f64>,
    /// One list per request, so resampling keeps a request's gaps together.
    pub itl_ms: Vec<Vec<f64>>,
}

impl LatencySamples {
    pub fn of(records: &[RequestRecord]) -> Self {
        let mut samples = Self::default();
        for m in records.iter().filter_map(RequestMetrics::of) {
            samples.ttft_ms.push(m.ttft_ms);
            samples.tpot_ms.extend(m.tpot_ms);
            samples.e2el_ms.push(m.e2el_ms);
            samples.itl_ms.push(m.itls_ms);
        }
        samples
    }

    pub fn extend(&mut self, other: LatencySamples) {
        self.ttft_ms.extend(other.ttft_ms);
        self.tpot_ms.extend(other.tpot_ms);
        self.e2el_ms.extend(other.e2el_ms);
        self.itl_ms.extend(other.itl_ms);
    }

    /// The metric as a sample to resample: ITL grouped by request.
    pub fn sample(&self, metric: LatencyMetric) -> Sample {
        match metric {
            LatencyMetric::Ttft => Sample::new(self.ttft_ms.clone()),
            LatencyMetric::Tpot => Sample::new(self.tpot_ms.clone()),
            LatencyMetric::Itl => Sample::grouped(&self.itl_ms),
            LatencyMetric::E2el => Sample::new(self.e2el_ms.clone()),
        }
    }

    pub fn completed(&self) -> usize {
        self.ttft_ms.len()
    }
}

/// The throughputs of one trial.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialThroughput {
    pub duration_s: f64,
    pub completed: usize,
    pub request_throughput: f64,
    pub output_throughput: f64,
    pub total_token_throughput: f64,
}

impl TrialThroughput {
    pub fn of(records: &[RequestRecord]) -> Self {
        Self::from(&LevelSummary::of(records, &[], &Slos::default()))
    }
}

impl From<&LevelSummary> for TrialThroughput {
    fn from(run: &LevelSummary) -> Self {
        Self {
            duration_s: run.duration_s,
            completed: run.completed,
            request_throughput: run.request_throughput,
            output_throughput: run.output_throughput,
            total_token_throughput: run.total_token_throughput,
        }
    }
}

/// Everything a level's comparison needs: its requests' latencies (all
/// trials pooled) and each trial's throughputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LevelSamples {
    pub latencies: LatencySamples,
    pub trials: Vec<TrialThroughput>,
}

impl LevelSamples {
    /// Adds one trial's records.
    pub fn add_trial(&mut self, records: &[RequestRecord]) {
        self.latencies.extend(LatencySamples::of(records));
        self.trials.push(TrialThroughput::of(records));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Delivery, Outcome};

    fn record(scheduled_ms: u64, deliveries_ms: &[u64]) -> RequestRecord {
        let mut r = RequestRecord::new(0, 4, deliveries_ms.len() as u32);
        r.scheduled_ns = scheduled_ms * 1_000_000;
        r.submitted_ns = Some(r.scheduled_ns);
        r.deliveries = deliveries_ms
            .iter()
            .map(|&t| Delivery {
                t_ns: t * 1_000_000,
                tokens: 1,
            })
            .collect();
        r.finish(
            deliveries_ms.last().unwrap() * 1_000_000,
            Outcome::Completed,
            None,
        );
        r
    }

    #[test]
    fn trials_add_requests_and_throughputs() {
        let mut level = LevelSamples::default();
        level.add_trial(&[record(0, &[10, 20, 40]), record(0, &[5])]);
        level.add_trial(&[record(0, &[100, 150])]);
        let l = &level.latencies;
        assert_eq!(l.ttft_ms, vec![10.0, 5.0, 100.0]);
        assert_eq!(
            l.tpot_ms,
            vec![15.0, 50.0],
            "single-token requests have no TPOT"
        );
        assert_eq!(l.itl_ms, vec![vec![10.0, 20.0], vec![], vec![50.0]]);
        assert_eq!(l.sample(LatencyMetric::Itl).units(), 2);
        assert_eq!(level.trials.len(), 2);
        assert_eq!(level.trials[1].output_throughput, 2.0 / 0.15);
    }
}

//! The per-request values behind a level's statistics, kept so that intervals
//! can be computed and runs compared later (baselines, `compare`, `check`).

use serde::{Deserialize, Serialize};

use super::{LatencyMetric, LevelSummary, Metric, RequestMetrics, Slos};
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

    /// The metric's values, ITL's gaps flattened.
    pub fn values(&self, metric: LatencyMetric) -> Vec<f64> {
        match metric {
            LatencyMetric::Ttft => self.ttft_ms.clone(),
            LatencyMetric::Tpot => self.tpot_ms.clone(),
            LatencyMetric::Itl => self.itl_ms.concat(),
            LatencyMetric::E2el => self.e2el_ms.clone(),
        }
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

/// Everything a level's comparison needs: each trial's latencies and
/// throughputs, in the order the trials ran. Trials, not requests, are the
/// replicates of a level's statistics (`stats::trials`), so the latencies
/// stay apart by trial.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LevelSamples {
    /// One entry per trial. Samples files of format 1 pooled every trial's
    /// requests into one: they load as a single entry, whatever `trials`
    /// holds.
    #[serde(deserialize_with = "per_trial_or_pooled")]
    pub latencies: Vec<LatencySamples>,
    pub trials: Vec<TrialThroughput>,
}

impl LevelSamples {
    /// Adds one trial's records.
    pub fn add_trial(&mut self, records: &[RequestRecord]) {
        self.latencies.push(LatencySamples::of(records));
        self.trials.push(TrialThroughput::of(records));
    }

    /// Every trial's latencies together.
    pub fn pooled(&self) -> LatencySamples {
        let mut all = LatencySamples::default();
        for trial in &self.latencies {
            all.extend(trial.clone());
        }
        all
    }

    /// Completed requests, every trial together.
    pub fn completed(&self) -> usize {
        self.latencies.iter().map(LatencySamples::completed).sum()
    }

    /// The values of `metric`, one list per trial: a latency's values (ITL:
    /// every gap of the trial), or a throughput's one value. Trials with no
    /// value are kept as empty lists; the statistics leave them out.
    pub fn per_trial(&self, metric: Metric) -> Vec<Vec<f64>> {
        let throughput =
            |f: fn(&TrialThroughput) -> f64| self.trials.iter().map(|t| vec![f(t)]).collect();
        match metric {
            Metric::Latency(m) => self.latencies.iter().map(|l| l.values(m)).collect(),
            Metric::OutputThroughput => throughput(|t| t.output_throughput),
            Metric::RequestThroughput => throughput(|t| t.request_throughput),
            Metric::TotalTokenThroughput => throughput(|t| t.total_token_throughput),
        }
    }
}

/// Format 2's list of trials, or format 1's one pooled object.
fn per_trial_or_pooled<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<LatencySamples>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        PerTrial(Vec<LatencySamples>),
        Pooled(LatencySamples),
    }
    Ok(match Shape::deserialize(deserializer)? {
        Shape::PerTrial(trials) => trials,
        Shape::Pooled(all) => vec![all],
    })
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
        assert_eq!(level.latencies.len(), 2, "one entry per trial");
        let l = &level.pooled();
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
        assert_eq!(level.completed(), 3);
        let itl = level.per_trial(Metric::Latency(LatencyMetric::Itl));
        assert_eq!(itl, vec![vec![10.0, 20.0], vec![50.0]]);
        let out = level.per_trial(Metric::OutputThroughput);
        assert_eq!(out[1], vec![2.0 / 0.15]);
    }

    /// Format 1 pooled the latencies of every trial into one object: it
    /// reads as one trial of latencies beside its per-trial throughputs.
    #[test]
    fn pooled_latencies_of_format_1_read_as_one_trial() {
        let mut level = LevelSamples::default();
        level.add_trial(&[record(0, &[10, 20])]);
        level.add_trial(&[record(0, &[30, 50])]);
        let mut json = serde_json::to_value(&level).unwrap();
        assert!(json["latencies"].is_array());
        json["latencies"] = serde_json::to_value(level.pooled()).unwrap();
        let old: LevelSamples = serde_json::from_value(json).unwrap();
        assert_eq!(old.latencies, vec![level.pooled()]);
        assert_eq!(old.trials.len(), 2);
    }
}

//! The metrics by name: the four latencies, and the metrics that carry an
//! interval and can be compared between runs (the latencies and the three
//! throughputs). Flags, result keys, charts and verdicts all name them here.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{LevelSamples, LevelSummary, TrialThroughput};
use crate::stats::{Direction, Sample, Summary};

/// The latency metrics that carry percentiles (`--percentile-metrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatencyMetric {
    Ttft,
    Tpot,
    Itl,
    E2el,
}

impl LatencyMetric {
    pub const ALL: [LatencyMetric; 4] = [Self::Ttft, Self::Tpot, Self::Itl, Self::E2el];

    /// The short name used in flags and JSON keys.
    pub fn key(self) -> &'static str {
        match self {
            Self::Ttft => "ttft",
            Self::Tpot => "tpot",
            Self::Itl => "itl",
            Self::E2el => "e2el",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.key() == name)
    }

    pub fn summary(self, run: &LevelSummary) -> &Summary {
        match self {
            Self::Ttft => &run.ttft_ms,
            Self::Tpot => &run.tpot_ms,
            Self::Itl => &run.itl_ms,
            Self::E2el => &run.e2el_ms,
        }
    }
}

impl std::fmt::Display for LatencyMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key().to_uppercase())
    }
}

/// A metric that carries an interval and can be compared between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Latency(LatencyMetric),
    OutputThroughput,
    RequestThroughput,
    TotalTokenThroughput,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::Latency(LatencyMetric::Ttft),
        Metric::Latency(LatencyMetric::Tpot),
        Metric::Latency(LatencyMetric::Itl),
        Metric::Latency(LatencyMetric::E2el),
        Metric::OutputThroughput,
        Metric::RequestThroughput,
        Metric::TotalTokenThroughput,
    ];
    pub const THROUGHPUTS: [Metric; 3] = [
        Metric::OutputThroughput,
        Metric::RequestThroughput,
        Metric::TotalTokenThroughput,
    ];

    /// `ttft` .. `e2el`, `output_throughput`, `request_throughput`, `total_token_throughput`.
    pub fn key(self) -> &'static str {
        match self {
            Metric::Latency(m) => m.key(),
            Metric::OutputThroughput => "output_throughput",
            Metric::RequestThroughput => "request_throughput",
            Metric::TotalTokenThroughput => "total_token_throughput",
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Self::ALL.into_iter().find(|m| m.key() == name)
    }

    /// What people read: "TTFT (ms)", "Output throughput (tok/s)".
    pub fn label(self) -> String {
        match self {
            Metric::Latency(m) => format!("{m} (ms)"),
            Metric::OutputThroughput => "Output throughput (tok/s)".into(),
            Metric::RequestThroughput => "Request throughput (req/s)".into(),
            Metric::TotalTokenThroughput => "Total token throughput (tok/s)".into(),
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Metric::Latency(_) => Direction::LowerIsBetter,
            _ => Direction::HigherIsBetter,
        }
    }

    /// Latencies: one value per request (ITL: per request, grouped); throughputs: one per trial.
    pub fn sample(self, level: &LevelSamples) -> Sample {
        let per_trial =
            |f: fn(&TrialThroughput) -> f64| Sample::new(level.trials.iter().map(f).collect());
        match self {
            Metric::Latency(m) => level.latencies.sample(m),
            Metric::OutputThroughput => per_trial(|t| t.output_throughput),
            Metric::RequestThroughput => per_trial(|t| t.request_throughput),
            Metric::TotalTokenThroughput => per_trial(|t| t.total_token_throughput),
        }
    }
}

/// As its key: `"ttft"`, `"output_throughput"`.
impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        Metric::parse(&key)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown metric '{key}'")))
    }
}

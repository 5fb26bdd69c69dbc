//! Reports: the terminal blocks, the result JSON, and the machine facts
//! recorded beside every result.

pub mod environment;
pub mod result_json;
pub mod speed_of_light;
pub mod terminal;

use std::fmt;

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

    pub fn summary(self, run: &crate::metrics::RunSummary) -> &crate::stats::Summary {
        match self {
            Self::Ttft => &run.ttft_ms,
            Self::Tpot => &run.tpot_ms,
            Self::Itl => &run.itl_ms,
            Self::E2el => &run.e2el_ms,
        }
    }
}

impl fmt::Display for LatencyMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key().to_uppercase())
    }
}

/// `99` -> "99", `99.9` -> "99.9", as vLLM names its `pNN_` keys.
pub fn percentile_label(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{}", p as u64)
    } else {
        format!("{p}")
    }
}

//! Reports: the terminal blocks, the result JSON, and the machine facts
//! recorded beside every result.

pub mod compare;
pub mod env_command;
pub mod environment;
pub mod export;
pub mod gpu;
pub mod html;
pub mod plot;
pub mod progress;
pub mod report_command;
pub mod result_json;
pub mod speed_of_light;
pub mod statistics;
pub mod table;
pub mod terminal;

pub use crate::metrics::LatencyMetric;

/// `99` -> "99", `99.9` -> "99.9", as vLLM names its `pNN_` keys.
pub fn percentile_label(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{}", p as u64)
    } else {
        format!("{p}")
    }
}

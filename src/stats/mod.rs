//! Statistics over plain numbers: descriptive summaries, bootstrap intervals,
//! outliers and two-sample comparisons. Imports nothing else from the crate,
//! so it can be read, tested and trusted on its own.

mod bootstrap;
mod compare;
mod outliers;
mod sample;
mod summary;

pub mod noise;
pub mod trial_test;
pub mod trials;

pub use bootstrap::{estimates, BootstrapConfig, ConfidenceInterval, Estimate, Estimates};
pub use compare::{compare, Comparison, Direction, Thresholds, Verdict};
pub use outliers::Outliers;
pub use sample::Sample;
pub use summary::{percentile_sorted, Summary};

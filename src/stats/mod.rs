//! Statistics over plain numbers: descriptive summaries, bootstrap intervals,
//! outliers and two-sample comparisons. Imports nothing else from the crate,
//! so it can be read, tested and trusted on its own.

mod bootstrap;
mod outliers;
mod sample;
mod summary;
mod two_sample;

pub mod noise;
pub mod trial_test;
pub mod trials;

pub use bootstrap::{estimates, BootstrapConfig, ConfidenceInterval, Estimate, Estimates};
pub use outliers::Outliers;
pub use sample::Sample;
pub use summary::{percentile_sorted, Summary};
pub use two_sample::{two_sample, Comparison, Direction, Thresholds, Verdict};

//! Baselines, stored the way criterion.rs stores them: one folder per
//! benchmark id, one subfolder per saved name, holding the per-request samples
//! a later comparison needs.
//!
//! ```text
//! <result-dir>/baselines/<benchmark id>/new/samples.json      the latest run
//! <result-dir>/baselines/<benchmark id>/<NAME>/samples.json   --save-baseline NAME
//! ```
//!
//! `check` (`commands/check.rs`) is the regression gate built on them.

pub mod id;
pub mod store;

pub use id::BenchmarkId;
pub use store::LATEST;

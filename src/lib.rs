//! enginebench: measures LLM inference engines in-process.
//!
//! The pipeline, one direction:
//! `workload -> schedule -> driver <-> engine -> records -> metrics -> stats -> report`.

pub mod cli;
pub mod driver;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod records;
pub mod report;
pub mod schedule;
pub mod stats;
pub mod sweep;
pub mod workload;

pub use error::Error;

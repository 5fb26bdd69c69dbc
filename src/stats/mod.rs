//! Statistics over plain numbers. Imports nothing else from the crate, so it
//! can be read, tested and trusted on its own.

mod summary;

pub use summary::{percentile_sorted, Summary};

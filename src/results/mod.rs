//! Saved results: the result file as a type ([`ResultDoc`]), its samples
//! file, the one reader of both ([`ResultFile`]), and typed, atomic JSON
//! reads and writes whose errors name the file (`fs`).

pub mod doc;
pub mod file;
pub mod fs;
pub mod names;
pub mod samples;

pub use doc::{
    BaselineDoc, LatencyFigures, LatencyKeys, ResultDoc, SpeedOfLightDoc, StatisticsDoc,
    ThroughputSpread,
};
pub use file::{read_all, result_files, ResultFile};
pub use samples::SampleFile;

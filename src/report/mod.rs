//! Reports: the terminal blocks, the result JSON, and the machine facts
//! recorded beside every result.

pub mod export;
pub mod progress;
pub mod result_json;
pub mod statistics;
pub mod terminal;

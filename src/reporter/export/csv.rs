//! CSV: one row per level, numbers at full precision so they read back equal
//! to the result JSON's.

use std::io::Write;

use super::{Exporter, LevelRow, Value, COLUMNS};

pub struct Csv;

impl Exporter for Csv {
    fn file_name(&self, stem: &str) -> String {
        format!("{stem}.csv")
    }

    fn write(&self, levels: &[LevelRow], out: &mut dyn Write) -> std::io::Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(COLUMNS.iter().map(|c| c.header))?;
        for row in levels {
            writer.write_record(COLUMNS.iter().map(|c| match (c.value)(row) {
                Value::Text(text) => text,
                Value::Count(n) => n.to_string(),
                // Rust's shortest form that parses back to the same f64.
                Value::Number(x) => x.to_string(),
                Value::Missing => String::new(),
            }))?;
        }
        writer.flush()?;
        Ok(())
    }
}

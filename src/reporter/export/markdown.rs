//! Markdown: the same table for a README or a pull request, numbers rounded
//! to two decimals.

use std::io::Write;

use super::{Exporter, LevelRow, Value, COLUMNS};
use crate::render::table::Table;

pub struct Markdown;

impl Exporter for Markdown {
    fn file_name(&self, stem: &str) -> String {
        format!("{stem}.md")
    }

    fn write(&self, levels: &[LevelRow], out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = Table::new(COLUMNS.iter().map(|c| c.header.to_string()).collect());
        for row in levels {
            table.rows.push(
                COLUMNS
                    .iter()
                    .map(|c| match (c.value)(row) {
                        // A pipe would end the cell.
                        Value::Text(text) => text.replace('|', "\\|"),
                        Value::Count(n) => n.to_string(),
                        Value::Number(x) => format!("{x:.2}"),
                        Value::Missing => "—".into(),
                    })
                    .collect(),
            );
        }
        out.write_all(table.markdown().as_bytes())?;
        Ok(())
    }
}

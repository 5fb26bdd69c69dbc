//! The statistics of a level in the terminal: intervals and outliers per
//! latency metric, the spread between trials, and the change against a
//! baseline. vLLM's block above them stays as vLLM prints it.

use crate::analysis::LevelAnalysis;
use crate::render::table::Table;
use crate::render::{change_text, estimate_text, outliers_text, p_text, skip_notes};
use crate::stats::{BootstrapConfig, Estimates, Thresholds};
use crate::sweep::BaselineChanges;

/// Rows mean, median, p90, p99, outliers; a column per latency metric.
pub fn intervals_block(analysis: &LevelAnalysis, bootstrap: &BootstrapConfig) -> String {
    let mut header = vec![String::new()];
    header.extend(analysis.latencies.iter().map(|(m, _)| format!("{m} (ms)")));
    let mut table = Table::new(header);
    for (i, name) in Estimates::NAMES.iter().enumerate() {
        let mut row = vec![name.to_string()];
        row.extend(
            analysis
                .latencies
                .iter()
                .map(|(_, s)| s.estimates.map_or("—".into(), |e| estimate_text(e.get(i)))),
        );
        table.rows.push(row);
    }
    let mut outliers = vec!["outliers (mild/severe)".to_string()];
    outliers.extend(
        analysis
            .latencies
            .iter()
            .map(|(_, s)| outliers_text(&s.outliers)),
    );
    table.rows.push(outliers);
    format!(
        "Statistics ({}% bootstrap intervals, ITL resampled by request; outliers by Tukey's fences)\n{}",
        bootstrap.confidence_level * 100.0,
        table.text()
    )
}

/// The spread of throughputs between trials; empty with one trial.
pub fn trials_block(analysis: &LevelAnalysis) -> String {
    if analysis.spread.is_empty() {
        return String::new();
    }
    let header = ["throughput", "mean of trials", "std", "cv", "min", "max"];
    let mut table = Table::new(header.map(String::from).to_vec());
    for (metric, s) in &analysis.spread {
        table.rows.push(vec![
            metric.label(),
            estimate_text(&s.mean),
            format!("{:.2}", s.std),
            format!("{:.2}%", s.coefficient_of_variation * 100.0),
            format!("{:.2}", s.min),
            format!("{:.2}", s.max),
        ]);
    }
    format!("Trials: {}\n{}", analysis.trials, table.text())
}

/// Per metric: the change of the mean with its interval, p and verdict.
pub fn change_block(baseline: &BaselineChanges, thresholds: &Thresholds) -> String {
    let header = [
        "metric",
        "change of mean",
        "p",
        "verdict",
        "change of median",
    ];
    let mut table = Table::new(header.map(String::from).to_vec());
    for change in &baseline.changes {
        let mut row = vec![change.metric.label()];
        row.extend(match &change.comparison {
            Some(c) => [
                change_text(&c.change.mean),
                p_text(c.p_value),
                c.verdict.label().into(),
                change_text(&c.change.median),
            ],
            None => ["—".into(), String::new(), "n/a".into(), String::new()],
        });
        table.rows.push(row);
    }
    format!(
        "Change against baseline '{}' (noise ±{}%, significance {})\n{}{}",
        baseline.name,
        thresholds.noise * 100.0,
        thresholds.significance,
        table.text(),
        skip_notes(&baseline.changes)
    )
}

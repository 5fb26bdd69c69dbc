//! The statistics of a level in the terminal and in the result JSON: intervals
//! and outliers per latency metric, the spread between trials, and the change
//! against a baseline. vLLM's block above them stays as vLLM prints it.

use serde_json::{json, Map, Value};

use crate::analysis::change::MetricChange;
use crate::analysis::StatisticsOptions;
use crate::analysis::{LevelAnalysis, Spread};
use crate::baseline::BenchmarkId;
use crate::metrics::LevelSamples;
use crate::render::table::Table;
use crate::render::{change_text, estimate_text, outliers_text, p_text, skip_notes};
use crate::stats::{BootstrapConfig, Estimates};

/// The baseline a level was compared with, and the changes found.
pub struct BaselineChanges<'a> {
    pub name: &'a str,
    pub file: String,
    pub changes: &'a [MetricChange],
}

/// Everything the statistics add to a level's result.
pub struct LevelStatistics<'a> {
    pub benchmark: &'a BenchmarkId,
    pub analysis: &'a LevelAnalysis,
    pub samples: &'a LevelSamples,
    pub options: &'a StatisticsOptions,
    pub baseline: Option<BaselineChanges<'a>>,
}

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
pub fn change_block(baseline: &BaselineChanges, options: &StatisticsOptions) -> String {
    let header = [
        "metric",
        "change of mean",
        "p",
        "verdict",
        "change of median",
    ];
    let mut table = Table::new(header.map(String::from).to_vec());
    for change in baseline.changes {
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
    let t = &options.thresholds;
    format!(
        "Change against baseline '{}' (noise ±{}%, significance {})\n{}{}",
        baseline.name,
        t.noise * 100.0,
        t.significance,
        table.text(),
        skip_notes(baseline.changes)
    )
}

/// Adds the statistics to a level's result JSON, beside vLLM's flat keys.
pub fn add_to_json(out: &mut Value, stats: &LevelStatistics) {
    let Value::Object(map) = out else {
        return;
    };
    let mut put = |key: &str, value: Value| {
        map.insert(key.into(), value);
    };
    put("benchmark_id", json!(stats.benchmark));
    put("trials", stats.samples.trials.len().into());
    put("trial_results", json!(stats.samples.trials));
    put(
        "statistics",
        statistics_json(stats.analysis, &stats.options.bootstrap),
    );
    let spread: Map<String, Value> = stats
        .analysis
        .spread
        .iter()
        .map(|(m, s): &(_, Spread)| (m.key().to_string(), json!(s)))
        .collect();
    put("throughput_spread", Value::Object(spread));
    if let Some(b) = &stats.baseline {
        let t = &stats.options.thresholds;
        put(
            "baseline",
            json!({
                "name": b.name,
                "file": b.file,
                "noise_threshold": t.noise,
                "significance_level": t.significance,
                "changes": b.changes,
            }),
        );
    }
}

/// `{"confidence_level", "bootstrap_seed", "ttft_ms": {...}, ...}`: also the
/// `estimates.json` of a baseline folder.
pub fn statistics_json(analysis: &LevelAnalysis, bootstrap: &BootstrapConfig) -> Value {
    let mut out = Map::new();
    out.insert("confidence_level".into(), bootstrap.confidence_level.into());
    out.insert("bootstrap_seed".into(), bootstrap.seed.into());
    for (metric, stats) in &analysis.latencies {
        out.insert(format!("{}_ms", metric.key()), json!(stats));
    }
    Value::Object(out)
}

//! The statistics of a level in the terminal: intervals and outliers per
//! latency metric, the spread between trials, and the change against a
//! baseline. vLLM's block above them stays as vLLM prints it.

use crate::analysis::{IntervalBasis, LevelAnalysis};
use crate::render::table::Table;
use crate::render::{change_text, estimate_text, outliers_text, p_text, skip_notes};
use crate::stats::noise::NoiseSource;
use crate::stats::trial_test::TrialVerdict;
use crate::stats::{BootstrapConfig, Estimates, Thresholds};
use crate::sweep::BaselineChanges;

/// Rows mean, median, p90, p99, the spread of the trials' means, outliers; a
/// column per latency metric.
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
    let between = analysis
        .latencies
        .iter()
        .all(|(_, s)| s.basis() == IntervalBasis::BetweenTrials);
    if between {
        let mut spread = vec!["spread of trial means".to_string()];
        spread.extend(analysis.latencies.iter().map(|(_, s)| {
            s.between_trials.as_ref().map_or("—".into(), |t| {
                format!("{:.2}%", t.mean.relative_spread * 100.0)
            })
        }));
        table.rows.push(spread);
    }
    let mut outliers = vec!["outliers (mild/severe)".to_string()];
    outliers.extend(
        analysis
            .latencies
            .iter()
            .map(|(_, s)| outliers_text(&s.outliers)),
    );
    table.rows.push(outliers);
    let level = bootstrap.confidence_level * 100.0;
    let title = match between {
        true => format!(
            "Statistics ({level}% t intervals over {} trials: each statistic per trial, \
             the run-to-run spread counted; outliers by Tukey's fences)",
            analysis.trials
        ),
        false => format!(
            "Statistics ({level}% bootstrap intervals within one run, ITL resampled by request: \
             how the next run would differ is not in them (--trials); outliers by Tukey's fences)"
        ),
    };
    format!("{title}\n{}", table.text())
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

/// Per metric: the change of the mean with its interval, the family's p,
/// the verdict, the change of the median and the noise threshold used;
/// under the table, where each threshold came from.
pub fn change_block(baseline: &BaselineChanges, thresholds: &Thresholds) -> String {
    let header = [
        "metric",
        "change of mean",
        "p",
        "verdict",
        "change of median",
        "noise",
    ];
    let mut table = Table::new(header.map(String::from).to_vec());
    for change in &baseline.changes {
        let mut row = vec![change.metric.label()];
        let noise = change.noise_threshold.as_ref().map_or(String::new(), |n| {
            format!("±{:.1}%", n.threshold.value * 100.0)
        });
        row.extend(match &change.comparison {
            Some(c) => [
                c.mean_change().map_or("—".into(), change_text),
                match c.verdict() {
                    TrialVerdict::InsufficientTrials { .. } => String::new(),
                    _ => p_text(c.p_value()),
                },
                c.verdict().label(),
                c.change().map_or("—".into(), |e| change_text(&e.median)),
                noise,
            ],
            None => [
                "—".into(),
                String::new(),
                "n/a".into(),
                String::new(),
                noise,
            ],
        });
        table.rows.push(row);
    }
    let trials = baseline
        .changes
        .iter()
        .find_map(|c| c.comparison.as_ref()?.trials())
        .map_or(String::new(), |[a, b]| format!("{a} and {b} trials, "));
    let mut sources: Vec<String> = baseline
        .changes
        .iter()
        .filter_map(|c| Some((c.metric, c.noise_threshold.as_ref()?)))
        .map(|(metric, n)| match n.threshold.source {
            NoiseSource::Fixed => format!("noise {}\n", n.describe()),
            NoiseSource::Calibrated { .. } => {
                format!("noise of {}: {}\n", metric.key(), n.describe())
            }
        })
        .collect();
    sources.sort();
    sources.dedup();
    format!(
        "Change against baseline '{}' ({trials}p Holm-adjusted over the {} metrics, significance {})\n{}{}{}",
        baseline.name,
        baseline.changes.len(),
        thresholds.significance,
        table.text(),
        skip_notes(&baseline.changes),
        sources.concat()
    )
}

//! `enginebench compare`: result files side by side, one table per
//! concurrency level, `Metric | A | B | Speedup | Verdict`, with intervals.
//! The first input is the reference every other one is compared with.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::analysis::change::{self, MetricChange};
use crate::analysis::{self, LevelAnalysis};
use crate::config::CompareConfig;
use crate::error::{usage, Error};
use crate::metrics::{LatencyMetric, Metric};
use crate::render::table::Table;
use crate::render::{estimate_text, p_text, skip_notes};
use crate::results::{result_files, ResultFile};
use crate::schedule::concurrency_label;
use crate::stats::{Estimate, Estimates};

/// One input: its results by concurrency level (`None`: unbounded).
struct Side {
    input: PathBuf,
    levels: BTreeMap<Option<usize>, ResultFile>,
}

pub fn run(config: &CompareConfig) -> Result<(), Error> {
    let sides = config
        .inputs
        .iter()
        .map(|input| load_side(input))
        .collect::<Result<Vec<_>, _>>()?;
    let mut levels: Vec<Option<usize>> = sides
        .iter()
        .flat_map(|s| s.levels.keys().copied())
        .collect();
    levels.sort_by_key(|l| l.unwrap_or(usize::MAX));
    levels.dedup();
    check_common_levels(&sides)?;
    for &level in &levels {
        check_same_benchmark(&sides, level)?;
    }
    let mut text = legend(&sides);
    for level in levels {
        text += &level_report(&sides, level, config);
    }
    super::print(&text);
    Ok(())
}

fn load_side(input: &Path) -> Result<Side, Error> {
    let mut levels = BTreeMap::new();
    for path in result_files(input)? {
        let result = ResultFile::read(&path)?;
        let Some(concurrency) = result.doc.consistent_concurrency() else {
            return Err(Error::bad_file(
                &path,
                format!(
                    "max_concurrency {} disagrees with its benchmark id ({})",
                    concurrency_label(result.doc.max_concurrency),
                    result.benchmark()
                ),
            ));
        };
        if let Some(other) = levels.insert(concurrency, result) {
            return Err(Error::bad_file(
                input,
                format!(
                    "holds two results for one concurrency level ({} and {})",
                    other.path.display(),
                    path.display()
                ),
            ));
        }
    }
    Ok(Side {
        input: input.to_path_buf(),
        levels,
    })
}

/// Every input must share a concurrency level with the reference, or its
/// tables would be dashes only.
fn check_common_levels(sides: &[Side]) -> Result<(), Error> {
    let reference = &sides[0];
    let labels = |side: &Side| {
        let levels: Vec<String> = side.levels.keys().map(|&c| concurrency_label(c)).collect();
        levels.join(", ")
    };
    for side in &sides[1..] {
        if !side.levels.keys().any(|c| reference.levels.contains_key(c)) {
            return Err(usage(format!(
                "{} shares no concurrency level with {} (max concurrency {} against {}): \
                 nothing to compare",
                side.input.display(),
                reference.input.display(),
                labels(side),
                labels(reference)
            )));
        }
    }
    Ok(())
}

/// Runs of one level must share workload and schedule to be compared.
fn check_same_benchmark(sides: &[Side], level: Option<usize>) -> Result<(), Error> {
    let mut present = sides.iter().filter_map(|s| s.levels.get(&level));
    let Some(first) = present.next() else {
        return Ok(());
    };
    for other in present {
        let (a, b) = (first.benchmark(), other.benchmark());
        if (&a.workload, &a.schedule) != (&b.workload, &b.schedule) {
            return Err(usage(format!(
                "{} ran {} / {}, but {} ran {} / {}: compare runs of the same workload and schedule",
                first.path.display(),
                a.workload,
                a.schedule,
                other.path.display(),
                b.workload,
                b.schedule
            )));
        }
    }
    Ok(())
}

fn letter(i: usize) -> String {
    char::from(b'A' + (i % 26) as u8).to_string()
}

fn legend(sides: &[Side]) -> String {
    let mut out = String::new();
    for (i, side) in sides.iter().enumerate() {
        let label = side.levels.values().next().map(ResultFile::label);
        let _ = writeln!(
            out,
            "{}: {} ({})",
            letter(i),
            side.input.display(),
            label.unwrap_or_default()
        );
    }
    out
}

/// The analysis of one side's level, and its comparison with the reference.
struct Column {
    analysis: LevelAnalysis,
    result: ResultFile,
    changes: Option<Vec<MetricChange>>,
}

fn level_report(sides: &[Side], level: Option<usize>, config: &CompareConfig) -> String {
    let reference = sides[0].levels.get(&level);
    let columns: Vec<Option<Column>> = sides
        .iter()
        .enumerate()
        .map(|(i, side)| {
            let result = side.levels.get(&level)?.clone();
            let changes = reference.filter(|_| i > 0).map(|base| {
                change::between(
                    &base.samples,
                    &result.samples,
                    &Metric::ALL,
                    &config.statistics,
                )
            });
            Some(Column {
                analysis: analysis::analyze(&result.samples, &config.statistics.bootstrap),
                result,
                changes,
            })
        })
        .collect();
    let table = level_table(&columns);
    let any = columns
        .iter()
        .flatten()
        .next()
        // Cannot fail: `level` was collected from the inputs' own levels.
        .expect("the level exists in some input");
    let id = any.result.benchmark();
    let title = format!(
        "Concurrency {}: {} / {}",
        concurrency_label(level),
        id.workload,
        id.schedule
    );
    let t = &config.statistics.thresholds;
    let note = format!(
        "Speedup > 1: faster (latency) or more throughput than A. Verdict on the mean: \
         regressed/improved when its {}% interval lies beyond ±{}% and p < {}.",
        config.statistics.bootstrap.confidence_level * 100.0,
        t.noise * 100.0,
        t.significance
    );
    let changes = columns
        .iter()
        .flatten()
        .filter_map(|c| c.changes.as_ref())
        .flatten();
    let note = skip_notes(changes) + &note;
    match config.markdown {
        true => format!("\n### {title}\n\n{}\n{note}\n", table.markdown()),
        false => format!("\n{title}\n{}{note}\n", table.text()),
    }
}

fn level_table(columns: &[Option<Column>]) -> Table {
    let mut header = vec!["Metric".to_string(), "A".to_string()];
    for i in 1..columns.len() {
        let l = letter(i);
        header.extend([l.clone(), format!("Speedup {l}/A"), format!("Verdict {l}")]);
    }
    let mut table = Table::new(header);
    for metric in [Metric::OutputThroughput, Metric::RequestThroughput] {
        table.rows.push(row(columns, metric, 0));
    }
    for latency in LatencyMetric::ALL {
        for stat in 0..4 {
            table
                .rows
                .push(row(columns, Metric::Latency(latency), stat));
        }
    }
    table
}

/// One row: statistic `stat` (mean, median, p90, p99) of `metric` in every column.
fn row(columns: &[Option<Column>], metric: Metric, stat: usize) -> Vec<String> {
    let name = match metric {
        Metric::Latency(_) => format!("{} {}", metric.label(), Estimates::NAMES[stat]),
        _ => metric.label(),
    };
    let reference = columns[0].as_ref().and_then(|c| value(c, metric, stat));
    let mut cells = vec![name];
    for (i, column) in columns.iter().enumerate() {
        let value = column.as_ref().and_then(|c| value(c, metric, stat));
        cells.push(value.map_or("—".into(), |v| estimate_text(&v)));
        if i == 0 {
            continue;
        }
        let change = column.as_ref().and_then(|c| change_of(c, metric));
        let points = reference
            .zip(value)
            .map(|(a, b)| (a.point_estimate, b.point_estimate));
        cells.push(speedup_cell(change, points, metric, stat));
        cells.push(verdict_cell(change, stat));
    }
    cells
}

/// The value of a statistic: an estimate with its interval where there is one.
fn value(column: &Column, metric: Metric, stat: usize) -> Option<Estimate> {
    match metric {
        Metric::Latency(m) => column.analysis.latency(m)?.estimates.map(|e| *e.get(stat)),
        _ => match column.analysis.spread.iter().find(|(m, _)| *m == metric) {
            Some((_, spread)) => Some(spread.mean),
            None => metric
                .sample(&column.result.samples)
                .values()
                .first()
                .map(|&v| point(v)),
        },
    }
}

fn point(v: f64) -> Estimate {
    Estimate {
        point_estimate: v,
        confidence_interval: crate::stats::ConfidenceInterval {
            confidence_level: 0.0,
            lower_bound: v,
            upper_bound: v,
        },
        standard_error: 0.0,
    }
}

fn change_of(column: &Column, metric: Metric) -> Option<&MetricChange> {
    column.changes.as_ref()?.iter().find(|c| c.metric == metric)
}

/// Latency: base / new; throughput: new / base. With the interval of the
/// change where there is a comparison, else the ratio of the two values.
fn speedup_cell(
    change: Option<&MetricChange>,
    points: Option<(f64, f64)>,
    metric: Metric,
    stat: usize,
) -> String {
    let speedup = |x: f64| match metric {
        Metric::Latency(_) => 1.0 / (1.0 + x),
        _ => 1.0 + x,
    };
    let Some(c) = change.and_then(|c| c.comparison.as_ref()) else {
        return match points {
            Some((a, b)) if a > 0.0 => format!("{:.3}x", speedup(b / a - 1.0)),
            _ => "—".into(),
        };
    };
    let e = c.change.get(stat);
    let [lo, hi] = e.interval().map(speedup);
    format!(
        "{:.3}x [{:.3}, {:.3}]",
        speedup(e.point_estimate),
        lo.min(hi),
        lo.max(hi)
    )
}

fn verdict_cell(change: Option<&MetricChange>, stat: usize) -> String {
    match (change.map(|c| &c.comparison), stat) {
        (Some(Some(c)), 0) => format!("{} ({})", c.verdict.label(), p_text(c.p_value)),
        (Some(None), 0) => "n/a".into(),
        _ => String::new(),
    }
}

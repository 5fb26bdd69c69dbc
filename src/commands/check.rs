//! `enginebench check`: the regression gate. Compares runs with a saved
//! baseline (or with base result files), prints a JSON summary on stdout and
//! ends with exit code 0 (nothing regressed), 1 (a watched metric regressed)
//! or 2 (missing or bad files, mismatched benchmarks).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::change::{self, MetricChange};
use crate::baseline::store::{self, LATEST};
use crate::baseline::BenchmarkId;
use crate::config::{Against, CheckConfig};
use crate::error::{usage, Error};
use crate::metrics::{LevelSamples, Metric};
use crate::render::verdict_key;
use crate::results::{ResultFile, SampleFile};
use crate::stats::Verdict;

/// One benchmark's base and new samples.
struct Pair {
    id: BenchmarkId,
    base: LevelSamples,
    new: LevelSamples,
}

pub fn run(config: &CheckConfig) -> Result<(), Error> {
    let pairs = pairs(config)?;
    let checked: Vec<(BenchmarkId, Vec<MetricChange>)> = pairs
        .into_iter()
        .map(|p| {
            let changes = change::between(&p.base, &p.new, &config.metrics, &config.statistics);
            (p.id, changes)
        })
        .collect();
    // Through a `Value`, whose maps keep keys sorted, as the summary always was.
    let summary = serde_json::to_value(summary(config, &checked))
        .and_then(|v| serde_json::to_string_pretty(&v))
        // Cannot fail: the summary is plain data (strings, numbers, no maps with non-string keys).
        .expect("the summary serializes");
    super::print(&(summary + "\n"));
    let regressed: Vec<String> = checked
        .iter()
        .flat_map(|(id, changes)| changes.iter().filter_map(move |c| regression(id, c)))
        .collect();
    match regressed.len() {
        0 => Ok(()),
        n => Err(Error::Regressed(format!(
            "{n} watched metric(s) regressed: {}",
            regressed.join("; ")
        ))),
    }
}

fn pairs(config: &CheckConfig) -> Result<Vec<Pair>, Error> {
    match &config.against {
        Against::Baseline { name, result_dir } if config.results.is_empty() => {
            latest_runs(result_dir, name)
        }
        Against::Baseline { name, result_dir } => config
            .results
            .iter()
            .map(|path| {
                let new = ResultFile::read(path)?;
                let base = store::load_baseline(result_dir, new.benchmark(), name)?;
                Ok(Pair {
                    id: new.doc.benchmark_id,
                    base: base.samples,
                    new: new.samples,
                })
            })
            .collect(),
        Against::Files(bases) => against_files(bases, &config.results),
    }
}

/// Every benchmark under `<result-dir>/baselines` that has baseline `name`,
/// paired with its latest run.
fn latest_runs(result_dir: &Path, name: &str) -> Result<Vec<Pair>, Error> {
    let root = store::baselines_dir(result_dir);
    let mut pairs = Vec::new();
    for folder in benchmark_folders(&root) {
        let base_path = folder.join(name).join("samples.json");
        if !base_path.is_file() {
            continue;
        }
        let base = SampleFile::read(&base_path)?;
        if !folder.join(LATEST).join("samples.json").is_file() {
            return Err(usage(format!(
                "{}: baseline '{name}' has no latest run ('{LATEST}') to check beside it",
                folder.display()
            )));
        }
        let new = store::load_baseline(result_dir, &base.benchmark, LATEST)?;
        pairs.push(Pair {
            id: base.benchmark,
            base: base.samples,
            new: new.samples,
        });
    }
    if pairs.is_empty() {
        return Err(usage(format!(
            "no baseline '{name}' under {} (save one with run --save-baseline {name})",
            root.display()
        )));
    }
    Ok(pairs)
}

fn benchmark_folders(root: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    folders.retain(|p| p.is_dir());
    folders.sort();
    folders
}

fn against_files(bases: &[PathBuf], news: &[PathBuf]) -> Result<Vec<Pair>, Error> {
    let bases = bases
        .iter()
        .map(|p| ResultFile::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    news.iter()
        .map(|path| {
            let new = ResultFile::read(path)?;
            let base = bases.iter().find(|b| b.benchmark() == new.benchmark());
            let base = base.ok_or_else(|| {
                usage(format!(
                    "{}: no --against file measured the same benchmark ({})",
                    path.display(),
                    new.benchmark()
                ))
            })?;
            Ok(Pair {
                id: new.doc.benchmark_id,
                base: base.samples.clone(),
                new: new.samples,
            })
        })
        .collect()
}

/// "sim/.../c4 tpot +9.3% [+9.0%, +9.6%] (p = 0.0001)" for a regression.
fn regression(id: &BenchmarkId, change: &MetricChange) -> Option<String> {
    let c = change.comparison.as_ref()?;
    (c.verdict == Verdict::Regressed).then(|| {
        let [lo, hi] = c.change.mean.interval();
        format!(
            "{id} {} {:+.1}% [{:+.1}%, {:+.1}%] (p = {:.4})",
            change.metric.key(),
            c.change.mean.point_estimate * 100.0,
            lo * 100.0,
            hi * 100.0,
            c.p_value
        )
    })
}

/// What `check` prints on stdout.
#[derive(Serialize)]
struct Summary<'a> {
    /// `pass` or `regressed`.
    status: &'static str,
    regressions: usize,
    against: AgainstDoc<'a>,
    noise_threshold: f64,
    significance_level: f64,
    confidence_level: f64,
    checks: Vec<CheckEntry>,
}

/// `{"baseline": NAME}` or `{"files": [...]}`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum AgainstDoc<'a> {
    Baseline(&'a str),
    Files(&'a [PathBuf]),
}

/// One metric of one benchmark.
#[derive(Serialize)]
struct CheckEntry {
    benchmark: String,
    metric: Metric,
    #[serde(flatten)]
    outcome: Outcome,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Outcome {
    Judged {
        /// `improved`, `regressed` or `no_change`.
        verdict: String,
        /// Relative change of the mean, with its interval.
        change: f64,
        ci: [f64; 2],
        p_value: f64,
    },
    Skipped {
        verdict: &'static str,
        reason: Option<String>,
    },
}

impl CheckEntry {
    fn of(id: &BenchmarkId, change: &MetricChange) -> Self {
        let outcome = match &change.comparison {
            Some(c) => Outcome::Judged {
                verdict: verdict_key(c.verdict),
                change: c.change.mean.point_estimate,
                ci: c.change.mean.interval(),
                p_value: c.p_value,
            },
            None => Outcome::Skipped {
                verdict: "skipped",
                reason: change.skipped.clone(),
            },
        };
        Self {
            benchmark: id.to_string(),
            metric: change.metric,
            outcome,
        }
    }
}

fn summary<'a>(
    config: &'a CheckConfig,
    checked: &[(BenchmarkId, Vec<MetricChange>)],
) -> Summary<'a> {
    let changes = || {
        checked
            .iter()
            .flat_map(|(id, changes)| changes.iter().map(move |c| (id, c)))
    };
    let regressions = changes()
        .filter(|(_, c)| {
            c.comparison
                .is_some_and(|c| c.verdict == Verdict::Regressed)
        })
        .count();
    let t = &config.statistics.thresholds;
    Summary {
        status: if regressions == 0 {
            "pass"
        } else {
            "regressed"
        },
        regressions,
        against: match &config.against {
            Against::Baseline { name, .. } => AgainstDoc::Baseline(name),
            Against::Files(files) => AgainstDoc::Files(files),
        },
        noise_threshold: t.noise,
        significance_level: t.significance,
        confidence_level: config.statistics.bootstrap.confidence_level,
        checks: changes().map(|(id, c)| CheckEntry::of(id, c)).collect(),
    }
}

//! `enginebench check`: the regression gate. Compares runs with a saved
//! baseline (or with base result files), trial by trial, the watched metrics
//! of each benchmark judged as one family; prints a JSON summary on stdout
//! and ends with exit code 0 (every watched metric judged, none regressed),
//! 1 (a watched metric regressed), 3 (none regressed, but a side had too few
//! trials to judge one) or 2 (missing or bad files, mismatched benchmarks).

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
use crate::stats::noise::NoiseThreshold;

/// One benchmark's base and new samples, and the noise thresholds
/// calibrated for it with the baseline (none for `--against` files).
struct Pair {
    id: BenchmarkId,
    base: LevelSamples,
    new: LevelSamples,
    calibrated: Vec<(Metric, NoiseThreshold)>,
}

pub fn run(config: &CheckConfig) -> Result<(), Error> {
    let pairs = pairs(config)?;
    let checked: Vec<(BenchmarkId, Vec<MetricChange>)> = pairs
        .into_iter()
        .map(|p| {
            let statistics = &config.statistics;
            let changes =
                change::between(&p.base, &p.new, &config.metrics, statistics, &p.calibrated);
            (p.id, changes)
        })
        .collect();
    // Through a `Value`, whose maps keep keys sorted, as the summary always was.
    let summary = serde_json::to_value(summary(config, &checked))
        .and_then(|v| serde_json::to_string_pretty(&v))
        // Cannot fail: the summary is plain data (strings, numbers, no maps with non-string keys).
        .expect("the summary serializes");
    super::print(&(summary + "\n"));
    let each = |line: fn(&BenchmarkId, &MetricChange) -> Option<String>| -> Vec<String> {
        checked
            .iter()
            .flat_map(|(id, changes)| changes.iter().filter_map(move |c| line(id, c)))
            .collect()
    };
    let (regressed, unjudged) = (each(regression), each(insufficient));
    if !regressed.is_empty() {
        return Err(Error::Regressed(format!(
            "{} watched metric(s) regressed: {}",
            regressed.len(),
            regressed.join("; ")
        )));
    }
    if !unjudged.is_empty() {
        let need = checked
            .iter()
            .flat_map(|(_, changes)| changes.iter().filter_map(MetricChange::trials_needed))
            .max()
            .unwrap_or_default();
        return Err(Error::InsufficientTrials(format!(
            "insufficient trials to judge {} watched metric(s), none regressed: {} \
             (run both sides with --trials {need} or more)",
            unjudged.len(),
            unjudged.join("; ")
        )));
    }
    Ok(())
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
                    calibrated: calibrated(result_dir, new.benchmark(), name)?,
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
            calibrated: calibrated(result_dir, &base.benchmark, name)?,
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

/// The thresholds `calibrate-noise` stored with baseline `name` for `id`.
fn calibrated(
    result_dir: &Path,
    id: &BenchmarkId,
    name: &str,
) -> Result<Vec<(Metric, NoiseThreshold)>, Error> {
    let noise = store::load_noise(result_dir, id, name)?;
    Ok(noise.map(|n| n.by_metric()).unwrap_or_default())
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
                calibrated: Vec::new(),
            })
        })
        .collect()
}

/// "sim/.../c4 tpot +9.3% [+9.0%, +9.6%] (p = 0.0022, 6 and 6 trials)" for a regression.
fn regression(id: &BenchmarkId, change: &MetricChange) -> Option<String> {
    if !change.regressed() {
        return None;
    }
    let c = change.comparison.as_ref()?;
    let mean = c.mean_change()?;
    let [lo, hi] = mean.interval();
    let [base, new] = c.trials().unwrap_or_default();
    Some(format!(
        "{id} {} {:+.1}% [{:+.1}%, {:+.1}%] (p = {:.4}, {base} and {new} trials)",
        change.metric.key(),
        mean.point_estimate * 100.0,
        lo * 100.0,
        hi * 100.0,
        c.p_value()
    ))
}

/// "sim/.../c4 tpot: 1 and 6 trials, need 5 a side" when too few to judge.
fn insufficient(id: &BenchmarkId, change: &MetricChange) -> Option<String> {
    let need = change.trials_needed()?;
    let [base, new] = change.comparison.as_ref()?.trials().unwrap_or_default();
    Some(format!(
        "{id} {}: {base} and {new} trials, need {need} a side",
        change.metric.key()
    ))
}

/// What `check` prints on stdout.
#[derive(Serialize)]
struct Summary<'a> {
    /// `pass`, `regressed` or `insufficient_trials`.
    status: &'static str,
    regressions: usize,
    /// Watched metrics that could not be judged for want of trials.
    insufficient_trials: usize,
    against: AgainstDoc<'a>,
    /// The threshold of metrics with no calibrated one; each check says
    /// which it used and why.
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
        /// `improved`, `regressed`, `no_change` or `insufficient_trials`.
        verdict: &'static str,
        /// Trials a side a verdict needs, when there were too few.
        #[serde(skip_serializing_if = "Option::is_none")]
        need: Option<usize>,
        /// `[base, new]`.
        trials: [usize; 2],
        /// Relative change of the mean of the trials' means, with its
        /// interval; `null` with fewer than two trials on a side.
        change: Option<f64>,
        ci: Option<[f64; 2]>,
        /// Holm-adjusted over the family of watched metrics: what the
        /// verdict read.
        p_value: f64,
        unadjusted_p_value: f64,
        family_size: usize,
        noise_threshold: f64,
        /// Which threshold, and why.
        noise_threshold_source: String,
    },
    Skipped {
        verdict: &'static str,
        reason: Option<String>,
    },
}

impl CheckEntry {
    fn of(id: &BenchmarkId, change: &MetricChange) -> Self {
        let trial = match &change.comparison {
            Some(change::Judged::Trials(c)) => Some(c),
            _ => None,
        };
        let outcome = match (trial, &change.noise_threshold) {
            (Some(c), Some(noise)) => Outcome::Judged {
                verdict: verdict_key(c.verdict),
                need: change.trials_needed(),
                trials: c.trials,
                change: c.change.map(|e| e.mean.point_estimate),
                ci: c.change.map(|e| e.mean.interval()),
                p_value: c.family_p_value,
                unadjusted_p_value: c.p_value,
                family_size: c.family_size,
                noise_threshold: noise.threshold.value,
                noise_threshold_source: noise.describe(),
            },
            _ => Outcome::Skipped {
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
    let regressions = changes().filter(|(_, c)| c.regressed()).count();
    let insufficient_trials = changes()
        .filter(|(_, c)| c.trials_needed().is_some())
        .count();
    let t = &config.statistics.thresholds;
    Summary {
        status: match (regressions, insufficient_trials) {
            (0, 0) => "pass",
            (0, _) => "insufficient_trials",
            _ => "regressed",
        },
        regressions,
        insufficient_trials,
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

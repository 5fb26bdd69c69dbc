//! What the plots show, read from saved result files: one series per sweep
//! (engine, model and start time), one point per level.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::baseline::store::ResultFile;
use crate::error::Error;
use crate::metrics::{LatencyMetric, Metric};
use crate::records::{read_jsonl, RequestRecord};

/// A value with its confidence interval (`lo == hi` when there is none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub lo: f64,
    pub hi: f64,
}

/// What a sweep's levels differ in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum XAxis {
    Concurrency,
    RequestRate,
}

impl XAxis {
    pub fn label(self) -> &'static str {
        match self {
            XAxis::Concurrency => "max concurrency",
            XAxis::RequestRate => "request rate (req/s)",
        }
    }
}

/// One sweep: its levels in x order.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub levels: Vec<ResultFile>,
}

/// Reads result files (or folders of them) and groups them into series.
pub fn load(inputs: &[PathBuf]) -> Result<(Vec<Series>, XAxis), Error> {
    // Levels of one sweep share engine, model, settings and start time.
    let mut groups: BTreeMap<[String; 4], Vec<ResultFile>> = BTreeMap::new();
    for input in inputs {
        for path in crate::report::result_files(input)? {
            let result = ResultFile::read(&path)?;
            let key = [
                result.benchmark.engine.clone(),
                result.benchmark.model.clone(),
                result.json["engine"]["settings"].to_string(),
                result.json["date"].as_str().unwrap_or("").to_string(),
            ];
            groups.entry(key).or_default().push(result);
        }
    }
    let axis = match groups
        .values()
        .flatten()
        .all(|r| r.max_concurrency.is_some())
    {
        true => XAxis::Concurrency,
        false => XAxis::RequestRate,
    };
    let keys: Vec<[String; 4]> = groups.keys().cloned().collect();
    let series = groups
        .into_iter()
        .map(|(key, mut levels)| {
            levels.sort_by(|a, b| x_of(a, axis).total_cmp(&x_of(b, axis)));
            Series {
                label: label(&key, &keys),
                levels,
            }
        })
        .collect();
    Ok((series, axis))
}

/// `engine (model)`, plus the settings that differ and then the date where
/// those are needed to tell two sweeps apart.
fn label(key: &[String; 4], keys: &[[String; 4]]) -> String {
    let [engine, model, settings, date] = key;
    let mut label = format!("{engine} ({model})");
    let alike: Vec<&[String; 4]> = keys.iter().filter(|k| k[..2] == key[..2]).collect();
    if alike.len() > 1 {
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or_default();
        let ours = parse(settings);
        let others: Vec<Value> = alike.iter().map(|k| parse(&k[2])).collect();
        for (name, value) in ours.as_object().into_iter().flatten() {
            if others.iter().any(|o| &o[name] != value) {
                label += &format!(" {name}={}", value.as_str().unwrap_or(&value.to_string()));
            }
        }
    }
    if alike.iter().filter(|k| k[..3] == key[..3]).count() > 1 {
        label += &format!(" {date}");
    }
    label
}

/// A level's x: its concurrency, else its request rate (unbounded: 0).
pub fn x_of(result: &ResultFile, axis: XAxis) -> f64 {
    match axis {
        XAxis::Concurrency => result.max_concurrency.unwrap_or(0) as f64,
        XAxis::RequestRate => result.json["request_rate"].as_f64().unwrap_or(0.0),
    }
}

/// The mean of `metric` at each level, with its interval from the result file.
pub fn points(series: &Series, metric: Metric, axis: XAxis) -> Vec<Point> {
    series
        .levels
        .iter()
        .filter_map(|r| {
            let x = x_of(r, axis);
            let estimate = match metric {
                Metric::Latency(m) => &r.json["statistics"][format!("{}_ms", m.key())]["mean"],
                _ => &r.json["throughput_spread"][metric.key()]["mean"],
            };
            match estimate_of(estimate) {
                Some((y, lo, hi)) => Some(Point { x, y, lo, hi }),
                None if !matches!(metric, Metric::Latency(_)) => {
                    let y = r.json[metric.key()].as_f64()?;
                    Some(Point { x, y, lo: y, hi: y })
                }
                None => None,
            }
        })
        .collect()
}

fn estimate_of(e: &Value) -> Option<(f64, f64, f64)> {
    let interval = &e["confidence_interval"];
    Some((
        e["point_estimate"].as_f64()?,
        interval["lower_bound"].as_f64()?,
        interval["upper_bound"].as_f64()?,
    ))
}

/// A level's latencies, sorted, for its CDF.
pub fn sorted_latencies(result: &ResultFile, metric: LatencyMetric) -> Vec<f64> {
    let l = &result.samples.latencies;
    let mut values = match metric {
        LatencyMetric::Ttft => l.ttft_ms.clone(),
        LatencyMetric::Tpot => l.tpot_ms.clone(),
        LatencyMetric::Itl => l.itl_ms.iter().flatten().copied().collect(),
        LatencyMetric::E2el => l.e2el_ms.clone(),
    };
    values.sort_by(f64::total_cmp);
    values
}

/// The detailed records of a level, when it saved them.
pub fn records(result: &ResultFile) -> Option<Vec<RequestRecord>> {
    let detailed = result.json["detailed_file"].as_str()?;
    let dir = result.path.parent().unwrap_or(Path::new("."));
    let name = Path::new(detailed).file_name()?;
    read_jsonl(Path::new(detailed))
        .or_else(|_| read_jsonl(&dir.join(name)))
        .ok()
}

/// Requests in flight and output tokens per second over a run, in bins.
pub struct Timeline {
    /// Bin start, seconds since the first scheduled request.
    pub t_s: Vec<f64>,
    pub in_flight: Vec<f64>,
    pub tokens_per_s: Vec<f64>,
}

const TIMELINE_BINS: usize = 100;

pub fn timeline(records: &[RequestRecord]) -> Option<Timeline> {
    let submitted: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| r.submitted_ns.is_some())
        .collect();
    let start = submitted.iter().map(|r| r.scheduled_ns).min()?;
    let end = submitted.iter().filter_map(|r| r.finished_ns).max()?;
    let span = end.checked_sub(start).filter(|&s| s > 0)? as f64;
    let width = span / TIMELINE_BINS as f64;
    let bin = |t: u64| (((t.saturating_sub(start)) as f64 / width) as usize).min(TIMELINE_BINS - 1);
    let mut tokens = vec![0.0; TIMELINE_BINS];
    let mut busy_ns = vec![0.0; TIMELINE_BINS];
    for r in &submitted {
        for d in &r.deliveries {
            tokens[bin(d.t_ns)] += f64::from(d.tokens);
        }
        // Time in flight, spread over the bins it covers: mean in flight per bin.
        let (from, to) = (
            r.submitted_ns.unwrap_or(start),
            r.finished_ns.unwrap_or(end),
        );
        for (i, busy) in busy_ns.iter_mut().enumerate() {
            let lo = start as f64 + i as f64 * width;
            let overlap = (to as f64).min(lo + width) - (from as f64).max(lo);
            *busy += overlap.max(0.0);
        }
    }
    Some(Timeline {
        t_s: (0..TIMELINE_BINS).map(|i| i as f64 * width / 1e9).collect(),
        in_flight: busy_ns.iter().map(|b| b / width).collect(),
        tokens_per_s: tokens.iter().map(|t| t / (width / 1e9)).collect(),
    })
}

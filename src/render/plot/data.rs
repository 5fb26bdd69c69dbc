//! What the plots show, read from saved result files: one series per sweep
//! (engine, model and start time), one point per level.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::Error;
use crate::metrics::{LatencyMetric, Metric};
use crate::records::RequestRecord;
use crate::results::{read_all, ResultFile};
use crate::schedule::RequestRate;
use crate::stats::Estimate;

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

/// What the levels of one sweep share: engine, model, settings and start time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SweepKey {
    engine: String,
    model: String,
    settings: BTreeMap<String, String>,
    date: String,
}

impl SweepKey {
    fn of(result: &ResultFile) -> Self {
        let id = result.benchmark();
        Self {
            engine: id.engine.clone(),
            model: id.model.clone(),
            settings: result.doc.engine.settings.clone(),
            date: result.doc.date.clone(),
        }
    }
}

/// Reads result files (or folders of them) and groups them into series.
pub fn load(inputs: &[PathBuf]) -> Result<(Vec<Series>, XAxis), Error> {
    let mut groups: BTreeMap<SweepKey, Vec<ResultFile>> = BTreeMap::new();
    for result in read_all(inputs)? {
        groups
            .entry(SweepKey::of(&result))
            .or_default()
            .push(result);
    }
    let axis = match groups
        .values()
        .flatten()
        .all(|r| r.doc.max_concurrency.is_some())
    {
        true => XAxis::Concurrency,
        false => XAxis::RequestRate,
    };
    let keys: Vec<SweepKey> = groups.keys().cloned().collect();
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
fn label(key: &SweepKey, keys: &[SweepKey]) -> String {
    let mut label = format!("{} ({})", key.engine, key.model);
    let alike: Vec<&SweepKey> = keys
        .iter()
        .filter(|k| (&k.engine, &k.model) == (&key.engine, &key.model))
        .collect();
    if alike.len() > 1 {
        for (name, value) in &key.settings {
            if alike.iter().any(|o| o.settings.get(name) != Some(value)) {
                label += &format!(" {name}={value}");
            }
        }
    }
    if alike.iter().filter(|k| k.settings == key.settings).count() > 1 {
        label += &format!(" {}", key.date);
    }
    label
}

/// A level's x: its concurrency, else its request rate (unbounded: 0).
pub fn x_of(result: &ResultFile, axis: XAxis) -> f64 {
    match (axis, result.doc.request_rate) {
        (XAxis::Concurrency, _) => result.doc.max_concurrency.unwrap_or(0) as f64,
        (XAxis::RequestRate, RequestRate::PerSecond(rate)) => rate,
        (XAxis::RequestRate, RequestRate::Infinite) => 0.0,
    }
}

/// The mean of `metric` at each level, with its interval from the result
/// file (a throughput measured in one trial has none).
pub fn points(series: &Series, metric: Metric, axis: XAxis) -> Vec<Point> {
    series
        .levels
        .iter()
        .filter_map(|r| {
            let x = x_of(r, axis);
            let estimate: Option<Estimate> = match metric {
                Metric::Latency(m) => r.doc.statistics.get(m).estimates.map(|e| e.mean),
                _ => r.doc.throughput_spread.get(metric).map(|s| s.mean),
            };
            match (estimate, r.doc.throughput(metric)) {
                (Some(e), _) => {
                    let [lo, hi] = e.interval();
                    Some(Point {
                        x,
                        y: e.point_estimate,
                        lo,
                        hi,
                    })
                }
                (None, Some(y)) => Some(Point { x, y, lo: y, hi: y }),
                (None, None) => None,
            }
        })
        .collect()
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

/// Requests in flight, requests scheduled per second and output tokens per
/// second over a run, in bins; with a ramp, its planned rate.
pub struct Timeline {
    /// Bin start, seconds since the first scheduled request.
    pub t_s: Vec<f64>,
    pub in_flight: Vec<f64>,
    pub tokens_per_s: Vec<f64>,
    pub scheduled_per_s: Vec<f64>,
    /// `(t_s, requests per second)` a ramp planned, from the result file.
    pub planned_per_s: Vec<(f64, f64)>,
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
    let mut scheduled = vec![0.0; TIMELINE_BINS];
    let mut busy_ns = vec![0.0; TIMELINE_BINS];
    for r in &submitted {
        scheduled[bin(r.scheduled_ns)] += 1.0;
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
        scheduled_per_s: scheduled.iter().map(|n| n / (width / 1e9)).collect(),
        planned_per_s: Vec::new(),
    })
}

/// A ramp's planned rate over time, as its result file carries it.
pub fn planned_rate(result: &ResultFile) -> Vec<(f64, f64)> {
    let Some(profile) = &result.doc.traffic.rate_over_time else {
        return Vec::new();
    };
    let Some(planned) = &profile.planned_rps else {
        return Vec::new();
    };
    profile
        .t_s
        .iter()
        .zip(planned)
        .filter_map(|(&t, rate)| rate.map(|r| (t + profile.bin_s / 2.0, r)))
        .collect()
}

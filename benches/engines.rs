//! Engine benchmarks through criterion itself: one benchmark id per engine x
//! workload x concurrency x metric (`sim/random-128x16/c8/ttft`), so that
//! criterion's statistics, `--save-baseline` / `--baseline` and HTML report
//! apply to TTFT, TPOT, ITL, E2EL and output throughput.
//!
//! Each criterion sample runs one closed-loop level and reports the level's
//! mean of the metric (for output throughput: seconds per output token, so
//! criterion's "thrpt" reads tokens per second) times the iteration count
//! criterion asks for. Criterion's time per iteration is therefore the
//! metric's mean over one level, and its statistics run over 10 levels.
//! Criterion plans samples with the wall time of its warm-up call (one
//! level); after a warm-up level, a pilot level sizes the measurement time so
//! that it asks for 2 iterations per sample, which keeps it from warning that
//! samples are long.
//!
//! Environment (all optional):
//! - `ENGINEBENCH_BENCH_ENGINES`: engines to run, comma-separated, or `all`
//!   for every engine this build has (`enginebench::engine::available()`);
//!   default `sim`. Engines that fail to open are skipped with a note.
//! - `ENGINEBENCH_BENCH_MODEL`, `ENGINEBENCH_BENCH_TP`, `ENGINEBENCH_BENCH_PYTHON`:
//!   `--model`, `--tp`, `--python`.
//! - `ENGINEBENCH_BENCH_ENGINE_ARGS`: `KEY=VALUE,KEY=VALUE`, as `--engine-arg`.
//! - `ENGINEBENCH_BENCH_WORKLOADS`: random workloads `INxOUT`, default `128x16`.
//! - `ENGINEBENCH_BENCH_CONCURRENCY`: levels, default `1,8`.
//! - `ENGINEBENCH_BENCH_REQUESTS`: requests per sample, default 4 x concurrency (at least 4).

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use enginebench::driver::{drive, DriveOptions};
use enginebench::engine::{self, Engine, EngineOptions, RequestId};
use enginebench::metrics::{LevelSummary, Slos};
use enginebench::records::Discard;
use enginebench::schedule::Schedule;
use enginebench::workload::random::{generate, RandomSpec};
use enginebench::workload::WorkItem;

/// Criterion's smallest sample count: each sample is a whole level.
const SAMPLES: usize = 10;

#[derive(Clone, Copy, Debug)]
enum Metric {
    Ttft,
    Tpot,
    Itl,
    E2el,
    OutputThroughput,
}

impl Metric {
    const ALL: [Metric; 5] = [
        Metric::Ttft,
        Metric::Tpot,
        Metric::Itl,
        Metric::E2el,
        Metric::OutputThroughput,
    ];

    fn name(self) -> &'static str {
        match self {
            Metric::Ttft => "ttft",
            Metric::Tpot => "tpot",
            Metric::Itl => "itl",
            Metric::E2el => "e2el",
            Metric::OutputThroughput => "output_throughput",
        }
    }
}

/// The summary of one level.
struct Level {
    summary: LevelSummary,
}

impl Level {
    /// Mean seconds per unit: per request, per delivery (ITL), per output token.
    fn per_unit(&self, metric: Metric) -> f64 {
        let s = &self.summary;
        match metric {
            Metric::Ttft => s.ttft_ms.mean / 1e3,
            Metric::Tpot => s.tpot_ms.mean / 1e3,
            Metric::Itl => s.itl_ms.mean / 1e3,
            Metric::E2el => s.e2el_ms.mean / 1e3,
            Metric::OutputThroughput => s.duration_s / s.total_output_tokens.max(1) as f64,
        }
    }
}

/// An open engine and the workload it runs at one concurrency.
struct Bench {
    engine: Box<dyn Engine>,
    items: Vec<WorkItem>,
    concurrency: usize,
    next_id: RequestId,
}

impl Bench {
    /// Runs one closed-loop level of every item.
    fn level(&mut self) -> Level {
        let schedule = Schedule::all_at_once(self.items.len(), Some(self.concurrency));
        let options = DriveOptions {
            id_base: self.next_id,
            ..DriveOptions::ignoring_eos()
        };
        self.next_id += self.items.len() as RequestId;
        let stop = AtomicBool::new(false);
        let outcome = drive(
            self.engine.as_mut(),
            &self.items,
            &schedule,
            &options,
            &mut Discard,
            &stop,
        );
        if let Some(error) = outcome.fatal_error {
            panic!("the engine failed during the benchmark: {error}");
        }
        Level {
            summary: LevelSummary::of(&outcome.records, &[], &Slos::default()),
        }
    }

    /// One level's mean of `metric`, times the `iters` criterion asked for.
    fn measure(&mut self, metric: Metric, iters: u64) -> Duration {
        Duration::from_secs_f64(self.level().per_unit(metric) * iters as f64)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn list(name: &str, default: &str) -> Vec<String> {
    env(name)
        .unwrap_or_else(|| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The engines asked for that this build has.
fn engines() -> Vec<String> {
    let available = engine::available();
    let wanted = list("ENGINEBENCH_BENCH_ENGINES", "sim");
    if wanted.iter().any(|w| w == "all") {
        return available.iter().map(|s| s.to_string()).collect();
    }
    wanted
        .into_iter()
        .filter(|w| {
            let known = available.contains(&w.as_str());
            if !known {
                eprintln!("skipping engine '{w}': not in this build ({available:?})");
            }
            known
        })
        .collect()
}

fn options() -> EngineOptions {
    let args = list("ENGINEBENCH_BENCH_ENGINE_ARGS", "")
        .into_iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.into(), v.into())))
        .collect();
    EngineOptions {
        model: env("ENGINEBENCH_BENCH_MODEL").map(Into::into),
        tensor_parallel_size: env("ENGINEBENCH_BENCH_TP")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
        args,
        // Every request runs to its output budget, as `drive` asks below.
        ignore_eos: true,
        python: env("ENGINEBENCH_BENCH_PYTHON").map(Into::into),
        ..EngineOptions::default()
    }
}

/// `128x16` -> (128, 16).
fn workload(spec: &str) -> Option<(u32, u32)> {
    let (input, output) = spec.split_once('x')?;
    Some((input.parse().ok()?, output.parse().ok()?))
}

fn open(name: &str, lengths: (u32, u32), concurrency: usize) -> Option<Bench> {
    let engine = match engine::open(name, &options()) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("skipping engine '{name}': {e}");
            return None;
        }
    };
    let info = engine.describe();
    let requests = env("ENGINEBENCH_BENCH_REQUESTS")
        .and_then(|v| v.parse().ok())
        .unwrap_or((4 * concurrency).max(4));
    let spec = RandomSpec {
        input_len: lengths.0,
        output_len: lengths.1,
        range_ratio: 0.0,
        vocab_lo: 0,
        vocab_hi: info.vocab_size.unwrap_or(32_000),
        prefix_len: 0,
    };
    Some(Bench {
        engine,
        items: generate(&spec, requests, 0),
        concurrency,
        next_id: 0,
    })
}

fn engines_bench(c: &mut Criterion) {
    // Without --bench (cargo test), criterion runs each benchmark once: no pilot needed.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    for name in engines() {
        for spec in list("ENGINEBENCH_BENCH_WORKLOADS", "128x16") {
            let Some(lengths) = workload(&spec) else {
                eprintln!("skipping workload '{spec}': expected INxOUT, e.g. 128x16");
                continue;
            };
            for level in list("ENGINEBENCH_BENCH_CONCURRENCY", "1,8") {
                let Some(concurrency) = level.parse().ok().filter(|&c: &usize| c > 0) else {
                    eprintln!("skipping concurrency '{level}': expected a positive integer");
                    continue;
                };
                let Some(mut bench) = open(&name, lengths, concurrency) else {
                    continue;
                };
                let group = format!("{name}/random-{spec}/c{concurrency}");
                bench_level(c, &group, &mut bench, benchmarking);
                let _ = bench.engine.shutdown();
            }
        }
    }
}

fn bench_level(c: &mut Criterion, group: &str, bench: &mut Bench, benchmarking: bool) {
    // A first level warms the engine up (kernels, caches, lazy imports) and is
    // not measured; a second one times a level for the sampling plan.
    let pilot = benchmarking.then(|| {
        bench.level();
        let start = Instant::now();
        bench.level();
        start.elapsed()
    });
    let mut group = c.benchmark_group(group);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_nanos(1));
    if let Some(level_wall) = pilot {
        group.measurement_time(level_wall * 2 * SAMPLES as u32);
    }
    for metric in Metric::ALL {
        if let Metric::OutputThroughput = metric {
            group.throughput(Throughput::Elements(1));
        }
        group.bench_function(metric.name(), |b| {
            b.iter_custom(|iters| bench.measure(metric, iters))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = {
        // criterion's own plots need a font: see `register_font`.
        enginebench::render::plot::charts::register_font();
        Criterion::default()
    };
    targets = engines_bench
}
criterion_main!(benches);

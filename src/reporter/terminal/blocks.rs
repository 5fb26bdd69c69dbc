//! The terminal's blocks: vLLM's familiar "Serving Benchmark Result" block
//! per level, the speed of light under it, and one table across levels.

use std::fmt::Write;

use crate::analysis::speed_of_light::level::LevelSpeedOfLight;
use crate::engine::EngineInfo;
use crate::metrics::LatencyMetric;
use crate::render::{engine_label, percentile_label};
use crate::schedule::concurrency_label;
use crate::stats::Summary;
use crate::sweep::{LevelResult, Stop};

const WIDTH: usize = 50;

/// What the level blocks print (`--percentile-metrics`, `--metric-percentiles`).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockOptions {
    pub metrics: Vec<LatencyMetric>,
    pub percentiles: Vec<f64>,
}

fn banner(out: &mut String, title: &str, fill: char) {
    let title = if title.is_empty() {
        String::new()
    } else {
        format!(" {title} ")
    };
    let side = WIDTH.saturating_sub(title.chars().count());
    let left: String = std::iter::repeat_n(fill, side / 2).collect();
    let right: String = std::iter::repeat_n(fill, side - side / 2).collect();
    let _ = writeln!(out, "{left}{title}{right}");
}

fn row(out: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{:<40} {}", format!("{label}:"), value);
}

/// vLLM's section titles, so the blocks read the same.
fn section_title(metric: LatencyMetric) -> &'static str {
    match metric {
        LatencyMetric::Ttft => "Time to First Token",
        LatencyMetric::Tpot => "Time per Output Token (excl. 1st token)",
        LatencyMetric::Itl => "Inter-token Latency",
        LatencyMetric::E2el => "End-to-end Latency",
    }
}

pub fn result_block(level: &LevelResult, engine: &EngineInfo, options: &BlockOptions) -> String {
    let run = &level.summary;
    let mut out = String::new();
    banner(&mut out, "Serving Benchmark Result", '=');
    row(&mut out, "Engine", engine_label(engine));
    row(&mut out, "Schedule", level.schedule);
    let concurrency = concurrency_label(level.concurrency());
    row(&mut out, "Max request concurrency", concurrency);
    match &level.stop {
        Some(Stop::Interrupted) => row(&mut out, "Interrupted", "yes (partial results)"),
        Some(Stop::EngineFailed(error)) => row(&mut out, "Engine error", error),
        None => {}
    }
    if let Some(why) = &level.failure {
        row(&mut out, "Fails the run", why);
    }
    row(&mut out, "Successful requests", run.completed);
    row(&mut out, "Failed requests", run.failed);
    if run.cancelled > 0 {
        row(&mut out, "Cancelled requests", run.cancelled);
    }
    row(
        &mut out,
        "Benchmark duration (s)",
        format!("{:.2}", run.duration_s),
    );
    row(&mut out, "Total input tokens", run.total_input_tokens);
    row(&mut out, "Total generated tokens", run.total_output_tokens);
    row(
        &mut out,
        "Request throughput (req/s)",
        format!("{:.2}", run.request_throughput),
    );
    if let Some(goodput) = run.request_goodput {
        row(&mut out, "Request goodput (req/s)", format!("{goodput:.2}"));
    }
    row(
        &mut out,
        "Output token throughput (tok/s)",
        format!("{:.2}", run.output_throughput),
    );
    row(
        &mut out,
        "Total Token throughput (tok/s)",
        format!("{:.2}", run.total_token_throughput),
    );
    let queue = &run.queue_delay_ms;
    row(
        &mut out,
        "Mean client queue delay (ms)",
        defined(queue, Some(queue.mean), 3),
    );
    for &metric in &options.metrics {
        let summary = metric.summary(run);
        banner(&mut out, section_title(metric), '-');
        row(
            &mut out,
            &format!("Mean {metric} (ms)"),
            defined(summary, Some(summary.mean), 2),
        );
        row(
            &mut out,
            &format!("Median {metric} (ms)"),
            defined(summary, Some(summary.median), 2),
        );
        for &p in &options.percentiles {
            row(
                &mut out,
                &format!("P{} {metric} (ms)", percentile_label(p)),
                defined(summary, summary.percentile(p), 2),
            );
        }
    }
    banner(&mut out, "", '=');
    out
}

/// `value` of `summary` with `decimals`, or "—" when it is undefined: a
/// summary of no values (no request completed; for TPOT, none with two
/// output tokens) has no mean, never a mean of 0.
fn defined(summary: &Summary, value: Option<f64>, decimals: usize) -> String {
    match value.filter(|_| summary.count > 0) {
        Some(v) => format!("{v:.decimals$}"),
        None => "—".into(),
    }
}

/// One line per level: the numbers people compare across a sweep.
pub fn sweep_table(engine: &EngineInfo, levels: &[LevelResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Summary: {}", engine_label(engine));
    let header = [
        "concurrency",
        "ok",
        "failed",
        "req/s",
        "out tok/s",
        "TTFT mean",
        "TTFT p99",
        "TPOT mean",
        "ITL mean",
        "E2EL mean",
    ];
    let _ = writeln!(out, "{}", header.map(|h| format!("{h:>11}")).join(" "));
    for level in levels {
        let run = &level.summary;
        let p99 = |s: &Summary| s.percentile(99.0).or(Some(s.max));
        let mean = |s: &Summary| defined(s, Some(s.mean), 2);
        let cells = [
            level.concurrency().map_or("inf".into(), |c| c.to_string()),
            run.completed.to_string(),
            run.failed.to_string(),
            format!("{:.2}", run.request_throughput),
            format!("{:.1}", run.output_throughput),
            mean(&run.ttft_ms),
            defined(&run.ttft_ms, p99(&run.ttft_ms), 2),
            mean(&run.tpot_ms),
            mean(&run.itl_ms),
            mean(&run.e2el_ms),
        ];
        let _ = writeln!(out, "{}", cells.map(|c| format!("{c:>11}")).join(" "));
    }
    let _ = writeln!(out, "(latencies in ms)");
    out
}

/// The terminal block of a level that has figures.
pub fn speed_of_light_block(s: &LevelSpeedOfLight) -> String {
    let mut out = String::new();
    let mut row = |label: &str, value: String| {
        let _ = writeln!(out, "{:<40} {value}", format!("{label}:"));
    };
    let percent = |f: Option<f64>| match f {
        Some(f) if f >= 0.01 => format!("{:.1}%", f * 100.0),
        Some(f) => format!("{:.4}%", f * 100.0),
        None => "—".into(),
    };
    row(
        "GPU",
        format!(
            "{} ({:.0} GB/s, {:.0} TFLOP/s bf16; {}), TP {}",
            s.gpu.name,
            s.gpu.memory_bandwidth_bytes_per_s / 1e9,
            s.gpu.peak_bf16_flops / 1e12,
            s.gpu_source,
            s.tensor_parallel_size
        ),
    );
    row(
        "Model",
        format!(
            "{:.2} B parameters, {:.2} GB weights, {} KiB KV per token",
            s.model_parameters as f64 / 1e9,
            s.weight_bytes as f64 / 1e9,
            s.kv_bytes_per_token / 1024
        ),
    );
    row(
        "Decode batch, mean context (tokens)",
        format!("{:.1}, {:.0}", s.decode_batch, s.mean_context_tokens),
    );
    row("TPOT floor (ms)", format!("{:.3}", s.tpot_floor_ms));
    row(
        "Memory-bandwidth utilisation",
        percent(s.memory_bandwidth_utilisation),
    );
    row(
        &format!("TTFT floor, {:.0}-token prefill (ms)", s.mean_input_tokens),
        format!("{:.3}", s.ttft_floor_ms),
    );
    row("FLOP utilisation (prefill)", percent(s.flop_utilisation));
    let title = if s.simulated {
        "Speed of light (sim: measured times are the sim's model, not a GPU's)"
    } else {
        "Speed of light"
    };
    format!("{title}\n{out}")
}

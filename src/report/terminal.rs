//! The terminal output: vLLM's familiar "Serving Benchmark Result" block per
//! level, then one table across levels.

use std::fmt::Write;

use crate::engine::EngineInfo;
use crate::metrics::LatencyMetric;
use crate::metrics::RunSummary;
use crate::render::{engine_label, percentile_label};
use crate::schedule::concurrency_label;

const WIDTH: usize = 50;

/// What a block needs besides the summary.
pub struct BlockContext<'a> {
    pub engine: &'a EngineInfo,
    pub schedule: &'a str,
    pub max_concurrency: Option<usize>,
    pub metrics: &'a [LatencyMetric],
    pub percentiles: &'a [f64],
    pub interrupted: bool,
    pub fatal_error: Option<&'a str>,
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

pub fn result_block(run: &RunSummary, ctx: &BlockContext) -> String {
    let mut out = String::new();
    banner(&mut out, "Serving Benchmark Result", '=');
    row(&mut out, "Engine", engine_label(ctx.engine));
    row(&mut out, "Schedule", ctx.schedule);
    let concurrency = concurrency_label(ctx.max_concurrency);
    row(&mut out, "Max request concurrency", concurrency);
    if ctx.interrupted {
        row(&mut out, "Interrupted", "yes (partial results)");
    }
    if let Some(error) = ctx.fatal_error {
        row(&mut out, "Engine error", error);
    }
    row(&mut out, "Successful requests", run.completed);
    row(&mut out, "Failed requests", run.failed + run.cancelled);
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
    row(
        &mut out,
        "Mean client queue delay (ms)",
        format!("{:.3}", run.queue_delay_ms.mean),
    );
    for &metric in ctx.metrics {
        let summary = metric.summary(run);
        banner(&mut out, section_title(metric), '-');
        row(
            &mut out,
            &format!("Mean {metric} (ms)"),
            format!("{:.2}", summary.mean),
        );
        row(
            &mut out,
            &format!("Median {metric} (ms)"),
            format!("{:.2}", summary.median),
        );
        for &p in ctx.percentiles {
            let value = summary.percentile(p).unwrap_or(0.0);
            row(
                &mut out,
                &format!("P{} {metric} (ms)", percentile_label(p)),
                format!("{value:.2}"),
            );
        }
    }
    banner(&mut out, "", '=');
    out
}

/// One line per level: the numbers people compare across a sweep.
pub fn sweep_table(engine: &EngineInfo, levels: &[(Option<usize>, &RunSummary)]) -> String {
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
    for (concurrency, run) in levels {
        let p99 = |s: &crate::stats::Summary| s.percentile(99.0).unwrap_or(s.max);
        let cells = [
            concurrency.map_or("inf".into(), |c| c.to_string()),
            run.completed.to_string(),
            (run.failed + run.cancelled).to_string(),
            format!("{:.2}", run.request_throughput),
            format!("{:.1}", run.output_throughput),
            format!("{:.2}", run.ttft_ms.mean),
            format!("{:.2}", p99(&run.ttft_ms)),
            format!("{:.2}", run.tpot_ms.mean),
            format!("{:.2}", run.itl_ms.mean),
            format!("{:.2}", run.e2el_ms.mean),
        ];
        let _ = writeln!(out, "{}", cells.map(|c| format!("{c:>11}")).join(" "));
    }
    let _ = writeln!(out, "(latencies in ms)");
    out
}

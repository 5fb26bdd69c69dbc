//! `run --dry-run`: builds the workload and each level's schedule, prints
//! what the run would send and the memory it would need, and sends nothing
//! (no engine is opened).
//!
//! Conversations with real answers cannot be known before the run: their
//! prompts are planned as if every answer used its whole output budget, as
//! ignore-EOS runs do. Schedules released by completions (closed loops, a
//! conversation's later rounds) have no arrival times to show beforehand.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use super::print;
use super::run::workloads;
use crate::analysis::speed_of_light::ModelShape;
use crate::config::RunConfig;
use crate::error::Error;
use crate::schedule::{concurrency_label, Schedule};
use crate::stats::Summary;
use crate::sweep::{schedule, schedule_label};
use crate::workload::{PlannedRequest, Workload};

const PERCENTILES: [f64; 3] = [50.0, 90.0, 99.0];
const GIB: f64 = (1u64 << 30) as f64;
const MIB: f64 = (1u64 << 20) as f64;

pub fn run(config: &RunConfig) -> Result<(), Error> {
    // Nothing is sent, but the workload is built: its memory is checked first.
    crate::workload::check_memory(
        &config.workload,
        config.num_prompts,
        config.num_warmups,
        config.trials,
    )?;
    let (items, warm_up) = workloads(config)?;
    let planned = items.planned();
    let mut out = String::from("Dry run: the workload and schedules are built; nothing is sent.\n");
    workload_figures(&mut out, config, &items, &warm_up, &planned);
    for &concurrency in &config.concurrency_levels {
        let schedule = schedule(config, &items, concurrency, config.seed);
        schedule_figures(&mut out, config, &items, &schedule);
    }
    memory_figures(&mut out, config, &items, &planned);
    print(&out);
    Ok(())
}

fn workload_figures(
    out: &mut String,
    config: &RunConfig,
    items: &Workload,
    warm_up: &Workload,
    planned: &[PlannedRequest],
) {
    let benchmark = config.benchmark_id(None);
    let sessions = items.sessions();
    let _ = writeln!(out, "\nWorkload: {}", benchmark.workload);
    let mut requests = format!("  requests:            {}", items.len());
    if !items.turns.is_empty() {
        let longest = sessions.iter().map(|s| s.len()).max().unwrap_or(0);
        requests += &format!(" ({} sessions of up to {longest} rounds)", sessions.len());
    }
    if !warm_up.is_empty() {
        requests += &format!(", and {} warm-up requests", warm_up.len());
    }
    let _ = writeln!(out, "{requests}");
    if items.needs_answer_ids() {
        let _ = writeln!(
            out,
            "  (later rounds carry the engine's real answers: lengths below assume each answer \
             uses its whole output budget)"
        );
    }
    let column = |f: fn(&PlannedRequest) -> u64| -> Vec<f64> {
        planned.iter().map(|p| f(p) as f64).collect()
    };
    let inputs = column(|p| p.input_tokens);
    let outputs = column(|p| p.output_tokens);
    let _ = writeln!(out, "  input tokens:        {}", distribution(&inputs));
    let _ = writeln!(out, "  output tokens:       {}", distribution(&outputs));
    let total_in: f64 = inputs.iter().sum();
    let total_out: f64 = outputs.iter().sum();
    let reused: f64 = column(|p| p.reused_prefix).iter().sum();
    let _ = writeln!(
        out,
        "  total tokens:        {} input + {} output = {}",
        total_in,
        total_out,
        total_in + total_out
    );
    let fraction = if total_in > 0.0 {
        reused / total_in
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "  reused prefix:       {reused} tokens, {:.1}% of the input (what an ideal prefix cache \
         would already hold)",
        100.0 * fraction
    );
}

/// `min 10, mean 12.5, p50 12, p90 15, p99 16, max 16`.
fn distribution(values: &[f64]) -> String {
    let s = Summary::of(values, &PERCENTILES);
    let mut text = format!("min {}, mean {:.1}", s.min, s.mean);
    for (p, v) in &s.percentiles {
        text += &format!(", p{p} {v:.0}");
    }
    text + &format!(", max {}", s.max)
}

fn schedule_figures(out: &mut String, config: &RunConfig, items: &Workload, schedule: &Schedule) {
    let label = schedule_label(config, schedule);
    let cap = concurrency_label(schedule.max_concurrency);
    let _ = writeln!(out, "\nSchedule at concurrency {cap}: {label}");
    if let Some(ramp) = &config.ramp_up {
        let _ = writeln!(
            out,
            "  ramp-up:             {} from {} to {} req/s over the sessions (vLLM's formula, by \
             request index)",
            ramp.strategy.name(),
            ramp.start_rps,
            ramp.end_rps
        );
    }
    if let (Some(pace), Some(period)) = (&config.pace, schedule.round_period) {
        let join = f64::from(pace.rounds - 1) / pace.qps;
        let _ = writeln!(
            out,
            "  pace:                a user joins every {join:.3} s, each asks every {:.3} s ({} \
             req/s over {cap} users)",
            period.as_secs_f64(),
            pace.qps
        );
    }
    if schedule.closed_loop {
        let _ = writeln!(
            out,
            "  sessions start as slots free: their times are known only when the run makes them"
        );
    } else {
        arrival_figures(out, &schedule.arrivals);
    }
    if items.sessions().len() < items.len() {
        let think: Vec<f64> = items
            .turns
            .iter()
            .filter(|t| t.round > 0)
            .map(|t| t.think_time.as_secs_f64() * 1e3)
            .collect();
        let _ = writeln!(
            out,
            "  later rounds:        released by the answer before them, after a think time of {} ms",
            distribution(&think)
        );
    }
}

/// First and last arrival, mean and peak rate (in 1 s bins) of session starts.
fn arrival_figures(out: &mut String, arrivals: &[Duration]) {
    let (Some(first), Some(last)) = (arrivals.first(), arrivals.last()) else {
        return;
    };
    let span = (*last - *first).as_secs_f64();
    let mut bins = vec![0usize; span.floor() as usize + 1];
    let last_bin = bins.len() - 1;
    for a in arrivals {
        bins[((*a - *first).as_secs_f64().floor() as usize).min(last_bin)] += 1;
    }
    let peak = bins.iter().max().copied().unwrap_or(0);
    let mean = match span > 0.0 {
        true => format!("{:.2} req/s", (arrivals.len() - 1) as f64 / span),
        false => "all at once".into(),
    };
    let _ = writeln!(
        out,
        "  arrivals:            {} from {:.3} s to {:.3} s, mean {mean}, peak {peak} in one second",
        arrivals.len(),
        first.as_secs_f64(),
        last.as_secs_f64()
    );
    if bins.len() > 1 {
        let shown: Vec<String> = bins.iter().take(20).map(|n| n.to_string()).collect();
        let more = if bins.len() > 20 { ", ..." } else { "" };
        let _ = writeln!(out, "  per second:          {}{more}", shown.join(", "));
    }
}

fn memory_figures(
    out: &mut String,
    config: &RunConfig,
    items: &Workload,
    planned: &[PlannedRequest],
) {
    let _ = writeln!(out, "\nMemory");
    let token_ids: u64 = items.items.iter().map(|i| u64::from(i.input_len())).sum();
    let outputs: u64 = planned.iter().map(|p| p.output_tokens).sum();
    // Prompts, their records' deliveries (16 bytes each), and a history per
    // session in progress for conversations.
    let mut harness = token_ids * 4 + outputs * 16;
    let sessions = items.sessions();
    let widest = widest_level(config, sessions.len());
    if !items.turns.is_empty() {
        let mut longest: Vec<u64> = planned.iter().map(|p| p.input_tokens).collect();
        longest.sort_unstable_by(|a, b| b.cmp(a));
        harness += longest.iter().take(widest).sum::<u64>() * 4 * 2;
    }
    let _ = writeln!(
        out,
        "  harness:             {:.1} MiB of token ids and records",
        harness as f64 / MIB
    );
    let Some(model) = model_shape(config.engine_options.model.as_deref()) else {
        let _ = writeln!(
            out,
            "  KV cache, weights:   unknown without a model shape (give --model a folder with \
             config.json)"
        );
        return;
    };
    let per_token = model.kv_bytes_per_token();
    let mut sizes: Vec<u64> = planned
        .iter()
        .map(|p| (p.input_tokens + p.output_tokens) * per_token)
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let mean = sizes.iter().sum::<u64>() as f64 / sizes.len().max(1) as f64;
    let _ = writeln!(
        out,
        "  KV cache:            {per_token} bytes per token; per request mean {:.3} GiB, max {:.3} GiB",
        mean / GIB,
        sizes.first().copied().unwrap_or(0) as f64 / GIB
    );
    for &level in &config.concurrency_levels {
        let at_once = level.unwrap_or(sessions.len()).min(sizes.len());
        let peak: u64 = sizes.iter().take(at_once).sum();
        let _ = writeln!(
            out,
            "  KV at concurrency {}: {:.3} GiB for the {at_once} largest requests in flight together",
            concurrency_label(level),
            peak as f64 / GIB
        );
    }
    let distinct: u64 = planned
        .iter()
        .map(|p| p.input_tokens - p.reused_prefix + p.output_tokens)
        .sum();
    let _ = writeln!(
        out,
        "  prefix cache:        {:.3} GiB to keep every prompt and answer cached (every distinct token)",
        (distinct * per_token) as f64 / GIB
    );
    let _ = writeln!(
        out,
        "  weights:             {:.3} GiB ({} parameters at {} bytes)",
        model.weight_bytes() as f64 / GIB,
        model.parameters(),
        model.bytes_per_param
    );
}

/// Most requests in flight at once over the levels.
fn widest_level(config: &RunConfig, sessions: usize) -> usize {
    config
        .concurrency_levels
        .iter()
        .map(|c| c.unwrap_or(sessions).min(sessions))
        .max()
        .unwrap_or(sessions)
}

fn model_shape(model: Option<&Path>) -> Option<ModelShape> {
    let config = model?.join("config.json");
    ModelShape::from_config_file(&config).ok()
}

//! The result file of one level: vLLM `bench serve`'s keys, so existing tools
//! read it, plus ours (engine description, environment, queue delay, run state).

use serde_json::{json, Map, Value};

use crate::engine::EngineInfo;
use crate::env::Environment;
use crate::metrics::LatencyMetric;
use crate::metrics::{RunSummary, Slos};
use crate::render::percentile_label;
use crate::schedule::RequestRate;
use crate::stats::Summary;

/// Everything in a result file besides the measured summary.
pub struct ResultContext<'a> {
    pub date: String,
    pub engine: &'a EngineInfo,
    pub model_id: &'a str,
    pub num_prompts: usize,
    pub request_rate: RequestRate,
    pub burstiness: f64,
    pub max_concurrency: Option<usize>,
    pub schedule: &'a str,
    pub workload: Value,
    pub seed: u64,
    pub num_warmups: usize,
    pub slos: &'a Slos,
    pub environment: &'a Environment,
    pub interrupted: bool,
    pub fatal_error: Option<&'a str>,
    pub detailed_file: Option<String>,
    pub warnings: Vec<String>,
}

pub fn to_json(run: &RunSummary, ctx: &ResultContext) -> Value {
    let mut out = Map::new();
    let mut put = |key: &str, value: Value| {
        out.insert(key.to_string(), value);
    };
    put("date", ctx.date.clone().into());
    put("backend", ctx.engine.name.clone().into());
    put("model_id", ctx.model_id.into());
    put("num_prompts", ctx.num_prompts.into());
    put(
        "request_rate",
        serde_json::to_value(ctx.request_rate).expect("a rate serializes"),
    );
    put("burstiness", ctx.burstiness.into());
    put("max_concurrency", ctx.max_concurrency.into());
    put("duration", run.duration_s.into());
    put("completed", run.completed.into());
    put("failed", (run.failed + run.cancelled).into());
    put("total_input_tokens", run.total_input_tokens.into());
    put("total_output_tokens", run.total_output_tokens.into());
    put("request_throughput", run.request_throughput.into());
    put("request_goodput", run.request_goodput.into());
    put("output_throughput", run.output_throughput.into());
    put("total_token_throughput", run.total_token_throughput.into());
    for metric in LatencyMetric::ALL {
        put_summary(&mut out, metric.key(), metric.summary(run));
    }
    put_summary(&mut out, "queue_delay", &run.queue_delay_ms);
    out.insert(
        "mean_tokens_per_delivery".into(),
        run.tokens_per_delivery.mean.into(),
    );
    let ours = json!({
        "engine": ctx.engine,
        "simulated": ctx.engine.simulated,
        "tensor_parallel_size": ctx.engine.tensor_parallel_size,
        "schedule": ctx.schedule,
        "workload": ctx.workload,
        "seed": ctx.seed,
        "num_warmups": ctx.num_warmups,
        "goodput_slos_ms": ctx.slos,
        "cancelled": run.cancelled,
        "environment": ctx.environment,
        "interrupted": ctx.interrupted,
        "fatal_error": ctx.fatal_error,
        "detailed_file": ctx.detailed_file,
        "warnings": ctx.warnings,
    });
    if let Value::Object(ours) = ours {
        out.extend(ours);
    }
    Value::Object(out)
}

/// `mean_ttft_ms`, `median_ttft_ms`, `std_ttft_ms`, `min_`, `max_`, `pNN_ttft_ms`.
fn put_summary(out: &mut Map<String, Value>, key: &str, s: &Summary) {
    let stats = [
        ("mean", s.mean),
        ("median", s.median),
        ("std", s.std),
        ("min", s.min),
        ("max", s.max),
    ];
    for (name, value) in stats {
        out.insert(format!("{name}_{key}_ms"), value.into());
    }
    for &(p, value) in &s.percentiles {
        out.insert(format!("p{}_{key}_ms", percentile_label(p)), value.into());
    }
}

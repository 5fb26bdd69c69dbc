//! A run that measured nothing, or whose failures pass `--max-failure-ratio`,
//! does not pass: exit 1 with the most common reasons and their counts, the
//! level still written, undefined metrics `null` (never 0).

mod common;

use common::{enginebench, read_json, stderr, FAST_SIM};

fn run(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, String, serde_json::Value) {
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--quiet", "--save-result", "--result-filename", "r.json"]);
    args.extend_from_slice(&["--result-dir", dir.to_str().unwrap()]);
    let output = enginebench(&args);
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "{err}");
    let result = read_json(&dir.join("r.json"));
    (output.status.code(), err, result)
}

#[test]
fn a_level_where_every_request_failed_exits_1_with_its_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, result) = run(dir.path(), &["--engine-arg", "kv_capacity_tokens=10"]);
    assert_eq!(code, Some(1), "{err}");
    let last = err.trim_end().lines().last().unwrap();
    assert!(last.starts_with("error: level 1/1"), "{err}");
    assert!(last.contains("no request completed (12 failed)"), "{err}");
    assert!(
        last.contains("12x 'needs 40 KV tokens, capacity is 10'"),
        "{err}"
    );
    assert_eq!(result["completed"], 0);
    assert_eq!(result["failed"], 12);
    assert_eq!(result["issued"], 12);
    assert_eq!(result["failure_reasons"][0]["count"], 12);
    for key in [
        "mean_ttft_ms",
        "p99_tpot_ms",
        "median_itl_ms",
        "mean_e2el_ms",
    ] {
        assert!(result[key].is_null(), "{key} is {}", result[key]);
    }
    assert!(result["mean_tokens_per_delivery"].is_null());
}

#[test]
fn failures_above_the_allowed_ratio_fail_the_run() {
    // Prompts of 16..48 tokens + 8 out against 40 KV tokens: some fit, some not.
    let extra = [
        "--random-range-ratio",
        "0.5",
        "--engine-arg",
        "kv_capacity_tokens=40",
    ];
    let strict = tempfile::tempdir().unwrap();
    let mut args = extra.to_vec();
    args.extend_from_slice(&["--max-failure-ratio", "0"]);
    let (code, err, result) = run(strict.path(), &args);
    let (completed, failed) = (
        result["completed"].as_u64().unwrap(),
        result["failed"].as_u64().unwrap(),
    );
    assert!(completed > 0 && failed > 0, "the workload mixes: {result}");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("fails: "), "{err}");
    assert!(result["failure"].is_string(), "{result}");

    let lenient = tempfile::tempdir().unwrap();
    let mut args = extra.to_vec();
    args.extend_from_slice(&["--max-failure-ratio", "1"]);
    let (code, err, result) = run(lenient.path(), &args);
    assert_eq!(code, Some(0), "{err}");
    assert!(result.get("failure").is_none(), "{result}");
    assert_eq!(
        result["failed"].as_u64().unwrap(),
        failed,
        "same seed, same work"
    );
}

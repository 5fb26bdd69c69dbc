//! What a user sees and keeps: result blocks, result JSON with vLLM's keys,
//! detailed JSONL consistent with the JSON, and partial results after an
//! engine failure or Ctrl-C.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{enginebench, files_ending, read_json, stderr, stdout, train_tokenizer, FAST_SIM};
use enginebench::metrics::{LevelSummary, Slos};
use enginebench::records::{read_jsonl, Outcome};

fn run_in(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&["--result-dir", dir.to_str().unwrap()]);
    args.extend_from_slice(extra);
    enginebench(&args)
}

const VLLM_KEYS: &[&str] = &[
    "date",
    "backend",
    "model_id",
    "num_prompts",
    "request_rate",
    "burstiness",
    "max_concurrency",
    "duration",
    "completed",
    "failed",
    "total_input_tokens",
    "total_output_tokens",
    "request_throughput",
    "request_goodput",
    "output_throughput",
    "total_token_throughput",
];

#[test]
fn a_sweep_prints_a_block_per_level_and_saves_consistent_files() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(
        dir.path(),
        &[
            "--max-concurrency",
            "2,4,8",
            "--save-result",
            "--save-detailed",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert_eq!(out.matches("Serving Benchmark Result").count(), 3);
    assert_eq!(
        out.matches("simulated: a model, not a measurement").count(),
        4,
        "sim is labeled everywhere"
    );
    let table: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Summary:"))
        .collect();
    assert!(
        table.iter().any(|l| l.trim_start().starts_with("8 ")),
        "{out}"
    );

    let results = files_ending(dir.path(), ".json");
    assert_eq!(results.len(), 3, "{results:?}");
    for path in results {
        let json = read_json(&path);
        for key in VLLM_KEYS {
            assert!(json.get(key).is_some(), "{} lacks {key}", path.display());
        }
        for metric in ["ttft", "tpot", "itl", "e2el"] {
            for stat in [
                "mean", "median", "std", "min", "max", "p50", "p90", "p95", "p99",
            ] {
                let key = format!("{stat}_{metric}_ms");
                assert!(
                    json[&key].as_f64().is_some(),
                    "{} lacks {key}",
                    path.display()
                );
            }
        }
        assert_eq!(json["backend"], "sim");
        assert_eq!(json["simulated"], true);
        assert_eq!(json["engine"]["name"], "sim");
        assert_eq!(json["tensor_parallel_size"], 1);
        assert_eq!(json["interrupted"], false);

        // The JSON's numbers follow from the detailed records.
        let detailed = Path::new(json["detailed_file"].as_str().unwrap()).to_path_buf();
        let records = read_jsonl(&detailed).unwrap();
        assert_eq!(records.len(), 12);
        assert!(records
            .iter()
            .all(|r| r.outcome == Outcome::Completed && r.output_tokens() == 8));
        let again = LevelSummary::of(&records, &[99.0], &Slos::default());
        assert_eq!(json["completed"], 12);
        assert_eq!(json["total_output_tokens"], 96);
        assert_eq!(json["total_input_tokens"], 12 * 32);
        let close = |key: &str, value: f64| (json[key].as_f64().unwrap() - value).abs() < 1e-9;
        assert!(close("mean_ttft_ms", again.ttft_ms.mean));
        assert!(close("p99_itl_ms", again.itl_ms.percentile(99.0).unwrap()));
        assert!(close("duration", again.duration_s));
    }
}

#[test]
fn goodput_and_open_loop_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(
        dir.path(),
        &[
            "--request-rate",
            "200",
            "--goodput",
            "ttft:10000",
            "e2el:0.001",
            "--save-result",
            "--result-filename",
            "r.json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = read_json(&dir.path().join("r.json"));
    assert_eq!(json["schedule"], "open-loop");
    assert_eq!(json["request_rate"], 200.0);
    assert_eq!(
        json["request_goodput"], 0.0,
        "no request finishes within 1 µs"
    );
    assert_eq!(json["goodput_slos_ms"]["ttft_ms"], 10000.0);
    assert!(stdout(&output).contains("Request goodput (req/s):"));
}

#[test]
fn engine_failure_mid_run_keeps_what_was_measured() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(
        dir.path(),
        &[
            "--max-concurrency",
            "4",
            "--engine-arg",
            "fail_after_iterations=14",
            "--save-result",
            "--save-detailed",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("error: engine failed mid-run: injected failure"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    let json = read_json(&files_ending(dir.path(), ".json")[0]);
    assert!(json["fatal_error"]
        .as_str()
        .unwrap()
        .contains("injected failure"));
    let records = read_jsonl(&files_ending(dir.path(), ".jsonl")[0]).unwrap();
    // 8 output tokens + 1 prefill iteration per wave of 4: 14 iterations finish
    // the first wave and leave the second in flight.
    let completed = records
        .iter()
        .filter(|r| r.outcome == Outcome::Completed)
        .count();
    let cancelled: Vec<_> = records
        .iter()
        .filter(|r| r.outcome == Outcome::Cancelled)
        .collect();
    assert_eq!(completed, 4);
    assert_eq!(cancelled.len(), 4);
    assert!(
        cancelled.iter().all(|r| !r.deliveries.is_empty()),
        "partial deliveries are kept"
    );
    assert_eq!(json["completed"], 4);
}

#[test]
fn ctrl_c_stops_cleanly_and_keeps_results_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_enginebench"))
        .args([
            "run",
            "--num-prompts",
            "400",
            "--random-input-len",
            "16",
            "--random-output-len",
            "64",
        ])
        .args([
            "--max-concurrency",
            "2",
            "--engine-arg",
            "step_base_us=2000",
            "--save-result",
            "--save-detailed",
        ])
        .args(["--result-dir", dir.path().to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let json = read_json(&files_ending(dir.path(), ".json")[0]);
    assert_eq!(json["interrupted"], true);
    let completed = json["completed"].as_u64().unwrap();
    assert!(completed > 0 && completed < 400, "completed {completed}");
    let records = read_jsonl(&files_ending(dir.path(), ".jsonl")[0]).unwrap();
    let kept = records
        .iter()
        .filter(|r| r.outcome == Outcome::Completed)
        .count() as u64;
    assert_eq!(kept, completed);
    assert!(stdout(&output).contains("Interrupted:"));
}

#[test]
fn sharegpt_text_is_tokenized_with_a_local_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let tokenizer = train_tokenizer(dir.path());
    let conversations: Vec<serde_json::Value> = (0..6)
        .map(|i| {
            serde_json::json!({"conversations": [
                {"from": "human", "value": format!("the engine decode latency request number {i} the batch")},
                {"from": "gpt", "value": "the model token cache prefill decode latency batch"},
            ]})
        })
        .collect();
    let path = dir.path().join("sharegpt.json");
    std::fs::write(&path, serde_json::to_string(&conversations).unwrap()).unwrap();
    let output = run_in(
        dir.path(),
        &[
            "--dataset-name",
            "sharegpt",
            "--dataset-path",
            path.to_str().unwrap(),
            "--tokenizer",
            tokenizer.to_str().unwrap(),
            "--num-prompts",
            "6",
            "--save-result",
            "--save-detailed",
            "--result-filename",
            "s.json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let records = read_jsonl(&dir.path().join("s.requests.jsonl")).unwrap();
    let tok = tokenizers::Tokenizer::from_file(&tokenizer).unwrap();
    let completion = tok
        .encode("the model token cache prefill decode latency batch", false)
        .unwrap();
    assert_eq!(records.len(), 6);
    for r in &records {
        assert_eq!(r.max_output_tokens as usize, completion.len());
        assert_eq!(r.output_tokens() as usize, completion.len());
        assert!(r.input_tokens >= 4);
    }
}

#[test]
fn prompts_file_and_shared_prefix_workloads_run() {
    let dir = tempfile::tempdir().unwrap();
    let tokenizer = train_tokenizer(dir.path());
    let prompts = dir.path().join("prompts.jsonl");
    std::fs::write(&prompts, "{\"prompt\": \"the engine cache\", \"output_len\": 3}\n{\"prompt_token_ids\": [5, 6, 7, 8]}\n").unwrap();
    let output = run_in(
        dir.path(),
        &[
            "--dataset-name",
            "prompts",
            "--dataset-path",
            prompts.to_str().unwrap(),
            "--tokenizer",
            tokenizer.to_str().unwrap(),
            "--num-prompts",
            "4",
            "--save-detailed",
            "--result-filename",
            "p.json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let mut records = read_jsonl(&dir.path().join("p.requests.jsonl")).unwrap();
    records.sort_by_key(|r| r.index);
    let outputs: Vec<u64> = records.iter().map(|r| r.output_tokens()).collect();
    assert_eq!(outputs, vec![3, 128, 3, 128]);
    assert_eq!(records[1].input_tokens, 4);

    let output = run_in(
        dir.path(),
        &[
            "--dataset-name",
            "shared-prefix",
            "--shared-prefix-num-users",
            "3",
            "--shared-prefix-context-len",
            "100",
            "--shared-prefix-question-len",
            "10",
            "--shared-prefix-output-len",
            "5",
            "--num-prompts",
            "9",
            "--save-result",
            "--result-filename",
            "sp.json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = read_json(&dir.path().join("sp.json"));
    assert_eq!(json["total_input_tokens"], 9 * 110);
    assert_eq!(json["workload"]["dataset"], "shared-prefix");
}

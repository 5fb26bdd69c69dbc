//! The Python engines, in-process, for real: vLLM (CPU build) and transformers
//! on a tiny random-weight Llama, and the `trtllm-pytorch` driver against a
//! test double of its API. Needs `python/setup-env.sh` to have run (`.ci/test`
//! does it); a missing environment fails these tests instead of skipping them.
#![cfg(feature = "embed-python")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{files_ending, read_json, stderr, stdout};
use enginebench::records::{read_jsonl, Outcome};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv() -> PathBuf {
    let venv =
        std::env::var_os("ENGINEBENCH_VENV").map_or_else(|| repo().join(".venv"), PathBuf::from);
    assert!(
        venv.join("bin/python").is_file(),
        "no engine environment at {}: run python/setup-env.sh",
        venv.display()
    );
    venv
}

/// vLLM's settings and the workload both vLLM tests run: 6 requests of
/// 24 -> 12 tokens, 3 at a time.
#[cfg(feature = "vllm")]
const VLLM_TINY_RUN: &[&str] = &[
    "--engine-arg",
    "max_model_len=512",
    "--engine-arg",
    "max_num_seqs=8",
    "--engine-arg",
    "enforce_eager=true",
    "--engine-arg",
    "dtype=bfloat16",
    "--random-input-len",
    "24",
    "--random-output-len",
    "12",
    "--num-prompts",
    "6",
    "--max-concurrency",
    "3",
    "--ignore-eos",
];

fn tiny_model() -> String {
    let model = repo().join("models/tiny-llama");
    assert!(
        model.join("config.json").is_file(),
        "no tiny model at {}: run python/setup-env.sh",
        model.display()
    );
    model.display().to_string()
}

/// Runs the binary inside the engine environment (`VIRTUAL_ENV`), results in `dir`.
fn run_engine(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_enginebench"));
    command
        .arg("run")
        .args(args)
        .args([
            "--result-dir",
            dir.to_str().unwrap(),
            "--save-result",
            "--save-detailed",
        ])
        .env("VIRTUAL_ENV", venv())
        .env("VLLM_CPU_KVCACHE_SPACE", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

/// Every request completed with exactly its output budget, and the result JSON
/// agrees with the detailed records.
fn assert_complete(dir: &Path, requests: usize, output_len: u64) -> serde_json::Value {
    let records = read_jsonl(&files_ending(dir, ".jsonl")[0]).unwrap();
    assert_eq!(records.len(), requests);
    for record in &records {
        assert_eq!(record.outcome, Outcome::Completed, "{record:?}");
        assert_eq!(record.output_tokens(), output_len, "{record:?}");
        let times: Vec<u64> = record.deliveries.iter().map(|d| d.t_ns).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "deliveries in time order"
        );
        assert!(record.scheduled_ns <= record.submitted_ns.unwrap());
    }
    let json = read_json(&files_ending(dir, ".json")[0]);
    assert_eq!(json["completed"], requests);
    assert_eq!(json["total_output_tokens"], requests as u64 * output_len);
    assert_eq!(json["simulated"], false);
    json
}

#[test]
#[cfg(feature = "vllm")]
fn vllm_runs_in_process_on_a_tiny_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model();
    let output = run_engine(
        dir.path(),
        &[&["--engine", "vllm", "--model", &model][..], VLLM_TINY_RUN].concat(),
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = assert_complete(dir.path(), 6, 12);
    assert_eq!(json["engine"]["name"], "vllm");
    assert_eq!(json["engine"]["version"], "0.32.0");
    assert_eq!(json["engine"]["max_model_len"], 512);
    assert_eq!(json["engine"]["vocab_size"], 32000);
    // vLLM's own per-request timestamps are kept beside ours.
    let records = read_jsonl(&files_ending(dir.path(), ".jsonl")[0]).unwrap();
    let stats = records[0]
        .engine_stats
        .as_ref()
        .expect("vLLM's RequestStateStats");
    assert_eq!(stats["num_generation_tokens"], 12);
    assert!(stats["first_token_ts"].as_f64().unwrap() <= stats["last_token_ts"].as_f64().unwrap());
}

/// `--tp 2` reaches vLLM as `tensor_parallel_size=2`: it starts two CPU worker
/// processes (bound to one core each, since this machine has one NUMA node).
#[test]
#[cfg(feature = "vllm")]
fn vllm_tensor_parallel_2_runs_two_workers() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model();
    let output = run_engine(
        dir.path(),
        &[
            &["--engine", "vllm", "--model", &model, "--tp", "2"][..],
            VLLM_TINY_RUN,
        ]
        .concat(),
        &[("VLLM_CPU_OMP_THREADS_BIND", "0|1")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = assert_complete(dir.path(), 6, 12);
    assert_eq!(json["tensor_parallel_size"], 2);
    assert!(
        stdout(&output).contains("world_size=2"),
        "vLLM started two ranks"
    );
}

/// A conversation on vLLM in-process: 3 users, 3 rounds, each round's prompt
/// the previous prompt, vLLM's own 40-token answer and a 16-token question.
/// With blocks of 32 tokens, vLLM's prefix cache (its `num_cached_tokens`)
/// serves round k from round k-1's prompt and answer: more tokens than the
/// previous prompt alone holds, which only happens if the history carries
/// the ids vLLM generated, and only if the cache was not reset between rounds.
#[test]
#[cfg(feature = "vllm")]
fn vllm_conversation_rounds_carry_its_answers_and_hit_its_prefix_cache() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model();
    let output = run_engine(
        dir.path(),
        &[
            "--engine",
            "vllm",
            "--model",
            &model,
            "--engine-arg",
            "max_model_len=512",
            "--engine-arg",
            "max_num_seqs=8",
            "--engine-arg",
            "enforce_eager=true",
            "--engine-arg",
            "dtype=bfloat16",
            "--engine-arg",
            "block_size=32",
            "--engine-arg",
            "enable_prefix_caching=true",
            "--dataset-name",
            "conversation",
            "--num-prompts",
            "3",
            "--max-concurrency",
            "3",
            "--conversation-rounds",
            "3",
            "--conversation-system-prompt-len",
            "32",
            "--conversation-context-len",
            "32",
            "--conversation-question-len",
            "16",
            "--conversation-answer-len",
            "40",
            "--ignore-eos",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = assert_complete(dir.path(), 9, 40);
    let mut records = read_jsonl(&files_ending(dir.path(), ".jsonl")[0]).unwrap();
    records.sort_by_key(|r| r.index);
    for (i, r) in records.iter().enumerate() {
        let (user, round) = (i as u32 / 3, i as u32 % 3);
        assert_eq!((r.user, r.round), (Some(user), Some(round)), "{r:?}");
        // 80 tokens, then + 40 answer + 16 question each round.
        assert_eq!(r.input_tokens, 80 + 56 * round, "{r:?}");
        if round == 0 {
            continue;
        }
        let previous = &records[i - 1];
        assert_eq!(r.reused_prefix_tokens, Some(previous.input_tokens + 40));
        assert!(r.scheduled_ns >= previous.finished_ns.unwrap());
        let cached = r.engine_stats.as_ref().expect("vLLM's stats")["num_cached_tokens"]
            .as_u64()
            .expect("num_cached_tokens");
        // Whole blocks of the previous prompt and answer (less its last token).
        let held = u64::from(previous.input_tokens + 40 - 1) / 32 * 32;
        assert_eq!(cached, held, "user {user} round {round}: {r:?}");
        assert!(cached > u64::from(previous.input_tokens), "{r:?}");
    }
    let rounds = json["traffic"]["per_round"].as_array().unwrap();
    assert_eq!(rounds.len(), 3);
    assert!(rounds.iter().all(|r| r["completed"] == 3));
}

#[test]
#[cfg(feature = "hf")]
fn transformers_continuous_batching_runs_in_process_on_a_tiny_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model();
    let output = run_engine(
        dir.path(),
        &[
            "--engine",
            "hf",
            "--model",
            &model,
            "--engine-arg",
            "num_blocks=64",
            "--engine-arg",
            "max_batch_tokens=256",
            "--engine-arg",
            "torch_threads=1",
            "--random-input-len",
            "24",
            "--random-output-len",
            "10",
            "--num-prompts",
            "6",
            "--max-concurrency",
            "3",
            "--ignore-eos",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = assert_complete(dir.path(), 6, 10);
    assert_eq!(json["engine"]["name"], "hf");
    assert_eq!(json["engine"]["settings"]["device"], "cpu");
    assert_eq!(json["engine"]["settings"]["num_blocks"], "64");
    assert_eq!(json["engine"]["settings"]["torch_threads"], "1");
}

#[test]
#[cfg(feature = "hf")]
fn hf_refuses_tensor_parallelism_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_engine(
        dir.path(),
        &["--engine", "hf", "--model", &tiny_model(), "--tp", "2"],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("--tp above 1 needs torchrun"), "{err}");
}

#[test]
#[cfg(feature = "vllm")]
fn a_missing_engine_module_names_the_engine_and_the_fix() {
    // The machine's own Python has no vLLM.
    let dir = tempfile::tempdir().unwrap();
    let system_python = String::from_utf8(
        Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let output = run_engine(
        dir.path(),
        &[
            "--engine",
            "vllm",
            "--model",
            &tiny_model(),
            "--python",
            system_python.trim(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("engine 'vllm' needs the Python module 'vllm'"),
        "{err}"
    );
    assert!(err.contains("install"), "{err}");
}

/// The double lives in tests/python_doubles and is put on the import path.
#[cfg(feature = "trtllm-pytorch")]
fn run_double(dir: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(model.join("config.json"), "{}").unwrap();
    let log = dir.join("double.log");
    let doubles = repo().join("tests/python_doubles");
    let mut args = vec![
        "--engine",
        "trtllm-pytorch",
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = run_engine(
        dir,
        &args,
        &[
            ("PYTHONPATH", doubles.to_str().unwrap()),
            ("TEST_DOUBLE_LOG", log.to_str().unwrap()),
        ],
    );
    let log = std::fs::read_to_string(&log)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_default();
    (output, log)
}

#[test]
#[cfg(feature = "trtllm-pytorch")]
fn trtllm_pytorch_driver_streams_from_the_llm_api_double() {
    let dir = tempfile::tempdir().unwrap();
    let (output, log) = run_double(
        dir.path(),
        &[
            "--random-input-len",
            "16",
            "--random-output-len",
            "9",
            "--num-prompts",
            "10",
            "--max-concurrency",
            "4",
            "--ignore-eos",
            "--tp",
            "2",
            "--engine-arg",
            "step_ms=1",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json = assert_complete(dir.path(), 10, 9);
    assert_eq!(json["engine"]["version"], "0.0.0+test-double");
    assert_eq!(json["tensor_parallel_size"], 2);
    assert_eq!(log["requests"], 10);
    assert_eq!(log["closed"], true, "shut down cleanly");
    assert_eq!(log["tensor_parallel_size"], 2);
    assert!(log["ignore_eos"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v == true));
}

#[test]
#[cfg(feature = "trtllm-pytorch")]
fn trtllm_pytorch_request_errors_become_failed_records() {
    let dir = tempfile::tempdir().unwrap();
    // Every prompt token is 7, and the double fails requests holding token 7.
    let (output, _) = run_double(
        dir.path(),
        &[
            "--random-input-len",
            "16",
            "--random-output-len",
            "8",
            "--num-prompts",
            "3",
            "--random-vocab-range",
            "7:8",
            "--engine-arg",
            "fail_token=7",
        ],
    );
    // Every request failed: the run fails closed, naming the reason.
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("no request completed (3 failed)"), "{err}");
    let records = read_jsonl(&files_ending(dir.path(), ".jsonl")[0]).unwrap();
    assert_eq!(records.len(), 3);
    for record in records {
        assert_eq!(record.outcome, Outcome::Failed);
        assert!(
            record
                .error
                .as_deref()
                .unwrap()
                .contains("told to fail this request"),
            "{record:?}"
        );
    }
    let json = read_json(&files_ending(dir.path(), ".json")[0]);
    assert_eq!(
        (json["completed"].as_u64(), json["failed"].as_u64()),
        (Some(0), Some(3))
    );
}

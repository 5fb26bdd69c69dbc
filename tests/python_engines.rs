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
    assert_eq!(stats["finish_reason"], "length");
    // vLLM's own default: the engine core in a process of its own.
    let mode = json["engine"]["settings"]["engine_core"].as_str().unwrap();
    assert!(mode.starts_with("process"), "{mode}");
}

/// A copy of the tiny model whose `config.json` names every token an end
/// token and whose `generation_config.json` names none: vLLM, without its
/// tokenizer, reads end tokens only from the latter.
#[cfg(feature = "vllm")]
fn model_with_eos_only_in_config(dir: &Path, eos: Option<serde_json::Value>) -> PathBuf {
    let source = PathBuf::from(tiny_model());
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name != "config.json" && name != "generation_config.json" {
            std::os::unix::fs::symlink(entry.path(), model.join(&name)).unwrap();
        }
    }
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(source.join("config.json")).unwrap())
            .unwrap();
    match eos {
        Some(eos) => config["eos_token_id"] = eos,
        None => drop(config.as_object_mut().unwrap().remove("eos_token_id")),
    }
    std::fs::write(model.join("config.json"), config.to_string()).unwrap();
    std::fs::write(
        model.join("generation_config.json"),
        r#"{"do_sample": false}"#,
    )
    .unwrap();
    model
}

#[test]
#[cfg(feature = "vllm")]
fn vllm_stops_at_the_end_token_of_config_json_without_its_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let every_token: Vec<u32> = (0..32000).collect();
    let model = model_with_eos_only_in_config(dir.path(), Some(every_token.into()));
    let results = dir.path().join("results");
    let run: Vec<&str> = VLLM_TINY_RUN
        .iter()
        .copied()
        .filter(|a| *a != "--ignore-eos")
        .collect();
    let output = run_engine(
        &results,
        &[
            &["--engine", "vllm", "--model", model.to_str().unwrap()][..],
            &run,
        ]
        .concat(),
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let records = read_jsonl(&files_ending(&results, ".jsonl")[0]).unwrap();
    assert_eq!(records.len(), 6);
    for record in &records {
        assert_eq!(record.outcome, Outcome::Completed, "{record:?}");
        assert_eq!(
            record.output_tokens(),
            1,
            "every token ends the request: {record:?}"
        );
        assert_eq!(
            record.engine_stats.as_ref().unwrap()["finish_reason"],
            "stop"
        );
    }
    // A model that names no end token at all is refused before vLLM starts.
    let none = tempfile::tempdir().unwrap();
    let model = model_with_eos_only_in_config(none.path(), None);
    let output = run_engine(
        none.path(),
        &[
            "--engine",
            "vllm",
            "--model",
            model.to_str().unwrap(),
            "--num-prompts",
            "1",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("names no end token"), "{err}");
}

/// The vLLM driver's handling of what `step()` returns, fed vLLM's own
/// `RequestOutput` objects (no engine): `abort` and `error` finishes are
/// failures, and missing per-request metrics are said once.
#[test]
#[cfg(feature = "vllm")]
fn vllm_abort_and_error_finishes_are_failures() {
    let drivers = repo().join("python/enginebench/drivers");
    let script = format!(
        r#"
import importlib.util, json, sys
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
load("enginebench_driver_common", "{drivers}/common.py")
driver_module = load("enginebench_driver_vllm", "{drivers}/vllm_driver.py")
from vllm.outputs import CompletionOutput, RequestOutput
def output(rid, tokens, reason, metrics=None):
    done = reason is not None
    completion = CompletionOutput(index=0, text="", token_ids=tokens, cumulative_logprob=None, logprobs=None, finish_reason=reason)
    return RequestOutput(request_id=rid, prompt=None, prompt_token_ids=[1], prompt_logprobs=None, outputs=[completion], finished=done, metrics=metrics)
driver = driver_module.Driver.__new__(driver_module.Driver)
driver._version = "test"
driver._ids = {{"0": 0, "1": 1, "2": 2, "3": 3}}
steps = [[output("0", [5], None), output("1", [6], None), output("3", [8], None)],
         [output("0", [7], "abort"), output("1", [], "error"), output("2", [9], "length"), output("3", [4], "stop")]]
driver._step = lambda: steps.pop(0)
first = driver.poll(0.01)
second = driver.poll(0.01)
print(json.dumps({{"first": first, "second": second, "left": driver._ids}}))
"#,
        drivers = drivers.display()
    );
    let output = Command::new(venv().join("bin/python"))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let polled: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        polled["first"][0],
        serde_json::json!([[0, 1, false], [1, 1, false], [3, 1, false]])
    );
    let (tokens, failures) = (&polled["second"][0], &polled["second"][1]);
    assert_eq!(
        *tokens,
        serde_json::json!([[2, 1, true], [3, 1, true]]),
        "{polled}"
    );
    let failed: Vec<u64> = failures
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_u64().unwrap())
        .collect();
    assert_eq!(failed, [0, 1], "{polled}");
    assert!(failures[0][1]
        .as_str()
        .unwrap()
        .contains("finish_reason=abort"));
    assert!(failures[1][1]
        .as_str()
        .unwrap()
        .contains("finish_reason=error"));
    assert_eq!(polled["left"], serde_json::json!({}));
    let err = stderr(&output);
    assert_eq!(
        err.matches("gave no per-request stats").count(),
        1,
        "said once: {err}"
    );
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
            &[
                "--engine",
                "vllm",
                "--model",
                &model,
                "--tp",
                "2",
                // The other way to run vLLM's engine core: here, step by step.
                "--engine-arg",
                "engine_core=inline",
            ][..],
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
    let mode = json["engine"]["settings"]["engine_core"].as_str().unwrap();
    assert!(mode.starts_with("inline"), "{mode}");
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
    // Continuous batching may change the attention kernel: the one that ran.
    assert_eq!(
        json["engine"]["settings"]["attn_implementation_used"],
        "sdpa"
    );
}

/// The hf driver's version floor, read from the transformers wheels: older
/// releases lack calls it makes, and are refused in one line.
#[test]
#[cfg(feature = "hf")]
fn hf_refuses_transformers_older_than_its_calls() {
    let drivers = repo().join("python/enginebench/drivers");
    let script = format!(
        r#"
import importlib.util, json, sys
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
load("enginebench_driver_common", "{drivers}/common.py")
hf = load("enginebench_driver_hf", "{drivers}/hf_driver.py")
print(json.dumps({{v: hf.check_version(v) for v in ["5.12.0", "5.16.1", "5.17.0", "5.19.0", "6.0.0.dev0"]}}))
"#,
        drivers = drivers.display()
    );
    let output = Command::new(venv().join("bin/python"))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let checked: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for old in ["5.12.0", "5.16.1"] {
        let line = checked[old].as_str().unwrap();
        assert!(line.contains(">= 5.17") && line.contains(old), "{line}");
        assert!(!line.contains('\n'));
    }
    for fine in ["5.17.0", "5.19.0", "6.0.0.dev0"] {
        assert!(checked[fine].is_null(), "{fine}: {checked}");
    }
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
    run_double_with(dir, r#"{"eos_token_id": 2}"#, extra)
}

/// As [`run_double`], with this `config.json` in the model folder.
#[cfg(feature = "trtllm-pytorch")]
fn run_double_with(dir: &Path, config: &str, extra: &[&str]) -> (Output, serde_json::Value) {
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(model.join("config.json"), config).unwrap();
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
    let all = |key: &str, value: serde_json::Value| {
        log[key].as_array().unwrap().iter().all(|v| *v == value)
    };
    assert!(all("detokenize", false.into()), "{log}");
    assert!(all("return_perf_metrics", true.into()), "{log}");
    assert!(
        all("end_id", (-1).into()),
        "--ignore-eos means end id -1: {log}"
    );
    assert_eq!(log["enable_iter_perf_stats"], true);
    // One MPI worker process per rank, gone once the run is over.
    let pids = log["worker_pids"].as_array().unwrap();
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "worker {pid} left running"
        );
    }
    assert!(json["engine"]["settings"]["worker"]
        .as_str()
        .unwrap()
        .contains("MPI worker"));
    // The LLM API's own per-request timing and iteration statistics, beside ours.
    let records = read_jsonl(&files_ending(dir.path(), ".jsonl")[0]).unwrap();
    let stats = records[0].engine_stats.as_ref().expect("engine stats");
    assert_eq!(stats["finish_reason"], "length");
    assert!(stats["engine_timing"]["ttft_ms"].as_f64().unwrap() >= 0.0);
    assert!(
        stats["latest_iteration"]["iter"].as_u64().is_some(),
        "{stats}"
    );
}

#[test]
#[cfg(feature = "trtllm-pytorch")]
fn trtllm_pytorch_cancel_aborts_the_request_in_the_executor() {
    // The first request fails after one token and --max-failures 1 stops the
    // run: the driver cancels the others, which would otherwise run for minutes.
    let dir = tempfile::tempdir().unwrap();
    let (output, log) = run_double(
        dir.path(),
        &[
            "--random-input-len",
            "8",
            "--random-output-len",
            "100000",
            "--num-prompts",
            "4",
            "--ignore-eos",
            "--max-failures",
            "1",
            "--engine-arg",
            "step_ms=1",
            "--engine-arg",
            "max_seq_len=200000",
            "--engine-arg",
            "fail_nth=0",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--max-failures 1"),
        "{}",
        stderr(&output)
    );
    assert_eq!(log["closed"], true, "{log}");
    assert_eq!(
        log["left_running_at_shutdown"],
        serde_json::json!([]),
        "a cancel must abort the request in the executor: {log}"
    );
    assert_eq!(log["aborted"].as_array().unwrap().len(), 3, "{log}");
}

#[test]
#[cfg(feature = "trtllm-pytorch")]
fn trtllm_pytorch_single_process_keeps_the_worker_here() {
    let dir = tempfile::tempdir().unwrap();
    let (output, log) = run_double(
        dir.path(),
        &[
            "--random-input-len",
            "8",
            "--random-output-len",
            "4",
            "--num-prompts",
            "2",
            "--ignore-eos",
            "--engine-arg",
            "single_process=true",
            "--engine-arg",
            "step_ms=1",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(log["worker_pids"], serde_json::json!([]), "{log}");
    let json = read_json(&files_ending(dir.path(), ".json")[0]);
    let worker = json["engine"]["settings"]["worker"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        worker.contains("TLLM_WORKER_USE_SINGLE_PROCESS=1"),
        "{worker}"
    );
    // Not with tensor parallelism: one line, a usage error.
    let (output, _) = run_double(
        dir.path(),
        &["--tp", "2", "--engine-arg", "single_process=true"],
    );
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("--tp 1 only"), "{err}");
}

#[test]
#[cfg(feature = "trtllm-pytorch")]
fn trtllm_pytorch_without_a_tokenizer_passes_the_models_end_token() {
    let dir = tempfile::tempdir().unwrap();
    // The double's model emits its end token (2) as its 4th output token.
    let (output, log) = run_double(
        dir.path(),
        &[
            "--random-input-len",
            "8",
            "--random-output-len",
            "10",
            "--num-prompts",
            "2",
            "--engine-arg",
            "skip_tokenizer_init=true",
            "--engine-arg",
            "eos_after=3",
            "--engine-arg",
            "step_ms=1",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(log["end_id"], serde_json::json!([2, 2]), "{log}");
    let records = read_jsonl(&files_ending(dir.path(), ".jsonl")[0]).unwrap();
    for record in &records {
        assert_eq!(
            record.output_tokens(),
            3,
            "stopped at the end token: {record:?}"
        );
        assert_eq!(
            record.engine_stats.as_ref().unwrap()["finish_reason"],
            "stop"
        );
    }
    // A model that names no end token cannot stop at one: refused in one line.
    let other = tempfile::tempdir().unwrap();
    let (output, _) = run_double_with(
        other.path(),
        "{}",
        &[
            "--num-prompts",
            "1",
            "--engine-arg",
            "skip_tokenizer_init=true",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("names no end token"), "{err}");
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

/// `doctor` for the engines this machine has, through the engine environment.
fn doctor(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_enginebench"));
    command
        .arg("doctor")
        .args(args)
        .env("VIRTUAL_ENV", venv())
        .env("VLLM_CPU_KVCACHE_SPACE", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

/// Asserts that `out` is these lines, in this order: each starts with its
/// expected text (a tail may name this machine's paths and versions).
fn assert_lines(out: &str, expected: &[String]) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        expected.len(),
        "expected {expected:#?}\ngot\n{out}"
    );
    for (line, want) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(want.as_str()),
            "expected {want:?}\ngot {line:?} in\n{out}"
        );
    }
}

/// The doctor's first lines for a Python engine: the build, the environment's
/// interpreter, and (in a binary that embeds Python) the embedded version.
fn python_lines(engine: &str) -> Vec<String> {
    let mut lines = vec![
        format!("[ok  ] this build: opens the {engine} engine"),
        format!("[ok  ] python: {}/bin/python (Python 3.", venv().display()),
    ];
    if cfg!(feature = "embed-python") {
        lines.push("[ok  ] embedded python: this binary embeds Python 3.".into());
    }
    lines
}

/// The last check: the GPUs the CUDA driver sees; `missing` is what none means.
fn gpus_line(missing: &str) -> String {
    match enginebench::env::gpu::probe().gpus.is_empty() {
        true => format!("[{missing}] gpus: none: "),
        false => "[ok  ] gpus: ".into(),
    }
}

#[test]
#[cfg(all(feature = "vllm", feature = "hf"))]
fn doctor_passes_the_cpu_engines_of_this_machine() {
    let model = tiny_model();
    let output = doctor(&["--engine", "vllm", "--model", &model], &[]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.contains("[ok  ] vllm package: vllm-cpu 0.32.0"),
        "{out}"
    );
    assert!(out.contains("[ok  ] engine core: process"), "{out}");
    assert!(
        out.contains("[ok  ] end of sequence: end token(s) [2]"),
        "{out}"
    );
    assert!(out.contains("[ok  ] embedded python"), "{out}");
    assert!(out.contains("a run of vllm can start"), "{out}");
    let mut expected = python_lines("vllm");
    expected.extend([
        "[ok  ] vllm package: vllm-cpu 0.32.0 (tested with vllm-cpu 0.32.0; calls read in 0.33.0)"
            .into(),
        "[ok  ] engine core: process: a separate, busy-looping process (vLLM's default)".into(),
        "[ok  ] tensor parallelism: --tp 1: 4 attention heads, 2 KV heads".into(),
        "[ok  ] end of sequence: end token(s) [2] from the model's config".into(),
        gpus_line("warn"),
        "doctor: a run of vllm can start".into(),
    ]);
    assert_lines(&out, &expected);
    assert_eq!(stderr(&output), "");
    // --tp that does not divide the attention heads cannot start.
    let output = doctor(&["--engine", "vllm", "--model", &model, "--tp", "3"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("[FAIL] tensor parallelism: --tp 3 does not divide"));
    // The inline engine core, and a KV cache the CPU backend would size itself.
    let output = doctor(
        &[
            "--engine",
            "vllm",
            "--model",
            &model,
            "--tp",
            "3",
            "--ignore-eos",
            "--engine-arg",
            "engine_core=inline",
        ],
        &[],
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let mut expected = python_lines("vllm");
    expected.extend([
        "[ok  ] vllm package: vllm-cpu 0.32.0".into(),
        "[ok  ] engine core: inline: this process, one step at a time (--engine-arg engine_core)"
            .into(),
        "[FAIL] tensor parallelism: --tp 3 does not divide the model's 4 attention heads".into(),
        gpus_line("warn"),
    ]);
    assert_lines(&out, &expected);
    assert_eq!(
        stderr(&output),
        "error: doctor: 1 check(s) failed: a run of vllm cannot start\n"
    );
    let output = doctor(&["--engine", "hf", "--model", &model], &[]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.contains("[ok  ] transformers package: transformers 5.19.0"),
        "{out}"
    );
    let mut expected = python_lines("hf");
    expected.extend([
        "[ok  ] transformers package: transformers 5.19.0 (tested with 5.19.0)".into(),
        "[ok  ] torch package: torch 2.13.0".into(),
        "[ok  ] psutil package: psutil ".into(),
        format!("[ok  ] model: {model}"),
        gpus_line("warn"),
        "doctor: a run of hf can start".into(),
    ]);
    assert_lines(&out, &expected);
}

#[test]
#[cfg(feature = "trtllm-pytorch")]
fn doctor_reports_a_missing_tensorrt_llm_and_reads_the_double() {
    let output = doctor(
        &["--engine", "trtllm-pytorch", "--model", &tiny_model()],
        &[],
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("[FAIL] tensorrt_llm package: not installed"),
        "{out}"
    );
    let mut expected = python_lines("trtllm-pytorch");
    expected.extend([
        "[FAIL] tensorrt_llm package: not installed: pip install tensorrt_llm from NVIDIA's index \
         (pypi.nvidia.com), or use its container"
            .into(),
        // TensorRT-LLM needs a GPU.
        gpus_line("FAIL"),
    ]);
    assert_lines(&out, &expected);
    let failed = 1 + usize::from(expected.last().unwrap().starts_with("[FAIL]"));
    assert_eq!(
        stderr(&output),
        format!("error: doctor: {failed} check(s) failed: a run of trtllm-pytorch cannot start\n")
    );
    // The LLM API's test double: a run can start (the tests run it), without a GPU.
    let doubles = repo().join("tests/python_doubles");
    let output = doctor(
        &[
            "--engine",
            "trtllm-pytorch",
            "--model",
            &tiny_model(),
            "--engine-arg",
            "single_process=true",
        ],
        &[("PYTHONPATH", doubles.to_str().unwrap())],
    );
    let out = stdout(&output);
    assert!(
        out.contains("[ok  ] tensorrt_llm package: tensorrt_llm 0.0.0+test-double"),
        "{out}"
    );
    assert!(
        out.contains("[ok  ] worker: in this process (TLLM_WORKER_USE_SINGLE_PROCESS=1)"),
        "{out}"
    );
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let mut expected = python_lines("trtllm-pytorch");
    expected.extend([
        "[ok  ] tensorrt_llm package: tensorrt_llm 0.0.0+test-double (the test double of the \
         LLM API; it measures nothing)"
            .into(),
        "[ok  ] worker: in this process (TLLM_WORKER_USE_SINGLE_PROCESS=1)".into(),
        format!("[ok  ] model: {}", tiny_model()),
        gpus_line("warn"),
        "doctor: a run of trtllm-pytorch can start".into(),
    ]);
    assert_lines(&out, &expected);
    // single_process needs TP 1.
    let output = doctor(
        &[
            "--engine",
            "trtllm-pytorch",
            "--model",
            &tiny_model(),
            "--tp",
            "2",
            "--engine-arg",
            "single_process=true",
        ],
        &[("PYTHONPATH", doubles.to_str().unwrap())],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("[FAIL] worker: single_process=true needs --tp 1"),
        "{}",
        stdout(&output)
    );
}

/// Ray on one machine, on loopback only: no usage statistics, and the node's
/// address is 127.0.0.1 (Ray's "no cluster" mode, which it picks by itself on
/// macOS and Windows).
#[cfg(feature = "vllm")]
const RAY_LOOPBACK: [(&str, &str); 2] = [
    ("RAY_USAGE_STATS_ENABLED", "0"),
    ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0"),
];

/// A local Ray cluster on loopback, started by a helper Python process with
/// `ray.init` (so `ray.shutdown` stops exactly the processes it started, no
/// broad `ray stop`), for as long as this value lives.
#[cfg(feature = "vllm")]
struct RayCluster {
    helper: std::process::Child,
    address: String,
    /// Ray (2.60) authenticates its clients; this cluster's token, for them.
    token: String,
    temp_dir: PathBuf,
}

#[cfg(feature = "vllm")]
impl RayCluster {
    fn start(temp_dir: PathBuf) -> Self {
        use std::io::BufRead;
        const HELPER: &str = r#"
import os, secrets, sys
os.environ["RAY_AUTH_MODE"] = "token"
os.environ["RAY_AUTH_TOKEN"] = token = secrets.token_hex(32)
import ray
ray.init(num_cpus=2, include_dashboard=False, _temp_dir=sys.argv[1], _node_ip_address="127.0.0.1", log_to_driver=False)
print(ray.get_runtime_context().gcs_address, token, flush=True)
sys.stdin.read()
ray.shutdown()
"#;
        let mut helper = Command::new(venv().join("bin/python"))
            .args(["-c", HELPER, temp_dir.to_str().unwrap()])
            .envs(RAY_LOOPBACK)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the Ray helper starts");
        let mut line = String::new();
        std::io::BufReader::new(helper.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let (address, token) = line.trim().split_once(' ').unwrap_or_default();
        assert!(address.starts_with("127.0.0.1:"), "Ray's address: {line:?}");
        Self {
            helper,
            address: address.to_string(),
            token: token.to_string(),
            temp_dir,
        }
    }

    /// Processes whose command line names the cluster's folder: Ray's own.
    fn processes(&self) -> Vec<String> {
        let needle = self.temp_dir.to_string_lossy().into_owned();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|entry| {
                let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
                let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                text.contains(&needle)
                    .then(|| format!("{}: {text}", entry.file_name().to_string_lossy()))
            })
            .collect()
    }

    /// Stops the cluster and waits until none of its processes is left.
    fn stop(mut self) -> Vec<String> {
        self.shut_down();
        for _ in 0..100 {
            if self.processes().is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.processes()
    }

    /// The helper calls `ray.shutdown()` when its stdin closes.
    fn shut_down(&mut self) {
        drop(self.helper.stdin.take());
        let _ = self.helper.wait();
    }
}

#[cfg(feature = "vllm")]
impl Drop for RayCluster {
    /// Also when a test fails half-way.
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// vLLM's Ray executor (`distributed_executor_backend=ray`) on a local Ray
/// cluster: vLLM connects to it, then refuses, because its CPU platform has no
/// Ray device (platforms/cpu.py defines no `ray_device_key`, in 0.32 as in
/// 0.33). The doctor says so beforehand; every process the cluster started is
/// gone afterwards.
#[test]
#[cfg(feature = "vllm")]
fn vllm_ray_executor_on_a_local_cluster_is_refused_on_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = RayCluster::start(dir.path().join("ray"));
    assert!(!cluster.processes().is_empty(), "the cluster runs");
    let model = tiny_model();
    let ray = [
        ("RAY_ADDRESS", cluster.address.as_str()),
        ("RAY_AUTH_MODE", "token"),
        ("RAY_AUTH_TOKEN", cluster.token.as_str()),
        RAY_LOOPBACK[0],
        RAY_LOOPBACK[1],
    ];
    let args = [
        "--model",
        model.as_str(),
        "--tp",
        "2",
        "--engine-arg",
        "distributed_executor_backend=ray",
    ];
    let output = doctor(&[&["--engine", "vllm"][..], &args].concat(), &ray);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}{}", stderr(&output));
    assert!(
        out.contains(&format!(
            "[ok  ] ray cluster: {}: 1 node(s), 2 CPUs, 0 GPUs",
            cluster.address
        )),
        "{out}"
    );
    assert!(
        out.contains("[FAIL] vllm on ray: this vLLM build's platform (cpu) has no Ray device key"),
        "{out}"
    );
    let results = dir.path().join("results");
    let output = run_engine(
        &results,
        &[
            &["--engine", "vllm", "--num-prompts", "2", "--ignore-eos"][..],
            &args,
        ]
        .concat(),
        &ray,
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    // vLLM's engine core (in its own process, vLLM's default) prints the root
    // cause; the run's own error is one line.
    let err = stderr(&output);
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: engine 'vllm' could not start"),
        "{err}"
    );
    assert!(
        err.contains("current platform cpu does not support ray"),
        "{err}"
    );
    let left = cluster.stop();
    assert!(left.is_empty(), "Ray processes left running: {left:?}");
}

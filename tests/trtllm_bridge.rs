//! The `trtllm` engine end to end through the driver, its C++ bridge compiled
//! against the executor test double (`--features trtllm-test-double`). These
//! check the bridge, the awaiting thread and the engine's bookkeeping; the
//! double's timings mean nothing.
#![cfg(feature = "trtllm-test-double")]

mod trtllm_double;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use enginebench::driver::{drive, DriveOptions, RunOutcome};
use enginebench::engine::trtllm::{TrtllmEngine, TEST_DOUBLE_VERSION};
use enginebench::engine::{
    Engine, EngineError, EngineOptions, EngineRequest, Event, SamplingParams,
};
use enginebench::records::{Discard, Outcome};
use enginebench::schedule::Schedule;
use enginebench::workload::WorkItem;
use trtllm_double::{engine_dir, open, options, tokenizer_dir, within};

const LIMIT: Duration = Duration::from_secs(60);

fn item(prompt: Vec<u32>, output: u32) -> WorkItem {
    WorkItem {
        prompt_token_ids: Arc::from(prompt),
        max_output_tokens: output,
    }
}

fn run(engine: &mut TrtllmEngine, items: &[WorkItem], concurrency: Option<usize>) -> RunOutcome {
    let schedule = Schedule::all_at_once(items.len(), concurrency);
    let options = DriveOptions::ignoring_eos();
    let stop = AtomicBool::new(false);
    drive(engine, items, &schedule, &options, &mut Discard, &stop)
}

#[test]
fn requests_complete_with_their_lengths_in_order() {
    within(LIMIT, || {
        let (_dir, mut engine) = open("step_us=300\n");
        let items: Vec<WorkItem> = (0..24)
            .map(|i| item(vec![1 + i; 8 + i as usize], 1 + i % 7))
            .collect();
        let outcome = run(&mut engine, &items, Some(6));
        assert_eq!(outcome.fatal_error, None);
        for (record, item) in outcome.records.iter().zip(&items) {
            assert_eq!(record.outcome, Outcome::Completed, "{record:?}");
            assert_eq!(record.output_tokens(), u64::from(item.max_output_tokens));
            assert!(record.deliveries.iter().all(|d| d.tokens == 1));
            let times: Vec<u64> = record.deliveries.iter().map(|d| d.t_ns).collect();
            assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
            assert_eq!(record.finished_ns, times.last().copied());
        }
        engine.shutdown().unwrap();
    });
}

#[test]
fn engine_timing_and_iteration_stats_are_kept_beside_ours() {
    within(LIMIT, || {
        let (_dir, mut engine) = open("step_us=200\n");
        let outcome = run(&mut engine, &[item(vec![5; 16], 4)], None);
        let stats = outcome.records[0]
            .engine_stats
            .clone()
            .expect("engine stats");
        let timing = &stats["engine_timing"];
        assert!(timing["ttft_ms"].as_f64().unwrap() >= 0.0);
        assert!(timing["e2el_ms"].as_f64().unwrap() >= timing["ttft_ms"].as_f64().unwrap());
        assert_eq!(
            timing["last_iter"].as_i64().unwrap() - timing["first_iter"].as_i64().unwrap(),
            3
        );
        assert!(
            stats["latest_iteration"]["kv_cache"]["max_blocks"]
                .as_i64()
                .unwrap()
                > 0
        );
        let info = engine.describe();
        assert!(info
            .settings
            .contains_key("latest_iteration.active_requests"));
    });
}

#[test]
fn a_response_error_becomes_a_failed_record_and_the_run_goes_on() {
    within(LIMIT, || {
        let (_dir, mut engine) = open("step_us=200\nvocab_size=1000\n");
        let items = [
            item(vec![1, 2, 3], 3),
            item(vec![1, 5000, 3], 3),
            item(vec![4; 4], 2),
        ];
        let outcome = run(&mut engine, &items, None);
        assert_eq!(outcome.fatal_error, None);
        let outcomes: Vec<Outcome> = outcome.records.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [Outcome::Completed, Outcome::Failed, Outcome::Completed]
        );
        let error = outcome.records[1].error.as_deref().unwrap();
        assert!(error.contains("outside the vocabulary"), "{error}");
    });
}

#[test]
fn an_exception_in_enqueue_becomes_a_rejected_request() {
    within(LIMIT, || {
        let (_dir, mut engine) = open("max_input_len=16\n");
        let request = EngineRequest {
            id: 3,
            prompt_token_ids: Arc::from(vec![1u32; 17]),
            max_output_tokens: 4,
            ignore_eos: true,
            sampling: Default::default(),
        };
        match engine.submit(request) {
            Err(EngineError::Rejected(message)) => {
                assert!(message.contains("exceeds max_input_len 16"), "{message}")
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        let outcome = run(
            &mut engine,
            &[item(vec![1; 40], 2), item(vec![1; 8], 2)],
            None,
        );
        assert_eq!(outcome.records[0].outcome, Outcome::Failed);
        assert_eq!(outcome.records[1].outcome, Outcome::Completed);
    });
}

#[test]
fn an_exception_while_building_the_executor_is_an_error() {
    within(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        engine_dir(
            dir.path(),
            1,
            "fail_construct=no engine files in this directory\n",
        );
        let error = TrtllmEngine::from_options(&options(dir.path(), &[]))
            .err()
            .unwrap();
        assert!(
            error
                .0
                .contains("cannot start the executor: no engine files"),
            "{error}"
        );
        engine_dir(dir.path(), 1, "steps=3\n");
        let error = TrtllmEngine::from_options(&options(dir.path(), &[]))
            .err()
            .unwrap();
        assert!(error.0.contains("unknown key 'steps'"), "{error}");
        let missing = dir.path().join("missing");
        let error = TrtllmEngine::from_options(&options(&missing, &[]))
            .err()
            .unwrap();
        assert!(error.0.contains("config.json"), "{error}");
    });
}

#[test]
fn orchestrator_mode_passes_the_worker_to_the_executor() {
    within(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        engine_dir(dir.path(), 1, "step_us=200\n");
        let worker = dir.path().join("executorWorker");
        std::fs::write(&worker, "").unwrap();
        let args = [("worker_path", worker.to_str().unwrap())];
        let mut engine = TrtllmEngine::from_options(&options(dir.path(), &args)).unwrap();
        let mode = engine.describe().settings["parallel_mode"].clone();
        assert!(mode.starts_with("orchestrator"), "{mode}");
        let outcome = run(&mut engine, &[item(vec![1; 4], 3)], None);
        assert_eq!(outcome.records[0].outcome, Outcome::Completed);
        std::fs::remove_file(&worker).unwrap();
        let error = TrtllmEngine::from_options(&options(dir.path(), &args))
            .err()
            .unwrap();
        assert!(error.0.contains("worker_path"), "{error}");
    });
}

#[test]
fn cancel_stops_a_request_and_the_others_go_on() {
    within(LIMIT, || {
        let (_dir, mut engine) = open("step_us=1000\n");
        for id in 0..2 {
            let request = EngineRequest {
                id,
                prompt_token_ids: Arc::from(vec![1u32; 4]),
                max_output_tokens: 1000,
                ignore_eos: true,
                sampling: Default::default(),
            };
            engine.submit(request).unwrap();
        }
        let mut events = Vec::new();
        while events.len() < 4 {
            engine.poll(Duration::from_millis(50), &mut events).unwrap();
        }
        engine.cancel(0).unwrap();
        engine.cancel(0).unwrap(); // twice is harmless
        let cancelled_at = Instant::now();
        while cancelled_at.elapsed() < Duration::from_millis(30) {
            engine.poll(Duration::from_millis(10), &mut events).unwrap();
        }
        events.clear();
        for _ in 0..10 {
            engine.poll(Duration::from_millis(10), &mut events).unwrap();
        }
        assert!(events
            .iter()
            .all(|e| !matches!(e, Event::Tokens { id: 0, .. })));
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::Tokens { id: 1, .. })));
        let started = Instant::now();
        engine.shutdown().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "shutdown took {:?}",
            started.elapsed()
        );
    });
}

#[test]
fn an_interrupted_run_cancels_what_is_in_flight() {
    within(LIMIT, || {
        let (_dir, mut engine) = open("step_us=2000\n");
        let items: Vec<WorkItem> = (0..4).map(|_| item(vec![1; 4], 10_000)).collect();
        let schedule = Schedule::all_at_once(items.len(), None);
        let options = DriveOptions::ignoring_eos();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let outcome = drive(
            &mut engine,
            &items,
            &schedule,
            &options,
            &mut Discard,
            &stop,
        );
        assert!(outcome.interrupted);
        assert!(outcome
            .records
            .iter()
            .all(|r| r.outcome == Outcome::Cancelled));
        assert!(outcome.records.iter().all(|r| r.output_tokens() > 0));
        engine.shutdown().unwrap();
    });
}

#[test]
fn shutdown_is_prompt_idempotent_and_final() {
    within(LIMIT, || {
        let (_dir, mut engine) = open("step_us=500\n");
        let request = |id| EngineRequest {
            id,
            prompt_token_ids: Arc::from(vec![1u32; 4]),
            max_output_tokens: 100_000,
            ignore_eos: true,
            sampling: Default::default(),
        };
        for id in 0..8 {
            engine.submit(request(id)).unwrap();
        }
        let started = Instant::now();
        engine.shutdown().unwrap();
        engine.shutdown().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "shutdown took {:?}",
            started.elapsed()
        );
        assert!(matches!(
            engine.submit(request(9)),
            Err(EngineError::Fatal(_))
        ));
        // Dropping after shutdown does nothing more.
    });
}

#[test]
fn the_double_never_calls_itself_tensorrt_llm() {
    within(LIMIT, || {
        let (_dir, engine) = open("");
        let info = engine.describe();
        assert_eq!(info.name, "trtllm");
        assert_eq!(info.version, TEST_DOUBLE_VERSION);
        assert!(info.simulated, "the double's figures are a model");
        let text = serde_json::to_string(&info).unwrap().to_lowercase();
        assert!(!text.contains("tensorrt"), "{text}");
        assert!(text.contains("test double"), "{text}");
    });
}

/// The command line: the engine through the whole binary.
mod cli {
    use super::*;
    use std::process::Command;

    fn enginebench(args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_enginebench"))
            .args(args)
            .output()
            .expect("the binary runs")
    }

    #[test]
    fn a_run_writes_results_with_the_engine_timing() {
        let dir = tempfile::tempdir().unwrap();
        let engine = dir.path().join("engine");
        std::fs::create_dir(&engine).unwrap();
        engine_dir(&engine, 1, "step_us=200\n");
        let results = dir.path().join("results");
        let output = enginebench(&[
            "run",
            "--engine",
            "trtllm",
            "--model",
            engine.to_str().unwrap(),
            "--num-prompts",
            "6",
            "--random-input-len",
            "16",
            "--random-output-len",
            "5",
            "--random-vocab-range",
            "0:1000",
            "--ignore-eos",
            "--engine-arg",
            "max_batch_size=4",
            "--save-result",
            "--save-detailed",
            "--result-dir",
            results.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("simulated"), "{stdout}");
        assert!(!stdout.to_lowercase().contains("tensorrt"), "{stdout}");
        let mut files: Vec<_> = std::fs::read_dir(&results)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let detailed = files
            .iter()
            .find(|p| p.to_string_lossy().ends_with(".jsonl"))
            .unwrap();
        let records = enginebench::records::read_jsonl(detailed).unwrap();
        assert_eq!(records.len(), 6);
        assert!(records.iter().all(|r| r.output_tokens() == 5));
        assert!(records.iter().all(|r| r.engine_stats.is_some()));
        let result = files
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "json"))
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(result).unwrap()).unwrap();
        assert_eq!(json["engine"]["version"], TEST_DOUBLE_VERSION);
        assert_eq!(json["engine"]["settings"]["max_batch_size"], "4");
    }

    #[test]
    fn a_tp_that_does_not_match_the_engine_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        engine_dir(dir.path(), 1, "");
        let output = enginebench(&[
            "run",
            "--engine",
            "trtllm",
            "--model",
            dir.path().to_str().unwrap(),
            "--tp",
            "2",
            "--num-prompts",
            "1",
        ]);
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("--tp 2 does not match the engine's tensor parallel size 1"),
            "{stderr}"
        );
    }

    #[test]
    fn a_tp2_engine_without_mpirun_or_worker_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        engine_dir(dir.path(), 2, "");
        let output = enginebench(&[
            "run",
            "--engine",
            "trtllm",
            "--model",
            dir.path().to_str().unwrap(),
            "--tp",
            "2",
        ]);
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("mpirun -n 2"), "{stderr}");
    }

    #[test]
    fn a_rank_that_cannot_enqueue_serves_and_exits_quietly() {
        let dir = tempfile::tempdir().unwrap();
        engine_dir(dir.path(), 1, "serves_only=1\n");
        let output = enginebench(&[
            "run",
            "--engine",
            "trtllm",
            "--model",
            dir.path().to_str().unwrap(),
            "--num-prompts",
            "3",
            "--random-vocab-range",
            "0:1000",
            "--ignore-eos",
        ]);
        assert_eq!(output.status.code(), Some(0));
        assert!(output.stdout.is_empty(), "only the leader reports");
    }

    fn doctor(args: &[&str]) -> std::process::Output {
        let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv");
        Command::new(env!("CARGO_BIN_EXE_enginebench"))
            .arg("doctor")
            .args(args)
            .env_remove("TRTLLM_ROOT")
            .env("VIRTUAL_ENV", venv)
            .output()
            .expect("the binary runs")
    }

    /// The doctor finds the install this binary was linked against (the
    /// double), resolves and loads its libraries, and reads the engine.
    #[test]
    fn doctor_loads_the_installed_libraries_and_reads_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        engine_dir(dir.path(), 1, "");
        let model = dir.path().to_str().unwrap();
        let output = doctor(&["--engine", "trtllm", "--model", model, "--ignore-eos"]);
        let out = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{out}");
        assert!(
            out.contains("[ok  ] this build: opens the trtllm engine"),
            "{out}"
        );
        assert!(out.contains("+testdouble at"), "{out}");
        assert!(out.contains("[ok  ] load: "), "{out}");
        assert!(out.contains("exports initTrtLlmPlugins"), "{out}");
        for wheel in ["libcudart.so", "libcublas.so", "libnccl.so"] {
            let line = out
                .lines()
                .find(|l| l.contains(&format!("] {wheel}")))
                .unwrap_or_else(|| panic!("{out}"));
            assert!(line.contains("rpath"), "{line}");
        }
        assert!(out.contains("[ok  ] engine: "), "{out}");
        assert!(
            out.contains("[warn] gpus: "),
            "the double needs no GPU: {out}"
        );
        // --tp against the engine, and the end token, are failures.
        let output = doctor(&["--engine", "trtllm", "--model", model, "--tp", "2"]);
        let out = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{out}");
        assert!(
            out.contains("[FAIL] engine: --tp 2 does not match"),
            "{out}"
        );
        assert!(
            out.contains("[FAIL] end of sequence: no end token known"),
            "{out}"
        );
    }

    #[test]
    fn a_missing_model_is_a_usage_error() {
        let output = enginebench(&["run", "--engine", "trtllm", "--num-prompts", "1"]);
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains("--model ENGINE_DIR"));
    }
}

/// What the double's request log says the executor was asked for.
fn logged_requests(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Submits one request and polls until it ends: (tokens delivered, engine stats).
fn run_one(engine: &mut TrtllmEngine, request: EngineRequest) -> (u32, serde_json::Value) {
    let id = request.id;
    engine.submit(request).unwrap();
    let (mut tokens, mut stats) = (0, serde_json::Value::Null);
    let mut events = Vec::new();
    loop {
        engine.poll(Duration::from_millis(20), &mut events).unwrap();
        for event in events.drain(..) {
            match event {
                Event::Tokens {
                    id: got,
                    tokens: n,
                    finished,
                } if got == id => {
                    tokens += n;
                    if finished {
                        return (tokens, stats);
                    }
                }
                Event::EngineStats { stats: s, .. } => stats = s,
                Event::Failed { reason, .. } => panic!("failed: {reason}"),
                _ => {}
            }
        }
    }
}

fn request(id: u64, output: u32, ignore_eos: bool, sampling: SamplingParams) -> EngineRequest {
    EngineRequest {
        id,
        prompt_token_ids: Arc::from(vec![11u32; 6]),
        max_output_tokens: output,
        ignore_eos,
        sampling,
    }
}

/// An engine whose "model" emits its end token (2) as its 4th output token,
/// with the end token known from a tokenizer folder's generation_config.json.
fn eos_engine(dir: &std::path::Path, eos: serde_json::Value) -> (TrtllmEngine, std::path::PathBuf) {
    let log = dir.join("requests.jsonl");
    let engine = dir.join("engine");
    std::fs::create_dir_all(&engine).unwrap();
    engine_dir(
        &engine,
        1,
        &format!(
            "step_us=200\neos_token=2\neos_after=3\nrequest_log={}\n",
            log.display()
        ),
    );
    let tokenizer = tokenizer_dir(&dir.join("hf-model"), eos);
    let options = EngineOptions {
        tokenizer: Some(tokenizer),
        ignore_eos: false,
        ..options(&engine, &[])
    };
    (TrtllmEngine::from_options(&options).unwrap(), log)
}

#[test]
fn the_models_end_token_stops_a_request_unless_eos_is_ignored() {
    within(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        let (mut engine, log) = eos_engine(dir.path(), serde_json::json!(2));
        let (tokens, stats) = run_one(
            &mut engine,
            request(0, 10, false, SamplingParams::default()),
        );
        assert_eq!(tokens, 3, "stops at the end token, which is not returned");
        assert_eq!(stats["finish_reason"], "end_id");
        let (tokens, stats) = run_one(&mut engine, request(1, 10, true, SamplingParams::default()));
        assert_eq!(tokens, 10, "--ignore-eos runs to max tokens");
        assert_eq!(stats["finish_reason"], "length");
        let logged = logged_requests(&log);
        assert_eq!(
            logged[0]["end_id"], 2,
            "endId set from generation_config.json"
        );
        assert_eq!(logged[0]["pad_id"], 2, "no pad token: the end token pads");
        assert_eq!(logged[1]["end_id"], -1, "ignoring EOS sets endId -1");
        let info = engine.describe();
        assert!(
            info.settings["end_id"].starts_with("2 (from "),
            "{:?}",
            info.settings
        );
        engine.shutdown().unwrap();
    });
}

#[test]
fn further_end_tokens_become_stop_words() {
    within(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        // Llama 3 style: several end tokens; the model emits the second one.
        let (mut engine, log) = eos_engine(dir.path(), serde_json::json!([5, 2]));
        let (tokens, stats) = run_one(
            &mut engine,
            request(0, 10, false, SamplingParams::default()),
        );
        assert_eq!(stats["finish_reason"], "stop_words");
        assert_eq!(tokens, 4, "a stop word is returned, unlike the end token");
        assert_eq!(logged_requests(&log)[0]["end_id"], 5);
        engine.shutdown().unwrap();
    });
}

#[test]
fn respecting_eos_without_a_known_end_token_is_refused() {
    within(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        engine_dir(dir.path(), 1, "");
        let respecting = EngineOptions {
            ignore_eos: false,
            ..options(dir.path(), &[])
        };
        let error = TrtllmEngine::from_options(&respecting).err().unwrap();
        assert!(error.0.contains("--tokenizer"), "{error}");
        assert!(error.0.contains("--ignore-eos"), "{error}");
        assert!(!error.0.contains('\n'));
        // An explicit end token is enough.
        let explicit = EngineOptions {
            ignore_eos: false,
            ..options(dir.path(), &[("end_id", "2")])
        };
        assert!(TrtllmEngine::from_options(&explicit).is_ok());
    });
}

#[test]
fn sampling_reaches_the_executor_as_sampling() {
    within(LIMIT, || {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.jsonl");
        engine_dir(
            dir.path(),
            1,
            &format!("step_us=200\nrequest_log={}\n", log.display()),
        );
        let mut engine = TrtllmEngine::from_options(&options(dir.path(), &[])).unwrap();
        let sampled = SamplingParams {
            temperature: 0.8,
            top_p: 1.0,
            top_k: None,
            seed: Some(3),
        };
        run_one(&mut engine, request(0, 4, true, sampled.clone()));
        run_one(&mut engine, request(1, 4, true, SamplingParams::default()));
        run_one(
            &mut engine,
            request(
                2,
                4,
                true,
                SamplingParams {
                    top_k: Some(40),
                    ..sampled.clone()
                },
            ),
        );
        let logged = logged_requests(&log);
        // The executor's defaults (topK 0, topP 0) are greedy: top_p must be passed.
        assert_eq!(logged[0]["decoding"], "sampling", "{}", logged[0]);
        assert_eq!(logged[0]["top_p_set"], true);
        assert_eq!(logged[0]["seed"], 3);
        assert_eq!(logged[1]["decoding"], "greedy", "{}", logged[1]);
        assert_eq!(logged[2]["top_k"], 40);
        // The executor rejects top-p 0 when sampling, as its SamplingConfig does.
        let bad = SamplingParams {
            top_p: 0.0,
            ..sampled
        };
        match engine.submit(request(3, 4, true, bad)) {
            Err(EngineError::Rejected(why)) => assert!(why.contains("topP"), "{why}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
        engine.shutdown().unwrap();
    });
}

/// The binary links the double's libraries and, directly, the CUDA libraries
/// they need, with an rpath to each folder; the libraries' own run path is only
/// `$ORIGIN`, so without that the binary would not start.
#[test]
fn the_binary_links_what_the_library_needs_with_an_rpath() {
    use enginebench::doctor::libsearch::read_dynamic;
    let binary = read_dynamic(std::path::Path::new(env!("CARGO_BIN_EXE_enginebench"))).unwrap();
    let library_dir = std::path::PathBuf::from(env!("ENGINEBENCH_TRTLLM_LIBS"));
    let library = read_dynamic(&library_dir.join("libtensorrt_llm.so")).unwrap();
    assert_eq!(library.runpath, ["$ORIGIN"]);
    let wheel_libraries: Vec<&String> = library
        .needed
        .iter()
        .filter(|n| {
            ["libcudart", "libcublas", "libnccl"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect();
    assert_eq!(wheel_libraries.len(), 3, "{:?}", library.needed);
    for name in wheel_libraries {
        assert!(
            binary.needed.contains(name),
            "{name} not in {:?}",
            binary.needed
        );
    }
    assert!(binary.needed.contains(&"libtensorrt_llm.so".to_string()));
    assert!(
        binary
            .runpath
            .iter()
            .any(|p| p.ends_with("nvidia/cu13/lib")),
        "{:?}",
        binary.runpath
    );
    assert!(binary
        .runpath
        .iter()
        .any(|p| std::path::Path::new(p) == library_dir));
}

/// Asked to hand over answers, the engine gathers the ids the executor
/// streams (the double's greedy model) and hands each request's whole answer
/// over when it finishes; a conversation then carries them into its next
/// rounds, whose prompts grow by answer and question.
#[test]
fn answers_are_handed_over_and_conversations_carry_them() {
    use enginebench::driver::{drive_workload, NoProgress};
    use enginebench::workload::{Turn, Workload};

    within(LIMIT, || {
        let (_dir, mut engine) = open("step_us=300\n");
        engine.hand_over_answers().unwrap();
        engine
            .submit(EngineRequest {
                id: 5,
                prompt_token_ids: Arc::from(vec![3u32; 10]),
                max_output_tokens: 4,
                ignore_eos: true,
                sampling: Default::default(),
            })
            .unwrap();
        let mut events = Vec::new();
        let started = Instant::now();
        while !events
            .iter()
            .any(|e| matches!(e, Event::Tokens { finished: true, .. }))
        {
            assert!(started.elapsed() < LIMIT);
            engine.poll(Duration::from_millis(20), &mut events).unwrap();
        }
        let answers: Vec<&Vec<u32>> = events
            .iter()
            .filter_map(|e| match e {
                Event::Answer { id: 5, token_ids } => Some(token_ids),
                _ => None,
            })
            .collect();
        // The double's greedy model (executor_double.cc, modelToken): token p of
        // a prompt ending in 3 is 3 + (3 * 1000003 + p) mod (vocab 32000 - 3).
        let expected: Vec<u32> = (0..4).map(|p| 3 + (3 * 1_000_003 + p) % 31_997).collect();
        assert_eq!(answers, [&expected], "{events:?}");

        // 2 users, 3 rounds: a 6-token first prompt, then 2-token questions.
        let mut w = Workload::default();
        for user in 0..2 {
            for round in 0..3 {
                let len = if round == 0 { 6 } else { 2 };
                w.items.push(item(vec![100 + user; len], 3));
                w.reused_prefix.push(0);
                w.turns.push(Turn {
                    user,
                    round,
                    think_time: Duration::ZERO,
                    fixed_answer: None,
                });
            }
        }
        let outcome = drive_workload(
            &mut engine,
            &w,
            &Schedule::all_at_once(2, Some(2)),
            &DriveOptions {
                id_base: 100,
                ..DriveOptions::ignoring_eos()
            },
            &mut Discard,
            &AtomicBool::new(false),
            &mut NoProgress,
        );
        assert_eq!(outcome.fatal_error, None);
        let inputs: Vec<u32> = outcome.records.iter().map(|r| r.input_tokens).collect();
        assert_eq!(inputs, [6, 11, 16, 6, 11, 16], "{:?}", outcome.records);
        assert!(outcome
            .records
            .iter()
            .all(|r| r.outcome == Outcome::Completed));
        engine.shutdown().unwrap();
    });
}

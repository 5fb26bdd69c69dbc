//! Bad input: every case exits with code 2 and one line on stderr that names
//! the problem, and never panics.

mod common;

use std::path::Path;

use common::{enginebench, stderr, train_tokenizer, FAST_SIM};

/// Runs the fast sim command with `extra` flags and checks the usage error.
fn assert_usage_error(extra: &[&str], expected: &str) {
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(extra);
    let output = enginebench(&args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{extra:?}: stderr was {err}");
    assert!(!err.contains("panicked"), "{extra:?} panicked: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{extra:?}: not one line: {err}"
    );
    assert!(
        err.contains(expected),
        "{extra:?}: expected '{expected}' in: {err}"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn flags_with_bad_values() {
    let cases: &[(&[&str], &str)] = &[
        (&["--engine", "nope"], "unknown engine 'nope'"),
        (&["--max-concurrency", "0"], "'0' is not a positive integer"),
        (
            &["--max-concurrency", "-4"],
            "'-4' is not a positive integer",
        ),
        (&["--max-concurrency", "16,,64"], "empty item"),
        (&["--request-rate", "10/h"], "unknown unit 'h'"),
        (&["--request-rate", "fast"], "--request-rate 'fast'"),
        (&["--burstiness", "0"], "--burstiness"),
        (&["--num-prompts", "0"], "--num-prompts must be at least 1"),
        (
            &["--random-range-ratio", "1.5"],
            "--random-range-ratio must be in [0, 1)",
        ),
        (
            &["--random-vocab-range", "9:3"],
            "--random-vocab-range '9:3'",
        ),
        (&["--goodput", "ttft=500"], "expected KEY:MS"),
        (&["--goodput", "itl:5"], "unknown metric"),
        (&["--goodput", "tpot:-1"], "positive number of milliseconds"),
        (
            &["--percentile-metrics", "ttft,speed"],
            "unknown metric 'speed'",
        ),
        (
            &["--metric-percentiles", "101"],
            "'101' is not a percentile",
        ),
        (&["--engine-arg", "max_batch_size"], "expected KEY=VALUE"),
        (
            &["--engine-arg", "batch=4"],
            "unknown sim engine arg 'batch'",
        ),
        (
            &["--engine-arg", "max_batch_size=0"],
            "expected a positive integer",
        ),
        (&["--tp", "2"], "does not model tensor parallelism"),
        (&["--tp", "0"], "--tp must be at least 1"),
        (
            &["--max-failures", "0"],
            "--max-failures must be at least 1",
        ),
        (
            &["--first-token-timeout", "0"],
            "--first-token-timeout must be a positive number of seconds",
        ),
        (
            &["--connect-timeout", "inf"],
            "--connect-timeout must be a positive number of seconds",
        ),
        (&["--no-such-flag"], "--no-such-flag"),
        (
            &["--random-input-len", "8000", "--random-output-len", "500"],
            "exceeds the model's limit of 8192",
        ),
        (
            &["--random-vocab-range", "0:40000"],
            "outside the model's vocabulary of 32000",
        ),
        (&["--dataset-name", "prompts"], "needs --dataset-path"),
        (
            &[
                "--dataset-name",
                "sharegpt",
                "--dataset-path",
                "/no/such/file.json",
            ],
            "dataset file not found",
        ),
    ];
    for (extra, expected) in cases {
        assert_usage_error(extra, expected);
    }
}

#[test]
fn bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = write(d, "empty.jsonl", "");
    let malformed = write(
        d,
        "bad.jsonl",
        "{\"prompt_token_ids\": [1, 2]}\n{\"prompt_token_ids\": [1,\n",
    );
    let text_only = write(d, "text.jsonl", "{\"prompt\": \"the engine\"}\n");
    let not_json = write(d, "sharegpt.json", "[{\"conversations\": ");
    let no_pairs = write(
        d,
        "sharegpt-empty.json",
        "[{\"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}]}]",
    );
    let bad_tokenizer = write(d, "tokenizer-bad.json", "{\"model\": 5}");
    let tokenizer = train_tokenizer(d);
    let tokenizer = tokenizer.to_str().unwrap();
    let blocker = write(d, "not-a-dir", "x");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--dataset-name", "prompts", "--dataset-path", &empty],
            "holds no prompts",
        ),
        (
            vec!["--dataset-name", "prompts", "--dataset-path", &malformed],
            "bad.jsonl:2",
        ),
        (
            vec!["--dataset-name", "prompts", "--dataset-path", &text_only],
            "text prompts need --tokenizer",
        ),
        (
            vec!["--dataset-name", "sharegpt", "--dataset-path", &not_json],
            "needs --tokenizer",
        ),
        (
            vec![
                "--dataset-name",
                "sharegpt",
                "--dataset-path",
                &not_json,
                "--tokenizer",
                tokenizer,
            ],
            "is not valid",
        ),
        (
            vec![
                "--dataset-name",
                "sharegpt",
                "--dataset-path",
                &no_pairs,
                "--tokenizer",
                tokenizer,
            ],
            "no usable conversation",
        ),
        (
            vec![
                "--dataset-name",
                "prompts",
                "--dataset-path",
                &text_only,
                "--tokenizer",
                &bad_tokenizer,
            ],
            "cannot load tokenizer",
        ),
        (
            vec![
                "--dataset-name",
                "prompts",
                "--dataset-path",
                &text_only,
                "--tokenizer",
                "/no/tok.json",
            ],
            "tokenizer not found",
        ),
        (
            vec!["--save-result", "--result-dir", &blocker],
            "is not writable",
        ),
        (
            vec!["--save-result", "--result-filename", "a/b.json"],
            "give a file name, not a path",
        ),
    ];
    for (extra, expected) in &cases {
        assert_usage_error(extra, expected);
    }
}

/// Runs `args` with stdout already closed, as `enginebench ... | head -0` would.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_enginebench"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_is_a_one_line_error_and_the_results_are_still_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&["--max-concurrency", "2,4", "--save-result", "--quiet"]);
    args.extend_from_slice(&["--result-filename", "r.json", "--result-dir"]);
    args.push(dir.path().to_str().unwrap());
    let output = with_closed_stdout(&args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let last = err.trim_end().lines().last().unwrap();
    assert!(last.starts_with("error: cannot write to stdout: "), "{err}");
    // The level the terminal failed in is still saved; the sweep stops there.
    assert!(dir.path().join("r-concurrency2.json").is_file());
    assert!(!dir.path().join("r-concurrency4.json").exists());
    let csv = std::fs::read_to_string(dir.path().join("r.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");

    let result = dir.path().join("r-concurrency2.json");
    let result = result.to_str().unwrap();
    for command in [
        &["compare", result, result][..],
        &["check", "--against", result, result],
    ] {
        let output = with_closed_stdout(command);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{command:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{command:?}: {err}");
        assert!(err.starts_with("error: cannot write to stdout: "), "{err}");
    }
}

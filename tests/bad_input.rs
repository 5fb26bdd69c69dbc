//! Bad input: every case exits with code 2 and one line on stderr that names
//! the problem, and never panics.

mod common;

use std::path::Path;

use common::{assert_one_line_usage_error, enginebench, stderr, train_tokenizer, FAST_SIM};

/// Runs the fast sim command with `extra` flags and checks the usage error.
fn assert_usage_error(extra: &[&str], expected: &str) {
    assert_one_line_usage_error(&sim_args(extra), expected);
}

/// The fast sim command with `extra` flags; without its random-prompt
/// lengths when `extra` names another dataset (they would be warned about).
fn sim_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    if extra.contains(&"--dataset-name") {
        for flag in ["--random-input-len", "--random-output-len"] {
            let at = args.iter().position(|a| *a == flag).unwrap();
            args.drain(at..at + 2);
        }
    }
    args.extend_from_slice(extra);
    args
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
        (&["--num-prompts", "0"], "--num-prompts '0'"),
        (
            &["--random-range-ratio", "1.5"],
            "--random-range-ratio '1.5': expected a number in [0, 1)",
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
        (&["--tp", "0"], "--tp '0'"),
        (&["--max-failures", "0"], "--max-failures '0'"),
        (
            &["--first-token-timeout", "0"],
            "--first-token-timeout '0': expected a number in (0, 1000000]",
        ),
        (
            &["--connect-timeout", "inf"],
            "--connect-timeout 'inf': expected a number in (0, 1000000]",
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

/// A closed stdout stops neither the measurement nor changes an exit
/// code: every level is written and the gate's answer is kept.
#[test]
fn a_closed_stdout_changes_no_exit_code_and_every_level_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&["--max-concurrency", "2,4", "--save-result", "--quiet"]);
    args.extend_from_slice(&["--result-filename", "r.json", "--result-dir"]);
    args.push(dir.path().to_str().unwrap());
    // Five trials, so that `check` below can judge (fewer exit 3).
    args.extend_from_slice(&["--trials", "5"]);
    let output = with_closed_stdout(&args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("error"), "{err}");
    assert!(dir.path().join("r-concurrency2.json").is_file());
    assert!(dir.path().join("r-concurrency4.json").is_file());
    let csv = std::fs::read_to_string(dir.path().join("r.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");

    let result = dir.path().join("r-concurrency2.json");
    let result = result.to_str().unwrap();
    for command in [
        &["compare", result, result][..],
        &["check", "--against", result, result],
    ] {
        let output = with_closed_stdout(command);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{command:?}: {err}");
        assert!(!err.contains("panicked"), "{command:?}: {err}");
    }
}

/// Class 1: every number from a flag is range-checked where it is parsed;
/// the error names the flag, the value and the accepted range.
#[test]
fn numbers_out_of_range_name_the_flag_and_the_range() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "--request-rate",
            "1e-300",
            "requests per second in [0.001, 10000000]",
        ),
        (
            "--request-rate",
            "1e300",
            "requests per second in [0.001, 10000000]",
        ),
        ("--request-rate", "nan", "requests per second in"),
        ("--request-rate", "-5", "requests per second in"),
        ("--request-rate", "0", "requests per second in"),
        ("--request-rate", "-inf", "requests per second in"),
        ("--burstiness", "1e300", "in [0.001, 1000]"),
        ("--burstiness", "-1", "in [0.001, 1000]"),
        ("--burstiness", "nan", "in [0.001, 1000]"),
        ("--burstiness", "inf", "in [0.001, 1000]"),
        ("--burstiness", "1e-300", "in [0.001, 1000]"),
        (
            "--num-prompts",
            "18446744073709551616",
            "an integer in 1..=",
        ),
        ("--num-prompts", "-3", "an integer in 1..="),
        ("--num-prompts", "1.5", "an integer in 1..="),
        ("--num-warmups", "-1", "--num-warmups '-1'"),
        ("--num-warmups", "1e3", "--num-warmups '1e3'"),
        (
            "--random-input-len",
            "4294967295",
            "an integer in 1..=134217728",
        ),
        (
            "--random-input-len",
            "4294967296",
            "an integer in 1..=134217728",
        ),
        ("--random-input-len", "0", "an integer in 1..=134217728"),
        ("--random-output-len", "0", "an integer in 1..=134217728"),
        (
            "--random-output-len",
            "99999999999",
            "an integer in 1..=134217728",
        ),
        (
            "--random-prefix-len",
            "4294967295",
            "an integer in 0..=134217728",
        ),
        ("--random-prefix-len", "-1", "an integer in 0..=134217728"),
        ("--random-range-ratio", "nan", "a number in [0, 1)"),
        ("--random-range-ratio", "-0.1", "a number in [0, 1)"),
        ("--random-range-ratio", "1", "a number in [0, 1)"),
        ("--sharegpt-output-len", "0", "--sharegpt-output-len '0'"),
        ("--prompts-output-len", "0", "--prompts-output-len '0'"),
        ("--shared-prefix-num-users", "0", "an integer in 1..="),
        (
            "--shared-prefix-context-len",
            "4294967295",
            "an integer in 0..=",
        ),
        (
            "--shared-prefix-question-len",
            "0",
            "--shared-prefix-question-len '0'",
        ),
        (
            "--shared-prefix-output-len",
            "0",
            "--shared-prefix-output-len '0'",
        ),
        ("--temperature", "-1", "a number in [0, 2]"),
        ("--temperature", "nan", "a number in [0, 2]"),
        ("--temperature", "1e9", "a number in [0, 2]"),
        ("--top-p", "0", "a number in (0, 1]"),
        ("--top-p", "1.5", "a number in (0, 1]"),
        ("--top-p", "-1e309", "a number in (0, 1]"),
        ("--top-k", "-1", "an integer in 1..="),
        ("--top-k", "0", "an integer in 1..="),
        ("--top-k", "1e100", "an integer in 1..="),
        ("--seed", "-1", "--seed '-1'"),
        (
            "--seed",
            "99999999999999999999999",
            "--seed '99999999999999999999999'",
        ),
        ("--tp", "99999999999", "an integer in 1..=1024"),
        ("--tp", "-2", "an integer in 1..=1024"),
        ("--trials", "0", "an integer in 1..=10000"),
        ("--trials", "100000000", "an integer in 1..=10000"),
        ("--min-duration", "-1", "a number in [0, 10000000]"),
        ("--min-duration", "1e300", "a number in [0, 10000000]"),
        ("--min-duration", "nan", "a number in [0, 10000000]"),
        ("--noise-threshold", "-1", "a number in [0, 1)"),
        ("--noise-threshold", "nan", "a number in [0, 1)"),
        ("--noise-threshold", "1", "a number in [0, 1)"),
        ("--significance-level", "0", "a number in (0, 1)"),
        ("--significance-level", "1", "a number in (0, 1)"),
        ("--confidence-level", "0", "a number in (0, 1)"),
        ("--confidence-level", "1", "a number in (0, 1)"),
        ("--confidence-level", "95", "a number in (0, 1)"),
        ("--bootstrap-resamples", "0", "an integer in 100..=1000000"),
        (
            "--bootstrap-resamples",
            "1000000000000",
            "an integer in 100..=1000000",
        ),
        ("--max-failure-ratio", "2", "a number in [0, 1]"),
        ("--max-failure-ratio", "-1", "a number in [0, 1]"),
        ("--max-failure-ratio", "nan", "a number in [0, 1]"),
        ("--max-failures", "-1", "--max-failures"),
        ("--idle-timeout", "1e300", "a number in (0, 1000000]"),
        ("--idle-timeout", "0", "--idle-timeout"),
        ("--first-token-timeout", "-1", "--first-token-timeout"),
        ("--connect-timeout", "nan", "--connect-timeout"),
        ("--gpu-bandwidth", "0", "a number in (0, 1000000]"),
        ("--gpu-bandwidth", "1e300", "a number in (0, 1000000]"),
        ("--gpu-flops", "-1", "a number in (0, 1000000]"),
        ("--gpu-flops", "nan", "a number in (0, 1000000]"),
        ("--port", "70000", "an integer in 1..=65535"),
        ("--port", "0", "an integer in 1..=65535"),
        (
            "--max-concurrency",
            "99999999999999999999",
            "is not a positive integer",
        ),
        ("--max-concurrency", "1e3", "is not a positive integer"),
        (
            "--max-concurrency",
            "4,-1",
            "'-1' is not a positive integer",
        ),
        (
            "--goodput",
            "ttft:1e300",
            "positive number of milliseconds (at most 1e9)",
        ),
        ("--goodput", "ttft:nan", "positive number of milliseconds"),
        ("--goodput", "e2el:0", "positive number of milliseconds"),
        ("--goodput", "tpot:inf", "positive number of milliseconds"),
        ("--metric-percentiles", "-5", "'-5' is not a percentile"),
        ("--metric-percentiles", "nan", "'nan' is not a percentile"),
        (
            "--metric-percentiles",
            "100.5",
            "'100.5' is not a percentile",
        ),
        ("--metric-percentiles", "50,,99", "empty item"),
    ];
    for (flag, value, expected) in cases {
        assert_usage_error(&[flag, value], flag);
        assert_usage_error(&[flag, value], expected);
    }
}

/// Class 1, engine args: the sim's numbers are range-checked too, and the
/// message names the engine, the key and the range.
#[test]
fn engine_arg_numbers_are_checked_where_parsed() {
    let cases: &[(&str, &str)] = &[
        (
            "step_per_seq_us=1e26",
            "expected a number in [0, 1000000000]",
        ),
        ("step_per_seq_us=-1", "expected a number in [0, 1000000000]"),
        (
            "step_per_seq_us=nan",
            "expected a number in [0, 1000000000]",
        ),
        (
            "step_per_seq_us=inf",
            "expected a number in [0, 1000000000]",
        ),
        (
            "max_batch_size=1e3",
            "expected a positive integer, at most 1048576",
        ),
        ("max_batch_size=-1", "expected a positive integer"),
        ("max_batch_size=99999999999", "at most 1048576"),
        (
            "kv_capacity_tokens=99999999999999999999",
            "at most 1099511627776",
        ),
        ("kv_capacity_tokens=0", "expected a positive integer"),
        ("max_model_len=0", "expected a positive integer"),
        ("vocab_size=4294967296", "expected a positive integer"),
        ("fail_after_iterations=0", "expected a positive integer"),
        ("run_jitter_pct=51", "run_jitter_pct"),
        ("iteration_jitter_pct=-1", "iteration_jitter_pct"),
        ("seed=-1", "seed"),
        ("=5", "expected KEY=VALUE"),
        ("max_batch_size=", "max_batch_size"),
    ];
    for (arg, expected) in cases {
        assert_usage_error(&["--engine-arg", arg], expected);
    }
}

/// Class 2: sizes are checked against the model and the machine's memory
/// before anything is built; the error says what was asked and the limit.
#[test]
fn sizes_are_checked_before_memory_is_spent() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--num-prompts", "10000000000"],
            "of memory, more than the",
        ),
        (
            &["--num-warmups", "10000000000"],
            "of memory, more than the",
        ),
        (
            &["--num-prompts", "100000000", "--trials", "10000"],
            "of memory",
        ),
        (
            &["--random-input-len", "134217728"],
            "longer than any model's context",
        ),
        (
            &["--random-prefix-len", "134217728"],
            "longer than any model's context",
        ),
        (
            &["--random-output-len", "134217728"],
            "longer than any model's context",
        ),
        (
            &["--random-prefix-len", "9000"],
            "exceeds the model's limit of 8192",
        ),
        (
            &[
                "--dataset-name",
                "shared-prefix",
                "--shared-prefix-context-len",
                "9000",
            ],
            "exceeds the model's limit",
        ),
        (
            &[
                "--engine-arg",
                "max_model_len=16",
                "--random-input-len",
                "32",
            ],
            "exceeds the model's limit of 16",
        ),
    ];
    for (extra, expected) in cases {
        assert_usage_error(extra, expected);
    }
}

/// A prompts file whose one line is 100 MB: refused (or capped) without the
/// gigabytes a tokenizer or a JSON tree of it would take.
#[test]
fn a_prompts_file_with_one_huge_line_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jsonl");
    let mut text = String::with_capacity(100 << 20);
    text.push_str("{\"prompt_token_ids\": [");
    while text.len() < 100 << 20 {
        text.push_str("7, ");
    }
    text.push_str("7]}\n");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap();
    assert_usage_error(
        &["--dataset-name", "prompts", "--dataset-path", path],
        "exceeds the model's limit",
    );
}

/// Class 8: values that clap would take for flags, repeated list items,
/// file names that are not names.
#[test]
fn smaller_holes_are_closed() {
    let cases: &[(&[&str], &str)] = &[
        (&["--burstiness", "-1"], "--burstiness '-1'"),
        (&["--random-vocab-range", "-1:5"], "--random-vocab-range"),
        (
            &["--random-vocab-range", "5:5"],
            "expected LO:HI with LO < HI",
        ),
        (&["--random-vocab-range", "a:b"], "--random-vocab-range"),
        (&["--random-vocab-range", "5"], "--random-vocab-range"),
        (&["--metric-percentiles", "-5,50"], "is not a percentile"),
        (&["--percentile-metrics", "-ttft"], "unknown metric"),
        (&["--percentile-metrics", ""], "--percentile-metrics"),
        (&["--engine-arg", "-x=1"], "unknown sim engine arg '-x'"),
        (&["--request-rate", "-1/s"], "--request-rate"),
        (
            &["--result-filename", ".json", "--save-result"],
            "not starting with '.'",
        ),
        (
            &["--result-filename", "..", "--save-result"],
            "--result-filename",
        ),
        (
            &["--result-filename", "/etc/x.json", "--save-result"],
            "not a path",
        ),
        (
            &["--result-filename", "", "--save-result"],
            "--result-filename",
        ),
        (&["--save-baseline", "../x"], "baseline name '../x'"),
        (&["--baseline", "a/b"], "baseline name 'a/b'"),
        (&["--gpu", "nosuchgpu"], "unknown GPU"),
        (&["--dataset-name", "nosuch"], "invalid value 'nosuch'"),
        (&["--goodput", "ttft"], "expected KEY:MS"),
        (&["--goodput", ":5"], "--goodput"),
    ];
    for (extra, expected) in cases {
        assert_usage_error(extra, expected);
    }
}

/// Flags that do nothing for what was asked are accepted with a warning,
/// and duplicate list items count once.
#[test]
fn flags_that_do_nothing_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let tokenizer = train_tokenizer(dir.path());
    let cases: &[(&[&str], &str)] = &[
        (&["--dataset-path", "/no/such/file"], "--dataset-path"),
        (&["--python", "/no/python"], "--python"),
        (
            &["--engine-arg", "step_base_us=300"],
            "given more than once",
        ),
        (&["--metric-percentiles", "50,50"], "more than once"),
        (&["--percentile-metrics", "ttft,ttft"], "more than once"),
        (&["--max-concurrency", "2,2"], "more than once"),
        (&["--first-token-timeout", "5"], "HTTP engines only"),
        (&["--tokenizer", tokenizer.to_str().unwrap()], "--tokenizer"),
    ];
    for (extra, expected) in cases {
        let mut args = sim_args(extra);
        args.push("--quiet");
        let output = enginebench(&args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{extra:?}: {err}");
        let warning = err
            .lines()
            .find(|l| l.starts_with("warning:"))
            .unwrap_or_else(|| panic!("{extra:?}: no warning in {err}"));
        assert!(warning.contains(expected), "{extra:?}: {warning}");
    }
    // Each percentile once: in the terminal's table and in the JSON.
    let out = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&["--metric-percentiles", "50,93,50", "--save-result"]);
    args.extend_from_slice(&["--result-filename", "r.json", "--result-dir"]);
    args.push(out.path().to_str().unwrap());
    let output = enginebench(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = common::stdout(&output);
    assert_eq!(text.matches("P50 TTFT (ms)").count(), 1, "{text}");
    assert_eq!(text.matches("P93 TTFT (ms)").count(), 1, "{text}");
    let result = common::read_json(&out.path().join("r.json"));
    assert!(result["p93_ttft_ms"].is_number(), "{result}");
}

/// A byte-order mark at the start of a prompts or ShareGPT file is read as
/// the text it precedes.
#[test]
fn a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tokenizer = train_tokenizer(d);
    let prompts = write(
        d,
        "bom.jsonl",
        "\u{feff}{\"prompt_token_ids\": [1, 2, 3]}\n",
    );
    let sharegpt = write(
        d,
        "bom.json",
        "\u{feff}[{\"conversations\": [{\"from\": \"human\", \"value\": \"the engine token batch cache prefill\"}, \
         {\"from\": \"gpt\", \"value\": \"a token model request\"}]}]",
    );
    let tokenizer = tokenizer.to_str().unwrap();
    for extra in [
        vec!["--dataset-name", "prompts", "--dataset-path", &prompts],
        vec![
            "--dataset-name",
            "sharegpt",
            "--dataset-path",
            &sharegpt,
            "--tokenizer",
            tokenizer,
        ],
    ] {
        let mut args = sim_args(&extra);
        args.push("--quiet");
        let output = enginebench(&args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{extra:?}: {}",
            stderr(&output)
        );
    }
}

/// compare, check, plot and report on bad files and flags.
#[test]
fn result_file_commands_refuse_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fixture = "tests/fixtures/results/v0.1.0.json";
    let not_json = write(d, "not.json", "{\"benchmark_id\": ");
    let not_result = write(d, "other.json", "{\"hello\": 1}");
    let empty_dir = d.join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let empty_dir = empty_dir.to_str().unwrap();
    let mut bad_concurrency: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    bad_concurrency["max_concurrency"] = "eight".into();
    let bad_concurrency = write(d, "badc.json", &bad_concurrency.to_string());
    let mut missing_concurrency: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    missing_concurrency
        .as_object_mut()
        .unwrap()
        .remove("max_concurrency");
    let missing_concurrency = write(d, "missc.json", &missing_concurrency.to_string());
    let out = d.join("plots");
    let out = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["compare", fixture, "/no/such.json"], "/no/such.json"),
        (vec!["compare", fixture, &not_json], "not.json"),
        (vec!["compare", fixture, &not_result], "no benchmark_id"),
        (vec!["compare", fixture, empty_dir], "holds no result files"),
        (vec!["compare", fixture, &bad_concurrency], "badc.json"),
        (vec!["compare", fixture, &missing_concurrency], "missc.json"),
        (
            vec!["compare", fixture, fixture, "--noise-threshold", "2"],
            "--noise-threshold",
        ),
        (
            vec!["compare", fixture, fixture, "--bootstrap-resamples", "-1"],
            "--bootstrap-resamples",
        ),
        (vec!["compare", fixture], "--"),
        (
            vec![
                "compare",
                fixture,
                "tests/fixtures/results/v0.1.0-open-loop.json",
            ],
            "shares no concurrency level",
        ),
        (
            vec!["check", "--against", "/no/such.json", fixture],
            "/no/such.json",
        ),
        (vec!["check", "--against", fixture, &not_json], "not.json"),
        (
            vec!["check", "--against", fixture, fixture, "--metrics", "speed"],
            "unknown metric 'speed'",
        ),
        (
            vec!["check", "--against", fixture, fixture, "--metrics", ""],
            "--metrics",
        ),
        (
            vec!["check", "--baseline", "../x", fixture],
            "baseline name '../x'",
        ),
        (vec!["check", fixture], "--against"),
        (
            vec![
                "check",
                "--against",
                fixture,
                fixture,
                "--significance-level",
                "0",
            ],
            "--significance-level",
        ),
        (vec!["plot", "/no/such.json"], "/no/such.json"),
        (vec!["plot", &not_result], "no benchmark_id"),
        (
            vec!["plot", fixture, "-o", out, "--name", "../x"],
            "--name '../x'",
        ),
        (vec!["plot", fixture, "-o", out, "--name", "a/b"], "--name"),
        (vec!["plot", fixture, "-o", out, "--name", ""], "--name"),
        (
            vec!["plot", fixture, "--format", "gif"],
            "invalid value 'gif'",
        ),
        (vec!["report", "/no/such.json"], "/no/such.json"),
        (
            vec!["report", fixture, "-o", out, "--name", "../x"],
            "--name '../x'",
        ),
        (vec!["report", &not_json], "not.json"),
        (vec!["env", "--no-such-flag"], "--no-such-flag"),
        (vec!["nosuchcommand"], "nosuchcommand"),
    ];
    for (args, expected) in &cases {
        assert_one_line_usage_error(args, expected);
    }
    assert!(!d.join("x.svg").exists() && !d.join("x.html").exists());
}

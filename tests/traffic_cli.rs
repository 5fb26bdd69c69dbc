//! The traffic workloads from the command line, on the sim: what a
//! conversation's and a trace's records and result file carry, what a dry
//! run prints (and that it sends nothing), and the one-line usage errors of
//! every new flag and of bad trace files.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{assert_one_line_usage_error, enginebench, files_ending, read_json, stderr, stdout};
use enginebench::records::{read_jsonl, Outcome};

/// A fast sim: 200 us a step, 1 us a prompt token.
const SIM: &[&str] = &[
    "run",
    "--engine-arg",
    "step_base_us=200",
    "--engine-arg",
    "prefill_us_per_token=1",
];

/// 4 users of 3 rounds: a 16-token system prompt, 32 tokens of context,
/// questions of 8 tokens, answers of 5, 10 ms of think time, 2 users at once.
const CONVERSATION: &[&str] = &[
    "--dataset-name",
    "conversation",
    "--num-prompts",
    "4",
    "--conversation-rounds",
    "3",
    "--conversation-system-prompt-len",
    "16",
    "--conversation-context-len",
    "32",
    "--conversation-question-len",
    "8",
    "--conversation-answer-len",
    "5",
    "--think-time-ms",
    "10",
    "--max-concurrency",
    "2",
];

fn sim(dir: &Path, extra: &[&[&str]]) -> std::process::Output {
    let mut args: Vec<&str> = SIM.to_vec();
    args.extend_from_slice(&["--result-dir", dir.to_str().unwrap()]);
    for part in extra {
        args.extend_from_slice(part);
    }
    enginebench(&args)
}

/// A Mooncake-format row.
fn row(timestamp: &str, input: u32, output: u32, hash_ids: &[u64]) -> String {
    format!(
        "{{\"timestamp\": {timestamp}, \"input_length\": {input}, \"output_length\": {output}, \
         \"hash_ids\": {hash_ids:?}}}\n"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn a_conversations_records_and_result_carry_users_rounds_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let output = sim(
        dir.path(),
        &[
            CONVERSATION,
            &[
                "--save-result",
                "--save-detailed",
                "--result-filename",
                "c.json",
            ],
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let mut records = read_jsonl(&dir.path().join("c.requests.jsonl")).unwrap();
    records.sort_by_key(|r| r.index);
    assert_eq!(records.len(), 12, "4 users x 3 rounds");
    for (i, r) in records.iter().enumerate() {
        let (user, round) = (i as u32 / 3, i as u32 % 3);
        assert_eq!(r.outcome, Outcome::Completed, "{r:?}");
        assert_eq!((r.user, r.round), (Some(user), Some(round)));
        // Round 0: system prompt + context + question; each later round
        // adds the 5-token answer and an 8-token question.
        assert_eq!(r.input_tokens, 56 + 13 * round);
        let reused = match (user, round) {
            (0, 0) => 0,
            (_, 0) => 16, // the system prompt, held since user 0
            _ => r.input_tokens - 8,
        };
        assert_eq!(r.reused_prefix_tokens, Some(reused), "{r:?}");
        if round > 0 {
            let before = records[i - 1].finished_ns.unwrap();
            assert!(r.scheduled_ns >= before + 10_000_000, "think time: {r:?}");
        }
    }
    let json = read_json(&dir.path().join("c.json"));
    let rounds = json["traffic"]["per_round"].as_array().unwrap();
    let inputs: Vec<f64> = rounds
        .iter()
        .map(|r| r["mean_input_tokens"].as_f64().unwrap())
        .collect();
    assert_eq!(inputs, [56.0, 69.0, 82.0]);
    assert!(rounds.iter().all(|r| r["completed"] == 4));
    let reuse = &json["traffic"]["prefix_reuse"];
    assert_eq!(reuse["input_tokens"], 4 * (56 + 69 + 82));
    assert_eq!(reuse["reused_prefix_tokens"], 3 * 16 + 4 * (61 + 74));
    let out = stdout(&output);
    assert!(out.contains("Reused prefix (ideal cache):"), "{out}");
    assert!(out.contains("round"), "{out}");
}

#[test]
fn a_trace_is_replayed_at_its_scaled_timestamps_with_its_block_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        row("1000", 40, 3, &[1, 2, 3]),
        row("1100", 40, 3, &[1, 2, 4]),
        row("1100", 20, 3, &[7, 8]),
        row("1250", 48, 3, &[1, 2, 4]),
        row("1400", 10, 3, &[9]),
    ];
    let trace = write(dir.path(), "t.jsonl", &rows.concat());
    let output = sim(
        dir.path(),
        &[&[
            "--dataset-name",
            "trace",
            "--dataset-path",
            &trace,
            "--trace-block-size",
            "16",
            "--trace-time-scale",
            "0.5",
            "--save-result",
            "--save-detailed",
            "--result-filename",
            "t.json",
        ]],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let mut records = read_jsonl(&dir.path().join("t.requests.jsonl")).unwrap();
    records.sort_by_key(|r| r.index);
    let scheduled_ms: Vec<f64> = records
        .iter()
        .map(|r| r.scheduled_ns as f64 / 1e6)
        .collect();
    // Relative to the first row, gaps halved.
    for (got, want) in scheduled_ms.iter().zip([0.0, 50.0, 50.0, 125.0, 200.0]) {
        assert!((got - want).abs() < 0.001, "{scheduled_ms:?}");
    }
    let lengths: Vec<(u32, u64)> = records
        .iter()
        .map(|r| (r.input_tokens, r.output_tokens()))
        .collect();
    assert_eq!(lengths, [(40, 3), (40, 3), (20, 3), (48, 3), (10, 3)]);
    // The leading tokens earlier rows held: row 4 holds blocks 1 and 2, and
    // of block 4 the 8 tokens that row 2 had of it.
    let reused: Vec<Option<u32>> = records.iter().map(|r| r.reused_prefix_tokens).collect();
    assert_eq!(reused, [Some(0), Some(32), Some(0), Some(40), Some(0)]);
    let json = read_json(&dir.path().join("t.json"));
    let profile = &json["traffic"]["rate_over_time"];
    assert_eq!(profile["scheduled_rps"].as_array().unwrap().len(), 1);
    assert_eq!(profile["scheduled_rps"][0], 5.0);
}

/// 30 rows 4 s apart: a replay would take 2 minutes; the dry run prints the
/// schedule at once and writes no result even when asked to.
#[test]
fn a_dry_run_prints_the_trace_schedule_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..30u64)
        .map(|i| row(&(4000 * i).to_string(), 24, 4, &[0, 1 + i]))
        .collect();
    let trace = write(dir.path(), "t.jsonl", &rows);
    let started = Instant::now();
    let output = sim(
        dir.path(),
        &[&[
            "--dataset-name",
            "trace",
            "--dataset-path",
            &trace,
            "--trace-block-size",
            "16",
            "--dry-run",
            "--save-result",
            "--save-detailed",
        ]],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it did not replay"
    );
    assert!(
        files_ending(dir.path(), ".json").is_empty(),
        "no result written"
    );
    assert!(
        files_ending(dir.path(), ".jsonl").len() == 1,
        "only the trace"
    );
    let out = stdout(&output);
    assert!(out.contains("nothing is sent"), "{out}");
    assert!(out.contains("requests:            30\n"), "{out}");
    assert!(
        out.contains("input tokens:        min 24, mean 24.0"),
        "{out}"
    );
    assert!(
        out.contains("total tokens:        720 input + 120 output = 840"),
        "{out}"
    );
    // Block 0 (16 tokens) is shared by the 29 rows after the first.
    assert!(
        out.contains("reused prefix:       464 tokens, 64.4%"),
        "{out}"
    );
    assert!(
        out.contains("arrivals:            30 from 0.000 s to 116.000 s, mean 0.25 req/s"),
        "{out}"
    );
    assert!(
        out.contains("per second:          1, 0, 0, 0, 1, 0, 0, 0, 1,"),
        "{out}"
    );
}

/// A conversation's dry run plans the rounds (answers at their full budget),
/// their think times, and with a model shape the memory of the KV cache.
#[test]
fn a_dry_run_plans_a_conversation_and_its_memory() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    // Shaped like the tiny test Llama: 4 layers, 2 KV heads of 64, bf16.
    write(
        &model,
        "config.json",
        r#"{"hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4,
            "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 32000,
            "torch_dtype": "bfloat16"}"#,
    );
    let output = sim(
        dir.path(),
        &[
            CONVERSATION,
            &["--dry-run", "--model", model.to_str().unwrap()],
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("requests:            12 (4 sessions of up to 3 rounds)"),
        "{out}"
    );
    assert!(
        out.contains("input tokens:        min 56, mean 69.0"),
        "{out}"
    );
    assert!(out.contains(", max 82\n"), "{out}");
    assert!(
        out.contains("total tokens:        828 input + 60 output = 888"),
        "{out}"
    );
    assert!(
        out.contains("reused prefix:       588 tokens, 71.0%"),
        "{out}"
    );
    assert!(
        out.contains("later rounds:        released by the answer before them, after a think time of min 10, mean 10.0"),
        "{out}"
    );
    // 2 x 4 layers x 2 heads x 64 x 2 bytes.
    assert!(
        out.contains("KV cache:            2048 bytes per token"),
        "{out}"
    );
}

/// vLLM's linear ramp from 2 to 20 req/s over 200 requests lasts
/// `199 / 18 * ln 10 = 25.5 s` (the rate grows exponentially in time); the
/// seeded Gamma gaps put the last arrival within 15 % of that.
#[test]
fn a_dry_run_shows_a_ramps_profile() {
    let dir = tempfile::tempdir().unwrap();
    let output = sim(
        dir.path(),
        &[&[
            "--num-prompts",
            "200",
            "--random-input-len",
            "8",
            "--random-output-len",
            "2",
            "--ramp-up-strategy",
            "linear",
            "--ramp-up-start-rps",
            "2",
            "--ramp-up-end-rps",
            "20",
            "--dry-run",
        ]],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("ramp-up:             linear from 2 to 20 req/s"),
        "{out}"
    );
    let arrivals = out
        .lines()
        .find(|l| l.trim_start().starts_with("arrivals:"))
        .unwrap_or_else(|| panic!("{out}"));
    let last: f64 = arrivals
        .split(" to ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let planned = 199.0 / 18.0 * 10f64.ln();
    assert!(
        (last / planned - 1.0).abs() < 0.15,
        "{last} vs {planned}: {arrivals}"
    );
    let per_second: Vec<u32> = out
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("per second:"))
        .unwrap()
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let early: u32 = per_second[..5].iter().sum();
    let late: u32 = per_second[15..20].iter().sum();
    // Planned: 12.6 requests in seconds 0-5, 49.1 in seconds 15-20.
    assert!(late > 2 * early, "the rate grows: {per_second:?}");
}

/// Runs the sim with `extra` and checks the one-line usage error.
fn assert_usage_error(extra: &[&str], expected: &str) {
    let mut args: Vec<&str> = SIM.to_vec();
    args.extend_from_slice(extra);
    assert_one_line_usage_error(&args, expected);
}

#[test]
fn bad_traffic_flags_are_one_line_usage_errors() {
    let conversation = ["--dataset-name", "conversation"];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--conversation-rounds", "0"],
            "--conversation-rounds must be at least 1",
        ),
        (&["--num-prompts", "0"], "--num-prompts '0'"),
        (
            &["--conversation-answer-len", "0"],
            "--conversation-answer-len must be at least 1",
        ),
        (
            &["--conversation-question-len", "0"],
            "--conversation-question-len must be at least 1",
        ),
        (&["--think-time-ms", "soon"], "--think-time-ms 'soon'"),
        (&["--conversation-answers", "maybe"], "maybe"),
        (
            &["--conversation-qps=-1", "--max-concurrency", "2"],
            "--conversation-qps must be a positive number",
        ),
        (&["--think-time-ms=-5"], "--think-time-ms '-5'"),
        (&["--think-time-ms", "uniform:9:3"], "LO must not exceed HI"),
        (
            &["--conversation-qps", "0.5"],
            "--conversation-qps needs --max-concurrency",
        ),
        (
            &["--conversation-qps", "0", "--max-concurrency", "2"],
            "--conversation-qps must be a positive number",
        ),
        (
            &[
                "--conversation-qps",
                "1",
                "--max-concurrency",
                "2",
                "--conversation-rounds",
                "1",
            ],
            "--conversation-rounds of 2 or more",
        ),
        (
            &[
                "--conversation-qps",
                "1",
                "--max-concurrency",
                "2",
                "--request-rate",
                "4",
            ],
            "--conversation-qps sets the pace itself",
        ),
    ];
    for (flags, expected) in cases {
        assert_usage_error(&[&conversation[..], flags].concat(), expected);
    }
    assert_usage_error(
        &["--conversation-qps", "1"],
        "--conversation-qps applies to --dataset-name conversation",
    );
    let ramps: &[(&[&str], &str)] = &[
        (
            &["--ramp-up-strategy", "linear", "--ramp-up-start-rps", "5"],
            "needs both --ramp-up-start-rps and --ramp-up-end-rps",
        ),
        (
            &["--ramp-up-start-rps", "1", "--ramp-up-end-rps", "5"],
            "need --ramp-up-strategy",
        ),
        (
            &[
                "--ramp-up-strategy",
                "linear",
                "--ramp-up-start-rps",
                "9",
                "--ramp-up-end-rps",
                "3",
            ],
            "--ramp-up-start-rps 9 must not exceed --ramp-up-end-rps 3",
        ),
        (
            &[
                "--ramp-up-strategy",
                "exponential",
                "--ramp-up-start-rps",
                "0",
                "--ramp-up-end-rps",
                "3",
            ],
            "must be positive numbers",
        ),
        (
            &[
                "--ramp-up-strategy",
                "linear",
                "--ramp-up-start-rps",
                "1",
                "--ramp-up-end-rps",
                "3",
                "--request-rate",
                "2",
            ],
            "leave out --request-rate",
        ),
        (&["--ramp-up-strategy", "sideways"], "sideways"),
    ];
    for (flags, expected) in ramps {
        assert_usage_error(flags, expected);
    }
}

#[test]
fn bad_traces_are_one_line_usage_errors_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = row("0", 40, 3, &[1, 2, 3]);
    let trace = |name: &str, text: &str| write(d, name, text);
    let cases: Vec<(String, &str)> = vec![
        (trace("empty.jsonl", "\n\n"), "holds no requests"),
        (
            trace(
                "unsorted.jsonl",
                &[row("500", 40, 3, &[1, 2, 3]), good.clone()].concat(),
            ),
            "unsorted.jsonl:2: timestamp 0 is before the previous row's 500",
        ),
        (
            trace(
                "missing.jsonl",
                &format!("{good}{{\"timestamp\": 9, \"input_length\": 4, \"hash_ids\": [1]}}\n"),
            ),
            "missing.jsonl:2: missing field \"output_length\"",
        ),
        (
            trace("blocks.jsonl", &row("0", 40, 3, &[1, 2])),
            "blocks.jsonl:1: 2 hash ids for input_length 40, but blocks of 16 tokens need 3",
        ),
        (
            trace(
                "negative.jsonl",
                &row("0", 40, 3, &[1, 2, 3]).replace("3]", "-3]"),
            ),
            "hash id -3 is not an integer >= 0",
        ),
        (
            trace("zero.jsonl", &row("0", 40, 0, &[1, 2, 3])),
            "\"output_length\" must be a positive integer, not 0",
        ),
        (trace("text.jsonl", "not json\n"), "text.jsonl:1: not JSON"),
        (
            d.join("absent.jsonl").to_string_lossy().into_owned(),
            "absent.jsonl",
        ),
    ];
    for (path, expected) in &cases {
        assert_usage_error(
            &[
                "--dataset-name",
                "trace",
                "--dataset-path",
                path,
                "--trace-block-size",
                "16",
            ],
            expected,
        );
    }
    let good = trace("good.jsonl", &good);
    let flags: &[(&[&str], &str)] = &[
        (
            &["--trace-block-size", "0"],
            "--trace-block-size must be at least 1",
        ),
        (
            &["--trace-time-scale", "0"],
            "--trace-time-scale must be a positive number",
        ),
        (
            &["--request-rate", "5"],
            "--dataset-name trace replays the trace's timestamps",
        ),
    ];
    for (extra, expected) in flags {
        let args = [
            &["--dataset-name", "trace", "--dataset-path", &good][..],
            extra,
        ]
        .concat();
        assert_usage_error(&args, expected);
    }
    assert_usage_error(&["--dataset-name", "trace"], "--dataset-path");
}

//! Baselines, `compare` and the `check` gate through the binary: exit codes,
//! summaries, and one-line errors for missing, corrupt or mismatched files.
//!
//! The planted regression is a 50% slower decode step, so that it shows on a
//! busy machine too; the 10% case is `tests/sensitivity.rs`. The "identical"
//! pair checks a run against the very samples it saved, so exit 0 does not
//! depend on the machine's noise.

mod common;

use std::path::Path;
use std::process::Output;

use common::{enginebench, read_json, stderr, stdout};

/// A closed-loop sim level of 40 requests at concurrency 4, `step_us` per decode step.
fn run(dir: &Path, step_us: u32, extra: &[&str]) -> Output {
    let step = format!("step_base_us={step_us}");
    let mut args = vec![
        "run",
        "--engine-arg",
        &step,
        "--engine-arg",
        "prefill_us_per_token=5",
        "--random-input-len",
        "64",
        "--random-output-len",
        "12",
        "--num-prompts",
        "40",
        "--max-concurrency",
        "4",
        "--bootstrap-resamples",
        "1000",
        "--result-dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = enginebench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

fn check(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut all = vec!["check", "--bootstrap-resamples", "1000"];
    all.extend_from_slice(args);
    let output = enginebench(&all);
    let summary = serde_json::from_str(&stdout(&output)).unwrap_or(serde_json::Value::Null);
    (output.status.code(), summary, stderr(&output))
}

fn assert_one_line_error(output: &Output, expected: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(expected), "expected '{expected}' in: {err}");
}

fn verdict_of(summary: &serde_json::Value, metric: &str) -> String {
    let checks = summary["checks"].as_array().unwrap();
    let entry = checks.iter().find(|c| c["metric"] == metric).unwrap();
    entry["verdict"].as_str().unwrap().to_string()
}

#[test]
fn check_fails_on_a_planted_regression_and_passes_on_the_same_samples() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    run(
        dir.path(),
        2_000,
        &[
            "--save-result",
            "--result-filename",
            "base.json",
            "--save-baseline",
            "main",
        ],
    );
    let base = dir.path().join("base.json");
    let slow = dir.path().join("slow.json");
    let output = run(
        dir.path(),
        3_000,
        &[
            "--save-result",
            "--result-filename",
            "slow.json",
            "--baseline",
            "main",
        ],
    );
    let out = stdout(&output);
    assert!(out.contains("Change against baseline 'main'"), "{out}");
    assert!(read_json(&slow)["baseline"]["changes"].is_array());

    // The latest run (slow) against the baseline, found under --result-dir.
    let (code, summary, err) = check(&["--baseline", "main", "--result-dir", d]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(summary["status"], "regressed");
    assert_eq!(verdict_of(&summary, "tpot"), "regressed");
    assert_eq!(verdict_of(&summary, "output_throughput"), "skipped");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("tpot +"), "{err}");

    let (code, summary, _) = check(&[
        "--baseline",
        "main",
        "--result-dir",
        d,
        slow.to_str().unwrap(),
    ]);
    assert_eq!(
        (code, summary["status"].as_str()),
        (Some(1), Some("regressed"))
    );
    let (code, _, _) = check(&["--against", base.to_str().unwrap(), slow.to_str().unwrap()]);
    assert_eq!(code, Some(1));

    // Against itself: nothing changed.
    let (code, summary, err) = check(&[
        "--baseline",
        "main",
        "--result-dir",
        d,
        base.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(summary["regressions"], 0);
    assert_eq!(verdict_of(&summary, "ttft"), "no_change");
    let (code, _, _) = check(&["--against", base.to_str().unwrap(), base.to_str().unwrap()]);
    assert_eq!(code, Some(0));

    // Only the watched metrics count.
    let (code, _, _) = check(&[
        "--against",
        base.to_str().unwrap(),
        "--metrics",
        "ttft",
        slow.to_str().unwrap(),
    ]);
    assert_eq!(
        code,
        Some(0),
        "TTFT is prefill only and did not change by 50%"
    );
}

#[test]
fn compare_prints_a_table_per_level_with_speedups_and_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        2_000,
        &["--save-result", "--result-filename", "a.json"],
    );
    run(
        dir.path(),
        3_000,
        &["--save-result", "--result-filename", "b.json"],
    );
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let output = enginebench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--bootstrap-resamples",
        "1000",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("Concurrency 4: random-64x12 / closed-loop"),
        "{out}"
    );
    let header = out.lines().find(|l| l.starts_with("Metric")).unwrap();
    for column in ["A", "B", "Speedup B/A", "Verdict B"] {
        assert!(header.contains(column), "{header}");
    }
    let tpot = out
        .lines()
        .find(|l| l.starts_with("TPOT (ms) mean"))
        .unwrap();
    assert!(tpot.contains("regressed"), "{tpot}");
    let speedup: f64 = tpot
        .split_whitespace()
        .find(|c| c.ends_with('x'))
        .unwrap()
        .trim_end_matches('x')
        .parse()
        .unwrap();
    assert!(speedup < 0.8, "50% slower steps: {tpot}");

    let output = enginebench(&[
        "compare",
        "--markdown",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(stdout(&output).contains("| Metric | A | B | Speedup B/A | Verdict B |"));
}

#[test]
fn trials_and_intervals_are_saved_with_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        500,
        &[
            "--trials",
            "2",
            "--save-result",
            "--save-detailed",
            "--result-filename",
            "t.json",
        ],
    );
    let json = read_json(&dir.path().join("t.json"));
    assert_eq!(json["trials"], 2);
    assert_eq!(json["completed"], 80);
    assert_eq!(json["trial_results"].as_array().unwrap().len(), 2);
    let spread = &json["throughput_spread"]["output_throughput"];
    assert_eq!(spread["per_trial"].as_array().unwrap().len(), 2);
    assert_eq!(json["detailed_files"].as_array().unwrap().len(), 2);
    for metric in ["ttft", "tpot", "itl", "e2el"] {
        let stats = &json["statistics"][format!("{metric}_ms")];
        for stat in ["mean", "median", "p90", "p99"] {
            let e = &stats[stat];
            let (lo, point, hi) = (
                e["confidence_interval"]["lower_bound"].as_f64().unwrap(),
                e["point_estimate"].as_f64().unwrap(),
                e["confidence_interval"]["upper_bound"].as_f64().unwrap(),
            );
            assert!(lo <= point && point <= hi, "{metric} {stat}: {e}");
        }
        assert!(stats["outliers"]["high_severe"].is_u64());
        let flat = json[format!("mean_{metric}_ms")].as_f64().unwrap();
        assert!((stats["mean"]["point_estimate"].as_f64().unwrap() - flat).abs() < 1e-9);
    }
    assert_eq!(
        json["statistics"]["itl_ms"]["units"], 80,
        "ITL resampled by request"
    );
    let warnings = json["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("p99 rests on 80")),
        "{warnings:?}"
    );
    assert!(stderr(&output).contains("warning: the run lasted"));
    assert!(stdout(&output).contains("Trials: 2"));
    assert_eq!(json["samples_file"], "samples/t.json");
    assert!(dir.path().join("samples/t.json").is_file());
}

#[test]
fn missing_corrupt_and_mismatched_baselines_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    run(
        dir.path(),
        500,
        &[
            "--save-result",
            "--result-filename",
            "c4.json",
            "--save-baseline",
            "main",
        ],
    );
    let c4 = dir.path().join("c4.json");
    let c4 = c4.to_str().unwrap();

    let missing = enginebench(&["check", "--baseline", "nope", "--result-dir", d, c4]);
    assert_one_line_error(
        &missing,
        "no baseline 'nope' for sim/sim/random-64x12/closed-loop/c4",
    );
    let none = enginebench(&["check", "--baseline", "nope", "--result-dir", d]);
    assert_one_line_error(&none, "no baseline 'nope' under");
    let before_running = enginebench(&[
        "run",
        "--baseline",
        "nope",
        "--result-dir",
        d,
        "--num-prompts",
        "1",
    ]);
    assert_one_line_error(&before_running, "no baseline 'nope'");

    let samples = dir
        .path()
        .join("baselines/sim_sim_random-64x12_closed-loop_c4/main/samples.json");
    let good = std::fs::read_to_string(&samples).unwrap();
    std::fs::write(&samples, "{\"format\": 1, \"samples\": tru").unwrap();
    let corrupt = enginebench(&["check", "--baseline", "main", "--result-dir", d, c4]);
    assert_one_line_error(&corrupt, "not JSON");
    std::fs::write(&samples, "{\"format\": 7}").unwrap();
    let format = enginebench(&["check", "--baseline", "main", "--result-dir", d, c4]);
    assert_one_line_error(&format, "not a samples file of format 1 (format: 7)");
    std::fs::write(&samples, good.replace("\"c4\"", "\"c8\"")).unwrap();
    let other = enginebench(&["check", "--baseline", "main", "--result-dir", d, c4]);
    assert_one_line_error(
        &other,
        "holds samples of sim/sim/random-64x12/closed-loop/c8",
    );

    run(
        dir.path(),
        500,
        &[
            "--save-result",
            "--result-filename",
            "c2.json",
            "--max-concurrency",
            "2",
        ],
    );
    let c2 = dir.path().join("c2.json");
    let mismatched = enginebench(&["check", "--against", c4, c2.to_str().unwrap()]);
    assert_one_line_error(&mismatched, "no --against file measured the same benchmark");
    let not_result = dir.path().join("samples/c4.json");
    let compare = enginebench(&["compare", c4, not_result.to_str().unwrap()]);
    assert_one_line_error(&compare, "not an enginebench result file");
    let workload = enginebench(&["compare", c4, c4]);
    assert!(workload.status.success(), "the same file twice compares");
}

#[test]
fn bad_statistics_flags_are_one_line_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "--trials", "0"],
            "--trials '0': expected an integer in 1..=10000",
        ),
        (
            &["run", "--noise-threshold", "2"],
            "--noise-threshold '2': expected a number in [0, 1)",
        ),
        (
            &["run", "--significance-level", "0"],
            "--significance-level '0': expected a number in (0, 1)",
        ),
        (
            &["run", "--confidence-level", "95"],
            "--confidence-level '95': expected a number in (0, 1)",
        ),
        (
            &["run", "--bootstrap-resamples", "10"],
            "--bootstrap-resamples '10': expected an integer in 100..=1000000",
        ),
        (&["run", "--min-duration=-1"], "--min-duration"),
        (&["run", "--save-baseline", "a/b"], "baseline name 'a/b'"),
        (&["run", "--save-baseline", "new"], "reserved"),
        (
            &["check"],
            "check needs --baseline NAME or --against RESULT.json",
        ),
        (&["check", "--against", "x.json"], "needs the result files"),
        (
            &["check", "--baseline", "b", "--metrics", "ttft,speed"],
            "unknown metric 'speed'",
        ),
        (&["compare", "only-one.json"], "error:"),
        (
            &["compare", "missing-a.json", "missing-b.json"],
            "cannot read missing-a.json",
        ),
    ];
    for (args, expected) in cases {
        let output = enginebench(args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(expected),
            "{args:?}: expected '{expected}' in {err}"
        );
    }
}

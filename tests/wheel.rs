//! The wheel's console script (`.venv/bin/enginebench`, installed by `.ci/test`)
//! runs the same CLI as the binary, inside the engine's Python.
#![cfg(feature = "embed-python")]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{files_ending, read_json, stderr, stdout};

fn console_script() -> PathBuf {
    let venv = std::env::var_os("ENGINEBENCH_VENV").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"),
        PathBuf::from,
    );
    let script = venv.join("bin/enginebench");
    let missing = format!(
        "{} missing: .ci/test builds and installs the wheel",
        script.display()
    );
    assert!(script.is_file(), "{missing}");
    script
}

#[test]
#[ignore = "needs the wheel installed: .ci/test runs it with --ignored after installing it"]
fn console_script_runs_the_cli_with_the_same_flags_and_outputs() {
    let script = console_script();
    let dir = tempfile::tempdir().unwrap();
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/tiny-llama");
    let output = Command::new(&script)
        .args(["run", "--engine", "hf", "--model", model.to_str().unwrap()])
        .args([
            "--engine-arg",
            "num_blocks=64",
            "--engine-arg",
            "max_batch_tokens=256",
        ])
        .args([
            "--random-input-len",
            "16",
            "--random-output-len",
            "6",
            "--num-prompts",
            "4",
        ])
        .args([
            "--max-concurrency",
            "2",
            "--ignore-eos",
            "--save-result",
            "--save-detailed",
        ])
        .args(["--result-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("Serving Benchmark Result"));
    let json = read_json(&files_ending(dir.path(), ".json")[0]);
    assert_eq!(json["backend"], "hf");
    assert_eq!(json["completed"], 4);
    assert_eq!(json["total_output_tokens"], 24);
    assert_eq!(files_ending(dir.path(), ".requests.jsonl").len(), 1);

    let bad = Command::new(&script)
        .args(["run", "--max-concurrency", "0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("'0' is not a positive integer"));
}

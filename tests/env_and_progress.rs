//! `enginebench env`, and progress when stderr is not a terminal.

mod common;

use common::{enginebench, stderr, stdout, FAST_SIM};

#[test]
fn env_json_describes_the_machine_and_result_files_record_it() {
    let output = enginebench(&["env", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let env: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(env["logical_cpus"].as_u64().unwrap() >= 1);
    assert!(env["os"].as_str().is_some_and(|os| !os.is_empty()));
    let gpus = env["gpus"].as_array().unwrap();
    // Without a GPU the reason is given instead.
    assert!(
        !gpus.is_empty() || env["gpu_note"].as_str().is_some(),
        "{env}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&[
        "--save-result",
        "--result-filename",
        "r.json",
        "--result-dir",
    ]);
    args.push(dir.path().to_str().unwrap());
    let run = enginebench(&args);
    assert!(run.status.success(), "{}", stderr(&run));
    let result = common::read_json(&dir.path().join("r.json"));
    for key in [
        "os",
        "cpu",
        "logical_cpus",
        "memory_gib",
        "gpus",
        "enginebench_version",
    ] {
        assert!(
            result["environment"].get(key).is_some(),
            "environment lacks {key}"
        );
    }
}

#[test]
fn calibrate_without_a_gpu_says_so_and_exits_1() {
    let found = enginebench(&["env", "--json"]);
    let env: serde_json::Value = serde_json::from_str(&stdout(&found)).unwrap();
    if !env["gpus"].as_array().unwrap().is_empty() {
        return; // a GPU to calibrate: nothing to check here
    }
    let output = enginebench(&["env", "--calibrate"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.starts_with("error: cannot calibrate: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn without_a_terminal_progress_is_plain_lines_on_stderr() {
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&["--max-concurrency", "2,4"]);
    let output = enginebench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    for level in [
        "level 1/2 ended: 12/12 requests, ",
        "level 2/2 ended: 12/12 requests, ",
    ] {
        assert!(err.contains(level), "{err}");
    }
    assert!(!err.contains('\u{1b}'), "no terminal escapes: {err}");
    assert!(
        !stdout(&output).contains("ended:"),
        "progress stays off stdout"
    );
}

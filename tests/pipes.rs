//! A stdout that goes away changes nothing that matters: `| head -1` on
//! run, compare and check keeps the exit code and (for run) every level's
//! result file; `> /dev/full` loses the terminal text only, and says so on
//! stderr in one line.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{enginebench, stderr, FAST_SIM};

/// Runs `args` as `enginebench ARGS | head -1` would: reads one line of
/// stdout, then closes the pipe.
fn head_one(args: &[&str]) -> (Output, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_enginebench"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe is closed.
    (child.wait_with_output().unwrap(), first)
}

fn run_args<'a>(dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&["--max-concurrency", "1,2,4", "--save-result"]);
    args.extend_from_slice(&["--result-filename", "r.json", "--result-dir"]);
    args.push(dir.to_str().unwrap());
    args.extend_from_slice(extra);
    args
}

#[test]
fn run_into_head_keeps_every_level_and_exit_code_0() {
    let dir = tempfile::tempdir().unwrap();
    let (output, first) = head_one(&run_args(dir.path(), &[]));
    let err = stderr(&output);
    assert!(!first.is_empty(), "head read a line");
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !err.contains("error"),
        "a closed pipe is the reader's choice: {err}"
    );
    for c in [1, 2, 4] {
        let path = dir.path().join(format!("r-concurrency{c}.json"));
        let result = common::read_json(&path);
        assert_eq!(result["completed"], 12, "{}", path.display());
    }
    let csv = std::fs::read_to_string(dir.path().join("r.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

#[test]
fn compare_and_check_into_head_keep_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let fast = dir.path().join("fast");
    let slow = dir.path().join("slow");
    for (out, decode) in [(&fast, "step_per_seq_us=5"), (&slow, "step_per_seq_us=400")] {
        // Five trials a side: the gate judges trials, and needs five to judge.
        let mut args = run_args(out, &["--quiet", "--trials", "5", "--engine-arg", decode]);
        args.retain(|a| *a != "1,2,4");
        let pos = args.iter().position(|a| *a == "--max-concurrency").unwrap();
        args.insert(pos + 1, "4");
        let output = enginebench(&args);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let fast = fast.join("r.json");
    let slow = slow.join("r.json");
    let (fast, slow) = (fast.to_str().unwrap(), slow.to_str().unwrap());

    let (output, first) = head_one(&["compare", fast, slow]);
    assert!(!first.is_empty());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // The slow run against the fast one regressed: exit 1, pipe or not.
    let gate = ["check", "--against", fast, slow];
    let plain = enginebench(&gate);
    assert_eq!(plain.status.code(), Some(1), "{}", stderr(&plain));
    let (output, first) = head_one(&gate);
    assert!(!first.is_empty());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"));

    // And the identical run passes: exit 0 under head too.
    let (output, _) = head_one(&["check", "--against", fast, fast]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn a_full_stdout_loses_the_text_only_and_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_enginebench"))
        .args(run_args(dir.path(), &[]))
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let about_stdout: Vec<&str> = err.lines().filter(|l| l.contains("stdout")).collect();
    assert_eq!(about_stdout.len(), 1, "{err}");
    assert!(about_stdout[0].contains("No space left on device"), "{err}");
    for c in [1, 2, 4] {
        assert!(dir.path().join(format!("r-concurrency{c}.json")).is_file());
    }
}

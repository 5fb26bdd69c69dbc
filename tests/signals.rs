//! A run stopped from outside keeps what it measured. SIGINT, SIGTERM and
//! SIGHUP mid-level, in the warm-up and after a level: the level's JSON and
//! JSONL parse and are marked interrupted, completed + failed + cancelled =
//! issued, no further level starts, and the exit code is 128 + the signal.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::read_json;

/// A sim slow enough to be caught mid-level: 20 ms a step, 64 output tokens.
const SLOW_SIM: &[&str] = &[
    "run",
    "--engine-arg",
    "step_base_us=20000",
    "--random-input-len",
    "16",
    "--random-output-len",
    "64",
    "--ignore-eos",
    "--num-prompts",
    "24",
    "--save-result",
    "--save-detailed",
    "--result-filename",
    "r.json",
];

fn start(dir: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_enginebench"))
        .args(SLOW_SIM)
        .args(extra)
        .arg("--result-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Waits (at most 60 s) until `ready` holds.
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on the pid of a child we have not yet waited for.
    let rc = unsafe { libc::kill(child.id() as i32, signal) };
    assert_eq!(rc, 0, "kill failed");
}

/// Waits for the child and returns its exit code and stderr.
fn finish(child: Child) -> (Option<i32>, String) {
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (output.status.code(), err)
}

/// The interrupted level's result and its records agree with each other.
fn assert_interrupted_level(dir: &Path, stem: &str) {
    let result = read_json(&dir.join(format!("{stem}.json")));
    assert_eq!(result["interrupted"], true, "{result}");
    let count = |key: &str| result[key].as_u64().unwrap_or_else(|| panic!("{key}"));
    let (completed, failed, cancelled) = (count("completed"), count("failed"), count("cancelled"));
    assert_eq!(completed + failed + cancelled, count("issued"), "{result}");
    assert!(cancelled >= 1, "something was in flight: {result}");
    assert_eq!(failed, 0, "cancelled requests are not failures: {result}");
    assert!(completed >= 1, "{result}");
    let jsonl = std::fs::read_to_string(dir.join(format!("{stem}.requests.jsonl"))).unwrap();
    let mut outcomes = std::collections::BTreeMap::new();
    // The level's duration ends at its last delivery or completion, not at
    // the cancellations.
    let (mut first_scheduled, mut last_work) = (u64::MAX, 0u64);
    for line in jsonl.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("each line parses");
        let ns = |v: &serde_json::Value| v.as_u64();
        first_scheduled = first_scheduled.min(ns(&record["scheduled_ns"]).unwrap());
        if let Some(last) = record["deliveries"].as_array().and_then(|d| d.last()) {
            last_work = last_work.max(ns(&last["t_ns"]).unwrap());
        }
        if record["outcome"] != "cancelled" {
            last_work = last_work.max(ns(&record["finished_ns"]).unwrap_or(0));
        }
        let outcome = record["outcome"].as_str().expect("an outcome").to_string();
        *outcomes.entry(outcome).or_insert(0u64) += 1;
    }
    let of = |o: &str| outcomes.get(o).copied().unwrap_or(0);
    assert_eq!(of("completed"), completed, "{outcomes:?}");
    assert_eq!(of("failed"), 0, "{outcomes:?}");
    assert_eq!(of("cancelled"), cancelled, "{outcomes:?}");
    let duration = result["duration"].as_f64().unwrap();
    let worked = (last_work - first_scheduled) as f64 / 1e9;
    assert!(
        (duration - worked).abs() < 1e-3,
        "duration {duration} s, work ended after {worked} s"
    );
}

#[test]
fn each_stop_signal_mid_level_keeps_the_level_and_starts_no_other() {
    for (sig, code) in [
        (libc::SIGTERM, 143),
        (libc::SIGINT, 130),
        (libc::SIGHUP, 129),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let child = start(dir.path(), &["--max-concurrency", "1,2", "--quiet"]);
        let jsonl = dir.path().join("r-concurrency1.requests.jsonl");
        wait_for("a first record", || lines(&jsonl) >= 1);
        signal(&child, sig);
        let (exit, err) = finish(child);
        assert_eq!(exit, Some(code), "signal {sig}: {err}");
        let last = err.trim_end().lines().last().unwrap_or_default();
        assert!(last.contains("level 1/2 was cut short"), "{err}");
        assert_interrupted_level(dir.path(), "r-concurrency1");
        assert!(!dir.path().join("r-concurrency2.json").exists());
        assert!(!dir.path().join("r-concurrency2.requests.jsonl").exists());
    }
}

#[test]
fn a_signal_in_a_later_level_keeps_the_finished_level_whole() {
    let dir = tempfile::tempdir().unwrap();
    // Level 1 (all 24 at once) is quick; level 2 (one at a time) is not.
    let child = start(dir.path(), &["--max-concurrency", "24,1,2", "--quiet"]);
    let jsonl = dir.path().join("r-concurrency1.requests.jsonl");
    wait_for("level 2's first record", || lines(&jsonl) >= 1);
    signal(&child, libc::SIGTERM);
    let (exit, err) = finish(child);
    assert_eq!(exit, Some(143), "{err}");
    let first = read_json(&dir.path().join("r-concurrency24.json"));
    assert_eq!(first["interrupted"], false);
    assert_eq!(first["completed"], 24);
    assert_eq!(
        lines(&dir.path().join("r-concurrency24.requests.jsonl")),
        24
    );
    assert_interrupted_level(dir.path(), "r-concurrency1");
    assert!(
        !dir.path().join("r-concurrency2.json").exists(),
        "level 3 ran"
    );
    // The sweep's table holds the two levels that ran.
    let csv = std::fs::read_to_string(dir.path().join("r.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

#[test]
fn a_signal_in_the_warm_up_measures_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = start(
        dir.path(),
        &["--num-warmups", "8", "--max-concurrency", "1"],
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "ended: {seen}");
        seen.push_str(&line);
        if line.to_lowercase().contains("warm") {
            break;
        }
    }
    signal(&child, libc::SIGTERM);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{seen}{rest}");
    let last = rest.trim_end().lines().last().unwrap_or_default();
    assert!(last.contains("nothing was measured"), "{seen}{rest}");
    let results: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") || name.ends_with(".jsonl"))
        .collect();
    assert!(results.is_empty(), "{results:?}");
}

#[test]
fn a_second_signal_ends_the_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let child = start(dir.path(), &["--max-concurrency", "1", "--quiet"]);
    let jsonl = dir.path().join("r.requests.jsonl");
    wait_for("a first record", || lines(&jsonl) >= 1);
    let sent = Instant::now();
    signal(&child, libc::SIGINT);
    signal(&child, libc::SIGINT);
    let (exit, err) = finish(child);
    assert_eq!(exit, Some(130), "{err}");
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "{:?}",
        sent.elapsed()
    );
    // Every line written before is whole.
    let text = std::fs::read_to_string(&jsonl).unwrap();
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("each line parses");
    }
}

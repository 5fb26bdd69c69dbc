//! CSV and Markdown exports: one row per level with the result JSON's numbers,
//! rewritten after each level so a sweep that fails keeps its finished levels.

mod common;

use std::path::Path;

use common::{enginebench, files_ending, read_json, stderr, FAST_SIM};

fn sweep(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&["--result-dir", dir.to_str().unwrap(), "--save-result"]);
    args.extend_from_slice(&["--result-filename", "sweep.json", "--quiet"]);
    args.extend_from_slice(extra);
    enginebench(&args)
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "engine");
    reader.records().map(|r| r.unwrap()).collect()
}

fn column(path: &Path, name: &str) -> usize {
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == name)
        .unwrap()
}

#[test]
fn three_levels_give_three_rows_with_the_json_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let output = sweep(dir.path(), &["--max-concurrency", "1,2,4"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let csv_path = dir.path().join("sweep.csv");
    let rows = csv_rows(&csv_path);
    assert_eq!(rows.len(), 3);
    let markdown = std::fs::read_to_string(dir.path().join("sweep.md")).unwrap();
    // Header, rule and three rows.
    assert_eq!(markdown.lines().count(), 5, "{markdown}");
    for (row, level) in rows.iter().zip([1, 2, 4]) {
        let json = read_json(&dir.path().join(format!("sweep-concurrency{level}.json")));
        assert_eq!(
            &row[column(&csv_path, "max_concurrency")],
            level.to_string()
        );
        assert_eq!(&row[column(&csv_path, "status")], "ok");
        for key in [
            "output_throughput",
            "mean_ttft_ms",
            "p99_itl_ms",
            "mean_e2el_ms",
        ] {
            let in_csv: f64 = row[column(&csv_path, key)].parse().unwrap();
            // serde_json parses the last digit of a float approximately.
            let in_json = json[key].as_f64().unwrap();
            assert!((in_csv - in_json).abs() <= 1e-12 * in_json.abs(), "{key}");
            let rounded = format!("{in_csv:.2}");
            let md_row = markdown
                .lines()
                .find(|l| l.contains(&format!("| {level} |")));
            assert!(
                md_row.unwrap().contains(&rounded),
                "{key} {rounded} in {markdown}"
            );
        }
        assert_eq!(
            &row[column(&csv_path, "completed")],
            json["completed"].to_string()
        );
    }
    assert!(files_ending(dir.path(), ".tmp").is_empty());
}

#[test]
fn a_sweep_that_fails_in_level_two_keeps_level_one() {
    let dir = tempfile::tempdir().unwrap();
    // Level 1 (concurrency 12) takes 9 iterations: 1 prefill + 8 decode steps.
    let output = sweep(
        dir.path(),
        &[
            "--max-concurrency",
            "12,4",
            "--engine-arg",
            "fail_after_iterations=12",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let csv_path = dir.path().join("sweep.csv");
    let rows = csv_rows(&csv_path);
    assert_eq!(rows.len(), 2, "the failed level is kept too, marked");
    let status = column(&csv_path, "status");
    assert_eq!(&rows[0][status], "ok");
    assert_eq!(&rows[0][column(&csv_path, "completed")], "12");
    assert_eq!(&rows[1][status], "engine failed");
    let markdown = std::fs::read_to_string(dir.path().join("sweep.md")).unwrap();
    assert!(
        markdown.contains("| sim | sim | 12 | inf | ok | 12 |"),
        "{markdown}"
    );
}

//! The HTML report in a real browser (headless Chromium): it loads without a
//! console message, its tables hold the result files' numbers, text from the
//! results is escaped, and a screenshot renders. Needs Debian's `chromium`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{enginebench, read_json, stderr, FAST_SIM};

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or(PathBuf::from(CHROMIUM), PathBuf::from);
    assert!(
        path.is_file(),
        "{} not found: these tests need Chromium (apt-get install chromium)",
        path.display()
    );
    path
}

/// Runs headless Chromium on `page` with `extra` flags; returns stdout and stderr.
fn browse(page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "{}", stderr(&output));
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr(&output),
    )
}

/// Chromium logs every console message, errors included, as `...:CONSOLE:...`.
fn console_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// A two-level sim sweep with `--report`, its workload read from a file whose
/// name holds markup. Returns the result folder.
fn report_run(dir: &Path) -> PathBuf {
    let prompts = dir.join("<script>alert(1)<script>.jsonl");
    let lines: String = (0..6)
        .map(|i| format!("{{\"prompt_token_ids\": [5, 6, 7, {i}], \"output_len\": 4}}\n"))
        .collect();
    std::fs::write(&prompts, lines).unwrap();
    let results = dir.join("results");
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&["--dataset-name", "prompts", "--dataset-path"]);
    args.push(prompts.to_str().unwrap());
    args.extend_from_slice(&["--max-concurrency", "1,2", "--report", "--save-detailed"]);
    args.extend_from_slice(&["--result-filename", "r.json", "--quiet", "--result-dir"]);
    args.push(results.to_str().unwrap());
    let output = enginebench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    results
}

/// The texts of the cells `<td ... data-key="KEY">TEXT ...` in page order.
fn cells<'a>(dom: &'a str, key: &str) -> Vec<&'a str> {
    let marker = format!("data-key=\"{key}\">");
    dom.split(marker.as_str())
        .skip(1)
        .map(|rest| rest.split(['<', ' ']).next().unwrap_or(""))
        .collect()
}

#[test]
fn console_errors_are_seen() {
    // The negative control: the check below must catch a broken page.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>",
    )
    .unwrap();
    let (_, log) = browse(&page, &["--dump-dom"]);
    let lines = console_lines(&log);
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains("undefinedFunction is not defined"),
        "{log}"
    );
}

#[test]
fn the_report_loads_cleanly_and_shows_the_json_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let results = report_run(dir.path());
    let page = results.join("r.html");
    let (dom, log) = browse(&page, &["--dump-dom"]);
    assert!(console_lines(&log).is_empty(), "{log}");
    assert!(dom.contains("<h1>enginebench report</h1>"), "{dom}");

    // Markup from the results stays text.
    assert!(!dom.contains("<script"), "an unescaped <script> in {dom}");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;script&gt;.jsonl"));

    // The summary table: one row per level, in concurrency order.
    let levels = [1, 2].map(|c| read_json(&results.join(format!("r-concurrency{c}.json"))));
    assert_eq!(cells(&dom, "x"), ["1", "2"]);
    for key in [
        "mean_ttft_ms",
        "p99_tpot_ms",
        "mean_itl_ms",
        "mean_e2el_ms",
        "output_throughput",
    ] {
        let expected: Vec<String> = levels
            .iter()
            .map(|j| format!("{:.2}", j[key].as_f64().unwrap()))
            .collect();
        assert_eq!(cells(&dom, key), expected, "{key}");
    }
    let completed: Vec<String> = levels.iter().map(|j| j["completed"].to_string()).collect();
    assert_eq!(cells(&dom, "completed"), completed);
    // Ten charts inlined; nothing to fetch (no scripts, links, images or sources).
    assert_eq!(dom.matches("<figure>").count(), 10);
    for fetching in ["<link", "<img", "src=", "url("] {
        assert!(!dom.contains(fetching), "{fetching} in the page");
    }
}

#[test]
fn the_report_screenshot_renders() {
    let dir = tempfile::tempdir().unwrap();
    let results = report_run(dir.path());
    let shot = dir.path().join("shot.png");
    let flag = format!("--screenshot={}", shot.display());
    browse(&results.join("r.html"), &[&flag, "--window-size=1280,2000"]);
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (1280, 2000));
    let channels = frame.color_type.samples();
    let pixels = &pixels[..frame.buffer_size()];
    let first = &pixels[..channels];
    assert!(
        pixels.chunks(channels).any(|p| p != first),
        "a single colour"
    );
}

#[test]
fn the_report_shows_verdicts_against_a_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = FAST_SIM.to_vec();
        args.extend_from_slice(&["--max-concurrency", "4", "--quiet", "--result-dir", results]);
        args.extend_from_slice(extra);
        let output = enginebench(&args);
        assert!(output.status.success(), "{}", stderr(&output));
    };
    // Steps of milliseconds and 40 requests, as in tests/gate.rs: a loaded
    // machine's late wake-ups are then small beside the change.
    let base = ["--engine-arg", "step_base_us=2000", "--num-prompts", "40"];
    run(&[&base[..], &["--save-baseline", "main"]].concat());
    // Twice the decode step: TPOT regresses.
    let slower = [
        "--num-prompts",
        "40",
        "--engine-arg",
        "step_base_us=4000",
        "--baseline",
        "main",
    ];
    run(&[&slower[..], &["--report", "--result-filename", "new.json"]].concat());
    let page = std::fs::read_to_string(dir.path().join("new.html")).unwrap();
    assert!(
        page.contains("<h3>Against baseline main (max concurrency 4)</h3>"),
        "{page}"
    );
    let json = read_json(&dir.path().join("new.json"));
    let tpot = json["baseline"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "tpot")
        .unwrap();
    assert_eq!(tpot["verdict"], "regressed");
    let row = format!(
        "<tr><td>tpot</td><td class=\"num\">{:+.2}%</td>",
        tpot["change"]["mean"]["point_estimate"].as_f64().unwrap() * 100.0
    );
    let at = page.find(&row).unwrap_or_else(|| panic!("{row} in {page}"));
    assert!(page[at..]
        .split("</tr>")
        .next()
        .unwrap()
        .contains(">regressed<"));
}

//! Result files written by enginebench 0.1.0 (`tests/fixtures/results/`) still
//! load as `ResultDoc`s, lose nothing when written back, and feed every
//! command that reads results.

mod common;

use std::path::{Path, PathBuf};

use common::{enginebench, stderr, stdout};
use enginebench::metrics::{LatencyMetric, Metric};
use enginebench::results::{ResultDoc, ResultFile, SpeedOfLightDoc};
use enginebench::schedule::RequestRate;
use enginebench::stats::Verdict;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/results")
        .join(name)
}

fn json_of(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_closed_loop_result_with_trials_and_a_baseline_loads_with_its_samples() {
    let result = ResultFile::read(&fixture("v0.1.0.json")).unwrap();
    let doc = &result.doc;
    assert_eq!(
        (doc.backend.as_str(), doc.model_id.as_str()),
        ("sim", "tiny-llama")
    );
    assert_eq!(doc.max_concurrency, Some(2));
    assert_eq!(doc.request_rate, RequestRate::Infinite);
    assert_eq!((doc.trials, doc.num_prompts, doc.completed), (2, 24, 24));
    assert!(doc.simulated && doc.engine.simulated);
    assert_eq!(
        doc.benchmark_id.to_string(),
        "sim/tiny-llama/random-32x8/closed-loop/c2"
    );
    // The flat keys and the statistics agree, as the writer made them.
    let ttft = doc.latency(LatencyMetric::Ttft);
    let estimates = doc.statistics.get(LatencyMetric::Ttft).estimates.unwrap();
    let (min, median, max) = (ttft.min.unwrap(), ttft.median.unwrap(), ttft.max.unwrap());
    assert!((estimates.mean.point_estimate - ttft.mean.unwrap()).abs() < 1e-12);
    assert!(min <= median && median <= max);
    let p99 = doc.percentile(LatencyMetric::Itl, 99.0).unwrap();
    assert!(p99 <= doc.latency(LatencyMetric::Itl).max.unwrap());
    assert!(doc.percentile(LatencyMetric::Itl, 99.9).is_none());
    let spread = doc.throughput_spread.get(Metric::OutputThroughput).unwrap();
    assert_eq!(spread.per_trial.len(), 2);
    let baseline = doc.baseline.as_ref().unwrap();
    assert_eq!(baseline.name, "main");
    let tpot = baseline
        .changes
        .iter()
        .find(|c| c.metric == Metric::Latency(LatencyMetric::Tpot))
        .unwrap();
    assert_eq!(tpot.comparison.unwrap().verdict, Verdict::Regressed);
    let SpeedOfLightDoc::Figures(light) = &doc.speed_of_light else {
        panic!("{:?}", doc.speed_of_light);
    };
    assert_eq!(light.gpu.name, "H100-SXM");
    assert_eq!(doc.detailed_files.as_ref().map(Vec::len), Some(2));
    // Its samples file and its detailed records are found beside it.
    assert_eq!(result.samples.latencies.ttft_ms.len(), 24);
    assert_eq!(result.samples.trials.len(), 2);
    assert_eq!(result.records().unwrap().len(), 12);
}

#[test]
fn an_open_loop_result_with_goodput_and_no_speed_of_light_loads() {
    let result = ResultFile::read(&fixture("v0.1.0-open-loop.json")).unwrap();
    let doc = &result.doc;
    assert_eq!(doc.request_rate, RequestRate::PerSecond(400.0));
    assert_eq!(doc.max_concurrency, None);
    assert!(doc.request_goodput.is_some());
    assert_eq!(doc.goodput_slos_ms.ttft_ms, Some(10.0));
    assert!(doc.baseline.is_none() && doc.detailed_file.is_none());
    assert!(doc
        .throughput_spread
        .get(Metric::OutputThroughput)
        .is_none());
    assert!(
        matches!(&doc.speed_of_light, SpeedOfLightDoc::Skipped { skipped } if skipped.contains("config.json"))
    );
    let python = doc.environment.python.as_ref().unwrap();
    assert!(python.packages.contains_key("vllm"));
    assert!(result.records().is_none());
}

/// Read and written back, a file is the same JSON: every key and value survives.
#[test]
fn results_round_trip_without_losing_a_key() {
    for name in ["v0.1.0.json", "v0.1.0-open-loop.json"] {
        let path = fixture(name);
        let written = json_of(&path);
        let doc: ResultDoc = serde_json::from_value(written.clone()).unwrap();
        let again = serde_json::to_value(&doc).unwrap();
        assert_eq!(again, written, "{name}");
    }
}

#[test]
fn the_commands_that_read_results_read_the_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let closed = fixture("v0.1.0.json");
    let closed = closed.to_str().unwrap();
    let report = enginebench(&[
        "report", closed, "-o", out, "--name", "f", "--format", "svg",
    ]);
    assert!(report.status.success(), "{}", stderr(&report));
    let page = std::fs::read_to_string(dir.path().join("f.html")).unwrap();
    assert!(page.contains("<h3>Against baseline main (max concurrency 2)</h3>"));
    assert!(page.contains("<td>H100-SXM</td>"));
    let check = enginebench(&["check", "--against", closed, closed]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let compare = enginebench(&["compare", closed, closed]);
    assert!(stdout(&compare).contains("Concurrency 2: random-32x8 / closed-loop"));
}

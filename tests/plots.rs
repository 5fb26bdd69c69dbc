//! `enginebench plot` on saved results: the files it writes, one line per
//! sweep, and a one-line error for a bad result file.

mod common;

use std::path::Path;

use common::{enginebench, stderr, FAST_SIM};

/// A two-level sweep of the sim with `step_base_us`, saved in `dir`.
fn sweep(dir: &Path, step_base_us: &str) {
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    let setting = format!("step_base_us={step_base_us}");
    args.extend_from_slice(&["--engine-arg", &setting, "--max-concurrency", "1,2"]);
    args.extend_from_slice(&["--save-result", "--save-detailed", "--quiet"]);
    args.extend_from_slice(&["--result-dir", dir.to_str().unwrap()]);
    let output = enginebench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Width, height and whether the pixels differ, from the PNG itself.
fn png_facts(path: &Path) -> (u32, u32, bool) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let pixels = &pixels[..frame.buffer_size()];
    let first = &pixels[..3];
    let varied = pixels.chunks(3).any(|p| p != first);
    (frame.width, frame.height, varied)
}

#[test]
fn two_sweeps_give_two_lines_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, out) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("out"),
    );
    sweep(&a, "200");
    sweep(&b, "400");
    let output = enginebench(&[
        "plot",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--name",
        "two",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let charts = [
        "ttft",
        "tpot",
        "itl",
        "e2el",
        "output_throughput",
        "cdf-ttft",
        "cdf-tpot",
        "cdf-itl",
        "cdf-e2el",
        "timeline",
    ];
    for chart in charts {
        let (w, h, varied) = png_facts(&out.join(format!("two-{chart}.png")));
        assert_eq!((w, h), (900, 540), "{chart}");
        assert!(varied, "{chart}.png is a single colour");
        let svg = std::fs::read_to_string(out.join(format!("two-{chart}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{chart}"
        );
    }
    let ttft = std::fs::read_to_string(out.join("two-ttft.svg")).unwrap();
    assert!(ttft.contains("Mean TTFT (ms)") && ttft.contains("max concurrency"));
    // One legend entry per sweep: the two differ in their settings only.
    let legends: Vec<&str> = ttft
        .split("<text")
        .filter(|t| t.contains("sim (sim)"))
        .collect();
    assert_eq!(legends.len(), 2, "{ttft}");
    assert!(ttft.contains("step_base_us=200") && ttft.contains("step_base_us=400"));
}

#[test]
fn a_malformed_result_file_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    for input in [bad.clone(), dir.path().join("missing.json")] {
        let output = enginebench(&[
            "plot",
            input.to_str().unwrap(),
            "-o",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(2));
        let err = stderr(&output);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

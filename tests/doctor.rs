//! `enginebench doctor`, in the default build: usage, the simulated engine, a
//! machine without TensorRT-LLM, an engine this build lacks, and TensorRT-LLM
//! installs that cannot run (made here: a release without the C++ executor, a
//! library whose dependency is missing). The doctor's checks of the test
//! doubles, of the real Python engines and of the HTTP engines' servers are in
//! trtllm_bridge.rs, python_engines.rs and http_engines.rs.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{stderr, stdout};

fn doctor(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_enginebench"));
    command.arg("doctor").args(args).env_remove("TRTLLM_ROOT");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

#[test]
fn the_simulated_engine_can_always_start() {
    let output = doctor(&["--engine", "sim"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("a run of sim can start"));
    assert_eq!(
        stdout(&output),
        "[ok  ] this build: opens the sim engine\n\
         [ok  ] engine: the simulated engine needs nothing: its figures model in-flight batching, they measure no engine\n\
         doctor: a run of sim can start\n"
    );
    assert_eq!(stderr(&output), "");
}

/// A Python without site-packages: an environment that surely has no
/// TensorRT-LLM, whatever this machine has installed.
#[cfg(not(feature = "trtllm"))]
fn bare_python(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("python");
    std::fs::write(&path, "#!/bin/sh\nexec python3 -S \"$@\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The machine this project is developed on: no TensorRT-LLM anywhere. Every
/// line names what is missing and how to get it; a run cannot start (exit 1),
/// and stderr says so in one line.
#[test]
#[cfg(not(feature = "trtllm"))]
fn a_machine_without_tensorrt_llm_is_told_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let python = bare_python(dir.path());
    let output = doctor(
        &[
            "--engine",
            "trtllm",
            "--model",
            "/engines/llama-3-8b-tp1",
            "--python",
            python.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0],
        "[FAIL] this build: has no trtllm engine: cargo build --release --features trtllm (against TensorRT-LLM 1.2.x)"
    );
    assert_eq!(
        lines[1],
        format!(
            "[FAIL] tensorrt_llm: not found: TRTLLM_ROOT is not set and {} has no tensorrt_llm \
             package; install TensorRT-LLM 1.2.x (pip install tensorrt_llm==1.2.* from NVIDIA's \
             index, or its container) or set TRTLLM_ROOT",
            python.display()
        )
    );
    // On a machine with a GPU the last line lists it; here there is none.
    assert!(
        lines[2].starts_with("[ok  ] gpus: ") || lines[2].starts_with("[FAIL] gpus: none: "),
        "{out}"
    );
    let failed = 2 + usize::from(lines[2].starts_with("[FAIL]"));
    assert_eq!(
        stderr(&output),
        format!("error: doctor: {failed} check(s) failed: a run of trtllm cannot start\n")
    );
}

/// An engine behind a feature this build lacks: the feature to build with,
/// and a run cannot start even when its server answers.
#[test]
#[cfg(not(feature = "http"))]
fn an_engine_this_build_lacks_names_its_feature() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let output = doctor(&["--engine", "openai", "--base-url", &url], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "[FAIL] this build: has no openai engine: cargo build --release --features http\n\
             [ok  ] server: {url} accepts connections\n"
        )
    );
    assert_eq!(
        stderr(&output),
        "error: doctor: 1 check(s) failed: a run of openai cannot start\n"
    );
}

#[test]
fn an_unknown_engine_is_a_usage_error_in_one_line() {
    let output = doctor(&["--engine", "tgi"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("unknown engine 'tgi'"), "{err}");
}

/// A TensorRT-LLM package folder: `version.py` and, optionally, libraries.
fn install(dir: &Path, version: &str) {
    std::fs::create_dir_all(dir.join("libs")).unwrap();
    std::fs::write(
        dir.join("version.py"),
        format!("__version__ = \"{version}\"\n"),
    )
    .unwrap();
}

fn compile(args: &[&str]) {
    let status = Command::new("cc")
        .args(args)
        .status()
        .expect("a C compiler");
    assert!(status.success(), "cc {args:?}");
}

#[test]
fn a_release_without_the_cpp_executor_says_to_use_trtllm_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "1.4.0");
    let output = doctor(
        &["--engine", "trtllm", "--ignore-eos"],
        &[("TRTLLM_ROOT", dir.path())],
    );
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    let line = out.lines().find(|l| l.contains("tensorrt_llm:")).unwrap();
    assert!(line.starts_with("[FAIL]"), "{out}");
    assert!(line.contains("1.4.0 has no C++ executor"), "{line}");
    assert!(line.contains("--engine trtllm-pytorch"), "{line}");
    assert!(stderr(&output).contains("a run of trtllm cannot start"));
}

#[test]
fn a_library_that_no_folder_provides_is_named_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tensorrt_llm");
    install(&root, "1.2.0");
    // libtensorrt_llm.so needing libnvinfer.so.10, which then goes away.
    let stub = dir.path().join("stub");
    std::fs::create_dir_all(&stub).unwrap();
    let source = dir.path().join("empty.c");
    std::fs::write(&source, "int enginebench_stub;\n").unwrap();
    let src = source.to_str().unwrap();
    let nvinfer = stub.join("libnvinfer.so.10");
    compile(&[
        "-shared",
        "-fPIC",
        "-o",
        nvinfer.to_str().unwrap(),
        src,
        "-Wl,-soname,libnvinfer.so.10",
    ]);
    let libs = root.join("libs");
    let library = libs.join("libtensorrt_llm.so");
    compile(&[
        "-shared",
        "-fPIC",
        "-o",
        library.to_str().unwrap(),
        src,
        "-Wl,--no-as-needed",
        nvinfer.to_str().unwrap(),
        "-Wl,-rpath,$ORIGIN",
    ]);
    let plugin = libs.join("libnvinfer_plugin_tensorrt_llm.so");
    compile(&["-shared", "-fPIC", "-o", plugin.to_str().unwrap(), src]);
    std::fs::remove_file(&nvinfer).unwrap();
    let output = doctor(
        &["--engine", "trtllm", "--ignore-eos"],
        &[("TRTLLM_ROOT", &root)],
    );
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    assert!(out.contains("[ok  ] tensorrt_llm: 1.2.0"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("libnvinfer.so.10"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with("[FAIL]"), "{line}");
    assert!(line.contains("needed by libtensorrt_llm.so"), "{line}");
    assert!(line.contains("TensorRT: pip install"), "{line}");
    assert!(
        out.contains("[FAIL] engine: no --model ENGINE_DIR"),
        "{out}"
    );
}

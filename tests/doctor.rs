//! `enginebench doctor`, in the default build: usage, the simulated engine, and
//! TensorRT-LLM installs that cannot run (made here: a release without the C++
//! executor, a library whose dependency is missing). The doctor's checks of
//! the test double and of the real Python engines are in trtllm_bridge.rs and
//! python_engines.rs.

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

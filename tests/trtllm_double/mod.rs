//! Helpers for the tests that drive the `trtllm` engine against the C++ test
//! double (`tests/trtllm_double`): fake engine directories and a watchdog.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use enginebench::engine::trtllm::TrtllmEngine;
use enginebench::engine::EngineOptions;

/// An "engine directory" the double accepts: trtllm-build's config.json layout
/// plus the double's own settings in test_double.conf.
pub fn engine_dir(dir: &Path, tp: u32, conf: &str) -> PathBuf {
    let config = serde_json::json!({
        "pretrained_config": {"vocab_size": 1000, "mapping": {"tp_size": tp, "pp_size": 1}},
        "build_config": {"max_seq_len": 4096},
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("test_double.conf"), conf).unwrap();
    dir.to_path_buf()
}

/// Options for a run that ignores end-of-sequence, as most tests' runs do.
pub fn options(dir: &Path, args: &[(&str, &str)]) -> EngineOptions {
    EngineOptions {
        model: Some(dir.to_path_buf()),
        tensor_parallel_size: 1,
        args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ignore_eos: true,
        ..EngineOptions::default()
    }
}

/// A Hugging Face model folder holding only what the engine reads from it:
/// `generation_config.json` with these end tokens.
pub fn tokenizer_dir(dir: &Path, eos: serde_json::Value) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let config = serde_json::json!({"bos_token_id": 1, "eos_token_id": eos});
    std::fs::write(dir.join("generation_config.json"), config.to_string()).unwrap();
    dir.to_path_buf()
}

/// Opens the engine on a fresh double with `conf`.
pub fn open(conf: &str) -> (tempfile::TempDir, TrtllmEngine) {
    let dir = tempfile::tempdir().unwrap();
    engine_dir(dir.path(), 1, conf);
    let engine = TrtllmEngine::from_options(&options(dir.path(), &[])).unwrap();
    (dir, engine)
}

/// Runs `body` and fails the test if it takes longer than `limit`: a hang in
/// the bridge must fail, not stall CI.
pub fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(body());
    });
    match receiver.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("did not finish within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the test body panicked"),
    }
}

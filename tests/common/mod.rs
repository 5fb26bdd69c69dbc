//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, TokenizerBuilder};

/// A sim run that takes well under a second.
pub const FAST_SIM: &[&str] = &[
    "run",
    "--engine-arg",
    "step_base_us=200",
    "--engine-arg",
    "prefill_us_per_token=1",
    "--random-input-len",
    "32",
    "--random-output-len",
    "8",
    "--num-prompts",
    "12",
];

pub fn enginebench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_enginebench"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs the binary with `args` and checks that it failed as a usage error:
/// exit code 2, no panic, one line on stderr holding `expected`.
pub fn assert_one_line_usage_error(args: &[&str], expected: &str) {
    let output = enginebench(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: stderr was {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(
        err.contains(expected),
        "{args:?}: expected '{expected}' in: {err}"
    );
}

/// Files in `dir` whose names end with `suffix`, sorted.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.to_string_lossy().ends_with(suffix));
    files.sort();
    files
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Trains a small byte-level BPE tokenizer on generated text and saves it as
/// `dir/tokenizer.json`: no download, the same kind of file models ship.
pub fn train_tokenizer(dir: &Path) -> PathBuf {
    let corpus = dir.join("corpus.txt");
    let words = [
        "the", "engine", "token", "batch", "cache", "prefill", "decode", "latency", "model",
        "request",
    ];
    let text: String = (0..2000)
        .map(|i| {
            format!(
                "{} {} {}.\n",
                words[i % 10],
                words[(i * 7 + 3) % 10],
                words[(i * 3 + 1) % 10]
            )
        })
        .collect();
    std::fs::write(&corpus, text).unwrap();
    let mut trainer = BpeTrainerBuilder::new()
        .show_progress(false)
        .vocab_size(300)
        .min_frequency(0)
        .special_tokens(vec![AddedToken::from("<unk>", true)])
        .build();
    let mut tokenizer = TokenizerBuilder::new()
        .with_model(BPE::default())
        .with_normalizer(None::<tokenizers::NormalizerWrapper>)
        .with_pre_tokenizer(Some(ByteLevel::default()))
        .with_post_processor(Some(ByteLevel::default()))
        .with_decoder(Some(ByteLevel::default()))
        .build()
        .unwrap();
    let path = dir.join("tokenizer.json");
    tokenizer
        .train_from_files(&mut trainer, vec![corpus.to_string_lossy().into_owned()])
        .unwrap()
        .save(&path, false)
        .unwrap();
    path
}

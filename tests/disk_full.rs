//! A result folder on a full disk: the error names the file and the
//! operating system's reason, the results are written whole to a fallback
//! folder that the error names, the exit code is 1, and no `.tmp` file is
//! left behind. The full disk is a tiny tmpfs, which needs root (CI runs as
//! root); without it the test fails and says why rather than passing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{stderr, FAST_SIM};

/// A tmpfs of one page mounted on a fresh folder, unmounted when dropped.
struct TinyDisk {
    _dir: tempfile::TempDir,
    mount: PathBuf,
}

impl TinyDisk {
    fn mount() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path().join("full");
        std::fs::create_dir(&mount).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4k", "tmpfs"])
            .arg(&mount)
            .status()
            .expect("mount(8) exists");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root): {status}"
        );
        Self { _dir: dir, mount }
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_full_result_folder_falls_back_and_says_where_and_why() {
    let disk = TinyDisk::mount();
    let tmp = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&[
        "--max-concurrency",
        "2,4",
        "--save-result",
        "--save-detailed",
    ]);
    args.extend_from_slice(&["--quiet", "--result-filename", "r.json", "--result-dir"]);
    args.push(disk.mount.to_str().unwrap());
    let output = Command::new(env!("CARGO_BIN_EXE_enginebench"))
        .args(&args)
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let last = err.trim_end().lines().last().unwrap();
    assert!(last.starts_with("error: cannot write "), "{err}");
    assert!(last.contains("No space left on device"), "{err}");
    assert!(last.contains(disk.mount.to_str().unwrap()), "{err}");

    // The fallback folder the error names holds every level, whole.
    let fallbacks = names(tmp.path());
    assert_eq!(fallbacks.len(), 1, "{fallbacks:?}");
    let fallback = tmp.path().join(&fallbacks[0]);
    assert!(last.contains(fallback.to_str().unwrap()), "{err}");
    for c in [2, 4] {
        let result = common::read_json(&fallback.join(format!("r-concurrency{c}.json")));
        assert_eq!(result["completed"], 12);
        let jsonl =
            std::fs::read_to_string(fallback.join(format!("r-concurrency{c}.requests.jsonl")))
                .unwrap();
        assert_eq!(jsonl.lines().count(), 12, "c{c}");
        for line in jsonl.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("whole lines");
        }
    }
    let left: Vec<String> = names(&disk.mount)
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "stale temporary files: {left:?}");
}

#[test]
fn a_result_folder_that_is_a_file_names_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let nested = blocker.join("results");
    let mut args: Vec<&str> = FAST_SIM.to_vec();
    args.extend_from_slice(&["--save-result", "--result-dir", nested.to_str().unwrap()]);
    let output = common::enginebench(&args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(nested.to_str().unwrap()), "{err}");
    assert!(err.contains("Not a directory"), "{err}");
}

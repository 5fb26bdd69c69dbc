//! The backstop that ends the processes a run started (an engine's workers
//! that its shutdown left behind). Alone in its binary: it ends every
//! process started after it begins watching, which in a binary of parallel
//! tests would include theirs.

use std::process::Command;
use std::time::{Duration, Instant};

use enginebench::process::children::{descendants, Children};

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn processes_started_after_watching_are_ended_and_earlier_ones_are_not() {
    let mut earlier = Command::new("sleep").arg("30").spawn().unwrap();
    let children = Children::watch();
    // A shell whose child ignores SIGTERM: only SIGKILL ends that one.
    let mut later = Command::new("sh")
        .args(["-c", "trap '' TERM; sleep 30 & wait"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while children.started().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = children.started();
    assert!(started.contains(&(later.id() as i32)), "{started:?}");
    assert_eq!(started.len(), 2, "the shell and its sleep: {started:?}");
    assert!(!started.contains(&(earlier.id() as i32)));
    let began = Instant::now();
    assert_eq!(children.end_all(), 2);
    let _ = later.wait();
    assert!(children.started().is_empty(), "{:?}", children.started());
    for pid in &started {
        assert!(!alive(*pid as u32), "{pid} outlived end_all");
    }
    // The sleep ignored SIGTERM: it took the grace period, then SIGKILL.
    assert!(
        began.elapsed() >= Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
    assert!(alive(earlier.id()), "a process from before is left alone");
    assert!(descendants().contains(&(earlier.id() as i32)));
    earlier.kill().unwrap();
    earlier.wait().unwrap();
}

//! The test helper that ends a child's whole process group reaches the
//! grandchildren too: what servers under test leave running otherwise.

#[path = "support/process_group.rs"]
mod process_group;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use process_group::GroupChild;

fn alive(pid: u32) -> bool {
    // A zombie has exited; only a running process counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn dropping_ends_the_grandchildren() {
    // A shell that starts a grandchild ignoring SIGTERM, then waits: only the
    // group's SIGKILL after the grace period ends it.
    let mut command = Command::new("sh");
    command
        .args(["-c", "trap '' TERM; sleep 300 & echo $!; wait"])
        .stdout(Stdio::piped());
    let mut group = GroupChild::spawn(&mut command).unwrap();
    let stdout = group.child().stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let grandchild: u32 = line.trim().parse().unwrap();
    assert!(alive(grandchild));
    drop(group);
    assert!(
        !alive(grandchild),
        "grandchild {grandchild} outlived its group"
    );
}

#[test]
fn a_cooperative_group_ends_on_sigterm_without_the_grace_period() {
    let mut command = Command::new("sh");
    command.args(["-c", "sleep 300 & sleep 300 & wait"]);
    let mut group = GroupChild::spawn(&mut command).unwrap();
    let started = std::time::Instant::now();
    group.end_group();
    assert!(!group.group_alive());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

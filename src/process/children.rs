//! The processes a run starts (an engine's workers: vLLM's engine core and
//! tensor-parallel ranks, TensorRT-LLM's MPI workers), ended when the run
//! ends. Engines end their own in `shutdown()`, which every way out of a run
//! reaches; this is the backstop for one that did not: every process that
//! descends from this one and was not there when the run started gets
//! SIGTERM, a grace period, then SIGKILL.
//!
//! On Linux the process becomes a child subreaper first, so a worker whose
//! parent died (an `mpirun`, a launcher) is re-parented to it instead of to
//! init and is still found. Elsewhere, without /proc, this does nothing.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long processes get between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// The descendants that belong to someone else: there before the run.
#[derive(Clone, Debug, Default)]
pub struct Children {
    before: BTreeSet<i32>,
}

impl Children {
    /// Notes the descendants already running, and becomes a subreaper.
    pub fn watch() -> Self {
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and touches no memory.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        Self {
            before: descendants().into_iter().collect(),
        }
    }

    /// Live descendants started since [`Children::watch`].
    pub fn started(&self) -> Vec<i32> {
        let mut pids = descendants();
        pids.retain(|pid| !self.before.contains(pid));
        pids
    }

    /// Ends every process started since [`Children::watch`]; returns how many there were.
    pub fn end_all(&self) -> usize {
        let pids = self.started();
        if pids.is_empty() {
            return 0;
        }
        signal_all(&pids, libc::SIGTERM);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && pids.iter().any(|&p| alive(p)) {
            reap(&pids);
            std::thread::sleep(Duration::from_millis(50));
        }
        // Those that ignored SIGTERM, and any they started meanwhile.
        let mut left = self.started();
        left.extend(pids.iter().copied().filter(|&p| alive(p)));
        signal_all(&left, libc::SIGKILL);
        reap(&left);
        pids.len()
    }
}

fn signal_all(pids: &[i32], signal: i32) {
    for &pid in pids {
        // SAFETY: kill takes plain integers; a pid that exited meanwhile only
        // makes it fail with ESRCH.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// Collects the exit status of those of `pids` that are this process's
/// children and have exited (workers re-parented to a subreaper become its
/// children and would stay zombies). Only these: another child's status
/// belongs to whoever waits for it.
fn reap(pids: &[i32]) {
    for &pid in pids {
        let mut status = 0;
        // SAFETY: waitpid writes only into `status`, a valid local; for a pid
        // that is not a child of ours it fails with ECHILD.
        unsafe {
            libc::waitpid(pid, &mut status, libc::WNOHANG);
        }
    }
}

/// Running (not zombie) processes below this one, from /proc.
pub fn descendants() -> Vec<i32> {
    let table = process_table();
    let mut found = Vec::new();
    let mut frontier = vec![std::process::id() as i32];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid, _) in table.iter().filter(|(_, ppid, _)| *ppid == parent) {
            if !found.contains(&pid) && pid != ppid {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found.retain(|pid| table.iter().any(|(p, _, zombie)| p == pid && !zombie));
    found
}

fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|(_, zombie)| !zombie)
}

/// `(pid, parent pid, zombie)` of every process /proc shows.
fn process_table() -> Vec<(i32, i32, bool)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| stat(pid).map(|(ppid, zombie)| (pid, ppid, zombie)))
        .collect()
}

/// Parent pid and zombie state from `/proc/PID/stat`. The command name may
/// hold spaces and parentheses, so fields are read after its last `)`.
fn stat(pid: i32) -> Option<(i32, bool)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &text[text.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state == "Z" || state == "X"))
}

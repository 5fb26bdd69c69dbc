//! A child process started in a process group of its own, and ended with
//! everything it started, however the test ends (pass, failure or panic).
//!
//! Servers such as `vllm serve` start helper processes (vLLM's engine core);
//! killing only the process we spawned orphans them, and they keep gigabytes
//! of memory long after the test. Ending the group reaches them all: SIGTERM
//! first, so they shut down cleanly, then SIGKILL after a grace period.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// How long the group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

pub struct GroupChild {
    child: Child,
}

impl GroupChild {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> std::io::Result<Self> {
        let child = command.process_group(0).spawn()?;
        Ok(Self { child })
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// True while any process of the group is alive (the leader included).
    pub fn group_alive(&self) -> bool {
        signal_group("0", self.child.id())
    }

    /// SIGTERM to the group, SIGKILL to whatever is left after [`GRACE`].
    pub fn end_group(&mut self) {
        let pgid = self.child.id();
        if signal_group("TERM", pgid) {
            let deadline = Instant::now() + GRACE;
            while Instant::now() < deadline {
                // Reap the leader so it does not linger as a zombie member.
                let _ = self.child.try_wait();
                if !self.group_alive() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if signal_group("KILL", pgid) {
                // SIGKILL is delivered asynchronously: wait until the group is gone.
                let _ = self.child.wait();
                let deadline = Instant::now() + GRACE;
                while self.group_alive() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        self.end_group();
    }
}

/// `kill -SIGNAL -- -PGID`; true when the signal reached a process.
fn signal_group(signal: &str, pgid: u32) -> bool {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

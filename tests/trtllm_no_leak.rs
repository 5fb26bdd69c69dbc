//! Opening, using and closing the `trtllm` engine (against the executor test
//! double) many times leaves no thread behind. One test in its own binary, so
//! no other test's threads are counted.
#![cfg(feature = "trtllm-test-double")]

mod trtllm_double;

use std::sync::Arc;
use std::time::Duration;

use enginebench::engine::{Engine, EngineRequest};
use trtllm_double::{open, within};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[test]
fn open_run_close_leaves_no_thread_behind() {
    let before = threads();
    within(Duration::from_secs(60), || {
        for round in 0..20 {
            let (_dir, mut engine) = open("step_us=100\n");
            let request = EngineRequest {
                id: round,
                prompt_token_ids: Arc::from(vec![1u32; 4]),
                max_output_tokens: 1_000_000,
                ignore_eos: true,
                sampling: Default::default(),
            };
            engine.submit(request).unwrap();
            let mut events = Vec::new();
            engine.poll(Duration::from_millis(20), &mut events).unwrap();
            if round % 2 == 0 {
                engine.shutdown().unwrap(); // the odd rounds rely on Drop
            }
        }
    });
    // The watchdog's own thread has ended once its result was received.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(threads(), before, "threads left behind");
}

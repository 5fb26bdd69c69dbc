//! What one `poll()` of a Python engine costs on the Rust side: taking the GIL,
//! calling the driver, and turning the deliveries it returns into events. The
//! driver here (benches/support/stub_driver.py) returns the same N one-token
//! deltas at once, so the figure is the round trip alone; the Python driver's
//! own time per step beside vLLM's loop is `benches/vllm_step_overhead.py`.
//!
//! `cargo bench --features vllm,embed-python --bench python_poll`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use enginebench::engine::python::{DriverArgs, DriverSource, PythonEngine};
use enginebench::engine::{Engine, EngineOptions};

const STUB: DriverSource = DriverSource {
    engine: "stub",
    module: "enginebench_driver_stub",
    file_name: "stub_driver.py",
    code: include_str!("support/stub_driver.py"),
    requires: "json",
    install_hint: "",
};

fn poll(c: &mut Criterion) {
    let mut group = c.benchmark_group("python_poll");
    for deliveries in [1usize, 16, 64] {
        let args = DriverArgs {
            pass_through: vec![("deliveries".into(), deliveries.to_string())],
            settings: Vec::new(),
        };
        let options = EngineOptions {
            tensor_parallel_size: 1,
            ..EngineOptions::default()
        };
        let mut engine = PythonEngine::open(&STUB, &options, args).expect("the stub driver opens");
        let mut events = Vec::with_capacity(deliveries);
        group.bench_with_input(
            BenchmarkId::new("deliveries", deliveries),
            &deliveries,
            |b, _| {
                b.iter(|| {
                    events.clear();
                    engine.poll(Duration::ZERO, &mut events).unwrap();
                })
            },
        );
        engine.shutdown().unwrap();
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // No plots: plotters needs system fonts, which CI machines may lack.
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .without_plots();
    targets = poll
}
criterion_main!(benches);

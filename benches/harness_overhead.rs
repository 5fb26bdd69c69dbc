//! Harness overhead: what the driver costs per recorded delivery and per poll,
//! measured against a no-op engine that hands over one token per stream per
//! poll, instantly. The figures include that engine's own event production,
//! so they are an upper bound on the driver's share.
//!
//! `cargo bench --bench harness_overhead`; each reported time is per delivery
//! (or per poll), not per run.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use enginebench::driver::{drive, DriveOptions};
use enginebench::engine::{Engine, EngineError, EngineInfo, EngineRequest, Event, RequestId};
use enginebench::records::Discard;
use enginebench::schedule::Schedule;
use enginebench::workload::WorkItem;

/// Tokens per stream: every poll delivers one token to each stream.
const TOKENS: u32 = 64;

#[derive(Default)]
struct NoopEngine {
    active: Vec<(RequestId, u32)>,
}

impl Engine for NoopEngine {
    fn describe(&self) -> EngineInfo {
        EngineInfo {
            name: "noop".into(),
            version: "0".into(),
            simulated: true,
            model: None,
            tensor_parallel_size: 1,
            max_model_len: None,
            vocab_size: None,
            settings: Default::default(),
        }
    }

    fn submit(&mut self, request: EngineRequest) -> Result<(), EngineError> {
        self.active.push((request.id, request.max_output_tokens));
        Ok(())
    }

    fn poll(&mut self, _: Duration, events: &mut Vec<Event>) -> Result<(), EngineError> {
        for (id, remaining) in &mut self.active {
            *remaining -= 1;
            events.push(Event::Tokens {
                id: *id,
                tokens: 1,
                finished: *remaining == 0,
            });
        }
        self.active.retain(|(_, remaining)| *remaining > 0);
        Ok(())
    }

    fn cancel(&mut self, id: RequestId) -> Result<(), EngineError> {
        self.active.retain(|(active, _)| *active != id);
        Ok(())
    }

    fn shutdown(&mut self) -> Result<(), EngineError> {
        Ok(())
    }
}

/// Time for one whole run of `streams` concurrent streams of `TOKENS` tokens.
fn run_once(streams: usize) -> Duration {
    let items = vec![WorkItem::new(vec![1; 16], TOKENS); streams];
    let schedule = Schedule::all_at_once(streams, Some(streams));
    let options = DriveOptions::ignoring_eos();
    let mut engine = NoopEngine::default();
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let outcome = drive(
        &mut engine,
        &items,
        &schedule,
        &options,
        &mut Discard,
        &stop,
    );
    let elapsed = start.elapsed();
    assert_eq!(outcome.records.len(), streams);
    elapsed
}

fn overhead(c: &mut Criterion) {
    let per_delivery: fn(usize) -> u32 = |streams| streams as u32 * TOKENS;
    let per_poll: fn(usize) -> u32 = |_| TOKENS;
    for (group, per_run) in [
        ("driver_per_delivery", per_delivery),
        ("driver_per_poll", per_poll),
    ] {
        let mut group = c.benchmark_group(group);
        for streams in [1usize, 64, 1024] {
            group.bench_with_input(
                BenchmarkId::from_parameter(streams),
                &streams,
                |b, &streams| {
                    // Criterion sees the time per delivery (or per poll) directly.
                    b.iter_custom(|iters| {
                        (0..iters).map(|_| run_once(streams)).sum::<Duration>() / per_run(streams)
                    });
                },
            );
        }
        group.finish();
    }
    c.bench_function("clock_read", |b| b.iter(Instant::now));
}

criterion_group! {
    name = benches;
    config = {
        // criterion's own plots need a font: see `register_font`.
        enginebench::render::plot::charts::register_font();
        Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1))
    };
    targets = overhead
}
criterion_main!(benches);

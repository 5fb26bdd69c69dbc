//! The driver: the only code that reads the clock for metrics.
//!
//! It submits each request when the schedule allows, polls the engine, and
//! stamps every delivery with one monotonic clock read per poll. Latency counts
//! from the scheduled time (MLPerf LoadGen's rule), so a driver or engine that
//! falls behind shows up in the latencies instead of hiding (coordinated
//! omission); `submitted - scheduled` is reported as client queue delay.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::engine::{Engine, EngineError, EngineRequest, Event, RequestId, SamplingParams};
use crate::records::{Delivery, Outcome, RecordSink, RequestRecord};
use crate::schedule::Schedule;
use crate::workload::WorkItem;

/// Longest single wait inside the engine, so an interrupt is seen promptly.
const MAX_POLL: Duration = Duration::from_millis(50);

/// Monotonic nanoseconds since the start of a run.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    pub fn start() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    /// The wall-clock moment of `t0`, for the result file's date.
    pub fn origin(&self) -> Instant {
        self.origin
    }
}

#[derive(Clone, Debug, Default)]
pub struct DriveOptions {
    pub ignore_eos: bool,
    pub sampling: SamplingParams,
    /// Engine-side ids are `id_base + index`, so ids stay unique across the
    /// levels and warm-ups that share one engine.
    pub id_base: RequestId,
    /// Stop the run once this many requests have failed (`--max-failures`).
    pub max_failures: Option<usize>,
}

impl DriveOptions {
    /// Fixed output lengths, greedy sampling, ids from 0: what tests and benches want.
    pub fn ignoring_eos() -> Self {
        Self {
            ignore_eos: true,
            ..Self::default()
        }
    }
}

/// Told how a run is going, after each poll. The driver passes its own clock
/// reading, so whoever draws progress needs no clock of its own.
pub trait Progress {
    /// `done` of `total` requests finished, `output_tokens` delivered so far,
    /// `elapsed_ns` since the run started.
    fn update(&mut self, done: usize, total: usize, output_tokens: u64, elapsed_ns: u64);
}

/// Progress that goes nowhere: tests and benches.
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&mut self, _: usize, _: usize, _: u64, _: u64) {}
}

/// Everything one trial (one pass over the workload) measured.
#[derive(Debug)]
pub struct TrialOutcome {
    pub records: Vec<RequestRecord>,
    pub clock: Clock,
    /// Stopped by Ctrl-C before every request finished.
    pub interrupted: bool,
    /// The engine failed for the whole run; records up to then are kept.
    pub fatal_error: Option<String>,
    /// The first error writing detailed records; the run went on without them.
    pub sink_error: Option<String>,
}

/// The name [`TrialOutcome`] had before trials were named as such; kept for
/// code outside the crate.
pub use TrialOutcome as RunOutcome;

/// Runs `items` against `engine` on `schedule` until all are done, the engine
/// fails, or `stop` is set.
pub fn drive(
    engine: &mut dyn Engine,
    items: &[WorkItem],
    schedule: &Schedule,
    options: &DriveOptions,
    sink: &mut dyn RecordSink,
    stop: &AtomicBool,
) -> TrialOutcome {
    drive_with_progress(
        engine,
        items,
        schedule,
        options,
        sink,
        stop,
        &mut NoProgress,
    )
}

/// [`drive`], telling `progress` how far the run got after every poll.
pub fn drive_with_progress(
    engine: &mut dyn Engine,
    items: &[WorkItem],
    schedule: &Schedule,
    options: &DriveOptions,
    sink: &mut dyn RecordSink,
    stop: &AtomicBool,
    progress: &mut dyn Progress,
) -> TrialOutcome {
    let mut run = Trial::new(items, schedule, options, sink);
    let result = run.drive(engine, stop, progress);
    // A terminal's Ctrl-C reaches the engine's worker processes too; an
    // engine that fails because its workers stopped on the same signal is
    // interrupted, not failed.
    let result = match result {
        Err(_) if stop.load(Ordering::SeqCst) => Ok(false),
        other => other,
    };
    let interrupted = matches!(result, Ok(false));
    let fatal_error = result.err();
    if interrupted || fatal_error.is_some() {
        run.cancel_in_flight(engine);
    }
    TrialOutcome {
        records: run.records,
        clock: run.clock,
        interrupted,
        fatal_error,
        sink_error: run.sink_error,
    }
}

struct Trial<'a> {
    items: &'a [WorkItem],
    schedule: &'a Schedule,
    options: &'a DriveOptions,
    sink: &'a mut dyn RecordSink,
    sink_error: Option<String>,
    clock: Clock,
    records: Vec<RequestRecord>,
    arrivals_ns: Vec<u64>,
    /// Next request to submit; requests go in workload order.
    next: usize,
    in_flight: usize,
    done: usize,
    /// Output tokens delivered so far, for progress.
    delivered: u64,
    failed: usize,
    /// Closed loop: when each free slot became free (the first ones at t0).
    free_since: VecDeque<u64>,
}

impl<'a> Trial<'a> {
    fn new(
        items: &'a [WorkItem],
        schedule: &'a Schedule,
        options: &'a DriveOptions,
        sink: &'a mut dyn RecordSink,
    ) -> Self {
        let records = items
            .iter()
            .enumerate()
            .map(|(i, item)| RequestRecord::new(i as u64, item.input_len(), item.max_output_tokens))
            .collect();
        let slots = schedule
            .max_concurrency
            .unwrap_or(items.len())
            .min(items.len());
        Self {
            items,
            schedule,
            options,
            sink,
            sink_error: None,
            clock: Clock::start(),
            records,
            arrivals_ns: schedule
                .arrivals
                .iter()
                .map(|a| u64::try_from(a.as_nanos()).unwrap_or(u64::MAX))
                .collect(),
            next: 0,
            in_flight: 0,
            done: 0,
            delivered: 0,
            failed: 0,
            free_since: VecDeque::from(vec![0; slots]),
        }
    }

    /// `Ok(true)` when every request is done, `Ok(false)` when interrupted,
    /// `Err` with the engine's message when it failed for the whole run.
    fn drive(
        &mut self,
        engine: &mut dyn Engine,
        stop: &AtomicBool,
        progress: &mut dyn Progress,
    ) -> Result<bool, String> {
        let mut events = Vec::new();
        while self.done < self.items.len() {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            self.submit_due(engine)?;
            self.check_failures()?;
            if self.done == self.items.len() {
                break;
            }
            let timeout = self.time_to_next_arrival().min(MAX_POLL);
            if self.in_flight == 0 {
                std::thread::sleep(timeout); // nothing to poll until the next arrival
                continue;
            }
            let polled = engine.poll(timeout, &mut events);
            let t_ns = self.clock.now_ns();
            // Keep what arrived even when the engine failed in the same call.
            for event in events.drain(..) {
                self.apply(event, t_ns);
            }
            progress.update(self.done, self.items.len(), self.delivered, t_ns);
            polled.map_err(fatal_message)?;
            self.check_failures()?;
        }
        Ok(true)
    }

    /// Submits every request whose time has come and for which a slot is free.
    fn submit_due(&mut self, engine: &mut dyn Engine) -> Result<(), String> {
        let cap = self.schedule.max_concurrency.unwrap_or(usize::MAX);
        while self.next < self.items.len() && self.in_flight < cap {
            let arrival = self.arrivals_ns[self.next];
            if arrival > self.clock.now_ns() {
                break;
            }
            let index = self.next;
            self.next += 1;
            let freed = self.free_since.pop_front().unwrap_or(0);
            let scheduled = if self.schedule.closed_loop {
                arrival.max(freed)
            } else {
                arrival
            };
            let submitted = self.clock.now_ns();
            let record = &mut self.records[index];
            record.scheduled_ns = scheduled;
            record.submitted_ns = Some(submitted);
            match engine.submit(self.request(index)) {
                Ok(()) => self.in_flight += 1,
                Err(EngineError::Rejected(reason)) => {
                    self.in_flight += 1; // balanced by close()
                    self.close(index, submitted, Outcome::Failed, Some(reason));
                }
                Err(EngineError::Fatal(message)) => {
                    self.in_flight += 1;
                    return Err(message);
                }
            }
        }
        Ok(())
    }

    /// `--max-failures`: a run whose requests keep failing ends early, as a
    /// run-level failure, keeping what was recorded.
    fn check_failures(&self) -> Result<(), String> {
        match self.options.max_failures {
            Some(max) if self.failed >= max => Err(format!(
                "stopped after {} failed requests (--max-failures {max})",
                self.failed
            )),
            _ => Ok(()),
        }
    }

    fn request(&self, index: usize) -> EngineRequest {
        let item = &self.items[index];
        EngineRequest {
            id: self.options.id_base + index as RequestId,
            prompt_token_ids: item.prompt_token_ids.clone(),
            max_output_tokens: item.max_output_tokens,
            ignore_eos: self.options.ignore_eos,
            sampling: self.options.sampling.clone(),
        }
    }

    fn time_to_next_arrival(&self) -> Duration {
        let cap = self.schedule.max_concurrency.unwrap_or(usize::MAX);
        if self.next >= self.items.len() || self.in_flight >= cap {
            return MAX_POLL;
        }
        let wait = self.arrivals_ns[self.next].saturating_sub(self.clock.now_ns());
        Duration::from_nanos(wait)
    }

    /// Records one event at `t_ns`. Events for unknown or finished requests
    /// (late arrivals after a cancel) are ignored.
    #[inline]
    fn apply(&mut self, event: Event, t_ns: u64) {
        let (id, finish) = match event {
            Event::Tokens {
                id,
                tokens,
                finished,
            } => {
                let Some(record) = self.live_record(id) else {
                    return;
                };
                // A bare "finished" carries no token and is no delivery (no ITL gap).
                if tokens > 0 {
                    record.deliveries.push(Delivery { t_ns, tokens });
                    self.delivered += u64::from(tokens);
                }
                (id, finished.then_some((Outcome::Completed, None)))
            }
            Event::Failed { id, reason } => (id, Some((Outcome::Failed, Some(reason)))),
            Event::EngineStats { id, stats } => {
                if let Some(record) = self.record_mut(id) {
                    record.engine_stats = Some(stats);
                }
                return;
            }
        };
        if let Some((outcome, error)) = finish {
            if self.live_record(id).is_some() {
                let index = (id - self.options.id_base) as usize;
                self.close(index, t_ns, outcome, error);
            }
        }
    }

    fn record_mut(&mut self, id: RequestId) -> Option<&mut RequestRecord> {
        let index = id.checked_sub(self.options.id_base)? as usize;
        self.records.get_mut(index)
    }

    /// The record of a submitted request that has not finished.
    fn live_record(&mut self, id: RequestId) -> Option<&mut RequestRecord> {
        self.record_mut(id)
            .filter(|r| r.submitted_ns.is_some() && !r.is_done())
    }

    /// Ends one in-flight request, frees its slot and writes its record out.
    fn close(&mut self, index: usize, t_ns: u64, outcome: Outcome, error: Option<String>) {
        let record = &mut self.records[index];
        if outcome == Outcome::Failed {
            self.failed += 1;
        }
        record.finish(t_ns, outcome, error);
        self.in_flight -= 1;
        self.done += 1;
        self.free_since.push_back(t_ns);
        if self.sink_error.is_none() {
            if let Err(e) = self.sink.record(&self.records[index]) {
                self.sink_error = Some(e.to_string());
            }
        }
    }

    /// After an interrupt or a fatal error: cancels what is in flight and keeps
    /// its partial record, marked cancelled.
    fn cancel_in_flight(&mut self, engine: &mut dyn Engine) {
        let t_ns = self.clock.now_ns();
        for index in 0..self.next {
            if self.records[index].is_done() {
                continue;
            }
            // Best effort: the run is over whatever the engine answers.
            let _ = engine.cancel(self.options.id_base + index as RequestId);
            self.close(index, t_ns, Outcome::Cancelled, None);
        }
    }
}

fn fatal_message(error: EngineError) -> String {
    match error {
        EngineError::Fatal(message) | EngineError::Rejected(message) => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineInfo, RequestId};
    use crate::records::Discard;

    /// Every request fails at its first poll.
    #[derive(Default)]
    struct FailingEngine {
        pending: Vec<RequestId>,
    }

    impl Engine for FailingEngine {
        fn describe(&self) -> EngineInfo {
            unimplemented!("not needed by the driver")
        }
        fn submit(&mut self, request: EngineRequest) -> Result<(), EngineError> {
            self.pending.push(request.id);
            Ok(())
        }
        fn poll(&mut self, _: Duration, events: &mut Vec<Event>) -> Result<(), EngineError> {
            events.extend(self.pending.drain(..).map(|id| Event::Failed {
                id,
                reason: "no".into(),
            }));
            Ok(())
        }
        fn cancel(&mut self, _: RequestId) -> Result<(), EngineError> {
            Ok(())
        }
        fn shutdown(&mut self) -> Result<(), EngineError> {
            Ok(())
        }
    }

    fn run_failing(max_failures: Option<usize>) -> TrialOutcome {
        let items: Vec<WorkItem> = (0..10).map(|_| WorkItem::new(vec![1, 2], 4)).collect();
        let options = DriveOptions {
            max_failures,
            ..DriveOptions::ignoring_eos()
        };
        drive(
            &mut FailingEngine::default(),
            &items,
            &Schedule::all_at_once(items.len(), Some(1)),
            &options,
            &mut Discard,
            &AtomicBool::new(false),
        )
    }

    #[test]
    fn max_failures_stops_the_run_and_keeps_the_records() {
        let outcome = run_failing(Some(3));
        let failed = outcome
            .records
            .iter()
            .filter(|r| r.outcome == Outcome::Failed)
            .count();
        assert_eq!(failed, 3);
        assert_eq!(
            outcome.fatal_error.as_deref(),
            Some("stopped after 3 failed requests (--max-failures 3)")
        );
        // Without the limit every request runs (and fails) and the run ends normally.
        let outcome = run_failing(None);
        assert!(outcome.fatal_error.is_none());
        assert!(outcome.records.iter().all(|r| r.outcome == Outcome::Failed));
    }
}

//! The driver: the only code that reads the clock for metrics.
//!
//! It submits each request when the schedule allows, polls the engine, and
//! stamps every delivery with one monotonic clock read per poll. Latency counts
//! from the scheduled time (MLPerf LoadGen's rule), so a driver or engine that
//! falls behind shows up in the latencies instead of hiding (coordinated
//! omission); `submitted - scheduled` is reported as client queue delay.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::{Engine, EngineError, EngineRequest, Event, RequestId, SamplingParams};
use crate::records::{Delivery, Outcome, RecordSink, RequestRecord};
use crate::schedule::Schedule;
use crate::workload::{session_ranges, Turn, WorkItem, Workload};

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
/// fails, or `stop` is set. Every item is a session of its own.
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
    let plan = Plan {
        items,
        turns: &[],
        reused_prefix: &[],
    };
    drive_plan(engine, plan, schedule, options, sink, stop, progress)
}

/// Runs a workload, conversations included: `schedule` starts its
/// sessions, and each later round is released by the answer before it.
pub fn drive_workload(
    engine: &mut dyn Engine,
    workload: &Workload,
    schedule: &Schedule,
    options: &DriveOptions,
    sink: &mut dyn RecordSink,
    stop: &AtomicBool,
    progress: &mut dyn Progress,
) -> TrialOutcome {
    let plan = Plan {
        items: &workload.items,
        turns: &workload.turns,
        reused_prefix: &workload.reused_prefix,
    };
    drive_plan(engine, plan, schedule, options, sink, stop, progress)
}

fn drive_plan(
    engine: &mut dyn Engine,
    plan: Plan<'_>,
    schedule: &Schedule,
    options: &DriveOptions,
    sink: &mut dyn RecordSink,
    stop: &AtomicBool,
    progress: &mut dyn Progress,
) -> TrialOutcome {
    let mut run = Trial::new(plan, schedule, options, sink);
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

/// The requests of one trial, borrowed from a workload or a plain list.
#[derive(Clone, Copy)]
struct Plan<'a> {
    items: &'a [WorkItem],
    /// Empty, or one per item.
    turns: &'a [Turn],
    /// Empty (unknown), or one per item.
    reused_prefix: &'a [u32],
}

/// A session in progress: what its next round's prompt starts with.
#[derive(Default)]
struct SessionState {
    /// When the schedule let the session start; paced rounds count from here.
    started_ns: u64,
    /// The prompt of its latest round, as submitted.
    prompt: Option<Arc<[u32]>>,
    /// The engine's answer to that round, once handed over.
    answer: Option<Vec<u32>>,
}

struct Trial<'a> {
    plan: Plan<'a>,
    schedule: &'a Schedule,
    options: &'a DriveOptions,
    sink: &'a mut dyn RecordSink,
    sink_error: Option<String>,
    clock: Clock,
    records: Vec<RequestRecord>,
    arrivals_ns: Vec<u64>,
    /// Each session's requests, in start order, and each request's session.
    sessions: Vec<Range<usize>>,
    session_of: Vec<u32>,
    states: Vec<SessionState>,
    /// Next session to start; sessions start in order.
    next_session: usize,
    /// Sessions started and not yet ended.
    active: usize,
    /// Later rounds whose scheduled time is known, earliest first.
    released: BinaryHeap<Reverse<(u64, usize)>>,
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
        plan: Plan<'a>,
        schedule: &'a Schedule,
        options: &'a DriveOptions,
        sink: &'a mut dyn RecordSink,
    ) -> Self {
        let items = plan.items;
        let records = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut record =
                    RequestRecord::new(i as u64, item.input_len(), item.max_output_tokens);
                if let Some(turn) = plan.turns.get(i) {
                    record.user = Some(turn.user);
                    record.round = Some(turn.round);
                }
                record
            })
            .collect();
        let sessions = session_ranges(plan.turns, items.len());
        let mut session_of = vec![0; items.len()];
        for (s, range) in sessions.iter().enumerate() {
            session_of[range.clone()].fill(s as u32);
        }
        let slots = schedule
            .max_concurrency
            .unwrap_or(sessions.len())
            .min(sessions.len());
        Self {
            plan,
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
            states: sessions.iter().map(|_| SessionState::default()).collect(),
            sessions,
            session_of,
            next_session: 0,
            active: 0,
            released: BinaryHeap::new(),
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
        let total = self.plan.items.len();
        let mut events = Vec::new();
        while self.done < total {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            self.submit_due(engine)?;
            self.check_failures()?;
            if self.done == total {
                break;
            }
            let timeout = self.time_to_next_start().min(MAX_POLL);
            if self.in_flight == 0 {
                wait(timeout); // nothing to poll until the next start
                continue;
            }
            let polled = engine.poll(timeout, &mut events);
            let t_ns = self.clock.now_ns();
            // Keep what arrived even when the engine failed in the same call.
            for event in events.drain(..) {
                self.apply(event, t_ns);
            }
            progress.update(self.done, total, self.delivered, t_ns);
            polled.map_err(fatal_message)?;
            self.check_failures()?;
        }
        Ok(true)
    }

    /// Most sessions in progress at once.
    fn cap(&self) -> usize {
        self.schedule.max_concurrency.unwrap_or(usize::MAX)
    }

    /// The next session's arrival, if a slot is free for it.
    fn next_session_arrival(&self) -> Option<u64> {
        let waiting = self.next_session < self.sessions.len() && self.active < self.cap();
        waiting.then(|| self.arrivals_ns[self.next_session])
    }

    /// Submits every request whose time has come, earliest first: later
    /// rounds released by their answers, and the first rounds of sessions
    /// for which a slot is free.
    fn submit_due(&mut self, engine: &mut dyn Engine) -> Result<(), String> {
        loop {
            let now = self.clock.now_ns();
            let round = self.released.peek().map(|Reverse((t, _))| *t);
            let session = self.next_session_arrival();
            let due = |t: Option<u64>| t.filter(|&t| t <= now);
            match (due(round), due(session)) {
                (Some(r), s) if s.is_none_or(|s| r <= s) => {
                    let Reverse((scheduled, index)) = self.released.pop().expect("peeked");
                    self.submit(engine, index, scheduled)?;
                }
                (_, Some(arrival)) => self.start_session(engine, arrival)?,
                _ => return Ok(()),
            }
        }
    }

    /// Starts the next session: its first round is scheduled at its arrival
    /// (closed loop: when the slot it takes came free, if later).
    fn start_session(&mut self, engine: &mut dyn Engine, arrival: u64) -> Result<(), String> {
        let session = self.next_session;
        self.next_session += 1;
        self.active += 1;
        let freed = self.free_since.pop_front().unwrap_or(0);
        let scheduled = match self.schedule.closed_loop {
            true => arrival.max(freed),
            false => arrival,
        };
        self.states[session].started_ns = scheduled;
        let first = self.sessions[session].start;
        self.submit(engine, first, scheduled)
    }

    /// Hands request `index` to the engine; a later round's prompt is built
    /// from its session's history first.
    fn submit(
        &mut self,
        engine: &mut dyn Engine,
        index: usize,
        scheduled: u64,
    ) -> Result<(), String> {
        let prompt = match self.prompt(index) {
            Ok(prompt) => prompt,
            Err(reason) => {
                let now = self.clock.now_ns();
                self.records[index].scheduled_ns = scheduled;
                self.records[index].submitted_ns = Some(now);
                self.in_flight += 1; // balanced by close()
                self.close(index, now, Outcome::Failed, Some(reason));
                return Ok(());
            }
        };
        let submitted = self.clock.now_ns();
        let record = &mut self.records[index];
        record.scheduled_ns = scheduled;
        record.submitted_ns = Some(submitted);
        record.input_tokens = prompt.len() as u32;
        let request = self.request(index, prompt);
        match engine.submit(request) {
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
        Ok(())
    }

    /// The whole prompt of request `index`, noting its reused prefix: a
    /// first round's is its own; a later round's is the previous prompt,
    /// the previous answer (the engine's, or the fixed one) and its question.
    fn prompt(&mut self, index: usize) -> Result<Arc<[u32]>, String> {
        let item = &self.plan.items[index];
        let known_reuse = self.plan.reused_prefix.get(index).copied();
        let Some(turn) = self.plan.turns.get(index).filter(|t| t.round > 0) else {
            self.records[index].reused_prefix_tokens = known_reuse;
            if !self.plan.turns.is_empty() {
                let session = self.session_of[index] as usize;
                self.states[session].prompt = Some(item.prompt_token_ids.clone());
            }
            return Ok(item.prompt_token_ids.clone());
        };
        let previous = &self.plan.turns[index - 1];
        let state = &mut self.states[self.session_of[index] as usize];
        let earlier = state
            .prompt
            .take()
            .expect("a later round follows a submitted one");
        let engine_answer = state.answer.take();
        let answer: &[u32] = match (&previous.fixed_answer, &engine_answer) {
            (Some(fixed), _) => fixed,
            (None, Some(real)) => real,
            (None, None) => {
                return Err(format!(
                    "round {} of user {} not sent: the engine handed over no token ids for the \
                     answer before it",
                    turn.round + 1,
                    turn.user
                ))
            }
        };
        let mut ids =
            Vec::with_capacity(earlier.len() + answer.len() + item.prompt_token_ids.len());
        ids.extend_from_slice(&earlier);
        ids.extend_from_slice(answer);
        // An ideal cache holds what the engine computed: the previous prompt
        // and its own answer, not a fixed one that stands in for it.
        let history = match previous.fixed_answer {
            Some(_) => earlier.len() as u32,
            None => ids.len() as u32,
        };
        ids.extend_from_slice(&item.prompt_token_ids);
        let prompt: Arc<[u32]> = ids.into();
        state.prompt = Some(prompt.clone());
        self.records[index].reused_prefix_tokens = Some(history.max(known_reuse.unwrap_or(0)));
        Ok(prompt)
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

    fn request(&self, index: usize, prompt_token_ids: Arc<[u32]>) -> EngineRequest {
        let item = &self.plan.items[index];
        EngineRequest {
            id: self.options.id_base + index as RequestId,
            prompt_token_ids,
            max_output_tokens: item.max_output_tokens,
            ignore_eos: self.options.ignore_eos,
            sampling: self.options.sampling.clone(),
        }
    }

    /// How long until the next request may start (a released round, or a
    /// session with a free slot).
    fn time_to_next_start(&self) -> Duration {
        let round = self.released.peek().map(|Reverse((t, _))| *t);
        let next = match (round, self.next_session_arrival()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => return MAX_POLL,
            },
        };
        Duration::from_nanos(next.saturating_sub(self.clock.now_ns()))
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
            Event::Answer { id, token_ids } => {
                self.keep_answer(id, token_ids);
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

    /// Keeps an answer that a later round of its session will carry.
    fn keep_answer(&mut self, id: RequestId, token_ids: Vec<u32>) {
        if self.live_record(id).is_none() {
            return;
        }
        let index = (id - self.options.id_base) as usize;
        let session = self.session_of[index] as usize;
        let follows = self.sessions[session].contains(&(index + 1));
        if follows && self.plan.turns[index].fixed_answer.is_none() {
            self.states[session].answer = Some(token_ids);
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

    /// Ends one in-flight request and writes its record out; releases its
    /// session's next round, or ends the session and frees its slot.
    fn close(&mut self, index: usize, t_ns: u64, outcome: Outcome, error: Option<String>) {
        if outcome == Outcome::Failed {
            self.failed += 1;
        }
        self.records[index].finish(t_ns, outcome, error);
        self.in_flight -= 1;
        self.done += 1;
        self.write(index);
        let session = self.session_of[index] as usize;
        let rounds = self.sessions[session].clone();
        let next = index + 1;
        if outcome == Outcome::Completed && rounds.contains(&next) {
            let think = self.plan.turns[next].think_time.as_nanos() as u64;
            let round = u64::from(self.plan.turns[next].round);
            let paced = self.schedule.round_period.map_or(0, |period| {
                self.states[session].started_ns + round * period.as_nanos() as u64
            });
            self.released
                .push(Reverse(((t_ns + think).max(paced), next)));
            return;
        }
        self.active -= 1;
        self.free_since.push_back(t_ns);
        if outcome == Outcome::Failed {
            self.skip_rest(index, rounds.end);
        }
    }

    /// The rounds after a failed one are never sent: each is recorded as
    /// failed, with why, so the level counts them.
    fn skip_rest(&mut self, failed: usize, end: usize) {
        let turn = &self.plan.turns.get(failed);
        let Some(turn) = turn else { return };
        let reason = format!(
            "not sent: round {} of user {} failed before it",
            turn.round + 1,
            turn.user
        );
        for index in failed + 1..end {
            self.records[index].outcome = Outcome::Failed;
            self.records[index].error = Some(reason.clone());
            self.done += 1;
            self.write(index);
        }
    }

    fn write(&mut self, index: usize) {
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
        for index in 0..self.records.len() {
            let record = &self.records[index];
            if record.submitted_ns.is_none() || record.is_done() {
                continue;
            }
            // Best effort: the run is over whatever the engine answers.
            let _ = engine.cancel(self.options.id_base + index as RequestId);
            self.close(index, t_ns, Outcome::Cancelled, None);
        }
    }
}

/// Sleeps `timeout` to within a few microseconds: the OS sleep overshoots by
/// tens of microseconds, and by milliseconds on a busy machine, so the last
/// millisecond spins. Open-loop arrivals (traces, rates, think times) start
/// on time this way, at the cost of at most 1 ms of a core per wait.
fn wait(timeout: Duration) {
    const SPIN: Duration = Duration::from_millis(1);
    let deadline = Instant::now() + timeout;
    if timeout > SPIN {
        std::thread::sleep(timeout - SPIN);
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
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

    /// Finishes every request at the next poll, all its tokens at once,
    /// keeping the prompts it was sent; its answer to request `id` is
    /// `[id * 1000, id * 1000 + 1, ...]`. Requests listed in `fail` fail.
    #[derive(Default)]
    struct EchoEngine {
        pending: Vec<EngineRequest>,
        prompts: Vec<(RequestId, Vec<u32>)>,
        answers: bool,
        fail: Vec<RequestId>,
        /// Leaves out the answer of these requests.
        mute: Vec<RequestId>,
    }

    impl Engine for EchoEngine {
        fn describe(&self) -> EngineInfo {
            unimplemented!("not needed by the driver")
        }
        fn submit(&mut self, request: EngineRequest) -> Result<(), EngineError> {
            self.prompts
                .push((request.id, request.prompt_token_ids.to_vec()));
            self.pending.push(request);
            Ok(())
        }
        fn poll(&mut self, _: Duration, events: &mut Vec<Event>) -> Result<(), EngineError> {
            std::thread::sleep(Duration::from_millis(1));
            for request in self.pending.drain(..) {
                let id = request.id;
                if self.fail.contains(&id) {
                    events.push(Event::Failed {
                        id,
                        reason: "scripted".into(),
                    });
                    continue;
                }
                let n = request.max_output_tokens;
                if self.answers && !self.mute.contains(&id) {
                    let token_ids = (0..n).map(|j| id as u32 * 1000 + j).collect();
                    events.push(Event::Answer { id, token_ids });
                }
                events.push(Event::Tokens {
                    id,
                    tokens: n,
                    finished: true,
                });
            }
            Ok(())
        }
        fn cancel(&mut self, _: RequestId) -> Result<(), EngineError> {
            Ok(())
        }
        fn shutdown(&mut self) -> Result<(), EngineError> {
            Ok(())
        }
    }

    /// `users` sessions of `rounds` rounds: round 0 is `[u, u]`, round k the
    /// question `[100 + k]`; answers of 2 tokens; think time 5 ms.
    fn conversation(users: u32, rounds: u32, fixed: bool) -> Workload {
        let mut w = Workload::default();
        for user in 0..users {
            for round in 0..rounds {
                let ids = match round {
                    0 => vec![user, user],
                    k => vec![100 + k],
                };
                w.items.push(WorkItem::new(ids, 2));
                w.reused_prefix.push(0);
                w.turns.push(Turn {
                    user,
                    round,
                    think_time: Duration::from_millis(5 * u64::from(round > 0)),
                    fixed_answer: fixed.then(|| Arc::from(vec![7, 7])),
                });
            }
        }
        w
    }

    fn converse(engine: &mut EchoEngine, w: &Workload, users_at_once: usize) -> TrialOutcome {
        drive_workload(
            engine,
            w,
            &Schedule::all_at_once(w.sessions().len(), Some(users_at_once)),
            &DriveOptions::ignoring_eos(),
            &mut Discard,
            &AtomicBool::new(false),
            &mut NoProgress,
        )
    }

    #[test]
    fn each_round_carries_the_history_and_waits_for_the_answer_and_the_think_time() {
        let w = conversation(2, 3, false);
        let mut engine = EchoEngine {
            answers: true,
            ..EchoEngine::default()
        };
        let outcome = converse(&mut engine, &w, 2);
        assert!(outcome
            .records
            .iter()
            .all(|r| r.outcome == Outcome::Completed));
        let prompt = |id: RequestId| &engine.prompts.iter().find(|p| p.0 == id).unwrap().1;
        assert_eq!(prompt(0), &[0, 0]);
        assert_eq!(
            prompt(1),
            &[0, 0, 0, 1, 101],
            "round 0, its answer, the question"
        );
        assert_eq!(prompt(2), &[0, 0, 0, 1, 101, 1000, 1001, 102]);
        assert_eq!(prompt(4), &[1, 1, 3000, 3001, 101]);
        for pair in outcome.records.windows(2).filter(|w| w[1].round != Some(0)) {
            let finished = pair[0].finished_ns.unwrap();
            assert_eq!(
                pair[1].scheduled_ns,
                finished + 5_000_000,
                "finish + think time"
            );
            assert!(pair[1].submitted_ns.unwrap() >= pair[1].scheduled_ns);
        }
        let record = &outcome.records[2];
        assert_eq!((record.user, record.round), (Some(0), Some(2)));
        assert_eq!(
            (record.input_tokens, record.reused_prefix_tokens),
            (8, Some(7))
        );
    }

    #[test]
    fn fixed_answers_replace_the_engines_and_sessions_keep_to_the_users_at_once() {
        let w = conversation(3, 2, true);
        let mut engine = EchoEngine::default(); // hands over no answers: none are needed
        let outcome = converse(&mut engine, &w, 1);
        let prompt = |id: RequestId| &engine.prompts.iter().find(|p| p.0 == id).unwrap().1;
        assert_eq!(prompt(1), &[0, 0, 7, 7, 101]);
        // Reused: the previous prompt, not the fixed answer the engine never computed.
        assert_eq!(outcome.records[1].reused_prefix_tokens, Some(2));
        let order: Vec<RequestId> = engine.prompts.iter().map(|p| p.0).collect();
        assert_eq!(order, [0, 1, 2, 3, 4, 5], "one user at a time");
        let r = &outcome.records;
        assert!(
            r[2].scheduled_ns >= r[1].finished_ns.unwrap(),
            "user 1 waits for user 0"
        );
    }

    #[test]
    fn a_failed_round_ends_its_session_and_a_missing_answer_fails_the_next_round() {
        let w = conversation(2, 3, false);
        let mut engine = EchoEngine {
            answers: true,
            fail: vec![0],
            mute: vec![4],
            ..EchoEngine::default()
        };
        let outcome = converse(&mut engine, &w, 2);
        let r = &outcome.records;
        assert_eq!(r[0].error.as_deref(), Some("scripted"));
        for skipped in &r[1..3] {
            assert_eq!(skipped.outcome, Outcome::Failed);
            assert_eq!(
                skipped.error.as_deref(),
                Some("not sent: round 1 of user 0 failed before it")
            );
            assert!(skipped.submitted_ns.is_none());
        }
        assert_eq!(r[3].outcome, Outcome::Completed);
        assert_eq!(r[4].outcome, Outcome::Completed);
        assert!(
            r[5].error.as_deref().unwrap().contains("no token ids"),
            "{:?}",
            r[5]
        );
        assert_eq!(engine.prompts.len(), 3, "requests 0, 3 and 4 were sent");
        assert!(outcome.fatal_error.is_none());
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

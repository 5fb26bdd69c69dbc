//! Ground truth for the traffic of real workloads, on the sim: a trace's
//! arrivals are kept (within 1 ms), a conversation's next round waits for the
//! previous answer plus its think time, paced conversations keep Production
//! Stack's clock, a ramp's rate per second stays in its Poisson band, a
//! round's prompt is its history with the answer the engine generated, and a
//! cached prefix takes its share off round 2's prefill.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use enginebench::driver::{drive_workload, DriveOptions, NoProgress, TrialOutcome};
use enginebench::engine::sim::{SimConfig, SimEngine};
use enginebench::engine::{
    Engine, EngineConfigError, EngineError, EngineInfo, EngineRequest, Event, RequestId,
};
use enginebench::metrics::RequestMetrics;
use enginebench::records::{Discard, Outcome, RequestRecord};
use enginebench::schedule::ramp::{RampStrategy, RampUp};
use enginebench::schedule::{Pace, RequestRate, Schedule, ScheduleSpec};
use enginebench::workload::random::RandomSpec;
use enginebench::workload::{
    self, AnswerMode, ConversationSpec, Questions, ThinkTime, TraceSpec, Workload, WorkloadSpec,
};

const MS: u64 = 1_000_000;

/// These tests time the sim in real time: one at a time, so that they do
/// not take each other's cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn fast_sim() -> SimConfig {
    SimConfig {
        prefill_per_token: Duration::from_micros(1),
        step_base: Duration::from_micros(300),
        step_per_sequence: Duration::from_micros(2),
        ..SimConfig::default()
    }
}

fn run(engine: &mut dyn Engine, workload: &Workload, schedule: &Schedule) -> TrialOutcome {
    let outcome = drive_workload(
        engine,
        workload,
        schedule,
        &DriveOptions::ignoring_eos(),
        &mut Discard,
        &AtomicBool::new(false),
        &mut NoProgress,
    );
    assert!(!outcome.interrupted && outcome.fatal_error.is_none());
    assert!(
        outcome
            .records
            .iter()
            .all(|r| r.outcome == Outcome::Completed),
        "{:?}",
        outcome
            .records
            .iter()
            .find(|r| r.outcome != Outcome::Completed)
    );
    outcome
}

/// 60 rows over 1.5 s at irregular gaps (some equal), replayed on the sim:
/// each request is scheduled exactly at its row's time, and sent within
/// 1 ms of it. (A busy machine may wake the driver late, which counts in the
/// latencies as client queue delay: on this project's 2-core machine under
/// several parallel builds, 52 of 60 were on time; unloaded, all are.)
#[test]
fn trace_arrivals_are_kept_within_a_millisecond() {
    let _alone = alone();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let mut stamps = Vec::new();
    let mut t: f64 = 500.0;
    for i in 0..60u64 {
        t += [0.0, 3.5, 17.0, 41.25, 9.0][i as usize % 5];
        stamps.push(t);
        let ids: Vec<u64> = (0..3).map(|b| if b < 2 { b } else { 100 + i }).collect();
        writeln!(
            file,
            "{{\"timestamp\": {t}, \"input_length\": 40, \"output_length\": 2, \"hash_ids\": {ids:?}}}"
        )
        .unwrap();
    }
    let spec = TraceSpec {
        path: file.path().to_path_buf(),
        block_size: 16,
        time_scale: 1.0,
        vocab_lo: 0,
        vocab_hi: 32_000,
    };
    let w = workload::build(&WorkloadSpec::Trace(spec), 1000, 1).unwrap();
    assert_eq!(w.len(), 60);
    let schedule = Schedule::replay(w.arrivals.clone().unwrap(), None);
    let outcome = run(&mut SimEngine::new(fast_sim()), &w, &schedule);
    let mut lags = Vec::new();
    for (record, stamp) in outcome.records.iter().zip(&stamps) {
        let trace_ns = ((stamp - stamps[0]) * 1e6).round() as u64;
        assert!(
            record.scheduled_ns.abs_diff(trace_ns) <= 1_000,
            "{record:?}"
        );
        lags.push(record.submitted_ns.unwrap() - record.scheduled_ns);
        assert_eq!(
            record.reused_prefix_tokens,
            Some(if record.index == 0 { 0 } else { 32 })
        );
    }
    lags.sort_unstable();
    let on_time = lags.iter().filter(|&&lag| lag < MS).count();
    assert!(on_time >= 48, "{on_time} of 60 sent within 1 ms: {lags:?}");
}

fn conversation(users: usize, rounds: u32, think: &str, answers: AnswerMode) -> Workload {
    let spec = ConversationSpec {
        rounds,
        system_prompt_len: 32,
        context_len: 64,
        questions: Questions::Random {
            question_len: 8,
            answer_len: 6,
        },
        think_time: ThinkTime::parse(think).unwrap(),
        answers,
        vocab_lo: 0,
        vocab_hi: 32_000,
    };
    workload::build(&WorkloadSpec::Conversation(spec), users, 5).unwrap()
}

/// Each later round is scheduled exactly at the previous answer's finish
/// plus its own drawn think time, carries the whole history, and is sent no
/// earlier than scheduled; 3 users at once, 6 in all.
#[test]
fn a_round_waits_for_the_previous_answer_and_its_think_time() {
    let _alone = alone();
    let w = conversation(6, 4, "exp:20", AnswerMode::Real);
    let mut engine = SimEngine::new(fast_sim());
    engine.hand_over_answers().unwrap();
    let outcome = run(&mut engine, &w, &Schedule::all_at_once(6, Some(3)));
    let records = &outcome.records;
    let mut waited = 0;
    for (i, turn) in w.turns.iter().enumerate().filter(|(_, t)| t.round > 0) {
        let (before, this) = (&records[i - 1], &records[i]);
        let think = turn.think_time.as_nanos() as u64;
        assert_eq!(this.scheduled_ns, before.finished_ns.unwrap() + think);
        assert!(this.submitted_ns.unwrap() >= this.scheduled_ns);
        // The history: the previous prompt and its 6-token answer, then 8 new tokens.
        assert_eq!(this.input_tokens, before.input_tokens + 6 + 8);
        assert_eq!(this.reused_prefix_tokens, Some(before.input_tokens + 6));
        waited += think;
    }
    assert!(
        waited > 18 * 10 * MS,
        "think times were drawn ({waited} ns)"
    );
    let active_at = |t: u64| {
        let sessions = w.sessions();
        sessions
            .iter()
            .filter(|s| {
                let first = &records[s.start];
                let last = &records[s.end - 1];
                first.scheduled_ns <= t && t < last.finished_ns.unwrap()
            })
            .count()
    };
    assert!(records.iter().all(|r| active_at(r.scheduled_ns) <= 3));
}

/// Production Stack's clock with 2 users at 40 QPS and 3 rounds: a user
/// joins every 50 ms, and asks every 50 ms unless its previous answer is
/// not back yet.
#[test]
fn paced_conversations_keep_production_stacks_clock() {
    let _alone = alone();
    let w = conversation(5, 3, "0", AnswerMode::Fixed);
    let pace = Pace {
        qps: 40.0,
        rounds: 3,
    };
    let schedule = Schedule::paced(pace, 2, 5);
    let outcome = run(&mut SimEngine::new(fast_sim()), &w, &schedule);
    let records = &outcome.records;
    for (s, range) in w.sessions().iter().enumerate() {
        let start = records[range.start].scheduled_ns;
        assert!(start >= s as u64 * 50 * MS, "user {s} joined at {start}");
        for i in range.start + 1..range.end {
            let round = u64::from(w.turns[i].round);
            let expected = (start + round * 50 * MS).max(records[i - 1].finished_ns.unwrap());
            assert_eq!(records[i].scheduled_ns, expected);
        }
    }
}

/// vLLM's linear ramp from 40 to 400 req/s over 1000 requests is
/// exponential in time, `r(t) = 40 exp(0.36 t)`: the requests the driver
/// sent in each whole second stay within 4.5 standard deviations (Poisson)
/// of the integral of `r` over that second.
#[test]
fn a_ramp_sends_its_planned_rate_second_by_second() {
    let _alone = alone();
    let count = 1000;
    let items = enginebench::workload::random::generate(
        &RandomSpec {
            input_len: 4,
            output_len: 2,
            range_ratio: 0.0,
            vocab_lo: 0,
            vocab_hi: 1000,
            prefix_len: 0,
        },
        count,
        2,
    );
    let w = Workload::of_prompts(items);
    let ramp = RampUp::new(RampStrategy::Linear, 40.0, 400.0).unwrap();
    let spec = ScheduleSpec {
        rate: RequestRate::Infinite,
        burstiness: 1.0,
        max_concurrency: None,
        ramp_up: Some(ramp),
        pace: None,
    };
    let schedule = Schedule::build(&spec, count, 9);
    let outcome = run(&mut SimEngine::new(fast_sim()), &w, &schedule);
    let sent: Vec<f64> = outcome
        .records
        .iter()
        .map(|r| r.submitted_ns.unwrap() as f64 / 1e9)
        .collect();
    let c = (400.0 - 40.0) / (count as f64 - 1.0);
    let expected = |k: f64| 40.0 / c * ((c * (k + 1.0)).exp() - (c * k).exp());
    let seconds = ramp.duration_s(count).floor() as usize;
    assert!(seconds >= 5, "{seconds}");
    for k in 0..seconds {
        let n = sent
            .iter()
            .filter(|&&t| t >= k as f64 && t < k as f64 + 1.0)
            .count() as f64;
        let mean = expected(k as f64);
        let band = 4.5 * mean.sqrt();
        assert!(
            (n - mean).abs() <= band,
            "second {k}: {n} requests, expected {mean:.1} +- {band:.1}"
        );
    }
}

/// The sim, keeping every prompt it was sent and every answer it handed over.
struct Recorded {
    sim: SimEngine,
    prompts: HashMap<RequestId, Vec<u32>>,
    answers: HashMap<RequestId, Vec<u32>>,
}

impl Recorded {
    fn new(config: SimConfig) -> Self {
        Self {
            sim: SimEngine::new(config),
            prompts: HashMap::new(),
            answers: HashMap::new(),
        }
    }
}

impl Engine for Recorded {
    fn describe(&self) -> EngineInfo {
        self.sim.describe()
    }
    fn submit(&mut self, request: EngineRequest) -> Result<(), EngineError> {
        self.prompts
            .insert(request.id, request.prompt_token_ids.to_vec());
        self.sim.submit(request)
    }
    fn poll(&mut self, timeout: Duration, events: &mut Vec<Event>) -> Result<(), EngineError> {
        let from = events.len();
        let polled = self.sim.poll(timeout, events);
        for event in &events[from..] {
            if let Event::Answer { id, token_ids } = event {
                self.answers.insert(*id, token_ids.clone());
            }
        }
        polled
    }
    fn cancel(&mut self, id: RequestId) -> Result<(), EngineError> {
        self.sim.cancel(id)
    }
    fn hand_over_answers(&mut self) -> Result<(), EngineConfigError> {
        self.sim.hand_over_answers()
    }
    fn shutdown(&mut self) -> Result<(), EngineError> {
        self.sim.shutdown()
    }
}

/// Real answers: round k's prompt is exactly round k-1's prompt, then the
/// token ids the sim generated for it, then round k's question; the first
/// rounds of all users start with the one system prompt; every record
/// names its user and round, and counts its history as reused prefix.
#[test]
fn a_rounds_prompt_is_its_history_with_the_engines_own_answer() {
    let _alone = alone();
    let w = conversation(3, 3, "0", AnswerMode::Real);
    let mut engine = Recorded::new(fast_sim());
    engine.hand_over_answers().unwrap();
    let records = run(&mut engine, &w, &Schedule::all_at_once(3, Some(3))).records;
    assert_eq!(records.len(), 9);
    let system = &engine.prompts[&0][..32];
    for (i, (turn, item)) in w.turns.iter().zip(&w.items).enumerate() {
        let id = i as RequestId;
        let record = &records[i];
        assert_eq!(
            (record.user, record.round),
            (Some(turn.user), Some(turn.round))
        );
        let prompt = &engine.prompts[&id];
        assert_eq!(record.input_tokens as usize, prompt.len());
        if turn.round == 0 {
            assert_eq!(prompt[..], item.prompt_token_ids[..]);
            assert_eq!(
                &prompt[..32],
                system,
                "user {} shares the system prompt",
                turn.user
            );
            continue;
        }
        let answer = &engine.answers[&(id - 1)];
        assert_eq!(answer.len(), 6, "the sim answers with the whole budget");
        let mut expected = engine.prompts[&(id - 1)].clone();
        expected.extend_from_slice(answer);
        expected.extend_from_slice(&item.prompt_token_ids);
        assert_eq!(prompt, &expected, "user {} round {}", turn.user, turn.round);
        let history = (prompt.len() - item.prompt_token_ids.len()) as u32;
        assert_eq!(record.reused_prefix_tokens, Some(history));
    }
}

/// `--conversation-answers fixed`: two engines that answer differently (two
/// sims with different vocabularies) are sent identical prompts, each
/// history holding the planned answer; with real answers their prompts
/// part from round 2 on.
#[test]
fn fixed_answers_give_two_engines_identical_prompts() {
    let _alone = alone();
    let prompts = |answers: AnswerMode, vocab_size: u32| {
        let w = conversation(2, 3, "0", answers);
        let mut engine = Recorded::new(SimConfig {
            vocab_size,
            ..fast_sim()
        });
        engine.hand_over_answers().unwrap();
        run(&mut engine, &w, &Schedule::all_at_once(2, Some(2)));
        let mut sent: Vec<(RequestId, Vec<u32>)> = engine.prompts.into_iter().collect();
        sent.sort();
        (w, sent)
    };
    let (w, a) = prompts(AnswerMode::Fixed, 1_000);
    let (_, b) = prompts(AnswerMode::Fixed, 30_000);
    assert_eq!(a, b);
    for (i, turn) in w.turns.iter().enumerate().filter(|(_, t)| t.round > 0) {
        let fixed = w.turns[i - 1].fixed_answer.as_ref().unwrap();
        let mut expected = a[i - 1].1.clone();
        expected.extend_from_slice(fixed);
        expected.extend_from_slice(&w.items[i].prompt_token_ids);
        assert_eq!(a[i].1, expected, "user {} round {}", turn.user, turn.round);
    }
    let (_, real_a) = prompts(AnswerMode::Real, 1_000);
    let (_, real_b) = prompts(AnswerMode::Real, 30_000);
    assert_eq!(real_a[0], real_b[0], "round 1 is generated here");
    assert_ne!(
        real_a[1], real_b[1],
        "round 2 carries each engine's own answer"
    );
}

fn ttft_ms(record: &RequestRecord) -> f64 {
    RequestMetrics::of(record).unwrap().ttft_ms
}

/// One user at a time, two rounds, prefill at 500 us a token: round 2's
/// prompt of `L2` tokens starts with `c` tokens the cache holds (round 1's
/// prompt and answer, in whole blocks of 16, less the answer's last token),
/// so its TTFT is `(L2 - c) * 500 us`, against `L2 * 500 us` without the
/// cache: it falls by the cached share `c / L2` of its prefill. A busy
/// machine can only wake the sim late, never early, so the fastest of 9
/// users is compared with the model, to within 0.5 ms.
#[test]
fn a_cached_prefix_takes_its_share_off_round_twos_prefill() {
    let _alone = alone();
    let users = 9;
    let w = conversation(users, 2, "0", AnswerMode::Real);
    let slow_prefill = |cache: u64| SimConfig {
        prefill_per_token: Duration::from_micros(500),
        step_base: Duration::from_micros(200),
        step_per_sequence: Duration::ZERO,
        prefix_cache_tokens: cache,
        ..SimConfig::default()
    };
    let measure = |cache: u64| {
        let mut engine = SimEngine::new(slow_prefill(cache));
        engine.hand_over_answers().unwrap();
        run(&mut engine, &w, &Schedule::all_at_once(users, Some(1))).records
    };
    let (cached, cold) = (measure(100_000), measure(0));
    let second = |records: &[RequestRecord]| -> Vec<RequestRecord> {
        records
            .iter()
            .filter(|r| r.round == Some(1))
            .cloned()
            .collect()
    };
    let (cached, cold) = (second(&cached), second(&cold));
    let prompt = 32 + 64 + 8 + 6 + 8; // round 1, its answer, a question
    let held = (32 + 64 + 8 + 6 - 1) / 16 * 16; // 96: the answer's last token has no KV
    for (with, without) in cached.iter().zip(&cold) {
        assert_eq!(with.input_tokens, prompt);
        assert_eq!(with.reused_prefix_tokens, Some(prompt - 8));
        let stats = with.engine_stats.as_ref().unwrap();
        assert_eq!(stats["cached_tokens"], held, "{stats}");
        assert_eq!(without.engine_stats, None, "no cache, no cache stats");
    }
    let fastest = |records: &[RequestRecord]| {
        let ttfts = records.iter().map(ttft_ms);
        ttfts.fold(f64::INFINITY, f64::min)
    };
    let (measured, full) = (fastest(&cached), fastest(&cold));
    let expected = f64::from(prompt - held) * 0.5;
    let all: Vec<f64> = cached.iter().map(ttft_ms).collect();
    assert!(
        (measured - expected).abs() < 0.5,
        "TTFT {measured} ms, model {expected}: {all:?}"
    );
    let expected_full = f64::from(prompt) * 0.5;
    assert!(
        (full - expected_full).abs() < 0.5,
        "cold TTFT {full} ms, model {expected_full}"
    );
    let share = f64::from(held) / f64::from(prompt);
    let fall = 1.0 - measured / full;
    assert!(
        (fall - share).abs() < 0.03,
        "fell by {fall:.3}, cached share {share:.3}"
    );
}

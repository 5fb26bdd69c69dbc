//! `sim`: a simulated engine with iteration-level (in-flight) batching that runs
//! in real time. It is the no-GPU demo and the harness's ground truth; its
//! figures describe this model, never a real engine.
//!
//! The model, one iteration at a time:
//! - Iterations run back to back while there is work, as an engine's own
//!   scheduling loop does: the next one starts when the previous one ends, even
//!   if the driver reads the outputs a little later, so OS sleep overshoot never
//!   accumulates. After an idle spell the next iteration starts at the first
//!   poll that finds work. A request submitted while outputs are being handed
//!   over joins the next iteration. Each iteration first
//!   admits waiting requests in arrival order while the batch has room
//!   (`max_batch_size`) and the KV cache can hold each request's prompt plus its
//!   whole output budget (reserved up front, so nothing is ever evicted, like
//!   TensorRT-LLM's GUARANTEED_NO_EVICT policy). A request that does not fit
//!   blocks those behind it.
//! - Its cost is `prefill_per_token * (prompt tokens admitted)` plus, when any
//!   request was already decoding, `step_base + step_per_sequence * decoding`.
//! - When it ends, every admitted request delivers its first token and every
//!   decoding request one more token; finished requests free their KV tokens.
//!
//! So a lone request of `L` prompt tokens and `n` output tokens has
//! TTFT = `prefill_per_token * L`, TPOT = `step_base + step_per_sequence` and
//! E2EL = TTFT + (n - 1) * TPOT, plus the driver's own few microseconds per step.
//! The sim reads the clock only to pace itself, never for metrics.
//!
//! Prefix caching, off unless `prefix_cache_tokens` is set: a cache of that
//! many tokens in blocks of `prefix_block_size` (16, vLLM's default), as
//! vLLM's automatic prefix caching keeps them (see `prefix_cache`). An
//! admitted prompt whose leading `c` tokens are cached costs
//! `prefill_per_token * (L - c)`; its full blocks are cached as it is
//! admitted, and when it finishes so are those of prompt + answer (less the
//! last token, whose KV was never computed). The cache is apart from
//! `kv_capacity_tokens` (a simplification: in vLLM cached blocks live in the
//! free KV space), and `reset_prefix_cache` empties it. Each request's
//! cached tokens are its engine stats (`cached_tokens`), like vLLM's
//! `num_cached_tokens`.
//!
//! Generated token ids, when asked for (`hand_over_answers`): the sim decodes
//! "greedily", so its answer depends on the prompt alone: token `j` is a hash
//! of the prompt and `j`, below `vocab_size`.
//!
//! Run-to-run variation, off unless asked for: a real engine's next run differs
//! from this one mostly by a shift that every request shares (placement,
//! clocks, warm state). With `run_jitter_pct` each trial draws a speed factor
//! `exp(run_jitter_pct / 100 * z)`, `z` standard normal, that multiplies every
//! iteration's cost for the whole trial; with `iteration_jitter_pct` every
//! iteration also draws its own factor the same way. The draws are seeded:
//! trial `k` of an engine draws from `(seed, k)`, and `k` counts the calls to
//! `reset_prefix_cache`, which the sweep makes before every trial (a fresh
//! engine starts again at 0, so engines opened one per trial need a `seed`
//! each to differ).

mod prefix_cache;

use std::collections::{BTreeMap, VecDeque};
use std::hash::Hasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use self::prefix_cache::PrefixCache;
use super::args::EngineArgs;
use super::{
    Engine, EngineConfigError, EngineError, EngineInfo, EngineOptions, EngineRequest, Event,
    RequestId,
};

pub const NAME: &str = "sim";

/// Longest simulated iteration: far beyond any sane setting, short enough
/// that adding it to a clock reading cannot overflow.
const MAX_ITERATION: Duration = Duration::from_secs(86_400);

/// The simulated engine's parameters (`--engine-arg key=value`).
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    pub max_batch_size: usize,
    pub kv_capacity_tokens: u64,
    pub prefill_per_token: Duration,
    pub step_base: Duration,
    pub step_per_sequence: Duration,
    pub max_model_len: u32,
    pub vocab_size: u32,
    /// Test aid: the engine fails for the whole run after this many iterations.
    pub fail_after_iterations: Option<u64>,
    /// Standard deviation of the log of each trial's speed factor, in percent.
    pub run_jitter_pct: f64,
    /// The same for each iteration's own factor.
    pub iteration_jitter_pct: f64,
    /// Seeds the jitter draws.
    pub seed: u64,
    /// Tokens the prefix cache holds; 0 turns it off.
    pub prefix_cache_tokens: u64,
    /// Tokens per cached block.
    pub prefix_block_size: u32,
}

impl Default for SimConfig {
    /// Loosely shaped like an 8B model on one large GPU; see the module docs.
    fn default() -> Self {
        Self {
            max_batch_size: 256,
            kv_capacity_tokens: 500_000,
            prefill_per_token: Duration::from_micros(20),
            step_base: Duration::from_micros(6_000),
            step_per_sequence: Duration::from_micros(40),
            max_model_len: 8192,
            vocab_size: 32_000,
            fail_after_iterations: None,
            run_jitter_pct: 0.0,
            iteration_jitter_pct: 0.0,
            seed: 0,
            prefix_cache_tokens: 0,
            prefix_block_size: 16,
        }
    }
}

impl SimConfig {
    /// Cost of one iteration that prefills `prefill_tokens` and decodes `decoding` requests.
    /// Capped at [`MAX_ITERATION`], so that `now + cost` cannot overflow.
    pub fn iteration_cost(&self, prefill_tokens: u64, decoding: usize) -> Duration {
        let mut seconds = self.prefill_per_token.as_secs_f64() * prefill_tokens as f64;
        if decoding > 0 {
            seconds += self.step_base.as_secs_f64()
                + self.step_per_sequence.as_secs_f64() * decoding as f64;
        }
        // Finite and non-negative (every term is), so the conversion cannot panic.
        Duration::from_secs_f64(seconds.min(MAX_ITERATION.as_secs_f64()))
    }

    /// Applies `--engine-arg` settings; unknown keys and bad values are errors.
    pub fn with_args(mut self, pairs: &[(String, String)]) -> Result<Self, EngineConfigError> {
        let mut args = EngineArgs::new(NAME, pairs);
        // Bounds keep every later product of these in range (no overflow, no
        // panicking duration arithmetic): at most 1000 s per cost term.
        const MAX_US: f64 = 1e9;
        let count = |n: u64| n as usize;
        if let Some(n) = args.take_positive("max_batch_size", 1 << 20)? {
            self.max_batch_size = count(n);
        }
        if let Some(n) = args.take_positive("kv_capacity_tokens", 1 << 40)? {
            self.kv_capacity_tokens = n;
        }
        if let Some(d) = args.take_micros("prefill_us_per_token", MAX_US)? {
            self.prefill_per_token = d;
        }
        if let Some(d) = args.take_micros("step_base_us", MAX_US)? {
            self.step_base = d;
        }
        if let Some(d) = args.take_micros("step_per_seq_us", MAX_US)? {
            self.step_per_sequence = d;
        }
        if let Some(n) = args.take_positive("max_model_len", u32::MAX as u64)? {
            self.max_model_len = n as u32;
        }
        if let Some(n) = args.take_positive("vocab_size", u32::MAX as u64)? {
            self.vocab_size = n as u32;
        }
        if let Some(n) = args.take_positive("fail_after_iterations", u64::MAX)? {
            self.fail_after_iterations = Some(n);
        }
        // Up to 50%: a factor of e^(0.5 z) already spans 0.2x..5x at |z| = 3.
        if let Some(pct) = args.take_f64_in("run_jitter_pct", 0.0..=50.0)? {
            self.run_jitter_pct = pct;
        }
        if let Some(pct) = args.take_f64_in("iteration_jitter_pct", 0.0..=50.0)? {
            self.iteration_jitter_pct = pct;
        }
        if let Some(seed) = args.take_u64_in("seed", 0..=u64::MAX)? {
            self.seed = seed;
        }
        if let Some(n) = args.take_u64_in("prefix_cache_tokens", 0..=1 << 40)? {
            self.prefix_cache_tokens = n;
        }
        if let Some(n) = args.take_positive("prefix_block_size", 1 << 16)? {
            self.prefix_block_size = n as u32;
        }
        args.finish()?;
        Ok(self)
    }
}

#[derive(Debug)]
struct Sequence {
    id: RequestId,
    prompt: Arc<[u32]>,
    prompt_tokens: u64,
    /// Output tokens still to deliver.
    remaining: u32,
    output_budget: u32,
    /// KV tokens reserved at admission: prompt + whole output budget.
    reserved: u64,
    /// Prompt tokens found in the prefix cache at admission.
    cached: u64,
}

impl Sequence {
    /// The first `n` tokens the sim "generates" for this prompt.
    fn answer(&self, n: u32, vocab_size: u32) -> Vec<u32> {
        let mut hasher = std::hash::DefaultHasher::new();
        for &token in self.prompt.iter() {
            hasher.write_u32(token);
        }
        let prompt = hasher.finish();
        (0..n)
            .map(|j| {
                let mut hasher = std::hash::DefaultHasher::new();
                hasher.write_u64(prompt);
                hasher.write_u32(j);
                (hasher.finish() % u64::from(vocab_size)) as u32
            })
            .collect()
    }
}

/// The iteration in progress: who takes part, and when it completes.
#[derive(Debug)]
struct Iteration {
    ends_at: Instant,
    /// Requests admitted by this iteration (they get their first token).
    admitted: Vec<RequestId>,
    /// Requests decoding in this iteration (they get one more token).
    decoding: Vec<RequestId>,
}

pub struct SimEngine {
    config: SimConfig,
    waiting: VecDeque<Sequence>,
    running: BTreeMap<RequestId, Sequence>,
    kv_reserved: u64,
    iteration: Option<Iteration>,
    /// When the previous iteration ended, if work remained: the next one starts then.
    busy_since: Option<Instant>,
    iterations_done: u64,
    model: Option<String>,
    jitter: Jitter,
    prefix_cache: Option<PrefixCache>,
    /// Hand over each finished request's token ids.
    answers: bool,
}

/// The current trial's draws: its speed factor, and the stream that the
/// iterations' own factors come from.
struct Jitter {
    trial: u64,
    speed_factor: f64,
    rng: ChaCha8Rng,
}

impl Jitter {
    fn draw(config: &SimConfig, trial: u64) -> Self {
        let seed = config.seed ^ trial.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let speed_factor = lognormal_factor(config.run_jitter_pct, &mut rng);
        Self {
            trial,
            speed_factor,
            rng,
        }
    }
}

/// `exp(pct / 100 * z)`; exactly 1 (and no draw) when `pct` is 0.
fn lognormal_factor(pct: f64, rng: &mut ChaCha8Rng) -> f64 {
    if pct == 0.0 {
        return 1.0;
    }
    let z: f64 = rng.sample(StandardNormal);
    (pct / 100.0 * z).exp()
}

impl SimEngine {
    pub fn new(config: SimConfig) -> Self {
        let jitter = Jitter::draw(&config, 0);
        let prefix_cache = (config.prefix_cache_tokens > 0)
            .then(|| PrefixCache::new(config.prefix_cache_tokens, config.prefix_block_size));
        Self {
            prefix_cache,
            answers: false,
            config,
            waiting: VecDeque::new(),
            running: BTreeMap::new(),
            kv_reserved: 0,
            iteration: None,
            busy_since: None,
            iterations_done: 0,
            model: None,
            jitter,
        }
    }

    /// The factor every iteration's cost is multiplied by in this trial.
    pub fn speed_factor(&self) -> f64 {
        self.jitter.speed_factor
    }

    /// Trials begun since the engine opened (calls to `reset_prefix_cache`).
    pub fn trial(&self) -> u64 {
        self.jitter.trial
    }

    pub fn from_options(options: &EngineOptions) -> Result<Self, EngineConfigError> {
        if options.tensor_parallel_size > 1 {
            return Err(EngineConfigError(
                "the sim engine does not model tensor parallelism: use --tp 1".into(),
            ));
        }
        let config = SimConfig::default().with_args(&options.args)?;
        let mut engine = Self::new(config);
        engine.model = options.model.as_ref().map(|m| m.display().to_string());
        Ok(engine)
    }

    fn start_iteration(&mut self, now: Instant) {
        let decoding: Vec<RequestId> = self.running.keys().copied().collect();
        let mut admitted = Vec::new();
        let mut prefill_tokens = 0;
        while let Some(next) = self.waiting.front() {
            let batch_full = self.running.len() >= self.config.max_batch_size;
            let kv_full = self.kv_reserved + next.reserved > self.config.kv_capacity_tokens;
            if batch_full || kv_full {
                break;
            }
            // Cannot fail: the loop condition checked `waiting` is not empty.
            let mut sequence = self.waiting.pop_front().expect("front exists");
            if let Some(cache) = &mut self.prefix_cache {
                sequence.cached = cache.lookup(&sequence.prompt);
                cache.insert(&sequence.prompt);
            }
            prefill_tokens += sequence.prompt_tokens - sequence.cached;
            self.kv_reserved += sequence.reserved;
            admitted.push(sequence.id);
            self.running.insert(sequence.id, sequence);
        }
        let cost = self.jittered(self.config.iteration_cost(prefill_tokens, decoding.len()));
        self.iteration = Some(Iteration {
            ends_at: now + cost,
            admitted,
            decoding,
        });
    }

    /// `cost` times the trial's and this iteration's factors, capped as
    /// [`SimConfig::iteration_cost`] is.
    fn jittered(&mut self, cost: Duration) -> Duration {
        let iteration = lognormal_factor(self.config.iteration_jitter_pct, &mut self.jitter.rng);
        let factor = self.jitter.speed_factor * iteration;
        if factor == 1.0 {
            return cost;
        }
        let seconds = cost.as_secs_f64() * factor;
        Duration::from_secs_f64(seconds.min(MAX_ITERATION.as_secs_f64()))
    }

    fn finish_iteration(&mut self, iteration: Iteration, events: &mut Vec<Event>) {
        for id in iteration.admitted.iter().chain(&iteration.decoding) {
            let Some(sequence) = self.running.get_mut(id) else {
                continue; // cancelled during the iteration
            };
            sequence.remaining -= 1;
            let finished = sequence.remaining == 0;
            if finished {
                self.finished(*id, events);
            }
            events.push(Event::Tokens {
                id: *id,
                tokens: 1,
                finished,
            });
            if finished {
                self.release(*id);
            }
        }
    }

    /// What a finished request leaves: its answer in the prefix cache, its
    /// token ids and cache hits for the driver.
    fn finished(&mut self, id: RequestId, events: &mut Vec<Event>) {
        let Some(sequence) = self.running.get(&id) else {
            return;
        };
        if self.prefix_cache.is_none() && !self.answers {
            return;
        }
        let answer = sequence.answer(sequence.output_budget, self.config.vocab_size);
        if let Some(cache) = &mut self.prefix_cache {
            let computed = answer.len().saturating_sub(1);
            let mut tokens = sequence.prompt.to_vec();
            tokens.extend_from_slice(&answer[..computed]);
            cache.insert(&tokens);
            events.push(Event::EngineStats {
                id,
                stats: serde_json::json!({ "cached_tokens": sequence.cached }),
            });
        }
        if self.answers {
            events.push(Event::Answer {
                id,
                token_ids: answer,
            });
        }
    }

    fn release(&mut self, id: RequestId) {
        if let Some(sequence) = self.running.remove(&id) {
            self.kv_reserved -= sequence.reserved;
        }
    }
}

/// Sleeps until `deadline` with sub-100 µs precision: the OS sleep overshoots by
/// tens of microseconds, so the last stretch spins.
fn sleep_until(deadline: Instant) {
    const SPIN: Duration = Duration::from_micros(200);
    let now = Instant::now();
    if deadline > now + SPIN {
        std::thread::sleep(deadline - now - SPIN);
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

impl Engine for SimEngine {
    fn describe(&self) -> EngineInfo {
        let c = &self.config;
        let mut settings = vec![
            ("max_batch_size", c.max_batch_size.to_string()),
            ("kv_capacity_tokens", c.kv_capacity_tokens.to_string()),
            ("prefill_us_per_token", micros(c.prefill_per_token)),
            ("step_base_us", micros(c.step_base)),
            ("step_per_seq_us", micros(c.step_per_sequence)),
        ];
        if c.prefix_cache_tokens > 0 {
            settings.push(("prefix_cache_tokens", c.prefix_cache_tokens.to_string()));
            settings.push(("prefix_block_size", c.prefix_block_size.to_string()));
        }
        if c.run_jitter_pct > 0.0 || c.iteration_jitter_pct > 0.0 {
            settings.push(("run_jitter_pct", c.run_jitter_pct.to_string()));
            settings.push(("iteration_jitter_pct", c.iteration_jitter_pct.to_string()));
            settings.push(("seed", c.seed.to_string()));
        }
        EngineInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            simulated: true,
            model: self.model.clone(),
            tensor_parallel_size: 1,
            max_model_len: Some(c.max_model_len),
            vocab_size: Some(c.vocab_size),
            settings: settings
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    fn submit(&mut self, request: EngineRequest) -> Result<(), EngineError> {
        let prompt_tokens = request.prompt_token_ids.len() as u64;
        let total = prompt_tokens + u64::from(request.max_output_tokens);
        if prompt_tokens == 0 || request.max_output_tokens == 0 {
            return Err(EngineError::Rejected(
                "empty prompt or zero output tokens".into(),
            ));
        }
        if total > u64::from(self.config.max_model_len) {
            return Err(EngineError::Rejected(format!(
                "prompt + output = {total} tokens exceeds max_model_len {}",
                self.config.max_model_len
            )));
        }
        if total > self.config.kv_capacity_tokens {
            return Err(EngineError::Rejected(format!(
                "needs {total} KV tokens, capacity is {}",
                self.config.kv_capacity_tokens
            )));
        }
        self.waiting.push_back(Sequence {
            id: request.id,
            prompt: request.prompt_token_ids,
            prompt_tokens,
            remaining: request.max_output_tokens,
            output_budget: request.max_output_tokens,
            reserved: total,
            cached: 0,
        });
        Ok(())
    }

    fn poll(&mut self, timeout: Duration, events: &mut Vec<Event>) -> Result<(), EngineError> {
        let now = Instant::now();
        if self.iteration.is_none() {
            if self.waiting.is_empty() && self.running.is_empty() {
                std::thread::sleep(timeout); // idle: nothing can happen until a submit
                return Ok(());
            }
            let start = self.busy_since.take().unwrap_or(now);
            self.start_iteration(start);
        }
        // Cannot fail: the iteration was started just above.
        let ends_at = self.iteration.as_ref().expect("started above").ends_at;
        if ends_at > now + timeout {
            sleep_until(now + timeout);
            return Ok(());
        }
        sleep_until(ends_at);
        // Cannot fail: the iteration was started just above.
        let iteration = self.iteration.take().expect("started above");
        self.finish_iteration(iteration, events);
        let work_left = !(self.waiting.is_empty() && self.running.is_empty());
        self.busy_since = work_left.then_some(ends_at);
        self.iterations_done += 1;
        match self.config.fail_after_iterations {
            Some(limit) if self.iterations_done >= limit => Err(EngineError::Fatal(format!(
                "injected failure after {limit} iterations (fail_after_iterations)"
            ))),
            _ => Ok(()),
        }
    }

    /// Empties the prefix cache. The sweep calls this before every trial,
    /// so it starts the next trial's draws here too.
    fn reset_prefix_cache(&mut self) -> Result<(), EngineError> {
        if let Some(cache) = &mut self.prefix_cache {
            cache.clear();
        }
        self.jitter = Jitter::draw(&self.config, self.jitter.trial + 1);
        Ok(())
    }

    fn hand_over_answers(&mut self) -> Result<(), EngineConfigError> {
        self.answers = true;
        Ok(())
    }

    fn cancel(&mut self, id: RequestId) -> Result<(), EngineError> {
        self.waiting.retain(|s| s.id != id);
        self.release(id);
        if self.waiting.is_empty() && self.running.is_empty() {
            self.busy_since = None;
        }
        Ok(())
    }

    fn shutdown(&mut self) -> Result<(), EngineError> {
        self.waiting.clear();
        self.running.clear();
        self.kv_reserved = 0;
        self.iteration = None;
        self.busy_since = None;
        Ok(())
    }
}

fn micros(d: Duration) -> String {
    format!("{}", d.as_secs_f64() * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn request(id: RequestId, prompt: usize, output: u32) -> EngineRequest {
        EngineRequest {
            id,
            prompt_token_ids: Arc::from(vec![1u32; prompt]),
            max_output_tokens: output,
            ignore_eos: true,
            sampling: Default::default(),
        }
    }

    fn fast() -> SimConfig {
        SimConfig {
            prefill_per_token: Duration::ZERO,
            step_base: Duration::ZERO,
            step_per_sequence: Duration::ZERO,
            ..SimConfig::default()
        }
    }

    impl SimEngine {
        /// The answer the sim gives `prompt` (as `hand_over_answers` would).
        fn running_answer_for(&self, prompt: &[u32], n: u32) -> Vec<u32> {
            let sequence = Sequence {
                id: 0,
                prompt: Arc::from(prompt),
                prompt_tokens: prompt.len() as u64,
                remaining: n,
                output_budget: n,
                reserved: 0,
                cached: 0,
            };
            sequence.answer(n, self.config.vocab_size)
        }
    }

    fn drain(engine: &mut SimEngine) -> Vec<Event> {
        let mut events = Vec::new();
        while !engine.waiting.is_empty() || !engine.running.is_empty() {
            engine.poll(Duration::from_secs(1), &mut events).unwrap();
        }
        events
    }

    #[test]
    fn delivers_exactly_the_output_budget_then_finishes() {
        let mut engine = SimEngine::new(fast());
        engine.submit(request(7, 4, 3)).unwrap();
        let events = drain(&mut engine);
        let finished: Vec<bool> = events
            .iter()
            .map(|e| matches!(e, Event::Tokens { finished: true, .. }))
            .collect();
        assert_eq!(finished, vec![false, false, true]);
    }

    #[test]
    fn batch_limit_holds_back_later_requests() {
        let mut engine = SimEngine::new(SimConfig {
            max_batch_size: 2,
            ..fast()
        });
        for id in 0..3 {
            engine.submit(request(id, 4, 2)).unwrap();
        }
        let mut events = Vec::new();
        engine.poll(Duration::from_secs(1), &mut events).unwrap();
        let ids: Vec<RequestId> = events
            .iter()
            .map(|e| match e {
                Event::Tokens { id, .. } => *id,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(ids, vec![0, 1], "third request waits for a free slot");
    }

    #[test]
    fn kv_capacity_blocks_admission_until_space_frees() {
        let mut engine = SimEngine::new(SimConfig {
            kv_capacity_tokens: 10,
            ..fast()
        });
        engine.submit(request(0, 4, 2)).unwrap(); // reserves 6
        engine.submit(request(1, 4, 2)).unwrap(); // would need 12 in all
        let mut events = Vec::new();
        engine.poll(Duration::from_secs(1), &mut events).unwrap();
        assert_eq!(engine.running.len(), 1);
        assert_eq!(engine.waiting.len(), 1);
        let all = drain(&mut engine);
        let done = all
            .iter()
            .filter(|e| matches!(e, Event::Tokens { finished: true, .. }))
            .count();
        assert_eq!(
            done, 2,
            "the second request runs once the first frees its KV"
        );
    }

    #[test]
    fn rejects_requests_that_cannot_ever_fit() {
        let mut engine = SimEngine::new(SimConfig {
            max_model_len: 16,
            ..fast()
        });
        let err = engine.submit(request(0, 10, 10)).unwrap_err();
        assert!(matches!(err, EngineError::Rejected(m) if m.contains("max_model_len 16")));
    }

    #[test]
    fn iteration_cost_follows_the_model() {
        let config = SimConfig::default();
        assert_eq!(config.iteration_cost(100, 0), Duration::from_micros(2_000));
        assert_eq!(
            config.iteration_cost(0, 10),
            Duration::from_micros(6_000 + 400)
        );
    }

    fn jittery(pairs: &[(&str, &str)]) -> SimEngine {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SimEngine::new(SimConfig::default().with_args(&pairs).unwrap())
    }

    fn factors(engine: &mut SimEngine, trials: usize) -> Vec<f64> {
        (0..trials)
            .map(|_| {
                engine.reset_prefix_cache().unwrap();
                engine.speed_factor()
            })
            .collect()
    }

    #[test]
    fn without_jitter_every_trial_runs_at_the_modelled_speed() {
        let mut engine = SimEngine::new(SimConfig::default());
        assert_eq!(factors(&mut engine, 5), vec![1.0; 5]);
        assert_eq!(engine.trial(), 5);
        let cost = Duration::from_micros(6_400);
        assert_eq!(engine.jittered(cost), cost, "no draw alters a cost");
        let settings = engine.describe().settings;
        assert!(!settings.contains_key("run_jitter_pct"), "{settings:?}");
    }

    /// Each trial's factor is `exp(0.03 z)`: over 4000 trials the log factors
    /// have mean 0 and standard deviation 0.03 (to within 5%), and the same
    /// seed replays the same sequence while another seed does not.
    #[test]
    fn run_jitter_draws_one_seeded_factor_per_trial() {
        let mut engine = jittery(&[("run_jitter_pct", "3"), ("seed", "11")]);
        let logs: Vec<f64> = factors(&mut engine, 4_000).iter().map(|f| f.ln()).collect();
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / 3_999.0).sqrt();
        assert!(mean.abs() < 0.002, "mean log factor {mean}");
        assert!((sd - 0.03).abs() < 0.0015, "sd of log factor {sd}");
        let replay = factors(&mut jittery(&[("run_jitter_pct", "3"), ("seed", "11")]), 20);
        assert_eq!(
            replay,
            factors(&mut jittery(&[("run_jitter_pct", "3"), ("seed", "11")]), 20)
        );
        assert_ne!(
            replay,
            factors(&mut jittery(&[("run_jitter_pct", "3"), ("seed", "12")]), 20)
        );
        assert!(
            replay.windows(2).all(|w| w[0] != w[1]),
            "a new factor every trial"
        );
        let settings = engine.describe().settings;
        assert_eq!(settings["run_jitter_pct"], "3");
        assert_eq!(settings["seed"], "11");
    }

    #[test]
    fn the_trial_factor_scales_every_iteration_and_iteration_jitter_varies_them() {
        let mut engine = jittery(&[("run_jitter_pct", "10"), ("seed", "3")]);
        engine.reset_prefix_cache().unwrap();
        let factor = engine.speed_factor();
        assert_ne!(factor, 1.0);
        let cost = Duration::from_micros(6_400);
        for _ in 0..3 {
            let got = engine.jittered(cost).as_secs_f64();
            assert!((got - cost.as_secs_f64() * factor).abs() < 1e-9);
        }
        let mut noisy = jittery(&[("iteration_jitter_pct", "5"), ("seed", "3")]);
        assert_eq!(noisy.speed_factor(), 1.0, "no run jitter asked for");
        let costs: Vec<Duration> = (0..50).map(|_| noisy.jittered(cost)).collect();
        assert!(costs.windows(2).all(|w| w[0] != w[1]), "{costs:?}");
        let mean = costs.iter().map(Duration::as_secs_f64).sum::<f64>() / 50.0;
        assert!((mean / cost.as_secs_f64() - 1.0).abs() < 0.03, "{mean}");
    }

    #[test]
    fn jitter_arguments_are_range_checked() {
        let args = |v: &str| vec![("run_jitter_pct".to_string(), v.to_string())];
        assert!(SimConfig::default().with_args(&args("60")).is_err());
        assert!(SimConfig::default().with_args(&args("-1")).is_err());
        let seed = vec![("seed".to_string(), "x".to_string())];
        assert!(SimConfig::default().with_args(&seed).is_err());
        let ok = SimConfig::default().with_args(&args("2.5")).unwrap();
        assert_eq!(
            (ok.run_jitter_pct, ok.iteration_jitter_pct, ok.seed),
            (2.5, 0.0, 0)
        );
    }

    fn prompt_request(id: RequestId, prompt: Vec<u32>, output: u32) -> EngineRequest {
        EngineRequest {
            prompt_token_ids: Arc::from(prompt),
            ..request(id, 0, output)
        }
    }

    fn stats_of(events: &[Event], wanted: RequestId) -> serde_json::Value {
        events
            .iter()
            .find_map(|e| match e {
                Event::EngineStats { id, stats } if *id == wanted => Some(stats.clone()),
                _ => None,
            })
            .expect("engine stats")
    }

    #[test]
    fn the_prefix_cache_holds_prompts_and_answers_in_whole_blocks() {
        let config = SimConfig {
            prefix_cache_tokens: 10_000,
            prefix_block_size: 16,
            ..fast()
        };
        let mut engine = SimEngine::new(config);
        let first: Vec<u32> = (0..40).collect();
        engine.submit(prompt_request(0, first.clone(), 9)).unwrap();
        let events = drain(&mut engine);
        assert_eq!(stats_of(&events, 0)["cached_tokens"], 0);
        // The next round: the first prompt, its answer (8 of 9 computed), a question.
        let mut second = first.clone();
        second.extend(engine.running_answer_for(&first, 9));
        second.extend([7, 7, 7]);
        engine.submit(prompt_request(1, second, 2)).unwrap();
        let events = drain(&mut engine);
        // 40 + 8 computed tokens: three whole blocks of 16.
        assert_eq!(stats_of(&events, 1)["cached_tokens"], 48);
        engine.reset_prefix_cache().unwrap();
        engine.submit(prompt_request(2, first, 2)).unwrap();
        assert_eq!(stats_of(&drain(&mut engine), 2)["cached_tokens"], 0);
        let settings = engine.describe().settings;
        assert_eq!(settings["prefix_cache_tokens"], "10000");
    }

    #[test]
    fn cached_tokens_are_not_prefilled_again() {
        let config = SimConfig {
            prefix_cache_tokens: 10_000,
            ..SimConfig::default()
        };
        let mut engine = SimEngine::new(config);
        engine
            .submit(prompt_request(0, (0..100).collect(), 1))
            .unwrap();
        drain(&mut engine);
        engine
            .submit(prompt_request(1, (0..100).collect(), 1))
            .unwrap();
        let start = Instant::now();
        engine.start_iteration(start);
        let iteration = engine.iteration.as_ref().unwrap();
        // 96 of its 100 tokens (six blocks of 16) are cached: it prefills 4.
        assert_eq!(
            iteration.ends_at - start,
            engine.config.iteration_cost(4, 0)
        );
    }

    #[test]
    fn answers_are_handed_over_before_the_last_delivery_and_depend_on_the_prompt() {
        let mut engine = SimEngine::new(SimConfig {
            vocab_size: 50,
            ..fast()
        });
        engine.hand_over_answers().unwrap();
        engine.submit(prompt_request(0, vec![1, 2, 3], 5)).unwrap();
        engine.submit(prompt_request(1, vec![1, 2, 3], 5)).unwrap();
        engine.submit(prompt_request(2, vec![1, 2, 4], 5)).unwrap();
        let events = drain(&mut engine);
        let answer = |wanted: RequestId| {
            let at = events
                .iter()
                .position(|e| matches!(e, Event::Answer { id, .. } if *id == wanted))
                .unwrap();
            let last = events
                .iter()
                .position(
                    |e| matches!(e, Event::Tokens { id, finished: true, .. } if *id == wanted),
                )
                .unwrap();
            assert!(at < last);
            match &events[at] {
                Event::Answer { token_ids, .. } => token_ids.clone(),
                _ => unreachable!(),
            }
        };
        assert_eq!(answer(0).len(), 5);
        assert!(answer(0).iter().all(|&t| t < 50));
        assert_eq!(answer(0), answer(1), "same prompt, same answer");
        assert_ne!(answer(0), answer(2));
    }

    #[test]
    fn unknown_engine_args_are_named() {
        let err = SimConfig::default()
            .with_args(&[("max_batch".into(), "4".into())])
            .unwrap_err();
        assert!(err.0.contains("'max_batch'"));
    }
}

//! Workloads: the requests of a run, as token ids.
//!
//! Every source is seeded, so the same flags give the same token ids for every
//! engine and engines are compared on identical work. Conversations are the
//! exception where they carry the engine's real answers into the next round
//! (see [`conversation`]): only the parts generated here are the same.

pub mod conversation;
pub mod prompts_file;
pub mod random;
pub mod reuse;
pub mod shared_prefix;
pub mod sharegpt;
pub mod tokenizer;
pub mod trace;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use conversation::{AnswerMode, ConversationSpec, Questions, ThinkTime};
pub use trace::TraceSpec;

/// One request of the workload, before it is scheduled.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkItem {
    pub prompt_token_ids: Arc<[u32]>,
    pub max_output_tokens: u32,
}

impl WorkItem {
    pub fn new(prompt_token_ids: Vec<u32>, max_output_tokens: u32) -> Self {
        Self {
            prompt_token_ids: prompt_token_ids.into(),
            max_output_tokens,
        }
    }

    pub fn input_len(&self) -> u32 {
        self.prompt_token_ids.len() as u32
    }
}

/// A request's place in a conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// The session (one user's conversation), numbered from 0 in start order.
    pub user: u32,
    /// 0 for the first round.
    pub round: u32,
    /// How long the user waits after the previous round's answer before
    /// asking this one (zero for round 0).
    pub think_time: Duration,
    /// `--conversation-answers fixed`: the ids that stand for this round's
    /// answer in the next round's history, instead of what the engine generated.
    pub fixed_answer: Option<Arc<[u32]>>,
}

/// The requests of a run and how they group into sessions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Workload {
    /// Every request, numbered by position. A session's rounds are
    /// consecutive; a later round holds only its new tokens (the question),
    /// and the driver puts the session's history (every earlier prompt and
    /// answer) in front of them.
    pub items: Vec<WorkItem>,
    /// Per request, its place in a conversation; empty when every request
    /// stands alone (a session of one round).
    pub turns: Vec<Turn>,
    /// Arrival offsets the workload fixes itself (a trace), one per request.
    pub arrivals: Option<Vec<Duration>>,
    /// Per request, the prompt tokens an ideal prefix cache (one that never
    /// evicts) would already hold from earlier requests, as far as known
    /// before the run. A conversation's history is added by the driver.
    pub reused_prefix: Vec<u32>,
}

impl Workload {
    /// Stand-alone requests, with the prefix reuse `reused_prefix` (one per item).
    pub fn single_shot(items: Vec<WorkItem>, reused_prefix: Vec<u32>) -> Self {
        debug_assert_eq!(items.len(), reused_prefix.len());
        Self {
            items,
            reused_prefix,
            ..Self::default()
        }
    }

    /// Stand-alone requests whose prefix reuse is worked out from the prompts.
    pub fn of_prompts(items: Vec<WorkItem>) -> Self {
        let reused = reuse::shared_with_earlier(&items);
        Self::single_shot(items, reused)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Each session's requests, in start order.
    pub fn sessions(&self) -> Vec<Range<usize>> {
        session_ranges(&self.turns, self.items.len())
    }

    /// Conversations whose later rounds carry the engine's own answers: the
    /// engine must hand over its generated token ids.
    pub fn needs_answer_ids(&self) -> bool {
        self.turns
            .windows(2)
            .any(|w| w[1].round > 0 && w[0].fixed_answer.is_none())
    }

    /// Every request's prompt length and reused prefix as planned: exact for
    /// single-shot workloads and fixed answers; with real answers, each is
    /// taken to use its whole output budget (ignore-EOS runs do). A fixed
    /// answer is in the next prompt but not in an ideal cache, which holds
    /// the engine's own answer.
    pub fn planned(&self) -> Vec<PlannedRequest> {
        let (mut history, mut cached) = (0u64, 0u64);
        self.items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let turn = self.turns.get(i);
                if turn.is_none_or(|t| t.round == 0) {
                    (history, cached) = (0, 0);
                }
                let input = history + u64::from(item.input_len());
                let reused = cached.max(u64::from(self.reused_prefix[i]));
                let fixed = turn.and_then(|t| t.fixed_answer.as_ref());
                let answer = fixed.map_or(item.max_output_tokens as usize, |a| a.len());
                history = input + answer as u64;
                cached = if fixed.is_some() { input } else { history };
                PlannedRequest {
                    input_tokens: input,
                    output_tokens: u64::from(item.max_output_tokens),
                    reused_prefix: reused,
                }
            })
            .collect()
    }

    /// Checks the planned requests against what the engine accepts, naming
    /// the first offender: a conversation's last round is its longest.
    pub fn check_limits(
        &self,
        max_model_len: Option<u32>,
        vocab_size: Option<u32>,
    ) -> Result<(), WorkloadError> {
        if self.turns.is_empty() {
            return check_limits(&self.items, max_model_len, vocab_size);
        }
        check_limits(&self.items, None, vocab_size)?;
        let Some(limit) = max_model_len else {
            return Ok(());
        };
        for (planned, turn) in self.planned().iter().zip(&self.turns) {
            let total = planned.input_tokens + planned.output_tokens;
            if total > u64::from(limit) {
                return Err(WorkloadError(format!(
                    "user {} round {}: its history and question ({} tokens) + output {} \
                     tokens exceed the model's limit of {limit} (fewer --conversation-rounds \
                     or shorter prompts)",
                    turn.user,
                    turn.round + 1,
                    planned.input_tokens,
                    planned.output_tokens
                )));
            }
        }
        Ok(())
    }
}

/// Each session's requests, in start order: a conversation's rounds
/// (`turns`, one per request), else `count` requests of one round each.
pub fn session_ranges(turns: &[Turn], count: usize) -> Vec<Range<usize>> {
    if turns.is_empty() {
        return (0..count).map(|i| i..i + 1).collect();
    }
    let mut sessions: Vec<Range<usize>> = Vec::new();
    for (i, turn) in turns.iter().enumerate() {
        match sessions.last_mut() {
            Some(last) if turn.round > 0 => last.end = i + 1,
            _ => sessions.push(i..i + 1),
        }
    }
    sessions
}

/// One request as planned before the run (see [`Workload::planned`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlannedRequest {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub reused_prefix: u64,
}

/// Why a workload could not be built: always a problem with the user's input.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct WorkloadError(pub String);

/// Which workload to build, with its parameters (from `--dataset-name` and friends).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dataset", rename_all = "kebab-case")]
pub enum WorkloadSpec {
    Random(random::RandomSpec),
    PromptsFile {
        path: PathBuf,
        tokenizer: Option<PathBuf>,
        default_output_len: u32,
    },
    ShareGpt {
        path: PathBuf,
        tokenizer: PathBuf,
        /// Overrides the completion's length as the output budget.
        output_len: Option<u32>,
    },
    SharedPrefix(shared_prefix::SharedPrefixSpec),
    /// Multi-round conversations: `count` sessions of several rounds.
    Conversation(ConversationSpec),
    /// A Mooncake-format trace, replayed at its timestamps.
    Trace(TraceSpec),
}

/// No request may be longer than this (prompt + output tokens), whatever
/// the model: far beyond any context length, and small enough that token
/// counts never overflow the 32-bit lengths the engines take.
pub const MAX_REQUEST_TOKENS: u64 = 1 << 27;

/// Memory per request, roughly: the item, its record, its samples.
const ITEM_BYTES: u64 = 64;
const RECORD_BYTES: u64 = 256;
/// Per output token: a delivery (16 bytes, twice over while its vector
/// grows) and an inter-token gap in the samples (8 bytes).
const BYTES_PER_OUTPUT_TOKEN: u64 = 40;

/// What a workload's requests hold, at most, before they are built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    /// Prompt tokens each request holds a copy of.
    pub own_prompt_tokens: u64,
    /// Prompt tokens held once and shared (a file's lines, users' contexts).
    pub shared_prompt_tokens: u64,
    /// Longest prompt and output of one request.
    pub longest_prompt: u64,
    pub longest_output: u64,
    /// Requests per unit of `--num-prompts`: a conversation's rounds, else 1.
    pub requests_per_count: u64,
}

impl Shape {
    /// What a spec's requests hold, from its flags (files: from their size).
    pub fn of(spec: &WorkloadSpec) -> Shape {
        match spec {
            WorkloadSpec::Random(r) => {
                let (_, in_hi) = random::length_bounds(r.input_len, r.range_ratio);
                let (_, out_hi) = random::length_bounds(r.output_len, r.range_ratio);
                let prompt = u64::from(r.prefix_len) + u64::from(in_hi);
                Shape {
                    own_prompt_tokens: prompt,
                    shared_prompt_tokens: 0,
                    longest_prompt: prompt,
                    longest_output: u64::from(out_hi),
                    requests_per_count: 1,
                }
            }
            WorkloadSpec::SharedPrefix(p) => {
                let prompt = u64::from(p.context_len) + u64::from(p.question_len);
                Shape {
                    own_prompt_tokens: prompt,
                    shared_prompt_tokens: u64::from(p.num_users) * u64::from(p.context_len),
                    longest_prompt: prompt,
                    longest_output: u64::from(p.output_len),
                    requests_per_count: 1,
                }
            }
            // A file's prompts are held once, however often they repeat; a
            // token takes at least a byte of text. Output lengths are known
            // once the file is read: `check_built` checks them then.
            WorkloadSpec::PromptsFile {
                path,
                default_output_len,
                ..
            } => Shape::of_file(path, u64::from(*default_output_len)),
            WorkloadSpec::ShareGpt { path, .. } => Shape::of_file(path, sharegpt::MAX_TOTAL_TOKENS),
            // Every round of a session: its prompt holds the whole history
            // (system prompt, context, each earlier question and answer).
            WorkloadSpec::Conversation(c) => {
                let (question, answer) = match &c.questions {
                    Questions::Random {
                        question_len,
                        answer_len,
                    } => (u64::from(*question_len), u64::from(*answer_len)),
                    Questions::ShareGpt { path, .. } => {
                        let file = Shape::of_file(path, sharegpt::MAX_TOTAL_TOKENS);
                        return Shape {
                            requests_per_count: u64::from(c.rounds),
                            ..file
                        };
                    }
                };
                let rounds = u64::from(c.rounds);
                let prompt = u64::from(c.system_prompt_len)
                    + u64::from(c.context_len)
                    + rounds * question
                    + rounds.saturating_sub(1) * answer;
                Shape {
                    own_prompt_tokens: prompt,
                    shared_prompt_tokens: 0,
                    longest_prompt: prompt,
                    longest_output: answer,
                    requests_per_count: rounds,
                }
            }
            // Lengths are known once the trace is read: `check_built` then.
            WorkloadSpec::Trace(t) => Shape::of_file(&t.path, 0),
        }
    }

    fn of_file(path: &std::path::Path, output: u64) -> Shape {
        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        Shape {
            own_prompt_tokens: 0,
            shared_prompt_tokens: bytes,
            longest_prompt: 0,
            longest_output: output,
            requests_per_count: 1,
        }
    }

    /// What a built workload holds: its prompts (shared ones once), and
    /// its longest request as planned (a conversation's history included).
    pub fn of_workload(workload: &Workload) -> Shape {
        let mut seen = std::collections::HashSet::new();
        let mut shared = 0;
        for item in &workload.items {
            if seen.insert(Arc::as_ptr(&item.prompt_token_ids) as *const u32) {
                shared += u64::from(item.input_len());
            }
        }
        let planned = workload.planned();
        Shape {
            own_prompt_tokens: 0,
            shared_prompt_tokens: shared,
            longest_prompt: planned.iter().map(|p| p.input_tokens).max().unwrap_or(0),
            longest_output: planned.iter().map(|p| p.output_tokens).max().unwrap_or(0),
            requests_per_count: 1,
        }
    }

    /// Bytes for `requests` items and `records` records of this shape.
    pub fn bytes(&self, requests: u64, records: u64) -> u64 {
        let item = ITEM_BYTES.saturating_add(self.own_prompt_tokens.saturating_mul(4));
        let record =
            RECORD_BYTES.saturating_add(self.longest_output.saturating_mul(BYTES_PER_OUTPUT_TOKEN));
        requests
            .saturating_mul(item)
            .saturating_add(self.shared_prompt_tokens.saturating_mul(4))
            .saturating_add(records.saturating_mul(record))
    }
}

/// Refuses a workload whose requests are longer than any model takes or
/// whose run would not fit in memory: checked from the flags before
/// anything is built. `trials` runs of `num_prompts` requests keep their
/// records until the level is summarized; the warm-up's are dropped.
pub fn check_memory(
    spec: &WorkloadSpec,
    num_prompts: usize,
    num_warmups: usize,
    trials: usize,
) -> Result<(), WorkloadError> {
    check_shape(&Shape::of(spec), num_prompts, num_warmups, trials)
}

/// [`check_memory`] again once a file-based workload is built and its real
/// lengths are known, before any record is made.
pub fn check_built(
    workload: &Workload,
    num_warmups: usize,
    trials: usize,
) -> Result<(), WorkloadError> {
    check_shape(
        &Shape::of_workload(workload),
        workload.len(),
        num_warmups,
        trials,
    )
}

fn check_shape(
    shape: &Shape,
    num_prompts: usize,
    num_warmups: usize,
    trials: usize,
) -> Result<(), WorkloadError> {
    let longest = shape.longest_prompt.saturating_add(shape.longest_output);
    if longest > MAX_REQUEST_TOKENS {
        return Err(WorkloadError(format!(
            "a request of {} + {} tokens is longer than any model's context \
             (this tool takes at most {MAX_REQUEST_TOKENS} tokens per request)",
            shape.longest_prompt, shape.longest_output
        )));
    }
    let per = shape.requests_per_count.max(1);
    let (n, w, t) = (
        (num_prompts as u64).saturating_mul(per),
        (num_warmups as u64).saturating_mul(per),
        trials as u64,
    );
    let records = n.saturating_mul(t).saturating_add(w);
    let bytes = shape.bytes(n.saturating_add(w), records);
    let what = format!(
        "{records} requests (--num-prompts {num_prompts} x --trials {trials} + \
         --num-warmups {num_warmups}) of up to {} + {} tokens",
        shape.longest_prompt, shape.longest_output
    );
    crate::process::memory::check(&what, bytes).map_err(WorkloadError)
}

impl WorkloadSpec {
    /// What `count` (`--num-prompts`) counts: sessions for conversations,
    /// requests otherwise.
    pub fn counts_sessions(&self) -> bool {
        matches!(self, WorkloadSpec::Conversation(_))
    }
}

/// Builds the workload for the spec: `count` requests, or `count` sessions
/// of a conversation. `seed` fixes sampling and token ids.
pub fn build(spec: &WorkloadSpec, count: usize, seed: u64) -> Result<Workload, WorkloadError> {
    let workload = match spec {
        WorkloadSpec::Random(random) => {
            let items = random::generate(random, count, seed);
            let reused = (0..items.len())
                .map(|i| if i == 0 { 0 } else { random.prefix_len })
                .collect();
            Workload::single_shot(items, reused)
        }
        WorkloadSpec::PromptsFile {
            path,
            tokenizer,
            default_output_len,
        } => Workload::of_prompts(prompts_file::load(
            path,
            tokenizer.as_deref(),
            *default_output_len,
            count,
        )?),
        WorkloadSpec::ShareGpt {
            path,
            tokenizer,
            output_len,
        } => Workload::of_prompts(sharegpt::load(path, tokenizer, *output_len, count, seed)?),
        WorkloadSpec::SharedPrefix(shared) => {
            let items = shared_prefix::generate(shared, count, seed);
            let reused = (0..items.len())
                .map(|i| match i < shared.num_users as usize {
                    true => 0,
                    false => shared.context_len,
                })
                .collect();
            Workload::single_shot(items, reused)
        }
        WorkloadSpec::Conversation(conversation) => conversation::build(conversation, count, seed)?,
        WorkloadSpec::Trace(trace) => trace::load(trace, count, seed)?,
    };
    if workload.items.is_empty() {
        return Err(WorkloadError("the workload has no requests".into()));
    }
    Ok(workload)
}

/// Checks the workload against what the engine accepts, naming the first offender.
pub fn check_limits(
    items: &[WorkItem],
    max_model_len: Option<u32>,
    vocab_size: Option<u32>,
) -> Result<(), WorkloadError> {
    for (index, item) in items.iter().enumerate() {
        let total = item.input_len() as u64 + item.max_output_tokens as u64;
        if let Some(limit) = max_model_len.filter(|limit| total > *limit as u64) {
            return Err(WorkloadError(format!(
                "request {index}: input {} + output {} tokens exceeds the model's limit of {limit}",
                item.input_len(),
                item.max_output_tokens
            )));
        }
        let too_big = vocab_size.and_then(|v| item.prompt_token_ids.iter().find(|&&t| t >= v));
        if let (Some(token), Some(vocab)) = (too_big, vocab_size) {
            return Err(WorkloadError(format!(
                "request {index}: token id {token} is outside the model's vocabulary of {vocab}"
            )));
        }
    }
    Ok(())
}

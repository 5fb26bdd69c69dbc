//! Multi-round conversations: sessions of several rounds, each round's prompt
//! the whole history so far (every earlier prompt and answer, as token ids)
//! plus a new question.
//!
//! What is built here, seeded: a system prompt shared by every user, each
//! user's own context, the questions, the think times, and with
//! `--conversation-answers fixed` the ids that stand for each answer. The
//! history itself is assembled by the driver as answers arrive, because by
//! default (`real`) it holds what the engine actually generated: then two
//! engines see the same questions but not the same prompts after round 1.
//! `fixed` appends the planned answer instead (`answer_len` seeded ids, or
//! the dataset's own answer for ShareGPT), so every engine sees identical
//! prompts, as a prefix-cache comparison needs.
//!
//! Questions are random ids (`Questions::Random`) or ShareGPT's
//! conversations (`Questions::ShareGpt`): human turns become questions and
//! the following gpt turn sets the answer's budget, walked as vLLM's
//! `vllm-bench --multi-turn` walks them (entries of 4 messages or more,
//! shuffled with the seed; a pair that does not start with a human turn is
//! skipped by one message; conversations of fewer than 2 rounds dropped).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};
use serde::{Deserialize, Serialize};

use super::sharegpt;
use super::tokenizer::TextTokenizer;
use super::{Turn, WorkItem, Workload, WorkloadError};

/// Seeds the think times apart from the tokens, so changing one leaves the other.
const THINK_SEED_SALT: u64 = 0x0074_6869_6e6b;
/// Seeds the fixed answers apart from the questions.
const ANSWER_SEED_SALT: u64 = 0x616e_7377_6572;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationSpec {
    /// Rounds per session (`--conversation-rounds`); ShareGPT sessions may
    /// have fewer, when the conversation ends sooner.
    pub rounds: u32,
    /// Tokens every user's first prompt starts with.
    pub system_prompt_len: u32,
    /// Tokens of each user's own context, after the system prompt.
    pub context_len: u32,
    pub questions: Questions,
    pub think_time: ThinkTime,
    pub answers: AnswerMode,
    /// Random token ids come from `vocab_lo..vocab_hi`.
    pub vocab_lo: u32,
    pub vocab_hi: u32,
}

/// Where the questions come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Questions {
    /// `question_len` random ids per question, `answer_len` tokens per answer.
    Random { question_len: u32, answer_len: u32 },
    /// The human turns of a ShareGPT file; each answer's budget is the next
    /// gpt turn's token count, or `output_len`.
    ShareGpt {
        path: PathBuf,
        tokenizer: PathBuf,
        output_len: Option<u32>,
    },
}

/// What goes into the history as a round's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerMode {
    /// The token ids the engine generated.
    Real,
    /// The planned answer, the same for every engine.
    Fixed,
}

/// How long a user waits after an answer before asking the next question
/// (`--think-time-ms`): `500`, `exp:500` (exponential, mean 500 ms) or
/// `uniform:200:800`. Drawn once per round when the workload is built.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "lowercase")]
pub enum ThinkTime {
    Fixed { ms: f64 },
    Exponential { mean_ms: f64 },
    Uniform { lo_ms: f64, hi_ms: f64 },
}

impl ThinkTime {
    /// Parses `--think-time-ms`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "--think-time-ms '{text}': expected milliseconds (500), exp:MEAN or uniform:LO:HI, \
                 each a number >= 0"
            )
        };
        let number = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0 && *x <= 1e9)
                .ok_or_else(bad)
        };
        let parts: Vec<&str> = text.trim().split(':').collect();
        match parts.as_slice() {
            [ms] => Ok(ThinkTime::Fixed { ms: number(ms)? }),
            ["exp", mean] => Ok(ThinkTime::Exponential {
                mean_ms: number(mean)?,
            }),
            ["uniform", lo, hi] => {
                let (lo_ms, hi_ms) = (number(lo)?, number(hi)?);
                if lo_ms > hi_ms {
                    return Err(format!("--think-time-ms '{text}': LO must not exceed HI"));
                }
                Ok(ThinkTime::Uniform { lo_ms, hi_ms })
            }
            _ => Err(bad()),
        }
    }

    pub fn mean_ms(&self) -> f64 {
        match *self {
            ThinkTime::Fixed { ms } => ms,
            ThinkTime::Exponential { mean_ms } => mean_ms,
            ThinkTime::Uniform { lo_ms, hi_ms } => (lo_ms + hi_ms) / 2.0,
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> Duration {
        let ms = match *self {
            ThinkTime::Fixed { ms } => ms,
            ThinkTime::Exponential { mean_ms } if mean_ms > 0.0 => Exp::new(1.0 / mean_ms)
                .expect("a positive mean")
                .sample(rng),
            ThinkTime::Exponential { .. } => 0.0,
            ThinkTime::Uniform { lo_ms, hi_ms } if hi_ms > lo_ms => rng.random_range(lo_ms..hi_ms),
            ThinkTime::Uniform { lo_ms, .. } => lo_ms,
        };
        Duration::from_secs_f64(ms / 1e3)
    }

    /// `500ms`, `exp500ms`, `uniform200-800ms`: for benchmark ids.
    pub fn label(&self) -> String {
        match *self {
            ThinkTime::Fixed { ms } => format!("{ms}ms"),
            ThinkTime::Exponential { mean_ms } => format!("exp{mean_ms}ms"),
            ThinkTime::Uniform { lo_ms, hi_ms } => format!("uniform{lo_ms}-{hi_ms}ms"),
        }
    }
}

/// One round before the history is put in front: its question and its answer.
struct PlannedRound {
    question: Vec<u32>,
    output_len: u32,
    /// The dataset's own answer (ShareGPT), for `fixed`.
    dataset_answer: Option<Vec<u32>>,
}

/// Builds `sessions` sessions.
pub fn build(
    spec: &ConversationSpec,
    sessions: usize,
    seed: u64,
) -> Result<Workload, WorkloadError> {
    if spec.rounds == 0 {
        return Err(WorkloadError(
            "--conversation-rounds must be at least 1".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let tokens = |rng: &mut ChaCha8Rng, n: u32| -> Vec<u32> {
        (0..n)
            .map(|_| rng.random_range(spec.vocab_lo..spec.vocab_hi))
            .collect()
    };
    let system = tokens(&mut rng, spec.system_prompt_len);
    let conversations: Vec<Vec<PlannedRound>> = match &spec.questions {
        Questions::Random {
            question_len,
            answer_len,
        } => (0..sessions)
            .map(|_| {
                (0..spec.rounds)
                    .map(|_| PlannedRound {
                        question: tokens(&mut rng, *question_len),
                        output_len: *answer_len,
                        dataset_answer: None,
                    })
                    .collect()
            })
            .collect(),
        Questions::ShareGpt {
            path,
            tokenizer,
            output_len,
        } => sharegpt_conversations(path, tokenizer, *output_len, spec.rounds, sessions, seed)?,
    };
    let mut think_rng = ChaCha8Rng::seed_from_u64(seed ^ THINK_SEED_SALT);
    let mut answer_rng = ChaCha8Rng::seed_from_u64(seed ^ ANSWER_SEED_SALT);
    let mut workload = Workload::default();
    for (user, rounds) in conversations.into_iter().enumerate() {
        let context = tokens(&mut rng, spec.context_len);
        for (round, planned) in rounds.into_iter().enumerate() {
            let mut ids = Vec::new();
            if round == 0 {
                ids.extend_from_slice(&system);
                ids.extend_from_slice(&context);
            }
            ids.extend(planned.question);
            let fixed_answer = match spec.answers {
                AnswerMode::Real => None,
                AnswerMode::Fixed => {
                    Some(Arc::from(planned.dataset_answer.unwrap_or_else(|| {
                        tokens(&mut answer_rng, planned.output_len)
                    })))
                }
            };
            let think_time = match round {
                0 => Duration::ZERO,
                _ => spec.think_time.sample(&mut think_rng),
            };
            let reused = match (round, user) {
                (0, 0) => 0,
                (0, _) => spec.system_prompt_len,
                _ => 0, // the history, counted by the driver
            };
            workload.items.push(WorkItem::new(ids, planned.output_len));
            workload.reused_prefix.push(reused);
            workload.turns.push(Turn {
                user: user as u32,
                round: round as u32,
                think_time,
                fixed_answer,
            });
        }
    }
    let rounds = workload.items.iter().zip(&workload.turns);
    if rounds
        .filter(|(_, t)| t.round == 0)
        .any(|(i, _)| i.input_len() == 0)
    {
        return Err(WorkloadError(
            "a conversation's first prompt would be empty: give --conversation-question-len, \
             --conversation-context-len or --conversation-system-prompt-len above 0"
                .into(),
        ));
    }
    Ok(workload)
}

/// Up to `sessions` ShareGPT conversations of at most `max_rounds` rounds.
fn sharegpt_conversations(
    path: &Path,
    tokenizer: &Path,
    output_len: Option<u32>,
    max_rounds: u32,
    sessions: usize,
    seed: u64,
) -> Result<Vec<Vec<PlannedRound>>, WorkloadError> {
    let entries = sharegpt::read_shuffled(path, 4, seed)?;
    let tokenizer = TextTokenizer::load(tokenizer)?;
    let min_rounds = max_rounds.min(2) as usize;
    let mut conversations = Vec::new();
    for entry in &entries {
        if conversations.len() == sessions {
            break;
        }
        let messages = &entry.conversations;
        let mut rounds = Vec::new();
        let mut i = 0;
        while i + 1 < messages.len() && rounds.len() < max_rounds as usize {
            let (human, gpt) = (&messages[i], &messages[i + 1]);
            if human.from != "human" || human.value.is_empty() {
                i += 1;
                continue;
            }
            let question = tokenizer.encode(&human.value)?;
            let answer = tokenizer.encode(&gpt.value)?;
            if question.is_empty() {
                i += 2;
                continue;
            }
            rounds.push(PlannedRound {
                question,
                output_len: output_len.unwrap_or(answer.len().max(1) as u32),
                dataset_answer: (!answer.is_empty() && output_len.is_none()).then_some(answer),
            });
            i += 2;
        }
        if rounds.len() >= min_rounds {
            conversations.push(rounds);
        }
    }
    if conversations.is_empty() {
        return Err(WorkloadError(format!(
            "ShareGPT file {} has no usable conversation (4 messages or more, starting with a \
             human turn)",
            path.display()
        )));
    }
    if conversations.len() < sessions {
        eprintln!(
            "note: ShareGPT file {} has {} usable conversations: running {} sessions, not {sessions}",
            path.display(),
            conversations.len(),
            conversations.len()
        );
    }
    Ok(conversations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(answers: AnswerMode) -> ConversationSpec {
        ConversationSpec {
            rounds: 3,
            system_prompt_len: 10,
            context_len: 20,
            questions: Questions::Random {
                question_len: 5,
                answer_len: 7,
            },
            think_time: ThinkTime::Fixed { ms: 250.0 },
            answers,
            vocab_lo: 100,
            vocab_hi: 1000,
        }
    }

    #[test]
    fn sessions_of_rounds_share_the_system_prompt_and_own_their_context() {
        let w = build(&spec(AnswerMode::Real), 4, 1).unwrap();
        assert_eq!(w.len(), 12);
        assert_eq!(w.sessions(), vec![0..3, 3..6, 6..9, 9..12]);
        let first = |s: usize| &w.items[3 * s].prompt_token_ids;
        assert_eq!(first(0).len(), 35, "system + context + question");
        assert_eq!(first(0)[..10], first(3)[..10], "one system prompt");
        assert_ne!(first(0)[10..30], first(1)[10..30], "a context per user");
        assert_eq!(
            w.items[1].input_len(),
            5,
            "later rounds hold the question only"
        );
        assert_eq!(w.reused_prefix[..4], [0, 0, 0, 10]);
        let turn = &w.turns[4];
        assert_eq!((turn.user, turn.round), (1, 1));
        assert_eq!(turn.think_time, Duration::from_millis(250));
        assert_eq!(w.turns[3].think_time, Duration::ZERO);
        assert!(w.needs_answer_ids());
        assert_eq!(w, build(&spec(AnswerMode::Real), 4, 1).unwrap());
    }

    #[test]
    fn fixed_answers_plan_every_prompt_exactly_and_need_no_ids() {
        let w = build(&spec(AnswerMode::Fixed), 2, 1).unwrap();
        assert!(!w.needs_answer_ids());
        assert!(w
            .turns
            .iter()
            .all(|t| t.fixed_answer.as_ref().unwrap().len() == 7));
        let planned = w.planned();
        let inputs: Vec<u64> = planned.iter().map(|p| p.input_tokens).collect();
        // 35, then 35 + 7 + 5, then 47 + 7 + 5.
        assert_eq!(inputs, [35, 47, 59, 35, 47, 59]);
        let reused: Vec<u64> = planned.iter().map(|p| p.reused_prefix).collect();
        // The previous prompt only: the engine's cache holds its own answer,
        // not the fixed one.
        assert_eq!(reused, [0, 35, 47, 10, 35, 47]);
        // The same questions as with real answers: only the answers differ.
        let real = build(&spec(AnswerMode::Real), 2, 1).unwrap();
        assert_eq!(real.items, w.items);
    }

    #[test]
    fn think_times_are_drawn_per_round_and_seeded() {
        let times = |think: &str, seed| -> Vec<Duration> {
            let mut s = spec(AnswerMode::Real);
            s.think_time = ThinkTime::parse(think).unwrap();
            let w = build(&s, 400, seed).unwrap();
            w.turns
                .iter()
                .filter(|t| t.round > 0)
                .map(|t| t.think_time)
                .collect()
        };
        let drawn = times("exp:100", 3);
        let mean = drawn.iter().map(Duration::as_secs_f64).sum::<f64>() / drawn.len() as f64;
        assert!((mean - 0.1).abs() < 0.012, "mean {mean}");
        assert_eq!(drawn, times("exp:100", 3));
        assert_ne!(drawn, times("exp:100", 4));
        assert!(times("uniform:10:20", 3)
            .iter()
            .all(|t| (0.010..0.020).contains(&t.as_secs_f64())));
    }

    #[test]
    fn think_time_flags_parse_or_say_why_not() {
        assert_eq!(ThinkTime::parse("0"), Ok(ThinkTime::Fixed { ms: 0.0 }));
        assert_eq!(
            ThinkTime::parse("uniform:1:2"),
            Ok(ThinkTime::Uniform {
                lo_ms: 1.0,
                hi_ms: 2.0
            })
        );
        for bad in ["-5", "exp", "exp:x", "uniform:5", "normal:1:2", "", "nan"] {
            let err = ThinkTime::parse(bad).unwrap_err();
            assert!(err.starts_with("--think-time-ms"), "{bad}: {err}");
        }
        assert!(ThinkTime::parse("uniform:9:3").unwrap_err().contains("LO"));
    }

    #[test]
    fn zero_rounds_and_empty_first_prompts_are_refused() {
        let mut s = spec(AnswerMode::Real);
        s.rounds = 0;
        assert!(build(&s, 2, 1)
            .unwrap_err()
            .0
            .contains("--conversation-rounds"));
        let s = ConversationSpec {
            system_prompt_len: 0,
            context_len: 0,
            questions: Questions::Random {
                question_len: 0,
                answer_len: 4,
            },
            ..spec(AnswerMode::Real)
        };
        assert!(build(&s, 2, 1).unwrap_err().0.contains("empty"));
    }
}

//! `run`'s flags for traffic shaped like production's: multi-round
//! conversations, trace replay, ramp-up, and the dry run. Named like
//! `vllm bench serve`'s where one exists (the ramp-up flags).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::parse::check;
use crate::error::{usage, Error};
use crate::schedule::ramp::{RampStrategy, RampUp};
use crate::schedule::{Pace, RequestRate};
use crate::workload::{AnswerMode, ConversationSpec, Questions, ThinkTime, TraceSpec};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AnswersArg {
    /// The token ids the engine generated (every upstream multi-turn client does this).
    Real,
    /// The planned answer, so that every engine sees identical prompts.
    Fixed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RampArg {
    Linear,
    Exponential,
}

#[derive(Args, Debug)]
pub struct TrafficArgs {
    /// Conversations: rounds per session (--num-prompts counts sessions).
    #[arg(long, default_value_t = 3)]
    pub conversation_rounds: u32,
    /// Conversations: tokens of a system prompt every user's first prompt starts with.
    #[arg(long, default_value_t = 0)]
    pub conversation_system_prompt_len: u32,
    /// Conversations: tokens of each user's own context, after the system prompt.
    #[arg(long, default_value_t = 0)]
    pub conversation_context_len: u32,
    /// Conversations: tokens of each question.
    #[arg(long, default_value_t = 32)]
    pub conversation_question_len: u32,
    /// Conversations: output tokens of each answer (default 128; with a
    /// ShareGPT --dataset-path, the dataset's answer lengths).
    #[arg(long)]
    pub conversation_answer_len: Option<u32>,
    /// Conversations: what the next round's history holds as the answer.
    #[arg(long, value_enum, default_value_t = AnswersArg::Real)]
    pub conversation_answers: AnswersArg,
    /// Conversations: pause between an answer and the next question, in ms:
    /// 500, exp:MEAN or uniform:LO:HI.
    #[arg(long, default_value = "0", value_name = "MS")]
    pub think_time_ms: String,
    /// Conversations paced as the Production Stack multi-round QA benchmark:
    /// this many requests per second over all --max-concurrency users.
    #[arg(long, value_name = "QPS")]
    pub conversation_qps: Option<f64>,
    /// Trace replay: tokens per hash id (512 in Mooncake's traces).
    #[arg(long, default_value_t = 512)]
    pub trace_block_size: u32,
    /// Trace replay: multiplies the gaps between timestamps (0.5 = twice as fast).
    #[arg(long, default_value_t = 1.0)]
    pub trace_time_scale: f64,
    /// Ramp the request rate from --ramp-up-start-rps to --ramp-up-end-rps.
    #[arg(long, value_enum)]
    pub ramp_up_strategy: Option<RampArg>,
    #[arg(long, value_name = "RPS")]
    pub ramp_up_start_rps: Option<f64>,
    #[arg(long, value_name = "RPS")]
    pub ramp_up_end_rps: Option<f64>,
    /// Build the workload and schedule, print their figures and the memory
    /// the run needs, and send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Default output budget of a random conversation's answers.
const DEFAULT_ANSWER_LEN: u32 = 128;

impl TrafficArgs {
    /// `--dataset-name conversation`: random questions, or ShareGPT's
    /// conversations when there is a dataset file.
    pub fn conversation(
        &self,
        dataset: Option<(PathBuf, Option<PathBuf>)>,
        (vocab_lo, vocab_hi): (u32, u32),
    ) -> Result<ConversationSpec, Error> {
        check(
            self.conversation_rounds >= 1,
            "--conversation-rounds must be at least 1",
        )?;
        check(
            self.conversation_answer_len != Some(0),
            "--conversation-answer-len must be at least 1",
        )?;
        let questions = match dataset {
            None => {
                check(
                    self.conversation_question_len >= 1,
                    "--conversation-question-len must be at least 1",
                )?;
                Questions::Random {
                    question_len: self.conversation_question_len,
                    answer_len: self.conversation_answer_len.unwrap_or(DEFAULT_ANSWER_LEN),
                }
            }
            Some((path, tokenizer)) => Questions::ShareGpt {
                path,
                tokenizer: tokenizer.ok_or_else(|| {
                    usage(
                        "--dataset-name conversation with a --dataset-path reads ShareGPT text: \
                         it needs --tokenizer (or a --model folder with tokenizer.json)",
                    )
                })?,
                output_len: self.conversation_answer_len,
            },
        };
        Ok(ConversationSpec {
            rounds: self.conversation_rounds,
            system_prompt_len: self.conversation_system_prompt_len,
            context_len: self.conversation_context_len,
            questions,
            think_time: ThinkTime::parse(&self.think_time_ms).map_err(usage)?,
            answers: match self.conversation_answers {
                AnswersArg::Real => AnswerMode::Real,
                AnswersArg::Fixed => AnswerMode::Fixed,
            },
            vocab_lo,
            vocab_hi,
        })
    }

    /// `--dataset-name trace`.
    pub fn trace(
        &self,
        path: PathBuf,
        (vocab_lo, vocab_hi): (u32, u32),
    ) -> Result<TraceSpec, Error> {
        check(
            self.trace_block_size >= 1,
            "--trace-block-size must be at least 1",
        )?;
        check(
            self.trace_time_scale.is_finite()
                && self.trace_time_scale > 0.0
                && self.trace_time_scale <= 1e6,
            "--trace-time-scale must be a positive number (1 replays at the trace's pace)",
        )?;
        Ok(TraceSpec {
            path,
            block_size: self.trace_block_size,
            time_scale: self.trace_time_scale,
            vocab_lo,
            vocab_hi,
        })
    }

    /// The ramp, checked as vLLM checks it: both rates, and no fixed
    /// `--request-rate` beside them.
    pub fn ramp_up(&self, rate: RequestRate) -> Result<Option<RampUp>, Error> {
        let rates = (self.ramp_up_start_rps, self.ramp_up_end_rps);
        let Some(strategy) = self.ramp_up_strategy else {
            check(
                rates == (None, None),
                "--ramp-up-start-rps and --ramp-up-end-rps need --ramp-up-strategy",
            )?;
            return Ok(None);
        };
        let (Some(start), Some(end)) = rates else {
            return Err(usage(
                "--ramp-up-strategy needs both --ramp-up-start-rps and --ramp-up-end-rps",
            ));
        };
        check(
            rate == RequestRate::Infinite,
            "--ramp-up-strategy sets the rate itself: leave out --request-rate",
        )?;
        let strategy = match strategy {
            RampArg::Linear => RampStrategy::Linear,
            RampArg::Exponential => RampStrategy::Exponential,
        };
        RampUp::new(strategy, start, end).map(Some).map_err(usage)
    }

    /// `--conversation-qps`, for a conversation of `rounds` rounds.
    pub fn pace(
        &self,
        rounds: Option<u32>,
        timed: bool,
        users_given: bool,
    ) -> Result<Option<Pace>, Error> {
        let Some(qps) = self.conversation_qps else {
            return Ok(None);
        };
        let Some(rounds) = rounds else {
            return Err(usage(
                "--conversation-qps applies to --dataset-name conversation",
            ));
        };
        check(
            qps.is_finite() && qps > 0.0,
            "--conversation-qps must be a positive number of requests per second",
        )?;
        check(
            rounds >= 2,
            "--conversation-qps paces rounds: it needs --conversation-rounds of 2 or more",
        )?;
        check(
            users_given,
            "--conversation-qps needs --max-concurrency: the users in session at once",
        )?;
        check(
            !timed,
            "--conversation-qps sets the pace itself: leave out --request-rate and the ramp-up",
        )?;
        Ok(Some(Pace { qps, rounds }))
    }
}

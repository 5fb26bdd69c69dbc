//! The benchmark id: what was measured, so that runs of the same benchmark
//! meet in the same baseline folder. Engine settings and versions are not in
//! it, on purpose: comparing them is what baselines are for.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::schedule::RequestRate;
use crate::workload::{AnswerMode, ConversationSpec, Questions, WorkloadSpec};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchmarkId {
    pub engine: String,
    pub model: String,
    pub workload: String,
    pub schedule: String,
    pub concurrency: String,
}

impl BenchmarkId {
    pub fn new(
        engine: &str,
        model: &str,
        workload: &WorkloadSpec,
        rate: RequestRate,
        burstiness: f64,
        concurrency: Option<usize>,
    ) -> Self {
        Self {
            engine: engine.into(),
            model: model.into(),
            workload: workload_label(workload),
            schedule: schedule_label(rate, burstiness, concurrency),
            concurrency: concurrency.map_or("c-unbounded".into(), |c| format!("c{c}")),
        }
    }

    /// The same benchmark under a schedule the rate does not name (a ramp,
    /// paced conversations, a trace's own arrivals).
    pub fn with_schedule(mut self, schedule: String) -> Self {
        self.schedule = schedule;
        self
    }

    fn parts(&self) -> [&str; 5] {
        [
            &self.engine,
            &self.model,
            &self.workload,
            &self.schedule,
            &self.concurrency,
        ]
    }

    /// One folder name: the parts, made file-name safe, joined by `_`.
    pub fn folder(&self) -> String {
        let parts = self.parts().map(|part| {
            part.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "+-.".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
        });
        parts.join("_")
    }
}

impl fmt::Display for BenchmarkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts().join("/"))
    }
}

fn file_stem(path: &std::path::Path) -> String {
    path.file_stem()
        .map_or("file".into(), |s| s.to_string_lossy().into_owned())
}

/// `random-512x128`, `sharegpt-ShareGPT_V3`, `shared-prefix-8u-2000ctx-50q-100out`.
fn workload_label(spec: &WorkloadSpec) -> String {
    match spec {
        WorkloadSpec::Random(r) => {
            let mut label = format!("random-{}x{}", r.input_len, r.output_len);
            if r.range_ratio > 0.0 {
                label += &format!("-range{}", r.range_ratio);
            }
            if r.prefix_len > 0 {
                label += &format!("-prefix{}", r.prefix_len);
            }
            label
        }
        WorkloadSpec::PromptsFile {
            path,
            default_output_len,
            ..
        } => format!("prompts-{}-out{default_output_len}", file_stem(path)),
        WorkloadSpec::ShareGpt {
            path, output_len, ..
        } => match output_len {
            Some(n) => format!("sharegpt-{}-out{n}", file_stem(path)),
            None => format!("sharegpt-{}", file_stem(path)),
        },
        WorkloadSpec::SharedPrefix(s) => format!(
            "shared-prefix-{}u-{}ctx-{}q-{}out",
            s.num_users, s.context_len, s.question_len, s.output_len
        ),
        WorkloadSpec::Conversation(c) => conversation_label(c),
        WorkloadSpec::Trace(t) => format!(
            "trace-{}-block{}-x{}",
            file_stem(&t.path),
            t.block_size,
            t.time_scale
        ),
    }
}

/// `conversation-3r-1000sys-2000ctx-32q-100a-think0ms-real`, or
/// `conversation-sharegpt-NAME-3r-think0ms-fixed`.
fn conversation_label(c: &ConversationSpec) -> String {
    let questions = match &c.questions {
        Questions::Random {
            question_len,
            answer_len,
        } => format!(
            "{}sys-{}ctx-{question_len}q-{answer_len}a",
            c.system_prompt_len, c.context_len
        ),
        Questions::ShareGpt {
            path, output_len, ..
        } => {
            let mut label = format!("sharegpt-{}", file_stem(path));
            if let Some(n) = output_len {
                label += &format!("-out{n}");
            }
            if c.system_prompt_len + c.context_len > 0 {
                label += &format!("-{}sys-{}ctx", c.system_prompt_len, c.context_len);
            }
            label
        }
    };
    let answers = match c.answers {
        AnswerMode::Real => "real",
        AnswerMode::Fixed => "fixed",
    };
    format!(
        "conversation-{}r-{questions}-think{}-{answers}",
        c.rounds,
        c.think_time.label()
    )
}

/// `offline`, `closed-loop`, or `rate4` / `rate4-burst0.5` for open loops.
fn schedule_label(rate: RequestRate, burstiness: f64, concurrency: Option<usize>) -> String {
    match (rate, concurrency) {
        (RequestRate::Infinite, None) => "offline".into(),
        (RequestRate::Infinite, Some(_)) => "closed-loop".into(),
        (RequestRate::PerSecond(r), _) if burstiness == 1.0 => format!("rate{r}"),
        (RequestRate::PerSecond(r), _) => format!("rate{r}-burst{burstiness}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::random::RandomSpec;

    #[test]
    fn ids_name_what_was_measured() {
        let workload = WorkloadSpec::Random(RandomSpec {
            input_len: 512,
            output_len: 128,
            range_ratio: 0.0,
            vocab_lo: 0,
            vocab_hi: 32_000,
            prefix_len: 0,
        });
        let closed = BenchmarkId::new(
            "sim",
            "my model",
            &workload,
            RequestRate::Infinite,
            1.0,
            Some(16),
        );
        assert_eq!(
            closed.to_string(),
            "sim/my model/random-512x128/closed-loop/c16"
        );
        assert_eq!(
            closed.folder(),
            "sim_my-model_random-512x128_closed-loop_c16"
        );
        let open = BenchmarkId::new(
            "sim",
            "m",
            &workload,
            RequestRate::PerSecond(4.0),
            0.5,
            None,
        );
        assert_eq!(open.schedule, "rate4-burst0.5");
        assert_eq!(open.concurrency, "c-unbounded");
    }
}

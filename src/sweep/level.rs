//! What a sweep produces, typed: one [`LevelResult`] per concurrency level,
//! and the [`SweepResult`] of them all. Every output (terminal, result files,
//! baselines, exports, HTML) is made from these.

use crate::analysis::change::MetricChange;
use crate::analysis::speed_of_light::level::LevelSpeedOfLight;
use crate::analysis::LevelAnalysis;
use crate::baseline::BenchmarkId;
use crate::metrics::traffic::Traffic;
use crate::metrics::{FailureCount, LevelSamples, LevelSummary};

/// A level about to run.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelStart {
    /// 0-based.
    pub index: usize,
    /// Levels in the sweep.
    pub levels: usize,
    pub concurrency: Option<usize>,
    /// Requests per trial (a conversation's rounds count one each).
    pub requests: usize,
}

/// A trial about to run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrialStart {
    pub level: LevelStart,
    /// 0-based.
    pub index: usize,
    /// Trials per level.
    pub trials: usize,
}

impl TrialStart {
    /// `level 1/3`, or `level 1/3 trial 2/5` with several trials: how
    /// progress names the trial.
    pub fn label(&self) -> String {
        let mut label = format!("level {}/{}", self.level.index + 1, self.level.levels);
        if self.trials > 1 {
            label += &format!(" trial {}/{}", self.index + 1, self.trials);
        }
        label
    }
}

/// Why a level ended before its last request.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// A stop signal (SIGINT, SIGTERM, SIGHUP).
    Interrupted,
    /// The engine failed for the whole run (or `--max-failures` was reached).
    EngineFailed(String),
}

/// The speed of light of a level, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum SpeedOfLight {
    Figures(LevelSpeedOfLight),
    Skipped(String),
}

/// The baseline a level was judged against, and what changed.
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineChanges {
    pub name: String,
    pub changes: Vec<MetricChange>,
}

/// One level, measured and analysed.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelResult {
    pub start: LevelStart,
    pub benchmark: BenchmarkId,
    /// `offline`, `closed-loop`, `open-loop`, `ramp-up`, `paced` or `trace-replay`.
    pub schedule: &'static str,
    /// Trials that ran (fewer than asked when one stopped early).
    pub trials: usize,
    /// How the last trial stopped early, if it did.
    pub stop: Option<Stop>,
    pub summary: LevelSummary,
    pub samples: LevelSamples,
    pub analysis: LevelAnalysis,
    /// With `--baseline`.
    pub baseline: Option<BaselineChanges>,
    /// Too few requests, too short a run, detailed records that stopped.
    pub warnings: Vec<String>,
    /// Why the level fails the run although it ran (no request completed,
    /// too many failed): the run fails closed.
    pub failure: Option<String>,
    /// Why its requests failed, most common first.
    pub failure_reasons: Vec<FailureCount>,
    pub speed_of_light: SpeedOfLight,
    /// Rate over time, prefix reuse, conversation rounds.
    pub traffic: Traffic,
}

impl LevelResult {
    pub fn concurrency(&self) -> Option<usize> {
        self.start.concurrency
    }

    /// `ok`, `interrupted`, `engine failed` or `failed`, as the exports write it.
    pub fn status(&self) -> &'static str {
        match (&self.stop, &self.failure) {
            (Some(Stop::Interrupted), _) => "interrupted",
            (Some(Stop::EngineFailed(_)), _) => "engine failed",
            (None, Some(_)) => "failed",
            (None, None) => "ok",
        }
    }
}

/// Every level that ran, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepResult {
    pub levels: Vec<LevelResult>,
    /// An output failed, so the sweep stopped after the level it failed in.
    pub output_failed: bool,
    /// A stop signal ended the sweep: in a level (marked interrupted), in
    /// the warm-up (no level ran), or between levels (no further one started).
    pub interrupted: bool,
}

impl SweepResult {
    /// How the sweep stopped early, if the engine or a signal stopped it.
    pub fn stop(&self) -> Option<&Stop> {
        self.levels.last().and_then(|l| l.stop.as_ref())
    }

    /// Every level ran to its end and every output kept up.
    pub fn completed(&self) -> bool {
        self.stop().is_none() && !self.output_failed && !self.interrupted
    }
}

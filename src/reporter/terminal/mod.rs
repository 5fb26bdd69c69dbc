//! The terminal: on stdout, each level's blocks (vLLM's result block, the
//! intervals, the trials' spread, the change against a baseline, the speed of
//! light) and the table of the sweep; on stderr, where the sweep is and the
//! level's warnings. Writing cannot fail the run: the writers given here
//! ([`console::Stdout`] and [`console::Stderr`]) keep a failure for the exit
//! note and drop what follows, so a closed or full stdout stops neither the
//! measurement nor the other outputs.

pub mod blocks;
pub mod statistics;
pub mod traffic;

use std::io::Write;

pub use blocks::BlockOptions;

use super::Reporter;
use crate::analysis::StatisticsOptions;
use crate::engine::EngineInfo;
use crate::error::Error;
use crate::process::console::{self, Stderr, Stdout};
use crate::schedule::concurrency_label;
use crate::sweep::{LevelResult, LevelStart, SpeedOfLight, SweepResult, TrialStart};

pub struct Terminal<O: Write, E: Write> {
    out: O,
    err: E,
    engine: EngineInfo,
    blocks: BlockOptions,
    statistics: StatisticsOptions,
}

impl Terminal<Stdout, Stderr> {
    pub fn new(engine: EngineInfo, blocks: BlockOptions, statistics: StatisticsOptions) -> Self {
        Self::with_writers(console::Stdout, console::Stderr, engine, blocks, statistics)
    }
}

impl<O: Write, E: Write> Terminal<O, E> {
    /// Writes to `out` and `err` instead of stdout and stderr.
    pub fn with_writers(
        out: O,
        err: E,
        engine: EngineInfo,
        blocks: BlockOptions,
        statistics: StatisticsOptions,
    ) -> Self {
        Self {
            out,
            err,
            engine,
            blocks,
            statistics,
        }
    }

    /// What it wrote to stdout and stderr.
    pub fn into_writers(self) -> (O, E) {
        (self.out, self.err)
    }

    /// `text` on stdout. A writer that fails loses the text, nothing else:
    /// the run's outcome is told by its exit code and its files.
    fn print(&mut self, text: &str) {
        let _ = self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush());
    }

    /// A line on stderr; a closed stderr loses only that line.
    fn note(&mut self, line: &str) {
        let _ = writeln!(self.err, "{line}");
    }

    /// Every block of a level, as stdout shows it.
    pub fn level_text(&self, level: &LevelResult) -> String {
        let mut text = blocks::result_block(level, &self.engine, &self.blocks) + "\n";
        let traffic = traffic::traffic_block(&level.traffic);
        if !traffic.is_empty() {
            text += &(traffic + "\n");
        }
        text += &statistics::intervals_block(&level.analysis, &self.statistics.bootstrap);
        text += "\n";
        let trials = statistics::trials_block(&level.analysis);
        if !trials.is_empty() {
            text += &(trials + "\n");
        }
        if let Some(baseline) = &level.baseline {
            text += &statistics::change_block(baseline, &self.statistics.thresholds);
            text += "\n";
        }
        if let SpeedOfLight::Figures(figures) = &level.speed_of_light {
            text += &(blocks::speed_of_light_block(figures) + "\n");
        }
        text
    }
}

impl<O: Write, E: Write> Reporter for Terminal<O, E> {
    fn warm_up_started(&mut self, requests: usize) -> Result<(), Error> {
        self.note(&format!("warm-up: {requests} requests (not measured)"));
        Ok(())
    }

    fn level_started(&mut self, level: &LevelStart) -> Result<(), Error> {
        self.note(&format!(
            "level {}/{}: {} requests, max concurrency {}",
            level.index + 1,
            level.levels,
            level.requests,
            concurrency_label(level.concurrency)
        ));
        Ok(())
    }

    fn trial_started(&mut self, trial: &TrialStart) -> Result<(), Error> {
        if trial.trials > 1 {
            self.note(&format!("  trial {}/{}", trial.index + 1, trial.trials));
        }
        Ok(())
    }

    fn level_done(&mut self, level: &LevelResult) -> Result<(), Error> {
        let text = self.level_text(level);
        self.print(&text);
        for warning in &level.warnings {
            self.note(&format!("warning: {warning}"));
        }
        Ok(())
    }

    fn sweep_done(&mut self, sweep: &SweepResult) -> Result<(), Error> {
        let table = blocks::sweep_table(&self.engine, &sweep.levels);
        self.print(&(table + "\n"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::LatencyMetric;
    use crate::reporter::fixtures::{engine, level, level_result};
    use crate::sweep::Stop;

    fn terminal() -> Terminal<Vec<u8>, Vec<u8>> {
        let blocks = BlockOptions {
            metrics: LatencyMetric::ALL.to_vec(),
            percentiles: vec![99.0],
        };
        Terminal::with_writers(Vec::new(), Vec::new(), engine(), blocks, Default::default())
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    const WARNING: &str = "warning: p99 rests on 8 completed requests (fewer than 100): \
                           it is little more than the slowest request\n";

    #[test]
    fn a_level_prints_vllms_block_then_intervals_trials_changes_and_speed_of_light() {
        let mut terminal = terminal();
        terminal.level_done(&level_result()).unwrap();
        let (out, err) = terminal.into_writers();
        assert_eq!(text(out), LEVEL);
        assert_eq!(text(err), WARNING);
    }

    #[test]
    fn the_sweep_table_has_a_row_per_level() {
        let levels = vec![level_result(), level(1, Some(8), 2.0)];
        let mut terminal = terminal();
        let sweep = SweepResult {
            levels,
            output_failed: false,
            interrupted: false,
        };
        terminal.sweep_done(&sweep).unwrap();
        assert_eq!(text(terminal.into_writers().0), TABLE.to_string() + "\n");
    }

    #[test]
    fn a_stopped_level_says_why_and_prints_the_percentiles_asked_for() {
        let mut stopped = level(1, Some(8), 2.0);
        stopped.stop = Some(Stop::Interrupted);
        let options = BlockOptions {
            metrics: vec![LatencyMetric::Ttft],
            percentiles: vec![50.0, 90.0],
        };
        let block = blocks::result_block(&stopped, &engine(), &options);
        assert!(block.starts_with(STOPPED_HEAD), "{block}");
        assert!(block.ends_with(STOPPED_TAIL), "{block}");
        stopped.stop = Some(Stop::EngineFailed("injected failure".into()));
        let block = blocks::result_block(&stopped, &engine(), &options);
        let line = "Engine error:                            injected failure\n";
        assert!(
            block.contains(line) && !block.contains("Interrupted"),
            "{block}"
        );
    }

    #[test]
    fn where_the_sweep_is_goes_to_stderr() {
        let mut terminal = terminal();
        let start = level(0, None, 1.0).start;
        terminal.warm_up_started(3).unwrap();
        terminal.level_started(&start).unwrap();
        for (index, trials) in [(0, 1), (1, 2)] {
            let trial = TrialStart {
                level: start.clone(),
                index,
                trials,
            };
            terminal.trial_started(&trial).unwrap();
        }
        let (out, err) = terminal.into_writers();
        assert!(out.is_empty());
        assert_eq!(
            text(err),
            "warm-up: 3 requests (not measured)\n\
             level 1/2: 4 requests, max concurrency unbounded\n  trial 2/2\n"
        );
    }

    /// Stdout that went away: every write fails as a closed pipe does.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_closed_stdout_fails_nothing_and_warnings_still_reach_stderr() {
        let blocks = BlockOptions {
            metrics: vec![LatencyMetric::Ttft],
            percentiles: vec![99.0],
        };
        let mut terminal =
            Terminal::with_writers(ClosedPipe, Vec::new(), engine(), blocks, Default::default());
        terminal.level_done(&level_result()).unwrap();
        terminal.sweep_done(&SweepResult::default()).unwrap();
        assert_eq!(text(terminal.into_writers().1), WARNING);
    }

    const LEVEL: &str = r#"============ Serving Benchmark Result ============
Engine:                                  sim (simulated: a model, not a measurement)
Schedule:                                closed-loop
Max request concurrency:                 4
Successful requests:                     8
Failed requests:                         0
Benchmark duration (s):                  1.00
Total input tokens:                      256
Total generated tokens:                  64
Request throughput (req/s):              8.00
Output token throughput (tok/s):         64.00
Total Token throughput (tok/s):          320.00
Mean client queue delay (ms):            0.360
-------------- Time to First Token ---------------
Mean TTFT (ms):                          1.35
Median TTFT (ms):                        1.35
P99 TTFT (ms):                           1.69
---- Time per Output Token (excl. 1st token) -----
Mean TPOT (ms):                          0.50
Median TPOT (ms):                        0.50
P99 TPOT (ms):                           0.50
-------------- Inter-token Latency ---------------
Mean ITL (ms):                           0.50
Median ITL (ms):                         0.50
P99 ITL (ms):                            0.50
--------------- End-to-end Latency ---------------
Mean E2EL (ms):                          4.85
Median E2EL (ms):                        4.85
P99 E2EL (ms):                           5.19
==================================================

Statistics (95% bootstrap intervals, ITL resampled by request; outliers by Tukey's fences)
                                TTFT (ms)          TPOT (ms)           ITL (ms)          E2EL (ms)
----------------------  -----------------  -----------------  -----------------  -----------------
mean                    1.35 [1.32, 1.38]  0.50 [0.49, 0.51]  0.50 [0.49, 0.51]  4.85 [4.75, 4.95]
median                  1.32 [1.30, 1.35]  0.49 [0.48, 0.50]  0.49 [0.48, 0.50]  4.75 [4.66, 4.85]
p90                     1.49 [1.46, 1.51]  0.55 [0.54, 0.56]  0.55 [0.54, 0.56]  5.33 [5.24, 5.43]
p99                     1.69 [1.63, 1.74]  0.62 [0.60, 0.65]  0.62 [0.60, 0.65]  6.06 [5.87, 6.26]
outliers (mild/severe)  low 1/0, high 2/0  low 1/0, high 2/0  low 1/0, high 2/0  low 1/0, high 2/0

Trials: 2
throughput                               mean of trials    std     cv     min     max
------------------------------  -----------------------  -----  -----  ------  ------
Output throughput (tok/s)          64.00 [62.00, 66.00]   2.00  3.12%   62.00   66.00
Request throughput (req/s)            8.00 [7.75, 8.25]   0.25  3.12%    7.75    8.25
Total token throughput (tok/s)  320.00 [310.00, 330.00]  10.00  3.12%  310.00  330.00

Change against baseline 'main' (noise ±2%, significance 0.05)
metric                                change of mean        p    verdict          change of median
-------------------------  -------------------------  -------  ---------  ------------------------
TTFT (ms)                  +10.00% [+8.00%, +12.00%]  p<0.001  regressed  +9.80% [+7.80%, +11.80%]
TPOT (ms)                    -0.40% [-1.40%, +0.60%]  p=0.410  no change   -0.39% [-1.39%, +0.61%]
Output throughput (tok/s)                          —                 n/a
n/a: needs --trials 2 or more on both sides

Speed of light (sim: measured times are the sim's model, not a GPU's)
GPU:                                     H100-SXM (3350 GB/s, 989 TFLOP/s bf16; --gpu), TP 1
Model:                                   0.02 B parameters, 0.04 GB weights, 2 KiB KV per token
Decode batch, mean context (tokens):     3.5, 36
TPOT floor (ms):                         0.012
Memory-bandwidth utilisation:            2.3%
TTFT floor, 32-token prefill (ms):       0.001
FLOP utilisation (prefill):              0.0533%

"#;

    const TABLE: &str = r#"Summary: sim (simulated: a model, not a measurement)
concurrency          ok      failed       req/s   out tok/s   TTFT mean    TTFT p99   TPOT mean    ITL mean   E2EL mean
          4           8           0        8.00        64.0        1.35        1.69        0.50        0.50        4.85
          8           8           0        4.00        32.0        2.70        3.39        1.00        1.00        9.70
(latencies in ms)
"#;

    const STOPPED_HEAD: &str = r#"============ Serving Benchmark Result ============
Engine:                                  sim (simulated: a model, not a measurement)
Schedule:                                closed-loop
Max request concurrency:                 8
Interrupted:                             yes (partial results)
Successful requests:                     8
Failed requests:                         0
Benchmark duration (s):                  1.00
Total input tokens:                      256
Total generated tokens:                  64
Request throughput (req/s):              4.00
Output token throughput (tok/s):         32.00
Total Token throughput (tok/s):          160.00
Mean client queue delay (ms):            0.720
"#;

    const STOPPED_TAIL: &str = r#"-------------- Time to First Token ---------------
Mean TTFT (ms):                          2.70
Median TTFT (ms):                        2.70
P50 TTFT (ms):                           2.70
P90 TTFT (ms):                           3.26
==================================================
"#;
}

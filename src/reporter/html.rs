//! `--report`: the plots and the HTML page of the sweep's result files,
//! written when the sweep is over. After an engine failure the page still
//! shows what was measured; its own failure then is only a warning, so the
//! engine's error stays the one reported.

use super::Reporter;
use crate::error::Error;
use crate::process::console;
use crate::render::html;
use crate::render::plot::Format;
use crate::results::fs::OutputDir;
use crate::results::names::FileNames;
use crate::sweep::SweepResult;

pub struct HtmlReport {
    pub names: FileNames,
    /// Where the result files went; the page goes beside them.
    pub out: OutputDir,
}

impl Reporter for HtmlReport {
    fn sweep_done(&mut self, sweep: &SweepResult) -> Result<(), Error> {
        let results: Vec<_> = sweep
            .levels
            .iter()
            .map(|level| self.out.resolve(&self.names.result(level.concurrency())))
            .collect();
        if results.is_empty() {
            return Ok(());
        }
        let written = self.out.write(|dir| {
            let config = crate::config::PlotConfig {
                inputs: results.clone(),
                output: dir.to_path_buf(),
                formats: Format::ALL.to_vec(),
                name: self.names.sweep_stem(),
            };
            html::write_page(&config)
        });
        match written {
            Ok(page) => {
                console::note(&format!("wrote {}", page.display()));
                Ok(())
            }
            Err(e) if !sweep.completed() => {
                console::warn(&format!("no report: {e}"));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixtures::{level, run_config};
    use crate::sweep::Stop;

    fn report(dir: &std::path::Path) -> HtmlReport {
        let config = run_config(&["--result-dir", dir.to_str().unwrap(), "--report"]);
        HtmlReport {
            names: FileNames::new(&config, "20260101-120000"),
            out: OutputDir::new(dir, dir.join("fallback")),
        }
    }

    #[test]
    fn a_page_that_cannot_be_made_fails_a_good_sweep_but_only_warns_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut sweep = SweepResult {
            levels: vec![level(0, None, 1.0)],
            output_failed: false,
            interrupted: false,
        };
        // The level's result file was never written.
        let error = report(dir.path()).sweep_done(&sweep).unwrap_err();
        assert!(matches!(error, Error::Unreadable { .. }), "{error}");
        sweep.levels[0].stop = Some(Stop::EngineFailed("gone".into()));
        assert!(report(dir.path()).sweep_done(&sweep).is_ok());
        assert!(report(dir.path())
            .sweep_done(&SweepResult::default())
            .is_ok());
    }
}

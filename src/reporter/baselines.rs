//! Baselines: each level's samples and statistics saved as the benchmark's
//! latest run (`new`) and, with `--save-baseline NAME`, as baseline NAME,
//! under `<result-dir>/baselines/<benchmark id>/`.

use std::path::PathBuf;

use super::Reporter;
use crate::baseline::{store, LATEST};
use crate::engine::EngineInfo;
use crate::error::Error;
use crate::process::console;
use crate::results::fs::OutputDir;
use crate::results::{SampleFile, StatisticsDoc};
use crate::stats::BootstrapConfig;
use crate::sweep::LevelResult;

pub struct Baselines {
    /// The result folder asked for; baselines go under `out`'s root.
    pub result_dir: PathBuf,
    pub out: OutputDir,
    /// `--save-baseline`.
    pub save_as: Option<String>,
    pub engine: EngineInfo,
    pub date: String,
    pub bootstrap: BootstrapConfig,
}

impl Reporter for Baselines {
    fn level_done(&mut self, level: &LevelResult) -> Result<(), Error> {
        let file = SampleFile::new(&level.benchmark, &self.date, &self.engine, &level.samples);
        let estimates = StatisticsDoc::of(&level.analysis, &self.bootstrap);
        self.out
            .write(|dir| store::save_baseline(dir, LATEST, &file, &estimates))?;
        if let Some(name) = &self.save_as {
            let path = self
                .out
                .write(|dir| store::save_baseline(dir, name, &file, &estimates))?;
            let folder = path.parent().unwrap_or(&self.result_dir);
            console::note(&format!("saved baseline '{name}' in {}", folder.display()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixtures::{engine, level_result};
    use crate::results::fs;

    #[test]
    fn each_level_is_saved_as_the_latest_run_and_as_the_named_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let bootstrap = BootstrapConfig::default();
        let mut baselines = Baselines {
            result_dir: dir.path().to_path_buf(),
            out: OutputDir::new(dir.path(), dir.path().join("fallback")),
            save_as: Some("main".into()),
            engine: engine(),
            date: "20260101-120000".into(),
            bootstrap,
        };
        let level = level_result();
        baselines.level_done(&level).unwrap();
        for name in [LATEST, "main"] {
            let saved = store::load_baseline(dir.path(), &level.benchmark, name).unwrap();
            assert_eq!(saved.samples, level.samples);
            assert_eq!(saved.engine, engine());
            let path = store::baseline_path(dir.path(), &level.benchmark, name);
            let estimates: StatisticsDoc =
                fs::load(&path.with_file_name("estimates.json"), "estimates").unwrap();
            assert_eq!(estimates, StatisticsDoc::of(&level.analysis, &bootstrap));
        }
    }
}

//! Where a run's files go and what they are called. vLLM's naming:
//! `{engine}-{rate}qps-concurrency{C}-{model}-{date}`, or `--result-filename`
//! (with `-concurrency{C}` added when several levels run).

use std::path::{Path, PathBuf};

use crate::config::RunConfig;
use crate::schedule::{concurrency_label, RequestRate};

#[derive(Clone, Debug, PartialEq)]
pub struct FileNames {
    dir: PathBuf,
    engine: String,
    /// File-name safe.
    model: String,
    rate: RequestRate,
    date: String,
    result_filename: Option<String>,
    several_levels: bool,
}

impl FileNames {
    /// The names of `config`'s files for a sweep that started at `date`.
    pub fn new(config: &RunConfig, date: &str) -> Self {
        Self {
            dir: config.output.result_dir.clone(),
            engine: config.engine.clone(),
            model: config.model_id().replace(['/', ' '], "_"),
            rate: config.rate,
            date: date.to_string(),
            result_filename: config.output.result_filename.clone(),
            several_levels: config.concurrency_levels.len() > 1,
        }
    }

    /// `--result-dir`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The level's files start with this.
    pub fn level_stem(&self, concurrency: Option<usize>) -> String {
        let level = concurrency_label(concurrency);
        match &self.result_filename {
            Some(name) if self.several_levels => format!("{}-concurrency{level}", stem(name)),
            Some(name) => stem(name).to_string(),
            None => self.default_stem(&format!("-concurrency{level}")),
        }
    }

    /// The sweep's own files (exports, plots, HTML) start with this: a level's
    /// stem without the level.
    pub fn sweep_stem(&self) -> String {
        match &self.result_filename {
            Some(name) => stem(name).to_string(),
            None => self.default_stem(""),
        }
    }

    /// The level's result file.
    pub fn result(&self, concurrency: Option<usize>) -> PathBuf {
        self.dir
            .join(format!("{}.json", self.level_stem(concurrency)))
    }

    /// The level's samples file, relative to `--result-dir`: in a subfolder,
    /// so that tools globbing `*.json` see result files only.
    pub fn samples(&self, concurrency: Option<usize>) -> String {
        format!("samples/{}.json", self.level_stem(concurrency))
    }

    /// Trial `trial` (0-based) of `trials`'s detailed records.
    pub fn detailed(&self, concurrency: Option<usize>, trial: usize, trials: usize) -> PathBuf {
        let stem = self.level_stem(concurrency);
        let name = match trials {
            1 => format!("{stem}.requests.jsonl"),
            _ => format!("{stem}.trial{}.requests.jsonl", trial + 1),
        };
        self.dir.join(name)
    }

    fn default_stem(&self, level: &str) -> String {
        let rate = match self.rate {
            RequestRate::Infinite => "inf".to_string(),
            RequestRate::PerSecond(r) => format!("{r}"),
        };
        format!(
            "{}-{rate}qps{level}-{}-{}",
            self.engine, self.model, self.date
        )
    }
}

/// `name` without `.json`.
fn stem(name: &str) -> &str {
    name.strip_suffix(".json").unwrap_or(name)
}

//! `plot`, `report` and `env`: flags about result files and the machine.

use std::path::{Path, PathBuf};

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;

use super::number::int;
use crate::config::{EnvConfig, PlotConfig};
use crate::error::{usage, Error};
use crate::render::plot::Format;

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Result JSON files, or folders of them.
    #[arg(required = true, value_name = "RESULT")]
    pub results: Vec<PathBuf>,
    /// Where the files go (default: the first result's folder).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// File format of the plots; repeatable (default: svg and png).
    #[arg(long, value_parser = format_parser())]
    pub format: Vec<Format>,
    /// The files' names start with this: a name, not a path.
    #[arg(long, default_value = "enginebench")]
    pub name: String,
}

impl PlotArgs {
    pub fn into_config(self) -> Result<PlotConfig, Error> {
        check_file_stem("--name", &self.name)?;
        let output = self.output.unwrap_or_else(|| {
            let first = &self.results[0];
            match first.is_dir() {
                true => first.clone(),
                false => first.parent().map(Path::to_path_buf).unwrap_or_default(),
            }
        });
        let mut formats = self.format;
        if formats.is_empty() {
            formats = Format::ALL.to_vec();
        }
        let mut seen = Vec::new();
        formats.retain(|f| {
            let first = !seen.contains(f);
            seen.push(*f);
            first
        });
        Ok(PlotConfig {
            inputs: self.results,
            output,
            formats,
            name: self.name,
        })
    }
}

/// A name files start with: not empty, not hidden, no folder in it, so
/// that files stay inside the folder asked for (`../x` would not).
pub(crate) fn check_file_stem(flag: &str, name: &str) -> Result<(), Error> {
    let plain = std::path::Path::new(name).file_name() == Some(name.as_ref());
    if name.is_empty() || name.starts_with('.') || !plain || name.contains('/') {
        return Err(usage(format!(
            "{flag} '{name}': give a file name (not empty, not starting with '.', no '/')"
        )));
    }
    if name.len() > 200 {
        return Err(usage(format!(
            "{flag}: a name of {} bytes is too long for the files made from it (at most 200)",
            name.len()
        )));
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct EnvArgs {
    /// Print JSON, as recorded in result files.
    #[arg(long)]
    pub json: bool,
    /// Measure the GPU's copy bandwidth and bf16 matmul rate; exit 1 when
    /// there is no GPU to measure.
    #[arg(long)]
    pub calibrate: bool,
    /// Which GPU --calibrate measures.
    #[arg(long, default_value_t = 0, value_parser = int(0usize, 1023))]
    pub device: usize,
    /// Python interpreter of the engine environment (default: the active virtualenv).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
}

impl EnvArgs {
    pub fn into_config(self) -> EnvConfig {
        EnvConfig {
            json: self.json,
            calibrate: self.calibrate,
            device: self.device,
            python: self.python,
        }
    }
}

/// `svg` or `png`: the formats' own extensions, so the list cannot drift.
fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Format::ALL.map(Format::extension)).map(|name: String| {
        let known = Format::ALL.into_iter().find(|f| f.extension() == name);
        // Cannot fail: clap's value parser admits the listed extensions only.
        known.expect("clap allows the listed extensions only")
    })
}

//! `enginebench plot` and `enginebench report`: plots and the HTML page of
//! saved result files; `run --report` calls the same functions.

use std::path::PathBuf;

use anyhow::Context;

use super::html;
use super::plot::{Format, Plots};
use crate::error::Error;

#[derive(Clone, Debug, PartialEq)]
pub struct PlotConfig {
    pub inputs: Vec<PathBuf>,
    pub output: PathBuf,
    pub formats: Vec<Format>,
    /// The files' names start with this.
    pub name: String,
}

pub fn plot(config: &PlotConfig) -> Result<(), Error> {
    let plots = Plots::load(&config.inputs)?;
    create_dir(config)?;
    for path in plots.write(&config.output, &config.name, &config.formats)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The HTML page, and the plots as files beside it.
pub fn html(config: &PlotConfig) -> Result<(), Error> {
    let plots = Plots::load(&config.inputs)?;
    create_dir(config)?;
    plots.write(&config.output, &config.name, &config.formats)?;
    let page = html::page(&plots);
    let path = config.output.join(format!("{}.html", config.name));
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn create_dir(config: &PlotConfig) -> Result<(), Error> {
    std::fs::create_dir_all(&config.output)
        .with_context(|| format!("cannot create {}", config.output.display()))?;
    Ok(())
}

//! `enginebench report`: one HTML page of saved result files, and the plots
//! as files beside it. `run --report` writes the same page.

use crate::config::PlotConfig;
use crate::error::Error;
use crate::render::html;
use crate::render::plot::Plots;

pub fn run(config: &PlotConfig) -> Result<(), Error> {
    let plots = Plots::load(&config.inputs)?;
    create_dir(config)?;
    plots.write(&config.output, &config.name, &config.formats)?;
    let page = html::page(&plots);
    let path = config.output.join(format!("{}.html", config.name));
    std::fs::write(&path, page).map_err(|e| Error::unwritable(&path, e))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

pub(super) fn create_dir(config: &PlotConfig) -> Result<(), Error> {
    crate::results::fs::create_dir(&config.output)
}

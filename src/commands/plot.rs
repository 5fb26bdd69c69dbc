//! `enginebench plot`: the charts of saved result files, as SVG and PNG files.

use crate::config::PlotConfig;
use crate::error::Error;
use crate::process::console;
use crate::render::plot::Plots;
use crate::results::fs;

pub fn run(config: &PlotConfig) -> Result<(), Error> {
    let plots = Plots::load(&config.inputs)?;
    fs::create_dir(&config.output)?;
    for path in plots.write(&config.output, &config.name, &config.formats)? {
        console::note(&format!("wrote {}", path.display()));
    }
    Ok(())
}

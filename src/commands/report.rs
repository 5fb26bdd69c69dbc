//! `enginebench report`: one HTML page of saved result files, and the plots
//! as files beside it. `run --report` writes the same page.

use crate::config::PlotConfig;
use crate::error::Error;
use crate::process::console;
use crate::render::html;

pub fn run(config: &PlotConfig) -> Result<(), Error> {
    let page = html::write_page(config)?;
    console::note(&format!("wrote {}", page.display()));
    Ok(())
}

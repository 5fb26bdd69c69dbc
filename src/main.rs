//! The `enginebench` binary: parse the command line, run the command, map the
//! outcome to an exit code. The stages themselves live in the library.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use enginebench::cli::{self, Command};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os()) {
        Ok(command) => command,
        Err(exit) => return exit,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A first Ctrl-C stops the run and keeps its results; a second one quits.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let result = match command {
        Command::Run(args) => args
            .into_config()
            .and_then(|config| enginebench::sweep::run(&config, &stop)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

//! The `mltq` binary: parse flags, call the library, map errors to exit codes
//! (2 for bad input, 1 for anything else), treat a closed stdout pipe as success.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    mltq::budget::keep_freed_memory();
    let cli = mltq::cli::Cli::parse();
    if cli.command.writes_files() {
        // Ctrl-C, SIGTERM, SIGHUP: remove unfinished temporary outputs, exit 130.
        mltq::output::install_signal_cleanup();
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match mltq::cli::run(cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("error: {e:#}");
            if e.downcast_ref::<mltq::Error>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

//! The `mltq` binary: parse flags, call the library, map errors to exit codes
//! (2 for bad input, 1 for an output that cannot be written or anything else), treat a
//! closed stdout pipe (or any output whose reader went away) as success.

use std::process::ExitCode;

fn main() -> ExitCode {
    mltq::budget::keep_freed_memory();
    let cli = mltq::cli::parse_args();
    if cli.command.writes_files() {
        // Ctrl-C, SIGTERM, SIGHUP: remove unfinished temporary outputs, exit 130.
        mltq::output::install_signal_cleanup();
    }
    if let Err(e) = mltq::cli::start_threads() {
        eprintln!("error: {e}");
        return ExitCode::from(e.exit_code());
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match mltq::cli::run(cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let broken_pipe = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
            if e.downcast_ref::<std::io::Error>().is_some_and(broken_pipe) {
                return ExitCode::SUCCESS;
            }
            let lib = e.downcast_ref::<mltq::Error>();
            if let Some(mltq::ErrorKind::Write { source, .. }) = lib.map(|l| l.kind()) {
                if broken_pipe(source) {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("error: {e:#}");
            ExitCode::from(lib.map_or(1, mltq::Error::exit_code))
        }
    }
}

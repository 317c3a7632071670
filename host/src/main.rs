//! The `bachata-common` command line.
//!
//! Exit codes: 0 success, 2 invalid input or configuration, 1 any other failure.
//! Errors are printed as one line on stderr (and, with `--json`, as an RFC 9457 problem
//! document on stdout).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    init_tracing(args.verbose);
    cli::main(&args)
}

/// Structured logs on stderr; `RUST_LOG` overrides the filter (`-v`: this crate at debug).
fn init_tracing(verbose: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let default = if verbose {
        "info,bachata_common=debug"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

//! `hedui`: the command line of the household economic-status verification
//! hub. `main` only parses the command line, sets up logging and hands over
//! to the subcommand; the work lives in the library crates.

use std::process::ExitCode;

use clap::Parser as _;

mod adapter_cmd;
mod audit_cmd;
mod batch_cmd;
mod bench;
mod cli;
mod config;
mod demo;
mod household_file;
mod ops_cmd;
mod reconcile_cmd;
mod record_cmd;
mod record_verify;
mod render;
mod report_cmd;
mod telemetry;

/// The report's sample record, for the tests of what the command prints.
#[cfg(test)]
#[path = "../crates/hedui-report/src/fixture.rs"]
mod fixture;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    telemetry::init(args.log_level());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

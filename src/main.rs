//! `hedui`: the command line of the household economic-status verification
//! hub. `main` only parses the command line, sets up logging and hands over
//! to the subcommand; the work lives in the library crates.

use std::process::ExitCode;

use clap::Parser as _;

mod adapter_cmd;
mod audit_cmd;
mod backup_cmd;
mod batch_cmd;
mod bench;
mod cli;
mod client;
mod config;
mod demo;
mod household_file;
mod keys_cmd;
mod ops_cmd;
mod output;
mod pki_cmd;
mod reconcile_cmd;
mod record_cmd;
mod record_verify;
mod render;
mod report_cmd;
mod retention_cmd;
mod signal;
mod telemetry;

/// The report's sample record, for the tests of what the command prints.
#[cfg(test)]
#[path = "../crates/hedui-report/src/fixture.rs"]
mod fixture;

/// `hedui … | head`: when the reader of our output goes away, printing
/// fails with a broken pipe, which `println!` turns into a panic. That is
/// not an error of ours: stop quietly, as other command-line tools do.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") || message.contains("os error 32") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
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

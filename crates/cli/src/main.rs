//! `secure-channel`: the project's command-line tool.
//!
//! Today it has one verb, `demo`, which runs the protocol core end to end inside one
//! process with the test-double attester. The three-role demo (separate enclave process,
//! host relay on a loopback port, client) replaces it when the role crates land.
//!
//! ```text
//! cargo run -p sc-cli -- demo
//! ```
#![forbid(unsafe_code)]

mod demo;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "secure-channel",
    version,
    about = "Attested secure channel for confidential computing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a handshake and an encrypted request/response in one process (test-double
    /// attestation; no TEE involved) and show what an untrusted relay would see.
    Demo {
        /// Attestation binding mode.
        #[arg(long, value_enum, default_value_t = demo::Mode::IdentityKey)]
        mode: demo::Mode,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { mode } => demo::run(mode, &mut std::io::stdout()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

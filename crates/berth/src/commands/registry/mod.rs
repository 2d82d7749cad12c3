//! `berth registry serve` and `berth registry gc`.

pub mod gc;
pub mod serve;

use clap::Subcommand;

/// `berth registry` subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Serve the OCI Distribution API (the role of Docker Hub and ECR).
    Serve(serve::ServeArgs),
    /// Remove blobs no manifest references.
    Gc(gc::GcArgs),
}

/// Runs a `berth registry` subcommand.
pub fn run(command: RegistryCommand) -> anyhow::Result<i32> {
    match command {
        RegistryCommand::Serve(args) => serve::run(args),
        RegistryCommand::Gc(args) => gc::run(args),
    }
}

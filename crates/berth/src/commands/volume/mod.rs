//! `berth volume`: list, inspect, create and remove volumes.

pub mod create;
pub mod ls;
pub mod prune;
pub mod rm;

use berth_client::ObjectKind;
use clap::{Args, Subcommand};

use super::container::inspect::print_objects;
use super::Context;

/// `berth volume` verbs.
#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// List volumes.
    #[command(alias = "list")]
    Ls(ls::LsArgs),
    /// Show volumes in detail.
    Inspect(InspectArgs),
    /// Create a volume.
    Create(create::CreateArgs),
    /// Remove volumes.
    #[command(alias = "remove")]
    Rm(rm::RmArgs),
    /// Remove unused volumes.
    Prune(prune::PruneArgs),
}

/// `berth volume inspect` arguments.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A Go template.
    #[arg(short, long)]
    format: Option<String>,
    /// The volumes.
    #[arg(required = true)]
    volumes: Vec<String>,
}

/// Runs a `volume` verb.
pub fn run(ctx: &Context, command: VolumeCommand) -> anyhow::Result<i32> {
    match command {
        VolumeCommand::Ls(args) => ls::run(ctx, args),
        VolumeCommand::Inspect(args) => print_objects(
            ctx,
            &[ObjectKind::Volume],
            &args.volumes,
            args.format.as_deref(),
        ),
        VolumeCommand::Create(args) => create::run(ctx, args),
        VolumeCommand::Rm(args) => rm::run(ctx, args),
        VolumeCommand::Prune(args) => prune::run(ctx, args),
    }
}

//! `berth network`: list, inspect, create, remove, connect and disconnect networks.

pub mod connect;
pub mod create;
pub mod ls;
pub mod prune;
pub mod rm;

use berth_client::ObjectKind;
use clap::{Args, Subcommand};

use super::container::inspect::print_objects;
use super::Context;

/// `berth network` verbs.
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// List networks.
    #[command(alias = "list")]
    Ls(ls::LsArgs),
    /// Show networks in detail.
    Inspect(InspectArgs),
    /// Create a network.
    Create(create::CreateArgs),
    /// Remove networks.
    #[command(alias = "remove")]
    Rm(rm::RmArgs),
    /// Connect a container to a network.
    Connect(connect::ConnectArgs),
    /// Disconnect a container from a network.
    Disconnect(connect::DisconnectArgs),
    /// Remove unused networks.
    Prune(prune::PruneArgs),
}

/// `berth network inspect` arguments.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A Go template.
    #[arg(short, long)]
    format: Option<String>,
    /// The networks.
    #[arg(required = true)]
    networks: Vec<String>,
}

/// Runs a `network` verb.
pub fn run(ctx: &Context, command: NetworkCommand) -> anyhow::Result<i32> {
    match command {
        NetworkCommand::Ls(args) => ls::run(ctx, args),
        NetworkCommand::Inspect(args) => print_objects(
            ctx,
            &[ObjectKind::Network],
            &args.networks,
            args.format.as_deref(),
        ),
        NetworkCommand::Create(args) => create::run(ctx, args),
        NetworkCommand::Rm(args) => rm::run(ctx, args),
        NetworkCommand::Connect(args) => connect::connect(ctx, args),
        NetworkCommand::Disconnect(args) => connect::disconnect(ctx, args),
        NetworkCommand::Prune(args) => prune::run(ctx, args),
    }
}

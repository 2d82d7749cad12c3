//! `berth system` (df, prune, info, events) and the top-level `info`, `version` and
//! `events`.

pub mod df;
pub mod events;
pub mod info;
pub mod prune;
pub mod version;

use clap::Subcommand;

use super::Context;

/// `berth system` verbs.
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Disk usage of images, containers, volumes.
    Df(df::DfArgs),
    /// Remove stopped containers, unused networks, dangling images (and volumes).
    Prune(prune::PruneArgs),
    /// The daemon's system information.
    Info(info::InfoArgs),
    /// The daemon's events.
    Events(events::EventsArgs),
}

/// Runs a `system` verb.
pub fn run(ctx: &Context, command: SystemCommand) -> anyhow::Result<i32> {
    match command {
        SystemCommand::Df(args) => df::run(ctx, args),
        SystemCommand::Prune(args) => prune::run(ctx, args),
        SystemCommand::Info(args) => info::run(ctx, args),
        SystemCommand::Events(args) => events::run(ctx, args),
    }
}

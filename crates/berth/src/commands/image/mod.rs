//! `berth image …` and the top-level image verbs (`images`, `tag`, `rmi`, `save`, `load`,
//! `import`, `pull`, `push`). Until the daemon exists they work in-process on the data root.

pub mod import;
pub mod inspect;
pub mod load;
pub mod ls;
pub mod prune;
pub mod pull;
pub mod push;
pub mod rm;
pub mod save;
pub mod tag;

use clap::Subcommand;

use super::Context;

/// `berth image` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images.
    #[command(alias = "list")]
    Ls(ls::LsArgs),
    /// Show an image's details as JSON.
    Inspect(inspect::InspectArgs),
    /// Remove unused images.
    Prune(prune::PruneArgs),
    /// Remove images.
    Rm(rm::RmArgs),
    /// Give an image another name.
    Tag(tag::TagArgs),
    /// Write images to a tar archive.
    Save(save::SaveArgs),
    /// Read images from a tar archive.
    Load(load::LoadArgs),
    /// Make an image from a root filesystem tarball.
    Import(import::ImportArgs),
    /// Download an image from a registry.
    Pull(pull::PullArgs),
    /// Upload an image to a registry.
    Push(push::PushArgs),
}

/// Runs a `berth image` subcommand.
pub fn run(ctx: &Context, command: ImageCommand) -> anyhow::Result<i32> {
    match command {
        ImageCommand::Ls(a) => ls::run(ctx, a),
        ImageCommand::Inspect(a) => inspect::run(ctx, a),
        ImageCommand::Prune(a) => prune::run(ctx, a),
        ImageCommand::Rm(a) => rm::run(ctx, a),
        ImageCommand::Tag(a) => tag::run(ctx, a),
        ImageCommand::Save(a) => save::run(ctx, a),
        ImageCommand::Load(a) => load::run(ctx, a),
        ImageCommand::Import(a) => import::run(ctx, a),
        ImageCommand::Pull(a) => pull::run(ctx, a),
        ImageCommand::Push(a) => push::run(ctx, a),
    }
}

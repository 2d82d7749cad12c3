//! `berth image prune`.

use std::collections::HashSet;

use clap::Args;

use crate::commands::output::human_size;
use crate::commands::Context;

/// Flags of `image prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove every image without a container, not only untagged ones.
    #[arg(long, short = 'a')]
    all: bool,
    /// Do not ask for confirmation (berth never asks; accepted for docker's scripts).
    #[arg(long, short = 'f')]
    force: bool,
}

pub fn run(ctx: &Context, args: PruneArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    // No containers exist outside the daemon yet, so none holds an image.
    let report = store.prune(!args.all, &HashSet::new())?;
    super::rm::print_removed(&report.removed);
    println!("Total reclaimed space: {}", human_size(report.reclaimed));
    Ok(0)
}

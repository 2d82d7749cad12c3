//! `berth tag SOURCE TARGET`.

use berth_image::reference::Reference;
use clap::Args;

use crate::commands::Context;

/// Flags of `tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The image: a reference or an id.
    source: String,
    /// The new name.
    target: String,
}

pub fn run(ctx: &Context, args: TagArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    let digest = store.resolve(&args.source)?;
    let target = Reference::parse(&args.target)?;
    store.tag(&target, &digest)?;
    Ok(0)
}

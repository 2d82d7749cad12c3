//! `berth rmi` / `berth image rm`.

use berth_image::store::Removed;
use clap::Args;

use crate::commands::Context;

/// Flags of `rmi`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Remove an image with several names by id.
    #[arg(long, short = 'f')]
    force: bool,
    /// Images: references or ids.
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn run(ctx: &Context, args: RmArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    let mut failed = false;
    for name in &args.images {
        match store.remove(name, args.force) {
            Ok(removed) => print_removed(&removed),
            Err(err) => {
                eprintln!("berth: {}", crate::commands::error_line(&err.into()));
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// Prints what was removed, as docker does.
pub fn print_removed(removed: &[Removed]) {
    for item in removed {
        match item {
            Removed::Untagged(reference) => println!("Untagged: {}", reference.familiar()),
            Removed::Deleted(id) => println!("Deleted: {id}"),
            Removed::Blob(..) => {}
        }
    }
}

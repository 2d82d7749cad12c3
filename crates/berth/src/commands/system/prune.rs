//! `berth system prune`, and the confirmation prompt the prune verbs share.

use std::io::{BufRead, Write};

use berth_client::Filters;
use clap::Args;

use crate::commands::container::ps::filters;
use crate::commands::output::human_size;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth system prune` arguments.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// All unused images, not only dangling ones.
    #[arg(short, long)]
    all: bool,
    /// Volumes too.
    #[arg(long)]
    volumes: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Filters (`label=`, `until=`).
    #[arg(long)]
    filter: Vec<String>,
}

/// Prints `warning` and asks `Are you sure you want to continue? [y/N]` on stdin.
pub fn confirm(warning: &str) -> anyhow::Result<bool> {
    println!("{warning}");
    print!("Are you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Prints what a prune removed: `title:`, a name a line and a blank line (nothing when
/// nothing was removed).
pub fn print_deleted(title: &str, names: &[String]) {
    if !names.is_empty() {
        println!("{title}:");
        for name in names {
            println!("{name}");
        }
        println!();
    }
}

/// Prunes containers, networks, images (and volumes), then prints the space freed.
pub fn run(ctx: &Context, args: PruneArgs) -> anyhow::Result<i32> {
    if !args.force {
        let mut warning = String::from(
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
        );
        if args.volumes {
            warning.push_str("  - all anonymous volumes not used by at least one container\n");
        }
        warning.push_str(if args.all {
            "  - all images without at least one container associated to them\n  - all build cache\n"
        } else {
            "  - all dangling images\n  - unused build cache\n"
        });
        if !confirm(&warning)? {
            return Ok(0);
        }
    }
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let filters = filters(&args.filter)?;
        let mut total = 0u64;
        let report = client.prune_containers(&filters).await?;
        print_deleted("Deleted Containers", &report.deleted);
        total += report.space_reclaimed;
        let report = client.prune_networks(&filters).await?;
        print_deleted("Deleted Networks", &report.deleted);
        if args.volumes {
            let report = client.prune_volumes(&filters).await?;
            print_deleted("Deleted Volumes", &report.deleted);
            total += report.space_reclaimed;
        }
        let mut image_filters: Filters = filters.clone();
        image_filters.insert("dangling".to_string(), vec![(!args.all).to_string()]);
        let report = client.prune_images(&image_filters).await?;
        if !report.images_deleted.is_empty() {
            println!("Deleted Images:");
            for item in &report.images_deleted {
                if let Some(untagged) = &item.untagged {
                    println!("untagged: {untagged}");
                }
                if let Some(deleted) = &item.deleted {
                    println!("deleted: {deleted}");
                }
            }
            println!();
        }
        total += report.space_reclaimed;
        println!("Total reclaimed space: {}", human_size(total));
        Ok(0)
    })?
}

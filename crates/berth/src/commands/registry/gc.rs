//! `berth registry gc`.

use std::path::PathBuf;
use std::time::Duration;

use berth_registry::GcOptions;
use clap::Args;

use crate::commands::output::human_size;

/// Flags of `registry gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// The registry's root.
    #[arg(long, default_value = "/var/lib/berth/registry")]
    root: PathBuf,
    /// Keep blobs younger than this (uploads in flight), e.g. 10m, 1h.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    grace: Duration,
    /// Also remove manifests no tag reaches.
    #[arg(long)]
    delete_untagged: bool,
    /// Report what would be removed.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: GcArgs) -> anyhow::Result<i32> {
    let report = berth_registry::gc(
        &args.root,
        &GcOptions {
            grace: args.grace,
            delete_untagged: args.delete_untagged,
            dry_run: args.dry_run,
        },
    )?;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    println!(
        "{verb} {} blobs ({}) and {} manifests; {} recent blobs kept",
        report.blobs_deleted.len(),
        human_size(report.bytes_freed),
        report.manifests_deleted.len(),
        report.blobs_in_grace
    );
    Ok(0)
}

//! `berth system df`: disk usage by kind.

use clap::Args;
use serde_json::json;

use crate::commands::format::{self, Format};
use crate::commands::output::human_size;
use crate::commands::{async_rt, daemon_client, Context};

const TABLE: &str = "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

/// `berth system df` arguments.
#[derive(Debug, Args)]
pub struct DfArgs {
    /// `table`, `json` or a Go template.
    #[arg(long)]
    format: Option<String>,
}

fn reclaimable(reclaim: u64, total: u64) -> String {
    if total == 0 {
        return human_size(reclaim);
    }
    format!("{} ({}%)", human_size(reclaim), reclaim * 100 / total)
}

/// Prints one row per kind, as docker does.
pub fn run(ctx: &Context, args: DfArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let df = client.system_df().await?;
        let pos = |n: i64| n.max(0) as u64;
        let images_active = df.images.iter().filter(|i| i.containers > 0).count();
        let images_size = pos(df.layers_size);
        let images_unused: u64 = df
            .images
            .iter()
            .filter(|i| i.containers == 0)
            .map(|i| pos(i.size - i.shared_size.max(0)))
            .sum();
        let containers_active = df
            .containers
            .iter()
            .filter(|c| c.state == berth_client::types::containers::ContainerStatus::Running)
            .count();
        let containers_size: u64 = df
            .containers
            .iter()
            .map(|c| pos(c.size_rw.unwrap_or(0)))
            .sum();
        let containers_reclaim: u64 = df
            .containers
            .iter()
            .filter(|c| c.state != berth_client::types::containers::ContainerStatus::Running)
            .map(|c| pos(c.size_rw.unwrap_or(0)))
            .sum();
        let usage = |v: &berth_client::types::volumes::Volume| v.usage_data;
        let volumes_active = df
            .volumes
            .iter()
            .filter(|v| usage(v).is_some_and(|u| u.ref_count > 0))
            .count();
        let volumes_size: u64 = df
            .volumes
            .iter()
            .map(|v| pos(usage(v).map_or(0, |u| u.size)))
            .sum();
        let volumes_reclaim: u64 = df
            .volumes
            .iter()
            .filter(|v| usage(v).is_some_and(|u| u.ref_count == 0))
            .map(|v| pos(usage(v).map_or(0, |u| u.size)))
            .sum();
        let cache_size: u64 = df
            .build_cache
            .iter()
            .filter_map(|r| r.get("Size").and_then(|s| s.as_u64()))
            .sum();
        let rows = vec![
            json!({"Type": "Images", "TotalCount": df.images.len().to_string(),
                   "Active": images_active.to_string(), "Size": human_size(images_size),
                   "Reclaimable": reclaimable(images_unused.min(images_size), images_size)}),
            json!({"Type": "Containers", "TotalCount": df.containers.len().to_string(),
                   "Active": containers_active.to_string(), "Size": human_size(containers_size),
                   "Reclaimable": reclaimable(containers_reclaim, containers_size)}),
            json!({"Type": "Local Volumes", "TotalCount": df.volumes.len().to_string(),
                   "Active": volumes_active.to_string(), "Size": human_size(volumes_size),
                   "Reclaimable": reclaimable(volumes_reclaim, volumes_size)}),
            json!({"Type": "Build Cache", "TotalCount": df.build_cache.len().to_string(),
                   "Active": "0", "Size": human_size(cache_size),
                   "Reclaimable": human_size(cache_size)}),
        ];
        format::print(
            &Format::parse(args.format.as_deref()),
            &rows,
            TABLE,
            HEADERS,
        )?;
        Ok(0)
    })?
}

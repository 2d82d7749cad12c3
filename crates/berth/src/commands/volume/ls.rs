//! `berth volume ls`.

use clap::Args;
use serde_json::json;

use crate::commands::container::ps::filters;
use crate::commands::format::{self, Format};
use crate::commands::{async_rt, daemon_client, Context};

const TABLE: &str = "{{.Driver}}\t{{.Name}}";
const HEADERS: &[(&str, &str)] = &[
    ("Driver", "DRIVER"),
    ("Name", "VOLUME NAME"),
    ("Scope", "SCOPE"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

/// `berth volume ls` arguments.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only names.
    #[arg(short, long)]
    quiet: bool,
    /// Filters (`dangling=true`, `name=`, `label=`).
    #[arg(short, long)]
    filter: Vec<String>,
    /// `table`, `json` or a Go template.
    #[arg(long)]
    format: Option<String>,
}

/// Lists the volumes, sorted by name.
pub fn run(ctx: &Context, args: LsArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let mut volumes = client.list_volumes(&filters(&args.filter)?).await?.volumes;
        volumes.sort_by(|a, b| a.name.cmp(&b.name));
        if args.quiet {
            for v in &volumes {
                println!("{}", v.name);
            }
            return Ok(0);
        }
        let rows: Vec<_> = volumes
            .iter()
            .map(|v| {
                let labels: Vec<String> =
                    v.labels.iter().map(|(k, l)| format!("{k}={l}")).collect();
                json!({
                    "Driver": v.driver,
                    "Name": v.name,
                    "Scope": v.scope,
                    "Mountpoint": v.mountpoint,
                    "Labels": labels.join(","),
                    "CreatedAt": v.created_at.clone().unwrap_or_default(),
                })
            })
            .collect();
        format::print(
            &Format::parse(args.format.as_deref()),
            &rows,
            TABLE,
            HEADERS,
        )?;
        Ok(0)
    })?
}

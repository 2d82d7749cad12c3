//! `berth network ls`.

use clap::Args;
use serde_json::json;

use crate::commands::container::present::short_id;
use crate::commands::container::ps::filters;
use crate::commands::format::{self, Format};
use crate::commands::{async_rt, daemon_client, Context};

const TABLE: &str = "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

/// `berth network ls` arguments.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Filters (`name=`, `driver=`, `label=`).
    #[arg(short, long)]
    filter: Vec<String>,
    /// Full IDs.
    #[arg(long)]
    no_trunc: bool,
    /// `table`, `json` or a Go template.
    #[arg(long)]
    format: Option<String>,
}

/// Lists the networks, sorted by name as docker does.
pub fn run(ctx: &Context, args: LsArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let mut networks = client.list_networks(&filters(&args.filter)?).await?;
        networks.sort_by(|a, b| a.name.cmp(&b.name));
        let id = |full: &str| {
            if args.no_trunc {
                full.to_string()
            } else {
                short_id(full)
            }
        };
        if args.quiet {
            for n in &networks {
                println!("{}", id(&n.id));
            }
            return Ok(0);
        }
        let rows: Vec<_> = networks
            .iter()
            .map(|n| {
                let labels: Vec<String> =
                    n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                json!({
                    "ID": id(&n.id),
                    "Name": n.name,
                    "Driver": n.driver,
                    "Scope": n.scope,
                    "IPv6": n.enable_ipv6.to_string(),
                    "Internal": n.internal.to_string(),
                    "Labels": labels.join(","),
                    "CreatedAt": n.created,
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

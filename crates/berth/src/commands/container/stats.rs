//! `berth stats`: CPU, memory, network, block I/O and PIDs of containers.

use std::collections::BTreeMap;

use berth_client::types::stats::ContainerStats;
use berth_client::ListContainersOptions;
use clap::Args;
use serde_json::{json, Value};

use super::present::short_id;
use crate::commands::format::{self, Format};
use crate::commands::{async_rt, daemon_client, Context};

const TABLE: &str = "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

/// `berth stats` arguments.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Stopped containers too.
    #[arg(short, long)]
    all: bool,
    /// One sample, then exit.
    #[arg(long)]
    no_stream: bool,
    /// Full IDs.
    #[arg(long)]
    no_trunc: bool,
    /// `table`, `json` or a Go template.
    #[arg(long)]
    format: Option<String>,
    /// The containers (all running ones if none).
    containers: Vec<String>,
}

/// Go's `%.Ng`: N significant digits, trailing zeros dropped.
fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    let exponent = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - exponent).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn scaled(bytes: f64, base: f64, units: &[&str], digits: i32) -> String {
    let mut value = bytes;
    let mut unit = 0;
    while value >= base && unit < units.len() - 1 {
        value /= base;
        unit += 1;
    }
    format!("{}{}", significant(value, digits), units[unit])
}

/// go-units' `BytesSize` (binary units, 4 digits).
fn binary_size(bytes: f64) -> String {
    scaled(bytes, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 4)
}

/// go-units' `HumanSizeWithPrecision(_, 3)` (decimal units).
fn decimal_size(bytes: f64) -> String {
    scaled(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"], 3)
}

/// The placeholders of one sample, computed as the docker CLI does.
fn row(s: &ContainerStats, no_trunc: bool) -> Value {
    let cpu_delta =
        s.cpu_stats.cpu_usage.total_usage as f64 - s.precpu_stats.cpu_usage.total_usage as f64;
    let system_delta = s.cpu_stats.system_cpu_usage.unwrap_or(0) as f64
        - s.precpu_stats.system_cpu_usage.unwrap_or(0) as f64;
    let cpus = s.cpu_stats.online_cpus.map(f64::from).unwrap_or_else(|| {
        s.cpu_stats
            .cpu_usage
            .percpu_usage
            .as_ref()
            .map_or(1.0, |p| p.len().max(1) as f64)
    });
    let cpu = if cpu_delta > 0.0 && system_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    };
    let stats = s.memory_stats.stats.clone().unwrap_or_default();
    // The page cache is reclaimable; docker leaves it out (cgroup v1 and v2 names).
    let cache = stats
        .get("total_inactive_file")
        .or_else(|| stats.get("inactive_file"))
        .copied()
        .unwrap_or(0);
    let usage = s.memory_stats.usage.unwrap_or(0).saturating_sub(cache) as f64;
    let limit = s.memory_stats.limit.unwrap_or(0) as f64;
    let mem_perc = if limit > 0.0 {
        usage / limit * 100.0
    } else {
        0.0
    };
    let (rx, tx) = s
        .networks
        .iter()
        .flatten()
        .fold((0u64, 0u64), |(rx, tx), (_, n)| {
            (rx + n.rx_bytes, tx + n.tx_bytes)
        });
    let (mut read, mut write) = (0u64, 0u64);
    for entry in s.blkio_stats.io_service_bytes_recursive.iter().flatten() {
        match entry.op.to_ascii_lowercase().as_str() {
            "read" => read += entry.value,
            "write" => write += entry.value,
            _ => {}
        }
    }
    let name = s.name.trim_start_matches('/').to_string();
    json!({
        "ID": if no_trunc { s.id.clone() } else { short_id(&s.id) },
        "Container": name,
        "Name": name,
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", binary_size(usage), binary_size(limit)),
        "MemPerc": format!("{mem_perc:.2}%"),
        "NetIO": format!("{} / {}", decimal_size(rx as f64), decimal_size(tx as f64)),
        "BlockIO": format!("{} / {}", decimal_size(read as f64), decimal_size(write as f64)),
        "PIDs": s.pids_stats.current.unwrap_or(0).to_string(),
    })
}

/// Prints the samples (once with `--no-stream`, else refreshed every second).
pub fn run(ctx: &Context, args: StatsArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let names = if args.containers.is_empty() {
            let options = ListContainersOptions {
                all: args.all,
                ..ListContainersOptions::default()
            };
            client
                .list_containers(&options)
                .await?
                .into_iter()
                .map(|c| c.id)
                .collect()
        } else {
            args.containers.clone()
        };
        let format = Format::parse(args.format.as_deref());
        if args.no_stream {
            let mut rows = Vec::new();
            for name in &names {
                rows.push(row(&client.stats_once(name).await?, args.no_trunc));
            }
            format::print(&format, &rows, TABLE, HEADERS)?;
            return Ok(0);
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, ContainerStats)>(64);
        for name in names {
            let mut stream = client.stats_stream(&name).await?;
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(Ok(sample)) = stream.next().await {
                    if tx.send((name.clone(), sample)).await.is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut latest: BTreeMap<String, Value> = BTreeMap::new();
        while let Some((name, sample)) = rx.recv().await {
            latest.insert(name, row(&sample, args.no_trunc));
            // Clear the screen and redraw, as docker does on a terminal.
            print!("\x1b[2J\x1b[H");
            let rows: Vec<Value> = latest.values().cloned().collect();
            format::print(&format, &rows, TABLE, HEADERS)?;
        }
        Ok(0)
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_go_units() {
        assert_eq!(binary_size(1_258_291.0), "1.2MiB");
        assert_eq!(binary_size(8_224_538_624.0), "7.66GiB");
        assert_eq!(binary_size(0.0), "0B");
        assert_eq!(decimal_size(1046.0), "1.05kB");
        assert_eq!(decimal_size(0.0), "0B");
    }
}

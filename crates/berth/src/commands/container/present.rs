//! How containers read in docker's tables: short IDs, quoted commands, ports, names,
//! "About a minute ago".

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_client::types::containers::{ContainerSummary, Port};
use serde_json::{json, Value};

use crate::commands::output::human_size;

/// The default `ps` table.
pub const PS_TABLE: &str =
    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/// The column headers of `ps` fields.
pub const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("State", "STATE"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

/// The first 12 characters of an ID, `sha256:` dropped.
pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// docker's `Ellipsis`: at most `max` characters, the last one `…` when cut.
pub fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// go-units' `HumanDuration`.
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    let minutes = seconds / 60;
    let hours = ((d.as_secs_f64() / 3600.0) + 0.5) as u64;
    match () {
        _ if seconds < 1 => "Less than a second".to_string(),
        _ if seconds == 1 => "1 second".to_string(),
        _ if seconds < 60 => format!("{seconds} seconds"),
        _ if minutes == 1 => "About a minute".to_string(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", seconds / 3600 / 24 / 365),
    }
}

/// How long ago a Unix time was, docker's way (`3 minutes ago`).
pub fn ago_unix(unix: i64) -> String {
    let then = UNIX_EPOCH + Duration::from_secs(unix.max(0) as u64);
    let age = SystemTime::now()
        .duration_since(then)
        .unwrap_or(Duration::ZERO);
    format!("{} ago", human_duration(age))
}

/// A Unix time as Go prints `time.Time` (`2024-05-01 12:00:00 +0000 UTC`).
pub fn go_time(unix: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_secs(unix.max(0) as u64);
    let text = humantime::format_rfc3339_seconds(time).to_string();
    format!(
        "{} +0000 UTC",
        text.trim_end_matches('Z').replacen('T', " ", 1)
    )
}

/// docker's `DisplayablePorts`: `0.0.0.0:8080->80/tcp, 443/tcp`.
pub fn ports(ports: &[Port]) -> String {
    let mut sorted: Vec<&Port> = ports.iter().collect();
    sorted.sort_by_key(|p| (p.public_port.unwrap_or(0), p.private_port, p.r#type.clone()));
    let mut out: Vec<String> = Vec::new();
    for p in sorted {
        let text = match (p.ip.as_deref(), p.public_port) {
            (Some(ip), Some(public)) if ip.contains(':') => {
                format!("[{ip}]:{public}->{}/{}", p.private_port, p.r#type)
            }
            (Some(ip), Some(public)) => format!("{ip}:{public}->{}/{}", p.private_port, p.r#type),
            _ => format!("{}/{}", p.private_port, p.r#type),
        };
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out.join(", ")
}

/// The placeholders docker's `ps` templates see, for one container.
pub fn ps_row(c: &ContainerSummary, no_trunc: bool) -> Value {
    let names: Vec<&str> = c
        .names
        .iter()
        .map(|n| n.trim_start_matches('/'))
        // Legacy link names (`/other/alias`) show only with --no-trunc.
        .filter(|n| no_trunc || !n.contains('/'))
        .collect();
    let command = if no_trunc {
        c.command.clone()
    } else {
        ellipsis(&c.command, 20)
    };
    let image = if no_trunc || !c.image.starts_with("sha256:") {
        c.image.clone()
    } else {
        short_id(&c.image)
    };
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let size = match (c.size_rw, c.size_root_fs) {
        // Go omits a zero SizeRw.
        (rw, Some(root)) => format!(
            "{} (virtual {})",
            human_size(rw.unwrap_or(0).max(0) as u64),
            human_size(root.max(0) as u64)
        ),
        (Some(rw), None) => human_size(rw.max(0) as u64),
        _ => "0B".to_string(),
    };
    let mounts: Vec<String> = c
        .mounts
        .iter()
        .map(|m| {
            let name = m.name.clone().unwrap_or_else(|| m.source.clone());
            if no_trunc {
                name
            } else {
                ellipsis(&name, 15)
            }
        })
        .collect();
    let networks: Vec<String> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    let local_volumes = c
        .mounts
        .iter()
        .filter(|m| m.driver.as_deref() == Some("local"))
        .count();
    json!({
        "ID": if no_trunc { c.id.clone() } else { short_id(&c.id) },
        "Image": image,
        "Command": format!("{command:?}"),
        "CreatedAt": go_time(c.created),
        "RunningFor": ago_unix(c.created),
        "Ports": ports(&c.ports),
        "Status": c.status,
        "State": serde_json::to_value(c.state).unwrap_or(Value::Null),
        "Size": size,
        "Names": names.join(","),
        "Labels": labels.join(","),
        "Mounts": mounts.join(","),
        "Networks": networks.join(","),
        "LocalVolumes": local_volumes.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_docker() {
        assert_eq!(
            ellipsis("sleep 1000000000000000000", 20),
            "sleep 1000000000000…"
        );
        assert_eq!(ellipsis("sh", 20), "sh");
        assert_eq!(human_duration(Duration::from_secs(3)), "3 seconds");
        assert_eq!(human_duration(Duration::from_secs(90)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2 hours");
        assert_eq!(go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        let p = |ip: Option<&str>, public, private| Port {
            ip: ip.map(str::to_string),
            private_port: private,
            public_port: public,
            r#type: "tcp".to_string(),
        };
        assert_eq!(
            ports(&[
                p(Some("0.0.0.0"), Some(8080), 80),
                p(None, None, 443),
                p(Some("::"), Some(8080), 80)
            ]),
            "443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
        );
    }
}

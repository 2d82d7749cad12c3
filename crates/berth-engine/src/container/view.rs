//! How a container looks from outside: inspect, the list's summaries, event attributes.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use berth_client::types::containers::{
    ContainerInspect, ContainerState, ContainerStatus, ContainerSummary, NetworkSettings, Port,
    SummaryHostConfig,
};
use berth_client::types::host_config::{PortBinding, PortMap};

use super::files::Files;
use super::{Container, Record};
use crate::engine::Engine;

/// Attributes Docker puts on container events: image, name and the labels.
pub fn event_attributes(container: &Container) -> BTreeMap<String, String> {
    container.with(|r| {
        let mut attributes = r.config.labels.clone().unwrap_or_default();
        attributes.insert("image".into(), r.config.image.clone().unwrap_or_default());
        attributes.insert("name".into(), r.name.clone());
        attributes
    })
}

/// Publishes the container event `action` (`start`, `pause`, ...) with Docker's
/// attributes.
pub fn publish_event(engine: &Engine, container: &Container, action: &str) {
    engine.events().publish(
        "container",
        action,
        &container.id,
        event_attributes(container),
    );
}

/// Go's `units.HumanDuration`, which Docker's status strings use.
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (seconds as f64 / 3600.0).round() as u64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", hours / 24 / 365)
}

fn since(time: Option<&str>) -> Duration {
    time.and_then(|t| humantime::parse_rfc3339_weak(t).ok())
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default()
}

/// Docker's status column: `Up 3 seconds (healthy)`, `Exited (0) 2 seconds ago`, ...
pub fn status_text(record: &Record) -> String {
    let state = &record.state;
    match state.status {
        ContainerStatus::Created => "Created".into(),
        ContainerStatus::Running | ContainerStatus::Paused => {
            let mut text = format!("Up {}", human_duration(since(state.started_at.as_deref())));
            if state.status == ContainerStatus::Paused {
                text.push_str(" (Paused)");
            } else if let Some(health) = &state.health {
                let shown = match health.status.as_str() {
                    "starting" => "health: starting",
                    other => other,
                };
                text.push_str(&format!(" ({shown})"));
            }
            text
        }
        ContainerStatus::Restarting => format!(
            "Restarting ({}) {} ago",
            state.exit_code,
            human_duration(since(state.finished_at.as_deref()))
        ),
        ContainerStatus::Removing => "Removal In Progress".into(),
        ContainerStatus::Dead => "Dead".into(),
        ContainerStatus::Exited => {
            if state.finished_at.is_none() {
                return "Created".into();
            }
            format!(
                "Exited ({}) {} ago",
                state.exit_code,
                human_duration(since(state.finished_at.as_deref()))
            )
        }
    }
}

/// Published ports as inspect shows them (`80/tcp` -> bindings), with exposed but
/// unpublished ports mapped to null.
pub fn port_map(record: &Record) -> PortMap {
    let mut map = PortMap::new();
    for port in record.config.exposed_ports.iter().flatten().map(|(k, _)| k) {
        map.insert(normalise_port(port), None);
    }
    if record.state.is_running() {
        for (port, bindings) in &record.ports {
            map.insert(
                port.clone(),
                Some(
                    bindings
                        .iter()
                        .map(|(ip, p)| PortBinding {
                            host_ip: Some(ip.clone()),
                            host_port: Some(p.to_string()),
                        })
                        .collect(),
                ),
            );
        }
    }
    map
}

/// `80` -> `80/tcp`.
pub fn normalise_port(port: &str) -> String {
    if port.contains('/') {
        port.to_string()
    } else {
        format!("{port}/tcp")
    }
}

fn network_settings(record: &Record) -> NetworkSettings {
    let running = record.state.is_running();
    let networks = record
        .networks
        .iter()
        .map(|(name, settings)| {
            let mut settings = settings.clone();
            if !running {
                // Docker clears the runtime half of endpoints of stopped containers.
                settings.ip_address = Some(String::new());
                settings.gateway = Some(String::new());
                settings.ip_prefix_len = Some(0);
                settings.mac_address = Some(String::new());
                settings.endpoint_id = Some(String::new());
            }
            (name.clone(), settings)
        })
        .collect();
    let bridge = record
        .networks
        .get(crate::container::networking::DEFAULT_BRIDGE)
        .filter(|_| running);
    NetworkSettings {
        sandbox_key: running.then(|| format!("/proc/{}/ns/net", record.state.pid)),
        ports: Some(port_map(record)),
        networks: Some(networks),
        ip_address: Some(
            bridge
                .and_then(|b| b.ip_address.clone())
                .unwrap_or_default(),
        ),
        ip_prefix_len: Some(bridge.and_then(|b| b.ip_prefix_len).unwrap_or(0)),
        gateway: Some(bridge.and_then(|b| b.gateway.clone()).unwrap_or_default()),
        mac_address: Some(
            bridge
                .and_then(|b| b.mac_address.clone())
                .unwrap_or_default(),
        ),
    }
}

/// `GET /containers/{id}/json`.
pub fn inspect(container: &Container, exec_ids: Vec<String>) -> ContainerInspect {
    let record = container.record();
    let files = Files::of(container.dir());
    let state = &record.state;
    let zero_time = "0001-01-01T00:00:00Z".to_string();
    ContainerInspect {
        id: record.id.clone(),
        created: record.created.clone(),
        path: record.path.clone(),
        args: record.args.clone(),
        state: ContainerState {
            status: state.status,
            running: state.is_running(),
            paused: state.status == ContainerStatus::Paused,
            restarting: state.status == ContainerStatus::Restarting,
            oom_killed: state.oom_killed,
            dead: state.status == ContainerStatus::Dead,
            pid: if state.is_running() { state.pid } else { 0 },
            exit_code: state.exit_code,
            error: Some(state.error.clone().unwrap_or_default()),
            started_at: Some(
                state
                    .started_at
                    .clone()
                    .unwrap_or_else(|| zero_time.clone()),
            ),
            finished_at: Some(state.finished_at.clone().unwrap_or(zero_time)),
            health: state.health.clone(),
        },
        image: record.image_id.clone(),
        resolv_conf_path: files.resolv_conf.to_string_lossy().into_owned(),
        hostname_path: files.hostname.to_string_lossy().into_owned(),
        hosts_path: files.hosts.to_string_lossy().into_owned(),
        log_path: container.log_path().to_string_lossy().into_owned(),
        name: format!("/{}", record.name),
        restart_count: record.restart_count,
        driver: "overlay2".into(),
        platform: "linux".into(),
        exec_ids: (!exec_ids.is_empty()).then_some(exec_ids),
        host_config: Some(record.host_config.clone()),
        mounts: record.mounts.clone(),
        network_settings: Some(network_settings(&record)),
        config: Some(record.config.clone()),
        size_rw: None,
        size_root_fs: None,
    }
}

/// The command column: path and arguments joined by spaces, an argument with blanks or
/// quotes in single quotes, as dockerd shows it.
fn command_line(record: &Record) -> String {
    std::iter::once(record.path.as_str())
        .chain(record.args.iter().map(String::as_str))
        .map(|word| {
            if !word.is_empty() && !word.contains([' ', '\t', '\n', '\'', '"']) {
                word.to_string()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One item of `GET /containers/json`.
pub fn summary(container: &Container) -> ContainerSummary {
    let record = container.record();
    let mut ports = Vec::new();
    for (port, bindings) in port_map(&record) {
        let (number, proto) = port.split_once('/').unwrap_or((&port, "tcp"));
        let Ok(private_port) = number.parse::<u16>() else {
            continue;
        };
        match bindings {
            Some(bindings) if !bindings.is_empty() => {
                for b in bindings {
                    ports.push(Port {
                        ip: b.host_ip.clone(),
                        private_port,
                        public_port: b.host_port.as_deref().and_then(|p| p.parse().ok()),
                        r#type: proto.to_string(),
                    });
                }
            }
            _ => ports.push(Port {
                ip: None,
                private_port,
                public_port: None,
                r#type: proto.to_string(),
            }),
        }
    }
    let created = humantime::parse_rfc3339_weak(&record.created)
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let settings = network_settings(&record);
    ContainerSummary {
        id: record.id.clone(),
        names: vec![format!("/{}", record.name)],
        image: record.config.image.clone().unwrap_or_default(),
        image_id: record.image_id.clone(),
        command: command_line(&record),
        created,
        ports,
        size_rw: None,
        size_root_fs: None,
        labels: record.config.labels.clone().unwrap_or_default(),
        state: record.state.status,
        status: status_text(&record),
        host_config: Some(SummaryHostConfig {
            network_mode: record.host_config.network_mode.clone().unwrap_or_default(),
            ..Default::default()
        }),
        network_settings: Some(NetworkSettings {
            networks: settings.networks,
            ..NetworkSettings::default()
        }),
        mounts: record.mounts.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_docker() {
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(human_duration(Duration::from_secs(1)), "1 second");
        assert_eq!(human_duration(Duration::from_secs(59)), "59 seconds");
        assert_eq!(human_duration(Duration::from_secs(90)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(600)), "10 minutes");
        assert_eq!(human_duration(Duration::from_secs(3600)), "About an hour");
        assert_eq!(human_duration(Duration::from_secs(5 * 3600)), "5 hours");
        assert_eq!(human_duration(Duration::from_secs(3 * 86400)), "3 days");
    }
}

//! `POST /containers/create`.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_client::types::containers::{ContainerCreateRequest, CreateResponse};
use berth_client::types::host_config::{HostConfig, RestartPolicyName};
use berth_client::types::networks::EndpointSettings;

use super::{mounts, now_rfc3339, rootfs, Container, Record, State};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::spec;

/// A new random id: 64 hex characters, as Docker's.
pub fn new_id() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Docker's rule for container names.
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && name.len() >= 2 {
        Ok(())
    } else {
        Err(EngineError::Invalid(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
    }
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nimble", "proud", "quiet", "rapid", "sharp", "tender", "upbeat", "vivid", "witty", "zesty",
];
const NOUNS: &[&str] = &[
    "anchor", "beacon", "cutter", "dinghy", "ferry", "galley", "harbor", "jetty", "keel", "lagoon",
    "mooring", "pier", "quay", "rudder", "schooner", "tugboat", "wharf", "yacht",
];

/// A free `adjective_noun` name (with a number when the pairs run short).
fn generate_name(engine: &Engine) -> String {
    for attempt in 0.. {
        let a = ADJECTIVES[rand::random_range(0..ADJECTIVES.len())];
        let n = NOUNS[rand::random_range(0..NOUNS.len())];
        let name = if attempt < 8 {
            format!("{a}_{n}")
        } else {
            format!("{a}_{n}{}", rand::random_range(0..10_000))
        };
        if engine.containers.get(&name).is_err() {
            return name;
        }
    }
    unreachable!("the loop returns")
}

/// The network mode as Docker normalises it: empty and `default` mean `bridge`.
pub fn network_mode(host: &HostConfig) -> String {
    match host.network_mode.as_deref() {
        None | Some("") | Some("default") => "bridge".to_string(),
        Some(mode) => mode.to_string(),
    }
}

fn validate_host_config(host: &HostConfig) -> Result<()> {
    let policy = host.restart_policy.clone().unwrap_or_default();
    if host.auto_remove.unwrap_or(false) && policy.name != RestartPolicyName::No {
        return Err(EngineError::Invalid(
            "can't create 'AutoRemove' container with restart policy".into(),
        ));
    }
    if policy.maximum_retry_count.unwrap_or(0) < 0 {
        return Err(EngineError::Invalid(
            "invalid restart policy: maximum retry count can't be negative".into(),
        ));
    }
    if policy.name != RestartPolicyName::OnFailure && policy.maximum_retry_count.unwrap_or(0) > 0 {
        return Err(EngineError::Invalid(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'".into(),
        ));
    }
    for (port, bindings) in host.port_bindings.iter().flatten() {
        let (number, proto) = port.split_once('/').unwrap_or((port, "tcp"));
        if number.parse::<u16>().map_or(true, |n| n == 0)
            || !matches!(proto, "tcp" | "udp" | "sctp")
        {
            return Err(EngineError::Invalid(format!(
                "invalid port specification: \"{port}\""
            )));
        }
        for binding in bindings.iter().flatten() {
            if let Some(p) = binding.host_port.as_deref().filter(|p| !p.is_empty()) {
                if p.split('-').any(|n| n.parse::<u16>().is_err()) {
                    return Err(EngineError::Invalid(format!(
                        "invalid port specification: \"{p}\""
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Creates a container; `name` is the `name` query parameter.
pub async fn create(
    engine: &Arc<Engine>,
    name: Option<String>,
    request: ContainerCreateRequest,
) -> Result<CreateResponse> {
    let mut config = request.config;
    let mut host = request.host_config.unwrap_or_default();
    let name = match name.filter(|n| !n.is_empty()) {
        Some(n) => {
            let n = n.strip_prefix('/').unwrap_or(&n).to_string();
            validate_name(&n)?;
            if let Ok(existing) = engine.containers.get(&format!("/{n}")) {
                return Err(super::name_conflict(&n, &existing.id));
            }
            n
        }
        None => generate_name(engine),
    };
    let image_text = config
        .image
        .clone()
        .filter(|i| !i.is_empty())
        .ok_or_else(|| EngineError::Invalid("Config.Image must be set: no image given".into()))?;
    let image = match engine.images().get(&image_text) {
        Ok(image) => image,
        Err(berth_image::store::StoreError::NotFound(_)) => {
            return Err(EngineError::NotFound(format!(
                "No such image: {}",
                display_reference(&image_text)
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(image_config) = image.config.config() {
        spec::merge_image_config(&mut config, image_config);
    }
    let raw_config = engine
        .images()
        .content()
        .read_blob(&image.config_digest, 16 << 20)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    if let Some(raw) = &raw_config {
        spec::merge_docker_image_config(&mut config, raw);
    }
    let entrypoint = config.entrypoint.clone().unwrap_or_default();
    let cmd = config.cmd.clone().unwrap_or_default();
    let mut argv: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if argv.is_empty() {
        return Err(EngineError::Invalid("No command specified".into()));
    }
    validate_host_config(&host)?;
    // Docker stores its defaults, and clients read them back (the Python SDK's `logs()`
    // looks at HostConfig.LogConfig.Type).
    let log_type = host
        .log_config
        .as_ref()
        .map(|l| l.r#type.clone())
        .unwrap_or_default();
    if log_type.is_empty() {
        host.log_config = Some(berth_client::types::host_config::LogConfig {
            r#type: "json-file".into(),
            config: Some(host.log_config.and_then(|l| l.config).unwrap_or_default()),
        });
    }
    if host.restart_policy.is_none() {
        host.restart_policy = Some(berth_client::types::host_config::RestartPolicy {
            name: RestartPolicyName::No,
            maximum_retry_count: Some(0),
        });
    }
    let mode = network_mode(&host);
    host.network_mode = Some(mode.clone());
    let mut networks: BTreeMap<String, EndpointSettings> = BTreeMap::new();
    let requested = request
        .networking_config
        .and_then(|n| n.endpoints_config)
        .unwrap_or_default();
    if let Some(target) = mode.strip_prefix("container:") {
        engine.containers.get(target)?;
    } else if mode == "host" || mode == "none" {
        networks.insert(mode.clone(), EndpointSettings::default());
    } else {
        let network = engine
            .networks()
            .network(&mode)
            .await
            .map_err(|_| EngineError::NotFound(format!("network {mode} not found")))?;
        let mut settings = requested
            .get(&mode)
            .or_else(|| requested.get(&network.id))
            .or_else(|| requested.get("default"))
            .or_else(|| requested.values().next())
            .cloned()
            .unwrap_or_default();
        settings.network_id = Some(network.id.clone());
        networks.insert(network.name.clone(), settings);
        // Further networks given at create (API 1.44+) are joined too.
        for (other, settings) in &requested {
            // `default` names the mode's network (the CLI sends it for `--network default`).
            if other == &mode
                || other == "default"
                || other == &network.id
                || other == &network.name
            {
                continue;
            }
            let net = engine
                .networks()
                .network(other)
                .await
                .map_err(|_| EngineError::NotFound(format!("network {other} not found")))?;
            let mut settings = settings.clone();
            settings.network_id = Some(net.id.clone());
            networks.insert(net.name.clone(), settings);
        }
    }

    let id = new_id();
    let dir = engine.config().containers_dir().join(&id);
    std::fs::create_dir_all(&dir).map_err(|e| EngineError::io("create", &dir, e))?;
    let made = async {
        let layers = {
            let engine = engine.clone();
            let image = image.clone();
            tokio::task::spawn_blocking(move || rootfs::prepare_layers(&engine, &image))
                .await
                .map_err(|e| EngineError::Internal(format!("unpack the image: {e}")))??
        };
        let planned = mounts::plan(engine, &id, &config, &host)?;
        let path = argv.remove(0);
        let record = Record {
            id: id.clone(),
            name: name.clone(),
            created: now_rfc3339(),
            image_id: image.id().to_string(),
            image_digest: image.digest.to_string(),
            layers,
            config: config.clone(),
            host_config: host.clone(),
            state: State::created(),
            restart_count: 0,
            mounts: planned.mounts,
            anonymous_volumes: planned.anonymous,
            networks,
            ports: BTreeMap::new(),
            path,
            args: argv,
            has_been_started: false,
        };
        let container = Container::new(dir.clone(), record);
        engine.containers.insert(container.clone())?;
        Ok::<_, EngineError>(container)
    }
    .await;
    let container = match made {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    engine.events().publish(
        "container",
        "create",
        &container.id,
        super::view::event_attributes(&container),
    );
    Ok(CreateResponse {
        id,
        warnings: Some(Vec::new()),
    })
}

/// A reference as Docker prints it in "No such image": with `:latest` when untagged.
fn display_reference(text: &str) -> String {
    let last = text.rsplit('/').next().unwrap_or(text);
    if text.contains('@') || last.contains(':') || text.starts_with("sha256:") {
        text.to_string()
    } else {
        format!("{text}:latest")
    }
}

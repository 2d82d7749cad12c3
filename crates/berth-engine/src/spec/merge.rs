//! Docker's create-time merge of a container's `Config` with its image's.
//!
//! The rules are those of `docker create` (what inspect then shows as `Config`):
//!
//! - `User`, `WorkingDir`, `StopSignal`: the image's when the container leaves them empty.
//! - `Env`: the container's variables, then each image variable whose name the container
//!   does not set, in the image's order. (Docker appends the image's after the
//!   container's; at start the runtime environment is rebuilt from defaults anyway, see
//!   `process::environment`.)
//! - `Entrypoint`/`Cmd`: if the container gives an entrypoint (even `[""]`, which resets
//!   it), the image's `Cmd` is not used. Otherwise an empty container `Cmd` takes the
//!   image's `Cmd` (and `ArgsEscaped`), and an absent entrypoint takes the image's.
//! - `ExposedPorts`, `Volumes`: union.
//! - `Labels`: the image's, overridden by the container's (always present after merge).
//! - `Healthcheck`: the image's when the container has none; when the container has one,
//!   each of its zero fields (empty `Test`, zero durations and retries) takes the image's.
//!
//! `oci_spec::image::Config` knows only the OCI fields; `Healthcheck`, `ArgsEscaped`,
//! `Shell` and `OnBuild` are Docker extensions that serde drops, so
//! [`merge_docker_image_config`] reads them from the image config's raw JSON.

use std::collections::BTreeMap;

use berth_client::types::containers::{ContainerConfig, Empty, HealthConfig};
use serde::Deserialize;

/// Fills `config` from the image's config as `docker create` does: User, WorkingDir and
/// StopSignal when empty; Env (the container's, then the image's variables it does not
/// name); Cmd and Entrypoint (a container entrypoint, even `[""]`, drops the image's Cmd;
/// a container Cmd keeps the image's entrypoint); ExposedPorts and Volumes (union);
/// Labels (the image's, overridden; always present afterwards). `image` is the image
/// config's `config` object. Healthcheck, Shell, OnBuild and ArgsEscaped are Docker
/// extensions oci-spec does not parse: see [`merge_docker_image_config`].
pub fn merge_image_config(config: &mut ContainerConfig, image: &oci_spec::image::Config) {
    if is_empty_str(&config.user) {
        config.user.clone_from(image.user());
    }
    if is_empty_str(&config.working_dir) {
        config.working_dir.clone_from(image.working_dir());
    }
    if is_empty_str(&config.stop_signal) {
        config.stop_signal.clone_from(image.stop_signal());
    }
    merge_env(config, image.env().as_deref().unwrap_or_default());
    merge_command(config, image.entrypoint(), image.cmd());
    union_set(&mut config.exposed_ports, image.exposed_ports());
    union_set(&mut config.volumes, image.volumes());

    let labels = config.labels.get_or_insert_with(BTreeMap::new);
    for (key, value) in image.labels().iter().flatten() {
        labels.entry(key.clone()).or_insert_with(|| value.clone());
    }
}

/// The Docker-only part of the merge: `Healthcheck`, `ArgsEscaped` (with the image's
/// `Cmd`), `Shell` and `OnBuild`, read from the raw image config JSON (the whole document,
/// as stored in the content store; its `config` object is used). Call it after
/// [`merge_image_config`]. A config without those fields (or not an object) changes
/// nothing.
pub fn merge_docker_image_config(config: &mut ContainerConfig, image_config: &serde_json::Value) {
    let Some(raw) = image_config.get("config") else {
        return;
    };
    // Each field is read on its own, so that one odd field does not hide the others.
    let field = |name: &str| raw.get(name).filter(|v| !v.is_null());
    if let Some(health) = field("Healthcheck").and_then(parse::<DockerHealth>) {
        merge_healthcheck(config, health.into());
    }
    let image_cmd: Option<Vec<String>> = field("Cmd").and_then(parse);
    if image_cmd.is_some() && config.cmd == image_cmd && config.args_escaped.is_none() {
        // The container inherited the image's Cmd, so it inherits its escaping too.
        config.args_escaped = field("ArgsEscaped").and_then(parse);
    }
    if config.shell.as_ref().is_none_or(Vec::is_empty) {
        if let Some(shell) = field("Shell").and_then(parse) {
            config.shell = Some(shell);
        }
    }
    if config.on_build.as_ref().is_none_or(Vec::is_empty) {
        if let Some(on_build) = field("OnBuild").and_then(parse) {
            config.on_build = Some(on_build);
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(value: &serde_json::Value) -> Option<T> {
    T::deserialize(value).ok()
}

/// Docker's image `Healthcheck`, durations in nanoseconds.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerHealth {
    #[serde(default)]
    test: Option<Vec<String>>,
    #[serde(default)]
    interval: Option<i64>,
    #[serde(default)]
    timeout: Option<i64>,
    #[serde(default)]
    start_period: Option<i64>,
    #[serde(default)]
    start_interval: Option<i64>,
    #[serde(default)]
    retries: Option<i64>,
}

impl From<DockerHealth> for HealthConfig {
    fn from(h: DockerHealth) -> Self {
        HealthConfig {
            test: h.test,
            interval: h.interval,
            timeout: h.timeout,
            retries: h.retries,
            start_period: h.start_period,
            start_interval: h.start_interval,
        }
    }
}

/// The container's healthcheck wins; its unset fields take the image's.
pub(crate) fn merge_healthcheck(config: &mut ContainerConfig, image: HealthConfig) {
    let Some(own) = config.healthcheck.as_mut() else {
        config.healthcheck = Some(image);
        return;
    };
    if own.test.as_ref().is_none_or(Vec::is_empty) {
        own.test = image.test;
    }
    fill_zero(&mut own.interval, image.interval);
    fill_zero(&mut own.timeout, image.timeout);
    fill_zero(&mut own.start_period, image.start_period);
    fill_zero(&mut own.start_interval, image.start_interval);
    fill_zero(&mut own.retries, image.retries);
}

fn fill_zero(own: &mut Option<i64>, image: Option<i64>) {
    if own.unwrap_or(0) == 0 && image.is_some() {
        *own = image;
    }
}

fn is_empty_str(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(str::is_empty)
}

fn merge_env(config: &mut ContainerConfig, image_env: &[String]) {
    let own = config.env.get_or_insert_with(Vec::new);
    let own_names: Vec<String> = own.iter().map(|e| env_name(e).to_string()).collect();
    for var in image_env {
        if !own_names.iter().any(|n| n == env_name(var)) {
            own.push(var.clone());
        }
    }
    if own.is_empty() && image_env.is_empty() {
        config.env = None;
    }
}

/// The name part of `NAME=value` (the whole string when there is no `=`).
pub(crate) fn env_name(var: &str) -> &str {
    var.split_once('=').map_or(var, |(name, _)| name)
}

fn merge_command(
    config: &mut ContainerConfig,
    image_entrypoint: &Option<Vec<String>>,
    image_cmd: &Option<Vec<String>>,
) {
    if config.entrypoint.as_ref().is_some_and(|e| !e.is_empty()) {
        return;
    }
    if config.cmd.as_ref().is_none_or(Vec::is_empty) {
        config.cmd.clone_from(image_cmd);
    }
    if config.entrypoint.is_none() {
        config.entrypoint.clone_from(image_entrypoint);
    }
}

fn union_set(own: &mut Option<BTreeMap<String, Empty>>, image: &Option<Vec<String>>) {
    let Some(image) = image.as_ref().filter(|i| !i.is_empty()) else {
        return;
    };
    let own = own.get_or_insert_with(BTreeMap::new);
    for key in image {
        own.entry(key.clone()).or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::ConfigBuilder;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn image() -> oci_spec::image::Config {
        ConfigBuilder::default()
            .env(strings(&["PATH=/usr/bin:/bin", "LANG=C", "HOME=/image"]))
            .entrypoint(strings(&["/entry.sh"]))
            .cmd(strings(&["serve", "--port", "80"]))
            .working_dir("/srv")
            .user("www")
            .exposed_ports(strings(&["80/tcp"]))
            .volumes(strings(&["/data"]))
            .labels(
                [
                    ("a".to_string(), "image".to_string()),
                    ("b".to_string(), "image".to_string()),
                ]
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
            )
            .stop_signal("SIGQUIT")
            .build()
            .unwrap()
    }

    #[test]
    fn empty_container_config_takes_everything_from_the_image() {
        let mut config = ContainerConfig::default();
        merge_image_config(&mut config, &image());
        assert_eq!(config.entrypoint, Some(strings(&["/entry.sh"])));
        assert_eq!(config.cmd, Some(strings(&["serve", "--port", "80"])));
        assert_eq!(
            config.env,
            Some(strings(&["PATH=/usr/bin:/bin", "LANG=C", "HOME=/image"]))
        );
        assert_eq!(config.working_dir.as_deref(), Some("/srv"));
        assert_eq!(config.user.as_deref(), Some("www"));
        assert_eq!(config.stop_signal.as_deref(), Some("SIGQUIT"));
        let ports: Vec<_> = config.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, ["80/tcp"]);
        let volumes: Vec<_> = config.volumes.unwrap().into_keys().collect();
        assert_eq!(volumes, ["/data"]);
        assert_eq!(config.labels.unwrap().len(), 2);
    }

    #[test]
    fn container_env_overrides_by_name_and_image_vars_follow() {
        let mut config = ContainerConfig {
            env: Some(strings(&["HOME=/mine", "FOO=1", "LANG"])),
            ..Default::default()
        };
        merge_image_config(&mut config, &image());
        // LANG without a value still names LANG: the image's LANG is not added back.
        assert_eq!(
            config.env,
            Some(strings(&[
                "HOME=/mine",
                "FOO=1",
                "LANG",
                "PATH=/usr/bin:/bin"
            ]))
        );
    }

    #[test]
    fn container_cmd_keeps_image_entrypoint() {
        let mut config = ContainerConfig {
            cmd: Some(strings(&["debug"])),
            ..Default::default()
        };
        merge_image_config(&mut config, &image());
        assert_eq!(config.entrypoint, Some(strings(&["/entry.sh"])));
        assert_eq!(config.cmd, Some(strings(&["debug"])));
    }

    #[test]
    fn container_entrypoint_drops_image_cmd() {
        let mut config = ContainerConfig {
            entrypoint: Some(strings(&["/bin/sh"])),
            ..Default::default()
        };
        merge_image_config(&mut config, &image());
        assert_eq!(config.entrypoint, Some(strings(&["/bin/sh"])));
        assert_eq!(config.cmd, None);
    }

    #[test]
    fn entrypoint_reset_with_empty_string_drops_both() {
        let mut config = ContainerConfig {
            entrypoint: Some(strings(&[""])),
            cmd: Some(strings(&["ls"])),
            ..Default::default()
        };
        merge_image_config(&mut config, &image());
        assert_eq!(config.entrypoint, Some(strings(&[""])));
        assert_eq!(config.cmd, Some(strings(&["ls"])));
    }

    #[test]
    fn empty_entrypoint_list_takes_image_cmd_but_not_entrypoint() {
        // `"Entrypoint": []` is given-but-empty: Docker keeps it and fills only Cmd.
        let mut config = ContainerConfig {
            entrypoint: Some(vec![]),
            ..Default::default()
        };
        merge_image_config(&mut config, &image());
        assert_eq!(config.entrypoint, Some(vec![]));
        assert_eq!(config.cmd, Some(strings(&["serve", "--port", "80"])));
    }

    #[test]
    fn sets_are_unions_and_labels_are_overridden() {
        let mut config = ContainerConfig {
            exposed_ports: Some([("53/udp".to_string(), Empty {})].into_iter().collect()),
            volumes: Some([("/logs".to_string(), Empty {})].into_iter().collect()),
            labels: Some(
                [("a".to_string(), "mine".to_string())]
                    .into_iter()
                    .collect(),
            ),
            user: Some("1000".into()),
            working_dir: Some("/work".into()),
            stop_signal: Some("SIGTERM".into()),
            ..Default::default()
        };
        merge_image_config(&mut config, &image());
        let ports: Vec<_> = config.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp"]);
        let volumes: Vec<_> = config.volumes.unwrap().into_keys().collect();
        assert_eq!(volumes, ["/data", "/logs"]);
        let labels = config.labels.unwrap();
        assert_eq!(labels["a"], "mine");
        assert_eq!(labels["b"], "image");
        assert_eq!(config.user.as_deref(), Some("1000"));
        assert_eq!(config.working_dir.as_deref(), Some("/work"));
        assert_eq!(config.stop_signal.as_deref(), Some("SIGTERM"));
    }

    #[test]
    fn labels_are_present_even_when_nobody_sets_any() {
        let mut config = ContainerConfig::default();
        merge_image_config(&mut config, &oci_spec::image::Config::default());
        assert_eq!(config.labels, Some(BTreeMap::new()));
        assert_eq!(config.env, None);
        assert_eq!(config.exposed_ports, None);
    }

    fn docker_config() -> serde_json::Value {
        serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Cmd": ["serve"],
                "ArgsEscaped": true,
                "Healthcheck": {
                    "Test": ["CMD-SHELL", "curl -f localhost"],
                    "Interval": 30_000_000_000_i64,
                    "Timeout": 5_000_000_000_i64,
                    "Retries": 3
                },
                "Shell": ["/bin/bash", "-c"],
                "OnBuild": ["RUN make"]
            },
            "rootfs": {"type": "layers", "diff_ids": []}
        })
    }

    #[test]
    fn docker_fields_come_from_the_raw_config() {
        let mut config = ContainerConfig {
            cmd: Some(strings(&["serve"])),
            ..Default::default()
        };
        merge_docker_image_config(&mut config, &docker_config());
        let health = config.healthcheck.unwrap();
        assert_eq!(
            health.test,
            Some(strings(&["CMD-SHELL", "curl -f localhost"]))
        );
        assert_eq!(health.interval, Some(30_000_000_000));
        assert_eq!(health.retries, Some(3));
        assert_eq!(config.shell, Some(strings(&["/bin/bash", "-c"])));
        assert_eq!(config.on_build, Some(strings(&["RUN make"])));
        assert_eq!(config.args_escaped, Some(true));
    }

    #[test]
    fn container_healthcheck_with_empty_test_is_merged_field_wise() {
        let mut config = ContainerConfig {
            cmd: Some(strings(&["other"])),
            healthcheck: Some(HealthConfig {
                interval: Some(1_000_000_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        merge_docker_image_config(&mut config, &docker_config());
        let health = config.healthcheck.unwrap();
        assert_eq!(
            health.test,
            Some(strings(&["CMD-SHELL", "curl -f localhost"]))
        );
        assert_eq!(health.interval, Some(1_000_000_000));
        assert_eq!(health.timeout, Some(5_000_000_000));
        // Cmd was the container's own: the image's escaping does not apply to it.
        assert_eq!(config.args_escaped, None);
    }

    #[test]
    fn container_healthcheck_none_is_kept() {
        let mut config = ContainerConfig {
            healthcheck: Some(HealthConfig {
                test: Some(strings(&["NONE"])),
                ..Default::default()
            }),
            ..Default::default()
        };
        merge_docker_image_config(&mut config, &docker_config());
        assert_eq!(config.healthcheck.unwrap().test, Some(strings(&["NONE"])));
    }

    #[test]
    fn raw_config_without_docker_fields_changes_nothing() {
        let mut config = ContainerConfig::default();
        merge_docker_image_config(&mut config, &serde_json::json!({"config": {}}));
        merge_docker_image_config(&mut config, &serde_json::json!([]));
        assert_eq!(config, ContainerConfig::default());
    }
}

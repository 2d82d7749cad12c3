//! The types against what the docker 28 CLI really sends. The fixtures are request
//! bodies recorded from `/usr/local/bin/docker create ...` talking to a recording
//! unix-socket server (the commands are in each test).

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

use berth_client::types::containers::ContainerCreateRequest;
use berth_client::types::host_config::{MountType, RestartPolicyName};
use serde_json::Value;

/// True if every field of `ours` appears in `theirs` with the same value: what the types
/// write back is what docker sent, minus fields they do not carry.
fn is_subset(ours: &Value, theirs: &Value, path: &str) -> Result<(), String> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let Some(other) = b.get(key) else {
                    return Err(format!("{path}.{key}: not in the CLI's body"));
                };
                is_subset(value, other, &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                is_subset(x, y, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path}: ours {a}, CLI's {b}")),
    }
}

/// `HostConfig` fields the engine needs: when the CLI sends them, the types must keep
/// them (a misspelt name would be dropped silently as an unknown field).
const HOST_CONFIG_FIELDS: &[&str] = &[
    "Binds",
    "Mounts",
    "PortBindings",
    "PublishAllPorts",
    "NetworkMode",
    "RestartPolicy",
    "AutoRemove",
    "VolumesFrom",
    "CapAdd",
    "CapDrop",
    "Privileged",
    "SecurityOpt",
    "ReadonlyRootfs",
    "Tmpfs",
    "Memory",
    "MemorySwap",
    "NanoCpus",
    "CpuShares",
    "CpuQuota",
    "CpuPeriod",
    "CpusetCpus",
    "PidsLimit",
    "Ulimits",
    "ShmSize",
    "Init",
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "ExtraHosts",
    "LogConfig",
    "OomScoreAdj",
    "Sysctls",
    "Devices",
    "IpcMode",
    "PidMode",
    "UTSMode",
    "UsernsMode",
    "GroupAdd",
    "CgroupnsMode",
    "ConsoleSize",
    "MemorySwappiness",
    "CgroupParent",
    "Links",
    "MaskedPaths",
    "ReadonlyPaths",
];

fn round_trip(fixture: &str) -> ContainerCreateRequest {
    let raw: Value = serde_json::from_str(fixture).unwrap();
    let typed: ContainerCreateRequest = serde_json::from_str(fixture).unwrap();
    let back = serde_json::to_value(&typed).unwrap();
    is_subset(&back, &raw, "").unwrap();
    for field in HOST_CONFIG_FIELDS {
        let sent = &raw["HostConfig"][field];
        if !sent.is_null() {
            assert_eq!(
                &back["HostConfig"][field], sent,
                "HostConfig.{field} was not kept"
            );
        }
    }
    for (key, sent) in raw.as_object().unwrap() {
        if key != "HostConfig" && key != "NetworkingConfig" && !sent.is_null() {
            assert_eq!(&back[key], sent, "Config field {key} was not kept");
        }
    }
    let again: ContainerCreateRequest = serde_json::from_value(back).unwrap();
    assert_eq!(again, typed, "a second round trip changed the request");
    typed
}

/// `docker create -p 8080:80 -v vol:/data --restart on-failure:3 --memory 64m --cpus 1.5
/// --cap-add NET_ADMIN --tmpfs /run --ulimit nofile=100:200 -e A=b --name x busybox sh`
#[test]
fn create_with_common_flags_round_trips() {
    let req = round_trip(include_str!("fixtures/create_cli28.json"));
    let config = &req.config;
    assert_eq!(config.image.as_deref(), Some("busybox"));
    assert_eq!(config.cmd, Some(vec!["sh".to_string()]));
    assert_eq!(config.env, Some(vec!["A=b".to_string()]));
    assert!(config
        .exposed_ports
        .as_ref()
        .unwrap()
        .contains_key("80/tcp"));
    assert_eq!(config.entrypoint, None, "null entrypoint means the image's");

    let host = req.host_config.as_ref().unwrap();
    assert_eq!(host.binds, Some(vec!["vol:/data".to_string()]));
    let bindings = host.port_bindings.as_ref().unwrap()["80/tcp"]
        .as_ref()
        .unwrap();
    assert_eq!(bindings[0].host_port.as_deref(), Some("8080"));
    assert_eq!(bindings[0].host_ip.as_deref(), Some(""));
    let restart = host.restart_policy.as_ref().unwrap();
    assert_eq!(restart.name, RestartPolicyName::OnFailure);
    assert_eq!(restart.maximum_retry_count, Some(3));
    assert_eq!(host.memory, Some(64 * 1024 * 1024));
    assert_eq!(host.nano_cpus, Some(1_500_000_000));
    assert_eq!(host.cap_add, Some(vec!["CAP_NET_ADMIN".to_string()]));
    assert_eq!(host.cap_drop, None);
    assert_eq!(host.tmpfs.as_ref().unwrap()["/run"], "");
    let ulimit = &host.ulimits.as_ref().unwrap()[0];
    assert_eq!(
        (ulimit.name.as_str(), ulimit.soft, ulimit.hard),
        ("nofile", 100, 200)
    );
    assert_eq!(host.network_mode.as_deref(), Some("default"));
    assert_eq!(host.memory_swappiness, Some(-1));
    assert_eq!(host.pids_limit, Some(0));

    let endpoints = req
        .networking_config
        .as_ref()
        .unwrap()
        .endpoints_config
        .as_ref()
        .unwrap();
    assert!(endpoints.contains_key("default"));
}

/// `docker create --mount type=volume,src=v2,dst=/v2,readonly --mount
/// type=bind,src=/tmp,dst=/h --mount type=tmpfs,dst=/t,tmpfs-size=1m --init --privileged
/// --pids-limit 50 --add-host a:1.2.3.4 --dns 8.8.8.8 --sysctl net.ipv4.ip_forward=1
/// --device /dev/null:/dev/xnull --log-driver json-file --log-opt max-size=1m --user 1000
/// -w /tmp --entrypoint /bin/sh -l k=v --shm-size 8m --cap-drop ALL --security-opt
/// no-new-privileges --read-only -it busybox -c true`
#[test]
fn create_with_mounts_and_security_round_trips() {
    let req = round_trip(include_str!("fixtures/create_mounts_cli28.json"));
    let config = &req.config;
    assert_eq!(config.entrypoint, Some(vec!["/bin/sh".to_string()]));
    assert_eq!(config.tty, Some(true));
    assert_eq!(config.open_stdin, Some(true));
    assert_eq!(config.labels.as_ref().unwrap()["k"], "v");
    assert_eq!(config.user.as_deref(), Some("1000"));

    let host = req.host_config.as_ref().unwrap();
    let mounts = host.mounts.as_ref().unwrap();
    assert_eq!(mounts.len(), 3);
    assert_eq!(mounts[0].r#type, MountType::Volume);
    assert_eq!(mounts[0].read_only, Some(true));
    assert_eq!(mounts[1].r#type, MountType::Bind);
    assert_eq!(mounts[1].source.as_deref(), Some("/tmp"));
    assert_eq!(mounts[2].r#type, MountType::Tmpfs);
    assert_eq!(
        mounts[2].tmpfs_options.as_ref().unwrap().size_bytes,
        Some(1 << 20)
    );
    assert_eq!(host.init, Some(true));
    assert_eq!(host.privileged, Some(true));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.pids_limit, Some(50));
    assert_eq!(host.extra_hosts, Some(vec!["a:1.2.3.4".to_string()]));
    assert_eq!(host.dns, Some(vec!["8.8.8.8".to_string()]));
    assert_eq!(host.sysctls.as_ref().unwrap()["net.ipv4.ip_forward"], "1");
    let device = &host.devices.as_ref().unwrap()[0];
    assert_eq!(device.path_in_container, "/dev/xnull");
    assert_eq!(device.cgroup_permissions.as_deref(), Some("rwm"));
    let log = host.log_config.as_ref().unwrap();
    assert_eq!(log.r#type, "json-file");
    assert_eq!(log.config.as_ref().unwrap()["max-size"], "1m");
    assert_eq!(host.shm_size, Some(8 << 20));
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
    assert_eq!(
        host.security_opt,
        Some(vec!["no-new-privileges".to_string()])
    );
    assert_eq!(
        host.restart_policy.as_ref().unwrap().name,
        RestartPolicyName::No
    );
}

/// What the Python SDK sends: only the fields set, no `HostConfig` defaults.
#[test]
fn minimal_bodies_and_nulls_are_accepted() {
    let req: ContainerCreateRequest = serde_json::from_str(
        r#"{"Image":"busybox","Cmd":null,"HostConfig":{"NetworkMode":"none","RestartPolicy":{"Name":""},"Binds":null},"SomeFutureField":{"x":1}}"#,
    )
    .unwrap();
    let host = req.host_config.unwrap();
    assert_eq!(host.restart_policy.unwrap().name, RestartPolicyName::No);
    assert_eq!(host.binds, None);
    assert_eq!(
        serde_json::to_value(&req.config).unwrap(),
        serde_json::json!({"Image": "busybox"})
    );
}

#[test]
fn unknown_mount_types_are_refused() {
    let bad = r#"{"Image":"x","HostConfig":{"Mounts":[{"Type":"nfs","Target":"/x"}]}}"#;
    assert!(serde_json::from_str::<ContainerCreateRequest>(bad).is_err());
}

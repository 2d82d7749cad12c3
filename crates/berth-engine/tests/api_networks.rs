//! The network routes against the docker CLI and berth's client, with real bridges of a
//! test-only network instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_daemon;

use std::process::Command;

use api_daemon::{link_exists, nft_table_exists, rand_hex, random_subnet, TestDaemon};
use berth_client::types::networks::Network;
use berth_client::Error;
use sha2::{Digest, Sha256};

fn inspect(daemon: &TestDaemon, name: &str) -> Network {
    let out = daemon.docker_ok(&["network", "inspect", name]);
    let mut list: Vec<Network> = serde_json::from_str(&out).unwrap();
    assert_eq!(list.len(), 1);
    list.remove(0)
}

fn gateway_of(subnet: &str) -> String {
    let base = subnet.trim_end_matches(".0/24");
    format!("{base}.1")
}

#[test]
fn predefined_networks_are_listed_and_cannot_be_removed() {
    let daemon = TestDaemon::start();
    let bridge = daemon.create_default_bridge();
    let out = daemon.docker_ok(&[
        "network",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}}",
    ]);
    assert_eq!(
        out,
        "bridge bridge local\nhost host local\nnone null local\n"
    );
    let host = inspect(&daemon, "host");
    let expected = hex::encode(Sha256::digest(
        format!("{}/host", daemon.instance).as_bytes(),
    ));
    assert_eq!(host.id, expected);
    // Stable: the same id and creation time on every call.
    assert_eq!(inspect(&daemon, &host.id[..12]).created, host.created);
    let default = inspect(&daemon, "bridge");
    assert_eq!(default.id, bridge.id);
    assert_eq!(
        default.options.get("com.docker.network.bridge.name"),
        Some(&bridge.bridge)
    );
    assert_eq!(
        default.ipam.config.as_ref().unwrap()[0].subnet.as_deref(),
        Some(bridge.pool.subnet.to_string().as_str())
    );
    for name in ["bridge", "host", "none"] {
        let err = daemon.docker_err(&["network", "rm", name]);
        assert!(
            err.contains(&format!(
                "{name} is a pre-defined network and cannot be removed"
            )),
            "{err}"
        );
        let err = daemon.docker_err(&["network", "create", name]);
        assert!(
            err.contains("pre-defined network and cannot be created"),
            "{err}"
        );
    }
    let builtin = daemon.docker_ok(&[
        "network",
        "ls",
        "-q",
        "--no-trunc",
        "--filter",
        "type=builtin",
    ]);
    assert_eq!(builtin.lines().count(), 3);
    let custom = daemon.docker_ok(&["network", "ls", "-q", "--filter", "type=custom"]);
    assert_eq!(custom, "");
    let err = daemon.docker_err(&["network", "ls", "--filter", "type=odd"]);
    assert!(err.contains("invalid filter"), "{err}");
}

#[test]
fn create_inspect_filter_and_remove_a_bridge_network() {
    let daemon = TestDaemon::start();
    daemon.create_default_bridge();
    let name = format!("net{}", rand_hex(6));
    let subnet = random_subnet();
    let gateway = gateway_of(&subnet);
    let bridge = format!("bn{}", rand_hex(8));
    let id = daemon
        .docker_ok(&[
            "network",
            "create",
            "--subnet",
            &subnet,
            "--gateway",
            &gateway,
            "--label",
            "tier=web",
            "--attachable",
            "--internal",
            "-o",
            &format!("com.docker.network.bridge.name={bridge}"),
            &name,
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    assert!(link_exists(&bridge), "bridge {bridge} missing");
    let addr = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", &bridge])
        .output()
        .unwrap();
    let prefix = subnet.split('/').nth(1).unwrap();
    assert!(
        String::from_utf8_lossy(&addr.stdout).contains(&format!("{gateway}/{prefix}")),
        "{}",
        String::from_utf8_lossy(&addr.stdout)
    );

    let net = inspect(&daemon, &name);
    assert_eq!(net.id, id);
    assert_eq!(net.driver, "bridge");
    assert_eq!(net.scope, "local");
    assert!(net.internal && net.attachable && !net.ingress);
    assert_eq!(net.labels.get("tier").map(String::as_str), Some("web"));
    let config = &net.ipam.config.as_ref().unwrap()[0];
    assert_eq!(config.subnet.as_deref(), Some(subnet.as_str()));
    assert_eq!(config.gateway.as_deref(), Some(gateway.as_str()));
    assert_eq!(net.containers, Some(Default::default()));
    assert!(
        humantime::parse_rfc3339_weak(&net.created).is_ok(),
        "{}",
        net.created
    );

    // Without a bridge name: br-<id12>, from a pool berth-net picks or the given subnet.
    let second = format!("net{}", rand_hex(6));
    let second_id = daemon
        .docker_ok(&["network", "create", "--subnet", &random_subnet(), &second])
        .trim()
        .to_string();
    assert!(link_exists(&format!("br-{}", &second_id[..12])));

    let err = daemon.docker_err(&["network", "create", "--subnet", &random_subnet(), &name]);
    assert!(
        err.contains(&format!("network with name {name} already exists")),
        "{err}"
    );
    let err = daemon.docker_err(&["network", "create", "-d", "weave", "x"]);
    assert!(err.contains("plugin \"weave\" not found"), "{err}");
    let err = daemon.docker_err(&["network", "create", "--subnet", &subnet, "overlapping"]);
    assert!(err.contains("Pool overlaps"), "{err}");

    let names = |filter: &str| {
        let mut v: Vec<String> = daemon
            .docker_ok(&["network", "ls", "--format", "{{.Name}}", "--filter", filter])
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("label=tier=web"), vec![name.clone()]);
    assert_eq!(
        names(&format!("name={}", &second[3..])),
        vec![second.clone()]
    );
    assert_eq!(names(&format!("id={}", &id[..10])), vec![name.clone()]);
    let mut both = vec![name.clone(), second.clone()];
    both.sort();
    assert_eq!(names("dangling=true"), both);
    assert_eq!(names("driver=null"), vec!["none".to_string()]);

    daemon.docker_ok(&["network", "rm", &name, &second]);
    assert!(!link_exists(&bridge), "bridge {bridge} left behind");
    assert!(!link_exists(&format!("br-{}", &second_id[..12])));
    let err = daemon.docker_err(&["network", "inspect", &name]);
    assert!(err.contains(&format!("network {name} not found")), "{err}");
    assert!(!daemon
        .data_root()
        .join(format!("network/meta/{id}.json"))
        .exists());
}

#[test]
fn a_network_with_endpoints_is_kept_and_shows_them() {
    let daemon = TestDaemon::start();
    let name = format!("ep{}", rand_hex(6));
    daemon.docker_ok(&["network", "create", "--subnet", &random_subnet(), &name]);
    let ns = format!("bat{}", rand_hex(8));
    assert!(Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap()
        .success());
    let container_id = rand_hex(64);
    let endpoint = daemon
        .rt
        .block_on(daemon.engine.networks().connect(berth_net::Connect {
            container_id: container_id.clone(),
            name: "web".into(),
            network: name.clone(),
            netns: format!("/run/netns/{ns}").into(),
            ifname: "eth0".into(),
            aliases: vec![],
            ip: None,
            ports: vec![],
            default_route: true,
        }))
        .unwrap();

    let net = inspect(&daemon, &name);
    let attached = &net.containers.as_ref().unwrap()[&container_id];
    assert_eq!(attached.name, "web");
    assert_eq!(attached.ipv4_address, format!("{}/24", endpoint.ip));
    assert_eq!(attached.mac_address, endpoint.mac);
    assert_eq!(attached.endpoint_id.len(), 64);
    let err = daemon.docker_err(&["network", "rm", &name]);
    assert!(
        err.contains(&format!(
            "error while removing network: network {name} id {} has active endpoints",
            net.id
        )),
        "{err}"
    );
    let pruned = daemon.docker_ok(&["network", "prune", "-f"]);
    assert!(!pruned.contains(&name), "{pruned}");
    let in_use = daemon.docker_ok(&[
        "network",
        "ls",
        "--format",
        "{{.Name}}",
        "--filter",
        "dangling=false",
    ]);
    assert!(in_use.lines().any(|l| l == name), "{in_use}");

    daemon
        .rt
        .block_on(daemon.engine.networks().disconnect(&container_id, &name))
        .unwrap();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    daemon.docker_ok(&["network", "rm", &name]);
}

#[test]
fn prune_removes_unused_custom_networks_by_label_and_age() {
    let daemon = TestDaemon::start();
    daemon.create_default_bridge();
    let keep = format!("keep{}", rand_hex(6));
    let drop = format!("drop{}", rand_hex(6));
    daemon.docker_ok(&[
        "network",
        "create",
        "--subnet",
        &random_subnet(),
        "--label",
        "keep",
        &keep,
    ]);
    daemon.docker_ok(&["network", "create", "--subnet", &random_subnet(), &drop]);
    // Nothing is older than an hour.
    let out = daemon.docker_ok(&["network", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(out.trim(), "");
    let out = daemon.docker_ok(&["network", "prune", "-f", "--filter", "label!=keep"]);
    assert_eq!(out, format!("Deleted Networks:\n{drop}\n\n"));
    let left = daemon.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(left, format!("bridge\nhost\n{keep}\nnone\n"));
    let pruned = daemon
        .rt
        .block_on(daemon.client().list_networks(&Default::default()))
        .unwrap();
    assert_eq!(pruned.len(), 4);
    daemon.docker_ok(&["network", "prune", "-f"]);
    let left = daemon.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(left, "bridge\nhost\nnone\n");
}

#[test]
fn connect_names_missing_containers_and_networks() {
    let daemon = TestDaemon::start();
    let name = format!("cn{}", rand_hex(6));
    daemon.docker_ok(&["network", "create", "--subnet", &random_subnet(), &name]);
    let client = daemon.client();
    let err = daemon
        .rt
        .block_on(client.connect_network(&name, "ghost", None))
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { message } if message.contains("No such container: ghost")),
        "{err}"
    );
    let err = daemon.docker_err(&["network", "disconnect", "nonet", "ghost"]);
    assert!(err.contains("network nonet not found"), "{err}");
    daemon.docker_ok(&["network", "rm", &name]);
}

#[test]
fn events_tell_of_creation_and_removal_and_cleanup_leaves_nothing() {
    let daemon = TestDaemon::start();
    let since = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    let name = format!("evt{}", rand_hex(6));
    let id = daemon
        .docker_ok(&["network", "create", "--subnet", &random_subnet(), &name])
        .trim()
        .to_string();
    let bridge = format!("br-{}", &id[..12]);
    daemon.docker_ok(&["network", "rm", &name]);
    let until = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1
    );
    let out = daemon.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        &format!("network={name}"),
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.type}}",
    ]);
    assert_eq!(
        out,
        format!("network create {id} bridge\nnetwork destroy {id} bridge\n")
    );

    // A network left behind on purpose: dropping the daemon must remove it and the table.
    daemon.docker_ok(&["network", "create", "--subnet", &random_subnet(), &name]);
    let id = daemon
        .docker_ok(&["network", "inspect", "-f", "{{.Id}}", &name])
        .trim()
        .to_string();
    let bridge2 = format!("br-{}", &id[..12]);
    let instance = daemon.instance.clone();
    assert!(link_exists(&bridge2));
    assert!(nft_table_exists(&instance));
    drop(daemon);
    assert!(!link_exists(&bridge) && !link_exists(&bridge2));
    assert!(
        !nft_table_exists(&instance),
        "nft table {instance} left behind"
    );
}

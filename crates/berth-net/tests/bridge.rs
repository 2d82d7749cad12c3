//! Bridge networks: containers on one bridge reach each other; lo-only `none` namespaces;
//! removal leaves nothing behind.
#![allow(clippy::unwrap_used)]

mod common;

use berth_net::{Connect, CreateNetwork, NetError};
use common::*;

fn connect(id: &str, name: &str, network: &str, ns: &Netns) -> Connect {
    Connect {
        container_id: id.to_string(),
        name: name.to_string(),
        network: network.to_string(),
        netns: ns.path(),
        ifname: "eth0".to_string(),
        aliases: vec![],
        ip: None,
        ports: vec![],
        default_route: true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_containers_on_one_bridge_ping_each_other() {
    let env = Env::new("");
    let mgr = env.manager().await;
    let subnet = test_subnet();
    let net_id = rand_hex(64);
    let net = mgr
        .create_network(CreateNetwork {
            id: net_id.clone(),
            name: format!("n-{}", rand_hex(6)),
            subnet: Some(subnet),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(net.bridge, format!("br-{}", &net_id[..12]));
    let bridge_addr = sh_ok(&format!("ip -4 -o addr show dev {}", net.bridge));
    assert!(
        bridge_addr.contains(&format!("{}/24", net.pool.gateway)),
        "{bridge_addr}"
    );

    let (a, b) = (Netns::new(), Netns::new());
    let ea = mgr
        .connect(connect(&rand_hex(64), "a", &net_id, &a))
        .await
        .unwrap();
    let eb = mgr
        .connect(connect(&rand_hex(64), "b", &net_id, &b))
        .await
        .unwrap();
    assert_ne!(ea.ip, eb.ip);
    assert!(subnet.contains(&ea.ip) && subnet.contains(&eb.ip));

    // Inside: eth0 with the docker-style MAC and the address, lo up, default via the gateway.
    let mac = a.exec_ok("cat /sys/class/net/eth0/address");
    assert_eq!(mac.trim(), ea.mac);
    assert!(ea.mac.starts_with("02:42:"));
    assert!(a
        .exec_ok("ip -4 -o addr show dev eth0")
        .contains(&format!("{}/24", ea.ip)));
    assert!(a
        .exec_ok("ip route")
        .contains(&format!("default via {}", net.pool.gateway)));
    a.exec_ok("busybox ping -c1 -W2 127.0.0.1");

    let out = a.exec(&format!("busybox ping -c2 -W2 {}", eb.ip));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    b.exec_ok(&format!("busybox ping -c1 -W2 {}", ea.ip));
    b.exec_ok(&format!("busybox ping -c1 -W2 {}", net.pool.gateway));
}

#[tokio::test(flavor = "multi_thread")]
async fn none_mode_gets_loopback_only() {
    let ns = Netns::new();
    assert!(
        !ns.exec("busybox ping -c1 -W1 127.0.0.1").status.success(),
        "lo starts down"
    );
    berth_net::setup_loopback(&ns.path()).await.unwrap();
    ns.exec_ok("busybox ping -c1 -W2 127.0.0.1");
    let links = ns.exec_ok("ip -o link show");
    assert_eq!(links.lines().count(), 1, "{links}");
}

#[tokio::test(flavor = "multi_thread")]
async fn removal_leaves_no_bridge_veth_rule_or_allocation() {
    let env = Env::new("");
    let mgr = env.manager().await;
    let net_id = rand_hex(64);
    let net = mgr
        .create_network(CreateNetwork {
            id: net_id.clone(),
            name: format!("n-{}", rand_hex(6)),
            subnet: Some(test_subnet()),
            ..Default::default()
        })
        .await
        .unwrap();
    let ns = Netns::new();
    let cid = rand_hex(64);
    let mut req = connect(&cid, "c", &net_id, &ns);
    req.ports = vec![format!("{}:80", free_port()).parse().unwrap()];
    let ep = mgr.connect(req).await.unwrap();
    assert!(env.rules().contains(&format!("dnat to {}:80", ep.ip)));
    assert_eq!(env.tagged_links().len(), 2, "bridge and host veth");

    // A network with a container cannot go.
    let err = mgr.remove_network(&net_id).await.unwrap_err();
    assert!(matches!(err, NetError::NetworkInUse { .. }), "{err}");

    mgr.disconnect(&cid, &net_id).await.unwrap();
    assert!(!env.rules().contains("dnat"), "{}", env.rules());
    assert!(
        ns.exec_ok("ip -o link show").lines().count() == 1,
        "eth0 gone from the container"
    );
    assert_eq!(env.tagged_links(), vec![net.bridge.clone()]);
    // The address is free again, in memory and on disk.
    let reopened = env.manager().await;
    assert!(reopened
        .network(&net_id)
        .await
        .unwrap()
        .pool
        .allocated
        .is_empty());

    mgr.remove_network(&net_id).await.unwrap();
    assert!(env.tagged_links().is_empty());
    assert!(!env.rules().contains("masquerade"), "{}", env.rules());
    assert!(!sh(&format!("ip link show {}", net.bridge)).status.success());
    assert!(matches!(
        mgr.network(&net_id).await,
        Err(NetError::NetworkNotFound(_))
    ));
    assert!(env.manager().await.networks().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn subnet_overlapping_a_host_route_or_network_is_refused() {
    let env = Env::new("");
    let mgr = env.manager().await;
    let outside = Outside::new();
    let err = mgr
        .create_network(CreateNetwork {
            id: rand_hex(64),
            name: "clash".into(),
            subnet: Some(format!("{}/24", outside.host_ip).parse().unwrap()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Pool overlaps with other one on this address space"),
        "{err}"
    );
    let subnet = test_subnet();
    let first = CreateNetwork {
        id: rand_hex(64),
        name: format!("n-{}", rand_hex(6)),
        subnet: Some(subnet),
        ..Default::default()
    };
    mgr.create_network(first.clone()).await.unwrap();
    let err = mgr
        .create_network(CreateNetwork {
            id: rand_hex(64),
            name: format!("n-{}", rand_hex(6)),
            subnet: Some(subnet),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::PoolOverlap { .. }), "{err}");
    let err = mgr.create_network(first).await.unwrap_err();
    assert!(matches!(err, NetError::NetworkExists(_)), "{err}");
}

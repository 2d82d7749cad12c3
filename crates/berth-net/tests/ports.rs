//! Published ports and outbound NAT, observed with real traffic between namespaces.
#![allow(clippy::unwrap_used)]

mod common;

use berth_net::{CreateNetwork, NetError, NetworkManager};
use common::*;

async fn network(mgr: &NetworkManager) -> String {
    let id = rand_hex(64);
    mgr.create_network(CreateNetwork {
        id: id.clone(),
        name: format!("n-{}", rand_hex(6)),
        subnet: Some(test_subnet()),
        ..Default::default()
    })
    .await
    .unwrap();
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn published_port_reaches_the_container_from_another_host_and_from_localhost() {
    let env = Env::new("");
    let mgr = env.manager().await;
    let net = network(&mgr).await;
    let container = Netns::new();
    let host_port = free_port();
    mgr.connect(connect(
        &rand_hex(64),
        &net,
        &container,
        &[format!("{host_port}:8000")],
    ))
    .await
    .unwrap();
    let (_httpd, _root) = httpd(&container, 8000, "hello from the container");

    // From the host's own localhost (OUTPUT DNAT + route_localnet + masquerade).
    let out = retry(&format!(
        "curl -s --max-time 2 http://127.0.0.1:{host_port}/"
    ));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from the container"
    );

    // From another machine, to one of the host's addresses (PREROUTING DNAT), and from the
    // host itself to that address (OUTPUT DNAT).
    let outside = Outside::new();
    let out = sh(&format!(
        "curl -s --max-time 3 http://{}:{host_port}/",
        outside.host_ip
    ));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from the container"
    );
    let out = outside.ns.exec(&format!(
        "curl -s --max-time 3 http://{}:{host_port}/",
        outside.host_ip
    ));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from the container"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn port_bound_to_one_address_is_only_published_there() {
    let env = Env::new("");
    let mgr = env.manager().await;
    let net = network(&mgr).await;
    let container = Netns::new();
    let host_port = free_port();
    mgr.connect(connect(
        &rand_hex(64),
        &net,
        &container,
        &[format!("127.0.0.1:{host_port}:8000")],
    ))
    .await
    .unwrap();
    let (_httpd, _root) = httpd(&container, 8000, "local only");
    let out = retry(&format!(
        "curl -s --max-time 2 http://127.0.0.1:{host_port}/"
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "local only");
    let outside = Outside::new();
    let out = outside.ns.exec(&format!(
        "curl -s --max-time 2 http://{}:{host_port}/",
        outside.host_ip
    ));
    assert!(
        !out.status.success(),
        "reachable from outside: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn same_host_port_twice_is_already_allocated() {
    let env = Env::new("");
    let mgr = env.manager().await;
    let net = network(&mgr).await;
    let (a, b) = (Netns::new(), Netns::new());
    let host_port = free_port();
    mgr.connect(connect(
        &rand_hex(64),
        &net,
        &a,
        &[format!("{host_port}:80")],
    ))
    .await
    .unwrap();
    let second = rand_hex(64);
    let err = mgr
        .connect(connect(&second, &net, &b, &[format!("{host_port}:81")]))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Bind for 0.0.0.0:{host_port} failed: port is already allocated")
    );
    // The refused container got nothing: no interface, no address, no rule.
    assert_eq!(b.exec_ok("ip -o link show").lines().count(), 1);
    let state = mgr.network(&net).await.unwrap();
    assert_eq!(state.pool.allocated.len(), 1);
    assert!(!state.endpoints.contains_key(&second));
    assert_eq!(
        env.rules().matches("dnat to").count(),
        2,
        "pre and out of the first only"
    );

    // UDP on the same number is another port; -P style (host port 0) picks a free one.
    let ep = mgr
        .connect(connect(
            &second,
            &net,
            &b,
            &[format!("{host_port}:81/udp"), "80".to_string()],
        ))
        .await
        .unwrap();
    assert_eq!(ep.ports[0].host_port, host_port);
    assert!(berth_net::ports::EPHEMERAL_PORTS.contains(&ep.ports[1].host_port));

    // A port some host process listens on is refused too.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let busy = listener.local_addr().unwrap().port();
    let err = mgr
        .connect(connect(
            &rand_hex(64),
            &net,
            &Netns::new(),
            &[format!("{busy}:80")],
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::PortInUse { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_traffic_is_masqueraded_to_reach_what_the_host_reaches() {
    let env = Env::new("");
    let mgr = env.manager().await;
    let net = network(&mgr).await;
    let container = Netns::new();
    mgr.connect(connect(&rand_hex(64), &net, &container, &[]))
        .await
        .unwrap();
    // The outside host knows only its /30: it can answer the container only if the container's
    // packets arrive with the host's address as source, i.e. if masquerade works.
    let outside = Outside::new();
    let routes = outside.ns.exec_ok("ip route");
    assert_eq!(routes.lines().count(), 1, "{routes}");
    let (_httpd, _root) = httpd(&outside.ns, 8080, "outside world");
    let out = container.exec(&format!("curl -s --max-time 3 http://{}:8080/", outside.ip));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "outside world");
    let rules = sh_ok(&format!("nft list chain ip {} postrouting", env.instance));
    let masq = rules.lines().find(|l| l.contains("oifname !=")).unwrap();
    let packets: u64 = masq
        .split("packets ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no counter in {masq}"));
    assert!(packets > 0, "masquerade rule not hit: {masq}");
}

#[tokio::test(flavor = "multi_thread")]
async fn udp_port_is_published() {
    let env = Env::new("");
    let mgr = env.manager().await;
    let net = network(&mgr).await;
    let container = Netns::new();
    let host_port = free_port();
    mgr.connect(connect(
        &rand_hex(64),
        &net,
        &container,
        &[format!("{host_port}:5000/udp")],
    ))
    .await
    .unwrap();
    // A UDP echo server that answers "echo:" + the datagram.
    let _echo = container.spawn(
        "/usr/bin/python3 -c 'import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
         s.bind((\"0.0.0.0\",5000))\nwhile True:\n d,a=s.recvfrom(100)\n s.sendto(b\"echo:\"+d,a)'",
    );
    let outside = Outside::new();
    let probe = format!(
        "/usr/bin/python3 -c 'import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
         s.settimeout(1)\nfor i in range(20):\n s.sendto(b\"ping\",(\"{}\",{host_port}))\n try:\n  print(s.recv(100).decode()); break\n except OSError: pass'",
        outside.host_ip
    );
    let out = outside.ns.exec(&probe);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "echo:ping",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

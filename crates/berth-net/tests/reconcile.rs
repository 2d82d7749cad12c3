//! Daemon restart: state survives, leaked things are removed, missing things come back.
#![allow(clippy::unwrap_used)]

mod common;

use berth_net::CreateNetwork;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_removes_leaks_and_restores_what_the_state_wants() {
    let env = Env::new("");
    let net_id = rand_hex(64);
    let (live, doomed, cut) = (Netns::new(), Netns::new(), Netns::new());
    let (live_id, doomed_id, cut_id) = (rand_hex(64), rand_hex(64), rand_hex(64));
    let cut_port = free_port();
    let host_port = free_port();
    let (live_ep, doomed_ep, cut_ep) = {
        let mgr = env.manager().await;
        mgr.create_network(CreateNetwork {
            id: net_id.clone(),
            name: format!("n-{}", rand_hex(6)),
            subnet: Some(test_subnet()),
            ..Default::default()
        })
        .await
        .unwrap();
        let live_ep = mgr
            .connect(connect(
                &live_id,
                &net_id,
                &live,
                &[format!("{host_port}:8000")],
            ))
            .await
            .unwrap();
        let doomed_ep = mgr
            .connect(connect(&doomed_id, &net_id, &doomed, &[]))
            .await
            .unwrap();
        let cut_ep = mgr
            .connect(connect(
                &cut_id,
                &net_id,
                &cut,
                &[format!("{cut_port}:8000")],
            ))
            .await
            .unwrap();
        (live_ep, doomed_ep, cut_ep)
        // The manager is dropped here, as in a daemon crash.
    };
    let (_httpd, _root) = httpd(&live, 8000, "still here");
    let (_httpd2, _root2) = httpd(&cut, 8000, "cut and mended");

    // Leaks and damage while no daemon runs.
    let leaked_bridge = format!("bl{}", rand_hex(8));
    sh_ok(&format!(
        "ip link add {leaked_bridge} type bridge && ip link set {leaked_bridge} alias {}",
        env.instance
    ));
    let leaked_veth = format!("vl{}", rand_hex(8));
    sh_ok(&format!(
        "ip link add {leaked_veth} type veth peer name {leaked_veth}p && ip link set {leaked_veth} alias {}",
        env.instance
    ));
    sh_ok(&format!(
        "nft add rule ip {} prerouting tcp dport 1 dnat to 10.9.9.9:1 comment \\\"ctr:deadbeef0000:deadbeef0000:leak\\\"",
        env.instance
    ));
    let out_chain = sh_ok(&format!("nft -a list chain ip {} output", env.instance));
    let handle = out_chain
        .lines()
        .find(|l| l.contains("dnat to"))
        .and_then(|l| l.rsplit("handle ").next())
        .unwrap()
        .trim()
        .to_string();
    sh_ok(&format!(
        "nft delete rule ip {} output handle {handle}",
        env.instance
    ));
    assert!(!sh(&format!(
        "curl -s --max-time 1 http://127.0.0.1:{host_port}/"
    ))
    .status
    .success());
    sh_ok(&format!("ip link del {}", cut_ep.host_veth));
    drop(doomed);

    let mgr = env.manager().await;
    let report = mgr.reconcile().await.unwrap();
    let mut deleted = report.deleted_links.clone();
    deleted.sort();
    let mut expected = vec![leaked_bridge.clone(), leaked_veth.clone()];
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(report.deleted_rules, 1, "{report:?}");
    assert_eq!(report.added_rules, 1, "{report:?}");
    assert_eq!(report.recreated_endpoints, vec![cut_id.clone()]);
    assert_eq!(report.dropped_endpoints, vec![doomed_id.clone()]);

    assert!(!sh(&format!("ip link show {leaked_bridge}"))
        .status
        .success());
    assert!(!env.rules().contains("deadbeef"));
    let out = retry(&format!(
        "curl -s --max-time 2 http://127.0.0.1:{host_port}/"
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "still here");
    assert_eq!(
        cut.exec_ok("cat /sys/class/net/eth0/address").trim(),
        cut_ep.mac
    );
    let out = retry(&format!(
        "curl -s --max-time 2 http://127.0.0.1:{cut_port}/"
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cut and mended");
    assert_eq!(
        env.rules().matches("dnat to").count(),
        4,
        "no duplicates: {}",
        env.rules()
    );

    // Allocations survived: the live container keeps its address, the doomed one's is free.
    let state = mgr.network(&net_id).await.unwrap();
    assert_eq!(
        state.pool.allocated.iter().copied().collect::<Vec<_>>(),
        vec![live_ep.ip, cut_ep.ip]
    );
    let newcomer = Netns::new();
    let ep = mgr
        .connect(connect(&rand_hex(64), &net_id, &newcomer, &[]))
        .await
        .unwrap();
    assert_eq!(
        ep.ip, doomed_ep.ip,
        "the released address is reused, the live one is not"
    );
    newcomer.exec_ok(&format!("busybox ping -c1 -W2 {}", live_ep.ip));

    // A second reconcile has nothing to do.
    let again = mgr.reconcile().await.unwrap();
    assert_eq!(again, berth_net::ReconcileReport::default());
}

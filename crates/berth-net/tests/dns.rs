//! Embedded DNS: containers resolve each other's names and aliases; other names go upstream.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use berth_net::{Connect, CreateNetwork};
use common::*;
use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const UPSTREAM_NAME: &str = "elsewhere.example.";
const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(10, 250, 0, 7);

/// A fake upstream resolver: knows only UPSTREAM_NAME, counts the queries it gets.
async fn fake_upstream(addr: Ipv4Addr) -> (tokio::task::JoinHandle<()>, Arc<AtomicUsize>) {
    let sock = tokio::net::UdpSocket::bind((addr, 53)).await.unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let (n, peer) = sock.recv_from(&mut buf).await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            let req = Message::from_vec(&buf[..n]).unwrap();
            let q = req.queries()[0].clone();
            let mut reply = Message::new();
            reply
                .set_id(req.id())
                .set_message_type(MessageType::Response)
                .add_query(q.clone());
            if q.name().to_ascii().eq_ignore_ascii_case(UPSTREAM_NAME) {
                if q.query_type() == RecordType::A {
                    reply.add_answer(Record::from_rdata(
                        q.name().clone(),
                        60,
                        RData::A(A(UPSTREAM_ANSWER)),
                    ));
                }
            } else {
                reply.set_response_code(ResponseCode::NXDomain);
            }
            sock.send_to(&reply.to_vec().unwrap(), peer).await.unwrap();
        }
    });
    (task, hits)
}

fn connect(name: &str, aliases: &[&str], network: &str, ns: &Netns) -> Connect {
    Connect {
        container_id: rand_hex(64),
        name: name.to_string(),
        network: network.to_string(),
        netns: ns.path(),
        ifname: "eth0".to_string(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ip: None,
        ports: vec![],
        default_route: true,
    }
}

/// The addresses busybox nslookup printed for the answer (after the server's own lines).
/// Panics when the server did not answer at all: a timeout must not pass for "not found".
fn nslookup(ns: &Netns, name: &str, server: Ipv4Addr) -> Vec<Ipv4Addr> {
    let out = ns.exec(&format!(
        "busybox nslookup -timeout=3 -type=a {name} {server}"
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("timed out"), "no answer for {name}: {text}");
    text.split("Name:")
        .skip(1)
        .flat_map(|block| {
            block
                .lines()
                .filter_map(|l| l.strip_prefix("Address:")?.trim().parse().ok())
        })
        .collect()
}

/// True when the server answered "no such name".
fn nxdomain(ns: &Netns, name: &str, server: Ipv4Addr) -> bool {
    let out = ns.exec(&format!(
        "busybox nslookup -timeout=3 -type=a {name} {server}"
    ));
    String::from_utf8_lossy(&out.stdout).contains("NXDOMAIN")
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_resolve_names_and_aliases_and_the_rest_is_forwarded() {
    let outside = Outside::new();
    let (upstream, hits) = fake_upstream(outside.host_ip).await;
    let env = Env::new(&format!("nameserver {}\n", outside.host_ip));
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
    let gw = net.pool.gateway;
    assert_eq!(
        mgr.resolv_conf(&net_id).await.unwrap(),
        format!("nameserver {gw}\n")
    );

    let (a, b) = (Netns::new(), Netns::new());
    let web = mgr
        .connect(connect("web", &["api"], &net_id, &a))
        .await
        .unwrap();
    let db = mgr.connect(connect("db", &[], &net_id, &b)).await.unwrap();

    assert_eq!(nslookup(&b, "web", gw), vec![web.ip]);
    assert_eq!(nslookup(&b, "API", gw), vec![web.ip]);
    assert_eq!(nslookup(&a, "db", gw), vec![db.ip]);
    assert_eq!(nslookup(&a, &db.container_id[..12], gw), vec![db.ip]);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "local names must not go upstream"
    );

    // Everything else is the host resolver's business.
    assert_eq!(nslookup(&a, UPSTREAM_NAME, gw), vec![UPSTREAM_ANSWER]);
    assert!(hits.load(Ordering::SeqCst) > 0);
    assert!(nxdomain(&a, "nosuch.example", gw));

    // TCP works too (large answers, resolvers falling back).
    let mut q = Message::new();
    q.set_id(7).set_recursion_desired(true);
    q.add_query(Query::query(
        Name::from_ascii("db.").unwrap(),
        RecordType::A,
    ));
    let bytes = q.to_vec().unwrap();
    let mut stream = tokio::net::TcpStream::connect(SocketAddr::from((gw, 53)))
        .await
        .unwrap();
    stream.write_u16(bytes.len() as u16).await.unwrap();
    stream.write_all(&bytes).await.unwrap();
    let len = stream.read_u16().await.unwrap();
    let mut reply = vec![0u8; len as usize];
    stream.read_exact(&mut reply).await.unwrap();
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.id(), 7);
    assert_eq!(reply.answers()[0].data(), &RData::A(A(db.ip)));

    // A container that leaves is no longer resolvable.
    mgr.disconnect(&web.container_id, &net_id).await.unwrap();
    assert!(nxdomain(&b, "web", gw));

    // Names are per network: a container on another network does not see `db`.
    let other = mgr
        .create_network(CreateNetwork {
            id: rand_hex(64),
            name: format!("n-{}", rand_hex(6)),
            subnet: Some(test_subnet()),
            ..Default::default()
        })
        .await
        .unwrap();
    let c = Netns::new();
    mgr.connect(connect("lonely", &[], &other.id, &c))
        .await
        .unwrap();
    assert!(nxdomain(&c, "db", other.pool.gateway));
    upstream.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn default_bridge_has_no_embedded_dns_and_gets_host_resolvers() {
    let env = Env::new("nameserver 127.0.0.53\nnameserver 10.251.0.1\nsearch corp.example\n");
    let mgr = env.manager().await;
    let net = mgr
        .create_network(CreateNetwork {
            id: rand_hex(64),
            name: "bridge".into(),
            subnet: Some(test_subnet()),
            bridge: Some(format!("bb{}", rand_hex(8))),
            default_bridge: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        mgr.resolv_conf("bridge").await.unwrap(),
        "nameserver 10.251.0.1\nsearch corp.example\n"
    );
    // Nothing listens on the gateway's port 53.
    assert!(std::net::UdpSocket::bind((net.pool.gateway, 53)).is_ok());
}

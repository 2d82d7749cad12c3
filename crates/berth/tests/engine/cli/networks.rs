//! Networks: user bridges with their DNS, host/none/container modes, published ports and
//! the way out to the host.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;
use std::time::Duration;

use berth_testkit::free_port;

use crate::engine::scope::random_subnet;
use crate::engine::{scope, wait_for, Scope, CONFIGURED, IMAGE};

/// busybox httpd serving the configured image's /www in the foreground.
const HTTPD: &[&str] = &["httpd", "-f", "-p", "80", "-h", "/www"];

/// The host's address on its default route's interface: not loopback, not a bridge.
fn host_address() -> Option<Ipv4Addr> {
    let route = Command::new("ip")
        .args(["-4", "route", "show", "default"])
        .output()
        .ok()?;
    let route = String::from_utf8_lossy(&route.stdout);
    let dev = route
        .split_whitespace()
        .skip_while(|w| *w != "dev")
        .nth(1)?
        .to_string();
    let addr = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", &dev])
        .output()
        .ok()?;
    let addr = String::from_utf8_lossy(&addr.stdout);
    let cidr = addr
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    cidr.split('/').next()?.parse().ok()
}

/// The default route's interface name on the host.
fn host_default_interface() -> String {
    let route = Command::new("ip")
        .args(["-4", "route", "show", "default"])
        .output()
        .unwrap();
    let route = String::from_utf8_lossy(&route.stdout).into_owned();
    route
        .split_whitespace()
        .skip_while(|w| *w != "dev")
        .nth(1)
        .expect("a default route")
        .to_string()
}

/// GETs `url` with curl until it answers (a published port may take a moment); the body.
fn fetch(url: &str) -> String {
    wait_for(&format!("{url} to answer"), Duration::from_secs(20), || {
        let out = Command::new("curl")
            .args(["-sf", "--max-time", "3", url])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    })
}

/// `docker run -d --name NAME [bridge] [options] IMAGE CMD...`.
fn run_detached(t: &Scope, name: &str, options: &[&str], image: &str, cmd: &[&str]) {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend(options);
    args.push(image);
    args.extend(cmd);
    t.docker_ok(&args);
}

#[test]
fn network_create_ls_inspect_rm_with_subnet_and_gateway() {
    let t = scope();
    let net = t.name("net");
    let subnet = random_subnet();
    let prefix = subnet.trim_end_matches("0/24");
    let gateway = format!("{prefix}254");
    let label = t.label();
    let id = t.docker_ok(&[
        "network",
        "create",
        "--subnet",
        &subnet,
        "--gateway",
        &gateway,
        "--label",
        &label,
        &net,
    ]);
    let id = id.trim();
    let listed = t.docker_ok(&[
        "network",
        "ls",
        "--filter",
        &format!("label={label}"),
        "--format",
        "{{.Name}} {{.Driver}}",
    ]);
    assert_eq!(listed.trim(), format!("{net} bridge"));
    let info: serde_json::Value =
        serde_json::from_str(&t.docker_ok(&["network", "inspect", &net])).unwrap();
    let info = &info[0];
    assert_eq!(info["Id"], id);
    assert_eq!(info["Driver"], "bridge");
    assert_eq!(info["Scope"], "local");
    assert_eq!(info["IPAM"]["Config"][0]["Subnet"], subnet);
    assert_eq!(info["IPAM"]["Config"][0]["Gateway"], gateway);

    let member = t.name("member");
    run_detached(&t, &member, &["--network", &net], IMAGE, &["sleep", "1000"]);
    let route = t.docker_ok(&["exec", &member, "ip", "-4", "route"]);
    assert!(
        route.contains(&format!("default via {gateway}")),
        "route in the container:\n{route}"
    );
    let ip = t.inspect(
        &member,
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
    );
    assert!(ip.starts_with(prefix), "{ip} outside {subnet}");
    let containers = t.docker_ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.Name}}{{end}}",
        &net,
    ]);
    assert_eq!(containers.trim(), member);

    let err = t.docker_fails(&["network", "rm", &net]);
    assert!(
        err.contains("active endpoints"),
        "rm of a network in use: {err}"
    );
    t.docker_ok(&["rm", "-f", &member]);
    t.docker_ok(&["network", "rm", &net]);
    let err = t.docker_fails(&["network", "inspect", &net]);
    assert!(
        err.contains("not found") || err.contains("No such network"),
        "{err}"
    );
}

#[test]
fn network_connect_disconnect_and_prune() {
    let t = scope();
    let (a, b) = (t.name("neta"), t.name("netb"));
    let label = t.label();
    for net in [&a, &b] {
        t.docker_ok(&[
            "network",
            "create",
            "--subnet",
            &random_subnet(),
            "--label",
            &label,
            net,
        ]);
    }
    let c = t.name("hop");
    run_detached(&t, &c, &["--network", &a], IMAGE, &["sleep", "1000"]);
    t.docker_ok(&["network", "connect", &b, &c]);
    let nets = t.inspect(
        &c,
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
    );
    let mut nets: Vec<&str> = nets.split_whitespace().collect();
    nets.sort();
    assert_eq!(nets, [a.as_str(), b.as_str()]);
    let links = t.docker_ok(&["exec", &c, "sh", "-c", "ip -o -4 addr | grep -c eth"]);
    assert_eq!(links.trim(), "2", "interfaces after connect");
    t.docker_ok(&["network", "disconnect", &a, &c]);
    assert_eq!(
        t.inspect(
            &c,
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}"
        ),
        b
    );
    let links = t.docker_ok(&["exec", &c, "sh", "-c", "ip -o -4 addr | grep -c eth"]);
    assert_eq!(links.trim(), "1", "interfaces after disconnect");

    let out = t.docker_ok(&[
        "network",
        "prune",
        "-f",
        "--filter",
        &format!("label={label}"),
    ]);
    assert!(
        out.contains(&a) && !out.contains(&b),
        "prune removes only the unused network:\n{out}"
    );
    t.docker_ok(&["network", "inspect", &b]);
}

#[test]
fn containers_on_a_user_network_resolve_names_and_aliases() {
    let t = scope();
    let net = t.name("dns");
    t.docker_ok(&["network", "create", "--subnet", &random_subnet(), &net]);
    let server = t.name("server");
    run_detached(
        &t,
        &server,
        &["--network", &net, "--network-alias", "svc-alias"],
        CONFIGURED,
        HTTPD,
    );
    let ip = t.inspect(
        &server,
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
    );
    let script = format!(
        "ping -c1 -W3 {server} >/dev/null && echo ping-ok; \
         nslookup svc-alias | grep -A1 'Name:' | tail -1; \
         wget -qO- http://svc-alias/"
    );
    let out = t.docker_ok(&["run", "--rm", "--network", &net, IMAGE, "sh", "-c", &script]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"ping-ok"), "{out}");
    assert!(
        lines.get(1).is_some_and(|l| l.contains(&ip)),
        "alias resolves to {ip}:\n{out}"
    );
    assert_eq!(
        lines.get(2),
        Some(&crate::engine::images::INDEX_HTML.trim()),
        "{out}"
    );
    // A name from another network does not resolve.
    let out = t.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "nslookup",
        &server,
    ]);
    assert!(
        !out.status.success(),
        "{server} resolved outside its network"
    );
}

#[test]
fn host_none_and_container_network_modes() {
    let t = scope();
    let links = t.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        IMAGE,
        "ip",
        "-o",
        "link",
    ]);
    let host_if = host_default_interface();
    assert!(
        links.contains(&format!(": {host_if}")),
        "host mode misses {host_if}:\n{links}"
    );

    let links = t.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "ip",
        "-o",
        "link",
    ]);
    let names: Vec<&str> = links.lines().filter_map(|l| l.split(": ").nth(1)).collect();
    assert_eq!(names, ["lo"], "none mode:\n{links}");

    let owner = t.name("owner");
    run_detached(
        &t,
        &owner,
        &["--network", "none", "--hostname", "shared"],
        CONFIGURED,
        HTTPD,
    );
    let joined = format!("container:{owner}");
    let out = wait_for(
        "httpd in the shared namespace",
        Duration::from_secs(20),
        || {
            let done = t.docker(&[
                "run",
                "--rm",
                "--network",
                &joined,
                IMAGE,
                "wget",
                "-qO-",
                "http://127.0.0.1/",
            ]);
            done.status
                .success()
                .then(|| String::from_utf8_lossy(&done.stdout).into_owned())
        },
    );
    assert_eq!(out, crate::engine::images::INDEX_HTML);
}

#[test]
fn published_port_on_loopback_and_on_the_host_address() {
    let t = scope();
    let (lo, all) = (t.name("lo"), t.name("all"));
    let lo_port = free_port();
    let mapping = format!("127.0.0.1:{lo_port}:80");
    let mut options = t.bridge_args();
    options.extend(["-p", &mapping]);
    run_detached(&t, &lo, &options, CONFIGURED, HTTPD);
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{lo_port}/")),
        crate::engine::images::INDEX_HTML
    );
    let port = t.docker_ok(&["port", &lo, "80/tcp"]);
    assert_eq!(port.trim(), format!("127.0.0.1:{lo_port}"));

    let Some(host) = host_address() else {
        eprintln!("SKIPPED (host address part): the host has no default route");
        return;
    };
    let all_port = free_port();
    let mapping = format!("{all_port}:80");
    let mut options = t.bridge_args();
    options.extend(["-p", &mapping]);
    run_detached(&t, &all, &options, CONFIGURED, HTTPD);
    assert_eq!(
        fetch(&format!("http://{host}:{all_port}/")),
        crate::engine::images::INDEX_HTML
    );
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{all_port}/")),
        crate::engine::images::INDEX_HTML
    );
}

#[test]
fn publish_all_picks_ports_shown_by_docker_port() {
    let t = scope();
    let name = t.name("publishall");
    let mut options = t.bridge_args();
    options.push("-P");
    run_detached(&t, &name, &options, CONFIGURED, HTTPD);
    let ports = t.docker_ok(&["port", &name, "80/tcp"]);
    let v4 = ports
        .lines()
        .find(|l| l.starts_with("0.0.0.0:"))
        .unwrap_or_else(|| panic!("docker port: {ports}"));
    let port: u16 = v4
        .trim_start_matches("0.0.0.0:")
        .parse()
        .expect("a port number");
    assert!(port > 1024, "ephemeral port {port}");
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{port}/")),
        crate::engine::images::INDEX_HTML
    );
    let listed = t.docker_ok(&[
        "ps",
        "--filter",
        &format!("name={name}"),
        "--format",
        "{{.Ports}}",
    ]);
    assert!(
        listed.contains(&format!("0.0.0.0:{port}->80/tcp")),
        "ps ports: {listed}"
    );
}

#[test]
fn a_second_container_cannot_take_a_published_port() {
    let t = scope();
    let port = free_port();
    let mapping = format!("127.0.0.1:{port}:80");
    let mut options = t.bridge_args();
    options.extend(["-p", &mapping]);
    run_detached(&t, &t.name("first"), &options, IMAGE, &["sleep", "1000"]);
    let mut args = vec!["run", "-d", "--name"];
    let second = t.name("second");
    args.push(&second);
    args.extend(&options);
    args.extend([IMAGE, "sleep", "1000"]);
    let err = t.docker_fails(&args);
    assert!(
        err.contains("port is already allocated"),
        "second -p {mapping}: {err}"
    );
    assert_eq!(t.inspect(&second, "{{.State.Running}}"), "false");
}

#[test]
fn containers_reach_a_server_on_the_host() {
    let t = scope();
    let Some(host) = host_address() else {
        eprintln!("SKIPPED: the host has no default route");
        return;
    };
    let listener = TcpListener::bind((host, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = conn.read(&mut request).unwrap();
        conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nfrom-host")
            .unwrap();
    });
    let mut args = vec!["run", "--rm"];
    args.extend(t.bridge_args());
    let url = format!("http://{host}:{port}/");
    // No `-T`: Debian's static busybox wget crashes (SIGSEGV) with it.
    args.extend([IMAGE, "wget", "-qO-", &url]);
    let out = t.docker_ok(&args);
    assert_eq!(out, "from-host", "the body from the host");
    server.join().unwrap();
}

//! `berth network`, `berth volume`, `berth port` and `berth system df` against a Docker
//! Engine API daemon.

#![allow(clippy::unwrap_used)]

mod cli_harness;

use berth_testkit::free_port;
use cli_harness::{stderr, Harness};

#[test]
fn networks_volumes_and_ports() {
    let Some(h) = Harness::start("berth-cli-r-") else {
        eprintln!("skipped: dockerd is not installed");
        return;
    };
    volumes(&h);
    networks_and_ports(&h);
    disk_usage(&h);
}

fn volumes(h: &Harness) {
    let name = h.name("vol");
    assert_eq!(
        h.ok(&["volume", "create", "--label", "k=v", &name]).trim(),
        name
    );
    let ls = h.ok(&["volume", "ls"]);
    let mut lines = ls.lines();
    assert_eq!(lines.next().unwrap(), "DRIVER    VOLUME NAME");
    assert!(lines.any(|l| l == format!("local     {name}")), "{ls}");
    let out = h.ok(&["volume", "ls", "-q", "--filter", "label=k=v"]);
    assert_eq!(out.trim(), name);
    let out = h.ok(&[
        "volume",
        "inspect",
        "-f",
        "{{.Driver}} {{.Labels.k}}",
        &name,
    ]);
    assert_eq!(out.trim(), "local v");
    // A volume in use, written by one container and read by the next.
    let mount = format!("{name}:/data");
    h.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &mount,
        &h.image,
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let out = h.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &mount,
        &h.image,
        "cat",
        "/data/f",
    ]);
    assert_eq!(out, "kept\n");
    assert_eq!(h.ok(&["volume", "rm", &name]).trim(), name);
    let out = h.berth(&["volume", "inspect", &name]);
    assert!(!out.status.success());
    let anon = h.name("anon");
    h.ok(&["volume", "create", &anon]);
    let out = h.ok(&["volume", "prune", "-f", "-a"]);
    assert!(
        out.contains("Deleted Volumes:") && out.contains(&anon),
        "{out}"
    );
    assert!(out.contains("Total reclaimed space:"), "{out}");
}

fn networks_and_ports(h: &Harness) {
    let name = h.name("net");
    // A bridge of our own name, removed again below; nothing is routed through it.
    let bridge = format!("brcli{}", std::process::id() % 100_000);
    let _cleanup = LinkGuard(bridge.clone());
    let id = h.ok(&[
        "network",
        "create",
        "--subnet",
        "10.213.7.0/24",
        "-o",
        &format!("com.docker.network.bridge.name={bridge}"),
        "--label",
        "team=a",
        &name,
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64);
    let ls = h.ok(&["network", "ls"]);
    let header = ls.lines().next().unwrap();
    assert_eq!(
        header,
        "NETWORK ID     NAME                   DRIVER    SCOPE".replace(
            "                   ",
            &" ".repeat(header.find("DRIVER").unwrap() - 19)
        ),
        "{ls}"
    );
    let row = ls.lines().find(|l| l.contains(&name)).expect("listed");
    assert!(
        row.starts_with(&id[..12]) && row.contains("bridge") && row.ends_with("local"),
        "{row}"
    );
    let out = h.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Labels.team}}",
        &name,
    ]);
    assert_eq!(out.trim(), "10.213.7.0/24 a");

    let web = h.name("port");
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    h.ok(&[
        "run",
        "-d",
        "--network",
        &name,
        "--ip",
        "10.213.7.9",
        "--network-alias",
        "web",
        "-p",
        &publish,
        "--name",
        &web,
        &h.image,
        "sleep",
        "1000",
    ]);
    assert_eq!(
        h.ok(&["port", &web]).trim(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    assert_eq!(
        h.ok(&["port", &web, "80"]).trim(),
        format!("127.0.0.1:{port}")
    );
    let out = h.berth(&["port", &web, "81"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let ps = h.ok(&[
        "ps",
        "--filter",
        &format!("name={web}"),
        "--format",
        "{{.Ports}} {{.Networks}}",
    ]);
    assert_eq!(ps.trim(), format!("127.0.0.1:{port}->80/tcp {name}"));
    let ip = h.ok(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{name}\").IPAddress}}}}"),
        &web,
    ]);
    assert_eq!(ip.trim(), "10.213.7.9");
    h.ok(&["network", "disconnect", &name, &web]);
    let nets = h.ok(&["inspect", "-f", "{{len .NetworkSettings.Networks}}", &web]);
    assert_eq!(nets.trim(), "0");
    h.ok(&["network", "connect", "--alias", "again", &name, &web]);
    let aliases = h.ok(&[
        "inspect",
        "-f",
        &format!("{{{{json (index .NetworkSettings.Networks \"{name}\").Aliases}}}}"),
        &web,
    ]);
    assert!(aliases.contains("again"), "{aliases}");
    h.ok(&["rm", "-f", &web]);
    assert_eq!(h.ok(&["network", "rm", &name]).trim(), name);
    assert!(!h.ok(&["network", "ls", "-q"]).contains(&id[..12]));
}

fn disk_usage(h: &Harness) {
    let df = h.ok(&["system", "df"]);
    let lines: Vec<&str> = df.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    );
    assert!(
        lines[1].starts_with("Images ") && lines[2].starts_with("Containers "),
        "{df}"
    );
    assert!(
        lines[3].starts_with("Local Volumes ") && lines[4].starts_with("Build Cache "),
        "{df}"
    );
    let images = h.ok(&["system", "df", "--format", "{{.Type}}={{.TotalCount}}"]);
    assert!(images.lines().any(|l| l == "Images=1"), "{images}");
}

/// Deletes the bridge even when an assertion fails before `network rm` (a daemon does
/// not remove user bridges when it stops).
struct LinkGuard(String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "delete", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

//! The system routes against the docker CLI, the Python SDK and berth's client:
//! `/_ping`, `/version`, `/info`, `/system/df`, `/events`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_daemon;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api_daemon::{rand_hex, random_subnet, TestDaemon};
use berth_client::types::networks::{Ipam, IpamConfig, NetworkCreateRequest};
use berth_client::types::volumes::VolumeCreateRequest;

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn ping_answers_get_and_head_with_the_negotiation_headers() {
    let daemon = TestDaemon::start();
    let ping = daemon.rt.block_on(daemon.client().ping()).unwrap();
    assert_eq!(ping.api_version.as_deref(), Some("1.47"));
    assert_eq!(ping.os_type.as_deref(), Some("linux"));
    assert_eq!(ping.builder_version.as_deref(), Some("1"));
    let head = Command::new("curl")
        .args(["-sS", "-I", "--unix-socket"])
        .arg(&daemon.socket)
        .arg("http://localhost/_ping")
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("api-version: 1.47"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(head.contains("pragma: no-cache"), "{head}");
    let get = Command::new("curl")
        .args(["-sS", "--unix-socket"])
        .arg(&daemon.socket)
        .arg("http://localhost/v1.44/_ping")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&get.stdout), "OK");
}

#[test]
fn docker_version_shows_berth() {
    let daemon = TestDaemon::start();
    let out = daemon.docker_ok(&[
        "version",
        "--format",
        "{{.Server.Platform.Name}}|{{.Server.Version}}|{{.Server.APIVersion}}|{{.Server.MinAPIVersion}}|{{.Server.Os}}/{{.Server.Arch}}|{{.Server.KernelVersion}}",
    ]);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(
        out.trim(),
        format!(
            "berth|{}|1.47|1.24|linux/amd64|{}",
            env!("CARGO_PKG_VERSION"),
            kernel.trim()
        )
    );
    let version = daemon.rt.block_on(daemon.client().version()).unwrap();
    let engine = &version.components.unwrap()[0];
    assert_eq!(engine.name, "Engine");
    assert_eq!(engine.version, env!("CARGO_PKG_VERSION"));
}

#[test]
fn docker_info_describes_the_daemon_and_its_id_is_kept() {
    let daemon = TestDaemon::start();
    let out = daemon.docker_ok(&["info"]);
    for wanted in [
        format!("Server Version: {}", env!("CARGO_PKG_VERSION")),
        "Storage Driver: overlay2".to_string(),
        "Cgroup Driver: cgroupfs".to_string(),
        "Default Runtime: berth".to_string(),
        "Swarm: inactive".to_string(),
        format!("Docker Root Dir: {}", daemon.data_root().display()),
        "Live Restore Enabled: true".to_string(),
        "Architecture: x86_64".to_string(),
    ] {
        assert!(
            out.contains(&wanted),
            "`{wanted}` missing from docker info:\n{out}"
        );
    }
    let cgroup_v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    assert!(
        out.contains(&format!(
            "Cgroup Version: {}",
            if cgroup_v2 { 2 } else { 1 }
        )),
        "{out}"
    );

    let info = daemon.rt.block_on(daemon.client().info()).unwrap();
    assert_eq!(info.containers, 0);
    assert_eq!(info.images, 0);
    assert_eq!(
        info.ncpu as usize,
        std::thread::available_parallelism().unwrap().get()
    );
    assert!(info.mem_total > 0);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(info.name, hostname.trim());
    let again = daemon.rt.block_on(daemon.client().info()).unwrap();
    assert_eq!(info.id, again.id);
    let stored = std::fs::read_to_string(daemon.data_root().join("engine-id")).unwrap();
    assert_eq!(stored.trim(), info.id);
    assert_eq!(
        daemon.docker_ok(&["info", "--format", "{{.ID}}"]).trim(),
        info.id
    );
}

#[test]
fn python_sdk_reads_info_and_version() {
    let daemon = TestDaemon::start();
    if Command::new("python3")
        .args(["-c", "import docker"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("skipped: the Python docker SDK is not installed");
        return;
    }
    let script = format!(
        "import docker\n\
         c = docker.DockerClient(base_url='{}', version='auto')\n\
         i = c.info()\n\
         v = c.version()\n\
         print(i['ID'], i['Driver'], i['Plugins']['Volume'][0], v['ApiVersion'], c.ping())\n",
        daemon.host()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = daemon.rt.block_on(daemon.client().info()).unwrap().id;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{id} overlay2 local 1.47 True")
    );
}

#[test]
fn system_df_counts_volume_bytes_and_users() {
    let daemon = TestDaemon::start();
    let name = format!("df{}", rand_hex(8));
    daemon.docker_ok(&["volume", "create", &name]);
    let data = daemon.engine.volumes().data_path(&name);
    std::fs::write(data.join("blob"), vec![7u8; 2000]).unwrap();
    let summary = daemon.docker_ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}}|{{.TotalCount}}|{{.Size}}",
    ]);
    assert!(summary.contains("Local Volumes|1|2kB"), "{summary}");
    assert!(summary.contains("Images|0|0B"), "{summary}");
    assert!(summary.contains("Containers|0|0B"), "{summary}");
    let verbose = daemon.docker_ok(&["system", "df", "-v"]);
    let line = verbose
        .lines()
        .find(|l| l.starts_with(&name))
        .unwrap_or_else(|| panic!("no line for {name}:\n{verbose}"));
    assert!(line.contains("2kB"), "{line}");
    let bad = daemon.docker_err(&["system", "df", "--format", "{{.Type}}", "--filter", "x=y"]);
    assert!(!bad.is_empty());
}

#[test]
fn events_replay_a_window_and_end_at_until() {
    let daemon = TestDaemon::start();
    daemon.create_default_bridge();
    let client = daemon.client();
    let since = format!("{:.9}", now_secs());
    let name = format!("ev{}", rand_hex(6));
    let created = daemon
        .rt
        .block_on(client.create_network(&NetworkCreateRequest {
            name: name.clone(),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(random_subnet()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .unwrap();
    daemon
        .rt
        .block_on(client.create_volume(&VolumeCreateRequest {
            name: Some(name.clone()),
            ..Default::default()
        }))
        .unwrap();
    let until = format!("{:.9}", now_secs());
    let format = "{{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes \"name\"}}";
    let out = daemon.docker_ok(&[
        "events", "--since", &since, "--until", &until, "--format", format,
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!("network create {} {name}", created.id).as_str(),
            format!("volume create {name} ").as_str(),
        ],
        "{out}"
    );
    // Filters: only the volume.
    let out = daemon.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "type=volume",
        "--format",
        "{{.Type}} {{.Action}}",
    ]);
    assert_eq!(out.trim(), "volume create");
    // A window before everything replays nothing and ends at once.
    let out = daemon.docker_ok(&["events", "--since", "1", "--until", "2"]);
    assert_eq!(out, "");
    let bad = daemon.docker_err(&["events", "--filter", "colour=red", "--until", "1"]);
    assert!(bad.contains("invalid filter 'colour'"), "{bad}");
    daemon.rt.block_on(client.remove_network(&name)).unwrap();
}

#[test]
fn events_stream_live_until_the_deadline() {
    let daemon = TestDaemon::start();
    // The CLI turns durations into times before now (`--until 1s` is a second ago), so
    // `--since 0s --until 1s` is an empty window that dockerd refuses, and berth too.
    let refused = daemon.docker_err(&["events", "--since", "0s", "--until", "1s"]);
    assert!(
        refused.contains("cannot be after `until` time"),
        "{refused}"
    );
    // From now for three seconds.
    let since = format!("{:.9}", now_secs());
    let until = format!("{:.9}", now_secs() + 3.0);
    let mut cmd = Command::new("/usr/local/bin/docker");
    cmd.args([
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.ID}}",
    ])
    .env("DOCKER_HOST", daemon.host())
    .env("DOCKER_CONFIG", daemon.data_root())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let started = std::time::Instant::now();
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let name = format!("live{}", rand_hex(6));
    daemon.docker_ok(&["volume", "create", &name]);
    daemon.docker_ok(&["volume", "rm", &name]);
    let out = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("volume create {name}\nvolume destroy {name}\n")
    );
    assert!(
        elapsed >= Duration::from_secs(2),
        "ended early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(10),
        "did not end at until: {elapsed:?}"
    );
}

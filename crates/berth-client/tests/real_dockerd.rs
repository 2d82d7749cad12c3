//! The client against a real dockerd (Debian docker.io) started by the test: proves that
//! the types read what a real daemon answers and that the calls are the ones it serves.
//! Skipped (with a message) only when dockerd is not installed. Runs as root.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod common;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_client::codec::StreamType;
use berth_client::types::containers::{
    ContainerConfig, ContainerCreateRequest, ContainerStatus, WaitCondition,
};
use berth_client::types::exec::ExecConfig;
use berth_client::types::host_config::HostConfig;
use berth_client::types::volumes::VolumeCreateRequest;
use berth_client::{
    DockerClient, EventsOptions, Filters, ListContainersOptions, LogsOptions, PullOptions,
    RemoveContainerOptions,
};
use berth_testkit::{busybox, PrivateDockerd};
use bytes::Bytes;
use common::registry::{Registry, DOCKER_REGISTRY};

/// Where Debian's docker.io puts dockerd: the daemon these tests talk to.
const DOCKERD: &str = "/usr/sbin/dockerd";

/// Starts a private dockerd (Debian's), or `None` after saying why it cannot.
fn start_dockerd() -> Option<PrivateDockerd> {
    PrivateDockerd::builder()
        .dockerd(DOCKERD)
        .prefix("berth-client-")
        .start()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn create_request(cmd: &[&str]) -> ContainerCreateRequest {
    ContainerCreateRequest {
        config: ContainerConfig {
            image: Some("berth-client-test:1".into()),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            env: Some(vec!["GREETING=hello".into()]),
            ..ContainerConfig::default()
        },
        host_config: Some(HostConfig {
            // This dockerd has no bridge.
            network_mode: Some("none".into()),
            memory: Some(64 << 20),
            ..HostConfig::default()
        }),
        networking_config: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_dockerd_speaks_our_types() {
    if !Path::new(DOCKERD).exists() || !Path::new("/bin/busybox").exists() {
        eprintln!("skipped: {DOCKERD} or /bin/busybox is not installed");
        return;
    }
    let Some(dockerd) = start_dockerd() else {
        return;
    };
    let client = DockerClient::new(&dockerd.host()).unwrap();
    let since = now();

    // System.
    let ping = client.ping().await.unwrap();
    assert_eq!(ping.os_type.as_deref(), Some("linux"));
    let negotiated = client.api_version().await.unwrap();
    assert!(negotiated.is_supported(), "{negotiated}");
    let version = client.version().await.unwrap();
    assert_eq!(Some(version.api_version.clone()), ping.api_version);
    assert!(!version.version.is_empty());
    assert!(version
        .components
        .unwrap_or_default()
        .iter()
        .any(|c| c.name == "Engine"));
    let info = client.info().await.unwrap();
    assert_eq!(info.driver, "vfs");
    assert_eq!(
        Path::new(&info.docker_root_dir),
        dockerd.data_root().as_path()
    );
    assert_eq!(info.os_type, "linux");
    assert!(info.ncpu > 0 && info.mem_total > 0);

    // Images: import a busybox root file system, then list and inspect it.
    assert!(client
        .list_images(false, &Filters::new())
        .await
        .unwrap()
        .is_empty());
    let tar = Bytes::from(busybox::rootfs_tar_bytes(dockerd.dir()));
    let messages = client
        .import_image(tar, "berth-client-test", Some("1"))
        .await
        .unwrap()
        .finish()
        .await
        .unwrap();
    let image_id = messages
        .iter()
        .find_map(|m| m.status.clone())
        .expect("import reports the image ID");
    assert!(image_id.starts_with("sha256:"), "{messages:?}");
    let images = client.list_images(false, &Filters::new()).await.unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].id, image_id);
    assert_eq!(images[0].repo_tags, vec!["berth-client-test:1".to_string()]);
    let inspected = client.inspect_image("berth-client-test:1").await.unwrap();
    assert_eq!(inspected.id, image_id);
    assert_eq!(inspected.root_fs.layers.len(), 1);
    client
        .tag_image("berth-client-test:1", "berth-client-test", Some("2"))
        .await
        .unwrap();
    let removed = client
        .remove_image("berth-client-test:2", false, false)
        .await
        .unwrap();
    assert_eq!(removed[0].untagged.as_deref(), Some("berth-client-test:2"));
    assert!(client
        .inspect_image("berth-client-test:2")
        .await
        .unwrap_err()
        .is_not_found());

    // A container: create, start, wait, logs, inspect, list, remove.
    let created = client
        .create_container(
            Some("berth-client-once"),
            &create_request(&["sh", "-c", "echo $GREETING; echo oops >&2; exit 3"]),
        )
        .await
        .unwrap();
    let id = created.id;
    let conflict = client
        .create_container(Some("berth-client-once"), &create_request(&["true"]))
        .await
        .unwrap_err();
    assert!(
        matches!(conflict, berth_client::Error::Conflict { .. }),
        "{conflict:?}"
    );
    client.start_container(&id).await.unwrap();
    let exit = client
        .wait_container(&id, WaitCondition::NotRunning)
        .await
        .unwrap();
    assert_eq!(exit.status_code, 3);
    let logs = client.logs(&id, &LogsOptions::all_output()).await.unwrap();
    assert!(logs.is_multiplexed());
    let (stdout, stderr) = logs.collect().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&stdout), "hello\n");
    assert_eq!(String::from_utf8_lossy(&stderr), "oops\n");
    let inspect = client.inspect_container(&id).await.unwrap();
    assert_eq!(inspect.state.status, ContainerStatus::Exited);
    assert_eq!(inspect.state.exit_code, 3);
    assert_eq!(inspect.name, "/berth-client-once");
    assert_eq!(inspect.host_config.as_ref().unwrap().memory, Some(64 << 20));
    let listed = client
        .list_containers(&ListContainersOptions {
            all: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed
        .iter()
        .any(|c| c.id == id && c.state == ContainerStatus::Exited));
    client
        .remove_container(&id, RemoveContainerOptions::default())
        .await
        .unwrap();
    assert!(client
        .inspect_container(&id)
        .await
        .unwrap_err()
        .is_not_found());

    // The docker 28 CLI's own create body (tests/fixtures), re-encoded by our types, is
    // accepted by dockerd and reads back the same.
    let mut cli: ContainerCreateRequest =
        serde_json::from_str(include_str!("fixtures/create_cli28.json")).unwrap();
    cli.config.image = Some("berth-client-test:1".into());
    let host = cli.host_config.as_mut().unwrap();
    // This dockerd has no bridge, and `none` cannot publish ports.
    host.network_mode = Some("none".into());
    host.port_bindings = None;
    let expected = host.clone();
    cli.networking_config = None;
    let from_cli = client.create_container(None, &cli).await.unwrap().id;
    let inspected = client.inspect_container(&from_cli).await.unwrap();
    let host = inspected.host_config.unwrap();
    assert_eq!(host.memory, expected.memory);
    assert_eq!(host.nano_cpus, Some(1_500_000_000));
    assert_eq!(host.cap_add, expected.cap_add);
    assert_eq!(host.tmpfs, expected.tmpfs);
    assert_eq!(host.ulimits, expected.ulimits);
    assert_eq!(host.restart_policy, expected.restart_policy);
    assert_eq!(host.binds, Some(vec!["vol:/data".to_string()]));
    assert_eq!(inspected.config.unwrap().env.unwrap()[0], "A=b");
    client
        .remove_container(
            &from_cli,
            RemoveContainerOptions {
                force: true,
                volumes: true,
            },
        )
        .await
        .unwrap();

    // Exec in a running container, attached (output streamed) and inspected.
    let sleeper = client
        .create_container(None, &create_request(&["sleep", "60"]))
        .await
        .unwrap()
        .id;
    client.start_container(&sleeper).await.unwrap();
    client
        .start_container(&sleeper)
        .await
        .expect("starting a running container is fine");
    let exec = client
        .create_exec(
            &sleeper,
            &ExecConfig {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: vec!["sh".into(), "-c".into(), "echo in-exec; exit 5".into()],
                ..ExecConfig::default()
            },
        )
        .await
        .unwrap();
    let mut output = client.start_exec(&exec, false).await.unwrap();
    let frame = output.next().await.unwrap().unwrap();
    assert_eq!(
        (frame.stream, &frame.data[..]),
        (StreamType::Stdout, &b"in-exec\n"[..])
    );
    while output.next().await.is_some() {}
    let exec_state = client.inspect_exec(&exec).await.unwrap();
    assert_eq!(exec_state.exit_code, Some(5));
    assert!(!exec_state.running);
    let stats = client.stats_once(&sleeper).await.unwrap();
    assert_eq!(stats.id, sleeper);
    assert!(stats.pids_stats.current.unwrap_or(0) >= 1, "{stats:?}");
    assert!(stats.memory_stats.usage.unwrap_or(0) > 0, "{stats:?}");
    client.kill_container(&sleeper, None).await.unwrap();
    client
        .remove_container(
            &sleeper,
            RemoveContainerOptions {
                force: true,
                volumes: true,
            },
        )
        .await
        .unwrap();

    // Volumes and networks.
    let volume = client
        .create_volume(&VolumeCreateRequest {
            name: Some("berth-client-vol".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(volume.driver, "local");
    assert!(volume
        .mountpoint
        .starts_with(dockerd.data_root().to_str().unwrap()));
    assert_eq!(
        client
            .inspect_volume("berth-client-vol")
            .await
            .unwrap()
            .name,
        "berth-client-vol"
    );
    let volumes = client.list_volumes(&Filters::new()).await.unwrap();
    assert!(volumes.volumes.iter().any(|v| v.name == "berth-client-vol"));
    client
        .remove_volume("berth-client-vol", false)
        .await
        .unwrap();
    let networks = client.list_networks(&Filters::new()).await.unwrap();
    assert!(
        networks
            .iter()
            .any(|n| n.name == "none" && n.driver == "null"),
        "{networks:?}"
    );
    assert_eq!(client.inspect_network("host").await.unwrap().driver, "host");

    // Events of all that, up to now (so the stream ends).
    let options = EventsOptions {
        since: Some(format!("{since:.3}")),
        until: Some(format!("{:.3}", now())),
        filters: Filters::new(),
    };
    let mut events = client.events(&options).await.unwrap();
    let mut seen = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.unwrap();
        if event.actor.id == id {
            seen.push(event.action.clone());
        }
        if event.r#type == "image" && event.action == "import" {
            seen.push("image import".into());
        }
    }
    for action in ["image import", "create", "start", "die", "destroy"] {
        assert!(
            seen.iter().any(|a| a == action),
            "no `{action}` event in {seen:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_dockerd_push_and_pull_stream_progress() {
    if !Path::new(DOCKERD).exists() || !Path::new(DOCKER_REGISTRY).exists() {
        eprintln!("skipped: {DOCKERD} or {DOCKER_REGISTRY} is not installed");
        return;
    }
    let Some(dockerd) = start_dockerd() else {
        return;
    };
    let registry = Registry::start();
    let client = DockerClient::new(&dockerd.host()).unwrap();
    let tar = Bytes::from(busybox::rootfs_tar_bytes(dockerd.dir()));
    client
        .import_image(tar, "local", Some("1"))
        .await
        .unwrap()
        .finish()
        .await
        .unwrap();
    let repo = format!("{}/berth/app", registry.addr);
    client
        .tag_image("local:1", &repo, Some("v1"))
        .await
        .unwrap();

    let pushed = client
        .push_image(&repo, Some("v1"), None)
        .await
        .unwrap()
        .finish()
        .await
        .unwrap();
    let digest = pushed
        .iter()
        .find_map(|m| m.aux.as_ref()?.get("Digest")?.as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no digest in the push progress: {pushed:?}"));
    assert!(digest.starts_with("sha256:"));

    let reference = format!("{repo}:v1");
    client.remove_image(&reference, true, false).await.unwrap();
    client.remove_image("local:1", true, false).await.unwrap();
    assert!(client
        .inspect_image(&reference)
        .await
        .unwrap_err()
        .is_not_found());

    let pulled = client
        .pull_image(&reference, &PullOptions::default())
        .await
        .unwrap()
        .finish()
        .await
        .unwrap();
    let statuses: Vec<&str> = pulled.iter().filter_map(|m| m.status.as_deref()).collect();
    assert!(statuses.contains(&"Pull complete"), "{statuses:?}");
    assert!(
        statuses.iter().any(|s| *s == format!("Digest: {digest}")),
        "{statuses:?}"
    );
    assert!(
        pulled
            .iter()
            .any(|m| m.progress_detail.is_some_and(|d| d.total.is_some())),
        "no byte progress in {pulled:?}"
    );
    let image = client.inspect_image(&reference).await.unwrap();
    assert_eq!(image.repo_digests, vec![format!("{repo}@{digest}")]);

    // A missing tag: the daemon refuses before streaming (404), not inside the stream.
    let missing = client
        .pull_image(&format!("{repo}:nope"), &PullOptions::default())
        .await;
    let err = match missing {
        Err(e) => e,
        Ok(stream) => stream.finish().await.unwrap_err(),
    };
    assert!(
        err.to_string().contains("nope") || err.is_not_found(),
        "{err}"
    );
}

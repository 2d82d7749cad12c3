//! The volume routes against the docker CLI and berth's client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_daemon;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use api_daemon::{rand_hex, TestDaemon};
use berth_client::types::containers::{ContainerConfig, MountPoint};
use berth_client::types::volumes::{Volume, VolumeCreateRequest};
use berth_client::Error;
use berth_engine::container::{Container, Record, State};

fn names(daemon: &TestDaemon, args: &[&str]) -> Vec<String> {
    let mut all = vec!["volume", "ls", "--format", "{{.Name}}"];
    all.extend_from_slice(args);
    let mut v: Vec<String> = daemon.docker_ok(&all).lines().map(String::from).collect();
    v.sort();
    v
}

/// A container record that mounts `volume`, as `docker create -v volume:/data` leaves it.
fn container_using(daemon: &TestDaemon, volume: &str) -> String {
    let id = rand_hex(64);
    let dir = daemon.engine.config().containers_dir().join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    let record = Record {
        id: id.clone(),
        name: format!("user{}", rand_hex(6)),
        created: berth_engine::container::now_rfc3339(),
        image_id: "sha256:0".into(),
        image_digest: "sha256:0".into(),
        layers: vec![],
        config: ContainerConfig::default(),
        host_config: Default::default(),
        state: State::created(),
        restart_count: 0,
        mounts: vec![MountPoint {
            r#type: "volume".into(),
            name: Some(volume.into()),
            source: daemon
                .engine
                .volumes()
                .data_path(volume)
                .display()
                .to_string(),
            destination: "/data".into(),
            driver: Some("local".into()),
            mode: "z".into(),
            rw: true,
            propagation: String::new(),
        }],
        anonymous_volumes: vec![],
        networks: BTreeMap::new(),
        ports: BTreeMap::new(),
        path: "sh".into(),
        args: vec![],
        has_been_started: false,
    };
    daemon
        .engine
        .containers
        .insert(Container::new(dir, record))
        .unwrap();
    id
}

#[test]
fn create_inspect_list_and_remove() {
    let daemon = TestDaemon::start();
    let name = format!("vol{}", rand_hex(6));
    let out = daemon.docker_ok(&["volume", "create", "--label", "app=db", &name]);
    assert_eq!(out.trim(), name);
    // Creating it again is fine and changes nothing.
    daemon.docker_ok(&["volume", "create", &name]);
    let out = daemon.docker_ok(&["volume", "inspect", &name]);
    let volumes: Vec<Volume> = serde_json::from_str(&out).unwrap();
    let volume = &volumes[0];
    assert_eq!(volume.driver, "local");
    assert_eq!(volume.scope, "local");
    assert_eq!(volume.labels.get("app").map(String::as_str), Some("db"));
    assert!(std::path::Path::new(&volume.mountpoint).is_dir());
    assert!(volume.created_at.is_some());

    let other = format!("vol{}", rand_hex(6));
    daemon.docker_ok(&["volume", "create", &other]);
    let mut both = vec![name.clone(), other.clone()];
    both.sort();
    assert_eq!(names(&daemon, &[]), both);
    assert_eq!(
        names(&daemon, &["--filter", "label=app=db"]),
        vec![name.clone()]
    );
    assert_eq!(
        names(&daemon, &["--filter", "label=app=web"]),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&daemon, &["--filter", &format!("name={}", &other[3..])]),
        vec![other.clone()]
    );
    assert_eq!(names(&daemon, &["--filter", "driver=local"]), both);
    assert_eq!(names(&daemon, &["--filter", "dangling=true"]), both);
    let err = daemon.docker_err(&["volume", "ls", "--filter", "colour=red"]);
    assert!(err.contains("invalid filter 'colour'"), "{err}");

    daemon.docker_ok(&["volume", "rm", &name, &other]);
    assert!(!std::path::Path::new(&volume.mountpoint).exists());
    let err = daemon.docker_err(&["volume", "rm", &name]);
    assert!(err.contains("no such volume"), "{err}");
    daemon.docker_ok(&["volume", "rm", "-f", &name]);
    let err = daemon.docker_err(&["volume", "inspect", &name]);
    assert!(err.contains("no such volume"), "{err}");
    let err = daemon.docker_err(&["volume", "create", "bad/name"]);
    assert!(!err.is_empty());
}

#[test]
fn a_volume_in_use_is_kept_with_a_conflict() {
    let daemon = TestDaemon::start();
    let name = format!("used{}", rand_hex(6));
    daemon.docker_ok(&["volume", "create", &name]);
    let container = container_using(&daemon, &name);
    let err = daemon
        .rt
        .block_on(daemon.client().remove_volume(&name, true))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { message } if message.contains("volume is in use") && message.contains(&container)),
        "{err}"
    );
    assert_eq!(
        names(&daemon, &["--filter", "dangling=false"]),
        vec![name.clone()]
    );
    assert_eq!(
        names(&daemon, &["--filter", "dangling=true"]),
        Vec::<String>::new()
    );
    let out = daemon.docker_ok(&["volume", "prune", "-a", "-f"]);
    assert!(!out.contains(&name), "{out}");
    assert!(daemon.engine.volumes().inspect(&name).is_ok());
    let df = daemon.docker_ok(&["system", "df", "-v", "--format", "{{json .Volumes}}"]);
    assert!(
        df.contains("\"Links\":\"1\"") || df.contains("\"Links\":1"),
        "{df}"
    );
}

#[test]
fn prune_takes_anonymous_volumes_unless_all_and_reports_space() {
    let daemon = TestDaemon::start();
    let client = daemon.client();
    let anonymous = daemon
        .rt
        .block_on(client.create_volume(&VolumeCreateRequest::default()))
        .unwrap();
    assert_eq!(anonymous.name.len(), 64);
    std::fs::write(
        daemon.engine.volumes().data_path(&anonymous.name).join("f"),
        vec![1u8; 3000],
    )
    .unwrap();
    let named = format!("named{}", rand_hex(6));
    let labelled = format!("lab{}", rand_hex(6));
    daemon.docker_ok(&["volume", "create", &named]);
    daemon.docker_ok(&["volume", "create", "--label", "keep=yes", &labelled]);

    let out = daemon.docker_ok(&["volume", "prune", "-f"]);
    assert_eq!(
        out,
        format!(
            "Deleted Volumes:\n{}\n\nTotal reclaimed space: 3kB\n",
            anonymous.name
        )
    );
    let out = daemon.docker_ok(&["volume", "prune", "-a", "-f", "--filter", "label!=keep"]);
    assert_eq!(
        out,
        format!("Deleted Volumes:\n{named}\n\nTotal reclaimed space: 0B\n")
    );
    assert_eq!(names(&daemon, &[]), vec![labelled.clone()]);
    let err = daemon.docker_err(&["volume", "prune", "-f", "--filter", "colour=red"]);
    assert!(err.contains("invalid filter 'colour'"), "{err}");
}

#[test]
fn create_and_destroy_are_events() {
    let daemon = TestDaemon::start();
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let name = format!("ev{}", rand_hex(6));
    daemon.docker_ok(&["volume", "create", &name]);
    daemon.docker_ok(&["volume", "create", &name]);
    daemon.docker_ok(&["volume", "rm", &name]);
    let until = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let out = daemon.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        &format!("volume={name}"),
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}",
    ]);
    assert_eq!(
        out,
        format!("volume create {name} local\nvolume destroy {name} local\n")
    );
}

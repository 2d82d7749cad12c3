//! The images API served in-process on a unix socket, driven by berth's Docker client, raw
//! HTTP, and the real docker CLI; pulls and pushes go to a berth registry in-process.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use berth_client::types::progress::JsonMessage;
use berth_client::types::system::AuthConfig;
use berth_client::{DockerClient, Filters, PullOptions};
use berth_engine::container::{Container, Record, State};
use berth_engine::{DaemonConfig, Engine};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tempfile::TempDir;

/// A daemon serving the API router on a socket in its own temp dir.
struct Daemon {
    dir: TempDir,
    socket: PathBuf,
    engine: Arc<Engine>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Daemon {
    async fn start() -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let mut config = DaemonConfig::new(dir.path().join("data"), dir.path().join("exec"));
        config.network_instance = format!("t{:08x}", rand::random::<u32>());
        let engine = Engine::open(config).await.unwrap();
        let socket = dir.path().join("exec/berth.sock");
        let listener = berth_engine::api::bind(&format!("unix://{}", socket.display()))
            .await
            .unwrap();
        let router = berth_engine::api::router(engine.clone());
        let server = tokio::spawn(berth_engine::api::serve(listener, router));
        Daemon {
            dir,
            socket,
            engine,
            server,
        }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn client(&self) -> DockerClient {
        // Pinned: `/_ping` belongs to the system routes, not to this test.
        DockerClient::new(&self.host())
            .unwrap()
            .with_version(berth_client::types::version::MAX_API_VERSION)
    }

    /// One raw request: status and body.
    async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (u16, Vec<u8>) {
        let stream = tokio::net::UnixStream::connect(&self.socket).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", "docker");
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    }

    async fn raw_json(&self, method: &str, path: &str) -> (u16, Value) {
        let (status, body) = self.raw(method, path, &[], Vec::new()).await;
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, value)
    }

    /// Imports the busybox rootfs as `reference` with `CMD ["sh"]` and a message.
    async fn import_busybox(&self, reference: &str) -> String {
        let tar = berth_testkit::busybox::rootfs_tar_bytes(&self.dir.path().join("bb"));
        let path = format!(
            "/v1.47/images/create?fromSrc=-&repo={}&changes={}&message={}",
            encode(reference),
            encode(r#"CMD ["sh"]"#),
            encode("made by the test")
        );
        let (status, body) = self.raw("POST", &path, &[], tar).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let message: JsonMessage = serde_json::from_slice(&body).unwrap();
        let id = message.status.unwrap();
        assert!(id.starts_with("sha256:"), "{id}");
        id
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Reads a progress stream to its end, error messages included.
async fn messages(mut stream: berth_client::JsonStream<JsonMessage>) -> Vec<JsonMessage> {
    let mut out = Vec::new();
    while let Some(next) = stream.next().await {
        out.push(next.unwrap());
    }
    out
}

fn statuses(messages: &[JsonMessage]) -> Vec<String> {
    messages.iter().filter_map(|m| m.status.clone()).collect()
}

/// A berth registry in-process on a free loopback port (basic auth with `htpasswd`).
async fn registry(root: &Path, htpasswd: Option<PathBuf>) -> (String, tokio::task::JoinHandle<()>) {
    let mut config =
        berth_registry::ServerConfig::new("127.0.0.1:0".parse().unwrap(), root.to_path_buf());
    config.htpasswd = htpasswd;
    let server = berth_registry::Server::bind(config).await.unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let _ = server.run().await;
    });
    (addr, task)
}

fn filters(key: &str, value: &str) -> Filters {
    let mut filters = Filters::new();
    filters.insert(key.to_string(), vec![value.to_string()]);
    filters
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_inspect_history_tag_and_remove() {
    let daemon = Daemon::start().await;
    let client = daemon.client();
    let id = daemon.import_busybox("localhost:5000/team/app:1.0").await;

    let listed = client.list_images(false, &Filters::new()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].repo_tags, vec!["localhost:5000/team/app:1.0"]);
    assert!(listed[0].size > 0);

    // Names with slashes and colons reach the right route.
    let (status, inspect) = daemon
        .raw_json("GET", "/v1.47/images/localhost:5000/team/app:1.0/json")
        .await;
    assert_eq!(status, 200, "{inspect}");
    assert_eq!(inspect["Id"], id.as_str());
    assert_eq!(inspect["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(inspect["Config"]["Hostname"], "");
    assert_eq!(inspect["Comment"], "made by the test");
    assert_eq!(inspect["RootFS"]["Type"], "layers");
    assert_eq!(inspect["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(inspect["GraphDriver"]["Name"], "overlay2");
    assert_eq!(inspect["Os"], "linux");
    // By short id too.
    let short = &id["sha256:".len().."sha256:".len() + 12];
    let by_id = client.inspect_image(short).await.unwrap();
    assert_eq!(by_id.id, id);

    let (status, history) = daemon
        .raw_json("GET", "/images/localhost:5000/team/app:1.0/history")
        .await;
    assert_eq!(status, 200, "{history}");
    let history = history.as_array().unwrap();
    assert_eq!(history[0]["Id"], id.as_str());
    assert_eq!(
        history[0]["Tags"],
        serde_json::json!(["localhost:5000/team/app:1.0"])
    );
    assert_eq!(history[0]["Comment"], "made by the test");
    let layer_sizes: u64 = history.iter().map(|h| h["Size"].as_u64().unwrap()).sum();
    assert_eq!(layer_sizes, listed[0].size as u64);

    // Tag: 201, and both names list.
    client
        .tag_image("localhost:5000/team/app:1.0", "other/name", Some("2"))
        .await
        .unwrap();
    let listed = client.list_images(false, &Filters::new()).await.unwrap();
    let mut tags = listed[0].repo_tags.clone();
    tags.sort();
    assert_eq!(tags, vec!["localhost:5000/team/app:1.0", "other/name:2"]);
    // The reference filter keeps the matching names only.
    let only = client
        .list_images(false, &filters("reference", "other/*"))
        .await
        .unwrap();
    assert_eq!(only[0].repo_tags, vec!["other/name:2"]);
    assert!(client
        .list_images(false, &filters("dangling", "true"))
        .await
        .unwrap()
        .is_empty());

    // Missing images: Docker's 404 message.
    let (status, body) = daemon.raw_json("GET", "/images/nope/json").await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "No such image: nope:latest");
    let (status, body) = daemon.raw_json("DELETE", "/images/nope").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("No such image: nope:latest"))
    );

    // By id with names in two repositories: only with force.
    let (status, body) = daemon.raw_json("DELETE", &format!("/images/{short}")).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("must be forced"),
        "{body}"
    );

    // One of two tags: only untagged.
    let removed = client
        .remove_image("other/name:2", false, false)
        .await
        .unwrap();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0].untagged.as_deref(), Some("other/name:2"));

    // A container using it: 409 with Docker's words, then force untags but keeps it.
    let container_id = format!("{:064x}", 0xc0ffee_u64);
    let record = Record {
        id: container_id.clone(),
        name: "user".into(),
        created: "2024-01-01T00:00:00Z".into(),
        image_id: id.clone(),
        image_digest: String::new(),
        layers: Vec::new(),
        config: Default::default(),
        host_config: Default::default(),
        state: State::created(),
        restart_count: 0,
        mounts: Vec::new(),
        anonymous_volumes: Vec::new(),
        networks: BTreeMap::new(),
        ports: BTreeMap::new(),
        path: "sh".into(),
        args: Vec::new(),
        has_been_started: false,
    };
    let container = Container::new(daemon.dir.path().join("c"), record);
    std::fs::create_dir_all(daemon.dir.path().join("c")).unwrap();
    daemon.engine.containers.insert(container).unwrap();
    let (status, body) = daemon
        .raw_json("DELETE", "/images/localhost:5000/team/app:1.0")
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["message"],
        format!(
            "conflict: unable to remove repository reference \"localhost:5000/team/app:1.0\" (must force) - container {} is using its referenced image {}",
            &container_id[..12],
            &short
        )
    );
    let removed = client
        .remove_image("localhost:5000/team/app:1.0", true, false)
        .await
        .unwrap();
    assert_eq!(
        removed[0].untagged.as_deref(),
        Some("localhost:5000/team/app:1.0")
    );
    assert!(removed.iter().all(|r| r.deleted.is_none()), "{removed:?}");
    assert_eq!(
        client.inspect_image(&id).await.unwrap().repo_tags,
        Vec::<String>::new()
    );
    let dangling = client
        .list_images(false, &filters("dangling", "true"))
        .await
        .unwrap();
    assert_eq!(dangling.len(), 1);

    // Prune spares what a container uses.
    let (status, pruned) = daemon
        .raw_json(
            "POST",
            "/images/prune?filters=%7B%22dangling%22%3A%5B%22false%22%5D%7D",
        )
        .await;
    assert_eq!(status, 200, "{pruned}");
    assert_eq!(pruned["ImagesDeleted"], serde_json::json!([]));
    daemon.engine.containers.remove(&container_id);
    let (_, pruned) = daemon.raw_json("POST", "/images/prune").await;
    assert_eq!(
        pruned["ImagesDeleted"][0]["Deleted"],
        id.as_str(),
        "{pruned}"
    );
    assert!(pruned["SpaceReclaimed"].as_u64().unwrap() > 0);
    assert!(client
        .list_images(true, &Filters::new())
        .await
        .unwrap()
        .is_empty());

    let (status, body) = daemon.raw_json("GET", "/images/search?term=x").await;
    assert_eq!(status, 501);
    assert!(body["message"].as_str().unwrap().contains("not supported"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn save_and_load_round_trip_with_events() {
    let daemon = Daemon::start().await;
    let client = daemon.client();
    let id = daemon.import_busybox("saved/app:1").await;

    let (status, tar) = daemon
        .raw("GET", "/images/saved/app:1/get", &[], Vec::new())
        .await;
    assert_eq!(status, 200);
    let mut archive = tar::Archive::new(&tar[..]);
    let members: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        members.contains(&"manifest.json".to_string()),
        "{members:?}"
    );
    let (status, _) = daemon
        .raw(
            "GET",
            "/images/get?names=saved/app:1&names=nope",
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 404);

    client
        .remove_image("saved/app:1", false, false)
        .await
        .unwrap();
    assert!(client.inspect_image(&id).await.unwrap_err().is_not_found());
    let (status, body) = daemon.raw("POST", "/images/load?quiet=1", &[], tar).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let loaded: JsonMessage = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        loaded.stream.as_deref(),
        Some("Loaded image: saved/app:1\n")
    );
    assert_eq!(client.inspect_image("saved/app:1").await.unwrap().id, id);
    // A tar that is no image archive is the client's mistake.
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "hello.txt", &b"hello"[..])
        .unwrap();
    let not_an_image = builder.into_inner().unwrap();
    let (status, body) = daemon.raw("POST", "/images/load", &[], not_an_image).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("not an image archive"));

    let (events, _) = daemon.engine.events().subscribe();
    let actions: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.r#type == "image")
        .map(|e| {
            (
                e.action.clone(),
                e.actor.attributes.get("name").cloned().unwrap_or_default(),
            )
        })
        .collect();
    for wanted in [
        ("import", id.clone()),
        ("save", id.clone()),
        ("untag", id.clone()),
        ("delete", id.clone()),
        ("load", "saved/app:1".to_string()),
    ] {
        let wanted = (wanted.0.to_string(), wanted.1);
        assert!(actions.contains(&wanted), "{wanted:?} not in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn push_and_pull_with_a_registry() {
    let daemon = Daemon::start().await;
    let client = daemon.client();
    let (addr, registry_task) = registry(&daemon.dir.path().join("registry"), None).await;
    let name = format!("{addr}/team/app");
    let id = daemon.import_busybox(&format!("{name}:1.0")).await;

    let pushed = messages(client.push_image(&name, Some("1.0"), None).await.unwrap()).await;
    let lines = statuses(&pushed);
    assert_eq!(lines[0], format!("The push refers to repository [{name}]"));
    assert!(lines.iter().any(|s| s == "Pushed"), "{lines:?}");
    let last = lines.last().unwrap();
    assert!(last.starts_with("1.0: digest: sha256:"), "{lines:?}");
    let aux = pushed.iter().find_map(|m| m.aux.clone()).unwrap();
    assert_eq!(aux["Tag"], "1.0");
    assert!(pushed.iter().all(|m| m.error.is_none()), "{pushed:?}");
    let digest = aux["Digest"].as_str().unwrap().to_string();

    // A second push finds every layer there.
    let again = statuses(
        &messages(
            client
                .push_image(&format!("{name}:1.0"), None, None)
                .await
                .unwrap(),
        )
        .await,
    );
    assert!(
        again.iter().any(|s| s == "Layer already exists"),
        "{again:?}"
    );

    // Pushing what is not there: 404 before any stream.
    let err = client
        .push_image(&format!("{addr}/team/none"), Some("1"), None)
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("An image does not exist locally"),
        "{err}"
    );

    client
        .remove_image(&format!("{name}:1.0"), false, false)
        .await
        .unwrap();
    let pulled = messages(
        client
            .pull_image(&format!("{name}:1.0"), &PullOptions::default())
            .await
            .unwrap(),
    )
    .await;
    let lines = statuses(&pulled);
    assert_eq!(lines[0], "Pulling from team/app");
    assert!(lines.contains(&"Pulling fs layer".to_string()), "{lines:?}");
    assert!(lines.contains(&"Pull complete".to_string()), "{lines:?}");
    assert!(lines.contains(&format!("Digest: {digest}")), "{lines:?}");
    assert_eq!(
        lines.last().unwrap(),
        &format!("Status: Downloaded newer image for {name}:1.0")
    );
    assert!(pulled.iter().any(|m| m
        .progress_detail
        .and_then(|d| d.total)
        .is_some_and(|t| t > 0)));
    let inspect = client.inspect_image(&format!("{name}:1.0")).await.unwrap();
    assert_eq!(inspect.id, id);
    assert_eq!(inspect.repo_digests, vec![format!("{name}@{digest}")]);

    let again = statuses(
        &messages(
            client
                .pull_image(&format!("{name}:1.0"), &PullOptions::default())
                .await
                .unwrap(),
        )
        .await,
    );
    assert!(again.contains(&"Already exists".to_string()), "{again:?}");
    assert_eq!(
        again.last().unwrap(),
        &format!("Status: Image is up to date for {name}:1.0")
    );

    // A tag the registry does not have: a 404 answer, not a stream.
    let (status, body) = daemon
        .raw_json(
            "POST",
            &format!("/images/create?fromImage={}&tag=missing", encode(&name)),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("manifest unknown"),
        "{body}"
    );
    registry_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credentials_reach_the_registry() {
    let daemon = Daemon::start().await;
    let htpasswd = daemon.dir.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}\n", bcrypt::hash("secret", 4).unwrap()),
    )
    .unwrap();
    let (addr, registry_task) = registry(&daemon.dir.path().join("registry"), Some(htpasswd)).await;

    let login = |password: &str| {
        serde_json::json!({"username": "alice", "password": password, "serveraddress": addr})
            .to_string()
            .into_bytes()
    };
    let (status, body) = daemon.raw("POST", "/auth", &[], login("secret")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["Status"], "Login Succeeded");
    let (status, body) = daemon.raw("POST", "/auth", &[], login("wrong")).await;
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));

    let name = format!("{addr}/private/app:1");
    daemon.import_busybox(&name).await;
    let auth = AuthConfig {
        username: Some("alice".into()),
        password: Some("secret".into()),
        serveraddress: Some(addr.clone()),
        ..AuthConfig::default()
    };
    let anonymous = messages(client_push(&daemon, &name, None).await).await;
    assert!(anonymous.last().unwrap().error.is_some(), "{anonymous:?}");
    let pushed = messages(client_push(&daemon, &name, Some(&auth)).await).await;
    assert!(pushed.iter().all(|m| m.error.is_none()), "{pushed:?}");

    daemon
        .client()
        .remove_image(&name, false, false)
        .await
        .unwrap();
    let (status, body) = daemon
        .raw_json(
            "POST",
            &format!("/images/create?fromImage={}", encode(&name)),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["message"].as_str().unwrap().starts_with(&format!(
            "pull access denied for {addr}/private/app, repository does not exist or may require 'docker login'"
        )),
        "{body}"
    );
    let header =
        base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&auth).unwrap());
    let (status, body) = daemon
        .raw(
            "POST",
            &format!("/images/create?fromImage={}", encode(&name)),
            &[("X-Registry-Auth", header)],
            Vec::new(),
        )
        .await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Status: Downloaded newer image"), "{text}");
    registry_task.abort();
}

async fn client_push(
    daemon: &Daemon,
    name: &str,
    auth: Option<&AuthConfig>,
) -> berth_client::JsonStream<JsonMessage> {
    daemon.client().push_image(name, None, auth).await.unwrap()
}

/// The docker CLI against the daemon: runs `args`, returns stdout; panics with stderr.
fn docker(daemon_host: &str, config: &Path, args: &[&str], stdin: Option<&Path>) -> String {
    let mut command = Command::new("/usr/local/bin/docker");
    command
        .args(args)
        .env("DOCKER_HOST", daemon_host)
        .env("DOCKER_CONFIG", config);
    let output = match stdin {
        Some(path) => {
            let file = std::fs::File::open(path).unwrap();
            command.stdin(file);
            let child = command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.wait_with_output().unwrap()
        }
        None => berth_testkit::run_with_timeout(&mut command, Duration::from_secs(120)).unwrap(),
    };
    assert!(
        output.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_docker_cli_manages_images() {
    if !Path::new("/usr/local/bin/docker").exists() {
        eprintln!("skipped: no docker CLI at /usr/local/bin/docker");
        return;
    }
    let daemon = Daemon::start().await;
    let (addr, registry_task) = registry(&daemon.dir.path().join("registry"), None).await;
    let host = daemon.host();
    let config = daemon.dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let tar = berth_testkit::busybox::rootfs_tar(&daemon.dir.path().join("bb"));
    let work = daemon.dir.path().to_path_buf();
    let name = format!("{addr}/cli/app");

    tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| docker(&host, &config, args, None);
        let id = docker(
            &host,
            &config,
            &[
                "import",
                "-c",
                "CMD [\"sh\"]",
                "-m",
                "cli import",
                "-",
                "cli/base:1",
            ],
            Some(&tar),
        );
        assert!(id.trim().starts_with("sha256:"), "{id}");

        let images = run(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
        assert!(images.contains("cli/base:1"), "{images}");

        let cmd = run(&[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Cmd}} {{.Comment}}",
            "cli/base:1",
        ]);
        assert_eq!(cmd.trim(), r#"["sh"] cli import"#);

        let history = run(&[
            "history",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.Comment}}",
            "cli/base:1",
        ]);
        assert_eq!(
            history.lines().next().unwrap(),
            format!("{} cli import", id.trim())
        );

        run(&["tag", "cli/base:1", &format!("{name}:1.0")]);
        let pushed = run(&["push", &format!("{name}:1.0")]);
        assert!(pushed.contains("1.0: digest: sha256:"), "{pushed}");

        let archive = work.join("saved.tar");
        let archive_text = archive.to_string_lossy().into_owned();
        run(&["save", "-o", &archive_text, "cli/base:1"]);
        let removed = run(&["rmi", "cli/base:1"]);
        assert!(removed.contains("Untagged: cli/base:1"), "{removed}");
        let loaded = run(&["load", "-i", &archive_text]);
        assert!(loaded.contains("Loaded image: cli/base:1"), "{loaded}");

        run(&["rmi", "cli/base:1", &format!("{name}:1.0")]);
        let empty = run(&["images", "-q"]);
        assert_eq!(empty.trim(), "", "every image removed: {empty}");

        let pulled = run(&["pull", &format!("{name}:1.0")]);
        assert!(
            pulled.contains("Status: Downloaded newer image"),
            "{pulled}"
        );
        let ids = run(&["images", "-q", "--no-trunc"]);
        assert_eq!(ids.trim(), id.trim());

        let pruned = run(&["image", "prune", "-af"]);
        assert!(
            pruned.contains(&format!("deleted: {}", id.trim())),
            "{pruned}"
        );
        assert_eq!(run(&["images", "-q"]).trim(), "");
    })
    .await
    .unwrap();
    registry_task.abort();
}

//! The client against a small fake daemon (hyper on a unix socket in a temp dir):
//! version negotiation, JSON calls, streamed logs and progress split at awkward places,
//! and the mapping of Docker's error bodies.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_client::codec::{encode_frame, encode_json_line, StreamType};
use berth_client::types::containers::{ContainerCreateRequest, ContainerStatus};
use berth_client::types::progress::JsonMessage;
use berth_client::types::version::ApiVersion;
use berth_client::{DockerClient, Error, ListContainersOptions, LogsOptions, PullOptions};
use bytes::Bytes;
use futures_util::stream;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;

type Body = BoxBody<Bytes, Infallible>;

/// A fake daemon announcing `api_version`; it records the request lines it receives.
struct FakeDaemon {
    socket: PathBuf,
    requests: Arc<Mutex<Vec<(String, Bytes)>>>,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDaemon {
    fn start(api_version: &'static str) -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("fake.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let seen = seen.clone();
                        async move { Ok::<_, Infallible>(answer(req, api_version, &seen).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeDaemon {
            socket,
            requests,
            _dir: dir,
            task,
        }
    }

    fn client(&self) -> DockerClient {
        DockerClient::new(&format!("unix://{}", self.socket.display())).unwrap()
    }

    fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(line, _)| line.clone())
            .collect()
    }

    /// The JSON body of the request with this line.
    fn body_of(&self, line: &str) -> serde_json::Value {
        let requests = self.requests.lock().unwrap();
        let (_, body) = requests
            .iter()
            .find(|(l, _)| l == line)
            .unwrap_or_else(|| panic!("no {line}"));
        serde_json::from_slice(body).unwrap()
    }
}

fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(body.into()).boxed())
        .unwrap()
}

/// A body sent in the given pieces, with a pause between them so that the client sees
/// them as separate reads.
fn chunked(pieces: Vec<Vec<u8>>, content_type: &str) -> Response<Body> {
    let body = stream::unfold(pieces.into_iter(), |mut rest| async move {
        let piece = rest.next()?;
        tokio::time::sleep(Duration::from_millis(5)).await;
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(piece))), rest))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", content_type)
        .body(StreamBody::new(body).boxed())
        .unwrap()
}

async fn answer(
    req: Request<Incoming>,
    api_version: &str,
    seen: &Mutex<Vec<(String, Bytes)>>,
) -> Response<Body> {
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let line = format!("{} {target}", req.method());
    let body = req.into_body().collect().await.unwrap().to_bytes();
    seen.lock().unwrap().push((line.clone(), body.clone()));
    let prefix = format!(
        "/v{}",
        api_version
            .parse::<ApiVersion>()
            .unwrap()
            .min(berth_client::types::version::MAX_API_VERSION)
    );
    if target == "/_ping" {
        return Response::builder()
            .header("API-Version", api_version)
            .header("OSType", "linux")
            .body(Full::new(Bytes::from_static(b"OK")).boxed())
            .unwrap();
    }
    let Some(rest) = target.strip_prefix(&prefix) else {
        return full(
            StatusCode::BAD_REQUEST,
            format!(r#"{{"message":"unexpected version in {target}"}}"#),
        );
    };
    match (line.split(' ').next().unwrap(), rest) {
        ("GET", "/containers/json?all=1") => full(
            StatusCode::OK,
            r#"[{"Id":"abc","Names":["/web"],"Image":"busybox","ImageID":"sha256:1","Command":"sh","Created":1700000000,"Ports":[{"PrivatePort":80,"Type":"tcp"}],"Labels":null,"State":"running","Status":"Up 1 second","HostConfig":{"NetworkMode":"default"},"Mounts":[],"FutureField":true}]"#,
        ),
        ("POST", "/containers/create?name=taken") => {
            let parsed: ContainerCreateRequest = serde_json::from_slice(&body).unwrap();
            assert_eq!(parsed.config.image.as_deref(), Some("busybox"));
            full(
                StatusCode::CONFLICT,
                r#"{"message":"Conflict. The container name \"/taken\" is already in use"}"#,
            )
        }
        ("GET", "/containers/abc/json") => full(
            StatusCode::OK,
            r#"{"Id":"abc","Name":"/web","State":{"Status":"running","Running":true},"Config":{"Tty":false,"Image":"busybox"},"Args":null,"Mounts":null}"#,
        ),
        ("GET", "/containers/missing/json") => full(
            StatusCode::NOT_FOUND,
            r#"{"message":"No such container: missing"}"#,
        ),
        ("POST", "/containers/abc/start") => Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .body(Full::new(Bytes::new()).boxed())
            .unwrap(),
        ("GET", "/containers/abc/logs?stdout=1&stderr=1") => {
            let mut framed = Vec::new();
            encode_frame(StreamType::Stdout, b"hello\n", &mut framed).unwrap();
            encode_frame(StreamType::Stderr, b"warning\n", &mut framed).unwrap();
            encode_frame(StreamType::Stdout, &vec![b'x'; 3000], &mut framed).unwrap();
            // Pieces that cut through a header and through payloads.
            let pieces = vec![
                framed[..3].to_vec(),
                framed[3..10].to_vec(),
                framed[10..20].to_vec(),
                framed[20..].to_vec(),
            ];
            // API 1.41 daemons call every output stream raw.
            let content_type = if api_version == "1.41" {
                "application/vnd.docker.raw-stream"
            } else {
                "application/vnd.docker.multiplexed-stream"
            };
            chunked(pieces, content_type)
        }
        ("GET", "/containers/tty/logs?stdout=1&stderr=1") => chunked(
            vec![b"raw ".to_vec(), b"tty output".to_vec()],
            "application/vnd.docker.raw-stream",
        ),
        ("POST", "/images/create?fromImage=busybox%3Alatest") => {
            let mut bytes = Vec::new();
            encode_json_line(
                &JsonMessage::status("Pulling from library/busybox"),
                &mut bytes,
            )
            .unwrap();
            encode_json_line(
                &JsonMessage::error("toomanyrequests: rate limit"),
                &mut bytes,
            )
            .unwrap();
            let mid = bytes.len() / 2;
            chunked(
                vec![bytes[..mid].to_vec(), bytes[mid..].to_vec()],
                "application/json",
            )
        }
        ("POST", "/networks/create") => full(StatusCode::CREATED, r#"{"Id":"n1","Warning":""}"#),
        ("POST", "/networks/n1/connect") | ("POST", "/networks/n1/disconnect") => {
            full(StatusCode::OK, "")
        }
        ("DELETE", "/networks/n1") => full(StatusCode::NO_CONTENT, ""),
        ("POST", "/volumes/create") => full(
            StatusCode::CREATED,
            r#"{"Name":"v1","Driver":"local","Mountpoint":"/var/lib/berth/volumes/v1/_data","Labels":null,"Scope":"local","Options":null}"#,
        ),
        ("DELETE", "/volumes/v1?force=1") => full(StatusCode::NO_CONTENT, ""),
        ("GET", "/info") => full(StatusCode::INTERNAL_SERVER_ERROR, "plain text failure"),
        _ => full(
            StatusCode::NOT_FOUND,
            format!(r#"{{"message":"page not found: {line}"}}"#),
        ),
    }
}

#[tokio::test]
async fn negotiates_down_to_the_daemons_version_once() {
    let daemon = FakeDaemon::start("1.44");
    let client = daemon.client();
    assert_eq!(client.api_version().await.unwrap(), ApiVersion::new(1, 44));
    let listed = client
        .list_containers(&ListContainersOptions {
            all: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed[0].id, "abc");
    assert_eq!(listed[0].state, ContainerStatus::Running);
    assert!(listed[0].labels.is_empty(), "null labels read as empty");
    client
        .start_container("abc")
        .await
        .expect("304 counts as started");
    let requests = daemon.requests();
    assert_eq!(
        requests.iter().filter(|r| *r == "GET /_ping").count(),
        1,
        "{requests:?}"
    );
    assert!(
        requests.contains(&"GET /v1.44/containers/json?all=1".to_string()),
        "{requests:?}"
    );
}

#[tokio::test]
async fn caps_a_newer_daemon_at_our_maximum_and_refuses_an_old_one() {
    let daemon = FakeDaemon::start("1.49");
    let client = daemon.client();
    assert_eq!(client.api_version().await.unwrap(), ApiVersion::new(1, 47));
    client
        .list_containers(&ListContainersOptions {
            all: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(daemon
        .requests()
        .contains(&"GET /v1.47/containers/json?all=1".to_string()));

    let old = FakeDaemon::start("1.30");
    let err = old.client().info().await.unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { .. }), "{err:?}");
}

#[tokio::test]
async fn maps_error_bodies_to_error_classes() {
    let daemon = FakeDaemon::start("1.47");
    let client = daemon.client();
    let err = client.inspect_container("missing").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.to_string(), "not found: No such container: missing");

    let request = ContainerCreateRequest {
        config: berth_client::types::containers::ContainerConfig {
            image: Some("busybox".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = client
        .create_container(Some("taken"), &request)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { message } if message.contains("already in use")),
        "{err:?}"
    );

    let err = client.info().await.unwrap_err();
    assert!(
        matches!(&err, Error::Server { status: 500, message } if message == "plain text failure"),
        "{err:?}"
    );
}

#[tokio::test]
async fn streams_framed_and_raw_logs() {
    let daemon = FakeDaemon::start("1.47");
    let client = daemon.client();
    let mut logs = client
        .logs("abc", &LogsOptions::all_output())
        .await
        .unwrap();
    assert!(logs.is_multiplexed());
    let first = logs.next().await.unwrap().unwrap();
    assert_eq!(
        (first.stream, &first.data[..]),
        (StreamType::Stdout, &b"hello\n"[..])
    );
    let (stdout, stderr) = logs.collect().await.unwrap();
    assert_eq!(stdout, vec![b'x'; 3000]);
    assert_eq!(stderr, b"warning\n");

    let tty = client
        .logs("tty", &LogsOptions::all_output())
        .await
        .unwrap();
    assert!(!tty.is_multiplexed());
    assert_eq!(tty.collect().await.unwrap().0, b"raw tty output");
}

#[tokio::test]
async fn a_pull_failure_inside_the_progress_stream_is_an_error() {
    let daemon = FakeDaemon::start("1.47");
    let client = daemon.client();
    let mut progress = client
        .pull_image("busybox:latest", &PullOptions::default())
        .await
        .unwrap();
    let first = progress.next().await.unwrap().unwrap();
    assert_eq!(
        first.status.as_deref(),
        Some("Pulling from library/busybox")
    );
    let err = progress.finish().await.unwrap_err();
    assert_eq!(err.to_string(), "toomanyrequests: rate limit");
}

#[tokio::test]
async fn an_absent_daemon_is_a_connect_error() {
    let dir = tempfile::tempdir().unwrap();
    let client = DockerClient::new(&format!("unix://{}/none.sock", dir.path().display())).unwrap();
    let err = client.ping().await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn before_api_1_42_the_tty_flag_tells_whether_logs_are_framed() {
    let daemon = FakeDaemon::start("1.41");
    let client = daemon.client();
    let logs = client
        .logs("abc", &LogsOptions::all_output())
        .await
        .unwrap();
    assert!(logs.is_multiplexed());
    let (stdout, stderr) = logs.collect().await.unwrap();
    assert_eq!(stdout.len(), "hello\n".len() + 3000);
    assert_eq!(stderr, b"warning\n");
    assert!(daemon
        .requests()
        .contains(&"GET /v1.41/containers/abc/json".to_string()));
}

#[tokio::test]
async fn network_and_volume_calls_send_docker_shaped_bodies() {
    use berth_client::types::networks::{EndpointSettings, Ipam, IpamConfig, NetworkCreateRequest};
    use berth_client::types::volumes::VolumeCreateRequest;

    let daemon = FakeDaemon::start("1.47");
    let client = daemon.client();
    let request = NetworkCreateRequest {
        name: "appnet".into(),
        driver: Some("bridge".into()),
        ipam: Some(Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some("10.9.0.0/24".into()),
                gateway: Some("10.9.0.1".into()),
                ..IpamConfig::default()
            }]),
            ..Ipam::default()
        }),
        ..NetworkCreateRequest::default()
    };
    assert_eq!(client.create_network(&request).await.unwrap().id, "n1");
    let endpoint = EndpointSettings {
        aliases: Some(vec!["db".into()]),
        ..Default::default()
    };
    client
        .connect_network("n1", "web", Some(endpoint))
        .await
        .unwrap();
    client.disconnect_network("n1", "web", true).await.unwrap();
    client.remove_network("n1").await.unwrap();
    assert_eq!(
        daemon.body_of("POST /v1.47/networks/create"),
        serde_json::json!({"Name": "appnet", "Driver": "bridge",
            "IPAM": {"Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1"}]}})
    );
    assert_eq!(
        daemon.body_of("POST /v1.47/networks/n1/connect"),
        serde_json::json!({"Container": "web", "EndpointConfig": {"Aliases": ["db"]}})
    );
    assert_eq!(
        daemon.body_of("POST /v1.47/networks/n1/disconnect"),
        serde_json::json!({"Container": "web", "Force": true})
    );

    let volume = client
        .create_volume(&VolumeCreateRequest {
            name: Some("v1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(volume.mountpoint, "/var/lib/berth/volumes/v1/_data");
    assert!(volume.labels.is_empty());
    client.remove_volume("v1", true).await.unwrap();
    assert_eq!(
        daemon.body_of("POST /v1.47/volumes/create"),
        serde_json::json!({"Name": "v1"})
    );
}

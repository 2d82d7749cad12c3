//! Crash safety: the server runs as a child process (this test binary re-run with an
//! environment variable, see `child_server`), is killed with SIGKILL mid-upload and
//! mid-pull, and restarted on the same root.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;

const ROOT_ENV: &str = "BERTH_REGISTRY_CRASH_CHILD_ROOT";
const ADDR_ENV: &str = "BERTH_REGISTRY_CRASH_CHILD_ADDR_FILE";

/// Not a test: the server of the crash tests, run in a child process.
#[test]
#[ignore = "helper: the crash tests run it as their child server"]
fn child_server() {
    let (Ok(root), Ok(addr_file)) = (std::env::var(ROOT_ENV), std::env::var(ADDR_ENV)) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let config = berth_registry::ServerConfig::new("127.0.0.1:0".parse().unwrap(), root);
        let server = berth_registry::Server::bind(config).await.unwrap();
        let tmp = format!("{addr_file}.tmp");
        std::fs::write(&tmp, server.local_addr().unwrap().to_string()).unwrap();
        std::fs::rename(&tmp, &addr_file).unwrap();
        server.run().await.unwrap();
    });
}

/// A child server, killed (SIGKILL) on drop.
struct ChildServer {
    child: Child,
    base: String,
}

impl ChildServer {
    fn start(root: &Path) -> Self {
        let addr_file = root.with_extension("addr");
        let _ = std::fs::remove_file(&addr_file);
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "child_server", "--test-threads=1"])
            .env(ROOT_ENV, root)
            .env(ADDR_ENV, &addr_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = ChildServer {
            child,
            base: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(addr) = std::fs::read_to_string(&addr_file) {
                server.base = format!("http://{addr}");
                return server;
            }
            assert!(Instant::now() < deadline, "child server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn blob_files(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root.join("content/blobs/sha256"))
        .map(|e| e.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_upload_resumes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let c = client();
    let blob = data(3 << 20);
    let digest = digest_of(&blob);
    let mut server = ChildServer::start(&root);
    let r = c
        .post(format!("{}/v2/crash/up/blobs/uploads/", server.base))
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_string();
    for (start, end) in [(0usize, 1 << 20), (1 << 20, 2 << 20)] {
        let r = c
            .patch(format!("{}{location}", server.base))
            .header("Content-Range", format!("{start}-{}", end - 1))
            .body(blob[start..end].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    // A streamed PATCH that is cut off by the kill: half a MiB sent, then the client
    // waits on a channel that never yields again.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    tx.send(Ok(blob[2 << 20..(2 << 20) + (1 << 19)].to_vec()))
        .await
        .unwrap();
    let url = format!("{}{location}", server.base);
    let c2 = c.clone();
    let pending = tokio::spawn(async move {
        c2.patch(url)
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    drop(tx);
    assert!(pending.await.unwrap().is_err(), "the cut PATCH fails");

    // No partial blob became visible.
    assert!(blob_files(&root).is_empty(), "{:?}", blob_files(&root));

    let server = ChildServer::start(&root);
    let r = c
        .head(format!("{}/v2/crash/up/blobs/{digest}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The session resumes where the disk says it stands.
    let r = c
        .get(format!("{}{location}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let range = r.headers()["range"].to_str().unwrap().to_string();
    let offset: usize = range.split('-').nth(1).unwrap().parse::<usize>().unwrap() + 1;
    assert!(
        ((2 << 20)..=(2 << 20) + (1 << 19)).contains(&offset),
        "{range}"
    );
    let r = c
        .put(format!("{}{location}?digest={digest}", server.base))
        .header("Content-Range", format!("{offset}-{}", blob.len() - 1))
        .body(blob[offset..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let got = c
        .get(format!("{}/v2/crash/up/blobs/{digest}", server.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(digest_of(&got), digest);
    // A fresh session works too.
    push_blob(&c, &server.base, "crash/up", b"after the crash").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_pull_keeps_the_store_intact() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let c = client();
    let layer = data(16 << 20);
    let mut server = ChildServer::start(&root);
    let manifest = push_image(&c, &server.base, "crash/pull", "v1", b"cfg", &[&layer]).await;
    let layer_digest = digest_of(&layer);
    let r = c
        .get(format!(
            "{}/v2/crash/pull/blobs/{layer_digest}",
            server.base
        ))
        .send()
        .await
        .unwrap();
    let mut stream = r.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    server.kill();
    let mut received = first.len();
    while let Some(Ok(chunk)) = stream.next().await {
        received += chunk.len();
    }
    assert!(received < layer.len(), "the pull was cut short");

    let server = ChildServer::start(&root);
    let r = c
        .get(format!("{}/v2/crash/pull/tags/list", server.base))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["tags"], serde_json::json!(["v1"]));
    let r = c
        .get(format!("{}/v2/crash/pull/manifests/v1", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["docker-content-digest"], manifest.as_str());
    let got = c
        .get(format!(
            "{}/v2/crash/pull/blobs/{layer_digest}",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(digest_of(&got), layer_digest);
    // Every blob in the store is whole: its name is its content's digest.
    for path in blob_files(&root) {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(digest_of(&bytes), format!("sha256:{name}"));
    }
}

//! Garbage collection while the server runs.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use berth_registry::{gc, GcOptions};
use common::*;

/// Makes every blob and metadata file look an hour old, as if pushed long ago.
fn age_everything(dir: &Path) {
    let old = SystemTime::now() - Duration::from_secs(3600);
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            age_everything(&path);
        } else {
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(old).unwrap();
        }
    }
}

fn in_store(root: &Path, digest: &str) -> bool {
    root.join("content/blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
        .exists()
}

#[tokio::test]
async fn gc_removes_unique_blobs_of_deleted_manifests_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let s = TestServer::open(root);
    let c = client();
    let shared: &[u8] = b"shared base layer";
    let gone = push_image(
        &c,
        &s.base,
        "app/a",
        "v1",
        b"config a",
        &[shared, b"only in a"],
    )
    .await;
    let kept = push_image(
        &c,
        &s.base,
        "app/b",
        "v1",
        b"config b",
        &[shared, b"only in b"],
    )
    .await;
    // An uploaded blob that no manifest references yet, and an upload in flight.
    let unreferenced_old = push_blob(&c, &s.base, "app/a", b"old and unreferenced").await;
    age_everything(&root.join("content"));
    let fresh = push_blob(&c, &s.base, "app/c", b"just uploaded, manifest coming").await;
    let r = c
        .post(format!("{}/v2/app/c/blobs/uploads/", s.base))
        .send()
        .await
        .unwrap();
    let location = format!("{}{}", s.base, r.headers()["location"].to_str().unwrap());
    c.patch(&location).body("in flight ").send().await.unwrap();

    let r = c
        .delete(format!("{}/v2/app/a/manifests/{gone}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);

    let report = gc(root, &GcOptions::default()).unwrap();
    let deleted: Vec<String> = report.blobs_deleted.iter().map(|d| d.to_string()).collect();
    let mut expected = vec![
        gone.clone(),
        digest_of(b"config a"),
        digest_of(b"only in a"),
        unreferenced_old.clone(),
    ];
    expected.sort();
    let mut deleted_sorted = deleted.clone();
    deleted_sorted.sort();
    assert_eq!(deleted_sorted, expected);
    for d in [
        digest_of(shared),
        digest_of(b"only in b"),
        kept.clone(),
        fresh.clone(),
    ] {
        assert!(in_store(root, &d), "{d} must survive");
    }

    // The running server sees the result: gone blobs are unknown, kept ones served.
    let r = c
        .head(format!(
            "{}/v2/app/a/blobs/{}",
            s.base,
            digest_of(b"only in a")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(format!("{}/v2/app/b/manifests/v1", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{}/v2/app/a/blobs/{}", s.base, digest_of(shared)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The in-flight upload finishes after gc.
    let total = b"in flight and done";
    let r = c
        .put(format!("{location}?digest={}", digest_of(total)))
        .body("and done")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // And the fresh blob can still be referenced by a manifest.
    let m = image_manifest((&fresh, 31), &[]);
    put_manifest(&c, &s.base, "app/c", "v1", OCI_MANIFEST, &m).await;
}

#[tokio::test]
async fn gc_deletes_untagged_manifests_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let s = TestServer::open(root);
    let c = client();
    let tagged = push_image(&c, &s.base, "r", "v1", b"cfg1", &[b"l1"]).await;
    let config = push_blob(&c, &s.base, "r", b"cfg2").await;
    let m = image_manifest((&config, 4), &[]);
    let untagged = put_manifest(&c, &s.base, "r", &digest_of(m.as_bytes()), OCI_MANIFEST, &m).await;
    age_everything(root);

    let report = gc(root, &GcOptions::default()).unwrap();
    assert!(report.blobs_deleted.is_empty(), "{report:?}");
    assert!(report.manifests_deleted.is_empty());

    let options = GcOptions {
        delete_untagged: true,
        ..GcOptions::default()
    };
    let report = gc(root, &options).unwrap();
    assert_eq!(report.manifests_deleted, vec![format!("r@{untagged}")]);
    let deleted: Vec<String> = report.blobs_deleted.iter().map(|d| d.to_string()).collect();
    assert!(deleted.contains(&untagged) && deleted.contains(&config));
    let r = c
        .get(format!("{}/v2/r/manifests/{untagged}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(format!("{}/v2/r/manifests/{tagged}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn gc_waits_for_a_manifest_put_in_progress() {
    // The lock a manifest PUT holds (shared) excludes gc (exclusive): gc run from another
    // thread blocks until the writer's lock is released.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(&root).unwrap();
    let lock = std::fs::File::create(root.join("gc.lock")).unwrap();
    let flock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockShared).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let r2 = root.clone();
    let t = std::thread::spawn(move || {
        let report = gc(&r2, &GcOptions::default());
        tx.send(report.is_ok()).unwrap();
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "gc must wait"
    );
    drop(flock);
    assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    t.join().unwrap();
}

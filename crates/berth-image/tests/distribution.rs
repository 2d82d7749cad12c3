//! The distribution client against a real registry (Debian's docker-registry), a proxy
//! that breaks and alters responses, and a scripted token server.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

#[path = "distribution/fake.rs"]
mod fake;
#[path = "distribution/image.rs"]
mod image;
#[path = "distribution/proxy.rs"]
mod proxy;
#[path = "distribution/registry.rs"]
mod registry;
#[path = "distribution/scripted.rs"]
mod scripted;
#[path = "distribution/tls.rs"]
mod tls;
#[path = "distribution/unpacker.rs"]
mod unpacker;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_image::content::ContentStore;
use berth_image::digest::Digest;
use berth_image::distribution::origins::BlobOrigins;
use berth_image::distribution::pull::{pull, PullOptions};
use berth_image::distribution::push::{push, PushOptions};
use berth_image::distribution::{
    ClientOptions, CredentialStore, Credentials, DistributionError, ProgressEvent, ProgressState,
    RegistryClient,
};
use berth_image::reference::Reference;

use image::{build, DOCKER, OCI};
use proxy::Proxy;
use registry::Registry;

pub(crate) fn client(addr: &str, credentials: Option<Credentials>) -> RegistryClient {
    let options = ClientOptions {
        credentials,
        retry_delay: Duration::from_millis(20),
        ..ClientOptions::default()
    };
    RegistryClient::new(addr, options).unwrap()
}

pub(crate) fn reference(addr: &str, rest: &str) -> Reference {
    Reference::parse(&format!("{addr}/{rest}")).unwrap()
}

/// Collects progress events.
#[derive(Clone, Default)]
pub(crate) struct Events(pub(crate) Arc<Mutex<Vec<ProgressEvent>>>);

impl Events {
    pub(crate) fn options(&self) -> Arc<dyn berth_image::distribution::ProgressSink> {
        let events = self.0.clone();
        Arc::new(move |e: &ProgressEvent| events.lock().unwrap().push(e.clone()))
    }

    pub(crate) fn count(&self, matches: impl Fn(&ProgressState) -> bool) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches(&e.state))
            .count()
    }
}

/// The digest a tag points to, by HEAD; a missing tag HEADs to nothing.
async fn reference_digest(client: &RegistryClient, name: &str) -> Digest {
    let (repo, tag) = name.split_once(':').unwrap();
    let head = client
        .head_manifest(repo, tag, berth_image::distribution::ACCEPT_MANIFESTS)
        .await
        .unwrap()
        .unwrap();
    assert!(client
        .head_manifest(repo, "missing", &[])
        .await
        .unwrap()
        .is_none());
    head.digest.unwrap()
}

pub(crate) fn creds(user: &str, password: &str) -> Credentials {
    Credentials {
        username: user.into(),
        password: password.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_then_pull_round_trips_both_flavours_skips_and_mounts() {
    let registry = Registry::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let local = ContentStore::open(dir.path().join("local")).unwrap();
    let origins = BlobOrigins::new(dir.path().join("origins"));
    let client = client(&registry.addr, None);
    client.ping().await.unwrap();

    for (i, flavour) in [OCI, DOCKER].iter().enumerate() {
        // Big enough that the second layer goes through the streamed PATCH path.
        let img = build(&local, flavour, i as u64 + 1, 9 << 20);
        let target = reference(&registry.addr, &format!("team/app{i}:v1"));
        let events = Events::default();
        let options = PushOptions {
            progress: events.options(),
            origins: Some(origins.clone()),
            ..PushOptions::default()
        };
        let pushed = push(&client, &local, &img.manifest, &target, &options)
            .await
            .unwrap();
        assert_eq!(pushed, img.manifest);
        assert_eq!(events.count(|s| *s == ProgressState::Pushed), 3);

        // Pull into a fresh store: identical digests and bytes.
        let fresh = ContentStore::open(dir.path().join(format!("fresh{i}"))).unwrap();
        let pulled = pull(&client, &fresh, &target, &PullOptions::default())
            .await
            .unwrap();
        assert_eq!(pulled.digest, img.manifest);
        let big = local.size(&img.layers[1]).unwrap();
        let repo = format!("team/app{i}");
        assert_eq!(
            client.blob_exists(&repo, &img.layers[1]).await.unwrap(),
            Some(big)
        );
        let absent = Digest::sha256_of(b"absent");
        assert_eq!(client.blob_exists(&repo, &absent).await.unwrap(), None);
        assert_eq!(pulled.media_type, flavour.manifest);
        assert_eq!(pulled.config.digest, img.config);
        for d in img.all_digests() {
            assert_eq!(
                fresh.read_blob(&d, 64 << 20).unwrap(),
                local.read_blob(&d, 64 << 20).unwrap()
            );
        }
        // By digest too.
        let by_digest = target.with_digest(img.manifest.clone());
        let again = pull(&client, &fresh, &by_digest, &PullOptions::default())
            .await
            .unwrap();
        assert_eq!(again.manifest_digest, img.manifest);

        // A second push uploads nothing.
        let events = Events::default();
        let options = PushOptions {
            progress: events.options(),
            origins: Some(origins.clone()),
            ..PushOptions::default()
        };
        push(&client, &local, &img.manifest, &target, &options)
            .await
            .unwrap();
        assert_eq!(events.count(|s| *s == ProgressState::LayerAlreadyExists), 3);
        assert_eq!(
            events.count(|s| matches!(s, ProgressState::Pushed | ProgressState::Pushing { .. })),
            0
        );

        // Another repository of the same registry: mounted, not uploaded.
        let other = reference(&registry.addr, &format!("elsewhere/copy{i}:latest"));
        let events = Events::default();
        let options = PushOptions {
            progress: events.options(),
            origins: Some(origins.clone()),
            ..PushOptions::default()
        };
        push(&client, &local, &img.manifest, &other, &options)
            .await
            .unwrap();
        let from = format!("team/app{i}");
        assert_eq!(
            events.count(|s| *s == ProgressState::Mounted { from: from.clone() }),
            3
        );
        assert_eq!(
            events.count(|s| matches!(s, ProgressState::Pushing { .. })),
            0
        );
        let pulled = pull(&client, &fresh, &other, &PullOptions::default())
            .await
            .unwrap();
        assert_eq!(pulled.digest, img.manifest);
    }
    assert_eq!(client.tags("team/app0").await.unwrap(), vec!["v1"]);
    let app0 = local
        .read_blob(&reference_digest(&client, "team/app0:v1").await, 1 << 20)
        .unwrap();
    for tag in ["v2", "v3"] {
        client
            .put_manifest("team/app0", tag, app0.clone().into(), OCI.manifest)
            .await
            .unwrap();
    }
    assert_eq!(
        client.tags_paged("team/app0", 1).await.unwrap(),
        vec!["v1", "v2", "v3"]
    );

    // Pulling into a store that has everything: every layer "Already exists".
    let events = Events::default();
    let options = PullOptions {
        progress: events.options(),
        ..PullOptions::default()
    };
    pull(
        &client,
        &local,
        &reference(&registry.addr, "team/app0:v1"),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(events.count(|s| *s == ProgressState::AlreadyExists), 2);

    let err = pull(
        &client,
        &local,
        &reference(&registry.addr, "team/app0:nope"),
        &PullOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "manifest unknown: {}/team/app0:nope not found",
            registry.addr
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_login_logout_and_wrong_password() {
    let registry = Registry::start(&[("alice", "s3cret")]);
    let dir = tempfile::tempdir().unwrap();
    let local = ContentStore::open(dir.path().join("local")).unwrap();
    let img = build(&local, &OCI, 7, 1000);
    let target = reference(&registry.addr, "private/app:1");

    // Anonymous: refused with the login hint.
    let err = push(
        &client(&registry.addr, None),
        &local,
        &img.manifest,
        &target,
        &PushOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, DistributionError::Unauthorized { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "unauthorized: authentication required (run `berth login {}`)",
            registry.addr
        )
    );

    let store = CredentialStore::at(dir.path().join("berth/config.json"));
    let err = store
        .login(
            &registry.addr,
            creds("alice", "wrong"),
            ClientOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DistributionError::LoginRefused { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("incorrect username or password"),
        "{err}"
    );
    assert_eq!(
        store.get(&registry.addr).unwrap(),
        None,
        "a refused login is not saved"
    );

    store
        .login(
            &registry.addr,
            creds("alice", "s3cret"),
            ClientOptions::default(),
        )
        .await
        .unwrap();
    let saved = store.get(&registry.addr).unwrap().unwrap();
    assert_eq!(saved, creds("alice", "s3cret"));

    let authed = client(&registry.addr, Some(saved));
    push(
        &authed,
        &local,
        &img.manifest,
        &target,
        &PushOptions::default(),
    )
    .await
    .unwrap();
    let fresh = ContentStore::open(dir.path().join("fresh")).unwrap();
    let pulled = pull(&authed, &fresh, &target, &PullOptions::default())
        .await
        .unwrap();
    assert_eq!(pulled.digest, img.manifest);

    assert!(store.logout(&registry.addr).unwrap());
    assert_eq!(store.get(&registry.addr).unwrap(), None);
    let err = pull(
        &client(&registry.addr, None),
        &fresh,
        &target,
        &PullOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, DistributionError::Unauthorized { .. }),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_pull_leaves_no_partial_blob_and_resumes_with_range() {
    let registry = Registry::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let local = ContentStore::open(dir.path().join("local")).unwrap();
    let img = build(&local, &DOCKER, 3, 2 << 20);
    let direct = client(&registry.addr, None);
    let target = reference(&registry.addr, "resume/app:1");
    push(
        &direct,
        &local,
        &img.manifest,
        &target,
        &PushOptions::default(),
    )
    .await
    .unwrap();

    // Every download of the big layer is cut after 200 kB: after its bounded retries (each
    // resuming where the last stopped) the pull gives up.
    let proxy = Proxy::start(&registry.addr);
    proxy.target(img.layers[1].hex());
    proxy.faults.cut_after.store(200_000, Ordering::SeqCst);
    let via_proxy = client(&proxy.addr, None);
    let store = ContentStore::open(dir.path().join("fresh")).unwrap();
    let target = reference(&proxy.addr, "resume/app:1");
    let err = pull(&via_proxy, &store, &target, &PullOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("resume/app") || err.to_string().contains("ended"),
        "{err}"
    );
    assert!(
        !store.contains(&img.layers[1]),
        "a partial blob must never be visible"
    );
    assert!(!store.list().unwrap().contains(&img.layers[1]));
    assert_eq!(
        store.ingests().len(),
        1,
        "the partial download is kept for resuming"
    );
    // Each retry resumed where the last stopped.
    assert!(proxy.seen("range: bytes="), "no Range request was made");

    // Cuts after 700 kB: the next pull continues from the ingest and finishes within its
    // retries, each a Range request from where the last stopped.
    proxy.faults.cut_after.store(700_000, Ordering::SeqCst);
    proxy.requests.lock().unwrap().clear();
    let pulled = pull(&via_proxy, &store, &target, &PullOptions::default())
        .await
        .unwrap();
    assert_eq!(pulled.digest, img.manifest);
    assert_eq!(
        store.read_blob(&img.layers[1], 64 << 20).unwrap(),
        local.read_blob(&img.layers[1], 64 << 20).unwrap()
    );
    assert!(store.ingests().is_empty());
    let ranges = proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.to_ascii_lowercase().contains("range: bytes="))
        .count();
    assert!(ranges >= 2, "expected resumed requests, saw {ranges}");

    // The registry killed mid-pull (the big layer held half-way by the proxy): the store
    // holds only complete blobs, and a pull after the restart succeeds.
    let mut registry = registry;
    let store2 = ContentStore::open(dir.path().join("fresh2")).unwrap();
    proxy.faults.cut_after.store(0, Ordering::SeqCst);
    proxy.faults.pause_after.store(500_000, Ordering::SeqCst);
    let pulling = {
        let store2 = store2.clone();
        let c = via_proxy.clone();
        let t = target.clone();
        tokio::spawn(async move { pull(&c, &store2, &t, &PullOptions::default()).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !proxy.faults.paused.load(Ordering::SeqCst) {
        assert!(
            std::time::Instant::now() < deadline,
            "the download never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!store2.contains(&img.layers[1]));
    registry.restart();
    proxy.faults.pause_after.store(0, Ordering::SeqCst);
    proxy.faults.release.store(true, Ordering::SeqCst);
    let _ = pulling.await.unwrap();
    for d in store2.list().unwrap() {
        let bytes = store2.read_blob(&d, 64 << 20).unwrap();
        assert_eq!(Digest::sha256_of(&bytes), d);
    }
    let pulled = pull(&via_proxy, &store2, &target, &PullOptions::default())
        .await
        .unwrap();
    assert_eq!(pulled.digest, img.manifest);
    for d in img.all_digests() {
        assert!(store2.contains(&d));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_manifest_and_blob_bytes_are_refused() {
    let registry = Registry::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let local = ContentStore::open(dir.path().join("local")).unwrap();
    let img = build(&local, &OCI, 11, 1000);
    push(
        &client(&registry.addr, None),
        &local,
        &img.manifest,
        &reference(&registry.addr, "bad/app:1"),
        &PushOptions::default(),
    )
    .await
    .unwrap();
    let proxy = Proxy::start(&registry.addr);
    let c = client(&proxy.addr, None);
    let store = ContentStore::open(dir.path().join("fresh")).unwrap();

    proxy.faults.corrupt.store(true, Ordering::SeqCst);
    proxy.target("/manifests/");
    for tag in ["bad/app:1".to_string(), format!("bad/app@{}", img.manifest)] {
        let err = pull(
            &c,
            &store,
            &reference(&proxy.addr, &tag),
            &PullOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, DistributionError::DigestMismatch { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("digest mismatch for manifest"),
            "{err}"
        );
    }

    proxy.target(img.layers[0].hex());
    let err = pull(
        &c,
        &store,
        &reference(&proxy.addr, "bad/app:1"),
        &PullOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, DistributionError::DigestMismatch { ref expected, .. } if *expected == img.layers[0]),
        "{err:?}"
    );
    assert!(!store.contains(&img.layers[0]));
    // (The other layer's download, stopped by the failure, may stay to be resumed.)
    let wrong = img.layers[0].to_string();
    assert!(
        !store.ingests().iter().any(|r| r.ends_with(&wrong)),
        "a wrong blob is discarded, not resumed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pulls_of_one_image_share_the_store_and_report_progress() {
    let registry = Registry::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let local = ContentStore::open(dir.path().join("local")).unwrap();
    let img = build(&local, &OCI, 31, 3 << 20);
    let c = client(&registry.addr, None);
    let target = reference(&registry.addr, "shared/app:1");
    push(&c, &local, &img.manifest, &target, &PushOptions::default())
        .await
        .unwrap();

    let store = ContentStore::open(dir.path().join("fresh")).unwrap();
    let events = Events::default();
    let options = PullOptions {
        progress: events.options(),
        ..PullOptions::default()
    };
    let (a, b) = tokio::join!(
        pull(&c, &store, &target, &options),
        pull(&c, &store, &target, &options)
    );
    assert_eq!(a.unwrap().digest, img.manifest);
    assert_eq!(b.unwrap().digest, img.manifest);
    for d in img.all_digests() {
        assert!(store.contains(&d));
    }
    assert!(store.ingests().is_empty());
    let big = local.size(&img.layers[1]).unwrap();
    let events = events.0.lock().unwrap().clone();
    let of_big: Vec<&ProgressState> = events
        .iter()
        .filter(|e| e.digest == img.layers[1])
        .map(|e| &e.state)
        .collect();
    assert!(
        of_big.contains(&&ProgressState::Downloading {
            current: big,
            total: big
        }),
        "{of_big:?}"
    );
    assert!(of_big.contains(&&ProgressState::Verifying));
    assert!(of_big.contains(&&ProgressState::PullComplete));
    // The config is fetched quietly, as docker does.
    assert!(!events.iter().any(|e| e.digest == img.config));
}

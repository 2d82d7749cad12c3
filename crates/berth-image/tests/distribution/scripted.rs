//! Against scripted servers: the token flow, retries, and answers no real registry sends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use berth_image::content::ContentStore;
use berth_image::digest::Digest;
use berth_image::distribution::pull::{pull, PullOptions};
use berth_image::distribution::DistributionError;

use crate::fake::FakeServer;
use crate::{client, creds, reference};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_manifest_and_registry_errors_are_clear() {
    let body = br#"{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": "#.to_vec();
    let digest = Digest::sha256_of(&body);
    let server = FakeServer::start(move |req| {
        if req.target.contains("/manifests/good") {
            return (
                200,
                vec![
                    (
                        "Content-Type".into(),
                        "application/vnd.oci.image.manifest.v1+json".into(),
                    ),
                    ("Docker-Content-Digest".into(), digest.to_string()),
                ],
                body.clone(),
            );
        }
        let error = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#;
        (
            404,
            vec![("Content-Type".into(), "application/json".into())],
            error.to_vec(),
        )
    });
    let c = client(&server.addr, None);
    let store = ContentStore::open(tempfile::tempdir().unwrap().keep()).unwrap();
    let err = pull(
        &c,
        &store,
        &reference(&server.addr, "x/y:good"),
        &PullOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, DistributionError::BadManifest { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("invalid manifest for `{}/x/y:good`", server.addr)),
        "{err}"
    );

    let err = c.tags("x/y").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("NAME_UNKNOWN: repository name not known to registry"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_flow_caches_tokens_per_scope() {
    let token_requests = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = token_requests.clone();
    let realm = FakeServer::start(move |req| {
        log.lock().unwrap().push(req.target.clone());
        // bob:pw
        if req.header("authorization") != Some("Basic Ym9iOnB3") {
            return (401, vec![], b"{}".to_vec());
        }
        (
            200,
            vec![],
            br#"{"access_token":"tok-1","expires_in":300}"#.to_vec(),
        )
    });
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}"#.to_vec();
    let challenge = format!(
        r#"Bearer realm="http://{}/token",service="fake-registry",scope="repository:lib/app:pull""#,
        realm.addr
    );
    let registry = FakeServer::start(move |req| {
        if req.header("authorization") != Some("Bearer tok-1") {
            return (
                401,
                vec![("WWW-Authenticate".into(), challenge.clone())],
                b"{}".to_vec(),
            );
        }
        (
            200,
            vec![(
                "Content-Type".into(),
                "application/vnd.oci.image.manifest.v1+json".into(),
            )],
            manifest.clone(),
        )
    });
    let c = client(&registry.addr, Some(creds("bob", "pw")));
    for _ in 0..3 {
        let m = c
            .get_manifest(
                "lib/app",
                "latest",
                &["application/vnd.oci.image.manifest.v1+json"],
            )
            .await
            .unwrap();
        assert_eq!(m.media_type, "application/vnd.oci.image.manifest.v1+json");
    }
    {
        let requests = token_requests.lock().unwrap();
        assert_eq!(requests.len(), 1, "the token is cached: {requests:?}");
        assert!(
            requests[0].contains("service=fake-registry"),
            "{}",
            requests[0]
        );
        assert!(
            requests[0].contains("scope=repository%3Alib%2Fapp%3Apull"),
            "{}",
            requests[0]
        );
    }
    // Another scope needs another token.
    c.get_manifest(
        "lib/other",
        "latest",
        &["application/vnd.oci.image.manifest.v1+json"],
    )
    .await
    .unwrap();
    assert_eq!(token_requests.lock().unwrap().len(), 2);

    // Wrong credentials: the token server refuses, the user is told to log in.
    let wrong = client(&registry.addr, Some(creds("bob", "nope")));
    let err = wrong
        .get_manifest("lib/app", "latest", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "unauthorized: authentication required (run `berth login {}`)",
            registry.addr
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let manifest = br#"{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}"#.to_vec();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let flaky = FakeServer::start(move |req| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        match (req.target.contains("always"), n) {
            (true, _) => (
                503,
                vec![],
                br#"{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}"#.to_vec(),
            ),
            (false, 0) => (503, vec![], vec![]),
            (false, 1) => (429, vec![("Retry-After".into(), "0".into())], vec![]),
            (false, _) => (
                200,
                vec![("Content-Type".into(), OCI_MANIFEST.into())],
                manifest.clone(),
            ),
        }
    });
    let c = client(&flaky.addr, None);
    let m = c.get_manifest("a/b", "ok", &[OCI_MANIFEST]).await.unwrap();
    assert_eq!(m.media_type, OCI_MANIFEST);
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    hits.store(0, Ordering::SeqCst);
    let err = c
        .get_manifest("a/b", "always", &[OCI_MANIFEST])
        .await
        .unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 4, "bounded attempts");
    assert!(err.to_string().contains("503"), "{err}");
    assert!(err.to_string().contains("UNAVAILABLE: try later"), "{err}");

    // A manifest PUT is retried too (same bytes, same result), an upload POST is not.
    hits.store(0, Ordering::SeqCst);
    let err = c
        .upload_blob(
            "always/x",
            &Digest::sha256_of(b"x"),
            1,
            berth_image::distribution::BlobSource::Bytes(bytes::Bytes::from_static(b"x")),
            None,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    // Each attempt is one POST (never replayed by the request loop): 4 attempts at most.
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

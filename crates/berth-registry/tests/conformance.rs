//! The distribution API against an in-process server: every route, error code,
//! pagination, ranges, chunk order, mounts, referrers.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod common;

use common::*;

fn setup() -> (tempfile::TempDir, TestServer, reqwest::Client) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::open(dir.path());
    (dir, server, client())
}

#[tokio::test]
async fn base_endpoint_announces_the_api_version() {
    let (_d, s, c) = setup();
    let r = c.get(format!("{}/v2/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
}

#[tokio::test]
async fn blobs_head_get_range_delete() {
    let (_d, s, c) = setup();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let digest = push_blob(&c, &s.base, "a/b/c", &data).await;
    let url = format!("{}/v2/a/b/c/blobs/{digest}", s.base);

    let r = c.head(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"],
        data.len().to_string().as_str()
    );
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());

    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);

    let r = c
        .get(&url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 10-19/{}", data.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[10..20]);

    let r = c
        .get(&url)
        .header("Range", "bytes=2999990-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[2_999_990..]);

    let r = c
        .get(&url)
        .header("Range", "bytes=5000000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);

    // Not linked to another repository, even though the store has it.
    let r = c
        .get(format!("{}/v2/other/blobs/{digest}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");

    let r = c.delete(&url).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let r = c.head(&url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c.delete(&url).send().await.unwrap();
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");

    let r = c
        .get(format!("{}/v2/a/blobs/sha256:nothex", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn monolithic_upload_with_wrong_digest_is_refused() {
    let (_d, s, c) = setup();
    let wrong = digest_of(b"other");
    let r = c
        .post(format!("{}/v2/r/blobs/uploads/?digest={wrong}", s.base))
        .body("data")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    let r = c
        .head(format!("{}/v2/r/blobs/{}", s.base, digest_of(b"data")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn chunked_upload_checks_order_and_digest() {
    let (_d, s, c) = setup();
    let start = c
        .post(format!("{}/v2/r/blobs/uploads/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 202);
    assert!(start.headers().contains_key("docker-upload-uuid"));
    assert_eq!(start.headers()["range"], "0-0");
    let loc = format!(
        "{}{}",
        s.base,
        start.headers()["location"].to_str().unwrap()
    );

    let r = c
        .patch(&loc)
        .header("Content-Range", "0-4")
        .header("Content-Type", "application/octet-stream")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"], "0-4");

    // A gap: 416 with the current range.
    let r = c
        .patch(&loc)
        .header("Content-Range", "7-9")
        .body("xyz")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["range"], "0-4");

    let r = c.get(&loc).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["range"], "0-4");

    // A streamed chunk (no Content-Range) appends.
    let r = c.patch(&loc).body(" world").send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"], "0-10");

    let good = digest_of(b"hello world!");
    let r = c
        .put(format!("{loc}?digest={good}"))
        .header("Content-Range", "11-11")
        .body("!")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let r = c
        .get(format!("{}/v2/r/blobs/{good}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "hello world!");
    // The session is over.
    let r = c.get(&loc).send().await.unwrap();
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");

    // Digest mismatch on finish.
    let start = c
        .post(format!("{}/v2/r/blobs/uploads/", s.base))
        .send()
        .await
        .unwrap();
    let loc = format!(
        "{}{}",
        s.base,
        start.headers()["location"].to_str().unwrap()
    );
    c.patch(&loc).body("abc").send().await.unwrap();
    let r = c
        .put(format!("{loc}?digest={}", digest_of(b"abd")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");

    // A session belongs to its repository.
    let start = c
        .post(format!("{}/v2/r/blobs/uploads/", s.base))
        .send()
        .await
        .unwrap();
    let path = start.headers()["location"].to_str().unwrap().to_string();
    let elsewhere = format!("{}{}", s.base, path.replacen("/v2/r/", "/v2/q/", 1));
    let r = c.patch(&elsewhere).body("x").send().await.unwrap();
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");

    // Cancel.
    let start = c
        .post(format!("{}/v2/r/blobs/uploads/", s.base))
        .send()
        .await
        .unwrap();
    let loc = format!(
        "{}{}",
        s.base,
        start.headers()["location"].to_str().unwrap()
    );
    assert_eq!(c.delete(&loc).send().await.unwrap().status(), 204);
    let r = c.patch(&loc).body("x").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
    let r = c
        .patch(format!("{}/v2/r/blobs/uploads/not-a-uuid", s.base))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn cross_repository_mount() {
    let (_d, s, c) = setup();
    let digest = push_blob(&c, &s.base, "src", b"shared layer").await;
    let r = c
        .post(format!(
            "{}/v2/dst/blobs/uploads/?mount={digest}&from=src",
            s.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    let r = c
        .get(format!("{}/v2/dst/blobs/{digest}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "shared layer");
    // The source does not have it: an ordinary session.
    let missing = digest_of(b"nope");
    let r = c
        .post(format!(
            "{}/v2/dst/blobs/uploads/?mount={missing}&from=src",
            s.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(r.headers().contains_key("docker-upload-uuid"));
}

#[tokio::test]
async fn manifests_put_get_head_delete() {
    let (_d, s, c) = setup();
    let repo = "lib/app";
    let digest = push_image(&c, &s.base, repo, "v1", b"{\"config\":1}", &[b"l1", b"l2"]).await;
    for reference in ["v1", digest.as_str()] {
        let url = format!("{}/v2/{repo}/manifests/{reference}", s.base);
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], OCI_MANIFEST);
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
        let body = r.bytes().await.unwrap();
        assert_eq!(digest_of(&body), digest);
        let r = c.head(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-length"],
            body.len().to_string().as_str()
        );
    }
    // Delete the tag: the manifest stays by digest.
    let r = c
        .delete(format!("{}/v2/{repo}/manifests/v1", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = c
        .get(format!("{}/v2/{repo}/manifests/v1", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
    let url = format!("{}/v2/{repo}/manifests/{digest}", s.base);
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(c.delete(&url).send().await.unwrap().status(), 202);
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn bad_manifests_are_refused_with_the_right_code() {
    let (_d, s, c) = setup();
    let repo = "r";
    let config = push_blob(&c, &s.base, repo, b"cfg").await;
    let missing = digest_of(b"missing layer");
    let put = |reference: String, ct: &'static str, body: String| {
        let c = c.clone();
        let url = format!("{}/v2/{repo}/manifests/{reference}", s.base);
        async move {
            let r = c
                .put(url)
                .header("Content-Type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, error_code(r).await)
        }
    };
    let m = image_manifest((&config, 3), &[(&missing, 13)]);
    assert_eq!(
        put("t".into(), OCI_MANIFEST, m).await,
        (404, "MANIFEST_BLOB_UNKNOWN".into())
    );
    assert_eq!(
        put("t".into(), OCI_MANIFEST, "{not json".into()).await,
        (400, "MANIFEST_INVALID".into())
    );
    let ok = image_manifest((&config, 3), &[]);
    let wrong = digest_of(b"x");
    assert_eq!(
        put(wrong.clone(), OCI_MANIFEST, ok.clone()).await,
        (400, "DIGEST_INVALID".into())
    );
    assert_eq!(
        put(format!("t@{wrong}"), OCI_MANIFEST, ok.clone()).await,
        (400, "DIGEST_INVALID".into())
    );
    assert_eq!(
        put(".bad".into(), OCI_MANIFEST, ok.clone()).await,
        (400, "TAG_INVALID".into())
    );
    assert_eq!(
        put("t".into(), OCI_INDEX, ok.clone()).await,
        (400, "MANIFEST_INVALID".into())
    );
    // An index whose child is absent.
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": missing, "size": 10}]})
    .to_string();
    assert_eq!(
        put("idx".into(), OCI_INDEX, index).await,
        (404, "MANIFEST_UNKNOWN".into())
    );
    let r = c
        .get(format!("{}/v2/Bad_Name/tags/list", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "NAME_INVALID");
    let r = c
        .get(format!("{}/v2/nobody/tags/list", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "NAME_UNKNOWN");
    let r = c
        .post(format!("{}/v2/r/tags/list", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(error_code(r).await, "UNSUPPORTED");
}

#[tokio::test]
async fn index_and_docker_media_types() {
    let (_d, s, c) = setup();
    let repo = "multi";
    let amd = push_image(&c, &s.base, repo, "amd", b"c1", &[b"x"]).await;
    let config = push_blob(&c, &s.base, repo, b"c2").await;
    let layer = push_blob(&c, &s.base, repo, b"y").await;
    let docker = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 1}]
    })
    .to_string();
    let dm = put_manifest(
        &c,
        &s.base,
        repo,
        "arm",
        "application/vnd.docker.distribution.manifest.v2+json",
        &docker,
    )
    .await;
    let list = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": dm, "size": 1, "platform": {"os": "linux", "architecture": "arm64"}}
        ]
    })
    .to_string();
    put_manifest(
        &c,
        &s.base,
        repo,
        "latest",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        &list,
    )
    .await;
    let r = c
        .get(format!("{}/v2/{repo}/manifests/latest", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
}

#[tokio::test]
async fn tags_and_catalog_paginate() {
    let (_d, s, c) = setup();
    for repo in ["b", "a", "c/d"] {
        let config = push_blob(&c, &s.base, repo, b"cfg").await;
        let m = image_manifest((&config, 3), &[]);
        for tag in ["v3", "v1", "v2"] {
            put_manifest(&c, &s.base, repo, tag, OCI_MANIFEST, &m).await;
        }
    }
    let r = c
        .get(format!("{}/v2/a/tags/list", s.base))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["tags"], serde_json::json!(["v1", "v2", "v3"]));
    let r = c
        .get(format!("{}/v2/a/tags/list?n=2", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["link"],
        "</v2/a/tags/list?n=2&last=v2>; rel=\"next\""
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["tags"], serde_json::json!(["v1", "v2"]));
    let r = c
        .get(format!("{}/v2/a/tags/list?n=2&last=v2", s.base))
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("link"));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["tags"], serde_json::json!(["v3"]));

    let r = c
        .get(format!("{}/v2/_catalog?n=2", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["link"],
        "</v2/_catalog?n=2&last=b>; rel=\"next\""
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["a", "b"]));
    let r = c
        .get(format!("{}/v2/_catalog?last=b", s.base))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["c/d"]));
}

#[tokio::test]
async fn referrers_and_subject() {
    let (_d, s, c) = setup();
    let repo = "signed";
    let subject = push_image(&c, &s.base, repo, "v1", b"cfg", &[b"layer"]).await;
    let empty = push_blob(&c, &s.base, repo, b"{}").await;
    let mut sigs = Vec::new();
    for (kind, payload) in [
        ("application/vnd.example.sig", b"sig".as_slice()),
        ("application/vnd.example.sbom", b"sbom".as_slice()),
    ] {
        let blob = push_blob(&c, &s.base, repo, payload).await;
        let m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": kind,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": "application/octet-stream", "digest": blob, "size": payload.len()}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
            "annotations": {"k": kind}
        })
        .to_string();
        let d = digest_of(m.as_bytes());
        let r = c
            .put(format!("{}/v2/{repo}/manifests/{d}", s.base))
            .header("Content-Type", OCI_MANIFEST)
            .body(m)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["oci-subject"], subject.as_str());
        sigs.push(d);
    }
    let r = c
        .get(format!("{}/v2/{repo}/referrers/{subject}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], OCI_INDEX);
    assert!(!r.headers().contains_key("oci-filters-applied"));
    let v: serde_json::Value = r.json().await.unwrap();
    let listed = v["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let r = c
        .get(format!(
            "{}/v2/{repo}/referrers/{subject}?artifactType=application/vnd.example.sbom",
            s.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["oci-filters-applied"], "artifactType");
    let v: serde_json::Value = r.json().await.unwrap();
    let listed = v["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["artifactType"], "application/vnd.example.sbom");
    assert_eq!(listed[0]["digest"], sigs[1].as_str());
    assert_eq!(
        listed[0]["annotations"]["k"],
        "application/vnd.example.sbom"
    );
    // Nothing refers to the layer's digest: an empty index, not an error.
    let r = c
        .get(format!("{}/v2/{repo}/referrers/{empty}", s.base))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["manifests"], serde_json::json!([]));
}

#[tokio::test]
async fn metadata_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let digest = {
        let s = TestServer::open(dir.path());
        push_image(&c, &s.base, "keep/me", "v1", b"cfg", &[b"l"]).await
    };
    let s = TestServer::open(dir.path());
    let r = c
        .get(format!("{}/v2/keep/me/manifests/v1", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_of_the_same_blob() {
    let (_d, s, c) = setup();
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i % 241) as u8).collect();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (c, base, data) = (c.clone(), s.base.clone(), data.clone());
        tasks.push(tokio::spawn(async move {
            push_blob(&c, &base, &format!("same/r{i}"), &data).await
        }));
    }
    let digest = digest_of(&data);
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), digest);
        let r = c
            .get(format!("{}/v2/same/r{i}/blobs/{digest}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
    }
}

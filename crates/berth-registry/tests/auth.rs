//! Access: loopback-only without auth, htpasswd basic auth, the token flow with public and
//! private repositories, DENIED, TLS.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod common;

use std::path::Path;

use berth_registry::{RegistryError, Server, ServerConfig, TlsConfig, TokenConfig};
use common::*;

const POLICY: &str = r#"{"default": "private", "repositories": {
    "library/*": "public",
    "team/app": {"visibility": "private", "pull": ["bob"], "push": ["alice"]}
}}"#;

fn write_auth_files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let htpasswd = dir.join("htpasswd");
    let lines = format!(
        "alice:{}\nbob:{}\ncarol:{}\n",
        bcrypt::hash("alice-pw", 4).unwrap(),
        bcrypt::hash("bob-pw", 4).unwrap(),
        bcrypt::hash("carol-pw", 4).unwrap()
    );
    std::fs::write(&htpasswd, lines).unwrap();
    let policy = dir.join("policy.json");
    std::fs::write(&policy, POLICY).unwrap();
    (htpasswd, policy)
}

fn config(dir: &Path, token: bool) -> ServerConfig {
    let (htpasswd, policy) = write_auth_files(dir);
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("root"));
    config.htpasswd = Some(htpasswd);
    config.policy = Some(policy);
    if token {
        config.token = Some(TokenConfig::default());
    }
    config
}

#[tokio::test]
async fn no_auth_refuses_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig::new("0.0.0.0:0".parse().unwrap(), dir.path());
    let err = Server::bind(config).await.unwrap_err();
    assert!(matches!(err, RegistryError::InsecureListen(_)));
    assert!(err.to_string().contains("--htpasswd"), "{err}");
}

#[tokio::test]
async fn basic_auth_and_policy() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path(), false));
    let c = client();
    let r = c.get(format!("{}/v2/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
    let r = c
        .get(format!("{}/v2/", s.base))
        .basic_auth("alice", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "UNAUTHORIZED");
    let r = c
        .get(format!("{}/v2/", s.base))
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // alice pushes to team/app and library/x; bob may pull team/app but not push.
    let data = b"layer";
    let d = digest_of(data);
    for repo in ["team/app", "library/x"] {
        let r = c
            .post(format!("{}/v2/{repo}/blobs/uploads/?digest={d}", s.base))
            .basic_auth("alice", Some("alice-pw"))
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let blob = |repo: &str| format!("{}/v2/{repo}/blobs/{d}", s.base);
    let r = c
        .get(blob("team/app"))
        .basic_auth("bob", Some("bob-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{}/v2/team/app/blobs/uploads/", s.base))
        .basic_auth("bob", Some("bob-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "DENIED");
    // Anonymous: public pull yes, private pull no, push no.
    assert_eq!(c.get(blob("library/x")).send().await.unwrap().status(), 200);
    let r = c.get(blob("team/app")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "UNAUTHORIZED");
    let r = c
        .post(format!("{}/v2/library/x/blobs/uploads/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The catalog needs a user and lists only what that user may pull.
    let catalog = format!("{}/v2/_catalog", s.base);
    assert_eq!(c.get(&catalog).send().await.unwrap().status(), 401);
    let list = |user: &'static str, pw: &'static str| {
        let (c, url) = (c.clone(), catalog.clone());
        async move {
            let r = c.get(url).basic_auth(user, Some(pw)).send().await.unwrap();
            let v: serde_json::Value = r.json().await.unwrap();
            v["repositories"].clone()
        }
    };
    assert_eq!(
        list("alice", "alice-pw").await,
        serde_json::json!(["library/x", "team/app"])
    );
    assert_eq!(
        list("bob", "bob-pw").await,
        serde_json::json!(["library/x", "team/app"])
    );
    assert_eq!(
        list("carol", "carol-pw").await,
        serde_json::json!(["library/x"])
    );
}

async fn token(
    c: &reqwest::Client,
    base: &str,
    creds: Option<(&str, &str)>,
    scope: &str,
) -> String {
    let mut req = c.get(format!("{base}/token?service=berth-registry&scope={scope}"));
    if let Some((u, p)) = creds {
        req = req.basic_auth(u, Some(p));
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn token_flow_with_public_and_private_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(config(dir.path(), true));
    let c = client();
    let r = c.get(format!("{}/v2/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        challenge,
        format!(
            "Bearer realm=\"{}/token\",service=\"berth-registry\"",
            s.base
        )
    );
    let r = c
        .get(format!("{}/v2/library/x/manifests/latest", s.base))
        .header("Authorization", "Bearer not-a-jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("scope=\"repository:library/x:pull\""));

    // Wrong password at the token endpoint.
    let r = c
        .get(format!("{}/token?scope=repository:team/app:pull", s.base))
        .basic_auth("alice", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "UNAUTHORIZED");

    // alice pushes an image with a push token.
    let alice = token(
        &c,
        &s.base,
        Some(("alice", "alice-pw")),
        "repository:team/app:pull,push",
    )
    .await;
    let pub_alice = token(
        &c,
        &s.base,
        Some(("alice", "alice-pw")),
        "repository:library/x:pull,push",
    )
    .await;
    let data = b"layer";
    let d = digest_of(data);
    for (repo, t) in [("team/app", &alice), ("library/x", &pub_alice)] {
        let r = c
            .post(format!("{}/v2/{repo}/blobs/uploads/?digest={d}", s.base))
            .bearer_auth(t)
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{repo}");
    }
    // A token for one repository does not open another.
    let r = c
        .get(format!("{}/v2/library/x/tags/list", s.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Anonymous token: the public repository only.
    let anon_pub = token(&c, &s.base, None, "repository:library/x:pull").await;
    let r = c
        .get(format!("{}/v2/library/x/blobs/{d}", s.base))
        .bearer_auth(&anon_pub)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{}/v2/", s.base))
        .bearer_auth(&anon_pub)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let anon_priv = token(&c, &s.base, None, "repository:team/app:pull").await;
    let r = c
        .get(format!("{}/v2/team/app/blobs/{d}", s.base))
        .bearer_auth(&anon_priv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // bob may pull but not push team/app: his push token lacks push -> DENIED.
    let bob = token(
        &c,
        &s.base,
        Some(("bob", "bob-pw")),
        "repository:team/app:pull,push",
    )
    .await;
    let r = c
        .get(format!("{}/v2/team/app/blobs/{d}", s.base))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{}/v2/team/app/blobs/uploads/", s.base))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "DENIED");
}

#[tokio::test]
async fn tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("root"));
    config.tls = Some(TlsConfig {
        cert: cert.clone(),
        key,
    });
    let s = TestServer::start(config);
    let _ = client();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let c = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let r = c
        .get(format!("https://{}/v2/", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Plain HTTP to the TLS port does not get an answer.
    assert!(client()
        .get(format!("http://{}/v2/", s.addr))
        .send()
        .await
        .is_err());
}

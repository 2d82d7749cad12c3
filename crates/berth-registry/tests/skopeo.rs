//! skopeo (a real client) copies an image into the registry and back with identical
//! digests, without auth, with basic auth, and with the token flow.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use berth_registry::{ServerConfig, TokenConfig};
use common::*;

/// A gzip layer holding one file.
fn layer(name: &str, content: &[u8]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, name, content).unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

fn write_blob(dir: &Path, bytes: &[u8]) -> String {
    let d = digest_of(bytes);
    let path = dir
        .join("blobs/sha256")
        .join(d.trim_start_matches("sha256:"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    d
}

/// An OCI layout with a config and two gzip layers (one of 2 MiB of noise, so that
/// uploads span several writes); returns the manifest digest.
fn make_layout(dir: &Path) -> String {
    let mut noise = Vec::with_capacity(2 << 20);
    let mut x: u64 = 0x9e3779b97f4a7c15;
    while noise.len() < 2 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.write_all(&x.to_le_bytes()).unwrap();
    }
    let l1 = layer("hello.txt", b"hello from berth\n");
    let l2 = layer("noise.bin", &noise);
    let diff = |l: &[u8]| {
        let mut d = flate2::read::GzDecoder::new(l);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut out).unwrap();
        digest_of(&out)
    };
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff(&l1), diff(&l2)]}
    })
    .to_string();
    let cd = write_blob(dir, config.as_bytes());
    let d1 = write_blob(dir, &l1);
    let d2 = write_blob(dir, &l2);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d1, "size": l1.len()},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d2, "size": l2.len()}
        ]
    })
    .to_string();
    let md = write_blob(dir, manifest.as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": md, "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "v1"}}]
    });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    md
}

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is installed");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn round_trip(s: &TestServer, work: &Path, creds: Option<&str>) {
    let src = work.join("src");
    let manifest_digest = make_layout(&src);
    let image = format!("docker://{}/berth/skopeo-test:v1", s.addr);
    let mut push = vec!["copy", "--dest-tls-verify=false"];
    let mut creds_args: Vec<String> = Vec::new();
    if let Some(c) = creds {
        creds_args = vec!["--dest-creds".into(), c.into()];
    }
    push.extend(creds_args.iter().map(String::as_str));
    let src_ref = format!("oci:{}:v1", src.display());
    push.extend([src_ref.as_str(), image.as_str()]);
    skopeo(&push);

    let mut inspect = vec!["inspect", "--raw", "--tls-verify=false"];
    if let Some(c) = creds {
        inspect.extend(["--creds", c]);
    }
    inspect.push(&image);
    let raw = skopeo(&inspect);
    assert_eq!(digest_of(raw.as_bytes()), manifest_digest);

    let dst = work.join("dst");
    let dst_ref = format!("oci:{}:v1", dst.display());
    let mut pull = vec!["copy", "--src-tls-verify=false"];
    if let Some(c) = creds {
        pull.extend(["--src-creds", c]);
    }
    pull.extend([image.as_str(), dst_ref.as_str()]);
    skopeo(&pull);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dst.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], manifest_digest.as_str());
    // Every blob came back byte for byte.
    for entry in std::fs::read_dir(src.join("blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        let back = std::fs::read(dst.join("blobs/sha256").join(entry.file_name())).unwrap();
        assert_eq!(back, std::fs::read(entry.path()).unwrap());
    }
}

#[test]
fn skopeo_round_trip_without_auth() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::open(&dir.path().join("root"));
    round_trip(&s, dir.path(), None);
}

fn auth_config(dir: &Path, token: bool) -> ServerConfig {
    let htpasswd = dir.join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("pusher:{}\n", bcrypt::hash("s3cret", 4).unwrap()),
    )
    .unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("root"));
    config.htpasswd = Some(htpasswd);
    if token {
        config.token = Some(TokenConfig::default());
    }
    config
}

#[test]
fn skopeo_round_trip_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(auth_config(dir.path(), false));
    round_trip(&s, dir.path(), Some("pusher:s3cret"));
}

#[test]
fn skopeo_round_trip_with_token_auth() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(auth_config(dir.path(), true));
    round_trip(&s, dir.path(), Some("pusher:s3cret"));
    // Without credentials the private repository is closed.
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/berth/skopeo-test:v1", s.addr))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

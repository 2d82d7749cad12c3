//! HTTPS against docker-registry with a CA made by openssl.

use berth_image::content::ContentStore;
use berth_image::distribution::pull::{pull, PullOptions};
use berth_image::distribution::push::{push, PushOptions};
use berth_image::distribution::{ClientOptions, DistributionError, RegistryClient};

use crate::image::{build, OCI};
use crate::reference;
use crate::registry::Registry;

/// A CA and a server certificate for 127.0.0.1 it signed, made with openssl.
fn make_certificates(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=berth test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("server.pem"),
        dir.join("server.key"),
        std::fs::read(dir.join("ca.pem")).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_registry_with_a_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = make_certificates(dir.path());
    let registry = Registry::start_with(&[], Some((&cert, &key)));
    let local = ContentStore::open(dir.path().join("local")).unwrap();
    let img = build(&local, &OCI, 51, 1000);
    let target = reference(&registry.addr, "tls/app:1");

    let options = ClientOptions {
        ca_certs: vec![ca],
        ..ClientOptions::default()
    };
    let secure = RegistryClient::new(&registry.addr, options).unwrap();
    assert_eq!(secure.base_url().scheme(), "https");
    push(
        &secure,
        &local,
        &img.manifest,
        &target,
        &PushOptions::default(),
    )
    .await
    .unwrap();
    let fresh = ContentStore::open(dir.path().join("fresh")).unwrap();
    let pulled = pull(&secure, &fresh, &target, &PullOptions::default())
        .await
        .unwrap();
    assert_eq!(pulled.digest, img.manifest);

    // Without the CA, TLS with an unknown issuer is refused (no silent downgrade).
    let untrusted = ClientOptions {
        ca_certs: vec![std::fs::read(dir.path().join("server.pem")).unwrap()],
        max_attempts: 1,
        ..ClientOptions::default()
    };
    let untrusted = RegistryClient::new(&registry.addr, untrusted).unwrap();
    let err = untrusted.ping().await.unwrap_err();
    assert!(matches!(err, DistributionError::Connect { .. }), "{err:?}");
}

//! The test images, made with `docker import` from the host's static busybox (no registry
//! is reachable): a bare one, and one with a config (`--change`) and content.

use std::fs;
use std::path::{Path, PathBuf};

use berth_testkit::busybox;

use super::Engine;

/// busybox, no config: every command is given.
pub const IMAGE: &str = "busybox:e2e";

/// busybox with `Env`, `Cmd`, `WorkingDir`, `ExposedPorts`, `Volumes` and `Labels` set,
/// `/data/seed.txt` under its volume and `/www/index.html` to serve.
pub const CONFIGURED: &str = "e2e-configured:1";

/// What the configured image's `/www/index.html` and `/data/seed.txt` hold.
pub const INDEX_HTML: &str = "hello from e2e\n";
pub const SEED: &str = "seeded by the image\n";

/// The `--change` lines of [`CONFIGURED`].
pub const CONFIGURED_CHANGES: &[&str] = &[
    r#"CMD ["sh", "-c", "echo configured $GREETING"]"#,
    "ENV X=1 GREETING=hi",
    "WORKDIR /data",
    "EXPOSE 80/tcp",
    "VOLUME /data",
    "LABEL e2e.image=configured",
];

/// Writes a busybox rootfs with an unprivileged user and the configured image's files under
/// `dir`; returns the tar's path.
pub fn rootfs_tar(dir: &Path) -> PathBuf {
    let rootfs = busybox::rootfs(dir);
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n",
    )
    .expect("write passwd");
    fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").expect("write group");
    fs::create_dir_all(rootfs.join("data")).expect("mkdir /data");
    fs::write(rootfs.join("data/seed.txt"), SEED).expect("write seed.txt");
    fs::create_dir_all(rootfs.join("www")).expect("mkdir /www");
    fs::write(rootfs.join("www/index.html"), INDEX_HTML).expect("write index.html");
    fs::create_dir_all(rootfs.join("root")).expect("mkdir /root");
    let tar = dir.join("busybox-e2e.tar");
    busybox::tar_dir(&rootfs, &tar);
    tar
}

/// `docker import`s [`IMAGE`] and [`CONFIGURED`].
pub fn import_test_images(engine: &Engine) {
    let dir = engine.dir().join("images");
    fs::create_dir_all(&dir).expect("create the images dir");
    let tar = rootfs_tar(&dir);
    let tar = tar.to_string_lossy();
    engine.docker_ok(&["import", &tar, IMAGE]);
    let mut args = vec!["import"];
    for change in CONFIGURED_CHANGES {
        args.extend(["--change", change]);
    }
    args.extend([&*tar, CONFIGURED]);
    engine.docker_ok(&args);
}

/// The rootfs tar [`import_test_images`] made, for tests that import it again.
pub fn busybox_tar(engine: &Engine) -> PathBuf {
    engine.dir().join("images/busybox-e2e.tar")
}

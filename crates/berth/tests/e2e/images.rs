//! Making images in a test's store: busybox root filesystems imported under a name.

use super::tarball::busybox_rootfs;
use super::Env;

/// Imports a busybox root filesystem marked `marker` as `name` with `CMD [cmd]`; returns
/// the manifest digest. The same marker gives the same layer, so two names made from one
/// marker with different commands share their layer.
pub fn import_busybox(env: &Env, marker: &str, name: &str, cmd: &str) -> String {
    let file = env.path(&format!("rootfs-{marker}.tar"));
    if !file.exists() {
        std::fs::write(&file, busybox_rootfs(marker)).unwrap();
    }
    env.ok(&[
        "import",
        "-c",
        &format!(r#"CMD ["{cmd}"]"#),
        file.to_str().unwrap(),
        name,
    ]);
    env.manifest_digest(name)
}

/// The digest `berth push -q` printed (its last line).
pub fn push(env: &Env, name: &str) -> String {
    let out = env.ok(&["push", "-q", name]);
    let digest = out
        .stdout
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        digest.starts_with("sha256:"),
        "push printed {:?}",
        out.stdout
    );
    digest
}

/// The digest `berth pull` reported (its `Digest:` line).
pub fn pull(env: &Env, name: &str) -> String {
    let out = env.ok(&["pull", name]);
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Digest: "))
        .unwrap_or_else(|| panic!("pull printed no digest: {}", out.stdout))
        .trim()
        .to_string()
}

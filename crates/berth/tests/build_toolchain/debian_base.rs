//! A Debian root filesystem tarball made with `debootstrap --variant=minbase` from the
//! host's Debian mirror, as examples/toolchain/run.sh makes it, cached under the cargo
//! target dir: a rerun skips the ~25 s debootstrap. The cache key holds the suite and the
//! mirror, and a tarball older than a week is made again, so that a stale base (package
//! lists behind the mirror's) cannot make `apt-get install` fail.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use berth_testkit::cleanup::unmount_under;
use berth_testkit::{find_program, run_with_timeout};
use sha2::{Digest, Sha256};

/// The Debian release the example builds on.
pub const SUITE: &str = "bookworm";

/// How long debootstrap may take (downloads included).
const DEBOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(600);

/// How old a cached tarball may be before it is made again.
const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The tarball's path, made (or taken from the cache) now; `None`, after saying why, when
/// debootstrap is not installed.
pub fn tarball() -> Option<PathBuf> {
    let Some(debootstrap) = find_program("debootstrap") else {
        eprintln!("skipped: debootstrap is not installed (apt-get install debootstrap)");
        return None;
    };
    let mirror = host_mirror();
    let key = hex(&Sha256::digest(
        format!("{SUITE} minbase {mirror}").as_bytes(),
    ))[..16]
        .to_string();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-cache");
    fs::create_dir_all(&cache).unwrap();
    let tar = cache.join(format!("debootstrap-{SUITE}-minbase-{key}.tar"));
    if is_fresh(&tar) {
        eprintln!("debian base: cached {}", tar.display());
        return Some(tar);
    }
    let started = std::time::Instant::now();
    let work = tempfile::Builder::new()
        .prefix("debootstrap-")
        .tempdir_in(&cache)
        .unwrap();
    let rootfs = work.path().join("rootfs");
    let out = run_with_timeout(
        Command::new(debootstrap)
            .args(["--variant=minbase", SUITE])
            .arg(&rootfs)
            .arg(&mirror),
        DEBOOTSTRAP_TIMEOUT,
    );
    // debootstrap mounts /proc and /sys in the target while it works; one that failed or
    // was killed may leave them.
    unmount_under(work.path());
    let out = out.unwrap();
    assert!(
        out.status.success(),
        "debootstrap {SUITE} from {mirror} failed: {}\n{}",
        out.status,
        tail(&out.stdout, &out.stderr)
    );
    // Written beside the cache entry, then renamed: a killed run leaves no half tarball.
    let partial = work.path().join("base.tar");
    let out = run_with_timeout(
        Command::new("tar")
            .arg("--numeric-owner")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&partial)
            .arg("."),
        Duration::from_secs(120),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "tar the debootstrap rootfs: {}",
        tail(&out.stdout, &out.stderr)
    );
    fs::rename(&partial, &tar).unwrap();
    eprintln!(
        "debian base: debootstrap {SUITE} from {mirror} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Some(tar)
}

/// The mirror examples/toolchain/run.sh would use: scripts/lib.sh's `berth_debian_mirror`,
/// which reads the host's apt sources.
fn host_mirror() -> String {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lib.sh");
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"source "$1" && berth_debian_mirror "$2""#)
        .arg("bash")
        .arg(&lib)
        .arg(SUITE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "berth_debian_mirror: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mirror = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!mirror.is_empty(), "berth_debian_mirror printed nothing");
    mirror
}

/// Whether `tar` exists and is younger than [`MAX_AGE`].
fn is_fresh(tar: &Path) -> bool {
    fs::metadata(tar)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age < MAX_AGE)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The last lines a failed command wrote.
fn tail(stdout: &[u8], stderr: &[u8]) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

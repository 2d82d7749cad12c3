//! The Debian base tarball of examples/toolchain/run.sh, made by the same shell function
//! (`berth_debian_base_tar` in scripts/lib.sh: debootstrap minbase from the host's mirror,
//! slimmed), cached under the cargo target dir so that a rerun skips debootstrap. The cache
//! key holds the suite, the mirror and scripts/lib.sh itself (a changed recipe makes a new
//! tarball), and a tarball older than a week is made again, so that a stale base cannot
//! make `apt-get install` fail.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

use berth_testkit::cleanup::unmount_under;
use berth_testkit::{find_program, run_with_timeout};
use sha2::{Digest, Sha256};

/// The Debian release the example builds on.
pub const SUITE: &str = "bookworm";

/// How long debootstrap may take (downloads included).
const DEBOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(600);

/// How old a cached tarball may be before it is made again.
const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The prefix of the cached tarballs' names.
const PREFIX: &str = "debootstrap-";

/// The tarball's path, made now or taken from the cache; `None`, after saying why, when
/// debootstrap is not installed.
pub fn tarball() -> Option<PathBuf> {
    if find_program("debootstrap").is_none() {
        eprintln!("skipped: debootstrap is not installed (apt-get install debootstrap)");
        return None;
    }
    let lib = lib_sh();
    let mirror = ok(
        "berth_debian_mirror",
        &lib_function(&["berth_debian_mirror", SUITE]),
    )
    .trim()
    .to_string();
    let mut key = Sha256::new();
    key.update(format!("{SUITE}\n{mirror}\n"));
    key.update(fs::read(&lib).unwrap());
    let key: String = key.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-cache");
    fs::create_dir_all(&cache).unwrap();
    let tar = cache.join(format!("{PREFIX}{SUITE}-{key}.tar"));
    if is_fresh(&tar) {
        eprintln!("debian base: cached {}", tar.display());
        return Some(tar);
    }

    let started = Instant::now();
    // Made in a temp dir beside the cache entry, then renamed: a killed run leaves no
    // half tarball under the entry's name.
    let work = tempfile::Builder::new()
        .prefix("making-")
        .tempdir_in(&cache)
        .unwrap();
    let partial = work.path().join("base.tar");
    let made = lib_function(&["berth_debian_base_tar", SUITE, &partial.to_string_lossy()]);
    // debootstrap mounts /proc and /sys in the target while it works; one that was killed
    // may leave them.
    unmount_under(work.path());
    ok("berth_debian_base_tar", &made);
    remove_older_entries(&cache);
    fs::rename(&partial, &tar).unwrap();
    eprintln!(
        "debian base: debootstrap {SUITE} from {mirror}, slimmed, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Some(tar)
}

/// scripts/lib.sh.
fn lib_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lib.sh")
}

/// `FUNCTION ARGS...` of scripts/lib.sh, run by bash.
fn lib_function(function_and_args: &[&str]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"source "$0" && "$@""#)
        .arg(lib_sh())
        .args(function_and_args);
    run_with_timeout(&mut cmd, DEBOOTSTRAP_TIMEOUT).unwrap()
}

/// Requires `out` to be a success; returns its stdout.
fn ok(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed with {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `tar` exists and is younger than [`MAX_AGE`].
fn is_fresh(tar: &Path) -> bool {
    fs::metadata(tar)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age < MAX_AGE)
}

/// Removes the tarballs of other keys: each is ~100 MB.
fn remove_older_entries(cache: &Path) {
    for entry in fs::read_dir(cache).unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(PREFIX) && name.ends_with(".tar") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

//! The toolchain example (examples/toolchain) on a berth daemon, as its run.sh does it: a
//! debootstrap Debian base `berth import`ed, `berth build` of the example (gcc installed
//! with apt-get in a RUN step, through the engine's bridge and NAT; a static binary copied
//! into a `scratch` stage), then `berth run --rm`. The final image must hold one layer with
//! the binary alone. Then the docker CLI's legacy builder (`DOCKER_BUILDKIT=0 docker
//! build`) builds the same Dockerfile on the same daemon: every step from the cache, the
//! same image.
//!
//! berth only: the private dockerd of the other suites runs without a bridge, so apt-get
//! could not reach the mirror from its builds.

#![allow(clippy::unwrap_used)]

#[path = "build_toolchain/debian_base.rs"]
mod debian_base;

#[allow(dead_code)] // the restart helpers serve other suites
#[path = "engine/berth.rs"]
mod berth_daemon;

/// What `berth_daemon` needs of the engine suites' harness.
mod daemon {
    pub const DOCKER_CLI: &str = "/usr/local/bin/docker";
}

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_daemon::BerthDaemon;
use berth_testkit::run_with_timeout;
use serde_json::Value;

/// How long the import of the ~200 MB base and the build may each take.
const SLOW_STEP: Duration = Duration::from_secs(600);

/// The first line the example program prints; the gcc version follows.
const GREETING: &str = "hello from a static C binary, built by gcc ";

/// The example's directory: the test builds what users build.
fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/toolchain")
}

/// `berth ARGS` on the daemon's socket and roots (`import` and `save` work on the data
/// root itself, as run.sh's do).
fn berth(daemon: &BerthDaemon, args: &[&str], timeout: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.arg("-H")
        .arg(daemon.host())
        .arg("--data-root")
        .arg(daemon.data_root())
        .arg("--exec-root")
        .arg(daemon.exec_root())
        .args(args)
        .env_remove("BERTH_HOST");
    run_with_timeout(&mut cmd, timeout).unwrap_or_else(|e| panic!("berth {}: {e}", args.join(" ")))
}

/// Requires `out` to be a success; returns its stdout.
fn ok(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "`{what}` failed with {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The program's output as the test expects it: the greeting with a gcc version, then the
/// system it runs on.
fn assert_program_output(output: &str) {
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 2, "{output}");
    let version = lines[0]
        .strip_prefix(GREETING)
        .and_then(|rest| rest.strip_suffix(" in a berth build"))
        .unwrap_or_else(|| panic!("unexpected greeting: {output}"));
    assert!(
        version.split('.').all(|n| n.parse::<u32>().is_ok()),
        "gcc version `{version}`"
    );
    assert_eq!(
        lines[1],
        format!("running on Linux {}", std::env::consts::ARCH)
    );
}

/// The image's config, from `berth image inspect`.
fn inspect(daemon: &BerthDaemon, image: &str) -> Value {
    let out = berth(
        daemon,
        &["image", "inspect", image],
        Duration::from_secs(60),
    );
    let text = ok("berth image inspect", &out);
    let mut all: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(all.len(), 1, "{text}");
    all.remove(0)
}

/// The entries of the image's only layer (path, mode, size), read from `berth save`.
fn single_layer_entries(daemon: &BerthDaemon, image: &str) -> Vec<(String, u32, u64)> {
    let saved = daemon.dir().join("saved.tar");
    let out = berth(
        daemon,
        &["save", "-o", &saved.to_string_lossy(), image],
        Duration::from_secs(60),
    );
    ok("berth save", &out);
    let blobs = read_members(&std::fs::read(&saved).unwrap());
    let manifest: Value =
        serde_json::from_slice(&blobs.iter().find(|(p, _)| p == "manifest.json").unwrap().1)
            .unwrap();
    let layers = manifest[0]["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest}");
    let layer_path = layers[0].as_str().unwrap();
    let layer = &blobs.iter().find(|(p, _)| p == layer_path).unwrap().1;
    let mut entries = Vec::new();
    let mut archive = tar::Archive::new(&layer[..]);
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let header = entry.header();
        entries.push((path, header.mode().unwrap(), header.size().unwrap()));
    }
    entries
}

/// A tar's members (paths and contents).
fn read_members(tar_bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut members = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        members.push((path, bytes));
    }
    members
}

#[test]
fn gcc_from_apt_builds_a_static_binary_for_a_scratch_image() {
    let Some(base_tar) = debian_base::tarball() else {
        return;
    };
    let daemon = BerthDaemon::start();
    let token = std::process::id();
    let base = format!("toolchain-test/debian:{}-{token}", debian_base::SUITE);
    let image = format!("toolchain-test/hello:{token}");
    let build_arg = format!("BASE={base}");
    let context = example_dir().to_string_lossy().into_owned();

    let started = Instant::now();
    let out = berth(
        &daemon,
        &["import", &base_tar.to_string_lossy(), &base],
        SLOW_STEP,
    );
    ok("berth import", &out);
    eprintln!("berth import: {:.1} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let out = berth(
        &daemon,
        &["build", "--build-arg", &build_arg, "-t", &image, &context],
        SLOW_STEP,
    );
    let log = ok("berth build", &out);
    eprintln!("berth build: {:.1} s", started.elapsed().as_secs_f64());
    // apt-get really ran in the build: gcc was fetched from the mirror and set up.
    assert!(log.contains("Setting up gcc "), "{log}");
    assert!(
        log.contains(&format!("Successfully tagged {image}")),
        "{log}"
    );

    let out = berth(&daemon, &["run", "--rm", &image], Duration::from_secs(60));
    assert_program_output(&ok("berth run --rm", &out));

    // The scratch stage: one layer holding the binary and nothing else.
    let config = inspect(&daemon, &image);
    assert_eq!(
        config["RootFS"]["Layers"].as_array().unwrap().len(),
        1,
        "{config}"
    );
    assert_eq!(
        config["Config"]["Entrypoint"],
        serde_json::json!(["/hello"]),
        "{config}"
    );
    let entries = single_layer_entries(&daemon, &image);
    let files: Vec<&(String, u32, u64)> = entries
        .iter()
        .filter(|(path, _, _)| !matches!(path.as_str(), "" | "." | "./" | "/"))
        .collect();
    assert_eq!(files.len(), 1, "{entries:?}");
    let (path, mode, size) = files[0];
    assert_eq!(path.trim_start_matches("./"), "hello", "{entries:?}");
    assert_eq!(mode & 0o111, 0o111, "not executable: {entries:?}");
    assert!(*size > 100_000, "a static binary is larger: {entries:?}");

    // The RUN steps left no container, bundle or mount behind.
    let out = berth(&daemon, &["ps", "-a", "-q"], Duration::from_secs(60));
    assert_eq!(ok("berth ps -a -q", &out).trim(), "");
    let steps = daemon.exec_root().join("build-steps");
    let left: Vec<_> = std::fs::read_dir(&steps)
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "build steps left: {left:?}");
    let mounts = berth_testkit::cleanup::mounts_under(daemon.dir());
    assert!(mounts.is_empty(), "mounts left: {mounts:?}");

    docker_cli_builds_the_same_image(&daemon, &build_arg, &context, &image, &config);
}

/// The docker CLI's legacy builder on the same daemon: every step but FROM from the cache,
/// the same image id, the same output when run.
fn docker_cli_builds_the_same_image(
    daemon: &BerthDaemon,
    build_arg: &str,
    context: &str,
    image: &str,
    config: &Value,
) {
    if !Path::new(daemon::DOCKER_CLI).exists() {
        eprintln!(
            "skipped the docker CLI build: {} not found",
            daemon::DOCKER_CLI
        );
        return;
    }
    let tag = format!("{image}-docker");
    let started = Instant::now();
    let out = run_with_timeout(
        daemon.command().env("DOCKER_BUILDKIT", "0").args([
            "build",
            "--build-arg",
            build_arg,
            "-t",
            &tag,
            context,
        ]),
        SLOW_STEP,
    )
    .unwrap();
    let log = ok("DOCKER_BUILDKIT=0 docker build", &out);
    eprintln!(
        "docker build (cached): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(log.contains(" ---> Using cache"), "{log}");
    assert!(!log.contains("Setting up gcc "), "apt-get ran again: {log}");
    let id = config["Id"].as_str().unwrap();
    let short = &id["sha256:".len().."sha256:".len() + 12];
    assert!(
        log.contains(&format!("Successfully built {short}")),
        "{log}"
    );

    let out = run_with_timeout(
        daemon.command().args(["run", "--rm", &tag]),
        Duration::from_secs(60),
    )
    .unwrap();
    assert_program_output(&ok("docker run --rm", &out));
}

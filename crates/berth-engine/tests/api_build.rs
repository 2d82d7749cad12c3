//! `POST /build` driven by `DOCKER_BUILDKIT=0 docker build` against a real `berth daemon`,
//! its bad requests over raw HTTP, and the engine's RUN-step runner on its own.
//!
//! Needs the daemon binary (`BERTH_BIN`, or `target/debug/berth` from
//! `cargo build -p berth`; it is also the shim) and the docker CLI; skips with a message
//! without them.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use berth_build::executor::RunStep;
use berth_engine::config::DaemonConfig;
use berth_testkit::busybox;

mod daemon_bin;

use daemon_bin::{berth_binary, unique, Daemon};

/// A tar of `files` (name, content).
fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, text.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

/// The end-to-end build: needs the builder's executor.
#[test]
fn docker_build_then_run() {
    let Some(d) = Daemon::start() else {
        return;
    };
    let tar = busybox::rootfs_tar(d.dir.path());
    d.ok(&["import", &tar.to_string_lossy(), "build-bb:latest"]);
    let ctx = d.dir.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM build-bb\nRUN echo hi > /x\nCMD [\"cat\",\"/x\"]\n",
    )
    .unwrap();
    let out = d.ok(&["build", "-t", "built:1", &ctx.to_string_lossy()]);
    assert!(out.contains("Step 1/3 : FROM build-bb"), "{out}");
    assert!(out.contains("Step 2/3 : RUN echo hi > /x"), "{out}");
    assert!(out.contains("Successfully built "), "{out}");
    assert!(out.contains("Successfully tagged built:1"), "{out}");
    assert_eq!(d.ok(&["run", "--rm", "built:1"]), "hi\n");

    // The same build again comes from the cache.
    let again = d.ok(&["build", "-t", "built:2", &ctx.to_string_lossy()]);
    assert!(again.contains(" ---> Using cache"), "{again}");

    // A failed RUN: docker's message, its exit code, no step container left behind.
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM build-bb\nRUN echo doomed; exit 3\n",
    )
    .unwrap();
    let out = d.docker(&["build", &ctx.to_string_lossy()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stdout.contains("doomed"), "{stdout}");
    assert!(
        stderr.contains("The command '/bin/sh -c echo doomed; exit 3' returned a non-zero code: 3"),
        "{stderr}"
    );
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    let steps = d.dir.path().join("e/build-steps");
    assert!(
        !steps.exists() || std::fs::read_dir(&steps).unwrap().next().is_none(),
        "step bundles left in {}",
        steps.display()
    );
}

#[test]
fn bad_build_requests() {
    let Some(d) = Daemon::start() else {
        return;
    };
    // A context without its Dockerfile.
    let (status, body) = d.http(
        "POST",
        "/build",
        &tar_of(&[("README", "nothing to build\n")]),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Cannot locate specified Dockerfile: Dockerfile"),
        "{body}"
    );

    let context = tar_of(&[("Dockerfile", "FROM scratch\n")]);
    let (status, body) = d.http("POST", "/v1.45/build?buildargs=%7Bnot-json", &context);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("buildargs"), "{body}");

    let (status, body) = d.http("POST", "/build?dockerfile=Other.Dockerfile", &context);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Cannot locate specified Dockerfile: Other.Dockerfile"),
        "{body}"
    );

    let (status, body) = d.http("POST", "/build", &tar_of(&[("Dockerfile", "FRUM x\n")]));
    assert_eq!(status, 400, "{body}");

    let (status, body) = d.http("POST", "/build", b"not a tar at all, just bytes");
    assert_eq!(status, 400, "{body}");

    let (status, body) = d.http("POST", "/build/prune", b"");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"SpaceReclaimed\""), "{body}");

    // Failed requests leave no per-build work directories behind, and after the prune no
    // retained context either (the slots' lock files stay).
    let work = d.dir.path().join("d/build-work");
    let names = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default()
    };
    let left: Vec<String> = names(&work)
        .into_iter()
        .filter(|name| name != "retained")
        .chain(
            names(&work.join("retained"))
                .into_iter()
                .filter(|name| !name.ends_with(".lock")),
        )
        .collect();
    assert!(left.is_empty(), "left in {}: {left:?}", work.display());
}

/// Contexts compressed with bzip2 and xz are read as docker's daemon reads them.
#[test]
fn bzip2_and_xz_contexts_build() {
    use std::io::Write as _;
    let Some(d) = Daemon::start() else {
        return;
    };
    let tar = tar_of(&[
        ("Dockerfile", "FROM scratch\nCOPY a.txt /\n"),
        ("a.txt", "a\n"),
    ]);
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&tar).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(&tar).unwrap();
    for (kind, body) in [
        ("bzip2", bz.finish().unwrap()),
        ("xz", xz.finish().unwrap()),
    ] {
        let (status, answer) = d.http("POST", "/build", &body);
        assert_eq!(status, 200, "{kind}: {answer}");
        assert!(answer.contains("Successfully built "), "{kind}: {answer}");
        assert!(!answer.contains("errorDetail"), "{kind}: {answer}");
    }
}

/// The runner alone, in-process: a RUN step's output, exit code, network, and clean-up.
#[test]
fn run_steps_as_transient_containers() {
    let Some(berth) = berth_binary() else {
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("berth-steps-")
        .tempdir()
        .unwrap();
    let instance = unique("ts");
    let mut config = DaemonConfig::new(dir.path().join("d"), dir.path().join("e"));
    config.shim_program = berth;
    config.network_instance = instance.clone();
    config.cgroup_parent = format!("/{instance}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let engine = rt.block_on(berth_engine::daemon::start(config)).unwrap();
    let rootfs = busybox::rootfs(dir.path());
    let step = |network: &str, script: &str| RunStep {
        rootfs: rootfs.clone(),
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec![
            "PATH=/bin:/usr/bin:/sbin:/usr/sbin".into(),
            "GREETING=hi".into(),
        ],
        user: String::new(),
        working_dir: "/tmp".into(),
        network: network.into(),
        mounts: Vec::new(),
    };
    let run = |step: RunStep| {
        rt.block_on(async {
            let (tx, mut rx) = tokio::sync::mpsc::channel(16);
            let code = berth_engine::build_runner::run_step(&engine, step, tx)
                .await
                .unwrap();
            let mut lines = Vec::new();
            while let Some(line) = rx.recv().await {
                lines.push(line);
            }
            (code, lines)
        })
    };

    let (code, lines) = run(step(
        "default",
        "echo $GREETING; pwd; echo oops >&2; ip -4 addr show eth0 | grep -q inet && echo wired; \
         grep -q \"$(hostname)\" /etc/hosts && echo named; printf tail; exit 3",
    ));
    assert_eq!(code, 3, "{lines:?}");
    for expected in ["hi", "/tmp", "oops", "wired", "named", "tail"] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected} in {lines:?}"
        );
    }

    let (code, lines) = run(step("none", "ip -4 addr show eth0 || echo isolated"));
    assert_eq!(code, 0);
    assert!(lines.iter().any(|l| l == "isolated"), "{lines:?}");

    // Nothing stays: bundles, shims, runtime state, endpoints, cgroups.
    let config = engine.config();
    for dir in [
        berth_engine::build_runner::steps_dir(&engine),
        config.shims_dir(),
        config.runtime_root(),
    ] {
        let left: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{} holds {left:?}", dir.display());
    }
    let bridge = rt.block_on(engine.networks().network("bridge")).unwrap();
    assert!(bridge.endpoints.is_empty(), "{:?}", bridge.endpoints);
    let cgroup = Path::new("/sys/fs/cgroup").join(&instance);
    let children: Vec<_> = std::fs::read_dir(&cgroup)
        .map(|d| d.flatten().filter(|e| e.path().is_dir()).collect())
        .unwrap_or_default();
    assert!(children.is_empty(), "cgroups left: {children:?}");

    rt.block_on(async {
        let _ = engine.networks().remove_network(&bridge.id).await;
    });
    let _ = Command::new("ip")
        .args(["link", "del", &bridge.bridge])
        .output();
    let _ = berth_net::nat::Nft::new(&instance).delete_table();
    let _ = std::fs::remove_dir(&cgroup);
}

/// Through the engine's RUN containers: a `#!` heredoc runs as a program, a writable bind
/// of the context is thrown away, a cache mount keeps its content between builds, and the
/// mount points stay out of the layers. Then the step cache survives a daemon restart.
#[test]
fn run_mounts_heredoc_programs_and_the_cache_across_a_restart() {
    let Some(mut d) = Daemon::start() else {
        return;
    };
    let tar = busybox::rootfs_tar(d.dir.path());
    d.ok(&["import", &tar.to_string_lossy(), "mounts-bb:latest"]);
    let ctx = d.dir.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("kept.txt"), "kept\n").unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM mounts-bb\n\
         RUN <<EOF\n#!/usr/bin/awk -f\nBEGIN { print \"awk ran\" > \"/awk.out\" }\nEOF\n\
         RUN --mount=type=bind,target=/ctx,rw echo changed > /ctx/kept.txt && cat /ctx/kept.txt > /seen\n\
         RUN --mount=type=cache,target=/cache/app echo run >> /cache/app/log && wc -l < /cache/app/log > /count\n",
    )
    .unwrap();
    let context = ctx.to_string_lossy().into_owned();
    let out = d.ok(&["build", "-t", "mounts:1", &context]);
    assert!(out.contains("Successfully tagged mounts:1"), "{out}");
    assert_eq!(
        d.ok(&["run", "--rm", "mounts:1", "cat", "/awk.out", "/seen", "/count"]),
        "awk ran\nchanged\n1\n"
    );
    assert_eq!(
        std::fs::read_to_string(ctx.join("kept.txt")).unwrap(),
        "kept\n",
        "a RUN changed the build context"
    );
    // The cache mount's content is kept for the next build, and its mount point is in no
    // layer: /cache does not exist in the image.
    let out = d.ok(&["build", "--no-cache", "-t", "mounts:2", &context]);
    assert!(out.contains("Successfully tagged mounts:2"), "{out}");
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "mounts:2",
            "sh",
            "-c",
            "cat /count; test -e /cache || echo no /cache"
        ]),
        "2\nno /cache\n"
    );

    // The step cache is on disk: after a restart, the same build is all cache hits.
    d.restart();
    let again = d.ok(&["build", "-t", "mounts:3", &context]);
    assert_eq!(again.matches(" ---> Using cache").count(), 3, "{again}");
    let inspect = |tag: &str| d.ok(&["image", "inspect", "-f", "{{.Id}}", tag]);
    assert_eq!(inspect("mounts:3"), inspect("mounts:2"));
}

/// The docker CLI sends tars; the daemon syncs them into a retained context directory.
/// A file changed between builds, even to bytes of the same size with the same mtime,
/// is what the next build copies; a removed file is gone from the context.
#[test]
fn docker_cli_rebuilds_see_every_change_of_the_context() {
    let Some(d) = Daemon::start() else {
        return;
    };
    let tar = busybox::rootfs_tar(d.dir.path());
    d.ok(&["import", &tar.to_string_lossy(), "sync-bb:latest"]);
    let ctx = d.dir.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM sync-bb\nCOPY . /ctx/\nCMD [\"sh\", \"-c\", \"cat /ctx/a.txt; ls /ctx\"]\n",
    )
    .unwrap();
    let context = ctx.to_string_lossy().into_owned();
    let mtime = filetime::FileTime::from_unix_time(1_600_000_000, 0);
    let write = |name: &str, text: &str| {
        let path = ctx.join(name);
        std::fs::write(&path, text).unwrap();
        filetime::set_file_mtime(&path, mtime).unwrap();
    };
    write("a.txt", "first\n");
    write("b.txt", "b\n");
    d.ok(&["build", "-t", "sync:1", &context]);
    assert_eq!(
        d.ok(&["run", "--rm", "sync:1"]),
        "first\nDockerfile\na.txt\nb.txt\n"
    );

    write("a.txt", "again\n");
    std::fs::remove_file(ctx.join("b.txt")).unwrap();
    d.ok(&["build", "-t", "sync:2", &context]);
    assert_eq!(
        d.ok(&["run", "--rm", "sync:2"]),
        "again\nDockerfile\na.txt\n"
    );
}

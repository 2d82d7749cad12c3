//! Builder compatibility: the same Dockerfiles built by dockerd's legacy builder and by
//! berth, through the same docker CLI (`DOCKER_BUILDKIT=0 docker build`), must give the
//! same images: the same `Config`, platform, author, layer count, history, build steps,
//! and the same files in every layer (type, mode, owner, size, content, link target;
//! timestamps aside).
//!
//! One private dockerd and one berth daemon serve the whole file; both get the same base
//! image (imported into dockerd, `docker save`d and loaded into berth, so that its id is
//! the same on both). Each case is a directory under `tests/build_compat/cases/` holding a
//! Dockerfile and its context; [`CASES`] says how each is built. Cases build concurrently.
//! A difference fails the test with every case's differences listed.

#![allow(clippy::unwrap_used)] // test helpers: a failed step fails the test

mod engine;

#[path = "build_compat/harness/diff.rs"]
mod diff;
#[path = "build_compat/harness/observe.rs"]
mod observe;
#[path = "build_compat/harness/tree.rs"]
mod tree;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use berth_testkit::{busybox, PrivateDockerd};
use engine::berth::BerthDaemon;
use observe::Side;

/// The base image every case starts from.
const BASE: &str = "compat-base:1";

/// One `docker build` of a case: its arguments, where `{ctx}` stands for the context
/// directory.
type Build = &'static [&'static str];

/// A case: a directory under `cases/`, built once per entry of `builds`, in order (a later
/// build may use an image an earlier one tagged).
struct Case {
    name: &'static str,
    builds: &'static [Build],
    /// Whether the build output's step lines are compared: not when the Dockerfile has a
    /// stage the target does not need, which berth skips (issue 5: "only the stages the
    /// target needs are built") and the legacy builder builds, numbering steps apart.
    steps: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "env_arg",
        steps: true,
        builds: &[&[
            "--build-arg",
            "FROM_CLI=cli",
            "--build-arg",
            "NOT_DECLARED=x",
        ]],
    },
    Case {
        name: "metadata",
        steps: true,
        builds: &[&[
            "--label",
            "cli.label=from-cli",
            "--label",
            "multi.a=cli-wins",
        ]],
    },
    Case {
        name: "workdir",
        steps: true,
        builds: &[&[]],
    },
    Case {
        name: "cmd_entrypoint",
        steps: true,
        builds: &[&[], &["--target", "inherits"]],
    },
    Case {
        name: "shell_healthcheck",
        steps: true,
        builds: &[&[]],
    },
    Case {
        name: "onbuild",
        steps: true,
        builds: &[
            &["-t", "compat-onbuild-parent"],
            &["-f", "{ctx}/Dockerfile.child"],
        ],
    },
    Case {
        name: "copy_paths",
        steps: true,
        builds: &[&[]],
    },
    Case {
        name: "copy_owner",
        steps: true,
        builds: &[&[]],
    },
    Case {
        name: "add_tar",
        steps: true,
        builds: &[&[]],
    },
    Case {
        name: "dockerignore",
        steps: true,
        builds: &[&[]],
    },
    Case {
        name: "run_layers",
        steps: true,
        builds: &[&[]],
    },
    Case {
        name: "scratch",
        steps: true,
        builds: &[&[]],
    },
    Case {
        name: "multistage",
        steps: false,
        builds: &[
            &[],
            &[
                "--target",
                "middle",
                "--label",
                "z.last=1",
                "--label",
                "a.first=2",
            ],
        ],
    },
];

/// How many cases build at once: enough to overlap one engine's RUN containers with the
/// other's copies, few enough for 2 cores.
const WORKERS: usize = 3;

/// The base image's root filesystem: busybox, users and groups the `--chown` and `USER`
/// cases name, and files the RUN cases change and delete.
fn base_tar(dir: &Path) -> PathBuf {
    let rootfs = busybox::rootfs(dir);
    let write = |path: &str, text: &str| {
        let path = rootfs.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n\
         nobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n",
    );
    write(
        "etc/group",
        "root:x:0:\nstaff:x:50:\napp:x:1000:\nnogroup:x:65534:\n",
    );
    write("data/seed.txt", "seed\n");
    write("data/old.txt", "to be deleted\n");
    write(
        "data/olddir/inner.txt",
        "to be deleted with its directory\n",
    );
    write("www/index.html", "index\n");
    fs::create_dir_all(rootfs.join("root")).unwrap();
    let tar = dir.join("base.tar");
    busybox::tar_dir(&rootfs, &tar);
    tar
}

/// Imports the base into dockerd, and loads dockerd's save of it into berth.
fn load_base(docker: &Side, berth: &Side, dir: &Path) {
    let tar = base_tar(dir);
    docker.ok(&[
        "import",
        "--change",
        r#"CMD ["sh"]"#,
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        &tar.to_string_lossy(),
        BASE,
    ]);
    let saved = dir.join("base-saved.tar");
    docker.ok(&["save", "-o", &saved.to_string_lossy(), BASE]);
    berth.ok(&["load", "-i", &saved.to_string_lossy()]);
    let id = |side: &Side| side.ok(&["image", "inspect", "-f", "{{.Id}}", BASE]);
    assert_eq!(
        id(docker),
        id(berth),
        "the base image's id differs after load"
    );
}

/// Files of a case's context that are better made than stored: `add_tar`'s archives, with
/// owners and modes a checkout could not keep.
fn generate(case: &str, ctx: &Path) {
    if case != "add_tar" {
        return;
    }
    let mut builder = tar::Builder::new(Vec::new());
    let mut add =
        |path: &str, kind: tar::EntryType, mode: u32, uid: u64, data: &[u8], link: Option<&str>| {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_uid(uid);
            header.set_gid(50);
            header.set_size(data.len() as u64);
            header.set_mtime(1_600_000_000);
            if let Some(l) = link {
                header.set_link_name(l).unwrap();
            }
            header.set_cksum();
            builder.append_data(&mut header, path, data).unwrap();
        };
    add("pkg/", tar::EntryType::Directory, 0o750, 1000, b"", None);
    add(
        "pkg/file.txt",
        tar::EntryType::Regular,
        0o640,
        1000,
        b"in the archive\n",
        None,
    );
    add(
        "pkg/link",
        tar::EntryType::Symlink,
        0o777,
        0,
        b"",
        Some("file.txt"),
    );
    add("top.txt", tar::EntryType::Regular, 0o600, 0, b"top\n", None);
    let bytes = builder.into_inner().unwrap();
    fs::write(ctx.join("archive.tar"), &bytes).unwrap();
    let gz = std::process::Command::new("gzip")
        .args(["-n", "-c"])
        .arg(ctx.join("archive.tar"))
        .output()
        .unwrap();
    assert!(gz.status.success(), "gzip failed");
    fs::write(ctx.join("archive.tar.gz"), gz.stdout).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Builds one case on both engines; the differences found, as report lines.
fn run_case(case: &Case, docker: &Side, berth: &Side, work: &Path) -> Vec<String> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/build_compat/cases")
        .join(case.name);
    let ctx = work.join(case.name);
    copy_dir(&fixture, &ctx);
    generate(case.name, &ctx);
    let ctx_text = ctx.to_string_lossy().into_owned();
    let mut report = Vec::new();
    for (n, build) in case.builds.iter().enumerate() {
        let args: Vec<String> = build
            .iter()
            .map(|a| a.replace("{ctx}", &ctx_text))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let label = format!("{} build {} ({})", case.name, n + 1, args.join(" "));
        let scratch = work.join(format!("{}-{n}", case.name));
        fs::create_dir_all(&scratch).unwrap();
        let one = |side: &Side| {
            observe::build(side, &ctx, &args)
                .map(|(id, out)| observe::observe(side, &id, &out, &scratch))
        };
        let (d, b) = thread::scope(|s| {
            let d = s.spawn(|| one(docker));
            let b = s.spawn(|| one(berth));
            (d.join().unwrap(), b.join().unwrap())
        });
        match (d, b) {
            (Ok(d), Ok(b)) => {
                let found = diff::compare(&d, &b, case.steps);
                if !found.is_empty() {
                    report.push(format!("=== {label}"));
                    report.extend(found);
                }
            }
            // Both refused it: what the comparison wants of a build Docker refuses.
            (Err(_), Err(_)) => {}
            (Err(e), Ok(_)) => report.push(format!(
                "=== {label}: only berth built it; docker said:\n{e}"
            )),
            (Ok(_), Err(e)) => report.push(format!(
                "=== {label}: only docker built it; berth said:\n{e}"
            )),
        }
    }
    report
}

#[test]
fn berth_builds_what_the_legacy_builder_builds() {
    let started = Instant::now();
    // Both on this thread: a daemon's parent-death signal fires when the thread that
    // spawned it ends.
    let Some(dockerd) = PrivateDockerd::builder()
        .prefix("berth-compat-dockerd-")
        // overlay2, as berth's builder and most dockerds: with vfs, dockerd computes
        // diffs by comparing trees, which differs from an overlay's upper directory
        // (e.g. a file copied up by a hard link is not in a vfs diff).
        .storage_driver("overlay2")
        .docker_cli(engine::daemon::DOCKER_CLI)
        .start()
    else {
        eprintln!("skipped: dockerd cannot run here (see above)");
        return;
    };
    let berthd = BerthDaemon::start();
    let docker = Side {
        name: "docker",
        command: Box::new({
            let host = dockerd.host();
            let config = dockerd.dir().join("cli");
            move || cli(&host, &config)
        }),
        log_tail: Box::new({
            let log = dockerd.dir().join("dockerd.log");
            move || tail(&log)
        }),
    };
    let berth = Side {
        name: "berth",
        command: Box::new({
            let host = berthd.host();
            let config = berthd.dir().join("cli");
            move || cli(&host, &config)
        }),
        log_tail: Box::new({
            let log = berthd.dir().join("daemon.log");
            move || tail(&log)
        }),
    };
    let work = tempfile::Builder::new()
        .prefix("berth-compat-")
        .tempdir()
        .unwrap();
    load_base(&docker, &berth, work.path());
    eprintln!("daemons up and base loaded in {:?}", started.elapsed());

    let next = AtomicUsize::new(0);
    let reports = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = CASES.get(i) else { break };
                let case_started = Instant::now();
                let report = run_case(case, &docker, &berth, work.path());
                eprintln!(
                    "{}: {} in {:?}",
                    case.name,
                    if report.is_empty() {
                        "same"
                    } else {
                        "DIFFERENT"
                    },
                    case_started.elapsed()
                );
                reports.lock().unwrap().push((i, report));
            });
        }
    });
    let mut reports = reports.into_inner().unwrap();
    reports.sort_by_key(|(i, _)| *i);
    let differences: Vec<String> = reports.into_iter().flat_map(|(_, r)| r).collect();
    eprintln!("all cases in {:?}", started.elapsed());
    drop(berthd);
    drop(dockerd);
    assert!(
        differences.is_empty(),
        "berth's images differ from the legacy builder's:\n{}",
        differences.join("\n")
    );
}

/// A docker CLI command for the engine at `host`, with a config dir of its own.
fn cli(host: &str, config: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(engine::daemon::DOCKER_CLI);
    cmd.env("DOCKER_HOST", host)
        .env("DOCKER_CONFIG", config)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY");
    cmd
}

fn tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(40);
    format!("--- {} ---\n{}", log.display(), lines[start..].join("\n"))
}

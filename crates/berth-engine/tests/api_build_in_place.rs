//! `POST /build` with a context read in place (`x-berth-context-dir`, berth's extension for
//! clients on the daemon's host) against a real `berth daemon`: `.dockerignore` applies,
//! the directory is left as it was, and a directory that is not the client's is refused.
//!
//! Needs the daemon binary (`BERTH_BIN`, or `target/debug/berth` from
//! `cargo build -p berth`) and the docker CLI; skips with a message without them.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::MetadataExt;

use berth_testkit::busybox;

mod daemon_bin;

use daemon_bin::Daemon;

fn query(dir: &std::path::Path, id: &str, tag: &str) -> String {
    format!(
        "/build?t={tag}&x-berth-context-dir={}&x-berth-context-id={id}",
        dir.display()
    )
}

#[test]
fn in_place_contexts_honour_dockerignore_and_are_checked() {
    let Some(d) = Daemon::start() else {
        return;
    };
    let tar = busybox::rootfs_tar(d.dir.path());
    d.ok(&["import", &tar.to_string_lossy(), "inplace-bb:latest"]);
    let ctx = d.dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("sub")).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM inplace-bb\nCOPY . /ctx/\nCMD [\"ls\", \"-aR\", \"/ctx\"]\n",
    )
    .unwrap();
    std::fs::write(ctx.join("kept.txt"), "kept\n").unwrap();
    std::fs::write(ctx.join("sub/skipped.log"), "not for the image\n").unwrap();
    std::fs::write(ctx.join(".dockerignore"), "**/*.log\n").unwrap();
    let meta = std::fs::metadata(&ctx).unwrap();
    let id = format!("{}:{}", meta.dev(), meta.ino());

    let (status, body) = d.http("POST", &query(&ctx, &id, "inplace:1"), b"");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Successfully tagged inplace:1"), "{body}");
    let listing = d.ok(&["run", "--rm", "inplace:1"]);
    assert!(listing.contains("kept.txt"), "{listing}");
    assert!(listing.contains("sub"), "{listing}");
    assert!(!listing.contains("skipped.log"), "{listing}");
    // Read, never written.
    assert!(ctx.join("sub/skipped.log").is_file());
    assert_eq!(std::fs::read_dir(&ctx).unwrap().count(), 4);

    // A changed file is seen by the next build (no stale cache).
    std::fs::write(ctx.join("kept.txt"), "changed, longer\n").unwrap();
    let (status, body) = d.http("POST", &query(&ctx, &id, "inplace:2"), b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        d.ok(&["run", "--rm", "inplace:2", "cat", "/ctx/kept.txt"]),
        "changed, longer\n"
    );

    // Another directory than the client's (as from another mount namespace): refused,
    // so that the client sends a tar.
    let (status, body) = d.http("POST", &query(&ctx, "1:2", "inplace:3"), b"");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("x-berth-context-dir"), "{body}");
    let (status, body) = d.http(
        "POST",
        &query(std::path::Path::new("rel/ctx"), &id, "x"),
        b"",
    );
    assert_eq!(status, 400, "{body}");

    // A RUN --mount=type=bind of the context gets a private copy: the step sees no
    // excluded file and cannot write into the client's directory.
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM inplace-bb\nRUN --mount=type=bind,target=/c,rw ls -R /c > /listing && echo x > /c/written\n",
    )
    .unwrap();
    let (status, body) = d.http("POST", &query(&ctx, &id, "inplace:4"), b"");
    assert_eq!(status, 200, "{body}");
    let listing = d.ok(&["run", "--rm", "inplace:4", "cat", "/listing"]);
    assert!(listing.contains("kept.txt"), "{listing}");
    assert!(!listing.contains("skipped.log"), "{listing}");
    assert!(
        !ctx.join("written").exists(),
        "the step wrote into the context"
    );

    let work = d.dir.path().join("d/build-work");
    assert!(
        !work.exists() || std::fs::read_dir(&work).unwrap().next().is_none(),
        "work directories left in {}",
        work.display()
    );
}

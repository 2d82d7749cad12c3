//! A context read in place (`live_context`): file digests remembered between builds must
//! still miss on every change, and `.dockerignore` applies as for an unpacked context.

#![allow(clippy::unwrap_used)]

#[path = "executor_common.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use berth_build::executor::{BuildRequest, FileDigests};
use common::*;

/// The file's mtime put `secs` seconds back: old enough for its digest to be remembered.
fn age(env: &Env, rel: &str, secs: u64) {
    let old = filetime::FileTime::from_system_time(SystemTime::now() - Duration::from_secs(secs));
    filetime::set_file_mtime(env.context.join(rel), old).unwrap();
}

fn live(env: &Env, dockerfile: &str) -> BuildRequest {
    BuildRequest {
        live_context: true,
        ..env.request(dockerfile)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remembered_digests_miss_on_a_changed_file() {
    let mut env = env();
    let digests = Arc::new(FileDigests::new());
    env.builder = std::mem::replace(
        &mut env.builder,
        berth_build::executor::Builder::new(
            env.data_root.clone(),
            env.images.clone(),
            env.snapshots.clone(),
        ),
    )
    .with_file_digests(digests);
    env.write("src/a.txt", "aaaa");
    env.write("src/b.txt", "b1");
    age(&env, "src/a.txt", 60);
    age(&env, "src/b.txt", 60);
    // ctime cannot be set back: wait until it is old enough for digests to be remembered.
    std::thread::sleep(Duration::from_millis(2100));
    let dockerfile = "FROM busybox\nCOPY src/ /src/\nRUN cat /src/a.txt /src/b.txt > /out\n";
    let (first, events) = env.build(live(&env, dockerfile)).await;
    let first = first.unwrap();
    assert_eq!(cache_hits(&events), 0);
    assert_eq!(env.run_in(&first.image_id, "cat /out"), "aaaab1");

    // Nothing changed: every step hits.
    let (second, events) = env.build(live(&env, dockerfile)).await;
    assert_eq!(second.unwrap().image_id, first.image_id);
    assert_eq!(cache_hits(&events), 2);

    // Same size, mtime put back: the change still shows (ctime), although the file's
    // digest was remembered.
    env.write("src/a.txt", "zzzz");
    age(&env, "src/a.txt", 60);
    let (third, events) = env.build(live(&env, dockerfile)).await;
    let third = third.unwrap();
    assert_eq!(cache_hits(&events), 0, "{events:?}");
    assert_eq!(env.run_in(&third.image_id, "cat /out"), "zzzzb1");
    // The unchanged file may be shared with the first result: that one is intact.
    assert_eq!(
        env.run_in(&first.image_id, "cat /src/a.txt /src/b.txt"),
        "aaaab1"
    );
    assert_eq!(
        env.run_in(&third.image_id, "cat /src/a.txt /src/b.txt"),
        "zzzzb1"
    );

    // A new size and mtime, written just now (not remembered yet).
    env.write("src/b.txt", "b2-longer");
    let (fourth, events) = env.build(live(&env, dockerfile)).await;
    let fourth = fourth.unwrap();
    assert_eq!(cache_hits(&events), 0);
    assert_eq!(env.run_in(&fourth.image_id, "cat /out"), "zzzzb2-longer");

    // Back to the first content: the first build's steps are found again.
    env.write("src/a.txt", "aaaa");
    env.write("src/b.txt", "b1");
    let (fifth, events) = env.build(live(&env, dockerfile)).await;
    assert_eq!(fifth.unwrap().image_id, first.image_id);
    assert_eq!(cache_hits(&events), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_contexts_honour_dockerignore_and_stay_untouched() {
    let env = env();
    env.write("app/main.c", "int main;");
    env.write("app/notes.tmp", "scratch");
    env.write("secret/key", "k");
    env.write(".dockerignore", "**/*.tmp\nsecret/\n");
    let before = snapshot(&env.context);
    let dockerfile = "FROM busybox\nCOPY . /ctx/\nRUN ls -R /ctx > /listing\n";
    let (result, _) = env.build(live(&env, dockerfile)).await;
    let id = result.unwrap().image_id;
    let listing = env.run_in(&id, "cat /listing");
    assert!(listing.contains("main.c"), "{listing}");
    assert!(!listing.contains("notes.tmp"), "{listing}");
    assert!(!listing.contains("secret"), "{listing}");
    assert_eq!(snapshot(&env.context), before, "the context was changed");
}

/// Every path under `dir` with its content.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(next) = todo.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.push((rel, Vec::new()));
                todo.push(path);
            } else {
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

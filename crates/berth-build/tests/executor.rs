//! The executor end to end: real image store, overlays, layers, and RUN steps really run
//! (chrooted) by the test's StepRunner.

#![allow(clippy::unwrap_used)]

#[path = "executor_common.rs"]
mod common;

use berth_build::executor::{BuildError, BuildEvent};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_scratch_copy() {
    let env = env();
    env.write("hello.txt", "hello\n");
    env.write("dir/a", "A");
    env.write("dir/sub/b", "B");
    let (result, events) = env
        .build(env.request("FROM scratch\nCOPY hello.txt /\nCOPY dir /data/\n"))
        .await;
    let result = result.unwrap();
    assert!(events.contains(&BuildEvent::Step {
        number: 1,
        total: 3,
        text: "FROM scratch".into()
    }));
    let config = env.config(&result.image_id);
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    let history = config["history"].as_array().unwrap();
    assert!(history[0]["created_by"]
        .as_str()
        .unwrap()
        .starts_with("/bin/sh -c #(nop) COPY file:"));
    assert!(history[1]["created_by"]
        .as_str()
        .unwrap()
        .ends_with(" in /data/ "));
    // Check the files through the committed layers, with busybox's sh from the outside.
    let image = env.images.get(&result.image_id).unwrap();
    assert_eq!(image.layers.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_env_workdir_cmd() {
    let env = env();
    let dockerfile = "FROM busybox\nENV GREETING=hi\nWORKDIR /app\nRUN echo \"$GREETING\" > out.txt && echo built\nCMD [\"cat\", \"out.txt\"]\n";
    let mut request = env.request(dockerfile);
    request.tags = vec!["app:1".into(), "app:latest".into()];
    let (result, events) = env.build(request).await;
    let result = result.unwrap();
    assert!(events.contains(&BuildEvent::Output("built".into())));
    let config = env.config("app:1");
    assert_eq!(
        env.images
            .get("app:latest")
            .unwrap()
            .config_digest
            .to_string(),
        result.image_id
    );
    assert_eq!(config["config"]["WorkingDir"], "/app");
    assert_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["cat", "out.txt"])
    );
    assert!(config["config"]["Env"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("GREETING=hi")));
    let created_by: Vec<&str> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert!(created_by.contains(&"/bin/sh -c #(nop)  ENV GREETING=hi"));
    assert!(created_by.contains(&"/bin/sh -c #(nop) WORKDIR /app"));
    assert!(created_by.contains(&"/bin/sh -c #(nop)  CMD [\"cat\" \"out.txt\"]"));
    assert_eq!(env.run_in(&result.image_id, "cat /app/out.txt"), "hi\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_stage_copy_from_and_target() {
    let env = env();
    let dockerfile = "FROM busybox AS build\nARG VERSION=0\nRUN echo \"v$VERSION\" > /version\n\
FROM busybox AS unused\nRUN exit 1\n\
FROM scratch AS final\nCOPY --from=build /version /v\nCOPY --from=busybox /bin/busybox /busybox\n\
FROM final AS other\nLABEL x=y\n";
    let mut request = env.request(dockerfile);
    request.target = Some("final".into());
    request.build_args = args(&[("VERSION", "7")]);
    let (result, _) = env.build(request).await;
    let result = result.unwrap();
    let config = env.config(&result.image_id);
    assert!(
        config["config"].get("Labels").is_none(),
        "the target is `final`, not `other`"
    );
    let history = config["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    // The version file is in the first layer of a scratch image.
    let image = env.images.get(&result.image_id).unwrap();
    let digest = berth_image::manifest::descriptor_digest(&image.layers[0]).unwrap();
    let blob = env.images.content().open_blob(&digest).unwrap();
    let mut archive = tar::Archive::new(std::io::BufReader::new(blob));
    let mut found = String::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == "v" {
            std::io::Read::read_to_string(&mut entry, &mut found).unwrap();
        }
    }
    assert_eq!(found, "v7\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_arg_reaches_run_but_not_the_image() {
    let env = env();
    let mut request =
        env.request("FROM busybox\nARG NAME=default\nRUN echo \"name=$NAME\" > /name\n");
    request.build_args = args(&[("NAME", "given"), ("UNUSED", "x")]);
    let (result, events) = env.build(request).await;
    let result = result.unwrap();
    assert_eq!(env.run_in(&result.image_id, "cat /name"), "name=given\n");
    let config = env.config(&result.image_id);
    let env_list = config["config"]["Env"].to_string();
    assert!(!env_list.contains("NAME="), "{env_list}");
    let last = config["history"].as_array().unwrap().last().unwrap()["created_by"].clone();
    assert_eq!(last, "|1 NAME=given /bin/sh -c echo \"name=$NAME\" > /name");
    assert!(events
        .iter()
        .any(|e| matches!(e, BuildEvent::Warning(w) if w.contains("UNUSED"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dockerignore_excludes_files() {
    let env = env();
    env.write("keep.txt", "keep");
    env.write("secret.key", "no");
    env.write("logs/a.log", "no");
    env.write(".dockerignore", "*.key\nlogs\n");
    let (result, _) = env.build(env.request("FROM busybox\nCOPY . /ctx/\n")).await;
    let id = result.unwrap().image_id;
    assert_eq!(
        env.run_in(&id, "ls -A /ctx | sort | tr '\\n' ' '"),
        ".dockerignore keep.txt "
    );
    let (result, _) = env
        .build(env.request("FROM busybox\nCOPY secret.key /\n"))
        .await;
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("file not found in build context or excluded by .dockerignore"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_outside_context_refused() {
    let env = env();
    let (result, _) = env
        .build(env.request("FROM busybox\nCOPY ../etc/passwd /x\n"))
        .await;
    let err = result.unwrap_err();
    assert!(matches!(err, BuildError::Source(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("forbidden path outside the build context"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_run_reports_and_leaves_no_mounts() {
    let env = env();
    let (result, events) = env
        .build(env.request("FROM busybox\nRUN echo before && exit 3\n"))
        .await;
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "The command '/bin/sh -c echo before && exit 3' returned a non-zero code: 3"
    );
    assert!(events.contains(&BuildEvent::Output("before".into())));
    assert!(mounts_under(&env.data_root).is_empty());
    let work = env.data_root.join("build-work");
    assert_eq!(std::fs::read_dir(work).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_hits_and_invalidation() {
    let env = env();
    env.write("a.txt", "a1");
    env.write("b.txt", "b1");
    let dockerfile = "FROM busybox\nCOPY a.txt /\nRUN cat /a.txt > /copy-a\nCOPY b.txt /\nRUN cat /b.txt > /copy-b\n";
    let (first, events) = env.build(env.request(dockerfile)).await;
    let first = first.unwrap();
    assert_eq!(cache_hits(&events), 0);
    let (second, events) = env.build(env.request(dockerfile)).await;
    assert_eq!(second.unwrap().image_id, first.image_id);
    assert_eq!(cache_hits(&events), 4);
    // Touching a file without changing it keeps the cache: content, not mtime.
    env.write("a.txt", "a1");
    let (third, events) = env.build(env.request(dockerfile)).await;
    assert_eq!(third.unwrap().image_id, first.image_id);
    assert_eq!(cache_hits(&events), 4);
    // Changing b.txt: the steps before it hit, the rest run.
    env.write("b.txt", "b2");
    let (fourth, events) = env.build(env.request(dockerfile)).await;
    let fourth = fourth.unwrap();
    assert_eq!(cache_hits(&events), 2);
    assert_ne!(fourth.image_id, first.image_id);
    assert_eq!(env.run_in(&fourth.image_id, "cat /copy-a /copy-b"), "a1b2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_date_epoch_reproducible() {
    let env = env();
    env.write("f", "content");
    let dockerfile = "FROM busybox\nCOPY f /f\nRUN echo x > /x\nENV A=1\n";
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut request = env.request(dockerfile);
        request.no_cache = true;
        request.source_date_epoch = Some(1_700_000_000);
        let (result, events) = env.build(request).await;
        assert_eq!(cache_hits(&events), 0);
        ids.push(result.unwrap().image_id);
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(env.config(&ids[0])["created"], "2023-11-14T22:13:20Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_local_tar_extracts() {
    let env = env();
    let staging = env.dir.path().join("staging");
    std::fs::create_dir_all(staging.join("pkg")).unwrap();
    std::fs::write(staging.join("pkg/inside.txt"), "inside\n").unwrap();
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(&staging)
        .arg("-czf")
        .arg(env.context.join("pkg.tar.gz"))
        .arg("pkg")
        .status()
        .unwrap();
    assert!(status.success());
    env.write("plain.txt", "plain\n");
    let (result, _) = env
        .build(env.request("FROM busybox\nADD pkg.tar.gz /opt/\nADD plain.txt /opt/\n"))
        .await;
    let id = result.unwrap().image_id;
    assert_eq!(
        env.run_in(&id, "cat /opt/pkg/inside.txt /opt/plain.txt"),
        "inside\nplain\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heredoc_copy_and_chown() {
    let env = env();
    let dockerfile = "FROM busybox\nRUN echo 'app:x:1234:1234::/:/bin/sh' >> /etc/passwd && echo 'appg:x:4321:' >> /etc/group\n\
COPY --chown=app:appg --chmod=755 <<EOF /usr/local/bin/hello\n#!/bin/sh\necho hello\nEOF\nRUN hello > /out\n";
    let (result, _) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap().image_id;
    assert_eq!(env.run_in(&id, "cat /out"), "hello\n");
    assert_eq!(
        env.run_in(&id, "stat -c '%u:%g %a' /usr/local/bin/hello"),
        "1234:4321 755\n"
    );
}

//! RUN end to end: exec form, USER, `--network=none`, `--mount=type=cache` (kept across
//! builds, never in the layer) and `type=bind` (from the context or a stage; read-only,
//! never in the layer), several heredocs in one RUN.

#![allow(clippy::unwrap_used)]

#[path = "executor_common.rs"]
mod common;

use berth_build::executor::BuildEvent;
use common::*;

/// The layer's file names (the diff of one step).
fn layer_paths(env: &Env, id: &str, index: usize) -> Vec<String> {
    let image = env.images.get(id).unwrap();
    let digest = berth_image::manifest::descriptor_digest(&image.layers[index]).unwrap();
    let blob = env.images.content().open_blob(&digest).unwrap();
    let mut archive = tar::Archive::new(std::io::BufReader::new(blob));
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn outputs(events: &[BuildEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Output(o) => Some(o.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_form_and_user() {
    let env = env();
    let dockerfile = "FROM busybox\n\
RUN echo 'app:x:1234:4321::/:/bin/sh' >> /etc/passwd && echo 'app:x:4321:' >> /etc/group && mkdir /home-app && chown app /home-app\n\
ENV WHO=env-value\n\
RUN [\"/bin/sh\", \"-c\", \"echo exec $WHO\"]\n\
USER app\n\
RUN id -u; id -g; echo mine > /home-app/f\n\
USER 7:8\n\
RUN echo \"$(id -u):$(id -g)\"\n";
    let (result, events) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    let out = outputs(&events);
    assert_eq!(out, ["exec env-value", "1234", "4321", "7:8"], "{events:?}");
    assert_eq!(
        env.run_in(&id, "stat -c '%u:%g' /home-app/f"),
        "1234:4321\n"
    );
    let config = env.config(&id);
    assert_eq!(config["config"]["User"], "7:8");
    let history: Vec<&str> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert!(
        history.contains(&"/bin/sh -c echo exec $WHO"),
        "exec form as docker records it: {history:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_none_isolates_one_step() {
    let env = env();
    // The build's network is the host's; one step asks for none.
    let mut request = env
        .request("FROM busybox\nRUN --network=none ip -o link | wc -l\nRUN ip -o link | wc -l\n");
    request.network = "host".into();
    let (result, events) = env.build(request).await;
    result.unwrap();
    let out = outputs(&events);
    assert_eq!(out[0].trim(), "1", "only lo with --network=none: {out:?}");
    let host_links: usize = out[1].trim().parse().unwrap();
    assert!(host_links > 1, "the host's links without it: {out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_mount_persists_across_builds_but_not_in_the_layer() {
    let env = env();
    let dockerfile = "FROM busybox\nRUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /count\n";
    let mut counts = Vec::new();
    for _ in 0..2 {
        let mut request = env.request(dockerfile);
        request.no_cache = true;
        let (result, _) = env.build(request).await;
        let id = result.unwrap().image_id;
        counts.push(env.run_in(&id, "cat /count"));
        let layer = layer_paths(&env, &id, 1);
        assert!(
            !layer.iter().any(|p| p.ends_with("log")),
            "the cache's content stays out of the layer: {layer:?}"
        );
    }
    assert_eq!(counts, ["1\n", "2\n"]);
    // A cache with an id is shared by every target naming it.
    let (result, _) = env
        .build(env.request(
            "FROM busybox\nRUN --mount=type=cache,id=/var/cache/app,target=/elsewhere cat /elsewhere/log | wc -l > /seen\n",
        ))
        .await;
    assert_eq!(env.run_in(&result.unwrap().image_id, "cat /seen"), "2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_mounts_from_the_context_and_a_stage() {
    let env = env();
    env.write("src/main.txt", "from the context\n");
    let dockerfile = "FROM busybox AS tools\nRUN echo from-a-stage > /tool\n\
FROM busybox\n\
RUN --mount=type=bind,source=src,target=/src cat /src/main.txt > /out1\n\
RUN --mount=type=bind,from=tools,source=/tool,target=/mnt/tool cat /mnt/tool > /out2\n\
RUN --mount=type=bind,target=/ctx (echo x > /ctx/new) 2>/dev/null || echo read-only\n";
    let (result, events) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    assert_eq!(
        env.run_in(&id, "cat /out1 /out2"),
        "from the context\nfrom-a-stage\n"
    );
    let out = outputs(&events);
    assert!(out.contains(&"read-only".to_string()), "{out:?}");
    assert!(!env.context.join("new").exists());
    // Nothing of the mounts' content is in the layers (an empty mount point may be).
    let image = env.images.get(&id).unwrap();
    for index in 1..image.layers.len() {
        let layer = layer_paths(&env, &id, index);
        assert!(
            !layer.iter().any(|p| p.ends_with("main.txt")),
            "layer {index}: {layer:?}"
        );
        let digest = berth_image::manifest::descriptor_digest(&image.layers[index]).unwrap();
        let blob = env.images.content().open_blob(&digest).unwrap();
        let mut archive = tar::Archive::new(std::io::BufReader::new(blob));
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            if entry.path().unwrap().to_string_lossy() == "mnt/tool" {
                assert_eq!(entry.size(), 0, "the stage's file was copied in");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_heredocs_in_one_run() {
    let env = env();
    let dockerfile = "FROM busybox\nENV WHERE=expanded\nRUN <<ONE cat > /one && <<-TWO cat > /two\nfirst $WHERE\nONE\n\tsecond\n\tTWO\nRUN <<EOF\necho script line 1\necho script line 2 > /three\nEOF\n";
    let (result, events) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    assert_eq!(
        env.run_in(&id, "cat /one /two /three"),
        "first expanded\nsecond\nscript line 2\n"
    );
    assert!(outputs(&events).contains(&"script line 1".to_string()));
}

/// `rw` on a bind mount makes writes land in a throwaway copy ("written data will be
/// discarded", as Docker documents): the build context is never changed by a RUN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writable_bind_mount_writes_are_discarded() {
    let env = env();
    env.write("kept.txt", "kept\n");
    let dockerfile = "FROM busybox\nRUN --mount=type=bind,target=/ctx,rw echo x > /ctx/scratch && cat /ctx/scratch\nRUN --mount=type=bind,source=kept.txt,target=/k,rw echo changed >> /k && cat /k\n";
    let (result, events) = env.build(env.request(dockerfile)).await;
    result.unwrap();
    assert!(outputs(&events).contains(&"x".to_string()));
    assert!(
        !env.context.join("scratch").exists(),
        "the write reached the context"
    );
    assert!(outputs(&events).contains(&"changed".to_string()));
    assert_eq!(
        std::fs::read_to_string(env.context.join("kept.txt")).unwrap(),
        "kept\n",
        "a write to a bound file reached the context"
    );
}

/// The mount points the runtime makes for RUN mounts (and the empty directories above
/// them) stay out of the step's layer, as BuildKit keeps them; what the step writes next
/// to them stays in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mount_points_stay_out_of_the_layer() {
    let env = env();
    env.write("data.txt", "bound\n");
    let dockerfile = "FROM busybox\n\
        RUN --mount=type=cache,target=/stub/deep/cache --mount=type=bind,source=data.txt,target=/bound/file.txt --mount=type=bind,target=/kept/ctx \
            cat /bound/file.txt > /out && echo side > /kept/side\n";
    let (result, _) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    let mut layer = layer_paths(&env, &id, 1);
    layer.sort();
    assert_eq!(layer, ["kept/", "kept/side", "out"], "the step's layer");
    assert_eq!(env.run_in(&id, "cat /out /kept/side"), "bound\nside\n");
}

/// `RUN <<EOF` whose body starts with `#!` runs the body as a program, with the
/// interpreter its first line names (BuildKit's rule).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heredoc_with_an_interpreter_line_runs_as_a_program() {
    let env = env();
    // busybox's awk as the interpreter: a shell would choke on this body.
    let dockerfile = "FROM busybox\nRUN <<EOF\n#!/usr/bin/awk -f\nBEGIN { print \"from awk\" > \"/awk.out\"; print \"printed by awk\" }\nEOF\n";
    let (result, events) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    assert!(
        outputs(&events).contains(&"printed by awk".to_string()),
        "{events:?}"
    );
    assert_eq!(env.run_in(&id, "cat /awk.out"), "from awk\n");
    let layer = layer_paths(&env, &id, 1);
    assert_eq!(layer, ["awk.out"], "the script's mount point stays out");
}

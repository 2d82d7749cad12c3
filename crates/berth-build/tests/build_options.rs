//! Build-wide options end to end: independent stages run in parallel, `--target` skips
//! what it does not need, `--platform` against a local image of another platform,
//! `--pull`, `--no-cache`; and the syntax features as a build sees them (directives,
//! continuations with comments, substitution modifiers, ARG scoping across stages).

#![allow(clippy::unwrap_used)]

#[path = "executor_common.rs"]
mod common;

use berth_build::executor::{BuildError, BuildEvent};
use berth_image::reference::Reference;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_stages_run_in_parallel() {
    let env = env();
    // Each stage waits (up to 20 s) for the other's mark in a shared cache mount: built
    // one after the other, the first would give up and fail the build.
    let wait = |me: &str, other: &str| {
        format!(
            "RUN --mount=type=cache,id=rendezvous,target=/sync touch /sync/{me} && \
             i=0; while [ ! -e /sync/{other} ]; do i=$((i+1)); [ $i -gt 200 ] && exit 9; sleep 0.1; done; \
             echo {me} > /{me}\n"
        )
    };
    let dockerfile = format!(
        "FROM busybox AS left\n{}FROM busybox AS right\n{}FROM busybox\nCOPY --from=left /left /\nCOPY --from=right /right /\n",
        wait("left", "right"),
        wait("right", "left"),
    );
    let (result, _) = env.build(env.request(&dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    assert_eq!(env.run_in(&id, "cat /left /right"), "left\nright\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_skips_stages_it_does_not_need() {
    let env = env();
    let dockerfile = "FROM busybox AS broken\nRUN exit 1\nFROM busybox AS needed\nRUN echo n > /n\nFROM needed AS wanted\nRUN cat /n\nFROM broken\n";
    let mut request = env.request(dockerfile);
    request.target = Some("wanted".into());
    let (result, events) = env.build(request).await;
    result.unwrap();
    let steps: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Step {
                number,
                total,
                text,
            } => Some(format!("{number}/{total} {text}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            "1/4 FROM busybox AS needed",
            "2/4 RUN echo n > /n",
            "3/4 FROM needed AS wanted",
            "4/4 RUN cat /n"
        ]
    );
    // Without the target the last stage needs the broken one.
    let (result, _) = env.build(env.request(dockerfile)).await;
    assert!(matches!(
        result.unwrap_err(),
        BuildError::RunFailed { code: 1, .. }
    ));
}

/// Tags the busybox image as `name` too.
fn also_name(env: &Env, name: &str) {
    let image = env.images.get("busybox:latest").unwrap();
    env.images
        .tag(&Reference::parse(name).unwrap(), &image.digest)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_mismatch_is_refused() {
    let env = env();
    // A registry that is not there: the pull for the other platform fails at once.
    let port = berth_testkit::free_port();
    let name = format!("127.0.0.1:{port}/bb:latest");
    also_name(&env, &name);
    let host = berth_image::manifest::Platform::host();
    let other = if host.architecture == "arm64" {
        "linux/amd64"
    } else {
        "linux/arm64"
    };
    let (result, _) = env
        .build(env.request(&format!("FROM --platform={other} {name}\nRUN true\n")))
        .await;
    let err = result.unwrap_err();
    assert!(matches!(err, BuildError::Image(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "image with reference {name} was found but does not match the specified platform: wanted {other}, actual: {}/{}",
            host.os, host.architecture
        )
    );
    // The request's --platform applies to every FROM.
    let mut request = env.request(&format!("FROM {name}\n"));
    request.platform = Some(other.into());
    let err = env.build(request).await.0.unwrap_err().to_string();
    assert!(
        err.contains("does not match the specified platform"),
        "{err}"
    );
    // The host's own platform is fine.
    let mut request = env.request(&format!("FROM {name}\nRUN true\n"));
    request.platform = Some(format!("{}/{}", host.os, host.architecture));
    env.build(request).await.0.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_goes_to_the_registry_even_for_a_stored_image() {
    let env = env();
    let port = berth_testkit::free_port();
    let name = format!("127.0.0.1:{port}/bb:latest");
    also_name(&env, &name);
    let dockerfile = format!("FROM {name}\nRUN true\n");
    env.build(env.request(&dockerfile)).await.0.unwrap();
    let mut request = env.request(&dockerfile);
    request.pull = true;
    let err = env.build(request).await.0.unwrap_err();
    assert!(matches!(err, BuildError::Image(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("pull access denied for {name}")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cache_runs_every_step_again() {
    let env = env();
    // The step counts its runs in a cache mount.
    let dockerfile =
        "FROM busybox\nRUN --mount=type=cache,target=/c echo >> /c/runs && wc -l < /c/runs > /stamp\nENV A=1\n";
    let (first, _) = env.build(env.request(dockerfile)).await;
    let first = first.unwrap().image_id;
    let (again, events) = env.build(env.request(dockerfile)).await;
    assert_eq!(again.unwrap().image_id, first);
    assert_eq!(cache_hits(&events), 2);
    let mut request = env.request(dockerfile);
    request.no_cache = true;
    let (fresh, events) = env.build(request).await;
    let fresh = fresh.unwrap().image_id;
    assert_eq!(cache_hits(&events), 0);
    assert_eq!(env.run_in(&first, "cat /stamp"), "1\n");
    assert_eq!(env.run_in(&fresh, "cat /stamp"), "2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directives_continuations_and_substitution_in_a_build() {
    let env = env();
    let dockerfile = "# syntax=docker/dockerfile:1\n# escape=`\n\
FROM busybox\n\
ENV SET=value EMPTY=\n\
RUN echo one `\n  # a comment inside the continuation\n\n  two > /joined\n\
ENV A=${SET:-default} B=${UNSET:-default} C=${SET:+alt} D=${UNSET:+alt} E=${EMPTY:-dflt} F=`$SET G=\"$SET\"\n";
    let (result, _) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    assert_eq!(env.run_in(&id, "cat /joined"), "one two\n");
    let config = env.config(&id);
    let vars: Vec<&str> = config["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .filter(|v| v.len() > 1 && v.as_bytes()[1] == b'=')
        .collect();
    assert_eq!(
        vars,
        [
            "A=value",
            "B=default",
            "C=alt",
            "D=",
            "E=dflt",
            "F=$SET",
            "G=value"
        ]
    );

    // With the default escape, `\$` is a literal dollar.
    let (result, _) = env
        .build(env.request("FROM busybox\nENV X=\\$HOME Y=a\\ b\n"))
        .await;
    let config = env.config(&result.unwrap().image_id);
    let list = config["config"]["Env"].to_string();
    assert!(list.contains("\"X=$HOME\""), "{list}");
    assert!(list.contains("\"Y=a b\""), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arg_scoping_across_stages_in_a_build() {
    let env = env();
    let dockerfile = "ARG BASE=busybox\nARG GLOBAL=g\n\
FROM $BASE AS one\nARG GLOBAL\nARG LOCAL=l1\nRUN echo \"one:$GLOBAL:$LOCAL\" > /one\n\
FROM one\nRUN echo \"two:${GLOBAL:-none}:${LOCAL:-none}\" > /two\n";
    let mut request = env.request(dockerfile);
    request.build_args = args(&[("LOCAL", "given")]);
    let (result, _) = env.build(request).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    assert_eq!(
        env.run_in(&id, "cat /one /two"),
        "one:g:given\ntwo:none:none\n"
    );
}

//! The metadata instructions end to end: what each leaves in the built image's config and
//! history (as `docker inspect` shows them), ONBUILD's triggers run by a child build, and
//! the errors for instructions and flags the builder does not know.

#![allow(clippy::unwrap_used)]

#[path = "executor_common.rs"]
mod common;

use berth_build::executor::{BuildError, BuildEvent};
use common::*;
use serde_json::json;

async fn built_config(env: &Env, dockerfile: &str) -> serde_json::Value {
    let (result, _) = env.build(env.request(dockerfile)).await;
    let id = result
        .unwrap_or_else(|e| panic!("{e}\n{dockerfile}"))
        .image_id;
    env.config(&id)
}

fn created_by(config: &serde_json::Value) -> Vec<String> {
    config["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expose_udp_and_ranges() {
    let env = env();
    let config = built_config(&env, "FROM scratch\nEXPOSE 80 53/udp 7000-7002/tcp\n").await;
    assert_eq!(
        config["config"]["ExposedPorts"],
        json!({"53/udp": {}, "7000/tcp": {}, "7001/tcp": {}, "7002/tcp": {}, "80/tcp": {}})
    );
    assert_eq!(
        created_by(&config),
        // dockerd sorts the ports as strings.
        ["/bin/sh -c #(nop)  EXPOSE 53/udp 7000-7002/tcp 80"]
    );
    assert_eq!(config["history"][0]["empty_layer"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_json_and_plain_forms() {
    let env = env();
    let config = built_config(
        &env,
        "FROM scratch\nENV D=/data\nVOLUME [\"/a\", \"/b\"]\nVOLUME $D /c\n",
    )
    .await;
    assert_eq!(
        config["config"]["Volumes"],
        json!({"/a": {}, "/b": {}, "/c": {}, "/data": {}})
    );
    let history = created_by(&config);
    assert_eq!(history[1], "/bin/sh -c #(nop)  VOLUME [/a /b]");
    assert_eq!(history[2], "/bin/sh -c #(nop)  VOLUME [/data /c]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_options_and_none() {
    let env = env();
    let config = built_config(
        &env,
        "FROM scratch\nHEALTHCHECK --interval=30s --timeout=5s --start-period=1m --start-interval=2s --retries=4 CMD wget -q localhost\n",
    )
    .await;
    assert_eq!(
        config["config"]["Healthcheck"],
        json!({
            "Test": ["CMD-SHELL", "wget -q localhost"],
            "Interval": 30_000_000_000u64,
            "Timeout": 5_000_000_000u64,
            "StartPeriod": 60_000_000_000u64,
            "StartInterval": 2_000_000_000u64,
            "Retries": 4,
        })
    );
    // NONE in a child disables the parent's check.
    let mut request = env.request("FROM scratch\nHEALTHCHECK CMD [\"/check\"]\n");
    request.tags = vec!["checked:1".into()];
    env.build(request).await.0.unwrap();
    let config = built_config(&env, "FROM checked:1\nHEALTHCHECK NONE\n").await;
    assert_eq!(config["config"]["Healthcheck"], json!({"Test": ["NONE"]}));
    assert_eq!(
        created_by(&config).last().unwrap(),
        // dockerd writes the healthcheck struct with Go's `%v`, NONE included
        // (checked against dockerd by build_compat's onbuild case).
        "/bin/sh -c #(nop)  HEALTHCHECK &{[\"NONE\"] \"0s\" \"0s\" \"0s\" '\\x00'}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopsignal_maintainer_user_workdir() {
    let env = env();
    let config = built_config(
        &env,
        "FROM scratch\nSTOPSIGNAL SIGQUIT\nMAINTAINER Jo <jo@example.com>\nUSER 1000:1000\nWORKDIR /srv\nWORKDIR app\n",
    )
    .await;
    assert_eq!(config["config"]["StopSignal"], "SIGQUIT");
    assert_eq!(config["author"], "Jo <jo@example.com>");
    assert_eq!(config["config"]["User"], "1000:1000");
    assert_eq!(config["config"]["WorkingDir"], "/srv/app");
    assert_eq!(
        created_by(&config),
        [
            "/bin/sh -c #(nop)  STOPSIGNAL SIGQUIT",
            "/bin/sh -c #(nop)  MAINTAINER Jo <jo@example.com>",
            "/bin/sh -c #(nop)  USER 1000:1000",
            "/bin/sh -c #(nop) WORKDIR /srv",
            "/bin/sh -c #(nop) WORKDIR /srv/app",
        ]
    );
    let (result, _) = env
        .build(env.request("FROM scratch\nSTOPSIGNAL SIGNOPE\n"))
        .await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "Dockerfile:2:1: Invalid signal: SIGNOPE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_from_the_dockerfile_and_the_request() {
    let env = env();
    let mut request =
        env.request("FROM scratch\nENV HOME=/root\nLABEL a=1 \"b c\"=\"d e\"\nLABEL a=2\n");
    request.labels = [
        ("from-cli".to_string(), "yes".to_string()),
        // Not expanded, not unquoted: dockerd takes --label values as they are.
        ("raw".to_string(), "$HOME \"q\" 'p' a\\b".to_string()),
    ]
    .into();
    let (result, _) = env.build(request).await;
    let config = env.config(&result.unwrap().image_id);
    assert_eq!(
        config["config"]["Labels"],
        json!({"a": "2", "b c": "d e", "from-cli": "yes", "raw": "$HOME \"q\" 'p' a\\b"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_sets_the_program_of_later_shell_forms() {
    let env = env();
    // busybox's echo as the "shell": what RUN prints is the argv it was given.
    let dockerfile = "FROM busybox\nRUN echo default\nSHELL [\"/bin/echo\", \"via\"]\nRUN one two\nCMD serve\nENTRYPOINT start\n";
    let (result, events) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap().image_id;
    assert!(events.contains(&BuildEvent::Output("default".into())));
    assert!(
        events.contains(&BuildEvent::Output("via one two".into())),
        "{events:?}"
    );
    let config = env.config(&id);
    assert_eq!(config["config"]["Shell"], json!(["/bin/echo", "via"]));
    // ENTRYPOINT keeps a CMD of its own stage (it resets only an inherited one).
    assert_eq!(
        config["config"]["Cmd"],
        json!(["/bin/echo", "via", "serve"])
    );
    assert_eq!(
        config["config"]["Entrypoint"],
        json!(["/bin/echo", "via", "start"])
    );
    let history = created_by(&config);
    assert!(
        history.contains(&"/bin/echo via one two".to_string()),
        "{history:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmd_and_entrypoint_forms() {
    let env = env();
    let config = built_config(
        &env,
        "FROM scratch\nENTRYPOINT [\"/app\", \"--serve\"]\nCMD [\"--port\", \"80\"]\n",
    )
    .await;
    assert_eq!(config["config"]["Entrypoint"], json!(["/app", "--serve"]));
    assert_eq!(config["config"]["Cmd"], json!(["--port", "80"]));
    let config = built_config(&env, "FROM scratch\nCMD echo $HOME\n").await;
    assert_eq!(
        config["config"]["Cmd"],
        json!(["/bin/sh", "-c", "echo $HOME"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onbuild_is_stored_then_triggered_by_a_child_build() {
    let env = env();
    env.write("payload.txt", "from the child's context\n");
    let mut request = env.request(
        "FROM busybox\nONBUILD COPY payload.txt /payload.txt\nONBUILD RUN echo triggered > /trigger\nRUN echo parent > /parent\n",
    );
    request.tags = vec!["onbuild-parent:1".into()];
    let (result, _) = env.build(request).await;
    let parent = env.config(&result.unwrap().image_id);
    assert_eq!(
        parent["config"]["OnBuild"],
        json!([
            "COPY payload.txt /payload.txt",
            "RUN echo triggered > /trigger"
        ])
    );
    // The parent itself ran none of its triggers.
    assert_eq!(
        env.run_in(
            "onbuild-parent:1",
            "cat /parent; test -e /trigger || test -e /payload.txt || echo no-trigger-ran"
        ),
        "parent\nno-trigger-ran\n"
    );
    let (result, events) = env
        .build(env.request("FROM onbuild-parent:1\nRUN cat /trigger /payload.txt > /seen\n"))
        .await;
    let child = result.unwrap().image_id;
    assert!(
        events.contains(&BuildEvent::Output("# Executing 2 build triggers".into())),
        "{events:?}"
    );
    assert_eq!(
        env.run_in(&child, "cat /seen"),
        "triggered\nfrom the child's context\n"
    );
    // Triggers run once: the child's config keeps none, so a grandchild runs nothing.
    let config = env.config(&child);
    assert_eq!(config["config"].get("OnBuild"), None, "{config}");
    let (result, events) = env
        .build(env.request(&format!("FROM {child}\nRUN true\n")))
        .await;
    result.unwrap();
    assert!(!events
        .iter()
        .any(|e| matches!(e, BuildEvent::Output(o) if o.contains("build trigger"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onbuild_chaining_and_from_are_refused() {
    let env = env();
    for (dockerfile, message) in [
        (
            "FROM scratch\nONBUILD ONBUILD RUN x\n",
            "Dockerfile:2:9: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ),
        (
            "FROM scratch\nONBUILD FROM busybox\n",
            "Dockerfile:2:9: FROM isn't allowed as an ONBUILD trigger",
        ),
        (
            "FROM scratch\nONBUILD MAINTAINER x\n",
            "Dockerfile:2:9: MAINTAINER isn't allowed as an ONBUILD trigger",
        ),
    ] {
        let (result, _) = env.build(env.request(dockerfile)).await;
        let err = result.unwrap_err();
        assert!(matches!(err, BuildError::Parse(_)), "{err:?}");
        assert_eq!(err.to_string(), message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_instructions_and_flags_are_errors_with_line_and_column() {
    let env = env();
    for (dockerfile, message) in [
        (
            "FROM busybox\nRUN true\n  FETCH http://x /\n",
            "Dockerfile:3:3: unknown instruction: FETCH",
        ),
        (
            "FROM busybox\nCOPY --chmod=644 \\\n     --owner=1 a /b\n",
            "Dockerfile:3:6: unknown flag: --owner",
        ),
        (
            "FROM busybox\nRUN --mount=type=tmpfs,target=/t --secret=x true\n",
            "Dockerfile:2:34: unknown flag: --secret",
        ),
        (
            "FROM --plat=linux/amd64 busybox\n",
            "Dockerfile:1:6: unknown flag: --plat",
        ),
    ] {
        let (result, events) = env.build(env.request(dockerfile)).await;
        let err = result.unwrap_err();
        assert!(matches!(err, BuildError::Parse(_)), "{err:?}");
        assert_eq!(err.to_string(), message, "{dockerfile}");
        assert!(events.is_empty(), "nothing ran: {events:?}");
    }
}

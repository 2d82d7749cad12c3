//! The stage graph: what a `--target` needs, in order, and what can run in parallel.

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use berth_build::parse;

const FOUR_STAGES: &str = r#"ARG BASE=debian
FROM $BASE AS deps
RUN make deps

FROM deps AS build
COPY . /src
RUN make

FROM alpine AS docs
RUN make docs

FROM scratch AS final
COPY --from=build /src/app /app
COPY --from=2 /docs /docs
COPY --from=busybox:latest /bin/sh /bin/sh
"#;

fn identity(_: usize, s: &str) -> String {
    s.replace("$BASE", "debian")
}

#[test]
fn default_target_is_the_last_stage_and_needs_all() {
    let df = parse(FOUR_STAGES).unwrap();
    let plan = df.plan(None, &identity).unwrap();
    assert_eq!(plan.target, 3);
    assert_eq!(plan.order, [0, 1, 2, 3]);
    // deps and docs are independent: they start together; build waits for deps.
    assert_eq!(plan.waves, [vec![0, 2], vec![1], vec![3]]);
    assert_eq!(plan.deps[3], (3, vec![1, 2]));
}

#[test]
fn target_builds_only_what_it_needs() {
    let df = parse(FOUR_STAGES).unwrap();
    let plan = df.plan(Some("build"), &identity).unwrap();
    assert_eq!(plan.order, [0, 1]);
    assert_eq!(plan.waves, [vec![0], vec![1]]);
    let plan = df.plan(Some("DOCS"), &identity).unwrap();
    assert_eq!(plan.order, [2]);
    assert_eq!(
        df.plan(Some("nope"), &identity).unwrap_err().to_string(),
        "Dockerfile:1:1: target stage \"nope\" could not be found"
    );
}

#[test]
fn mount_from_is_a_dependency() {
    let df =
        parse("FROM alpine AS a\nFROM alpine AS b\nRUN --mount=from=a,target=/a true\nFROM b\n")
            .unwrap();
    let plan = df.plan(None, &|_, s| s.to_string()).unwrap();
    assert_eq!(plan.waves, [vec![0], vec![1], vec![2]]);
}

#[test]
fn forward_references_are_refused_or_images() {
    let df = parse("FROM alpine\nCOPY --from=1 /a /a\nFROM alpine\n").unwrap();
    assert_eq!(
        df.plan(Some("0").filter(|_| false), &|_, s| s.to_string())
            .map(|_| ()),
        Ok(()),
        "stage 0 is not needed by the last stage"
    );
    let df = parse("FROM alpine AS a\nFROM alpine\nCOPY --from=1 /a /a\n").unwrap();
    assert_eq!(
        df.plan(None, &|_, s| s.to_string())
            .unwrap_err()
            .to_string(),
        "Dockerfile:3:1: invalid from flag value 1: refers to current or future build stage"
    );
    // FROM naming a later stage is an image of that name, as in Docker.
    let df = parse("FROM later AS first\nFROM alpine AS later\nCOPY --from=first / /\n").unwrap();
    assert_eq!(
        df.resolve_base(0, "later"),
        berth_build::StageBase::Image("later".into())
    );
    assert_eq!(df.plan(None, &|_, s| s.to_string()).unwrap().order, [0, 1]);
}

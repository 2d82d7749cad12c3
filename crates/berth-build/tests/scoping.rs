//! ARG/ENV scoping and the configuration stages produce.

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use berth_build::args::{Evaluator, ImageConfig, Platforms, StageOutput};
use berth_build::instructions::{Instruction, ShellOrExec};
use berth_build::parse;

fn platforms() -> Platforms {
    Platforms {
        build: "linux/amd64".into(),
        target: "linux/arm64/v8".into(),
    }
}

fn eval(text: &str, build_args: &[(&str, &str)], target: Option<&str>) -> Vec<StageOutput> {
    let df = parse(text).unwrap();
    let args = build_args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ev = Evaluator::new(&df, args, platforms());
    ev.evaluate(target, &|_| ImageConfig::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn last_env(text: &str, build_args: &[(&str, &str)]) -> Vec<String> {
    eval(text, build_args, None).pop().unwrap().config.env
}

#[test]
fn global_args_reach_from_only() {
    let text = "ARG V=1.0\nFROM base:$V\nENV got=${V:-unset}\n";
    let out = eval(text, &[], None);
    assert_eq!(
        out[0].base,
        berth_build::StageBase::Image("base:1.0".into())
    );
    assert_eq!(out[0].config.env, ["got=unset"]);
}

#[test]
fn redeclared_global_arg_takes_global_value_or_build_arg() {
    let text = "ARG V=1.0\nFROM scratch\nARG V\nENV got=$V\n";
    assert_eq!(last_env(text, &[]), ["got=1.0"]);
    assert_eq!(last_env(text, &[("V", "2.0")]), ["got=2.0"]);
}

#[test]
fn stage_arg_default_and_build_arg() {
    let text = "FROM scratch\nARG A=def\nENV a=$A\n";
    assert_eq!(last_env(text, &[]), ["a=def"]);
    assert_eq!(last_env(text, &[("A", "given")]), ["a=given"]);
    // Undeclared build args do nothing.
    assert_eq!(
        last_env("FROM scratch\nENV a=${B:-none}\n", &[("B", "x")]),
        ["a=none"]
    );
}

#[test]
fn env_overrides_arg_whatever_the_order() {
    let text = "FROM scratch\nENV X=env\nARG X=arg\nENV got=$X\n";
    assert_eq!(last_env(text, &[("X", "build")]), ["X=env", "got=env"]);
    let text = "FROM scratch\nARG X=arg\nENV Y=$X\nENV X=env\nENV Z=$X\n";
    assert_eq!(last_env(text, &[]), ["Y=arg", "X=env", "Z=env"]);
}

#[test]
fn env_pairs_see_values_from_before_the_instruction() {
    let text = "FROM scratch\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n";
    assert_eq!(last_env(text, &[]), ["abc=bye", "def=hello", "ghi=bye"]);
}

#[test]
fn args_are_not_inherited_by_child_stages_but_env_is() {
    let text = "FROM scratch AS a\nARG X=1\nENV E=$X\nFROM a\nENV got=${X:-unset}-$E\n";
    assert_eq!(last_env(text, &[]), ["E=1", "got=unset-1"]);
}

#[test]
fn automatic_platform_args() {
    let text = "FROM base-$TARGETARCH\nARG TARGETPLATFORM\nARG TARGETVARIANT\nENV p=$TARGETPLATFORM v=$TARGETVARIANT o=${TARGETOS:-undeclared}\n";
    let out = eval(text, &[], None);
    assert_eq!(
        out[0].base,
        berth_build::StageBase::Image("base-arm64".into())
    );
    assert_eq!(
        out[0].config.env,
        ["p=linux/arm64/v8", "v=v8", "o=undeclared"]
    );
}

#[test]
fn unused_build_args_and_predefined_proxies() {
    let df = parse("ARG G\nFROM scratch\nARG S\nRUN env\n").unwrap();
    let args = [
        ("G", "1"),
        ("S", "2"),
        ("NOPE", "3"),
        ("HTTP_PROXY", "http://p"),
        ("ALSO", "4"),
    ];
    let args = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ev = Evaluator::new(&df, args, platforms());
    assert_eq!(ev.unused_build_args(&[0]), ["ALSO", "NOPE"]);
    let out = ev.evaluate(None, &|_| ImageConfig::default()).unwrap();
    assert_eq!(
        out[0].args,
        [
            ("S".to_string(), "2".to_string()),
            ("HTTP_PROXY".into(), "http://p".into())
        ]
    );
}

#[test]
fn config_from_instructions() {
    let text = r#"FROM scratch
ENV DIR=/srv PORT=8080
WORKDIR $DIR
WORKDIR app/../www/
USER ${USER:-nobody}
EXPOSE $PORT 53/udp 7000-7001
VOLUME $DIR/data ["/x"]
LABEL a=1 "b c"='d e'
STOPSIGNAL SIGINT
SHELL ["/bin/bash", "-c"]
CMD echo $DIR
ONBUILD RUN make
MAINTAINER me
"#;
    let c = eval(text, &[], None).pop().unwrap().config;
    assert_eq!(c.working_dir, "/srv/www");
    assert_eq!(c.user, "nobody");
    assert_eq!(
        c.exposed_ports.iter().cloned().collect::<Vec<_>>(),
        ["53/udp", "7000/tcp", "7001/tcp", "8080/tcp"]
    );
    // Not a JSON array (it does not start the arguments): words, quotes removed.
    assert_eq!(
        c.volumes.iter().cloned().collect::<Vec<_>>(),
        ["/srv/data", "[/x]"]
    );
    assert_eq!(c.labels.get("b c").map(String::as_str), Some("d e"));
    assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
    // CMD is not expanded by the builder and runs with the SHELL set before it.
    assert_eq!(
        c.cmd,
        Some(vec!["/bin/bash".into(), "-c".into(), "echo $DIR".into()])
    );
    assert_eq!(c.on_build, ["RUN make"]);
    assert_eq!(c.author.as_deref(), Some("me"));
}

#[test]
fn entrypoint_resets_inherited_cmd_only() {
    let text = "FROM scratch AS a\nCMD [\"x\"]\nFROM a\nENTRYPOINT [\"e\"]\n";
    assert_eq!(eval(text, &[], None).pop().unwrap().config.cmd, None);
    let text = "FROM scratch\nCMD [\"x\"]\nENTRYPOINT e\n";
    let c = eval(text, &[], None).pop().unwrap().config;
    assert_eq!(c.cmd, Some(vec!["x".to_string()]));
    assert_eq!(
        c.entrypoint,
        Some(vec!["/bin/sh".into(), "-c".into(), "e".into()])
    );
}

#[test]
fn run_is_not_expanded_but_copy_is() {
    let text = "FROM scratch\nARG F=file\nRUN echo $F\nCOPY --chown=$F ${F}.txt /dst/$F\nCOPY <<EOF <<'RAW' /d/\n$F\nEOF\n$F\nRAW\n";
    let out = eval(text, &[], None).pop().unwrap();
    let insts: Vec<_> = out
        .instructions
        .iter()
        .map(|l| l.instruction.clone())
        .collect();
    let Instruction::Run { command, .. } = &insts[1] else {
        panic!()
    };
    assert_eq!(command, &ShellOrExec::Shell("echo $F".into()));
    let Instruction::Copy(c) = &insts[2] else {
        panic!()
    };
    assert_eq!(
        (c.sources[0].as_str(), c.dest.as_str(), c.chown.as_deref()),
        ("file.txt", "/dst/file", Some("file"))
    );
    let Instruction::Copy(c) = &insts[3] else {
        panic!()
    };
    assert_eq!(
        (
            c.heredocs[0].content.as_str(),
            c.heredocs[1].content.as_str()
        ),
        ("file\n", "$F\n")
    );
}

#[test]
fn substitution_errors_point_at_the_instruction() {
    let df = parse("FROM scratch\nENV a=b\n  WORKDIR ${x\n").unwrap();
    let ev = Evaluator::new(&df, vec![], platforms());
    let err = ev.evaluate(None, &|_| ImageConfig::default()).unwrap_err();
    assert_eq!(err.to_string(), "Dockerfile:3:3: syntax error: missing '}'");
    let df = parse("FROM scratch\nEXPOSE 80/xyz\n").unwrap();
    let err = Evaluator::new(&df, vec![], platforms()).evaluate(None, &|_| ImageConfig::default());
    assert_eq!(
        err.unwrap_err().to_string(),
        "Dockerfile:2:1: invalid port \"80/xyz\""
    );
}

#[test]
fn base_image_config_is_the_starting_point() {
    let df = parse("FROM debian\nENV PATH=$PATH:/opt/bin\n").unwrap();
    let ev = Evaluator::new(&df, vec![], platforms());
    let base = ImageConfig {
        env: vec!["PATH=/usr/bin".into(), "LANG=C".into()],
        ..Default::default()
    };
    let out = ev
        .evaluate(None, &|r| {
            assert_eq!(r, "debian");
            base.clone()
        })
        .unwrap();
    assert_eq!(out[0].config.env, ["PATH=/usr/bin:/opt/bin", "LANG=C"]);
}

#[test]
fn stopsignal_is_checked() {
    for ok in ["SIGTERM", "term", "9", "RTMIN+3", "SIGRTMAX-1"] {
        assert!(berth_build::args::valid_signal(ok), "{ok}");
    }
    for bad in ["0", "BOGUS", "RTMIN+16", "SIG"] {
        assert!(!berth_build::args::valid_signal(bad), "{bad}");
    }
    let df = parse("FROM scratch\nARG S=NOPE\nSTOPSIGNAL $S\n").unwrap();
    let err = Evaluator::new(&df, vec![], platforms()).evaluate(None, &|_| ImageConfig::default());
    assert_eq!(
        err.unwrap_err().to_string(),
        "Dockerfile:3:1: Invalid signal: NOPE"
    );
}

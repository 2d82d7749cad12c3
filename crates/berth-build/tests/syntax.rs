//! Parser tests: one per syntax feature and per instruction, and every error with its
//! line and column.

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use berth_build::instructions::{Healthcheck, Instruction, MountType, Network, ShellOrExec};
use berth_build::parse;

fn instructions(text: &str) -> Vec<Instruction> {
    let df = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    df.stages
        .iter()
        .flat_map(|s| s.instructions.iter().map(|l| l.instruction.clone()))
        .collect()
}

fn only(text: &str) -> Instruction {
    let all = instructions(&format!("FROM scratch\n{text}"));
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap()
}

fn error(text: &str) -> String {
    parse(text)
        .map(|d| format!("parsed: {d:?}"))
        .unwrap_or_else(|e| e.to_string())
}

fn shell(s: &str) -> ShellOrExec {
    ShellOrExec::Shell(s.to_string())
}

fn exec(v: &[&str]) -> ShellOrExec {
    ShellOrExec::Exec(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn comments_blank_lines_and_case_insensitive_keywords() {
    let got = instructions("# a comment\n\nfrom scratch\n   # indented comment\n\nRun echo a\n");
    assert_eq!(
        got,
        [Instruction::Run {
            command: shell("echo a"),
            mounts: vec![],
            network: None,
            security: None,
            heredocs: vec![]
        }]
    );
}

#[test]
fn continuation_lines_join_and_skip_comments_and_blank_lines() {
    let got = only("RUN echo a \\\n  # a comment inside\n\n    b \\   \n c");
    let Instruction::Run { command, .. } = got else {
        panic!()
    };
    assert_eq!(command, shell("echo a     b  c"));
}

#[test]
fn continuation_at_end_of_file() {
    assert_eq!(only("CMD echo \\"), Instruction::Cmd(shell("echo")));
}

#[test]
fn crlf_line_endings_and_bom() {
    let df = parse("\u{feff}FROM scratch\r\nENV a=b\r\n").unwrap();
    assert_eq!(df.stages[0].instructions.len(), 1);
}

#[test]
fn escape_directive_backtick_windows_paths() {
    let text = "# escape=`\nFROM scratch\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n  && echo done\n";
    let df = parse(text).unwrap();
    assert_eq!(df.directives.escape, '`');
    let got: Vec<_> = df.stages[0]
        .instructions
        .iter()
        .map(|l| l.instruction.clone())
        .collect();
    let Instruction::Copy(c) = &got[0] else {
        panic!()
    };
    assert_eq!(
        (c.sources.as_slice(), c.dest.as_str()),
        (&["testfile.txt".to_string()][..], "c:\\")
    );
    let Instruction::Run { command, .. } = &got[1] else {
        panic!()
    };
    assert_eq!(command, &shell("dir c:\\   && echo done"));
}

#[test]
fn backslash_at_line_end_without_escape_directive_continues() {
    // The reference's pitfall: without `# escape=`, `c:\` continues onto the next line.
    let df = parse("FROM scratch\nCOPY a c:\\\nRUN dir\n").unwrap();
    let Instruction::Copy(c) = &df.stages[0].instructions[0].instruction else {
        panic!()
    };
    assert_eq!(c.dest, "dir", "{c:?}");
}

#[test]
fn directive_rules() {
    // Spacing variants and case are accepted.
    assert_eq!(
        parse("#ESCAPE = `\nFROM scratch")
            .unwrap()
            .directives
            .escape,
        '`'
    );
    assert_eq!(
        parse("#\tescape=\t`\nFROM scratch")
            .unwrap()
            .directives
            .escape,
        '`'
    );
    // After a comment, a blank line or an instruction a directive is a comment.
    assert_eq!(
        parse("# hello\n# escape=`\nFROM scratch")
            .unwrap()
            .directives
            .escape,
        '\\'
    );
    assert_eq!(
        parse("\n# escape=`\nFROM scratch")
            .unwrap()
            .directives
            .escape,
        '\\'
    );
    assert_eq!(
        parse("FROM scratch\n# escape=`\n")
            .unwrap()
            .directives
            .escape,
        '\\'
    );
    // An unknown directive ends the directives.
    assert_eq!(
        parse("# unknown=x\n# escape=`\nFROM scratch")
            .unwrap()
            .directives
            .escape,
        '\\'
    );
    let df =
        parse("# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM scratch").unwrap();
    assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(df.directives.check.as_deref(), Some("skip=all"));
    assert_eq!(df.directives.escape, '`');
    assert_eq!(
        error("# escape=\\\n# escape=`\nFROM scratch"),
        "Dockerfile:2:1: only one escape parser directive can be used"
    );
    assert_eq!(
        error("# escape=x\nFROM scratch"),
        "Dockerfile:1:1: invalid escape token 'x' does not match ` or \\"
    );
}

#[test]
fn heredoc_run_and_copy() {
    let text = "FROM scratch\nRUN <<EOF\necho hello\necho $HOME\nEOF\nCOPY <<-\"END\" <<two /dest/\n\tfirst $X\n\tEND\nsecond\ntwo\nRUN echo after\n";
    let got = instructions(text);
    assert_eq!(got.len(), 3, "{got:?}");
    let Instruction::Run {
        command, heredocs, ..
    } = &got[0]
    else {
        panic!()
    };
    assert_eq!(command, &shell("<<EOF"));
    assert_eq!(heredocs[0].content, "echo hello\necho $HOME\n");
    assert!(heredocs[0].expand);
    let Instruction::Copy(c) = &got[1] else {
        panic!()
    };
    assert!(c.sources.is_empty());
    assert_eq!(c.dest, "/dest/");
    assert_eq!(c.heredocs.len(), 2);
    assert_eq!(
        (c.heredocs[0].name.as_str(), c.heredocs[0].expand),
        ("END", false)
    );
    assert_eq!(c.heredocs[0].content, "first $X\n");
    assert_eq!(c.heredocs[1].content, "second\n");
    let df = parse(text).unwrap();
    let lines: Vec<_> = df.stages[0]
        .instructions
        .iter()
        .map(|l| (l.line, l.end_line))
        .collect();
    assert_eq!(lines, [(2, 5), (6, 10), (11, 11)]);
}

#[test]
fn heredoc_with_program_and_redirect() {
    let got = only("RUN python3 <<EOF > /out\nprint('hi')\nEOF");
    let Instruction::Run {
        heredocs, command, ..
    } = got
    else {
        panic!()
    };
    assert_eq!(command, shell("python3 <<EOF > /out"));
    assert_eq!(heredocs[0].content, "print('hi')\n");
}

#[test]
fn heredoc_only_in_run_copy_add() {
    // In CMD, `<<EOF` is plain text and the next line is an instruction.
    assert_eq!(
        error("FROM scratch\nCMD cat <<EOF\nhello\nEOF"),
        "Dockerfile:3:1: unknown instruction: HELLO"
    );
}

#[test]
fn unterminated_heredoc_points_at_it() {
    assert_eq!(
        error("FROM scratch\nRUN cat <<EOF\nno end"),
        "Dockerfile:2:9: unterminated heredoc"
    );
}

#[test]
fn exec_and_shell_forms() {
    assert_eq!(
        only(r#"CMD ["a", "b c"]"#),
        Instruction::Cmd(exec(&["a", "b c"]))
    );
    assert_eq!(only("CMD a b"), Instruction::Cmd(shell("a b")));
    // JSON that does not parse (single quotes) falls back to the shell form.
    assert_eq!(
        only("ENTRYPOINT ['a', 'b']"),
        Instruction::Entrypoint(shell("['a', 'b']"))
    );
    assert_eq!(
        only("RUN []"),
        Instruction::Run {
            command: exec(&[]),
            mounts: vec![],
            network: None,
            security: None,
            heredocs: vec![]
        }
    );
    assert_eq!(
        error("FROM scratch\nCMD [\"a\", 1]"),
        "Dockerfile:2:5: when using JSON array syntax, arrays must be comprised of strings only"
    );
}

#[test]
fn from_forms() {
    let df =
        parse("ARG V=1\nFROM --platform=linux/arm64 alpine:$V AS Build\nFROM build\nFROM scratch")
            .unwrap();
    assert_eq!(df.global_args.len(), 1);
    assert_eq!(df.stages[0].name.as_deref(), Some("build"));
    assert_eq!(df.stages[0].platform.as_deref(), Some("linux/arm64"));
    assert_eq!(df.stages[0].base, "alpine:$V");
    assert_eq!(df.stages[1].base, "build");
    assert_eq!(
        error("FROM a b"),
        "Dockerfile:1:1: FROM requires either one or three arguments"
    );
    assert_eq!(
        error("FROM a AS 1x"),
        "Dockerfile:1:6: invalid name for build stage: \"1x\", name can't start with a number or contain symbols"
    );
    assert_eq!(
        error("FROM a AS x\nFROM b AS X"),
        "Dockerfile:2:6: duplicate stage name \"x\""
    );
    assert_eq!(
        error("ENV a=b\nFROM x"),
        "Dockerfile:1:1: no build stage in current context"
    );
    assert_eq!(
        error("# only a comment\n"),
        "Dockerfile:1:1: file with no instructions"
    );
}

#[test]
fn run_flags() {
    let got = only("RUN --mount=type=cache,target=/root/.cache --mount=type=bind,source=.,target=/src --network=none make");
    let Instruction::Run {
        mounts,
        network,
        command,
        ..
    } = got
    else {
        panic!()
    };
    assert_eq!(mounts.len(), 2);
    assert_eq!(mounts[0].kind, MountType::Cache);
    assert_eq!(mounts[1].source.as_deref(), Some("."));
    assert_eq!(network, Some(Network::None));
    assert_eq!(command, shell("make"));
    assert_eq!(
        error("FROM scratch\nRUN --network=bridge x"),
        "Dockerfile:2:5: invalid value `bridge` for flag --network: expected default, none or host"
    );
    assert!(error("FROM scratch\nRUN --mount=type=cache x")
        .starts_with("Dockerfile:2:5: invalid mount"));
}

#[test]
fn copy_and_add_flags() {
    let got = only("COPY --from=build --chown=1000:1000 --chmod=0755 --link a b /dst/");
    let Instruction::Copy(c) = got else { panic!() };
    assert_eq!(c.from.as_deref(), Some("build"));
    assert_eq!(c.chown.as_deref(), Some("1000:1000"));
    assert_eq!(c.chmod.as_deref(), Some("0755"));
    assert!(c.link);
    assert_eq!(c.sources, ["a", "b"]);
    let got = only(r#"ADD --checksum=sha256:abc ["https://x/y z", "/d"]"#);
    let Instruction::Add(a) = got else { panic!() };
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!(a.copy.sources, ["https://x/y z"]);
    assert_eq!(only("COPY --link=false a b"), only("COPY a b"));
    assert_eq!(
        error("FROM scratch\nCOPY --chwn=1 a b"),
        "Dockerfile:2:6: unknown flag: --chwn"
    );
    assert_eq!(
        error("FROM scratch\nADD --from=x a b"),
        "Dockerfile:2:5: unknown flag: --from"
    );
    assert_eq!(
        error("FROM scratch\nCOPY --from a b"),
        "Dockerfile:2:6: missing a value on flag: --from"
    );
    assert_eq!(
        error("FROM scratch\nCOPY --from=a --from=b a b"),
        "Dockerfile:2:15: duplicate flag specified: --from"
    );
    assert_eq!(
        error("FROM scratch\nCOPY --link=maybe a b"),
        "Dockerfile:2:6: expecting boolean value for flag link, not: maybe"
    );
    assert_eq!(
        error("FROM scratch\nCOPY a"),
        "Dockerfile:2:1: COPY requires at least two arguments, but only one was provided. Destination could not be determined."
    );
    assert_eq!(
        error("FROM scratch\nADD"),
        "Dockerfile:2:1: ADD requires at least two arguments"
    );
}

#[test]
fn flags_on_a_continuation_line_point_there() {
    assert_eq!(
        error("FROM scratch\nCOPY \\\n   --bogus a b"),
        "Dockerfile:3:4: unknown flag: --bogus"
    );
    assert_eq!(
        error("FROM scratch\nENV --x=1 a=b"),
        "Dockerfile:2:5: unknown flag: --x"
    );
    assert_eq!(
        error("FROM scratch\nCMD --help"),
        "Dockerfile:2:5: unknown flag: --help"
    );
}

#[test]
fn unknown_instruction_points_at_keyword() {
    assert_eq!(
        error("FROM scratch\n\n  RUUN x"),
        "Dockerfile:3:3: unknown instruction: RUUN"
    );
}

#[test]
fn env_and_label_forms() {
    use berth_build::instructions::KeyValue;
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: v.into(),
    };
    assert_eq!(only("ENV a b c"), Instruction::Env(vec![kv("a", "b c")]));
    assert_eq!(
        only(r#"ENV a="x y" b=z\ w c='q'"#),
        Instruction::Env(vec![kv("a", "\"x y\""), kv("b", "z\\ w"), kv("c", "'q'")])
    );
    assert_eq!(
        only(r#"LABEL "com.example.vendor"="ACME" version=1.0"#),
        Instruction::Label(vec![
            kv("\"com.example.vendor\"", "\"ACME\""),
            kv("version", "1.0")
        ])
    );
    assert_eq!(
        error("FROM scratch\nENV a"),
        "Dockerfile:2:1: ENV must have two arguments"
    );
    assert_eq!(
        error("FROM scratch\nENV"),
        "Dockerfile:2:1: ENV requires at least one argument"
    );
    assert_eq!(
        error("FROM scratch\nENV a=b c"),
        "Dockerfile:2:5: Syntax error - can't find = in \"c\". Must be of the form: name=value"
    );
    assert_eq!(
        error("FROM scratch\nLABEL =x"),
        "Dockerfile:2:7: LABEL names can not be blank"
    );
}

#[test]
fn arg_forms() {
    use berth_build::instructions::ArgDecl;
    assert_eq!(
        only("ARG a b=2 c=\"x y\""),
        Instruction::Arg(vec![
            ArgDecl {
                name: "a".into(),
                default: None
            },
            ArgDecl {
                name: "b".into(),
                default: Some("2".into())
            },
            ArgDecl {
                name: "c".into(),
                default: Some("\"x y\"".into())
            },
        ])
    );
    assert_eq!(
        error("FROM scratch\nARG"),
        "Dockerfile:2:1: ARG requires at least one argument"
    );
    assert_eq!(
        error("FROM scratch\nARG =1"),
        "Dockerfile:2:5: ARG names can not be blank"
    );
}

#[test]
fn single_value_instructions() {
    assert_eq!(only("WORKDIR /a b"), Instruction::Workdir("/a b".into()));
    assert_eq!(only("USER app:app"), Instruction::User("app:app".into()));
    assert_eq!(
        only("STOPSIGNAL SIGTERM"),
        Instruction::Stopsignal("SIGTERM".into())
    );
    assert_eq!(
        only("MAINTAINER Jo <jo@x>"),
        Instruction::Maintainer("Jo <jo@x>".into())
    );
    for kw in ["WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"] {
        assert_eq!(
            error(&format!("FROM scratch\n{kw}")),
            format!("Dockerfile:2:1: {kw} requires exactly one argument")
        );
    }
}

#[test]
fn expose_volume_shell() {
    assert_eq!(
        only("EXPOSE 80 443/udp"),
        Instruction::Expose(vec!["80".into(), "443/udp".into()])
    );
    assert_eq!(
        only(r#"VOLUME ["/a", "/b"]"#),
        Instruction::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        only("VOLUME /a /b"),
        Instruction::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        only(r#"SHELL ["bash", "-c"]"#),
        Instruction::Shell(vec!["bash".into(), "-c".into()])
    );
    assert_eq!(
        error("FROM scratch\nSHELL bash -c"),
        "Dockerfile:2:7: SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(
        error("FROM scratch\nSHELL []"),
        "Dockerfile:2:1: SHELL requires at least one argument"
    );
    assert_eq!(
        error("FROM scratch\nVOLUME [\"\"]"),
        "Dockerfile:2:8: VOLUME specified can not be an empty string"
    );
    assert_eq!(
        error("FROM scratch\nEXPOSE"),
        "Dockerfile:2:1: EXPOSE requires at least one argument"
    );
}

#[test]
fn healthcheck_forms() {
    assert_eq!(
        only("HEALTHCHECK NONE"),
        Instruction::Healthcheck(Healthcheck::None)
    );
    assert_eq!(
        only("HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --start-interval=2s --retries=3 CMD curl -f http://x/"),
        Instruction::Healthcheck(Healthcheck::Cmd {
            test: vec!["CMD-SHELL".into(), "curl -f http://x/".into()],
            interval: 30_000_000_000,
            timeout: 5_000_000_000,
            start_period: 60_000_000_000,
            start_interval: 2_000_000_000,
            retries: 3,
        })
    );
    let Instruction::Healthcheck(Healthcheck::Cmd { test, .. }) =
        only(r#"HEALTHCHECK cmd ["true"]"#)
    else {
        panic!()
    };
    assert_eq!(test, ["CMD", "true"]);
    assert_eq!(
        error("FROM scratch\nHEALTHCHECK NONE x"),
        "Dockerfile:2:13: HEALTHCHECK NONE takes no arguments"
    );
    assert_eq!(
        error("FROM scratch\nHEALTHCHECK RUN x"),
        "Dockerfile:2:13: Unknown type \"RUN\" in HEALTHCHECK (try CMD)"
    );
    assert_eq!(
        error("FROM scratch\nHEALTHCHECK --interval=1us CMD x"),
        "Dockerfile:2:13: Interval \"interval\" cannot be less than 1ms"
    );
    assert_eq!(
        error("FROM scratch\nHEALTHCHECK --retries=-1 CMD x"),
        "Dockerfile:2:13: invalid --retries value \"-1\""
    );
    assert_eq!(
        error("FROM scratch\nHEALTHCHECK --bogus=1 CMD x"),
        "Dockerfile:2:13: unknown flag: --bogus"
    );
}

#[test]
fn onbuild() {
    let got = only("ONBUILD RUN echo hi");
    let Instruction::Onbuild { trigger, text } = got else {
        panic!()
    };
    assert_eq!(text, "RUN echo hi");
    assert!(matches!(*trigger, Instruction::Run { .. }));
    assert_eq!(
        error("FROM scratch\nONBUILD ONBUILD RUN x"),
        "Dockerfile:2:9: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    assert_eq!(
        error("FROM scratch\nONBUILD FROM x"),
        "Dockerfile:2:9: FROM isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        error("FROM scratch\nONBUILD COPY --bad a b"),
        "Dockerfile:2:14: unknown flag: --bad"
    );
    assert_eq!(
        error("FROM scratch\nONBUILD RUUN x"),
        "Dockerfile:2:9: unknown instruction: RUUN"
    );
}

#[test]
fn several_heredocs_in_one_run_each_feeding_a_command() {
    // Two files written by one RUN, each from its own heredoc, in the order of the words.
    let text = "FROM scratch\nRUN <<ONE cat > /one && <<TWO cat > /two\nfirst\nONE\nsecond\nTWO\n";
    let Instruction::Run {
        heredocs, command, ..
    } = &instructions(text)[0]
    else {
        panic!()
    };
    assert_eq!(command, &shell("<<ONE cat > /one && <<TWO cat > /two"));
    let bodies: Vec<_> = heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.content.as_str()))
        .collect();
    assert_eq!(bodies, [("ONE", "first\n"), ("TWO", "second\n")]);
}

#[test]
fn heredoc_script_with_shebang_and_indented_terminator() {
    // `<<-` lets the body and the terminator be indented with tabs.
    let text = "FROM scratch\nRUN <<-SCRIPT\n\t#!/usr/bin/env python3\n\tprint('x')\n\tSCRIPT\nENV after=1\n";
    let got = instructions(text);
    let Instruction::Run { heredocs, .. } = &got[0] else {
        panic!()
    };
    assert_eq!(heredocs[0].content, "#!/usr/bin/env python3\nprint('x')\n");
    assert!(matches!(got[1], Instruction::Env(_)));
    // Without `-`, a tab-indented terminator does not end the heredoc.
    assert_eq!(
        error("FROM scratch\nRUN <<EOF\nx\n\tEOF\n"),
        "Dockerfile:2:5: unterminated heredoc"
    );
}

#[test]
fn heredoc_after_continuation_and_in_add() {
    let text = "FROM scratch\nADD --chmod=600 \\\n  <<EOF /etc/conf\nkey=$V\nEOF\n";
    let Instruction::Add(a) = &instructions(text)[0] else {
        panic!()
    };
    assert_eq!(a.copy.dest, "/etc/conf");
    assert_eq!(a.copy.heredocs[0].content, "key=$V\n");
    assert_eq!(a.copy.chmod.as_deref(), Some("600"));
}

//! Raw instructions to typed ones: each keyword's argument grammar and checks, with
//! Docker's error messages.

use super::flags::{parse_go_duration, Flags, Kind};
use super::ShellOrExec;
use super::{Add, ArgDecl, Copy, Healthcheck, Instruction, KeyValue, Mount, Network, Security};
use crate::error::{ParseError, ParseErrorKind as E};
use crate::parser::words::{parse_json, parse_words, split_whitespace, Json};
use crate::parser::{is_heredoc_word, RawInstruction};

const COPY_FLAGS: &[(&str, Kind)] = &[
    ("from", Kind::String),
    ("chown", Kind::String),
    ("chmod", Kind::String),
    ("link", Kind::Bool),
    ("parents", Kind::Bool),
    ("exclude", Kind::Strings),
];
const ADD_FLAGS: &[(&str, Kind)] = &[
    ("chown", Kind::String),
    ("chmod", Kind::String),
    ("link", Kind::Bool),
    ("exclude", Kind::Strings),
    ("checksum", Kind::String),
    ("keep-git-dir", Kind::Bool),
];
const HEALTHCHECK_FLAGS: &[(&str, Kind)] = &[
    ("interval", Kind::String),
    ("timeout", Kind::String),
    ("start-period", Kind::String),
    ("start-interval", Kind::String),
    ("retries", Kind::String),
];

/// Gives a raw instruction its typed form.
pub(crate) fn from_raw(inst: &RawInstruction, escape: char) -> Result<Instruction, ParseError> {
    let keyword = inst.keyword.to_ascii_lowercase();
    let rest = inst.rest();
    let at_rest = |kind| inst.error_at(inst.rest_offset, kind);
    let no_flags = || Flags::parse(inst, &[]);
    Ok(match keyword.as_str() {
        "from" => {
            let flags = Flags::parse(inst, &[("platform", Kind::String)])?;
            let args = split_whitespace(rest);
            let alias = match args.as_slice() {
                [_] => None,
                [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
                    let name = name.to_ascii_lowercase();
                    if !valid_stage_name(&name) {
                        return Err(at_rest(E::InvalidStageName(args[2].clone())));
                    }
                    Some(name)
                }
                _ => return Err(inst.error(E::FromArguments)),
            };
            Instruction::From {
                image: args[0].clone(),
                platform: flags.string("platform"),
                alias,
            }
        }
        "run" => {
            let flags = Flags::parse(
                inst,
                &[
                    ("mount", Kind::Strings),
                    ("network", Kind::String),
                    ("security", Kind::String),
                ],
            )?;
            let mut mounts = Vec::new();
            for spec in flags.strings("mount") {
                let m = Mount::parse(&spec).map_err(|reason| {
                    inst.error_at(
                        Flags::offset(inst, "mount"),
                        E::InvalidMount {
                            mount: spec.clone(),
                            reason,
                        },
                    )
                })?;
                mounts.push(m);
            }
            let bad = |flag: &str, value: String, reason: &str| {
                inst.error_at(
                    Flags::offset(inst, flag),
                    E::BadFlagValue {
                        flag: flag.to_string(),
                        value,
                        reason: reason.to_string(),
                    },
                )
            };
            let network = match flags.string("network") {
                None => None,
                Some(v) => Some(match v.as_str() {
                    "default" => Network::Default,
                    "none" => Network::None,
                    "host" => Network::Host,
                    _ => return Err(bad("network", v, "expected default, none or host")),
                }),
            };
            let security = match flags.string("security") {
                None => None,
                Some(v) => Some(match v.as_str() {
                    "sandbox" => Security::Sandbox,
                    "insecure" => Security::Insecure,
                    _ => return Err(bad("security", v, "expected sandbox or insecure")),
                }),
            };
            let command = shell_or_exec(inst)?;
            Instruction::Run {
                command,
                mounts,
                network,
                security,
                heredocs: inst.heredocs.clone(),
            }
        }
        "copy" => {
            let flags = Flags::parse(inst, COPY_FLAGS)?;
            let mut copy = copy_args(inst, "COPY")?;
            copy.from = flags.string("from");
            fill_copy_flags(&mut copy, &flags);
            Instruction::Copy(copy)
        }
        "add" => {
            let flags = Flags::parse(inst, ADD_FLAGS)?;
            let mut copy = copy_args(inst, "ADD")?;
            fill_copy_flags(&mut copy, &flags);
            Instruction::Add(Add {
                copy,
                checksum: flags.string("checksum"),
                keep_git_dir: flags.bool("keep-git-dir"),
            })
        }
        "env" => {
            no_flags()?;
            Instruction::Env(name_values(inst, "ENV", escape)?)
        }
        "label" => {
            no_flags()?;
            Instruction::Label(name_values(inst, "LABEL", escape)?)
        }
        "arg" => {
            no_flags()?;
            let words = parse_words(rest, escape);
            if words.is_empty() {
                return Err(inst.error(E::AtLeastOneArgument("ARG")));
            }
            let mut decls = Vec::new();
            for word in words {
                let decl = match word.split_once('=') {
                    Some(("", _)) => return Err(at_rest(E::BlankName("ARG"))),
                    Some((name, value)) => ArgDecl {
                        name: name.to_string(),
                        default: Some(value.to_string()),
                    },
                    None => ArgDecl {
                        name: word,
                        default: None,
                    },
                };
                decls.push(decl);
            }
            Instruction::Arg(decls)
        }
        "workdir" | "user" | "stopsignal" | "maintainer" => {
            no_flags()?;
            let name = match keyword.as_str() {
                "workdir" => "WORKDIR",
                "user" => "USER",
                "stopsignal" => "STOPSIGNAL",
                _ => "MAINTAINER",
            };
            if rest.is_empty() {
                return Err(inst.error(E::ExactlyOneArgument(name)));
            }
            let value = rest.to_string();
            match keyword.as_str() {
                "workdir" => Instruction::Workdir(value),
                "user" => Instruction::User(value),
                "stopsignal" => Instruction::Stopsignal(value),
                _ => Instruction::Maintainer(value),
            }
        }
        "expose" => {
            no_flags()?;
            let ports = split_whitespace(rest);
            if ports.is_empty() {
                return Err(inst.error(E::AtLeastOneArgument("EXPOSE")));
            }
            Instruction::Expose(ports)
        }
        "volume" => {
            no_flags()?;
            let paths = json_or_words(inst)?;
            if paths.is_empty() {
                return Err(inst.error(E::AtLeastOneArgument("VOLUME")));
            }
            if paths.iter().any(|p| p.trim().is_empty()) {
                return Err(at_rest(E::EmptyVolume));
            }
            Instruction::Volume(paths)
        }
        "cmd" => {
            no_flags()?;
            Instruction::Cmd(shell_or_exec(inst)?)
        }
        "entrypoint" => {
            no_flags()?;
            Instruction::Entrypoint(shell_or_exec(inst)?)
        }
        "shell" => {
            no_flags()?;
            match shell_or_exec(inst)? {
                ShellOrExec::Exec(args) if args.is_empty() => {
                    return Err(inst.error(E::AtLeastOneArgument("SHELL")))
                }
                ShellOrExec::Exec(args) => Instruction::Shell(args),
                ShellOrExec::Shell(_) => return Err(at_rest(E::ShellNotJson)),
            }
        }
        "healthcheck" => healthcheck(inst)?,
        "onbuild" => {
            no_flags()?;
            if rest.is_empty() {
                return Err(inst.error(E::AtLeastOneArgument("ONBUILD")));
            }
            let sub = RawInstruction::split(
                inst.text.clone(),
                inst.map.clone(),
                inst.rest_offset,
                inst.end_line,
            );
            match sub.keyword.to_ascii_lowercase().as_str() {
                "onbuild" => return Err(sub.error(E::OnbuildChain)),
                kw @ ("from" | "maintainer") => {
                    return Err(sub.error(E::OnbuildForbidden(kw.to_ascii_uppercase())))
                }
                _ => {}
            }
            let trigger = from_raw(&sub, escape)?;
            Instruction::Onbuild {
                trigger: Box::new(trigger),
                text: rest.to_string(),
            }
        }
        _ => return Err(inst.error(E::UnknownInstruction(inst.keyword.to_ascii_uppercase()))),
    })
}

/// `^[a-z][a-z0-9-_\.]*$`
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// RUN/CMD/ENTRYPOINT/SHELL: a JSON array of strings is the exec form; anything else,
/// including JSON that does not decode, is the shell form.
fn shell_or_exec(inst: &RawInstruction) -> Result<ShellOrExec, ParseError> {
    let rest = inst.rest().trim();
    match parse_json(rest) {
        Json::Array(args) => Ok(ShellOrExec::Exec(args)),
        Json::NotStrings => Err(inst.error_at(inst.rest_offset, E::NotStringArray)),
        Json::NotJson => Ok(ShellOrExec::Shell(rest.to_string())),
    }
}

/// COPY/ADD/VOLUME: a JSON array, or words split on blanks.
fn json_or_words(inst: &RawInstruction) -> Result<Vec<String>, ParseError> {
    match parse_json(inst.rest()) {
        Json::Array(args) => Ok(args),
        Json::NotStrings => Err(inst.error_at(inst.rest_offset, E::NotStringArray)),
        Json::NotJson => Ok(split_whitespace(inst.rest())),
    }
}

fn copy_args(inst: &RawInstruction, name: &'static str) -> Result<Copy, ParseError> {
    let mut args = json_or_words(inst)?;
    match args.len() {
        0 => return Err(inst.error(E::AtLeastTwoArguments(name))),
        1 => return Err(inst.error(E::NoDestination(name))),
        _ => {}
    }
    let dest = args.pop().unwrap_or_default();
    let sources = args.into_iter().filter(|a| !is_heredoc_word(a)).collect();
    Ok(Copy {
        sources,
        dest,
        heredocs: inst.heredocs.clone(),
        ..Copy::default()
    })
}

fn fill_copy_flags(copy: &mut Copy, flags: &Flags) {
    copy.chown = flags.string("chown");
    copy.chmod = flags.string("chmod");
    copy.link = flags.bool("link");
    copy.parents = flags.bool("parents");
    copy.exclude = flags.strings("exclude");
}

/// ENV and LABEL: `name=value ...`, or the legacy `name value` (everything after the first
/// blank is the value), told apart by whether the first word has an `=`.
fn name_values(
    inst: &RawInstruction,
    name: &'static str,
    escape: char,
) -> Result<Vec<KeyValue>, ParseError> {
    let rest = inst.rest();
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Err(inst.error(E::AtLeastOneArgument(name)));
    };
    if !first.contains('=') {
        let mut parts = rest.splitn(2, [' ', '\t', '\x0b', '\x0c', '\r']);
        let key = parts.next().unwrap_or_default();
        let value = parts
            .next()
            .map(|v| v.trim_start_matches([' ', '\t', '\x0b', '\x0c', '\r']));
        return match value {
            Some(value) if !value.is_empty() => Ok(vec![KeyValue {
                key: key.to_string(),
                value: value.to_string(),
            }]),
            _ => Err(inst.error(E::TwoArguments(name))),
        };
    }
    let mut out = Vec::new();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(inst.error_at(inst.rest_offset, E::MissingEquals(word)));
        };
        if key.is_empty() {
            return Err(inst.error_at(inst.rest_offset, E::BlankName(name)));
        }
        out.push(KeyValue {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok(out)
}

fn healthcheck(inst: &RawInstruction) -> Result<Instruction, ParseError> {
    let flags = Flags::parse(inst, HEALTHCHECK_FLAGS)?;
    let rest = inst.rest();
    let typ_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if typ_len == 0 {
        return Err(inst.error(E::AtLeastOneArgument("HEALTHCHECK")));
    }
    let typ = rest[..typ_len].to_ascii_uppercase();
    let cmd = rest[typ_len..].trim();
    if typ == "NONE" {
        if !cmd.is_empty() {
            return Err(inst.error_at(inst.rest_offset, E::HealthcheckNoneArguments));
        }
        return Ok(Instruction::Healthcheck(Healthcheck::None));
    }
    if typ != "CMD" {
        return Err(inst.error_at(inst.rest_offset, E::HealthcheckType(typ)));
    }
    let test = match parse_json(cmd) {
        Json::Array(args) => std::iter::once("CMD".to_string()).chain(args).collect(),
        Json::NotStrings => return Err(inst.error_at(inst.rest_offset, E::NotStringArray)),
        Json::NotJson => vec!["CMD-SHELL".to_string(), cmd.to_string()],
    };
    let duration = |name: &str| -> Result<i64, ParseError> {
        let Some(value) = flags.string(name) else {
            return Ok(0);
        };
        let fail = |reason: String| {
            inst.error_at(
                Flags::offset(inst, name),
                E::HealthcheckDuration {
                    flag: name.to_string(),
                    reason,
                },
            )
        };
        match parse_go_duration(&value) {
            Err(reason) => Err(fail(reason)),
            Ok(0) => Ok(0),
            Ok(d) if d < 1_000_000 => Err(fail("cannot be less than 1ms".to_string())),
            Ok(d) => Ok(d),
        }
    };
    let retries = match flags.string("retries") {
        None => 0,
        Some(v) => v.parse::<u32>().map_err(|_| {
            inst.error_at(
                Flags::offset(inst, "retries"),
                E::HealthcheckRetries(v.clone()),
            )
        })?,
    };
    Ok(Instruction::Healthcheck(Healthcheck::Cmd {
        test,
        interval: duration("interval")?,
        timeout: duration("timeout")?,
        start_period: duration("start-period")?,
        start_interval: duration("start-interval")?,
        retries,
    }))
}

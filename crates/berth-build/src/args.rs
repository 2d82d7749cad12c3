//! ARG and ENV scoping, and the image configuration a stage's instructions produce.
//!
//! Docker's rules, as this module applies them:
//! - ARGs before the first FROM are global: they can be used in FROM lines only. A stage
//!   that wants one redeclares it (`ARG NAME`, no value) and gets the global value.
//! - A `--build-arg` only sets an ARG the Dockerfile declares (globally or in a built
//!   stage); the predefined proxy ARGs (`HTTP_PROXY`...) need no declaration and reach RUN
//!   only. Build args that nothing declares are reported by
//!   [`Evaluator::unused_build_args`] (Docker prints them as a warning).
//! - The automatic platform ARGs (`TARGETPLATFORM`, `BUILDARCH`...) are set in the global
//!   scope, and in a stage once declared with `ARG NAME`.
//! - ENV always wins over an ARG of the same name, whichever came first.
//! - ENV values, and everything [`Instruction::expand`] lists, are substituted; RUN, CMD
//!   and ENTRYPOINT are left to the shell.

use crate::error::{ParseError, ParseErrorKind};
use crate::graph::{Dockerfile, StageBase};
use crate::instructions::{Healthcheck, Instruction, Located, ShellOrExec};
use crate::substitution::Lexer;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// ARGs every build has without declaring them; they reach RUN's environment only.
pub const PREDEFINED_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The platforms a build runs on and for, which give the automatic ARGs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platforms {
    /// `os/arch[/variant]` the build runs on.
    pub build: String,
    /// `os/arch[/variant]` the image is for.
    pub target: String,
}

impl Default for Platforms {
    fn default() -> Self {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            other => other,
        };
        let p = format!("linux/{arch}");
        Platforms {
            build: p.clone(),
            target: p,
        }
    }
}

impl Platforms {
    /// `TARGETPLATFORM`, `TARGETOS`, `TARGETARCH`, `TARGETVARIANT` and the `BUILD*` ones.
    pub fn automatic_args(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (prefix, p) in [("BUILD", &self.build), ("TARGET", &self.target)] {
            let mut parts = p.split('/');
            out.push((format!("{prefix}PLATFORM"), p.clone()));
            out.push((
                format!("{prefix}OS"),
                parts.next().unwrap_or_default().to_string(),
            ));
            out.push((
                format!("{prefix}ARCH"),
                parts.next().unwrap_or_default().to_string(),
            ));
            out.push((
                format!("{prefix}VARIANT"),
                parts.next().unwrap_or_default().to_string(),
            ));
        }
        out
    }
}

/// The parts of an image configuration that instructions set, as Docker names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// `Env`: `NAME=value`, in definition order.
    pub env: Vec<String>,
    /// `Labels`.
    pub labels: BTreeMap<String, String>,
    /// `WorkingDir` ("" when never set).
    pub working_dir: String,
    /// `User`.
    pub user: String,
    /// `Cmd`.
    pub cmd: Option<Vec<String>>,
    /// `Entrypoint`.
    pub entrypoint: Option<Vec<String>>,
    /// `ExposedPorts` keys (`80/tcp`).
    pub exposed_ports: BTreeSet<String>,
    /// `Volumes` keys.
    pub volumes: BTreeSet<String>,
    /// `StopSignal`.
    pub stop_signal: Option<String>,
    /// `Shell`.
    pub shell: Option<Vec<String>>,
    /// `Healthcheck`.
    pub healthcheck: Option<Healthcheck>,
    /// `OnBuild` triggers, as written.
    pub on_build: Vec<String>,
    /// The image's `author` (MAINTAINER).
    pub author: Option<String>,
}

impl ImageConfig {
    /// The value of `NAME` in `env`.
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
    }

    fn set_env(&mut self, name: &str, value: &str) {
        let entry = format!("{name}={value}");
        match self
            .env
            .iter_mut()
            .find(|e| e.split('=').next() == Some(name))
        {
            Some(e) => *e = entry,
            None => self.env.push(entry),
        }
    }
}

/// A stage after evaluation: its configuration and its instructions with variables
/// substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageOutput {
    /// Stage index.
    pub index: usize,
    /// What it is built on.
    pub base: StageBase,
    /// The resulting configuration.
    pub config: ImageConfig,
    /// The instructions, expanded.
    pub instructions: Vec<Located>,
    /// The ARG values in effect at the end of the stage (what RUN would see as build
    /// args), predefined proxy args given by the caller included.
    pub args: Vec<(String, String)>,
}

/// Evaluates stages of a Dockerfile with the caller's build args.
#[derive(Debug)]
pub struct Evaluator<'a> {
    dockerfile: &'a Dockerfile,
    build_args: Vec<(String, String)>,
    platforms: Platforms,
    lexer: Lexer,
}

impl<'a> Evaluator<'a> {
    /// An evaluator with `--build-arg` values (later ones win).
    pub fn new(
        dockerfile: &'a Dockerfile,
        build_args: Vec<(String, String)>,
        platforms: Platforms,
    ) -> Self {
        let lexer = Lexer::new(dockerfile.directives.escape);
        Evaluator {
            dockerfile,
            build_args,
            platforms,
            lexer,
        }
    }

    fn build_arg(&self, name: &str) -> Option<String> {
        self.build_args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// The global scope: automatic platform ARGs, then the ARGs before the first FROM
    /// (unset when they have neither a default nor a build arg).
    pub fn global_scope(&self) -> Result<Vec<(String, String)>, ParseError> {
        let mut scope = self.platforms.automatic_args();
        for (decl, line) in &self.dockerfile.global_args {
            let value = match (self.build_arg(&decl.name), &decl.default) {
                (Some(v), _) => Some(v),
                (None, Some(d)) => Some(
                    self.lexer
                        .process_word(d, &scope)
                        .map_err(|e| ParseError::new(*line, 1, e.into()))?,
                ),
                (None, None) => None,
            };
            scope.retain(|(k, _)| k != &decl.name);
            if let Some(v) = value {
                scope.push((decl.name.clone(), v));
            }
        }
        Ok(scope)
    }

    /// Stage `index`'s FROM image with global ARGs substituted.
    pub fn expand_from(&self, index: usize) -> Result<String, ParseError> {
        let stage = &self.dockerfile.stages[index];
        let scope = self.global_scope()?;
        self.lexer
            .process_word(&stage.base, &scope)
            .map_err(|e| ParseError::new(stage.line, 1, e.into()))
    }

    /// Evaluates the stages needed for `target` (the last stage when None), in order.
    /// `image_config` gives the configuration of a base image (Env, WorkingDir...).
    pub fn evaluate(
        &self,
        target: Option<&str>,
        image_config: &dyn Fn(&str) -> ImageConfig,
    ) -> Result<Vec<StageOutput>, ParseError> {
        let scope = self.global_scope()?;
        let lexer = self.lexer;
        let expand = |_: usize, s: &str| lexer.process_word(s, &scope).unwrap_or_default();
        let plan = self.dockerfile.plan(target, &expand)?;
        let mut outputs: Vec<StageOutput> = Vec::new();
        for &i in &plan.order {
            let base = self.dockerfile.resolve_base(i, &self.expand_from(i)?);
            let config = match &base {
                StageBase::Scratch => ImageConfig::default(),
                StageBase::Image(r) => image_config(r),
                StageBase::Stage(d) => outputs
                    .iter()
                    .find(|o| o.index == *d)
                    .map(|o| o.config.clone())
                    .unwrap_or_default(),
            };
            outputs.push(self.evaluate_stage(i, base, config, &scope)?);
        }
        Ok(outputs)
    }

    fn evaluate_stage(
        &self,
        index: usize,
        base: StageBase,
        mut config: ImageConfig,
        global: &[(String, String)],
    ) -> Result<StageOutput, ParseError> {
        let stage = &self.dockerfile.stages[index];
        let automatic = self.platforms.automatic_args();
        let mut args: Vec<(String, String)> = Vec::new();
        let mut cmd_set = false;
        let mut out = Vec::new();
        for located in &stage.instructions {
            let err = |kind: ParseErrorKind| ParseError::new(located.line, located.column, kind);
            // ENV beats ARG: variables come from the config's Env first, then the ARGs.
            let lookup = |name: &str| -> Option<String> {
                config.env_value(name).map(str::to_string).or_else(|| {
                    args.iter()
                        .rev()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                })
            };
            if let Instruction::Arg(decls) = &located.instruction {
                for decl in decls {
                    let lookup = |name: &str| -> Option<String> {
                        config.env_value(name).map(str::to_string).or_else(|| {
                            args.iter()
                                .rev()
                                .find(|(k, _)| k == name)
                                .map(|(_, v)| v.clone())
                        })
                    };
                    let name = self
                        .lexer
                        .process_word(&decl.name, &lookup)
                        .map_err(|e| err(e.into()))?;
                    let value = match (self.build_arg(&name), &decl.default) {
                        (Some(v), _) => Some(v),
                        (None, Some(d)) => Some(
                            self.lexer
                                .process_word(d, &lookup)
                                .map_err(|e| err(e.into()))?,
                        ),
                        (None, None) => global
                            .iter()
                            .rev()
                            .chain(automatic.iter())
                            .find(|(k, _)| k == &name)
                            .map(|(_, v)| v.clone()),
                    };
                    args.retain(|(k, _)| k != &name);
                    if let Some(v) = value {
                        args.push((name, v));
                    }
                }
                out.push(located.clone());
                continue;
            }
            let expanded = located
                .instruction
                .expand(&self.lexer, &lookup)
                .map_err(|e| err(e.into()))?;
            apply(&mut config, &expanded, &mut cmd_set).map_err(err)?;
            out.push(Located {
                instruction: expanded,
                ..located.clone()
            });
        }
        for name in PREDEFINED_ARGS {
            if let Some(v) = self.build_arg(name) {
                if !args.iter().any(|(k, _)| k == name) {
                    args.push((name.to_string(), v));
                }
            }
        }
        Ok(StageOutput {
            index,
            base,
            config,
            instructions: out,
            args,
        })
    }

    /// Build args that no ARG of the global scope or of the given stages declares
    /// (predefined proxy args excepted), sorted: Docker warns about them.
    pub fn unused_build_args(&self, stages: &[usize]) -> Vec<String> {
        let mut declared: BTreeSet<String> = self
            .dockerfile
            .global_args
            .iter()
            .map(|(d, _)| d.name.clone())
            .collect();
        for &i in stages {
            let Some(stage) = self.dockerfile.stages.get(i) else {
                continue;
            };
            for located in &stage.instructions {
                if let Instruction::Arg(decls) = &located.instruction {
                    declared.extend(decls.iter().map(|d| d.name.clone()));
                }
            }
        }
        let unused: BTreeSet<String> = self
            .build_args
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| !declared.contains(k) && !PREDEFINED_ARGS.contains(&k.as_str()))
            .collect();
        unused.into_iter().collect()
    }
}

/// Applies one expanded instruction to the configuration, as Docker's dispatcher does.
fn apply(
    config: &mut ImageConfig,
    inst: &Instruction,
    cmd_set: &mut bool,
) -> Result<(), ParseErrorKind> {
    // An empty exec form (`ENTRYPOINT []`) clears the value: Docker stores null.
    let shell = |c: &ImageConfig, cmd: &ShellOrExec| match cmd {
        ShellOrExec::Exec(argv) if argv.is_empty() => None,
        ShellOrExec::Exec(argv) => Some(argv.clone()),
        ShellOrExec::Shell(s) => {
            let mut v = c
                .shell
                .clone()
                .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string()]);
            v.push(s.clone());
            Some(v)
        }
    };
    match inst {
        Instruction::Env(kvs) => kvs.iter().for_each(|kv| config.set_env(&kv.key, &kv.value)),
        Instruction::Label(kvs) => {
            for kv in kvs {
                config.labels.insert(kv.key.clone(), kv.value.clone());
            }
        }
        Instruction::Workdir(dir) => config.working_dir = join_workdir(&config.working_dir, dir),
        Instruction::User(u) => config.user = u.clone(),
        Instruction::Expose(ports) => {
            for p in ports {
                config.exposed_ports.extend(parse_port(p)?);
            }
        }
        Instruction::Volume(v) => config.volumes.extend(v.iter().cloned()),
        Instruction::Cmd(c) => {
            config.cmd = shell(config, c);
            *cmd_set = true;
        }
        Instruction::Entrypoint(e) => {
            config.entrypoint = shell(config, e);
            // ENTRYPOINT resets a CMD inherited from the base, not one set in this stage.
            if !*cmd_set {
                config.cmd = None;
            }
        }
        Instruction::Shell(s) => config.shell = Some(s.clone()),
        Instruction::Healthcheck(h) => {
            config.healthcheck = Some(inherit_healthcheck_options(
                h.clone(),
                config.healthcheck.as_ref(),
            ))
        }
        Instruction::Stopsignal(s) => {
            if !valid_signal(s) {
                return Err(ParseErrorKind::InvalidSignal(s.clone()));
            }
            config.stop_signal = Some(s.clone());
        }
        Instruction::Onbuild { text, .. } => config.on_build.push(text.clone()),
        Instruction::Maintainer(m) => config.author = Some(m.clone()),
        _ => {}
    }
    Ok(())
}

/// Whether `s` names a signal as Docker accepts it: a non-zero number, or a Linux signal
/// name with or without `SIG`, in any case (`RTMIN+3` too). Stored as written.
pub fn valid_signal(s: &str) -> bool {
    if let Ok(n) = s.parse::<i64>() {
        return n != 0;
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    const NAMES: &[&str] = &[
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
        "RTMIN", "RTMAX",
    ];
    if NAMES.contains(&name) {
        return true;
    }
    // RTMIN+1..RTMIN+15 and RTMAX-14..RTMAX-1, as Go's signal table has them.
    let offset = |prefix: &str, max: u8| {
        name.strip_prefix(prefix)
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (1..=max).contains(&n))
    };
    offset("RTMIN+", 15) || offset("RTMAX-", 14)
}

/// WORKDIR: an absolute path replaces the current one as written; a relative one is
/// joined to the current one and the result cleaned (`a/./b/../c/` from `/x` is `/x/a/c`).
/// Both checked against dockerd, which keeps `/abs//d/` as is.
pub fn join_workdir(current: &str, requested: &str) -> String {
    if requested.starts_with('/') {
        return requested.to_string();
    }
    let joined = format!("/{current}/{requested}");
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `80`, `80/udp`, `8000-8002/tcp` to `ExposedPorts` keys.
pub fn parse_port(spec: &str) -> Result<Vec<String>, ParseErrorKind> {
    let bad = || ParseErrorKind::InvalidPort(spec.to_string());
    let (ports, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad());
    }
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (a, b),
        None => (ports, ports),
    };
    let start: u16 = start.parse().map_err(|_| bad())?;
    let end: u16 = end.parse().map_err(|_| bad())?;
    if end < start {
        return Err(bad());
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

/// A HEALTHCHECK's options left unset (zero) take the previous healthcheck's, as in
/// dockerd's legacy builder: the step's container is created with the parent image's
/// config merged in, and that merge fills the new healthcheck's zero fields.
fn inherit_healthcheck_options(new: Healthcheck, old: Option<&Healthcheck>) -> Healthcheck {
    let (
        Healthcheck::Cmd {
            test,
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
        },
        Some(Healthcheck::Cmd {
            interval: old_interval,
            timeout: old_timeout,
            start_period: old_start_period,
            start_interval: old_start_interval,
            retries: old_retries,
            ..
        }),
    ) = (&new, old)
    else {
        return new;
    };
    let or = |v: i64, old: i64| if v == 0 { old } else { v };
    Healthcheck::Cmd {
        test: test.clone(),
        interval: or(*interval, *old_interval),
        timeout: or(*timeout, *old_timeout),
        start_period: or(*start_period, *old_start_period),
        start_interval: or(*start_interval, *old_start_interval),
        retries: if *retries == 0 {
            *old_retries
        } else {
            *retries
        },
    }
}

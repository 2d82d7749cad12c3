//! The typed instruction model: one variant per Dockerfile instruction, with its flags.
//!
//! Values are kept as written (quotes, `$VAR`) where Docker substitutes variables later,
//! at build time, with the stage's ARG and ENV values: see [`crate::args`], which produces
//! the expanded form of each instruction with [`Instruction::expand`].

mod expand;
mod flags;
mod mounts;
mod parse;

pub use mounts::{Mount, MountType};
pub(crate) use parse::from_raw;

use crate::parser::Heredoc;
use serde::{Deserialize, Serialize};

/// A command in shell form (run by the SHELL, `/bin/sh -c` by default) or exec form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShellOrExec {
    /// `RUN echo hi`: one string handed to the shell.
    Shell(String),
    /// `RUN ["echo", "hi"]`: argv, no shell.
    Exec(Vec<String>),
}

/// `RUN --network=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Network {
    /// The builder's default network.
    Default,
    /// No network at all.
    None,
    /// The host's network namespace.
    Host,
}

/// `RUN --security=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Security {
    /// Normal, confined.
    Sandbox,
    /// All capabilities, like `--privileged`.
    Insecure,
}

/// COPY's arguments and flags (ADD's too, with [`Add`]'s extras).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Copy {
    /// Sources as written, heredoc words (`<<EOF`) excluded.
    pub sources: Vec<String>,
    /// The destination as written.
    pub dest: String,
    /// `--from=<stage name|stage index|image>` (COPY only).
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--parents`.
    pub parents: bool,
    /// `--exclude=pattern`, repeatable.
    pub exclude: Vec<String>,
    /// Files given inline as heredocs; each is written at `dest/<name>`.
    pub heredocs: Vec<Heredoc>,
}

/// ADD: COPY plus URLs, archives and its own flags.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Add {
    /// Sources, destination and the flags ADD shares with COPY (`from` is always None).
    pub copy: Copy,
    /// `--checksum=sha256:...` for a URL source.
    pub checksum: Option<String>,
    /// `--keep-git-dir` for a git source.
    pub keep_git_dir: bool,
}

/// One `name=value` of ENV or LABEL, value as written (quotes are removed by expansion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The name.
    pub key: String,
    /// The value.
    pub value: String,
}

/// One name of an ARG instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgDecl {
    /// The name.
    pub name: String,
    /// The default value (`ARG name=default`), as written.
    pub default: Option<String>,
}

/// HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any check inherited from the base image.
    None,
    /// `HEALTHCHECK [flags] CMD ...`.
    Cmd {
        /// Docker's `Test`: `["CMD", argv...]` or `["CMD-SHELL", command]`.
        test: Vec<String>,
        /// `--interval`, nanoseconds, 0 when not given.
        interval: i64,
        /// `--timeout`, nanoseconds.
        timeout: i64,
        /// `--start-period`, nanoseconds.
        start_period: i64,
        /// `--start-interval`, nanoseconds.
        start_interval: i64,
        /// `--retries`, 0 when not given.
        retries: u32,
    },
}

/// One Dockerfile instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Instruction {
    /// `FROM [--platform=p] image [AS name]`.
    From {
        /// Image reference, `scratch`, or an earlier stage's name.
        image: String,
        /// `--platform=`.
        platform: Option<String>,
        /// `AS name`, lowercased as Docker does.
        alias: Option<String>,
    },
    /// `RUN`.
    Run {
        /// The command.
        command: ShellOrExec,
        /// `--mount=` flags.
        mounts: Vec<Mount>,
        /// `--network=`.
        network: Option<Network>,
        /// `--security=`.
        security: Option<Security>,
        /// Heredoc bodies (`RUN <<EOF`).
        heredocs: Vec<Heredoc>,
    },
    /// `COPY`.
    Copy(Copy),
    /// `ADD`.
    Add(Add),
    /// `ENV name=value ...` or the legacy `ENV name value`.
    Env(Vec<KeyValue>),
    /// `ARG name[=default] ...`.
    Arg(Vec<ArgDecl>),
    /// `LABEL name=value ...`.
    Label(Vec<KeyValue>),
    /// `WORKDIR path`.
    Workdir(String),
    /// `USER user[:group]`.
    User(String),
    /// `EXPOSE port[/proto] ...`.
    Expose(Vec<String>),
    /// `VOLUME path ...` or `VOLUME ["path", ...]`.
    Volume(Vec<String>),
    /// `CMD`.
    Cmd(ShellOrExec),
    /// `ENTRYPOINT`.
    Entrypoint(ShellOrExec),
    /// `SHELL ["executable", "params"]`.
    Shell(Vec<String>),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `STOPSIGNAL signal`.
    Stopsignal(String),
    /// `ONBUILD trigger`: stored in the image, run by a child build.
    Onbuild {
        /// The trigger, parsed.
        trigger: Box<Instruction>,
        /// The trigger as written (what goes into the image's `OnBuild` list).
        text: String,
    },
    /// `MAINTAINER name` (deprecated; sets the image's author).
    Maintainer(String),
}

impl Instruction {
    /// The keyword in Docker's spelling (`RUN`, `COPY`...).
    pub fn keyword(&self) -> &'static str {
        match self {
            Instruction::From { .. } => "FROM",
            Instruction::Run { .. } => "RUN",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Env(_) => "ENV",
            Instruction::Arg(_) => "ARG",
            Instruction::Label(_) => "LABEL",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::User(_) => "USER",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Volume(_) => "VOLUME",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Shell(_) => "SHELL",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Stopsignal(_) => "STOPSIGNAL",
            Instruction::Onbuild { .. } => "ONBUILD",
            Instruction::Maintainer(_) => "MAINTAINER",
        }
    }
}

/// An instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located {
    /// The instruction.
    pub instruction: Instruction,
    /// 1-based line of its keyword.
    pub line: usize,
    /// 1-based column of its keyword.
    pub column: usize,
    /// Last line it covers (continuations and heredocs included).
    pub end_line: usize,
    /// The logical line as written (continuations joined), for history and errors.
    pub text: String,
}

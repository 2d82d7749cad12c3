//! The executor: a parsed Dockerfile and a context directory in, an image in the image
//! store out.
//!
//! Each stage starts from its base (an image from the store, pulled if asked, `scratch`,
//! or an earlier stage's result) and runs its instructions in order. Metadata
//! instructions (ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, CMD, ENTRYPOINT, SHELL,
//! HEALTHCHECK, STOPSIGNAL, ONBUILD, MAINTAINER, ARG) change the config only; COPY and ADD
//! write files into the stage's root filesystem; RUN runs a process on it through a
//! [`StepRunner`] (the engine's: a container through a shim, on the engine's network).
//! Every instruction that changes files ends in a layer (the diff of the step, packed
//! reproducibly) and a history entry; the result is committed to the image store.
//!
//! A step is taken from the cache when its parent (the previous step's cache id), its
//! instruction text (after substitution) and its inputs (the content digests of the files
//! it copies, not their mtimes; the build args it sees) match an earlier step's. The cache
//! lives under `<data_root>/build-cache/` and survives daemon restarts.

mod base;
mod cache;
mod commit;
mod config;
mod copy;
mod copy_step;
mod file_digests;
mod layer;
mod pattern;
mod run_step;
mod stage;
mod workdir_step;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use thiserror::Error;
use tokio::sync::mpsc;

pub use file_digests::FileDigests;

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The build context: unpacked for this build, or the client's own directory when
    /// `live_context`.
    pub context: PathBuf,
    /// The context is read in place (a local client's directory, which may change while
    /// the build runs): file digests are remembered between builds, and every copy from
    /// it is hashed again and checked against the cache key.
    pub live_context: bool,
    /// The context's files change only between builds (the engine's retained unpack of a
    /// tar, synced so that unchanged files keep their inodes): their digests are
    /// remembered between builds, as a live context's.
    pub stable_context: bool,
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// The Dockerfile's name in the context (for messages and `.dockerignore` rules).
    pub dockerfile_name: String,
    /// `-t` names (`name:tag`).
    pub tags: Vec<String>,
    /// `--build-arg NAME=value` (a None value takes the client's environment, resolved by
    /// the client; here it means "declared but unset").
    pub build_args: BTreeMap<String, Option<String>>,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`: always pull base images.
    pub pull: bool,
    /// `--platform` (`linux/amd64`).
    pub platform: Option<String>,
    /// `SOURCE_DATE_EPOCH`: timestamps of layers, history and the config are clamped to
    /// it, so the same inputs give the same image digest.
    pub source_date_epoch: Option<i64>,
    /// `--network` for RUN steps: `default` (the engine's bridge), `none` or `host`.
    pub network: String,
}

/// A RUN step, for the [`StepRunner`].
#[derive(Debug, Clone)]
pub struct RunStep {
    /// The step's root filesystem, mounted and writable.
    pub rootfs: PathBuf,
    /// The process: argv (shell form already wrapped in SHELL), env, user, working dir.
    pub argv: Vec<String>,
    /// `NAME=value`.
    pub env: Vec<String>,
    /// `USER`, as written (`name`, `uid`, `uid:gid`); empty = root.
    pub user: String,
    /// `WORKDIR` (absolute).
    pub working_dir: String,
    /// `default`, `none` or `host`.
    pub network: String,
    /// `RUN --mount` bind and cache mounts, resolved to host paths.
    pub mounts: Vec<RunMount>,
}

/// A mount of a RUN step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    /// Host path.
    pub source: PathBuf,
    /// Path in the step's root.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
}

/// A future returned by a [`StepRunner`].
pub type RunFuture<'a> = Pin<Box<dyn Future<Output = Result<i32, BuildError>> + Send + 'a>>;

/// Runs RUN steps. The engine runs them as containers; the process's output lines go to
/// `output` as they come; the result is its exit code.
pub trait StepRunner: Send + Sync {
    /// Runs one step.
    fn run<'a>(&'a self, step: RunStep, output: mpsc::Sender<String>) -> RunFuture<'a>;
}

/// What a build reports while it runs (the API turns these into Docker's JSON messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// `Step N/M : INSTRUCTION` (the legacy builder's numbering).
    Step {
        /// 1-based.
        number: usize,
        /// Steps in the stages being built.
        total: usize,
        /// The instruction as written (after ARG substitution in FROM).
        text: String,
    },
    /// ` ---> Using cache`.
    CacheHit,
    /// ` ---> <short id>`: the step's result.
    StepResult(String),
    /// A line of a RUN step's output.
    Output(String),
    /// A warning (unused build args, ...).
    Warning(String),
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildResult {
    /// The image id (`sha256:...`, the config digest).
    pub image_id: String,
    /// The names tagged.
    pub tags: Vec<String>,
}

/// Why a build failed.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The Dockerfile does not parse or does not make sense (400).
    #[error(transparent)]
    Parse(#[from] crate::ParseError),
    /// A RUN step exited non-zero: Docker's message.
    #[error("The command '{command}' returned a non-zero code: {code}")]
    RunFailed {
        /// The command as written.
        command: String,
        /// Its exit code.
        code: i32,
    },
    /// A COPY/ADD source is missing or outside the context.
    #[error("{0}")]
    Source(String),
    /// A base image is missing and could not be pulled.
    #[error("{0}")]
    Image(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Runs builds against one data root's image store and snapshots.
#[derive(Debug)]
pub struct Builder {
    images: berth_image::store::ImageStore,
    snapshots: berth_image::layer::Snapshotter,
    data_root: PathBuf,
    file_digests: std::sync::Arc<FileDigests>,
}

impl Builder {
    /// A builder over the stores of `data_root` (its cache in `<data_root>/build-cache`).
    pub fn new(
        data_root: PathBuf,
        images: berth_image::store::ImageStore,
        snapshots: berth_image::layer::Snapshotter,
    ) -> Self {
        Builder {
            images,
            snapshots,
            data_root,
            file_digests: Default::default(),
        }
    }

    /// Shares `digests` (a daemon's, kept between builds) for live contexts.
    pub fn with_file_digests(self, digests: std::sync::Arc<FileDigests>) -> Self {
        Builder {
            file_digests: digests,
            ..self
        }
    }

    /// Builds `request`: every stage the target needs (independent stages in parallel),
    /// reporting progress on `events`; RUN steps go to `runner`. Tags the result.
    pub async fn build(
        &self,
        request: BuildRequest,
        runner: &dyn StepRunner,
        events: mpsc::Sender<BuildEvent>,
    ) -> Result<BuildResult, BuildError> {
        let mut dockerfile = crate::parse(&request.dockerfile)?;
        let build_args: Vec<(String, String)> = request
            .build_args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        let evaluator = crate::args::Evaluator::new(
            &dockerfile,
            build_args.clone(),
            crate::args::Platforms::default(),
        );
        let scope = evaluator.global_scope()?;
        let lexer = crate::substitution::Lexer::new(dockerfile.directives.escape);
        let expand = |_: usize, s: &str| lexer.process_word(s, &scope).unwrap_or_default();
        let plan = dockerfile.plan(request.target.as_deref(), &expand)?;
        drop(evaluator);
        add_label_steps(&mut dockerfile, plan.target, &request.labels);
        let evaluator = crate::args::Evaluator::new(
            &dockerfile,
            build_args.clone(),
            crate::args::Platforms::default(),
        );
        // The legacy builder counts and shows the global ARGs as steps of their own.
        let global_steps = global_arg_steps(&dockerfile);
        let mut first_step = HashMap::new();
        let mut total = global_steps.len();
        for &i in &plan.order {
            first_step.insert(i, total + 1);
            total += 1 + dockerfile.stages[i].instructions.len();
        }
        for (n, text) in global_steps.into_iter().enumerate() {
            let step = BuildEvent::Step {
                number: n + 1,
                total,
                text,
            };
            let _ = events.send(step).await;
        }
        let ignore = read_dockerignore(&request.context)?;
        let work = self.data_root.join("build-work").join(layer::rand_suffix());
        std::fs::create_dir_all(&work)
            .map_err(|e| BuildError::Other(format!("create {}: {e}", work.display())))?;
        let ctx = stage::BuildContext {
            builder: self,
            request: &request,
            runner,
            events: events.clone(),
            dockerfile: &dockerfile,
            build_args,
            context: copy::SourceRoot {
                root: request.context.clone(),
                ignore,
                digests: (request.live_context || request.stable_context)
                    .then(|| self.file_digests.clone()),
                live: request.live_context,
            },
            work: work.clone(),
            cache: cache::Cache::new(&self.data_root),
            first_step,
            total,
        };
        let result = self.build_plan(&ctx, &plan).await;
        // Every mount was dropped with its step; what is left is empty directories.
        let _ = std::fs::remove_dir_all(&work);
        let built = result?;
        let unused = evaluator.unused_build_args(&plan.order);
        if !unused.is_empty() {
            let _ = events
                .send(BuildEvent::Warning(format!(
                    "One or more build-args [{}] were not consumed",
                    unused.join(" ")
                )))
                .await;
        }
        let target = built
            .get(&plan.target)
            .ok_or_else(|| BuildError::Other("the target stage was not built".into()))?;
        self.commit(&request, target)
    }

    async fn build_plan(
        &self,
        ctx: &stage::BuildContext<'_>,
        plan: &crate::BuildPlan,
    ) -> Result<HashMap<usize, stage::Built>, BuildError> {
        let mut built: HashMap<usize, stage::Built> = HashMap::new();
        for wave in &plan.waves {
            // The stages of a wave depend only on earlier waves: they run together, and
            // all of them finish (and clean up) before an error is returned.
            let results =
                futures_util::future::join_all(wave.iter().map(|&i| ctx.build_stage(i, &built)))
                    .await;
            let mut done = Vec::new();
            for (&i, result) in wave.iter().zip(results) {
                done.push((i, result?));
            }
            built.extend(done);
        }
        Ok(built)
    }
}

/// `--label`s as the legacy builder applies them: one `LABEL key=value` step per label,
/// sorted by key, appended to the target stage (so they show in the steps and history).
fn add_label_steps(
    dockerfile: &mut crate::Dockerfile,
    target: usize,
    labels: &BTreeMap<String, String>,
) {
    let Some(stage) = dockerfile.stages.get_mut(target) else {
        return;
    };
    let line = stage.instructions.last().map_or(0, |l| l.end_line);
    // dockerd does not expand `--label` values (`NewLabelCommand(k, v, noExp=true)`): the
    // characters the word lexer would read are escaped, so expansion gives them back.
    let escape = dockerfile.directives.escape;
    let literal = |text: &str| {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if matches!(c, '$' | '\'' | '"' | '\\' | '`') || c.is_whitespace() {
                out.push(escape);
            }
            out.push(c);
        }
        out
    };
    for (key, value) in labels {
        stage.instructions.push(crate::instructions::Located {
            instruction: crate::instructions::Instruction::Label(vec![
                crate::instructions::KeyValue {
                    key: literal(key),
                    value: literal(value),
                },
            ]),
            line,
            column: 1,
            end_line: line,
            text: format!("LABEL {key}={value}"),
        });
    }
}

/// The `Step` texts of the global ARGs: one per ARG line.
fn global_arg_steps(dockerfile: &crate::Dockerfile) -> Vec<String> {
    let mut steps: Vec<(usize, String)> = Vec::new();
    for (decl, line) in &dockerfile.global_args {
        let part = match &decl.default {
            Some(v) => format!("{}={v}", decl.name),
            None => decl.name.clone(),
        };
        match steps.last_mut() {
            Some((l, text)) if l == line => {
                text.push(' ');
                text.push_str(&part);
            }
            _ => steps.push((*line, format!("ARG {part}"))),
        }
    }
    steps.into_iter().map(|(_, t)| t).collect()
}

/// The context's `.dockerignore`, if any.
fn read_dockerignore(
    context: &std::path::Path,
) -> Result<Option<crate::dockerignore::DockerIgnore>, BuildError> {
    let path = context.join(".dockerignore");
    match std::fs::read_to_string(&path) {
        Ok(text) => crate::dockerignore::DockerIgnore::parse(&text)
            .map(Some)
            .map_err(|e| BuildError::Other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BuildError::Other(format!("read {}: {e}", path.display()))),
    }
}

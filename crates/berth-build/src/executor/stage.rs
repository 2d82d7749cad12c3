//! One stage: its base, then its instructions in order, each taken from the cache or run
//! (metadata instructions change the config; COPY/ADD and RUN make a layer).

use std::collections::HashMap;
use std::path::PathBuf;

use berth_image::digest::Digest;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::cache::{Cache, LayerRef, StepRecord};
use super::config::{self, History};
use super::copy::SourceRoot;
use super::{BuildError, BuildEvent, BuildRequest, Builder, StepRunner};
use crate::args::{Evaluator, ImageConfig, Platforms, StageOutput};
use crate::instructions::{Instruction, Located};
use crate::{Dockerfile, Stage, StageBase};

/// dockerd's default PATH on Linux.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A built stage: what the next stage, a `COPY --from` or the commit needs.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub layers: Vec<LayerRef>,
    /// History entries as JSON (a base image's may carry more fields than ours).
    pub history: Vec<Value>,
    pub config: ImageConfig,
    /// The config document's other top-level fields (`architecture`, `os`...).
    pub platform: (String, String, Option<String>),
    pub cache_id: Digest,
    /// The id printed as this state's result (` ---> id`): the base image's id after a
    /// FROM of an image, empty after `FROM scratch`, the step's cache key after a step.
    pub shown_id: String,
    /// The shown id of the state the last step ran on: the config's `Image`, as the
    /// legacy builder records the parent of the image it commits.
    pub parent_id: String,
}

/// What every stage of one build shares.
pub(crate) struct BuildContext<'a> {
    pub builder: &'a Builder,
    pub request: &'a BuildRequest,
    pub runner: &'a dyn StepRunner,
    pub events: mpsc::Sender<BuildEvent>,
    pub dockerfile: &'a Dockerfile,
    pub build_args: Vec<(String, String)>,
    pub context: SourceRoot,
    pub work: PathBuf,
    pub cache: Cache,
    /// The number of the first step of each planned stage.
    pub first_step: HashMap<usize, usize>,
    pub total: usize,
}

impl BuildContext<'_> {
    pub async fn emit(&self, event: BuildEvent) {
        let _ = self.events.send(event).await;
    }

    /// The evaluation of stage `index` on `base_config` with only `prefix` as its
    /// instructions: the config, expanded instructions and ARGs after that prefix. The
    /// stage is evaluated in a copy of the Dockerfile whose FROM names a placeholder image
    /// (so that the config is ours) and whose earlier stages are empty (their names stay,
    /// for `--from`).
    pub fn evaluate(
        &self,
        index: usize,
        base_config: &ImageConfig,
        prefix: &[Located],
    ) -> Result<StageOutput, BuildError> {
        const PLACEHOLDER: &str = "berth-build-stage-base";
        let mut stages: Vec<Stage> = self.dockerfile.stages[..index]
            .iter()
            .map(|s| Stage {
                base: "scratch".into(),
                instructions: Vec::new(),
                ..s.clone()
            })
            .collect();
        stages.push(Stage {
            base: PLACEHOLDER.into(),
            instructions: prefix.to_vec(),
            ..self.dockerfile.stages[index].clone()
        });
        let file = Dockerfile {
            directives: self.dockerfile.directives.clone(),
            global_args: self.dockerfile.global_args.clone(),
            stages,
        };
        let evaluator = Evaluator::new(&file, self.build_args.clone(), Platforms::default());
        let outputs = evaluator.evaluate(None, &|name: &str| {
            if name == PLACEHOLDER {
                base_config.clone()
            } else {
                ImageConfig::default()
            }
        })?;
        outputs
            .into_iter()
            .find(|o| o.index == index)
            .ok_or_else(|| BuildError::Other(format!("stage {index} was not evaluated")))
    }

    /// Builds stage `index` on top of the stages built so far.
    pub async fn build_stage(
        &self,
        index: usize,
        built: &HashMap<usize, Built>,
    ) -> Result<Built, BuildError> {
        let stage = &self.dockerfile.stages[index];
        let evaluator = Evaluator::new(
            self.dockerfile,
            self.build_args.clone(),
            Platforms::default(),
        );
        let from = evaluator.expand_from(index)?;
        let mut number = self.first_step.get(&index).copied().unwrap_or(1);
        // As written: the legacy builder shows FROM's variables unexpanded.
        let platform = stage
            .platform
            .as_ref()
            .map(|p| format!(" --platform={p}"))
            .unwrap_or_default();
        let from_text = match &stage.name {
            Some(n) => format!("FROM{platform} {} AS {n}", stage.base),
            None => format!("FROM{platform} {}", stage.base),
        };
        self.emit(BuildEvent::Step {
            number,
            total: self.total,
            text: from_text,
        })
        .await;
        let (mut state, triggers) = self.start(index, &from, built).await?;
        let mut instructions: Vec<Located> = Vec::new();
        if triggers.is_empty() {
            self.emit(BuildEvent::StepResult(shown(&state))).await;
        } else {
            // As the legacy builder: the triggers run as part of the FROM step, whose one
            // result is the state after the last of them.
            self.emit(BuildEvent::Output(format!(
                "# Executing {} build trigger{}",
                triggers.len(),
                if triggers.len() == 1 { "" } else { "s" }
            )))
            .await;
            instructions.extend(triggers.iter().cloned());
        }
        let trigger_count = instructions.len();
        instructions.extend(stage.instructions.iter().cloned());
        let base_config = state.config.clone();
        for k in 0..instructions.len() {
            if k >= trigger_count {
                number += 1;
                self.emit(BuildEvent::Step {
                    number,
                    total: self.total,
                    text: instructions[k].text.clone(),
                })
                .await;
            }
            let out = self.evaluate(index, &base_config, &instructions[..=k])?;
            let expanded = out
                .instructions
                .get(k)
                .cloned()
                .ok_or_else(|| BuildError::Other("an instruction was not evaluated".into()))?;
            state = self.step(index, state, &expanded, &out, built).await?;
            if k + 1 >= trigger_count {
                self.emit(BuildEvent::StepResult(shown(&state))).await;
            }
        }
        Ok(state)
    }

    /// The stage's start: its base's layers, config and history, and the base's ONBUILD
    /// triggers to run first (the config keeps none of them).
    async fn start(
        &self,
        index: usize,
        from: &str,
        built: &HashMap<usize, Built>,
    ) -> Result<(Built, Vec<Located>), BuildError> {
        let stage = &self.dockerfile.stages[index];
        let platform = stage
            .platform
            .as_deref()
            .or(self.request.platform.as_deref());
        let host = berth_image::manifest::Platform::host();
        let default_platform = (host.os.clone(), host.architecture.clone(), None);
        let mut state = match self.dockerfile.resolve_base(index, from) {
            StageBase::Scratch => Built {
                layers: Vec::new(),
                history: Vec::new(),
                config: ImageConfig::default(),
                platform: default_platform,
                cache_id: Cache::key(&Digest::sha256_of(b"scratch"), &[platform.unwrap_or("")]),
                shown_id: String::new(),
                parent_id: String::new(),
            },
            StageBase::Stage(d) => built
                .get(&d)
                .cloned()
                .ok_or_else(|| BuildError::Other(format!("stage {d} was not built")))?,
            StageBase::Image(name) => {
                let base = self
                    .builder
                    .base_image(&name, platform, self.request.pull)
                    .await?;
                let raw_config = base.raw.get("config").cloned().unwrap_or(Value::Null);
                let author = base.raw.get("author").and_then(Value::as_str);
                let text = |k: &str| base.raw.get(k).and_then(Value::as_str).map(str::to_string);
                Built {
                    history: base
                        .raw
                        .get("history")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    config: config::from_docker(&raw_config, author),
                    platform: (
                        text("os").unwrap_or(default_platform.0),
                        text("architecture").unwrap_or(default_platform.1),
                        text("variant"),
                    ),
                    cache_id: Digest::sha256_of(base.id.as_bytes()),
                    shown_id: base.id.clone(),
                    parent_id: String::new(),
                    layers: base.layers,
                }
            }
        };
        // The legacy builder gives every stage a PATH when its base has none.
        if !state.config.env.iter().any(|e| e.starts_with("PATH=")) {
            state.config.env.push(format!("PATH={DEFAULT_PATH}"));
        }
        let mut triggers = Vec::new();
        for trigger in std::mem::take(&mut state.config.on_build) {
            let parsed = crate::parse(&format!("FROM scratch\n{trigger}\n"))?;
            let mut located = parsed.stages.into_iter().flat_map(|s| s.instructions);
            if let Some(l) = located.next() {
                triggers.push(l);
            }
        }
        if !triggers.is_empty() {
            state.cache_id = Cache::key(&state.cache_id, &["onbuild cleared"]);
        }
        Ok((state, triggers))
    }

    /// One instruction: from the cache, or executed.
    async fn step(
        &self,
        index: usize,
        mut state: Built,
        located: &Located,
        out: &StageOutput,
        built: &HashMap<usize, Built>,
    ) -> Result<Built, BuildError> {
        let instruction = &located.instruction;
        let text =
            serde_json::to_string(instruction).map_err(|e| BuildError::Other(e.to_string()))?;
        let args =
            serde_json::to_string(&out.args).map_err(|e| BuildError::Other(e.to_string()))?;
        let shell = state
            .config
            .shell
            .clone()
            .unwrap_or_else(config::default_shell);
        let record = match instruction {
            Instruction::Run { .. } => {
                let key = Cache::key(&state.cache_id, &[&text, &args]);
                match self.lookup(&key, &state).await {
                    Some(r) => (key, (r, true)),
                    None => {
                        let r = self.run(index, &state, located, out, built).await?;
                        (key, (r, false))
                    }
                }
            }
            Instruction::Copy(_) | Instruction::Add(_) => {
                let prepared = self.prepare_copy(index, &state, located, built).await?;
                let key = Cache::key(
                    &state.cache_id,
                    &[&text, &args, &prepared.digest.to_string()],
                );
                match self.lookup(&key, &state).await {
                    Some(r) => (key, (r, true)),
                    None => {
                        let r = self.copy(&state, located, prepared).await?;
                        (key, (r, false))
                    }
                }
            }
            Instruction::Workdir(_) => {
                let key = Cache::key(&state.cache_id, &[&text, &args]);
                match self.lookup(&key, &state).await {
                    Some(r) => (key, (r, true)),
                    None => {
                        let created_by = metadata_created_by(&shell, instruction, &out.config);
                        let r = self.workdir(&state, &out.config, created_by).await?;
                        (key, (r, false))
                    }
                }
            }
            _ => {
                let key = Cache::key(&state.cache_id, &[&text, &args]);
                match self.lookup(&key, &state).await {
                    Some(r) => (key, (r, true)),
                    None => StepRecord {
                        layer: None,
                        history: History {
                            created: config::created_now(self.request.source_date_epoch),
                            created_by: metadata_created_by(&shell, instruction, &out.config),
                            empty_layer: true,
                        },
                        config: out.config.clone(),
                    }
                    .pipe(|r| (key, (r, false))),
                }
            }
        };
        let (key, (mut record, hit)) = record;
        // The config after a step is the evaluation's (a RUN or COPY changes no config).
        record.config = out.config.clone();
        // A step that changed no file adds no layer: its history entry says so, as
        // dockerd's commit of an empty diff does.
        if record
            .layer
            .as_ref()
            .is_some_and(|l| l.diff_id == empty_tar())
        {
            record.layer = None;
            record.history.empty_layer = true;
        }
        if !hit {
            self.cache
                .put(&key, &record)
                .map_err(|e| BuildError::Other(format!("write the build cache: {e}")))?;
        }
        if let Some(layer) = record.layer.clone() {
            state.layers.push(layer);
        }
        state.history.push(history_json(
            &record.history,
            record.config.author.as_deref(),
        ));
        state.config = record.config;
        state.parent_id = std::mem::take(&mut state.shown_id);
        state.shown_id = key.to_string();
        state.cache_id = key;
        Ok(state)
    }

    /// A cached step whose layer is still there (its snapshot is remade if removed).
    async fn lookup(&self, key: &Digest, state: &Built) -> Option<StepRecord> {
        if self.request.no_cache {
            return None;
        }
        let record = self.cache.get(key)?;
        if let Some(layer) = &record.layer {
            if !self.builder.images.content().contains(&layer.blob) {
                return None;
            }
            let mut layers = state.layers.clone();
            layers.push(layer.clone());
            let images = self.builder.images.clone();
            let snapshots = self.builder.snapshots.clone();
            let ok = tokio::task::spawn_blocking(move || {
                super::layer::ensure_snapshots(&images, &snapshots, &layers)
            })
            .await;
            if !matches!(ok, Ok(Ok(()))) {
                return None;
            }
        }
        self.emit(BuildEvent::CacheHit).await;
        Some(record)
    }

    /// A fresh work directory for one step.
    pub fn step_dir(&self, what: &str) -> PathBuf {
        self.work
            .join(format!("{what}-{}", super::layer::rand_suffix()))
    }

    /// Packs a step's writable mount as a layer on top of `parents` (on a blocking
    /// thread: it reads and hashes the whole diff) and answers the step's record.
    pub(crate) async fn commit_step(
        &self,
        mounted: super::layer::Mounted,
        parents: &[LayerRef],
        created_by: String,
        config: ImageConfig,
    ) -> Result<StepRecord, BuildError> {
        let images = self.builder.images.clone();
        let snapshots = self.builder.snapshots.clone();
        let parents = parents.to_vec();
        let epoch = self.request.source_date_epoch;
        let layer = tokio::task::spawn_blocking(move || {
            mounted.commit(&images, &snapshots, &parents, epoch)
        })
        .await
        .map_err(|e| BuildError::Other(e.to_string()))??;
        Ok(StepRecord {
            layer: Some(layer),
            history: History {
                created: config::created_now(epoch),
                created_by,
                empty_layer: false,
            },
            config,
        })
    }
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

/// A history entry as JSON; `author`: the MAINTAINER in effect, which the legacy builder
/// records on every step after it.
pub(crate) fn history_json(h: &History, author: Option<&str>) -> Value {
    let mut v = json!({ "created": h.created, "created_by": h.created_by });
    if let Some(a) = author {
        v["author"] = json!(a);
    }
    if h.empty_layer {
        v["empty_layer"] = json!(true);
    }
    v
}

/// What ` ---> ` shows for a state: its shown id (nothing after `FROM scratch`, as the
/// legacy builder).
fn shown(state: &Built) -> String {
    let hex = state
        .shown_id
        .strip_prefix("sha256:")
        .unwrap_or(&state.shown_id);
    hex.chars().take(12).collect()
}

/// The diff id of a layer without entries: the two zero blocks that end a tar.
fn empty_tar() -> Digest {
    Digest::sha256_of(&[0u8; 1024])
}

/// The legacy builder's `created_by` for a metadata instruction.
fn metadata_created_by(shell: &[String], inst: &Instruction, after: &ImageConfig) -> String {
    use crate::instructions::ShellOrExec;
    let kv = |kvs: &[crate::instructions::KeyValue]| {
        kvs.iter()
            .map(|kv| format!(" {}={}", kv.key, kv.value))
            .collect::<String>()
    };
    let message = match inst {
        Instruction::Env(kvs) => format!("ENV{}", kv(kvs)),
        Instruction::Label(kvs) => format!("LABEL{}", kv(kvs)),
        Instruction::Workdir(_) => {
            return config::nop_comment(shell, &format!("WORKDIR {}", after.working_dir))
        }
        Instruction::User(u) => format!("USER {u}"),
        // The legacy parser sorts the ports as strings.
        Instruction::Expose(p) => {
            let mut ports = p.clone();
            ports.sort();
            format!("EXPOSE {}", ports.join(" "))
        }
        // Go's `%v` of the paths: no quotes.
        Instruction::Volume(v) => format!("VOLUME [{}]", v.join(" ")),
        Instruction::Cmd(_) => format!(
            "CMD {}",
            config::go_quoted(after.cmd.as_deref().unwrap_or(&[]))
        ),
        Instruction::Entrypoint(_) => format!(
            "ENTRYPOINT {}",
            config::go_quoted(after.entrypoint.as_deref().unwrap_or(&[]))
        ),
        // The prefix is the new shell: the legacy builder sets it before committing.
        Instruction::Shell(s) => return config::nop_commit(s, &format!("SHELL [{}]", s.join(" "))),
        Instruction::Healthcheck(h) => format!("HEALTHCHECK {}", config::go_healthcheck(h)),
        Instruction::Stopsignal(s) => format!("STOPSIGNAL {s}"),
        Instruction::Onbuild { text, .. } => format!("ONBUILD {text}"),
        Instruction::Maintainer(m) => format!("MAINTAINER {m}"),
        Instruction::Arg(decls) => {
            let parts: Vec<String> = decls
                .iter()
                .map(|d| match &d.default {
                    Some(v) => format!("{}={v}", d.name),
                    None => d.name.clone(),
                })
                .collect();
            format!("ARG {}", parts.join(" "))
        }
        Instruction::Run { command, .. } => match command {
            ShellOrExec::Shell(s) => s.clone(),
            ShellOrExec::Exec(v) => v.join(" "),
        },
        other => other.keyword().to_string(),
    };
    config::nop_commit(shell, &message)
}

//! A parsed Dockerfile: global ARGs, then stages, and the plan of stages a `--target`
//! needs, in dependency order and in waves that can run in parallel.

use crate::error::{ParseError, ParseErrorKind};
use crate::instructions::{self, ArgDecl, Instruction, Located};
use crate::parser::{self, Directives};
use serde::{Deserialize, Serialize};

/// A whole Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The parser directives (escape character, syntax, check).
    pub directives: Directives,
    /// ARGs declared before the first FROM: usable in FROM lines only, unless a stage
    /// redeclares them.
    pub global_args: Vec<(ArgDecl, usize)>,
    /// The stages, in file order.
    pub stages: Vec<Stage>,
}

/// One build stage: a FROM and the instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Position in the file, from 0.
    pub index: usize,
    /// `AS name`, lowercased.
    pub name: Option<String>,
    /// The FROM image as written (may hold `$VARS` from global ARGs).
    pub base: String,
    /// `--platform` as written.
    pub platform: Option<String>,
    /// 1-based line of the FROM.
    pub line: usize,
    /// The instructions after FROM.
    pub instructions: Vec<Located>,
}

/// What a stage is built on, once FROM's variables are substituted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StageBase {
    /// Nothing: `FROM scratch`.
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
    /// An image to pull.
    Image(String),
}

/// The stages a build needs, in an order where each comes after what it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildPlan {
    /// The target stage.
    pub target: usize,
    /// Needed stages, dependencies first.
    pub order: Vec<usize>,
    /// The same stages in waves: every stage of a wave depends only on earlier waves, so
    /// the stages of one wave can be built in parallel.
    pub waves: Vec<Vec<usize>>,
    /// For each needed stage, the stages it depends on.
    pub deps: Vec<(usize, Vec<usize>)>,
}

impl Dockerfile {
    /// Parses a Dockerfile (see [`crate::parse`]).
    pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
        let raw = parser::parse_raw(text)?;
        let escape = raw.directives.escape;
        let mut global_args = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        for inst in &raw.instructions {
            let typed = instructions::from_raw(inst, escape)?;
            let (line, column) = inst.position(inst.keyword_offset);
            match typed {
                Instruction::From {
                    image,
                    platform,
                    alias,
                } => {
                    if let Some(name) = &alias {
                        if stages.iter().any(|s| s.name.as_ref() == Some(name)) {
                            return Err(inst.error_at(
                                inst.rest_offset,
                                ParseErrorKind::DuplicateStageName(name.clone()),
                            ));
                        }
                    }
                    stages.push(Stage {
                        index: stages.len(),
                        name: alias,
                        base: image,
                        platform,
                        line,
                        instructions: Vec::new(),
                    });
                }
                other => match stages.last_mut() {
                    Some(stage) => stage.instructions.push(Located {
                        instruction: other,
                        line,
                        column,
                        end_line: inst.end_line,
                        text: inst
                            .text
                            .get(inst.keyword_offset..)
                            .unwrap_or("")
                            .to_string(),
                    }),
                    None => match other {
                        Instruction::Arg(decls) => {
                            global_args.extend(decls.into_iter().map(|d| (d, line)))
                        }
                        _ => return Err(inst.error(ParseErrorKind::NoStage)),
                    },
                },
            }
        }
        if stages.is_empty() {
            let line = raw.instructions.first().map_or(1, |i| i.line());
            return Err(ParseError::new(line, 1, ParseErrorKind::Empty));
        }
        Ok(Dockerfile {
            directives: raw.directives,
            global_args,
            stages,
        })
    }

    /// The stage called `name` (case-insensitive), or with that index.
    pub fn stage_by_name(&self, name: &str) -> Option<&Stage> {
        let lower = name.to_ascii_lowercase();
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
    }

    /// What stage `index` is built on, given its FROM with variables substituted.
    /// Only earlier stages can be referred to by name; anything else is an image.
    pub fn resolve_base(&self, index: usize, expanded_from: &str) -> StageBase {
        if expanded_from.eq_ignore_ascii_case("scratch") {
            return StageBase::Scratch;
        }
        let lower = expanded_from.to_ascii_lowercase();
        match self.stages[..index.min(self.stages.len())]
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            Some(s) => StageBase::Stage(s.index),
            None => StageBase::Image(expanded_from.to_string()),
        }
    }

    /// The stages stage `index` depends on: its FROM, `COPY --from`, and `RUN --mount
    /// from=`. `expand` substitutes variables in a FROM image or a `--from` value (the
    /// caller knows the ARG values); a name that is no earlier stage is an image.
    pub fn stage_deps(
        &self,
        index: usize,
        expand: &dyn Fn(usize, &str) -> String,
    ) -> Result<Vec<usize>, ParseError> {
        let stage = &self.stages[index];
        let mut deps = Vec::new();
        if let StageBase::Stage(d) = self.resolve_base(index, &expand(index, &stage.base)) {
            deps.push(d);
        }
        for located in &stage.instructions {
            let froms: Vec<&String> = match &located.instruction {
                Instruction::Copy(c) => c.from.iter().collect(),
                Instruction::Run { mounts, .. } => {
                    mounts.iter().filter_map(|m| m.from.as_ref()).collect()
                }
                _ => Vec::new(),
            };
            for from in froms {
                let value = expand(index, from);
                let target = match value.parse::<usize>() {
                    Ok(n) if n < index => Some(n),
                    Ok(_) => {
                        return Err(ParseError::new(
                            located.line,
                            located.column,
                            ParseErrorKind::FromFlagForward(value),
                        ))
                    }
                    Err(_) => match self.stage_by_name(&value) {
                        Some(s) if s.index < index => Some(s.index),
                        Some(_) => {
                            return Err(ParseError::new(
                                located.line,
                                located.column,
                                ParseErrorKind::CircularDependency(value),
                            ))
                        }
                        None => None,
                    },
                };
                if let Some(t) = target {
                    if !deps.contains(&t) {
                        deps.push(t);
                    }
                }
            }
        }
        Ok(deps)
    }

    /// The stages needed to build `target` (a stage name, or the last stage when None).
    /// `expand` is as for [`Dockerfile::stage_deps`].
    pub fn plan(
        &self,
        target: Option<&str>,
        expand: &dyn Fn(usize, &str) -> String,
    ) -> Result<BuildPlan, ParseError> {
        let target = match target {
            None => self.stages.len() - 1,
            Some(name) => match self.stage_by_name(name) {
                Some(s) => s.index,
                None => {
                    return Err(ParseError::new(
                        1,
                        1,
                        ParseErrorKind::UnknownTarget(name.to_string()),
                    ))
                }
            },
        };
        // Dependencies always point to earlier stages, so a walk down from the target
        // finds them all and sorting by index is a valid order.
        let mut needed = vec![false; self.stages.len()];
        let mut deps_of: Vec<Option<Vec<usize>>> = vec![None; self.stages.len()];
        let mut stack = vec![target];
        while let Some(i) = stack.pop() {
            if needed[i] {
                continue;
            }
            needed[i] = true;
            let deps = self.stage_deps(i, expand)?;
            stack.extend(deps.iter().copied());
            deps_of[i] = Some(deps);
        }
        let order: Vec<usize> = (0..self.stages.len()).filter(|i| needed[*i]).collect();
        let mut level = vec![0usize; self.stages.len()];
        let mut waves: Vec<Vec<usize>> = Vec::new();
        let mut deps = Vec::new();
        for &i in &order {
            let d = deps_of[i].clone().unwrap_or_default();
            level[i] = d.iter().map(|&j| level[j] + 1).max().unwrap_or(0);
            if waves.len() <= level[i] {
                waves.resize(level[i] + 1, Vec::new());
            }
            waves[level[i]].push(i);
            deps.push((i, d));
        }
        Ok(BuildPlan {
            target,
            order,
            waves,
            deps,
        })
    }
}

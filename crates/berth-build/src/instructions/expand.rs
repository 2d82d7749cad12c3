//! Variable substitution per instruction: which fields Docker expands (FROM, COPY, ADD,
//! ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, and flags such as `--from`,
//! `--chown`, mount fields) and which it leaves to the shell (RUN, CMD, ENTRYPOINT,
//! HEALTHCHECK, SHELL) or to a later build (ONBUILD).

use super::{Add, Copy, Instruction, KeyValue, Mount};
use crate::substitution::{Lexer, Lookup, SubstitutionError};

type R<T> = Result<T, SubstitutionError>;

impl Instruction {
    /// This instruction with its variables substituted from `env`. ARG declarations are
    /// returned unchanged: their defaults depend on scoping, see [`crate::args`].
    pub fn expand(&self, lexer: &Lexer, env: &dyn Lookup) -> R<Instruction> {
        let w = |s: &String| lexer.process_word(s, env);
        let opt = |s: &Option<String>| s.as_ref().map(w).transpose();
        let all = |v: &[String]| v.iter().map(w).collect::<R<Vec<_>>>();
        Ok(match self {
            Instruction::From {
                image,
                platform,
                alias,
            } => Instruction::From {
                image: w(image)?,
                platform: opt(platform)?,
                alias: alias.clone(),
            },
            Instruction::Run {
                command,
                mounts,
                network,
                security,
                heredocs,
            } => {
                let mounts = mounts
                    .iter()
                    .map(|m| {
                        Ok(Mount {
                            target: opt(&m.target)?,
                            source: opt(&m.source)?,
                            from: opt(&m.from)?,
                            id: opt(&m.id)?,
                            ..m.clone()
                        })
                    })
                    .collect::<R<Vec<_>>>()?;
                Instruction::Run {
                    command: command.clone(),
                    mounts,
                    network: *network,
                    security: *security,
                    heredocs: heredocs.clone(),
                }
            }
            Instruction::Copy(c) => Instruction::Copy(expand_copy(c, lexer, env)?),
            Instruction::Add(a) => Instruction::Add(Add {
                copy: expand_copy(&a.copy, lexer, env)?,
                checksum: opt(&a.checksum)?,
                keep_git_dir: a.keep_git_dir,
            }),
            Instruction::Env(kvs) => Instruction::Env(expand_pairs(kvs, lexer, env)?),
            Instruction::Label(kvs) => Instruction::Label(expand_pairs(kvs, lexer, env)?),
            Instruction::Workdir(s) => Instruction::Workdir(w(s)?),
            Instruction::User(s) => Instruction::User(w(s)?),
            Instruction::Stopsignal(s) => Instruction::Stopsignal(w(s)?),
            Instruction::Expose(ports) => {
                let mut out = Vec::new();
                for p in ports {
                    out.extend(w(p)?.split_whitespace().map(str::to_string));
                }
                Instruction::Expose(out)
            }
            Instruction::Volume(paths) => Instruction::Volume(all(paths)?),
            other => other.clone(),
        })
    }
}

fn expand_pairs(kvs: &[KeyValue], lexer: &Lexer, env: &dyn Lookup) -> R<Vec<KeyValue>> {
    // Every pair sees the values from before the instruction: in `ENV a=1 b=$a`, b gets
    // the previous a, as in Docker.
    kvs.iter()
        .map(|kv| {
            Ok(KeyValue {
                key: lexer.process_word(&kv.key, env)?,
                value: lexer.process_word(&kv.value, env)?,
            })
        })
        .collect()
}

fn expand_copy(c: &Copy, lexer: &Lexer, env: &dyn Lookup) -> R<Copy> {
    let w = |s: &String| lexer.process_word(s, env);
    let opt = |s: &Option<String>| s.as_ref().map(w).transpose();
    // Heredoc bodies with an unquoted delimiter are expanded; quotes in them are text.
    let body_lexer = Lexer {
        raw_quotes: true,
        ..*lexer
    };
    let heredocs = c
        .heredocs
        .iter()
        .map(|h| {
            let mut h = h.clone();
            if h.expand {
                h.content = body_lexer.process_word(&h.content, env)?;
            }
            Ok(h)
        })
        .collect::<R<Vec<_>>>()?;
    Ok(Copy {
        sources: c.sources.iter().map(w).collect::<R<Vec<_>>>()?,
        dest: w(&c.dest)?,
        from: opt(&c.from)?,
        chown: opt(&c.chown)?,
        chmod: opt(&c.chmod)?,
        link: c.link,
        parents: c.parents,
        exclude: c.exclude.iter().map(w).collect::<R<Vec<_>>>()?,
        heredocs,
    })
}

//! berth's builder front end: everything between a Dockerfile's text and a list of typed,
//! checked instructions.
//!
//! # Brief overview
//!
//! - [`parse`] turns the text into a [`Dockerfile`]: parser directives (`# syntax=`,
//!   `# escape=`, `# check=`), comments, line continuations, heredocs, exec and shell forms,
//!   instruction flags, and a typed [`Instruction`] per line, grouped in [`Stage`]s. Errors
//!   carry the line and column ([`ParseError`]). The parser never panics, whatever the input.
//! - [`substitution`] is Docker's shell-word lexer: `$VAR`, `${VAR}`, `${VAR:-word}`,
//!   `${VAR:+word}`, `${VAR-word}`, `${VAR+word}`, `${VAR?msg}`, quotes and escapes.
//! - [`args`] resolves ARG and ENV scoping (global ARGs before the first FROM, redeclared per
//!   stage, ENV overriding ARG, `--build-arg` only for declared ARGs) and computes the image
//!   configuration a stage of ENV/LABEL/WORKDIR/CMD... instructions produces.
//! - [`Dockerfile::plan`] computes which stages a `--target` needs, in order, and which can
//!   run in parallel.
//! - [`dockerignore`] implements `.dockerignore` matching.
//! - [`executor`] runs a build: stages, instructions, cache, layers, the committed image.
//!
//! Docker's behaviour is the specification: where Docker has a quirk (a JSON array that does
//! not parse falls back to the shell form, an unknown parser directive ends the directives),
//! this crate has it too.
#![deny(missing_docs)]

pub mod args;
pub mod dockerignore;
mod error;
pub mod executor;
mod graph;
pub mod instructions;
pub mod parser;
pub mod substitution;

pub use error::{ParseError, ParseErrorKind};
pub use graph::{BuildPlan, Dockerfile, Stage, StageBase};
pub use instructions::Instruction;

/// Parses a Dockerfile. Never panics: every malformed input is a [`ParseError`] with the
/// line and column of the problem.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    Dockerfile::parse(text)
}

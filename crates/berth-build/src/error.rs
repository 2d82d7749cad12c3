//! Parse errors, with the position they point at.

use crate::substitution::SubstitutionError;

/// A Dockerfile that could not be parsed: what is wrong and where (1-based line and column,
/// columns counted in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Dockerfile:{line}:{column}: {kind}")]
pub struct ParseError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column (in characters) of the problem.
    pub column: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub(crate) fn new(line: usize, column: usize, kind: ParseErrorKind) -> Self {
        ParseError { line, column, kind }
    }
}

/// What is wrong with a Dockerfile. The messages are Docker's where Docker has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The instruction keyword is not one Docker knows.
    #[error("unknown instruction: {0}")]
    UnknownInstruction(String),
    /// A `--flag` the instruction does not take.
    #[error("unknown flag: {0}")]
    UnknownFlag(String),
    /// A single-valued flag given twice.
    #[error("duplicate flag specified: {0}")]
    DuplicateFlag(String),
    /// `--flag` without `=value` where a value is needed.
    #[error("missing a value on flag: {0}")]
    MissingFlagValue(String),
    /// A boolean flag with a value other than true or false.
    #[error("expecting boolean value for flag {flag}, not: {value}")]
    BadBoolFlag {
        /// The flag.
        flag: String,
        /// The value given.
        value: String,
    },
    /// A flag value that is not valid for that flag.
    #[error("invalid value `{value}` for flag --{flag}: {reason}")]
    BadFlagValue {
        /// The flag.
        flag: String,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A heredoc whose terminator never came.
    #[error("unterminated heredoc")]
    UnterminatedHeredoc,
    /// A parser directive given twice.
    #[error("only one {0} parser directive can be used")]
    DuplicateDirective(String),
    /// `# escape=` with something other than a backslash or a backtick.
    #[error("invalid escape token '{0}' does not match ` or \\")]
    InvalidEscape(String),
    /// A JSON array with a non-string element.
    #[error("when using JSON array syntax, arrays must be comprised of strings only")]
    NotStringArray,
    /// An instruction that needs at least one argument got none.
    #[error("{0} requires at least one argument")]
    AtLeastOneArgument(&'static str),
    /// An instruction that needs exactly one argument got another count.
    #[error("{0} requires exactly one argument")]
    ExactlyOneArgument(&'static str),
    /// COPY/ADD with sources but no destination.
    #[error(
        "{0} requires at least two arguments, but only one was provided. Destination could not be determined."
    )]
    NoDestination(&'static str),
    /// COPY/ADD with nothing at all.
    #[error("{0} requires at least two arguments")]
    AtLeastTwoArguments(&'static str),
    /// ENV/LABEL/ARG with an empty name.
    #[error("{0} names can not be blank")]
    BlankName(&'static str),
    /// ENV/LABEL `name=value` form with a word lacking `=`.
    #[error("Syntax error - can't find = in {0:?}. Must be of the form: name=value")]
    MissingEquals(String),
    /// Legacy `ENV name value` form with only a name.
    #[error("{0} must have two arguments")]
    TwoArguments(&'static str),
    /// FROM with a number of words other than 1 or 3 (`image AS name`).
    #[error("FROM requires either one or three arguments")]
    FromArguments,
    /// A stage name Docker refuses.
    #[error(
        "invalid name for build stage: {0:?}, name can't start with a number or contain symbols"
    )]
    InvalidStageName(String),
    /// Two stages with the same name.
    #[error("duplicate stage name {0:?}")]
    DuplicateStageName(String),
    /// SHELL in shell form.
    #[error("SHELL requires the arguments to be in JSON form")]
    ShellNotJson,
    /// `HEALTHCHECK NONE something`.
    #[error("HEALTHCHECK NONE takes no arguments")]
    HealthcheckNoneArguments,
    /// `HEALTHCHECK FOO`.
    #[error("Unknown type {0:?} in HEALTHCHECK (try CMD)")]
    HealthcheckType(String),
    /// A HEALTHCHECK duration flag that does not parse or is too small.
    #[error("Interval {flag:?} {reason}")]
    HealthcheckDuration {
        /// The flag.
        flag: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--retries` that is not a non-negative integer.
    #[error("invalid --retries value {0:?}")]
    HealthcheckRetries(String),
    /// `ONBUILD ONBUILD ...`.
    #[error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")]
    OnbuildChain,
    /// `ONBUILD FROM` or `ONBUILD MAINTAINER`.
    #[error("{0} isn't allowed as an ONBUILD trigger")]
    OnbuildForbidden(String),
    /// An instruction other than ARG before the first FROM.
    #[error("no build stage in current context")]
    NoStage,
    /// A file without any instruction.
    #[error("file with no instructions")]
    Empty,
    /// An empty VOLUME path.
    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
    /// A `--mount` that does not parse.
    #[error("invalid mount {mount:?}: {reason}")]
    InvalidMount {
        /// The mount as written.
        mount: String,
        /// Why it is refused.
        reason: String,
    },
    /// A variable substitution error (`${`, `${x:?unset}`...).
    #[error("{0}")]
    Substitution(#[from] SubstitutionError),
    /// An EXPOSE port that does not parse.
    #[error("invalid port {0:?}")]
    InvalidPort(String),
    /// A STOPSIGNAL that names no signal.
    #[error("Invalid signal: {0}")]
    InvalidSignal(String),
    /// `COPY --from=N` pointing at the current or a later stage.
    #[error("invalid from flag value {0}: refers to current or future build stage")]
    FromFlagForward(String),
    /// `--target` naming no stage.
    #[error("target stage {0:?} could not be found")]
    UnknownTarget(String),
    /// A stage depending (through FROM or --from) on itself or a later stage by name.
    #[error("circular dependency detected on stage: {0}")]
    CircularDependency(String),
}

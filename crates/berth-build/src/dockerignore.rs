//! `.dockerignore`: which files of the build context are left out.
//!
//! Docker's semantics: one pattern per line; lines starting with `#` are comments; blank
//! lines are skipped; patterns are cleaned like paths (`./a/` is `a`, a leading `/` is
//! dropped) and are relative to the context root. `*` matches within one path element,
//! `?` one character other than `/`, `[...]` a class (`[^...]` negated), `**` any number of
//! elements, `\` escapes. A `!` pattern re-includes. A path is excluded if the last pattern
//! that matches it, or one of its parent directories, is not an exception.

use std::path::{Path, PathBuf};

/// A `.dockerignore` read from a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

/// A `.dockerignore` problem.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    /// A line of just `!`.
    #[error("illegal exclusion pattern: \"!\" (line {0})")]
    BareExclusion(usize),
    /// A `[` without its `]`.
    #[error("syntax error in pattern `{0}`: unterminated character class")]
    UnterminatedClass(String),
    /// Walking the context failed.
    #[error("failed to read `{path}`")]
    Walk {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    text: String,
    exclusion: bool,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `*`: any run of characters other than `/`.
    Star,
    /// `?`: one character other than `/`.
    Any,
    /// `**` followed by more pattern: `(.*/)?`.
    DirStar,
    /// `**` at the end: anything.
    All,
    /// A character class.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl DockerIgnore {
    /// Reads the text of a `.dockerignore`.
    pub fn parse(text: &str) -> Result<DockerIgnore, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let mut p = line.trim();
            if p.is_empty() {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
                if p.is_empty() {
                    return Err(IgnoreError::BareExclusion(n + 1));
                }
            }
            let mut cleaned = clean(p);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            if cleaned == "." {
                // `.` matches the context root itself, which is never a file to send.
                continue;
            }
            let tokens = compile(&cleaned)?;
            patterns.push(Pattern {
                text: cleaned,
                exclusion,
                tokens,
            });
        }
        Ok(DockerIgnore { patterns })
    }

    /// Whether `path` (relative to the context root, `/`-separated) is excluded.
    pub fn matches(&self, path: &str) -> bool {
        let path = clean(path);
        let path = path.trim_start_matches('/');
        let parents: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
        let mut matched = false;
        for pattern in &self.patterns {
            // An exception only matters once something matched, and the reverse.
            if pattern.exclusion != matched {
                continue;
            }
            let hit = pattern.matches(path) || parents.iter().any(|p| pattern.matches(p));
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// Whether any pattern is an exception (`!`): then an excluded directory must still be
    /// walked, since something below it may be re-included.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// The files, symlinks and empty directories of `root` that are not excluded, as
    /// sorted `/`-separated relative paths.
    pub fn walk(&self, root: &Path) -> Result<Vec<String>, IgnoreError> {
        let mut out = Vec::new();
        self.walk_dir(root, "", &mut out)?;
        out.sort();
        Ok(out)
    }

    fn walk_dir(&self, dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), IgnoreError> {
        let err = |source| IgnoreError::Walk {
            path: dir.to_path_buf(),
            source,
        };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(err)? {
            entries.push(entry.map_err(err)?);
        }
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let file_type = entry.file_type().map_err(err)?;
            let excluded = self.matches(&path);
            if file_type.is_dir() {
                if excluded && !self.has_exceptions() {
                    continue;
                }
                let before = out.len();
                self.walk_dir(&entry.path(), &path, out)?;
                if out.len() == before && !excluded {
                    out.push(format!("{path}/"));
                }
            } else if !excluded {
                out.push(path);
            }
        }
        Ok(())
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        // `**/foo` also matches `foo` and `x/foo`, `**foo` any path ending in foo.
        if let Some(Token::DirStar) = self.tokens.first() {
            let rest: Vec<Token> = self.tokens[1..].to_vec();
            if rest.iter().all(|t| matches!(t, Token::Literal(_))) && self.text.starts_with("**") {
                let suffix = &self.text[2..];
                return path.ends_with(suffix)
                    || suffix.strip_prefix('/').is_some_and(|s| path == s);
            }
        }
        match_tokens(&self.tokens, &chars)
    }
}

/// Matches without recursion: a search over (token, character, inside `**`) states, each
/// visited once, so neither a long pattern nor many stars can blow the stack, and the time
/// is bounded by tokens × characters.
fn match_tokens(tokens: &[Token], s: &[char]) -> bool {
    let width = s.len() + 1;
    let mut seen = vec![false; (tokens.len() + 1) * width * 2];
    let mut stack = vec![(0usize, 0usize, false)];
    while let Some((ti, si, inside)) = stack.pop() {
        let key = (ti * width + si) * 2 + usize::from(inside);
        if std::mem::replace(&mut seen[key], true) {
            continue;
        }
        let c = s.get(si);
        if inside {
            // Within the `.*/` of a `**`: eat a character, or end the run at a `/`.
            if c == Some(&'/') {
                stack.push((ti + 1, si + 1, false));
            }
            if c.is_some() {
                stack.push((ti, si + 1, true));
            }
            continue;
        }
        let Some(token) = tokens.get(ti) else {
            if si == s.len() {
                return true;
            }
            continue;
        };
        match token {
            Token::Literal(l) => {
                if c == Some(l) {
                    stack.push((ti + 1, si + 1, false));
                }
            }
            Token::Any => {
                if c.is_some_and(|c| *c != '/') {
                    stack.push((ti + 1, si + 1, false));
                }
            }
            Token::Class { negated, ranges } => {
                if c.is_some_and(|c| ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated) {
                    stack.push((ti + 1, si + 1, false));
                }
            }
            Token::Star => {
                stack.push((ti + 1, si, false));
                if c.is_some_and(|c| *c != '/') {
                    stack.push((ti, si + 1, false));
                }
            }
            Token::All => return true,
            Token::DirStar => {
                // `(.*/)?`: nothing, or anything up to and including a `/`.
                stack.push((ti + 1, si, false));
                stack.push((ti, si, true));
            }
        }
    }
    false
}

fn compile(pattern: &str) -> Result<Vec<Token>, IgnoreError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                tokens.push(if i >= chars.len() {
                    Token::All
                } else {
                    Token::DirStar
                });
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::Any),
            '\\' => match chars.get(i) {
                Some(n) => {
                    tokens.push(Token::Literal(*n));
                    i += 1;
                }
                None => tokens.push(Token::Literal('\\')),
            },
            '[' => {
                let negated = chars.get(i) == Some(&'^');
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(IgnoreError::UnterminatedClass(pattern.to_string()));
                    };
                    i += 1;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    let c = if c == '\\' {
                        let Some(&e) = chars.get(i) else {
                            return Err(IgnoreError::UnterminatedClass(pattern.to_string()));
                        };
                        i += 1;
                        e
                    } else {
                        c
                    };
                    if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|n| *n != ']') {
                        let hi = chars[i + 1];
                        i += 2;
                        ranges.push((c, hi));
                    } else {
                        ranges.push((c, c));
                    }
                }
                tokens.push(Token::Class { negated, ranges });
            }
            c => tokens.push(Token::Literal(c)),
        }
    }
    Ok(tokens)
}

/// Go's `filepath.Clean` for `/`-separated paths.
fn clean(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_like_go() {
        assert_eq!(clean("./a//b/"), "a/b");
        assert_eq!(clean("/a/../b"), "/b");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("/"), "/");
    }
}

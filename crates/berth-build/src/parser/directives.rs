//! Parser directives: `# syntax=`, `# escape=`, `# check=` at the very top of a Dockerfile.
//!
//! Docker's rules: directives are comments of the form `# key=value` (blanks allowed around
//! `#`, key and `=`). They are only looked for until the first line that is not a known
//! directive: an instruction, a blank line, an ordinary comment or an unknown directive
//! (which is then just a comment, and so is any directive after it). Keys are
//! case-insensitive; each may appear once.

use crate::error::ParseErrorKind;

/// The directives found at the top of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// The escape character: `\` (default) or `` ` ``.
    pub escape: char,
    /// `# syntax=` (a frontend image reference; recorded, not acted on).
    pub syntax: Option<String>,
    /// `# check=` (build check configuration; recorded, not acted on).
    pub check: Option<String>,
    done: bool,
    seen: Vec<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
            done: false,
            seen: Vec::new(),
        }
    }
}

impl Directives {
    /// Looks at one physical line (newline already removed, leading blanks stripped);
    /// returns whether it was taken as a directive.
    pub(crate) fn parse_line(&mut self, line: &str) -> Result<bool, ParseErrorKind> {
        if self.done {
            return Ok(false);
        }
        let Some((key, value)) = split_directive(line) else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "escape" | "syntax" | "check") {
            // An unknown directive is a comment, and ends the directives.
            self.done = true;
            return Ok(false);
        }
        if self.seen.contains(&key) {
            return Err(ParseErrorKind::DuplicateDirective(key));
        }
        match key.as_str() {
            "escape" => {
                self.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => return Err(ParseErrorKind::InvalidEscape(other.to_string())),
                }
            }
            "syntax" => self.syntax = Some(value.to_string()),
            _ => self.check = Some(value.to_string()),
        }
        self.seen.push(key);
        Ok(true)
    }
}

/// `#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
fn split_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let key_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let key = &rest[..key_len];
    if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest[key_len..].trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}

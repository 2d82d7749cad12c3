//! Per-repository access policy.
//!
//! A JSON file:
//!
//! ```json
//! {
//!   "default": "private",
//!   "repositories": {
//!     "library/*": "public",
//!     "team/app": { "visibility": "private", "pull": ["alice", "bob"], "push": ["alice"] }
//!   }
//! }
//! ```
//!
//! `public`: anyone may pull, anonymous included. `private`: pulling needs an authenticated
//! identity. Pushing (and deleting) always needs one. `pull`/`push` lists, when given,
//! narrow who among authenticated users may do it (a pusher may also pull). Patterns are
//! globs where `*` matches any run of characters, `/` included; the longest matching
//! pattern wins, an exact name beats any pattern.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::RegistryError;

/// Who may see a repository without authenticating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Anonymous pull allowed.
    Public,
    /// Pull needs authentication.
    #[default]
    Private,
}

/// The rule for one repository pattern.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Rule {
    /// Just a visibility.
    Visibility(Visibility),
    /// A visibility with user lists.
    Detailed {
        /// Public or private.
        #[serde(default)]
        visibility: Visibility,
        /// Users who may pull (absent: every authenticated user).
        pull: Option<Vec<String>>,
        /// Users who may push (absent: every authenticated user).
        push: Option<Vec<String>>,
    },
}

/// The whole policy.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
pub struct Policy {
    /// Visibility of repositories that no pattern matches (private if absent).
    #[serde(default)]
    pub default: Visibility,
    /// Pattern -> rule.
    #[serde(default)]
    pub repositories: BTreeMap<String, Rule>,
}

/// What an identity may do with a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    /// May pull.
    pub pull: bool,
    /// May push and delete.
    pub push: bool,
}

fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len()).any(|i| rest.is_char_boundary(i) && glob_match(tail, &rest[i..]))
        }
    }
}

impl Policy {
    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Io {
            what: "read policy",
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| RegistryError::InvalidConfig {
            what: "policy",
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    fn rule(&self, repository: &str) -> Rule {
        if let Some(rule) = self.repositories.get(repository) {
            return rule.clone();
        }
        self.repositories
            .iter()
            .filter(|(p, _)| glob_match(p, repository))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, r)| r.clone())
            .unwrap_or(Rule::Visibility(self.default))
    }

    /// What `user` (None: anonymous) may do with `repository`.
    pub fn access(&self, user: Option<&str>, repository: &str) -> Access {
        let (visibility, pull, push) = match self.rule(repository) {
            Rule::Visibility(v) => (v, None, None),
            Rule::Detailed {
                visibility,
                pull,
                push,
            } => (visibility, pull, push),
        };
        let listed = |list: &Option<Vec<String>>, u: &str| {
            list.as_ref().is_none_or(|l| l.iter().any(|x| x == u))
        };
        match user {
            None => Access {
                pull: visibility == Visibility::Public,
                push: false,
            },
            Some(u) => {
                let push = listed(&push, u);
                Access {
                    pull: visibility == Visibility::Public || push || listed(&pull, u),
                    push,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_lists() {
        let p: Policy = serde_json::from_str(
            r#"{"default":"private","repositories":{"library/*":"public",
               "team/app":{"visibility":"private","pull":["bob"],"push":["alice"]}}}"#,
        )
        .unwrap();
        assert_eq!(
            p.access(None, "library/busybox"),
            Access {
                pull: true,
                push: false
            }
        );
        assert_eq!(p.access(None, "other"), Access::default());
        assert!(p.access(Some("x"), "other").push);
        let bob = p.access(Some("bob"), "team/app");
        assert!(bob.pull && !bob.push);
        let alice = p.access(Some("alice"), "team/app");
        assert!(alice.pull && alice.push);
        assert_eq!(p.access(Some("eve"), "team/app"), Access::default());
        assert!(glob_match("a/*/c", "a/b/x/c"));
        assert!(!glob_match("a/*", "b/a"));
    }
}

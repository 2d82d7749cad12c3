//! Container paths as Docker's archive API reads them.

/// A path of GET/HEAD /archive, split as Docker's `ResolvePath` does: the directory part
/// is resolved with every symlink followed; the last part is looked at without following
/// it, unless the path ends in `/` or `/.` (then the directory part is the whole path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Request {
    /// Cleaned components of the directory part.
    pub dir: Vec<String>,
    /// The last component, when it is not followed.
    pub base: Option<String>,
    /// The name Docker gives it (Go's `filepath.Base` of the absolute path): the stat's
    /// name and the archive's top entry. `/` for the root, `.` for `dir/.`.
    pub name: String,
}

impl Request {
    pub fn parse(path: &str) -> Request {
        let mut parts = clean(path);
        let trailing_dot = path.ends_with("/.") || path == ".";
        let trailing_slash = path.ends_with('/');
        if trailing_dot {
            return Request {
                dir: parts,
                base: None,
                name: ".".to_string(),
            };
        }
        match parts.pop() {
            None => Request {
                dir: Vec::new(),
                base: None,
                name: "/".to_string(),
            },
            Some(last) if trailing_slash => {
                parts.push(last.clone());
                Request {
                    dir: parts,
                    base: None,
                    name: last,
                }
            }
            Some(last) => Request {
                dir: parts,
                base: Some(last.clone()),
                name: last,
            },
        }
    }

    /// The whole path, as components.
    pub fn parts(&self) -> Vec<String> {
        let mut parts = self.dir.clone();
        parts.extend(self.base.clone());
        parts
    }

    /// The path as the user gave it, cleaned, for messages.
    pub fn display(&self) -> String {
        format!("/{}", self.parts().join("/"))
    }
}

/// Go's `filepath.Clean` of an absolute path, as components: `..` at the top stays there.
fn clean(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other.to_string()),
        }
    }
    parts
}

/// The name of an archive entry to extract, as components relative to the extraction
/// directory; None when it would climb out of it. A leading `/` means the extraction
/// directory (as Go's `filepath.Join(dest, name)` has it).
pub(super) fn entry_parts(name: &[u8]) -> Option<Vec<String>> {
    let name = String::from_utf8_lossy(name);
    if name.starts_with('/') {
        return Some(clean(&name));
    }
    let mut parts: Vec<String> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other.to_string()),
        }
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(dir: &[&str], base: Option<&str>, name: &str) -> Request {
        Request {
            dir: dir.iter().map(|s| s.to_string()).collect(),
            base: base.map(str::to_string),
            name: name.to_string(),
        }
    }

    #[test]
    fn paths_split_like_dockers_resolve_path() {
        assert_eq!(Request::parse("/a/b"), req(&["a"], Some("b"), "b"));
        assert_eq!(Request::parse("a/../b"), req(&[], Some("b"), "b"));
        assert_eq!(Request::parse("/a/b/"), req(&["a", "b"], None, "b"));
        assert_eq!(Request::parse("/a/b/."), req(&["a", "b"], None, "."));
        assert_eq!(Request::parse("/"), req(&[], None, "/"));
        assert_eq!(Request::parse("/."), req(&[], None, "."));
        assert_eq!(Request::parse("/../../etc"), req(&[], Some("etc"), "etc"));
    }

    #[test]
    fn entry_names_never_climb_out() {
        assert_eq!(entry_parts(b"./a/b/"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(entry_parts(b"a/../b"), Some(vec!["b".into()]));
        assert_eq!(
            entry_parts(b"/etc/passwd"),
            Some(vec!["etc".into(), "passwd".into()])
        );
        assert_eq!(entry_parts(b"/../x"), Some(vec!["x".into()]));
        assert_eq!(entry_parts(b"../x"), None);
        assert_eq!(entry_parts(b"a/../../x"), None);
        assert_eq!(entry_parts(b"."), Some(vec![]));
    }
}
